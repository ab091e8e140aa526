/* The append-only store. Statements live in `statements`; everything else is
 * derived and can be rebuilt from them (see store.h for the rules). */
#include "meshtrust/store.h"

#include <inttypes.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/canon.h"
#include "meshtrust/encoding.h"

enum {
	Q_INSERT,
	Q_SAME_SEQ,
	Q_FEED_GET,
	Q_FEED_PUT,
	Q_AT_SEQ,
	Q_SET_APPLIED,
	Q_EDGE_PUT,
	Q_EDGE_DEL,
	Q_BRIDGE_PUT,
	Q_ROT_PUT,
	Q_FORK_PUT,
	Q_MAXSEQ,
	Q_LESSON_PUT,
	Q__COUNT
};

static const char *const SQL[Q__COUNT] = {
	[Q_INSERT] = "INSERT OR IGNORE INTO statements(id,iss,seq,ts,type,prev,canon,applied) "
		     "VALUES(?,?,?,?,?,?,?,?)",
	[Q_SAME_SEQ] = "SELECT id, canon FROM statements WHERE iss=? AND seq=? AND id<>?",
	[Q_FEED_GET] = "SELECT head_seq, head_id, fork_seq, rotated_to, max_seq FROM feeds WHERE iss=?",
	[Q_FEED_PUT] = "INSERT OR REPLACE INTO feeds(iss,head_seq,head_id,fork_seq,rotated_to,max_seq) "
		       "VALUES(?,?,?,?,?,?)",
	[Q_AT_SEQ] = "SELECT id, canon, prev FROM statements WHERE iss=? AND seq=? ORDER BY id",
	[Q_SET_APPLIED] = "UPDATE statements SET applied=1 WHERE id=?",
	[Q_EDGE_PUT] = "INSERT OR REPLACE INTO edges(iss,target,scope,seq,level,score,exp,graph,stmt) "
		       "VALUES(?,?,?,?,?,?,?,?,?)",
	[Q_EDGE_DEL] = "DELETE FROM edges WHERE iss=? AND target=? AND scope=?",
	[Q_BRIDGE_PUT] = "INSERT OR REPLACE INTO bridges(iss,scope,seq) VALUES(?,?,?)",
	[Q_ROT_PUT] = "INSERT OR REPLACE INTO rotations(old,new,stmt) VALUES(?,?,?)",
	[Q_FORK_PUT] = "INSERT OR IGNORE INTO forks(iss,seq,id_a,id_b) VALUES(?,?,?,?)",
	[Q_MAXSEQ] = "SELECT max(seq) FROM statements WHERE iss=?",
	[Q_LESSON_PUT] = "INSERT OR IGNORE INTO lessons(id,author,seq,ts,title,topics,body) "
			 "VALUES(?,?,?,?,?,?,?)",
};

struct feed {
	uint64_t head_seq;
	unsigned char head_id[32];
	uint64_t fork_seq;
	char rotated_to[MT_NODE_ID_MAX];
	uint64_t max_seq; /* highest seq held */
};

/* One feed's row, kept in memory inside a write transaction (where no other
 * connection can change it): consecutive statements of one issuer, as a
 * sync or an import brings them, then cost no read and no write of `feeds`
 * each. Written back when another feed is touched, before COMMIT and before
 * any other SQL this file runs with exec(); dropped at BEGIN, COMMIT and
 * ROLLBACK. Only feed_get/feed_put use it (all of this file's access to the
 * feeds table goes through them or through exec()). */
struct feed_cache {
	int valid, dirty, found;
	char iss[MT_NODE_ID_MAX];
	struct feed f;
};

struct mt_store {
	sqlite3 *db;
	sqlite3_stmt *q[Q__COUNT];
	int in_tx;
	struct feed_cache fc;
};

/* Schema migrations, applied in order; index i migrates to version i+1. */
static const char *const MIGRATIONS[] = {
	"CREATE TABLE statements("
	"  id BLOB NOT NULL UNIQUE, iss TEXT NOT NULL, seq INTEGER NOT NULL,"
	"  ts INTEGER NOT NULL, type TEXT NOT NULL, prev BLOB, canon BLOB NOT NULL,"
	"  applied INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX statements_feed ON statements(iss, seq);"
	"CREATE TABLE feeds(iss TEXT PRIMARY KEY, head_seq INTEGER NOT NULL, head_id BLOB,"
	"  fork_seq INTEGER NOT NULL DEFAULT 0, rotated_to TEXT) WITHOUT ROWID;"
	"CREATE TABLE forks(iss TEXT NOT NULL, seq INTEGER NOT NULL, id_a BLOB NOT NULL,"
	"  id_b BLOB NOT NULL, PRIMARY KEY(iss, seq, id_a, id_b)) WITHOUT ROWID;"
	"CREATE TABLE edges(iss TEXT NOT NULL, target TEXT NOT NULL, scope TEXT NOT NULL,"
	"  seq INTEGER NOT NULL, level INTEGER NOT NULL, score INTEGER NOT NULL,"
	"  exp INTEGER NOT NULL, graph TEXT NOT NULL, stmt BLOB NOT NULL,"
	"  PRIMARY KEY(iss, target, scope)) WITHOUT ROWID;"
	"CREATE TABLE rotations(old TEXT PRIMARY KEY, new TEXT NOT NULL, stmt BLOB NOT NULL)"
	"  WITHOUT ROWID;"
	"CREATE TABLE bridges(iss TEXT NOT NULL, scope TEXT NOT NULL, seq INTEGER NOT NULL,"
	"  PRIMARY KEY(iss, scope)) WITHOUT ROWID;"
	"CREATE TABLE notes(node_id TEXT PRIMARY KEY, note TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE config(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;",
	/* 2: lessons and their full-text index (derived, kept in step by triggers). */
	"CREATE TABLE lessons(rowid INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE,"
	"  author TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL, title TEXT NOT NULL,"
	"  topics TEXT NOT NULL, body TEXT NOT NULL);"
	"CREATE INDEX lessons_author ON lessons(author);"
	"CREATE VIRTUAL TABLE lessons_fts USING fts5(title, body, topics, content='lessons',"
	"  content_rowid='rowid', tokenize='unicode61 remove_diacritics 2');"
	"CREATE VIRTUAL TABLE lessons_vocab USING fts5vocab(lessons_fts, instance);"
	"CREATE TRIGGER lessons_ai AFTER INSERT ON lessons BEGIN"
	"  INSERT INTO lessons_fts(rowid, title, body, topics) VALUES (new.rowid, new.title,"
	"  new.body, new.topics); END;"
	"CREATE TRIGGER lessons_ad AFTER DELETE ON lessons BEGIN"
	"  INSERT INTO lessons_fts(lessons_fts, rowid, title, body, topics) VALUES('delete',"
	"  old.rowid, old.title, old.body, old.topics); END;",
	/* 3: the highest seq held per feed, so in-order ingest can skip fork probes. */
	"ALTER TABLE feeds ADD COLUMN max_seq INTEGER NOT NULL DEFAULT 0;",
};

