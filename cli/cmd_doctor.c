/* mesh doctor [--json] [--full]: check the home, its keys, the store, the
 * node, the peers and the clock, and say what to fix (issue #20). */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "opts.h"
#include "meshtrust/identity.h"
#include "meshtrust/node.h"

/* Above this many statements the full re-verification is skipped unless
 * --full is given (it reads and re-checks every signature: minutes). */
#define DOCTOR_VERIFY_MAX 500000
/* The node's address when node.lock does not record one (cli/cmd_node.c). */
#define DOCTOR_DEFAULT_URL "http://127.0.0.1:7070"
/* Peers asked for their clock (Date header), at most. */
#define DOCTOR_CLOCK_PEERS 3

typedef struct doctor {
	json_t *checks; /* [{name, status, detail, fix}] */
	int fails;
} doctor;

static void add(doctor *d, const char *name, const char *status, const char *fix,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void add(doctor *d, const char *name, const char *status, const char *fix,
		const char *fmt, ...)
{
	char detail[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	json_array_append_new(d->checks,
			      json_pack("{s:s,s:s,s:s,s:s?}", "name", name, "status", status,
					"detail", detail, "fix", fix && *fix ? fix : NULL));
	if (strcmp(status, "fail") == 0)
		d->fails++;
}

/* The home: exists, a directory, ours, 0700. Returns 0 when usable. */
static int check_home(doctor *d, const char *home)
{
	struct stat sb;
	char fix[4300];
	if (stat(home, &sb) != 0) {
		snprintf(fix, sizeof fix, "run `mesh init` (or set MESH_HOME / --home to your home)");
		add(d, "home", "fail", fix, "%s: %s", home, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		add(d, "home", "fail", "point MESH_HOME / --home at a meshtrust home",
		    "%s is not a directory", home);
		return -1;
	}
	if (sb.st_uid != geteuid()) {
		snprintf(fix, sizeof fix, "chown -R %ld %s (or run mesh as its owner)",
			 (long)geteuid(), home);
		add(d, "home", "fail", fix, "%s is owned by uid %ld, not by you (uid %ld)", home,
		    (long)sb.st_uid, (long)geteuid());
		return -1;
	}
	snprintf(fix, sizeof fix, "chmod 700 %s", home);
	unsigned mode = (unsigned)(sb.st_mode & 07777);
	if (mode & 022) {
		add(d, "home", "fail", fix, "%s is mode %04o: others may write to it", home, mode);
		return -1;
	}
	if (mode & 077)
		add(d, "home", "warn", fix, "%s is mode %04o (0700 expected: it holds keys)", home,
		    mode);
	else
		add(d, "home", "ok", NULL, "%s: a directory of yours, mode 0700", home);
	return 0;
}

/* A key file's mode and owner (no link followed). 1: exists, 0: absent. */
static int key_perms(doctor *d, const char *name, const char *path, int *bad)
{
	struct stat sb;
	char fix[4300];
	*bad = 0;
	if (lstat(path, &sb) != 0) {
		if (errno == ENOENT)
			return 0;
		add(d, name, "fail", "check the file's permissions", "%s: %s", path,
		    strerror(errno));
		*bad = 1;
		return 1;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(fix, sizeof fix, "replace %s with the key file itself", path);
		add(d, name, "fail", fix, "%s is not a regular file", path);
		*bad = 1;
	} else if (sb.st_uid != geteuid()) {
		snprintf(fix, sizeof fix, "chown %ld %s", (long)geteuid(), path);
		add(d, name, "fail", fix, "%s is owned by uid %ld, not by you", path,
		    (long)sb.st_uid);
		*bad = 1;
	} else if (sb.st_mode & 077) {
		snprintf(fix, sizeof fix, "chmod 600 %s", path);
		add(d, name, "fail", fix, "%s is mode %04o: others may read the secret key (0600 expected)",
		    path, (unsigned)(sb.st_mode & 07777));
		*bad = 1;
	}
	return 1;
}

static void check_keys(doctor *d, mesh_ctx *ctx)
{
	char path[4200], fix[4400];
	int bad = 0;
	mt_error err = {0};
	snprintf(path, sizeof path, "%s/identity.key", ctx->home);
	if (!key_perms(d, "identity.key", path, &bad)) {
		add(d, "identity.key", "fail", "run `mesh init` (or `mesh key recover`)",
		    "%s: no key file", path);
	} else if (!bad) {
		int enc = 0;
		unsigned char pk[32];
		if (mt_keyfile_is_encrypted(&enc, ctx->home, &err) != 0 ||
		    mt_keyfile_read_public(pk, ctx->home, &err) != 0) {
			add(d, "identity.key", "fail", "restore it from your backup (`mesh key recover`)",
			    "%s", err.msg);
		} else {
			mt_node_id_encode(ctx->node_id, pk);
			add(d, "identity.key", "ok", NULL, "%s: mode 0600, readable, %s; Node ID %s", path,
			    enc ? "encrypted" : "not encrypted (`mesh key passwd` adds a passphrase)",
			    ctx->node_id);
		}
	}
	if (mt_nextkey_path(path, sizeof path, ctx->home, &err) != 0)
		return;
	if (!key_perms(d, "next.key", path, &bad))
		add(d, "next.key", "ok", NULL, "not in the home (kept offline, or none)");
	else if (!bad) {
		snprintf(fix, sizeof fix,
			 "move %s offline (a USB key, paper via `mesh key backup`): whoever "
			 "steals the home with it can take over the identity",
			 path);
		add(d, "next.key", "warn", fix, "%s is beside identity.key", path);
	}
}

struct vcount {
	uint64_t shown;
	char first[512];
};

static void on_issue(const mt_verify_issue *is, void *payload)
{
	struct vcount *v = payload;
	if (v->shown++ == 0)
		snprintf(v->first, sizeof v->first, "%s: %.64s seq %llu: %.300s", is->kind,
			 is->iss ? is->iss : "-", (unsigned long long)is->seq,
			 is->detail ? is->detail : "");
}

static int check_store(doctor *d, mesh_ctx *ctx, int full)
{
	/* mesh_open_store prints its own error to stderr as well. */
	if (mesh_open_store(ctx) != EXIT_OK) {
		add(d, "store", "fail",
		    "see the error above; `mesh store rebuild` or restore the store from a backup",
		    "the store under %s does not open", ctx->home);
		return -1;
	}
	mt_error err = {0};
	char digest[65];
	uint64_t count = 0;
	if (mt_store_digest_hex(ctx->store, digest, &count, &err) != 0) {
		add(d, "store", "fail", "`mesh log verify` for details", "%s", err.msg);
		return -1;
	}
	if (count > DOCTOR_VERIFY_MAX && !full) {
		add(d, "store", "ok", NULL,
		    "opens: %llu statements, digest %.16s…; the full re-verification is skipped "
		    "above %d statements (run `mesh doctor --full` or `mesh log verify`)",
		    (unsigned long long)count, digest, DOCTOR_VERIFY_MAX);
		return 0;
	}
	struct vcount v = {0};
	uint64_t checked = 0, problems = 0;
	if (mt_store_verify(ctx->store, on_issue, &v, &checked, &problems, NULL, NULL, &err) != 0) {
		add(d, "store", "fail", "`mesh log verify` for details", "%s", err.msg);
		return -1;
	}
	if (problems)
		add(d, "store", "warn",
		    "`mesh log verify` lists them; forks and bad signatures come from others' "
		    "feeds, a broken local store from `mesh store rebuild`",
		    "%llu statements checked: %llu problem(s), first %s",
		    (unsigned long long)checked, (unsigned long long)problems, v.first);
	else
		add(d, "store", "ok", NULL, "%llu statements checked: clean (digest %.16s…)",
		    (unsigned long long)checked, digest);
	return 0;
}

/* The URL node.lock records ("url http://ADDR:PORT"), a wildcard address
 * made 127.0.0.1; "" when it records none. */
static void node_url(const char *home, char *url, size_t urlsz)
{
	char path[4200], text[512];
	url[0] = '\0';
	snprintf(path, sizeof path, "%s/node.lock", home);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return;
	ssize_t got = read(fd, text, sizeof text - 1);
	close(fd);
	text[got > 0 ? got : 0] = '\0';
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strncmp(line, "url http://", 11) == 0 && strlen(line + 4) < 200 &&
		    !strpbrk(line + 4, " \t\r\"\\?#"))
			snprintf(url, urlsz, "%s", line + 4);
	}
	const char *wild[] = {"http://0.0.0.0:", "http://[::]:", "http://:::"};
	for (size_t i = 0; i < sizeof wild / sizeof *wild; i++) {
		size_t l = strlen(wild[i]);
		if (url[0] && strncmp(url, wild[i], l) == 0) {
			char port[16];
			snprintf(port, sizeof port, "%.15s", url + l);
			snprintf(url, urlsz, "http://127.0.0.1:%s", port);
		}
	}
}

static void check_node(doctor *d, mesh_ctx *ctx)
{
	char cookie[4200], url[256];
	struct stat sb;
	snprintf(cookie, sizeof cookie, "%s/api.cookie", ctx->home);
	if (stat(cookie, &sb) != 0) {
		add(d, "node", "ok", NULL,
		    "no api.cookie: no node has run on this home (start one with `mesh node start`)");
		return;
	}
	node_url(ctx->home, url, sizeof url);
	int recorded = url[0] != '\0';
	if (!recorded)
		snprintf(url, sizeof url, "%s", DOCTOR_DEFAULT_URL);
	char id[MT_NODE_ID_MAX];
	mt_error err = {0};
	if (mt_node_fetch_id(id, url, 3, &err) != 0) {
		add(d, "node", "warn",
		    "start it: `mesh node start` (or `systemctl start mesh-node`); if it runs, "
		    "check its --listen address",
		    "%s%s: not reachable (%s)", url,
		    recorded ? "" : " (node.lock records no address: the default was tried)",
		    err.msg);
		return;
	}
	if (ctx->node_id[0] && strcmp(id, ctx->node_id) != 0) {
		add(d, "node", "fail",
		    "another home's node answers on this address: stop it, or start this home's "
		    "node on another --listen",
		    "%s answers as %s, not as this home's %s", url, id, ctx->node_id);
		return;
	}
	add(d, "node", "ok", NULL, "%s answers GET /v1/id as %s%s", url, id,
	    recorded ? "" : " (node.lock records no address: the default was tried)");
}

struct peers {
	doctor *d;
	int64_t now;
	json_t *urls; /* peers to ask for the time */
};

static void on_peer(const mt_node_peer *p, void *payload)
{
	struct peers *ps = payload;
	char name[300];
	snprintf(name, sizeof name, "peer %.280s", p->url);
	if (!p->last_sync)
		add(ps->d, name, "warn", "`mesh sync` (the peer must be trusted full), or check the URL",
		    "%s: never synced", p->node_id);
	else if (p->last_error && *p->last_error)
		add(ps->d, name, "warn", "check that the peer runs and its URL (`mesh peer list`)",
		    "%s: the last sync failed %llds ago: %.500s", p->node_id,
		    (long long)(ps->now - p->last_sync), p->last_error);
	else if (ps->now - p->last_sync > 86400)
		add(ps->d, name, "warn", "is the node running? `mesh sync` syncs once",
		    "%s: last synced %lld h ago", p->node_id,
		    (long long)((ps->now - p->last_sync) / 3600));
	else
		add(ps->d, name, "ok", NULL, "%s: synced %llds ago", p->node_id,
		    (long long)(ps->now - p->last_sync));
	if (json_array_size(ps->urls) < DOCTOR_CLOCK_PEERS)
		json_array_append_new(ps->urls, json_string(p->url));
}

static size_t on_header(char *buf, size_t size, size_t n, void *payload)
{
	time_t *date = payload;
	size_t len = size * n;
	if (len > 5 && strncasecmp(buf, "Date:", 5) == 0) {
		char text[128];
		size_t l = len - 5 < sizeof text - 1 ? len - 5 : sizeof text - 1;
		memcpy(text, buf + 5, l);
		text[l] = '\0';
		time_t t = curl_getdate(text, NULL);
		if (t > 0)
			*date = t;
	}
	return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *payload)
{
	(void)buf;
	(void)payload;
	return size * n;
}

/* The peer's clock from its Date header (GET /v1/id); 0 when none. */
static time_t peer_date(const char *url, time_t *local)
{
	char full[1100];
	time_t date = 0;
	snprintf(full, sizeof full, "%.1000s/v1/id", url);
	CURL *c = curl_easy_init();
	if (!c)
		return 0;
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 3L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &date);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	time_t t0 = time(NULL);
	if (curl_easy_perform(c) != CURLE_OK)
		date = 0;
	*local = t0 + (time(NULL) - t0) / 2;
	curl_easy_cleanup(c);
	return date;
}

