/* Key handling shared by the `mesh` commands (keyutil.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "keyutil.h"
#include "meshtrust/encoding.h"

/* ---- --passphrase-file anywhere -------------------------------------------- */

int mesh_take_passphrase_opt(mesh_ctx *ctx, int *argc, char **argv)
{
	static const char opt[] = "--passphrase-file";
	const size_t optlen = sizeof opt - 1;
	int out = 1, i = 1;
	for (; i < *argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			break;
		if (strcmp(a, opt) == 0) {
			if (i + 1 >= *argc)
				return mesh_usage(NULL, "option %s needs a value (%s FILE)", opt,
						  opt);
			ctx->passphrase_file = argv[++i];
			continue;
		}
		if (strncmp(a, opt, optlen) == 0 && a[optlen] == '=') {
			ctx->passphrase_file = a + optlen + 1;
			continue;
		}
		argv[out++] = argv[i];
	}
	for (; i < *argc; i++)
		argv[out++] = argv[i];
	argv[out] = NULL;
	*argc = out;
	return EXIT_OK;
}

/* ---- passphrases on the terminal ------------------------------------------- */

/* The terminal's settings while echo is off, restored by a signal too. */
static int tty_fd = -1;
static struct termios tty_saved;
static volatile sig_atomic_t tty_echo_off;

static void tty_restore(void)
{
	if (tty_echo_off) {
		(void)tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
		tty_echo_off = 0;
	}
}

static void tty_on_signal(int sig)
{
	tty_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Read one line from the terminal with echo off after writing `prompt`.
 * *out is a new string (mt_passphrase_free), the line without its newline.
 * Returns EXIT_OK, NO_TTY (nothing printed) when there is no terminal to ask
 * on, or EXIT_FAIL with the error printed. Never when stdin is not a
 * terminal: a script must say where the passphrase is. */
#define NO_TTY (-2)
static int tty_read_secret(const char *prompt, char **out)
{
	*out = NULL;
	if (!isatty(STDIN_FILENO))
		return NO_TTY;
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return NO_TTY;
	char buf[MT_PASSPHRASE_MAX + 2];
	size_t len = 0;
	int rc = EXIT_FAIL, too_long = 0;
	struct sigaction sa, old_int, old_term, old_hup;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = tty_on_signal;
	sigemptyset(&sa.sa_mask);
	tty_fd = fd;
	if (tcgetattr(fd, &tty_saved) != 0) {
		close(fd);
		return NO_TTY;
	}
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	struct termios quiet = tty_saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	quiet.c_lflag |= ECHONL;
	if (tcsetattr(fd, TCSAFLUSH, &quiet) == 0)
		tty_echo_off = 1;
	if (write(fd, prompt, strlen(prompt)) < 0) {
		/* the prompt is a courtesy; reading still works */
	}
	for (;;) {
		char c;
		ssize_t n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || c == '\n')
			break;
		if (len < sizeof buf - 1)
			buf[len++] = c;
		else
			too_long = 1;
	}
	tty_restore();
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	close(fd);
	tty_fd = -1;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (too_long || len > MT_PASSPHRASE_MAX) {
		rc = mesh_fail("passphrase longer than %d bytes", MT_PASSPHRASE_MAX);
	} else if (len == 0) {
		rc = mesh_fail("empty passphrase");
	} else if ((*out = malloc(len + 1)) == NULL) {
		rc = mesh_fail("out of memory");
	} else {
		memcpy(*out, buf, len);
		(*out)[len] = '\0';
		rc = EXIT_OK;
	}
	sodium_memzero(buf, sizeof buf);
	return rc;
}

/* The passphrase this invocation already used (identity.key and next.key
 * share one), wiped at exit. */
static char *remembered;

static void forget_passphrase(void)
{
	mt_passphrase_free(remembered);
	remembered = NULL;
}

