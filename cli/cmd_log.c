/* mesh log import|export|verify|show|head, mesh store rebuild, and the shared
 * import of NDJSON files and trust-export documents. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "opts.h"
#include "import_parse.h"
#include "keyimport.h"
#include "tq_snapshot.h"
#include "meshtrust/canon.h"
#include "meshtrust/encoding.h"
#include "meshtrust/ingest.h"

/* Largest trust-export document read whole. */
#define TRUST_DOC_MAX (512u << 20)

struct reader {
	FILE *f;
	char *buf;
	uint64_t line;
	/* trust doc mode */
	json_t *stmts;
	size_t idx;
	uint64_t *index_map; /* pipeline index -> line number or array index */
	size_t map_cap;
	uint64_t produced;
	char (*pre_reason)[256]; /* reasons for items refused before decoding */
};

static int map_add(struct reader *r, uint64_t v)
{
	if (r->produced == r->map_cap) {
		size_t cap = r->map_cap ? r->map_cap * 2 : 4096;
		uint64_t *m = realloc(r->index_map, cap * sizeof *m);
		if (!m)
			return MT_ENOMEM;
		r->index_map = m;
		r->map_cap = cap;
	}
	r->index_map[r->produced++] = v;
	return 0;
}

static int next_line(void *payload, char **out, size_t *len)
{
	struct reader *r = payload;
	for (;;) {
		int rc = mesh_import_read_line(r->f, r->buf, MT_STMT_MAX + 2, len);
		if (rc == 0)
			return 0;
		r->line++;
		if (*len == 0)
			continue; /* blank lines carry nothing */
		*out = malloc(*len + 1);
		if (!*out || map_add(r, r->line))
			return MT_ENOMEM;
		memcpy(*out, r->buf, *len + 1);
		return 1;
	}
}

static int next_doc_stmt(void *payload, char **out, size_t *len)
{
	struct reader *r = payload;
	while (r->idx < json_array_size(r->stmts)) {
		json_t *v = json_array_get(r->stmts, r->idx);
		char reason[256];
		reason[0] = '\0';
		r->idx++;
		if (mesh_trust_doc_item(out, len, v, reason) != 0)
			return MT_ENOMEM;
		if (reason[0]) {
			if (map_add(r, r->idx - 1))
				return MT_ENOMEM;
			memcpy(r->pre_reason[r->produced - 1], reason, sizeof reason);
			return 1;
		}
		if (map_add(r, r->idx - 1))
			return MT_ENOMEM;
		return 1;
	}
	return 0;
}

struct import_report {
	json_t *rejected;
	int json_out, ack, trust_doc;
	struct reader *r;
	mt_ingest_stats stats;
};

static void on_done(void *payload, uint64_t index, int rc, mt_ingest_result res, const char *reason,
		    const mt_stmt *st)
{
	struct import_report *rep = payload;
	uint64_t where = rep->r->index_map[index];
	if (rc) {
		const char *why = reason;
		if (rep->trust_doc && rep->r->pre_reason && rep->r->pre_reason[index][0])
			why = rep->r->pre_reason[index];
		json_array_append_new(rep->rejected,
				      json_pack("{s:I,s:s}", rep->trust_doc ? "index" : "line",
						(json_int_t)where, "reason", why ? why : "rejected"));
		return;
	}
	if (rep->ack) {
		char hex[65];
		mt_stmt_id_hex(hex, st);
		printf("%s %s\n", res == MT_INGEST_DUPLICATE ? "duplicate" : "ok", hex);
	}
}

static void on_batch(uint64_t done, uint64_t total, void *payload)
{
	struct import_report *rep = payload;
	if (rep->ack)
		fflush(stdout);
	(void)done;
	(void)total;
}

struct prog_pair {
	struct import_report *rep;
	mesh_progress *prog;
};

static void on_progress(uint64_t done, uint64_t total, void *payload)
{
	struct prog_pair *pp = payload;
	on_batch(done, total, pp->rep);
	mesh_progress_cb(done, total, pp->prog);
}

