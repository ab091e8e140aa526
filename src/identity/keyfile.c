/* The key file, seed backups and passphrase files (formats in docs/identity.md).
 *
 * Everything here handles secrets, so every buffer that held a seed, a
 * passphrase, a derived key or a file's contents is wiped on every path out,
 * and no message repeats what a file contains.
 */
#include "meshtrust/identity.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meshtrust/encoding.h"

#define PATH_MAX_LEN 4096
#define SEED_FILE_MAX 1024
#define KIND_PLAIN "ed25519-seed"
#define KIND_ENCRYPTED "ed25519-seed-argon2id-xchacha20poly1305"
#define KDF_OPSLIMIT_MAX 32ULL
#define KDF_MEMLIMIT_MAX ((size_t)1 << 30)
#define SALT_BYTES crypto_pwhash_argon2id_SALTBYTES
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define CT_BYTES (32 + crypto_aead_xchacha20poly1305_ietf_ABYTES)

/* The fields a key file may hold, in the order they are written. */
enum { F_V, F_KIND, F_PUBLIC_KEY, F_SEED, F_SALT, F_OPSLIMIT, F_MEMLIMIT, F_NONCE, F_CT, F_COUNT };
static const char *const FIELD_NAMES[F_COUNT] = {
    "v", "kind", "public_key", "seed", "salt", "opslimit", "memlimit", "nonce", "ct"};
#define BIT(f) (1u << (f))
#define FIELDS_PLAIN (BIT(F_V) | BIT(F_KIND) | BIT(F_PUBLIC_KEY) | BIT(F_SEED))
#define FIELDS_ENCRYPTED                                                                           \
	(BIT(F_V) | BIT(F_KIND) | BIT(F_PUBLIC_KEY) | BIT(F_SALT) | BIT(F_OPSLIMIT) |              \
	 BIT(F_MEMLIMIT) | BIT(F_NONCE) | BIT(F_CT))

/* A parsed key file. `seed` is set for a plain file, the rest for an
 * encrypted one. Wipe with sodium_memzero. */
typedef struct keyfile {
	int encrypted;
	unsigned char pk[32];
	unsigned char seed[32];
	unsigned char salt[SALT_BYTES];
	mt_kdf_params kdf;
	unsigned char nonce[NONCE_BYTES];
	unsigned char ct[CT_BYTES];
} keyfile;

static const mt_kdf_params KDF_DEFAULT = {crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
                                          crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE};

/* ---- small file helpers ---------------------------------------------------- */

static int io_error(mt_error *err, const char *path, const char *what, int errnum)
{
	if (errnum == ENOENT)
		return mt_error_set(err, MT_ENOTFOUND, "%s: %s: no such file or directory", path,
		                    what);
	if (errnum == EACCES)
		return mt_error_set(err, MT_EPERM, "%s: %s: permission denied", path, what);
	return mt_error_set(err, MT_EIO, "%s: %s: %s", path, what, strerror(errnum));
}

/* Open `path` for reading; it must be a regular file, or also a pipe when
 * `allow_pipe` (so `--passphrase-file <(…)` works). With `nofollow` a
 * symbolic link is refused instead of followed. *st receives its status.
 *
 * The open itself never waits: O_NONBLOCK keeps a FIFO without a writer (or a
 * device) from blocking open(), so a FIFO planted where a regular file belongs
 * is refused at once; the flag is cleared once the type is known, so a pipe
 * that is allowed is then read normally (a named FIFO must have its writer
 * by then: one that has none reads as empty). O_NOCTTY: a terminal never
 * becomes ours. */
