/* Key pairs and the two public forms of an identity: Node ID and did:key. */
#include "meshtrust/identity.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "identity_int.h"
#include "meshtrust/encoding.h"

/* libp2p PeerId of an Ed25519 key: multihash "identity" (0x00), length 36
 * (0x24), then the protobuf PublicKey { Type: Ed25519 (08 01), Data: 32 bytes
 * (12 20) }. Because the prefix is fixed, every such ID starts "12D3KooW". */
static const unsigned char NODE_ID_PREFIX[6] = {0x00, 0x24, 0x08, 0x01, 0x12, 0x20};
/* Multicodec ed25519-pub (0xed, as an unsigned varint: ed 01). */
static const unsigned char DID_PREFIX[2] = {0xed, 0x01};
static const char DID_TEXT_PREFIX[] = "did:key:z";
/* Lengths of the canonical texts (fixed, since the leading bytes are fixed). */
#define NODE_ID_LEN 52
#define DID_TEXT_LEN 56

/* How many characters of a bad value an error message repeats. */
#define SHOWN_CHARS_MAX 80

int mt_identity_init(void)
{
	/* sodium_init() returns 1 when already initialised, -1 on failure. */
	return sodium_init() < 0 ? MT_ECRYPTO : 0;
}

int mt_keypair_from_seed(mt_keypair *out, const unsigned char seed[32])
{
	if (mt_identity_init() != 0 || crypto_sign_seed_keypair(out->pk, out->sk, seed) != 0) {
		mt_keypair_wipe(out);
		return MT_ECRYPTO;
	}
	return 0;
}

int mt_keypair_generate(mt_keypair *out)
{
	if (mt_identity_init() != 0 || crypto_sign_keypair(out->pk, out->sk) != 0) {
		mt_keypair_wipe(out);
		return MT_ECRYPTO;
	}
	return 0;
}

void mt_keypair_seed(unsigned char out[32], const mt_keypair *kp)
{
	crypto_sign_ed25519_sk_to_seed(out, kp->sk);
}

void mt_keypair_wipe(mt_keypair *kp)
{
	if (kp)
		sodium_memzero(kp, sizeof *kp);
}

/* Base58 of prefix || pk; cannot fail for these sizes, so the buffer sizes
 * below are the whole proof (38 bytes -> 52 characters, 34 -> 47). */
static void encode_prefixed(char *out, size_t outsz, const unsigned char *prefix, size_t prefix_len,
                            const unsigned char pk[32])
{
	unsigned char raw[40];
	memcpy(raw, prefix, prefix_len);
	memcpy(raw + prefix_len, pk, 32);
	if (mt_base58_encode(out, outsz, raw, prefix_len + 32) != 0 && outsz > 0)
		out[0] = '\0';
}

void mt_node_id_encode(char out[MT_NODE_ID_MAX], const unsigned char pk[32])
{
	encode_prefixed(out, MT_NODE_ID_MAX, NODE_ID_PREFIX, sizeof NODE_ID_PREFIX, pk);
}

void mt_did_encode(char out[MT_DID_MAX], const unsigned char pk[32])
{
	size_t n = sizeof DID_TEXT_PREFIX - 1;
	memcpy(out, DID_TEXT_PREFIX, n);
	encode_prefixed(out + n, MT_DID_MAX - n, DID_PREFIX, sizeof DID_PREFIX, pk);
}

/* Decode `b58` (which starts at `offset` in the argument, so positions and
 * lengths in messages refer to the whole argument) and check it is exactly
 * prefix || pk and canonical. Because the prefix is fixed, the canonical text
 * always has `text_len` characters (52 for a Node ID, 56 for a did:key).
 * Writes a reason (without the argument name) into `reason`. */
