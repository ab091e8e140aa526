/* The node's shared state behind the requests: the pool of store handles (one
 * per HTTP thread + 1), the current view (reference counted; replaced whole
 * when the store changes), and the maintenance thread, which every
 * NODE_FOLLOW_MS (or at once when woken after a POST) rebuilds the view when
 * the store's change counter moved (a cheap look: SQLite's data_version; on
 * PostgreSQL a notification received, without a round trip), and when woken
 * or every 100 ms runs the connection watchdog, expires topics and nonces, and runs
 * the periodic sync. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meshtrust/config.h"
#include "node_http.h"

/* ---- store pool ---------------------------------------------------------------- */

int node__pool_open(mt_node *n, unsigned count, mt_error *err)
{
	int rc;
	n->n_stores = count;
	n->stores = calloc(n->n_stores, sizeof *n->stores);
	n->store_busy = calloc(n->n_stores, sizeof *n->store_busy);
	if (!n->stores || !n->store_busy)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	/* db_path or what the home names instead ($MESH_STORE, store.url): a
	 * PostgreSQL URL gives every handle its own connection */
	char *url = NULL;
	if ((rc = mt_store_url_resolve(&url, n->home, n->db_path, err)))
		return rc;
	for (unsigned i = 0; i < n->n_stores && !rc; i++)
		rc = mt_store_open_url(&n->stores[i], url, err);
	if (!rc)
		rc = mt_store_open_url(&n->maint_store, url, err);
	free(url);
	return rc;
}

void node__pool_close(mt_node *n)
{
	for (unsigned i = 0; n->stores && i < n->n_stores; i++)
		mt_store_close(n->stores[i]);
	free(n->stores);
	free(n->store_busy);
	mt_store_close(n->maint_store);
}

mt_store *node__store_get(mt_node *n)
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

void node__store_put(mt_node *n, mt_store *s)
{
	pthread_mutex_lock(&n->pool_lock);
	for (unsigned i = 0; i < n->n_stores; i++)
		if (n->stores[i] == s)
			n->store_busy[i] = 0;
	pthread_cond_signal(&n->pool_cond);
	pthread_mutex_unlock(&n->pool_lock);
}

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t mono_ms(void)
{
	return mono_us() / 1000;
}

/* CPU time of the calling thread. */
static int64_t thread_cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- the current view ---------------------------------------------------------- */

node_view *node__view_acquire(mt_node *n)
{
	pthread_mutex_lock(&n->view_lock);
	node_view *v = n->view;
	if (v)
		v->refs++;
	pthread_mutex_unlock(&n->view_lock);
	return v;
}

void node__view_release(mt_node *n, node_view *v)
{
	if (!v)
		return;
	pthread_mutex_lock(&n->view_lock);
	int last = --v->refs == 0;
	pthread_mutex_unlock(&n->view_lock);
	if (last)
		node__view_free(v);
}

int node__view_refresh(mt_node *n, mt_store *s)
{
	node_view *v = NULL;
	mt_error err = {0};
	node_conf c;
	node__conf(n, &c);
	/* from the current view and what was stored since (only this thread and
	 * the start replace the view, so `old` stays the current one) */
	node_view *cur = node__view_acquire(n);
	int how = 0;
	int64_t t0 = mono_us(), c0 = thread_cpu_us();
	int rc = node__view_next(&v, cur, s, n->self, c.max_depth, c.decay, c.n_decay,
				 (int64_t)time(NULL), &how, &err);
	node__view_release(n, cur);
	__atomic_store_n(&n->view_cost_us, mono_us() - t0, __ATOMIC_RELAXED);
	__atomic_fetch_add(&n->view_cpu_us, (uint64_t)(thread_cpu_us() - c0), __ATOMIC_RELAXED);
	if (rc != 0) {
		char e[600];
		node__esc(e, sizeof e, err.msg);
		/* a database that went away is a warning (it is expected to return) */
		node__log(&n->opts, err.code == MT_EUNAVAIL ? MT_NODE_LOG_WARN : MT_NODE_LOG_ERROR,
			  "msg=\"view rebuild failed\" err=\"%s\"", e);
		return -1;
	}
	pthread_mutex_lock(&n->view_lock);
	node_view *old = n->view;
	n->view = v;
	pthread_mutex_unlock(&n->view_lock);
	node__view_release(n, old);
	__atomic_fetch_add(&n->view_builds[how], 1, __ATOMIC_RELAXED);
	node__log(&n->opts, MT_NODE_LOG_DEBUG,
		  "msg=\"view %s\" statements=%llu digest=%s us=%lld",
		  how == 0 ? "rebuilt" : how == 1 ? "patched" : "renewed",
		  (unsigned long long)v->count, v->digest,
		  (long long)__atomic_load_n(&n->view_cost_us, __ATOMIC_RELAXED));
	return 0;
}

