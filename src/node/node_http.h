/* The node's HTTP server, shared by its rooms (not a public API).
 *
 * The server (SPEC §5, §9.4) is split by concern; this header holds what the
 * files share: the node itself (`struct mt_node`), one request (`req`), its
 * caller (`caller`), the answer under construction (`reply`), the route row
 * (`node_route`) and its handler type, the counters' indices, the limits of
 * the node's exposure, and the helpers each room offers the others.
 *
 *   http.c      libmicrohttpd plumbing: the callbacks, the header and body
 *               phases, security headers, connection tracking (accept policy,
 *               header deadline watchdog), replies and query arguments,
 *               mt_node_start / mt_node_free and the api.cookie.
 *   routes.c    the one route table and dispatch through it; a peer's rights
 *               (policy oracle), the kernel's rate and connection limits, the
 *               signature and nonce check.
 *   ep_trust.c  GET /v1/trust, /v1/trust/path, /v1/trust/list,
 *               /v1/trust/explain, /v1/graph.
 *   ep_feeds.c  GET /v1/feeds, /v1/feeds/<iss>, POST /v1/statements.
 *   ep_info.c   GET /v1/id, /v1/metrics (and the expensive-answer cache),
 *               /v1/search (and topic admission), /v1/pot, /v1/scopes,
 *               /v1/communities, /v1/proposals, /v1/names, /v1/peers,
 *               /v1/log, the static files.
 *   ep_directory.c  GET /v1/directory, /v1/directory/lessons,
 *               /v1/directory/feed/<author> (node.directory, anyone).
 *   prom.c      the request and statement counters, GET /metrics.
 *   maint.c     the store pool, the current view, the maintenance thread.
 *   reload.c    mt_node_reload (SIGHUP): the settings a running node takes
 *               again (node_conf) and the policy swap.
 *   nonce.c     the replay cache (node_nonce.h); auth.c the Authorization
 *               header; view.c views and admission (node_int.h); sync.c sync.
 *
 * Conventions: every function here that can fail reports it either through
 * a `reply` (a status and a `{"error":…}` body, see node__reply_error) or
 * through its return value as documented. Counters are updated with relaxed
 * atomic adds and read with atomic loads. No file holds mutable state of its
 * own: everything lives in the `mt_node`. */
#ifndef MT_NODE_HTTP_H
#define MT_NODE_HTTP_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>

#include "meshtrust/node.h"
#include "meshtrust/policy.h"
#include "node_int.h"
#include "node_nonce.h"

/* ---- limits of the node's exposure (SPEC §9.4, docs/security.md) --------- */

#define NONCE_CAP (1u << 20)          /* nonces held in all */
#define NONCE_CAP_PER_PEER 131072u   /* per peer: 200/s (top tier) × 600 s, and some */
#define NONCE_TTL (2 * MT_NODE_AUTH_WINDOW)
#define CONN_LIMIT 4096u             /* connections in all */
/* Each connection's memory pool (headers, buffers). At most 32 KiB,
 * libmicrohttpd takes it from malloc; above, it maps and unmaps it per
 * connection, and every munmap is a TLB shootdown stalling all threads. */
#define CONN_MEMORY (32u * 1024u)
#define CONN_RESERVED_LOCAL 256u     /* of which only 127.0.0.1 may take the last ones */
#define BODY_BYTES_CAP (64u * 1024u * 1024u) /* request bodies buffered across connections */
#define REQUEST_DEADLINE 120         /* seconds from the headers to the end of the body */
#define EXPENSIVE_PER_PEER 2u        /* expensive requests one peer may have running */
#define XCACHE_MAX 64                /* cached expensive answers per view */
#define TOPIC_WINDOW 60              /* seconds a queried topic counts against max_topics */
#define REJECTED_LISTED 1000u        /* rejected lines listed in a POST answer */

/* ---- counters (prom.c names them) ------------------------------------------ */

