/* Derived views of the store (engine, horizon, per-scope trust), admission of
 * network statements (trust horizon + per-issuer / per-peer quotas), the
 * node's tables and its log writer. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meshtrust/config.h"
#include "meshtrust/gov.h"
#include "meshtrust/policy.h"
#include "meshtrust/pot.h"
#include "meshtrust/views.h"
#include "node_int.h"

/* Escape `in` into `out` (`size` bytes, NUL-terminated): C0 controls, DEL
 * and C1 controls (U+0080..U+009F) always (\n \r \t by name when `quotes`,
 * else \xNN), and `"` `\` only when `quotes`. Returns the length written. */
static size_t esc(char *out, size_t size, const char *in, int quotes)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (!size)
		return 0;
	for (const unsigned char *p = (const unsigned char *)(in ? in : ""); *p; p++) {
		char e[5];
		size_t k = 0;
		unsigned c = *p;
		if (quotes && (c == '"' || c == '\\')) {
			e[k++] = '\\';
			e[k++] = (char)c;
		} else if (quotes && (c == '\n' || c == '\r' || c == '\t')) {
			e[k++] = '\\';
			e[k++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		} else if (c < 0x20 || c == 0x7f || (c == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)) {
			if (c == 0xc2)
				c = *++p;
			e[k++] = '\\';
			e[k++] = 'x';
			e[k++] = hex[c >> 4];
			e[k++] = hex[c & 15];
		} else {
			e[k++] = (char)c;
		}
		if (o + k + 1 > size)
			break;
		memcpy(out + o, e, k);
		o += k;
	}
	out[o] = '\0';
	return o;
}

size_t node__esc(char *out, size_t size, const char *in)
{
	return esc(out, size, in, 1);
}

/* The logfmt pairs of `line` (key=value, key="value with \" escapes") as a
 * JSON object under `o`; what does not parse goes under "text". */
static void logfmt_json(json_t *o, const char *line)
{
	const char *p = line;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *k = p;
		while (*p && *p != '=' && *p != ' ')
			p++;
		if (*p != '=' || p == k) {
			json_object_set_new(o, "text", json_string(k));
			return;
		}
		char key[64];
		snprintf(key, sizeof key, "%.*s", (int)(p - k < 63 ? p - k : 63), k);
		p++;
		char val[4200];
		size_t n = 0;
		if (*p == '"') {
			p++;
			while (*p && *p != '"' && n < sizeof val - 1) {
				if (*p == '\\' && p[1])
					p++;
				val[n++] = *p++;
			}
			if (*p == '"')
				p++;
		} else {
			while (*p && *p != ' ' && n < sizeof val - 1)
				val[n++] = *p++;
		}
		val[n] = '\0';
		json_object_set_new(o, key, json_string(val));
	}
}

void node__log(const mt_node_opts *o, mt_node_log_level lvl, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	if (lvl > o->log_level)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	/* Values are escaped by the callers (node__esc); whatever control
	 * character is left still never reaches the log raw: one record is one
	 * line, and nothing in it can steer a terminal. */
	char safe[1024 * 4 + 1];
	esc(safe, sizeof safe, line, 0);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[32];
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	if (o->log_json) {
		char stamp[48];
		snprintf(stamp, sizeof stamp, "%s.%03ldZ", when, ts.tv_nsec / 1000000L);
		json_t *j = json_pack("{s:s,s:s}", "ts", stamp, "level", names[lvl]);
		if (j)
			logfmt_json(j, safe);
		char *text = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER)
			       : NULL;
		json_decref(j);
		if (text) {
			fprintf(stderr, "%s\n", text);
			free(text);
			return;
		}
	}
	/* One write per line so concurrent threads do not interleave. */
	fprintf(stderr, "ts=%s.%03ldZ level=%s %s\n", when, ts.tv_nsec / 1000000L, names[lvl],
		safe);
}

const char *node__url_target(const char *url)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	const char *slash = strchr(p, '/');
	return slash ? slash : "/";
}

static void add_horizon(json_t *h, const char *id, int level)
{
	json_t *cur = json_object_get(h, id);
	if (!cur || json_integer_value(cur) < level)
		json_object_set_new(h, id, json_integer(level));
}

