/* First contact (SPEC §9.5): mesh directory add|list|remove (the directories
 * this home discovers through and syncs from, kept in discover.directories)
 * and mesh discover — publishers listed by those directories, sample lessons
 * with their signatures checked, the own path to each; `--fetch ID` stores an
 * author's feed, every statement verified, as `log import` would.
 *
 * A directory is a stranger: everything it sends is checked before use
 * (each lesson's signature and author, bounded sizes) and everything it says
 * is escaped before it reaches the terminal. Its listing is what the
 * directory claims (its "inbound" is its own trust); the lessons are what
 * their authors signed; the path is this home's own. */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "config.h"
#include "opts.h"
#include "meshtrust/encoding.h"
#include "meshtrust/engine.h"
#include "meshtrust/ingest.h"
#include "meshtrust/node.h"
#include "meshtrust/statement.h"

#define DIR_ADD_USAGE "mesh directory add URL [--json]"
#define DIR_LIST_USAGE "mesh directory list [--json]"
#define DIR_REMOVE_USAGE "mesh directory remove URL"
#define DISCOVER_USAGE                                                                           \
	"mesh discover [--topic T] [--directory URL] [--limit N] [--samples N] [QUERY] [--json]\n" \
	"       mesh discover --fetch ID [--directory URL] [--json]"

#define LISTING_MAX (16u * 1024 * 1024) /* bytes of one directory answer */
#define FEED_PAGE 1000                  /* a directory's largest page (SPEC §9.5) */
#define FETCH_MAX 100000                /* statements of one author fetched at most */

/* ---- the list of directories (discover.directories) ------------------------------- */

/* Normalise a URL argument (no trailing slash) into out. Returns 0 or prints
 * the usage error. */
static int url_arg(char out[1001], const char *arg, const char *usage)
{
	snprintf(out, 1001, "%s", arg);
	size_t l = strlen(out);
	while (l && out[l - 1] == '/')
		out[--l] = '\0';
	if (strlen(arg) > 1000 ||
	    (strncmp(out, "http://", 7) != 0 && strncmp(out, "https://", 8) != 0) ||
	    strlen(out) < 9 || strpbrk(out, " \t\r\n\"\\?#"))
		return mesh_usage(usage, "URL: \"%.200s\" is not an http:// or https:// URL", arg);
	for (const char *c = out; *c; c++)
		if (*c < 0x21 || *c > 0x7e)
			return mesh_usage(usage, "URL: a control or non-ASCII byte in \"%.200s\"",
					  arg);
	return EXIT_OK;
}

/* The configured directories (mt_config_directories), or prints the error. */
static int load_dirs(mesh_ctx *ctx, char ***dirs, size_t *n)
{
	mt_error err = {0};
	if (mt_config_directories(ctx->store, dirs, n, &err) != 0)
		return mesh_fail_err(&err);
	return EXIT_OK;
}

/* Store dirs[0..n) (skipping `drop`, adding `add`, either may be NULL). */
static int save_dirs(mesh_ctx *ctx, char **dirs, size_t n, const char *drop, const char *add)
{
	size_t len = 1;
	for (size_t i = 0; i < n; i++)
		len += strlen(dirs[i]) + 1;
	if (add)
		len += strlen(add) + 1;
	char *v = malloc(len), *o = v;
	if (!v)
		return mesh_fail("out of memory");
	*o = '\0';
	for (size_t i = 0; i < n; i++) {
		if (drop && strcmp(dirs[i], drop) == 0)
			continue;
		o += sprintf(o, "%s%s", o == v ? "" : " ", dirs[i]);
	}
	if (add)
		sprintf(o, "%s%s", o == v ? "" : " ", add);
	mt_error err = {0};
	int rc = mt_config_set(ctx->store, "discover.directories", v, &err);
	free(v);
	return rc ? mesh_fail_err(&err) : EXIT_OK;
}

static const mesh_opt DIR_ADD_OPTS[] = {MESH_OPT_JSON_H("print {url, node_id} as JSON"),
					MESH_OPT_END};
