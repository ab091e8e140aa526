/* The node's counters and their Prometheus text (GET /metrics): requests by
 * endpoint and status, statements by outcome, kernel denials, authentication
 * failures, the nonce cache, the expensive-answer cache, connections and the
 * exposure limits' refusals, each peer's sync lag and last success, the
 * forks held, and each bound community's Gini, node count and Gini limit.
 * The counters live in `struct mt_node` (node_http.h); this file names them. */
#include <stdio.h>
#include <stdlib.h>

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>
#include "node_http.h"

/* The endpoints' names as they appear in the `endpoint` label (EP_* order). */
static const char *const EP_NAMES[EP__COUNT] = {
	"/v1/id", "/v1/feeds", "/v1/feeds/{iss}", "/v1/statements", "/v1/trust", "/v1/trust/path",
	"/v1/search", "/v1/metrics", "/metrics", "static", "/v1/graph", "/v1/peers", "/v1/log",
	"other", "/v1/trust/list", "/v1/pot", "/v1/names", "/v1/directory", "/v1/directory/lessons",
	"/v1/directory/feed/{iss}", "/v1/scopes", "/v1/communities", "/v1/proposals",
	"/v1/trust/explain"};
/* The statuses counted (NODE_N_STATUS of them). */
static const int STATUSES[] = {200, 400, 401, 403, 404, 405, 413, 429, 500, 503};
_Static_assert(sizeof STATUSES / sizeof *STATUSES == NODE_N_STATUS,
	       "NODE_N_STATUS must count STATUSES");

/* The latency histogram's upper bounds, seconds (NODE_LAT_BUCKETS of them). */
static const double LAT_LE[NODE_LAT_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
						 0.1,   0.25,   0.5,   1,    2.5,   10};

void node__observe_latency(mt_node *n, int ep, double seconds)
{
	if (ep < 0 || ep >= EP__COUNT)
		return;
	if (seconds < 0)
		seconds = 0;
	size_t b = 0;
	while (b < NODE_LAT_BUCKETS && seconds > LAT_LE[b])
		b++;
	__atomic_fetch_add(&n->lat_bucket[ep][b], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&n->lat_sum_us[ep], (uint64_t)(seconds * 1e6), __ATOMIC_RELAXED);
}

void node__count_request(mt_node *n, int ep, int status)
{
	for (size_t i = 0; i < NODE_N_STATUS; i++)
		if (STATUSES[i] == status) {
			__atomic_fetch_add(&n->requests[ep][i], 1, __ATOMIC_RELAXED);
			return;
		}
}

/* GET /metrics: the Prometheus text format. Peer URLs only to local clients. */
/* mt_peer_visit_fn: [node_id, url, lag, last_sync, ok] of each peer, for the
 * lag and last-success gauges. */
static int collect_lag(const mt_store_peer *p, void *payload)
{
	json_array_append_new(payload,
			      json_pack("[s,s,I,I,b]", p->node_id, p->url,
					(json_int_t)(p->lag > INT64_MAX ? INT64_MAX : p->lag),
					(json_int_t)p->last_sync,
					p->last_sync && p->last_error && !p->last_error[0]));
	return 0;
}

/* mt_fork_visit_fn: counts. */
static int count_fork(const char *iss, uint64_t seq, const unsigned char a[32],
		      const unsigned char b[32], void *payload)
{
	(void)iss;
	(void)seq;
	(void)a;
	(void)b;
	++*(uint64_t *)payload;
	return 0;
}
/* mesh_forks counts at most this many (each scrape visits them: O(forks)). */
#define FORKS_COUNTED 1000000

/* This process: CPU seconds, resident bytes, open descriptors (Prometheus'
 * process_* names). -1 where /proc does not say. */