static int open_input(int *out_fd, struct stat *st, const char *path, int allow_pipe,
                      int nofollow, mt_error *err)
{
	*out_fd = -1;
	int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (nofollow ? O_NOFOLLOW : 0);
	int fd = open(path, flags);
	if (fd < 0) {
		if (nofollow && errno == ELOOP)
			return mt_error_set(err, MT_EINVAL,
			                    "%s: is a symbolic link; refusing to follow it (it must "
			                    "be a regular file)",
			                    path);
		return io_error(err, path, "cannot open", errno);
	}
	if (fstat(fd, st) != 0) {
		int errnum = errno;
		close(fd);
		return io_error(err, path, "cannot stat", errnum);
	}
	if (!S_ISREG(st->st_mode) && !(allow_pipe && S_ISFIFO(st->st_mode))) {
		close(fd);
		return mt_error_set(err, MT_EINVAL, "%s: not a regular file (%s)", path,
		                    S_ISFIFO(st->st_mode)   ? "a FIFO"
		                    : S_ISDIR(st->st_mode)  ? "a directory"
		                    : S_ISCHR(st->st_mode)  ? "a character device"
		                    : S_ISBLK(st->st_mode)  ? "a block device"
		                    : S_ISSOCK(st->st_mode) ? "a socket"
		                                            : "an unknown kind of file");
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
		int errnum = errno;
		close(fd);
		return io_error(err, path, "cannot clear O_NONBLOCK", errnum);
	}
	*out_fd = fd;
	return 0;
}

/* Read at most `bufsz` bytes from fd into buf; *len is how many were read. A
 * file longer than `bufsz` is reported by *len == bufsz (callers pass one byte
 * more than they accept). */
static int read_some(unsigned char *buf, size_t bufsz, size_t *len, int fd, const char *path,
                     mt_error *err)
{
	*len = 0;
	while (*len < bufsz) {
		ssize_t got = read(fd, buf + *len, bufsz - *len);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return io_error(err, path, "read failed", errno);
		}
		if (got == 0)
			break;
		*len += (size_t)got;
	}
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t put = write(fd, buf, len);
		if (put < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += put;
		len -= (size_t)put;
	}
	return 0;
}

/* ---- key file format --------------------------------------------------------- */

int mt_keyfile_path(char *out, size_t outsz, const char *home, mt_error *err)
{
	int n = snprintf(out, outsz, "%s/%s", home, MT_KEYFILE_NAME);
	if (n < 0 || (size_t)n >= outsz) {
		if (outsz > 0)
			out[0] = '\0';
		return mt_error_set(err, MT_ETOOBIG, "%s: path too long", home);
	}
	return 0;
}

int mt_nextkey_path(char *out, size_t outsz, const char *home, mt_error *err)
{
	int n = snprintf(out, outsz, "%s/%s", home, MT_NEXTKEY_NAME);
	if (n < 0 || (size_t)n >= outsz) {
		if (outsz > 0)
			out[0] = '\0';
		return mt_error_set(err, MT_ETOOBIG, "%s: path too long", home);
	}
	return 0;
}

/* Strict unsigned decimal: digits only, no sign, no leading zero, no overflow. */
static int parse_u64(unsigned long long *out, const char *text)
{
	unsigned long long value = 0;
	if (!*text || (text[0] == '0' && text[1]))
		return -1;
	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		unsigned digit = (unsigned)(*p - '0');
		if (value > (ULLONG_MAX - digit) / 10)
			return -1;
		value = value * 10 + digit;
	}
	*out = value;
	return 0;
}

static int kdf_params_check(const mt_kdf_params *kdf)
{
	return kdf->opslimit >= crypto_pwhash_argon2id_OPSLIMIT_MIN &&
	               kdf->opslimit <= KDF_OPSLIMIT_MAX &&
	               kdf->memlimit >= crypto_pwhash_argon2id_MEMLIMIT_MIN &&
	               kdf->memlimit <= KDF_MEMLIMIT_MAX
	           ? 0
	           : -1;
}

/* Decode one hex field of the key file (named in the message, never shown). */
static int hex_field(unsigned char *out, size_t n, const char *value, const char *path,
                     const char *name, mt_error *err)
{
	if (mt_hex_decode(out, n, value, err) != 0)
		return mt_error_wrap(err, "%s: malformed key file: field \"%s\"", path, name);
	return 0;
}

/* Parse the text of a key file (NUL-terminated, modified in place) into kf.
 * Lines are `name=value`; lines starting with '#' are comments; every field
 * the kind needs must appear exactly once and no other may appear. */
