/* Projection: declared bridges, (issuer, scope) per scope of a `bridge`
 * statement (SPEC §2; observational). Read by mt_store_bridges. */
#include "store_int.h"

static const char *const SCHEMA[] = {
	"CREATE TABLE bridges(iss TEXT NOT NULL, scope TEXT NOT NULL, seq INTEGER NOT NULL,"
	"  PRIMARY KEY(iss, scope)) WITHOUT ROWID;",
	NULL,
};

static const char BRIDGE_PUT[] = "INSERT OR REPLACE INTO bridges(iss,scope,seq) VALUES(?,?,?)";

static int bridges_apply(store_sqlite *s, const mt_stmt *st, mt_error *err)
{
	size_t n = 0;
	const char *x = mt_stmt_list(st, "scopes", &n);
	for (size_t i = 0; i < n; i++, x = mt_stmt_list_next(x)) {
		sqlite3_stmt *q;
		int rc = mt_store__query(s, &q, BRIDGE_PUT, err);
		if (rc)
			return rc;
		sqlite3_bind_text(q, 1, st->iss, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, x, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, (sqlite3_int64)st->seq);
		if ((rc = mt_store__step_done(s, q, err, "writing bridge")))
			return rc;
	}
	return 0;
}

static int bridges_reset(store_sqlite *s, mt_error *err)
{
	return mt_store__run(s, "DELETE FROM bridges", NULL, err);
}

static int bridges_forget(store_sqlite *s, const char *iss, mt_error *err)
{
	return mt_store__run(s, "DELETE FROM bridges WHERE iss=?1", iss, err);
}

/* Every row comes from an applied bridge statement of its issuer at its seq. */
static int bridges_check(store_sqlite *s, mt_proj_report_fn report, void *payload, mt_error *err)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT b.iss || ' ' || b.scope FROM bridges b WHERE NOT EXISTS "
			       "(SELECT 1 FROM statements t WHERE t.iss = b.iss AND t.seq = b.seq AND "
			       "t.applied = 1 AND t.type = 'bridge') ORDER BY b.iss, b.scope",
			       -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "checking bridges");
	while (sqlite3_step(q) == SQLITE_ROW)
		report(payload, (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	return 0;
}

static const char *const TYPES[] = {"bridge", NULL};

static const char *const DUMP[][2] = {
	{"bridges", "SELECT iss, scope, seq FROM bridges ORDER BY 1,2"},
	{NULL, NULL},
};

const mt_projection mt_proj_bridges = {
	.name = "bridges",
	.schema = SCHEMA,
	.since = 1,
	.types = TYPES,
	.apply = bridges_apply,
	.reset = bridges_reset,
	.forget = bridges_forget,
	.check = bridges_check,
	.dump = DUMP,
};
