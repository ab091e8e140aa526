/* Range-based set reconciliation of feed heads (issue #22, docs/node.md "Peers
 * and sync"): a puller learns which of a peer's feeds differ from its own with
 * traffic proportional to the differences (x log n), not to the number of
 * feeds. Internal to the node (not a public API).
 *
 * Model: Aljoscha Meyer, "Range-Based Set Reconciliation" (2023), and the
 * Negentropy protocol (hoytech/negentropy) used by Nostr relays; written from
 * their public descriptions.
 *
 * Items and keys
 * - An item is one feed's head: (issuer, contiguous head seq, head statement
 *   id). Its key is the issuer (1..NODE_RECON_KEY_MAX bytes, compared
 *   bytewise, shorter prefix first); a set holds at most one item per key.
 * - Item hash: BLAKE2b-256 over "mesh/v1/recon\n" || key length (1 byte) ||
 *   key || seq (8 bytes big-endian) || head id (32 bytes).
 * - Fingerprint of a range: BLAKE2b-128 over (the sum of its items' hashes,
 *   read as little-endian 256-bit integers, mod 2^256; 32 bytes LE) || count
 *   (8 bytes LE). Sums form a group, so a sealed set keeps prefix sums and
 *   the fingerprint of any range costs O(log n) (two binary searches).
 *
 * Roles: the client (the puller) carries all state; the server answers each
 * message from its set alone (stateless between rounds). The client ends
 * knowing the symmetric difference: the server's items it lacks (in full:
 * key, seq, head) and which of its own items the server lacks.
 *
 * Message (binary; both directions; the wire format is in docs/node.md):
 *   version (1 byte, NODE_RECON_VERSION), then ranges, ascending, covering
 *   the whole key space: each range is its upper bound (exclusive; the first
 *   range's lower bound is the empty key; the last bound is infinity), a mode
 *   byte and the mode's payload:
 *     SKIP   nothing to say about this range
 *     FP     count (varint) and fingerprint (16 bytes) of the sender's items
 *     IDS    (client only) n (varint), n x 8-byte hash prefixes of its items
 *     ITEMS  (server only) nbits (varint), ceil(nbits/8) bytes: bit i (LSB
 *            first) says the server holds the client's i-th listed item of
 *            the range; m (varint), m items the client lacks: key length
 *            (1 byte), key, seq (varint), head id (32 bytes)
 *   Bound: a byte `shared` (bytes in common with the previous bound of the
 *   message; 0xFF = infinity, nothing follows), a byte `len`, `len` bytes;
 *   1 <= shared + len <= NODE_RECON_KEY_MAX.
 *
 * Every message is untrusted: parsers check every length, count, order and
 * mode against the bytes present and return MT_EINVAL with what is wrong. */
#ifndef MT_NODE_RECON_H
#define MT_NODE_RECON_H

#include <stddef.h>
#include <stdint.h>

#include "meshtrust/error.h"

#define NODE_RECON_VERSION 1
#define NODE_RECON_KEY_MAX 64
#define NODE_RECON_FP_LEN 16
#define NODE_RECON_ID_LEN 8
/* Ranges a side splits a differing range into. */
#define NODE_RECON_BRANCH 16
/* At most this many own items in a differing range: the client lists them
 * (IDS) instead of splitting. */
#define NODE_RECON_LEAF 32
/* The client lists up to this many items when the server holds few. */
#define NODE_RECON_IDS_MAX 4096
/* A client message is at most this many bytes (the server refuses more);
 * what does not fit waits for the next round. */
#define NODE_RECON_MSG_MAX (1u << 20)
/* The client gives up after this many rounds (the caller falls back). */
#define NODE_RECON_MAX_ROUNDS 48

enum { NODE_RECON_SKIP = 0, NODE_RECON_FP = 1, NODE_RECON_IDS = 2, NODE_RECON_ITEMS = 3 };

typedef struct node_recon_item {
	uint64_t seq;
	unsigned char head[32];
	unsigned char hash[32];
	uint8_t key_len;
	char key[NODE_RECON_KEY_MAX + 1]; /* NUL-terminated */
} node_recon_item;

