/* mesh metrics: centralization metrics of one scope (SPEC §4, §8). */
#include <errno.h>
#include <stdint.h>
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
/* --approx EPS[,DELTA] and --seed: eps 0 is off. */
typedef struct approx_req {
	double eps, delta;
	uint64_t seed;
} approx_req;

static int metrics_compute(mesh_ctx *ctx, const char *scope, int64_t at, uint32_t sample_k,
			   const approx_req *ap, const char *const *members, size_t n_members,
			   mt_metrics_result **out, char digest[65]);

int mesh_metrics_compute(mesh_ctx *ctx, const char *scope, int64_t at, uint32_t sample_k,
			 mt_metrics_result **out, char digest[65])
{
	return metrics_compute(ctx, scope, at, sample_k, NULL, NULL, 0, out, digest);
}

static int metrics_compute(mesh_ctx *ctx, const char *scope, int64_t at, uint32_t sample_k,
			   const approx_req *ap, const char *const *members, size_t n_members,
			   mt_metrics_result **out, char digest[65])
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
	if (ap) {
		o.approx_eps = ap->eps;
		o.approx_delta = ap->delta;
		o.seed = ap->seed;
	}
	o.members = members;
	o.member_count = n_members;
	free(cap);
	free(capd);
	mesh_progress prog;
	mesh_progress_init(&prog, ap && ap->eps > 0 ? "betweenness (approx, pairs)" : "betweenness",
			   0);
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
	"mesh metrics [--scope S] [--per-node] [--top N] [--sample K | --approx EPS[,DELTA]] "     \
	"[--seed N] [--at T] [--json]"

static const mesh_opt METRICS_OPTS[] = {
	MESH_OPT_SCOPE_H("the scope (default global)"),
	{"per-node", MESH_NOARG, NULL, "every node's inbound trust and betweenness", 'p'},
	{"top", MESH_ARG, "N", "top nodes by each (default 5)", 't'},
	{"sample", MESH_ARG, "K", "betweenness from K fixed-seed sources, scaled (big scopes)", 'k'},
	{"approx", MESH_ARG, "EPS[,DELTA]",
	 "betweenness within EPS (normalised) of the exact value for\nevery node with probability "
	 "1-DELTA (default 0.1): sampled\nshortest paths (Riondato-Kornaropoulos), for webs too "
	 "big for\nexact betweenness",
	 'x'},
	{"seed", MESH_ARG, "N", "seed of --sample and --approx (default 0; same seed, same answer)",
	 's'},
	MESH_OPT_AT,
	{"members", MESH_NOARG, NULL, "only edges among the members of the scope's community", 'm'},
	MESH_OPT_JSON_H("print the metrics document as JSON"), MESH_OPT_END};
static const mesh_spec METRICS_SPEC = {
	METRICS_USAGE,
	"Centralization of one scope over its trust edges (full or limited,\nunexpired): "
	"node_count, total_inbound_trust, gini, top_10_percent_share,\nBrandes betweenness "
	"(directed, unnormalised: max, mean, std_dev), on all cores.\nAn alert line when gini "
	"exceeds policy.maxGini.\n\nWith --approx the betweenness values are estimates with the "
	"stated guarantee\n(--json: betweenness.approx gives eps, delta, the pairs drawn and the "
	"bound\non the vertex diameter); exact stays the default.",
	METRICS_OPTS, 0, 0, NULL, NULL};

int cmd_metrics(mesh_ctx *ctx, int argc, char **argv)
{
	const char *scope = "global";
	int per_node = 0, json = 0, members = 0;
	int64_t top = 5, sample = 0, at = ctx->now, seed = 0;
	approx_req ap = {0, 0.1, 0};
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
		case 's':
			if (mesh_parse_int(&seed, v, "--seed", 0, INT64_MAX, &err))
				return mesh_usage(METRICS_USAGE, "%s", err.msg);
			break;
		case 'x': {
			char *end = NULL;
			errno = 0;
			ap.eps = strtod(v, &end);
			if (errno || end == v || !(ap.eps > 0 && ap.eps < 1) ||
			    (*end && *end != ','))
				return mesh_usage(METRICS_USAGE,
						  "--approx: \"%s\" is not EPS[,DELTA] with EPS in "
						  "(0,1), e.g. 0.01 or 0.01,0.05",
						  v);
			if (*end == ',') {
				const char *d = end + 1;
				errno = 0;
				ap.delta = strtod(d, &end);
				if (errno || end == d || *end || !(ap.delta > 0 && ap.delta < 1))
					return mesh_usage(METRICS_USAGE,
							  "--approx: DELTA in \"%s\" is not in (0,1)",
							  v);
			}
			if (ap.eps < 1e-4)
				return mesh_usage(METRICS_USAGE,
						  "--approx: EPS %g needs too many samples (use >= "
						  "0.0001)",
						  ap.eps);
			break;
		}
		}
	}
	if (sample && ap.eps > 0)
		return mesh_usage(METRICS_USAGE, "--sample and --approx exclude each other");
	ap.seed = (uint64_t)seed;
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
		rc = ids ? metrics_compute(ctx, scope, at, (uint32_t)sample, &ap, ids,
					   cm->n_members, &m, digest)
			 : mesh_fail("out of memory");
		free(ids);
		mt_pot_state_free(st);
	} else {
		rc = metrics_compute(ctx, scope, at, (uint32_t)sample, &ap, NULL, 0, &m, digest);
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
	       m->approx_eps > 0 ? "" : m->sampled ? "  (sampled)" : "");
	if (m->approx_eps > 0)
		printf("  (approximate: every node within %g x n(n-1) = %.6g of the exact value with "
		       "probability >= %g; %llu pairs, vertex diameter <= %u)\n",
		       m->approx_eps,
		       m->approx_eps * (double)m->node_count * (double)(m->node_count ? m->node_count - 1 : 0),
		       1 - m->approx_delta, (unsigned long long)m->approx_samples,
		       m->approx_vd_bound);
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
