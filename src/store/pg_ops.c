/* The PostgreSQL backend's operations: writes under the advisory lock,
 * derived reads from the caught-up derivation (pg_int.h), and what
 * PostgreSQL answers itself (arrival order, first-seen times, the change
 * clock, the theft alarm's records, the local tables). */
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"

/* ---- transactions and writes ------------------------------------------------ */

static int pg_begin(mt_store_backend *be, mt_error *err)
{
	store_pg *p = mt_store__pg(be);
	if (p->in_tx)
		return mt_error_set(err, MT_EINVAL, "store: a transaction is already open");
	int own, rc = mt_pg__wbegin(p, &own, err);
	if (!rc)
		p->in_tx = 1;
	return rc;
}

static int pg_commit(mt_store_backend *be, mt_error *err)
{
	store_pg *p = mt_store__pg(be);
	if (!p->in_tx)
		return mt_error_set(err, MT_EINVAL, "store: no transaction is open");
	p->in_tx = 0;
	return mt_pg__wend(p, 1, 0, err);
}

static void pg_rollback(mt_store_backend *be)
{
	store_pg *p = mt_store__pg(be);
	if (!p->in_tx)
		return;
	p->in_tx = 0;
	mt_pg__wend(p, 1, MT_EIO, NULL);
}

static int pg_ingest(mt_store_backend *be, const mt_stmt *st, mt_ingest_result *result,
		     mt_error *err)
{
	store_pg *p = mt_store__pg(be);
	int own, rc = mt_pg__wbegin(p, &own, err);
	if (rc)
		return rc;
	mt_ingest_result res = MT_INGEST_DUPLICATE;
	rc = p->der->ingest(p->der, st, &res, err);
	if (!rc && res == MT_INGEST_ACCEPTED)
		rc = mt_pg__put(p, st, 0, err);
	rc = mt_pg__wend(p, own, rc, err);
	if (!rc)
		*result = res;
	return rc;
}

/* What the derivation signed, stored as this store's own statement. */
static int issued(store_pg *p, int own, int rc, mt_stmt *st, mt_stmt **out, mt_error *err)
{
	if (!rc)
		rc = mt_pg__put(p, st, 1, err);
	rc = mt_pg__wend(p, own, rc, err);
	if (rc || !out)
		mt_stmt_free(st);
	else
		*out = st;
	return rc;
}

static int pg_issue(mt_store_backend *be, mt_stmt **out, const json_t *body, const mt_keypair *kp,
		    int64_t ts, mt_error *err)
{
	store_pg *p = mt_store__pg(be);
	int own, rc = mt_pg__wbegin(p, &own, err);
	if (rc)
		return rc;
	mt_stmt *st = NULL;
	rc = p->der->issue(p->der, &st, body, kp, ts, err);
	return issued(p, own, rc, st, out, err);
}

static int pg_issue_rotate(mt_store_backend *be, mt_stmt **out, const char *old_iss,
			   const mt_keypair *next_kp, uint64_t last_good, int64_t ts, mt_error *err)
{
	store_pg *p = mt_store__pg(be);
	int own, rc = mt_pg__wbegin(p, &own, err);
	if (rc)
		return rc;
	mt_stmt *st = NULL;
	rc = p->der->issue_rotate(p->der, &st, old_iss, next_kp, last_good, ts, err);
	return issued(p, own, rc, st, out, err);
}

/* Derived state lives in the derivation only: rebuilding it is re-deriving
 * there (PostgreSQL's rows are statements and local tables). */
static int pg_rebuild(mt_store_backend *be, mt_progress_fn progress, void *payload, mt_error *err)
{
	store_pg *p = mt_store__pg(be);
	int rc = mt_pg__sync(p, err);
	return rc ? rc : p->der->rebuild(p->der, progress, payload, err);
}

static void pg_bulk(mt_store_backend *be, int on)
{
	store_pg *p = mt_store__pg(be);
	if (p->der && p->der->bulk)
		p->der->bulk(p->der, on);
}

static void *pg_native(mt_store_backend *be, const char *kind)
{
	return strcmp(kind, "postgresql") == 0 ? (void *)mt_store__pg(be)->conn : NULL;
}

/* ---- derived reads: caught up, then the derivation answers ------------------- */

#define DERIVED(op, params, args)                        \
	static int pg_##op params                        \
	{                                                \
		store_pg *p = mt_store__pg(be);          \
		int rc = mt_pg__sync(p, err);            \
		return rc ? rc : p->der->op args;        \
	}

