/* mesh propose | vote | proposal list|show (SPEC §9.3), and the policy in
 * force for a scope, which `mesh policy` and `mesh metrics` read. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_gov.h"
#include "config.h"
#include "opts.h"
#include "meshtrust/config.h"
#include "meshtrust/pot.h"
#include "meshtrust/views.h"

/* Governance state of the local store at ctx->now (exit code). */
static int gov_state(mesh_ctx *ctx, mt_gov_state **out)
{
	int rc = mesh_open_store(ctx);
	if (rc)
		return rc;
	mt_error err = {0};
	if (mt_gov_derive_store(out, ctx->store, ctx->now, &err) != 0)
		return mesh_fail_err(&err);
	return EXIT_OK;
}

/* The genesis bound to `scope` here (the `community join` binding, else the
 * first genesis claiming the label), "" when none. Exit code. */
static int bound_genesis(mesh_ctx *ctx, const char *scope, char out[65])
{
	out[0] = '\0';
	int rc = mesh_open_store(ctx);
	if (rc)
		return rc;
	mt_pot_state *ps = NULL;
	mt_error err = {0};
	if (mt_pot_derive_store(&ps, ctx->store, ctx->now, &err) != 0)
		return mesh_fail_err(&err);
	const mt_pot_community *c = mt_pot_community_bound(ps, ctx->store, scope);
	if (c)
		memcpy(out, c->genesis, 65);
	mt_pot_state_free(ps);
	return EXIT_OK;
}

int mesh_policy_in_force(mesh_ctx *ctx, const char *scope, mt_policy **out, json_t **doc,
			 mt_gov_policy *approved)
{
	*out = NULL;
	if (doc)
		*doc = NULL;
	if (approved)
		memset(approved, 0, sizeof *approved);
	mt_policy *local = NULL;
	char source[4400], genesis[65];
	int rc = mesh_load_policy(ctx, &local, source, sizeof source);
	if (rc)
		return rc;
	int looser = 0;
	mt_error err = {0};
	mt_gov_state *gs = NULL;
	if ((rc = bound_genesis(ctx, scope, genesis)) || (rc = gov_state(ctx, &gs)))
		goto done;
	if (mt_config_bool(ctx->store, "policy.acceptLooser", &looser, &err) != 0) {
		rc = mesh_fail_err(&err);
		goto done;
	}
	const mt_gov_community *c = genesis[0] ? mt_gov_community_get(gs, genesis) : NULL;
	/* (no paths in the document: homes holding the same statements and
	 * configuration show the same one) */
	const char *label = strncmp(source, "defaults", 8) == 0 ? "local (defaults, mesh config)"
								 : "local (policy.toml, mesh config)";
	*out = malloc(sizeof **out);
	if (!*out || mt_view_policy_in_force(*out, doc, scope, local, label, c, looser) != 0 ||
	    (approved && c && mt_gov_policy_copy(approved, &c->policy) != 0)) {
		mt_policy_free(*out);
		*out = NULL;
		rc = mesh_fail("out of memory");
		goto done;
	}
	if (doc && genesis[0] && !c) /* a community without governance yet */
		json_object_set_new(*doc, "community", json_string(genesis));
done:
	mt_gov_state_free(gs);
	mt_policy_free(local);
	return rc;
}

/* ---- mesh propose ------------------------------------------------------ */

#define PROPOSE_USAGE "mesh propose --scope S --set KEY=VALUE… [--closes 7d] [--json]"

static const mesh_opt PROPOSE_OPTS[] = {
	MESH_OPT_SCOPE_H("the community's scope (required)"),
	{"set", MESH_ARG, "KEY=VALUE",
	 "a policy value (repeatable): max_gini=0.5, max_top10_share=0.3,\n"
	 "enforce_gini=on|off, tiers=MIN:RATE:BURST[,…] (e.g. 0.7:200:50,0:20:5),\n"
	 "bridges=ID[,ID…] (empty: none approved)",
	 's'},
	{"closes", MESH_ARG, "D", "voting closes after D (24h..30d, default 7d)", 'c'},
	MESH_OPT_JSON_H("print {proposal, genesis, scope, closes} as JSON"), MESH_OPT_END};
