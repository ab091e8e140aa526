/* The policy oracle and its file format (see include/meshtrust/policy.h and
 * docs/policy.md).
 *
 * The file format is a TOML subset parsed by hand so that every error can
 * name its line: `key = value` lines, `[[tier]]` array-of-tables headers,
 * `#` comments. Parsing fills a fresh policy and hands it over only when the
 * whole file is good, which is what lets callers keep the previous policy.
 */
#include "meshtrust/policy.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const mt_policy_tier default_tiers[] = {
    {0.7, 200, 50},
    {0.4, 100, 25},
    {0.0, 20, 5},
};

static void fill_defaults(mt_policy *p)
{
	memset(p, 0, sizeof *p);
	p->tier_count = sizeof default_tiers / sizeof default_tiers[0];
	memcpy(p->tiers, default_tiers, sizeof default_tiers);
	p->max_gini = MT_POLICY_DEFAULT_MAX_GINI;
	p->enforce_gini = 0;
	p->max_topics = MT_POLICY_DEFAULT_MAX_TOPICS;
	p->max_connections = MT_POLICY_DEFAULT_MAX_CONNECTIONS;
	p->bridge_rule = MT_BRIDGE_LOWER;
	p->max_top10_share = 1.0;
}

int mt_policy_default(mt_policy **out)
{
	if (!out)
		return MT_EINVAL;
	*out = malloc(sizeof **out);
	if (!*out)
		return MT_ENOMEM;
	fill_defaults(*out);
	return 0;
}

void mt_policy_free(mt_policy *p)
{
	free(p);
}

/* ---- validation shared by the parser and mt_policy_validate ---- */

static const char *tier_problem(const mt_policy_tier *t)
{
	if (!(t->min_score >= 0 && t->min_score <= 1))
		return "min_score must be in [0, 1]";
	if (!isfinite(t->per_second))
		return "per_second must be a finite number";
	if (t->per_second < 0)
		return "negative rate: per_second must be > 0";
	if (t->per_second == 0)
		return "per_second must be > 0";
	if (t->burst < 1)
		return "burst must be >= 1";
	return NULL;
}

int mt_policy_validate(const mt_policy *p, mt_error *err)
{
	if (!p)
		return mt_error_set(err, MT_EINVAL, "policy is NULL");
	if (p->tier_count < 1 || p->tier_count > MT_POLICY_MAX_TIERS)
		return mt_error_set(err, MT_EINVAL, "policy needs 1..%d tiers, has %zu",
		                    MT_POLICY_MAX_TIERS, p->tier_count);
	for (size_t i = 0; i < p->tier_count; i++) {
		const char *problem = tier_problem(&p->tiers[i]);
		if (problem)
			return mt_error_set(err, MT_EINVAL, "tier %zu: %s", i + 1, problem);
		if (i > 0 && !(p->tiers[i].min_score < p->tiers[i - 1].min_score))
			return mt_error_set(err, MT_EINVAL,
			                    "tiers not sorted by descending min_score: tier %zu "
			                    "(%g) after tier %zu (%g)",
			                    i + 1, p->tiers[i].min_score, i,
			                    p->tiers[i - 1].min_score);
	}
	if (!(p->max_gini >= 0 && p->max_gini <= 1))
		return mt_error_set(err, MT_EINVAL, "max_gini must be in [0, 1]");
	if (p->enforce_gini != 0 && p->enforce_gini != 1)
		return mt_error_set(err, MT_EINVAL, "enforce_gini must be 0 or 1");
	if (!(p->max_top10_share >= 0 && p->max_top10_share <= 1))
		return mt_error_set(err, MT_EINVAL, "max_top10_share must be in [0, 1]");
	if (p->bridge_rule != MT_BRIDGE_LOWER && p->bridge_rule != MT_BRIDGE_NONE)
		return mt_error_set(err, MT_EINVAL, "bridge_rule must be lower or none");
	return 0;
}

/* ---- the parser ---- */

