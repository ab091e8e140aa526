/* mesh node start | request: run the node; send one signed request (test helper). */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "opts.h"
#include "config.h"
#include "meshtrust/config.h"
#include "meshtrust/node.h"
#include "meshtrust/policy.h"
#include "node_cli.h"
#include "sdnotify.h"

int mesh_node_config(mesh_ctx *ctx, int *depth, double decay[16], size_t *n_decay,
		     uint64_t *max_issuer, uint64_t *max_peer)
{
	int rc = mesh_config_trust(ctx, depth, decay, n_decay);
	char *a = NULL, *b = NULL;
	if (!rc)
		rc = mesh_config_value(ctx, "node.maxStatementsPerIssuerPerDay", &a);
	if (!rc)
		rc = mesh_config_value(ctx, "node.maxStatementsPerPeerPerDay", &b);
	if (!rc) {
		*max_issuer = strtoull(a, NULL, 10);
		*max_peer = strtoull(b, NULL, 10);
	}
	free(a);
	free(b);
	return rc;
}

/* Whether dir holds the dashboard (an index.html file). */
static int web_has_index(const char *dir)
{
	char probe[PATH_MAX + 80];
	struct stat sb;
	snprintf(probe, sizeof probe, "%s/index.html", dir);
	return stat(probe, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* The dashboard directory: --web, $MESH_WEB_DIR, web/ beside the executable
 * (../web, ../../web, ../share/meshtrust/web), or, last, the installed one
 * (MT_WEB_INSTALL_DIR, <prefix>/share/meshtrust/web, set by the build for
 * `mesh` only). NULL when none holds index.html. */
static const char *find_web(const char *given, char *buf, size_t bufsz)
{
	if (given)
		return given;
	const char *env = getenv("MESH_WEB_DIR");
	if (env && *env)
		return env;
	char exe[PATH_MAX];
	ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
	char *slash = NULL;
	if (k > 0) {
		exe[k] = '\0';
		slash = strrchr(exe, '/');
	}
	if (slash) {
		*slash = '\0';
		static const char *const rel[] = {"web", "../web", "../../web",
						  "../share/meshtrust/web"};
		for (size_t i = 0; i < sizeof rel / sizeof *rel; i++) {
			snprintf(buf, bufsz, "%s/%s", exe, rel[i]);
			if (web_has_index(buf))
				return buf;
		}
	}
#ifdef MT_WEB_INSTALL_DIR
	if (web_has_index(MT_WEB_INSTALL_DIR))
		return MT_WEB_INSTALL_DIR;
#endif
	return NULL;
}

/* One node per home (SPEC §9.4). `node start` holds an exclusive flock on
 * <home>/node.lock for as long as it runs; the kernel drops the lock when the
 * process ends however it ends, so a crashed node never blocks a restart. The
 * file says who holds it ("pid N\nurl http://ADDR:PORT\n", never the token)
 * so that a second start can name the running node. */
#define NODE_LOCK_NAME "node.lock"

/* Replace the lock file's text with `text` (the lock is held). 0 or -1. */
static int node_lock_write(int fd, const char *text)
{
	size_t len = strlen(text), done = 0;
	if (ftruncate(fd, 0) != 0)
		return -1;
	while (done < len) {
		ssize_t put = pwrite(fd, text + done, len - done, (off_t)done);
		if (put < 0 && errno == EINTR)
			continue;
		if (put <= 0)
			return -1;
		done += (size_t)put;
	}
	return 0;
}

/* Take the home's node lock: *out_fd receives the open, locked descriptor
 * (the caller keeps it open while the node runs, then closes it). Fails,
 * printing why, when another process holds the lock (naming its pid and
 * address as its lock file gives them), or when node.lock is not a regular
 * file of this user (a link is not followed; a FIFO is not waited on).
 * Returns an exit code. */
static int node_lock_take(const char *home, int *out_fd)
{
	char path[4200];
	*out_fd = -1;
	snprintf(path, sizeof path, "%s/" NODE_LOCK_NAME, home);
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
		      0600);
	if (fd < 0)
		return mesh_fail("%s: cannot open the node lock: %s", path, strerror(errno));
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid()) {
		close(fd);
		return mesh_fail("%s is not a regular file of yours; refusing to use it as the "
				 "node lock (remove it)",
				 path);
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int errnum = errno;
		if (errnum != EWOULDBLOCK) {
			close(fd);
			return mesh_fail("%s: cannot lock: %s", path, strerror(errnum));
		}
		/* Held: say by whom. The text is the other node's (or garbage):
		 * only a pid and a URL are taken from it, and mesh_fail escapes. */
		char text[512], pid[32] = "", url[300] = "";
		ssize_t got = pread(fd, text, sizeof text - 1, 0);
		close(fd);
		text[got > 0 ? got : 0] = '\0';
		for (char *line = text, *next; line && *line; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			if (strncmp(line, "pid ", 4) == 0)
				snprintf(pid, sizeof pid, "%s", line + 4);
			else if (strncmp(line, "url ", 4) == 0)
				snprintf(url, sizeof url, "%s", line + 4);
		}
		return mesh_fail("a node already runs on this home (pid %s, %s): stop it first "
				 "(one node per home; %s is locked)",
				 pid[0] ? pid : "unknown", url[0] ? url : "still starting", path);
	}
	char text[64];
	snprintf(text, sizeof text, "pid %ld\n", (long)getpid());
	if (node_lock_write(fd, text) != 0) {
		int errnum = errno;
		close(fd);
		return mesh_fail("%s: cannot write: %s", path, strerror(errnum));
	}
	*out_fd = fd;
	return EXIT_OK;
}

