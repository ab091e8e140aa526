/* Topic admission, connection limits, memory bound and eviction of the kernel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "meshtrust/kernel.h"

typedef struct sim_clock {
	double now;
} sim_clock;

static double sim_read(void *payload)
{
	return ((sim_clock *)payload)->now;
}

static mt_kernel *new_kernel(sim_clock *clk, uint32_t max_actors, double idle)
{
	mt_kernel_config cfg = {0};
	cfg.max_actors = max_actors;
	cfg.idle_evict_seconds = idle;
	cfg.clock = sim_read;
	cfg.clock_payload = clk;
	mt_kernel *k = NULL;
	assert_int_equal(mt_kernel_new(&k, &cfg), 0);
	return k;
}

static mt_constraints tier(double per_second, uint32_t burst, uint32_t topics, uint32_t conns)
{
	mt_constraints c = {0};
	c.allow = 1;
	c.per_second = per_second;
	c.burst = burst;
	c.max_topics = topics;
	c.max_connections = conns;
	return c;
}

static mt_kernel_stats stats(mt_kernel *k)
{
	mt_kernel_stats st;
	assert_int_equal(mt_kernel_stats_get(k, &st), 0);
	return st;
}

static void test_topic_admission(void **state)
{
	(void)state;
	sim_clock clk = {1.0};
	mt_kernel *k = new_kernel(&clk, 16, 0);
	mt_constraints c = tier(10, 5, 3, 2);
	mt_kernel_decision d;
	const char *topics[] = {"rust", "c", "go", "zig"};
	for (int i = 0; i < 3; i++)
		assert_int_equal(
		    mt_kernel_topic_admit(k, "p", 1, topics[i], strlen(topics[i]), &c, &d),
		    MT_K_ALLOW);
	/* a held topic is admitted again without counting twice */
	assert_int_equal(mt_kernel_topic_admit(k, "p", 1, "c", 1, &c, &d), MT_K_ALLOW);
	assert_int_equal(mt_kernel_topic_admit(k, "p", 1, "zig", 3, &c, &d), MT_K_OVER_LIMIT);
	assert_int_equal(d.verdict, MT_K_OVER_LIMIT);
	assert_string_equal(d.reason, "topic limit reached: 3 of 3 topics held");
	/* another actor has its own allowance */
	assert_int_equal(mt_kernel_topic_admit(k, "q", 1, "zig", 3, &c, &d), MT_K_ALLOW);
	/* releasing one makes room */
	assert_int_equal(mt_kernel_topic_release(k, "p", 1, "go", 2), 0);
	assert_int_equal(mt_kernel_topic_release(k, "p", 1, "go", 2), MT_K_ENOTFOUND);
	assert_int_equal(mt_kernel_topic_release(k, "nobody", 6, "go", 2), MT_K_ENOTFOUND);
	assert_int_equal(mt_kernel_topic_admit(k, "p", 1, "zig", 3, &c, &d), MT_K_ALLOW);
	assert_int_equal(mt_kernel_topic_admit(k, "p", 1, "go", 2, &c, &d), MT_K_OVER_LIMIT);
	/* topic admission costs no request tokens */
	for (int i = 0; i < 5; i++)
		assert_int_equal(mt_kernel_check_request(k, "p", 1, &c, NULL), MT_K_ALLOW);
	assert_int_equal(mt_kernel_topic_admit(k, "p", 1, "", 0, &c, &d), MT_K_EINVAL);
	mt_kernel_free(k);
}

static void test_topic_cap_overrides_constraint(void **state)
{
	(void)state;
	sim_clock clk = {1.0};
	mt_kernel_config cfg = {0};
	cfg.topic_cap = 2;
	cfg.clock = sim_read;
	cfg.clock_payload = &clk;
	mt_kernel *k = NULL;
	assert_int_equal(mt_kernel_new(&k, &cfg), 0);
	mt_constraints c = tier(10, 5, 1000, 2);
	assert_int_equal(mt_kernel_topic_admit(k, "p", 1, "a", 1, &c, NULL), MT_K_ALLOW);
	assert_int_equal(mt_kernel_topic_admit(k, "p", 1, "b", 1, &c, NULL), MT_K_ALLOW);
	assert_int_equal(mt_kernel_topic_admit(k, "p", 1, "c", 1, &c, NULL), MT_K_OVER_LIMIT);
	mt_kernel_free(k);
}

