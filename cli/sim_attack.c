/* mesh sim attack: a real trust graph (edge list, read through the importer's
 * fuzzed parser) plus a Sybil region behind k attack edges, evaluated from
 * honest viewpoints with the best-path engine (SPEC §3) and in flow and
 * flow-adaptive modes (flow.h), against Levien's bound, checked in every run
 * (docs/flow.md, docs/attack.md). No keys are involved: the engine only needs
 * distinct ID strings ("h" + number, "s" + number). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "cli.h"
#include "opts.h"
#include "edgelist_parse.h"
#include "meshtrust/engine.h"
#include "meshtrust/flow.h"
#include "sim.h"

#define ATTACK_MAX_LIST 16
#define ATTACK_MAX_K 1000 /* --k values */

typedef struct attack_graph {
	uint32_t *src, *dst; /* honest edges, 0-based dense node numbers */
	uint16_t *score;     /* permille */
	size_t m;
	uint64_t *num;       /* dense number -> file number */
	size_t n;
} attack_graph;

typedef struct attack_row {
	int k, depth;
	long sybils;
	double bp_sybils, bp_score, bp_honest; /* means over viewpoints */
	double fl_sybils, fl_bound, fl_honest;
	long fl_max, violations, runs;
	double ad_sybils, ad_bound, ad_honest; /* flow-adaptive */
	long ad_max, ad_bound_min;             /* ad_bound_min: the smallest bound of a run */
	double ind_bound;                      /* mean S-independent bound over the runs it covers */
	long ind_runs, ind_max_bound, ind_violations; /* runs whose condition holds; violations */
} attack_row;

/* One flow-mode answer measured against Levien's bound: Sybils accepted,
 * honest nodes accepted, and Σ (c(d(x)) − 1) over the compromised nodes x in
 * the region, with the capacities the query itself used (d(x) = BFS distance
 * = best-path hops, `tr` holding every node within the depth). */
typedef struct flow_tally {
	long sybils, honest, bound;
} flow_tally;

static flow_tally attack_tally(const mt_flow_result *fr, const mt_trust_result *tr,
			       const int64_t *comp_index, int k)
{
	flow_tally t = {0, 0, 0};
	for (size_t i = 0; i < fr->count; i++)
		t.sybils += fr->entries[i].id[0] == 's';
	t.honest = (long)fr->count - t.sybils;
	for (int j = 0; j < k; j++)
		for (size_t i = 0; i < tr->count; i++)
			if ((int64_t)tr->entries[i].node == comp_index[j] &&
			    tr->entries[i].hops <= fr->depth)
				t.bound += (long)fr->capacities[tr->entries[i].hops] - 1;
	return t;
}

static int parse_list(int *out, int *n, const char *text, const char *name, int lo, int hi)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", text);
	*n = 0;
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int64_t v;
		mt_error err = {0};
		if (*n == ATTACK_MAX_LIST)
			return mesh_usage(NULL, "%s: at most %d values", name, ATTACK_MAX_LIST);
		if (mesh_parse_int(&v, tok, name, lo, hi, &err))
			return mesh_usage(NULL, "%s", err.msg);
		out[(*n)++] = (int)v;
	}
	if (!*n)
		return mesh_usage(NULL, "%s: give a comma-separated list, e.g. 1,5,20", name);
	return EXIT_OK;
}

