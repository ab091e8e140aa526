#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "meshtrust/views.h"
#include "keyutil.h"

/* "mesh: <message>\n" on stderr, the message escaped for a terminal: it may
 * quote a statement, a peer's answer or a file. */
static void fail_line(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static void fail_line(const char *fmt, va_list ap)
{
	char small[512];
	va_list again;
	va_copy(again, ap);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	char *msg = small;
	if (n >= (int)sizeof small) {
		msg = malloc((size_t)n + 1);
		if (msg)
			vsnprintf(msg, (size_t)n + 1, fmt, again);
	}
	va_end(again);
	fputs("mesh: ", stderr);
	if (n < 0 || !msg)
		fputs("(an error message could not be formatted)", stderr);
	else
		mesh_term_write(stderr, msg, MESH_TERM_LINE);
	fputc('\n', stderr);
	if (msg != small)
		free(msg);
}

int mesh_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fail_line(fmt, ap);
	va_end(ap);
	return EXIT_FAIL;
}

int mesh_usage(const char *usage, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fail_line(fmt, ap);
	va_end(ap);
	if (usage)
		fprintf(stderr, "usage: %s\n", usage);
	return EXIT_USAGE;
}

int mesh_fail_err(const mt_error *err)
{
	return mesh_fail("%s", err->msg[0] ? err->msg : mt_error_name(err->code));
}

/* Length of the well-formed UTF-8 sequence at s (1..4) and its code point,
 * or 0 when s[0] does not start one (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF). s is NUL-terminated, so a truncated
 * sequence stops at the NUL, which is no continuation byte. */
static int utf8_seq(const unsigned char *s, unsigned *cp)
{
	unsigned c = s[0];
	int n;
	unsigned v, min;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2, v = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3, v = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

/* Code points a terminal acts on instead of showing: C1 controls, bidi
 * formatting (which reorders what follows) and the Unicode line breaks. */
static int term_unsafe_cp(unsigned cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

int mesh_term_write(FILE *f, const char *s, int flags)
{
	const unsigned char *p = (const unsigned char *)s;
	int cols = 0;
	if (!p)
		return 0;
	while (*p) {
		unsigned c = *p, cp = 0;
		int n;
		if (c == '\\') {
			fputs("\\\\", f);
			cols += 2;
			p++;
		} else if (c >= 0x20 && c < 0x7f) {
			/* A run of plain ASCII in one call. */
			size_t k = 1;
			while (p[k] >= 0x20 && p[k] < 0x7f && p[k] != '\\')
				k++;
			fwrite(p, 1, k, f);
			cols += (int)k;
			p += k;
		} else if ((c == '\n' || c == '\t') && (flags & MESH_TERM_MULTILINE)) {
			fputc((int)c, f);
			cols++;
			p++;
		} else if (c == '\n' || c == '\t' || c == '\r') {
			fputs(c == '\n' ? "\\n" : c == '\t' ? "\\t" : "\\r", f);
			cols += 2;
			p++;
		} else if (c < 0x80 || !(n = utf8_seq(p, &cp))) {
			fprintf(f, "\\x%02x", c);
			cols += 4;
			p++;
		} else if (term_unsafe_cp(cp)) {
			fprintf(f, "\\u%04x", cp);
			cols += 6;
			p += n;
		} else {
			fwrite(p, 1, (size_t)n, f);
			cols++;
			p += n;
		}
	}
	return ferror(f) ? -1 : cols;
}

int mesh_term_json(FILE *f, const json_t *v, size_t flags)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | flags);
	if (!text)
		return -1;
	int cols = mesh_term_write(f, text, MESH_TERM_LINE);
	free(text);
	return cols;
}

int mesh_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

int mesh_dispatch(mesh_ctx *ctx, const char *family, const mesh_cmd *cmds, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		FILE *o = argc < 2 ? stderr : stdout;
		fprintf(o, "usage: mesh %s <command> [options]\n\ncommands:\n", family);
		for (const mesh_cmd *c = cmds; c->name; c++)
			fprintf(o, "  %-10s %s\n", c->name, c->summary);
		fprintf(o, "\nRun `mesh %s <command> --help` for details.\n", family);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	const char *names[64];
	size_t n = 0;
	for (const mesh_cmd *c = cmds; c->name; c++) {
		if (strcmp(c->name, argv[1]) == 0)
			return c->fn(ctx, argc - 1, argv + 1);
		if (n < 64)
			names[n++] = c->name;
	}
	const char *near = mesh_suggest(argv[1], names, n);
	if (near)
		return mesh_usage(NULL, "unknown command `%s %s`: did you mean `%s %s`? (see `mesh %s "
					"--help`)",
				  family, argv[1], family, near, family);
	return mesh_usage(NULL, "unknown command `%s %s` (see `mesh %s --help`)", family, argv[1],
			  family);
}

