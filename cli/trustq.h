/* The query options trust list, path and explain share (cmd_trust.c), for
 * the trust family's files. */
#ifndef MESH_TRUSTQ_H
#define MESH_TRUSTQ_H

#include "cli.h"
#include "config.h"
#include "opts.h"
#include "meshtrust/engine.h"
#include "meshtrust/flow.h"
#include "meshtrust/views.h"

struct mesh_tq {
	const char *scope;
	char from[MT_NODE_ID_MAX];
	int depth;
	int64_t at;
	int json;
	double decay[MESH_MAX_DECAY];
	size_t n_decay;
	const char *mode;                    /* --mode, or NULL: config trust.mode */
	int flow;                            /* trust.mode flow or flow-adaptive */
	int adaptive;                        /* trust.mode flow-adaptive */
	uint32_t cap[MT_FLOW_MAX_CAPACITIES]; /* trust.flowCapacities */
	size_t n_cap;
};

/* The shared query options of list and path. */
#define QUERY_OPTS                                                                                 \
	MESH_OPT_SCOPE_H("the scope of the query (default global)"),                               \
		{"from", MESH_ARG, "ID", "the viewpoint (default: this node)", 'f'},                \
		{"depth", MESH_ARG, "N", "override trust.maxDepth (1..8)", 'd'}, MESH_OPT_AT,       \
		{"mode", MESH_ARG, "M", "best-path, flow or flow-adaptive; default from trust.mode",   \
		 'm'},                                                                             \
		MESH_OPT_JSON_H("print the views document as JSON"), MESH_OPT_END

/* Parse the shared options into q (defaults set by the caller: scope global,
 * at now). Prints usage errors itself; returns an exit code. */
int mesh_tq_parse(mesh_ctx *ctx, struct mesh_tq *q, const mesh_args *a, const char *usage);
/* Fill in what the options left to the configuration (depth, decay, mode,
 * capacities, the viewpoint); opens the store. Exit code. */
int mesh_tq_finish(mesh_ctx *ctx, struct mesh_tq *q);
/* The engine over the edges in effect at `at` (all current ones when at is
 * now) and the store's digest. *out owned by the caller; with `edges_out`
 * (may be NULL) also the edges it was built from (*edges_out, *n_out, the
 * caller frees them). Exit code. */
int mesh_tq_engine(mesh_ctx *ctx, int64_t at, mt_engine **out, char digest[65],
		   mt_edge_in **edges_out, size_t *n_out);
/* The flow query of q (the adaptive schedule in flow-adaptive mode). */
mt_flow_query mesh_tq_flow_query(const struct mesh_tq *q);
/* "flow" or "flow-adaptive", for messages. */
const char *mesh_tq_mode_name(const struct mesh_tq *q);
/* The views frame of the query's answer. */
mt_view_frame mesh_tq_frame(const struct mesh_tq *q, const char *digest);
/* On stderr: no edge names `scope` (with the closest known one). */
void mesh_tq_scope_hint(const mt_engine *e, const char *scope);

/* mesh trust explain (trust_explain.c). */
int mesh_trust_explain(mesh_ctx *ctx, int argc, char **argv);

#endif
