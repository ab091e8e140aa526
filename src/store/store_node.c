/* What the node reads and keeps in the store: the feed listing and feed
 * pages it serves, the recent statements and forks of /v1/log, the change
 * counter its view refresh polls, and its local tables (never signed or
 * sent), created by the migration to schema version 4: node_peers (one row
 * per peer URL) and node_quota (a count per kind, key and minute). */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* ---- feeds ------------------------------------------------------------------ */

int mt_store__sq_feeds(mt_store_backend *be, mt_feed_visit_fn fn, void *payload, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	int rc = mt_store__feed_flush(s, err); /* (reads the feeds table) */
	if (rc)
		return rc;
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT iss, head_seq, head_id FROM feeds WHERE head_seq > 0 "
			       "ORDER BY iss",
			       -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "listing feeds");
	int r;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		unsigned char head[32] = {0};
		if (sqlite3_column_bytes(q, 2) == 32)
			memcpy(head, sqlite3_column_blob(q, 2), 32);
		if ((rc = fn((const char *)sqlite3_column_text(q, 0),
			     (uint64_t)sqlite3_column_int64(q, 1), head, payload)))
			break;
	}
	if (!rc && r != SQLITE_DONE)
		rc = mt_store__err(s, err, "listing feeds");
	sqlite3_finalize(q);
	return rc;
}

static const char FEED_PAGE[] = "SELECT iss, seq, canon FROM statements WHERE iss = ? AND seq >= ? "
				"ORDER BY seq, id LIMIT ?";

int mt_store__sq_feed_page(mt_store_backend *be, const char *iss, uint64_t from_seq,
			   uint64_t limit, mt_stmt_visit_fn fn, void *payload, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	sqlite3_stmt *q;
	int rc = mt_store__query(s, &q, FEED_PAGE, err);
	if (rc)
		return rc;
	sqlite3_bind_text(q, 1, iss, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, from_seq > INT64_MAX ? INT64_MAX : (sqlite3_int64)from_seq);
	sqlite3_bind_int64(q, 3, limit > INT64_MAX ? INT64_MAX : (sqlite3_int64)limit);
	int r;
	while ((r = sqlite3_step(q)) == SQLITE_ROW)
		if ((rc = fn((const char *)sqlite3_column_text(q, 0),
			     (uint64_t)sqlite3_column_int64(q, 1), sqlite3_column_blob(q, 2),
			     (size_t)sqlite3_column_bytes(q, 2), payload)))
			break;
	if (!rc && r != SQLITE_DONE)
		rc = mt_store__err(s, err, "reading a feed");
	sqlite3_reset(q);
	return rc;
}

/* ---- recent statements, forks, changes -------------------------------------- */

/* rowid is the order of arrival: statements are never deleted, so each new
 * row gets the highest rowid yet. */
int mt_store__sq_recent(mt_store_backend *be, uint64_t limit, mt_entry_visit_fn fn,
			void *payload, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT id, iss, seq, type, ts FROM statements ORDER BY rowid DESC "
			       "LIMIT ?",
			       -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "reading recent statements");
	sqlite3_bind_int64(q, 1, limit > INT64_MAX ? INT64_MAX : (sqlite3_int64)limit);
	int r, rc = 0;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		mt_store_entry e;
		if (sqlite3_column_bytes(q, 0) != 32)
			continue;
		memcpy(e.id, sqlite3_column_blob(q, 0), 32);
		e.iss = (const char *)sqlite3_column_text(q, 1);
		e.seq = (uint64_t)sqlite3_column_int64(q, 2);
		e.type = (const char *)sqlite3_column_text(q, 3);
		e.ts = sqlite3_column_int64(q, 4);
		if ((rc = fn(&e, payload)))
			break;
	}
	if (!rc && r != SQLITE_DONE)
		rc = mt_store__err(s, err, "reading recent statements");
	sqlite3_finalize(q);
	return rc;
}

/* rowid is also the log's position: statements are inserted under SQLite's
 * single write lock and never deleted, so rowids follow the commit order. */