static int decode_prefixed(unsigned char pk[32], char *reason, size_t reasonsz, const char *b58,
                           size_t offset, size_t text_len, const unsigned char *prefix,
                           size_t prefix_len, const char *what)
{
	unsigned char raw[MT_BASE58_MAX_BYTES + 2];
	size_t len = 0;
	int rc = mt_base58_decode(raw, sizeof raw, &len, b58, NULL);
	if (rc == MT_EINVAL) {
		/* Re-state the position relative to the whole argument. */
		size_t bad = strspn(b58, MT_BASE58_ALPHABET);
		char shown[8];
		mt_identity__escape(shown, sizeof shown, (char[2]){b58[bad], '\0'}, 1);
		snprintf(reason, reasonsz, "bad base58 character '%s' at position %zu", shown,
		         offset + bad);
		return MT_EINVAL;
	}
	if (rc != 0 || offset + strlen(b58) != text_len) {
		snprintf(reason, reasonsz, "%s (%zu characters, expected %zu)",
		         rc != 0 ? "too long" : "wrong length", offset + strlen(b58), text_len);
		return MT_EINVAL;
	}
	if (len != prefix_len + 32) {
		snprintf(reason, reasonsz, "decodes to %zu bytes, expected %zu", len,
		         prefix_len + 32);
		return MT_EINVAL;
	}
	if (memcmp(raw, prefix, prefix_len) != 0) {
		snprintf(reason, reasonsz, "%s", what);
		return MT_EINVAL;
	}
	/* No re-encoding check: base58 with the leading-'1' rule is a
	 * bijection between texts and byte strings (leading '1's are the
	 * leading zero bytes, the rest a number without leading zero digits),
	 * so every text has one spelling. fuzz_identity checks that whatever
	 * decodes encodes back to the same text. */
	memcpy(pk, raw + prefix_len, 32);
	return 0;
}

/* Shared body of mt_identity_parse() and mt_node_id_decode(). */
static int parse_identity(unsigned char pk[32], char node_id_out[MT_NODE_ID_MAX], const char *text,
                          int allow_did, const char *argname, mt_error *err)
{
	char reason[128] = "";
	int rc;

	if (!text || !*text) {
		snprintf(reason, sizeof reason, "empty");
		rc = MT_EINVAL;
	} else if (strncmp(text, "did:", 4) == 0) {
		if (!allow_did) {
			snprintf(reason, sizeof reason, "a did:key is not accepted here");
			rc = MT_EINVAL;
		} else if (strncmp(text, DID_TEXT_PREFIX, sizeof DID_TEXT_PREFIX - 1) != 0) {
			snprintf(reason, sizeof reason,
			         "only did:key with base58btc ('did:key:z…') is supported");
			rc = MT_EINVAL;
		} else {
			rc = decode_prefixed(
			    pk, reason, sizeof reason, text + sizeof DID_TEXT_PREFIX - 1,
			    sizeof DID_TEXT_PREFIX - 1, DID_TEXT_LEN, DID_PREFIX, sizeof DID_PREFIX,
			    "wrong multicodec: not an Ed25519 public key (expected ed 01)");
		}
	} else {
		rc = decode_prefixed(
		    pk, reason, sizeof reason, text, 0, NODE_ID_LEN, NODE_ID_PREFIX,
		    sizeof NODE_ID_PREFIX,
		    "wrong prefix: not an Ed25519 libp2p PeerId (expected 12D3KooW…)");
	}

	if (rc != 0) {
		char shown[4 * SHOWN_CHARS_MAX + 8];
		memset(pk, 0, 32);
		if (node_id_out)
			node_id_out[0] = '\0';
		if (!err) /* mt_node_id_valid() and other quick checks: no message */
			return MT_EINVAL;
		mt_identity__escape(shown, sizeof shown, text ? text : "", SHOWN_CHARS_MAX);
		return mt_error_set(err, MT_EINVAL, "%s%s\"%s\" is not a valid %s (%s)",
		                    argname ? argname : "", argname ? ": " : "", shown,
		                    allow_did ? "Node ID or did:key" : "Node ID", reason);
	}
	if (node_id_out && strncmp(text, "did:", 4) != 0)
		memmove(node_id_out, text, NODE_ID_LEN + 1); /* checked canonical above */
	else if (node_id_out)
		mt_node_id_encode(node_id_out, pk);
	return 0;
}

int mt_identity_parse(unsigned char pk[32], char node_id_out[MT_NODE_ID_MAX], const char *text,
                      const char *argname, mt_error *err)
{
	return parse_identity(pk, node_id_out, text, 1, argname, err);
}

int mt_node_id_decode(unsigned char pk[32], const char *text, const char *argname, mt_error *err)
{
	return parse_identity(pk, NULL, text, 0, argname, err);
}

int mt_node_id_valid(const char *text)
{
	unsigned char pk[32];
	return mt_node_id_decode(pk, text, NULL, NULL) == 0;
}