static int keyfile_parse(keyfile *kf, char *text, const char *path, mt_error *err)
{
	const char *values[F_COUNT] = {0};
	unsigned seen = 0;
	int line_no = 0;
	char *line = text;

	memset(kf, 0, sizeof *kf);
	while (*line) {
		char *end = strchr(line, '\n');
		line_no++;
		if (end)
			*end = '\0';
		if (line[0] != '#') {
			char *eq = strchr(line, '=');
			int field = -1;
			if (eq) {
				*eq = '\0';
				for (int f = 0; f < F_COUNT; f++)
					if (strcmp(line, FIELD_NAMES[f]) == 0)
						field = f;
			}
			if (field < 0)
				return mt_error_set(err, MT_EINVAL,
				                    "%s: malformed key file: line %d is not a "
				                    "known name=value field",
				                    path, line_no);
			if (seen & BIT(field))
				return mt_error_set(err, MT_EINVAL,
				                    "%s: malformed key file: field \"%s\" repeated",
				                    path, FIELD_NAMES[field]);
			seen |= BIT(field);
			values[field] = eq + 1;
		}
		if (!end)
			break;
		line = end + 1;
	}

	if (!values[F_V] || strcmp(values[F_V], "1") != 0)
		return mt_error_set(err, MT_EINVAL,
		                    "%s: malformed key file: missing or unsupported version \"v\"",
		                    path);
	if (values[F_KIND] && strcmp(values[F_KIND], KIND_PLAIN) == 0)
		kf->encrypted = 0;
	else if (values[F_KIND] && strcmp(values[F_KIND], KIND_ENCRYPTED) == 0)
		kf->encrypted = 1;
	else
		return mt_error_set(err, MT_EINVAL,
		                    "%s: malformed key file: missing or unknown \"kind\"", path);
	unsigned want = kf->encrypted ? FIELDS_ENCRYPTED : FIELDS_PLAIN;
	for (int f = 0; f < F_COUNT; f++) {
		if ((want & BIT(f)) && !(seen & BIT(f)))
			return mt_error_set(err, MT_EINVAL,
			                    "%s: malformed key file: missing field \"%s\"", path,
			                    FIELD_NAMES[f]);
		if (!(want & BIT(f)) && (seen & BIT(f)))
			return mt_error_set(err, MT_EINVAL,
			                    "%s: malformed key file: field \"%s\" does not belong "
			                    "to kind %s",
			                    path, FIELD_NAMES[f], values[F_KIND]);
	}

	int rc = hex_field(kf->pk, sizeof kf->pk, values[F_PUBLIC_KEY], path, "public_key", err);
	if (rc != 0)
		return rc;
	if (!kf->encrypted)
		return hex_field(kf->seed, sizeof kf->seed, values[F_SEED], path, "seed", err);

	unsigned long long memlimit = 0;
	if (parse_u64(&kf->kdf.opslimit, values[F_OPSLIMIT]) != 0 ||
	    parse_u64(&memlimit, values[F_MEMLIMIT]) != 0 || memlimit > SIZE_MAX)
		return mt_error_set(err, MT_EINVAL,
		                    "%s: malformed key file: opslimit/memlimit are not numbers",
		                    path);
	kf->kdf.memlimit = (size_t)memlimit;
	if (kdf_params_check(&kf->kdf) != 0)
		return mt_error_set(err, MT_EINVAL,
		                    "%s: malformed key file: opslimit/memlimit out of range", path);
	if ((rc = hex_field(kf->salt, sizeof kf->salt, values[F_SALT], path, "salt", err)) != 0 ||
	    (rc = hex_field(kf->nonce, sizeof kf->nonce, values[F_NONCE], path, "nonce", err)) != 0)
		return rc;
	return hex_field(kf->ct, sizeof kf->ct, values[F_CT], path, "ct", err);
}

/* Open, check and parse the key file at `path`. A missing file is reported
 * as a missing identity (`home_key`: "run `mesh init` first") or as a missing
 * file. */
