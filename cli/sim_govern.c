/* mesh sim govern: how many periods a colluding minority needs before its
 * votes alone pass a proposal (SPEC §9.3), when it admits Sybils at the
 * proof-of-trust bound (SPEC §6) and the honest members admit at a given
 * rate (docs/governance.md, "How long until a colluding minority can decide
 * alone").
 *
 * The model, per period k (t_k = T0 + k · period, all moves of a period in
 * its first second):
 *   - the voters of a proposal made during period k are the members admitted
 *     before t_k (founders always): c_k colluders and h_k honest; they are
 *     also exactly the members who may stake at t_k (a newcomer's first
 *     period is without stake, and a stake or a one-period penalty taken at
 *     t_{k-1} ends at t_k);
 *   - the colluders pair up (⌊c_k/2⌋ rounds); in each, one defects and the
 *     other cooperates, and the defector's `credits` claims admit `credits`
 *     Sybils (credits 1: both cooperate, one Sybil, no penalty). So
 *     c_{k+1} = c_k + ⌊c_k/2⌋ · max(1, credits): the SPEC §6 bound for c_k
 *     eligible members, reached by them alone;
 *   - the honest members pair up and a fraction `rate` of their ⌊h_k/2⌋
 *     pairs admits one newcomer each by cooperating (the fraction of a round
 *     left over is admitted with that probability, from the seed);
 *   - the colluders alone pass a proposal iff, with every colluder voting yes
 *     and ⌊h_k · turnout / 1000⌋ honest voters voting no (the rest
 *     abstaining), cast ≥ 1, cast · 1000 ≥ quorum · voters and
 *     yes · 1000 ≥ threshold · cast.
 * With --verify the same community is played as real signed statements
 * (genesis, pot rounds and claims, one proposal per turnout and period, the
 * votes) and judged by mt_pot_derive and mt_gov_derive; every proposal's
 * voters, tally and outcome must equal the model's. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "opts.h"
#include "meshtrust/gov.h"
#include "meshtrust/pot.h"
#include "sim.h"

#define GV_LIST_MAX 16
/* The model stops growing the community past this many members (exact
 * integer arithmetic: voters · 1000 stays far below 2^63). */
#define GV_MEMBERS_CAP 1000000000000000LL
/* --verify plays real statements only up to this many members. */
#define GV_VERIFY_MAX 3000
#define GV_T0 1700000000LL

typedef struct gv_list {
	int64_t v[GV_LIST_MAX];
	size_t n;
} gv_list;

typedef struct gv_cfg {
	int64_t members, credits, rate, horizon, seed, quorum, threshold;
	gv_list minority, quorums, thresholds, turnouts;
	int verify;
} gv_cfg;

/* One minority's run of the model: c[k], h[k] = colluding and honest voters
 * of period k (k = 0..n), hr[k] = honest rounds played in period k. */
typedef struct gv_run {
	int64_t colluders0, honest0;
	size_t n; /* periods simulated (<= horizon; fewer when the cap is hit) */
	int capped;
	int64_t *c, *h, *hr;
} gv_run;

static uint64_t gv_rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void gv_run_free(gv_run *r)
{
	free(r->c);
	free(r->h);
	free(r->hr);
	memset(r, 0, sizeof *r);
}

/* Play the model for one minority (permille of the founders). */
static int gv_model(gv_run *r, const gv_cfg *cfg, int64_t minority)
{
	memset(r, 0, sizeof *r);
	size_t cap = (size_t)cfg->horizon + 1;
	r->c = calloc(cap, sizeof *r->c);
	r->h = calloc(cap, sizeof *r->h);
	r->hr = calloc(cap, sizeof *r->hr);
	if (!r->c || !r->h || !r->hr) {
		gv_run_free(r);
		return -1;
	}
	r->colluders0 = (cfg->members * minority + 500) / 1000;
	if (r->colluders0 < 1)
		r->colluders0 = 1;
	if (r->colluders0 > cfg->members - 1)
		r->colluders0 = cfg->members - 1;
	r->honest0 = cfg->members - r->colluders0;
	uint64_t rng = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)cfg->seed * 0x100000001b3ULL) ^
		       (uint64_t)minority;
	if (!rng)
		rng = 1;
	int64_t per_pair = cfg->credits > 1 ? cfg->credits : 1;
	r->c[0] = r->colluders0;
	r->h[0] = r->honest0;
	size_t k = 0;
	for (; k < (size_t)cfg->horizon; k++) {
		int64_t c = r->c[k], h = r->h[k];
		int64_t pairs = h / 2, whole = pairs * cfg->rate / 1000,
			frac = pairs * cfg->rate % 1000;
		int64_t hr = whole + ((int64_t)(gv_rnd(&rng) % 1000) < frac ? 1 : 0);
		int64_t nc = c + (c / 2) * per_pair, nh = h + hr;
		if (nc + nh > GV_MEMBERS_CAP) {
			r->capped = 1;
			break;
		}
		r->hr[k] = hr;
		r->c[k + 1] = nc;
		r->h[k + 1] = nh;
	}
	r->n = k;
	return 0;
}

