/* mesh key status|commit|rotate|recover|backup|passwd (SPEC §9.2).
 *
 * Files of a home: identity.key (the signing key), next.key (the committed
 * next key, same format; it belongs offline), identity.key.old-<ID prefix>
 * and next.key.old-<ID prefix> (what a rotation replaced, never deleted),
 * restore-pending (keyutil.h). A rotation writes the new identity.key and
 * next.key durably under temporary names (.identity.key.XXXXXX,
 * .next.key.XXXXXX) before the statement that names the fresh next key is
 * stored, and renames them into place after, so a crash at any point leaves
 * every key on disk. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "keyutil.h"
#include "opts.h"
#include "meshtrust/encoding.h"

#define PATHSZ 4200

/* ---- helpers ------------------------------------------------------------------- */

/* The passphrase identity.key was opened with (NULL when it is plain);
 * after mesh_load_key(). */
static int identity_pass(mesh_ctx *ctx, char **out)
{
	char path[PATHSZ];
	mt_error err = {0};
	int enc = 0;
	*out = NULL;
	if (mt_keyfile_is_encrypted(&enc, ctx->home, &err) != 0)
		return mesh_fail_err(&err);
	if (!enc)
		return EXIT_OK;
	mesh_home_file(path, sizeof path, ctx, MT_KEYFILE_NAME);
	return mesh_passphrase_for(ctx, path, 0, out);
}

/* A committed next key from `path`: a key file in identity.key's format, or a
 * seed backup (what `mesh key backup` prints). *pass receives the passphrase
 * that opened it (NULL when plain). */
static int load_next_key(mesh_ctx *ctx, const char *path, mt_keypair *kp, char **pass)
{
	mt_error err = {0};
	int enc = 0;
	*pass = NULL;
	int rc = mt_keyfile_is_encrypted_at(&enc, path, &err);
	if (rc == MT_EINVAL && strstr(err.msg, "malformed key file")) {
		unsigned char seed[32];
		mt_error serr = {0};
		if (mt_seed_file_read(seed, path, &serr) == 0) {
			rc = mt_keypair_from_seed(kp, seed);
			sodium_memzero(seed, sizeof seed);
			return rc ? mesh_fail("%s: cannot derive the key pair", path) : EXIT_OK;
		}
		return mesh_fail("%s: neither a key file nor a seed backup (%s)", path, err.msg);
	}
	if (rc != 0)
		return mesh_fail_err(&err);
	return mesh_read_keyfile(ctx, path, kp, pass);
}

static void free_pass(char **p)
{
	mt_passphrase_free(*p);
	*p = NULL;
}

/* Keep the file at `path` as `<path>.old-<prefix>` (a hard link: never
 * overwrites; -2, -3 … when the name is taken). `kept` receives the name. */
static int keep_old(const char *path, const char *id, char *kept, size_t keptsz)
{
	for (int k = 1; k < 100; k++) {
		if (k == 1)
			snprintf(kept, keptsz, "%s.old-%.16s", path, id);
		else
			snprintf(kept, keptsz, "%s.old-%.16s-%d", path, id, k);
		if (link(path, kept) == 0)
			return EXIT_OK;
		if (errno != EEXIST)
			return mesh_fail("cannot keep %s as %s: %s", path, kept, strerror(errno));
	}
	return mesh_fail("cannot keep %s: too many old copies beside it", path);
}

/* The rotate of `old_id` into `new_id` that the store holds and that waits
 * for the new feed's `key` (a rotation interrupted before its second
 * statement): its id, found by a walk of the old feed. */
struct find_rotate {
	const char *new_id;
	unsigned char id[32];
	int found;
};

static int find_rotate_cb(const char *iss, uint64_t seq, const char *canon, size_t len,
			  void *payload)
{
	struct find_rotate *f = payload;
	mt_stmt *st = NULL;
	(void)iss;
	(void)seq;
	if (mt_stmt_parse(&st, canon, len, INT64_MAX, NULL) != 0)
		return 0;
	if (st->type == MT_ST_ROTATE && mt_stmt_is_prerotate(st)) {
		const char *nw = mt_stmt_str(st, "new");
		if (nw && strcmp(nw, f->new_id) == 0) {
			memcpy(f->id, st->id, 32);
			f->found = 1;
		}
	}
	mt_stmt_free(st);
	return 0;
}

/* The rotation itself, shared by rotate and recover: `next_kp` (checked
 * against the commitment of `old_id` by the caller) signs the rotate of
 * `old_id` keeping seq `last_good` (0: the applied head) and the new feed's
 * `key` {next: a fresh key, from: the rotate}; then identity.key becomes
 * `next_kp` and next.key the fresh key, both written with `pass` (NULL:
 * plain). What they replace is kept as *.old-<ID prefix>. */
