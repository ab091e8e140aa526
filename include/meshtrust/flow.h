/** Sybil-bounded trust: Advogato-style max-flow acceptance (`trust.mode flow`).
 *
 * Levien's Advogato trust metric (R. Levien, A. Aiken, "Attack-Resistant
 * Trust Metrics for Public Key Certification", USENIX Security 1998; R.
 * Levien, "Attack-Resistant Trust Metrics", PhD thesis draft, UC Berkeley)
 * computed over one scope of an `mt_engine`:
 *
 * - The region is every node within `min(max_depth, n_capacity - 1)` hops of
 *   the viewpoint V by BFS over the scope's unexpired full/limited edges,
 *   never entering V's blocked nodes (SPEC §3 rules 1-3: scope isolation,
 *   `none`/expired edges not traversed, blocks in S or global).
 * - A node at BFS distance d gets capacity c(d) = capacity[d] (d = 0 is V).
 * - Each node v is split into v_in -> v_out (capacity c(d) - 1) and
 *   v_in -> sink (capacity 1); every trust edge u -> v inside the region is
 *   u_out -> v_in with unbounded capacity. Edge scores are ignored: a trust
 *   edge is a certification, as in Advogato.
 * - A maximum flow from V_in to the sink is computed (Dinic); node v is
 *   **accepted** when its unit edge to the sink carries flow.
 *
 * Bound (Levien): every unit reaching a node outside a set X of honest nodes
 * through an attack edge leaves some compromised node x through x_in -> x_out,
 * so the number of accepted Sybils is at most Σ_x (c(d(x)) - 1) over the
 * compromised nodes x in the region, whatever the number of Sybils.
 * docs/flow.md states it precisely; tests/unit/test_graph_flow.c checks it.
 *
 * The accepted set is deterministic: node indexes follow Node ID order and
 * the augmenting order is fixed.
 *
 * **Adaptive schedule** (`trust.mode flow-adaptive`, docs/flow.md): a query
 * with `capacity` NULL and `n_capacity` 0 derives the schedule from the web
 * around V instead: the region is every node within max_depth hops, N(d) the
 * number of its nodes at distance d, R(d) = N(d+1) + … + N(max_depth), and
 *
 *     c(max_depth) = 1,   c(0) = 1 + R(0),
 *     c(d) = 1 + min(R(d), ceil(MT_FLOW_ADAPTIVE_SLACK · R(d) / N(d)))  (0 < d < max_depth),
 *
 * each capped at MT_FLOW_MAX_CAPACITY: the layer at distance d can carry
 * MT_FLOW_ADAPTIVE_SLACK times what lies beyond it. The accepted set is then
 * the canonical one: nodes are taken in order (hops ascending, Node ID
 * ascending) and a node is accepted when one more unit can reach it without
 * taking a unit from a node accepted before (a matroid greedy, so it is a
 * maximum flow; an augmenting path search per node). Levien's bound holds
 * for it with these capacities: accepted Sybils <= Σ_x (c(d(x)) - 1) over
 * the compromised nodes x in the region. Time per query: O(V²·E) worst case for
 * Dinic on the split graph (V, E: nodes and edges in the region); the flow is
 * at most capacity[0], so in practice a few BFS passes per unit level.
 */
#ifndef MESHTRUST_FLOW_H
#define MESHTRUST_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "meshtrust/engine.h"
#include "meshtrust/error.h"

/** Longest capacity schedule: distances 0..MT_ENGINE_MAX_DEPTH. */
#define MT_FLOW_MAX_CAPACITIES (MT_ENGINE_MAX_DEPTH + 1)
/** Largest capacity of one node. */
#define MT_FLOW_MAX_CAPACITY 1000000u
/** Slack of the adaptive schedule: the layer at distance d gets this many
 * times the capacity it needs to carry its capped count of the nodes beyond
 * it (docs/flow.md). */
#define MT_FLOW_ADAPTIVE_SLACK 3u
/** Rank of the subtree cap of the adaptive schedule: subtrees are capped at
 * the layer's MT_FLOW_ADAPTIVE_RANK-th largest, so the bound holds without
 * counting Sybils while fewer than this many nodes of a layer are compromised
 * or above a compromised node (docs/flow.md). */
#define MT_FLOW_ADAPTIVE_RANK 3u
/** The documented default schedule, as text (docs/flow.md). */
#define MT_FLOW_DEFAULT_CAPACITIES "800 200 50 12 4 1"

/** The trust modes (`trust.mode`, `--mode`, `mode=`): SPEC §3 best path,
 * flow with the fixed schedule trust.flowCapacities, flow with the adaptive
 * schedule. */
typedef enum mt_trust_mode {
	MT_TRUST_MODE_BEST_PATH = 0,
	MT_TRUST_MODE_FLOW = 1,
	MT_TRUST_MODE_FLOW_ADAPTIVE = 2
} mt_trust_mode;

/** The mode names, for messages. */
#define MT_TRUST_MODE_NAMES "best-path or flow or flow-adaptive"

/** Parse a mode name ("best-path", "flow", "flow-adaptive") into `*out`.
 * Returns 0, or MT_EINVAL with a message naming the value and the modes
 * (`*out` unchanged). `err` may be NULL. */
int mt_trust_mode_parse(const char *text, mt_trust_mode *out, mt_error *err);

/** The name of `mode` (a static string; "best-path" for an unknown value). */
const char *mt_trust_mode_name(mt_trust_mode mode);

/** Parse a capacity schedule "800 200 50 12 4 1" (spaces, tabs or commas)
 * into `out[0..*n)`. Rules: 2..MT_FLOW_MAX_CAPACITIES integers, each in
 * 1..MT_FLOW_MAX_CAPACITY, non-increasing. Returns 0, or MT_EINVAL with a
 * message naming the bad value (`out`/`*n` then unspecified). */
