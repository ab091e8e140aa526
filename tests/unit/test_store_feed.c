/* Store: feeds, gaps, forks, revocation, rebuild, digest, concurrent issue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/encoding.h"
#include "meshtrust/store.h"
#include "testutil.h"
#include "teststore.h"

struct fx {
	char *dir;
	char path[4200];
	mt_store *s;
	mt_keypair k[4];
	char id[4][MT_NODE_ID_MAX];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	f->dir = mt_test_tmpdir();
	snprintf(f->path, sizeof f->path, "%s/trust.db", f->dir);
	assert_int_equal(mt_test_store_open(&f->s, f->path, NULL), 0);
	mt_test_keypairs(f->k, f->id, 4, 7);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	mt_store_close(f->s);
	mt_test_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Build (not store) statement seq of issuer i with given prev. */
static mt_stmt *mk_trust(struct fx *f, int i, int target, const char *level, int score,
			 uint64_t seq, const unsigned char *prev, int64_t ts)
{
	json_t *b = json_pack("{s:s,s:s,s:s,s:i}", "type", "trust", "target", f->id[target],
			      "level", level, "score", score);
	mt_stmt *st = NULL;
	mt_error err = {0};
	if (mt_stmt_sign(&st, b, &f->k[i], seq, prev, ts, &err) != 0)
		fail_msg("sign: %s", err.msg);
	json_decref(b);
	return st;
}

static mt_stmt *mk_revoke(struct fx *f, int i, int target, uint64_t seq, const unsigned char *prev)
{
	json_t *b = json_pack("{s:s,s:s,s:s}", "type", "revoke", "target", f->id[target], "scope",
			      "global");
	mt_stmt *st = NULL;
	assert_int_equal(mt_stmt_sign(&st, b, &f->k[i], seq, prev, 1700000100, NULL), 0);
	json_decref(b);
	return st;
}

static void ingest(struct fx *f, const mt_stmt *st, mt_ingest_result expect)
{
	mt_ingest_result r;
	mt_error err = {0};
	if (mt_store_ingest(f->s, st, &r, &err) != 0)
		fail_msg("ingest: %s", err.msg);
	assert_int_equal(r, expect);
}

static size_t edge_count(struct fx *f)
{
	mt_edge_in *e = NULL;
	size_t n = 0;
	assert_int_equal(mt_store_edges(f->s, &e, &n, INT64_MAX, NULL), 0);
	free(e);
	return n;
}

