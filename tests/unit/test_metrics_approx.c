/* Approximate betweenness (approx_eps, src/metrics/approx.c) on hand-built
 * graphs whose exact values are known: the estimate of every node within eps
 * (normalised), uniform choice among several shortest paths, paths through
 * both search directions, unreachable pairs, determinism across thread
 * counts, the sample formula, the JSON and the refused options. The real
 * datasets are checked by tests/crosscheck/approx_crosscheck.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/metrics.h"
#include "metrics/metrics_int.h"
#include "testutil.h"

static mt_edge_in edge(const char *src, const char *dst)
{
	mt_edge_in e = {.src = src, .dst = dst, .scope = "global", .level = MT_LEVEL_FULL,
			.score = 800, .exp = 0};
	return e;
}

static mt_metrics_result *run(const mt_edge_in *edges, size_t n, double eps, uint64_t seed,
			      unsigned threads)
{
	mt_metrics_opts o;
	mt_metrics_opts_init(&o);
	o.approx_eps = eps;
	o.seed = seed;
	o.threads = threads;
	mt_metrics_result *r = NULL;
	mt_error err = {0};
	if (mt_metrics_compute(&r, edges, n, &o, &err) != 0)
		fail_msg("approx failed: %s", err.msg);
	return r;
}

static mt_metrics_result *exact(const mt_edge_in *edges, size_t n)
{
	mt_metrics_result *r = NULL;
	mt_error err = {0};
	if (mt_metrics_compute(&r, edges, n, NULL, &err) != 0)
		fail_msg("exact failed: %s", err.msg);
	return r;
}

/* Every node's normalised estimate within eps of the exact value. */
static void assert_within(const mt_metrics_result *a, const mt_metrics_result *x, double eps)
{
	assert_int_equal(a->node_count, x->node_count);
	double pairs = (double)x->node_count * (double)(x->node_count - 1);
	for (size_t i = 0; i < x->node_count; i++) {
		assert_string_equal(a->nodes[i].node_id, x->nodes[i].node_id);
		double d = fabs(a->nodes[i].betweenness - x->nodes[i].betweenness) / pairs;
		if (d > eps)
			fail_msg("%s: estimate %g, exact %g (normalised error %g > %g)",
				 x->nodes[i].node_id, a->nodes[i].betweenness,
				 x->nodes[i].betweenness, d, eps);
	}
}

/* A diamond with a tail: a->b, a->c, b->d, c->d, d->e, plus e->f. Pairs
 * (a,d): two shortest paths (b and c get half each); (a,e), (a,f) likewise
 * and through d; the backward search meets on either side. */
static void test_diamond(void **state)
{
	(void)state;
	mt_edge_in e[] = {edge("a", "b"), edge("a", "c"), edge("b", "d"), edge("c", "d"),
			  edge("d", "e"), edge("e", "f")};
	mt_metrics_result *x = exact(e, 6);
	for (uint64_t seed = 1; seed <= 5; seed++) {
		mt_metrics_result *a = run(e, 6, 0.01, seed, 2);
		assert_within(a, x, 0.01);
		assert_true(a->sampled);
		assert_true(a->approx_eps == 0.01);
		assert_true(a->approx_delta == 0.1);
		assert_int_equal(a->approx_vd_bound, 6);
		assert_int_equal(a->approx_samples, mt_metrics__approx_samples(0.01, 0.1, 6));
		assert_int_equal(a->betweenness_sources, a->approx_samples);
		mt_metrics_result_free(a);
	}
	mt_metrics_result_free(x);
}

/* A longer chain with a shortcut and an unreachable part: 0->1->...->9,
 * 2->7 (a shortcut), and a separate pair p->q (the pairs across never
 * have a path). */
static void test_chain_shortcut_and_islands(void **state)
{
	(void)state;
	static const char *ids[] = {"n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9"};
	mt_edge_in e[16];
	size_t k = 0;
	for (int i = 0; i + 1 < 10; i++)
		e[k++] = edge(ids[i], ids[i + 1]);
	e[k++] = edge("n2", "n7");
	e[k++] = edge("p", "q");
	mt_metrics_result *x = exact(e, k);
	mt_metrics_result *a = run(e, k, 0.01, 42, 1);
	assert_within(a, x, 0.01);
	/* the vertex-diameter bound is the largest weakly connected part */
	assert_int_equal(a->approx_vd_bound, 10);
	/* one thread and two give the same bits */
	mt_metrics_result *b = run(e, k, 0.01, 42, 2);
	for (size_t i = 0; i < a->node_count; i++)
		assert_true(a->nodes[i].betweenness == b->nodes[i].betweenness);
	/* another seed: other bits, still within eps */
	mt_metrics_result *c = run(e, k, 0.01, 43, 2);
	assert_within(c, x, 0.01);
	int differ = 0;
	for (size_t i = 0; i < a->node_count; i++)
		differ |= a->nodes[i].betweenness != c->nodes[i].betweenness;
	assert_true(differ);
	mt_metrics_result_free(a);
	mt_metrics_result_free(b);
	mt_metrics_result_free(c);
	mt_metrics_result_free(x);
}

