/* The enforcement kernel (see include/meshtrust/kernel.h for the contract).
 *
 * Layout: a chained hash table of actors indexed by a seeded SipHash-2-4 of
 * the actor key, plus one intrusive doubly linked LRU list holding exactly the
 * evictable actors (no open connection, no held topic). Pinned actors are kept
 * off the list, so "evict the least recently used evictable actor" is always
 * the list's tail: O(1), no scanning past pinned entries.
 *
 * Everything happens under one mutex. Each operation does O(1) work (plus the
 * actor's own topic list for topic calls), so a single lock is simpler than
 * striping and not the bottleneck next to the HTTP work around it.
 */
#include "meshtrust/kernel.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Float slack when asking "is there one whole token": 200/s in 1 ms steps
 * adds 0.2 each time and the sum drifts in the last bits. */
#define TOKEN_EPSILON 1e-9

typedef struct actor {
	struct actor *hash_next;
	struct actor *lru_prev, *lru_next; /* on the LRU list iff on_lru */
	uint64_t hash;
	double tokens; /* bucket level after the refill at `refilled_at` */
	double refilled_at;
	double rate; /* per_second and burst of the last request's constraints */
	uint32_t burst;
	double seen; /* last time any operation touched the actor */
	uint32_t connections;
	uint32_t topic_count, topic_alloc;
	uint64_t *topics; /* keyed hashes of the held topics */
	int on_lru;
	uint8_t key_len;
	unsigned char key[MT_K_ACTOR_MAX];
} actor;

struct mt_kernel {
	pthread_mutex_t lock;
	actor **buckets;
	size_t bucket_mask;
	actor lru; /* sentinel: lru.lru_next is the most recent, lru.lru_prev the oldest */
	uint32_t max_actors;
	uint32_t topic_cap;
	double idle_evict_seconds;
	mt_kernel_clock_fn clock;
	void *clock_payload;
	double last_now;
	uint64_t seed0, seed1;
	mt_kernel_stats stats;
};

/* ---- SipHash-2-4 (Aumasson & Bernstein 2012), written from the paper ---- */

