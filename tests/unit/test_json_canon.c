/* Canonical JSON (SPEC §2): checker, parser and writer against the shared
 * vectors and a table of edge cases, in both directions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meshtrust/canon.h"
#include "testutil.h"

/* ---- helpers ---------------------------------------------------------- */

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Check `text[0..len)`; expect acceptance when reason is NULL, otherwise the
 * given code and a message starting with `reason`. */
static void want_check(const char *text, size_t len, int code, const char *reason)
{
	mt_error err = {0};
	int rc = mt_canon_check(text, len, &err);
	if (!reason) {
		if (rc != 0)
			fail_msg("refused %.*s: %s", (int)(len < 200 ? len : 200), text, err.msg);
		return;
	}
	if (rc == 0)
		fail_msg("accepted %.*s (expected \"%s\")", (int)(len < 200 ? len : 200), text,
		         reason);
	if (rc != code || err.code != code || !starts_with(err.msg, reason))
		fail_msg("%.*s: got %d \"%s\", expected %d \"%s...\"", (int)(len < 200 ? len : 200),
		         text, rc, err.msg, code, reason);
}

/* Parse then dump must give back exactly the input. */
static void want_round_trip(const char *text, size_t len)
{
	mt_error err = {0};
	json_t *tree = NULL;
	char *dumped = NULL;
	size_t dumped_len = 0;

	if (mt_canon_parse(&tree, text, len, &err) != 0)
		fail_msg("parse refused %.*s: %s", (int)len, text, err.msg);
	assert_non_null(tree);
	if (mt_canon_dump(&dumped, &dumped_len, tree, &err) != 0)
		fail_msg("dump refused parse of %.*s: %s", (int)len, text, err.msg);
	assert_int_equal(dumped_len, len);
	assert_memory_equal(dumped, text, len);
	assert_int_equal(dumped[dumped_len], '\0');
	free(dumped);
	json_decref(tree);
}

/* Dump `v`, expecting exactly `expected` (NUL-terminated). */
static void want_dump(const json_t *v, const char *expected)
{
	mt_error err = {0};
	char *out = NULL;
	size_t len = 0;
	if (mt_canon_dump(&out, &len, v, &err) != 0)
		fail_msg("dump refused: %s", err.msg);
	assert_int_equal(len, strlen(expected));
	assert_string_equal(out, expected);
	/* What the writer produces, the checker accepts. */
	if (json_is_object(v))
		want_check(out, len, 0, NULL);
	free(out);
}

/* Dump must refuse `v` with MT_EINVAL and a message starting with `reason`. */
static void want_dump_refused(const json_t *v, const char *reason)
{
	mt_error err = {0};
	char *out = (char *)"sentinel";
	size_t len = 99;
	int rc = mt_canon_dump(&out, &len, v, &err);
	if (rc != MT_EINVAL || !starts_with(err.msg, reason))
		fail_msg("dump: got %d \"%s\", expected EINVAL \"%s...\"", rc, err.msg, reason);
	assert_null(out);
	assert_int_equal(len, 0);
}

/* ---- (1) and (2): the shared vectors ---------------------------------- */

static void test_vectors_valid(void **state)
{
	(void)state;
	json_t *vec = mt_test_load_vector("statements.json");
	json_t *valid = json_object_get(vec, "valid");
	json_t *forks = json_object_get(vec, "equivocation");
	size_t i;
	json_t *item;

	assert_true(json_array_size(valid) >= 6);
	json_array_foreach(valid, i, item)
	{
		const char *text = json_string_value(json_object_get(item, "canonical"));
		assert_non_null(text);
		want_check(text, strlen(text), 0, NULL);
		want_round_trip(text, strlen(text));
	}
	assert_int_equal(json_array_size(forks), 2);
	json_array_foreach(forks, i, item)
	{
		const char *text = json_string_value(item);
		want_check(text, strlen(text), 0, NULL);
		want_round_trip(text, strlen(text));
	}
	json_decref(vec);
}