static int keyfile_load_at(keyfile *kf, const char *path, int home_key, mt_error *err)
{
	unsigned char buf[MT_KEYFILE_MAX + 1];
	struct stat st;
	size_t len = 0;
	int fd = -1;
	int rc;

	memset(kf, 0, sizeof *kf);
	rc = open_input(&fd, &st, path, 0, 1, err);
	if (rc == MT_ENOTFOUND)
		return home_key ? mt_error_set(err, MT_ENOTFOUND,
		                               "%s: no identity key here (run `mesh init` first)",
		                               path)
		                : mt_error_set(err, MT_ENOTFOUND, "%s: no such key file", path);
	if (rc != 0)
		return rc;
	if (st.st_uid != geteuid()) {
		rc = mt_error_set(err, MT_EPERM, "%s: owned by uid %lu, not by you (uid %lu)", path,
		                  (unsigned long)st.st_uid, (unsigned long)geteuid());
		goto done;
	}
	if (st.st_mode & 077) {
		rc = mt_error_set(err, MT_EPERM,
		                  "%s: permissions %04o are too open (must be 0600: chmod 600 %s)",
		                  path, (unsigned)(st.st_mode & 07777), path);
		goto done;
	}
	if ((rc = read_some(buf, sizeof buf, &len, fd, path, err)) != 0)
		goto done;
	if (len > MT_KEYFILE_MAX) {
		rc = mt_error_set(err, MT_ETOOBIG, "%s: key file larger than %d bytes", path,
		                  MT_KEYFILE_MAX);
		goto done;
	}
	if (memchr(buf, '\0', len)) {
		rc = mt_error_set(err, MT_EINVAL, "%s: malformed key file: NUL byte", path);
		goto done;
	}
	buf[len] = '\0';
	rc = keyfile_parse(kf, (char *)buf, path, err);
done:
	sodium_memzero(buf, sizeof buf);
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		sodium_memzero(kf, sizeof *kf);
	return rc;
}

/* Open, check and parse `<home>/identity.key`. `path` receives its name. */
static int keyfile_load(keyfile *kf, char path[PATH_MAX_LEN], const char *home, mt_error *err)
{
	int rc;
	memset(kf, 0, sizeof *kf);
	if ((rc = mt_keyfile_path(path, PATH_MAX_LEN, home, err)) != 0)
		return rc;
	return keyfile_load_at(kf, path, 1, err);
}

/* The AEAD's associated data binds the recorded public key to the ciphertext,
 * so editing `public_key` in an encrypted file is detected on unlock. */
static int derive_key(unsigned char key[32], const char *passphrase, const keyfile *kf)
{
	return crypto_pwhash(key, 32, passphrase, strlen(passphrase), kf->salt, kf->kdf.opslimit,
	                     kf->kdf.memlimit, crypto_pwhash_ALG_ARGON2ID13);
}

/* The key pair of a loaded key file (decrypting it with `passphrase` when
 * it is encrypted). Wipes kf. */
static int keyfile_unlock(mt_keypair *out, keyfile *kf, const char *path, const char *passphrase,
                          mt_error *err)
{
	unsigned char key[32];
	unsigned char seed[32];
	unsigned long long seed_len = 0;
	int rc = 0;

	if (!kf->encrypted) {
		memcpy(seed, kf->seed, sizeof seed);
	} else if (!passphrase) {
		rc = mt_error_set(err, MT_EPERM, "%s: key is encrypted: passphrase required", path);
		goto done;
	} else if (derive_key(key, passphrase, kf) != 0) {
		rc = mt_error_set(err, MT_ENOMEM, "%s: not enough memory for Argon2id (%zu bytes)",
		                  path, kf->kdf.memlimit);
		goto done;
	} else if (crypto_aead_xchacha20poly1305_ietf_decrypt(seed, &seed_len, NULL, kf->ct,
	                                                      sizeof kf->ct, kf->pk, sizeof kf->pk,
	                                                      kf->nonce, key) != 0 ||
	           seed_len != sizeof seed) {
		rc =
		    mt_error_set(err, MT_ECRYPTO, "%s: wrong passphrase or corrupt key file", path);
		goto done;
	}
	if ((rc = mt_keypair_from_seed(out, seed)) != 0) {
		rc = mt_error_set(err, rc, "%s: cannot derive the key pair", path);
		goto done;
	}
	if (sodium_memcmp(out->pk, kf->pk, sizeof kf->pk) != 0)
		rc =
		    mt_error_set(err, MT_ECRYPTO,
		                 "%s: corrupt key file (public key does not match the seed)", path);
done:
	sodium_memzero(key, sizeof key);
	sodium_memzero(seed, sizeof seed);
	sodium_memzero(kf, sizeof *kf);
	if (rc != 0)
		mt_keypair_wipe(out);
	return rc;
}

