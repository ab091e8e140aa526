/* The node's nonce cache (src/node/node_nonce.h): replay, expiry at exactly
 * first use + ttl, peer independence, the per-peer cap, eviction by lowest ts
 * with its floor, the incremental sweep, threads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "node/node_nonce.h"

#define T0 1700000000LL
#define TTL 600

static const char *const PA = "node-a";
static const char *const PB = "node-b";

/* The i-th test nonce: 32 lower-case hex characters. */
static void nonce_of(char out[33], unsigned long long i)
{
	snprintf(out, 33, "%016llx%016llx", 0x6e6f6e6365ULL, i);
}

static node_nonces *cache(size_t cap_total, size_t cap_per_peer)
{
	node_nonces *nc = NULL;
	assert_int_equal(node__nonces_new(&nc, cap_total, cap_per_peer, TTL), 0);
	assert_non_null(nc);
	return nc;
}

static void test_fresh_then_replay(void **state)
{
	(void)state;
	node_nonces *nc = cache(1u << 20, 131072);
	char n[33];
	nonce_of(n, 1);
	assert_int_equal(node__nonces_count(nc), 0);
	assert_int_equal(node__nonce_check(nc, PA, n, T0, T0), NODE_NONCE_FRESH);
	assert_int_equal(node__nonces_count(nc), 1);
	assert_int_equal(node__nonce_check(nc, PA, n, T0, T0), NODE_NONCE_REPLAY);
	/* the request's ts does not matter for a replay: the pair is held */
	assert_int_equal(node__nonce_check(nc, PA, n, T0 + 5, T0 + 1), NODE_NONCE_REPLAY);
	nonce_of(n, 2);
	assert_int_equal(node__nonce_check(nc, PA, n, T0, T0), NODE_NONCE_FRESH);
	assert_int_equal(node__nonces_count(nc), 2);
	assert_int_equal(node__nonces_floor(nc), -1);
	node__nonces_free(nc);
}

/* Remembered through first use + ttl inclusive, forgotten one second later. */
static void test_ttl_boundary(void **state)
{
	(void)state;
	node_nonces *nc = cache(1u << 20, 131072);
	char n[33];
	nonce_of(n, 7);
	assert_int_equal(node__nonce_check(nc, PA, n, T0, T0), NODE_NONCE_FRESH);
	assert_int_equal(node__nonce_check(nc, PA, n, T0, T0 + 300), NODE_NONCE_REPLAY);
	assert_int_equal(node__nonce_check(nc, PA, n, T0, T0 + TTL), NODE_NONCE_REPLAY);
	assert_int_equal(node__nonce_check(nc, PA, n, T0, T0 + TTL + 1), NODE_NONCE_FRESH);
	/* stored again from T0 + 601: remembered through T0 + 1201 */
	assert_int_equal(node__nonce_check(nc, PA, n, T0, T0 + 2 * TTL + 1), NODE_NONCE_REPLAY);
	assert_int_equal(node__nonce_check(nc, PA, n, T0, T0 + 2 * TTL + 2), NODE_NONCE_FRESH);
	assert_int_equal(node__nonces_count(nc), 1);
	node__nonces_free(nc);
}

static void test_peers_independent(void **state)
{
	(void)state;
	node_nonces *nc = cache(1u << 20, 131072);
	char n[33];
	nonce_of(n, 42);
	assert_int_equal(node__nonce_check(nc, PA, n, T0, T0), NODE_NONCE_FRESH);
	assert_int_equal(node__nonce_check(nc, PB, n, T0, T0), NODE_NONCE_FRESH);
	assert_int_equal(node__nonce_check(nc, PA, n, T0, T0), NODE_NONCE_REPLAY);
	assert_int_equal(node__nonce_check(nc, PB, n, T0, T0), NODE_NONCE_REPLAY);
	/* no ambiguity between where the peer ends and the nonce begins */
	assert_int_equal(node__nonce_check(nc, "node-a0", n + 1, T0, T0), NODE_NONCE_FRESH);
	assert_int_equal(node__nonces_count(nc), 3);
	node__nonces_free(nc);
}

