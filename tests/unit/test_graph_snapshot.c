/* Engine snapshots (meshtrust/snapshot.h): an engine borrowed from its
 * image answers every query exactly as the engine it was encoded from, and
 * a truncated, re-versioned or corrupted image is refused (or, where a flip
 * still spells a valid engine, is safe to query: the CLI's checksum refuses
 * those, tests/integration/test_snapshot.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meshtrust/engine.h"
#include "meshtrust/snapshot.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

static const double decay[] = {1.0, 1.0, 0.5, 0.25, 0.125};
static const char *const scopes[] = {"global", "coop:food", "coop:zed"};

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

typedef struct graph {
	char (*ids)[48];
	mt_edge_in *edges;
	size_t n_ids, n_edges;
} graph;

/* A random multi-scope graph with none/limited/full edges and expiries. */
static void make_graph(graph *g, size_t n, size_t m, uint64_t seed)
{
	uint64_t s = seed * 2654435761u + 1;
	g->n_ids = n;
	g->ids = calloc(n, sizeof *g->ids);
	g->edges = calloc(m, sizeof *g->edges);
	for (size_t i = 0; i < n; i++)
		snprintf(g->ids[i], sizeof g->ids[i], "N%05zu-%llu", i, (unsigned long long)(rng(&s) % 97));
	size_t k = 0;
	for (size_t tries = 0; k < m && tries < m * 20; tries++) {
		size_t a = rng(&s) % n, b = rng(&s) % n;
		const char *sc = scopes[rng(&s) % 3];
		if (a == b)
			continue;
		int dup = 0;
		for (size_t j = 0; j < k && !dup; j++)
			dup = g->edges[j].src == g->ids[a] && g->edges[j].dst == g->ids[b] &&
			      strcmp(g->edges[j].scope, sc) == 0;
		if (dup)
			continue;
		mt_edge_in *e = &g->edges[k++];
		e->src = g->ids[a];
		e->dst = g->ids[b];
		e->scope = sc;
		unsigned r = (unsigned)(rng(&s) % 10);
		e->level = r == 0 ? MT_LEVEL_NONE : r < 4 ? MT_LEVEL_LIMITED : MT_LEVEL_FULL;
		e->score = (uint16_t)(1 + rng(&s) % 1000);
		e->exp = rng(&s) % 4 == 0 ? (int64_t)(1000 + rng(&s) % 2000) : 0;
	}
	g->n_edges = k;
}

static void free_graph(graph *g)
{
	free(g->ids);
	free(g->edges);
}

/* An 8-aligned copy of an image (as mmap gives). */
static void *aligned_copy(const unsigned char *p, size_t len)
{
	void *q = NULL;
	assert_int_equal(posix_memalign(&q, 64, len ? len : 8), 0);
	memcpy(q, p, len);
	return q;
}

static int released;
static void on_release(void *ctx)
{
	released++;
	free(ctx);
}

static void assert_same_results(const mt_trust_result *a, const mt_trust_result *b)
{
	assert_int_equal(a->count, b->count);
	for (size_t i = 0; i < a->count; i++) {
		const mt_trust_entry *x = &a->entries[i], *y = &b->entries[i];
		assert_int_equal(x->node, y->node);
		assert_string_equal(x->id, y->id);
		assert_true(x->score == y->score); /* bit for bit */
		assert_int_equal(x->level, y->level);
		assert_int_equal(x->hops, y->hops);
		assert_int_equal(x->via, y->via);
		assert_string_equal(x->via_id, y->via_id);
	}
}

/* Every viewpoint, every scope, two times and two depths: equal answers and
 * equal paths (or the same why-not) to a sample of targets. */
