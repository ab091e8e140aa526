/* mesh sim — TODO: not implemented yet; says so plainly and exits 1. */
#include "cli.h"

int cmd_sim(mesh_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	return mesh_fail("`mesh sim` is not implemented in this version yet");
}
