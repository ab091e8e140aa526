/* bench_metrics: exact betweenness, ours (mt_metrics_compute) against
 * igraph's C igraph_betweenness, on the shared datasets and generated graphs.
 *
 *   bench_metrics [--data DIR] [--runs N] [--threads N] [--quick] [--no-datasets]
 *                 [--no-75k] [--no-1m] [--igraph-75k] [--igraph-timeout S]
 *
 * Every measurement runs in a forked child, so each gets a clean heap: the
 * child builds its input (our mt_edge_in array, or the igraph_t), then times
 * the computation alone and reports the time, its peak-RSS growth during the
 * computation (ru_maxrss minus the RSS before it started) and the betweenness
 * vector through a pipe. Times are the median of --runs children; ours and
 * igraph's vectors are compared node by node.
 *
 * Graphs follow the data README's benchmark convention: node IDs mapped to
 * 0..n-1 in ascending order, self-loops dropped, signed sets keep RATING > 0.
 * We hand our library the index as the Node ID string, so results map back
 * without a table. Generated graphs: uniform sources, targets half uniform and
 * half preferential (the target of an earlier edge), no self-loops or
 * duplicate pairs, from a fixed seed.
 */
#include "meshtrust/metrics.h"

#include <igraph.h>

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

typedef struct bench_graph {
	const char *name;
	uint32_t node_count;
	uint32_t edge_count;
	uint32_t *src;
	uint32_t *dst;
	uint16_t *score;
} bench_graph;

typedef enum engine { ENGINE_OURS, ENGINE_IGRAPH } engine;

typedef struct measurement {
	int ok; /* 0: failed or timed out */
	int timed_out;
	double seconds;
	double peak_mb;
	double cpu_seconds;  /* user + system CPU of the computation */
	double *betweenness; /* node_count values, by index (first run only) */
} measurement;

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p) {
		fprintf(stderr, "bench_metrics: out of memory (%zu bytes)\n", size);
		exit(1);
	}
	return p;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Read a gzip text file line by line: the callback gets each line. */
static int read_gz_lines(const char *path, void (*on_line)(char *line, void *ctx), void *ctx)
{
	gzFile f = gzopen(path, "rb");
	if (!f) {
		fprintf(stderr, "bench_metrics: cannot open %s\n", path);
		return -1;
	}
	char line[4096];
	while (gzgets(f, line, sizeof line))
		on_line(line, ctx);
	gzclose(f);
	return 0;
}

typedef struct raw_edges {
	uint64_t *ids; /* every ID seen (with repeats) */
	size_t id_count, id_cap;
	uint64_t (*edges)[3]; /* src, dst, score */
	size_t edge_count, edge_cap;
	int signed_set;
} raw_edges;

static void raw_push_id(raw_edges *raw, uint64_t id)
{
	if (raw->id_count == raw->id_cap) {
		raw->id_cap = raw->id_cap ? raw->id_cap * 2 : 65536;
		raw->ids = realloc(raw->ids, raw->id_cap * sizeof *raw->ids);
		if (!raw->ids)
			exit(1);
	}
	raw->ids[raw->id_count++] = id;
}

static void on_dataset_line(char *line, void *ctx)
{
	raw_edges *raw = ctx;
	if (line[0] < '0' || line[0] > '9')
		return; /* the Advogato header line */
	char *end;
	uint64_t src = strtoull(line, &end, 10);
	char *p = end + 1;
	uint64_t dst = strtoull(p, &end, 10);
	p = end + 1;
	long score;
	if (raw->signed_set) {
		long rating = strtol(p, &end, 10);
		score = rating > 0 ? rating * 100 : 0;
	} else {
		score = lround(strtod(p, &end) * 1000.0);
	}
	raw_push_id(raw, src);
	raw_push_id(raw, dst);
	if (src == dst || score <= 0)
		return;
	if (raw->edge_count == raw->edge_cap) {
		raw->edge_cap = raw->edge_cap ? raw->edge_cap * 2 : 65536;
		raw->edges = realloc(raw->edges, raw->edge_cap * sizeof *raw->edges);
		if (!raw->edges)
			exit(1);
	}
	raw->edges[raw->edge_count][0] = src;
	raw->edges[raw->edge_count][1] = dst;
	raw->edges[raw->edge_count][2] = (uint64_t)score;
	raw->edge_count++;
}