static void check_peers_clock(doctor *d, mesh_ctx *ctx)
{
	struct peers ps = {d, (int64_t)time(NULL), json_array()};
	mt_error err = {0};
	size_t before = json_array_size(d->checks);
	if (mt_node_peer_list(ctx->store, on_peer, &ps, &err) != 0)
		add(d, "peers", "fail", "`mesh peer list` for details", "%s", err.msg);
	else if (json_array_size(d->checks) == before)
		add(d, "peers", "ok", NULL, "no peers (`mesh peer add URL` to sync with one)");
	size_t i;
	json_t *u;
	int asked = 0;
	json_array_foreach(ps.urls, i, u)
	{
		time_t local = 0, date = peer_date(json_string_value(u), &local);
		if (!date)
			continue;
		asked = 1;
		long long skew = (long long)(local - date);
		long long mag = skew < 0 ? -skew : skew;
		const char *status = mag > 300 ? "fail" : mag > 30 ? "warn" : "ok";
		add(d, "clock", status,
		    mag > 30 ? "synchronise the clock (systemd-timesyncd, chrony or ntpd): statements "
			       "carry their time and `--expires` counts on it"
			     : NULL,
		    "%+llds against %.300s's Date header (1 s resolution)", skew,
		    json_string_value(u));
		break;
	}
	if (!asked)
		add(d, "clock", "ok", NULL,
		    "skipped: no reachable peer to compare with (the local time is %lld)",
		    (long long)time(NULL));
	json_decref(ps.urls);
}