#define START_USAGE                                                                                \
	"mesh node start [--listen ADDR:PORT] [--web DIR] [--log-level error|warn|info|debug] "   \
	"[--log-format text|json] "                                                               \
	"[--threads N] [--sync-interval SECONDS] [--header-timeout SECONDS] "                     \
	"[--max-conns-per-ip N]"

/* The effective policy, as `mesh policy show` has it (cmd_policy.c). */
static int load_policy(mesh_ctx *ctx, mt_policy **out)
{
	char source[4400];
	return mesh_load_policy(ctx, out, source, sizeof source);
}

static int node_run(mesh_ctx *ctx, const mt_node_opts *nop, const char *web, const char *addr,
		    int lock_fd);

/* SIGHUP: read the store's configuration and policy.toml again and put them
 * in force (mt_node_reload). A bad value is named and changes nothing: the
 * settings in force stay. Returns 0 or 1. */
static int node_reload(mesh_ctx *ctx, mt_node *node)
{
	mt_node_settings ns = {0};
	mt_error err = {0};
	if (mesh_node_config(ctx, &ns.max_depth, ns.decay, &ns.n_decay, &ns.max_per_issuer,
			     &ns.max_per_peer))
		return 1;
	if (mt_config_bool(ctx->store, "node.metricsPublic", &ns.metrics_public, &err) != 0 ||
	    mt_config_bool(ctx->store, "node.directory", &ns.directory, &err) != 0)
		return mesh_fail_err(&err), 1;
	char source[4400];
	if (mesh_load_policy(ctx, &ns.policy, source, sizeof source))
		return 1;
	if (mt_node_reload(node, &ns, &err) != 0) {
		mt_policy_free(ns.policy);
		return mesh_fail_err(&err), 1;
	}
	fprintf(stderr,
		"mesh: SIGHUP: configuration and policy reloaded (trust.maxDepth %d, node.directory "
		"%s, node.metricsPublic %s, policy from %s)\n",
		ns.max_depth, ns.directory ? "on" : "off", ns.metrics_public ? "on" : "off", source);
	return 0;
}

