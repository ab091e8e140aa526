/* Internals shared by the store's files (not a public API).
 *
 * A store is a thin handle (struct mt_store) over a backend: a versioned table
 * of operations (mt_store_backend, store.h "Backends"). SQLite is the first
 * backend; its state is struct store_sqlite below, which embeds the operation
 * table as its first member. The files:
 *
 *   store.c         the public mt_store_* functions: checks, then dispatch
 *                   through s->be (the only file that knows no SQL)
 *   store_open.c    SQLite backend: open/close, pragmas, migrations,
 *                   transactions, the query cache, exec/err helpers, the
 *                   backend's operation table
 *   store_feed.c    feeds and the feed-row cache, forks, apply order (which
 *                   statements take effect), ingest, issue, rebuild
 *   store_read.c    digest, statements, feed info, derived dump, edges,
 *                   bridges, verify
 *   store_kv.c      local notes and configuration
 *   store_lessons.c matching lessons (the FTS5 index), the federated
 *                   search's overlay
 *   store_node.c    for the node: feed listing and pages, recent
 *                   statements, forks, the change counter, peers, quota
 *                   counters (local tables)
 *   proj_table.c    THE table of derived state: one row per projection
 *   proj_*.c        one projection each (edges, rotations, bridges, lessons)
 *   ingest.c        the batch pipeline, on the public API
 *
 * Derived state is a list of projections (mt_projection): each owns tables
 * (its schema), applies one statement of a type it consumes, resets, forgets
 * one issuer (a fork below the head replays that issuer), dumps its tables in a
 * canonical order and may check itself. The feed rules (store_feed.c) decide
 * WHICH statements take effect and in what order; the projections decide WHAT
 * each one changes. docs/store.md has the checklist for adding one.
 */
#ifndef MT_STORE_INT_H
#define MT_STORE_INT_H

#include <sqlite3.h>
#include <stdint.h>

#include "meshtrust/store.h"

/* The public handle: the backend and nothing else. */
struct mt_store {
	mt_store_backend *be; /* owned: be->free at close */
};

typedef struct store_sqlite store_sqlite;

/* ---- projections ------------------------------------------------------- */

/** Problem found by a projection's check: one line of text. */
typedef void (*mt_proj_report_fn)(void *payload, const char *problem);

/** One piece of derived state. Every function returns 0 or an MT_E* code with
 * `err` set; NULL members are "nothing to do". */
typedef struct mt_projection {
	/** Unique name (also the title of its first dump section by habit). */
	const char *name;
	/** Its CREATE statements, NULL-terminated; NULL when its tables are part
	 * of the core schema (MIGRATIONS in store_open.c). Run once, by the
	 * migration to schema version `since`. */
	const char *const *schema;
	/** Schema version (PRAGMA user_version) whose migration creates it:
	 * a new projection takes MT_STORE_SCHEMA + 1 and bumps MT_STORE_SCHEMA,
	 * so an existing store gets the tables and a rebuild at its next open
	 * and an older build refuses the store instead of leaving them stale. */
	int since;
	/** Statement types it consumes (type names, NULL-terminated). NULL for
	 * state kept by the feed rules themselves (feeds, forks, applied), which
	 * is listed here only to be reset, forgotten and dumped in one place. */
	const char *const *types;
	/** Apply one statement of one of `types` that takes effect now, in
	 * feed order (the feed rules call it; it never decides validity). */
	int (*apply)(store_sqlite *s, const mt_stmt *st, mt_error *err);
	/** Empty its tables (rebuild, inside its transaction). */
	int (*reset)(store_sqlite *s, mt_error *err);
	/** Remove what the statements of issuer `iss` derived (a fork at or
	 * below that issuer's head replays its valid prefix). Must not touch
	 * `feeds` (use mt_store__run, not mt_store__exec). */
	int (*forget)(store_sqlite *s, const char *iss, mt_error *err);
	/** Optional consistency check against the statements (rows no applied
	 * statement accounts for, a corrupt index, …): calls report() per
	 * problem. mt_store_derived_dump appends the problems, so `mesh store
	 * rebuild --check` fails on them; a sound store adds nothing. */
	int (*check)(store_sqlite *s, mt_proj_report_fn report, void *payload, mt_error *err);
	/** Dump sections {title, SELECT with a total ORDER BY}, ending with
	 * {NULL, NULL}: the canonical text form of its tables. */
	const char *const (*dump)[2];
} mt_projection;

/* The table (proj_table.c), in dump order. */
extern const mt_projection *const mt_store__projections[];
extern const size_t mt_store__projection_count;