static void test_vectors_invalid(void **state)
{
	(void)state;
	json_t *vec = mt_test_load_vector("statements.json");
	json_t *invalid = json_object_get(vec, "invalid");
	size_t i, canon_cases = 0, other_cases = 0;
	json_t *item;

	json_array_foreach(invalid, i, item)
	{
		const char *reason = json_string_value(json_object_get(item, "reason"));
		const char *text = json_string_value(json_object_get(item, "text"));
		assert_non_null(reason);
		assert_non_null(text);
		if (starts_with(reason, "not JSON")) {
			want_check(text, strlen(text), MT_EINVAL, reason);
			canon_cases++;
		} else if (starts_with(reason, "not canonical") || starts_with(reason, "U+0000") ||
		           starts_with(reason, "null value")) {
			want_check(text, strlen(text), MT_ECANON, reason);
			canon_cases++;
		} else {
			/* Refused by the statement layer (signature, fields, ranges):
			 * these texts are canonical and must get that far. */
			want_check(text, strlen(text), 0, NULL);
			want_round_trip(text, strlen(text));
			other_cases++;
		}
	}
	assert_true(canon_cases >= 9);
	assert_true(other_cases >= 1);

	/* The non-canonical renderings of valid[0] hold the same data: the writer
	 * turns them into exactly the canonical text. */
	const char *canonical = json_string_value(
	    json_object_get(json_array_get(json_object_get(vec, "valid"), 0), "canonical"));
	json_array_foreach(invalid, i, item)
	{
		const char *reason = json_string_value(json_object_get(item, "reason"));
		if (strcmp(reason, "not canonical: white space") != 0 &&
		    strcmp(reason, "not canonical: keys out of order") != 0)
			continue;
		json_t *loose =
		    json_loads(json_string_value(json_object_get(item, "text")), 0, NULL);
		assert_non_null(loose);
		want_dump(loose, canonical);
		json_decref(loose);
	}
	json_decref(vec);
}

/* Every proper prefix of a valid statement is refused as not JSON. */
static void test_truncated_prefixes(void **state)
{
	(void)state;
	json_t *vec = mt_test_load_vector("statements.json");
	size_t i;
	json_t *item;

	json_array_foreach(json_object_get(vec, "valid"), i, item)
	{
		const char *text = json_string_value(json_object_get(item, "canonical"));
		size_t len = strlen(text);
		for (size_t cut = 0; cut < len; cut++) {
			mt_error err = {0};
			int rc = mt_canon_check(text, cut, &err);
			if (rc != MT_EINVAL || !starts_with(err.msg, "not JSON"))
				fail_msg("prefix of %zu bytes: got %d \"%s\"", cut, rc, err.msg);
			json_t *tree = (json_t *)text; /* must be reset to NULL */
			assert_int_equal(mt_canon_parse(&tree, text, cut, NULL), MT_EINVAL);
			assert_null(tree);
		}
	}
	json_decref(vec);
}

/* ---- (3) edge cases of the checker ------------------------------------ */

typedef struct edge_case {
	const char *text;
	size_t len;
	int code;           /* 0 = accepted */
	const char *reason; /* message prefix when refused */
} edge_case;

#define OK(s)                                                                                      \
	{                                                                                          \
		s, sizeof(s) - 1, 0, NULL                                                          \
	}
#define BAD(s, code, reason)                                                                       \
	{                                                                                          \
		s, sizeof(s) - 1, code, reason                                                     \
	}
#define NOTJSON(s) BAD(s, MT_EINVAL, "not JSON")
#define NOTCANON(s, why) BAD(s, MT_ECANON, "not canonical: " why)