static void test_per_peer_cap(void **state)
{
	(void)state;
	enum { CAP = 8 };
	node_nonces *nc = cache(1u << 20, CAP);
	char n[33];
	for (int i = 0; i < CAP; i++) {
		nonce_of(n, (unsigned long long)i);
		assert_int_equal(node__nonce_check(nc, PA, n, T0, T0 + i), NODE_NONCE_FRESH);
	}
	nonce_of(n, 100);
	assert_int_equal(node__nonce_check(nc, PA, n, T0, T0 + CAP), NODE_NONCE_PEER_FULL);
	assert_int_equal(node__nonces_count(nc), CAP); /* nothing stored */
	/* only that peer is refused */
	assert_int_equal(node__nonce_check(nc, PB, n, T0, T0 + CAP), NODE_NONCE_FRESH);
	assert_int_equal(node__nonce_check(nc, PA, n, T0, T0 + CAP), NODE_NONCE_PEER_FULL);
	/* the peer's own replays are still recognised as replays */
	nonce_of(n, 0);
	assert_int_equal(node__nonce_check(nc, PA, n, T0, T0 + CAP), NODE_NONCE_REPLAY);
	/* the cap counts live entries: once the first one expires, one more fits */
	nonce_of(n, 101);
	assert_int_equal(node__nonce_check(nc, PA, n, T0 + TTL, T0 + TTL), NODE_NONCE_PEER_FULL);
	assert_int_equal(node__nonce_check(nc, PA, n, T0 + TTL, T0 + TTL + 1), NODE_NONCE_FRESH);
	nonce_of(n, 102);
	assert_int_equal(node__nonce_check(nc, PA, n, T0 + TTL, T0 + TTL + 1),
			 NODE_NONCE_PEER_FULL);
	assert_int_equal(node__nonces_floor(nc), -1); /* a full peer evicts nothing */
	node__nonces_free(nc);
}

/* cap_total 64: the 65th fresh nonce evicts the entry with the lowest ts,
 * which is not the first inserted; its replay is STALE from then on. */
static void test_total_cap_evicts_lowest_ts(void **state)
{
	(void)state;
	enum { CAP = 64 };
	node_nonces *nc = cache(CAP, 131072);
	char n[33];
	/* ts of nonce i: a permutation of T0-100 .. T0-37 (17 is odd: a bijection
	 * mod 64); the lowest ts is carried by nonce 15, not nonce 0 */
	int64_t ts_of[CAP];
	int lowest = -1;
	for (int i = 0; i < CAP; i++) {
		ts_of[i] = T0 - 100 + (int64_t)((i * 17 + 1) % CAP);
		if (ts_of[i] == T0 - 100)
			lowest = i;
		nonce_of(n, (unsigned long long)i);
		assert_int_equal(node__nonce_check(nc, i % 2 ? PA : PB, n, ts_of[i], T0),
				 NODE_NONCE_FRESH);
	}
	assert_true(lowest > 0);
	assert_int_equal(node__nonces_count(nc), CAP);
	assert_int_equal(node__nonces_floor(nc), -1);
	/* the 65th: a ts 300 s in the future */
	nonce_of(n, 1000);
	assert_int_equal(node__nonce_check(nc, PA, n, T0 + 300, T0), NODE_NONCE_FRESH);
	assert_int_equal(node__nonces_count(nc), CAP);
	assert_int_equal(node__nonces_floor(nc), T0 - 100);
	/* the evicted nonce is not FRESH again: STALE */
	nonce_of(n, (unsigned long long)lowest);
	assert_int_equal(node__nonce_check(nc, lowest % 2 ? PA : PB, n, ts_of[lowest], T0),
			 NODE_NONCE_STALE);
	/* the first inserted is still held (eviction is not FIFO) */
	nonce_of(n, 0);
	assert_int_equal(node__nonce_check(nc, PB, n, ts_of[0], T0), NODE_NONCE_REPLAY);
	/* any ts <= floor is STALE, above it FRESH */
	nonce_of(n, 2000);
	assert_int_equal(node__nonce_check(nc, PB, n, T0 - 100, T0), NODE_NONCE_STALE);
	assert_int_equal(node__nonce_check(nc, PB, n, T0 - 1000, T0), NODE_NONCE_STALE);
	assert_int_equal(node__nonces_count(nc), CAP);
	assert_int_equal(node__nonce_check(nc, PB, n, T0 - 99, T0), NODE_NONCE_FRESH);
	/* that one had the lowest ts (T0-99 is held twice now: either goes) */
	assert_int_equal(node__nonces_floor(nc), T0 - 99);
	/* keep going: the count never exceeds the cap, the floor only rises and
	 * every nonce evicted so far stays refused */
	int64_t last_floor = node__nonces_floor(nc);
	for (int i = 0; i < 5 * CAP; i++) {
		nonce_of(n, 3000 + (unsigned long long)i);
		int64_t ts = T0 - 50 + (i * 7) % 250;
		int rc = node__nonce_check(nc, PA, n, ts, T0 + 1);
		assert_true(rc == NODE_NONCE_FRESH || rc == NODE_NONCE_STALE);
		assert_true(rc == NODE_NONCE_FRESH ? ts > last_floor : ts <= last_floor);
		assert_true(node__nonces_count(nc) <= CAP);
		int64_t f = node__nonces_floor(nc);
		assert_true(f >= last_floor);
		last_floor = f;
	}
	assert_int_equal(node__nonces_count(nc), CAP);
	for (int i = 0; i < CAP; i++) {
		nonce_of(n, (unsigned long long)i);
		int rc = node__nonce_check(nc, i % 2 ? PA : PB, n, ts_of[i], T0 + 1);
		assert_true(rc == NODE_NONCE_STALE || rc == NODE_NONCE_REPLAY);
	}
	node__nonces_free(nc);
}

