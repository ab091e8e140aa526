/* bench_trust: full SPEC §3 trust queries (mt_engine_trust) against igraph's
 * plain breadth-first search to the same depth from the same viewpoints.
 *
 * Datasets: Advogato, Bitcoin OTC, Bitcoin Alpha (from $MT_SHARED_DIR/data or
 * the directory given with --data) and a generated Chung-Lu power-law graph
 * (--gen-nodes N --gen-edges M, default 1,000,000 / 10,000,000; --gen-nodes 0
 * skips it). For each dataset the engine and an igraph_t are built once; 100
 * viewpoints with out-degree > 0 are drawn with a fixed seed; for depths 2, 3
 * and 4 every viewpoint is timed once per method and the medians are printed.
 *
 * igraph methods timed: igraph_neighborhood(order = depth, mode OUT), which
 * stops expanding at the depth, and igraph_bfs with a callback returning
 * IGRAPH_STOP at the first vertex beyond the depth (that one scans the last
 * layer's edges too). The ratio uses the faster of the two per row.
 *
 * The flow modes (flow.h) are timed in the same run from the same viewpoints:
 * flow with the default schedule (MT_FLOW_DEFAULT_CAPACITIES) and
 * flow-adaptive (issue #23), full answers (mt_flow_trust); "fa/bp" is the
 * ratio of the flow-adaptive median to best-path's, "fa_acc" the mean number
 * of nodes it accepts.
 *
 * Every timed call is preceded by settle_allocator() (untimed): glibc defers
 * the consolidation of freed small chunks to the next large allocation, so
 * the thousands of small frees igraph_bfs leaves behind were otherwise paid
 * inside the next timed call (mt_engine_trust's result allocation, about
 * 20 us per query at depth 3, half its time there). */
#include <igraph.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "meshtrust/engine.h"
#include "meshtrust/flow.h"

#define N_VIEW 100

typedef struct raw_edge {
	uint32_t src, dst; /* dense indexes, ascending by original ID */
	uint16_t score;
	uint8_t level;
} raw_edge;

typedef struct dataset {
	const char *name;
	size_t n, m;
	raw_edge *edges;
} dataset;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint64_t rng_next(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s)
{
	return (double)(rng_next(s) >> 11) * 0x1p-53;
}

static void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p) {
		fprintf(stderr, "bench_trust: out of memory (%zu bytes)\n", size);
		exit(1);
	}
	return p;
}

/* ---- loading ---------------------------------------------------------------- */

typedef struct id_edge {
	long src, dst;
	uint16_t score;
	uint8_t level;
	uint8_t keep; /* 0: the row only contributes its IDs to the node set */
} id_edge;

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

static uint32_t dense_of(const long *ids, size_t n, long id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (uint32_t)lo;
}

/* Map original numeric IDs to 0..n-1 in ascending order. The node set is
 * every ID in the file (data/README.md's benchmark convention), so igraph
 * gets n = 6,539 / 5,881 / 3,783; the engine only holds nodes with edges. */
static void densify(dataset *d, id_edge *ie, size_t m)
{
	long *ids = xmalloc(2 * m * sizeof *ids);
	for (size_t i = 0; i < m; i++) {
		ids[2 * i] = ie[i].src;
		ids[2 * i + 1] = ie[i].dst;
	}
	qsort(ids, 2 * m, sizeof *ids, cmp_long);
	size_t n = 0;
	for (size_t i = 0; i < 2 * m; i++)
		if (i == 0 || ids[i] != ids[i - 1])
			ids[n++] = ids[i];
	d->n = n;
	d->edges = xmalloc(m * sizeof *d->edges);
	d->m = 0;
	for (size_t i = 0; i < m; i++)
		if (ie[i].keep)
			d->edges[d->m++] = (raw_edge){dense_of(ids, n, ie[i].src), dense_of(ids, n, ie[i].dst),
						      ie[i].score, ie[i].level};
	free(ids);
}

