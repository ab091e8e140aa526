/* Governance rules (SPEC §9.3): each rule of mt_gov_derive, made to hold and
 * made to fail; order independence; the policy in force. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/gov.h"
#include "test_pot_world.h"

#define T0 1800000000LL
#define DAY 86400LL
#define PERIOD (10 * DAY)

typedef struct fx {
	world *w;
	actor *a, *b, *c, *out; /* three founders, one outsider */
	mt_stmt *g;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	f->w = w_new();
	f->a = w_actor(f->w);
	f->b = w_actor(f->w);
	f->c = w_actor(f->w);
	f->out = w_actor(f->w);
	actor *founders[] = {f->a, f->b, f->c};
	f->g = w_genesis(f->w, f->a, T0, "coop:gov", founders, 3, PERIOD, 7 * DAY, 2);
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

/* policy: a JSON object text, e.g. "{\"max_gini\":500}" */
static mt_stmt *propose(fx *f, actor *x, int64_t ts, int64_t closes, const char *policy)
{
	json_error_t je;
	json_t *p = json_loads(policy, 0, &je);
	assert_non_null(p);
	return w_emit(f->w, x, ts,
		      json_pack("{s:s,s:s,s:I,s:o}", "type", "proposal", "genesis", w_hex(f->g),
				"closes", (json_int_t)closes, "policy", p));
}

static mt_stmt *vote(fx *f, actor *x, int64_t ts, const mt_stmt *p, const char *choice)
{
	return w_emit(f->w, x, ts,
		      json_pack("{s:s,s:s,s:s}", "type", "vote", "proposal", w_hex(p), "choice",
				choice));
}

static mt_gov_state *derive(fx *f, int64_t at)
{
	mt_gov_state *st = NULL;
	mt_error err = {0};
	if (mt_gov_derive(&st, (const mt_stmt *const *)f->w->s, f->w->ns, at, NULL, 0, NULL,
			  &err) != 0)
		fail_msg("derive: %s", err.msg);
	return st;
}

static const mt_gov_proposal *prop(const mt_gov_state *st, const mt_stmt *s)
{
	return mt_gov_proposal_get(st, w_hex(s), NULL);
}

static void assert_refused(const mt_gov_state *st, const mt_stmt *s, const char *needle)
{
	const mt_gov_refusal *r = mt_gov_refusal_get(st, w_hex(s));
	if (!r)
		fail_msg("statement %s was not refused (wanted \"%s\")", w_hex(s), needle);
	if (!strstr(r->reason, needle))
		fail_msg("refusal \"%s\" does not say \"%s\"", r->reason, needle);
}

static void test_passes_with_quorum_and_threshold(void **state)
{
	fx *f = *state;
	mt_stmt *p = propose(f, f->a, T0 + 100, T0 + 100 + 2 * DAY, "{\"max_gini\":500}");
	vote(f, f->a, T0 + 200, p, "yes");
	vote(f, f->b, T0 + 300, p, "yes");
	vote(f, f->c, T0 + 400, p, "no");
	mt_gov_state *st = derive(f, T0 + 100 + DAY);
	const mt_gov_proposal *gp = prop(st, p);
	assert_non_null(gp);
	assert_int_equal(gp->outcome, MT_GOV_OPEN); /* before closes */
	assert_int_equal(gp->yes, 2);
	mt_gov_state_free(st);
	st = derive(f, T0 + 100 + 2 * DAY);
	gp = prop(st, p);
	assert_int_equal(gp->outcome, MT_GOV_PASSED); /* 2 of 3 at 666 */
	assert_int_equal(gp->n_voters, 3);
	assert_int_equal(gp->quorum, 500);
	assert_int_equal(gp->threshold, 666);
	const mt_gov_community *c = mt_gov_community_get(st, w_hex(f->g));
	assert_non_null(c);
	assert_true(c->policy.set & MT_GOV_SET(MT_GOV_K_MAX_GINI));
	assert_int_equal(c->policy.max_gini, 500);
	assert_string_equal(c->policy.source[MT_GOV_K_MAX_GINI], gp->id);
	assert_int_equal(gp->after.max_gini, 500);
	mt_gov_state_free(st);
}