/* The derived tables, in dump order, with a deterministic ORDER BY. */
static const char *const DERIVED[][2] = {
	{"feeds", "SELECT iss, head_seq, hex(head_id), fork_seq, rotated_to, max_seq FROM feeds "
		  "ORDER BY iss"},
	{"forks", "SELECT iss, seq, hex(id_a), hex(id_b) FROM forks ORDER BY 1,2,3,4"},
	{"edges", "SELECT iss, target, scope, seq, level, score, exp, graph, hex(stmt) FROM edges "
		  "ORDER BY 1,2,3"},
	{"rotations", "SELECT old, new, hex(stmt) FROM rotations ORDER BY 1"},
	{"bridges", "SELECT iss, scope, seq FROM bridges ORDER BY 1,2"},
	{"applied", "SELECT hex(id) FROM statements WHERE applied=1 ORDER BY 1"},
	{"lessons", "SELECT hex(id), author, seq, ts, title, topics, body FROM lessons ORDER BY 1"},
	{"lessons_fts", "SELECT v.term, hex(l.id), v.col, v.offset FROM lessons_vocab v JOIN lessons l "
			"ON l.rowid = v.doc ORDER BY 1, 2, 3, 4"},
};

static int db_err(mt_store *s, mt_error *err, const char *what)
{
	int code = sqlite3_errcode(s->db);
	int mt = (code == SQLITE_BUSY || code == SQLITE_LOCKED) ? MT_EBUSY : MT_EIO;
	return mt_error_set(err, mt, "store: %s: %s", what, sqlite3_errmsg(s->db));
}

static int feed_flush(mt_store *s, mt_error *err);

static int exec(mt_store *s, const char *sql, mt_error *err)
{
	/* The cached feed goes to the table first (COMMIT included); it is
	 * dropped at every transaction boundary and before SQL that may read
	 * or change the feeds table behind the cache. */
	if (strncmp(sql, "ROLLBACK", 8) != 0) {
		int rc = feed_flush(s, err);
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

static sqlite3_stmt *Q(mt_store *s, int which)
{
	sqlite3_stmt *q = s->q[which];
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return q;
}

static int user_version(mt_store *s, int *out, mt_error *err)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK)
		return db_err(s, err, "reading schema version");
	*out = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0) : 0;
	sqlite3_finalize(q);
	return 0;
}

static int migrate(mt_store *s, int *upgraded, mt_error *err)
{
	int rc, ver = 0;
	*upgraded = 0;
	if ((rc = exec(s, "BEGIN IMMEDIATE", err)))
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
	for (int v = ver; v < MT_STORE_SCHEMA; v++) {
		char pragma[64];
		if ((rc = exec(s, MIGRATIONS[v], err)))
			goto fail;
		snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d", v + 1);
		if ((rc = exec(s, pragma, err)))
			goto fail;
	}
	*upgraded = ver > 0 && ver < MT_STORE_SCHEMA;
	return exec(s, "COMMIT", err);
fail:
	exec(s, "ROLLBACK", NULL);
	return rc;
}

int mt_store_open(mt_store **out, const char *path, mt_error *err)
{
	*out = NULL;
	mt_store *s = calloc(1, sizeof *s);
	if (!s)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	int rc;
	/* NOMUTEX: a handle is used by one thread at a time (store.h), so SQLite's
	 * per-connection locking would only cost. */
	if (sqlite3_open_v2(path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) !=
	    SQLITE_OK) {
		rc = mt_error_set(err, MT_EIO, "store: cannot open %s: %s", path,
				  s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 10000);
	/* WAL + synchronous=NORMAL: a committed transaction survives a process
	 * crash (kill -9); FULL would also survive power loss, at a cost. */
	if ((rc = exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			  "PRAGMA foreign_keys=OFF; PRAGMA temp_store=MEMORY;",
		       err)))
		goto fail;
	int upgraded;
	if ((rc = migrate(s, &upgraded, err)))
		goto fail;
	for (int i = 0; i < Q__COUNT; i++)
		if (sqlite3_prepare_v3(s->db, SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &s->q[i], NULL) !=
		    SQLITE_OK) {
			rc = db_err(s, err, "preparing queries");
			goto fail;
		}
	/* A schema upgrade may add derived tables: derive them for what is held. */
	if (upgraded && (rc = mt_store_rebuild(s, NULL, NULL, err)))
		goto fail;
	*out = s;
	return 0;
fail:
	mt_store_close(s);
	return rc;
}

void mt_store_close(mt_store *s)
{
	if (!s)
		return;
	for (int i = 0; i < Q__COUNT; i++)
		sqlite3_finalize(s->q[i]);
	sqlite3_close(s->db);
	free(s);
}

struct sqlite3 *mt_store_db(mt_store *s)
{
	return s->db;
}

int mt_store_begin(mt_store *s, mt_error *err)
{
	int rc = exec(s, "BEGIN IMMEDIATE", err);
	if (!rc)
		s->in_tx = 1;
	return rc;
}

int mt_store_commit(mt_store *s, mt_error *err)
{
	int rc = exec(s, "COMMIT", err);
	if (!rc)
		s->in_tx = 0;
	return rc;
}

void mt_store_rollback(mt_store *s)
{
	exec(s, "ROLLBACK", NULL);
	s->in_tx = 0;
}

/* ---- feeds and derived state ---------------------------------------- */

/* Write the cached feed's row, if it changed. */
static int feed_write(mt_store *s, const char *iss, const struct feed *f, mt_error *err);

static int feed_flush(mt_store *s, mt_error *err)
{
	if (!s->fc.valid || !s->fc.dirty)
		return 0;
	int rc = feed_write(s, s->fc.iss, &s->fc.f, err);
	if (!rc)
		s->fc.dirty = 0;
	return rc;
}

/* Make `iss`'s row the cached one, when inside a transaction; returns
 * whether it is cached (else the cache is left empty). */
static int fc_keep(mt_store *s, const char *iss, const struct feed *f, int found, int dirty)
{
	size_t n = strlen(iss);
	s->fc.valid = !sqlite3_get_autocommit(s->db) && n < sizeof s->fc.iss;
	if (s->fc.valid) {
		memcpy(s->fc.iss, iss, n + 1);
		s->fc.f = *f;
		s->fc.found = found;
		s->fc.dirty = dirty;
	}
	return s->fc.valid;
}

static int feed_get(mt_store *s, const char *iss, struct feed *f, int *found, mt_error *err)
{
	if (s->fc.valid && strcmp(s->fc.iss, iss) == 0) {
		*f = s->fc.f;
		*found = s->fc.found;
		return 0;
	}
	int rc = feed_flush(s, err);
	if (rc)
		return rc;
	s->fc.valid = 0;
	memset(f, 0, sizeof *f);
	*found = 0;
	sqlite3_stmt *q = Q(s, Q_FEED_GET);
	sqlite3_bind_text(q, 1, iss, -1, SQLITE_STATIC);
	int r = sqlite3_step(q);
	if (r == SQLITE_ROW) {
		*found = 1;
		f->head_seq = (uint64_t)sqlite3_column_int64(q, 0);
		if (sqlite3_column_bytes(q, 1) == 32)
			memcpy(f->head_id, sqlite3_column_blob(q, 1), 32);
		f->fork_seq = (uint64_t)sqlite3_column_int64(q, 2);
		const unsigned char *rot = sqlite3_column_text(q, 3);
		if (rot)
			snprintf(f->rotated_to, sizeof f->rotated_to, "%s", (const char *)rot);
		f->max_seq = (uint64_t)sqlite3_column_int64(q, 4);
	} else if (r != SQLITE_DONE) {
		return db_err(s, err, "reading feed");
	}
	sqlite3_reset(q);
	fc_keep(s, iss, f, *found, 0);
	return 0;
}