static int remember(const char *pass)
{
	static int registered;
	if (!registered) {
		atexit(forget_passphrase);
		registered = 1;
	}
	forget_passphrase();
	size_t n = strlen(pass);
	remembered = malloc(n + 1);
	if (!remembered)
		return mesh_fail("out of memory");
	memcpy(remembered, pass, n + 1);
	return EXIT_OK;
}

static char *copy_secret(const char *s)
{
	size_t n = strlen(s);
	char *c = malloc(n + 1);
	if (c)
		memcpy(c, s, n + 1);
	return c;
}

int mesh_passphrase_for(mesh_ctx *ctx, const char *path, int retry, char **out)
{
	mt_error err = {0};
	*out = NULL;
	if (remembered && !retry) {
		*out = copy_secret(remembered);
		return *out ? EXIT_OK : mesh_fail("out of memory");
	}
	if (ctx->passphrase_file && !ctx->passphrase_file[0] && !retry) {
		/* `MESH_PASSPHRASE_FILE=` or `--passphrase-file ""`: say which */
		return mesh_fail("the passphrase file is an empty path (MESH_PASSPHRASE_FILE is set "
				 "but empty, or --passphrase-file \"\"): name the file, or unset it "
				 "to be asked on a terminal");
	}
	if (ctx->passphrase_file && !retry) {
		if (mt_passphrase_file_read(out, ctx->passphrase_file, &err) != 0)
			return mesh_fail_err(&err);
	} else {
		char prompt[4400];
		snprintf(prompt, sizeof prompt, "Passphrase for %s: ", path);
		int rc = tty_read_secret(prompt, out);
		if (rc == NO_TTY)
			return mesh_fail("%s is encrypted: give --passphrase-file FILE or set "
					 "MESH_PASSPHRASE_FILE (no terminal to ask on)",
					 path);
		if (rc != EXIT_OK)
			return rc;
	}
	return remember(*out);
}

int mesh_read_keyfile(mesh_ctx *ctx, const char *path, mt_keypair *out, char **used)
{
	mt_error err = {0};
	int enc = 0, rc;
	if (used)
		*used = NULL;
	if (mt_keyfile_is_encrypted_at(&enc, path, &err) != 0)
		return mesh_fail_err(&err);
	if (!enc) {
		if (mt_keyfile_read_at(out, path, NULL, &err) != 0)
			return mesh_fail_err(&err);
		return EXIT_OK;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		char *pass = NULL;
		if ((rc = mesh_passphrase_for(ctx, path, attempt > 0, &pass)) != EXIT_OK)
			return rc;
		rc = mt_keyfile_read_at(out, path, pass, &err);
		if (rc == 0) {
			if (used)
				*used = pass;
			else
				mt_passphrase_free(pass);
			return EXIT_OK;
		}
		mt_passphrase_free(pass);
		/* A wrong one: ask the terminal once, if there is one. */
		if (rc != MT_ECRYPTO || !isatty(STDIN_FILENO))
			break;
		fprintf(stderr, "mesh: wrong passphrase for %s\n", path);
	}
	return mesh_fail_err(&err);
}

int mesh_passphrase_new_tty(char **out)
{
	char *again = NULL;
	*out = NULL;
	int rc = tty_read_secret("New passphrase: ", out);
	if (rc == EXIT_OK && (rc = tty_read_secret("New passphrase again: ", &again)) != EXIT_OK) {
		mt_passphrase_free(*out);
		*out = NULL;
	}
	if (rc == NO_TTY)
		return mesh_fail("no terminal to ask for the new passphrase on: give "
				 "--new-passphrase-file FILE (or --remove)");
	if (rc != EXIT_OK)
		return rc;
	if (strcmp(*out, again) != 0) {
		mt_passphrase_free(*out);
		*out = NULL;
		rc = mesh_fail("the two passphrases differ; nothing changed");
	}
	mt_passphrase_free(again);
	return rc;
}

/* ---- small helpers ---------------------------------------------------------- */

void mesh_home_file(char *out, size_t outsz, const mesh_ctx *ctx, const char *name)
{
	snprintf(out, outsz, "%s/%s", ctx->home, name);
}

