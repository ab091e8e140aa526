/* Own cases for the metrics module: edge selection, cap math, determinism,
 * sampling, Brandes against the definition, top-N, JSON and errors. */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/metrics.h"
#include "testutil.h"

#define TOLERANCE 1e-9

static mt_edge_in edge(const char *src, const char *dst, uint16_t score)
{
	mt_edge_in e = {.src = src,
	                .dst = dst,
	                .scope = "global",
	                .level = MT_LEVEL_FULL,
	                .score = score,
	                .exp = 0};
	return e;
}

static mt_metrics_result *compute(const mt_edge_in *edges, size_t n, const mt_metrics_opts *opts)
{
	mt_metrics_result *result = NULL;
	mt_error err = {0};
	int rc = mt_metrics_compute(&result, edges, n, opts, &err);
	if (rc != 0)
		fail_msg("compute failed (%d): %s", rc, err.msg);
	assert_non_null(result);
	return result;
}

static const mt_metrics_node *node_of(const mt_metrics_result *result, const char *id)
{
	for (size_t i = 0; i < result->node_count; i++)
		if (strcmp(result->nodes[i].node_id, id) == 0)
			return &result->nodes[i];
	fail_msg("node %s not in result", id);
	return NULL;
}

static void assert_all_zero(const mt_metrics_result *result)
{
	assert_int_equal(result->node_count, 0);
	assert_true(result->total_inbound_trust == 0.0);
	assert_true(result->gini == 0.0);
	assert_true(result->top_10_percent_share == 0.0);
	assert_true(result->betweenness.max == 0.0);
	assert_true(result->betweenness.mean == 0.0);
	assert_true(result->betweenness.std_dev == 0.0);
}

static void test_empty_scope(void **state)
{
	(void)state;
	mt_metrics_result *result = compute(NULL, 0, NULL);
	assert_all_zero(result);
	assert_string_equal(result->scope, "global");
	char *json = NULL;
	assert_int_equal(mt_metrics_result_json(&json, result, 1, 0.7), 0);
	json_error_t jerr;
	json_t *root = json_loads(json, 0, &jerr);
	assert_non_null(root);
	assert_int_equal(json_integer_value(json_object_get(root, "node_count")), 0);
	assert_true(json_is_null(json_object_get(root, "alert")));
	assert_int_equal(json_array_size(json_object_get(root, "nodes")), 0);
	json_decref(root);
	free(json);
	mt_metrics_result_free(result);

	/* Edges exist, but none in the asked scope. */
	mt_edge_in edges[] = {edge("a", "b", 1000), edge("b", "c", 1000)};
	mt_metrics_opts opts;
	mt_metrics_opts_init(&opts);
	opts.scope = "coop:nobody";
	result = compute(edges, 2, &opts);
	assert_all_zero(result);
	assert_string_equal(result->scope, "coop:nobody");
	mt_metrics_result_free(result);
}

static void test_scope_filtering(void **state)
{
	(void)state;
	mt_edge_in edges[] = {
	    edge("a", "b", 1000),
	    edge("b", "c", 500),
	    edge("c", "a", 1000),
	    edge("x", "a", 1000),
	};
	edges[0].scope = "coop:x";
	edges[1].scope = "coop:x";
	edges[2].scope = NULL; /* no scope means global */
	edges[3].scope = "coop:xy";
	mt_metrics_opts opts;
	mt_metrics_opts_init(&opts);
	opts.scope = "coop:x";
	mt_metrics_result *result = compute(edges, 4, &opts);
	assert_int_equal(result->node_count, 3);
	assert_int_equal(result->edge_count, 2);
	assert_string_equal(result->nodes[0].node_id, "a");
	assert_string_equal(result->nodes[1].node_id, "b");
	assert_string_equal(result->nodes[2].node_id, "c");
	assert_true(result->nodes[0].inbound_trust == 0.0);
	assert_true(result->nodes[1].inbound_trust == 1.0);
	assert_true(result->nodes[2].inbound_trust == 0.5);
	/* a -> b -> c: b is on the one path of length 2. */
	assert_true(result->nodes[1].betweenness == 1.0);
	assert_true(result->total_inbound_trust == 1.5);
	mt_metrics_result_free(result);

	opts.scope = NULL; /* global */
	result = compute(edges, 4, &opts);
	assert_int_equal(result->node_count, 2);
	assert_true(node_of(result, "a")->inbound_trust == 1.0);
	assert_true(node_of(result, "c")->inbound_trust == 0.0);
	mt_metrics_result_free(result);
}