/* ts far apart and colliding modulo the ring: the lowest still goes first. */
static void test_eviction_any_ts(void **state)
{
	(void)state;
	node_nonces *nc = cache(4, 131072);
	char n[33];
	const int64_t ts[] = {5 + NODE_NONCE_RING, 5, NODE_NONCE_TS_MAX, 5 + 3 * NODE_NONCE_RING};
	for (int i = 0; i < 4; i++) {
		nonce_of(n, (unsigned long long)i);
		assert_int_equal(node__nonce_check(nc, PA, n, ts[i], T0), NODE_NONCE_FRESH);
	}
	const int64_t floors[] = {5, 5 + NODE_NONCE_RING, 5 + 3 * NODE_NONCE_RING};
	for (int i = 0; i < 3; i++) {
		nonce_of(n, 10 + (unsigned long long)i);
		assert_int_equal(node__nonce_check(nc, PA, n, NODE_NONCE_TS_MAX, T0),
				 NODE_NONCE_FRESH);
		assert_int_equal(node__nonces_floor(nc), floors[i]);
	}
	/* all that is left: ts 2^53-1 */
	nonce_of(n, 20);
	assert_int_equal(node__nonce_check(nc, PA, n, NODE_NONCE_TS_MAX - 1, T0),
			 NODE_NONCE_FRESH);
	assert_int_equal(node__nonces_floor(nc), NODE_NONCE_TS_MAX);
	assert_int_equal(node__nonce_check(nc, PB, n, NODE_NONCE_TS_MAX, T0), NODE_NONCE_STALE);
	assert_int_equal(node__nonces_count(nc), 4);
	node__nonces_free(nc);
}

/* Expired entries go with the sweep the checks drive: the count follows the
 * window, not what was ever stored. */
static void test_expiry_sweep(void **state)
{
	(void)state;
	enum { N = 1000 };
	node_nonces *nc = cache(1u << 20, 131072);
	char n[33];
	for (int i = 0; i < N; i++) {
		nonce_of(n, (unsigned long long)i);
		/* many peers: their records are freed with their last entry */
		char peer[32];
		snprintf(peer, sizeof peer, "peer-%d", i % 300);
		assert_int_equal(node__nonce_check(nc, peer, n, T0, T0 + i / 100),
				 NODE_NONCE_FRESH);
	}
	assert_int_equal(node__nonces_count(nc), N);
	/* at T0 + 9 + 601 every entry has expired; a probe and its replays drive
	 * the sweep (NODE_NONCE_SWEEP per check) until only the probe is left */
	int64_t t1 = T0 + 9 + TTL + 1;
	nonce_of(n, 5000);
	assert_int_equal(node__nonce_check(nc, PA, n, t1, t1), NODE_NONCE_FRESH);
	size_t checks = 1;
	while (node__nonces_count(nc) > 1) {
		assert_int_equal(node__nonce_check(nc, PA, n, t1, t1), NODE_NONCE_REPLAY);
		checks++;
		assert_true(checks <= N / NODE_NONCE_SWEEP + 2);
	}
	assert_int_equal(node__nonces_count(nc), 1);
	/* the probe's own ttl passes; the explicit sweep empties the cache */
	assert_int_equal(node__nonces_sweep(nc, t1 + TTL), 0);
	assert_int_equal(node__nonces_sweep(nc, t1 + TTL + 1), 1);
	assert_int_equal(node__nonces_count(nc), 0);
	/* an expired entry the sweep has not reached yet is forgotten on lookup:
	 * 100 entries, then the last of them again once all have expired (the
	 * check sweeps NODE_NONCE_SWEEP off the head, finds the last one expired
	 * in the table and stores it anew) */
	int64_t t2 = t1 + 2 * TTL;
	for (int i = 0; i < 100; i++) {
		nonce_of(n, 6000 + (unsigned long long)i);
		assert_int_equal(node__nonce_check(nc, PB, n, t2, t2), NODE_NONCE_FRESH);
	}
	assert_int_equal(node__nonce_check(nc, PB, n, t2, t2 + TTL + 1), NODE_NONCE_FRESH);
	assert_int_equal(node__nonces_count(nc), 100 - NODE_NONCE_SWEEP);
	assert_int_equal(node__nonce_check(nc, PB, n, t2, t2 + TTL + 1), NODE_NONCE_REPLAY);
	node__nonces_free(nc);
}