static void test_quorum_missed(void **state)
{
	fx *f = *state;
	mt_stmt *p = propose(f, f->a, T0 + 100, T0 + 100 + 2 * DAY, "{\"max_gini\":500}");
	vote(f, f->a, T0 + 200, p, "yes"); /* 1 of 3 cast: 1000 < 500 × 3 */
	mt_gov_state *st = derive(f, T0 + 10 * DAY);
	assert_int_equal(prop(st, p)->outcome, MT_GOV_FAILED);
	assert_int_equal(mt_gov_community_get(st, w_hex(f->g))->policy.set, 0);
	mt_gov_state_free(st);
}

static void test_no_votes_fails(void **state)
{
	fx *f = *state;
	mt_stmt *p = propose(f, f->a, T0 + 100, T0 + 100 + 2 * DAY, "{\"max_gini\":500}");
	mt_gov_state *st = derive(f, T0 + 10 * DAY);
	assert_int_equal(prop(st, p)->outcome, MT_GOV_FAILED);
	mt_gov_state_free(st);
}

static void test_threshold_missed(void **state)
{
	fx *f = *state;
	mt_stmt *p = propose(f, f->a, T0 + 100, T0 + 100 + 2 * DAY, "{\"max_gini\":500}");
	vote(f, f->a, T0 + 200, p, "yes");
	vote(f, f->b, T0 + 300, p, "no"); /* 1 yes of 2 cast: 1000 < 666 × 2 */
	mt_gov_state *st = derive(f, T0 + 10 * DAY);
	assert_int_equal(prop(st, p)->outcome, MT_GOV_FAILED);
	mt_gov_state_free(st);
}

static void test_outsider_and_late_votes_have_no_effect(void **state)
{
	fx *f = *state;
	mt_stmt *p = propose(f, f->a, T0 + 100, T0 + 100 + 2 * DAY, "{\"max_gini\":500}");
	vote(f, f->a, T0 + 200, p, "yes");
	mt_stmt *o = vote(f, f->out, T0 + 300, p, "yes");
	mt_stmt *late = vote(f, f->b, T0 + 100 + 2 * DAY + 1, p, "yes");
	mt_gov_state *st = derive(f, T0 + 10 * DAY);
	const mt_gov_proposal *gp = prop(st, p);
	assert_int_equal(gp->yes, 1);
	assert_int_equal(gp->outcome, MT_GOV_FAILED);
	assert_refused(st, o, "is not a voter");
	assert_refused(st, late, "after proposal");
	/* judged late by ts (no first-seen times given): ts within 300 s of closes is not */
	assert_int_equal(mt_gov_refusal_get(st, w_hex(late))->late, 0);
	mt_gov_state_free(st);
}

static void test_vote_at_closes_counts(void **state)
{
	fx *f = *state;
	int64_t closes = T0 + 100 + 2 * DAY;
	mt_stmt *p = propose(f, f->a, T0 + 100, closes, "{\"max_gini\":500}");
	vote(f, f->a, closes, p, "yes");
	vote(f, f->b, closes, p, "yes");
	mt_gov_state *st = derive(f, closes);
	assert_int_equal(prop(st, p)->outcome, MT_GOV_PASSED);
	mt_gov_state_free(st);
}

