/* Unit tests of the proof-of-trust rules (SPEC §6), one per case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "test_pot_world.h"

#define T0 1800000000LL
#define P (30 * 86400LL)
#define DL (7 * 86400LL)

/* A fixture: founders A B C F, outsiders N1..N4, a community. */
typedef struct fx {
	world *w;
	actor *A, *B, *C, *F, *N1, *N2, *N3, *N4;
	mt_stmt *g;
	char gid[65];
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	f->w = w_new();
	f->A = w_actor(f->w);
	f->B = w_actor(f->w);
	f->C = w_actor(f->w);
	f->F = w_actor(f->w);
	f->N1 = w_actor(f->w);
	f->N2 = w_actor(f->w);
	f->N3 = w_actor(f->w);
	f->N4 = w_actor(f->w);
	actor *founders[] = {f->A, f->B, f->C, f->F};
	f->g = w_genesis(f->w, f->A, T0, "coop:x", founders, 4, P, DL, 2);
	mt_stmt_id_hex(f->gid, f->g);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	w_free(f->w);
	free(f);
	return 0;
}

static const mt_pot_refusal *refusal_of(const mt_pot_state *st, const mt_stmt *s)
{
	char h[65];
	mt_stmt_id_hex(h, s);
	return mt_pot_refusal_get(st, h);
}

static void assert_refused(const mt_pot_state *st, const mt_stmt *s, const char *needle)
{
	const mt_pot_refusal *r = refusal_of(st, s);
	if (!r) {
		fail_msg("expected a refusal containing \"%s\", the move counted", needle);
		return;
	}
	if (!strstr(r->reason, needle))
		fail_msg("refusal \"%s\" does not contain \"%s\"", r->reason, needle);
}

static int is_member(const mt_pot_state *st, const char *gid, const char *id)
{
	return mt_pot_member_get(mt_pot_community_get(st, gid), id) != NULL;
}

static int penalties_of(const mt_pot_state *st, const char *id, int64_t *until)
{
	int n = 0;
	for (size_t i = 0; i < st->n_penalties; i++)
		if (strcmp(st->penalties[i].member, id) == 0) {
			n++;
			if (until)
				*until = st->penalties[i].until;
		}
	return n;
}

/* Open by A with B as cosponsor for candidate N1, both commit and reveal. */
static const char *play(fx *f, const char *ca, const char *cb, int64_t t)
{
	mt_stmt *o = w_open(f->w, f->A, t, f->g, f->N1->id, f->B->id, t + 3 * 86400);
	const char *r = w_hex(o);
	static char round[65];
	snprintf(round, sizeof round, "%s", r);
	w_commit(f->w, f->A, t + 10, round, ca);
	w_commit(f->w, f->B, t + 20, round, cb);
	w_reveal(f->w, f->A, t + 30, round, ca);
	w_reveal(f->w, f->B, t + 40, round, cb);
	return round;
}

static void test_both_cooperate(void **state)
{
	fx *f = *state;
	const char *round = play(f, "cooperate", "cooperate", T0 + 100);
	mt_pot_state *st = w_derive(f->w, T0 + 1000);
	const mt_pot_round *r = mt_pot_round_get(st, round);
	assert_non_null(r);
	assert_int_equal(r->stage, MT_POT_STAGE_RESOLVED);
	assert_int_equal(r->outcome, MT_POT_ADMITTED);
	assert_int_equal(r->resolved_at, T0 + 140);
	assert_true(r->admitted);
	assert_true(is_member(st, f->gid, f->N1->id));
	assert_int_equal(st->n_penalties, 0);
	assert_int_equal(st->n_credits, 0);
	assert_int_equal(st->n_refusals, 0);
	const mt_pot_member *m = mt_pot_member_get(mt_pot_community_get(st, f->gid), f->N1->id);
	assert_int_equal(m->since, T0 + 140);
	assert_string_equal(m->admitted_by, round);
	mt_pot_state_free(st);
}

