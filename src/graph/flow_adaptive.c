/* The adaptive flow mode (`trust.mode flow-adaptive`, flow.h, docs/flow.md):
 * a capacity schedule derived from the region's own layer sizes, and the
 * canonical maximum flow over it.
 *
 * Why a greedy instead of Dinic: several maximum flows usually exist, and
 * which nodes they accept differs. The sets of nodes that can be accepted
 * together (their unit arcs to the sink saturated at once) are the independent
 * sets of a matroid (a gammoid: node capacities split into unit copies, every
 * accepted node linked to V by its own unit path), so the greedy in a fixed
 * order gives one well-defined basis — a maximum flow — that a test can
 * recompute by brute force. The order is (distance ascending, Node ID
 * ascending): nearer nodes first.
 *
 * Adding node v to the accepted set I is possible exactly when the residual
 * network of a flow feeding I has a path from V_in to v_in that does not pass
 * through the sink (the augmenting path then ends with v's unit arc). The
 * search runs backwards from v_in towards V_in, so it walks up the nearest
 * in-neighbour with spare capacity first and usually finds a path of length
 * about 2·hops. Reachability from V_in only shrinks as paths are augmented
 * (new residual arcs are reverses of arcs of the path, all inside the
 * reachable set), so every vertex seen by a failed search is unreachable for
 * good and is never searched again. */
#include "flow_int.h"

#include <stdlib.h>
#include <string.h>