int mesh_check_home_dir(const char *home)
{
	struct stat sb;
	uid_t me = geteuid();
	if (lstat(home, &sb) != 0) {
		if (errno == ENOENT)
			return mesh_fail("no meshtrust home at %s: run `mesh init` (or give --home "
					 "DIR or set MESH_HOME)",
					 home);
		return mesh_fail("%s: %s", home, strerror(errno));
	}
	if (S_ISLNK(sb.st_mode)) {
		/* A link is followed only when this user made it: whoever can
		 * change it chooses where the key and the store are read from. */
		if (sb.st_uid != me)
			return mesh_fail("%s is a symbolic link owned by uid %lu, not by you (uid "
					 "%lu): refusing to follow it (give --home the directory "
					 "itself)",
					 home, (unsigned long)sb.st_uid, (unsigned long)me);
		if (stat(home, &sb) != 0) {
			if (errno == ENOENT)
				return mesh_fail("no meshtrust home at %s (a symbolic link to "
						 "nothing): run `mesh init`",
						 home);
			return mesh_fail("%s: %s", home, strerror(errno));
		}
	}
	if (!S_ISDIR(sb.st_mode))
		return mesh_fail("%s is not a directory (a meshtrust home is one)", home);
	if (sb.st_uid != me)
		return mesh_fail("%s is owned by uid %lu, not by you (uid %lu): refusing to use "
				 "it (a home holds your key; use one of your own)",
				 home, (unsigned long)sb.st_uid, (unsigned long)me);
	if (sb.st_mode & 022)
		return mesh_fail("%s is writable by %s (mode %04o): anyone who can write there "
				 "can replace your key or your store; refusing to use it (fix: "
				 "chmod 700 %s)",
				 home, (sb.st_mode & 002) ? "everyone" : "its group",
				 (unsigned)(sb.st_mode & 07777), home);
	return EXIT_OK;
}

int mesh_check_home(mesh_ctx *ctx)
{
	if (ctx->home_checked)
		return EXIT_OK;
	int rc = mesh_check_home_dir(ctx->home);
	if (!rc)
		ctx->home_checked = 1;
	return rc;
}

int mesh_open_store(mesh_ctx *ctx)
{
	if (ctx->store)
		return EXIT_OK;
	int rc = mesh_check_home(ctx);
	if (rc)
		return rc;
	/* $MESH_STORE, the home's store.url (mesh init --store), or trust.db */
	mt_error err = {0};
	char *url = NULL;
	if (mt_store_url_resolve(&url, ctx->home, ctx->db_path, &err) != 0 ||
	    mt_store_open_url(&ctx->store, url, &err) != 0) {
		free(url);
		return mesh_fail_err(&err);
	}
	free(url);
	/* A pending restore, the theft alarm (stderr only; keyown.c). */
	mesh_own_checks(ctx);
	return EXIT_OK;
}

int mesh_load_id(mesh_ctx *ctx)
{
	if (ctx->node_id[0])
		return EXIT_OK;
	int rc = mesh_check_home(ctx);
	if (rc)
		return rc;
	mt_error err = {0};
	unsigned char pk[32];
	if (mt_keyfile_read_public(pk, ctx->home, &err) != 0)
		return mesh_fail_err(&err);
	mt_node_id_encode(ctx->node_id, pk);
	return EXIT_OK;
}

int mesh_load_key(mesh_ctx *ctx)
{
	if (ctx->key_loaded)
		return EXIT_OK;
	int rc = mesh_check_home(ctx);
	if (rc)
		return rc;
	mt_error err = {0};
	int enc = 0;
	if (mt_keyfile_is_encrypted(&enc, ctx->home, &err) != 0)
		return mesh_fail_err(&err);
	if (enc) {
		/* From --passphrase-file, else asked on the terminal (keyutil.c). */
		char path[4200];
		mesh_home_file(path, sizeof path, ctx, MT_KEYFILE_NAME);
		if ((rc = mesh_read_keyfile(ctx, path, &ctx->key, NULL)) != EXIT_OK)
			return rc;
	} else if (mt_keyfile_read(&ctx->key, ctx->home, NULL, &err) != 0) {
		return mesh_fail_err(&err);
	}
	ctx->key_loaded = 1;
	mt_node_id_encode(ctx->node_id, ctx->key.pk);
	return EXIT_OK;
}

