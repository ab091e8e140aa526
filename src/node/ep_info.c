/* The informational endpoints: GET /v1/id; GET /v1/metrics with the per-view
 * metrics cache and the bounded, cached expensive answers (also used by
 * /v1/graph and by the policy's Gini check); GET /v1/search with the peers'
 * topic admission; the local clients' GET /v1/peers and GET /v1/log; and the
 * dashboard's static files, opened beneath the web directory without
 * following links. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "meshtrust/encoding.h"
#include "meshtrust/metrics.h"
#include "meshtrust/search.h"
#include "meshtrust/config.h"
#include "meshtrust/pot.h"
#include "meshtrust/views.h"
#include "node_http.h"

#ifndef MT_VERSION
#define MT_VERSION "0.1.0"
#endif

/* ---- identity ------------------------------------------------------------------- */

/* GET /v1/id: node_id, did, version, public_key (to anyone). */
void node__ep_id(mt_node *n, struct MHD_Connection *c, const char *url, req *rq, node_view *v,
		 reply *r)
{
	(void)c;
	(void)url;
	(void)v;
	char hex[65];
	mt_hex_encode(hex, sizeof hex, n->kp.pk, 32);
	json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "node_id", n->self, "did", n->did, "version",
			      MT_VERSION, "public_key", hex);
	if (o && rq->who.local) {
		/* The theft alarm (SPEC §9.2), for this machine's eyes (the
		 * dashboard): statements of the own feed its home did not sign. */
		uint64_t foreign = 0;
		mt_store *s = node__store_get(n);
		if (mt_store_own_foreign(s, n->self, NULL, NULL, &foreign, NULL) == 0)
			json_object_set_new(o, "theft_alarm", json_integer((json_int_t)foreign));
		node__store_put(n, s);
	}
	node__reply_json(r, 200, o);
}

/* ---- metrics --------------------------------------------------------------------- */

/* Metrics of one scope, cached in the view. Returns the JSON text (borrowed
 * from the scope view) or NULL. Also fills the scope's gini. */
const char *node__scope_metrics(mt_node *n, node_view *v, node_scope_view *sv, mt_error *err)
{
	if (node__view_edges(v) != 0) {
		mt_error_set(err, MT_ENOMEM, "out of memory");
		return NULL;
	}
	pthread_mutex_lock(&v->lock);
	const char *done = sv->metrics_json;
	pthread_mutex_unlock(&v->lock);
	if (done)
		return done;
	/* computed without the view's lock (it can take seconds on a big web,
	 * and every request of this view takes that lock); two requests at once
	 * may both compute it, the first to finish installs it */
	mt_metrics_opts mo;
	mt_metrics_opts_init(&mo);
	mo.scope = sv->scope;
	mo.at = v->built_at;
	mo.threads = 1;
	mt_metrics_result *m = NULL;
	char *text = NULL, *mine = NULL;
	if (mt_metrics_compute(&m, v->edges, v->n_edges, &mo, err) == 0 &&
	    mt_metrics_result_json(&text, m, 0, n->policy->max_gini) == 0) {
		json_t *o = json_loads(text, 0, NULL);
		if (o) {
			json_object_set_new(o, "digest", json_string(v->digest));
			mine = json_dumps(o, JSON_COMPACT);
			json_decref(o);
		}
	}
	pthread_mutex_lock(&v->lock);
	if (!sv->metrics_json && mine) {
		sv->metrics_json = mine;
		mine = NULL;
		sv->gini = m->gini;
		sv->top10 = m->top_10_percent_share;
	}
	done = sv->metrics_json;
	pthread_mutex_unlock(&v->lock);
	free(mine);
	free(text);
	mt_metrics_result_free(m);
	return done;
}

/* Metrics of `scope` computed for this request, as `mesh metrics --json` has
 * them (views.h): metrics.cap / metrics.capDecay from the configuration
 * registry; at `at` on the view's edges, or on the statements with ts <= at
 * when the query asked for another time (`own_time`). */
