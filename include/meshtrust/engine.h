/** The trust engine: SPEC §3 trust scores over an in-memory edge set.
 *
 * An `mt_engine` is built once from the current edges (`mt_edge_in`, edge.h)
 * and is then immutable: any number of threads may query it at the same time.
 * Nodes are interned and numbered 0..n-1 in ascending byte order of their
 * Node ID, so comparing two node indexes is the same as comparing their IDs.
 * Each scope has its own compact CSR adjacency (6 bytes per edge plus 4 bytes
 * per node per scope; see mt_engine_stats and docs/trust-engine.md).
 *
 * A query (viewpoint V, scope S, time T, max depth D, decay table) returns
 * every node V trusts in S with its score, level, hops and via, exactly as
 * SPEC §3 defines them (IEEE-754 doubles, no fused multiply-add, exact
 * comparisons). The algorithm is a pruned layered dynamic programme over
 * walks; docs/trust-engine.md explains why it equals the maximum over simple
 * paths. Time per query: O(D · (n_V + m_V)) in the worst case where n_V, m_V
 * are the nodes and edges within D hops of V; in practice close to one BFS.
 */
#ifndef MESHTRUST_ENGINE_H
#define MESHTRUST_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "meshtrust/edge.h"
#include "meshtrust/error.h"

/** Largest accepted max_depth (SPEC §3: 1..8). */
#define MT_ENGINE_MAX_DEPTH 8

/** An immutable trust graph (opaque). */
typedef struct mt_engine mt_engine;

/** Reusable per-thread query memory (opaque). One scratch serves one query at
 * a time; keep one per thread to avoid per-query allocation and clearing. */
typedef struct mt_engine_scratch mt_engine_scratch;

/** Short lower-case name of a level: "none", "limited", "full"; "?" for an
 * out-of-range value. Never NULL; static storage. */
const char *mt_level_name(mt_level level);

/** Parse "none" / "limited" / "full" (exact, lower case) into `*out`.
 * Returns 0, or MT_EINVAL for anything else (`*out` unchanged). */
int mt_level_parse(const char *text, mt_level *out);

/** Build an engine from `n` current edges.
 *
 * Copies every string it keeps; `edges` may be freed after the call.
 * Refuses (MT_EINVAL, message naming the edge): NULL src/dst/scope, empty
 * strings, a self-edge (src == dst), a level outside none/limited/full, a
 * score outside 1..1000 on a full/limited edge (the score of a `none` edge is
 * ignored), a negative exp, and two edges with the same (src, dst, scope).
 * `edges` may be NULL when `n` is 0 (an empty engine). MT_ETOOBIG when a
 * scope has 2^32-1 edges or more or there are 2^31 nodes or more; MT_ENOMEM.
 * On success `*out` is owned by the caller (mt_engine_free); on failure
 * `*out` is NULL.
 *
 * Time: O(m + u log u) with u the number of distinct Node IDs (hash interning,
 * counting sort by (scope, src), per-row sort by dst). */
int mt_engine_new(mt_engine **out, const mt_edge_in *edges, size_t n, mt_error *err);

/** One change for mt_engine_patch: set the edge (src -> dst in scope) to
 * level/score/exp (inserting it when absent), or remove it (`remove` != 0;
 * level/score/exp ignored; removing an absent edge is a no-op). */
typedef struct mt_edge_change {
	mt_edge_in edge;
	int remove;
} mt_edge_change;

/** A new engine equal to mt_engine_new over (the edges of `old`, with
 * `changes` applied in order — a later change to the same (src,dst,scope)
 * wins). Nodes that no longer have any edge in any scope and scopes that
 * no longer have any edge disappear, new ones appear, exactly as a rebuild
 * would give (the two engines have the same mt_engine_snapshot_encode image).
 *
 * `old` is only read, never modified: it may be borrowed from a snapshot and
 * other threads may query it during the call. The new engine copies every
 * string it keeps; `changes` may be freed after the call and may be NULL when
 * `n` is 0 (the result is then a copy of `old`).
 *
 * Refuses (MT_EINVAL, message naming the change index): NULL `out` or `old`,
 * NULL src/dst/scope or empty strings, a self-edge (src == dst; removals
 * included), and on a set (not a removal) a level outside
 * none/limited/full, a score outside 1..1000 on a full/limited edge, or a
 * negative exp — the checks of mt_engine_new. MT_ETOOBIG for 2^31-1 changes
 * or more, or when the result would exceed mt_engine_new's limits (2^32-1
 * edges in a scope or in all, 2^31 nodes, 4 GiB of Node IDs); MT_ENOMEM. On
 * success `*out` is owned by the caller (mt_engine_free); on failure `*out`
 * is NULL.
 *
 * Time: O(S·n' + m + k log k + u log(n/u + 1)) for an old engine of n nodes,
 * m edges and S scopes, k changes naming u distinct Node IDs, n' the nodes
 * of the union: the changes' strings are sorted and located in the old ID
 * list; the old IDs are never re-sorted nor the old edges re-interned (one
 * merge pass per scope over the old CSR rows). Memory: the new engine plus
 * O(n' + k) scratch. */
