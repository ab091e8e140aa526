/* The PostgreSQL backend's local tables (never signed or sent): notes,
 * configuration, names, peers and quota counters. Each operation is one
 * statement (or, for a name, a check and two), atomic on the server: two
 * nodes adding to one quota counter never lose a count. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"

/* ---- notes, config ----------------------------------------------------------- */

static int kv_set(store_pg *p, const char *put, const char *del, const char *key,
		  const char *value, mt_error *err)
{
	pgp a = {0};
	mt_pg__text(&a, key);
	if (value && value[0]) {
		mt_pg__text(&a, value);
		return mt_pg__q(p, NULL, put, &a, "writing", err);
	}
	return mt_pg__q(p, NULL, del, &a, "writing", err);
}

/* The first column of the first row of `sql` with $1 = key, malloc'd, or
 * NULL when there is no row. */
static int kv_get(store_pg *p, const char *sql, const char *key, char **out, mt_error *err)
{
	*out = NULL;
	pgp a = {0};
	mt_pg__text(&a, key);
	PGresult *r = NULL;
	int rc = mt_pg__q(p, &r, sql, &a, "reading", err);
	if (!rc && PQntuples(r) > 0 && !(*out = strdup(mt_pg__text_at(r, 0, 0))))
		rc = mt_error_set(err, MT_ENOMEM, "out of memory");
	PQclear(r);
	return rc;
}

int mt_pg__note_set(mt_store_backend *be, const char *node_id, const char *note, mt_error *err)
{
	return kv_set(mt_store__pg(be),
		      "INSERT INTO notes(node_id, note) VALUES($1, $2) ON CONFLICT(node_id) "
		      "DO UPDATE SET note = excluded.note",
		      "DELETE FROM notes WHERE node_id = $1", node_id, note, err);
}

int mt_pg__note_get(mt_store_backend *be, const char *node_id, char **out, mt_error *err)
{
	return kv_get(mt_store__pg(be), "SELECT note FROM notes WHERE node_id = $1", node_id, out,
		      err);
}

int mt_pg__config_set(mt_store_backend *be, const char *key, const char *value, mt_error *err)
{
	return kv_set(mt_store__pg(be),
		      "INSERT INTO config(key, value) VALUES($1, $2) ON CONFLICT(key) "
		      "DO UPDATE SET value = excluded.value",
		      "DELETE FROM config WHERE key = $1", key, value, err);
}

int mt_pg__config_get(mt_store_backend *be, const char *key, char **out, mt_error *err)
{
	return kv_get(mt_store__pg(be), "SELECT value FROM config WHERE key = $1", key, out, err);
}

/* ---- names ---------------------------------------------------------------------- */

/* Copy the one-row answer of `sql` ($1 = key) into out; *found 1/0. An
 * answer that does not fit is a damaged table (MT_EIO). */
static int text1(store_pg *p, const char *sql, const char *key, char *out, size_t size,
		 int *found, mt_error *err)
{
	out[0] = '\0';
	*found = 0;
	char *v = NULL;
	int rc = kv_get(p, sql, key, &v, err);
	if (rc || !v)
		return rc;
	if (strlen(v) >= size)
		rc = mt_error_set(err, MT_EIO, "store: database: a name or ID is too long");
	else
		memcpy(out, v, strlen(v) + 1), *found = 1;
	free(v);
	return rc;
}

int mt_pg__name_set(mt_store_backend *be, const char *node_id, const char *name, mt_error *err)
{
	store_pg *p = mt_store__pg(be);
	char owner[MT_NODE_ID_MAX];
	int found, rc = text1(p, "SELECT node_id FROM names WHERE name = $1", name, owner,
			      sizeof owner, &found, err);
	if (rc)
		return rc;
	if (found && strcmp(owner, node_id) != 0)
		return mt_error_set(err, MT_EEXISTS, "store: the name '%s' is already %s's", name,
				    owner);
	pgp a = {0};
	mt_pg__text(&a, name);
	mt_pg__text(&a, node_id);
	/* the ID's previous name goes (one name per ID) */
	if ((rc = mt_pg__q(p, NULL, "DELETE FROM names WHERE node_id = $2 AND name <> $1", &a,
			   "writing", err)))
		return rc;
	rc = mt_pg__q(p, NULL,
		      "INSERT INTO names(name, node_id) VALUES($1, $2) ON CONFLICT(name) DO NOTHING",
		      &a, "writing", err);
	if (rc == MT_EIO && strstr(err ? err->msg : "", "duplicate key"))
		rc = mt_error_set(err, MT_EEXISTS, "store: the name '%s' was just given to another ID",
				  name);
	return rc;
}