/* ---- maintenance thread ----------------------------------------------------------- */

/* The store's change counter (moves when another handle committed), or -1
 * with `err` set when the store cannot be read (its database is away). */
static int64_t data_version(mt_store *s, mt_error *err)
{
	uint64_t v;
	return mt_store_change_counter(s, &v, err) ? -1 : (int64_t)v;
}


/* Rebuild the view when the change counter moved since `*seen`. A store that
 * cannot be read keeps the view it has (logged once, and once when it is
 * back); a rebuild that fails is tried again after a second (the counter is
 * taken as seen only when the view holds it). */
static void follow_store(mt_node *n, int64_t *seen, int *down, int64_t *retry_ms,
			 int64_t *last_ms)
{
	mt_error err = {0};
	int64_t dv = data_version(n->maint_store, &err);
	if (dv < 0) {
		/* only a lost database (the store's code says so) is "unavailable" */
		if (err.code != MT_EUNAVAIL)
			return;
		if (!*down) {
			char e[600];
			node__esc(e, sizeof e, err.msg);
			node__log(&n->opts, MT_NODE_LOG_WARN,
				  "msg=\"store unavailable, serving the last view\" err=\"%s\"", e);
		}
		{
			/* the reason, without the message's prefixes */
			const char *why = strstr(err.msg, NODE_STORE_UNAVAILABLE);
			why = why ? why + strlen(NODE_STORE_UNAVAILABLE) : err.msg;
			pthread_mutex_lock(&n->view_lock);
			snprintf(n->store_down, sizeof n->store_down, "%.200s", *why ? why : "?");
			pthread_mutex_unlock(&n->view_lock);
			*down = 1;
		}
		return;
	}
	if (*down) {
		node__log(&n->opts, MT_NODE_LOG_INFO, "msg=\"store available again\"");
		pthread_mutex_lock(&n->view_lock);
		n->store_down[0] = '\0';
		pthread_mutex_unlock(&n->view_lock);
	}
	*down = 0;
	/* a reload (reload.c) asks for a view under the new settings */
	int reload = __atomic_exchange_n(&n->reload_pending, 0, __ATOMIC_ACQUIRE);
	/* Under a steady stream of writes the view is renewed at most every
	 * NODE_VIEW_DUTY times what the last renewal cost (capped at
	 * NODE_VIEW_MAX_GAP_MS), so that following the store takes a bounded
	 * share of a core however fast statements come; a quiet store is
	 * followed at once. */
	int64_t gap = __atomic_load_n(&n->view_cost_us, __ATOMIC_RELAXED) * NODE_VIEW_DUTY / 1000;
	if (gap > NODE_VIEW_MAX_GAP_MS)
		gap = NODE_VIEW_MAX_GAP_MS;
	if ((dv == *seen && !reload) || mono_ms() < *retry_ms ||
	    (!reload && mono_ms() < *last_ms + gap)) {
		if (reload)
			__atomic_store_n(&n->reload_pending, 1, __ATOMIC_RELEASE);
		return;
	}
	*last_ms = mono_ms();
	if (node__view_refresh(n, n->maint_store) == 0) {
		*seen = dv;
		*retry_ms = 0;
	} else {
		*retry_ms = mono_ms() + 1000;
		if (reload)
			__atomic_store_n(&n->reload_pending, 1, __ATOMIC_RELEASE);
	}
}

