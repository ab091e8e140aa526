/* The SQLite backend: opening, the schema and its migrations, transactions,
 * the helpers the store's files share, and the backend's operation table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* Core queries (the feed rules'); projections keep their own SQL. */
static const char *const SQL[Q__COUNT] = {
	[Q_INSERT] = "INSERT OR IGNORE INTO statements(id,iss,seq,ts,type,prev,canon,applied,seen) "
		     "VALUES(?,?,?,?,?,?,?,?,?)",
	[Q_SAME_SEQ] = "SELECT id, canon FROM statements WHERE iss=? AND seq=? AND id<>?",
	[Q_FEED_GET] = "SELECT head_seq, head_id, fork_seq, rotated_to, max_seq, head_ts, "
		       "commitment, commit_seq, kflags FROM feeds WHERE iss=?",
	[Q_FEED_PUT] = "INSERT OR REPLACE INTO feeds(iss,head_seq,head_id,fork_seq,rotated_to,max_seq,"
		       "head_ts,commitment,commit_seq,kflags) VALUES(?,?,?,?,?,?,?,?,?,?)",
	[Q_AT_SEQ] = "SELECT id, canon, prev FROM statements WHERE iss=? AND seq=? ORDER BY id",
	[Q_SET_APPLIED] = "UPDATE statements SET applied=1 WHERE id=?",
	[Q_FORK_PUT] = "INSERT OR IGNORE INTO forks(iss,seq,id_a,id_b) VALUES(?,?,?,?)",
	[Q_MAXSEQ] = "SELECT max(seq) FROM statements WHERE iss=?",
};

/* Core schema migrations: entry i migrates to version i+1 (NULL: no core
 * change at that version). The migration to version v then creates the
 * tables of every projection whose `since` is v (mt_projection). */
static const char *const MIGRATIONS[MT_STORE_SCHEMA] = {
	[0] = "CREATE TABLE statements("
	      "  id BLOB NOT NULL UNIQUE, iss TEXT NOT NULL, seq INTEGER NOT NULL,"
	      "  ts INTEGER NOT NULL, type TEXT NOT NULL, prev BLOB, canon BLOB NOT NULL,"
	      "  applied INTEGER NOT NULL DEFAULT 0);"
	      "CREATE INDEX statements_feed ON statements(iss, seq);"
	      "CREATE TABLE feeds(iss TEXT PRIMARY KEY, head_seq INTEGER NOT NULL, head_id BLOB,"
	      "  fork_seq INTEGER NOT NULL DEFAULT 0, rotated_to TEXT) WITHOUT ROWID;"
	      "CREATE TABLE forks(iss TEXT NOT NULL, seq INTEGER NOT NULL, id_a BLOB NOT NULL,"
	      "  id_b BLOB NOT NULL, PRIMARY KEY(iss, seq, id_a, id_b)) WITHOUT ROWID;"
	      "CREATE TABLE notes(node_id TEXT PRIMARY KEY, note TEXT NOT NULL) WITHOUT ROWID;"
	      "CREATE TABLE config(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;",
	/* 3: the highest seq held per feed, so in-order ingest can skip fork probes. */
	[2] = "ALTER TABLE feeds ADD COLUMN max_seq INTEGER NOT NULL DEFAULT 0;",
	/* 4: the node's local tables (peers, quota counters), which the node
	 * module used to create itself: IF NOT EXISTS keeps those of a store it
	 * created, rows included. */
	[3] = "CREATE TABLE IF NOT EXISTS node_peers(url TEXT PRIMARY KEY, node_id TEXT NOT NULL,"
	      " added INTEGER NOT NULL, last_sync INTEGER NOT NULL DEFAULT 0,"
	      " last_error TEXT NOT NULL DEFAULT '', lag INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
	      "CREATE TABLE IF NOT EXISTS node_quota(kind INTEGER NOT NULL, key TEXT NOT NULL,"
	      " minute INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY(kind, key, minute))"
	      " WITHOUT ROWID;",
	/* 5: key events (SPEC §9.1, §9.2): the head's ts (feed time never goes
	 * back), the commitment, the key-event flags; what this home signed
	 * (the theft alarm: local, not derived). The key_notes / key_rotates
	 * tables are store_keys.c's (mt_proj_keys). */
	[4] = "ALTER TABLE feeds ADD COLUMN head_ts INTEGER NOT NULL DEFAULT 0;"
	      "ALTER TABLE feeds ADD COLUMN commitment TEXT;"
	      "ALTER TABLE feeds ADD COLUMN commit_seq INTEGER NOT NULL DEFAULT 0;"
	      "ALTER TABLE feeds ADD COLUMN kflags INTEGER NOT NULL DEFAULT 0;"
	      "ALTER TABLE statements ADD COLUMN seen INTEGER;"
	      "CREATE TABLE own_signed(id BLOB PRIMARY KEY) WITHOUT ROWID;"
	      "CREATE TABLE own_adopted(iss TEXT PRIMARY KEY) WITHOUT ROWID;"
	      /* local petnames (SPEC §9.5): one name per ID, one ID per name */
	      "CREATE TABLE names(name TEXT PRIMARY KEY, node_id TEXT NOT NULL UNIQUE)"
	      " WITHOUT ROWID;",
};

