/* Derived views of the store (engine, horizon, per-scope trust), admission of
 * network statements (trust horizon + per-issuer / per-peer quotas), the
 * node's tables and its log writer. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "meshtrust/config.h"
#include "meshtrust/encoding.h"
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
 * `self` rotated from are recorded, and every ID of a link in rot_ids. */
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
	/* every ID of a link: edges of theirs are carried across rotations */
	for (size_t i = 0; !rc && i < l.n; i++)
		if (json_object_set_new(v->rot_ids, l.old[i], json_true()) ||
		    json_object_set_new(v->rot_ids, l.new[i], json_true()))
			rc = mt_error_set(err, MT_ENOMEM, "out of memory");
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

/* ---- shared parts: the engine and the sorted ids -------------------------- */

static void eng_unref(node_engine_ref *r)
{
	if (r && __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		mt_engine_free(r->engine);
		free(r);
	}
}

static node_engine_ref *eng_wrap(mt_engine *e)
{
	node_engine_ref *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->refs = 1;
	r->engine = e;
	return r;
}

static void ids_unref(node_idset *x)
{
	if (x && __atomic_sub_fetch(&x->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		free(x->ids);
		free(x);
	}
}

static int ids_push(const unsigned char id[32], void *payload)
{
	node_idset *x = payload;
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 4096;
		unsigned char *p = realloc(x->ids, cap * 32);
		if (!p)
			return MT_ENOMEM;
		x->ids = p;
		x->cap = cap;
	}
	memcpy(x->ids + x->n * 32, id, 32);
	x->n++;
	return 0;
}

/* SPEC §1: BLAKE2b-256 over the ids in ascending order. */
static void ids_digest(node_idset *x)
{
	unsigned char d[32];
	crypto_generichash(d, sizeof d, x->ids, (unsigned long long)x->n * 32, NULL, 0);
	mt_hex_encode(x->digest, sizeof x->digest, d, sizeof d);
}