static uint32_t index_of(const uint64_t *sorted, size_t count, uint64_t id)
{
	const uint64_t *hit = bsearch(&id, sorted, count, sizeof *sorted, cmp_u64);
	return (uint32_t)(hit - sorted);
}

static int load_dataset(bench_graph *g, const char *name, const char *path, int signed_set)
{
	raw_edges raw = {.signed_set = signed_set};
	if (read_gz_lines(path, on_dataset_line, &raw))
		return -1;
	qsort(raw.ids, raw.id_count, sizeof *raw.ids, cmp_u64);
	size_t unique = 0;
	for (size_t i = 0; i < raw.id_count; i++)
		if (unique == 0 || raw.ids[unique - 1] != raw.ids[i])
			raw.ids[unique++] = raw.ids[i];
	g->name = name;
	g->node_count = (uint32_t)unique;
	g->edge_count = (uint32_t)raw.edge_count;
	g->src = xmalloc(raw.edge_count * sizeof *g->src);
	g->dst = xmalloc(raw.edge_count * sizeof *g->dst);
	g->score = xmalloc(raw.edge_count * sizeof *g->score);
	for (size_t i = 0; i < raw.edge_count; i++) {
		g->src[i] = index_of(raw.ids, unique, raw.edges[i][0]);
		g->dst[i] = index_of(raw.ids, unique, raw.edges[i][1]);
		g->score[i] = (uint16_t)raw.edges[i][2];
	}
	free(raw.ids);
	free(raw.edges);
	return 0;
}