static void test_last_vote_counts(void **state)
{
	fx *f = *state;
	mt_stmt *p = propose(f, f->a, T0 + 100, T0 + 100 + 2 * DAY, "{\"max_gini\":500}");
	vote(f, f->a, T0 + 200, p, "yes");
	vote(f, f->b, T0 + 300, p, "no");
	vote(f, f->b, T0 + 400, p, "yes");
	mt_gov_state *st = derive(f, T0 + 10 * DAY);
	const mt_gov_proposal *gp = prop(st, p);
	assert_int_equal(gp->yes, 2);
	assert_int_equal(gp->no, 0);
	assert_int_equal(gp->outcome, MT_GOV_PASSED);
	assert_int_equal(st->n_votes, 3);
	assert_int_equal(st->votes[1].counted, 0); /* b's "no", superseded */
	mt_gov_state_free(st);
}

/* A member admitted by proof-of-trust votes only once a period has passed. */
static void test_new_member_waits_one_period(void **state)
{
	fx *f = *state;
	actor *d = f->out;
	mt_stmt *r = w_open(f->w, f->a, T0 + 10, f->g, d->id, f->b->id, T0 + 10 + DAY);
	char round[65];
	mt_stmt_id_hex(round, r);
	w_commit(f->w, f->a, T0 + 20, round, "cooperate");
	w_commit(f->w, f->b, T0 + 30, round, "cooperate");
	w_reveal(f->w, f->a, T0 + 40, round, "cooperate");
	w_reveal(f->w, f->b, T0 + 50, round, "cooperate"); /* d admitted at T0 + 50 */
	mt_stmt *early = propose(f, f->c, T0 + 100, T0 + 100 + 2 * DAY, "{\"max_gini\":500}");
	mt_stmt *v1 = vote(f, d, T0 + 200, early, "yes");
	mt_stmt *dp = propose(f, d, T0 + 300, T0 + 300 + 2 * DAY, "{\"max_gini\":400}");
	int64_t later = T0 + 50 + PERIOD;
	mt_stmt *p2 = propose(f, f->b, later, later + 2 * DAY, "{\"max_gini\":300}");
	mt_stmt *v2 = vote(f, d, later + 10, p2, "yes");
	mt_gov_state *st = derive(f, later + 10 * DAY);
	assert_refused(st, v1, "is not a voter");
	assert_refused(st, dp, "is not a voter");
	assert_null(mt_gov_refusal_get(st, w_hex(v2)));
	assert_int_equal(prop(st, early)->n_voters, 3);
	assert_int_equal(prop(st, p2)->n_voters, 4);
	assert_int_equal(prop(st, p2)->yes, 1);
	mt_gov_state_free(st);
}

static void test_one_open_proposal_per_member(void **state)
{
	fx *f = *state;
	int64_t closes = T0 + 100 + 2 * DAY;
	mt_stmt *p1 = propose(f, f->a, T0 + 100, closes, "{\"max_gini\":500}");
	mt_stmt *p2 = propose(f, f->a, closes, closes + 2 * DAY, "{\"max_gini\":400}");
	mt_stmt *p3 = propose(f, f->a, closes + 1, closes + 1 + 2 * DAY, "{\"max_gini\":300}");
	mt_stmt *pb = propose(f, f->b, T0 + 200, T0 + 200 + 2 * DAY, "{\"max_gini\":450}");
	mt_gov_state *st = derive(f, T0 + 30 * DAY);
	assert_non_null(prop(st, p1));
	assert_refused(st, p2, "already has an open proposal");
	assert_non_null(prop(st, p3));
	assert_non_null(prop(st, pb)); /* another member's */
	mt_gov_state_free(st);
}

static void test_closes_range(void **state)
{
	fx *f = *state;
	mt_stmt *soon = propose(f, f->a, T0 + 100, T0 + 100 + DAY - 1, "{\"max_gini\":500}");
	mt_stmt *far = propose(f, f->b, T0 + 100, T0 + 100 + 30 * DAY + 1, "{\"max_gini\":500}");
	mt_stmt *edge = propose(f, f->c, T0 + 100, T0 + 100 + 30 * DAY, "{\"max_gini\":500}");
	mt_gov_state *st = derive(f, T0 + 60 * DAY);
	assert_refused(st, soon, "24 h to 30 days");
	assert_refused(st, far, "24 h to 30 days");
	assert_non_null(prop(st, edge));
	mt_gov_state_free(st);
}

