/* `mesh trust explain` (issue #21) as a document, for the CLI and the node's
 * GET /v1/trust/explain: the best path with each edge's level and score, the
 * product, the decay factor for its length and the score they give (SPEC
 * §3.4), and every other last hop into the target (its in-edges in the
 * scope) with the best path through it and why it lost. Flow modes: the
 * target's distance, capacity, flow and their ratio (flow-adaptive: with the
 * schedule the query derived). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/views.h"

#define OTHERS_MAX 20 /* other last hops examined */

static double decay_at(const mt_trust_query *q, int hops)
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
static json_t *other(const mt_engine *e, const mt_trust_query *tq, const mt_edge_in *in,
		     const mt_trust_path *won)
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
	if (hops > tq->max_depth) {
		char why[200];
		snprintf(why, sizeof why, "%d hops: longer than the maximum depth %d", hops,
			 tq->max_depth);
		json_object_set_new(o, "outcome", json_string(why));
		return o;
	}
	double d = decay_at(tq, hops), score = d * prod;
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

json_t *mt_view_explain(const mt_view_frame *f, const mt_engine *e, const mt_trust_query *tq,
			const mt_edge_in *edges, size_t n_edges, const char *target, mt_error *err)
{
	mt_trust_path *p = NULL;
	if (mt_engine_path(&p, e, tq, target, err) != 0)
		return NULL;
	json_t *decay = json_array();
	for (size_t i = 0; i < tq->n_decay; i++)
		json_array_append_new(decay, json_real(tq->decay[i]));
	json_t *doc = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:i,s:o,s:b}", "digest", f->digest,
				"target", target, "viewpoint", f->viewpoint, "scope", f->scope,
				"mode", "best-path", "at", (json_int_t)f->at, "max_depth",
				f->max_depth, "decay", decay, "found", p->found);
	double prod = 0;
	if (p->found) {
		json_object_set_new(doc, "path", edges_json(p->edges, p->n_edges, &prod));
		json_object_set_new(doc, "product", json_real(prod));
		json_object_set_new(doc, "decay_index", json_integer((json_int_t)p->n_edges));
		json_object_set_new(doc, "decay_factor", json_real(decay_at(tq, (int)p->n_edges)));
		json_object_set_new(doc, "score", json_real(p->score));
		json_object_set_new(doc, "level", json_string(mt_level_name(p->level)));
		json_object_set_new(doc, "path_level", json_string(mt_level_name(p->path_level)));
		json_object_set_new(doc, "hops", json_integer(p->hops));
	} else {
		json_object_set_new(doc, "why", json_string(mt_why_name(p->why)));
		json_object_set_new(doc, "message", json_string(p->message));
	}
	/* every other last hop into the target in the scope */
	json_t *others = json_array();
	if (p->why != MT_WHY_BLOCKED && p->why != MT_WHY_SELF) {
		const char *winner = p->found && p->n_edges ? p->edges[p->n_edges - 1].from_id : NULL;
		for (size_t i = 0; i < n_edges && json_array_size(others) < OTHERS_MAX; i++) {
			const mt_edge_in *in = &edges[i];
			if (strcmp(in->dst, target) != 0 || strcmp(in->scope, tq->scope) != 0 ||
			    (winner && strcmp(in->src, winner) == 0) || (in->exp && in->exp <= tq->at))
				continue;
			json_array_append_new(others, other(e, tq, in, p));
		}
	}
	json_object_set_new(doc, "others", others);
	mt_trust_path_free(p);
	return doc;
}

json_t *mt_view_explain_flow(const mt_view_frame *f, const mt_engine *e, const mt_flow_query *fq,
			     const char *target, mt_error *err)
{
	mt_flow_path *p = NULL;
	if (mt_flow_path_get(&p, e, fq, target, err) != 0)
		return NULL;
	/* the schedule the answer used: the fixed one, or the derived one */
	json_t *caps = json_array();
	const uint32_t *cap = fq->capacity ? fq->capacity : p->capacities;
	size_t n_cap = fq->capacity ? fq->n_capacity : p->n_capacities;
	for (size_t i = 0; i < n_cap; i++)
		json_array_append_new(caps, json_integer(cap[i]));
	double prod = 0;
	json_t *doc = json_pack(
		"{s:s,s:s,s:s,s:s,s:s,s:I,s:i,s:o,s:b,s:b,s:i,s:i,s:i,s:f,s:s,s:s,s:o}", "digest",
		f->digest, "target", target, "viewpoint", f->viewpoint, "scope", f->scope, "mode",
		fq->capacity ? "flow" : "flow-adaptive", "at", (json_int_t)f->at, "max_depth", f->max_depth, "capacities", caps,
		"found", p->found, "in_region", p->in_region, "hops", p->hops, "capacity",
		(int)p->capacity, "flow", (int)p->flow, "score", p->score, "why", p->why, "message",
		p->message, "path", edges_json(p->edges, p->n_edges, &prod));
	mt_flow_path_free(p);
	return doc;
}
