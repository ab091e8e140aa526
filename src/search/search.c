/* Trust-ranked lesson search: the store's lesson matches filtered and ranked
 * by the viewpoint's trust in their authors. */
#include "meshtrust/search.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Next whitespace-separated token of *p that is worth searching (a letter,
 * a digit or any non-ASCII byte: the tokenizer handles Unicode); sets
 * [*start, *end) and advances *p. Returns 0 at the end of the text. */
static int next_word(const char **p, const char **start, const char **end)
{
	for (;;) {
		while (**p && isspace((unsigned char)**p))
			(*p)++;
		*start = *p;
		while (**p && !isspace((unsigned char)**p))
			(*p)++;
		if (*p == *start)
			return 0;
		for (const char *c = *start; c < *p; c++)
			if (isalnum((unsigned char)*c) || (unsigned char)*c >= 0x80) {
				*end = *p;
				return 1;
			}
	}
}

int mt_search_words(char ***out, size_t *n, const char *text, mt_error *err)
{
	*out = NULL;
	*n = 0;
	size_t len = strlen(text), words = 0, bytes = 0;
	if (len > MT_SEARCH_QUERY_MAX)
		return mt_error_set(err, MT_EINVAL, "query too long: %zu bytes (max %d)", len,
				    MT_SEARCH_QUERY_MAX);
	const char *p = text, *a, *b;
	while (next_word(&p, &a, &b)) {
		words++;
		bytes += (size_t)(b - a) + 1;
	}
	if (!words)
		return mt_error_set(err, MT_EINVAL,
				    len ? "query has no searchable words" : "empty query");
	char **list = malloc(words * sizeof *list + bytes);
	if (!list)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	char *o = (char *)(list + words);
	size_t i = 0;
	for (p = text; next_word(&p, &a, &b); i++) {
		list[i] = o;
		memcpy(o, a, (size_t)(b - a));
		o += b - a;
		*o++ = '\0';
	}
	*out = list;
	*n = words;
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
	int ux = x->hops < 0, uy = y->hops < 0; /* untrusted: after every trusted hit */
	if (ux != uy)
		return ux - uy;
	if (ux) {
		double rx = x->relevance * x->freshness, ry = y->relevance * y->freshness;
		if (rx != ry)
			return rx < ry ? 1 : -1;
	} else if (x->rank != y->rank)
		return x->rank < y->rank ? 1 : -1;
	return strcmp(x->id, y->id);
}

/* One search in progress: the trust result and the hits so far. */
struct run {
	mt_store *s;
	const mt_engine *e;
	const mt_trust_result *tr;
	const mt_search_query *q;
	mt_search_result *res;
	size_t cap;
	mt_error *err;
	uint8_t *blocked; /* include_untrusted: by engine node index, 0 not known yet,
			   * 1 not blocked, 2 blocked (cache) */
};

/* Has the viewpoint blocked `author` (SPEC §3: a `none` edge in the scope or
 * global)? 1, 0, or an MT_E* code (negative). */
static int is_blocked(struct run *x, const char *author, uint32_t idx)
{
	if (!x->blocked) {
		x->blocked = calloc(mt_engine_node_count(x->e) + 1, 1);
		if (!x->blocked)
			return mt_error_set(x->err, MT_ENOMEM, "out of memory");
	}
	if (x->blocked[idx])
		return x->blocked[idx] == 2;
	mt_trust_path *p = NULL;
	int rc = mt_engine_path(&p, x->e, x->q->trust, author, x->err);
	if (rc)
		return rc;
	int b = p->why == MT_WHY_BLOCKED;
	mt_trust_path_free(p);
	x->blocked[idx] = b ? 2 : 1;
	return b;
}

/* mt_lesson_visit_fn: keep a lesson of the viewpoint or of a trusted author,
 * with its place in the ranking. */
