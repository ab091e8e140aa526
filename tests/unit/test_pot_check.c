/* Refusals at issue time and at derivation agree (SPEC §6, §9.1): the check
 * the CLI runs before issuing a move (mt_pot_check_move) judges exactly the
 * statement the store then issues, where the replay will put it. Every move
 * below is checked, then issued whatever the check said; the derivation of
 * the store must count it iff the check accepted it, and the check's
 * tentative id must be the issued statement's id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "meshtrust/pot.h"
#include "testutil.h"
#include "teststore.h"

#define T0 1800000000LL
#define NK 6 /* A B C F founders, N1 N2 outsiders */

typedef struct fx {
	char *dir;
	mt_store *s;
	mt_keypair k[NK];
	char id[NK][MT_NODE_ID_MAX];
	char gid[65];
} fx;

enum { A, B, C, F, N1, N2 };

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	char path[4200];
	f->dir = mt_test_tmpdir();
	snprintf(path, sizeof path, "%s/pot.db", f->dir);
	assert_int_equal(mt_test_store_open(&f->s, path, NULL), 0);
	mt_test_keypairs(f->k, f->id, NK, 0x70);
	json_t *founders = json_pack("[s,s,s,s]", f->id[A], f->id[B], f->id[C], f->id[F]);
	json_t *g = json_pack("{s:s,s:s,s:o,s:{s:I,s:I,s:I}}", "type", "genesis", "scope",
			      "coop:check", "founders", founders, "params", "period", (json_int_t)1000,
			      "deadline_max", (json_int_t)500, "credits", (json_int_t)2);
	mt_stmt *st = NULL;
	assert_int_equal(mt_store_issue(f->s, &st, g, &f->k[A], T0, NULL), 0);
	mt_stmt_id_hex(f->gid, st);
	mt_stmt_free(st);
	json_decref(g);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	for (int i = 0; i < NK; i++)
		mt_keypair_wipe(&f->k[i]);
	mt_store_close(f->s);
	mt_test_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Check `body` (consumed) as `who` at clock `now`, issue it whatever the
 * check said, and compare the check's verdict with the derivation of the
 * store at `later` (after every statement held: the verdict once the
 * statements the move depends on are all replayed). Sets `id` to the issued
 * statement's id; returns whether the check accepted it. */
static int move(fx *f, int who, int64_t now, int64_t later, json_t *body, char id[65])
{
	char want[65] = "";
	mt_error err = {0};
	int rc = mt_pot_check_move(f->s, body, &f->k[who], now, want, &err);
	assert_true(rc == 0 || rc == MT_EPERM);
	mt_stmt *st = NULL;
	mt_error ierr = {0};
	if (mt_store_issue(f->s, &st, body, &f->k[who], now, &ierr) != 0)
		fail_msg("issue failed: %s", ierr.msg);
	json_decref(body);
	mt_stmt_id_hex(id, st);
	if (rc == 0)
		assert_string_equal(want, id); /* the check judged these very bytes */
	mt_pot_state *ps = NULL;
	assert_int_equal(mt_pot_derive_store(&ps, f->s, later, NULL), 0);
	const mt_pot_refusal *ref = mt_pot_refusal_get(ps, id);
	if (rc == 0 && ref)
		fail_msg("the check accepted a %s (ts %lld) the derivation refuses: %s",
			 mt_stmt_type_name(st->type), (long long)st->ts, ref->reason);
	if (rc != 0 && !ref)
		fail_msg("the check refused a %s (ts %lld: %s) the derivation counts",
			 mt_stmt_type_name(st->type), (long long)st->ts, err.msg);
	mt_pot_state_free(ps);
	mt_stmt_free(st);
	return rc == 0;
}

static json_t *open_body(fx *f, int cand, int with, int64_t deadline)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:I}", "type", "pot-open", "genesis", f->gid, "candidate",
			 f->id[cand], "cosponsor", f->id[with], "deadline", (json_int_t)deadline);
}

