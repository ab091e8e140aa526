/* Times as people write them (issue #21): Unix seconds, ISO 8601 dates and
 * date-times, "now", and "N<unit> ago". */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define TIME_MAX 9007199254740991LL /* what JSON numbers hold exactly */

/* Parse exactly `n` digits at *p into *out, advancing. */
static int digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

/* "N<unit> ago" / "N <unit> ago": seconds back from now. */
static int ago(const char *t, int64_t now, int64_t *out)
{
	char *end;
	if (!isdigit((unsigned char)*t))
		return -1;
	long long n = strtoll(t, &end, 10);
	while (*end == ' ')
		end++;
	static const struct {
		const char *unit;
		int64_t secs;
	} U[] = {{"s", 1},       {"sec", 1},       {"secs", 1},     {"second", 1},
		 {"seconds", 1}, {"m", 60},        {"min", 60},     {"mins", 60},
		 {"minute", 60}, {"minutes", 60},  {"h", 3600},     {"hour", 3600},
		 {"hours", 3600}, {"d", 86400},    {"day", 86400},  {"days", 86400},
		 {"w", 604800},  {"week", 604800}, {"weeks", 604800}};
	const char *sp = strchr(end, ' ');
	if (!sp || strcmp(sp, " ago") != 0)
		return -1;
	size_t ul = (size_t)(sp - end);
	for (size_t i = 0; i < sizeof U / sizeof *U; i++)
		if (strlen(U[i].unit) == ul && strncmp(end, U[i].unit, ul) == 0) {
			if (n < 0 || n > TIME_MAX / U[i].secs)
				return -1;
			*out = now - (int64_t)n * U[i].secs;
			return *out >= 0 ? 0 : -1;
		}
	return -1;
}

/* YYYY-MM-DD[(T| )HH:MM[:SS]][Z|±HH[:]MM]; without a zone, local time. */
static int iso(const char *t, int64_t *out)
{
	const char *p = t;
	int y, mo, d, h = 0, mi = 0, s = 0, zone = 0, off = 0;
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d))
		return -1;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
			return -1;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &s))
				return -1;
		}
	}
	if (*p == 'Z') {
		zone = 1;
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om;
		if (digits(&p, 2, &oh))
			return -1;
		if (*p == ':')
			p++;
		if (digits(&p, 2, &om) || oh > 23 || om > 59)
			return -1;
		zone = 1;
		off = sign * (oh * 3600 + om * 60);
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || y < 1970)
		return -1;
	struct tm tm = {0};
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	tm.tm_isdst = -1;
	time_t v = zone ? timegm(&tm) : mktime(&tm);
	if (v == (time_t)-1 || tm.tm_mday != d) /* 2026-02-31 normalises: refused */
		return -1;
	*out = (int64_t)v - off;
	return *out >= 0 ? 0 : -1;
}

int mesh_parse_time(int64_t *out, const char *text, const char *argname, int64_t now,
		    mt_error *err)
{
	if (text && strcmp(text, "now") == 0) {
		*out = now;
		return 0;
	}
	int all_digits = text && *text;
	for (const char *c = text; c && *c; c++)
		all_digits &= isdigit((unsigned char)*c) != 0;
	if (all_digits && strlen(text) <= 16) {
		long long v = strtoll(text, NULL, 10);
		if (v <= TIME_MAX) {
			*out = v;
			return 0;
		}
	}
	if (text && (ago(text, now, out) == 0 || iso(text, out) == 0))
		return 0;
	return mt_error_set(err, MT_EINVAL,
			    "%s: \"%.60s\" is not a time (Unix seconds, 2026-01-01, "
			    "2026-01-01T10:00:00Z, 2026-01-01T10:00+02:00, \"30d ago\" or \"now\")",
			    argname, text ? text : "");
}

void mesh_format_time(char out[40], int64_t t)
{
	time_t v = (time_t)t;
	struct tm tm;
	if (!localtime_r(&v, &tm) || !strftime(out, 40, "%Y-%m-%d %H:%M:%S %Z", &tm))
		snprintf(out, 40, "%lld", (long long)t);
}

void mesh_format_iso(char out[32], int64_t t)
{
	time_t v = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&v, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "%lld", (long long)t);
}
