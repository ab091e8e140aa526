/* Trust engine behaviour beyond the shared vectors: a brute-force
 * cross-check over random graphs (every simple path enumerated), the
 * why-not reasons, scratch reuse, input validation and thread safety. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meshtrust/engine.h"

/* SPEC §3: scores are plain IEEE-754 products; never fuse into FMA. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

static const double default_decay[] = {1.0, 1.0, 0.5, 0.25, 0.125};

static mt_trust_query query(const char *v, const char *scope, int depth)
{
	mt_trust_query q = {.viewpoint = v, .scope = scope, .at = 1800000000, .max_depth = depth,
			    .decay = default_decay, .n_decay = 5};
	return q;
}

static mt_engine *build(const mt_edge_in *edges, size_t n)
{
	mt_engine *e = NULL;
	mt_error err = {0};
	int rc = mt_engine_new(&e, edges, n, &err);
	if (rc != 0)
		fail_msg("mt_engine_new: %s", err.msg);
	return e;
}

/* ---- brute force reference ------------------------------------------------ */

typedef struct ref_node {
	int reached;
	double score;
	int best_hops; /* hops of the winning path */
	int via;
	int hops;
	int level;
} ref_node;

typedef struct ref_ctx {
	const mt_edge_in *edges;
	size_t n_edges;
	char names[16][16];
	int n;
	const char *scope;
	int64_t at;
	int depth;
	const double *decay;
	size_t n_decay;
	int blocked[16];
	int on_path[16];
	ref_node out[16];
} ref_ctx;

static int name_index(const ref_ctx *c, const char *id)
{
	for (int i = 0; i < c->n; i++)
		if (strcmp(c->names[i], id) == 0)
			return i;
	return -1;
}

/* Extend the simple path ending at `u` (h hops, product p, first hop via,
 * min level lv) by every usable edge. Names sort like indexes (fixed width). */