/* Pass 1 over an NDJSON file: is every line JSON, within bounds, UTF-8? */
static int check_ndjson(FILE *f, const char *name, char *buf)
{
	size_t len;
	uint64_t line = 0;
	int rc;
	while ((rc = mesh_import_read_line(f, buf, MT_STMT_MAX + 2, &len)) != 0) {
		line++;
		if (rc == -1)
			return mesh_fail("%s: line %llu is over %d bytes; file refused, nothing "
					 "imported",
					 name, (unsigned long long)line, MT_STMT_MAX);
		if (rc == -2)
			return mesh_fail("%s: line %llu contains a NUL byte; file refused, nothing "
					 "imported",
					 name, (unsigned long long)line);
		if (len == 0)
			continue;
		json_error_t je;
		json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
		if (!v)
			return mesh_fail("%s: line %llu is not JSON (%s at column %d); file refused, "
					 "nothing imported",
					 name, (unsigned long long)line, je.text, je.column);
		json_decref(v);
	}
	if (ferror(f))
		return mesh_fail("%s: read error: %s", name, strerror(errno));
	return EXIT_OK;
}

/* Copy stdin to an anonymous temporary file so it can be read twice. */
static FILE *spool_stdin(void)
{
	FILE *t = tmpfile();
	if (!t)
		return NULL;
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
		if (fwrite(buf, 1, n, t) != n) {
			fclose(t);
			return NULL;
		}
	if (ferror(stdin)) {
		fclose(t);
		return NULL;
	}
	rewind(t);
	return t;
}

static int load_trust_doc(FILE *f, const char *name, json_t **doc_out)
{
	*doc_out = NULL;
	if (fseek(f, 0, SEEK_END) == 0) {
		long sz = ftell(f);
		if (sz > (long)TRUST_DOC_MAX)
			return mesh_fail("%s: %ld bytes is over the %u-byte limit; nothing imported",
					 name, sz, TRUST_DOC_MAX);
		rewind(f);
	}
	json_error_t je;
	json_t *doc = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
	if (!doc)
		return mesh_fail("%s: not a JSON document (%s at line %d column %d); nothing "
				 "imported",
				 name, je.text, je.line, je.column);
	const char *why = mesh_trust_doc_check(doc);
	if (why) {
		json_decref(doc);
		return mesh_fail("%s: not a trust export: %s; nothing imported", name, why);
	}
	*doc_out = doc;
	return EXIT_OK;
}

int mesh_import_file(mesh_ctx *ctx, const char *path, int trust_doc, int json_out, int ack)
{
	return mesh_import_file_ex(ctx, path, trust_doc, json_out, ack, 0);
}

int mesh_import_file_ex(mesh_ctx *ctx, const char *path, int trust_doc, int json_out, int ack,
			int accept_fork)
{
	FILE *f = NULL;
	int rc = EXIT_FAIL;
	const char *name = strcmp(path, "-") == 0 ? "standard input" : path;
	struct reader r = {0};
	json_t *doc = NULL;
	struct import_report rep = {0};
	rep.rejected = json_array();
	rep.json_out = json_out;
	rep.ack = ack;
	rep.trust_doc = trust_doc;
	rep.r = &r;

	f = strcmp(path, "-") == 0 ? spool_stdin() : fopen(path, "rb");
	if (!f) {
		rc = mesh_fail("cannot read %s: %s", name, strerror(errno));
		goto done;
	}
	r.f = f;
	r.buf = malloc(MT_STMT_MAX + 2);
	if (!r.buf) {
		rc = mesh_fail("out of memory");
		goto done;
	}
	if (trust_doc) {
		if ((rc = load_trust_doc(f, name, &doc)))
			goto done;
		r.stmts = json_object_get(doc, "statements");
		r.pre_reason = calloc(json_array_size(r.stmts) + 1, sizeof *r.pre_reason);
		if (!r.pre_reason) {
			rc = mesh_fail("out of memory");
			goto done;
		}
	} else {
		if ((rc = check_ndjson(f, name, r.buf)))
			goto done;
		rewind(f);
	}
	if ((rc = mesh_open_store(ctx)))
		goto done;
	/* Never fork the home's own feed by accident (keyimport.c). */
	mesh_own_import own;
	if ((rc = mesh_import_own_check(ctx, f, r.stmts, trust_doc, name, accept_fork, &own)))
		goto done;

	mesh_progress prog;
	mesh_progress_init(&prog, "importing", trust_doc ? json_array_size(r.stmts) : 0);
	struct prog_pair pp = {&rep, &prog};
	mt_ingest_opts o = {0};
	o.now = ctx->now;
	o.done = on_done;
	o.payload = &rep;
	o.progress = on_progress;
	o.progress_payload = &pp;
	mt_error err = {0};
	int irc = mt_ingest_run(ctx->store, trust_doc ? next_doc_stmt : next_line, &r, &o, &rep.stats,
				&err);
	mesh_progress_end(&prog);
	if (irc) {
		rc = mesh_fail("import stopped: %s (%llu statements committed before)", err.msg,
			       (unsigned long long)(rep.stats.accepted + rep.stats.duplicate));
		goto done;
	}
	mesh_import_own_after(ctx, &own);
	if (trust_doc) {
		json_t *notes = json_object_get(doc, "notes");
		const char *k;
		json_t *v;
		json_object_foreach(notes, k, v)
		{
			char *old = NULL;
			if (mt_store_note_get(ctx->store, k, &old, &err) == 0 && !old)
				mt_store_note_set(ctx->store, k, json_string_value(v), &err);
			free(old);
		}
	}
	if (json_out) {
		mesh_print_json(json_pack("{s:I,s:I,s:O}", "accepted", (json_int_t)rep.stats.accepted,
					  "duplicate", (json_int_t)rep.stats.duplicate, "rejected",
					  rep.rejected));
	} else {
		size_t i;
		json_t *x;
		json_array_foreach(rep.rejected, i, x)
		{
			/* A reason may quote the rejected line: escaped. */
			fprintf(stderr, "mesh: %s %lld rejected: ", trust_doc ? "statement" : "line",
				(long long)json_integer_value(
					json_object_get(x, trust_doc ? "index" : "line")));
			mesh_term_write(stderr, json_string_value(json_object_get(x, "reason")),
					MESH_TERM_LINE);
			fputc('\n', stderr);
		}
		if (!ack)
			printf("%llu accepted, %llu duplicate, %llu rejected\n",
			       (unsigned long long)rep.stats.accepted,
			       (unsigned long long)rep.stats.duplicate,
			       (unsigned long long)rep.stats.rejected);
	}
	rc = rep.stats.rejected ? EXIT_FAIL : EXIT_OK;
done:
	if (f)
		fclose(f);
	free(r.buf);
	free(r.index_map);
	free(r.pre_reason);
	json_decref(doc);
	json_decref(rep.rejected);
	return rc;
}

