/* The trust endpoints: GET /v1/trust (one target's score, level, hops, via),
 * GET /v1/trust/path (the best path with each edge, or why there is none) and
 * GET /v1/graph (the graph around a viewpoint, for the dashboard). Each
 * answers from the view held for the request; trust.mode flow (docs/flow.md)
 * switches the first two to the flow computation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meshtrust/encoding.h"
#include "meshtrust/flow.h"
#include "meshtrust/proof.h"
#include "meshtrust/config.h"
#include "meshtrust/views.h"
#include "node_http.h"

/* trust.mode and trust.flowCapacities through the configuration registry
 * (validated as `mesh config` does): the mt_trust_mode (with the capacity
 * schedule for flow), or -1 with `r` filled when the stored values are
 * invalid. */
static int flow_mode(mt_node *n, reply *r, uint32_t cap[MT_FLOW_MAX_CAPACITIES], size_t *n_cap)
{
	char *mode = NULL, *caps = NULL;
	mt_error err = {0};
	mt_store *s = node__store_get(n);
	int rc = mt_config_get(s, "trust.mode", &mode, &err);
	if (!rc)
		rc = mt_config_get(s, "trust.flowCapacities", &caps, &err);
	node__store_put(n, s);
	if (!rc)
		rc = mt_flow_capacities_parse(cap, n_cap, caps, &err);
	mt_trust_mode flow = MT_TRUST_MODE_BEST_PATH;
	if (!rc)
		rc = mt_trust_mode_parse(mode, &flow, &err);
	free(mode);
	free(caps);
	if (rc) {
		node__reply_store_error(r, 500, &err, NULL);
		return -1;
	}
	return (int)flow;
}

/* The flow query of a flow mode: the fixed schedule, or the adaptive one. */
static mt_flow_query flow_query(const char *from, const char *scope, int64_t at, int depth,
				int mode, const uint32_t *cap, size_t n_cap)
{
	int fixed = mode == MT_TRUST_MODE_FLOW;
	mt_flow_query fq = {from, scope, at, depth, fixed ? cap : NULL, fixed ? n_cap : 0};
	return fq;
}

/* The question of /v1/trust/list and /v1/trust/path, as `mesh trust list` and
 * `mesh trust path` take it: scope, from (default this node), target (path),
 * depth (default trust.maxDepth), at (default now; another time evaluates
 * the statements with ts <= at, on an engine built for the request), mode
 * (default trust.mode). */
typedef struct tquery {
	const char *scope;
	char from[MT_NODE_ID_MAX], target[MT_NODE_ID_MAX];
	long long depth, at;
	int flow; /* mt_trust_mode */
	uint32_t cap[MT_FLOW_MAX_CAPACITIES];
	size_t n_cap;
	const mt_engine *engine;
	mt_engine *own; /* the engine built for `at`, or NULL */
	mt_edge_in *own_edges; /* the edges it was built from (with `own`) */
	size_t n_own_edges;
	const char *digest;
	char own_digest[65];
} tquery;

/* The engine of the statements with ts <= `at` (a request's at=), with the
 * edges it is built from (*edges, owned by the caller with *eng) and, when
 * `digest` is not NULL, the store's digest. Returns 0 or an error code with
 * `err` set. */
static int engine_at(mt_node *n, int64_t at, mt_engine **eng, mt_edge_in **edges, size_t *ne,
		     char digest[65], mt_error *err)
{
	*eng = NULL;
	*edges = NULL;
	*ne = 0;
	mt_store *s = node__store_get(n);
	int rc = digest ? mt_store_digest_hex(s, digest, NULL, err) : 0;
	if (!rc)
		rc = mt_store_edges(s, edges, ne, at, err);
	node__store_put(n, s);
	if (!rc)
		rc = mt_engine_new(eng, *edges, *ne, err);
	if (rc) {
		free(*edges);
		*edges = NULL;
		*ne = 0;
	}
	return rc;
}

/* Free what tquery_parse built for the request. */
static void tquery_done(tquery *q)
{
	mt_engine_free(q->own);
	free(q->own_edges);
	q->own = NULL;
	q->own_edges = NULL;
}

