/* The node's replay cache: hash table + expiry FIFO + per-second ts ring +
 * per-peer counts. node_nonce.h documents the contract, the algorithm and
 * its complexity. */
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "node_nonce.h"

/* Largest bucket arrays (entries and peers): 2^26 chains. */
#define MAX_BUCKET_BITS 26u
#define FIRST_BUCKETS 1024u

typedef struct peer_rec {
	struct peer_rec *next; /* hash chain */
	uint64_t hash;
	size_t count; /* entries held */
	char id[];    /* NUL-terminated Node ID */
} peer_rec;

typedef struct entry {
	struct entry *hnext;         /* hash chain */
	struct entry *fprev, *fnext; /* FIFO, oldest first */
	struct entry *rprev, *rnext; /* ring bucket of ts, insertion order */
	peer_rec *peer;
	unsigned char key[16]; /* keyed BLAKE2b-128 of (peer, nonce) */
	int64_t ts;            /* request ts */
	int64_t expires;       /* first use + ttl: remembered while now <= expires */
} entry;

typedef struct ring_slot {
	entry *head, *tail;
} ring_slot;

struct node_nonces {
	pthread_mutex_t lock;
	size_t cap_total, cap_per_peer;
	int64_t ttl;
	unsigned char hkey[crypto_generichash_KEYBYTES]; /* entry identity */
	unsigned char pkey[crypto_shorthash_KEYBYTES];   /* peer table index */
	/* entries */
	entry **buckets;
	size_t nbuckets, max_buckets, count;
	entry *fifo_head, *fifo_tail;
	ring_slot ring[NODE_NONCE_RING];
	int64_t lo;    /* every held entry has ts >= lo (meaningful while count > 0) */
	int64_t floor; /* highest evicted ts; -1: none */
	int64_t hi;    /* highest now seen */
	/* peers */
	peer_rec **pbuckets;
	size_t npbuckets, max_pbuckets, npeers;
};

static size_t pow2_at_least(size_t n, size_t limit)
{
	size_t b = 1;
	while (b < n && b < limit)
		b <<= 1;
	return b;
}

static uint64_t key_index(const unsigned char key[16])
{
	uint64_t v;
	memcpy(&v, key, sizeof v);
	return v;
}

int node__nonces_new(node_nonces **out, size_t cap_total, size_t cap_per_peer, int64_t ttl)
{
	if (!out)
		return MT_EINVAL;
	*out = NULL;
	if (cap_total == 0 || cap_per_peer == 0 || ttl < 1 || ttl > NODE_NONCE_TTL_MAX)
		return MT_EINVAL;
	if (sodium_init() < 0)
		return MT_ECRYPTO;
	node_nonces *nc = calloc(1, sizeof *nc);
	if (!nc)
		return MT_ENOMEM;
	size_t limit = (size_t)1 << MAX_BUCKET_BITS;
	nc->cap_total = cap_total;
	nc->cap_per_peer = cap_per_peer;
	nc->ttl = ttl;
	nc->floor = -1;
	nc->hi = 0;
	nc->max_buckets = pow2_at_least(cap_total, limit);
	nc->nbuckets = nc->max_buckets < FIRST_BUCKETS ? nc->max_buckets : FIRST_BUCKETS;
	nc->max_pbuckets = nc->max_buckets; /* a peer holds at least one entry */
	nc->npbuckets = nc->nbuckets;
	nc->buckets = calloc(nc->nbuckets, sizeof *nc->buckets);
	nc->pbuckets = calloc(nc->npbuckets, sizeof *nc->pbuckets);
	if (!nc->buckets || !nc->pbuckets) {
		free(nc->buckets);
		free(nc->pbuckets);
		free(nc);
		return MT_ENOMEM;
	}
	if (pthread_mutex_init(&nc->lock, NULL) != 0) {
		free(nc->buckets);
		free(nc->pbuckets);
		free(nc);
		return MT_ENOMEM;
	}
	randombytes_buf(nc->hkey, sizeof nc->hkey);
	randombytes_buf(nc->pkey, sizeof nc->pkey);
	*out = nc;
	return 0;
}

void node__nonces_free(node_nonces *nc)
{
	if (!nc)
		return;
	for (entry *e = nc->fifo_head, *n; e; e = n) {
		n = e->fnext;
		free(e);
	}
	for (size_t i = 0; i < nc->npbuckets; i++)
		for (peer_rec *p = nc->pbuckets[i], *n; p; p = n) {
			n = p->next;
			free(p);
		}
	free(nc->buckets);
	free(nc->pbuckets);
	pthread_mutex_destroy(&nc->lock);
	sodium_memzero(nc->hkey, sizeof nc->hkey);
	sodium_memzero(nc->pkey, sizeof nc->pkey);
	free(nc);
}

/* ---- peers ----------------------------------------------------------------- */

static uint64_t peer_hash(const node_nonces *nc, const char *peer)
{
	unsigned char h[crypto_shorthash_BYTES];
	crypto_shorthash(h, (const unsigned char *)peer, strlen(peer), nc->pkey);
	uint64_t v;
	memcpy(&v, h, sizeof v);
	return v;
}