static const mesh_opt START_OPTS[] = {
	{"listen", MESH_ARG, "ADDR:PORT", "default 127.0.0.1:7070 (port 0: any free port)", 'l'},
	{"web", MESH_ARG, "DIR",
	 "dashboard files (default: $MESH_WEB_DIR or web/ beside\nthe executable)", 'w'},
	{"log-level", MESH_ARG, "L", "error, warn, info (default) or debug", 'L'},
	{"log-format", MESH_ARG, "F",
	 "text (logfmt, default) or json (one object per line, the same keys)", 'F'},
	{"threads", MESH_ARG, "N", "HTTP worker threads (default: 4 per CPU, 8 to 64)", 't'},
	{"sync-interval", MESH_ARG, "S",
	 "seconds between sync rounds with full peers (default 30,\n0 = never)", 's'},
	{"header-timeout", MESH_ARG, "S", "absolute deadline for a request's headers (default 10)",
	 'H'},
	{"max-conns-per-ip", MESH_ARG, "N",
	 "connections per address other than 127.0.0.1 (default 64)", 'P'},
	MESH_OPT_END};
static const mesh_spec START_SPEC = {
	START_USAGE,
	"Serve the HTTP API (SPEC §5) in the foreground until SIGINT/SIGTERM.\nSIGHUP reads the "
	"configuration (trust.maxDepth, trust.decay, node.*) and\npolicy.toml again without "
	"dropping a connection; a bad value changes nothing.\nUnder systemd (Type=notify) it "
	"reports readiness through $NOTIFY_SOCKET.\n\nA new bearer token "
	"is written to $MESH_HOME/api.cookie at every start; the\nprinted URL carries it in its "
	"fragment. Logs go to stderr.",
	START_OPTS, 0, 0, NULL, NULL};

static int node_start(mesh_ctx *ctx, int argc, char **argv)
{
	mt_node_opts no = {0};
	const char *listen = "127.0.0.1:7070", *web = NULL;
	int64_t v;
	mt_error err = {0};
	int rc;
	no.log_level = MT_NODE_LOG_INFO;
	no.sync_interval = 30;
	mesh_args a;
	if ((rc = mesh_parse_args(&START_SPEC, argc, argv, &a)) != MESH_ARGS_RUN)
		return rc;
	for (int i = 0; i < a.n_opt; i++) {
		const char *lv = a.opt[i].val;
		switch (a.opt[i].id) {
		case 'l': listen = lv; break;
		case 'w': web = lv; break;
		case 'L':
			if (!strcmp(lv, "error"))
				no.log_level = MT_NODE_LOG_ERROR;
			else if (!strcmp(lv, "warn"))
				no.log_level = MT_NODE_LOG_WARN;
			else if (!strcmp(lv, "info"))
				no.log_level = MT_NODE_LOG_INFO;
			else if (!strcmp(lv, "debug"))
				no.log_level = MT_NODE_LOG_DEBUG;
			else
				return mesh_usage(START_USAGE, "--log-level: \"%s\" is not a level",
						  lv);
			break;
		case 'F':
			if (strcmp(lv, "text") && strcmp(lv, "json"))
				return mesh_usage(START_USAGE,
						  "--log-format: \"%s\" is not a format (text or json)",
						  lv);
			no.log_json = strcmp(lv, "json") == 0;
			break;
		case 't':
			if (mesh_parse_int(&v, lv, "--threads", 1, 256, &err))
				return mesh_usage(START_USAGE, "%s", err.msg);
			no.threads = (unsigned)v;
			break;
		case 's':
			if (mesh_parse_int(&v, lv, "--sync-interval", 0, 86400, &err))
				return mesh_usage(START_USAGE, "%s", err.msg);
			no.sync_interval = (int)v;
			break;
		case 'H':
			if (mesh_parse_int(&v, lv, "--header-timeout", 1, 3600, &err))
				return mesh_usage(START_USAGE, "%s", err.msg);
			no.header_timeout = (unsigned)v;
			break;
		case 'P':
			if (mesh_parse_int(&v, lv, "--max-conns-per-ip", 1, 3840, &err))
				return mesh_usage(START_USAGE, "%s", err.msg);
			no.per_ip_limit = (unsigned)v;
			break;
		}
	}
	char addr[64];
	const char *colon = strrchr(listen, ':');
	if (!colon || colon == listen || (size_t)(colon - listen) >= sizeof addr ||
	    mesh_parse_int(&v, colon + 1, "--listen port", 0, 65535, &err))
		return mesh_usage(START_USAGE, "--listen: \"%s\" is not ADDR:PORT", listen);
	snprintf(addr, sizeof addr, "%.*s", (int)(colon - listen), listen);
	if (strcmp(addr, "localhost") == 0)
		snprintf(addr, sizeof addr, "127.0.0.1");
	no.listen_addr = addr;
	no.port = (int)v;
	int lock_fd = -1;
	if ((rc = mesh_check_home(ctx)) || (rc = node_lock_take(ctx->home, &lock_fd)))
		return rc;
	rc = node_run(ctx, &no, web, addr, lock_fd);
	close(lock_fd);
	return rc;
}

