/* mt_view_dumps: every real in its shortest form that reads back as the same
 * double; integers, strings (with digits and escapes) untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/views.h"

static void test_examples(void **state)
{
	(void)state;
	json_t *v = json_pack("{s:f,s:f,s:f,s:f,s:i,s:s,s:f,s:f,s:[f,f]}", "a", 0.9, "b", 0.7,
			      "c", 200.0, "d", 1.0, "e", 42, "f", "0.90000000000000002 \"1e5\"",
			      "g", 1e-300, "h", -0.125, "i", 0.1 + 0.2, 1e20);
	char *s = mt_view_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(s);
	assert_string_equal(s, "{\"a\":0.9,\"b\":0.7,\"c\":200.0,\"d\":1.0,\"e\":42,"
			       "\"f\":\"0.90000000000000002 \\\"1e5\\\"\",\"g\":1e-300,"
			       "\"h\":-0.125,\"i\":[0.30000000000000004,1e20]}");
	free(s);
	json_decref(v);
}

/* Random doubles of every magnitude read back exactly, never longer than
 * jansson's %.17g. */
static void test_round_trip(void **state)
{
	(void)state;
	srand(7);
	for (int i = 0; i < 20000; i++) {
		double d;
		uint64_t bits = ((uint64_t)rand() << 42) ^ ((uint64_t)rand() << 21) ^ (uint64_t)rand();
		memcpy(&d, &bits, sizeof d);
		if (!isfinite(d))
			continue;
		if (i % 2)
			d = (double)rand() / RAND_MAX * pow(10, rand() % 20 - 10);
		json_t *a = json_pack("[f]", d);
		char *s = mt_view_dumps(a, JSON_COMPACT);
		char *ref = json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(17));
		assert_non_null(s);
		assert_true(strlen(s) <= strlen(ref));
		json_t *back = json_loads(s, 0, NULL);
		assert_non_null(back);
		assert_true(json_is_real(json_array_get(back, 0)));
		assert_true(json_real_value(json_array_get(back, 0)) == d);
		json_decref(back);
		json_decref(a);
		free(s);
		free(ref);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples),
		cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