/* ---- sub-commands ----------------------------------------------------------- */

#define IMPORT_USAGE "mesh log import FILE|- [--json] [--ack] [--accept-fork]"

static const mesh_opt IMPORT_OPTS[] = {
	MESH_OPT_JSON_H("report {\"accepted\",\"duplicate\",\"rejected\":[{line,reason}]}"),
	{"ack", MESH_NOARG, NULL, "print \"ok <id>\" per statement once it is durably stored", 'a'},
	{"accept-fork", MESH_NOARG, NULL,
	 "import statements of this home's own identity even where they fork\n"
	 "its feed (refused otherwise, naming the seq)",
	 'F'},
	MESH_OPT_END};
static const mesh_spec IMPORT_SPEC = {
	IMPORT_USAGE,
	"Import NDJSON statements (one canonical statement per line), from any issuer.\nA file that "
	"is not well-formed (not JSON, invalid UTF-8, a line over " MESH_STR(MT_STMT_MAX) " bytes)\nis "
	"refused whole; otherwise each statement is verified and stands alone.\nExit 1 when any "
	"statement was rejected.",
	IMPORT_OPTS, 1, 1, "one FILE (or - for standard input)", NULL};

static int log_import(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&IMPORT_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	return mesh_import_file_ex(ctx, a.pos[0], 0, mesh_args_count(&a, 'j') > 0,
				   mesh_args_count(&a, 'a') > 0, mesh_args_count(&a, 'F') > 0);
}

static int write_line(const char *iss, uint64_t seq, const char *canon, size_t len, void *payload)
{
	(void)iss;
	(void)seq;
	(void)payload;
	if (fwrite(canon, 1, len, stdout) != len || putchar('\n') == EOF)
		return MT_EIO;
	return 0;
}

#define EXPORT_USAGE "mesh log export [--iss ID]"

static const mesh_opt EXPORT_OPTS[] = {MESH_OPT_ISS_H("only this issuer's statements"),
					MESH_OPT_END};
static const mesh_spec EXPORT_SPEC = {
	EXPORT_USAGE, "Write every held statement (or one issuer's) as NDJSON, by issuer then seq.",
	EXPORT_OPTS, 0, 0, NULL, NULL};