/* Honest no votes at a turnout (permille). */
static int64_t gv_no(int64_t h, int64_t turnout)
{
	return h * turnout / 1000;
}

/* The SPEC §9.3 rule: does the proposal pass? */
static int gv_passes(int64_t voters, int64_t yes, int64_t no, int64_t quorum, int64_t threshold)
{
	int64_t cast = yes + no;
	return cast >= 1 && cast * 1000 >= quorum * voters && yes * 1000 >= threshold * cast;
}

static int gv_pass_at(const gv_run *r, size_t k, int64_t q, int64_t t, int64_t turnout)
{
	return gv_passes(r->c[k] + r->h[k], r->c[k], gv_no(r->h[k], turnout), q, t);
}

/* The first period whose proposal the colluders pass alone, or -1. */
static int64_t gv_first(const gv_run *r, int64_t q, int64_t t, int64_t turnout)
{
	for (size_t k = 0; k <= r->n; k++)
		if (gv_pass_at(r, k, q, t, turnout))
			return (int64_t)k;
	return -1;
}

/* ---- --verify: the same community as real statements ---------------------- */

typedef struct gv_real {
	sim_signer *a;
	size_t na, cap_a;
	mt_stmt **s;
	size_t ns, cap_s;
	unsigned char seed[32];
	size_t *col, *hon; /* actor indices in admission order */
	size_t ncol, nhon, cap_col, cap_hon;
} gv_real;

static void gv_real_free(gv_real *R)
{
	for (size_t i = 0; i < R->na; i++)
		mt_keypair_wipe(&R->a[i].kp);
	free(R->a);
	for (size_t i = 0; i < R->ns; i++)
		mt_stmt_free(R->s[i]);
	free(R->s);
	free(R->col);
	free(R->hon);
	memset(R, 0, sizeof *R);
}

static int gv_push(size_t **arr, size_t *n, size_t *cap, size_t v)
{
	if (mesh_sim_reserve((void **)arr, *n, cap, sizeof **arr, 64))
		return -1;
	(*arr)[(*n)++] = v;
	return 0;
}

/* A new actor, its key derived from the seed and its index; joins the
 * colluders (group 1), the honest (group 0) or neither (-1: a candidate
 * that a defected round does not admit). */
static int gv_actor_new(gv_real *R, int group, size_t *out)
{
	if (mesh_sim_reserve((void **)&R->a, R->na, &R->cap_a, sizeof *R->a, 64) ||
	    mesh_sim_signer_init(&R->a[R->na], R->seed, R->na) != 0)
		return -1;
	size_t idx = R->na++;
	if (group == 1 && gv_push(&R->col, &R->ncol, &R->cap_col, idx))
		return -1;
	if (group == 0 && gv_push(&R->hon, &R->nhon, &R->cap_hon, idx))
		return -1;
	if (out)
		*out = idx;
	return 0;
}

/* Sign `body` (consumed) as actor `who`'s next statement at ts; the id in
 * hex into id_out when non-NULL. */
static int gv_emit(gv_real *R, size_t who, int64_t ts, json_t *body, char id_out[65])
{
	mt_stmt *st = mesh_sim_sign(&R->a[who], &R->s, &R->ns, &R->cap_s, ts, body);
	if (!st)
		return -1;
	if (id_out)
		mt_stmt_id_hex(id_out, st);
	return 0;
}

