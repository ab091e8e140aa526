/* The store's operations for the modules above it (backend revision 2):
 * statements by type, lookup by id, lesson matching and the federated
 * search's overlay (one corpus, nothing kept), feed listing and pages, recent
 * statements, forks, the change counter, peers and quota counters, the
 * migration that took in the node's tables, and a revision-1 backend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/encoding.h"
#include "meshtrust/store.h"
#include "store/store_int.h" /* mt_store_db, for the migration test */
#include "testutil.h"
#include "teststore.h"

#define T0 1700000000

struct fx {
	char *dir;
	char path[4200];
	mt_store *s;
	mt_keypair k[3];
	char id[3][MT_NODE_ID_MAX];
	uint64_t seq[3];
	unsigned char prev[3][32];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	f->dir = mt_test_tmpdir();
	snprintf(f->path, sizeof f->path, "%s/trust.db", f->dir);
	assert_int_equal(mt_test_store_open(&f->s, f->path, NULL), 0);
	mt_test_keypairs(f->k, f->id, 3, 0x51);
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

/* The next statement of issuer i (signed, not stored); takes `body`. */
static mt_stmt *next(struct fx *f, int i, json_t *body, int64_t ts)
{
	mt_stmt *st = NULL;
	mt_error err = {0};
	if (mt_stmt_sign(&st, body, &f->k[i], f->seq[i] + 1, f->seq[i] ? f->prev[i] : NULL, ts,
			 &err) != 0)
		fail_msg("sign: %s", err.msg);
	json_decref(body);
	f->seq[i]++;
	memcpy(f->prev[i], st->id, 32);
	return st;
}

static void ingest(mt_store *s, const mt_stmt *st)
{
	mt_ingest_result r;
	mt_error err = {0};
	if (mt_store_ingest(s, st, &r, &err) != 0)
		fail_msg("ingest: %s", err.msg);
	assert_int_equal(r, MT_INGEST_ACCEPTED);
}

static json_t *lesson_body(const char *title, const char *body, const char *topic)
{
	return json_pack("{s:s,s:[s],s:s,s:s}", "type", "lesson", "topics", topic, "title", title,
			 "body", body);
}

static json_t *trust_body(struct fx *f, int target)
{
	return json_pack("{s:s,s:s,s:s}", "type", "trust", "target", f->id[target], "level", "full");
}

/* ---- statements by type, lookup --------------------------------------------------- */

struct seen {
	char canon[8][1024];
	uint64_t seq[8];
	size_t n;
	int stop_at;
};

static int collect(const char *iss, uint64_t seq, const char *canon, size_t len, void *payload)
{
	(void)iss;
	struct seen *x = payload;
	assert_true(x->n < 8 && len < 1024);
	memcpy(x->canon[x->n], canon, len);
	x->canon[x->n][len] = '\0';
	x->seq[x->n++] = seq;
	return x->stop_at && (int)x->n == x->stop_at ? 7 : 0;
}

static void test_foreach_type_and_contains(void **state)
{
	struct fx *f = *state;
	mt_stmt *l1 = next(f, 0, lesson_body("one", "b", "t"), T0);
	mt_stmt *t1 = next(f, 0, trust_body(f, 1), T0);
	mt_stmt *l2 = next(f, 1, lesson_body("two", "b", "t"), T0);
	/* held but not taking effect: seq 2 of issuer 2 without its seq 1 */
	mt_stmt *g1 = next(f, 2, lesson_body("gap", "b", "t"), T0);
	mt_stmt *g2 = next(f, 2, lesson_body("held", "b", "t"), T0);
	ingest(f->s, l1);
	ingest(f->s, t1);
	ingest(f->s, l2);
	ingest(f->s, g2);

	mt_stmt_type lessons[] = {MT_ST_LESSON};
	struct seen x = {0};
	assert_int_equal(mt_store_foreach_type(f->s, lessons, 1, collect, &x, NULL), 0);
	assert_int_equal(x.n, 2); /* not the held seq 2 of issuer 2 */
	int l1_first = memcmp(l1->id, l2->id, 32) < 0;
	assert_string_equal(x.canon[0], (l1_first ? l1 : l2)->canon);
	assert_string_equal(x.canon[1], (l1_first ? l2 : l1)->canon);

	mt_stmt_type both[] = {MT_ST_TRUST, MT_ST_LESSON, MT_ST_TRUST};
	memset(&x, 0, sizeof x);
	assert_int_equal(mt_store_foreach_type(f->s, both, 3, collect, &x, NULL), 0);
	assert_int_equal(x.n, 3);
	for (size_t i = 1; i < x.n; i++) { /* ascending ids */
		mt_stmt *a = NULL, *b = NULL;
		assert_int_equal(mt_stmt_parse(&a, x.canon[i - 1], strlen(x.canon[i - 1]), INT64_MAX,
					       NULL), 0);
		assert_int_equal(mt_stmt_parse(&b, x.canon[i], strlen(x.canon[i]), INT64_MAX, NULL), 0);
		assert_true(memcmp(a->id, b->id, 32) < 0);
		mt_stmt_free(a);
		mt_stmt_free(b);
	}
	memset(&x, 0, sizeof x);
	x.stop_at = 1;
	assert_int_equal(mt_store_foreach_type(f->s, both, 3, collect, &x, NULL), 7);
	assert_int_equal(x.n, 1);
	/* the seq 1 fills the gap: both of issuer 2 take effect now */
	ingest(f->s, g1);
	memset(&x, 0, sizeof x);
	assert_int_equal(mt_store_foreach_type(f->s, lessons, 1, collect, &x, NULL), 0);
	assert_int_equal(x.n, 4);
	mt_stmt_type bad = MT_ST__COUNT;
	assert_int_equal(mt_store_foreach_type(f->s, &bad, 1, collect, &x, NULL), MT_EINVAL);

	int found = -1;
	assert_int_equal(mt_store_contains(f->s, t1->id, &found, NULL), 0);
	assert_int_equal(found, 1);
	unsigned char none[32] = {0};
	assert_int_equal(mt_store_contains(f->s, none, &found, NULL), 0);
	assert_int_equal(found, 0);
	mt_stmt_free(l1);
	mt_stmt_free(t1);
	mt_stmt_free(l2);
	mt_stmt_free(g1);
	mt_stmt_free(g2);
}

/* ---- lessons ------------------------------------------------------------------------- */

struct hits {
	char title[8][64];
	double relevance[8];
	size_t n;
};

static int on_hit(const mt_store_lesson *l, void *payload)
{
	struct hits *h = payload;
	assert_true(h->n < 8);
	assert_true(l->relevance > 0);
	snprintf(h->title[h->n], sizeof h->title[h->n], "%s", l->title);
	h->relevance[h->n++] = l->relevance;
	return 0;
}

/* The relevance of the lesson titled `title` in `h`, or -1. */
static double rel_of(const struct hits *h, const char *title)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->title[i], title) == 0)
			return h->relevance[i];
	return -1;
}