DERIVED(digest, (mt_store_backend * be, unsigned char out[32], uint64_t *count, mt_error *err),
	(p->der, out, count, err))
DERIVED(ids, (mt_store_backend * be, mt_id_visit_fn fn, void *payload, mt_error *err),
	(p->der, fn, payload, err))
DERIVED(derived_dump, (mt_store_backend * be, char **out, mt_error *err), (p->der, out, err))
DERIVED(edges, (mt_store_backend * be, mt_edge_in **out, size_t *n, int64_t at, mt_error *err),
	(p->der, out, n, at, err))
DERIVED(edge_get,
	(mt_store_backend * be, const char *iss, const char *target, const char *scope,
	 unsigned char stmt_id[32], uint64_t *seq, mt_error *err),
	(p->der, iss, target, scope, stmt_id, seq, err))
DERIVED(bridges, (mt_store_backend * be, mt_bridge_visit_fn fn, void *payload, mt_error *err),
	(p->der, fn, payload, err))
DERIVED(foreach,
	(mt_store_backend * be, const char *iss, mt_stmt_visit_fn fn, void *payload, mt_error *err),
	(p->der, iss, fn, payload, err))
DERIVED(get,
	(mt_store_backend * be, const unsigned char id[32], char **canon, size_t *len,
	 mt_error *err),
	(p->der, id, canon, len, err))
DERIVED(feed, (mt_store_backend * be, const char *iss, mt_feed_info *out, mt_error *err),
	(p->der, iss, out, err))
DERIVED(verify,
	(mt_store_backend * be, mt_verify_fn fn, void *payload, uint64_t *checked,
	 uint64_t *problems, mt_progress_fn progress, void *pp, mt_error *err),
	(p->der, fn, payload, checked, problems, progress, pp, err))
DERIVED(foreach_type,
	(mt_store_backend * be, const mt_stmt_type *types, size_t n_types, mt_stmt_visit_fn fn,
	 void *payload, mt_error *err),
	(p->der, types, n_types, fn, payload, err))
DERIVED(contains, (mt_store_backend * be, const unsigned char id[32], int *found, mt_error *err),
	(p->der, id, found, err))
DERIVED(feeds, (mt_store_backend * be, mt_feed_visit_fn fn, void *payload, mt_error *err),
	(p->der, fn, payload, err))
DERIVED(feed_page,
	(mt_store_backend * be, const char *iss, uint64_t from_seq, uint64_t limit,
	 mt_stmt_visit_fn fn, void *payload, mt_error *err),
	(p->der, iss, from_seq, limit, fn, payload, err))
DERIVED(forks,
	(mt_store_backend * be, uint64_t limit, mt_fork_visit_fn fn, void *payload,
	 mt_error *err),
	(p->der, limit, fn, payload, err))
DERIVED(key_status, (mt_store_backend * be, const char *iss, mt_key_status *out, mt_error *err),
	(p->der, iss, out, err))
DERIVED(rotate_admissible, (mt_store_backend * be, const mt_stmt *st, mt_error *err),
	(p->der, st, err))
DERIVED(newest_id,
	(mt_store_backend * be, const char *id, char out[MT_NODE_ID_MAX], mt_error *err),
	(p->der, id, out, err))
DERIVED(rotation_links,
	(mt_store_backend * be, mt_rotation_visit_fn fn, void *payload, mt_error *err),
	(p->der, fn, payload, err))
DERIVED(lessons_of,
	(mt_store_backend * be, const char *author, const char *topic, uint64_t limit,
	 mt_lesson_visit_fn fn, void *payload, mt_error *err),
	(p->der, author, topic, limit, fn, payload, err))

#undef DERIVED

/* ---- what PostgreSQL answers ------------------------------------------------- */