int mt_engine_patch(mt_engine **out, const mt_engine *old, const mt_edge_change *changes, size_t n,
		    mt_error *err);

/** Every edge of `engine` as an mt_edge_in array, ordered by scope, then src,
 * then dst (the engine's own order: byte order of the strings). The strings
 * point into the engine and stay valid while it lives; the score of a `none`
 * edge reads 0. mt_engine_new over the array gives an engine with the same
 * snapshot image. `*out` is malloc'd (free() it) and `*n` its length; for an
 * engine without edges `*out` is NULL and `*n` 0. MT_EINVAL for a NULL
 * argument, MT_ENOMEM (then `*out` is NULL). Time and memory: O(S·n + m). */
int mt_engine_edges(const mt_engine *engine, mt_edge_in **out, size_t *n, mt_error *err);

/** Free an engine; NULL is a harmless no-op. Results and paths that borrow
 * strings from it must be freed or no longer used before. */
void mt_engine_free(mt_engine *engine);

/** Number of distinct nodes (every Node ID appearing as src or dst). */
size_t mt_engine_node_count(const mt_engine *engine);

/** Index of the node with this Node ID, or -1 when the ID is not in the
 * engine (or `id` is NULL). O(log n). */
int64_t mt_engine_node_index(const mt_engine *engine, const char *id);

/** Node ID of node `index` (borrowed, lives as long as the engine), or NULL
 * when `index` is out of range. */
const char *mt_engine_node_id(const mt_engine *engine, uint32_t index);

/** The scopes present, ascending byte order, as a borrowed array of `*count`
 * strings (lives as long as the engine). `count` may not be NULL. */
const char *const *mt_engine_scopes(const mt_engine *engine, size_t *count);

/** Memory and size figures of an engine. */
typedef struct mt_engine_stats {
	size_t nodes;           /**< distinct nodes */
	size_t edges;           /**< edges stored (all levels, all scopes) */
	size_t scopes;          /**< distinct scopes */
	size_t adjacency_bytes; /**< CSR offsets + targets + packed score/level + expiry table */
	size_t total_bytes;     /**< adjacency + node ID storage + index */
	double bytes_per_edge;  /**< adjacency_bytes / edges (0 when there are no edges) */
} mt_engine_stats;

/** Fill `*out` with the figures of `engine`. */
void mt_engine_stats_get(const mt_engine *engine, mt_engine_stats *out);

/** One query (SPEC §3). All pointers are borrowed for the duration of the call. */
typedef struct mt_trust_query {
	const char *viewpoint; /**< V: Node ID */
	const char *scope;     /**< S: exact scope string; NULL means "global" */
	int64_t at;            /**< T: evaluation time, Unix seconds */
	int max_depth;         /**< D: 1..8 */
	const double *decay;   /**< decay[h] for h hops; the last value applies beyond */
	size_t n_decay;        /**< 1..; every value in (0, 1], non-increasing */
} mt_trust_query;

/** One trusted node. Strings are borrowed from the engine. */
typedef struct mt_trust_entry {
	uint32_t node;      /**< node index */
	const char *id;     /**< its Node ID */
	double score;       /**< max path score, in (0, 1] */
	mt_level level;     /**< max over paths of the path's min level (limited or full) */
	int hops;           /**< fewest hops of any path (1..D) */
	uint32_t via;       /**< first hop of the best-scoring path (node index) */
	const char *via_id; /**< its Node ID */
} mt_trust_entry;

/** A query answer: `count` entries sorted by hops ascending, then score
 * descending, then Node ID ascending (the `mesh trust list` order). */
typedef struct mt_trust_result {
	size_t count;
	mt_trust_entry *entries;
} mt_trust_result;

/** Free a result; NULL is a harmless no-op. */
void mt_trust_result_free(mt_trust_result *result);