/* Random graphs: 30 of 40 nodes, against Brandes. */
static void test_random_graphs(void **state)
{
	(void)state;
	char names[40][8];
	for (int i = 0; i < 40; i++)
		snprintf(names[i], sizeof names[i], "v%02d", i);
	uint64_t s = 7;
	for (int g = 0; g < 30; g++) {
		mt_edge_in e[200];
		size_t k = 0;
		for (int j = 0; j < 120; j++) {
			s = s * 6364136223846793005ULL + 1442695040888963407ULL;
			int a = (int)((s >> 33) % 40), b = (int)((s >> 17) % 40);
			if (a != b)
				e[k++] = edge(names[a], names[b]);
		}
		mt_metrics_result *x = exact(e, k);
		mt_metrics_result *a = run(e, k, 0.02, (uint64_t)g + 1, 2);
		assert_within(a, x, 0.02);
		mt_metrics_result_free(a);
		mt_metrics_result_free(x);
	}
}

static void test_small_and_json(void **state)
{
	(void)state;
	/* two nodes: no pair has a node inside its path, no sample drawn */
	mt_edge_in two[] = {edge("a", "b")};
	mt_metrics_result *a = run(two, 1, 0.05, 1, 2);
	assert_int_equal(a->approx_samples, 0);
	assert_true(a->nodes[0].betweenness == 0 && a->nodes[1].betweenness == 0);
	mt_metrics_result_free(a);
	mt_edge_in e[] = {edge("a", "b"), edge("b", "c")};
	a = run(e, 2, 0.05, 1, 2);
	char *json = NULL;
	assert_int_equal(mt_metrics_result_json(&json, a, 0, 0.7), 0);
	char want[200];
	snprintf(want, sizeof want, "\"samples\":%llu,\"vertex_diameter_bound\":3}}",
		 (unsigned long long)a->approx_samples);
	if (!strstr(json, want) || !strstr(json, "\"sampled\":true,\"approx\":{\"eps\":0.05") ||
	    !strstr(json, ",\"delta\":0.1"))
		fail_msg("%s lacks the approx object", json);
	free(json);
	mt_metrics_result_free(a);
	/* exact: no "approx" */
	a = exact(e, 2);
	assert_int_equal(mt_metrics_result_json(&json, a, 0, 0.7), 0);
	assert_null(strstr(json, "approx"));
	free(json);
	mt_metrics_result_free(a);
}

static void test_formula_and_refusals(void **state)
{
	(void)state;
	/* r = ceil(0.5 / eps^2 (floor(log2(VD - 2)) + 1 + ln(1 / delta))) */
	assert_int_equal(mt_metrics__approx_samples(0.1, 0.1, 2), 0);
	assert_int_equal(mt_metrics__approx_samples(0.1, 0.1, 3), (uint64_t)ceil(50 * (1 + log(10))));
	assert_int_equal(mt_metrics__approx_samples(0.05, 0.01, 1026),
			 (uint64_t)ceil(200 * (11 + log(100))));
	mt_edge_in e[] = {edge("a", "b"), edge("b", "c")};
	mt_metrics_opts o;
	mt_metrics_result *r = NULL;
	mt_error err = {0};
	const double bad_eps[] = {-0.1, 1.0, 2.0, 1e-7};
	for (size_t i = 0; i < sizeof bad_eps / sizeof bad_eps[0]; i++) {
		mt_metrics_opts_init(&o);
		o.approx_eps = bad_eps[i];
		assert_int_equal(mt_metrics_compute(&r, e, 2, &o, &err), MT_EINVAL);
		assert_null(r);
		assert_non_null(strstr(err.msg, "approx eps"));
	}
	mt_metrics_opts_init(&o);
	o.approx_eps = 0.1;
	o.approx_delta = 1.5;
	assert_int_equal(mt_metrics_compute(&r, e, 2, &o, &err), MT_EINVAL);
	assert_non_null(strstr(err.msg, "delta"));
	o.approx_delta = 0;
	o.sample_k = 2;
	assert_int_equal(mt_metrics_compute(&r, e, 2, &o, &err), MT_EINVAL);
	assert_non_null(strstr(err.msg, "exclude"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diamond),
		cmocka_unit_test(test_chain_shortcut_and_islands),
		cmocka_unit_test(test_random_graphs),
		cmocka_unit_test(test_small_and_json),
		cmocka_unit_test(test_formula_and_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
