/* Ingest pipeline: batch k+1 is decoded (parse + signature) by worker threads
 * while the main thread commits batch k, so both cores verify. */
#include "meshtrust/ingest.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct item {
	char *buf;
	size_t len;
	mt_stmt *st;
	int rc;
	char reason[256];
};

struct batch {
	struct item *items;
	size_t n;
	uint64_t first_index;
};

/* Decoding of one batch, shared by the worker threads and, once it has
 * committed the previous batch, the main thread: each takes the next item
 * from a common counter, so no core idles while another has work left. */
struct decode_job {
	struct batch *b;
	int64_t now;
	atomic_size_t next;
};

static void *decode_items(void *arg)
{
	struct decode_job *j = arg;
	for (;;) {
		size_t i = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
		if (i >= j->b->n)
			break;
		struct item *it = &j->b->items[i];
		mt_error e = {0};
		it->rc = mt_stmt_decode(&it->st, it->buf, it->len, j->now, &e);
		if (it->rc)
			snprintf(it->reason, sizeof it->reason, "%.255s", e.msg);
	}
	return NULL;
}

static void batch_clear(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->items[i].buf);
		mt_stmt_free(b->items[i].st);
	}
	b->n = 0;
}

/* Fill `b` with up to `cap` items; returns 0 or the reader's error. */
static int batch_fill(struct batch *b, size_t cap, mt_ingest_next_fn next, void *np, int *eof)
{
	b->n = 0;
	while (b->n < cap) {
		struct item *it = &b->items[b->n];
		memset(it, 0, sizeof *it);
		int r = next(np, &it->buf, &it->len);
		if (r < 0)
			return r;
		if (r == 0) {
			*eof = 1;
			break;
		}
		b->n++;
	}
	return 0;
}

static int commit_batch(mt_store *s, struct batch *b, const mt_ingest_opts *o, mt_ingest_stats *st,
			mt_error *err)
{
	mt_ingest_result *res = calloc(b->n ? b->n : 1, sizeof *res);
	if (!res)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	int rc = mt_store_begin(s, err);
	for (size_t i = 0; !rc && i < b->n; i++) {
		struct item *it = &b->items[i];
		if (it->rc)
			continue;
		if (o->admit && o->admit(o->payload, it->st, it->reason)) {
			it->rc = MT_EPERM;
			mt_stmt_free(it->st);
			it->st = NULL;
			continue;
		}
		rc = mt_store_ingest(s, it->st, &res[i], err);
	}
	if (!rc && o->flush)
		rc = o->flush(o->payload, err);
	if (!rc)
		rc = mt_store_commit(s, err);
	if (rc) {
		mt_store_rollback(s);
		free(res);
		return rc;
	}
	for (size_t i = 0; i < b->n; i++) {
		struct item *it = &b->items[i];
		if (it->rc)
			st->rejected++;
		else if (res[i] == MT_INGEST_DUPLICATE)
			st->duplicate++;
		else
			st->accepted++;
		if (o->done)
			o->done(o->payload, b->first_index + i, it->rc, res[i],
				it->rc ? it->reason : NULL, it->st);
	}
	free(res);
	return 0;
}

int mt_ingest_run(mt_store *s, mt_ingest_next_fn next, void *np, const mt_ingest_opts *opts,
		  mt_ingest_stats *stats, mt_error *err)
{
	mt_ingest_opts o = *opts;
	mt_ingest_stats local = {0};
	if (!o.batch)
		o.batch = 4096;
	if (o.threads <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		o.threads = n > 0 ? (int)(n > 16 ? 16 : n) : 1;
	}
	/* Two buffers: `dec` is decoded by the workers (and by this thread once
	 * its other work is done) while this thread commits `com`, then refills
	 * it from the input; then they swap. */
	struct batch bufs[2] = {{0}, {0}};
	struct batch *dec = &bufs[0], *com = &bufs[1];
	pthread_t *tid = calloc((size_t)o.threads, sizeof *tid);
	int *live = calloc((size_t)o.threads, sizeof *live);
	struct decode_job job;
	dec->items = calloc(o.batch, sizeof *dec->items);
	com->items = calloc(o.batch, sizeof *com->items);
	int rc = 0, eof = 0, have_com = 0;
	uint64_t index = 0;
	sqlite3 *db = mt_store_db(s);
	int cache_was = 0;
	if (!tid || !live || !dec->items || !com->items) {
		rc = mt_error_set(err, MT_ENOMEM, "out of memory");
		goto done;
	}
	/* A bigger page cache and fewer checkpoints while inserting: statement
	 * ids are random, so their index is rewritten all over by every batch;
	 * checkpointing every 16,384 WAL pages (64 MiB) instead of every 1,000
	 * writes each such page back once per several batches. Both restored at
	 * the end. */
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(db, "PRAGMA cache_size", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		cache_was = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	if (cache_was)
		sqlite3_exec(db, "PRAGMA cache_size=-65536; PRAGMA wal_autocheckpoint=16384", NULL,
			     NULL, NULL);
	if ((rc = batch_fill(dec, o.batch, next, np, &eof))) {
		mt_error_set(err, rc, "reading input failed");
		goto done;
	}
	index = dec->n;
	for (;;) {
		int started = dec->n > 0;
		if (started) {
			job.b = dec;
			job.now = o.now;
			atomic_init(&job.next, 0);
			for (int t = 0; t < o.threads; t++)
				live[t] = pthread_create(&tid[t], NULL, decode_items, &job) == 0;
		}
		if (have_com) {
			rc = commit_batch(s, com, &o, &local, err);
			batch_clear(com);
			have_com = 0;
			if (!rc && o.progress)
				o.progress(local.accepted + local.duplicate + local.rejected, 0,
					   o.progress_payload);
		}
		if (!rc && !eof) {
			if ((rc = batch_fill(com, o.batch, next, np, &eof)))
				mt_error_set(err, rc, "reading input failed");
			com->first_index = index;
			index += com->n;
		}
		if (started) {
			decode_items(&job); /* also covers any thread that could not start */
			for (int t = 0; t < o.threads; t++)
				if (live[t]) {
					pthread_join(tid[t], NULL);
					live[t] = 0;
				}
		}
		if (rc || !started)
			break;
		struct batch *t = dec; /* decoded: to commit; the refilled one: to decode */
		dec = com;
		com = t;
		have_com = 1;
	}
done:
	if (cache_was) {
		char sql[64];
		snprintf(sql, sizeof sql, "PRAGMA cache_size=%d; PRAGMA wal_autocheckpoint=1000",
			 cache_was);
		sqlite3_exec(db, sql, NULL, NULL, NULL);
	}
	batch_clear(dec);
	batch_clear(com);
	free(dec->items);
	free(com->items);
	free(tid);
	free(live);
	if (stats)
		*stats = local;
	return rc;
}