static void test_one_defects(void **state)
{
	fx *f = *state;
	const char *round = play(f, "defect", "cooperate", T0 + 100);
	mt_pot_state *st = w_derive(f->w, T0 + 1000);
	const mt_pot_round *r = mt_pot_round_get(st, round);
	assert_int_equal(r->outcome, MT_POT_OPENER_DEFECTED);
	assert_false(is_member(st, f->gid, f->N1->id));
	int64_t until = 0;
	assert_int_equal(penalties_of(st, f->B->id, &until), 1);
	assert_int_equal(until, T0 + 140 + P);
	assert_int_equal(penalties_of(st, f->A->id, NULL), 0);
	assert_non_null(strstr(st->penalties[0].reason, "cooperated while"));
	assert_int_equal(st->n_credits, 1);
	assert_string_equal(st->credits[0].member, f->A->id);
	assert_int_equal(st->credits[0].total, 2);
	assert_int_equal(st->credits[0].expires, T0 + 140 + P);
	const mt_pot_community *c = mt_pot_community_get(st, f->gid);
	assert_int_equal(mt_pot_credits_left(st, c, f->A->id, T0 + 1000), 2);
	assert_int_equal(mt_pot_credits_left(st, c, f->B->id, T0 + 1000), 0);
	mt_pot_state_free(st);
}

static void test_cosponsor_defects(void **state)
{
	fx *f = *state;
	const char *round = play(f, "cooperate", "defect", T0 + 100);
	mt_pot_state *st = w_derive(f->w, T0 + 1000);
	assert_int_equal(mt_pot_round_get(st, round)->outcome, MT_POT_COSPONSOR_DEFECTED);
	assert_int_equal(penalties_of(st, f->A->id, NULL), 1);
	assert_int_equal(penalties_of(st, f->B->id, NULL), 0);
	assert_string_equal(st->credits[0].member, f->B->id);
	mt_pot_state_free(st);
}

static void test_both_defect(void **state)
{
	fx *f = *state;
	const char *round = play(f, "defect", "defect", T0 + 100);
	mt_pot_state *st = w_derive(f->w, T0 + 1000);
	assert_int_equal(mt_pot_round_get(st, round)->outcome, MT_POT_BOTH_DEFECTED);
	int64_t ua = 0, ub = 0;
	assert_int_equal(penalties_of(st, f->A->id, &ua), 1);
	assert_int_equal(penalties_of(st, f->B->id, &ub), 1);
	assert_int_equal(ua, T0 + 140 + P);
	assert_int_equal(ub, T0 + 140 + P);
	assert_int_equal(st->n_credits, 0);
	assert_false(is_member(st, f->gid, f->N1->id));
	mt_pot_state_free(st);
}

/* Open + both commits; reveals as given (NULL = none). */
static const char *half(fx *f, const char *ca, const char *cb, int reveal_a, int reveal_b)
{
	static char round[65];
	mt_stmt *o = w_open(f->w, f->A, T0 + 100, f->g, f->N1->id, f->B->id, T0 + 100 + 3 * 86400);
	snprintf(round, sizeof round, "%s", w_hex(o));
	w_commit(f->w, f->A, T0 + 110, round, ca);
	w_commit(f->w, f->B, T0 + 120, round, cb);
	if (reveal_a)
		w_reveal(f->w, f->A, T0 + 130, round, ca);
	if (reveal_b)
		w_reveal(f->w, f->B, T0 + 140, round, cb);
	return round;
}

static void test_forfeit_cooperating_revealer_void(void **state)
{
	fx *f = *state;
	const char *round = half(f, "cooperate", "cooperate", 1, 0); /* missing reveal by B */
	int64_t dl = T0 + 100 + 3 * 86400;
	mt_pot_state *st = w_derive(f->w, dl - 1);
	assert_int_equal(mt_pot_round_get(st, round)->stage, MT_POT_STAGE_REVEAL);
	mt_pot_state_free(st);
	st = w_derive(f->w, dl);
	const mt_pot_round *r = mt_pot_round_get(st, round);
	assert_int_equal(r->outcome, MT_POT_COSPONSOR_FORFEITED);
	assert_int_equal(r->resolved_at, dl);
	assert_false(r->admitted);
	assert_false(is_member(st, f->gid, f->N1->id));
	int64_t until = 0;
	assert_int_equal(penalties_of(st, f->B->id, &until), 1);
	assert_int_equal(until, dl + 2 * P);
	assert_int_equal(penalties_of(st, f->A->id, NULL), 0);
	assert_int_equal(st->n_credits, 0);
	mt_pot_state_free(st);
}