static void test_expired_and_none_excluded(void **state)
{
	(void)state;
	mt_edge_in edges[] = {
	    edge("a", "b", 1000), /* never expires */
	    edge("a", "c", 1000), /* expires exactly at T: excluded */
	    edge("a", "d", 1000), /* expires after T: counts */
	    edge("a", "e", 1000), /* level none: ignored */
	    edge("f", "b", 400),  /* limited counts */
	};
	edges[1].exp = 1000;
	edges[2].exp = 1001;
	edges[3].level = MT_LEVEL_NONE;
	edges[4].level = MT_LEVEL_LIMITED;
	mt_metrics_opts opts;
	mt_metrics_opts_init(&opts);
	opts.at = 1000;
	mt_metrics_result *result = compute(edges, 5, &opts);
	assert_int_equal(result->node_count, 4); /* a b d f */
	assert_string_equal(result->nodes[0].node_id, "a");
	assert_string_equal(result->nodes[1].node_id, "b");
	assert_string_equal(result->nodes[2].node_id, "d");
	assert_string_equal(result->nodes[3].node_id, "f");
	assert_true(result->nodes[1].inbound_trust == 1.4);
	assert_true(result->nodes[2].inbound_trust == 1.0);
	assert_true(fabs(result->total_inbound_trust - 2.4) < TOLERANCE);
	mt_metrics_result_free(result);

	/* One second earlier the expiring edge still counts. */
	opts.at = 999;
	result = compute(edges, 5, &opts);
	assert_int_equal(result->node_count, 5);
	assert_true(node_of(result, "c")->inbound_trust == 1.0);
	mt_metrics_result_free(result);
}

static void test_members_restriction(void **state)
{
	(void)state;
	mt_edge_in edges[] = {
	    edge("a", "b", 1000), edge("b", "c", 1000), edge("c", "d", 1000),
	    edge("d", "a", 1000), edge("z", "a", 1000),
	};
	const char *members[] = {"a", "b", "c", "y"};
	mt_metrics_opts opts;
	mt_metrics_opts_init(&opts);
	opts.members = members;
	opts.member_count = 4;
	mt_metrics_result *result = compute(edges, 5, &opts);
	/* Only a->b and b->c are among members; y has no edge. */
	assert_int_equal(result->node_count, 3);
	assert_int_equal(result->edge_count, 2);
	assert_true(node_of(result, "a")->inbound_trust == 0.0);
	assert_true(node_of(result, "b")->betweenness == 1.0);
	mt_metrics_result_free(result);

	/* Without the roster the cycle closes and z joins. */
	opts.members = NULL;
	opts.member_count = 0;
	result = compute(edges, 5, &opts);
	assert_int_equal(result->node_count, 5);
	assert_true(node_of(result, "a")->inbound_trust == 2.0);
	mt_metrics_result_free(result);
}

