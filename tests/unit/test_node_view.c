/* The node's view followed by differences (node__view_next, issue #22 item
 * 2): after every random batch of statements — trust edges added, changed,
 * revoked, given expiries in the past and the future, in two scopes;
 * statements held back and stored after their successors (a gap filled
 * pulls the held ones); lessons and bridges; a fork — the view patched from
 * the previous one equals a view built from scratch: digest, count, the
 * engine's byte image, every scope's answers, the horizon, the re-announced
 * set, the bridges. The patch path must be the one taken for most batches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "meshtrust/snapshot.h"
#include "meshtrust/store.h"
#include "node/node_int.h"
#include "testutil.h"
#include "teststore.h"

#define T0 1700000000
#define NOW (T0 + 5000)
#define K 10

static uint64_t rnd_state = 0x2545F4914F6CDD1DULL;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 0x2545F4914F6CDD1DULL;
}

struct world {
	char *dir;
	char path[4200];
	mt_store *s;
	mt_keypair k[K];
	char id[K][MT_NODE_ID_MAX];
	uint64_t seq[K];
	unsigned char prev[K][32];
	mt_stmt *held[K]; /* a statement signed, not stored yet */
};

static mt_stmt *sign_next(struct world *w, int i, json_t *body)
{
	mt_stmt *st = NULL;
	mt_error err = {0};
	if (mt_stmt_sign(&st, body, &w->k[i], w->seq[i] + 1, w->seq[i] ? w->prev[i] : NULL,
			 T0 + (int64_t)w->seq[i], &err) != 0)
		fail_msg("sign: %s", err.msg);
	json_decref(body);
	w->seq[i]++;
	memcpy(w->prev[i], st->id, 32);
	return st;
}

static void store_it(struct world *w, mt_stmt *st)
{
	mt_ingest_result r;
	mt_error err = {0};
	if (mt_store_ingest(w->s, st, &r, &err) != 0)
		fail_msg("ingest: %s", err.msg);
	mt_stmt_free(st);
}

static const char *const SCOPES[] = {"global", "coop:a"};
static const char *const LEVELS[] = {"full", "limited", "none"};

/* One random statement of issuer i (trust mostly). */
static json_t *random_body(struct world *w, int i)
{
	int j = (int)(rnd() % (K - 1));
	if (j >= i)
		j++;
	const char *scope = SCOPES[rnd() % 2];
	(void)scope;
	unsigned r = (unsigned)(rnd() % 100);
	if (r < 60) {
		json_t *b = json_pack("{s:s,s:s,s:s,s:s,s:i}", "type", "trust", "target", w->id[j],
				      "level", LEVELS[rnd() % 3], "scope", scope, "score",
				      (int)(1 + rnd() % 1000));
		if (rnd() % 4 == 0) /* an expiry, passed or to come at NOW */
			json_object_set_new(b, "exp", json_integer(NOW - 2000 + (json_int_t)(rnd() % 4000)));
		return b;
	}
	if (r < 85)
		return json_pack("{s:s,s:s,s:s}", "type", "revoke", "target", w->id[j], "scope", scope);
	if (r < 95)
		return json_pack("{s:s,s:[s],s:s,s:s}", "type", "lesson", "topics", "t", "title", "x",
				 "body", "y");
	return json_pack("{s:s,s:[s,s]}", "type", "bridge", "scopes", SCOPES[0], SCOPES[1]);
}

static void same_results(node_view *a, node_view *b, const char *scope)
{
	node_scope_view *x = node__view_scope(a, scope), *y = node__view_scope(b, scope);
	assert_non_null(x);
	assert_non_null(y);
	assert_int_equal(x->res->count, y->res->count);
	for (size_t k = 0; k < x->res->count; k++) {
		const mt_trust_entry *p = &x->res->entries[k], *q = &y->res->entries[k];
		assert_string_equal(p->id, q->id);
		assert_true(p->score == q->score);
		assert_int_equal(p->level, q->level);
		assert_int_equal(p->hops, q->hops);
		assert_string_equal(p->via_id, q->via_id);
	}
}