static void test_lessons_match(void **state)
{
	struct fx *f = *state;
	mt_stmt *a = next(f, 0, lesson_body("pin deps", "pin your deps, \"really\" NEAR(", "ops"), T0);
	mt_stmt *b = next(f, 0, lesson_body("deps", "unrelated text", "Ops"), T0);
	mt_stmt *c = next(f, 1, lesson_body("Émoji pin", "nothing else", "ops"), T0);
	ingest(f->s, a);
	ingest(f->s, b);
	ingest(f->s, c);
	struct hits h = {0};
	uint64_t matched = 0;
	const char *w1[] = {"deps"};
	assert_int_equal(mt_store_lessons_match(f->s, w1, 1, NULL, on_hit, &h, &matched, NULL), 0);
	assert_int_equal(matched, 2);
	assert_int_equal(h.n, 2);
	/* in the title (weight 3) and the body beats the title alone */
	assert_true(rel_of(&h, "pin deps") > 0 && rel_of(&h, "deps") > 0);
	/* the topic filter: exact string, the count is before it */
	memset(&h, 0, sizeof h);
	assert_int_equal(mt_store_lessons_match(f->s, w1, 1, "ops", on_hit, &h, &matched, NULL), 0);
	assert_int_equal(matched, 2);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.title[0], "pin deps");
	/* literal words: quotes and operators are text; case and diacritics fold */
	const char *w2[] = {"\"really\"", "NEAR(", "PIN"};
	memset(&h, 0, sizeof h);
	assert_int_equal(mt_store_lessons_match(f->s, w2, 3, NULL, on_hit, &h, &matched, NULL), 0);
	assert_int_equal(h.n, 1);
	const char *w3[] = {"emoji"};
	memset(&h, 0, sizeof h);
	assert_int_equal(mt_store_lessons_match(f->s, w3, 1, NULL, on_hit, &h, &matched, NULL), 0);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.title[0], "Émoji pin");
	/* a word without tokens is ignored, alone it matches nothing */
	const char *w4[] = {"pin", "—"}, *w5[] = {"—"};
	assert_int_equal(mt_store_lessons_match(f->s, w4, 2, NULL, on_hit,
						&(struct hits){0}, &matched, NULL), 0);
	assert_int_equal(matched, 2);
	assert_int_equal(mt_store_lessons_match(f->s, w5, 1, NULL, on_hit, &(struct hits){0},
						&matched, NULL), 0);
	assert_int_equal(matched, 0);
	assert_int_equal(mt_store_lessons_match(f->s, w5, 0, NULL, on_hit, &h, &matched, NULL),
			 MT_EINVAL);
	mt_stmt_free(a);
	mt_stmt_free(b);
	mt_stmt_free(c);
}