/* The rows (each defined in its own file). */
extern const mt_projection mt_proj_feeds;     /* store_feed.c: feeds, forks */
extern const mt_projection mt_proj_applied;   /* store_feed.c: statements.applied */
extern const mt_projection mt_proj_edges;     /* proj_edges.c: trust, revoke */
extern const mt_projection mt_proj_rotations; /* proj_rotations.c: rotate */
extern const mt_projection mt_proj_bridges;   /* proj_bridges.c: bridge */
extern const mt_projection mt_proj_lessons;   /* proj_lessons.c: lesson (+ FTS5 index) */
extern const mt_projection mt_proj_revokes;   /* proj_revokes.c: revoke */
extern const mt_projection mt_proj_keys;      /* store_keys.c: key notes, rotate candidates */

/** At most this many projections consume one statement type. */
#define MT_STORE_PROJ_PER_TYPE 8

/* ---- the SQLite backend's state ---------------------------------------- */

/* Core queries, prepared at open (store_open.c has their SQL). */
enum {
	Q_INSERT,
	Q_SAME_SEQ,
	Q_FEED_GET,
	Q_FEED_PUT,
	Q_AT_SEQ,
	Q_SET_APPLIED,
	Q_FORK_PUT,
	Q_MAXSEQ,
	Q__COUNT
};

/* Key-event flags of a feed (feeds.kflags). */
#define MT_KF_HAS_ROT 1   /* holds a pre-rotation rotate: store_keys.c resolves it */
#define MT_KF_CONTESTED 2 /* two valid rotates: ends at their common prefix */
#define MT_KF_PENDING 4   /* a valid rotate waits for the new feed's `key` */

/* One feed's derived row. */
struct feed {
	uint64_t head_seq;
	unsigned char head_id[32];
	uint64_t fork_seq;
	char rotated_to[MT_NODE_ID_MAX];
	uint64_t max_seq; /* highest seq held */
	int64_t head_ts;  /* ts of the applied head (SPEC §9.1: never decreases) */
	char commitment[65]; /* the first applied `key`'s next, "" */
	uint64_t commit_seq;
	int kflags;       /* MT_KF_* */
};

/* One feed's row, kept in memory inside a write transaction (where no other
 * connection can change it): consecutive statements of one issuer, as a
 * sync or an import brings them, then cost no read and no write of `feeds`
 * each. Written back when another feed is touched, before COMMIT and before
 * any other SQL the store runs with mt_store__exec(); dropped at BEGIN,
 * COMMIT and ROLLBACK. Only mt_store__feed_get/_put use it: every access of
 * the store to the `feeds` table goes through them or through
 * mt_store__exec(). */
struct feed_cache {
	int valid, dirty, found;
	char iss[MT_NODE_ID_MAX];
	struct feed f;
};

/* Projections' queries, prepared on first use and kept for the connection,
 * found by the address of their SQL text (a static string of the projection):
 * no enum to extend when a projection is added. */
#define MT_STORE_QCACHE 64
struct query_cache {
	const char *sql[MT_STORE_QCACHE];
	sqlite3_stmt *q[MT_STORE_QCACHE];
};

struct store_sqlite {
	mt_store_backend be; /* first: the operations (a store_sqlite * is a be *) */
	sqlite3 *db;
	sqlite3_stmt *q[Q__COUNT];
	struct query_cache qc;
	int in_tx; /* inside mt_store_begin .. commit/rollback */
	struct feed_cache fc;
	/* statement type -> the projections consuming it, NULL-terminated;
	 * built once at open from the table's `types` (no string compare on
	 * the ingest path). */
	const mt_projection *by_type[MT_ST__COUNT][MT_STORE_PROJ_PER_TYPE + 1];
	int bulk_cache, bulk_ckpt; /* pragmas to restore after a bulk load */
	int overlay;               /* a lesson overlay (savepoint) is open */
};

static inline store_sqlite *mt_store__sq(mt_store_backend *be)
{
	return (store_sqlite *)(void *)be;
}

/* ---- helpers (store_open.c) -------------------------------------------- */

/** The SQLite connection of a store on the SQLite backend, else NULL (store.c;
 * for the store's own unit tests only, never above the store). */
struct sqlite3 *mt_store_db(mt_store *s);

/** Set `err` from the connection's last error: MT_EBUSY when locked, else
 * MT_EIO; returns the code. */
int mt_store__err(store_sqlite *s, mt_error *err, const char *what);

