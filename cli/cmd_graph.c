/* mesh graph import-edgelist|export.
 *
 * import-edgelist turns a research edge list (KONECT, SNAP, the signed SNAP
 * Bitcoin CSVs; plain or gzip) into signed trust statements: one deterministic
 * key per node, one feed per source node, ingested through the normal verified
 * path (mt_ingest_run). The file is parsed whole before anything is signed, so
 * a bad line changes nothing. See docs/edgelist.md for the formats, the key
 * derivation and what is dropped.
 *
 * export writes the current edges as Graphviz dot or JSON.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "cli.h"
#include "opts.h"
#include "edgelist_parse.h"
#include "edgelist_read.h"
#include "meshtrust/engine.h"
#include "meshtrust/ingest.h"

/* Domain of the per-node key seeds. */
#define EL_SEED_DOMAIN "mesh/v1/edgelist\n"
/* Most signing threads. */
#define EL_THREADS_MAX 64
/* Rejections listed in the report (the count is always exact). */
#define EL_REJECT_LIST_MAX 100

/* ---- node table and ordering --------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint32_t node_index(const el_graph *g, uint64_t num)
{
	size_t lo = 0, hi = g->n_nodes;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (g->nodes[mid] < num)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (uint32_t)lo; /* every edge's nodes are in the table */
}

/* A source's feed in order of time, then target, then line (so of two lines
 * for one pair the later one gets the higher seq and wins). */
static int cmp_edge(const void *a, const void *b)
{
	const el_edge *x = a, *y = b;
	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->dst != y->dst)
		return x->dst < y->dst ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int build_tables(el_graph *g)
{
	if (g->n_nodes)
		qsort(g->nodes, g->n_nodes, sizeof *g->nodes, cmp_u64);
	size_t u = 0;
	for (size_t i = 0; i < g->n_nodes; i++)
		if (u == 0 || g->nodes[u - 1] != g->nodes[i])
			g->nodes[u++] = g->nodes[i];
	g->n_nodes = u;
	if (u > UINT32_MAX)
		return mesh_fail("%s: more than %u nodes", g->path, UINT32_MAX);
	for (size_t i = 0; i < g->n_edges; i++) {
		g->edges[i].src = node_index(g, g->edges[i].src_num);
		g->edges[i].dst = node_index(g, g->edges[i].dst_num);
	}
	if (g->n_edges)
		qsort(g->edges, g->n_edges, sizeof *g->edges, cmp_edge);
	g->ids = calloc(u ? u : 1, sizeof *g->ids);
	g->src_first = malloc((g->n_edges + 1) * sizeof *g->src_first);
	if (!g->ids || !g->src_first)
		return mesh_fail("out of memory");
	for (size_t i = 0; i < g->n_edges; i++)
		if (i == 0 || g->edges[i].src != g->edges[i - 1].src)
			g->src_first[g->n_src++] = i;
	g->src_first[g->n_src] = g->n_edges;
	return EXIT_OK;
}

/* ---- keys and signing (threads) ------------------------------------------ */

/* seed = BLAKE2b-256("mesh/v1/edgelist\n" + basename + "\n" + decimal number).
 * These keys are derivable by anyone who has the file: research use only. */
static int node_keypair(mt_keypair *kp, const char *base, uint64_t num)
{
	crypto_generichash_state st;
	unsigned char seed[32];
	char dec[24];
	int n = snprintf(dec, sizeof dec, "%" PRIu64, num);
	crypto_generichash_init(&st, NULL, 0, sizeof seed);
	crypto_generichash_update(&st, (const unsigned char *)EL_SEED_DOMAIN,
				  strlen(EL_SEED_DOMAIN));
	crypto_generichash_update(&st, (const unsigned char *)base, strlen(base));
	crypto_generichash_update(&st, (const unsigned char *)"\n", 1);
	crypto_generichash_update(&st, (const unsigned char *)dec, (size_t)n);
	crypto_generichash_final(&st, seed, sizeof seed);
	int rc = mt_keypair_from_seed(kp, seed);
	sodium_memzero(seed, sizeof seed);
	sodium_memzero(&st, sizeof st);
	return rc;
}

struct sign_job {
	el_graph *g;
	const char *scope;
	int phase;               /* 0: Node IDs of all nodes; 1: sign every source's feed */
	atomic_size_t next;      /* next node (phase 0) or source (phase 1) to take */
	atomic_size_t done;      /* edges signed, for the progress bar */
	atomic_int running;      /* workers not finished yet */
	atomic_int failed;
	pthread_mutex_t lock;
	char error[MT_ERRMSG_MAX + 64];
};

