/** The enforcement kernel: token buckets, topic admission and connection limits.
 *
 * The kernel is the mechanism and knows nothing of trust, scopes, graphs or
 * policy. Every call receives a *constraint set* (`mt_constraints`, pure data
 * produced by the policy oracle) and an *actor key*: up to MT_K_ACTOR_MAX
 * opaque bytes that the kernel hashes and compares but never interprets.
 *
 * Layering (scripts/layers.map, layer 0): this header and src/kernel/ include
 * only the C library, POSIX headers, this header and each other
 * (scripts/check-layers.sh checks it). For that reason the kernel has its own
 * small return codes instead of meshtrust/error.h.
 *
 * Guarantees:
 * - Thread safe: one kernel may be shared by any number of threads (one mutex
 *   guards the table; every operation holds it for O(1) work).
 * - O(1) expected per check: a chained hash table keyed by a seeded SipHash of
 *   the actor key plus an intrusive LRU list. Topic admission scans the
 *   actor's own topic list, O(max_topics), bounded by `topic_cap`.
 * - Bounded memory: at most `max_actors` actors are held. An actor with no
 *   open connection and no held topic sits on the LRU list; when the table is
 *   full, the least-recently-used of those is evicted provided its bucket has
 *   refilled (a full bucket is equivalent to a fresh one, so nothing is lost).
 *   Otherwise the new actor is refused with MT_K_RATE_LIMITED ("kernel actor
 *   table full") and a retry_after: the kernel fails closed, it never forgets
 *   a bucket that still limits someone. Actors idle (refilled and unseen for
 *   `idle_evict_seconds`) are also evicted as operations pass, two at a time.
 * - Denials (constraint `allow == 0`) touch no state and allocate nothing.
 */
#ifndef MESHTRUST_KERNEL_H
#define MESHTRUST_KERNEL_H

#include <stddef.h>
#include <stdint.h>

/** Verdicts (>= 0) and errors (< 0) returned by the kernel's checks. */
enum {
	MT_K_ALLOW = 0,        /* admitted */
	MT_K_RATE_LIMITED = 1, /* over the rate (or table full): retry after decision.retry_after */
	MT_K_DENIED = 2,       /* the constraint set says deny; decision.reason says why */
	MT_K_OVER_LIMIT = 3,   /* max_topics or max_connections reached */
	MT_K_EINVAL = -1,      /* bad argument (NULL, key too long, bad constraint values) */
	MT_K_ENOMEM = -2,      /* allocation failed */
	MT_K_ENOTFOUND = -3,   /* release/close of something not held */
};

/** Maximum length in bytes of an actor key (and of a topic key). */
#define MT_K_ACTOR_MAX 64
/** Size of the reason buffers (constraint set and decision). */
#define MT_K_REASON_MAX 160

/** A constraint set: what the policy oracle allows one actor, as pure data.
 *
 * When `allow` is 0 every check returns MT_K_DENIED with `reason`. When it is
 * 1, `per_second` must be finite and > 0 and `burst` >= 1 (else MT_K_EINVAL).
 * `max_topics` and `max_connections` may be 0 (then none are admitted). */
typedef struct mt_constraints {
	int allow;
	char reason[MT_K_REASON_MAX];
	double per_second;
	uint32_t burst;
	uint32_t max_topics;
	uint32_t max_connections;
} mt_constraints;

/** The outcome of one check. `retry_after` (seconds, > 0) is set only for
 * MT_K_RATE_LIMITED, otherwise 0. `reason` is always a NUL-terminated text
 * ("" for MT_K_ALLOW). */
typedef struct mt_kernel_decision {
	int verdict;
	double retry_after;
	char reason[MT_K_REASON_MAX];
} mt_kernel_decision;

/** A clock: returns seconds on a monotonic scale (any origin). */
typedef double (*mt_kernel_clock_fn)(void *payload);

/** Kernel configuration; zero-initialise and set what you need.
 *
 * - max_actors: actors held at most (0 → MT_K_DEFAULT_MAX_ACTORS).
 * - idle_evict_seconds: an actor unseen this long whose bucket has refilled is
 *   evicted even when the table is not full (0 → MT_K_DEFAULT_IDLE_EVICT).
 * - topic_cap: hard ceiling on topics held per actor whatever max_topics says
 *   (0 → MT_K_DEFAULT_TOPIC_CAP); bounds per-actor memory.
 * - clock, clock_payload: NULL → CLOCK_MONOTONIC. Tests inject a simulated
 *   clock. A clock that goes backwards is treated as standing still.
 * - hash_seed: key of the SipHash used for actor and topic keys; {0,0} → 16
 *   bytes from /dev/urandom (or the clock when that cannot be read). */
