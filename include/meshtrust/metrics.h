/** Centralization metrics of one scope of the trust graph (SPEC §4).
 *
 * Input: the current edges as the graph layers see them (`mt_edge_in`, see
 * edge.h). Only *trust edges* count: level full or limited (none edges are
 * ignored), scope exactly `opts->scope`, unexpired at `opts->at` (an edge with
 * exp != 0 and exp <= at is left out). Self-loops are left out too (a trust
 * statement about oneself is refused upstream, so they only appear through
 * bugs or ID rewriting). When the same (src, dst) pair appears more than once
 * in the scope (e.g. after a key rotation mapped two IDs onto one), it counts
 * as one edge carrying the highest of the scores.
 *
 * The nodes are those with at least one trust edge (as src or dst); they are
 * reported in ascending byte order of their Node ID.
 *
 * Definitions (x = inbound trust):
 * - inbound(X) = sum of score/1000 over the trust edges into X. With the
 *   saturation cap on (cap = N > 0, decay d) the incoming scores sorted
 *   descending count fully for the first N and as score/1000 * d^(i-N) for the
 *   i-th (1-based, i > N).
 * - gini = 2*sum(i*x(i)) / (n*sum(x)) - (n+1)/n over x sorted ascending;
 *   0 when n = 0 or sum(x) = 0.
 * - top_10_percent_share = share of sum(x) held by the top ceil(n/10) nodes;
 *   0 when sum(x) = 0.
 * - betweenness: Brandes' algorithm (U. Brandes, "A faster algorithm for
 *   betweenness centrality", J. Math. Sociol. 25(2):163-177, 2001) on the
 *   directed, unweighted graph (hop counts), not normalised: the value
 *   igraph's `betweenness(directed=True)` and networkx's
 *   `betweenness_centrality(G, normalized=False)` give. Summary: max, mean and
 *   population standard deviation over the nodes.
 *
 * Time complexity: O(m log m) to build the graph plus O(n*m) for exact
 * betweenness (O(K*m) when sampling K sources); memory O(n + m) plus
 * O(n) per thread and per accumulation lane (at most 8 lanes of n doubles).
 *
 * Determinism: the sources are split into a fixed number of lanes that depends
 * only on the graph (never on the thread count); each lane has its own
 * accumulator and the lanes are summed in a fixed order, so the result is
 * bit-for-bit the same for any `threads` value and any input edge order.
 */
#ifndef MESHTRUST_METRICS_H
#define MESHTRUST_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "meshtrust/edge.h"
#include "meshtrust/error.h"

/** Progress callback: `done` of `total` betweenness sources processed. It is
 * only ever called from the thread that called mt_metrics_compute(), at most
 * a few times per second plus once with done == total at the end. */
typedef void (*mt_metrics_progress_fn)(uint64_t done, uint64_t total, void *payload);

/** Options of mt_metrics_compute(). Initialise with mt_metrics_opts_init(). */
typedef struct mt_metrics_opts {
	/** Exact scope to measure; NULL means "global". Borrowed. */
	const char *scope;
	/** Evaluation time T (Unix seconds): edges with exp != 0 && exp <= at
	 * are excluded. */
	int64_t at;
	/** Saturation cap N; 0 = off (default). */
	uint32_t cap;
	/** Saturation decay d, in (0, 1]; default 0.5. Only read when cap > 0. */
	double cap_decay;
	/** Worker threads for betweenness; 0 = number of online CPUs. The
	 * result does not depend on it. */
	unsigned threads;
	/** 0 = exact betweenness (default). K > 0: K distinct sources drawn
	 * with `seed` (a fixed PRNG, the same K and seed give the same sources),
	 * each node's sum scaled by n/K. K >= n is the exact computation. */
	uint32_t sample_k;
	/** Seed of the source sampling (and of the pairs of approx_eps). */
	uint64_t seed;
	/** 0 = off (default). In (0, 1): approximate betweenness with a
	 * guarantee (Riondato–Kornaropoulos, src/metrics/approx.c): with
	 * probability at least 1 - approx_delta, every node's value is within
	 * approx_eps * n * (n - 1) of the exact one (approx_eps of the
	 * normalised betweenness). Deterministic in the seed. Not with
	 * sample_k. */
	double approx_eps;
	/** The failure probability of approx_eps, in (0, 1); 0 → 0.1. */
	double approx_delta;
	/** Optional community roster: when non-NULL, only edges whose src and
	 * dst are both among these `member_count` Node IDs count. Borrowed. */
	const char *const *members;
	size_t member_count;
	/** Optional progress callback (may be NULL) and its payload. */
	mt_metrics_progress_fn progress;
	void *progress_payload;
} mt_metrics_opts;