void mesh_key_commitment(char out[65], const unsigned char pk[32])
{
	unsigned char h[32];
	mt_blake2b256(h, pk, 32);
	mt_hex_encode(out, 65, h, 32);
}

/* ---- restore marker ---------------------------------------------------------- */

int mesh_restore_pending(const mesh_ctx *ctx)
{
	char path[4200];
	mesh_home_file(path, sizeof path, ctx, MESH_RESTORE_MARKER);
	return access(path, F_OK) == 0;
}

int mesh_restore_mark(const mesh_ctx *ctx)
{
	static const char text[] =
	    "This home was restored from a seed (mesh init --seed-file) and does not\n"
	    "know its own feed yet: commands that sign refuse until `mesh log import`\n"
	    "or `mesh sync` brings the feed's head (then this file goes away).\n"
	    "See `mesh key status`.\n";
	char path[4200];
	mesh_home_file(path, sizeof path, ctx, MESH_RESTORE_MARKER);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return EXIT_OK;
		return mesh_fail("%s: cannot create: %s", path, strerror(errno));
	}
	ssize_t put = write(fd, text, sizeof text - 1);
	int ok = put == (ssize_t)(sizeof text - 1) && fsync(fd) == 0;
	close(fd);
	if (!ok) {
		unlink(path);
		return mesh_fail("%s: cannot write", path);
	}
	return EXIT_OK;
}

void mesh_restore_clear(const mesh_ctx *ctx)
{
	char path[4200];
	mesh_home_file(path, sizeof path, ctx, MESH_RESTORE_MARKER);
	(void)unlink(path);
}

/* ---- before signing ---------------------------------------------------------- */

int mesh_issue_prepare(mesh_ctx *ctx, int auto_key)
{
	mt_error err = {0};
	if (mesh_restore_pending(ctx))
		return mesh_fail(
		    "this home was restored from a seed and does not know its own feed yet "
		    "(%s/%s): signing now could fork %s (a second statement at a seq it "
		    "already has). Bring the feed first: `mesh log import FILE` (an export of "
		    "it) or `mesh sync`; or start a new feed on purpose: `mesh init --seed-file "
		    "F --new-feed`; when the head cannot be known, `mesh key recover` is the "
		    "safe restore",
		    ctx->home, MESH_RESTORE_MARKER, ctx->node_id);
	if (!auto_key)
		return EXIT_OK;
	mt_feed_info fi;
	memset(&fi, 0, sizeof fi);
	int r = mt_store_feed(ctx->store, ctx->node_id, &fi, &err);
	if (r != 0 && r != MT_ENOTFOUND)
		return mesh_fail_err(&err);
	if (fi.head_seq > 0 || fi.max_seq > 0)
		return EXIT_OK;
	/* The feed's first statement: its commitment goes first (SPEC §9.2). */
	char next_path[4200];
	unsigned char pk[32];
	mesh_home_file(next_path, sizeof next_path, ctx, MT_NEXTKEY_NAME);
	r = mt_keyfile_read_public_at(pk, next_path, &err);
	if (r == MT_ENOTFOUND) {
		fprintf(stderr, "mesh: note: no %s in %s: this feed starts without a key "
				"commitment (whoever holds identity.key first can commit; run `mesh "
				"key commit` to make one)\n",
			MT_NEXTKEY_NAME, ctx->home);
		return EXIT_OK;
	}
	if (r != 0)
		return mesh_fail_err(&err);
	char next[65];
	mesh_key_commitment(next, pk);
	json_t *body = json_pack("{s:s,s:s}", "type", "key", "next", next);
	if (!body)
		return mesh_fail("out of memory");
	r = mt_store_issue(ctx->store, NULL, body, &ctx->key, ctx->now, &err);
	json_decref(body);
	if (r != 0)
		return mesh_fail("cannot issue the key commitment before the first statement: %s",
				 err.msg);
	return EXIT_OK;
}
