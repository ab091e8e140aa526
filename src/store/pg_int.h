/* The PostgreSQL backend's internals (not a public API; docs/postgresql.md).
 *
 * What PostgreSQL holds is what several processes must share and what must
 * survive: the statements (append-only, in insertion order `n`), what this
 * store signed, the local tables (notes, config, names, peers, quota
 * counters), a change clock, and the full-text index of every lesson held.
 *
 * What is derived from the statements (feeds, forks, edges, rotations,
 * bridges, revokes, key events, lessons that take effect) is computed by the
 * same rule code as the SQLite backend — never a second copy of SPEC §2 and
 * §9.2 — run by each handle on a private in-memory SQLite database, the
 * "derivation": it is caught up from PostgreSQL by insertion order (rows
 * n > last_n) before every operation. So mt_store_derived_dump and the
 * digest are the SQLite backend's by construction, and every handle sees
 * what any process committed before the operation began.
 *
 * Writes (ingest, issue, issue_rotate, own_adopt, an explicit begin ..
 * commit) run in a PostgreSQL transaction that first takes the store's
 * transaction-level advisory lock (PG_WRITE_LOCK): one writer at a time
 * across all processes, so statement rows are inserted and committed in `n`
 * order, a reader's snapshot always holds a prefix of them, and a writer
 * derives from everything committed before it (feeds applied once and in
 * order). The derivation's transaction follows PostgreSQL's: committed after
 * it, rolled back with it.
 */
#ifndef MT_STORE_PG_INT_H
#define MT_STORE_PG_INT_H

#include <libpq-fe.h>
#include <stdint.h>

#include "store_int.h"

/** Schema version of the PostgreSQL tables (mt_meta 'schema'). */
#define MT_PG_SCHEMA 1

/** The advisory lock every write transaction takes: (this, hashtext of
 * the store's schema), so that stores in two schemas of one database do not
 * wait for each other. ("mesh" in ASCII) */
#define PG_WRITE_LOCK 0x6d657368

typedef struct store_pg {
	mt_store_backend be;    /* first: the operations */
	PGconn *conn;
	mt_store_backend *der;  /* the derivation: an in-memory SQLite backend */
	int64_t last_n;         /* statements.n loaded into the derivation */
	int64_t last_own;       /* own_signed.n loaded */
	int64_t tx_last_n, tx_last_own; /* at the start of the write transaction */
	int in_tx;              /* inside mt_store_begin .. commit/rollback */
	int pg_tx;              /* a PostgreSQL transaction is open (no reconnect) */
	int der_tx;             /* the derivation is inside a transaction */
	int wrote;              /* the write transaction changed statements */
	uint64_t own_bumps;     /* clock increments this handle committed */
	/* a lost connection (pg_conn.c, reconnect): when it was last tried
	 * (CLOCK_MONOTONIC, ms; 0: never) and why it failed */
	int64_t retry_at_ms;
	char down[240];
	int broken;             /* given up: the server did not answer in time */
	int64_t answer_ms;      /* how long a query waits for its answer (session_setup) */
	/* the change counter (mt_pg__change_counter): LISTENing on this
	 * session, the last value read, when (ms), and process_commits then */
	int listening;
	int cc_valid;
	uint64_t cc_last;
	int64_t cc_at;
	uint64_t cc_commits;
	/* lesson overlay (mt_store_lessons_overlay_begin) */
	int overlay;            /* 1: its own transaction, 2: a savepoint of the caller's */
	unsigned char (*ov_ids)[32];
	size_t ov_n;
} store_pg;

static inline store_pg *mt_store__pg(mt_store_backend *be)
{
	return (store_pg *)(void *)be;
}

/* ---- parameters (pg_conn.c) --------------------------------------------- */

#define PGP_MAX 32
/** Query parameters: text, 64-bit integers (as text) and bytes (binary). */
typedef struct pgp {
	const char *v[PGP_MAX];
	int len[PGP_MAX];
	int fmt[PGP_MAX];
	char num[PGP_MAX][24];
	int n;
} pgp;

void mt_pg__text(pgp *p, const char *s);
void mt_pg__i64(pgp *p, int64_t v);
void mt_pg__bytes(pgp *p, const void *b, int len);

/** The text every error of a lost connection carries ("store unavailable:
 * <reason>"), with the code MT_EUNAVAIL; the node answers such errors 503
 * (src/node/http.c). */
#define MT_PG_UNAVAILABLE "store unavailable: "

/** The statement_timeout a session gets when the server and the URL set
 * none (ms), and how much longer the client waits for an answer before it
 * gives the connection up as hung (MT_EUNAVAIL). */
#define MT_PG_STATEMENT_MS 30000
#define MT_PG_ANSWER_MARGIN_MS 5000

/** The notification channel of the store's schema, as an SQL expression:
 * every write of statements notifies it at COMMIT (payload: the clock). */
#define MT_PG_CHANNEL_SQL "'mt_change_' || hashtext(current_schema())"

/** A listening handle reads the clock anyway this often (ms): the fallback
 * for a notification missed (none is lost on a live session; a new session
 * re-reads at once). */
#define MT_PG_CLOCK_POLL_MS 5000

/** How often a lost connection is tried again (ms): at most once per this
 * interval per handle, and never more than once inside one call. */
#define MT_PG_RETRY_MS 1000