static const edge_case edge_cases[] = {
    /* top level and structure */
    OK("{}"),
    OK("{\"a\":{}}"),
    OK("{\"a\":[]}"),
    OK("{\"a\":[1,2,{\"b\":true,\"c\":false}],\"d\":[[]]}"),
    BAD("", MT_EINVAL, "not JSON: unexpected end of input at byte 0"),
    BAD("[]", MT_EINVAL, "not JSON: top level is not an object"),
    BAD("1", MT_EINVAL, "not JSON: top level is not an object"),
    BAD("\"a\"", MT_EINVAL, "not JSON: top level is not an object"),
    BAD("\xef\xbb\xbf{}", MT_EINVAL, "not JSON: top level is not an object"),
    BAD("{}x", MT_EINVAL, "not JSON: trailing bytes at byte 2"),
    BAD("{}{}", MT_EINVAL, "not JSON: trailing bytes"),
    NOTJSON("{"),
    NOTJSON("{\"a\"}"),
    NOTJSON("{\"a\":}"),
    NOTJSON("{\"a\":1,}"),
    NOTJSON("{,}"),
    NOTJSON("{\"a\":1"),
    NOTJSON("{\"a\":[1,]}"),
    NOTJSON("{\"a\":[,1]}"),
    NOTJSON("{a:1}"),
    NOTJSON("{'a':1}"),
    NOTJSON("{\"a\":1]"),
    NOTJSON("{\"a\":[1}"),
    NOTJSON("{\"a\":1:2}"),
    NOTJSON("{\"a\"=1}"),
    /* white space, anywhere outside strings */
    OK("{\"a b\":\" \"}"),
    BAD(" {}", MT_ECANON, "not canonical: white space at byte 0"),
    BAD("{} ", MT_ECANON, "not canonical: white space at byte 2"),
    NOTCANON("{}\n", "white space"),
    NOTCANON("{ }", "white space"),
    NOTCANON("{ \"a\":1}", "white space"),
    NOTCANON("{\"a\" :1}", "white space"),
    BAD("{\"a\": 1}", MT_ECANON, "not canonical: white space at byte 5"),
    NOTCANON("{\"a\":1 }", "white space"),
    NOTCANON("{\"a\":1,\t\"b\":2}", "white space"),
    NOTCANON("{\"a\":[1,\r2]}", "white space"),
    NOTCANON("{\"a\":[ ]}", "white space"),
    /* key order: decoded UTF-8 bytes, every level */
    OK("{\"a\":1,\"ab\":2,\"b\":3}"),
    OK("{\"A\":1,\"Z\":2,\"a\":3}"),
    OK("{\"z\":1,\"\xc3\xa9\":2}"),
    OK("{\"b\":{\"z\":1},\"c\":{\"a\":1}}"),
    OK("{\"\\t\":1,\"A\":2}"), /* decoded 0x09 < 0x41, though '\\' > 'A' */
    OK("{\"\\u0001\":1,\"\\u0002\":2,\"\\b\":3}"),
    OK("{\"\\\"\":1,\"\\\\\":2}"),
    BAD("{\"b\":1,\"a\":2}", MT_ECANON, "not canonical: keys out of order at byte 7"),
    NOTCANON("{\"ab\":1,\"a\":2}", "keys out of order"),
    NOTCANON("{\"\xc3\xa9\":1,\"z\":2}", "keys out of order"),
    NOTCANON("{\"A\":1,\"\\t\":2}", "keys out of order"),
    NOTCANON("{\"\\u0002\":1,\"\\u0001\":2}", "keys out of order"),
    NOTCANON("{\"\\\\\":1,\"\\\"\":2}", "keys out of order"),
    NOTCANON("{\"x\":{\"b\":1,\"a\":2}}", "keys out of order"),
    NOTCANON("{\"x\":[{\"a\":1,\"b\":2},{\"b\":1,\"a\":2}]}", "keys out of order"),
    NOTCANON("{\"a\":1,\"b\":2,\"a\":3}", "keys out of order"),
    BAD("{\"a\":1,\"a\":2}", MT_ECANON, "not canonical: duplicate key at byte 7"),
    NOTCANON("{\"\\u0001\":1,\"\\u0001\":2}", "duplicate key"),
    NOTCANON("{\"x\":[{\"k\":1,\"k\":1}]}", "duplicate key"),
    /* numbers */
    OK("{\"a\":0}"),
    OK("{\"a\":7,\"b\":10,\"c\":1700000000}"),
    OK("{\"a\":9007199254740991}"),
    NOTCANON("{\"a\":9007199254740992}", "integer out of range"),
    NOTCANON("{\"a\":10000000000000000}", "integer out of range"),
    NOTCANON("{\"a\":99999999999999999999999999}", "integer out of range"),
    NOTCANON("{\"a\":-1}", "negative number"),
    NOTCANON("{\"a\":-0}", "negative number"),
    NOTCANON("{\"a\":-1.5e3}", "negative number"),
    NOTCANON("{\"a\":00}", "leading zero"),
    NOTCANON("{\"a\":01000}", "leading zero"),
    NOTCANON("{\"a\":1.0}", "fraction"),
    NOTCANON("{\"a\":0.5}", "fraction"),
    NOTCANON("{\"a\":0.5e1}", "fraction"),
    NOTCANON("{\"a\":1e3}", "exponent"),
    NOTCANON("{\"a\":1E+3}", "exponent"),
    NOTCANON("{\"a\":[1,2e-1]}", "exponent"),
    NOTJSON("{\"a\":-}"),
    NOTJSON("{\"a\":1.}"),
    NOTJSON("{\"a\":1.e3}"),
    NOTJSON("{\"a\":1e}"),
    NOTJSON("{\"a\":1e+}"),
    NOTJSON("{\"a\":+1}"),
    NOTJSON("{\"a\":.5}"),
    NOTJSON("{\"a\":1x}"),
    NOTJSON("{\"a\":0x10}"),
    /* literals */
    OK("{\"a\":true,\"b\":false}"),
    BAD("{\"a\":null}", MT_ECANON, "null value at byte 5"),
    BAD("{\"a\":[1,null]}", MT_ECANON, "null value"),
    NOTJSON("{\"a\":nul}"),
    NOTJSON("{\"a\":nulll}"),
    NOTJSON("{\"a\":True}"),
    NOTJSON("{\"a\":truth}"),
    NOTJSON("{\"a\":fals}"),
    /* strings: escapes */
    OK("{\"a\":\"\\b\\f\\n\\r\\t\\\"\\\\\"}"),
    OK("{\"a\":\"\\u0001\\u001f\\u000b\\u001b\"}"),
    NOTCANON("{\"a\":\"\\u001F\"}", "upper-case escape"),
    NOTCANON("{\"a\":\"\\u001B\"}", "upper-case escape"),
    NOTCANON("{\"a\":\"\\u000a\"}", "long escape for short form"),
    NOTCANON("{\"a\":\"\\u000A\"}", "long escape for short form"),
    NOTCANON("{\"a\":\"\\u0008\"}", "long escape for short form"),
    NOTCANON("{\"a\":\"\\u0022\"}", "long escape for short form"),
    NOTCANON("{\"a\":\"\\u005c\"}", "long escape for short form"),
    NOTCANON("{\"a\":\"\\/\"}", "unnecessary escape"),
    NOTCANON("{\"a\":\"\\u0041\"}", "unnecessary escape"),
    NOTCANON("{\"a\":\"\\u0020\"}", "unnecessary escape"),
    NOTCANON("{\"a\":\"\\u007f\"}", "unnecessary escape"),
    NOTCANON("{\"a\":\"\\u00e9\"}", "unnecessary escape"),
    NOTCANON("{\"a\":\"\\u00E9\"}", "unnecessary escape"),
    NOTCANON("{\"a\":\"\\u4e2d\"}", "unnecessary escape"),
    NOTCANON("{\"a\":\"\\ud83d\\ude00\"}", "unnecessary escape"),
    NOTCANON("{\"\\u0041\":1}", "unnecessary escape"),
    BAD("{\"a\":\"\\u0000\"}", MT_ECANON, "U+0000 in a string at byte 6"),
    BAD("{\"a\":\"x\0\"}", MT_ECANON, "U+0000 in a string at byte 7"),
    BAD("{\"\0\":1}", MT_ECANON, "U+0000 in a string"),
    NOTJSON("{\"a\":\"\\x41\"}"),
    NOTJSON("{\"a\":\"\\U0041\"}"),
    NOTJSON("{\"a\":\"\\u12\"}"),
    NOTJSON("{\"a\":\"\\uzzzz\"}"),
    NOTJSON("{\"a\":\"\\ud83d\"}"),
    NOTJSON("{\"a\":\"\\ud83dx\"}"),
    NOTJSON("{\"a\":\"\\ud83d\\n\"}"),
    NOTJSON("{\"a\":\"\\ud83d\\u0041\"}"),
    NOTJSON("{\"a\":\"\\ude00\"}"),
    NOTJSON("{\"a\":\"line\nbreak\"}"),
    NOTJSON("{\"a\":\"tab\tinside\"}"),
    NOTJSON("{\"a\":\"\x1f\"}"),
    NOTJSON("{\"a\":\"open}"),
    /* strings: raw characters and UTF-8 */
    OK("{\"a\":\"\x7f\"}"),
    OK("{\"a\":\"/\"}"),
    OK("{\"a\":\"\xc3\xa9\xe4\xb8\xad\"}"),
    OK("{\"a\":\"\xc2\x80\xdf\xbf\"}"),
    OK("{\"a\":\"\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\"}"),
    OK("{\"a\":\"\xf0\x9f\x98\x80\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"}"),
    OK("{\"\xc3\xa9\":\"\xe2\x80\x94\"}"),
    BAD("{\"a\":\"\xc0\xaf\"}", MT_EINVAL, "not JSON: invalid UTF-8 at byte 6"),
    BAD("{\"a\":\"\xc1\xbf\"}", MT_EINVAL, "not JSON: invalid UTF-8"),
    BAD("{\"a\":\"\xe0\x80\xaf\"}", MT_EINVAL, "not JSON: invalid UTF-8"),
    BAD("{\"a\":\"\xe0\x9f\xbf\"}", MT_EINVAL, "not JSON: invalid UTF-8"),
    BAD("{\"a\":\"\xf0\x80\x80\xaf\"}", MT_EINVAL, "not JSON: invalid UTF-8"),
    BAD("{\"a\":\"\xf0\x8f\xbf\xbf\"}", MT_EINVAL, "not JSON: invalid UTF-8"),
    BAD("{\"a\":\"\xed\xa0\x80\"}", MT_EINVAL, "not JSON: invalid UTF-8"),
    BAD("{\"a\":\"\xed\xbf\xbf\"}", MT_EINVAL, "not JSON: invalid UTF-8"),
    BAD("{\"a\":\"\xf4\x90\x80\x80\"}", MT_EINVAL, "not JSON: invalid UTF-8"),
    BAD("{\"a\":\"\xf5\x80\x80\x80\"}", MT_EINVAL, "not JSON: invalid UTF-8"),
    BAD("{\"a\":\"\xff\"}", MT_EINVAL, "not JSON: invalid UTF-8"),
    BAD("{\"a\":\"\x80\"}", MT_EINVAL, "not JSON: invalid UTF-8"),
    BAD("{\"a\":\"\xc3\"}", MT_EINVAL, "not JSON: invalid UTF-8"),
    BAD("{\"a\":\"\xe4\xb8\"}", MT_EINVAL, "not JSON: invalid UTF-8"),
    BAD("{\"a\":\"\xc3\xa9\xa9\"}", MT_EINVAL, "not JSON: invalid UTF-8 at byte 8"),
    BAD("{\"\xc3\x28\":1}", MT_EINVAL, "not JSON: invalid UTF-8 at byte 2"),
    BAD("{\"a\":1,\xc3\xa9}", MT_EINVAL, "not JSON: expected a string key at byte 7"),
    /* the first canonical rule broken, reading left to right... */
    NOTCANON("{\"b\":1,\"a\":-1}", "keys out of order"),
    NOTCANON("{\"a\":-1,\"a\":1}", "negative number"),
    NOTCANON("{\"a\":1, \"a\":1}", "white space"),
    NOTCANON("{\"a\":\"\\u0041\",\"a\":null}", "unnecessary escape"),
    NOTCANON("{\"\\u0062\":1,\"a\":null}", "unnecessary escape"),
    BAD("{\"b\":1,\"a\":null}", MT_ECANON, "not canonical: keys out of order at byte 7"),
    /* ...but not being JSON comes first */
    BAD("{\"b\":1,\"a\":2", MT_EINVAL, "not JSON: unexpected end of input at byte 12"),
    BAD("{ \"a\":1,}", MT_EINVAL, "not JSON: expected a string key at byte 8"),
    BAD("{\"a\":-1x}", MT_EINVAL, "not JSON: expected ',' or '}' at byte 7"),
    BAD("{\"a\":null,\"b\":\"\xff\"}", MT_EINVAL, "not JSON: invalid UTF-8 at byte 15"),
    BAD("{\"a\":\"\\u0000\"} x", MT_EINVAL, "not JSON: trailing bytes at byte 15"),
    BAD("[\"a\", 1]", MT_EINVAL, "not JSON: top level is not an object"),
};

