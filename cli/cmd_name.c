/* mesh name set|list|remove (local petnames, SPEC §9.5), mesh referral list,
 * and the name helpers the other commands use (@NAME, "ID (name)"). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "config.h"
#include "opts.h"
#include "meshtrust/engine.h"

int mesh_resolve_id_at(mesh_ctx *ctx, char out[MT_NODE_ID_MAX], const char *text,
		       const char *argname)
{
	if (!text || text[0] != '@' || !ctx)
		return mesh_resolve_id(out, text, argname);
	const char *name = text + 1;
	if (!mt_store_name_valid(name))
		return mesh_usage(NULL,
				  "%s: \"%s\" is not a name (@ then 1..32 characters of "
				  "[A-Za-z0-9._-])",
				  argname, text);
	int rc;
	if ((rc = mesh_check_home(ctx)) || (rc = mesh_open_store(ctx)))
		return rc;
	mt_error err = {0};
	int r = mt_store_name_lookup(ctx->store, name, out, &err);
	if (r == MT_ENOTFOUND)
		return mesh_usage(NULL, "%s: no name \"%s\" (see `mesh name list`)", argname, name);
	return r ? mesh_fail_err(&err) : EXIT_OK;
}

int mesh_write_id(mesh_ctx *ctx, FILE *f, const char *id)
{
	int w = mesh_term_write(f, id, MESH_TERM_LINE);
	char name[MT_NAME_MAX];
	if (w < 0 || !ctx || !ctx->store || !id ||
	    mt_store_name_get(ctx->store, id, name, NULL) != 0 || !name[0])
		return w;
	fputs(" (", f);
	int n = mesh_term_write(f, name, MESH_TERM_LINE);
	fputc(')', f);
	return n < 0 ? -1 : w + n + 3;
}

int mesh_write_id_pad(mesh_ctx *ctx, FILE *f, const char *id, int width)
{
	int w = mesh_write_id(ctx, f, id);
	if (w >= 0 && w < width)
		fprintf(f, "%*s", width - w, "");
	return w;
}

/* ---- mesh name --------------------------------------------------------- */

static const mesh_spec SET_SPEC = {
	"mesh name set <id> <name>",
	"Give <id> (Node ID, did:key or @name) a local name: 1..32 characters of\n"
	"[A-Za-z0-9._-], one name per identity and one identity per name. Names are\n"
	"never signed or sent; they are shown next to the ID in human-readable output\n"
	"and accepted as @NAME wherever an ID is.",
	NULL, 2, 2, "<id> and <name>", NULL};

static int name_set(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&SET_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	const char *name = a.pos[1];
	if (!mt_store_name_valid(name))
		return mesh_usage(SET_SPEC.usage,
				  "<name>: \"%s\" is not a name (1..32 characters of [A-Za-z0-9._-])",
				  name);
	char id[MT_NODE_ID_MAX];
	if ((rc = mesh_resolve_id_at(ctx, id, a.pos[0], "<id>")))
		return rc;
	if ((rc = mesh_check_home(ctx)) || (rc = mesh_open_store(ctx)))
		return rc;
	mt_error err = {0};
	if (mt_store_name_set(ctx->store, id, name, &err) != 0)
		return mesh_fail_err(&err);
	printf("named %s %s\n", id, name);
	return EXIT_OK;
}

static int add_name(const char *name, const char *node_id, void *payload)
{
	return json_array_append_new(payload, json_pack("{s:s,s:s}", "name", name, "node_id",
							node_id)) ? -1 : 0;
}

static const mesh_opt LIST_OPTS[] = {MESH_OPT_JSON_H("print {names:[{name, node_id}]} as JSON"),
				     MESH_OPT_END};
static const mesh_spec LIST_SPEC = {"mesh name list [--json]",
				    "The local names, sorted by name.", LIST_OPTS, 0, 0, NULL,
				    NULL};

static int name_list(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&LIST_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	if ((rc = mesh_check_home(ctx)) || (rc = mesh_open_store(ctx)))
		return rc;
	json_t *arr = json_array();
	mt_error err = {0};
	if (!arr)
		return mesh_fail("out of memory");
	int r = mt_store_names(ctx->store, add_name, arr, &err);
	if (r != 0) {
		json_decref(arr);
		return r == -1 ? mesh_fail("out of memory") : mesh_fail_err(&err);
	}
	if (mesh_args_count(&a, 'j'))
		return mesh_print_json(json_pack("{s:o}", "names", arr));
	if (!json_array_size(arr))
		printf("no names (mesh name set <id> <name>)\n");
	size_t i;
	json_t *x;
	json_array_foreach(arr, i, x)
	{
		/* typed by this user, but text all the same */
		int w = mesh_term_write(stdout, json_string_value(json_object_get(x, "name")),
					MESH_TERM_LINE);
		printf("%*s  %s\n", w >= 0 && w < 32 ? 32 - w : 0, "",
		       json_string_value(json_object_get(x, "node_id")));
	}
	json_decref(arr);
	return EXIT_OK;
}