/* node start once the home's lock is held (lock_fd): configure, start,
 * record the address in the lock file, serve until a signal. */
static int node_run(mesh_ctx *ctx, const mt_node_opts *nop, const char *web, const char *addr,
		    int lock_fd)
{
	mt_node_opts no = *nop;
	mt_error err = {0};
	int rc;
	if ((rc = mesh_load_key(ctx)) || (rc = mesh_open_store(ctx)))
		return rc;
	if ((rc = mesh_node_config(ctx, &no.max_depth, no.decay, &no.n_decay, &no.max_per_issuer,
				   &no.max_per_peer)))
		return rc;
	if (mt_config_bool(ctx->store, "node.metricsPublic", &no.metrics_public, &err) != 0 ||
	    mt_config_bool(ctx->store, "node.directory", &no.directory, &err) != 0)
		return mesh_fail_err(&err);
	mt_policy *pol = NULL;
	if ((rc = load_policy(ctx, &pol)))
		return rc;
	no.policy = pol;
	char webbuf[PATH_MAX + 64];
	no.web_dir = find_web(web, webbuf, sizeof webbuf);
	no.home = ctx->home;
	no.db_path = ctx->db_path;
	/* Signals are taken synchronously by this thread (sigwait): block them
	 * before any thread starts so every thread inherits the mask. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
#ifdef __GLIBC__
	/* Under writes the node renews its view (tens of MB on a big web)
	 * several times a second: big blocks stay in the heap and freed memory
	 * is not handed back at once, so a renewal does not map, fault in and
	 * unmap fresh pages each time (the page faults and the TLB shootdowns of
	 * munmap cost more than the renewal's own work, and stall the request
	 * threads). The process keeps about two views' worth of memory. */
	mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024);
#endif
	curl_global_init(CURL_GLOBAL_DEFAULT);
	mt_node *node = NULL;
	if (mt_node_start(&node, &no, &ctx->key, &err) != 0) {
		mt_policy_free(pol);
		return mesh_fail_err(&err);
	}
	char lock_text[200];
	snprintf(lock_text, sizeof lock_text, "pid %ld\nurl http://%s:%d\n", (long)getpid(), addr,
		 mt_node_port(node));
	if (node_lock_write(lock_fd, lock_text) != 0)
		fprintf(stderr, "mesh: warning: cannot record this node's address in %s/%s: %s\n",
			ctx->home, NODE_LOCK_NAME, strerror(errno));
	printf("listening on http://%s:%d/#token=%s\n", addr, mt_node_port(node),
	       mt_node_token(node));
	fflush(stdout);
	char status[128];
	snprintf(status, sizeof status, "READY=1\nSTATUS=serving on %s:%d\nMAINPID=%ld", addr,
		 mt_node_port(node), (long)getpid());
	if (mesh_sd_notify(status) < 0)
		fprintf(stderr, "mesh: warning: cannot tell the service manager ($NOTIFY_SOCKET): %s\n",
			strerror(errno));
	int sig = 0;
	for (;;) {
		sigwait(&set, &sig);
		if (sig != SIGHUP)
			break;
		struct timespec mono;
		clock_gettime(CLOCK_MONOTONIC, &mono);
		snprintf(status, sizeof status, "RELOADING=1\nMONOTONIC_USEC=%lld",
			 (long long)mono.tv_sec * 1000000LL + mono.tv_nsec / 1000);
		(void)mesh_sd_notify(status);
		if (node_reload(ctx, node))
			fprintf(stderr, "mesh: SIGHUP: reload refused, the settings in force are kept\n");
		(void)mesh_sd_notify("READY=1");
	}
	(void)mesh_sd_notify("STOPPING=1");
	fprintf(stderr, "mesh: %s received, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
	mt_node_free(node);
	mt_policy_free(pol);
	curl_global_cleanup();
	/* Stopped: the lock file names no one (the lock goes with the close). */
	if (ftruncate(lock_fd, 0) != 0)
		fprintf(stderr, "mesh: warning: cannot clear %s/%s: %s\n", ctx->home,
			NODE_LOCK_NAME, strerror(errno));
	return EXIT_OK;
}

