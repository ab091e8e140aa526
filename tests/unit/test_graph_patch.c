/* Incremental engine update (mt_engine_patch) and the edge list
 * (mt_engine_edges): a patched engine has the same snapshot image as
 * mt_engine_new over the edges after the changes (equal images mean equal
 * engines), the old engine is left as it was, and bad changes are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meshtrust/engine.h"
#include "meshtrust/snapshot.h"

static uint64_t rng(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ---- images ------------------------------------------------------------------ */

typedef struct image {
	unsigned char *p;
	size_t len;
} image;

static image image_of(const mt_engine *e)
{
	image im = {NULL, 0};
	mt_error err = {0};
	assert_int_equal(mt_engine_snapshot_encode(e, &im.p, &im.len, &err), 0);
	return im;
}

static void assert_same_image(const mt_engine *a, const mt_engine *b)
{
	image x = image_of(a), y = image_of(b);
	assert_int_equal(x.len, y.len);
	assert_memory_equal(x.p, y.p, x.len);
	free(x.p);
	free(y.p);
}

static void assert_image_is(const mt_engine *e, const image *im)
{
	image x = image_of(e);
	assert_int_equal(x.len, im->len);
	assert_memory_equal(x.p, im->p, x.len);
	free(x.p);
}

static mt_engine *build(const mt_edge_in *edges, size_t n)
{
	mt_engine *e = NULL;
	mt_error err = {0};
	if (mt_engine_new(&e, edges, n, &err) != 0)
		fail_msg("mt_engine_new: %s", err.msg);
	return e;
}

static mt_engine *patch(const mt_engine *old, const mt_edge_change *c, size_t n)
{
	mt_engine *e = NULL;
	mt_error err = {0};
	if (mt_engine_patch(&e, old, c, n, &err) != 0)
		fail_msg("mt_engine_patch: %s", err.msg);
	assert_non_null(e);
	assert_ptr_not_equal(e, old);
	return e;
}

/* mt_engine_edges gives the engine's edges in (scope, src, dst) order and
 * mt_engine_new over them gives the same image. */
static void assert_edges_round_trip(const mt_engine *e)
{
	mt_edge_in *v = NULL;
	size_t n = 7;
	mt_error err = {0};
	assert_int_equal(mt_engine_edges(e, &v, &n, &err), 0);
	mt_engine_stats st;
	mt_engine_stats_get(e, &st);
	assert_int_equal(n, st.edges);
	assert_true(n > 0 || v == NULL);
	for (size_t i = 1; i < n; i++) {
		int c = strcmp(v[i - 1].scope, v[i].scope);
		if (c == 0)
			c = strcmp(v[i - 1].src, v[i].src);
		if (c == 0)
			c = strcmp(v[i - 1].dst, v[i].dst);
		assert_true(c < 0);
	}
	mt_engine *r = build(v, n);
	assert_same_image(e, r);
	mt_engine_free(r);
	free(v);
}

static mt_edge_change set(const char *src, const char *dst, const char *scope, mt_level level, uint16_t score,
			  int64_t exp)
{
	return (mt_edge_change){{src, dst, scope, level, score, exp}, 0};
}

static mt_edge_change del(const char *src, const char *dst, const char *scope)
{
	return (mt_edge_change){{src, dst, scope, MT_LEVEL_FULL, 0, -1}, 1}; /* level/score/exp ignored */
}

/* patch(old_edges, changes) must equal new(expected). */
static void check_patch(const mt_edge_in *before, size_t n_before, const mt_edge_change *c, size_t n_c,
			const mt_edge_in *after, size_t n_after)
{
	mt_engine *old = build(before, n_before);
	image im_old = image_of(old);
	mt_engine *p = patch(old, c, n_c);
	mt_engine *want = build(after, n_after);
	assert_same_image(p, want);
	assert_image_is(old, &im_old); /* untouched */
	assert_edges_round_trip(p);
	mt_engine_free(want);
	mt_engine_free(p);
	mt_engine_free(old);
	free(im_old.p);
}

