/* Ingest pipeline: batch k+1 is decoded (parse + signature) by worker threads
 * while the main thread commits batch k, so both cores verify. */
#include "meshtrust/ingest.h"

#include <pthread.h>
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

struct worker {
	struct batch *b;
	size_t start, stride;
	int64_t now;
	pthread_t tid;
};

static void *decode_range(void *arg)
{
	struct worker *w = arg;
	for (size_t i = w->start; i < w->b->n; i += w->stride) {
		struct item *it = &w->b->items[i];
		mt_error e = {0};
		it->rc = mt_stmt_decode(&it->st, it->buf, it->len, w->now, &e);
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
	struct batch cur = {0}, nxt = {0};
	struct worker *w = calloc((size_t)o.threads, sizeof *w);
	cur.items = calloc(o.batch, sizeof *cur.items);
	nxt.items = calloc(o.batch, sizeof *nxt.items);
	int rc = 0, eof = 0, have_cur = 0;
	uint64_t index = 0;
	if (!w || !cur.items || !nxt.items) {
		rc = mt_error_set(err, MT_ENOMEM, "out of memory");
		goto done;
	}
	for (;;) {
		/* Read and start decoding the next batch. */
		int started = 0;
		if (!eof) {
			if ((rc = batch_fill(&nxt, o.batch, next, np, &eof))) {
				mt_error_set(err, rc, "reading input failed");
				break;
			}
			nxt.first_index = index;
			index += nxt.n;
			for (int t = 0; t < o.threads && nxt.n; t++) {
				w[t] = (struct worker){&nxt, (size_t)t, (size_t)o.threads, o.now, 0};
				if (pthread_create(&w[t].tid, NULL, decode_range, &w[t]) != 0) {
					decode_range(&w[t]); /* no thread: do it here */
					w[t].b = NULL;
				}
			}
			started = nxt.n > 0;
		}
		/* Commit the previous batch meanwhile. */
		if (have_cur) {
			rc = commit_batch(s, &cur, &o, &local, err);
			batch_clear(&cur);
			have_cur = 0;
		}
		if (started)
			for (int t = 0; t < o.threads; t++)
				if (w[t].b)
					pthread_join(w[t].tid, NULL);
		if (rc)
			break;
		if (o.progress)
			o.progress(local.accepted + local.duplicate + local.rejected, 0,
				   o.progress_payload);
		if (!started)
			break;
		struct batch tmp = cur;
		cur = nxt;
		nxt = tmp;
		have_cur = 1;
	}
done:
	batch_clear(&cur);
	batch_clear(&nxt);
	free(cur.items);
	free(nxt.items);
	free(w);
	if (stats)
		*stats = local;
	return rc;
}
