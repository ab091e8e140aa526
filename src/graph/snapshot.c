/* Engine snapshots (include/meshtrust/snapshot.h): encode an engine's arrays
 * into one flat image, and make an engine that borrows such an image after
 * checking every byte of it that a query could trust. */
#include "meshtrust/snapshot.h"

#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

/* SPEC §3: scores are plain IEEE-754 products; never fuse into FMA. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

static const char SNAP_MAGIC[8] = {'M', 'T', 'E', 'N', 'G', 'S', 'N', 0};
#define SNAP_ORDER 0x01020304u
#define SNAP_HEADER 64u

typedef struct snap_header {
	char magic[8];
	uint32_t version, order;
	uint64_t n, n_scopes, m_total, arena_bytes, names_bytes, reserved;
} snap_header;

_Static_assert(sizeof(snap_header) == SNAP_HEADER, "snapshot header is 64 bytes");

static size_t pad8(size_t x)
{
	return (x + 7u) & ~(size_t)7u;
}

/* ---- encoding --------------------------------------------------------------- */

typedef struct wbuf {
	unsigned char *p;
	size_t at;
} wbuf;

static void put(wbuf *w, const void *src, size_t len)
{
	if (len)
		memcpy(w->p + w->at, src, len);
	w->at = pad8(w->at + len); /* the buffer is zeroed: padding is 0 */
}

int mt_engine_snapshot_encode(const mt_engine *e, unsigned char **out, size_t *len, mt_error *err)
{
	if (!out || !len || !e)
		return mt_error_set(err, MT_EINVAL, "mt_engine_snapshot_encode: NULL argument");
	*out = NULL;
	*len = 0;
	size_t names = 0;
	for (size_t s = 0; s < e->n_scopes; s++)
		names += strlen(e->scopes[s].name) + 1;
	size_t total = SNAP_HEADER + pad8(e->n_scopes * 16) + pad8(e->arena_bytes) + pad8(e->n * 4) + pad8(names);
	for (size_t s = 0; s < e->n_scopes; s++) {
		const mt_scope_adj *sa = &e->scopes[s];
		total += pad8((e->n + 1) * 4) + pad8(sa->m * 4) + pad8(sa->m * 2) + pad8(sa->n_exp * 4) + sa->n_exp * 8;
	}
	wbuf w = {calloc(1, total), 0};
	if (!w.p)
		return mt_error_set(err, MT_ENOMEM, "snapshot: out of memory (%zu bytes)", total);
	snap_header h = {{0}, MT_ENGINE_SNAPSHOT_VERSION, SNAP_ORDER, e->n, e->n_scopes, e->m_total,
			 e->arena_bytes, names, 0};
	memcpy(h.magic, SNAP_MAGIC, sizeof h.magic);
	put(&w, &h, sizeof h);
	for (size_t s = 0; s < e->n_scopes; s++) {
		uint64_t d[2] = {e->scopes[s].m, e->scopes[s].n_exp};
		memcpy(w.p + w.at, d, sizeof d);
		w.at += sizeof d;
	}
	w.at = pad8(w.at);
	put(&w, e->id_arena, e->arena_bytes);
	put(&w, e->id_off, e->n * 4);
	size_t at = w.at;
	for (size_t s = 0; s < e->n_scopes; s++) {
		size_t l = strlen(e->scopes[s].name) + 1;
		memcpy(w.p + at, e->scopes[s].name, l);
		at += l;
	}
	w.at = pad8(at);
	for (size_t s = 0; s < e->n_scopes; s++) {
		const mt_scope_adj *sa = &e->scopes[s];
		put(&w, sa->offsets, (e->n + 1) * 4);
		put(&w, sa->targets, sa->m * 4);
		put(&w, sa->attr, sa->m * 2);
		put(&w, sa->exp_edge, sa->n_exp * 4);
		put(&w, sa->exp_val, sa->n_exp * 8);
	}
	if (w.at != total) { /* cannot happen: the two size computations agree */
		free(w.p);
		return mt_error_set(err, MT_EINVAL, "snapshot: size mismatch (%zu, %zu)", w.at, total);
	}
	*out = w.p;
	*len = total;
	return 0;
}

/* ---- borrowing ------------------------------------------------------------- */

/* A cursor over the image: take(len) hands out the next section (8-aligned)
 * or NULL when the image is too short; sizes are checked for overflow. */
typedef struct rbuf {
	const unsigned char *p;
	size_t len, at;
} rbuf;

static const void *take(rbuf *r, uint64_t count, size_t size)
{
	if (count > (SIZE_MAX / 2) / size)
		return NULL;
	size_t bytes = (size_t)count * size;
	if (r->at > r->len || bytes > r->len - r->at)
		return NULL;
	const void *p = r->p + r->at;
	size_t next = pad8(r->at + bytes);
	if (next > r->len)
		return NULL;
	for (size_t i = r->at + bytes; i < next; i++)
		if (r->p[i] != 0)
			return NULL; /* padding is zero: an image has one spelling */
	r->at = next;
	return p;
}

