/** Signed statements (SPEC §2): parse, validate, sign, verify, identify.
 *
 * A statement travels as its canonical JSON bytes. Parsing checks, in this
 * order: size, canonical form, known `v`/`type`, the fields the type defines
 * (required/optional, types, ranges, Node IDs, scopes), `ts` against the
 * caller's clock; the signature is checked separately by mt_stmt_verify() so a
 * caller may verify on several threads. Every refusal sets a reason in `err`
 * that names the field (see docs/statements.md for the list).
 */
#ifndef MESHTRUST_STATEMENT_H
#define MESHTRUST_STATEMENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "meshtrust/error.h"
#include "meshtrust/identity.h"

/** Maximum size of a statement's canonical bytes. */
#define MT_STMT_MAX 131072
/** Maximum `ts` lead over the node's clock, in seconds. */
#define MT_STMT_MAX_SKEW 300
/** Maximum lesson body in bytes. */
#define MT_LESSON_BODY_MAX 65536
/** Signing-input domain prefix. */
#define MT_STMT_DOMAIN "mesh/v1/stmt\n"

typedef enum mt_stmt_type {
	MT_ST_TRUST = 0,
	MT_ST_REVOKE,
	MT_ST_REFERRAL,
	MT_ST_BRIDGE,
	MT_ST_LESSON,
	MT_ST_GENESIS,
	MT_ST_POT_OPEN,
	MT_ST_POT_COMMIT,
	MT_ST_POT_REVEAL,
	MT_ST_POT_CLAIM,
	MT_ST_ROTATE,
	MT_ST_KEY, /* SPEC §9.2: key commitment {next, from?} */
	MT_ST_PROPOSAL, /* SPEC §9.3: {genesis, closes, policy} */
	MT_ST_VOTE,     /* SPEC §9.3: {proposal, choice yes|no} */
	MT_ST__COUNT
} mt_stmt_type;

struct mt_stmt_fields; /* private: the members, decoded */

/** A parsed statement: one allocation that owns everything it points to.
 * `canon` is the exact canonical bytes (NUL-terminated, `canon_len` without
 * the NUL); the type's fields are read with mt_stmt_str(), mt_stmt_int(),
 * mt_stmt_list(), or as a jansson tree with mt_stmt_tree(). Parsing builds no
 * tree. Treat as read-only. */
typedef struct mt_stmt {
	const struct mt_stmt_fields *fields;
	char *canon;
	size_t canon_len;
	mt_stmt_type type;
	char iss[MT_NODE_ID_MAX];
	unsigned char iss_pk[32];
	uint64_t seq;
	int has_prev;
	unsigned char prev[32];
	int64_t ts;
	unsigned char sig[64];
	unsigned char id[32]; /* BLAKE2b-256 of canon */
} mt_stmt;

/** Parse and validate `buf[0..len)` (everything but the signature).
 * `now` is the node's clock in Unix seconds (ts > now + 300 is refused); pass
 * INT64_MAX to skip that check (re-verifying held statements).
 * On success *out is a new statement the caller frees with mt_stmt_free().
 * Errors: MT_ETOOBIG, MT_ECANON, MT_EINVAL (reason in err); *out is NULL. */
int mt_stmt_parse(mt_stmt **out, const char *buf, size_t len, int64_t now, mt_error *err);

/** mt_stmt_parse() that reuses the memory of *st (a statement from an
 * earlier parse, or NULL) when it is large enough, for callers that parse
 * many statements one after another. *st is consumed: on success it is the
 * new statement (the old one is gone), on failure NULL. */
int mt_stmt_reparse(mt_stmt **st, const char *buf, size_t len, int64_t now, mt_error *err);

/** Verify the Ed25519 signature (and, for `rotate`, `newsig`).
 * The signer is `iss`, except for a `rotate` in the pre-rotation form (SPEC
 * §9.2: no `newsig`), whose `sig` is made by the key of `new`; the legacy form
 * (`newsig` present) is signed by `iss` and `newsig` by `new`.
 * Returns 0 or MT_EBADSIG ("bad signature"). Thread safe. */
int mt_stmt_verify(const mt_stmt *st, mt_error *err)
#if defined(__GNUC__)
	__attribute__((warn_unused_result))
#endif
	;

/** mt_stmt_parse + mt_stmt_verify. */
int mt_stmt_decode(mt_stmt **out, const char *buf, size_t len, int64_t now, mt_error *err);

/** mt_stmt_reparse + mt_stmt_verify (*st NULL on failure). */
int mt_stmt_redecode(mt_stmt **st, const char *buf, size_t len, int64_t now, mt_error *err);

/** Sign a statement body. `body` holds the type's fields plus `type`; this
 * function sets `v`, `iss` (from kp), `seq`, `prev` (when seq > 1; `prev` may
 * be NULL only for seq 1) and `ts`, signs, and validates the result exactly as
 * mt_stmt_parse would (so nothing invalid is ever issued). `body` is borrowed
 * (copied). On success *out is owned by the caller. Errors: MT_EINVAL. */
