/* mesh policy show|eval|check: the policy oracle from the command line. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_gov.h"
#include "opts.h"
#include "config.h"
#include "meshtrust/engine.h"
#include "meshtrust/metrics.h"
#include "meshtrust/config.h"
#include "meshtrust/policy.h"

int mesh_metrics_compute(mesh_ctx *ctx, const char *scope, int64_t at, uint32_t sample_k,
			 mt_metrics_result **out, char digest[65]);

/* The effective policy: $MESH_HOME/policy.toml (or the defaults), then the
 * config keys policy.maxGini / policy.enforceGini when they are set. */
int mesh_load_policy(mesh_ctx *ctx, mt_policy **out, char *source, size_t source_len)
{
	char path[4300];
	int rc = mesh_check_home(ctx);
	if (rc)
		return rc;
	snprintf(path, sizeof path, "%s/policy.toml", ctx->home);
	mt_error err = {0};
	int r = mt_policy_load(out, path, &err);
	if (r == MT_ENOTFOUND) {
		if (mt_policy_default(out) != 0)
			return mesh_fail("out of memory");
		snprintf(source, source_len, "defaults (no %s)", path);
	} else if (r) {
		return mesh_fail_err(&err);
	} else {
		snprintf(source, source_len, "%s", path);
	}
	rc = mesh_open_store(ctx);
	if (rc)
		return rc;
	/* through the configuration registry (validated), only where set */
	char *v = NULL;
	int fail = 0;
	if (mt_store_config_get(ctx->store, "policy.maxGini", &v, NULL) == 0 && v)
		fail = mt_config_double(ctx->store, "policy.maxGini", &(*out)->max_gini, &err);
	free(v);
	v = NULL;
	if (!fail && mt_store_config_get(ctx->store, "policy.enforceGini", &v, NULL) == 0 && v)
		fail = mt_config_bool(ctx->store, "policy.enforceGini", &(*out)->enforce_gini, &err);
	free(v);
	if (fail) {
		mt_policy_free(*out);
		*out = NULL;
		return mesh_fail_err(&err);
	}
	return EXIT_OK;
}

#define SHOW_USAGE "mesh policy show [--scope S] [--json]"

static const mesh_opt SHOW_OPTS[] = {
	MESH_OPT_SCOPE_H("the scope whose policy in force to show (default global)"),
	MESH_OPT_JSON_H("print the policy in force, each value's source and the overrides as "
			"JSON"),
	MESH_OPT_END};
static const mesh_spec SHOW_SPEC = {
	SHOW_USAGE,
	"The policy in force for a scope (SPEC §9.3): this node's own\n($MESH_HOME/policy.toml or "
	"the defaults, with policy.maxGini /\npolicy.enforceGini from `mesh config`), with the "
	"passed proposals of the\ncommunity bound to the scope over it where they are no looser "
	"(or\npolicy.acceptLooser on). Each value says where it comes from; a local value\nkept "
	"against a differing community value is an override. Format:\ndocs/policy.md, "
	"docs/governance.md.",
	SHOW_OPTS, 0, 0, NULL, NULL};

static int policy_show(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int prc = mesh_parse_args(&SHOW_SPEC, argc, argv, &a);
	if (prc != MESH_ARGS_RUN)
		return prc;
	int json = mesh_args_count(&a, 'j') > 0;
	const char *scope = mesh_args_get(&a, 'S', "global");
	mt_error err = {0};
	if (mt_scope_check(scope, "--scope", &err))
		return mesh_usage(SHOW_USAGE, "%s", err.msg);
	mt_policy *p = NULL;
	json_t *doc = NULL;
	int rc = mesh_policy_in_force(ctx, scope, &p, &doc, NULL);
	if (rc)
		return rc;
	if (json) {
		json_t *o = mt_policy_to_json(p);
		json_object_update(o, doc); /* scope, community, values, overrides, … */
		json_object_del(o, "policy");
		json_object_set(o, "source",
				json_object_get(json_object_get(json_object_get(doc, "values"),
								"max_gini"),
						"source"));
		json_decref(doc);
		mt_policy_free(p);
		return mesh_print_json(o);
	}
	char *txt = NULL;
	if (mt_policy_format(&txt, p) != 0) {
		mt_policy_free(p);
		json_decref(doc);
		return mesh_fail("out of memory");
	}
	printf("# policy in force for %s", scope);
	const char *cg = json_string_value(json_object_get(doc, "community"));
	if (cg)
		printf(" (community %.16s…)", cg);
	putchar('\n');
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(doc, "values"), k, v)
	{
		printf("# %-16s from ", k);
		mesh_term_write(stdout, json_string_value(json_object_get(v, "source")),
				MESH_TERM_LINE);
		if (json_is_true(json_object_get(v, "override"))) {
			fputs(" — OVERRIDE: the community sets ", stdout);
			mesh_term_json(stdout, json_object_get(v, "community"), JSON_SORT_KEYS);
			fputs(" (looser; policy.acceptLooser off)", stdout);
		}
		putchar('\n');
	}
	mesh_term_write(stdout, txt, MESH_TERM_MULTILINE);
	free(txt);
	mt_policy_free(p);
	json_decref(doc);
	return EXIT_OK;
}