/* Check a block of `count` NUL-terminated, non-empty strings filling
 * `bytes` exactly, strictly ascending; offsets (if `off`) must be where
 * each string starts. Returns 0 or -1. */
static int check_strings(const char *base, size_t bytes, size_t count, const uint32_t *off)
{
	size_t at = 0;
	const char *prev = NULL;
	for (size_t i = 0; i < count; i++) {
		if (at >= bytes || (off && off[i] != at))
			return -1;
		const char *s = base + at;
		const char *nul = memchr(s, 0, bytes - at);
		if (!nul || nul == s)
			return -1;
		if (prev && strcmp(prev, s) >= 0)
			return -1;
		prev = s;
		at = (size_t)(nul - base) + 1;
	}
	return at == bytes ? 0 : -1;
}

static int check_scope(const mt_scope_adj *sa, size_t n, mt_error *err)
{
	const uint32_t *off = sa->offsets;
	if (off[0] != 0 || off[n] != sa->m)
		return mt_error_set(err, MT_EINVAL, "snapshot: scope %s: offsets do not span its %zu edges", sa->name,
				    sa->m);
	size_t n_exp = 0;
	for (size_t row = 0; row < n; row++) {
		if (off[row + 1] < off[row] || off[row + 1] > sa->m)
			return mt_error_set(err, MT_EINVAL, "snapshot: scope %s: offsets of node %zu out of order",
					    sa->name, row);
		for (uint32_t pos = off[row]; pos < off[row + 1]; pos++) {
			uint32_t t = sa->targets[pos];
			if (t >= n || t == row || (pos > off[row] && sa->targets[pos - 1] >= t))
				return mt_error_set(err, MT_EINVAL,
						    "snapshot: scope %s: edge %u has a bad target (self, out of "
						    "range or out of order)",
						    sa->name, pos);
			uint16_t a = sa->attr[pos];
			unsigned level = (a & MT_EA_LEVEL_MASK) >> MT_EA_LEVEL_SHIFT, score = a & MT_EA_SCORE_MASK;
			if ((a & ~(MT_EA_SCORE_MASK | MT_EA_LEVEL_MASK | MT_EA_HAS_EXP)) || level > MT_LEVEL_FULL ||
			    (level == MT_LEVEL_NONE ? score != 0 : score < 1 || score > 1000))
				return mt_error_set(err, MT_EINVAL, "snapshot: scope %s: edge %u has bad attributes",
						    sa->name, pos);
			if (a & MT_EA_HAS_EXP) {
				if (n_exp >= sa->n_exp || sa->exp_edge[n_exp] != pos || sa->exp_val[n_exp] <= 0)
					return mt_error_set(err, MT_EINVAL,
							    "snapshot: scope %s: expiry table does not match edge %u",
							    sa->name, pos);
				n_exp++;
			}
		}
	}
	if (n_exp != sa->n_exp)
		return mt_error_set(err, MT_EINVAL, "snapshot: scope %s: %zu expiries listed, %zu edges have one",
				    sa->name, sa->n_exp, n_exp);
	return 0;
}

