/* Ingest pipeline: batch k+1 is decoded (parse + signature) by worker threads
 * while the main thread commits batch k, so both cores verify. */
#include "meshtrust/ingest.h"

#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_int.h"

struct item {
	char *buf;
	size_t len;
	mt_stmt *st;
	mt_stmt *old; /* the slot's statement of an earlier, committed batch */
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
 * from a common counter, so no core idles while another has work left. The
 * decoders free the slot's input bytes once decoded and parse into the memory
 * of the slot's committed statement of an earlier batch (mt_stmt_redecode),
 * off the committing thread and without a malloc per statement. */
struct decode_job {
	struct batch *b;
	int64_t now;
	atomic_size_t next;
};

static void decode_items(struct decode_job *j)
{
	for (;;) {
		size_t i = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
		if (i >= j->b->n)
			break;
		struct item *it = &j->b->items[i];
		mt_error e = {0};
		/* (the slot's statement of an earlier batch lends its memory) */
		it->st = it->old;
		it->old = NULL;
		it->rc = mt_stmt_redecode(&it->st, it->buf, it->len, j->now, &e);
		if (it->rc)
			snprintf(it->reason, sizeof it->reason, "%.255s", e.msg);
		free(it->buf);
		it->buf = NULL;
	}
}

/* Decode threads that live for the whole run (a warm allocator cache each,
 * no thread start per batch). */
struct pool {
	pthread_mutex_t mu;
	pthread_cond_t go, idle;
	struct decode_job *job;
	unsigned gen;
	int busy, quit, n;
	pthread_t *tid;
};

static void *pool_worker(void *arg)
{
	struct pool *p = arg;
	unsigned seen = 0;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->gen == seen && !p->quit)
			pthread_cond_wait(&p->go, &p->mu);
		if (p->quit)
			break;
		seen = p->gen;
		struct decode_job *j = p->job;
		pthread_mutex_unlock(&p->mu);
		decode_items(j);
		pthread_mutex_lock(&p->mu);
		if (--p->busy == 0)
			pthread_cond_signal(&p->idle);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Start up to `want` workers; p->n says how many run (0 is fine: the
 * calling thread then decodes alone). Returns 0 or MT_ENOMEM. */
static int pool_start(struct pool *p, int want)
{
	memset(p, 0, sizeof *p);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->idle, NULL);
	p->tid = calloc((size_t)want, sizeof *p->tid);
	if (!p->tid) {
		pthread_cond_destroy(&p->go);
		pthread_cond_destroy(&p->idle);
		pthread_mutex_destroy(&p->mu);
		return MT_ENOMEM;
	}
	while (p->n < want && pthread_create(&p->tid[p->n], NULL, pool_worker, p) == 0)
		p->n++;
	return 0;
}

static void pool_run(struct pool *p, struct decode_job *j)
{
	pthread_mutex_lock(&p->mu);
	p->job = j;
	p->busy = p->n;
	p->gen++;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
}

static void pool_wait(struct pool *p)
{
	pthread_mutex_lock(&p->mu);
	while (p->busy > 0)
		pthread_cond_wait(&p->idle, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

static void pool_stop(struct pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->quit = 1;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	for (int t = 0; t < p->n; t++)
		pthread_join(p->tid[t], NULL);
	free(p->tid);
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->idle);
	pthread_mutex_destroy(&p->mu);
}

/* After its commit: the batch's statements become the slots' `old`, freed by
 * whichever decoder next takes the slot (or by slots_free at the end). */
static void batch_retire(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		struct item *it = &b->items[i];
		mt_stmt_free(it->old); /* a slot no batch has reused since */
		it->old = it->st;
		it->st = NULL;
		free(it->buf);
		it->buf = NULL;
	}
	b->n = 0;
}

static void slots_free(struct batch *b, size_t cap)
{
	for (size_t i = 0; b->items && i < cap; i++) {
		free(b->items[i].buf);
		mt_stmt_free(b->items[i].st);
		mt_stmt_free(b->items[i].old);
	}
	free(b->items);
}

/* Fill `b` with up to `cap` items; returns 0 or the reader's error. */
static int batch_fill(struct batch *b, size_t cap, mt_ingest_next_fn next, void *np, int *eof)
{
	b->n = 0;
	while (b->n < cap) {
		struct item *it = &b->items[b->n];
		it->buf = NULL;
		it->len = 0;
		it->st = NULL;
		it->rc = 0;
		it->reason[0] = '\0';
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
		/* SPEC §9.2: a rotate no held commitment matches is refused before
		 * admission, so it never counts against a quota. */
		mt_error rerr = {0};
		int ra = mt_store_rotate_admissible(s, it->st, &rerr);
		if (ra == MT_EINVAL) {
			it->rc = MT_EINVAL;
			snprintf(it->reason, sizeof it->reason, "%.255s", rerr.msg);
			mt_stmt_free(it->st);
			it->st = NULL;
			continue;
		} else if (ra) {
			rc = ra;
			if (err)
				*err = rerr;
			break;
		}
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
	struct pool pool;
	int pool_ok = 0;
	struct decode_job job;
	dec->items = calloc(o.batch, sizeof *dec->items);
	com->items = calloc(o.batch, sizeof *com->items);
	int rc = 0, eof = 0, have_com = 0;
	uint64_t index = 0;
	if (!dec->items || !com->items || pool_start(&pool, o.threads) != 0) {
		rc = mt_error_set(err, MT_ENOMEM, "out of memory");
		goto done;
	}
	pool_ok = 1;
	/* The backend may tune itself for many inserts (SQLite: a bigger page
	 * cache, sparser checkpoints); undone at the end. */
	mt_store__bulk(s, 1);
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
			pool_run(&pool, &job);
		}
		if (have_com) {
			rc = commit_batch(s, com, &o, &local, err);
			batch_retire(com);
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
			decode_items(&job); /* the workers may all be busy or absent */
			pool_wait(&pool);
		}
		if (rc || !started)
			break;
		struct batch *t = dec; /* decoded: to commit; the refilled one: to decode */
		dec = com;
		com = t;
		have_com = 1;
	}
done:
	if (pool_ok) {
		pool_stop(&pool);
		mt_store__bulk(s, 0);
	}
	slots_free(dec, o.batch);
	slots_free(com, o.batch);
	if (stats)
		*stats = local;
	return rc;
}