static void test_forfeit_defecting_revealer_earns(void **state)
{
	fx *f = *state;
	const char *round = half(f, "defect", "cooperate", 1, 0);
	mt_pot_state *st = w_derive(f->w, T0 + 10 * 86400);
	assert_int_equal(mt_pot_round_get(st, round)->outcome, MT_POT_COSPONSOR_FORFEITED);
	assert_int_equal(st->n_credits, 1);
	assert_string_equal(st->credits[0].member, f->A->id);
	assert_int_equal(penalties_of(st, f->B->id, NULL), 1);
	assert_int_equal(penalties_of(st, f->A->id, NULL), 0);
	mt_pot_state_free(st);
}

static void test_forfeit_opener_pays_nothing(void **state)
{
	fx *f = *state;
	/* B reveals defect, A forfeits: B earns; A, the forfeiter, earns nothing
	 * and its claim is refused. */
	const char *round = half(f, "defect", "defect", 0, 1);
	mt_stmt *cl = w_claim(f->w, f->A, T0 + 4 * 86400, round, f->N2->id);
	mt_pot_state *st = w_derive(f->w, T0 + 10 * 86400);
	assert_int_equal(mt_pot_round_get(st, round)->outcome, MT_POT_OPENER_FORFEITED);
	int64_t until = 0;
	assert_int_equal(penalties_of(st, f->A->id, &until), 1);
	assert_int_equal(until, T0 + 100 + 3 * 86400 + 2 * P);
	assert_int_equal(st->n_credits, 1);
	assert_string_equal(st->credits[0].member, f->B->id);
	assert_refused(st, cl, "forfeiting never pays");
	assert_false(is_member(st, f->gid, f->N2->id));
	mt_pot_state_free(st);
}

static void test_forfeit_both(void **state)
{
	fx *f = *state;
	const char *round = half(f, "cooperate", "defect", 0, 0);
	mt_pot_state *st = w_derive(f->w, T0 + 10 * 86400);
	assert_int_equal(mt_pot_round_get(st, round)->outcome, MT_POT_BOTH_FORFEITED);
	assert_int_equal(penalties_of(st, f->A->id, NULL), 1);
	assert_int_equal(penalties_of(st, f->B->id, NULL), 1);
	assert_int_equal(st->n_credits, 0);
	mt_pot_state_free(st);
}

static void test_forfeit_opener_never_commits(void **state)
{
	fx *f = *state;
	mt_stmt *o = w_open(f->w, f->A, T0 + 100, f->g, f->N1->id, f->B->id, T0 + 200);
	const char *round = w_hex(o);
	w_commit(f->w, f->B, T0 + 120, round, "cooperate");
	mt_stmt *rv = w_reveal(f->w, f->B, T0 + 130, round, "cooperate");
	mt_pot_state *st = w_derive(f->w, T0 + 1000);
	assert_refused(st, rv, "both commits");
	assert_int_equal(mt_pot_round_get(st, round)->outcome, MT_POT_OPENER_FORFEITED);
	assert_int_equal(penalties_of(st, f->A->id, NULL), 1);
	assert_int_equal(penalties_of(st, f->B->id, NULL), 0);
	mt_pot_state_free(st);
}

static void test_void_round_cosponsor_never_commits(void **state)
{
	fx *f = *state;
	mt_stmt *o = w_open(f->w, f->A, T0 + 100, f->g, f->N1->id, f->B->id, T0 + 200);
	const char *round = w_hex(o);
	w_commit(f->w, f->A, T0 + 110, round, "cooperate");
	mt_pot_state *st = w_derive(f->w, T0 + 150);
	assert_int_equal(mt_pot_round_get(st, round)->stage, MT_POT_STAGE_COMMIT);
	mt_pot_state_free(st);
	st = w_derive(f->w, T0 + 1000);
	const mt_pot_round *r = mt_pot_round_get(st, round);
	assert_int_equal(r->outcome, MT_POT_VOID);
	assert_int_equal(r->resolved_at, T0 + 200);
	assert_int_equal(st->n_penalties, 0);
	assert_false(is_member(st, f->gid, f->N1->id));
	/* A's stake stays: A cannot open again this period; B staked nothing. */
	const mt_pot_community *c = mt_pot_community_get(st, f->gid);
	char why[MT_POT_REASON_MAX];
	assert_false(mt_pot_can_stake(st, c, f->A->id, T0 + 1000, why, sizeof why));
	assert_non_null(strstr(why, "one stake per member per period"));
	assert_true(mt_pot_can_stake(st, c, f->B->id, T0 + 1000, NULL, 0));
	assert_true(mt_pot_can_stake(st, c, f->A->id, T0 + 100 + P, NULL, 0));
	mt_pot_state_free(st);
}

