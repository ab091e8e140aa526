/* Portable proofs (src/proof): the verifier on hand-made bundles (valid,
 * forks, gaps, links, ts going back, revocations, expiry, scopes, header and
 * size limits, the header's signature: missing, by another key, a bad
 * prover, every byte flipped, not canonical, decay spellings) and the writer
 * from a store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "meshtrust/canon.h"
#include "meshtrust/encoding.h"
#include "meshtrust/proof.h"
#include "meshtrust/statement.h"
#include "meshtrust/store.h"
#include "testutil.h"
#include "teststore.h"

#define T0 1800000000LL

struct fx {
	mt_keypair k[4];
	char id[4][MT_NODE_ID_MAX];
	char *buf;
	size_t len, cap;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	mt_test_keypairs(f->k, f->id, 4, 41);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	free(f->buf);
	free(f);
	return 0;
}

static void add(struct fx *f, const char *s, size_t n)
{
	if (f->len + n + 2 > f->cap) {
		f->cap = (f->len + n + 2) * 2;
		f->buf = realloc(f->buf, f->cap);
		assert_non_null(f->buf);
	}
	memcpy(f->buf + f->len, s, n);
	f->len += n;
	f->buf[f->len++] = '\n';
	f->buf[f->len] = '\0';
}

static mt_proof_header hdr(struct fx *f, int from, int to, const char *scope, long long at,
			   int depth)
{
	mt_proof_header h = {.at = at, .max_depth = depth, .n_decay = 5,
			     .decay = {1, 1, 0.5, 0.25, 0.125}};
	snprintf(h.from, sizeof h.from, "%s", f->id[from]);
	snprintf(h.to, sizeof h.to, "%s", f->id[to]);
	snprintf(h.scope, sizeof h.scope, "%s", scope);
	return h;
}

/* Start a bundle with the header, signed by key `prover`. */
static void header_by(struct fx *f, const mt_proof_header *h, int prover)
{
	char *line = NULL;
	size_t n = 0;
	mt_error err = {0};
	if (mt_proof_header_line(&line, &n, h, &f->k[prover], &err) != 0)
		fail_msg("header: %s", err.msg);
	f->len = 0;
	add(f, line, n);
	free(line);
}

/* A header signed by key 3 (not on any path: anyone may prove). */
static void header(struct fx *f, int from, int to, const char *scope, long long at, int depth)
{
	mt_proof_header h = hdr(f, from, to, scope, at, depth);
	header_by(f, &h, 3);
}

/* Sign a statement of issuer i; the caller frees it. */
static mt_stmt *mk(struct fx *f, int i, json_t *body, uint64_t seq, const mt_stmt *prev,
		   int64_t ts)
{
	mt_stmt *st = NULL;
	mt_error err = {0};
	if (mt_stmt_sign(&st, body, &f->k[i], seq, prev ? prev->id : NULL, ts, &err) != 0)
		fail_msg("sign: %s", err.msg);
	json_decref(body);
	return st;
}

static json_t *trust(struct fx *f, int target, int score, const char *scope)
{
	return json_pack("{s:s,s:s,s:s,s:i,s:s}", "type", "trust", "target", f->id[target],
			 "level", "full", "score", score, "scope", scope);
}

static void line(struct fx *f, const mt_stmt *st)
{
	add(f, st->canon, st->canon_len);
}

static mt_proof_result *verify(struct fx *f)
{
	mt_proof_result *r = NULL;
	mt_error err = {0};
	assert_int_equal(mt_proof_verify(&r, f->buf, f->len, &err), 0);
	assert_non_null(r);
	return r;
}

static void expect_fail(struct fx *f, const char *needle)
{
	mt_proof_result *r = verify(f);
	if (r->valid || !strstr(r->reason, needle))
		fail_msg("expected a failure with \"%s\", got valid=%d reason \"%s\"", needle, r->valid,
			 r->reason);
	mt_proof_result_free(r);
}

