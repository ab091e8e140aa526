/* Ingest benchmark and statement generator.
 *
 *   bench_ingest gen N FILE [ISSUERS]   write N signed statements as NDJSON
 *   bench_ingest run [N] [ISSUERS]      generate N in memory, ingest them into a
 *                                       fresh store through mt_ingest_run, and
 *                                       compare with libsodium's raw
 *                                       single-core verify rate in the same run
 */
#include <pthread.h>
#include <sys/resource.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "meshtrust/ingest.h"

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct gen {
	size_t n, issuers;
	char **lines;
	size_t *lens;
	mt_keypair *keys;
	char (*ids)[MT_NODE_ID_MAX];
};

struct genjob {
	struct gen *g;
	size_t first_issuer, step;
};

/* Statement j of issuer i: trust edges towards other issuers, a realistic
 * ~400-byte statement; each issuer's feed is a proper chain. */
static void *gen_issuers(void *arg)
{
	struct genjob *job = arg;
	struct gen *g = job->g;
	size_t per = g->n / g->issuers;
	for (size_t i = job->first_issuer; i < g->issuers; i += job->step) {
		unsigned char prev[32];
		size_t count = per + (i < g->n % g->issuers ? 1 : 0);
		size_t base = i * per + (i < g->n % g->issuers ? i : g->n % g->issuers);
		for (size_t j = 0; j < count; j++) {
			size_t target = (i + 1 + (j * 7919) % (g->issuers - 1)) % g->issuers;
			json_t *b = json_pack("{s:s,s:s,s:s,s:i,s:s}", "type", "trust", "target",
					      g->ids[target], "level", j % 5 ? "full" : "limited",
					      "score", (int)(1 + (i * 31 + j * 17) % 1000), "scope",
					      j % 3 ? "global" : "coop:bench");
			mt_stmt *st = NULL;
			mt_error err = {0};
			if (mt_stmt_sign(&st, b, &g->keys[i], j + 1, j ? prev : NULL,
					 1700000000 + (int64_t)j, &err) != 0) {
				fprintf(stderr, "sign: %s\n", err.msg);
				exit(1);
			}
			memcpy(prev, st->id, 32);
			g->lines[base + j] = strdup(st->canon);
			g->lens[base + j] = st->canon_len;
			json_decref(b);
			mt_stmt_free(st);
		}
	}
	return NULL;
}

static void generate(struct gen *g, size_t n, size_t issuers)
{
	g->n = n;
	g->issuers = issuers < 2 ? 2 : issuers;
	g->lines = calloc(n, sizeof *g->lines);
	g->lens = calloc(n, sizeof *g->lens);
	g->keys = calloc(g->issuers, sizeof *g->keys);
	g->ids = calloc(g->issuers, sizeof *g->ids);
	for (size_t i = 0; i < g->issuers; i++) {
		unsigned char seed[32];
		crypto_generichash(seed, 32, (unsigned char *)&i, sizeof i, NULL, 0);
		mt_keypair_from_seed(&g->keys[i], seed);
		mt_node_id_encode(g->ids[i], g->keys[i].pk);
	}
	int t = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (t < 1)
		t = 1;
	pthread_t th[16];
	struct genjob jobs[16];
	if (t > 16)
		t = 16;
	for (int k = 0; k < t; k++) {
		jobs[k] = (struct genjob){g, (size_t)k, (size_t)t};
		pthread_create(&th[k], NULL, gen_issuers, &jobs[k]);
	}
	for (int k = 0; k < t; k++)
		pthread_join(th[k], NULL);
}

/* Interleave issuers so the order looks like arrivals from a network. */
struct feeder {
	struct gen *g;
	size_t next;
};

static int feed_next(void *payload, char **buf, size_t *len)
{
	struct feeder *f = payload;
	if (f->next >= f->g->n)
		return 0;
	*buf = f->g->lines[f->next];
	*len = f->g->lens[f->next];
	f->g->lines[f->next] = NULL; /* ownership moves to the pipeline */
	f->next++;
	return 1;
}

struct verify_job {
	mt_stmt **st;
	unsigned char **msg;
	size_t *mlen;
	size_t from, to, ok;
};

static void *verify_range(void *arg)
{
	struct verify_job *j = arg;
	for (size_t i = j->from; i < j->to; i++)
		j->ok += crypto_sign_verify_detached(j->st[i]->sig, j->msg[i], j->mlen[i],
						     j->st[i]->iss_pk) == 0;
	return NULL;
}

/* libsodium's crypto_sign_verify_detached on real signing inputs, on
 * `threads` threads at once (each verifying the whole sample): verifies/s
 * over all threads. threads = 1 is the single-core rate; threads = 2 measures
 * what two cores really deliver together on this machine. */