static void test_connection_limit(void **state)
{
	(void)state;
	sim_clock clk = {1.0};
	mt_kernel *k = new_kernel(&clk, 16, 0);
	mt_constraints c = tier(10, 5, 3, 2);
	mt_kernel_decision d;
	assert_int_equal(mt_kernel_conn_open(k, "p", 1, &c, &d), MT_K_ALLOW);
	assert_int_equal(mt_kernel_conn_open(k, "p", 1, &c, &d), MT_K_ALLOW);
	assert_int_equal(mt_kernel_conn_open(k, "p", 1, &c, &d), MT_K_OVER_LIMIT);
	assert_string_equal(d.reason, "connection limit reached: 2 of 2 open");
	assert_int_equal(mt_kernel_conn_open(k, "q", 1, &c, &d), MT_K_ALLOW);
	assert_int_equal(mt_kernel_conn_close(k, "p", 1), 0);
	assert_int_equal(mt_kernel_conn_open(k, "p", 1, &c, &d), MT_K_ALLOW);
	assert_int_equal(mt_kernel_conn_close(k, "p", 1), 0);
	assert_int_equal(mt_kernel_conn_close(k, "p", 1), 0);
	assert_int_equal(mt_kernel_conn_close(k, "p", 1), MT_K_ENOTFOUND);
	assert_int_equal(mt_kernel_conn_close(k, "zz", 2), MT_K_ENOTFOUND);
	/* max_connections 0: none admitted */
	mt_constraints none = tier(10, 5, 3, 0);
	assert_int_equal(mt_kernel_conn_open(k, "r", 1, &none, &d), MT_K_OVER_LIMIT);
	mt_kernel_free(k);
}

static void test_million_actors_stay_bounded(void **state)
{
	(void)state;
	sim_clock clk = {0};
	const uint32_t max_actors = 100000;
	mt_kernel *k = new_kernel(&clk, max_actors, 0);
	mt_constraints c = tier(200, 50, 4, 2);
	size_t bytes_when_full = 0;
	size_t peak_bytes = 0;
	char key[32];
	for (long i = 0; i < 1000000; i++) {
		clk.now = (double)i * 0.001; /* a new actor every millisecond */
		int len = snprintf(key, sizeof key, "actor-%07ld", i);
		assert_int_equal(mt_kernel_check_request(k, key, (size_t)len, &c, NULL),
		                 MT_K_ALLOW);
		if (i == (long)max_actors - 1)
			bytes_when_full = stats(k).bytes_allocated;
		if (i % 1000 == 0 || i == 999999) {
			mt_kernel_stats st = stats(k);
			assert_true(st.actors <= max_actors);
			if (st.bytes_allocated > peak_bytes)
				peak_bytes = st.bytes_allocated;
		}
	}
	mt_kernel_stats st = stats(k);
	assert_int_equal(st.actors, max_actors);
	assert_int_equal(st.evictions, 1000000 - max_actors);
	assert_int_equal(st.table_full, 0);
	assert_true(bytes_when_full > 0);
	assert_true(peak_bytes <= bytes_when_full);
	assert_int_equal(st.bytes_allocated, bytes_when_full);
	/* the oldest went first: the most recent actor is still limited by its
	 * own bucket, an evicted one starts fresh */
	for (int i = 0; i < 49; i++)
		assert_int_equal(mt_kernel_check_request(k, "actor-0999999", 13, &c, NULL),
		                 MT_K_ALLOW);
	assert_int_equal(mt_kernel_check_request(k, "actor-0999999", 13, &c, NULL),
	                 MT_K_RATE_LIMITED);
	mt_kernel_free(k);
}

static void test_full_table_fails_closed(void **state)
{
	(void)state;
	sim_clock clk = {1.0};
	mt_kernel *k = new_kernel(&clk, 4, 0);
	mt_constraints c = tier(10, 5, 4, 2);
	char key[8];
	for (int i = 0; i < 4; i++) {
		snprintf(key, sizeof key, "a%d", i);
		assert_int_equal(mt_kernel_check_request(k, key, 2, &c, NULL), MT_K_ALLOW);
	}
	/* a0's bucket is not refilled yet (4 of 5 tokens): evicting it would
	 * hand it a fresh burst, so the newcomer waits */
	mt_kernel_decision d;
	assert_int_equal(mt_kernel_check_request(k, "new", 3, &c, &d), MT_K_RATE_LIMITED);
	assert_float_equal(d.retry_after, 0.1, 1e-9);
	assert_non_null(strstr(d.reason, "kernel actor table full"));
	assert_int_equal(stats(k).table_full, 1);
	assert_int_equal(stats(k).actors, 4);
	clk.now = 1.1; /* now a0 is refilled and goes */
	assert_int_equal(mt_kernel_check_request(k, "new", 3, &c, &d), MT_K_ALLOW);
	assert_int_equal(stats(k).evictions, 1);
	/* a1 is the next oldest, still there with its own state */
	for (int i = 0; i < 4; i++)
		assert_int_equal(mt_kernel_check_request(k, "a1", 2, &c, NULL), MT_K_ALLOW);
	assert_int_equal(stats(k).actors, 4);
	mt_kernel_free(k);
}