static void test_lessons_overlay(void **state)
{
	struct fx *f = *state;
	/* a store holding A and B; another holding A, B and the peer's R */
	mt_stmt *a = next(f, 0, lesson_body("pin deps", "pin your deps", "ops"), T0);
	mt_stmt *b = next(f, 0, lesson_body("rotate keys", "keys and deps", "sec"), T0);
	mt_stmt *r = next(f, 1, lesson_body("deps deps", "deps everywhere", "ops"), T0);
	mt_stmt *t = next(f, 1, trust_body(f, 0), T0);
	ingest(f->s, a);
	ingest(f->s, b);
	mt_store *all = NULL;
	char path[4300];
	snprintf(path, sizeof path, "%s/all.db", f->dir);
	assert_int_equal(mt_test_store_open(&all, path, NULL), 0);
	ingest(all, a);
	ingest(all, b);
	ingest(all, r);
	const char *w[] = {"deps"};
	struct hits want = {0}, got = {0};
	uint64_t matched = 0;
	assert_int_equal(mt_store_lessons_match(all, w, 1, NULL, on_hit, &want, &matched, NULL), 0);
	assert_int_equal(want.n, 3);

	char *dump_before = NULL, *dump_after = NULL;
	unsigned char digest_before[32], digest_after[32];
	assert_int_equal(mt_store_derived_dump(f->s, &dump_before, NULL), 0);
	assert_int_equal(mt_store_digest(f->s, digest_before, NULL, NULL), 0);

	const mt_stmt *over[] = {a, r};
	unsigned char indexed[2] = {9, 9};
	mt_error err = {0};
	assert_int_equal(mt_store_lessons_overlay_begin(f->s, over, 2, indexed, &err), 0);
	assert_int_equal(indexed[0], 1); /* held already */
	assert_int_equal(indexed[1], 0); /* added for the overlay */
	assert_int_equal(mt_store_lessons_overlay_begin(f->s, over, 2, NULL, &err), MT_EINVAL);
	assert_int_equal(mt_store_lessons_match(f->s, w, 1, NULL, on_hit, &got, &matched, NULL), 0);
	assert_int_equal(matched, 3);
	assert_int_equal(got.n, 3);
	/* one corpus: the numbers of a store that holds R */
	for (size_t i = 0; i < want.n; i++)
		assert_true(rel_of(&got, want.title[i]) == want.relevance[i]);
	mt_store_lessons_overlay_end(f->s);
	mt_store_lessons_overlay_end(f->s); /* a no-op now */

	/* nothing of it stays */
	memset(&got, 0, sizeof got);
	assert_int_equal(mt_store_lessons_match(f->s, w, 1, NULL, on_hit, &got, &matched, NULL), 0);
	assert_int_equal(got.n, 2);
	assert_true(rel_of(&got, "deps deps") < 0);
	assert_int_equal(mt_store_derived_dump(f->s, &dump_after, NULL), 0);
	assert_string_equal(dump_before, dump_after);
	assert_int_equal(mt_store_digest(f->s, digest_after, NULL, NULL), 0);
	assert_memory_equal(digest_before, digest_after, 32);
	int found = 1;
	assert_int_equal(mt_store_contains(f->s, r->id, &found, NULL), 0);
	assert_int_equal(found, 0);
	/* the handle writes again afterwards */
	ingest(f->s, r);

	/* not a lesson: refused, nothing left open */
	const mt_stmt *bad[] = {t};
	assert_int_equal(mt_store_lessons_overlay_begin(f->s, bad, 1, NULL, &err), MT_EINVAL);
	assert_int_equal(mt_store_begin(f->s, NULL), 0);
	mt_store_rollback(f->s);
	/* inside a caller's transaction the overlay nests and leaves it open */
	assert_int_equal(mt_store_begin(f->s, NULL), 0);
	ingest(f->s, t);
	assert_int_equal(mt_store_lessons_overlay_begin(f->s, over, 2, NULL, &err), 0);
	mt_store_lessons_overlay_end(f->s);
	assert_int_equal(mt_store_commit(f->s, NULL), 0);
	assert_int_equal(mt_store_contains(f->s, t->id, &found, NULL), 0);
	assert_int_equal(found, 1);

	free(dump_before);
	free(dump_after);
	mt_store_close(all);
	mt_stmt_free(a);
	mt_stmt_free(b);
	mt_stmt_free(r);
	mt_stmt_free(t);
}

