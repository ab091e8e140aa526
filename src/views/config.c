/* The configuration registry (config.h): keys, defaults, validation, getters. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/config.h"
#include "meshtrust/flow.h"

/* A decimal integer in [min, max], nothing else (no sign, space or suffix). */
static int parse_int(int64_t *out, const char *v, const char *what, int64_t min, int64_t max,
		     mt_error *err)
{
	char *end = NULL;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (!*v || *end || errno || !(*v >= '0' && *v <= '9') || x < min || x > max)
		return mt_error_set(err, MT_EINVAL, "%s%s\"%s\" is not an integer in %lld..%lld",
				    what ? what : "", what ? ": " : "", v, (long long)min,
				    (long long)max);
	*out = x;
	return 0;
}

static int v_depth(const char *v, mt_error *err)
{
	int64_t d;
	return parse_int(&d, v, NULL, 1, MT_CONFIG_MAX_DEPTH, err);
}

int mt_config_parse_decay(double *out, size_t *n, const char *text, mt_error *err)
{
	char buf[512];
	if (strlen(text) >= sizeof buf)
		return mt_error_set(err, MT_EINVAL, "trust.decay: over %zu characters",
				    sizeof buf - 1);
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
		if (k == MT_CONFIG_MAX_DECAY)
			return mt_error_set(err, MT_EINVAL, "trust.decay: at most %d values",
					    MT_CONFIG_MAX_DECAY);
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
	double d[MT_CONFIG_MAX_DECAY];
	size_t n;
	return mt_config_parse_decay(d, &n, v, err);
}

static int v_mode(const char *v, mt_error *err)
{
	mt_trust_mode m;
	return mt_trust_mode_parse(v, &m, err);
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

/* A number in (0, 1]: metrics.capDecay (0 would weigh every inbound edge
 * beyond the cap at nothing; the metrics refuse it). */
static int v_unit_pos(const char *v, mt_error *err)
{
	char *end = NULL;
	double d = strtod(v, &end);
	if (!end || *end || end == v || !(d > 0.0 && d <= 1.0))
		return mt_error_set(err, MT_EINVAL, "\"%s\" is not a number in (0, 1]", v);
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
	return parse_int(&d, v, NULL, 0, 1000000000, err);
}

static int v_pos(const char *v, mt_error *err)
{
	int64_t d;
	return parse_int(&d, v, NULL, 1, 1000000000000LL, err);
}

/* discover.directories: up to 16 http(s) URLs separated by spaces, each at
 * most 1000 bytes of printable ASCII. */
static int v_urls(const char *v, mt_error *err)
{
	size_t count = 0;
	const char *p = v;
	while (*p) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		const char *e = p;
		while (*e && *e != ' ')
			e++;
		size_t k = (size_t)(e - p);
		if (!((k > 7 && strncmp(p, "http://", 7) == 0) ||
		      (k > 8 && strncmp(p, "https://", 8) == 0)))
			return mt_error_set(err, MT_EINVAL,
					    "'%.*s' is not an http:// or https:// URL",
					    (int)(k > 200 ? 200 : k), p);
		if (k > 1000)
			return mt_error_set(err, MT_EINVAL, "a URL longer than 1000 bytes");
		for (const char *c = p; c < e; c++)
			if (*c < 0x21 || *c > 0x7e)
				return mt_error_set(err, MT_EINVAL,
						    "a URL with a control or non-ASCII byte");
		if (++count > 16)
			return mt_error_set(err, MT_EINVAL, "more than 16 directories");
		p = e;
	}
	return 0;
}

static const mt_config_key KEYS[] = {
	{"trust.maxDepth", "2", "maximum path length, 1..8", v_depth},
	{"trust.decay", "1 1 0.5 0.25 0.125", "decay by hops, non-increasing values in (0,1]",
	 v_decay},
	{"trust.mode", "best-path",
	 "best-path (SPEC §3 scores), flow (Sybil-bounded max flow) or flow-adaptive (max flow, "
	 "capacities from the web)",
	 v_mode},
	{"trust.flowCapacities", MT_FLOW_DEFAULT_CAPACITIES,
	 "flow mode: node capacity by distance 0,1,2,…; 2..9 non-increasing integers", v_capacities},
	{"metrics.cap", "0", "saturation cap N on inbound trust (0 = off)", v_count},
	{"metrics.capDecay", "0.5", "weight decay beyond the cap, in (0,1]", v_unit_pos},
	{"policy.maxGini", "0.7", "gini above which a scope is flagged", v_unit},
	{"policy.enforceGini", "off", "deny requests in a flagged scope (on/off)", v_bool},
	{"policy.acceptLooser", "off",
	 "let a community's passed proposals loosen this node's own policy values (on/off)",
	 v_bool},
	{"node.maxStatementsPerIssuerPerDay", "1000", "quota per issuer per 86400 s", v_pos},
	{"node.maxStatementsPerPeerPerDay", "100000", "quota per peer per 86400 s", v_pos},
	{"node.metricsPublic", "off", "serve /metrics to peers too (on/off; never peer URLs)",
	 v_bool},
	{"node.directory", "off",
	 "serve the public directory /v1/directory* to anyone, rate-limited (on/off)", v_bool},
	{"discover.directories", "",
	 "directories this home discovers through and syncs from (mesh directory add)", v_urls},
};
#define NKEYS (sizeof KEYS / sizeof *KEYS)