int mt_keyfile_read(mt_keypair *out, const char *home, const char *passphrase, mt_error *err)
{
	char path[PATH_MAX_LEN];
	keyfile kf;
	int rc;

	memset(out, 0, sizeof *out);
	if (mt_identity_init() != 0)
		return mt_error_set(err, MT_ECRYPTO, "libsodium failed to initialise");
	if ((rc = keyfile_load(&kf, path, home, err)) != 0)
		return rc;
	return keyfile_unlock(out, &kf, path, passphrase, err);
}

int mt_keyfile_read_at(mt_keypair *out, const char *path, const char *passphrase, mt_error *err)
{
	keyfile kf;
	int rc;

	memset(out, 0, sizeof *out);
	if (mt_identity_init() != 0)
		return mt_error_set(err, MT_ECRYPTO, "libsodium failed to initialise");
	if ((rc = keyfile_load_at(&kf, path, 0, err)) != 0)
		return rc;
	return keyfile_unlock(out, &kf, path, passphrase, err);
}

int mt_keyfile_is_encrypted_at(int *out, const char *path, mt_error *err)
{
	keyfile kf;
	*out = 0;
	int rc = keyfile_load_at(&kf, path, 0, err);
	if (rc == 0)
		*out = kf.encrypted;
	sodium_memzero(&kf, sizeof kf);
	return rc;
}

int mt_keyfile_read_public_at(unsigned char pk[32], const char *path, mt_error *err)
{
	keyfile kf;
	memset(pk, 0, 32);
	int rc = keyfile_load_at(&kf, path, 0, err);
	if (rc == 0)
		memcpy(pk, kf.pk, 32);
	sodium_memzero(&kf, sizeof kf);
	return rc;
}

int mt_keyfile_is_encrypted(int *out, const char *home, mt_error *err)
{
	char path[PATH_MAX_LEN];
	keyfile kf;
	*out = 0;
	int rc = keyfile_load(&kf, path, home, err);
	if (rc == 0)
		*out = kf.encrypted;
	sodium_memzero(&kf, sizeof kf);
	return rc;
}

int mt_keyfile_read_public(unsigned char pk[32], const char *home, mt_error *err)
{
	char path[PATH_MAX_LEN];
	keyfile kf;
	memset(pk, 0, 32);
	int rc = keyfile_load(&kf, path, home, err);
	if (rc == 0)
		memcpy(pk, kf.pk, 32);
	sodium_memzero(&kf, sizeof kf);
	return rc;
}

/* ---- writing ----------------------------------------------------------------- */

/* Make sure `home` is a directory only its owner can enter, creating it 0700. */
static int ensure_home(const char *home, mt_error *err)
{
	struct stat st;
	if (mkdir(home, 0700) == 0) {
		/* mkdir's mode is filtered by the umask; say exactly what we mean. */
		if (chmod(home, 0700) != 0)
			return io_error(err, home, "cannot chmod", errno);
		return 0;
	}
	if (errno != EEXIST)
		return io_error(err, home, "cannot create directory", errno);
	if (stat(home, &st) != 0)
		return io_error(err, home, "cannot stat", errno);
	if (!S_ISDIR(st.st_mode))
		return mt_error_set(err, MT_EPERM, "%s: exists and is not a directory", home);
	if (st.st_mode & 077)
		return mt_error_set(
		    err, MT_EPERM, "%s: permissions %04o are too open (must be 0700: chmod 700 %s)",
		    home, (unsigned)(st.st_mode & 07777), home);
	return 0;
}

/* Append "name=<hex of data>\n" to buf (which is large enough by construction). */
static void put_hex_field(char *buf, size_t bufsz, size_t *len, const char *name,
                          const unsigned char *data, size_t n)
{
	*len += (size_t)snprintf(buf + *len, bufsz - *len, "%s=", name);
	mt_hex_encode(buf + *len, bufsz - *len, data, n);
	*len += 2 * n;
	buf[(*len)++] = '\n';
	buf[*len] = '\0';
}