/* Core migrations that change derived state (entry i as in MIGRATIONS): an
 * upgrade across one, or across a version some projection is born at,
 * re-derives at once; one that only adds local tables (4) does not. */
static const unsigned char CORE_DERIVED[MT_STORE_SCHEMA] = {[2] = 1, [4] = 1};

/* Does the migration to version v change derived state? */
static int derives(int v)
{
	if (CORE_DERIVED[v - 1])
		return 1;
	for (size_t i = 0; i < mt_store__projection_count; i++)
		if (mt_store__projections[i]->since == v)
			return 1;
	return 0;
}

/* ---- helpers ----------------------------------------------------------- */

int mt_store__err(store_sqlite *s, mt_error *err, const char *what)
{
	int code = sqlite3_errcode(s->db);
	int mt = (code == SQLITE_BUSY || code == SQLITE_LOCKED) ? MT_EBUSY : MT_EIO;
	return mt_error_set(err, mt, "store: %s: %s", what, sqlite3_errmsg(s->db));
}

int mt_store__exec(store_sqlite *s, const char *sql, mt_error *err)
{
	/* The cached feed goes to the table first (COMMIT included); it is
	 * dropped at every transaction boundary and before SQL that may read
	 * or change the feeds table behind the cache. */
	if (strncmp(sql, "ROLLBACK", 8) != 0) {
		int rc = mt_store__feed_flush(s, err);
		if (rc)
			return rc;
	}
	s->fc.valid = 0;
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int code = sqlite3_errcode(s->db);
		mt_error_set(err, code == SQLITE_BUSY ? MT_EBUSY : MT_EIO, "store: %s",
			     msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return code == SQLITE_BUSY ? MT_EBUSY : MT_EIO;
	}
	return 0;
}

int mt_store__run(store_sqlite *s, const char *sql, const char *arg, mt_error *err)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "preparing");
	if (arg)
		sqlite3_bind_text(q, 1, arg, -1, SQLITE_STATIC);
	int r;
	while ((r = sqlite3_step(q)) == SQLITE_ROW)
		;
	int rc = r == SQLITE_DONE ? 0 : mt_store__err(s, err, "writing");
	sqlite3_finalize(q);
	return rc;
}

/* Slot of `sql` in the query cache: by its address (Fibonacci hashing),
 * then the next free or matching slot. */
static size_t qc_slot(const struct query_cache *c, const char *sql)
{
	uint64_t h = (uint64_t)(uintptr_t)sql * 0x9E3779B97F4A7C15u;
	size_t i = (size_t)(h >> 58) % MT_STORE_QCACHE;
	for (size_t n = 0; n < MT_STORE_QCACHE; n++, i = (i + 1) % MT_STORE_QCACHE)
		if (c->sql[i] == sql || !c->sql[i])
			return i;
	return MT_STORE_QCACHE;
}

int mt_store__query(store_sqlite *s, sqlite3_stmt **out, const char *sql, mt_error *err)
{
	size_t i = qc_slot(&s->qc, sql);
	*out = NULL;
	if (i == MT_STORE_QCACHE)
		return mt_error_set(err, MT_EIO,
				    "store: more than %d projection queries (MT_STORE_QCACHE)",
				    MT_STORE_QCACHE);
	sqlite3_stmt *q = s->qc.q[i];
	if (!q) {
		if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &q, NULL) !=
		    SQLITE_OK)
			return mt_store__err(s, err, "preparing a projection's query");
		s->qc.sql[i] = sql;
		s->qc.q[i] = q;
	} else {
		sqlite3_reset(q);
		sqlite3_clear_bindings(q);
	}
	*out = q;
	return 0;
}

/* ---- schema -------------------------------------------------------------- */

static int user_version(store_sqlite *s, int *out, mt_error *err)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "reading schema version");
	*out = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0) : 0;
	sqlite3_finalize(q);
	return 0;
}