static int feed_put(mt_store *s, const char *iss, const struct feed *f, mt_error *err)
{
	if (s->fc.valid && strcmp(s->fc.iss, iss) != 0) {
		int rc = feed_flush(s, err); /* another feed's row first */
		if (rc)
			return rc;
	}
	if (fc_keep(s, iss, f, 1, 1))
		return 0;
	return feed_write(s, iss, f, err);
}

static int feed_write(mt_store *s, const char *iss, const struct feed *f, mt_error *err)
{
	sqlite3_stmt *q = Q(s, Q_FEED_PUT);
	sqlite3_bind_text(q, 1, iss, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)f->head_seq);
	if (f->head_seq)
		sqlite3_bind_blob(q, 3, f->head_id, 32, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)f->fork_seq);
	if (f->rotated_to[0])
		sqlite3_bind_text(q, 5, f->rotated_to, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 6, (sqlite3_int64)f->max_seq);
	int r = sqlite3_step(q);
	sqlite3_reset(q);
	return r == SQLITE_DONE ? 0 : db_err(s, err, "writing feed");
}

static int step_done(mt_store *s, sqlite3_stmt *q, mt_error *err, const char *what)
{
	int r = sqlite3_step(q);
	sqlite3_reset(q);
	return r == SQLITE_DONE ? 0 : db_err(s, err, what);
}

/* Apply the effects of one statement of the valid prefix (the caller marks it
 * applied). */