static void test_cap_math(void **state)
{
	(void)state;
	mt_edge_in edges[] = {
	    edge("p", "x", 500),
	    edge("q", "x", 1000),
	    edge("r", "x", 250),
	    edge("s", "x", 750),
	};
	mt_metrics_opts opts;
	mt_metrics_opts_init(&opts);
	mt_metrics_result *result = compute(edges, 4, &opts);
	assert_true(node_of(result, "x")->inbound_trust == 2.5); /* cap off */
	mt_metrics_result_free(result);

	/* cap 1, d = 0.25: sorted 1000, 750, 500, 250 ->
	 * 1 + 0.75*0.25 + 0.5*0.0625 + 0.25*0.015625 */
	opts.cap = 1;
	opts.cap_decay = 0.25;
	result = compute(edges, 4, &opts);
	double expected = 1.0 + 0.75 * 0.25 + 0.5 * 0.0625 + 0.25 * 0.015625;
	assert_true(fabs(node_of(result, "x")->inbound_trust - expected) < TOLERANCE);
	mt_metrics_result_free(result);

	/* cap at least the in-degree: no effect. */
	opts.cap = 4;
	result = compute(edges, 4, &opts);
	assert_true(fabs(node_of(result, "x")->inbound_trust - 2.5) < TOLERANCE);
	mt_metrics_result_free(result);

	/* cap 3, default decay 0.5: only the 250 is halved. */
	mt_metrics_opts_init(&opts);
	opts.cap = 3;
	result = compute(edges, 4, &opts);
	assert_true(fabs(node_of(result, "x")->inbound_trust - 2.375) < TOLERANCE);
	/* gini of {0,0,0,0,2.375}: 2*5*2.375/(5*2.375) - 6/5 = 0.8 */
	assert_true(fabs(result->gini - 0.8) < TOLERANCE);
	assert_true(fabs(result->top_10_percent_share - 1.0) < TOLERANCE);
	mt_metrics_result_free(result);

	/* Bad decay with the cap on is refused, naming the value. */
	opts.cap_decay = 0.0;
	mt_metrics_result *bad = (mt_metrics_result *)&opts; /* must be reset to NULL */
	mt_error err = {0};
	assert_int_equal(mt_metrics_compute(&bad, edges, 4, &opts, &err), MT_EINVAL);
	assert_null(bad);
	assert_non_null(strstr(err.msg, "cap_decay"));
	opts.cap_decay = 1.5;
	assert_int_equal(mt_metrics_compute(&bad, edges, 4, &opts, NULL), MT_EINVAL);
}

static void test_duplicates_and_self_loops(void **state)
{
	(void)state;
	mt_edge_in edges[] = {
	    edge("a", "b", 300),  edge("a", "b", 900),  edge("a", "b", 600),
	    edge("b", "b", 1000), edge("b", "c", 1000), edge("q", "q", 1000),
	};
	mt_metrics_result *result = compute(edges, 6, NULL);
	assert_int_equal(result->node_count, 3); /* q only has a self-loop */
	assert_int_equal(result->edge_count, 2);
	assert_true(node_of(result, "b")->inbound_trust == 0.9);
	/* A duplicate pair is one path, not three. */
	assert_true(node_of(result, "b")->betweenness == 1.0);
	mt_metrics_result_free(result);
}