static peer_rec *peer_find(const node_nonces *nc, const char *peer, uint64_t hash)
{
	for (peer_rec *p = nc->pbuckets[hash & (nc->npbuckets - 1)]; p; p = p->next)
		if (p->hash == hash && strcmp(p->id, peer) == 0)
			return p;
	return NULL;
}

/* Double the peer table when peers outnumber its buckets; on allocation
 * failure it keeps its size (longer chains, still correct). */
static void peer_grow(node_nonces *nc)
{
	if (nc->npeers <= nc->npbuckets || nc->npbuckets >= nc->max_pbuckets)
		return;
	size_t nb = nc->npbuckets * 2;
	peer_rec **b = calloc(nb, sizeof *b);
	if (!b)
		return;
	for (size_t i = 0; i < nc->npbuckets; i++)
		for (peer_rec *p = nc->pbuckets[i], *n; p; p = n) {
			n = p->next;
			p->next = b[p->hash & (nb - 1)];
			b[p->hash & (nb - 1)] = p;
		}
	free(nc->pbuckets);
	nc->pbuckets = b;
	nc->npbuckets = nb;
}

static void peer_unlink_free(node_nonces *nc, peer_rec *rec)
{
	for (peer_rec **pp = &nc->pbuckets[rec->hash & (nc->npbuckets - 1)]; *pp;
	     pp = &(*pp)->next)
		if (*pp == rec) {
			*pp = rec->next;
			break;
		}
	nc->npeers--;
	free(rec);
}

/* ---- entries ----------------------------------------------------------------- */

static entry *entry_find(const node_nonces *nc, const unsigned char key[16])
{
	for (entry *e = nc->buckets[key_index(key) & (nc->nbuckets - 1)]; e; e = e->hnext)
		if (memcmp(e->key, key, sizeof e->key) == 0)
			return e;
	return NULL;
}

static void entry_grow(node_nonces *nc)
{
	if (nc->count <= nc->nbuckets || nc->nbuckets >= nc->max_buckets)
		return;
	size_t nb = nc->nbuckets * 2;
	entry **b = calloc(nb, sizeof *b);
	if (!b)
		return;
	for (size_t i = 0; i < nc->nbuckets; i++)
		for (entry *e = nc->buckets[i], *n; e; e = n) {
			n = e->hnext;
			size_t j = key_index(e->key) & (nb - 1);
			e->hnext = b[j];
			b[j] = e;
		}
	free(nc->buckets);
	nc->buckets = b;
	nc->nbuckets = nb;
}

static ring_slot *slot_of(node_nonces *nc, int64_t ts)
{
	return &nc->ring[(uint64_t)ts & (NODE_NONCE_RING - 1)];
}

/* Link a filled-in entry (key, ts, expires, peer with its count already
 * raised) into the table, the FIFO tail and its ring bucket. */
static void entry_link(node_nonces *nc, entry *e)
{
	size_t b = key_index(e->key) & (nc->nbuckets - 1);
	e->hnext = nc->buckets[b];
	nc->buckets[b] = e;
	e->fnext = NULL;
	e->fprev = nc->fifo_tail;
	if (nc->fifo_tail)
		nc->fifo_tail->fnext = e;
	else
		nc->fifo_head = e;
	nc->fifo_tail = e;
	ring_slot *s = slot_of(nc, e->ts);
	e->rnext = NULL;
	e->rprev = s->tail;
	if (s->tail)
		s->tail->rnext = e;
	else
		s->head = e;
	s->tail = e;
	if (nc->count == 0 || e->ts < nc->lo)
		nc->lo = e->ts;
	nc->count++;
	entry_grow(nc);
}

/* Unlink `e` from every structure, drop its peer's count (freeing the record
 * at 0) and free it. */
static void entry_remove(node_nonces *nc, entry *e)
{
	for (entry **pp = &nc->buckets[key_index(e->key) & (nc->nbuckets - 1)]; *pp;
	     pp = &(*pp)->hnext)
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	if (e->fprev)
		e->fprev->fnext = e->fnext;
	else
		nc->fifo_head = e->fnext;
	if (e->fnext)
		e->fnext->fprev = e->fprev;
	else
		nc->fifo_tail = e->fprev;
	ring_slot *s = slot_of(nc, e->ts);
	if (e->rprev)
		e->rprev->rnext = e->rnext;
	else
		s->head = e->rnext;
	if (e->rnext)
		e->rnext->rprev = e->rprev;
	else
		s->tail = e->rprev;
	if (--e->peer->count == 0)
		peer_unlink_free(nc, e->peer);
	nc->count--;
	free(e);
}

/* Free up to `budget` expired entries off the FIFO head. */
static size_t sweep(node_nonces *nc, int64_t now, size_t budget)
{
	size_t freed = 0;
	while (freed < budget && nc->fifo_head && now > nc->fifo_head->expires) {
		entry_remove(nc, nc->fifo_head);
		freed++;
	}
	return freed;
}

