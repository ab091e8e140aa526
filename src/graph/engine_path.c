/* The best path to one target, or the reason there is none.
 *
 * The path is read back from a logged run of the same DP as mt_engine_trust:
 * every (node, round) slot keeps its product, via and predecessor, so the
 * chain of predecessors from (target, best round) reproduces the winning
 * product bit for bit and starts with the reported via. The reasons are found
 * by re-running cheap variants of the query (depth 8, expiry ignored, other
 * scopes), in the order documented in docs/trust-engine.md. */
#include "engine_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SPEC §3: scores are plain IEEE-754 products; never fuse into FMA. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

const char *mt_why_name(mt_why why)
{
	switch (why) {
	case MT_WHY_FOUND: return "found";
	case MT_WHY_SELF: return "self";
	case MT_WHY_BLOCKED: return "blocked";
	case MT_WHY_UNKNOWN: return "unknown";
	case MT_WHY_EXPIRED_ONLY: return "expired-only";
	case MT_WHY_TOO_DEEP: return "too-deep";
	case MT_WHY_OTHER_SCOPE: return "other-scope";
	case MT_WHY_NO_PATH: return "no-path";
	}
	return "?";
}

void mt_trust_path_free(mt_trust_path *p)
{
	if (!p)
		return;
	free(p->edges);
	free(p);
}

/* The slot of (node, via) in round h (records sorted by node, then via). */
static const mt_round_rec *find_rec(const mt_path_log *log, int h, uint32_t node, uint32_t via)
{
	size_t lo = 0, hi = log->count[h];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const mt_round_rec *r = &log->recs[h][mid];
		if (r->node < node || (r->node == node && r->via < via))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < log->count[h] && log->recs[h][lo].node == node && log->recs[h][lo].via == via)
		return &log->recs[h][lo];
	return NULL;
}

/* Position of edge from -> to in scope `sa`, or -1 (rows ascend by target). */
static int64_t find_edge(const mt_scope_adj *sa, uint32_t from, uint32_t to)
{
	uint32_t lo = sa->offsets[from], hi = sa->offsets[from + 1];
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (sa->targets[mid] < to)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < sa->offsets[from + 1] && sa->targets[lo] == to ? (int64_t)lo : -1;
}

/* Does any edge (any level, any expiry) of scope `sa` end at `x`? O(m). */
static int has_edge_into(const mt_scope_adj *sa, uint32_t x)
{
	for (size_t i = 0; i < sa->m; i++)
		if (sa->targets[i] == x)
			return 1;
	return 0;
}

/* Run variant `o` and report whether `x` is reached (hops in *hops). */
static int reaches(const mt_engine *e, mt_engine_scratch *s, uint32_t v, const mt_qopts *o, uint32_t x, int *hops)
{
	if (mt_graph__run(e, s, v, o, NULL) != 0)
		return 0; /* out of memory: report the plainer reason */
	mt_node_answer a;
	if (!mt_graph__answer(s, x, &a))
		return 0;
	if (hops)
		*hops = a.hops;
	return 1;
}

static void append(char *buf, size_t cap, const char *text)
{
	size_t len = strlen(buf);
	if (len + 1 < cap)
		snprintf(buf + len, cap - len, "%s", text);
}

/* Explain why `x` is not trusted; `o` is the original query. */
static void explain(const mt_engine *e, mt_engine_scratch *s, int64_t v, const mt_qopts *o, const char *scope,
		    const char *target, int64_t x, mt_trust_path *p)
{
	size_t cap = sizeof p->message;
	if (v >= 0 && x == v) {
		p->why = MT_WHY_SELF;
		snprintf(p->message, cap, "%s is the viewpoint itself", target);
		return;
	}
	/* blocked: V's unexpired none edge to x in S, then in global */
	int cand_scopes[2] = {o->scope, o->global_scope};
	for (int k = 0; k < 2 && v >= 0 && x >= 0; k++) {
		if (cand_scopes[k] < 0)
			continue;
		const mt_scope_adj *sa = &e->scopes[cand_scopes[k]];
		int64_t pos = find_edge(sa, (uint32_t)v, (uint32_t)x);
		if (pos >= 0 && mt_ea_level(sa->attr[pos]) == MT_LEVEL_NONE) {
			int64_t exp = mt_graph__edge_exp(sa, (uint32_t)pos);
			if (exp == 0 || exp > o->at) {
				p->why = MT_WHY_BLOCKED;
				snprintf(p->message, cap, "%s is blocked by you in scope %s", target, sa->name);
				return;
			}
		}
	}
	int any_in = 0;
	for (size_t k = 0; x >= 0 && k < e->n_scopes && !any_in; k++)
		any_in = has_edge_into(&e->scopes[k], (uint32_t)x);
	if (!any_in) {
		p->why = MT_WHY_UNKNOWN;
		snprintf(p->message, cap, "nobody has a trust edge to %s in any scope", target);
		return;
	}
	int hops = 0;
	if (v >= 0 && o->scope >= 0) {
		mt_qopts var = *o;
		var.ignore_expiry = 1;
		if (reaches(e, s, (uint32_t)v, &var, (uint32_t)x, &hops)) {
			p->why = MT_WHY_EXPIRED_ONLY;
			snprintf(p->message, cap, "every path to %s in scope %s goes through an expired edge", target,
				 scope);
			return;
		}
		var = *o;
		var.depth = MT_ENGINE_MAX_DEPTH;
		if (var.depth > o->depth && reaches(e, s, (uint32_t)v, &var, (uint32_t)x, &hops)) {
			p->why = MT_WHY_TOO_DEEP;
			p->depth_needed = hops;
			snprintf(p->message, cap,
				 "%s is %d hops away in scope %s, beyond the maximum depth %d (trust.maxDepth)", target,
				 hops, scope, o->depth);
			return;
		}
		var.ignore_expiry = 1;
		if (var.depth > o->depth && reaches(e, s, (uint32_t)v, &var, (uint32_t)x, &hops)) {
			p->why = MT_WHY_EXPIRED_ONLY;
			snprintf(p->message, cap,
				 "the only paths to %s in scope %s go through an expired edge (and are %d+ hops long)",
				 target, scope, hops);
			return;
		}
	}
	/* other scopes: first those with a path (depth 8, expiry respected) */
	char names[400] = "";
	int n_named = 0;
	for (size_t k = 0; v >= 0 && k < e->n_scopes; k++) {
		if ((int)k == o->scope)
			continue;
		mt_qopts var = *o;
		var.scope = (int)k;
		var.depth = MT_ENGINE_MAX_DEPTH;
		if (reaches(e, s, (uint32_t)v, &var, (uint32_t)x, NULL)) {
			if (n_named++)
				append(names, sizeof names, ", ");
			append(names, sizeof names, e->scopes[k].name);
		}
	}
	if (n_named) {
		p->why = MT_WHY_OTHER_SCOPE;
		snprintf(p->message, cap, "no path to %s in scope %s; there is one in scope %s", target, scope, names);
		return;
	}
	int in_this = o->scope >= 0 && has_edge_into(&e->scopes[o->scope], (uint32_t)x);
	if (!in_this) {
		for (size_t k = 0; k < e->n_scopes; k++) {
			if ((int)k == o->scope || !has_edge_into(&e->scopes[k], (uint32_t)x))
				continue;
			if (n_named++)
				append(names, sizeof names, ", ");
			append(names, sizeof names, e->scopes[k].name);
		}
		p->why = MT_WHY_OTHER_SCOPE;
		snprintf(p->message, cap, "%s has no trust edge in scope %s, only in scope %s", target, scope, names);
		return;
	}
	p->why = MT_WHY_NO_PATH;
	snprintf(p->message, cap, "no path from the viewpoint to %s in scope %s", target, scope);
}