static void assert_same_engine(const mt_engine *a, const mt_engine *b, const graph *g)
{
	assert_int_equal(mt_engine_node_count(a), mt_engine_node_count(b));
	size_t na = 0, nb = 0;
	const char *const *sa = mt_engine_scopes(a, &na), *const *sb = mt_engine_scopes(b, &nb);
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++)
		assert_string_equal(sa[i], sb[i]);
	mt_engine_stats x, y;
	mt_engine_stats_get(a, &x);
	mt_engine_stats_get(b, &y);
	assert_int_equal(x.edges, y.edges);
	assert_int_equal(x.adjacency_bytes, y.adjacency_bytes);
	for (uint32_t v = 0; v < mt_engine_node_count(a); v++) {
		assert_string_equal(mt_engine_node_id(a, v), mt_engine_node_id(b, v));
		assert_int_equal(mt_engine_node_index(b, mt_engine_node_id(a, v)), v);
		for (size_t s = 0; s < 3; s++)
			for (int t = 0; t < 2; t++) {
				mt_trust_query q = {mt_engine_node_id(a, v), scopes[s], t ? 2500 : 500, t ? 8 : 3, decay, 5};
				mt_trust_result *ra = NULL, *rb = NULL;
				mt_error err = {0};
				assert_int_equal(mt_engine_trust(&ra, a, &q, NULL, &err), 0);
				assert_int_equal(mt_engine_trust(&rb, b, &q, NULL, &err), 0);
				assert_same_results(ra, rb);
				mt_trust_result_free(ra);
				mt_trust_result_free(rb);
				if (v % 7 == 0) {
					const char *target = g->ids[(v * 13 + s) % g->n_ids];
					mt_trust_path *pa = NULL, *pb = NULL;
					assert_int_equal(mt_engine_path(&pa, a, &q, target, &err), 0);
					assert_int_equal(mt_engine_path(&pb, b, &q, target, &err), 0);
					assert_int_equal(pa->found, pb->found);
					assert_int_equal(pa->why, pb->why);
					assert_string_equal(pa->message, pb->message);
					assert_int_equal(pa->n_edges, pb->n_edges);
					for (size_t k = 0; k < pa->n_edges; k++) {
						assert_int_equal(pa->edges[k].to, pb->edges[k].to);
						assert_int_equal(pa->edges[k].exp, pb->edges[k].exp);
						assert_int_equal(pa->edges[k].score, pb->edges[k].score);
					}
					mt_trust_path_free(pa);
					mt_trust_path_free(pb);
				}
			}
	}
}

static void test_round_trip_random(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 40; seed++) {
		graph g;
		make_graph(&g, 8 + seed % 40, 20 + seed * 7, seed);
		mt_engine *e = NULL, *b = NULL;
		mt_error err = {0};
		assert_int_equal(mt_engine_new(&e, g.edges, g.n_edges, &err), 0);
		unsigned char *img = NULL;
		size_t len = 0;
		assert_int_equal(mt_engine_snapshot_encode(e, &img, &len, &err), 0);
		assert_int_equal(len % 8, 0);
		void *copy = aligned_copy(img, len);
		released = 0;
		assert_int_equal(mt_engine_snapshot_borrow(&b, copy, len, on_release, copy, &err), 0);
		assert_same_engine(e, b, &g);
		/* a borrowed engine encodes to the same bytes */
		unsigned char *img2 = NULL;
		size_t len2 = 0;
		assert_int_equal(mt_engine_snapshot_encode(b, &img2, &len2, &err), 0);
		assert_int_equal(len, len2);
		assert_memory_equal(img, img2, len);
		free(img2);
		mt_engine_free(b);
		assert_int_equal(released, 1); /* freed once, through the owner's callback */
		mt_engine_free(e);
		free(img);
		free_graph(&g);
	}
}