enum top_key {
	K_MAX_GINI,
	K_ENFORCE_GINI,
	K_MAX_TOPICS,
	K_MAX_CONNECTIONS,
	K_BRIDGE_RULE,
	K_TOP_N
};
enum tier_key { T_MIN_SCORE, T_PER_SECOND, T_BURST, T_N };
static const char *const top_keys[K_TOP_N] = {"max_gini", "enforce_gini", "max_topics",
                                              "max_connections", "bridge_rule"};
static const char *const tier_keys[T_N] = {"min_score", "per_second", "burst"};

typedef struct parser {
	mt_policy *policy;
	const char *name;
	mt_error *err;
	int line;
	int in_tier;
	int tier_line;      /* line of the current [[tier]] header */
	unsigned top_seen;  /* bit per top_key */
	unsigned tier_seen; /* bit per tier_key, for the current tier */
} parser;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int
fail_at(parser *ps, int line, const char *fmt, ...)
{
	char reason[MT_ERRMSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	return mt_error_set(ps->err, MT_EINVAL, "%s:%d: %.400s", ps->name, line, reason);
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* Cut a `#` comment that is not inside a "string". */
static void strip_comment(char *s)
{
	int quoted = 0;
	for (; *s; s++) {
		if (*s == '"')
			quoted = !quoted;
		else if (*s == '#' && !quoted) {
			*s = '\0';
			return;
		}
	}
}

static int is_decimal_number(const char *s)
{
	if (*s == '+' || *s == '-')
		s++;
	int digits = 0;
	while (*s >= '0' && *s <= '9')
		s++, digits++;
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9')
			s++, digits++;
	}
	if (!digits)
		return 0;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

static int parse_number(parser *ps, const char *key, const char *value, double *out)
{
	if (!is_decimal_number(value))
		return fail_at(ps, ps->line, "bad value for %s: \"%s\" is not a number", key,
		               value);
	errno = 0;
	double v = strtod(value, NULL);
	if (errno == ERANGE || !isfinite(v))
		return fail_at(ps, ps->line, "bad value for %s: \"%s\" is out of range", key,
		               value);
	*out = v;
	return 0;
}

static int parse_count(parser *ps, const char *key, const char *value, uint32_t *out)
{
	if (value[0] == '-' && value[1] >= '0' && value[1] <= '9')
		return fail_at(ps, ps->line, "bad value for %s: %s must not be negative", key,
		               value);
	const char *digits = value[0] == '+' ? value + 1 : value;
	if (!*digits)
		return fail_at(ps, ps->line, "bad value for %s: \"%s\" is not a whole number", key,
		               value);
	unsigned long long v = 0;
	for (const char *c = digits; *c; c++) {
		if (*c < '0' || *c > '9')
			return fail_at(ps, ps->line,
			               "bad value for %s: \"%s\" is not a whole number", key,
			               value);
		v = v * 10 + (unsigned long long)(*c - '0');
		if (v > UINT32_MAX)
			return fail_at(ps, ps->line, "bad value for %s: %s is too large", key,
			               value);
	}
	*out = (uint32_t)v;
	return 0;
}

static int parse_bool(parser *ps, const char *key, const char *value, int *out)
{
	if (strcmp(value, "true") == 0)
		*out = 1;
	else if (strcmp(value, "false") == 0)
		*out = 0;
	else
		return fail_at(ps, ps->line, "bad value for %s: \"%s\" (expected true or false)",
		               key, value);
	return 0;
}

static int key_index(const char *const *keys, int n, const char *key)
{
	for (int i = 0; i < n; i++)
		if (strcmp(keys[i], key) == 0)
			return i;
	return -1;
}

static int set_top_key(parser *ps, const char *key, const char *value)
{
	mt_policy *p = ps->policy;
	int idx = key_index(top_keys, K_TOP_N, key);
	if (idx < 0)
		return fail_at(ps, ps->line, "unknown key \"%s\"", key);
	if (ps->top_seen & (1u << idx))
		return fail_at(ps, ps->line, "duplicate key \"%s\"", key);
	ps->top_seen |= 1u << idx;
	int rc = 0;
	switch (idx) {
	case K_MAX_GINI:
		rc = parse_number(ps, key, value, &p->max_gini);
		if (!rc && !(p->max_gini >= 0 && p->max_gini <= 1))
			rc = fail_at(ps, ps->line, "max_gini must be in [0, 1], got %s", value);
		break;
	case K_ENFORCE_GINI:
		rc = parse_bool(ps, key, value, &p->enforce_gini);
		break;
	case K_MAX_TOPICS:
		rc = parse_count(ps, key, value, &p->max_topics);
		break;
	case K_MAX_CONNECTIONS:
		rc = parse_count(ps, key, value, &p->max_connections);
		break;
	case K_BRIDGE_RULE:
		if (strcmp(value, "\"lower\"") == 0)
			p->bridge_rule = MT_BRIDGE_LOWER;
		else if (strcmp(value, "\"none\"") == 0)
			p->bridge_rule = MT_BRIDGE_NONE;
		else
			rc = fail_at(
			    ps, ps->line,
			    "bad value for bridge_rule: %s (expected \"lower\" or \"none\")",
			    value);
		break;
	}
	return rc;
}

static int set_tier_key(parser *ps, const char *key, const char *value)
{
	mt_policy *p = ps->policy;
	mt_policy_tier *t = &p->tiers[p->tier_count - 1];
	int idx = key_index(tier_keys, T_N, key);
	if (idx < 0)
		return fail_at(ps, ps->line, "unknown key \"%s\" in [[tier]]", key);
	if (ps->tier_seen & (1u << idx))
		return fail_at(ps, ps->line, "duplicate key \"%s\" in [[tier]]", key);
	ps->tier_seen |= 1u << idx;
	int rc = 0;
	switch (idx) {
	case T_MIN_SCORE:
		rc = parse_number(ps, key, value, &t->min_score);
		if (rc)
			break;
		if (!(t->min_score >= 0 && t->min_score <= 1))
			rc = fail_at(ps, ps->line, "min_score must be in [0, 1], got %s", value);
		else if (p->tier_count > 1 && !(t->min_score < t[-1].min_score))
			rc = fail_at(ps, ps->line,
			             "tiers not sorted by descending min_score: %s after %g", value,
			             t[-1].min_score);
		break;
	case T_PER_SECOND:
		rc = parse_number(ps, key, value, &t->per_second);
		if (!rc && t->per_second < 0)
			rc = fail_at(ps, ps->line, "negative rate: per_second = %s", value);
		else if (!rc && t->per_second == 0)
			rc = fail_at(ps, ps->line, "per_second must be > 0, got %s", value);
		break;
	case T_BURST:
		rc = parse_count(ps, key, value, &t->burst);
		if (!rc && t->burst < 1)
			rc = fail_at(ps, ps->line, "burst must be >= 1, got %s", value);
		break;
	}
	return rc;
}

static int finish_tier(parser *ps)
{
	if (!ps->in_tier)
		return 0;
	for (int i = 0; i < T_N; i++)
		if (!(ps->tier_seen & (1u << i)))
			return fail_at(ps, ps->tier_line, "[[tier]] %zu is missing %s",
			               ps->policy->tier_count, tier_keys[i]);
	return 0;
}

static int parse_line(parser *ps, char *raw)
{
	strip_comment(raw);
	char *s = trim(raw);
	if (!*s)
		return 0;
	if (*s == '[') {
		char header[64];
		size_t n = 0;
		for (const char *c = s; *c && n + 1 < sizeof header; c++)
			if (*c != ' ' && *c != '\t')
				header[n++] = *c;
		header[n] = '\0';
		if (strcmp(header, "[[tier]]") != 0)
			return fail_at(ps, ps->line, "unknown section %.60s", s);
		int rc = finish_tier(ps);
		if (rc)
			return rc;
		if (!ps->in_tier)
			ps->policy->tier_count = 0; /* given tiers replace the defaults */
		if (ps->policy->tier_count == MT_POLICY_MAX_TIERS)
			return fail_at(ps, ps->line, "too many tiers (at most %d)",
			               MT_POLICY_MAX_TIERS);
		memset(&ps->policy->tiers[ps->policy->tier_count++], 0, sizeof(mt_policy_tier));
		ps->in_tier = 1;
		ps->tier_line = ps->line;
		ps->tier_seen = 0;
		return 0;
	}
	char *eq = strchr(s, '=');
	if (!eq)
		return fail_at(ps, ps->line, "expected key = value, got \"%.60s\"", s);
	*eq = '\0';
	char *key = trim(s);
	char *value = trim(eq + 1);
	if (!*key)
		return fail_at(ps, ps->line, "missing key before '='");
	for (const char *c = key; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
			return fail_at(ps, ps->line, "bad key \"%.60s\"", key);
	if (!*value)
		return fail_at(ps, ps->line, "missing value for %s", key);
	return ps->in_tier ? set_tier_key(ps, key, value) : set_top_key(ps, key, value);
}

int mt_policy_parse(mt_policy **out, const char *text, size_t len, const char *name, mt_error *err)
{
	if (!out)
		return mt_error_set(err, MT_EINVAL, "mt_policy_parse: out is NULL");
	*out = NULL;
	if (!name)
		name = "policy";
	if (!text && len)
		return mt_error_set(err, MT_EINVAL, "%s: no text", name);
	if (len > MT_POLICY_MAX_FILE)
		return mt_error_set(err, MT_ETOOBIG,
		                    "%s: policy file is %zu bytes, over the %d limit", name, len,
		                    MT_POLICY_MAX_FILE);
	int rc = 0;
	mt_policy *p = malloc(sizeof *p);
	char *copy = malloc(len + 1);
	if (!p || !copy) {
		rc = mt_error_set(err, MT_ENOMEM, "%s: out of memory", name);
		goto done;
	}
	fill_defaults(p);
	if (len)
		memcpy(copy, text, len);
	copy[len] = '\0';
	parser ps = {.policy = p, .name = name, .err = err};
	char *line = copy;
	for (ps.line = 1; line <= copy + len; ps.line++) {
		char *end = memchr(line, '\n', (size_t)(copy + len - line));
		if (!end)
			end = copy + len;
		if (memchr(line, '\0', (size_t)(end - line))) {
			rc = fail_at(&ps, ps.line, "NUL byte in policy file");
			goto done;
		}
		*end = '\0';
		rc = parse_line(&ps, line);
		if (rc)
			goto done;
		line = end + 1;
	}
	rc = finish_tier(&ps);
	if (rc)
		goto done;
	rc = mt_policy_validate(p, err);
	if (rc) {
		mt_error_wrap(err, "%s", name);
		goto done;
	}
	*out = p;
	p = NULL;
done:
	free(copy);
	free(p);
	return rc;
}

int mt_policy_load(mt_policy **out, const char *path, mt_error *err)
{
	if (!out)
		return mt_error_set(err, MT_EINVAL, "mt_policy_load: out is NULL");
	*out = NULL;
	if (!path)
		return mt_error_set(err, MT_EINVAL, "mt_policy_load: path is NULL");
	/* O_NONBLOCK: a FIFO or a device in the file's place is refused at once
	 * instead of blocking open(); cleared again for the read. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return mt_error_set(err, MT_ENOTFOUND, "%s: no such file", path);
		return mt_error_set(err, MT_EIO, "%s: %s", path, strerror(errno));
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int errnum = errno;
		close(fd);
		return mt_error_set(err, MT_EIO, "%s: %s", path, strerror(errnum));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return mt_error_set(err, MT_EIO, "%s: not a regular file", path);
	}
	int fl = fcntl(fd, F_GETFL);
	FILE *f = NULL;
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0 || !(f = fdopen(fd, "rb"))) {
		int errnum = errno;
		close(fd);
		return mt_error_set(err, MT_EIO, "%s: %s", path, strerror(errnum));
	}
	int rc = 0;
	char *buf = malloc(MT_POLICY_MAX_FILE + 1);
	if (!buf) {
		rc = mt_error_set(err, MT_ENOMEM, "%s: out of memory", path);
		goto done;
	}
	size_t n = fread(buf, 1, MT_POLICY_MAX_FILE + 1, f);
	if (ferror(f)) {
		rc = mt_error_set(err, MT_EIO, "%s: read error", path);
		goto done;
	}
	if (n > MT_POLICY_MAX_FILE) {
		rc = mt_error_set(err, MT_ETOOBIG, "%s: policy file over the %d byte limit", path,
		                  MT_POLICY_MAX_FILE);
		goto done;
	}
	rc = mt_policy_parse(out, buf, n, path, err);
done:
	free(buf);
	fclose(f);
	return rc;
}

/* ---- formatting ---- */

/* Shortest %g text that reads back to exactly `v`. */
static void format_double(char *buf, size_t size, double v)
{
	for (int precision = 15; precision <= 17; precision++) {
		snprintf(buf, size, "%.*g", precision, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

int mt_policy_format(char **out, const mt_policy *p)
{
	if (!out)
		return MT_EINVAL;
	*out = NULL;
	if (mt_policy_validate(p, NULL) != 0)
		return MT_EINVAL;
	size_t cap = 512 + p->tier_count * 160;
	char *buf = malloc(cap);
	if (!buf)
		return MT_ENOMEM;
	char num[40], num2[40];
	format_double(num, sizeof num, p->max_gini);
	size_t used = (size_t)snprintf(buf, cap,
	                               "# meshtrust policy (format: docs/policy.md)\n"
	                               "max_gini = %s\n"
	                               "enforce_gini = %s\n"
	                               "max_topics = %u\n"
	                               "max_connections = %u\n"
	                               "bridge_rule = \"%s\"\n",
	                               num, p->enforce_gini ? "true" : "false", p->max_topics,
	                               p->max_connections,
	                               p->bridge_rule == MT_BRIDGE_LOWER ? "lower" : "none");
	for (size_t i = 0; i < p->tier_count; i++) {
		format_double(num, sizeof num, p->tiers[i].min_score);
		format_double(num2, sizeof num2, p->tiers[i].per_second);
		used +=
		    (size_t)snprintf(buf + used, cap - used,
		                     "\n[[tier]]\nmin_score = %s\nper_second = %s\nburst = %u\n",
		                     num, num2, p->tiers[i].burst);
	}
	*out = buf;
	return 0;
}

/* ---- the oracle ---- */

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
deny(mt_policy_decision *out, const char *fmt, ...)
{
	mt_constraints *c = &out->constraints;
	memset(c, 0, sizeof *c);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof c->reason, fmt, ap);
	va_end(ap);
}

/* snprintf into a fixed buffer, cut at its size (reasons are bounded). */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
putf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

static void describe_threshold(char *buf, size_t size, double score, const mt_policy_tier *t)
{
	if (t->min_score > 0)
		snprintf(buf, size, "score %.6g >= %.6g", score, t->min_score);
	else
		snprintf(buf, size, "score %.6g > 0", score);
}

void mt_policy_gini_alert(char *out, size_t n, const char *scope, double gini, double max_gini,
			  const char *source)
{
	int has = source && source[0];
	putf(out, n, "scope %s is too centralised: gini %.2f > policy.maxGini %.2f%s%s%s",
	     scope ? scope : "global", gini, max_gini, has ? " (" : "", has ? source : "",
	     has ? ")" : "");
}

int mt_policy_eval(mt_policy_decision *out, const mt_policy *p, const mt_policy_input *in,
                   mt_error *err)
{
	if (!out || !p || !in)
		return mt_error_set(err, MT_EINVAL, "mt_policy_eval: NULL argument");
	if (!(in->score >= 0 && in->score <= 1))
		return mt_error_set(err, MT_EINVAL, "score %g is outside [0, 1]", in->score);
	memset(out, 0, sizeof *out);
	const char *scope = in->scope ? in->scope : "global";
	const char *peer = in->peer ? in->peer : "the peer";

	/* (the lengths are checked: a reason is cut at MT_K_REASON_MAX) */
	char centralised[MT_K_REASON_MAX] = "";
	if (in->scope_gini >= 0 && in->scope_gini > p->max_gini)
		mt_policy_gini_alert(centralised, sizeof centralised, scope, in->scope_gini,
				     p->max_gini, p->max_gini_source);
	else if (in->has_top10 && in->scope_top10 > p->max_top10_share)
		putf(centralised, sizeof centralised,
		     "scope %s is too centralised: top-10%% share %.2f > max_top10_share %.2f%s%s%s",
		     scope, in->scope_top10, p->max_top10_share, p->max_top10_source[0] ? " (" : "",
		     p->max_top10_source, p->max_top10_source[0] ? ")" : "");
	if (centralised[0]) {
		out->flagged = 1;
		putf(out->alert, sizeof out->alert, "%s%s", centralised,
		     p->enforce_gini ? "" : " (flagged, not enforced)");
	}

	if (!in->has_path || in->score <= 0) {
		deny(out, "untrusted: no trust path to %s in scope %s", peer, scope);
		return 0;
	}
	size_t tier = 0;
	while (tier < p->tier_count && in->score < p->tiers[tier].min_score)
		tier++;
	if (tier == p->tier_count) {
		deny(out, "untrusted: score %.6g of %s in scope %s is below the lowest tier (%.6g)",
		     in->score, peer, scope, p->tiers[p->tier_count - 1].min_score);
		return 0;
	}
	if (out->flagged && p->enforce_gini) {
		deny(out, "%s", centralised);
		return 0;
	}

	char why[128];
	describe_threshold(why, sizeof why, in->score, &p->tiers[tier]);
	size_t earned = tier;
	const char *what = in->is_bridge ? "declared bridge" : "trusted in 2+ scopes, undeclared";
	if ((in->is_bridge || in->multi_scope) && p->bridge_rule == MT_BRIDGE_LOWER) {
		size_t len = strlen(why);
		if (in->approved_bridge) {
			snprintf(why + len, sizeof why - len, "; %s approved by its community", what);
		} else if (tier + 1 < p->tier_count) {
			tier++;
			snprintf(why + len, sizeof why - len, " gives tier %zu; %s: one tier lower",
			         earned + 1, what);
		} else {
			snprintf(why + len, sizeof why - len, "; %s: already the lowest tier", what);
		}
	}
	const mt_policy_tier *t = &p->tiers[tier];
	mt_constraints *c = &out->constraints;
	c->allow = 1;
	c->per_second = t->per_second;
	c->burst = t->burst;
	c->max_topics = p->max_topics;
	c->max_connections = p->max_connections;
	snprintf(c->reason, sizeof c->reason, "tier %d (%.100s): %.6g/s burst %u", (int)tier + 1,
	         why, t->per_second, t->burst);
	if (p->tiers_source[0]) {
		size_t len = strlen(c->reason);
		putf(c->reason + len, sizeof c->reason - len, " (tiers: %s)", p->tiers_source);
	}
	out->tier = (int)(tier + 1);
	return 0;
}

/* ---- JSON views ---- */

json_t *mt_policy_to_json(const mt_policy *p)
{
	if (!p)
		return NULL;
	json_t *tiers = json_array();
	for (size_t i = 0; tiers && i < p->tier_count; i++)
		json_array_append_new(tiers,
		                      json_pack("{s:I, s:f, s:f, s:I}", "tier", (json_int_t)(i + 1),
		                                "min_score", p->tiers[i].min_score, "per_second",
		                                p->tiers[i].per_second, "burst",
		                                (json_int_t)p->tiers[i].burst));
	return json_pack("{s:f, s:b, s:I, s:I, s:s, s:f, s:o*}", "max_gini", p->max_gini,
	                 "enforce_gini", p->enforce_gini, "max_topics", (json_int_t)p->max_topics,
	                 "max_connections", (json_int_t)p->max_connections, "bridge_rule",
	                 p->bridge_rule == MT_BRIDGE_LOWER ? "lower" : "none", "max_top10_share",
	                 p->max_top10_share, "tiers", tiers);
}

json_t *mt_policy_decision_to_json(const mt_policy_decision *d)
{
	if (!d)
		return NULL;
	const mt_constraints *c = &d->constraints;
	return json_pack("{s:b, s:s, s:i, s:{s:f, s:I}, s:I, s:I, s:b, s:s}", "allow", c->allow,
	                 "reason", c->reason, "tier", d->tier, "rate_limit", "per_second",
	                 c->per_second, "burst", (json_int_t)c->burst, "max_topics",
	                 (json_int_t)c->max_topics, "max_connections",
	                 (json_int_t)c->max_connections, "flagged", d->flagged, "alert", d->alert);
}