static int apply_effects(mt_store *s, const mt_stmt *st, struct feed *f, mt_error *err)
{
	sqlite3_stmt *q;
	int rc = 0;
	switch (st->type) {
	case MT_ST_TRUST: {
		const char *level = mt_stmt_str(st, "level");
		int lv = strcmp(level, "full") == 0 ? MT_LEVEL_FULL
			 : strcmp(level, "limited") == 0 ? MT_LEVEL_LIMITED
							 : MT_LEVEL_NONE;
		const char *scope = mt_stmt_str(st, "scope");
		const char *graph = mt_stmt_str(st, "graph");
		q = Q(s, Q_EDGE_PUT);
		sqlite3_bind_text(q, 1, st->iss, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, mt_stmt_str(st, "target"), -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, scope ? scope : "global", -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 4, (sqlite3_int64)st->seq);
		sqlite3_bind_int(q, 5, lv);
		sqlite3_bind_int64(q, 6, mt_stmt_int(st, "score", 1000));
		sqlite3_bind_int64(q, 7, mt_stmt_int(st, "exp", 0));
		sqlite3_bind_text(q, 8, graph ? graph : "social", -1, SQLITE_STATIC);
		sqlite3_bind_blob(q, 9, st->id, 32, SQLITE_STATIC);
		rc = step_done(s, q, err, "writing edge");
		break;
	}
	case MT_ST_REVOKE:
		q = Q(s, Q_EDGE_DEL);
		sqlite3_bind_text(q, 1, st->iss, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, mt_stmt_str(st, "target"), -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, mt_stmt_str(st, "scope"), -1, SQLITE_STATIC);
		rc = step_done(s, q, err, "removing edge");
		break;
	case MT_ST_BRIDGE: {
		size_t n = 0;
		const char *x = mt_stmt_list(st, "scopes", &n);
		for (size_t i = 0; i < n; i++, x = mt_stmt_list_next(x)) {
			q = Q(s, Q_BRIDGE_PUT);
			sqlite3_bind_text(q, 1, st->iss, -1, SQLITE_STATIC);
			sqlite3_bind_text(q, 2, x, -1, SQLITE_STATIC);
			sqlite3_bind_int64(q, 3, (sqlite3_int64)st->seq);
			if ((rc = step_done(s, q, err, "writing bridge")))
				break;
		}
		break;
	}
	case MT_ST_LESSON: {
		json_t *tj = NULL;
		if ((rc = mt_stmt_member(st, "topics", &tj, err)))
			return rc;
		char *topics = tj ? json_dumps(tj, JSON_COMPACT) : NULL;
		json_decref(tj);
		if (!topics)
			return mt_error_set(err, MT_ENOMEM, "out of memory");
		q = Q(s, Q_LESSON_PUT);
		sqlite3_bind_blob(q, 1, st->id, 32, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, st->iss, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, (sqlite3_int64)st->seq);
		sqlite3_bind_int64(q, 4, st->ts);
		sqlite3_bind_text(q, 5, mt_stmt_str(st, "title"), -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 6, topics, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(q, 7, mt_stmt_str(st, "body"), -1, SQLITE_STATIC);
		rc = step_done(s, q, err, "indexing lesson");
		free(topics);
		break;
	}
	case MT_ST_ROTATE:
		q = Q(s, Q_ROT_PUT);
		sqlite3_bind_text(q, 1, st->iss, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, mt_stmt_str(st, "new"), -1, SQLITE_STATIC);
		sqlite3_bind_blob(q, 3, st->id, 32, SQLITE_STATIC);
		rc = step_done(s, q, err, "writing rotation");
		snprintf(f->rotated_to, sizeof f->rotated_to, "%s", mt_stmt_str(st, "new"));
		break;
	default:
		break;
	}
	if (rc)
		return rc;
	f->head_seq = st->seq;
	memcpy(f->head_id, st->id, 32);
	return 0;
}

/* Apply one statement of the valid prefix and mark it applied. */
static int apply(mt_store *s, const mt_stmt *st, struct feed *f, mt_error *err)
{
	int rc = apply_effects(s, st, f, err);
	if (rc)
		return rc;
	sqlite3_stmt *q = Q(s, Q_SET_APPLIED);
	sqlite3_bind_blob(q, 1, st->id, 32, SQLITE_STATIC);
	return step_done(s, q, err, "marking statement");
}

/* Do two stored statements have the same signing input (same body)? */
static int same_body(const char *a, size_t alen, const char *b, size_t blen)
{
	json_t *ja = NULL, *jb = NULL;
	int same = 0;
	if (mt_canon_parse(&ja, a, alen, NULL) == 0 && mt_canon_parse(&jb, b, blen, NULL) == 0) {
		json_object_del(ja, "sig");
		json_object_del(jb, "sig");
		same = json_equal(ja, jb);
	}
	json_decref(ja);
	json_decref(jb);
	return same;
}

/* Extend the issuer's applied prefix as far as the held statements allow. */
static int advance(mt_store *s, const char *iss, struct feed *f, mt_error *err)
{
	for (;;) {
		uint64_t next = f->head_seq + 1;
		if ((f->fork_seq && next >= f->fork_seq) || f->rotated_to[0])
			return 0;
		sqlite3_stmt *q = Q(s, Q_AT_SEQ);
		sqlite3_bind_text(q, 1, iss, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, (sqlite3_int64)next);
		mt_stmt *pick = NULL;
		int r;
		while ((r = sqlite3_step(q)) == SQLITE_ROW) {
			const void *prev = sqlite3_column_blob(q, 2);
			int linked = next == 1 ? prev == NULL
					       : (prev && sqlite3_column_bytes(q, 2) == 32 &&
						  memcmp(prev, f->head_id, 32) == 0);
			if (!linked)
				continue;
			mt_error perr = {0};
			if (mt_stmt_parse(&pick, sqlite3_column_blob(q, 1),
					  (size_t)sqlite3_column_bytes(q, 1), INT64_MAX, &perr) != 0) {
				sqlite3_reset(q);
				return mt_error_set(err, MT_EIO, "store: stored statement unreadable: %s",
						    perr.msg);
			}
			break; /* ordered by id: the smallest linked id wins */
		}
		sqlite3_reset(q);
		if (r != SQLITE_ROW && r != SQLITE_DONE)
			return db_err(s, err, "reading feed");
		if (!pick)
			return 0;
		int rc = apply(s, pick, f, err);
		mt_stmt_free(pick);
		if (rc)
			return rc;
	}
}

/* Forget the issuer's derived state and replay its valid prefix. */
static int replay_issuer(mt_store *s, const char *iss, struct feed *f, mt_error *err)
{
	static const char *const sql[] = {
		"DELETE FROM edges WHERE iss=?1", "DELETE FROM bridges WHERE iss=?1",
		"DELETE FROM rotations WHERE old=?1", "DELETE FROM lessons WHERE author=?1",
		"UPDATE statements SET applied=0 WHERE iss=?1"};
	for (size_t i = 0; i < sizeof sql / sizeof *sql; i++) {
		sqlite3_stmt *q = NULL;
		if (sqlite3_prepare_v2(s->db, sql[i], -1, &q, NULL) != SQLITE_OK)
			return db_err(s, err, "replaying feed");
		sqlite3_bind_text(q, 1, iss, -1, SQLITE_STATIC);
		int r = sqlite3_step(q);
		sqlite3_finalize(q);
		if (r != SQLITE_DONE)
			return db_err(s, err, "replaying feed");
	}
	f->head_seq = 0;
	memset(f->head_id, 0, 32);
	f->rotated_to[0] = '\0';
	return advance(s, iss, f, err);
}

/* Record forks between `st` and other held statements at its (iss, seq).
 * Sets *forked when at least one exists. */
static int detect_fork(mt_store *s, const char *iss, uint64_t seq, const unsigned char id[32],
		       const char *canon, size_t len, int *forked, mt_error *err)
{
	*forked = 0;
	sqlite3_stmt *q = Q(s, Q_SAME_SEQ);
	sqlite3_bind_text(q, 1, iss, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)seq);
	sqlite3_bind_blob(q, 3, id, 32, SQLITE_TRANSIENT);
	unsigned char others[16][32];
	int n = 0, r;
	while ((r = sqlite3_step(q)) == SQLITE_ROW && n < 16) {
		if (!same_body(canon, len, sqlite3_column_blob(q, 1),
			       (size_t)sqlite3_column_bytes(q, 1)))
			memcpy(others[n++], sqlite3_column_blob(q, 0), 32);
	}
	sqlite3_reset(q);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return db_err(s, err, "checking forks");
	for (int i = 0; i < n; i++) {
		const unsigned char *a = memcmp(id, others[i], 32) < 0 ? id : others[i];
		const unsigned char *b = a == id ? others[i] : id;
		sqlite3_stmt *w = Q(s, Q_FORK_PUT);
		sqlite3_bind_text(w, 1, iss, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(w, 2, (sqlite3_int64)seq);
		sqlite3_bind_blob(w, 3, a, 32, SQLITE_TRANSIENT);
		sqlite3_bind_blob(w, 4, b, 32, SQLITE_TRANSIENT);
		int rc = step_done(s, w, err, "recording fork");
		if (rc)
			return rc;
		*forked = 1;
	}
	return 0;
}

/* Store `st` and bring its issuer's derived state up to date.
 *
 * Common case (in-order arrival): seq is above every seq held for the issuer,
 * so no fork is possible and no successor is held; the statement is inserted
 * already marked applied and its effects written: four SQL statements.
 * Otherwise the general path probes for forks and pulls held successors. */
static int ingest_locked(mt_store *s, const mt_stmt *st, mt_ingest_result *result, mt_error *err)
{
	struct feed f;
	int found, forked = 0, rc;
	const char *iss = st->iss;
	uint64_t seq = st->seq;
	if ((rc = feed_get(s, iss, &f, &found, err)))
		return rc;
	int may_fork = seq <= f.max_seq;
	int linked = seq == 1 ? !st->has_prev : st->has_prev && memcmp(st->prev, f.head_id, 32) == 0;
	int blocked = (f.fork_seq && seq >= f.fork_seq) || f.rotated_to[0];
	int apply_now = !may_fork && seq == f.head_seq + 1 && linked && !blocked;

	sqlite3_stmt *q = Q(s, Q_INSERT);
	sqlite3_bind_blob(q, 1, st->id, 32, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, iss, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)seq);
	sqlite3_bind_int64(q, 4, st->ts);
	sqlite3_bind_text(q, 5, mt_stmt_type_name(st->type), -1, SQLITE_STATIC);
	if (st->has_prev)
		sqlite3_bind_blob(q, 6, st->prev, 32, SQLITE_STATIC);
	sqlite3_bind_blob(q, 7, st->canon, (int)st->canon_len, SQLITE_STATIC);
	sqlite3_bind_int(q, 8, apply_now);
	if ((rc = step_done(s, q, err, "storing statement")))
		return rc;
	if (sqlite3_changes(s->db) == 0) {
		*result = MT_INGEST_DUPLICATE;
		return 0;
	}
	*result = MT_INGEST_ACCEPTED;
	if (may_fork &&
	    (rc = detect_fork(s, iss, seq, st->id, st->canon, st->canon_len, &forked, err)))
		return rc;
	if (forked && (!f.fork_seq || seq < f.fork_seq)) {
		f.fork_seq = seq;
		if (seq <= f.head_seq)
			rc = replay_issuer(s, iss, &f, err);
	} else if (apply_now) {
		rc = apply_effects(s, st, &f, err);
	} else if (seq == f.head_seq + 1 && linked && !blocked && !forked) {
		rc = apply(s, st, &f, err);
	}
	if (!rc && f.max_seq > f.head_seq)
		rc = advance(s, iss, &f, err); /* pull held successors, if any */
	if (rc)
		return rc;
	if (seq > f.max_seq)
		f.max_seq = seq;
	return feed_put(s, iss, &f, err);
}

int mt_store_ingest(mt_store *s, const mt_stmt *st, mt_ingest_result *result, mt_error *err)
{
	if (s->in_tx)
		return ingest_locked(s, st, result, err);
	int rc = exec(s, "BEGIN IMMEDIATE", err);
	if (rc)
		return rc;
	rc = ingest_locked(s, st, result, err);
	if (rc) {
		exec(s, "ROLLBACK", NULL);
		return rc;
	}
	return exec(s, "COMMIT", err);
}

