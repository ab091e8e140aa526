/* Approximate betweenness with a stated guarantee (issue #22, item 4).
 *
 * M. Riondato and E. M. Kornaropoulos, "Fast approximation of betweenness
 * centrality through sampling", Data Min. Knowl. Disc. 30(2):438-475, 2016:
 * draw r ordered pairs (u, v), u != v, uniformly; for each, draw one shortest
 * u->v path uniformly among all of them and add 1/r to every node inside it
 * (not u, not v). With
 *
 *   r = ceil( c / eps^2 * ( floor(log2(VD - 2)) + 1 + ln(1 / delta) ) ), c = 0.5,
 *
 * where VD bounds the vertex diameter (the most nodes on any shortest path),
 * every node's estimate is within eps of its normalised betweenness
 * b(w) = BC(w) / (n (n - 1)) at once, with probability at least 1 - delta
 * (their Theorem 2, from the VC dimension of the range space of shortest
 * paths, which is at most floor(log2(VD - 2)) + 1). The estimate reported is
 * b~(w) * n (n - 1), in the unit of the exact value.
 *
 * VD: on a directed graph one BFS does not bound it (the paper's 2-approx is
 * for undirected graphs); we use the size of the largest weakly connected
 * component, which every shortest path lies in: loose, but it enters only
 * through its log2.
 *
 * One sample: a balanced bidirectional BFS (forward over out-edges from u,
 * backward over in-edges from v, a whole level at a time on the side whose
 * frontier has fewer edges to scan, as in KADABRA: M. Borassi and E. Natale,
 * ESA 2016). Searching stops at the first level where the two meet: if the
 * forward search has reached level kf and the backward kb without meeting,
 * d(u,v) >= kf + kb + 1, so the nodes found by both after one more level are
 * exactly the nodes of that level lying on shortest paths, every shortest
 * path crosses that layer once, and through node x go sigma_f(x) *
 * sigma_b(x) of them. The path is drawn by picking x in proportion, then
 * walking to u (predecessor p with weight sigma_f(p)) and to v (successor s
 * with weight sigma_b(s)).
 *
 * Determinism: sample i draws from its own stream (splitmix64 of seed and
 * i), and the counts are integers summed per thread: the result depends on
 * (graph, eps, delta, seed) only, never on the thread count.
 */
#include "metrics_int.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK 64u
#define PROGRESS_NS 200000000LL
/* More samples than this is a request we refuse (eps far too small). */
#define MAX_SAMPLES ((uint64_t)1 << 36)

/* Uniform double in [0, 1). */
static double uniform01(uint64_t *state)
{
	return (double)(mt_metrics__splitmix64(state) >> 11) * 0x1.0p-53;
}

uint64_t mt_metrics__approx_samples(double eps, double delta, uint32_t vd_bound)
{
	if (vd_bound < 3)
		return 0; /* no shortest path has a node inside it */
	double vc = floor(log2((double)vd_bound - 2.0)) + 1.0;
	double r = ceil(0.5 / (eps * eps) * (vc + log(1.0 / delta)));
	return r > (double)MAX_SAMPLES ? MAX_SAMPLES + 1 : (uint64_t)r;
}

/* ---- the largest weakly connected component (union-find) ------------------------ */

static uint32_t uf_find(uint32_t *parent, uint32_t x)
{
	while (parent[x] != x) {
		parent[x] = parent[parent[x]];
		x = parent[x];
	}
	return x;
}

static int largest_wcc(const mt_metrics_csr *g, uint32_t *out)
{
	uint32_t n = g->node_count;
	uint32_t *parent = malloc((size_t)n * sizeof *parent);
	uint32_t *size = calloc(n ? n : 1, sizeof *size);
	if (!parent || !size) {
		free(parent);
		free(size);
		return MT_ENOMEM;
	}
	for (uint32_t v = 0; v < n; v++)
		parent[v] = v;
	for (uint32_t v = 0; v < n; v++)
		for (uint32_t e = g->off[v]; e < g->off[v + 1]; e++) {
			uint32_t a = uf_find(parent, v), b = uf_find(parent, g->adj[e]);
			if (a != b)
				parent[a < b ? b : a] = a < b ? a : b;
		}
	uint32_t best = 0;
	for (uint32_t v = 0; v < n; v++) {
		uint32_t r = uf_find(parent, v);
		if (++size[r] > best)
			best = size[r];
	}
	free(parent);
	free(size);
	*out = best;
	return 0;
}

