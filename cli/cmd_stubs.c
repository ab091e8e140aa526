/* Command families whose implementation is still to come: they say so
 * plainly and exit 1 rather than pretend. */
#include "cli.h"

static int not_yet(const char *what)
{
	return mesh_fail("`mesh %s` is not implemented in this version yet", what);
}

int cmd_graph(mesh_ctx *ctx, int argc, char **argv)
{
	(void)ctx; (void)argc; (void)argv;
	return not_yet("graph");
}

int cmd_metrics(mesh_ctx *ctx, int argc, char **argv)
{
	(void)ctx; (void)argc; (void)argv;
	return not_yet("metrics");
}

int cmd_bridge(mesh_ctx *ctx, int argc, char **argv)
{
	(void)ctx; (void)argc; (void)argv;
	return not_yet("bridge");
}

int cmd_policy(mesh_ctx *ctx, int argc, char **argv)
{
	(void)ctx; (void)argc; (void)argv;
	return not_yet("policy");
}
