/* Building the trust engine: interning Node IDs and scopes, then one CSR per
 * scope by two stable counting sorts (by dst, then by src), so each row comes
 * out ascending by target with no comparison sort over the edges. */
#include "engine_int.h"

#include <stdlib.h>
#include <string.h>

/* SPEC §3: scores are plain IEEE-754 products; never fuse into FMA. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

const char *mt_level_name(mt_level level)
{
	switch (level) {
	case MT_LEVEL_NONE: return "none";
	case MT_LEVEL_LIMITED: return "limited";
	case MT_LEVEL_FULL: return "full";
	}
	return "?";
}

int mt_level_parse(const char *text, mt_level *out)
{
	if (!text || !out)
		return MT_EINVAL;
	if (strcmp(text, "none") == 0)
		*out = MT_LEVEL_NONE;
	else if (strcmp(text, "limited") == 0)
		*out = MT_LEVEL_LIMITED;
	else if (strcmp(text, "full") == 0)
		*out = MT_LEVEL_FULL;
	else
		return MT_EINVAL;
	return 0;
}

/* ---- string interning: open addressing over (hash, index) ---------------- */

typedef struct intern {
	const char **strs; /* distinct strings (borrowed from the input) */
	uint64_t *hashes;
	size_t count, cap_strs;
	uint64_t *slots; /* (hash high 32 bits) << 32 | (index + 1); 0 = empty */
	size_t mask;
	/* direct-mapped pointer cache: callers often pass the same pointer */
	const char **cache_ptr;
	uint32_t *cache_id;
} intern;

#define MT_PTR_CACHE 262144u

static uint64_t hash_str(const char *s, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)len;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	uint64_t w = 0;
	memcpy(&w, s + i, len - i);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	h *= 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 32);
}

static int intern_init(intern *t, size_t expect)
{
	memset(t, 0, sizeof *t);
	size_t cap = 1024;
	while (cap < expect * 2)
		cap <<= 1;
	t->slots = calloc(cap, sizeof *t->slots);
	t->mask = cap - 1;
	t->cap_strs = 256;
	t->strs = malloc(t->cap_strs * sizeof *t->strs);
	t->hashes = malloc(t->cap_strs * sizeof *t->hashes);
	t->cache_ptr = calloc(MT_PTR_CACHE, sizeof *t->cache_ptr);
	t->cache_id = calloc(MT_PTR_CACHE, sizeof *t->cache_id);
	if (!t->slots || !t->strs || !t->hashes || !t->cache_ptr || !t->cache_id)
		return MT_ENOMEM;
	return 0;
}

static void intern_free(intern *t)
{
	free(t->slots);
	free(t->strs);
	free(t->hashes);
	free(t->cache_ptr);
	free(t->cache_id);
}

static int intern_grow(intern *t)
{
	size_t cap = (t->mask + 1) * 2;
	uint64_t *slots = calloc(cap, sizeof *slots);
	if (!slots)
		return MT_ENOMEM;
	for (size_t i = 0; i < t->count; i++) {
		size_t pos = t->hashes[i] & (cap - 1);
		while (slots[pos])
			pos = (pos + 1) & (cap - 1);
		slots[pos] = (t->hashes[i] & 0xffffffff00000000ull) | (uint64_t)(i + 1);
	}
	free(t->slots);
	t->slots = slots;
	t->mask = cap - 1;
	return 0;
}