typedef struct mt_kernel_config {
	uint32_t max_actors;
	double idle_evict_seconds;
	uint32_t topic_cap;
	mt_kernel_clock_fn clock;
	void *clock_payload;
	uint64_t hash_seed[2];
} mt_kernel_config;

#define MT_K_DEFAULT_MAX_ACTORS 100000u
#define MT_K_DEFAULT_IDLE_EVICT 300.0
#define MT_K_DEFAULT_TOPIC_CAP 1024u

/** Counters for tests, metrics and capacity planning. */
typedef struct mt_kernel_stats {
	size_t actors;          /* actors held now */
	size_t pinned;          /* of which hold a connection or a topic (not evictable) */
	size_t bytes_allocated; /* heap bytes the kernel holds now (table + actors + topics) */
	uint64_t evictions;     /* actors evicted since creation */
	uint64_t table_full;    /* new actors refused because the table was full */
} mt_kernel_stats;

typedef struct mt_kernel mt_kernel;

/** Create a kernel. `cfg` may be NULL (all defaults). The caller owns `*out`
 * and frees it with mt_kernel_free(). The hash table index is allocated up
 * front (a power of two >= max_actors pointers); actors are allocated as
 * they appear. Returns 0, MT_K_EINVAL (NULL out, negative idle time) or
 * MT_K_ENOMEM; on failure *out is NULL. */
int mt_kernel_new(mt_kernel **out, const mt_kernel_config *cfg);

/** Free a kernel and everything it holds. NULL is a harmless no-op. No other
 * thread may be using it. */
void mt_kernel_free(mt_kernel *k);

/** Admit one request of `actor` under `c`: costs one token of the actor's
 * bucket (capacity c->burst, refilled at c->per_second, starting full).
 *
 * Returns the verdict (also in out->verdict): MT_K_ALLOW; MT_K_RATE_LIMITED
 * with out->retry_after = time until one token is there (or, when the table
 * is full, until the oldest evictable actor has refilled); MT_K_DENIED with
 * c->reason when c->allow is 0. Errors: MT_K_EINVAL (NULL argument, actor_len
 * 0 or > MT_K_ACTOR_MAX, bad constraint values), MT_K_ENOMEM. When the
 * constraints change between calls (the actor moved tier) the bucket refills
 * at the new rate and is clamped to the new burst. `out` may be NULL.
 * O(1) expected. */
int mt_kernel_check_request(mt_kernel *k, const void *actor, size_t actor_len,
                            const mt_constraints *c, mt_kernel_decision *out);

/** Admit `actor` to `topic` (opaque bytes, 1..MT_K_ACTOR_MAX): MT_K_ALLOW
 * when the actor already holds the topic or holds fewer than
 * min(c->max_topics, topic_cap) topics (then it now holds it);
 * MT_K_OVER_LIMIT otherwise; MT_K_DENIED when c->allow is 0. Topics are
 * remembered by a 64-bit keyed hash. Held topics pin the actor in memory.
 * Errors as mt_kernel_check_request. O(max_topics). */
int mt_kernel_topic_admit(mt_kernel *k, const void *actor, size_t actor_len, const void *topic,
                          size_t topic_len, const mt_constraints *c, mt_kernel_decision *out);

/** Release a topic held by `actor`. Returns 0, MT_K_ENOTFOUND (not held) or
 * MT_K_EINVAL. */
int mt_kernel_topic_release(mt_kernel *k, const void *actor, size_t actor_len, const void *topic,
                            size_t topic_len);

/** Open one connection for `actor`: MT_K_ALLOW when fewer than
 * c->max_connections are open (the count goes up), MT_K_OVER_LIMIT otherwise,
 * MT_K_DENIED when c->allow is 0. Open connections pin the actor in memory;
 * every MT_K_ALLOW must be matched by one mt_kernel_conn_close(). O(1). */
int mt_kernel_conn_open(mt_kernel *k, const void *actor, size_t actor_len, const mt_constraints *c,
                        mt_kernel_decision *out);

/** Close one connection of `actor`. Returns 0, MT_K_ENOTFOUND (none open) or
 * MT_K_EINVAL. O(1). */
int mt_kernel_conn_close(mt_kernel *k, const void *actor, size_t actor_len);

/** Fill `out` with the current counters. Returns 0 or MT_K_EINVAL. */
int mt_kernel_stats_get(mt_kernel *k, mt_kernel_stats *out);

/** Short static name of a verdict or error ("allow", "rate_limited", …). */
const char *mt_kernel_verdict_name(int verdict);

#endif
