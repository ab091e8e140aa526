/* Pure parsing part of the edge-list importer (see edgelist_parse.h). */
#include "edgelist_parse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/edge.h"
#include "meshtrust/error.h"

void el_graph_free(el_graph *g)
{
	for (size_t i = 0; i < g->n_edges; i++)
		free(g->edges[i].canon);
	free(g->edges);
	free(g->nodes);
	free(g->ids);
	free(g->src_first);
}

static int push_node(el_graph *g, uint64_t num)
{
	if (g->n_nodes == g->cap_nodes) {
		size_t cap = g->cap_nodes ? g->cap_nodes * 2 : 8192;
		uint64_t *p = realloc(g->nodes, cap * sizeof *p);
		if (!p)
			return MT_ENOMEM;
		g->nodes = p;
		g->cap_nodes = cap;
	}
	g->nodes[g->n_nodes++] = num;
	return 0;
}

static int push_edge(el_graph *g, const el_edge *e)
{
	if (g->n_edges == g->cap_edges) {
		size_t cap = g->cap_edges ? g->cap_edges * 2 : 8192;
		el_edge *p = realloc(g->edges, cap * sizeof *p);
		if (!p)
			return MT_ENOMEM;
		g->edges = p;
		g->cap_edges = cap;
	}
	g->edges[g->n_edges++] = *e;
	return 0;
}

/* ---- parsing ------------------------------------------------------------- */

/* A node number: decimal digits only, < 2^63. */
static int parse_node(uint64_t *out, const char *s)
{
	uint64_t v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_C(1) << 59))
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v >= (UINT64_C(1) << 63))
		return -1;
	*out = v;
	return 0;
}

/* A signed integer of at most 18 digits. */
static int parse_int(int64_t *out, const char *s)
{
	int neg = 0, digits = 0;
	int64_t v = 0;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	for (; *s; s++, digits++) {
		if (*s < '0' || *s > '9' || digits >= 18)
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (!digits)
		return -1;
	*out = neg ? -v : v;
	return 0;
}

/* A plain decimal weight ("1", ".8", "0.6", "-1"); no exponent, no inf/nan. */
static int parse_weight(double *out, const char *s)
{
	const char *p = s;
	int digits = 0, dots = 0;
	if (*p == '-' || *p == '+')
		p++;
	for (; *p; p++) {
		if (*p == '.')
			dots++;
		else if (*p >= '0' && *p <= '9')
			digits++;
		else
			return -1;
	}
	if (!digits || dots > 1)
		return -1;
	*out = strtod(s, NULL);
	return 0;
}

/* A Unix time: integer seconds, optionally with a fraction (dropped). */
static int parse_time(int64_t *out, const char *s)
{
	char buf[32];
	const char *dot = strchr(s, '.');
	size_t n = dot ? (size_t)(dot - s) : strlen(s);
	if (n == 0 || n >= sizeof buf || s[0] == '-' || s[0] == '+')
		return -1;
	if (dot) {
		if (!dot[1])
			return -1;
		for (const char *q = dot + 1; *q; q++)
			if (*q < '0' || *q > '9')
				return -1;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	return parse_int(out, buf);
}

/* Split `line` in place at any of `seps`; empty fields are skipped when
 * `merge` (runs of white space), kept otherwise (CSV). Returns the count. */
static int split(char *line, const char *seps, int merge, char **fields, int max)
{
	int n = 0;
	char *p = line;
	for (;;) {
		if (merge)
			while (*p && strchr(seps, *p))
				p++;
		if (!*p && (merge || n > 0))
			break;
		if (n == max)
			return max + 1;
		fields[n++] = p;
		while (*p && !strchr(seps, *p))
			p++;
		if (!*p)
			break;
		*p++ = '\0';
	}
	return n;
}

int el_parse_line(el_graph *g, char *line, uint32_t lineno, const el_parse_opts *po,
		      char *why, size_t whysz)
{
	char *f[6];
	int n;
	el_edge e = {0};
	e.line = lineno;
	e.ts = EL_FIXED_TS;
	e.score = 1000;
	int positive = 1;

	switch (po->format) {
	case EL_KONECT:
		if (line[0] < '0' || line[0] > '9')
			return 0; /* header or % comment */
		n = split(line, " \t", 1, f, 4);
		if (n < 3 || n > 4) {
			snprintf(why, whysz, "expected FROM TO WEIGHT [TIME], found %d field(s)",
				 n > 4 ? 5 : n);
			return -1;
		}
		double w;
		if (parse_weight(&w, f[2])) {
			snprintf(why, whysz, "weight \"%.40s\" is not a decimal number", f[2]);
			return -1;
		}
		if (w <= 0) {
			positive = 0;
		} else {
			long permille = lround(w * 1000.0);
			if (w > 1.0 || permille < 1) {
				snprintf(why, whysz,
					 "weight %.40s is outside (0, 1] (0.001 at least once "
					 "rounded to permille)",
					 f[2]);
				return -1;
			}
			e.score = (uint16_t)permille;
		}
		break;
	case EL_CSV_SIGNED: {
		if (!line[0])
			return 0;
		n = split(line, ",", 0, f, 4);
		if (n != 4) {
			snprintf(why, whysz, "expected SOURCE,TARGET,RATING,TIME, found %d field(s)",
				 n > 4 ? 5 : n);
			return -1;
		}
		int64_t rating, t;
		if (parse_int(&rating, f[2]) || rating < -10 || rating > 10) {
			snprintf(why, whysz, "rating \"%.40s\" is not an integer in -10..10", f[2]);
			return -1;
		}
		if (parse_time(&t, f[3])) {
			snprintf(why, whysz, "time \"%.40s\" is not Unix seconds", f[3]);
			return -1;
		}
		if (rating <= 0)
			positive = 0;
		else
			e.score = (uint16_t)(rating * 100);
		if (t > 0 && t <= po->now)
			e.ts = t;
		break;
	}
	case EL_SNAP:
		if (!line[0] || line[0] == '#')
			return 0;
		n = split(line, " \t", 1, f, 3);
		if (n == 0)
			return 0; /* blank but for spaces */
		if (n < 2 || n > 3) {
			snprintf(why, whysz, "expected FROM TO [SIGN], found %d field(s)",
				 n > 3 ? 4 : n);
			return -1;
		}
		if (n == 3) {
			int64_t sign;
			if (parse_int(&sign, f[2])) {
				snprintf(why, whysz, "sign \"%.40s\" is not an integer", f[2]);
				return -1;
			}
			positive = sign > 0;
		}
		break;
	}
	if (parse_node(&e.src_num, f[0]) || parse_node(&e.dst_num, f[1])) {
		snprintf(why, whysz, "node \"%.40s\" is not a non-negative integer",
			 parse_node(&e.src_num, f[0]) ? f[0] : f[1]);
		return -1;
	}
	if (push_node(g, e.src_num) || push_node(g, e.dst_num)) {
		snprintf(why, whysz, "out of memory");
		return -1;
	}
	if (e.src_num == e.dst_num) {
		g->self_loops++;
		return 0;
	}
	if (!positive) {
		g->not_positive++;
		return 0;
	}
	e.level = po->limited_below && e.score < po->limited_below ? MT_LEVEL_LIMITED
								     : MT_LEVEL_FULL;
	if (push_edge(g, &e)) {
		snprintf(why, whysz, "out of memory");
		return -1;
	}
	return 0;
}
