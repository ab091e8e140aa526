/* The replay order of SPEC §9.1: see replay.h for the rules.
 *
 * How: the statements are sorted by (iss, seq, id), which dedups them and
 * lays each feed out as a run (feed edges join neighbours of a run); a copy
 * sorted by id resolves the ids that statements name; dependency edges are
 * kept in compressed rows. Kahn's algorithm with a binary min-heap of the
 * ready statements (key (ts, rank, iss, seq, id)) gives the order; a second
 * heap holds the statements whose feed predecessor is replayed, from which a
 * cycle is broken. Every statement enters each heap at most once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

#define NONE SIZE_MAX

/* SPEC §9.1's kind ranks, by type name. */
static const char *const rank_names[] = {"genesis",    "key",	     "rotate",
					 "proposal",   "pot-open",   "pot-commit",
					 "vote",       "pot-reveal", "pot-claim"};
#define RANK_OTHER ((int)(sizeof rank_names / sizeof *rank_names))

int mt_pot__replay_rank(mt_stmt_type t)
{
	const char *name = mt_stmt_type_name(t);
	for (int i = 0; name && i < RANK_OTHER; i++)
		if (strcmp(rank_names[i], name) == 0)
			return i;
	return RANK_OTHER;
}

/* "A statement after the statement it names": (type, field, named type). */
static const struct names_rule {
	const char *type, *field, *named;
} names_rules[] = {
	{"pot-open", "genesis", "genesis"},   {"pot-commit", "round", "pot-open"},
	{"pot-reveal", "round", "pot-open"},  {"pot-claim", "round", "pot-open"},
	{"vote", "proposal", "proposal"},     {"key", "from", "rotate"},
	{"proposal", "genesis", "genesis"},
};

struct node {
	const mt_stmt *st;
	int64_t ts; /* st->ts, kept here: the heaps compare nodes, not statements */
	int rank;
	size_t feed_next; /* the next statement of the same feed, or NONE */
	int feed_head;	  /* no feed predecessor in the set */
	size_t named;	  /* the statement it names, or NONE */
	size_t indeg;	  /* predecessors not yet replayed */
	int done;
};

struct graph {
	struct node *v;
	size_t n;
	struct id_entry {
		unsigned char id[32];
		size_t node;
	} *by_id; /* the nodes' ids, sorted */
	struct edge {
		size_t from, to;
	} *e;
	size_t ne, cap_e;
	size_t *row, *col; /* dependency edges, compressed rows */
};

static int key_cmp(const struct node *a, const struct node *b)
{
	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	const mt_stmt *x = a->st, *y = b->st;
	int c = strcmp(x->iss, y->iss);
	if (c)
		return c;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return memcmp(x->id, y->id, 32);
}

static int feed_cmp(const void *p, const void *q)
{
	const mt_stmt *x = *(const mt_stmt *const *)p, *y = *(const mt_stmt *const *)q;
	int c = strcmp(x->iss, y->iss);
	if (c)
		return c;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return memcmp(x->id, y->id, 32);
}

static int id_cmp(const void *p, const void *q)
{
	return memcmp(((const struct id_entry *)p)->id, ((const struct id_entry *)q)->id, 32);
}

