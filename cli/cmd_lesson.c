/* mesh lesson publish|list|show */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "opts.h"
#include "meshtrust/encoding.h"

/* Read a whole body (file or "-"), refusing more than `max` bytes. */
static int read_body(char **out, size_t *len, const char *path, size_t max)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f)
		return mesh_fail("cannot read %s: %s", path, strerror(errno));
	char *buf = malloc(max + 2);
	size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
	int bad = !buf || ferror(f);
	if (f != stdin)
		fclose(f);
	if (bad) {
		free(buf);
		return mesh_fail("cannot read %s", path);
	}
	if (n > max) {
		free(buf);
		return mesh_fail("%s: lesson body is over %zu bytes; nothing published", path, max);
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return EXIT_OK;
}

#define PUBLISH_USAGE "mesh lesson publish --topic T [--topic T2 …] --title \"…\" [FILE|-]"

static const mesh_opt PUBLISH_OPTS[] = {
	{"topic", MESH_ARG, "T", "a topic (repeatable; at least one)", 't'},
	{"title", MESH_ARG, "TEXT", "the title (required)", 'T'},
	MESH_OPT_JSON_H("print {id, statement} as JSON"), MESH_OPT_END};
static const mesh_spec PUBLISH_SPEC = {
	PUBLISH_USAGE,
	"Publish a signed lesson: searchable by everyone who trusts you. The body comes\nfrom FILE "
	"or standard input (-, the default), at most " MESH_STR(MT_LESSON_BODY_MAX) " bytes of "
	"UTF-8.",
	PUBLISH_OPTS, 0, 1, NULL, NULL};

static int lesson_publish(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&PUBLISH_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	const char *title = mesh_args_get(&a, 'T', NULL);
	int json = mesh_args_count(&a, 'j') > 0;
	json_t *topics = json_array();
	for (int i = 0; i < a.n_opt; i++)
		if (a.opt[i].id == 't')
			json_array_append_new(topics, json_string(a.opt[i].val));
	if (!title || !json_array_size(topics)) {
		json_decref(topics);
		return mesh_usage(PUBLISH_USAGE, "--title and at least one --topic are required");
	}
	char *body = NULL;
	size_t blen = 0;
	if ((rc = read_body(&body, &blen, a.n_pos ? a.pos[0] : "-", MT_LESSON_BODY_MAX))) {
		json_decref(topics);
		return rc;
	}
	json_t *jb = json_stringn(body, blen);
	free(body);
	if (!jb) {
		json_decref(topics);
		return mesh_fail("the lesson body is not valid UTF-8 (or holds a NUL byte); nothing "
				 "published");
	}
	json_t *jt = json_string(title);
	if (!jt) {
		json_decref(topics);
		json_decref(jb);
		return mesh_usage(PUBLISH_USAGE, "--title is not valid UTF-8");
	}
	mt_stmt *st = NULL;
	rc = mesh_issue(ctx,
			json_pack("{s:s,s:o,s:o,s:o}", "type", "lesson", "topics", topics, "title",
				  jt, "body", jb),
			&st);
	if (rc)
		return rc;
	char hex[65];
	mt_stmt_id_hex(hex, st);
	if (json)
		mesh_print_json(json_pack("{s:s,s:I}", "id", hex, "seq", (json_int_t)st->seq));
	else
		printf("published lesson %s\n", hex);
	mt_stmt_free(st);
	return EXIT_OK;
}

struct lctx {
	json_t *arr;
	int json;
};

static int list_one(const char *iss, uint64_t seq, const char *canon, size_t len, void *payload)
{
	struct lctx *l = payload;
	mt_stmt *st = NULL;
	(void)iss;
	(void)seq;
	if (mt_stmt_parse(&st, canon, len, INT64_MAX, NULL) != 0)
		return 0;
	if (st->type == MT_ST_LESSON) {
		char hex[65];
		mt_stmt_id_hex(hex, st);
		char iso[32], when[40];
		mesh_format_iso(iso, st->ts);
		mesh_format_time(when, st->ts);
		if (l->json)
			json_array_append_new(
				l->arr, json_pack("{s:s,s:s,s:s,s:o,s:I,s:s}", "id", hex, "author",
						  st->iss, "title", mt_stmt_str(st, "title"), "topics",
						  mesh_stmt_member(st, "topics"), "ts",
						  (json_int_t)st->ts, "ts_iso", iso));
		else {
			printf("%.16s  %-52s  %-23s  ", hex, st->iss, when);
			mesh_term_write(stdout, mt_stmt_str(st, "title"), MESH_TERM_LINE);
			putchar('\n');
		}
	}
	mt_stmt_free(st);
	return 0;
}

