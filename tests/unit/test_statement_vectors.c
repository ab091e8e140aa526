/* SPEC §2 vectors: every valid statement decodes to its exact bytes and id and
 * re-signs byte for byte; every invalid one is refused for its reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meshtrust/encoding.h"
#include "meshtrust/statement.h"
#include "testutil.h"

#define NOW 1800000000LL

static json_t *V;

static void test_valid(void **state)
{
	(void)state;
	json_t *valid = json_object_get(V, "valid"), *c;
	size_t i;
	assert_true(json_array_size(valid) >= 6);
	json_array_foreach(valid, i, c)
	{
		const char *canon = json_string_value(json_object_get(c, "canonical"));
		const char *id = json_string_value(json_object_get(c, "id"));
		mt_stmt *st = NULL;
		mt_error err = {0};
		int rc = mt_stmt_decode(&st, canon, strlen(canon), NOW, &err);
		if (rc)
			fail_msg("valid[%zu] refused: %s", i, err.msg);
		assert_int_equal(st->canon_len, strlen(canon));
		assert_memory_equal(st->canon, canon, st->canon_len);
		char hex[65];
		mt_stmt_id_hex(hex, st);
		assert_string_equal(hex, id);
		mt_stmt_free(st);
	}
}

/* Re-sign each valid body with its issuer's key: Ed25519 is deterministic, so
 * the result must be the vector's bytes exactly. */
static void test_resign(void **state)
{
	(void)state;
	json_t *keys = json_object_get(V, "signing_keys"), *c;
	json_t *valid = json_object_get(V, "valid");
	size_t i, resigned = 0;
	json_array_foreach(valid, i, c)
	{
		const char *canon = json_string_value(json_object_get(c, "canonical"));
		mt_stmt *st = NULL;
		assert_int_equal(mt_stmt_decode(&st, canon, strlen(canon), NOW, NULL), 0);
		const char *name;
		json_t *seedhex;
		json_object_foreach(keys, name, seedhex)
		{
			unsigned char seed[32];
			mt_keypair kp;
			char id[MT_NODE_ID_MAX];
			mt_test_hex(seed, 32, json_string_value(seedhex));
			mt_keypair_from_seed(&kp, seed);
			mt_node_id_encode(id, kp.pk);
			if (strcmp(id, st->iss) != 0)
				continue;
			json_t *body = NULL;
			assert_int_equal(mt_stmt_tree(st, &body, NULL), 0);
			json_object_del(body, "sig");
			mt_stmt *again = NULL;
			mt_error err = {0};
			int rc = mt_stmt_sign(&again, body, &kp, st->seq,
					      st->has_prev ? st->prev : NULL, st->ts, &err);
			if (rc)
				fail_msg("re-sign valid[%zu]: %s", i, err.msg);
			assert_int_equal(again->canon_len, st->canon_len);
			assert_memory_equal(again->canon, st->canon, st->canon_len);
			json_decref(body);
			mt_stmt_free(again);
			resigned++;
		}
		mt_stmt_free(st);
	}
	assert_int_equal(resigned, json_array_size(valid));
}

/* What our message must contain for each vector reason. */
static const char *expected_fragment(const char *reason)
{
	static const char *const map[][2] = {
		{"bad signature", "bad signature"},
		{"signature not strictly encoded", "signature not strictly encoded"},
		{"unknown field", "unknown field"},
		{"statement about oneself", "statement about oneself"},
		{"U+0000", "U+0000"},
		{"score 0", "score out of range"},
		{"ts too far ahead", "ts too far ahead"},
		{"unknown type", "unknown type"},
		{"score out of range", "score out of range"},
		{"bad scope", "bad scope"},
		{"bad target id", "bad target id"},
		{"not JSON", "not JSON"},
		{"null value", "null value"},
	};
	for (size_t i = 0; i < sizeof map / sizeof *map; i++)
		if (strncmp(reason, map[i][0], strlen(map[i][0])) == 0)
			return map[i][1];
	return reason; /* "not canonical: …": the full reason */
}