/* ---- hand-written cases -------------------------------------------------------- */

#define A "12D3KooWBaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B "12D3KooWMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define C "12D3KooWTccccccccccccccccccccccccccccccccccccccccccc"
#define FIRST "0 sorts before every Node ID"
#define MID "12D3KooWFffffffffffffffffffffffffffffffffffffffffff"
#define LAST "zz sorts after every Node ID"

static const mt_edge_in base[] = {
	{A, B, "global", MT_LEVEL_FULL, 900, 0},
	{B, C, "global", MT_LEVEL_LIMITED, 500, 3000},
	{C, A, "global", MT_LEVEL_NONE, 0, 0},
	{A, C, "coop:m", MT_LEVEL_FULL, 700, 2000},
	{B, A, "coop:m", MT_LEVEL_FULL, 10, 0},
};
#define N_BASE (sizeof base / sizeof base[0])

static void test_no_changes_is_a_copy(void **state)
{
	(void)state;
	check_patch(base, N_BASE, NULL, 0, base, N_BASE);
	check_patch(NULL, 0, NULL, 0, NULL, 0); /* an empty engine */
	/* a batch whose every change is a no-op */
	mt_edge_change c[] = {del(A, C, "global"), del(FIRST, LAST, "global"), del(A, B, "no-such-scope"),
			      del(LAST, MID, "aaa")};
	check_patch(base, N_BASE, c, 4, base, N_BASE);
	/* re-setting edges to what they are */
	mt_edge_change same[N_BASE];
	for (size_t i = 0; i < N_BASE; i++)
		same[i] = (mt_edge_change){base[i], 0};
	check_patch(base, N_BASE, same, N_BASE, base, N_BASE);
}

static void test_empty_old_engine(void **state)
{
	(void)state;
	mt_edge_change c[N_BASE + 1];
	for (size_t i = 0; i < N_BASE; i++)
		c[i] = (mt_edge_change){base[N_BASE - 1 - i], 0};
	c[N_BASE] = del(A, LAST, "global");
	check_patch(NULL, 0, c, N_BASE + 1, base, N_BASE);
}

static void test_all_edges_removed(void **state)
{
	(void)state;
	mt_edge_change c[N_BASE];
	for (size_t i = 0; i < N_BASE; i++)
		c[i] = del(base[i].src, base[i].dst, base[i].scope);
	check_patch(base, N_BASE, c, N_BASE, NULL, 0);
	mt_engine *old = build(base, N_BASE), *p = patch(old, c, N_BASE);
	assert_int_equal(mt_engine_node_count(p), 0);
	size_t ns = 9;
	mt_engine_scopes(p, &ns);
	assert_int_equal(ns, 0);
	/* and back from nothing */
	mt_edge_change back[N_BASE];
	for (size_t i = 0; i < N_BASE; i++)
		back[i] = (mt_edge_change){base[i], 0};
	mt_engine *q = patch(p, back, N_BASE);
	assert_same_image(q, old);
	mt_engine_free(q);
	mt_engine_free(p);
	mt_engine_free(old);
}

static void test_scopes_appear_and_disappear(void **state)
{
	(void)state;
	/* coop:m goes, "aaa" (before all), "coop:n" (between), "zzz" (after) come */
	mt_edge_change c[] = {
		set(A, B, "zzz", MT_LEVEL_FULL, 1, 0), del(A, C, "coop:m"),         set(C, B, "aaa", MT_LEVEL_NONE, 0, 5),
		del(B, A, "coop:m"),                   set(B, C, "coop:n", MT_LEVEL_LIMITED, 1000, 0),
	};
	const mt_edge_in after[] = {
		base[0], base[1], base[2], {A, B, "zzz", MT_LEVEL_FULL, 1, 0}, {C, B, "aaa", MT_LEVEL_NONE, 0, 5},
		{B, C, "coop:n", MT_LEVEL_LIMITED, 1000, 0},
	};
	check_patch(base, N_BASE, c, 5, after, 6);
	mt_engine *old = build(base, N_BASE), *p = patch(old, c, 5);
	size_t ns = 0;
	const char *const *names = mt_engine_scopes(p, &ns);
	assert_int_equal(ns, 4);
	assert_string_equal(names[0], "aaa");
	assert_string_equal(names[1], "coop:n");
	assert_string_equal(names[2], "global");
	assert_string_equal(names[3], "zzz");
	mt_engine_free(p);
	mt_engine_free(old);
}