static void test_pinned_actors_are_never_evicted(void **state)
{
	(void)state;
	sim_clock clk = {1.0};
	mt_kernel *k = new_kernel(&clk, 3, 0);
	mt_constraints c = tier(10, 5, 4, 2);
	assert_int_equal(mt_kernel_conn_open(k, "c1", 2, &c, NULL), MT_K_ALLOW);
	assert_int_equal(mt_kernel_topic_admit(k, "t1", 2, "x", 1, &c, NULL), MT_K_ALLOW);
	assert_int_equal(mt_kernel_check_request(k, "r1", 2, &c, NULL), MT_K_ALLOW);
	assert_int_equal(stats(k).pinned, 2);
	clk.now = 1000.0;
	/* only r1 is evictable */
	assert_int_equal(mt_kernel_check_request(k, "n1", 2, &c, NULL), MT_K_ALLOW);
	assert_int_equal(stats(k).evictions, 1);
	assert_int_equal(mt_kernel_conn_open(k, "n1", 2, &c, NULL), MT_K_ALLOW);
	mt_kernel_decision d;
	assert_int_equal(mt_kernel_check_request(k, "n2", 2, &c, &d), MT_K_RATE_LIMITED);
	assert_true(d.retry_after > 0);
	/* the pinned ones kept their state */
	assert_int_equal(mt_kernel_conn_open(k, "c1", 2, &c, NULL), MT_K_ALLOW);
	assert_int_equal(mt_kernel_conn_open(k, "c1", 2, &c, NULL), MT_K_OVER_LIMIT);
	assert_int_equal(mt_kernel_topic_admit(k, "t1", 2, "x", 1, &c, NULL), MT_K_ALLOW);
	/* unpinning makes an actor evictable again */
	assert_int_equal(mt_kernel_topic_release(k, "t1", 2, "x", 1), 0);
	assert_int_equal(stats(k).pinned, 2);
	assert_int_equal(mt_kernel_check_request(k, "n2", 2, &c, NULL), MT_K_ALLOW);
	assert_int_equal(stats(k).actors, 3);
	assert_int_equal(stats(k).pinned, 2);
	mt_kernel_free(k);
}

static void test_idle_actors_are_swept(void **state)
{
	(void)state;
	sim_clock clk = {1.0};
	mt_kernel *k = new_kernel(&clk, 100, 10.0);
	mt_constraints c = tier(10, 5, 4, 2);
	char key[8];
	for (int i = 0; i < 6; i++) {
		snprintf(key, sizeof key, "a%d", i);
		assert_int_equal(mt_kernel_check_request(k, key, 2, &c, NULL), MT_K_ALLOW);
	}
	size_t full_bytes = stats(k).bytes_allocated;
	clk.now = 5.0; /* not idle long enough */
	assert_int_equal(mt_kernel_check_request(k, "z", 1, &c, NULL), MT_K_ALLOW);
	assert_int_equal(stats(k).actors, 7);
	clk.now = 11.5; /* a0..a5 idle 10.5 s, z only 6.5 s: two go per operation */
	assert_int_equal(mt_kernel_check_request(k, "z", 1, &c, NULL), MT_K_ALLOW);
	assert_int_equal(stats(k).actors, 5);
	for (int i = 0; i < 3; i++)
		assert_int_equal(mt_kernel_check_request(k, "z", 1, &c, NULL), MT_K_ALLOW);
	assert_int_equal(stats(k).actors, 1);
	assert_int_equal(stats(k).evictions, 6);
	assert_true(stats(k).bytes_allocated < full_bytes);
	mt_kernel_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_topic_admission),
	    cmocka_unit_test(test_topic_cap_overrides_constraint),
	    cmocka_unit_test(test_connection_limit),
	    cmocka_unit_test(test_million_actors_stay_bounded),
	    cmocka_unit_test(test_full_table_fails_closed),
	    cmocka_unit_test(test_pinned_actors_are_never_evicted),
	    cmocka_unit_test(test_idle_actors_are_swept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