static void test_invalid(void **state)
{
	(void)state;
	json_t *inv = json_object_get(V, "invalid"), *c;
	size_t i;
	assert_true(json_array_size(inv) >= 20);
	json_array_foreach(inv, i, c)
	{
		const char *text = json_string_value(json_object_get(c, "text"));
		const char *reason = json_string_value(json_object_get(c, "reason"));
		mt_stmt *st = NULL;
		mt_error err = {0};
		/* "ts too far ahead" is relative to the node's clock: use the real one. */
		int64_t now = strstr(reason, "ts too far") ? (int64_t)time(NULL) : NOW;
		int rc = mt_stmt_decode(&st, text, strlen(text), now, &err);
		if (rc == 0)
			fail_msg("invalid[%zu] (%s) was accepted", i, reason);
		assert_null(st);
		const char *frag = expected_fragment(reason);
		if (!strstr(err.msg, frag))
			fail_msg("invalid[%zu]: expected reason containing \"%s\", got \"%s\"", i, frag,
				 err.msg);
	}
}

static void test_equivocation_pair_valid(void **state)
{
	(void)state;
	json_t *pair = json_object_get(V, "equivocation");
	assert_int_equal(json_array_size(pair), 2);
	mt_stmt *a = NULL, *b = NULL;
	const char *ta = json_string_value(json_array_get(pair, 0));
	const char *tb = json_string_value(json_array_get(pair, 1));
	assert_int_equal(mt_stmt_decode(&a, ta, strlen(ta), NOW, NULL), 0);
	assert_int_equal(mt_stmt_decode(&b, tb, strlen(tb), NOW, NULL), 0);
	assert_string_equal(a->iss, b->iss);
	assert_int_equal(a->seq, b->seq);
	assert_memory_not_equal(a->id, b->id, 32);
	mt_stmt_free(a);
	mt_stmt_free(b);
}

/* Flipping any single byte of a valid statement must never verify. */
static void test_every_byte_matters(void **state)
{
	(void)state;
	const char *canon =
		json_string_value(json_object_get(json_array_get(json_object_get(V, "valid"), 0),
						  "canonical"));
	size_t n = strlen(canon);
	char *buf = malloc(n + 1);
	for (size_t i = 0; i < n; i++) {
		memcpy(buf, canon, n + 1);
		buf[i] ^= 0x01;
		mt_stmt *st = NULL;
		if (mt_stmt_decode(&st, buf, n, NOW, NULL) == 0)
			fail_msg("byte %zu flipped still verifies", i);
	}
	free(buf);
}

static void test_scopes(void **state)
{
	(void)state;
	const char *good[] = {"global", "coop:x", "federation:a.b-c_d", "domain:0", "topic:rust"};
	const char *bad[] = {"", "Global", "coop:", "coop:X", "coop:a b", "team:x", "coop:x:y",
			     "coop:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		assert_int_equal(mt_scope_check(good[i], "scope", NULL), 0);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		mt_error err = {0};
		assert_int_equal(mt_scope_check(bad[i], "scope", &err), MT_EINVAL);
		assert_non_null(strstr(err.msg, "bad scope"));
	}
}

static void test_sign_refuses_invalid_body(void **state)
{
	(void)state;
	mt_keypair kp;
	unsigned char seed[32] = {1};
	mt_keypair_from_seed(&kp, seed);
	json_t *body = json_pack("{s:s,s:s,s:s,s:i}", "type", "trust", "target", "12D3KooWnotanid",
				 "level", "full", "score", 500);
	mt_stmt *st = NULL;
	mt_error err = {0};
	assert_int_not_equal(mt_stmt_sign(&st, body, &kp, 1, NULL, 1700000000, &err), 0);
	assert_null(st);
	assert_non_null(strstr(err.msg, "bad target id"));
	json_decref(body);
}

/* A signature text is accepted exactly when it is the encoding of its bytes:
 * for random signatures, every other last character (non-zero pad bits, or
 * outside the alphabet) is refused, and the encoding itself round-trips. */