static void test_reveal_after_deadline(void **state)
{
	fx *f = *state;
	int64_t dl = T0 + 500;
	mt_stmt *o = w_open(f->w, f->A, T0 + 100, f->g, f->N1->id, f->B->id, dl);
	const char *round = w_hex(o);
	w_commit(f->w, f->A, T0 + 110, round, "cooperate");
	w_commit(f->w, f->B, T0 + 120, round, "cooperate");
	w_reveal(f->w, f->A, T0 + 130, round, "cooperate");
	mt_stmt *late = w_reveal(f->w, f->B, dl + 1, round, "cooperate");
	/* a reveal exactly at the deadline still counts (checked on a copy) */
	mt_pot_state *st = w_derive(f->w, T0 + 1000);
	assert_refused(st, late, "deadline of round");
	const mt_pot_round *r = mt_pot_round_get(st, round);
	assert_int_equal(r->outcome, MT_POT_COSPONSOR_FORFEITED);
	assert_false(is_member(st, f->gid, f->N1->id));
	assert_int_equal(penalties_of(st, f->B->id, NULL), 1);
	mt_pot_state_free(st);
}

static void test_reveal_at_deadline_counts(void **state)
{
	fx *f = *state;
	int64_t dl = T0 + 500;
	mt_stmt *o = w_open(f->w, f->A, T0 + 100, f->g, f->N1->id, f->B->id, dl);
	const char *round = w_hex(o);
	w_commit(f->w, f->A, T0 + 110, round, "cooperate");
	w_commit(f->w, f->B, T0 + 120, round, "cooperate");
	w_reveal(f->w, f->A, T0 + 130, round, "cooperate");
	w_reveal(f->w, f->B, dl, round, "cooperate");
	mt_pot_state *st = w_derive(f->w, T0 + 1000);
	assert_int_equal(mt_pot_round_get(st, round)->outcome, MT_POT_ADMITTED);
	assert_int_equal(st->n_refusals, 0);
	mt_pot_state_free(st);
}

static void test_commit_after_deadline(void **state)
{
	fx *f = *state;
	mt_stmt *o = w_open(f->w, f->A, T0 + 100, f->g, f->N1->id, f->B->id, T0 + 200);
	const char *round = w_hex(o);
	w_commit(f->w, f->A, T0 + 110, round, "cooperate");
	mt_stmt *c = w_commit(f->w, f->B, T0 + 201, round, "cooperate");
	mt_pot_state *st = w_derive(f->w, T0 + 1000);
	assert_refused(st, c, "moves after it do not count");
	assert_int_equal(mt_pot_round_get(st, round)->outcome, MT_POT_VOID);
	mt_pot_state_free(st);
}

static void test_commit_copied_from_other_sponsor(void **state)
{
	fx *f = *state;
	mt_stmt *o = w_open(f->w, f->A, T0 + 100, f->g, f->N1->id, f->B->id, T0 + 1000);
	char round[65];
	snprintf(round, sizeof round, "%s", w_hex(o));
	mt_stmt *ca = w_commit(f->w, f->A, T0 + 110, round, "defect");
	/* B copies A's commit bytes, then, once A reveals, replays A's choice and nonce */
	w_commit_raw(f->w, f->B, T0 + 120, round, mt_stmt_str(ca, "commit"));
	w_reveal(f->w, f->A, T0 + 130, round, "defect");
	char nonce_a[65];
	w_nonce(nonce_a, f->A, round);
	mt_stmt *copy = w_reveal_raw(f->w, f->B, T0 + 140, round, "defect", nonce_a);
	mt_pot_state *st = w_derive(f->w, T0 + 5000);
	assert_refused(st, copy, "does not match its commit");
	const mt_pot_round *r = mt_pot_round_get(st, round);
	assert_int_equal(r->outcome, MT_POT_COSPONSOR_FORFEITED);
	assert_int_equal(penalties_of(st, f->B->id, NULL), 1);
	/* the honest defector earns as if B had cooperated */
	assert_int_equal(st->n_credits, 1);
	assert_string_equal(st->credits[0].member, f->A->id);
	mt_pot_state_free(st);
}