static const mesh_spec REMOVE_SPEC = {"mesh name remove <name>|<id>",
				      "Forget a local name, given the name or the identity.", NULL,
				      1, 1, "exactly one <name> or <id>", NULL};

static int name_remove(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&REMOVE_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	const char *key = a.pos[0][0] == '@' ? a.pos[0] + 1 : a.pos[0];
	char id[MT_NODE_ID_MAX];
	mt_error err = {0};
	unsigned char pk[32];
	/* an identity (did:key included) is removed by its Node ID; a name is
	 * never one (no ':', at most 32 characters) */
	if (mt_identity_parse(pk, id, key, "<id>", &err) == 0)
		key = id;
	else if (!mt_store_name_valid(key))
		return mesh_usage(REMOVE_SPEC.usage, "\"%s\" is neither a name nor an identity",
				  a.pos[0]);
	if ((rc = mesh_check_home(ctx)) || (rc = mesh_open_store(ctx)))
		return rc;
	int removed = 0;
	if (mt_store_name_remove(ctx->store, key, &removed, &err) != 0)
		return mesh_fail_err(&err);
	if (!removed)
		return mesh_fail("no name \"%s\" (see `mesh name list`)", a.pos[0]);
	printf("removed the name of %s\n", a.pos[0]);
	return EXIT_OK;
}

int cmd_name(mesh_ctx *ctx, int argc, char **argv)
{
	static const mesh_cmd cmds[] = {
		{"set", name_set, "give an identity a local name"},
		{"list", name_list, "list the local names"},
		{"remove", name_remove, "forget a local name"},
		{NULL, NULL, NULL}};
	return mesh_dispatch(ctx, "name", cmds, argc, argv);
}

/* ---- referrals ------------------------------------------------------------ */

struct refs {
	const char *me;
	const char *referee; /* only referrals of this referee (NULL: any) */
	json_t *arr;
	int oom;
};

static int on_referral(const char *iss, uint64_t seq, const char *canon, size_t len,
		       void *payload)
{
	(void)seq;
	struct refs *r = payload;
	json_t *doc = json_loadb(canon, len, 0, NULL);
	if (!doc)
		return 0;
	const char *referee = json_string_value(json_object_get(doc, "referee"));
	const char *to = json_string_value(json_object_get(doc, "to"));
	const char *note = json_string_value(json_object_get(doc, "note"));
	int about = referee && r->me && strcmp(referee, r->me) == 0;
	int to_me = to && r->me && strcmp(to, r->me) == 0;
	int keep = r->referee ? referee && strcmp(referee, r->referee) == 0 : (about || to_me);
	if (keep && referee) {
		json_t *x = json_pack("{s:s,s:s,s:s,s:I,s:b,s:b}", "referrer", iss, "referee",
				      referee, "note", note ? note : "", "ts",
				      (json_int_t)json_integer_value(json_object_get(doc, "ts")),
				      "about_you", about, "to_you", to_me);
		if (x && to)
			json_object_set_new(x, "to", json_string(to));
		if (!x || json_array_append_new(r->arr, x))
			r->oom = 1;
	}
	json_decref(doc);
	return 0;
}

/* The referrals naming `referee` (or, when NULL, naming ctx->node_id or sent
 * to it) as a new JSON array, oldest first; NULL after printing the error. */
static json_t *collect_referrals(mesh_ctx *ctx, const char *referee)
{
	struct refs r = {ctx->node_id, referee, json_array(), 0};
	mt_stmt_type t = MT_ST_REFERRAL;
	mt_error err = {0};
	if (!r.arr) {
		mesh_fail("out of memory");
		return NULL;
	}
	if (mt_store_foreach_type(ctx->store, &t, 1, on_referral, &r, &err) != 0 || r.oom) {
		json_decref(r.arr);
		if (r.oom)
			mesh_fail("out of memory");
		else
			mesh_fail_err(&err);
		return NULL;
	}
	return r.arr;
}

void mesh_referral_notes(mesh_ctx *ctx, const char *referee, FILE *f)
{
	if (!ctx->store || !ctx->node_id[0])
		return;
	json_t *arr = collect_referrals(ctx, referee);
	size_t i;
	json_t *x;
	json_array_foreach(arr, i, x)
	{
		fputs("mesh: referred by ", f);
		mesh_write_id(ctx, f, json_string_value(json_object_get(x, "referrer")));
		fputs(": ", f);
		mesh_term_write(f, json_string_value(json_object_get(x, "note")), MESH_TERM_LINE);
		fputc('\n', f);
	}
	json_decref(arr);
}