static void test_edge_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof edge_cases / sizeof edge_cases[0]; i++) {
		const edge_case *c = &edge_cases[i];
		want_check(c->text, c->len, c->code, c->reason);
		json_t *tree = NULL;
		mt_error err = {0};
		int rc = mt_canon_parse(&tree, c->text, c->len, &err);
		assert_int_equal(rc, c->code);
		if (c->code == 0) {
			assert_non_null(tree);
			json_decref(tree);
			want_round_trip(c->text, c->len);
		} else {
			assert_null(tree);
			assert_true(starts_with(err.msg, c->reason));
		}
	}
}

/* Nesting: the top object counts as level 1; 64 levels pass, 65 do not. */
static char *nested_text(int levels)
{
	/* {"a": + (levels-1) * "[" + "1" + (levels-1) * "]" + } */
	size_t len = 5 + 2 * (size_t)(levels - 1) + 2;
	char *text = malloc(len + 1);
	assert_non_null(text);
	size_t n = 0;
	memcpy(text, "{\"a\":", 5);
	n = 5;
	for (int i = 1; i < levels; i++)
		text[n++] = '[';
	text[n++] = '1';
	for (int i = 1; i < levels; i++)
		text[n++] = ']';
	text[n++] = '}';
	text[n] = '\0';
	return text;
}