static void test_empty_engine(void **state)
{
	(void)state;
	mt_engine *e = NULL, *b = NULL;
	mt_error err = {0};
	assert_int_equal(mt_engine_new(&e, NULL, 0, &err), 0);
	unsigned char *img = NULL;
	size_t len = 0;
	assert_int_equal(mt_engine_snapshot_encode(e, &img, &len, &err), 0);
	void *copy = aligned_copy(img, len);
	assert_int_equal(mt_engine_snapshot_borrow(&b, copy, len, NULL, NULL, &err), 0);
	assert_int_equal(mt_engine_node_count(b), 0);
	mt_trust_query q = {"X", "global", 0, 3, decay, 5};
	mt_trust_result *r = NULL;
	assert_int_equal(mt_engine_trust(&r, b, &q, NULL, &err), 0);
	assert_int_equal(r->count, 0);
	mt_trust_result_free(r);
	mt_engine_free(b);
	free(copy);
	mt_engine_free(e);
	free(img);
}

/* Query an accepted (possibly altered) image everywhere: must not crash. */
static void query_all(const mt_engine *b)
{
	for (uint32_t v = 0; v < mt_engine_node_count(b); v++)
		for (size_t s = 0; s < 3; s++) {
			mt_trust_query q = {mt_engine_node_id(b, v), scopes[s], 1500, 8, decay, 5};
			mt_trust_result *r = NULL;
			mt_error err = {0};
			assert_int_equal(mt_engine_trust(&r, b, &q, NULL, &err), 0);
			mt_trust_result_free(r);
		}
}

static void test_refusals(void **state)
{
	(void)state;
	graph g;
	make_graph(&g, 30, 150, 99);
	mt_engine *e = NULL, *b = NULL;
	mt_error err = {0};
	assert_int_equal(mt_engine_new(&e, g.edges, g.n_edges, &err), 0);
	unsigned char *img = NULL;
	size_t len = 0;
	assert_int_equal(mt_engine_snapshot_encode(e, &img, &len, &err), 0);

	/* every truncation (torn file) is refused, and release is not called */
	released = 0;
	for (size_t cut = 0; cut < len; cut++) {
		void *copy = aligned_copy(img, cut);
		assert_int_not_equal(mt_engine_snapshot_borrow(&b, copy, cut, on_release, NULL, &err), 0);
		assert_null(b);
		free(copy);
	}
	assert_int_equal(released, 0);
	/* trailing bytes, wrong magic, version, byte order */
	unsigned char *longer = calloc(1, len + 8);
	memcpy(longer, img, len);
	void *copy = aligned_copy(longer, len + 8);
	assert_int_not_equal(mt_engine_snapshot_borrow(&b, copy, len + 8, NULL, NULL, &err), 0);
	free(copy);
	free(longer);
	const size_t at[] = {0, 8, 12};
	for (size_t i = 0; i < 3; i++) {
		copy = aligned_copy(img, len);
		((unsigned char *)copy)[at[i]] ^= 1;
		assert_int_not_equal(mt_engine_snapshot_borrow(&b, copy, len, NULL, NULL, &err), 0);
		if (i == 1)
			assert_non_null(strstr(err.msg, "version"));
		free(copy);
	}
	/* unaligned */
	unsigned char *raw = malloc(len + 1);
	memcpy(raw + 1, img, len);
	assert_int_not_equal(mt_engine_snapshot_borrow(&b, raw + 1, len, NULL, NULL, &err), 0);
	free(raw);

	/* every single-bit flip: refused, or a valid engine that queries safely
	 * (a score or an expiry changed: the file checksum is what refuses it) */
	size_t refused = 0, accepted = 0;
	for (size_t pos = 0; pos < len; pos++)
		for (int bit = 0; bit < 8; bit += 3) {
			copy = aligned_copy(img, len);
			((unsigned char *)copy)[pos] ^= (unsigned char)(1u << bit);
			if (mt_engine_snapshot_borrow(&b, copy, len, NULL, NULL, &err) == 0) {
				accepted++;
				query_all(b);
				mt_engine_free(b);
			} else {
				refused++;
			}
			free(copy);
		}
	assert_true(refused > accepted);
	mt_engine_free(e);
	free(img);
	free_graph(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_random),
		cmocka_unit_test(test_empty_engine),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