/* Render the key file's text into buf. */
static int keyfile_render(char *buf, size_t bufsz, size_t *len, const mt_keypair *kp,
                          const char *passphrase, const mt_kdf_params *kdf, mt_error *err)
{
	char node_id[MT_NODE_ID_MAX];
	unsigned char seed[32];
	keyfile kf;
	int rc = 0;

	memset(&kf, 0, sizeof kf);
	mt_node_id_encode(node_id, kp->pk);
	mt_keypair_seed(seed, kp);
	*len = (size_t)snprintf(buf, bufsz,
	                        "# meshtrust identity key of %s\n"
	                        "# SECRET: keep this file mode 0600; see docs/identity.md\n"
	                        "v=1\nkind=%s\n",
	                        node_id, passphrase ? KIND_ENCRYPTED : KIND_PLAIN);
	put_hex_field(buf, bufsz, len, "public_key", kp->pk, 32);
	if (!passphrase) {
		put_hex_field(buf, bufsz, len, "seed", seed, 32);
		goto done;
	}

	unsigned char key[32];
	unsigned long long ct_len = 0;
	kf.kdf = *kdf;
	memcpy(kf.pk, kp->pk, 32);
	randombytes_buf(kf.salt, sizeof kf.salt);
	randombytes_buf(kf.nonce, sizeof kf.nonce);
	if (derive_key(key, passphrase, &kf) != 0) {
		rc = mt_error_set(err, MT_ENOMEM, "not enough memory for Argon2id (%zu bytes)",
		                  kf.kdf.memlimit);
	} else {
		crypto_aead_xchacha20poly1305_ietf_encrypt(kf.ct, &ct_len, seed, sizeof seed, kf.pk,
		                                           sizeof kf.pk, NULL, kf.nonce, key);
		put_hex_field(buf, bufsz, len, "salt", kf.salt, sizeof kf.salt);
		*len += (size_t)snprintf(buf + *len, bufsz - *len, "opslimit=%llu\nmemlimit=%zu\n",
		                         kf.kdf.opslimit, kf.kdf.memlimit);
		put_hex_field(buf, bufsz, len, "nonce", kf.nonce, sizeof kf.nonce);
		put_hex_field(buf, bufsz, len, "ct", kf.ct, sizeof kf.ct);
	}
	sodium_memzero(key, sizeof key);
done:
	sodium_memzero(seed, sizeof seed);
	sodium_memzero(&kf, sizeof kf);
	return rc;
}

/* The directory part of `path` ("." when it has none) into dir. */
static int dir_of(char *dir, size_t dirsz, const char *path, mt_error *err)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return snprintf(dir, dirsz, ".") >= (int)dirsz
		           ? mt_error_set(err, MT_ETOOBIG, "%s: path too long", path)
		           : 0;
	size_t n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= dirsz)
		return mt_error_set(err, MT_ETOOBIG, "%s: path too long", path);
	memcpy(dir, path, n);
	dir[n] = '\0';
	return 0;
}

/* Make the names in the directory of `path` durable (best effort: the
 * files themselves are already fsync'ed). */
static void sync_dir_of(const char *path)
{
	char dir[PATH_MAX_LEN];
	if (dir_of(dir, sizeof dir, path, NULL) != 0)
		return;
	int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd >= 0) {
		(void)fsync(dir_fd);
		close(dir_fd);
	}
}

static int check_write_args(const char *passphrase, const mt_kdf_params *kdf, mt_error *err)
{
	if (mt_identity_init() != 0)
		return mt_error_set(err, MT_ECRYPTO, "libsodium failed to initialise");
	if (passphrase && !*passphrase)
		return mt_error_set(err, MT_EINVAL,
		                    "empty passphrase (pass NULL for no encryption)");
	if (passphrase && kdf_params_check(kdf) != 0)
		return mt_error_set(err, MT_EINVAL, "Argon2id opslimit/memlimit out of range");
	return 0;
}