static int log_export(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int prc = mesh_parse_args(&EXPORT_SPEC, argc, argv, &a);
	if (prc != MESH_ARGS_RUN)
		return prc;
	const char *iss = mesh_args_get(&a, 'i', NULL);
	char id[MT_NODE_ID_MAX];
	if (iss && mesh_resolve_id_at(ctx, id, iss, "--iss"))
		return EXIT_USAGE;
	int rc = mesh_open_store(ctx);
	if (rc)
		return rc;
	mt_error err = {0};
	if (mt_store_foreach(ctx->store, iss ? id : NULL, write_line, NULL, &err) != 0)
		return err.msg[0] ? mesh_fail_err(&err) : mesh_fail("write error");
	return EXIT_OK;
}

struct vctx {
	json_t *issues;
	int json;
};

static void on_issue(const mt_verify_issue *is, void *payload)
{
	struct vctx *v = payload;
	if (v->json)
		json_array_append_new(v->issues, json_pack("{s:s,s:s,s:I,s:s}", "kind", is->kind,
							   "iss", is->iss, "seq",
							   (json_int_t)is->seq, "detail",
							   is->detail));
	else {
		printf("%-14s ", is->kind);
		mesh_term_write(stdout, is->iss, MESH_TERM_LINE);
		printf(" seq %llu: ", (unsigned long long)is->seq);
		mesh_term_write(stdout, is->detail, MESH_TERM_LINE);
		putchar('\n');
	}
}

#define VERIFY_USAGE "mesh log verify [--json]"

static const mesh_opt VERIFY_OPTS[] = {
	MESH_OPT_JSON_H("print {checked, problems, ok, issues:[…]} as JSON"), MESH_OPT_END};
static const mesh_spec VERIFY_SPEC = {
	VERIFY_USAGE,
	"Re-check every stored statement: canonical bytes, id, signature, chain links;\nlist forks "
	"(equivocation) and gaps, and check the database. Exit 1 when anything is wrong.",
	VERIFY_OPTS, 0, 0, NULL, NULL};

static int log_verify(mesh_ctx *ctx, int argc, char **argv)
{
	struct vctx v = {0};
	mesh_args a;
	int prc = mesh_parse_args(&VERIFY_SPEC, argc, argv, &a);
	if (prc != MESH_ARGS_RUN)
		return prc;
	v.json = mesh_args_count(&a, 'j') > 0;
	int rc = mesh_open_store(ctx);
	if (rc)
		return rc;
	v.issues = json_array();
	mt_error err = {0};
	uint64_t checked = 0, problems = 0;
	mesh_progress prog;
	mesh_progress_init(&prog, "verifying", 0);
	if (mt_store_verify(ctx->store, on_issue, &v, &checked, &problems, mesh_progress_cb, &prog,
			    &err) != 0) {
		json_decref(v.issues);
		return mesh_fail_err(&err);
	}
	mesh_progress_end(&prog);
	if (v.json)
		mesh_print_json(json_pack("{s:b,s:I,s:I,s:o}", "ok", problems == 0, "checked",
					  (json_int_t)checked, "problems", (json_int_t)problems,
					  "issues", v.issues));
	else {
		json_decref(v.issues);
		if (problems)
			printf("%llu statements checked: %llu problem(s)\n",
			       (unsigned long long)checked, (unsigned long long)problems);
		else
			printf("%llu statements checked: OK\n", (unsigned long long)checked);
	}
	return problems ? EXIT_FAIL : EXIT_OK;
}

struct showctx {
	json_t *arr;
};

static int show_one(const char *iss, uint64_t seq, const char *canon, size_t len, void *payload)
{
	struct showctx *sc = payload;
	mt_stmt *st = NULL;
	if (mt_stmt_parse(&st, canon, len, INT64_MAX, NULL) != 0)
		return 0;
	char hex[65];
	mt_stmt_id_hex(hex, st);
	if (sc->arr) {
		char iso[32];
		mesh_format_iso(iso, st->ts);
		json_t *o = json_pack("{s:s,s:s,s:o}", "id", hex, "ts_iso", iso, "statement",
				      mesh_stmt_json(st));
		json_array_append_new(sc->arr, o);
	} else {
		const char *what = mt_stmt_str(st, "target");
		if (!what)
			what = mt_stmt_str(st, "title");
		if (!what)
			what = mt_stmt_str(st, "referee");
		if (!what)
			what = mt_stmt_str(st, "scope");
		char when[40];
		mesh_format_time(when, st->ts);
		printf("%.12s  %-52s %6llu  %-10s %-23s  ", hex, iss, (unsigned long long)seq,
		       mt_stmt_type_name(st->type), when);
		mesh_term_write(stdout, what, MESH_TERM_LINE);
		putchar('\n');
	}
	mt_stmt_free(st);
	return 0;
}