static const mesh_spec PROPOSE_SPEC = {
	PROPOSE_USAGE,
	"Propose a policy for the community bound to the scope: a signed\n`proposal` statement. "
	"Members of at least one period (and founders) may\npropose and vote, one open proposal "
	"each; it passes at its closing time\nwith the genesis' quorum and threshold "
	"(docs/governance.md).",
	PROPOSE_OPTS, 0, 0, NULL, NULL};

/* "0.5" (a share) or "500" (permille) → permille. */
static int permille_arg(json_int_t *out, const char *key, const char *v)
{
	char *end = NULL;
	double d = strtod(v, &end);
	if (!*v || *end || !(d >= 0))
		return mesh_usage(PROPOSE_USAGE, "--set %s=%s: not a number", key, v);
	if (d <= 1 && strchr(v, '.'))
		d *= 1000;
	else if (d == 1)
		d = 1000;
	if (d > 1000 || d != (double)(json_int_t)d)
		return mesh_usage(PROPOSE_USAGE,
				  "--set %s=%s: a share in [0, 1] with at most 3 decimals, or "
				  "0..1000 permille",
				  key, v);
	*out = (json_int_t)d;
	return EXIT_OK;
}

static int tiers_arg(json_t *policy, const char *v)
{
	json_t *tiers = json_array();
	char buf[1024];
	snprintf(buf, sizeof buf, "%s", v);
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *rate = strchr(t, ':'), *burst = rate ? strchr(rate + 1, ':') : NULL;
		json_int_t ms = 0;
		if (!rate || !burst) {
			json_decref(tiers);
			return mesh_usage(PROPOSE_USAGE, "--set tiers: \"%s\" is not MIN:RATE:BURST", t);
		}
		*rate++ = '\0';
		*burst++ = '\0';
		int64_t r = 0, b = 0;
		mt_error err = {0};
		if (permille_arg(&ms, "tiers", t) ||
		    mesh_parse_int(&r, rate, "tiers rate", 1, 1000000000, &err) ||
		    mesh_parse_int(&b, burst, "tiers burst", 1, 1000000000, &err)) {
			json_decref(tiers);
			return err.msg[0] ? mesh_usage(PROPOSE_USAGE, "%s", err.msg) : EXIT_USAGE;
		}
		json_array_append_new(tiers, json_pack("{s:I,s:I,s:I}", "min_score", ms, "rate",
						       (json_int_t)r, "burst", (json_int_t)b));
	}
	json_object_set_new(policy, "tiers", tiers);
	return EXIT_OK;
}

static int set_arg(mesh_ctx *ctx, json_t *policy, const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (!eq)
		return mesh_usage(PROPOSE_USAGE, "--set %s: expected KEY=VALUE", kv);
	char key[64];
	snprintf(key, sizeof key, "%.*s", (int)(eq - kv < 63 ? eq - kv : 63), kv);
	const char *v = eq + 1;
	json_int_t pm = 0;
	int rc;
	if (!strcmp(key, "max_gini") || !strcmp(key, "max_top10_share")) {
		if ((rc = permille_arg(&pm, key, v)))
			return rc;
		json_object_set_new(policy, key, json_integer(pm));
	} else if (!strcmp(key, "enforce_gini")) {
		int on = !strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "1");
		if (!on && strcmp(v, "off") && strcmp(v, "false") && strcmp(v, "0"))
			return mesh_usage(PROPOSE_USAGE, "--set enforce_gini=%s: on or off", v);
		json_object_set_new(policy, key, json_boolean(on));
	} else if (!strcmp(key, "tiers")) {
		return tiers_arg(policy, v);
	} else if (!strcmp(key, "bridges")) {
		json_t *b = json_array();
		char buf[4096];
		snprintf(buf, sizeof buf, "%s", v);
		for (char *save = NULL, *t = strtok_r(buf, ",", &save); t;
		     t = strtok_r(NULL, ",", &save)) {
			char id[MT_NODE_ID_MAX];
			int r = mesh_resolve_id_at(ctx, id, t, "--set bridges");
			if (r) {
				json_decref(b);
				return r;
			}
			json_array_append_new(b, json_string(id));
		}
		json_object_set_new(policy, key, b);
	} else {
		return mesh_usage(PROPOSE_USAGE,
				  "--set %s: unknown key (max_gini, enforce_gini, max_top10_share, "
				  "tiers, bridges)",
				  key);
	}
	return EXIT_OK;
}