/* ---- one sample ------------------------------------------------------------------- */

typedef struct approx_run {
	const mt_metrics_csr *g;
	const uint32_t *roff, *radj; /* in-edges */
	uint64_t samples, seed;
	atomic_uint_fast64_t next, done;
	atomic_int failed;
} approx_run;

typedef struct scratch {
	int32_t *df, *db;      /* hops from u / to v, -1 = not reached */
	double *sf, *sb;       /* shortest-path counts */
	uint32_t *front, *next, *bfront, *bnext, *touched;
	uint32_t n_touched;
	uint32_t *hits;        /* samples whose path has the node inside */
} scratch;

static void scratch_free(scratch *s)
{
	free(s->df);
	free(s->db);
	free(s->sf);
	free(s->sb);
	free(s->front);
	free(s->next);
	free(s->bfront);
	free(s->bnext);
	free(s->touched);
	free(s->hits);
	memset(s, 0, sizeof *s);
}

static int scratch_init(scratch *s, uint32_t n)
{
	memset(s, 0, sizeof *s);
	size_t k = n ? n : 1;
	s->df = malloc(k * sizeof *s->df);
	s->db = malloc(k * sizeof *s->db);
	s->sf = malloc(k * sizeof *s->sf);
	s->sb = malloc(k * sizeof *s->sb);
	s->front = malloc(k * sizeof *s->front);
	s->next = malloc(k * sizeof *s->next);
	s->bfront = malloc(k * sizeof *s->bfront);
	s->bnext = malloc(k * sizeof *s->bnext);
	s->touched = malloc(k * sizeof *s->touched);
	s->hits = calloc(k, sizeof *s->hits);
	if (!s->df || !s->db || !s->sf || !s->sb || !s->front || !s->next || !s->bfront ||
	    !s->bnext || !s->touched || !s->hits) {
		scratch_free(s);
		return MT_ENOMEM;
	}
	memset(s->df, 0xff, k * sizeof *s->df);
	memset(s->db, 0xff, k * sizeof *s->db);
	return 0;
}

static void touch(scratch *s, uint32_t x)
{
	if (s->df[x] < 0 && s->db[x] < 0)
		s->touched[s->n_touched++] = x;
}

/* Expand one level of one side. Forward: rows off/adj (out-edges), marks
 * d/sg = df/sf, the other side's marks od = db. Returns how many nodes of the
 * new level the other side has reached (they are moved to the front of
 * next[]: next[0..met)). */
static uint32_t expand(scratch *s, const uint32_t *off, const uint32_t *adj, int32_t *d,
		       double *sg, const int32_t *od, const uint32_t *front, uint32_t n_front,
		       uint32_t *next, uint32_t *n_next, int32_t level)
{
	uint32_t cnt = 0;
	for (uint32_t i = 0; i < n_front; i++) {
		uint32_t x = front[i];
		double sx = sg[x];
		for (uint32_t e = off[x]; e < off[x + 1]; e++) {
			uint32_t y = adj[e];
			if (d[y] < 0) {
				touch(s, y);
				d[y] = level;
				sg[y] = 0.0;
				next[cnt++] = y;
			}
			if (d[y] == level)
				sg[y] += sx;
		}
	}
	uint32_t met = 0;
	for (uint32_t i = 0; i < cnt; i++)
		if (od[next[i]] >= 0) {
			uint32_t t = next[met];
			next[met++] = next[i];
			next[i] = t;
		}
	*n_next = cnt;
	return met;
}

static uint64_t front_cost(const uint32_t *off, const uint32_t *front, uint32_t n)
{
	uint64_t c = 0;
	for (uint32_t i = 0; i < n; i++)
		c += off[front[i] + 1] - off[front[i]];
	return c;
}

/* Walk from x to the end where d == 0 over rows off/adj, picking the step
 * with weight sg among the nodes one level nearer; counts every node passed
 * except the end. */