static void process_stats(double *cpu, long long *rss, long long *fds)
{
	struct rusage ru;
	*cpu = getrusage(RUSAGE_SELF, &ru) == 0
		       ? (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
				 (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6
		       : -1;
	*rss = -1;
	FILE *f = fopen("/proc/self/statm", "r");
	long long pages_total = 0, pages_res = 0;
	if (f) {
		if (fscanf(f, "%lld %lld", &pages_total, &pages_res) == 2)
			*rss = pages_res * sysconf(_SC_PAGESIZE);
		fclose(f);
	}
	*fds = -1;
	DIR *d = opendir("/proc/self/fd");
	if (d) {
		long long k = 0;
		struct dirent *e;
		while ((e = readdir(d)) != NULL)
			k += e->d_name[0] != '.';
		closedir(d);
		*fds = k - 1; /* the directory's own descriptor */
	}
}

#ifndef MT_VERSION
#define MT_VERSION "0.1.0"
#endif

void node__ep_prometheus(mt_node *n, struct MHD_Connection *conn, const char *path, req *rq,
			 node_view *v, reply *r)
{
	(void)conn;
	(void)path;
	const caller *who = &rq->who;
	size_t cap = 16384, len = 0;
	char *out = malloc(cap);
	if (!out) {
		node__reply_error(r, 500, "out of memory");
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
	EMIT("# HELP mesh_build_info The build: version, and the store backend in use.\n"
	     "# TYPE mesh_build_info gauge\nmesh_build_info{version=\"%s\"} 1\n",
	     MT_VERSION);
	double cpu;
	long long rss, fds;
	process_stats(&cpu, &rss, &fds);
	EMIT("# HELP process_cpu_seconds_total CPU time of the node process.\n"
	     "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.3f\n"
	     "# HELP process_resident_memory_bytes Resident memory of the node process.\n"
	     "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %lld\n"
	     "# HELP process_open_fds Open file descriptors of the node process.\n"
	     "# TYPE process_open_fds gauge\nprocess_open_fds %lld\n"
	     "# HELP process_start_time_seconds Start of the node (Unix seconds).\n"
	     "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %lld\n",
	     cpu, rss, fds, (long long)n->started);
	EMIT("# HELP mesh_http_requests_total HTTP requests by endpoint and status.\n"
	     "# TYPE mesh_http_requests_total counter\n");
	for (int e = 0; e < EP__COUNT; e++)
		for (size_t i = 0; i < NODE_N_STATUS; i++) {
			uint64_t c = __atomic_load_n(&n->requests[e][i], __ATOMIC_RELAXED);
			if (c)
				EMIT("mesh_http_requests_total{endpoint=\"%s\",status=\"%d\"} %llu\n",
				     EP_NAMES[e], STATUSES[i], (unsigned long long)c);
		}
	EMIT("# HELP mesh_http_request_duration_seconds Time from a request's headers to its "
	     "answer, by endpoint.\n# TYPE mesh_http_request_duration_seconds histogram\n");
	for (int e = 0; e < EP__COUNT; e++) {
		uint64_t cum = 0, counts[NODE_LAT_BUCKETS + 1];
		for (size_t b = 0; b <= NODE_LAT_BUCKETS; b++)
			counts[b] = __atomic_load_n(&n->lat_bucket[e][b], __ATOMIC_RELAXED);
		uint64_t total = 0;
		for (size_t b = 0; b <= NODE_LAT_BUCKETS; b++)
			total += counts[b];
		if (!total)
			continue;
		for (size_t b = 0; b < NODE_LAT_BUCKETS; b++) {
			cum += counts[b];
			EMIT("mesh_http_request_duration_seconds_bucket{endpoint=\"%s\",le=\"%g\"} "
			     "%llu\n",
			     EP_NAMES[e], LAT_LE[b], (unsigned long long)cum);
		}
		EMIT("mesh_http_request_duration_seconds_bucket{endpoint=\"%s\",le=\"+Inf\"} %llu\n"
		     "mesh_http_request_duration_seconds_sum{endpoint=\"%s\"} %.6f\n"
		     "mesh_http_request_duration_seconds_count{endpoint=\"%s\"} %llu\n",
		     EP_NAMES[e], (unsigned long long)total, EP_NAMES[e],
		     (double)__atomic_load_n(&n->lat_sum_us[e], __ATOMIC_RELAXED) / 1e6, EP_NAMES[e],
		     (unsigned long long)total);
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
	static const char *const how_names[3] = {"rebuilt", "patched", "renewed"};
	EMIT("# HELP mesh_view_renewals_total Views of the store made by the node: rebuilt from "
	     "everything, patched with what was stored since, renewed with nothing stored.\n"
	     "# TYPE mesh_view_renewals_total counter\n");
	for (int i = 0; i < 3; i++)
		EMIT("mesh_view_renewals_total{kind=\"%s\"} %llu\n", how_names[i],
		     (unsigned long long)__atomic_load_n(&n->view_builds[i], __ATOMIC_RELAXED));
	EMIT("# HELP mesh_view_cpu_seconds_total CPU time spent making the views.\n"
	     "# TYPE mesh_view_cpu_seconds_total counter\nmesh_view_cpu_seconds_total %.6f\n",
	     (double)__atomic_load_n(&n->view_cpu_us, __ATOMIC_RELAXED) / 1e6);
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
	mt_store *s = node__store_get(n);
	json_t *peers = json_array(); /* [[node_id, url, lag]] by url */
	mt_store_peers(s, collect_lag, peers, NULL);
	/* The theft alarm (SPEC §9.2): statements of this node's own feed that
	 * its home did not sign. -1 when the store could not say. */
	uint64_t foreign = 0;
	long long alarm = mt_store_own_foreign(s, n->self, NULL, NULL, &foreign, NULL) == 0
			      ? (long long)foreign
			      : -1;
	/* Forks recorded (SPEC §2: two statements of one issuer with one seq),
	 * counted up to FORKS_COUNTED; no sample when the store could not say
	 * (the alert rule takes the number as only growing). */
	uint64_t forks = 0;
	int forks_ok = mt_store_forks(s, FORKS_COUNTED, count_fork, &forks, NULL) == 0;
	node__store_put(n, s);
	EMIT("# HELP mesh_forks Forks held in the store: pairs of statements of one issuer with "
	     "one seq (an equivocation, or a stolen key; see /v1/log).\n"
	     "# TYPE mesh_forks gauge\n");
	if (forks_ok)
		EMIT("mesh_forks %llu\n", (unsigned long long)forks);
	EMIT("# HELP mesh_own_feed_foreign_statements Statements in this node's own feed that "
	     "its home did not sign (theft alarm: identity.key may be stolen; see `mesh key "
	     "status`).\n# TYPE mesh_own_feed_foreign_statements gauge\n"
	     "mesh_own_feed_foreign_statements %lld\n",
	     alarm);
	size_t pi;
	json_t *p;
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 0)
			EMIT("# HELP mesh_sync_lag_statements Statements a peer held beyond ours "
			     "after the last sync with it.\n# TYPE mesh_sync_lag_statements gauge\n");
		else
			EMIT("# HELP mesh_sync_last_success_timestamp_seconds When the last sync "
			     "with a peer went well (Unix seconds; absent: never).\n# TYPE "
			     "mesh_sync_last_success_timestamp_seconds gauge\n");
		json_array_foreach(peers, pi, p)
		{
			const char *id = json_string_value(json_array_get(p, 0));
			const char *url = json_string_value(json_array_get(p, 1));
			if (!id || !url)
				continue;
			int bad = 0;
			for (const char *c = url; *c; c++)
				bad |= *c == '"' || *c == '\\' || *c == '\n';
			/* peer URLs are for this machine's eyes only (node.metricsPublic) */
			const char *shown = bad || !who->local ? "?" : url;
			if (pass == 0)
				EMIT("mesh_sync_lag_statements{peer=\"%s\",url=\"%s\"} %lld\n", id,
				     shown, (long long)json_integer_value(json_array_get(p, 2)));
			else if (json_is_true(json_array_get(p, 4)))
				EMIT("mesh_sync_last_success_timestamp_seconds{peer=\"%s\",url="
				     "\"%s\"} %lld\n",
				     id, shown, (long long)json_integer_value(json_array_get(p, 3)));
		}
	}
	json_decref(peers);
	/* the centralisation of each bound community's scope (SPEC §4, §6) and
	 * the Gini limit of the policy in force there (SPEC §9.3): the alert
	 * rule compares the two (contrib/prometheus/alerts.yml). Each family's
	 * samples in one group, as the text format wants. */
	mt_store *cs = node__store_get(n);
	const json_t *communities = node__view_communities(v, cs);
	size_t n_scopes = json_object_size(communities), k = 0;
	struct scope_row {
		const char *scope;
		double gini, max_gini;
		long long nodes;
	} *rows = n_scopes ? calloc(n_scopes, sizeof *rows) : NULL;
	const char *cscope;
	json_t *members;
	json_object_foreach((json_t *)communities, cscope, members)
	{
		(void)members;
		if (!rows || k == n_scopes)
			break;
		struct scope_row *row = &rows[k++];
		*row = (struct scope_row){.scope = cscope, .gini = -1, .max_gini = -1, .nodes = -1};
		node_scope_view *sv = node__view_scope(v, cscope);
		if (!sv || sv->unknown)
			continue;
		const struct mt_gov_policy *approved = NULL;
		const mt_policy *pol = node__scope_policy(v, sv, cs, n->policy, &approved);
		row->max_gini = pol ? pol->max_gini : -1;
	}
	node__store_put(n, cs); /* before the metrics, which take a store of the pool */
	for (size_t i = 0; i < k; i++) {
		node_scope_view *sv = node__view_scope(v, rows[i].scope);
		mt_error merr = {0};
		const char *mj = sv && !sv->unknown ? node__scope_metrics(n, v, sv, &merr) : NULL;
		json_t *doc = mj ? json_loads(mj, 0, NULL) : NULL;
		json_t *nodes = json_object_get(doc, "node_count");
		if (json_is_integer(nodes))
			rows[i].nodes = (long long)json_integer_value(nodes);
		if (sv && mj) /* the metrics set the scope's Gini */
			rows[i].gini = sv->gini;
		json_decref(doc);
	}
	EMIT("# HELP mesh_scope_gini Gini of inbound trust in a bound community's scope.\n"
	     "# TYPE mesh_scope_gini gauge\n");
	for (size_t i = 0; i < k; i++)
		if (rows[i].gini >= 0)
			EMIT("mesh_scope_gini{scope=\"%s\"} %.6f\n", rows[i].scope, rows[i].gini);
	EMIT("# HELP mesh_policy_max_gini The Gini limit of the policy in force in a bound "
	     "community's scope (policy.maxGini, or the community's passed proposal).\n"
	     "# TYPE mesh_policy_max_gini gauge\n");
	for (size_t i = 0; i < k; i++)
		if (rows[i].max_gini >= 0)
			EMIT("mesh_policy_max_gini{scope=\"%s\"} %.6f\n", rows[i].scope,
			     rows[i].max_gini);
	EMIT("# HELP mesh_scope_nodes Identities in a bound community's scope (its metrics' node "
	     "count).\n# TYPE mesh_scope_nodes gauge\n");
	for (size_t i = 0; i < k; i++)
		if (rows[i].nodes >= 0)
			EMIT("mesh_scope_nodes{scope=\"%s\"} %lld\n", rows[i].scope, rows[i].nodes);
	free(rows);
#undef EMIT
	r->status = 200;
	r->body = out;
	r->len = len;
	r->ctype = "text/plain; version=0.0.4; charset=utf-8";
}