/* Rotation links (SPEC §9.2), collected for the view. */
struct links {
	char (*old)[MT_NODE_ID_MAX];
	char (*new)[MT_NODE_ID_MAX];
	int *eff;
	size_t n, cap;
};

static int add_link(const char *old_id, const char *new_id, int effective, void *payload)
{
	struct links *l = payload;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *o = realloc(l->old, cap * sizeof *l->old);
		if (o)
			l->old = o;
		void *w = realloc(l->new, cap * sizeof *l->new);
		if (w)
			l->new = w;
		void *e = realloc(l->eff, cap * sizeof *l->eff);
		if (e)
			l->eff = e;
		if (!o || !w || !e)
			return MT_ENOMEM;
		l->cap = cap;
	}
	snprintf(l->old[l->n], MT_NODE_ID_MAX, "%s", old_id);
	snprintf(l->new[l->n], MT_NODE_ID_MAX, "%s", new_id);
	l->eff[l->n++] = effective;
	return 0;
}

/* The horizon and the re-announced set follow rotation chains both ways: a
 * trusted ID's successor (its feed holds the `key` that completes the
 * rotation; pending ones included) and its predecessors (their feeds hold
 * the rotate and the history carried over). Rotated-away IDs and the IDs
 * `self` rotated from are recorded. */
static int view_links(node_view *v, mt_store *s, mt_error *err)
{
	struct links l = {0};
	int rc = mt_store_rotation_links(s, add_link, &l, err);
	if (rc == MT_ENOMEM)
		rc = mt_error_set(err, MT_ENOMEM, "out of memory");
	for (int grew = 1, round = 0; !rc && grew && round < 16; round++) {
		grew = 0;
		for (size_t i = 0; i < l.n; i++) {
			json_t *lo = json_object_get(v->horizon, l.old[i]);
			json_t *ln = json_object_get(v->horizon, l.new[i]);
			json_int_t level = lo ? json_integer_value(lo) : 0;
			if (ln && json_integer_value(ln) > level)
				level = json_integer_value(ln);
			if ((lo || ln) && (!lo || !ln || json_integer_value(lo) != level ||
					   json_integer_value(ln) != level)) {
				add_horizon(v->horizon, l.old[i], (int)level);
				add_horizon(v->horizon, l.new[i], (int)level);
				grew = 1;
			}
			int ro = json_object_get(v->reannounce, l.old[i]) != NULL;
			int rn = json_object_get(v->reannounce, l.new[i]) != NULL;
			if (ro != rn) {
				json_object_set_new(v->reannounce, l.old[i], json_true());
				json_object_set_new(v->reannounce, l.new[i], json_true());
				grew = 1;
			}
			if (l.eff[i] && !json_object_get(v->rotated_away, l.old[i]))
				json_object_set_new(v->rotated_away, l.old[i], json_string(l.new[i]));
			if (l.eff[i] && (strcmp(l.new[i], v->self) == 0 ||
					 json_object_get(v->self_aliases, l.new[i])) &&
			    !json_object_get(v->self_aliases, l.old[i])) {
				json_object_set_new(v->self_aliases, l.old[i], json_true());
				grew = 1;
			}
		}
	}
	free(l.old);
	free(l.new);
	free(l.eff);
	return rc;
}

static int add_bridge(const char *iss, const char *scope, void *payload)
{
	(void)scope;
	return json_object_set_new(payload, iss, json_true()) != 0;
}

/* The communities this node is bound to (SPEC §6: the label's binding from
 * `community join`, config key community.<scope>, else the first genesis
 * claiming it) as scope -> {member: true}. */
static int view_communities(node_view *v, mt_store *s, int64_t now, mt_error *err)
{
	mt_pot_state *st = NULL;
	int rc = mt_pot_derive_store(&st, s, now, err);
	if (rc)
		return rc;
	v->communities = json_object();
	if (!v->comm_genesis)
		v->comm_genesis = json_object();
	if (!v->communities || !v->comm_genesis) {
		mt_pot_state_free(st);
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < st->n_communities; i++) {
		const mt_pot_community *c = &st->communities[i];
		if (json_object_get(v->communities, c->scope))
			continue;
		const mt_pot_community *use = mt_pot_community_bound(st, s, c->scope);
		if (!use)
			continue;
		json_object_set_new(v->comm_genesis, use->scope, json_string(use->genesis));
		json_t *members = json_object();
		for (size_t k = 0; members && k < use->n_members; k++)
			json_object_set_new(members, use->members[k].id, json_true());
		if (!members || json_object_set_new(v->communities, use->scope, members) != 0) {
			mt_pot_state_free(st);
			return mt_error_set(err, MT_ENOMEM, "out of memory");
		}
	}
	mt_pot_state_free(st);
	return 0;
}