static void job_fail(struct sign_job *j, const char *fmt, const char *a, const char *b)
{
	pthread_mutex_lock(&j->lock);
	if (!atomic_load(&j->failed))
		snprintf(j->error, sizeof j->error, fmt, a, b);
	atomic_store(&j->failed, 1);
	pthread_mutex_unlock(&j->lock);
}

static void sign_source(struct sign_job *j, size_t s)
{
	el_graph *g = j->g;
	size_t first = g->src_first[s], end = g->src_first[s + 1];
	uint32_t src = g->edges[first].src;
	mt_keypair kp;
	if (node_keypair(&kp, g->base, g->nodes[src]) != 0) {
		job_fail(j, "key derivation failed for node %s%s", g->ids[src], "");
		return;
	}
	unsigned char prev[32];
	for (size_t i = first; i < end && !atomic_load(&j->failed); i++) {
		el_edge *e = &g->edges[i];
		json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:i}", "type", "trust", "target",
					 g->ids[e->dst], "level",
					 e->level == MT_LEVEL_LIMITED ? "limited" : "full", "scope",
					 j->scope, "score", (int)e->score);
		mt_stmt *st = NULL;
		mt_error err = {0};
		int rc = body ? mt_stmt_sign(&st, body, &kp, i - first + 1, i > first ? prev : NULL,
					     e->ts, &err)
			      : MT_ENOMEM;
		json_decref(body);
		if (rc == 0) {
			e->canon = malloc(st->canon_len + 1);
			if (e->canon) {
				memcpy(e->canon, st->canon, st->canon_len + 1);
				e->canon_len = st->canon_len;
				memcpy(prev, st->id, 32);
			} else {
				rc = MT_ENOMEM;
			}
		}
		mt_stmt_free(st);
		if (rc) {
			job_fail(j, "signing failed: %s%s", err.msg[0] ? err.msg : "out of memory",
				 "");
			break;
		}
		atomic_fetch_add(&j->done, 1);
	}
	mt_keypair_wipe(&kp);
}

static void *sign_worker(void *arg)
{
	struct sign_job *j = arg;
	el_graph *g = j->g;
	size_t limit = j->phase == 0 ? g->n_nodes : g->n_src;
	for (;;) {
		size_t k = atomic_fetch_add(&j->next, 1);
		if (k >= limit || atomic_load(&j->failed))
			break;
		if (j->phase == 0) {
			mt_keypair kp;
			if (node_keypair(&kp, g->base, g->nodes[k]) != 0) {
				job_fail(j, "key derivation failed%s%s", "", "");
				break;
			}
			mt_node_id_encode(g->ids[k], kp.pk);
			mt_keypair_wipe(&kp);
		} else {
			sign_source(j, k);
		}
	}
	atomic_fetch_sub(&j->running, 1);
	return NULL;
}