static const mesh_opt REF_OPTS[] = {
	MESH_OPT_SCOPE_H("the scope of the paths to the referrers (default global)"),
	MESH_OPT_JSON_H("print {referrals:[{referrer, referee, to?, note, ts, about_you,\n"
			"to_you, path}]} as JSON (path: {score, hops, level} or null)"),
	MESH_OPT_END};
static const mesh_spec REF_SPEC = {
	"mesh referral list [--scope S] [--json]",
	"The referrals (`mesh refer`) that name you as the referee or are sent to you,\n"
	"oldest first: who referred whom, the note, when, and your trust path to the\n"
	"referrer when you have one (as `mesh trust path`). A referral creates no trust.",
	REF_OPTS, 0, 0, NULL, NULL};

/* Add "path" ({score, hops, level} or null) to each referral, from ctx->node_id. */
static int add_paths(mesh_ctx *ctx, json_t *arr, const char *scope)
{
	int depth = 0, rc;
	double decay[MESH_MAX_DECAY];
	size_t nd = 0;
	if ((rc = mesh_config_trust(ctx, &depth, decay, &nd)))
		return rc;
	mt_edge_in *edges = NULL;
	size_t n = 0;
	mt_error err = {0};
	mt_engine *e = NULL;
	if (mt_store_edges(ctx->store, &edges, &n, INT64_MAX, &err) != 0)
		return mesh_fail_err(&err);
	int r = mt_engine_new(&e, edges, n, &err);
	free(edges);
	if (r)
		return mesh_fail_err(&err);
	mt_trust_query q = {ctx->node_id, scope, ctx->now, depth, decay, nd};
	size_t i;
	json_t *x;
	rc = EXIT_OK;
	json_array_foreach(arr, i, x)
	{
		const char *who = json_string_value(json_object_get(x, "referrer"));
		mt_trust_path *p = NULL;
		if (strcmp(who, ctx->node_id) == 0) {
			json_object_set_new(x, "path", json_null());
			continue;
		}
		if (mt_engine_path(&p, e, &q, who, &err) != 0) {
			rc = mesh_fail_err(&err);
			break;
		}
		json_object_set_new(x, "path",
				    p->found ? json_pack("{s:f,s:i,s:s}", "score", p->score, "hops",
							 p->hops, "level", mt_level_name(p->level))
					     : json_null());
		mt_trust_path_free(p);
	}
	mt_engine_free(e);
	return rc;
}

static int referral_list(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&REF_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	const char *scope = mesh_args_get(&a, 'S', "global");
	mt_error err = {0};
	if (mt_scope_check(scope, "--scope", &err) != 0)
		return mesh_usage(REF_SPEC.usage, "%s", err.msg);
	if ((rc = mesh_check_home(ctx)) || (rc = mesh_open_store(ctx)) || (rc = mesh_load_id(ctx)))
		return rc;
	json_t *arr = collect_referrals(ctx, NULL);
	if (!arr)
		return EXIT_FAIL;
	if ((rc = add_paths(ctx, arr, scope))) {
		json_decref(arr);
		return rc;
	}
	if (mesh_args_count(&a, 'j'))
		return mesh_print_json(json_pack("{s:o}", "referrals", arr));
	if (!json_array_size(arr))
		printf("no referrals naming you or sent to you\n");
	size_t i;
	json_t *x;
	json_array_foreach(arr, i, x)
	{
		time_t t = (time_t)json_integer_value(json_object_get(x, "ts"));
		struct tm tm;
		char when[32] = "?";
		if (gmtime_r(&t, &tm))
			strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		printf("%s  ", when);
		mesh_write_id(ctx, stdout, json_string_value(json_object_get(x, "referrer")));
		fputs(" referred ", stdout);
		if (json_is_true(json_object_get(x, "about_you")))
			fputs("you", stdout);
		else
			mesh_write_id(ctx, stdout,
				      json_string_value(json_object_get(x, "referee")));
		if (json_is_true(json_object_get(x, "to_you")))
			fputs(" to you", stdout);
		fputs(": ", stdout);
		mesh_term_write(stdout, json_string_value(json_object_get(x, "note")),
				MESH_TERM_LINE);
		json_t *p = json_object_get(x, "path");
		if (json_is_object(p))
			printf("\n    your path to the referrer: %s, score %.6g, %d hop(s), in "
			       "scope %s\n",
			       json_string_value(json_object_get(p, "level")),
			       json_real_value(json_object_get(p, "score")),
			       (int)json_integer_value(json_object_get(p, "hops")), scope);
		else
			printf("\n    no trust path to the referrer in scope %s\n", scope);
	}
	json_decref(arr);
	return EXIT_OK;
}

int cmd_referral(mesh_ctx *ctx, int argc, char **argv)
{
	static const mesh_cmd cmds[] = {
		{"list", referral_list, "referrals naming you or sent to you"},
		{NULL, NULL, NULL}};
	return mesh_dispatch(ctx, "referral", cmds, argc, argv);
}