/* A small deterministic PRNG for building test graphs. */
static uint64_t next_random(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

typedef struct test_graph {
	size_t node_count;
	size_t edge_count;
	char (*names)[24];
	mt_edge_in *edges;
} test_graph;

static test_graph random_graph(size_t node_count, size_t edge_count, uint64_t seed)
{
	test_graph g = {.node_count = node_count, .edge_count = edge_count};
	g.names = calloc(node_count, sizeof *g.names);
	g.edges = calloc(edge_count, sizeof *g.edges);
	assert_non_null(g.names);
	assert_non_null(g.edges);
	for (size_t i = 0; i < node_count; i++)
		snprintf(g.names[i], sizeof g.names[i], "n%04zu", i);
	uint64_t state = seed;
	for (size_t i = 0; i < edge_count; i++) {
		size_t src = next_random(&state) % node_count;
		size_t dst = next_random(&state) % node_count;
		if (dst == src)
			dst = (dst + 1) % node_count;
		g.edges[i] =
		    edge(g.names[src], g.names[dst], (uint16_t)(1 + next_random(&state) % 1000));
	}
	return g;
}

static void free_graph(test_graph *g)
{
	free(g->names);
	free(g->edges);
}

static void assert_identical(const mt_metrics_result *a, const mt_metrics_result *b)
{
	assert_int_equal(a->node_count, b->node_count);
	assert_memory_equal(&a->gini, &b->gini, sizeof a->gini);
	assert_memory_equal(&a->betweenness, &b->betweenness, sizeof a->betweenness);
	assert_memory_equal(&a->total_inbound_trust, &b->total_inbound_trust, sizeof(double));
	for (size_t i = 0; i < a->node_count; i++) {
		assert_string_equal(a->nodes[i].node_id, b->nodes[i].node_id);
		assert_memory_equal(&a->nodes[i].betweenness, &b->nodes[i].betweenness,
		                    sizeof(double));
		assert_memory_equal(&a->nodes[i].inbound_trust, &b->nodes[i].inbound_trust,
		                    sizeof(double));
	}
}

static void test_deterministic_across_threads(void **state)
{
	(void)state;
	test_graph g = random_graph(300, 1500, 42);
	mt_metrics_opts opts;
	mt_metrics_opts_init(&opts);
	opts.threads = 1;
	mt_metrics_result *one = compute(g.edges, g.edge_count, &opts);
	opts.threads = 2;
	mt_metrics_result *two = compute(g.edges, g.edge_count, &opts);
	opts.threads = 3;
	mt_metrics_result *three = compute(g.edges, g.edge_count, &opts);
	assert_true(one->betweenness.max > 0.0);
	assert_identical(one, two);
	assert_identical(one, three);

	/* The input order does not matter either. */
	for (size_t i = g.edge_count - 1; i > 0; i--) {
		mt_edge_in tmp = g.edges[i];
		size_t j = (i * 7919) % (i + 1);
		g.edges[i] = g.edges[j];
		g.edges[j] = tmp;
	}
	opts.threads = 2;
	mt_metrics_result *shuffled = compute(g.edges, g.edge_count, &opts);
	assert_identical(one, shuffled);

	mt_metrics_result_free(one);
	mt_metrics_result_free(two);
	mt_metrics_result_free(three);
	mt_metrics_result_free(shuffled);
	free_graph(&g);
}

/* Betweenness straight from the definition: for every ordered pair (s, t)
 * and every v outside {s, t}, add sigma_sv * sigma_vt / sigma_st when v lies
 * on a shortest s-t path. All-pairs BFS; fine for tiny graphs. */
static void reference_betweenness(double *out, const mt_metrics_result *result,
                                  const mt_edge_in *edges, size_t edge_count)
{
	size_t n = result->node_count;
	int *dist = malloc(n * n * sizeof *dist);
	double *sigma = calloc(n * n, sizeof *sigma);
	char *adjacent = calloc(n * n, 1);
	size_t *queue = malloc(n * sizeof *queue);
	assert_non_null(dist);
	assert_non_null(sigma);
	assert_non_null(adjacent);
	assert_non_null(queue);
	for (size_t i = 0; i < edge_count; i++) {
		size_t u = (size_t)(node_of(result, edges[i].src) - result->nodes);
		size_t v = (size_t)(node_of(result, edges[i].dst) - result->nodes);
		if (u != v)
			adjacent[u * n + v] = 1;
	}
	for (size_t s = 0; s < n; s++) {
		for (size_t v = 0; v < n; v++)
			dist[s * n + v] = -1;
		dist[s * n + s] = 0;
		sigma[s * n + s] = 1.0;
		size_t head = 0, tail = 0;
		queue[tail++] = s;
		while (head < tail) {
			size_t v = queue[head++];
			for (size_t w = 0; w < n; w++) {
				if (!adjacent[v * n + w])
					continue;
				if (dist[s * n + w] < 0) {
					dist[s * n + w] = dist[s * n + v] + 1;
					queue[tail++] = w;
				}
				if (dist[s * n + w] == dist[s * n + v] + 1)
					sigma[s * n + w] += sigma[s * n + v];
			}
		}
	}
	for (size_t v = 0; v < n; v++) {
		out[v] = 0.0;
		for (size_t s = 0; s < n; s++)
			for (size_t t = 0; t < n; t++) {
				if (s == t || s == v || t == v || dist[s * n + t] < 0)
					continue;
				if (dist[s * n + v] >= 0 && dist[v * n + t] >= 0 &&
				    dist[s * n + v] + dist[v * n + t] == dist[s * n + t])
					out[v] +=
					    sigma[s * n + v] * sigma[v * n + t] / sigma[s * n + t];
			}
	}
	free(dist);
	free(sigma);
	free(adjacent);
	free(queue);
}

static void test_brandes_matches_definition(void **state)
{
	(void)state;
	/* Dense-ish and sparse graphs: many tied shortest paths, and pieces
	 * that do not reach each other. */
	const size_t shapes[][2] = {{12, 40}, {30, 60}, {40, 400}, {60, 90}};
	for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
		test_graph g = random_graph(shapes[k][0], shapes[k][1], 1000 + k);
		mt_metrics_opts opts;
		mt_metrics_opts_init(&opts);
		opts.threads = 2;
		mt_metrics_result *result = compute(g.edges, g.edge_count, &opts);
		double *expected = malloc(result->node_count * sizeof *expected);
		assert_non_null(expected);
		reference_betweenness(expected, result, g.edges, g.edge_count);
		double total = 0.0, max = 0.0;
		for (size_t v = 0; v < result->node_count; v++) {
			double got = result->nodes[v].betweenness;
			if (fabs(got - expected[v]) > TOLERANCE * fmax(1.0, expected[v]))
				fail_msg("graph %zu node %s: betweenness %.17g, definition %.17g",
				         k, result->nodes[v].node_id, got, expected[v]);
			total += expected[v];
			max = fmax(max, expected[v]);
		}
		assert_true(max > 0.0);
		double mean = total / (double)result->node_count, squares = 0.0;
		for (size_t v = 0; v < result->node_count; v++)
			squares += (expected[v] - mean) * (expected[v] - mean);
		assert_true(fabs(result->betweenness.max - max) < TOLERANCE * max);
		assert_true(fabs(result->betweenness.mean - mean) < TOLERANCE * fmax(1.0, mean));
		assert_true(fabs(result->betweenness.std_dev -
		                 sqrt(squares / (double)result->node_count)) < 1e-7);
		free(expected);
		mt_metrics_result_free(result);
		free_graph(&g);
	}
}