/* 0 -> 1 -> 2 (scores 900, 800): score decay[2] × 0.72 = 0.36. */
static void test_valid_two_hops(void **state)
{
	struct fx *f = *state;
	mt_stmt *a1 = mk(f, 0, trust(f, 1, 900, "global"), 1, NULL, T0);
	mt_stmt *b1 = mk(f, 1, trust(f, 3, 100, "topic:x"), 1, NULL, T0);
	mt_stmt *b2 = mk(f, 1, trust(f, 2, 800, "global"), 2, b1, T0 + 1);
	header(f, 0, 2, "global", T0 + 10, 2);
	line(f, a1);
	line(f, b1);
	line(f, b2);
	mt_proof_result *r = verify(f);
	assert_true(r->valid);
	assert_string_equal(r->reason, "");
	assert_true(r->score == 0.5 * ((1.0 * (900 / 1000.0)) * (800 / 1000.0)));
	assert_int_equal(r->n_path, 2);
	assert_int_equal(r->path[1].seq, 2);
	assert_int_equal(r->n_feeds, 2);
	assert_int_equal(r->feeds[1].head_seq, 2);
	assert_int_equal(r->feeds[1].head_ts, T0 + 1);
	char claim[1024];
	mt_proof_claim(r, claim, sizeof claim);
	assert_non_null(strstr(claim, "need not be the best score"));
	json_t *doc = mt_proof_result_json(r);
	assert_true(json_is_true(json_object_get(doc, "valid")));
	json_decref(doc);
	mt_proof_result_free(r);

	/* Depth 1 cannot reach 2. */
	header(f, 0, 2, "global", T0 + 10, 1);
	line(f, a1);
	line(f, b1);
	line(f, b2);
	expect_fail(f, "no path");
	/* Another scope sees nothing. */
	header(f, 0, 2, "topic:x", T0 + 10, 2);
	line(f, a1);
	line(f, b1);
	line(f, b2);
	expect_fail(f, "no path");
	mt_stmt_free(a1);
	mt_stmt_free(b1);
	mt_stmt_free(b2);
}

static void test_chain_faults(void **state)
{
	struct fx *f = *state;
	mt_stmt *a1 = mk(f, 0, trust(f, 1, 900, "global"), 1, NULL, T0);
	mt_stmt *b1 = mk(f, 1, trust(f, 3, 100, "global"), 1, NULL, T0);
	mt_stmt *b2 = mk(f, 1, trust(f, 2, 800, "global"), 2, b1, T0 + 1);
	mt_stmt *b2x = mk(f, 1, trust(f, 2, 700, "global"), 2, b1, T0 + 1);
	mt_stmt *b3 = mk(f, 1, trust(f, 2, 800, "global"), 3, b2, T0 + 2);
	mt_stmt *b2bad = mk(f, 1, trust(f, 2, 800, "global"), 2, a1, T0 + 1);
	mt_stmt *b2back = mk(f, 1, trust(f, 2, 800, "global"), 2, b1, T0 - 5);

	header(f, 0, 2, "global", T0 + 10, 2); /* a fork: two seq 2 */
	line(f, a1);
	line(f, b1);
	line(f, b2);
	line(f, b2x);
	expect_fail(f, "second statement at seq 2");
	header(f, 0, 2, "global", T0 + 10, 2); /* a gap: 1 then 3 */
	line(f, a1);
	line(f, b1);
	line(f, b3);
	expect_fail(f, "gap, seq 3 follows seq 1");
	header(f, 0, 2, "global", T0 + 10, 2); /* a feed not from seq 1 */
	line(f, a1);
	line(f, b2);
	expect_fail(f, "starts at seq 2");
	header(f, 0, 2, "global", T0 + 10, 2); /* prev pointing elsewhere */
	line(f, a1);
	line(f, b1);
	line(f, b2bad);
	expect_fail(f, "does not link to seq 1");
	header(f, 0, 2, "global", T0 + 10, 2); /* ts going back */
	line(f, a1);
	line(f, b1);
	line(f, b2back);
	expect_fail(f, "goes back");
	header(f, 0, 2, "global", T0 + 10, 2); /* the same feed twice */
	line(f, b1);
	line(f, b2);
	line(f, a1);
	line(f, b1);
	expect_fail(f, "two feeds");
	header(f, 0, 2, "global", T0 + 10, 2); /* a flipped signature byte */
	line(f, a1);
	line(f, b1);
	char *cp = strdup(b2->canon);
	char *sig = strstr(cp, "\"sig\":\"") + 10;
	*sig = *sig == 'A' ? 'B' : 'A';
	add(f, cp, strlen(cp));
	free(cp);
	expect_fail(f, "line 4: a bad statement");
	mt_stmt_free(a1);
	mt_stmt_free(b1);
	mt_stmt_free(b2);
	mt_stmt_free(b2x);
	mt_stmt_free(b3);
	mt_stmt_free(b2bad);
	mt_stmt_free(b2back);
}

