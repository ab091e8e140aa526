/* Trust queries: a pruned layered dynamic programme over walks.
 *
 * Round h holds, for every node x touched at exactly h hops, the best product
 * of any walk V -> x of h edges (with the smallest first hop among walks
 * reaching that product from the propagated entries) and the predecessor.
 * An entry propagates to round h + 1 only when its product strictly beats
 * every earlier round's product for x: a dominated entry can never produce a
 * better score nor win a tie (docs/trust-engine.md gives the argument).
 * Alongside, a BFS wave over `full` edges marks the nodes reachable by an
 * all-full path within D hops (level full; otherwise limited), and the first
 * round that touches a node is its BFS distance (hops).
 *
 * All scratch state is stamped with generation counters, so a reused scratch
 * needs no O(n) clearing between queries. */
#include "engine_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* SPEC §3: scores are plain IEEE-754 products; never fuse into FMA. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

enum {
	NS_BLOCKED = 1,
	NS_SELF = 2,
	NS_FULL = 4,     /* reached by an all-full walk */
	NS_FULL_NEW = 8, /* became full this round: propagate the full wave */
	NS_EXTRA = 16,   /* has near-tie pairs in this round's extras */
};

/* Two products closer than this (relative) may still round to the same value
 * after up to 9 more multiplications (each moves the ratio by at most
 * (1+u)/(1-u), u = 2^-53, so 9 steps move it by under 2^-48); pairs further
 * apart can never tie again. See docs/trust-engine.md. */
#define NEAR_TIE (1.0 - 0x1p-40)

#define NO_NODE UINT32_MAX

typedef struct node_state {
	double best;      /* max product over finished rounds (-1: none) */
	double cur;       /* product in the current round's slot (-1: none) */
	double score;     /* best final score so far */
	uint32_t qgen;    /* fields valid iff == scratch qgen */
	uint32_t rgen;    /* cur/cur_via/cur_pred valid iff == scratch rgen */
	uint32_t cur_via;
	uint32_t cur_pred;
	uint32_t via;
	uint8_t hops;
	uint8_t best_hops;
	uint8_t flags;
	uint8_t pad;
	uint32_t extra_at; /* first of this node's extras (valid with NS_EXTRA) */
} node_state;

enum { PROP_SCORE = 1, PROP_FULL = 2 };

typedef struct front_entry {
	double prod;
	uint32_t node;
	uint32_t via; /* NO_NODE for the viewpoint */
	uint32_t bits;
} front_entry;

/* Sort key of one result: LSD radix over (hops, score descending, node). */
typedef struct sort_rec {
	uint64_t score_key; /* ~bits(score): positive doubles order like their bits */
	uint32_t node;
	uint32_t hops;
} sort_rec;

struct mt_engine_scratch {
	const mt_engine *engine;
	size_t n;
	node_state *st;
	uint32_t qgen, rgen;
	front_entry *front, *next;
	size_t n_front, n_next, cap_front;
	uint32_t *touched; /* nodes touched in the current round */
	size_t n_touched;
	uint32_t *reached; /* nodes reached in this query (not V, not blocked) */
	size_t n_reached;
	sort_rec *sort_a, *sort_b; /* n each: result sorting */
	size_t hist[13][256];
	mt_round_rec *extras; /* near-tie (product, via) pairs of the current round */
	size_t n_extras, cap_extras;
	uint32_t viewpoint;
};

int mt_engine_scratch_new(mt_engine_scratch **out, const mt_engine *e, mt_error *err)
{
	if (!out || !e)
		return mt_error_set(err, MT_EINVAL, "mt_engine_scratch_new: NULL argument");
	*out = NULL;
	mt_engine_scratch *s = calloc(1, sizeof *s);
	size_t n = e->n ? e->n : 1;
	if (s) {
		s->engine = e;
		s->n = e->n;
		s->st = calloc(n, sizeof *s->st);
		s->front = malloc(n * sizeof *s->front);
		s->next = malloc(n * sizeof *s->next);
		s->touched = malloc(n * sizeof *s->touched);
		s->reached = malloc(n * sizeof *s->reached);
		s->sort_a = malloc(n * sizeof *s->sort_a);
		s->sort_b = malloc(n * sizeof *s->sort_b);
		s->cap_front = n;
	}
	if (!s || !s->st || !s->front || !s->next || !s->touched || !s->reached || !s->sort_a || !s->sort_b) {
		mt_engine_scratch_free(s);
		return mt_error_set(err, MT_ENOMEM, "mt_engine_scratch_new: out of memory for %zu nodes", e->n);
	}
	*out = s;
	return 0;
}

