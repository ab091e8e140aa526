/* Trust-ranked lesson search: FTS5 candidates filtered and ranked by the
 * viewpoint's trust in their authors. */
#include "meshtrust/search.h"

#include <ctype.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

int mt_search_fts_expr(char **out, const char *text, mt_error *err)
{
	*out = NULL;
	size_t len = strlen(text);
	if (len > MT_SEARCH_QUERY_MAX)
		return mt_error_set(err, MT_EINVAL, "query too long: %zu bytes (max %d)", len,
				    MT_SEARCH_QUERY_MAX);
	/* Worst case every byte is a quote (doubled) plus quotes and spaces. */
	char *buf = malloc(len * 4 + 4);
	if (!buf)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	size_t o = 0, words = 0;
	const char *p = text;
	while (*p) {
		while (*p && isspace((unsigned char)*p))
			p++;
		const char *start = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (p == start)
			break;
		/* Keep tokens with at least one letter or digit (or any non-ASCII
		 * byte: the tokenizer handles Unicode); drop pure punctuation. */
		int useful = 0;
		for (const char *c = start; c < p; c++)
			if (isalnum((unsigned char)*c) || (unsigned char)*c >= 0x80)
				useful = 1;
		if (!useful)
			continue;
		if (words++)
			buf[o++] = ' ';
		buf[o++] = '"';
		for (const char *c = start; c < p; c++) {
			if (*c == '"')
				buf[o++] = '"';
			buf[o++] = *c;
		}
		buf[o++] = '"';
	}
	buf[o] = '\0';
	if (!words) {
		free(buf);
		return mt_error_set(err, MT_EINVAL,
				    len ? "query has no searchable words" : "empty query");
	}
	*out = buf;
	return 0;
}

void mt_search_result_free(mt_search_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->count; i++) {
		free(r->hits[i].title);
		free(r->hits[i].topics_json);
	}
	free(r->hits);
	free(r);
}

static int by_node(const void *a, const void *b)
{
	const mt_trust_entry *x = a, *y = b;
	return (x->node > y->node) - (x->node < y->node);
}

static int by_rank(const void *a, const void *b)
{
	const mt_search_hit *x = a, *y = b;
	if (x->rank != y->rank)
		return x->rank < y->rank ? 1 : -1;
	return strcmp(x->id, y->id);
}

/* Does the JSON array text `topics` contain exactly `topic`? */
static int has_topic(const char *topics, const char *topic)
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

int mt_search_run(mt_search_result **out, mt_store *s, const mt_engine *e,
		  mt_engine_scratch *scratch, const mt_search_query *q, mt_error *err)
{
	*out = NULL;
	char *expr = NULL;
	int rc = mt_search_fts_expr(&expr, q->text ? q->text : "", err);
	if (rc)
		return rc;
	mt_trust_result *tr = NULL;
	if ((rc = mt_engine_trust(&tr, e, q->trust, scratch, err))) {
		free(expr);
		return rc;
	}
	if (tr->count)
		qsort(tr->entries, tr->count, sizeof *tr->entries, by_node);
	size_t limit = q->limit ? q->limit : 20;
	mt_search_result *res = calloc(1, sizeof *res);
	size_t cap = 0;
	sqlite3_stmt *st = NULL;
	sqlite3 *db = mt_store_db(s);
	if (!res) {
		rc = mt_error_set(err, MT_ENOMEM, "out of memory");
		goto done;
	}
	if (sqlite3_prepare_v2(db,
			       "SELECT l.id, l.author, l.title, l.topics, l.ts, "
			       "bm25(lessons_fts, 3.0, 1.0, 2.0) FROM lessons_fts "
			       "JOIN lessons l ON l.rowid = lessons_fts.rowid "
			       "WHERE lessons_fts MATCH ?",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = mt_error_set(err, MT_EIO, "search: %s", sqlite3_errmsg(db));
		goto done;
	}
	sqlite3_bind_text(st, 1, expr, -1, SQLITE_STATIC);
	const char *viewpoint = q->trust->viewpoint;
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		res->matched++;
		const char *author = (const char *)sqlite3_column_text(st, 1);
		double trust;
		int hops;
		const char *level;
		if (strcmp(author, viewpoint) == 0) {
			trust = 1.0;
			hops = 0;
			level = "self";
		} else {
			int64_t idx = mt_engine_node_index(e, author);
			if (idx < 0)
				continue;
			mt_trust_entry key = {.node = (uint32_t)idx};
			const mt_trust_entry *te =
				tr->count ? bsearch(&key, tr->entries, tr->count, sizeof key, by_node)
					  : NULL;
			if (!te)
				continue; /* untrusted or blocked: never shown */
			trust = te->score;
			hops = te->hops;
			level = mt_level_name(te->level);
		}
		const char *topics = (const char *)sqlite3_column_text(st, 3);
		if (q->topic && !has_topic(topics, q->topic))
			continue;
		if (res->count == cap) {
			size_t nc = cap ? cap * 2 : 64;
			mt_search_hit *h = realloc(res->hits, nc * sizeof *h);
			if (!h) {
				rc = mt_error_set(err, MT_ENOMEM, "out of memory");
				goto done;
			}
			res->hits = h;
			cap = nc;
		}
		mt_search_hit *h = &res->hits[res->count];
		memset(h, 0, sizeof *h);
		const unsigned char *id = sqlite3_column_blob(st, 0);
		for (int i = 0; i < 32; i++)
			snprintf(h->id + 2 * i, 3, "%02x", id[i]);
		snprintf(h->author, sizeof h->author, "%s", author);
		h->title = strdup((const char *)sqlite3_column_text(st, 2));
		h->topics_json = strdup(topics);
		res->count++;
		if (!h->title || !h->topics_json) {
			rc = mt_error_set(err, MT_ENOMEM, "out of memory");
			goto done;
		}
		h->ts = sqlite3_column_int64(st, 4);
		h->hops = hops;
		h->level = level;
		h->trust = trust;
		h->relevance = -sqlite3_column_double(st, 5);
		double age = (double)(q->trust->at - h->ts);
		h->freshness = age > 0 ? pow(0.5, age / MT_SEARCH_HALF_LIFE) : 1.0;
		h->rank = h->relevance * h->trust * h->freshness;
	}
	if (r != SQLITE_DONE) {
		rc = mt_error_set(err, MT_EIO, "search: %s", sqlite3_errmsg(db));
		goto done;
	}
	if (res->count)
		qsort(res->hits, res->count, sizeof *res->hits, by_rank);
	while (res->count > limit) {
		res->count--;
		free(res->hits[res->count].title);
		free(res->hits[res->count].topics_json);
	}
done:
	sqlite3_finalize(st);
	mt_trust_result_free(tr);
	free(expr);
	if (rc) {
		mt_search_result_free(res);
		return rc;
	}
	*out = res;
	return 0;
}