/* One round at ts between actors a (opener) and b: both cooperate
 * (candidate admitted) or a defects and claims `claims` newcomers. The
 * newcomers join the colluders or the honest as `colluding` says. */
static int gv_round(gv_real *R, const char *gid, size_t a, size_t b, int64_t ts, int defect,
		    int64_t claims, int colluding)
{
	size_t cand;
	char rid[65];
	/* the candidate of a defected round is never admitted */
	if (gv_actor_new(R, defect ? -1 : colluding, &cand))
		return -1;
	if (gv_emit(R, a, ts,
		    json_pack("{s:s,s:s,s:s,s:s,s:I}", "type", "pot-open", "genesis", gid,
			      "candidate", R->a[cand].id, "cosponsor", R->a[b].id, "deadline",
			      (json_int_t)(ts + 3600)),
		    rid))
		return -1;
	size_t who[2] = {a, b};
	char nonce[2][65];
	for (int w = 0; w < 2; w++) {
		unsigned char raw[32], in[72];
		memcpy(in, R->seed, 32);
		memcpy(in + 32, R->s[R->ns - 1]->id, 32);
		for (int i = 0; i < 8; i++)
			in[64 + i] = (unsigned char)((uint64_t)who[w] >> (8 * i));
		mt_blake2b256(raw, in, sizeof in);
		for (int i = 0; i < 32; i++)
			snprintf(nonce[w] + 2 * i, 3, "%02x", raw[i]);
		char commit[65];
		mt_pot_commitment(commit, rid, R->a[who[w]].id,
				  (defect && w == 0) ? "defect" : "cooperate", nonce[w]);
		if (gv_emit(R, who[w], ts,
			    json_pack("{s:s,s:s,s:s}", "type", "pot-commit", "round", rid, "commit",
				      commit),
			    NULL))
			return -1;
	}
	for (int w = 0; w < 2; w++)
		if (gv_emit(R, who[w], ts,
			    json_pack("{s:s,s:s,s:s,s:s}", "type", "pot-reveal", "round", rid,
				      "choice", (defect && w == 0) ? "defect" : "cooperate", "nonce",
				      nonce[w]),
			    NULL))
			return -1;
	for (int64_t j = 0; defect && j < claims; j++) {
		size_t nc;
		if (gv_actor_new(R, colluding, &nc) ||
		    gv_emit(R, a, ts,
			    json_pack("{s:s,s:s,s:s}", "type", "pot-claim", "round", rid, "candidate",
				      R->a[nc].id),
			    NULL))
			return -1;
	}
	return 0;
}

typedef struct gv_verdict {
	size_t statements, proposals, mismatches;
	char first[256]; /* the first mismatch, "" when none */
} gv_verdict;

static void gv_mismatch(gv_verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void gv_mismatch(gv_verdict *v, const char *fmt, ...)
{
	if (!v->mismatches++) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(v->first, sizeof v->first, fmt, ap);
		va_end(ap);
	}
}

/* Play run `r` as statements and judge them with the real derivations.
 * Returns 0 (the verdict in *v), -1 out of memory or a signing failure. */