int mt_engine_snapshot_borrow(mt_engine **out, const void *data, size_t len, mt_engine_release_fn release,
			      void *ctx, mt_error *err)
{
	if (!out)
		return mt_error_set(err, MT_EINVAL, "mt_engine_snapshot_borrow: out is NULL");
	*out = NULL;
	if (!data || ((uintptr_t)data & 7u))
		return mt_error_set(err, MT_EINVAL, "snapshot: image is NULL or not 8-byte aligned");
	rbuf r = {data, len, 0};
	const snap_header *h = take(&r, 1, sizeof *h);
	if (!h || memcmp(h->magic, SNAP_MAGIC, sizeof h->magic) != 0)
		return mt_error_set(err, MT_EINVAL, "snapshot: not an engine snapshot (%zu bytes)", len);
	if (h->version != MT_ENGINE_SNAPSHOT_VERSION || h->order != SNAP_ORDER)
		return mt_error_set(err, MT_EINVAL, "snapshot: version %u / byte order %08x (this build: %u, %08x)",
				    (unsigned)h->version, (unsigned)h->order, MT_ENGINE_SNAPSHOT_VERSION,
				    SNAP_ORDER);
	if (h->n >= 0x7fffffffu || h->m_total >= 0xffffffffu || h->n_scopes > h->m_total ||
	    h->arena_bytes >= 0xffffffffu || h->reserved != 0 || (h->n == 0) != (h->m_total == 0))
		return mt_error_set(err, MT_EINVAL, "snapshot: impossible counts (n %llu, m %llu, scopes %llu)",
				    (unsigned long long)h->n, (unsigned long long)h->m_total,
				    (unsigned long long)h->n_scopes);
	size_t n = (size_t)h->n, n_scopes = (size_t)h->n_scopes;
	const uint64_t *desc = take(&r, n_scopes, 16);
	const char *arena = take(&r, h->arena_bytes, 1);
	const uint32_t *id_off = take(&r, n, 4);
	const char *names = take(&r, h->names_bytes, 1);
	if (!desc || !arena || !id_off || !names)
		return mt_error_set(err, MT_EINVAL, "snapshot: truncated (%zu bytes)", len);
	if (check_strings(arena, (size_t)h->arena_bytes, n, id_off) != 0)
		return mt_error_set(err, MT_EINVAL, "snapshot: node IDs are not %zu ascending strings", n);
	if (check_strings(names, (size_t)h->names_bytes, n_scopes, NULL) != 0)
		return mt_error_set(err, MT_EINVAL, "snapshot: scope names are not %zu ascending strings", n_scopes);

	mt_engine *e = calloc(1, sizeof *e);
	if (!e)
		return mt_error_set(err, MT_ENOMEM, "snapshot: out of memory");
	e->borrowed = 1; /* from here mt_engine_free leaves the image alone */
	e->n = n;
	e->id_arena = (char *)arena; /* never written: the engine is read-only */
	e->id_off = (uint32_t *)id_off;
	e->n_scopes = n_scopes;
	e->arena_bytes = (size_t)h->arena_bytes;
	e->scopes = calloc(n_scopes ? n_scopes : 1, sizeof *e->scopes);
	e->scope_names = calloc(n_scopes ? n_scopes : 1, sizeof *e->scope_names);
	if (!e->scopes || !e->scope_names) {
		mt_engine_free(e);
		return mt_error_set(err, MT_ENOMEM, "snapshot: out of memory");
	}
	int rc = 0;
	uint64_t m_sum = 0;
	const char *name = names;
	for (size_t s = 0; s < n_scopes && !rc; s++) {
		mt_scope_adj *sa = &e->scopes[s];
		sa->name = (char *)name;
		e->scope_names[s] = name;
		name += strlen(name) + 1;
		uint64_t m = desc[2 * s], n_exp = desc[2 * s + 1];
		if (m == 0 || m >= 0xffffffffu || n_exp > m || m > h->m_total - m_sum) {
			rc = mt_error_set(err, MT_EINVAL, "snapshot: scope %s: impossible counts", sa->name);
			break;
		}
		m_sum += m;
		sa->m = (size_t)m;
		sa->n_exp = (size_t)n_exp;
		sa->offsets = (uint32_t *)take(&r, (uint64_t)n + 1, 4);
		sa->targets = (uint32_t *)take(&r, m, 4);
		sa->attr = (uint16_t *)take(&r, m, 2);
		sa->exp_edge = n_exp ? (uint32_t *)take(&r, n_exp, 4) : NULL;
		sa->exp_val = n_exp ? (int64_t *)take(&r, n_exp, 8) : NULL;
		if (!sa->offsets || !sa->targets || !sa->attr || (n_exp && (!sa->exp_edge || !sa->exp_val)))
			rc = mt_error_set(err, MT_EINVAL, "snapshot: truncated in scope %s (%zu bytes)", sa->name, len);
		else
			rc = check_scope(sa, n, err);
	}
	if (!rc && m_sum != h->m_total)
		rc = mt_error_set(err, MT_EINVAL, "snapshot: scopes hold %llu edges, header says %llu",
				  (unsigned long long)m_sum, (unsigned long long)h->m_total);
	if (!rc && r.at != len)
		rc = mt_error_set(err, MT_EINVAL, "snapshot: %zu bytes after the image", len - r.at);
	if (!rc && n) { /* every node is an end of some edge, as in a built engine */
		unsigned char *seen = calloc(n, 1);
		if (!seen) {
			rc = mt_error_set(err, MT_ENOMEM, "snapshot: out of memory");
		} else {
			size_t count = 0;
			for (size_t s = 0; s < n_scopes; s++) {
				const mt_scope_adj *sa = &e->scopes[s];
				for (size_t row = 0; row < n; row++)
					if (sa->offsets[row + 1] > sa->offsets[row] && !seen[row]) {
						seen[row] = 1;
						count++;
					}
				for (size_t k = 0; k < sa->m; k++)
					if (!seen[sa->targets[k]]) {
						seen[sa->targets[k]] = 1;
						count++;
					}
			}
			free(seen);
			if (count != n)
				rc = mt_error_set(err, MT_EINVAL, "snapshot: %zu of %zu nodes have no edge", n - count,
						  n);
		}
	}
	if (rc) {
		mt_engine_free(e); /* release not set yet: the image stays the caller's */
		return rc;
	}
	e->m_total = (size_t)h->m_total;
	for (unsigned s = 0; s < 1024; s++)
		e->factor[s] = (double)s / 1000.0;
	e->release = release;
	e->release_ctx = ctx;
	*out = e;
	return 0;
}