#define REQUEST_USAGE                                                                              \
	"mesh node request METHOD URL [--body FILE] [--count N] [--rate R] [--save-auth FILE] "   \
	"[--auth-from FILE] [--claim-id ID] [--sign-as-home DIR] [--server-id ID]"

static int read_file(const char *path, char **out, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f)
		return mesh_fail("%s: %s", path, strerror(errno));
	size_t cap = 65536, n = 0;
	char *b = malloc(cap);
	size_t k;
	while (b && (k = fread(b + n, 1, cap - n, f)) > 0) {
		n += k;
		if (n == cap) {
			char *t = realloc(b, cap * 2);
			if (!t) {
				free(b);
				b = NULL;
				break;
			}
			b = t;
			cap *= 2;
		}
	}
	if (f != stdin)
		fclose(f);
	if (!b)
		return mesh_fail("out of memory");
	*out = b;
	*len = n;
	return EXIT_OK;
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A test and debugging helper: sign one request (or N at a rate) with this
 * home's key — or another home's (--sign-as-home) — and print the answer. */
static const mesh_opt REQUEST_OPTS[] = {
	{"body", MESH_ARG, "FILE", "send the contents of FILE as the request body", 'b'},
	{"count", MESH_ARG, "N", "send N requests (1..10000000)", 'n'},
	{"rate", MESH_ARG, "R", "at R requests per second (default: as fast as possible)", 'r'},
	{"save-auth", MESH_ARG, "FILE", "write the Authorization value used", 'S'},
	{"auth-from", MESH_ARG, "FILE", "send that value verbatim (a replay)", 'A'},
	{"claim-id", MESH_ARG, "ID", "put ID in the header while signing with this key (forgery)",
	 'C'},
	{"sign-as-home", MESH_ARG, "DIR", "sign with the key of home DIR", 'H'},
	{"server-id", MESH_ARG, "ID", "the server's Node ID (default: asked with GET /v1/id)", 'I'},
	MESH_OPT_END};
static const mesh_spec REQUEST_SPEC = {
	REQUEST_USAGE,
	"Test/debug helper: send a peer-signed request (SPEC §5 Mesh scheme) with this\nhome's key "
	"and print the status line and the body. --count/--rate send N\nrequests at R per second "
	"and print {\"statuses\":{…},\"seconds\":…} instead.",
	REQUEST_OPTS, 2, 2, "METHOD and URL", NULL};