int mt_store_issue(mt_store *s, mt_stmt **out, const json_t *body, const mt_keypair *kp,
		   int64_t ts, mt_error *err)
{
	if (out)
		*out = NULL;
	char iss[MT_NODE_ID_MAX];
	mt_node_id_encode(iss, kp->pk);
	int own_tx = !s->in_tx, rc, found;
	if (own_tx && (rc = exec(s, "BEGIN IMMEDIATE", err)))
		return rc;
	struct feed f;
	mt_stmt *st = NULL;
	if ((rc = feed_get(s, iss, &f, &found, err)))
		goto done;
	if (f.fork_seq) {
		rc = mt_error_set(err, MT_EFORK,
				  "your own feed is forked at seq %" PRIu64
				  " (the key was used elsewhere); refusing to issue",
				  f.fork_seq);
		goto done;
	}
	if (f.rotated_to[0]) {
		rc = mt_error_set(err, MT_EINVAL, "this key was rotated to %s; use the new key",
				  f.rotated_to);
		goto done;
	}
	sqlite3_stmt *q = Q(s, Q_MAXSEQ);
	sqlite3_bind_text(q, 1, iss, -1, SQLITE_STATIC);
	uint64_t max = sqlite3_step(q) == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(q, 0) : 0;
	sqlite3_reset(q);
	if (max > f.head_seq) {
		rc = mt_error_set(err, MT_EINVAL,
				  "your own feed holds seq %" PRIu64 " beyond its verified head %" PRIu64
				  "; run `mesh log verify`",
				  max, f.head_seq);
		goto done;
	}
	if ((rc = mt_stmt_sign(&st, body, kp, f.head_seq + 1, f.head_seq ? f.head_id : NULL, ts,
			       err)))
		goto done;
	mt_ingest_result res;
	rc = ingest_locked(s, st, &res, err);
done:
	if (own_tx) {
		if (rc)
			exec(s, "ROLLBACK", NULL);
		else
			rc = exec(s, "COMMIT", err);
	}
	if (rc || !out)
		mt_stmt_free(st);
	else
		*out = st;
	return rc;
}

/* ---- reading ---------------------------------------------------------- */

int mt_store_digest(mt_store *s, unsigned char out[32], uint64_t *count, mt_error *err)
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, 32);
	sqlite3_stmt *q = NULL;
	uint64_t n = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT id FROM statements ORDER BY id", -1, &q, NULL) !=
	    SQLITE_OK)
		return db_err(s, err, "computing digest");
	int r;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		crypto_generichash_update(&h, sqlite3_column_blob(q, 0),
					  (unsigned long long)sqlite3_column_bytes(q, 0));
		n++;
	}
	sqlite3_finalize(q);
	if (r != SQLITE_DONE)
		return db_err(s, err, "computing digest");
	crypto_generichash_final(&h, out, 32);
	if (count)
		*count = n;
	return 0;
}

int mt_store_digest_hex(mt_store *s, char out[65], uint64_t *count, mt_error *err)
{
	unsigned char d[32];
	int rc = mt_store_digest(s, d, count, err);
	if (!rc)
		mt_hex_encode(out, 65, d, 32);
	return rc;
}

int mt_store_foreach(mt_store *s, const char *iss, mt_stmt_visit_fn fn, void *payload,
		     mt_error *err)
{
	sqlite3_stmt *q = NULL;
	const char *sql = iss ? "SELECT iss, seq, canon FROM statements WHERE iss=? ORDER BY seq, id"
			      : "SELECT iss, seq, canon FROM statements ORDER BY iss, seq, id";
	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
		return db_err(s, err, "reading statements");
	if (iss)
		sqlite3_bind_text(q, 1, iss, -1, SQLITE_STATIC);
	int r, rc = 0;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		rc = fn((const char *)sqlite3_column_text(q, 0), (uint64_t)sqlite3_column_int64(q, 1),
			sqlite3_column_blob(q, 2), (size_t)sqlite3_column_bytes(q, 2), payload);
		if (rc)
			break;
	}
	if (!rc && r != SQLITE_DONE)
		rc = db_err(s, err, "reading statements");
	sqlite3_finalize(q);
	return rc;
}

int mt_store_get(mt_store *s, const unsigned char id[32], char **canon, size_t *len, mt_error *err)
{
	*canon = NULL;
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT canon FROM statements WHERE id=?", -1, &q, NULL) !=
	    SQLITE_OK)
		return db_err(s, err, "reading statement");
	sqlite3_bind_blob(q, 1, id, 32, SQLITE_STATIC);
	int rc = 0;
	if (sqlite3_step(q) == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(q, 0);
		*canon = malloc(n + 1);
		if (!*canon) {
			rc = mt_error_set(err, MT_ENOMEM, "out of memory");
		} else {
			memcpy(*canon, sqlite3_column_blob(q, 0), n);
			(*canon)[n] = '\0';
			*len = n;
		}
	} else {
		rc = mt_error_set(err, MT_ENOTFOUND, "no statement with that id");
	}
	sqlite3_finalize(q);
	return rc;
}

int mt_store_feed(mt_store *s, const char *iss, mt_feed_info *out, mt_error *err)
{
	struct feed f;
	int found, rc;
	memset(out, 0, sizeof *out);
	if ((rc = feed_get(s, iss, &f, &found, err)))
		return rc;
	if (!found)
		return mt_error_set(err, MT_ENOTFOUND, "no feed for %s", iss);
	out->head_seq = f.head_seq;
	out->fork_seq = f.fork_seq;
	memcpy(out->head_id, f.head_id, 32);
	sqlite3_stmt *q = Q(s, Q_MAXSEQ);
	sqlite3_bind_text(q, 1, iss, -1, SQLITE_STATIC);
	out->max_seq = sqlite3_step(q) == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(q, 0) : 0;
	sqlite3_reset(q);
	return 0;
}

/* ---- rebuild ---------------------------------------------------------- */

int mt_store_rebuild(mt_store *s, mt_progress_fn progress, void *payload, mt_error *err)
{
	int rc;
	if ((rc = exec(s, "BEGIN IMMEDIATE", err)))
		return rc;
	if ((rc = exec(s, "DELETE FROM feeds; DELETE FROM forks; DELETE FROM edges;"
			  "DELETE FROM rotations; DELETE FROM bridges; DELETE FROM lessons;"
			  "UPDATE statements SET applied=0 WHERE applied<>0;",
		       err)))
		goto fail;
	/* Forks first: every pair at one (iss, seq) with different bodies. */
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT a.iss, a.seq, a.id, a.canon FROM statements a WHERE EXISTS "
			       "(SELECT 1 FROM statements b WHERE b.iss=a.iss AND b.seq=a.seq AND "
			       "b.id<>a.id) ORDER BY a.iss, a.seq, a.id",
			       -1, &q, NULL) != SQLITE_OK) {
		rc = db_err(s, err, "rebuilding");
		goto fail;
	}
	int r;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		int forked;
		const char *iss = (const char *)sqlite3_column_text(q, 0);
		uint64_t seq = (uint64_t)sqlite3_column_int64(q, 1);
		if ((rc = detect_fork(s, iss, seq, sqlite3_column_blob(q, 2),
				      sqlite3_column_blob(q, 3), (size_t)sqlite3_column_bytes(q, 3),
				      &forked, err)))
			break;
	}
	sqlite3_finalize(q);
	if (rc)
		goto fail;
	/* Then every feed from seq 1, stopping at its first fork. */
	if (sqlite3_prepare_v2(s->db,
			       "SELECT s.iss, count(*), (SELECT min(seq) FROM forks f WHERE "
			       "f.iss=s.iss), max(s.seq) FROM statements s GROUP BY s.iss "
			       "ORDER BY s.iss",
			       -1, &q, NULL) != SQLITE_OK) {
		rc = db_err(s, err, "rebuilding");
		goto fail;
	}
	uint64_t done = 0, total = 0;
	{
		sqlite3_stmt *c = NULL;
		if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM statements", -1, &c, NULL) ==
			    SQLITE_OK &&
		    sqlite3_step(c) == SQLITE_ROW)
			total = (uint64_t)sqlite3_column_int64(c, 0);
		sqlite3_finalize(c);
	}
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		struct feed f;
		memset(&f, 0, sizeof f);
		char iss[MT_NODE_ID_MAX];
		snprintf(iss, sizeof iss, "%s", (const char *)sqlite3_column_text(q, 0));
		f.fork_seq = (uint64_t)sqlite3_column_int64(q, 2);
		f.max_seq = (uint64_t)sqlite3_column_int64(q, 3);
		if ((rc = advance(s, iss, &f, err)) || (rc = feed_put(s, iss, &f, err)))
			break;
		done += (uint64_t)sqlite3_column_int64(q, 1);
		if (progress)
			progress(done, total, payload);
	}
	sqlite3_finalize(q);
	if (rc)
		goto fail;
	return exec(s, "COMMIT", err);
