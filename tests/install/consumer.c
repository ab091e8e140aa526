/* A program outside the tree that uses an installed libmeshtrust: built by
 * tests/install/test_install.py in a temp dir with nothing but
 * `cc consumer.c $(pkg-config --cflags --libs meshtrust)` (and --static).
 *
 * usage: consumer SEED_HEX — prints, one per line:
 *   node_id ID / did DID       of the key pair of SEED (64 hex)
 *   fresh ok                   a generated key pair's Node ID is valid
 *   canon JSON                 a jansson tree written canonically
 *   stmt ID                    a trust statement signed by SEED's key, decoded and verified
 *   tampered refused CODE      the same bytes with one signature byte changed
 * Exit 0 when every step did what the header says, 1 otherwise. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "meshtrust/canon.h"
#include "meshtrust/encoding.h"
#include "meshtrust/error.h"
#include "meshtrust/identity.h"
#include "meshtrust/statement.h"

static int fail(const char *what, const mt_error *err)
{
	fprintf(stderr, "consumer: %s: %s\n", what, err ? err->msg : "failed");
	return 1;
}

int main(int argc, char **argv)
{
	mt_error err = {0};
	unsigned char seed[32];
	if (argc != 2)
		return fail("usage: consumer SEED_HEX", NULL);
	if (mt_identity_init() != 0)
		return fail("mt_identity_init", NULL);
	if (mt_hex_decode(seed, sizeof seed, argv[1], &err) != 0)
		return fail("seed", &err);

	mt_keypair kp, fresh, other;
	char id[MT_NODE_ID_MAX], did[MT_DID_MAX], fresh_id[MT_NODE_ID_MAX], other_id[MT_NODE_ID_MAX];
	if (mt_keypair_from_seed(&kp, seed) != 0 || mt_keypair_generate(&fresh) != 0)
		return fail("key pair", NULL);
	mt_node_id_encode(id, kp.pk);
	mt_did_encode(did, kp.pk);
	printf("node_id %s\ndid %s\n", id, did);
	mt_node_id_encode(fresh_id, fresh.pk);
	if (!mt_node_id_valid(fresh_id) || strncmp(fresh_id, "12D3KooW", 8) != 0)
		return fail("fresh Node ID", NULL);
	printf("fresh ok\n");

	/* Keys out of order, a non-ASCII string and a control character. */
	json_t *tree = json_pack("{s:i, s:s, s:[s, s]}", "score", 800, "note", "caf\xc3\xa9\x01",
				 "labels", "b", "a");
	char *canon = NULL;
	size_t canon_len = 0;
	if (!tree || mt_canon_dump(&canon, &canon_len, tree, &err) != 0)
		return fail("mt_canon_dump", &err);
	if (mt_canon_check(canon, canon_len, &err) != 0)
		return fail("mt_canon_check", &err);
	printf("canon %s\n", canon);
	free(canon);
	json_decref(tree);

	unsigned char other_seed[32];
	memset(other_seed, 7, sizeof other_seed);
	if (mt_keypair_from_seed(&other, other_seed) != 0)
		return fail("other key pair", NULL);
	mt_node_id_encode(other_id, other.pk);
	json_t *body = json_pack("{s:s, s:s, s:s, s:i, s:s}", "type", "trust", "target", other_id,
				 "level", "full", "score", 800, "scope", "coop:food");
	mt_stmt *st = NULL, *back = NULL;
	const int64_t ts = 1700000000;
	if (!body || mt_stmt_sign(&st, body, &kp, 1, NULL, ts, &err) != 0)
		return fail("mt_stmt_sign", &err);
	json_decref(body);
	if (mt_stmt_decode(&back, st->canon, st->canon_len, ts, &err) != 0)
		return fail("mt_stmt_decode", &err);
	char sid[65], back_id[65];
	mt_stmt_id_hex(sid, st);
	mt_stmt_id_hex(back_id, back);
	if (strcmp(sid, back_id) != 0 || strcmp(back->iss, id) != 0)
		return fail("decoded statement differs", NULL);
	printf("stmt %s\n", sid);

	/* One signature byte changed: still canonical, no longer valid. */
	char *bad = malloc(st->canon_len + 1);
	if (bad)
		memcpy(bad, st->canon, st->canon_len + 1);
	char *sig = bad ? strstr(bad, "\"sig\":\"") : NULL;
	if (!sig)
		return fail("no sig in the statement", NULL);
	sig += 7;
	sig[10] = sig[10] == 'A' ? 'B' : 'A';
	mt_stmt *forged = NULL;
	int rc = mt_stmt_decode(&forged, bad, strlen(bad), ts, &err);
	if (rc == 0 || forged)
		return fail("a tampered statement verified", NULL);
	printf("tampered refused %d\n", rc);

	free(bad);
	mt_stmt_free(st);
	mt_stmt_free(back);
	mt_keypair_wipe(&kp);
	mt_keypair_wipe(&fresh);
	mt_keypair_wipe(&other);
	return 0;
}