#define SHOW_USAGE "mesh log show [--iss ID] [--json]"

static const mesh_opt SHOW_OPTS[] = {MESH_OPT_ISS_H("only this issuer's statements"),
				      MESH_OPT_JSON_H("print {statements:[…]} as JSON"), MESH_OPT_END};
static const mesh_spec SHOW_SPEC = {SHOW_USAGE,
				    "List held statements (id, issuer, seq, type, time, subject); times in local\ntime "
				    "with the zone, in --json as ts (Unix seconds) and ts_iso (UTC).",
				    SHOW_OPTS, 0, 0, NULL, NULL};

static int log_show(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int prc = mesh_parse_args(&SHOW_SPEC, argc, argv, &a);
	if (prc != MESH_ARGS_RUN)
		return prc;
	const char *iss = mesh_args_get(&a, 'i', NULL);
	int json = mesh_args_count(&a, 'j') > 0;
	char id[MT_NODE_ID_MAX];
	if (iss && mesh_resolve_id_at(ctx, id, iss, "--iss"))
		return EXIT_USAGE;
	int rc = mesh_open_store(ctx);
	if (rc)
		return rc;
	struct showctx sc = {json ? json_array() : NULL};
	mt_error err = {0};
	if (!json)
		printf("%-12s  %-52s %6s  %-10s %-23s  %s\n", "ID", "ISSUER", "SEQ", "TYPE", "TIME",
		       "SUBJECT");
	if (mt_store_foreach(ctx->store, iss ? id : NULL, show_one, &sc, &err) != 0) {
		json_decref(sc.arr);
		return mesh_fail_err(&err);
	}
	if (json)
		return mesh_print_json(json_pack("{s:o}", "statements", sc.arr));
	return EXIT_OK;
}

#define HEAD_USAGE "mesh log head [--json]"

static const mesh_opt HEAD_OPTS[] = {MESH_OPT_JSON_H("print {digest, statements} as JSON"),
				      MESH_OPT_END};
static const mesh_spec HEAD_SPEC = {
	HEAD_USAGE,
	"Print the state digest: BLAKE2b-256 over the ids of all held statements\nin ascending byte "
	"order, as 64 hex characters.",
	HEAD_OPTS, 0, 0, NULL, NULL};

static int log_head(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int prc = mesh_parse_args(&HEAD_SPEC, argc, argv, &a);
	if (prc != MESH_ARGS_RUN)
		return prc;
	int json = mesh_args_count(&a, 'j') > 0;
	int rc = mesh_open_store(ctx);
	if (rc)
		return rc;
	char hex[65];
	uint64_t n = 0;
	mt_error err = {0};
	if (mt_store_digest_hex(ctx->store, hex, &n, &err) != 0)
		return mesh_fail_err(&err);
	if (json)
		return mesh_print_json(
			json_pack("{s:s,s:I}", "digest", hex, "statements", (json_int_t)n));
	printf("%s\n", hex);
	return EXIT_OK;
}

int cmd_log(mesh_ctx *ctx, int argc, char **argv)
{
	static const mesh_cmd cmds[] = {
		{"import", log_import, "import NDJSON statements (FILE or -)"},
		{"export", log_export, "write statements as NDJSON"},
		{"verify", log_verify, "re-check signatures, chains, forks, gaps"},
		{"show", log_show, "list held statements"},
		{"head", log_head, "print the state digest"},
		{NULL, NULL, NULL}};
	return mesh_dispatch(ctx, "log", cmds, argc, argv);
}

#define REBUILD_USAGE "mesh store rebuild [--check]"

static const mesh_opt REBUILD_OPTS[] = {
	{"check", MESH_NOARG, NULL, "compare with the state before; exit 1 if they differ", 'c'},
	MESH_OPT_END};
static const mesh_spec REBUILD_SPEC = {
	REBUILD_USAGE,
	"Re-derive every derived table (feeds, forks, edges, rotations, bridges)\nfrom the "
	"statements alone, in one transaction.",
	REBUILD_OPTS, 0, 0, NULL, NULL};