#define LIST_USAGE "mesh lesson list [--iss ID] [--json]"

static const mesh_opt LIST_OPTS[] = {MESH_OPT_ISS_H("only this issuer's lessons"),
				      MESH_OPT_JSON_H("print {lessons:[…]} as JSON"), MESH_OPT_END};
static const mesh_spec LIST_SPEC = {LIST_USAGE, "List held lessons (id prefix, author, local time, title; --json: full ids,\nts and "
				    "ts_iso).",
				    LIST_OPTS, 0, 0, NULL, NULL};

static int lesson_list(mesh_ctx *ctx, int argc, char **argv)
{
	struct lctx l = {0};
	mesh_args a;
	int rc = mesh_parse_args(&LIST_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	const char *iss = mesh_args_get(&a, 'i', NULL);
	l.json = mesh_args_count(&a, 'j') > 0;
	char id[MT_NODE_ID_MAX];
	if (iss && mesh_resolve_id_at(ctx, id, iss, "--iss"))
		return EXIT_USAGE;
	if ((rc = mesh_open_store(ctx)))
		return rc;
	l.arr = json_array();
	mt_error err = {0};
	if (!l.json)
		printf("%-16s  %-52s  %-23s  %s\n", "ID", "AUTHOR", "TIME", "TITLE");
	if (mt_store_foreach(ctx->store, iss ? id : NULL, list_one, &l, &err) != 0) {
		json_decref(l.arr);
		return mesh_fail_err(&err);
	}
	if (l.json)
		return mesh_print_json(json_pack("{s:o}", "lessons", l.arr));
	json_decref(l.arr);
	return EXIT_OK;
}

#define SHOW_USAGE "mesh lesson show ID [--json]"

static const mesh_opt SHOW_OPTS[] = {MESH_OPT_JSON_H("print {id, statement} as JSON"),
				      MESH_OPT_END};
static const mesh_spec SHOW_SPEC = {SHOW_USAGE, "Show one lesson by its statement id (64 hex, or a unique prefix of 8+).",
				    SHOW_OPTS, 0, 1, NULL, NULL};

static int lesson_show(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&SHOW_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	int json = mesh_args_count(&a, 'j') > 0;
	const char *idarg = a.n_pos ? a.pos[0] : NULL;
	unsigned char id[32];
	mt_error err = {0};
	if (!idarg)
		return mesh_usage(SHOW_USAGE, "ID: expected a statement id (64 hex characters, or a "
					      "unique prefix of 8 or more)");
	if ((rc = mesh_resolve_stmt_id(ctx, id, idarg, MT_ST_LESSON, "ID")) ||
	    (rc = mesh_open_store(ctx)))
		return rc;
	char full[65];
	mt_hex_encode(full, sizeof full, id, 32);
	idarg = full;
	char *canon = NULL;
	size_t len = 0;
	if (mt_store_get(ctx->store, id, &canon, &len, &err) != 0)
		return mesh_fail("no lesson %s held here", idarg);
	mt_stmt *st = NULL;
	rc = mt_stmt_parse(&st, canon, len, INT64_MAX, &err);
	free(canon);
	if (rc || st->type != MT_ST_LESSON) {
		mt_stmt_free(st);
		return mesh_fail("%s is not a lesson", idarg);
	}
	if (json) {
		mesh_print_json(json_pack("{s:s,s:o}", "id", idarg, "statement", mesh_stmt_json(st)));
	} else {
		json_t *tj = mesh_stmt_member(st, "topics");
		mesh_term_write(stdout, mt_stmt_str(st, "title"), MESH_TERM_LINE);
		printf("\nby %s, topics ", st->iss);
		if (tj)
			mesh_term_json(stdout, tj, 0);
		else
			fputs("[]", stdout);
		json_decref(tj);
		fputs("\n\n", stdout);
		mesh_term_write(stdout, mt_stmt_str(st, "body"), MESH_TERM_MULTILINE);
		putchar('\n');
	}
	mt_stmt_free(st);
	return EXIT_OK;
}

int cmd_lesson(mesh_ctx *ctx, int argc, char **argv)
{
	static const mesh_cmd cmds[] = {{"publish", lesson_publish, "publish a signed lesson"},
					{"list", lesson_list, "list held lessons"},
					{"show", lesson_show, "show one lesson"},
					{NULL, NULL, NULL}};
	return mesh_dispatch(ctx, "lesson", cmds, argc, argv);
}
