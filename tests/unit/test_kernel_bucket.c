/* Token buckets of the kernel, driven by a simulated clock. */
#include <math.h>
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

static mt_kernel *new_kernel(sim_clock *clk, uint32_t max_actors)
{
	mt_kernel_config cfg = {0};
	cfg.max_actors = max_actors;
	cfg.clock = sim_read;
	cfg.clock_payload = clk;
	cfg.hash_seed[0] = 1;
	cfg.hash_seed[1] = 2;
	mt_kernel *k = NULL;
	assert_int_equal(mt_kernel_new(&k, &cfg), 0);
	assert_non_null(k);
	return k;
}

static mt_constraints allow_rate(double per_second, uint32_t burst)
{
	mt_constraints c = {0};
	c.allow = 1;
	c.per_second = per_second;
	c.burst = burst;
	c.max_topics = 4;
	c.max_connections = 2;
	return c;
}

/* Drive one actor with `rate` evenly spaced requests per second for `seconds`
 * simulated seconds (t = 0 included, t = seconds excluded); count admissions. */
static long drive(mt_kernel *k, sim_clock *clk, const char *actor, const mt_constraints *c,
                  long rate, long seconds)
{
	long admitted = 0;
	for (long i = 0; i < rate * seconds; i++) {
		clk->now = 1000.0 + (double)i / (double)rate;
		mt_kernel_decision d;
		int rc = mt_kernel_check_request(k, actor, strlen(actor), c, &d);
		assert_true(rc == MT_K_ALLOW || rc == MT_K_RATE_LIMITED);
		assert_int_equal(d.verdict, rc);
		if (rc == MT_K_ALLOW) {
			admitted++;
			assert_true(d.retry_after == 0);
		} else {
			assert_true(d.retry_after > 0);
		}
	}
	return admitted;
}

static void test_tier1_bucket_over_ten_seconds(void **state)
{
	(void)state;
	sim_clock clk = {0};
	mt_kernel *k = new_kernel(&clk, 16);
	mt_constraints c = allow_rate(200, 50);
	long admitted = drive(k, &clk, "peer-a", &c, 1000, 10);
	/* burst 50 at t = 0, then 200/s for 10 s */
	assert_in_range(admitted, 2050 - 1, 2050 + 1);
	mt_kernel_free(k);
}

static void test_steady_state_matches_rate(void **state)
{
	(void)state;
	sim_clock clk = {0};
	mt_kernel *k = new_kernel(&clk, 16);
	mt_constraints c = allow_rate(200, 50);
	long first_second = drive(k, &clk, "peer-a", &c, 1000, 1);
	assert_in_range(first_second, 249, 251);
	/* the next second of the same timeline (t = 1001 .. 1002) */
	long admitted = 0;
	for (int i = 0; i < 1000; i++) {
		clk.now = 1001.0 + i / 1000.0;
		if (mt_kernel_check_request(k, "peer-a", 6, &c, NULL) == MT_K_ALLOW)
			admitted++;
	}
	assert_in_range(admitted, 199, 201);
	mt_kernel_free(k);
}

static void test_tier3_bucket(void **state)
{
	(void)state;
	sim_clock clk = {0};
	mt_kernel *k = new_kernel(&clk, 16);
	mt_constraints c = allow_rate(20, 5);
	long admitted = drive(k, &clk, "peer-c", &c, 100, 10);
	assert_in_range(admitted, 205 - 1, 205 + 1);
	mt_kernel_free(k);
}

static void test_burst_then_retry_after(void **state)
{
	(void)state;
	sim_clock clk = {50.0};
	mt_kernel *k = new_kernel(&clk, 16);
	mt_constraints c = allow_rate(20, 5);
	mt_kernel_decision d;
	for (int i = 0; i < 5; i++)
		assert_int_equal(mt_kernel_check_request(k, "p", 1, &c, &d), MT_K_ALLOW);
	assert_int_equal(mt_kernel_check_request(k, "p", 1, &c, &d), MT_K_RATE_LIMITED);
	assert_int_equal(d.verdict, MT_K_RATE_LIMITED);
	assert_float_equal(d.retry_after, 0.05, 1e-9); /* one token at 20/s */
	assert_non_null(strstr(d.reason, "rate limited"));
	assert_non_null(strstr(d.reason, "20/s burst 5"));

	clk.now = 50.02; /* 0.4 token there: 0.03 s to go */
	assert_int_equal(mt_kernel_check_request(k, "p", 1, &c, &d), MT_K_RATE_LIMITED);
	assert_float_equal(d.retry_after, 0.03, 1e-9);

	clk.now = 50.05; /* exactly one token */
	assert_int_equal(mt_kernel_check_request(k, "p", 1, &c, &d), MT_K_ALLOW);
	assert_string_equal(d.reason, "");
	assert_int_equal(mt_kernel_check_request(k, "p", 1, &c, &d), MT_K_RATE_LIMITED);
	assert_float_equal(d.retry_after, 0.05, 1e-9);

	/* long idle: refills to the burst, not beyond */
	clk.now = 500.0;
	int admitted = 0;
	while (mt_kernel_check_request(k, "p", 1, &c, &d) == MT_K_ALLOW)
		admitted++;
	assert_int_equal(admitted, 5);
	mt_kernel_free(k);
}

