/* The PostgreSQL backend's lesson search: PostgreSQL full-text search over
 * `lesson_text` (every lesson held), filtered to the lessons that take
 * effect (the derivation's `lessons` projection) or an open overlay.
 *
 * Text is folded by mt_fold() (lower case, unaccent, every run of other
 * than letters and digits one space), so a token is a maximal run of
 * letters and digits without case or diacritics, as store.h promises. The
 * document is title (weight A), topics (B) and body (C); a word is a phrase
 * of its tokens restricted to one weight, so it never matches across the
 * end of one field and the start of the next. docs/search.md has the
 * ranking. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"

int mt_pg__lesson_put(store_pg *p, const mt_stmt *st, mt_error *err)
{
	char *topics = NULL;
	int rc = mt_store__lesson_topics(st, &topics, err);
	if (rc)
		return rc;
	const char *title = mt_stmt_str(st, "title"), *body = mt_stmt_str(st, "body");
	pgp a = {0};
	mt_pg__bytes(&a, st->id, 32);
	mt_pg__text(&a, st->iss);
	mt_pg__text(&a, title ? title : "");
	mt_pg__text(&a, topics);
	mt_pg__i64(&a, st->ts);
	mt_pg__text(&a, body ? body : "");
	rc = mt_pg__q(p, NULL,
		      "INSERT INTO lesson_text(id, author, title, topics, ts, doc) "
		      "VALUES($1, $2, $3, $4, $5, "
		      "setweight(to_tsvector('simple', mt_fold($3)), 'A') || "
		      "setweight(to_tsvector('simple', mt_fold($4)), 'B') || "
		      "setweight(to_tsvector('simple', mt_fold($6)), 'C')) "
		      "ON CONFLICT(id) DO NOTHING",
		      &a, "indexing a lesson", err);
	free(topics);
	return rc;
}

/* Append to a growing string; returns 0 or MT_ENOMEM. */
static int cat(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);
	if (*len + n + 1 > *cap) {
		size_t c = (*cap ? *cap * 2 : 256) + n;
		char *b = realloc(*buf, c);
		if (!b)
			return MT_ENOMEM;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, s, n + 1);
	*len += n;
	return 0;
}

/* The tsquery text of the folded words: per word with tokens,
 * ('t1':A <-> 't2':A | … :B | … :C), words joined by &. Folded tokens hold
 * letters and digits only, so quoting cannot be escaped. *out NULL when no
 * word has a token. */
static int build_query(char **out, const PGresult *folded, mt_error *err)
{
	static const char *const W[] = {"A", "B", "C"};
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int words = 0, bad = 0;
	*out = NULL;
	for (int i = 0; i < PQnfields(folded) && !bad; i++) {
		const char *f = mt_pg__text_at(folded, 0, i);
		if (!*f)
			continue; /* no token: ignored */
		bad |= cat(&buf, &len, &cap, words++ ? " & (" : "(");
		for (int w = 0; w < 3 && !bad; w++) {
			if (w)
				bad |= cat(&buf, &len, &cap, " | ");
			const char *t = f;
			int first = 1;
			while (*t && !bad) {
				size_t n = strcspn(t, " ");
				if (n) {
					char tok[512];
					if (n > 400)
						n = 400; /* longer than any lexeme PostgreSQL keeps */
					for (size_t k = 0; k < n; k++)
						if (t[k] == '\'' || t[k] == '\\' || t[k] == ':')
							return mt_error_set(err, MT_EIO,
									    "store: a folded word holds "
									    "punctuation");
					snprintf(tok, sizeof tok, "%s'%.*s':%s", first ? "" : " <-> ",
						 (int)n, t, W[w]);
					bad |= cat(&buf, &len, &cap, tok);
					first = 0;
				}
				t += n;
				t += strspn(t, " ");
			}
		}
		bad |= cat(&buf, &len, &cap, ")");
	}
	if (bad) {
		free(buf);
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	}
	*out = words ? buf : (free(buf), NULL);
	return 0;
}

static int in_overlay(const store_pg *p, const unsigned char id[32])
{
	for (size_t i = 0; i < p->ov_n; i++)
		if (memcmp(p->ov_ids[i], id, 32) == 0)
			return 1;
	return 0;
}

static double f8_at(const PGresult *r, int row, int col)
{
	if (PQgetlength(r, row, col) != 8)
		return 0;
	const unsigned char *b = (const unsigned char *)PQgetvalue(r, row, col);
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	double d;
	memcpy(&d, &v, sizeof d);
	return d;
}