static void test_nesting_limit(void **state)
{
	(void)state;
	char *ok = nested_text(MT_CANON_MAX_DEPTH);
	want_check(ok, strlen(ok), 0, NULL);
	want_round_trip(ok, strlen(ok));
	char *deep = nested_text(MT_CANON_MAX_DEPTH + 1);
	want_check(deep, strlen(deep), MT_ETOOBIG, "nesting too deep");
	free(ok);
	free(deep);

	/* Far deeper than the limit: refused early, no stack growth. */
	size_t huge = 100000;
	char *bomb = malloc(huge);
	assert_non_null(bomb);
	bomb[0] = '{';
	memcpy(bomb + 1, "\"a\":", 4);
	memset(bomb + 5, '[', huge - 5);
	want_check(bomb, huge, MT_ETOOBIG, "nesting too deep");
	free(bomb);
}

/* A canonical text of exactly `len` bytes: {"a":"xxx...x"}. */
static char *sized_text(size_t len)
{
	char *text = malloc(len + 1);
	assert_non_null(text);
	memcpy(text, "{\"a\":\"", 6);
	memset(text + 6, 'x', len - 8);
	memcpy(text + len - 2, "\"}", 3);
	return text;
}

static void test_size_limit(void **state)
{
	(void)state;
	char *text = sized_text(MT_CANON_MAX);
	want_check(text, MT_CANON_MAX, 0, NULL);
	want_round_trip(text, MT_CANON_MAX);
	free(text);

	text = sized_text(MT_CANON_MAX + 1);
	want_check(text, MT_CANON_MAX + 1, MT_ETOOBIG, "too large: 131073 bytes (max 131072)");
	json_t *tree = NULL;
	assert_int_equal(mt_canon_parse(&tree, text, MT_CANON_MAX + 1, NULL), MT_ETOOBIG);
	assert_null(tree);
	free(text);
}

