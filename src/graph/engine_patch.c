/* Incremental update of the trust engine (mt_engine_patch) and the edge list
 * of an engine (mt_engine_edges).
 *
 * A patch never re-sorts or re-interns the old engine's strings: only the
 * strings named by the changes are sorted (k log k), then located in the old
 * sorted ID list by galloping search, which gives a monotonic map from old
 * node indexes to the indexes of the union ("mid" indexes). Rows stay
 * ascending under a monotonic map, so each scope is one pass merging the old
 * CSR rows with that scope's changes (sorted by (src, dst), last change per
 * key kept); runs of rows without a change are copied as blocks. Nodes left without any edge and scopes left empty are then
 * dropped by a second monotonic map, which again keeps rows ascending. The
 * result has exactly the arrays mt_engine_new would build from the same
 * edges. */
#include "engine_int.h"

#include <stdlib.h>
#include <string.h>

/* SPEC §3: scores are plain IEEE-754 products; never fuse into FMA. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#define NONE32 0xffffffffu

/* The same checks as mt_engine_new's on an edge; a removal only needs a
 * well-formed key (its level, score and exp are ignored). */
static int validate_change(const mt_edge_change *c, size_t i, mt_error *err)
{
	const mt_edge_in *ed = &c->edge;
	if (!ed->src || !ed->dst || !ed->scope || !ed->src[0] || !ed->dst[0] || !ed->scope[0])
		return mt_error_set(err, MT_EINVAL, "change %zu: src, dst and scope must be non-empty strings", i);
	if (strcmp(ed->src, ed->dst) == 0)
		return mt_error_set(err, MT_EINVAL, "change %zu: self-edge %s -> %s (scope %s) refused", i, ed->src,
				    ed->dst, ed->scope);
	if (c->remove)
		return 0;
	if (ed->level != MT_LEVEL_NONE && ed->level != MT_LEVEL_LIMITED && ed->level != MT_LEVEL_FULL)
		return mt_error_set(err, MT_EINVAL, "change %zu (%s -> %s): level %d is not none/limited/full", i,
				    ed->src, ed->dst, (int)ed->level);
	if (ed->level != MT_LEVEL_NONE && (ed->score < 1 || ed->score > 1000))
		return mt_error_set(err, MT_EINVAL, "change %zu (%s -> %s): score %u outside 1..1000 permille", i,
				    ed->src, ed->dst, (unsigned)ed->score);
	if (ed->exp < 0)
		return mt_error_set(err, MT_EINVAL, "change %zu (%s -> %s): negative exp %lld", i, ed->src,
				    ed->dst, (long long)ed->exp);
	return 0;
}

/* ---- the strings of the changes --------------------------------------------- */

typedef struct str_ref {
	const char *s;
	uint32_t slot; /* which field of which change */
} str_ref;

static int cmp_ref(const void *a, const void *b)
{
	const str_ref *x = a, *y = b;
	int c = strcmp(x->s, y->s);
	if (c)
		return c;
	return (x->slot > y->slot) - (x->slot < y->slot);
}

/* Sort the `cnt` refs and number their distinct strings: dist[0..*n_dist)
 * ascending, id_of[ref.slot] = index of its string in dist. */
static void number_strings(str_ref *refs, size_t cnt, const char **dist, size_t *n_dist, uint32_t *id_of)
{
	qsort(refs, cnt, sizeof *refs, cmp_ref);
	size_t u = 0;
	for (size_t i = 0; i < cnt; i++) {
		if (i == 0 || strcmp(refs[i].s, refs[i - 1].s) != 0)
			dist[u++] = refs[i].s;
		id_of[refs[i].slot] = (uint32_t)(u - 1);
	}
	*n_dist = u;
}

static const char *old_id(const mt_engine *e, size_t i)
{
	return e->id_arena + e->id_off[i];
}

