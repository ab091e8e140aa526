/* mesh sim pot: play proof-of-trust rounds with strategies on generated,
 * signed statements, judged by the real derivation (mt_pot_derive), and check
 * the SPEC §6 bound ⌊m · max(1, credits) / 2⌋ identities per period.
 * mesh sim attack: Sybil regions on a real trust graph, best-path vs flow mode
 * (docs/attack.md). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "cli.h"
#include "meshtrust/engine.h"
#include "meshtrust/flow.h"
#include "meshtrust/pot.h"

enum strat { S_COOP = 0, S_DEFECT, S_TFT, S_RANDOM, S__N };
static const char *const STRAT_NAMES[] = {"always-cooperate", "always-defect", "tit-for-tat",
					  "random"};

typedef struct sim_actor {
	mt_keypair kp;
	char id[MT_NODE_ID_MAX];
	uint64_t seq;
	unsigned char prev[32];
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
	if (S->na == S->cap_a) {
		size_t nc = S->cap_a ? S->cap_a * 2 : 64;
		sim_actor *p = realloc(S->a, nc * sizeof *p);
		if (!p)
			return -1;
		S->a = p;
		S->cap_a = nc;
	}
	sim_actor *x = &S->a[S->na];
	memset(x, 0, sizeof *x);
	unsigned char in[40], seed[32];
	memcpy(in, S->seed, 32);
	for (int i = 0; i < 8; i++)
		in[32 + i] = (unsigned char)(S->na >> (8 * i));
	mt_blake2b256(seed, in, sizeof in);
	if (mt_keypair_from_seed(&x->kp, seed) != 0)
		return -1;
	mt_node_id_encode(x->id, x->kp.pk);
	x->strat = S->mixed ? (enum strat)(S->na % S__N) : S->strat;
	x->last_seen = -1;
	*out = S->na++;
	return 0;
}

static mt_stmt *emit(sim *S, size_t who, int64_t ts, json_t *body)
{
	sim_actor *x = &S->a[who];
	mt_stmt *st = NULL;
	if (S->ns == S->cap_s) {
		size_t nc = S->cap_s ? S->cap_s * 2 : 256;
		mt_stmt **p = realloc(S->s, nc * sizeof *p);
		if (!p) {
			json_decref(body);
			return NULL;
		}
		S->s = p;
		S->cap_s = nc;
	}
	int rc = mt_stmt_sign(&st, body, &x->kp, x->seq + 1, x->seq ? x->prev : NULL, ts, NULL);
	json_decref(body);
	if (rc)
		return NULL;
	x->seq++;
	memcpy(x->prev, st->id, 32);
	S->s[S->ns++] = st;
	return st;
}

static size_t find_actor(const sim *S, const char *id)
{
	for (size_t i = 0; i < S->na; i++)
		if (strcmp(S->a[i].id, id) == 0)
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

static int sim_pot(mesh_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	static const struct option opts[] = {{"members", required_argument, 0, 'm'},
					     {"periods", required_argument, 0, 'p'},
					     {"strategy", required_argument, 0, 's'},
					     {"credits", required_argument, 0, 'c'},
					     {"seed", required_argument, 0, 'S'},
					     {"max-pairs", required_argument, 0, 'k'},
					     {"json", no_argument, 0, 'j'},
					     {"help", no_argument, 0, 'h'},
					     {0, 0, 0, 0}};
	int64_t members = 10, periods = 6, credits = MT_POT_DEFAULT_CREDITS, seed = 1,
		max_pairs = 200;
	const char *strategy = "mixed";
	int c, json = 0, rc = EXIT_OK;
	mt_error err = {0};
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int bad = 0;
		switch (c) {
		case 'm': bad = mesh_parse_int(&members, optarg, "--members", 2, 2000, &err); break;
		case 'p': bad = mesh_parse_int(&periods, optarg, "--periods", 1, 200, &err); break;
		case 'c': bad = mesh_parse_int(&credits, optarg, "--credits", 1, 100, &err); break;
		case 'S': bad = mesh_parse_int(&seed, optarg, "--seed", 0, INT64_MAX, &err); break;
		case 'k':
			bad = mesh_parse_int(&max_pairs, optarg, "--max-pairs", 1, 100000, &err);
			break;
		case 's': strategy = optarg; break;
		case 'j': json = 1; break;
		case 'h':
			printf("usage: %s\n\nPlay N founding members over T periods: each period "
			       "the members who may stake\nare paired at random; each pair opens a "
			       "round for a new identity and plays its\nstrategies (mixed = the four "
			       "in turn). Defectors then try credits+1 claims.\nAll moves are real "
			       "signed statements judged by the same derivation as\n`mesh pot "
			       "status`. Prints identities created per period and per member and\n"
			       "checks created <= floor(m * max(1, credits) / 2), m = members "
			       "eligible to stake\nat the period's start. Exit 1 on any violation.\n"
			       "  --max-pairs K  cap on rounds per period (default 200) to bound the "
			       "run time\n",
			       SIM_USAGE);
			return EXIT_OK;
		default: return mesh_usage(SIM_USAGE, "bad option");
		}
		if (bad)
			return mesh_usage(SIM_USAGE, "%s", err.msg);
	}
	if (optind != argc)
		return mesh_usage(SIM_USAGE, "unexpected argument %s", argv[optind]);
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
		json_array_append_new(founders, json_string(S.a[idx].id));
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
						    "genesis", gid, "candidate", S.a[cand].id,
						    "cosponsor", S.a[b].id, "deadline",
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
				mt_pot_commitment(commit, rounds[p], S.a[who].id, cs, nonce);
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
							    S.a[nc].id)))
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
				json_pack("{s:s,s:s,s:i,s:i,s:i,s:i,s:i,s:i}", "member", x->id,
					  "strategy", STRAT_NAMES[x->strat], "rounds", x->rounds,
					  "cooperated", x->coop, "defected", x->defect, "sponsored",
					  x->sponsored, "claimed", x->claimed, "penalised_periods",
					  x->penalised_periods));
		else
			printf("%.16s %-16s %6d %5d %6d %9d %7d %9d\n", x->id, STRAT_NAMES[x->strat],
			       x->rounds, x->coop, x->defect, x->sponsored, x->claimed,
			       x->penalised_periods);
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
		mt_keypair_wipe(&S.a[i].kp);
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

/* ---- mesh sim attack ------------------------------------------------------
 * A real trust graph (edge list) plus a Sybil region behind k attack edges,
 * evaluated from honest viewpoints with the best-path engine (SPEC §3) and
 * with flow mode (flow.h), against Levien's bound. No keys are involved: the
 * engine only needs distinct ID strings ("h" + number, "s" + number). */

