/* Advogato-style max-flow trust (flow.h, docs/flow.md).
 *
 * One query: BFS the region around V in one scope (the engine's CSR, read
 * only), build the node-split flow network in compact arrays, run Dinic's
 * algorithm (E. A. Dinic, 1970: BFS levels, then blocking flows found by an
 * iterative DFS with per-vertex arc pointers), and read acceptance off the
 * unit arcs to the sink. Everything lives in one per-query context, so calls
 * are reentrant. The adaptive schedule and its canonical greedy flow are in
 * flow_adaptive.c. */
#include "flow_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOT_LOCAL MT_FLOW_NOT_LOCAL

static const char *const MODE_NAMES[] = {"best-path", "flow", "flow-adaptive"};

int mt_trust_mode_parse(const char *text, mt_trust_mode *out, mt_error *err)
{
	for (int m = 0; text && m < 3; m++)
		if (strcmp(text, MODE_NAMES[m]) == 0) {
			*out = (mt_trust_mode)m;
			return 0;
		}
	return mt_error_set(err, MT_EINVAL, "\"%.40s\" is not a mode (%s)", text ? text : "(null)",
			    MT_TRUST_MODE_NAMES);
}

const char *mt_trust_mode_name(mt_trust_mode mode)
{
	return (unsigned)mode < 3 ? MODE_NAMES[mode] : MODE_NAMES[0];
}

int mt_flow_capacities_parse(uint32_t out[MT_FLOW_MAX_CAPACITIES], size_t *n, const char *text,
			     mt_error *err)
{
	if (!text || !n)
		return mt_error_set(err, MT_EINVAL, "trust.flowCapacities: value is NULL");
	size_t k = 0;
	const char *p = text;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		const char *start = p;
		uint64_t v = 0;
		while (*p >= '0' && *p <= '9') {
			if (v <= MT_FLOW_MAX_CAPACITY)
				v = v * 10 + (uint64_t)(*p - '0');
			p++;
		}
		if (p == start || (*p && *p != ' ' && *p != '\t' && *p != ',') ||
		    (p - start > 1 && *start == '0'))
			return mt_error_set(err, MT_EINVAL,
					    "trust.flowCapacities: \"%.*s\" is not a whole number",
					    (int)strcspn(start, " \t,"), start);
		if (v < 1 || v > MT_FLOW_MAX_CAPACITY)
			return mt_error_set(err, MT_EINVAL,
					    "trust.flowCapacities: %.*s is outside 1..%u",
					    (int)(p - start), start, MT_FLOW_MAX_CAPACITY);
		if (k == MT_FLOW_MAX_CAPACITIES)
			return mt_error_set(err, MT_EINVAL,
					    "trust.flowCapacities: at most %d values (distances 0..%d)",
					    MT_FLOW_MAX_CAPACITIES, MT_ENGINE_MAX_DEPTH);
		if (k && v > out[k - 1])
			return mt_error_set(err, MT_EINVAL,
					    "trust.flowCapacities: values must be non-increasing (%u after %u)",
					    (unsigned)v, out[k - 1]);
		out[k++] = (uint32_t)v;
	}
	if (k < 2)
		return mt_error_set(err, MT_EINVAL,
				    "trust.flowCapacities: give at least 2 values, one per distance "
				    "from the viewpoint, e.g. \"%s\"",
				    MT_FLOW_DEFAULT_CAPACITIES);
	*n = k;
	return 0;
}


static void ctx_free(mt_flow_ctx *c)
{
	free(c->local);
	free(c->glob);
	free(c->dist);
	free(c->full);
	free(c->via);
	free(c->parent);
	free(c->pred);
	free(c->own);
	free(c->arc_to);
	free(c->res);
	free(c->adj_off);
	free(c->adj);
	free(c->level);
	free(c->it);
	free(c->stack);
	free(c->stack_arc);
}

static int edge_alive(const mt_flow_ctx *c, uint32_t pos)
{
	uint16_t a = c->sa->attr[pos];
	if (mt_ea_level(a) == MT_LEVEL_NONE)
		return 0;
	return !(a & MT_EA_HAS_EXP) || mt_graph__edge_exp(c->sa, pos) > c->at;
}