static uint64_t rotl64(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

#define SIPROUND                                                                                   \
	do {                                                                                       \
		v0 += v1;                                                                          \
		v1 = rotl64(v1, 13);                                                               \
		v1 ^= v0;                                                                          \
		v0 = rotl64(v0, 32);                                                               \
		v2 += v3;                                                                          \
		v3 = rotl64(v3, 16);                                                               \
		v3 ^= v2;                                                                          \
		v0 += v3;                                                                          \
		v3 = rotl64(v3, 21);                                                               \
		v3 ^= v0;                                                                          \
		v2 += v1;                                                                          \
		v1 = rotl64(v1, 17);                                                               \
		v1 ^= v2;                                                                          \
		v2 = rotl64(v2, 32);                                                               \
	} while (0)

static uint64_t load_le64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t siphash24(uint64_t k0, uint64_t k1, const unsigned char *in, size_t len)
{
	uint64_t v0 = k0 ^ 0x736f6d6570736575ULL;
	uint64_t v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ULL;
	uint64_t v3 = k1 ^ 0x7465646279746573ULL;
	size_t whole = len - (len % 8);
	for (size_t i = 0; i < whole; i += 8) {
		uint64_t m = load_le64(in + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	uint64_t last = (uint64_t)(len & 0xff) << 56;
	for (size_t i = whole; i < len; i++)
		last |= (uint64_t)in[i] << (8 * (i - whole));
	v3 ^= last;
	SIPROUND;
	SIPROUND;
	v0 ^= last;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- clock ---- */

static double monotonic_now(void *payload)
{
	(void)payload;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Called with the lock held, so successive operations see non-decreasing time
 * even when threads read the clock in a different order than they lock. */
static double kernel_now(mt_kernel *k)
{
	double t = k->clock(k->clock_payload);
	if (!(t >= k->last_now)) /* also catches NaN */
		t = k->last_now;
	k->last_now = t;
	return t;
}

static void seed_hash(mt_kernel *k, const mt_kernel_config *cfg)
{
	if (cfg && (cfg->hash_seed[0] || cfg->hash_seed[1])) {
		k->seed0 = cfg->hash_seed[0];
		k->seed1 = cfg->hash_seed[1];
		return;
	}
	unsigned char bytes[16];
	FILE *f = fopen("/dev/urandom", "rb");
	size_t got = f ? fread(bytes, 1, sizeof bytes, f) : 0;
	if (f)
		fclose(f);
	if (got == sizeof bytes) {
		k->seed0 = load_le64(bytes);
		k->seed1 = load_le64(bytes + 8);
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	k->seed0 = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)k;
	k->seed1 = (uint64_t)ts.tv_sec * 0xc2b2ae3d27d4eb4fULL ^ (uint64_t)(uintptr_t)&ts;
}

/* ---- LRU list ---- */

static void lru_unlink(actor *a)
{
	if (!a->on_lru)
		return;
	a->lru_prev->lru_next = a->lru_next;
	a->lru_next->lru_prev = a->lru_prev;
	a->lru_prev = a->lru_next = NULL;
	a->on_lru = 0;
}

static void lru_push_front(mt_kernel *k, actor *a)
{
	a->lru_next = k->lru.lru_next;
	a->lru_prev = &k->lru;
	k->lru.lru_next->lru_prev = a;
	k->lru.lru_next = a;
	a->on_lru = 1;
}

static int is_pinned(const actor *a)
{
	return a->connections > 0 || a->topic_count > 0;
}

/* Record a touch at `now` and keep the LRU list = the unpinned actors, most
 * recent first. Call after every change to connections or topics. */
static void touch(mt_kernel *k, actor *a, double now)
{
	a->seen = now;
	int was_on = a->on_lru;
	lru_unlink(a);
	if (!is_pinned(a)) {
		lru_push_front(k, a);
		if (!was_on)
			k->stats.pinned--;
	} else if (was_on) {
		k->stats.pinned++;
	}
}

/* ---- buckets ---- */

static double bucket_level(const actor *a, double now)
{
	double level = a->tokens + (now - a->refilled_at) * a->rate;
	return level > (double)a->burst ? (double)a->burst : level;
}

static int bucket_is_full(const actor *a, double now)
{
	return bucket_level(a, now) >= (double)a->burst - TOKEN_EPSILON;
}

static double time_to_full(const actor *a, double now)
{
	double missing = (double)a->burst - bucket_level(a, now);
	return missing > 0 ? missing / a->rate : 0;
}

/* ---- table ---- */

static uint64_t actor_hash(const mt_kernel *k, const void *key, size_t len)
{
	return siphash24(k->seed0, k->seed1, key, len);
}

/* Topics use a different key so a topic never hashes like an actor. */
static uint64_t topic_hash(const mt_kernel *k, const void *topic, size_t len)
{
	return siphash24(k->seed0 ^ 0x746f706963ULL, k->seed1, topic, len);
}

static actor *find_actor(mt_kernel *k, const void *key, size_t len, uint64_t hash)
{
	for (actor *a = k->buckets[hash & k->bucket_mask]; a; a = a->hash_next)
		if (a->hash == hash && a->key_len == len && memcmp(a->key, key, len) == 0)
			return a;
	return NULL;
}

static void evict(mt_kernel *k, actor *a)
{
	actor **link = &k->buckets[a->hash & k->bucket_mask];
	while (*link != a)
		link = &(*link)->hash_next;
	*link = a->hash_next;
	lru_unlink(a);
	k->stats.bytes_allocated -= sizeof *a + (size_t)a->topic_alloc * sizeof *a->topics;
	k->stats.actors--;
	k->stats.evictions++;
	free(a->topics);
	free(a);
}

/* Opportunistic clean-up: at most two long-idle, refilled actors per call so
 * memory shrinks after a burst without any background thread. */
static void sweep_idle(mt_kernel *k, double now)
{
	for (int i = 0; i < 2; i++) {
		actor *oldest = k->lru.lru_prev;
		if (oldest == &k->lru || now - oldest->seen < k->idle_evict_seconds ||
		    !bucket_is_full(oldest, now))
			return;
		evict(k, oldest);
	}
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static void
set_decision(mt_kernel_decision *out, int verdict, double retry_after, const char *fmt, ...)
{
	if (!out)
		return;
	out->verdict = verdict;
	out->retry_after = retry_after;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof out->reason, fmt, ap);
	va_end(ap);
}

static int valid_key(const void *key, size_t len)
{
	return key != NULL && len > 0 && len <= MT_K_ACTOR_MAX;
}

static int valid_constraints(const mt_constraints *c)
{
	if (!c)
		return 0;
	if (!c->allow)
		return 1;
	return isfinite(c->per_second) && c->per_second > 0 && c->burst >= 1;
}

/* Find `key` or make room for it and create it with a full bucket for `c`.
 * Returns MT_K_ALLOW with *found set, MT_K_RATE_LIMITED (table full, decision
 * filled) or MT_K_ENOMEM. */
static int get_actor(mt_kernel *k, const unsigned char *key, size_t len, const mt_constraints *c,
                     double now, actor **found, mt_kernel_decision *out)
{
	uint64_t hash = actor_hash(k, key, len);
	actor *a = find_actor(k, key, len, hash);
	if (a) {
		*found = a;
		return MT_K_ALLOW;
	}
	if (k->stats.actors >= k->max_actors) {
		actor *oldest = k->lru.lru_prev;
		if (oldest == &k->lru || !bucket_is_full(oldest, now)) {
			double wait = oldest == &k->lru ? 1.0 : time_to_full(oldest, now);
			if (wait < 1e-3)
				wait = 1e-3;
			k->stats.table_full++;
			set_decision(out, MT_K_RATE_LIMITED, wait,
			             "kernel actor table full (%u actors); retry after %.3f s",
			             k->max_actors, wait);
			return MT_K_RATE_LIMITED;
		}
		evict(k, oldest);
	}
	a = calloc(1, sizeof *a);
	if (!a)
		return MT_K_ENOMEM;
	a->hash = hash;
	a->key_len = (uint8_t)len;
	memcpy(a->key, key, len);
	a->tokens = (double)c->burst;
	a->refilled_at = now;
	a->rate = c->per_second;
	a->burst = c->burst;
	a->seen = now;
	size_t slot = hash & k->bucket_mask;
	a->hash_next = k->buckets[slot];
	k->buckets[slot] = a;
	lru_push_front(k, a);
	k->stats.actors++;
	k->stats.bytes_allocated += sizeof *a;
	*found = a;
	return MT_K_ALLOW;
}

/* The common prologue of the admitting calls: validate, short-circuit denials
 * without touching state, lock, sweep, find or create the actor. On MT_K_ALLOW
 * the lock is held and *found set; otherwise the lock is released. */
static int begin_admission(mt_kernel *k, const void *key, size_t len, const mt_constraints *c,
                           mt_kernel_decision *out, actor **found, double *now)
{
	if (!k || !valid_key(key, len) || !valid_constraints(c))
		return MT_K_EINVAL;
	if (!c->allow) {
		set_decision(out, MT_K_DENIED, 0, "%s", c->reason[0] ? c->reason : "denied");
		return MT_K_DENIED;
	}
	pthread_mutex_lock(&k->lock);
	*now = kernel_now(k);
	sweep_idle(k, *now);
	int rc = get_actor(k, key, len, c, *now, found, out);
	if (rc != MT_K_ALLOW)
		pthread_mutex_unlock(&k->lock);
	return rc;
}

/* ---- public API ---- */

int mt_kernel_new(mt_kernel **out, const mt_kernel_config *cfg)
{
	if (!out)
		return MT_K_EINVAL;
	*out = NULL;
	if (cfg && !(cfg->idle_evict_seconds >= 0))
		return MT_K_EINVAL;
	mt_kernel *k = calloc(1, sizeof *k);
	if (!k)
		return MT_K_ENOMEM;
	k->max_actors = cfg && cfg->max_actors ? cfg->max_actors : MT_K_DEFAULT_MAX_ACTORS;
	k->topic_cap = cfg && cfg->topic_cap ? cfg->topic_cap : MT_K_DEFAULT_TOPIC_CAP;
	k->idle_evict_seconds =
	    cfg && cfg->idle_evict_seconds > 0 ? cfg->idle_evict_seconds : MT_K_DEFAULT_IDLE_EVICT;
	k->clock = cfg && cfg->clock ? cfg->clock : monotonic_now;
	k->clock_payload = cfg ? cfg->clock_payload : NULL;
	k->last_now = -INFINITY;
	seed_hash(k, cfg);
	size_t nbuckets = 1;
	while (nbuckets < k->max_actors)
		nbuckets <<= 1;
	k->buckets = calloc(nbuckets, sizeof *k->buckets);
	if (!k->buckets) {
		free(k);
		return MT_K_ENOMEM;
	}
	k->bucket_mask = nbuckets - 1;
	k->stats.bytes_allocated = nbuckets * sizeof *k->buckets;
	k->lru.lru_next = k->lru.lru_prev = &k->lru;
	if (pthread_mutex_init(&k->lock, NULL) != 0) {
		free(k->buckets);
		free(k);
		return MT_K_ENOMEM;
	}
	*out = k;
	return 0;
}

void mt_kernel_free(mt_kernel *k)
{
	if (!k)
		return;
	for (size_t i = 0; i <= k->bucket_mask; i++) {
		actor *a = k->buckets[i];
		while (a) {
			actor *next = a->hash_next;
			free(a->topics);
			free(a);
			a = next;
		}
	}
	free(k->buckets);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

int mt_kernel_check_request(mt_kernel *k, const void *actor_key, size_t actor_len,
                            const mt_constraints *c, mt_kernel_decision *out)
{
	actor *a;
	double now;
	int rc = begin_admission(k, actor_key, actor_len, c, out, &a, &now);
	if (rc != MT_K_ALLOW)
		return rc;

	/* Refill for the time elapsed at the rate that applied then; clamp to
	 * the burst that applies now. */
	a->tokens = bucket_level(a, now);
	if (a->tokens > (double)c->burst)
		a->tokens = (double)c->burst;
	a->refilled_at = now;
	a->rate = c->per_second;
	a->burst = c->burst;
	if (a->tokens >= 1.0 - TOKEN_EPSILON) {
		a->tokens -= 1.0;
		if (a->tokens < 0)
			a->tokens = 0;
		set_decision(out, MT_K_ALLOW, 0, "%s", "");
	} else {
		double wait = (1.0 - a->tokens) / a->rate;
		set_decision(out, MT_K_RATE_LIMITED, wait,
		             "rate limited: over %g/s burst %u; retry after %.3f s", c->per_second,
		             c->burst, wait);
		rc = MT_K_RATE_LIMITED;
	}
	touch(k, a, now);
	pthread_mutex_unlock(&k->lock);
	return rc;
}

int mt_kernel_topic_admit(mt_kernel *k, const void *actor_key, size_t actor_len, const void *topic,
                          size_t topic_len, const mt_constraints *c, mt_kernel_decision *out)
{
	if (!valid_key(topic, topic_len))
		return MT_K_EINVAL;
	actor *a;
	double now;
	int rc = begin_admission(k, actor_key, actor_len, c, out, &a, &now);
	if (rc != MT_K_ALLOW)
		return rc;

	uint64_t th = topic_hash(k, topic, topic_len);
	uint32_t limit = c->max_topics < k->topic_cap ? c->max_topics : k->topic_cap;
	int held = 0;
	for (uint32_t i = 0; i < a->topic_count && !held; i++)
		held = a->topics[i] == th;
	if (held) {
		set_decision(out, MT_K_ALLOW, 0, "%s", "");
	} else if (a->topic_count >= limit) {
		set_decision(out, MT_K_OVER_LIMIT, 0, "topic limit reached: %u of %u topics held",
		             a->topic_count, limit);
		rc = MT_K_OVER_LIMIT;
	} else {
		if (a->topic_count == a->topic_alloc) {
			uint32_t grown = a->topic_alloc ? a->topic_alloc * 2 : 4;
			if (grown > limit)
				grown = limit;
			uint64_t *bigger = realloc(a->topics, (size_t)grown * sizeof *bigger);
			if (!bigger) {
				rc = MT_K_ENOMEM;
				goto done;
			}
			k->stats.bytes_allocated +=
			    (size_t)(grown - a->topic_alloc) * sizeof *bigger;
			a->topics = bigger;
			a->topic_alloc = grown;
		}
		a->topics[a->topic_count++] = th;
		set_decision(out, MT_K_ALLOW, 0, "%s", "");
	}
done:
	touch(k, a, now);
	pthread_mutex_unlock(&k->lock);
	return rc;
}

int mt_kernel_topic_release(mt_kernel *k, const void *actor_key, size_t actor_len,
                            const void *topic, size_t topic_len)
{
	if (!k || !valid_key(actor_key, actor_len) || !valid_key(topic, topic_len))
		return MT_K_EINVAL;
	pthread_mutex_lock(&k->lock);
	int rc = MT_K_ENOTFOUND;
	actor *a = find_actor(k, actor_key, actor_len, actor_hash(k, actor_key, actor_len));
	if (a) {
		uint64_t th = topic_hash(k, topic, topic_len);
		for (uint32_t i = 0; i < a->topic_count; i++) {
			if (a->topics[i] != th)
				continue;
			a->topics[i] = a->topics[--a->topic_count];
			if (a->topic_count == 0) {
				k->stats.bytes_allocated -=
				    (size_t)a->topic_alloc * sizeof *a->topics;
				free(a->topics);
				a->topics = NULL;
				a->topic_alloc = 0;
			}
			rc = 0;
			break;
		}
		touch(k, a, kernel_now(k));
	}
	pthread_mutex_unlock(&k->lock);
	return rc;
}

int mt_kernel_conn_open(mt_kernel *k, const void *actor_key, size_t actor_len,
                        const mt_constraints *c, mt_kernel_decision *out)
{
	actor *a;
	double now;
	int rc = begin_admission(k, actor_key, actor_len, c, out, &a, &now);
	if (rc != MT_K_ALLOW)
		return rc;
	if (a->connections >= c->max_connections) {
		set_decision(out, MT_K_OVER_LIMIT, 0, "connection limit reached: %u of %u open",
		             a->connections, c->max_connections);
		rc = MT_K_OVER_LIMIT;
	} else {
		a->connections++;
		set_decision(out, MT_K_ALLOW, 0, "%s", "");
	}
	touch(k, a, now);
	pthread_mutex_unlock(&k->lock);
	return rc;
}

int mt_kernel_conn_close(mt_kernel *k, const void *actor_key, size_t actor_len)
{
	if (!k || !valid_key(actor_key, actor_len))
		return MT_K_EINVAL;
	pthread_mutex_lock(&k->lock);
	int rc = MT_K_ENOTFOUND;
	actor *a = find_actor(k, actor_key, actor_len, actor_hash(k, actor_key, actor_len));
	if (a && a->connections > 0) {
		a->connections--;
		touch(k, a, kernel_now(k));
		rc = 0;
	}
	pthread_mutex_unlock(&k->lock);
	return rc;
}

int mt_kernel_stats_get(mt_kernel *k, mt_kernel_stats *out)
{
	if (!k || !out)
		return MT_K_EINVAL;
	pthread_mutex_lock(&k->lock);
	*out = k->stats;
	pthread_mutex_unlock(&k->lock);
	return 0;
}

const char *mt_kernel_verdict_name(int verdict)
{
	switch (verdict) {
	case MT_K_ALLOW:
		return "allow";
	case MT_K_RATE_LIMITED:
		return "rate_limited";
	case MT_K_DENIED:
		return "denied";
	case MT_K_OVER_LIMIT:
		return "over_limit";
	case MT_K_EINVAL:
		return "einval";
	case MT_K_ENOMEM:
		return "enomem";
	case MT_K_ENOTFOUND:
		return "enotfound";
	default:
		return "unknown";
	}
}