/* ---- feeds, recent, forks, changes ---------------------------------------------------------- */

struct feeds {
	char iss[4][MT_NODE_ID_MAX];
	uint64_t head[4];
	size_t n;
};

static int on_feed(const char *iss, uint64_t head_seq, const unsigned char head_id[32],
		   void *payload)
{
	(void)head_id;
	struct feeds *x = payload;
	assert_true(x->n < 4);
	snprintf(x->iss[x->n], sizeof x->iss[x->n], "%s", iss);
	x->head[x->n++] = head_seq;
	return 0;
}

struct entries {
	mt_store_entry e[8];
	char type[8][16];
	size_t n;
};

static int on_entry(const mt_store_entry *e, void *payload)
{
	struct entries *x = payload;
	assert_true(x->n < 8);
	x->e[x->n] = *e;
	snprintf(x->type[x->n], sizeof x->type[x->n], "%s", e->type);
	x->n++;
	return 0;
}

struct forks {
	char iss[4][MT_NODE_ID_MAX];
	uint64_t seq[4];
	unsigned char a[4][32], b[4][32];
	size_t n;
};

static int on_fork(const char *iss, uint64_t seq, const unsigned char a[32],
		   const unsigned char b[32], void *payload)
{
	struct forks *x = payload;
	assert_true(x->n < 4);
	snprintf(x->iss[x->n], sizeof x->iss[x->n], "%s", iss);
	x->seq[x->n] = seq;
	memcpy(x->a[x->n], a, 32);
	memcpy(x->b[x->n], b, 32);
	x->n++;
	return 0;
}

static void test_feeds_recent_forks(void **state)
{
	struct fx *f = *state;
	mt_stmt *a1 = next(f, 0, trust_body(f, 1), T0);
	mt_stmt *a2 = next(f, 0, trust_body(f, 2), T0 + 1);
	mt_stmt *a3 = next(f, 0, lesson_body("x", "y", "z"), T0 + 2);
	mt_stmt *b2 = next(f, 1, trust_body(f, 0), T0); /* seq 1, replaced below */
	f->seq[1] = 1;
	mt_stmt *b_gap = next(f, 1, trust_body(f, 2), T0); /* seq 2 without seq 1 */
	ingest(f->s, a1);
	ingest(f->s, a2);
	ingest(f->s, a3);
	ingest(f->s, b_gap);

	struct feeds fl = {0};
	assert_int_equal(mt_store_feeds(f->s, on_feed, &fl, NULL), 0);
	assert_int_equal(fl.n, 1); /* issuer 1's prefix is empty */
	assert_string_equal(fl.iss[0], f->id[0]);
	assert_int_equal(fl.head[0], 3);
	ingest(f->s, b2);
	memset(&fl, 0, sizeof fl);
	assert_int_equal(mt_store_feeds(f->s, on_feed, &fl, NULL), 0);
	assert_int_equal(fl.n, 2);
	assert_true(strcmp(fl.iss[0], fl.iss[1]) < 0);

	struct seen x = {0};
	assert_int_equal(mt_store_feed_page(f->s, f->id[0], 2, 1, collect, &x, NULL), 0);
	assert_int_equal(x.n, 1);
	assert_int_equal(x.seq[0], 2);
	assert_string_equal(x.canon[0], a2->canon);
	memset(&x, 0, sizeof x);
	assert_int_equal(mt_store_feed_page(f->s, f->id[0], 1, 1000, collect, &x, NULL), 0);
	assert_int_equal(x.n, 3);
	memset(&x, 0, sizeof x);
	assert_int_equal(mt_store_feed_page(f->s, f->id[0], 4, 10, collect, &x, NULL), 0);
	assert_int_equal(x.n, 0);

	/* newest first, in the order stored */
	struct entries e = {0};
	assert_int_equal(mt_store_recent(f->s, 2, on_entry, &e, NULL), 0);
	assert_int_equal(e.n, 2);
	assert_memory_equal(e.e[0].id, b2->id, 32);
	assert_memory_equal(e.e[1].id, b_gap->id, 32);
	assert_int_equal(e.e[1].seq, 2);
	assert_string_equal(e.type[0], "trust");
	memset(&e, 0, sizeof e);
	assert_int_equal(mt_store_recent(f->s, 100, on_entry, &e, NULL), 0);
	assert_int_equal(e.n, 5);
	assert_memory_equal(e.e[4].id, a1->id, 32);
	assert_string_equal(e.type[2], "lesson");
	assert_int_equal(e.e[2].ts, T0 + 2);

	/* a fork: another seq 2 of issuer 0 */
	struct forks fk = {0};
	assert_int_equal(mt_store_forks(f->s, 10, on_fork, &fk, NULL), 0);
	assert_int_equal(fk.n, 0);
	f->seq[0] = 1;
	memcpy(f->prev[0], a1->id, 32);
	mt_stmt *a2x = next(f, 0, lesson_body("other", "branch", "z"), T0 + 1);
	ingest(f->s, a2x);
	assert_int_equal(mt_store_forks(f->s, 10, on_fork, &fk, NULL), 0);
	assert_int_equal(fk.n, 1);
	assert_string_equal(fk.iss[0], f->id[0]);
	assert_int_equal(fk.seq[0], 2);
	int ab = memcmp(fk.a[0], a2->id, 32) == 0 && memcmp(fk.b[0], a2x->id, 32) == 0;
	int ba = memcmp(fk.a[0], a2x->id, 32) == 0 && memcmp(fk.b[0], a2->id, 32) == 0;
	assert_true(ab || ba);
	/* both sides of the fork are in the feed's pages */
	memset(&x, 0, sizeof x);
	assert_int_equal(mt_store_feed_page(f->s, f->id[0], 2, 2, collect, &x, NULL), 0);
	assert_int_equal(x.n, 2);
	assert_int_equal(x.seq[0], 2);
	assert_int_equal(x.seq[1], 2);

	mt_stmt_free(a1);
	mt_stmt_free(a2);
	mt_stmt_free(a3);
	mt_stmt_free(a2x);
	mt_stmt_free(b2);
	mt_stmt_free(b_gap);
}