static void assert_rebuild_identical(struct fx *f)
{
	char *before = NULL, *after = NULL;
	assert_int_equal(mt_store_derived_dump(f->s, &before, NULL), 0);
	assert_int_equal(mt_store_rebuild(f->s, NULL, NULL, NULL), 0);
	assert_int_equal(mt_store_derived_dump(f->s, &after, NULL), 0);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void test_gap_then_fill(void **state)
{
	struct fx *f = *state;
	mt_stmt *s1 = mk_trust(f, 0, 1, "full", 900, 1, NULL, 1700000000);
	mt_stmt *s2 = mk_trust(f, 0, 2, "limited", 500, 2, s1->id, 1700000001);
	mt_stmt *s3 = mk_trust(f, 0, 3, "full", 700, 3, s2->id, 1700000002);
	ingest(f, s3, MT_INGEST_ACCEPTED);
	ingest(f, s1, MT_INGEST_ACCEPTED);
	assert_int_equal(edge_count(f), 1); /* s3 held: gap at 2 */
	mt_feed_info fi;
	assert_int_equal(mt_store_feed(f->s, f->id[0], &fi, NULL), 0);
	assert_int_equal(fi.head_seq, 1);
	assert_int_equal(fi.max_seq, 3);
	ingest(f, s2, MT_INGEST_ACCEPTED);
	assert_int_equal(edge_count(f), 3); /* gap filled: 2 and 3 apply */
	ingest(f, s2, MT_INGEST_DUPLICATE);
	assert_int_equal(mt_store_feed(f->s, f->id[0], &fi, NULL), 0);
	assert_int_equal(fi.head_seq, 3);
	assert_rebuild_identical(f);
	mt_stmt_free(s1);
	mt_stmt_free(s2);
	mt_stmt_free(s3);
}

static void test_broken_link_has_no_effect(void **state)
{
	struct fx *f = *state;
	mt_stmt *s1 = mk_trust(f, 0, 1, "full", 900, 1, NULL, 1700000000);
	unsigned char wrong[32] = {9};
	mt_stmt *s2 = mk_trust(f, 0, 2, "full", 500, 2, wrong, 1700000001);
	ingest(f, s1, MT_INGEST_ACCEPTED);
	ingest(f, s2, MT_INGEST_ACCEPTED);
	assert_int_equal(edge_count(f), 1);
	uint64_t checked, problems;
	assert_int_equal(mt_store_verify(f->s, NULL, NULL, &checked, &problems, NULL, NULL, NULL), 0);
	assert_int_equal(checked, 2);
	assert_int_equal(problems, 1); /* broken link */
	mt_stmt_free(s1);
	mt_stmt_free(s2);
}

static void test_fork_stops_feed(void **state)
{
	struct fx *f = *state;
	mt_stmt *s1 = mk_trust(f, 0, 1, "full", 900, 1, NULL, 1700000000);
	mt_stmt *s2 = mk_trust(f, 0, 2, "full", 500, 2, s1->id, 1700000001);
	mt_stmt *s1b = mk_trust(f, 0, 3, "full", 900, 1, NULL, 1700000005);
	ingest(f, s1, MT_INGEST_ACCEPTED);
	ingest(f, s2, MT_INGEST_ACCEPTED);
	assert_int_equal(edge_count(f), 2);
	ingest(f, s1b, MT_INGEST_ACCEPTED); /* equivocation at seq 1 */
	assert_int_equal(edge_count(f), 0); /* nothing of that issuer takes effect */
	mt_feed_info fi;
	assert_int_equal(mt_store_feed(f->s, f->id[0], &fi, NULL), 0);
	assert_int_equal(fi.fork_seq, 1);
	uint64_t checked, problems;
	assert_int_equal(mt_store_verify(f->s, NULL, NULL, &checked, &problems, NULL, NULL, NULL), 0);
	assert_true(problems >= 1);
	assert_rebuild_identical(f);
	/* Issuing on a forked own feed is refused. */
	json_t *b = json_pack("{s:s,s:s,s:s}", "type", "trust", "target", f->id[2], "level", "full");
	mt_error err = {0};
	assert_int_equal(mt_store_issue(f->s, NULL, b, &f->k[0], 1700000010, &err), MT_EFORK);
	json_decref(b);
	mt_stmt_free(s1);
	mt_stmt_free(s2);
	mt_stmt_free(s1b);
}

static void test_equivocation_vector(void **state)
{
	struct fx *f = *state;
	json_t *v = mt_test_load_vector("statements.json");
	json_t *pair = json_object_get(v, "equivocation");
	for (int i = 0; i < 2; i++) {
		const char *t = json_string_value(json_array_get(pair, (size_t)i));
		mt_stmt *st = NULL;
		assert_int_equal(mt_stmt_decode(&st, t, strlen(t), 1800000000, NULL), 0);
		ingest(f, st, MT_INGEST_ACCEPTED);
		mt_stmt_free(st);
	}
	assert_int_equal(edge_count(f), 0);
	uint64_t checked, problems;
	assert_int_equal(mt_store_verify(f->s, NULL, NULL, &checked, &problems, NULL, NULL, NULL), 0);
	assert_int_equal(problems, 1);
	json_decref(v);
}

static void test_revoke_and_highest_seq(void **state)
{
	struct fx *f = *state;
	mt_stmt *a = NULL, *b = NULL;
	json_t *t1 = json_pack("{s:s,s:s,s:s,s:i}", "type", "trust", "target", f->id[1], "level",
			       "full", "score", 800);
	assert_int_equal(mt_store_issue(f->s, &a, t1, &f->k[0], 1700000000, NULL), 0);
	json_t *t2 = json_pack("{s:s,s:s,s:s,s:i}", "type", "trust", "target", f->id[1], "level",
			       "limited", "score", 300);
	assert_int_equal(mt_store_issue(f->s, &b, t2, &f->k[0], 1700000001, NULL), 0);
	assert_int_equal(b->seq, 2);
	assert_memory_equal(b->prev, a->id, 32);
	mt_edge_in *e = NULL;
	size_t n = 0;
	assert_int_equal(mt_store_edges(f->s, &e, &n, INT64_MAX, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].level, MT_LEVEL_LIMITED);
	assert_int_equal(e[0].score, 300);
	free(e);
	/* As of ts 1700000000 only the first statement counts. */
	assert_int_equal(mt_store_edges(f->s, &e, &n, 1700000000, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].score, 800);
	free(e);
	mt_stmt *r = mk_revoke(f, 0, 1, 3, b->id);
	ingest(f, r, MT_INGEST_ACCEPTED);
	assert_int_equal(edge_count(f), 0);
	assert_rebuild_identical(f);
	json_decref(t1);
	json_decref(t2);
	mt_stmt_free(a);
	mt_stmt_free(b);
	mt_stmt_free(r);
}

/* Inside one transaction the store keeps the current feed's row in memory:
 * interleaved issuers, a gap filled later, a fork and reads in between must
 * leave exactly what statement-by-statement transactions leave, the row must
 * reach the table by COMMIT (another connection sees it), and a ROLLBACK
 * must leave nothing behind. */
static void test_one_transaction_many_feeds(void **state)
{
	struct fx *f = *state;
	enum { N = 6 };
	mt_stmt *st[3][N];
	for (int i = 0; i < 3; i++)
		for (int k = 0; k < N; k++)
			st[i][k] = mk_trust(f, i, (i + 1 + k % 2) % 4, k % 2 ? "limited" : "full",
					    100 + 10 * k, (uint64_t)k + 1, k ? st[i][k - 1]->id : NULL,
					    1700000000 + k);
	mt_stmt *fork = mk_trust(f, 2, 0, "none", 1, 4, st[2][2]->id, 1700000009);
	/* The order: issuer 0 in order, 1 with a gap at 3, 2 with a fork at 4,
	 * interleaved, the gap filled last. */
	const mt_stmt *order[] = {st[0][0], st[1][0], st[1][1], st[0][1], st[0][2], st[2][0],
				  st[2][1], st[1][3], st[1][4], st[2][2], st[2][3], fork,
				  st[0][3], st[0][4], st[0][5], st[2][4], st[1][5], st[1][2],
				  st[2][5]};
	size_t n = sizeof order / sizeof *order;
	mt_error err = {0};

	/* A rolled-back transaction leaves nothing. */
	assert_int_equal(mt_store_begin(f->s, &err), 0);
	for (size_t j = 0; j < n; j++) {
		mt_ingest_result r;
		assert_int_equal(mt_store_ingest(f->s, order[j], &r, &err), 0);
	}
	mt_feed_info fi;
	assert_int_equal(mt_store_feed(f->s, f->id[0], &fi, NULL), 0); /* seen inside */
	assert_int_equal(fi.head_seq, N);
	mt_store_rollback(f->s);
	for (int i = 0; i < 3; i++)
		assert_int_equal(mt_store_feed(f->s, f->id[i], &fi, NULL), MT_ENOTFOUND);
	assert_int_equal(edge_count(f), 0);

	/* One transaction; then the same statements one transaction each in a
	 * second store: the derived state is the same. */
	assert_int_equal(mt_store_begin(f->s, &err), 0);
	for (size_t j = 0; j < n; j++) {
		mt_ingest_result r;
		assert_int_equal(mt_store_ingest(f->s, order[j], &r, &err), 0);
		assert_int_equal(r, MT_INGEST_ACCEPTED);
		if (j == 8) { /* a read in between: issuer 1 still waits for seq 3 */
			assert_int_equal(mt_store_feed(f->s, f->id[1], &fi, NULL), 0);
			assert_int_equal(fi.head_seq, 2);
		}
	}
	assert_int_equal(mt_store_commit(f->s, &err), 0);
	char path2[4300];
	snprintf(path2, sizeof path2, "%s/second.db", f->dir);
	mt_store *other = NULL, *one_by_one = NULL;
	assert_int_equal(mt_test_store_open(&other, f->path, NULL), 0); /* committed rows */
	assert_int_equal(mt_test_store_open(&one_by_one, path2, NULL), 0);
	for (size_t j = 0; j < n; j++) {
		mt_ingest_result r;
		assert_int_equal(mt_store_ingest(one_by_one, order[j], &r, &err), 0);
	}
	char *a = NULL, *b = NULL, *c = NULL;
	assert_int_equal(mt_store_derived_dump(f->s, &a, NULL), 0);
	assert_int_equal(mt_store_derived_dump(other, &b, NULL), 0);
	assert_int_equal(mt_store_derived_dump(one_by_one, &c, NULL), 0);
	assert_string_equal(a, b);
	assert_string_equal(a, c);
	assert_int_equal(mt_store_feed(other, f->id[0], &fi, NULL), 0);
	assert_int_equal(fi.head_seq, N);
	assert_int_equal(mt_store_feed(other, f->id[1], &fi, NULL), 0);
	assert_int_equal(fi.head_seq, N);
	assert_int_equal(mt_store_feed(other, f->id[2], &fi, NULL), 0);
	assert_int_equal(fi.fork_seq, 4);
	assert_int_equal(fi.head_seq, 3);
	free(a);
	free(b);
	free(c);
	mt_store_close(other);
	mt_store_close(one_by_one);
	assert_rebuild_identical(f);
	for (int i = 0; i < 3; i++)
		for (int k = 0; k < N; k++)
			mt_stmt_free(st[i][k]);
	mt_stmt_free(fork);
}

static void test_digest(void **state)
{
	struct fx *f = *state;
	unsigned char d[32], expect[32];
	uint64_t n = 99;
	assert_int_equal(mt_store_digest(f->s, d, &n, NULL), 0);
	crypto_generichash(expect, 32, NULL, 0, NULL, 0);
	assert_memory_equal(d, expect, 32);
	assert_int_equal(n, 0);
	mt_stmt *s1 = mk_trust(f, 0, 1, "full", 900, 1, NULL, 1700000000);
	mt_stmt *s2 = mk_trust(f, 1, 2, "full", 900, 1, NULL, 1700000000);
	ingest(f, s2, MT_INGEST_ACCEPTED);
	ingest(f, s1, MT_INGEST_ACCEPTED);
	unsigned char both[64];
	const mt_stmt *lo = memcmp(s1->id, s2->id, 32) < 0 ? s1 : s2;
	const mt_stmt *hi = lo == s1 ? s2 : s1;
	memcpy(both, lo->id, 32);
	memcpy(both + 32, hi->id, 32);
	crypto_generichash(expect, 32, both, 64, NULL, 0);
	assert_int_equal(mt_store_digest(f->s, d, &n, NULL), 0);
	assert_memory_equal(d, expect, 32);
	assert_int_equal(n, 2);
	mt_stmt_free(s1);
	mt_stmt_free(s2);
}

struct issuer {
	const char *path;
	const mt_keypair *kp;
	const char *target;
	int n, failures;
};

static void *issue_many(void *arg)
{
	struct issuer *is = arg;
	mt_store *s = NULL;
	if (mt_test_store_open(&s, is->path, NULL) != 0) {
		is->failures = is->n;
		return NULL;
	}
	for (int i = 0; i < is->n; i++) {
		json_t *b = json_pack("{s:s,s:s,s:s,s:i}", "type", "trust", "target", is->target,
				      "level", "full", "score", 1 + i);
		mt_error err = {0};
		if (mt_store_issue(s, NULL, b, is->kp, 1700000000 + i, &err) != 0)
			is->failures++;
		json_decref(b);
	}
	mt_store_close(s);
	return NULL;
}

static void test_concurrent_issue(void **state)
{
	struct fx *f = *state;
	pthread_t t[3];
	struct issuer is[3];
	for (int i = 0; i < 3; i++) {
		is[i] = (struct issuer){f->path, &f->k[0], f->id[1 + i], 40, 0};
		pthread_create(&t[i], NULL, issue_many, &is[i]);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(is[i].failures, 0);
	}
	mt_feed_info fi;
	assert_int_equal(mt_store_feed(f->s, f->id[0], &fi, NULL), 0);
	assert_int_equal(fi.head_seq, 120);
	assert_int_equal(fi.max_seq, 120);
	assert_int_equal(fi.fork_seq, 0);
	uint64_t checked, problems;
	assert_int_equal(mt_store_verify(f->s, NULL, NULL, &checked, &problems, NULL, NULL, NULL), 0);
	assert_int_equal(checked, 120);
	assert_int_equal(problems, 0);
}

static void test_rotation_redirects_edges(void **state)
{
	struct fx *f = *state;
	/* k0 trusts k1; k1 rotates to k2: the edge now points at k2. */
	mt_stmt *t = mk_trust(f, 0, 1, "full", 900, 1, NULL, 1700000000);
	ingest(f, t, MT_INGEST_ACCEPTED);
	char msg[256];
	int n = snprintf(msg, sizeof msg, "mesh/v1/rotate\n%s\n%s", f->id[1], f->id[2]);
	unsigned char newsig[64];
	char newsig_txt[87];
	crypto_sign_detached(newsig, NULL, (unsigned char *)msg, (size_t)n, f->k[2].sk);
	mt_sig_encode(newsig_txt, newsig);
	json_t *b = json_pack("{s:s,s:s,s:s}", "type", "rotate", "new", f->id[2], "newsig",
			      newsig_txt);
	mt_stmt *r = NULL;
	mt_error err = {0};
	if (mt_stmt_sign(&r, b, &f->k[1], 1, NULL, 1700000050, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(mt_stmt_verify(r, NULL), 0);
	ingest(f, r, MT_INGEST_ACCEPTED);
	mt_edge_in *e = NULL;
	size_t cnt = 0;
	assert_int_equal(mt_store_edges(f->s, &e, &cnt, INT64_MAX, NULL), 0);
	assert_int_equal(cnt, 1);
	assert_string_equal(e[0].dst, f->id[2]);
	free(e);
	/* Before the rotation's ts, the edge is still to the old key. */
	assert_int_equal(mt_store_edges(f->s, &e, &cnt, 1700000010, NULL), 0);
	assert_int_equal(cnt, 1);
	assert_string_equal(e[0].dst, f->id[1]);
	free(e);
	/* A newsig by the wrong key does not verify. */
	json_object_set_new(b, "new", json_string(f->id[3]));
	mt_stmt *bad = NULL;
	assert_int_equal(mt_stmt_sign(&bad, b, &f->k[1], 2, r->id, 1700000060, NULL), 0);
	assert_int_equal(mt_stmt_verify(bad, NULL), MT_EBADSIG);
	json_decref(b);
	mt_stmt_free(t);
	mt_stmt_free(r);
	mt_stmt_free(bad);
}

static void test_reopen_keeps_everything(void **state)
{
	struct fx *f = *state;
	mt_stmt *s1 = mk_trust(f, 0, 1, "full", 900, 1, NULL, 1700000000);
	ingest(f, s1, MT_INGEST_ACCEPTED);
	mt_store_close(f->s);
	assert_int_equal(mt_test_store_open(&f->s, f->path, NULL), 0);
	ingest(f, s1, MT_INGEST_DUPLICATE);
	assert_int_equal(edge_count(f), 1);
	mt_stmt_free(s1);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_gap_then_fill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_link_has_no_effect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fork_stops_feed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_equivocation_vector, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoke_and_highest_seq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_transaction_many_feeds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_digest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_issue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_redirects_edges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_everything, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
