/** Private state of one flow query (flow.c, flow_adaptive.c; src/graph only). */
#ifndef MT_GRAPH_FLOW_INT_H
#define MT_GRAPH_FLOW_INT_H

#include <stddef.h>
#include <stdint.h>

#include "engine_int.h"
#include "meshtrust/flow.h"

#define MT_FLOW_NOT_LOCAL 0u /* local[] stores local index + 1 */

/* The per-query state. Local node 0 is V; local indexes follow BFS discovery,
 * so they are grouped by distance. Flow vertices: 2i = node i "in", 2i+1 =
 * node i "out", 2*nr = the sink. Arc 2j is forward, 2j+1 its reverse. */
typedef struct mt_flow_ctx {
	const mt_engine *e;
	const mt_scope_adj *sa;
	int64_t at;
	int depth;
	int adaptive;
	uint32_t cap[MT_FLOW_MAX_CAPACITIES];   /* schedule used, by distance 0..depth */
	uint32_t layer[MT_FLOW_MAX_CAPACITIES]; /* region nodes per distance */
	uint32_t subtree_cap[MT_FLOW_MAX_CAPACITIES]; /* adaptive: M(d), the cap on subtree sizes */
	uint32_t *local;  /* n: local index + 1, or MT_FLOW_NOT_LOCAL */
	uint32_t *glob;   /* nr: engine index */
	uint8_t *dist;    /* nr */
	uint8_t *full;    /* nr: reachable by full edges within depth */
	uint32_t *via;    /* nr: engine index */
	uint32_t *parent; /* nr: local index of the canonical BFS parent (V: 0) */
	uint32_t *pred;   /* nr: local index on a flow-carrying shortest path, or UINT32_MAX */
	uint32_t *own;    /* nr: arc id of node i's sink arc; its through arc is own[i] + 2 */
	uint32_t nr;
	/* network */
	uint32_t nv, na;
	uint32_t *arc_to;
	int32_t *res;     /* residual capacity per arc */
	uint32_t *adj_off, *adj; /* CSR of arcs by tail vertex, in insertion order */
	int32_t *level;
	uint32_t *it;
	uint32_t *stack, *stack_arc;
	uint32_t flow_value;
} mt_flow_ctx;

/* The adaptive schedule (flow.h, docs/flow.md) from the canonical BFS tree
 * (c->parent) and c->layer[0..c->depth] into c->cap and c->subtree_cap. Returns 0
 * or MT_ENOMEM. */
int mt_graph__flow_adaptive_schedule(mt_flow_ctx *c);

/* The canonical maximum flow of the adaptive mode (flow.h): greedy by
 * (distance, Node ID), one augmenting path per accepted node. Sets
 * c->flow_value. Returns 0 or MT_ENOMEM. */
int mt_graph__flow_greedy(mt_flow_ctx *c);

#endif
