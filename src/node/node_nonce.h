/* The node's replay cache for signed peer requests (SPEC §5, §9.4): which
 * (peer, nonce) pairs were used recently. Internal to the node (not a public
 * API); one cache per node, shared by the request threads.
 *
 * Contract
 * - An entry is (peer, nonce) with the request's `ts` and its first use
 *   `first` (the caller's clock `now` when it was stored; see "Clock" below).
 *   It is remembered while now <= first + ttl and forgotten from
 *   first + ttl + 1 on: a check at first + ttl still answers REPLAY, one at
 *   first + ttl + 1 answers FRESH again (unless the floor refuses it).
 * - Per peer: a peer holding cap_per_peer live entries is answered
 *   NODE_NONCE_PEER_FULL and nothing is stored; only that peer is refused.
 * - In total: never more than cap_total entries are held. When cap_total
 *   live entries are held, a fresh nonce evicts the held entry with the
 *   lowest request ts (whoever holds it; ties: any of them) and the cache
 *   raises its floor to that ts. From then on every request whose ts is
 *   <= floor and which is not held is answered NODE_NONCE_STALE, so an
 *   evicted nonce can never come back as FRESH (its ts is <= floor, and the
 *   floor never goes down). The new entry itself is stored whatever its ts.
 *   With the node's 300 s clock window, a floor in the past refuses only
 *   requests that are old anyway; under a flood that keeps the cache full
 *   the floor follows the lowest ts held.
 * - Order of the answers: a held live entry is REPLAY; else a ts <= floor is
 *   STALE; else a peer at its cap is PEER_FULL; else FRESH (stored).
 * - Identity: an entry is keyed by a 128-bit keyed BLAKE2b of (peer, nonce)
 *   under a random key drawn at creation, so two distinct pairs are confused
 *   (a false REPLAY) with probability about held / 2^128, and nobody without
 *   the key can aim at a hash bucket.
 *
 * Clock: the cache reads no clock; every check passes `now`. Request threads
 * read the clock before taking the cache's lock, so `now` may go back by a
 * little between calls: an entry's `first` is max(now, highest now seen), so
 * entries are stored in expiry order and the sweep can stop at the first live
 * one. With a clock that never goes back (a test), first = now exactly.
 *
 * Algorithm (all under one mutex)
 * - A chained hash table of entries, indexed by the keyed hash; it doubles
 *   (rehash, amortised O(1)) while entries outnumber buckets, up to the first
 *   power of two >= cap_total, and never shrinks.
 * - A FIFO of the entries in insertion (= expiry) order. Each check first
 *   sweeps at most NODE_NONCE_SWEEP expired entries off its head, so memory
 *   follows the ttl window, not the cap; before refusing a peer as full and
 *   before evicting, the sweep runs to the first live entry, so both limits
 *   count live entries only. An expired entry met by a lookup is removed.
 * - A ring of NODE_NONCE_RING per-second buckets indexed by ts mod the ring
 *   size; each holds the entries of its seconds in insertion order (the ts
 *   is kept in the entry, so seconds that collide modulo the ring share a
 *   bucket correctly). A cursor `lo` is a lower bound of the held ts; the
 *   lowest held ts is found by scanning seconds lo, lo+1, … for an entry of
 *   exactly that ts, and when none is found within one turn of the ring
 *   (the held ts then all lie more than a ring ahead of lo), by one pass over
 *   every bucket, which sets lo to the exact minimum.
 * - A per-peer table (chained hash keyed by SipHash of the Node ID under a
 *   second random key) counting each peer's held entries; a peer's record is
 *   freed when its count drops to 0, so it also follows the window.
 *
 * Complexity: a check is O(1) expected (one keyed BLAKE2b, one SipHash, a
 * hash-chain walk, at most NODE_NONCE_SWEEP bounded sweep steps), plus
 * amortised O(1) for table doubling and for the unbounded sweeps before a
 * limit (each entry is freed once). An eviction scans at most
 * NODE_NONCE_RING ring buckets; while the held ts span less than
 * NODE_NONCE_RING seconds (always, in the node: ts is within 300 s of a
 * `now` at most ttl old, a span of ttl + 600 s) that is O(1) amortised, as
 * the cursor only moves forward with the evicted ts. Only when the held ts
 * spread wider than the ring (a test feeding arbitrary ts) can an eviction
 * cost O(ring + held entries). Memory: about 96 bytes per held entry
 * (malloc'd one by one, freed on expiry or eviction), one record per peer
 * holding entries, the bucket arrays and a 64 KiB ring.
 */
