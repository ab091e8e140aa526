/* Proof-of-trust follows rotation chains (SPEC §9.2): a founder A rotated to
 * A2 is a member as A2 with A's `since`; A2 opens a round and commits, the
 * rotation lands between A's commit and A2's reveal (the commitment names
 * the committing statement's own iss); the candidate admitted; a move by the
 * old ID after the rotation still counts for the chain; without the chains
 * the same statements give A2 no membership. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>

#include "test_pot_world.h"

#define T0 1700000000
#define DAY 86400

static mt_pot_state *derive_chains(world *w, int64_t at, const mt_pot_alias *al, size_t n)
{
	mt_pot_state *st = NULL;
	mt_error err = {0};
	if (mt_pot_derive_chains(&st, (const mt_stmt *const *)w->s, w->ns, at, al, n, &err) != 0)
		fail_msg("derive: %s", err.msg);
	return st;
}

static void test_member_follows_rotation(void **state)
{
	(void)state;
	world *w = w_new();
	actor *a = w_actor(w), *b = w_actor(w), *c = w_actor(w), *a2 = w_actor(w);
	actor *f[] = {a, b};
	mt_stmt *g = w_genesis(w, a, T0, "coop:x", f, 2, DAY, 7 * DAY, 2);
	/* A opens and commits as A; the rotation A -> A2 follows; A2 reveals. */
	mt_stmt *o = w_open(w, a, T0 + 2 * DAY, g, c->id, b->id, T0 + 3 * DAY);
	char rid[65];
	mt_stmt_id_hex(rid, o);
	w_commit(w, a, T0 + 2 * DAY + 10, rid, "cooperate");
	w_commit(w, b, T0 + 2 * DAY + 20, rid, "cooperate");
	/* A2 reveals with A's nonce (the owner keeps the nonce across the rotation). */
	char nonce[65];
	w_nonce(nonce, a, rid);
	w_reveal_raw(w, a2, T0 + 2 * DAY + 30, rid, "cooperate", nonce);
	w_reveal(w, b, T0 + 2 * DAY + 40, rid, "cooperate");
	mt_pot_alias al[] = {{a->id, a2->id}};

	mt_pot_state *st = derive_chains(w, T0 + 10 * DAY, al, 1);
	const mt_pot_community *cm = mt_pot_community_get(st, w_hex(g));
	assert_non_null(cm);
	const mt_pot_member *m = mt_pot_member_get(cm, a2->id);
	assert_non_null(m); /* A2 is the member A was */
	assert_int_equal(m->since, T0);
	assert_null(mt_pot_member_get(cm, a->id));
	const mt_pot_round *r = mt_pot_round_get(st, rid);
	assert_non_null(r);
	assert_string_equal(r->party[0], a2->id);
	assert_int_equal(r->stage, MT_POT_STAGE_RESOLVED);
	assert_non_null(mt_pot_member_get(cm, c->id)); /* admitted */
	assert_int_equal(st->n_refusals, 0);
	mt_pot_state_free(st);

	/* Without the chain, A2 is nobody: its reveal is refused. */
	st = w_derive(w, T0 + 10 * DAY);
	cm = mt_pot_community_get(st, w_hex(g));
	assert_null(mt_pot_member_get(cm, a2->id));
	assert_true(st->n_refusals >= 1);
	mt_pot_state_free(st);
	w_free(w);
}

/* A move by the old ID after the rotation counts for the chain: one
 * identity, one stake (SPEC §9.2: a move by any ID of the chain counts). */
static void test_old_id_move_counts_for_chain(void **state)
{
	(void)state;
	world *w = w_new();
	actor *a = w_actor(w), *b = w_actor(w), *c = w_actor(w), *d = w_actor(w), *a2 = w_actor(w);
	actor *f[] = {a, b, d};
	mt_stmt *g = w_genesis(w, a, T0, "coop:y", f, 3, DAY, 7 * DAY, 2);
	/* A2 opens a round with B; then the old A opens another: the chain's
	 * stake is taken, so the second is refused as staked. */
	w_open(w, a2, T0 + 2 * DAY, g, c->id, b->id, T0 + 3 * DAY);
	mt_stmt *o2 = w_open(w, a, T0 + 2 * DAY + 5, g, c->id, d->id, T0 + 3 * DAY);
	mt_pot_alias al[] = {{a->id, a2->id}};
	mt_pot_state *st = derive_chains(w, T0 + 2 * DAY + 100, al, 1);
	const mt_pot_refusal *rf = mt_pot_refusal_get(st, w_hex(o2));
	assert_non_null(rf);
	mt_pot_state_free(st);
	w_free(w);
}

int main(void)
{
	(void)w_claim; /* the world's helper set, not all needed here */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_member_follows_rotation),
	    cmocka_unit_test(test_old_id_move_counts_for_chain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