/* n is the order of arrival (rows are inserted under the write lock). */
static int pg_recent(mt_store_backend *be, uint64_t limit, mt_entry_visit_fn fn, void *payload,
		     mt_error *err)
{
	store_pg *p = mt_store__pg(be);
	pgp a = {0};
	mt_pg__i64(&a, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	PGresult *r = NULL;
	int rc = mt_pg__q(p, &r,
			  "SELECT id, iss, seq, type, ts FROM statements ORDER BY n DESC LIMIT $1", &a,
			  "reading recent statements", err);
	for (int i = 0; !rc && i < PQntuples(r); i++) {
		mt_store_entry e;
		int64_t seq;
		if ((rc = mt_pg__id_at(r, i, 0, e.id, err)) ||
		    (rc = mt_pg__i64_at(r, i, 2, &seq, err)) ||
		    (rc = mt_pg__i64_at(r, i, 4, &e.ts, err)))
			break;
		e.iss = mt_pg__text_at(r, i, 1);
		e.seq = (uint64_t)seq;
		e.type = mt_pg__text_at(r, i, 3);
		rc = fn(&e, payload);
	}
	PQclear(r);
	return rc;
}

/* n is also the log's position: rows are inserted and committed in n order
 * under the write lock (pg_int.h), so a snapshot holds a prefix of them. */
static int pg_log_since(mt_store_backend *be, uint64_t after, uint64_t limit,
			mt_log_visit_fn fn, void *payload, mt_error *err)
{
	store_pg *p = mt_store__pg(be);
	pgp a = {0};
	mt_pg__i64(&a, after > INT64_MAX ? INT64_MAX : (int64_t)after);
	mt_pg__i64(&a, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	PGresult *r = NULL;
	int rc = mt_pg__q(p, &r,
			  "SELECT n, id, canon FROM statements WHERE n > $1 ORDER BY n LIMIT $2", &a,
			  "reading the log", err);
	for (int i = 0; !rc && i < PQntuples(r); i++) {
		mt_log_entry e;
		int64_t n;
		if ((rc = mt_pg__i64_at(r, i, 0, &n, err)) || (rc = mt_pg__id_at(r, i, 1, e.id, err)))
			break;
		e.pos = (uint64_t)n;
		e.canon = PQgetvalue(r, i, 2);
		e.len = (size_t)PQgetlength(r, i, 2);
		rc = fn(&e, payload);
	}
	PQclear(r);
	return rc;
}

static int pg_log_position(mt_store_backend *be, uint64_t *out, mt_error *err)
{
	store_pg *p = mt_store__pg(be);
	PGresult *r = NULL;
	*out = 0;
	int rc = mt_pg__q(p, &r, "SELECT coalesce(max(n), 0) FROM statements", NULL,
			  "reading the log position", err);
	int64_t n = 0;
	if (!rc && PQntuples(r) == 1 && !(rc = mt_pg__i64_at(r, 0, 0, &n, err)))
		*out = (uint64_t)n;
	PQclear(r);
	return rc;
}

static int pg_seen(mt_store_backend *be, const unsigned char id[32], int64_t *out, mt_error *err)
{
	store_pg *p = mt_store__pg(be);
	pgp a = {0};
	mt_pg__bytes(&a, id, 32);
	PGresult *r = NULL;
	int rc = mt_pg__q(p, &r, "SELECT seen FROM statements WHERE id = $1", &a,
			  "reading first-seen time", err);
	if (!rc)
		rc = PQntuples(r) == 1 ? mt_pg__i64_at(r, 0, 0, out, err)
				       : mt_error_set(err, MT_ENOTFOUND, "store: no such statement");
	PQclear(r);
	return rc;
}

/* The clock moves once per committed write of statements; this handle's
 * own moves are taken off, so only others' commits change the number. */
static int pg_change_counter(mt_store_backend *be, uint64_t *out, mt_error *err)
{
	return mt_pg__change_counter(mt_store__pg(be), out, err);
}

/* ---- the theft alarm (SPEC §9.2): the same rules as SQLite's ------------------ */

static int run1(store_pg *p, const char *sql, const char *arg, const char *what, mt_error *err)
{
	pgp a = {0};
	mt_pg__text(&a, arg);
	return mt_pg__q(p, NULL, sql, &a, what, err);
}

static int pg_own_adopt(mt_store_backend *be, const char *own_id, mt_error *err)
{
	store_pg *p = mt_store__pg(be);
	int own, rc = mt_pg__wbegin(p, &own, err);
	if (rc)
		return rc;
	if (!(rc = run1(p,
			"INSERT INTO own_signed(id) SELECT id FROM statements WHERE iss = $1 "
			"ORDER BY n ON CONFLICT(id) DO NOTHING",
			own_id, "adopting own statements", err)) &&
	    !(rc = run1(p, "INSERT INTO own_adopted(iss) VALUES($1) ON CONFLICT DO NOTHING", own_id,
			"adopting own statements", err)))
		rc = mt_pg__sync(p, err); /* the new marks into the derivation */
	return mt_pg__wend(p, own, rc, err);
}

static int exists1(store_pg *p, const char *sql, const char *arg, int *out, mt_error *err)
{
	pgp a = {0};
	mt_pg__text(&a, arg);
	PGresult *r = NULL;
	int rc = mt_pg__q(p, &r, sql, &a, "reading own statements", err);
	*out = !rc && PQntuples(r) > 0;
	PQclear(r);
	return rc;
}

static int pg_own_foreign(mt_store_backend *be, const char *own_id, mt_own_visit_fn fn,
			  void *payload, uint64_t *count, mt_error *err)
{
	store_pg *p = mt_store__pg(be);
	int adopted, recorded, rc;
	if ((rc = exists1(p, "SELECT 1 FROM own_adopted WHERE iss = $1", own_id, &adopted, err)))
		return rc;
	if (!adopted) {
		/* No record of what it signed for `own_id`: adopt what is held;
		 * one that signed some of it compares from the start. */
		if ((rc = exists1(p,
				  "SELECT 1 FROM statements t JOIN own_signed o ON o.id = t.id "
				  "WHERE t.iss = $1 LIMIT 1",
				  own_id, &recorded, err)))
			return rc;
		rc = recorded ? run1(p, "INSERT INTO own_adopted(iss) VALUES($1) ON CONFLICT DO NOTHING",
				     own_id, "adopting own statements", err)
			      : pg_own_adopt(be, own_id, err);
		if (rc)
			return rc;
	}
	pgp a = {0};
	mt_pg__text(&a, own_id);
	PGresult *r = NULL;
	if ((rc = mt_pg__q(p, &r,
			   "SELECT seq, id FROM statements t WHERE iss = $1 AND NOT EXISTS "
			   "(SELECT 1 FROM own_signed o WHERE o.id = t.id) ORDER BY seq, id",
			   &a, "reading own statements", err)))
		return rc;
	uint64_t n = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		int64_t seq;
		unsigned char id[32];
		int bad = mt_pg__i64_at(r, i, 0, &seq, err) || mt_pg__id_at(r, i, 1, id, err);
		if (bad) {
			rc = MT_EIO;
			break;
		}
		n++;
		if (fn && !rc)
			rc = fn((uint64_t)seq, id, payload);
	}
	PQclear(r);
	if (count)
		*count = n;
	return rc;
}

const mt_store_backend mt_pg__ops = {
	.version = MT_STORE_BACKEND_VERSION,
	.name = "postgresql",
	.free = NULL, /* pg_conn.c sets it */
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.ingest = pg_ingest,
	.issue = pg_issue,
	.digest = pg_digest,
	.rebuild = pg_rebuild,
	.derived_dump = pg_derived_dump,
	.edges = pg_edges,
	.edge_get = pg_edge_get,
	.bridges = pg_bridges,
	.foreach = pg_foreach,
	.get = pg_get,
	.feed = pg_feed,
	.verify = pg_verify,
	.note_set = mt_pg__note_set,
	.note_get = mt_pg__note_get,
	.config_set = mt_pg__config_set,
	.config_get = mt_pg__config_get,
	.bulk = pg_bulk,
	.native = pg_native,
	.foreach_type = pg_foreach_type,
	.contains = pg_contains,
	.lessons_match = mt_pg__lessons_match,
	.lessons_overlay_begin = mt_pg__lessons_overlay_begin,
	.lessons_overlay_end = mt_pg__lessons_overlay_end,
	.feeds = pg_feeds,
	.feed_page = pg_feed_page,
	.recent = pg_recent,
	.forks = pg_forks,
	.change_counter = pg_change_counter,
	.peer_put = mt_pg__peer_put,
	.peer_synced = mt_pg__peer_synced,
	.peers = mt_pg__peers,
	.quota_add = mt_pg__quota_add,
	.quota_sum = mt_pg__quota_sum,
	.quota_prune = mt_pg__quota_prune,
	.key_status = pg_key_status,
	.rotate_admissible = pg_rotate_admissible,
	.issue_rotate = pg_issue_rotate,
	.newest_id = pg_newest_id,
	.own_foreign = pg_own_foreign,
	.own_adopt = pg_own_adopt,
	.rotation_links = pg_rotation_links,
	.seen = pg_seen,
	.name_set = mt_pg__name_set,
	.name_get = mt_pg__name_get,
	.name_lookup = mt_pg__name_lookup,
	.name_remove = mt_pg__name_remove,
	.names = mt_pg__names,
	.lessons_of = pg_lessons_of,
	.peer_remove = mt_pg__peer_remove,
	.notes = mt_pg__notes,
	.configs = mt_pg__configs,
	.log_since = pg_log_since,
	.log_position = pg_log_position,
	.ids = pg_ids,
};