static void metrics_compute(mt_node *n, reply *r, const char *scope, node_view *v, int per_node,
			    int64_t at, int own_time)
{
	mt_metrics_opts mo;
	mt_metrics_opts_init(&mo);
	mo.scope = scope;
	mo.at = at;
	mo.threads = 1;
	mt_metrics_result *m = NULL;
	mt_error err = {0};
	int64_t cap = 0;
	double capd = 0, max_gini = 0;
	if (node__view_edges(v) != 0) {
		node__reply_error(r, 500, "out of memory");
		return;
	}
	mt_edge_in *edges = v->edges, *own = NULL;
	size_t ne = v->n_edges;
	char digest[65];
	snprintf(digest, sizeof digest, "%s", v->digest);
	mt_store *s = node__store_get(n);
	int rc = mt_config_int(s, "metrics.cap", &cap, &err);
	if (!rc)
		rc = mt_config_double(s, "metrics.capDecay", &capd, &err);
	/* The same max_gini as `mesh metrics` and `mesh policy eval`: the policy
	 * in force in the scope (SPEC §9.3), with where it comes from. */
	const char *gini_source = "";
	const json_t *overrides = NULL;
	node_scope_view *sv = rc ? NULL : node__view_scope(v, scope);
	if (sv) {
		const struct mt_gov_policy *approved = NULL;
		const mt_policy *pol = node__scope_policy(v, sv, s, n->policy, &approved);
		max_gini = pol->max_gini;
		gini_source = pol->max_gini_source;
		overrides = json_object_get(sv->policy_doc, "overrides");
	} else if (!rc) {
		max_gini = n->policy->max_gini;
	}
	if (!rc && own_time) {
		rc = mt_store_digest_hex(s, digest, NULL, &err);
		if (!rc)
			rc = mt_store_edges(s, &own, &ne, at, &err);
		edges = own;
	}
	node__store_put(n, s);
	mo.cap = (uint32_t)cap;
	mo.cap_decay = capd;
	if (!rc)
		rc = mt_metrics_compute(&m, edges, ne, &mo, &err);
	free(own);
	json_t *o = rc ? NULL : mt_view_metrics(m, per_node, digest, at, max_gini, 0);
	if (o && mt_view_metrics_policy(o, m->scope, m->gini, max_gini, gini_source, overrides)) {
		json_decref(o);
		o = NULL;
	}
	mt_metrics_result_free(m);
	if (!o) {
		node__reply_error(r, 500, "metrics failed: %s", err.msg[0] ? err.msg : "out of memory");
		return;
	}
	node__reply_json(r, 200, o);
}

/* ---- expensive answers: cached by state, bounded in concurrency ------------ */

/* Serve an expensive endpoint's answer from the view's cache (the same
 * request-target answered for the same state digest), or take a slot to
 * compute it: at most EXPENSIVE_PER_PEER per peer (a kernel connection
 * under the actor "x:<id>") and at most the pool size in all for peers.
 * Returns 1 when `r` is filled (hit or refusal), 0 when the caller computes
 * and then calls node__expensive_end. */
int node__expensive_begin(mt_node *n, req *rq, node_view *v, reply *r, int *slot)
{
	*slot = 0;
	pthread_mutex_lock(&v->lock);
	json_t *hit = json_object_get(v->xcache, rq->uri);
	char *body = hit ? strdup(json_string_value(hit)) : NULL;
	pthread_mutex_unlock(&v->lock);
	if (body) {
		__atomic_fetch_add(&n->xcache_hit, 1, __ATOMIC_RELAXED);
		node__reply_text(r, 200, "application/json", body);
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
		node__reply_error(r, 429,
				  "too many expensive requests in progress: at most %u per peer",
				  EXPENSIVE_PER_PEER);
		r->retry_after = 1;
		return 1;
	}
	uint64_t all = n->n_stores > 1 ? n->n_stores - 1 : 1;
	if (__atomic_add_fetch(&n->expensive_running, 1, __ATOMIC_RELAXED) > all) {
		__atomic_fetch_sub(&n->expensive_running, 1, __ATOMIC_RELAXED);
		mt_kernel_conn_close(n->kernel, key, klen);
		__atomic_fetch_add(&n->over_limit, 1, __ATOMIC_RELAXED);
		node__reply_error(r, 429, "too many expensive requests in progress on this node");
		r->retry_after = 1;
		return 1;
	}
	*slot = 1;
	return 0;
}

