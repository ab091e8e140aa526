/** Trust-ranked search over lessons (SPEC §3, §5; docs/search.md).
 *
 * Lessons are indexed by the store as they take effect. A query matches every
 * word of the text literally (mt_search_words: no word is an operator), keeps
 * only lessons whose author this viewpoint trusts in the scope (or the
 * viewpoint's own), and ranks them by
 *
 *     rank = relevance × trust × freshness
 *
 * where relevance = the store's match relevance (mt_store_lesson.relevance:
 * Okapi BM25 over title ×3, body ×1, topics ×2; > 0, larger is better),
 * trust = the author's trust score in the scope (1 for one's own lessons),
 * freshness = 0.5 ^ (age / 365 days), age = max(0, at − lesson ts).
 * Blocked and untrusted authors never appear — except, with
 * `include_untrusted`, untrusted ones (SPEC §9.5: lessons fetched from a
 * directory before their author is trusted): level "untrusted", hops -1,
 * trust 0, rank 0, listed after every trusted hit, among themselves by
 * relevance × freshness. Blocked authors (a `none` edge of the viewpoint in
 * the scope or global) never appear.
 */
#ifndef MESHTRUST_SEARCH_H
#define MESHTRUST_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "meshtrust/engine.h"
#include "meshtrust/store.h"

/** Longest query text accepted, in bytes. */
#define MT_SEARCH_QUERY_MAX 1024
/** Freshness half-life in seconds (365 days). */
#define MT_SEARCH_HALF_LIFE 31536000.0

typedef struct mt_search_query {
	const char *text;      /* words to match (required, non-empty) */
	const char *topic;     /* optional: only lessons with this topic */
	const mt_trust_query *trust; /* viewpoint, scope, at, depth, decay */
	size_t limit;          /* max results; 0 = 20 */
	int include_untrusted; /* also authors without trust (not blocked ones); see above */
} mt_search_query;

typedef struct mt_search_hit {
	char id[65];
	char author[MT_NODE_ID_MAX];
	char *title;       /* owned by the result */
	char *topics_json; /* JSON array text, owned by the result */
	int64_t ts;
	int hops;          /* 0 for the viewpoint's own lessons, -1 for untrusted ones */
	const char *level; /* "full", "limited", "self" or "untrusted" (static) */
	double trust, relevance, freshness, rank;
} mt_search_hit;

typedef struct mt_search_result {
	size_t count;
	mt_search_hit *hits;
	size_t matched;   /* lessons matching the text before trust filtering */
} mt_search_result;

/** Run a query against the store's index with a prebuilt engine (built from
 * the same store's edges; `scratch` may be NULL). *out is owned by the caller
 * (mt_search_result_free). Errors: MT_EINVAL (empty query, no searchable
 * words, too long; message says which), MT_EIO. */
int mt_search_run(mt_search_result **out, mt_store *s, const mt_engine *e,
		  mt_engine_scratch *scratch, const mt_search_query *q, mt_error *err);

/** Free a result; NULL is a harmless no-op. */
void mt_search_result_free(mt_search_result *r);

/** The words a query text searches for, each matched literally and all
 * required (mt_store_lessons_match): its whitespace-separated tokens, in
 * order, except those without any letter, digit or non-ASCII byte (pure
 * punctuation). *out is one allocation the caller free()s: *n pointers,
 * then the NUL-terminated words they point to. Errors: MT_EINVAL (empty
 * query, no searchable words, longer than MT_SEARCH_QUERY_MAX; the message
 * says which), MT_ENOMEM. */
int mt_search_words(char ***out, size_t *n, const char *text, mt_error *err);

#endif