static int gv_verify(const gv_run *r, const gv_cfg *cfg, int64_t minority, gv_verdict *v)
{
	memset(v, 0, sizeof *v);
	const int64_t P = MT_POT_DEFAULT_PERIOD;
	gv_real R = {0};
	mt_error err = {0};
	char seedtxt[96];
	snprintf(seedtxt, sizeof seedtxt, "mesh-sim-govern/%lld/%lld", (long long)cfg->seed,
		 (long long)minority);
	mt_blake2b256(R.seed, seedtxt, strlen(seedtxt));
	size_t nt = cfg->turnouts.n, np = r->n + 1;
	char(*pid)[65] = calloc(np * nt, sizeof *pid);
	json_t *founders = json_array();
	int rc = -1;
	if (!pid || !founders)
		goto out;
	/* founders: colluders first, then the honest */
	for (int64_t i = 0; i < cfg->members; i++) {
		size_t idx;
		if (gv_actor_new(&R, i < r->colluders0, &idx) ||
		    json_array_append_new(founders, json_string(R.a[idx].id)))
			goto out;
	}
	char gid[65];
	if (gv_emit(&R, 0, GV_T0,
		    json_pack("{s:s,s:s,s:O,s:{s:I,s:I,s:I,s:I,s:I}}", "type", "genesis", "scope",
			      "coop:simgov", "founders", founders, "params", "period", (json_int_t)P,
			      "deadline_max", (json_int_t)MT_POT_DEFAULT_DEADLINE_MAX, "credits",
			      (json_int_t)cfg->credits, "quorum", (json_int_t)cfg->quorum,
			      "threshold", (json_int_t)cfg->threshold),
		    gid))
		goto out;
	for (size_t k = 0; k <= r->n; k++) {
		int64_t tk = GV_T0 + 60 + (int64_t)k * P, tp = tk + 3600;
		if ((int64_t)R.ncol != r->c[k] || (int64_t)R.nhon != r->h[k])
			gv_mismatch(v, "period %zu: %zu colluders and %zu honest played, model %lld and %lld",
				    k, R.ncol, R.nhon, (long long)r->c[k], (long long)r->h[k]);
		/* eligible this period: the members admitted before t_k */
		size_t c = R.ncol, h = R.nhon;
		if (k < r->n) {
			int64_t per_pair = cfg->credits > 1 ? cfg->credits : 1;
			for (size_t p = 0; p + 1 < c; p += 2)
				if (gv_round(&R, gid, R.col[p], R.col[p + 1], tk, cfg->credits > 1,
					     per_pair, 1))
					goto out;
			for (int64_t p = 0; p < r->hr[k]; p++)
				if (gv_round(&R, gid, R.hon[2 * p], R.hon[2 * p + 1], tk, 0, 0, 0))
					goto out;
		}
		/* one proposal per turnout, by founder j; colluders vote yes, the
		 * first ⌊h · turnout / 1000⌋ honest voters no */
		for (size_t j = 0; j < nt; j++) {
			if (gv_emit(&R, j < (size_t)r->colluders0 ? R.col[j] : R.hon[j - (size_t)r->colluders0], tp,
				    json_pack("{s:s,s:s,s:I,s:{s:I}}", "type", "proposal", "genesis",
					      gid, "closes", (json_int_t)(tp + 86400), "policy",
					      "max_gini", (json_int_t)(100 + j)),
				    pid[k * nt + j]))
				goto out;
			for (size_t i = 0; i < c; i++)
				if (gv_emit(&R, R.col[i], tp + 1,
					    json_pack("{s:s,s:s,s:s}", "type", "vote", "proposal",
						      pid[k * nt + j], "choice", "yes"),
					    NULL))
					goto out;
			int64_t no = gv_no((int64_t)h, cfg->turnouts.v[j]);
			for (int64_t i = 0; i < no; i++)
				if (gv_emit(&R, R.hon[i], tp + 1,
					    json_pack("{s:s,s:s,s:s}", "type", "vote", "proposal",
						      pid[k * nt + j], "choice", "no"),
					    NULL))
					goto out;
		}
	}
	v->statements = R.ns;
	int64_t at = GV_T0 + 60 + (int64_t)(r->n + 1) * P;
	mt_gov_state *gs = NULL;
	if (mt_gov_derive(&gs, (const mt_stmt *const *)R.s, R.ns, at, NULL, 0, NULL, &err))
		goto out;
	if (gs->n_refusals)
		gv_mismatch(v, "the derivation refused %zu proposal(s) or vote(s): %s",
			    gs->n_refusals, gs->refusals[0].reason);
	for (size_t k = 0; k <= r->n; k++)
		for (size_t j = 0; j < nt; j++) {
			const mt_gov_proposal *p = mt_gov_proposal_get(gs, pid[k * nt + j], NULL);
			v->proposals++;
			int64_t no = gv_no(r->h[k], cfg->turnouts.v[j]);
			int pass = gv_pass_at(r, k, cfg->quorum, cfg->threshold, cfg->turnouts.v[j]);
			if (!p) {
				gv_mismatch(v, "period %zu turnout %lld: the proposal took no effect", k,
					    (long long)cfg->turnouts.v[j]);
				continue;
			}
			if ((int64_t)p->n_voters != r->c[k] + r->h[k] || p->yes != r->c[k] ||
			    p->no != no || (p->outcome == MT_GOV_PASSED) != pass)
				gv_mismatch(v,
					    "period %zu turnout %lld: derived voters %zu yes %lld no "
					    "%lld %s, model %lld %lld %lld %s",
					    k, (long long)cfg->turnouts.v[j], p->n_voters,
					    (long long)p->yes, (long long)p->no,
					    mt_gov_outcome_name(p->outcome),
					    (long long)(r->c[k] + r->h[k]), (long long)r->c[k],
					    (long long)no, pass ? "passed" : "failed");
		}
	mt_gov_state_free(gs);
	mt_pot_state *ps = NULL;
	if (mt_pot_derive(&ps, (const mt_stmt *const *)R.s, R.ns, at, &err))
		goto out;
	const mt_pot_community *cm = mt_pot_community_get(ps, gid);
	if (!cm || ps->n_refusals)
		gv_mismatch(v, "proof-of-trust refused %zu move(s): %s", ps->n_refusals,
			    ps->n_refusals ? ps->refusals[0].reason : "no community");
	else if ((int64_t)cm->n_members != r->c[r->n] + r->h[r->n])
		gv_mismatch(v, "derived roster of %zu members, model %lld", cm->n_members,
			    (long long)(r->c[r->n] + r->h[r->n]));
	mt_pot_state_free(ps);
	rc = 0;
out:
	json_decref(founders);
	free(pid);
	gv_real_free(&R);
	return rc;
}