void node__expensive_end(mt_node *n, req *rq, node_view *v, const reply *r, int slot)
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

/* GET /v1/metrics?scope=[&per_node=1]: the §8 metrics JSON and digest, cached
 * per view; per_node (and a scope no edge names) is an expensive answer
 * (XP_BY_HANDLER). */
void node__ep_metrics(mt_node *n, struct MHD_Connection *c, const char *url, req *rq,
		      node_view *v, reply *r)
{
	(void)url;
	const char *scope;
	long long per_node, at;
	int64_t now = (int64_t)time(NULL);
	if (node__scope_arg(r, c, &scope) || node__int_arg(r, c, "per_node", 0, 1, 0, &per_node) ||
	    node__int_arg(r, c, "at", 0, 9007199254740991LL, now, &at))
		return;
	/* every answer is cached by state and bounded (node__expensive_begin) */
	int slot;
	if (node__expensive_begin(n, rq, v, r, &slot))
		return;
	metrics_compute(n, r, scope, v, (int)per_node, at, node__arg(c, "at") && at != now);
	node__expensive_end(n, rq, v, r, slot);
}

/* ---- search and topic admission ---------------------------------------------------- */

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
	node__reply_error(r, 429, "topic limit: %s may query at most %u distinct topics per %d s",
			  rq->who.id, rq->limits.max_topics, TOPIC_WINDOW);
	r->retry_after = TOPIC_WINDOW;
	return -1;
}

/* Release the topics admitted more than TOPIC_WINDOW seconds ago. */
void node__topics_expire(mt_node *n, int64_t now)
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

/* At stop, when no request runs any more: release every topic still held in
 * the kernel (so before the kernel is freed), then the table. */
void node__topics_free(mt_node *n)
{
	if (!n->topics)
		return;
	const char *key;
	json_t *at;
	json_object_foreach(n->topics, key, at) {
		const char *sp = strchr(key, ' ');
		unsigned char h[32];
		if (sp && mt_hex_decode(h, sizeof h, sp + 1, NULL) == 0)
			mt_kernel_topic_release(n->kernel, key, (size_t)(sp - key), h, sizeof h);
	}
	json_decref(n->topics);
	n->topics = NULL;
}

/* GET /v1/search?q=&topic=&scope=&limit=: lessons ranked by this node's trust. */
void node__ep_search(mt_node *n, struct MHD_Connection *c, const char *url, req *rq,
		     node_view *v, reply *r)
{
	(void)url;
	const char *scope, *text = node__arg(c, "q"), *topic = node__arg(c, "topic");
	long long limit;
	if (node__scope_arg(r, c, &scope) || node__int_arg(r, c, "limit", 1, 1000, 20, &limit))
		return;
	if (!text || !*text) {
		node__reply_error(r, 400, "missing query parameter q");
		return;
	}
	if (topic && *topic && rq->who.peer && topic_admit(n, rq, topic, r) != 0)
		return;
	long long at, statements;
	if (node__int_arg(r, c, "at", 0, 9007199254740991LL, (int64_t)time(NULL), &at) ||
	    node__int_arg(r, c, "statements", 0, 1, 1, &statements))
		return;
	mt_trust_query tq = {n->self, scope, at, v->max_depth, v->decay, v->n_decay};
	mt_search_query sq = {text, topic && *topic ? topic : NULL, &tq, (size_t)limit, 0};
	mt_search_result *res = NULL;
	mt_error err = {0};
	mt_store *s = node__store_get(n);
	json_t *doc = NULL;
	int rc = mt_search_run(&res, s, v->engine, NULL, &sq, &err);
	/* peers re-verify: by default each result carries the signed statement */
	if (!rc)
		doc = mt_view_search(v->digest, n->self, scope, res, s, (int)statements);
	node__store_put(n, s);
	mt_search_result_free(res);
	if (rc || !doc) {
		node__reply_error(r, rc && err.code == MT_EINVAL ? 400 : 500, "%s",
				  err.msg[0] ? err.msg : "out of memory");
		return;
	}
	node__reply_json(r, 200, doc);
}

/* ---- proof-of-trust ------------------------------------------------------------- */