static const mesh_spec DIR_ADD_SPEC = {
	DIR_ADD_USAGE,
	"Check that the node at URL serves a public directory (GET /v1/id and\n/v1/directory, "
	"without a token) and remember it (discover.directories, at\nmost 16). `mesh discover` "
	"asks it for publishers; `mesh sync` pulls from it the\nfeeds of the authors you trust.",
	DIR_ADD_OPTS, 1, 1, "exactly one URL", NULL};

static int dir_add(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&DIR_ADD_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	int json = mesh_args_count(&a, 'j') > 0;
	char url[1001];
	if ((rc = url_arg(url, a.pos[0], DIR_ADD_USAGE)) || (rc = mesh_open_store(ctx)))
		return rc;
	char **dirs = NULL;
	size_t n = 0;
	if ((rc = load_dirs(ctx, &dirs, &n)))
		return rc;
	for (size_t i = 0; i < n; i++)
		if (strcmp(dirs[i], url) == 0) {
			free(dirs);
			return mesh_fail("directory add: %s is already a directory of this home",
					 url);
		}
	if (n >= 16) {
		free(dirs);
		return mesh_fail("directory add: this home has 16 directories already (the most); "
				 "remove one first");
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	char id[MT_NODE_ID_MAX], full[1100];
	mt_error err = {0};
	if (mt_node_fetch_id(id, url, 10, &err) != 0) {
		free(dirs);
		return mesh_fail("directory add: %s", err.msg);
	}
	snprintf(full, sizeof full, "%s/v1/directory?limit=1", url);
	long status = 0;
	char *body = NULL;
	if (mt_node_public_get(&status, &body, NULL, NULL, full, 10, LISTING_MAX, &err) != 0) {
		free(dirs);
		return mesh_fail("directory add: %s", err.msg);
	}
	free(body);
	if (status != 200) {
		free(dirs);
		return mesh_fail("directory add: %s answers HTTP %ld to GET /v1/directory: it is not "
				 "a public directory (its owner turns one on with `mesh config set "
				 "node.directory on`)",
				 url, status);
	}
	rc = save_dirs(ctx, dirs, n, NULL, url);
	free(dirs);
	if (rc)
		return rc;
	if (json)
		return mesh_print_json(json_pack("{s:s,s:s}", "url", url, "node_id", id));
	printf("added directory %s (", url);
	mesh_write_id(ctx, stdout, id);
	printf(")\n");
	return EXIT_OK;
}

static const mesh_opt DIR_LIST_OPTS[] = {MESH_OPT_JSON_H("print {directories:[url…]} as JSON"),
					 MESH_OPT_END};
static const mesh_spec DIR_LIST_SPEC = {DIR_LIST_USAGE,
					"The directories this home discovers through and syncs "
					"from (discover.directories).",
					DIR_LIST_OPTS, 0, 0, NULL, NULL};

static int dir_list(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&DIR_LIST_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	int json = mesh_args_count(&a, 'j') > 0;
	char **dirs = NULL;
	size_t n = 0;
	if ((rc = mesh_open_store(ctx)) || (rc = load_dirs(ctx, &dirs, &n)))
		return rc;
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, json_string(dirs[i]));
		free(dirs);
		return mesh_print_json(json_pack("{s:o}", "directories", arr));
	}
	if (!n)
		printf("no directories (add one with `mesh directory add URL`)\n");
	for (size_t i = 0; i < n; i++)
		printf("%s\n", dirs[i]);
	free(dirs);
	return EXIT_OK;
}

static const mesh_spec DIR_REMOVE_SPEC = {DIR_REMOVE_USAGE,
					  "Forget a directory (what was fetched through it stays).",
					  NULL, 1, 1, "exactly one URL", NULL};

static int dir_remove(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&DIR_REMOVE_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	char url[1001];
	char **dirs = NULL;
	size_t n = 0;
	if ((rc = url_arg(url, a.pos[0], DIR_REMOVE_USAGE)) || (rc = mesh_open_store(ctx)) ||
	    (rc = load_dirs(ctx, &dirs, &n)))
		return rc;
	int found = 0;
	for (size_t i = 0; i < n; i++)
		found |= strcmp(dirs[i], url) == 0;
	if (!found) {
		free(dirs);
		return mesh_fail("directory remove: %s is not a directory of this home (see `mesh "
				 "directory list`)",
				 url);
	}
	rc = save_dirs(ctx, dirs, n, url, NULL);
	free(dirs);
	if (!rc)
		printf("removed directory %s\n", url);
	return rc;
}

