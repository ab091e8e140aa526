/* Every case of vectors/metrics-cases.json, every expected field, to 1e-9. */
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

static void expect_close(const char *case_name, const char *what, double expected, double actual)
{
	if (fabs(expected - actual) > TOLERANCE) {
		fail_msg("case %s: %s expected %.17g, got %.17g", case_name, what, expected,
		         actual);
	}
}

static const mt_metrics_node *find_node(const mt_metrics_result *result, const char *id)
{
	for (size_t i = 0; i < result->node_count; i++)
		if (strcmp(result->nodes[i].node_id, id) == 0)
			return &result->nodes[i];
	return NULL;
}

/* Check one per-node map ({"<id>": value}) against the result. */
static void check_node_map(const char *case_name, const char *what, json_t *map,
                           const mt_metrics_result *result, int betweenness)
{
	assert_non_null(map);
	assert_int_equal(json_object_size(map), result->node_count);
	const char *id;
	json_t *value;
	json_object_foreach(map, id, value)
	{
		const mt_metrics_node *node = find_node(result, id);
		if (!node)
			fail_msg("case %s: node %s missing from the result", case_name, id);
		char label[200];
		snprintf(label, sizeof label, "%s of %s", what, id);
		expect_close(case_name, label, json_number_value(value),
		             betweenness ? node->betweenness : node->inbound_trust);
	}
}

static void run_case(json_t *test_case, unsigned threads)
{
	const char *name = json_string_value(json_object_get(test_case, "name"));
	json_t *params = json_object_get(test_case, "params");
	json_t *edges_json = json_object_get(test_case, "edges");
	json_t *expect = json_object_get(test_case, "expect");
	assert_non_null(name);
	assert_non_null(edges_json);
	assert_non_null(expect);

	size_t count = json_array_size(edges_json);
	mt_edge_in *edges = calloc(count ? count : 1, sizeof *edges);
	assert_non_null(edges);
	for (size_t i = 0; i < count; i++) {
		json_t *e = json_array_get(edges_json, i);
		edges[i].src = json_string_value(json_object_get(e, "src"));
		edges[i].dst = json_string_value(json_object_get(e, "dst"));
		json_t *scope = json_object_get(e, "scope");
		edges[i].scope = scope ? json_string_value(scope) : "global";
		json_t *level = json_object_get(e, "level");
		const char *level_text = level ? json_string_value(level) : "full";
		edges[i].level = strcmp(level_text, "limited") == 0 ? MT_LEVEL_LIMITED
		                 : strcmp(level_text, "none") == 0  ? MT_LEVEL_NONE
		                                                    : MT_LEVEL_FULL;
		json_t *score = json_object_get(e, "score");
		edges[i].score = (uint16_t)(score ? json_integer_value(score) : 1000);
		json_t *exp = json_object_get(e, "exp");
		edges[i].exp = exp ? json_integer_value(exp) : 0;
	}

	mt_metrics_opts opts;
	mt_metrics_opts_init(&opts);
	opts.threads = threads;
	json_t *cap = json_object_get(params, "cap");
	if (cap)
		opts.cap = (uint32_t)json_integer_value(cap);
	json_t *cap_decay = json_object_get(params, "capdecay");
	if (cap_decay)
		opts.cap_decay = json_number_value(cap_decay);
	json_t *scope = json_object_get(params, "scope");
	if (scope)
		opts.scope = json_string_value(scope);
	json_t *at = json_object_get(params, "at");
	if (at)
		opts.at = json_integer_value(at);

	mt_metrics_result *result = NULL;
	mt_error err = {0};
	int rc = mt_metrics_compute(&result, edges, count, &opts, &err);
	if (rc != 0)
		fail_msg("case %s: compute failed: %s", name, err.msg);
	assert_non_null(result);

	assert_int_equal(result->node_count,
	                 (size_t)json_integer_value(json_object_get(expect, "node_count")));
	expect_close(name, "total_inbound_trust",
	             json_number_value(json_object_get(expect, "total_inbound_trust")),
	             result->total_inbound_trust);
	expect_close(name, "gini", json_number_value(json_object_get(expect, "gini")),
	             result->gini);
	expect_close(name, "top_10_percent_share",
	             json_number_value(json_object_get(expect, "top_10_percent_share")),
	             result->top_10_percent_share);
	json_t *bc = json_object_get(expect, "betweenness");
	assert_non_null(bc);
	expect_close(name, "betweenness.max", json_number_value(json_object_get(bc, "max")),
	             result->betweenness.max);
	expect_close(name, "betweenness.mean", json_number_value(json_object_get(bc, "mean")),
	             result->betweenness.mean);
	expect_close(name, "betweenness.std_dev", json_number_value(json_object_get(bc, "std_dev")),
	             result->betweenness.std_dev);
	check_node_map(name, "inbound", json_object_get(expect, "inbound"), result, 0);
	check_node_map(name, "betweenness", json_object_get(expect, "betweenness_by_node"), result,
	               1);

	/* Every expected key the test knows about was checked; refuse unknown
	 * ones so a new vector field cannot pass unnoticed. */
	const char *key;
	json_t *ignored;
	json_object_foreach(expect, key, ignored)
	{
		static const char *const known[] = {
		    "node_count",           "total_inbound_trust", "gini",
		    "top_10_percent_share", "betweenness",         "inbound",
		    "betweenness_by_node"};
		int found = 0;
		for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
			found |= strcmp(key, known[k]) == 0;
		if (!found)
			fail_msg("case %s: unknown expected field %s", name, key);
	}
	json_object_foreach(params, key, ignored)
	{
		if (strcmp(key, "cap") && strcmp(key, "capdecay") && strcmp(key, "scope") &&
		    strcmp(key, "at"))
			fail_msg("case %s: unknown param %s", name, key);
	}

	mt_metrics_result_free(result);
	free(edges);
}

static void run_all(unsigned threads)
{
	json_t *root = mt_test_load_vector("metrics-cases.json");
	json_t *cases = json_object_get(root, "cases");
	assert_true(json_array_size(cases) >= 4);
	size_t i;
	json_t *test_case;
	json_array_foreach(cases, i, test_case)
	{
		run_case(test_case, threads);
	}
	json_decref(root);
}

static void test_vectors_one_thread(void **state)
{
	(void)state;
	run_all(1);
}

static void test_vectors_two_threads(void **state)
{
	(void)state;
	run_all(2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors_one_thread),
	    cmocka_unit_test(test_vectors_two_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
