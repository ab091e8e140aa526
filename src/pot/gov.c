/* Governance (SPEC §9.3): a pure replay of proposals and votes over the
 * proof-of-trust rosters. Contract in include/meshtrust/gov.h, rules in
 * docs/governance.md.
 *
 * Order independence: the input is reduced to a set and replayed in SPEC
 * §9.1's causal order (replay.h), a function of the set alone. A proposal's
 * voters come from mt_pot_derive_chains over the genesis/pot-* statements
 * that precede it in that order (a set closed under the order's
 * predecessors, so its own replay is the same prefix), evaluated at the
 * proposal's ts. Nothing else (no hash order, no pointer value) decides. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/gov.h"
#include "pot_int.h"
#include "replay.h"

/* ---- policies ------------------------------------------------------------ */

void mt_gov_policy_clear(mt_gov_policy *p)
{
	if (!p)
		return;
	free(p->bridges);
	memset(p, 0, sizeof *p);
}

/* A deep copy into *dst (cleared first). */
int mt_gov_policy_copy(mt_gov_policy *dst, const mt_gov_policy *src)
{
	mt_gov_policy_clear(dst);
	*dst = *src;
	dst->bridges = NULL;
	if (src->n_bridges) {
		dst->bridges = malloc(src->n_bridges * sizeof *dst->bridges);
		if (!dst->bridges) {
			dst->n_bridges = 0;
			return MT_ENOMEM;
		}
		memcpy(dst->bridges, src->bridges, src->n_bridges * sizeof *dst->bridges);
	}
	return 0;
}

/* Apply the keys `p` (a proposal's, id `pid`) sets onto the community's `c`. */
static int policy_apply(mt_gov_policy *c, const mt_gov_policy *p, const char *pid)
{
	for (int k = 0; k < MT_GOV_K__COUNT; k++)
		if (p->set & MT_GOV_SET(k)) {
			c->set |= MT_GOV_SET(k);
			snprintf(c->source[k], sizeof c->source[k], "%s", pid);
		}
	if (p->set & MT_GOV_SET(MT_GOV_K_MAX_GINI))
		c->max_gini = p->max_gini;
	if (p->set & MT_GOV_SET(MT_GOV_K_ENFORCE_GINI))
		c->enforce_gini = p->enforce_gini;
	if (p->set & MT_GOV_SET(MT_GOV_K_MAX_TOP10))
		c->max_top10_share = p->max_top10_share;
	if (p->set & MT_GOV_SET(MT_GOV_K_TIERS)) {
		c->n_tiers = p->n_tiers;
		memcpy(c->tiers, p->tiers, sizeof c->tiers);
	}
	if (p->set & MT_GOV_SET(MT_GOV_K_BRIDGES)) {
		free(c->bridges);
		c->bridges = NULL;
		c->n_bridges = 0;
		if (p->n_bridges) {
			c->bridges = malloc(p->n_bridges * sizeof *c->bridges);
			if (!c->bridges)
				return MT_ENOMEM;
			memcpy(c->bridges, p->bridges, p->n_bridges * sizeof *c->bridges);
			c->n_bridges = p->n_bridges;
		}
	}
	return 0;
}