/* Whether `me` (the newest ID of its chain) may propose or vote in `genesis`
 * now: a founder, or a member since at least one period. Exit code. */
static int voter_check(mesh_ctx *ctx, const char *genesis, const char *me, const char *what)
{
	mt_pot_state *ps = NULL;
	mt_error err = {0};
	if (mt_pot_derive_store(&ps, ctx->store, ctx->now, &err) != 0)
		return mesh_fail_err(&err);
	const mt_pot_community *c = mt_pot_community_get(ps, genesis);
	const mt_pot_member *m = c ? mt_pot_member_get(c, me) : NULL;
	int rc = EXIT_OK;
	if (!m)
		rc = mesh_fail("you (%s) are not a member of %s: only its members may %s", me,
			       c ? c->scope : genesis, what);
	else if (!m->founder && m->since > ctx->now - c->params.period) {
		char iso[32];
		mt_pot_iso(iso, m->since + c->params.period);
		rc = mesh_fail("you (%s) became a member of %s less than one period ago: you may %s "
			       "from %s",
			       me, c->scope, what, iso);
	}
	mt_pot_state_free(ps);
	return rc;
}

static int cmd_propose_run(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&PROPOSE_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	const char *scope = NULL;
	int64_t closes = 7 * 86400;
	int json = mesh_args_count(&a, 'j') > 0;
	mt_error err = {0};
	json_t *policy = json_object();
	for (int i = 0; i < a.n_opt; i++) {
		const char *v = a.opt[i].val;
		if (a.opt[i].id == 'S') {
			if (mt_scope_check(v, "--scope", &err)) {
				json_decref(policy);
				return mesh_usage(PROPOSE_USAGE, "%s", err.msg);
			}
			scope = v;
		} else if (a.opt[i].id == 's') {
			if ((rc = set_arg(ctx, policy, v))) {
				json_decref(policy);
				return rc;
			}
		} else if (a.opt[i].id == 'c') {
			if (mesh_parse_duration(&closes, v, "--closes", &err)) {
				json_decref(policy);
				return mesh_usage(PROPOSE_USAGE, "%s", err.msg);
			}
		}
	}
	if (!scope || !json_object_size(policy)) {
		json_decref(policy);
		return mesh_usage(PROPOSE_USAGE, "--scope S and at least one --set KEY=VALUE are required");
	}
	if (closes < MT_GOV_CLOSES_MIN || closes > MT_GOV_CLOSES_MAX) {
		json_decref(policy);
		return mesh_usage(PROPOSE_USAGE, "--closes must be 24h..30d");
	}
	if (mt_stmt_policy_check(policy, &err)) {
		json_decref(policy);
		return mesh_usage(PROPOSE_USAGE, "%s", err.msg);
	}
	char genesis[65], me[MT_NODE_ID_MAX];
	mt_gov_state *gs = NULL;
	if ((rc = mesh_load_key(ctx)) || (rc = bound_genesis(ctx, scope, genesis))) {
		json_decref(policy);
		return rc;
	}
	if (!genesis[0]) {
		json_decref(policy);
		return mesh_fail("no community is founded for %s (see `mesh community create`)",
				 scope);
	}
	if (mt_store_newest_id(ctx->store, ctx->node_id, me, &err) != 0) {
		json_decref(policy);
		return mesh_fail_err(&err);
	}
	if ((rc = voter_check(ctx, genesis, me, "propose")) || (rc = gov_state(ctx, &gs))) {
		json_decref(policy);
		return rc;
	}
	const mt_gov_proposal *open = mt_gov_open_proposal(gs, genesis, me, ctx->now);
	if (open) {
		char iso[32];
		mt_pot_iso(iso, open->closes);
		rc = mesh_fail("you already have an open proposal in %s: %s (closes %s); one at a "
			       "time",
			       scope, open->id, iso);
		mt_gov_state_free(gs);
		json_decref(policy);
		return rc;
	}
	mt_gov_state_free(gs);
	json_t *body = json_pack("{s:s,s:s,s:I,s:o}", "type", "proposal", "genesis", genesis,
				 "closes", (json_int_t)(ctx->now + closes), "policy", policy);
	mt_stmt *st = NULL;
	if ((rc = mesh_issue(ctx, body, &st)))
		return rc;
	char id[65], iso[32];
	mt_stmt_id_hex(id, st);
	int64_t cl = mt_stmt_int(st, "closes", 0);
	mt_pot_iso(iso, cl);
	if (json)
		rc = mesh_print_json(json_pack("{s:s,s:s,s:s,s:I,s:o*}", "proposal", id, "genesis",
					       genesis, "scope", scope, "closes", (json_int_t)cl,
					       "policy", mesh_stmt_member(st, "policy")));
	else
		printf("%s\nproposal %s in %s: voting closes %s\nnext: members run `mesh vote %s "
		       "yes|no`\n",
		       id, id, scope, iso, id);
	mt_stmt_free(st);
	return rc;
}