int cmd_directory(mesh_ctx *ctx, int argc, char **argv)
{
	static const mesh_cmd cmds[] = {
		{"add", dir_add, "add a directory by URL (checks it serves /v1/directory)"},
		{"list", dir_list, "list the directories"},
		{"remove", dir_remove, "forget a directory"},
		{NULL, NULL, NULL}};
	return mesh_dispatch(ctx, "directory", cmds, argc, argv);
}

/* ---- mesh discover ------------------------------------------------------------------- */

/* What one discover run gathers. */
typedef struct disc {
	mesh_ctx *ctx;
	mt_engine *engine;
	mt_trust_query tq;
	json_t *directories; /* [{url, status, digest?, error?}] */
	json_t *publishers;  /* [{…, directory, samples, path}] */
	json_t *refused;     /* [{directory, author, id?, reason}] */
	int failed;
} disc;

/* URL-encode `s` into a malloc'd string (NULL when out of memory). */
static char *esc(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *out = e ? strdup(e) : NULL;
	curl_free(e);
	return out;
}

/* Record a directory's failure. */
static void dir_failed(disc *d, json_t *entry, const char *msg)
{
	json_object_set_new(entry, "status", json_string("error"));
	json_object_set_new(entry, "error", json_string(msg));
	d->failed = 1;
}

/* GET `full` from a directory, anonymously. On anything but 200 the
 * directory's entry is marked failed with the reason (the network error, or
 * the status and the answer's error text) and 1 is returned; 0 with *body
 * (malloc'd, the caller frees), *blen and `digest` filled. */
static int dir_get(disc *d, json_t *entry, const char *full, char **body, size_t *blen,
		   char digest[65], long timeout, size_t max)
{
	long status = 0;
	mt_error err = {0};
	*body = NULL;
	if (mt_node_public_get(&status, body, blen, digest, full, timeout, max, &err) != 0) {
		dir_failed(d, entry, err.msg);
		return 1;
	}
	if (status == 200)
		return 0;
	json_t *j = json_loads(*body, 0, NULL);
	const char *e = json_string_value(json_object_get(j, "error"));
	char msg[400];
	snprintf(msg, sizeof msg, "HTTP %ld: %.300s", status, e ? e : "no error text");
	json_decref(j);
	free(*body);
	*body = NULL;
	dir_failed(d, entry, msg);
	return 1;
}

/* The next non-empty line of [*p, end), advancing *p. 0 at the end. */
static int next_line(const char **p, const char *end, const char **line, size_t *len)
{
	while (*p < end) {
		const char *nl = memchr(*p, '\n', (size_t)(end - *p));
		*line = *p;
		*len = (size_t)((nl ? nl : end) - *p);
		*p = nl ? nl + 1 : end;
		if (*len)
			return 1;
	}
	return 0;
}

/* Report a line a directory sent that was refused: the BLAKE2b-256 of its
 * bytes (the id it would have) and why; the run then exits 1. */
static void refuse_line(disc *d, const char *url, const char *author, const char *line,
			size_t len, const char *why)
{
	unsigned char id[32];
	char hex[65];
	mt_blake2b256(id, line, len);
	mt_hex_encode(hex, sizeof hex, id, 32);
	json_array_append_new(d->refused, json_pack("{s:s,s:s,s:s,s:s}", "directory", url,
						    "author", author, "line_hash", hex, "reason",
						    why));
	d->failed = 1;
}

/* Check one line a directory sent as a lesson of `author`: a statement that
 * parses, whose signature verifies, of type lesson, issued by `author` (and
 * with `topic` among its topics when given). Returns the decoded statement
 * (caller frees) or NULL with `reason` filled. */
