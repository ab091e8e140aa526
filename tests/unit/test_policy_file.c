/* The policy file: parsing, refusal of bad files with line and reason,
 * keeping the previous policy, formatting and the round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meshtrust/policy.h"
#include "testutil.h"

static const char good_text[] = "# a policy for a small co-op\n"
                                "max_gini = 0.6   # stricter than the default\n"
                                "enforce_gini = true\n"
                                "max_topics = 10\n"
                                "max_connections = 3\n"
                                "bridge_rule = \"none\"\n"
                                "\n"
                                "[[tier]]\n"
                                "min_score = 0.8\n"
                                "per_second = 50\n"
                                "burst = 10\n"
                                "\n"
                                "[[ tier ]]  # spaces inside the brackets are fine\n"
                                "burst = 2\n"
                                "per_second = 0.5\n"
                                "min_score = 0\n";

static void assert_policy_equal(const mt_policy *a, const mt_policy *b)
{
	assert_int_equal(a->tier_count, b->tier_count);
	for (size_t i = 0; i < a->tier_count; i++) {
		assert_true(a->tiers[i].min_score == b->tiers[i].min_score);
		assert_true(a->tiers[i].per_second == b->tiers[i].per_second);
		assert_int_equal(a->tiers[i].burst, b->tiers[i].burst);
	}
	assert_true(a->max_gini == b->max_gini);
	assert_int_equal(a->enforce_gini, b->enforce_gini);
	assert_int_equal(a->max_topics, b->max_topics);
	assert_int_equal(a->max_connections, b->max_connections);
	assert_int_equal(a->bridge_rule, b->bridge_rule);
}

static mt_policy *parse_ok(const char *text)
{
	mt_policy *p = NULL;
	mt_error err = {0};
	int rc = mt_policy_parse(&p, text, strlen(text), "test.toml", &err);
	if (rc != 0)
		fail_msg("unexpected refusal: %s", err.msg);
	assert_non_null(p);
	return p;
}

static void test_parse_full_file(void **state)
{
	(void)state;
	mt_policy *p = parse_ok(good_text);
	assert_true(p->max_gini == 0.6);
	assert_int_equal(p->enforce_gini, 1);
	assert_int_equal(p->max_topics, 10);
	assert_int_equal(p->max_connections, 3);
	assert_int_equal(p->bridge_rule, MT_BRIDGE_NONE);
	assert_int_equal(p->tier_count, 2);
	assert_true(p->tiers[0].min_score == 0.8);
	assert_true(p->tiers[0].per_second == 50);
	assert_int_equal(p->tiers[0].burst, 10);
	assert_true(p->tiers[1].min_score == 0);
	assert_true(p->tiers[1].per_second == 0.5);
	assert_int_equal(p->tiers[1].burst, 2);
	mt_policy_free(p);
}

static void test_missing_keys_keep_defaults(void **state)
{
	(void)state;
	mt_policy *def = NULL;
	assert_int_equal(mt_policy_default(&def), 0);
	mt_policy *empty = parse_ok("");
	assert_policy_equal(empty, def);
	mt_policy *p = parse_ok("max_gini = 0.5\r\nenforce_gini = true\r\n");
	assert_true(p->max_gini == 0.5);
	assert_int_equal(p->enforce_gini, 1);
	def->max_gini = 0.5;
	def->enforce_gini = 1;
	assert_policy_equal(p, def); /* default tiers, topics, connections, bridge rule */
	mt_policy_free(p);
	mt_policy_free(empty);
	mt_policy_free(def);
}

typedef struct bad_case {
	const char *text;
	int line;
	const char *reason;
} bad_case;