/* Endpoints as counted in mesh_http_requests_total (each route row names one). */
enum { EP_ID, EP_FEEDS, EP_FEED, EP_STATEMENTS, EP_TRUST, EP_PATH, EP_SEARCH, EP_METRICS,
       EP_PROM, EP_STATIC, EP_GRAPH, EP_PEERS, EP_LOG, EP_OTHER, EP_TRUST_LIST, EP_POT,
       EP_PETNAMES, EP_DIRECTORY, EP_DIR_LESSONS, EP_DIR_FEED, EP_SCOPES, EP_COMMUNITIES,
       EP_PROPOSALS, EP_EXPLAIN, EP__COUNT };
/* The statuses counted per endpoint (prom.c lists them; others are not counted). */
#define NODE_N_STATUS 10
/* Latency histogram bounds (seconds) of mesh_http_request_duration_seconds. */
#define NODE_LAT_BUCKETS 12
/* Outcomes of statements received over HTTP (mesh_statements_total). */
enum { ST_ACCEPTED, ST_DUPLICATE, ST_REF_INVALID, ST_REF_HORIZON, ST_REF_QUOTA, ST__COUNT };

/* ---- the node -------------------------------------------------------------- */

struct conn_track; /* one open connection (http.c) */

/* One running node. Created by mt_node_start, freed by mt_node_free (http.c);
 * shared by every request thread and the maintenance thread. Fields set at
 * start are read-only afterwards; the others say which lock guards them. */
struct mt_node {
	mt_node_opts opts;
	char *home, *db_path, *web_dir, *listen_addr;
	mt_keypair kp;
	char self[MT_NODE_ID_MAX];
	char did[MT_DID_MAX];
	char token[65];
	struct MHD_Daemon *mhd;
	int port;
	/* store handles: one per concurrent handler (maint.c) */
	pthread_mutex_t pool_lock;
	pthread_cond_t pool_cond;
	mt_store **stores;
	int *store_busy;
	unsigned n_stores;
	/* the current view */
	pthread_mutex_t view_lock;
	node_view *view;
	mt_kernel *kernel;
	mt_policy *policy_owned;
	/* the local policy in force: an atomic pointer, replaced by
	 * mt_node_reload; a replaced policy stays alive (its owner, or
	 * `reloaded`) until mt_node_free, so a handler holding the old pointer
	 * reads valid data */
	const mt_policy *_Atomic policy;
	/* what mt_node_reload changes in `opts` (max_depth, decay, n_decay,
	 * max_per_issuer, max_per_peer) is read under conf_lock (node__conf);
	 * directory and metrics_public with __atomic loads */
	pthread_mutex_t conf_lock;
	mt_policy **reloaded; /* owned, with each policy in it: those reloads brought */
	size_t n_reloaded;
	int reload_pending; /* atomic: the maintenance thread rebuilds the view */
	int64_t view_cost_us;     /* atomic: what the last view renewal took */
	uint64_t view_cpu_us;     /* atomic: CPU time of every view renewal */
	uint64_t view_builds[3];  /* atomic: views rebuilt, patched, renewed (node__view_next) */
	uint64_t reloads;   /* atomic */
	node_nonces *nonces;
	int64_t started;  /* Unix time of the start: requests signed before it are refused */
	int web_fd;       /* the dashboard directory (O_DIRECTORY), or -1 */
	/* connections (accept policy, header deadline) */
	pthread_mutex_t conn_lock;
	struct conn_track *conns;
	unsigned n_conns, n_remote;
	/* topics peers hold in the kernel: "<id> <topic hash>" -> admitted at
	 * (Unix s); released by the maintenance thread after TOPIC_WINDOW */
	pthread_mutex_t topic_lock;
	json_t *topics;
	/* maintenance thread */
	pthread_t maint;
	int maint_started;
	pthread_mutex_t maint_lock;
	pthread_cond_t maint_cond;
	int stopping;
	int dirty;
	mt_store *maint_store;
	/* why the maintenance thread cannot read the store (its database is
	 * away; "" when it can): guarded by view_lock; a 500 answered while it
	 * is set is answered 503 with it (http.c) */
	char store_down[256];
	/* counters (atomic adds) */
	uint64_t requests[EP__COUNT][NODE_N_STATUS];
	uint64_t stmts[ST__COUNT];
	uint64_t k_rate_limited, k_denied, auth_failed, syncs, sync_failures;
	uint64_t body_bytes;        /* request body bytes buffered now (atomic) */
	uint64_t expensive_running; /* expensive requests running now (atomic) */
	uint64_t xcache_hit, xcache_miss, conn_refused, header_timeouts, over_limit;
	/* answer latency per endpoint (prom.c): requests per bucket (not
	 * cumulative; the last one is beyond the largest bound), the sum in
	 * microseconds */
	uint64_t lat_bucket[EP__COUNT][NODE_LAT_BUCKETS + 1];
	uint64_t lat_sum_us[EP__COUNT];
};

