/* Projection: the revocations in force, (iss, target, scope) -> the revoke.
 * An edge carried from a rotated-away ID counts as its successor's until the
 * successor issues its own for that (target, scope) (SPEC §9.2): its own
 * trust wins in mt_store_edges as a direct edge; its own revoke is found
 * here. A later trust of the same key leaves the row, which then no longer
 * matters (the direct edge wins). */
#include "store_int.h"

static const char *const SCHEMA[] = {
	"CREATE TABLE revokes(iss TEXT NOT NULL, target TEXT NOT NULL, scope TEXT NOT NULL,"
	"  seq INTEGER NOT NULL, stmt BLOB NOT NULL, PRIMARY KEY(iss, target, scope))"
	"  WITHOUT ROWID;",
	NULL,
};

static const char PUT[] = "INSERT OR REPLACE INTO revokes(iss,target,scope,seq,stmt) "
			  "VALUES(?,?,?,?,?)";

static int revokes_apply(store_sqlite *s, const mt_stmt *st, mt_error *err)
{
	sqlite3_stmt *q;
	int rc = mt_store__query(s, &q, PUT, err);
	if (rc)
		return rc;
	sqlite3_bind_text(q, 1, st->iss, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, mt_stmt_str(st, "target"), -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, mt_stmt_str(st, "scope"), -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)st->seq);
	sqlite3_bind_blob(q, 5, st->id, 32, SQLITE_STATIC);
	return mt_store__step_done(s, q, err, "writing revoke");
}

static int revokes_reset(store_sqlite *s, mt_error *err)
{
	return mt_store__run(s, "DELETE FROM revokes", NULL, err);
}

static int revokes_forget(store_sqlite *s, const char *iss, mt_error *err)
{
	return mt_store__run(s, "DELETE FROM revokes WHERE iss=?1", iss, err);
}

/* Every row comes from an applied revoke of its issuer, at its seq. */
static int revokes_check(store_sqlite *s, mt_proj_report_fn report, void *payload, mt_error *err)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT r.iss || ' revokes ' || r.target || ' in ' || r.scope FROM "
			       "revokes r LEFT JOIN statements t ON t.id = r.stmt WHERE t.id IS NULL "
			       "OR t.applied = 0 OR t.type <> 'revoke' OR t.iss <> r.iss OR "
			       "t.seq <> r.seq ORDER BY r.iss, r.target, r.scope",
			       -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "checking revokes");
	while (sqlite3_step(q) == SQLITE_ROW)
		report(payload, (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	return 0;
}

static const char *const TYPES[] = {"revoke", NULL};

static const char *const DUMP[][2] = {
	{"revokes", "SELECT iss, target, scope, seq, hex(stmt) FROM revokes ORDER BY 1,2,3"},
	{NULL, NULL},
};

const mt_projection mt_proj_revokes = {
	.name = "revokes",
	.schema = SCHEMA,
	.since = 5,
	.types = TYPES,
	.apply = revokes_apply,
	.reset = revokes_reset,
	.forget = revokes_forget,
	.check = revokes_check,
	.dump = DUMP,
};