int mt_engine_path(mt_trust_path **out, const mt_engine *e, const mt_trust_query *q, const char *target,
		   mt_error *err)
{
	if (!out)
		return mt_error_set(err, MT_EINVAL, "mt_engine_path: out is NULL");
	*out = NULL;
	if (!target)
		return mt_error_set(err, MT_EINVAL, "mt_engine_path: target is NULL");
	mt_qopts o;
	int64_t v;
	int rc = mt_graph__prepare(e, q, &o, &v, err);
	if (rc != 0)
		return rc;
	const char *scope = q->scope ? q->scope : "global";
	mt_trust_path *p = calloc(1, sizeof *p);
	mt_engine_scratch *s = NULL;
	mt_path_log log;
	memset(&log, 0, sizeof log);
	if (!p)
		return mt_error_set(err, MT_ENOMEM, "mt_engine_path: out of memory");
	if ((rc = mt_engine_scratch_new(&s, e, err)) != 0)
		goto done;
	int64_t x = mt_engine_node_index(e, target);
	mt_node_answer a;
	if (v >= 0 && x >= 0 && x != v && o.scope >= 0) {
		if (mt_graph__run(e, s, (uint32_t)v, &o, &log) != 0) {
			rc = mt_error_set(err, MT_ENOMEM, "mt_engine_path: out of memory");
			goto done;
		}
		if (mt_graph__answer(s, (uint32_t)x, &a)) {
			const mt_scope_adj *sa = &e->scopes[o.scope];
			p->found = 1;
			p->why = MT_WHY_FOUND;
			p->score = a.score;
			p->level = a.level;
			p->hops = a.hops;
			p->via = a.via;
			p->path_level = MT_LEVEL_FULL;
			p->n_edges = (size_t)a.best_hops;
			p->edges = calloc(p->n_edges, sizeof *p->edges);
			if (!p->edges) {
				rc = mt_error_set(err, MT_ENOMEM, "mt_engine_path: out of memory");
				goto done;
			}
			uint32_t node = (uint32_t)x;
			for (int h = a.best_hops; h >= 1; h--) {
				const mt_round_rec *rec = find_rec(&log, h, node, a.via);
				int64_t pos = rec ? find_edge(sa, rec->pred, node) : -1;
				if (pos < 0) {
					rc = mt_error_set(err, MT_EINVAL, "mt_engine_path: internal error rebuilding the path");
					goto done;
				}
				mt_path_edge *pe = &p->edges[h - 1];
				pe->from = rec->pred;
				pe->to = node;
				pe->from_id = mt_engine_node_id(e, rec->pred);
				pe->to_id = mt_engine_node_id(e, node);
				pe->level = mt_ea_level(sa->attr[pos]);
				pe->score = (uint16_t)mt_ea_score(sa->attr[pos]);
				pe->scope = sa->name;
				pe->exp = mt_graph__edge_exp(sa, (uint32_t)pos);
				if (pe->level < p->path_level)
					p->path_level = pe->level;
				node = rec->pred;
			}
			goto ok;
		}
	}
	p->found = 0;
	explain(e, s, v, &o, scope, target, x, p);
ok:
	*out = p;
	p = NULL;
done:
	mt_graph__path_log_free(&log);
	mt_engine_scratch_free(s);
	mt_trust_path_free(p);
	return rc;
}