static int do_rotate(mesh_ctx *ctx, const char *old_id, const mt_key_status *ks,
		     const mt_keypair *next_kp, uint64_t last_good, const char *pass,
		     int recovering, int json)
{
	char idpath[PATHSZ], nextpath[PATHSZ], tmp_id[PATHSZ], tmp_next[PATHSZ];
	char new_id[MT_NODE_ID_MAX], fresh_id[MT_NODE_ID_MAX], rot_hex[65], next_hex[65];
	mt_keypair fresh;
	mt_error err = {0};
	mt_stmt *rot = NULL, *key = NULL;
	int rc = EXIT_FAIL, staged = 0;
	unsigned char rot_id[32];

	mesh_home_file(idpath, sizeof idpath, ctx, MT_KEYFILE_NAME);
	mesh_home_file(nextpath, sizeof nextpath, ctx, MT_NEXTKEY_NAME);
	mt_node_id_encode(new_id, next_kp->pk);
	if (mt_keypair_generate(&fresh) != 0)
		return mesh_fail("could not generate a key");
	mt_node_id_encode(fresh_id, fresh.pk);

	/* 1. Both new key files on disk, durable, under temporary names. */
	if (mt_keyfile_stage(tmp_id, sizeof tmp_id, idpath, next_kp, pass, NULL, &err) != 0) {
		rc = mesh_fail_err(&err);
		goto done;
	}
	if (mt_keyfile_stage(tmp_next, sizeof tmp_next, nextpath, &fresh, pass, NULL, &err) != 0) {
		unlink(tmp_id);
		rc = mesh_fail_err(&err);
		goto done;
	}
	staged = 1;

	/* 2. The rotate (or the one an interrupted run left waiting). */
	if (ks->rotate_pending) {
		struct find_rotate f = {new_id, {0}, 0};
		if (mt_store_foreach(ctx->store, old_id, find_rotate_cb, &f, &err) != 0) {
			rc = mesh_fail_err(&err);
			goto done;
		}
		if (!f.found) {
			rc = mesh_fail("a rotate of %s into another key is already held (pending): a "
				       "second one would contest it and end the identity",
				       old_id);
			goto done;
		}
		memcpy(rot_id, f.id, 32);
		fprintf(stderr, "mesh: resuming the rotation of %s into %s held here\n", old_id,
			new_id);
	} else {
		/* One explicit transaction: the rotate is stored whole or not at all. */
		if (mt_store_begin(ctx->store, &err) != 0) {
			rc = mesh_fail_err(&err);
			goto done;
		}
		if (mt_store_issue_rotate(ctx->store, &rot, old_id, next_kp, last_good, ctx->now,
					  &err) != 0) {
			mt_store_rollback(ctx->store);
			rc = mesh_fail("rotate refused: %s", err.msg);
			goto done;
		}
		if (mt_store_commit(ctx->store, &err) != 0) {
			mt_store_rollback(ctx->store);
			rc = mesh_fail_err(&err);
			goto done;
		}
		memcpy(rot_id, rot->id, 32);
	}
	mt_hex_encode(rot_hex, sizeof rot_hex, rot_id, 32);

	/* 3. The new feed's first statement: its own commitment, naming the rotate. */
	mesh_key_commitment(next_hex, fresh.pk);
	json_t *body = json_pack("{s:s,s:s,s:s}", "type", "key", "next", next_hex, "from", rot_hex);
	if (!body) {
		rc = mesh_fail("out of memory");
		goto done;
	}
	int r = mt_store_issue(ctx->store, &key, body, next_kp, ctx->now, &err);
	json_decref(body);
	if (r != 0) {
		rc = mesh_fail("the rotate %s is stored, but the new feed's key statement failed: "
			       "%s. Nothing else changed; run the same command again to finish "
			       "(it resumes)",
			       rot_hex, err.msg);
		goto done;
	}

	/* 4. The files: keep what is replaced, then rename the new ones in. */
	char kept_id[PATHSZ + 40] = "", kept_next[PATHSZ + 40] = "";
	unsigned char pk[32];
	int have_id = mt_keyfile_read_public_at(pk, idpath, &err) == 0;
	int id_is_next = have_id && sodium_memcmp(pk, next_kp->pk, 32) == 0;
	char cur_id[MT_NODE_ID_MAX];
	if (have_id)
		mt_node_id_encode(cur_id, pk);
	if (have_id && !id_is_next && keep_old(idpath, cur_id, kept_id, sizeof kept_id))
		goto files_failed;
	if (mt_keyfile_read_public_at(pk, nextpath, &err) == 0 &&
	    sodium_memcmp(pk, next_kp->pk, 32) != 0 &&
	    keep_old(nextpath, have_id ? cur_id : old_id, kept_next, sizeof kept_next))
		goto files_failed;
	if (id_is_next) {
		unlink(tmp_id);
	} else if (mt_keyfile_install(tmp_id, idpath, 1, &err) != 0) {
		mesh_fail_err(&err);
		goto files_failed;
	}
	if (mt_keyfile_install(tmp_next, nextpath, 1, &err) != 0) {
		mesh_fail_err(&err);
		tmp_id[0] = '\0';
		goto files_failed;
	}
	staged = 0;
	if (recovering)
		mesh_restore_clear(ctx);

	if (json) {
		char key_hex[65];
		mt_stmt_id_hex(key_hex, key);
		json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:s,s:s,s:s}", "old", old_id, "new", new_id,
				      "rotate", rot_hex, "rotate_seq",
				      (json_int_t)(rot ? rot->seq : ks->head_seq + 1), "key", key_hex,
				      "identity_key", idpath, "next_key", nextpath);
		if (o && kept_id[0])
			json_object_set_new(o, "kept_identity_key", json_string(kept_id));
		if (o && kept_next[0])
			json_object_set_new(o, "kept_next_key", json_string(kept_next));
		mesh_print_json(o);
		fprintf(stderr,
			"mesh: a NEW next key was written to %s: SAVE IT OFFLINE NOW, then delete it "
			"here; it is the only way to rotate or recover %s\n",
			nextpath, new_id);
		rc = EXIT_OK;
		goto done;
	}
	printf("%s %s -> %s\n", recovering ? "recovered" : "rotated", old_id, new_id);
	printf("rotate: %s seq %llu; new feed: %s seq 1 (key)\n", old_id,
	       (unsigned long long)(rot ? rot->seq : ks->head_seq + 1), new_id);
	printf("identity.key now holds %s%s%s\n", new_id, kept_id[0] ? "; the old one is kept as " : "",
	       kept_id);
	if (kept_next[0])
		printf("the previous next.key is kept as %s\n", kept_next);
	printf("\n*** A NEW next key was written to %s. ***\n"
	       "SAVE IT OFFLINE NOW (copy it to offline storage, or `mesh key backup --out FILE`),\n"
	       "then delete it here: it is the only way to rotate or recover %s.\n",
	       nextpath, new_id);
	fprintf(stderr, "mesh: save %s offline now (see above)\n", nextpath);
	rc = EXIT_OK;
	goto done;