static int validate(const mt_engine *e, const mt_flow_query *q, mt_error *err)
{
	if (!e || !q)
		return mt_error_set(err, MT_EINVAL, "flow query: engine or query is NULL");
	if (!q->viewpoint)
		return mt_error_set(err, MT_EINVAL, "flow query: viewpoint is NULL");
	if (q->max_depth < 1 || q->max_depth > MT_ENGINE_MAX_DEPTH)
		return mt_error_set(err, MT_EINVAL, "flow query: max_depth %d outside 1..%d", q->max_depth,
				    MT_ENGINE_MAX_DEPTH);
	if (!q->capacity && q->n_capacity == 0)
		return 0; /* the adaptive schedule */
	if (!q->capacity || q->n_capacity < 2 || q->n_capacity > MT_FLOW_MAX_CAPACITIES)
		return mt_error_set(err, MT_EINVAL, "flow query: capacity schedule needs 2..%d values",
				    MT_FLOW_MAX_CAPACITIES);
	for (size_t i = 0; i < q->n_capacity; i++) {
		if (q->capacity[i] < 1 || q->capacity[i] > MT_FLOW_MAX_CAPACITY)
			return mt_error_set(err, MT_EINVAL, "flow query: capacity[%zu] = %u outside 1..%u", i,
					    q->capacity[i], MT_FLOW_MAX_CAPACITY);
		if (i && q->capacity[i] > q->capacity[i - 1])
			return mt_error_set(err, MT_EINVAL,
					    "flow query: capacity[%zu] = %u is larger than capacity[%zu] = %u",
					    i, q->capacity[i], i - 1, q->capacity[i - 1]);
	}
	return 0;
}

/* Mark V's blocked nodes: unexpired `none` edges from V in S or in global. */
static void mark_blocks(const mt_flow_ctx *c, uint32_t v, int scope, int global, uint8_t *blocked)
{
	int scopes[2] = {scope, global != scope ? global : -1};
	for (int k = 0; k < 2; k++) {
		if (scopes[k] < 0)
			continue;
		const mt_scope_adj *sa = &c->e->scopes[scopes[k]];
		for (uint32_t pos = sa->offsets[v]; pos < sa->offsets[v + 1]; pos++) {
			uint16_t a = sa->attr[pos];
			if (mt_ea_level(a) != MT_LEVEL_NONE)
				continue;
			if ((a & MT_EA_HAS_EXP) && mt_graph__edge_exp(sa, pos) <= c->at)
				continue;
			blocked[sa->targets[pos]] = 1;
		}
	}
}

/* The rendezvous weight of the tree edge p -> z (docs/flow.md): 64-bit
 * FNV-1a of each Node ID through the MurmurHash3 finaliser, then
 * fmix64(h(p) ^ h(z) * 0x9e3779b97f4a7c15). A node's canonical parent is its
 * lightest predecessor: adding a predecessor can only take the node (as its
 * new parent), never move it between the others. */
static uint64_t fmix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static uint64_t id_hash(const char *id)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *id; id++)
		h = (h ^ (uint8_t)*id) * 0x100000001b3ull;
	return fmix64(h);
}

static uint64_t tree_weight(uint64_t parent_hash, uint64_t child_hash)
{
	return fmix64(parent_hash ^ child_hash * 0x9e3779b97f4a7c15ull);
}

