/* The node's HTTP server (SPEC §5): a small router over libmicrohttpd (epoll +
 * thread pool), authentication (bearer token / signed peer requests with a
 * nonce cache), enforcement (policy oracle -> kernel), the endpoints, the
 * Prometheus counters and the maintenance thread (view refresh, periodic sync). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "json/json_int.h"
#include "meshtrust/encoding.h"
#include "meshtrust/flow.h"
#include "meshtrust/ingest.h"
#include "meshtrust/metrics.h"
#include "meshtrust/policy.h"
#include "meshtrust/statement.h"
#include "node_int.h"
#include "node_nonce.h"
#if __has_include("meshtrust/search.h")
#include "meshtrust/search.h"
#define NODE_HAVE_SEARCH 1
#endif

#ifndef MT_VERSION
#define MT_VERSION "0.1.0"
#endif

/* ---- counters ------------------------------------------------------------ */

enum { EP_ID, EP_FEEDS, EP_FEED, EP_STATEMENTS, EP_TRUST, EP_PATH, EP_SEARCH, EP_METRICS,
       EP_PROM, EP_STATIC, EP_GRAPH, EP_PEERS, EP_LOG, EP_OTHER, EP__COUNT };
static const char *const EP_NAMES[EP__COUNT] = {
	"/v1/id", "/v1/feeds", "/v1/feeds/{iss}", "/v1/statements", "/v1/trust", "/v1/trust/path",
	"/v1/search", "/v1/metrics", "/metrics", "static", "/v1/graph", "/v1/peers", "/v1/log",
	"other"};
static const int STATUSES[] = {200, 400, 401, 403, 404, 405, 413, 429, 500, 501, 503};
#define N_STATUS (sizeof STATUSES / sizeof *STATUSES)

enum { ST_ACCEPTED, ST_DUPLICATE, ST_REF_INVALID, ST_REF_HORIZON, ST_REF_QUOTA, ST__COUNT };

/* ---- limits of the node's exposure (SPEC §9.4, docs/security.md) --------- */

#define NONCE_CAP (1u << 20)          /* nonces held in all */
#define NONCE_CAP_PER_PEER 131072u   /* per peer: 200/s (top tier) × 600 s, and some */
#define NONCE_TTL (2 * MT_NODE_AUTH_WINDOW)
#define CONN_LIMIT 4096u             /* connections in all */
#define CONN_RESERVED_LOCAL 256u     /* of which only 127.0.0.1 may take the last ones */
#define BODY_BYTES_CAP (64u * 1024u * 1024u) /* request bodies buffered across connections */
#define REQUEST_DEADLINE 120         /* seconds from the headers to the end of the body */
#define EXPENSIVE_PER_PEER 2u        /* expensive requests one peer may have running */
#define XCACHE_MAX 64                /* cached expensive answers per view */
#define TOPIC_WINDOW 60              /* seconds a queried topic counts against max_topics */
#define REJECTED_LISTED 1000u        /* rejected lines listed in a POST answer */

/* ---- the node -------------------------------------------------------------- */

struct mt_node {
	mt_node_opts opts;
	char *home, *db_path, *web_dir, *listen_addr;
	mt_keypair kp;
	char self[MT_NODE_ID_MAX];
	char did[MT_DID_MAX];
	char token[65];
	struct MHD_Daemon *mhd;
	int port;
	/* store handles: one per concurrent handler */
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
	const mt_policy *policy;
	node_nonces *nonces;
	int64_t started;  /* Unix time of the start: requests signed before it are refused */
	int web_fd;       /* the dashboard directory (O_PATH), or -1 */
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
	/* counters (atomic adds) */
	uint64_t requests[EP__COUNT][N_STATUS];
	uint64_t stmts[ST__COUNT];
	uint64_t k_rate_limited, k_denied, auth_failed, syncs, sync_failures;
	uint64_t body_bytes;        /* request body bytes buffered now (atomic) */
	uint64_t expensive_running; /* expensive requests running now (atomic) */
	uint64_t xcache_hit, xcache_miss, conn_refused, header_timeouts, over_limit;
};

static void count_request(mt_node *n, int ep, int status)
{
	for (size_t i = 0; i < N_STATUS; i++)
		if (STATUSES[i] == status) {
			__atomic_fetch_add(&n->requests[ep][i], 1, __ATOMIC_RELAXED);
			return;
		}
}

static mt_store *store_get(mt_node *n)
{
	pthread_mutex_lock(&n->pool_lock);
	for (;;) {
		for (unsigned i = 0; i < n->n_stores; i++)
			if (!n->store_busy[i]) {
				n->store_busy[i] = 1;
				pthread_mutex_unlock(&n->pool_lock);
				return n->stores[i];
			}
		pthread_cond_wait(&n->pool_cond, &n->pool_lock);
	}
}

static void store_put(mt_node *n, mt_store *s)
{
	pthread_mutex_lock(&n->pool_lock);
	for (unsigned i = 0; i < n->n_stores; i++)
		if (n->stores[i] == s)
			n->store_busy[i] = 0;
	pthread_cond_signal(&n->pool_cond);
	pthread_mutex_unlock(&n->pool_lock);
}

static node_view *view_acquire(mt_node *n)
{
	pthread_mutex_lock(&n->view_lock);
	node_view *v = n->view;
	if (v)
		v->refs++;
	pthread_mutex_unlock(&n->view_lock);
	return v;
}

static void view_release(mt_node *n, node_view *v)
{
	if (!v)
		return;
	pthread_mutex_lock(&n->view_lock);
	int last = --v->refs == 0;
	pthread_mutex_unlock(&n->view_lock);
	if (last)
		node__view_free(v);
}

static int refresh_view(mt_node *n, mt_store *s)
{
	node_view *v = NULL;
	mt_error err = {0};
	if (node__view_build(&v, s, n->self, n->opts.max_depth, n->opts.decay, n->opts.n_decay,
			     (int64_t)time(NULL), &err) != 0) {
		char e[600];
		node__esc(e, sizeof e, err.msg);
		node__log(n->opts.log_level, MT_NODE_LOG_ERROR, "msg=\"view rebuild failed\" err=\"%s\"",
			  e);
		return -1;
	}
	pthread_mutex_lock(&n->view_lock);
	node_view *old = n->view;
	n->view = v;
	pthread_mutex_unlock(&n->view_lock);
	view_release(n, old);
	node__log(n->opts.log_level, MT_NODE_LOG_DEBUG, "msg=\"view rebuilt\" statements=%llu digest=%s",
		  (unsigned long long)v->count, v->digest);
	return 0;
}

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

/* One request, from its headers to its completion (libmicrohttpd's con_cls). */
typedef struct req {
	char *uri; /* the request-target exactly as sent */
	int seen;
	int too_big;
	char *body;
	size_t len, cap;
	size_t reserved;      /* body bytes counted in the node's body_bytes */
	int route;            /* index in ROUTES, or -1 */
	int ep;               /* endpoint (counters) */
	int has_body;         /* the headers announce a body: its signature is checked at the end */
	mt_node_auth auth;    /* a peer's parsed header, while has_body */
	caller who;
	node_view *view;      /* held from the headers to the completion */
	unsigned char conn_key[32]; /* kernel connection actor: BLAKE2b("<id>@<address>") */
	int conn_open;        /* one kernel connection held under conn_key */
	mt_constraints limits; /* the peer's constraint set (connections, topics) */
	struct conn_track *track;
} req;

typedef struct reply {
	int status;
	char *body;
	size_t len;
	const char *ctype;
	double retry_after;
	const char *allow; /* Allow header of a 405 (static), or NULL */
} reply;

static void reply_text(reply *r, int status, const char *ctype, char *body)
{
	r->status = status;
	r->body = body;
	r->len = body ? strlen(body) : 0;
	r->ctype = ctype;
}

static void reply_json(reply *r, int status, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	if (s) {
		size_t l = strlen(s);
		char *t = realloc(s, l + 2);
		if (t) {
			s = t;
			s[l] = '\n';
			s[l + 1] = '\0';
		}
	}
	reply_text(r, s ? status : 500, "application/json", s);
}

static void reply_error(reply *r, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void reply_error(reply *r, int status, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* jansson refuses invalid UTF-8: keep the message ASCII-safe. */
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
			*p = '?';
	reply_json(r, status, json_pack("{s:s}", "error", msg));
}

static int utf8_valid(const char *s)
{
	size_t n = strlen(s), i = 0;
	while (i < n) {
		size_t k = mt_json__utf8_seq((const unsigned char *)s + i, n - i);
		if (!k)
			return 0;
		i += k;
	}
	return 1;
}

static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *value)
{
	(void)kind;
	int *bad = cls;
	if (!utf8_valid(key) || (value && !utf8_valid(value))) {
		*bad = 1;
		return MHD_NO;
	}
	return MHD_YES;
}

static const char *arg(struct MHD_Connection *c, const char *key)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

/* ---- endpoints ---------------------------------------------------------------- */

static void ep_id(mt_node *n, reply *r)
{
	char hex[65];
	mt_hex_encode(hex, sizeof hex, n->kp.pk, 32);
	reply_json(r, 200, json_pack("{s:s,s:s,s:s,s:s}", "node_id", n->self, "did", n->did,
				     "version", MT_VERSION, "public_key", hex));
}

static int scope_arg(reply *r, struct MHD_Connection *c, const char **scope)
{
	*scope = arg(c, "scope");
	if (!*scope || !**scope)
		*scope = "global";
	mt_error err = {0};
	if (mt_scope_check(*scope, "scope", &err) != 0) {
		reply_error(r, 400, "%s", err.msg);
		return -1;
	}
	return 0;
}

static int id_arg(reply *r, struct MHD_Connection *c, const char *name, char out[MT_NODE_ID_MAX],
		  int required)
{
	const char *v = arg(c, name);
	if (!v || !*v) {
		if (required)
			reply_error(r, 400, "missing query parameter %s", name);
		return required ? -1 : 1;
	}
	unsigned char pk[32];
	mt_error err = {0};
	if (mt_identity_parse(pk, out, v, name, &err) != 0) {
		reply_error(r, 400, "%s", err.msg);
		return -1;
	}
	return 0;
}

/* trust.mode flow (docs/flow.md), read from the store's config per request:
 * returns 1 with the capacity schedule (the default one when the stored one
 * does not parse), or 0 for best-path. */
static int flow_mode(mt_node *n, uint32_t cap[MT_FLOW_MAX_CAPACITIES], size_t *n_cap)
{
	char *mode = NULL, *caps = NULL;
	mt_store *s = store_get(n);
	mt_store_config_get(s, "trust.mode", &mode, NULL);
	mt_store_config_get(s, "trust.flowCapacities", &caps, NULL);
	store_put(n, s);
	int flow = mode && strcmp(mode, "flow") == 0;
	if (flow && mt_flow_capacities_parse(cap, n_cap, caps ? caps : MT_FLOW_DEFAULT_CAPACITIES,
					     NULL) != 0)
		mt_flow_capacities_parse(cap, n_cap, MT_FLOW_DEFAULT_CAPACITIES, NULL);
	free(mode);
	free(caps);
	return flow;
}

/* The query of /v1/trust and /v1/trust/path: scope (default global), target
 * (required), from (default this node). Returns 0, or -1 with `r` filled. */
static int target_args(mt_node *n, reply *r, struct MHD_Connection *c, const char **scope,
		       char target[MT_NODE_ID_MAX], char from[MT_NODE_ID_MAX])
{
	if (scope_arg(r, c, scope) || id_arg(r, c, "target", target, 1) < 0)
		return -1;
	int rc = id_arg(r, c, "from", from, 0);
	if (rc < 0)
		return -1;
	if (rc == 1)
		snprintf(from, MT_NODE_ID_MAX, "%s", n->self);
	return 0;
}