void mt_engine_scratch_free(mt_engine_scratch *s)
{
	if (!s)
		return;
	free(s->st);
	free(s->front);
	free(s->next);
	free(s->touched);
	free(s->reached);
	free(s->extras);
	free(s->sort_a);
	free(s->sort_b);
	free(s);
}

void mt_trust_result_free(mt_trust_result *r)
{
	if (!r)
		return;
	free(r->entries);
	free(r);
}

void mt_graph__path_log_free(mt_path_log *log)
{
	for (int h = 0; h <= MT_ENGINE_MAX_DEPTH; h++) {
		free(log->recs[h]);
		log->recs[h] = NULL;
		log->count[h] = 0;
	}
}

/* Start a query: bump the generation, clearing everything on wrap-around. */
static void begin_query(mt_engine_scratch *s, int rounds)
{
	if (s->qgen == UINT32_MAX || s->rgen > UINT32_MAX - (uint32_t)rounds - 1) {
		memset(s->st, 0, s->n * sizeof *s->st);
		s->qgen = 0;
		s->rgen = 0;
	}
	s->qgen++;
	s->n_reached = 0;
}

static inline node_state *touch(mt_engine_scratch *s, uint32_t w, int h)
{
	node_state *ns = &s->st[w];
	if (ns->qgen != s->qgen) {
		ns->qgen = s->qgen;
		ns->best = -1.0;
		ns->score = 0.0;
		ns->hops = (uint8_t)h;
		ns->best_hops = 0;
		ns->flags = 0;
		ns->via = NO_NODE;
		s->reached[s->n_reached++] = w;
	}
	return ns;
}

static inline int edge_alive(const mt_scope_adj *sa, uint32_t pos, const mt_qopts *o)
{
	if (!(sa->attr[pos] & MT_EA_HAS_EXP) || o->ignore_expiry)
		return 1;
	return mt_graph__edge_exp(sa, pos) > o->at;
}

/* Mark the nodes V blocks (unexpired `none` edges from V in S or global). */
static void mark_blocks(const mt_engine *e, mt_engine_scratch *s, uint32_t v, int scope_idx, const mt_qopts *o)
{
	int scopes[2] = {scope_idx, o->global_scope != scope_idx ? o->global_scope : -1};
	for (int k = 0; k < 2; k++) {
		if (scopes[k] < 0)
			continue;
		const mt_scope_adj *sa = &e->scopes[scopes[k]];
		for (uint32_t pos = sa->offsets[v]; pos < sa->offsets[v + 1]; pos++) {
			if (mt_ea_level(sa->attr[pos]) != MT_LEVEL_NONE)
				continue;
			if ((sa->attr[pos] & MT_EA_HAS_EXP) && mt_graph__edge_exp(sa, pos) <= o->at)
				continue; /* an expired block no longer blocks */
			node_state *ns = &s->st[sa->targets[pos]];
			if (ns->qgen != s->qgen) {
				ns->qgen = s->qgen;
				ns->flags = 0;
				ns->best = -1.0;
				ns->score = 0.0;
			}
			ns->flags |= NS_BLOCKED;
		}
	}
}

static int cmp_rec(const void *pa, const void *pb)
{
	const mt_round_rec *a = pa, *b = pb;
	if (a->node != b->node)
		return a->node < b->node ? -1 : 1;
	if (a->via != b->via)
		return a->via < b->via ? -1 : 1;
	if (a->prod != b->prod)
		return a->prod > b->prod ? -1 : 1;
	return (a->pred > b->pred) - (a->pred < b->pred);
}

static int push_extra(mt_engine_scratch *s, uint32_t node, double prod, uint32_t via, uint32_t pred)
{
	if (s->n_extras == s->cap_extras) {
		size_t cap = s->cap_extras ? s->cap_extras * 2 : 64;
		mt_round_rec *x = realloc(s->extras, cap * sizeof *x);
		if (!x)
			return MT_ENOMEM;
		s->extras = x;
		s->cap_extras = cap;
	}
	s->extras[s->n_extras++] = (mt_round_rec){.node = node, .via = via, .pred = pred, .prod = prod};
	s->st[node].flags |= NS_EXTRA;
	return 0;
}

static int log_rec(mt_path_log *log, int h, uint32_t node, double prod, uint32_t via, uint32_t pred)
{
	if (log->count[h] == log->cap[h]) {
		size_t cap = log->cap[h] ? log->cap[h] * 2 : 64;
		mt_round_rec *x = realloc(log->recs[h], cap * sizeof *x);
		if (!x)
			return MT_ENOMEM;
		log->recs[h] = x;
		log->cap[h] = cap;
	}
	log->recs[h][log->count[h]++] = (mt_round_rec){.node = node, .via = via, .pred = pred, .prod = prod};
	return 0;
}

