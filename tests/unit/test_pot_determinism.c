/* Determinism: a 50-member community playing 500 rounds (with defections,
 * forfeits, missing consents, claims, refused moves), fed to the derivation
 * in 20 random orders, gives the same roster and penalties every time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "test_pot_world.h"

#define T0 1800000000LL
#define PERIOD 1000
#define MEMBERS 50
#define ROUNDS 500

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void fresh_id(char out[MT_NODE_ID_MAX], unsigned n)
{
	unsigned char seed[32] = {0};
	seed[0] = 0xc4;
	seed[1] = (unsigned char)(n & 0xff);
	seed[2] = (unsigned char)(n >> 8);
	mt_keypair kp;
	if (mt_keypair_from_seed(&kp, seed) != 0)
		abort();
	mt_node_id_encode(out, kp.pk);
	mt_keypair_wipe(&kp);
}

/* roster + penalties (+ the rest of the state) as one canonical string */
static char *serialize(const mt_pot_state *st)
{
	json_t *j = mt_pot_state_json(st);
	char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(j);
	return s;
}

static void test_fifty_members_500_rounds_20_orders(void **state)
{
	(void)state;
	world *w = w_new();
	actor *m[MEMBERS];
	for (int i = 0; i < MEMBERS; i++)
		m[i] = w_actor(w);
	mt_stmt *g = w_genesis(w, m[0], T0, "coop:det", m, MEMBERS, PERIOD, 600, 2);
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	unsigned cand = 0;
	int rounds = 0;
	for (int period = 0; rounds < ROUNDS; period++) {
		int order[MEMBERS];
		for (int i = 0; i < MEMBERS; i++)
			order[i] = i;
		for (int i = MEMBERS - 1; i > 0; i--) {
			int j = (int)(rng_next(&rng) % (uint64_t)(i + 1)), t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		for (int p = 0; p + 1 < MEMBERS && rounds < ROUNDS; p += 2, rounds++) {
			actor *a = m[order[p]], *b = m[order[p + 1]];
			int64_t t = T0 + 10 + (int64_t)period * PERIOD + (int64_t)(rng_next(&rng) % 50);
			char cid[MT_NODE_ID_MAX];
			fresh_id(cid, cand++);
			mt_stmt *o = w_open(w, a, t, g, cid, b->id, t + 300);
			char round[65];
			snprintf(round, sizeof round, "%s", w_hex(o));
			const char *ca = rng_next(&rng) % 3 ? "cooperate" : "defect";
			const char *cb = rng_next(&rng) % 3 ? "cooperate" : "defect";
			int roll = (int)(rng_next(&rng) % 20);
			w_commit(w, a, t + 1 + (int64_t)(rng_next(&rng) % 40), round, ca);
			if (roll == 0)
				continue; /* the cosponsor never consents */
			w_commit(w, b, t + 2 + (int64_t)(rng_next(&rng) % 40), round, cb);
			if (roll != 1)
				w_reveal(w, a, t + 50 + (int64_t)(rng_next(&rng) % 200), round, ca);
			if (roll != 2)
				w_reveal(w, b, t + 50 + (int64_t)(rng_next(&rng) % 300), round, cb);
			/* defectors try to claim three times (one too many) */
			if (strcmp(ca, cb) != 0) {
				actor *d = strcmp(ca, "defect") == 0 ? a : b;
				for (int k = 0; k < 3; k++) {
					fresh_id(cid, cand++);
					w_claim(w, d, t + 400 + k, round, cid);
				}
			}
		}
	}
	int64_t at = T0 + 100LL * PERIOD;
	mt_pot_state *ref = w_derive(w, at);
	char *want = serialize(ref);
	/* the run must exercise the rules, not be trivially empty */
	assert_true(ref->n_rounds > 100);
	assert_true(ref->n_penalties > 20);
	assert_true(ref->n_refusals > 20);
	assert_true(ref->communities[0].n_members > MEMBERS + 20);

	const mt_stmt **shuf = malloc(w->ns * sizeof *shuf);
	uint64_t srng = 12345;
	for (int trial = 0; trial < 20; trial++) {
		for (size_t i = 0; i < w->ns; i++)
			shuf[i] = w->s[i];
		for (size_t i = w->ns - 1; i > 0; i--) {
			size_t j = (size_t)(rng_next(&srng) % (i + 1));
			const mt_stmt *t = shuf[i];
			shuf[i] = shuf[j];
			shuf[j] = t;
		}
		mt_pot_state *st = NULL;
		assert_int_equal(mt_pot_derive(&st, shuf, w->ns, at, NULL), 0);
		char *got = serialize(st);
		assert_string_equal(want, got);
		free(got);
		mt_pot_state_free(st);
	}
	free(shuf);
	free(want);
	mt_pot_state_free(ref);
	w_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifty_members_500_rounds_20_orders),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