static void test_sampling(void **state)
{
	(void)state;
	test_graph g = random_graph(200, 900, 7);
	mt_metrics_opts opts;
	mt_metrics_opts_init(&opts);
	mt_metrics_result *exact = compute(g.edges, g.edge_count, &opts);
	assert_int_equal(exact->sampled, 0);
	assert_int_equal(exact->betweenness_sources, exact->node_count);

	/* K >= n is the exact computation, bit for bit. */
	opts.sample_k = (uint32_t)exact->node_count;
	opts.seed = 99;
	mt_metrics_result *all = compute(g.edges, g.edge_count, &opts);
	assert_int_equal(all->sampled, 0);
	assert_identical(exact, all);
	opts.sample_k = 100000;
	mt_metrics_result *more = compute(g.edges, g.edge_count, &opts);
	assert_identical(exact, more);

	/* K < n: flagged, reproducible with the seed, and a different seed
	 * draws other sources. */
	opts.sample_k = 50;
	opts.threads = 1;
	mt_metrics_result *s1 = compute(g.edges, g.edge_count, &opts);
	opts.threads = 2;
	mt_metrics_result *s2 = compute(g.edges, g.edge_count, &opts);
	assert_int_equal(s1->sampled, 1);
	assert_int_equal(s1->betweenness_sources, 50);
	assert_identical(s1, s2);
	opts.seed = 100;
	mt_metrics_result *s3 = compute(g.edges, g.edge_count, &opts);
	int differs = 0;
	for (size_t i = 0; i < s1->node_count; i++)
		differs |= s1->nodes[i].betweenness != s3->nodes[i].betweenness;
	assert_true(differs);
	/* Inbound trust and gini never depend on sampling. */
	assert_memory_equal(&s1->gini, &exact->gini, sizeof(double));

	mt_metrics_result_free(exact);
	mt_metrics_result_free(all);
	mt_metrics_result_free(more);
	mt_metrics_result_free(s1);
	mt_metrics_result_free(s2);
	mt_metrics_result_free(s3);
	free_graph(&g);

	/* On a directed ring every source adds the same total, so the scaled
	 * sample gives the exact mean: (n-1)(n-2)/2 per node. */
	enum { RING = 40 };
	char names[RING][8];
	mt_edge_in ring[RING];
	for (int i = 0; i < RING; i++)
		snprintf(names[i], sizeof names[i], "r%02d", i);
	for (int i = 0; i < RING; i++)
		ring[i] = edge(names[i], names[(i + 1) % RING], 1000);
	mt_metrics_opts_init(&opts);
	opts.sample_k = 7;
	opts.seed = 3;
	mt_metrics_result *sampled = compute(ring, RING, &opts);
	assert_true(fabs(sampled->betweenness.mean - (RING - 1) * (RING - 2) / 2.0) < 1e-9);
	mt_metrics_result_free(sampled);
}