static int load_file(dataset *d, const char *path, int csv)
{
	gzFile f = gzopen(path, "rb");
	if (!f) {
		fprintf(stderr, "bench_trust: cannot open %s (skipped)\n", path);
		return -1;
	}
	size_t cap = 1 << 16, m = 0;
	id_edge *ie = xmalloc(cap * sizeof *ie);
	char line[512];
	while (gzgets(f, line, sizeof line)) {
		if (line[0] < '0' || line[0] > '9')
			continue;
		long a, b;
		double w;
		long rating, t;
		id_edge e;
		if (csv) {
			if (sscanf(line, "%ld,%ld,%ld,%ld", &a, &b, &rating, &t) != 4)
				continue;
			e = (id_edge){a, b, (uint16_t)(rating > 0 ? rating * 100 : 0), MT_LEVEL_FULL, rating > 0};
		} else {
			if (sscanf(line, "%ld %ld %lf", &a, &b, &w) != 3)
				continue;
			uint16_t score = (uint16_t)(w * 1000.0 + 0.5);
			/* apprentice certificates (0.6) as limited, the others full */
			e = (id_edge){a, b, score, score < 700 ? MT_LEVEL_LIMITED : MT_LEVEL_FULL, 1};
		}
		if (a == b)
			e.keep = 0; /* self-loops dropped, their IDs kept */
		if (m == cap) {
			cap *= 2;
			id_edge *x = realloc(ie, cap * sizeof *ie);
			if (!x) {
				fprintf(stderr, "bench_trust: out of memory\n");
				exit(1);
			}
			ie = x;
		}
		ie[m++] = e;
	}
	gzclose(f);
	densify(d, ie, m);
	free(ie);
	return 0;
}

/* LSD radix sort of 64-bit keys (src << 32 | dst). */
static void radix_sort(uint64_t *a, size_t n, int bits)
{
	uint64_t *tmp = xmalloc(n * sizeof *tmp);
	for (int shift = 0; shift < bits; shift += 16) {
		size_t *count = calloc(65537, sizeof *count);
		if (!count)
			exit(1);
		for (size_t i = 0; i < n; i++)
			count[((a[i] >> shift) & 0xffff) + 1]++;
		for (size_t i = 0; i < 65536; i++)
			count[i + 1] += count[i];
		for (size_t i = 0; i < n; i++)
			tmp[count[(a[i] >> shift) & 0xffff]++] = a[i];
		memcpy(a, tmp, n * sizeof *a);
		free(count);
	}
	free(tmp);
}

/* Chung-Lu style power law: P(src = i) ∝ w_i and P(dst = j) ∝ w_j with
 * w_k = (k + 1)^(-1/(γ-1)), γ = 2.3, independently permuted for the two
 * ends; self-loops and duplicates redrawn until exactly m distinct edges. */
static void generate(dataset *d, size_t n, size_t m, uint64_t seed)
{
	double *cum = xmalloc(n * sizeof *cum);
	double total = 0;
	for (size_t k = 0; k < n; k++) {
		total += 1.0 / pow((double)(k + 1), 1.0 / 1.3);
		cum[k] = total;
	}
	uint32_t *perm_out = xmalloc(n * sizeof *perm_out), *perm_in = xmalloc(n * sizeof *perm_in);
	for (size_t k = 0; k < n; k++)
		perm_out[k] = perm_in[k] = (uint32_t)k;
	for (size_t k = n; k-- > 1;) {
		size_t j = rng_next(&seed) % (k + 1);
		uint32_t t = perm_out[k];
		perm_out[k] = perm_out[j];
		perm_out[j] = t;
		j = rng_next(&seed) % (k + 1);
		t = perm_in[k];
		perm_in[k] = perm_in[j];
		perm_in[j] = t;
	}
	uint64_t *keys = xmalloc(m * sizeof *keys);
	size_t have = 0;
	int bits = 64;
	while (have < m) {
		size_t want = m - have;
		for (size_t i = 0; i < want; i++) {
			uint64_t key;
			do {
				double r1 = rng_unit(&seed) * total, r2 = rng_unit(&seed) * total;
				size_t lo = 0, hi = n - 1;
				while (lo < hi) {
					size_t mid = (lo + hi) / 2;
					if (cum[mid] < r1)
						lo = mid + 1;
					else
						hi = mid;
				}
				uint32_t s = perm_out[lo];
				lo = 0, hi = n - 1;
				while (lo < hi) {
					size_t mid = (lo + hi) / 2;
					if (cum[mid] < r2)
						lo = mid + 1;
					else
						hi = mid;
				}
				uint32_t t = perm_in[lo];
				key = (uint64_t)s << 32 | t;
				if (s == t)
					key = UINT64_MAX;
			} while (key == UINT64_MAX);
			keys[have + i] = key;
		}
		radix_sort(keys, m, bits);
		size_t u = 0;
		for (size_t i = 0; i < m; i++)
			if (i == 0 || keys[i] != keys[i - 1])
				keys[u++] = keys[i];
		have = u;
	}
	d->n = n;
	d->m = m;
	d->edges = xmalloc(m * sizeof *d->edges);
	for (size_t i = 0; i < m; i++) {
		uint64_t r = rng_next(&seed);
		d->edges[i] = (raw_edge){(uint32_t)(keys[i] >> 32), (uint32_t)keys[i], (uint16_t)(100 + r % 901),
					 (r >> 32) % 10 == 0 ? MT_LEVEL_LIMITED : MT_LEVEL_FULL};
	}
	free(keys);
	free(cum);
	free(perm_out);
	free(perm_in);
}