static void walk(scratch *s, const uint32_t *off, const uint32_t *adj, const int32_t *d,
		 const double *sg, uint32_t x, uint64_t *rng)
{
	uint32_t cur = x;
	while (d[cur] > 0) {
		int32_t want = d[cur] - 1;
		double total = 0.0;
		for (uint32_t e = off[cur]; e < off[cur + 1]; e++)
			if (d[adj[e]] == want)
				total += sg[adj[e]];
		double pick = uniform01(rng) * total;
		uint32_t chosen = UINT32_MAX, last = UINT32_MAX;
		for (uint32_t e = off[cur]; e < off[cur + 1]; e++) {
			uint32_t p = adj[e];
			if (d[p] != want)
				continue;
			last = p;
			pick -= sg[p];
			if (pick < 0.0) {
				chosen = p;
				break;
			}
		}
		cur = chosen != UINT32_MAX ? chosen : last; /* rounding: the last one */
		if (d[cur] > 0)
			s->hits[cur]++;
	}
}

static void one_sample(const approx_run *run, scratch *s, uint64_t index)
{
	const mt_metrics_csr *g = run->g;
	uint32_t n = g->node_count;
	uint64_t rng = run->seed ^ (index * 0xd1b54a32d192ed03ULL);
	(void)mt_metrics__splitmix64(&rng);
	uint32_t u = mt_metrics__uniform_below(&rng, n);
	uint32_t v = mt_metrics__uniform_below(&rng, n - 1);
	if (v >= u)
		v++;
	s->n_touched = 0;
	touch(s, u);
	s->df[u] = 0;
	s->sf[u] = 1.0;
	touch(s, v);
	s->db[v] = 0;
	s->sb[v] = 1.0;
	uint32_t nf = 1, nb = 1, met = 0, n_next = 0;
	s->front[0] = u;
	s->bfront[0] = v;
	int32_t kf = 0, kb = 0;
	int forward_met = 1;
	while (nf && nb) {
		uint64_t cf = front_cost(g->off, s->front, nf);
		uint64_t cb = front_cost(run->roff, s->bfront, nb);
		if (cf <= cb) {
			met = expand(s, g->off, g->adj, s->df, s->sf, s->db, s->front, nf, s->next,
				     &n_next, ++kf);
			uint32_t *t = s->front;
			s->front = s->next;
			s->next = t;
			nf = n_next;
			forward_met = 1;
		} else {
			met = expand(s, run->roff, run->radj, s->db, s->sb, s->df, s->bfront, nb,
				     s->bnext, &n_next, ++kb);
			uint32_t *t = s->bfront;
			s->bfront = s->bnext;
			s->bnext = t;
			nb = n_next;
			forward_met = 0;
		}
		if (met)
			break;
	}
	if (met) {
		const uint32_t *layer = forward_met ? s->front : s->bfront;
		double total = 0.0;
		for (uint32_t i = 0; i < met; i++)
			total += s->sf[layer[i]] * s->sb[layer[i]];
		double pick = uniform01(&rng) * total;
		uint32_t x = layer[met - 1];
		for (uint32_t i = 0; i < met; i++) {
			pick -= s->sf[layer[i]] * s->sb[layer[i]];
			if (pick < 0.0) {
				x = layer[i];
				break;
			}
		}
		if (x != u && x != v)
			s->hits[x]++;
		walk(s, run->roff, run->radj, s->df, s->sf, x, &rng); /* toward u */
		walk(s, g->off, g->adj, s->db, s->sb, x, &rng);       /* toward v */
	}
	for (uint32_t i = 0; i < s->n_touched; i++) {
		uint32_t t = s->touched[i];
		s->df[t] = -1;
		s->db[t] = -1;
	}
}

typedef struct worker {
	approx_run *run;
	scratch s;
	pthread_t th;
	int started;
} worker;

