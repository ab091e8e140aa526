/* Matching lessons (the `lessons` projection's FTS5 index, proj_lessons.c)
 * and the federated search's overlay: lessons of peers indexed inside a
 * savepoint that is always rolled back, so their relevance comes from one
 * corpus with the held ones and nothing of them stays. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* The literal FTS5 expression of the words: each a quoted phrase (a quote
 * inside doubled), separated by spaces, so that no word is an operator
 * ("AND", "NEAR(", "*", '"' are text). *out malloc'd. */
static int fts_phrases(char **out, const char *const *words, size_t n, mt_error *err)
{
	size_t len = 1;
	for (size_t i = 0; i < n; i++)
		len += 2 * strlen(words[i]) + 3;
	char *buf = malloc(len), *o = buf;
	if (!buf)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (i)
			*o++ = ' ';
		*o++ = '"';
		for (const char *c = words[i]; *c; c++) {
			if (*c == '"')
				*o++ = '"';
			*o++ = *c;
		}
		*o++ = '"';
	}
	*o = '\0';
	*out = buf;
	return 0;
}

int mt_store__has_topic(const char *topics, const char *topic)
{
	json_t *a = json_loads(topics, 0, NULL);
	int found = 0;
	size_t i;
	json_t *t;
	json_array_foreach(a, i, t) if (json_is_string(t) && strcmp(json_string_value(t), topic) == 0)
		found = 1;
	json_decref(a);
	return found;
}

/* A lessons row (id, author, title, topics, ts: the first five columns) into
 * *l, strings borrowed from the row. 0 when the row is skipped: not on
 * `topic` (when given), or its id is not 32 bytes (never written so). */
static int row_lesson(sqlite3_stmt *q, const char *topic, mt_store_lesson *l)
{
	l->topics = (const char *)sqlite3_column_text(q, 3);
	if (topic && !mt_store__has_topic(l->topics, topic))
		return 0;
	if (sqlite3_column_bytes(q, 0) != 32)
		return 0;
	memcpy(l->id, sqlite3_column_blob(q, 0), 32);
	l->author = (const char *)sqlite3_column_text(q, 1);
	l->title = (const char *)sqlite3_column_text(q, 2);
	l->ts = sqlite3_column_int64(q, 4);
	return 1;
}

/* relevance = -bm25(...): FTS5's bm25 is the negated Okapi BM25 score that
 * store.h describes (k1 1.2, b 0.75; the weights are the columns' in order:
 * title, body, topics). */
static const char MATCH[] = "SELECT l.id, l.author, l.title, l.topics, l.ts, "
			    "bm25(lessons_fts, 3.0, 1.0, 2.0) FROM lessons_fts "
			    "JOIN lessons l ON l.rowid = lessons_fts.rowid "
			    "WHERE lessons_fts MATCH ?";

int mt_store__sq_lessons_match(mt_store_backend *be, const char *const *words, size_t n_words,
			       const char *topic, mt_lesson_visit_fn fn, void *payload,
			       uint64_t *matched, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	char *expr = NULL;
	sqlite3_stmt *q;
	int rc = fts_phrases(&expr, words, n_words, err);
	if (rc)
		return rc;
	if ((rc = mt_store__query(s, &q, MATCH, err))) {
		free(expr);
		return rc;
	}
	sqlite3_bind_text(q, 1, expr, -1, SQLITE_STATIC);
	uint64_t count = 0;
	int r;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		count++;
		if (rc)
			continue; /* the callback stopped: only counting now */
		mt_store_lesson l;
		if (!row_lesson(q, topic, &l))
			continue;
		l.relevance = -sqlite3_column_double(q, 5);
		rc = fn(&l, payload);
	}
	if (r != SQLITE_DONE && !rc)
		rc = mt_store__err(s, err, "matching lessons");
	sqlite3_reset(q);
	free(expr);
	if (matched)
		*matched = count;
	return rc;
}

