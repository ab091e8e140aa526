/* Routing and enforcement: the one table of the node's endpoints (path,
 * methods, who may call, whether local clients only, the scope that decides
 * a peer's rights, whether the answer is expensive, and the handler) and the
 * dispatch through it; then what a peer request must pass (SPEC §5, §9.4):
 * its rights under the route's scope (policy oracle), the kernel's token
 * bucket and connection slots, and the signature and nonce. The header and
 * body phases in http.c call these in order. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "meshtrust/gov.h"
#include "node_http.h"
#include "recon.h"

/* ---- the route table ------------------------------------------------------------- */

/* Paths under /v1 that no row names: 404 (after authentication). */
static void route_none(mt_node *n, struct MHD_Connection *c, const char *url, req *rq,
		       node_view *v, reply *r)
{
	(void)n;
	(void)c;
	(void)rq;
	(void)v;
	node__reply_error(r, 404, "no such endpoint: %.200s", url);
}

/* The one table of the node's endpoints, matched in order: the first row
 * whose path is equal to the request's (or, for a prefix row, starts it)
 * serves it. The last three rows take what the others leave: other paths
 * under /v1, then every other path (the static files). */
static const node_route ROUTES[] = {
	/* path, prefix, counter (EP_*), methods (Allow), who may call (need);
	 * local clients only?, rights scope, expensive, handler */
	/* clang-format off */
	{"/v1/id",         0, EP_ID,         "GET, HEAD", NEED_NONE,
	                   LOCAL_NO,            RS_NONE,      XP_NO,         node__ep_id},
	{"/v1/feeds",      0, EP_FEEDS,      "GET, HEAD", NEED_FULL,
	                   LOCAL_NO,            RS_COMMUNITY, XP_NO,         node__ep_feeds},
	{"/v1/feeds/reconcile", 0, EP_FEEDS, "POST",      NEED_FULL,
	                   LOCAL_NO,            RS_COMMUNITY, XP_NO,         node__ep_feeds_reconcile},
	{"/v1/feeds/",     1, EP_FEED,       "GET, HEAD", NEED_FULL,
	                   LOCAL_NO,            RS_COMMUNITY, XP_NO,         node__ep_feed},
	{"/v1/statements", 0, EP_STATEMENTS, "POST",      NEED_FULL,
	                   LOCAL_NO,            RS_GLOBAL,    XP_NO,         node__ep_post},
	{"/v1/search",     0, EP_SEARCH,     "GET, HEAD", NEED_LIMITED,
	                   LOCAL_NO,            RS_GLOBAL,    XP_NO,         node__ep_search},
	{"/v1/trust",      0, EP_TRUST,      "GET, HEAD", NEED_LIMITED,
	                   LOCAL_NO,            RS_QUERY,     XP_NO,         node__ep_trust},
	{"/v1/trust/path", 0, EP_PATH,       "GET, HEAD", NEED_LIMITED,
	                   LOCAL_NO,            RS_QUERY,     XP_NO,         node__ep_path},
	{"/v1/trust/explain", 0, EP_EXPLAIN, "GET, HEAD", NEED_LIMITED,
	                   LOCAL_NO,            RS_QUERY,     XP_ALWAYS,     node__ep_explain},
	{"/v1/trust/list", 0, EP_TRUST_LIST, "GET, HEAD", NEED_LIMITED,
	                   LOCAL_NO,            RS_QUERY,     XP_ALWAYS,     node__ep_trust_list},
	{"/v1/pot",        0, EP_POT,        "GET, HEAD", NEED_LIMITED,
	                   LOCAL_NO,            RS_GLOBAL,    XP_ALWAYS,     node__ep_pot},
	{"/v1/scopes",     0, EP_SCOPES,     "GET, HEAD", NEED_LIMITED,
	                   LOCAL_NO,            RS_GLOBAL,    XP_NO,         node__ep_scopes},
	{"/v1/communities", 0, EP_COMMUNITIES, "GET, HEAD", NEED_LIMITED,
	                   LOCAL_NO,            RS_GLOBAL,    XP_ALWAYS,     node__ep_communities},
	{"/v1/proposals",  0, EP_PROPOSALS,  "GET, HEAD", NEED_LIMITED,
	                   LOCAL_NO,            RS_GLOBAL,    XP_ALWAYS,     node__ep_proposals},
	{"/v1/metrics",    0, EP_METRICS,    "GET, HEAD", NEED_LIMITED,
	                   LOCAL_NO,            RS_QUERY,     XP_BY_HANDLER, node__ep_metrics},
	{"/v1/graph",      0, EP_GRAPH,      "GET, HEAD", NEED_LIMITED,
	                   LOCAL_NO,            RS_QUERY,     XP_ALWAYS,     node__ep_graph},
	{"/metrics",       0, EP_PROM,       "GET, HEAD", NEED_LIMITED,
	                   LOCAL_UNLESS_PUBLIC, RS_GLOBAL,    XP_NO,         node__ep_prometheus},
	{"/v1/peers",      0, EP_PEERS,      "GET, HEAD", NEED_AUTH,
	                   LOCAL_ONLY,          RS_NONE,      XP_NO,         node__ep_peers},
	{"/v1/log",        0, EP_LOG,        "GET, HEAD", NEED_AUTH,
	                   LOCAL_ONLY,          RS_NONE,      XP_NO,         node__ep_log},
	{"/v1/names",      0, EP_PETNAMES,      "GET, HEAD", NEED_AUTH,
	                   LOCAL_ONLY,          RS_NONE,      XP_NO,         node__ep_names},
	{"/v1/directory",  0, EP_DIRECTORY,  "GET, HEAD", NEED_PUBLIC,
	                   LOCAL_NO,            RS_NONE,      XP_NO,         node__ep_directory},
	{"/v1/directory/lessons", 0, EP_DIR_LESSONS, "GET, HEAD", NEED_PUBLIC,
	                   LOCAL_NO,            RS_NONE,      XP_NO,         node__ep_dir_lessons},
	{"/v1/directory/feed/", 1, EP_DIR_FEED, "GET, HEAD", NEED_PUBLIC,
	                   LOCAL_NO,            RS_NONE,      XP_NO,         node__ep_dir_feed},
	{"/v1",            0, EP_OTHER,      NULL,        NEED_AUTH,
	                   LOCAL_NO,            RS_NONE,      XP_NO,         route_none},
	{"/v1/",           1, EP_OTHER,      NULL,        NEED_AUTH,
	                   LOCAL_NO,            RS_NONE,      XP_NO,         route_none},
	{"",               1, EP_STATIC,     "GET, HEAD", NEED_NONE,
	                   LOCAL_NO,            RS_NONE,      XP_NO,         node__ep_static},
	/* clang-format on */
};
#define N_ROUTES (sizeof ROUTES / sizeof *ROUTES)

