/* Projection: the current edges. A `trust` sets the edge (iss, target,
 * scope), a `revoke` removes it; statements apply in seq order, so the
 * highest seq wins (SPEC §2). Read by mt_store_edges / mt_store_edge_get. */
#include <string.h>

#include "store_int.h"

static const char *const SCHEMA[] = {
	"CREATE TABLE edges(iss TEXT NOT NULL, target TEXT NOT NULL, scope TEXT NOT NULL,"
	"  seq INTEGER NOT NULL, level INTEGER NOT NULL, score INTEGER NOT NULL,"
	"  exp INTEGER NOT NULL, graph TEXT NOT NULL, stmt BLOB NOT NULL,"
	"  PRIMARY KEY(iss, target, scope)) WITHOUT ROWID;",
	NULL,
};

static const char EDGE_PUT[] =
	"INSERT OR REPLACE INTO edges(iss,target,scope,seq,level,score,exp,graph,stmt) "
	"VALUES(?,?,?,?,?,?,?,?,?)";
static const char EDGE_DEL[] = "DELETE FROM edges WHERE iss=? AND target=? AND scope=?";

int mt_store__trust_level(const mt_stmt *st)
{
	const char *level = mt_stmt_str(st, "level");
	return strcmp(level, "full") == 0      ? MT_LEVEL_FULL
	       : strcmp(level, "limited") == 0 ? MT_LEVEL_LIMITED
					       : MT_LEVEL_NONE;
}

static int edges_apply(store_sqlite *s, const mt_stmt *st, mt_error *err)
{
	sqlite3_stmt *q;
	int rc;
	if (st->type == MT_ST_REVOKE) {
		if ((rc = mt_store__query(s, &q, EDGE_DEL, err)))
			return rc;
		sqlite3_bind_text(q, 1, st->iss, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, mt_stmt_str(st, "target"), -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, mt_stmt_str(st, "scope"), -1, SQLITE_STATIC);
		return mt_store__step_done(s, q, err, "removing edge");
	}
	if ((rc = mt_store__query(s, &q, EDGE_PUT, err)))
		return rc;
	const char *scope = mt_stmt_str(st, "scope");
	const char *graph = mt_stmt_str(st, "graph");
	sqlite3_bind_text(q, 1, st->iss, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, mt_stmt_str(st, "target"), -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, scope ? scope : "global", -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)st->seq);
	sqlite3_bind_int(q, 5, mt_store__trust_level(st));
	sqlite3_bind_int64(q, 6, mt_stmt_int(st, "score", 1000));
	sqlite3_bind_int64(q, 7, mt_stmt_int(st, "exp", 0));
	sqlite3_bind_text(q, 8, graph ? graph : "social", -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 9, st->id, 32, SQLITE_STATIC);
	return mt_store__step_done(s, q, err, "writing edge");
}

static int edges_reset(store_sqlite *s, mt_error *err)
{
	return mt_store__run(s, "DELETE FROM edges", NULL, err);
}

static int edges_forget(store_sqlite *s, const char *iss, mt_error *err)
{
	return mt_store__run(s, "DELETE FROM edges WHERE iss=?1", iss, err);
}

/* Every edge comes from an applied trust statement of its issuer, at its seq. */
static int edges_check(store_sqlite *s, mt_proj_report_fn report, void *payload, mt_error *err)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT e.iss || ' -> ' || e.target || ' in ' || e.scope FROM edges e "
			       "LEFT JOIN statements t ON t.id = e.stmt WHERE t.id IS NULL OR "
			       "t.applied = 0 OR t.type <> 'trust' OR t.iss <> e.iss OR t.seq <> e.seq "
			       "ORDER BY e.iss, e.target, e.scope",
			       -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "checking edges");
	while (sqlite3_step(q) == SQLITE_ROW)
		report(payload, (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	return 0;
}

static const char *const TYPES[] = {"trust", "revoke", NULL};

static const char *const DUMP[][2] = {
	{"edges", "SELECT iss, target, scope, seq, level, score, exp, graph, hex(stmt) FROM edges "
		  "ORDER BY 1,2,3"},
	{NULL, NULL},
};

const mt_projection mt_proj_edges = {
	.name = "edges",
	.schema = SCHEMA,
	.since = 1,
	.types = TYPES,
	.apply = edges_apply,
	.reset = edges_reset,
	.forget = edges_forget,
	.check = edges_check,
	.dump = DUMP,
};