static mt_stmt *check_lesson(const char *line, size_t len, const char *author, const char *topic,
			     int64_t now, char reason[300])
{
	mt_stmt *st = NULL;
	mt_error err = {0};
	if (mt_stmt_decode(&st, line, len, now, &err) != 0) {
		snprintf(reason, 300, "%.290s", err.msg);
		return NULL;
	}
	if (st->type != MT_ST_LESSON)
		snprintf(reason, 300, "not a lesson (type %s)", mt_stmt_type_name(st->type));
	else if (strcmp(st->iss, author) != 0)
		snprintf(reason, 300, "signed by %s, not by the publisher listed", st->iss);
	else if (topic) {
		size_t n = 0;
		int has = 0;
		const char *t = mt_stmt_list(st, "topics", &n);
		for (size_t i = 0; i < n; i++, t = mt_stmt_list_next(t))
			has |= strcmp(t, topic) == 0;
		if (!has)
			snprintf(reason, 300, "not on topic %s", topic);
		else
			return st;
	} else
		return st;
	mt_stmt_free(st);
	return NULL;
}

/* Sample lessons of one publisher, each checked; forged ones refused. */
static json_t *samples(disc *d, const char *url, const char *author, const char *topic,
		       long n_samples)
{
	json_t *out = json_array();
	char *et = topic ? esc(topic) : NULL;
	char full[1400];
	snprintf(full, sizeof full, "%s/v1/directory/lessons?author=%s&limit=%ld%s%s", url, author,
		 n_samples, et ? "&topic=" : "", et ? et : "");
	free(et);
	long status = 0;
	char *body = NULL;
	size_t blen = 0;
	mt_error err = {0};
	if (mt_node_public_get(&status, &body, &blen, NULL, full, 20, LISTING_MAX, &err) != 0 ||
	    status != 200) {
		json_array_append_new(d->refused,
				      json_pack("{s:s,s:s,s:s}", "directory", url, "author", author,
						"reason",
						err.msg[0] ? err.msg : "lessons: HTTP error"));
		d->failed = 1;
		free(body);
		return out;
	}
	const char *p = body, *end = body + blen, *line;
	size_t k;
	while (next_line(&p, end, &line, &k)) {
		char reason[300];
		mt_stmt *st = check_lesson(line, k, author, topic, d->ctx->now, reason);
		if (!st) {
			refuse_line(d, url, author, line, k, reason);
			continue;
		}
		char hex[65];
		mt_stmt_id_hex(hex, st);
		json_t *topics = NULL;
		mt_stmt_member(st, "topics", &topics, NULL);
		json_array_append_new(out, json_pack("{s:s,s:s,s:I,s:o,s:b}", "id", hex, "title",
						     mt_stmt_str(st, "title"), "ts",
						     (json_int_t)st->ts, "topics",
						     topics ? topics : json_array(), "verified", 1));
		mt_stmt_free(st);
	}
	free(body);
	return out;
}

/* This home's own path to `id` in global: {score, hops, level, via} or null
 * (with the reason in "why"). */
static json_t *own_path(disc *d, const char *id)
{
	if (strcmp(id, d->ctx->node_id) == 0)
		return json_pack("{s:f,s:i,s:s}", "score", 1.0, "hops", 0, "level", "self");
	mt_trust_path *p = NULL;
	mt_error err = {0};
	if (mt_engine_path(&p, d->engine, &d->tq, id, &err) != 0)
		return json_pack("{s:n,s:s}", "score", "why", err.msg);
	json_t *o;
	if (p->found)
		o = json_pack("{s:f,s:i,s:s,s:s}", "score", p->score, "hops", p->hops, "level",
			      mt_level_name(p->level), "via",
			      mt_engine_node_id(d->engine, p->via));
	else
		o = json_pack("{s:n,s:s,s:s}", "score", "why", mt_why_name(p->why), "message",
			      p->message);
	mt_trust_path_free(p);
	return o;
}

