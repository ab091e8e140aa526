/* The ingest pipeline (mt_ingest_run): results in input order across many
 * small batches and several decode threads, admission and flush hooks inside
 * each batch's transaction, and a failing flush rolling back its batch only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/encoding.h"
#include "meshtrust/ingest.h"
#include "meshtrust/store.h"
#include "store/store_int.h" /* mt_store_db: the store's internal SQLite handle */
#include "testutil.h"
#include "teststore.h"

enum { ISSUERS = 3, PER_ISSUER = 10, BATCH = 4 };

struct fx {
	char *dir;
	mt_store *s;
	char id[ISSUERS][MT_NODE_ID_MAX];
	char *lines[ISSUERS * PER_ISSUER + 2];
	size_t n;
	int bad_sig, not_json; /* their input indexes */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	f->dir = mt_test_tmpdir();
	char path[4200];
	snprintf(path, sizeof path, "%s/trust.db", f->dir);
	assert_int_equal(mt_test_store_open(&f->s, path, NULL), 0);
	/* Issuers interleaved, as a sync of several feeds delivers them. */
	mt_stmt *chain[ISSUERS][PER_ISSUER];
	mt_keypair k[ISSUERS];
	for (int i = 0; i < ISSUERS; i++) {
		unsigned char seed[32];
		memset(seed, 40 + i, 32);
		mt_keypair_from_seed(&k[i], seed);
		mt_node_id_encode(f->id[i], k[i].pk);
	}
	for (int q = 0; q < PER_ISSUER; q++)
		for (int i = 0; i < ISSUERS; i++) {
			json_t *b = json_pack("{s:s,s:s,s:s,s:i}", "type", "trust", "target",
					      f->id[(i + 1) % ISSUERS], "level", "full", "score",
					      q + 1);
			assert_int_equal(mt_stmt_sign(&chain[i][q], b, &k[i], (uint64_t)q + 1,
						      q ? chain[i][q - 1]->id : NULL,
						      1700000000 + q, NULL),
					 0);
			json_decref(b);
			f->lines[f->n++] = strdup(chain[i][q]->canon);
		}
	/* A forged statement (issuer 0's seq 11 with a flipped signature char)
	 * and a line that is not JSON, in the middle of the stream. */
	json_t *b = json_pack("{s:s,s:s,s:s,s:i}", "type", "trust", "target", f->id[2], "level",
			      "limited", "score", 1);
	mt_stmt *forged = NULL;
	assert_int_equal(mt_stmt_sign(&forged, b, &k[0], PER_ISSUER + 1,
				      chain[0][PER_ISSUER - 1]->id, 1700000100, NULL),
			 0);
	json_decref(b);
	char *fl = strdup(forged->canon);
	char *sig = strstr(fl, "\"sig\":\"") + 7;
	sig[5] = sig[5] == 'A' ? 'B' : 'A';
	mt_stmt_free(forged);
	f->bad_sig = 13;
	f->not_json = 17;
	memmove(&f->lines[f->bad_sig + 1], &f->lines[f->bad_sig],
		(f->n - (size_t)f->bad_sig) * sizeof *f->lines);
	f->lines[f->bad_sig] = fl;
	f->n++;
	memmove(&f->lines[f->not_json + 1], &f->lines[f->not_json],
		(f->n - (size_t)f->not_json) * sizeof *f->lines);
	f->lines[f->not_json] = strdup("{\"type\": not json");
	f->n++;
	for (int i = 0; i < ISSUERS; i++)
		for (int q = 0; q < PER_ISSUER; q++)
			mt_stmt_free(chain[i][q]);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	mt_store_close(f->s);
	mt_test_rmtree(f->dir);
	free(f->dir);
	for (size_t i = 0; i < f->n; i++)
		free(f->lines[i]);
	free(f);
	return 0;
}

struct run {
	struct fx *f;
	size_t next;
	uint64_t done_next; /* the index `done` must report next */
	int done_rc[ISSUERS * PER_ISSUER + 2];
	mt_ingest_result done_res[ISSUERS * PER_ISSUER + 2];
	int admits, admitted_since_flush, flushes, flush_fail_at;
	int refuse_issuer; /* its statements with seq > 5 are refused */
};

static int next_line(void *payload, char **buf, size_t *len)
{
	struct run *r = payload;
	if (r->next >= r->f->n)
		return 0;
	*buf = strdup(r->f->lines[r->next++]);
	*len = strlen(*buf);
	return 1;
}

