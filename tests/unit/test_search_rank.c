/* Lessons search: trust filtering and ranking, scope isolation, blocks,
 * revocation, literal queries, rebuild equality of the index. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/search.h"
#include "testutil.h"
#include "teststore.h"

#define T0 1700000000

static const double DECAY[] = {1, 1, 0.5, 0.25, 0.125};

struct fx {
	char *dir;
	mt_store *s;
	mt_keypair k[5]; /* 0 = viewpoint V, 1 = A (direct), 2 = B (two hops), 3 = C, 4 = D */
	char id[5][MT_NODE_ID_MAX];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char path[4200];
	f->dir = mt_test_tmpdir();
	snprintf(path, sizeof path, "%s/trust.db", f->dir);
	assert_int_equal(mt_test_store_open(&f->s, path, NULL), 0);
	mt_test_keypairs(f->k, f->id, 5, 0x40);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	mt_store_close(f->s);
	mt_test_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void issue(struct fx *f, int who, json_t *body)
{
	mt_error err = {0};
	if (mt_store_issue(f->s, NULL, body, &f->k[who], T0, &err) != 0)
		fail_msg("issue: %s", err.msg);
	json_decref(body);
}

static void trust(struct fx *f, int from, int to, const char *level, const char *scope)
{
	issue(f, from, json_pack("{s:s,s:s,s:s,s:s}", "type", "trust", "target", f->id[to], "level",
				 level, "scope", scope));
}

static void lesson(struct fx *f, int who, const char *title, const char *body)
{
	issue(f, who, json_pack("{s:s,s:[s],s:s,s:s}", "type", "lesson", "topics", "ops", "title",
				title, "body", body));
}

/* Run a query from V; returns the result (caller frees). */
static mt_search_result *search_ex(struct fx *f, const char *text, const char *scope,
				   int *rc_out, int include_untrusted);
static mt_search_result *search(struct fx *f, const char *text, const char *scope, int *rc_out)
{
	return search_ex(f, text, scope, rc_out, 0);
}

static mt_search_result *search_ex(struct fx *f, const char *text, const char *scope,
				   int *rc_out, int include_untrusted)
{
	mt_edge_in *edges = NULL;
	size_t n = 0;
	mt_engine *e = NULL;
	assert_int_equal(mt_store_edges(f->s, &edges, &n, INT64_MAX, NULL), 0);
	assert_int_equal(mt_engine_new(&e, edges, n, NULL), 0);
	free(edges);
	mt_trust_query tq = {f->id[0], scope, T0 + 10, 3, DECAY, 5};
	mt_search_query q = {text, NULL, &tq, 10, include_untrusted};
	mt_search_result *r = NULL;
	int rc = mt_search_run(&r, f->s, e, NULL, &q, NULL);
	if (rc_out)
		*rc_out = rc;
	mt_engine_free(e);
	return r;
}

static int position_of(const mt_search_result *r, const char *author)
{
	for (size_t i = 0; i < r->count; i++)
		if (strcmp(r->hits[i].author, author) == 0)
			return (int)i;
	return -1;
}

static void web(struct fx *f)
{
	trust(f, 0, 1, "full", "global");  /* V -> A */
	trust(f, 1, 2, "full", "global");  /* A -> B: B at two hops */
	trust(f, 0, 3, "full", "coop:x");  /* V -> C only in coop:x */
	/* Equally relevant lessons by A, B, C, and D (untrusted). */
	lesson(f, 1, "rotate keys", "how to rotate signing keys safely");
	lesson(f, 2, "rotate keys", "how to rotate signing keys safely");
	lesson(f, 3, "rotate keys", "how to rotate signing keys safely");
	lesson(f, 4, "rotate keys", "how to rotate signing keys safely");
}

static void test_direct_outranks_two_hops_and_untrusted_hidden(void **state)
{
	struct fx *f = *state;
	web(f);
	mt_search_result *r = search(f, "rotate keys", "global", NULL);
	assert_int_equal(r->matched, 4);
	assert_int_equal(r->count, 2);
	assert_int_equal(position_of(r, f->id[1]), 0); /* direct trust first */
	assert_int_equal(position_of(r, f->id[2]), 1);
	assert_true(r->hits[0].rank > r->hits[1].rank);
	assert_int_equal(r->hits[0].hops, 1);
	assert_int_equal(r->hits[1].hops, 2);
	assert_int_equal(position_of(r, f->id[3]), -1); /* only trusted in coop:x */
	assert_int_equal(position_of(r, f->id[4]), -1); /* untrusted */
	mt_search_result_free(r);
}

