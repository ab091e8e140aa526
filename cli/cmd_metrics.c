/* mesh metrics: centralization metrics of one scope (SPEC §4, §8). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_gov.h"
#include "opts.h"
#include "meshtrust/views.h"
#include "config.h"
#include "meshtrust/metrics.h"
#include "meshtrust/pot.h"

/* With `members` (a community's roster, may be NULL) only edges among them. */
static int metrics_compute(mesh_ctx *ctx, const char *scope, int64_t at, uint32_t sample_k,
			   const char *const *members, size_t n_members, mt_metrics_result **out,
			   char digest[65]);

int mesh_metrics_compute(mesh_ctx *ctx, const char *scope, int64_t at, uint32_t sample_k,
			 mt_metrics_result **out, char digest[65])
{
	return metrics_compute(ctx, scope, at, sample_k, NULL, 0, out, digest);
}

static int metrics_compute(mesh_ctx *ctx, const char *scope, int64_t at, uint32_t sample_k,
			   const char *const *members, size_t n_members, mt_metrics_result **out,
			   char digest[65])
{
	int rc = mesh_open_store(ctx);
	if (rc)
		return rc;
	char *cap = NULL, *capd = NULL;
	if ((rc = mesh_config_value(ctx, "metrics.cap", &cap)) ||
	    (rc = mesh_config_value(ctx, "metrics.capDecay", &capd))) {
		free(cap);
		return rc;
	}
	mt_metrics_opts o;
	mt_metrics_opts_init(&o);
	o.scope = scope;
	o.at = at;
	o.cap = (uint32_t)strtoul(cap, NULL, 10);
	o.cap_decay = strtod(capd, NULL);
	o.sample_k = sample_k;
	o.members = members;
	o.member_count = n_members;
	free(cap);
	free(capd);
	mesh_progress prog;
	mesh_progress_init(&prog, "betweenness", 0);
	o.progress = mesh_progress_cb;
	o.progress_payload = &prog;
	mt_error err = {0};
	mt_edge_in *edges = NULL;
	size_t n = 0;
	if (mt_store_digest_hex(ctx->store, digest, NULL, &err) != 0 ||
	    mt_store_edges(ctx->store, &edges, &n, at == ctx->now ? INT64_MAX : at, &err) != 0)
		return mesh_fail_err(&err);
	int r = mt_metrics_compute(out, edges, n, &o, &err);
	mesh_progress_end(&prog);
	free(edges);
	return r ? mesh_fail_err(&err) : EXIT_OK;
}

#define METRICS_USAGE                                                                              \
	"mesh metrics [--scope S] [--per-node] [--top N] [--sample K] [--at T] [--json]"

static const mesh_opt METRICS_OPTS[] = {
	MESH_OPT_SCOPE_H("the scope (default global)"),
	{"per-node", MESH_NOARG, NULL, "every node's inbound trust and betweenness", 'p'},
	{"top", MESH_ARG, "N", "top nodes by each (default 5)", 't'},
	{"sample", MESH_ARG, "K", "betweenness from K fixed-seed sources, scaled (big scopes)", 'k'},
	MESH_OPT_AT,
	{"members", MESH_NOARG, NULL, "only edges among the members of the scope's community", 'm'},
	MESH_OPT_JSON_H("print the metrics document as JSON"), MESH_OPT_END};
static const mesh_spec METRICS_SPEC = {
	METRICS_USAGE,
	"Centralization of one scope over its trust edges (full or limited,\nunexpired): "
	"node_count, total_inbound_trust, gini, top_10_percent_share,\nBrandes betweenness "
	"(directed, unnormalised: max, mean, std_dev), on all cores.\nAn alert line when gini "
	"exceeds policy.maxGini.",
	METRICS_OPTS, 0, 0, NULL, NULL};