/* GET /v1/pot?round=ID[&at=T]: the document of `mesh pot status ROUND --json`
 * (mt_pot_round_json), derived from the statements at `at` (default now). */
void node__ep_pot(mt_node *n, struct MHD_Connection *c, const char *url, req *rq, node_view *v,
		  reply *r)
{
	(void)url;
	(void)rq;
	(void)v;
	const char *round = node__arg(c, "round");
	long long at;
	if (node__int_arg(r, c, "at", 0, 9007199254740991LL, (int64_t)time(NULL), &at))
		return;
	if (round && (strlen(round) != 64 || strspn(round, "0123456789abcdef") != 64)) {
		node__reply_error(r, 400, "round: not a pot-open statement id (64 hex)");
		return;
	}
	mt_pot_state *st = NULL;
	mt_error err = {0};
	mt_store *s = node__store_get(n);
	int rc = mt_pot_derive_store(&st, s, at, &err);
	node__store_put(n, s);
	if (rc) {
		node__reply_store_error(r, 500, &err, "proof-of-trust");
		return;
	}
	if (!round) { /* every round: the document of `mesh pot status --json` */
		json_t *all = mt_view_rounds(st);
		mt_pot_state_free(st);
		node__reply_json(r, all ? 200 : 500,
				 all ? all : json_pack("{s:s}", "error", "out of memory"));
		return;
	}
	const mt_pot_round *pr = mt_pot_round_get(st, round);
	json_t *doc = pr ? mt_pot_round_json(st, pr) : NULL;
	mt_pot_state_free(st);
	if (!pr) {
		node__reply_error(r, 404, "no round %s", round);
		return;
	}
	node__reply_json(r, doc ? 200 : 500, doc ? doc : json_pack("{s:s}", "error", "out of memory"));
}

/* GET /v1/scopes: the scopes the view's edges name (`mesh trust scopes --json`). */
void node__ep_scopes(mt_node *n, struct MHD_Connection *c, const char *url, req *rq,
		     node_view *v, reply *r)
{
	(void)n;
	(void)c;
	(void)url;
	(void)rq;
	json_t *doc = node__view_edges(v) == 0 ? mt_view_scopes(v->edges, v->n_edges) : NULL;
	node__reply_json(r, doc ? 200 : 500, doc ? doc : json_pack("{s:s}", "error", "out of memory"));
	r->digest = v->digest;
}

/* GET /v1/communities[?scope=|genesis=]: every community held (`mesh community
 * list --json`), or one community's roster (`mesh community members --json`:
 * by its genesis id, or the community bound to scope S). */
void node__ep_communities(mt_node *n, struct MHD_Connection *c, const char *url, req *rq,
			  node_view *v, reply *r)
{
	(void)url;
	(void)rq;
	const char *genesis = node__arg(c, "genesis"), *scope = node__arg(c, "scope");
	long long at;
	if (node__int_arg(r, c, "at", 0, 9007199254740991LL, (int64_t)time(NULL), &at))
		return;
	if (genesis && (strlen(genesis) != 64 || strspn(genesis, "0123456789abcdef") != 64)) {
		node__reply_error(r, 400, "genesis: not a statement id (64 hex)");
		return;
	}
	if (scope && mt_scope_check(scope, "scope", NULL) != 0) {
		node__reply_error(r, 400, "scope: \"%.80s\" is not a scope", scope);
		return;
	}
	mt_pot_state *st = NULL;
	mt_error err = {0};
	mt_store *s = node__store_get(n);
	json_t *doc = NULL;
	int rc = mt_pot_derive_store(&st, s, at, &err);
	const mt_pot_community *cm = NULL;
	if (!rc && (genesis || scope)) {
		cm = genesis ? mt_pot_community_get(st, genesis) : mt_pot_community_bound(st, s, scope);
		if (cm)
			doc = mt_pot_members_json(st, cm);
	} else if (!rc) {
		doc = mt_view_communities(st, s);
	}
	node__store_put(n, s);
	mt_pot_state_free(st);
	if (rc) {
		node__reply_store_error(r, 500, &err, "proof-of-trust");
		return;
	}
	if ((genesis || scope) && !cm) {
		node__reply_error(r, 404, "no community %s held", genesis ? genesis : scope);
		return;
	}
	node__reply_json(r, doc ? 200 : 500, doc ? doc : json_pack("{s:s}", "error", "out of memory"));
	r->digest = v->digest;
}