static void test_new_ids_before_between_after(void **state)
{
	(void)state;
	mt_edge_change c[] = {
		set(FIRST, A, "global", MT_LEVEL_FULL, 100, 0),
		set(MID, LAST, "coop:m", MT_LEVEL_LIMITED, 200, 7),
		set(C, MID, "global", MT_LEVEL_FULL, 300, 0),
		set(LAST, FIRST, "global", MT_LEVEL_NONE, 999, 0), /* a none edge's score is dropped */
	};
	const mt_edge_in after[] = {
		base[0], base[1], base[2], base[3], base[4],
		{FIRST, A, "global", MT_LEVEL_FULL, 100, 0},    {MID, LAST, "coop:m", MT_LEVEL_LIMITED, 200, 7},
		{C, MID, "global", MT_LEVEL_FULL, 300, 0},      {LAST, FIRST, "global", MT_LEVEL_NONE, 0, 0},
	};
	check_patch(base, N_BASE, c, 4, after, 9);
	mt_engine *old = build(base, N_BASE), *p = patch(old, c, 4);
	assert_int_equal(mt_engine_node_count(p), 6);
	assert_string_equal(mt_engine_node_id(p, 0), FIRST);
	assert_string_equal(mt_engine_node_id(p, 1), A);
	assert_string_equal(mt_engine_node_id(p, 2), MID);
	assert_string_equal(mt_engine_node_id(p, 3), B);
	assert_string_equal(mt_engine_node_id(p, 4), C);
	assert_string_equal(mt_engine_node_id(p, 5), LAST);
	assert_int_equal(mt_engine_node_index(old, MID), -1); /* old engine: as it was */
	mt_engine_free(p);
	mt_engine_free(old);
}

static void test_node_disappears(void **state)
{
	(void)state;
	/* every edge touching B goes (as src and as dst, in both scopes): B goes;
	 * A loses its out-edges in global but stays as a target */
	mt_edge_change c[] = {del(A, B, "global"), del(B, C, "global"), del(B, A, "coop:m"),
			      set(C, A, "coop:m", MT_LEVEL_FULL, 5, 0)};
	const mt_edge_in after[] = {base[2], base[3], {C, A, "coop:m", MT_LEVEL_FULL, 5, 0}};
	check_patch(base, N_BASE, c, 4, after, 3);
	mt_engine *old = build(base, N_BASE), *p = patch(old, c, 4);
	assert_int_equal(mt_engine_node_count(p), 2);
	assert_int_equal(mt_engine_node_index(p, B), -1);
	assert_int_equal(mt_engine_node_index(p, C), 1);
	mt_engine_free(p);
	mt_engine_free(old);
	/* a new node named only by a change undone later in the batch never appears */
	mt_edge_change d[] = {set(MID, A, "global", MT_LEVEL_FULL, 5, 0), del(MID, A, "global")};
	check_patch(base, N_BASE, d, 2, base, N_BASE);
}