/* Index of `s` in the table, adding it when new; -1 on ENOMEM/ETOOBIG. */
static int64_t intern_add(intern *t, const char *s)
{
	size_t c = (size_t)(((uintptr_t)s >> 3) * 0x9e3779b97f4a7c15ull >> 48) & (MT_PTR_CACHE - 1);
	if (t->cache_ptr[c] == s)
		return t->cache_id[c];
	size_t len = strlen(s);
	uint64_t h = hash_str(s, len);
	size_t pos = h & t->mask;
	uint64_t tag = h & 0xffffffff00000000ull;
	uint32_t slot;
	uint64_t cell;
	/* the hash tag in the slot avoids touching the string on a mismatch */
	while ((cell = t->slots[pos]) != 0) {
		slot = (uint32_t)cell;
		if ((cell & 0xffffffff00000000ull) == tag && strcmp(t->strs[slot - 1], s) == 0)
			goto hit;
		pos = (pos + 1) & t->mask;
	}
	if (t->count >= 0x7fffffffu)
		return -1;
	if (t->count == t->cap_strs) {
		size_t cap = t->cap_strs * 2;
		const char **strs = realloc(t->strs, cap * sizeof *strs);
		if (!strs)
			return -1;
		t->strs = strs;
		uint64_t *hashes = realloc(t->hashes, cap * sizeof *hashes);
		if (!hashes)
			return -1;
		t->hashes = hashes;
		t->cap_strs = cap;
	}
	t->strs[t->count] = s;
	t->hashes[t->count] = h;
	slot = (uint32_t)++t->count;
	t->slots[pos] = tag | slot;
	if (t->count * 2 > t->mask + 1 && intern_grow(t) != 0)
		return -1;
hit:
	t->cache_ptr[c] = s;
	t->cache_id[c] = slot - 1;
	return slot - 1;
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sort the distinct strings; rank[old index] = new index. */
static int intern_sort(const intern *t, const char ***sorted_out, uint32_t **rank_out)
{
	const char **sorted = malloc((t->count ? t->count : 1) * sizeof *sorted);
	uint32_t *rank = malloc((t->count ? t->count : 1) * sizeof *rank);
	if (!sorted || !rank) {
		free(sorted);
		free(rank);
		return MT_ENOMEM;
	}
	memcpy(sorted, t->strs, t->count * sizeof *sorted);
	qsort(sorted, t->count, sizeof *sorted, cmp_strp);
	for (size_t i = 0; i < t->count; i++) {
		/* look the sorted string up again to learn its old index */
		size_t len = strlen(sorted[i]);
		uint64_t h = hash_str(sorted[i], len);
		size_t pos = h & t->mask;
		for (;;) {
			uint32_t slot = (uint32_t)t->slots[pos];
			if (t->strs[slot - 1] == sorted[i]) {
				rank[slot - 1] = (uint32_t)i;
				break;
			}
			pos = (pos + 1) & t->mask;
		}
	}
	*sorted_out = sorted;
	*rank_out = rank;
	return 0;
}

/* ---- engine ---------------------------------------------------------------- */

static void scope_adj_free(mt_scope_adj *sa)
{
	free(sa->name);
	free(sa->offsets);
	free(sa->targets);
	free(sa->attr);
	free(sa->exp_edge);
	free(sa->exp_val);
}

void mt_engine_free(mt_engine *e)
{
	if (!e)
		return;
	if (e->borrowed) { /* the arrays live in the caller's memory */
		free(e->scopes);
		free(e->scope_names);
		if (e->release)
			e->release(e->release_ctx);
		free(e);
		return;
	}
	for (size_t i = 0; i < e->n_scopes; i++)
		scope_adj_free(&e->scopes[i]);
	free(e->scopes);
	free(e->scope_names);
	free(e->id_arena);
	free(e->id_off);
	free(e);
}

static int validate_edge(const mt_edge_in *ed, size_t i, mt_error *err)
{
	if (!ed->src || !ed->dst || !ed->scope || !ed->src[0] || !ed->dst[0] || !ed->scope[0])
		return mt_error_set(err, MT_EINVAL, "edge %zu: src, dst and scope must be non-empty strings", i);
	if (strcmp(ed->src, ed->dst) == 0)
		return mt_error_set(err, MT_EINVAL, "edge %zu: self-edge %s -> %s (scope %s) refused", i, ed->src,
				    ed->dst, ed->scope);
	if (ed->level != MT_LEVEL_NONE && ed->level != MT_LEVEL_LIMITED && ed->level != MT_LEVEL_FULL)
		return mt_error_set(err, MT_EINVAL, "edge %zu (%s -> %s): level %d is not none/limited/full", i,
				    ed->src, ed->dst, (int)ed->level);
	if (ed->level != MT_LEVEL_NONE && (ed->score < 1 || ed->score > 1000))
		return mt_error_set(err, MT_EINVAL, "edge %zu (%s -> %s): score %u outside 1..1000 permille", i,
				    ed->src, ed->dst, (unsigned)ed->score);
	if (ed->exp < 0)
		return mt_error_set(err, MT_EINVAL, "edge %zu (%s -> %s): negative exp %lld", i, ed->src, ed->dst,
				    (long long)ed->exp);
	return 0;
}

/* Build one scope's CSR from the edge indices `list[0..cnt)`. `count_buf`
 * holds n + 1 entries, `tmp` and `inv` cnt entries each (caller's scratch). */
static int build_scope(const mt_engine *e, mt_scope_adj *sa, const mt_edge_in *edges, const uint32_t *src_of,
		       const uint32_t *dst_of, const uint32_t *list, size_t cnt, uint32_t *count_buf,
		       uint32_t *tmp, uint32_t *inv, mt_error *err)
{
	size_t n = e->n;
	sa->m = cnt;
	sa->offsets = calloc(n + 1, sizeof *sa->offsets);
	sa->targets = malloc((cnt ? cnt : 1) * sizeof *sa->targets);
	sa->attr = malloc((cnt ? cnt : 1) * sizeof *sa->attr);
	if (!sa->offsets || !sa->targets || !sa->attr)
		return mt_error_set(err, MT_ENOMEM, "out of memory building scope %s", sa->name);

	/* pass 1: stable counting sort by dst into tmp */
	memset(count_buf, 0, (n + 1) * sizeof *count_buf);
	for (size_t k = 0; k < cnt; k++)
		count_buf[dst_of[list[k]] + 1]++;
	for (size_t i = 0; i < n; i++)
		count_buf[i + 1] += count_buf[i];
	for (size_t k = 0; k < cnt; k++)
		tmp[count_buf[dst_of[list[k]]]++] = list[k];

	/* pass 2: stable counting sort by src; rows stay ascending by dst */
	uint32_t *off = sa->offsets;
	for (size_t k = 0; k < cnt; k++)
		off[src_of[tmp[k]] + 1]++;
	for (size_t i = 0; i < n; i++)
		off[i + 1] += off[i];
	memcpy(count_buf, off, n * sizeof *count_buf);
	for (size_t k = 0; k < cnt; k++)
		inv[count_buf[src_of[tmp[k]]]++] = tmp[k];

	size_t n_exp = 0;
	for (size_t row = 0; row < n; row++) {
		for (uint32_t pos = off[row]; pos < off[row + 1]; pos++) {
			const mt_edge_in *ed = &edges[inv[pos]];
			if (pos > off[row] && sa->targets[pos - 1] == dst_of[inv[pos]])
				return mt_error_set(err, MT_EINVAL,
						    "duplicate edge %s -> %s in scope %s (edges %u and %u)", ed->src,
						    ed->dst, ed->scope, inv[pos - 1], inv[pos]);
			sa->targets[pos] = dst_of[inv[pos]];
			unsigned score = ed->level == MT_LEVEL_NONE ? 0u : ed->score;
			uint16_t a = (uint16_t)(score | ((unsigned)ed->level << MT_EA_LEVEL_SHIFT));
			if (ed->exp != 0) {
				a |= MT_EA_HAS_EXP;
				n_exp++;
			}
			sa->attr[pos] = a;
		}
	}
	sa->n_exp = n_exp;
	if (n_exp) {
		sa->exp_edge = malloc(n_exp * sizeof *sa->exp_edge);
		sa->exp_val = malloc(n_exp * sizeof *sa->exp_val);
		if (!sa->exp_edge || !sa->exp_val)
			return mt_error_set(err, MT_ENOMEM, "out of memory building scope %s", sa->name);
		size_t j = 0;
		for (uint32_t pos = 0; pos < cnt; pos++) {
			if (sa->attr[pos] & MT_EA_HAS_EXP) {
				sa->exp_edge[j] = pos;
				sa->exp_val[j] = edges[inv[pos]].exp;
				j++;
			}
		}
	}
	return 0;
}

int64_t mt_graph__edge_exp(const mt_scope_adj *sa, uint32_t pos)
{
	if (!(sa->attr[pos] & MT_EA_HAS_EXP))
		return 0;
	size_t lo = 0, hi = sa->n_exp;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sa->exp_edge[mid] < pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return sa->exp_val[lo];
}

int mt_engine_new(mt_engine **out, const mt_edge_in *edges, size_t n_edges, mt_error *err)
{
	int rc = 0;
	intern nodes, scopes;
	int nodes_ok = 0, scopes_ok = 0;
	uint32_t *src_of = NULL, *dst_of = NULL, *scope_of = NULL, *order = NULL;
	uint32_t *node_rank = NULL, *scope_rank = NULL, *count_buf = NULL, *tmp = NULL, *inv = NULL;
	const char **node_sorted = NULL, **scope_sorted = NULL;
	size_t *scope_start = NULL;
	mt_engine *e = NULL;

	if (!out)
		return mt_error_set(err, MT_EINVAL, "mt_engine_new: out is NULL");
	*out = NULL;
	if (!edges && n_edges)
		return mt_error_set(err, MT_EINVAL, "mt_engine_new: edges is NULL but n is %zu", n_edges);
	if (n_edges >= 0xffffffffu)
		return mt_error_set(err, MT_ETOOBIG, "mt_engine_new: %zu edges (limit 2^32-2)", n_edges);
	for (size_t i = 0; i < n_edges; i++)
		if ((rc = validate_edge(&edges[i], i, err)) != 0)
			return rc;

	e = calloc(1, sizeof *e);
	size_t alloc_m = n_edges ? n_edges : 1;
	src_of = malloc(alloc_m * sizeof *src_of);
	dst_of = malloc(alloc_m * sizeof *dst_of);
	scope_of = malloc(alloc_m * sizeof *scope_of);
	if (!e || !src_of || !dst_of || !scope_of)
		goto nomem;
	if (intern_init(&nodes, n_edges / 4 + 16) != 0)
		goto nomem_nodes;
	nodes_ok = 1;
	if (intern_init(&scopes, 16) != 0)
		goto nomem_scopes;
	scopes_ok = 1;

	for (size_t i = 0; i < n_edges; i++) {
		int64_t a = intern_add(&nodes, edges[i].src);
		int64_t b = intern_add(&nodes, edges[i].dst);
		int64_t c = intern_add(&scopes, edges[i].scope);
		if (a < 0 || b < 0 || c < 0) {
			rc = mt_error_set(err, MT_ETOOBIG, "mt_engine_new: too many nodes or out of memory");
			goto done;
		}
		src_of[i] = (uint32_t)a;
		dst_of[i] = (uint32_t)b;
		scope_of[i] = (uint32_t)c;
	}
	if (intern_sort(&nodes, &node_sorted, &node_rank) != 0 || intern_sort(&scopes, &scope_sorted, &scope_rank) != 0)
		goto nomem;
	for (size_t i = 0; i < n_edges; i++) {
		src_of[i] = node_rank[src_of[i]];
		dst_of[i] = node_rank[dst_of[i]];
		scope_of[i] = scope_rank[scope_of[i]];
	}

	/* node IDs: one arena in ascending order */
	e->n = nodes.count;
	size_t arena = 0;
	for (size_t i = 0; i < e->n; i++)
		arena += strlen(node_sorted[i]) + 1;
	if (arena >= 0xffffffffu) {
		rc = mt_error_set(err, MT_ETOOBIG, "mt_engine_new: Node IDs take %zu bytes (limit 4 GiB)", arena);
		goto done;
	}
	e->id_arena = malloc(arena ? arena : 1);
	e->id_off = malloc((e->n ? e->n : 1) * sizeof *e->id_off);
	if (!e->id_arena || !e->id_off)
		goto nomem;
	e->arena_bytes = arena;
	arena = 0;
	for (size_t i = 0; i < e->n; i++) {
		size_t len = strlen(node_sorted[i]) + 1;
		memcpy(e->id_arena + arena, node_sorted[i], len);
		e->id_off[i] = (uint32_t)arena;
		arena += len;
	}

	/* group edges by scope */
	e->n_scopes = scopes.count;
	e->scopes = calloc(e->n_scopes ? e->n_scopes : 1, sizeof *e->scopes);
	e->scope_names = calloc(e->n_scopes ? e->n_scopes : 1, sizeof *e->scope_names);
	scope_start = calloc(e->n_scopes + 1, sizeof *scope_start);
	order = malloc(alloc_m * sizeof *order);
	count_buf = malloc((e->n + 1) * sizeof *count_buf);
	tmp = malloc(alloc_m * sizeof *tmp);
	inv = malloc(alloc_m * sizeof *inv);
	if (!e->scopes || !e->scope_names || !scope_start || !order || !count_buf || !tmp || !inv)
		goto nomem;
	for (size_t i = 0; i < n_edges; i++)
		scope_start[scope_of[i] + 1]++;
	for (size_t s = 0; s < e->n_scopes; s++)
		scope_start[s + 1] += scope_start[s];
	for (size_t i = 0; i < n_edges; i++)
		order[scope_start[scope_of[i]]++] = (uint32_t)i;
	/* scope_start[s] now holds the end of scope s; rebuild starts */
	for (size_t s = e->n_scopes; s > 0; s--)
		scope_start[s] = scope_start[s - 1];
	scope_start[0] = 0;

	for (size_t s = 0; s < e->n_scopes; s++) {
		mt_scope_adj *sa = &e->scopes[s];
		sa->name = strdup(scope_sorted[s]);
		if (!sa->name)
			goto nomem;
		e->scope_names[s] = sa->name;
		size_t cnt = scope_start[s + 1] - scope_start[s];
		rc = build_scope(e, sa, edges, src_of, dst_of, order + scope_start[s], cnt, count_buf, tmp, inv, err);
		if (rc != 0)
			goto done;
	}
	e->m_total = n_edges;
	for (unsigned s = 0; s < 1024; s++)
		e->factor[s] = (double)s / 1000.0;
	*out = e;
	e = NULL;
	goto done;

nomem_scopes:
nomem_nodes:
nomem:
	rc = mt_error_set(err, MT_ENOMEM, "mt_engine_new: out of memory (%zu edges)", n_edges);
done:
	if (nodes_ok)
		intern_free(&nodes);
	if (scopes_ok)
		intern_free(&scopes);
	free(src_of);
	free(dst_of);
	free(scope_of);
	free(order);
	free(node_rank);
	free(scope_rank);
	free(node_sorted);
	free(scope_sorted);
	free(scope_start);
	free(count_buf);
	free(tmp);
	free(inv);
	mt_engine_free(e);
	return rc;
}

size_t mt_engine_node_count(const mt_engine *e)
{
	return e ? e->n : 0;
}

const char *mt_engine_node_id(const mt_engine *e, uint32_t index)
{
	if (!e || index >= e->n)
		return NULL;
	return e->id_arena + e->id_off[index];
}

int64_t mt_engine_node_index(const mt_engine *e, const char *id)
{
	if (!e || !id)
		return -1;
	size_t lo = 0, hi = e->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(e->id_arena + e->id_off[mid], id);
		if (c == 0)
			return (int64_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int mt_graph__scope_index(const mt_engine *e, const char *name)
{
	size_t lo = 0, hi = e->n_scopes;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(e->scopes[mid].name, name);
		if (c == 0)
			return (int)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

const char *const *mt_engine_scopes(const mt_engine *e, size_t *count)
{
	*count = e ? e->n_scopes : 0;
	return e ? e->scope_names : NULL;
}

void mt_engine_stats_get(const mt_engine *e, mt_engine_stats *out)
{
	memset(out, 0, sizeof *out);
	if (!e)
		return;
	out->nodes = e->n;
	out->edges = e->m_total;
	out->scopes = e->n_scopes;
	size_t adj = 0;
	for (size_t s = 0; s < e->n_scopes; s++) {
		const mt_scope_adj *sa = &e->scopes[s];
		adj += (e->n + 1) * sizeof(uint32_t) + sa->m * (sizeof(uint32_t) + sizeof(uint16_t)) +
		       sa->n_exp * (sizeof(uint32_t) + sizeof(int64_t));
	}
	out->adjacency_bytes = adj;
	out->total_bytes = adj + e->arena_bytes + e->n * sizeof(uint32_t) + sizeof *e;
	out->bytes_per_edge = e->m_total ? (double)adj / (double)e->m_total : 0.0;
}
