/* Projection: lessons and their full-text index (SPEC §2 `lesson`;
 * searched by src/search). `lessons_fts` is an FTS5 index over `lessons`
 * (external content), kept in step by triggers; `lessons_vocab` reads it
 * back for the dump. Since schema version 2. */
#include <stdio.h>
#include <stdlib.h>

#include "store_int.h"

static const char *const SCHEMA[] = {
	"CREATE TABLE lessons(rowid INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE,"
	"  author TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL, title TEXT NOT NULL,"
	"  topics TEXT NOT NULL, body TEXT NOT NULL);",
	"CREATE INDEX lessons_author ON lessons(author);",
	"CREATE VIRTUAL TABLE lessons_fts USING fts5(title, body, topics, content='lessons',"
	"  content_rowid='rowid', tokenize='unicode61 remove_diacritics 2');",
	"CREATE VIRTUAL TABLE lessons_vocab USING fts5vocab(lessons_fts, instance);",
	"CREATE TRIGGER lessons_ai AFTER INSERT ON lessons BEGIN"
	"  INSERT INTO lessons_fts(rowid, title, body, topics) VALUES (new.rowid, new.title,"
	"  new.body, new.topics); END;",
	"CREATE TRIGGER lessons_ad AFTER DELETE ON lessons BEGIN"
	"  INSERT INTO lessons_fts(lessons_fts, rowid, title, body, topics) VALUES('delete',"
	"  old.rowid, old.title, old.body, old.topics); END;",
	NULL,
};

static const char LESSON_PUT[] =
	"INSERT OR IGNORE INTO lessons(id,author,seq,ts,title,topics,body) VALUES(?,?,?,?,?,?,?)";

static int lessons_apply(store_sqlite *s, const mt_stmt *st, mt_error *err)
{
	char *topics = NULL;
	int rc = mt_store__lesson_topics(st, &topics, err);
	if (rc)
		return rc;
	sqlite3_stmt *q;
	if (!(rc = mt_store__query(s, &q, LESSON_PUT, err))) {
		sqlite3_bind_blob(q, 1, st->id, 32, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, st->iss, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, (sqlite3_int64)st->seq);
		sqlite3_bind_int64(q, 4, st->ts);
		sqlite3_bind_text(q, 5, mt_stmt_str(st, "title"), -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 6, topics, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(q, 7, mt_stmt_str(st, "body"), -1, SQLITE_STATIC);
		rc = mt_store__step_done(s, q, err, "indexing lesson");
	}
	free(topics);
	return rc;
}

/* The triggers take each row out of the index; 'delete-all' then clears
 * whatever an index that no longer matched its rows still held, so a
 * rebuild also repairs the index. */
static int lessons_reset(store_sqlite *s, mt_error *err)
{
	int rc = mt_store__run(s, "DELETE FROM lessons", NULL, err);
	return rc ? rc
		  : mt_store__run(s, "INSERT INTO lessons_fts(lessons_fts) VALUES('delete-all')",
				  NULL, err);
}

static int lessons_forget(store_sqlite *s, const char *iss, mt_error *err)
{
	return mt_store__run(s, "DELETE FROM lessons WHERE author=?1", iss, err);
}

/* Every lesson is an applied lesson statement of its author, and the FTS5
 * index matches the table (FTS5's own integrity-check, content included). */
static int lessons_check(store_sqlite *s, mt_proj_report_fn report, void *payload, mt_error *err)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT 'lesson ' || hex(l.id) FROM lessons l LEFT JOIN statements t "
			       "ON t.id = l.id WHERE t.id IS NULL OR t.applied = 0 OR "
			       "t.type <> 'lesson' OR t.iss <> l.author ORDER BY l.id",
			       -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "checking lessons");
	while (sqlite3_step(q) == SQLITE_ROW)
		report(payload, (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	char *msg = NULL;
	if (sqlite3_exec(s->db,
			 "INSERT INTO lessons_fts(lessons_fts, rank) VALUES('integrity-check', 1)",
			 NULL, NULL, &msg) != SQLITE_OK) {
		int code = sqlite3_errcode(s->db);
		if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
			sqlite3_free(msg);
			return mt_store__err(s, err, "checking the lesson index");
		}
		char line[320];
		snprintf(line, sizeof line,
			 "lessons_fts: the index does not match the lessons (%s)",
			 msg ? msg : "integrity-check failed");
		report(payload, line);
	}
	sqlite3_free(msg);
	return 0;
}

static const char *const TYPES[] = {"lesson", NULL};

static const char *const DUMP[][2] = {
	{"lessons", "SELECT hex(id), author, seq, ts, title, topics, body FROM lessons ORDER BY 1"},
	{"lessons_fts", "SELECT v.term, hex(l.id), v.col, v.offset FROM lessons_vocab v JOIN lessons l "
			"ON l.rowid = v.doc ORDER BY 1, 2, 3, 4"},
	{NULL, NULL},
};

const mt_projection mt_proj_lessons = {
	.name = "lessons",
	.schema = SCHEMA,
	.since = 2,
	.types = TYPES,
	.apply = lessons_apply,
	.reset = lessons_reset,
	.forget = lessons_forget,
	.check = lessons_check,
	.dump = DUMP,
};