static void ask_directory(disc *d, const char *url, const char *topic, const char *query,
			  long limit, long n_samples)
{
	json_t *entry = json_pack("{s:s}", "url", url);
	json_array_append_new(d->directories, entry);
	char *et = topic ? esc(topic) : NULL, *eq = query ? esc(query) : NULL;
	if ((topic && !et) || (query && !eq)) {
		free(et);
		free(eq);
		dir_failed(d, entry, "out of memory");
		return;
	}
	char full[4000];
	snprintf(full, sizeof full, "%s/v1/directory?limit=%ld%s%s%s%s", url, limit,
		 et ? "&topic=" : "", et ? et : "", eq ? "&q=" : "", eq ? eq : "");
	free(et);
	free(eq);
	char *body = NULL, digest[65];
	size_t blen = 0;
	if (dir_get(d, entry, full, &body, &blen, digest, 20, LISTING_MAX))
		return;
	json_t *list = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
	free(body);
	if (!json_is_array(list)) {
		json_decref(list);
		dir_failed(d, entry, "the listing is not a JSON array");
		return;
	}
	json_object_set_new(entry, "status", json_string("ok"));
	json_object_set_new(entry, "digest", json_string(digest));
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e)
	{
		if ((long)i >= limit)
			break;
		const char *id = json_string_value(json_object_get(e, "node_id"));
		json_t *inbound = json_object_get(e, "inbound");
		json_t *topics = json_object_get(e, "topics");
		if (!id || !mt_node_id_valid(id) || !json_is_number(inbound) ||
		    !json_is_array(topics)) {
			json_array_append_new(d->refused,
					      json_pack("{s:s,s:s,s:s}", "directory", url, "author",
							id && mt_node_id_valid(id) ? id : "?",
							"reason", "malformed listing entry"));
			d->failed = 1;
			continue;
		}
		json_t *tcopy = json_array();
		size_t k;
		json_t *t;
		json_array_foreach(topics, k, t) if (json_is_string(t) && k < 64)
			json_array_append(tcopy, t);
		json_t *pub = json_pack(
			"{s:s,s:s,s:o,s:I,s:I,s:f}", "node_id", id, "directory", url, "topics", tcopy,
			"lessons", json_integer_value(json_object_get(e, "lessons")), "latest",
			json_integer_value(json_object_get(e, "latest")), "inbound",
			json_number_value(inbound));
		json_object_set_new(pub, "samples", samples(d, url, id, topic, n_samples));
		json_object_set_new(pub, "path", own_path(d, id));
		json_array_append_new(d->publishers, pub);
	}
	json_decref(list);
}

/* ---- mesh discover --fetch ------------------------------------------------------------ */

/* The fetched lines handed to the ingest pipeline. */
typedef struct fetched {
	json_t *lines; /* [canonical text] */
	size_t next;
	uint64_t rejected;
	json_t *reasons;
} fetched;

static int fetched_next(void *payload, char **buf, size_t *len)
{
	fetched *f = payload;
	if (f->next >= json_array_size(f->lines))
		return 0;
	json_t *l = json_array_get(f->lines, f->next++);
	*len = json_string_length(l);
	*buf = malloc(*len + 1);
	if (!*buf)
		return MT_ENOMEM;
	memcpy(*buf, json_string_value(l), *len + 1);
	return 1;
}

static void fetched_done(void *payload, uint64_t index, int rc, mt_ingest_result result,
			 const char *reason, const mt_stmt *st)
{
	(void)result;
	(void)st;
	fetched *f = payload;
	if (rc)
		json_array_append_new(f->reasons, json_pack("{s:I,s:s}", "index", (json_int_t)index,
							     "reason", reason ? reason : "rejected"));
}

/* Fetch `author`'s feed from `url`, checking each statement; the good ones
 * into f->lines, the forged ones into d->refused. Returns 0, or 1 when the
 * directory does not list the author / fails (d's entry says why). */