/* SPEC §9.5: --include-untrusted shows untrusted authors after the trusted
 * ones, marked, and never blocked ones. */
static void test_include_untrusted(void **state)
{
	struct fx *f = *state;
	web(f);
	trust(f, 0, 2, "none", "global"); /* V blocks B */
	mt_search_result *r = search_ex(f, "rotate keys", "global", NULL, 1);
	assert_int_equal(r->count, 3);
	assert_string_equal(r->hits[0].author, f->id[1]); /* A: trusted, first */
	assert_string_equal(r->hits[0].level, "full");
	assert_int_equal(position_of(r, f->id[2]), -1);   /* B: blocked, never */
	for (size_t i = 1; i < 3; i++) {                  /* C (other scope) and D */
		assert_true(strcmp(r->hits[i].author, f->id[3]) == 0 ||
			    strcmp(r->hits[i].author, f->id[4]) == 0);
		assert_string_equal(r->hits[i].level, "untrusted");
		assert_int_equal(r->hits[i].hops, -1);
		assert_true(r->hits[i].rank == 0 && r->hits[i].trust == 0);
		assert_true(r->hits[i].relevance > 0);
	}
	mt_search_result_free(r);
	/* off by default: only A */
	r = search(f, "rotate keys", "global", NULL);
	assert_int_equal(r->count, 1);
	mt_search_result_free(r);
	/* in coop:x C is trusted and first; A, D untrusted there; B is blocked
	 * in global, which counts in every scope */
	r = search_ex(f, "rotate keys", "coop:x", NULL, 1);
	assert_int_equal(r->count, 3);
	assert_string_equal(r->hits[0].author, f->id[3]);
	assert_int_equal(position_of(r, f->id[2]), -1);
	mt_search_result_free(r);
}

struct listed {
	int n;
	char authors[8][MT_NODE_ID_MAX];
	int64_t ts[8];
};

static int on_listed(const mt_store_lesson *l, void *payload)
{
	struct listed *x = payload;
	if (x->n < 8) {
		snprintf(x->authors[x->n], MT_NODE_ID_MAX, "%s", l->author);
		x->ts[x->n] = l->ts;
	}
	x->n++;
	return 0;
}

/* mt_store_lessons_of (the directory's listing): by author, by topic,
 * newest first, at most `limit`; a revoked lesson is gone. */
static void test_lessons_of(void **state)
{
	struct fx *f = *state;
	web(f);
	struct listed x = {0};
	assert_int_equal(mt_store_lessons_of(f->s, NULL, NULL, 0, on_listed, &x, NULL), 0);
	assert_int_equal(x.n, 4);
	for (int i = 1; i < x.n; i++)
		assert_true(x.ts[i - 1] >= x.ts[i]);
	memset(&x, 0, sizeof x);
	assert_int_equal(mt_store_lessons_of(f->s, f->id[2], NULL, 0, on_listed, &x, NULL), 0);
	assert_int_equal(x.n, 1);
	assert_string_equal(x.authors[0], f->id[2]);
	memset(&x, 0, sizeof x);
	assert_int_equal(mt_store_lessons_of(f->s, NULL, "ops", 2, on_listed, &x, NULL), 0);
	assert_int_equal(x.n, 2);
	memset(&x, 0, sizeof x);
	assert_int_equal(mt_store_lessons_of(f->s, NULL, "op", 0, on_listed, &x, NULL), 0);
	assert_int_equal(x.n, 0); /* topics match exactly */
	/* a later lesson is listed first */
	issue(f, 4, json_pack("{s:s,s:[s],s:s,s:s}", "type", "lesson", "topics", "ops", "title",
			      "later", "body", "b"));
	mt_error err = {0};
	json_t *body = json_pack("{s:s,s:[s],s:s,s:s}", "type", "lesson", "topics", "ops", "title",
				 "latest", "body", "b");
	assert_int_equal(mt_store_issue(f->s, NULL, body, &f->k[3], T0 + 50, &err), 0);
	json_decref(body);
	memset(&x, 0, sizeof x);
	assert_int_equal(mt_store_lessons_of(f->s, NULL, NULL, 1, on_listed, &x, NULL), 0);
	assert_int_equal(x.n, 1);
	assert_string_equal(x.authors[0], f->id[3]);
	assert_int_equal(x.ts[0], T0 + 50);
}

