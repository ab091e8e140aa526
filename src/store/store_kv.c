/* Local only, never signed or sent: notes about Node IDs and the
 * configuration (key/value). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

static int kv_set(store_sqlite *s, const char *table, const char *kcol, const char *key,
		  const char *value, mt_error *err)
{
	char sql[160];
	if (value && value[0])
		snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO %s VALUES(?,?)", table);
	else
		snprintf(sql, sizeof sql, "DELETE FROM %s WHERE %s=?", table, kcol);
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "writing");
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	if (value && value[0])
		sqlite3_bind_text(q, 2, value, -1, SQLITE_STATIC);
	int r = sqlite3_step(q);
	sqlite3_finalize(q);
	return r == SQLITE_DONE ? 0 : mt_store__err(s, err, "writing");
}

static int kv_get(store_sqlite *s, const char *sql, const char *key, char **out, mt_error *err)
{
	*out = NULL;
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "reading");
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

int mt_store__sq_note_set(mt_store_backend *be, const char *node_id, const char *note,
			  mt_error *err)
{
	return kv_set(mt_store__sq(be), "notes", "node_id", node_id, note, err);
}

int mt_store__sq_note_get(mt_store_backend *be, const char *node_id, char **out, mt_error *err)
{
	return kv_get(mt_store__sq(be), "SELECT note FROM notes WHERE node_id=?", node_id, out,
		      err);
}

int mt_store__sq_config_set(mt_store_backend *be, const char *key, const char *value, mt_error *err)
{
	return kv_set(mt_store__sq(be), "config", "key", key, value, err);
}

int mt_store__sq_config_get(mt_store_backend *be, const char *key, char **out, mt_error *err)
{
	return kv_get(mt_store__sq(be), "SELECT value FROM config WHERE key=?", key, out, err);
}


/* ---- names (SPEC §9.5): local petnames, one per ID ------------------------ */

/* The one text column of the row `sql` selects with `key` bound, copied into
 * out[cap] (truncated; "" when there is no row). 1 when there is a row. */
static int kv_text(store_sqlite *s, const char *sql, const char *key, char *out, size_t cap,
		   mt_error *err)
{
	out[0] = 0;
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "reading");
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	int r = sqlite3_step(q), rc = 0;
	if (r == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(q, 0);
		snprintf(out, cap, "%s", t ? t : "");
		rc = 1;
	} else if (r != SQLITE_DONE) {
		rc = mt_store__err(s, err, "reading");
	}
	sqlite3_finalize(q);
	return rc;
}

int mt_store__sq_name_set(mt_store_backend *be, const char *node_id, const char *name,
			  mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	char owner[MT_NODE_ID_MAX];
	int rc = kv_text(s, "SELECT node_id FROM names WHERE name=?", name, owner, sizeof owner,
			 err);
	if (rc < 0)
		return rc;
	if (rc == 1 && strcmp(owner, node_id) != 0)
		return mt_error_set(err, MT_EEXISTS, "store: the name '%s' is already %s's", name,
				    owner);
	/* REPLACE also drops the ID's previous name (node_id is UNIQUE). */
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO names(name, node_id) VALUES(?,?)",
			       -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "writing");
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, node_id, -1, SQLITE_STATIC);
	int r = sqlite3_step(q);
	sqlite3_finalize(q);
	return r == SQLITE_DONE ? 0 : mt_store__err(s, err, "writing");
}

int mt_store__sq_name_get(mt_store_backend *be, const char *node_id, char out[MT_NAME_MAX],
			  mt_error *err)
{
	int rc = kv_text(mt_store__sq(be), "SELECT name FROM names WHERE node_id=?", node_id, out,
			 MT_NAME_MAX, err);
	return rc < 0 ? rc : 0;
}

int mt_store__sq_name_lookup(mt_store_backend *be, const char *name, char out[MT_NODE_ID_MAX],
			     mt_error *err)
{
	int rc = kv_text(mt_store__sq(be), "SELECT node_id FROM names WHERE name=?", name, out,
			 MT_NODE_ID_MAX, err);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return mt_error_set(err, MT_ENOTFOUND, "no name '%.40s' (see `mesh name list`)",
				    name);
	return 0;
}

int mt_store__sq_name_remove(mt_store_backend *be, const char *key, int *removed, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, "DELETE FROM names WHERE name=?1 OR node_id=?1", -1, &q,
			       NULL) != SQLITE_OK)
		return mt_store__err(s, err, "writing");
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	int r = sqlite3_step(q);
	sqlite3_finalize(q);
	if (r != SQLITE_DONE)
		return mt_store__err(s, err, "writing");
	if (removed)
		*removed = sqlite3_changes(s->db) > 0;
	return 0;
}

int mt_store__sq_names(mt_store_backend *be, mt_name_visit_fn fn, void *payload, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT name, node_id FROM names ORDER BY name", -1, &q,
			       NULL) != SQLITE_OK)
		return mt_store__err(s, err, "reading");
	int r, rc = 0;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		rc = fn((const char *)sqlite3_column_text(q, 0),
			(const char *)sqlite3_column_text(q, 1), payload);
		if (rc)
			break;
	}
	if (!rc && r != SQLITE_DONE)
		rc = mt_store__err(s, err, "reading");
	sqlite3_finalize(q);
	return rc;
}

/* ---- revision 5: peer removal, listings ----------------------------------- */

int mt_store__sq_peer_remove(mt_store_backend *be, const char *url, int *removed, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, "DELETE FROM node_peers WHERE url=?1", -1, &q, NULL) !=
	    SQLITE_OK)
		return mt_store__err(s, err, "writing");
	sqlite3_bind_text(q, 1, url, -1, SQLITE_STATIC);
	int r = sqlite3_step(q);
	sqlite3_finalize(q);
	if (r != SQLITE_DONE)
		return mt_store__err(s, err, "writing");
	if (removed)
		*removed = sqlite3_changes(s->db) > 0;
	return 0;
}

/* Visit the (key, value) rows `sql` selects. */
static int kv_list(store_sqlite *s, const char *sql, mt_kv_visit_fn fn, void *payload,
		   mt_error *err)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "reading");
	int r, rc = 0;
	while (!rc && (r = sqlite3_step(q)) == SQLITE_ROW)
		rc = fn((const char *)sqlite3_column_text(q, 0),
			(const char *)sqlite3_column_text(q, 1), payload);
	if (!rc && r != SQLITE_DONE)
		rc = mt_store__err(s, err, "reading");
	sqlite3_finalize(q);
	return rc;
}

int mt_store__sq_notes(mt_store_backend *be, mt_kv_visit_fn fn, void *payload, mt_error *err)
{
	return kv_list(mt_store__sq(be), "SELECT node_id, note FROM notes ORDER BY node_id", fn,
		       payload, err);
}

int mt_store__sq_configs(mt_store_backend *be, mt_kv_visit_fn fn, void *payload, mt_error *err)
{
	return kv_list(mt_store__sq(be), "SELECT key, value FROM config ORDER BY key", fn, payload,
		       err);
}