static void test_change_counter(void **state)
{
	struct fx *f = *state;
	mt_store *other = NULL;
	assert_int_equal(mt_test_store_open(&other, f->path, NULL), 0);
	uint64_t v0, v1, v2;
	assert_int_equal(mt_store_change_counter(f->s, &v0, NULL), 0);
	mt_stmt *a = next(f, 0, trust_body(f, 1), T0);
	ingest(f->s, a); /* own write */
	assert_int_equal(mt_store_change_counter(f->s, &v1, NULL), 0);
	assert_true(v1 == v0);
	mt_stmt *b = next(f, 0, trust_body(f, 2), T0);
	ingest(other, b); /* another handle's */
	assert_int_equal(mt_store_change_counter(f->s, &v2, NULL), 0);
	assert_true(v2 != v1);
	assert_int_equal(mt_store_change_counter(f->s, &v1, NULL), 0);
	assert_true(v2 == v1);
	mt_store_close(other);
	mt_stmt_free(a);
	mt_stmt_free(b);
}

/* ---- the log by position (revision 6) ------------------------------------------------ */

struct logseen {
	uint64_t pos[16];
	unsigned char id[16][32];
	size_t n;
	int stop_at;
};

static int on_log(const mt_log_entry *e, void *payload)
{
	struct logseen *x = payload;
	assert_true(x->n < 16);
	x->pos[x->n] = e->pos;
	memcpy(x->id[x->n], e->id, 32);
	/* the canonical bytes the id names */
	mt_stmt *st = NULL;
	assert_int_equal(mt_stmt_reparse(&st, e->canon, e->len, INT64_MAX, NULL), 0);
	assert_memory_equal(st->id, e->id, 32);
	mt_stmt_free(st);
	x->n++;
	return x->stop_at && (int)x->n == x->stop_at ? 9 : 0;
}

struct idlist {
	unsigned char id[16][32];
	size_t n;
};

static int on_id(const unsigned char id[32], void *payload)
{
	struct idlist *x = payload;
	assert_true(x->n < 16);
	memcpy(x->id[x->n++], id, 32);
	return 0;
}