/* Run one phase on `threads` workers; the calling thread draws the progress. */
static int run_phase(struct sign_job *j, int phase, int threads, mesh_progress *prog)
{
	pthread_t tid[EL_THREADS_MAX];
	int started = 0;
	j->phase = phase;
	atomic_store(&j->next, 0);
	atomic_store(&j->running, threads);
	for (; started < threads; started++)
		if (pthread_create(&tid[started], NULL, sign_worker, j) != 0)
			break;
	if (started == 0) {
		atomic_store(&j->running, 0);
		sign_worker(j); /* no thread could start: do it here */
		atomic_fetch_add(&j->running, 1);
	} else {
		atomic_fetch_sub(&j->running, threads - started);
	}
	while (atomic_load(&j->running) > 0) {
		if (prog)
			mesh_progress_cb(atomic_load(&j->done), j->g->n_edges, prog);
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	if (prog)
		mesh_progress_cb(atomic_load(&j->done), j->g->n_edges, prog);
	return atomic_load(&j->failed) ? mesh_fail("%s", j->error) : EXIT_OK;
}

static int sign_all(el_graph *g, const char *scope, int threads)
{
	struct sign_job *j = calloc(1, sizeof *j);
	if (!j)
		return mesh_fail("out of memory");
	j->g = g;
	j->scope = scope;
	pthread_mutex_init(&j->lock, NULL);
	int rc = run_phase(j, 0, threads, NULL);
	if (!rc) {
		mesh_progress prog;
		mesh_progress_init(&prog, "signing", g->n_edges);
		rc = run_phase(j, 1, threads, &prog);
		mesh_progress_end(&prog);
	}
	pthread_mutex_destroy(&j->lock);
	free(j);
	return rc;
}

/* ---- ingest ---------------------------------------------------------------- */

struct feed {
	el_graph *g;
	size_t pos;
	json_t *rejected;
	uint64_t n_rejected;
};

static int next_stmt(void *payload, char **buf, size_t *len)
{
	struct feed *f = payload;
	if (f->pos >= f->g->n_edges)
		return 0;
	el_edge *e = &f->g->edges[f->pos++];
	*buf = e->canon; /* the pipeline owns it from here */
	*len = e->canon_len;
	e->canon = NULL;
	return 1;
}

static void on_done(void *payload, uint64_t index, int rc, mt_ingest_result res, const char *reason,
		    const mt_stmt *st)
{
	struct feed *f = payload;
	(void)res;
	(void)st;
	if (!rc)
		return;
	if (f->n_rejected++ < EL_REJECT_LIST_MAX)
		json_array_append_new(f->rejected,
				      json_pack("{s:I,s:s}", "line",
						(json_int_t)f->g->edges[index].line, "reason",
						reason ? reason : "rejected"));
}

static int write_map(const el_graph *g, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return mesh_fail("cannot write %s: %s", path, strerror(errno));
	for (size_t i = 0; i < g->n_nodes; i++)
		fprintf(f, "%" PRIu64 " %s\n", g->nodes[i], g->ids[i]);
	if (fclose(f) != 0)
		return mesh_fail("cannot write %s: %s", path, strerror(errno));
	return EXIT_OK;
}

static const char *format_name(el_format f)
{
	return f == EL_KONECT ? "konect" : f == EL_CSV_SIGNED ? "csv-signed" : "snap";
}

#define IMPORT_USAGE                                                                               \
	"mesh graph import-edgelist FILE --format konect|csv-signed|snap [--map FILE_OUT] "        \
	"[--limited-below S] [--scope S] [--threads N] [--json]"

static const mesh_opt IMPORT_OPTS[] = {
	{"format", MESH_ARG, "F",
	 "konect: FROM TO WEIGHT lines (lines not starting with a digit are\n"
	 "skipped); score = WEIGHT in (0, 1]\n"
	 "csv-signed: SOURCE,TARGET,RATING,TIME (SNAP Bitcoin); keeps\n"
	 "RATING > 0, score = RATING/10, ts = TIME\n"
	 "snap: FROM TO [SIGN] (# comments); score 1",
	 'f'},
	{"map", MESH_ARG, "FILE_OUT", "write \"node_number node_id\" for every node", 'm'},
	{"limited-below", MESH_ARG, "S",
	 "edges scoring below S get level limited (default: every edge full)", 'l'},
	MESH_OPT_SCOPE_H("scope of the edges (default global)"),
	{"threads", MESH_ARG, "N", "signing threads (default: online CPUs)", 't'},
	MESH_OPT_JSON_H("report {nodes, edges, skipped, accepted, duplicate,\n"
			"rejected:[{line, reason}], …}"),
	MESH_OPT_END};
static const mesh_spec IMPORT_SPEC = {
	IMPORT_USAGE,
	"Import a research trust graph (plain or gzip) as signed statements:\n"
	"one deterministic key per node (derived from the file's base name and\n"
	"the node number: anyone can derive them, research use only), one feed\n"
	"per source node, ingested and verified like `mesh log import`.\n"
	"Self-loops and non-positive edges are dropped. A bad line refuses the\n"
	"whole file (FILE:LINE: reason) and nothing is imported. Importing the\n"
	"same file again only finds duplicates. See docs/edgelist.md.",
	IMPORT_OPTS, 1, 1, "exactly one FILE", NULL};

static int graph_import(mesh_ctx *ctx, int argc, char **argv)
{
	el_parse_opts po = {.format = EL_KONECT, .now = ctx->now};
	const char *map = NULL, *scope = "global", *format = NULL;
	int json = 0, rc;
	int64_t threads = 0;
	mt_error err = {0};
	mesh_args a;
	if ((rc = mesh_parse_args(&IMPORT_SPEC, argc, argv, &a)) != MESH_ARGS_RUN)
		return rc;
	for (int i = 0; i < a.n_opt; i++) {
		const char *v = a.opt[i].val;
		switch (a.opt[i].id) {
		case 'f': format = v; break;
		case 'm': map = v; break;
		case 'S': scope = v; break;
		case 'j': json = 1; break;
		case 'l':
			if (mesh_parse_score(&po.limited_below, v, &err))
				return mesh_usage(IMPORT_USAGE, "--limited-below: %s", err.msg);
			break;
		case 't':
			if (mesh_parse_int(&threads, v, "--threads", 1, EL_THREADS_MAX, &err))
				return mesh_usage(IMPORT_USAGE, "%s", err.msg);
			break;
		}
	}
	const char *file = a.pos[0];
	if (!format)
		return mesh_usage(IMPORT_USAGE, "--format is required (konect, csv-signed or snap)");
	if (strcmp(format, "konect") == 0)
		po.format = EL_KONECT;
	else if (strcmp(format, "csv-signed") == 0)
		po.format = EL_CSV_SIGNED;
	else if (strcmp(format, "snap") == 0)
		po.format = EL_SNAP;
	else
		return mesh_usage(IMPORT_USAGE,
				  "--format: \"%s\" is not a format (konect, csv-signed or snap)",
				  format);
	if (mt_scope_check(scope, "--scope", &err) != 0)
		return mesh_usage(IMPORT_USAGE, "%s", err.msg);
	if (!threads) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		threads = ncpu < 1 ? 1 : ncpu > EL_THREADS_MAX ? EL_THREADS_MAX : ncpu;
	}

	el_graph g = {0};
	g.path = file;
	const char *slash = strrchr(g.path, '/');
	g.base = slash ? slash + 1 : g.path;
	if (!g.base[0])
		return mesh_usage(IMPORT_USAGE, "FILE \"%s\" has no file name", g.path);
	struct feed fd = {&g, 0, json_array(), 0};
	mt_ingest_stats stats = {0};

	if ((rc = el_read_file(&g, &po, "; nothing imported")) || (rc = build_tables(&g)))
		goto done;
	if (g.n_edges && EL_FIXED_TS > ctx->now + MT_STMT_MAX_SKEW) {
		rc = mesh_fail("the clock (%" PRId64 ") is before the import's fixed timestamp "
			       "%lld; nothing imported",
			       ctx->now, (long long)EL_FIXED_TS);
		goto done;
	}
	if ((rc = sign_all(&g, scope, (int)threads)))
		goto done;
	if (map && (rc = write_map(&g, map)))
		goto done;
	if ((rc = mesh_open_store(ctx)))
		goto done;

	mesh_progress prog;
	mesh_progress_init(&prog, "importing", g.n_edges);
	mt_ingest_opts o = {0};
	o.now = ctx->now;
	o.done = on_done;
	o.payload = &fd;
	o.progress = mesh_progress_cb;
	o.progress_payload = &prog;
	int irc = mt_ingest_run(ctx->store, next_stmt, &fd, &o, &stats, &err);
	mesh_progress_end(&prog);
	if (irc) {
		rc = mesh_fail("import stopped: %s (%llu statements committed before)", err.msg,
			       (unsigned long long)(stats.accepted + stats.duplicate));
		goto done;
	}
	uint64_t skipped = g.self_loops + g.not_positive;
	if (json) {
		json_t *o2 = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:O}",
				       "file", g.path, "format", format_name(po.format), "scope",
				       scope, "lines", (json_int_t)g.lines, "nodes",
				       (json_int_t)g.n_nodes, "sources", (json_int_t)g.n_src,
				       "edges", (json_int_t)g.n_edges, "skipped",
				       (json_int_t)skipped, "self_loops",
				       (json_int_t)g.self_loops, "not_positive",
				       (json_int_t)g.not_positive, "accepted",
				       (json_int_t)stats.accepted, "duplicate",
				       (json_int_t)stats.duplicate, "rejected", fd.rejected);
		json_object_set_new(o2, "rejected_count", json_integer((json_int_t)stats.rejected));
		mesh_print_json(o2);
	} else {
		size_t i;
		json_t *x;
		json_array_foreach(fd.rejected, i, x)
		{
			fputs("mesh: ", stderr);
			mesh_term_write(stderr, g.path, MESH_TERM_LINE);
			fprintf(stderr, ":%lld: statement rejected: ",
				(long long)json_integer_value(json_object_get(x, "line")));
			mesh_term_write(stderr, json_string_value(json_object_get(x, "reason")),
					MESH_TERM_LINE);
			fputc('\n', stderr);
		}
		printf("%s: %zu nodes, %zu edges (%" PRIu64 " self-loops, %" PRIu64
		       " non-positive skipped): %llu accepted, %llu duplicate, %llu rejected\n",
		       g.base, g.n_nodes, g.n_edges, g.self_loops, g.not_positive,
		       (unsigned long long)stats.accepted, (unsigned long long)stats.duplicate,
		       (unsigned long long)stats.rejected);
	}
	rc = stats.rejected ? EXIT_FAIL : EXIT_OK;