int mt_flow_capacities_parse(uint32_t out[MT_FLOW_MAX_CAPACITIES], size_t *n, const char *text,
			     mt_error *err);

/** One flow query. Pointers are borrowed for the duration of the call. */
typedef struct mt_flow_query {
	const char *viewpoint;     /**< V: Node ID */
	const char *scope;         /**< exact scope; NULL means "global" */
	int64_t at;                /**< evaluation time T */
	int max_depth;             /**< 1..8; the region is distance <= min(max_depth, n_capacity-1) */
	const uint32_t *capacity;  /**< capacity[d] for BFS distance d, rules of mt_flow_capacities_parse;
				        NULL (with n_capacity 0): the adaptive schedule */
	size_t n_capacity;         /**< 2..MT_FLOW_MAX_CAPACITIES, or 0 with capacity NULL */
} mt_flow_query;

/** One accepted node. Strings are borrowed from the engine. */
typedef struct mt_flow_entry {
	uint32_t node;       /**< node index */
	const char *id;      /**< its Node ID */
	uint32_t flow;       /**< units of flow entering the node (>= 1: its own unit + what it passes on) */
	uint32_t capacity;   /**< c(hops) */
	double score;        /**< flow / capacity, in (0, 1] */
	mt_level level;      /**< full when reachable within the region by full edges only, else limited */
	int hops;            /**< BFS distance from V */
	uint32_t via;        /**< first hop of a shortest path (smallest Node ID among ties) */
	const char *via_id;  /**< its Node ID */
	uint32_t pred;       /**< predecessor on a shortest flow-carrying path from V (V's index for a direct edge) */
} mt_flow_entry;

/** Answer of mt_flow_trust: the accepted nodes only (V excluded), sorted by
 * hops ascending, then score descending, then Node ID ascending. */
typedef struct mt_flow_result {
	size_t count;
	mt_flow_entry *entries;
	size_t region;          /**< nodes in the region other than V */
	uint32_t total_flow;    /**< the max flow value (= count + 1: V accepts itself) */
	int depth;              /**< the region's depth actually used */
	int adaptive;           /**< 1 when the schedule was derived (capacity NULL) */
	size_t n_capacities;    /**< depth + 1 (0 when V or the scope is unknown) */
	uint32_t capacities[MT_FLOW_MAX_CAPACITIES]; /**< the schedule used, by distance 0..depth */
	uint32_t layer[MT_FLOW_MAX_CAPACITIES];      /**< region nodes at each distance 0..depth */
	uint32_t subtree_cap[MT_FLOW_MAX_CAPACITIES]; /**< adaptive: M(d), the cap on subtree sizes, for 0 < d < depth (0 otherwise) */
} mt_flow_result;

/** Free a result; NULL is a harmless no-op. */
void mt_flow_result_free(mt_flow_result *result);

/** Compute flow-mode trust from `q->viewpoint` over `engine`.
 *
 * An unknown viewpoint or scope gives an empty result (count 0). MT_EINVAL
 * (message naming the field) for a NULL engine/query/viewpoint, max_depth
 * outside 1..8, or a schedule breaking the rules of mt_flow_capacities_parse
 * (capacity NULL with n_capacity 0 is the adaptive schedule, not an error);
 * MT_ENOMEM. On success `*out` is owned by the caller (mt_flow_result_free);
 * on failure it is NULL. Reentrant: concurrent calls on one engine are safe.
 *
 * Time: fixed schedule, Dinic as above. Adaptive: one augmenting-path search
 * per region node, O(R·A) worst case for R region nodes and A arcs; a failed
 * search marks every vertex it saw as unreachable for good (reachability from
 * V only shrinks as flow is added), so in practice a search walks about one
 * path back towards V. */
int mt_flow_trust(mt_flow_result **out, const mt_engine *engine, const mt_flow_query *q,
		  mt_error *err);

/** Answer of mt_flow_path. */
typedef struct mt_flow_path {
	int found;            /**< 1 when target is accepted */
	int in_region;        /**< 1 when target is within the region (accepted or not) */
	uint32_t flow;        /**< as mt_flow_entry (0 when not accepted) */
	uint32_t capacity;    /**< c(hops) when in the region, else 0 */
	double score;         /**< flow / capacity */
	mt_level level;       /**< as mt_flow_entry */
	int hops;             /**< BFS distance when in the region */
	size_t n_edges;       /**< a shortest path of flow-carrying edges V -> target */
	mt_path_edge *edges;
	const char *why;      /**< "found", "not-accepted", or a mt_why_name() reason */
	char message[512];    /**< human-readable reason ("" when found) */
	int adaptive;         /**< as mt_flow_result */
	size_t n_capacities;  /**< as mt_flow_result */
	uint32_t capacities[MT_FLOW_MAX_CAPACITIES]; /**< as mt_flow_result */
} mt_flow_path;

/** Free a path answer; NULL is a harmless no-op. */
void mt_flow_path_free(mt_flow_path *path);

/** Why `target` is or is not accepted, with a flow-carrying path when it is.
 *
 * When the target is outside the region the reason comes from
 * mt_engine_path with the same viewpoint, scope, time and depth (blocked,
 * too-deep, other-scope, …). Errors as mt_flow_trust plus MT_EINVAL for a
 * NULL target. `*out` owned by the caller (mt_flow_path_free). */
int mt_flow_path_get(mt_flow_path **out, const mt_engine *engine, const mt_flow_query *q,
		     const char *target, mt_error *err);

#endif