static void test_revoke_and_expiry(void **state)
{
	struct fx *f = *state;
	mt_stmt *a1 = mk(f, 0, trust(f, 1, 900, "global"), 1, NULL, T0);
	mt_stmt *a2 = mk(f, 0,
			 json_pack("{s:s,s:s,s:s}", "type", "revoke", "target", f->id[1], "scope",
				   "global"),
			 2, a1, T0 + 50);
	mt_stmt *a3 = mk(f, 0, trust(f, 1, 500, "global"), 3, a2, T0 + 60);
	header(f, 0, 1, "global", T0 + 10, 2);
	line(f, a1);
	line(f, a2);
	expect_fail(f, "revoked its edge");
	header(f, 0, 1, "global", T0 + 10, 2); /* the highest seq wins */
	line(f, a1);
	line(f, a2);
	line(f, a3);
	mt_proof_result *r = verify(f);
	assert_true(r->valid);
	assert_true(r->score == 0.5);
	mt_proof_result_free(r);

	json_t *b = trust(f, 1, 900, "global");
	json_object_set_new(b, "exp", json_integer(T0 + 100));
	mt_stmt *e1 = mk(f, 0, b, 1, NULL, T0);
	header(f, 0, 1, "global", T0 + 99, 2);
	line(f, e1);
	r = verify(f);
	assert_true(r->valid);
	mt_proof_result_free(r);
	header(f, 0, 1, "global", T0 + 100, 2);
	line(f, e1);
	expect_fail(f, "no path");
	mt_stmt_free(a1);
	mt_stmt_free(a2);
	mt_stmt_free(a3);
	mt_stmt_free(e1);
}

static void test_header_and_limits(void **state)
{
	struct fx *f = *state;
	mt_stmt *a1 = mk(f, 0, trust(f, 1, 900, "global"), 1, NULL, T0);
	static const char *const bad[] = {
		"not json",
		"[]",
		"{\"proof\":2}",
		"{\"at\":1,\"decay\":[1],\"from\":\"x\",\"max_depth\":2,\"proof\":1,\"scope\":"
		"\"global\",\"to\":\"y\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		f->len = 0;
		add(f, bad[i], strlen(bad[i]));
		line(f, a1);
		expect_fail(f, "line 1");
	}
	mt_proof_header h9 = hdr(f, 0, 1, "global", T0, 2);
	h9.max_depth = 9;
	char *out = NULL;
	size_t olen = 0;
	mt_error err = {0};
	assert_int_equal(mt_proof_header_line(&out, &olen, &h9, &f->k[3], &err), MT_EINVAL);
	assert_null(out);
	assert_non_null(strstr(err.msg, "max_depth"));
	header(f, 0, 1, "global", T0, 2);
	expect_fail(f, "no statements");
	f->len = 0;
	expect_fail(f, "empty bundle");
	header(f, 0, 1, "global", T0, 2);
	line(f, a1);
	add(f, "", 0);
	line(f, a1);
	expect_fail(f, "line 3: empty");
	header(f, 0, 1, "global", T0, 2);
	char *big = malloc(MT_PROOF_LINE_MAX + 2);
	memset(big, 'x', MT_PROOF_LINE_MAX + 1);
	add(f, big, MT_PROOF_LINE_MAX + 1);
	free(big);
	expect_fail(f, "longer than");
	mt_stmt_free(a1);
}

/* Replace the bundle's header line by `line` (the statements stay). */
static void swap_header(struct fx *f, const char *line)
{
	const char *nl = memchr(f->buf, '\n', f->len);
	size_t old = (size_t)(nl - f->buf), n = strlen(line);
	char *rest = malloc(f->len - old);
	memcpy(rest, nl, f->len - old);
	size_t nrest = f->len - old;
	f->len = 0;
	if (n + nrest + 2 > f->cap) {
		f->cap = (n + nrest + 2) * 2;
		f->buf = realloc(f->buf, f->cap);
	}
	memcpy(f->buf, line, n);
	memcpy(f->buf + n, rest, nrest);
	f->len = n + nrest;
	f->buf[f->len] = '\0';
	free(rest);
}

/* The header line of the bundle, as a new string. */
static char *header_of(struct fx *f)
{
	const char *nl = memchr(f->buf, '\n', f->len);
	return strndup(f->buf, (size_t)(nl - f->buf));
}

