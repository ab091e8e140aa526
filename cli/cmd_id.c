/* mesh init, mesh id */
#include <getopt.h>
#include <sodium.h>
#include <string.h>

#include "cli.h"
#include "meshtrust/encoding.h"

#define INIT_USAGE "mesh init [--seed-file FILE] [--passphrase-file FILE]"

int cmd_init(mesh_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{"seed-file", required_argument, 0, 's'},
					     {"passphrase-file", required_argument, 0, 'p'},
					     {"help", no_argument, 0, 'h'},
					     {0, 0, 0, 0}};
	const char *seed_file = NULL, *pass_file = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': seed_file = optarg; break;
		case 'p': pass_file = optarg; break;
		case 'h':
			printf("usage: %s\n\nCreate this node's Ed25519 identity in $MESH_HOME "
			       "(0700) as identity.key (0600).\nRefuses to overwrite an existing key; "
			       "issues no statement.\n\n"
			       "  --seed-file FILE        restore from a 32-byte seed in hex (a backup)\n"
			       "  --passphrase-file FILE  encrypt the key (Argon2id + "
			       "XChaCha20-Poly1305)\n",
			       INIT_USAGE);
			return EXIT_OK;
		default: return mesh_usage(INIT_USAGE, "bad option");
		}
	}
	if (optind < argc)
		return mesh_usage(INIT_USAGE, "unexpected argument \"%s\"", argv[optind]);
	mt_error err = {0};
	mt_keypair kp;
	char *pass = NULL;
	int rc = EXIT_FAIL;
	if (seed_file) {
		unsigned char seed[32];
		if (mt_seed_file_read(seed, seed_file, &err) != 0)
			return mesh_fail_err(&err);
		mt_keypair_from_seed(&kp, seed);
		sodium_memzero(seed, sizeof seed);
	} else if (mt_keypair_generate(&kp) != 0) {
		return mesh_fail("could not generate a key");
	}
	if (!pass_file)
		pass_file = ctx->passphrase_file;
	if (pass_file && mt_passphrase_file_read(&pass, pass_file, &err) != 0) {
		mesh_fail_err(&err);
		goto done;
	}
	if (mt_keyfile_write(ctx->home, &kp, pass, &err) != 0) {
		mesh_fail_err(&err);
		goto done;
	}
	char id[MT_NODE_ID_MAX];
	mt_node_id_encode(id, kp.pk);
	printf("created identity %s in %s%s\n", id, ctx->home, pass ? " (encrypted)" : "");
	rc = EXIT_OK;
done:
	mt_passphrase_free(pass);
	mt_keypair_wipe(&kp);
	return rc;
}

#define ID_USAGE "mesh id [--json]"

int cmd_id(mesh_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	int json = 0, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else if (c == 'h') {
			printf("usage: %s\n\nShow this node's Node ID, DID and public key.\n",
			       ID_USAGE);
			return EXIT_OK;
		} else
			return mesh_usage(ID_USAGE, "bad option");
	}
	if (optind < argc)
		return mesh_usage(ID_USAGE, "unexpected argument \"%s\"", argv[optind]);
	mt_error err = {0};
	unsigned char pk[32];
	int rc = mesh_check_home(ctx);
	if (rc)
		return rc;
	if (mt_keyfile_read_public(pk, ctx->home, &err) != 0)
		return mesh_fail_err(&err);
	char id[MT_NODE_ID_MAX], did[MT_DID_MAX], hex[65];
	mt_node_id_encode(id, pk);
	mt_did_encode(did, pk);
	mt_hex_encode(hex, sizeof hex, pk, 32);
	if (json)
		return mesh_print_json(
			json_pack("{s:s,s:s,s:s}", "node_id", id, "did", did, "public_key", hex));
	printf("%s\n%s\n", id, did);
	return EXIT_OK;
}