/* The settings mt_node_reload may change, copied under conf_lock (reload.c). */
typedef struct node_conf {
	int max_depth;
	double decay[16];
	size_t n_decay;
	uint64_t max_per_issuer, max_per_peer;
} node_conf;
void node__conf(mt_node *n, node_conf *out);
/* node.directory and node.metricsPublic as in force now. */
int node__directory_on(const mt_node *n);
int node__metrics_public(const mt_node *n);
/* Frees the reloaded policies and conf_lock (mt_node_free). */
void node__reload_done(mt_node *n);

/* ---- per request ------------------------------------------------------------ */

/* Who is calling. */
typedef struct caller {
	int local;               /* bearer token */
	int peer;                /* signed peer request (signature checked) */
	char id[MT_NODE_ID_MAX]; /* the peer */
	mt_level level;          /* the peer's level in the scope that decides (route) */
	const char *scope;       /* that scope (borrowed from the request or static) */
	const json_t *community; /* feeds: the members a community-only peer may sync, or NULL */
} caller;

struct node_route;

/* One request, from its headers to its completion (libmicrohttpd's con_cls).
 * Created by http.c's on_uri, freed by on_completed (which also releases the
 * view, the kernel connection and the body budget it holds). */
typedef struct req {
	char *uri; /* the request-target exactly as sent */
	int seen;
	int too_big;
	char *body;
	size_t len, cap;
	size_t reserved;      /* body bytes counted in the node's body_bytes */
	const struct node_route *route; /* its row in the route table, or NULL before routing */
	int ep;               /* endpoint (counters) */
	int has_body;         /* the headers announce a body: its signature is checked at the end */
	mt_node_auth auth;    /* a peer's parsed header, while has_body */
	caller who;
	node_view *view;      /* held from the headers to the completion */
	unsigned char conn_key[32]; /* kernel connection actor: BLAKE2b("<id>@<address>") */
	int conn_open;        /* one kernel connection held under conn_key */
	mt_constraints limits; /* the peer's constraint set (connections, topics) */
	double t0;            /* monotonic seconds when its headers arrived (latency) */
} req;

/* The answer to one request. `body` is malloc'd and owned by the reply until
 * http.c's queue hands it to libmicrohttpd; a NULL body is answered 500 "out
 * of memory". */
typedef struct reply {
	int status;
	char *body;
	size_t len;
	const char *ctype;
	double retry_after;
	const char *allow; /* Allow header of a 405 (static), or NULL */
	const char *digest; /* X-Mesh-Digest header (the state digest the answer is of;
			     * borrowed from the view held by the request), or NULL */
} reply;

/* ---- the route table (routes.c) --------------------------------------------- */

/* Who may call a route: anyone (a peer header is then ignored), any
 * authenticated caller, or a peer with at least that level in the route's
 * scope (local clients always may; the policy decides what "limited" lets in);
 * or, NEED_PUBLIC, anyone when node.directory is on (SPEC §9.5: a peer header
 * is ignored, every caller but a local client is held to the policy's lowest
 * tier per client address) — when it is off the route is as absent (the
 * 404 row under /v1, for authenticated callers only). */
typedef enum need { NEED_NONE, NEED_AUTH, NEED_LIMITED, NEED_FULL, NEED_PUBLIC } need;
/* Whether a route is for local clients (bearer token) only: no, yes, or
 * unless node.metricsPublic is on (/metrics). */