static const bad_case bad_cases[] = {
    {"max_gini = 0.7\nfoo = 1\n", 2, "unknown key \"foo\""},
    {"[[tier]]\nmin_score = 0.5\nper_second = -5\nburst = 3\n", 3,
     "negative rate: per_second = -5"},
    {"[[tier]]\nmin_score = 0.4\nper_second = 5\nburst = 3\n"
     "[[tier]]\nmin_score = 0.7\nper_second = 5\nburst = 3\n",
     6, "tiers not sorted by descending min_score: 0.7 after 0.4"},
    {"[[tier]]\nmin_score = 0.4\nper_second = 5\nburst = 3\n"
     "[[tier]]\nmin_score = 0.4\nper_second = 5\nburst = 3\n",
     6, "tiers not sorted by descending min_score"},
    {"max_topics = 3\n# comment\nmax_topics = 4\n", 3, "duplicate key \"max_topics\""},
    {"[[tier]]\nburst = 1\nburst = 2\n", 3, "duplicate key \"burst\" in [[tier]]"},
    {"[[tier]]\nmin_score = 1.5\nper_second = 5\nburst = 3\n", 2,
     "min_score must be in [0, 1], got 1.5"},
    {"[[tier]]\nmin_score = -0.1\n", 2, "min_score must be in [0, 1]"},
    {"max_gini = abc\n", 1, "bad value for max_gini: \"abc\" is not a number"},
    {"max_gini = 1.2\n", 1, "max_gini must be in [0, 1], got 1.2"},
    {"max_gini = 0.7 0.8\n", 1, "bad value for max_gini"},
    {"max_gini = inf\n", 1, "is not a number"},
    {"max_gini = nan\n", 1, "is not a number"},
    {"max_gini = 0x1p-1\n", 1, "is not a number"},
    {"enforce_gini = yes\n", 1, "bad value for enforce_gini: \"yes\" (expected true or false)"},
    {"bridge_rule = \"up\"\n", 1, "bad value for bridge_rule"},
    {"bridge_rule = lower\n", 1, "bad value for bridge_rule"},
    {"max_topics = -1\n", 1, "bad value for max_topics: -1 must not be negative"},
    {"max_connections = 1.5\n", 1, "is not a whole number"},
    {"max_connections = 4294967296\n", 1, "is too large"},
    {"\n\n[[tier]]\nmin_score = 0.5\nper_second = 5\n", 3, "[[tier]] 1 is missing burst"},
    {"[[tier]]\nmin_score = 0.5\nper_second = 5\nburst = 0\n", 4, "burst must be >= 1, got 0"},
    {"[[tier]]\nmin_score = 0.5\nper_second = 0\nburst = 1\n", 3, "per_second must be > 0"},
    {"[[tier]]\nmin_score = 0.5\nper_second = 5\nburst = 1\nmax_gini = 0.5\n", 5,
     "unknown key \"max_gini\" in [[tier]]"},
    {"[tiers]\n", 1, "unknown section [tiers]"},
    {"max_gini\n", 1, "expected key = value"},
    {"= 3\n", 1, "missing key before '='"},
    {"max_gini =\n", 1, "missing value for max_gini"},
    {"max gini = 0.5\n", 1, "bad key \"max gini\""},
};

static void check_refusal(const char *text, size_t len, int line, const char *reason)
{
	mt_policy *p = (mt_policy *)&p; /* must be reset to NULL */
	mt_error err = {0};
	int rc = mt_policy_parse(&p, text, len, "/etc/mesh/policy.toml", &err);
	assert_int_equal(rc, MT_EINVAL);
	assert_int_equal(err.code, MT_EINVAL);
	assert_null(p);
	char prefix[64];
	snprintf(prefix, sizeof prefix, "/etc/mesh/policy.toml:%d: ", line);
	if (strncmp(err.msg, prefix, strlen(prefix)) != 0 || !strstr(err.msg, reason))
		fail_msg("for %s\n got: %s\n want: %s... %s", text, err.msg, prefix, reason);
}