int cmd_propose(mesh_ctx *ctx, int argc, char **argv)
{
	return cmd_propose_run(ctx, argc, argv);
}

/* ---- mesh vote ----------------------------------------------------------- */

#define VOTE_USAGE "mesh vote PROPOSAL yes|no [--json]"

static const mesh_opt VOTE_OPTS[] = {MESH_OPT_JSON_H("print {vote, proposal, choice} as JSON"),
				     MESH_OPT_END};
static const mesh_spec VOTE_SPEC = {
	VOTE_USAGE,
	"Vote on a proposal (its id or a unique prefix of 8+ characters): a signed\n`vote` "
	"statement. Your last vote before the proposal closes counts.",
	VOTE_OPTS, 2, 2, "PROPOSAL and yes|no", NULL};

static const mt_gov_proposal *proposal_arg(const mt_gov_state *gs, const char *arg, int *rc)
{
	int amb = 0;
	const mt_gov_proposal *p = mt_gov_proposal_get(gs, arg, &amb);
	*rc = EXIT_OK;
	if (!p) {
		const mt_gov_refusal *r = mt_gov_refusal_get(gs, arg);
		*rc = amb ? mesh_fail("%s matches several proposals: give more characters", arg)
		      : r ? mesh_fail("proposal %s had no effect: %s", arg, r->reason)
			  : mesh_fail("no proposal %s is held", arg);
	}
	return p;
}

int cmd_vote(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&VOTE_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	const char *choice = a.pos[1];
	if (strcmp(choice, "yes") && strcmp(choice, "no"))
		return mesh_usage(VOTE_USAGE, "the choice must be yes or no, not \"%s\"", choice);
	mt_gov_state *gs = NULL;
	if ((rc = mesh_load_key(ctx)) || (rc = gov_state(ctx, &gs)))
		return rc;
	const mt_gov_proposal *p = proposal_arg(gs, a.pos[0], &rc);
	char me[MT_NODE_ID_MAX], id[65];
	mt_error err = {0};
	if (p && mt_store_newest_id(ctx->store, ctx->node_id, me, &err) != 0)
		rc = mesh_fail_err(&err);
	if (p && !rc) {
		char iso[32];
		mt_pot_iso(iso, p->closes);
		memcpy(id, p->id, 65);
		if (ctx->now > p->closes)
			rc = mesh_fail("proposal %.16s… closed at %s: a vote now has no effect", p->id,
				       iso);
		else if (!p->n_voters ||
			 !bsearch(me, p->voters, p->n_voters, sizeof *p->voters,
				  (int (*)(const void *, const void *))strcmp))
			rc = mesh_fail("you (%s) are not a voter of proposal %.16s…: its voters are "
				       "the members of %s of at least one period before it (and "
				       "founders)",
				       me, p->id, p->scope);
	}
	mt_gov_state_free(gs);
	if (rc)
		return rc;
	mt_stmt *st = NULL;
	if ((rc = mesh_issue(ctx,
			     json_pack("{s:s,s:s,s:s}", "type", "vote", "proposal", id, "choice",
				       choice),
			     &st)))
		return rc;
	char vid[65];
	mt_stmt_id_hex(vid, st);
	mt_stmt_free(st);
	if (mesh_args_count(&a, 'j'))
		return mesh_print_json(
			json_pack("{s:s,s:s,s:s}", "vote", vid, "proposal", id, "choice", choice));
	printf("voted %s on proposal %.16s… (vote %s)\n", choice, id, vid);
	return EXIT_OK;
}