/* ---- timing ----------------------------------------------------------------- */

typedef struct bfs_limit {
	igraph_integer_t depth;
	igraph_integer_t seen;
} bfs_limit;

static igraph_error_t bfs_cb(const igraph_t *g, igraph_integer_t vid, igraph_integer_t pred, igraph_integer_t succ,
			     igraph_integer_t rank, igraph_integer_t dist, void *extra)
{
	(void)g, (void)vid, (void)pred, (void)succ, (void)rank;
	bfs_limit *l = extra;
	if (dist > l->depth)
		return IGRAPH_STOP;
	l->seen++;
	return IGRAPH_SUCCESS;
}

/* Settle the allocator outside the timings: one large malloc/free makes
 * glibc consolidate the chunks the previous call freed, so that no timed
 * call pays for another's frees. Done before every timed call alike. */
static void settle_allocator(void)
{
	void *volatile p = malloc(1 << 16);
	free(p);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void run_dataset(const dataset *d)
{
	/* engine */
	char (*names)[12] = xmalloc(d->n * sizeof *names);
	for (size_t i = 0; i < d->n; i++)
		snprintf(names[i], sizeof names[i], "n%08u", (unsigned)i);
	mt_edge_in *in = xmalloc(d->m * sizeof *in);
	for (size_t i = 0; i < d->m; i++)
		in[i] = (mt_edge_in){names[d->edges[i].src], names[d->edges[i].dst], "global",
				     (mt_level)d->edges[i].level, d->edges[i].score, 0};
	mt_engine *e = NULL;
	mt_error err = {0};
	double t0 = now_ms();
	if (mt_engine_new(&e, in, d->m, &err) != 0) {
		fprintf(stderr, "bench_trust: %s: %s\n", d->name, err.msg);
		exit(1);
	}
	double t_build = now_ms() - t0;
	free(in);
	mt_engine_stats st;
	mt_engine_stats_get(e, &st);

	/* igraph */
	igraph_vector_int_t ev;
	igraph_vector_int_init(&ev, (igraph_integer_t)(2 * d->m));
	for (size_t i = 0; i < d->m; i++) {
		VECTOR(ev)[2 * i] = d->edges[i].src;
		VECTOR(ev)[2 * i + 1] = d->edges[i].dst;
	}
	igraph_t g;
	t0 = now_ms();
	igraph_create(&g, &ev, (igraph_integer_t)d->n, IGRAPH_DIRECTED);
	double t_igraph = now_ms() - t0;
	igraph_vector_int_destroy(&ev);

	/* viewpoints: fixed seed, out-degree > 0 */
	uint32_t *outdeg = calloc(d->n, sizeof *outdeg);
	for (size_t i = 0; i < d->m; i++)
		outdeg[d->edges[i].src]++;
	uint32_t views[N_VIEW];
	uint64_t seed = 20240601;
	for (int k = 0; k < N_VIEW;) {
		uint32_t v = (uint32_t)(rng_next(&seed) % d->n);
		if (outdeg[v] > 0)
			views[k++] = v;
	}
	free(outdeg);

	fprintf(stderr, "# %s: engine build %.0f ms, igraph_create %.0f ms\n", d->name, t_build, t_igraph);
	mt_engine_scratch *s = NULL;
	if (mt_engine_scratch_new(&s, e, &err) != 0)
		exit(1);
	static const double decay[] = {1.0, 1.0, 0.5, 0.25, 0.125};
	uint32_t cap[MT_FLOW_MAX_CAPACITIES];
	size_t n_cap = 0;
	mt_flow_capacities_parse(cap, &n_cap, MT_FLOW_DEFAULT_CAPACITIES, NULL);
	for (int depth = 2; depth <= 4; depth++) {
		double ours[N_VIEW], nb[N_VIEW], bf[N_VIEW], fl[N_VIEW], fa[N_VIEW];
		size_t reached_ours = 0, reached_ig = 0, accepted_fa = 0;
		for (int k = 0; k < N_VIEW; k++) {
			mt_trust_query q = {.viewpoint = names[views[k]], .scope = "global", .at = 1800000000,
					    .max_depth = depth, .decay = decay, .n_decay = 5};
			mt_trust_result *r = NULL;
			settle_allocator();
			t0 = now_ms();
			if (mt_engine_trust(&r, e, &q, s, &err) != 0) {
				fprintf(stderr, "bench_trust: %s\n", err.msg);
				exit(1);
			}
			ours[k] = now_ms() - t0;
			reached_ours += r->count;
			mt_trust_result_free(r);

			for (int adaptive = 0; adaptive < 2; adaptive++) {
				mt_flow_query fq = {names[views[k]], "global", 1800000000, depth,
						    adaptive ? NULL : cap, adaptive ? 0 : n_cap};
				mt_flow_result *fr = NULL;
				settle_allocator();
				t0 = now_ms();
				if (mt_flow_trust(&fr, e, &fq, &err) != 0) {
					fprintf(stderr, "bench_trust: %s\n", err.msg);
					exit(1);
				}
				(adaptive ? fa : fl)[k] = now_ms() - t0;
				if (adaptive)
					accepted_fa += fr->count;
				mt_flow_result_free(fr);
			}

			igraph_vector_int_list_t res;
			igraph_vector_int_list_init(&res, 0);
			settle_allocator();
			t0 = now_ms();
			igraph_neighborhood(&g, &res, igraph_vss_1(views[k]), depth, IGRAPH_OUT, 1);
			nb[k] = now_ms() - t0;
			reached_ig += (size_t)igraph_vector_int_size(igraph_vector_int_list_get_ptr(&res, 0));
			igraph_vector_int_list_destroy(&res);

			bfs_limit lim = {depth, 0};
			settle_allocator();
			t0 = now_ms();
			igraph_bfs(&g, views[k], NULL, IGRAPH_OUT, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, bfs_cb,
				   &lim);
			bf[k] = now_ms() - t0;
		}
		double mo = median(ours, N_VIEW), mn = median(nb, N_VIEW), mb = median(bf, N_VIEW);
		double mfl = median(fl, N_VIEW), mfa = median(fa, N_VIEW);
		double best = mn < mb ? mn : mb;
		printf("%-14s %9zu %10zu %5d %10.3f %12.3f %10.3f %7.2f (%s) %8.2f %9.0f %9.0f %9.3f %9.3f "
		       "%6.1f %7.0f\n",
		       d->name, d->n, d->m, depth, mo, mn, mb, mo / best, mn < mb ? "nbhd" : "bfs",
		       st.bytes_per_edge, (double)reached_ours / N_VIEW, (double)reached_ig / N_VIEW, mfl,
		       mfa, mfa / mo, (double)accepted_fa / N_VIEW);
		fflush(stdout);
	}
	mt_engine_scratch_free(s);
	igraph_destroy(&g);
	mt_engine_free(e);
	free(names);
}

int main(int argc, char **argv)
{
	const char *data = MT_SHARED_DIR "/data";
	size_t gen_n = 1000000, gen_m = 10000000;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
			data = argv[++i];
		else if (strcmp(argv[i], "--gen-nodes") == 0 && i + 1 < argc)
			gen_n = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--gen-edges") == 0 && i + 1 < argc)
			gen_m = strtoull(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: bench_trust [--data DIR] [--gen-nodes N] [--gen-edges M]\n");
			return 2;
		}
	}
	printf("%-14s %9s %10s %5s %10s %12s %10s %7s %6s %8s %9s %9s %9s %9s %6s %7s\n", "dataset", "n",
	       "m", "depth", "ours_ms", "ig_nbhd_ms", "ig_bfs_ms", "ratio", "(vs)", "B/edge", "reached",
	       "ig_reach", "flow_ms", "fa_ms", "fa/bp", "fa_acc");
	struct {
		const char *name, *file;
		int csv;
	} files[] = {
		{"advogato", "advogato/out.advogato.gz", 0},
		{"bitcoin-otc", "soc-sign-bitcoinotc.csv.gz", 1},
		{"bitcoin-alpha", "soc-sign-bitcoinalpha.csv.gz", 1},
	};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", data, files[i].file);
		dataset d = {.name = files[i].name};
		if (load_file(&d, path, files[i].csv) != 0)
			continue;
		run_dataset(&d);
		free(d.edges);
	}
	if (gen_n > 1 && gen_m > 0) {
		dataset d = {.name = "powerlaw"};
		double t0 = now_ms();
		generate(&d, gen_n, gen_m, 42);
		fprintf(stderr, "# powerlaw: generated in %.0f ms\n", now_ms() - t0);
		run_dataset(&d);
		free(d.edges);
	}
	return 0;
}