files_failed:
	fprintf(stderr,
		"mesh: the rotation is stored but the key files could not all be moved into "
		"place.\nmesh: the new identity key (%s) is in %s and its next key (%s) in %s: "
		"move them to %s and %s by hand; do not delete them\n",
		new_id, tmp_id[0] ? tmp_id : idpath, fresh_id, tmp_next, idpath, nextpath);
	staged = 0; /* never remove them now */
	rc = EXIT_FAIL;
done:
	if (staged) {
		unlink(tmp_id);
		unlink(tmp_next);
	}
	mt_stmt_free(rot);
	mt_stmt_free(key);
	mt_keypair_wipe(&fresh);
	return rc;
}

/* The commitment of `id` must be the hash of `pk`; else say why (this is what
 * stops a thief who holds identity.key only). */
static int check_commitment(const char *id, const mt_key_status *ks, const unsigned char pk[32],
			    const char *source)
{
	char have[65], key_id[MT_NODE_ID_MAX];
	if (!ks->commitment[0] && ks->held == 0)
		return mesh_fail("%s: no statement of it is held here, so no commitment: import "
				 "its feed first (`mesh log import FILE` or `mesh sync`)",
				 id);
	if (!ks->commitment[0] && ks->head_seq == 0)
		return EXIT_OK; /* forked at seq 1: the store takes the commitment from the
				   chain the rotate keeps (--last-good) and says why not */
	if (!ks->commitment[0])
		return mesh_fail("%s has no key commitment on its applied chain here (applied head "
				 "seq %llu of %llu held): nothing can rotate it%s",
				 id, (unsigned long long)ks->head_seq, (unsigned long long)ks->held,
				 ks->head_seq ? "; run `mesh key commit` while you still hold its key"
					      : "");
	mesh_key_commitment(have, pk);
	if (strcmp(have, ks->commitment) != 0) {
		mt_node_id_encode(key_id, pk);
		return mesh_fail("%s: this key (%s, BLAKE2b-256 %.16s…) is not the next key %s "
				 "committed to at seq %llu (%.16s…): refusing. Only the committed "
				 "next key can rotate an identity; identity.key alone cannot",
				 source, key_id, have, id, (unsigned long long)ks->commitment_seq,
				 ks->commitment);
	}
	if (ks->rotated_to[0])
		return mesh_fail("%s was already rotated to %s", id, ks->rotated_to);
	if (ks->contested)
		return mesh_fail("%s is contested (two rotates): it cannot be rotated again", id);
	return EXIT_OK;
}

/* ---- mesh key status ---------------------------------------------------------------- */

struct seqs {
	json_t *arr;
};

static int seq_cb(uint64_t seq, const unsigned char id[32], void *payload)
{
	struct seqs *s = payload;
	(void)id;
	json_array_append_new(s->arr, json_integer((json_int_t)seq));
	return 0;
}

/* Temporary key files an interrupted write left in the home. */
static int leftovers(const mesh_ctx *ctx, json_t *names)
{
	DIR *d = opendir(ctx->home);
	struct dirent *e;
	int n = 0;
	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (strncmp(e->d_name, ".identity.key.", 14) == 0 ||
		    strncmp(e->d_name, ".next.key.", 10) == 0) {
			json_array_append_new(names, json_string(e->d_name));
			n++;
		}
	closedir(d);
	return n;
}

static const mesh_opt STATUS_OPTS[] = {MESH_OPT_JSON, MESH_OPT_END};
static const mesh_spec STATUS_SPEC = {
	"mesh key status [--json]",
	"The key state of this home's identity: its commitment (the hash of the next\n"
	"key, SPEC §9.2) and the seq that made it, where next.key is (a warning while it\n"
	"sits beside identity.key), the rotation chain (rotated from / to, newest ID),\n"
	"contested and pending rotations, statements of the own feed this home did not\n"
	"sign (theft alarm), and a restore that waits for the own feed.",
	STATUS_OPTS, 0, 0, NULL, NULL};