static double raw_verify_rate(struct gen *g, int threads)
{
	size_t sample = g->n < 20000 ? g->n : 20000;
	mt_stmt **st = calloc(sample, sizeof *st);
	unsigned char **msg = calloc(sample, sizeof *msg);
	size_t *mlen = calloc(sample, sizeof *mlen);
	for (size_t i = 0; i < sample; i++) {
		if (mt_stmt_parse(&st[i], g->lines[i], g->lens[i], INT64_MAX, NULL) != 0)
			exit(1);
		json_t *c = NULL;
		if (mt_stmt_tree(st[i], &c, NULL) != 0)
			exit(1);
		json_object_del(c, "sig");
		char *body = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
		size_t bl = strlen(body);
		msg[i] = malloc(bl + 13);
		memcpy(msg[i], "mesh/v1/stmt\n", 13);
		memcpy(msg[i] + 13, body, bl);
		mlen[i] = bl + 13;
		free(body);
		json_decref(c);
	}
	if (threads < 1 || threads > 16)
		threads = 1;
	struct verify_job jobs[16];
	pthread_t th[16];
	double t0 = now_s();
	for (int k = 0; k < threads; k++) {
		jobs[k] = (struct verify_job){st, msg, mlen, 0, sample, 0};
		if (k && pthread_create(&th[k], NULL, verify_range, &jobs[k]) != 0)
			exit(1);
	}
	verify_range(&jobs[0]);
	for (int k = 1; k < threads; k++)
		pthread_join(th[k], NULL);
	double dt = now_s() - t0;
	size_t ok = 0;
	for (int k = 0; k < threads; k++)
		ok += jobs[k].ok;
	if (ok != sample * (size_t)threads)
		fprintf(stderr, "warning: %zu raw verifications failed\n",
			sample * (size_t)threads - ok);
	for (size_t i = 0; i < sample; i++) {
		mt_stmt_free(st[i]);
		free(msg[i]);
	}
	free(st);
	free(msg);
	free(mlen);
	return (double)sample * threads / dt;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 1;
	if (argc >= 4 && strcmp(argv[1], "gen") == 0) {
		struct gen g;
		size_t n = strtoull(argv[2], NULL, 10);
		generate(&g, n, argc > 4 ? strtoull(argv[4], NULL, 10) : 1000);
		FILE *f = fopen(argv[3], "w");
		if (!f)
			return 1;
		for (size_t i = 0; i < n; i++) {
			fwrite(g.lines[i], 1, g.lens[i], f);
			fputc('\n', f);
		}
		return fclose(f) == 0 ? 0 : 1;
	}
	if (argc < 2 || strcmp(argv[1], "run") != 0) {
		fprintf(stderr, "usage: bench_ingest gen N FILE [ISSUERS] | run [N] [ISSUERS]\n");
		return 2;
	}
	size_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
	size_t issuers = argc > 3 ? strtoull(argv[3], NULL, 10) : 5000;
	fprintf(stderr, "generating %zu statements from %zu issuers…\n", n, issuers);
	struct gen g;
	double t0 = now_s();
	generate(&g, n, issuers);
	fprintf(stderr, "generated in %.1f s\n", now_s() - t0);

	double rates[3], rates2[3];
	for (int r = 0; r < 3; r++) {
		rates[r] = raw_verify_rate(&g, 1);
		rates2[r] = raw_verify_rate(&g, 2);
	}
	qsort(rates, 3, sizeof *rates, cmp_double);
	qsort(rates2, 3, sizeof *rates2, cmp_double);
	double raw = rates[1], raw2 = rates2[1];

	char dir[] = "/tmp/mt-bench-ingest-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char path[256];
	snprintf(path, sizeof path, "%s/trust.db", dir);
	mt_store *s = NULL;
	mt_error err = {0};
	if (mt_store_open(&s, path, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	struct feeder fd = {&g, 0};
	mt_ingest_opts o = {0};
	o.now = 1800000000;
	mt_ingest_stats st;
	double c0 = cpu_s();
	t0 = now_s();
	if (mt_ingest_run(s, feed_next, &fd, &o, &st, &err) != 0) {
		fprintf(stderr, "ingest: %s\n", err.msg);
		return 1;
	}
	double dt = now_s() - t0;
	double cpu = cpu_s() - c0;
	double rate = (double)n / dt;
	double loadavg[1] = {0};
	getloadavg(loadavg, 1);
	mt_store_close(s);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);

	printf("\n%-34s %14s\n", "measure", "value");
	printf("%-34s %14zu\n", "statements", n);
	printf("%-34s %14llu\n", "accepted", (unsigned long long)st.accepted);
	printf("%-34s %14llu\n", "rejected", (unsigned long long)st.rejected);
	printf("%-34s %14.2f\n", "ingest time (s)", dt);
	printf("%-34s %14.0f\n", "ingest statements/s", rate);
	printf("%-34s %14.0f\n", "raw verify/s, 1 core (median of 3)", raw);
	printf("%-34s %14.0f\n", "raw verify/s, 2 threads (median of 3)", raw2);
	printf("%-34s %14.2f\n", "ratio ingest / raw 1-core verify", rate / raw);
	printf("%-34s %14s\n", "goal", ">= 1.30");
	printf("%-34s %14.1f\n", "CPU us per statement (all threads)", cpu / (double)n * 1e6);
	printf("%-34s %14.1f\n", "raw verify CPU us per statement", 1e6 / raw);
	printf("%-34s %14.2f\n", "2-core ratio projected from CPU", 2.0 / (cpu / (double)n) / raw);
	printf("%-34s %14.2f\n", "load average (1 min) at end", loadavg[0]);
	for (size_t i = 0; i < n; i++)
		free(g.lines[i]);
	free(g.lines);
	free(g.lens);
	free(g.keys);
	free(g.ids);
	return st.rejected ? 1 : 0;
}