static void test_top_helpers(void **state)
{
	(void)state;
	/* inbound: c 2, b 1, d 1, e 1 (ties by id), a 0 */
	mt_edge_in edges[] = {
	    edge("a", "c", 1000), edge("b", "c", 1000), edge("a", "b", 1000),
	    edge("c", "d", 1000), edge("d", "e", 1000),
	};
	mt_metrics_result *result = compute(edges, 5, NULL);
	const mt_metrics_node *top[8];
	size_t k = mt_metrics_top_by_inbound(result, 3, top);
	assert_int_equal(k, 3);
	assert_string_equal(top[0]->node_id, "c");
	assert_string_equal(top[1]->node_id, "b");
	assert_string_equal(top[2]->node_id, "d");
	k = mt_metrics_top_by_inbound(result, 8, top);
	assert_int_equal(k, 5);
	assert_string_equal(top[3]->node_id, "e");
	assert_string_equal(top[4]->node_id, "a");
	/* betweenness: c on a->d, a->e, b->d, b->e = 4; d on a->e, b->e, c->e = 3 */
	k = mt_metrics_top_by_betweenness(result, 2, top);
	assert_int_equal(k, 2);
	assert_string_equal(top[0]->node_id, "c");
	assert_true(top[0]->betweenness == 4.0);
	assert_string_equal(top[1]->node_id, "d");
	assert_true(top[1]->betweenness == 3.0);
	assert_int_equal(mt_metrics_top_by_betweenness(result, 0, top), 0);
	mt_metrics_result_free(result);

	/* Larger: the helper agrees with a full sort. */
	test_graph g = random_graph(150, 500, 11);
	result = compute(g.edges, g.edge_count, NULL);
	const mt_metrics_node *best[20];
	k = mt_metrics_top_by_betweenness(result, 20, best);
	assert_int_equal(k, 20);
	for (size_t i = 1; i < k; i++) {
		assert_true(best[i - 1]->betweenness > best[i]->betweenness ||
		            (best[i - 1]->betweenness == best[i]->betweenness &&
		             strcmp(best[i - 1]->node_id, best[i]->node_id) < 0));
	}
	size_t better_than_last = 0;
	for (size_t v = 0; v < result->node_count; v++)
		better_than_last += result->nodes[v].betweenness > best[k - 1]->betweenness;
	assert_true(better_than_last <= k - 1);
	mt_metrics_result_free(result);
	free_graph(&g);
}