static void *work(void *arg)
{
	worker *w = arg;
	approx_run *run = w->run;
	for (;;) {
		uint64_t start = atomic_fetch_add(&run->next, CHUNK);
		if (start >= run->samples)
			break;
		uint64_t end = start + CHUNK < run->samples ? start + CHUNK : run->samples;
		for (uint64_t i = start; i < end; i++)
			one_sample(run, &w->s, i);
		atomic_fetch_add(&run->done, end - start);
	}
	return NULL;
}

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int mt_metrics__approx(double *out, const mt_metrics_csr *g, double eps, double delta,
		       uint64_t seed, unsigned threads, mt_metrics_progress_fn progress,
		       void *payload, uint64_t *samples_out, uint32_t *vd_out)
{
	uint32_t n = g->node_count;
	memset(out, 0, (size_t)n * sizeof *out);
	*samples_out = 0;
	*vd_out = 0;
	if (n < 3)
		return 0;
	uint32_t vd = 0;
	int rc = largest_wcc(g, &vd);
	if (rc)
		return rc;
	*vd_out = vd;
	uint64_t r = mt_metrics__approx_samples(eps, delta, vd);
	if (r > MAX_SAMPLES)
		return MT_EINVAL;
	*samples_out = r;
	if (r == 0)
		return 0;
	/* in-edges: counting sort of the edges by target */
	uint32_t *roff = calloc((size_t)n + 1, sizeof *roff);
	uint32_t *radj = malloc((g->edge_count ? g->edge_count : 1) * sizeof *radj);
	if (!roff || !radj) {
		free(roff);
		free(radj);
		return MT_ENOMEM;
	}
	for (uint32_t e = 0; e < g->edge_count; e++)
		roff[g->adj[e] + 1]++;
	for (uint32_t v = 0; v < n; v++)
		roff[v + 1] += roff[v];
	uint32_t *fill = malloc((size_t)n * sizeof *fill);
	if (!fill) {
		free(roff);
		free(radj);
		return MT_ENOMEM;
	}
	memcpy(fill, roff, (size_t)n * sizeof *fill);
	for (uint32_t v = 0; v < n; v++)
		for (uint32_t e = g->off[v]; e < g->off[v + 1]; e++)
			radj[fill[g->adj[e]]++] = v;
	free(fill);

	approx_run run = {.g = g, .roff = roff, .radj = radj, .samples = r, .seed = seed};
	atomic_init(&run.next, 0);
	atomic_init(&run.done, 0);
	atomic_init(&run.failed, 0);
	if (threads < 1)
		threads = 1;
	if ((uint64_t)threads * CHUNK > r)
		threads = (unsigned)((r + CHUNK - 1) / CHUNK);
	worker *ws = calloc(threads, sizeof *ws);
	if (!ws) {
		free(roff);
		free(radj);
		return MT_ENOMEM;
	}
	rc = 0;
	unsigned started = 0;
	for (unsigned t = 0; t < threads; t++) {
		ws[t].run = &run;
		if (scratch_init(&ws[t].s, n)) {
			rc = MT_ENOMEM;
			break;
		}
		if (pthread_create(&ws[t].th, NULL, work, &ws[t]) != 0) {
			scratch_free(&ws[t].s);
			break; /* run with the threads that started */
		}
		ws[t].started = 1;
		started++;
	}
	if (!rc && started == 0) {
		/* no thread could start: sample on this one */
		if (scratch_init(&ws[0].s, n) == 0) {
			ws[0].started = 0;
			work(&ws[0]);
			started = 0;
		} else {
			rc = MT_ENOMEM;
		}
	}
	if (rc) /* stop the others early */
		atomic_store(&run.next, r);
	int64_t last = mono_ns();
	while (progress && started && atomic_load(&run.done) < r && !rc) {
		struct timespec nap = {0, 50000000L};
		nanosleep(&nap, NULL);
		if (progress && mono_ns() - last >= PROGRESS_NS) {
			progress(atomic_load(&run.done), r, payload);
			last = mono_ns();
		}
	}
	for (unsigned t = 0; t < threads; t++)
		if (ws[t].started)
			pthread_join(ws[t].th, NULL);
	if (!rc && progress)
		progress(r, r, payload);
	if (!rc) {
		/* integer sums, then one scale: any thread count gives these bits */
		double scale = (double)n * (double)(n - 1) / (double)r;
		for (uint32_t v = 0; v < n; v++) {
			uint64_t h = 0;
			for (unsigned t = 0; t < threads; t++)
				if (ws[t].s.hits)
					h += ws[t].s.hits[v];
			out[v] = (double)h * scale;
		}
	}
	for (unsigned t = 0; t < threads; t++)
		scratch_free(&ws[t].s);
	free(ws);
	free(roff);
	free(radj);
	return rc;
}