static void test_reveal_not_matching_commit(void **state)
{
	fx *f = *state;
	mt_stmt *o = w_open(f->w, f->A, T0 + 100, f->g, f->N1->id, f->B->id, T0 + 1000);
	char round[65];
	snprintf(round, sizeof round, "%s", w_hex(o));
	w_commit(f->w, f->A, T0 + 110, round, "cooperate");
	w_commit(f->w, f->B, T0 + 120, round, "defect");
	w_reveal(f->w, f->A, T0 + 130, round, "cooperate");
	mt_stmt *lie = w_reveal(f->w, f->B, T0 + 140, round, "cooperate"); /* committed defect */
	mt_pot_state *st = w_derive(f->w, T0 + 150);
	assert_refused(st, lie, "does not match its commit");
	assert_int_equal(mt_pot_round_get(st, round)->stage, MT_POT_STAGE_REVEAL);
	mt_pot_state_free(st);
	/* a later, honest reveal before the deadline still counts */
	w_reveal(f->w, f->B, T0 + 160, round, "defect");
	st = w_derive(f->w, T0 + 5000);
	assert_int_equal(mt_pot_round_get(st, round)->outcome, MT_POT_COSPONSOR_DEFECTED);
	mt_pot_state_free(st);
}

static void test_second_commit_binds(void **state)
{
	fx *f = *state;
	mt_stmt *o = w_open(f->w, f->A, T0 + 100, f->g, f->N1->id, f->B->id, T0 + 1000);
	char round[65];
	snprintf(round, sizeof round, "%s", w_hex(o));
	w_commit(f->w, f->A, T0 + 110, round, "cooperate");
	mt_stmt *again = w_commit(f->w, f->A, T0 + 111, round, "defect");
	mt_stmt *outsider = w_commit(f->w, f->C, T0 + 112, round, "defect");
	mt_pot_state *st = w_derive(f->w, T0 + 5000);
	assert_refused(st, again, "a commit binds its issuer");
	assert_refused(st, outsider, "is not a sponsor of round");
	mt_pot_state_free(st);
}

static void test_member_in_two_rounds(void **state)
{
	fx *f = *state;
	mt_stmt *o1 = w_open(f->w, f->A, T0 + 100, f->g, f->N1->id, f->B->id, T0 + 1000);
	char r1[65];
	snprintf(r1, sizeof r1, "%s", w_hex(o1));
	mt_stmt *o2 = w_open(f->w, f->A, T0 + 200, f->g, f->N2->id, f->C->id, T0 + 1000);
	w_commit(f->w, f->B, T0 + 300, r1, "cooperate");
	mt_stmt *o3 = w_open(f->w, f->C, T0 + 400, f->g, f->N3->id, f->B->id, T0 + 1000);
	char r3[65];
	snprintf(r3, sizeof r3, "%s", w_hex(o3));
	mt_stmt *b3 = w_commit(f->w, f->B, T0 + 410, r3, "cooperate");
	/* and a member who committed cannot open either */
	mt_stmt *o4 = w_open(f->w, f->B, T0 + 420, f->g, f->N4->id, f->F->id, T0 + 1000);
	mt_pot_state *st = w_derive(f->w, T0 + 500);
	assert_refused(st, o2, "one stake per member per period");
	assert_refused(st, b3, "already staked in round");
	assert_refused(st, o4, "already staked in round");
	assert_null(refusal_of(st, o3));
	assert_int_equal(st->n_rounds, 2);
	mt_pot_state_free(st);
}

