/** Private layout of the trust engine (src/graph only). */
#ifndef MT_GRAPH_ENGINE_INT_H
#define MT_GRAPH_ENGINE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "meshtrust/engine.h"

/* Packed per-edge attribute (uint16): bits 0..9 score permille (0 for none),
 * bits 10..11 level, bit 12 "has an expiry" (look it up in the scope's
 * expiry table). */
#define MT_EA_SCORE_MASK 0x03ffu
#define MT_EA_LEVEL_SHIFT 10
#define MT_EA_LEVEL_MASK 0x0c00u
#define MT_EA_HAS_EXP 0x1000u

static inline unsigned mt_ea_score(uint16_t a) { return a & MT_EA_SCORE_MASK; }
static inline mt_level mt_ea_level(uint16_t a) { return (mt_level)((a & MT_EA_LEVEL_MASK) >> MT_EA_LEVEL_SHIFT); }

/** One scope's adjacency: CSR over all engine nodes. */
typedef struct mt_scope_adj {
	char *name;
	size_t m;           /* edges in this scope */
	uint32_t *offsets;  /* n + 1 */
	uint32_t *targets;  /* m, ascending within a row */
	uint16_t *attr;     /* m, packed as above */
	size_t n_exp;       /* edges with an expiry */
	uint32_t *exp_edge; /* n_exp edge positions, ascending */
	int64_t *exp_val;   /* n_exp expiries */
} mt_scope_adj;

struct mt_engine {
	size_t n;              /* nodes */
	char *id_arena;        /* all Node IDs, NUL-terminated, ascending */
	uint32_t *id_off;      /* n offsets into id_arena */
	size_t n_scopes;
	mt_scope_adj *scopes;  /* ascending by name */
	const char **scope_names;
	size_t m_total;
	size_t arena_bytes;
	double factor[1024];   /* factor[s] = s / 1000.0, computed once */
	/* A borrowed engine (mt_engine_snapshot_borrow): id_arena, id_off and
	 * every scope's name and arrays point into memory the engine does not
	 * own; mt_engine_free frees only `scopes` and `scope_names` and then
	 * calls release(release_ctx) (e.g. munmap). */
	int borrowed;
	void (*release)(void *ctx);
	void *release_ctx;
};

/** Expiry of edge position `pos` of scope `sa` (0 when it has none). */
int64_t mt_graph__edge_exp(const mt_scope_adj *sa, uint32_t pos);

/** Index of scope `name` or -1. */
int mt_graph__scope_index(const mt_engine *e, const char *name);

/** Options of the internal query (variants used by the why-not logic). */
typedef struct mt_qopts {
	int scope;          /* scope index (>= 0) */
	int global_scope;   /* index of "global" or -1 */
	int64_t at;
	int depth;
	int ignore_expiry;
	const double *decay;
	size_t n_decay;
} mt_qopts;

/** Per-round records kept only for path reconstruction. */
typedef struct mt_round_rec {
	uint32_t node, via, pred;
	double prod;
} mt_round_rec;

typedef struct mt_path_log {
	mt_round_rec *recs[MT_ENGINE_MAX_DEPTH + 1];
	size_t count[MT_ENGINE_MAX_DEPTH + 1];
	size_t cap[MT_ENGINE_MAX_DEPTH + 1];
} mt_path_log;

/** Run the DP from viewpoint `v` (index) with `o`; results stay in the
 * scratch: call mt_graph__collect to get them. `log` (optional) records every
 * (node, round) slot sorted by node for path reconstruction.
 * Returns 0 or MT_ENOMEM. */
int mt_graph__run(const mt_engine *e, mt_engine_scratch *s, uint32_t v, const mt_qopts *o,
		  mt_path_log *log);

/** Per-node answer after mt_graph__run (valid only for `node` reached). */
typedef struct mt_node_answer {
	double score;
	uint32_t via;
	int hops;       /* BFS distance */
	int best_hops;  /* hops of the best-scoring path */
	mt_level level;
} mt_node_answer;

/** 1 and fill `*out` when `node` was reached (and is not blocked or V). */
int mt_graph__answer(const mt_engine_scratch *s, uint32_t node, mt_node_answer *out);

/** 1 when `node` is blocked in the last run. */
int mt_graph__blocked(const mt_engine_scratch *s, uint32_t node);

/** Validate q; fill `o` (scope index may be -1 when S is unknown) and `*v`
 * (-1 when V unknown). Returns 0 or MT_EINVAL. */
int mt_graph__prepare(const mt_engine *e, const mt_trust_query *q, mt_qopts *o, int64_t *v,
		      mt_error *err);

void mt_graph__path_log_free(mt_path_log *log);

#endif