/* End of round h: keep the entries that strictly improved on every earlier
 * round (plus their near-tie pairs with a smaller via), update final scores,
 * build the next frontier and, for paths, log every slot. */
static int close_round(mt_engine_scratch *s, const mt_qopts *o, int h, double decay, mt_path_log *log)
{
	if (s->n_touched + s->n_extras > s->cap_front) {
		/* a node can enter the frontier once per kept near-tie pair */
		size_t cap = s->n_touched + s->n_extras;
		front_entry *a = realloc(s->next, cap * sizeof *a);
		if (!a)
			return MT_ENOMEM;
		s->next = a;
		a = realloc(s->front, cap * sizeof *a);
		if (!a)
			return MT_ENOMEM;
		s->front = a;
		s->cap_front = cap;
	}
	if (s->n_extras) {
		qsort(s->extras, s->n_extras, sizeof *s->extras, cmp_rec);
		for (size_t i = s->n_extras; i-- > 0;)
			s->st[s->extras[i].node].extra_at = (uint32_t)i;
	}
	s->n_next = 0;
	for (size_t t = 0; t < s->n_touched; t++) {
		uint32_t w = s->touched[t];
		node_state *ns = &s->st[w];
		uint32_t bits = 0;
		double prev = ns->best;
		if (log && ns->cur >= 0.0 && log_rec(log, h, w, ns->cur, ns->cur_via, ns->cur_pred) != 0)
			return MT_ENOMEM;
		if (ns->cur > prev) {
			ns->best = ns->cur;
			bits |= PROP_SCORE;
			double sc = decay * ns->cur;
			int improved = sc > ns->score;
			if (improved) {
				ns->score = sc;
				ns->via = ns->cur_via;
				ns->best_hops = (uint8_t)h;
			}
			if (ns->flags & NS_EXTRA) {
				double kept = -1.0;
				for (size_t i = ns->extra_at; i < s->n_extras && s->extras[i].node == w; i++) {
					const mt_round_rec x = s->extras[i];
					/* Pareto set over (higher product, smaller via) */
					if (x.via >= ns->cur_via || !(x.prod > prev) || x.prod < ns->cur * NEAR_TIE ||
					    !(x.prod > kept))
						continue;
					kept = x.prod;
					if (improved && decay * x.prod == sc && x.via < ns->via)
						ns->via = x.via;
					if (h < o->depth)
						s->next[s->n_next++] = (front_entry){
							.prod = x.prod, .node = w, .via = x.via, .bits = PROP_SCORE};
					if (log && log_rec(log, h, w, x.prod, x.via, x.pred) != 0)
						return MT_ENOMEM;
				}
			}
		}
		ns->flags &= (uint8_t)~NS_EXTRA;
		if (ns->flags & NS_FULL_NEW) {
			ns->flags &= (uint8_t)~NS_FULL_NEW;
			bits |= PROP_FULL;
		}
		if (bits && h < o->depth)
			s->next[s->n_next++] = (front_entry){.prod = ns->cur, .node = w, .via = ns->cur_via, .bits = bits};
	}
	s->n_extras = 0;
	if (log && log->count[h])
		qsort(log->recs[h], log->count[h], sizeof *log->recs[h], cmp_rec);
	return 0;
}