static void test_log_since(void **state)
{
	struct idlist idl;
	struct fx *f = *state;
	uint64_t p0 = 99;
	assert_int_equal(mt_store_log_position(f->s, &p0, NULL), 0);
	assert_int_equal(p0, 0); /* empty */
	struct logseen x = {0};
	assert_int_equal(mt_store_log_since(f->s, 0, 100, on_log, &x, NULL), 0);
	assert_int_equal(x.n, 0);

	mt_stmt *a = next(f, 0, trust_body(f, 1), T0);
	mt_stmt *b = next(f, 0, lesson_body("t", "b", "z"), T0 + 1);
	mt_stmt *c = next(f, 1, trust_body(f, 0), T0);
	ingest(f->s, a);
	ingest(f->s, b);
	uint64_t p1 = 0;
	assert_int_equal(mt_store_log_position(f->s, &p1, NULL), 0);
	assert_true(p1 > 0);
	/* another handle (another process on the same store) appends after it */
	mt_store *other = NULL;
	assert_int_equal(mt_test_store_open(&other, f->path, NULL), 0);
	ingest(other, c);
	mt_ingest_result r;
	assert_int_equal(mt_store_ingest(other, a, &r, NULL), 0);
	assert_int_equal(r, MT_INGEST_DUPLICATE); /* a duplicate adds no position */
	mt_store_close(other);

	assert_int_equal(mt_store_log_since(f->s, 0, 100, on_log, &x, NULL), 0);
	assert_int_equal(x.n, 3);
	assert_memory_equal(x.id[0], a->id, 32);
	assert_memory_equal(x.id[1], b->id, 32);
	assert_memory_equal(x.id[2], c->id, 32);
	assert_true(x.pos[0] < x.pos[1] && x.pos[1] < x.pos[2]);
	assert_int_equal(x.pos[1], p1);
	uint64_t p2 = 0;
	assert_int_equal(mt_store_log_position(f->s, &p2, NULL), 0);
	assert_int_equal(p2, x.pos[2]);
	/* after a position: only what came later; limit and stop */
	memset(&x, 0, sizeof x);
	assert_int_equal(mt_store_log_since(f->s, p1, 100, on_log, &x, NULL), 0);
	assert_int_equal(x.n, 1);
	assert_memory_equal(x.id[0], c->id, 32);
	memset(&x, 0, sizeof x);
	assert_int_equal(mt_store_log_since(f->s, 0, 2, on_log, &x, NULL), 0);
	assert_int_equal(x.n, 2);
	memset(&x, 0, sizeof x);
	x.stop_at = 1;
	assert_int_equal(mt_store_log_since(f->s, 0, 100, on_log, &x, NULL), 9);
	assert_int_equal(x.n, 1);
	memset(&x, 0, sizeof x);
	assert_int_equal(mt_store_log_since(f->s, p2, 100, on_log, &x, NULL), 0);
	assert_int_equal(x.n, 0);
	/* the ids, ascending, hash to the digest */
	memset(&idl, 0, sizeof idl);
	assert_int_equal(mt_store_ids(f->s, on_id, &idl, NULL), 0);
	assert_int_equal(idl.n, 3);
	unsigned char d1[32], d2[32];
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, 32);
	for (size_t i = 0; i < idl.n; i++) {
		if (i)
			assert_true(memcmp(idl.id[i - 1], idl.id[i], 32) < 0);
		crypto_generichash_update(&h, idl.id[i], 32);
	}
	crypto_generichash_final(&h, d1, 32);
	assert_int_equal(mt_store_digest(f->s, d2, NULL, NULL), 0);
	assert_memory_equal(d1, d2, 32);
	mt_stmt_free(a);
	mt_stmt_free(b);
	mt_stmt_free(c);
}

/* ---- peers and quota ------------------------------------------------------------------------- */

struct peers {
	char url[4][64], id[4][MT_NODE_ID_MAX], error[4][64];
	int64_t added[4], last_sync[4];
	uint64_t lag[4];
	size_t n;
};

static int on_peer(const mt_store_peer *p, void *payload)
{
	struct peers *x = payload;
	assert_true(x->n < 4);
	snprintf(x->url[x->n], 64, "%s", p->url);
	snprintf(x->id[x->n], MT_NODE_ID_MAX, "%s", p->node_id);
	snprintf(x->error[x->n], 64, "%s", p->last_error);
	x->added[x->n] = p->added;
	x->last_sync[x->n] = p->last_sync;
	x->lag[x->n] = p->lag;
	x->n++;
	return 0;
}