static void test_penalised_member_open_join_claim(void **state)
{
	fx *f = *state;
	/* round 1: C defects, B cooperates -> B penalised, C earns credits */
	int64_t t = T0 + 100;
	mt_stmt *o = w_open(f->w, f->C, t, f->g, f->N1->id, f->B->id, t + 1000);
	char r1[65];
	snprintf(r1, sizeof r1, "%s", w_hex(o));
	w_commit(f->w, f->C, t + 1, r1, "defect");
	w_commit(f->w, f->B, t + 2, r1, "cooperate");
	w_reveal(f->w, f->C, t + 3, r1, "defect");
	w_reveal(f->w, f->B, t + 4, r1, "cooperate");
	/* one period later B's stake is over but B is still penalised */
	int64_t t2 = t + P + 1;
	mt_stmt *bopen = w_open(f->w, f->B, t2, f->g, f->N2->id, f->A->id, t2 + 1000);
	mt_stmt *ao = w_open(f->w, f->A, t2, f->g, f->N3->id, f->B->id, t2 + 1000);
	char r2[65];
	snprintf(r2, sizeof r2, "%s", w_hex(ao));
	mt_stmt *bjoin = w_commit(f->w, f->B, t2 + 2, r2, "cooperate"); /* penalty ends t2+3 */
	mt_pot_state *st = w_derive(f->w, t2 + 5000);
	char until[32], expect[MT_POT_REASON_MAX];
	mt_pot_iso(until, t + 4 + P);
	snprintf(expect, sizeof expect, "%s is penalised until %s: cooperated while %.16s defected in round %.16s",
		 f->B->id, until, f->C->id, r1);
	assert_refused(st, bopen, expect);
	assert_refused(st, bjoin, expect);
	assert_int_equal(mt_pot_round_get(st, r2)->outcome, MT_POT_VOID);
	mt_pot_state_free(st);

	/* the defector C, not penalised, may claim (the penalised-claimer case
	 * is test_penalised_claimer) */
	int64_t t3 = t + 200;
	mt_stmt *cl_ok = w_claim(f->w, f->C, t3, r1, f->N4->id);
	st = w_derive(f->w, t3);
	assert_null(refusal_of(st, cl_ok));
	assert_true(is_member(st, f->gid, f->N4->id));
	mt_pot_state_free(st);
}

static void test_penalised_claimer(void **state)
{
	fx *f = *state;
	/* P is 30 days; credits expire one period after resolution. C earns
	 * credits in r1, then is penalised in r2 (after its stake ends) and
	 * tries to claim while penalised but before the credits expire. Use a
	 * short-period community to make the windows overlap. */
	actor *founders[] = {f->A, f->B, f->C, f->F};
	mt_stmt *g2 = w_genesis(f->w, f->A, T0 + 1, "coop:short", founders, 4, 1000, 500, 2);
	char g2id[65];
	mt_stmt_id_hex(g2id, g2);
	mt_stmt *o = w_open(f->w, f->C, T0 + 100, g2, f->N1->id, f->B->id, T0 + 400);
	char r1[65];
	snprintf(r1, sizeof r1, "%s", w_hex(o));
	w_commit(f->w, f->C, T0 + 101, r1, "defect");
	w_commit(f->w, f->B, T0 + 102, r1, "cooperate");
	w_reveal(f->w, f->C, T0 + 103, r1, "defect");
	w_reveal(f->w, f->B, T0 + 104, r1, "cooperate"); /* resolves at T0+104, credits until T0+1104 */
	mt_stmt *o2 = w_open(f->w, f->A, T0 + 1100, g2, f->N2->id, f->C->id, T0 + 1400);
	char r2[65];
	snprintf(r2, sizeof r2, "%s", w_hex(o2));
	w_commit(f->w, f->A, T0 + 1100, r2, "defect");
	w_commit(f->w, f->C, T0 + 1100, r2, "defect");
	w_reveal(f->w, f->A, T0 + 1101, r2, "defect");
	w_reveal(f->w, f->C, T0 + 1101, r2, "defect"); /* both penalised from T0+1101 */
	mt_stmt *cl = w_claim(f->w, f->C, T0 + 1102, r1, f->N3->id);
	mt_pot_state *st = w_derive(f->w, T0 + 2000);
	assert_int_equal(mt_pot_round_get(st, r2)->outcome, MT_POT_BOTH_DEFECTED);
	assert_refused(st, cl, "is penalised until");
	assert_refused(st, cl, "defected while");
	assert_false(is_member(st, g2id, f->N3->id));
	mt_pot_state_free(st);
}

static void test_claims_beyond_credits_and_expiry(void **state)
{
	fx *f = *state;
	const char *round = play(f, "defect", "cooperate", T0 + 100); /* A earns 2 */
	char r[65];
	snprintf(r, sizeof r, "%s", round);
	mt_stmt *c1 = w_claim(f->w, f->A, T0 + 200, r, f->N2->id);
	mt_stmt *dup = w_claim(f->w, f->A, T0 + 210, r, f->N2->id);
	mt_stmt *c2 = w_claim(f->w, f->A, T0 + 220, r, f->N3->id);
	mt_stmt *c3 = w_claim(f->w, f->A, T0 + 230, r, f->N4->id);
	mt_stmt *bc = w_claim(f->w, f->B, T0 + 240, r, f->N4->id);
	mt_pot_state *st = w_derive(f->w, T0 + 1000);
	assert_null(refusal_of(st, c1));
	assert_null(refusal_of(st, c2));
	assert_refused(st, dup, "already a member");
	assert_refused(st, c3, "used all 2 credits");
	assert_refused(st, bc, "earned no credits");
	assert_true(is_member(st, f->gid, f->N2->id));
	assert_true(is_member(st, f->gid, f->N3->id));
	assert_false(is_member(st, f->gid, f->N4->id));
	assert_int_equal(mt_pot_credits_left(st, mt_pot_community_get(st, f->gid), f->A->id, T0 + 1000), 0);
	mt_pot_state_free(st);
}