static void test_check_arguments(void **state)
{
	(void)state;
	mt_error err = {0};
	assert_int_equal(mt_canon_check(NULL, 0, &err), MT_EINVAL);
	assert_true(starts_with(err.msg, "not JSON"));
	assert_int_equal(mt_canon_check(NULL, 5, &err), MT_EINVAL);
	/* err is optional */
	assert_int_equal(mt_canon_check("{}", 2, NULL), 0);
	assert_int_equal(mt_canon_check("{} ", 3, NULL), MT_ECANON);
	/* len is honoured: bytes past it are not read */
	assert_int_equal(mt_canon_check("{}garbage", 2, NULL), 0);
}

/* Integers parse to exact json_int_t values. */
static void test_parse_values(void **state)
{
	(void)state;
	const char *text =
	    "{\"big\":9007199254740991,\"f\":false,\"s\":\"\\u0001\\n\xc3\xa9\",\"t\":true}";
	json_t *tree = NULL;
	assert_int_equal(mt_canon_parse(&tree, text, strlen(text), NULL), 0);
	assert_true(json_is_integer(json_object_get(tree, "big")));
	assert_true(json_integer_value(json_object_get(tree, "big")) == INT64_C(9007199254740991));
	assert_true(json_is_false(json_object_get(tree, "f")));
	assert_true(json_is_true(json_object_get(tree, "t")));
	assert_string_equal(json_string_value(json_object_get(tree, "s")), "\x01\n\xc3\xa9");
	json_decref(tree);
}