static uint64_t xorshift(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

static void generate_graph(bench_graph *g, const char *name, uint32_t nodes, uint32_t edges,
                           uint64_t seed)
{
	g->name = name;
	g->node_count = nodes;
	g->edge_count = edges;
	g->src = xmalloc((size_t)edges * sizeof *g->src);
	g->dst = xmalloc((size_t)edges * sizeof *g->dst);
	g->score = xmalloc((size_t)edges * sizeof *g->score);
	size_t slots = 1;
	while (slots < (size_t)edges * 2)
		slots <<= 1;
	uint64_t *set = xmalloc(slots * sizeof *set); /* key + 1; 0 = empty */
	memset(set, 0, slots * sizeof *set);
	uint64_t state = seed | 1;
	uint32_t count = 0;
	while (count < edges) {
		uint32_t u = (uint32_t)(xorshift(&state) % nodes);
		uint64_t r = xorshift(&state);
		uint32_t v = (count > 0 && (r & 1)) ? g->dst[(r >> 1) % count]
		                                    : (uint32_t)((r >> 1) % nodes);
		if (u == v)
			continue;
		uint64_t key = ((uint64_t)u << 32 | v) + 1;
		size_t pos = (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 20) & (slots - 1);
		while (set[pos] && set[pos] != key)
			pos = (pos + 1) & (slots - 1);
		if (set[pos])
			continue;
		set[pos] = key;
		g->src[count] = u;
		g->dst[count] = v;
		g->score[count] = (uint16_t)(100 + xorshift(&state) % 901);
		count++;
	}
	free(set);
}

static void free_graph(bench_graph *g)
{
	free(g->src);
	free(g->dst);
	free(g->score);
}

static double current_rss_mb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages_total = 0, pages_resident = 0;
	if (f) {
		if (fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2)
			pages_resident = 0;
		fclose(f);
	}
	return (double)pages_resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

static double cpu_seconds(void)
{
	struct rusage usage;
	getrusage(RUSAGE_SELF, &usage);
	return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 +
	       (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
}

static double peak_rss_mb(void)
{
	struct rusage usage;
	getrusage(RUSAGE_SELF, &usage);
	return (double)usage.ru_maxrss / 1024.0; /* kilobytes on Linux */
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Child side: build the input, time the computation, send the results. */
static void child_run(int fd, const bench_graph *g, engine which, unsigned threads,
                      uint32_t sample_k, double approx_eps)
{
	double *bc = calloc(g->node_count ? g->node_count : 1, sizeof *bc);
	double seconds = 0, rss_before = 0, peak = 0, cpu_before = 0;
	if (!bc)
		_exit(3);
	if (which == ENGINE_OURS) {
		/* Node ID strings are the decimal indices. */
		char *names = xmalloc((size_t)g->node_count * 11);
		for (uint32_t v = 0; v < g->node_count; v++)
			snprintf(names + (size_t)v * 11, 11, "%u", v);
		mt_edge_in *edges = xmalloc((size_t)g->edge_count * sizeof *edges);
		for (uint32_t i = 0; i < g->edge_count; i++) {
			edges[i].src = names + (size_t)g->src[i] * 11;
			edges[i].dst = names + (size_t)g->dst[i] * 11;
			edges[i].scope = "global";
			edges[i].level = MT_LEVEL_FULL;
			edges[i].score = g->score[i];
			edges[i].exp = 0;
		}
		mt_metrics_opts opts;
		mt_metrics_opts_init(&opts);
		opts.threads = threads;
		opts.sample_k = sample_k;
		opts.approx_eps = approx_eps;
		opts.seed = 1;
		mt_metrics_result *result = NULL;
		mt_error err = {0};
		rss_before = current_rss_mb();
		cpu_before = cpu_seconds();
		double start = now_seconds();
		if (mt_metrics_compute(&result, edges, g->edge_count, &opts, &err)) {
			fprintf(stderr, "bench_metrics: %s\n", err.msg);
			_exit(4);
		}
		seconds = now_seconds() - start;
		peak = peak_rss_mb();
		for (size_t i = 0; i < result->node_count; i++)
			bc[strtoul(result->nodes[i].node_id, NULL, 10)] =
			    result->nodes[i].betweenness;
		mt_metrics_result_free(result);
		free(edges);
		free(names);
	} else {
		igraph_vector_int_t edge_vector;
		igraph_vector_int_init(&edge_vector, 2 * (igraph_integer_t)g->edge_count);
		for (uint32_t i = 0; i < g->edge_count; i++) {
			VECTOR(edge_vector)[2 * i] = g->src[i];
			VECTOR(edge_vector)[2 * i + 1] = g->dst[i];
		}
		igraph_t graph;
		if (igraph_create(&graph, &edge_vector, g->node_count, IGRAPH_DIRECTED) !=
		    IGRAPH_SUCCESS)
			_exit(5);
		igraph_vector_int_destroy(&edge_vector);
		igraph_vector_t res;
		igraph_vector_init(&res, 0);
		rss_before = current_rss_mb();
		cpu_before = cpu_seconds();
		double start = now_seconds();
		if (igraph_betweenness(&graph, &res, igraph_vss_all(), IGRAPH_DIRECTED, NULL) !=
		    IGRAPH_SUCCESS)
			_exit(6);
		seconds = now_seconds() - start;
		peak = peak_rss_mb();
		for (uint32_t v = 0; v < g->node_count; v++)
			bc[v] = VECTOR(res)[v];
		igraph_vector_destroy(&res);
		igraph_destroy(&graph);
	}
	double header[3] = {seconds, peak - rss_before, cpu_seconds() - cpu_before};
	if (write_all(fd, header, sizeof header) ||
	    write_all(fd, bc, (size_t)g->node_count * sizeof *bc))
		_exit(7);
	_exit(0);
}

/* Parent side: fork a child for one measurement, with a timeout (0 = none). */
static measurement measure_eps(const bench_graph *g, engine which, unsigned threads,
                               uint32_t sample_k, double approx_eps, double timeout,
                               int want_vector);

static measurement measure(const bench_graph *g, engine which, unsigned threads, uint32_t sample_k,
                           double timeout, int want_vector)
{
	return measure_eps(g, which, threads, sample_k, 0, timeout, want_vector);
}

static measurement measure_eps(const bench_graph *g, engine which, unsigned threads,
                               uint32_t sample_k, double approx_eps, double timeout,
                               int want_vector)
{
	measurement m = {0};
	int fds[2];
	if (pipe(fds) != 0)
		return m;
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return m;
	if (pid == 0) {
		close(fds[0]);
		child_run(fds[1], g, which, threads, sample_k, approx_eps);
	}
	close(fds[1]);
	size_t expect = 3 * sizeof(double) + (size_t)g->node_count * sizeof(double);
	char *buf = xmalloc(expect);
	size_t got = 0;
	double deadline = timeout > 0 ? now_seconds() + timeout : 0;
	while (got < expect) {
		int wait_ms = -1;
		if (deadline > 0) {
			double left = deadline - now_seconds();
			if (left <= 0) {
				m.timed_out = 1;
				break;
			}
			wait_ms = (int)(left * 1000) + 1;
		}
		struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
		int ready = poll(&pfd, 1, wait_ms);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready == 0)
			continue;
		ssize_t r = read(fds[0], buf + got, expect - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fds[0]);
	if (m.timed_out)
		kill(pid, SIGKILL);
	int status = 0;
	waitpid(pid, &status, 0);
	if (got == expect && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		double header[3];
		memcpy(header, buf, sizeof header);
		m.ok = 1;
		m.seconds = header[0];
		m.peak_mb = header[1];
		m.cpu_seconds = header[2];
		if (want_vector) {
			m.betweenness = xmalloc((size_t)g->node_count * sizeof(double));
			memcpy(m.betweenness, buf + sizeof header,
			       (size_t)g->node_count * sizeof(double));
		}
	}
	free(buf);
	return m;
}

/* The 1-minute load average: on a shared machine, wall times mean little
 * without it. */
static double load_average(void)
{
	double load = 0;
	FILE *f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fscanf(f, "%lf", &load) != 1)
			load = 0;
		fclose(f);
	}
	return load;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median time over `runs` measurements; keeps the first run's vector and the
 * largest peak. */
static measurement measure_median(const bench_graph *g, engine which, unsigned threads, int runs,
                                  double timeout)
{
	measurement best = {0};
	double *times = xmalloc((size_t)runs * sizeof *times);
	int ok_runs = 0;
	for (int r = 0; r < runs; r++) {
		measurement m = measure(g, which, threads, 0, timeout, r == 0);
		if (!m.ok) {
			best.timed_out = m.timed_out;
			free(m.betweenness);
			break;
		}
		times[ok_runs++] = m.seconds;
		if (r == 0)
			best.betweenness = m.betweenness;
		if (m.peak_mb > best.peak_mb)
			best.peak_mb = m.peak_mb;
	}
	if (ok_runs == runs) {
		qsort(times, (size_t)runs, sizeof *times, cmp_double);
		best.ok = 1;
		best.seconds =
		    runs % 2 ? times[runs / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2.0;
	}
	free(times);
	return best;
}

/* Largest difference, relative for values >= 1 and absolute below. */
static double max_difference(const double *a, const double *b, uint32_t n)
{
	double worst = 0;
	for (uint32_t v = 0; v < n; v++) {
		double diff = fabs(a[v] - b[v]) / fmax(1.0, fabs(b[v]));
		if (diff > worst)
			worst = diff;
	}
	return worst;
}

static void print_header(void)
{
	printf("%-16s %9s %9s %10s %10s %10s %8s %9s %9s %9s\n", "graph", "nodes", "edges",
	       "ours-2T s", "ours-1T s", "igraph s", "speedup", "ours MB", "igraph MB", "max diff");
}

static int bench_compare(const bench_graph *g, unsigned threads, int runs, double igraph_timeout,
                         int with_igraph)
{
	measurement ours = measure_median(g, ENGINE_OURS, threads, runs, 0);
	measurement single = measure_median(g, ENGINE_OURS, 1, runs, 0);
	measurement ref = {0};
	if (with_igraph)
		ref = measure_median(g, ENGINE_IGRAPH, 1, runs, igraph_timeout);
	int rc = ours.ok && single.ok ? 0 : 1;
	char igraph_time[32] = "-", speedup[32] = "-", igraph_mb[32] = "-", diff[32] = "-";
	if (ref.ok) {
		snprintf(igraph_time, sizeof igraph_time, "%.3f", ref.seconds);
		snprintf(speedup, sizeof speedup, "%.2fx", ref.seconds / ours.seconds);
		snprintf(igraph_mb, sizeof igraph_mb, "%.1f", ref.peak_mb);
		if (ours.betweenness) {
			double d = max_difference(ours.betweenness, ref.betweenness, g->node_count);
			snprintf(diff, sizeof diff, "%.1e", d);
			if (d > 1e-9)
				rc = 1;
		}
	} else if (with_igraph) {
		snprintf(igraph_time, sizeof igraph_time, ref.timed_out ? ">%.0f" : "failed",
		         igraph_timeout);
	}
	if (ours.ok && single.ok && ours.betweenness && single.betweenness &&
	    memcmp(ours.betweenness, single.betweenness, (size_t)g->node_count * sizeof(double)))
		rc = 1; /* threads must not change a bit */
	printf("%-16s %9u %9u %10.3f %10.3f %10s %8s %9.1f %9s %9s\n", g->name, g->node_count,
	       g->edge_count, ours.seconds, single.seconds, igraph_time, speedup, ours.peak_mb,
	       igraph_mb, diff);
	free(ours.betweenness);
	free(single.betweenness);
	free(ref.betweenness);
	return rc;
}

static int usage(void)
{
	fprintf(stderr, "usage: bench_metrics [--data DIR] [--runs N] [--threads N] [--quick]\n"
	                "                     [--no-datasets] [--no-75k] [--no-1m] [--igraph-75k]\n"
	                "                     [--igraph-timeout S]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *data = "../shared/data";
	int runs = 5, datasets = 1, big_75k = 1, big_1m = 1, igraph_75k = 0;
	unsigned threads = 2;
	double igraph_timeout = 900;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *value = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(arg, "--quick") == 0) {
			big_75k = big_1m = 0;
			runs = 3;
		} else if (strcmp(arg, "--no-75k") == 0) {
			big_75k = 0;
		} else if (strcmp(arg, "--no-datasets") == 0) {
			datasets = 0;
		} else if (strcmp(arg, "--no-1m") == 0) {
			big_1m = 0;
		} else if (strcmp(arg, "--igraph-75k") == 0) {
			igraph_75k = 1;
		} else if (value && strcmp(arg, "--data") == 0) {
			data = value;
			i++;
		} else if (value && strcmp(arg, "--runs") == 0) {
			runs = atoi(value);
			i++;
		} else if (value && strcmp(arg, "--threads") == 0) {
			threads = (unsigned)atoi(value);
			i++;
		} else if (value && strcmp(arg, "--igraph-timeout") == 0) {
			igraph_timeout = atof(value);
			i++;
		} else {
			return usage();
		}
	}
	if (runs < 1)
		return usage();

	int rc = 0;
	char path[4096];
	printf("exact betweenness, median of %d runs; ours = mt_metrics_compute (whole call, "
	       "%u threads / 1 thread), igraph %s igraph_betweenness (1 thread)\n",
	       runs, threads, IGRAPH_VERSION);
	printf("load average at start: %.2f (%ld CPUs online)\n", load_average(),
	       sysconf(_SC_NPROCESSORS_ONLN));
	print_header();
	struct {
		const char *name, *file;
		int signed_set;
	} sets[] = {
	    {"advogato", "advogato/out.advogato.gz", 0},
	    {"bitcoin-otc", "soc-sign-bitcoinotc.csv.gz", 1},
	    {"bitcoin-alpha", "soc-sign-bitcoinalpha.csv.gz", 1},
	};
	for (size_t i = 0; datasets && i < sizeof sets / sizeof sets[0]; i++) {
		bench_graph g;
		snprintf(path, sizeof path, "%s/%s", data, sets[i].file);
		if (load_dataset(&g, sets[i].name, path, sets[i].signed_set)) {
			rc = 1;
			continue;
		}
		rc |= bench_compare(&g, threads, runs, igraph_timeout, 1);
		free_graph(&g);
	}

	if (big_75k) {
		bench_graph g;
		generate_graph(&g, "gen-75k", 75000, 500000, 75);
		measurement ours = measure(&g, ENGINE_OURS, threads, 0, 0, 1);
		measurement ref = {0};
		if (igraph_75k)
			ref = measure(&g, ENGINE_IGRAPH, 1, 0, igraph_timeout, 1);
		char igraph_time[32] = "skipped", speedup[32] = "-", igraph_mb[32] = "-",
		     diff[32] = "-";
		if (ref.ok) {
			snprintf(igraph_time, sizeof igraph_time, "%.1f", ref.seconds);
			snprintf(speedup, sizeof speedup, "%.2fx", ref.seconds / ours.seconds);
			snprintf(igraph_mb, sizeof igraph_mb, "%.1f", ref.peak_mb);
			if (ours.betweenness)
				snprintf(diff, sizeof diff, "%.1e",
				         max_difference(ours.betweenness, ref.betweenness,
				                        g.node_count));
		} else if (igraph_75k) {
			snprintf(igraph_time, sizeof igraph_time,
			         ref.timed_out ? ">%.0f" : "failed", igraph_timeout);
		}
		printf("%-16s %9u %9u %10.1f %10s %10s %8s %9.1f %9s %9s%s\n", g.name, g.node_count,
		       g.edge_count, ours.seconds, "-", igraph_time, speedup, ours.peak_mb,
		       igraph_mb, diff,
		       ours.ok && ours.seconds < 300 ? "  (< 300 s: ok" : "  (FAIL: >= 300 s");
		printf("%-16s CPU %.1f s in total (load average when it ended: %.2f))\n", "",
		       ours.cpu_seconds, load_average());
		if (!ours.ok || ours.seconds >= 300)
			rc = 1;
		/* --approx 0.01 (delta 0.1) against the exact values just computed */
		measurement ap = measure_eps(&g, ENGINE_OURS, threads, 0, 0.01, 0, 1);
		if (ap.ok && ours.betweenness) {
			double pairs = (double)g.node_count * (double)(g.node_count - 1);
			double worst = 0; /* absolute, in the unit of the exact value */
			for (uint32_t v = 0; v < g.node_count; v++)
				worst = fmax(worst, fabs(ap.betweenness[v] - ours.betweenness[v]));
			printf("%-16s approx eps 0.01: %.1f s (%.1fx faster than exact), worst "
			       "normalised error %.2e (%s)\n",
			       "", ap.seconds, ours.seconds / ap.seconds, worst / pairs,
			       worst / pairs <= 0.01 ? "within eps" : "FAIL: beyond eps");
			if (worst / pairs > 0.01)
				rc = 1;
		} else {
			printf("%-16s approx eps 0.01: FAILED\n", "");
			rc = 1;
		}
		free(ap.betweenness);
		free(ours.betweenness);
		free(ref.betweenness);
		free_graph(&g);
	}
	if (big_1m) {
		bench_graph g;
		generate_graph(&g, "gen-1m", 1000000, 7000000, 1000);
		measurement ours = measure(&g, ENGINE_OURS, threads, 256, 0, 0);
		printf("%-16s %9u %9u %10.1f %10s %10s %8s %9.1f %9s %9s  (sampled K=256, "
		       "whole call incl. graph build)\n",
		       g.name, g.node_count, g.edge_count, ours.seconds, "-", "-", "-",
		       ours.peak_mb, "-", "-");
		printf("%-16s CPU %.1f s in total\n", "", ours.cpu_seconds);
		if (!ours.ok)
			rc = 1;
		measurement ap = measure_eps(&g, ENGINE_OURS, threads, 0, 0.01, 0, 0);
		printf("%-16s approx eps 0.01 delta 0.1 (every node within 0.01 normalised): %.1f s, "
		       "CPU %.1f s, peak %.1f MB%s\n",
		       "", ap.seconds, ap.cpu_seconds, ap.peak_mb, ap.ok ? "" : "  FAILED");
		if (!ap.ok)
			rc = 1;
		free_graph(&g);
	}
	return rc;
}