int mesh_issue(mesh_ctx *ctx, json_t *body, mt_stmt **out)
{
	int rc = mesh_load_key(ctx);
	if (!rc)
		rc = mesh_open_store(ctx);
	if (rc) {
		json_decref(body);
		return rc;
	}
	/* A restored home that does not know its feed signs nothing; a new
	 * feed starts with its key commitment (keyutil.c). */
	if ((rc = mesh_issue_prepare(ctx, 1)) != EXIT_OK) {
		json_decref(body);
		return rc;
	}
	mt_error err = {0};
	int r = mt_store_issue(ctx->store, out, body, &ctx->key, ctx->now, &err);
	json_decref(body);
	return r ? mesh_fail_err(&err) : EXIT_OK;
}

json_t *mesh_stmt_json(const mt_stmt *st)
{
	json_t *t = NULL;
	return mt_stmt_tree(st, &t, NULL) ? NULL : t;
}

json_t *mesh_stmt_member(const mt_stmt *st, const char *key)
{
	json_t *m = NULL;
	return mt_stmt_member(st, key, &m, NULL) ? NULL : m;
}

int mesh_print_json(json_t *v)
{
	if (!v)
		return mesh_fail("out of memory");
	char *s = mt_view_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(v);
	if (!s)
		return mesh_fail("out of memory");
	puts(s);
	free(s);
	return EXIT_OK;
}

int mesh_parse_duration(int64_t *out, const char *text, const char *argname, mt_error *err)
{
	char *end = NULL;
	errno = 0;
	long long n = strtoll(text, &end, 10);
	int64_t mult = 0;
	if (end && end != text && end[0] && !end[1]) {
		switch (end[0]) {
		case 'd': mult = 86400; break;
		case 'h': mult = 3600; break;
		case 'm': mult = 60; break;
		case 's': mult = 1; break;
		}
	}
	if (errno || !mult || n <= 0 || text[0] == '+' || n > (int64_t)1e12 / mult)
		return mt_error_set(err, MT_EINVAL,
				    "%s: \"%s\" is not a duration (use e.g. 30d, 12h, 90m, 45s)",
				    argname, text);
	*out = (int64_t)n * mult;
	return 0;
}

int mesh_parse_score(int *out, const char *text, mt_error *err)
{
	/* Decimal text only: "1", "0.8", "0.125"; no exponent, no sign. */
	const char *p = text;
	long intpart = 0, frac = 0;
	int fd = 0;
	if (!*p)
		goto bad;
	while (*p >= '0' && *p <= '9' && intpart <= 1)
		intpart = intpart * 10 + (*p++ - '0');
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9' && fd < 3) {
			frac = frac * 10 + (*p++ - '0');
			fd++;
		}
		while (*p == '0')
			p++;
		if (fd == 0)
			goto bad;
	}
	if (*p || p == text)
		goto bad;
	while (fd < 3) {
		frac *= 10;
		fd++;
	}
	long permille = intpart * 1000 + frac;
	if (permille < 1 || permille > 1000)
		goto bad;
	*out = (int)permille;
	return 0;
bad:
	return mt_error_set(err, MT_EINVAL,
			    "--score: \"%s\" is not a score in (0, 1] with at most 3 decimals "
			    "(e.g. 0.8)",
			    text);
}

int mesh_parse_int(int64_t *out, const char *text, const char *argname, int64_t min, int64_t max,
		   mt_error *err)
{
	char *end = NULL;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (errno || !end || *end || end == text || v < min || v > max)
		return mt_error_set(err, MT_EINVAL, "%s: \"%s\" is not an integer in %lld..%lld",
				    argname, text, (long long)min, (long long)max);
	*out = v;
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mesh_progress_init(mesh_progress *p, const char *label, uint64_t total)
{
	p->label = label;
	p->tty = isatty(STDERR_FILENO);
	p->last_ms = 0;
	p->total = total;
}

void mesh_progress_cb(uint64_t done, uint64_t total, void *payload)
{
	mesh_progress *p = payload;
	if (!p->tty)
		return;
	int64_t t = now_ms();
	if (t - p->last_ms < 100 && done != total)
		return;
	p->last_ms = t;
	if (!total)
		total = p->total;
	if (total) {
		int width = 30, fill = (int)(width * (double)done / (double)total);
		if (fill > width)
			fill = width;
		fprintf(stderr, "\r%s [%.*s%*s] %llu/%llu", p->label, fill,
			"##############################", width - fill, "", (unsigned long long)done,
			(unsigned long long)total);
	} else {
		fprintf(stderr, "\r%s %llu", p->label, (unsigned long long)done);
	}
	fflush(stderr);
}

void mesh_progress_end(mesh_progress *p)
{
	if (p->tty && p->last_ms)
		fputs("\n", stderr);
}

int mesh_resolve_id(char out[MT_NODE_ID_MAX], const char *text, const char *argname)
{
	mt_error err = {0};
	unsigned char pk[32];
	if (mt_identity_parse(pk, out, text, argname, &err) != 0) {
		mesh_fail_err(&err);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}