typedef enum local_rule { LOCAL_NO, LOCAL_ONLY, LOCAL_UNLESS_PUBLIC } local_rule;
/* Which scope decides a peer's rights and rate tier (SPEC §9.4): the scope of
 * the data served. A query parameter never widens a right.
 * RS_NONE: no scope decides: peers get no rights check, rate or connection
 *   slot on the route (anyone's routes, local-only routes, the 404 fallback);
 * RS_GLOBAL: global;
 * RS_COMMUNITY: global, and a peer full in the scope of a community this
 *   node is bound to may have that community's members' feeds;
 * RS_QUERY: the query's `scope` (global when absent or invalid). */
typedef enum rights_scope { RS_NONE, RS_GLOBAL, RS_COMMUNITY, RS_QUERY } rights_scope;
/* Whether a route's answer is expensive to compute: no; always (dispatch
 * serves it from the view's cache or takes a bounded slot around the
 * handler); or in the cases the handler picks (it brackets them itself with
 * node__expensive_begin / node__expensive_end). */
typedef enum expensive_rule { XP_NO, XP_ALWAYS, XP_BY_HANDLER } expensive_rule;

/* A route's handler: answers the request into `r`. Every handler has this
 * signature. `n`, `c` (for the query arguments), `url` (the decoded path,
 * valid for the call) and `rq` (the caller in rq->who, the raw target, the
 * body) are borrowed; `v` is the view held for the request until its
 * completion (never NULL). Errors are answered through `r`
 * (node__reply_error); the handler never fails otherwise. */
typedef void node_handler(mt_node *n, struct MHD_Connection *c, const char *url, req *rq,
			  node_view *v, reply *r);

/* One row of the route table: everything the node decides about an endpoint
 * before and when answering it. */
typedef struct node_route {
	const char *path;      /* exact path, or a prefix when `prefix` */
	int prefix;
	int ep;                /* counter index (EP_*) */
	const char *allow;     /* the methods, as sent in Allow; NULL: any method */
	need nd;               /* who may call */
	local_rule local;      /* local clients only? */
	rights_scope rs;       /* the scope that decides a peer's rights */
	expensive_rule expensive;
	node_handler *handler;
} node_route;

/* The row that serves `url` (never NULL: unknown paths under /v1 fall to a
 * 404 row, every other path to the static files). */
const node_route *node__route_of(const char *url);
/* 1 when `method` is one of the comma-separated methods of `allow`. */
int node__method_allowed(const char *allow, const char *method);
/* The peer's standing under the route's scope: level, policy decision.
 * Community-only peers (SPEC §9.4: full in the scope of a community this
 * node is bound to) may sync that community's members' feeds. Fills who and
 * `d`. Returns 0 when the route's need is met, else -1 with `r` filled (403,
 * or 500 when the view or the policy fails). */
int node__peer_rights(mt_node *n, struct MHD_Connection *c, const node_route *rt, caller *who,
		      node_view *v, mt_policy_decision *d, reply *r);
/* The kernel's token bucket for one request. Returns 0, or -1 with `r`
 * filled (429 with Retry-After, or 403). */
int node__kernel_rate(mt_node *n, const caller *who, const mt_policy_decision *d, reply *r);
/* Open one kernel connection for the peer (at most max_connections requests
 * in flight per peer and client address). On success rq->conn_open is set
 * and on_completed closes it. Returns 0, or -1 with `r` = 429. */
int node__peer_conn_open(mt_node *n, struct MHD_Connection *c, req *rq, reply *r);
/* The directory's anonymous callers (SPEC §9.5): the policy's lowest tier
 * per client address — one token bucket and at most max_connections
 * requests in flight per address (kernel actor BLAKE2b("directory@<addr>")).
 * Fills rq->limits and, on success, holds a kernel connection
 * (rq->conn_open). Returns 0, or -1 with `r` = 429 (Retry-After). */
int node__public_rate(mt_node *n, struct MHD_Connection *c, req *rq, reply *r);
/* Verify a parsed peer header over the request, refuse a ts older than this
 * node's start, then remember its nonce — only once the key is within the
 * trust horizon. Returns 0, or -1 with `r` filled (401, 403, 429, 503). */
