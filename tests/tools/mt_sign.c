/* mt-sign: hand-made statements for the integration tests (not installed).
 *
 * The tests need statements that `mesh` refuses to make — a rotate signed by
 * a key that no commitment names, a legacy rotate on a committed feed, a
 * statement whose ts goes back — to show that other nodes give them no
 * effect. This tool signs whatever body it is given, with the library's own
 * signer (so the statement is well formed and verifies), and prints its
 * canonical line.
 *
 *   mt-sign (--home DIR | --seed-file FILE) --seq N [--prev HEX] --ts T
 *           [--iss ID] [--newsig-seed FILE] BODY_JSON
 *   mt-sign id --seed-file FILE        the Node ID of a seed
 *   mt-sign next --seed-file FILE      hex BLAKE2b-256 of its public key
 *
 * --iss ID signs for another issuer (the pre-rotation rotate: the key named
 * by `new` signs for the old ID); --newsig-seed adds the legacy rotate's
 * `newsig` made by that key. Exit 0, or 1 with the reason on stderr. */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/encoding.h"
#include "meshtrust/identity.h"
#include "meshtrust/statement.h"

static int fail(const char *what, const char *msg)
{
	fprintf(stderr, "mt-sign: %s: %s\n", what, msg);
	return 1;
}

static int load_seed(mt_keypair *kp, const char *path)
{
	unsigned char seed[32];
	mt_error err = {0};
	if (mt_seed_file_read(seed, path, &err) != 0)
		return fail(path, err.msg);
	mt_keypair_from_seed(kp, seed);
	return 0;
}

int main(int argc, char **argv)
{
	if (mt_identity_init() != 0)
		return fail("libsodium", "init failed");
	const char *home = NULL, *seed = NULL, *prev = NULL, *iss = NULL, *newsig_seed = NULL;
	const char *body_text = NULL, *mode = NULL;
	long long seq = 0, ts = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--home") && v)
			home = argv[++i];
		else if (!strcmp(a, "--seed-file") && v)
			seed = argv[++i];
		else if (!strcmp(a, "--prev") && v)
			prev = argv[++i];
		else if (!strcmp(a, "--iss") && v)
			iss = argv[++i];
		else if (!strcmp(a, "--newsig-seed") && v)
			newsig_seed = argv[++i];
		else if (!strcmp(a, "--seq") && v)
			seq = atoll(argv[++i]);
		else if (!strcmp(a, "--ts") && v)
			ts = atoll(argv[++i]);
		else if (i == 1 && (!strcmp(a, "id") || !strcmp(a, "next")))
			mode = a;
		else if (!body_text && a[0] != '-')
			body_text = a;
		else
			return fail("usage", "see the comment at the top of tests/tools/mt_sign.c");
	}
	mt_keypair kp;
	mt_error err = {0};
	if (seed) {
		if (load_seed(&kp, seed))
			return 1;
	} else if (home) {
		if (mt_keyfile_read(&kp, home, NULL, &err) != 0)
			return fail(home, err.msg);
	} else {
		return fail("usage", "--home DIR or --seed-file FILE");
	}
	if (mode && !strcmp(mode, "id")) {
		char id[MT_NODE_ID_MAX];
		mt_node_id_encode(id, kp.pk);
		puts(id);
		return 0;
	}
	if (mode) {
		unsigned char h[32];
		char hex[65];
		mt_blake2b256(h, kp.pk, 32);
		mt_hex_encode(hex, sizeof hex, h, 32);
		puts(hex);
		return 0;
	}
	if (!body_text || seq < 1 || ts < 0)
		return fail("usage", "BODY_JSON, --seq N >= 1 and --ts T are needed");
	json_error_t je;
	json_t *body = json_loads(body_text, 0, &je);
	if (!body)
		return fail("BODY_JSON", je.text);
	if (newsig_seed) {
		mt_keypair nk;
		if (load_seed(&nk, newsig_seed))
			return 1;
		char me[MT_NODE_ID_MAX], them[MT_NODE_ID_MAX], msg[256], sig[87];
		mt_node_id_encode(me, kp.pk);
		mt_node_id_encode(them, nk.pk);
		int n = snprintf(msg, sizeof msg, "mesh/v1/rotate\n%s\n%s", iss ? iss : me, them);
		unsigned char raw[64];
		crypto_sign_detached(raw, NULL, (const unsigned char *)msg, (size_t)n, nk.sk);
		mt_sig_encode(sig, raw);
		json_object_set_new(body, "newsig", json_string(sig));
	}
	unsigned char prevb[32];
	if (prev && mt_hex_decode(prevb, 32, prev, &err) != 0)
		return fail("--prev", err.msg);
	mt_stmt *st = NULL;
	int rc = iss ? mt_stmt_sign_for(&st, body, iss, &kp, (uint64_t)seq, prev ? prevb : NULL,
					(int64_t)ts, &err)
		     : mt_stmt_sign(&st, body, &kp, (uint64_t)seq, prev ? prevb : NULL, (int64_t)ts,
				    &err);
	json_decref(body);
	if (rc)
		return fail("sign", err.msg);
	fwrite(st->canon, 1, st->canon_len, stdout);
	putchar('\n');
	mt_stmt_free(st);
	return 0;
}