static void test_sig_strict(void **state)
{
	(void)state;
	for (int round = 0; round < 200; round++) {
		unsigned char sig[64], back[64];
		char text[87];
		randombytes_buf(sig, sizeof sig);
		mt_sig_encode(text, sig);
		assert_int_equal(mt_sig_decode(back, text, NULL), 0);
		assert_memory_equal(back, sig, 64);
		size_t accepted = 0;
		for (int c = 1; c < 256; c++) {
			text[85] = (char)c;
			mt_error err = {0};
			if (mt_sig_decode(back, text, &err) == 0) {
				accepted++;
				char again[87];
				mt_sig_encode(again, back);
				assert_string_equal(again, text);
			} else {
				assert_non_null(strstr(err.msg, "signature not strictly encoded"));
			}
		}
		assert_int_equal(accepted, 4); /* A, Q, g, w */
		/* Characters outside the base64url alphabet, anywhere. */
		mt_sig_encode(text, sig);
		static const char bad[] = "+/= .\x80\xff";
		for (size_t at = 0; at < 86; at += 17)
			for (size_t b = 0; b < sizeof bad - 1; b++) {
				char t2[87];
				memcpy(t2, text, sizeof t2);
				t2[at] = bad[b];
				assert_int_equal(mt_sig_decode(back, t2, NULL), MT_EINVAL);
			}
	}
}

/* mt_stmt_reparse/redecode: every valid statement parsed into the memory of
 * the previous one (smaller and larger in turn) reads exactly as a fresh
 * parse; a refusal leaves NULL (and frees what was lent). */
static void test_reparse_reuses(void **state)
{
	(void)state;
	json_t *valid = json_object_get(V, "valid"), *c;
	mt_stmt *st = NULL;
	size_t i, reused = 0;
	for (int round = 0; round < 3; round++)
		json_array_foreach(valid, i, c)
		{
			const char *canon = json_string_value(json_object_get(c, "canonical"));
			mt_stmt *fresh = NULL, *before = st;
			assert_int_equal(mt_stmt_decode(&fresh, canon, strlen(canon), NOW, NULL), 0);
			mt_error err = {0};
			if (mt_stmt_redecode(&st, canon, strlen(canon), NOW, &err) != 0)
				fail_msg("redecode valid[%zu]: %s", i, err.msg);
			reused += st == before;
			assert_int_equal(st->canon_len, fresh->canon_len);
			assert_memory_equal(st->canon, fresh->canon, st->canon_len);
			assert_memory_equal(st->id, fresh->id, 32);
			assert_string_equal(st->iss, fresh->iss);
			assert_int_equal(st->seq, fresh->seq);
			assert_int_equal(st->type, fresh->type);
			json_t *a = NULL, *b = NULL;
			assert_int_equal(mt_stmt_tree(st, &a, NULL), 0);
			assert_int_equal(mt_stmt_tree(fresh, &b, NULL), 0);
			assert_true(json_equal(a, b));
			json_decref(a);
			json_decref(b);
			mt_stmt_free(fresh);
		}
	assert_true(reused > 0); /* some fitted in the memory lent */
	/* A refusal consumes the statement lent. */
	assert_int_equal(mt_stmt_reparse(&st, "{\"v\":1}", 7, NOW, NULL), MT_EINVAL);
	assert_null(st);
	assert_int_equal(mt_stmt_reparse(&st, "{\"v\":1}", 7, NOW, NULL), MT_EINVAL);
	assert_null(st);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	V = mt_test_load_vector("statements.json");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_resign),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_equivocation_pair_valid),
		cmocka_unit_test(test_every_byte_matters),
		cmocka_unit_test(test_scopes),
		cmocka_unit_test(test_sign_refuses_invalid_body),
		cmocka_unit_test(test_sig_strict),
		cmocka_unit_test(test_reparse_reuses),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	json_decref(V);
	return rc;
}