static int on_lesson(const mt_store_lesson *l, void *payload)
{
	struct run *x = payload;
	mt_search_result *res = x->res;
	double trust;
	int hops;
	const char *level;
	/* Authorship follows the rotation chain (SPEC §9.2): a lesson of a
	 * rotated-away ID is its newest ID's, trusted and named as that. */
	char author[MT_NODE_ID_MAX];
	int rc = mt_store_newest_id(x->s, l->author, author, x->err);
	if (rc)
		return rc;
	if (strcmp(author, x->q->trust->viewpoint) == 0) {
		trust = 1.0;
		hops = 0;
		level = "self";
	} else {
		int64_t idx = mt_engine_node_index(x->e, author);
		mt_trust_entry key = {.node = (uint32_t)(idx < 0 ? 0 : idx)};
		const mt_trust_entry *te =
			idx >= 0 && x->tr->count
				? bsearch(&key, x->tr->entries, x->tr->count, sizeof key, by_node)
				: NULL;
		if (te) {
			trust = te->score;
			hops = te->hops;
			level = mt_level_name(te->level);
		} else {
			if (!x->q->include_untrusted)
				return 0; /* untrusted or blocked: never shown */
			if (idx >= 0) { /* an author no edge names cannot be blocked */
				int b = is_blocked(x, author, (uint32_t)idx);
				if (b < 0)
					return b;
				if (b)
					return 0; /* blocked: never shown */
			}
			trust = 0;
			hops = -1;
			level = "untrusted";
		}
	}
	if (res->count == x->cap) {
		size_t nc = x->cap ? x->cap * 2 : 64;
		mt_search_hit *h = realloc(res->hits, nc * sizeof *h);
		if (!h)
			return mt_error_set(x->err, MT_ENOMEM, "out of memory");
		res->hits = h;
		x->cap = nc;
	}
	mt_search_hit *h = &res->hits[res->count];
	memset(h, 0, sizeof *h);
	for (int i = 0; i < 32; i++)
		snprintf(h->id + 2 * i, 3, "%02x", l->id[i]);
	snprintf(h->author, sizeof h->author, "%s", author);
	h->title = strdup(l->title);
	h->topics_json = strdup(l->topics);
	res->count++;
	if (!h->title || !h->topics_json)
		return mt_error_set(x->err, MT_ENOMEM, "out of memory");
	h->ts = l->ts;
	h->hops = hops;
	h->level = level;
	h->trust = trust;
	h->relevance = l->relevance;
	double age = (double)(x->q->trust->at - h->ts);
	h->freshness = age > 0 ? pow(0.5, age / MT_SEARCH_HALF_LIFE) : 1.0;
	h->rank = h->relevance * h->trust * h->freshness; /* 0 for the untrusted */
	return 0;
}

int mt_search_run(mt_search_result **out, mt_store *s, const mt_engine *e,
		  mt_engine_scratch *scratch, const mt_search_query *q, mt_error *err)
{
	*out = NULL;
	char **words = NULL;
	size_t n_words = 0;
	int rc = mt_search_words(&words, &n_words, q->text ? q->text : "", err);
	if (rc)
		return rc;
	mt_trust_result *tr = NULL;
	if ((rc = mt_engine_trust(&tr, e, q->trust, scratch, err))) {
		free(words);
		return rc;
	}
	if (tr->count)
		qsort(tr->entries, tr->count, sizeof *tr->entries, by_node);
	size_t limit = q->limit ? q->limit : 20;
	struct run x = {s, e, tr, q, calloc(1, sizeof *x.res), 0, err, NULL};
	uint64_t matched = 0;
	if (!x.res) {
		rc = mt_error_set(err, MT_ENOMEM, "out of memory");
		goto done;
	}
	rc = mt_store_lessons_match(s, (const char *const *)words, n_words, q->topic, on_lesson, &x,
				    &matched, err);
	x.res->matched = (size_t)matched;
	if (rc)
		goto done;
	mt_search_result *res = x.res;
	if (res->count)
		qsort(res->hits, res->count, sizeof *res->hits, by_rank);
	while (res->count > limit) {
		res->count--;
		free(res->hits[res->count].title);
		free(res->hits[res->count].topics_json);
	}
done:
	free(x.blocked);
	mt_trust_result_free(tr);
	free(words);
	if (rc) {
		mt_search_result_free(x.res);
		return rc;
	}
	*out = x.res;
	return 0;
}