static void ep_trust(mt_node *n, reply *r, struct MHD_Connection *c, node_view *v)
{
	const char *scope;
	char target[MT_NODE_ID_MAX], from[MT_NODE_ID_MAX];
	if (target_args(n, r, c, &scope, target, from))
		return;
	uint32_t cap[MT_FLOW_MAX_CAPACITIES];
	size_t n_cap = 0;
	int flow = flow_mode(n, cap, &n_cap);
	if (flow) {
		mt_flow_query fq = {from, scope, (int64_t)time(NULL), v->max_depth, cap, n_cap};
		mt_flow_result *fr = NULL;
		mt_error ferr = {0};
		if (mt_flow_trust(&fr, v->engine, &fq, &ferr) != 0) {
			reply_error(r, 500, "%s", ferr.msg);
			return;
		}
		const mt_flow_entry *fe = NULL;
		for (size_t i = 0; i < fr->count; i++)
			if (strcmp(fr->entries[i].id, target) == 0)
				fe = &fr->entries[i];
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:b,s:s,s:b}", "digest", v->digest, "viewpoint",
				      from, "target", target, "scope", scope, "trusted", fe != NULL,
				      "mode", "flow", "accepted", fe != NULL);
		json_object_set_new(o, "score", json_real(fe ? fe->score : 0.0));
		json_object_set_new(o, "level",
				    json_string(mt_level_name(fe ? fe->level : MT_LEVEL_NONE)));
		json_object_set_new(o, "hops", fe ? json_integer(fe->hops) : json_null());
		json_object_set_new(o, "via", fe ? json_string(fe->via_id) : json_null());
		json_object_set_new(o, "flow", json_integer(fe ? fe->flow : 0));
		mt_flow_result_free(fr);
		reply_json(r, 200, o);
		return;
	}
	const mt_trust_entry *e = NULL;
	mt_trust_result *own = NULL;
	if (strcmp(from, n->self) == 0) {
		node_scope_view *sv = node__view_scope(v, scope);
		if (!sv) {
			reply_error(r, 500, "trust query failed");
			return;
		}
		e = node__scope_entry(v, sv, target);
	} else {
		mt_trust_query q = {from, scope, (int64_t)time(NULL), v->max_depth, v->decay,
				    v->n_decay};
		mt_error err = {0};
		if (mt_engine_trust(&own, v->engine, &q, NULL, &err) != 0) {
			reply_error(r, 500, "%s", err.msg);
			return;
		}
		for (size_t i = 0; i < own->count; i++)
			if (strcmp(own->entries[i].id, target) == 0)
				e = &own->entries[i];
	}
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:b}", "digest", v->digest, "viewpoint", from,
			      "target", target, "scope", scope, "trusted", e != NULL);
	json_object_set_new(o, "score", json_real(e ? e->score : 0.0));
	json_object_set_new(o, "level", json_string(mt_level_name(e ? e->level : MT_LEVEL_NONE)));
	json_object_set_new(o, "hops", e ? json_integer(e->hops) : json_null());
	json_object_set_new(o, "via", e ? json_string(e->via_id) : json_null());
	mt_trust_result_free(own);
	reply_json(r, 200, o);
}

static void ep_path(mt_node *n, reply *r, struct MHD_Connection *c, node_view *v)
{
	const char *scope;
	char target[MT_NODE_ID_MAX], from[MT_NODE_ID_MAX];
	if (target_args(n, r, c, &scope, target, from))
		return;
	uint32_t cap[MT_FLOW_MAX_CAPACITIES];
	size_t n_cap = 0;
	int flow = flow_mode(n, cap, &n_cap);
	if (flow) {
		mt_flow_query fq = {from, scope, (int64_t)time(NULL), v->max_depth, cap, n_cap};
		mt_flow_path *fp = NULL;
		mt_error ferr = {0};
		if (mt_flow_path_get(&fp, v->engine, &fq, target, &ferr) != 0) {
			reply_error(r, 500, "%s", ferr.msg);
			return;
		}
		json_t *o = json_pack("{s:s,s:b,s:s,s:s,s:s,s:i,s:s,s:b}", "digest", v->digest, "found",
				      fp->found, "viewpoint", from, "target", target, "scope", scope,
				      "max_depth", v->max_depth, "mode", "flow", "accepted", fp->found);
		if (fp->found) {
			json_t *edges = json_array();
			mt_store *s = store_get(n);
			for (size_t i = 0; i < fp->n_edges; i++) {
				const mt_path_edge *pe = &fp->edges[i];
				unsigned char sid[32];
				char hex[65] = "";
				if (mt_store_edge_get(s, pe->from_id, pe->to_id, pe->scope, sid, NULL, NULL) == 0)
					mt_hex_encode(hex, sizeof hex, sid, 32);
				json_array_append_new(
					edges, json_pack("{s:s,s:s,s:s,s:f,s:s,s:s}", "from", pe->from_id, "to",
							 pe->to_id, "level", mt_level_name(pe->level),
							 "score", pe->score / 1000.0, "scope", pe->scope,
							 "statement", hex));
			}
			store_put(n, s);
			json_object_set_new(o, "score", json_real(fp->score));
			json_object_set_new(o, "level", json_string(mt_level_name(fp->level)));
			json_object_set_new(o, "hops", json_integer(fp->hops));
			json_object_set_new(o, "flow", json_integer(fp->flow));
			json_object_set_new(o, "capacity", json_integer(fp->capacity));
			json_object_set_new(o, "path", edges);
		} else {
			json_object_set_new(o, "reason", json_string(fp->message));
			json_object_set_new(o, "why", json_string(fp->why));
		}
		mt_flow_path_free(fp);
		reply_json(r, 200, o);
		return;
	}
	mt_trust_query q = {from, scope, (int64_t)time(NULL), v->max_depth, v->decay, v->n_decay};
	mt_trust_path *p = NULL;
	mt_error err = {0};
	if (mt_engine_path(&p, v->engine, &q, target, &err) != 0) {
		reply_error(r, 500, "%s", err.msg);
		return;
	}
	json_t *o = json_pack("{s:s,s:b,s:s,s:s,s:s,s:i}", "digest", v->digest, "found", p->found,
			      "viewpoint", from, "target", target, "scope", scope, "max_depth",
			      v->max_depth);
	if (p->found) {
		json_t *edges = json_array();
		mt_store *s = store_get(n);
		for (size_t i = 0; i < p->n_edges; i++) {
			const mt_path_edge *pe = &p->edges[i];
			unsigned char sid[32];
			char hex[65] = "";
			if (mt_store_edge_get(s, pe->from_id, pe->to_id, pe->scope, sid, NULL, NULL) == 0)
				mt_hex_encode(hex, sizeof hex, sid, 32);
			json_array_append_new(
				edges, json_pack("{s:s,s:s,s:s,s:f,s:s,s:s}", "from", pe->from_id, "to",
						 pe->to_id, "level", mt_level_name(pe->level), "score",
						 pe->score / 1000.0, "scope", pe->scope, "statement",
						 hex));
		}
		store_put(n, s);
		json_object_set_new(o, "score", json_real(p->score));
		json_object_set_new(o, "level", json_string(mt_level_name(p->level)));
		json_object_set_new(o, "hops", json_integer(p->hops));
		json_object_set_new(o, "path", edges);
	} else {
		json_object_set_new(o, "reason", json_string(p->message));
		json_object_set_new(o, "why", json_string(mt_why_name(p->why)));
	}
	mt_trust_path_free(p);
	reply_json(r, 200, o);
}

/* Metrics of one scope, cached in the view. Returns the JSON text (borrowed
 * from the scope view) or NULL. Also fills the scope's gini. */
static const char *scope_metrics(mt_node *n, node_view *v, node_scope_view *sv, mt_error *err)
{
	pthread_mutex_lock(&v->lock);
	if (!sv->metrics_json) {
		mt_metrics_opts mo;
		mt_metrics_opts_init(&mo);
		mo.scope = sv->scope;
		mo.at = v->built_at;
		mo.threads = 1;
		mt_metrics_result *m = NULL;
		char *text = NULL;
		if (mt_metrics_compute(&m, v->edges, v->n_edges, &mo, err) == 0 &&
		    mt_metrics_result_json(&text, m, 0, n->policy->max_gini) == 0) {
			json_t *o = json_loads(text, 0, NULL);
			if (o) {
				json_object_set_new(o, "digest", json_string(v->digest));
				sv->metrics_json = json_dumps(o, JSON_COMPACT);
				json_decref(o);
			}
			sv->gini = m->gini;
		}
		free(text);
		mt_metrics_result_free(m);
	}
	pthread_mutex_unlock(&v->lock);
	return sv->metrics_json;
}

/* Metrics of `scope` computed for this request (per_node: with every node's
 * figures). */
static void metrics_compute(mt_node *n, reply *r, const char *scope, node_view *v, int per_node)
{
	mt_metrics_opts mo;
	mt_metrics_opts_init(&mo);
	mo.scope = scope;
	mo.at = v->built_at;
	mo.threads = 1;
	mt_metrics_result *m = NULL;
	char *text = NULL;
	mt_error err = {0};
	if (mt_metrics_compute(&m, v->edges, v->n_edges, &mo, &err) != 0 ||
	    mt_metrics_result_json(&text, m, per_node, n->policy->max_gini) != 0) {
		mt_metrics_result_free(m);
		reply_error(r, 500, "metrics failed: %s", err.msg);
		return;
	}
	json_t *o = json_loads(text, 0, NULL);
	free(text);
	mt_metrics_result_free(m);
	if (!o) {
		reply_error(r, 500, "metrics failed");
		return;
	}
	json_object_set_new(o, "digest", json_string(v->digest));
	reply_json(r, 200, o);
}

/* ---- expensive answers: cached by state, bounded in concurrency ------------ */

/* Serve an expensive endpoint's answer from the view's cache (the same
 * request-target answered for the same state digest), or take a slot to
 * compute it: at most EXPENSIVE_PER_PEER per peer (a kernel connection
 * under the actor "x:<id>") and at most the pool size in all for peers.
 * Returns 1 when `r` is filled (hit or refusal), 0 when the caller computes
 * and then calls expensive_end. */
static int expensive_begin(mt_node *n, req *rq, node_view *v, reply *r, int *slot)
{
	*slot = 0;
	pthread_mutex_lock(&v->lock);
	json_t *hit = json_object_get(v->xcache, rq->uri);
	char *body = hit ? strdup(json_string_value(hit)) : NULL;
	pthread_mutex_unlock(&v->lock);
	if (body) {
		__atomic_fetch_add(&n->xcache_hit, 1, __ATOMIC_RELAXED);
		reply_text(r, 200, "application/json", body);
		return 1;
	}
	__atomic_fetch_add(&n->xcache_miss, 1, __ATOMIC_RELAXED);
	if (!rq->who.peer)
		return 0;
	char key[MT_NODE_ID_MAX + 4];
	snprintf(key, sizeof key, "x:%s", rq->who.id);
	mt_constraints c = rq->limits;
	c.max_connections = EXPENSIVE_PER_PEER;
	size_t klen = strlen(key) > MT_K_ACTOR_MAX ? MT_K_ACTOR_MAX : strlen(key);
	if (mt_kernel_conn_open(n->kernel, key, klen, &c, NULL) != MT_K_ALLOW) {
		__atomic_fetch_add(&n->over_limit, 1, __ATOMIC_RELAXED);
		reply_error(r, 429, "too many expensive requests in progress: at most %u per peer",
			    EXPENSIVE_PER_PEER);
		r->retry_after = 1;
		return 1;
	}
	uint64_t all = n->n_stores > 1 ? n->n_stores - 1 : 1;
	if (__atomic_add_fetch(&n->expensive_running, 1, __ATOMIC_RELAXED) > all) {
		__atomic_fetch_sub(&n->expensive_running, 1, __ATOMIC_RELAXED);
		mt_kernel_conn_close(n->kernel, key, klen);
		__atomic_fetch_add(&n->over_limit, 1, __ATOMIC_RELAXED);
		reply_error(r, 429, "too many expensive requests in progress on this node");
		r->retry_after = 1;
		return 1;
	}
	*slot = 1;
	return 0;
}

static void expensive_end(mt_node *n, req *rq, node_view *v, const reply *r, int slot)
{
	if (slot) {
		char key[MT_NODE_ID_MAX + 4];
		snprintf(key, sizeof key, "x:%s", rq->who.id);
		size_t klen = strlen(key) > MT_K_ACTOR_MAX ? MT_K_ACTOR_MAX : strlen(key);
		mt_kernel_conn_close(n->kernel, key, klen);
		__atomic_fetch_sub(&n->expensive_running, 1, __ATOMIC_RELAXED);
	}
	if (r->status != 200 || !r->body)
		return;
	pthread_mutex_lock(&v->lock);
	if (json_object_size(v->xcache) < XCACHE_MAX)
		json_object_set_new(v->xcache, rq->uri, json_stringn(r->body, r->len));
	pthread_mutex_unlock(&v->lock);
}

/* A strict integer query parameter in [min, max]; `dflt` when absent.
 * Returns 0, or -1 with `r` = 400 naming the parameter. */
static int int_arg(reply *r, struct MHD_Connection *c, const char *name, long long min,
		   long long max, long long dflt, long long *out)
{
	const char *v = arg(c, name);
	*out = dflt;
	if (!v)
		return 0;
	char *end = NULL;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (!*v || *end || errno || x < min || x > max || !(*v >= '0' && *v <= '9')) {
		reply_error(r, 400, "%s: \"%.40s\" is not an integer in %lld..%lld", name, v, min,
			    max);
		return -1;
	}
	*out = x;
	return 0;
}