static int key_status(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&STATUS_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	int json = mesh_args_count(&a, 'j') > 0;
	if ((rc = mesh_load_id(ctx)) || (rc = mesh_open_store(ctx)))
		return rc;
	const char *id = ctx->node_id;
	mt_key_status ks;
	mt_error err = {0};
	if (mt_store_key_status(ctx->store, id, &ks, &err) != 0)
		return mesh_fail_err(&err);
	struct seqs fs = {json_array()};
	uint64_t foreign = 0;
	if (mt_store_own_foreign(ctx->store, id, seq_cb, &fs, &foreign, &err) != 0) {
		json_decref(fs.arr);
		return mesh_fail_err(&err);
	}
	char nextpath[PATHSZ];
	unsigned char npk[32];
	mesh_home_file(nextpath, sizeof nextpath, ctx, MT_NEXTKEY_NAME);
	mt_error nerr = {0};
	int nrc = mt_keyfile_read_public_at(npk, nextpath, &nerr);
	int next_present = nrc != MT_ENOTFOUND;
	int next_ok = nrc == 0;
	int next_matches = 0;
	if (next_ok && ks.commitment[0]) {
		char h[65];
		mesh_key_commitment(h, npk);
		next_matches = strcmp(h, ks.commitment) == 0;
	}
	int pending = mesh_restore_pending(ctx);
	json_t *left = json_array();
	leftovers(ctx, left);

	json_t *warn = json_array();
	char w[PATHSZ + 1024];
	if (!ks.commitment[0] && !ks.rotated_to[0]) {
		if (ks.head_seq == 0 && next_ok)
			snprintf(w, sizeof w,
				 "no commitment yet: the first statement this home issues is "
				 "preceded by the commitment to next.key");
		else
			snprintf(w, sizeof w,
				 "no commitment: whoever holds identity.key first can commit — run "
				 "`mesh key commit`");
		json_array_append_new(warn, json_string(w));
	}
	if (next_present) {
		snprintf(w, sizeof w,
			 "next.key sits beside identity.key (%s): whoever copies this home holds "
			 "both keys — move it offline (`mesh key backup --out FILE`, then delete it "
			 "here)",
			 nextpath);
		json_array_append_new(warn, json_string(w));
	}
	if (next_present && !next_ok) {
		snprintf(w, sizeof w, "next.key cannot be read: %s", nerr.msg);
		json_array_append_new(warn, json_string(w));
	} else if (next_ok && ks.commitment[0] && !next_matches) {
		snprintf(w, sizeof w,
			 "next.key is not the committed next key (its hash differs from the "
			 "commitment at seq %llu)",
			 (unsigned long long)ks.commitment_seq);
		json_array_append_new(warn, json_string(w));
	}
	if (foreign) {
		snprintf(w, sizeof w,
			 "%llu statement(s) in your own feed were not signed by this home: your "
			 "identity.key may be stolen — rotate with `mesh key rotate --last-good SEQ` "
			 "(the last statement you made)",
			 (unsigned long long)foreign);
		json_array_append_new(warn, json_string(w));
	}
	if (ks.contested) {
		snprintf(w, sizeof w,
			 "contested: two valid rotates of this feed; it ends at their common prefix");
		json_array_append_new(warn, json_string(w));
	}
	if (ks.rotate_pending) {
		snprintf(w, sizeof w,
			 "a rotate of this feed waits for the new feed's key statement (run `mesh "
			 "key rotate` again to finish)");
		json_array_append_new(warn, json_string(w));
	}
	if (ks.rotated_to[0]) {
		snprintf(w, sizeof w, "this identity was rotated to %s: it signs nothing any more",
			 ks.rotated_to);
		json_array_append_new(warn, json_string(w));
	}
	if (pending) {
		snprintf(w, sizeof w,
			 "restored from a seed: waiting for the own feed (`mesh log import FILE` "
			 "or `mesh sync`); signing refuses until then");
		json_array_append_new(warn, json_string(w));
	}
	if (json_array_size(left)) {
		snprintf(w, sizeof w,
			 "temporary key files from an interrupted key operation are in %s: they "
			 "may hold a key; check them before deleting",
			 ctx->home);
		json_array_append_new(warn, json_string(w));
	}

	if (json) {
		json_t *nk = json_pack("{s:s,s:b,s:b}", "path", nextpath, "present", next_present,
				       "beside_identity", next_present);
		json_object_set_new(nk, "matches_commitment",
				    next_ok && ks.commitment[0] ? json_boolean(next_matches)
								: json_null());
		if (next_ok) {
			char nid[MT_NODE_ID_MAX];
			mt_node_id_encode(nid, npk);
			json_object_set_new(nk, "node_id", json_string(nid));
		}
		json_t *o = json_pack(
		    "{s:s,s:o,s:I,s:o,s:I,s:I,s:o,s:o,s:s,s:b,s:b,s:{s:I,s:o},s:b,s:o,s:o}",
		    "node_id", id, "commitment",
		    ks.commitment[0] ? json_string(ks.commitment) : json_null(), "commitment_seq",
		    (json_int_t)ks.commitment_seq, "next_key", nk, "head_seq",
		    (json_int_t)ks.head_seq, "held", (json_int_t)ks.held, "rotated_from",
		    ks.rotated_from[0] ? json_string(ks.rotated_from) : json_null(), "rotated_to",
		    ks.rotated_to[0] ? json_string(ks.rotated_to) : json_null(), "newest",
		    ks.newest[0] ? ks.newest : id, "contested", ks.contested, "rotate_pending",
		    ks.rotate_pending, "foreign", "count", (json_int_t)foreign, "seqs", fs.arr,
		    "restore_pending", pending, "leftovers", left, "warnings", warn);
		return mesh_print_json(o);
	}
	printf("identity      %s\n", id);
	if (ks.commitment[0])
		printf("commitment    %s (seq %llu)\n", ks.commitment,
		       (unsigned long long)ks.commitment_seq);
	else
		printf("commitment    none\n");
	if (next_present)
		printf("next.key      %s (beside identity.key)\n", nextpath);
	else
		printf("next.key      not in this home (offline)\n");
	printf("feed          head seq %llu, %llu statement(s) held\n",
	       (unsigned long long)ks.head_seq, (unsigned long long)ks.held);
	if (ks.rotated_from[0])
		printf("rotated from  %s\n", ks.rotated_from);
	if (ks.rotated_to[0])
		printf("rotated to    %s\n", ks.rotated_to);
	if (ks.newest[0] && strcmp(ks.newest, id) != 0)
		printf("newest        %s\n", ks.newest);
	printf("contested     %s\n", ks.contested ? "yes" : "no");
	printf("rotate        %s\n", ks.rotate_pending ? "pending" : "none pending");
	printf("theft alarm   ");
	if (foreign) {
		printf("%llu statement(s) not signed here (seq", (unsigned long long)foreign);
		size_t i;
		json_t *v;
		json_array_foreach(fs.arr, i, v)
		{
			printf("%s %lld", i ? "," : "", (long long)json_integer_value(v));
		}
		printf(")\n");
	} else {
		printf("none\n");
	}
	if (pending)
		printf("restore       pending (own feed not held yet)\n");
	size_t i;
	json_t *v;
	json_array_foreach(warn, i, v)
	{
		fputs("WARNING: ", stdout);
		mesh_term_write(stdout, json_string_value(v), MESH_TERM_LINE);
		putchar('\n');
	}
	json_decref(fs.arr);
	json_decref(left);
	json_decref(warn);
	return EXIT_OK;
}