static int tquery_parse(mt_node *n, reply *r, struct MHD_Connection *c, node_view *v, tquery *q,
			int with_target)
{
	memset(q, 0, sizeof *q);
	int64_t now = (int64_t)time(NULL);
	if (node__scope_arg(r, c, &q->scope) ||
	    (with_target && node__id_arg(r, c, "target", q->target, 1) < 0) ||
	    node__int_arg(r, c, "depth", 1, 8, v->max_depth, &q->depth) ||
	    node__int_arg(r, c, "at", 0, 9007199254740991LL, now, &q->at))
		return -1;
	int rc = node__id_arg(r, c, "from", q->from, 0);
	if (rc < 0)
		return -1;
	if (rc == 1)
		snprintf(q->from, sizeof q->from, "%s", n->self);
	int flow = flow_mode(n, r, q->cap, &q->n_cap);
	if (flow < 0)
		return -1;
	const char *mode = node__arg(c, "mode");
	mt_trust_mode m = (mt_trust_mode)flow;
	mt_error merr = {0};
	if (mode && mt_trust_mode_parse(mode, &m, &merr)) {
		node__reply_error(r, 400, "mode: %s", merr.msg);
		return -1;
	}
	q->flow = (int)m;
	q->engine = v->engine;
	q->digest = v->digest;
	if (q->at != now && node__arg(c, "at")) {
		mt_error err = {0};
		rc = engine_at(n, q->at, &q->own, &q->own_edges, &q->n_own_edges, q->own_digest,
			       &err);
		if (rc) {
			node__reply_store_error(r, 500, &err, NULL);
			return -1;
		}
		q->engine = q->own;
		q->digest = q->own_digest;
	}
	return 0;
}

static mt_view_frame tquery_frame(const tquery *q)
{
	mt_view_frame f = {q->digest, q->from, q->scope, q->at, (int)q->depth,
			   q->flow == MT_TRUST_MODE_FLOW ? q->cap : NULL,
			   q->flow == MT_TRUST_MODE_FLOW ? q->n_cap : 0};
	return f;
}

/* GET /v1/trust/list?scope=&from=&depth=&at=&mode=: the document of `mesh trust
 * list --json` (views.h). */
void node__ep_trust_list(mt_node *n, struct MHD_Connection *c, const char *url, req *rq,
			 node_view *v, reply *r)
{
	(void)url;
	(void)rq;
	tquery q;
	if (tquery_parse(n, r, c, v, &q, 0))
		return;
	mt_view_frame f = tquery_frame(&q);
	mt_error err = {0};
	json_t *doc = NULL;
	mt_store *s = node__store_get(n);
	if (q.flow) {
		mt_flow_query fq = flow_query(q.from, q.scope, q.at, (int)q.depth, q.flow, q.cap, q.n_cap);
		mt_flow_result *fr = NULL;
		if (mt_flow_trust(&fr, q.engine, &fq, &err) == 0)
			doc = mt_view_flow_list(&f, fr, s);
		mt_flow_result_free(fr);
	} else {
		mt_trust_query tq = {q.from, q.scope, q.at, (int)q.depth, v->decay, v->n_decay};
		mt_trust_result *tr = NULL;
		if (mt_engine_trust(&tr, q.engine, &tq, NULL, &err) == 0)
			doc = mt_view_trust_list(&f, tr, s);
		mt_trust_result_free(tr);
	}
	node__store_put(n, s);
	tquery_done(&q);
	if (!doc) {
		node__reply_error(r, 500, "trust list failed: %s", err.msg[0] ? err.msg : "out of memory");
		return;
	}
	node__reply_json(r, 200, doc);
}

/* GET /v1/trust/explain?target=&scope=&from=&depth=&at=&mode=: the document of
 * `mesh trust explain --json` (views.h mt_view_explain / _flow). */
void node__ep_explain(mt_node *n, struct MHD_Connection *c, const char *url, req *rq,
		      node_view *v, reply *r)
{
	(void)url;
	(void)rq;
	tquery q;
	if (tquery_parse(n, r, c, v, &q, 1))
		return;
	mt_view_frame f = tquery_frame(&q);
	mt_error err = {0};
	json_t *doc = NULL;
	if (q.flow) {
		mt_flow_query fq = flow_query(q.from, q.scope, q.at, (int)q.depth, q.flow, q.cap, q.n_cap);
		doc = mt_view_explain_flow(&f, q.engine, &fq, q.target, &err);
	} else {
		mt_trust_query tq = {q.from, q.scope, q.at, (int)q.depth, v->decay, v->n_decay};
		/* the edges the engine was built from: the view's, or at=T's */
		if (!q.own && node__view_edges(v) != 0) {
			tquery_done(&q);
			node__reply_error(r, 500, "out of memory");
			return;
		}
		doc = mt_view_explain(&f, q.engine, &tq, q.own ? q.own_edges : v->edges,
				      q.own ? q.n_own_edges : v->n_edges, q.target, &err);
	}
	tquery_done(&q);
	if (!doc) {
		node__reply_error(r, 500, "explain failed: %s", err.msg[0] ? err.msg : "out of memory");
		return;
	}
	node__reply_json(r, 200, doc);
}

