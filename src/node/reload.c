/* mt_node_reload: the settings a running node takes again (SIGHUP) without
 * dropping a connection.
 *
 * What changes and how the readers see it:
 * - the local policy: an atomic pointer (mt_node.policy). The replaced
 *   policy is kept in `retired` until mt_node_free, so a handler that loaded
 *   the old pointer just before the swap still reads valid memory: every
 *   policy a reload brought stays in `reloaded` until mt_node_free (the first
 *   one stays with its owner); the next requests see the new one. Views derive their per-scope policy from the
 *   local one, so the view is rebuilt (reload_pending).
 * - trust.maxDepth, trust.decay and the two daily quotas: copied under
 *   conf_lock (node__conf) by their readers, the view build, the sync round
 *   and the push handler.
 * - node.directory and node.metricsPublic: int flags read and written with
 *   __atomic builtins (checked on every request).
 * Reloads are rare: `reloaded` grows by one policy per reload that brings one. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/policy.h"
#include "node_http.h"

void node__conf(mt_node *n, node_conf *out)
{
	pthread_mutex_lock(&n->conf_lock);
	out->max_depth = n->opts.max_depth;
	memcpy(out->decay, n->opts.decay, sizeof out->decay);
	out->n_decay = n->opts.n_decay;
	out->max_per_issuer = n->opts.max_per_issuer;
	out->max_per_peer = n->opts.max_per_peer;
	pthread_mutex_unlock(&n->conf_lock);
}

int node__directory_on(const mt_node *n)
{
	return __atomic_load_n(&n->opts.directory, __ATOMIC_RELAXED);
}

int node__metrics_public(const mt_node *n)
{
	return __atomic_load_n(&n->opts.metrics_public, __ATOMIC_RELAXED);
}

int mt_node_reload(mt_node *n, const mt_node_settings *r, mt_error *err)
{
	if (!n || !r)
		return mt_error_set(err, MT_EINVAL, "reload: no node or no settings");
	if (r->max_depth < 1 || r->max_depth > 8)
		return mt_error_set(err, MT_EINVAL, "reload: trust.maxDepth %d is not in 1..8",
				    r->max_depth);
	if (r->n_decay < 1 || r->n_decay > 16)
		return mt_error_set(err, MT_EINVAL, "reload: trust.decay has %zu values (1..16)",
				    r->n_decay);
	for (size_t i = 0; i < r->n_decay; i++)
		if (!(r->decay[i] > 0.0 && r->decay[i] <= 1.0))
			return mt_error_set(err, MT_EINVAL,
					    "reload: trust.decay[%zu] = %g is not in (0,1]", i,
					    r->decay[i]);
	if (r->policy) {
		mt_policy **grown = realloc(n->reloaded, (n->n_reloaded + 1) * sizeof *grown);
		if (!grown)
			return mt_error_set(err, MT_ENOMEM, "reload: out of memory");
		n->reloaded = grown;
	}
	pthread_mutex_lock(&n->conf_lock);
	n->opts.max_depth = r->max_depth;
	memset(n->opts.decay, 0, sizeof n->opts.decay);
	memcpy(n->opts.decay, r->decay, r->n_decay * sizeof r->decay[0]);
	n->opts.n_decay = r->n_decay;
	n->opts.max_per_issuer = r->max_per_issuer;
	n->opts.max_per_peer = r->max_per_peer;
	__atomic_store_n(&n->opts.directory, r->directory ? 1 : 0, __ATOMIC_RELAXED);
	__atomic_store_n(&n->opts.metrics_public, r->metrics_public ? 1 : 0, __ATOMIC_RELAXED);
	if (r->policy) {
		/* the node owns the new policy until it is freed; the one it
		 * replaces stays alive with its owner (a handler may hold it) */
		n->reloaded[n->n_reloaded++] = r->policy;
		atomic_store(&n->policy, r->policy);
	}
	pthread_mutex_unlock(&n->conf_lock);
	__atomic_fetch_add(&n->reloads, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&n->reload_pending, 1, __ATOMIC_RELEASE);
	node__maint_wake(n);
	return 0;
}

uint64_t mt_node_reloads(const mt_node *n)
{
	return n ? __atomic_load_n(&n->reloads, __ATOMIC_RELAXED) : 0;
}

void node__reload_done(mt_node *n)
{
	for (size_t i = 0; i < n->n_reloaded; i++)
		mt_policy_free(n->reloaded[i]);
	free(n->reloaded);
	n->reloaded = NULL;
	n->n_reloaded = 0;
	pthread_mutex_destroy(&n->conf_lock);
}
