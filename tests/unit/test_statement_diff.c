/* The statement decoder reads canonical bytes directly; fuzz/stmt_ref.c keeps
 * the tree-based validator it replaced. This test feeds both thousands of
 * canonical statements made by mutating one valid statement of every type
 * (members removed, replaced by values of every kind, unknown members added)
 * and demands the same verdict, the same reason and the same values. The
 * fuzz target fuzz_statement runs the same comparison on arbitrary bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/canon.h"
#include "meshtrust/statement.h"
#include "stmt_ref.h"
#include "testutil.h"

#define NOW 1800000000LL

struct tally {
	size_t checked, accepted;
};

static void agree(struct tally *t, const char *text, size_t len)
{
	static const int64_t clocks[] = {NOW, INT64_MAX, 0};
	for (size_t c = 0; c < sizeof clocks / sizeof *clocks; c++) {
		char why[512];
		int accepted = 0;
		if (!stmt_ref_agree(text, len, clocks[c], &accepted, why, sizeof why))
			fail_msg("decoder and reference differ on %.*s: %s", (int)(len > 400 ? 400 : len),
				 text, why);
		t->checked++;
		t->accepted += accepted != 0;
	}
}

static void agree_tree(struct tally *t, json_t *tree)
{
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(mt_canon_dump(&text, &len, tree, NULL), 0);
	agree(t, text, len);
	free(text);
}

/* One valid statement of each type, signed by one key (seq 1) or chained. */
static json_t *bases(void)
{
	unsigned char seed[32] = {7};
	mt_keypair kp, other;
	mt_keypair_from_seed(&kp, seed);
	seed[0] = 8;
	mt_keypair_from_seed(&other, seed);
	char me[MT_NODE_ID_MAX], them[MT_NODE_ID_MAX], hex[65];
	mt_node_id_encode(me, kp.pk);
	mt_node_id_encode(them, other.pk);
	memset(hex, 'a', 64);
	hex[64] = '\0';
	char rmsg[256], newsig[87];
	unsigned char sig[64];
	snprintf(rmsg, sizeof rmsg, "mesh/v1/rotate\n%s\n%s", me, them);
	crypto_sign_detached(sig, NULL, (unsigned char *)rmsg, strlen(rmsg), other.sk);
	mt_sig_encode(newsig, sig);
	json_t *bodies[] = {
		json_pack("{s:s,s:s,s:s,s:i,s:s,s:[s,s],s:[s],s:i,s:s}", "type", "trust", "target",
			  them, "level", "full", "score", 800, "scope", "coop:x", "labels", "a",
			  "b\n\"c\"", "evidence", "e", "exp", 1900000000, "graph", "social"),
		json_pack("{s:s,s:s,s:s}", "type", "revoke", "target", them, "scope", "global"),
		json_pack("{s:s,s:s,s:s,s:s}", "type", "referral", "referee", them, "to", me, "note",
			  "\x01 ok \xc3\xa9"),
		json_pack("{s:s,s:[s,s]}", "type", "bridge", "scopes", "coop:a", "domain:b"),
		json_pack("{s:s,s:[s],s:s,s:s}", "type", "lesson", "topics", "t", "title", "T", "body",
			  "text\twith\\escapes"),
		json_pack("{s:s,s:s,s:[s,s],s:{s:i,s:i}}", "type", "genesis", "scope", "coop:g",
			  "founders", me, them, "params", "period", 60, "credits", 2),
		json_pack("{s:s,s:s,s:s,s:s,s:i}", "type", "pot-open", "genesis", hex, "candidate",
			  them, "cosponsor", them, "deadline", 1800000100),
		json_pack("{s:s,s:s,s:s}", "type", "pot-commit", "round", hex, "commit", hex),
		json_pack("{s:s,s:s,s:s,s:s}", "type", "pot-reveal", "round", hex, "choice", "defect",
			  "nonce", hex),
		json_pack("{s:s,s:s,s:s}", "type", "pot-claim", "round", hex, "candidate", them),
		json_pack("{s:s,s:s,s:s}", "type", "rotate", "new", them, "newsig", newsig),
		json_pack("{s:s,s:s,s:s}", "type", "key", "next", hex, "from", hex),
		json_pack("{s:s,s:s}", "type", "rotate", "new", them), /* pre-rotation form */
		json_pack("{s:s,s:s,s:[s],s:{s:i,s:i,s:i}}", "type", "genesis", "scope", "coop:q",
			  "founders", me, "params", "period", 60, "quorum", 1, "threshold", 1000),
		json_pack("{s:s,s:s,s:i,s:{s:i,s:b,s:i,s:[{s:i,s:i,s:i}],s:[s]}}", "type",
			  "proposal", "genesis", hex, "closes", 1700100000, "policy", "max_gini", 500,
			  "enforce_gini", 1, "max_top10_share", 400, "tiers", "min_score", 700,
			  "rate", 200, "burst", 50, "bridges", them),
		json_pack("{s:s,s:s,s:s}", "type", "vote", "proposal", hex, "choice", "yes"),
	};
	json_t *out = json_array();
	unsigned char prev[32] = {1};
	for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
		assert_non_null(bodies[i]);
		mt_stmt *st = NULL;
		mt_error err = {0};
		/* The pre-rotation rotate is signed by the key it names (SPEC §9.2). */
		int pre = !json_object_get(bodies[i], "newsig") &&
			  strcmp(json_string_value(json_object_get(bodies[i], "type")), "rotate") == 0;
		int rc = pre ? mt_stmt_sign_for(&st, bodies[i], me, &other, 5, prev, 1700000000, &err)
			     : mt_stmt_sign(&st, bodies[i], &kp, i % 2 ? 1 : 5, prev, 1700000000,
					    &err);
		if (rc)
			fail_msg("base %zu: %s", i, err.msg);
		json_t *tree = NULL;
		assert_int_equal(mt_stmt_tree(st, &tree, NULL), 0);
		json_array_append_new(out, tree);
		mt_stmt_free(st);
		json_decref(bodies[i]);
	}
	return out;
}

