/* mesh bridge — TODO: not implemented yet; says so plainly and exits 1. */
#include "cli.h"

int cmd_bridge(mesh_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	return mesh_fail("`mesh bridge` is not implemented in this version yet");
}