int mt_stmt_sign(mt_stmt **out, const json_t *body, const mt_keypair *kp, uint64_t seq,
		 const unsigned char *prev, int64_t ts, mt_error *err);

/** mt_stmt_sign() for an issuer other than the signing key: `iss` (a Node
 * ID) goes into the statement and `kp` signs it. The only valid use is the
 * pre-rotation `rotate` (SPEC §9.2), which the committed next key signs for
 * the old identity; anything else would not verify (this function checks
 * with mt_stmt_verify() and returns MT_EBADSIG rather than hand out a
 * statement nobody accepts). Ownership and errors as mt_stmt_sign(). */
int mt_stmt_sign_for(mt_stmt **out, const json_t *body, const char *iss, const mt_keypair *kp,
		     uint64_t seq, const unsigned char *prev, int64_t ts, mt_error *err);

/** Whether `st` is a `rotate` in the pre-rotation form (no `newsig`). */
int mt_stmt_is_prerotate(const mt_stmt *st);

/** The public key that signed `st`: `iss`'s, or `new`'s for a pre-rotation
 * rotate. Returns 0, or MT_EINVAL when `new` does not decode (never for a
 * statement that verified). */
int mt_stmt_signer_pk(unsigned char pk[32], const mt_stmt *st, mt_error *err);

/** Free a statement; NULL is a harmless no-op. */
void mt_stmt_free(mt_stmt *st);

/** Lower-case hex id (65 bytes with NUL). */
void mt_stmt_id_hex(char out[65], const mt_stmt *st);

/** Type name ("trust", "pot-open", …) or NULL for an out-of-range value. */
const char *mt_stmt_type_name(mt_stmt_type t);

/** Parse a type name; returns 0 or MT_EINVAL. */
int mt_stmt_type_parse(mt_stmt_type *out, const char *name);

/** Check a scope string (SPEC §2): `global`, `coop:<id>`, `federation:<id>`,
 * `domain:<id>`, `topic:<id>` with <id> 1..64 of [a-z0-9._-]. Returns 0 or
 * MT_EINVAL with a message naming `what` and the value. */
int mt_scope_check(const char *scope, const char *what, mt_error *err);

/** Field accessors on a parsed statement (top-level members only).
 * String field, decoded, borrowed from `st`; NULL when absent or not a string. */
const char *mt_stmt_str(const mt_stmt *st, const char *key);
/** Integer field or `dflt` when absent or not an integer. */
int64_t mt_stmt_int(const mt_stmt *st, const char *key, int64_t dflt);
/** Array-of-strings field (`labels`, `scopes`, `topics`, `founders`, …):
 * sets *n to its element count and returns the first element, decoded and
 * borrowed from `st`; the next one is mt_stmt_list_next(previous). Returns
 * NULL with *n = 0 when the field is absent or not an array of strings (an
 * empty array returns non-NULL with *n = 0). */
const char *mt_stmt_list(const mt_stmt *st, const char *key, size_t *n);
/** The element after `item` in a list returned by mt_stmt_list(); after the
 * last element it returns a pointer that must not be read. */
const char *mt_stmt_list_next(const char *item);
/** One top-level member as a new jansson value the caller owns (json_decref);
 * *out is NULL when the statement has no such member. Returns 0 or MT_ENOMEM. */
int mt_stmt_member(const mt_stmt *st, const char *key, json_t **out, mt_error *err);
/** The whole statement (with `sig`) as a new jansson tree the caller owns
 * (json_decref). Returns 0 or MT_ENOMEM (*out NULL). */
int mt_stmt_tree(const mt_stmt *st, json_t **out, mt_error *err);

/** Most tiers / bridges a proposal's `policy` may carry (SPEC §9.3). */
#define MT_STMT_POLICY_MAX_TIERS 16
#define MT_STMT_POLICY_MAX_BRIDGES 256

/** Check a proposal's `policy` object (SPEC §9.3) as mt_stmt_parse does:
 * any of `max_gini`, `max_top10_share` (integers 0..1000 permille),
 * `enforce_gini` (boolean), `tiers` (1..16 objects {`min_score` 0..1000,
 * `rate` >= 1, `burst` >= 1}), `bridges` (distinct Node IDs, at most 256),
 * at least one of them, nothing else. `o` is borrowed. Returns 0 or
 * MT_EINVAL with the reason (naming the member) in err. */
int mt_stmt_policy_check(const json_t *o, mt_error *err);

/** Compute BLAKE2b-256 of `data`. */
void mt_blake2b256(unsigned char out[32], const void *data, size_t len);

/** Strict base64url (no padding) decoding of a 64-byte signature: exactly 86
 * characters that are the encoding of their bytes (zero pad bits). */
int mt_sig_decode(unsigned char out[64], const char *text, mt_error *err);
/** Encode a 64-byte signature as 86 base64url characters (+NUL). */
void mt_sig_encode(char out[87], const unsigned char sig[64]);

#endif