/* ---- (4) the writer --------------------------------------------------- */

static void test_dump_sorts_and_escapes(void **state)
{
	(void)state;
	json_t *root = json_object();
	json_t *inner = json_object();
	json_t *list = json_array();

	/* inserted out of order on purpose */
	json_object_set_new(inner, "zeta", json_integer(9007199254740991));
	json_object_set_new(inner, "alpha", json_integer(0));
	json_object_set_new(inner, "al", json_true());
	json_object_set_new(root, "\xc3\xa9t\xc3\xa9", json_string("summer"));
	json_object_set_new(root, "type", json_string("lesson"));
	json_object_set_new(root, "Z", json_false());
	json_object_set_new(root, "a\nb", json_integer(7));
	json_object_set_new(root, "nested", inner);
	json_object_set_new(root, "\\", json_string("backslash key"));
	json_array_append_new(list, json_string("quote\" back\\slash / solidus"));
	json_array_append_new(list, json_string("ctl\x01\x08\x09\x0a\x0b\x0c\x0d\x1b\x1f del\x7f"));
	json_array_append_new(list, json_string("\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80"));
	json_array_append_new(list, json_array());
	json_array_append_new(list, json_object());
	json_object_set_new(root, "list", list);

	want_dump(root, "{\"Z\":false,"
	                "\"\\\\\":\"backslash key\","
	                "\"a\\nb\":7,"
	                "\"list\":[\"quote\\\" back\\\\slash / solidus\","
	                "\"ctl\\u0001\\b\\t\\n\\u000b\\f\\r\\u001b\\u001f del\x7f\","
	                "\"\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\",[],{}],"
	                "\"nested\":{\"al\":true,\"alpha\":0,\"zeta\":9007199254740991},"
	                "\"type\":\"lesson\","
	                "\"\xc3\xa9t\xc3\xa9\":\"summer\"}");
	json_decref(root);

	/* Keys compare as bytes, shorter prefix first, control characters first. */
	root = json_object();
	json_object_set_new(root, "b", json_integer(3));
	json_object_set_new(root, "ab", json_integer(2));
	json_object_set_new(root, "a", json_integer(1));
	json_object_set_new(root, "\t", json_integer(0));
	json_object_set_new(root, "A", json_integer(0));
	want_dump(root, "{\"\\t\":0,\"A\":0,\"a\":1,\"ab\":2,\"b\":3}");
	json_decref(root);

	/* Any value, not only objects. */
	json_t *scalar = json_string("x");
	want_dump(scalar, "\"x\"");
	json_decref(scalar);
	want_dump(json_true(), "true");
}