done:
	json_decref(fd.rejected);
	el_graph_free(&g);
	return rc;
}

/* ---- export ------------------------------------------------------------------ */

static int cmp_edge_in(const void *a, const void *b)
{
	const mt_edge_in *x = a, *y = b;
	int c = strcmp(x->scope, y->scope);
	if (!c)
		c = strcmp(x->src, y->src);
	if (!c)
		c = strcmp(x->dst, y->dst);
	return c;
}

#define EXPORT_USAGE "mesh graph export --format dot|json [--scope S]"

static const mesh_opt EXPORT_OPTS[] = {
	{"format", MESH_ARG, "F",
	 "dot: a Graphviz digraph (label = score; limited edges dashed,\n"
	 "blocks (level none) red)\n"
	 "json: {\"digest\",\"edges\":[{src,dst,scope,level,score,score_permille,exp}]}\n"
	 "(score in (0, 1]; exp null when the edge never expires)",
	 'f'},
	MESH_OPT_SCOPE_H("only the edges of this scope (default: every scope)"), MESH_OPT_END};
static const mesh_spec EXPORT_SPEC = {EXPORT_USAGE,
				      "Write the current trust edges (every scope, or one).",
				      EXPORT_OPTS, 0, 0, NULL, NULL};

static int graph_export(mesh_ctx *ctx, int argc, char **argv)
{
	int rc;
	mt_error err = {0};
	mesh_args a;
	if ((rc = mesh_parse_args(&EXPORT_SPEC, argc, argv, &a)) != MESH_ARGS_RUN)
		return rc;
	const char *format = mesh_args_get(&a, 'f', NULL), *scope = mesh_args_get(&a, 'S', NULL);
	if (!format)
		return mesh_usage(EXPORT_USAGE, "--format is required (dot or json)");
	int dot = strcmp(format, "dot") == 0;
	if (!dot && strcmp(format, "json") != 0)
		return mesh_usage(EXPORT_USAGE, "--format: \"%s\" is not a format (dot or json)",
				  format);
	if (scope && mt_scope_check(scope, "--scope", &err) != 0)
		return mesh_usage(EXPORT_USAGE, "%s", err.msg);
	if ((rc = mesh_open_store(ctx)))
		return rc;
	char digest[65];
	mt_edge_in *edges = NULL;
	size_t n = 0;
	if (mt_store_digest_hex(ctx->store, digest, NULL, &err) != 0 ||
	    mt_store_edges(ctx->store, &edges, &n, INT64_MAX, &err) != 0)
		return mesh_fail_err(&err);
	if (n)
		qsort(edges, n, sizeof *edges, cmp_edge_in);
	if (dot) {
		printf("// mesh graph export, state digest %s\ndigraph mesh {\n", digest);
		for (size_t i = 0; i < n; i++) {
			const mt_edge_in *e = &edges[i];
			if (scope && strcmp(scope, e->scope) != 0)
				continue;
			/* Node IDs (base58) and scopes ([a-z0-9:._-]) need no escaping. */
			printf("  \"%s\" -> \"%s\" [label=\"%.3f\", scope=\"%s\", level=\"%s\"%s%s];\n",
			       e->src, e->dst, e->level == MT_LEVEL_NONE ? 0.0 : e->score / 1000.0,
			       e->scope, mt_level_name(e->level),
			       e->level == MT_LEVEL_LIMITED ? ", style=dashed" : "",
			       e->level == MT_LEVEL_NONE ? ", color=red" : "");
		}
		printf("}\n");
		free(edges);
		return EXIT_OK;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		const mt_edge_in *e = &edges[i];
		if (scope && strcmp(scope, e->scope) != 0)
			continue;
		json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "src", e->src, "dst", e->dst, "scope",
				      e->scope, "level", mt_level_name(e->level));
		if (e->level != MT_LEVEL_NONE) {
			json_object_set_new(o, "score", json_real(e->score / 1000.0));
			json_object_set_new(o, "score_permille", json_integer(e->score));
		}
		json_object_set_new(o, "exp", e->exp ? json_integer(e->exp) : json_null());
		json_array_append_new(arr, o);
	}
	free(edges);
	return mesh_print_json(json_pack("{s:s,s:o}", "digest", digest, "edges", arr));
}

int cmd_graph(mesh_ctx *ctx, int argc, char **argv)
{
	static const mesh_cmd cmds[] = {
		{"import-edgelist", graph_import, "import a research edge list (konect, csv-signed, snap)"},
		{"export", graph_export, "write the current edges as Graphviz dot or JSON"},
		{NULL, NULL, NULL}};
	return mesh_dispatch(ctx, "graph", cmds, argc, argv);
}