/* BFS the region (distance <= depth); fills glob/dist/via/parent/full. */
static int build_region(mt_flow_ctx *c, uint32_t v, int scope, int global)
{
	size_t n = c->e->n;
	uint8_t *blocked = calloc(n, 1);
	c->local = calloc(n, sizeof *c->local);
	c->glob = malloc(n * sizeof *c->glob);
	c->dist = malloc(n);
	c->via = malloc(n * sizeof *c->via);
	c->parent = malloc(n * sizeof *c->parent);
	c->full = calloc(n, 1);
	uint32_t *fq = malloc(n * sizeof *fq);
	uint64_t *idh = c->adaptive ? malloc(n * sizeof *idh) : NULL; /* id_hash by local index */
	if (!blocked || !c->local || !c->glob || !c->dist || !c->via || !c->parent || !c->full ||
	    !fq || (c->adaptive && !idh)) {
		free(blocked);
		free(fq);
		free(idh);
		return MT_ENOMEM;
	}
	mark_blocks(c, v, scope, global, blocked);
	const mt_scope_adj *sa = c->sa;
	c->glob[0] = v;
	c->dist[0] = 0;
	c->via[0] = v;
	c->parent[0] = 0;
	if (idh)
		idh[0] = id_hash(mt_engine_node_id(c->e, v));
	c->local[v] = 1;
	c->nr = 1;
	c->layer[0] = 1;
	/* Plain BFS; the queue is glob[] itself. Nodes of layer d are all dequeued
	 * before any node of layer d+1, so a node's via (min over its shortest-path
	 * predecessors) is final before it expands. The adaptive mode's canonical
	 * parent: the predecessor at distance - 1 of smallest tree_weight. */
	for (uint32_t head = 0; head < c->nr; head++) {
		uint32_t u = c->glob[head];
		if (c->dist[head] >= c->depth)
			continue;
		for (uint32_t pos = sa->offsets[u]; pos < sa->offsets[u + 1]; pos++) {
			uint32_t w = sa->targets[pos];
			if (blocked[w] || !edge_alive(c, pos))
				continue;
			uint32_t lw = c->local[w];
			uint32_t first = head == 0 ? w : c->via[head];
			if (lw == NOT_LOCAL) {
				c->layer[c->dist[head] + 1]++;
				lw = ++c->nr;
				c->local[w] = lw;
				c->glob[lw - 1] = w;
				c->dist[lw - 1] = (uint8_t)(c->dist[head] + 1);
				c->via[lw - 1] = first;
				c->parent[lw - 1] = head;
				if (idh)
					idh[lw - 1] = id_hash(mt_engine_node_id(c->e, w));
			} else if (c->dist[lw - 1] == c->dist[head] + 1) {
				if (first < c->via[lw - 1])
					c->via[lw - 1] = first;
				if (idh) { /* equal weights: the smaller node index */
					uint32_t old = c->parent[lw - 1];
					uint64_t wn = tree_weight(idh[head], idh[lw - 1]);
					uint64_t wo = tree_weight(idh[old], idh[lw - 1]);
					if (wn < wo || (wn == wo && u < c->glob[old]))
						c->parent[lw - 1] = head;
				}
			}
		}
	}
	/* Second BFS over full edges only: who is `full` within the depth. */
	uint8_t *fd = malloc(c->nr);
	size_t qn = 0;
	if (!fd) {
		free(blocked);
		free(fq);
		free(idh);
		return MT_ENOMEM;
	}
	fq[qn++] = 0;
	c->full[0] = 1;
	fd[0] = 0;
	for (size_t head = 0; head < qn; head++) {
		uint32_t lu = fq[head], u = c->glob[lu];
		if (fd[lu] >= c->depth)
			continue;
		for (uint32_t pos = sa->offsets[u]; pos < sa->offsets[u + 1]; pos++) {
			uint32_t lw = c->local[sa->targets[pos]];
			if (lw == NOT_LOCAL || c->full[lw - 1] || !edge_alive(c, pos) ||
			    mt_ea_level(sa->attr[pos]) != MT_LEVEL_FULL)
				continue;
			c->full[lw - 1] = 1;
			fd[lw - 1] = (uint8_t)(fd[lu] + 1);
			fq[qn++] = lw - 1;
		}
	}
	free(fd);
	free(fq);
	free(blocked);
	free(idh);
	return 0;
}