/* ---- the command ---------------------------------------------------------- */

/* "100,250,500" into l (each in [min, max], at most GV_LIST_MAX). */
static int gv_parse_list(gv_list *l, const char *text, const char *name, int64_t min, int64_t max,
			 mt_error *err)
{
	l->n = 0;
	const char *p = text;
	for (;;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char item[32];
		if (len == 0 || len >= sizeof item) {
			mt_error_set(err, MT_EINVAL, "%s: \"%s\" is not a comma-separated list of integers",
				     name, text);
			return -1;
		}
		if (l->n == GV_LIST_MAX) {
			mt_error_set(err, MT_EINVAL, "%s: at most %d values", name, GV_LIST_MAX);
			return -1;
		}
		memcpy(item, p, len);
		item[len] = 0;
		if (mesh_parse_int(&l->v[l->n], item, name, min, max, err))
			return -1;
		l->n++;
		if (!e)
			return 0;
		p = e + 1;
	}
}

static void gv_list_default(gv_list *l, const int64_t *v, size_t n)
{
	memcpy(l->v, v, n * sizeof *v);
	l->n = n;
}

static json_t *gv_list_json(const gv_list *l)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < l->n; i++)
		json_array_append_new(a, json_integer(l->v[i]));
	return a;
}

#define GV_USAGE                                                                                   \
	"mesh sim govern [--members N] [--minority LIST] [--credits C] [--honest-rate R] "          \
	"[--periods H] [--quorum LIST] [--threshold LIST] [--turnout LIST] [--verify] "            \
	"[--verify-quorum Q] [--verify-threshold T] [--seed S] [--json]"

static const mesh_opt GV_OPTS[] = {
	{"members", MESH_ARG, "N", "founding members, 2..100000 (default 100)", 'm'},
	{"minority", MESH_ARG, "LIST",
	 "colluding founders, permille of N, one run each\n(default 50,100,200,333)", 'k'},
	{"credits", MESH_ARG, "C", "the genesis' credits, 1..100 (default 2)", 'c'},
	{"honest-rate", MESH_ARG, "R",
	 "permille of the honest members' pairs that admit one newcomer\nper period, 0..1000 "
	 "(default 100)",
	 'r'},
	{"periods", MESH_ARG, "H", "horizon in periods, 1..240 (default 36)", 'p'},
	{"quorum", MESH_ARG, "LIST", "quorums of the grid, permille 1..1000\n(default 100,250,500,750,1000)",
	 'q'},
	{"threshold", MESH_ARG, "LIST",
	 "thresholds of the grid, permille 500..1000\n(default 500,666,750,900,1000)", 't'},
	{"turnout", MESH_ARG, "LIST",
	 "honest voters voting no, permille of them (the rest abstain)\n(default 1000,500,0)", 'u'},
	{"verify", MESH_NOARG, NULL,
	 "also play every run as real signed statements judged by\nmt_pot_derive and mt_gov_derive "
	 "(at most " MESH_STR(GV_VERIFY_MAX) " members)",
	 'v'},
	{"verify-quorum", MESH_ARG, "Q", "the genesis quorum of --verify (default 500)", 'Q'},
	{"verify-threshold", MESH_ARG, "T", "the genesis threshold of --verify (default 666)", 'T'},
	{"seed", MESH_ARG, "S", "random seed (default 1)", 'S'},
	MESH_OPT_JSON_H("print the runs and the grids as JSON"),
	MESH_OPT_END};
