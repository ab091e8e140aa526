/* THE table of derived state: every projection, one row each, in dump
 * order. Ingest hands each statement that takes effect to the rows whose
 * `types` name its type (an index built at open); rebuild resets every row
 * and replays; a fork replay calls every row's `forget`; the migrations
 * create every row's schema; mt_store_derived_dump prints every row's
 * sections. Adding a statement type's derived state: docs/store.md. */
#include "store_int.h"

const mt_projection *const mt_store__projections[] = {
	&mt_proj_feeds,     /* feeds, forks: the feed rules (store_feed.c) */
	&mt_proj_edges,     /* trust, revoke */
	&mt_proj_rotations, /* rotate */
	&mt_proj_bridges,   /* bridge */
	&mt_proj_applied,   /* statements.applied: the feed rules (store_feed.c); here,
			       not first, so the dump reads as it always has */
	&mt_proj_lessons,   /* lesson: lessons + lessons_fts */
	&mt_proj_revokes,   /* revoke: the revocations in force (carried edges) */
	&mt_proj_keys,      /* key events: key_notes, key_rotates (store_keys.c) */
};

const size_t mt_store__projection_count =
	sizeof mt_store__projections / sizeof *mt_store__projections;