/** Run SQL text (several statements allowed). Writes the cached feed row
 * first (except for ROLLBACK) and drops the cache: use it for transaction
 * boundaries and for anything that may read or change `feeds`. */
int mt_store__exec(store_sqlite *s, const char *sql, mt_error *err);

/** Prepare, bind `arg` as ?1 (when not NULL), step to the end, finalize.
 * Leaves the feed cache alone: never for SQL touching `feeds`. */
int mt_store__run(store_sqlite *s, const char *sql, const char *arg, mt_error *err);

/** A core query, reset and with its bindings cleared. */
static inline sqlite3_stmt *mt_store__Q(store_sqlite *s, int which)
{
	sqlite3_stmt *q = s->q[which];
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return q;
}

/** A projection's query by its (static) SQL text: prepared on first use,
 * then reset with bindings cleared, in *out (borrowed). Errors: MT_EIO,
 * MT_EBUSY. */
int mt_store__query(store_sqlite *s, sqlite3_stmt **out, const char *sql, mt_error *err);

/** Step a write to completion and reset it. */
static inline int mt_store__step_done(store_sqlite *s, sqlite3_stmt *q, mt_error *err,
				      const char *what)
{
	int r = sqlite3_step(q);
	sqlite3_reset(q);
	return r == SQLITE_DONE ? 0 : mt_store__err(s, err, what);
}

/** Build s->by_type from the projection table (store_feed.c). */
int mt_store__index_projections(store_sqlite *s, mt_error *err);

/* ---- feeds (store_feed.c) ------------------------------------------------ */

int mt_store__feed_get(store_sqlite *s, const char *iss, struct feed *f, int *found,
		       mt_error *err);
int mt_store__feed_flush(store_sqlite *s, mt_error *err);
/** Do two stored statements have the same signing input (same body)? */
int mt_store__same_body(const char *a, size_t alen, const char *b, size_t blen);

/* ---- key events (store_keys.c; the feed rules call them) ------------------ */

/** Apply one statement of the valid prefix (projections, head, applied
 * mark, the key-event rules of apply). store_feed.c. */
int mt_store__apply(store_sqlite *s, const mt_stmt *st, struct feed *f, mt_error *err);
/** Write a feed's row (through the cache). store_feed.c. */
int mt_store__feed_put(store_sqlite *s, const char *iss, const struct feed *f, mt_error *err);
/** Record a key-event finding about statement `st` (kind as mt_verify_issue). */
int mt_store__key_note(store_sqlite *s, const char *iss, uint64_t seq, const unsigned char id[32],
		       const char *kind, const char *detail, mt_error *err);
/** Recompute the applied chain of a feed holding a pre-rotation rotate from
 * its held statements (forget, choose the chain, apply); *f is updated (the
 * caller writes it). */
int mt_store__keys_resolve(store_sqlite *s, const char *iss, struct feed *f, mt_error *err);
/** After `st` was stored: a pre-rotation rotate is recorded as a candidate
 * (and the other feeds rotating into the same `new` are resolved again); a
 * `key` with `from` resolves the feed of the rotate it names. */
int mt_store__keys_after_ingest(store_sqlite *s, const mt_stmt *st, mt_error *err);
/** Rebuild: record every held pre-rotation rotate as a candidate. */
int mt_store__keys_rebuild_candidates(store_sqlite *s, mt_error *err);
/** Is `iss` a feed with candidates (rebuild)? */
int mt_store__keys_has_rot(store_sqlite *s, const char *iss, int *out, mt_error *err);
/** A write of its own unless inside mt_store_begin .. commit: *own is set
 * and BEGIN IMMEDIATE run (in_tx set, so nested store writes join it) when
 * no transaction is open. Returns 0 or the error (then nothing is open).
 * store_open.c. */
int mt_store__own_tx_begin(store_sqlite *s, int *own, mt_error *err);
/** The end of mt_store__own_tx_begin's transaction when `own`: ROLLBACK
 * when rc is non-zero, else COMMIT (whose error is returned). Returns rc
 * otherwise. */
int mt_store__own_tx_end(store_sqlite *s, int own, int rc, mt_error *err);
/** Forget and replay one issuer's derived state (store_feed.c). */
int mt_store__replay(store_sqlite *s, const char *iss, mt_error *err);
/** A `key` naming rotate `from_hex` at seq 1 whose ts is lower than that
 * rotate's has no effect (SPEC §9.1): *older = 1 then (0 when the rotate is
 * not held). store_keys.c. */
