/* Identity vectors (SPEC §1), Node ID / did:key parsing, hex and base58. */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "meshtrust/encoding.h"
#include "meshtrust/identity.h"
#include "testutil.h"

/* Assert that `haystack` contains `needle`, printing both when it does not. */
#define assert_contains(haystack, needle)                                                          \
	do {                                                                                       \
		if (!strstr((haystack), (needle)))                                                 \
			fail_msg("\"%s\" does not contain \"%s\"", (haystack), (needle));          \
	} while (0)

static int setup(void **state)
{
	(void)state;
	return mt_identity_init();
}

static void test_init_is_idempotent(void **state)
{
	(void)state;
	assert_int_equal(mt_identity_init(), 0);
	assert_int_equal(mt_identity_init(), 0);
}

/* Every vector: seed -> public key -> Node ID and did:key, and back. */
static void test_vectors(void **state)
{
	(void)state;
	json_t *doc = mt_test_load_vector("identity.json");
	json_t *cases = json_object_get(doc, "cases");
	assert_true(json_array_size(cases) >= 10);

	size_t i;
	json_t *c;
	json_array_foreach(cases, i, c)
	{
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *want_node_id = json_string_value(json_object_get(c, "node_id"));
		const char *want_did = json_string_value(json_object_get(c, "did"));
		unsigned char seed[32], want_pk[32], pk[32], seed_back[32];
		char node_id[MT_NODE_ID_MAX], did[MT_DID_MAX], pk_hex[65];
		mt_keypair kp;
		mt_error err = {0};

		print_message("case %s\n", name);
		mt_test_hex(seed, 32, json_string_value(json_object_get(c, "seed")));
		mt_test_hex(want_pk, 32, json_string_value(json_object_get(c, "public_key")));

		assert_int_equal(mt_keypair_from_seed(&kp, seed), 0);
		assert_memory_equal(kp.pk, want_pk, 32);
		assert_int_equal(mt_hex_encode(pk_hex, sizeof pk_hex, kp.pk, 32), 0);
		assert_string_equal(pk_hex, json_string_value(json_object_get(c, "public_key")));
		mt_keypair_seed(seed_back, &kp);
		assert_memory_equal(seed_back, seed, 32);

		mt_node_id_encode(node_id, kp.pk);
		assert_string_equal(node_id, want_node_id);
		assert_int_equal(strncmp(node_id, "12D3KooW", 8), 0);
		mt_did_encode(did, kp.pk);
		assert_string_equal(did, want_did);
		assert_int_equal(strncmp(did, "did:key:z6Mk", 12), 0);

		/* Both forms parse back to the same key and the canonical Node ID. */
		char canon[MT_NODE_ID_MAX];
		assert_int_equal(mt_identity_parse(pk, canon, want_node_id, "id", &err), 0);
		assert_memory_equal(pk, want_pk, 32);
		assert_string_equal(canon, want_node_id);
		memset(pk, 0, sizeof pk);
		assert_int_equal(mt_identity_parse(pk, canon, want_did, "id", &err), 0);
		assert_memory_equal(pk, want_pk, 32);
		assert_string_equal(canon, want_node_id);
		assert_int_equal(mt_identity_parse(pk, NULL, want_did, "id", &err), 0);

		/* Node-ID-only entry points refuse the DID form. */
		assert_int_equal(mt_node_id_decode(pk, want_node_id, "iss", &err), 0);
		assert_memory_equal(pk, want_pk, 32);
		assert_true(mt_node_id_valid(want_node_id));
		assert_false(mt_node_id_valid(want_did));
		assert_int_equal(mt_node_id_decode(pk, want_did, "iss", &err), MT_EINVAL);
		assert_contains(err.msg, "iss: \"did:key:");
		assert_contains(err.msg, "is not a valid Node ID (a did:key is not accepted here)");

		mt_keypair_wipe(&kp);
		unsigned char zero[sizeof kp] = {0};
		assert_memory_equal(&kp, zero, sizeof kp);
	}
	json_decref(doc);
}