fail:
	exec(s, "ROLLBACK", NULL);
	return rc;
}

/* A growable text buffer for dumps. */
struct buf {
	char *p;
	size_t len, cap;
};

static int buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return MT_ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int mt_store_derived_dump(mt_store *s, char **out, mt_error *err)
{
	struct buf b = {0};
	*out = NULL;
	int rc = feed_flush(s, err); /* (reads the feeds table) */
	for (size_t t = 0; t < sizeof DERIVED / sizeof *DERIVED && !rc; t++) {
		sqlite3_stmt *q = NULL;
		if (sqlite3_prepare_v2(s->db, DERIVED[t][1], -1, &q, NULL) != SQLITE_OK) {
			rc = db_err(s, err, "dumping");
			break;
		}
		rc = buf_add(&b, "## ", 3) || buf_add(&b, DERIVED[t][0], strlen(DERIVED[t][0])) ||
		     buf_add(&b, "\n", 1);
		while (!rc && sqlite3_step(q) == SQLITE_ROW) {
			int nc = sqlite3_column_count(q);
			for (int c = 0; c < nc && !rc; c++) {
				const char *v = (const char *)sqlite3_column_text(q, c);
				if (!v)
					v = "NULL";
				rc = buf_add(&b, v, strlen(v)) || buf_add(&b, c + 1 < nc ? "|" : "\n", 1);
			}
		}
		sqlite3_finalize(q);
	}
	if (rc) {
		free(b.p);
		return rc < 0 ? rc : mt_error_set(err, MT_ENOMEM, "out of memory");
	}
	*out = b.p ? b.p : calloc(1, 1);
	return *out ? 0 : mt_error_set(err, MT_ENOMEM, "out of memory");
}

/* ---- edges for the graph layer ----------------------------------------- */

struct erow {
	size_t src, dst, scope, orig_dst; /* offsets into the pool */
	int level, score;
	int64_t exp;
};

struct ecollect {
	struct erow *rows;
	size_t n, cap;
	struct buf pool;
};

static int pool_add(struct ecollect *c, const char *s, size_t *off)
{
	*off = c->pool.len;
	return buf_add(&c->pool, s, strlen(s) + 1);
}

static int erow_add(struct ecollect *c, const char *src, const char *dst, const char *scope,
		    int level, int score, int64_t exp)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024;
		struct erow *r = realloc(c->rows, cap * sizeof *r);
		if (!r)
			return MT_ENOMEM;
		c->rows = r;
		c->cap = cap;
	}
	struct erow *r = &c->rows[c->n];
	if (pool_add(c, src, &r->src) || pool_add(c, dst, &r->dst) || pool_add(c, scope, &r->scope))
		return MT_ENOMEM;
	r->orig_dst = r->dst;
	r->level = level;
	r->score = score;
	r->exp = exp;
	c->n++;
	return 0;
}

static const char *pool_str(const struct ecollect *c, size_t off)
{
	return c->pool.p + off;
}

static int erow_cmp_ctx(const struct ecollect *c, const struct erow *a, const struct erow *b)
{
	int d = strcmp(pool_str(c, a->src), pool_str(c, b->src));
	if (!d)
		d = strcmp(pool_str(c, a->dst), pool_str(c, b->dst));
	if (!d)
		d = strcmp(pool_str(c, a->scope), pool_str(c, b->scope));
	if (!d) /* the edge naming the key directly wins over a redirected one */
		d = (a->orig_dst != a->dst) - (b->orig_dst != b->dst);
	return d;
}

static int same_key(const struct ecollect *c, const struct erow *a, const struct erow *b)
{
	return !strcmp(pool_str(c, a->src), pool_str(c, b->src)) &&
	       !strcmp(pool_str(c, a->dst), pool_str(c, b->dst)) &&
	       !strcmp(pool_str(c, a->scope), pool_str(c, b->scope));
}

/* qsort has no context argument in C11: sort an index array with a merge sort. */
static void msort(size_t *idx, size_t *tmp, size_t n, const struct ecollect *c)
{
	if (n < 2)
		return;
	size_t h = n / 2;
	msort(idx, tmp, h, c);
	msort(idx + h, tmp, n - h, c);
	size_t i = 0, j = h, k = 0;
	while (i < h && j < n)
		tmp[k++] = erow_cmp_ctx(c, &c->rows[idx[i]], &c->rows[idx[j]]) <= 0 ? idx[i++]
										 : idx[j++];
	while (i < h)
		tmp[k++] = idx[i++];
	while (j < n)
		tmp[k++] = idx[j++];
	memcpy(idx, tmp, n * sizeof *idx);
}

/* Collect (old -> new) rotations valid at `at`. */
static int load_rotations(mt_store *s, struct ecollect *rot, int64_t at, mt_error *err)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT r.old, r.new FROM rotations r JOIN statements s ON s.id=r.stmt "
			       "WHERE s.ts<=?",
			       -1, &q, NULL) != SQLITE_OK)
		return db_err(s, err, "reading rotations");
	sqlite3_bind_int64(q, 1, at);
	int rc = 0;
	while (!rc && sqlite3_step(q) == SQLITE_ROW)
		rc = erow_add(rot, (const char *)sqlite3_column_text(q, 0),
			      (const char *)sqlite3_column_text(q, 1), "", 0, 0, 0);
	sqlite3_finalize(q);
	return rc ? mt_error_set(err, MT_ENOMEM, "out of memory") : 0;
}

static const char *resolve_rotation(const struct ecollect *rot, const char *id)
{
	for (int hops = 0; hops < 8; hops++) {
		size_t i;
		for (i = 0; i < rot->n; i++)
			if (strcmp(pool_str(rot, rot->rows[i].src), id) == 0)
				break;
		if (i == rot->n)
			return id;
		id = pool_str(rot, rot->rows[i].dst);
	}
	return id;
}