/* GET /v1/proposals[?scope=]: every proposal held with its tally and outcome
 * (`mesh proposal list --json`: {digest, at, proposals}); only the community
 * bound to scope S's with scope=. */
void node__ep_proposals(mt_node *n, struct MHD_Connection *c, const char *url, req *rq,
			node_view *v, reply *r)
{
	(void)url;
	(void)rq;
	const char *scope = node__arg(c, "scope");
	if (scope && mt_scope_check(scope, "scope", NULL) != 0) {
		node__reply_error(r, 400, "scope: \"%.80s\" is not a scope", scope);
		return;
	}
	int64_t now = (int64_t)time(NULL);
	mt_error err = {0};
	mt_store *s = node__store_get(n);
	mt_gov_state *gs = NULL;
	char genesis[65] = "";
	int rc = 0;
	if (scope) {
		mt_pot_state *st = NULL;
		rc = mt_pot_derive_store(&st, s, now, &err);
		const mt_pot_community *cm = rc ? NULL : mt_pot_community_bound(st, s, scope);
		if (cm)
			snprintf(genesis, sizeof genesis, "%s", cm->genesis);
		mt_pot_state_free(st);
	}
	if (!rc)
		rc = mt_gov_derive_store(&gs, s, now, &err);
	node__store_put(n, s);
	if (rc) {
		node__reply_store_error(r, 500, &err, "governance");
		return;
	}
	json_t *doc = mt_view_proposals(gs, scope ? genesis : NULL);
	mt_gov_state_free(gs);
	if (doc) {
		json_object_set_new(doc, "digest", json_string(v->digest));
		json_object_set_new(doc, "at", json_integer(now));
	}
	node__reply_json(r, doc ? 200 : 500, doc ? doc : json_pack("{s:s}", "error", "out of memory"));
	r->digest = v->digest;
}

/* ---- local clients: peers and log ------------------------------------------------- */

/* The /v1/peers list being built: one object per peer with its level. */
struct peers_doc {
	const node_view *v;
	json_t *arr;
};

static int peer_json(const mt_store_peer *p, void *payload)
{
	struct peers_doc *d = payload;
	const char *id = p->node_id ? p->node_id : "";
	json_t *lv = json_object_get(d->v->horizon, id);
	json_array_append_new(
		d->arr, json_pack("{s:s,s:s,s:s,s:I,s:I,s:s}", "node_id", id, "url", p->url,
				  "level",
				  mt_level_name(lv ? (mt_level)json_integer_value(lv) : MT_LEVEL_NONE),
				  "lag", (json_int_t)(p->lag > INT64_MAX ? INT64_MAX : p->lag),
				  "last_sync", (json_int_t)p->last_sync, "last_error",
				  p->last_error ? p->last_error : ""));
	return 0;
}

/* GET /v1/peers (local clients): peers, their level, last sync, lag. */
void node__ep_peers(mt_node *n, struct MHD_Connection *c, const char *url, req *rq,
		    node_view *v, reply *r)
{
	(void)c;
	(void)url;
	(void)rq;
	mt_store *s = node__store_get(n);
	struct peers_doc d = {v, json_array()};
	mt_store_peers(s, peer_json, &d, NULL); /* unreadable: an empty list, as before */
	json_t *arr = d.arr;
	node__store_put(n, s);
	json_int_t limited = (json_int_t)__atomic_load_n(&n->k_rate_limited, __ATOMIC_RELAXED);
	json_int_t denied = (json_int_t)__atomic_load_n(&n->k_denied, __ATOMIC_RELAXED);
	node__reply_json(r, 200, json_pack("{s:o,s:I,s:I}", "peers", arr, "kernel_rate_limited",
					   limited, "kernel_denied", denied));
}

static int name_json(const char *name, const char *node_id, void *payload)
{
	json_object_set_new(payload, node_id, json_string(name));
	return 0;
}