int mt_store__key_older_than_rotate(store_sqlite *s, const mt_stmt *key, int *older,
				    mt_error *err);
/** Record `id` as signed by this store (theft alarm). */
int mt_store__own_mark(store_sqlite *s, const unsigned char id[32], mt_error *err);

/* ---- lessons, shared by the backends (store_lessons.c) -------------------- */

/** Does the JSON array text `topics` hold exactly the string `topic`? */
int mt_store__has_topic(const char *topics, const char *topic);
/** A lesson's topics as a compact JSON array (malloc'd into *out). */
int mt_store__lesson_topics(const mt_stmt *st, char **out, mt_error *err);
/** Is lesson `id` in the `lessons` projection (it takes effect)? */
int mt_store__lesson_indexed(store_sqlite *s, const unsigned char id[32], int *yes, mt_error *err);

/* ---- the SQLite backend's operations (one file each group) ---------------- */

/* store_open.c */
void mt_store__sq_free(mt_store_backend *be);
int mt_store__sq_begin(mt_store_backend *be, mt_error *err);
int mt_store__sq_commit(mt_store_backend *be, mt_error *err);
void mt_store__sq_rollback(mt_store_backend *be);
/* store_feed.c */
int mt_store__sq_ingest(mt_store_backend *be, const mt_stmt *st, mt_ingest_result *result,
			mt_error *err);
int mt_store__sq_issue(mt_store_backend *be, mt_stmt **out, const json_t *body,
		       const mt_keypair *kp, int64_t ts, mt_error *err);
int mt_store__sq_rebuild(mt_store_backend *be, mt_progress_fn progress, void *payload,
			 mt_error *err);
/* store_read.c */
int mt_store__sq_digest(mt_store_backend *be, unsigned char out[32], uint64_t *count,
			mt_error *err);
int mt_store__sq_derived_dump(mt_store_backend *be, char **out, mt_error *err);
int mt_store__sq_edges(mt_store_backend *be, mt_edge_in **out, size_t *n, int64_t at,
		       mt_error *err);
int mt_store__sq_edge_get(mt_store_backend *be, const char *iss, const char *target,
			  const char *scope, unsigned char stmt_id[32], uint64_t *seq,
			  mt_error *err);
int mt_store__sq_bridges(mt_store_backend *be, mt_bridge_visit_fn fn, void *payload,
			 mt_error *err);
int mt_store__sq_foreach(mt_store_backend *be, const char *iss, mt_stmt_visit_fn fn,
			 void *payload, mt_error *err);
int mt_store__sq_get(mt_store_backend *be, const unsigned char id[32], char **canon, size_t *len,
		     mt_error *err);
int mt_store__sq_feed(mt_store_backend *be, const char *iss, mt_feed_info *out, mt_error *err);
int mt_store__sq_verify(mt_store_backend *be, mt_verify_fn fn, void *payload, uint64_t *checked,
			uint64_t *problems, mt_progress_fn progress, void *pp, mt_error *err);
/* store_kv.c */
int mt_store__sq_note_set(mt_store_backend *be, const char *node_id, const char *note,
			  mt_error *err);
int mt_store__sq_note_get(mt_store_backend *be, const char *node_id, char **out, mt_error *err);
int mt_store__sq_config_set(mt_store_backend *be, const char *key, const char *value,
			    mt_error *err);
int mt_store__sq_config_get(mt_store_backend *be, const char *key, char **out, mt_error *err);
/* store_read.c (revision 2) */
int mt_store__sq_foreach_type(mt_store_backend *be, const mt_stmt_type *types, size_t n_types,
			      mt_stmt_visit_fn fn, void *payload, mt_error *err);
int mt_store__sq_contains(mt_store_backend *be, const unsigned char id[32], int *found,
			  mt_error *err);
/* store_lessons.c */
int mt_store__sq_lessons_match(mt_store_backend *be, const char *const *words, size_t n_words,
			       const char *topic, mt_lesson_visit_fn fn, void *payload,
			       uint64_t *matched, mt_error *err);
int mt_store__sq_lessons_overlay_begin(mt_store_backend *be, const mt_stmt *const *lessons,
				       size_t n, unsigned char *indexed, mt_error *err);
void mt_store__sq_lessons_overlay_end(mt_store_backend *be);
/* store_node.c */
int mt_store__sq_feeds(mt_store_backend *be, mt_feed_visit_fn fn, void *payload, mt_error *err);
int mt_store__sq_feed_page(mt_store_backend *be, const char *iss, uint64_t from_seq,
			   uint64_t limit, mt_stmt_visit_fn fn, void *payload, mt_error *err);
