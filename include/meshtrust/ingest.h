/** Verified ingest of many statements: parse + verify on worker threads while
 * the previous batch is committed, one transaction per batch.
 *
 * Durability contract: the `done` callback for an item is called only after
 * the transaction holding it has committed, so whatever a caller acknowledged
 * from that callback survives a crash of the process.
 */
#ifndef MESHTRUST_INGEST_H
#define MESHTRUST_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "meshtrust/store.h"

/** Pull the next statement's bytes. Return 1 and set *buf (malloc'd; the
 * pipeline takes ownership and frees it) and *len; 0 at the end; a negative
 * MT_E* code to abort (already committed batches stay). */
typedef int (*mt_ingest_next_fn)(void *payload, char **buf, size_t *len);

/** Outcome of one item, reported in input order after its batch commits.
 * `rc` is 0 (then `result` says accepted or duplicate) or the decode error
 * code with `reason` naming it; `st` is the decoded statement (NULL when
 * rejected), borrowed for the call. */
typedef void (*mt_ingest_done_fn)(void *payload, uint64_t index, int rc, mt_ingest_result result,
				  const char *reason, const mt_stmt *st);

/** Optional admission hook, called on the committing thread before a decoded
 * statement is stored; return 0 to admit, or non-zero and fill `reason`
 * (<= 255 chars) to reject it (e.g. quotas, trust horizon). */
typedef int (*mt_ingest_admit_fn)(void *payload, const mt_stmt *st, char reason[256]);

/** Optional hook called on the committing thread inside each batch's
 * transaction, after its items and before the commit: lets an admission hook
 * write what it counted in one go. Return 0, or an MT_E* code with `err` set
 * to roll the batch back and end the run with that error. */
typedef int (*mt_ingest_flush_fn)(void *payload, mt_error *err);

typedef struct mt_ingest_opts {
	int64_t now;        /* clock for the ts check */
	int threads;        /* decode threads; 0 = online CPUs */
	size_t batch;       /* statements per transaction; 0 = 4096 */
	mt_ingest_done_fn done;
	mt_ingest_admit_fn admit;
	mt_ingest_flush_fn flush;
	void *payload;      /* passed to done, admit and flush */
	mt_progress_fn progress; /* (items done, 0) after each batch; may be NULL */
	void *progress_payload;
} mt_ingest_opts;

/** Totals of a run. */
typedef struct mt_ingest_stats {
	uint64_t accepted, duplicate, rejected;
} mt_ingest_stats;

/** Run the pipeline until `next` reports the end. Returns 0, or the error of
 * `next` or of the store (the failing batch is rolled back, earlier batches
 * stay committed). *stats may be NULL. */
int mt_ingest_run(mt_store *s, mt_ingest_next_fn next, void *next_payload,
		  const mt_ingest_opts *opts, mt_ingest_stats *stats, mt_error *err);

#endif
