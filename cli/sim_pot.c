/* mesh sim pot: play proof-of-trust rounds with strategies on generated,
 * signed statements, judged by the real derivation (mt_pot_derive), and check
 * the SPEC §6 bound ⌊m · max(1, credits) / 2⌋ identities per period
 * (docs/pot.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "opts.h"
#include "meshtrust/pot.h"
#include "sim.h"

enum strat { S_COOP = 0, S_DEFECT, S_TFT, S_RANDOM, S__N };
static const char *const STRAT_NAMES[] = {"always-cooperate", "always-defect", "tit-for-tat",
					  "random"};

typedef struct sim_actor {
	sim_signer key;
	enum strat strat;
	int last_seen; /* what the last partner did: -1 none, 0 cooperate, 1 defect */
	int rounds, coop, defect, sponsored, claimed, penalised_periods;
} sim_actor;

typedef struct sim {
	sim_actor *a;
	size_t na, cap_a;
	mt_stmt **s;
	size_t ns, cap_s;
	uint64_t rng;
	unsigned char seed[32];
	int mixed;
	enum strat strat;
} sim;

static uint64_t rnd(sim *S)
{
	S->rng ^= S->rng << 13;
	S->rng ^= S->rng >> 7;
	S->rng ^= S->rng << 17;
	return S->rng;
}

static int new_actor(sim *S, size_t *out)
{
	if (mesh_sim_reserve((void **)&S->a, S->na, &S->cap_a, sizeof *S->a, 64))
		return -1;
	sim_actor *x = &S->a[S->na];
	memset(x, 0, sizeof *x);
	if (mesh_sim_signer_init(&x->key, S->seed, S->na) != 0)
		return -1;
	x->strat = S->mixed ? (enum strat)(S->na % S__N) : S->strat;
	x->last_seen = -1;
	*out = S->na++;
	return 0;
}

static mt_stmt *emit(sim *S, size_t who, int64_t ts, json_t *body)
{
	return mesh_sim_sign(&S->a[who].key, &S->s, &S->ns, &S->cap_s, ts, body);
}

static size_t find_actor(const sim *S, const char *id)
{
	for (size_t i = 0; i < S->na; i++)
		if (strcmp(S->a[i].key.id, id) == 0)
			return i;
	return (size_t)-1;
}

static int choose(sim *S, const sim_actor *x)
{
	switch (x->strat) {
	case S_COOP: return 0;
	case S_DEFECT: return 1;
	case S_TFT: return x->last_seen == 1;
	default: return (int)(rnd(S) & 1);
	}
}

static int derive(sim *S, int64_t at, mt_pot_state **out)
{
	mt_error err = {0};
	if (mt_pot_derive(out, (const mt_stmt *const *)S->s, S->ns, at, &err) != 0)
		return mesh_fail_err(&err);
	return 0;
}

#define SIM_USAGE                                                                                  \
	"mesh sim pot --members N --periods T --strategy "                                         \
	"always-cooperate|always-defect|tit-for-tat|random|mixed [--credits C] [--seed S] "        \
	"[--max-pairs K] [--json]"

static const mesh_opt SIM_OPTS[] = {
	{"members", MESH_ARG, "N", "founding members, 2..2000 (default 10)", 'm'},
	{"periods", MESH_ARG, "T", "periods played, 1..200 (default 6)", 'p'},
	{"strategy", MESH_ARG, "S",
	 "always-cooperate, always-defect, tit-for-tat, random or mixed\n(default mixed)", 's'},
	{"credits", MESH_ARG, "C", "claims a defector earns, 1..100 (default 2)", 'c'},
	{"seed", MESH_ARG, "S", "random seed (default 1)", 'S'},
	{"max-pairs", MESH_ARG, "K", "cap on rounds per period (default 200) to bound the run time",
	 'k'},
	MESH_OPT_JSON_H("print the run (periods, members, violations) as JSON"), MESH_OPT_END};
