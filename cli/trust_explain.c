/* mesh trust explain ID: why this score (issue #21). The best path with each
 * edge's level and score, the product, the decay factor for its length and
 * the score they give (SPEC §3.4), what the mode did — and every other last
 * hop into the target (its in-edges in the scope) with the best path through
 * it and why it lost: a lower score, a tie lost to fewer hops or the
 * smaller first hop, too long for maxDepth, a block, no path to it. In flow
 * mode: the target's distance, capacity, flow and their ratio. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trustq.h"

#define EXPLAIN_USAGE                                                                              \
	"mesh trust explain <id> [--scope S] [--from ID] [--depth N] [--at T] "                    \
	"[--mode best-path|flow] [--json]"
#define OTHERS_MAX 20 /* other last hops examined */

static const mesh_opt EXPLAIN_OPTS_TABLE[] = {QUERY_OPTS};
static const mesh_spec EXPLAIN_SPEC = {
	EXPLAIN_USAGE,
	"Explain the score of <id>: the best path with each edge's level and score, their\nproduct, "
	"the decay factor for the path's length (trust.decay[hops]) and the score\nthey give; then "
	"each other last hop into <id> in the scope, the best path through\nit and why it lost "
	"(lower score, a tie lost to fewer hops or the smaller first\nhop, longer than maxDepth, a "
	"block, no path to it). In flow mode: the distance,\ncapacity and flow that make the score.",
	EXPLAIN_OPTS_TABLE, 1, 1, "exactly one <id>", NULL};

static double decay_at(const struct mesh_tq *q, int hops)
{
	size_t i = (size_t)hops < q->n_decay ? (size_t)hops : q->n_decay - 1;
	return q->decay[i];
}

/* The path's edges as JSON and their product, in SPEC §3.4's order. */
static json_t *edges_json(const mt_path_edge *edges, size_t n, double *product)
{
	json_t *arr = json_array();
	double p = 1.0;
	for (size_t i = 0; i < n; i++) {
		p = p * (edges[i].score / 1000.0);
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:f}", "from", edges[i].from_id,
						     "to", edges[i].to_id, "level",
						     mt_level_name(edges[i].level), "score",
						     edges[i].score / 1000.0));
	}
	*product = p;
	return arr;
}

/* One other last hop `src` -> target (edge `in`): the best path through it
 * and why it did not win. */
static json_t *other(const mt_engine *e, const mt_trust_query *tq, const struct mesh_tq *q,
		     const mt_edge_in *in, const mt_trust_path *won)
{
	json_t *o = json_pack("{s:s,s:s,s:f}", "via", in->src, "level", mt_level_name(in->level),
			      "edge_score", in->score / 1000.0);
	if (in->level == MT_LEVEL_NONE) {
		json_object_set_new(o, "outcome",
				    json_string("a block (level none): carries no trust"));
		return o;
	}
	double prod = 1.0;
	int hops = 1;
	json_t *path = json_array();
	if (strcmp(in->src, tq->viewpoint) != 0) {
		mt_trust_path *p = NULL;
		if (mt_engine_path(&p, e, tq, in->src, NULL) != 0 || !p->found) {
			char why[600];
			snprintf(why, sizeof why, "no path from the viewpoint to %s (%s)", in->src,
				 p ? p->message : "query failed");
			json_object_set_new(o, "outcome", json_string(why));
			mt_trust_path_free(p);
			json_decref(path);
			return o;
		}
		for (size_t i = 0; i < p->n_edges; i++)
			if (strcmp(p->edges[i].from_id, in->dst) == 0) {
				json_object_set_new(o, "outcome",
						    json_string("its best path passes through the "
								"target itself"));
				mt_trust_path_free(p);
				json_decref(path);
				return o;
			}
		json_decref(path);
		path = edges_json(p->edges, p->n_edges, &prod);
		hops = (int)p->n_edges + 1;
		mt_trust_path_free(p);
	}
	prod = prod * (in->score / 1000.0);
	json_array_append_new(path, json_pack("{s:s,s:s,s:s,s:f}", "from", in->src, "to", in->dst,
					      "level", mt_level_name(in->level), "score",
					      in->score / 1000.0));
	json_object_set_new(o, "path", path);
	json_object_set_new(o, "hops", json_integer(hops));
	json_object_set_new(o, "product", json_real(prod));
	if (hops > q->depth) {
		char why[200];
		snprintf(why, sizeof why, "%d hops: longer than the maximum depth %d", hops,
			 q->depth);
		json_object_set_new(o, "outcome", json_string(why));
		return o;
	}
	double d = decay_at(q, hops), score = d * prod;
	json_object_set_new(o, "decay_factor", json_real(d));
	json_object_set_new(o, "score", json_real(score));
	const char *why;
	if (!won || !won->found)
		why = "not counted";
	else if (score < won->score)
		why = "lower score";
	else if (score > won->score)
		why = "higher score through a longer detour than the engine's best path (report "
		      "this)";
	else if (hops > (int)won->n_edges)
		why = "same score: the tie goes to fewer hops";
	else
		why = "same score and length: the tie goes to the smaller first hop";
	json_object_set_new(o, "outcome", json_string(why));
	return o;
}

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