static int unhex(unsigned char out[32], const char *hex)
{
	if (!hex || strlen(hex) != 64)
		return -1;
	for (int i = 0; i < 64; i++) {
		char c = hex[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			return -1;
		if (i % 2)
			out[i / 2] = (unsigned char)(out[i / 2] | d);
		else
			out[i / 2] = (unsigned char)(d << 4);
	}
	return 0;
}

/* The node whose id is the hex text `hex`, or NONE. */
static size_t find(const struct graph *g, const char *hex)
{
	unsigned char id[32];
	if (unhex(id, hex))
		return NONE;
	size_t lo = 0, hi = g->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(g->by_id[mid].id, id, 32);
		if (c == 0)
			return g->by_id[mid].node;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NONE;
}

static int add_edge(struct graph *g, size_t from, size_t to)
{
	if (from == NONE || from == to)
		return 0;
	if (g->ne == g->cap_e) {
		size_t nc = g->cap_e ? g->cap_e * 2 : 64;
		struct edge *p = realloc(g->e, nc * sizeof *p);
		if (!p)
			return MT_ENOMEM;
		g->e = p;
		g->cap_e = nc;
	}
	g->e[g->ne++] = (struct edge){from, to};
	g->v[to].indeg++;
	return 0;
}

/* The party index (0 opener, 1 cosponsor) of `iss` in the round opened by
 * `open`, or -1. */
static int party_of(const mt_stmt *open, const char *iss)
{
	if (strcmp(open->iss, iss) == 0)
		return 0;
	const char *cos = mt_stmt_str(open, "cosponsor");
	return cos && strcmp(cos, iss) == 0 ? 1 : -1;
}

/* The names rule of each type (by type name, looked up once per type). */
static void names_table(const struct names_rule *out[MT_ST__COUNT])
{
	for (int t = 0; t < MT_ST__COUNT; t++) {
		const char *name = mt_stmt_type_name((mt_stmt_type)t);
		out[t] = NULL;
		for (size_t k = 0; name && k < sizeof names_rules / sizeof *names_rules; k++)
			if (strcmp(names_rules[k].type, name) == 0)
				out[t] = &names_rules[k];
	}
}

static int is_type(const mt_stmt *s, const char *name)
{
	const char *t = mt_stmt_type_name(s->type);
	return t && strcmp(t, name) == 0;
}

/* Dependency edges: names, then the proof-of-trust round structure. */
static int build_edges(struct graph *g)
{
	const struct names_rule *rule_of[MT_ST__COUNT];
	names_table(rule_of);
	for (size_t i = 0; i < g->n; i++) {
		const mt_stmt *s = g->v[i].st;
		const struct names_rule *rule =
			(int)s->type >= 0 && s->type < MT_ST__COUNT ? rule_of[s->type] : NULL;
		if (!rule)
			continue;
		size_t j = find(g, mt_stmt_str(s, rule->field));
		if (j != NONE && is_type(g->v[j].st, rule->named)) {
			g->v[i].named = j;
			if (add_edge(g, j, i))
				return MT_ENOMEM;
		}
	}
	/* Per round (indexed by its open): each sponsor's first commit and first
	 * reveal. Nodes are in feed order, so the first seen is the lowest seq. */
	size_t *first = malloc(4 * g->n * sizeof *first);
	if (!first)
		return MT_ENOMEM;
	for (size_t i = 0; i < 4 * g->n; i++)
		first[i] = NONE;
	for (size_t i = 0; i < g->n; i++) {
		const mt_stmt *s = g->v[i].st;
		size_t o = g->v[i].named;
		if ((s->type != MT_ST_POT_COMMIT && s->type != MT_ST_POT_REVEAL) || o == NONE)
			continue; /* (a commit or reveal names only a pot-open) */
		int p = party_of(g->v[o].st, s->iss);
		size_t *slot = &first[4 * o + (s->type == MT_ST_POT_REVEAL ? 2 : 0) + (size_t)(p > 0)];
		if (p >= 0 && *slot == NONE)
			*slot = i;
	}
	int rc = 0;
	for (size_t i = 0; i < g->n && !rc; i++) {
		const mt_stmt *s = g->v[i].st;
		size_t o = g->v[i].named;
		if (o == NONE)
			continue;
		if (s->type == MT_ST_POT_REVEAL)
			rc = add_edge(g, first[4 * o], i) || add_edge(g, first[4 * o + 1], i);
		else if (s->type == MT_ST_POT_CLAIM)
			rc = add_edge(g, first[4 * o + 2], i) || add_edge(g, first[4 * o + 3], i);
	}
	free(first);
	if (rc)
		return MT_ENOMEM;
	/* compressed rows */
	g->row = calloc(g->n + 1, sizeof *g->row);
	g->col = malloc((g->ne ? g->ne : 1) * sizeof *g->col);
	if (!g->row || !g->col)
		return MT_ENOMEM;
	for (size_t k = 0; k < g->ne; k++)
		g->row[g->e[k].from + 1]++;
	for (size_t i = 0; i < g->n; i++)
		g->row[i + 1] += g->row[i];
	size_t *fill = malloc((g->n ? g->n : 1) * sizeof *fill);
	if (!fill)
		return MT_ENOMEM;
	memcpy(fill, g->row, g->n * sizeof *fill);
	for (size_t k = 0; k < g->ne; k++)
		g->col[fill[g->e[k].from]++] = g->e[k].to;
	free(fill);
	return 0;
}

/* ---- a binary min-heap of node indices by key_cmp ------------------------ */

struct heap {
	size_t *a;
	size_t n;
	const struct node *v;
};

static int less(const struct heap *h, size_t i, size_t j)
{
	return key_cmp(&h->v[h->a[i]], &h->v[h->a[j]]) < 0;
}

static void swap(struct heap *h, size_t i, size_t j)
{
	size_t t = h->a[i];
	h->a[i] = h->a[j];
	h->a[j] = t;
}

/* Capacity is the caller's: each node is pushed at most once per heap. */
static void push(struct heap *h, size_t x)
{
	size_t i = h->n++;
	h->a[i] = x;
	while (i > 0 && less(h, i, (i - 1) / 2)) {
		swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static size_t pop(struct heap *h)
{
	size_t top = h->a[0];
	h->a[0] = h->a[--h->n];
	for (size_t i = 0;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < h->n && less(h, l, m))
			m = l;
		if (r < h->n && less(h, r, m))
			m = r;
		if (m == i)
			break;
		swap(h, i, m);
		i = m;
	}
	return top;
}

/* ---- the order ------------------------------------------------------------ */

static void release(struct graph *g, struct heap *ready, struct heap *fed, size_t i)
{
	struct node *v = g->v;
	size_t nx = v[i].feed_next;
	if (nx != NONE && !v[nx].done) {
		push(fed, nx);
		if (--v[nx].indeg == 0)
			push(ready, nx);
	}
	for (size_t k = g->row[i]; k < g->row[i + 1]; k++) {
		size_t to = g->col[k];
		if (!v[to].done && --v[to].indeg == 0)
			push(ready, to);
	}
}

int mt_pot__replay_order(mt_replay_step **out, size_t *m, const mt_stmt *const *stmts, size_t n,
			 mt_error *err)
{
	*out = NULL;
	*m = 0;
	struct graph g = {0};
	const mt_stmt **list = NULL;
	mt_replay_step *steps = NULL;
	struct heap ready = {0}, fed = {0};
	int rc = MT_ENOMEM;
	size_t cnt = 0;
	if (n && !(list = malloc(n * sizeof *list)))
		goto done;
	for (size_t i = 0; i < n; i++)
		if (stmts[i])
			list[cnt++] = stmts[i];
	if (cnt > 1)
		qsort(list, cnt, sizeof *list, feed_cmp);
	size_t alloc = cnt ? cnt : 1;
	g.v = calloc(alloc, sizeof *g.v);
	g.by_id = malloc(alloc * sizeof *g.by_id);
	ready.a = malloc(alloc * sizeof *ready.a);
	fed.a = malloc(alloc * sizeof *fed.a);
	steps = malloc(alloc * sizeof *steps);
	if (!g.v || !g.by_id || !ready.a || !fed.a || !steps)
		goto done;
	int rank_of[MT_ST__COUNT];
	for (int t = 0; t < MT_ST__COUNT; t++)
		rank_of[t] = mt_pot__replay_rank((mt_stmt_type)t);
	for (size_t i = 0; i < cnt; i++) {
		if (g.n && memcmp(g.v[g.n - 1].st->id, list[i]->id, 32) == 0)
			continue; /* the same statement twice: adjacent in feed order */
		struct node *x = &g.v[g.n];
		x->st = list[i];
		x->ts = list[i]->ts;
		x->rank = (int)list[i]->type >= 0 && list[i]->type < MT_ST__COUNT
				  ? rank_of[list[i]->type]
				  : RANK_OTHER;
		x->feed_next = x->named = NONE;
		x->feed_head = 1;
		if (g.n && strcmp(g.v[g.n - 1].st->iss, list[i]->iss) == 0) {
			g.v[g.n - 1].feed_next = g.n;
			x->feed_head = 0;
			x->indeg = 1;
		}
		g.n++;
	}
	for (size_t i = 0; i < g.n; i++) {
		memcpy(g.by_id[i].id, g.v[i].st->id, 32);
		g.by_id[i].node = i;
	}
	if (g.n > 1)
		qsort(g.by_id, g.n, sizeof *g.by_id, id_cmp);
	if (build_edges(&g))
		goto done;
	ready.v = fed.v = g.v;
	for (size_t i = 0; i < g.n; i++) {
		if (g.v[i].indeg == 0)
			push(&ready, i);
		if (g.v[i].feed_head)
			push(&fed, i);
	}
	for (size_t k = 0; k < g.n; k++) {
		size_t i;
		int forced = 0;
		if (ready.n) {
			i = pop(&ready);
		} else {
			/* a cycle: the least statement whose feed predecessor is
			 * replayed (the heap holds exactly those, some already done) */
			do
				i = pop(&fed);
			while (g.v[i].done);
			forced = 1;
		}
		g.v[i].done = 1;
		steps[k] = (mt_replay_step){g.v[i].st, g.v[i].named == NONE ? NULL : g.v[g.v[i].named].st,
					    forced};
		release(&g, &ready, &fed, i);
	}
	*out = steps;
	*m = g.n;
	steps = NULL;
	rc = 0;
done:
	free(list);
	free(g.v);
	free(g.by_id);
	free(g.e);
	free(g.row);
	free(g.col);
	free(ready.a);
	free(fed.a);
	free(steps);
	if (rc)
		return mt_error_set(err, rc, "pot: out of memory ordering %zu statements", n);
	return 0;
}