static const char OF_ALL[] = "SELECT id, author, title, topics, ts FROM lessons "
			     "ORDER BY ts DESC, id";
static const char OF_AUTHOR[] = "SELECT id, author, title, topics, ts FROM lessons "
				"WHERE author = ? ORDER BY ts DESC, id";

int mt_store__sq_lessons_of(mt_store_backend *be, const char *author, const char *topic,
			    uint64_t limit, mt_lesson_visit_fn fn, void *payload, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	sqlite3_stmt *q;
	int rc = mt_store__query(s, &q, author ? OF_AUTHOR : OF_ALL, err);
	if (rc)
		return rc;
	if (author)
		sqlite3_bind_text(q, 1, author, -1, SQLITE_STATIC);
	uint64_t n = 0;
	int r = SQLITE_DONE;
	while ((!limit || n < limit) && (r = sqlite3_step(q)) == SQLITE_ROW) {
		mt_store_lesson l;
		if (!row_lesson(q, topic, &l))
			continue;
		l.relevance = 0;
		n++;
		if ((rc = fn(&l, payload)))
			break;
	}
	if (!rc && limit && n >= limit)
		r = SQLITE_DONE;
	if (!rc && r != SQLITE_DONE)
		rc = mt_store__err(s, err, "listing lessons");
	sqlite3_reset(q);
	return rc;
}

static const char INDEXED[] = "SELECT 1 FROM lessons WHERE id = ?";

int mt_store__lesson_indexed(store_sqlite *s, const unsigned char id[32], int *yes, mt_error *err)
{
	sqlite3_stmt *q;
	int rc = mt_store__query(s, &q, INDEXED, err);
	if (rc)
		return rc;
	sqlite3_bind_blob(q, 1, id, 32, SQLITE_STATIC);
	int r = sqlite3_step(q);
	sqlite3_reset(q);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return mt_store__err(s, err, "reading the lesson index");
	*yes = r == SQLITE_ROW;
	return 0;
}

int mt_store__lesson_topics(const mt_stmt *st, char **out, mt_error *err)
{
	json_t *tj = NULL;
	*out = NULL;
	int rc = mt_stmt_member(st, "topics", &tj, err);
	if (rc)
		return rc;
	*out = tj ? json_dumps(tj, JSON_COMPACT) : NULL;
	json_decref(tj);
	return *out ? 0 : mt_error_set(err, MT_ENOMEM, "out of memory");
}

/* Inside a savepoint, lessons not indexed yet go into `lessons` (whose
 * triggers index them in `lessons_fts`) as the projection would apply them;
 * mt_store__sq_lessons_overlay_end rolls the savepoint back. */
int mt_store__sq_lessons_overlay_begin(mt_store_backend *be, const mt_stmt *const *lessons,
				       size_t n, unsigned char *indexed, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	if (s->overlay)
		return mt_error_set(err, MT_EINVAL, "store: a lesson overlay is already open");
	int rc = mt_store__exec(s, "SAVEPOINT mt_lesson_overlay", err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n && !rc; i++) {
		int yes;
		if ((rc = mt_store__lesson_indexed(s, lessons[i]->id, &yes, err)))
			break;
		if (indexed)
			indexed[i] = (unsigned char)yes;
		if (!yes)
			rc = mt_proj_lessons.apply(s, lessons[i], err);
	}
	if (rc) {
		mt_store__exec(s, "ROLLBACK TO mt_lesson_overlay; RELEASE mt_lesson_overlay", NULL);
		return rc;
	}
	s->overlay = 1;
	return 0;
}

void mt_store__sq_lessons_overlay_end(mt_store_backend *be)
{
	store_sqlite *s = mt_store__sq(be);
	if (!s->overlay)
		return;
	mt_store__exec(s, "ROLLBACK TO mt_lesson_overlay; RELEASE mt_lesson_overlay", NULL);
	s->overlay = 0;
}