static void ep_metrics(mt_node *n, reply *r, struct MHD_Connection *c, req *rq, node_view *v)
{
	const char *scope;
	long long per_node;
	if (scope_arg(r, c, &scope) || int_arg(r, c, "per_node", 0, 1, 0, &per_node))
		return;
	node_scope_view *sv = node__view_scope(v, scope);
	if (per_node || (sv && sv->unknown)) {
		int slot;
		if (expensive_begin(n, rq, v, r, &slot))
			return;
		metrics_compute(n, r, scope, v, (int)per_node);
		expensive_end(n, rq, v, r, slot);
		return;
	}
	mt_error err = {0};
	const char *text = sv ? scope_metrics(n, v, sv, &err) : NULL;
	if (!text) {
		reply_error(r, 500, "metrics failed: %s", err.msg);
		return;
	}
	size_t l = strlen(text);
	char *body = malloc(l + 2);
	if (body) {
		memcpy(body, text, l);
		memcpy(body + l, "\n", 2);
	}
	reply_text(r, body ? 200 : 500, "application/json", body);
}

/* Whether a peer may have `iss`'s feed (SPEC §9.4): re-announced feeds
 * (self, issuers full in the own global trust list); a community-only peer
 * gets its community's members' feeds and only those. */
static int feed_shared(const caller *who, const node_view *v, const char *iss)
{
	if (who->community)
		return json_object_get(who->community, iss) != NULL;
	return node__reannounced(v, iss);
}

static void ep_feeds(mt_node *n, reply *r, const caller *who, node_view *v)
{
	mt_store *s = store_get(n);
	sqlite3_stmt *q = NULL;
	json_t *arr = json_array();
	if (sqlite3_prepare_v2(mt_store_db(s),
			       "SELECT iss, head_seq FROM feeds WHERE head_seq > 0 ORDER BY iss", -1,
			       &q, NULL) == SQLITE_OK) {
		while (sqlite3_step(q) == SQLITE_ROW) {
			const char *iss = (const char *)sqlite3_column_text(q, 0);
			if (who->peer && !feed_shared(who, v, iss))
				continue;
			json_array_append_new(arr, json_pack("{s:s,s:I}", "iss", iss, "seq",
							     (json_int_t)sqlite3_column_int64(q, 1)));
		}
	}
	sqlite3_finalize(q);
	store_put(n, s);
	reply_json(r, 200, arr);
}

static void ep_feed(mt_node *n, reply *r, struct MHD_Connection *c, const caller *who,
		    node_view *v, const char *iss)
{
	if (!mt_node_id_valid(iss)) {
		reply_error(r, 400, "feed: \"%.80s\" is not a Node ID", iss);
		return;
	}
	if (who->peer && !feed_shared(who, v, iss)) {
		reply_error(r, 404,
			    "feed %s is not shared by this node (it passes on only the feeds of "
			    "issuers it trusts full in global%s)",
			    iss, who->community ? ", and to a community peer its members' feeds" : "");
		return;
	}
	long long from, limit;
	if (int_arg(r, c, "from", 1, INT64_MAX, 1, &from) ||
	    int_arg(r, c, "limit", 1, 100000, 1000, &limit))
		return;
	mt_store *s = store_get(n);
	sqlite3_stmt *q = NULL;
	size_t cap = 65536, len = 0;
	char *out = malloc(cap);
	int ok = out && sqlite3_prepare_v2(mt_store_db(s),
					   "SELECT canon FROM statements WHERE iss = ? AND seq >= ? "
					   "ORDER BY seq, id LIMIT ?",
					   -1, &q, NULL) == SQLITE_OK;
	if (ok) {
		sqlite3_bind_text(q, 1, iss, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, from);
		sqlite3_bind_int64(q, 3, limit);
		while (ok && sqlite3_step(q) == SQLITE_ROW) {
			size_t k = (size_t)sqlite3_column_bytes(q, 0);
			if (len + k + 2 > cap) {
				while (len + k + 2 > cap)
					cap *= 2;
				char *t = realloc(out, cap);
				if (!t) {
					ok = 0;
					break;
				}
				out = t;
			}
			memcpy(out + len, sqlite3_column_blob(q, 0), k);
			len += k;
			out[len++] = '\n';
		}
	}
	sqlite3_finalize(q);
	store_put(n, s);
	if (!ok) {
		free(out);
		reply_error(r, 500, "feed read failed");
		return;
	}
	out[len] = '\0';
	r->status = 200;
	r->body = out;
	r->len = len;
	r->ctype = "application/x-ndjson";
}

/* POST /v1/statements: pull lines out of the body for the ingest pipeline. */
typedef struct post_src {
	const char *p, *end;
} post_src;

int node__next_line(const char **p, const char *end, int strip_cr, char **buf, size_t *len)
{
	while (*p < end) {
		const char *nl = memchr(*p, '\n', (size_t)(end - *p));
		const char *start = *p;
		size_t k = (size_t)((nl ? nl : end) - start);
		*p = nl ? nl + 1 : end;
		if (strip_cr && k && start[k - 1] == '\r')
			k--;
		if (!k)
			continue;
		char *b = malloc(k + 1);
		if (!b)
			return MT_ENOMEM;
		memcpy(b, start, k);
		b[k] = '\0';
		*buf = b;
		*len = k;
		return 1;
	}
	return 0;
}

static int post_next(void *payload, char **buf, size_t *len)
{
	post_src *ps = payload;
	return node__next_line(&ps->p, ps->end, 1, buf, len);
}

typedef struct post_ctx {
	mt_node *node;
	node_admit adm;
	int peer;
	char *text;
	size_t len, cap;
	uint64_t rejected;
} post_ctx;

static int post_admit(void *payload, const mt_stmt *st, char reason[256])
{
	post_ctx *pc = payload;
	return pc->peer ? node__admit(&pc->adm, st, reason) : 0;
}

static int post_flush(void *payload, mt_error *err)
{
	post_ctx *pc = payload;
	return pc->peer ? node__admit_flush(&pc->adm, err) : 0;
}

static void post_done(void *payload, uint64_t index, int rc, mt_ingest_result result,
		      const char *reason, const mt_stmt *st)
{
	(void)index;
	(void)st;
	post_ctx *o = payload;
	char line[400];
	if (rc == 0) {
		snprintf(line, sizeof line, "%s\n",
			 result == MT_INGEST_ACCEPTED ? "accepted" : "duplicate");
		__atomic_fetch_add(&o->node->stmts[result == MT_INGEST_ACCEPTED ? ST_ACCEPTED
										 : ST_DUPLICATE],
				   1, __ATOMIC_RELAXED);
	} else {
		snprintf(line, sizeof line, "rejected: %s", reason && *reason ? reason : "invalid");
		for (char *p = line; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		strcat(line, "\n");
		if (++o->rejected > REJECTED_LISTED)
			return; /* counted; the summary line says how many */
	}
	size_t k = strlen(line);
	if (o->len + k + 1 > o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 4096;
		while (cap < o->len + k + 1)
			cap *= 2;
		char *t = realloc(o->text, cap);
		if (!t)
			return;
		o->text = t;
		o->cap = cap;
	}
	memcpy(o->text + o->len, line, k + 1);
	o->len += k;
}

static void ep_post(mt_node *n, reply *r, const caller *who, node_view *v, const req *rq)
{
	/* The body as a whole must be well formed: valid UTF-8, every line JSON
	 * and at most MT_STMT_MAX bytes. A malformed body changes nothing. */
	const char *p = rq->body ? rq->body : "", *end = p + rq->len;
	size_t line = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		line++;
		size_t k = (size_t)(e - p);
		if (k > MT_STMT_MAX + 1) {
			reply_error(r, 413, "line %zu: over %d bytes", line, MT_STMT_MAX);
			return;
		}
		if (k && !(k == 1 && *p == '\r')) {
			json_error_t je;
			json_t *j = json_loadb(p, k, JSON_REJECT_DUPLICATES, &je);
			if (!j) {
				reply_error(r, 400, "line %zu: not JSON: %s", line, je.text);
				return;
			}
			json_decref(j);
		}
		p = nl ? nl + 1 : end;
	}
	mt_store *s = store_get(n);
	post_ctx pc = {.node = n, .peer = who->peer};
	mt_error err = {0};
	int64_t now = (int64_t)time(NULL);
	if (node__admit_init(&pc.adm, s, who->peer ? v : NULL, who->peer ? who->id : NULL,
			     n->opts.max_per_issuer, n->opts.max_per_peer, now, &err) != 0) {
		store_put(n, s);
		reply_error(r, 500, "%s", err.msg);
		return;
	}
	post_src src = {rq->body ? rq->body : "", end};
	mt_ingest_opts io = {.now = now, .threads = 1, .batch = 4096, .done = post_done,
			     .admit = post_admit, .flush = post_flush, .payload = &pc};
	mt_ingest_stats stats = {0};
	int rc = mt_ingest_run(s, post_next, &src, &io, &stats, &err);
	uint64_t policy_refused = pc.adm.refused_horizon + pc.adm.refused_quota;
	__atomic_fetch_add(&n->stmts[ST_REF_HORIZON], pc.adm.refused_horizon, __ATOMIC_RELAXED);
	__atomic_fetch_add(&n->stmts[ST_REF_QUOTA], pc.adm.refused_quota, __ATOMIC_RELAXED);
	__atomic_fetch_add(&n->stmts[ST_REF_INVALID],
			   pc.rejected > policy_refused ? pc.rejected - policy_refused : 0,
			   __ATOMIC_RELAXED);
	node__admit_done(&pc.adm);
	store_put(n, s);
	if (rc != 0) {
		free(pc.text);
		reply_error(r, 500, "ingest failed: %s", err.msg);
		return;
	}
	pthread_mutex_lock(&n->maint_lock);
	n->dirty = 1;
	pthread_cond_signal(&n->maint_cond);
	pthread_mutex_unlock(&n->maint_lock);
	node__log(n->opts.log_level, MT_NODE_LOG_INFO,
		  "msg=\"statements received\" from=%s accepted=%llu duplicate=%llu rejected=%llu",
		  who->peer ? who->id : "local", (unsigned long long)stats.accepted,
		  (unsigned long long)stats.duplicate, (unsigned long long)stats.rejected);
	if (pc.rejected > REJECTED_LISTED) {
		char sum[200];
		int k = snprintf(sum, sizeof sum,
				 "summary: accepted=%llu duplicate=%llu rejected=%llu (the first %u "
				 "rejections are listed)\n",
				 (unsigned long long)stats.accepted,
				 (unsigned long long)stats.duplicate, (unsigned long long)pc.rejected,
				 REJECTED_LISTED);
		char *t = realloc(pc.text, pc.len + (size_t)k + 1);
		if (t) {
			memcpy(t + pc.len, sum, (size_t)k + 1);
			pc.text = t;
			pc.len += (size_t)k;
		}
	}
	r->status = 200;
	r->body = pc.text ? pc.text : strdup("");
	r->len = pc.len;
	r->ctype = "text/plain; charset=utf-8";
}