static int fetch_from(disc *d, const char *url, const char *author, fetched *f)
{
	json_t *entry = json_pack("{s:s}", "url", url);
	json_array_append_new(d->directories, entry);
	uint64_t from = 1;
	for (;;) {
		char full[1300];
		snprintf(full, sizeof full, "%s/v1/directory/feed/%s?from=%" PRIu64 "&limit=%d", url,
			 author, from, FEED_PAGE);
		char *body = NULL, digest[65];
		size_t blen = 0;
		if (dir_get(d, entry, full, &body, &blen, digest, 60,
			    (size_t)FEED_PAGE * (MT_STMT_MAX + 1)))
			return 1;
		json_object_set_new(entry, "status", json_string("ok"));
		json_object_set_new(entry, "digest", json_string(digest));
		size_t n = 0;
		uint64_t top = 0;
		const char *p = body, *end = body + blen, *line;
		size_t k;
		while (next_line(&p, end, &line, &k)) {
			n++;
			mt_stmt *st = NULL;
			mt_error serr = {0};
			const char *why = NULL;
			char reason[300];
			if (mt_stmt_decode(&st, line, k, d->ctx->now, &serr) != 0)
				why = serr.msg;
			else if (strcmp(st->iss, author) != 0) {
				snprintf(reason, sizeof reason, "issued by %s, not by %s", st->iss,
					 author);
				why = reason;
			}
			if (why) {
				refuse_line(d, url, author, line, k, why);
			} else {
				if (st->seq > top)
					top = st->seq;
				json_array_append_new(f->lines,
						      json_stringn(st->canon, st->canon_len));
			}
			mt_stmt_free(st);
		}
		free(body);
		if (n < FEED_PAGE || json_array_size(f->lines) >= FETCH_MAX || top < from)
			return 0;
		from = top + 1;
	}
}

static const mesh_opt DISCOVER_OPTS[] = {
	{"topic", MESH_ARG, "T", "only publishers (and sample lessons) on this topic", 't'},
	{"directory", MESH_ARG, "URL", "ask this directory only (default: every one added)", 'd'},
	{"limit", MESH_ARG, "N", "at most N publishers per directory, 1..1000 (default 20)", 'l'},
	{"samples", MESH_ARG, "N", "sample lessons per publisher, 0..20 (default 3)", 's'},
	{"fetch", MESH_ARG, "ID", "store this author's feed (ID or @NAME), every statement verified",
	 'f'},
	MESH_OPT_JSON_H("print {directories, publishers, refused} (or the fetch's outcome) as "
			"JSON"),
	MESH_OPT_END};
static const mesh_spec DISCOVER_SPEC = {
	DISCOVER_USAGE,
	"Ask the directories (`mesh directory add`) for the publishers they list, on\na topic "
	"and/or matching QUERY: each with its topics, its number of lessons,\nthe directory's own "
	"trust in it (\"inbound\": what the directory claims), sample\nlesson titles whose "
	"signatures were checked here, and your own path to it when\nyou have one. Lessons a "
	"directory forged (bad signature, wrong author) are\nrefused and reported (exit 1).\n\n"
	"With --fetch ID, fetch that author's feed from the first directory that lists it,\nverify "
	"every statement and store it as `log import` would: its lessons are then\nfound by `mesh "
	"search --include-untrusted` (shown as untrusted), and by plain\nsearch once you trust "
	"the author (`mesh trust add @NAME`).",
	DISCOVER_OPTS, 0, 1, "at most one QUERY (quote it)", NULL};

static void print_discover(disc *d)
{
	size_t i;
	json_t *x;
	json_array_foreach(d->directories, i, x)
	{
		if (strcmp(json_string_value(json_object_get(x, "status")), "ok") == 0)
			continue;
		fputs("mesh: directory ", stderr);
		mesh_term_write(stderr, json_string_value(json_object_get(x, "url")), MESH_TERM_LINE);
		fputs(": ", stderr);
		mesh_term_write(stderr, json_string_value(json_object_get(x, "error")),
				MESH_TERM_LINE);
		fputc('\n', stderr);
	}
	json_array_foreach(d->refused, i, x)
	{
		fputs("mesh: refused from directory ", stderr);
		mesh_term_write(stderr, json_string_value(json_object_get(x, "directory")),
				MESH_TERM_LINE);
		fputs(" (about ", stderr);
		mesh_term_write(stderr, json_string_value(json_object_get(x, "author")),
				MESH_TERM_LINE);
		fputs("): ", stderr);
		mesh_term_write(stderr, json_string_value(json_object_get(x, "reason")),
				MESH_TERM_LINE);
		fputc('\n', stderr);
	}
}