int mt_store__sq_log_since(mt_store_backend *be, uint64_t after, uint64_t limit,
			   mt_log_visit_fn fn, void *payload, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT rowid, id, canon FROM statements WHERE rowid > ? "
			       "ORDER BY rowid LIMIT ?",
			       -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "reading the log");
	sqlite3_bind_int64(q, 1, after > INT64_MAX ? INT64_MAX : (sqlite3_int64)after);
	sqlite3_bind_int64(q, 2, limit > INT64_MAX ? INT64_MAX : (sqlite3_int64)limit);
	int r, rc = 0;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		mt_log_entry e;
		if (sqlite3_column_bytes(q, 1) != 32) {
			rc = mt_error_set(err, MT_EIO, "store: statement at position %lld has no 32-byte id",
					  (long long)sqlite3_column_int64(q, 0));
			break;
		}
		e.pos = (uint64_t)sqlite3_column_int64(q, 0);
		memcpy(e.id, sqlite3_column_blob(q, 1), 32);
		e.canon = sqlite3_column_blob(q, 2);
		e.len = (size_t)sqlite3_column_bytes(q, 2);
		if ((rc = fn(&e, payload)))
			break;
	}
	if (!rc && r != SQLITE_DONE)
		rc = mt_store__err(s, err, "reading the log");
	sqlite3_finalize(q);
	return rc;
}

int mt_store__sq_log_position(mt_store_backend *be, uint64_t *out, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	sqlite3_stmt *q = NULL;
	*out = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT max(rowid) FROM statements", -1, &q, NULL) !=
	    SQLITE_OK)
		return mt_store__err(s, err, "reading the log position");
	int r = sqlite3_step(q);
	if (r == SQLITE_ROW)
		*out = (uint64_t)sqlite3_column_int64(q, 0); /* NULL (empty) reads as 0 */
	sqlite3_finalize(q);
	return r == SQLITE_ROW ? 0 : mt_store__err(s, err, "reading the log position");
}

int mt_store__sq_ids(mt_store_backend *be, mt_id_visit_fn fn, void *payload, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT id FROM statements ORDER BY id", -1, &q, NULL) !=
	    SQLITE_OK)
		return mt_store__err(s, err, "reading statement ids");
	int r, rc = 0;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(q, 0) != 32) {
			rc = mt_error_set(err, MT_EIO, "store: a statement has no 32-byte id");
			break;
		}
		if ((rc = fn(sqlite3_column_blob(q, 0), payload)))
			break;
	}
	if (!rc && r != SQLITE_DONE)
		rc = mt_store__err(s, err, "reading statement ids");
	sqlite3_finalize(q);
	return rc;
}

int mt_store__sq_forks(mt_store_backend *be, uint64_t limit, mt_fork_visit_fn fn, void *payload,
		       mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT iss, seq, id_a, id_b FROM forks ORDER BY iss, seq, id_a, id_b "
			       "LIMIT ?",
			       -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "reading forks");
	sqlite3_bind_int64(q, 1, limit > INT64_MAX ? INT64_MAX : (sqlite3_int64)limit);
	int r, rc = 0;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(q, 2) != 32 || sqlite3_column_bytes(q, 3) != 32)
			continue;
		if ((rc = fn((const char *)sqlite3_column_text(q, 0),
			     (uint64_t)sqlite3_column_int64(q, 1), sqlite3_column_blob(q, 2),
			     sqlite3_column_blob(q, 3), payload)))
			break;
	}
	if (!rc && r != SQLITE_DONE)
		rc = mt_store__err(s, err, "reading forks");
	sqlite3_finalize(q);
	return rc;
}

/* PRAGMA data_version: moves when another connection commits. */
static const char DATA_VERSION[] = "PRAGMA data_version";

int mt_store__sq_change_counter(mt_store_backend *be, uint64_t *out, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	sqlite3_stmt *q;
	int rc = mt_store__query(s, &q, DATA_VERSION, err);
	if (rc)
		return rc;
	int r = sqlite3_step(q);
	if (r == SQLITE_ROW)
		*out = (uint64_t)sqlite3_column_int64(q, 0);
	else
		rc = mt_store__err(s, err, "reading the change counter");
	sqlite3_reset(q);
	return rc;
}

/* ---- peers ------------------------------------------------------------------ */