/* The query of /v1/trust and /v1/trust/path: scope (default global), target
 * (required), from (default this node). Returns 0, or -1 with `r` filled. */
static int target_args(mt_node *n, reply *r, struct MHD_Connection *c, const char **scope,
		       char target[MT_NODE_ID_MAX], char from[MT_NODE_ID_MAX])
{
	if (node__scope_arg(r, c, scope) || node__id_arg(r, c, "target", target, 1) < 0)
		return -1;
	int rc = node__id_arg(r, c, "from", from, 0);
	if (rc < 0)
		return -1;
	if (rc == 1)
		snprintf(from, MT_NODE_ID_MAX, "%s", n->self);
	return 0;
}

/* GET /v1/trust?target=&scope=&from=: digest, viewpoint, target, scope, trusted,
 * score, level, hops, via (and flow, in flow mode). */
void node__ep_trust(mt_node *n, struct MHD_Connection *c, const char *url, req *rq, node_view *v,
		    reply *r)
{
	(void)url;
	(void)rq;
	const char *scope;
	char target[MT_NODE_ID_MAX], from[MT_NODE_ID_MAX];
	if (target_args(n, r, c, &scope, target, from))
		return;
	uint32_t cap[MT_FLOW_MAX_CAPACITIES];
	size_t n_cap = 0;
	int flow = flow_mode(n, r, cap, &n_cap);
	if (flow < 0)
		return;
	if (flow) {
		mt_flow_query fq = flow_query(from, scope, (int64_t)time(NULL), v->max_depth, flow, cap,
					      n_cap);
		mt_flow_result *fr = NULL;
		mt_error ferr = {0};
		if (mt_flow_trust(&fr, v->engine, &fq, &ferr) != 0) {
			node__reply_error(r, 500, "%s", ferr.msg);
			return;
		}
		const mt_flow_entry *fe = NULL;
		for (size_t i = 0; i < fr->count; i++)
			if (strcmp(fr->entries[i].id, target) == 0)
				fe = &fr->entries[i];
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:b,s:s,s:b}", "digest", v->digest, "viewpoint",
				      from, "target", target, "scope", scope, "trusted", fe != NULL,
				      "mode", mt_trust_mode_name((mt_trust_mode)flow), "accepted",
				      fe != NULL);
		json_object_set_new(o, "score", json_real(fe ? fe->score : 0.0));
		json_object_set_new(o, "level",
				    json_string(mt_level_name(fe ? fe->level : MT_LEVEL_NONE)));
		json_object_set_new(o, "hops", fe ? json_integer(fe->hops) : json_null());
		json_object_set_new(o, "via", fe ? json_string(fe->via_id) : json_null());
		json_object_set_new(o, "flow", json_integer(fe ? fe->flow : 0));
		mt_flow_result_free(fr);
		node__reply_json(r, 200, o);
		return;
	}
	const mt_trust_entry *e = NULL;
	mt_trust_result *own = NULL;
	if (strcmp(from, n->self) == 0) {
		node_scope_view *sv = node__view_scope(v, scope);
		if (!sv) {
			node__reply_error(r, 500, "trust query failed");
			return;
		}
		e = node__scope_entry(v, sv, target);
	} else {
		mt_trust_query q = {from, scope, (int64_t)time(NULL), v->max_depth, v->decay,
				    v->n_decay};
		mt_error err = {0};
		if (mt_engine_trust(&own, v->engine, &q, NULL, &err) != 0) {
			node__reply_store_error(r, 500, &err, NULL);
			return;
		}
		for (size_t i = 0; i < own->count; i++)
			if (strcmp(own->entries[i].id, target) == 0)
				e = &own->entries[i];
	}
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:b}", "digest", v->digest, "viewpoint", from,
			      "target", target, "scope", scope, "trusted", e != NULL);
	json_object_set_new(o, "score", json_real(e ? e->score : 0.0));
	json_object_set_new(o, "level", json_string(mt_level_name(e ? e->level : MT_LEVEL_NONE)));
	json_object_set_new(o, "hops", e ? json_integer(e->hops) : json_null());
	json_object_set_new(o, "via", e ? json_string(e->via_id) : json_null());
	mt_trust_result_free(own);
	node__reply_json(r, 200, o);
}

/* &proof=1: the path's portable proof (SPEC §9.6, proof.h) as NDJSON, its
 * header signed by the node's key, or 404 with the reason when there is no
 * path. `cut_ts` as mt_proof_write. */