int node__peer_verify(mt_node *n, const mt_node_auth *a, const char *method, const req *rq,
		      node_view *v, reply *r);
/* Answer the request through its route's handler (holding a view for it).
 * Always fills `r`. */
void node__dispatch(mt_node *n, struct MHD_Connection *c, const char *url, req *rq, reply *r);

/* ---- replies and query arguments (http.c) ----------------------------------- */

/* Fill `r` with `body` (malloc'd or NULL, owned by `r` from now on). */
void node__reply_text(reply *r, int status, const char *ctype, char *body);
/* Fill `r` with `v` as compact JSON and a newline; takes `v`'s reference.
 * 500 (NULL body) when it cannot be written. */
void node__reply_json(reply *r, int status, json_t *v);
/* A store error whose database cannot be reached has the code MT_EUNAVAIL
 * (the PostgreSQL backend's, src/store/pg_conn.c) and a message holding
 * NODE_STORE_UNAVAILABLE and the reason; it is answered 503 with
 * Retry-After: NODE_STORE_RETRY_AFTER (seconds). */
#define NODE_STORE_UNAVAILABLE "store unavailable: "
#define NODE_STORE_RETRY_AFTER 1.0
/* How often the maintenance thread looks at the store's change counter (ms):
 * the longest a view waits to follow another process's write, plus its
 * rebuild. */
#define NODE_FOLLOW_MS 20
/* The view is renewed at most every NODE_VIEW_DUTY x its last cost (at most
 * 1/NODE_VIEW_DUTY of a core on following the store), never less often
 * than every NODE_VIEW_MAX_GAP_MS under writes. */
#define NODE_VIEW_DUTY 10
#define NODE_VIEW_MAX_GAP_MS 500
/* The status a store error is answered with: 503 for MT_EUNAVAIL (the
 * database is away, not the request wrong), else `status`. */
int node__store_status(const mt_error *err, int status);
/* Fill `r` with {"error": <message>}; the message is made ASCII-safe (bytes
 * >= 0x80 and controls become '?') and cut at 767 bytes. A 503 gets
 * Retry-After (NODE_STORE_RETRY_AFTER). A 500 is answered 503 while
 * mt_node.store_down is set (queue(), by the code the maintenance thread
 * read), and — for the callers that pass a store error's message without
 * its code — when the message holds NODE_STORE_UNAVAILABLE; a caller that
 * has the mt_error uses node__reply_store_error instead. */