static void ref_dfs(ref_ctx *c, int u, int h, double p, int via, int lv)
{
	if (h == c->depth)
		return;
	for (size_t i = 0; i < c->n_edges; i++) {
		const mt_edge_in *ed = &c->edges[i];
		if (strcmp(ed->scope, c->scope) != 0 || name_index(c, ed->src) != u)
			continue;
		if (ed->level == MT_LEVEL_NONE || (ed->exp != 0 && ed->exp <= c->at))
			continue;
		int w = name_index(c, ed->dst);
		if (c->on_path[w] || c->blocked[w])
			continue;
		double np = p * (ed->score / 1000.0);
		int nh = h + 1;
		int nvia = h == 0 ? w : via;
		int nlv = (int)ed->level < lv ? (int)ed->level : lv;
		double sc = c->decay[(size_t)nh < c->n_decay ? (size_t)nh : c->n_decay - 1] * np;
		ref_node *r = &c->out[w];
		if (!r->reached) {
			r->reached = 1;
			r->score = sc;
			r->best_hops = nh;
			r->via = nvia;
			r->hops = nh;
			r->level = nlv;
		} else {
			if (sc > r->score || (sc == r->score && (nh < r->best_hops ||
								 (nh == r->best_hops && nvia < r->via)))) {
				r->score = sc;
				r->best_hops = nh;
				r->via = nvia;
			}
			if (nh < r->hops)
				r->hops = nh;
			if (nlv > r->level)
				r->level = nlv;
		}
		c->on_path[w] = 1;
		ref_dfs(c, w, nh, np, nvia, nlv);
		c->on_path[w] = 0;
	}
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_bruteforce_random(void **state)
{
	(void)state;
	static const uint16_t scores[] = {1000, 900, 800, 700, 600, 500, 300, 250, 100, 1, 999, 333};
	static const double decay_b[] = {1.0, 0.9, 0.8, 0.7};
	uint64_t seed = 0x12345678abcdefull;
	size_t checked = 0, found_any = 0;
	mt_engine_scratch *scratch = NULL;
	for (int iter = 0; iter < 1500; iter++) {
		ref_ctx c;
		memset(&c, 0, sizeof c);
		c.n = 5 + (int)(rng_next(&seed) % 7);
		for (int i = 0; i < c.n; i++)
			snprintf(c.names[i], sizeof c.names[i], "n%02d", i);
		mt_edge_in edges[120];
		size_t m = 0;
		const char *scope_names[] = {"global", "coop:x"};
		for (int s = 0; s < 2; s++)
			for (int a = 0; a < c.n; a++)
				for (int b = 0; b < c.n; b++) {
					if (a == b || rng_next(&seed) % 100 >= 35 || m >= 120)
						continue;
					mt_edge_in *ed = &edges[m++];
					ed->src = c.names[a];
					ed->dst = c.names[b];
					ed->scope = scope_names[s];
					uint64_t r = rng_next(&seed) % 100;
					ed->level = r < 8 ? MT_LEVEL_NONE : r < 40 ? MT_LEVEL_LIMITED : MT_LEVEL_FULL;
					ed->score = scores[rng_next(&seed) % (sizeof scores / sizeof scores[0])];
					if (rng_next(&seed) % 4 == 0)
						ed->score = (uint16_t)(1 + rng_next(&seed) % 1000);
					uint64_t x = rng_next(&seed) % 10;
					ed->exp = x == 0 ? 1700000000 : x == 1 ? 1800000000 : x == 2 ? 1900000000 : 0;
				}
		mt_engine *e = build(edges, m);
		mt_engine_scratch_free(scratch);
		assert_int_equal(mt_engine_scratch_new(&scratch, e, NULL), 0);
		for (int qi = 0; qi < 3; qi++) {
			int v = (int)(rng_next(&seed) % (uint64_t)c.n);
			const char *scope = scope_names[rng_next(&seed) % 2];
			int depth = 1 + (int)(rng_next(&seed) % 5);
			int use_b = rng_next(&seed) % 2;
			mt_trust_query q = query(c.names[v], scope, depth);
			if (use_b) {
				q.decay = decay_b;
				q.n_decay = 4;
			}
			/* reference */
			ref_ctx *rc = &c;
			memset(rc->blocked, 0, sizeof rc->blocked);
			memset(rc->out, 0, sizeof rc->out);
			memset(rc->on_path, 0, sizeof rc->on_path);
			rc->edges = edges;
			rc->n_edges = m;
			rc->scope = scope;
			rc->at = q.at;
			rc->depth = depth;
			rc->decay = q.decay;
			rc->n_decay = q.n_decay;
			for (size_t i = 0; i < m; i++)
				if (strcmp(edges[i].src, c.names[v]) == 0 && edges[i].level == MT_LEVEL_NONE &&
				    (strcmp(edges[i].scope, scope) == 0 || strcmp(edges[i].scope, "global") == 0) &&
				    (edges[i].exp == 0 || edges[i].exp > q.at))
					rc->blocked[name_index(rc, edges[i].dst)] = 1;
			rc->on_path[v] = 1;
			ref_dfs(rc, v, 0, 1.0, -1, MT_LEVEL_FULL);

			mt_trust_result *r = NULL;
			assert_int_equal(mt_engine_trust(&r, e, &q, scratch, NULL), 0);
			size_t want = 0;
			for (int x = 0; x < c.n; x++) {
				if (!rc->out[x].reached)
					continue;
				want++;
				const mt_trust_entry *got = NULL;
				for (size_t k = 0; k < r->count; k++)
					if (strcmp(r->entries[k].id, c.names[x]) == 0)
						got = &r->entries[k];
				if (!got)
					fail_msg("iter %d: %s missing", iter, c.names[x]);
				if (got->score != rc->out[x].score || got->hops != rc->out[x].hops ||
				    (int)got->level != rc->out[x].level || strcmp(got->via_id, c.names[rc->out[x].via]) != 0)
					fail_msg("iter %d q%d: %s got %.17g/%d/%d/%s want %.17g/%d/%d/%s", iter, qi, c.names[x],
						 got->score, got->hops, got->level, got->via_id, rc->out[x].score,
						 rc->out[x].hops, rc->out[x].level, c.names[rc->out[x].via]);
				/* the path is the winning one */
				mt_trust_path *p = NULL;
				assert_int_equal(mt_engine_path(&p, e, &q, c.names[x], NULL), 0);
				assert_true(p->found);
				assert_int_equal((int)p->n_edges, rc->out[x].best_hops);
				assert_int_equal((int)p->edges[0].to, got->via);
				double prod = 1.0;
				for (size_t k = 0; k < p->n_edges; k++)
					prod = prod * (p->edges[k].score / 1000.0);
				size_t di = p->n_edges < q.n_decay ? p->n_edges : q.n_decay - 1;
				assert_true(q.decay[di] * prod == got->score);
				mt_trust_path_free(p);
				checked++;
			}
			assert_int_equal(r->count, want);
			found_any += want > 0;
			mt_trust_result_free(r);
		}
		mt_engine_free(e);
	}
	mt_engine_scratch_free(scratch);
	assert_true(checked > 3000);
	assert_true(found_any > 1000);
}

/* ---- rounding collisions ------------------------------------------------------ */

/* Found by the brute-force check: two walks reach n09 in 4 hops with
 * products one rounding apart on the way (different first hops) that round
 * to the same final score; SPEC §3 then wants the smaller first hop (n03),
 * which a DP keeping only one (product, via) per slot misses. */
static const mt_edge_in collision_edges[] = {
	{"n00", "n05", "global", MT_LEVEL_FULL, 900, 1900000000},
	{"n00", "n06", "global", MT_LEVEL_FULL, 52, 0},
	{"n00", "n07", "global", MT_LEVEL_LIMITED, 454, 0},
	{"n00", "n09", "global", MT_LEVEL_FULL, 333, 1700000000},
	{"n01", "n00", "global", MT_LEVEL_FULL, 496, 1800000000},
	{"n01", "n02", "global", MT_LEVEL_NONE, 999, 1800000000},
	{"n01", "n03", "global", MT_LEVEL_FULL, 329, 1700000000},
	{"n01", "n08", "global", MT_LEVEL_LIMITED, 21, 0},
	{"n02", "n00", "global", MT_LEVEL_FULL, MT_LEVEL_LIMITED, 1700000000},
	{"n02", "n01", "global", MT_LEVEL_FULL, 589, 0},
	{"n02", "n03", "global", MT_LEVEL_FULL, MT_LEVEL_LIMITED, 0},
	{"n03", "n02", "global", MT_LEVEL_LIMITED, 300, 0},
	{"n03", "n04", "global", MT_LEVEL_FULL, 999, 0},
	{"n03", "n05", "global", MT_LEVEL_FULL, 999, 1800000000},
	{"n03", "n10", "global", MT_LEVEL_FULL, 999, 1700000000},
	{"n04", "n01", "global", MT_LEVEL_LIMITED, 1000, 0},
	{"n04", "n07", "global", MT_LEVEL_LIMITED, 1, 1800000000},
	{"n04", "n10", "global", MT_LEVEL_FULL, 700, 0},
	{"n05", "n06", "global", MT_LEVEL_FULL, 700, 0},
	{"n05", "n07", "global", MT_LEVEL_FULL, 700, 1900000000},
	{"n05", "n08", "global", MT_LEVEL_FULL, 978, 0},
	{"n05", "n09", "global", MT_LEVEL_LIMITED, 900, 1700000000},
	{"n06", "n03", "global", MT_LEVEL_FULL, 300, 0},
	{"n06", "n07", "global", MT_LEVEL_FULL, MT_LEVEL_LIMITED, 0},
	{"n06", "n08", "global", MT_LEVEL_FULL, 900, 1900000000},
	{"n06", "n10", "global", MT_LEVEL_FULL, MT_LEVEL_LIMITED, 1800000000},
	{"n07", "n03", "global", MT_LEVEL_LIMITED, 300, 0},
	{"n07", "n08", "global", MT_LEVEL_FULL, 333, 0},
	{"n08", "n01", "global", MT_LEVEL_LIMITED, 140, 0},
	{"n08", "n02", "global", MT_LEVEL_FULL, 500, 0},
	{"n08", "n03", "global", MT_LEVEL_FULL, 156, 0},
	{"n08", "n04", "global", MT_LEVEL_FULL, 900, 0},
	{"n08", "n07", "global", MT_LEVEL_FULL, 100, 0},
	{"n09", "n04", "global", MT_LEVEL_LIMITED, 1, 1700000000},
	{"n09", "n07", "global", MT_LEVEL_FULL, 700, 0},
	{"n10", "n03", "global", MT_LEVEL_FULL, 999, 0},
	{"n10", "n04", "global", MT_LEVEL_NONE, 900, 0},
	{"n10", "n05", "global", MT_LEVEL_LIMITED, 999, 0},
	{"n10", "n06", "global", MT_LEVEL_LIMITED, 999, 0},
	{"n10", "n09", "global", MT_LEVEL_FULL, 300, 1900000000},
};

static void test_rounding_tie_via(void **state)
{
	(void)state;
	mt_engine *e = build(collision_edges, sizeof collision_edges / sizeof collision_edges[0]);
	mt_trust_query q = query("n07", "global", 4);
	mt_trust_result *r = NULL;
	assert_int_equal(mt_engine_trust(&r, e, &q, NULL, NULL), 0);
	const mt_trust_entry *x = NULL;
	for (size_t i = 0; i < r->count; i++)
		if (strcmp(r->entries[i].id, "n09") == 0)
			x = &r->entries[i];
	assert_non_null(x);
	assert_int_equal(x->hops, 4);
	assert_string_equal(x->via_id, "n03");
	mt_trust_path *p = NULL;
	assert_int_equal(mt_engine_path(&p, e, &q, "n09", NULL), 0);
	assert_true(p->found);
	assert_string_equal(p->edges[0].to_id, "n03");
	double prod = 1.0;
	for (size_t k = 0; k < p->n_edges; k++)
		prod = prod * (p->edges[k].score / 1000.0);
	assert_true(default_decay[p->n_edges < 5 ? p->n_edges : 4] * prod == x->score);
	/* the first hop n08 reaches the same score by a product one rounding apart */
	mt_trust_path_free(p);
	mt_trust_result_free(r);
	mt_engine_free(e);
}

/* ---- why-not reasons -------------------------------------------------------- */

/* V -> A -> B -> C -> D (global, full); V -> X expired; X -> Y;
 * V -> P (coop:p) -> Q (coop:p); V blocks K; Z -> W (coop:z only);
 * U -> T (global, nobody reaches U). */
static const mt_edge_in why_edges[] = {
	{"V", "A", "global", MT_LEVEL_FULL, 1000, 0},
	{"A", "B", "global", MT_LEVEL_FULL, 1000, 0},
	{"B", "C", "global", MT_LEVEL_FULL, 1000, 0},
	{"C", "D", "global", MT_LEVEL_FULL, 1000, 0},
	{"V", "X", "global", MT_LEVEL_FULL, 1000, 1700000000},
	{"X", "Y", "global", MT_LEVEL_FULL, 1000, 0},
	{"V", "P", "coop:p", MT_LEVEL_FULL, 1000, 0},
	{"P", "Q", "coop:p", MT_LEVEL_FULL, 1000, 0},
	{"V", "K", "global", MT_LEVEL_NONE, 0, 0},
	{"A", "K", "global", MT_LEVEL_FULL, 1000, 0},
	{"Z", "W", "coop:z", MT_LEVEL_FULL, 1000, 0},
	{"U", "T", "global", MT_LEVEL_FULL, 1000, 0},
	{"V", "R", "coop:r", MT_LEVEL_NONE, 0, 0},
	{"A", "R", "coop:r", MT_LEVEL_FULL, 1000, 0},
	{"V", "A", "coop:r", MT_LEVEL_FULL, 1000, 0},
};

static mt_trust_path *why_path(const mt_engine *e, const char *scope, int depth, const char *target)
{
	mt_trust_query q = query("V", scope, depth);
	mt_trust_path *p = NULL;
	mt_error err = {0};
	assert_int_equal(mt_engine_path(&p, e, &q, target, &err), 0);
	return p;
}

static void test_why_reasons(void **state)
{
	(void)state;
	mt_engine *e = build(why_edges, sizeof why_edges / sizeof why_edges[0]);
	struct {
		const char *scope, *target;
		int depth;
		mt_why why;
		const char *needle;
	} cases[] = {
		{"global", "B", 2, MT_WHY_FOUND, ""},
		{"global", "V", 2, MT_WHY_SELF, "viewpoint"},
		{"global", "K", 2, MT_WHY_BLOCKED, "blocked by you in scope global"},
		{"coop:r", "K", 2, MT_WHY_BLOCKED, "blocked by you in scope global"},
		{"coop:r", "R", 2, MT_WHY_BLOCKED, "blocked by you in scope coop:r"},
		{"global", "nobody-knows-me", 2, MT_WHY_UNKNOWN, "nobody"},
		{"global", "U", 2, MT_WHY_UNKNOWN, "nobody"},
		{"global", "X", 2, MT_WHY_EXPIRED_ONLY, "expired"},
		{"global", "Y", 2, MT_WHY_EXPIRED_ONLY, "expired"},
		{"global", "D", 2, MT_WHY_TOO_DEEP, "4 hops"},
		{"global", "Q", 2, MT_WHY_OTHER_SCOPE, "coop:p"},
		{"coop:p", "B", 2, MT_WHY_OTHER_SCOPE, "global"},
		{"global", "W", 2, MT_WHY_OTHER_SCOPE, "coop:z"},
		{"global", "T", 2, MT_WHY_NO_PATH, "no path"},
		{"no:such-scope", "T", 2, MT_WHY_OTHER_SCOPE, "global"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		mt_trust_path *p = why_path(e, cases[i].scope, cases[i].depth, cases[i].target);
		if (p->why != cases[i].why || !strstr(p->message, cases[i].needle))
			fail_msg("%s in %s: why %s (%s), expected %s", cases[i].target, cases[i].scope,
				 mt_why_name(p->why), p->message, mt_why_name(cases[i].why));
		assert_int_equal(p->found, cases[i].why == MT_WHY_FOUND);
		if (cases[i].why == MT_WHY_TOO_DEEP)
			assert_int_equal(p->depth_needed, 4);
		mt_trust_path_free(p);
	}
	mt_engine_free(e);
}

/* ---- validation ------------------------------------------------------------- */

static void test_build_refusals(void **state)
{
	(void)state;
	mt_engine *e = (mt_engine *)&e; /* must be reset to NULL on failure */
	mt_error err = {0};
	mt_edge_in dup[] = {
		{"a", "b", "global", MT_LEVEL_FULL, 1000, 0},
		{"b", "c", "global", MT_LEVEL_FULL, 1000, 0},
		{"a", "b", "coop:x", MT_LEVEL_FULL, 1000, 0},
		{"a", "b", "global", MT_LEVEL_LIMITED, 500, 0},
	};
	assert_int_equal(mt_engine_new(&e, dup, 4, &err), MT_EINVAL);
	assert_null(e);
	assert_non_null(strstr(err.msg, "duplicate edge a -> b in scope global"));
	/* the same pair in two scopes is fine */
	assert_int_equal(mt_engine_new(&e, dup, 3, &err), 0);
	mt_engine_free(e);

	mt_edge_in self[] = {{"a", "a", "global", MT_LEVEL_FULL, 1000, 0}};
	assert_int_equal(mt_engine_new(&e, self, 1, &err), MT_EINVAL);
	assert_non_null(strstr(err.msg, "self-edge"));
	mt_edge_in badscore[] = {{"a", "b", "global", MT_LEVEL_FULL, 1001, 0}};
	assert_int_equal(mt_engine_new(&e, badscore, 1, &err), MT_EINVAL);
	assert_non_null(strstr(err.msg, "1001"));
	badscore[0].score = 0;
	assert_int_equal(mt_engine_new(&e, badscore, 1, &err), MT_EINVAL);
	badscore[0].level = MT_LEVEL_NONE; /* score ignored for none */
	assert_int_equal(mt_engine_new(&e, badscore, 1, &err), 0);
	mt_engine_free(e);
	mt_edge_in nulls[] = {{"a", NULL, "global", MT_LEVEL_FULL, 1000, 0}};
	assert_int_equal(mt_engine_new(&e, nulls, 1, &err), MT_EINVAL);
	mt_edge_in badlevel[] = {{"a", "b", "global", (mt_level)7, 1000, 0}};
	assert_int_equal(mt_engine_new(&e, badlevel, 1, &err), MT_EINVAL);
	/* empty engine */
	assert_int_equal(mt_engine_new(&e, NULL, 0, &err), 0);
	mt_trust_query q = query("a", "global", 2);
	mt_trust_result *r = NULL;
	assert_int_equal(mt_engine_trust(&r, e, &q, NULL, &err), 0);
	assert_int_equal(r->count, 0);
	mt_trust_result_free(r);
	mt_engine_free(e);
}

static void test_query_validation(void **state)
{
	(void)state;
	mt_engine *e = build(why_edges, 4);
	mt_trust_result *r = (mt_trust_result *)&r;
	mt_error err = {0};
	mt_trust_query q = query("V", "global", 0);
	assert_int_equal(mt_engine_trust(&r, e, &q, NULL, &err), MT_EINVAL);
	assert_null(r);
	assert_non_null(strstr(err.msg, "max_depth 0"));
	q.max_depth = 9;
	assert_int_equal(mt_engine_trust(&r, e, &q, NULL, &err), MT_EINVAL);
	q.max_depth = 2;
	double up[] = {1.0, 0.5, 0.6};
	q.decay = up;
	q.n_decay = 3;
	assert_int_equal(mt_engine_trust(&r, e, &q, NULL, &err), MT_EINVAL);
	assert_non_null(strstr(err.msg, "decay[2]"));
	double zero[] = {1.0, 0.0};
	q.decay = zero;
	q.n_decay = 2;
	assert_int_equal(mt_engine_trust(&r, e, &q, NULL, &err), MT_EINVAL);
	assert_non_null(strstr(err.msg, "decay[1]"));
	double big[] = {1.5};
	q.decay = big;
	q.n_decay = 1;
	assert_int_equal(mt_engine_trust(&r, e, &q, NULL, &err), MT_EINVAL);
	q.n_decay = 0;
	assert_int_equal(mt_engine_trust(&r, e, &q, NULL, &err), MT_EINVAL);
	assert_non_null(strstr(err.msg, "decay"));
	/* a one-value table applies to every length */
	double flat[] = {0.5};
	q.decay = flat;
	q.n_decay = 1;
	assert_int_equal(mt_engine_trust(&r, e, &q, NULL, &err), 0);
	assert_int_equal(r->count, 2);
	assert_true(r->entries[0].score == 0.5 && r->entries[1].score == 0.5);
	mt_trust_result_free(r);
	/* unknown viewpoint or scope: empty, not an error */
	q = query("nobody", "global", 2);
	assert_int_equal(mt_engine_trust(&r, e, &q, NULL, &err), 0);
	assert_int_equal(r->count, 0);
	mt_trust_result_free(r);
	q = query("V", "coop:none", 2);
	assert_int_equal(mt_engine_trust(&r, e, &q, NULL, &err), 0);
	assert_int_equal(r->count, 0);
	mt_trust_result_free(r);
	/* a scratch made for another engine is refused */
	mt_engine *other = build(why_edges, 2);
	mt_engine_scratch *s = NULL;
	assert_int_equal(mt_engine_scratch_new(&s, other, &err), 0);
	q = query("V", "global", 2);
	assert_int_equal(mt_engine_trust(&r, e, &q, s, &err), MT_EINVAL);
	mt_engine_scratch_free(s);
	mt_engine_free(other);
	mt_engine_free(e);
}

static void test_helpers(void **state)
{
	(void)state;
	mt_level lv = MT_LEVEL_FULL;
	assert_int_equal(mt_level_parse("limited", &lv), 0);
	assert_int_equal(lv, MT_LEVEL_LIMITED);
	assert_int_equal(mt_level_parse("Full", &lv), MT_EINVAL);
	assert_int_equal(lv, MT_LEVEL_LIMITED);
	assert_string_equal(mt_level_name(MT_LEVEL_NONE), "none");
	assert_string_equal(mt_level_name(MT_LEVEL_FULL), "full");
	mt_engine *e = build(why_edges, sizeof why_edges / sizeof why_edges[0]);
	size_t n = 0;
	const char *const *scopes = mt_engine_scopes(e, &n);
	assert_int_equal(n, 4);
	assert_string_equal(scopes[0], "coop:p");
	assert_string_equal(scopes[1], "coop:r");
	assert_string_equal(scopes[2], "coop:z");
	assert_string_equal(scopes[3], "global");
	/* indexes follow byte order of the IDs */
	size_t nodes = mt_engine_node_count(e);
	assert_int_equal(nodes, 15);
	for (uint32_t i = 1; i < nodes; i++)
		assert_true(strcmp(mt_engine_node_id(e, i - 1), mt_engine_node_id(e, i)) < 0);
	assert_int_equal(mt_engine_node_index(e, "A"), 0);
	assert_int_equal(mt_engine_node_index(e, mt_engine_node_id(e, 7)), 7);
	assert_int_equal(mt_engine_node_index(e, "nope"), -1);
	assert_null(mt_engine_node_id(e, 99));
	mt_engine_stats st;
	mt_engine_stats_get(e, &st);
	assert_int_equal(st.edges, 15);
	assert_int_equal(st.scopes, 4);
	assert_true(st.bytes_per_edge > 6.0);
	mt_engine_free(e);
}

/* ---- scratch reuse and threads --------------------------------------------- */

typedef struct big_graph {
	char (*names)[12];
	mt_edge_in *edges;
	size_t n, m;
} big_graph;

static void make_big(big_graph *g, size_t n, size_t m, uint64_t seed)
{
	g->n = n;
	g->names = malloc(n * sizeof *g->names);
	g->edges = malloc(m * sizeof *g->edges);
	assert_non_null(g->names);
	assert_non_null(g->edges);
	for (size_t i = 0; i < n; i++)
		snprintf(g->names[i], sizeof g->names[i], "node%06u", (unsigned)((i * 7919) % n & 0xfffff));
	/* distinct (src, dst) pairs: src i, dst i + k * stride */
	g->m = 0;
	for (size_t i = 0; i < n && g->m < m; i++) {
		size_t deg = 1 + rng_next(&seed) % 12;
		for (size_t k = 1; k <= deg && g->m < m; k++) {
			mt_edge_in *ed = &g->edges[g->m++];
			ed->src = g->names[i];
			ed->dst = g->names[(i + k * (1 + rng_next(&seed) % 3) + k * 17) % n];
			if (ed->dst == ed->src)
				ed->dst = g->names[(i + 1) % n];
			ed->scope = "global";
			ed->level = rng_next(&seed) % 5 ? MT_LEVEL_FULL : MT_LEVEL_LIMITED;
			ed->score = (uint16_t)(100 + rng_next(&seed) % 901);
			ed->exp = 0;
		}
	}
	/* drop accidental duplicates (same src row) */
	size_t w = 0;
	for (size_t i = 0; i < g->m; i++) {
		int dup = 0;
		for (size_t j = w; j-- > 0 && g->edges[j].src == g->edges[i].src;)
			if (g->edges[j].dst == g->edges[i].dst)
				dup = 1;
		if (!dup)
			g->edges[w++] = g->edges[i];
	}
	g->m = w;
}

static int same_result(const mt_trust_result *a, const mt_trust_result *b)
{
	if (a->count != b->count)
		return 0;
	for (size_t i = 0; i < a->count; i++) {
		const mt_trust_entry *x = &a->entries[i], *y = &b->entries[i];
		if (x->node != y->node || x->score != y->score || x->hops != y->hops || x->level != y->level ||
		    x->via != y->via)
			return 0;
	}
	return 1;
}

static void test_scratch_reuse(void **state)
{
	(void)state;
	big_graph g;
	make_big(&g, 2000, 15000, 99);
	mt_engine *e = build(g.edges, g.m);
	mt_engine_scratch *s = NULL;
	assert_int_equal(mt_engine_scratch_new(&s, e, NULL), 0);
	size_t nonempty = 0;
	for (int round = 0; round < 2; round++)
		for (size_t v = 0; v < 40; v++) {
			mt_trust_query q = query(g.names[v * 37 % g.n], "global", 1 + (int)(v % 4));
			mt_trust_result *fresh = NULL, *reused = NULL;
			assert_int_equal(mt_engine_trust(&fresh, e, &q, NULL, NULL), 0);
			assert_int_equal(mt_engine_trust(&reused, e, &q, s, NULL), 0);
			assert_true(same_result(fresh, reused));
			nonempty += fresh->count > 0;
			mt_trust_result_free(fresh);
			mt_trust_result_free(reused);
		}
	assert_true(nonempty >= 70);
	mt_engine_scratch_free(s);
	mt_engine_free(e);
	free(g.names);
	free(g.edges);
}

typedef struct thread_arg {
	const mt_engine *e;
	const big_graph *g;
	mt_trust_result *expect[20];
	int ok;
} thread_arg;

static void *thread_main(void *p)
{
	thread_arg *a = p;
	mt_engine_scratch *s = NULL;
	a->ok = mt_engine_scratch_new(&s, a->e, NULL) == 0;
	for (int rep = 0; rep < 5 && a->ok; rep++)
		for (size_t v = 0; v < 20 && a->ok; v++) {
			mt_trust_query q = query(a->g->names[v * 53 % a->g->n], "global", 4);
			mt_trust_result *r = NULL;
			a->ok = mt_engine_trust(&r, a->e, &q, rep % 2 ? s : NULL, NULL) == 0 &&
				same_result(r, a->expect[v]);
			mt_trust_result_free(r);
		}
	mt_engine_scratch_free(s);
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	big_graph g;
	make_big(&g, 3000, 25000, 7);
	mt_engine *e = build(g.edges, g.m);
	thread_arg args[2];
	for (int t = 0; t < 2; t++) {
		args[t].e = e;
		args[t].g = &g;
		for (size_t v = 0; v < 20; v++) {
			mt_trust_query q = query(g.names[v * 53 % g.n], "global", 4);
			assert_int_equal(mt_engine_trust(&args[t].expect[v], e, &q, NULL, NULL), 0);
		}
	}
	pthread_t th[2];
	for (int t = 0; t < 2; t++)
		assert_int_equal(pthread_create(&th[t], NULL, thread_main, &args[t]), 0);
	for (int t = 0; t < 2; t++)
		pthread_join(th[t], NULL);
	for (int t = 0; t < 2; t++) {
		assert_true(args[t].ok);
		for (size_t v = 0; v < 20; v++)
			mt_trust_result_free(args[t].expect[v]);
	}
	mt_engine_free(e);
	free(g.names);
	free(g.edges);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bruteforce_random), cmocka_unit_test(test_rounding_tie_via),
		cmocka_unit_test(test_why_reasons),
		cmocka_unit_test(test_build_refusals),    cmocka_unit_test(test_query_validation),
		cmocka_unit_test(test_helpers),           cmocka_unit_test(test_scratch_reuse),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