static int cmp_u64v(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint32_t dense_of(const attack_graph *g, uint64_t num)
{
	const uint64_t *p = bsearch(&num, g->num, g->n, sizeof *g->num, cmp_u64v);
	return (uint32_t)(p - g->num);
}

/* Count the white-space separated fields of a konect line (at most 3). */
static int konect_fields(const char *line)
{
	int n = 0;
	for (const char *p = line; *p && n < 3;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		n++;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	return n;
}

/* Every line of `path` (plain or gzip) through el_parse_line, the parser of
 * `mesh graph import-edgelist` (edgelist_parse.h, the fuzzed one), except
 * that a konect data line of exactly two fields (`FROM TO`, an unweighted
 * KONECT list) is read as `FROM TO 1`: an unweighted edge is full trust
 * (docs/edgelist.md). A line the parser refuses, a line over EL_LINE_MAX
 * bytes or a NUL byte is an error naming the line. */
static int attack_parse_file(el_graph *eg, const el_parse_opts *po)
{
	gzFile f = gzopen(eg->path, "rb");
	if (!f)
		return mesh_fail("cannot read %s: %s", eg->path, errno ? strerror(errno) : "gzopen failed");
	char *buf = malloc(EL_LINE_MAX + 4);
	int rc = EXIT_OK;
	if (!buf) {
		gzclose(f);
		return mesh_fail("out of memory");
	}
	while (rc == EXIT_OK && gzgets(f, buf, EL_LINE_MAX + 2)) {
		size_t len = strlen(buf);
		eg->lines++;
		int complete = len && buf[len - 1] == '\n';
		if (complete)
			buf[--len] = '\0';
		if (len && buf[len - 1] == '\r')
			buf[--len] = '\0';
		char why[200] = "";
		if (!complete && len > EL_LINE_MAX)
			snprintf(why, sizeof why, "line is over %d bytes", EL_LINE_MAX);
		else if (!complete && !gzeof(f))
			snprintf(why, sizeof why, "line contains a NUL byte");
		else if (eg->lines > UINT32_MAX)
			snprintf(why, sizeof why, "more than %u lines", UINT32_MAX);
		if (!why[0] && po->format == EL_KONECT && buf[0] >= '0' && buf[0] <= '9' &&
		    konect_fields(buf) == 2)
			strcat(buf, " 1"); /* room: EL_LINE_MAX + 4 bytes */
		if (why[0] || el_parse_line(eg, buf, (uint32_t)eg->lines, po, why, sizeof why) != 0)
			rc = mesh_fail("%s:%llu: %s", eg->path, (unsigned long long)eg->lines, why);
	}
	int zerr = Z_OK;
	const char *zmsg = gzerror(f, &zerr);
	if (rc == EXIT_OK && zerr != Z_OK && zerr != Z_STREAM_END)
		rc = mesh_fail("%s: read error after line %llu: %s", eg->path,
			       (unsigned long long)eg->lines, zerr == Z_ERRNO ? strerror(errno) : zmsg);
	free(buf);
	gzclose(f);
	return rc;
}

/* Read the edge list (attack_parse_file): konect FROM TO WEIGHT [TIME] with
 * the weight in (0, 1] (-> permille) or FROM TO (full trust, 1000),
 * csv-signed SOURCE,TARGET,RATING,TIME (rating r -> 100 r permille), or snap
 * FROM TO [SIGN]. Positive edges between two different nodes are kept in
 * file order. Nodes are numbered densely, in file-number order, over the kept
 * edges. */
static int attack_read(attack_graph *g, const char *path, el_format format, int64_t now)
{
	el_graph eg = {0};
	el_parse_opts po = {.format = format, .limited_below = 0, .now = now};
	eg.path = path;
	eg.base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	int rc = attack_parse_file(&eg, &po);
	if (rc)
		goto done;
	g->m = eg.n_edges;
	size_t m1 = g->m ? g->m : 1;
	g->num = malloc(2 * m1 * sizeof *g->num);
	g->src = malloc(m1 * sizeof *g->src);
	g->dst = malloc(m1 * sizeof *g->dst);
	g->score = malloc(m1 * sizeof *g->score);
	if (!g->num || !g->src || !g->dst || !g->score) {
		rc = mesh_fail("out of memory");
		goto done;
	}
	for (size_t i = 0; i < g->m; i++) {
		g->num[2 * i] = eg.edges[i].src_num;
		g->num[2 * i + 1] = eg.edges[i].dst_num;
		g->score[i] = eg.edges[i].score;
	}
	qsort(g->num, 2 * g->m, sizeof *g->num, cmp_u64v);
	for (size_t i = 0; i < 2 * g->m; i++)
		if (!g->n || g->num[g->n - 1] != g->num[i])
			g->num[g->n++] = g->num[i];
	for (size_t i = 0; i < g->m; i++) {
		g->src[i] = dense_of(g, eg.edges[i].src_num);
		g->dst[i] = dense_of(g, eg.edges[i].dst_num);
	}
	if (!g->m)
		rc = mesh_fail("%s: no positive edges", path);
done:
	el_graph_free(&eg);
	return rc;
}

static void attack_graph_free(attack_graph *g)
{
	free(g->src);
	free(g->dst);
	free(g->score);
	free(g->num);
}

static uint64_t attack_rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* ---- the S-independent bound of flow-adaptive (docs/flow.md) ---------------
 * Computed on the honest graph H alone (no Sybil, no attack edge), with its own
 * BFS and its own canonical tree, written here from the definition (not the
 * engine's code): the parent of z is its predecessor at distance - 1 of
 * smallest rendezvous weight, ties to the smaller node index. */

static uint64_t ind_fmix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static uint64_t ind_id_hash(const char *id)
{
	uint64_t h = 0xcbf29ce484222325ull;
	while (*id)
		h = (h ^ (uint8_t)*id++) * 0x100000001b3ull;
	return ind_fmix64(h);
}

/* H as a CSR, the hashes of the IDs, the engine's node indexes and scratch. */
typedef struct ind_ctx {
	size_t n;
	uint32_t *off, *adj;
	uint64_t *hash;
	int64_t *eidx;
	int *dist;
	uint32_t *order, *parent, *desc, *sorted, *mark;
	uint32_t gen;
} ind_ctx;

static void ind_free(ind_ctx *x)
{
	free(x->off);
	free(x->adj);
	free(x->hash);
	free(x->eidx);
	free(x->dist);
	free(x->order);
	free(x->parent);
	free(x->desc);
	free(x->sorted);
	free(x->mark);
}

static int ind_init(ind_ctx *x, const attack_graph *g, char (*hid)[16], const mt_engine *e)
{
	memset(x, 0, sizeof *x);
	size_t n = g->n;
	x->n = n;
	x->off = calloc(n + 1, sizeof *x->off);
	x->adj = malloc((g->m ? g->m : 1) * sizeof *x->adj);
	x->hash = malloc(n * sizeof *x->hash);
	x->eidx = malloc(n * sizeof *x->eidx);
	x->dist = malloc(n * sizeof *x->dist);
	x->order = malloc(n * sizeof *x->order);
	x->parent = malloc(n * sizeof *x->parent);
	x->desc = malloc(n * sizeof *x->desc);
	x->sorted = malloc(n * sizeof *x->sorted);
	x->mark = calloc(n, sizeof *x->mark);
	if (!x->off || !x->adj || !x->hash || !x->eidx || !x->dist || !x->order || !x->parent ||
	    !x->desc || !x->sorted || !x->mark)
		return -1;
	for (size_t i = 0; i < g->m; i++)
		x->off[g->src[i] + 1]++;
	for (size_t i = 0; i < n; i++)
		x->off[i + 1] += x->off[i];
	uint32_t *fill = x->parent; /* scratch */
	memcpy(fill, x->off, n * sizeof *fill);
	for (size_t i = 0; i < g->m; i++)
		x->adj[fill[g->src[i]]++] = g->dst[i];
	for (size_t i = 0; i < n; i++) {
		x->hash[i] = ind_id_hash(hid[i]);
		x->eidx[i] = mt_engine_node_index(e, hid[i]);
		x->dist[i] = -1;
	}
	return 0;
}

static int ind_lighter(const ind_ctx *x, uint32_t a, uint32_t b, uint32_t child)
{
	uint64_t wa = ind_fmix64(x->hash[a] ^ x->hash[child] * 0x9e3779b97f4a7c15ull);
	uint64_t wb = ind_fmix64(x->hash[b] ^ x->hash[child] * 0x9e3779b97f4a7c15ull);
	return wa < wb || (wa == wb && x->eidx[a] < x->eidx[b]);
}

static int cmp_u32v(const void *a, const void *b)
{
	uint32_t p = *(const uint32_t *)a, q = *(const uint32_t *)b;
	return p < q ? -1 : p > q;
}

/* The S-independent bound for viewpoint v at depth `depth` with compromised
 * nodes comp[0..k): k_R · min over the layers d' ≤ d* whose condition holds of
 * β(d') (docs/flow.md). Returns the bound, or -1 when no layer's condition
 * holds (the bound then does not apply). */
static long ind_bound(ind_ctx *x, uint32_t v, int depth, const uint32_t *comp, int k)
{
	size_t nr = 0;
	x->order[nr++] = v;
	x->dist[v] = 0;
	x->parent[v] = v;
	for (size_t h = 0; h < nr; h++) {
		uint32_t u = x->order[h];
		if (x->dist[u] >= depth)
			continue;
		for (uint32_t p = x->off[u]; p < x->off[u + 1]; p++) {
			uint32_t w = x->adj[p];
			if (x->dist[w] < 0) {
				x->dist[w] = x->dist[u] + 1;
				x->parent[w] = u;
				x->order[nr++] = w;
			} else if (x->dist[w] == x->dist[u] + 1 && ind_lighter(x, u, x->parent[w], w)) {
				x->parent[w] = u;
			}
		}
	}
	for (size_t i = 0; i < nr; i++)
		x->desc[x->order[i]] = 0;
	for (size_t i = nr; i-- > 1;)
		x->desc[x->parent[x->order[i]]] += x->desc[x->order[i]] + 1;
	int dstar = depth;
	long k_r = 0;
	for (int j = 0; j < k; j++)
		if (x->dist[comp[j]] >= 0 && x->dist[comp[j]] < depth) {
			k_r++;
			if (x->dist[comp[j]] < dstar)
				dstar = x->dist[comp[j]];
		}
	long best = k_r ? -1 : 0;
	for (int d = 1; d <= dstar && k_r; d++) {
		/* t: the layer's nodes that are compromised or above one. */
		uint32_t t = 0, nd = 0;
		x->gen++;
		for (int j = 0; j < k; j++) {
			uint32_t a = comp[j];
			if (x->dist[a] < d || x->dist[a] >= depth)
				continue;
			while (x->dist[a] > d)
				a = x->parent[a];
			if (x->mark[a] != x->gen) {
				x->mark[a] = x->gen;
				t++;
			}
		}
		for (size_t i = 0; i < nr; i++)
			if (x->dist[x->order[i]] == d)
				x->sorted[nd++] = x->desc[x->order[i]];
		uint32_t rank = nd < MT_FLOW_ADAPTIVE_RANK ? nd : MT_FLOW_ADAPTIVE_RANK;
		if (t + 1 > rank)
			continue; /* the condition fails in this layer */
		qsort(x->sorted, nd, sizeof *x->sorted, cmp_u32v);
		uint32_t mu = x->sorted[nd - rank + t];
		uint64_t sum = (uint64_t)t * mu;
		for (uint32_t i = 0; i < nd; i++)
			sum += x->sorted[i] < mu ? x->sorted[i] : mu;
		uint64_t beta = (MT_FLOW_ADAPTIVE_SLACK * sum + nd - 1) / nd;
		if (beta > sum)
			beta = sum;
		if (beta > MT_FLOW_MAX_CAPACITY - 1)
			beta = MT_FLOW_MAX_CAPACITY - 1;
		if (best < 0 || (long)beta < best)
			best = (long)beta;
	}
	for (size_t i = 0; i < nr; i++)
		x->dist[x->order[i]] = -1;
	return best < 0 ? -1 : best * k_r;
}

/* Evaluate one (k, S) configuration at every depth; appends rows. */
static int attack_config(const attack_graph *g, char (*hid)[16], const uint32_t *compromised,
			 int k, int S, const uint32_t *views, int n_views, const int *depths,
			 int n_depths, uint64_t seed, attack_row *rows)
{
	size_t m = g->m + (size_t)S * 8 + (size_t)k;
	mt_edge_in *ed = malloc(m * sizeof *ed);
	char(*sid)[16] = malloc((size_t)S * sizeof *sid);
	int rc = EXIT_OK;
	mt_engine *e = NULL;
	ind_ctx ix = {0};
	if (!ed || !sid) {
		rc = mesh_fail("out of memory");
		goto done;
	}
	size_t n = 0;
	for (size_t i = 0; i < g->m; i++)
		ed[n++] = (mt_edge_in){hid[g->src[i]], hid[g->dst[i]], "global", MT_LEVEL_FULL,
				       g->score[i], 0};
	for (int i = 0; i < S; i++)
		snprintf(sid[i], sizeof sid[i], "s%07d", i);
	/* Sybil region: each Sybil trusts the next one (a ring) and up to 7 random
	 * others, all with the top score: as well connected as an attacker likes. */
	uint64_t x = seed ^ 0x5bd1e995u ^ ((uint64_t)S << 20);
	for (int i = 0; i < S && S > 1; i++) {
		size_t row = n;
		ed[n++] = (mt_edge_in){sid[i], sid[(i + 1) % S], "global", MT_LEVEL_FULL, 1000, 0};
		for (int j = 0; j < 7; j++) {
			int w = (int)(attack_rnd(&x) % (uint64_t)S), dup = w == i;
			for (size_t t = row; t < n && !dup; t++)
				dup = ed[t].dst == sid[w];
			if (!dup)
				ed[n++] = (mt_edge_in){sid[i], sid[w], "global", MT_LEVEL_FULL, 1000, 0};
		}
	}
	for (int j = 0; j < k; j++)
		ed[n++] = (mt_edge_in){hid[compromised[j]], sid[j % S], "global", MT_LEVEL_FULL, 1000, 0};
	mt_error err = {0};
	if (mt_engine_new(&e, ed, n, &err) != 0) {
		rc = mesh_fail_err(&err);
		goto done;
	}
	int64_t comp_index[ATTACK_MAX_K];
	for (int j = 0; j < k; j++)
		comp_index[j] = mt_engine_node_index(e, hid[compromised[j]]);
	if (ind_init(&ix, g, hid, e)) {
		rc = mesh_fail("out of memory");
		goto done;
	}
	static const double decay[] = {1, 1, 0.5, 0.25, 0.125};
	uint32_t cap[MT_FLOW_MAX_CAPACITIES];
	size_t n_cap;
	mt_flow_capacities_parse(cap, &n_cap, MT_FLOW_DEFAULT_CAPACITIES, NULL);
	for (int di = 0; di < n_depths; di++) {
		attack_row *r = &rows[di];
		memset(r, 0, sizeof *r);
		r->k = k;
		r->sybils = S;
		r->depth = depths[di];
		for (int vi = 0; vi < n_views; vi++) {
			const char *v = hid[views[vi]];
			mt_trust_query tq = {v, "global", 0, depths[di], decay, 5};
			mt_flow_query fq = {v, "global", 0, depths[di], cap, n_cap};
			mt_flow_query aq = {v, "global", 0, depths[di], NULL, 0};
			mt_trust_result *tr = NULL;
			mt_flow_result *fr = NULL, *ar = NULL;
			if (mt_engine_trust(&tr, e, &tq, NULL, &err) != 0 ||
			    mt_flow_trust(&fr, e, &fq, &err) != 0 ||
			    mt_flow_trust(&ar, e, &aq, &err) != 0) {
				mt_trust_result_free(tr);
				mt_flow_result_free(fr);
				rc = mesh_fail_err(&err);
				goto done;
			}
			long bp_s = 0;
			double bp_score = 0;
			for (size_t t = 0; t < tr->count; t++) {
				const mt_trust_entry *te = &tr->entries[t];
				if (te->id[0] == 's') {
					bp_s++;
					bp_score += te->score;
				}
			}
			flow_tally ft = attack_tally(fr, tr, comp_index, k);
			flow_tally at = attack_tally(ar, tr, comp_index, k);
			r->bp_sybils += (double)bp_s;
			r->bp_score += bp_score;
			r->bp_honest += (double)((long)tr->count - bp_s);
			r->fl_sybils += (double)ft.sybils;
			r->fl_bound += (double)ft.bound;
			r->fl_honest += (double)ft.honest;
			if (ft.sybils > r->fl_max)
				r->fl_max = ft.sybils;
			r->ad_sybils += (double)at.sybils;
			r->ad_bound += (double)at.bound;
			r->ad_honest += (double)at.honest;
			if (at.sybils > r->ad_max)
				r->ad_max = at.sybils;
			if (r->runs == 0 || at.bound < r->ad_bound_min)
				r->ad_bound_min = at.bound;
			r->violations += (ft.sybils > ft.bound) + (at.sybils > at.bound);
			/* The S-independent bound caps the run's own bound too (the
			 * derivation bounds every term of it), so check both. */
			long ib = ind_bound(&ix, views[vi], depths[di], compromised, k);
			if (ib >= 0) {
				r->ind_bound += (double)ib;
				r->ind_runs++;
				if (ib > r->ind_max_bound)
					r->ind_max_bound = ib;
				r->ind_violations += at.sybils > ib || at.bound > ib;
			}
			r->runs++;
			mt_trust_result_free(tr);
			mt_flow_result_free(fr);
			mt_flow_result_free(ar);
		}
		double nv = n_views ? n_views : 1;
		r->bp_sybils /= nv;
		r->bp_score /= nv;
		r->bp_honest /= nv;
		r->fl_sybils /= nv;
		r->fl_bound /= nv;
		r->fl_honest /= nv;
		r->ad_sybils /= nv;
		r->ad_bound /= nv;
		r->ad_honest /= nv;
		if (r->ind_runs)
			r->ind_bound /= (double)r->ind_runs;
	}
done:
	ind_free(&ix);
	mt_engine_free(e);
	free(ed);
	free(sid);
	return rc;
}

/* Pick `want` distinct nodes among those with `deg[i] > 0` not yet taken. */
static int attack_pick(uint32_t *out, int want, const uint32_t *deg, uint8_t *taken, size_t n,
		       uint64_t *x)
{
	uint32_t *pool = malloc(n * sizeof *pool);
	size_t np = 0;
	if (!pool)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (deg[i] && !taken[i])
			pool[np++] = (uint32_t)i;
	int got = 0;
	for (; got < want && (size_t)got < np; got++) {
		size_t j = (size_t)got + (size_t)(attack_rnd(x) % (np - (size_t)got));
		uint32_t t = pool[got];
		pool[got] = pool[j];
		pool[j] = t;
		out[got] = pool[got];
		taken[pool[got]] = 1;
	}
	free(pool);
	return got;
}

/* a / b as a percentage (0 when b is 0). */
static double attack_share(double a, double b)
{
	return b > 0 ? 100.0 * a / b : 0.0;
}

static void attack_statement(FILE *f, const attack_row *rows, size_t n_rows, const int *ks, int nk,
			     const int *ss, int ns, const int *ds, int nd)
{
	long violations = 0, runs = 0;
	for (size_t i = 0; i < n_rows; i++) {
		violations += rows[i].violations;
		runs += rows[i].runs;
	}
	for (int di = 0; di < nd; di++) {
		const attack_row *lo = NULL, *hi = NULL, *kl = NULL, *kh = NULL;
		for (size_t i = 0; i < n_rows; i++) {
			const attack_row *r = &rows[i];
			if (r->depth != ds[di])
				continue;
			if (r->k == ks[nk - 1] && r->sybils == ss[0])
				lo = r;
			if (r->k == ks[nk - 1] && r->sybils == ss[ns - 1])
				hi = r;
			if (r->k == ks[0] && r->sybils == ss[ns - 1])
				kl = r;
		}
		kh = hi;
		if (!lo || !hi || !kl)
			continue;
		fprintf(f,
			"- Depth %d, best-path mode: with k = %d attack edges, the Sybils with trust > 0 "
			"go from %.1f (S = %d) to %.1f (S = %d) per viewpoint, total score %.2f -> %.2f; "
			"with S = %d they go from %.1f (k = %d) to %.1f (k = %d). In flow mode the "
			"accepted Sybils are %.1f -> %.1f for the same S (bound %.1f), and %.1f -> %.1f "
			"across k (bound %.1f -> %.1f).\n",
			ds[di], ks[nk - 1], lo->bp_sybils, ss[0], hi->bp_sybils, ss[ns - 1], lo->bp_score,
			hi->bp_score, ss[ns - 1], kl->bp_sybils, ks[0], kh->bp_sybils, ks[nk - 1],
			lo->fl_sybils, hi->fl_sybils, hi->fl_bound, kl->fl_sybils, kh->fl_sybils,
			kl->fl_bound, kh->fl_bound);
		fprintf(f,
			"  Flow-adaptive: %.1f -> %.1f accepted Sybils for the same S (bound %.1f -> "
			"%.1f, computed in each run from its own capacities), %.1f -> %.1f across k; "
			"honest reach %.0f%% of best-path's (flow mode: %.0f%%).\n",
			lo->ad_sybils, hi->ad_sybils, lo->ad_bound, hi->ad_bound, kl->ad_sybils,
			kh->ad_sybils, attack_share(hi->ad_honest, hi->bp_honest),
			attack_share(hi->fl_honest, hi->bp_honest));
	}
	fprintf(f,
		"- Best-path mode has no bound: every Sybil within maxDepth hops of the viewpoint "
		"through a compromised node is trusted, so acceptance grows with S (as long as the "
		"Sybil region fits in the depth) and with k. Flow and flow-adaptive modes: the "
		"accepted Sybils never exceed Levien's bound (the capacity behind the k attack edges, "
		"checked in every run): %ld violation(s) in %ld viewpoint runs of each mode, whatever "
		"S is.\n",
		violations, runs);
}


static int attack_plot(const char *png, const attack_row *rows, size_t n_rows, const int *ks,
		       int nk, int depth)
{
	char dat[] = "/tmp/mesh-attack-XXXXXX";
	int fd = mkstemp(dat);
	if (fd < 0)
		return -1;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(dat);
		return -1;
	}
	for (int ki = 0; ki < nk; ki++) {
		for (size_t i = 0; i < n_rows; i++)
			if (rows[i].k == ks[ki] && rows[i].depth == depth)
				fprintf(f, "%ld %.4f %.4f %.4f\n", rows[i].sybils, rows[i].bp_sybils,
					rows[i].fl_sybils, rows[i].fl_bound);
		fprintf(f, "\n\n");
	}
	fclose(f);
	FILE *gp = popen("gnuplot 2>/dev/null", "w");
	if (!gp) {
		unlink(dat);
		return -1;
	}
	fprintf(gp,
		"set terminal png size 900,560\nset output '%s'\nset logscale xy\n"
		"set key top left\nset grid\nset xlabel 'Sybil identities S'\n"
		"set ylabel 'Sybils trusted per viewpoint (mean, +0.1 for the log scale)'\n"
		"set title 'Sybil acceptance at depth %d: best-path vs flow mode vs Levien bound'\n"
		"plot ",
		png, depth);
	for (int ki = 0; ki < nk; ki++)
		fprintf(gp,
			"%s'%s' index %d using 1:($2+0.1) with linespoints lw 2 lc %d title 'best-path k=%d', "
			"'%s' index %d using 1:($3+0.1) with linespoints dt 2 lw 2 lc %d title 'flow k=%d', "
			"'%s' index %d using 1:($4+0.1) with lines dt 3 lc %d title 'bound k=%d'",
			ki ? ", " : "", dat, ki, ki + 1, ks[ki], dat, ki, ki + 1, ks[ki], dat, ki, ki + 1,
			ks[ki]);
	fprintf(gp, "\n");
	int st = pclose(gp);
	unlink(dat);
	return st == 0 ? 0 : -1;
}

#define ATTACK_USAGE                                                                               \
	"mesh sim attack --graph FILE --format konect|csv-signed|snap [--k 1,5,20] "                    \
	"[--sybils 10,100,1000] [--viewpoints 100] [--depths 2,3,4] [--seed S] [--json] "         \
	"[--plot FILE.png] [--markdown FILE.md]"

static const mesh_opt ATTACK_OPTS[] = {
	{"graph", MESH_ARG, "FILE", "the trust graph (required)", 'g'},
	{"format", MESH_ARG, "F", "konect (FROM TO [WEIGHT]), csv-signed or snap (required)", 'f'},
	{"k", MESH_ARG, "LIST", "attack edges, comma separated (default 1,5,20)", 'k'},
	{"sybils", MESH_ARG, "LIST", "Sybil region sizes (default 10,100,1000)", 's'},
	{"viewpoints", MESH_ARG, "N", "honest viewpoints, 1..100000 (default 100)", 'v'},
	{"depths", MESH_ARG, "LIST", "depths (default 2,3,4)", 'd'},
	{"seed", MESH_ARG, "S", "random seed (default 1)", 'S'},
	MESH_OPT_JSON_H("print the rows as JSON"),
	{"plot", MESH_ARG, "FILE.png", "draw the results with gnuplot (skipped when it is missing)", 'p'},
	{"markdown", MESH_ARG, "FILE.md", "write the results (a table and a summary) as Markdown", 'm'},
	MESH_OPT_END};
static const mesh_spec ATTACK_SPEC = {
	ATTACK_USAGE,
	"Attach a Sybil region of S identities behind k attack edges (from k random honest\nnodes) "
	"to a real trust graph and count, from honest viewpoints at each depth,\nthe Sybils trusted "
	"in best-path mode (trust > 0, total score) and accepted in\nflow and flow-adaptive modes, "
	"against Levien's bound, checked in every run\n(docs/flow.md, docs/attack.md); the run "
	"fails when any is exceeded. The graph is\nread as `mesh graph import-edgelist` reads it "
	"(docs/edgelist.md; a line it refuses\nis an error), and konect also takes unweighted "
	"`FROM TO` lines (full trust).",
	ATTACK_OPTS, 0, 0, NULL, NULL};

int mesh_sim_attack(mesh_ctx *ctx, int argc, char **argv)
{
	const char *path = NULL, *format = NULL, *plot = NULL, *md = NULL;
	int ks[ATTACK_MAX_LIST] = {1, 5, 20}, nk = 3, ss[ATTACK_MAX_LIST] = {10, 100, 1000}, ns = 3;
	int ds[ATTACK_MAX_LIST] = {2, 3, 4}, nd = 3, n_views = 100, json = 0, rc;
	int64_t seed = 1, v;
	mt_error err = {0};
	mesh_args a;
	if ((rc = mesh_parse_args(&ATTACK_SPEC, argc, argv, &a)) != MESH_ARGS_RUN)
		return rc;
	for (int i = 0; i < a.n_opt; i++) {
		const char *val = a.opt[i].val;
		switch (a.opt[i].id) {
		case 'g': path = val; break;
		case 'f': format = val; break;
		case 'k':
			if ((rc = parse_list(ks, &nk, val, "--k", 1, ATTACK_MAX_K)))
				return rc;
			break;
		case 's':
			if ((rc = parse_list(ss, &ns, val, "--sybils", 1, 1000000)))
				return rc;
			break;
		case 'd':
			if ((rc = parse_list(ds, &nd, val, "--depths", 1, MT_ENGINE_MAX_DEPTH)))
				return rc;
			break;
		case 'v':
			if (mesh_parse_int(&v, val, "--viewpoints", 1, 100000, &err))
				return mesh_usage(ATTACK_USAGE, "%s", err.msg);
			n_views = (int)v;
			break;
		case 'S':
			if (mesh_parse_int(&seed, val, "--seed", 0, INT64_MAX, &err))
				return mesh_usage(ATTACK_USAGE, "%s", err.msg);
			break;
		case 'j': json = 1; break;
		case 'p': plot = val; break;
		case 'm': md = val; break;
		}
	}
	if (!path)
		return mesh_usage(ATTACK_USAGE, "--graph is required");
	if (!format || (strcmp(format, "konect") && strcmp(format, "csv-signed") && strcmp(format, "snap")))
		return mesh_usage(ATTACK_USAGE, "--format must be konect, csv-signed or snap");
	attack_graph g = {0};
	char(*hid)[16] = NULL;
	uint32_t *indeg = NULL, *outdeg = NULL, *comp = NULL, *views = NULL;
	uint8_t *taken = NULL;
	attack_row *rows = NULL;
	size_t n_rows = 0;
	json_t *jrows = NULL;
	el_format ef = strcmp(format, "csv-signed") == 0 ? EL_CSV_SIGNED
		       : strcmp(format, "snap") == 0	 ? EL_SNAP
							 : EL_KONECT;
	if ((rc = attack_read(&g, path, ef, ctx->now)))
		goto done;
	int kmax = 0;
	for (int i = 0; i < nk; i++)
		kmax = ks[i] > kmax ? ks[i] : kmax;
	hid = malloc(g.n * sizeof *hid);
	indeg = calloc(g.n, sizeof *indeg);
	outdeg = calloc(g.n, sizeof *outdeg);
	taken = calloc(g.n, 1);
	comp = malloc((size_t)kmax * sizeof *comp);
	views = malloc((size_t)n_views * sizeof *views);
	rows = malloc((size_t)nk * (size_t)ns * (size_t)nd * sizeof *rows);
	if (!hid || !indeg || !outdeg || !taken || !comp || !views || !rows) {
		rc = mesh_fail("out of memory");
		goto done;
	}
	for (size_t i = 0; i < g.n; i++)
		snprintf(hid[i], sizeof hid[i], "h%07llu", (unsigned long long)g.num[i]);
	for (size_t i = 0; i < g.m; i++) {
		outdeg[g.src[i]]++;
		indeg[g.dst[i]]++;
	}
	/* Compromised: trusted by someone (in-degree > 0); viewpoints: trust someone. */
	uint64_t x = (uint64_t)seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull;
	if (attack_pick(comp, kmax, indeg, taken, g.n, &x) != kmax) {
		rc = mesh_fail("the graph has fewer than %d trusted nodes to compromise", kmax);
		goto done;
	}
	int got = attack_pick(views, n_views, outdeg, taken, g.n, &x);
	if (got < 1) {
		rc = mesh_fail("the graph has no honest viewpoint left");
		goto done;
	}
	n_views = got;
	for (int si = 0; si < ns; si++)
		for (int ki = 0; ki < nk; ki++) {
			if ((rc = attack_config(&g, hid, comp, ks[ki], ss[si], views, n_views, ds, nd,
						(uint64_t)seed, &rows[n_rows])))
				goto done;
			n_rows += (size_t)nd;
		}
	long violations = 0;
	for (size_t i = 0; i < n_rows; i++)
		violations += rows[i].violations + rows[i].ind_violations;
	if (json) {
		jrows = json_array();
		for (size_t i = 0; i < n_rows; i++) {
			const attack_row *r = &rows[i];
			json_t *row = json_pack("{s:f,s:I,s:I,s:I,s:I}", "adaptive_indep_bound",
						r->ind_bound, "adaptive_indep_bound_max",
						(json_int_t)r->ind_max_bound, "adaptive_indep_runs",
						(json_int_t)r->ind_runs, "adaptive_indep_violations",
						(json_int_t)r->ind_violations, "runs", (json_int_t)r->runs);
			json_object_update_new(
				row,
				json_pack("{s:i,s:I,s:i,s:f,s:f,s:f,s:f,s:I,s:f,s:f,s:f,s:I,s:f,s:I,s:f,s:f,s:I}",
					  "k", r->k, "sybils", (json_int_t)r->sybils, "depth", r->depth,
					  "best_path_sybils", r->bp_sybils, "best_path_score", r->bp_score,
					  "best_path_honest", r->bp_honest, "flow_sybils", r->fl_sybils,
					  "flow_sybils_max", (json_int_t)r->fl_max, "flow_bound", r->fl_bound,
					  "flow_honest", r->fl_honest, "adaptive_sybils", r->ad_sybils,
					  "adaptive_sybils_max", (json_int_t)r->ad_max, "adaptive_bound",
					  r->ad_bound, "adaptive_bound_min", (json_int_t)r->ad_bound_min,
					  "adaptive_honest", r->ad_honest, "adaptive_honest_share",
					  attack_share(r->ad_honest, r->bp_honest) / 100.0, "violations",
					  (json_int_t)r->violations));
			json_array_append_new(jrows, row);
		}
	} else {
		printf("graph %s: %zu nodes, %zu positive edges; %d viewpoints; capacities %s\n\n",
		       path, g.n, g.m, n_views, MT_FLOW_DEFAULT_CAPACITIES);
	}
	FILE *mdf = md ? fopen(md, "w") : NULL;
	if (md && !mdf) {
		rc = mesh_fail("cannot write %s: %s", md, strerror(errno));
		goto done;
	}
	FILE *outs[2] = {json ? NULL : stdout, mdf};
	for (int o = 0; o < 2; o++) {
		FILE *f = outs[o];
		if (!f)
			continue;
		if (f == mdf)
			fprintf(f,
				"# Sybil attack simulation (`mesh sim attack`)\n\n"
				"Generated by `mesh sim attack --graph %s --format %s` (seed %lld): %zu "
				"nodes, %zu positive edges, %d honest viewpoints, flow capacities `%s`. "
				"Each row: mean per viewpoint. Best-path: Sybils with trust > 0 and their "
				"total score (SPEC §3, decay 1 1 0.5 0.25 0.125). Flow: Sybils accepted "
				"(mean and max over viewpoints) and Levien's bound Σ(c(d)−1) over the "
				"compromised nodes in the region (mean); honest = honest nodes trusted / "
				"accepted. Flow-adaptive (`trust.mode flow-adaptive`): the same with the "
				"capacities each query derives from its region (slack %u), the bound "
				"computed from them in every run; reach = honest nodes accepted as a "
				"share of best-path's. Violations count both flow modes. How the Sybil "
				"region is built: docs/flow.md and the command's source.\n\n",
				path, format, (long long)seed, g.n, g.m, n_views, MT_FLOW_DEFAULT_CAPACITIES,
				MT_FLOW_ADAPTIVE_SLACK);
		if (f != mdf) { /* a terminal or a pipe: aligned columns, not Markdown */
			fprintf(f, "%4s %6s %5s  %9s %9s %9s  %11s %8s %8s  %11s %8s %8s %6s %15s %4s\n",
				"k", "S", "depth", "bp-sybils", "bp-score", "bp-honest", "fl-sybils",
				"fl-bound", "fl-reach", "ad-sybils", "ad-bound", "ad-reach", "ad-hon",
				"ind-bound(runs)", "viol");
			for (size_t i = 0; i < n_rows; i++) {
				const attack_row *r = &rows[i];
				char fl[32], ad[32], flr[16], adr[16], ind[48];
				snprintf(fl, sizeof fl, "%.1f (%ld)", r->fl_sybils, r->fl_max);
				snprintf(ad, sizeof ad, "%.1f (%ld)", r->ad_sybils, r->ad_max);
				snprintf(flr, sizeof flr, "%.0f%%", attack_share(r->fl_honest, r->bp_honest));
				snprintf(adr, sizeof adr, "%.0f%%", attack_share(r->ad_honest, r->bp_honest));
				snprintf(ind, sizeof ind, "%.1f (%ld)", r->ind_bound, r->ind_runs);
				fprintf(f,
					"%4d %6ld %5d  %9.1f %9.2f %9.1f  %11s %8.1f %8s  %11s %8.1f %8s "
					"%6.0f %15s %4ld\n",
					r->k, r->sybils, r->depth, r->bp_sybils, r->bp_score, r->bp_honest, fl,
					r->fl_bound, flr, ad, r->ad_bound, adr, r->ad_honest, ind,
					r->violations + r->ind_violations);
			}
		} else {
			fprintf(f, "| k | S | depth | best-path Sybils | best-path Sybil score | "
				   "best-path honest | flow Sybils (max) | flow bound | flow honest "
				   "(reach) | adaptive Sybils (max) | adaptive bound | adaptive honest "
				   "(reach) | S-independent bound (runs) | violations |\n");
			fprintf(f, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
			for (size_t i = 0; i < n_rows; i++) {
				const attack_row *r = &rows[i];
				fprintf(f,
					"| %d | %ld | %d | %.1f | %.2f | %.1f | %.1f (%ld) | %.1f | %.1f "
					"(%.0f%%) | %.1f (%ld) | %.1f | %.1f (%.0f%%) | %.1f (%ld/%ld) | %ld |\n",
					r->k, r->sybils, r->depth, r->bp_sybils, r->bp_score,
					r->bp_honest, r->fl_sybils, r->fl_max, r->fl_bound, r->fl_honest,
					attack_share(r->fl_honest, r->bp_honest), r->ad_sybils, r->ad_max,
					r->ad_bound, r->ad_honest, attack_share(r->ad_honest, r->bp_honest),
					r->ind_bound, r->ind_runs, r->runs, r->violations + r->ind_violations);
			}
		}
		fprintf(f, "\n");
		attack_statement(f, rows, n_rows, ks, nk, ss, ns, ds, nd);
	}
	int plotted = -1;
	if (plot) {
		plotted = attack_plot(plot, rows, n_rows, ks, nk, ds[nd - 1]);
		if (plotted)
			fprintf(stderr, "plot skipped: gnuplot is not installed or failed (install "
					"gnuplot-nox)\n");
	}
	if (mdf) {
		if (plot && plotted == 0)
			fprintf(mdf, "\n![Sybil acceptance at depth %d](%s)\n", ds[nd - 1],
				strrchr(plot, '/') ? strrchr(plot, '/') + 1 : plot);
		fclose(mdf);
	}
	if (json)
		mesh_print_json(json_pack("{s:s,s:I,s:I,s:i,s:s,s:I,s:o,s:I,s:b}", "graph", path, "nodes",
					  (json_int_t)g.n, "edges", (json_int_t)g.m, "viewpoints", n_views,
					  "capacities", MT_FLOW_DEFAULT_CAPACITIES, "adaptive_slack",
					  (json_int_t)MT_FLOW_ADAPTIVE_SLACK, "rows", jrows,
					  "violations", (json_int_t)violations, "plotted", plotted == 0));
	jrows = NULL;
	rc = violations ? EXIT_FAIL : EXIT_OK;
done:
	json_decref(jrows);
	attack_graph_free(&g);
	free(hid);
	free(indeg);
	free(outdeg);
	free(taken);
	free(comp);
	free(views);
	free(rows);
	return rc;
}
