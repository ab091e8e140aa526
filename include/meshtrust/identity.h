/** Identity (SPEC §1): Ed25519 keys, Node IDs, did:key, and the key file.
 *
 * A node's identity is an Ed25519 key pair (libsodium). Its public key is shown
 * as a Node ID (the libp2p PeerId, base58btc of 00 24 08 01 12 20 || pk, always
 * "12D3KooW…") or as a DID ("did:key:z6Mk…", base58btc of ed 01 || pk). The
 * secret key lives in `<home>/identity.key` (file 0600, directory 0700),
 * optionally encrypted with a passphrase (Argon2id + XChaCha20-Poly1305); the
 * format is described in docs/identity.md.
 *
 * Call mt_identity_init() once before anything else here (it is idempotent and
 * thread safe; the functions that need randomness or Argon2id call it too).
 * Error messages name the bad argument or file and never contain secrets.
 */
#ifndef MESHTRUST_IDENTITY_H
#define MESHTRUST_IDENTITY_H

#include <stddef.h>

#include "meshtrust/error.h"

/** Size of a buffer for a Node ID: 52 characters + NUL, rounded up. */
#define MT_NODE_ID_MAX 64
/** Size of a buffer for a did:key: 56 characters + NUL, rounded up. */
#define MT_DID_MAX 80
/** Name of the key file inside the home directory. */
#define MT_KEYFILE_NAME "identity.key"
/** Name of the committed next key (SPEC §9.2) beside identity.key; same
 * format. It belongs offline: `mesh init` writes it here to be moved. */
#define MT_NEXTKEY_NAME "next.key"
/** Largest key file mt_keyfile_read() accepts, in bytes. */
#define MT_KEYFILE_MAX 4096
/** Longest passphrase mt_passphrase_file_read() accepts, in bytes. */
#define MT_PASSPHRASE_MAX 1024

/** An Ed25519 key pair in libsodium's layout: `sk` is seed[32] || pk[32].
 * The secret half must be wiped with mt_keypair_wipe() when done. */
typedef struct mt_keypair {
	unsigned char pk[32];
	unsigned char sk[64];
} mt_keypair;

/** Argon2id cost of an encrypted key file (see mt_keyfile_write_kdf()). */
typedef struct mt_kdf_params {
	unsigned long long opslimit; /* passes; crypto_pwhash_OPSLIMIT_MIN .. 32 */
	size_t memlimit;             /* bytes; crypto_pwhash_MEMLIMIT_MIN .. 1 GiB */
} mt_kdf_params;

/** Initialise libsodium (sodium_init()). Idempotent and thread safe.
 * Returns 0, or MT_ECRYPTO when libsodium cannot start. */
int mt_identity_init(void);

/** Derive the key pair of a 32-byte seed (deterministic; see the vectors).
 * Returns 0, or MT_ECRYPTO (out zeroed) if libsodium fails. */
int mt_keypair_from_seed(mt_keypair *out, const unsigned char seed[32]);

/** Generate a fresh key pair from the system's CSPRNG.
 * Returns 0, or MT_ECRYPTO (out zeroed) if libsodium cannot start. */
int mt_keypair_generate(mt_keypair *out);

/** Copy the 32-byte seed (the secret a backup holds) out of `kp`.
 * The caller wipes `out` with sodium_memzero when done. */
void mt_keypair_seed(unsigned char out[32], const mt_keypair *kp);

/** Wipe the whole key pair (sodium_memzero). NULL is a harmless no-op. */
void mt_keypair_wipe(mt_keypair *kp);

/** Write the Node ID of `pk` ("12D3KooW…", 52 characters) and a NUL. */
void mt_node_id_encode(char out[MT_NODE_ID_MAX], const unsigned char pk[32]);

/** Write the did:key of `pk` ("did:key:z6Mk…", 56 characters) and a NUL. */
void mt_did_encode(char out[MT_DID_MAX], const unsigned char pk[32]);

/** Parse an identity given either as a Node ID or as a did:key.
 *
 * Strict: the text must be exactly the canonical encoding of an Ed25519 key
 * (no whitespace, exact multicodec/protobuf prefix bytes, exact length, and
 * re-encoding gives the same text). On success pk holds the public key and,
 * when `node_id_out` is not NULL, it receives the canonical Node ID (useful to
 * turn a did:key into the Node ID statements carry).
 * Errors: MT_EINVAL with a message naming `argname` (may be NULL) and the
 * value (escaped, cut at 80 characters), e.g.
 *   trustee: "12D3KooWxyz" is not a valid Node ID or did:key (bad base58
 *   character 'l' at position 9)
 * Positions count from 0 within the whole argument. pk and node_id_out are
 * zeroed / "" on error. */