/* Replay applied trust/revoke statements with ts <= at into `c`. */
static int edges_at(mt_store *s, struct ecollect *c, int64_t at, mt_error *err)
{
	sqlite3_stmt *q = NULL;
	int rc = exec(s, "CREATE TEMP TABLE IF NOT EXISTS at_edges(iss TEXT, target TEXT, scope TEXT,"
			 " level INTEGER, score INTEGER, exp INTEGER, PRIMARY KEY(iss,target,scope));"
			 "DELETE FROM temp.at_edges;",
		      err);
	if (rc)
		return rc;
	sqlite3_stmt *put = NULL, *del = NULL;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT canon FROM statements WHERE applied=1 AND ts<=? AND type IN "
			       "('trust','revoke') ORDER BY iss, seq",
			       -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO temp.at_edges VALUES(?,?,?,?,?,?)", -1,
			       &put, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db,
			       "DELETE FROM temp.at_edges WHERE iss=? AND target=? AND scope=?", -1,
			       &del, NULL) != SQLITE_OK) {
		rc = db_err(s, err, "reading edges");
		goto done;
	}
	sqlite3_bind_int64(q, 1, at);
	while (!rc && sqlite3_step(q) == SQLITE_ROW) {
		mt_stmt *st = NULL;
		if (mt_stmt_parse(&st, sqlite3_column_blob(q, 0), (size_t)sqlite3_column_bytes(q, 0),
				  INT64_MAX, err) != 0) {
			rc = MT_EIO;
			break;
		}
		const char *scope = mt_stmt_str(st, "scope");
		sqlite3_stmt *w = st->type == MT_ST_TRUST ? put : del;
		sqlite3_reset(w);
		sqlite3_bind_text(w, 1, st->iss, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(w, 2, mt_stmt_str(st, "target"), -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(w, 3, scope ? scope : "global", -1, SQLITE_TRANSIENT);
		if (st->type == MT_ST_TRUST) {
			const char *lv = mt_stmt_str(st, "level");
			sqlite3_bind_int(w, 4, strcmp(lv, "full") == 0      ? MT_LEVEL_FULL
					       : strcmp(lv, "limited") == 0 ? MT_LEVEL_LIMITED
									    : MT_LEVEL_NONE);
			sqlite3_bind_int64(w, 5, mt_stmt_int(st, "score", 1000));
			sqlite3_bind_int64(w, 6, mt_stmt_int(st, "exp", 0));
		}
		if (sqlite3_step(w) != SQLITE_DONE)
			rc = db_err(s, err, "replaying edges");
		mt_stmt_free(st);
	}
	if (rc)
		goto done;
	sqlite3_finalize(q);
	q = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT iss,target,scope,level,score,exp FROM temp.at_edges",
			       -1, &q, NULL) != SQLITE_OK) {
		rc = db_err(s, err, "reading edges");
		goto done;
	}
	while (!rc && sqlite3_step(q) == SQLITE_ROW)
		rc = erow_add(c, (const char *)sqlite3_column_text(q, 0),
			      (const char *)sqlite3_column_text(q, 1),
			      (const char *)sqlite3_column_text(q, 2), sqlite3_column_int(q, 3),
			      sqlite3_column_int(q, 4), sqlite3_column_int64(q, 5))
			     ? mt_error_set(err, MT_ENOMEM, "out of memory")
			     : 0;
done:
	sqlite3_finalize(q);
	sqlite3_finalize(put);
	sqlite3_finalize(del);
	return rc;
}

int mt_store_edges(mt_store *s, mt_edge_in **out, size_t *n, int64_t at, mt_error *err)
{
	*out = NULL;
	*n = 0;
	struct ecollect c = {0}, rot = {0};
	size_t *idx = NULL, *tmp = NULL;
	int rc = 0;
	if (at == INT64_MAX) {
		sqlite3_stmt *q = NULL;
		if (sqlite3_prepare_v2(s->db, "SELECT iss,target,scope,level,score,exp FROM edges",
				       -1, &q, NULL) != SQLITE_OK)
			return db_err(s, err, "reading edges");
		while (!rc && sqlite3_step(q) == SQLITE_ROW)
			rc = erow_add(&c, (const char *)sqlite3_column_text(q, 0),
				      (const char *)sqlite3_column_text(q, 1),
				      (const char *)sqlite3_column_text(q, 2),
				      sqlite3_column_int(q, 3), sqlite3_column_int(q, 4),
				      sqlite3_column_int64(q, 5))
				     ? mt_error_set(err, MT_ENOMEM, "out of memory")
				     : 0;
		sqlite3_finalize(q);
	} else {
		rc = edges_at(s, &c, at, err);
	}
	if (!rc)
		rc = load_rotations(s, &rot, at, err);
	if (rc)
		goto done;
	/* Redirect edges to rotated keys; drop self-edges that creates. */
	for (size_t i = 0; i < c.n && rot.n; i++) {
		const char *dst = pool_str(&c, c.rows[i].dst);
		const char *to = resolve_rotation(&rot, dst);
		if (to != dst && (rc = pool_add(&c, to, &c.rows[i].dst)))
			goto done;
	}
	idx = malloc((c.n + 1) * sizeof *idx);
	tmp = malloc((c.n + 1) * sizeof *tmp);
	if (!idx || !tmp) {
		rc = mt_error_set(err, MT_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < c.n; i++)
		idx[i] = i;
	if (rot.n)
		msort(idx, tmp, c.n, &c);
	size_t keep = 0;
	for (size_t k = 0; k < c.n; k++) {
		const struct erow *r = &c.rows[idx[k]];
		if (strcmp(pool_str(&c, r->src), pool_str(&c, r->dst)) == 0)
			continue;
		if (rot.n && keep && same_key(&c, &c.rows[idx[keep - 1]], r))
			continue; /* sorted: the direct edge came first and wins */
		idx[keep++] = idx[k];
	}
	size_t bytes = keep * sizeof(mt_edge_in);
	char *block = malloc(bytes + c.pool.len + 1);
	if (!block) {
		rc = mt_error_set(err, MT_ENOMEM, "out of memory");
		goto done;
	}
	char *pool = block + bytes;
	if (c.pool.len)
		memcpy(pool, c.pool.p, c.pool.len);
	mt_edge_in *e = (mt_edge_in *)(void *)block;
	for (size_t k = 0; k < keep; k++) {
		const struct erow *r = &c.rows[idx[k]];
		e[k].src = pool + r->src;
		e[k].dst = pool + r->dst;
		e[k].scope = pool + r->scope;
		e[k].level = (mt_level)r->level;
		e[k].score = (uint16_t)r->score;
		e[k].exp = r->exp;
	}
	*out = e;
	*n = keep;
done:
	free(idx);
	free(tmp);
	free(c.rows);
	free(c.pool.p);
	free(rot.rows);
	free(rot.pool.p);
	return rc;
}

/* ---- verification ------------------------------------------------------- */

struct vstate {
	char iss[MT_NODE_ID_MAX];
	uint64_t seq;                /* seq of the ids below */
	unsigned char ids[8][32];    /* ids held at that seq */
	int nids;
	char *canon[8];
	size_t clen[8];
};

static void report(mt_verify_fn fn, void *payload, uint64_t *problems, const char *kind,
		   const char *iss, uint64_t seq, const char *detail)
{
	mt_verify_issue is = {kind, iss, seq, detail};
	(*problems)++;
	if (fn)
		fn(&is, payload);
}

int mt_store_verify(mt_store *s, mt_verify_fn fn, void *payload, uint64_t *checked,
		    uint64_t *problems, mt_progress_fn progress, void *pp, mt_error *err)
{
	*checked = 0;
	*problems = 0;
	sqlite3_stmt *q = NULL;
	uint64_t total = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM statements", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		total = (uint64_t)sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	if (sqlite3_prepare_v2(s->db,
			       "SELECT iss, seq, id, canon, prev FROM statements ORDER BY iss, seq, id",
			       -1, &q, NULL) != SQLITE_OK)
		return db_err(s, err, "verifying");
	char prev_iss[MT_NODE_ID_MAX] = "";
	uint64_t last_seq = 0;
	unsigned char last_ids[8][32];
	int last_n = 0;
	unsigned char cur_ids[8][32];
	char *cur_canon[8] = {0};
	size_t cur_len[8] = {0};
	int cur_n = 0;
	uint64_t cur_seq = 0;
	int r;
	char detail[512];
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		const char *iss = (const char *)sqlite3_column_text(q, 0);
		uint64_t seq = (uint64_t)sqlite3_column_int64(q, 1);
		const unsigned char *id = sqlite3_column_blob(q, 2);
		const char *canon = sqlite3_column_blob(q, 3);
		size_t clen = (size_t)sqlite3_column_bytes(q, 3);
		const unsigned char *prev = sqlite3_column_blob(q, 4);
		(*checked)++;
		if (progress && (*checked % 4096 == 0 || *checked == total))
			progress(*checked, total, pp);

		int new_iss = strcmp(iss, prev_iss) != 0;
		if (new_iss || seq != cur_seq) {
			/* close the previous seq group */
			memcpy(last_ids, cur_ids, sizeof last_ids);
			last_n = cur_n;
			last_seq = cur_seq;
			for (int i = 0; i < cur_n; i++)
				free(cur_canon[i]);
			cur_n = 0;
			cur_seq = seq;
			if (new_iss) {
				snprintf(prev_iss, sizeof prev_iss, "%s", iss);
				last_seq = 0;
				last_n = 0;
			}
			if (seq != last_seq + 1) {
				snprintf(detail, sizeof detail, "seq %" PRIu64 "..%" PRIu64 " missing",
					 last_seq + 1, seq - 1);
				report(fn, payload, problems, "gap", iss, last_seq + 1, detail);
			}
		}
		mt_stmt *st = NULL;
		mt_error e = {0};
		unsigned char h[32];
		mt_blake2b256(h, canon, clen);
		if (memcmp(h, id, 32) != 0)
			report(fn, payload, problems, "id-mismatch", iss, seq,
			       "stored id is not the hash of the stored bytes");
		if (mt_stmt_parse(&st, canon, clen, INT64_MAX, &e) != 0) {
			report(fn, payload, problems, "not-canonical", iss, seq, e.msg);
		} else {
			if (mt_stmt_verify(st, &e) != 0)
				report(fn, payload, problems, "bad-signature", iss, seq, e.msg);
			mt_stmt_free(st);
		}
		if (seq > 1 && last_seq == seq - 1 && last_n > 0) {
			int linked = 0;
			for (int i = 0; i < last_n && prev; i++)
				linked |= memcmp(prev, last_ids[i], 32) == 0;
			if (!linked)
				report(fn, payload, problems, "broken-link", iss, seq,
				       "prev does not name the statement held at seq-1");
		}
		for (int i = 0; i < cur_n; i++)
			if (!same_body(canon, clen, cur_canon[i], cur_len[i])) {
				char a[65], b[65];
				mt_hex_encode(a, sizeof a, cur_ids[i], 32);
				mt_hex_encode(b, sizeof b, id, 32);
				snprintf(detail, sizeof detail,
					 "equivocation: two statements at seq %" PRIu64 ": %s and %s",
					 seq, a, b);
				report(fn, payload, problems, "fork", iss, seq, detail);
			}
		if (cur_n < 8) {
			memcpy(cur_ids[cur_n], id, 32);
			cur_canon[cur_n] = malloc(clen);
			if (cur_canon[cur_n])
				memcpy(cur_canon[cur_n], canon, clen);
			cur_len[cur_n] = cur_canon[cur_n] ? clen : 0;
			cur_n++;
		}
	}
	for (int i = 0; i < cur_n; i++)
		free(cur_canon[i]);
	sqlite3_finalize(q);
	if (r != SQLITE_DONE)
		return db_err(s, err, "verifying");
	/* The database file itself. */
	if (sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW) {
		const char *res = (const char *)sqlite3_column_text(q, 0);
		if (!res || strcmp(res, "ok") != 0)
			report(fn, payload, problems, "database", "", 0, res ? res : "?");
	}
	sqlite3_finalize(q);
	return 0;
}