static int discover_fetch(disc *d, char **dirs, size_t n_dirs, const char *author, int json)
{
	mesh_ctx *ctx = d->ctx;
	if (strcmp(author, ctx->node_id) == 0)
		return mesh_fail("discover --fetch: %s is this home's own identity (restore its feed "
				 "with `mesh log import`)",
				 author);
	fetched f = {json_array(), 0, 0, json_array()};
	const char *from_url = NULL;
	for (size_t i = 0; i < n_dirs && !from_url; i++)
		if (fetch_from(d, dirs[i], author, &f) == 0)
			from_url = dirs[i];
	mt_ingest_stats is = {0};
	int rc = EXIT_OK;
	if (json_array_size(f.lines)) {
		mt_ingest_opts o = {0};
		o.now = ctx->now;
		o.done = fetched_done;
		o.payload = &f;
		mt_error err = {0};
		if (mt_ingest_run(ctx->store, fetched_next, &f, &o, &is, &err) != 0)
			rc = mesh_fail("discover --fetch: storing stopped: %s", err.msg);
	}
	if (!rc && json) {
		mesh_print_json(json_pack(
			"{s:s,s:s?,s:I,s:I,s:I,s:O,s:O,s:O}", "author", author, "directory", from_url,
			"accepted", (json_int_t)is.accepted, "duplicate", (json_int_t)is.duplicate,
			"rejected", (json_int_t)is.rejected, "rejections", f.reasons, "refused",
			d->refused, "directories", d->directories));
	} else if (!rc) {
		print_discover(d);
		size_t i;
		json_t *x;
		json_array_foreach(f.reasons, i, x)
		{
			fprintf(stderr, "mesh: statement %lld not stored: ",
				(long long)json_integer_value(json_object_get(x, "index")) + 1);
			mesh_term_write(stderr, json_string_value(json_object_get(x, "reason")),
					MESH_TERM_LINE);
			fputc('\n', stderr);
		}
		if (from_url) {
			printf("fetched the feed of ");
			mesh_write_id(ctx, stdout, author);
			printf(" from %s: %llu accepted, %llu duplicate, %llu rejected; %zu refused\n",
			       from_url, (unsigned long long)is.accepted,
			       (unsigned long long)is.duplicate, (unsigned long long)is.rejected,
			       json_array_size(d->refused));
			printf("its lessons: `mesh search --include-untrusted QUERY` (shown as "
			       "untrusted until you trust it)\n");
		} else {
			fputs("mesh: discover --fetch: no directory lists ", stderr);
			mesh_term_write(stderr, author, MESH_TERM_LINE);
			fputc('\n', stderr);
		}
	}
	if (!rc && (!from_url || d->failed || is.rejected))
		rc = EXIT_FAIL;
	json_decref(f.lines);
	json_decref(f.reasons);
	return rc;
}