/** Create a scratch for queries on `engine` (it must stay alive while the
 * scratch is used). Memory: about 130 bytes per node, allocated lazily by the
 * kernel. Returns 0 or MT_ENOMEM; `*out` owned by the caller. */
int mt_engine_scratch_new(mt_engine_scratch **out, const mt_engine *engine, mt_error *err);

/** Free a scratch; NULL is a harmless no-op. */
void mt_engine_scratch_free(mt_engine_scratch *scratch);

/** Compute the trust of every node from `q->viewpoint` (SPEC §3).
 *
 * `scratch` may be NULL (a temporary one is made and freed) or a scratch
 * created for this same engine, which is reused without O(n) clearing
 * (generation counters). An unknown viewpoint or scope gives an empty result
 * (count 0), not an error. MT_EINVAL (message naming the field) for a NULL
 * query/viewpoint, max_depth outside 1..8, an empty decay table, a decay value
 * outside (0, 1] or NaN, a decay value larger than the one before it, or a
 * scratch made for another engine. On success `*out` is owned by the caller
 * (mt_trust_result_free); on failure it is NULL.
 *
 * Thread safety: concurrent calls on one engine are safe as long as each uses
 * its own scratch (or NULL). */
int mt_engine_trust(mt_trust_result **out, const mt_engine *engine, const mt_trust_query *q,
		    mt_engine_scratch *scratch, mt_error *err);

/** Why `mt_engine_path` found no path (MT_WHY_FOUND when it did). */
typedef enum mt_why {
	MT_WHY_FOUND = 0,
	MT_WHY_SELF,         /**< target is the viewpoint */
	MT_WHY_BLOCKED,      /**< V has an unexpired `none` edge to target in S or global */
	MT_WHY_UNKNOWN,      /**< no edge at all into target in any scope */
	MT_WHY_EXPIRED_ONLY, /**< a path exists (within depth 8) only through expired edges */
	MT_WHY_TOO_DEEP,     /**< a path exists at `depth_needed` > max_depth hops */
	MT_WHY_OTHER_SCOPE,  /**< edges into target, or a path to it, exist only in other scopes */
	MT_WHY_NO_PATH,      /**< edges into target exist in S but none leads from V */
} mt_why;

/** Short name of a reason: "found", "self", "blocked", "unknown",
 * "expired-only", "too-deep", "other-scope", "no-path". Never NULL. */
const char *mt_why_name(mt_why why);

/** One edge of a path, in order from the viewpoint. Strings are borrowed. */
typedef struct mt_path_edge {
	uint32_t from, to;
	const char *from_id, *to_id;
	mt_level level;     /**< this edge's level */
	uint16_t score;     /**< this edge's score, permille */
	const char *scope;  /**< the query scope */
	int64_t exp;        /**< this edge's expiry, 0 = never */
} mt_path_edge;

/** Answer of mt_engine_path. */
typedef struct mt_trust_path {
	int found;             /**< 1 when target is trusted */
	double score;          /**< target's score (= the shown path's score) */
	mt_level level;        /**< target's level (max over paths, as in mt_engine_trust) */
	mt_level path_level;   /**< min level along the shown path */
	int hops;              /**< target's hops (fewest of any path) */
	uint32_t via;          /**< target's via (= first hop of the shown path) */
	size_t n_edges;        /**< edges in the best-scoring path */
	mt_path_edge *edges;
	mt_why why;            /**< MT_WHY_FOUND when found */
	int depth_needed;      /**< MT_WHY_TOO_DEEP: fewest hops of a path (<= 8) */
	char message[512];     /**< human-readable reason ("" when found) */
} mt_trust_path;

/** Free a path answer; NULL is a harmless no-op. */
void mt_trust_path_free(mt_trust_path *path);

/** The best-scoring path from `q->viewpoint` to `target`, or why there is none.
 *
 * The path is the one whose first hop is the target's `via` in
 * mt_engine_trust (same tie-breaks: highest score, then fewest hops, then
 * smallest first hop), with `n_edges` == number of hops of that path (which
 * can exceed `hops` when a longer path scores higher). Its recomputed
 * product times decay equals `score` exactly. When not found, `why` and
 * `message` say why, found by re-running cheap variants of the query (depth
 * 8, expiry ignored, other scopes). Errors as mt_engine_trust plus MT_EINVAL
 * for a NULL target. `*out` owned by the caller (mt_trust_path_free).
 * Cost: a few queries; meant for one target at a time. */
int mt_engine_path(mt_trust_path **out, const mt_engine *engine, const mt_trust_query *q,
		   const char *target, mt_error *err);

#endif