int mt_pg__name_get(mt_store_backend *be, const char *node_id, char out[MT_NAME_MAX],
		    mt_error *err)
{
	int found;
	return text1(mt_store__pg(be), "SELECT name FROM names WHERE node_id = $1", node_id, out,
		     MT_NAME_MAX, &found, err);
}

int mt_pg__name_lookup(mt_store_backend *be, const char *name, char out[MT_NODE_ID_MAX],
		       mt_error *err)
{
	int found, rc = text1(mt_store__pg(be), "SELECT node_id FROM names WHERE name = $1", name,
			      out, MT_NODE_ID_MAX, &found, err);
	if (!rc && !found)
		rc = mt_error_set(err, MT_ENOTFOUND, "no name '%.40s' (see `mesh name list`)", name);
	return rc;
}

int mt_pg__name_remove(mt_store_backend *be, const char *key, int *removed, mt_error *err)
{
	pgp a = {0};
	mt_pg__text(&a, key);
	PGresult *r = NULL;
	int rc = mt_pg__q(mt_store__pg(be), &r, "DELETE FROM names WHERE name = $1 OR node_id = $1",
			  &a, "writing", err);
	if (!rc && removed)
		*removed = atoi(PQcmdTuples(r)) > 0;
	PQclear(r);
	return rc;
}

int mt_pg__names(mt_store_backend *be, mt_name_visit_fn fn, void *payload, mt_error *err)
{
	PGresult *r = NULL;
	int rc = mt_pg__q(mt_store__pg(be), &r, "SELECT name, node_id FROM names ORDER BY name",
			  NULL, "reading", err);
	for (int i = 0; !rc && i < PQntuples(r); i++)
		rc = fn(mt_pg__text_at(r, i, 0), mt_pg__text_at(r, i, 1), payload);
	PQclear(r);
	return rc;
}

/* ---- peers ------------------------------------------------------------------------ */

int mt_pg__peer_put(mt_store_backend *be, const char *url, const char *node_id, int64_t added,
		    mt_error *err)
{
	pgp a = {0};
	mt_pg__text(&a, url);
	mt_pg__text(&a, node_id);
	mt_pg__i64(&a, added);
	return mt_pg__q(mt_store__pg(be), NULL,
			"INSERT INTO node_peers(url, node_id, added) VALUES($1, $2, $3) "
			"ON CONFLICT(url) DO UPDATE SET node_id = excluded.node_id",
			&a, "recording a peer", err);
}

int mt_pg__peer_synced(mt_store_backend *be, const char *url, int64_t when, const char *error,
		       uint64_t lag, mt_error *err)
{
	pgp a = {0};
	mt_pg__i64(&a, when);
	mt_pg__text(&a, error);
	mt_pg__i64(&a, lag > INT64_MAX ? INT64_MAX : (int64_t)lag);
	mt_pg__text(&a, url);
	return mt_pg__q(mt_store__pg(be), NULL,
			"UPDATE node_peers SET last_sync = $1, last_error = $2, lag = $3 "
			"WHERE url = $4",
			&a, "recording a sync", err);
}

int mt_pg__peers(mt_store_backend *be, mt_peer_visit_fn fn, void *payload, mt_error *err)
{
	PGresult *r = NULL;
	int rc = mt_pg__q(mt_store__pg(be), &r,
			  "SELECT url, node_id, added, last_sync, last_error, lag FROM node_peers "
			  "ORDER BY url",
			  NULL, "listing peers", err);
	for (int i = 0; !rc && i < PQntuples(r); i++) {
		int64_t added, last, lag;
		if ((rc = mt_pg__i64_at(r, i, 2, &added, err)) ||
		    (rc = mt_pg__i64_at(r, i, 3, &last, err)) ||
		    (rc = mt_pg__i64_at(r, i, 5, &lag, err)))
			break;
		mt_store_peer peer = {mt_pg__text_at(r, i, 0), mt_pg__text_at(r, i, 1), added, last,
				      mt_pg__text_at(r, i, 4), lag > 0 ? (uint64_t)lag : 0};
		rc = fn(&peer, payload);
	}
	PQclear(r);
	return rc;
}