#define ATTACK_MAX_LIST 16

typedef struct attack_graph {
	uint32_t *src, *dst; /* honest edges, 0-based dense node numbers */
	uint16_t *score;
	size_t m, cap;
	uint64_t *num;       /* dense number -> file number */
	size_t n, cap_n;
} attack_graph;

typedef struct attack_row {
	int k, depth;
	long sybils;
	double bp_sybils, bp_score, bp_honest; /* means over viewpoints */
	double fl_sybils, fl_bound, fl_honest;
	long fl_max, violations, runs;
} attack_row;

static int parse_list(int *out, int *n, const char *text, const char *name, int lo, int hi)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", text);
	*n = 0;
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int64_t v;
		mt_error err = {0};
		if (*n == ATTACK_MAX_LIST)
			return mesh_usage(NULL, "%s: at most %d values", name, ATTACK_MAX_LIST);
		if (mesh_parse_int(&v, tok, name, lo, hi, &err))
			return mesh_usage(NULL, "%s", err.msg);
		out[(*n)++] = (int)v;
	}
	if (!*n)
		return mesh_usage(NULL, "%s: give a comma-separated list, e.g. 1,5,20", name);
	return EXIT_OK;
}

static int cmp_u64v(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint32_t dense_of(const attack_graph *g, uint64_t num)
{
	const uint64_t *p = bsearch(&num, g->num, g->n, sizeof *g->num, cmp_u64v);
	return (uint32_t)(p - g->num);
}

/* Read FROM TO WEIGHT (konect) or SOURCE,TARGET,RATING,TIME (csv-signed), plain
 * or gzip; keep positive non-self edges, as `mesh graph import-edgelist`
 * does (konect weight -> permille; rating r -> 100 r permille). */
static int attack_read(attack_graph *g, const char *path, int csv)
{
	gzFile f = gzopen(path, "rb");
	if (!f)
		return mesh_fail("cannot read %s: %s", path, errno ? strerror(errno) : "gzopen failed");
	char line[512];
	uint64_t *a = NULL, *b = NULL;
	size_t lineno = 0;
	int rc = EXIT_OK;
	while (gzgets(f, line, sizeof line)) {
		lineno++;
		if (line[0] < '0' || line[0] > '9')
			continue; /* header, comment or blank line */
		char *end;
		unsigned long long from = strtoull(line, &end, 10), to;
		double w;
		if (csv) {
			if (*end != ',')
				goto bad;
			to = strtoull(end + 1, &end, 10);
			if (*end != ',')
				goto bad;
			long r = strtol(end + 1, &end, 10);
			w = r / 10.0;
		} else {
			to = strtoull(end, &end, 10);
			w = strtod(end, &end);
		}
		if (end == line)
			goto bad;
		if (from == to || !(w > 0.0))
			continue;
		if (w > 1.0)
			w = 1.0;
		if (g->m == g->cap) {
			size_t nc = g->cap ? g->cap * 2 : 4096;
			uint64_t *na = realloc(a, nc * sizeof *na), *nb = na ? realloc(b, nc * sizeof *nb) : NULL;
			uint16_t *ns = nb ? realloc(g->score, nc * sizeof *ns) : NULL;
			if (na)
				a = na;
			if (nb)
				b = nb;
			if (!ns) {
				rc = mesh_fail("out of memory");
				goto done;
			}
			g->score = ns;
			g->cap = nc;
		}
		a[g->m] = from;
		b[g->m] = to;
		long pm = lround(w * 1000.0);
		g->score[g->m++] = (uint16_t)(pm < 1 ? 1 : pm);
		continue;
bad:
		rc = mesh_fail("%s:%zu: not a %s line", path, lineno, csv ? "csv-signed" : "konect");
		goto done;
	}
	/* Dense numbering in file-number order. */
	g->num = malloc(2 * (g->m ? g->m : 1) * sizeof *g->num);
	g->src = malloc((g->m ? g->m : 1) * sizeof *g->src);
	g->dst = malloc((g->m ? g->m : 1) * sizeof *g->dst);
	if (!g->num || !g->src || !g->dst) {
		rc = mesh_fail("out of memory");
		goto done;
	}
	for (size_t i = 0; i < g->m; i++) {
		g->num[2 * i] = a[i];
		g->num[2 * i + 1] = b[i];
	}
	qsort(g->num, 2 * g->m, sizeof *g->num, cmp_u64v);
	for (size_t i = 0; i < 2 * g->m; i++)
		if (!g->n || g->num[g->n - 1] != g->num[i])
			g->num[g->n++] = g->num[i];
	for (size_t i = 0; i < g->m; i++) {
		g->src[i] = dense_of(g, a[i]);
		g->dst[i] = dense_of(g, b[i]);
	}
	if (!g->m)
		rc = mesh_fail("%s: no positive edges", path);
done:
	free(a);
	free(b);
	gzclose(f);
	return rc;
}

static void attack_graph_free(attack_graph *g)
{
	free(g->src);
	free(g->dst);
	free(g->score);
	free(g->num);
}

static uint64_t attack_rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Evaluate one (k, S) configuration at every depth; appends rows. */
static int attack_config(const attack_graph *g, char (*hid)[16], const uint32_t *compromised,
			 int k, int S, const uint32_t *views, int n_views, const int *depths,
			 int n_depths, uint64_t seed, attack_row *rows)
{
	size_t m = g->m + (size_t)S * 8 + (size_t)k;
	mt_edge_in *ed = malloc(m * sizeof *ed);
	char(*sid)[16] = malloc((size_t)S * sizeof *sid);
	int rc = EXIT_OK;
	mt_engine *e = NULL;
	if (!ed || !sid) {
		rc = mesh_fail("out of memory");
		goto done;
	}
	size_t n = 0;
	for (size_t i = 0; i < g->m; i++)
		ed[n++] = (mt_edge_in){hid[g->src[i]], hid[g->dst[i]], "global", MT_LEVEL_FULL,
				       g->score[i], 0};
	for (int i = 0; i < S; i++)
		snprintf(sid[i], sizeof sid[i], "s%07d", i);
	/* Sybil region: each Sybil trusts the next one (a ring) and up to 7 random
	 * others, all with the top score: as well connected as an attacker likes. */
	uint64_t x = seed ^ 0x5bd1e995u ^ ((uint64_t)S << 20);
	for (int i = 0; i < S && S > 1; i++) {
		size_t row = n;
		ed[n++] = (mt_edge_in){sid[i], sid[(i + 1) % S], "global", MT_LEVEL_FULL, 1000, 0};
		for (int j = 0; j < 7; j++) {
			int w = (int)(attack_rnd(&x) % (uint64_t)S), dup = w == i;
			for (size_t t = row; t < n && !dup; t++)
				dup = ed[t].dst == sid[w];
			if (!dup)
				ed[n++] = (mt_edge_in){sid[i], sid[w], "global", MT_LEVEL_FULL, 1000, 0};
		}
	}
	for (int j = 0; j < k; j++)
		ed[n++] = (mt_edge_in){hid[compromised[j]], sid[j % S], "global", MT_LEVEL_FULL, 1000, 0};
	mt_error err = {0};
	if (mt_engine_new(&e, ed, n, &err) != 0) {
		rc = mesh_fail_err(&err);
		goto done;
	}
	static const double decay[] = {1, 1, 0.5, 0.25, 0.125};
	uint32_t cap[MT_FLOW_MAX_CAPACITIES];
	size_t n_cap;
	mt_flow_capacities_parse(cap, &n_cap, MT_FLOW_DEFAULT_CAPACITIES, NULL);
	for (int di = 0; di < n_depths; di++) {
		attack_row *r = &rows[di];
		memset(r, 0, sizeof *r);
		r->k = k;
		r->sybils = S;
		r->depth = depths[di];
		for (int vi = 0; vi < n_views; vi++) {
			const char *v = hid[views[vi]];
			mt_trust_query tq = {v, "global", 0, depths[di], decay, 5};
			mt_flow_query fq = {v, "global", 0, depths[di], cap, n_cap};
			mt_trust_result *tr = NULL;
			mt_flow_result *fr = NULL;
			if (mt_engine_trust(&tr, e, &tq, NULL, &err) != 0 ||
			    mt_flow_trust(&fr, e, &fq, &err) != 0) {
				mt_trust_result_free(tr);
				rc = mesh_fail_err(&err);
				goto done;
			}
			long bp_s = 0, fl_s = 0, bound = 0;
			double bp_score = 0;
			for (size_t t = 0; t < tr->count; t++) {
				const mt_trust_entry *te = &tr->entries[t];
				if (te->id[0] == 's') {
					bp_s++;
					bp_score += te->score;
				}
			}
			/* Levien's bound: Σ (c(d) − 1) over the compromised nodes in the region
			 * (d = BFS distance = best-path hops). */
			for (int j = 0; j < k; j++) {
				int64_t ci = mt_engine_node_index(e, hid[compromised[j]]);
				for (size_t t = 0; t < tr->count; t++)
					if ((int64_t)tr->entries[t].node == ci && tr->entries[t].hops <= fr->depth)
						bound += (long)cap[tr->entries[t].hops] - 1;
			}
			for (size_t t = 0; t < fr->count; t++)
				fl_s += fr->entries[t].id[0] == 's';
			r->bp_sybils += (double)bp_s;
			r->bp_score += bp_score;
			r->bp_honest += (double)((long)tr->count - bp_s);
			r->fl_sybils += (double)fl_s;
			r->fl_bound += (double)bound;
			r->fl_honest += (double)((long)fr->count - fl_s);
			if (fl_s > r->fl_max)
				r->fl_max = fl_s;
			r->violations += fl_s > bound;
			r->runs++;
			mt_trust_result_free(tr);
			mt_flow_result_free(fr);
		}
		double nv = n_views ? n_views : 1;
		r->bp_sybils /= nv;
		r->bp_score /= nv;
		r->bp_honest /= nv;
		r->fl_sybils /= nv;
		r->fl_bound /= nv;
		r->fl_honest /= nv;
	}
done:
	mt_engine_free(e);
	free(ed);
	free(sid);
	return rc;
}

/* Pick `want` distinct nodes among those with `deg[i] > 0` not yet taken. */
static int attack_pick(uint32_t *out, int want, const uint32_t *deg, uint8_t *taken, size_t n,
		       uint64_t *x)
{
	uint32_t *pool = malloc(n * sizeof *pool);
	size_t np = 0;
	if (!pool)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (deg[i] && !taken[i])
			pool[np++] = (uint32_t)i;
	int got = 0;
	for (; got < want && (size_t)got < np; got++) {
		size_t j = (size_t)got + (size_t)(attack_rnd(x) % (np - (size_t)got));
		uint32_t t = pool[got];
		pool[got] = pool[j];
		pool[j] = t;
		out[got] = pool[got];
		taken[pool[got]] = 1;
	}
	free(pool);
	return got;
}

static void attack_statement(FILE *f, const attack_row *rows, size_t n_rows, const int *ks, int nk,
			     const int *ss, int ns, const int *ds, int nd)
{
	long violations = 0, runs = 0;
	for (size_t i = 0; i < n_rows; i++) {
		violations += rows[i].violations;
		runs += rows[i].runs;
	}
	for (int di = 0; di < nd; di++) {
		const attack_row *lo = NULL, *hi = NULL, *kl = NULL, *kh = NULL;
		for (size_t i = 0; i < n_rows; i++) {
			const attack_row *r = &rows[i];
			if (r->depth != ds[di])
				continue;
			if (r->k == ks[nk - 1] && r->sybils == ss[0])
				lo = r;
			if (r->k == ks[nk - 1] && r->sybils == ss[ns - 1])
				hi = r;
			if (r->k == ks[0] && r->sybils == ss[ns - 1])
				kl = r;
		}
		kh = hi;
		if (!lo || !hi || !kl)
			continue;
		fprintf(f,
			"- Depth %d, best-path mode: with k = %d attack edges, the Sybils with trust > 0 "
			"go from %.1f (S = %d) to %.1f (S = %d) per viewpoint, total score %.2f -> %.2f; "
			"with S = %d they go from %.1f (k = %d) to %.1f (k = %d). In flow mode the "
			"accepted Sybils are %.1f -> %.1f for the same S (bound %.1f), and %.1f -> %.1f "
			"across k (bound %.1f -> %.1f).\n",
			ds[di], ks[nk - 1], lo->bp_sybils, ss[0], hi->bp_sybils, ss[ns - 1], lo->bp_score,
			hi->bp_score, ss[ns - 1], kl->bp_sybils, ks[0], kh->bp_sybils, ks[nk - 1],
			lo->fl_sybils, hi->fl_sybils, hi->fl_bound, kl->fl_sybils, kh->fl_sybils,
			kl->fl_bound, kh->fl_bound);
	}
	fprintf(f,
		"- Best-path mode has no bound: every Sybil within maxDepth hops of the viewpoint "
		"through a compromised node is trusted, so acceptance grows with S (as long as the "
		"Sybil region fits in the depth) and with k. Flow mode: the accepted Sybils never "
		"exceed Levien's bound (the capacity behind the k attack edges): %ld violation(s) in "
		"%ld viewpoint runs, whatever S is.\n",
		violations, runs);
}

static int attack_plot(const char *png, const attack_row *rows, size_t n_rows, const int *ks,
		       int nk, int depth)
{
	char dat[] = "/tmp/mesh-attack-XXXXXX";
	int fd = mkstemp(dat);
	if (fd < 0)
		return -1;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(dat);
		return -1;
	}
	for (int ki = 0; ki < nk; ki++) {
		for (size_t i = 0; i < n_rows; i++)
			if (rows[i].k == ks[ki] && rows[i].depth == depth)
				fprintf(f, "%ld %.4f %.4f %.4f\n", rows[i].sybils, rows[i].bp_sybils,
					rows[i].fl_sybils, rows[i].fl_bound);
		fprintf(f, "\n\n");
	}
	fclose(f);
	FILE *gp = popen("gnuplot 2>/dev/null", "w");
	if (!gp) {
		unlink(dat);
		return -1;
	}
	fprintf(gp,
		"set terminal png size 900,560\nset output '%s'\nset logscale xy\n"
		"set key top left\nset grid\nset xlabel 'Sybil identities S'\n"
		"set ylabel 'Sybils trusted per viewpoint (mean, +0.1 for the log scale)'\n"
		"set title 'Sybil acceptance at depth %d: best-path vs flow mode vs Levien bound'\n"
		"plot ",
		png, depth);
	for (int ki = 0; ki < nk; ki++)
		fprintf(gp,
			"%s'%s' index %d using 1:($2+0.1) with linespoints lw 2 lc %d title 'best-path k=%d', "
			"'%s' index %d using 1:($3+0.1) with linespoints dt 2 lw 2 lc %d title 'flow k=%d', "
			"'%s' index %d using 1:($4+0.1) with lines dt 3 lc %d title 'bound k=%d'",
			ki ? ", " : "", dat, ki, ki + 1, ks[ki], dat, ki, ki + 1, ks[ki], dat, ki, ki + 1,
			ks[ki]);
	fprintf(gp, "\n");
	int st = pclose(gp);
	unlink(dat);
	return st == 0 ? 0 : -1;
}