const mt_config_key *mt_config_keys(size_t *n)
{
	*n = NKEYS;
	return KEYS;
}

const mt_config_key *mt_config_find(const char *key)
{
	for (size_t i = 0; key && i < NKEYS; i++)
		if (strcmp(KEYS[i].key, key) == 0)
			return &KEYS[i];
	return NULL;
}

int mt_config_get(mt_store *s, const char *key, char **out, mt_error *err)
{
	*out = NULL;
	const mt_config_key *k = mt_config_find(key);
	if (!k)
		return mt_error_set(err, MT_ENOTFOUND, "unknown configuration key %s", key);
	char *v = NULL;
	int rc = mt_store_config_get(s, key, &v, err);
	if (rc)
		return rc;
	if (v) {
		mt_error verr = {0};
		if (k->validate(v, &verr) != 0) {
			free(v);
			return mt_error_set(err, MT_EINVAL, "stored %s is invalid: %s (mesh config set "
							    "%s …)",
					    key, verr.msg, key);
		}
		*out = v;
		return 0;
	}
	*out = strdup(k->dflt);
	return *out ? 0 : mt_error_set(err, MT_ENOMEM, "out of memory");
}

int mt_config_validate(const char *key, const char *value, mt_error *err)
{
	const mt_config_key *k = mt_config_find(key);
	if (!k)
		return mt_error_set(err, MT_ENOTFOUND, "unknown configuration key %s", key);
	mt_error verr = {0};
	if (k->validate(value, &verr) != 0) {
		/* a validator may already name its key (trust.decay's parser does) */
		size_t kl = strlen(key);
		int named = strncmp(verr.msg, key, kl) == 0 && verr.msg[kl] == ':';
		return mt_error_set(err, MT_EINVAL, "%s%s%s", named ? "" : key, named ? "" : ": ",
				    verr.msg);
	}
	return 0;
}

int mt_config_set(mt_store *s, const char *key, const char *value, mt_error *err)
{
	int rc = mt_config_validate(key, value, err);
	return rc ? rc : mt_store_config_set(s, key, value, err);
}

int mt_config_unset(mt_store *s, const char *key, mt_error *err)
{
	if (!mt_config_find(key))
		return mt_error_set(err, MT_ENOTFOUND, "unknown configuration key %s", key);
	return mt_store_config_set(s, key, NULL, err); /* no value: the row goes */
}

int mt_config_bool(mt_store *s, const char *key, int *out, mt_error *err)
{
	char *v = NULL;
	int rc = mt_config_get(s, key, &v, err);
	if (!rc)
		*out = strcmp(v, "on") == 0;
	free(v);
	return rc;
}

int mt_config_int(mt_store *s, const char *key, int64_t *out, mt_error *err)
{
	char *v = NULL;
	int rc = mt_config_get(s, key, &v, err);
	if (!rc)
		rc = parse_int(out, v, key, 0, INT64_MAX, err);
	free(v);
	return rc;
}

int mt_config_double(mt_store *s, const char *key, double *out, mt_error *err)
{
	char *v = NULL;
	int rc = mt_config_get(s, key, &v, err);
	if (!rc) {
		char *end = NULL;
		*out = strtod(v, &end);
		if (!end || *end || end == v)
			rc = mt_error_set(err, MT_EINVAL, "%s: \"%s\" is not a number", key, v);
	}
	free(v);
	return rc;
}

int mt_config_trust(mt_store *s, int *depth, double *decay, size_t *n_decay, mt_error *err)
{
	int64_t d = 0;
	char *dec = NULL;
	int rc = mt_config_int(s, "trust.maxDepth", &d, err);
	if (!rc)
		rc = mt_config_get(s, "trust.decay", &dec, err);
	if (!rc)
		rc = mt_config_parse_decay(decay, n_decay, dec, err);
	if (!rc)
		*depth = (int)d;
	free(dec);
	return rc;
}

int mt_config_directories(mt_store *s, char ***out, size_t *n, mt_error *err)
{
	*out = NULL;
	*n = 0;
	char *v = NULL;
	int rc = mt_config_get(s, "discover.directories", &v, err);
	if (rc)
		return rc;
	size_t count = 0, len = strlen(v);
	for (char *p = v; *p;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		count++;
		while (*p && *p != ' ')
			p++;
	}
	if (!count) {
		free(v);
		return 0;
	}
	char **arr = malloc(count * sizeof *arr + len + 1);
	if (!arr) {
		free(v);
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	}
	char *text = (char *)(arr + count);
	memcpy(text, v, len + 1);
	free(v);
	size_t k = 0;
	for (char *p = text; *p;) {
		while (*p == ' ')
			*p++ = '\0';
		if (!*p)
			break;
		arr[k++] = p;
		while (*p && *p != ' ')
			p++;
	}
	*out = arr;
	*n = k;
	return 0;
}