/* ---- quota counters ----------------------------------------------------------------- */

int mt_pg__quota_add(mt_store_backend *be, int kind, const char *key, int64_t minute, uint64_t n,
		     mt_error *err)
{
	pgp a = {0};
	mt_pg__i64(&a, kind);
	mt_pg__text(&a, key);
	mt_pg__i64(&a, minute);
	mt_pg__i64(&a, n > INT64_MAX ? INT64_MAX : (int64_t)n);
	return mt_pg__q(mt_store__pg(be), NULL,
			"INSERT INTO node_quota(kind, key, minute, n) VALUES($1, $2, $3, $4) "
			"ON CONFLICT(kind, key, minute) DO UPDATE SET n = node_quota.n + excluded.n",
			&a, "counting quota", err);
}

int mt_pg__quota_sum(mt_store_backend *be, int kind, const char *key, int64_t after,
		     uint64_t *out, mt_error *err)
{
	pgp a = {0};
	mt_pg__i64(&a, kind);
	mt_pg__text(&a, key);
	mt_pg__i64(&a, after);
	PGresult *r = NULL;
	int64_t v = 0;
	int rc = mt_pg__q(mt_store__pg(be), &r,
			  "SELECT coalesce(sum(n), 0)::bigint FROM node_quota WHERE kind = $1 AND "
			  "key = $2 AND minute > $3",
			  &a, "reading quota", err);
	if (!rc)
		rc = PQntuples(r) == 1 ? mt_pg__i64_at(r, 0, 0, &v, err)
				       : mt_error_set(err, MT_EIO, "store: database: no quota sum");
	PQclear(r);
	if (!rc)
		*out = v > 0 ? (uint64_t)v : 0;
	return rc;
}

int mt_pg__quota_prune(mt_store_backend *be, int64_t upto, mt_error *err)
{
	pgp a = {0};
	mt_pg__i64(&a, upto);
	return mt_pg__q(mt_store__pg(be), NULL, "DELETE FROM node_quota WHERE minute <= $1", &a,
			"pruning quota", err);
}

/* ---- revision 5: peer removal, listings ----------------------------------- */

int mt_pg__peer_remove(mt_store_backend *be, const char *url, int *removed, mt_error *err)
{
	pgp a = {0};
	mt_pg__text(&a, url);
	PGresult *r = NULL;
	int rc = mt_pg__q(mt_store__pg(be), &r, "DELETE FROM node_peers WHERE url = $1", &a,
			  "writing", err);
	if (!rc && removed)
		*removed = atoi(PQcmdTuples(r)) > 0;
	PQclear(r);
	return rc;
}

/* Visit the (key, value) rows `sql` selects. */
static int kv_list(store_pg *p, const char *sql, mt_kv_visit_fn fn, void *payload,
		   mt_error *err)
{
	PGresult *r = NULL;
	int rc = mt_pg__q(p, &r, sql, NULL, "reading", err);
	for (int i = 0; !rc && i < PQntuples(r); i++)
		rc = fn(mt_pg__text_at(r, i, 0), mt_pg__text_at(r, i, 1), payload);
	PQclear(r);
	return rc;
}

int mt_pg__notes(mt_store_backend *be, mt_kv_visit_fn fn, void *payload, mt_error *err)
{
	return kv_list(mt_store__pg(be), "SELECT node_id, note FROM notes ORDER BY node_id COLLATE \"C\"",
		       fn, payload, err);
}

int mt_pg__configs(mt_store_backend *be, mt_kv_visit_fn fn, void *payload, mt_error *err)
{
	return kv_list(mt_store__pg(be), "SELECT key, value FROM config ORDER BY key COLLATE \"C\"", fn,
		       payload, err);
}
