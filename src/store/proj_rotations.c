/* Projection: key rotations, old ID -> new ID (SPEC §2 `rotate`). Edges to
 * the old ID count for the new one (mt_store_edges redirects them). That
 * the old key's later statements take no effect is a feed rule, kept in
 * store_feed.c with the other rules. */
#include "store_int.h"

static const char *const SCHEMA[] = {
	"CREATE TABLE rotations(old TEXT PRIMARY KEY, new TEXT NOT NULL, stmt BLOB NOT NULL)"
	"  WITHOUT ROWID;",
	NULL,
};

static const char ROT_PUT[] = "INSERT OR REPLACE INTO rotations(old,new,stmt) VALUES(?,?,?)";

static int rotations_apply(store_sqlite *s, const mt_stmt *st, mt_error *err)
{
	sqlite3_stmt *q;
	int rc = mt_store__query(s, &q, ROT_PUT, err);
	if (rc)
		return rc;
	sqlite3_bind_text(q, 1, st->iss, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, mt_stmt_str(st, "new"), -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 3, st->id, 32, SQLITE_STATIC);
	return mt_store__step_done(s, q, err, "writing rotation");
}

static int rotations_reset(store_sqlite *s, mt_error *err)
{
	return mt_store__run(s, "DELETE FROM rotations", NULL, err);
}

static int rotations_forget(store_sqlite *s, const char *iss, mt_error *err)
{
	return mt_store__run(s, "DELETE FROM rotations WHERE old=?1", iss, err);
}

/* Every rotation comes from an applied rotate of the old ID naming the new. */
static int rotations_check(store_sqlite *s, mt_proj_report_fn report, void *payload,
			   mt_error *err)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT r.old || ' -> ' || r.new FROM rotations r LEFT JOIN "
			       "statements t ON t.id = r.stmt WHERE t.id IS NULL OR t.applied = 0 OR "
			       "t.type <> 'rotate' OR t.iss <> r.old ORDER BY r.old",
			       -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "checking rotations");
	while (sqlite3_step(q) == SQLITE_ROW)
		report(payload, (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	return 0;
}

static const char *const TYPES[] = {"rotate", NULL};

static const char *const DUMP[][2] = {
	{"rotations", "SELECT old, new, hex(stmt) FROM rotations ORDER BY 1"},
	{NULL, NULL},
};

const mt_projection mt_proj_rotations = {
	.name = "rotations",
	.schema = SCHEMA,
	.since = 1,
	.types = TYPES,
	.apply = rotations_apply,
	.reset = rotations_reset,
	.forget = rotations_forget,
	.check = rotations_check,
	.dump = DUMP,
};