/* ---- mesh proposal list|show ------------------------------------------- */

#define LIST_USAGE "mesh proposal list [--scope S] [--json]"
static const mesh_opt LIST_OPTS[] = {MESH_OPT_SCOPE_H("only the community bound to scope S"),
				     MESH_OPT_JSON_H("print {digest, at, proposals:[…]} as JSON"),
				     MESH_OPT_END};
static const mesh_spec LIST_SPEC = {
	LIST_USAGE, "Every proposal held that took effect, oldest first, with its tally and outcome.",
	LIST_OPTS, 0, 0, NULL, NULL};

#define SHOW_USAGE "mesh proposal show PROPOSAL [--json]"
static const mesh_opt SHOW_OPTS[] = {MESH_OPT_JSON_H("print the proposal document as JSON"),
				     MESH_OPT_END};
static const mesh_spec SHOW_SPEC = {
	SHOW_USAGE,
	"One proposal: what it sets, its voters, the tally against quorum and\nthreshold, the "
	"outcome, the community's policy in force after it, every vote\n(and every vote that had "
	"no effect, with why).",
	SHOW_OPTS, 1, 1, "one PROPOSAL", NULL};

static int with_digest(mesh_ctx *ctx, json_t *o)
{
	char digest[65];
	mt_error err = {0};
	if (mt_store_digest_hex(ctx->store, digest, NULL, &err) != 0) {
		json_decref(o);
		return mesh_fail_err(&err);
	}
	json_object_set_new(o, "digest", json_string(digest));
	json_object_set_new(o, "at", json_integer(ctx->now));
	return mesh_print_json(o);
}

static void print_policy(const char *label, const mt_gov_policy *p)
{
	json_t *j = mt_gov_policy_json(p, 0);
	fputs(label, stdout);
	if (!p->set)
		fputs("(nothing set: every node's own policy)", stdout);
	else
		mesh_term_json(stdout, j, JSON_SORT_KEYS);
	putchar('\n');
	json_decref(j);
}

static int proposal_list(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&LIST_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	const char *scope = mesh_args_get(&a, 'S', NULL);
	mt_error err = {0};
	if (scope && mt_scope_check(scope, "--scope", &err))
		return mesh_usage(LIST_USAGE, "%s", err.msg);
	char genesis[65] = "";
	mt_gov_state *gs = NULL;
	if ((scope && (rc = bound_genesis(ctx, scope, genesis))) || (rc = gov_state(ctx, &gs)))
		return rc;
	if (mesh_args_count(&a, 'j')) {
		json_t *doc = mt_view_proposals(gs, scope ? genesis : NULL);
		mt_gov_state_free(gs);
		return doc ? with_digest(ctx, doc) : mesh_fail("out of memory");
	}
	json_t *arr = json_array();
	if (!mesh_args_count(&a, 'j'))
		printf("%-16s  %-20s  %-6s  %4s %4s %6s  %-20s\n", "PROPOSAL", "SCOPE", "OUTCOME",
		       "YES", "NO", "VOTERS", "CLOSES");
	for (size_t i = 0; i < gs->n_proposals; i++) {
		const mt_gov_proposal *p = &gs->proposals[i];
		if (scope && strcmp(p->genesis, genesis) != 0)
			continue;
		if (mesh_args_count(&a, 'j')) {
			json_array_append_new(arr, mt_view_proposal(gs, p));
			continue;
		}
		char iso[32];
		mt_pot_iso(iso, p->closes);
		printf("%.16s  %-20s  %-6s  %4lld %4lld %6zu  %s\n", p->id, p->scope,
		       mt_gov_outcome_name(p->outcome), (long long)p->yes, (long long)p->no,
		       p->n_voters, iso);
	}
	mt_gov_state_free(gs);
	if (mesh_args_count(&a, 'j'))
		return with_digest(ctx, json_pack("{s:o}", "proposals", arr));
	json_decref(arr);
	return EXIT_OK;
}