/* A set of items: add, then seal (sort + prefix sums), then use read-only
 * (a sealed set may be shared by threads). Zero-initialise before use. */
typedef struct node_recon_set {
	node_recon_item *items;
	size_t n, cap;
	uint64_t (*sums)[4]; /* sums[i] = sum of hashes of items[0..i), n + 1 rows */
	int sealed;
} node_recon_set;

/** Add the item (key, seq, head) to an unsealed set (copied).
 *
 * Errors: MT_EINVAL (key empty or over NODE_RECON_KEY_MAX bytes, sealed set),
 * MT_ENOMEM. The set is unchanged on failure. */
int node__recon_set_add(node_recon_set *s, const char *key, uint64_t seq,
			const unsigned char head[32], mt_error *err);

/** Sort the items by key, check keys are unique, compute the prefix sums.
 * O(n log n). Errors: MT_EINVAL (a key twice; the set stays unsealed),
 * MT_ENOMEM. */
int node__recon_set_seal(node_recon_set *s, mt_error *err);

/** Free what the set holds (not `s` itself); leaves it empty. NULL is a no-op. */
void node__recon_set_free(node_recon_set *s);

/* A growable byte buffer (the messages). `p` is malloc'd, owned by the buffer. */
typedef struct node_recon_buf {
	unsigned char *p;
	size_t len, cap;
} node_recon_buf;

/** The server's answer to one client message over the sealed set `s`.
 * Appends the answer to `out` (the caller frees out->p).
 * The answer's size is at most that of a binary listing of `s` plus
 * NODE_RECON_BRANCH ranges per FP range of the message.
 * Errors: MT_EINVAL (malformed message: err says which byte and why; `out`
 * then holds nothing usable), MT_ENOMEM. */
int node__recon_answer(const node_recon_set *s, const unsigned char *msg, size_t len,
		       node_recon_buf *out, mt_error *err);

/* A range the client still has to resolve (internal to recon.c). */
typedef struct node_recon_task node_recon_task;

/* The client's state over its sealed set. */
typedef struct node_recon_client {
	const node_recon_set *own;  /* borrowed; must outlive the client */
	node_recon_task *todo, *sent;
	size_t n_todo, cap_todo, n_sent, cap_sent;
	unsigned rounds;
	/* results */
	node_recon_item *theirs;    /* the server's items the client lacks, by key */
	size_t n_theirs, cap_theirs;
	unsigned char *mine_only;   /* own->n flags: 1 = the server lacks that item */
	size_t n_mine_only;
} node_recon_client;

/** Start a reconciliation of the sealed set `own` (borrowed).
 * Errors: MT_EINVAL (not sealed), MT_ENOMEM. */
int node__recon_client_init(node_recon_client *c, const node_recon_set *own, mt_error *err);

/** The next message to send, into `out` (emptied first; the caller frees
 * out->p). Returns 1 with a message, 0 when the reconciliation is complete
 * (nothing to send; the results are final), or a negative MT_E* code:
 * MT_EINVAL after NODE_RECON_MAX_ROUNDS rounds, MT_ENOMEM. */
int node__recon_client_next(node_recon_client *c, node_recon_buf *out, mt_error *err);

/** Take the server's answer to the last message. Errors: MT_EINVAL (the
 * answer is malformed or does not answer the message sent; the client must
 * then be abandoned), MT_ENOMEM. */
int node__recon_client_take(node_recon_client *c, const unsigned char *msg, size_t len,
			    mt_error *err);

/** Free the client's state and results. NULL is a no-op. */
void node__recon_client_free(node_recon_client *c);

/** Check one message as the server reads it (what node__recon_answer checks,
 * without a set): 0 or MT_EINVAL with the reason. For the fuzz target. */
int node__recon_check(const unsigned char *msg, size_t len, mt_error *err);

/* The endpoint POST /v1/feeds/reconcile (ep_feeds.c), for the route table
 * (a node_handler of node_http.h). */
struct mt_node;
struct MHD_Connection;
struct req;
struct reply;
struct node_view;
void node__ep_feeds_reconcile(struct mt_node *n, struct MHD_Connection *c, const char *url,
			      struct req *rq, struct node_view *v, struct reply *r);

#endif
