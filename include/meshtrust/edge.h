/** The trust edge as the graph layers see it (frozen shared type).
 *
 * An edge is the current effect of one `trust` statement: (src -> dst, scope)
 * with a level, a score in permille and an optional expiry. Node IDs are the
 * `12D3KooW…` text form; the strings are borrowed from the caller and must
 * outlive any call that receives them (builders copy what they keep).
 */
#ifndef MESHTRUST_EDGE_H
#define MESHTRUST_EDGE_H

#include <stdint.h>

/** Trust levels, ordered: full > limited > none. */
typedef enum mt_level {
	MT_LEVEL_NONE = 0,
	MT_LEVEL_LIMITED = 1,
	MT_LEVEL_FULL = 2,
} mt_level;

/** One current edge. `score` is 1..1000 permille (ignored for MT_LEVEL_NONE);
 * `exp` is the expiry in Unix seconds, 0 when the edge never expires (an edge
 * with exp != 0 and exp <= T is not traversed at evaluation time T);
 * `scope` is the exact scope string ("global", "coop:x", …). */
typedef struct mt_edge_in {
	const char *src;
	const char *dst;
	const char *scope;
	mt_level level;
	uint16_t score;
	int64_t exp;
} mt_edge_in;

#endif
