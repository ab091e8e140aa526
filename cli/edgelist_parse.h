/* Pure parsing part of `mesh graph import-edgelist` (no I/O, no printing),
 * split out of cmd_graph.c so the fuzz target fuzz/fuzz_edgelist.c can run it
 * without the rest of the CLI. docs/edgelist.md describes the formats. */
#ifndef MESH_EDGELIST_PARSE_H
#define MESH_EDGELIST_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "meshtrust/identity.h"

/* Timestamp of every imported statement that has no time of its own
 * (2023-11-14T22:13:20Z): fixed so that two imports sign identical bytes. */
#define EL_FIXED_TS 1700000000LL
/* Longest input line accepted. */
#define EL_LINE_MAX 4096
typedef enum el_format { EL_KONECT, EL_CSV_SIGNED, EL_SNAP } el_format;

/* One kept edge: parsed, then signed (canon holds the statement bytes until
 * the ingest pipeline takes them). */
typedef struct el_edge {
	uint64_t src_num, dst_num;
	uint32_t src, dst; /* indexes into the sorted node table */
	uint32_t line;
	uint16_t score;
	uint8_t level;
	int64_t ts;
	char *canon;
	size_t canon_len;
} el_edge;

typedef struct el_graph {
	const char *path, *base;
	el_edge *edges;
	size_t n_edges, cap_edges;
	uint64_t *nodes; /* every node number seen, then sorted and unique */
	size_t n_nodes, cap_nodes;
	uint64_t lines, self_loops, not_positive;
	char (*ids)[MT_NODE_ID_MAX]; /* Node ID of nodes[i] */
	size_t *src_first;           /* per source: first edge; src_first[n_src] = n_edges */
	size_t n_src;
} el_graph;


/* How lines are read: the format, the permille below which an edge becomes
 * `limited`, and the current time (later CSV timestamps are dropped). */
typedef struct el_parse_opts {
	el_format format;
	int limited_below; /* permille; 0 = every edge full */
	int64_t now;
} el_parse_opts;

/* Free what `g` owns (edges with their canon bytes, node table, ids); `g`
 * itself is the caller's. */
void el_graph_free(el_graph *g);

/* Parse one data line (NUL-terminated, without its newline; modified in
 * place) numbered `lineno` into `g`: a kept edge is appended to g->edges, its
 * nodes to g->nodes; headers and comments are ignored, self-loops and
 * non-positive edges counted. Returns 0, or -1 with a message naming the bad
 * field in `why` (whysz bytes), out of memory included. */
int el_parse_line(el_graph *g, char *line, uint32_t lineno, const el_parse_opts *po, char *why,
		  size_t whysz);

#endif