static void nonce_of(char out[65], int who, const char *round)
{
	unsigned char h[32];
	char in[120];
	snprintf(in, sizeof in, "check/%d/%s", who, round);
	mt_blake2b256(h, in, strlen(in));
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static json_t *commit_body(fx *f, int who, const char *round, const char *choice)
{
	char nonce[65], c[65];
	nonce_of(nonce, who, round);
	mt_pot_commitment(c, round, f->id[who], choice, nonce);
	return json_pack("{s:s,s:s,s:s}", "type", "pot-commit", "round", round, "commit", c);
}

static json_t *reveal_body(int who, const char *round, const char *choice)
{
	char nonce[65];
	nonce_of(nonce, who, round);
	return json_pack("{s:s,s:s,s:s,s:s}", "type", "pot-reveal", "round", round, "choice",
			 choice, "nonce", nonce);
}

static json_t *claim_body(fx *f, const char *round, int cand)
{
	return json_pack("{s:s,s:s,s:s}", "type", "pot-claim", "round", round, "candidate",
			 f->id[cand]);
}

/* Issue #17's script, every move in one second: the check and the
 * derivation agree on each move, the penalised cosponsor's new open
 * included. */
static void test_same_second_round(void **state)
{
	fx *f = *state;
	int64_t t = T0 + 10, later = T0 + 200;
	char r1[65], id[65];
	assert_true(move(f, A, t, later, open_body(f, N1, B, t + 400), r1));
	assert_true(move(f, A, t, later, commit_body(f, A, r1, "defect"), id));
	assert_true(move(f, B, t, later, commit_body(f, B, r1, "cooperate"), id));
	assert_false(move(f, A, t, later, claim_body(f, r1, N2), id)); /* not resolved yet */
	assert_true(move(f, A, t, later, reveal_body(A, r1, "defect"), id));
	assert_true(move(f, B, t, later, reveal_body(B, r1, "cooperate"), id));
	assert_false(move(f, B, t, later, open_body(f, N2, C, t + 400), id)); /* penalised */
	assert_false(move(f, C, t, later, commit_body(f, C, r1, "defect"), id)); /* not a sponsor */
	assert_true(move(f, A, t, later, claim_body(f, r1, N2), id));
	mt_pot_state *ps = NULL;
	assert_int_equal(mt_pot_derive_store(&ps, f->s, later, NULL), 0);
	const mt_pot_round *r = mt_pot_round_get(ps, r1);
	assert_non_null(r);
	assert_int_equal(r->stage, MT_POT_STAGE_RESOLVED);
	assert_int_equal(r->outcome, MT_POT_OPENER_DEFECTED);
	mt_pot_state_free(ps);
}

/* The store issues with ts = max(clock, ts of the issuer's head) (SPEC
 * §9.1). When the issuer's head is ahead of the clock, the check must judge
 * the statement at that ts too: its own commit (ahead) counts for its reveal,
 * and a move the raised ts puts past the deadline is refused. */
static void test_clock_behind_own_head(void **state)
{
	fx *f = *state;
	int64_t t = T0 + 10, later = T0 + 1000;
	char r1[65], r2[65], id[65];
	assert_true(move(f, A, t, later, open_body(f, N1, B, t + 300), r1));
	assert_true(move(f, B, t, later, commit_body(f, B, r1, "cooperate"), id));
	/* A's clock runs 100 s ahead for its commit, then comes back */
	assert_true(move(f, A, t + 100, later, commit_body(f, A, r1, "cooperate"), id));
	assert_true(move(f, B, t, later, reveal_body(B, r1, "cooperate"), id));
	assert_true(move(f, A, t, later, reveal_body(A, r1, "cooperate"), id));
	/* C opens r2 with F, deadline t + 150; F's head runs to t + 200 */
	assert_true(move(f, C, t, later, open_body(f, N2, F, t + 150), r2));
	assert_false(move(f, F, t + 200, later, claim_body(f, r1, N2), id)); /* no credits */
	assert_false(move(f, F, t, later, commit_body(f, F, r2, "cooperate"), id)); /* past */
	mt_pot_state *ps = NULL;
	assert_int_equal(mt_pot_derive_store(&ps, f->s, later, NULL), 0);
	assert_int_equal(mt_pot_round_get(ps, r1)->outcome, MT_POT_ADMITTED);
	assert_int_equal(mt_pot_round_get(ps, r2)->outcome, MT_POT_VOID);
	mt_pot_state_free(ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_second_round, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_behind_own_head, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