static void test_claim_expired(void **state)
{
	fx *f = *state;
	const char *round = play(f, "defect", "cooperate", T0 + 100); /* resolves T0+140 */
	char r[65];
	snprintf(r, sizeof r, "%s", round);
	mt_stmt *late = w_claim(f->w, f->A, T0 + 140 + P, r, f->N2->id);
	mt_pot_state *st = w_derive(f->w, T0 + 140 + P);
	assert_refused(st, late, "expired at");
	assert_false(is_member(st, f->gid, f->N2->id));
	mt_pot_state_free(st);
}

static void test_non_member_sponsor(void **state)
{
	fx *f = *state;
	mt_stmt *o1 = w_open(f->w, f->N1, T0 + 100, f->g, f->N2->id, f->A->id, T0 + 1000);
	mt_stmt *o2 = w_open(f->w, f->A, T0 + 100, f->g, f->N2->id, f->N3->id, T0 + 1000);
	mt_pot_state *st = w_derive(f->w, T0 + 1000);
	assert_refused(st, o1, "opener");
	assert_refused(st, o1, "is not a member of community");
	assert_refused(st, o2, "cosponsor");
	assert_refused(st, o2, "is not a member of community");
	assert_int_equal(st->n_rounds, 0);
	mt_pot_state_free(st);
}

static void test_candidate_already_member(void **state)
{
	fx *f = *state;
	mt_stmt *o = w_open(f->w, f->A, T0 + 100, f->g, f->C->id, f->B->id, T0 + 1000);
	mt_pot_state *st = w_derive(f->w, T0 + 1000);
	assert_refused(st, o, "is already a member of community");
	mt_pot_state_free(st);
}

static void test_unknown_genesis(void **state)
{
	fx *f = *state;
	world *w2 = w_new();
	actor *z = w_actor(w2);
	actor *fz[] = {z};
	mt_stmt *other = w_genesis(w2, z, T0, "coop:y", fz, 1, P, DL, 2);
	mt_stmt *o = w_open(f->w, f->A, T0 + 100, other, f->N1->id, f->B->id, T0 + 1000);
	mt_pot_state *st = w_derive(f->w, T0 + 1000);
	assert_refused(st, o, "unknown genesis");
	w_free(w2);
	mt_pot_state_free(st);
}

static void test_deadline_too_far(void **state)
{
	fx *f = *state;
	mt_stmt *o = w_open(f->w, f->A, T0 + 100, f->g, f->N1->id, f->B->id, T0 + 100 + DL + 1);
	mt_pot_state *st = w_derive(f->w, T0 + 1000);
	assert_refused(st, o, "deadline_max");
	mt_pot_state_free(st);
}

static void test_newcomer_first_period(void **state)
{
	fx *f = *state;
	play(f, "cooperate", "cooperate", T0 + 100); /* N1 admitted at T0+140 */
	mt_stmt *o = w_open(f->w, f->N1, T0 + 200, f->g, f->N2->id, f->C->id, T0 + 1000);
	mt_stmt *ok = w_open(f->w, f->N1, T0 + 140 + P, f->g, f->N3->id, f->C->id, T0 + 140 + P + 100);
	mt_pot_state *st = w_derive(f->w, T0 + 140 + P + 10);
	assert_refused(st, o, "first period");
	assert_null(refusal_of(st, ok));
	mt_pot_state_free(st);
}