/* ---- mesh key commit ------------------------------------------------------------------ */

static const mesh_spec COMMIT_SPEC = {
	"mesh key commit",
	"Commit this identity to a next key (SPEC §9.2): issue a `key` statement holding\n"
	"the BLAKE2b-256 of next.key's public key — the key in next.key when there is\n"
	"one, else a fresh one written there (0600, identity.key's passphrase). For\n"
	"identities made before commitments: until one is made, whoever holds\n"
	"identity.key first can commit. Refused when the identity has a commitment.",
	NULL, 0, 0, NULL, NULL};

static int key_commit(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&COMMIT_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	if ((rc = mesh_load_key(ctx)) || (rc = mesh_open_store(ctx)) ||
	    (rc = mesh_issue_prepare(ctx, 0)))
		return rc;
	mt_key_status ks;
	mt_error err = {0};
	if (mt_store_key_status(ctx->store, ctx->node_id, &ks, &err) != 0)
		return mesh_fail_err(&err);
	if (ks.commitment[0])
		return mesh_fail("%s already has a key commitment (seq %llu): it cannot be made "
				 "again; to change keys, `mesh key rotate`",
				 ctx->node_id, (unsigned long long)ks.commitment_seq);
	if (ks.rotated_to[0])
		return mesh_fail("%s was rotated to %s: it signs nothing any more", ctx->node_id,
				 ks.rotated_to);
	char nextpath[PATHSZ], tmp[PATHSZ] = "", next_hex[65], next_id[MT_NODE_ID_MAX];
	char *pass = NULL;
	mt_keypair next;
	memset(&next, 0, sizeof next);
	mesh_home_file(nextpath, sizeof nextpath, ctx, MT_NEXTKEY_NAME);
	struct stat st;
	int existing = lstat(nextpath, &st) == 0;
	if (existing) {
		/* Commit to the key already there, once it is shown to open. */
		if ((rc = mesh_read_keyfile(ctx, nextpath, &next, NULL)))
			return rc;
	} else {
		if ((rc = identity_pass(ctx, &pass)))
			return rc;
		if (mt_keypair_generate(&next) != 0) {
			free_pass(&pass);
			return mesh_fail("could not generate a key");
		}
		/* Durable before the statement that names it. */
		rc = mt_keyfile_stage(tmp, sizeof tmp, nextpath, &next, pass, NULL, &err);
		free_pass(&pass);
		if (rc) {
			mt_keypair_wipe(&next);
			return mesh_fail_err(&err);
		}
	}
	mesh_key_commitment(next_hex, next.pk);
	mt_node_id_encode(next_id, next.pk);
	mt_keypair_wipe(&next);
	json_t *body = json_pack("{s:s,s:s}", "type", "key", "next", next_hex);
	mt_stmt *stmt = NULL;
	int r = body ? mt_store_issue(ctx->store, &stmt, body, &ctx->key, ctx->now, &err)
		     : mt_error_set(&err, MT_ENOMEM, "out of memory");
	json_decref(body);
	if (r != 0) {
		if (tmp[0])
			unlink(tmp);
		return mesh_fail_err(&err);
	}
	if (tmp[0] && mt_keyfile_install(tmp, nextpath, 0, &err) != 0) {
		mt_stmt_free(stmt);
		return mesh_fail("the commitment is issued but the next key could not be moved "
				 "into place (%s): it is in %s — move it to %s by hand and keep it",
				 err.msg, tmp, nextpath);
	}
	printf("committed %s to its next key %s (key statement seq %llu)\n", ctx->node_id,
	       next_id, (unsigned long long)stmt->seq);
	printf("next key %s %s: move it OFFLINE (or `mesh key backup --out FILE`, then delete "
	       "it here); it is what rotates or recovers this identity\n",
	       existing ? "is" : "written to", nextpath);
	mt_stmt_free(stmt);
	return EXIT_OK;
}