/* Product `slack · r / nd` rounded up, in 64 bits (r, nd < 2^32). */
static uint64_t ceil_ratio(uint64_t slack, uint64_t r, uint64_t nd)
{
	return (slack * r + nd - 1) / nd;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Why capped subtrees: every region node beyond layer d has exactly one
 * ancestor in layer d on the canonical tree, so the subtree sizes of layer d
 * add up to R(d), the count the first schedule used. A compromised node's
 * subtree holds its Sybils; capping every subtree at the layer's
 * MT_FLOW_ADAPTIVE_RANK-th largest makes one count at most as much as an
 * honest one, as long as fewer than that many nodes of the layer are
 * compromised or above a compromised node. Deeper layers can be filled with
 * Sybils, so the schedule is also made non-increasing: a compromised node is
 * never worth more than the nearest layer holding one. docs/flow.md states
 * the bound, its condition and why not the median (it keeps 10-34 % of the
 * honest reach). */
int mt_graph__flow_adaptive_schedule(mt_flow_ctx *c)
{
	uint32_t nr = c->nr;
	uint32_t *desc = calloc(nr, sizeof *desc);
	uint32_t *sorted = malloc((size_t)nr * sizeof *sorted);
	if (!desc || !sorted) {
		free(desc);
		free(sorted);
		return MT_ENOMEM;
	}
	/* Local indexes follow BFS order: children come after their parent. */
	for (uint32_t i = nr; i-- > 1;)
		desc[c->parent[i]] += desc[i] + 1;
	uint64_t want0 = nr - 1;
	if (want0 > MT_FLOW_MAX_CAPACITY - 1)
		want0 = MT_FLOW_MAX_CAPACITY - 1;
	c->cap[0] = (uint32_t)(1 + want0);
	c->subtree_cap[0] = 0;
	uint32_t start = 1; /* local index of the layer's first node */
	for (int d = 1; d <= c->depth; d++) {
		uint32_t nd = c->layer[d];
		uint64_t capped = 0, want = 0;
		c->subtree_cap[d] = 0;
		if (nd && d < c->depth) {
			memcpy(sorted, desc + start, (size_t)nd * sizeof *sorted);
			qsort(sorted, nd, sizeof *sorted, cmp_u32);
			uint32_t top = sorted[nd > MT_FLOW_ADAPTIVE_RANK ? nd - MT_FLOW_ADAPTIVE_RANK : 0];
			for (uint32_t k = 0; k < nd; k++)
				capped += sorted[k] < top ? sorted[k] : top;
			uint64_t share = ceil_ratio(MT_FLOW_ADAPTIVE_SLACK, capped, nd);
			want = share < capped ? share : capped;
			c->subtree_cap[d] = top;
		}
		if (want > MT_FLOW_MAX_CAPACITY - 1)
			want = MT_FLOW_MAX_CAPACITY - 1;
		c->cap[d] = (uint32_t)(1 + want);
		if (c->cap[d] > c->cap[d - 1])
			c->cap[d] = c->cap[d - 1];
		start += nd;
	}
	free(desc);
	free(sorted);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Push one unit along arc a. */
static void push_unit(mt_flow_ctx *c, uint32_t a)
{
	c->res[a]--;
	c->res[a ^ 1u]++;
}

/* The next predecessor of vertex y to try: scans adj[y] from it[y]; for an
 * in-vertex the through arc (cancelling y's own through flow) comes last.
 * Returns the arc x -> y with residual capacity, or UINT32_MAX when done. */
static uint32_t next_pred_arc(mt_flow_ctx *c, uint32_t y, const uint8_t *dead, const uint32_t *seen,
			      uint32_t gen)
{
	uint32_t sink = c->nv - 1, end = c->adj_off[y + 1];
	uint32_t through = (y & 1u) ? UINT32_MAX : c->own[y / 2] + 2;
	while (c->it[y] <= end) {
		uint32_t a = c->it[y] == end ? through : c->adj[c->it[y]];
		c->it[y]++;
		if (a == UINT32_MAX)
			continue;
		if (c->it[y] <= end && a == through)
			continue; /* taken at the end */
		uint32_t x = c->arc_to[a], back = a ^ 1u;
		if (x == sink || dead[x] || seen[x] == gen || c->res[back] <= 0)
			continue;
		return back;
	}
	return UINT32_MAX;
}

int mt_graph__flow_greedy(mt_flow_ctx *c)
{
	uint32_t nr = c->nr, nv = c->nv;
	int rc = 0;
	uint64_t *order = malloc((size_t)nr * sizeof *order);
	uint32_t *seen = calloc(nv, sizeof *seen);
	uint8_t *dead = calloc(nv, 1);
	uint32_t *visited = malloc((size_t)nv * sizeof *visited);
	uint32_t *next = malloc((size_t)nv * sizeof *next); /* arc from a vertex towards the target */
	if (!order || !seen || !dead || !visited || !next) {
		rc = MT_ENOMEM;
		goto done;
	}
	/* V keeps its own unit first. */
	push_unit(c, c->own[0]);
	c->flow_value = 1;
	for (uint32_t i = 1; i < nr; i++)
		order[i - 1] = (uint64_t)c->dist[i] << 32 | c->glob[i];
	qsort(order, nr - 1, sizeof *order, cmp_u64);
	uint32_t gen = 0;
	for (uint32_t k = 0; k + 1 < nr; k++) {
		uint32_t i = c->local[(uint32_t)order[k]] - 1, target = 2 * i;
		if (dead[target])
			continue;
		gen++;
		uint32_t n_visited = 0, top = 0;
		seen[target] = gen;
		visited[n_visited++] = target;
		c->it[target] = c->adj_off[target];
		c->stack[0] = target;
		int found = 0;
		while (!found) {
			uint32_t y = c->stack[top];
			uint32_t back = next_pred_arc(c, y, dead, seen, gen);
			if (back == UINT32_MAX) {
				if (top == 0)
					break;
				top--;
				continue;
			}
			uint32_t x = c->arc_to[back ^ 1u];
			next[x] = back;
			seen[x] = gen;
			visited[n_visited++] = x;
			if (x == 0) {
				found = 1;
				break;
			}
			c->it[x] = c->adj_off[x];
			c->stack[++top] = x;
		}
		if (!found) {
			for (uint32_t t = 0; t < n_visited; t++)
				dead[visited[t]] = 1;
			continue;
		}
		for (uint32_t x = 0; x != target; x = c->arc_to[next[x]])
			push_unit(c, next[x]);
		push_unit(c, c->own[i]);
		c->flow_value++;
	}
done:
	free(order);
	free(seen);
	free(dead);
	free(visited);
	free(next);
	return rc;
}