static void test_json(void **state)
{
	(void)state;
	const char *odd = "we\"ird\\id\x01";
	mt_edge_in edges[] = {edge("a", "hub", 1000), edge("b", "hub", 1000),
	                      edge(odd, "hub", 1000)};
	mt_metrics_opts opts;
	mt_metrics_opts_init(&opts);
	opts.scope = "topic:\"q\"";
	for (size_t k = 0; k < 3; k++)
		edges[k].scope = opts.scope;
	mt_metrics_result *result = compute(edges, 3, &opts);
	/* gini of {0,0,0,3} = 2*4*3/(4*3) - 5/4 = 0.75 */
	assert_true(fabs(result->gini - 0.75) < TOLERANCE);

	char *text = NULL;
	assert_int_equal(mt_metrics_result_json(&text, result, 1, 0.7), 0);
	json_error_t jerr;
	json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		fail_msg("bad JSON (%s): %s", jerr.text, text);
	assert_string_equal(json_string_value(json_object_get(root, "scope")), "topic:\"q\"");
	assert_int_equal(json_integer_value(json_object_get(root, "node_count")), 4);
	assert_true(json_real_value(json_object_get(root, "gini")) == result->gini);
	assert_true(json_number_value(json_object_get(root, "total_inbound_trust")) == 3.0);
	assert_true(json_number_value(json_object_get(root, "top_10_percent_share")) == 1.0);
	json_t *bc = json_object_get(root, "betweenness");
	assert_non_null(json_object_get(bc, "max"));
	assert_non_null(json_object_get(bc, "mean"));
	assert_non_null(json_object_get(bc, "std_dev"));
	const char *alert = json_string_value(json_object_get(root, "alert"));
	assert_non_null(alert);
	/* the one wording of the alert (mt_policy_gini_alert) */
	assert_non_null(strstr(alert, "is too centralised: gini 0.75 > policy.maxGini 0.70"));
	json_t *nodes = json_object_get(root, "nodes");
	assert_int_equal(json_array_size(nodes), 4);
	int found_odd = 0;
	size_t i;
	json_t *item;
	json_array_foreach(nodes, i, item)
	{
		const char *id = json_string_value(json_object_get(item, "node_id"));
		assert_string_equal(id, result->nodes[i].node_id);
		found_odd |= strcmp(id, odd) == 0;
		assert_true(json_number_value(json_object_get(item, "inbound_trust")) ==
		            result->nodes[i].inbound_trust);
	}
	assert_true(found_odd);
	json_decref(root);
	free(text);

	/* At or under the threshold: alert null; no nodes without per_node. */
	assert_int_equal(mt_metrics_result_json(&text, result, 0, 0.75), 0);
	root = json_loads(text, 0, &jerr);
	assert_non_null(root);
	assert_true(json_is_null(json_object_get(root, "alert")));
	assert_null(json_object_get(root, "nodes"));
	json_decref(root);
	free(text);

	/* %.17g round-trips a double that %g would not. */
	mt_edge_in thirds[] = {edge("a", "b", 1), edge("c", "b", 2), edge("d", "e", 3)};
	mt_metrics_result *small = compute(thirds, 3, NULL);
	assert_int_equal(mt_metrics_result_json(&text, small, 1, 1.0), 0);
	root = json_loads(text, 0, &jerr);
	assert_non_null(root);
	assert_true(json_real_value(json_object_get(root, "gini")) == small->gini);
	assert_true(json_real_value(json_object_get(root, "top_10_percent_share")) ==
	            small->top_10_percent_share);
	json_decref(root);
	free(text);
	mt_metrics_result_free(small);

	assert_int_equal(mt_metrics_result_json(NULL, result, 0, 0.7), MT_EINVAL);
	text = (char *)"x";
	assert_int_equal(mt_metrics_result_json(&text, NULL, 0, 0.7), MT_EINVAL);
	assert_null(text);
	mt_metrics_result_free(result);
}