int mt_identity_parse(unsigned char pk[32], char node_id_out[MT_NODE_ID_MAX], const char *text,
                      const char *argname, mt_error *err);

/** Like mt_identity_parse() but accepts only a Node ID (no did:key), as
 * statement fields require. Errors: MT_EINVAL, message "<argname>: "<value>"
 * is not a valid Node ID (<reason>)". */
int mt_node_id_decode(unsigned char pk[32], const char *text, const char *argname, mt_error *err);

/** 1 when `text` (may be NULL) is a valid canonical Node ID, else 0. */
int mt_node_id_valid(const char *text);

/** Write "<home>/identity.key" into out. Returns 0 or MT_ETOOBIG. */
int mt_keyfile_path(char *out, size_t outsz, const char *home, mt_error *err);

/** Store `kp` as `<home>/identity.key`; never overwrites.
 *
 * Creates `home` with mode 0700 when it is missing (its parent must exist);
 * refuses (MT_EPERM) an existing `home` that grants any group/other
 * permission, or that is not a directory. The key is written to a temporary
 * 0600 file in `home`, fsync'ed, then hard-linked into place, so the key file
 * appears whole or not at all and an existing one is never replaced.
 * With `passphrase` NULL the seed is stored in clear; otherwise (non-empty)
 * it is encrypted with Argon2id at libsodium's INTERACTIVE cost (64 MiB, 2
 * passes; see docs/identity.md) and XChaCha20-Poly1305.
 * Errors: MT_EEXISTS (a key file is already there; it is left intact),
 * MT_EPERM, MT_EINVAL (empty passphrase), MT_ETOOBIG (path), MT_ECRYPTO,
 * MT_EIO (message names the path and the system's reason). */
int mt_keyfile_write(const char *home, const mt_keypair *kp, const char *passphrase, mt_error *err);

/** mt_keyfile_write() with an explicit Argon2id cost (`kdf` NULL = default).
 * Exists so tests and small devices can choose; parameters outside the ranges
 * of mt_kdf_params give MT_EINVAL. Ignored when passphrase is NULL. */
int mt_keyfile_write_kdf(const char *home, const mt_keypair *kp, const char *passphrase,
                         const mt_kdf_params *kdf, mt_error *err);

/** Load the key pair stored in `<home>/identity.key`.
 *
 * Refuses, before reading anything, a key file that is not a regular file
 * (MT_EINVAL: a symbolic link is not followed, and a FIFO or a device is
 * refused at once, never waited on: the file is opened with O_NOFOLLOW and
 * O_NONBLOCK and checked with fstat), is not owned by the current user, or
 * whose mode has any group/other bit (MT_EPERM: "<path>: permissions 0644
 * are too open (must be 0600: chmod 600 <path>)"). `passphrase` is needed
 * only for an encrypted key (it is ignored for a plain one). Errors (out
 * zeroed):
 *   MT_ENOTFOUND  no key file ("… run `mesh init` first")
 *   MT_EPERM      mode/owner as above; or "key is encrypted: passphrase required"
 *   MT_ECRYPTO    "wrong passphrase or corrupt key file"
 *   MT_ETOOBIG    file over MT_KEYFILE_MAX bytes
 *   MT_EINVAL     not a regular file (above), or a malformed key file
 *                 (message names the path and the line)
 *   MT_EIO        read failure */
int mt_keyfile_read(mt_keypair *out, const char *home, const char *passphrase, mt_error *err);

/** Set *out to 1 when `<home>/identity.key` is encrypted, 0 when plain.
 * Same permission checks and errors as mt_keyfile_read() (no passphrase
 * needed). */
int mt_keyfile_is_encrypted(int *out, const char *home, mt_error *err);

/** Read the public key recorded in `<home>/identity.key` without decrypting
 * (so `mesh id` works on an encrypted key). Same checks and errors as
 * mt_keyfile_is_encrypted(). The recorded key is authenticated only when the
 * secret key is loaded with mt_keyfile_read(). */