static void test_peers_and_quota(void **state)
{
	struct fx *f = *state;
	assert_int_equal(mt_store_peer_put(f->s, "http://b", f->id[1], 100, NULL), 0);
	assert_int_equal(mt_store_peer_put(f->s, "http://a", f->id[0], 200, NULL), 0);
	assert_int_equal(mt_store_peer_synced(f->s, "http://b", 300, "timeout", 42, NULL), 0);
	assert_int_equal(mt_store_peer_synced(f->s, "http://none", 300, "", 0, NULL), 0);
	/* re-adding a URL: the new Node ID, the rest kept */
	assert_int_equal(mt_store_peer_put(f->s, "http://b", f->id[2], 999, NULL), 0);
	struct peers p = {0};
	assert_int_equal(mt_store_peers(f->s, on_peer, &p, NULL), 0);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.url[0], "http://a");
	assert_int_equal(p.added[0], 200);
	assert_int_equal(p.last_sync[0], 0);
	assert_string_equal(p.error[0], "");
	assert_string_equal(p.url[1], "http://b");
	assert_string_equal(p.id[1], f->id[2]);
	assert_int_equal(p.added[1], 100);
	assert_int_equal(p.last_sync[1], 300);
	assert_string_equal(p.error[1], "timeout");
	assert_int_equal(p.lag[1], 42);

	uint64_t n = 9;
	assert_int_equal(mt_store_quota_sum(f->s, 1, "k", 0, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_int_equal(mt_store_quota_add(f->s, 1, "k", 10, 3, NULL), 0);
	assert_int_equal(mt_store_quota_add(f->s, 1, "k", 10, 4, NULL), 0);
	assert_int_equal(mt_store_quota_add(f->s, 1, "k", 20, 5, NULL), 0);
	assert_int_equal(mt_store_quota_add(f->s, 2, "k", 20, 100, NULL), 0);
	assert_int_equal(mt_store_quota_add(f->s, 1, "j", 20, 100, NULL), 0);
	assert_int_equal(mt_store_quota_sum(f->s, 1, "k", 9, &n, NULL), 0);
	assert_int_equal(n, 12);
	assert_int_equal(mt_store_quota_sum(f->s, 1, "k", 10, &n, NULL), 0);
	assert_int_equal(n, 5);
	assert_int_equal(mt_store_quota_prune(f->s, 10, NULL), 0);
	assert_int_equal(mt_store_quota_sum(f->s, 1, "k", 0, &n, NULL), 0);
	assert_int_equal(n, 5);
	assert_int_equal(mt_store_quota_sum(f->s, 2, "k", 0, &n, NULL), 0);
	assert_int_equal(n, 100);
	/* local tables: not in the derived state */
	char *dump = NULL;
	assert_int_equal(mt_store_derived_dump(f->s, &dump, NULL), 0);
	assert_null(strstr(dump, "http://"));
	free(dump);
}

/* ---- schema 4, revision 1 --------------------------------------------------------------------- */

static int user_version(mt_store *s)
{
	sqlite3_stmt *q = NULL;
	assert_int_equal(sqlite3_prepare_v2(mt_store_db(s), "PRAGMA user_version", -1, &q, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	int v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return v;
}

/* What schema 5 added (key events), taken away again: the store as version
 * 4 left it. */
#define UNDO_SCHEMA_5                                                                              \
	"ALTER TABLE feeds DROP COLUMN head_ts; ALTER TABLE feeds DROP COLUMN commitment;"        \
	"ALTER TABLE feeds DROP COLUMN commit_seq; ALTER TABLE feeds DROP COLUMN kflags;"         \
	"DROP TABLE own_signed; DROP TABLE own_adopted; DROP TABLE key_notes;"                    \
	"DROP TABLE key_rotates; DROP TABLE revokes; ALTER TABLE statements DROP COLUMN seen;"    \
	"DROP TABLE names;"

static void test_migration_keeps_node_tables(void **state)
{
	MT_TEST_SQLITE_ONLY();
	struct fx *f = *state;
	assert_int_equal(user_version(f->s), MT_STORE_SCHEMA);
	assert_int_equal(MT_STORE_SCHEMA, 5);
	mt_stmt *a = next(f, 0, trust_body(f, 1), T0);
	ingest(f->s, a);
	/* a store of version 3 whose node tables the node module had created */
	assert_int_equal(mt_store_peer_put(f->s, "http://kept", f->id[1], 5, NULL), 0);
	assert_int_equal(mt_store_quota_add(f->s, 1, "k", 10, 3, NULL), 0);
	/* and a derived row no statement accounts for: the upgrade to 4 adds
	 * only local tables, but the one to 5 re-derives (SPEC §9.1: stores
	 * made before feed time are re-derived on upgrade), which drops it */
	assert_int_equal(sqlite3_exec(mt_store_db(f->s),
				      "INSERT INTO bridges(iss, scope, seq) "
				      "SELECT iss, 'nowhere', seq FROM statements LIMIT 1;" UNDO_SCHEMA_5
				      "PRAGMA user_version=3",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	mt_store_close(f->s);
	assert_int_equal(mt_test_store_open(&f->s, f->path, NULL), 0);
	assert_int_equal(user_version(f->s), 5);
	struct peers p = {0};
	assert_int_equal(mt_store_peers(f->s, on_peer, &p, NULL), 0);
	assert_int_equal(p.n, 1);
	assert_string_equal(p.url[0], "http://kept");
	uint64_t n = 0;
	assert_int_equal(mt_store_quota_sum(f->s, 1, "k", 0, &n, NULL), 0);
	assert_int_equal(n, 3);
	char *dump = NULL;
	assert_int_equal(mt_store_derived_dump(f->s, &dump, NULL), 0);
	assert_null(strstr(dump, "nowhere"));
	free(dump);

	/* a version 3 store the node never touched gets the tables */
	assert_int_equal(sqlite3_exec(mt_store_db(f->s),
				      "DROP TABLE node_peers; DROP TABLE node_quota;" UNDO_SCHEMA_5
				      "PRAGMA user_version=3",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	mt_store_close(f->s);
	assert_int_equal(mt_test_store_open(&f->s, f->path, NULL), 0);
	assert_int_equal(user_version(f->s), 5);
	memset(&p, 0, sizeof p);
	assert_int_equal(mt_store_peers(f->s, on_peer, &p, NULL), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(mt_store_peer_put(f->s, "http://new", f->id[1], 5, NULL), 0);
	mt_stmt_free(a);
}

/* A version 4 store holding a feed whose ts goes back: the upgrade to 5
 * re-derives it, and the feed then stops before the statement (SPEC §9.1). */
static void test_upgrade_rederives_feed_time(void **state)
{
	MT_TEST_SQLITE_ONLY();
	struct fx *f = *state;
	mt_stmt *a = next(f, 0, trust_body(f, 1), T0 + 100);
	mt_stmt *b = next(f, 0, trust_body(f, 2), T0); /* ts goes back */
	ingest(f->s, a);
	ingest(f->s, b);
	mt_feed_info fi;
	assert_int_equal(mt_store_feed(f->s, f->id[0], &fi, NULL), 0);
	assert_int_equal(fi.head_seq, 1);
	/* as a version 4 store would hold it: both applied */
	assert_int_equal(sqlite3_exec(mt_store_db(f->s),
				      "UPDATE statements SET applied=1;" UNDO_SCHEMA_5
				      "UPDATE feeds SET head_seq=2; PRAGMA user_version=4",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	mt_store_close(f->s);
	assert_int_equal(mt_test_store_open(&f->s, f->path, NULL), 0);
	assert_int_equal(user_version(f->s), 5);
	assert_int_equal(mt_store_feed(f->s, f->id[0], &fi, NULL), 0);
	assert_int_equal(fi.head_seq, 1);
	char *dump = NULL;
	assert_int_equal(mt_store_derived_dump(f->s, &dump, NULL), 0);
	assert_non_null(strstr(dump, "ts-back"));
	free(dump);
	mt_stmt_free(a);
	mt_stmt_free(b);
}

static void test_revision_1_backend(void **state)
{
	struct fx *f = *state;
	mt_store_backend *own = NULL;
	char path[4300];
	snprintf(path, sizeof path, "%s/v1.db", f->dir);
	assert_int_equal(mt_store_sqlite_backend(&own, path, NULL), 0);
	own->version = 1; /* as if written before revision 2 */
	own->contains = NULL;
	mt_store *s = NULL;
	assert_int_equal(mt_store_open_backend(&s, own, NULL), 0);
	mt_error err = {0};
	int found = 0;
	unsigned char id[32] = {0};
	assert_int_equal(mt_store_contains(s, id, &found, &err), MT_EINVAL);
	assert_non_null(strstr(err.msg, "has no operation contains"));
	uint64_t v;
	assert_int_equal(mt_store_change_counter(s, &v, &err), MT_EINVAL);
	mt_store_lessons_overlay_end(s); /* harmless */
	assert_int_equal(mt_store_config_set(s, "k", "v", NULL), 0);
	mt_store_close(s);

	/* revision 2 requires its operations */
	assert_int_equal(mt_store_sqlite_backend(&own, path, NULL), 0);
	own->quota_prune = NULL;
	assert_int_equal(mt_store_open_backend(&s, own, &err), MT_EINVAL);
	assert_non_null(strstr(err.msg, "lacks operation quota_prune"));
	own->free(own);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_foreach_type_and_contains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lessons_match, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lessons_overlay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_feeds_recent_forks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_counter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_since, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peers_and_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_keeps_node_tables, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_upgrade_rederives_feed_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revision_1_backend, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
