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
 * needs no O(n) clearing between queries. What the edge loop touches is kept
 * apart (hot_state: 16 bytes per node) from what a round's close and the
 * answer read (cold_state), and the edge loop has no data-dependent branch
 * on its common path. The answer comes out in order without a general sort
 * in the usual case (see collect). */
#include "engine_int.h"

#include <stdlib.h>
#include <string.h>

/* SPEC §3: scores are plain IEEE-754 products; never fuse into FMA. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

enum {
	NS_BLOCKED = 1, /* V blocks the node */
	NS_SELF = 2,    /* the viewpoint */
	NS_EXTRA = 4,   /* has near-tie pairs in this round's extras */
	NS_FULL = 8,    /* reached by an all-full walk */
};

/* Two products closer than this (relative) may still round to the same value
 * after up to 9 more multiplications (each moves the ratio by at most
 * (1+u)/(1-u), u = 2^-53, so 9 steps move it by under 2^-48); pairs further
 * apart can never tie again. See docs/trust-engine.md. */
#define NEAR_TIE (1.0 - 0x1p-40)

#define NO_NODE UINT32_MAX

/* A node's hot stamp: the round that last touched it (low 31 bits) and
 * whether a full step of the full wave reached it in that round. */
#define ST_ROUND 0x7fffffffu
#define ST_FULL_IN 0x80000000u

/* The relaxation keeps products as the bits of the double read as int64:
 * for positive doubles (every product is a positive normal number, >= 1e-24)
 * and +inf the order of the bits is the order of the values, and equal bits
 * are equal values. PROD_NONE (no product yet) is below all of them. */
#define PROD_NONE ((int64_t)-1)
#define PROD_PINNED ((int64_t)0x7ff0000000000000ull) /* +inf */
/* Two products whose bits are further apart than this are not within
 * NEAR_TIE of each other (NEAR_TIE spans under 2^13 + 1 representable
 * values), so the exact test runs only for pairs at most this far apart. */
#define NEAR_BITS ((uint64_t)1 << 14)

#if defined(__GNUC__)
#define MT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define MT_ALWAYS_INLINE inline __attribute__((always_inline))
#define MT_PREFETCH(p) __builtin_prefetch(p)
#define MT_PREFETCH_W(p) __builtin_prefetch((p), 1)
#else
#define MT_UNLIKELY(x) (x)
#define MT_ALWAYS_INLINE inline
#define MT_PREFETCH(p) ((void)0)
#define MT_PREFETCH_W(p) ((void)0)
#endif

/* How far ahead the loops prefetch what they will read (a query's state is
 * often out of cache: the caller has done other work in between). */
#define PF_EDGES 6 /* edges ahead in a row: the target's hot state */
#define PF_ROWS 2  /* frontier entries ahead: the row's targets and attributes */
#define PF_NODES 8 /* nodes ahead in the touched and reached lists */

/* What an edge relaxation reads and writes: 16 bytes, four nodes per cache
 * line. V and the blocked nodes ("pinned") are re-stamped at the start of
 * every round with cur = +inf: no candidate can beat, tie or near-tie it, so
 * the relaxation needs no test for them. */
typedef struct hot_state {
	int64_t cur;      /* bits of the product in the current round's slot (PROD_NONE: none); valid iff the stamp's round is this one */
	uint32_t stamp;   /* ST_* above */
	uint32_t cur_via; /* valid with cur */
} hot_state;

static inline double prod_of(int64_t bits)
{
	double d;
	memcpy(&d, &bits, sizeof d);
	return d;
}

static inline int64_t bits_of(double d)
{
	int64_t bits;
	memcpy(&bits, &d, sizeof bits);
	return bits;
}

/* What a round's close and the answer read, at most once per node and round.
 * Valid iff qstamp == the scratch's qbase. */
typedef struct cold_state {
	double best;       /* max product over finished rounds (-1: none) */
	double score;      /* best final score so far */
	uint32_t via;
	uint32_t aux; /* in a round: first of this node's extras (with NS_EXTRA); in the answer: its score's index */
	uint32_t qstamp;   /* qbase of the query that set these fields */
	uint8_t hops;
	uint8_t best_hops;
	uint8_t flags; /* NS_* */
} cold_state;

enum { PROP_SCORE = 1, PROP_FULL = 2 };

typedef struct front_entry {
	double prod;
	uint32_t node;
	uint32_t via; /* NO_NODE for the viewpoint */
	uint32_t bits;
} front_entry;