static void ep_prometheus(mt_node *n, reply *r, const caller *who, node_view *v)
{
	size_t cap = 16384, len = 0;
	char *out = malloc(cap);
	if (!out) {
		reply_error(r, 500, "out of memory");
		return;
	}
#define EMIT(...)                                                                                  \
	do {                                                                                       \
		int w_ = snprintf(out + len, cap - len, __VA_ARGS__);                              \
		if (w_ > 0 && (size_t)w_ >= cap - len) {                                           \
			char *t_ = realloc(out, cap * 2 + (size_t)w_);                             \
			if (!t_)                                                                   \
				break;                                                             \
			out = t_;                                                                  \
			cap = cap * 2 + (size_t)w_;                                                \
			w_ = snprintf(out + len, cap - len, __VA_ARGS__);                          \
		}                                                                                  \
		if (w_ > 0)                                                                        \
			len += (size_t)w_;                                                         \
	} while (0)
	EMIT("# HELP mesh_http_requests_total HTTP requests by endpoint and status.\n"
	     "# TYPE mesh_http_requests_total counter\n");
	for (int e = 0; e < EP__COUNT; e++)
		for (size_t i = 0; i < N_STATUS; i++) {
			uint64_t c = __atomic_load_n(&n->requests[e][i], __ATOMIC_RELAXED);
			if (c)
				EMIT("mesh_http_requests_total{endpoint=\"%s\",status=\"%d\"} %llu\n",
				     EP_NAMES[e], STATUSES[i], (unsigned long long)c);
		}
	static const char *const st_names[ST__COUNT] = {"accepted", "duplicate", "invalid",
							"outside-horizon", "over-quota"};
	EMIT("# HELP mesh_statements_total Statements received over HTTP, by outcome (refused: by "
	     "reason).\n# TYPE mesh_statements_total counter\n");
	for (int i = 0; i < ST__COUNT; i++)
		EMIT("mesh_statements_total{outcome=\"%s\"} %llu\n", st_names[i],
		     (unsigned long long)__atomic_load_n(&n->stmts[i], __ATOMIC_RELAXED));
	EMIT("# HELP mesh_kernel_denials_total Peer requests refused by the kernel.\n"
	     "# TYPE mesh_kernel_denials_total counter\n"
	     "mesh_kernel_denials_total{verdict=\"rate_limited\"} %llu\n"
	     "mesh_kernel_denials_total{verdict=\"denied\"} %llu\n",
	     (unsigned long long)__atomic_load_n(&n->k_rate_limited, __ATOMIC_RELAXED),
	     (unsigned long long)__atomic_load_n(&n->k_denied, __ATOMIC_RELAXED));
	EMIT("# HELP mesh_auth_failures_total Requests refused by authentication.\n"
	     "# TYPE mesh_auth_failures_total counter\nmesh_auth_failures_total %llu\n",
	     (unsigned long long)__atomic_load_n(&n->auth_failed, __ATOMIC_RELAXED));
	EMIT("# HELP mesh_statements Statements held.\n# TYPE mesh_statements gauge\n"
	     "mesh_statements %llu\n",
	     (unsigned long long)v->count);
	EMIT("# HELP mesh_sync_rounds_total Periodic sync rounds run by the node.\n"
	     "# TYPE mesh_sync_rounds_total counter\nmesh_sync_rounds_total %llu\n",
	     (unsigned long long)__atomic_load_n(&n->syncs, __ATOMIC_RELAXED));
	EMIT("# HELP mesh_nonce_cache_entries Peer request nonces held against replays.\n"
	     "# TYPE mesh_nonce_cache_entries gauge\nmesh_nonce_cache_entries %llu\n",
	     (unsigned long long)node__nonces_count(n->nonces));
	EMIT("# HELP mesh_expensive_cache_total Expensive answers (per-node metrics, graph) "
	     "served from the state's cache or computed.\n"
	     "# TYPE mesh_expensive_cache_total counter\n"
	     "mesh_expensive_cache_total{result=\"hit\"} %llu\n"
	     "mesh_expensive_cache_total{result=\"miss\"} %llu\n",
	     (unsigned long long)__atomic_load_n(&n->xcache_hit, __ATOMIC_RELAXED),
	     (unsigned long long)__atomic_load_n(&n->xcache_miss, __ATOMIC_RELAXED));
	pthread_mutex_lock(&n->conn_lock);
	unsigned conns = n->n_conns, remote = n->n_remote;
	pthread_mutex_unlock(&n->conn_lock);
	EMIT("# HELP mesh_connections Open HTTP connections (remote: not from 127.0.0.1).\n"
	     "# TYPE mesh_connections gauge\nmesh_connections{from=\"local\"} %u\n"
	     "mesh_connections{from=\"remote\"} %u\n",
	     conns - remote, remote);
	EMIT("# HELP mesh_connection_refusals_total Connections and requests refused by the "
	     "node's exposure limits.\n# TYPE mesh_connection_refusals_total counter\n"
	     "mesh_connection_refusals_total{why=\"address_cap\"} %llu\n"
	     "mesh_connection_refusals_total{why=\"deadline\"} %llu\n"
	     "mesh_connection_refusals_total{why=\"peer_limit\"} %llu\n",
	     (unsigned long long)__atomic_load_n(&n->conn_refused, __ATOMIC_RELAXED),
	     (unsigned long long)__atomic_load_n(&n->header_timeouts, __ATOMIC_RELAXED),
	     (unsigned long long)__atomic_load_n(&n->over_limit, __ATOMIC_RELAXED));
	EMIT("# HELP mesh_sync_lag_statements Statements a peer held beyond ours after the last "
	     "sync with it.\n# TYPE mesh_sync_lag_statements gauge\n");
	mt_store *s = store_get(n);
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(mt_store_db(s),
			       "SELECT node_id, url, lag, last_sync FROM node_peers ORDER BY url", -1,
			       &q, NULL) == SQLITE_OK)
		while (sqlite3_step(q) == SQLITE_ROW) {
			const char *id = (const char *)sqlite3_column_text(q, 0);
			const char *url = (const char *)sqlite3_column_text(q, 1);
			int bad = 0;
			for (const char *c = url; *c; c++)
				bad |= *c == '"' || *c == '\\' || *c == '\n';
			/* peer URLs are for this machine's eyes only (node.metricsPublic) */
			EMIT("mesh_sync_lag_statements{peer=\"%s\",url=\"%s\"} %lld\n", id,
			     bad || !who->local ? "?" : url, (long long)sqlite3_column_int64(q, 2));
		}
	sqlite3_finalize(q);
	store_put(n, s);
#undef EMIT
	r->status = 200;
	r->body = out;
	r->len = len;
	r->ctype = "text/plain; version=0.0.4; charset=utf-8";
}

static const char MINIMAL_PAGE[] =
	"<!doctype html><html><head><meta charset=\"utf-8\"><title>meshtrust node</title></head>"
	"<body><h1>meshtrust node</h1><p>The dashboard is not built. The API answers under "
	"<code>/v1/</code>.</p></body></html>\n";

static const char *ctype_of(const char *path)
{
	static const char *const map[][2] = {
		{".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
		{".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
		{".json", "application/json"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
		{".ico", "image/x-icon"}, {".woff2", "font/woff2"}, {".map", "application/json"},
		{".txt", "text/plain; charset=utf-8"}};
	const char *dot = strrchr(path, '.');
	for (size_t i = 0; dot && i < sizeof map / sizeof *map; i++)
		if (strcmp(dot, map[i][0]) == 0)
			return map[i][1];
	return "application/octet-stream";
}

/* Open `rel` beneath the directory `dirfd`, following no symbolic link on
 * the way (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS with openat2; where the
 * kernel has no openat2, component by component with O_NOFOLLOW). Never
 * blocks on a FIFO (O_NONBLOCK). Returns the descriptor or -1. */
static int open_beneath(int dirfd, const char *rel)
{
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW,
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
					  RESOLVE_NO_MAGICLINKS};
	long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
	if (fd >= 0 || errno != ENOSYS)
		return (int)fd;
	char part[256];
	int cur = dirfd;
	const char *p = rel;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t k = slash ? (size_t)(slash - p) : strlen(p);
		if (!k || k >= sizeof part || (k == 1 && p[0] == '.') ||
		    (k == 2 && p[0] == '.' && p[1] == '.')) {
			fd = -1;
			break;
		}
		memcpy(part, p, k);
		part[k] = '\0';
		fd = openat(cur, part,
			    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | (slash ? O_DIRECTORY : 0));
		if (cur != dirfd)
			close(cur);
		if (fd < 0 || !slash)
			break;
		cur = (int)fd;
		p = slash + 1;
	}
	return (int)fd;
}

static void ep_static(mt_node *n, reply *r, const char *url)
{
	const char *rel = strcmp(url, "/") == 0 ? "index.html" : url + 1;
	if (strstr(url, "..") || strstr(url, "//") || strchr(url, '\\')) {
		reply_error(r, 404, "not found");
		return;
	}
	int fd = n->web_fd >= 0 ? open_beneath(n->web_fd, rel) : -1;
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > 64 * 1024 * 1024) {
		if (fd >= 0)
			close(fd);
		if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0) {
			reply_text(r, 200, "text/html; charset=utf-8", strdup(MINIMAL_PAGE));
			return;
		}
		reply_error(r, 404, "not found: %.200s", url);
		return;
	}
	char *buf = malloc((size_t)sb.st_size + 1);
	size_t got = 0;
	while (buf && got < (size_t)sb.st_size) {
		ssize_t k = read(fd, buf + got, (size_t)sb.st_size - got);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	if (!buf || got != (size_t)sb.st_size) {
		free(buf);
		reply_error(r, 500, "cannot read %.200s", rel);
		return;
	}
	r->status = 200;
	r->body = buf;
	r->len = got;
	r->ctype = ctype_of(rel);
}

/* ---- dashboard and search endpoints ------------------------------------------ */

#ifdef NODE_HAVE_SEARCH
/* GET /v1/search?q=&topic=&scope=&limit=: lessons ranked by this node's trust. */
/* Topic admission (the kernel's max_topics): a peer may query at most that
 * many distinct topics per TOPIC_WINDOW seconds. Returns 0 or fills `r`. */
static int topic_admit(mt_node *n, const req *rq, const char *topic, reply *r)
{
	unsigned char h[32];
	char hex[65], key[MT_NODE_ID_MAX + 70];
	crypto_generichash(h, sizeof h, (const unsigned char *)topic, strlen(topic), NULL, 0);
	mt_hex_encode(hex, sizeof hex, h, sizeof h);
	snprintf(key, sizeof key, "%s %s", rq->who.id, hex);
	pthread_mutex_lock(&n->topic_lock);
	int held = json_object_get(n->topics, key) != NULL;
	int verdict = MT_K_ALLOW;
	mt_kernel_decision kd;
	if (!held) {
		verdict = mt_kernel_topic_admit(n->kernel, rq->who.id, strlen(rq->who.id), h, sizeof h,
						&rq->limits, &kd);
		if (verdict == MT_K_ALLOW &&
		    json_object_set_new(n->topics, key, json_integer((json_int_t)time(NULL))) != 0) {
			mt_kernel_topic_release(n->kernel, rq->who.id, strlen(rq->who.id), h,
						sizeof h);
			verdict = MT_K_ENOMEM;
		}
	}
	pthread_mutex_unlock(&n->topic_lock);
	if (verdict == MT_K_ALLOW)
		return 0;
	__atomic_fetch_add(&n->over_limit, 1, __ATOMIC_RELAXED);
	reply_error(r, 429, "topic limit: %s may query at most %u distinct topics per %d s",
		    rq->who.id, rq->limits.max_topics, TOPIC_WINDOW);
	r->retry_after = TOPIC_WINDOW;
	return -1;
}

/* Release the topics admitted more than TOPIC_WINDOW seconds ago. */
static void topics_expire(mt_node *n, int64_t now)
{
	pthread_mutex_lock(&n->topic_lock);
	const char *key;
	json_t *at, *tmp;
	json_object_foreach_safe(n->topics, tmp, key, at) {
		if (now - (int64_t)json_integer_value(at) < TOPIC_WINDOW)
			continue;
		const char *sp = strchr(key, ' ');
		unsigned char h[32];
		if (sp && mt_hex_decode(h, sizeof h, sp + 1, NULL) == 0)
			mt_kernel_topic_release(n->kernel, key, (size_t)(sp - key), h, sizeof h);
		json_object_del(n->topics, key);
	}
	pthread_mutex_unlock(&n->topic_lock);
}

static void ep_search(mt_node *n, reply *r, struct MHD_Connection *c, const req *rq,
		      node_view *v)
{
	const char *scope, *text = arg(c, "q"), *topic = arg(c, "topic");
	long long limit;
	if (scope_arg(r, c, &scope) || int_arg(r, c, "limit", 1, 1000, 20, &limit))
		return;
	if (!text || !*text) {
		reply_error(r, 400, "missing query parameter q");
		return;
	}
	if (topic && *topic && rq->who.peer && topic_admit(n, rq, topic, r) != 0)
		return;
	mt_trust_query tq = {n->self, scope, (int64_t)time(NULL), v->max_depth, v->decay,
			     v->n_decay};
	mt_search_query sq = {text, topic && *topic ? topic : NULL, &tq, (size_t)limit};
	mt_search_result *res = NULL;
	mt_error err = {0};
	mt_store *s = store_get(n);
	int rc = mt_search_run(&res, s, v->engine, NULL, &sq, &err);
	json_t *arr = json_array();
	for (size_t i = 0; !rc && i < res->count; i++) {
		const mt_search_hit *h = &res->hits[i];
		/* Peers re-verify: each result carries the signed statement. */
		unsigned char id[32];
		char *canon = NULL;
		size_t clen = 0;
		json_t *stmt = NULL;
		if (mt_hex_decode(id, 32, h->id, NULL) == 0 &&
		    mt_store_get(s, id, &canon, &clen, NULL) == 0)
			stmt = json_stringn(canon, clen);
		free(canon);
		json_t *topics = json_loads(h->topics_json, 0, NULL);
		json_array_append_new(
			arr, json_pack("{s:s,s:s,s:s,s:o,s:i,s:s,s:f,s:f,s:f,s:f,s:I,s:o}", "id", h->id,
				       "author", h->author, "title", h->title, "topics",
				       topics ? topics : json_array(), "hops", h->hops, "level",
				       h->level, "trust", h->trust, "relevance", h->relevance,
				       "freshness", h->freshness, "rank", h->rank, "ts",
				       (json_int_t)h->ts, "statement", stmt ? stmt : json_null()));
	}
	store_put(n, s);
	mt_search_result_free(res);
	if (rc) {
		json_decref(arr);
		reply_error(r, err.code == MT_EINVAL ? 400 : 500, "%s", err.msg);
		return;
	}
	reply_json(r, 200, json_pack("{s:s,s:s,s:s,s:o}", "digest", v->digest, "viewpoint",
				     n->self, "scope", scope, "results", arr));
}
#endif

/* GET /v1/graph?scope=&depth=&from=: the trust graph around a viewpoint, for
 * the dashboard: the viewpoint and everyone it trusts to `depth`, with the
 * scope's trust edges among them and each node's inbound trust. */
