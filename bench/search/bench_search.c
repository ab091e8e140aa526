/* Search benchmark: 100,000 lessons written by the members of the Bitcoin OTC
 * trust graph, 1,000 queries from fixed viewpoints; median and p99 latency.
 *
 *   bench_search OTC_CSV_GZ [LESSONS] [QUERIES]
 */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "meshtrust/ingest.h"
#include "meshtrust/search.h"

#define MAXN 8000

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	/* splitmix64: deterministic, local to this benchmark program */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

struct edge {
	int src, dst, rating;
};

static char **lines;
static size_t nlines, caplines;

static void add_line(const mt_stmt *st)
{
	if (nlines == caplines) {
		caplines = caplines ? caplines * 2 : 65536;
		lines = realloc(lines, caplines * sizeof *lines);
	}
	lines[nlines++] = strdup(st->canon);
}

static const char *word(size_t i, char buf[16])
{
	static const char syl[][4] = {"ka", "lo", "mi", "nu", "pe", "ra", "si", "to",
				      "va", "ze", "bo", "de", "fi", "gu", "ha", "jo"};
	snprintf(buf, 16, "%s%s%s", syl[i % 16], syl[(i / 16) % 16], syl[(i / 256) % 16]);
	return buf;
}

static size_t feed_i;
static int feed(void *p, char **buf, size_t *len)
{
	(void)p;
	if (feed_i >= nlines)
		return 0;
	*buf = lines[feed_i];
	*len = strlen(*buf);
	lines[feed_i++] = NULL;
	return 1;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 2 || sodium_init() < 0) {
		fprintf(stderr, "usage: bench_search soc-sign-bitcoinotc.csv.gz [LESSONS] [QUERIES]\n");
		return 2;
	}
	size_t n_lessons = argc > 2 ? strtoull(argv[2], NULL, 10) : 100000;
	size_t n_queries = argc > 3 ? strtoull(argv[3], NULL, 10) : 1000;
	gzFile gz = gzopen(argv[1], "rb");
	if (!gz) {
		perror(argv[1]);
		return 1;
	}
	struct edge *edges = NULL;
	size_t ne = 0, cap = 0;
	char buf[256];
	int maxid = 0;
	while (gzgets(gz, buf, sizeof buf)) {
		struct edge e;
		long t;
		if (sscanf(buf, "%d,%d,%d,%ld", &e.src, &e.dst, &e.rating, &t) != 4)
			continue;
		if (e.rating <= 0 || e.src == e.dst || e.src >= MAXN || e.dst >= MAXN)
			continue;
		if (ne == cap) {
			cap = cap ? cap * 2 : 4096;
			edges = realloc(edges, cap * sizeof *edges);
		}
		edges[ne++] = e;
		if (e.src > maxid)
			maxid = e.src;
		if (e.dst > maxid)
			maxid = e.dst;
	}
	gzclose(gz);
	static mt_keypair keys[MAXN];
	static char ids[MAXN][MT_NODE_ID_MAX];
	static int present[MAXN];
	static uint64_t seq[MAXN];
	static unsigned char prev[MAXN][32];
	for (size_t i = 0; i < ne; i++)
		present[edges[i].src] = present[edges[i].dst] = 1;
	int members[MAXN], nm = 0;
	for (int i = 0; i <= maxid; i++)
		if (present[i]) {
			unsigned char seed[32];
			char tag[64];
			int l = snprintf(tag, sizeof tag, "bench-search\n%d", i);
			crypto_generichash(seed, 32, (unsigned char *)tag, (size_t)l, NULL, 0);
			mt_keypair_from_seed(&keys[i], seed);
			mt_node_id_encode(ids[i], keys[i].pk);
			members[nm++] = i;
		}
	double t0 = now_s();
	for (size_t i = 0; i < ne; i++) {
		const struct edge *e = &edges[i];
		json_t *b = json_pack("{s:s,s:s,s:s,s:i}", "type", "trust", "target", ids[e->dst],
				      "level", "full", "score", e->rating * 100);
		mt_stmt *st = NULL;
		if (mt_stmt_sign(&st, b, &keys[e->src], seq[e->src] + 1,
				 seq[e->src] ? prev[e->src] : NULL, 1700000000, NULL) != 0)
			return 1;
		seq[e->src]++;
		memcpy(prev[e->src], st->id, 32);
		add_line(st);
		mt_stmt_free(st);
		json_decref(b);
	}
	for (size_t i = 0; i < n_lessons; i++) {
		int a = members[rnd() % (uint64_t)nm];
		char title[128], body[1024], w[16];
		size_t o = 0;
		snprintf(title, sizeof title, "%s %s", word(rnd() % 4096, w), word(rnd() % 4096, w));
		for (int k = 0; k < 60; k++)
			o += (size_t)snprintf(body + o, sizeof body - o, "%s ", word(rnd() % 4096, w));
		json_t *b = json_pack("{s:s,s:[s],s:s,s:s}", "type", "lesson", "topics",
				      word(rnd() % 20, w), "title", title, "body", body);
		mt_stmt *st = NULL;
		if (mt_stmt_sign(&st, b, &keys[a], seq[a] + 1, seq[a] ? prev[a] : NULL,
				 1700000000 + (int64_t)(rnd() % 40000000), NULL) != 0)
			return 1;
		seq[a]++;
		memcpy(prev[a], st->id, 32);
		add_line(st);
		mt_stmt_free(st);
		json_decref(b);
	}
	fprintf(stderr, "signed %zu statements in %.1f s\n", nlines, now_s() - t0);
	char dir[] = "/tmp/mt-bench-search-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char path[256];
	snprintf(path, sizeof path, "%s/trust.db", dir);
	mt_store *s = NULL;
	mt_error err = {0};
	if (mt_store_open(&s, path, &err) != 0)
		return 1;
	mt_ingest_opts o = {0};
	o.now = 1800000000;
	mt_ingest_stats stats;
	t0 = now_s();
	if (mt_ingest_run(s, feed, NULL, &o, &stats, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	double ingest = now_s() - t0;
	mt_edge_in *ed = NULL;
	size_t n = 0;
	mt_engine *e = NULL;
	mt_engine_scratch *scratch = NULL;
	if (mt_store_edges(s, &ed, &n, INT64_MAX, &err) || mt_engine_new(&e, ed, n, &err) ||
	    mt_engine_scratch_new(&scratch, e, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	free(ed);
	static const double decay[] = {1, 1, 0.5, 0.25, 0.125};
	double *lat = calloc(n_queries, sizeof *lat);
	size_t total_hits = 0;
	for (size_t i = 0; i < n_queries; i++) {
		char q[64], w1[16], w2[16];
		if (i % 2)
			snprintf(q, sizeof q, "%s", word(rnd() % 4096, w1));
		else
			snprintf(q, sizeof q, "%s %s", word(rnd() % 4096, w1), word(rnd() % 4096, w2));
		mt_trust_query tq = {ids[members[(i * 7919) % (size_t)nm]], "global", 1750000000, 2,
				     decay, 5};
		mt_search_query sq = {q, NULL, &tq, 20, 0};
		mt_search_result *r = NULL;
		double t = now_s();
		if (mt_search_run(&r, s, e, scratch, &sq, &err) != 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		lat[i] = (now_s() - t) * 1000.0;
		total_hits += r->count;
		mt_search_result_free(r);
	}
	qsort(lat, n_queries, sizeof *lat, cmpd);
	double med = lat[n_queries / 2], p99 = lat[(size_t)((double)n_queries * 0.99)];
	printf("\n%-32s %12s\n", "measure", "value");
	printf("%-32s %12d\n", "members (OTC, positive edges)", nm);
	printf("%-32s %12zu\n", "trust edges", ne);
	printf("%-32s %12zu\n", "lessons", n_lessons);
	printf("%-32s %12.1f\n", "ingest s", ingest);
	printf("%-32s %12zu\n", "queries", n_queries);
	printf("%-32s %12.2f\n", "median latency ms", med);
	printf("%-32s %12.2f\n", "p99 latency ms", p99);
	printf("%-32s %12.1f\n", "mean results per query", (double)total_hits / (double)n_queries);
	printf("%-32s %12s\n", "goal p99 ms", "< 50");
	mt_engine_scratch_free(scratch);
	mt_engine_free(e);
	mt_store_close(s);
	snprintf(buf, sizeof buf, "rm -rf '%s'", dir);
	if (system(buf) != 0)
		return 1;
	free(lat);
	free(edges);
	free(lines);
	return 0;
}
