/* mesh pot — TODO: not implemented yet; says so plainly and exits 1. */
#include "cli.h"

int cmd_pot(mesh_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	return mesh_fail("`mesh pot` is not implemented in this version yet");
}
