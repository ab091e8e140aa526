/* Proof-of-trust derivation (SPEC §6): a pure replay of genesis and pot-*
 * statements. See include/meshtrust/pot.h for the contract and docs/pot.md for
 * the rules.
 *
 * Why the result is independent of input order: the input is reduced to a set
 * (dedup by statement id, a hash of the whole signed bytes) and replayed in
 * SPEC §9.1's causal order (replay.h): each feed in its own order, a statement
 * after the round or genesis it names, a round's reveals after both sponsors'
 * commits and its claims after their reveals, and among the statements ready
 * the least by (ts, kind, iss, seq, id). The order is a function of the set
 * alone, and it never puts an issuer's later statement before its earlier
 * ones, however many moves share one second. Deadline events are interleaved
 * by the clock: before a statement with ts t, every round whose deadline is
 * < t resolves, in (deadline, round id) order. Nothing else (no hash-table
 * iteration order, no pointer values) influences a decision. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meshtrust/pot.h"
#include "pot_int.h"
#include "replay.h"

/* ---- a small string -> index map (open addressing, FNV-1a) ------------- */

struct map {
	char **keys;
	size_t *vals;
	size_t cap, n;
};

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void map_free(struct map *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
}

static const size_t *map_get(const struct map *m, const char *key)
{
	if (!m->cap)
		return NULL;
	for (size_t i = fnv(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (!m->keys[i])
			return NULL;
		if (strcmp(m->keys[i], key) == 0)
			return &m->vals[i];
	}
}

static int map_put(struct map *m, const char *key, size_t val)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct map g = {0};
		g.cap = m->cap ? m->cap * 2 : 64;
		g.keys = calloc(g.cap, sizeof *g.keys);
		g.vals = calloc(g.cap, sizeof *g.vals);
		if (!g.keys || !g.vals) {
			free(g.keys);
			free(g.vals);
			return MT_ENOMEM;
		}
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->keys[i])
				continue;
			size_t j = fnv(m->keys[i]) & (g.cap - 1);
			while (g.keys[j])
				j = (j + 1) & (g.cap - 1);
			g.keys[j] = m->keys[i];
			g.vals[j] = m->vals[i];
		}
		g.n = m->n;
		free(m->keys);
		free(m->vals);
		*m = g;
	}
	size_t i = fnv(key) & (m->cap - 1);
	while (m->keys[i]) {
		if (strcmp(m->keys[i], key) == 0) {
			m->vals[i] = val;
			return 0;
		}
		i = (i + 1) & (m->cap - 1);
	}
	if (!(m->keys[i] = strdup(key)))
		return MT_ENOMEM;
	m->vals[i] = val;
	m->n++;
	return 0;
}

/* ---- derivation context ------------------------------------------------ */

struct dctx {
	mt_pot_state *st;
	size_t cap_comm, cap_rounds, cap_pen, cap_cred, cap_ref;
	size_t *mem_cap; /* per community */
	size_t cap_mem_cap;
	struct map comm_by_id, round_by_id, member_by_key, credit_by_key;
	struct map alias_by_old; /* rotation chains: old ID -> index in aliases */
	const mt_pot_alias *aliases;
	int64_t next_due; /* smallest deadline among unresolved rounds */
	int oom;
};

/* The ID `id` counts as: the newest of its rotation chain (SPEC §9.2). */
static const char *cid(struct dctx *d, const char *id)
{
	const size_t *i = id && d->aliases ? map_get(&d->alias_by_old, id) : NULL;
	return i ? d->aliases[*i].newest : id;
}