static int proposal_show(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&SHOW_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	mt_gov_state *gs = NULL;
	if ((rc = gov_state(ctx, &gs)))
		return rc;
	const mt_gov_proposal *p = proposal_arg(gs, a.pos[0], &rc);
	if (!p) {
		mt_gov_state_free(gs);
		return rc;
	}
	if (mesh_args_count(&a, 'j')) {
		json_t *o = mt_view_proposal(gs, p);
		mt_gov_state_free(gs);
		return o ? with_digest(ctx, o) : mesh_fail("out of memory");
	}
	char iso[32], tiso[32];
	mt_pot_iso(iso, p->closes);
	mt_pot_iso(tiso, p->ts);
	int64_t cast = p->yes + p->no;
	printf("proposal %s\n  community %s (genesis %.16s…)\n  proposer  %s\n  proposed  %s\n"
	       "  closes    %s\n",
	       p->id, p->scope, p->genesis, p->proposer, tiso, iso);
	print_policy("  sets      ", &p->policy);
	printf("  tally     yes %lld, no %lld, cast %lld of %zu voters\n", (long long)p->yes,
	       (long long)p->no, (long long)cast, p->n_voters);
	printf("  quorum    %lld‰: %s (cast × 1000 = %lld, quorum × voters = %lld)\n",
	       (long long)p->quorum,
	       cast >= 1 && cast * 1000 >= p->quorum * (int64_t)p->n_voters ? "met" : "not met",
	       (long long)(cast * 1000), (long long)(p->quorum * (int64_t)p->n_voters));
	printf("  threshold %lld‰: %s (yes × 1000 = %lld, threshold × cast = %lld)\n",
	       (long long)p->threshold,
	       cast >= 1 && p->yes * 1000 >= p->threshold * cast ? "met" : "not met",
	       (long long)(p->yes * 1000), (long long)(p->threshold * cast));
	printf("  outcome   %s\n", mt_gov_outcome_name(p->outcome));
	print_policy(p->outcome == MT_GOV_OPEN ? "  in force now " : "  in force after ",
		     &p->after);
	for (size_t i = 0; i < gs->n_votes; i++) {
		const mt_gov_vote *v = &gs->votes[i];
		if (strcmp(v->proposal, p->id))
			continue;
		printf("  vote %-3s %s%s%s\n", v->yes ? "yes" : "no", v->voter,
		       v->counted ? "" : " (superseded)", v->late ? " (late)" : "");
	}
	for (size_t i = 0; i < gs->n_refusals; i++) {
		const mt_gov_refusal *r = &gs->refusals[i];
		if (r->type != MT_ST_VOTE || strcmp(r->proposal, p->id))
			continue;
		printf("  no effect %.16s… by %s%s: ", r->stmt, r->iss, r->late ? " (late)" : "");
		mesh_term_write(stdout, r->reason, MESH_TERM_LINE);
		putchar('\n');
	}
	mt_gov_state_free(gs);
	return EXIT_OK;
}

int cmd_proposal(mesh_ctx *ctx, int argc, char **argv)
{
	static const mesh_cmd cmds[] = {
		{"list", proposal_list, "proposals held, with tally and outcome"},
		{"show", proposal_show, "one proposal: tally, quorum, outcome, policy after it"},
		{NULL, NULL, NULL}};
	return mesh_dispatch(ctx, "proposal", cmds, argc, argv);
}
