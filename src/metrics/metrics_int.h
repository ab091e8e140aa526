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

/** Pick `k` distinct values of 0..n-1 with a fixed PRNG seeded by `seed`
 * (partial Fisher-Yates over a splitmix64 stream), written ascending to
 * out[0..k). k <= n. Returns 0 or MT_ENOMEM. */
int mt_metrics__sample(uint32_t *out, uint32_t n, uint32_t k, uint64_t seed);

#endif