static void test_tiers_sorted_and_outsider_proposal(void **state)
{
	fx *f = *state;
	mt_stmt *bad = propose(f, f->a, T0 + 100, T0 + 100 + DAY,
			       "{\"tiers\":[{\"min_score\":400,\"rate\":10,\"burst\":2},"
			       "{\"min_score\":700,\"rate\":20,\"burst\":5}]}");
	mt_stmt *o = propose(f, f->out, T0 + 100, T0 + 100 + DAY, "{\"max_gini\":500}");
	mt_gov_state *st = derive(f, T0 + 60 * DAY);
	assert_refused(st, bad, "descending");
	assert_refused(st, o, "is not a voter");
	mt_gov_state_free(st);
}

static void test_unknown_genesis_and_vote_before_proposal(void **state)
{
	fx *f = *state;
	json_t *pol = json_pack("{s:i}", "max_gini", 500);
	mt_stmt *nog = w_emit(f->w, f->a, T0 + 100,
			      json_pack("{s:s,s:s,s:I,s:o}", "type", "proposal", "genesis",
					"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
					"closes", (json_int_t)(T0 + 100 + DAY), "policy", pol));
	mt_stmt *p = propose(f, f->b, T0 + 1000, T0 + 1000 + 2 * DAY, "{\"max_gini\":500}");
	mt_stmt *early = vote(f, f->c, T0 + 999, p, "yes"); /* c's clock behind */
	mt_gov_state *st = derive(f, T0 + 60 * DAY);
	assert_refused(st, nog, "no community");
	assert_refused(st, early, "before its proposal");
	mt_gov_state_free(st);
}

static void test_later_proposals_override_key_by_key(void **state)
{
	fx *f = *state;
	mt_stmt *p1 = propose(f, f->a, T0 + 100, T0 + 100 + 2 * DAY,
			      "{\"max_gini\":500,\"enforce_gini\":true}");
	mt_stmt *p2 = propose(f, f->b, T0 + 200, T0 + 200 + 2 * DAY, "{\"max_gini\":400}");
	mt_stmt *p3 = propose(f, f->c, T0 + 300, T0 + 300 + 2 * DAY, "{\"max_gini\":100}");
	actor *all[] = {f->a, f->b, f->c};
	for (int i = 0; i < 3; i++) {
		vote(f, all[i], T0 + 400, p1, "yes");
		vote(f, all[i], T0 + 400, p2, "yes");
		vote(f, all[i], T0 + 400, p3, "no");
	}
	mt_gov_state *st = derive(f, T0 + 60 * DAY);
	const mt_gov_community *c = mt_gov_community_get(st, w_hex(f->g));
	assert_int_equal(c->policy.max_gini, 400);
	assert_string_equal(c->policy.source[MT_GOV_K_MAX_GINI], w_hex(p2));
	assert_int_equal(c->policy.enforce_gini, 1);
	assert_string_equal(c->policy.source[MT_GOV_K_ENFORCE_GINI], w_hex(p1));
	assert_int_equal(prop(st, p1)->after.max_gini, 500);
	assert_int_equal(prop(st, p3)->outcome, MT_GOV_FAILED);
	assert_int_equal(prop(st, p3)->after.max_gini, 400);
	mt_gov_state_free(st);
}