/* ---- local notes and config ------------------------------------------------ */

static int kv_set(mt_store *s, const char *table, const char *kcol, const char *key,
		  const char *value, mt_error *err)
{
	char sql[160];
	if (value && value[0])
		snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO %s VALUES(?,?)", table);
	else
		snprintf(sql, sizeof sql, "DELETE FROM %s WHERE %s=?", table, kcol);
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
		return db_err(s, err, "writing");
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	if (value && value[0])
		sqlite3_bind_text(q, 2, value, -1, SQLITE_STATIC);
	int r = sqlite3_step(q);
	sqlite3_finalize(q);
	return r == SQLITE_DONE ? 0 : db_err(s, err, "writing");
}

static int kv_get(mt_store *s, const char *sql, const char *key, char **out, mt_error *err)
{
	*out = NULL;
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
		return db_err(s, err, "reading");
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	int rc = 0;
	if (sqlite3_step(q) == SQLITE_ROW) {
		*out = strdup((const char *)sqlite3_column_text(q, 0));
		if (!*out)
			rc = mt_error_set(err, MT_ENOMEM, "out of memory");
	}
	sqlite3_finalize(q);
	return rc;
}

int mt_store_note_set(mt_store *s, const char *node_id, const char *note, mt_error *err)
{
	return kv_set(s, "notes", "node_id", node_id, note, err);
}

int mt_store_note_get(mt_store *s, const char *node_id, char **out, mt_error *err)
{
	return kv_get(s, "SELECT note FROM notes WHERE node_id=?", node_id, out, err);
}

int mt_store_config_set(mt_store *s, const char *key, const char *value, mt_error *err)
{
	return kv_set(s, "config", "key", key, value, err);
}

int mt_store_config_get(mt_store *s, const char *key, char **out, mt_error *err)
{
	return kv_get(s, "SELECT value FROM config WHERE key=?", key, out, err);
}

int mt_store_edge_get(mt_store *s, const char *iss, const char *target, const char *scope,
		      unsigned char stmt_id[32], uint64_t *seq, mt_error *err)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT stmt, seq FROM edges WHERE iss=? AND target=? AND scope=?", -1,
			       &q, NULL) != SQLITE_OK)
		return db_err(s, err, "reading edge");
	sqlite3_bind_text(q, 1, iss, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, target, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, scope, -1, SQLITE_STATIC);
	int rc = 0;
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_bytes(q, 0) == 32) {
		memcpy(stmt_id, sqlite3_column_blob(q, 0), 32);
		if (seq)
			*seq = (uint64_t)sqlite3_column_int64(q, 1);
	} else {
		rc = mt_error_set(err, MT_ENOTFOUND, "no edge from %s to %s in %s", iss, target,
				  scope);
	}
	sqlite3_finalize(q);
	return rc;
}

int mt_store_bridges(mt_store *s, mt_bridge_visit_fn fn, void *payload, mt_error *err)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT iss, scope FROM bridges ORDER BY iss, scope", -1, &q,
			       NULL) != SQLITE_OK)
		return db_err(s, err, "reading bridges");
	int rc = 0;
	while (!rc && sqlite3_step(q) == SQLITE_ROW)
		rc = fn((const char *)sqlite3_column_text(q, 0),
			(const char *)sqlite3_column_text(q, 1), payload);
	sqlite3_finalize(q);
	return rc;
}