int mt_pg__lessons_match(mt_store_backend *be, const char *const *words, size_t n_words,
			 const char *topic, mt_lesson_visit_fn fn, void *payload,
			 uint64_t *matched, mt_error *err)
{
	store_pg *p = mt_store__pg(be);
	if (matched)
		*matched = 0;
	if (n_words > PGP_MAX)
		return mt_error_set(err, MT_EINVAL, "store: at most %d words", PGP_MAX);
	int rc = mt_pg__sync(p, err);
	if (rc)
		return rc;
	/* fold the words on the server, with the documents' own function */
	char sql[64 + PGP_MAX * 24];
	size_t o = (size_t)snprintf(sql, sizeof sql, "SELECT ");
	pgp a = {0};
	for (size_t i = 0; i < n_words; i++) {
		o += (size_t)snprintf(sql + o, sizeof sql - o, "%smt_fold($%zu)", i ? ", " : "",
				      i + 1);
		mt_pg__text(&a, words[i]);
	}
	PGresult *r = NULL;
	char *query = NULL;
	if ((rc = mt_pg__q(p, &r, sql, &a, "matching lessons", err)))
		return rc;
	rc = PQntuples(r) == 1 ? build_query(&query, r, err)
			       : mt_error_set(err, MT_EIO, "store: folding the words");
	PQclear(r);
	if (rc || !query)
		return rc; /* every word without a token: nothing matches */
	pgp b = {0};
	mt_pg__text(&b, query);
	rc = mt_pg__q(p, &r,
		      "SELECT id, author, title, topics, ts, "
		      "greatest(ts_rank('{0.1, 0.333, 0.667, 1.0}', doc, q), 1e-9)::float8 "
		      "FROM lesson_text, to_tsquery('simple', $1) q WHERE doc @@ q",
		      &b, "matching lessons", err);
	free(query);
	if (rc)
		return rc;
	uint64_t count = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		mt_store_lesson l;
		int yes = 0;
		int bad = mt_pg__id_at(r, i, 0, l.id, err) || mt_pg__i64_at(r, i, 4, &l.ts, err);
		if (bad) {
			rc = MT_EIO;
			break;
		}
		/* only lessons that take effect (or the overlay's) */
		if (!in_overlay(p, l.id)) {
			int e = mt_store__lesson_indexed(mt_store__sq(p->der), l.id, &yes, err);
			if (e) {
				rc = e;
				break;
			}
			if (!yes)
				continue;
		}
		count++;
		if (rc)
			continue; /* the callback stopped: only counting now */
		l.author = mt_pg__text_at(r, i, 1);
		l.title = mt_pg__text_at(r, i, 2);
		l.topics = mt_pg__text_at(r, i, 3);
		l.relevance = f8_at(r, i, 5);
		if (!(l.relevance > 0))
			l.relevance = 1e-9;
		if (topic && !mt_store__has_topic(l.topics, topic))
			continue;
		rc = fn(&l, payload);
	}
	PQclear(r);
	if (matched)
		*matched = count;
	return rc;
}

/* Inside a PostgreSQL transaction that is always rolled back, lessons that
 * do not take effect here are written to lesson_text and remembered, so the
 * match filter lets them through until the end. */
int mt_pg__lessons_overlay_begin(mt_store_backend *be, const mt_stmt *const *lessons, size_t n,
				 unsigned char *indexed, mt_error *err)
{
	store_pg *p = mt_store__pg(be);
	if (p->overlay)
		return mt_error_set(err, MT_EINVAL, "store: a lesson overlay is already open");
	int rc = mt_pg__sync(p, err);
	if (rc)
		return rc;
	free(p->ov_ids);
	p->ov_n = 0;
	p->ov_ids = n ? calloc(n, 32) : NULL;
	if (n && !p->ov_ids)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	/* inside a caller's transaction, a savepoint of it (left open after) */
	if ((rc = mt_pg__q(p, NULL, p->in_tx ? "SAVEPOINT mt_lesson_overlay" : "BEGIN", NULL,
			   "lesson overlay", err)))
		return rc;
	p->overlay = p->in_tx ? 2 : 1;
	p->pg_tx = 1;
	for (size_t i = 0; i < n && !rc; i++) {
		int yes = 0;
		if (lessons[i]->type != MT_ST_LESSON) {
			rc = mt_error_set(err, MT_EINVAL, "store: the overlay takes lessons only");
			break;
		}
		if ((rc = mt_store__lesson_indexed(mt_store__sq(p->der), lessons[i]->id, &yes, err)))
			break;
		if (indexed)
			indexed[i] = (unsigned char)yes;
		if (!yes) {
			memcpy(p->ov_ids[p->ov_n++], lessons[i]->id, 32);
			rc = mt_pg__lesson_put(p, lessons[i], err);
		}
	}
	if (rc)
		mt_pg__lessons_overlay_end(be);
	return rc;
}

void mt_pg__lessons_overlay_end(mt_store_backend *be)
{
	store_pg *p = mt_store__pg(be);
	if (!p->overlay)
		return;
	if (p->overlay == 2) {
		mt_pg__exec_quiet(p, "ROLLBACK TO SAVEPOINT mt_lesson_overlay");
		mt_pg__exec_quiet(p, "RELEASE SAVEPOINT mt_lesson_overlay");
	} else {
		mt_pg__exec_quiet(p, "ROLLBACK");
		p->pg_tx = 0;
	}
	p->overlay = 0;
	free(p->ov_ids);
	p->ov_ids = NULL;
	p->ov_n = 0;
}