static void test_genesis_quorum_threshold(void **state)
{
	fx *f = *state;
	actor *founders[] = {f->a, f->b, f->c};
	json_t *fl = json_array();
	for (int i = 0; i < 3; i++)
		json_array_append_new(fl, json_string(founders[i]->id));
	f->g = w_emit(f->w, f->b, T0 + 1,
		      json_pack("{s:s,s:s,s:o,s:{s:I,s:i,s:i}}", "type", "genesis", "scope",
				"coop:strict", "founders", fl, "params", "period", (json_int_t)PERIOD,
				"quorum", 1000, "threshold", 1000));
	mt_stmt *p = propose(f, f->a, T0 + 100, T0 + 100 + 2 * DAY, "{\"max_gini\":500}");
	vote(f, f->a, T0 + 200, p, "yes");
	vote(f, f->b, T0 + 200, p, "yes");
	mt_stmt *q = propose(f, f->b, T0 + 300, T0 + 300 + 2 * DAY, "{\"max_gini\":400}");
	for (int i = 0; i < 3; i++)
		vote(f, founders[i], T0 + 400, q, "yes");
	mt_gov_state *st = derive(f, T0 + 60 * DAY);
	assert_int_equal(prop(st, p)->quorum, 1000);
	assert_int_equal(prop(st, p)->outcome, MT_GOV_FAILED); /* 2 of 3 cast, quorum 1000 */
	assert_int_equal(prop(st, q)->outcome, MT_GOV_PASSED);
	mt_gov_state_free(st);
}

static void test_late_by_first_seen(void **state)
{
	fx *f = *state;
	int64_t closes = T0 + 100 + 2 * DAY;
	mt_stmt *p = propose(f, f->a, T0 + 100, closes, "{\"max_gini\":500}");
	vote(f, f->a, T0 + 200, p, "yes");
	mt_stmt *v = vote(f, f->b, closes - 5, p, "yes"); /* backdated: seen an hour late */
	int64_t seen[W_MAX_STMTS];
	for (size_t i = 0; i < f->w->ns; i++)
		seen[i] = f->w->s[i] == v ? closes + 3600 : f->w->s[i]->ts;
	mt_gov_state *st = NULL;
	assert_int_equal(mt_gov_derive(&st, (const mt_stmt *const *)f->w->s, f->w->ns, closes + DAY,
				       NULL, 0, seen, NULL),
			 0);
	assert_int_equal(prop(st, p)->outcome, MT_GOV_PASSED); /* never changes the result */
	assert_int_equal(st->n_votes, 2);
	assert_int_equal(st->votes[1].late, 1);
	assert_int_equal(st->votes[0].late, 0);
	mt_gov_state_free(st);
}

/* A vote by an old ID of a rotation chain counts for the chain: one vote. */
static void test_chain_votes_once(void **state)
{
	fx *f = *state;
	actor *b2 = w_actor(f->w);
	mt_stmt *p = propose(f, f->a, T0 + 100, T0 + 100 + 2 * DAY, "{\"max_gini\":500}");
	vote(f, f->a, T0 + 200, p, "yes");
	vote(f, f->b, T0 + 300, p, "no");
	vote(f, b2, T0 + 400, p, "yes"); /* b rotated into b2 */
	mt_pot_alias al = {f->b->id, b2->id};
	mt_gov_state *st = NULL;
	assert_int_equal(mt_gov_derive(&st, (const mt_stmt *const *)f->w->s, f->w->ns,
				       T0 + 60 * DAY, &al, 1, NULL, NULL),
			 0);
	const mt_gov_proposal *gp = prop(st, p);
	assert_int_equal(gp->yes, 2);
	assert_int_equal(gp->no, 0);
	assert_int_equal(gp->outcome, MT_GOV_PASSED);
	mt_gov_state_free(st);
}

