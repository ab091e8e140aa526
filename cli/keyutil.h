/* Key handling of the `mesh` command (not a public API): passphrases asked
 * on the terminal, the global --passphrase-file wherever it is given, the
 * restore marker, the key commitment before a feed's first statement, the
 * theft alarm (SPEC §9.2). The `mesh key` commands are in cmd_key.c. */
#ifndef MESH_KEYUTIL_H
#define MESH_KEYUTIL_H

#include "cli.h"

/* The file a restored home holds until it knows its own feed's head
 * (`mesh init --seed-file` without --new-feed). Its presence is the state;
 * its text explains it to whoever finds it. */
#define MESH_RESTORE_MARKER "restore-pending"

/* Take every `--passphrase-file FILE` / `--passphrase-file=FILE` out of
 * argv[1..*argc) (the words after the command's name, up to a `--`), the
 * last one winning, into ctx->passphrase_file: the option is global and may
 * stand before the command or anywhere after it. Returns EXIT_OK or a usage
 * error (no FILE after the option). */
int mesh_take_passphrase_opt(mesh_ctx *ctx, int *argc, char **argv);

/* The passphrase of the encrypted key file `path`: from --passphrase-file /
 * $MESH_PASSPHRASE_FILE, else (stdin and /dev/tty are a terminal) asked on
 * the terminal with echo off, else an error naming both ways. The first one
 * obtained is remembered for the other key files of this invocation
 * (identity.key and next.key share one); `retry` asks the terminal again
 * (after a wrong one). *out is released with mt_passphrase_free(). Prints
 * the error itself; returns an exit code. */
int mesh_passphrase_for(mesh_ctx *ctx, const char *path, int retry, char **out);

/* A key file that may be encrypted, unlocked with mesh_passphrase_for()
 * (asking once more on a terminal after a wrong passphrase). *used (may be
 * NULL) receives a copy of the passphrase that opened it (NULL for a plain
 * file), for writing its successors the same way. Prints the error. */
int mesh_read_keyfile(mesh_ctx *ctx, const char *path, mt_keypair *out, char **used);

/* A new passphrase asked twice on the terminal (echo off); refused when there
 * is none. Prints the error itself; returns an exit code. */
int mesh_passphrase_new_tty(char **out);

/* "<home>/<name>" into out (size 4200). */
void mesh_home_file(char *out, size_t outsz, const mesh_ctx *ctx, const char *name);

/* Hex BLAKE2b-256 of a public key: a `key` statement's `next`. */
void mesh_key_commitment(char out[65], const unsigned char pk[32]);

/* Whether ctx->home holds the restore marker. */
int mesh_restore_pending(const mesh_ctx *ctx);
/* Create the marker (O_EXCL, 0600). Prints the error; returns an exit code. */
int mesh_restore_mark(const mesh_ctx *ctx);
/* Remove it (a missing marker is fine). */
void mesh_restore_clear(const mesh_ctx *ctx);

/* Before this home signs anything with identity.key (mesh_issue, key
 * commit): with the store open and the key loaded, refuse while a restore is
 * pending (naming the fixes); when `auto_key` and the own feed is empty,
 * issue the key commitment to next.key's public key as seq 1 first (SPEC
 * §9.2), or say on stderr that the feed starts without one when there is no
 * next.key. Prints the error itself; returns an exit code. */
int mesh_issue_prepare(mesh_ctx *ctx, int auto_key);

/* After the store is opened (mesh_open_store), once per invocation and only
 * when the home has an identity: finish a pending restore once the own
 * feed's head is held (adopting those statements as this home's own), then
 * the theft alarm on stderr when the own feed holds statements this home did
 * not sign. Never fails the command (a problem here is reported on stderr). */
void mesh_own_checks(mesh_ctx *ctx);

#endif
