/* mesh init, mesh id */
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "keyutil.h"
#include "opts.h"
#include "meshtrust/encoding.h"

static const mesh_opt INIT_OPTS[] = {
	{"seed-file", MESH_ARG, "FILE", "restore from a 32-byte seed in hex (a backup)", 's'},
	{"passphrase-file", MESH_ARG, "FILE", "encrypt the key (Argon2id + XChaCha20-Poly1305)", 'p'},
	{"store", MESH_ARG, "URL",
	 "the store this home opens: sqlite:PATH, PATH or postgresql://… (recorded in\n"
	 "<home>/store.url; default the home's trust.db)", 'S'},
	{"new-feed", MESH_NOARG, NULL,
	 "with --seed-file: start a new feed for the restored identity on purpose\n"
	 "instead of waiting for its feed (`mesh log import`, `mesh sync`)", 'n'},
	MESH_OPT_END};
static const mesh_spec INIT_SPEC = {
	"mesh init [--seed-file FILE [--new-feed]] [--passphrase-file FILE] [--store URL]",
	"Create this node's Ed25519 identity in $MESH_HOME (0700) as identity.key (0600),\n"
	"and its committed next key as next.key (0600, same format and passphrase):\n"
	"the one backup the identity needs (it rotates or recovers the identity when\n"
	"identity.key is stolen or lost). Move next.key offline. The first statement\n"
	"this home issues is preceded by the commitment to it (a `key` statement).\n"
	"Refuses to overwrite an existing key; issues no statement.\n\n"
	"With --seed-file the identity is restored and the home does not know its own\n"
	"feed: commands that sign refuse until `mesh log import` or `mesh sync` brings\n"
	"it (no next.key is written: the feed already holds its commitment). With\n"
	"--new-feed it starts a new feed instead (and writes a fresh next.key); given\n"
	"again on a home already restored from the same seed, it ends the wait.",
	INIT_OPTS, 0, 0, NULL, NULL};

/* `mesh init --seed-file F --new-feed` on a home already restored from F: end
 * the wait for the feed (on purpose). Returns -1 when that is not the case. */
static int init_end_restore(mesh_ctx *ctx, const mt_keypair *kp)
{
	unsigned char pk[32];
	mt_error err = {0};
	if (!mesh_restore_pending(ctx) || mt_keyfile_read_public(pk, ctx->home, &err) != 0 ||
	    sodium_memcmp(pk, kp->pk, 32) != 0)
		return -1;
	mesh_restore_clear(ctx);
	char id[MT_NODE_ID_MAX];
	mt_node_id_encode(id, pk);
	printf("%s in %s starts a new feed (restore wait ended on purpose)\n", id, ctx->home);
	return EXIT_OK;
}

int cmd_init(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int prc = mesh_parse_args(&INIT_SPEC, argc, argv, &a);
	if (prc != MESH_ARGS_RUN)
		return prc;
	const char *seed_file = mesh_args_get(&a, 's', NULL);
	const char *pass_file = mesh_args_get(&a, 'p', NULL);
	int new_feed = mesh_args_count(&a, 'n') > 0;
	const char *store_url = mesh_args_get(&a, 'S', NULL);
	if (store_url && !mt_store_url_kind(store_url))
		return mesh_usage(INIT_SPEC.usage,
				  "--store: \"%.200s\" is not a store URL (sqlite:PATH, PATH or "
				  "postgresql://…)",
				  store_url);
	if (new_feed && !seed_file)
		return mesh_usage(INIT_SPEC.usage, "--new-feed goes with --seed-file (a new "
						   "identity always starts a new feed)");
	/* Restoring an identity whose feed exists elsewhere: no next key (its
	 * feed holds its commitment), and no signing until the feed is here. */
	int restore = seed_file && !new_feed;
	mt_error err = {0};
	mt_keypair kp, next;
	char *pass = NULL;
	char next_path[4200];
	int rc = EXIT_FAIL;
	memset(&next, 0, sizeof next);
	if (seed_file) {
		unsigned char seed[32];
		if (mt_seed_file_read(seed, seed_file, &err) != 0)
			return mesh_fail_err(&err);
		mt_keypair_from_seed(&kp, seed);
		sodium_memzero(seed, sizeof seed);
		if (new_feed && (rc = init_end_restore(ctx, &kp)) != -1) {
			mt_keypair_wipe(&kp);
			return rc;
		}
		rc = EXIT_FAIL;
	} else if (mt_keypair_generate(&kp) != 0) {
		return mesh_fail("could not generate a key");
	}
	if (!restore && mt_keypair_generate(&next) != 0) {
		mesh_fail("could not generate a key");
		goto done;
	}
	mesh_home_file(next_path, sizeof next_path, ctx, MT_NEXTKEY_NAME);
	char id_path[4200];
	mesh_home_file(id_path, sizeof id_path, ctx, MT_KEYFILE_NAME);
	struct stat st;
	if (lstat(id_path, &st) == 0) {
		/* The same refusal as the writer's, before next.key is looked at. */
		mesh_fail("%s: an identity key already exists; refusing to overwrite it", id_path);
		goto done;
	}
	if (!restore && lstat(next_path, &st) == 0) {
		/* It may be the only backup of some identity: never replaced. */
		mesh_fail("%s exists (the next key of an identity): move it away first; it is "
			  "never overwritten",
			  next_path);
		goto done;
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
	if (store_url) { /* checked now: a store that does not open is said at once */
		mt_store *st = NULL;
		if (mt_store_url_record(ctx->home, store_url, &err) != 0 ||
		    mt_store_open_url(&st, store_url, &err) != 0) {
			mesh_fail("identity created, but the store %s: %s (fix it, then `mesh init "
				  "--store` is not needed again: edit %s/store.url)",
				  store_url, err.msg, ctx->home);
			goto done;
		}
		mt_store_close(st);
	}
	if (restore) {
		if ((rc = mesh_restore_mark(ctx)) != EXIT_OK)
			goto done;
		printf("restored identity %s in %s%s\n", id, ctx->home, pass ? " (encrypted)" : "");
		printf("this home does not know the feed of %s yet: bring it with `mesh log import "
		       "FILE` or `mesh sync` before signing anything (see `mesh key status`)\n",
		       id);
		rc = EXIT_OK;
		goto done;
	}
	if (mt_keyfile_create_at(next_path, &next, pass, NULL, &err) != 0) {
		mesh_fail("identity created, but the next key could not be written: %s (run "
			  "`mesh key commit` to make one)",
			  err.msg);
		goto done;
	}
	printf("created identity %s in %s%s\n", id, ctx->home, pass ? " (encrypted)" : "");
	printf("next key written to %s: move it OFFLINE (a USB stick, a safe, or `mesh key "
	       "backup` to paper).\nIt is the one backup this identity needs: it rotates it "
	       "away from a stolen identity.key and recovers it from a lost one.\n",
	       next_path);
	rc = EXIT_OK;
done:
	mt_passphrase_free(pass);
	mt_keypair_wipe(&kp);
	mt_keypair_wipe(&next);
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