/* mt_node_sync_opts.peer_done: log one peer's result. */
static void sync_peer_done(const char *url, const char *summary, void *payload)
{
	mt_node *n = payload;
	char u[600], sum[800];
	node__esc(u, sizeof u, url);
	node__esc(sum, sizeof sum, summary);
	node__log(&n->opts, MT_NODE_LOG_INFO, "msg=sync peer=\"%s\" result=\"%s\"", u, sum);
}

/* The thread's loop, until mt_node_free sets `stopping`. */
static void *maintenance(void *arg)
{
	mt_node *n = arg;
	int64_t seen = data_version(n->maint_store, NULL), retry_ms = 0, chores_ms = 0, last_ms = 0;
	int down = 0;
	struct timespec last_sync;
	clock_gettime(CLOCK_MONOTONIC, &last_sync);
	pthread_mutex_lock(&n->maint_lock);
	while (!n->stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += NODE_FOLLOW_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (!n->dirty)
			pthread_cond_timedwait(&n->maint_cond, &n->maint_lock, &until);
		if (n->stopping)
			break;
		int woken = n->dirty;
		n->dirty = 0;
		pthread_mutex_unlock(&n->maint_lock);
		follow_store(n, &seen, &down, &retry_ms, &last_ms);
		/* the rest when woken, else every 100 ms */
		int64_t now_ms = mono_ms();
		if (woken || now_ms - chores_ms >= 100) {
			chores_ms = now_ms;
			node__conn_watchdog(n);
			node__topics_expire(n, (int64_t)time(NULL));
			node__nonces_sweep(n->nonces, (int64_t)time(NULL));
		}
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (n->opts.sync_interval > 0 && now.tv_sec - last_sync.tv_sec >= n->opts.sync_interval) {
			last_sync = now;
			node_conf c;
			node__conf(n, &c);
			mt_node_sync_opts so = {.max_depth = c.max_depth,
						.decay = c.decay,
						.n_decay = c.n_decay,
						.max_per_issuer = c.max_per_issuer,
						.max_per_peer = c.max_per_peer,
						.threads = 0,
						.peer_done = sync_peer_done,
						.peer_payload = n};
			mt_node_sync_stats st;
			mt_error err = {0};
			char **dirs = NULL;
			size_t n_dirs = 0;
			/* discover.directories: an unreadable value syncs with none (logged) */
			if (mt_config_directories(n->maint_store, &dirs, &n_dirs, &err) != 0) {
				char e[600];
				node__esc(e, sizeof e, err.msg);
				node__log(&n->opts, MT_NODE_LOG_WARN,
					  "msg=\"directories not read\" err=\"%s\"", e);
				err = (mt_error){0};
			}
			so.directories = (const char *const *)dirs;
			so.n_directories = n_dirs;
			int src = mt_node_sync_once(n->maint_store, &n->kp, &so, (int64_t)time(NULL),
						    &st, &err);
			free(dirs);
			if (src != 0) {
				__atomic_fetch_add(&n->sync_failures, 1, __ATOMIC_RELAXED);
				char e[600];
				node__esc(e, sizeof e, err.msg);
				node__log(&n->opts, MT_NODE_LOG_WARN,
					  "msg=\"sync failed\" err=\"%s\"", e);
			}
			__atomic_fetch_add(&n->syncs, 1, __ATOMIC_RELAXED);
		}
		pthread_mutex_lock(&n->maint_lock);
	}
	pthread_mutex_unlock(&n->maint_lock);
	return NULL;
}

int node__maint_start(mt_node *n)
{
	if (pthread_create(&n->maint, NULL, maintenance, n) != 0)
		return -1;
	n->maint_started = 1;
	return 0;
}

void node__maint_stop(mt_node *n)
{
	if (!n->maint_started)
		return;
	pthread_mutex_lock(&n->maint_lock);
	n->stopping = 1;
	pthread_cond_signal(&n->maint_cond);
	pthread_mutex_unlock(&n->maint_lock);
	pthread_join(n->maint, NULL);
}

void node__maint_wake(mt_node *n)
{
	pthread_mutex_lock(&n->maint_lock);
	n->dirty = 1;
	pthread_cond_signal(&n->maint_cond);
	pthread_mutex_unlock(&n->maint_lock);
}
