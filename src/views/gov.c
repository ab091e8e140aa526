/* Governance views (SPEC §9.3): a proposal's document, and the policy in
 * force for a scope — the node's own policy with its community's over it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/views.h"

json_t *mt_view_proposal(const mt_gov_state *st, const mt_gov_proposal *p)
{
	json_t *voters = json_array(), *votes = json_array(), *refused = json_array();
	for (size_t i = 0; voters && i < p->n_voters; i++)
		json_array_append_new(voters, json_string(p->voters[i]));
	for (size_t i = 0; votes && i < st->n_votes; i++) {
		const mt_gov_vote *v = &st->votes[i];
		if (strcmp(v->proposal, p->id) == 0)
			json_array_append_new(
				votes, json_pack("{s:s,s:s,s:s,s:s,s:I,s:b,s:b}", "statement", v->stmt,
						 "voter", v->voter, "iss", v->iss, "choice",
						 v->yes ? "yes" : "no", "ts", (json_int_t)v->ts,
						 "counted", v->counted, "late", v->late));
	}
	for (size_t i = 0; refused && i < st->n_refusals; i++) {
		const mt_gov_refusal *r = &st->refusals[i];
		if (r->type == MT_ST_VOTE && strcmp(r->proposal, p->id) == 0)
			json_array_append_new(refused,
					      json_pack("{s:s,s:s,s:I,s:s,s:b}", "statement", r->stmt,
							"iss", r->iss, "ts", (json_int_t)r->ts,
							"reason", r->reason, "late", r->late));
	}
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:o*,s:{s:I,s:I,s:I},s:I,s:o*,s:I,s:I,s:s,"
			 "s:o*,s:o*,s:o*}",
			 "proposal", p->id, "genesis", p->genesis, "scope", p->scope, "proposer",
			 p->proposer, "iss", p->iss, "ts", (json_int_t)p->ts, "closes",
			 (json_int_t)p->closes, "policy", mt_gov_policy_json(&p->policy, 0), "tally",
			 "yes", (json_int_t)p->yes, "no", (json_int_t)p->no, "voters",
			 (json_int_t)p->n_voters, "cast", (json_int_t)(p->yes + p->no), "voters",
			 voters, "quorum", (json_int_t)p->quorum, "threshold",
			 (json_int_t)p->threshold, "outcome", mt_gov_outcome_name(p->outcome),
			 "policy_after", mt_gov_policy_json(&p->after, 1), "votes", votes,
			 "refused_votes", refused);
}

/* A tier table's (rate, burst) at score s (0 when denied). */
static void grant(const mt_policy_tier *t, size_t n, double s, double *rate, double *burst)
{
	*rate = 0;
	*burst = 0;
	if (s <= 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (s >= t[i].min_score) {
			*rate = t[i].per_second;
			*burst = t[i].burst;
			return;
		}
}

/* Whether table `c` grants no score more rate or burst than `l` does. Both
 * are step functions changing only at their min_scores (a tier holds from
 * its min_score up), so checking at every min_score, and just above 0, is
 * checking everywhere. */
static int no_looser(const mt_policy_tier *c, size_t nc, const mt_policy_tier *l, size_t nl)
{
	double pts[2 * MT_POLICY_MAX_TIERS + 1];
	size_t n = 0;
	pts[n++] = 1e-9;
	for (size_t i = 0; i < nc; i++)
		pts[n++] = c[i].min_score;
	for (size_t i = 0; i < nl; i++)
		pts[n++] = l[i].min_score;
	for (size_t i = 0; i < n; i++) {
		double cr, cb, lr, lb;
		grant(c, nc, pts[i], &cr, &cb);
		grant(l, nl, pts[i], &lr, &lb);
		if (cr > lr || cb > lb)
			return 0;
	}
	return 1;
}

static json_t *tiers_json(const mt_policy_tier *t, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_pack("{s:f,s:f,s:I}", "min_score", t[i].min_score,
						   "per_second", t[i].per_second, "burst",
						   (json_int_t)t[i].burst));
	return a;
}

/* One entry of "values". `community` may be NULL (the community sets no such
 * key); consumes the json values. */
static void value(json_t *values, json_t *overrides, const char *key, json_t *in_force,
		  const char *source, json_t *local, json_t *community, int override)
{
	json_object_set_new(values, key,
			    json_pack("{s:o,s:s,s:o,s:o,s:b}", "value", in_force, "source", source,
				      "local", local, "community",
				      community ? community : json_null(), "override", override));
	if (override)
		json_array_append_new(overrides, json_string(key));
}