/* GET /v1/names (local clients): the home's petnames (SPEC §9.5), as
 * {"names": {Node ID: name}} — local only, never shown to peers. */
void node__ep_names(mt_node *n, struct MHD_Connection *c, const char *url, req *rq,
		    node_view *v, reply *r)
{
	(void)c;
	(void)url;
	(void)rq;
	(void)v;
	mt_error err = {0};
	mt_store *s = node__store_get(n);
	json_t *names = json_object();
	int rc = mt_store_names(s, name_json, names, &err);
	node__store_put(n, s);
	if (rc) {
		json_decref(names);
		node__reply_store_error(r, 500, &err, "names");
		return;
	}
	node__reply_json(r, 200, json_pack("{s:o}", "names", names));
}

static int recent_json(const mt_store_entry *e, void *payload)
{
	char id[65];
	mt_hex_encode(id, sizeof id, e->id, 32);
	json_array_append_new(payload, json_pack("{s:s,s:s,s:I,s:s,s:I}", "id", id, "iss", e->iss,
						 "seq", (json_int_t)e->seq, "type", e->type, "ts",
						 (json_int_t)e->ts));
	return 0;
}

static int fork_json(const char *iss, uint64_t seq, const unsigned char a[32],
		     const unsigned char b[32], void *payload)
{
	char ha[65], hb[65];
	mt_hex_encode(ha, sizeof ha, a, 32);
	mt_hex_encode(hb, sizeof hb, b, 32);
	json_array_append_new(payload, json_pack("{s:s,s:I,s:s,s:s}", "iss", iss, "seq",
						 (json_int_t)seq, "a", ha, "b", hb));
	return 0;
}

/* GET /v1/log?limit= (local clients): recent statements, refusals by reason,
 * forks. */
void node__ep_log(mt_node *n, struct MHD_Connection *c, const char *url, req *rq, node_view *v,
		  reply *r)
{
	(void)url;
	(void)rq;
	(void)v;
	long long limit;
	if (node__int_arg(r, c, "limit", 1, 1000, 50, &limit))
		return;
	mt_store *s = node__store_get(n);
	json_t *stmts = json_array(), *forks = json_array();
	/* unreadable: empty lists, as before */
	mt_store_recent(s, (uint64_t)limit, recent_json, stmts, NULL);
	mt_store_forks(s, 1000, fork_json, forks, NULL);
	node__store_put(n, s);
	static const char *const reasons[ST__COUNT] = {"accepted", "duplicate", "invalid",
						       "outside trust horizon", "over quota"};
	json_t *refused = json_array();
	for (int i = ST_REF_INVALID; i < ST__COUNT; i++)
		json_array_append_new(
			refused, json_pack("{s:s,s:I}", "reason", reasons[i], "count",
					   (json_int_t)__atomic_load_n(&n->stmts[i], __ATOMIC_RELAXED)));
	node__reply_json(r, 200, json_pack("{s:o,s:o,s:o}", "statements", stmts, "refused", refused,
					   "forks", forks));
}

/* ---- static files ------------------------------------------------------------------ */

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

/* GET / and the dashboard's files (to anyone): from the web directory, else a
 * minimal page for / and 404 for the rest. */
void node__ep_static(mt_node *n, struct MHD_Connection *c, const char *url, req *rq,
		     node_view *v, reply *r)
{
	(void)c;
	(void)rq;
	(void)v;
	const char *rel = strcmp(url, "/") == 0 ? "index.html" : url + 1;
	if (strstr(url, "..") || strstr(url, "//") || strchr(url, '\\')) {
		node__reply_error(r, 404, "not found");
		return;
	}
	int fd = n->web_fd >= 0 ? open_beneath(n->web_fd, rel) : -1;
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > 64 * 1024 * 1024) {
		if (fd >= 0)
			close(fd);
		if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0) {
			node__reply_text(r, 200, "text/html; charset=utf-8", strdup(MINIMAL_PAGE));
			return;
		}
		node__reply_error(r, 404, "not found: %.200s", url);
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
		node__reply_error(r, 500, "cannot read %.200s", rel);
		return;
	}
	r->status = 200;
	r->body = buf;
	r->len = got;
	r->ctype = ctype_of(rel);
}