static void test_generate(void **state)
{
	(void)state;
	mt_keypair a, b, again;
	unsigned char seed[32];
	assert_int_equal(mt_keypair_generate(&a), 0);
	assert_int_equal(mt_keypair_generate(&b), 0);
	assert_memory_not_equal(a.pk, b.pk, 32);
	mt_keypair_seed(seed, &a);
	assert_int_equal(mt_keypair_from_seed(&again, seed), 0);
	assert_memory_equal(&again, &a, sizeof a);
	mt_keypair_wipe(&a);
	mt_keypair_wipe(&b);
	mt_keypair_wipe(&again);
	mt_keypair_wipe(NULL);
}

/* The first vector's Node ID and DID, for the malformed-input tests. */
static void first_case(char node_id[MT_NODE_ID_MAX], char did[MT_DID_MAX], unsigned char pk[32])
{
	json_t *doc = mt_test_load_vector("identity.json");
	json_t *c = json_array_get(json_object_get(doc, "cases"), 0);
	snprintf(node_id, MT_NODE_ID_MAX, "%s", json_string_value(json_object_get(c, "node_id")));
	snprintf(did, MT_DID_MAX, "%s", json_string_value(json_object_get(c, "did")));
	mt_test_hex(pk, 32, json_string_value(json_object_get(c, "public_key")));
	json_decref(doc);
}

/* Parse `text` expecting failure; checks pk/node_id are cleared and the
 * message carries the argument name and `reason`. */
static void expect_bad(const char *text, const char *argname, const char *reason)
{
	unsigned char pk[32];
	char canon[MT_NODE_ID_MAX] = "junk";
	mt_error err = {0};
	memset(pk, 0xaa, sizeof pk);
	assert_int_equal(mt_identity_parse(pk, canon, text, argname, &err), MT_EINVAL);
	assert_int_equal(err.code, MT_EINVAL);
	unsigned char zero[32] = {0};
	assert_memory_equal(pk, zero, 32);
	assert_string_equal(canon, "");
	if (argname) {
		char want_start[128];
		snprintf(want_start, sizeof want_start, "%s: \"", argname);
		assert_int_equal(strncmp(err.msg, want_start, strlen(want_start)), 0);
	}
	assert_contains(err.msg, "is not a valid Node ID or did:key (");
	assert_contains(err.msg, reason);
	assert_false(mt_node_id_valid(text));
}