const node_route *node__route_of(const char *url)
{
	for (size_t i = 0; i < N_ROUTES; i++) {
		const node_route *rt = &ROUTES[i];
		if (rt->prefix ? strncmp(url, rt->path, strlen(rt->path)) == 0
			       : strcmp(url, rt->path) == 0)
			return rt;
	}
	return &ROUTES[N_ROUTES - 1]; /* not reached: the last row takes every path */
}

int node__method_allowed(const char *allow, const char *method)
{
	size_t k = strlen(method);
	if (!k)
		return 0;
	for (const char *p = allow; (p = strstr(p, method)) != NULL; p += k)
		if ((p == allow || p[-1] == ' ') && (p[k] == ',' || p[k] == '\0'))
			return 1;
	return 0;
}

void node__dispatch(mt_node *n, struct MHD_Connection *c, const char *url, req *rq, reply *r)
{
	const node_route *rt = rq->route;
	if (!rt) {
		node__reply_error(r, 404, "no such endpoint: %.200s", url);
		return;
	}
	node_view *v = rq->view ? rq->view : (rq->view = node__view_acquire(n));
	if (!v) {
		node__reply_error(r, 503, "node is starting");
		return;
	}
	if (rt->expensive != XP_ALWAYS) {
		rt->handler(n, c, url, rq, v, r);
		return;
	}
	int slot;
	if (node__expensive_begin(n, rq, v, r, &slot))
		return;
	rt->handler(n, c, url, rq, v, r);
	node__expensive_end(n, rq, v, r, slot);
}

/* ---- a peer's rights, rate and connections ------------------------------------------ */

/* The scope that decides for `rt`: "global", or the query's scope when it is
 * valid (an invalid one is reported by the endpoint; rights are then judged
 * in global). */
static const char *route_scope(const node_route *rt, struct MHD_Connection *c)
{
	if (rt && rt->rs == RS_QUERY) {
		const char *s = node__arg(c, "scope");
		if (s && *s && mt_scope_check(s, "scope", NULL) == 0)
			return s;
	}
	return "global";
}