/* Values of every kind the schema distinguishes, right and wrong. */
static json_t *alternatives(void)
{
	unsigned char seed[32] = {9}, pk[32], sk[64];
	crypto_sign_seed_keypair(pk, sk, seed);
	char id[MT_NODE_ID_MAX], sigtxt[87];
	mt_node_id_encode(id, pk);
	unsigned char sig[64] = {0};
	mt_sig_encode(sigtxt, sig);
	char *big = malloc(MT_LESSON_BODY_MAX + 2);
	memset(big, 'b', MT_LESSON_BODY_MAX + 1);
	big[MT_LESSON_BODY_MAX + 1] = '\0';
	json_t *alts = json_pack(
	    "[s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,i,i,i,i,i,I,b,b,[],[s],[s,s],[s,s],[i],[s,i],[[]],"
	    "[s,s],{},{s:i},{s:i},{s:i},{s:s},{s:i,s:i,s:i},s,s,s]",
	    "", "x", "full", "limited", "none", "cooperate", "global", "coop:a b", "topic:ok",
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	    "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", id,
	    "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", sigtxt,
	    "\"q\"\\ \x1f \xf0\x9f\x98\x80", 0, 1, 5, 1000, 1001, (json_int_t)9007199254740991LL,
	    1, 0, "x", "global", "coop:x", "coop:x", "coop:x", 1, "a", 2, id, id, "period", 1,
	    "period", 0, "x", 1, "credits", "a", "period", 3, "deadline_max", 4, "credits", 5, big,
	    "coop:\x01", "12D3KooW");
	free(big);
	assert_non_null(alts);
	/* governance (SPEC §9.3): choices, params, policies right and wrong */
	json_t *more = json_pack(
	    "[s,s,{s:i},{s:i},{s:i},{s:i},{s:i},{s:i},{s:i},{s:i},{s:b},{s:i},{s:i},"
	    "{s:[{s:i,s:i,s:i}]},{s:[{s:i}]},{s:[{s:i,s:i,s:i,s:i}]},{s:[{s:i,s:i,s:i}]},{s:[]},"
	    "{s:[i]},{s:[s,s]},{s:[s]},{s:[]},{s:[s]},{s:s},{s:i,s:i},{s:{}}]",
	    "yes", "no", "quorum", 0, "quorum", 1000, "quorum", 1001, "threshold", 499, "threshold",
	    500, "max_gini", 0, "max_gini", 1000, "max_gini", 1001, "enforce_gini", 1,
	    "enforce_gini", 1, "max_top10_share", 2000, "tiers", "min_score", 0, "rate", 1,
	    "burst", 1, "tiers", "min_score", 5, "tiers", "min_score", 5, "rate", 1, "burst", 1,
	    "x", 1, "tiers", "min_score", 1001, "rate", 0, "burst", 1, "tiers", "tiers", 3,
	    "bridges", id, id, "bridges", "x", "bridges", "bridges", id, "enforce_gini", "x",
	    "max_gini", 5, "period", 5, "policy");
	assert_non_null(more);
	json_array_extend(alts, more);
	json_decref(more);
	return alts;
}