static void test_bad_files_are_refused_with_line_and_reason(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++)
		check_refusal(bad_cases[i].text, strlen(bad_cases[i].text), bad_cases[i].line,
		              bad_cases[i].reason);
	static const char with_nul[] = "max_gini = 0.5\nmax_topics = 3\0\n";
	check_refusal(with_nul, sizeof with_nul - 1, 2, "NUL byte");
}

static void test_too_many_tiers(void **state)
{
	(void)state;
	char text[4096] = "";
	size_t used = 0;
	for (int i = 0; i <= MT_POLICY_MAX_TIERS; i++)
		used += (size_t)snprintf(text + used, sizeof text - used,
		                         "[[tier]]\nmin_score = %g\nper_second = 1\nburst = 1\n",
		                         1.0 - i * 0.05);
	check_refusal(text, used, 1 + 4 * MT_POLICY_MAX_TIERS, "too many tiers (at most 16)");
}

static char *write_file(const char *dir, const char *name, const char *text, size_t len)
{
	char *path = malloc(strlen(dir) + strlen(name) + 2);
	assert_non_null(path);
	sprintf(path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* The reload pattern of the node and the CLI: a bad file changes nothing. */
static void test_previous_policy_stays_in_force(void **state)
{
	(void)state;
	char *dir = mt_test_tmpdir();
	char *path = write_file(dir, "policy.toml", good_text, strlen(good_text));
	mt_error err = {0};
	mt_policy *current = NULL;
	assert_int_equal(mt_policy_load(&current, path, &err), 0);

	const char *bad = "max_gini = 0.9\n[[tier]]\nmin_score = 0.5\nper_second = -1\nburst = 1\n";
	free(path);
	path = write_file(dir, "policy.toml", bad, strlen(bad));
	mt_policy *next = (mt_policy *)&next;
	int rc = mt_policy_load(&next, path, &err);
	assert_int_equal(rc, MT_EINVAL);
	assert_null(next);
	char want[4200];
	snprintf(want, sizeof want, "%s:4: negative rate: per_second = -1", path);
	assert_string_equal(err.msg, want);
	if (rc == 0) {
		mt_policy_free(current);
		current = next;
	}
	/* still the good file's policy: 0.85 → its tier 1 (50/s burst 10) */
	mt_policy_input in = {
	    .peer = "p", .scope = "s", .score = 0.85, .has_path = 1, .scope_gini = 0.65};
	mt_policy_decision d;
	assert_int_equal(mt_policy_eval(&d, current, &in, NULL), 0);
	assert_int_equal(d.constraints.allow, 0); /* enforce_gini with max_gini 0.6 */
	in.scope_gini = 0.5;
	assert_int_equal(mt_policy_eval(&d, current, &in, NULL), 0);
	assert_int_equal(d.tier, 1);
	assert_true(d.constraints.per_second == 50);
	assert_int_equal(d.constraints.burst, 10);
	mt_policy_free(current);
	free(path);
	mt_test_rmtree(dir);
	free(dir);
}

static void test_load_errors(void **state)
{
	(void)state;
	char *dir = mt_test_tmpdir();
	mt_error err = {0};
	mt_policy *p = NULL;
	char missing[4200];
	snprintf(missing, sizeof missing, "%s/none.toml", dir);
	assert_int_equal(mt_policy_load(&p, missing, &err), MT_ENOTFOUND);
	assert_null(p);
	assert_non_null(strstr(err.msg, "none.toml"));

	size_t big = MT_POLICY_MAX_FILE + 1;
	char *text = malloc(big);
	assert_non_null(text);
	memset(text, '#', big);
	char *path = write_file(dir, "big.toml", text, big);
	assert_int_equal(mt_policy_load(&p, path, &err), MT_ETOOBIG);
	assert_null(p);
	assert_int_equal(mt_policy_parse(&p, text, big, "big", &err), MT_ETOOBIG);
	free(path);
	/* exactly at the limit is fine (all comment) */
	path = write_file(dir, "limit.toml", text, big - 1);
	assert_int_equal(mt_policy_load(&p, path, &err), 0);
	assert_non_null(p);
	mt_policy_free(p);
	free(path);
	free(text);
	assert_int_equal(mt_policy_load(&p, dir, &err), MT_EIO); /* a directory */
	assert_null(p);
	assert_int_equal(mt_policy_load(NULL, dir, &err), MT_EINVAL);
	mt_test_rmtree(dir);
	free(dir);
}

static void test_format_round_trip(void **state)
{
	(void)state;
	mt_policy *def = NULL;
	assert_int_equal(mt_policy_default(&def), 0);
	char *text = NULL;
	assert_int_equal(mt_policy_format(&text, def), 0);
	assert_non_null(strstr(text, "max_gini = 0.7\n"));
	assert_non_null(strstr(text, "enforce_gini = false\n"));
	assert_non_null(strstr(text, "bridge_rule = \"lower\"\n"));
	assert_non_null(strstr(text, "[[tier]]\nmin_score = 0.7\nper_second = 200\nburst = 50\n"));
	mt_policy *back = parse_ok(text);
	assert_policy_equal(back, def);
	free(text);
	mt_policy_free(back);

	/* awkward doubles survive exactly */
	def->tiers[1].min_score = 0.1 + 0.2;
	def->tiers[2].per_second = 1.0 / 3.0;
	def->tiers[2].min_score = 1e-7;
	def->max_gini = 2.0 / 3.0;
	def->enforce_gini = 1;
	def->bridge_rule = MT_BRIDGE_NONE;
	def->max_topics = 0;
	def->max_connections = 4294967295u;
	assert_int_equal(mt_policy_format(&text, def), 0);
	back = parse_ok(text);
	assert_policy_equal(back, def);
	free(text);
	mt_policy_free(back);

	mt_policy *custom = parse_ok(good_text);
	assert_int_equal(mt_policy_format(&text, custom), 0);
	back = parse_ok(text);
	assert_policy_equal(back, custom);
	free(text);
	mt_policy_free(back);
	mt_policy_free(custom);

	def->tiers[1].min_score = 0.9; /* unsorted: refused */
	assert_int_equal(mt_policy_format(&text, def), MT_EINVAL);
	assert_null(text);
	mt_policy_free(def);
}

static void test_validate(void **state)
{
	(void)state;
	mt_policy *p = NULL;
	assert_int_equal(mt_policy_default(&p), 0);
	mt_error err = {0};
	assert_int_equal(mt_policy_validate(p, &err), 0);
	p->tiers[2].per_second = -1;
	assert_int_equal(mt_policy_validate(p, &err), MT_EINVAL);
	assert_string_equal(err.msg, "tier 3: negative rate: per_second must be > 0");
	p->tiers[2].per_second = 20;
	p->tiers[0].min_score = 0.4;
	assert_int_equal(mt_policy_validate(p, &err), MT_EINVAL);
	assert_non_null(strstr(err.msg, "tiers not sorted by descending min_score"));
	p->tiers[0].min_score = 0.7;
	p->tier_count = 0;
	assert_int_equal(mt_policy_validate(p, &err), MT_EINVAL);
	p->tier_count = 3;
	p->max_gini = 1.01;
	assert_int_equal(mt_policy_validate(p, &err), MT_EINVAL);
	assert_int_equal(mt_policy_validate(NULL, &err), MT_EINVAL);
	mt_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_full_file),
	    cmocka_unit_test(test_missing_keys_keep_defaults),
	    cmocka_unit_test(test_bad_files_are_refused_with_line_and_reason),
	    cmocka_unit_test(test_too_many_tiers),
	    cmocka_unit_test(test_previous_policy_stays_in_force),
	    cmocka_unit_test(test_load_errors),
	    cmocka_unit_test(test_format_round_trip),
	    cmocka_unit_test(test_validate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