/* One result while its hops group is ordered by (score descending, node). */
typedef struct sort_rec {
	uint64_t key; /* ~bits of the score: positive doubles order like their bits */
	uint32_t node;
	uint32_t id; /* index of the score among the group's distinct scores */
} sort_rec;

/* The distinct scores of a hops group, found with a small hash table (the
 * scores of a query take few values: products of a few edge scores). More
 * than SK_MAX distinct scores in a group: radix sort on the score instead. */
enum { SK_SLOTS = 1024, SK_MAX = 512 };

typedef struct sk_slot {
	uint64_t key;
	uint32_t gen; /* the slot is used iff gen == the scratch's sk_gen */
	uint32_t id;
} sk_slot;

typedef struct sk_key {
	uint64_t key;
	uint32_t id;
} sk_key;

struct mt_engine_scratch {
	const mt_engine *engine;
	size_t n;
	hot_state *hot;
	cold_state *cold;
	uint32_t *pred;    /* predecessor of cur, kept only for a logged run */
	uint32_t rgen;     /* last round stamp handed out (<= ST_ROUND) */
	uint32_t qbase;    /* first stamp of this query: rounds >= qbase are this query's */
	uint32_t *pinned;  /* V and the nodes it blocks */
	size_t n_pinned, cap_pinned;
	front_entry *front, *next;
	size_t n_front, n_next, cap_front;
	uint32_t *touched; /* nodes touched in the current round */
	size_t n_touched;
	uint32_t *reached; /* nodes reached in this query (not V, not blocked), by first round */
	size_t n_reached;
	uint64_t *bitmap;  /* one bit per node, all clear between uses */
	sort_rec *sort_a, *sort_b; /* n each: result sorting */
	uint32_t hist[12][256];    /* radix sort histograms */
	sk_slot sk[SK_SLOTS];      /* distinct scores of a group */
	uint32_t sk_gen;
	sk_key sk_keys[SK_MAX];
	uint32_t sk_off[SK_MAX];
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
		s->hot = calloc(n, sizeof *s->hot);
		s->cold = calloc(n, sizeof *s->cold);
		s->pred = calloc(n, sizeof *s->pred);
		s->front = malloc(n * sizeof *s->front);
		s->next = malloc(n * sizeof *s->next);
		s->touched = malloc(n * sizeof *s->touched);
		s->reached = malloc(n * sizeof *s->reached);
		s->bitmap = calloc((n + 63) / 64, sizeof *s->bitmap);
		s->sort_a = malloc(n * sizeof *s->sort_a);
		s->sort_b = malloc(n * sizeof *s->sort_b);
		s->cap_front = n;
	}
	if (!s || !s->hot || !s->cold || !s->pred || !s->front || !s->next || !s->touched || !s->reached ||
	    !s->bitmap || !s->sort_a || !s->sort_b) {
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
	free(s->hot);
	free(s->cold);
	free(s->pred);
	free(s->pinned);
	free(s->front);
	free(s->next);
	free(s->touched);
	free(s->reached);
	free(s->extras);
	free(s->bitmap);
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

/* Start a query: take a new stamp (stamps only grow, so every older one is
 * < qbase); when the round counter would overflow, clear every stamp. */
static void begin_query(mt_engine_scratch *s, int rounds)
{
	if (s->rgen >= ST_ROUND - 1 - (uint32_t)rounds) {
		for (size_t i = 0; i < s->n; i++) {
			s->hot[i].stamp = 0;
			s->cold[i].qstamp = 0;
		}
		s->rgen = 0;
	}
	s->qbase = ++s->rgen;
	s->n_reached = 0;
	s->n_pinned = 0;
}

static inline void pin(mt_engine_scratch *s, uint32_t x, uint8_t flags)
{
	cold_state *cs = &s->cold[x];
	if (cs->qstamp != s->qbase) {
		cs->qstamp = s->qbase;
		cs->flags = 0;
		s->pinned[s->n_pinned++] = x;
	}
	cs->flags |= flags;
}

static inline int edge_alive(const mt_scope_adj *sa, uint32_t pos, const mt_qopts *o)
{
	if (!(sa->attr[pos] & MT_EA_HAS_EXP) || o->ignore_expiry)
		return 1;
	return mt_graph__edge_exp(sa, pos) > o->at;
}

/* Pin V and the nodes V blocks (unexpired `none` edges from V in S or
 * global). Returns 0 or MT_ENOMEM. */
static int pin_self_and_blocks(const mt_engine *e, mt_engine_scratch *s, uint32_t v, const mt_qopts *o)
{
	int scopes[2] = {o->scope, o->global_scope != o->scope ? o->global_scope : -1};
	size_t need = 1;
	for (int k = 0; k < 2; k++)
		if (scopes[k] >= 0)
			need += e->scopes[scopes[k]].offsets[v + 1] - e->scopes[scopes[k]].offsets[v];
	if (need > s->cap_pinned) {
		uint32_t *p = realloc(s->pinned, need * sizeof *p);
		if (!p)
			return MT_ENOMEM;
		s->pinned = p;
		s->cap_pinned = need;
	}
	pin(s, v, NS_SELF | NS_FULL);
	for (int k = 0; k < 2; k++) {
		if (scopes[k] < 0)
			continue;
		const mt_scope_adj *sa = &e->scopes[scopes[k]];
		for (uint32_t pos = sa->offsets[v]; pos < sa->offsets[v + 1]; pos++) {
			if (mt_ea_level(sa->attr[pos]) != MT_LEVEL_NONE)
				continue;
			if ((sa->attr[pos] & MT_EA_HAS_EXP) && mt_graph__edge_exp(sa, pos) <= o->at)
				continue; /* an expired block no longer blocks */
			pin(s, sa->targets[pos], NS_BLOCKED);
		}
	}
	return 0;
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

/* A node's first round in this query: its BFS distance is h. */
static inline void first_touch(mt_engine_scratch *s, cold_state *cs, uint32_t w, int h)
{
	*cs = (cold_state){.best = -1.0, .score = 0.0, .via = NO_NODE, .qstamp = s->qbase, .hops = (uint8_t)h};
	s->reached[s->n_reached++] = w;
}

/* End of round h: keep the entries that strictly improved on every earlier
 * round (plus their near-tie pairs with a smaller via), update final scores,
 * build the next frontier and, for paths, log every slot. Nodes first
 * touched in this round get their cold state here. */
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
	const uint32_t qbase = s->qbase;
	cold_state *cold = s->cold;
	hot_state *hot = s->hot;
	if (s->n_extras) {
		qsort(s->extras, s->n_extras, sizeof *s->extras, cmp_rec);
		for (size_t i = s->n_extras; i-- > 0;) {
			uint32_t w = s->extras[i].node;
			if (cold[w].qstamp != qbase)
				first_touch(s, &cold[w], w, h);
			cold[w].aux = (uint32_t)i;
			cold[w].flags |= NS_EXTRA;
		}
	}
	const int more = h < o->depth;
	front_entry *next = s->next;
	size_t n_next = 0;
	for (size_t t = 0; t < s->n_touched; t++) {
		uint32_t w = s->touched[t];
		if (t + PF_NODES < s->n_touched)
			MT_PREFETCH_W(&cold[s->touched[t + PF_NODES]]);
		hot_state *hs = &hot[w];
		cold_state *cs = &cold[w];
		const double cur = hs->cur >= 0 ? prod_of(hs->cur) : -1.0;
		const uint32_t cur_via = hs->cur_via;
		if (cs->qstamp != qbase) {
			/* w's first round in this query (so it has no extras, see above):
			 * the general case below, folded for best = -1, score = 0 */
			const double sc = decay * cur;
			const int improved = cur >= 0.0 && sc > 0.0;
			const int full = (hs->stamp & ST_FULL_IN) != 0;
			*cs = (cold_state){.best = cur,
					   .score = improved ? sc : 0.0,
					   .via = improved ? cur_via : NO_NODE,
					   .qstamp = qbase,
					   .hops = (uint8_t)h,
					   .best_hops = improved ? (uint8_t)h : 0,
					   .flags = full ? NS_FULL : 0};
			s->reached[s->n_reached++] = w;
			if (log && cur >= 0.0 && log_rec(log, h, w, cur, cur_via, s->pred[w]) != 0)
				return MT_ENOMEM;
			const uint32_t bits = (cur >= 0.0 ? PROP_SCORE : 0) | (full ? PROP_FULL : 0);
			if (bits && more)
				next[n_next++] = (front_entry){.prod = cur, .node = w, .via = cur_via, .bits = bits};
			continue;
		}
		uint32_t bits = 0;
		double prev = cs->best;
		if (log && cur >= 0.0 && log_rec(log, h, w, cur, cur_via, s->pred[w]) != 0)
			return MT_ENOMEM;
		if (cur > prev) {
			cs->best = cur;
			bits |= PROP_SCORE;
			double sc = decay * cur;
			int improved = sc > cs->score;
			if (improved) {
				cs->score = sc;
				cs->via = cur_via;
				cs->best_hops = (uint8_t)h;
			}
			if (cs->flags & NS_EXTRA) {
				double kept = -1.0;
				for (size_t i = cs->aux; i < s->n_extras && s->extras[i].node == w; i++) {
					const mt_round_rec x = s->extras[i];
					/* Pareto set over (higher product, smaller via) */
					if (x.via >= cur_via || !(x.prod > prev) || x.prod < cur * NEAR_TIE ||
					    !(x.prod > kept))
						continue;
					kept = x.prod;
					if (improved && decay * x.prod == sc && x.via < cs->via)
						cs->via = x.via;
					if (more)
						next[n_next++] = (front_entry){
							.prod = x.prod, .node = w, .via = x.via, .bits = PROP_SCORE};
					if (log && log_rec(log, h, w, x.prod, x.via, x.pred) != 0)
						return MT_ENOMEM;
				}
			}
		}
		uint8_t fl = cs->flags & (uint8_t)~NS_EXTRA;
		if ((hs->stamp & ST_FULL_IN) && !(fl & NS_FULL)) {
			fl |= NS_FULL; /* became full this round: propagate the full wave */
			bits |= PROP_FULL;
		}
		cs->flags = fl;
		if (bits && more)
			next[n_next++] = (front_entry){.prod = cur, .node = w, .via = cur_via, .bits = bits};
	}
	s->n_next = n_next;
	s->n_extras = 0;
	if (log && log->count[h])
		qsort(log->recs[h], log->count[h], sizeof *log->recs[h], cmp_rec);
	return 0;
}

/* Rare cases of an edge: `none` (never traversed) or with an expiry.
 * 1 when the edge is not to be traversed. */
static inline int edge_skipped(const mt_scope_adj *sa, uint32_t pos, unsigned a, const mt_qopts *o)
{
	return !(a & MT_EA_LEVEL_MASK) || !edge_alive(sa, pos, o);
}

/* Relax the edges [pos, end) of u, whose entry has product `prod` and
 * first hop `via0` (`via_self`: u is V, the first hop is the target itself).
 * Written without data-dependent branches on the common path (the outcome of
 * each comparison is close to random, and mispredictions were much of a
 * query's time): products compare as integers (see PROD_NONE), a node new to
 * the round starts from PROD_NONE by masking, and the slot is updated by
 * selects. Near-ties, `none` and expiring edges take a rarely-taken branch.
 * `logging` also keeps the predecessor and its tie-break, which only a logged
 * run (paths) can observe. Appends the nodes new to the round at *tp.
 * Returns 0 or MT_ENOMEM. */
static MT_ALWAYS_INLINE int relax_row(mt_engine_scratch *s, const mt_scope_adj *sa, const mt_qopts *o,
				      uint32_t pos, uint32_t end, uint32_t u, double prod, uint32_t via0,
				      unsigned full_lv, uint32_t rg, uint32_t **tp, const int via_self,
				      const int logging)
{
	const uint32_t *targets = sa->targets;
	const uint16_t *attr = sa->attr;
	const double *factor = s->engine->factor;
	hot_state *hot = s->hot;
	uint32_t *pred = s->pred;
	uint32_t *t = *tp;
	for (; pos < end; pos++) {
		const unsigned a = attr[pos];
		if (MT_UNLIKELY(((a & MT_EA_LEVEL_MASK) == 0) | ((a & MT_EA_HAS_EXP) != 0)) &&
		    edge_skipped(sa, pos, a, o))
			continue;
		const uint32_t w = targets[pos];
		MT_PREFETCH_W(&hot[targets[pos + PF_EDGES < end ? pos + PF_EDGES : pos]]);
		hot_state *hs = &hot[w];
		const uint32_t st = hs->stamp;
		const uint32_t fresh = (st & ST_ROUND) != rg;
		const uint32_t keep = fresh - 1; /* all ones when w is already in this round */
		hs->stamp = rg | (st & ST_FULL_IN & keep) | ((a & MT_EA_LEVEL_MASK) == full_lv ? ST_FULL_IN : 0);
		*t = w;
		t += fresh;
		const int64_t cur = hs->cur | -(int64_t)fresh; /* PROD_NONE when new to the round */
		const int64_t cand = bits_of(prod * factor[a & MT_EA_SCORE_MASK]);
		const uint32_t via = via_self ? w : via0;
		const uint32_t cur_via = hs->cur_via;
		const int64_t diff = cand - cur; /* cand in [0, bits(1.0)], cur in [-1, bits(+inf)] */
		const uint64_t dist = diff < 0 ? (uint64_t)0 - (uint64_t)diff : (uint64_t)diff;
		if (MT_UNLIKELY(dist - 1 < NEAR_BITS)) {
			/* close but not equal: the loser may still tie later with a smaller via */
			const double c = prod_of(cand), p = cur >= 0 ? prod_of(cur) : -1.0;
			if (c > p) {
				if (p >= 0.0 && cur_via < via && p >= c * NEAR_TIE &&
				    push_extra(s, w, p, cur_via, logging ? pred[w] : NO_NODE) != 0)
					goto nomem;
			} else if (via < cur_via && c >= p * NEAR_TIE && push_extra(s, w, c, via, u) != 0) {
				goto nomem;
			}
		}
		int better = (diff > 0) | ((diff == 0) & (via < cur_via));
		if (logging) {
			better |= (diff == 0) & (via == cur_via) & (u < pred[w]);
			pred[w] = better ? u : pred[w];
		}
		const int64_t m = -(int64_t)better;
		hs->cur = (cand & m) | (cur & ~m);
		hs->cur_via = (via & (uint32_t)m) | (cur_via & ~(uint32_t)m);
	}
	*tp = t;
	return 0;
nomem:
	*tp = t;
	return MT_ENOMEM;
}

/* The same for an entry that only carries the full wave: full edges only,
 * products untouched. */
static void relax_row_full_only(mt_engine_scratch *s, const mt_scope_adj *sa, const mt_qopts *o, uint32_t pos,
				uint32_t end, uint32_t rg, uint32_t **tp)
{
	hot_state *hot = s->hot;
	uint32_t *t = *tp;
	for (; pos < end; pos++) {
		const uint16_t a = sa->attr[pos];
		if (mt_ea_level(a) != MT_LEVEL_FULL || ((a & MT_EA_HAS_EXP) && !edge_alive(sa, pos, o)))
			continue;
		const uint32_t w = sa->targets[pos];
		hot_state *hs = &hot[w];
		const uint32_t st = hs->stamp;
		const uint32_t fresh = (st & ST_ROUND) != rg;
		hs->stamp = rg | ST_FULL_IN;
		*t = w;
		t += fresh;
		hs->cur |= -(int64_t)fresh;
	}
	*tp = t;
}

/* One round's relaxations: every edge of every frontier entry. Returns 0 or
 * MT_ENOMEM. */
static MT_ALWAYS_INLINE int relax_round(mt_engine_scratch *s, const mt_scope_adj *sa, const mt_qopts *o,
					uint32_t rg, const int logging)
{
	const uint32_t *offsets = sa->offsets;
	uint32_t *t = s->touched;
	int rc = 0;
	for (size_t f = 0; f < s->n_front && rc == 0; f++) {
		const front_entry fe = s->front[f];
		const uint32_t u = fe.node, pos = offsets[u], end = offsets[u + 1];
		if (f + 2 * PF_ROWS < s->n_front)
			MT_PREFETCH(&offsets[s->front[f + 2 * PF_ROWS].node]);
		if (f + PF_ROWS < s->n_front) {
			const uint32_t ahead = offsets[s->front[f + PF_ROWS].node];
			MT_PREFETCH(&sa->targets[ahead]);
			MT_PREFETCH(&sa->attr[ahead]);
		}
		if (MT_UNLIKELY(!(fe.bits & PROP_SCORE))) {
			relax_row_full_only(s, sa, o, pos, end, rg, &t);
			continue;
		}
		/* the level bits a full step needs (none when this entry does not carry the full wave) */
		const unsigned full_lv = (fe.bits & PROP_FULL) ? (unsigned)MT_LEVEL_FULL << MT_EA_LEVEL_SHIFT : 0xffffu;
		if (MT_UNLIKELY(fe.via == NO_NODE))
			rc = relax_row(s, sa, o, pos, end, u, fe.prod, 0, full_lv, rg, &t, 1, logging);
		else
			rc = relax_row(s, sa, o, pos, end, u, fe.prod, fe.via, full_lv, rg, &t, 0, logging);
	}
	s->n_touched = (size_t)(t - s->touched);
	return rc;
}

int mt_graph__run(const mt_engine *e, mt_engine_scratch *s, uint32_t v, const mt_qopts *o, mt_path_log *log)
{
	const mt_scope_adj *sa = &e->scopes[o->scope];
	begin_query(s, o->depth);
	s->viewpoint = v;
	if (pin_self_and_blocks(e, s, v, o) != 0)
		return MT_ENOMEM;

	s->front[0] = (front_entry){.prod = 1.0, .node = v, .via = NO_NODE, .bits = PROP_SCORE | PROP_FULL};
	s->n_front = 1;

	for (int h = 1; h <= o->depth && s->n_front; h++) {
		const uint32_t rg = ++s->rgen;
		double decay = o->decay[(size_t)h < o->n_decay ? (size_t)h : o->n_decay - 1];
		for (size_t i = 0; i < s->n_pinned; i++) {
			hot_state *hs = &s->hot[s->pinned[i]];
			hs->stamp = rg;
			hs->cur = PROD_PINNED;
		}
		if ((log ? relax_round(s, sa, o, rg, 1) : relax_round(s, sa, o, rg, 0)) != 0)
			return MT_ENOMEM;
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
	if (node >= s->n || s->qbase == 0)
		return 0;
	const cold_state *cs = &s->cold[node];
	if (cs->qstamp != s->qbase || (cs->flags & (NS_BLOCKED | NS_SELF)) || !(cs->score > 0.0))
		return 0;
	out->score = cs->score;
	out->via = cs->via;
	out->hops = cs->hops;
	out->best_hops = cs->best_hops;
	out->level = (cs->flags & NS_FULL) ? MT_LEVEL_FULL : MT_LEVEL_LIMITED;
	return 1;
}

int mt_graph__blocked(const mt_engine_scratch *s, uint32_t node)
{
	return node < s->n && s->qbase != 0 && s->cold[node].qstamp == s->qbase &&
	       (s->cold[node].flags & NS_BLOCKED);
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

/* Stable LSD radix pass over byte `d` (0..3: node; 4..11: score) of k
 * records from a to b with histogram h (counts in, offsets out). */
static inline unsigned rec_digit(const sort_rec *r, int d)
{
	return d < 4 ? (r->node >> (8 * d)) & 0xffu : (unsigned)(r->key >> (8 * (d - 4))) & 0xffu;
}

static void radix_pass(const sort_rec *a, sort_rec *b, size_t k, uint32_t *h, int d)
{
	uint32_t pos = 0;
	for (int c = 0; c < 256; c++) {
		uint32_t n = h[c];
		h[c] = pos;
		pos += n;
	}
	for (size_t i = 0; i < k; i++)
		b[h[rec_digit(&a[i], d)]++] = a[i];
}

/* Stable LSD radix sort of k records by the bytes `first`..`last` (see
 * rec_digit), skipping bytes that are the same in every record. Returns the
 * sorted array (a or b). */
static sort_rec *radix_sort(mt_engine_scratch *s, sort_rec *a, sort_rec *b, size_t k, int first, int last)
{
	uint32_t(*hist)[256] = s->hist;
	int nd = last - first + 1;
	memset(hist, 0, (size_t)nd * sizeof hist[0]);
	for (size_t i = 0; i < k; i++)
		for (int d = 0; d < nd; d++)
			hist[d][rec_digit(&a[i], first + d)]++;
	for (int d = 0; d < nd; d++) {
		if (hist[d][rec_digit(&a[0], first + d)] == k)
			continue; /* every record has this byte: nothing to do */
		radix_pass(a, b, k, hist[d], first + d);
		sort_rec *t = a;
		a = b;
		b = t;
	}
	return a;
}

/* Sort k distinct keys ascending (quicksort, insertion sort below 16). */
static void sort_keys(sk_key *v, size_t k)
{
	while (k > 16) {
		/* median of three moved to v[k-1], the pivot */
		size_t mid = k / 2;
		if (v[mid].key < v[0].key) {
			sk_key t = v[mid];
			v[mid] = v[0];
			v[0] = t;
		}
		if (v[k - 1].key < v[0].key) {
			sk_key t = v[k - 1];
			v[k - 1] = v[0];
			v[0] = t;
		}
		if (v[mid].key > v[k - 1].key) {
			sk_key t = v[mid];
			v[mid] = v[k - 1];
			v[k - 1] = t;
		}
		const uint64_t pivot = v[k - 1].key;
		size_t i = 0;
		for (size_t j = 0; j < k - 1; j++)
			if (v[j].key < pivot) {
				sk_key t = v[i];
				v[i] = v[j];
				v[j] = t;
				i++;
			}
		sk_key t = v[i];
		v[i] = v[k - 1];
		v[k - 1] = t;
		/* v[0..i) < v[i] < v[i+1..k) (the keys are distinct); recurse on the smaller side */
		if (i < k - 1 - i) {
			sort_keys(v, i);
			v += i + 1;
			k -= i + 1;
		} else {
			sort_keys(v + i + 1, k - 1 - i);
			k = i;
		}
	}
	for (size_t i = 1; i < k; i++) {
		sk_key x = v[i];
		size_t j = i;
		for (; j > 0 && v[j - 1].key > x.key; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/* Start a group's table of distinct scores. */
static void sk_begin(mt_engine_scratch *s)
{
	if (++s->sk_gen == 0) {
		memset(s->sk, 0, sizeof s->sk);
		s->sk_gen = 1;
	}
}

/* Index of score key `key` among the group's distinct scores (*d so far,
 * counted in sk_off), or UINT32_MAX when it is new and there are SK_MAX. */
static inline uint32_t sk_id(mt_engine_scratch *s, uint64_t key, size_t *d)
{
	size_t slot = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 54); /* 10 bits: SK_SLOTS */
	for (;;) {
		sk_slot *sl = &s->sk[slot];
		if (sl->gen != s->sk_gen) {
			if (*d == SK_MAX)
				return UINT32_MAX;
			sl->gen = s->sk_gen;
			sl->key = key;
			sl->id = (uint32_t)*d;
			s->sk_keys[*d] = (sk_key){key, (uint32_t)*d};
			s->sk_off[*d] = 0;
			++*d;
			return sl->id;
		}
		if (sl->key == key)
			return sl->id;
		slot = (slot + 1) & (SK_SLOTS - 1);
	}
}

/* Turn the counts of the d distinct scores into the offsets of their runs,
 * in ascending key (descending score) order. */
static void sk_offsets(mt_engine_scratch *s, size_t d)
{
	sort_keys(s->sk_keys, d);
	uint32_t pos = 0;
	for (size_t r = 0; r < d; r++) {
		uint32_t id = s->sk_keys[r].id, n = s->sk_off[id];
		s->sk_off[id] = pos;
		pos += n;
	}
}

/* Order one hops group's k records (in a; b as large) by score descending,
 * then node ascending; returns the sorted array (a or b). `node_bytes`: the
 * bytes the largest node index needs; `few_scores`: the group has few
 * distinct scores (then one pass by score index replaces the radix passes
 * over the score's bytes). */
static sort_rec *sort_group(mt_engine_scratch *s, sort_rec *a, sort_rec *b, size_t k, int node_bytes,
			    int few_scores)
{
	if (k < 24) {
		for (size_t i = 1; i < k; i++) {
			sort_rec x = a[i];
			size_t j = i;
			for (; j > 0 && (a[j - 1].key > x.key || (a[j - 1].key == x.key && a[j - 1].node > x.node)); j--)
				a[j] = a[j - 1];
			a[j] = x;
		}
		return a;
	}
	if (!few_scores)
		return radix_sort(s, a, b, k, 0, 11);
	/* node ascending first; the stable pass by score below keeps that order */
	a = radix_sort(s, a, b, k, 0, node_bytes - 1);
	b = a == s->sort_a ? s->sort_b : s->sort_a;
	size_t d = 0;
	sk_begin(s);
	for (size_t i = 0; i < k; i++) {
		const uint32_t id = sk_id(s, a[i].key, &d);
		if (id == UINT32_MAX) /* too many distinct scores: sort by them */
			return radix_sort(s, a, b, k, 4, 11);
		a[i].id = id;
		s->sk_off[id]++;
	}
	sk_offsets(s, d);
	for (size_t i = 0; i < k; i++)
		b[s->sk_off[a[i].id]++] = a[i];
	return b;
}

static inline mt_trust_entry entry_of(const mt_engine *e, uint32_t x, const cold_state *cs)
{
	return (mt_trust_entry){
		.node = x,
		.id = e->id_arena + e->id_off[x],
		.score = cs->score,
		.level = (cs->flags & NS_FULL) ? MT_LEVEL_FULL : MT_LEVEL_LIMITED,
		.hops = cs->hops,
		.via = cs->via,
		.via_id = e->id_arena + e->id_off[cs->via],
	};
}

#if defined(__GNUC__)
#define MT_CTZ64(x) __builtin_ctzll(x)
#else
static inline int MT_CTZ64(uint64_t x)
{
	int n = 0;
	while (!(x & 1)) {
		x >>= 1;
		n++;
	}
	return n;
}
#endif

/* The answer of the last run, in the documented order, into out (room for
 * n_reached entries); returns the count. s->reached is in first-touch
 * order, i.e. by hops already, so each hops group is ordered by (score
 * descending, node ascending) on its own. The usual way needs no sort
 * records: the group's nodes go into a bitmap, which is read back in node
 * order, and each goes straight to its place in its score's run (the
 * distinct scores are few: products of a few edge scores). Groups whose
 * nodes are too spread out for the bitmap, or with too many distinct
 * scores, are sorted (sort_group). */
static size_t collect(mt_engine_scratch *s, const mt_engine *e, mt_trust_entry *out)
{
	cold_state *cold = s->cold;
	uint64_t *bitmap = s->bitmap;
	size_t k = 0;
	for (size_t start = 0, i = 0; start < s->n_reached; start = i) {
		const unsigned hops = cold[s->reached[start]].hops;
		size_t g = 0, d = 0;
		uint32_t lo = UINT32_MAX, hi = 0;
		int hashed = 1;
		sk_begin(s);
		for (i = start; i < s->n_reached; i++) {
			const uint32_t x = s->reached[i];
			if (i + PF_NODES < s->n_reached)
				MT_PREFETCH_W(&cold[s->reached[i + PF_NODES]]);
			cold_state *cs = &cold[x];
			if (cs->hops != hops)
				break;
			if (!(cs->score > 0.0))
				continue;
			if (hashed) {
				const uint32_t id = sk_id(s, ~(uint64_t)bits_of(cs->score), &d);
				if (id == UINT32_MAX || (d > 64 && 2 * d > g + 1)) {
					hashed = 0; /* many distinct scores: sort by them instead */
				} else {
					cs->aux = id;
					s->sk_off[id]++;
				}
			}
			bitmap[x / 64] |= (uint64_t)1 << (x % 64);
			lo = x < lo ? x : lo;
			hi = x > hi ? x : hi;
			g++;
		}
		if (g == 0)
			continue;
		const int few_scores = hashed && 4 * d <= g + 64;
		if (few_scores && (size_t)(hi / 64 - lo / 64) <= 2 * g + 16) {
			sk_offsets(s, d);
			mt_trust_entry *dst = out + k;
			for (size_t wi = lo / 64; wi <= hi / 64; wi++) {
				uint64_t word = bitmap[wi];
				bitmap[wi] = 0;
				while (word) {
					const uint32_t x = (uint32_t)(wi * 64 + (size_t)MT_CTZ64(word));
					word &= word - 1;
					const cold_state *cs = &cold[x];
					dst[s->sk_off[cs->aux]++] = entry_of(e, x, cs);
				}
			}
			k += g;
			continue;
		}
		/* sort records instead */
		size_t n = 0;
		uint32_t nodes_or = 0;
		for (size_t j = start; j < i; j++) {
			const uint32_t x = s->reached[j];
			bitmap[x / 64] = 0;
			if (!(cold[x].score > 0.0))
				continue;
			s->sort_a[n++] = (sort_rec){.key = ~(uint64_t)bits_of(cold[x].score), .node = x};
			nodes_or |= x;
		}
		int node_bytes = 1 + (nodes_or > 0xffu) + (nodes_or > 0xffffu) + (nodes_or > 0xffffffu);
		const sort_rec *sorted = sort_group(s, s->sort_a, s->sort_b, n, node_bytes, few_scores);
		for (size_t j = 0; j < n; j++)
			out[k++] = entry_of(e, sorted[j].node, &cold[sorted[j].node]);
	}
	return k;
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
	r->count = collect(s, e, r->entries);
	*out = r;
	r = NULL;
done:
	mt_trust_result_free(r);
	if (s != scratch)
		mt_engine_scratch_free(s);
	return rc;
}