#ifndef MT_NODE_NONCE_H
#define MT_NODE_NONCE_H

#include <stddef.h>
#include <stdint.h>

#include "meshtrust/error.h"

/* Ring buckets (seconds) and expired entries swept per check. */
#define NODE_NONCE_RING 4096u
#define NODE_NONCE_SWEEP 16u
/* Largest ts / now accepted (SPEC §2: Unix seconds 0..2^53-1) and ttl. */
#define NODE_NONCE_TS_MAX 9007199254740991LL
#define NODE_NONCE_TTL_MAX 2147483647LL

typedef struct node_nonces node_nonces;

/* A new empty cache in *out. cap_total: most entries held (e.g. 1 << 20);
 * cap_per_peer: most live entries one peer may hold (e.g. 131072); ttl:
 * seconds an entry is remembered after its first use (the node uses 600,
 * twice the 300 s clock window). Returns 0; MT_EINVAL when a cap is 0 or ttl
 * is outside 1..NODE_NONCE_TTL_MAX; MT_ENOMEM; MT_ECRYPTO when libsodium
 * cannot be initialised. On error *out is NULL. The caller owns the cache
 * and frees it with node__nonces_free. O(ring size). */
int node__nonces_new(node_nonces **out, size_t cap_total, size_t cap_per_peer, int64_t ttl);

/* Free the cache and every entry (NULL is fine). No check may be running. */
void node__nonces_free(node_nonces *nc);

enum {
	NODE_NONCE_FRESH = 0,     /* not seen: now remembered */
	NODE_NONCE_REPLAY = 1,    /* seen and still remembered */
	NODE_NONCE_PEER_FULL = 2, /* the peer holds cap_per_peer live entries; nothing stored */
	NODE_NONCE_STALE = 3,     /* ts <= the eviction floor; nothing stored */
};

/* One signed request of `peer` (Node ID text, NUL-terminated) carrying
 * `nonce` (NUL-terminated; the node passes 32 lower-case hex) and request
 * timestamp `ts`, at the caller's clock `now` (Unix seconds). Returns one of
 * NODE_NONCE_* (see the contract above), MT_EINVAL when an argument is NULL
 * or ts / now is outside 0..NODE_NONCE_TS_MAX (nothing changes), or MT_ENOMEM
 * (nothing stored, nothing evicted). Thread safe; the strings are only read
 * during the call. O(1) expected, see above. */
int node__nonce_check(node_nonces *nc, const char *peer, const char *nonce, int64_t ts,
		      int64_t now);

/* Remove every entry expired at `now` (now > first + ttl). Checks do this
 * incrementally already; a maintenance thread may call it so memory follows
 * the window while no request arrives. Returns the number of entries freed.
 * Thread safe; O(entries freed). */
size_t node__nonces_sweep(node_nonces *nc, int64_t now);

/* Entries held now: the live ones plus any expired ones the incremental
 * sweep has not reached yet; never more than cap_total (for /metrics and
 * tests). Thread safe, O(1). */
size_t node__nonces_count(node_nonces *nc);

/* The floor (-1 while nothing was ever evicted nor raised). Thread safe, O(1). */
int64_t node__nonces_floor(node_nonces *nc);

/* Raise the floor to `floor` (never lowers it): from then on a request with
 * ts <= floor that is not held is NODE_NONCE_STALE. For a node that starts
 * with an empty cache, raising it to (start time - 1) refuses every request
 * signed before the start, so a request captured before a restart cannot be
 * replayed after it. Returns 0, or MT_EINVAL when nc is NULL or floor is
 * outside -1..NODE_NONCE_TS_MAX. Thread safe, O(1). */
int node__nonces_raise_floor(node_nonces *nc, int64_t floor);

#endif
