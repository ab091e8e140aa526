/** Portable trust proofs (SPEC §9.6): write and check a bundle that shows a
 * trust path without a node, a store or the rest of the web.
 *
 * A bundle is NDJSON: one header line, canonical JSON (canon.h),
 *   {"at":T,"decay":["1","1","0.5",…],"from":ID,"max_depth":D,"proof":1,
 *    "prover":ID,"scope":S,"sig":SIG,"to":ID}
 * then, for each issuer on the path, its feed from seq 1 up to the prover's
 * applied head: the canonical statement lines, in seq order, each issuer's
 * lines together. `prover` is the Node ID of whoever wrote the bundle and
 * `sig` its Ed25519 signature (86 base64url characters) over MT_PROOF_DOMAIN
 * followed by the canonical JSON of the header without `sig`; the decay
 * values are decimal strings (canonical JSON has no reals), each the
 * shortest text that reads back as the same double. The signature says who
 * makes the claim, nothing more: not that the path is the best one.
 *
 * The verifier trusts none of it: it checks the header's signature, every
 * statement's signature, that each feed is one prev-linked chain from seq 1
 * with `ts` never going back, rebuilds the edges of scope S from those
 * statements alone (trust and revoke in seq order, the highest seq wins,
 * expiry at T) and recomputes the best path from `from` to `to` with the
 * trust engine (engine.h) at depth D with the decay table. Key rotations are
 * not followed (edges are taken as issued).
 */
#ifndef MESHTRUST_PROOF_H
#define MESHTRUST_PROOF_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "meshtrust/edge.h"
#include "meshtrust/error.h"
#include "meshtrust/identity.h"
#include "meshtrust/store.h"

/** Longest accepted bundle line, in bytes (without the newline). */
#define MT_PROOF_LINE_MAX 131072
/** Most lines accepted in a bundle (header included). */
#define MT_PROOF_MAX_LINES 100000
/** Most decay values in a header. */
#define MT_PROOF_MAX_DECAY 16
/** What the prover signs: this, then the header's canonical JSON without `sig`. */
#define MT_PROOF_DOMAIN "mesh/v1/proof\n"

/** What a bundle claims (its header). */
typedef struct mt_proof_header {
	char from[MT_NODE_ID_MAX];
	char to[MT_NODE_ID_MAX];
	char scope[80];
	int64_t at;
	int max_depth;                     /**< 1..8 */
	double decay[MT_PROOF_MAX_DECAY];
	size_t n_decay;                    /**< 1..MT_PROOF_MAX_DECAY */
	char prover[MT_NODE_ID_MAX];       /**< who signed the header (set by the
					        writer from its key, by the verifier
					        from the bundle) */
} mt_proof_header;

/** The signed header line of `h` (without its newline), as the prover with
 * key `prover` writes it: `h->prover` is ignored and replaced by the Node ID
 * of `prover->pk`. On success `*out` is a malloc'd NUL-terminated string owned
 * by the caller (free()), `*len` its length. Errors: MT_EINVAL (bad header:
 * from/to not Node IDs, a bad scope, depth not in 1..8, decay count, at < 0),
 * MT_ENOMEM; `*out` is NULL and `*len` 0 on failure. `prover` is only read. */
int mt_proof_header_line(char **out, size_t *len, const mt_proof_header *h,
			 const mt_keypair *prover, mt_error *err);

/** Write a bundle for `h` from the store: the header signed by `prover`
 * (mt_proof_header_line), then for each of the
 * `n` issuers (duplicates are written once) its applied chain from seq 1 to
 * its applied head, cut after the last statement with ts <= `cut_ts`
 * (INT64_MAX: the whole applied chain, what the current edges come from).
 * On success `*out` is a malloc'd NUL-terminated buffer owned by the caller
 * (free()), `*len` its length. Errors: MT_EINVAL (bad header), MT_ENOTFOUND
 * (an issuer without a feed), MT_EIO / MT_EBUSY (store), MT_ENOMEM; `*out` is
 * NULL on failure. */
int mt_proof_write(char **out, size_t *len, mt_store *s, const mt_proof_header *h,
		   const char *const *issuers, size_t n, int64_t cut_ts, const mt_keypair *prover,
		   mt_error *err);

/** One edge of the recomputed path (strings owned by the result). */
typedef struct mt_proof_edge {
	char from[MT_NODE_ID_MAX];
	char to[MT_NODE_ID_MAX];
	mt_level level;
	uint16_t score;   /**< permille */
	int64_t exp;      /**< 0 = never */
	uint64_t seq;     /**< seq of the `trust` statement that sets it */
} mt_proof_edge;

/** One feed of the bundle: its issuer and head. */
typedef struct mt_proof_feed {
	char iss[MT_NODE_ID_MAX];
	uint64_t head_seq;
	int64_t head_ts;
	char head_id[65]; /**< lower-case hex */
} mt_proof_feed;

/** Outcome of mt_proof_verify. */
typedef struct mt_proof_result {
	int valid;              /**< 1 when the bundle shows the path */
	char reason[1024];      /**< why not ("" when valid) */
	int have_header;        /**< 1 when the header parsed and its signature
				     verified (then `h` is filled, `h.prover` too) */
	mt_proof_header h;
	double score;           /**< the recomputed score (valid only) */
	mt_level level;         /**< the recomputed level of `to` */
	int hops;               /**< fewest hops to `to` */
	size_t n_path;
	mt_proof_edge *path;    /**< the best-scoring path, from `from` outward */
	size_t n_feeds;
	mt_proof_feed *feeds;   /**< in bundle order */
	size_t n_statements;    /**< statement lines checked */
} mt_proof_result;

/** Check bundle `buf[0..len)` (untrusted; need not be NUL-terminated).
 * Returns 0 with `*out` set (owned by the caller, mt_proof_result_free)
 * whether the bundle is valid or not: an invalid bundle has valid = 0 and a
 * reason that names the line, issuer and seq at fault. A header without
 * `sig` is refused ("header not signed"), one whose `prover` is not a Node ID
 * ("prover is not a Node ID"), one that is not canonical JSON, and one whose
 * signature fails ("header signature does not verify"). Returns MT_ENOMEM
 * (or MT_EINVAL for NULL arguments) with `*out` NULL when it could not
 * decide. Uses no store, home or clock. */
int mt_proof_verify(mt_proof_result **out, const char *buf, size_t len, mt_error *err);

/** Free a result; NULL is a harmless no-op. */
void mt_proof_result_free(mt_proof_result *r);

/** The sentence stating what a valid result shows (SPEC §9.6), into
 * `buf[0..size)` (truncated, always NUL-terminated when size > 0). */
void mt_proof_claim(const mt_proof_result *r, char *buf, size_t size);

/** The result as a JSON document: {"valid", "reason"} or, when valid,
 * {"valid":true, "prover", "from", "to", "scope", "at", "max_depth", "decay", "score",
 * "level", "hops", "path":[{from,to,level,score,exp,seq}], "feeds":[{iss,
 * head_seq, head_ts, head_id}], "statements", "claim"}. New reference owned
 * by the caller, or NULL when out of memory. */
json_t *mt_proof_result_json(const mt_proof_result *r);

#endif