/* ---- mesh key rotate ---------------------------------------------------------------- */

static const mesh_opt ROTATE_OPTS[] = {
	{"last-good", MESH_ARG, "SEQ",
	 "the last statement of the feed that is yours (default: the head);\n"
	 "everything after it is void (a thief's statements)",
	 'l'},
	{"next-key", MESH_ARG, "FILE",
	 "the committed next key (identity.key's format, or a seed backup);\n"
	 "default next.key in the home",
	 'k'},
	MESH_OPT_JSON_H("print {old, new, rotate, rotate_seq, key, …} (one line)"),
	MESH_OPT_END};
static const mesh_spec ROTATE_SPEC = {
	"mesh key rotate [--last-good SEQ] [--next-key FILE] [--json]",
	"Rotate this identity to its committed next key (SPEC §9.2): a rotate signed by\n"
	"that key (its hash must equal the commitment: a thief holding identity.key alone\n"
	"cannot), then the new identity's first statement, its own commitment to a\n"
	"fresh next key. identity.key then holds the new key (the old one is kept as\n"
	"identity.key.old-<ID prefix>) and next.key the fresh one: save it offline.\n"
	"New key files keep identity.key's passphrase.",
	ROTATE_OPTS, 0, 0, NULL, NULL};

static int key_rotate(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&ROTATE_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	mt_error err = {0};
	int64_t last_good = 0;
	const char *lg = mesh_args_get(&a, 'l', NULL);
	if (lg && mesh_parse_int(&last_good, lg, "--last-good", 1, INT64_MAX, &err) != 0)
		return mesh_usage(ROTATE_SPEC.usage, "%s", err.msg);
	char nextpath[PATHSZ];
	const char *file = mesh_args_get(&a, 'k', NULL);
	if ((rc = mesh_load_key(ctx)) || (rc = mesh_open_store(ctx)) ||
	    (rc = mesh_issue_prepare(ctx, 0)))
		return rc;
	if (file) {
		snprintf(nextpath, sizeof nextpath, "%s", file);
	} else {
		mesh_home_file(nextpath, sizeof nextpath, ctx, MT_NEXTKEY_NAME);
		struct stat st;
		if (lstat(nextpath, &st) != 0)
			return mesh_fail("no next.key in %s (kept offline?): give --next-key FILE",
					 ctx->home);
	}
	char old_id[MT_NODE_ID_MAX];
	memcpy(old_id, ctx->node_id, sizeof old_id);
	mt_key_status ks;
	if (mt_store_key_status(ctx->store, old_id, &ks, &err) != 0)
		return mesh_fail_err(&err);
	char *id_pass = NULL, *next_pass = NULL;
	mt_keypair next;
	memset(&next, 0, sizeof next);
	if ((rc = identity_pass(ctx, &id_pass)))
		return rc;
	if ((rc = load_next_key(ctx, nextpath, &next, &next_pass)) == EXIT_OK &&
	    (rc = check_commitment(old_id, &ks, next.pk, nextpath)) == EXIT_OK)
		rc = do_rotate(ctx, old_id, &ks, &next, (uint64_t)last_good, id_pass, 0,
			       mesh_args_count(&a, 'j') > 0);
	mt_keypair_wipe(&next);
	free_pass(&id_pass);
	free_pass(&next_pass);
	return rc;
}

/* ---- mesh key recover --------------------------------------------------------------- */

static const mesh_opt RECOVER_OPTS[] = {
	{"old", MESH_ARG, "ID", "the identity whose identity.key was lost", 'o'},
	{"next-key", MESH_ARG, "FILE",
	 "its committed next key (identity.key's format, or a seed backup)", 'k'},
	MESH_OPT_JSON_H("print {old, new, rotate, rotate_seq, key, …} (one line)"),
	MESH_OPT_END};