static int is_declared_bridge_cb(const char *iss, const char *scope, void *payload)
{
	(void)scope;
	const char **want = payload;
	if (*want && strcmp(iss, *want) == 0) {
		*want = NULL; /* found */
		return 1;
	}
	return 0;
}

#define EVAL_USAGE "mesh policy eval --peer ID [--scope S] [--json]"

static const mesh_opt EVAL_OPTS[] = {
	{"peer", MESH_ARG, "ID", "the peer making the request (required)", 'p'},
	MESH_OPT_SCOPE_H("the scope of the request (default global)"),
	MESH_OPT_JSON_H("print the decision as JSON"), MESH_OPT_END};
static const mesh_spec EVAL_SPEC = {
	EVAL_USAGE,
	"What the policy oracle decides for a request by --peer in the scope: this\nnode's trust "
	"score in the peer, the scope's gini and top-10% share, a\ndeclared (or undeclared: "
	"trusted in 2+ scopes) bridge, under the policy in\nforce for the scope (`mesh policy "
	"show --scope S`) → the constraint set the\nkernel would enforce, with the reason.",
	EVAL_OPTS, 0, 0, NULL, NULL};

static int policy_eval(mesh_ctx *ctx, int argc, char **argv)
{
	const char *peer_arg = NULL, *scope = "global";
	int json = 0, rc;
	mt_error err = {0};
	mesh_args a;
	if ((rc = mesh_parse_args(&EVAL_SPEC, argc, argv, &a)) != MESH_ARGS_RUN)
		return rc;
	for (int i = 0; i < a.n_opt; i++) {
		const char *v = a.opt[i].val;
		if (a.opt[i].id == 'p')
			peer_arg = v;
		else if (a.opt[i].id == 'S') {
			if (mt_scope_check(v, "--scope", &err))
				return mesh_usage(EVAL_USAGE, "%s", err.msg);
			scope = v;
		} else
			json = 1;
	}
	if (!peer_arg)
		return mesh_usage(EVAL_USAGE, "--peer ID is required");
	char peer[MT_NODE_ID_MAX];
	if (mesh_resolve_id_at(ctx, peer, peer_arg, "--peer"))
		return EXIT_USAGE;
	mt_policy *p = NULL;
	mt_gov_policy approved;
	if ((rc = mesh_policy_in_force(ctx, scope, &p, NULL, &approved)) ||
	    (rc = mesh_load_id(ctx)))
		goto done;
	/* The peer's score from this node's viewpoint. */
	int depth;
	double decay[MESH_MAX_DECAY];
	size_t nd;
	if ((rc = mesh_config_trust(ctx, &depth, decay, &nd)))
		goto done;
	mt_edge_in *edges = NULL;
	size_t n = 0;
	mt_engine *e = NULL;
	if (mt_store_edges(ctx->store, &edges, &n, INT64_MAX, &err) != 0 ||
	    mt_engine_new(&e, edges, n, &err) != 0) {
		free(edges);
		rc = mesh_fail_err(&err);
		goto done;
	}
	/* trusted in two or more scopes (current full/limited edges into it) */
	const char *first_scope = NULL;
	int multi = 0;
	for (size_t i = 0; i < n && !multi; i++)
		if (strcmp(edges[i].dst, peer) == 0 && edges[i].level != MT_LEVEL_NONE &&
		    (edges[i].exp == 0 || edges[i].exp > ctx->now)) {
			if (!first_scope)
				first_scope = edges[i].scope;
			else if (strcmp(first_scope, edges[i].scope) != 0)
				multi = 1;
		}
	free(edges);
	mt_trust_query q = {ctx->node_id, scope, ctx->now, depth, decay, nd};
	mt_trust_path *tp = NULL;
	if (mt_engine_path(&tp, e, &q, peer, &err) != 0) {
		mt_engine_free(e);
		rc = mesh_fail_err(&err);
		goto done;
	}
	mt_engine_free(e);
	mt_metrics_result *m = NULL;
	char digest[65];
	if ((rc = mesh_metrics_compute(ctx, scope, ctx->now, 1, &m, digest))) {
		mt_trust_path_free(tp);
		goto done;
	}
	const char *want = peer;
	mt_store_bridges(ctx->store, is_declared_bridge_cb, &want, NULL);
	mt_policy_input in = {.peer = peer,
			      .scope = scope,
			      .score = tp->found ? tp->score : 0.0,
			      .has_path = tp->found,
			      .is_bridge = want == NULL,
			      .scope_gini = m->node_count ? m->gini : -1.0,
			      .multi_scope = multi,
			      .approved_bridge = mt_gov_policy_approves(&approved, peer),
			      .has_top10 = m->node_count > 0,
			      .scope_top10 = m->top_10_percent_share};
	mt_policy_decision d;
	if (mt_policy_eval(&d, p, &in, &err) != 0) {
		rc = mesh_fail_err(&err);
	} else if (json) {
		json_t *o = mt_policy_decision_to_json(&d);
		json_object_set_new(o, "peer", json_string(peer));
		json_object_set_new(o, "scope", json_string(scope));
		json_object_set_new(o, "score", json_real(in.score));
		json_object_set_new(o, "bridge", json_boolean(in.is_bridge));
		json_object_set_new(o, "undeclared_bridge", json_boolean(!in.is_bridge && multi));
		json_object_set_new(o, "approved_bridge", json_boolean(in.approved_bridge));
		json_object_set_new(o, "top_10_percent_share", json_real(m->top_10_percent_share));
		json_object_set_new(o, "gini", json_real(m->gini));
		json_object_set_new(o, "digest", json_string(digest));
		rc = mesh_print_json(o);
	} else {
		printf("peer %s in scope %s: score %.4f%s, scope gini %.4f\n", peer, scope, in.score,
		       in.is_bridge ? " (declared bridge)" : "", m->gini);
		if (d.constraints.allow)
			printf("ALLOW tier %d: %.0f/s burst %u, max %u topics, %u connections\n",
			       d.tier, d.constraints.per_second, d.constraints.burst,
			       d.constraints.max_topics, d.constraints.max_connections);
		else
			printf("DENY\n");
		fputs("reason: ", stdout);
		mesh_term_write(stdout, d.constraints.reason, MESH_TERM_LINE);
		putchar('\n');
		if (d.flagged) {
			fputs("alert: ", stdout);
			mesh_term_write(stdout, d.alert, MESH_TERM_LINE);
			putchar('\n');
		}
	}
	mt_metrics_result_free(m);
	mt_trust_path_free(tp);
done:
	mt_gov_policy_clear(&approved);
	mt_policy_free(p);
	return rc;
}

#define CHECK_USAGE "mesh policy check FILE"

static const mesh_spec CHECK_SPEC = {
	CHECK_USAGE, "Validate a policy file; errors name the line and the reason.", NULL, 1, 1,
	"one FILE", NULL};

static int policy_check(mesh_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	mesh_args a;
	int rc = mesh_parse_args(&CHECK_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	const char *file = a.pos[0];
	mt_policy *p = NULL;
	mt_error err = {0};
	if (mt_policy_load(&p, file, &err) != 0)
		return mesh_fail_err(&err);
	mt_policy_free(p);
	printf("%s: OK\n", file);
	return EXIT_OK;
}

int cmd_policy(mesh_ctx *ctx, int argc, char **argv)
{
	static const mesh_cmd cmds[] = {
		{"show", policy_show, "the effective policy"},
		{"eval", policy_eval, "the decision and constraint set for a peer"},
		{"check", policy_check, "validate a policy file"},
		{NULL, NULL, NULL}};
	return mesh_dispatch(ctx, "policy", cmds, argc, argv);
}
