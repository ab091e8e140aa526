/** Internals of the metrics module (not installed, not a stable API).
 *
 * The betweenness engine works on a compact CSR graph with uint32 node
 * indices; the benchmark links it directly to time the kernel alone.
 */
#ifndef MT_METRICS_INT_H
#define MT_METRICS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "meshtrust/metrics.h"

/** Directed graph in compressed sparse row form: the out-neighbours of v are
 * adj[off[v] .. off[v+1]), sorted ascending, without duplicates or self-loops. */
typedef struct mt_metrics_csr {
	uint32_t node_count;
	uint32_t edge_count;
	uint32_t *off; /* node_count + 1 entries */
	uint32_t *adj; /* edge_count entries */
} mt_metrics_csr;

/** Brandes betweenness over `graph` from the sources `sources[0..source_count)`
 * (all nodes when `sources` is NULL, then source_count must be node_count).
 * Writes the unscaled, unnormalised sums into out[0..node_count) (caller
 * allocated). `threads` >= 1. Deterministic for any thread count.
 * `progress` may be NULL. Returns 0 or MT_ENOMEM. */
int mt_metrics__betweenness(double *out, const mt_metrics_csr *graph, const uint32_t *sources,
                            uint32_t source_count, unsigned threads,
                            mt_metrics_progress_fn progress, void *payload);

/** Number of accumulation lanes used for `source_count` sources on a graph of
 * `node_count` nodes (depends on nothing else). */
unsigned mt_metrics__lanes(uint32_t node_count, uint32_t source_count);

/** splitmix64 (Steele, Lea, Flood 2014): a tiny, well-mixed fixed PRNG;
 * advances *state. Shared by the source sampling and the approximation. */
static inline uint64_t mt_metrics__splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/** Uniform in [0, bound), bound >= 1, without modulo bias (rejection). */
static inline uint32_t mt_metrics__uniform_below(uint64_t *state, uint32_t bound)
{
	uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
	uint64_t x;
	do
		x = mt_metrics__splitmix64(state);
	while (x >= limit);
	return (uint32_t)(x % bound);
}

/** Pick `k` distinct values of 0..n-1 with a fixed PRNG seeded by `seed`
 * (partial Fisher-Yates over a splitmix64 stream), written ascending to
 * out[0..k). k <= n. Returns 0 or MT_ENOMEM. */
int mt_metrics__sample(uint32_t *out, uint32_t n, uint32_t k, uint64_t seed);

/** Samples Riondato–Kornaropoulos need for every node within `eps` (of the
 * normalised betweenness) with probability 1 - `delta` on a graph whose
 * vertex diameter is at most `vd_bound`: 0 when vd_bound < 3. Above 2^36
 * (a request we refuse) it returns 2^36 + 1. */
uint64_t mt_metrics__approx_samples(double eps, double delta, uint32_t vd_bound);

/** Approximate betweenness (src/metrics/approx.c, its comment has the
 * method and the bound): estimates in the unit of the exact value into
 * out[0..node_count) (caller allocated), *samples_out the pairs drawn,
 * *vd_out the vertex-diameter bound used (the largest weakly connected
 * component). eps, delta in (0, 1). Deterministic in (graph, eps, delta,
 * seed) for any `threads` >= 1. Returns 0, MT_EINVAL (more than 2^36
 * samples) or MT_ENOMEM. */
int mt_metrics__approx(double *out, const mt_metrics_csr *graph, double eps, double delta,
                       uint64_t seed, unsigned threads, mt_metrics_progress_fn progress,
                       void *payload, uint64_t *samples_out, uint32_t *vd_out);

#endif