int mt_gov_policy_from_json(mt_gov_policy *out, const json_t *o, mt_error *err)
{
	memset(out, 0, sizeof *out);
	int rc = mt_stmt_policy_check(o, err);
	if (rc)
		return rc;
	json_t *v;
	if ((v = json_object_get(o, "max_gini"))) {
		out->set |= MT_GOV_SET(MT_GOV_K_MAX_GINI);
		out->max_gini = json_integer_value(v);
	}
	if ((v = json_object_get(o, "enforce_gini"))) {
		out->set |= MT_GOV_SET(MT_GOV_K_ENFORCE_GINI);
		out->enforce_gini = json_is_true(v);
	}
	if ((v = json_object_get(o, "max_top10_share"))) {
		out->set |= MT_GOV_SET(MT_GOV_K_MAX_TOP10);
		out->max_top10_share = json_integer_value(v);
	}
	if ((v = json_object_get(o, "tiers"))) {
		out->set |= MT_GOV_SET(MT_GOV_K_TIERS);
		size_t i;
		json_t *t;
		json_array_foreach(v, i, t)
		{
			out->tiers[i].min_score = json_integer_value(json_object_get(t, "min_score"));
			out->tiers[i].rate = json_integer_value(json_object_get(t, "rate"));
			out->tiers[i].burst = json_integer_value(json_object_get(t, "burst"));
		}
		out->n_tiers = json_array_size(v);
	}
	if ((v = json_object_get(o, "bridges"))) {
		out->set |= MT_GOV_SET(MT_GOV_K_BRIDGES);
		size_t n = json_array_size(v);
		if (n && !(out->bridges = malloc(n * sizeof *out->bridges)))
			return mt_error_set(err, MT_ENOMEM, "out of memory");
		for (size_t i = 0; i < n; i++)
			snprintf(out->bridges[i], MT_NODE_ID_MAX, "%s",
				 json_string_value(json_array_get(v, i)));
		out->n_bridges = n;
	}
	return 0;
}

static const char *const KEY_NAMES[MT_GOV_K__COUNT] = {"max_gini", "enforce_gini",
							"max_top10_share", "tiers", "bridges"};