static void test_dump_refusals(void **state)
{
	(void)state;
	json_t *root = json_pack("{s:s, s:f}", "level", "full", "score", 1000.0);
	want_dump_refused(root, "score: real number");
	json_decref(root);

	root = json_pack("{s:{s:n}}", "params", "period");
	want_dump_refused(root, "params.period: null value");
	json_decref(root);

	root = json_pack("{s:[i,i]}", "labels", 1, -1);
	want_dump_refused(root, "labels[1]: negative integer");
	json_decref(root);

	root = json_pack("{s:I}", "ts", (json_int_t)INT64_C(9007199254740992));
	want_dump_refused(root, "ts: integer out of range");
	json_decref(root);

	root = json_pack("{s:I}", "ts", (json_int_t)INT64_MIN);
	want_dump_refused(root, "ts: negative integer");
	json_decref(root);

	root = json_object();
	json_object_set_new(root, "title", json_stringn("nul\0", 4));
	want_dump_refused(root, "title: U+0000 in a string");
	json_decref(root);

	root = json_object();
	json_object_set_new(root, "body", json_stringn_nocheck("\xc3\x28", 2));
	want_dump_refused(root, "body: invalid UTF-8 in a string");
	json_decref(root);

	root = json_object();
	json_object_set_new(root, "body", json_stringn_nocheck("\xed\xa0\x80", 3));
	want_dump_refused(root, "body: invalid UTF-8 in a string");
	json_decref(root);

	root = json_object();
	json_object_setn_new_nocheck(root, "k\0y", 3, json_integer(1));
	want_dump_refused(root, "k?y: U+0000 in a key");
	json_decref(root);

	root = json_object();
	json_object_set_new_nocheck(root, "\xc0\xaf", json_integer(1));
	want_dump_refused(root, "??: invalid UTF-8 in a key");
	json_decref(root);

	want_dump_refused(json_null(), "(top level): null value");
	json_t *real = json_real(0.5);
	want_dump_refused(real, "(top level): real number");
	json_decref(real);

	mt_error err = {0};
	char *out = NULL;
	size_t len = 0;
	assert_int_equal(mt_canon_dump(&out, &len, NULL, &err), MT_EINVAL);
	assert_null(out);
}

static void test_dump_depth(void **state)
{
	(void)state;
	/* MT_CANON_MAX_DEPTH containers pass, one more is refused. */
	json_t *root = json_object();
	json_t *cur = json_array();
	json_object_set_new(root, "a", cur);
	for (int level = 2; level < MT_CANON_MAX_DEPTH; level++) {
		json_t *next = json_array();
		json_array_append_new(cur, next);
		cur = next;
	}
	char *text = nested_text(MT_CANON_MAX_DEPTH);
	/* nested_text ends the innermost array with 1 */
	json_array_append_new(cur, json_integer(1));
	want_dump(root, text);
	free(text);

	json_t *extra = json_array();
	json_array_append_new(cur, extra);
	want_dump_refused(root, "a[0]");
	mt_error err = {0};
	char *out = NULL;
	size_t len = 0;
	assert_int_equal(mt_canon_dump(&out, &len, root, &err), MT_EINVAL);
	assert_non_null(strstr(err.msg, "nesting too deep"));

	/* A tree that contains itself ends at the same limit. */
	json_t *first = json_array(), *second = json_array();
	json_array_append(first, second);
	json_array_append(second, first);
	assert_int_equal(mt_canon_dump(&out, &len, first, &err), MT_EINVAL);
	assert_non_null(strstr(err.msg, "nesting too deep"));
	assert_null(out);
	json_array_clear(second); /* break the cycle */
	json_decref(second);
	json_decref(first);
	json_decref(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors_valid),
	    cmocka_unit_test(test_vectors_invalid),
	    cmocka_unit_test(test_truncated_prefixes),
	    cmocka_unit_test(test_edge_cases),
	    cmocka_unit_test(test_nesting_limit),
	    cmocka_unit_test(test_size_limit),
	    cmocka_unit_test(test_check_arguments),
	    cmocka_unit_test(test_parse_values),
	    cmocka_unit_test(test_dump_sorts_and_escapes),
	    cmocka_unit_test(test_dump_refusals),
	    cmocka_unit_test(test_dump_depth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