static const mesh_opt OPTS[] = {
	MESH_OPT_JSON_H("print {checks:[{name, status, detail, fix}]} as JSON"),
	{"full", MESH_NOARG, NULL,
	 "re-verify the store even above " MESH_STR(DOCTOR_VERIFY_MAX) " statements", 'f'},
	MESH_OPT_END};
static const mesh_spec SPEC = {
	"mesh doctor [--json] [--full]",
	"Check this home and say what to fix: the home (exists, yours, 0700),\n"
	"identity.key (0600, readable), next.key (better kept offline), the store\n"
	"(opens; every statement re-verified up to " MESH_STR(DOCTOR_VERIFY_MAX) ", --full above), "
	"the node\n(when api.cookie exists: GET /v1/id on the address node.lock records, else\n"
	"127.0.0.1:7070, and its Node ID), each peer's last sync, and the clock against a\n"
	"reachable peer's Date header. Each check is ok, warn or fail.\n\n"
	"Exit 0 when nothing fails, 1 otherwise.",
	OPTS, 0, 0, NULL, NULL};

int cmd_doctor(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	int json = mesh_args_count(&a, 'j') > 0, full = mesh_args_count(&a, 'f') > 0;
	doctor d = {json_array(), 0};
	if (!d.checks)
		return mesh_fail("out of memory");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (check_home(&d, ctx->home) == 0) {
		check_keys(&d, ctx);
		if (check_store(&d, ctx, full) == 0) {
			check_node(&d, ctx);
			check_peers_clock(&d, ctx);
		} else
			check_node(&d, ctx);
	}
	int fails = d.fails;
	if (json) {
		mesh_print_json(json_pack("{s:b,s:o}", "ok", fails == 0, "checks", d.checks));
	} else {
		size_t i;
		json_t *c;
		json_array_foreach(d.checks, i, c)
		{
			printf("%-5s ", json_string_value(json_object_get(c, "status")));
			/* names and details may quote a peer's URL or error: escaped */
			mesh_term_write(stdout, json_string_value(json_object_get(c, "name")),
					MESH_TERM_LINE);
			fputs(": ", stdout);
			mesh_term_write(stdout, json_string_value(json_object_get(c, "detail")),
					MESH_TERM_LINE);
			putchar('\n');
			const char *fix = json_string_value(json_object_get(c, "fix"));
			if (fix) {
				fputs("      fix: ", stdout);
				mesh_term_write(stdout, fix, MESH_TERM_LINE);
				putchar('\n');
			}
		}
		printf("%s\n", fails ? "mesh doctor: something to fix (fail above)"
				     : "mesh doctor: no failure");
		json_decref(d.checks);
	}
	curl_global_cleanup();
	return fails ? EXIT_FAIL : EXIT_OK;
}