int mt_graph__run(const mt_engine *e, mt_engine_scratch *s, uint32_t v, const mt_qopts *o, mt_path_log *log)
{
	const mt_scope_adj *sa = &e->scopes[o->scope];
	const double *factor = e->factor;
	begin_query(s, o->depth);
	s->viewpoint = v;

	node_state *vs = &s->st[v];
	vs->qgen = s->qgen;
	vs->flags = NS_SELF | NS_FULL;
	vs->best = 1.0;
	mark_blocks(e, s, v, o->scope, o);

	s->front[0] = (front_entry){.prod = 1.0, .node = v, .via = NO_NODE, .bits = PROP_SCORE | PROP_FULL};
	s->n_front = 1;

	for (int h = 1; h <= o->depth && s->n_front; h++) {
		uint32_t rg = ++s->rgen;
		double decay = o->decay[(size_t)h < o->n_decay ? (size_t)h : o->n_decay - 1];
		s->n_touched = 0;
		for (size_t f = 0; f < s->n_front; f++) {
			const front_entry fe = s->front[f];
			uint32_t u = fe.node;
			for (uint32_t pos = sa->offsets[u], end = sa->offsets[u + 1]; pos < end; pos++) {
				uint16_t a = sa->attr[pos];
				mt_level lv = mt_ea_level(a);
				if (lv == MT_LEVEL_NONE)
					continue;
				int full_step = (fe.bits & PROP_FULL) && lv == MT_LEVEL_FULL;
				if (!(fe.bits & PROP_SCORE) && !full_step)
					continue;
				if ((a & MT_EA_HAS_EXP) && !edge_alive(sa, pos, o))
					continue;
				uint32_t w = sa->targets[pos];
				node_state *ns = touch(s, w, h);
				if (ns->flags & (NS_BLOCKED | NS_SELF))
					continue;
				if (ns->rgen != rg) {
					ns->rgen = rg;
					ns->cur = -1.0;
					s->touched[s->n_touched++] = w;
				}
				if (full_step && !(ns->flags & NS_FULL))
					ns->flags |= NS_FULL | NS_FULL_NEW;
				if (!(fe.bits & PROP_SCORE))
					continue;
				double cand = fe.prod * factor[mt_ea_score(a)];
				uint32_t via = fe.via == NO_NODE ? w : fe.via;
				if (cand > ns->cur) {
					/* the old best may still tie later with a smaller via */
					if (ns->cur >= 0.0 && ns->cur_via < via && ns->cur >= cand * NEAR_TIE &&
					    push_extra(s, w, ns->cur, ns->cur_via, ns->cur_pred) != 0)
						return MT_ENOMEM;
					ns->cur = cand;
					ns->cur_via = via;
					ns->cur_pred = u;
				} else if (cand == ns->cur) {
					if (via < ns->cur_via || (via == ns->cur_via && u < ns->cur_pred)) {
						ns->cur_via = via;
						ns->cur_pred = u;
					}
				} else if (via < ns->cur_via && cand >= ns->cur * NEAR_TIE) {
					if (push_extra(s, w, cand, via, u) != 0)
						return MT_ENOMEM;
				}
			}
		}
		if (close_round(s, o, h, decay, log) != 0)
			return MT_ENOMEM;
		front_entry *tmp = s->front;
		s->front = s->next;
		s->next = tmp;
		s->n_front = s->n_next;
	}
	return 0;
}

int mt_graph__answer(const mt_engine_scratch *s, uint32_t node, mt_node_answer *out)
{
	if (node >= s->n)
		return 0;
	const node_state *ns = &s->st[node];
	if (ns->qgen != s->qgen || (ns->flags & (NS_BLOCKED | NS_SELF)) || !(ns->score > 0.0))
		return 0;
	out->score = ns->score;
	out->via = ns->via;
	out->hops = ns->hops;
	out->best_hops = ns->best_hops;
	out->level = (ns->flags & NS_FULL) ? MT_LEVEL_FULL : MT_LEVEL_LIMITED;
	return 1;
}

int mt_graph__blocked(const mt_engine_scratch *s, uint32_t node)
{
	return node < s->n && s->st[node].qgen == s->qgen && (s->st[node].flags & NS_BLOCKED);
}

int mt_graph__prepare(const mt_engine *e, const mt_trust_query *q, mt_qopts *o, int64_t *v, mt_error *err)
{
	if (!e || !q)
		return mt_error_set(err, MT_EINVAL, "trust query: engine or query is NULL");
	if (!q->viewpoint)
		return mt_error_set(err, MT_EINVAL, "trust query: viewpoint is NULL");
	if (q->max_depth < 1 || q->max_depth > MT_ENGINE_MAX_DEPTH)
		return mt_error_set(err, MT_EINVAL, "trust query: max_depth %d outside 1..%d", q->max_depth,
				    MT_ENGINE_MAX_DEPTH);
	if (!q->decay || q->n_decay == 0)
		return mt_error_set(err, MT_EINVAL, "trust query: decay table is empty");
	for (size_t i = 0; i < q->n_decay; i++) {
		double d = q->decay[i];
		if (!(d > 0.0 && d <= 1.0))
			return mt_error_set(err, MT_EINVAL, "trust query: decay[%zu] = %g is outside (0, 1]", i, d);
		if (i > 0 && d > q->decay[i - 1])
			return mt_error_set(err, MT_EINVAL,
					    "trust query: decay[%zu] = %g is larger than decay[%zu] = %g (must be non-increasing)",
					    i, d, i - 1, q->decay[i - 1]);
	}
	const char *scope = q->scope ? q->scope : "global";
	o->scope = mt_graph__scope_index(e, scope);
	o->global_scope = mt_graph__scope_index(e, "global");
	o->at = q->at;
	o->depth = q->max_depth;
	o->ignore_expiry = 0;
	o->decay = q->decay;
	o->n_decay = q->n_decay;
	*v = mt_engine_node_index(e, q->viewpoint);
	return 0;
}