static json_t *state_json(const mt_gov_state *st)
{
	json_t *a = json_array();
	for (size_t i = 0; i < st->n_proposals; i++) {
		const mt_gov_proposal *p = &st->proposals[i];
		json_array_append_new(a, json_pack("{s:s,s:I,s:I,s:s,s:I,s:o}", "id", p->id, "yes",
						   (json_int_t)p->yes, "no", (json_int_t)p->no,
						   "outcome", mt_gov_outcome_name(p->outcome),
						   "voters", (json_int_t)p->n_voters, "after",
						   mt_gov_policy_json(&p->after, 1)));
	}
	for (size_t i = 0; i < st->n_communities; i++)
		json_array_append_new(a, mt_gov_policy_json(&st->communities[i].policy, 1));
	json_t *refs = json_array();
	for (size_t i = 0; i < st->n_refusals; i++)
		json_array_append_new(refs, json_pack("{s:s,s:s}", "stmt", st->refusals[i].stmt,
						      "reason", st->refusals[i].reason));
	json_array_append_new(a, refs);
	return a;
}

/* The same statements in any order (and with duplicates) give the same state,
 * also when every statement shares one ts. */
static void test_order_independent(void **state)
{
	fx *f = *state;
	for (int same = 0; same < 2; same++) {
		int64_t t = same ? T0 + 100 : 0;
		mt_stmt *p1 = propose(f, f->a, t ? t : T0 + 100, (t ? t : T0 + 100) + 2 * DAY,
				      "{\"max_gini\":500}");
		mt_stmt *p2 = propose(f, f->b, t ? t : T0 + 150, (t ? t : T0 + 150) + 3 * DAY,
				      "{\"bridges\":[]}");
		vote(f, f->a, t ? t : T0 + 200, p1, "yes");
		vote(f, f->b, t ? t : T0 + 200, p1, "no");
		vote(f, f->b, t ? t : T0 + 250, p1, "yes");
		vote(f, f->out, t ? t : T0 + 250, p1, "yes");
		vote(f, f->c, t ? t : T0 + 300, p2, "yes");
		vote(f, f->c, t ? t : T0 + 300, p2, "no");
	}
	mt_gov_state *ref = derive(f, T0 + 60 * DAY);
	json_t *want = state_json(ref);
	assert_true(ref->n_proposals >= 2);
	mt_gov_state_free(ref);
	const mt_stmt *shuf[W_MAX_STMTS * 2];
	srand(7);
	for (int round = 0; round < 50; round++) {
		size_t n = f->w->ns;
		for (size_t i = 0; i < n; i++)
			shuf[i] = f->w->s[i];
		for (size_t i = 0; i < n / 2; i++)
			shuf[n + i] = f->w->s[(size_t)rand() % n];
		size_t m = n + n / 2;
		for (size_t i = m - 1; i > 0; i--) {
			size_t j = (size_t)rand() % (i + 1);
			const mt_stmt *x = shuf[i];
			shuf[i] = shuf[j];
			shuf[j] = x;
		}
		mt_gov_state *st = NULL;
		assert_int_equal(mt_gov_derive(&st, shuf, m, T0 + 60 * DAY, NULL, 0, NULL, NULL), 0);
		json_t *got = state_json(st);
		if (!json_equal(got, want)) {
			char *a = json_dumps(want, 0), *b = json_dumps(got, 0);
			fail_msg("order changed the state:\n%s\n%s", a, b);
		}
		json_decref(got);
		mt_gov_state_free(st);
	}
	json_decref(want);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_passes_with_quorum_and_threshold),
		T(test_quorum_missed),
		T(test_no_votes_fails),
		T(test_threshold_missed),
		T(test_outsider_and_late_votes_have_no_effect),
		T(test_vote_at_closes_counts),
		T(test_last_vote_counts),
		T(test_new_member_waits_one_period),
		T(test_one_open_proposal_per_member),
		T(test_closes_range),
		T(test_tiers_sorted_and_outsider_proposal),
		T(test_unknown_genesis_and_vote_before_proposal),
		T(test_later_proposals_override_key_by_key),
		T(test_genesis_quorum_threshold),
		T(test_late_by_first_seen),
		T(test_chain_votes_once),
		T(test_order_independent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* (the world's helpers this file does not use) */
static void unused_helpers(void) __attribute__((unused));
static void unused_helpers(void)
{
	(void)w_claim;
	(void)w_derive;
}
