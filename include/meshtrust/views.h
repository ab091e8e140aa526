/** Views: the documents both front ends show (SPEC §8).
 *
 * The CLI (`--json`) and the node (HTTP bodies) build their answers here, so
 * that for the same query on the same store the two documents are the same.
 * Every function is pure presentation: it reads the result it is given (and,
 * where an answer names statements or local notes, the store) and returns a
 * new jansson value owned by the caller (json_decref), or NULL when memory
 * runs out. Nothing here computes trust, ranks or metrics.
 */
#ifndef MESHTRUST_VIEWS_H
#define MESHTRUST_VIEWS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "meshtrust/engine.h"
#include "meshtrust/flow.h"
#include "meshtrust/gov.h"
#include "meshtrust/metrics.h"
#include "meshtrust/policy.h"
#include "meshtrust/search.h"
#include "meshtrust/store.h"

/** What frames every trust answer: the state, the question. Borrowed strings. */
/** `v` as JSON text (json_dumps `flags`) with every real number written in
 * the shortest form that reads back as the same double ("0.9", never
 * "0.90000000000000002"; integral reals keep ".0"), so the CLI's --json and
 * the node's answers are exact and readable. malloc'd (caller frees); NULL
 * when out of memory. */
char *mt_view_dumps(const json_t *v, size_t flags);

/** `mesh trust scopes --json`, GET /v1/scopes: {"scopes":[{"scope","edges"}]},
 * every scope `edges[0..n)` name with its number of edges, by name. New
 * reference owned by the caller; NULL when out of memory. */
json_t *mt_view_scopes(const mt_edge_in *edges, size_t n);

/** `mesh community list --json`, GET /v1/communities: {"communities":[{"scope",
 * "genesis","issuer","founders","members","period","deadline_max","credits",
 * "bound","conflicts"}]} ("bound": this store binds the label to it,
 * mt_pot_community_bound). New reference; NULL when out of memory. */
json_t *mt_view_communities(const mt_pot_state *st, mt_store *s);

/** `mesh pot status --json` without a round, GET /v1/pot without round=:
 * {"at": ISO time, "rounds":[mt_pot_round_json…]}. New reference. */
json_t *mt_view_rounds(const mt_pot_state *st);

/** `mesh proposal list --json`, GET /v1/proposals: {"proposals":[mt_view_proposal…]},
 * oldest first; only `genesis`'s when it is not NULL. New reference; the
 * callers add "digest" and "at". */
json_t *mt_view_proposals(const mt_gov_state *gs, const char *genesis);

/** Longest key of a local note (mt_view_note_key), with its NUL. */
#define MT_VIEW_NOTE_KEY_MAX (MT_NODE_ID_MAX + 80) /* a scope is at most 11 + 64 bytes */

/** The store key of this home's private note about `id` in `scope`: notes
 * belong to one scope (`trust add --note` in coop:x is not shown in
 * global). The ID itself for global (and NULL), "ID SCOPE" for any other
 * scope (neither holds a space). */
void mt_view_note_key(char out[MT_VIEW_NOTE_KEY_MAX], const char *id, const char *scope);

/** This home's note about `id` in `scope`: malloc'd (the caller frees), or
 * NULL when there is none or it cannot be read. */
char *mt_view_note(mt_store *s, const char *id, const char *scope);

/** Every note of this home in one read (mt_store_notes), for listings that
 * show a note per row: an object key (mt_view_note_key) -> text. New
 * reference (the caller json_decref()s it), or NULL when the store is NULL
 * or the notes cannot be read (then ask mt_view_note per row). */
json_t *mt_view_notes(mt_store *s);

/** The note of `id` in `scope` in `notes` (mt_view_notes' object): borrowed
 * from it, NULL when there is none. */
const char *mt_view_note_in(const json_t *notes, const char *id, const char *scope);

typedef struct mt_view_frame {
	const char *digest;    /* state digest, 64 hex */
	const char *viewpoint; /* Node ID the answer is computed from */
	const char *scope;
	int64_t at;            /* evaluation time (Unix seconds) */
	int max_depth;
	const uint32_t *cap;   /* flow mode: node capacities by distance (NULL: best-path) */
	size_t n_cap;
} mt_view_frame;

/** `mesh trust explain --json`, GET /v1/trust/explain (best-path mode): the
 * frame's fields plus "target","mode","decay","found" and, when found,
 * "path" [{from,to,level,score}], "product" (the edge scores multiplied from
 * the viewpoint outward), "decay_index" (hops), "decay_factor",
 * "score" (= decay_factor × product, equal to mt_engine_path's), "level",
 * "path_level","hops"; else "why","message"; and "others": every other
 * in-edge of the target in the scope (at most 20, from `edges[0..n)`, the
 * edges the engine was built from) as {via, level, edge_score, path?, hops?,
 * product?, decay_factor?, score?, outcome} saying why it lost. New reference
 * owned by the caller; NULL with `err` set on failure. */
json_t *mt_view_explain(const mt_view_frame *f, const mt_engine *e, const mt_trust_query *tq,
			const mt_edge_in *edges, size_t n_edges, const char *target, mt_error *err);
