/* Key file storage, seed backups and passphrase files (SPEC §1). */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meshtrust/encoding.h"
#include "meshtrust/identity.h"
#include "testutil.h"

#define assert_contains(haystack, needle)                                                          \
	do {                                                                                       \
		if (!strstr((haystack), (needle)))                                                 \
			fail_msg("\"%s\" does not contain \"%s\"", (haystack), (needle));          \
	} while (0)
#define assert_not_contains(haystack, needle)                                                      \
	do {                                                                                       \
		if (strstr((haystack), (needle)))                                                  \
			fail_msg("\"%s\" contains \"%s\"", (haystack), (needle));                  \
	} while (0)

/* The cheapest Argon2id cost, so the encrypted-file tests stay fast (and
 * bearable under valgrind); one test uses the default cost. */
static const mt_kdf_params FAST_KDF = {1, 8192};

/* Per-test fixture: a temporary directory, a home inside it (not yet created)
 * and the key pair of the first identity vector. */
typedef struct fixture {
	char *tmp;
	char home[512];
	char keypath[600];
	mt_keypair kp;
	char seed_hex[65];
} fixture;

static int setup(void **state)
{
	fixture *fx = calloc(1, sizeof *fx);
	unsigned char seed[32];
	if (!fx || mt_identity_init() != 0)
		return -1;
	fx->tmp = mt_test_tmpdir();
	snprintf(fx->home, sizeof fx->home, "%s/mesh-home", fx->tmp);
	snprintf(fx->keypath, sizeof fx->keypath, "%s/identity.key", fx->home);
	json_t *doc = mt_test_load_vector("identity.json");
	json_t *c = json_array_get(json_object_get(doc, "cases"), 0);
	snprintf(fx->seed_hex, sizeof fx->seed_hex, "%s",
	         json_string_value(json_object_get(c, "seed")));
	json_decref(doc);
	mt_test_hex(seed, 32, fx->seed_hex);
	if (mt_keypair_from_seed(&fx->kp, seed) != 0)
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	fixture *fx = *state;
	mt_test_rmtree(fx->tmp);
	free(fx->tmp);
	mt_keypair_wipe(&fx->kp);
	free(fx);
	return 0;
}

/* Read a whole (small) file into a NUL-terminated static-size buffer. */
static size_t slurp(char *out, size_t outsz, const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t n = fread(out, 1, outsz - 1, f);
	fclose(f);
	out[n] = '\0';
	return n;
}