static void test_actors_are_independent(void **state)
{
	(void)state;
	sim_clock clk = {1.0};
	mt_kernel *k = new_kernel(&clk, 16);
	mt_constraints c = allow_rate(1, 2);
	/* keys are opaque bytes: embedded NULs and prefixes are distinct actors */
	const unsigned char a[] = {0, 1, 2}, b[] = {0, 1, 3}, prefix[] = {0, 1};
	for (int i = 0; i < 2; i++) {
		assert_int_equal(mt_kernel_check_request(k, a, sizeof a, &c, NULL), MT_K_ALLOW);
		assert_int_equal(mt_kernel_check_request(k, b, sizeof b, &c, NULL), MT_K_ALLOW);
		assert_int_equal(mt_kernel_check_request(k, prefix, sizeof prefix, &c, NULL),
		                 MT_K_ALLOW);
	}
	assert_int_equal(mt_kernel_check_request(k, a, sizeof a, &c, NULL), MT_K_RATE_LIMITED);
	assert_int_equal(mt_kernel_check_request(k, b, sizeof b, &c, NULL), MT_K_RATE_LIMITED);
	assert_int_equal(mt_kernel_check_request(k, prefix, sizeof prefix, &c, NULL),
	                 MT_K_RATE_LIMITED);
	mt_kernel_stats st;
	assert_int_equal(mt_kernel_stats_get(k, &st), 0);
	assert_int_equal(st.actors, 3);
	mt_kernel_free(k);
}

static void test_denial_carries_reason_and_keeps_no_state(void **state)
{
	(void)state;
	sim_clock clk = {1.0};
	mt_kernel *k = new_kernel(&clk, 16);
	mt_constraints deny = {0};
	snprintf(deny.reason, sizeof deny.reason, "untrusted: no trust path to X in scope global");
	mt_kernel_decision d;
	assert_int_equal(mt_kernel_check_request(k, "x", 1, &deny, &d), MT_K_DENIED);
	assert_int_equal(d.verdict, MT_K_DENIED);
	assert_string_equal(d.reason, "untrusted: no trust path to X in scope global");
	assert_true(d.retry_after == 0);
	assert_int_equal(mt_kernel_topic_admit(k, "x", 1, "t", 1, &deny, &d), MT_K_DENIED);
	assert_string_equal(d.reason, "untrusted: no trust path to X in scope global");
	assert_int_equal(mt_kernel_conn_open(k, "x", 1, &deny, &d), MT_K_DENIED);
	mt_constraints bare = {0};
	assert_int_equal(mt_kernel_check_request(k, "x", 1, &bare, &d), MT_K_DENIED);
	assert_string_equal(d.reason, "denied");
	mt_kernel_stats st;
	assert_int_equal(mt_kernel_stats_get(k, &st), 0);
	assert_int_equal(st.actors, 0);
	mt_kernel_free(k);
}