static unsigned digit_of(const sort_rec *r, int d)
{
	if (d < 4)
		return (r->node >> (8 * d)) & 0xffu;
	if (d < 12)
		return (unsigned)(r->score_key >> (8 * (d - 4))) & 0xffu;
	return r->hops & 0xffu;
}

/* Stable LSD radix sort of the scratch's sort records, 13 byte-digits,
 * skipping digits that are the same for every record: O(k) with small
 * constants, unlike qsort's O(k log k) comparator calls, which dominated
 * small queries. Returns the sorted array (one of the two buffers). */
static sort_rec *radix_sort(mt_engine_scratch *s, size_t k)
{
	enum { DIGITS = 13 };
	sort_rec *a = s->sort_a, *b = s->sort_b;
	size_t(*hist)[256] = s->hist;
	memset(hist, 0, sizeof s->hist);
	for (size_t i = 0; i < k; i++)
		for (int d = 0; d < DIGITS; d++)
			hist[d][digit_of(&a[i], d)]++;
	for (int d = 0; d < DIGITS && k > 1; d++) {
		if (hist[d][digit_of(&a[0], d)] == k)
			continue; /* every record has this digit: nothing to do */
		size_t pos = 0;
		for (int c = 0; c < 256; c++) {
			size_t n = hist[d][c];
			hist[d][c] = pos;
			pos += n;
		}
		for (size_t i = 0; i < k; i++)
			b[hist[d][digit_of(&a[i], d)]++] = a[i];
		sort_rec *t = a;
		a = b;
		b = t;
	}
	return a;
}

int mt_engine_trust(mt_trust_result **out, const mt_engine *e, const mt_trust_query *q, mt_engine_scratch *scratch,
		    mt_error *err)
{
	if (!out)
		return mt_error_set(err, MT_EINVAL, "mt_engine_trust: out is NULL");
	*out = NULL;
	mt_qopts o;
	int64_t v;
	int rc = mt_graph__prepare(e, q, &o, &v, err);
	if (rc != 0)
		return rc;
	if (scratch && scratch->engine != e)
		return mt_error_set(err, MT_EINVAL, "mt_engine_trust: scratch was made for another engine");
	mt_trust_result *r = calloc(1, sizeof *r);
	if (!r)
		return mt_error_set(err, MT_ENOMEM, "mt_engine_trust: out of memory");
	if (v < 0 || o.scope < 0) {
		*out = r;
		return 0;
	}
	mt_engine_scratch *s = scratch;
	if (!s && (rc = mt_engine_scratch_new(&s, e, err)) != 0) {
		free(r);
		return rc;
	}
	if (mt_graph__run(e, s, (uint32_t)v, &o, NULL) != 0) {
		rc = mt_error_set(err, MT_ENOMEM, "mt_engine_trust: out of memory");
		goto done;
	}
	r->entries = malloc((s->n_reached ? s->n_reached : 1) * sizeof *r->entries);
	if (!r->entries) {
		rc = mt_error_set(err, MT_ENOMEM, "mt_engine_trust: out of memory for %zu results", s->n_reached);
		goto done;
	}
	size_t k = 0;
	for (size_t i = 0; i < s->n_reached; i++) {
		uint32_t x = s->reached[i];
		const node_state *ns = &s->st[x];
		if (ns->flags & (NS_BLOCKED | NS_SELF) || !(ns->score > 0.0))
			continue;
		uint64_t bits;
		memcpy(&bits, &ns->score, sizeof bits);
		s->sort_a[k++] = (sort_rec){.score_key = ~bits, .node = x, .hops = ns->hops};
	}
	const sort_rec *sorted = radix_sort(s, k);
	for (size_t i = 0; i < k; i++) {
		const node_state *ns = &s->st[sorted[i].node];
		r->entries[i] = (mt_trust_entry){
			.node = sorted[i].node,
			.id = mt_engine_node_id(e, sorted[i].node),
			.score = ns->score,
			.level = (ns->flags & NS_FULL) ? MT_LEVEL_FULL : MT_LEVEL_LIMITED,
			.hops = ns->hops,
			.via = ns->via,
			.via_id = mt_engine_node_id(e, ns->via),
		};
	}
	r->count = k;
	*out = r;
	r = NULL;
done:
	mt_trust_result_free(r);
	if (s != scratch)
		mt_engine_scratch_free(s);
	return rc;
}