static void test_conflicting_genesis(void **state)
{
	fx *f = *state;
	actor *fz[] = {f->C};
	mt_stmt *g2 = w_genesis(f->w, f->C, T0 + 5, "coop:x", fz, 1, P, DL, 2);
	mt_pot_state *st = w_derive(f->w, T0 + 1000);
	assert_int_equal(st->n_communities, 2);
	const mt_pot_community *own = mt_pot_community_by_scope(st, "coop:x");
	assert_string_equal(own->genesis, f->gid);
	assert_int_equal(own->conflicts, 1);
	const mt_pot_community *other = mt_pot_community_get(st, w_hex(g2));
	assert_false(other->label_owner);
	assert_int_equal(other->n_members, 1);
	json_t *j = mt_pot_members_json(st, own);
	assert_int_equal(json_array_size(json_object_get(j, "conflicts")), 1);
	json_decref(j);
	mt_pot_state_free(st);
}

static void test_default_params_and_at(void **state)
{
	fx *f = *state;
	mt_stmt *g2 = w_emit(f->w, f->C, T0 + 5,
			     json_pack("{s:s,s:s,s:[s],s:{}}", "type", "genesis", "scope",
				       "coop:dflt", "founders", f->C->id, "params"));
	mt_pot_state *st = w_derive(f->w, T0 + 4);
	assert_null(mt_pot_community_get(st, w_hex(g2)));
	mt_pot_state_free(st);
	st = w_derive(f->w, T0 + 5);
	const mt_pot_community *c = mt_pot_community_get(st, w_hex(g2));
	assert_non_null(c);
	assert_int_equal(c->params.period, MT_POT_DEFAULT_PERIOD);
	assert_int_equal(c->params.deadline_max, MT_POT_DEFAULT_DEADLINE_MAX);
	assert_int_equal(c->params.credits, MT_POT_DEFAULT_CREDITS);
	mt_pot_state_free(st);
}

static void test_order_and_duplicates(void **state)
{
	fx *f = *state;
	const char *round = play(f, "defect", "cooperate", T0 + 100);
	char r[65];
	snprintf(r, sizeof r, "%s", round);
	w_claim(f->w, f->A, T0 + 200, r, f->N2->id);
	mt_pot_state *st = w_derive(f->w, T0 + 1000);
	json_t *j1 = mt_pot_state_json(st);
	char *s1 = json_dumps(j1, JSON_SORT_KEYS | JSON_COMPACT);
	/* reversed, with every statement given twice */
	const mt_stmt *rev[2 * W_MAX_STMTS];
	size_t n = 0;
	for (size_t i = f->w->ns; i-- > 0;) {
		rev[n++] = f->w->s[i];
		rev[n++] = f->w->s[i];
	}
	mt_pot_state *st2 = NULL;
	assert_int_equal(mt_pot_derive(&st2, rev, n, T0 + 1000, NULL), 0);
	json_t *j2 = mt_pot_state_json(st2);
	char *s2 = json_dumps(j2, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s1, s2);
	free(s1);
	free(s2);
	json_decref(j1);
	json_decref(j2);
	mt_pot_state_free(st);
	mt_pot_state_free(st2);
}

static void test_commitment_vector(void **state)
{
	(void)state;
	char c[65];
	mt_pot_commitment(c, "ab", "12D3KooWx", "cooperate", "00");
	unsigned char h[32];
	const char *in = "mesh/v1/pot\nab\n12D3KooWx\ncooperate\n00";
	mt_blake2b256(h, in, strlen(in));
	char hex[65];
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	assert_string_equal(c, hex);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_both_cooperate),
		T(test_one_defects),
		T(test_cosponsor_defects),
		T(test_both_defect),
		T(test_forfeit_cooperating_revealer_void),
		T(test_forfeit_defecting_revealer_earns),
		T(test_forfeit_opener_pays_nothing),
		T(test_forfeit_both),
		T(test_forfeit_opener_never_commits),
		T(test_void_round_cosponsor_never_commits),
		T(test_reveal_after_deadline),
		T(test_reveal_at_deadline_counts),
		T(test_commit_after_deadline),
		T(test_commit_copied_from_other_sponsor),
		T(test_reveal_not_matching_commit),
		T(test_second_commit_binds),
		T(test_member_in_two_rounds),
		T(test_penalised_member_open_join_claim),
		T(test_penalised_claimer),
		T(test_claims_beyond_credits_and_expiry),
		T(test_claim_expired),
		T(test_non_member_sponsor),
		T(test_candidate_already_member),
		T(test_unknown_genesis),
		T(test_deadline_too_far),
		T(test_newcomer_first_period),
		T(test_conflicting_genesis),
		T(test_default_params_and_at),
		T(test_order_and_duplicates),
		T(test_commitment_vector),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