json_t *mt_gov_policy_json(const mt_gov_policy *p, int sources)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	int bad = 0;
	if (p->set & MT_GOV_SET(MT_GOV_K_MAX_GINI))
		bad |= json_object_set_new(o, "max_gini", json_integer(p->max_gini));
	if (p->set & MT_GOV_SET(MT_GOV_K_ENFORCE_GINI))
		bad |= json_object_set_new(o, "enforce_gini", json_boolean(p->enforce_gini));
	if (p->set & MT_GOV_SET(MT_GOV_K_MAX_TOP10))
		bad |= json_object_set_new(o, "max_top10_share", json_integer(p->max_top10_share));
	if (p->set & MT_GOV_SET(MT_GOV_K_TIERS)) {
		json_t *a = json_array();
		for (size_t i = 0; a && i < p->n_tiers; i++)
			bad |= json_array_append_new(
				a, json_pack("{s:I,s:I,s:I}", "min_score",
					     (json_int_t)p->tiers[i].min_score, "rate",
					     (json_int_t)p->tiers[i].rate, "burst",
					     (json_int_t)p->tiers[i].burst));
		bad |= json_object_set_new(o, "tiers", a);
	}
	if (p->set & MT_GOV_SET(MT_GOV_K_BRIDGES)) {
		json_t *a = json_array();
		for (size_t i = 0; a && i < p->n_bridges; i++)
			bad |= json_array_append_new(a, json_string(p->bridges[i]));
		bad |= json_object_set_new(o, "bridges", a);
	}
	if (sources) {
		json_t *s = json_object();
		for (int k = 0; s && k < MT_GOV_K__COUNT; k++)
			if (p->set & MT_GOV_SET(k))
				bad |= json_object_set_new(s, KEY_NAMES[k], json_string(p->source[k]));
		bad |= json_object_set_new(o, "sources", s);
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int mt_gov_policy_approves(const mt_gov_policy *p, const char *id)
{
	if (!(p->set & MT_GOV_SET(MT_GOV_K_BRIDGES)) || !id)
		return 0;
	for (size_t i = 0; i < p->n_bridges; i++)
		if (strcmp(p->bridges[i], id) == 0)
			return 1;
	return 0;
}

const char *mt_gov_outcome_name(mt_gov_outcome o)
{
	switch (o) {
	case MT_GOV_OPEN: return "open";
	case MT_GOV_PASSED: return "passed";
	case MT_GOV_FAILED: return "failed";
	}
	return "?";
}

/* ---- derivation ---------------------------------------------------------- */

struct gctx {
	mt_gov_state *st;
	size_t cap_comm, cap_prop, cap_votes, cap_ref;
	const mt_pot_alias *aliases;
	size_t n_aliases;
	int oom;
};

/* The newest ID of `id`'s chain (chains are few: a linear scan). */
static const char *cid(const struct gctx *g, const char *id)
{
	for (size_t i = 0; id && i < g->n_aliases; i++)
		if (strcmp(g->aliases[i].old_id, id) == 0)
			return g->aliases[i].newest;
	return id;
}

static void refuse(struct gctx *g, const mt_stmt *s, const char *proposal, int late,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void refuse(struct gctx *g, const mt_stmt *s, const char *proposal, int late,
		   const char *fmt, ...)
{
	mt_gov_state *st = g->st;
	if (mt_pot__grow((void **)&st->refusals, &g->cap_ref, st->n_refusals + 1,
			 sizeof *st->refusals)) {
		g->oom = 1;
		return;
	}
	mt_gov_refusal *r = &st->refusals[st->n_refusals++];
	mt_stmt_id_hex(r->stmt, s);
	snprintf(r->iss, sizeof r->iss, "%s", s->iss);
	r->type = s->type;
	r->ts = s->ts;
	snprintf(r->proposal, sizeof r->proposal, "%s", proposal ? proposal : "");
	r->late = late;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof r->reason, fmt, ap);
	va_end(ap);
}

static mt_gov_community *community_of(struct gctx *g, const mt_stmt *genesis)
{
	char id[65];
	mt_stmt_id_hex(id, genesis);
	mt_gov_state *st = g->st;
	for (size_t i = 0; i < st->n_communities; i++)
		if (strcmp(st->communities[i].genesis, id) == 0)
			return &st->communities[i];
	if (mt_pot__grow((void **)&st->communities, &g->cap_comm, st->n_communities + 1,
			 sizeof *st->communities)) {
		g->oom = 1;
		return NULL;
	}
	mt_gov_community *c = &st->communities[st->n_communities++];
	memcpy(c->genesis, id, 65);
	snprintf(c->scope, sizeof c->scope, "%s", mt_stmt_str(genesis, "scope"));
	json_t *params = NULL;
	mt_stmt_member(genesis, "params", &params, NULL);
	json_t *q = json_object_get(params, "quorum"), *t = json_object_get(params, "threshold"),
	       *p = json_object_get(params, "period");
	c->quorum = q ? json_integer_value(q) : MT_GOV_DEFAULT_QUORUM;
	c->threshold = t ? json_integer_value(t) : MT_GOV_DEFAULT_THRESHOLD;
	c->period = p ? json_integer_value(p) : MT_POT_DEFAULT_PERIOD;
	json_decref(params);
	return c;
}

static int id_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static void short_id(char out[20], const char *id)
{
	snprintf(out, 20, "%.16s…", id);
}

/* The voters of a proposal in community `c` replayed after steps[0..upto). */
static int voters_of(struct gctx *g, const mt_replay_step *steps, size_t upto,
		     const mt_gov_community *c, int64_t ts, char (**out)[MT_NODE_ID_MAX],
		     size_t *n_out)
{
	*out = NULL;
	*n_out = 0;
	const mt_stmt **pot = malloc((upto ? upto : 1) * sizeof *pot);
	if (!pot)
		return MT_ENOMEM;
	size_t m = 0;
	for (size_t i = 0; i < upto; i++) {
		mt_stmt_type t = steps[i].st->type;
		if (t == MT_ST_GENESIS || t == MT_ST_POT_OPEN || t == MT_ST_POT_COMMIT ||
		    t == MT_ST_POT_REVEAL || t == MT_ST_POT_CLAIM)
			pot[m++] = steps[i].st;
	}
	mt_pot_state *ps = NULL;
	int rc = mt_pot_derive_chains(&ps, pot, m, ts, g->aliases, g->n_aliases, NULL);
	free(pot);
	if (rc)
		return MT_ENOMEM;
	const mt_pot_community *pc = mt_pot_community_get(ps, c->genesis);
	size_t n = 0;
	char(*v)[MT_NODE_ID_MAX] = NULL;
	if (pc && pc->n_members) {
		v = malloc(pc->n_members * sizeof *v);
		if (!v) {
			mt_pot_state_free(ps);
			return MT_ENOMEM;
		}
		for (size_t i = 0; i < pc->n_members; i++) {
			const mt_pot_member *mb = &pc->members[i];
			if (mb->founder || mb->since <= ts - pc->params.period)
				snprintf(v[n++], MT_NODE_ID_MAX, "%s", mb->id);
		}
	}
	mt_pot_state_free(ps);
	mt_pot__sort_n(v, n, sizeof *v, id_cmp);
	*out = v;
	*n_out = n;
	return 0;
}

static int is_voter(const mt_gov_proposal *p, const char *id)
{
	return p->n_voters &&
	       bsearch(id, p->voters, p->n_voters, sizeof *p->voters, id_cmp) != NULL;
}

static const mt_gov_proposal *open_of(const mt_gov_state *st, const char *genesis,
				      const char *member, int64_t t)
{
	for (size_t i = 0; i < st->n_proposals; i++) {
		const mt_gov_proposal *p = &st->proposals[i];
		if (p->closes >= t && strcmp(p->genesis, genesis) == 0 &&
		    strcmp(p->proposer, member) == 0)
			return p;
	}
	return NULL;
}

static void do_proposal(struct gctx *g, const mt_replay_step *steps, size_t i)
{
	const mt_stmt *s = steps[i].st;
	const mt_stmt *gen = steps[i].named;
	const char *gid = mt_stmt_str(s, "genesis");
	char sg[20];
	short_id(sg, gid);
	if (!gen) {
		refuse(g, s, NULL, 0, "no community with genesis %s is held", sg);
		return;
	}
	if (s->ts < gen->ts) {
		refuse(g, s, NULL, 0, "ts %lld is before its genesis' ts %lld (SPEC §9.1)",
		       (long long)s->ts, (long long)gen->ts);
		return;
	}
	int64_t closes = mt_stmt_int(s, "closes", 0);
	if (closes < s->ts + MT_GOV_CLOSES_MIN || closes > s->ts + MT_GOV_CLOSES_MAX) {
		refuse(g, s, NULL, 0,
		       "closes must be 24 h to 30 days after the proposal's ts (closes - ts = %lld s)",
		       (long long)(closes - s->ts));
		return;
	}
	mt_gov_policy pol;
	json_t *pj = NULL;
	mt_error perr = {0};
	if (mt_stmt_member(s, "policy", &pj, NULL) || !pj) {
		g->oom = 1;
		return;
	}
	int rc = mt_gov_policy_from_json(&pol, pj, &perr);
	json_decref(pj);
	if (rc == MT_ENOMEM) {
		g->oom = 1;
		return;
	}
	if (rc) {
		refuse(g, s, NULL, 0, "%s", perr.msg);
		return;
	}
	for (size_t t = 1; t < pol.n_tiers; t++)
		if (!(pol.tiers[t].min_score < pol.tiers[t - 1].min_score)) {
			refuse(g, s, NULL, 0,
			       "policy.tiers not sorted by descending min_score (tier %zu: %lld after "
			       "%lld)",
			       t + 1, (long long)pol.tiers[t].min_score,
			       (long long)pol.tiers[t - 1].min_score);
			mt_gov_policy_clear(&pol);
			return;
		}
	mt_gov_community *c = community_of(g, gen);
	if (!c) {
		mt_gov_policy_clear(&pol);
		return;
	}
	const char *who = cid(g, s->iss);
	char(*voters)[MT_NODE_ID_MAX] = NULL;
	size_t nv = 0;
	if (voters_of(g, steps, i, c, s->ts, &voters, &nv)) {
		g->oom = 1;
		mt_gov_policy_clear(&pol);
		return;
	}
	mt_gov_proposal probe = {.voters = voters, .n_voters = nv};
	if (!is_voter(&probe, who)) {
		refuse(g, s, NULL, 0,
		       "%s is not a voter of %s: only members of at least one period (%lld s) "
		       "before the proposal, and founders, may propose",
		       who, c->scope, (long long)c->period);
		goto drop;
	}
	const mt_gov_proposal *open = open_of(g->st, c->genesis, who, s->ts);
	if (open) {
		char so[20];
		short_id(so, open->id);
		refuse(g, s, NULL, 0,
		       "%s already has an open proposal in %s: %s (closes %lld); one at a time", who,
		       c->scope, so, (long long)open->closes);
		goto drop;
	}
	mt_gov_state *st = g->st;
	if (mt_pot__grow((void **)&st->proposals, &g->cap_prop, st->n_proposals + 1,
			 sizeof *st->proposals)) {
		g->oom = 1;
		goto drop;
	}
	mt_gov_proposal *p = &st->proposals[st->n_proposals++];
	memset(p, 0, sizeof *p);
	mt_stmt_id_hex(p->id, s);
	memcpy(p->genesis, c->genesis, 65);
	snprintf(p->scope, sizeof p->scope, "%s", c->scope);
	snprintf(p->proposer, sizeof p->proposer, "%s", who);
	snprintf(p->iss, sizeof p->iss, "%s", s->iss);
	p->ts = s->ts;
	p->closes = closes;
	p->quorum = c->quorum;
	p->threshold = c->threshold;
	p->policy = pol;
	p->voters = voters;
	p->n_voters = nv;
	return;
drop:
	free(voters);
	mt_gov_policy_clear(&pol);
}

static mt_gov_proposal *proposal_by_id(mt_gov_state *st, const char *id)
{
	for (size_t i = 0; id && i < st->n_proposals; i++)
		if (strcmp(st->proposals[i].id, id) == 0)
			return &st->proposals[i];
	return NULL;
}

static void do_vote(struct gctx *g, const mt_replay_step *step, int64_t seen)
{
	const mt_stmt *s = step->st;
	const char *pid = mt_stmt_str(s, "proposal");
	char sp[20];
	short_id(sp, pid);
	mt_gov_proposal *p = proposal_by_id(g->st, pid);
	int late = p && seen > p->closes + MT_GOV_LATE_AFTER;
	if (!step->named) {
		refuse(g, s, pid, 0, "no proposal %s is held", sp);
		return;
	}
	if (!p) {
		refuse(g, s, pid, 0, "proposal %s had no effect", sp);
		return;
	}
	if (s->ts < p->ts) {
		refuse(g, s, pid, late, "ts %lld is before its proposal's ts %lld (SPEC §9.1)",
		       (long long)s->ts, (long long)p->ts);
		return;
	}
	if (s->ts > p->closes) {
		refuse(g, s, pid, late, "cast after proposal %s closed (ts %lld > closes %lld)", sp,
		       (long long)s->ts, (long long)p->closes);
		return;
	}
	const char *who = cid(g, s->iss);
	if (!is_voter(p, who)) {
		refuse(g, s, pid, late,
		       "%s is not a voter of proposal %s: not a member of %s for one period before "
		       "it",
		       who, sp, p->scope);
		return;
	}
	mt_gov_state *st = g->st;
	for (size_t i = 0; i < st->n_votes; i++) {
		mt_gov_vote *v = &st->votes[i];
		if (v->counted && strcmp(v->proposal, pid) == 0 && strcmp(v->voter, who) == 0) {
			v->counted = 0;
			if (v->yes)
				p->yes--;
			else
				p->no--;
		}
	}
	if (mt_pot__grow((void **)&st->votes, &g->cap_votes, st->n_votes + 1, sizeof *st->votes)) {
		g->oom = 1;
		return;
	}
	mt_gov_vote *v = &st->votes[st->n_votes++];
	mt_stmt_id_hex(v->stmt, s);
	memcpy(v->proposal, p->id, 65);
	snprintf(v->voter, sizeof v->voter, "%s", who);
	snprintf(v->iss, sizeof v->iss, "%s", s->iss);
	v->ts = s->ts;
	v->yes = strcmp(mt_stmt_str(s, "choice"), "yes") == 0;
	v->counted = 1;
	v->late = late;
	if (v->yes)
		p->yes++;
	else
		p->no++;
}

static int decide_order(const void *a, const void *b)
{
	const mt_gov_proposal *x = *(const mt_gov_proposal *const *)a,
			      *y = *(const mt_gov_proposal *const *)b;
	if (x->closes != y->closes)
		return x->closes < y->closes ? -1 : 1;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int prop_order(const void *a, const void *b)
{
	const mt_gov_proposal *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int comm_order(const void *a, const void *b)
{
	return strcmp(((const mt_gov_community *)a)->genesis,
		      ((const mt_gov_community *)b)->genesis);
}

/* Outcomes at `at`, then each community's policy, passed proposals in
 * (closes, ts, id) order. */
static int decide(struct gctx *g)
{
	mt_gov_state *st = g->st;
	for (size_t i = 0; i < st->n_proposals; i++) {
		mt_gov_proposal *p = &st->proposals[i];
		int64_t cast = p->yes + p->no;
		if (p->closes > st->at)
			p->outcome = MT_GOV_OPEN;
		else if (cast >= 1 && cast * 1000 >= p->quorum * (int64_t)p->n_voters &&
			 p->yes * 1000 >= p->threshold * cast)
			p->outcome = MT_GOV_PASSED;
		else
			p->outcome = MT_GOV_FAILED;
	}
	mt_pot__sort_n(st->proposals, st->n_proposals, sizeof *st->proposals, prop_order);
	mt_gov_proposal **order = malloc((st->n_proposals + 1) * sizeof *order);
	if (!order)
		return MT_ENOMEM;
	for (size_t i = 0; i < st->n_proposals; i++)
		order[i] = &st->proposals[i];
	mt_pot__sort_n(order, st->n_proposals, sizeof *order, decide_order);
	int rc = 0;
	for (size_t ci = 0; !rc && ci < st->n_communities; ci++) {
		mt_gov_community *c = &st->communities[ci];
		for (size_t i = 0; !rc && i < st->n_proposals; i++) {
			mt_gov_proposal *p = order[i];
			if (strcmp(p->genesis, c->genesis) != 0 || p->outcome == MT_GOV_OPEN)
				continue;
			if (p->outcome == MT_GOV_PASSED)
				rc = policy_apply(&c->policy, &p->policy, p->id);
			if (!rc)
				rc = mt_gov_policy_copy(&p->after, &c->policy);
		}
		for (size_t i = 0; !rc && i < st->n_proposals; i++)
			if (order[i]->outcome == MT_GOV_OPEN &&
			    strcmp(order[i]->genesis, c->genesis) == 0)
				rc = mt_gov_policy_copy(&order[i]->after, &c->policy);
	}
	free(order);
	mt_pot__sort_n(st->communities, st->n_communities, sizeof *st->communities, comm_order);
	return rc;
}

void mt_gov_state_free(mt_gov_state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n_communities; i++)
		mt_gov_policy_clear(&st->communities[i].policy);
	for (size_t i = 0; i < st->n_proposals; i++) {
		mt_gov_policy_clear(&st->proposals[i].policy);
		mt_gov_policy_clear(&st->proposals[i].after);
		free(st->proposals[i].voters);
	}
	free(st->communities);
	free(st->proposals);
	free(st->votes);
	free(st->refusals);
	free(st);
}

static int gov_type(mt_stmt_type t)
{
	return t == MT_ST_GENESIS || t == MT_ST_POT_OPEN || t == MT_ST_POT_COMMIT ||
	       t == MT_ST_POT_REVEAL || t == MT_ST_POT_CLAIM || t == MT_ST_PROPOSAL ||
	       t == MT_ST_VOTE;
}

int mt_gov_derive(mt_gov_state **out, const mt_stmt *const *stmts, size_t n, int64_t at,
		  const mt_pot_alias *aliases, size_t n_aliases, const int64_t *seen,
		  mt_error *err)
{
	*out = NULL;
	struct gctx g = {0};
	g.aliases = aliases;
	g.n_aliases = aliases ? n_aliases : 0;
	const mt_stmt **list = NULL;
	int64_t *list_seen = NULL;
	mt_replay_step *steps = NULL;
	size_t m = 0, nsteps = 0;
	g.st = calloc(1, sizeof *g.st);
	if (!g.st || (n && (!(list = malloc(n * sizeof *list)) ||
			    !(list_seen = malloc(n * sizeof *list_seen)))))
		goto oom;
	g.st->at = at;
	for (size_t i = 0; i < n; i++)
		if (stmts[i] && gov_type(stmts[i]->type) && stmts[i]->ts <= at) {
			list_seen[m] = seen ? seen[i] : stmts[i]->ts;
			list[m++] = stmts[i];
		}
	if (mt_pot__replay_order(&steps, &nsteps, list, m, NULL))
		goto oom;
	for (size_t i = 0; i < nsteps && !g.oom; i++) {
		const mt_stmt *s = steps[i].st;
		if (s->type == MT_ST_GENESIS) {
			if (!community_of(&g, s))
				goto oom;
		} else if (s->type == MT_ST_PROPOSAL) {
			do_proposal(&g, steps, i);
		} else if (s->type == MT_ST_VOTE) {
			/* the first-seen time of this statement (the replay keeps
			 * one of duplicates: any copy's time is the statement's) */
			int64_t when = s->ts;
			for (size_t k = 0; seen && k < m; k++)
				if (list[k] == s) {
					when = list_seen[k];
					break;
				}
			do_vote(&g, &steps[i], when);
		}
	}
	if (g.oom || decide(&g))
		goto oom;
	free(list);
	free(list_seen);
	free(steps);
	*out = g.st;
	return 0;
oom:
	free(list);
	free(list_seen);
	free(steps);
	mt_gov_state_free(g.st);
	return mt_error_set(err, MT_ENOMEM, "governance: out of memory deriving %zu statements",
			    n);
}

/* ---- lookups ------------------------------------------------------------- */

const mt_gov_proposal *mt_gov_proposal_get(const mt_gov_state *st, const char *id,
					   int *ambiguous)
{
	if (ambiguous)
		*ambiguous = 0;
	if (!st || !id)
		return NULL;
	size_t len = strlen(id);
	const mt_gov_proposal *hit = NULL;
	for (size_t i = 0; i < st->n_proposals; i++) {
		const mt_gov_proposal *p = &st->proposals[i];
		if (strcmp(p->id, id) == 0)
			return p;
		if (len >= 8 && len < 64 && strncmp(p->id, id, len) == 0) {
			if (hit) {
				if (ambiguous)
					*ambiguous = 1;
				return NULL;
			}
			hit = p;
		}
	}
	return hit;
}

const mt_gov_community *mt_gov_community_get(const mt_gov_state *st, const char *genesis)
{
	for (size_t i = 0; st && genesis && i < st->n_communities; i++)
		if (strcmp(st->communities[i].genesis, genesis) == 0)
			return &st->communities[i];
	return NULL;
}

const mt_gov_refusal *mt_gov_refusal_get(const mt_gov_state *st, const char *stmt_id)
{
	for (size_t i = 0; st && stmt_id && i < st->n_refusals; i++)
		if (strcmp(st->refusals[i].stmt, stmt_id) == 0)
			return &st->refusals[i];
	return NULL;
}

const mt_gov_proposal *mt_gov_open_proposal(const mt_gov_state *st, const char *genesis,
					    const char *member, int64_t t)
{
	return st && genesis && member ? open_of(st, genesis, member, t) : NULL;
}