static const mesh_spec GV_SPEC = {
	GV_USAGE,
	"How many periods a colluding minority needs before its votes alone pass a\n"
	"proposal (SPEC §9.3). N founders, of which a minority colludes. Every period\n"
	"(the genesis period) the colluders pair up and in each pair one defects, the\n"
	"other cooperates: the defector's credits claims admit Sybils, floor(c/2) *\n"
	"max(1, credits) per period, the proof-of-trust bound (SPEC §6); the honest\n"
	"admit by cooperating, a fraction R of their pairs. Newcomers stake and vote\n"
	"after one period. Each period a proposal gets every colluder's yes and, per\n"
	"turnout, that share of the honest voters' no. Each grid cell gives, per turnout,\n"
	"the first period (0 = at once) whose proposal passes on the quorum and\n"
	"threshold of its row and column, \"-\" when none within the horizon.\n\n"
	"--verify plays each run as signed statements (genesis, rounds, claims,\n"
	"proposals, votes) and checks that mt_gov_derive and mt_pot_derive give every\n"
	"proposal the model's voters, tally and outcome; exit 1 on any difference.",
	GV_OPTS, 0, 0, NULL, NULL};

static void gv_cell(char *out, size_t sz, const gv_run *r, const gv_cfg *cfg, int64_t q,
		    int64_t t)
{
	size_t o = 0;
	out[0] = 0;
	for (size_t j = 0; j < cfg->turnouts.n && o < sz; j++) {
		int64_t f = gv_first(r, q, t, cfg->turnouts.v[j]);
		int w = f < 0 ? snprintf(out + o, sz - o, "%s-", j ? "/" : "")
			      : snprintf(out + o, sz - o, "%s%lld", j ? "/" : "", (long long)f);
		if (w < 0)
			return;
		o += (size_t)w;
	}
}

static json_t *gv_run_json(const gv_run *r, const gv_cfg *cfg, int64_t minority)
{
	json_t *growth = json_array(), *grid = json_array();
	for (size_t k = 0; growth && k <= r->n; k++)
		json_array_append_new(growth,
				      json_pack("{s:I,s:I,s:I,s:I}", "period", (json_int_t)k,
						"colluders", (json_int_t)r->c[k], "honest",
						(json_int_t)r->h[k], "voters",
						(json_int_t)(r->c[k] + r->h[k])));
	for (size_t i = 0; grid && i < cfg->quorums.n; i++)
		for (size_t j = 0; j < cfg->thresholds.n; j++) {
			json_t *per = json_array();
			for (size_t u = 0; per && u < cfg->turnouts.n; u++) {
				int64_t f = gv_first(r, cfg->quorums.v[i], cfg->thresholds.v[j],
						     cfg->turnouts.v[u]);
				json_array_append_new(per, f < 0 ? json_null() : json_integer(f));
			}
			json_array_append_new(grid, json_pack("{s:I,s:I,s:o*}", "quorum",
							      (json_int_t)cfg->quorums.v[i],
							      "threshold",
							      (json_int_t)cfg->thresholds.v[j],
							      "periods", per));
		}
	return json_pack("{s:I,s:I,s:I,s:I,s:b,s:o*,s:o*}", "minority", (json_int_t)minority,
			 "colluders", (json_int_t)r->colluders0, "honest", (json_int_t)r->honest0,
			 "periods_simulated", (json_int_t)r->n, "capped", r->capped, "growth",
			 growth, "grid", grid);
}