#define GRAPH_MAX_NODES 20000
static void graph_compute(mt_node *n, reply *r, struct MHD_Connection *c, node_view *v);

static void ep_graph(mt_node *n, reply *r, struct MHD_Connection *c, req *rq, node_view *v)
{
	int slot;
	if (expensive_begin(n, rq, v, r, &slot))
		return;
	graph_compute(n, r, c, v);
	expensive_end(n, rq, v, r, slot);
}

static void graph_compute(mt_node *n, reply *r, struct MHD_Connection *c, node_view *v)
{
	const char *scope;
	char from[MT_NODE_ID_MAX];
	if (scope_arg(r, c, &scope))
		return;
	int rc = id_arg(r, c, "from", from, 0);
	if (rc < 0)
		return;
	if (rc == 1)
		snprintf(from, sizeof from, "%s", n->self);
	long long depth;
	if (int_arg(r, c, "depth", 1, 8, v->max_depth, &depth))
		return;
	int64_t now = (int64_t)time(NULL);
	mt_trust_query q = {from, scope, now, (int)depth, v->decay, v->n_decay};
	mt_trust_result *tr = NULL;
	mt_error err = {0};
	if (mt_engine_trust(&tr, v->engine, &q, NULL, &err) != 0) {
		reply_error(r, 500, "%s", err.msg);
		return;
	}
	json_t *index = json_object(); /* node id -> position in nodes */
	json_t *nodes = json_array(), *edges = json_array();
	json_t *inbound = json_object();
	for (size_t i = 0; i < v->n_edges; i++) {
		const mt_edge_in *e = &v->edges[i];
		if (strcmp(e->scope, scope) || e->level == MT_LEVEL_NONE || (e->exp && e->exp <= now))
			continue;
		json_t *x = json_object_get(inbound, e->dst);
		double sum = (x ? json_real_value(x) : 0.0) + e->score / 1000.0;
		json_object_set_new(inbound, e->dst, json_real(sum));
	}
	size_t limit = tr->count < GRAPH_MAX_NODES ? tr->count : GRAPH_MAX_NODES;
	json_t *self_in = json_object_get(inbound, from);
	json_array_append_new(nodes, json_pack("{s:s,s:s,s:i,s:f,s:f}", "node_id", from, "level",
					       "self", "hops", 0, "score", 1.0, "inbound_trust",
					       self_in ? json_real_value(self_in) : 0.0));
	json_object_set_new(index, from, json_integer(0));
	for (size_t i = 0; i < limit; i++) {
		const mt_trust_entry *t = &tr->entries[i];
		json_t *in = json_object_get(inbound, t->id);
		json_array_append_new(nodes, json_pack("{s:s,s:s,s:i,s:f,s:s,s:f}", "node_id", t->id,
						       "level", mt_level_name(t->level), "hops",
						       t->hops, "score", t->score, "via", t->via_id,
						       "inbound_trust",
						       in ? json_real_value(in) : 0.0));
		json_object_set_new(index, t->id, json_integer((json_int_t)i + 1));
	}
	for (size_t i = 0; i < v->n_edges; i++) {
		const mt_edge_in *e = &v->edges[i];
		if (strcmp(e->scope, scope) || e->level == MT_LEVEL_NONE || (e->exp && e->exp <= now))
			continue;
		if (!json_object_get(index, e->src) || !json_object_get(index, e->dst))
			continue;
		json_array_append_new(edges, json_pack("{s:s,s:s,s:s,s:f}", "from", e->src, "to",
						       e->dst, "level", mt_level_name(e->level),
						       "score", e->score / 1000.0));
	}
	json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:I,s:b,s:o,s:o}", "digest", v->digest,
			      "viewpoint", from, "scope", scope, "depth", (int)depth, "trusted",
			      (json_int_t)tr->count, "truncated", tr->count > limit, "nodes", nodes,
			      "edges", edges);
	mt_trust_result_free(tr);
	json_decref(index);
	json_decref(inbound);
	reply_json(r, 200, o);
}

/* GET /v1/peers (local clients): peers, their level, last sync, lag. */
static void ep_peers(mt_node *n, reply *r, node_view *v)
{
	mt_store *s = store_get(n);
	sqlite3_stmt *q = NULL;
	json_t *arr = json_array();
	if (sqlite3_prepare_v2(mt_store_db(s),
			       "SELECT node_id, url, lag, last_sync, last_error FROM node_peers "
			       "ORDER BY url",
			       -1, &q, NULL) == SQLITE_OK)
		while (sqlite3_step(q) == SQLITE_ROW) {
			const char *id = (const char *)sqlite3_column_text(q, 0);
			json_t *lv = json_object_get(v->horizon, id ? id : "");
			const char *err = (const char *)sqlite3_column_text(q, 4);
			json_array_append_new(
				arr, json_pack("{s:s,s:s,s:s,s:I,s:I,s:s}", "node_id", id ? id : "",
					       "url", (const char *)sqlite3_column_text(q, 1), "level",
					       mt_level_name(lv ? (mt_level)json_integer_value(lv)
								: MT_LEVEL_NONE),
					       "lag", (json_int_t)sqlite3_column_int64(q, 2), "last_sync",
					       (json_int_t)sqlite3_column_int64(q, 3), "last_error",
					       err ? err : ""));
		}
	sqlite3_finalize(q);
	store_put(n, s);
	reply_json(r, 200,
		   json_pack("{s:o,s:I,s:I}", "peers", arr, "kernel_rate_limited",
			     (json_int_t)__atomic_load_n(&n->k_rate_limited, __ATOMIC_RELAXED),
			     "kernel_denied",
			     (json_int_t)__atomic_load_n(&n->k_denied, __ATOMIC_RELAXED)));
}

/* GET /v1/log?limit= (local clients): recent statements, refusals by reason,
 * forks. */
static void ep_log(mt_node *n, reply *r, struct MHD_Connection *c)
{
	long long limit;
	if (int_arg(r, c, "limit", 1, 1000, 50, &limit))
		return;
	mt_store *s = store_get(n);
	sqlite3 *db = mt_store_db(s);
	sqlite3_stmt *q = NULL;
	json_t *stmts = json_array(), *forks = json_array();
	if (sqlite3_prepare_v2(db,
			       "SELECT lower(hex(id)), iss, seq, type, ts FROM statements "
			       "ORDER BY rowid DESC LIMIT ?",
			       -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, limit);
		while (sqlite3_step(q) == SQLITE_ROW)
			json_array_append_new(
				stmts, json_pack("{s:s,s:s,s:I,s:s,s:I}", "id",
						 (const char *)sqlite3_column_text(q, 0), "iss",
						 (const char *)sqlite3_column_text(q, 1), "seq",
						 (json_int_t)sqlite3_column_int64(q, 2), "type",
						 (const char *)sqlite3_column_text(q, 3), "ts",
						 (json_int_t)sqlite3_column_int64(q, 4)));
	}
	sqlite3_finalize(q);
	q = NULL;
	if (sqlite3_prepare_v2(db,
			       "SELECT iss, seq, lower(hex(id_a)), lower(hex(id_b)) FROM forks "
			       "ORDER BY iss, seq LIMIT 1000",
			       -1, &q, NULL) == SQLITE_OK)
		while (sqlite3_step(q) == SQLITE_ROW)
			json_array_append_new(
				forks, json_pack("{s:s,s:I,s:s,s:s}", "iss",
						 (const char *)sqlite3_column_text(q, 0), "seq",
						 (json_int_t)sqlite3_column_int64(q, 1), "a",
						 (const char *)sqlite3_column_text(q, 2), "b",
						 (const char *)sqlite3_column_text(q, 3)));
	sqlite3_finalize(q);
	store_put(n, s);
	static const char *const reasons[ST__COUNT] = {"accepted", "duplicate", "invalid",
						       "outside trust horizon", "over quota"};
	json_t *refused = json_array();
	for (int i = ST_REF_INVALID; i < ST__COUNT; i++)
		json_array_append_new(
			refused, json_pack("{s:s,s:I}", "reason", reasons[i], "count",
					   (json_int_t)__atomic_load_n(&n->stmts[i], __ATOMIC_RELAXED)));
	reply_json(r, 200,
		   json_pack("{s:o,s:o,s:o}", "statements", stmts, "refused", refused, "forks", forks));
}

/* ---- routing, authentication, enforcement ------------------------------------- */

typedef enum need { NEED_NONE, NEED_AUTH, NEED_LIMITED, NEED_FULL, NEED_LOCAL } need;
/* Which scope decides a peer's rights and rate tier (SPEC §9.4): the scope of
 * the data served. A query parameter never widens a right. */
typedef enum rights_scope { RS_NONE, RS_GLOBAL, RS_QUERY } rights_scope;

/* The one table of the node's endpoints: path (exact, or a prefix for
 * /v1/feeds/<iss>), methods, who may call, the scope that decides, and
 * whether the answer is expensive to compute (bounded per peer and in all). */
typedef struct route {
	const char *path;
	int prefix;
	int ep;
	const char *allow; /* the methods, as sent in Allow */
	need nd;
	rights_scope rs;
	int expensive;
} route;

static const route ROUTES[] = {
	{"/v1/id", 0, EP_ID, "GET, HEAD", NEED_NONE, RS_NONE, 0},
	{"/v1/feeds", 0, EP_FEEDS, "GET, HEAD", NEED_FULL, RS_GLOBAL, 0},
	{"/v1/feeds/", 1, EP_FEED, "GET, HEAD", NEED_FULL, RS_GLOBAL, 0},
	{"/v1/statements", 0, EP_STATEMENTS, "POST", NEED_FULL, RS_GLOBAL, 0},
	{"/v1/search", 0, EP_SEARCH, "GET, HEAD", NEED_LIMITED, RS_GLOBAL, 0},
	{"/v1/trust", 0, EP_TRUST, "GET, HEAD", NEED_LIMITED, RS_QUERY, 0},
	{"/v1/trust/path", 0, EP_PATH, "GET, HEAD", NEED_LIMITED, RS_QUERY, 0},
	{"/v1/metrics", 0, EP_METRICS, "GET, HEAD", NEED_LIMITED, RS_QUERY, 1},
	{"/v1/graph", 0, EP_GRAPH, "GET, HEAD", NEED_LIMITED, RS_QUERY, 1},
	{"/metrics", 0, EP_PROM, "GET, HEAD", NEED_LIMITED, RS_GLOBAL, 0},
	{"/v1/peers", 0, EP_PEERS, "GET, HEAD", NEED_LOCAL, RS_NONE, 0},
	{"/v1/log", 0, EP_LOG, "GET, HEAD", NEED_LOCAL, RS_NONE, 0},
};
#define N_ROUTES (sizeof ROUTES / sizeof *ROUTES)

/* The route of `url` (index in ROUTES), or -1: EP_OTHER under /v1, else the
 * static files. */
static int route_of(const char *url)
{
	for (size_t i = 0; i < N_ROUTES; i++) {
		const route *rt = &ROUTES[i];
		if (rt->prefix ? strncmp(url, rt->path, strlen(rt->path)) == 0
			       : strcmp(url, rt->path) == 0)
			return (int)i;
	}
	return -1;
}

static int method_allowed(const char *allow, const char *method)
{
	size_t k = strlen(method);
	for (const char *p = allow; (p = strstr(p, method)) != NULL; p += k)
		if ((p == allow || p[-1] == ' ') && (p[k] == ',' || p[k] == '\0'))
			return 1;
	return 0;
}

static int is_v1(const char *url)
{
	return strncmp(url, "/v1/", 4) == 0 || strcmp(url, "/v1") == 0;
}

/* The scope that decides for `rt`: "global", or the query's scope when it is
 * valid (an invalid one is reported by the endpoint; rights are then judged
 * in global). */
static const char *route_scope(const route *rt, struct MHD_Connection *c)
{
	if (rt && rt->rs == RS_QUERY) {
		const char *s = arg(c, "scope");
		if (s && *s && mt_scope_check(s, "scope", NULL) == 0)
			return s;
	}
	return "global";
}

/* Header checks made before anything else: no NUL inside a header, at most
 * one Content-Length (and never with Transfer-Encoding). */
typedef struct hdr_scan {
	int bad;
	int n_cl, te;
	const char *cl;
	const char *what;
	size_t n, bytes; /* headers, and their bytes as "key:value\r\n" */
} hdr_scan;

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
				   size_t key_size, const char *value, size_t value_size)
{
	(void)kind;
	hdr_scan *hs = cls;
	if (!key || strlen(key) != key_size || (value && strlen(value) != value_size)) {
		hs->bad = 1;
		hs->what = "a NUL byte inside a header";
		return MHD_NO;
	}
	hs->n++;
	hs->bytes += key_size + 1 + value_size + 2;
	if (strcasecmp(key, "Content-Length") == 0) {
		if (hs->n_cl++ && (!hs->cl || !value || strcmp(hs->cl, value) != 0)) {
			hs->bad = 1;
			hs->what = "conflicting Content-Length headers";
			return MHD_NO;
		}
		if (hs->n_cl > 1) {
			hs->bad = 1;
			hs->what = "a repeated Content-Length header";
			return MHD_NO;
		}
		hs->cl = value;
	}
	if (strcasecmp(key, "Transfer-Encoding") == 0)
		hs->te = 1;
	if (hs->cl && hs->te) {
		hs->bad = 1;
		hs->what = "Content-Length together with Transfer-Encoding";
		return MHD_NO;
	}
	return MHD_YES;
}