int mt_keyfile_stage(char *tmp, size_t tmpsz, const char *path, const mt_keypair *kp,
                     const char *passphrase, const mt_kdf_params *kdf, mt_error *err)
{
	char dir[PATH_MAX_LEN];
	char text[1024];
	size_t len = 0;
	int fd = -1;
	int rc;

	if (tmpsz > 0)
		tmp[0] = '\0';
	if (!kdf)
		kdf = &KDF_DEFAULT;
	if ((rc = check_write_args(passphrase, kdf, err)) != 0)
		return rc;
	if ((rc = dir_of(dir, sizeof dir, path, err)) != 0)
		return rc;
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	if (!*base)
		return mt_error_set(err, MT_EINVAL, "%s: not a file name", path);
	int n = snprintf(tmp, tmpsz, "%s/.%s.XXXXXX", dir, base);
	if (n < 0 || (size_t)n >= tmpsz) {
		if (tmpsz > 0)
			tmp[0] = '\0';
		return mt_error_set(err, MT_ETOOBIG, "%s: path too long", path);
	}
	if ((rc = keyfile_render(text, sizeof text, &len, kp, passphrase, kdf, err)) != 0)
		goto fail;
	/* mkstemp: O_CREAT | O_EXCL, mode 0600, a name nobody else has. */
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = io_error(err, dir, "cannot create a temporary file", errno);
		goto fail;
	}
	if (fchmod(fd, 0600) != 0 || write_all(fd, text, len) != 0 || fsync(fd) != 0) {
		rc = io_error(err, tmp, "cannot write", errno);
		goto fail;
	}
	int closed = close(fd);
	fd = -1;
	if (closed != 0) {
		rc = io_error(err, tmp, "cannot write", errno);
		goto fail;
	}
	sodium_memzero(text, sizeof text);
	return 0;
fail:
	sodium_memzero(text, sizeof text);
	if (fd >= 0) {
		close(fd);
		(void)unlink(tmp);
	}
	tmp[0] = '\0';
	return rc;
}

int mt_keyfile_install(const char *tmp, const char *path, int replace, mt_error *err)
{
	if (replace) {
		/* rename() replaces `path` (a symbolic link there is replaced, not
		 * followed) in one step: a reader sees the old file or the new. */
		if (rename(tmp, path) != 0)
			return io_error(err, path, "cannot replace", errno);
	} else {
		/* link() fails with EEXIST instead of replacing, unlike rename(). */
		if (link(tmp, path) != 0) {
			if (errno == EEXIST)
				return mt_error_set(err, MT_EEXISTS,
				                    "%s: a key file already exists; refusing to "
				                    "overwrite it",
				                    path);
			return io_error(err, path, "cannot create", errno);
		}
		(void)unlink(tmp);
	}
	sync_dir_of(path);
	return 0;
}

int mt_keyfile_create_at(const char *path, const mt_keypair *kp, const char *passphrase,
                         const mt_kdf_params *kdf, mt_error *err)
{
	char tmp[PATH_MAX_LEN];
	struct stat st;
	/* Checked here so a refusal is quick; link() is what guarantees it. */
	if (lstat(path, &st) == 0)
		return mt_error_set(err, MT_EEXISTS,
		                    "%s: a key file already exists; refusing to overwrite it", path);
	int rc = mt_keyfile_stage(tmp, sizeof tmp, path, kp, passphrase, kdf, err);
	if (rc != 0)
		return rc;
	if ((rc = mt_keyfile_install(tmp, path, 0, err)) != 0)
		(void)unlink(tmp);
	return rc;
}

int mt_keyfile_replace_at(const char *path, const mt_keypair *kp, const char *passphrase,
                          const mt_kdf_params *kdf, mt_error *err)
{
	char tmp[PATH_MAX_LEN];
	int rc = mt_keyfile_stage(tmp, sizeof tmp, path, kp, passphrase, kdf, err);
	if (rc != 0)
		return rc;
	if ((rc = mt_keyfile_install(tmp, path, 1, err)) != 0)
		(void)unlink(tmp);
	return rc;
}

