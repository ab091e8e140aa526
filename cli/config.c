/* mesh config get|set and the typed readers the other commands use. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "meshtrust/flow.h"

typedef int (*validate_fn)(const char *value, mt_error *err);

static int v_depth(const char *v, mt_error *err)
{
	int64_t d;
	return mesh_parse_int(&d, v, "trust.maxDepth", 1, MESH_MAX_DEPTH, err);
}

int mesh_parse_decay(double *out, size_t *n, const char *text, mt_error *err)
{
	char buf[512];
	snprintf(buf, sizeof buf, "%s", text);
	size_t k = 0;
	for (char *save = NULL, *tok = strtok_r(buf, " \t,", &save); tok;
	     tok = strtok_r(NULL, " \t,", &save)) {
		char *end = NULL;
		double d = strtod(tok, &end);
		if (!end || *end || !(d > 0.0) || d > 1.0 || isnan(d))
			return mt_error_set(err, MT_EINVAL,
					    "trust.decay: \"%s\" is not a value in (0, 1]", tok);
		if (k && d > out[k - 1])
			return mt_error_set(err, MT_EINVAL,
					    "trust.decay: values must be non-increasing (%s after %g)",
					    tok, out[k - 1]);
		if (k == MESH_MAX_DECAY)
			return mt_error_set(err, MT_EINVAL, "trust.decay: at most %d values",
					    MESH_MAX_DECAY);
		out[k++] = d;
	}
	if (!k)
		return mt_error_set(err, MT_EINVAL,
				    "trust.decay: give the table as one argument, e.g. "
				    "\"1 1 0.5 0.25 0.125\"");
	*n = k;
	return 0;
}

static int v_decay(const char *v, mt_error *err)
{
	double d[MESH_MAX_DECAY];
	size_t n;
	return mesh_parse_decay(d, &n, v, err);
}

static int v_mode(const char *v, mt_error *err)
{
	if (strcmp(v, "best-path") && strcmp(v, "flow"))
		return mt_error_set(err, MT_EINVAL, "\"%s\" is not a mode (best-path or flow)", v);
	return 0;
}

static int v_capacities(const char *v, mt_error *err)
{
	uint32_t c[MT_FLOW_MAX_CAPACITIES];
	size_t n;
	return mt_flow_capacities_parse(c, &n, v, err);
}

static int v_unit(const char *v, mt_error *err)
{
	char *end = NULL;
	double d = strtod(v, &end);
	if (!end || *end || end == v || !(d >= 0.0 && d <= 1.0))
		return mt_error_set(err, MT_EINVAL, "\"%s\" is not a number in [0, 1]", v);
	return 0;
}

static int v_bool(const char *v, mt_error *err)
{
	if (strcmp(v, "on") && strcmp(v, "off"))
		return mt_error_set(err, MT_EINVAL, "\"%s\" must be on or off", v);
	return 0;
}

static int v_count(const char *v, mt_error *err)
{
	int64_t d;
	return mesh_parse_int(&d, v, "value", 0, 1000000000, err);
}

static int v_pos(const char *v, mt_error *err)
{
	int64_t d;
	return mesh_parse_int(&d, v, "value", 1, 1000000000000LL, err);
}

static const struct {
	const char *key, *dflt, *help;
	validate_fn validate;
} KEYS[] = {
	{"trust.maxDepth", "2", "maximum path length, 1..8", v_depth},
	{"trust.decay", "1 1 0.5 0.25 0.125", "decay by hops, non-increasing values in (0,1]",
	 v_decay},
	{"trust.mode", "best-path", "best-path (SPEC §3 scores) or flow (Sybil-bounded max flow)",
	 v_mode},
	{"trust.flowCapacities", MT_FLOW_DEFAULT_CAPACITIES,
	 "flow mode: node capacity by distance 0,1,2,…; 2..9 non-increasing integers", v_capacities},
	{"metrics.cap", "0", "saturation cap N on inbound trust (0 = off)", v_count},
	{"metrics.capDecay", "0.5", "weight decay beyond the cap, in [0,1]", v_unit},
	{"policy.maxGini", "0.7", "gini above which a scope is flagged", v_unit},
	{"policy.enforceGini", "off", "deny requests in a flagged scope (on/off)", v_bool},
	{"node.maxStatementsPerIssuerPerDay", "1000", "quota per issuer per 86400 s", v_pos},
	{"node.maxStatementsPerPeerPerDay", "100000", "quota per peer per 86400 s", v_pos},
	{"node.metricsPublic", "off", "serve /metrics to peers too (on/off; never peer URLs)",
	 v_bool},
};
#define NKEYS (sizeof KEYS / sizeof *KEYS)

static int find_key(const char *key)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(KEYS[i].key, key) == 0)
			return (int)i;
	return -1;
}

int mesh_config_value(mesh_ctx *ctx, const char *key, char **out)
{
	int i = find_key(key);
	*out = NULL;
	if (i < 0)
		return mesh_fail("unknown configuration key %s", key);
	int rc = mesh_open_store(ctx);
	if (rc)
		return rc;
	mt_error err = {0};
	if (mt_store_config_get(ctx->store, key, out, &err) != 0)
		return mesh_fail_err(&err);
	if (!*out)
		*out = strdup(KEYS[i].dflt);
	return *out ? EXIT_OK : mesh_fail("out of memory");
}

int mesh_config_trust(mesh_ctx *ctx, int *depth, double *decay, size_t *n_decay)
{
	char *d = NULL, *dec = NULL;
	int rc = mesh_config_value(ctx, "trust.maxDepth", &d);
	if (!rc)
		rc = mesh_config_value(ctx, "trust.decay", &dec);
	mt_error err = {0};
	if (!rc) {
		*depth = atoi(d);
		if (mesh_parse_decay(decay, n_decay, dec, &err) != 0)
			rc = mesh_fail("stored %s", err.msg);
	}
	free(d);
	free(dec);
	return rc;
}

#define CONFIG_USAGE "mesh config get KEY | mesh config set KEY VALUE | mesh config list"

static void config_help(void)
{
	printf("usage: %s\n\nkeys (default):\n", CONFIG_USAGE);
	for (size_t i = 0; i < NKEYS; i++)
		printf("  %-34s %s (default %s)\n", KEYS[i].key, KEYS[i].help, KEYS[i].dflt);
}

int cmd_config(mesh_ctx *ctx, int argc, char **argv)
{
	if (argc < 2)
		return mesh_usage(CONFIG_USAGE, "missing sub-command");
	if (mesh_wants_help(argc, argv) || strcmp(argv[1], "help") == 0) {
		config_help();
		return EXIT_OK;
	}
	int json = argc > 2 && strcmp(argv[argc - 1], "--json") == 0;
	if (json)
		argc--;
	if (strcmp(argv[1], "list") == 0 && argc == 2) {
		json_t *o = json_object();
		for (size_t i = 0; i < NKEYS; i++) {
			char *v = NULL;
			int rc = mesh_config_value(ctx, KEYS[i].key, &v);
			if (rc) {
				json_decref(o);
				return rc;
			}
			if (json)
				json_object_set_new(o, KEYS[i].key, json_string(v));
			else
				printf("%s = %s\n", KEYS[i].key, v);
			free(v);
		}
		if (json)
			return mesh_print_json(o);
		json_decref(o);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "get") == 0 && argc == 3) {
		if (find_key(argv[2]) < 0)
			return mesh_usage(CONFIG_USAGE, "unknown configuration key \"%s\" (see `mesh "
							"config --help`)",
					  argv[2]);
		char *v = NULL;
		int rc = mesh_config_value(ctx, argv[2], &v);
		if (rc)
			return rc;
		if (json)
			mesh_print_json(json_pack("{s:s,s:s}", "key", argv[2], "value", v));
		else
			printf("%s\n", v);
		free(v);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "set") == 0 && argc == 4) {
		int i = find_key(argv[2]);
		if (i < 0)
			return mesh_usage(CONFIG_USAGE, "unknown configuration key \"%s\" (see `mesh "
							"config --help`)",
					  argv[2]);
		mt_error err = {0};
		if (KEYS[i].validate(argv[3], &err) != 0)
			return mesh_usage(NULL, "%s: %s", argv[2], err.msg);
		int rc = mesh_open_store(ctx);
		if (rc)
			return rc;
		if (mt_store_config_set(ctx->store, argv[2], argv[3], &err) != 0)
			return mesh_fail_err(&err);
		return EXIT_OK;
	}
	return mesh_usage(CONFIG_USAGE, "bad arguments");
}
