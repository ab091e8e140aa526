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