#define ATTACK_USAGE                                                                               \
	"mesh sim attack --graph FILE --format konect|csv-signed [--k 1,5,20] "                    \
	"[--sybils 10,100,1000] [--viewpoints 100] [--depths 2,3,4] [--seed S] [--json] "         \
	"[--plot FILE.png] [--markdown FILE.md]"

static int sim_attack(mesh_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{"graph", required_argument, 0, 'g'},
					     {"format", required_argument, 0, 'f'},
					     {"k", required_argument, 0, 'k'},
					     {"sybils", required_argument, 0, 's'},
					     {"viewpoints", required_argument, 0, 'v'},
					     {"depths", required_argument, 0, 'd'},
					     {"seed", required_argument, 0, 'S'},
					     {"json", no_argument, 0, 'j'},
					     {"plot", required_argument, 0, 'p'},
					     {"markdown", required_argument, 0, 'm'},
					     {"help", no_argument, 0, 'h'},
					     {0, 0, 0, 0}};
	const char *path = NULL, *format = NULL, *plot = NULL, *md = NULL;
	int ks[ATTACK_MAX_LIST] = {1, 5, 20}, nk = 3, ss[ATTACK_MAX_LIST] = {10, 100, 1000}, ns = 3;
	int ds[ATTACK_MAX_LIST] = {2, 3, 4}, nd = 3, n_views = 100, json = 0, c, rc;
	int64_t seed = 1, v;
	mt_error err = {0};
	(void)ctx;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'g': path = optarg; break;
		case 'f': format = optarg; break;
		case 'k':
			if ((rc = parse_list(ks, &nk, optarg, "--k", 1, 1000)))
				return rc;
			break;
		case 's':
			if ((rc = parse_list(ss, &ns, optarg, "--sybils", 1, 1000000)))
				return rc;
			break;
		case 'd':
			if ((rc = parse_list(ds, &nd, optarg, "--depths", 1, MT_ENGINE_MAX_DEPTH)))
				return rc;
			break;
		case 'v':
			if (mesh_parse_int(&v, optarg, "--viewpoints", 1, 100000, &err))
				return mesh_usage(ATTACK_USAGE, "%s", err.msg);
			n_views = (int)v;
			break;
		case 'S':
			if (mesh_parse_int(&seed, optarg, "--seed", 0, INT64_MAX, &err))
				return mesh_usage(ATTACK_USAGE, "%s", err.msg);
			break;
		case 'j': json = 1; break;
		case 'p': plot = optarg; break;
		case 'm': md = optarg; break;
		case 'h':
			printf("usage: %s\n\nAttach a Sybil region of S identities behind k attack "
			       "edges (from k random honest\nnodes) to a real trust graph and count, "
			       "from honest viewpoints at each depth,\nthe Sybils trusted in best-path "
			       "mode (trust > 0, total score) and accepted in\nflow mode, against "
			       "Levien's bound (docs/flow.md, docs/attack.md).\n",
			       ATTACK_USAGE);
			return EXIT_OK;
		default: return mesh_usage(ATTACK_USAGE, "bad option");
		}
	}
	if (optind != argc)
		return mesh_usage(ATTACK_USAGE, "unexpected argument \"%s\"", argv[optind]);
	if (!path)
		return mesh_usage(ATTACK_USAGE, "--graph is required");
	if (!format || (strcmp(format, "konect") && strcmp(format, "csv-signed")))
		return mesh_usage(ATTACK_USAGE, "--format must be konect or csv-signed");
	attack_graph g = {0};
	char(*hid)[16] = NULL;
	uint32_t *indeg = NULL, *outdeg = NULL, *comp = NULL, *views = NULL;
	uint8_t *taken = NULL;
	attack_row *rows = NULL;
	size_t n_rows = 0;
	json_t *jrows = NULL;
	if ((rc = attack_read(&g, path, strcmp(format, "csv-signed") == 0)))
		goto done;
	int kmax = 0;
	for (int i = 0; i < nk; i++)
		kmax = ks[i] > kmax ? ks[i] : kmax;
	hid = malloc(g.n * sizeof *hid);
	indeg = calloc(g.n, sizeof *indeg);
	outdeg = calloc(g.n, sizeof *outdeg);
	taken = calloc(g.n, 1);
	comp = malloc((size_t)kmax * sizeof *comp);
	views = malloc((size_t)n_views * sizeof *views);
	rows = malloc((size_t)nk * (size_t)ns * (size_t)nd * sizeof *rows);
	if (!hid || !indeg || !outdeg || !taken || !comp || !views || !rows) {
		rc = mesh_fail("out of memory");
		goto done;
	}
	for (size_t i = 0; i < g.n; i++)
		snprintf(hid[i], sizeof hid[i], "h%07llu", (unsigned long long)g.num[i]);
	for (size_t i = 0; i < g.m; i++) {
		outdeg[g.src[i]]++;
		indeg[g.dst[i]]++;
	}
	/* Compromised: trusted by someone (in-degree > 0); viewpoints: trust someone. */
	uint64_t x = (uint64_t)seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull;
	if (attack_pick(comp, kmax, indeg, taken, g.n, &x) != kmax) {
		rc = mesh_fail("the graph has fewer than %d trusted nodes to compromise", kmax);
		goto done;
	}
	int got = attack_pick(views, n_views, outdeg, taken, g.n, &x);
	if (got < 1) {
		rc = mesh_fail("the graph has no honest viewpoint left");
		goto done;
	}
	n_views = got;
	for (int si = 0; si < ns; si++)
		for (int ki = 0; ki < nk; ki++) {
			if ((rc = attack_config(&g, hid, comp, ks[ki], ss[si], views, n_views, ds, nd,
						(uint64_t)seed, &rows[n_rows])))
				goto done;
			n_rows += (size_t)nd;
		}
	long violations = 0;
	for (size_t i = 0; i < n_rows; i++)
		violations += rows[i].violations;
	if (json) {
		jrows = json_array();
		for (size_t i = 0; i < n_rows; i++) {
			const attack_row *r = &rows[i];
			json_array_append_new(
				jrows,
				json_pack("{s:i,s:I,s:i,s:f,s:f,s:f,s:f,s:I,s:f,s:f,s:I}", "k", r->k, "sybils",
					  (json_int_t)r->sybils, "depth", r->depth, "best_path_sybils",
					  r->bp_sybils, "best_path_score", r->bp_score, "best_path_honest",
					  r->bp_honest, "flow_sybils", r->fl_sybils, "flow_sybils_max",
					  (json_int_t)r->fl_max, "flow_bound", r->fl_bound, "flow_honest",
					  r->fl_honest, "violations", (json_int_t)r->violations));
		}
	} else {
		printf("graph %s: %zu nodes, %zu positive edges; %d viewpoints; capacities %s\n\n",
		       path, g.n, g.m, n_views, MT_FLOW_DEFAULT_CAPACITIES);
	}
	FILE *mdf = md ? fopen(md, "w") : NULL;
	if (md && !mdf) {
		rc = mesh_fail("cannot write %s: %s", md, strerror(errno));
		goto done;
	}
	FILE *outs[2] = {json ? NULL : stdout, mdf};
	for (int o = 0; o < 2; o++) {
		FILE *f = outs[o];
		if (!f)
			continue;
		if (f == mdf)
			fprintf(f,
				"# Sybil attack simulation (`mesh sim attack`)\n\n"
				"Generated by `mesh sim attack --graph %s --format %s` (seed %lld): %zu "
				"nodes, %zu positive edges, %d honest viewpoints, flow capacities `%s`. "
				"Each row: mean per viewpoint. Best-path: Sybils with trust > 0 and their "
				"total score (SPEC §3, decay 1 1 0.5 0.25 0.125). Flow: Sybils accepted "
				"(mean and max over viewpoints) and Levien's bound Σ(c(d)−1) over the "
				"compromised nodes in the region (mean); honest = honest nodes trusted / "
				"accepted. How the Sybil region is built: docs/flow.md and the command's "
				"source.\n\n",
				path, format, (long long)seed, g.n, g.m, n_views, MT_FLOW_DEFAULT_CAPACITIES);
		fprintf(f, "| k | S | depth | best-path Sybils | best-path Sybil score | best-path honest "
			   "| flow Sybils (max) | flow bound | flow honest | violations |\n");
		fprintf(f, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
		for (size_t i = 0; i < n_rows; i++) {
			const attack_row *r = &rows[i];
			fprintf(f, "| %d | %ld | %d | %.1f | %.2f | %.1f | %.1f (%ld) | %.1f | %.1f | %ld |\n",
				r->k, r->sybils, r->depth, r->bp_sybils, r->bp_score, r->bp_honest,
				r->fl_sybils, r->fl_max, r->fl_bound, r->fl_honest, r->violations);
		}
		fprintf(f, "\n");
		attack_statement(f, rows, n_rows, ks, nk, ss, ns, ds, nd);
	}
	int plotted = -1;
	if (plot) {
		plotted = attack_plot(plot, rows, n_rows, ks, nk, ds[nd - 1]);
		if (plotted)
			fprintf(stderr, "plot skipped: gnuplot is not installed or failed (install "
					"gnuplot-nox)\n");
	}
	if (mdf) {
		if (plot && plotted == 0)
			fprintf(mdf, "\n![Sybil acceptance at depth %d](%s)\n", ds[nd - 1],
				strrchr(plot, '/') ? strrchr(plot, '/') + 1 : plot);
		fclose(mdf);
	}
	if (json)
		mesh_print_json(json_pack("{s:s,s:I,s:I,s:i,s:s,s:o,s:I,s:b}", "graph", path, "nodes",
					  (json_int_t)g.n, "edges", (json_int_t)g.m, "viewpoints", n_views,
					  "capacities", MT_FLOW_DEFAULT_CAPACITIES, "rows", jrows,
					  "violations", (json_int_t)violations, "plotted", plotted == 0));
	jrows = NULL;
	rc = violations ? EXIT_FAIL : EXIT_OK;
done:
	json_decref(jrows);
	attack_graph_free(&g);
	free(hid);
	free(indeg);
	free(outdeg);
	free(taken);
	free(comp);
	free(views);
	free(rows);
	return rc;
}

int cmd_sim(mesh_ctx *ctx, int argc, char **argv)
{
	static const mesh_cmd cmds[] = {
		{"pot", sim_pot, "simulate proof-of-trust strategies and check the bound"},
		{"attack", sim_attack, "Sybil attack on a real graph: best-path vs flow mode"},
		{0, 0, 0}};
	return mesh_dispatch(ctx, "sim", cmds, argc, argv);
}