static const mesh_spec RECOVER_SPEC = {
	"mesh key recover --old ID --next-key FILE [--json]",
	"Recover an identity whose identity.key is lost (SPEC §9.2), in a home that holds\n"
	"its feed (`mesh log import FILE` or `mesh sync` first): the same rotate as `mesh\n"
	"key rotate`, keeping the feed's applied head, signed by the committed next key.\n"
	"This home's identity.key becomes that key (an identity.key already here is kept\n"
	"as identity.key.old-<ID prefix>) and next.key a fresh one: save it offline. New\n"
	"key files get FILE's passphrase (plain when FILE is plain; `mesh key passwd`).\n"
	"It is also the safe restore when a feed's head cannot be known.",
	RECOVER_OPTS, 0, 0, NULL, NULL};

static int key_recover(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&RECOVER_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	const char *old = mesh_args_get(&a, 'o', NULL);
	const char *file = mesh_args_get(&a, 'k', NULL);
	if (!old || !file)
		return mesh_usage(RECOVER_SPEC.usage, "--old ID and --next-key FILE are both needed");
	char old_id[MT_NODE_ID_MAX];
	if (mesh_resolve_id_at(ctx, old_id, old, "--old"))
		return EXIT_USAGE;
	if ((rc = mesh_open_store(ctx)))
		return rc;
	mt_key_status ks;
	mt_error err = {0};
	if (mt_store_key_status(ctx->store, old_id, &ks, &err) != 0)
		return mesh_fail_err(&err);
	if (ks.held == 0)
		return mesh_fail("this store holds no statement of %s: import its feed first "
				 "(`mesh log import FILE`, `mesh sync`)",
				 old_id);
	char *pass = NULL;
	mt_keypair next;
	memset(&next, 0, sizeof next);
	if ((rc = load_next_key(ctx, file, &next, &pass)) == EXIT_OK &&
	    (rc = check_commitment(old_id, &ks, next.pk, file)) == EXIT_OK)
		rc = do_rotate(ctx, old_id, &ks, &next, 0, pass, 1, mesh_args_count(&a, 'j') > 0);
	mt_keypair_wipe(&next);
	free_pass(&pass);
	return rc;
}

/* ---- mesh key backup ---------------------------------------------------------------- */

static const mesh_opt BACKUP_OPTS[] = {
	{"next-key", MESH_ARG, "FILE", "the key file to back up (default next.key in the home)", 'k'},
	{"out", MESH_ARG, "FILE", "write the seed to a new file (0600; never overwrites)", 'O'},
	{"force", MESH_NOARG, NULL, "print it even when standard output is a terminal", 'f'},
	MESH_OPT_END};
static const mesh_spec BACKUP_SPEC = {
	"mesh key backup [--out FILE] [--next-key FILE] [--force]",
	"Print the seed of the committed next key as 64 hex characters: the one backup an\n"
	"identity needs (it rotates the identity away from a stolen identity.key and\n"
	"recovers it from a lost one: `mesh key recover --old ID --next-key FILE`\n"
	"reads it, and `mesh init --seed-file FILE` makes a home of the next identity).\n"
	"It is a secret: it goes to a file (--out, or a redirection), and to a\n"
	"terminal only with --force (it would stay in the scrollback).",
	BACKUP_OPTS, 0, 0, NULL, NULL};

static int key_backup(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&BACKUP_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	const char *file = mesh_args_get(&a, 'k', NULL);
	const char *out = mesh_args_get(&a, 'O', NULL);
	int force = mesh_args_count(&a, 'f') > 0;
	if (!out && !force && isatty(STDOUT_FILENO))
		return mesh_fail("refusing to print a secret to the terminal (it would stay in the "
				 "scrollback): use `mesh key backup --out FILE` or `mesh key backup "
				 "> FILE`, or --force to show it to write it down");
	char path[PATHSZ];
	if (file) {
		snprintf(path, sizeof path, "%s", file);
	} else {
		if ((rc = mesh_check_home(ctx)))
			return rc;
		mesh_home_file(path, sizeof path, ctx, MT_NEXTKEY_NAME);
		struct stat st;
		if (lstat(path, &st) != 0)
			return mesh_fail("no next.key in %s (moved offline?): give --next-key FILE",
					 ctx->home);
	}
	mt_keypair kp;
	if ((rc = mesh_read_keyfile(ctx, path, &kp, NULL)))
		return rc;
	unsigned char seed[32];
	char line[66], id[MT_NODE_ID_MAX];
	mt_keypair_seed(seed, &kp);
	mt_node_id_encode(id, kp.pk);
	mt_keypair_wipe(&kp);
	mt_hex_encode(line, 65, seed, 32);
	sodium_memzero(seed, sizeof seed);
	line[64] = '\n';
	line[65] = '\0';
	rc = EXIT_OK;
	if (out) {
		int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			rc = mesh_fail("%s: cannot create: %s%s", out, strerror(errno),
				       errno == EEXIST ? " (never overwritten)" : "");
		} else {
			ssize_t put = write(fd, line, 65);
			int ok = put == 65 && fsync(fd) == 0;
			if (close(fd) != 0)
				ok = 0;
			if (!ok) {
				unlink(out);
				rc = mesh_fail("%s: cannot write", out);
			}
		}
	} else if (fwrite(line, 1, 65, stdout) != 65 || fflush(stdout) != 0) {
		rc = mesh_fail("write error on standard output");
	}
	sodium_memzero(line, sizeof line);
	if (rc == EXIT_OK)
		fprintf(stderr,
			"mesh: %s%s%sthe SECRET seed of the next key %s: whoever has it can rotate "
			"your identity into their hands or end it. Keep it offline; `mesh key "
			"recover --next-key FILE` and `mesh init --seed-file FILE` read it\n",
			out ? "wrote " : "this is ", out ? out : "", out ? ": " : "", id);
	return rc;
}