/* Migrate to version v: the core change, then the projections born at v. */
static int migrate_to(store_sqlite *s, int v, mt_error *err)
{
	int rc;
	if (MIGRATIONS[v - 1] && (rc = mt_store__exec(s, MIGRATIONS[v - 1], err)))
		return rc;
	for (size_t i = 0; i < mt_store__projection_count; i++) {
		const mt_projection *p = mt_store__projections[i];
		if (p->since != v || !p->schema)
			continue;
		for (const char *const *sql = p->schema; *sql; sql++)
			if ((rc = mt_store__exec(s, *sql, err)))
				return rc;
	}
	char pragma[64];
	snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d", v);
	return mt_store__exec(s, pragma, err);
}

static int migrate(store_sqlite *s, int *upgraded, mt_error *err)
{
	int rc, ver = 0;
	*upgraded = 0;
	if ((rc = mt_store__exec(s, "BEGIN IMMEDIATE", err)))
		return rc;
	if ((rc = user_version(s, &ver, err)))
		goto fail;
	if (ver > MT_STORE_SCHEMA) {
		rc = mt_error_set(err, MT_EINVAL,
				  "store: schema version %d is newer than this build knows (%d); "
				  "upgrade meshtrust",
				  ver, MT_STORE_SCHEMA);
		goto fail;
	}
	for (int v = ver + 1; v <= MT_STORE_SCHEMA; v++) {
		if ((rc = migrate_to(s, v, err)))
			goto fail;
		*upgraded |= ver > 0 && derives(v);
	}
	return mt_store__exec(s, "COMMIT", err);
fail:
	mt_store__exec(s, "ROLLBACK", NULL);
	return rc;
}

/* ---- transactions --------------------------------------------------------- */

int mt_store__own_tx_begin(store_sqlite *s, int *own, mt_error *err)
{
	*own = !s->in_tx;
	if (!*own)
		return 0;
	int rc = mt_store__exec(s, "BEGIN IMMEDIATE", err);
	if (rc)
		*own = 0;
	else
		s->in_tx = 1;
	return rc;
}

int mt_store__own_tx_end(store_sqlite *s, int own, int rc, mt_error *err)
{
	if (!own)
		return rc;
	s->in_tx = 0;
	if (rc) {
		mt_store__exec(s, "ROLLBACK", NULL);
		return rc;
	}
	return mt_store__exec(s, "COMMIT", err);
}

int mt_store__sq_begin(mt_store_backend *be, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	int rc = mt_store__exec(s, "BEGIN IMMEDIATE", err);
	if (!rc)
		s->in_tx = 1;
	return rc;
}

int mt_store__sq_commit(mt_store_backend *be, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	int rc = mt_store__exec(s, "COMMIT", err);
	if (!rc)
		s->in_tx = 0;
	return rc;
}

void mt_store__sq_rollback(mt_store_backend *be)
{
	store_sqlite *s = mt_store__sq(be);
	mt_store__exec(s, "ROLLBACK", NULL);
	s->in_tx = 0;
}

/* ---- optional operations ------------------------------------------------------ */

static int pragma_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *q = NULL;
	int v = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return v;
}

/* A bigger page cache and fewer checkpoints while inserting: statement ids
 * are random, so their index is rewritten all over by every batch;
 * checkpointing every 16,384 WAL pages (64 MiB) instead of every 1,000
 * writes each such page back once per several batches. Both restored at the
 * end (to the values that were set, not SQLite's defaults). */
static void sq_bulk(mt_store_backend *be, int on)
{
	store_sqlite *s = mt_store__sq(be);
	if (on) {
		s->bulk_cache = pragma_int(s->db, "PRAGMA cache_size");
		s->bulk_ckpt = pragma_int(s->db, "PRAGMA wal_autocheckpoint");
		if (s->bulk_cache && s->bulk_ckpt)
			sqlite3_exec(s->db, "PRAGMA cache_size=-65536; PRAGMA wal_autocheckpoint=16384",
				     NULL, NULL, NULL);
	} else if (s->bulk_cache && s->bulk_ckpt) {
		char sql[96];
		snprintf(sql, sizeof sql, "PRAGMA cache_size=%d; PRAGMA wal_autocheckpoint=%d",
			 s->bulk_cache, s->bulk_ckpt);
		sqlite3_exec(s->db, sql, NULL, NULL, NULL);
		s->bulk_cache = s->bulk_ckpt = 0;
	}
}

static void *sq_native(mt_store_backend *be, const char *kind)
{
	return strcmp(kind, "sqlite") == 0 ? (void *)mt_store__sq(be)->db : NULL;
}

/* ---- open / close ------------------------------------------------------------- */

