/* The SPEC §8 JSON rendering of a metrics result, written by hand so the
 * module needs nothing but libc. */
#include "meshtrust/metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct text_buf {
	char *data;
	size_t len;
	size_t cap;
	int failed;
} text_buf;

static void reserve(text_buf *buf, size_t extra)
{
	if (buf->failed || buf->len + extra + 1 <= buf->cap)
		return;
	size_t cap = buf->cap ? buf->cap : 256;
	while (cap < buf->len + extra + 1)
		cap *= 2;
	char *bigger = realloc(buf->data, cap);
	if (!bigger) {
		buf->failed = 1;
		return;
	}
	buf->data = bigger;
	buf->cap = cap;
}

static void append(text_buf *buf, const char *text, size_t len)
{
	reserve(buf, len);
	if (buf->failed)
		return;
	memcpy(buf->data + buf->len, text, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
}

static void append_str(text_buf *buf, const char *text)
{
	append(buf, text, strlen(text));
}

static void append_fmt(text_buf *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void append_fmt(text_buf *buf, const char *fmt, ...)
{
	char small[128];
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (len < 0) {
		buf->failed = 1;
		return;
	}
	if ((size_t)len < sizeof small) {
		append(buf, small, (size_t)len);
		return;
	}
	reserve(buf, (size_t)len);
	if (buf->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(buf->data + buf->len, (size_t)len + 1, fmt, ap);
	va_end(ap);
	buf->len += (size_t)len;
}

/* A JSON number that parses back to the same double; JSON has no NaN or
 * infinity, which never arise here but would be written as null. */
static void append_double(text_buf *buf, double value)
{
	if (!isfinite(value)) {
		append_str(buf, "null");
		return;
	}
	append_fmt(buf, "%.17g", value);
}

/* A JSON string: `"` and `\` escaped, control characters as \u00xx,
 * everything else (UTF-8 included) raw. */
static void append_json_string(text_buf *buf, const char *text)
{
	append(buf, "\"", 1);
	const char *run = text;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p != '"' && *p != '\\' && *p >= 0x20)
			continue;
		append(buf, run, (size_t)((const char *)p - run));
		if (*p == '"' || *p == '\\') {
			char escaped[2] = {'\\', (char)*p};
			append(buf, escaped, 2);
		} else {
			append_fmt(buf, "\\u%04x", *p);
		}
		run = (const char *)p + 1;
	}
	append_str(buf, run);
	append(buf, "\"", 1);
}

int mt_metrics_result_json(char **out, const mt_metrics_result *result, int per_node,
                           double max_gini)
{
	if (!out)
		return MT_EINVAL;
	*out = NULL;
	if (!result)
		return MT_EINVAL;

	text_buf buf = {0};
	append_str(&buf, "{\"scope\":");
	append_json_string(&buf, result->scope ? result->scope : "global");
	append_fmt(&buf, ",\"node_count\":%zu,\"edge_count\":%zu,\"total_inbound_trust\":",
	           result->node_count, result->edge_count);
	append_double(&buf, result->total_inbound_trust);
	append_str(&buf, ",\"gini\":");
	append_double(&buf, result->gini);
	append_str(&buf, ",\"top_10_percent_share\":");
	append_double(&buf, result->top_10_percent_share);
	append_str(&buf, ",\"betweenness\":{\"max\":");
	append_double(&buf, result->betweenness.max);
	append_str(&buf, ",\"mean\":");
	append_double(&buf, result->betweenness.mean);
	append_str(&buf, ",\"std_dev\":");
	append_double(&buf, result->betweenness.std_dev);
	append_fmt(&buf, ",\"sources\":%zu,\"sampled\":%s", result->betweenness_sources,
	           result->sampled ? "true" : "false");
	if (result->approx_eps > 0) {
		append_str(&buf, ",\"approx\":{\"eps\":");
		append_double(&buf, result->approx_eps);
		append_str(&buf, ",\"delta\":");
		append_double(&buf, result->approx_delta);
		append_fmt(&buf, ",\"samples\":%llu,\"vertex_diameter_bound\":%u}",
		           (unsigned long long)result->approx_samples, result->approx_vd_bound);
	}
	append_str(&buf, "}");
	append_str(&buf, ",\"alert\":");
	if (result->gini > max_gini) {
		char message[300];
		/* the wording of mt_policy_gini_alert (policy.h), without a source */
		snprintf(message, sizeof message,
		         "scope %s is too centralised: gini %.2f > policy.maxGini %.2f",
		         result->scope, result->gini, max_gini);
		append_json_string(&buf, message);
	} else {
		append_str(&buf, "null");
	}
	if (per_node) {
		append_str(&buf, ",\"nodes\":[");
		for (size_t i = 0; i < result->node_count; i++) {
			const mt_metrics_node *node = &result->nodes[i];
			append_str(&buf, i ? ",{\"node_id\":" : "{\"node_id\":");
			append_json_string(&buf, node->node_id);
			append_str(&buf, ",\"inbound_trust\":");
			append_double(&buf, node->inbound_trust);
			append_str(&buf, ",\"betweenness\":");
			append_double(&buf, node->betweenness);
			append_str(&buf, "}");
		}
		append_str(&buf, "]");
	}
	append_str(&buf, "}");
	if (buf.failed) {
		free(buf.data);
		return MT_ENOMEM;
	}
	*out = buf.data;
	return 0;
}