/** Run `sql` with the parameters (may be NULL), results in binary format.
 * *out (may be NULL: the result is cleared) receives the result on success.
 * Outside a PostgreSQL transaction, a lost connection is re-made first (at
 * most every MT_PG_RETRY_MS), and a read-only query (SELECT, BEGIN) that
 * finds its connection lost is re-made and run once more.
 * Errors (err set, naming `what`): MT_EBUSY (lock or serialization
 * conflict), MT_EIO (anything else, the server's message included; the
 * message holds MT_PG_UNAVAILABLE and the reason when the connection is
 * lost or cannot be re-made). */
int mt_pg__q(store_pg *p, PGresult **out, const char *sql, const pgp *params, const char *what,
	     mt_error *err);

/** Run a command whose result does not matter (ROLLBACK, RELEASE …), as
 * mt_pg__q bounds it; nothing when the connection is lost. */
void mt_pg__exec_quiet(store_pg *p, const char *sql);

/** mt_store_change_counter: the clock (minus this handle's own commits),
 * read again only when a notification came, this process committed, the
 * session is new, or MT_PG_CLOCK_POLL_MS passed; otherwise the last value,
 * without a round trip. */
int mt_pg__change_counter(store_pg *p, uint64_t *out, mt_error *err);

/** Checked readers of a binary result cell: int8/int4 as int64 (MT_EIO when
 * the cell is not 4 or 8 bytes or is NULL), a 32-byte id (MT_EIO unless 32
 * bytes), text (never NULL; "" for SQL NULL). */
int mt_pg__i64_at(const PGresult *r, int row, int col, int64_t *out, mt_error *err);
int mt_pg__id_at(const PGresult *r, int row, int col, unsigned char out[32], mt_error *err);
const char *mt_pg__text_at(const PGresult *r, int row, int col);

/** Catch the derivation up with the statements and own marks committed in
 * PostgreSQL (or, inside a write transaction, already held). */
int mt_pg__sync(store_pg *p, mt_error *err);

/** Enter / leave a write transaction of this operation (own = 0 inside an
 * explicit one): BEGIN, the advisory lock, catch-up, the derivation's
 * transaction. End commits both when rc is 0, else rolls both back;
 * returns rc or the commit's error. */
int mt_pg__wbegin(store_pg *p, int *own, mt_error *err);
int mt_pg__wend(store_pg *p, int own, int rc, mt_error *err);

/** Store a statement the derivation just accepted: the row, its lesson text
 * (a lesson), its own mark (own != 0); last_n follows. */
int mt_pg__put(store_pg *p, const mt_stmt *st, int own, mt_error *err);

/* ---- operations (pg_ops.c, pg_local.c, pg_lessons.c) -------------------- */

extern const mt_store_backend mt_pg__ops;

int mt_pg__lessons_match(mt_store_backend *be, const char *const *words, size_t n_words,
			 const char *topic, mt_lesson_visit_fn fn, void *payload,
			 uint64_t *matched, mt_error *err);
int mt_pg__lessons_overlay_begin(mt_store_backend *be, const mt_stmt *const *lessons, size_t n,
				 unsigned char *indexed, mt_error *err);
void mt_pg__lessons_overlay_end(mt_store_backend *be);
int mt_pg__lesson_put(store_pg *p, const mt_stmt *st, mt_error *err);

/* local tables (pg_local.c): the contracts of store.h's functions */

int mt_pg__note_set(mt_store_backend *be, const char *node_id, const char *note, mt_error *err);
int mt_pg__note_get(mt_store_backend *be, const char *node_id, char **out, mt_error *err);
int mt_pg__config_set(mt_store_backend *be, const char *key, const char *value, mt_error *err);
int mt_pg__config_get(mt_store_backend *be, const char *key, char **out, mt_error *err);
int mt_pg__peer_put(mt_store_backend *be, const char *url, const char *node_id, int64_t added,
		    mt_error *err);
int mt_pg__peer_synced(mt_store_backend *be, const char *url, int64_t when, const char *error,
		       uint64_t lag, mt_error *err);
int mt_pg__peers(mt_store_backend *be, mt_peer_visit_fn fn, void *payload, mt_error *err);
int mt_pg__quota_add(mt_store_backend *be, int kind, const char *key, int64_t minute, uint64_t n,
		     mt_error *err);
int mt_pg__quota_sum(mt_store_backend *be, int kind, const char *key, int64_t after,
		     uint64_t *out, mt_error *err);
int mt_pg__quota_prune(mt_store_backend *be, int64_t upto, mt_error *err);
int mt_pg__name_set(mt_store_backend *be, const char *node_id, const char *name, mt_error *err);
int mt_pg__name_get(mt_store_backend *be, const char *node_id, char out[MT_NAME_MAX],
		    mt_error *err);
int mt_pg__name_lookup(mt_store_backend *be, const char *name, char out[MT_NODE_ID_MAX],
		       mt_error *err);
int mt_pg__name_remove(mt_store_backend *be, const char *key, int *removed, mt_error *err);
int mt_pg__names(mt_store_backend *be, mt_name_visit_fn fn, void *payload, mt_error *err);
int mt_pg__peer_remove(mt_store_backend *be, const char *url, int *removed, mt_error *err);
int mt_pg__notes(mt_store_backend *be, mt_kv_visit_fn fn, void *payload, mt_error *err);
int mt_pg__configs(mt_store_backend *be, mt_kv_visit_fn fn, void *payload, mt_error *err);

#endif