int mt_store__sq_recent(mt_store_backend *be, uint64_t limit, mt_entry_visit_fn fn,
			void *payload, mt_error *err);
int mt_store__sq_log_since(mt_store_backend *be, uint64_t after, uint64_t limit,
			   mt_log_visit_fn fn, void *payload, mt_error *err);
int mt_store__sq_log_position(mt_store_backend *be, uint64_t *out, mt_error *err);
int mt_store__sq_ids(mt_store_backend *be, mt_id_visit_fn fn, void *payload, mt_error *err);
int mt_store__sq_forks(mt_store_backend *be, uint64_t limit, mt_fork_visit_fn fn, void *payload,
		       mt_error *err);
int mt_store__sq_change_counter(mt_store_backend *be, uint64_t *out, mt_error *err);
int mt_store__sq_peer_put(mt_store_backend *be, const char *url, const char *node_id,
			  int64_t added, mt_error *err);
int mt_store__sq_peer_synced(mt_store_backend *be, const char *url, int64_t when,
			     const char *error, uint64_t lag, mt_error *err);
int mt_store__sq_peers(mt_store_backend *be, mt_peer_visit_fn fn, void *payload, mt_error *err);
int mt_store__sq_quota_add(mt_store_backend *be, int kind, const char *key, int64_t minute,
			   uint64_t n, mt_error *err);
int mt_store__sq_quota_sum(mt_store_backend *be, int kind, const char *key, int64_t after,
			   uint64_t *out, mt_error *err);
int mt_store__sq_quota_prune(mt_store_backend *be, int64_t upto, mt_error *err);
/* revision 3 (store_keys.c) */
int mt_store__sq_key_status(mt_store_backend *be, const char *iss, mt_key_status *out,
			    mt_error *err);
int mt_store__sq_rotate_admissible(mt_store_backend *be, const mt_stmt *st, mt_error *err);
int mt_store__sq_issue_rotate(mt_store_backend *be, mt_stmt **out, const char *old_iss,
			      const mt_keypair *next_kp, uint64_t last_good, int64_t ts,
			      mt_error *err);
int mt_store__sq_newest_id(mt_store_backend *be, const char *id, char out[MT_NODE_ID_MAX],
			   mt_error *err);
int mt_store__sq_own_foreign(mt_store_backend *be, const char *own_id, mt_own_visit_fn fn,
			     void *payload, uint64_t *count, mt_error *err);
int mt_store__sq_own_adopt(mt_store_backend *be, const char *own_id, mt_error *err);
int mt_store__sq_rotation_links(mt_store_backend *be, mt_rotation_visit_fn fn, void *payload,
				mt_error *err);
int mt_store__sq_seen(mt_store_backend *be, const unsigned char id[32], int64_t *out,
		      mt_error *err);
int mt_store__sq_name_set(mt_store_backend *be, const char *node_id, const char *name,
			  mt_error *err);
int mt_store__sq_name_get(mt_store_backend *be, const char *node_id, char out[MT_NAME_MAX],
			  mt_error *err);
int mt_store__sq_name_lookup(mt_store_backend *be, const char *name, char out[MT_NODE_ID_MAX],
			     mt_error *err);
int mt_store__sq_name_remove(mt_store_backend *be, const char *key, int *removed,
			     mt_error *err);
int mt_store__sq_names(mt_store_backend *be, mt_name_visit_fn fn, void *payload, mt_error *err);
int mt_store__sq_peer_remove(mt_store_backend *be, const char *url, int *removed, mt_error *err);
int mt_store__sq_notes(mt_store_backend *be, mt_kv_visit_fn fn, void *payload, mt_error *err);
int mt_store__sq_configs(mt_store_backend *be, mt_kv_visit_fn fn, void *payload, mt_error *err);
int mt_store__sq_lessons_of(mt_store_backend *be, const char *author, const char *topic,
			    uint64_t limit, mt_lesson_visit_fn fn, void *payload, mt_error *err);

/* ---- for the ingest pipeline (store.c) ------------------------------------ */

/** Tell the backend that many ingests follow (on = 1) or have ended (0);
 * a no-op when the backend has no `bulk` operation. */
void mt_store__bulk(mt_store *s, int on);

/* ---- shared by proj_edges.c and the edges-at-T replay (store_read.c) ------ */

/** MT_LEVEL_* of a trust statement's `level`. */
int mt_store__trust_level(const mt_stmt *st);

#endif