int node__view_build(node_view **out, mt_store *s, const char *self, int max_depth,
		     const double *decay, size_t n_decay, int64_t now, mt_error *err)
{
	*out = NULL;
	node_view *v = calloc(1, sizeof *v);
	if (!v)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	pthread_mutex_init(&v->lock, NULL);
	v->refs = 1;
	snprintf(v->self, sizeof v->self, "%s", self);
	v->max_depth = max_depth;
	v->n_decay = n_decay > 16 ? 16 : n_decay;
	memcpy(v->decay, decay, v->n_decay * sizeof *decay);
	v->built_at = now;
	int rc;
	if ((rc = mt_store_digest_hex(s, v->digest, &v->count, err)) ||
	    (rc = mt_store_edges(s, &v->edges, &v->n_edges, INT64_MAX, err)) ||
	    (rc = mt_engine_new(&v->engine, v->edges, v->n_edges, err)))
		goto fail;
	v->horizon = json_object();
	v->reannounce = json_object();
	v->bridges = json_object();
	v->xcache = json_object();
	v->rotated_away = json_object();
	v->self_aliases = json_object();
	v->scope_count = json_object();
	if (!v->horizon || !v->reannounce || !v->bridges || !v->xcache || !v->rotated_away ||
	    !v->self_aliases || !v->scope_count) {
		rc = mt_error_set(err, MT_ENOMEM, "out of memory");
		goto fail;
	}
	add_horizon(v->horizon, self, MT_LEVEL_FULL);
	json_object_set_new(v->reannounce, self, json_true());
	size_t nscopes = 0;
	const char *const *scopes = mt_engine_scopes(v->engine, &nscopes);
	for (size_t i = 0; i < nscopes; i++) {
		node_scope_view *sv = node__view_scope(v, scopes[i]);
		if (!sv) {
			rc = mt_error_set(err, MT_ENOMEM, "trust view of scope %s failed", scopes[i]);
			goto fail;
		}
		int global = strcmp(scopes[i], "global") == 0;
		for (size_t k = 0; k < sv->res->count; k++) {
			const mt_trust_entry *e = &sv->res->entries[k];
			add_horizon(v->horizon, e->id, e->level);
			json_t *cnt = json_object_get(v->scope_count, e->id);
			json_object_set_new(v->scope_count, e->id,
					    json_integer(cnt ? json_integer_value(cnt) + 1 : 1));
			/* Re-announce (SPEC §9.4): full in the own global trust list. */
			if (global && e->level == MT_LEVEL_FULL)
				json_object_set_new(v->reannounce, e->id, json_true());
		}
	}
	/* communities are derived on first use (node__view_communities): the
	 * proof-of-trust replay is not paid by views nobody asks that of (sync
	 * builds one per pass) */
	if ((rc = view_links(v, s, err)) || (rc = mt_store_bridges(s, add_bridge, v->bridges, err)))
		goto fail;
	*out = v;
	return 0;
fail:
	node__view_free(v);
	return rc;
}