static void test_expiries(void **state)
{
	(void)state;
	mt_edge_change c[] = {
		set(A, B, "global", MT_LEVEL_FULL, 900, 4000),      /* gains an expiry */
		set(B, C, "global", MT_LEVEL_LIMITED, 500, 0),      /* loses its expiry */
		set(A, C, "coop:m", MT_LEVEL_FULL, 700, 2500),      /* another expiry */
		set(FIRST, B, "coop:m", MT_LEVEL_FULL, 1, 99),      /* a row with an expiry before all */
		set(B, C, "coop:m", MT_LEVEL_FULL, 2, 0),           /* after B -> A (10, no expiry) */
		set(C, B, "coop:m", MT_LEVEL_NONE, 0, 123456789),   /* after everything */
	};
	const mt_edge_in after[] = {
		{A, B, "global", MT_LEVEL_FULL, 900, 4000}, {B, C, "global", MT_LEVEL_LIMITED, 500, 0},
		base[2],                                    {A, C, "coop:m", MT_LEVEL_FULL, 700, 2500},
		base[4],                                    {FIRST, B, "coop:m", MT_LEVEL_FULL, 1, 99},
		{B, C, "coop:m", MT_LEVEL_FULL, 2, 0},      {C, B, "coop:m", MT_LEVEL_NONE, 0, 123456789},
	};
	check_patch(base, N_BASE, c, 6, after, 8);
	/* the expiries read back through mt_engine_edges */
	mt_engine *old = build(base, N_BASE), *p = patch(old, c, 6);
	mt_edge_in *v = NULL;
	size_t n = 0;
	mt_error err = {0};
	assert_int_equal(mt_engine_edges(p, &v, &n, &err), 0);
	assert_int_equal(n, 8);
	int64_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += v[i].exp;
	assert_int_equal(sum, 4000 + 2500 + 99 + 123456789);
	free(v);
	/* removing every edge with an expiry leaves no expiry table */
	mt_edge_change d[] = {del(A, B, "global"), del(A, C, "coop:m"), del(FIRST, B, "coop:m"), del(C, B, "coop:m")};
	mt_engine *q = patch(p, d, 4);
	const mt_edge_in after2[] = {after[1], after[2], after[4], after[6]};
	mt_engine *want = build(after2, 4);
	assert_same_image(q, want);
	mt_engine_free(want);
	mt_engine_free(q);
	mt_engine_free(p);
	mt_engine_free(old);
}

static void test_last_change_wins(void **state)
{
	(void)state;
	mt_edge_change c[] = {
		set(A, MID, "global", MT_LEVEL_FULL, 1, 0), del(A, MID, "global"),           /* set, remove: absent */
		del(C, B, "global"),                        set(C, B, "global", MT_LEVEL_FULL, 2, 0), /* remove, set */
		set(A, B, "global", MT_LEVEL_NONE, 0, 0),   set(A, B, "global", MT_LEVEL_LIMITED, 3, 9), /* twice */
		del(B, C, "global"),                        del(B, C, "global"),             /* removed twice */
		set(C, A, "coop:x", MT_LEVEL_FULL, 4, 0),   del(C, A, "coop:x"),
		set(C, A, "coop:x", MT_LEVEL_FULL, 5, 0), /* set, remove, set */
	};
	const mt_edge_in after[] = {
		{A, B, "global", MT_LEVEL_LIMITED, 3, 9}, base[2], base[3], base[4], {C, B, "global", MT_LEVEL_FULL, 2, 0},
		{C, A, "coop:x", MT_LEVEL_FULL, 5, 0},
	};
	check_patch(base, N_BASE, c, sizeof c / sizeof c[0], after, 6);
}

/* The engine keeps its own copies: the change strings may go right after. */
static void test_strings_copied(void **state)
{
	(void)state;
	char *s = strdup(FIRST), *d = strdup(A), *sc = strdup("coop:tmp");
	mt_edge_change c[] = {set(s, d, sc, MT_LEVEL_FULL, 50, 0)};
	mt_engine *old = build(base, N_BASE), *p = patch(old, c, 1);
	free(s);
	free(d);
	free(sc);
	const mt_edge_in after[] = {base[0], base[1], base[2], base[3], base[4],
				    {FIRST, A, "coop:tmp", MT_LEVEL_FULL, 50, 0}};
	mt_engine *want = build(after, 6);
	assert_same_image(p, want);
	mt_engine_free(want);
	mt_engine_free(p);
	mt_engine_free(old);
}

