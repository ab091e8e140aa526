/* Internals shared by the node's files (not a public API). */
#ifndef MT_NODE_INT_H
#define MT_NODE_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "meshtrust/engine.h"
#include "meshtrust/node.h"

#define NODE_DEFAULT_PER_ISSUER 1000u
#define NODE_DEFAULT_PER_PEER 100000u
#define NODE_QUOTA_WINDOW 86400

/* Own view of one scope: the trust result indexed by node. */
typedef struct node_scope_view {
	struct node_scope_view *next;
	char *scope;
	mt_trust_result *res;
	int32_t *pos; /* node index -> entry index, -1 when untrusted */
	int unknown;        /* the shared entry of every scope no edge names (empty) */
	char *metrics_json; /* cached /v1/metrics answer body, or NULL (never for `unknown`) */
	double gini;        /* computed lazily; < 0 until then */
	double top10;       /* top_10_percent_share, with gini; < 0 until then */
	/* The policy in force in this scope (SPEC §9.3: the node's own with its
	 * community's passed proposals over it), derived on first use. */
	struct mt_policy *policy; /* NULL until then (or when that failed) */
	int policy_ready;
	struct mt_gov_policy *approved; /* owned; NULL without a community */
	json_t *policy_doc; /* owned; mt_view_policy_in_force's document, NULL on failure */
} node_scope_view;

/* Everything derived from one state of the store, immutable once built
 * except for the lazily filled per-scope caches (guarded by `lock`). */
/* The engine and the sorted statement ids of a view, each shared by the
 * views that did not change it (reference counted, atomically). */
typedef struct node_engine_ref {
	int refs;
	mt_engine *engine;
} node_engine_ref;

typedef struct node_idset {
	int refs;
	unsigned char *ids; /* n * 32 bytes, ascending (the digest's order) */
	size_t n, cap;
	char digest[65];
} node_idset;

typedef struct node_view {
	int refs; /* guarded by the owner's lock */
	/* every edge of the engine (mt_engine_edges), made on first use:
	 * node__view_edges */
	mt_edge_in *edges;
	size_t n_edges;
	int edges_ready;
	node_engine_ref *eng;
	mt_engine *engine; /* eng->engine */
	node_idset *ids;
	uint64_t pos;      /* the store's log position the view holds (every
			    * statement at or below it; mt_store_log_since) */
	json_t *rot_ids;   /* object: every ID in a rotation link -> true (edges
			    * of theirs are redirected: the full rebuild) */
	char digest[65];
	uint64_t count;
	char self[MT_NODE_ID_MAX];
	int max_depth;
	double decay[16];
	size_t n_decay;
	int64_t built_at;
	json_t *horizon; /* object: Node ID -> best level (int) over scopes; self included */
	json_t *reannounce;  /* object: Node ID -> true: self and those full in global (§9.4) */
	json_t *bridges;     /* object: Node ID -> true: issuers of a bridge declaration */
	json_t *rotated_away; /* object: old Node ID -> its successor, for every rotation
			       * that took effect (SPEC §9.2: level none for requests) */
	json_t *self_aliases; /* object: the IDs `self` rotated from -> true (a peer that
			       * has not seen the rotation yet signs for one of them) */
	json_t *communities; /* object: bound scope -> {member Node ID: true} (§6, §9.4);
			      * NULL until node__view_communities derives it */
	json_t *comm_genesis; /* object: bound scope -> its genesis id (with communities) */
	struct mt_gov_state *gov; /* governance state (§9.3), derived on first use */
	int gov_ready;
	json_t *scope_count;  /* object: Node ID -> number of scopes it is trusted in */
	json_t *xcache;      /* object: request-target -> cached answer of an expensive
			      * endpoint (string); guarded by `lock`, bounded */
	pthread_mutex_t lock;
	node_scope_view *scopes;
} node_view;

/* Build a view of store `s` from `self`'s viewpoint (everything read). */
int node__view_build(node_view **out, mt_store *s, const char *self, int max_depth,
		     const double *decay, size_t n_decay, int64_t now, mt_error *err);
/* The view of the store now, from `old` (not changed; NULL: a full build)
 * and the statements stored since it (mt_store_log_since): the engine is
 * patched with the edges they set or removed (mt_engine_patch), their ids
 * merged into the sorted set (the digest hashed from memory), the per-scope
 * answers and the horizon derived again. A full build instead when the
 * settings differ, when too many statements came, or when one of them may
 * move edges the patch cannot see (a rotation or key event, an edge of an
 * ID in a rotation link, a fork). *how: 0 full, 1 patched, 2 nothing
 * stored (the engine and ids shared). Same contract as node__view_build. */
int node__view_next(node_view **out, const node_view *old, mt_store *s, const char *self,
		    int max_depth, const double *decay, size_t n_decay, int64_t now, int *how,
		    mt_error *err);
/* Fill v->edges / v->n_edges (every edge of the view's engine, in the
 * engine's order) on first use. Returns 0 or MT_ENOMEM. Thread safe. */