void node__reply_error(reply *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Answer a failed store operation: "<fmt...>: <err->msg>" (just err->msg
 * when fmt is NULL or empty) with node__store_status(err, status), so a
 * lost database is 503 with Retry-After by its code. */
void node__reply_store_error(reply *r, int status, const mt_error *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The query argument `key` (borrowed from libmicrohttpd), or NULL. */
const char *node__arg(struct MHD_Connection *c, const char *key);
/* The `scope` argument ("global" when absent or empty). Returns 0, or -1 with
 * `r` = 400 when it is not a valid scope. */
int node__scope_arg(reply *r, struct MHD_Connection *c, const char **scope);
/* A Node ID argument into `out`. Returns 0, 1 when absent and not
 * `required`, or -1 with `r` = 400 (missing when required, or invalid). */
int node__id_arg(reply *r, struct MHD_Connection *c, const char *name, char out[MT_NODE_ID_MAX],
		 int required);
/* A strict integer query parameter in [min, max]; `dflt` when absent.
 * Returns 0, or -1 with `r` = 400 naming the parameter. */
int node__int_arg(reply *r, struct MHD_Connection *c, const char *name, long long min,
		  long long max, long long dflt, long long *out);
/* Shut down connections past their header deadline or REQUEST_DEADLINE
 * (called by the maintenance thread). */
void node__conn_watchdog(mt_node *n);

/* ---- handlers (ep_*.c, prom.c) ------------------------------------------------ */

node_handler node__ep_trust, node__ep_trust_list, node__ep_path, node__ep_graph,
	node__ep_explain; /* ep_trust.c */
node_handler node__ep_feeds, node__ep_feed, node__ep_post;  /* ep_feeds.c */
node_handler node__ep_pot;                                            /* ep_info.c */
node_handler node__ep_id, node__ep_metrics, node__ep_search, node__ep_peers, node__ep_log,
	node__ep_static; /* ep_info.c */
node_handler node__ep_prometheus; /* prom.c */
node_handler node__ep_names, node__ep_scopes, node__ep_communities,
	node__ep_proposals; /* ep_info.c */
node_handler node__ep_directory, node__ep_dir_lessons, node__ep_dir_feed; /* ep_directory.c */

/* One feed page as NDJSON into `r` (ep_feeds.c): `iss`'s statements with seq
 * >= from, at most `limit` (both fork branches), or 500. */
void node__feed_page_reply(mt_node *n, const char *iss, uint64_t from, uint64_t limit,
			   reply *r);

/* ---- metrics cache, expensive answers, topics (ep_info.c) -------------------- */

/* Metrics of one scope, cached in the view. Returns the JSON text (borrowed
 * from the scope view, NULL on failure with `err` set) and fills the scope's
 * gini. Thread safe (under the view's lock). */
const char *node__scope_metrics(mt_node *n, node_view *v, node_scope_view *sv, mt_error *err);
/* Serve an expensive endpoint's answer from the view's cache (the same
 * request-target answered for the same state digest), or take a slot to
 * compute it: at most EXPENSIVE_PER_PEER per peer (a kernel connection
 * under the actor "x:<id>") and at most the pool size in all for peers.
 * Returns 1 when `r` is filled (hit or refusal), 0 when the caller computes
 * and then calls node__expensive_end with `*slot`. */
int node__expensive_begin(mt_node *n, req *rq, node_view *v, reply *r, int *slot);
/* Give the slot back and cache a 200 answer in the view (at most XCACHE_MAX). */
void node__expensive_end(mt_node *n, req *rq, node_view *v, const reply *r, int slot);
/* Release the topics admitted more than TOPIC_WINDOW seconds ago. */
void node__topics_expire(mt_node *n, int64_t now);
/* Release every topic held in the kernel and free the table (at stop, before
 * the kernel is freed). */
void node__topics_free(mt_node *n);

/* ---- counters (prom.c) --------------------------------------------------------- */

/* Count one answered request of endpoint `ep` (statuses not listed are not
 * counted). */
void node__count_request(mt_node *n, int ep, int status);
/* Record the time (seconds, from the request's first byte to its answer
 * queued) of one request of endpoint `ep`. */
void node__observe_latency(mt_node *n, int ep, double seconds);

/* ---- store pool, view, maintenance (maint.c) -------------------------------- */

/* Open the pool (`count` store handles) and the maintenance thread's handle
 * (creating the node's tables). Returns 0 or an error code with `err` set;
 * what was opened is closed by node__pool_close. */
int node__pool_open(mt_node *n, unsigned count, mt_error *err);
/* Close every handle of the pool and the maintenance thread's. */
void node__pool_close(mt_node *n);
/* A free store handle of the pool, waiting for one; give it back with
 * node__store_put. Never fails. */
mt_store *node__store_get(mt_node *n);
void node__store_put(mt_node *n, mt_store *s);
/* The current view with one more reference (NULL before the first build);
 * give it back with node__view_release. */
node_view *node__view_acquire(mt_node *n);
/* Drop one reference of `v` (NULL is a no-op); the last one frees it. */
void node__view_release(mt_node *n, node_view *v);
/* Build a view of `s` and make it the current one. Returns 0, or -1 (logged;
 * the previous view stays). */
int node__view_refresh(mt_node *n, mt_store *s);
/* Start the maintenance thread. Returns 0 or -1. */
int node__maint_start(mt_node *n);
/* Stop and join the maintenance thread (when it was started). */
void node__maint_stop(mt_node *n);
/* Ask the maintenance thread to look for a new state of the store now. */
void node__maint_wake(mt_node *n);

#endif