static void test_constraint_change_clamps_to_new_burst(void **state)
{
	(void)state;
	sim_clock clk = {1.0};
	mt_kernel *k = new_kernel(&clk, 16);
	mt_constraints high = allow_rate(200, 50), low = allow_rate(20, 5);
	assert_int_equal(mt_kernel_check_request(k, "p", 1, &high, NULL), MT_K_ALLOW);
	/* 49 tokens left under tier 1; tier 3 holds at most 5 */
	int admitted = 0;
	while (mt_kernel_check_request(k, "p", 1, &low, NULL) == MT_K_ALLOW)
		admitted++;
	assert_int_equal(admitted, 5);
	mt_kernel_free(k);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	sim_clock clk = {1.0};
	mt_kernel *k = new_kernel(&clk, 16);
	mt_constraints c = allow_rate(10, 5);
	char long_key[MT_K_ACTOR_MAX + 1];
	memset(long_key, 'k', sizeof long_key);
	assert_int_equal(mt_kernel_check_request(NULL, "p", 1, &c, NULL), MT_K_EINVAL);
	assert_int_equal(mt_kernel_check_request(k, NULL, 1, &c, NULL), MT_K_EINVAL);
	assert_int_equal(mt_kernel_check_request(k, "p", 0, &c, NULL), MT_K_EINVAL);
	assert_int_equal(mt_kernel_check_request(k, long_key, sizeof long_key, &c, NULL),
	                 MT_K_EINVAL);
	assert_int_equal(mt_kernel_check_request(k, long_key, MT_K_ACTOR_MAX, &c, NULL),
	                 MT_K_ALLOW);
	assert_int_equal(mt_kernel_check_request(k, "p", 1, NULL, NULL), MT_K_EINVAL);
	mt_constraints bad = allow_rate(0, 5);
	assert_int_equal(mt_kernel_check_request(k, "p", 1, &bad, NULL), MT_K_EINVAL);
	bad = allow_rate(-3, 5);
	assert_int_equal(mt_kernel_check_request(k, "p", 1, &bad, NULL), MT_K_EINVAL);
	bad = allow_rate(10, 0);
	assert_int_equal(mt_kernel_check_request(k, "p", 1, &bad, NULL), MT_K_EINVAL);
	bad = allow_rate(NAN, 5);
	assert_int_equal(mt_kernel_check_request(k, "p", 1, &bad, NULL), MT_K_EINVAL);
	assert_int_equal(mt_kernel_new(NULL, NULL), MT_K_EINVAL);
	mt_kernel_config cfg = {0};
	cfg.idle_evict_seconds = -1;
	mt_kernel *k2 = (mt_kernel *)&cfg;
	assert_int_equal(mt_kernel_new(&k2, &cfg), MT_K_EINVAL);
	assert_null(k2);
	mt_kernel_free(NULL);
	assert_string_equal(mt_kernel_verdict_name(MT_K_RATE_LIMITED), "rate_limited");
	mt_kernel_free(k);
}

static void test_clock_going_backwards_stands_still(void **state)
{
	(void)state;
	sim_clock clk = {10.0};
	mt_kernel *k = new_kernel(&clk, 16);
	mt_constraints c = allow_rate(1, 1);
	assert_int_equal(mt_kernel_check_request(k, "p", 1, &c, NULL), MT_K_ALLOW);
	clk.now = 5.0; /* must not mint tokens nor produce a negative wait */
	mt_kernel_decision d;
	assert_int_equal(mt_kernel_check_request(k, "p", 1, &c, &d), MT_K_RATE_LIMITED);
	assert_float_equal(d.retry_after, 1.0, 1e-9);
	clk.now = 11.0;
	assert_int_equal(mt_kernel_check_request(k, "p", 1, &c, &d), MT_K_ALLOW);
	mt_kernel_free(k);
}

static void test_default_clock_is_monotonic(void **state)
{
	(void)state;
	mt_kernel *k = NULL;
	assert_int_equal(mt_kernel_new(&k, NULL), 0);
	mt_constraints c = allow_rate(0.001, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(mt_kernel_check_request(k, "p", 1, &c, NULL), MT_K_ALLOW);
	mt_kernel_decision d;
	assert_int_equal(mt_kernel_check_request(k, "p", 1, &c, &d), MT_K_RATE_LIMITED);
	assert_true(d.retry_after > 900 && d.retry_after <= 1000);
	mt_kernel_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tier1_bucket_over_ten_seconds),
	    cmocka_unit_test(test_steady_state_matches_rate),
	    cmocka_unit_test(test_tier3_bucket),
	    cmocka_unit_test(test_burst_then_retry_after),
	    cmocka_unit_test(test_actors_are_independent),
	    cmocka_unit_test(test_denial_carries_reason_and_keeps_no_state),
	    cmocka_unit_test(test_constraint_change_clamps_to_new_burst),
	    cmocka_unit_test(test_bad_arguments),
	    cmocka_unit_test(test_clock_going_backwards_stands_still),
	    cmocka_unit_test(test_default_clock_is_monotonic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