/* Build the split network as a CSR of arcs. */
static int build_network(mt_flow_ctx *c)
{
	const uint32_t *cap = c->cap;
	const mt_scope_adj *sa = c->sa;
	uint32_t nr = c->nr;
	size_t m = 2 * (size_t)nr; /* sink arcs + through arcs */
	for (uint32_t i = 0; i < nr; i++) {
		uint32_t u = c->glob[i];
		for (uint32_t pos = sa->offsets[u]; pos < sa->offsets[u + 1]; pos++) {
			uint32_t lw = c->local[sa->targets[pos]];
			if (lw > 1 && edge_alive(c, pos))
				m++;
		}
	}
	if (m > (size_t)INT32_MAX / 2)
		return MT_ETOOBIG;
	c->nv = 2 * nr + 1;
	c->na = (uint32_t)(2 * m);
	uint32_t *tail = malloc(c->na * sizeof *tail);
	c->arc_to = malloc(c->na * sizeof *c->arc_to);
	c->res = calloc(c->na, sizeof *c->res);
	c->adj_off = calloc((size_t)c->nv + 1, sizeof *c->adj_off);
	c->adj = malloc(c->na * sizeof *c->adj);
	c->level = malloc(c->nv * sizeof *c->level);
	c->it = malloc(c->nv * sizeof *c->it);
	c->stack = malloc(((size_t)c->nv + 1) * sizeof *c->stack);
	c->stack_arc = malloc(((size_t)c->nv + 1) * sizeof *c->stack_arc);
	c->own = malloc((size_t)nr * sizeof *c->own);
	if (!c->own || !tail || !c->arc_to || !c->res || !c->adj_off || !c->adj || !c->level || !c->it ||
	    !c->stack || !c->stack_arc) {
		free(tail);
		return MT_ENOMEM;
	}
	uint32_t sink = 2 * nr, a = 0;
	/* Infinite = capacity[0]: no flow can exceed what leaves V. */
	int32_t inf = (int32_t)cap[0];
#define ADD_ARC(from, to, capacity)                                                                \
	do {                                                                                       \
		tail[a] = (from);                                                                  \
		c->arc_to[a] = (to);                                                               \
		c->res[a] = (capacity);                                                            \
		tail[a + 1] = (to);                                                                \
		c->arc_to[a + 1] = (from);                                                         \
		a += 2;                                                                            \
	} while (0)
	for (uint32_t i = 0; i < nr; i++) {
		int32_t ci = (int32_t)cap[c->dist[i]];
		/* The sink arc first: a node keeps its own unit before passing flow on. */
		c->own[i] = a;
		ADD_ARC(2 * i, sink, 1);
		ADD_ARC(2 * i, 2 * i + 1, ci - 1);
		uint32_t u = c->glob[i];
		for (uint32_t pos = sa->offsets[u]; pos < sa->offsets[u + 1]; pos++) {
			uint32_t lw = c->local[sa->targets[pos]];
			if (lw > 1 && edge_alive(c, pos))
				ADD_ARC(2 * i + 1, 2 * (lw - 1), inf);
		}
	}
#undef ADD_ARC
	/* Counting sort of arcs by tail (stable: keeps the insertion order). */
	for (uint32_t k = 0; k < c->na; k++)
		c->adj_off[tail[k] + 1]++;
	for (uint32_t k = 0; k < c->nv; k++)
		c->adj_off[k + 1] += c->adj_off[k];
	uint32_t *fill = c->it; /* reuse as a cursor */
	memcpy(fill, c->adj_off, c->nv * sizeof *fill);
	for (uint32_t k = 0; k < c->na; k++)
		c->adj[fill[tail[k]]++] = k;
	free(tail);
	return 0;
}

static int bfs_levels(mt_flow_ctx *c, uint32_t s, uint32_t t)
{
	for (uint32_t k = 0; k < c->nv; k++)
		c->level[k] = -1;
	uint32_t *q = c->stack, qn = 0;
	q[qn++] = s;
	c->level[s] = 0;
	for (uint32_t h = 0; h < qn; h++) {
		uint32_t u = q[h];
		for (uint32_t k = c->adj_off[u]; k < c->adj_off[u + 1]; k++) {
			uint32_t a = c->adj[k], w = c->arc_to[a];
			if (c->res[a] > 0 && c->level[w] < 0) {
				c->level[w] = c->level[u] + 1;
				q[qn++] = w;
			}
		}
	}
	return c->level[t] >= 0;
}

