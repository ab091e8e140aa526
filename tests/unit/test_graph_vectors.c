/* The shared SPEC §3 vectors (vectors/trust-cases.json) against the engine:
 * every expected field of every target, no extras, and a consistent best
 * path for each target. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meshtrust/engine.h"
#include "testutil.h"

/* SPEC §3: scores are plain IEEE-754 products; never fuse into FMA. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

typedef struct vcase {
	const char *name;
	mt_edge_in *edges;
	size_t n_edges;
	mt_trust_query q;
	double decay[16];
	json_t *expect;
} vcase;

static void load_case(json_t *c, vcase *vc)
{
	memset(vc, 0, sizeof *vc);
	vc->name = json_string_value(json_object_get(c, "name"));
	json_t *edges = json_object_get(c, "edges");
	vc->n_edges = json_array_size(edges);
	vc->edges = calloc(vc->n_edges ? vc->n_edges : 1, sizeof *vc->edges);
	assert_non_null(vc->edges);
	for (size_t i = 0; i < vc->n_edges; i++) {
		json_t *ed = json_array_get(edges, i);
		mt_edge_in *e = &vc->edges[i];
		e->src = json_string_value(json_object_get(ed, "src"));
		e->dst = json_string_value(json_object_get(ed, "dst"));
		json_t *scope = json_object_get(ed, "scope");
		e->scope = scope ? json_string_value(scope) : "global";
		assert_int_equal(mt_level_parse(json_string_value(json_object_get(ed, "level")), &e->level), 0);
		json_t *score = json_object_get(ed, "score");
		e->score = (uint16_t)(score ? json_integer_value(score) : 1000);
		json_t *exp = json_object_get(ed, "exp");
		e->exp = exp ? json_integer_value(exp) : 0;
	}
	json_t *q = json_object_get(c, "query");
	vc->q.viewpoint = json_string_value(json_object_get(q, "viewpoint"));
	vc->q.scope = json_string_value(json_object_get(q, "scope"));
	vc->q.at = json_integer_value(json_object_get(q, "at"));
	vc->q.max_depth = (int)json_integer_value(json_object_get(q, "max_depth"));
	json_t *decay = json_object_get(q, "decay");
	vc->q.n_decay = json_array_size(decay);
	assert_true(vc->q.n_decay >= 1 && vc->q.n_decay <= 16);
	for (size_t i = 0; i < vc->q.n_decay; i++)
		vc->decay[i] = json_number_value(json_array_get(decay, i));
	vc->q.decay = vc->decay;
	vc->expect = json_object_get(c, "expect");
}

static const mt_trust_entry *find_entry(const mt_trust_result *r, const char *id)
{
	for (size_t i = 0; i < r->count; i++)
		if (strcmp(r->entries[i].id, id) == 0)
			return &r->entries[i];
	return NULL;
}

static void check_case(json_t *c)
{
	vcase vc;
	load_case(c, &vc);
	mt_error err = {0};
	mt_engine *e = NULL;
	assert_int_equal(mt_engine_new(&e, vc.edges, vc.n_edges, &err), 0);
	mt_trust_result *r = NULL;
	assert_int_equal(mt_engine_trust(&r, e, &vc.q, NULL, &err), 0);

	size_t n_expect = json_array_size(vc.expect);
	if (r->count != n_expect)
		fail_msg("case %s: %zu results, expected %zu", vc.name, r->count, n_expect);
	for (size_t i = 0; i < n_expect; i++) {
		json_t *x = json_array_get(vc.expect, i);
		const char *target = json_string_value(json_object_get(x, "target"));
		const mt_trust_entry *got = find_entry(r, target);
		if (!got)
			fail_msg("case %s: target %s missing", vc.name, target);
		double want = json_number_value(json_object_get(x, "score"));
		if (fabs(got->score - want) > 1e-9)
			fail_msg("case %s: %s score %.17g, expected %.17g", vc.name, target, got->score, want);
		if (got->hops != (int)json_integer_value(json_object_get(x, "hops")))
			fail_msg("case %s: %s hops %d", vc.name, target, got->hops);
		mt_level lv;
		assert_int_equal(mt_level_parse(json_string_value(json_object_get(x, "level")), &lv), 0);
		if (got->level != lv)
			fail_msg("case %s: %s level %s", vc.name, target, mt_level_name(got->level));
		const char *via = json_string_value(json_object_get(x, "via"));
		if (strcmp(got->via_id, via) != 0)
			fail_msg("case %s: %s via %s, expected %s", vc.name, target, got->via_id, via);

		/* the path agrees with the list entry and recomputes to the score */
		mt_trust_path *p = NULL;
		assert_int_equal(mt_engine_path(&p, e, &vc.q, target, &err), 0);
		assert_true(p->found);
		assert_int_equal(p->why, MT_WHY_FOUND);
		assert_true(p->score == got->score);
		assert_int_equal(p->hops, got->hops);
		assert_int_equal(p->level, got->level);
		assert_true(p->n_edges >= (size_t)got->hops);
		assert_string_equal(p->edges[0].from_id, vc.q.viewpoint);
		assert_string_equal(p->edges[0].to_id, via);
		assert_string_equal(p->edges[p->n_edges - 1].to_id, target);
		double prod = 1.0;
		for (size_t k = 0; k < p->n_edges; k++) {
			if (k > 0)
				assert_int_equal(p->edges[k].from, p->edges[k - 1].to);
			assert_int_not_equal(p->edges[k].level, MT_LEVEL_NONE);
			prod = prod * (p->edges[k].score / 1000.0);
		}
		size_t di = p->n_edges < vc.q.n_decay ? p->n_edges : vc.q.n_decay - 1;
		assert_true(vc.decay[di] * prod == p->score);
		mt_trust_path_free(p);
	}
	/* list order: hops, then score descending, then Node ID */
	for (size_t i = 1; i < r->count; i++) {
		const mt_trust_entry *a = &r->entries[i - 1], *b = &r->entries[i];
		assert_true(a->hops < b->hops ||
			    (a->hops == b->hops && (a->score > b->score ||
						    (a->score == b->score && strcmp(a->id, b->id) < 0))));
	}
	mt_trust_result_free(r);
	mt_engine_free(e);
	free(vc.edges);
}

static void test_all_vectors(void **state)
{
	(void)state;
	json_t *root = mt_test_load_vector("trust-cases.json");
	json_t *cases = json_object_get(root, "cases");
	assert_true(json_array_size(cases) >= 18);
	for (size_t i = 0; i < json_array_size(cases); i++)
		check_case(json_array_get(cases, i));
	json_decref(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_vectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