static void test_errors(void **state)
{
	(void)state;
	mt_error err = {0};
	assert_int_equal(mt_metrics_compute(NULL, NULL, 0, NULL, &err), MT_EINVAL);
	mt_metrics_result *result = NULL;
	assert_int_equal(mt_metrics_compute(&result, NULL, 3, NULL, &err), MT_EINVAL);
	assert_null(result);

	mt_edge_in edges[] = {edge("a", "b", 1000), edge(NULL, "c", 1000)};
	memset(&err, 0, sizeof err);
	assert_int_equal(mt_metrics_compute(&result, edges, 2, NULL, &err), MT_EINVAL);
	assert_null(result);
	assert_int_equal(err.code, MT_EINVAL);
	assert_non_null(strstr(err.msg, "edge 1"));

	mt_edge_in bad_score[] = {edge("a", "b", 1001)};
	assert_int_equal(mt_metrics_compute(&result, bad_score, 1, NULL, &err), MT_EINVAL);
	assert_non_null(strstr(err.msg, "1001"));
	/* A none edge's score is ignored, even 0. */
	mt_edge_in none_zero[] = {edge("a", "b", 0)};
	none_zero[0].level = MT_LEVEL_NONE;
	result = compute(none_zero, 1, NULL);
	assert_int_equal(result->node_count, 0);
	mt_metrics_result_free(result);

	const char *members[] = {"a", NULL};
	mt_metrics_opts opts;
	mt_metrics_opts_init(&opts);
	opts.members = members;
	opts.member_count = 2;
	result = NULL;
	assert_int_equal(mt_metrics_compute(&result, edges, 1, &opts, &err), MT_EINVAL);
	assert_non_null(strstr(err.msg, "member 1"));
	mt_metrics_result_free(NULL);
}

typedef struct progress_log {
	uint64_t calls;
	uint64_t last_done;
	uint64_t total;
	int went_back;
} progress_log;

static void record_progress(uint64_t done, uint64_t total, void *payload)
{
	progress_log *log = payload;
	if (done < log->last_done)
		log->went_back = 1;
	log->calls++;
	log->last_done = done;
	log->total = total;
}

static void test_progress(void **state)
{
	(void)state;
	test_graph g = random_graph(120, 400, 5);
	for (unsigned threads = 1; threads <= 2; threads++) {
		progress_log log = {0};
		mt_metrics_opts opts;
		mt_metrics_opts_init(&opts);
		opts.threads = threads;
		opts.progress = record_progress;
		opts.progress_payload = &log;
		mt_metrics_result *result = compute(g.edges, g.edge_count, &opts);
		assert_true(log.calls >= 1);
		assert_false(log.went_back);
		assert_int_equal(log.total, result->node_count);
		assert_int_equal(log.last_done, result->node_count);
		mt_metrics_result_free(result);

		opts.sample_k = 10;
		memset(&log, 0, sizeof log);
		result = compute(g.edges, g.edge_count, &opts);
		assert_int_equal(log.total, 10);
		assert_int_equal(log.last_done, 10);
		mt_metrics_result_free(result);
	}
	free_graph(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_scope),
	    cmocka_unit_test(test_scope_filtering),
	    cmocka_unit_test(test_expired_and_none_excluded),
	    cmocka_unit_test(test_members_restriction),
	    cmocka_unit_test(test_cap_math),
	    cmocka_unit_test(test_duplicates_and_self_loops),
	    cmocka_unit_test(test_deterministic_across_threads),
	    cmocka_unit_test(test_brandes_matches_definition),
	    cmocka_unit_test(test_sampling),
	    cmocka_unit_test(test_top_helpers),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_progress),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