void node__view_free(node_view *v)
{
	if (!v)
		return;
	for (node_scope_view *sv = v->scopes, *next; sv; sv = next) {
		next = sv->next;
		free(sv->scope);
		mt_trust_result_free(sv->res);
		free(sv->pos);
		free(sv->metrics_json);
		mt_policy_free(sv->policy);
		json_decref(sv->policy_doc);
		if (sv->approved) {
			mt_gov_policy_clear(sv->approved);
			free(sv->approved);
		}
		free(sv);
	}
	json_decref(v->horizon);
	json_decref(v->reannounce);
	json_decref(v->rotated_away);
	json_decref(v->self_aliases);
	json_decref(v->scope_count);
	json_decref(v->comm_genesis);
	mt_gov_state_free(v->gov);
	json_decref(v->bridges);
	json_decref(v->communities);
	json_decref(v->xcache);
	mt_engine_free(v->engine);
	free(v->edges);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

node_scope_view *node__view_scope(node_view *v, const char *scope)
{
	pthread_mutex_lock(&v->lock);
	node_scope_view *sv = v->scopes;
	for (; sv; sv = sv->next)
		if (strcmp(sv->scope, scope) == 0)
			goto done;
	/* A scope no edge names has no trust in it: every such scope shares one
	 * empty entry, so callers choosing scope names cannot grow the cache. */
	size_t nscopes = 0;
	const char *const *scopes = mt_engine_scopes(v->engine, &nscopes);
	int known = 0;
	for (size_t i = 0; i < nscopes && !known; i++)
		known = strcmp(scopes[i], scope) == 0;
	if (!known) {
		for (sv = v->scopes; sv; sv = sv->next)
			if (sv->unknown)
				goto done;
		scope = "\x01";
	}
	sv = calloc(1, sizeof *sv);
	if (!sv)
		goto done;
	sv->gini = -1;
	sv->top10 = -1;
	size_t n = mt_engine_node_count(v->engine);
	sv->scope = strdup(scope);
	sv->pos = malloc((n ? n : 1) * sizeof *sv->pos);
	mt_trust_query q = {v->self, scope, v->built_at, v->max_depth, v->decay, v->n_decay};
	if (!sv->scope || !sv->pos || mt_engine_trust(&sv->res, v->engine, &q, NULL, NULL) != 0) {
		free(sv->scope);
		free(sv->pos);
		free(sv);
		sv = NULL;
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		sv->pos[i] = -1;
	for (size_t k = 0; k < sv->res->count; k++)
		sv->pos[sv->res->entries[k].node] = (int32_t)k;
	sv->unknown = !known;
	sv->next = v->scopes;
	v->scopes = sv;
done:
	pthread_mutex_unlock(&v->lock);
	return sv;
}

const mt_trust_entry *node__scope_entry(const node_view *v, const node_scope_view *sv,
					const char *id)
{
	int64_t idx = mt_engine_node_index(v->engine, id);
	if (idx < 0 || sv->pos[idx] < 0)
		return NULL;
	return &sv->res->entries[sv->pos[idx]];
}

const char *node__rotated_to(const node_view *v, const char *id)
{
	return json_string_value(json_object_get(v->rotated_away, id));
}

int node__is_self(const node_view *v, const char *id)
{
	return strcmp(id, v->self) == 0 || json_object_get(v->self_aliases, id) != NULL;
}

int node__in_horizon(const node_view *v, const char *iss)
{
	return json_object_get(v->horizon, iss) != NULL;
}

const json_t *node__view_communities(node_view *v, mt_store *s)
{
	pthread_mutex_lock(&v->lock);
	if (!v->communities) {
		mt_error err = {0};
		if (view_communities(v, s, v->built_at, &err) != 0) {
			json_decref(v->communities);
			v->communities = NULL;
		}
	}
	const json_t *c = v->communities;
	pthread_mutex_unlock(&v->lock);
	return c;
}

int node__multi_scope(const node_view *v, const char *id)
{
	return json_integer_value(json_object_get(v->scope_count, id)) >= 2;
}

const struct mt_policy *node__scope_policy(node_view *v, node_scope_view *sv, mt_store *s,
					   const struct mt_policy *local,
					   const struct mt_gov_policy **approved)
{
	*approved = NULL;
	(void)node__view_communities(v, s); /* the bound geneses (takes the lock itself) */
	pthread_mutex_lock(&v->lock);
	if (!v->gov_ready) {
		mt_error err = {0};
		if (mt_gov_derive_store(&v->gov, s, v->built_at, &err) != 0)
			v->gov = NULL; /* then no community policy: the local one */
		v->gov_ready = 1;
	}
	if (!sv->policy_ready) {
		sv->policy_ready = 1;
		const char *g = json_string_value(json_object_get(v->comm_genesis, sv->scope));
		const mt_gov_community *c = g && v->gov ? mt_gov_community_get(v->gov, g) : NULL;
		int looser = 0;
		mt_error err = {0};
		if (mt_config_bool(s, "policy.acceptLooser", &looser, &err) != 0)
			looser = 0;
		sv->policy = malloc(sizeof *sv->policy);
		if (sv->policy && mt_view_policy_in_force(sv->policy, &sv->policy_doc, sv->scope,
							  local, "local", c, looser) != 0) {
			free(sv->policy);
			sv->policy = NULL;
		}
		if (c && (sv->approved = calloc(1, sizeof *sv->approved)) &&
		    mt_gov_policy_copy(sv->approved, &c->policy) != 0) {
			free(sv->approved);
			sv->approved = NULL;
		}
	}
	const struct mt_policy *p = sv->policy ? sv->policy : local;
	*approved = sv->approved;
	pthread_mutex_unlock(&v->lock);
	return p;
}

int node__reannounced(const node_view *v, const char *iss)
{
	return json_object_get(v->reannounce, iss) != NULL;
}

/* ---- admission --------------------------------------------------------- */

enum { QUOTA_ISSUER = 0, QUOTA_PEER = 1 };

int node__admit_init(node_admit *a, mt_store *s, const node_view *view, const char *peer,
		     uint64_t max_issuer, uint64_t max_peer, int64_t now, mt_error *err)
{
	memset(a, 0, sizeof *a);
	a->s = s;
	a->view = view;
	a->peer = peer;
	a->max_issuer = max_issuer ? max_issuer : NODE_DEFAULT_PER_ISSUER;
	a->max_peer = max_peer ? max_peer : NODE_DEFAULT_PER_PEER;
	a->now = now;
	a->peer_used = -1;
	a->issuer_used = json_object();
	a->issuer_pending = json_object();
	a->issuer_maxseq = json_object();
	if (!a->issuer_used || !a->issuer_pending || !a->issuer_maxseq) {
		node__admit_done(a);
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	}
	/* counts older than the window are of no use any more (best effort) */
	mt_store_quota_prune(s, (now - NODE_QUOTA_WINDOW) / 60, NULL);
	return 0;
}

void node__admit_done(node_admit *a)
{
	json_decref(a->issuer_used);
	json_decref(a->issuer_pending);
	json_decref(a->issuer_maxseq);
	a->issuer_used = a->issuer_pending = a->issuer_maxseq = NULL;
}

/* Statements of (kind, key) admitted in the window; 0 when unreadable. */
static int64_t quota_sum(node_admit *a, int kind, const char *key)
{
	uint64_t n = 0;
	if (mt_store_quota_sum(a->s, kind, key, (a->now - NODE_QUOTA_WINDOW) / 60, &n, NULL))
		return 0;
	return n > INT64_MAX ? INT64_MAX : (int64_t)n;
}

int node__admit_flush(void *payload, mt_error *err)
{
	node_admit *a = payload;
	const char *key;
	json_t *v;
	json_object_foreach(a->issuer_pending, key, v)
	{
		int rc = mt_store_quota_add(a->s, QUOTA_ISSUER, key, a->now / 60,
					    (uint64_t)json_integer_value(v), err);
		if (rc) {
			mt_error_wrap(err, "quota table");
			return rc;
		}
	}
	json_object_clear(a->issuer_pending);
	json_object_clear(a->issuer_maxseq); /* other writers may add before the next batch */
	if (a->peer && a->peer_pending) {
		int rc = mt_store_quota_add(a->s, QUOTA_PEER, a->peer, a->now / 60,
					    (uint64_t)a->peer_pending, err);
		if (rc) {
			mt_error_wrap(err, "quota table");
			return rc;
		}
		a->peer_pending = 0;
	}
	/* The counts are read again by the next batch, inside its own write
	 * transaction: another process on the same store (two nodes on one
	 * PostgreSQL database) may have admitted statements of the same issuers
	 * or peer meanwhile, and the quota is over every node together. */
	json_object_clear(a->issuer_used);
	a->peer_used = -1;
	return 0;
}

/* Statements of `iss` admitted in the window: read once, then counted here. */
static int64_t issuer_used(node_admit *a, const char *iss)
{
	json_t *used = json_object_get(a->issuer_used, iss);
	if (used)
		return json_integer_value(used);
	int64_t iu = quota_sum(a, QUOTA_ISSUER, iss);
	json_object_set_new(a->issuer_used, iss, json_integer(iu));
	return iu;
}

/* Statements from the peer in the window (a->peer set): read once. */
static int64_t peer_used(node_admit *a)
{
	if (a->peer_used < 0)
		a->peer_used = quota_sum(a, QUOTA_PEER, a->peer);
	return a->peer_used;
}

uint64_t node__admit_issuer_room(node_admit *a, const char *iss)
{
	if (a->view && strcmp(iss, a->view->self) == 0)
		return UINT64_MAX; /* own feed: no quota */
	uint64_t iu = (uint64_t)issuer_used(a, iss);
	return iu >= a->max_issuer ? 0 : a->max_issuer - iu;
}

uint64_t node__admit_peer_room(node_admit *a)
{
	if (!a->peer)
		return UINT64_MAX;
	uint64_t pu = (uint64_t)peer_used(a);
	return pu >= a->max_peer ? 0 : a->max_peer - pu;
}

/* Set obj[key] to the integer v, in place when it is there (no allocation
 * per statement). Returns 0, or -1 when memory runs out. */
static int counter_set(json_t *obj, const char *key, json_int_t v)
{
	json_t *x = json_object_get(obj, key);
	if (x)
		return json_integer_set(x, v);
	return json_object_set_new(obj, key, json_integer(v));
}

int node__admit(void *payload, const mt_stmt *st, char reason[256])
{
	node_admit *a = payload;
	/* A duplicate costs no quota. Only a seq the store already reaches can be
	 * one: the issuer's highest seq is read once per batch (inside its
	 * transaction) and raised as statements are admitted, so the id lookup is
	 * skipped for what is plainly new. */
	json_t *mx = json_object_get(a->issuer_maxseq, st->iss);
	uint64_t known = 0;
	if (mx) {
		known = (uint64_t)json_integer_value(mx);
	} else {
		mt_feed_info fi;
		known = mt_store_feed(a->s, st->iss, &fi, NULL) == 0 ? fi.max_seq : 0;
	}
	if (st->seq <= known) {
		int dup = 0;
		mt_store_contains(a->s, st->id, &dup, NULL);
		if (dup)
			return 0; /* the store reports it as a duplicate */
	}
	if (counter_set(a->issuer_maxseq, st->iss,
			(json_int_t)(st->seq > known ? st->seq : known))) {
		snprintf(reason, 256, "out of memory");
		return 1;
	}
	if (a->view && !node__in_horizon(a->view, st->iss)) {
		a->refused_horizon++;
		snprintf(reason, 256, "issuer %s is outside this node's trust horizon", st->iss);
		return 1;
	}
	if (a->view && strcmp(st->iss, a->view->self) == 0)
		return 0; /* own feed: no quota */
	int64_t iu = issuer_used(a, st->iss);
	if ((uint64_t)iu >= a->max_issuer) {
		a->refused_quota++;
		snprintf(reason, 256,
			 "over quota: issuer %s already has %lld statements accepted in the last "
			 "86400 s (node.maxStatementsPerIssuerPerDay %llu)",
			 st->iss, (long long)iu, (unsigned long long)a->max_issuer);
		return 1;
	}
	if (a->peer) {
		if ((uint64_t)peer_used(a) >= a->max_peer) {
			a->refused_quota++;
			snprintf(reason, 256,
				 "over quota: peer %s already delivered %lld statements in the last "
				 "86400 s (node.maxStatementsPerPeerPerDay %llu)",
				 a->peer, (long long)a->peer_used, (unsigned long long)a->max_peer);
			return 1;
		}
		a->peer_used++;
		a->peer_pending++;
	}
	json_t *pend = json_object_get(a->issuer_pending, st->iss);
	if (counter_set(a->issuer_used, st->iss, iu + 1) ||
	    counter_set(a->issuer_pending, st->iss, (pend ? json_integer_value(pend) : 0) + 1)) {
		snprintf(reason, 256, "out of memory");
		return 1;
	}
	return 0;
}