void mt_pot_iso(char out[32], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm)) {
		snprintf(out, 32, "@%lld", (long long)t);
		return;
	}
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void mt_pot_commitment(char out[65], const char *round, const char *iss, const char *choice,
		       const char *nonce)
{
	size_t len = strlen(MT_POT_COMMIT_DOMAIN) + strlen(round) + strlen(iss) + strlen(choice) +
		     strlen(nonce) + 3;
	char *buf = malloc(len + 1);
	unsigned char h[32];
	if (!buf) {
		out[0] = 0;
		return;
	}
	snprintf(buf, len + 1, "%s%s\n%s\n%s\n%s", MT_POT_COMMIT_DOMAIN, round, iss, choice, nonce);
	mt_blake2b256(h, buf, len);
	free(buf);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

const char *mt_pot_stage_name(mt_pot_stage s)
{
	switch (s) {
	case MT_POT_STAGE_COMMIT: return "commit";
	case MT_POT_STAGE_REVEAL: return "reveal";
	case MT_POT_STAGE_RESOLVED: return "resolved";
	}
	return "?";
}

const char *mt_pot_outcome_name(mt_pot_outcome o)
{
	static const char *const names[] = {
		"pending",	    "admitted",		  "opener-defected",
		"cosponsor-defected", "both-defected",	  "opener-forfeited",
		"cosponsor-forfeited", "both-forfeited", "void"};
	if ((int)o < 0 || (size_t)o >= sizeof names / sizeof *names)
		return "?";
	return names[o];
}

static void refuse(struct dctx *d, const mt_stmt *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void refuse(struct dctx *d, const mt_stmt *s, const char *fmt, ...)
{
	mt_pot_state *st = d->st;
	if (mt_pot__grow((void **)&st->refusals, &d->cap_ref, st->n_refusals + 1,
			 sizeof *st->refusals)) {
		d->oom = 1;
		return;
	}
	mt_pot_refusal *r = &st->refusals[st->n_refusals++];
	mt_stmt_id_hex(r->stmt, s);
	snprintf(r->iss, sizeof r->iss, "%s", s->iss);
	r->type = s->type;
	r->ts = s->ts;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof r->reason, fmt, ap);
	va_end(ap);
}

static void member_key(char *out, size_t n, size_t ci, const char *id)
{
	snprintf(out, n, "%zx/%s", ci, id);
}

/* Index of `id` among community ci's members, or -1. */
static long member_idx(const struct dctx *d, size_t ci, const char *id)
{
	char key[MT_NODE_ID_MAX + 24];
	member_key(key, sizeof key, ci, id);
	const size_t *v = map_get(&d->member_by_key, key);
	return v ? (long)*v : -1;
}

static mt_pot_member *add_member(struct dctx *d, size_t ci, const char *id, int64_t since,
				 const char *round)
{
	mt_pot_community *c = &d->st->communities[ci];
	if (mt_pot__grow((void **)&c->members, &d->mem_cap[ci], c->n_members + 1,
			 sizeof *c->members)) {
		d->oom = 1;
		return NULL;
	}
	mt_pot_member *m = &c->members[c->n_members];
	memset(m, 0, sizeof *m);
	snprintf(m->id, sizeof m->id, "%s", id);
	m->since = since;
	m->founder = round == NULL;
	snprintf(m->admitted_by, sizeof m->admitted_by, "%s", round ? round : "");
	char key[MT_NODE_ID_MAX + 24];
	member_key(key, sizeof key, ci, id);
	if (map_put(&d->member_by_key, key, c->n_members)) {
		d->oom = 1;
		return NULL;
	}
	c->n_members++;
	return m;
}

static void short_id(char out[20], const char *id)
{
	snprintf(out, 20, "%.16s", id);
}

/* The latest penalty of `member` in community `g` ending at `until`. */
static const mt_pot_penalty *find_penalty(const mt_pot_state *st, const char *g, const char *member,
					  int64_t until)
{
	for (size_t i = st->n_penalties; i-- > 0;)
		if (st->penalties[i].until == until && strcmp(st->penalties[i].member, member) == 0 &&
		    strcmp(st->penalties[i].genesis, g) == 0)
			return &st->penalties[i];
	return NULL;
}

/* The round in which `member` holds a stake ending at `until`. */
static const mt_pot_round *find_stake(const mt_pot_state *st, const mt_pot_community *c,
				      const char *member, int64_t until)
{
	for (size_t i = 0; i < st->n_rounds; i++) {
		const mt_pot_round *r = &st->rounds[i];
		if (strcmp(r->genesis, c->genesis) || r->opened_at + c->params.period != until)
			continue;
		if (strcmp(r->party[0], member) == 0 ||
		    (r->committed[1] && strcmp(r->party[1], member) == 0))
			return r;
	}
	return NULL;
}

static int stake_check(const mt_pot_state *st, const mt_pot_community *c, const mt_pot_member *m,
		       const char *member, int64_t t, char *why, size_t whysz)
{
	char a[32], b[32];
	if (!m) {
		if (why)
			snprintf(why, whysz, "%s is not a member of community %.16s (%s)", member,
				 c->genesis, c->scope);
		return 0;
	}
	if (!m->founder && t < m->since + c->params.period) {
		if (why) {
			mt_pot_iso(a, m->since + c->params.period);
			snprintf(why, whysz,
				 "%s is in its first period as a member and cannot stake until %s "
				 "(newcomers' first period is without stake)",
				 member, a);
		}
		return 0;
	}
	if (m->penalty_until > t) {
		if (why) {
			const mt_pot_penalty *p = find_penalty(st, c->genesis, member, m->penalty_until);
			mt_pot_iso(a, m->penalty_until);
			snprintf(why, whysz, "%s is penalised until %s: %s", member, a,
				 p ? p->reason : "penalty");
		}
		return 0;
	}
	if (m->stake_until > t) {
		if (why) {
			const mt_pot_round *r = find_stake(st, c, member, m->stake_until);
			mt_pot_iso(b, m->stake_until);
			snprintf(why, whysz,
				 "%s is already staked in round %.16s until %s (one stake per member "
				 "per period)",
				 member, r ? r->id : "?", b);
		}
		return 0;
	}
	return 1;
}

static void add_penalty(struct dctx *d, size_t ci, const mt_pot_round *r, int who, int64_t from,
			int64_t periods, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static void add_penalty(struct dctx *d, size_t ci, const mt_pot_round *r, int who, int64_t from,
			int64_t periods, const char *fmt, ...)
{
	mt_pot_state *st = d->st;
	mt_pot_community *c = &st->communities[ci];
	if (mt_pot__grow((void **)&st->penalties, &d->cap_pen, st->n_penalties + 1,
			 sizeof *st->penalties)) {
		d->oom = 1;
		return;
	}
	mt_pot_penalty *p = &st->penalties[st->n_penalties++];
	snprintf(p->genesis, sizeof p->genesis, "%s", c->genesis);
	snprintf(p->member, sizeof p->member, "%s", r->party[who]);
	snprintf(p->round, sizeof p->round, "%s", r->id);
	p->from = from;
	p->until = from + periods * c->params.period;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->reason, sizeof p->reason, fmt, ap);
	va_end(ap);
	long mi = member_idx(d, ci, r->party[who]);
	if (mi >= 0 && c->members[mi].penalty_until < p->until)
		c->members[mi].penalty_until = p->until;
}

static void add_credit(struct dctx *d, size_t ci, const mt_pot_round *r, int who, int64_t at)
{
	mt_pot_state *st = d->st;
	mt_pot_community *c = &st->communities[ci];
	if (mt_pot__grow((void **)&st->credits, &d->cap_cred, st->n_credits + 1,
			 sizeof *st->credits)) {
		d->oom = 1;
		return;
	}
	mt_pot_credit *k = &st->credits[st->n_credits];
	snprintf(k->genesis, sizeof k->genesis, "%s", c->genesis);
	snprintf(k->member, sizeof k->member, "%s", r->party[who]);
	snprintf(k->round, sizeof k->round, "%s", r->id);
	k->earned = at;
	k->expires = at + c->params.period;
	k->total = c->params.credits;
	char key[160];
	snprintf(key, sizeof key, "%s/%s", r->id, r->party[who]);
	if (map_put(&d->credit_by_key, key, st->n_credits)) {
		d->oom = 1;
		return;
	}
	st->n_credits++;
}

/* Resolve round ri at time `at` (the later reveal, or the deadline). */
static void resolve(struct dctx *d, size_t ri, int64_t at)
{
	mt_pot_state *st = d->st;
	mt_pot_round *r = &st->rounds[ri];
	size_t ci = *map_get(&d->comm_by_id, r->genesis);
	char rid[20], a[20], b[20], dl[32];
	short_id(rid, r->id);
	short_id(a, r->party[0]);
	short_id(b, r->party[1]);
	mt_pot_iso(dl, r->deadline);
	r->stage = MT_POT_STAGE_RESOLVED;
	r->resolved_at = at;
	if (!r->committed[1]) {
		r->outcome = MT_POT_VOID;
		return;
	}
	if (!r->committed[0]) {
		/* B consented but A never committed: A forfeits; B could not reveal
		 * (a reveal needs both commits), so B is not blamed. */
		r->outcome = MT_POT_OPENER_FORFEITED;
		add_penalty(d, ci, r, 0, at, 2,
			    "forfeited round %s (never committed before the deadline %s)", rid, dl);
		return;
	}
	int va = r->revealed[0], vb = r->revealed[1];
	if (va && vb) {
		int da = r->defected[0], db = r->defected[1];
		if (!da && !db) {
			r->outcome = MT_POT_ADMITTED;
			if (member_idx(d, ci, r->candidate) < 0) {
				if (add_member(d, ci, r->candidate, at, r->id))
					r->admitted = 1;
			}
		} else if (da && db) {
			r->outcome = MT_POT_BOTH_DEFECTED;
			add_penalty(d, ci, r, 0, at, 1, "defected while %s also defected in round %s", b,
				    rid);
			add_penalty(d, ci, r, 1, at, 1, "defected while %s also defected in round %s", a,
				    rid);
		} else {
			int def = da ? 0 : 1, coop = 1 - def;
			r->outcome = da ? MT_POT_OPENER_DEFECTED : MT_POT_COSPONSOR_DEFECTED;
			add_penalty(d, ci, r, coop, at, 1, "cooperated while %s defected in round %s",
				    def ? b : a, rid);
			add_credit(d, ci, r, def, at);
		}
		return;
	}
	if (!va && !vb) {
		r->outcome = MT_POT_BOTH_FORFEITED;
		for (int w = 0; w < 2; w++)
			add_penalty(d, ci, r, w, at, 2,
				    "forfeited round %s (no valid reveal by the deadline %s)", rid, dl);
		return;
	}
	int rev = va ? 0 : 1, forf = 1 - rev;
	r->outcome = forf ? MT_POT_COSPONSOR_FORFEITED : MT_POT_OPENER_FORFEITED;
	add_penalty(d, ci, r, forf, at, 2, "forfeited round %s (no valid reveal by the deadline %s)",
		    rid, dl);
	/* As if the forfeiter had cooperated: a defecting revealer earns its
	 * credits; a cooperating revealer's round is simply void. */
	if (r->defected[rev])
		add_credit(d, ci, r, rev, at);
}

struct due {
	int64_t deadline;
	const char *id;
	size_t idx;
};

static int due_sort(const void *x, const void *y)
{
	const struct due *a = x, *b = y;
	if (a->deadline != b->deadline)
		return a->deadline < b->deadline ? -1 : 1;
	return strcmp(a->id, b->id);
}

/* Resolve every unresolved round whose deadline is < t (inclusive: <= t when
 * `inclusive`), in (deadline, id) order. */
static void resolve_due(struct dctx *d, int64_t t, int inclusive)
{
	if (d->next_due == INT64_MAX || (inclusive ? d->next_due > t : d->next_due >= t))
		return;
	mt_pot_state *st = d->st;
	struct due *list = NULL;
	size_t n = 0, cap = 0;
	int64_t next = INT64_MAX;
	for (size_t i = 0; i < st->n_rounds; i++) {
		mt_pot_round *r = &st->rounds[i];
		if (r->stage == MT_POT_STAGE_RESOLVED)
			continue;
		if (inclusive ? r->deadline <= t : r->deadline < t) {
			if (mt_pot__grow((void **)&list, &cap, n + 1, sizeof *list)) {
				d->oom = 1;
				free(list);
				return;
			}
			list[n++] = (struct due){r->deadline, r->id, i};
		} else if (r->deadline < next)
			next = r->deadline;
	}
	mt_pot__sort_n(list, n, sizeof *list, due_sort);
	for (size_t i = 0; i < n; i++)
		resolve(d, list[i].idx, list[i].deadline);
	free(list);
	d->next_due = next;
}

static void do_genesis(struct dctx *d, const mt_stmt *s)
{
	mt_pot_state *st = d->st;
	char gid[65];
	mt_stmt_id_hex(gid, s);
	if (mt_pot__grow((void **)&st->communities, &d->cap_comm, st->n_communities + 1,
			 sizeof *st->communities) ||
	    mt_pot__grow((void **)&d->mem_cap, &d->cap_mem_cap, st->n_communities + 1,
			 sizeof *d->mem_cap)) {
		d->oom = 1;
		return;
	}
	size_t ci = st->n_communities++;
	mt_pot_community *c = &st->communities[ci];
	memset(c, 0, sizeof *c);
	snprintf(c->genesis, sizeof c->genesis, "%s", gid);
	snprintf(c->scope, sizeof c->scope, "%s", mt_stmt_str(s, "scope"));
	snprintf(c->iss, sizeof c->iss, "%s", cid(d, s->iss));
	c->ts = s->ts;
	json_t *params = NULL, *v;
	if (mt_stmt_member(s, "params", &params, NULL)) {
		d->oom = 1;
		return;
	}
	c->params.period = (v = json_object_get(params, "period")) ? json_integer_value(v)
								  : MT_POT_DEFAULT_PERIOD;
	c->params.deadline_max = (v = json_object_get(params, "deadline_max"))
					 ? json_integer_value(v)
					 : MT_POT_DEFAULT_DEADLINE_MAX;
	c->params.credits = (v = json_object_get(params, "credits")) ? json_integer_value(v)
								    : MT_POT_DEFAULT_CREDITS;
	json_decref(params);
	if (map_put(&d->comm_by_id, gid, ci)) {
		d->oom = 1;
		return;
	}
	size_t n = 0;
	const char *f = mt_stmt_list(s, "founders", &n);
	for (size_t i = 0; i < n; i++, f = mt_stmt_list_next(f))
		add_member(d, ci, cid(d, f), s->ts, NULL);
}

static void do_open(struct dctx *d, const mt_stmt *s)
{
	mt_pot_state *st = d->st;
	const char *g = mt_stmt_str(s, "genesis"), *cand = cid(d, mt_stmt_str(s, "candidate")),
		   *cos = cid(d, mt_stmt_str(s, "cosponsor")), *iss = cid(d, s->iss);
	int64_t deadline = mt_stmt_int(s, "deadline", 0), t = s->ts;
	const size_t *civ = map_get(&d->comm_by_id, g);
	if (!civ) {
		refuse(d, s, "round names an unknown genesis %s (no such community)", g);
		return;
	}
	size_t ci = *civ;
	mt_pot_community *c = &st->communities[ci];
	char why[MT_POT_REASON_MAX], iso[32];
	if (member_idx(d, ci, iss) < 0) {
		refuse(d, s, "opener %s is not a member of community %.16s (%s)", iss, c->genesis,
		       c->scope);
		return;
	}
	if (strcmp(cos, iss) == 0) {
		refuse(d, s, "the cosponsor must be another member than the opener");
		return;
	}
	if (member_idx(d, ci, cos) < 0) {
		refuse(d, s, "cosponsor %s is not a member of community %.16s (%s)", cos, c->genesis,
		       c->scope);
		return;
	}
	if (member_idx(d, ci, cand) >= 0) {
		refuse(d, s, "candidate %s is already a member of community %.16s (%s)", cand,
		       c->genesis, c->scope);
		return;
	}
	if (deadline < t) {
		mt_pot_iso(iso, deadline);
		refuse(d, s, "deadline %s is before the round's own ts", iso);
		return;
	}
	if (deadline > t + c->params.deadline_max) {
		mt_pot_iso(iso, deadline);
		refuse(d, s, "deadline %s is more than deadline_max (%lld s) after the open", iso,
		       (long long)c->params.deadline_max);
		return;
	}
	long mi = member_idx(d, ci, iss);
	if (!stake_check(st, c, &c->members[mi], iss, t, why, sizeof why)) {
		refuse(d, s, "%s", why);
		return;
	}
	if (mt_pot__grow((void **)&st->rounds, &d->cap_rounds, st->n_rounds + 1,
			 sizeof *st->rounds)) {
		d->oom = 1;
		return;
	}
	mt_pot_round *r = &st->rounds[st->n_rounds];
	memset(r, 0, sizeof *r);
	mt_stmt_id_hex(r->id, s);
	snprintf(r->genesis, sizeof r->genesis, "%s", c->genesis);
	snprintf(r->party[0], sizeof r->party[0], "%s", iss);
	snprintf(r->party[1], sizeof r->party[1], "%s", cos);
	snprintf(r->candidate, sizeof r->candidate, "%s", cand);
	r->opened_at = t;
	r->deadline = deadline;
	if (map_put(&d->round_by_id, r->id, st->n_rounds)) {
		d->oom = 1;
		return;
	}
	st->n_rounds++;
	if (c->members[mi].stake_until < t + c->params.period)
		c->members[mi].stake_until = t + c->params.period;
	if (deadline < d->next_due)
		d->next_due = deadline;
}

/* Common checks of commit and reveal; returns the round and party index. */
static mt_pot_round *move_round(struct dctx *d, const mt_stmt *s, int *who)
{
	const char *rid = mt_stmt_str(s, "round");
	const size_t *ri = map_get(&d->round_by_id, rid);
	if (!ri) {
		refuse(d, s, "unknown round %s (no such pot-open held)", rid);
		return NULL;
	}
	mt_pot_round *r = &d->st->rounds[*ri];
	char iso[32], rs[20];
	const char *iss = cid(d, s->iss);
	short_id(rs, r->id);
	if (strcmp(iss, r->party[0]) == 0)
		*who = 0;
	else if (strcmp(iss, r->party[1]) == 0)
		*who = 1;
	else {
		refuse(d, s, "%s is not a sponsor of round %s (opener %s, cosponsor %s)", iss, rs,
		       r->party[0], r->party[1]);
		return NULL;
	}
	if (s->ts > r->deadline) {
		mt_pot_iso(iso, r->deadline);
		refuse(d, s, "the deadline of round %s passed at %s (moves after it do not count)", rs,
		       iso);
		return NULL;
	}
	if (r->stage == MT_POT_STAGE_RESOLVED) {
		mt_pot_iso(iso, r->resolved_at);
		refuse(d, s, "round %s already resolved at %s", rs, iso);
		return NULL;
	}
	return r;
}

static void do_commit(struct dctx *d, const mt_stmt *s)
{
	const char *iss = cid(d, s->iss);
	int who = 0;
	mt_pot_round *r = move_round(d, s, &who);
	if (!r)
		return;
	char rs[20];
	short_id(rs, r->id);
	if (r->committed[who]) {
		refuse(d, s, "%s already committed in round %s; a commit binds its issuer", iss, rs);
		return;
	}
	if (who == 1) {
		/* B's commit is B's consent and B's stake. */
		size_t ci = *map_get(&d->comm_by_id, r->genesis);
		mt_pot_community *c = &d->st->communities[ci];
		long mi = member_idx(d, ci, iss);
		char why[MT_POT_REASON_MAX];
		if (!stake_check(d->st, c, mi >= 0 ? &c->members[mi] : NULL, iss, s->ts, why,
				 sizeof why)) {
			refuse(d, s, "%s", why);
			return;
		}
		int64_t until = r->opened_at + c->params.period;
		if (c->members[mi].stake_until < until)
			c->members[mi].stake_until = until;
	}
	r->committed[who] = 1;
	r->commit_ts[who] = s->ts;
	snprintf(r->commit_iss[who], sizeof r->commit_iss[who], "%s", s->iss);
	snprintf(r->commit[who], sizeof r->commit[who], "%s", mt_stmt_str(s, "commit"));
	if (r->committed[0] && r->committed[1])
		r->stage = MT_POT_STAGE_REVEAL;
}

static void do_reveal(struct dctx *d, const mt_stmt *s)
{
	const char *iss = cid(d, s->iss);
	int who = 0;
	mt_pot_round *r = move_round(d, s, &who);
	if (!r)
		return;
	char rs[20], expect[65];
	short_id(rs, r->id);
	if (!r->committed[who]) {
		refuse(d, s, "%s has no commit in round %s to reveal", iss, rs);
		return;
	}
	if (!r->committed[1 - who]) {
		refuse(d, s, "both commits of round %s are not held yet (reveal only after both)", rs);
		return;
	}
	if (r->revealed[who]) {
		refuse(d, s, "%s already revealed in round %s", iss, rs);
		return;
	}
	const char *choice = mt_stmt_str(s, "choice");
	/* the commitment names the committing statement's own iss */
	mt_pot_commitment(expect, r->id, r->commit_iss[who], choice, mt_stmt_str(s, "nonce"));
	if (strcmp(expect, r->commit[who]) != 0) {
		refuse(d, s, "the reveal of %s does not match its commit in round %s", iss, rs);
		return;
	}
	r->revealed[who] = 1;
	r->defected[who] = strcmp(choice, "defect") == 0;
	r->reveal_ts[who] = s->ts;
	/* at the later of the two reveals (the later in replay order may carry
	 * the earlier ts when both share a second or a feed runs late) */
	if (r->revealed[0] && r->revealed[1])
		resolve(d, (size_t)(r - d->st->rounds),
			r->reveal_ts[0] > r->reveal_ts[1] ? r->reveal_ts[0] : r->reveal_ts[1]);
}

static void do_claim(struct dctx *d, const mt_stmt *s)
{
	mt_pot_state *st = d->st;
	const char *rid = mt_stmt_str(s, "round"), *cand = cid(d, mt_stmt_str(s, "candidate"));
	const char *iss = cid(d, s->iss);
	const size_t *ri = map_get(&d->round_by_id, rid);
	if (!ri) {
		refuse(d, s, "unknown round %s (no such pot-open held)", rid);
		return;
	}
	mt_pot_round *r = &st->rounds[*ri];
	char rs[20], iso[32], why[MT_POT_REASON_MAX];
	short_id(rs, r->id);
	char key[160];
	snprintf(key, sizeof key, "%s/%s", r->id, iss);
	const size_t *ki = map_get(&d->credit_by_key, key);
	if (!ki) {
		refuse(d, s,
		       "%s earned no credits in round %s (only a defector facing a cooperator earns "
		       "claims; forfeiting never pays)",
		       iss, rs);
		return;
	}
	mt_pot_credit *k = &st->credits[*ki];
	size_t ci = *map_get(&d->comm_by_id, r->genesis);
	mt_pot_community *c = &st->communities[ci];
	long mi = member_idx(d, ci, iss);
	if (mi >= 0 && c->members[mi].penalty_until > s->ts) {
		stake_check(st, c, &c->members[mi], iss, s->ts, why, sizeof why);
		refuse(d, s, "%s", why);
		return;
	}
	if (s->ts >= k->expires) {
		mt_pot_iso(iso, k->expires);
		refuse(d, s, "the credits of %s from round %s expired at %s", iss, rs, iso);
		return;
	}
	if (k->used >= k->total) {
		refuse(d, s, "%s has used all %lld credits earned in round %s", iss,
		       (long long)k->total, rs);
		return;
	}
	if (member_idx(d, ci, cand) >= 0) {
		refuse(d, s, "candidate %s is already a member of community %.16s (%s)", cand,
		       c->genesis, c->scope);
		return;
	}
	if (add_member(d, ci, cand, s->ts, r->id))
		k->used++;
}

/* ---- ordering ------------------------------------------------------------ */

/* The types this derivation reads; the replay order (replay.h) is SPEC §9.1's. */
static int pot_type(mt_stmt_type t)
{
	return t == MT_ST_GENESIS || t == MT_ST_POT_OPEN || t == MT_ST_POT_COMMIT ||
	       t == MT_ST_POT_REVEAL || t == MT_ST_POT_CLAIM;
}

/* SPEC §9.1: a statement whose ts is lower than that of the statement it
 * names (its round, its genesis) has no effect. */
static int names_later(struct dctx *d, const mt_replay_step *step)
{
	const mt_stmt *s = step->st, *named = step->named;
	if (!named || s->ts >= named->ts)
		return 0;
	char a[32], b[32], nid[65];
	mt_pot_iso(a, s->ts);
	mt_pot_iso(b, named->ts);
	mt_stmt_id_hex(nid, named);
	refuse(d, s,
	       "its ts %s is before that of the %s it names (%.16s, ts %s): a move cannot act on "
	       "a statement made after it",
	       a, named->type == MT_ST_GENESIS ? "genesis" : "round", nid, b);
	return 1;
}

static int member_order(const void *x, const void *y)
{
	return strcmp(((const mt_pot_member *)x)->id, ((const mt_pot_member *)y)->id);
}

static int comm_order(const void *x, const void *y)
{
	const mt_pot_community *a = x, *b = y;
	int c = strcmp(a->scope, b->scope);
	if (c)
		return c;
	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	return strcmp(a->genesis, b->genesis);
}

static int round_order(const void *x, const void *y)
{
	const mt_pot_round *a = x, *b = y;
	if (a->opened_at != b->opened_at)
		return a->opened_at < b->opened_at ? -1 : 1;
	return strcmp(a->id, b->id);
}

static int penalty_order(const void *x, const void *y)
{
	const mt_pot_penalty *a = x, *b = y;
	int c = strcmp(a->genesis, b->genesis);
	if (!c)
		c = strcmp(a->member, b->member);
	if (!c && a->from != b->from)
		return a->from < b->from ? -1 : 1;
	return c ? c : strcmp(a->round, b->round);
}

static int credit_order(const void *x, const void *y)
{
	const mt_pot_credit *a = x, *b = y;
	int c = strcmp(a->genesis, b->genesis);
	if (!c)
		c = strcmp(a->member, b->member);
	if (!c && a->earned != b->earned)
		return a->earned < b->earned ? -1 : 1;
	return c ? c : strcmp(a->round, b->round);
}

void mt_pot_state_free(mt_pot_state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n_communities; i++)
		free(st->communities[i].members);
	free(st->communities);
	free(st->rounds);
	free(st->penalties);
	free(st->credits);
	free(st->refusals);
	free(st);
}