/* The peer's standing under the route's scope: level, policy decision.
 * Community-only peers (SPEC §9.4: full in the scope of a community this
 * node is bound to) may sync that community's members' feeds. Fills who and
 * `d`. Returns 0 when the route's need is met, else fills `r`. */
static int peer_rights(mt_node *n, struct MHD_Connection *c, const route *rt, caller *who,
		       node_view *v, mt_policy_decision *d, reply *r)
{
	const char *scope = route_scope(rt, c);
	mt_error err = {0};
	node_scope_view *sv = node__view_scope(v, scope);
	if (!sv) {
		reply_error(r, 500, "trust view failed");
		return -1;
	}
	const mt_trust_entry *e = node__scope_entry(v, sv, who->id);
	who->level = e ? e->level : MT_LEVEL_NONE;
	who->scope = scope;
	who->community = NULL;
	if (rt->nd == NEED_FULL && who->level != MT_LEVEL_FULL &&
	    (rt->ep == EP_FEEDS || rt->ep == EP_FEED)) {
		const char *cs;
		json_t *members;
		json_object_foreach(v->communities, cs, members) {
			node_scope_view *csv = node__view_scope(v, cs);
			const mt_trust_entry *ce = csv ? node__scope_entry(v, csv, who->id) : NULL;
			if (ce && ce->level == MT_LEVEL_FULL) {
				sv = csv;
				e = ce;
				who->level = ce->level;
				who->scope = csv->scope;
				who->community = members;
				break;
			}
		}
	}
	mt_policy_input in = {.peer = who->id,
			      .scope = who->scope,
			      .score = e ? e->score : 0.0,
			      .has_path = e != NULL,
			      .is_bridge = json_object_get(v->bridges, who->id) != NULL,
			      .scope_gini = -1};
	if (n->policy->enforce_gini && e && !sv->unknown) {
		scope_metrics(n, v, sv, &err);
		in.scope_gini = sv->gini;
	}
	if (mt_policy_eval(d, n->policy, &in, &err) != 0) {
		reply_error(r, 500, "policy: %s", err.msg);
		return -1;
	}
	if (!d->constraints.allow) {
		__atomic_fetch_add(&n->k_denied, 1, __ATOMIC_RELAXED);
		reply_error(r, 403, "%s", d->constraints.reason);
		return -1;
	}
	if (rt->nd == NEED_FULL && who->level != MT_LEVEL_FULL) {
		__atomic_fetch_add(&n->k_denied, 1, __ATOMIC_RELAXED);
		reply_error(r, 403,
			    "%s requires full trust in scope global: %s is trusted %s there "
			    "(limited peers may search, not sync; a query's scope never widens a "
			    "right)",
			    rt->path, who->id, mt_level_name(who->level));
		return -1;
	}
	return 0;
}

/* The kernel's token bucket for one request. Returns 0 or fills `r`. */
static int kernel_rate(mt_node *n, const caller *who, const mt_policy_decision *d, reply *r)
{
	mt_kernel_decision kd;
	int verdict = mt_kernel_check_request(n->kernel, who->id, strlen(who->id), &d->constraints,
					      &kd);
	if (verdict == MT_K_RATE_LIMITED) {
		__atomic_fetch_add(&n->k_rate_limited, 1, __ATOMIC_RELAXED);
		reply_error(r, 429, "rate limited: %s", d->constraints.reason);
		r->retry_after = kd.retry_after;
		return -1;
	}
	if (verdict != MT_K_ALLOW) {
		__atomic_fetch_add(&n->k_denied, 1, __ATOMIC_RELAXED);
		reply_error(r, 403, "%s", kd.reason[0] ? kd.reason : d->constraints.reason);
		return -1;
	}
	return 0;
}

/* The request's client address as text, and whether it is 127.0.0.1. */
static int client_addr(struct MHD_Connection *c, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(out, size, "?");
	if (!ci || !ci->client_addr || ci->client_addr->sa_family != AF_INET)
		return 0;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ci->client_addr;
	inet_ntop(AF_INET, &sin->sin_addr, out, (socklen_t)size);
	return ntohl(sin->sin_addr.s_addr) == INADDR_LOOPBACK;
}

/* Open one kernel connection for the peer (at most max_connections requests
 * in flight per peer and client address: the key includes the address, so a
 * forger claiming a peer's ID before its body is checked can hold only the
 * slots of its own address). */
static int peer_conn_open(mt_node *n, struct MHD_Connection *c, req *rq, reply *r)
{
	char addr[64], key[MT_NODE_ID_MAX + 80];
	client_addr(c, addr, sizeof addr);
	int klen = snprintf(key, sizeof key, "%s@%s", rq->who.id, addr);
	/* the actor: 32 bytes of BLAKE2b (never equal to a 52-character Node ID) */
	crypto_generichash(rq->conn_key, sizeof rq->conn_key, (const unsigned char *)key,
			   (size_t)klen, NULL, 0);
	mt_kernel_decision kd;
	int v = mt_kernel_conn_open(n->kernel, rq->conn_key, sizeof rq->conn_key, &rq->limits,
				    &kd);
	if (v == MT_K_ALLOW) {
		rq->conn_open = 1;
		return 0;
	}
	__atomic_fetch_add(&n->over_limit, 1, __ATOMIC_RELAXED);
	reply_error(r, 429, "connection limit: %s already has %u requests in flight (policy "
			    "max_connections)",
		    rq->who.id, rq->limits.max_connections);
	r->retry_after = 1;
	return -1;
}

/* Verify a parsed peer header over the request, refuse a ts older than this
 * node's start, then remember its nonce — only once the key is within the
 * trust horizon. Returns 0 or fills `r`. */
static int peer_verify(mt_node *n, const mt_node_auth *a, const char *method, const req *rq,
		       node_view *v, reply *r)
{
	mt_error err = {0};
	int64_t now = (int64_t)time(NULL);
	if (mt_node_auth_verify(a, n->self, method, rq->uri, rq->body, rq->len, now, &err) != 0) {
		reply_error(r, 401, "%s", err.msg);
		return -1;
	}
	if (!node__in_horizon(v, a->id)) {
		__atomic_fetch_add(&n->k_denied, 1, __ATOMIC_RELAXED);
		reply_error(r, 403, "untrusted: %s is not within this node's trust horizon", a->id);
		return -1;
	}
	int seen = node__nonce_check(n->nonces, a->id, a->nonce, a->ts, now);
	switch (seen) {
	case NODE_NONCE_FRESH: return 0;
	case NODE_NONCE_REPLAY:
		reply_error(r, 401, "replayed request: nonce %s was already used by %s", a->nonce,
			    a->id);
		return -1;
	case NODE_NONCE_STALE:
		reply_error(r, 401, "request timestamp %lld predates what this node can check for "
				    "replays (signed before its start, or evicted): sign a new request",
			    (long long)a->ts);
		return -1;
	case NODE_NONCE_PEER_FULL:
		reply_error(r, 429, "too many requests from %s within %d s (nonce cap)", a->id,
			    NONCE_TTL);
		r->retry_after = 1;
		return -1;
	default: reply_error(r, 503, "nonce cache: out of memory"); return -1;
	}
}

/* Everything decided from the headers, before any body is read: header
 * sanity, route and method, authentication (for a request with a body, the
 * claimed peer must already be within the horizon and have the route's right;
 * its signature is checked once the body is in), the kernel, the body size
 * and the node's body budget. Returns 0 to go on, else fills `r`. */
static int headers_phase(mt_node *n, struct MHD_Connection *c, const char *url,
			 const char *method, const char *http_version, req *rq, reply *r)
{
	hdr_scan hs = {0};
	MHD_get_connection_values_n(c, MHD_HEADER_KIND, scan_header, &hs);
	/* libmicrohttpd (0.9.75) cuts a header value at a NUL byte and drops the
	 * rest without a word. What it read of the header block is known, so a
	 * block longer than the headers it kept (plus one optional space after
	 * each colon) held bytes it dropped: refuse it. */
	const union MHD_ConnectionInfo *hi =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
	if (!hs.bad && hi) {
		size_t kept = strlen(method) + 1 + strlen(rq->uri) + 1 + strlen(http_version) + 2 +
			      hs.bytes + 2;
		if (hi->header_size > kept + hs.n) {
			hs.bad = 1;
			hs.what = "bytes the server would drop (a NUL byte inside a header, or "
				  "unusual whitespace)";
		}
	}
	if (hs.bad) {
		reply_error(r, 400, "malformed request: %s", hs.what);
		return -1;
	}
	uint64_t clen = 0;
	if (hs.cl) {
		char *end = NULL;
		errno = 0;
		unsigned long long x = strtoull(hs.cl, &end, 10);
		if (!*hs.cl || *end || errno || hs.cl[0] == '-' || hs.cl[0] == '+') {
			reply_error(r, 400, "malformed request: bad Content-Length");
			return -1;
		}
		clen = x;
	}
	if (clen > MT_NODE_MAX_BODY) {
		reply_error(r, 413, "request body over %u bytes", MT_NODE_MAX_BODY);
		return -1;
	}
	rq->has_body = clen > 0 || hs.te;
	int bad = !utf8_valid(url) || !utf8_valid(rq->uri);
	if (!bad)
		MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, check_arg, &bad);
	if (bad) {
		reply_error(r, 400, "invalid UTF-8 in the request path or query");
		return -1;
	}
	rq->route = route_of(url);
	const route *rt = rq->route >= 0 ? &ROUTES[rq->route] : NULL;
	rq->ep = rt ? rt->ep : is_v1(url) ? EP_OTHER : EP_STATIC;
	/* authentication from the header alone */
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	memset(&rq->who, 0, sizeof rq->who);
	if (h && strncmp(h, "Bearer ", 7) == 0) {
		const char *t = h + 7;
		if (strlen(t) != 64 || sodium_memcmp(t, n->token, 64) != 0) {
			__atomic_fetch_add(&n->auth_failed, 1, __ATOMIC_RELAXED);
			reply_error(r, 401, "invalid bearer token");
			return -1;
		}
		rq->who.local = 1;
	} else if (h) {
		mt_error err = {0};
		if (mt_node_auth_parse(&rq->auth, h, &err) != 0) {
			__atomic_fetch_add(&n->auth_failed, 1, __ATOMIC_RELAXED);
			reply_error(r, 401, "%s", err.msg);
			return -1;
		}
		int64_t now = (int64_t)time(NULL);
		if (rq->auth.ts > now + MT_NODE_AUTH_WINDOW || rq->auth.ts < now - MT_NODE_AUTH_WINDOW) {
			__atomic_fetch_add(&n->auth_failed, 1, __ATOMIC_RELAXED);
			reply_error(r, 401, "request timestamp %lld is more than %d s off",
				    (long long)rq->auth.ts, MT_NODE_AUTH_WINDOW);
			return -1;
		}
		rq->who.peer = 1;
		snprintf(rq->who.id, sizeof rq->who.id, "%s", rq->auth.id);
	}
	if (rt && !method_allowed(rt->allow, method)) {
		reply_error(r, 405, "method %s not allowed on %.200s", method, url);
		r->allow = rt->allow;
		return -1;
	}
	if (!rt && !is_v1(url) && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		reply_error(r, 405, "method %s not allowed on %.200s", method, url);
		r->allow = "GET, HEAD";
		return -1;
	}
	need nd = rt ? rt->nd : is_v1(url) ? NEED_AUTH : NEED_NONE;
	if (nd == NEED_NONE)
		rq->who.peer = 0; /* /v1/id and the static files answer anyone alike */
	if (nd != NEED_NONE && !rq->who.local && !rq->who.peer) {
		reply_error(r, 401, "authentication required: send the local bearer token or a "
				    "signed peer request");
		return -1;
	}
	if (nd == NEED_LOCAL && !rq->who.local) {
		reply_error(r, 403, "%s is for local clients (bearer token) only", rt->path);
		return -1;
	}
	if (rq->ep == EP_PROM && rq->who.peer && !n->opts.metrics_public) {
		reply_error(r, 403, "/metrics is for local clients only (node.metricsPublic is off)");
		return -1;
	}
	if (rq->who.peer) {
		rq->view = view_acquire(n);
		if (!rq->view) {
			reply_error(r, 503, "node is starting");
			return -1;
		}
		if (!node__in_horizon(rq->view, rq->who.id)) {
			__atomic_fetch_add(&n->k_denied, 1, __ATOMIC_RELAXED);
			reply_error(r, 403, "untrusted: %s is not within this node's trust horizon",
				    rq->who.id);
			return -1;
		}
		mt_policy_decision d;
		if (rt) {
			if (peer_rights(n, c, rt, &rq->who, rq->view, &d, r) != 0)
				return -1;
			rq->limits = d.constraints;
		}
		if (!rq->has_body) {
			if (peer_verify(n, &rq->auth, method, rq, rq->view, r) != 0) {
				__atomic_fetch_add(&n->auth_failed, 1, __ATOMIC_RELAXED);
				return -1;
			}
			if (rt && kernel_rate(n, &rq->who, &d, r) != 0)
				return -1;
		}
		if (rt && peer_conn_open(n, c, rq, r) != 0)
			return -1;
	}
	if (rq->has_body) {
		uint64_t want = clen ? clen : 65536;
		uint64_t now_held = __atomic_add_fetch(&n->body_bytes, want, __ATOMIC_RELAXED);
		rq->reserved = (size_t)want;
		if (now_held > BODY_BYTES_CAP) {
			reply_error(r, 503, "busy: over %u MiB of request bodies in flight; retry "
					    "later",
				    BODY_BYTES_CAP >> 20);
			r->retry_after = 1;
			return -1;
		}
	}
	return 0;
}