static void test_scope_isolation(void **state)
{
	struct fx *f = *state;
	web(f);
	mt_search_result *r = search(f, "rotate", "coop:x", NULL);
	assert_int_equal(r->count, 1);
	assert_string_equal(r->hits[0].author, f->id[3]);
	mt_search_result_free(r);
}

static void test_blocked_author_never_appears(void **state)
{
	struct fx *f = *state;
	web(f);
	trust(f, 0, 2, "none", "global"); /* V blocks B */
	mt_search_result *r = search(f, "rotate", "global", NULL);
	assert_int_equal(position_of(r, f->id[2]), -1);
	assert_int_equal(r->count, 1);
	mt_search_result_free(r);
}

static void test_revoke_removes_at_once(void **state)
{
	struct fx *f = *state;
	web(f);
	issue(f, 0, json_pack("{s:s,s:s,s:s}", "type", "revoke", "target", f->id[1], "scope",
			      "global"));
	mt_search_result *r = search(f, "rotate", "global", NULL);
	assert_int_equal(r->count, 0); /* A revoked: A and B (reached only via A) gone */
	mt_search_result_free(r);
	trust(f, 0, 1, "full", "global");
	r = search(f, "rotate", "global", NULL);
	assert_int_equal(r->count, 2);
	mt_search_result_free(r);
}

static void test_own_lessons_and_literal_syntax(void **state)
{
	struct fx *f = *state;
	lesson(f, 0, "NEAR(quotes \"and\" stars*", "a body with a * star");
	mt_search_result *r = search(f, "NEAR( \"and\" stars*", "global", NULL);
	assert_int_equal(r->count, 1);
	assert_string_equal(r->hits[0].level, "self");
	mt_search_result_free(r);
	int rc = 0;
	r = search(f, "   ", "global", &rc);
	assert_int_equal(rc, MT_EINVAL);
	assert_null(r);
	r = search(f, "\" * ( )", "global", &rc);
	assert_int_equal(rc, MT_EINVAL);
	assert_null(r);
}

static void test_body_limit(void **state)
{
	struct fx *f = *state;
	char *big = malloc(MT_LESSON_BODY_MAX + 2);
	memset(big, 'a', MT_LESSON_BODY_MAX + 1);
	big[MT_LESSON_BODY_MAX + 1] = '\0';
	json_t *b = json_pack("{s:s,s:[s],s:s,s:s}", "type", "lesson", "topics", "x", "title", "t",
			      "body", big);
	mt_error err = {0};
	assert_int_not_equal(mt_store_issue(f->s, NULL, b, &f->k[0], T0, &err), 0);
	assert_non_null(strstr(err.msg, "body"));
	json_decref(b);
	free(big);
}

static void test_index_rebuild_equal(void **state)
{
	struct fx *f = *state;
	web(f);
	lesson(f, 1, "ünïcödé title", "body with émoji 🙂 and words");
	char *before = NULL, *after = NULL;
	assert_int_equal(mt_store_derived_dump(f->s, &before, NULL), 0);
	assert_non_null(strstr(before, "## lessons_fts\nand|"));
	assert_int_equal(mt_store_rebuild(f->s, NULL, NULL, NULL), 0);
	assert_int_equal(mt_store_derived_dump(f->s, &after, NULL), 0);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void test_words(void **state)
{
	(void)state;
	char **w = NULL;
	size_t n = 0;
	assert_int_equal(mt_search_words(&w, &n, " a \"b\"\tNEAR( ,, !! é ", NULL), 0);
	assert_int_equal(n, 4);
	assert_string_equal(w[0], "a");
	assert_string_equal(w[1], "\"b\"");
	assert_string_equal(w[2], "NEAR(");
	assert_string_equal(w[3], "é");
	free(w);
	mt_error err = {0};
	assert_int_equal(mt_search_words(&w, &n, "", &err), MT_EINVAL);
	assert_null(w);
	assert_string_equal(err.msg, "empty query");
	assert_int_equal(mt_search_words(&w, &n, " ,, * ", &err), MT_EINVAL);
	assert_string_equal(err.msg, "query has no searchable words");
	char big[MT_SEARCH_QUERY_MAX + 2];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(mt_search_words(&w, &n, big, &err), MT_EINVAL);
	assert_non_null(strstr(err.msg, "too long"));
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_direct_outranks_two_hops_and_untrusted_hidden,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_scope_isolation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_include_untrusted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lessons_of, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocked_author_never_appears, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoke_removes_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_own_lessons_and_literal_syntax, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_rebuild_equal, setup, teardown),
		cmocka_unit_test(test_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