static void on_done(void *payload, uint64_t index, int rc, mt_ingest_result result,
		    const char *reason, const mt_stmt *st)
{
	struct run *r = payload;
	assert_int_equal(index, r->done_next); /* input order, each once */
	r->done_next++;
	r->done_rc[index] = rc;
	r->done_res[index] = result;
	if (rc)
		assert_true(reason && *reason);
	else
		assert_non_null(st);
}

static int on_admit(void *payload, const mt_stmt *st, char reason[256])
{
	struct run *r = payload;
	/* admission runs inside the batch's transaction */
	assert_int_equal(sqlite3_get_autocommit(mt_store_db(r->f->s)), 0);
	r->admits++;
	if (strcmp(st->iss, r->f->id[r->refuse_issuer]) == 0 && st->seq > 5) {
		snprintf(reason, 256, "over quota (test)");
		return 1;
	}
	r->admitted_since_flush++;
	return 0;
}

static int on_flush(void *payload, mt_error *err)
{
	struct run *r = payload;
	assert_int_equal(sqlite3_get_autocommit(mt_store_db(r->f->s)), 0);
	r->flushes++;
	r->admitted_since_flush = 0;
	if (r->flushes == r->flush_fail_at)
		return mt_error_set(err, MT_EIO, "flush failed (test)");
	return 0;
}

static uint64_t head(struct fx *f, int i)
{
	mt_feed_info fi;
	return mt_store_feed(f->s, f->id[i], &fi, NULL) == 0 ? fi.head_seq : 0;
}

static void test_order_hooks_and_results(void **state)
{
	MT_TEST_SQLITE_ONLY();
	struct fx *f = *state;
	struct run r = {.f = f, .refuse_issuer = 2};
	mt_ingest_opts o = {.now = 1700000500, .threads = 3, .batch = BATCH, .done = on_done,
			    .admit = on_admit, .flush = on_flush, .payload = &r};
	mt_ingest_stats st = {0};
	mt_error err = {0};
	assert_int_equal(mt_ingest_run(f->s, next_line, &r, &o, &st, &err), 0);
	assert_int_equal(r.done_next, f->n);
	assert_int_equal(r.flushes, (int)((f->n + BATCH - 1) / BATCH)); /* one per batch */
	assert_int_equal(r.admitted_since_flush, 0);
	assert_int_not_equal(r.done_rc[f->bad_sig], 0);
	assert_int_not_equal(r.done_rc[f->not_json], 0);
	/* issuer 0 and 1 complete, issuer 2 stops at 5 (quota refused 6..10) */
	assert_int_equal(head(f, 0), PER_ISSUER);
	assert_int_equal(head(f, 1), PER_ISSUER);
	assert_int_equal(head(f, 2), 5);
	assert_int_equal(st.accepted, 2 * PER_ISSUER + 5);
	assert_int_equal(st.rejected, 2 + (PER_ISSUER - 5));
	assert_int_equal(st.duplicate, 0);
	assert_int_equal(r.admits, 3 * PER_ISSUER); /* decode failures never reach admit */

	/* Again: everything already held is a duplicate, admitted or not. */
	struct run r2 = {.f = f, .refuse_issuer = 2};
	o.payload = &r2;
	assert_int_equal(mt_ingest_run(f->s, next_line, &r2, &o, &st, &err), 0);
	assert_int_equal(st.duplicate, 2 * PER_ISSUER + 5);
	assert_int_equal(head(f, 2), 5);
}

static void test_failing_flush_rolls_back_its_batch(void **state)
{
	MT_TEST_SQLITE_ONLY();
	struct fx *f = *state;
	/* issuer 0's seq > 5 would be refused: not reached before the failure */
	struct run r = {.f = f, .refuse_issuer = 0, .flush_fail_at = 2};
	mt_ingest_opts o = {.now = 1700000500, .threads = 2, .batch = BATCH, .done = on_done,
			    .admit = on_admit, .flush = on_flush, .payload = &r};
	mt_ingest_stats st = {0};
	mt_error err = {0};
	assert_int_equal(mt_ingest_run(f->s, next_line, &r, &o, &st, &err), MT_EIO);
	assert_string_equal(err.msg, "flush failed (test)");
	/* batch 1 (input 0..3: seq 1 of issuers 0,1,2 and seq 2 of issuer 0) is
	 * committed and reported; batch 2 rolled back and not reported. */
	assert_int_equal(r.done_next, BATCH);
	assert_int_equal(st.accepted, BATCH);
	assert_int_equal(head(f, 0), 2);
	assert_int_equal(head(f, 1), 1);
	assert_int_equal(head(f, 2), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order_hooks_and_results, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failing_flush_rolls_back_its_batch, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
