/* The home's engine snapshot (<home>/engine.snap): the trust engine of the
 * store's current edges, saved so that `mesh trust list|path|explain` map it
 * instead of reading every edge and rebuilding (issue #22; docs/trust-engine.md,
 * "Snapshot"). A cache: it is used only when its state key equals the store's
 * (and its checksum and layout check out); anything else is a miss, and the
 * caller rebuilds from the store. */
#ifndef MESH_TQ_SNAPSHOT_H
#define MESH_TQ_SNAPSHOT_H

#include "cli.h"
#include "meshtrust/engine.h"

/* File name inside the home. */
#define MESH_SNAP_FILE "engine.snap"

/* The store state a snapshot reflects: BLAKE2b-256 over the store URL this
 * home resolves, the SQLite file's device and inode (when it is one), the
 * store schema, the snapshot format version and the last statement stored
 * (mt_store_recent, limit 1: statements are never deleted, so any addition
 * changes it). */
typedef struct mesh_snap_key {
	unsigned char k[32];
} mesh_snap_key;

/* The current key of ctx's store (opened). 0, or -1 when the store cannot
 * say (then no snapshot is read or written; `err` says why). */
int mesh_snap_key_get(mesh_ctx *ctx, mesh_snap_key *key, mt_error *err);

/* Map <home>/engine.snap and, when its key equals `key` and it checks out,
 * make *out an engine borrowing the mapping (mt_engine_free unmaps it) and
 * copy the store digest it recorded into digest. Returns 0 on a hit, -1 on
 * a miss (no file, stale, foreign version, torn, checksum or layout refused:
 * `why` (may be NULL) gets a short reason; *out NULL). Never prints. */
int mesh_snap_load(mesh_ctx *ctx, const mesh_snap_key *key, mt_engine **out, char digest[65],
		   const char **why);

/* Write <home>/engine.snap for `e`, taken at store state `key` with digest
 * `digest`: a temporary file in the home (0600), fsync, rename over the old
 * one, fsync of the home. *bytes (may be NULL) gets the file size. 0, or
 * an error code with `err` set (nothing is left behind but the old file). */
int mesh_snap_write(mesh_ctx *ctx, const mesh_snap_key *key, const mt_engine *e,
		    const char digest[65], size_t *bytes, mt_error *err);

/* After a rebuild of the current edges taken at `key`: write the snapshot
 * when the store is still at `key` (nothing was added meanwhile); a failure
 * is a warning on stderr, never an error (the snapshot is a cache). */
void mesh_snap_save_quiet(mesh_ctx *ctx, const mesh_snap_key *key, const mt_engine *e,
			  const char digest[65]);

/* mesh store compact: rebuild the engine from the store and rewrite the
 * snapshot. Exit code. */
int mesh_store_compact(mesh_ctx *ctx, int argc, char **argv);

#endif