/* After the body: a peer's signature over it, the nonce, the token bucket. */
static int body_phase(mt_node *n, struct MHD_Connection *c, const char *method, req *rq, reply *r)
{
	if (rq->too_big) {
		reply_error(r, 413, "request body over %u bytes", MT_NODE_MAX_BODY);
		return -1;
	}
	if (!rq->has_body || !rq->who.peer)
		return 0;
	if (peer_verify(n, &rq->auth, method, rq, rq->view, r) != 0) {
		__atomic_fetch_add(&n->auth_failed, 1, __ATOMIC_RELAXED);
		return -1;
	}
	const route *rt = rq->route >= 0 ? &ROUTES[rq->route] : NULL;
	if (rt) {
		mt_policy_decision d;
		if (peer_rights(n, c, rt, &rq->who, rq->view, &d, r) != 0 ||
		    kernel_rate(n, &rq->who, &d, r) != 0)
			return -1;
	}
	return 0;
}

static void dispatch(mt_node *n, struct MHD_Connection *c, const char *url, req *rq, reply *r)
{
	int ep = rq->ep;
	if (ep == EP_ID) {
		ep_id(n, r);
		return;
	}
	if (ep == EP_STATIC) {
		ep_static(n, r, url);
		return;
	}
	if (ep == EP_OTHER) {
		reply_error(r, 404, "no such endpoint: %.200s", url);
		return;
	}
	node_view *v = rq->view ? rq->view : (rq->view = view_acquire(n));
	if (!v) {
		reply_error(r, 503, "node is starting");
		return;
	}
	const caller *who = &rq->who;
	switch (ep) {
	case EP_TRUST: ep_trust(n, r, c, v); break;
	case EP_PATH: ep_path(n, r, c, v); break;
	case EP_METRICS: ep_metrics(n, r, c, rq, v); break;
	case EP_PROM: ep_prometheus(n, r, who, v); break;
	case EP_FEEDS: ep_feeds(n, r, who, v); break;
	case EP_FEED: ep_feed(n, r, c, who, v, url + strlen("/v1/feeds/")); break;
	case EP_STATEMENTS: ep_post(n, r, who, v, rq); break;
	case EP_SEARCH:
#ifdef NODE_HAVE_SEARCH
		ep_search(n, r, c, rq, v);
#else
		reply_error(r, 501, "search is not available in this build");
#endif
		break;
	case EP_GRAPH: ep_graph(n, r, c, rq, v); break;
	case EP_PEERS: ep_peers(n, r, v); break;
	case EP_LOG: ep_log(n, r, c); break;
	default: reply_error(r, 404, "no such endpoint"); break;
	}
}

/* ---- connections: accept policy, absolute header deadline ---------------------- */

typedef struct conn_track {
	struct conn_track *prev, *next;
	int fd;
	int local;         /* from 127.0.0.1 */
	uint32_t addr;     /* IPv4, host order */
	struct timespec since; /* start of the current request's headers */
	int in_request;    /* headers complete: the request deadline applies */
	int cut;           /* shut down by the watchdog */
} conn_track;

static double mono_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static double ts_seconds(const struct timespec *t)
{
	return (double)t->tv_sec + t->tv_nsec / 1e9;
}

/* Connections from 127.0.0.1 are this machine's clients (CLI, dashboard,
 * scripts): never capped per address, and only they may take the last
 * CONN_RESERVED_LOCAL slots. Every other address holds at most
 * per_ip_limit connections. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	mt_node *n = cls;
	if (!addr || addrlen < (socklen_t)sizeof(struct sockaddr_in) || addr->sa_family != AF_INET)
		return MHD_NO;
	uint32_t ip = ntohl(((const struct sockaddr_in *)addr)->sin_addr.s_addr);
	if (ip == INADDR_LOOPBACK)
		return MHD_YES;
	unsigned per_ip = n->opts.per_ip_limit ? n->opts.per_ip_limit : 64;
	enum MHD_Result ok = MHD_YES;
	pthread_mutex_lock(&n->conn_lock);
	if (n->n_remote >= CONN_LIMIT - CONN_RESERVED_LOCAL) {
		ok = MHD_NO;
	} else {
		unsigned same = 0;
		for (conn_track *t = n->conns; t && same < per_ip; t = t->next)
			same += !t->local && t->addr == ip;
		if (same >= per_ip)
			ok = MHD_NO;
	}
	pthread_mutex_unlock(&n->conn_lock);
	if (!ok)
		__atomic_fetch_add(&n->conn_refused, 1, __ATOMIC_RELAXED);
	return ok;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	mt_node *n = cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		conn_track *t = calloc(1, sizeof *t);
		if (!t)
			return;
		const union MHD_ConnectionInfo *fi =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *ai =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		t->fd = fi ? fi->connect_fd : -1;
		if (ai && ai->client_addr && ai->client_addr->sa_family == AF_INET)
			t->addr = ntohl(((const struct sockaddr_in *)ai->client_addr)->sin_addr.s_addr);
		t->local = t->addr == INADDR_LOOPBACK;
		clock_gettime(CLOCK_MONOTONIC, &t->since);
		pthread_mutex_lock(&n->conn_lock);
		t->next = n->conns;
		if (n->conns)
			n->conns->prev = t;
		n->conns = t;
		n->n_conns++;
		n->n_remote += !t->local;
		pthread_mutex_unlock(&n->conn_lock);
		*socket_context = t;
		return;
	}
	conn_track *t = *socket_context;
	if (!t)
		return;
	/* The socket is still open here (libmicrohttpd closes it after this
	 * notification), and the watchdog only touches fds under conn_lock. */
	pthread_mutex_lock(&n->conn_lock);
	if (t->prev)
		t->prev->next = t->next;
	else
		n->conns = t->next;
	if (t->next)
		t->next->prev = t->prev;
	n->n_conns--;
	n->n_remote -= !t->local;
	pthread_mutex_unlock(&n->conn_lock);
	free(t);
	*socket_context = NULL;
}

static conn_track *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

static void conn_mark(mt_node *n, struct MHD_Connection *c, int in_request)
{
	conn_track *t = conn_of(c);
	if (!t)
		return;
	pthread_mutex_lock(&n->conn_lock);
	t->in_request = in_request;
	clock_gettime(CLOCK_MONOTONIC, &t->since);
	pthread_mutex_unlock(&n->conn_lock);
}

/* Shut down connections whose headers took longer than the header deadline
 * (an absolute one: trickling bytes does not extend it) or whose request
 * body took longer than REQUEST_DEADLINE. Called by the maintenance thread. */
static void conn_watchdog(mt_node *n)
{
	double now = mono_now();
	unsigned header_limit = n->opts.header_timeout ? n->opts.header_timeout : 10;
	pthread_mutex_lock(&n->conn_lock);
	for (conn_track *t = n->conns; t; t = t->next) {
		double age = now - ts_seconds(&t->since);
		if (t->cut || t->fd < 0)
			continue;
		if ((!t->in_request && age > header_limit) || (t->in_request && age > REQUEST_DEADLINE)) {
			shutdown(t->fd, SHUT_RDWR);
			t->cut = 1;
			__atomic_fetch_add(&n->header_timeouts, 1, __ATOMIC_RELAXED);
		}
	}
	pthread_mutex_unlock(&n->conn_lock);
}

/* ---- libmicrohttpd callbacks ----------------------------------------------------- */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	(void)cls;
	(void)c;
	req *rq = calloc(1, sizeof *rq);
	if (rq) {
		rq->uri = strdup(uri ? uri : "/");
		rq->route = -1;
		rq->ep = EP_OTHER;
	}
	return rq;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)toe;
	mt_node *n = cls;
	req *rq = *con_cls;
	if (rq) {
		if (rq->conn_open)
			mt_kernel_conn_close(n->kernel, rq->conn_key, sizeof rq->conn_key);
		if (rq->reserved)
			__atomic_fetch_sub(&n->body_bytes, rq->reserved, __ATOMIC_RELAXED);
		view_release(n, rq->view);
		free(rq->uri);
		free(rq->body);
		free(rq);
	}
	*con_cls = NULL;
	conn_mark(n, c, 0); /* keep-alive: the next request's header deadline starts now */
}

/* Security headers on every reply (SPEC §9.4). */
static void security_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'self'; script-src 'self'; style-src 'self' "
				"'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
				"object-src 'none'; base-uri 'none'; form-action 'none'; "
				"frame-ancestors 'none'");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
}