/* A borrowed (snapshot) engine can be the old one; it stays intact. */
static void test_patch_borrowed(void **state)
{
	(void)state;
	mt_engine *old = build(base, N_BASE);
	image im = image_of(old);
	void *copy = NULL;
	assert_int_equal(posix_memalign(&copy, 64, im.len), 0);
	memcpy(copy, im.p, im.len);
	mt_engine *b = NULL;
	mt_error err = {0};
	assert_int_equal(mt_engine_snapshot_borrow(&b, copy, im.len, NULL, NULL, &err), 0);
	mt_edge_change c[] = {set(MID, C, "global", MT_LEVEL_FULL, 8, 77), del(A, B, "global")};
	mt_engine *p = patch(b, c, 2), *q = patch(old, c, 2);
	assert_same_image(p, q);
	assert_memory_equal(copy, im.p, im.len);
	mt_engine_free(p);
	mt_engine_free(q);
	mt_engine_free(b);
	free(copy);
	free(im.p);
	mt_engine_free(old);
}

static void test_refusals(void **state)
{
	(void)state;
	mt_engine *old = build(base, N_BASE);
	image im = image_of(old);
	static const char *const bad_what[] = {"non-empty", "non-empty", "non-empty", "non-empty",
					       "self-edge",  "level",     "score",     "score",
					       "negative exp", "self-edge"};
	mt_edge_change bad[] = {
		set(NULL, A, "global", MT_LEVEL_FULL, 1, 0),
		set(A, "", "global", MT_LEVEL_FULL, 1, 0),
		set(A, B, NULL, MT_LEVEL_FULL, 1, 0),
		del(A, B, ""),
		set(A, A, "global", MT_LEVEL_FULL, 1, 0),
		set(A, B, "global", (mt_level)3, 1, 0),
		set(A, B, "global", MT_LEVEL_LIMITED, 0, 0),
		set(A, B, "global", MT_LEVEL_FULL, 1001, 0),
		set(A, B, "global", MT_LEVEL_FULL, 1, -5),
		del(B, B, "global"),
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		mt_edge_change c[4] = {set(A, C, "global", MT_LEVEL_FULL, 1, 0), set(MID, A, "x", MT_LEVEL_FULL, 2, 0),
				       bad[i], set(C, B, "global", MT_LEVEL_FULL, 3, 0)};
		mt_engine *p = (mt_engine *)&im; /* must come back NULL */
		mt_error err = {0};
		assert_int_equal(mt_engine_patch(&p, old, c, 4, &err), MT_EINVAL);
		assert_null(p);
		assert_int_equal(err.code, MT_EINVAL);
		assert_non_null(strstr(err.msg, "change 2"));
		assert_non_null(strstr(err.msg, bad_what[i]));
	}
	/* a removal's level, score and exp are not looked at */
	mt_edge_change ok = {{A, B, "global", (mt_level)7, 5000, -1}, 1};
	mt_engine *p = patch(old, &ok, 1);
	mt_engine_free(p);
	/* bad arguments */
	mt_error err = {0};
	p = (mt_engine *)&im;
	assert_int_equal(mt_engine_patch(&p, NULL, NULL, 0, &err), MT_EINVAL);
	assert_null(p);
	p = (mt_engine *)&im;
	assert_int_equal(mt_engine_patch(&p, old, NULL, 3, &err), MT_EINVAL);
	assert_null(p);
	assert_int_equal(mt_engine_patch(NULL, old, NULL, 0, &err), MT_EINVAL);
	mt_edge_in *v = NULL;
	size_t n = 0;
	assert_int_equal(mt_engine_edges(NULL, &v, &n, &err), MT_EINVAL);
	assert_int_equal(mt_engine_edges(old, NULL, &n, &err), MT_EINVAL);
	assert_int_equal(mt_engine_edges(old, &v, NULL, &err), MT_EINVAL);
	assert_image_is(old, &im);
	free(im.p);
	mt_engine_free(old);
}