static void test_parse_malformed(void **state)
{
	(void)state;
	char node_id[MT_NODE_ID_MAX], did[MT_DID_MAX], text[256], want[512];
	unsigned char pk[32];
	first_case(node_id, did, pk);

	expect_bad("", "trustee", "(empty)");
	expect_bad(NULL, "trustee", "(empty)");

	/* A character outside the alphabet, in the Node ID and in the DID body. */
	snprintf(text, sizeof text, "%s", node_id);
	text[9] = 'l';
	expect_bad(text, "trustee", "bad base58 character 'l' at position 9");
	snprintf(want, sizeof want, "trustee: \"%s\" is not a valid Node ID or did:key", text);
	{
		mt_error err = {0};
		assert_int_equal(mt_identity_parse(pk, NULL, text, "trustee", &err), MT_EINVAL);
		assert_string_equal(err.msg,
		                    strcat(want, " (bad base58 character 'l' at position 9)"));
	}
	snprintf(text, sizeof text, "%s", did);
	text[12] = '0';
	expect_bad(text, "--as", "bad base58 character '0' at position 12");

	/* Surrounding whitespace is not trimmed. */
	snprintf(text, sizeof text, " %s", node_id);
	expect_bad(text, "peer", "bad base58 character ' ' at position 0");
	snprintf(text, sizeof text, "%s\n", node_id);
	expect_bad(text, "peer", "bad base58 character '\\x0a' at position 52");

	/* Truncated or extended by one character. */
	snprintf(text, sizeof text, "%s", node_id);
	text[strlen(text) - 1] = '\0';
	expect_bad(text, "peer", "wrong length (51 characters, expected 52)");
	snprintf(text, sizeof text, "%sz", node_id);
	expect_bad(text, "peer", "wrong length (53 characters, expected 52)");
	snprintf(text, sizeof text, "%s", did);
	text[strlen(text) - 1] = '\0';
	expect_bad(text, "peer", "wrong length (55 characters, expected 56)");

	/* Right length, wrong byte count: a leading 'z' makes the number 39 bytes. */
	snprintf(text, sizeof text, "z%s", node_id + 1);
	expect_bad(text, "peer", "decodes to 39 bytes, expected 38");

	/* One character changed inside the fixed prefix. */
	snprintf(text, sizeof text, "%s", node_id);
	text[4] = 'L';
	expect_bad(text, "peer", "wrong prefix: not an Ed25519 libp2p PeerId");

	/* Right length, wrong key type: a secp256k1 PeerId-shaped value (08 02). */
	unsigned char raw[40] = {0x00, 0x24, 0x08, 0x02, 0x12, 0x20};
	memcpy(raw + 6, pk, 32);
	assert_int_equal(mt_base58_encode(text, sizeof text, raw, 38), 0);
	expect_bad(text, "peer", "wrong prefix: not an Ed25519 libp2p PeerId");

	/* A SHA-256 multihash PeerId ("Qm…") is not an Ed25519 key. */
	unsigned char qm[34] = {0x12, 0x20};
	memcpy(qm + 2, pk, 32);
	assert_int_equal(mt_base58_encode(text, sizeof text, qm, 34), 0);
	assert_int_equal(strncmp(text, "Qm", 2), 0);
	expect_bad(text, "peer", "wrong length (46 characters, expected 52)");

	/* did:key with another multicodec (secp256k1-pub, e7 01). */
	unsigned char secp[34] = {0xe7, 0x01};
	memcpy(secp + 2, pk, 32);
	memcpy(text, "did:key:z", 9);
	assert_int_equal(mt_base58_encode(text + 9, sizeof text - 9, secp, 34), 0);
	expect_bad(text, "peer", "wrong multicodec: not an Ed25519 public key");

	/* Other DID methods or multibases; a bare multibase key; a Node ID as did. */
	expect_bad("did:web:example.org", "peer", "only did:key with base58btc");
	snprintf(text, sizeof text, "did:key:%s", did + 9);
	expect_bad(text, "peer", "only did:key with base58btc");
	expect_bad(did + 8, "peer", "wrong length (48 characters, expected 52)");
	snprintf(text, sizeof text, "did:key:z%s", node_id);
	expect_bad(text, "peer", "wrong length (61 characters, expected 56)");

	/* Too long for the decoder. */
	memset(text, '2', 200);
	text[200] = '\0';
	expect_bad(text, "peer", "too long (200 characters, expected 52)");

	/* Control bytes and quotes are escaped; long values are cut. */
	expect_bad("ab\x01\"c", "peer", "\"ab\\x01\\\"c\"");
	mt_error err = {0};
	assert_int_equal(mt_identity_parse(pk, NULL, text, "peer", &err), MT_EINVAL);
	assert_contains(err.msg, "2222...\" is not");

	/* Without an argument name the message starts with the value. */
	assert_int_equal(mt_identity_parse(pk, NULL, "x", NULL, &err), MT_EINVAL);
	assert_int_equal(strncmp(err.msg, "\"x\" is not a valid", 18), 0);
	/* A NULL error record is allowed. */
	assert_int_equal(mt_identity_parse(pk, NULL, "x", "peer", NULL), MT_EINVAL);
}

/* Base58btc has no checksum: changing the last character of a Node ID gives
 * another well-formed ID of a different key. This is SPEC behaviour (libp2p),
 * recorded here so nobody relies on typo detection. */
static void test_parse_no_checksum(void **state)
{
	(void)state;
	char node_id[MT_NODE_ID_MAX], did[MT_DID_MAX];
	unsigned char pk[32], other[32];
	first_case(node_id, did, pk);
	size_t last = strlen(node_id) - 1;
	node_id[last] = node_id[last] == '2' ? '3' : '2';
	assert_int_equal(mt_identity_parse(other, NULL, node_id, "peer", NULL), 0);
	assert_memory_not_equal(other, pk, 32);
}