/* Sign a header object by hand (key `k`), as a prover who wrote it so. */
static char *sign_by_hand(struct fx *f, json_t *j, int k)
{
	char *canon = NULL, sigtxt[87];
	size_t clen = 0;
	mt_error err = {0};
	json_object_del(j, "sig");
	assert_int_equal(mt_canon_dump(&canon, &clen, j, &err), 0);
	size_t dl = strlen(MT_PROOF_DOMAIN);
	unsigned char *msg = malloc(dl + clen), sig[64];
	memcpy(msg, MT_PROOF_DOMAIN, dl);
	memcpy(msg + dl, canon, clen);
	crypto_sign_detached(sig, NULL, msg, dl + clen, f->k[k].sk);
	mt_sig_encode(sigtxt, sig);
	json_object_set_new(j, "sig", json_string(sigtxt));
	free(msg);
	free(canon);
	assert_int_equal(mt_canon_dump(&canon, &clen, j, &err), 0);
	return canon;
}

static void test_header_signature(void **state)
{
	struct fx *f = *state;
	mt_stmt *a1 = mk(f, 0, trust(f, 1, 900, "global"), 1, NULL, T0);
	header(f, 0, 1, "global", T0 + 10, 2);
	line(f, a1);
	mt_proof_result *r = verify(f);
	assert_true(r->valid);
	assert_string_equal(r->h.prover, f->id[3]);
	json_t *doc = mt_proof_result_json(r);
	assert_string_equal(json_string_value(json_object_get(doc, "prover")), f->id[3]);
	json_decref(doc);
	mt_proof_result_free(r);

	char *good = header_of(f);
	mt_error err = {0};
	json_t *j = NULL;
	assert_int_equal(mt_canon_parse(&j, good, strlen(good), &err), 0);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "decay"), 2)),
			    "0.5");

	/* Every byte of the header flipped, one at a time: refused with a reason. */
	size_t hl = strlen(good);
	for (size_t pos = 0; pos < hl; pos++) {
		for (int bit = 0; bit < 8; bit += 5) {
			char *bad = strdup(good);
			bad[pos] = (char)(bad[pos] ^ (1 << bit));
			if (bad[pos] == '\n' || bad[pos] == '\0')
				bad[pos] = (char)(bad[pos] ^ 0x40);
			swap_header(f, bad);
			free(bad);
			r = verify(f);
			if (r->valid || !r->reason[0] || strncmp(r->reason, "line 1:", 7) != 0)
				fail_msg("header byte %zu bit %d: valid=%d reason \"%s\"", pos, bit,
					 r->valid, r->reason);
			mt_proof_result_free(r);
		}
	}

	/* No sig: an unsigned header (the old format, too). */
	json_t *c = json_deep_copy(j);
	json_object_del(c, "sig");
	char *txt = NULL;
	size_t tl = 0;
	assert_int_equal(mt_canon_dump(&txt, &tl, c, &err), 0);
	swap_header(f, txt);
	expect_fail(f, "header not signed");
	free(txt);
	json_decref(c);
	swap_header(f, "{\"at\":1800000010,\"decay\":[1.0,0.5],\"from\":\"x\",\"max_depth\":2,"
		       "\"proof\":1,\"scope\":\"global\",\"to\":\"y\"}");
	expect_fail(f, "header not signed");

	/* A prover that is not a Node ID; a prover whose key did not sign. */
	c = json_deep_copy(j);
	json_object_set_new(c, "prover", json_string("did:key:z6Mkfoo"));
	assert_int_equal(mt_canon_dump(&txt, &tl, c, &err), 0);
	swap_header(f, txt);
	expect_fail(f, "prover is not a Node ID");
	free(txt);
	json_object_set_new(c, "prover", json_string(f->id[2]));
	assert_int_equal(mt_canon_dump(&txt, &tl, c, &err), 0);
	swap_header(f, txt);
	expect_fail(f, "header signature does not verify for prover");
	free(txt);
	json_decref(c);

	/* Claims changed after signing: depth, decay, at, scope. */
	static const char *const keys[] = {"max_depth", "decay", "at", "scope"};
	for (size_t i = 0; i < 4; i++) {
		c = json_deep_copy(j);
		json_t *v = i == 0   ? json_integer(3)
			    : i == 1 ? json_pack("[s,s]", "1", "1")
			    : i == 2 ? json_integer(T0 + 99999)
				     : json_string("topic:x");
		json_object_set_new(c, keys[i], v);
		assert_int_equal(mt_canon_dump(&txt, &tl, c, &err), 0);
		swap_header(f, txt);
		expect_fail(f, "header signature does not verify");
		free(txt);
		json_decref(c);
	}

	/* Not canonical (a space), though signed and otherwise the same. */
	char *spaced = malloc(hl + 2);
	spaced[0] = '{';
	spaced[1] = ' ';
	memcpy(spaced + 2, good + 1, hl);
	swap_header(f, spaced);
	free(spaced);
	expect_fail(f, "not canonical");

	/* A decay value spelt other than its shortest form, signed so: refused. */
	c = json_deep_copy(j);
	json_array_set_new(json_object_get(c, "decay"), 2, json_string("0.50"));
	txt = sign_by_hand(f, c, 3);
	swap_header(f, txt);
	expect_fail(f, "decay value 2");
	free(txt);
	json_decref(c);
	/* ...and, signed by hand in the right form, accepted: the writer is not special. */
	c = json_deep_copy(j);
	json_object_set_new(c, "prover", json_string(f->id[2]));
	txt = sign_by_hand(f, c, 2);
	swap_header(f, txt);
	r = verify(f);
	assert_true(r->valid);
	assert_string_equal(r->h.prover, f->id[2]);
	mt_proof_result_free(r);
	free(txt);
	json_decref(c);

	json_decref(j);
	free(good);
	mt_stmt_free(a1);
}