/* Dinic: blocking flows on the level graph with an iterative DFS. */
static void max_flow(mt_flow_ctx *c)
{
	uint32_t s = 0, t = c->nv - 1;
	c->flow_value = 0;
	while (bfs_levels(c, s, t)) {
		memcpy(c->it, c->adj_off, c->nv * sizeof *c->it);
		uint32_t top = 0;
		c->stack[0] = s;
		for (;;) {
			uint32_t u = c->stack[top];
			if (u == t) {
				int32_t push = INT32_MAX;
				for (uint32_t k = 0; k < top; k++)
					if (c->res[c->stack_arc[k]] < push)
						push = c->res[c->stack_arc[k]];
				for (uint32_t k = 0; k < top; k++) {
					c->res[c->stack_arc[k]] -= push;
					c->res[c->stack_arc[k] ^ 1u] += push;
				}
				c->flow_value += (uint32_t)push;
				top = 0;
				continue;
			}
			int advanced = 0;
			for (; c->it[u] < c->adj_off[u + 1]; c->it[u]++) {
				uint32_t a = c->adj[c->it[u]], w = c->arc_to[a];
				if (c->res[a] > 0 && c->level[w] == c->level[u] + 1) {
					c->stack_arc[top] = a;
					c->stack[++top] = w;
					advanced = 1;
					break;
				}
			}
			if (advanced)
				continue;
			c->level[u] = -1; /* dead end for this phase */
			if (top == 0)
				break;
			top--;
			c->it[c->stack[top]]++;
		}
	}
}

/* Flow on a forward arc = residual of its reverse. */
static uint32_t sink_arc(const mt_flow_ctx *c, uint32_t i) { return c->own[i]; }
static uint32_t through_arc(const mt_flow_ctx *c, uint32_t i) { return c->own[i] + 2; }
static uint32_t arc_flow(const mt_flow_ctx *c, uint32_t a) { return (uint32_t)c->res[a ^ 1u]; }
static uint32_t node_flow(const mt_flow_ctx *c, uint32_t i)
{
	return arc_flow(c, sink_arc(c, i)) + arc_flow(c, through_arc(c, i));
}

/* Predecessors on shortest flow-carrying paths from V (BFS over out arcs with flow). */
static int flow_tree(mt_flow_ctx *c)
{
	c->pred = malloc(c->nr * sizeof *c->pred);
	if (!c->pred)
		return MT_ENOMEM;
	for (uint32_t i = 0; i < c->nr; i++)
		c->pred[i] = UINT32_MAX;
	uint32_t *q = c->stack, qn = 0;
	q[qn++] = 0;
	c->pred[0] = 0;
	for (uint32_t h = 0; h < qn; h++) {
		uint32_t i = q[h], out = 2 * i + 1;
		for (uint32_t k = c->adj_off[out]; k < c->adj_off[out + 1]; k++) {
			uint32_t a = c->adj[k];
			if (a & 1u)
				continue; /* a reverse arc */
			uint32_t j = c->arc_to[a] / 2;
			if (arc_flow(c, a) > 0 && c->pred[j] == UINT32_MAX) {
				c->pred[j] = i;
				q[qn++] = j;
			}
		}
	}
	return 0;
}

/* The region's depth: max_depth, or less when the fixed schedule is shorter. */
static int query_depth(const mt_flow_query *q)
{
	if (!q->capacity || q->max_depth < (int)q->n_capacity - 1)
		return q->max_depth;
	return (int)q->n_capacity - 1;
}

/* Run the whole query. `*ran` = 0 when V or S is unknown (nothing to do). */
static int run(mt_flow_ctx *c, const mt_engine *e, const mt_flow_query *q, int *ran, mt_error *err)
{
	memset(c, 0, sizeof *c);
	*ran = 0;
	int rc = validate(e, q, err);
	if (rc)
		return rc;
	c->e = e;
	c->at = q->at;
	c->adaptive = q->capacity == NULL;
	c->depth = query_depth(q);
	int scope = mt_graph__scope_index(e, q->scope ? q->scope : "global");
	int64_t v = mt_engine_node_index(e, q->viewpoint);
	if (scope < 0 || v < 0)
		return 0;
	c->sa = &e->scopes[scope];
	rc = build_region(c, (uint32_t)v, scope, mt_graph__scope_index(e, "global"));
	if (!rc) {
		if (c->adaptive)
			rc = mt_graph__flow_adaptive_schedule(c);
		else
			memcpy(c->cap, q->capacity, ((size_t)c->depth + 1) * sizeof *c->cap);
		if (!rc)
			rc = build_network(c);
	}
	if (rc) {
		ctx_free(c);
		return rc == MT_ETOOBIG ? mt_error_set(err, rc, "flow query: region too large")
					: mt_error_set(err, rc, "flow query: out of memory");
	}
	if (c->adaptive)
		rc = mt_graph__flow_greedy(c);
	else
		max_flow(c);
	if (rc || (rc = flow_tree(c))) {
		ctx_free(c);
		return mt_error_set(err, rc, "flow query: out of memory");
	}
	*ran = 1;
	return 0;
}