static enum MHD_Result queue(mt_node *n, struct MHD_Connection *c, reply *r, int ep,
			     const char *method, const char *url)
{
	if (!r->body) {
		r->status = 500;
		r->body = strdup("{\"error\":\"out of memory\"}\n");
		r->len = r->body ? strlen(r->body) : 0;
		r->ctype = "application/json";
	}
	struct MHD_Response *resp = MHD_create_response_from_buffer(r->len, r->body,
								    MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(r->body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", r->ctype ? r->ctype : "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	security_headers(resp);
	if (r->allow)
		MHD_add_response_header(resp, "Allow", r->allow);
	if (r->status == 429 || (r->status == 503 && r->retry_after > 0)) {
		char ra[32];
		double s = ceil(r->retry_after);
		snprintf(ra, sizeof ra, "%.0f", s < 1 ? 1 : s);
		MHD_add_response_header(resp, "Retry-After", ra);
	}
	enum MHD_Result ok = MHD_queue_response(c, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	count_request(n, ep, r->status);
	char m[40], path[420];
	node__esc(m, sizeof m, method);
	node__esc(path, sizeof path, url);
	node__log(n->opts.log_level, r->status >= 500 ? MT_NODE_LOG_WARN : MT_NODE_LOG_DEBUG,
		  "msg=request method=\"%s\" path=\"%.400s\" status=%d", m, path, r->status);
	return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	(void)version;
	mt_node *n = cls;
	req *rq = *con_cls;
	if (!rq)
		return MHD_NO;
	if (!rq->seen) {
		rq->seen = 1;
		conn_mark(n, c, 1);
		reply r = {0};
		if (headers_phase(n, c, url, method, version, rq, &r) != 0)
			/* Answering before the body closes the connection: nothing of
			 * a refused body is read. */
			return queue(n, c, &r, rq->ep, method, url);
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t k = *upload_data_size;
		*upload_data_size = 0;
		if (rq->too_big || rq->len + k > MT_NODE_MAX_BODY) {
			rq->too_big = 1;
			free(rq->body);
			rq->body = NULL;
			rq->len = rq->cap = 0;
			return MHD_YES;
		}
		if (rq->len + k + 1 > rq->cap) {
			size_t cap = rq->cap ? rq->cap : 4096;
			while (cap < rq->len + k + 1)
				cap *= 2;
			if (cap > rq->reserved) { /* chunked bodies: count what they grow to */
				uint64_t more = cap - rq->reserved;
				if (__atomic_add_fetch(&n->body_bytes, more, __ATOMIC_RELAXED) >
				    BODY_BYTES_CAP) {
					__atomic_fetch_sub(&n->body_bytes, more, __ATOMIC_RELAXED);
					return MHD_NO;
				}
				rq->reserved = cap;
			}
			char *t = realloc(rq->body, cap);
			if (!t)
				return MHD_NO;
			rq->body = t;
			rq->cap = cap;
		}
		memcpy(rq->body + rq->len, upload_data, k);
		rq->len += k;
		rq->body[rq->len] = '\0';
		return MHD_YES;
	}
	reply r = {0};
	if (body_phase(n, c, method, rq, &r) == 0)
		dispatch(n, c, url, rq, &r);
	return queue(n, c, &r, rq->ep, method, url);
}

/* ---- maintenance thread ----------------------------------------------------------- */

static int64_t data_version(mt_store *s)
{
	sqlite3_stmt *q = NULL;
	int64_t v = -1;
	if (sqlite3_prepare_v2(mt_store_db(s), "PRAGMA data_version", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

static void sync_peer_done(const char *url, const char *summary, void *payload)
{
	mt_node *n = payload;
	char u[600], sum[800];
	node__esc(u, sizeof u, url);
	node__esc(sum, sizeof sum, summary);
	node__log(n->opts.log_level, MT_NODE_LOG_INFO, "msg=sync peer=\"%s\" result=\"%s\"", u, sum);
}

static void *maintenance(void *arg)
{
	mt_node *n = arg;
	int64_t seen = data_version(n->maint_store);
	struct timespec last_sync;
	clock_gettime(CLOCK_MONOTONIC, &last_sync);
	pthread_mutex_lock(&n->maint_lock);
	while (!n->stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (!n->dirty)
			pthread_cond_timedwait(&n->maint_cond, &n->maint_lock, &until);
		if (n->stopping)
			break;
		n->dirty = 0;
		pthread_mutex_unlock(&n->maint_lock);
		int64_t dv = data_version(n->maint_store);
		if (dv != seen) {
			seen = dv;
			refresh_view(n, n->maint_store);
		}
		conn_watchdog(n);
		topics_expire(n, (int64_t)time(NULL));
		node__nonces_sweep(n->nonces, (int64_t)time(NULL));
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (n->opts.sync_interval > 0 && now.tv_sec - last_sync.tv_sec >= n->opts.sync_interval) {
			last_sync = now;
			mt_node_sync_opts so = {.max_depth = n->opts.max_depth,
						.decay = n->opts.decay,
						.n_decay = n->opts.n_decay,
						.max_per_issuer = n->opts.max_per_issuer,
						.max_per_peer = n->opts.max_per_peer,
						.threads = 0,
						.peer_done = sync_peer_done,
						.peer_payload = n};
			mt_node_sync_stats st;
			mt_error err = {0};
			if (mt_node_sync_once(n->maint_store, &n->kp, &so, (int64_t)time(NULL), &st,
					      &err) != 0) {
				__atomic_fetch_add(&n->sync_failures, 1, __ATOMIC_RELAXED);
				char e[600];
				node__esc(e, sizeof e, err.msg);
				node__log(n->opts.log_level, MT_NODE_LOG_WARN,
					  "msg=\"sync failed\" err=\"%s\"", e);
			}
			__atomic_fetch_add(&n->syncs, 1, __ATOMIC_RELAXED);
		}
		pthread_mutex_lock(&n->maint_lock);
	}
	pthread_mutex_unlock(&n->maint_lock);
	return NULL;
}

/* ---- start / stop -------------------------------------------------------------------- */

static int write_cookie(mt_node *n, mt_error *err)
{
	unsigned char rnd[32];
	randombytes_buf(rnd, sizeof rnd);
	mt_hex_encode(n->token, sizeof n->token, rnd, sizeof rnd);
	sodium_memzero(rnd, sizeof rnd);
	char path[4200], tmp[4300];
	snprintf(path, sizeof path, "%s/api.cookie", n->home);
	/* A fresh, unguessable name, created (never opened) without following a
	 * link: nothing planted in the home can receive the token. */
	int fd = -1;
	for (int tries = 0; fd < 0 && tries < 16; tries++) {
		unsigned char r8[8];
		char h[17];
		randombytes_buf(r8, sizeof r8);
		mt_hex_encode(h, sizeof h, r8, sizeof r8);
		snprintf(tmp, sizeof tmp, "%s/.api.cookie.%s", n->home, h);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0)
		return mt_error_set(err, MT_EIO, "%s: %s", tmp, strerror(errno));
	int ok = fchmod(fd, 0600) == 0 && write(fd, n->token, 64) == 64 && fsync(fd) == 0;
	close(fd);
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return mt_error_set(err, MT_EIO, "cannot write %s: %s", path, strerror(errno));
	}
	return 0;
}

/* The home must be a directory of this user that nobody else may write. */
static int home_check(const char *home, mt_error *err)
{
	struct stat sb;
	if (lstat(home, &sb) != 0)
		return mt_error_set(err, MT_EIO, "home %s: %s", home, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return mt_error_set(err, MT_EINVAL, "home %s is not a directory", home);
	if (sb.st_uid != geteuid())
		return mt_error_set(err, MT_EPERM, "home %s belongs to another user (uid %u)", home,
				    (unsigned)sb.st_uid);
	if (sb.st_mode & 022)
		return mt_error_set(err, MT_EPERM,
				    "home %s is writable by others (mode %03o): run chmod 700 %s", home,
				    (unsigned)(sb.st_mode & 0777), home);
	return 0;
}

int mt_node_start(mt_node **out, const mt_node_opts *opts, const mt_keypair *kp, mt_error *err)
{
	*out = NULL;
	if (!opts || !opts->home || !opts->db_path || !kp)
		return mt_error_set(err, MT_EINVAL, "node: home, db_path and key are required");
	if (mt_identity_init() != 0)
		return mt_error_set(err, MT_ECRYPTO, "libsodium failed to initialise");
	mt_node *n = calloc(1, sizeof *n);
	if (!n)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	int rc = 0;
	n->opts = *opts;
	if (n->opts.max_depth < 1 || n->opts.max_depth > 8)
		n->opts.max_depth = 2;
	if (!n->opts.n_decay) {
		static const double d[] = {1, 1, 0.5, 0.25, 0.125};
		memcpy(n->opts.decay, d, sizeof d);
		n->opts.n_decay = 5;
	}
	n->home = strdup(opts->home);
	n->db_path = strdup(opts->db_path);
	n->web_dir = opts->web_dir ? strdup(opts->web_dir) : NULL;
	n->listen_addr = strdup(opts->listen_addr ? opts->listen_addr : "127.0.0.1");
	n->opts.home = n->home;
	n->opts.db_path = n->db_path;
	n->opts.web_dir = n->web_dir;
	n->opts.listen_addr = n->listen_addr;
	n->kp = *kp;
	mt_node_id_encode(n->self, kp->pk);
	mt_did_encode(n->did, kp->pk);
	pthread_mutex_init(&n->pool_lock, NULL);
	pthread_cond_init(&n->pool_cond, NULL);
	pthread_mutex_init(&n->view_lock, NULL);
	pthread_mutex_init(&n->maint_lock, NULL);
	pthread_cond_init(&n->maint_cond, NULL);
	pthread_mutex_init(&n->conn_lock, NULL);
	pthread_mutex_init(&n->topic_lock, NULL);
	n->web_fd = -1;
	n->started = (int64_t)time(NULL);
	n->topics = json_object();
	if (!n->home || !n->db_path || !n->listen_addr || (opts->web_dir && !n->web_dir) ||
	    !n->topics) {
		rc = mt_error_set(err, MT_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = node__nonces_new(&n->nonces, NONCE_CAP, NONCE_CAP_PER_PEER, NONCE_TTL)) ||
	    /* a nonce used before this start cannot be checked: refuse every
	     * request signed in the second of the start or before it (a previous
	     * process may have served one in this very second); serving starts
	     * only in the next second (below) (SPEC §9.4) */
	    (rc = node__nonces_raise_floor(n->nonces, n->started))) {
		mt_error_set(err, rc, "nonce cache: cannot create it");
		goto fail;
	}
	if ((rc = home_check(n->home, err)))
		goto fail;
	if (n->web_dir) {
		n->web_fd = open(n->web_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (n->web_fd < 0) {
			rc = mt_error_set(err, MT_EIO, "--web %s: %s", n->web_dir, strerror(errno));
			goto fail;
		}
	}
	if (opts->policy) {
		n->policy = opts->policy;
	} else {
		if (mt_policy_default(&n->policy_owned) != 0) {
			rc = mt_error_set(err, MT_ENOMEM, "out of memory");
			goto fail;
		}
		n->policy = n->policy_owned;
	}
	if (mt_kernel_new(&n->kernel, NULL) != MT_K_ALLOW) {
		rc = mt_error_set(err, MT_ENOMEM, "kernel: out of memory");
		goto fail;
	}
	unsigned threads = opts->threads;
	if (!threads) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		threads = c > 0 ? (unsigned)c : 2;
	}
	n->n_stores = threads + 1;
	n->stores = calloc(n->n_stores, sizeof *n->stores);
	n->store_busy = calloc(n->n_stores, sizeof *n->store_busy);
	if (!n->stores || !n->store_busy) {
		rc = mt_error_set(err, MT_ENOMEM, "out of memory");
		goto fail;
	}
	for (unsigned i = 0; i < n->n_stores; i++)
		if ((rc = mt_store_open(&n->stores[i], n->db_path, err)))
			goto fail;
	if ((rc = mt_store_open(&n->maint_store, n->db_path, err)) ||
	    (rc = mt_node_tables(n->maint_store, err)))
		goto fail;
	if (refresh_view(n, n->maint_store) != 0) {
		rc = mt_error_set(err, MT_EIO, "cannot build the trust view of %s", n->db_path);
		goto fail;
	}
	if ((rc = write_cookie(n, err)))
		goto fail;
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)opts->port);
	if (inet_pton(AF_INET, n->listen_addr, &sa.sin_addr) != 1) {
		rc = mt_error_set(err, MT_EINVAL, "--listen: \"%s\" is not an IPv4 address",
				  n->listen_addr);
		goto fail;
	}
	while ((int64_t)time(NULL) <= n->started) {
		struct timespec nap = {0, 20 * 1000000L};
		nanosleep(&nap, NULL);
	}
	n->mhd = MHD_start_daemon(
		MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO, (uint16_t)opts->port, on_accept, n,
		on_request, n, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_URI_LOG_CALLBACK, on_uri, n,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, n, MHD_OPTION_NOTIFY_CONNECTION,
		on_connection, n, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)(opts->conn_timeout ? opts->conn_timeout : 10),
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)(64 * 1024), MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
		MHD_OPTION_END);
	if (!n->mhd) {
		rc = mt_error_set(err, MT_EIO, "cannot listen on %s:%d: %s", n->listen_addr,
				  opts->port, strerror(errno));
		goto fail;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(n->mhd, MHD_DAEMON_INFO_BIND_PORT);
	n->port = di ? di->port : opts->port;
	if (pthread_create(&n->maint, NULL, maintenance, n) != 0) {
		rc = mt_error_set(err, MT_ENOMEM, "cannot start the maintenance thread");
		goto fail;
	}
	n->maint_started = 1;
	node__log(n->opts.log_level, MT_NODE_LOG_INFO,
		  "msg=started node_id=%s listen=%s:%d threads=%u statements=%llu", n->self,
		  n->listen_addr, n->port, threads, (unsigned long long)n->view->count);
	*out = n;
	return 0;
fail:
	mt_node_free(n);
	return rc ? rc : MT_EIO;
}

int mt_node_port(const mt_node *node)
{
	return node->port;
}

const char *mt_node_token(const mt_node *node)
{
	return node->token;
}

void mt_node_free(mt_node *n)
{
	if (!n)
		return;
	if (n->mhd)
		MHD_stop_daemon(n->mhd);
	if (n->maint_started) {
		pthread_mutex_lock(&n->maint_lock);
		n->stopping = 1;
		pthread_cond_signal(&n->maint_cond);
		pthread_mutex_unlock(&n->maint_lock);
		pthread_join(n->maint, NULL);
	}
	node__log(n->opts.log_level, MT_NODE_LOG_INFO, "msg=stopped");
	for (unsigned i = 0; n->stores && i < n->n_stores; i++)
		mt_store_close(n->stores[i]);
	free(n->stores);
	free(n->store_busy);
	mt_store_close(n->maint_store);
	view_release(n, n->view);
	mt_kernel_free(n->kernel);
	mt_policy_free(n->policy_owned);
	node__nonces_free(n->nonces);
	if (n->web_fd >= 0)
		close(n->web_fd);
	if (n->topics) {
		const char *key;
		json_t *at;
		json_object_foreach(n->topics, key, at) {
			const char *sp = strchr(key, ' ');
			unsigned char h[32];
			if (sp && mt_hex_decode(h, sizeof h, sp + 1, NULL) == 0)
				mt_kernel_topic_release(n->kernel, key, (size_t)(sp - key), h,
							sizeof h);
		}
		json_decref(n->topics);
	}
	pthread_mutex_destroy(&n->conn_lock);
	pthread_mutex_destroy(&n->topic_lock);
	pthread_mutex_destroy(&n->pool_lock);
	pthread_cond_destroy(&n->pool_cond);
	pthread_mutex_destroy(&n->view_lock);
	pthread_mutex_destroy(&n->maint_lock);
	pthread_cond_destroy(&n->maint_cond);
	sodium_memzero(n->token, sizeof n->token);
	mt_keypair_wipe(&n->kp);
	free(n->home);
	free(n->db_path);
	free(n->web_dir);
	free(n->listen_addr);
	free(n);
}