int mt_pot_derive(mt_pot_state **out, const mt_stmt *const *stmts, size_t n, int64_t at,
		  mt_error *err)
{
	return mt_pot_derive_chains(out, stmts, n, at, NULL, 0, err);
}

int mt_pot_derive_chains(mt_pot_state **out, const mt_stmt *const *stmts, size_t n, int64_t at,
			 const mt_pot_alias *aliases, size_t n_aliases, mt_error *err)
{
	*out = NULL;
	struct dctx d = {0};
	d.aliases = n_aliases ? aliases : NULL;
	const mt_stmt **list = NULL;
	mt_replay_step *steps = NULL;
	size_t m = 0, nsteps = 0;
	d.st = calloc(1, sizeof *d.st);
	if (!d.st || (n && !(list = malloc(n * sizeof *list))))
		goto oom;
	d.st->at = at;
	d.next_due = INT64_MAX;
	for (size_t i = 0; i < n_aliases; i++)
		if (map_put(&d.alias_by_old, aliases[i].old_id, i))
			goto oom;
	for (size_t i = 0; i < n; i++)
		if (stmts[i] && pot_type(stmts[i]->type) && stmts[i]->ts <= at)
			list[m++] = stmts[i];
	if (mt_pot__replay_order(&steps, &nsteps, list, m, NULL))
		goto oom;
	for (size_t i = 0; i < nsteps && !d.oom; i++) {
		const mt_stmt *s = steps[i].st;
		resolve_due(&d, s->ts, 0);
		if (names_later(&d, &steps[i]))
			continue;
		switch (s->type) {
		case MT_ST_GENESIS: do_genesis(&d, s); break;
		case MT_ST_POT_OPEN: do_open(&d, s); break;
		case MT_ST_POT_COMMIT: do_commit(&d, s); break;
		case MT_ST_POT_REVEAL: do_reveal(&d, s); break;
		case MT_ST_POT_CLAIM: do_claim(&d, s); break;
		default: break;
		}
	}
	if (!d.oom)
		resolve_due(&d, at, 1);
	if (d.oom)
		goto oom;
	mt_pot_state *st = d.st;
	for (size_t i = 0; i < st->n_communities; i++)
		mt_pot__sort_n(st->communities[i].members, st->communities[i].n_members,
			       sizeof *st->communities[i].members, member_order);
	mt_pot__sort_n(st->communities, st->n_communities, sizeof *st->communities, comm_order);
	for (size_t i = 0, j; i < st->n_communities; i = j) {
		for (j = i; j < st->n_communities &&
			    strcmp(st->communities[j].scope, st->communities[i].scope) == 0;
		     j++)
			;
		for (size_t k = i; k < j; k++) {
			st->communities[k].label_owner = k == i;
			st->communities[k].conflicts = j - i - 1;
		}
	}
	mt_pot__sort_n(st->rounds, st->n_rounds, sizeof *st->rounds, round_order);
	mt_pot__sort_n(st->penalties, st->n_penalties, sizeof *st->penalties, penalty_order);
	mt_pot__sort_n(st->credits, st->n_credits, sizeof *st->credits, credit_order);
	free(list);
	free(steps);
	free(d.mem_cap);
	map_free(&d.comm_by_id);
	map_free(&d.round_by_id);
	map_free(&d.member_by_key);
	map_free(&d.credit_by_key);
	map_free(&d.alias_by_old);
	*out = st;
	return 0;
oom:
	free(list);
	free(steps);
	free(d.mem_cap);
	map_free(&d.comm_by_id);
	map_free(&d.round_by_id);
	map_free(&d.member_by_key);
	map_free(&d.credit_by_key);
	map_free(&d.alias_by_old);
	mt_pot_state_free(d.st);
	return mt_error_set(err, MT_ENOMEM, "pot: out of memory deriving %zu statements", n);
}

