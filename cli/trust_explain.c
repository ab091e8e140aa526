/* mesh trust explain ID (issue #21): why this score — the document of
 * mt_view_explain (views.h), the same as GET /v1/trust/explain, printed for
 * people or as JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trustq.h"

#define EXPLAIN_USAGE                                                                              \
	"mesh trust explain <id> [--scope S] [--from ID] [--depth N] [--at T] "                    \
	"[--mode best-path|flow|flow-adaptive] [--json]"

static const mesh_opt EXPLAIN_OPTS_TABLE[] = {QUERY_OPTS};
static const mesh_spec EXPLAIN_SPEC = {
	EXPLAIN_USAGE,
	"Explain the score of <id>: the best path with each edge's level and score, their\nproduct, "
	"the decay factor for the path's length (trust.decay[hops]) and the score\nthey give; then "
	"each other last hop into <id> in the scope, the best path through\nit and why it lost "
	"(lower score, a tie lost to fewer hops or the smaller first\nhop, longer than maxDepth, a "
	"block, no path to it). In flow and flow-adaptive modes: the distance,\ncapacity and flow "
	"that make the score.",
	EXPLAIN_OPTS_TABLE, 1, 1, "exactly one <id>", NULL};

static void print_edges(mesh_ctx *ctx, json_t *edges, const char *indent)
{
	size_t i;
	json_t *x;
	json_array_foreach(edges, i, x)
	{
		printf("%s", indent);
		mesh_write_id(ctx, stdout, json_string_value(json_object_get(x, "from")));
		fputs(" -> ", stdout);
		mesh_write_id(ctx, stdout, json_string_value(json_object_get(x, "to")));
		printf("  %s %.3f\n", json_string_value(json_object_get(x, "level")),
		       json_number_value(json_object_get(x, "score")));
	}
}

static double num(const json_t *doc, const char *key)
{
	return json_number_value(json_object_get(doc, key));
}

static void print_flow(mesh_ctx *ctx, const json_t *doc, const char *target)
{
	mesh_write_id(ctx, stdout, target);
	printf(" from ");
	mesh_write_id(ctx, stdout, json_string_value(json_object_get(doc, "viewpoint")));
	const char *mode = json_string_value(json_object_get(doc, "mode"));
	int adaptive = mode && strcmp(mode, "flow-adaptive") == 0;
	printf(" in scope %s, %s mode (docs/flow.md):\n",
	       json_string_value(json_object_get(doc, "scope")), mode ? mode : "flow");
	if (json_is_true(json_object_get(doc, "found"))) {
		printf("  at distance %lld its capacity is %lld (%s)\n",
		       (long long)json_integer_value(json_object_get(doc, "hops")),
		       (long long)json_integer_value(json_object_get(doc, "capacity")),
		       adaptive ? "derived from the number of nodes at each distance: 1 + "
				  "min(beyond, 3·beyond/here), each subtree counted up to the "
				  "layer's 3rd largest, never above the nearer layer's"
				: "trust.flowCapacities, by distance");
		printf("  the flow through it is %lld: score = flow / capacity = %lld / %lld = "
		       "%.6g\n",
		       (long long)json_integer_value(json_object_get(doc, "flow")),
		       (long long)json_integer_value(json_object_get(doc, "flow")),
		       (long long)json_integer_value(json_object_get(doc, "capacity")),
		       num(doc, "score"));
		printf("  (the share of its capacity used — not a best-path score: edge scores are "
		       "ignored,\n  a nearer identity has a larger capacity and can show a smaller "
		       "score)\n  a flow-carrying path:\n");
		print_edges(ctx, json_object_get(doc, "path"), "    ");
	} else {
		printf("  not accepted: ");
		mesh_term_write(stdout, json_string_value(json_object_get(doc, "message")),
				MESH_TERM_LINE);
		putchar('\n');
	}
}

static void print_best(mesh_ctx *ctx, const json_t *doc, const char *target)
{
	mesh_write_id(ctx, stdout, target);
	printf(" from ");
	mesh_write_id(ctx, stdout, json_string_value(json_object_get(doc, "viewpoint")));
	printf(" in scope %s (best-path mode, max depth %lld):\n",
	       json_string_value(json_object_get(doc, "scope")),
	       (long long)json_integer_value(json_object_get(doc, "max_depth")));
	if (json_is_true(json_object_get(doc, "found"))) {
		json_t *path = json_object_get(doc, "path");
		long long h = (long long)json_integer_value(json_object_get(doc, "decay_index"));
		printf("  the best path, %lld hop(s):\n", h);
		print_edges(ctx, path, "    ");
		printf("  product of the edge scores: ");
		size_t i;
		json_t *x;
		json_array_foreach(path, i, x) printf("%s%.3f", i ? " × " : "", num(x, "score"));
		printf(" = %.6g\n", num(doc, "product"));
		printf("  decay for %lld hop(s): trust.decay[%lld] = %.6g\n", h, h,
		       num(doc, "decay_factor"));
		printf("  score = %.6g × %.6g = %.6g; level %s (the best level of any path; this "
		       "path's is %s); fewest hops of any path: %lld\n",
		       num(doc, "decay_factor"), num(doc, "product"), num(doc, "score"),
		       json_string_value(json_object_get(doc, "level")),
		       json_string_value(json_object_get(doc, "path_level")),
		       (long long)json_integer_value(json_object_get(doc, "hops")));
	} else {
		printf("  no path: ");
		mesh_term_write(stdout, json_string_value(json_object_get(doc, "message")),
				MESH_TERM_LINE);
		putchar('\n');
	}
	json_t *others = json_object_get(doc, "others");
	size_t i;
	json_t *x;
	if (json_array_size(others))
		printf("  other last hops into it:\n");
	json_array_foreach(others, i, x)
	{
		printf("    via ");
		mesh_write_id(ctx, stdout, json_string_value(json_object_get(x, "via")));
		if (json_object_get(x, "score"))
			printf(": %lld hop(s), %.6g × %.6g = %.6g — ",
			       (long long)json_integer_value(json_object_get(x, "hops")),
			       num(x, "decay_factor"), num(x, "product"), num(x, "score"));
		else
			printf(": ");
		mesh_term_write(stdout, json_string_value(json_object_get(x, "outcome")),
				MESH_TERM_LINE);
		putchar('\n');
	}
}

int mesh_trust_explain(mesh_ctx *ctx, int argc, char **argv)
{
	struct mesh_tq q = {.scope = "global", .at = ctx->now};
	mesh_args a;
	int rc = mesh_parse_args(&EXPLAIN_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	if ((rc = mesh_tq_parse(ctx, &q, &a, EXPLAIN_USAGE)))
		return rc;
	char target[MT_NODE_ID_MAX];
	if ((rc = mesh_resolve_id_at(ctx, target, a.pos[0], "<id>")) ||
	    (rc = mesh_tq_finish(ctx, &q)))
		return rc;
	mt_engine *e = NULL;
	char digest[65];
	mt_edge_in *edges = NULL; /* the engine's edges: the other last hops come from them */
	size_t n_edges = 0;
	if ((rc = mesh_tq_engine(ctx, q.at, &e, digest, &edges, &n_edges)))
		return rc;
	if (strcmp(q.scope, "global") != 0)
		mesh_tq_scope_hint(e, q.scope);
	mt_view_frame f = mesh_tq_frame(&q, digest);
	mt_error err = {0};
	json_t *doc = NULL;
	if (q.flow) {
		mt_flow_query fq = mesh_tq_flow_query(&q);
		doc = mt_view_explain_flow(&f, e, &fq, target, &err);
	} else {
		mt_trust_query tq = {q.from, q.scope, q.at, q.depth, q.decay, q.n_decay};
		doc = mt_view_explain(&f, e, &tq, edges, n_edges, target, &err);
	}
	free(edges);
	if (!doc) {
		mt_engine_free(e);
		return err.msg[0] ? mesh_fail_err(&err) : mesh_fail("out of memory");
	}
	int found = json_is_true(json_object_get(doc, "found"));
	if (q.json) {
		mesh_print_json(doc);
	} else {
		if (q.flow)
			print_flow(ctx, doc, target);
		else
			print_best(ctx, doc, target);
		json_decref(doc);
	}
	mt_engine_free(e);
	return found ? EXIT_OK : EXIT_FAIL;
}
