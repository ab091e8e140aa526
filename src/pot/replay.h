/* The replay order of SPEC §9.1 (private to src/pot).
 *
 * Every derivation whose result depends on the order in which statements are
 * applied (proof-of-trust here; governance and key events when they come)
 * replays them in one causal order, a function of the statement set alone:
 *
 *   - a topological order under two kinds of edges:
 *       feed order      the statements of one issuer by (seq, id);
 *       dependencies    a statement after the statement it names (pot-open
 *                       after its genesis; pot-commit, pot-reveal and
 *                       pot-claim after their round's pot-open; proposal
 *                       after its genesis; vote after its proposal; key after the rotate in its `from`),
 *                       both sponsors' first commits of a round before its
 *                       reveals, both sponsors' first reveals of a round
 *                       before its claims;
 *   - among the statements whose predecessors are all replayed, the least by
 *     (ts, kind rank, iss, seq, id) goes next; kind rank genesis < key <
 *     rotate < proposal < pot-open < pot-commit < vote < pot-reveal <
 *     pot-claim < every other type (ranked by type name, so types the
 *     statement module does not know yet slot in when it does);
 *   - a dependency not in the set holds nothing back;
 *   - when nothing is ready while statements remain (a cycle, which only
 *     nonsense moves can make: say a reveal issued before its issuer's own
 *     commit), the least remaining statement whose feed predecessor is
 *     replayed goes next (`forced`).
 *
 * Time-driven events (deadlines, closings) are the caller's: SPEC puts an
 * event at t after every statement with ts <= t, i.e. before the first
 * replayed statement with ts > t.
 *
 * Cost: O(n log n) time (sorting, two binary heaps, a binary search per
 * named id), O(n + e) memory with e <= 3n dependency edges. */
#ifndef MT_POT_REPLAY_H
#define MT_POT_REPLAY_H

#include <stddef.h>

#include "meshtrust/error.h"
#include "meshtrust/statement.h"

/** One step of the replay. */
typedef struct mt_replay_step {
	const mt_stmt *st;
	/* The statement of the set that `st` names (its genesis, round, proposal
	 * or rotate, of the expected type), or NULL. A statement whose ts is
	 * lower than that of the statement it names has no effect (SPEC §9.1):
	 * the caller refuses it. */
	const mt_stmt *named;
	int forced; /* replayed out of order to break a cycle */
} mt_replay_step;

/** Kind rank of a statement type (0 genesis … 8 pot-claim, 9 the others). */
int mt_pot__replay_rank(mt_stmt_type t);

/** The replay order of `stmts[0..n)` (NULL entries skipped, duplicates by id
 * kept once). *out is an array of *m steps owned by the caller (free());
 * the statements stay borrowed. Errors: MT_ENOMEM (*out NULL, *m 0). */
int mt_pot__replay_order(mt_replay_step **out, size_t *m, const mt_stmt *const *stmts, size_t n,
			 mt_error *err);

#endif