int cmd_metrics(mesh_ctx *ctx, int argc, char **argv)
{
	const char *scope = "global";
	int per_node = 0, json = 0, members = 0;
	int64_t top = 5, sample = 0, at = ctx->now;
	mt_error err = {0};
	mesh_args a;
	int prc = mesh_parse_args(&METRICS_SPEC, argc, argv, &a);
	if (prc != MESH_ARGS_RUN)
		return prc;
	for (int i = 0; i < a.n_opt; i++) {
		const char *v = a.opt[i].val;
		switch (a.opt[i].id) {
		case 'S':
			if (mt_scope_check(v, "--scope", &err))
				return mesh_usage(METRICS_USAGE, "%s", err.msg);
			scope = v;
			break;
		case 'p': per_node = 1; break;
		case 'j': json = 1; break;
		case 't':
			if (mesh_parse_int(&top, v, "--top", 0, 1000000, &err))
				return mesh_usage(METRICS_USAGE, "%s", err.msg);
			break;
		case 'k':
			if (mesh_parse_int(&sample, v, "--sample", 1, 100000000, &err))
				return mesh_usage(METRICS_USAGE, "%s", err.msg);
			break;
		case 'a':
			if (mesh_parse_time(&at, v, "--at", ctx->now, &err))
				return mesh_usage(METRICS_USAGE, "%s", err.msg);
			break;
		case 'm': members = 1; break;
		}
	}
	mt_metrics_result *m = NULL;
	char digest[65];
	int rc;
	if (members) {
		mt_pot_state *st = NULL;
		const mt_pot_community *cm = NULL;
		if ((rc = mesh_pot_state(ctx, &st)))
			return rc;
		if ((rc = mesh_pot_community(ctx, st, scope, &cm))) {
			mt_pot_state_free(st);
			return rc;
		}
		const char **ids = calloc(cm->n_members + 1, sizeof *ids);
		for (size_t i = 0; ids && i < cm->n_members; i++)
			ids[i] = cm->members[i].id;
		rc = ids ? metrics_compute(ctx, scope, at, (uint32_t)sample, ids, cm->n_members, &m,
					   digest)
			 : mesh_fail("out of memory");
		free(ids);
		mt_pot_state_free(st);
	} else {
		rc = mesh_metrics_compute(ctx, scope, at, (uint32_t)sample, &m, digest);
	}
	if (rc)
		return rc;
	/* The same max_gini as `mesh policy eval`: the policy in force for the
	 * scope (policy.toml, the config keys, the community's proposals). */
	mt_policy *pol = NULL;
	json_t *pdoc = NULL;
	if ((rc = mesh_policy_in_force(ctx, scope, &pol, &pdoc, NULL))) {
		mt_metrics_result_free(m);
		return rc;
	}
	double max_gini = pol->max_gini;
	char gini_source[MT_POLICY_SOURCE_MAX];
	snprintf(gini_source, sizeof gini_source, "%s", pol->max_gini_source);
	mt_policy_free(pol);
	json_t *o = mt_view_metrics(m, per_node, digest, at, max_gini, members);
	if (!o || mt_view_metrics_policy(o, m->scope, m->gini, max_gini, gini_source,
					 json_object_get(pdoc, "overrides")) != 0) {
		json_decref(o);
		json_decref(pdoc);
		mt_metrics_result_free(m);
		return mesh_fail("out of memory");
	}
	json_decref(pdoc);
	if (json) {
		mt_metrics_result_free(m);
		return mesh_print_json(o);
	}
	printf("scope %s (digest %.16s…)\n", m->scope, digest);
	printf("  nodes                 %zu\n", m->node_count);
	printf("  trust edges           %zu\n", m->edge_count);
	printf("  total inbound trust   %.6g\n", m->total_inbound_trust);
	printf("  gini                  %.6f\n", m->gini);
	printf("  top 10%% share         %.6f\n", m->top_10_percent_share);
	printf("  betweenness           max %.6g  mean %.6g  std_dev %.6g%s\n", m->betweenness.max,
	       m->betweenness.mean, m->betweenness.std_dev,
	       m->sampled ? "  (sampled)" : "");
	if (json_string_value(json_object_get(o, "alert")))
		printf("ALERT: %s\n", json_string_value(json_object_get(o, "alert")));
	json_t *ov = json_object_get(o, "policy_overrides");
	if (json_array_size(ov)) {
		printf("  local overrides       ");
		mesh_term_json(stdout, ov, 0);
		putchar('\n');
	}
	json_decref(o);
	if (top > 0 && m->node_count) {
		const mt_metrics_node **t = calloc((size_t)top, sizeof *t);
		size_t k = mt_metrics_top_by_inbound(m, (size_t)top, t);
		printf("top by inbound trust:\n");
		for (size_t i = 0; i < k; i++)
			printf("  %-52s %10.4f\n", t[i]->node_id, t[i]->inbound_trust);
		k = mt_metrics_top_by_betweenness(m, (size_t)top, t);
		printf("top by betweenness:\n");
		for (size_t i = 0; i < k; i++)
			printf("  %-52s %10.4f\n", t[i]->node_id, t[i]->betweenness);
		free(t);
	}
	if (per_node) {
		printf("%-52s %14s %14s\n", "NODE ID", "INBOUND", "BETWEENNESS");
		for (size_t i = 0; i < m->node_count; i++)
			printf("%-52s %14.6f %14.6f\n", m->nodes[i].node_id,
			       m->nodes[i].inbound_trust, m->nodes[i].betweenness);
	}
	mt_metrics_result_free(m);
	return EXIT_OK;
}