static void path_proof(mt_node *n, const tquery *q, const double *decay, size_t n_decay,
		       int64_t cut_ts, reply *r)
{
	mt_trust_query tq = {q->from, q->scope, q->at, (int)q->depth, decay, n_decay};
	mt_trust_path *p = NULL;
	mt_error err = {0};
	if (mt_engine_path(&p, q->engine, &tq, q->target, &err) != 0) {
		node__reply_store_error(r, 500, &err, "trust path failed");
		return;
	}
	if (!p->found) {
		node__reply_error(r, 404, "no trust path, so no proof: %s", p->message);
		mt_trust_path_free(p);
		return;
	}
	mt_proof_header h = {.at = q->at, .max_depth = (int)q->depth, .n_decay = n_decay};
	snprintf(h.from, sizeof h.from, "%s", q->from);
	snprintf(h.to, sizeof h.to, "%s", q->target);
	snprintf(h.scope, sizeof h.scope, "%s", q->scope);
	if (n_decay > MT_PROOF_MAX_DECAY) {
		mt_trust_path_free(p);
		node__reply_error(r, 500, "trust.decay has too many values for a proof");
		return;
	}
	memcpy(h.decay, decay, n_decay * sizeof h.decay[0]);
	const char *iss[MT_ENGINE_MAX_DEPTH + 1];
	size_t ni = 0;
	for (size_t i = 0; i < p->n_edges && ni < MT_ENGINE_MAX_DEPTH + 1; i++)
		iss[ni++] = p->edges[i].from_id;
	char *bundle = NULL;
	size_t len = 0;
	mt_store *s = node__store_get(n);
	int rc = mt_proof_write(&bundle, &len, s, &h, iss, ni, cut_ts, &n->kp, &err);
	node__store_put(n, s);
	mt_trust_path_free(p);
	if (rc) {
		node__reply_store_error(r, 500, &err, "proof failed");
		return;
	}
	node__reply_text(r, 200, "application/x-ndjson", bundle);
}

/* GET /v1/trust/path?target=&scope=&from=&depth=&at=&mode=&proof=: the document
 * of `mesh trust path --json` (views.h); with proof=1 the path's portable proof
 * (`mesh trust path --proof`). */
void node__ep_path(mt_node *n, struct MHD_Connection *c, const char *url, req *rq, node_view *v,
		   reply *r)
{
	(void)url;
	(void)rq;
	tquery q;
	if (tquery_parse(n, r, c, v, &q, 1))
		return;
	const char *proof = node__arg(c, "proof");
	if (proof && strcmp(proof, "1") && strcmp(proof, "0")) {
		tquery_done(&q);
		node__reply_error(r, 400, "proof: must be 1 or 0");
		return;
	}
	if (proof && strcmp(proof, "1") == 0) {
		if (q.flow)
			node__reply_error(r, 400, "proof: a proof shows a best path (not mode %s)",
					  mt_trust_mode_name((mt_trust_mode)q.flow));
		else
			path_proof(n, &q, v->decay, v->n_decay, q.own ? q.at : INT64_MAX, r);
		tquery_done(&q);
		return;
	}
	mt_view_frame f = tquery_frame(&q);
	mt_error err = {0};
	json_t *doc = NULL;
	mt_store *s = node__store_get(n);
	if (q.flow) {
		mt_flow_query fq = flow_query(q.from, q.scope, q.at, (int)q.depth, q.flow, q.cap, q.n_cap);
		mt_flow_path *fp = NULL;
		if (mt_flow_path_get(&fp, q.engine, &fq, q.target, &err) == 0)
			doc = mt_view_flow_path(&f, q.target, fp, s);
		mt_flow_path_free(fp);
	} else {
		mt_trust_query tq = {q.from, q.scope, q.at, (int)q.depth, v->decay, v->n_decay};
		mt_trust_path *p = NULL;
		if (mt_engine_path(&p, q.engine, &tq, q.target, &err) == 0)
			doc = mt_view_trust_path(&f, q.target, p, s);
		mt_trust_path_free(p);
	}
	node__store_put(n, s);
	tquery_done(&q);
	if (!doc) {
		node__reply_error(r, 500, "trust path failed: %s", err.msg[0] ? err.msg : "out of memory");
		return;
	}
	node__reply_json(r, 200, doc);
}

#define GRAPH_MAX_NODES 20000

/* GET /v1/graph?scope=&depth=&from=: the trust graph around a viewpoint, for
 * the dashboard: the viewpoint and everyone it trusts to `depth`, with the
 * scope's trust edges among them and each node's inbound trust. An expensive
 * route (XP_ALWAYS): dispatch serves it from the view's cache or bounds it
 * around this handler. */
