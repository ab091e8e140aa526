/** Engine snapshots: an mt_engine's compact arrays as one flat byte image.
 *
 * mt_engine_snapshot_encode lays out an engine's arrays (node IDs, and per
 * scope the CSR offsets, targets, packed attributes and expiry table) in one
 * buffer; mt_engine_snapshot_borrow makes an engine that points into such a
 * buffer (typically a read-only mmap of a file) without copying it, so that
 * a process answers its first query after O(n + m) validation instead of a
 * rebuild from the edges. The engine answers every query exactly as the
 * engine it was encoded from (docs/trust-engine.md, "Snapshot").
 *
 * The image is a local cache, not an exchange format: native byte order
 * (a marker refuses another one), 8-byte aligned sections. It carries no
 * checksum and no notion of which store state it reflects: callers wrap it
 * (the CLI's snapshot file adds both, cli/tq_snapshot.c).
 *
 * Layout (all integers native-endian; every section starts at a multiple
 * of 8, zero padding before it):
 *   header (64 bytes): magic "MTENGSN\0", u32 version (1), u32 byte-order
 *     marker 0x01020304, u64 n (nodes), u64 n_scopes, u64 m_total (edges),
 *     u64 arena_bytes (node IDs with their NULs), u64 names_bytes (scope
 *     names with their NULs), u64 reserved (0);
 *   per scope: u64 m, u64 n_exp;
 *   the ID arena; u32 id_off[n]; the scope names;
 *   per scope: u32 offsets[n+1], u32 targets[m], u16 attr[m],
 *     u32 exp_edge[n_exp], i64 exp_val[n_exp].
 */
#ifndef MESHTRUST_SNAPSHOT_H
#define MESHTRUST_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "meshtrust/engine.h"
#include "meshtrust/error.h"

/** Version of the image layout above. */
#define MT_ENGINE_SNAPSHOT_VERSION 1u

/** Encode `engine` into a new buffer: *out (malloc'd, owned by the caller:
 * free()) of *len bytes. Errors: MT_EINVAL (NULL argument), MT_ENOMEM;
 * on failure *out is NULL. Time and memory O(n + m). */
int mt_engine_snapshot_encode(const mt_engine *engine, unsigned char **out, size_t *len,
			      mt_error *err);

/** Called by mt_engine_free on a borrowed engine, after it is freed: the
 * owner of the image may now release it (munmap, free). */
typedef void (*mt_engine_release_fn)(void *ctx);

/** Make an engine that borrows the image `data[0..len)` (not copied; it
 * must stay valid and unchanged until the engine is freed, and must be
 * 8-byte aligned). The image is untrusted input: it is checked completely
 * (layout, bounds, node IDs non-empty and strictly ascending, scope names
 * non-empty and strictly ascending, offsets non-decreasing from 0 to m,
 * targets < n and strictly ascending within a row, no self-edge, levels and
 * scores as mt_engine_new accepts them, expiry tables matching the
 * "has an expiry" bits with positive values), so any accepted image is an
 * engine mt_engine_new could have built, and queries on it are safe.
 * Refusals: MT_EINVAL (message naming what is wrong), MT_ENOMEM. O(n + m +
 * the bytes of the IDs).
 *
 * On success *out is owned by the caller (mt_engine_free), and `release`
 * (may be NULL) is called with `ctx` when it is freed. On failure *out is
 * NULL and `release` is NOT called: the image stays the caller's. */
int mt_engine_snapshot_borrow(mt_engine **out, const void *data, size_t len,
			      mt_engine_release_fn release, void *ctx, mt_error *err);

#endif