int mt_keyfile_read_public(unsigned char pk[32], const char *home, mt_error *err);

/* ---- Key files at any path (next.key, `--next-key FILE`, passphrase changes)
 *
 * The same format, checks and errors as the home functions above, for a key
 * file named by its path. A missing file is MT_ENOTFOUND ("<path>: no such key
 * file"). Writing never goes through a partly written file: the text is
 * written to a new temporary file beside the target (`.<name>.XXXXXX`,
 * created O_EXCL, mode 0600, fsync'ed), then linked (never overwrites) or
 * renamed (replaces in one step) into place and the directory fsync'ed. The
 * directory must exist (nothing is created); its permissions are the
 * caller's business (the CLI checks the home). */

/** Write "<home>/next.key" into out. Returns 0 or MT_ETOOBIG. */
int mt_nextkey_path(char *out, size_t outsz, const char *home, mt_error *err);

/** mt_keyfile_read() of the key file at `path`. */
int mt_keyfile_read_at(mt_keypair *out, const char *path, const char *passphrase, mt_error *err);

/** mt_keyfile_is_encrypted() of the key file at `path`. */
int mt_keyfile_is_encrypted_at(int *out, const char *path, mt_error *err);

/** mt_keyfile_read_public() of the key file at `path` (not authenticated
 * for an encrypted file until it is read with its passphrase). */
int mt_keyfile_read_public_at(unsigned char pk[32], const char *path, mt_error *err);

/** Create a key file at `path` holding `kp` (encrypted when `passphrase` is
 * not NULL, at cost `kdf`, NULL = default); never overwrites (MT_EEXISTS,
 * the existing file left intact). Other errors as mt_keyfile_write(). */
int mt_keyfile_create_at(const char *path, const mt_keypair *kp, const char *passphrase,
                         const mt_kdf_params *kdf, mt_error *err);

/** Replace the key file at `path` (or create it) atomically: readers see the
 * old file or the new one, never a mix or nothing (rename(2)). A symbolic
 * link at `path` is replaced, not followed. */
int mt_keyfile_replace_at(const char *path, const mt_keypair *kp, const char *passphrase,
                          const mt_kdf_params *kdf, mt_error *err);

/** First half of a write that must be ordered with other changes (a key
 * rotation writes two files and a statement): write `kp` to a new temporary
 * file beside `path` (durable when this returns) and put its name in `tmp`.
 * The caller then calls mt_keyfile_install() or unlinks `tmp`. */
int mt_keyfile_stage(char *tmp, size_t tmpsz, const char *path, const mt_keypair *kp,
                     const char *passphrase, const mt_kdf_params *kdf, mt_error *err);

/** Second half: move the staged file `tmp` to `path`, replacing what is there
 * (`replace` 1, rename) or never (`replace` 0, link; MT_EEXISTS when `path`
 * exists, `tmp` then left for the caller to remove). */
int mt_keyfile_install(const char *tmp, const char *path, int replace, mt_error *err);

/** Read a seed backup: a file holding exactly 64 hex characters (a 32-byte
 * seed), optionally surrounded by whitespace/newlines. Anything else is
 * refused (MT_EINVAL, message names the file, never its contents);
 * MT_ENOTFOUND / MT_EIO / MT_ETOOBIG (over 1024 bytes) as usual. Regular
 * files and pipes only, as for mt_passphrase_file_read(). seed is zeroed on
 * error; the caller wipes it when done. */
int mt_seed_file_read(unsigned char seed[32], const char *path, mt_error *err);

/** Read a passphrase: the first line of `path` without its line ending
 * ("\n" or "\r\n"). An empty first line is refused (MT_EINVAL), as is one
 * longer than MT_PASSPHRASE_MAX bytes (MT_ETOOBIG) or holding a NUL byte.
 * The file is a regular file or a pipe (`<(…)`); anything else (a device,
 * a directory) is refused at once (MT_EINVAL), and a named FIFO is not
 * waited on: one without a writer reads as empty.
 * On success *out is a new NUL-terminated string the caller releases with
 * mt_passphrase_free(); on error *out is NULL. */
int mt_passphrase_file_read(char **out, const char *path, mt_error *err);

/** Wipe (sodium_memzero) and free a passphrase; NULL is a harmless no-op. */
void mt_passphrase_free(char *passphrase);

#endif