int mt_view_policy_in_force(mt_policy *out, json_t **doc, const char *scope,
			    const mt_policy *local, const char *local_source,
			    const mt_gov_community *c, int accept_looser)
{
	*out = *local;
	const mt_gov_policy *g = c ? &c->policy : NULL;
	char src[MT_GOV_K__COUNT][MT_POLICY_SOURCE_MAX];
	for (int k = 0; k < MT_GOV_K__COUNT; k++)
		snprintf(src[k], sizeof src[k], "community %.40s proposal %.16s", c ? c->scope : "",
			 g ? g->source[k] : "");
	int set[MT_GOV_K__COUNT] = {0}, used[MT_GOV_K__COUNT] = {0};
	for (int k = 0; g && k < MT_GOV_K__COUNT; k++)
		set[k] = (g->set & MT_GOV_SET(k)) != 0;

	double cg = set[MT_GOV_K_MAX_GINI] ? (double)g->max_gini / 1000.0 : 0;
	if (set[MT_GOV_K_MAX_GINI] && (accept_looser || cg <= local->max_gini)) {
		out->max_gini = cg;
		used[MT_GOV_K_MAX_GINI] = 1;
		snprintf(out->max_gini_source, sizeof out->max_gini_source, "%s",
			 src[MT_GOV_K_MAX_GINI]);
	}
	int ce = set[MT_GOV_K_ENFORCE_GINI] && g->enforce_gini;
	if (set[MT_GOV_K_ENFORCE_GINI] && (accept_looser || ce >= local->enforce_gini)) {
		out->enforce_gini = ce;
		used[MT_GOV_K_ENFORCE_GINI] = 1;
	}
	double ct = set[MT_GOV_K_MAX_TOP10] ? (double)g->max_top10_share / 1000.0 : 0;
	if (set[MT_GOV_K_MAX_TOP10] && (accept_looser || ct <= local->max_top10_share)) {
		out->max_top10_share = ct;
		used[MT_GOV_K_MAX_TOP10] = 1;
		snprintf(out->max_top10_source, sizeof out->max_top10_source, "%s",
			 src[MT_GOV_K_MAX_TOP10]);
	}
	mt_policy_tier ctiers[MT_POLICY_MAX_TIERS];
	size_t nct = 0;
	if (set[MT_GOV_K_TIERS]) {
		nct = g->n_tiers < MT_POLICY_MAX_TIERS ? g->n_tiers : MT_POLICY_MAX_TIERS;
		for (size_t i = 0; i < nct; i++) {
			ctiers[i].min_score = (double)g->tiers[i].min_score / 1000.0;
			ctiers[i].per_second = (double)g->tiers[i].rate;
			ctiers[i].burst = (uint32_t)(g->tiers[i].burst > UINT32_MAX ? UINT32_MAX
										 : g->tiers[i].burst);
		}
		if (accept_looser || no_looser(ctiers, nct, local->tiers, local->tier_count)) {
			out->tier_count = nct;
			memcpy(out->tiers, ctiers, nct * sizeof *ctiers);
			used[MT_GOV_K_TIERS] = 1;
			snprintf(out->tiers_source, sizeof out->tiers_source, "%s",
				 src[MT_GOV_K_TIERS]);
		}
	}
	if (!doc)
		return 0;
	*doc = NULL;
	json_t *values = json_object(), *overrides = json_array();
	if (!values || !overrides) {
		json_decref(values);
		json_decref(overrides);
		return MT_ENOMEM;
	}
	const char *ls = local_source ? local_source : "local";
#define SRC(k) (used[k] ? src[k] : ls)
#define OVR(k) (set[k] && !used[k])
	value(values, overrides, "max_gini", json_real(out->max_gini), SRC(MT_GOV_K_MAX_GINI),
	      json_real(local->max_gini), set[MT_GOV_K_MAX_GINI] ? json_real(cg) : NULL,
	      OVR(MT_GOV_K_MAX_GINI));
	value(values, overrides, "enforce_gini", json_boolean(out->enforce_gini),
	      SRC(MT_GOV_K_ENFORCE_GINI), json_boolean(local->enforce_gini),
	      set[MT_GOV_K_ENFORCE_GINI] ? json_boolean(ce) : NULL, OVR(MT_GOV_K_ENFORCE_GINI));
	value(values, overrides, "max_top10_share", json_real(out->max_top10_share),
	      SRC(MT_GOV_K_MAX_TOP10), json_real(local->max_top10_share),
	      set[MT_GOV_K_MAX_TOP10] ? json_real(ct) : NULL, OVR(MT_GOV_K_MAX_TOP10));
	value(values, overrides, "tiers", tiers_json(out->tiers, out->tier_count),
	      SRC(MT_GOV_K_TIERS), tiers_json(local->tiers, local->tier_count),
	      set[MT_GOV_K_TIERS] ? tiers_json(ctiers, nct) : NULL, OVR(MT_GOV_K_TIERS));
	json_t *bridges = NULL;
	if (set[MT_GOV_K_BRIDGES]) {
		bridges = json_array();
		for (size_t i = 0; bridges && i < g->n_bridges; i++)
			json_array_append_new(bridges, json_string(g->bridges[i]));
	}
	value(values, overrides, "bridges", bridges ? json_incref(bridges) : json_null(),
	      set[MT_GOV_K_BRIDGES] ? src[MT_GOV_K_BRIDGES] : ls, json_null(), bridges, 0);
#undef SRC
#undef OVR
	*doc = json_pack("{s:s,s:s?,s:b,s:o*,s:o,s:o}", "scope", scope ? scope : "global",
			 "community", c ? c->genesis : NULL, "accept_looser", accept_looser,
			 "policy", mt_policy_to_json(out), "values", values, "overrides",
			 overrides);
	return *doc ? 0 : MT_ENOMEM;
}