/* A raised floor (a node's start time): older requests are STALE, held ones
 * still REPLAY, newer ones FRESH; the floor never goes down. */
static void test_raise_floor(void **state)
{
	(void)state;
	node_nonces *nc = cache(1u << 20, 131072);
	char n[33];
	nonce_of(n, 1);
	assert_int_equal(node__nonce_check(nc, PA, n, T0 - 5, T0), NODE_NONCE_FRESH);
	assert_int_equal(node__nonces_raise_floor(nc, T0 - 1), 0);
	assert_int_equal(node__nonces_floor(nc), T0 - 1);
	assert_int_equal(node__nonce_check(nc, PA, n, T0 - 5, T0), NODE_NONCE_REPLAY);
	nonce_of(n, 2);
	assert_int_equal(node__nonce_check(nc, PA, n, T0 - 1, T0), NODE_NONCE_STALE);
	assert_int_equal(node__nonce_check(nc, PA, n, T0, T0), NODE_NONCE_FRESH);
	assert_int_equal(node__nonces_raise_floor(nc, T0 - 100), 0);
	assert_int_equal(node__nonces_floor(nc), T0 - 1);
	assert_int_equal(node__nonces_raise_floor(nc, -2), MT_EINVAL);
	assert_int_equal(node__nonces_raise_floor(NULL, 1), MT_EINVAL);
	assert_int_equal(node__nonces_count(nc), 2);
	node__nonces_free(nc);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	node_nonces *nc = NULL;
	assert_int_equal(node__nonces_new(&nc, 0, 1, TTL), MT_EINVAL);
	assert_null(nc);
	assert_int_equal(node__nonces_new(&nc, 1, 0, TTL), MT_EINVAL);
	assert_int_equal(node__nonces_new(&nc, 1, 1, 0), MT_EINVAL);
	assert_int_equal(node__nonces_new(NULL, 1, 1, TTL), MT_EINVAL);
	nc = cache(16, 16);
	char n[33];
	nonce_of(n, 1);
	assert_int_equal(node__nonce_check(nc, NULL, n, T0, T0), MT_EINVAL);
	assert_int_equal(node__nonce_check(nc, PA, NULL, T0, T0), MT_EINVAL);
	assert_int_equal(node__nonce_check(nc, PA, n, -1, T0), MT_EINVAL);
	assert_int_equal(node__nonce_check(nc, PA, n, T0, -1), MT_EINVAL);
	assert_int_equal(node__nonce_check(nc, PA, n, NODE_NONCE_TS_MAX + 1, T0), MT_EINVAL);
	assert_int_equal(node__nonce_check(NULL, PA, n, T0, T0), MT_EINVAL);
	assert_int_equal(node__nonces_count(nc), 0);
	node__nonces_free(nc);
	node__nonces_free(NULL);
}

/* Threads: four threads (two share a peer) store distinct nonces at once,
 * then every one of them is a replay. */
enum { THREADS = 4, PER_THREAD = 4000 };

typedef struct worker {
	node_nonces *nc;
	int id;
	int expect;
	int bad;
} worker;

static void *hammer(void *arg)
{
	worker *w = arg;
	char peer[32], n[33];
	snprintf(peer, sizeof peer, "peer-%d", w->id / 2);
	for (int i = 0; i < PER_THREAD; i++) {
		nonce_of(n, (unsigned long long)w->id * 1000000ULL + (unsigned long long)i);
		if (node__nonce_check(w->nc, peer, n, T0 + i % 300, T0) != w->expect)
			w->bad++;
	}
	return NULL;
}

static void run_workers(node_nonces *nc, int expect)
{
	pthread_t th[THREADS];
	worker w[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (worker){nc, i, expect, 0};
		assert_int_equal(pthread_create(&th[i], NULL, hammer, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(w[i].bad, 0);
	}
}

static void test_threads(void **state)
{
	(void)state;
	node_nonces *nc = cache(1u << 20, 131072);
	run_workers(nc, NODE_NONCE_FRESH);
	assert_int_equal(node__nonces_count(nc), THREADS * PER_THREAD);
	run_workers(nc, NODE_NONCE_REPLAY);
	assert_int_equal(node__nonces_count(nc), THREADS * PER_THREAD);
	node__nonces_free(nc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_then_replay),
		cmocka_unit_test(test_ttl_boundary),
		cmocka_unit_test(test_peers_independent),
		cmocka_unit_test(test_per_peer_cap),
		cmocka_unit_test(test_total_cap_evicts_lowest_ts),
		cmocka_unit_test(test_eviction_any_ts),
		cmocka_unit_test(test_expiry_sweep),
		cmocka_unit_test(test_raise_floor),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
