/* The policy oracle: score → tier → constraint set, bridges, gini, and the
 * constraint sets driving the real kernel. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "meshtrust/policy.h"

#define PEER "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"

static mt_policy *defaults(void)
{
	mt_policy *p = NULL;
	assert_int_equal(mt_policy_default(&p), 0);
	return p;
}

static mt_policy_decision eval(const mt_policy *p, double score, int has_path, int bridge,
                               double gini)
{
	mt_policy_input in = {.peer = PEER,
	                      .scope = "coop:x",
	                      .score = score,
	                      .has_path = has_path,
	                      .is_bridge = bridge,
	                      .scope_gini = gini};
	mt_policy_decision d;
	mt_error err = {0};
	assert_int_equal(mt_policy_eval(&d, p, &in, &err), 0);
	return d;
}

static void assert_tier(const mt_policy_decision *d, int tier, double per_second, uint32_t burst)
{
	assert_int_equal(d->constraints.allow, 1);
	assert_int_equal(d->tier, tier);
	assert_true(d->constraints.per_second == per_second);
	assert_int_equal(d->constraints.burst, burst);
	assert_int_equal(d->constraints.max_topics, 32);
	assert_int_equal(d->constraints.max_connections, 8);
}

static void test_default_tiers(void **state)
{
	(void)state;
	mt_policy *p = defaults();
	mt_policy_decision d = eval(p, 0.82, 1, 0, 0.1);
	assert_tier(&d, 1, 200, 50);
	assert_string_equal(d.constraints.reason, "tier 1 (score 0.82 >= 0.7): 200/s burst 50");
	assert_int_equal(d.flagged, 0);
	assert_string_equal(d.alert, "");

	d = eval(p, 0.7, 1, 0, 0.1); /* thresholds are inclusive */
	assert_tier(&d, 1, 200, 50);
	d = eval(p, 1.0, 1, 0, 0.1);
	assert_tier(&d, 1, 200, 50);
	d = eval(p, 0.55, 1, 0, 0.1);
	assert_tier(&d, 2, 100, 25);
	assert_string_equal(d.constraints.reason, "tier 2 (score 0.55 >= 0.4): 100/s burst 25");
	d = eval(p, 0.4, 1, 0, 0.1);
	assert_tier(&d, 2, 100, 25);
	d = eval(p, 0.39999, 1, 0, 0.1);
	assert_tier(&d, 3, 20, 5);
	d = eval(p, 0.125, 1, 0, 0.1);
	assert_tier(&d, 3, 20, 5);
	assert_string_equal(d.constraints.reason, "tier 3 (score 0.125 > 0): 20/s burst 5");
	mt_policy_free(p);
}

static void test_untrusted_is_denied(void **state)
{
	(void)state;
	mt_policy *p = defaults();
	mt_policy_decision d = eval(p, 0.0, 1, 0, 0.1);
	assert_int_equal(d.constraints.allow, 0);
	assert_int_equal(d.tier, 0);
	assert_string_equal(d.constraints.reason,
	                    "untrusted: no trust path to " PEER " in scope coop:x");
	assert_true(d.constraints.per_second == 0);
	assert_int_equal(d.constraints.burst, 0);
	assert_int_equal(d.constraints.max_topics, 0);
	assert_int_equal(d.constraints.max_connections, 0);
	/* no path wins over a stale score */
	d = eval(p, 0.9, 0, 0, 0.1);
	assert_int_equal(d.constraints.allow, 0);
	assert_non_null(strstr(d.constraints.reason, "untrusted: no trust path"));
	/* defaults for missing peer and scope */
	mt_policy_input in = {.score = 0, .has_path = 0, .scope_gini = -1};
	assert_int_equal(mt_policy_eval(&d, p, &in, NULL), 0);
	assert_string_equal(d.constraints.reason,
	                    "untrusted: no trust path to the peer in scope global");
	mt_policy_free(p);
}