/* ---- mesh key passwd ---------------------------------------------------------------- */

static const mesh_opt PASSWD_OPTS[] = {
	{"new-passphrase-file", MESH_ARG, "FILE", "the new passphrase (first line of FILE)", 'N'},
	{"remove", MESH_NOARG, NULL, "store the keys without a passphrase", 'r'},
	MESH_OPT_END};
static const mesh_spec PASSWD_SPEC = {
	"mesh key passwd [--new-passphrase-file FILE | --remove]",
	"Add, change or remove the passphrase of identity.key and of next.key (when it\n"
	"is in the home). The current one comes from --passphrase-file (before or after\n"
	"the command) or is asked on the terminal; the new one from\n"
	"--new-passphrase-file, or is asked twice on the terminal. Both files are\n"
	"written anew under temporary names first, then renamed into place (each\n"
	"replaced in one step).",
	PASSWD_OPTS, 0, 0, NULL, NULL};

static int key_passwd(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&PASSWD_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	const char *new_file = mesh_args_get(&a, 'N', NULL);
	int remove = mesh_args_count(&a, 'r') > 0;
	if (new_file && remove)
		return mesh_usage(PASSWD_SPEC.usage, "--new-passphrase-file and --remove exclude "
						     "each other");
	if ((rc = mesh_load_key(ctx)))
		return rc;
	char idpath[PATHSZ], nextpath[PATHSZ], tmp_id[PATHSZ], tmp_next[PATHSZ] = "";
	mesh_home_file(idpath, sizeof idpath, ctx, MT_KEYFILE_NAME);
	mesh_home_file(nextpath, sizeof nextpath, ctx, MT_NEXTKEY_NAME);
	mt_keypair next;
	mt_error err = {0};
	memset(&next, 0, sizeof next);
	struct stat st;
	int have_next = lstat(nextpath, &st) == 0;
	int id_enc = 0, next_enc = 0;
	if (mt_keyfile_is_encrypted(&id_enc, ctx->home, &err) != 0)
		return mesh_fail_err(&err);
	if (have_next) {
		if (mt_keyfile_is_encrypted_at(&next_enc, nextpath, &err) != 0)
			return mesh_fail_err(&err);
		if ((rc = mesh_read_keyfile(ctx, nextpath, &next, NULL)))
			return rc;
	}
	char *pass = NULL;
	if (new_file) {
		if (mt_passphrase_file_read(&pass, new_file, &err) != 0) {
			rc = mesh_fail_err(&err);
			goto done;
		}
	} else if (!remove && (rc = mesh_passphrase_new_tty(&pass))) {
		goto done;
	}
	if (remove && !id_enc && !next_enc) {
		printf("identity.key%s has no passphrase: nothing to remove\n",
		       have_next ? " and next.key have" : "");
		rc = EXIT_OK;
		goto done;
	}
	/* Both new files first; nothing is replaced unless both are written. */
	if (mt_keyfile_stage(tmp_id, sizeof tmp_id, idpath, &ctx->key, pass, NULL, &err) != 0) {
		rc = mesh_fail_err(&err);
		goto done;
	}
	if (have_next &&
	    mt_keyfile_stage(tmp_next, sizeof tmp_next, nextpath, &next, pass, NULL, &err) != 0) {
		unlink(tmp_id);
		rc = mesh_fail_err(&err);
		goto done;
	}
	if (mt_keyfile_install(tmp_id, idpath, 1, &err) != 0) {
		unlink(tmp_id);
		if (tmp_next[0])
			unlink(tmp_next);
		rc = mesh_fail_err(&err);
		goto done;
	}
	if (tmp_next[0] && mt_keyfile_install(tmp_next, nextpath, 1, &err) != 0) {
		rc = mesh_fail("identity.key was changed but next.key could not be replaced (%s): "
			       "its new version is %s",
			       err.msg, tmp_next);
		goto done;
	}
	const char *what = remove ? "removed" : (id_enc ? "changed" : "added");
	printf("passphrase %s: %s%s\n", what, idpath, have_next ? " and next.key" : "");
	rc = EXIT_OK;
done:
	mt_passphrase_free(pass);
	mt_keypair_wipe(&next);
	return rc;
}

int cmd_key(mesh_ctx *ctx, int argc, char **argv)
{
	static const mesh_cmd cmds[] = {
		{"status", key_status, "commitment, next.key, rotation chain, theft alarm"},
		{"commit", key_commit, "commit an identity without one to a next key"},
		{"rotate", key_rotate, "rotate to the committed next key"},
		{"recover", key_recover, "recover an identity whose identity.key is lost"},
		{"backup", key_backup, "print the next key's seed (the one backup)"},
		{"passwd", key_passwd, "add, change or remove the keys' passphrase"},
		{NULL, NULL, NULL}};
	return mesh_dispatch(ctx, "key", cmds, argc, argv);
}