/* ---- lookups -------------------------------------------------------------- */

const mt_pot_community *mt_pot_community_get(const mt_pot_state *st, const char *genesis)
{
	for (size_t i = 0; st && genesis && i < st->n_communities; i++)
		if (strcmp(st->communities[i].genesis, genesis) == 0)
			return &st->communities[i];
	return NULL;
}

const mt_pot_community *mt_pot_community_by_scope(const mt_pot_state *st, const char *scope)
{
	for (size_t i = 0; st && scope && i < st->n_communities; i++)
		if (st->communities[i].label_owner && strcmp(st->communities[i].scope, scope) == 0)
			return &st->communities[i];
	return NULL;
}

const mt_pot_round *mt_pot_round_get(const mt_pot_state *st, const char *round)
{
	for (size_t i = 0; st && round && i < st->n_rounds; i++)
		if (strcmp(st->rounds[i].id, round) == 0)
			return &st->rounds[i];
	return NULL;
}

const mt_pot_member *mt_pot_member_get(const mt_pot_community *c, const char *id)
{
	if (!c || !id || !c->n_members)
		return NULL;
	mt_pot_member key;
	snprintf(key.id, sizeof key.id, "%s", id);
	return bsearch(&key, c->members, c->n_members, sizeof *c->members, member_order);
}

const mt_pot_refusal *mt_pot_refusal_get(const mt_pot_state *st, const char *stmt_id)
{
	for (size_t i = 0; st && stmt_id && i < st->n_refusals; i++)
		if (strcmp(st->refusals[i].stmt, stmt_id) == 0)
			return &st->refusals[i];
	return NULL;
}

int mt_pot_can_stake(const mt_pot_state *st, const mt_pot_community *c, const char *member,
		     int64_t t, char *why, size_t whysz)
{
	return stake_check(st, c, mt_pot_member_get(c, member), member, t, why, whysz);
}

int64_t mt_pot_credits_left(const mt_pot_state *st, const mt_pot_community *c, const char *member,
			    int64_t t)
{
	int64_t left = 0;
	for (size_t i = 0; st && c && i < st->n_credits; i++) {
		const mt_pot_credit *k = &st->credits[i];
		if (t < k->expires && strcmp(k->member, member) == 0 &&
		    strcmp(k->genesis, c->genesis) == 0)
			left += k->total - k->used;
	}
	return left;
}