static void test_bridges_get_the_next_lower_tier(void **state)
{
	(void)state;
	mt_policy *p = defaults();
	mt_policy_decision d = eval(p, 0.82, 1, 1, 0.1);
	assert_tier(&d, 2, 100, 25);
	assert_string_equal(d.constraints.reason,
	                    "tier 2 (score 0.82 >= 0.7 gives tier 1; declared bridge: one tier "
	                    "lower): 100/s burst 25");
	d = eval(p, 0.5, 1, 1, 0.1);
	assert_tier(&d, 3, 20, 5);
	/* the lowest tier is the floor: a bridge is not denied for being one */
	d = eval(p, 0.2, 1, 1, 0.1);
	assert_tier(&d, 3, 20, 5);
	assert_string_equal(d.constraints.reason,
	                    "tier 3 (score 0.2 > 0; declared bridge: already the lowest tier): "
	                    "20/s burst 5");
	/* an untrusted bridge is still untrusted */
	d = eval(p, 0, 0, 1, 0.1);
	assert_int_equal(d.constraints.allow, 0);
	p->bridge_rule = MT_BRIDGE_NONE;
	d = eval(p, 0.82, 1, 1, 0.1);
	assert_tier(&d, 1, 200, 50);
	mt_policy_free(p);
}

static void test_gini_flags_and_enforces(void **state)
{
	(void)state;
	mt_policy *p = defaults();
	mt_policy_decision d = eval(p, 0.82, 1, 0, 0.81);
	assert_tier(&d, 1, 200, 50);
	assert_int_equal(d.flagged, 1);
	assert_string_equal(d.alert, "scope coop:x is too centralised: gini 0.81 > policy.maxGini "
	                             "0.70 (flagged, not enforced)");
	d = eval(p, 0.82, 1, 0, 0.7); /* at the limit is not over it */
	assert_int_equal(d.flagged, 0);
	d = eval(p, 0.82, 1, 0, -1); /* unknown gini is not checked */
	assert_int_equal(d.flagged, 0);
	d = eval(p, 0.82, 1, 0, NAN);
	assert_int_equal(d.flagged, 0);

	p->enforce_gini = 1;
	d = eval(p, 0.82, 1, 0, 0.81);
	assert_int_equal(d.constraints.allow, 0);
	assert_int_equal(d.flagged, 1);
	assert_string_equal(d.constraints.reason,
	                    "scope coop:x is too centralised: gini 0.81 > policy.maxGini 0.70");
	assert_string_equal(d.alert,
	                    "scope coop:x is too centralised: gini 0.81 > policy.maxGini 0.70");
	d = eval(p, 0.82, 1, 0, 0.5);
	assert_tier(&d, 1, 200, 50);
	p->max_gini = 0.9;
	d = eval(p, 0.82, 1, 0, 0.81);
	assert_tier(&d, 1, 200, 50);
	mt_policy_free(p);
}

static void test_score_below_lowest_tier(void **state)
{
	(void)state;
	mt_policy *p = defaults();
	p->tier_count = 2; /* tiers 0.7 and 0.4 only */
	assert_int_equal(mt_policy_validate(p, NULL), 0);
	mt_policy_decision d = eval(p, 0.3, 1, 0, 0.1);
	assert_int_equal(d.constraints.allow, 0);
	assert_string_equal(d.constraints.reason,
	                    "untrusted: score 0.3 of " PEER
	                    " in scope coop:x is below the lowest tier (0.4)");
	mt_policy_free(p);
}

static void test_bad_input(void **state)
{
	(void)state;
	mt_policy *p = defaults();
	mt_policy_decision d;
	mt_error err = {0};
	mt_policy_input in = {.scope = "global", .score = 1.5, .has_path = 1};
	assert_int_equal(mt_policy_eval(&d, p, &in, &err), MT_EINVAL);
	assert_non_null(strstr(err.msg, "1.5"));
	in.score = NAN;
	assert_int_equal(mt_policy_eval(&d, p, &in, &err), MT_EINVAL);
	in.score = -0.1;
	assert_int_equal(mt_policy_eval(&d, p, &in, &err), MT_EINVAL);
	in.score = 0.5;
	assert_int_equal(mt_policy_eval(NULL, p, &in, &err), MT_EINVAL);
	assert_int_equal(mt_policy_eval(&d, NULL, &in, &err), MT_EINVAL);
	assert_int_equal(mt_policy_eval(&d, p, NULL, &err), MT_EINVAL);
	mt_policy_free(p);
}

