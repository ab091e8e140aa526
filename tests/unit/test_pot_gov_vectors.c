/* tests/vectors/governance.json (format: docs/governance.md): signed
 * statements made by real homes, with the outcomes, tallies, refusals and
 * policy SPEC §9.3 gives them; mt_gov_derive must give exactly those, in the
 * file's order and reversed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/gov.h"

static json_t *load(void)
{
	char path[4096];
	snprintf(path, sizeof path, "%s", __FILE__);
	char *slash = strrchr(path, '/');
	if (slash)
		slash[1] = '\0';
	else
		path[0] = '\0';
	size_t len = strlen(path);
	snprintf(path + len, sizeof path - len, "../vectors/governance.json");
	json_error_t je;
	json_t *v = json_load_file(path, 0, &je);
	if (!v)
		fail_msg("cannot read %s: %s", path, je.text);
	return v;
}

static void check_case(json_t *c, int reversed)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	json_t *lines = json_object_get(c, "statements"), *expect = json_object_get(c, "expect");
	size_t n = json_array_size(lines);
	mt_stmt **st = calloc(n ? n : 1, sizeof *st);
	assert_non_null(st);
	for (size_t i = 0; i < n; i++) {
		const char *t = json_string_value(json_array_get(lines, reversed ? n - 1 - i : i));
		mt_error err = {0};
		if (mt_stmt_decode(&st[i], t, strlen(t), INT64_MAX, &err) != 0)
			fail_msg("%s: statement %zu: %s", name, i, err.msg);
	}
	mt_gov_state *gs = NULL;
	assert_int_equal(mt_gov_derive(&gs, (const mt_stmt *const *)st, n,
				       json_integer_value(json_object_get(c, "at")), NULL, 0, NULL,
				       NULL),
			 0);
	const char *id;
	json_t *want;
	json_object_foreach(json_object_get(expect, "proposals"), id, want)
	{
		const mt_gov_proposal *p = mt_gov_proposal_get(gs, id, NULL);
		if (!p)
			fail_msg("%s: proposal %s had no effect", name, id);
		assert_string_equal(mt_gov_outcome_name(p->outcome),
				    json_string_value(json_object_get(want, "outcome")));
		assert_int_equal(p->yes, json_integer_value(json_object_get(want, "yes")));
		assert_int_equal(p->no, json_integer_value(json_object_get(want, "no")));
		assert_int_equal(p->n_voters, json_integer_value(json_object_get(want, "voters")));
	}
	json_object_foreach(json_object_get(expect, "refused"), id, want)
	{
		const mt_gov_refusal *r = mt_gov_refusal_get(gs, id);
		if (!r || !strstr(r->reason, json_string_value(want)))
			fail_msg("%s: %s not refused for \"%s\" (%s)", name, id, json_string_value(want),
				 r ? r->reason : "it counted");
	}
	assert_int_equal(gs->n_communities, 1);
	json_t *pol = mt_gov_policy_json(&gs->communities[0].policy, 0);
	if (!json_equal(pol, json_object_get(expect, "policy"))) {
		char *got = json_dumps(pol, JSON_SORT_KEYS);
		fail_msg("%s: community policy %s", name, got);
	}
	json_decref(pol);
	mt_gov_state_free(gs);
	for (size_t i = 0; i < n; i++)
		mt_stmt_free(st[i]);
	free(st);
}

static void test_vectors(void **state)
{
	(void)state;
	json_t *v = load(), *c;
	size_t i;
	assert_true(json_array_size(json_object_get(v, "cases")) >= 2);
	json_array_foreach(json_object_get(v, "cases"), i, c)
	{
		check_case(c, 0);
		check_case(c, 1);
	}
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_vectors)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