int node__view_edges(node_view *v);
void node__view_free(node_view *v);
/* The own-view scope cache (created on first use); NULL on allocation failure
 * or query error. Scopes that no edge names share one empty entry (flag
 * `unknown`), so the cache holds at most one entry per scope of the graph
 * plus one. Thread safe. */
node_scope_view *node__view_scope(node_view *v, const char *scope);
/* The trust entry of `id` in `sv`, or NULL when untrusted. */
const mt_trust_entry *node__scope_entry(const node_view *v, const node_scope_view *sv,
					const char *id);
/* The ID `id` rotated to, when a rotation of it took effect; else NULL. */
const char *node__rotated_to(const node_view *v, const char *id);
/* 1 when `id` is this node's own ID or one it rotated from. */
int node__is_self(const node_view *v, const char *id);
/* 1 when `id` is trusted in two or more scopes (an undeclared bridge,
 * SPEC §9.3). */
int node__multi_scope(const node_view *v, const char *id);
/* The policy in force in scope `sv` (SPEC §9.3): `local` (the node's own)
 * with the bound community's passed proposals over it
 * (mt_view_policy_in_force), derived once per view and scope; `local` when
 * that fails. *approved receives the community's policy (its approved
 * bridges), NULL without one. Both borrowed from the view. Thread safe. */
struct mt_policy;
struct mt_gov_policy;
const struct mt_policy *node__scope_policy(node_view *v, node_scope_view *sv, mt_store *s,
					   const struct mt_policy *local,
					   const struct mt_gov_policy **approved);
/* 1 when `iss` is within the trust horizon. */
int node__in_horizon(const node_view *v, const char *iss);
/* The communities this node is bound to, as scope -> {member: true},
 * derived from `s` on the first call for this view (a proof-of-trust replay)
 * and kept; borrowed from the view. NULL when the derivation failed (then no
 * peer gets the community right). Thread safe. */
const json_t *node__view_communities(node_view *v, mt_store *s);
/* 1 when this node passes `iss`'s feed on to peers (SPEC §9.4 re-announce:
 * itself and the issuers full in its own global trust list). */
int node__reannounced(const node_view *v, const char *iss);

/* Admission of statements arriving over the network. */
typedef struct node_admit {
	mt_store *s;
	const node_view *view;   /* NULL: no horizon check (local import) */
	const char *peer;        /* NULL: no per-peer quota */
	uint64_t max_issuer, max_peer;
	int64_t now;
	json_t *issuer_used;     /* Node ID -> count in the window (cache) */
	int64_t peer_used;       /* -1 until loaded */
	json_t *issuer_pending;  /* Node ID -> admitted since the last flush */
	int64_t peer_pending;    /* admitted from the peer since the last flush */
	json_t *issuer_maxseq;   /* Node ID -> highest seq held, read once per batch */
	uint64_t refused_quota, refused_horizon;
} node_admit;

int node__admit_init(node_admit *a, mt_store *s, const node_view *view, const char *peer,
		     uint64_t max_issuer, uint64_t max_peer, int64_t now, mt_error *err);
void node__admit_done(node_admit *a);
/* mt_ingest_admit_fn over a node_admit. Counts are kept in memory until
 * node__admit_flush writes them (inside the batch's transaction). */
int node__admit(void *payload, const mt_stmt *st, char reason[256]);
/* What the quotas still let in, before any of it is admitted: statements of
 * issuer `iss` (UINT64_MAX for the node's own feed), and statements from the
 * peer overall (UINT64_MAX without a peer). A puller asks for no more. */
uint64_t node__admit_issuer_room(node_admit *a, const char *iss);
uint64_t node__admit_peer_room(node_admit *a);
/* mt_ingest_flush_fn over a node_admit: adds the pending counts to the quota
 * table. Returns 0 or MT_EIO with `err` set. */
int node__admit_flush(void *payload, mt_error *err);

/* The next non-empty line of NDJSON text [*p, end), advancing *p: a malloc'd
 * NUL-terminated copy in *buf (the caller owns it) and its length; a trailing
 * '\r' is dropped when `strip_cr`. Returns 1, 0 at the end, or MT_ENOMEM. */
int node__next_line(const char **p, const char *end, int strip_cr, char **buf, size_t *len);

/* The request-target of a full URL ("/path?query"; "/" when there is none). */
const char *node__url_target(const char *url);

/* Escape `in` for a quoted log value into `out` (`size` bytes, always
 * NUL-terminated, truncated at a character boundary of the escapes): `"` and
 * `\` get a backslash, \n \r \t become `\n` `\r` `\t`, other C0 controls,
 * DEL and C1 controls (U+0080..U+009F) become `\xNN`. Returns the length
 * written. Never allocates. */
size_t node__esc(char *out, size_t size, const char *in);

/* The node's own (peer-facing) log line writer: `key=value key="quoted"`
 * pairs after ts= and level= (logfmt), or with o->log_json one JSON object
 * per line with the same keys. Lines above o->log_level are dropped. Every
 * value that comes from outside (paths, peer texts) must go through
 * node__esc; control characters left in the formatted line are escaped as
 * `\xNN` all the same. */
void node__log(const mt_node_opts *o, mt_node_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