static void test_hex(void **state)
{
	(void)state;
	const unsigned char bytes[] = {0x00, 0x01, 0xab, 0xff, 0x7e};
	unsigned char out[5];
	char text[11];
	mt_error err = {0};

	assert_int_equal(mt_hex_encode(text, sizeof text, bytes, 5), 0);
	assert_string_equal(text, "0001abff7e");
	assert_int_equal(mt_hex_encode(text, 10, bytes, 5), MT_ETOOBIG);
	assert_int_equal(mt_hex_encode(text, 0, bytes, 5), MT_ETOOBIG);
	assert_int_equal(mt_hex_encode(text, 1, bytes, 0), 0);
	assert_string_equal(text, "");

	assert_int_equal(mt_hex_decode(out, 5, "0001abff7e", &err), 0);
	assert_memory_equal(out, bytes, 5);
	assert_int_equal(mt_hex_decode(out, 5, "0001ABFF7E", &err), 0);
	assert_memory_equal(out, bytes, 5);

	assert_int_equal(mt_hex_decode(out, 5, "0001abff7", &err), MT_EINVAL);
	assert_string_equal(err.msg, "expected 10 hex characters, got 9");
	assert_int_equal(mt_hex_decode(out, 5, "0001abff7e0", &err), MT_EINVAL);
	assert_string_equal(err.msg, "expected 10 hex characters, got more");
	assert_int_equal(mt_hex_decode(out, 5, "0001abfg7e", &err), MT_EINVAL);
	assert_string_equal(err.msg, "bad hex character 'g' at position 7");
	const unsigned char zero[5] = {0};
	assert_memory_equal(out, zero, 5);
	assert_int_equal(mt_hex_decode(out, 5, " 001abff7e", &err), MT_EINVAL);
	assert_string_equal(err.msg, "bad hex character ' ' at position 0");
	assert_int_equal(mt_hex_decode(out, 5, "0x01abff7e", &err), MT_EINVAL);
	assert_int_equal(mt_hex_decode(out, 0, "", &err), 0);
	assert_int_equal(mt_hex_decode(out, 5, NULL, NULL), MT_EINVAL);
}

/* Bitcoin's published base58 encode/decode pairs. */
static void test_base58_known(void **state)
{
	(void)state;
	static const char *const pairs[][2] = {
	    {"", ""},
	    {"61", "2g"},
	    {"626262", "a3gV"},
	    {"636363", "aPEr"},
	    {"73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2"},
	    {"00eb15231dfceb60925886b67d065299925915aeb172c06647",
	     "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"},
	    {"516b6fcd0f", "ABnLTmg"},
	    {"bf4f89001e670274dd", "3SEo3LWLoPntC"},
	    {"572e4794", "3EFU7m"},
	    {"ecac89cad93923c02321", "EJDM8drfXA6uyA"},
	    {"10c8511e", "Rt5zm"},
	    {"00000000000000000000", "1111111111"},
	};
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
		unsigned char bytes[64], back[64];
		size_t n = strlen(pairs[i][0]) / 2, len = 99;
		char text[MT_BASE58_ENCODED_SIZE(64)];
		mt_test_hex(bytes, n, pairs[i][0]);
		assert_int_equal(mt_base58_encode(text, sizeof text, bytes, n), 0);
		assert_string_equal(text, pairs[i][1]);
		assert_int_equal(mt_base58_decode(back, sizeof back, &len, pairs[i][1], NULL), 0);
		assert_int_equal(len, n);
		assert_memory_equal(back, bytes, n);
	}
	const unsigned char hello[] = "Hello World!";
	char text[32];
	assert_int_equal(mt_base58_encode(text, sizeof text, hello, 12), 0);
	assert_string_equal(text, "2NEpo7TZRRrLZSi2U");
}