/* ---- randomized: a model edge set, patched and rebuilt ------------------------ */

#define POOL 260
#define N_SCOPE_POOL 6
static const char *const scope_pool[N_SCOPE_POOL] = {"global", "coop:food", "coop:zed", "a", "zz", "coop:m"};
static char pool[POOL][64];

static const char b58[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

static void make_pool(void)
{
	uint64_t s = 777;
	for (size_t i = 0; i < POOL; i++) {
		if (i % 50 == 7) { /* a few that sort before or after every Node ID */
			snprintf(pool[i], sizeof pool[i], "%s%zu", i % 100 == 7 ? "0pre" : "~post", i);
			continue;
		}
		memcpy(pool[i], "12D3KooW", 8);
		for (size_t j = 0; j < 44; j++)
			pool[i][8 + j] = b58[rng(&s) % 58];
		pool[i][52] = 0;
	}
}

typedef struct cell {
	int32_t slot; /* index in model.keys, -1 when absent */
	mt_level level;
	uint16_t score;
	int64_t exp;
} cell;

typedef struct model {
	cell *cells;   /* [scope][src][dst] */
	uint32_t *keys; /* present cells */
	size_t n;
} model;

#define N_CELLS ((size_t)N_SCOPE_POOL * POOL * POOL)

static void model_init(model *m)
{
	m->cells = malloc(N_CELLS * sizeof *m->cells);
	m->keys = malloc(N_CELLS * sizeof *m->keys);
	assert_non_null(m->cells);
	assert_non_null(m->keys);
	for (size_t i = 0; i < N_CELLS; i++)
		m->cells[i].slot = -1;
	m->n = 0;
}

static void model_clear(model *m)
{
	for (size_t i = 0; i < m->n; i++)
		m->cells[m->keys[i]].slot = -1;
	m->n = 0;
}

static void model_free(model *m)
{
	free(m->cells);
	free(m->keys);
}

static uint32_t key_of(size_t sc, size_t a, size_t b)
{
	return (uint32_t)((sc * POOL + a) * POOL + b);
}

static void model_set(model *m, uint32_t k, mt_level level, uint16_t score, int64_t exp)
{
	cell *c = &m->cells[k];
	if (c->slot < 0) {
		c->slot = (int32_t)m->n;
		m->keys[m->n++] = k;
	}
	c->level = level;
	c->score = level == MT_LEVEL_NONE ? 0 : score;
	c->exp = exp;
}

static void model_del(model *m, uint32_t k)
{
	cell *c = &m->cells[k];
	if (c->slot < 0)
		return;
	uint32_t last = m->keys[--m->n];
	m->keys[c->slot] = last;
	m->cells[last].slot = c->slot;
	c->slot = -1;
}

/* The model's edges (any order: mt_engine_new sorts). */
static mt_edge_in *model_edges(const model *m)
{
	mt_edge_in *v = malloc((m->n ? m->n : 1) * sizeof *v);
	assert_non_null(v);
	for (size_t i = 0; i < m->n; i++) {
		uint32_t k = m->keys[i];
		const cell *c = &m->cells[k];
		v[i] = (mt_edge_in){pool[(k / POOL) % POOL], pool[k % POOL], scope_pool[k / POOL / POOL], c->level,
				    c->score, c->exp};
	}
	return v;
}

typedef struct batch {
	mt_edge_change *c;
	char **owned; /* strdup'd strings to free after the patch */
	size_t n, cap, n_owned;
} batch;

static const char *maybe_copy(batch *b, const char *s, uint64_t *r)
{
	if (rng(r) % 4)
		return s;
	char *d = strdup(s);
	b->owned[b->n_owned++] = d;
	return d;
}

/* Append a change on key k to the batch and apply it to the model. */
static void add_change(batch *b, model *m, uint32_t k, int remove, uint64_t *r)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->c = realloc(b->c, b->cap * sizeof *b->c);
		b->owned = realloc(b->owned, 3 * b->cap * sizeof *b->owned);
		assert_non_null(b->c);
		assert_non_null(b->owned);
	}
	mt_edge_change *c = &b->c[b->n++];
	c->edge.src = maybe_copy(b, pool[(k / POOL) % POOL], r);
	c->edge.dst = maybe_copy(b, pool[k % POOL], r);
	c->edge.scope = maybe_copy(b, scope_pool[k / POOL / POOL], r);
	c->remove = remove;
	if (remove) {
		c->edge.level = (mt_level)(rng(r) % 5); /* ignored */
		c->edge.score = (uint16_t)(rng(r) % 3000);
		c->edge.exp = (int64_t)(rng(r) % 100) - 50;
		model_del(m, k);
		return;
	}
	unsigned lv = (unsigned)(rng(r) % 10);
	c->edge.level = lv == 0 ? MT_LEVEL_NONE : lv < 4 ? MT_LEVEL_LIMITED : MT_LEVEL_FULL;
	c->edge.score = (uint16_t)(1 + rng(r) % 1000);
	c->edge.exp = rng(r) % 3 == 0 ? (int64_t)(1 + rng(r) % 5000) : 0;
	model_set(m, k, c->edge.level, c->edge.score, c->edge.exp);
}