static void spew(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

/* Names in `dir` other than . and .. */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void test_plain_roundtrip(void **state)
{
	fixture *fx = *state;
	mt_error err = {0};
	mt_keypair back;
	unsigned char pk[32];
	int encrypted = -1;
	char text[MT_KEYFILE_MAX + 1];

	assert_int_equal(mt_keyfile_write(fx->home, &fx->kp, NULL, &err), 0);
	assert_int_equal(mode_of(fx->home), 0700);
	assert_int_equal(mode_of(fx->keypath), 0600);
	assert_int_equal(count_entries(fx->home), 1); /* no temporary file left */

	/* The documented plain format (docs/identity.md). */
	slurp(text, sizeof text, fx->keypath);
	assert_contains(text, "\nv=1\nkind=ed25519-seed\n");
	char line[80];
	snprintf(line, sizeof line, "\nseed=%s\n", fx->seed_hex);
	assert_contains(text, line);

	assert_int_equal(mt_keyfile_read(&back, fx->home, NULL, &err), 0);
	assert_memory_equal(&back, &fx->kp, sizeof back);
	/* A passphrase is ignored for a plain key. */
	assert_int_equal(mt_keyfile_read(&back, fx->home, "unused", &err), 0);
	assert_memory_equal(&back, &fx->kp, sizeof back);
	mt_keypair_wipe(&back);

	assert_int_equal(mt_keyfile_is_encrypted(&encrypted, fx->home, &err), 0);
	assert_int_equal(encrypted, 0);
	assert_int_equal(mt_keyfile_read_public(pk, fx->home, &err), 0);
	assert_memory_equal(pk, fx->kp.pk, 32);
}

static void test_encrypted_roundtrip(void **state)
{
	fixture *fx = *state;
	mt_error err = {0};
	mt_keypair back;
	unsigned char pk[32];
	int encrypted = -1;
	char text[MT_KEYFILE_MAX + 1];

	assert_int_equal(mt_keyfile_write_kdf(fx->home, &fx->kp, "correct horse", &FAST_KDF, &err),
	                 0);
	assert_int_equal(mode_of(fx->keypath), 0600);
	slurp(text, sizeof text, fx->keypath);
	assert_contains(text, "kind=ed25519-seed-argon2id-xchacha20poly1305\n");
	assert_contains(text, "\nopslimit=1\nmemlimit=8192\n");
	assert_not_contains(text, fx->seed_hex);
	assert_not_contains(text, "\nseed=");

	assert_int_equal(mt_keyfile_read(&back, fx->home, "correct horse", &err), 0);
	assert_memory_equal(&back, &fx->kp, sizeof back);

	assert_int_equal(mt_keyfile_is_encrypted(&encrypted, fx->home, &err), 0);
	assert_int_equal(encrypted, 1);
	assert_int_equal(mt_keyfile_read_public(pk, fx->home, &err), 0);
	assert_memory_equal(pk, fx->kp.pk, 32);

	/* No passphrase, or a wrong one. */
	assert_int_equal(mt_keyfile_read(&back, fx->home, NULL, &err), MT_EPERM);
	assert_contains(err.msg, "key is encrypted: passphrase required");
	assert_contains(err.msg, fx->keypath);
	unsigned char zero[sizeof back] = {0};
	assert_memory_equal(&back, zero, sizeof back);
	assert_int_equal(mt_keyfile_read(&back, fx->home, "correct horsE", &err), MT_ECRYPTO);
	assert_contains(err.msg, "wrong passphrase or corrupt key file");
	assert_memory_equal(&back, zero, sizeof back);
	assert_int_equal(mt_keyfile_read(&back, fx->home, "", &err), MT_ECRYPTO);
}

/* The default (INTERACTIVE) cost works end to end and is recorded. */
static void test_encrypted_default_cost(void **state)
{
	fixture *fx = *state;
	mt_error err = {0};
	mt_keypair back;
	char text[MT_KEYFILE_MAX + 1];
	char want[64];

	assert_int_equal(mt_keyfile_write(fx->home, &fx->kp, "pw", &err), 0);
	slurp(text, sizeof text, fx->keypath);
	snprintf(want, sizeof want, "\nopslimit=%llu\nmemlimit=%zu\n",
	         (unsigned long long)crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
	         (size_t)crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE);
	assert_contains(text, want);
	assert_int_equal(mt_keyfile_read(&back, fx->home, "pw", &err), 0);
	assert_memory_equal(&back, &fx->kp, sizeof back);
	mt_keypair_wipe(&back);
}

static void test_never_overwrites(void **state)
{
	fixture *fx = *state;
	mt_error err = {0};
	mt_keypair other, back;
	char before[MT_KEYFILE_MAX + 1], after[MT_KEYFILE_MAX + 1];

	assert_int_equal(mt_keyfile_write(fx->home, &fx->kp, NULL, &err), 0);
	size_t n = slurp(before, sizeof before, fx->keypath);
	assert_int_equal(mt_keypair_generate(&other), 0);
	assert_int_equal(mt_keyfile_write(fx->home, &other, NULL, &err), MT_EEXISTS);
	assert_contains(err.msg, "already exists");
	assert_contains(err.msg, fx->keypath);
	assert_int_equal(mt_keyfile_write_kdf(fx->home, &other, "pw", &FAST_KDF, &err), MT_EEXISTS);
	assert_int_equal(slurp(after, sizeof after, fx->keypath), n);
	assert_string_equal(after, before);
	assert_int_equal(count_entries(fx->home), 1);
	assert_int_equal(mt_keyfile_read(&back, fx->home, NULL, &err), 0);
	assert_memory_equal(back.pk, fx->kp.pk, 32);
	mt_keypair_wipe(&other);
	mt_keypair_wipe(&back);
}

static void test_permissions_refused(void **state)
{
	fixture *fx = *state;
	mt_error err = {0};
	mt_keypair back;
	int encrypted = 0;
	char want[1400];

	assert_int_equal(mt_keyfile_write(fx->home, &fx->kp, NULL, &err), 0);
	const mode_t bad_modes[] = {0644, 0640, 0604, 0660, 0601};
	for (size_t i = 0; i < sizeof bad_modes / sizeof bad_modes[0]; i++) {
		assert_int_equal(chmod(fx->keypath, bad_modes[i]), 0);
		assert_int_equal(mt_keyfile_read(&back, fx->home, NULL, &err), MT_EPERM);
		snprintf(want, sizeof want,
		         "%s: permissions %04o are too open (must be 0600: chmod 600 %s)",
		         fx->keypath, (unsigned)bad_modes[i], fx->keypath);
		assert_string_equal(err.msg, want);
		assert_int_equal(mt_keyfile_is_encrypted(&encrypted, fx->home, &err), MT_EPERM);
		assert_contains(err.msg, "too open");
	}
	/* Stricter than 0600 is fine. */
	assert_int_equal(chmod(fx->keypath, 0400), 0);
	assert_int_equal(mt_keyfile_read(&back, fx->home, NULL, &err), 0);
	assert_memory_equal(back.pk, fx->kp.pk, 32);
	mt_keypair_wipe(&back);
}

static void test_home_checks(void **state)
{
	fixture *fx = *state;
	mt_error err = {0};
	mt_keypair back;

	/* Missing key: ENOTFOUND, pointing at `mesh init`. */
	assert_int_equal(mt_keyfile_read(&back, fx->home, NULL, &err), MT_ENOTFOUND);
	assert_contains(err.msg, "mesh init");
	assert_contains(err.msg, fx->keypath);

	/* An existing home open to others is refused, not silently tightened. */
	assert_int_equal(mkdir(fx->home, 0755), 0);
	assert_int_equal(chmod(fx->home, 0755), 0);
	assert_int_equal(mt_keyfile_write(fx->home, &fx->kp, NULL, &err), MT_EPERM);
	assert_contains(err.msg, "permissions 0755 are too open (must be 0700: chmod 700");
	assert_int_equal(mode_of(fx->home), 0755);
	assert_int_equal(count_entries(fx->home), 0);

	/* Once fixed, the write succeeds. */
	assert_int_equal(chmod(fx->home, 0700), 0);
	assert_int_equal(mt_keyfile_write(fx->home, &fx->kp, NULL, &err), 0);

	/* A home that is a file; a home whose parent does not exist. */
	char path[700];
	snprintf(path, sizeof path, "%s/plain-file", fx->tmp);
	spew(path, "x", 1, 0600);
	assert_int_equal(mt_keyfile_write(path, &fx->kp, NULL, &err), MT_EPERM);
	assert_contains(err.msg, "not a directory");
	snprintf(path, sizeof path, "%s/no/such/home", fx->tmp);
	assert_int_equal(mt_keyfile_write(path, &fx->kp, NULL, &err), MT_ENOTFOUND);
	assert_contains(err.msg, path);

	/* A directory where the key file should be. */
	snprintf(path, sizeof path, "%s/home2", fx->tmp);
	assert_int_equal(mkdir(path, 0700), 0);
	char keydir[800];
	snprintf(keydir, sizeof keydir, "%s/identity.key", path);
	assert_int_equal(mkdir(keydir, 0700), 0);
	assert_int_equal(mt_keyfile_read(&back, path, NULL, &err), MT_EINVAL);
	assert_contains(err.msg, "not a regular file");
	assert_int_equal(mt_keyfile_write(path, &fx->kp, NULL, &err), MT_EEXISTS);
}

/* Not a regular file where identity.key belongs: a FIFO (which would block a
 * plain open() forever), a symbolic link to a good key, a device. Each is
 * refused at once, naming the path; the FIFO is left in place. */
static void test_not_a_regular_file(void **state)
{
	fixture *fx = *state;
	mt_error err = {0};
	mt_keypair back;
	unsigned char pk[32];
	int enc = 0;
	char real[700];
	assert_int_equal(mt_keyfile_write(fx->home, &fx->kp, NULL, &err), 0);
	snprintf(real, sizeof real, "%s.real", fx->keypath);
	assert_int_equal(rename(fx->keypath, real), 0);

	assert_int_equal(mkfifo(fx->keypath, 0600), 0);
	assert_int_equal(mt_keyfile_read(&back, fx->home, NULL, &err), MT_EINVAL);
	assert_contains(err.msg, fx->keypath);
	assert_contains(err.msg, "not a regular file (a FIFO)");
	assert_int_equal(mt_keyfile_read_public(pk, fx->home, &err), MT_EINVAL);
	assert_int_equal(mt_keyfile_is_encrypted(&enc, fx->home, &err), MT_EINVAL);
	struct stat st;
	assert_int_equal(lstat(fx->keypath, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	/* a FIFO with no writer as a passphrase file is not waited on either */
	char *pass = NULL;
	assert_int_equal(mt_passphrase_file_read(&pass, fx->keypath, &err), MT_EINVAL);
	assert_null(pass);
	assert_int_equal(unlink(fx->keypath), 0);

	assert_int_equal(symlink(real, fx->keypath), 0);
	assert_int_equal(mt_keyfile_read(&back, fx->home, NULL, &err), MT_EINVAL);
	assert_contains(err.msg, fx->keypath);
	assert_contains(err.msg, "symbolic link");
	assert_int_equal(unlink(fx->keypath), 0);

	assert_int_equal(symlink("/dev/zero", fx->keypath), 0);
	assert_int_equal(mt_keyfile_read(&back, fx->home, NULL, &err), MT_EINVAL);
	assert_contains(err.msg, "symbolic link");
	assert_int_equal(unlink(fx->keypath), 0);

	assert_int_equal(rename(real, fx->keypath), 0);
	assert_int_equal(mt_keyfile_read(&back, fx->home, NULL, &err), 0);
	assert_memory_equal(back.pk, fx->kp.pk, 32);
	mt_keypair_wipe(&back);
}

static void test_bad_write_arguments(void **state)
{
	fixture *fx = *state;
	mt_error err = {0};
	const mt_kdf_params too_cheap = {1, 1024};
	const mt_kdf_params too_costly = {33, 8192};

	assert_int_equal(mt_keyfile_write(fx->home, &fx->kp, "", &err), MT_EINVAL);
	assert_contains(err.msg, "empty passphrase");
	assert_int_equal(mt_keyfile_write_kdf(fx->home, &fx->kp, "pw", &too_cheap, &err),
	                 MT_EINVAL);
	assert_int_equal(mt_keyfile_write_kdf(fx->home, &fx->kp, "pw", &too_costly, &err),
	                 MT_EINVAL);
	/* Nothing was created by the refusals. */
	struct stat st;
	assert_int_equal(stat(fx->home, &st), -1);

	char huge[5000];
	memset(huge, 'a', sizeof huge - 1);
	huge[sizeof huge - 1] = '\0';
	assert_int_equal(mt_keyfile_write(huge, &fx->kp, NULL, &err), MT_ETOOBIG);
}

/* Replace the key file with `text` (mode 0600) and expect `code` on read. */
static void expect_corrupt(fixture *fx, const char *text, size_t len, const char *passphrase,
                           int code, const char *reason)
{
	mt_error err = {0};
	mt_keypair back;
	unsigned char zero[sizeof back] = {0};
	spew(fx->keypath, text, len, 0600);
	assert_int_equal(mt_keyfile_read(&back, fx->home, passphrase, &err), code);
	assert_memory_equal(&back, zero, sizeof back);
	assert_contains(err.msg, fx->keypath);
	assert_contains(err.msg, reason);
	assert_not_contains(err.msg, fx->seed_hex);
}

/* Copy `text` replacing the first occurrence of `from` with `to`. */
static void edit(char *out, size_t outsz, const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	assert_non_null(at);
	snprintf(out, outsz, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
}

static void test_corrupt_plain(void **state)
{
	fixture *fx = *state;
	mt_error err = {0};
	char good[MT_KEYFILE_MAX + 1], bad[MT_KEYFILE_MAX + 200];

	assert_int_equal(mt_keyfile_write(fx->home, &fx->kp, NULL, &err), 0);
	size_t n = slurp(good, sizeof good, fx->keypath);

	/* Truncated at several points, including mid-seed and empty. */
	for (size_t cut = 0; cut < n - 1; cut += 7)
		expect_corrupt(fx, good, cut, NULL, MT_EINVAL, "malformed key file");

	/* Binary garbage, a NUL byte, an oversize file. */
	unsigned char junk[300];
	randombytes_buf(junk, sizeof junk);
	junk[0] = 0x00;
	expect_corrupt(fx, (const char *)junk, sizeof junk, NULL, MT_EINVAL, "malformed key file");
	memset(bad, '#', MT_KEYFILE_MAX + 1);
	expect_corrupt(fx, bad, MT_KEYFILE_MAX + 1, NULL, MT_ETOOBIG, "larger than 4096 bytes");

	/* Structural errors. */
	snprintf(bad, sizeof bad, "%sextra=1\n", good);
	expect_corrupt(fx, bad, strlen(bad), NULL, MT_EINVAL, "line 7 is not a known");
	snprintf(bad, sizeof bad, "%sv=1\n", good);
	expect_corrupt(fx, bad, strlen(bad), NULL, MT_EINVAL, "field \"v\" repeated");
	edit(bad, sizeof bad, good, "v=1", "v=2");
	expect_corrupt(fx, bad, strlen(bad), NULL, MT_EINVAL, "unsupported version");
	edit(bad, sizeof bad, good, "kind=ed25519-seed", "kind=rsa");
	expect_corrupt(fx, bad, strlen(bad), NULL, MT_EINVAL, "unknown \"kind\"");
	snprintf(bad, sizeof bad, "%snonce=00\n", good);
	expect_corrupt(fx, bad, strlen(bad), NULL, MT_EINVAL,
	               "field \"nonce\" does not belong to kind ed25519-seed");
	edit(bad, sizeof bad, good, "seed=", "seed=0");
	expect_corrupt(fx, bad, strlen(bad), NULL, MT_EINVAL, "field \"seed\": expected 64 hex");
	edit(bad, sizeof bad, good, "\nseed=", "\nseed =");
	expect_corrupt(fx, bad, strlen(bad), NULL, MT_EINVAL, "is not a known name=value field");

	/* A valid seed that does not match the recorded public key. */
	const char *seed_line = strstr(good, "\nseed=");
	assert_non_null(seed_line);
	snprintf(bad, sizeof bad, "%.*sseed=%064d\n", (int)(seed_line + 1 - good), good, 7);
	expect_corrupt(fx, bad, strlen(bad), NULL, MT_ECRYPTO, "public key does not match");

	/* Without the final newline the file is still accepted. */
	spew(fx->keypath, good, n - 1, 0600);
	mt_keypair back;
	assert_int_equal(mt_keyfile_read(&back, fx->home, NULL, &err), 0);
	assert_memory_equal(back.pk, fx->kp.pk, 32);
	mt_keypair_wipe(&back);
}

static void test_corrupt_encrypted(void **state)
{
	fixture *fx = *state;
	mt_error err = {0};
	char good[MT_KEYFILE_MAX + 1], bad[MT_KEYFILE_MAX + 200];
	mt_keypair other;

	assert_int_equal(mt_keyfile_write_kdf(fx->home, &fx->kp, "pw", &FAST_KDF, &err), 0);
	size_t n = slurp(good, sizeof good, fx->keypath);
	for (size_t cut = 0; cut < n - 1; cut += 11)
		expect_corrupt(fx, good, cut, "pw", MT_EINVAL, "malformed key file");

	/* Flip one ciphertext digit: authentication fails. */
	char *ct = strstr(good, "\nct=");
	assert_non_null(ct);
	memcpy(bad, good, n + 1);
	bad[(ct - good) + 5] = bad[(ct - good) + 5] == '0' ? '1' : '0';
	expect_corrupt(fx, bad, n, "pw", MT_ECRYPTO, "wrong passphrase or corrupt key file");

	/* Swap in another public key: it is bound as associated data. */
	char pk_line[80], other_line[80];
	assert_int_equal(mt_keypair_generate(&other), 0);
	strcpy(pk_line, "public_key=");
	mt_hex_encode(pk_line + 11, sizeof pk_line - 11, fx->kp.pk, 32);
	strcpy(other_line, "public_key=");
	mt_hex_encode(other_line + 11, sizeof other_line - 11, other.pk, 32);
	edit(bad, sizeof bad, good, pk_line, other_line);
	expect_corrupt(fx, bad, strlen(bad), "pw", MT_ECRYPTO, "wrong passphrase or corrupt");
	mt_keypair_wipe(&other);

	/* Hostile KDF parameters are refused before any work is done. */
	edit(bad, sizeof bad, good, "memlimit=8192", "memlimit=99999999999999");
	expect_corrupt(fx, bad, strlen(bad), "pw", MT_EINVAL, "out of range");
	edit(bad, sizeof bad, good, "opslimit=1", "opslimit=0");
	expect_corrupt(fx, bad, strlen(bad), "pw", MT_EINVAL, "out of range");
	edit(bad, sizeof bad, good, "opslimit=1", "opslimit=01");
	expect_corrupt(fx, bad, strlen(bad), "pw", MT_EINVAL, "are not numbers");
	edit(bad, sizeof bad, good, "opslimit=1", "opslimit=-1");
	expect_corrupt(fx, bad, strlen(bad), "pw", MT_EINVAL, "are not numbers");
	edit(bad, sizeof bad, good, "opslimit=1", "opslimit=99999999999999999999999");
	expect_corrupt(fx, bad, strlen(bad), "pw", MT_EINVAL, "are not numbers");
}

static void test_seed_file(void **state)
{
	fixture *fx = *state;
	mt_error err = {0};
	unsigned char seed[32], want[32], zero[32] = {0};
	char path[700], text[200];

	mt_test_hex(want, 32, fx->seed_hex);
	snprintf(path, sizeof path, "%s/seed.hex", fx->tmp);

	snprintf(text, sizeof text, "%s\n", fx->seed_hex);
	spew(path, text, strlen(text), 0600);
	assert_int_equal(mt_seed_file_read(seed, path, &err), 0);
	assert_memory_equal(seed, want, 32);

	snprintf(text, sizeof text, " \t\r\n%s\r\n\n  ", fx->seed_hex);
	spew(path, text, strlen(text), 0600);
	assert_int_equal(mt_seed_file_read(seed, path, &err), 0);
	assert_memory_equal(seed, want, 32);

	/* Upper-case digits are the same seed. */
	for (size_t i = 0; i < 64; i++)
		text[i] = (char)(fx->seed_hex[i] >= 'a' ? fx->seed_hex[i] - 32 : fx->seed_hex[i]);
	spew(path, text, 64, 0600);
	assert_int_equal(mt_seed_file_read(seed, path, &err), 0);
	assert_memory_equal(seed, want, 32);

	/* Malformed: short, long, inner space, trailing junk, 0x prefix, empty. */
	const char *bad[] = {"%.63s\n", "%s0\n", "%.32s %s\n", "%s x\n", "0x%s\n", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
		snprintf(text, sizeof text, bad[i], fx->seed_hex, fx->seed_hex + 32);
#pragma GCC diagnostic pop
		spew(path, text, strlen(text), 0600);
		memset(seed, 0x55, sizeof seed);
		assert_int_equal(mt_seed_file_read(seed, path, &err), MT_EINVAL);
		assert_memory_equal(seed, zero, 32);
		assert_contains(err.msg, path);
		assert_contains(err.msg, "not a seed backup");
		assert_not_contains(err.msg, fx->seed_hex + 40);
	}

	char big[1100];
	memset(big, ' ', sizeof big);
	spew(path, big, sizeof big, 0600);
	assert_int_equal(mt_seed_file_read(seed, path, &err), MT_ETOOBIG);

	snprintf(path, sizeof path, "%s/missing.hex", fx->tmp);
	assert_int_equal(mt_seed_file_read(seed, path, &err), MT_ENOTFOUND);
	assert_contains(err.msg, path);

	/* Restoring from the backup gives the vector's identity. */
	mt_keypair kp;
	assert_int_equal(mt_keypair_from_seed(&kp, want), 0);
	assert_memory_equal(kp.pk, fx->kp.pk, 32);
	mt_keypair_wipe(&kp);
}

static void test_passphrase_file(void **state)
{
	fixture *fx = *state;
	mt_error err = {0};
	char path[700];
	char *pass = (char *)"sentinel";
	snprintf(path, sizeof path, "%s/pass.txt", fx->tmp);

	const char *const good[][2] = {
	    {"hunter2\n", "hunter2"},      {"hunter2", "hunter2"},
	    {"hunter2\r\n", "hunter2"},    {"two words \nsecond line\n", "two words "},
	    {" spaced\t\nx", " spaced\t"},
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		spew(path, good[i][0], strlen(good[i][0]), 0600);
		assert_int_equal(mt_passphrase_file_read(&pass, path, &err), 0);
		assert_string_equal(pass, good[i][1]);
		mt_passphrase_free(pass);
	}

	const char *const empty[] = {"", "\n", "\r\n", "\nsecond\n"};
	for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
		spew(path, empty[i], strlen(empty[i]), 0600);
		assert_int_equal(mt_passphrase_file_read(&pass, path, &err), MT_EINVAL);
		assert_null(pass);
		assert_contains(err.msg, "empty passphrase");
		assert_contains(err.msg, path);
	}
	spew(path, "a\0b\n", 4, 0600);
	assert_int_equal(mt_passphrase_file_read(&pass, path, &err), MT_EINVAL);
	assert_null(pass);

	/* Exactly the maximum is fine; one more byte is not. */
	char long_line[MT_PASSPHRASE_MAX + 3];
	memset(long_line, 'p', sizeof long_line);
	long_line[MT_PASSPHRASE_MAX] = '\n';
	spew(path, long_line, MT_PASSPHRASE_MAX + 1, 0600);
	assert_int_equal(mt_passphrase_file_read(&pass, path, &err), 0);
	assert_int_equal(strlen(pass), MT_PASSPHRASE_MAX);
	mt_passphrase_free(pass);
	memset(long_line, 'p', sizeof long_line);
	spew(path, long_line, MT_PASSPHRASE_MAX + 1, 0600);
	assert_int_equal(mt_passphrase_file_read(&pass, path, &err), MT_ETOOBIG);
	assert_null(pass);

	snprintf(path, sizeof path, "%s/missing.txt", fx->tmp);
	assert_int_equal(mt_passphrase_file_read(&pass, path, &err), MT_ENOTFOUND);
	assert_null(pass);
	mt_passphrase_free(NULL);

	/* A passphrase read from a file unlocks a key written with it. */
	snprintf(path, sizeof path, "%s/pass.txt", fx->tmp);
	spew(path, "from a file\n", 12, 0600);
	assert_int_equal(mt_passphrase_file_read(&pass, path, &err), 0);
	assert_int_equal(mt_keyfile_write_kdf(fx->home, &fx->kp, pass, &FAST_KDF, &err), 0);
	mt_keypair back;
	assert_int_equal(mt_keyfile_read(&back, fx->home, pass, &err), 0);
	assert_memory_equal(&back, &fx->kp, sizeof back);
	mt_keypair_wipe(&back);
	mt_passphrase_free(pass);
}

/* ---- key files at a path (next.key, --next-key FILE, passwd) ---------------- */

static void test_at_roundtrip(void **state)
{
	fixture *fx = *state;
	mt_error err = {0};
	mt_keypair other, back;
	unsigned char pk[32];
	int encrypted = -1;
	char path[700], before[MT_KEYFILE_MAX + 1], after[MT_KEYFILE_MAX + 1];

	assert_int_equal(mkdir(fx->home, 0700), 0);
	assert_int_equal(mt_nextkey_path(path, sizeof path, fx->home, &err), 0);
	assert_int_equal(strcmp(path + strlen(path) - 9, "/next.key"), 0);

	/* Missing: named as a missing file, not as a missing identity. */
	assert_int_equal(mt_keyfile_read_at(&back, path, NULL, &err), MT_ENOTFOUND);
	assert_contains(err.msg, "no such key file");
	assert_contains(err.msg, path);

	/* Plain: same format as identity.key, 0600, nothing else left behind. */
	assert_int_equal(mt_keyfile_create_at(path, &fx->kp, NULL, NULL, &err), 0);
	assert_int_equal(mode_of(path), 0600);
	assert_int_equal(count_entries(fx->home), 1);
	slurp(before, sizeof before, path);
	assert_contains(before, "\nv=1\nkind=ed25519-seed\n");
	assert_int_equal(mt_keyfile_read_at(&back, path, NULL, &err), 0);
	assert_memory_equal(&back, &fx->kp, sizeof back);
	assert_int_equal(mt_keyfile_read_public_at(pk, path, &err), 0);
	assert_memory_equal(pk, fx->kp.pk, 32);
	assert_int_equal(mt_keyfile_is_encrypted_at(&encrypted, path, &err), 0);
	assert_int_equal(encrypted, 0);

	/* create never overwrites. */
	assert_int_equal(mt_keypair_generate(&other), 0);
	assert_int_equal(mt_keyfile_create_at(path, &other, NULL, NULL, &err), MT_EEXISTS);
	assert_contains(err.msg, "already exists");
	slurp(after, sizeof after, path);
	assert_string_equal(after, before);
	assert_int_equal(count_entries(fx->home), 1);

	/* replace does, atomically, and may encrypt; the home functions read the
	 * same format (identity.key written by path). */
	assert_int_equal(mt_keyfile_replace_at(path, &other, "pw", &FAST_KDF, &err), 0);
	assert_int_equal(mode_of(path), 0600);
	assert_int_equal(count_entries(fx->home), 1);
	assert_int_equal(mt_keyfile_is_encrypted_at(&encrypted, path, &err), 0);
	assert_int_equal(encrypted, 1);
	assert_int_equal(mt_keyfile_read_at(&back, path, NULL, &err), MT_EPERM);
	assert_contains(err.msg, "passphrase required");
	assert_int_equal(mt_keyfile_read_at(&back, path, "wrong", &err), MT_ECRYPTO);
	assert_int_equal(mt_keyfile_read_at(&back, path, "pw", &err), 0);
	assert_memory_equal(&back, &other, sizeof back);
	/* ...and back to plain. */
	assert_int_equal(mt_keyfile_replace_at(path, &other, NULL, NULL, &err), 0);
	assert_int_equal(mt_keyfile_read_at(&back, path, NULL, &err), 0);
	assert_memory_equal(&back, &other, sizeof back);

	char idpath[700];
	snprintf(idpath, sizeof idpath, "%s/identity.key", fx->home);
	assert_int_equal(mt_keyfile_create_at(idpath, &fx->kp, NULL, NULL, &err), 0);
	assert_int_equal(mt_keyfile_read(&back, fx->home, NULL, &err), 0);
	assert_memory_equal(&back, &fx->kp, sizeof back);
	mt_keypair_wipe(&other);
	mt_keypair_wipe(&back);
}

static void test_at_checks(void **state)
{
	fixture *fx = *state;
	mt_error err = {0};
	mt_keypair back;
	char path[700], link_path[700];

	assert_int_equal(mkdir(fx->home, 0700), 0);
	snprintf(path, sizeof path, "%s/k", fx->home);
	assert_int_equal(mt_keyfile_create_at(path, &fx->kp, NULL, NULL, &err), 0);
	/* Too open. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(mt_keyfile_read_at(&back, path, NULL, &err), MT_EPERM);
	assert_contains(err.msg, "too open");
	assert_int_equal(chmod(path, 0600), 0);
	/* A symbolic link is not followed for reading. */
	snprintf(link_path, sizeof link_path, "%s/link", fx->home);
	assert_int_equal(symlink(path, link_path), 0);
	assert_int_equal(mt_keyfile_read_at(&back, link_path, NULL, &err), MT_EINVAL);
	assert_contains(err.msg, "symbolic link");
	/* create refuses to write through it; replace replaces the link itself. */
	assert_int_equal(mt_keyfile_create_at(link_path, &fx->kp, NULL, NULL, &err), MT_EEXISTS);
	mt_keypair other;
	assert_int_equal(mt_keypair_generate(&other), 0);
	assert_int_equal(mt_keyfile_replace_at(link_path, &other, NULL, NULL, &err), 0);
	struct stat st;
	assert_int_equal(lstat(link_path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(mt_keyfile_read_at(&back, path, NULL, &err), 0);
	assert_memory_equal(back.pk, fx->kp.pk, 32); /* the link's target is untouched */
	/* A directory that does not exist is not created. */
	snprintf(path, sizeof path, "%s/nodir/k", fx->home);
	assert_int_not_equal(mt_keyfile_create_at(path, &fx->kp, NULL, NULL, &err), 0);
	/* An empty passphrase is refused, nothing written. */
	snprintf(path, sizeof path, "%s/k2", fx->home);
	assert_int_equal(mt_keyfile_create_at(path, &fx->kp, "", NULL, &err), MT_EINVAL);
	assert_int_equal(access(path, F_OK), -1);
	mt_keypair_wipe(&other);
	mt_keypair_wipe(&back);
}

static void test_stage_install(void **state)
{
	fixture *fx = *state;
	mt_error err = {0};
	mt_keypair other, back;
	char path[700], tmp[800];

	assert_int_equal(mkdir(fx->home, 0700), 0);
	snprintf(path, sizeof path, "%s/next.key", fx->home);
	assert_int_equal(mt_keyfile_create_at(path, &fx->kp, NULL, NULL, &err), 0);
	assert_int_equal(mt_keypair_generate(&other), 0);

	/* Staged: a durable 0600 file beside the target; the target unchanged. */
	assert_int_equal(mt_keyfile_stage(tmp, sizeof tmp, path, &other, NULL, NULL, &err), 0);
	assert_non_null(strstr(tmp, "/.next.key."));
	assert_int_equal(mode_of(tmp), 0600);
	assert_int_equal(count_entries(fx->home), 2);
	assert_int_equal(mt_keyfile_read_at(&back, path, NULL, &err), 0);
	assert_memory_equal(back.pk, fx->kp.pk, 32);

	/* install without replace refuses an existing target and leaves tmp. */
	assert_int_equal(mt_keyfile_install(tmp, path, 0, &err), MT_EEXISTS);
	assert_int_equal(access(tmp, F_OK), 0);
	/* with replace it moves it into place. */
	assert_int_equal(mt_keyfile_install(tmp, path, 1, &err), 0);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(count_entries(fx->home), 1);
	assert_int_equal(mt_keyfile_read_at(&back, path, NULL, &err), 0);
	assert_memory_equal(back.pk, other.pk, 32);

	/* install without replace to a new name: linked, tmp name removed. */
	snprintf(path, sizeof path, "%s/fresh.key", fx->home);
	assert_int_equal(mt_keyfile_stage(tmp, sizeof tmp, path, &fx->kp, NULL, NULL, &err), 0);
	assert_int_equal(mt_keyfile_install(tmp, path, 0, &err), 0);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(count_entries(fx->home), 2);
	mt_keypair_wipe(&other);
	mt_keypair_wipe(&back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_plain_roundtrip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_encrypted_roundtrip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_encrypted_default_cost, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_never_overwrites, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_permissions_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_home_checks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_a_regular_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_write_arguments, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_plain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_encrypted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_seed_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_passphrase_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_at_roundtrip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_at_checks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stage_install, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