/* The peer's standing under the route's scope: level, policy decision.
 * Community-only peers (SPEC §9.4: full in the scope of a community this
 * node is bound to) may sync that community's members' feeds. Fills who and
 * `d`. Returns 0 when the route's need is met, else fills `r`. */
int node__peer_rights(mt_node *n, struct MHD_Connection *c, const node_route *rt, caller *who,
		      node_view *v, mt_policy_decision *d, reply *r)
{
	const char *scope = route_scope(rt, c);
	mt_error err = {0};
	node_scope_view *sv = node__view_scope(v, scope);
	if (!sv) {
		node__reply_error(r, 500, "trust view failed");
		return -1;
	}
	const mt_trust_entry *e = node__scope_entry(v, sv, who->id);
	who->level = e ? e->level : MT_LEVEL_NONE;
	who->scope = scope;
	who->community = NULL;
	if (rt->nd == NEED_FULL && who->level != MT_LEVEL_FULL &&
	    rt->rs == RS_COMMUNITY) {
		const char *cs;
		json_t *members;
		mt_store *st = node__store_get(n);
		json_t *communities = (json_t *)node__view_communities(v, st);
		node__store_put(n, st);
		json_object_foreach(communities, cs, members) {
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
	/* SPEC §9.3: the policy in force in the scope — the node's own with its
	 * community's passed proposals over it (the same function as `mesh
	 * policy eval`): limits, tiers, approved bridges. */
	const struct mt_gov_policy *approved = NULL;
	mt_store *ps = node__store_get(n);
	const mt_policy *pol = node__scope_policy(v, sv, ps, n->policy, &approved);
	node__store_put(n, ps);
	mt_policy_input in = {.peer = who->id,
			      .scope = who->scope,
			      .score = e ? e->score : 0.0,
			      .has_path = e != NULL,
			      .is_bridge = json_object_get(v->bridges, who->id) != NULL,
			      .scope_gini = -1,
			      .multi_scope = node__multi_scope(v, who->id),
			      .approved_bridge = approved && mt_gov_policy_approves(approved, who->id)};
	if ((pol->enforce_gini || pol->max_top10_share < 1.0) && e && !sv->unknown) {
		node__scope_metrics(n, v, sv, &err);
		in.scope_gini = pol->enforce_gini ? sv->gini : -1;
		in.has_top10 = sv->top10 >= 0 && pol->max_top10_share < 1.0;
		in.scope_top10 = sv->top10;
	}
	if (mt_policy_eval(d, pol, &in, &err) != 0) {
		node__reply_store_error(r, 500, &err, "policy");
		return -1;
	}
	if (!d->constraints.allow) {
		__atomic_fetch_add(&n->k_denied, 1, __ATOMIC_RELAXED);
		node__reply_error(r, 403, "%s", d->constraints.reason);
		return -1;
	}
	if (rt->nd == NEED_FULL && who->level != MT_LEVEL_FULL) {
		__atomic_fetch_add(&n->k_denied, 1, __ATOMIC_RELAXED);
		node__reply_error(r, 403,
				  "%s requires full trust in scope global: %s is trusted %s there "
				  "(limited peers may search, not sync; a query's scope never "
				  "widens a right)",
				  rt->path, who->id, mt_level_name(who->level));
		return -1;
	}
	return 0;
}

/* The kernel's token bucket for one request. Returns 0 or fills `r`. */
int node__kernel_rate(mt_node *n, const caller *who, const mt_policy_decision *d, reply *r)
{
	mt_kernel_decision kd;
	int verdict = mt_kernel_check_request(n->kernel, who->id, strlen(who->id), &d->constraints,
					      &kd);
	if (verdict == MT_K_RATE_LIMITED) {
		__atomic_fetch_add(&n->k_rate_limited, 1, __ATOMIC_RELAXED);
		node__reply_error(r, 429, "rate limited: %s", d->constraints.reason);
		r->retry_after = kd.retry_after;
		return -1;
	}
	if (verdict != MT_K_ALLOW) {
		__atomic_fetch_add(&n->k_denied, 1, __ATOMIC_RELAXED);
		node__reply_error(r, 403, "%s", kd.reason[0] ? kd.reason : d->constraints.reason);
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
int node__peer_conn_open(mt_node *n, struct MHD_Connection *c, req *rq, reply *r)
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
	node__reply_error(r, 429, "connection limit: %s already has %u requests in flight (policy "
				  "max_connections)",
			  rq->who.id, rq->limits.max_connections);
	r->retry_after = 1;
	return -1;
}

int node__public_rate(mt_node *n, struct MHD_Connection *c, req *rq, reply *r)
{
	char addr[64], key[96];
	client_addr(c, addr, sizeof addr);
	int klen = snprintf(key, sizeof key, "directory@%s", addr);
	crypto_generichash(rq->conn_key, sizeof rq->conn_key, (const unsigned char *)key,
			   (size_t)klen, NULL, 0);
	const mt_policy *pol = n->policy;
	const mt_policy_tier *low = &pol->tiers[pol->tier_count - 1];
	mt_constraints *k = &rq->limits;
	memset(k, 0, sizeof *k);
	k->allow = 1;
	k->per_second = low->per_second;
	k->burst = low->burst;
	k->max_connections = pol->max_connections;
	snprintf(k->reason, sizeof k->reason,
		 "directory: anonymous callers get the lowest tier (%g/s, burst %u) per address",
		 low->per_second, low->burst);
	mt_kernel_decision kd;
	int verdict = mt_kernel_check_request(n->kernel, rq->conn_key, sizeof rq->conn_key, k, &kd);
	if (verdict == MT_K_RATE_LIMITED) {
		__atomic_fetch_add(&n->k_rate_limited, 1, __ATOMIC_RELAXED);
		node__reply_error(r, 429, "rate limited: %s", k->reason);
		r->retry_after = kd.retry_after;
		return -1;
	}
	if (verdict == MT_K_ALLOW &&
	    mt_kernel_conn_open(n->kernel, rq->conn_key, sizeof rq->conn_key, k, &kd) ==
		    MT_K_ALLOW) {
		rq->conn_open = 1;
		return 0;
	}
	__atomic_fetch_add(&n->over_limit, 1, __ATOMIC_RELAXED);
	node__reply_error(r, 429, "directory: %s", kd.reason[0] ? kd.reason : "connection limit");
	r->retry_after = 1;
	return -1;
}

/* Verify a parsed peer header over the request, refuse a ts older than this
 * node's start, then remember its nonce — only once the key is within the
 * trust horizon. Returns 0 or fills `r`. */
int node__peer_verify(mt_node *n, const mt_node_auth *a, const char *method, const req *rq,
		      node_view *v, reply *r)
{
	mt_error err = {0};
	int64_t now = (int64_t)time(NULL);
	if (mt_node_auth_verify(a, n->self, method, rq->uri, rq->body, rq->len, now, &err) != 0) {
		/* A peer that has not seen this node's rotation yet signs for the
		 * ID it knew (SPEC §9.2: one identity, its chain). */
		int ok = 0;
		const char *alias;
		json_t *t;
		json_object_foreach(v->self_aliases, alias, t)
		{
			if (mt_node_auth_verify(a, alias, method, rq->uri, rq->body, rq->len, now,
						NULL) == 0) {
				ok = 1;
				break;
			}
		}
		if (!ok) {
			node__reply_error(r, 401, "%s", err.msg);
			return -1;
		}
	}
	const char *succ = node__rotated_to(v, a->id);
	if (succ) { /* SPEC §9.2: a rotated-away ID is level none for requests */
		__atomic_fetch_add(&n->k_denied, 1, __ATOMIC_RELAXED);
		node__reply_error(r, 403, "rotated: %s was rotated to %s; sign with the new key",
				  a->id, succ);
		return -1;
	}
	if (!node__in_horizon(v, a->id)) {
		__atomic_fetch_add(&n->k_denied, 1, __ATOMIC_RELAXED);
		node__reply_error(r, 403, "untrusted: %s is not within this node's trust horizon",
				  a->id);
		return -1;
	}
	int seen = node__nonce_check(n->nonces, a->id, a->nonce, a->ts, now);
	switch (seen) {
	case NODE_NONCE_FRESH: return 0;
	case NODE_NONCE_REPLAY:
		node__reply_error(r, 401, "replayed request: nonce %s was already used by %s",
				  a->nonce, a->id);
		return -1;
	case NODE_NONCE_STALE:
		node__reply_error(r, 401,
				  "request timestamp %lld predates what this node can check for "
				  "replays (signed before its start, or evicted): sign a new request",
				  (long long)a->ts);
		return -1;
	case NODE_NONCE_PEER_FULL:
		node__reply_error(r, 429, "too many requests from %s within %d s (nonce cap)",
				  a->id, NONCE_TTL);
		r->retry_after = 1;
		return -1;
	default: node__reply_error(r, 503, "nonce cache: out of memory"); return -1;
	}
}