/** One node of a result. `node_id` points into result-owned storage. */
typedef struct mt_metrics_node {
	const char *node_id;
	double inbound_trust;
	double betweenness;
} mt_metrics_node;

/** Summary of the betweenness values over the nodes. */
typedef struct mt_metrics_betweenness {
	double max;
	double mean;
	double std_dev; /* population standard deviation */
} mt_metrics_betweenness;

/** The metrics of one scope. Owned by the caller of mt_metrics_compute();
 * free with mt_metrics_result_free(). Read-only for the caller. */
typedef struct mt_metrics_result {
	const char *scope; /* copy of the measured scope */
	size_t node_count;
	size_t edge_count; /* trust edges used (after de-duplication) */
	double total_inbound_trust;
	double gini;
	double top_10_percent_share;
	mt_metrics_betweenness betweenness;
	/** Sources used for betweenness: node_count when exact, else K. */
	size_t betweenness_sources;
	/** 1 when betweenness was sampled (K < node_count) or approximated, else 0. */
	int sampled;
	/** node_count nodes, ascending by node_id (byte order). */
	mt_metrics_node *nodes;
	/** With approx_eps: its eps and delta, the pairs drawn (also in
	 * betweenness_sources) and the vertex-diameter bound used; all 0
	 * otherwise. */
	double approx_eps, approx_delta;
	uint64_t approx_samples;
	uint32_t approx_vd_bound;
} mt_metrics_result;

/** Fill `opts` with the defaults: scope "global", at 0, cap off, cap_decay
 * 0.5, threads 0 (all online CPUs), exact betweenness, seed 0, no members,
 * no progress callback. */
void mt_metrics_opts_init(mt_metrics_opts *opts);

/** Compute the metrics of one scope over `edges[0..n)`.
 *
 * `opts` may be NULL (defaults). On success *out is a new result owned by the
 * caller (free with mt_metrics_result_free()); an empty scope gives a result
 * with node_count 0 and every value 0 — not an error. The input strings are
 * only read during the call.
 *
 * Errors: MT_EINVAL (NULL out, edges NULL with n > 0, an edge with a NULL
 * src/dst, cap > 0 with cap_decay outside (0, 1], a NULL member ID, more
 * than 2^32-2 nodes or edges, approx_eps or approx_delta outside (0, 1),
 * approx_eps with sample_k, an approx_eps needing more than 2^36 samples);
 * MT_ENOMEM. On failure *out is NULL.
 *
 * Complexity: see the file comment (O(n*m) for exact betweenness). Thread
 * safe: the function touches no global state; concurrent calls are fine.
 */
int mt_metrics_compute(mt_metrics_result **out, const mt_edge_in *edges, size_t n,
                       const mt_metrics_opts *opts, mt_error *err);

/** Free a result; NULL is a harmless no-op. */
void mt_metrics_result_free(mt_metrics_result *result);

/** The top nodes by inbound trust: fills out[0..k) with pointers to nodes of
 * `result` (borrowed), highest inbound first, ties by ascending node_id, and
 * returns k = min(max, node_count). O(node_count * log max), no allocation. */
size_t mt_metrics_top_by_inbound(const mt_metrics_result *result, size_t max,
                                 const mt_metrics_node **out);

/** As mt_metrics_top_by_inbound(), ordered by betweenness. */
size_t mt_metrics_top_by_betweenness(const mt_metrics_result *result, size_t max,
                                     const mt_metrics_node **out);

/** Render `result` as the SPEC §8 JSON object (without "digest", which the
 * caller adds):
 *   {"scope":…,"node_count":…,"edge_count":…,"total_inbound_trust":…,
 *    "gini":…,"top_10_percent_share":…,
 *    "betweenness":{"max":…,"mean":…,"std_dev":…,"sources":…,"sampled":…
 *                   [,"approx":{"eps":…,"delta":…,"samples":…,"vertex_diameter_bound":…}]},
 *    "alert":null | "<message>"
 *    [,"nodes":[{"node_id":…,"inbound_trust":…,"betweenness":…},…]]}
 * "alert" is always present: a string naming the gini and the threshold when
 * gini > max_gini, else null. "nodes" (ascending node_id) only when
 * `per_node` is non-zero. Doubles are printed with %.17g (they round-trip).
 * On success *out is a NUL-terminated string the caller frees with free().
 * Errors: MT_EINVAL (NULL out or result), MT_ENOMEM; *out is NULL then. */
int mt_metrics_result_json(char **out, const mt_metrics_result *result, int per_node,
                           double max_gini);

#endif