static void fill_entry(const mt_flow_ctx *c, uint32_t i, mt_flow_entry *en)
{
	en->node = c->glob[i];
	en->id = mt_engine_node_id(c->e, en->node);
	en->flow = node_flow(c, i);
	en->capacity = c->cap[c->dist[i]];
	en->score = (double)en->flow / (double)en->capacity;
	en->level = c->full[i] ? MT_LEVEL_FULL : MT_LEVEL_LIMITED;
	en->hops = c->dist[i];
	en->via = c->via[i];
	en->via_id = mt_engine_node_id(c->e, en->via);
	en->pred = c->glob[c->pred[i] == UINT32_MAX ? 0 : c->pred[i]];
}

static int cmp_entry(const void *pa, const void *pb)
{
	const mt_flow_entry *a = pa, *b = pb;
	if (a->hops != b->hops)
		return a->hops < b->hops ? -1 : 1;
	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	return a->node < b->node ? -1 : a->node > b->node;
}

void mt_flow_result_free(mt_flow_result *result)
{
	if (!result)
		return;
	free(result->entries);
	free(result);
}

int mt_flow_trust(mt_flow_result **out, const mt_engine *engine, const mt_flow_query *q, mt_error *err)
{
	if (!out)
		return mt_error_set(err, MT_EINVAL, "flow query: out is NULL");
	*out = NULL;
	mt_flow_ctx c;
	int ran;
	int rc = run(&c, engine, q, &ran, err);
	if (rc)
		return rc;
	mt_flow_result *r = calloc(1, sizeof *r);
	if (!r) {
		ctx_free(&c);
		return mt_error_set(err, MT_ENOMEM, "flow query: out of memory");
	}
	r->adaptive = q->capacity == NULL;
	if (ran) {
		r->region = c.nr - 1;
		r->total_flow = c.flow_value;
		r->depth = c.depth;
		r->n_capacities = (size_t)c.depth + 1;
		memcpy(r->capacities, c.cap, sizeof r->capacities);
		memcpy(r->layer, c.layer, sizeof r->layer);
		if (c.adaptive)
			memcpy(r->subtree_cap, c.subtree_cap, sizeof r->subtree_cap);
		r->entries = malloc((c.nr ? c.nr : 1) * sizeof *r->entries);
		if (!r->entries) {
			free(r);
			ctx_free(&c);
			return mt_error_set(err, MT_ENOMEM, "flow query: out of memory");
		}
		for (uint32_t i = 1; i < c.nr; i++)
			if (arc_flow(&c, sink_arc(&c, i)) > 0)
				fill_entry(&c, i, &r->entries[r->count++]);
		qsort(r->entries, r->count, sizeof *r->entries, cmp_entry);
		ctx_free(&c);
	}
	*out = r;
	return 0;
}

void mt_flow_path_free(mt_flow_path *path)
{
	if (!path)
		return;
	free(path->edges);
	free(path);
}

/* Fill one path edge (u -> w in the query scope) from the CSR row of u. */
static void path_edge(const mt_flow_ctx *c, uint32_t u, uint32_t w, mt_path_edge *pe)
{
	const mt_scope_adj *sa = c->sa;
	uint32_t lo = sa->offsets[u], hi = sa->offsets[u + 1];
	while (lo < hi) { /* rows are ascending by target */
		uint32_t mid = lo + (hi - lo) / 2;
		if (sa->targets[mid] < w)
			lo = mid + 1;
		else
			hi = mid;
	}
	pe->from = u;
	pe->to = w;
	pe->from_id = mt_engine_node_id(c->e, u);
	pe->to_id = mt_engine_node_id(c->e, w);
	pe->level = mt_ea_level(sa->attr[lo]);
	pe->score = (uint16_t)mt_ea_score(sa->attr[lo]);
	pe->scope = sa->name;
	pe->exp = mt_graph__edge_exp(sa, lo);
}