/* Bytes of old ID i with its NUL (from the offsets: the arena is dense). */
static size_t old_len(const mt_engine *e, size_t i)
{
	return (i + 1 < e->n ? e->id_off[i + 1] : e->arena_bytes) - e->id_off[i];
}

/* First old index >= lo whose ID is >= s (galloping from lo, then binary
 * search): over ascending queries the total cost is O(u log(n/u + 1)). */
static size_t gallop(const mt_engine *e, size_t lo, const char *s)
{
	size_t n = e->n;
	if (lo >= n || strcmp(old_id(e, lo), s) >= 0)
		return lo;
	/* invariant: old_id(lo) < s */
	size_t step = 1, hi = lo + 1;
	while (hi < n && strcmp(old_id(e, hi), s) < 0) {
		lo = hi;
		step *= 2;
		hi = step > n - lo ? n : lo + step;
	}
	/* old_id(lo) < s, and hi == n or old_id(hi) >= s */
	lo++;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(old_id(e, mid), s) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* ---- the changes as integer keys -------------------------------------------- */

typedef struct chg_key {
	uint32_t scope, src, dst; /* mid indexes */
	uint32_t idx;             /* position in the caller's array */
} chg_key;

static int cmp_key(const void *a, const void *b)
{
	const chg_key *x = a, *y = b;
	if (x->scope != y->scope)
		return x->scope < y->scope ? -1 : 1;
	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	if (x->dst != y->dst)
		return x->dst < y->dst ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/* ---- one scope: old rows merged with the scope's changes --------------------- */

typedef struct merge_in {
	const mt_scope_adj *sa;     /* old scope, or NULL when the scope is new */
	const uint32_t *old_to_mid; /* NULL: identity (no new node) */
	const uint32_t *mid_old;    /* mid -> old index or NONE32; NULL: identity */
	size_t n_mid;
	const mt_edge_change *changes;
	const chg_key *kc; /* this scope's kept changes, by (src, dst) */
	size_t n_kc;
} merge_in;

static uint16_t pack_attr(const mt_edge_in *ed)
{
	unsigned score = ed->level == MT_LEVEL_NONE ? 0u : ed->score;
	uint16_t a = (uint16_t)(score | ((unsigned)ed->level << MT_EA_LEVEL_SHIFT));
	if (ed->exp != 0)
		a |= MT_EA_HAS_EXP;
	return a;
}

/* Fill `out` (arrays in mid indexes) from `in`; add to `*removed` the old
 * edges the changes removed. Runs of rows without a change are copied as
 * blocks (offsets shifted, targets remapped, attributes and expiries
 * copied); only the rows with changes are merged edge by edge. Returns 0,
 * MT_ENOMEM or MT_ETOOBIG (with err set); `out`'s arrays are the caller's to
 * free either way. */
static int merge_scope(const merge_in *in, mt_scope_adj *out, size_t *removed, mt_error *err)
{
	const mt_scope_adj *sa = in->sa;
	size_t old_m = sa ? sa->m : 0, o_nx = sa ? sa->n_exp : 0;
	size_t cap = old_m + in->n_kc, cap_x = o_nx + in->n_kc;
	if (cap >= 0xffffffffu) /* positions must fit the uint32 offsets */
		cap = 0xffffffffu;
	out->offsets = malloc((in->n_mid + 1) * sizeof *out->offsets);
	out->targets = malloc((cap ? cap : 1) * sizeof *out->targets);
	out->attr = malloc((cap ? cap : 1) * sizeof *out->attr);
	out->exp_edge = malloc((cap_x ? cap_x : 1) * sizeof *out->exp_edge);
	out->exp_val = malloc((cap_x ? cap_x : 1) * sizeof *out->exp_val);
	if (!out->offsets || !out->targets || !out->attr || !out->exp_edge || !out->exp_val)
		return mt_error_set(err, MT_ENOMEM, "mt_engine_patch: out of memory merging scope %s", out->name);

	const uint32_t *restrict o2m = in->old_to_mid, *restrict mid_old = in->mid_old;
	const uint32_t *restrict ooff = sa ? sa->offsets : NULL, *restrict ot = sa ? sa->targets : NULL;
	const uint32_t *restrict oxe = sa ? sa->exp_edge : NULL;
	const uint16_t *restrict oa = sa ? sa->attr : NULL;
	const int64_t *restrict oxv = sa ? sa->exp_val : NULL;
	uint32_t *restrict off = out->offsets, *restrict tg = out->targets, *restrict xe = out->exp_edge;
	uint16_t *restrict at = out->attr;
	int64_t *restrict xv = out->exp_val;
	const chg_key *kc = in->kc;
	size_t n_mid = in->n_mid, n_kc = in->n_kc;
	/* output edge, output expiry, old expiry, old row at or after mid row r,
	 * next change, mid row, old edges removed */
	size_t pos = 0, nx = 0, ox = 0, io = 0, c = 0, r = 0, gone = 0;
	while (r < n_mid) {
		/* rows [r, r1) have no change: one block of the old arrays */
		size_t r1 = c < n_kc ? kc[c].src : n_mid;
		if (r1 > r && !sa) {
			for (; r < r1; r++)
				off[r] = (uint32_t)pos;
		} else if (r1 > r) {
			size_t p0 = ooff[io];
			uint32_t delta = (uint32_t)pos - (uint32_t)p0; /* modulo 2^32: exact below */
			if (!mid_old) {
				for (; r < r1; r++)
					off[r] = ooff[r] + delta;
				io = r1;
			} else {
				for (; r < r1; r++) { /* a new node's row is empty here */
					off[r] = ooff[io] + delta;
					io += mid_old[r] != NONE32;
				}
			}
			size_t cnt = ooff[io] - p0;
			if (cnt > cap - pos)
				goto toobig;
			if (o2m) {
				for (size_t p = 0; p < cnt; p++)
					tg[pos + p] = o2m[ot[p0 + p]];
			} else {
				memcpy(tg + pos, ot + p0, cnt * sizeof *tg);
			}
			memcpy(at + pos, oa + p0, cnt * sizeof *at);
			for (size_t p1 = p0 + cnt; ox < o_nx && oxe[ox] < p1; ox++, nx++) {
				xe[nx] = oxe[ox] + delta;
				xv[nx] = oxv[ox];
			}
			pos += cnt;
		}
		if (r >= n_mid)
			break;

		/* row r: its old edges merged with its changes (both ascending) */
		off[r] = (uint32_t)pos;
		size_t p = 0, oe = 0;
		if (!mid_old || mid_old[r] != NONE32) {
			if (sa) {
				p = ooff[io];
				oe = ooff[io + 1];
			}
			io++;
		}
		if ((oe - p) + (n_kc - c) > cap - pos)
			goto toobig;
		for (;;) {
			int has_c = c < n_kc && kc[c].src == r;
			if (!has_c && p >= oe)
				break;
			uint32_t t = p < oe ? (o2m ? o2m[ot[p]] : ot[p]) : NONE32;
			if (has_c && kc[c].dst <= t) {
				const mt_edge_change *ch = &in->changes[kc[c].idx];
				if (kc[c].dst == t) { /* the old edge is replaced or removed */
					if (oa[p] & MT_EA_HAS_EXP)
						ox++;
					p++;
					gone += ch->remove != 0;
				}
				if (!ch->remove) {
					uint16_t a = pack_attr(&ch->edge);
					tg[pos] = kc[c].dst;
					at[pos] = a;
					if (a & MT_EA_HAS_EXP) {
						xe[nx] = (uint32_t)pos;
						xv[nx++] = ch->edge.exp;
					}
					pos++;
				}
				c++;
			} else {
				uint16_t a = oa[p];
				tg[pos] = t;
				at[pos] = a;
				if (a & MT_EA_HAS_EXP) {
					xe[nx] = (uint32_t)pos;
					xv[nx++] = oxv[ox++];
				}
				pos++;
				p++;
			}
		}
		r++;
	}
	if (pos >= 0xffffffffu)
		goto toobig;
	off[n_mid] = (uint32_t)pos;
	out->m = pos;
	out->n_exp = nx;
	if (nx == 0) { /* as mt_engine_new leaves it */
		free(out->exp_edge);
		free(out->exp_val);
		out->exp_edge = NULL;
		out->exp_val = NULL;
	}
	*removed += gone;
	return 0;
toobig:
	return mt_error_set(err, MT_ETOOBIG, "mt_engine_patch: scope %s would have 2^32-1 edges or more", out->name);
}

/* Shrink an array to `count` elements (keeps it when realloc fails). */
static void *shrink(void *p, size_t count, size_t size)
{
	void *q = realloc(p, (count ? count : 1) * size);
	return q ? q : p;
}

/* ---- the patch --------------------------------------------------------------- */

typedef struct mid_scope {
	const char *name;
	int old; /* old scope index or -1 */
} mid_scope;

int mt_engine_patch(mt_engine **out, const mt_engine *old, const mt_edge_change *changes, size_t n_changes,
		    mt_error *err)
{
	if (!out)
		return mt_error_set(err, MT_EINVAL, "mt_engine_patch: out is NULL");
	*out = NULL;
	if (!old)
		return mt_error_set(err, MT_EINVAL, "mt_engine_patch: old is NULL");
	if (!changes && n_changes)
		return mt_error_set(err, MT_EINVAL, "mt_engine_patch: changes is NULL but n is %zu", n_changes);
	if (n_changes >= 0x7fffffffu)
		return mt_error_set(err, MT_ETOOBIG, "mt_engine_patch: %zu changes (limit 2^31-2)", n_changes);
	for (size_t i = 0; i < n_changes; i++) {
		int rc = validate_change(&changes[i], i, err);
		if (rc != 0)
			return rc;
	}

	int rc = 0;
	size_t k = n_changes, k1 = k ? k : 1;
	str_ref *refs = malloc(2 * k1 * sizeof *refs);
	const char **cid = malloc(2 * k1 * sizeof *cid), **csc = malloc(k1 * sizeof *csc);
	uint32_t *end_id = malloc(2 * k1 * sizeof *end_id), *sc_id = malloc(k1 * sizeof *sc_id);
	uint32_t *cid_mid = malloc(2 * k1 * sizeof *cid_mid), *csc_mid = malloc(k1 * sizeof *csc_mid);
	size_t *cpos = malloc(2 * k1 * sizeof *cpos);
	const char **new_ids = malloc(2 * k1 * sizeof *new_ids);
	chg_key *keys = malloc(k1 * sizeof *keys);
	mid_scope *ms = NULL;
	uint32_t *old_to_mid = NULL, *mid_old = NULL, *mid_fin = NULL;
	unsigned char *used = NULL;
	mt_scope_adj *adj = NULL;
	size_t n_ms = 0;
	mt_engine *e = NULL;
	if (!refs || !cid || !csc || !end_id || !sc_id || !cid_mid || !csc_mid || !cpos || !new_ids || !keys)
		goto nomem;

	/* 1. the node IDs named by the changes, sorted and numbered */
	size_t u = 0;
	for (size_t i = 0; i < k; i++) {
		refs[2 * i] = (str_ref){changes[i].edge.src, (uint32_t)(2 * i)};
		refs[2 * i + 1] = (str_ref){changes[i].edge.dst, (uint32_t)(2 * i + 1)};
	}
	number_strings(refs, 2 * k, cid, &u, end_id);

	/* 2. located in the old ID list: mid index = old position + new IDs before */
	size_t n_old = old->n, n_new = 0, lo = 0;
	for (size_t d = 0; d < u; d++) {
		lo = gallop(old, lo, cid[d]);
		cid_mid[d] = (uint32_t)(lo + n_new); /* fits: n_mid is checked below */
		if (lo >= n_old || strcmp(old_id(old, lo), cid[d]) != 0) {
			cpos[n_new] = lo; /* the new IDs, ascending, and where they go */
			new_ids[n_new++] = cid[d];
		}
	}
	size_t n_mid = n_old + n_new;
	if (n_mid >= 0xffffffffu) {
		rc = mt_error_set(err, MT_ETOOBIG, "mt_engine_patch: too many nodes (%zu)", n_mid);
		goto done;
	}
	if (n_new) {
		old_to_mid = malloc((n_old ? n_old : 1) * sizeof *old_to_mid);
		mid_old = malloc(n_mid * sizeof *mid_old);
		if (!old_to_mid || !mid_old)
			goto nomem;
		size_t j = 0, r = 0;
		for (size_t i = 0; i <= n_old; i++) {
			while (j < n_new && cpos[j] <= i)
				mid_old[r++] = NONE32, j++;
			if (i < n_old) {
				old_to_mid[i] = (uint32_t)r;
				mid_old[r++] = (uint32_t)i;
			}
		}
	}

	/* 3. scopes: the changes' scope names merged with the old ones */
	for (size_t i = 0; i < k; i++)
		refs[i] = (str_ref){changes[i].edge.scope, (uint32_t)i};
	size_t n_cs = 0;
	number_strings(refs, k, csc, &n_cs, sc_id);
	ms = malloc((old->n_scopes + n_cs + 1) * sizeof *ms);
	if (!ms)
		goto nomem;
	for (size_t a = 0, b = 0; a < old->n_scopes || b < n_cs;) {
		int c = a >= old->n_scopes ? 1 : b >= n_cs ? -1 : strcmp(old->scopes[a].name, csc[b]);
		if (c <= 0) {
			ms[n_ms] = (mid_scope){old->scopes[a].name, (int)a};
			a++;
		} else {
			ms[n_ms] = (mid_scope){csc[b], -1};
		}
		if (c >= 0)
			csc_mid[b++] = (uint32_t)n_ms;
		n_ms++;
	}

	/* 4. the changes as (scope, src, dst) keys; the last one per key wins */
	for (size_t i = 0; i < k; i++)
		keys[i] = (chg_key){csc_mid[sc_id[i]], cid_mid[end_id[2 * i]], cid_mid[end_id[2 * i + 1]],
				    (uint32_t)i};
	qsort(keys, k, sizeof *keys, cmp_key);
	size_t n_keys = 0;
	for (size_t i = 0; i < k; i++) {
		if (i + 1 < k && keys[i + 1].scope == keys[i].scope && keys[i + 1].src == keys[i].src &&
		    keys[i + 1].dst == keys[i].dst)
			continue; /* a later change to the same edge follows */
		keys[n_keys++] = keys[i];
	}

	/* 5. one merge per scope, in mid indexes */
	used = calloc(n_mid ? n_mid : 1, 1);
	adj = calloc(n_ms ? n_ms : 1, sizeof *adj);
	if (!used || !adj)
		goto nomem;
	size_t kc = 0, m_total = 0, removed = 0;
	for (size_t s = 0; s < n_ms; s++) {
		size_t k0 = kc;
		while (kc < n_keys && keys[kc].scope == s)
			kc++;
		merge_in in = {ms[s].old >= 0 ? &old->scopes[ms[s].old] : NULL, old_to_mid, mid_old, n_mid,
			       changes, keys + k0, kc - k0};
		adj[s].name = (char *)ms[s].name; /* borrowed until step 7 */
		if ((rc = merge_scope(&in, &adj[s], &removed, err)) != 0)
			goto done;
		m_total += adj[s].m;
	}
	if (m_total >= 0xffffffffu) {
		rc = mt_error_set(err, MT_ETOOBIG, "mt_engine_patch: %zu edges (limit 2^32-2)", m_total);
		goto done;
	}

	/* 6. the nodes that keep an edge. When no old edge was removed, every
	 * old node keeps its edges and a new node has one exactly when a kept
	 * change sets an edge at it (old edges never touch a new node);
	 * otherwise look at every edge. */
	if (removed == 0) {
		for (size_t r = 0; r < n_mid; r++)
			used[r] = !mid_old || mid_old[r] != NONE32;
		for (size_t i = 0; i < n_keys; i++)
			if (!changes[keys[i].idx].remove)
				used[keys[i].src] = used[keys[i].dst] = 1;
	} else {
		for (size_t s = 0; s < n_ms; s++) {
			const uint32_t *restrict off = adj[s].offsets, *restrict tg = adj[s].targets;
			unsigned char *restrict u = used;
			for (size_t r = 0; r < n_mid; r++)
				u[r] |= off[r + 1] > off[r];
			for (size_t p = 0; p < adj[s].m; p++)
				u[tg[p]] = 1;
		}
	}

	/* drop the nodes left without an edge (a second monotonic map) */
	size_t n_fin = 0;
	for (size_t r = 0; r < n_mid; r++)
		n_fin += used[r];
	if (n_fin >= 0x7fffffffu) {
		rc = mt_error_set(err, MT_ETOOBIG, "mt_engine_patch: too many nodes (%zu)", n_fin);
		goto done;
	}
	if (n_fin != n_mid) {
		mid_fin = malloc(n_mid * sizeof *mid_fin);
		if (!mid_fin)
			goto nomem;
		for (size_t r = 0, f = 0; r < n_mid; r++)
			mid_fin[r] = used[r] ? (uint32_t)f++ : NONE32;
		for (size_t s = 0; s < n_ms; s++) {
			mt_scope_adj *sa = &adj[s];
			if (sa->m == 0)
				continue;
			for (size_t p = 0; p < sa->m; p++)
				sa->targets[p] = mid_fin[sa->targets[p]];
			/* a dropped node's row is empty: keep the other rows' starts */
			for (size_t r = 0; r < n_mid; r++)
				if (used[r])
					sa->offsets[mid_fin[r]] = sa->offsets[r];
			sa->offsets[n_fin] = (uint32_t)sa->m;
		}
	}

	/* 7. the new engine: node IDs, then the non-empty scopes */
	e = calloc(1, sizeof *e);
	if (!e)
		goto nomem;
	/* lengths from the old offsets: the old IDs are copied, not measured */
	size_t arena = 0;
	for (size_t r = 0, j = 0; r < n_mid; r++) {
		uint32_t i = mid_old ? mid_old[r] : (uint32_t)r;
		size_t len = i != NONE32 ? old_len(old, i) : strlen(new_ids[j++]) + 1;
		if (used[r])
			arena += len;
	}
	if (arena >= 0xffffffffu) {
		rc = mt_error_set(err, MT_ETOOBIG, "mt_engine_patch: Node IDs take %zu bytes (limit 4 GiB)", arena);
		goto done;
	}
	e->n = n_fin;
	e->arena_bytes = arena;
	e->id_arena = malloc(arena ? arena : 1);
	e->id_off = malloc((n_fin ? n_fin : 1) * sizeof *e->id_off);
	if (!e->id_arena || !e->id_off)
		goto nomem;
	if (n_fin == n_old && n_new == 0) { /* the same nodes */
		memcpy(e->id_arena, old->id_arena, arena);
		memcpy(e->id_off, old->id_off, n_fin * sizeof *e->id_off);
	} else {
		arena = 0;
		for (size_t r = 0, j = 0, f = 0; r < n_mid; r++) {
			uint32_t i = mid_old ? mid_old[r] : (uint32_t)r;
			const char *s = i != NONE32 ? old_id(old, i) : new_ids[j++];
			if (!used[r])
				continue;
			size_t len = i != NONE32 ? old_len(old, i) : strlen(s) + 1;
			memcpy(e->id_arena + arena, s, len);
			e->id_off[f++] = (uint32_t)arena;
			arena += len;
		}
	}
	size_t n_sc = 0;
	for (size_t s = 0; s < n_ms; s++)
		n_sc += adj[s].m != 0;
	e->scopes = calloc(n_sc ? n_sc : 1, sizeof *e->scopes);
	e->scope_names = calloc(n_sc ? n_sc : 1, sizeof *e->scope_names);
	if (!e->scopes || !e->scope_names)
		goto nomem;
	for (size_t s = 0; s < n_ms; s++) {
		mt_scope_adj *sa = &adj[s];
		if (sa->m == 0)
			continue;
		mt_scope_adj *d = &e->scopes[e->n_scopes];
		d->name = strdup(sa->name);
		if (!d->name)
			goto nomem;
		e->scope_names[e->n_scopes++] = d->name;
		d->m = sa->m;
		d->offsets = shrink(sa->offsets, n_fin + 1, sizeof *d->offsets);
		d->targets = shrink(sa->targets, sa->m, sizeof *d->targets);
		d->attr = shrink(sa->attr, sa->m, sizeof *d->attr);
		d->n_exp = sa->n_exp;
		d->exp_edge = sa->n_exp ? shrink(sa->exp_edge, sa->n_exp, sizeof *d->exp_edge) : NULL;
		d->exp_val = sa->n_exp ? shrink(sa->exp_val, sa->n_exp, sizeof *d->exp_val) : NULL;
		memset(sa, 0, sizeof *sa); /* now the engine's */
	}
	e->m_total = m_total;
	for (unsigned s = 0; s < 1024; s++)
		e->factor[s] = (double)s / 1000.0;
	*out = e;
	e = NULL;
	goto done;

nomem:
	rc = mt_error_set(err, MT_ENOMEM, "mt_engine_patch: out of memory (%zu changes)", n_changes);
done:
	if (adj) {
		for (size_t s = 0; s < n_ms; s++) { /* names are borrowed here */
			free(adj[s].offsets);
			free(adj[s].targets);
			free(adj[s].attr);
			free(adj[s].exp_edge);
			free(adj[s].exp_val);
		}
		free(adj);
	}
	mt_engine_free(e);
	free(refs);
	free(cid);
	free(csc);
	free(end_id);
	free(sc_id);
	free(cid_mid);
	free(csc_mid);
	free(cpos);
	free(keys);
	free(ms);
	free(old_to_mid);
	free(mid_old);
	free(mid_fin);
	free(new_ids);
	free(used);
	return rc;
}

/* ---- the edge list ------------------------------------------------------------ */

int mt_engine_edges(const mt_engine *e, mt_edge_in **out, size_t *n, mt_error *err)
{
	if (!out || !n || !e)
		return mt_error_set(err, MT_EINVAL, "mt_engine_edges: NULL argument");
	*out = NULL;
	*n = 0;
	if (e->m_total == 0)
		return 0;
	mt_edge_in *v = malloc(e->m_total * sizeof *v);
	if (!v)
		return mt_error_set(err, MT_ENOMEM, "mt_engine_edges: out of memory (%zu edges)", e->m_total);
	size_t k = 0;
	for (size_t s = 0; s < e->n_scopes; s++) {
		const mt_scope_adj *sa = &e->scopes[s];
		size_t x = 0;
		for (size_t row = 0; row < e->n; row++) {
			const char *src = e->id_arena + e->id_off[row];
			for (uint32_t p = sa->offsets[row]; p < sa->offsets[row + 1]; p++) {
				uint16_t a = sa->attr[p];
				v[k++] = (mt_edge_in){src, e->id_arena + e->id_off[sa->targets[p]], sa->name,
						      mt_ea_level(a), (uint16_t)mt_ea_score(a),
						      (a & MT_EA_HAS_EXP) ? sa->exp_val[x++] : 0};
			}
		}
	}
	*out = v;
	*n = k;
	return 0;
}