static void gv_run_text(const gv_run *r, const gv_cfg *cfg, int64_t minority)
{
	printf("\nminority %lld.%lld%%: %lld colluders, %lld honest founders\n",
	       (long long)(minority / 10), (long long)(minority % 10), (long long)r->colluders0,
	       (long long)r->honest0);
	printf("  colluders/voters by period:");
	for (size_t k = 0; k <= r->n && k < 10; k++)
		printf(" %lld/%lld", (long long)r->c[k], (long long)(r->c[k] + r->h[k]));
	printf("%s\n", r->n >= 10 ? " ..." : "");
	if (r->capped)
		printf("  (stopped after %zu periods: the community passed %lld members)\n", r->n,
		       (long long)GV_MEMBERS_CAP);
	printf("  %-17s", "quorum\\threshold");
	for (size_t j = 0; j < cfg->thresholds.n; j++)
		printf(" %11lld", (long long)cfg->thresholds.v[j]);
	printf("\n");
	for (size_t i = 0; i < cfg->quorums.n; i++) {
		printf("  %-17lld", (long long)cfg->quorums.v[i]);
		for (size_t j = 0; j < cfg->thresholds.n; j++) {
			char cell[128];
			gv_cell(cell, sizeof cell, r, cfg, cfg->quorums.v[i], cfg->thresholds.v[j]);
			printf(" %11s", cell);
		}
		printf("\n");
	}
}