/* Reason from the best-path engine when the target is outside the region. */
static int outside_reason(mt_flow_path *p, const mt_engine *e, const mt_flow_query *q, int depth,
			  const char *target, mt_error *err)
{
	static const double one = 1.0;
	mt_trust_query tq = {q->viewpoint, q->scope, q->at, q->max_depth, &one, 1};
	mt_trust_path *bp = NULL;
	int rc = mt_engine_path(&bp, e, &tq, target, err);
	if (rc)
		return rc;
	if (bp->found) {
		p->why = mt_why_name(MT_WHY_TOO_DEEP);
		snprintf(p->message, sizeof p->message,
			 "%s is %d hops away but the capacity schedule (trust.flowCapacities) "
			 "only reaches %d hops",
			 target, bp->hops, depth);
	} else {
		p->why = mt_why_name(bp->why);
		snprintf(p->message, sizeof p->message, "%s", bp->message);
	}
	mt_trust_path_free(bp);
	return 0;
}

int mt_flow_path_get(mt_flow_path **out, const mt_engine *engine, const mt_flow_query *q,
		     const char *target, mt_error *err)
{
	if (!out)
		return mt_error_set(err, MT_EINVAL, "flow path: out is NULL");
	*out = NULL;
	if (!target)
		return mt_error_set(err, MT_EINVAL, "flow path: target is NULL");
	mt_flow_ctx c;
	int ran;
	int rc = run(&c, engine, q, &ran, err);
	if (rc)
		return rc;
	mt_flow_path *p = calloc(1, sizeof *p);
	if (!p) {
		ctx_free(&c);
		return mt_error_set(err, MT_ENOMEM, "flow path: out of memory");
	}
	p->adaptive = q->capacity == NULL;
	if (ran) {
		p->n_capacities = (size_t)c.depth + 1;
		memcpy(p->capacities, c.cap, sizeof p->capacities);
	}
	int64_t t = mt_engine_node_index(engine, target);
	uint32_t lt = ran && t >= 0 ? c.local[t] : NOT_LOCAL;
	if (lt == 1) {
		p->why = mt_why_name(MT_WHY_SELF);
		snprintf(p->message, sizeof p->message, "%s is the viewpoint itself", target);
	} else if (lt != NOT_LOCAL) {
		uint32_t i = lt - 1;
		mt_flow_entry en;
		fill_entry(&c, i, &en);
		p->in_region = 1;
		p->capacity = en.capacity;
		p->level = en.level;
		p->hops = en.hops;
		if (arc_flow(&c, sink_arc(&c, i)) > 0) {
			p->found = 1;
			p->flow = en.flow;
			p->score = en.score;
			p->why = mt_why_name(MT_WHY_FOUND);
			size_t len = 0;
			for (uint32_t k = i; k != 0 && k != UINT32_MAX; k = c.pred[k])
				len++;
			p->edges = calloc(len, sizeof *p->edges);
			if (!p->edges) {
				free(p);
				ctx_free(&c);
				return mt_error_set(err, MT_ENOMEM, "flow path: out of memory");
			}
			p->n_edges = len;
			for (uint32_t k = i; k != 0 && k != UINT32_MAX && len; k = c.pred[k])
				path_edge(&c, c.glob[c.pred[k]], c.glob[k], &p->edges[--len]);
		} else {
			p->why = "not-accepted";
			snprintf(p->message, sizeof p->message,
				 "%s is %d hops away (capacity %u) but no flow reaches it: the "
				 "capacity of the nodes in front of it is used up by others",
				 target, en.hops, en.capacity);
		}
	} else {
		rc = outside_reason(p, engine, q, ran ? c.depth : query_depth(q), target, err);
	}
	if (ran)
		ctx_free(&c);
	if (rc) {
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}