int cmd_discover(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&DISCOVER_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	const char *topic = NULL, *only = NULL, *fetch = NULL;
	int64_t limit = 20, n_samples = 3;
	int json = 0;
	mt_error err = {0};
	for (int i = 0; i < a.n_opt; i++) {
		const char *v = a.opt[i].val;
		switch (a.opt[i].id) {
		case 't':
			if (!*v || strlen(v) > 200)
				return mesh_usage(DISCOVER_USAGE, "--topic: 1..200 bytes");
			topic = v;
			break;
		case 'd': only = v; break;
		case 'l':
			if (mesh_parse_int(&limit, v, "--limit", 1, 1000, &err))
				return mesh_usage(DISCOVER_USAGE, "%s", err.msg);
			break;
		case 's':
			if (mesh_parse_int(&n_samples, v, "--samples", 0, 20, &err))
				return mesh_usage(DISCOVER_USAGE, "%s", err.msg);
			break;
		case 'f': fetch = v; break;
		case 'j': json = 1; break;
		}
	}
	const char *query = a.n_pos ? a.pos[0] : NULL;
	if (fetch && (query || topic))
		return mesh_usage(DISCOVER_USAGE, "--fetch takes no QUERY or --topic");
	char author[MT_NODE_ID_MAX] = "";
	if (fetch && (rc = mesh_resolve_id_at(ctx, author, fetch, "--fetch")))
		return rc;
	char only_url[1001];
	if (only && (rc = url_arg(only_url, only, DISCOVER_USAGE)))
		return rc;
	if ((rc = mesh_open_store(ctx)) || (rc = mesh_load_id(ctx)))
		return rc;
	char **dirs = NULL;
	size_t n_dirs = 0;
	char *one[1] = {only_url};
	if (!only && (rc = load_dirs(ctx, &dirs, &n_dirs)))
		return rc;
	char **use = only ? one : dirs;
	size_t n_use = only ? 1 : n_dirs;
	if (!n_use) {
		free(dirs);
		return mesh_fail("discover: no directories: add one with `mesh directory add URL` "
				 "(or give --directory URL)");
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	disc d = {.ctx = ctx, .directories = json_array(), .publishers = json_array(),
		  .refused = json_array()};
	if (fetch) {
		rc = discover_fetch(&d, use, n_use, author, json);
		goto out;
	}
	int depth;
	double decay[MESH_MAX_DECAY];
	size_t nd;
	mt_edge_in *edges = NULL;
	size_t n_edges = 0;
	if ((rc = mesh_config_trust(ctx, &depth, decay, &nd)))
		goto out;
	if (mt_store_edges(ctx->store, &edges, &n_edges, INT64_MAX, &err) != 0 ||
	    mt_engine_new(&d.engine, edges, n_edges, &err) != 0) {
		free(edges);
		rc = mesh_fail_err(&err);
		goto out;
	}
	free(edges);
	d.tq = (mt_trust_query){ctx->node_id, "global", ctx->now, depth, decay, nd};
	for (size_t i = 0; i < n_use; i++)
		ask_directory(&d, use[i], topic, query, (long)limit, (long)n_samples);
	if (json) {
		mesh_print_json(json_pack("{s:O,s:O,s:O}", "directories", d.directories, "publishers",
					  d.publishers, "refused", d.refused));
	} else {
		print_discover(&d);
		size_t i;
		json_t *p;
		if (!json_array_size(d.publishers))
			printf("no publishers listed%s%s\n", topic ? " on topic " : "",
			       topic ? topic : "");
		json_array_foreach(d.publishers, i, p)
		{
			const char *id = json_string_value(json_object_get(p, "node_id"));
			printf("%zu. ", i + 1);
			mesh_write_id(ctx, stdout, id);
			printf("\n   topics: ");
			size_t k;
			json_t *t;
			json_array_foreach(json_object_get(p, "topics"), k, t)
			{
				if (k)
					fputs(", ", stdout);
				mesh_term_write(stdout, json_string_value(t), MESH_TERM_LINE);
			}
			time_t latest = (time_t)json_integer_value(json_object_get(p, "latest"));
			char when[32] = "?";
			struct tm tm;
			if (gmtime_r(&latest, &tm))
				strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
			printf("\n   %lld lesson(s), latest %s; the directory's trust in it: %.3f\n",
			       (long long)json_integer_value(json_object_get(p, "lessons")), when,
			       json_number_value(json_object_get(p, "inbound")));
			json_t *path = json_object_get(p, "path");
			if (json_is_number(json_object_get(path, "score"))) {
				printf("   your path: score %.3f, %lld hop(s), %s\n",
				       json_number_value(json_object_get(path, "score")),
				       (long long)json_integer_value(json_object_get(path, "hops")),
				       json_string_value(json_object_get(path, "level")));
			} else {
				printf("   your path: none (");
				mesh_term_write(stdout,
						json_string_value(json_object_get(path, "why")),
						MESH_TERM_LINE);
				printf(")\n");
			}
			json_array_foreach(json_object_get(p, "samples"), k, t)
			{
				printf("   - \"");
				mesh_term_write(stdout, json_string_value(json_object_get(t, "title")),
						MESH_TERM_LINE);
				printf("\" (%.12s…, signature checked)\n",
				       json_string_value(json_object_get(t, "id")));
			}
		}
		if (json_array_size(d.publishers))
			printf("fetch one: `mesh discover --fetch ID`; trust one: `mesh trust add ID`\n");
	}
	rc = d.failed ? EXIT_FAIL : EXIT_OK;
out:
	mt_engine_free(d.engine);
	json_decref(d.directories);
	json_decref(d.publishers);
	json_decref(d.refused);
	free(dirs);
	return rc;
}