/** The same in flow mode: "capacities","found","in_region","hops","capacity",
 * "flow","score" (= flow / capacity),"why","message","path". */
json_t *mt_view_explain_flow(const mt_view_frame *f, const mt_engine *e, const mt_flow_query *fq,
			     const char *target, mt_error *err);

/** `trust list`: {"digest","viewpoint","scope","at","max_depth","mode":"best-path",
 * "results":[{"node_id","level","hops","score","via","note"}]}; `note` is the
 * local note of `s` (null when none; `s` may be NULL: all null). */
json_t *mt_view_trust_list(const mt_view_frame *f, const mt_trust_result *r, mt_store *s);

/** `trust list` in flow mode: as above with "mode":"flow","capacities",
 * "flow_depth","region" and per result "accepted","flow","capacity". */
json_t *mt_view_flow_list(const mt_view_frame *f, const mt_flow_result *r, mt_store *s);

/** One path edge: {"from","to","level","score","score_permille","scope",
 * "statement" (id of the trust statement behind it in `s`, "" when unknown),
 * "exp" (only when it expires)}. */
json_t *mt_view_path_edge(const mt_path_edge *pe, mt_store *s);

/** `trust path` (SPEC §8): {"digest","found","viewpoint","target","scope","at",
 * "max_depth","mode":"best-path"} plus, when found, "score","level","hops",
 * "path":[edges]; otherwise "reason","why" and, for a target beyond the depth,
 * "depth_needed". */
json_t *mt_view_trust_path(const mt_view_frame *f, const char *target, const mt_trust_path *p,
			   mt_store *s);

/** `trust path` in flow mode: as above with "mode":"flow","capacities",
 * "accepted", and "hops","capacity","flow" when the target is in the region. */
json_t *mt_view_flow_path(const mt_view_frame *f, const char *target, const mt_flow_path *p,
			  mt_store *s);

/** Search hits: {"digest","viewpoint","scope","results":[{"id","author","title",
 * "topics","hops","level","trust","relevance","freshness","rank","ts"}]}; with
 * `with_statements`, each result also carries "statement", the signed canonical
 * text from `s` (so a peer re-verifies it). */
json_t *mt_view_search(const char *digest, const char *viewpoint, const char *scope,
		       const mt_search_result *r, mt_store *s, int with_statements);

/** Metrics (SPEC §8): the metrics document of `m` (mt_metrics_result_json, with
 * `per_node`) plus "digest","at","max_gini","members_only". */
json_t *mt_view_metrics(const mt_metrics_result *m, int per_node, const char *digest, int64_t at,
			double max_gini, int members_only);

/** The metrics document's policy part, the same for `mesh metrics --json` and
 * /v1/metrics: sets "max_gini_source" (`source`, "local" when empty),
 * "alert" (mt_policy_gini_alert's wording when `gini` > `max_gini`, else
 * null) and "policy_overrides" (the policy in force's "overrides" array of
 * mt_view_policy_in_force's document, [] when `overrides` is NULL) on `o`.
 * Returns 0 or MT_ENOMEM. */
int mt_view_metrics_policy(json_t *o, const char *scope, double gini, double max_gini,
			   const char *source, const json_t *overrides);

/* ---- governance (SPEC §9.3) ---------------------------------------------- */

/** One proposal (`mesh proposal show --json`, the node's answer alike):
 * {"proposal","genesis","scope","proposer","iss","ts","closes","policy" (what
 * it sets, permille), "tally":{"yes","no","voters"},"cast","voters":[ids],
 * "quorum","threshold","outcome":"open|passed|failed","policy_after" (the
 * community's policy once it closed, or now when open, with "sources"),
 * "votes":[{"statement","voter","iss","choice","ts","counted","late"}],
 * "refused_votes":[{"statement","iss","ts","reason","late"}]}. */
json_t *mt_view_proposal(const mt_gov_state *st, const mt_gov_proposal *p);

/** The policy in force for a scope (SPEC §9.3), the one place that decides
 * it for `mesh policy show|eval`, `mesh metrics` and the node: the node's
 * own policy `local` (its file and configuration; `local_source` names it)
 * with the policy of the scope's community `c` (NULL: none) over it — a
 * community value applies when it is no looser than the local one (lower
 * max_gini / max_top10_share, enforce_gini on, tiers granting no peer more
 * rate or burst at any score) or when `accept_looser`; a local value kept
 * against a differing community value is an override. A community's
 * `bridges` always applies (see mt_policy_input.approved_bridge).
 * Writes the policy in force to *out and, when `doc` is non-NULL, a new
 * document (caller decrefs): {"scope","community":genesis|null,
 * "accept_looser","policy":(mt_policy_to_json),"values":{"max_gini"|
 * "enforce_gini"|"max_top10_share"|"tiers"|"bridges":{"value","source",
 * "local","community","override"}},"overrides":[keys]}. Returns 0 or
 * MT_ENOMEM. */
int mt_view_policy_in_force(mt_policy *out, json_t **doc, const char *scope,
			    const mt_policy *local, const char *local_source,
			    const mt_gov_community *c, int accept_looser);

#endif