static int store_rebuild(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int prc = mesh_parse_args(&REBUILD_SPEC, argc, argv, &a);
	if (prc != MESH_ARGS_RUN)
		return prc;
	int check = mesh_args_count(&a, 'c') > 0;
	int rc = mesh_open_store(ctx);
	if (rc)
		return rc;
	mt_error err = {0};
	char *before = NULL, *after = NULL;
	if (check && mt_store_derived_dump(ctx->store, &before, &err) != 0)
		return mesh_fail_err(&err);
	mesh_progress prog;
	mesh_progress_init(&prog, "rebuilding", 0);
	if (mt_store_rebuild(ctx->store, mesh_progress_cb, &prog, &err) != 0) {
		free(before);
		return mesh_fail_err(&err);
	}
	mesh_progress_end(&prog);
	rc = EXIT_OK;
	if (check) {
		if (mt_store_derived_dump(ctx->store, &after, &err) != 0) {
			free(before);
			return mesh_fail_err(&err);
		}
		if (strcmp(before, after) != 0)
			rc = mesh_fail("derived state differed from a rebuild (now rebuilt)");
		else
			printf("derived state identical after rebuild\n");
	} else {
		printf("derived state rebuilt\n");
	}
	free(before);
	free(after);
	return rc;
}

static const mesh_opt MIGRATE_OPTS[] = {
	{"to", MESH_ARG, "URL", "the destination store: sqlite:PATH, PATH or postgresql://… "
				 "(required)", 't'},
	{"use", MESH_NOARG, NULL, "then make it this home's store (<home>/store.url)", 'u'},
	MESH_OPT_JSON_H("print {from, to, statements, digest} as JSON"), MESH_OPT_END};
static const mesh_spec MIGRATE_SPEC = {
	"mesh store migrate --to URL [--use] [--json]",
	"Copy this home's store into the store at URL (any backend to any backend):\nevery "
	"statement decoded and its signature verified again, in one transaction;\nthen the "
	"names, peers, notes and configuration. Ends comparing the state digests\n(exit 1 when "
	"they differ). With --use the home then opens URL (<home>/store.url;\n$MESH_STORE and "
	"--store still win). The source is left as it was.",
	MIGRATE_OPTS, 0, 0, NULL, NULL};

static int store_migrate(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&MIGRATE_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	const char *to = mesh_args_get(&a, 't', NULL);
	int use = mesh_args_count(&a, 'u') > 0, json = mesh_args_count(&a, 'j') > 0;
	if (!to)
		return mesh_usage(MIGRATE_SPEC.usage, "--to URL is required");
	if (!mt_store_url_kind(to))
		return mesh_usage(MIGRATE_SPEC.usage,
				  "--to: \"%.200s\" is not a store URL (sqlite:PATH, PATH or "
				  "postgresql://…)",
				  to);
	if ((rc = mesh_open_store(ctx)))
		return rc;
	mt_error err = {0};
	mt_store *dst = NULL;
	if (mt_store_open_url(&dst, to, &err) != 0)
		return mesh_fail("store migrate: %s", err.msg);
	mesh_progress prog;
	mesh_progress_init(&prog, "migrating", 0);
	uint64_t copied = 0;
	rc = mt_store_copy(dst, ctx->store, &copied, mesh_progress_cb, &prog, &err);
	mesh_progress_end(&prog);
	char digest[65] = "";
	if (!rc)
		rc = mt_store_digest_hex(dst, digest, NULL, &err);
	mt_store_close(dst);
	if (rc)
		return mesh_fail("store migrate: %s", err.msg);
	if (use && mt_store_url_record(ctx->home, to, &err) != 0)
		return mesh_fail("store migrate: copied, but %s", err.msg);
	if (json)
		return mesh_print_json(json_pack("{s:s,s:I,s:s,s:b}", "to", to, "statements",
						  (json_int_t)copied, "digest", digest, "use", use));
	printf("copied %llu statement(s) into %s; digests equal (%.16s…)%s\n",
	       (unsigned long long)copied, mt_store_url_kind(to), digest,
	       use ? "; this home now opens it" : "");
	return EXIT_OK;
}

int cmd_store(mesh_ctx *ctx, int argc, char **argv)
{
	static const mesh_cmd cmds[] = {
		{"rebuild", store_rebuild, "re-derive all derived tables from the statements"},
		{"migrate", store_migrate, "copy the store to another backend (verified)"},
		{"compact", mesh_store_compact, "rewrite the engine snapshot the trust queries map"},
		{NULL, NULL, NULL}};
	return mesh_dispatch(ctx, "store", cmds, argc, argv);
}