static void same_view(node_view *a, node_view *b)
{
	assert_string_equal(a->digest, b->digest);
	assert_int_equal(a->count, b->count);
	assert_int_equal(a->pos, b->pos);
	unsigned char *ia = NULL, *ib = NULL;
	size_t la = 0, lb = 0;
	assert_int_equal(mt_engine_snapshot_encode(a->engine, &ia, &la, NULL), 0);
	assert_int_equal(mt_engine_snapshot_encode(b->engine, &ib, &lb, NULL), 0);
	assert_int_equal(la, lb);
	assert_memory_equal(ia, ib, la);
	free(ia);
	free(ib);
	assert_true(json_equal(a->horizon, b->horizon));
	assert_true(json_equal(a->reannounce, b->reannounce));
	assert_true(json_equal(a->scope_count, b->scope_count));
	assert_true(json_equal(a->bridges, b->bridges));
	assert_true(json_equal(a->rotated_away, b->rotated_away));
	for (size_t i = 0; i < 2; i++)
		same_results(a, b, SCOPES[i]);
	/* the edges made on first use are the engine's */
	assert_int_equal(node__view_edges(a), 0);
	assert_int_equal(node__view_edges(b), 0);
	assert_int_equal(a->n_edges, b->n_edges);
}

static const double DECAY[] = {1.0, 0.8, 0.6};

static void test_follow_equals_rebuild(void **state)
{
	(void)state;
	struct world *w = calloc(1, sizeof *w);
	w->dir = mt_test_tmpdir();
	snprintf(w->path, sizeof w->path, "%s/trust.db", w->dir);
	assert_int_equal(mt_test_store_open(&w->s, w->path, NULL), 0);
	mt_test_keypairs(w->k, w->id, K, 0x77);
	mt_error err = {0};
	node_view *cur = NULL;
	int how = -1, hows[3] = {0};
	assert_int_equal(node__view_next(&cur, NULL, w->s, w->id[0], 3, DECAY, 3, NOW, &how, &err), 0);
	assert_int_equal(how, 0);
	int forked = 0;
	for (int round = 0; round < 120; round++) {
		int batch = 1 + (int)(rnd() % 12);
		if (round % 17 == 5)
			batch = 0; /* nothing stored: the engine and ids are shared */
		for (int b = 0; b < batch; b++) {
			int i = (int)(rnd() % K);
			if (w->held[i] && rnd() % 3 == 0) { /* the gap filled */
				store_it(w, w->held[i]);
				w->held[i] = NULL;
				continue;
			}
			mt_stmt *st = sign_next(w, i, random_body(w, i));
			if (!w->held[i] && i != 0 && rnd() % 8 == 0)
				w->held[i] = st; /* stored after its successors */
			else
				store_it(w, st);
		}
		if (round == 91 && !forked) { /* a fork of issuer 3: the full build */
			w->seq[3] = w->seq[3] > 1 ? w->seq[3] - 1 : 0;
			mt_stmt *f = sign_next(w, 3, json_pack("{s:s,s:s,s:s}", "type", "trust", "target",
							      w->id[4], "level", "full"));
			store_it(w, f);
			forked = 1;
		}
		node_view *next = NULL, *full = NULL;
		if (node__view_next(&next, cur, w->s, w->id[0], 3, DECAY, 3, NOW, &how, &err) != 0)
			fail_msg("round %d: view_next: %s", round, err.msg);
		hows[how]++;
		if (node__view_build(&full, w->s, w->id[0], 3, DECAY, 3, NOW, &err) != 0)
			fail_msg("round %d: view_build: %s", round, err.msg);
		same_view(next, full);
		if (batch == 0 && how != 2)
			fail_msg("round %d: nothing stored, yet how %d", round, how);
		node__view_free(full);
		node__view_free(cur);
		cur = next;
	}
	/* the patch was the path taken, and the other two were exercised */
	assert_true(hows[1] >= 80);
	assert_true(hows[2] >= 5);
	assert_true(hows[0] >= 1);
	/* other settings: the full build */
	node_view *other = NULL;
	assert_int_equal(node__view_next(&other, cur, w->s, w->id[0], 2, DECAY, 3, NOW, &how, &err), 0);
	assert_int_equal(how, 0);
	assert_int_equal(other->max_depth, 2);
	node__view_free(other);
	node__view_free(cur);
	for (int i = 0; i < K; i++)
		mt_stmt_free(w->held[i]);
	mt_store_close(w->s);
	mt_test_store_drop(w->path);
	mt_test_rmtree(w->dir);
	free(w->dir);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_follow_equals_rebuild),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