static void batch_release(batch *b)
{
	for (size_t i = 0; i < b->n_owned; i++)
		free(b->owned[i]);
	b->n = b->n_owned = 0;
}

/* A random key with src != dst, endpoints and scope from the whole pools
 * (so new IDs and new scopes come in). */
static uint32_t random_key(uint64_t *r)
{
	size_t a = rng(r) % POOL, c = rng(r) % POOL;
	if (a == c)
		c = (c + 1) % POOL;
	return key_of(rng(r) % N_SCOPE_POOL, a, c);
}

/* A random batch: sets on new and present edges, removals of present and
 * absent edges, every edge of a node, of a scope or of the graph, and
 * repeats of keys changed earlier in the batch. */
static void random_batch(batch *b, model *m, uint64_t *r)
{
	size_t want = rng(r) % 60;
	for (size_t i = 0; i < want; i++) {
		unsigned kind = (unsigned)(rng(r) % 100);
		if (kind < 25) {
			add_change(b, m, random_key(r), 0, r);
		} else if (kind < 45 && m->n) {
			add_change(b, m, m->keys[rng(r) % m->n], 0, r);
		} else if (kind < 65 && m->n) {
			add_change(b, m, m->keys[rng(r) % m->n], 1, r);
		} else if (kind < 72) {
			add_change(b, m, random_key(r), 1, r);
		} else if (kind < 76 && m->n) { /* a whole node goes (as src and dst) */
			uint32_t k0 = m->keys[rng(r) % m->n];
			size_t node = rng(r) % 2 ? (k0 / POOL) % POOL : k0 % POOL;
			for (size_t j = m->n; j-- > 0;) {
				uint32_t k = m->keys[j < m->n ? j : m->n - 1];
				if ((k / POOL) % POOL == node || k % POOL == node)
					add_change(b, m, k, 1, r);
			}
		} else if (kind < 78 && m->n) { /* a whole scope goes */
			size_t sc = m->keys[rng(r) % m->n] / POOL / POOL;
			for (size_t j = m->n; j-- > 0;) {
				uint32_t k = m->keys[j < m->n ? j : m->n - 1];
				if (k / POOL / POOL == sc)
					add_change(b, m, k, 1, r);
			}
		} else if (kind < 79 && m->n) { /* every edge goes */
			while (m->n)
				add_change(b, m, m->keys[m->n - 1], 1, r);
		} else if (b->n) { /* the same key again, set or removed */
			const mt_edge_change *p = &b->c[rng(r) % b->n];
			size_t a = 0, d = 0, sc = 0;
			while (strcmp(pool[a], p->edge.src) != 0)
				a++;
			while (strcmp(pool[d], p->edge.dst) != 0)
				d++;
			while (strcmp(scope_pool[sc], p->edge.scope) != 0)
				sc++;
			add_change(b, m, key_of(sc, a, d), (int)(rng(r) % 2), r);
		}
	}
}