/* The held entry with the lowest ts (count > 0); moves the cursor to it. */
static entry *lowest(node_nonces *nc)
{
	for (int64_t k = 0; k < (int64_t)NODE_NONCE_RING; k++) {
		int64_t t = nc->lo + k;
		for (entry *e = slot_of(nc, t)->head; e; e = e->rnext)
			if (e->ts == t) {
				nc->lo = t;
				return e;
			}
	}
	/* Every held ts lies more than a ring ahead of lo: one full pass. */
	entry *best = NULL;
	for (size_t i = 0; i < NODE_NONCE_RING; i++)
		for (entry *e = nc->ring[i].head; e; e = e->rnext)
			if (!best || e->ts < best->ts)
				best = e;
	if (best)
		nc->lo = best->ts;
	return best;
}

static int valid_time(int64_t t)
{
	return t >= 0 && t <= NODE_NONCE_TS_MAX;
}

int node__nonce_check(node_nonces *nc, const char *peer, const char *nonce, int64_t ts,
		      int64_t now)
{
	if (!nc || !peer || !nonce || !valid_time(ts) || !valid_time(now))
		return MT_EINVAL;
	unsigned char key[16];
	crypto_generichash_state st;
	crypto_generichash_init(&st, nc->hkey, sizeof nc->hkey, sizeof key);
	/* the peer's NUL separates it from the nonce (neither contains one) */
	crypto_generichash_update(&st, (const unsigned char *)peer, strlen(peer) + 1);
	crypto_generichash_update(&st, (const unsigned char *)nonce, strlen(nonce));
	crypto_generichash_final(&st, key, sizeof key);
	uint64_t ph = peer_hash(nc, peer);

	int rc;
	pthread_mutex_lock(&nc->lock);
	if (now > nc->hi)
		nc->hi = now;
	sweep(nc, now, NODE_NONCE_SWEEP);
	entry *old = entry_find(nc, key);
	if (old) {
		if (now <= old->expires) {
			rc = NODE_NONCE_REPLAY;
			goto done;
		}
		entry_remove(nc, old); /* forgotten */
	}
	if (ts <= nc->floor) {
		rc = NODE_NONCE_STALE;
		goto done;
	}
	peer_rec *rec = peer_find(nc, peer, ph);
	if (rec && rec->count >= nc->cap_per_peer) {
		sweep(nc, now, SIZE_MAX); /* count live entries only */
		rec = peer_find(nc, peer, ph);
		if (rec && rec->count >= nc->cap_per_peer) {
			rc = NODE_NONCE_PEER_FULL;
			goto done;
		}
	}
	/* Allocate before changing anything, so MT_ENOMEM leaves all as it was. */
	entry *e = malloc(sizeof *e);
	if (!e) {
		rc = MT_ENOMEM;
		goto done;
	}
	if (!rec) {
		size_t len = strlen(peer);
		rec = malloc(sizeof *rec + len + 1);
		if (!rec) {
			free(e);
			rc = MT_ENOMEM;
			goto done;
		}
		rec->hash = ph;
		rec->count = 0;
		memcpy(rec->id, peer, len + 1);
		rec->next = nc->pbuckets[ph & (nc->npbuckets - 1)];
		nc->pbuckets[ph & (nc->npbuckets - 1)] = rec;
		nc->npeers++;
		peer_grow(nc);
	}
	rec->count++; /* the new entry's; it also keeps rec alive through an eviction */
	if (nc->count >= nc->cap_total) {
		sweep(nc, now, SIZE_MAX);
		if (nc->count >= nc->cap_total) {
			entry *low = lowest(nc); /* not NULL: count >= cap_total >= 1 */
			if (low) {
				if (low->ts > nc->floor)
					nc->floor = low->ts;
				entry_remove(nc, low);
			}
		}
	}
	memcpy(e->key, key, sizeof key);
	e->ts = ts;
	e->expires = nc->hi + nc->ttl;
	e->peer = rec;
	entry_link(nc, e);
	rc = NODE_NONCE_FRESH;
done:
	pthread_mutex_unlock(&nc->lock);
	return rc;
}

size_t node__nonces_sweep(node_nonces *nc, int64_t now)
{
	if (!nc)
		return 0;
	pthread_mutex_lock(&nc->lock);
	size_t n = sweep(nc, now, SIZE_MAX);
	pthread_mutex_unlock(&nc->lock);
	return n;
}

size_t node__nonces_count(node_nonces *nc)
{
	if (!nc)
		return 0;
	pthread_mutex_lock(&nc->lock);
	size_t n = nc->count;
	pthread_mutex_unlock(&nc->lock);
	return n;
}

int64_t node__nonces_floor(node_nonces *nc)
{
	if (!nc)
		return -1;
	pthread_mutex_lock(&nc->lock);
	int64_t f = nc->floor;
	pthread_mutex_unlock(&nc->lock);
	return f;
}

int node__nonces_raise_floor(node_nonces *nc, int64_t floor)
{
	if (!nc || floor < -1 || floor > NODE_NONCE_TS_MAX)
		return MT_EINVAL;
	pthread_mutex_lock(&nc->lock);
	if (floor > nc->floor)
		nc->floor = floor;
	pthread_mutex_unlock(&nc->lock);
	return 0;
}