/* The writer: a store's chains, cut at a time, verify to the same path. */
static void test_write_from_store(void **state)
{
	struct fx *f = *state;
	char *dir = mt_test_tmpdir(), path[4200];
	snprintf(path, sizeof path, "%s/trust.db", dir);
	mt_store *s = NULL;
	assert_int_equal(mt_test_store_open(&s, path, NULL), 0);
	mt_stmt *a1 = mk(f, 0, trust(f, 1, 900, "global"), 1, NULL, T0);
	mt_stmt *b1 = mk(f, 1, trust(f, 2, 800, "global"), 1, NULL, T0);
	mt_stmt *b2 = mk(f, 1,
			 json_pack("{s:s,s:s,s:s}", "type", "revoke", "target", f->id[2], "scope",
				   "global"),
			 2, b1, T0 + 50);
	mt_stmt *all[] = {a1, b1, b2};
	for (size_t i = 0; i < 3; i++) {
		mt_ingest_result res;
		assert_int_equal(mt_store_ingest(s, all[i], &res, NULL), 0);
	}
	mt_proof_header h = {.at = T0 + 10, .max_depth = 2, .n_decay = 3, .decay = {1, 1, 0.5}};
	snprintf(h.from, sizeof h.from, "%s", f->id[0]);
	snprintf(h.to, sizeof h.to, "%s", f->id[2]);
	snprintf(h.scope, sizeof h.scope, "global");
	const char *iss[] = {f->id[0], f->id[1], f->id[0]};
	char *out = NULL;
	size_t len = 0;
	mt_error err = {0};
	/* Cut before the revoke: the path of T0 + 10. */
	assert_int_equal(mt_proof_write(&out, &len, s, &h, iss, 3, T0 + 10, &f->k[3], &err), 0);
	mt_proof_result *r = NULL;
	assert_int_equal(mt_proof_verify(&r, out, len, &err), 0);
	assert_true(r->valid);
	assert_true(r->score == 0.5 * ((1.0 * 0.9) * 0.8));
	assert_string_equal(r->h.prover, f->id[3]);
	assert_int_equal(r->n_feeds, 2);
	assert_int_equal(r->n_statements, 2);
	mt_proof_result_free(r);
	free(out);
	/* The whole chains: the revoke is in, no path. */
	assert_int_equal(mt_proof_write(&out, &len, s, &h, iss, 2, INT64_MAX, &f->k[0], &err), 0);
	assert_int_equal(mt_proof_verify(&r, out, len, &err), 0);
	assert_false(r->valid);
	assert_non_null(strstr(r->reason, "revoked"));
	mt_proof_result_free(r);
	free(out);
	/* An issuer without a feed. */
	const char *none[] = {f->id[3]};
	assert_int_not_equal(mt_proof_write(&out, &len, s, &h, none, 1, INT64_MAX, &f->k[0], &err),
			     0);
	assert_null(out);
	mt_stmt_free(a1);
	mt_stmt_free(b1);
	mt_stmt_free(b2);
	mt_store_close(s);
	mt_test_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_valid_two_hops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoke_and_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_and_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_signature, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_from_store, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