int mt_keyfile_write_kdf(const char *home, const mt_keypair *kp, const char *passphrase,
                         const mt_kdf_params *kdf, mt_error *err)
{
	char path[PATH_MAX_LEN];
	struct stat st;
	int rc;

	if (!kdf)
		kdf = &KDF_DEFAULT;
	if ((rc = check_write_args(passphrase, kdf, err)) != 0)
		return rc;
	if ((rc = mt_keyfile_path(path, sizeof path, home, err)) != 0)
		return rc;
	if ((rc = ensure_home(home, err)) != 0)
		return rc;
	/* Checked here so a refusal is quick; link() below is what guarantees it. */
	if (lstat(path, &st) == 0)
		return mt_error_set(err, MT_EEXISTS,
		                    "%s: an identity key already exists; refusing to overwrite it",
		                    path);
	rc = mt_keyfile_create_at(path, kp, passphrase, kdf, err);
	if (rc == MT_EEXISTS)
		return mt_error_set(err, MT_EEXISTS,
		                    "%s: an identity key already exists; refusing to overwrite it",
		                    path);
	return rc;
}

int mt_keyfile_write(const char *home, const mt_keypair *kp, const char *passphrase, mt_error *err)
{
	return mt_keyfile_write_kdf(home, kp, passphrase, NULL, err);
}

/* ---- seed backups and passphrase files ---------------------------------------- */

static int is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int mt_seed_file_read(unsigned char seed[32], const char *path, mt_error *err)
{
	unsigned char buf[SEED_FILE_MAX + 1];
	struct stat st;
	size_t len = 0;
	int fd = -1;
	int rc;

	memset(seed, 0, 32);
	if ((rc = open_input(&fd, &st, path, 1, 0, err)) != 0)
		return rc;
	if ((rc = read_some(buf, sizeof buf, &len, fd, path, err)) != 0)
		goto done;
	if (len > SEED_FILE_MAX) {
		rc = mt_error_set(err, MT_ETOOBIG,
		                  "%s: not a seed backup (larger than %d bytes; expected 64 hex "
		                  "characters)",
		                  path, SEED_FILE_MAX);
		goto done;
	}
	size_t start = 0, end = len;
	while (start < end && is_blank(buf[start]))
		start++;
	while (end > start && is_blank(buf[end - 1]))
		end--;
	if (memchr(buf + start, '\0', end - start)) {
		rc = mt_error_set(err, MT_EINVAL, "%s: not a seed backup (NUL byte)", path);
		goto done;
	}
	buf[end] = '\0';
	if (mt_hex_decode(seed, 32, (const char *)buf + start, err) != 0)
		rc = mt_error_wrap(err, "%s: not a seed backup", path);
done:
	sodium_memzero(buf, sizeof buf);
	close(fd);
	if (rc != 0)
		memset(seed, 0, 32);
	return rc;
}

int mt_passphrase_file_read(char **out, const char *path, mt_error *err)
{
	/* Room for the longest passphrase plus "\r\n", and one byte to notice more. */
	unsigned char buf[MT_PASSPHRASE_MAX + 3];
	struct stat st;
	size_t len = 0;
	int fd = -1;
	int rc;

	*out = NULL;
	if ((rc = open_input(&fd, &st, path, 1, 0, err)) != 0)
		return rc;
	if ((rc = read_some(buf, sizeof buf, &len, fd, path, err)) != 0)
		goto done;
	unsigned char *newline = memchr(buf, '\n', len);
	size_t line_len = newline ? (size_t)(newline - buf) : len;
	if (line_len > 0 && buf[line_len - 1] == '\r')
		line_len--;
	if (line_len > MT_PASSPHRASE_MAX) {
		rc = mt_error_set(err, MT_ETOOBIG, "%s: passphrase longer than %d bytes", path,
		                  MT_PASSPHRASE_MAX);
		goto done;
	}
	if (line_len == 0) {
		rc = mt_error_set(err, MT_EINVAL, "%s: empty passphrase (first line is empty)",
		                  path);
		goto done;
	}
	if (memchr(buf, '\0', line_len)) {
		rc = mt_error_set(err, MT_EINVAL, "%s: passphrase contains a NUL byte", path);
		goto done;
	}
	*out = malloc(line_len + 1);
	if (!*out) {
		rc = mt_error_set(err, MT_ENOMEM, "%s: out of memory", path);
		goto done;
	}
	memcpy(*out, buf, line_len);
	(*out)[line_len] = '\0';
done:
	sodium_memzero(buf, sizeof buf);
	close(fd);
	return rc;
}

void mt_passphrase_free(char *passphrase)
{
	if (!passphrase)
		return;
	sodium_memzero(passphrase, strlen(passphrase));
	free(passphrase);
}