static const char PEER_PUT[] = "INSERT INTO node_peers(url, node_id, added) VALUES(?, ?, ?) "
			       "ON CONFLICT(url) DO UPDATE SET node_id = excluded.node_id";
static const char PEER_SYNCED[] = "UPDATE node_peers SET last_sync = ?, last_error = ?, lag = ? "
				  "WHERE url = ?";

int mt_store__sq_peer_put(mt_store_backend *be, const char *url, const char *node_id,
			  int64_t added, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	sqlite3_stmt *q;
	int rc = mt_store__query(s, &q, PEER_PUT, err);
	if (rc)
		return rc;
	sqlite3_bind_text(q, 1, url, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, node_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, added);
	return mt_store__step_done(s, q, err, "recording a peer");
}

int mt_store__sq_peer_synced(mt_store_backend *be, const char *url, int64_t when,
			     const char *error, uint64_t lag, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	sqlite3_stmt *q;
	int rc = mt_store__query(s, &q, PEER_SYNCED, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(q, 1, when);
	sqlite3_bind_text(q, 2, error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, lag > INT64_MAX ? INT64_MAX : (sqlite3_int64)lag);
	sqlite3_bind_text(q, 4, url, -1, SQLITE_STATIC);
	return mt_store__step_done(s, q, err, "recording a sync");
}

int mt_store__sq_peers(mt_store_backend *be, mt_peer_visit_fn fn, void *payload, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT url, node_id, added, last_sync, last_error, lag FROM node_peers "
			       "ORDER BY url",
			       -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "listing peers");
	int r, rc = 0;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		mt_store_peer p = {(const char *)sqlite3_column_text(q, 0),
				   (const char *)sqlite3_column_text(q, 1),
				   sqlite3_column_int64(q, 2),
				   sqlite3_column_int64(q, 3),
				   (const char *)sqlite3_column_text(q, 4),
				   (uint64_t)sqlite3_column_int64(q, 5)};
		if ((rc = fn(&p, payload)))
			break;
	}
	if (!rc && r != SQLITE_DONE)
		rc = mt_store__err(s, err, "listing peers");
	sqlite3_finalize(q);
	return rc;
}

/* ---- quota counters --------------------------------------------------------- */

static const char QUOTA_ADD[] = "INSERT INTO node_quota(kind, key, minute, n) VALUES(?, ?, ?, ?) "
				"ON CONFLICT(kind, key, minute) DO UPDATE SET n = n + excluded.n";
static const char QUOTA_SUM[] = "SELECT coalesce(sum(n), 0) FROM node_quota WHERE kind = ? AND "
				"key = ? AND minute > ?";
static const char QUOTA_PRUNE[] = "DELETE FROM node_quota WHERE minute <= ?";

int mt_store__sq_quota_add(mt_store_backend *be, int kind, const char *key, int64_t minute,
			   uint64_t n, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	sqlite3_stmt *q;
	int rc = mt_store__query(s, &q, QUOTA_ADD, err);
	if (rc)
		return rc;
	sqlite3_bind_int(q, 1, kind);
	sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, minute);
	sqlite3_bind_int64(q, 4, n > INT64_MAX ? INT64_MAX : (sqlite3_int64)n);
	return mt_store__step_done(s, q, err, "counting quota");
}

int mt_store__sq_quota_sum(mt_store_backend *be, int kind, const char *key, int64_t after,
			   uint64_t *out, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	sqlite3_stmt *q;
	int rc = mt_store__query(s, &q, QUOTA_SUM, err);
	if (rc)
		return rc;
	sqlite3_bind_int(q, 1, kind);
	sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, after);
	if (sqlite3_step(q) == SQLITE_ROW) {
		sqlite3_int64 v = sqlite3_column_int64(q, 0);
		*out = v > 0 ? (uint64_t)v : 0;
	} else {
		rc = mt_store__err(s, err, "reading quota");
	}
	sqlite3_reset(q);
	return rc;
}

int mt_store__sq_quota_prune(mt_store_backend *be, int64_t upto, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	sqlite3_stmt *q;
	int rc = mt_store__query(s, &q, QUOTA_PRUNE, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(q, 1, upto);
	return mt_store__step_done(s, q, err, "pruning quota");
}