static const mt_store_backend SQLITE_BACKEND = {
	.version = MT_STORE_BACKEND_VERSION,
	.name = "sqlite",
	.free = mt_store__sq_free,
	.begin = mt_store__sq_begin,
	.commit = mt_store__sq_commit,
	.rollback = mt_store__sq_rollback,
	.ingest = mt_store__sq_ingest,
	.issue = mt_store__sq_issue,
	.digest = mt_store__sq_digest,
	.rebuild = mt_store__sq_rebuild,
	.derived_dump = mt_store__sq_derived_dump,
	.edges = mt_store__sq_edges,
	.edge_get = mt_store__sq_edge_get,
	.bridges = mt_store__sq_bridges,
	.foreach = mt_store__sq_foreach,
	.get = mt_store__sq_get,
	.feed = mt_store__sq_feed,
	.verify = mt_store__sq_verify,
	.note_set = mt_store__sq_note_set,
	.note_get = mt_store__sq_note_get,
	.config_set = mt_store__sq_config_set,
	.config_get = mt_store__sq_config_get,
	.bulk = sq_bulk,
	.native = sq_native,
	.foreach_type = mt_store__sq_foreach_type,
	.contains = mt_store__sq_contains,
	.lessons_match = mt_store__sq_lessons_match,
	.lessons_overlay_begin = mt_store__sq_lessons_overlay_begin,
	.lessons_overlay_end = mt_store__sq_lessons_overlay_end,
	.feeds = mt_store__sq_feeds,
	.feed_page = mt_store__sq_feed_page,
	.recent = mt_store__sq_recent,
	.forks = mt_store__sq_forks,
	.log_since = mt_store__sq_log_since,
	.log_position = mt_store__sq_log_position,
	.ids = mt_store__sq_ids,
	.change_counter = mt_store__sq_change_counter,
	.peer_put = mt_store__sq_peer_put,
	.peer_synced = mt_store__sq_peer_synced,
	.peers = mt_store__sq_peers,
	.quota_add = mt_store__sq_quota_add,
	.quota_sum = mt_store__sq_quota_sum,
	.quota_prune = mt_store__sq_quota_prune,
	.key_status = mt_store__sq_key_status,
	.rotate_admissible = mt_store__sq_rotate_admissible,
	.issue_rotate = mt_store__sq_issue_rotate,
	.newest_id = mt_store__sq_newest_id,
	.own_foreign = mt_store__sq_own_foreign,
	.own_adopt = mt_store__sq_own_adopt,
	.rotation_links = mt_store__sq_rotation_links,
	.seen = mt_store__sq_seen,
	.name_set = mt_store__sq_name_set,
	.name_get = mt_store__sq_name_get,
	.name_lookup = mt_store__sq_name_lookup,
	.name_remove = mt_store__sq_name_remove,
	.names = mt_store__sq_names,
	.lessons_of = mt_store__sq_lessons_of,
	.peer_remove = mt_store__sq_peer_remove,
	.notes = mt_store__sq_notes,
	.configs = mt_store__sq_configs,
};

int mt_store_sqlite_backend(mt_store_backend **out, const char *path, mt_error *err)
{
	*out = NULL;
	store_sqlite *s = calloc(1, sizeof *s);
	if (!s)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	s->be = SQLITE_BACKEND;
	int rc;
	if ((rc = mt_store__index_projections(s, err)))
		goto fail;
	/* NOMUTEX: a handle is used by one thread at a time (store.h), so SQLite's
	 * per-connection locking would only cost. */
	if (sqlite3_open_v2(path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		rc = mt_error_set(err, MT_EIO, "store: cannot open %s: %s", path,
				  s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 10000);
	/* WAL + synchronous=NORMAL: a committed transaction survives a process
	 * crash (kill -9); FULL would also survive power loss, at a cost. */
	if ((rc = mt_store__exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
				    "PRAGMA foreign_keys=OFF; PRAGMA temp_store=MEMORY;",
				 err)))
		goto fail;
	int upgraded;
	if ((rc = migrate(s, &upgraded, err)))
		goto fail;
	for (int i = 0; i < Q__COUNT; i++)
		if (sqlite3_prepare_v3(s->db, SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &s->q[i], NULL) !=
		    SQLITE_OK) {
			rc = mt_store__err(s, err, "preparing queries");
			goto fail;
		}
	/* A schema upgrade may add derived tables: derive them for what is held. */
	if (upgraded && (rc = mt_store__sq_rebuild(&s->be, NULL, NULL, err)))
		goto fail;
	*out = &s->be;
	return 0;
fail:
	mt_store__sq_free(&s->be);
	return rc;
}

void mt_store__sq_free(mt_store_backend *be)
{
	if (!be)
		return;
	store_sqlite *s = mt_store__sq(be);
	for (int i = 0; i < Q__COUNT; i++)
		sqlite3_finalize(s->q[i]);
	for (int i = 0; i < MT_STORE_QCACHE; i++)
		sqlite3_finalize(s->qc.q[i]);
	sqlite3_close(s->db);
	free(s);
}