static int node_request(mesh_ctx *ctx, int argc, char **argv)
{
	const char *body_file = NULL, *save = NULL, *auth_from = NULL, *claim = NULL,
		   *other_home = NULL, *server_id = NULL;
	int64_t count = 1, rate = 0;
	mt_error err = {0};
	int rc;
	mesh_args a;
	if ((rc = mesh_parse_args(&REQUEST_SPEC, argc, argv, &a)) != MESH_ARGS_RUN)
		return rc;
	for (int i = 0; i < a.n_opt; i++) {
		const char *v = a.opt[i].val;
		switch (a.opt[i].id) {
		case 'b': body_file = v; break;
		case 'n':
			if (mesh_parse_int(&count, v, "--count", 1, 10000000, &err))
				return mesh_usage(REQUEST_USAGE, "%s", err.msg);
			break;
		case 'r':
			if (mesh_parse_int(&rate, v, "--rate", 1, 1000000, &err))
				return mesh_usage(REQUEST_USAGE, "%s", err.msg);
			break;
		case 'S': save = v; break;
		case 'A': auth_from = v; break;
		case 'C': claim = v; break;
		case 'H': other_home = v; break;
		case 'I': server_id = v; break;
		}
	}
	const char *method = a.pos[0], *url = a.pos[1];
	mt_keypair other;
	const mt_keypair *kp = &ctx->key;
	if (other_home) {
		if ((rc = mesh_check_home_dir(other_home)))
			return rc;
		if (mt_keyfile_read(&other, other_home, NULL, &err) != 0)
			return mesh_fail_err(&err);
		kp = &other;
	} else if ((rc = mesh_load_key(ctx))) {
		return rc;
	}
	char *body = NULL, auth[512] = "";
	size_t body_len = 0;
	if (body_file && (rc = read_file(body_file, &body, &body_len)))
		goto done;
	if (auth_from) {
		char *a = NULL;
		size_t alen = 0;
		if ((rc = read_file(auth_from, &a, &alen)))
			goto done;
		while (alen && (a[alen - 1] == '\n' || a[alen - 1] == '\r'))
			alen--;
		snprintf(auth, sizeof auth, "%.*s", (int)alen, a);
		free(a);
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	char sid[MT_NODE_ID_MAX];
	if (!server_id) {
		const char *p = strstr(url, "://");
		const char *slash = p ? strchr(p + 3, '/') : NULL;
		char base[1024];
		snprintf(base, sizeof base, "%.*s", slash ? (int)(slash - url) : (int)strlen(url),
			 url);
		if (mt_node_fetch_id(sid, base, 10, &err) != 0) {
			rc = mesh_fail_err(&err);
			goto done;
		}
		server_id = sid;
	}
	json_t *statuses = json_object();
	double t0 = mono();
	long status = 0;
	char *resp = NULL;
	size_t resp_len = 0;
	rc = EXIT_OK;
	for (int64_t i = 0; i < count; i++) {
		if (rate) {
			double due = t0 + (double)i / (double)rate, now = mono();
			if (due > now) {
				struct timespec ts = {(time_t)(due - now),
						      (long)((due - now - (time_t)(due - now)) * 1e9)};
				nanosleep(&ts, NULL);
			}
		}
		char used[256] = "";
		free(resp);
		resp = NULL;
		if (mt_node_request(&status, &resp, &resp_len, used, kp, claim, server_id, method,
				    url, body, body_len, auth[0] ? auth : NULL, &err) != 0) {
			rc = mesh_fail_err(&err);
			break;
		}
		char key[16];
		snprintf(key, sizeof key, "%ld", status);
		json_t *cur = json_object_get(statuses, key);
		json_object_set_new(statuses, key, json_integer(cur ? json_integer_value(cur) + 1 : 1));
		if (save && i == 0) {
			FILE *f = fopen(save, "w");
			if (f) {
				fprintf(f, "%s\n", used);
				fclose(f);
			}
		}
	}
	double secs = mono() - t0;
	if (!rc) {
		if (count > 1)
			mesh_print_json(json_pack("{s:O,s:f}", "statuses", statuses, "seconds", secs));
		else {
			printf("%ld\n", status);
			/* The peer's body, byte for byte into a pipe (tests parse it);
			 * escaped when a person reads it on a terminal. */
			if (isatty(STDOUT_FILENO))
				mesh_term_write(stdout, resp, MESH_TERM_MULTILINE);
			else
				fwrite(resp ? resp : "", 1, resp_len, stdout);
		}
	}
	free(resp);
	json_decref(statuses);
done:
	free(body);
	if (other_home)
		mt_keypair_wipe(&other);
	return rc;
}

int cmd_node(mesh_ctx *ctx, int argc, char **argv)
{
	static const mesh_cmd cmds[] = {
		{"start", node_start, "run the node in the foreground (HTTP API, sync)"},
		{"request", node_request, "send a peer-signed request (test/debug helper)"},
		{NULL, NULL, NULL}};
	return mesh_dispatch(ctx, "node", cmds, argc, argv);
}