static double frozen(void *payload)
{
	return *(double *)payload;
}

/* The oracle's constraint sets are what the kernel enforces. */
static void test_constraints_drive_the_kernel(void **state)
{
	(void)state;
	mt_policy *p = defaults();
	double now = 100.0;
	mt_kernel_config cfg = {.max_actors = 16, .clock = frozen, .clock_payload = &now};
	mt_kernel *k = NULL;
	assert_int_equal(mt_kernel_new(&k, &cfg), 0);

	mt_policy_decision low = eval(p, 0.2, 1, 0, 0.1);
	int admitted = 0;
	mt_kernel_decision kd;
	while (mt_kernel_check_request(k, "low", 3, &low.constraints, &kd) == MT_K_ALLOW)
		admitted++;
	assert_int_equal(admitted, 5);
	assert_int_equal(kd.verdict, MT_K_RATE_LIMITED);
	assert_true(fabs(kd.retry_after - 0.05) < 1e-9);

	mt_policy_decision none = eval(p, 0, 0, 0, 0.1);
	assert_int_equal(mt_kernel_check_request(k, "u", 1, &none.constraints, &kd), MT_K_DENIED);
	assert_string_equal(kd.reason, "untrusted: no trust path to " PEER " in scope coop:x");

	mt_policy_decision top = eval(p, 0.9, 1, 0, 0.1);
	for (uint32_t i = 0; i < top.constraints.max_connections; i++)
		assert_int_equal(mt_kernel_conn_open(k, "top", 3, &top.constraints, NULL),
		                 MT_K_ALLOW);
	assert_int_equal(mt_kernel_conn_open(k, "top", 3, &top.constraints, NULL), MT_K_OVER_LIMIT);
	mt_kernel_free(k);
	mt_policy_free(p);
}

static void test_decision_json(void **state)
{
	(void)state;
	mt_policy *p = defaults();
	mt_policy_decision d = eval(p, 0.82, 1, 1, 0.81);
	json_t *j = mt_policy_decision_to_json(&d);
	assert_non_null(j);
	assert_true(json_is_true(json_object_get(j, "allow")));
	assert_int_equal(json_integer_value(json_object_get(j, "tier")), 2);
	assert_string_equal(json_string_value(json_object_get(j, "reason")), d.constraints.reason);
	json_t *rl = json_object_get(j, "rate_limit");
	assert_true(json_real_value(json_object_get(rl, "per_second")) == 100.0);
	assert_int_equal(json_integer_value(json_object_get(rl, "burst")), 25);
	assert_int_equal(json_integer_value(json_object_get(j, "max_topics")), 32);
	assert_int_equal(json_integer_value(json_object_get(j, "max_connections")), 8);
	assert_true(json_is_true(json_object_get(j, "flagged")));
	assert_string_equal(json_string_value(json_object_get(j, "alert")), d.alert);
	json_decref(j);

	j = mt_policy_to_json(p);
	assert_non_null(j);
	assert_int_equal(json_array_size(json_object_get(j, "tiers")), 3);
	json_t *t2 = json_array_get(json_object_get(j, "tiers"), 1);
	assert_true(json_real_value(json_object_get(t2, "min_score")) == 0.4);
	assert_string_equal(json_string_value(json_object_get(j, "bridge_rule")), "lower");
	assert_true(json_is_false(json_object_get(j, "enforce_gini")));
	json_decref(j);
	assert_null(mt_policy_to_json(NULL));
	assert_null(mt_policy_decision_to_json(NULL));
	mt_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_tiers),
	    cmocka_unit_test(test_untrusted_is_denied),
	    cmocka_unit_test(test_bridges_get_the_next_lower_tier),
	    cmocka_unit_test(test_gini_flags_and_enforces),
	    cmocka_unit_test(test_score_below_lowest_tier),
	    cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_constraints_drive_the_kernel),
	    cmocka_unit_test(test_decision_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