static const mesh_spec SIM_SPEC = {
	SIM_USAGE,
	"Play N founding members over T periods: each period the members who may stake\nare paired "
	"at random; each pair opens a round for a new identity and plays its\nstrategies (mixed = "
	"the four in turn). Defectors then try credits+1 claims.\nAll moves are real signed "
	"statements judged by the same derivation as\n`mesh pot status`. Prints identities "
	"created per period and per member and\nchecks created <= floor(m * max(1, credits) / 2), "
	"m = members eligible to stake\nat the period's start. Exit 1 on any violation.",
	SIM_OPTS, 0, 0, NULL, NULL};

int mesh_sim_pot(mesh_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	int64_t members = 10, periods = 6, credits = MT_POT_DEFAULT_CREDITS, seed = 1,
		max_pairs = 200;
	const char *strategy = "mixed";
	int json = 0, rc = EXIT_OK;
	mt_error err = {0};
	mesh_args a;
	int prc = mesh_parse_args(&SIM_SPEC, argc, argv, &a);
	if (prc != MESH_ARGS_RUN)
		return prc;
	for (int i = 0; i < a.n_opt; i++) {
		const char *v = a.opt[i].val;
		int bad = 0;
		switch (a.opt[i].id) {
		case 'm': bad = mesh_parse_int(&members, v, "--members", 2, 2000, &err); break;
		case 'p': bad = mesh_parse_int(&periods, v, "--periods", 1, 200, &err); break;
		case 'c': bad = mesh_parse_int(&credits, v, "--credits", 1, 100, &err); break;
		case 'S': bad = mesh_parse_int(&seed, v, "--seed", 0, INT64_MAX, &err); break;
		case 'k': bad = mesh_parse_int(&max_pairs, v, "--max-pairs", 1, 100000, &err); break;
		case 's': strategy = v; break;
		case 'j': json = 1; break;
		}
		if (bad)
			return mesh_usage(SIM_USAGE, "%s", err.msg);
	}
	sim S = {0};
	S.mixed = strcmp(strategy, "mixed") == 0;
	if (!S.mixed) {
		int found = 0;
		for (int i = 0; i < S__N; i++)
			if (strcmp(strategy, STRAT_NAMES[i]) == 0) {
				S.strat = (enum strat)i;
				found = 1;
			}
		if (!found)
			return mesh_usage(SIM_USAGE, "--strategy: \"%s\" is not a strategy", strategy);
	}
	if (mt_identity_init() != 0)
		return mesh_fail("libsodium failed to initialise");
	S.rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)seed;
	if (!S.rng)
		S.rng = 1;
	char seedtxt[64];
	snprintf(seedtxt, sizeof seedtxt, "mesh-sim-pot/%lld", (long long)seed);
	mt_blake2b256(S.seed, seedtxt, strlen(seedtxt));

	const int64_t P = MT_POT_DEFAULT_PERIOD, T0 = 1700000000;
	json_t *founders = json_array(), *jperiods = json_array(), *jmembers = json_array();
	size_t idx, *pairs = NULL, *elig = NULL;
	int violations = 0;
	for (int64_t i = 0; i < members; i++) {
		if (new_actor(&S, &idx)) {
			rc = mesh_fail("out of memory");
			goto done;
		}
		json_array_append_new(founders, json_string(S.a[idx].key.id));
	}
	mt_stmt *g = emit(&S, 0, T0,
			  json_pack("{s:s,s:s,s:O,s:{s:I,s:I,s:I}}", "type", "genesis", "scope",
				    "coop:sim", "founders", founders, "params", "period",
				    (json_int_t)P, "deadline_max", (json_int_t)(7 * 86400), "credits",
				    (json_int_t)credits));
	if (!g) {
		rc = mesh_fail("signing the genesis failed");
		goto done;
	}
	char gid[65];
	mt_stmt_id_hex(gid, g);
	if (!json)
		printf("%-6s %8s %8s %8s %6s %8s %s\n", "PERIOD", "ELIGIBLE", "ROUNDS", "CREATED",
		       "BOUND", "REFUSED", "CHECK");
	for (int64_t k = 0; k < periods; k++) {
		int64_t tk = T0 + 1000 + k * P;
		mt_pot_state *st = NULL;
		if ((rc = derive(&S, tk, &st)))
			goto done;
		const mt_pot_community *cm = mt_pot_community_get(st, gid);
		size_t m = 0, n_ref0 = st->n_refusals;
		free(elig);
		elig = malloc((cm->n_members + 1) * sizeof *elig);
		if (!elig) {
			mt_pot_state_free(st);
			rc = mesh_fail("out of memory");
			goto done;
		}
		for (size_t i = 0; i < cm->n_members; i++) {
			size_t who = find_actor(&S, cm->members[i].id);
			if (who == (size_t)-1)
				continue;
			if (mt_pot_can_stake(st, cm, cm->members[i].id, tk, NULL, 0))
				elig[m++] = who;
			else if (cm->members[i].penalty_until > tk)
				S.a[who].penalised_periods++;
		}
		mt_pot_state_free(st);
		for (size_t i = m; i > 1; i--) {
			size_t j = (size_t)(rnd(&S) % i), t = elig[i - 1];
			elig[i - 1] = elig[j];
			elig[j] = t;
		}
		size_t npairs = m / 2 < (size_t)max_pairs ? m / 2 : (size_t)max_pairs;
		free(pairs);
		pairs = calloc(npairs * 2 + 1, sizeof *pairs);
		int *choice = calloc(npairs * 2 + 1, sizeof *choice);
		char(*rounds)[65] = calloc(npairs + 1, sizeof *rounds);
		if (!pairs || !choice || !rounds) {
			free(choice);
			free(rounds);
			rc = mesh_fail("out of memory");
			goto done;
		}
		for (size_t p = 0; p < npairs; p++) {
			size_t a = elig[2 * p], b = elig[2 * p + 1], cand;
			pairs[2 * p] = a;
			pairs[2 * p + 1] = b;
			if (new_actor(&S, &cand)) {
				rc = mesh_fail("out of memory");
				break;
			}
			mt_stmt *o = emit(&S, a, tk,
					  json_pack("{s:s,s:s,s:s,s:s,s:I}", "type", "pot-open",
						    "genesis", gid, "candidate", S.a[cand].key.id,
						    "cosponsor", S.a[b].key.id, "deadline",
						    (json_int_t)(tk + 3600)));
			if (!o) {
				rc = mesh_fail("signing failed");
				break;
			}
			mt_stmt_id_hex(rounds[p], o);
			for (int w = 0; w < 2; w++) {
				size_t who = pairs[2 * p + w];
				int ch = choose(&S, &S.a[who]);
				choice[2 * p + w] = ch;
				const char *cs = ch ? "defect" : "cooperate";
				unsigned char raw[32], in[80];
				char nonce[65], commit[65];
				memcpy(in, S.seed, 32);
				memcpy(in + 32, o->id, 32);
				memcpy(in + 64, &who, sizeof who);
				mt_blake2b256(raw, in, 64 + sizeof who);
				for (int i = 0; i < 32; i++)
					snprintf(nonce + 2 * i, 3, "%02x", raw[i]);
				mt_pot_commitment(commit, rounds[p], S.a[who].key.id, cs, nonce);
				if (!emit(&S, who, tk + 1,
					  json_pack("{s:s,s:s,s:s}", "type", "pot-commit", "round",
						    rounds[p], "commit", commit)) ||
				    !emit(&S, who, tk + 2,
					  json_pack("{s:s,s:s,s:s,s:s}", "type", "pot-reveal", "round",
						    rounds[p], "choice", cs, "nonce", nonce))) {
					rc = mesh_fail("signing failed");
					break;
				}
				S.a[who].rounds++;
				if (ch)
					S.a[who].defect++;
				else
					S.a[who].coop++;
			}
			if (rc)
				break;
			int ca = choice[2 * p], cb = choice[2 * p + 1];
			S.a[a].last_seen = cb;
			S.a[b].last_seen = ca;
			if (ca != cb) {
				/* the defector tries one claim more than it may */
				size_t def = ca ? a : b;
				for (int64_t j = 0; j <= credits && !rc; j++) {
					size_t nc;
					if (new_actor(&S, &nc) ||
					    !emit(&S, def, tk + 3 + j,
						  json_pack("{s:s,s:s,s:s}", "type", "pot-claim",
							    "round", rounds[p], "candidate",
							    S.a[nc].key.id)))
						rc = mesh_fail("signing failed");
				}
			}
		}
		if (rc) {
			free(choice);
			free(rounds);
			goto done;
		}
		/* Judge the period with the real derivation. */
		if ((rc = derive(&S, tk + P - 1, &st))) {
			free(choice);
			free(rounds);
			goto done;
		}
		cm = mt_pot_community_get(st, gid);
		int64_t created = 0;
		for (size_t i = 0; i < cm->n_members; i++) {
			const mt_pot_member *mb = &cm->members[i];
			if (mb->founder || mb->since < tk || mb->since >= tk + P)
				continue;
			created++;
			const mt_pot_round *r = mt_pot_round_get(st, mb->admitted_by);
			if (!r)
				continue;
			if (strcmp(r->candidate, mb->id) == 0) {
				for (int w = 0; w < 2; w++) {
					size_t who = find_actor(&S, r->party[w]);
					if (who != (size_t)-1)
						S.a[who].sponsored++;
				}
			} else {
				size_t who = find_actor(&S, r->party[r->defected[0] ? 0 : 1]);
				if (who != (size_t)-1)
					S.a[who].claimed++;
			}
		}
		int64_t bound = (int64_t)m * (credits > 1 ? credits : 1) / 2;
		int ok = created <= bound;
		violations += !ok;
		size_t refused = st->n_refusals - n_ref0;
		mt_pot_state_free(st);
		free(choice);
		free(rounds);
		if (json)
			json_array_append_new(
				jperiods, json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:b}", "period",
						    (json_int_t)(k + 1), "eligible", (json_int_t)m,
						    "rounds", (json_int_t)npairs, "created",
						    (json_int_t)created, "bound", (json_int_t)bound,
						    "refused", (json_int_t)refused, "ok", ok));
		else
			printf("%-6lld %8zu %8zu %8lld %6lld %8zu %s\n", (long long)(k + 1), m, npairs,
			       (long long)created, (long long)bound, refused,
			       ok ? "OK" : "VIOLATION");
	}
	if (!json)
		printf("\n%-16s %-16s %6s %5s %6s %9s %7s %9s\n", "MEMBER", "STRATEGY", "ROUNDS",
		       "COOP", "DEFECT", "SPONSORED", "CLAIMED", "PENALISED");
	for (int64_t i = 0; i < members; i++) {
		const sim_actor *x = &S.a[i];
		if (json)
			json_array_append_new(
				jmembers,
				json_pack("{s:s,s:s,s:i,s:i,s:i,s:i,s:i,s:i}", "member", x->key.id,
					  "strategy", STRAT_NAMES[x->strat], "rounds", x->rounds,
					  "cooperated", x->coop, "defected", x->defect, "sponsored",
					  x->sponsored, "claimed", x->claimed, "penalised_periods",
					  x->penalised_periods));
		else
			printf("%.16s %-16s %6d %5d %6d %9d %7d %9d\n", x->key.id,
			       STRAT_NAMES[x->strat], x->rounds, x->coop, x->defect, x->sponsored,
			       x->claimed, x->penalised_periods);
	}
	if (json)
		mesh_print_json(json_pack("{s:I,s:I,s:s,s:I,s:O,s:O,s:i}", "members",
					  (json_int_t)members, "credits", (json_int_t)credits,
					  "strategy", strategy, "statements", (json_int_t)S.ns,
					  "periods", jperiods, "per_member", jmembers, "violations",
					  violations));
	else
		printf("\n%s: %d violation(s) of the bound in %lld period(s)\n",
		       violations ? "FAILED" : "bound holds", violations, (long long)periods);
	rc = violations ? EXIT_FAIL : EXIT_OK;
done:
	for (size_t i = 0; i < S.na; i++)
		mt_keypair_wipe(&S.a[i].key.kp);
	free(S.a);
	for (size_t i = 0; i < S.ns; i++)
		mt_stmt_free(S.s[i]);
	free(S.s);
	free(pairs);
	free(elig);
	json_decref(founders);
	json_decref(jperiods);
	json_decref(jmembers);
	return rc;
}
