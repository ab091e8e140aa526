/* mesh init, mesh id */
#include <sodium.h>
#include <string.h>

#include "cli.h"
#include "opts.h"
#include "meshtrust/encoding.h"

static const mesh_opt INIT_OPTS[] = {
	{"seed-file", MESH_ARG, "FILE", "restore from a 32-byte seed in hex (a backup)", 's'},
	{"passphrase-file", MESH_ARG, "FILE", "encrypt the key (Argon2id + XChaCha20-Poly1305)", 'p'},
	MESH_OPT_END};
static const mesh_spec INIT_SPEC = {
	"mesh init [--seed-file FILE] [--passphrase-file FILE]",
	"Create this node's Ed25519 identity in $MESH_HOME (0700) as identity.key (0600).\n"
	"Refuses to overwrite an existing key; issues no statement.",
	INIT_OPTS, 0, 0, NULL, NULL};

int cmd_init(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int prc = mesh_parse_args(&INIT_SPEC, argc, argv, &a);
	if (prc != MESH_ARGS_RUN)
		return prc;
	const char *seed_file = mesh_args_get(&a, 's', NULL);
	const char *pass_file = mesh_args_get(&a, 'p', NULL);
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

static const mesh_opt ID_OPTS[] = {MESH_OPT_JSON, MESH_OPT_END};
static const mesh_spec ID_SPEC = {"mesh id [--json]", "Show this node's Node ID, DID and public key.",
				  ID_OPTS, 0, 0, NULL, NULL};

int cmd_id(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int prc = mesh_parse_args(&ID_SPEC, argc, argv, &a);
	if (prc != MESH_ARGS_RUN)
		return prc;
	int json = mesh_args_count(&a, 'j') > 0;
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