static int cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* Index of the first id of `x` not below `id` (binary search). */
static size_t ids_lower(const node_idset *x, const unsigned char *id)
{
	size_t lo = 0, hi = x->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(x->ids + mid * 32, id, 32) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A new set: `old`'s ids and `add[0..k)` (sorted here), each id once. The
 * old ids between two new ones are copied as one block: O(k log n) compares
 * and one pass of memcpy. */
static node_idset *ids_merge(const node_idset *old, unsigned char *add, size_t k)
{
	if (k > 1)
		qsort(add, k, 32, cmp_id);
	node_idset *x = calloc(1, sizeof *x);
	if (!x)
		return NULL;
	x->refs = 1;
	x->cap = old->n + k;
	x->ids = malloc((x->cap ? x->cap : 1) * 32);
	if (!x->ids) {
		free(x);
		return NULL;
	}
	size_t from = 0; /* old ids copied so far */
	for (size_t j = 0; j < k; j++) {
		const unsigned char *id = add + j * 32;
		if (j && memcmp(add + (j - 1) * 32, id, 32) == 0)
			continue; /* twice in `add` */
		size_t at = ids_lower(old, id);
		if (at < from)
			at = from;
		if (at > from)
			memcpy(x->ids + x->n * 32, old->ids + from * 32, (at - from) * 32);
		x->n += at - from;
		from = at;
		if (at < old->n && memcmp(old->ids + at * 32, id, 32) == 0)
			continue; /* held already (read twice around a full build) */
		memcpy(x->ids + x->n * 32, id, 32);
		x->n++;
	}
	if (old->n > from)
		memcpy(x->ids + x->n * 32, old->ids + from * 32, (old->n - from) * 32);
	x->n += old->n - from;
	ids_digest(x);
	return x;
}

/* ---- building a view ------------------------------------------------------ */

/* A view with its settings, nothing derived yet. */
static node_view *view_new(const char *self, int max_depth, const double *decay,
			   size_t n_decay, int64_t now)
{
	node_view *v = calloc(1, sizeof *v);
	if (!v)
		return NULL;
	pthread_mutex_init(&v->lock, NULL);
	v->refs = 1;
	snprintf(v->self, sizeof v->self, "%s", self);
	v->max_depth = max_depth;
	v->n_decay = n_decay > 16 ? 16 : n_decay;
	memcpy(v->decay, decay, v->n_decay * sizeof *decay);
	v->built_at = now;
	return v;
}

/* Everything a view derives from its engine, ids and the store's small
 * tables (rotation links, bridges): the per-scope answers, the horizon, the
 * re-announced set. */
static int view_assemble(node_view *v, mt_store *s, mt_error *err)
{
	int rc;
	v->engine = v->eng->engine;
	memcpy(v->digest, v->ids->digest, sizeof v->digest);
	v->count = v->ids->n;
	v->horizon = json_object();
	v->reannounce = json_object();
	v->bridges = json_object();
	v->xcache = json_object();
	v->rotated_away = json_object();
	v->self_aliases = json_object();
	v->scope_count = json_object();
	v->rot_ids = json_object();
	if (!v->horizon || !v->reannounce || !v->bridges || !v->xcache || !v->rotated_away ||
	    !v->self_aliases || !v->scope_count || !v->rot_ids)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	add_horizon(v->horizon, v->self, MT_LEVEL_FULL);
	json_object_set_new(v->reannounce, v->self, json_true());
	size_t nscopes = 0;
	const char *const *scopes = mt_engine_scopes(v->engine, &nscopes);
	for (size_t i = 0; i < nscopes; i++) {
		node_scope_view *sv = node__view_scope(v, scopes[i]);
		if (!sv)
			return mt_error_set(err, MT_ENOMEM, "trust view of scope %s failed", scopes[i]);
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
	if ((rc = view_links(v, s, err)))
		return rc;
	return mt_store_bridges(s, add_bridge, v->bridges, err);
}

int node__view_build(node_view **out, mt_store *s, const char *self, int max_depth,
		     const double *decay, size_t n_decay, int64_t now, mt_error *err)
{
	*out = NULL;
	node_view *v = view_new(self, max_depth, decay, n_decay, now);
	if (!v)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	int rc;
	mt_edge_in *edges = NULL;
	size_t n_edges = 0;
	mt_engine *e = NULL;
	/* the position first: whatever is stored while the rest is read comes
	 * again in the next node__view_next, where it changes nothing twice
	 * (edges are read as they are then, ids are merged once) */
	if ((rc = mt_store_log_position(s, &v->pos, err)))
		goto fail;
	if (!(v->ids = calloc(1, sizeof *v->ids))) {
		rc = mt_error_set(err, MT_ENOMEM, "out of memory");
		goto fail;
	}
	v->ids->refs = 1;
	if ((rc = mt_store_ids(s, ids_push, v->ids, err))) {
		if (rc == MT_ENOMEM)
			mt_error_set(err, MT_ENOMEM, "out of memory");
		goto fail;
	}
	ids_digest(v->ids);
	if ((rc = mt_store_edges(s, &edges, &n_edges, INT64_MAX, err)) ||
	    (rc = mt_engine_new(&e, edges, n_edges, err)))
		goto fail;
	free(edges);
	edges = NULL;
	if (!(v->eng = eng_wrap(e))) {
		mt_engine_free(e);
		rc = mt_error_set(err, MT_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = view_assemble(v, s, err)))
		goto fail;
	*out = v;
	return 0;
fail:
	free(edges);
	node__view_free(v);
	return rc;
}

/* ---- following the store by differences ------------------------------------ */

/* Statements after the view's position at most (more: a full build). */
#define VIEW_DELTA_MAX 200000u

struct delta {
	const node_view *old;
	node_idset add;     /* the statements' ids, in log order */
	uint64_t last;
	int full;           /* a statement the patch cannot follow */
	char **keys;        /* iss \n target \n scope of every trust/revoke */
	size_t n_keys, cap_keys;
	struct dseq {
		char *iss;
		uint64_t seq;
	} *seqs;            /* (issuer, seq) of every statement */
	size_t n_seqs, cap_seqs;
};

static int delta_seq(struct delta *d, const char *iss, uint64_t seq)
{
	if (d->n_seqs == d->cap_seqs) {
		size_t cap = d->cap_seqs ? d->cap_seqs * 2 : 256;
		struct dseq *p = realloc(d->seqs, cap * sizeof *p);
		if (!p)
			return MT_ENOMEM;
		d->seqs = p;
		d->cap_seqs = cap;
	}
	if (!(d->seqs[d->n_seqs].iss = strdup(iss)))
		return MT_ENOMEM;
	d->seqs[d->n_seqs++].seq = seq;
	return 0;
}

static int delta_key(struct delta *d, const char *iss, const char *target, const char *scope)
{
	if (d->n_keys == d->cap_keys) {
		size_t cap = d->cap_keys ? d->cap_keys * 2 : 256;
		char **k = realloc(d->keys, cap * sizeof *k);
		if (!k)
			return MT_ENOMEM;
		d->keys = k;
		d->cap_keys = cap;
	}
	size_t a = strlen(iss), b = strlen(target), c = strlen(scope);
	char *key = malloc(a + b + c + 3);
	if (!key)
		return MT_ENOMEM;
	memcpy(key, iss, a);
	key[a] = '\n';
	memcpy(key + a + 1, target, b);
	key[a + 1 + b] = '\n';
	memcpy(key + a + b + 2, scope, c + 1);
	d->keys[d->n_keys++] = key;
	return 0;
}

/* The trust/revoke key of `st` into the delta (0, or non-zero to stop:
 * 1 when the full build must judge, MT_ENOMEM). */
static int delta_stmt_key(struct delta *d, const mt_stmt *st)
{
	switch (st->type) {
	case MT_ST_TRUST:
	case MT_ST_REVOKE: {
		const char *target = mt_stmt_str(st, "target");
		const char *scope = mt_stmt_str(st, "scope");
		if (!target || json_object_get(d->old->rot_ids, st->iss) ||
		    json_object_get(d->old->rot_ids, target)) {
			d->full = 1; /* edges carried across a rotation */
			return 1;
		}
		return delta_key(d, st->iss, target, scope ? scope : "global");
	}
	case MT_ST_ROTATE:
	case MT_ST_KEY:
		d->full = 1;
		return 1;
	default:
		return 0; /* no edge: lessons, bridges, referrals, pot, governance */
	}
}

static int delta_visit(const mt_log_entry *e, void *payload)
{
	struct delta *d = payload;
	d->last = e->pos;
	int rc = ids_push(e->id, &d->add);
	if (rc)
		return rc;
	mt_stmt *st = NULL;
	mt_error perr = {0};
	/* stored statements were checked on the way in; one that does not
	 * reparse here is the full build's to judge */
	if (mt_stmt_reparse(&st, e->canon, e->len, INT64_MAX, &perr) != 0) {
		d->full = 1;
		return 1;
	}
	rc = delta_seq(d, st->iss, st->seq);
	if (!rc)
		rc = delta_stmt_key(d, st);
	mt_stmt_free(st);
	return rc;
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_dseq(const void *a, const void *b)
{
	const struct dseq *x = a, *y = b;
	int c = strcmp(x->iss, y->iss);
	return c ? c : x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* mt_store_feed_page visitor: the keys of statements applied only now. */
static int pulled_visit(const char *iss, uint64_t seq, const char *canon, size_t len,
			void *payload)
{
	(void)iss;
	(void)seq;
	struct delta *d = payload;
	mt_stmt *st = NULL;
	mt_error perr = {0};
	if (mt_stmt_reparse(&st, canon, len, INT64_MAX, &perr) != 0) {
		d->full = 1;
		return 1;
	}
	int rc = delta_stmt_key(d, st);
	mt_stmt_free(st);
	return rc;
}

/* The edge (iss -> target in scope) as the store holds it now: *present 0
 * when there is none. The statement the projection names gives its level,
 * score and expiry (SPEC §2 trust fields; mt_store_edges reads the same). */
static int edge_now(mt_store *s, const char *iss, const char *target, const char *scope,
		    mt_edge_in *out, int *present, mt_stmt **hold, mt_error *err)
{
	unsigned char id[32];
	uint64_t seq = 0;
	*present = 0;
	int rc = mt_store_edge_get(s, iss, target, scope, id, &seq, err);
	if (rc == MT_ENOTFOUND) {
		*err = (mt_error){0};
		return 0;
	}
	if (rc)
		return rc;
	char *canon = NULL;
	size_t len = 0;
	if ((rc = mt_store_get(s, id, &canon, &len, err)))
		return rc;
	rc = mt_stmt_reparse(hold, canon, len, INT64_MAX, err);
	free(canon);
	if (rc)
		return rc;
	const mt_stmt *st = *hold;
	mt_level level = MT_LEVEL_NONE;
	const char *lv = mt_stmt_str(st, "level");
	if (lv && mt_level_parse(lv, &level) != 0)
		level = MT_LEVEL_NONE;
	int64_t score = mt_stmt_int(st, "score", 1000);
	out->src = iss;
	out->dst = target;
	out->scope = scope;
	out->level = level;
	out->score = (uint16_t)(score < 0 ? 0 : score > 1000 ? 1000 : score);
	out->exp = mt_stmt_int(st, "exp", 0);
	*present = 1;
	return 0;
}

int node__view_next(node_view **out, const node_view *old, mt_store *s, const char *self,
		    int max_depth, const double *decay, size_t n_decay, int64_t now, int *how,
		    mt_error *err)
{
	*out = NULL;
	*how = 0;
	if (!old || strcmp(old->self, self) != 0 || old->max_depth != max_depth ||
	    old->n_decay != (n_decay > 16 ? 16 : n_decay) ||
	    memcmp(old->decay, decay, old->n_decay * sizeof *decay) != 0)
		return node__view_build(out, s, self, max_depth, decay, n_decay, now, err);
	struct delta d = {.old = old, .last = old->pos};
	mt_edge_change *ch = NULL;
	mt_stmt **held = NULL;
	size_t n_ch = 0;
	node_view *v = NULL;
	int rc = mt_store_log_since(s, old->pos, VIEW_DELTA_MAX + 1, delta_visit, &d, err);
	if (rc == 1 || d.add.n > VIEW_DELTA_MAX)
		d.full = 1, rc = 0;
	else if (rc == MT_ENOMEM)
		rc = mt_error_set(err, MT_ENOMEM, "out of memory");
	if (rc)
		goto done;
	/* Per issuer of the delta: a fork is the full build's (the projection's
	 * own rule); statements stored before the view and applied only now (a
	 * gap the delta filled pulls the held successors) bring their keys. */
	if (d.n_seqs > 1)
		qsort(d.seqs, d.n_seqs, sizeof *d.seqs, cmp_dseq);
	for (size_t i = 0, j; i < d.n_seqs && !d.full && !rc; i = j) {
		uint64_t lo = d.seqs[i].seq;
		for (j = i; j < d.n_seqs && strcmp(d.seqs[j].iss, d.seqs[i].iss) == 0; j++)
			;
		mt_feed_info fi = {0};
		int frc = mt_store_feed(s, d.seqs[i].iss, &fi, err);
		if (frc && frc != MT_ENOTFOUND) {
			rc = frc;
			goto done;
		}
		if (frc) {
			*err = (mt_error){0};
			continue;
		}
		if (fi.fork_seq != 0) {
			d.full = 1;
			break;
		}
		uint64_t in_range = 0;
		for (size_t k = i; k < j; k++)
			in_range += d.seqs[k].seq <= fi.head_seq &&
				    (k == i || d.seqs[k].seq != d.seqs[k - 1].seq);
		if (fi.head_seq >= lo && in_range != fi.head_seq - lo + 1) {
			rc = mt_store_feed_page(s, d.seqs[i].iss, lo, fi.head_seq - lo + 1,
						pulled_visit, &d, err);
			if (rc == 1)
				rc = 0, d.full = 1;
			else if (rc == MT_ENOMEM)
				rc = mt_error_set(err, MT_ENOMEM, "out of memory");
		}
	}
	if (rc)
		goto done;
	/* one change per key (the pulled ones included), read as the store
	 * holds it now */
	if (d.n_keys > 1)
		qsort(d.keys, d.n_keys, sizeof *d.keys, cmp_strp);
	size_t u = 0;
	for (size_t i = 0; i < d.n_keys; i++) {
		if (u && strcmp(d.keys[u - 1], d.keys[i]) == 0) {
			free(d.keys[i]);
			continue;
		}
		d.keys[u++] = d.keys[i];
	}
	d.n_keys = u;
	if (d.full) {
		rc = node__view_build(out, s, self, max_depth, decay, n_decay, now, err);
		goto done;
	}
	ch = calloc(d.n_keys ? d.n_keys : 1, sizeof *ch);
	held = calloc(d.n_keys ? d.n_keys : 1, sizeof *held);
	if (!ch || !held) {
		rc = mt_error_set(err, MT_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < d.n_keys; i++) {
		/* split the key in place: iss \0 target \0 scope */
		char *iss = d.keys[i], *t = strchr(iss, '\n'), *sc = strchr(t + 1, '\n');
		*t++ = '\0';
		*sc++ = '\0';
		if (strcmp(iss, t) == 0)
			continue; /* never an edge (mt_store_edges drops self-edges) */
		int present = 0;
		if ((rc = edge_now(s, iss, t, sc, &ch[n_ch].edge, &present, &held[i], err)))
			goto done;
		if (!present) {
			ch[n_ch].edge = (mt_edge_in){.src = iss, .dst = t, .scope = sc};
			ch[n_ch].remove = 1;
		}
		n_ch++;
	}
	v = view_new(self, max_depth, decay, n_decay, now);
	if (!v) {
		rc = mt_error_set(err, MT_ENOMEM, "out of memory");
		goto done;
	}
	v->pos = d.last;
	if (d.add.n) {
		if (!(v->ids = ids_merge(old->ids, d.add.ids, d.add.n))) {
			rc = mt_error_set(err, MT_ENOMEM, "out of memory");
			goto done;
		}
	} else {
		__atomic_add_fetch(&old->ids->refs, 1, __ATOMIC_ACQ_REL);
		v->ids = old->ids;
	}
	if (n_ch) {
		mt_engine *e = NULL;
		if ((rc = mt_engine_patch(&e, old->engine, ch, n_ch, err)))
			goto done;
		if (!(v->eng = eng_wrap(e))) {
			mt_engine_free(e);
			rc = mt_error_set(err, MT_ENOMEM, "out of memory");
			goto done;
		}
		*how = 1;
	} else {
		__atomic_add_fetch(&old->eng->refs, 1, __ATOMIC_ACQ_REL);
		v->eng = old->eng;
		*how = d.add.n ? 1 : 2;
	}
	if ((rc = view_assemble(v, s, err)))
		goto done;
	*out = v;
	v = NULL;
done:
	node__view_free(v);
	for (size_t i = 0; i < d.n_keys; i++) {
		free(d.keys[i]);
		if (held)
			mt_stmt_free(held[i]);
	}
	free(d.keys);
	for (size_t i = 0; i < d.n_seqs; i++)
		free(d.seqs[i].iss);
	free(d.seqs);
	free(held);
	free(ch);
	free(d.add.ids);
	return rc;
}

int node__view_edges(node_view *v)
{
	pthread_mutex_lock(&v->lock);
	int rc = 0;
	if (!v->edges_ready) {
		mt_error err = {0};
		rc = mt_engine_edges(v->engine, &v->edges, &v->n_edges, &err);
		v->edges_ready = rc == 0;
	}
	pthread_mutex_unlock(&v->lock);
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
	json_decref(v->rot_ids);
	eng_unref(v->eng);
	ids_unref(v->ids);
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