static void test_mutations_agree(void **state)
{
	(void)state;
	json_t *bs = bases(), *alts = alternatives(), *base;
	static const char *const extra_keys[] = {"a",      "target", "scopes", "params", "newsig",
						 "sig2",   "zz",     "\x01",   "\xc3\xbc", "type2",
						 "labels", "nonce",  "body",   "next",   "from",
						 "policy", "closes", "proposal", "choice"};
	struct tally t = {0};
	size_t bi;
	json_array_foreach(bs, bi, base)
	{
		agree_tree(&t, base);
		const char *k;
		json_t *v;
		json_object_foreach(base, k, v)
		{
			json_t *m = json_deep_copy(base);
			json_object_del(m, k);
			agree_tree(&t, m);
			json_decref(m);
			size_t ai;
			json_t *alt;
			json_array_foreach(alts, ai, alt)
			{
				m = json_deep_copy(base);
				json_object_set(m, k, alt);
				agree_tree(&t, m);
				json_decref(m);
			}
		}
		/* Every field name of every type at once (the decoder keeps only
		 * as many members as validation can reach). */
		static const char *const every[] = {
		    "body",     "candidate", "choice", "commit",  "cosponsor", "deadline",
		    "evidence", "exp",       "founders", "from",    "genesis",  "graph",
		    "labels",   "level",     "new",      "newsig",  "next",     "nonce",
		    "note",     "params",   "closes",   "policy",   "proposal",
		    "referee",  "round",     "score",  "scope",   "scopes",    "target",
		    "title",    "to",        "topics"};
		for (int drop_v = 0; drop_v < 2; drop_v++) {
			json_t *m = json_deep_copy(base);
			for (size_t e = 0; e < sizeof every / sizeof *every; e++)
				if (!json_object_get(m, every[e]))
					json_object_set_new(m, every[e], json_string("x"));
			if (drop_v)
				json_object_del(m, "v");
			agree_tree(&t, m);
			json_decref(m);
		}
		for (size_t e = 0; e < sizeof extra_keys / sizeof *extra_keys; e++)
			for (int kind = 0; kind < 2; kind++) {
				json_t *m = json_deep_copy(base);
				json_object_set_new(m, extra_keys[e],
						    kind ? json_integer(5) : json_string("x"));
				agree_tree(&t, m);
				json_decref(m);
			}
	}
	json_decref(bs);
	json_decref(alts);
	print_message("%zu checked, %zu accepted\n", t.checked, t.accepted);
	/* Both verdicts were exercised, many times. */
	assert_true(t.checked > 10000);
	assert_true(t.accepted > 500);
	assert_true(t.checked - t.accepted > 5000);
}

/* The shared vectors, valid and invalid, through both. */
static void test_vectors_agree(void **state)
{
	(void)state;
	json_t *v = mt_test_load_vector("statements.json"), *c;
	struct tally t = {0};
	size_t i;
	json_array_foreach(json_object_get(v, "valid"), i, c)
	{
		const char *s = json_string_value(json_object_get(c, "canonical"));
		agree(&t, s, strlen(s));
	}
	json_array_foreach(json_object_get(v, "invalid"), i, c)
	{
		const char *s = json_string_value(json_object_get(c, "text"));
		agree(&t, s, strlen(s));
	}
	json_decref(v);
	assert_true(t.accepted >= 6 * 2);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mutations_agree),
		cmocka_unit_test(test_vectors_agree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