static int explain_flow(mesh_ctx *ctx, const struct mesh_tq *q, mt_engine *e, const char *target)
{
	mt_flow_query fq = {q->from, q->scope, q->at, q->depth, q->cap, q->n_cap};
	mt_flow_path *p = NULL;
	mt_error err = {0};
	if (mt_flow_path_get(&p, e, &fq, target, &err) != 0)
		return mesh_fail_err(&err);
	json_t *caps = json_array();
	for (size_t i = 0; i < q->n_cap; i++)
		json_array_append_new(caps, json_integer(q->cap[i]));
	double prod = 0;
	json_t *doc = json_pack(
		"{s:s,s:s,s:s,s:s,s:i,s:o,s:b,s:b,s:i,s:i,s:i,s:f,s:s,s:o}", "target", target,
		"viewpoint", q->from, "scope", q->scope, "mode", "flow", "max_depth", q->depth,
		"capacities", caps, "found", p->found, "in_region", p->in_region, "hops", p->hops,
		"capacity", (int)p->capacity, "flow", (int)p->flow, "score", p->score, "why",
		p->why, "path", edges_json(p->edges, p->n_edges, &prod));
	int found = p->found;
	if (q->json) {
		mt_flow_path_free(p);
		mesh_print_json(doc);
		return found ? EXIT_OK : EXIT_FAIL;
	}
	mesh_write_id(ctx, stdout, target);
	printf(" from ");
	mesh_write_id(ctx, stdout, q->from);
	printf(" in scope %s, flow mode (docs/flow.md):\n", q->scope);
	if (found) {
		printf("  at distance %d its capacity is %u (trust.flowCapacities, by distance)\n",
		       p->hops, p->capacity);
		printf("  the flow through it is %u: score = flow / capacity = %u / %u = %.6g\n",
		       p->flow, p->flow, p->capacity, p->score);
		printf("  (the share of its capacity used — not a best-path score: edge scores are "
		       "ignored,\n  a nearer identity has a larger capacity and can show a smaller "
		       "score)\n  a flow-carrying path:\n");
		print_edges(ctx, json_object_get(doc, "path"), "    ");
	} else {
		printf("  not accepted: ");
		mesh_term_write(stdout, p->message, MESH_TERM_LINE);
		putchar('\n');
	}
	mt_flow_path_free(p);
	json_decref(doc);
	return found ? EXIT_OK : EXIT_FAIL;
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
	if ((rc = mesh_tq_engine(ctx, q.at, &e, digest)))
		return rc;
	if (strcmp(q.scope, "global") != 0)
		mesh_tq_scope_hint(e, q.scope);
	if (q.flow) {
		rc = explain_flow(ctx, &q, e, target);
		mt_engine_free(e);
		return rc;
	}
	mt_trust_query tq = {q.from, q.scope, q.at, q.depth, q.decay, q.n_decay};
	mt_trust_path *p = NULL;
	mt_error err = {0};
	if (mt_engine_path(&p, e, &tq, target, &err) != 0) {
		mt_engine_free(e);
		return mesh_fail_err(&err);
	}
	json_t *decay = json_array();
	for (size_t i = 0; i < q.n_decay; i++)
		json_array_append_new(decay, json_real(q.decay[i]));
	json_t *doc = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:i,s:o,s:b}", "digest", digest, "target",
				target, "viewpoint", q.from, "scope", q.scope, "mode", "best-path",
				"at", (json_int_t)q.at, "max_depth", q.depth, "decay", decay,
				"found", p->found);
	double prod = 0;
	if (p->found) {
		json_object_set_new(doc, "path", edges_json(p->edges, p->n_edges, &prod));
		json_object_set_new(doc, "product", json_real(prod));
		json_object_set_new(doc, "decay_index", json_integer((json_int_t)p->n_edges));
		json_object_set_new(doc, "decay_factor", json_real(decay_at(&q, (int)p->n_edges)));
		json_object_set_new(doc, "score", json_real(p->score));
		json_object_set_new(doc, "level", json_string(mt_level_name(p->level)));
		json_object_set_new(doc, "path_level", json_string(mt_level_name(p->path_level)));
		json_object_set_new(doc, "hops", json_integer(p->hops));
	} else {
		json_object_set_new(doc, "why", json_string(mt_why_name(p->why)));
		json_object_set_new(doc, "message", json_string(p->message));
	}
	/* every other last hop into the target in the scope */
	mt_edge_in *edges = NULL;
	size_t n = 0;
	json_t *others = json_array();
	if (p->why != MT_WHY_BLOCKED && p->why != MT_WHY_SELF &&
	    mt_store_edges(ctx->store, &edges, &n, q.at == ctx->now ? INT64_MAX : q.at, &err) == 0) {
		const char *winner = p->found && p->n_edges ? p->edges[p->n_edges - 1].from_id : NULL;
		for (size_t i = 0; i < n && json_array_size(others) < OTHERS_MAX; i++) {
			const mt_edge_in *in = &edges[i];
			if (strcmp(in->dst, target) != 0 || strcmp(in->scope, q.scope) != 0 ||
			    (winner && strcmp(in->src, winner) == 0) ||
			    (in->exp && in->exp <= q.at))
				continue;
			json_array_append_new(others, other(e, &tq, &q, in, p));
		}
	}
	free(edges);
	json_object_set_new(doc, "others", others);
	int found = p->found;
	if (q.json) {
		mt_trust_path_free(p);
		mt_engine_free(e);
		mesh_print_json(doc);
		return found ? EXIT_OK : EXIT_FAIL;
	}
	mesh_write_id(ctx, stdout, target);
	printf(" from ");
	mesh_write_id(ctx, stdout, q.from);
	printf(" in scope %s (best-path mode, max depth %d):\n", q.scope, q.depth);
	if (found) {
		printf("  the best path, %zu hop(s):\n", p->n_edges);
		print_edges(ctx, json_object_get(doc, "path"), "    ");
		printf("  product of the edge scores: ");
		for (size_t i = 0; i < p->n_edges; i++)
			printf("%s%.3f", i ? " × " : "", p->edges[i].score / 1000.0);
		printf(" = %.6g\n", prod);
		printf("  decay for %zu hop(s): trust.decay[%zu] = %.6g\n", p->n_edges, p->n_edges,
		       decay_at(&q, (int)p->n_edges));
		printf("  score = %.6g × %.6g = %.6g; level %s (the best level of any path; this "
		       "path's is %s); fewest hops of any path: %d\n",
		       decay_at(&q, (int)p->n_edges), prod, p->score, mt_level_name(p->level),
		       mt_level_name(p->path_level), p->hops);
	} else {
		printf("  no path: ");
		mesh_term_write(stdout, p->message, MESH_TERM_LINE);
		putchar('\n');
	}
	size_t i;
	json_t *x;
	if (json_array_size(others))
		printf("  other last hops into it:\n");
	json_array_foreach(others, i, x)
	{
		printf("    via ");
		mesh_write_id(ctx, stdout, json_string_value(json_object_get(x, "via")));
		json_t *sc = json_object_get(x, "score");
		if (sc)
			printf(": %lld hop(s), %.6g × %.6g = %.6g — ",
			       (long long)json_integer_value(json_object_get(x, "hops")),
			       json_number_value(json_object_get(x, "decay_factor")),
			       json_number_value(json_object_get(x, "product")),
			       json_number_value(sc));
		else
			printf(": ");
		mesh_term_write(stdout, json_string_value(json_object_get(x, "outcome")),
				MESH_TERM_LINE);
		putchar('\n');
	}
	mt_trust_path_free(p);
	mt_engine_free(e);
	json_decref(doc);
	return found ? EXIT_OK : EXIT_FAIL;
}