/* An initial graph: 1..200 nodes of the pool, 1..4 scopes. */
static void random_graph(model *m, uint64_t *r)
{
	model_clear(m);
	size_t nn = 1 + rng(r) % 200, n_sc = 1 + rng(r) % 4;
	size_t nodes[200], scs[4];
	for (size_t i = 0; i < nn; i++)
		nodes[i] = rng(r) % POOL;
	for (size_t i = 0; i < n_sc; i++)
		scs[i] = rng(r) % N_SCOPE_POOL;
	size_t edges = rng(r) % (nn * 4 + 1);
	for (size_t i = 0; i < edges; i++) {
		size_t a = nodes[rng(r) % nn], c = nodes[rng(r) % nn];
		if (a == c)
			continue;
		unsigned lv = (unsigned)(rng(r) % 10);
		mt_level level = lv == 0 ? MT_LEVEL_NONE : lv < 4 ? MT_LEVEL_LIMITED : MT_LEVEL_FULL;
		model_set(m, key_of(scs[rng(r) % n_sc], a, c), level, (uint16_t)(1 + rng(r) % 1000),
			  rng(r) % 4 == 0 ? (int64_t)(1 + rng(r) % 5000) : 0);
	}
}

static mt_engine *model_engine(const model *m)
{
	mt_edge_in *v = model_edges(m);
	mt_engine *e = build(v, m->n);
	free(v);
	return e;
}

static void test_random(void **state)
{
	(void)state;
	make_pool();
	model m;
	model_init(&m);
	batch b = {0};
	for (uint64_t seed = 1; seed <= 300; seed++) {
		uint64_t r = seed * 0x2545f4914f6cdd1dull;
		random_graph(&m, &r);
		mt_engine *old = model_engine(&m);
		image im_old = image_of(old);
		if (seed % 10 == 0)
			assert_edges_round_trip(old);
		random_batch(&b, &m, &r);
		mt_engine *p = patch(old, b.c, b.n);
		batch_release(&b); /* the new engine holds its own strings */
		mt_engine *want = model_engine(&m);
		assert_same_image(p, want);
		assert_image_is(old, &im_old);
		assert_edges_round_trip(p);
		mt_engine_free(want);
		mt_engine_free(p);
		mt_engine_free(old);
		free(im_old.p);
	}
	model_free(&m);
	free(b.c);
	free(b.owned);
}

/* Patch of a patch of a patch…: 20 steps from each start, every step equal
 * to a rebuild. */
static void test_chained(void **state)
{
	(void)state;
	make_pool();
	model m;
	model_init(&m);
	batch b = {0};
	for (uint64_t seed = 1; seed <= 12; seed++) {
		uint64_t r = seed * 0x9e3779b97f4a7c15ull + 5;
		random_graph(&m, &r);
		mt_engine *cur = model_engine(&m);
		for (int step = 0; step < 20; step++) {
			random_batch(&b, &m, &r);
			mt_engine *next = patch(cur, b.c, b.n);
			batch_release(&b);
			mt_engine *want = model_engine(&m);
			assert_same_image(next, want);
			mt_engine_free(want);
			mt_engine_free(cur);
			cur = next;
		}
		assert_edges_round_trip(cur);
		mt_engine_free(cur);
	}
	model_free(&m);
	free(b.c);
	free(b.owned);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_changes_is_a_copy),
		cmocka_unit_test(test_empty_old_engine),
		cmocka_unit_test(test_all_edges_removed),
		cmocka_unit_test(test_scopes_appear_and_disappear),
		cmocka_unit_test(test_new_ids_before_between_after),
		cmocka_unit_test(test_node_disappears),
		cmocka_unit_test(test_expiries),
		cmocka_unit_test(test_last_change_wins),
		cmocka_unit_test(test_strings_copied),
		cmocka_unit_test(test_patch_borrowed),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_chained),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