/* Random round trips, with 0..5 leading zero bytes and lengths up to the max. */
static void test_base58_roundtrip(void **state)
{
	(void)state;
	for (int iter = 0; iter < 2000; iter++) {
		unsigned char bytes[MT_BASE58_MAX_BYTES], back[MT_BASE58_MAX_BYTES];
		char text[MT_BASE58_ENCODED_SIZE(MT_BASE58_MAX_BYTES)];
		size_t n = randombytes_uniform(MT_BASE58_MAX_BYTES + 1), len = 0;
		size_t zeros = randombytes_uniform(6);
		randombytes_buf(bytes, n);
		for (size_t z = 0; z < zeros && z < n; z++)
			bytes[z] = 0;
		assert_int_equal(mt_base58_encode(text, sizeof text, bytes, n), 0);
		assert_true(strlen(text) <= MT_BASE58_MAX_CHARS);
		size_t ones = strspn(text, "1");
		size_t lead = 0;
		while (lead < n && bytes[lead] == 0)
			lead++;
		assert_int_equal(ones, lead);
		assert_int_equal(mt_base58_decode(back, sizeof back, &len, text, NULL), 0);
		assert_int_equal(len, n);
		assert_memory_equal(back, bytes, n);
	}
	/* The largest input is exactly at the decoder's character limit. */
	unsigned char ff[MT_BASE58_MAX_BYTES], back[MT_BASE58_MAX_BYTES + 1];
	char text[MT_BASE58_ENCODED_SIZE(MT_BASE58_MAX_BYTES)];
	size_t len = 0;
	memset(ff, 0xff, sizeof ff);
	assert_int_equal(mt_base58_encode(text, sizeof text, ff, sizeof ff), 0);
	assert_int_equal(strlen(text), MT_BASE58_MAX_CHARS);
	assert_int_equal(mt_base58_decode(back, sizeof back, &len, text, NULL), 0);
	assert_int_equal(len, sizeof ff);
	assert_memory_equal(back, ff, sizeof ff);
}

static void test_base58_errors(void **state)
{
	(void)state;
	unsigned char bytes[MT_BASE58_MAX_BYTES + 1] = {0x61};
	unsigned char out[8];
	char text[MT_BASE58_MAX_CHARS + 2];
	size_t len = 42;
	mt_error err = {0};

	/* The four look-alike letters are not in the alphabet. */
	const char *bad[] = {"2g0", "2gO", "2gI", "2gl", "2g+", "2g-"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(mt_base58_decode(out, sizeof out, &len, bad[i], &err), MT_EINVAL);
		assert_int_equal(len, 0);
		char want[64];
		snprintf(want, sizeof want, "bad base58 character '%c' at position 2", bad[i][2]);
		assert_string_equal(err.msg, want);
	}
	/* Over the length limit, and output buffer too small. */
	memset(text, '2', MT_BASE58_MAX_CHARS + 1);
	text[MT_BASE58_MAX_CHARS + 1] = '\0';
	assert_int_equal(mt_base58_decode(out, sizeof out, &len, text, &err), MT_ETOOBIG);
	assert_contains(err.msg, "longer than 128 characters");
	assert_int_equal(mt_base58_decode(out, 1, &len, "2g2g", &err), MT_ETOOBIG);
	assert_int_equal(len, 0);
	assert_int_equal(mt_base58_decode(out, 2, &len, "111", &err), MT_ETOOBIG);
	assert_int_equal(mt_base58_decode(out, 3, &len, "111", &err), 0);
	assert_int_equal(len, 3);

	assert_int_equal(mt_base58_encode(text, sizeof text, bytes, MT_BASE58_MAX_BYTES + 1),
	                 MT_ETOOBIG);
	assert_int_equal(mt_base58_encode(text, 2, bytes, 1), MT_ETOOBIG);
	assert_string_equal(text, "");
	assert_int_equal(mt_base58_encode(text, 3, bytes, 1), 0);
	assert_string_equal(text, "2g");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_is_idempotent), cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_generate),           cmocka_unit_test(test_parse_malformed),
	    cmocka_unit_test(test_parse_no_checksum),  cmocka_unit_test(test_hex),
	    cmocka_unit_test(test_base58_known),       cmocka_unit_test(test_base58_roundtrip),
	    cmocka_unit_test(test_base58_errors),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