void node__ep_graph(mt_node *n, struct MHD_Connection *c, const char *url, req *rq, node_view *v,
		    reply *r)
{
	(void)url;
	(void)rq;
	const char *scope;
	char from[MT_NODE_ID_MAX];
	if (node__scope_arg(r, c, &scope))
		return;
	int rc = node__id_arg(r, c, "from", from, 0);
	if (rc < 0)
		return;
	if (rc == 1)
		snprintf(from, sizeof from, "%s", n->self);
	long long depth, at_arg;
	int64_t now = (int64_t)time(NULL);
	if (node__int_arg(r, c, "depth", 1, 8, v->max_depth, &depth) ||
	    node__int_arg(r, c, "at", 0, 9007199254740991LL, now, &at_arg))
		return;
	/* at=T: the graph of the statements with ts <= T (its own engine and
	 * edges), as /v1/trust/list?at= */
	if (node__view_edges(v) != 0) {
		node__reply_error(r, 500, "out of memory");
		return;
	}
	const mt_engine *engine = v->engine;
	const mt_edge_in *vedges = v->edges;
	size_t n_vedges = v->n_edges;
	mt_engine *own = NULL;
	mt_edge_in *own_edges = NULL;
	mt_error err = {0};
	if (at_arg != now && node__arg(c, "at")) {
		if (engine_at(n, at_arg, &own, &own_edges, &n_vedges, NULL, &err) != 0) {
			node__reply_store_error(r, 500, &err, NULL);
			return;
		}
		engine = own;
		vedges = own_edges;
		now = at_arg;
	}
	mt_trust_query q = {from, scope, now, (int)depth, v->decay, v->n_decay};
	mt_trust_result *tr = NULL;
	if (mt_engine_trust(&tr, engine, &q, NULL, &err) != 0) {
		mt_engine_free(own);
		free(own_edges);
		node__reply_store_error(r, 500, &err, NULL);
		return;
	}
	json_t *index = json_object(); /* node id -> position in nodes */
	json_t *nodes = json_array(), *edges = json_array();
	json_t *inbound = json_object();
	for (size_t i = 0; i < n_vedges; i++) {
		const mt_edge_in *e = &vedges[i];
		if (strcmp(e->scope, scope) || e->level == MT_LEVEL_NONE || (e->exp && e->exp <= now))
			continue;
		json_t *x = json_object_get(inbound, e->dst);
		double sum = (x ? json_real_value(x) : 0.0) + e->score / 1000.0;
		json_object_set_new(inbound, e->dst, json_real(sum));
	}
	size_t limit = tr->count < GRAPH_MAX_NODES ? tr->count : GRAPH_MAX_NODES;
	json_t *self_in = json_object_get(inbound, from);
	json_array_append_new(nodes, json_pack("{s:s,s:s,s:i,s:f,s:f}", "node_id", from, "level",
					       "self", "hops", 0, "score", 1.0, "inbound_trust",
					       self_in ? json_real_value(self_in) : 0.0));
	json_object_set_new(index, from, json_integer(0));
	for (size_t i = 0; i < limit; i++) {
		const mt_trust_entry *t = &tr->entries[i];
		json_t *in = json_object_get(inbound, t->id);
		json_array_append_new(nodes, json_pack("{s:s,s:s,s:i,s:f,s:s,s:f}", "node_id", t->id,
						       "level", mt_level_name(t->level), "hops",
						       t->hops, "score", t->score, "via", t->via_id,
						       "inbound_trust",
						       in ? json_real_value(in) : 0.0));
		json_object_set_new(index, t->id, json_integer((json_int_t)i + 1));
	}
	for (size_t i = 0; i < n_vedges; i++) {
		const mt_edge_in *e = &vedges[i];
		if (strcmp(e->scope, scope) || e->level == MT_LEVEL_NONE || (e->exp && e->exp <= now))
			continue;
		if (!json_object_get(index, e->src) || !json_object_get(index, e->dst))
			continue;
		json_array_append_new(edges, json_pack("{s:s,s:s,s:s,s:f}", "from", e->src, "to",
						       e->dst, "level", mt_level_name(e->level),
						       "score", e->score / 1000.0));
	}
	json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:I,s:I,s:b,s:o,s:o}", "digest", v->digest,
			      "viewpoint", from, "scope", scope, "depth", (int)depth, "at",
			      (json_int_t)now, "trusted", (json_int_t)tr->count, "truncated",
			      tr->count > limit, "nodes", nodes, "edges", edges);
	mt_trust_result_free(tr);
	mt_engine_free(own); /* after the result: its IDs were the engine's */
	free(own_edges);
	json_decref(index);
	json_decref(inbound);
	node__reply_json(r, 200, o);
}