int mesh_sim_govern(mesh_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	static const int64_t D_MIN[] = {50, 100, 200, 333}, D_Q[] = {100, 250, 500, 750, 1000},
			     D_T[] = {500, 666, 750, 900, 1000}, D_U[] = {1000, 500, 0};
	gv_cfg cfg = {.members = 100,
		      .credits = MT_POT_DEFAULT_CREDITS,
		      .rate = 100,
		      .horizon = 36,
		      .seed = 1,
		      .quorum = MT_GOV_DEFAULT_QUORUM,
		      .threshold = MT_GOV_DEFAULT_THRESHOLD};
	gv_list_default(&cfg.minority, D_MIN, 4);
	gv_list_default(&cfg.quorums, D_Q, 5);
	gv_list_default(&cfg.thresholds, D_T, 5);
	gv_list_default(&cfg.turnouts, D_U, 3);
	int json = 0;
	mt_error err = {0};
	mesh_args a;
	int prc = mesh_parse_args(&GV_SPEC, argc, argv, &a);
	if (prc != MESH_ARGS_RUN)
		return prc;
	for (int i = 0; i < a.n_opt; i++) {
		const char *v = a.opt[i].val;
		int bad = 0;
		switch (a.opt[i].id) {
		case 'm': bad = mesh_parse_int(&cfg.members, v, "--members", 2, 100000, &err); break;
		case 'k': bad = gv_parse_list(&cfg.minority, v, "--minority", 1, 999, &err); break;
		case 'c': bad = mesh_parse_int(&cfg.credits, v, "--credits", 1, 100, &err); break;
		case 'r': bad = mesh_parse_int(&cfg.rate, v, "--honest-rate", 0, 1000, &err); break;
		case 'p': bad = mesh_parse_int(&cfg.horizon, v, "--periods", 1, 240, &err); break;
		case 'q': bad = gv_parse_list(&cfg.quorums, v, "--quorum", 1, 1000, &err); break;
		case 't':
			bad = gv_parse_list(&cfg.thresholds, v, "--threshold", 500, 1000, &err);
			break;
		case 'u': bad = gv_parse_list(&cfg.turnouts, v, "--turnout", 0, 1000, &err); break;
		case 'v': cfg.verify = 1; break;
		case 'Q': bad = mesh_parse_int(&cfg.quorum, v, "--verify-quorum", 1, 1000, &err); break;
		case 'T':
			bad = mesh_parse_int(&cfg.threshold, v, "--verify-threshold", 500, 1000, &err);
			break;
		case 'S': bad = mesh_parse_int(&cfg.seed, v, "--seed", 0, INT64_MAX, &err); break;
		case 'j': json = 1; break;
		}
		if (bad)
			return mesh_usage(GV_USAGE, "%s", err.msg);
	}
	if (cfg.verify && (int64_t)cfg.turnouts.n > cfg.members)
		return mesh_usage(GV_USAGE, "--verify needs at least as many members as turnouts "
					    "(one proposer each)");
	if (cfg.verify && mt_identity_init() != 0)
		return mesh_fail("libsodium failed to initialise");
	int rc = EXIT_OK;
	json_t *runs = json_array();
	if (!runs)
		return mesh_fail("out of memory");
	if (!json) {
		printf("mesh sim govern: %lld founders; credits %lld: colluders admit floor(c/2)*%lld "
		       "Sybils per period (the proof-of-trust bound); honest pairs admit at %lld "
		       "permille per period; horizon %lld periods of %lld days; seed %lld\n",
		       (long long)cfg.members, (long long)cfg.credits,
		       (long long)(cfg.credits > 1 ? cfg.credits : 1), (long long)cfg.rate,
		       (long long)cfg.horizon, (long long)(MT_POT_DEFAULT_PERIOD / 86400),
		       (long long)cfg.seed);
		printf("cell: first period whose proposal the colluders pass alone, with honest "
		       "turnout (voting no, the rest abstaining)");
		for (size_t u = 0; u < cfg.turnouts.n; u++)
			printf("%s%lld", u ? "/" : " ", (long long)cfg.turnouts.v[u]);
		printf(" permille; - = not within the horizon\n");
	}
	for (size_t mi = 0; mi < cfg.minority.n && rc == EXIT_OK; mi++) {
		gv_run r;
		int64_t minority = cfg.minority.v[mi];
		if (gv_model(&r, &cfg, minority)) {
			rc = mesh_fail("out of memory");
			break;
		}
		json_t *jr = json ? gv_run_json(&r, &cfg, minority) : NULL;
		if (json && !jr)
			rc = mesh_fail("out of memory");
		if (!json)
			gv_run_text(&r, &cfg, minority);
		if (rc == EXIT_OK && cfg.verify) {
			gv_verdict vd;
			if (r.c[r.n] + r.h[r.n] > GV_VERIFY_MAX) {
				rc = mesh_usage(GV_USAGE,
						"--verify plays real statements for at most %d members; "
						"minority %lld reaches %lld by period %zu (lower --periods "
						"or --members)",
						GV_VERIFY_MAX, (long long)minority,
						(long long)(r.c[r.n] + r.h[r.n]), r.n);
			} else if (gv_verify(&r, &cfg, minority, &vd)) {
				rc = mesh_fail("--verify: out of memory or signing failed");
			} else {
				if (vd.mismatches)
					rc = EXIT_FAIL;
				if (jr)
					json_object_set_new(
						jr, "verify",
						json_pack("{s:I,s:I,s:I,s:I,s:I,s:s}", "quorum",
							  (json_int_t)cfg.quorum, "threshold",
							  (json_int_t)cfg.threshold, "statements",
							  (json_int_t)vd.statements, "proposals",
							  (json_int_t)vd.proposals, "mismatches",
							  (json_int_t)vd.mismatches, "first_mismatch",
							  vd.first));
				else
					printf("  verify (genesis quorum %lld, threshold %lld): %zu "
					       "statements, %zu proposals derived, %zu mismatch(es)%s%s\n",
					       (long long)cfg.quorum, (long long)cfg.threshold,
					       vd.statements, vd.proposals, vd.mismatches,
					       vd.mismatches ? ": " : "", vd.first);
				if (vd.mismatches)
					fprintf(stderr, "mesh: sim govern: the real derivation differs "
							"from the model: %s\n",
						vd.first);
			}
		}
		if (jr)
			json_array_append_new(runs, jr);
		gv_run_free(&r);
	}
	if (json && (rc == EXIT_OK || rc == EXIT_FAIL)) {
		int prc2 = mesh_print_json(json_pack(
			"{s:I,s:I,s:I,s:I,s:I,s:I,s:o*,s:o*,s:o*,s:o*,s:O}", "members",
			(json_int_t)cfg.members, "credits", (json_int_t)cfg.credits, "honest_rate",
			(json_int_t)cfg.rate, "horizon", (json_int_t)cfg.horizon, "period",
			(json_int_t)MT_POT_DEFAULT_PERIOD, "seed", (json_int_t)cfg.seed, "minorities",
			gv_list_json(&cfg.minority), "quorums", gv_list_json(&cfg.quorums),
			"thresholds", gv_list_json(&cfg.thresholds), "turnouts",
			gv_list_json(&cfg.turnouts), "runs", runs));
		if (rc == EXIT_OK)
			rc = prc2;
	}
	json_decref(runs);
	return rc;
}
