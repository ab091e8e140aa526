/* mt-metrics-tool: metrics of an edge list, as JSON.
 *
 *   mt-metrics-tool [--threads N] [--sample K] [--seed S] [--cap N]
 *                   [--cap-decay D] [--max-gini G] [--approx EPS] [--approx-delta D]
 *                   [--summary-only] [FILE|-]
 *
 * Input: one edge per line, `SRC DST SCORE_PERMILLE` separated by blanks
 * (IDs are arbitrary strings without white space, score 1..1000); blank lines
 * and lines starting with '#' or '%' are skipped. Every edge is a `full`
 * trust edge in scope "global" that never expires. Output: the
 * mt_metrics_result_json() object (with "nodes" unless --summary-only) on
 * stdout; the compute time on stderr. Exit 0 ok, 1 failure, 2 usage. */
#include "meshtrust/metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct edge_list {
	mt_edge_in *edges;
	size_t count;
	size_t capacity;
	char **lines; /* owned line buffers the edge strings point into */
	size_t line_count;
	size_t line_capacity;
} edge_list;

static int usage(void)
{
	fprintf(
	    stderr,
	    "usage: mt-metrics-tool [--threads N] [--sample K] [--seed S] [--cap N]\n"
	    "                       [--cap-decay D] [--max-gini G] [--approx EPS]\n"
	    "                       [--approx-delta D] [--summary-only] [FILE|-]\n");
	return 2;
}

static int parse_number(const char *text, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (errno || end == text || *end)
		return -1;
	*out = v;
	return 0;
}

static int push_line(edge_list *list, char *line)
{
	if (list->line_count == list->line_capacity) {
		size_t grown = list->line_capacity ? list->line_capacity * 2 : 1024;
		char **bigger = realloc(list->lines, grown * sizeof *bigger);
		if (!bigger)
			return -1;
		list->lines = bigger;
		list->line_capacity = grown;
	}
	list->lines[list->line_count++] = line;
	return 0;
}

static int read_edges(FILE *in, const char *name, edge_list *list)
{
	char *line = NULL;
	size_t size = 0;
	ssize_t len;
	size_t line_no = 0;
	while ((len = getline(&line, &size, in)) >= 0) {
		line_no++;
		char *save = NULL;
		char *src = strtok_r(line, " \t\r\n", &save);
		if (!src || src[0] == '#' || src[0] == '%')
			continue;
		char *dst = strtok_r(NULL, " \t\r\n", &save);
		char *score_text = strtok_r(NULL, " \t\r\n", &save);
		char *end = NULL;
		long score = score_text ? strtol(score_text, &end, 10) : 0;
		if (!dst || !score_text || *end || score < 1 || score > 1000) {
			fprintf(stderr, "%s:%zu: expected `SRC DST SCORE_PERMILLE` (1..1000)\n",
			        name, line_no);
			free(line);
			return -1;
		}
		if (list->count == list->capacity) {
			size_t grown = list->capacity ? list->capacity * 2 : 4096;
			mt_edge_in *bigger = realloc(list->edges, grown * sizeof *bigger);
			if (!bigger) {
				free(line);
				return -1;
			}
			list->edges = bigger;
			list->capacity = grown;
		}
		mt_edge_in *e = &list->edges[list->count++];
		e->src = src;
		e->dst = dst;
		e->scope = "global";
		e->level = MT_LEVEL_FULL;
		e->score = (uint16_t)score;
		e->exp = 0;
		/* The strings live in this line's buffer: keep it, start a new one. */
		if (push_line(list, line)) {
			free(line);
			return -1;
		}
		line = NULL;
		size = 0;
	}
	free(line);
	if (ferror(in)) {
		fprintf(stderr, "%s: read error\n", name);
		return -1;
	}
	return 0;
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
	mt_metrics_opts opts;
	mt_metrics_opts_init(&opts);
	double max_gini = 0.7;
	int per_node = 1;
	const char *path = "-";
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		double value;
		if (strcmp(arg, "--summary-only") == 0) {
			per_node = 0;
			continue;
		}
		if (arg[0] == '-' && arg[1] == '-') {
			if (i + 1 >= argc || parse_number(argv[i + 1], &value))
				return usage();
			i++;
			if (strcmp(arg, "--threads") == 0)
				opts.threads = (unsigned)value;
			else if (strcmp(arg, "--sample") == 0)
				opts.sample_k = (uint32_t)value;
			else if (strcmp(arg, "--seed") == 0)
				opts.seed = (uint64_t)value;
			else if (strcmp(arg, "--cap") == 0)
				opts.cap = (uint32_t)value;
			else if (strcmp(arg, "--cap-decay") == 0)
				opts.cap_decay = value;
			else if (strcmp(arg, "--max-gini") == 0)
				max_gini = value;
			else if (strcmp(arg, "--approx") == 0)
				opts.approx_eps = value;
			else if (strcmp(arg, "--approx-delta") == 0)
				opts.approx_delta = value;
			else
				return usage();
			continue;
		}
		path = arg;
	}

	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (!in) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	edge_list list = {0};
	int status = 1;
	mt_metrics_result *result = NULL;
	char *json = NULL;
	if (read_edges(in, path, &list))
		goto done;

	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	mt_error err = {0};
	if (mt_metrics_compute(&result, list.edges, list.count, &opts, &err)) {
		fprintf(stderr, "mt-metrics-tool: %s\n", err.msg);
		goto done;
	}
	fprintf(stderr, "mt-metrics-tool: %zu nodes, %zu edges, computed in %.3f s\n",
	        result->node_count, result->edge_count, seconds_since(&start));
	if (mt_metrics_result_json(&json, result, per_node, max_gini)) {
		fprintf(stderr, "mt-metrics-tool: out of memory\n");
		goto done;
	}
	if (puts(json) < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "mt-metrics-tool: write error\n");
		goto done;
	}
	status = 0;
done:
	if (in != stdin)
		fclose(in);
	free(json);
	mt_metrics_result_free(result);
	for (size_t i = 0; i < list.line_count; i++)
		free(list.lines[i]);
	free(list.lines);
	free(list.edges);
	return status;
}
