/* mesh bridge declare|list */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "opts.h"

#define DECLARE_USAGE "mesh bridge declare --scopes a,b[,…]"

static const mesh_opt DECLARE_OPTS[] = {
	{"scopes", MESH_ARG, "a,b[,…]", "the scopes bridged, two or more, comma separated (required)",
	 's'},
	MESH_OPT_END};
static const mesh_spec DECLARE_SPEC = {
	DECLARE_USAGE,
	"Declare this node a bridge between two or more scopes (a signed, observational\n"
	"statement; the policy oracle gives declared bridges the next lower tier).",
	DECLARE_OPTS, 0, 0, NULL, NULL};

static int bridge_declare(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int prc = mesh_parse_args(&DECLARE_SPEC, argc, argv, &a);
	if (prc != MESH_ARGS_RUN)
		return prc;
	const char *scopes = mesh_args_get(&a, 's', NULL);
	if (!scopes)
		return mesh_usage(DECLARE_USAGE, "--scopes a,b is required");
	json_t *arr = json_array();
	char buf[2048];
	snprintf(buf, sizeof buf, "%s", scopes);
	mt_error err = {0};
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (mt_scope_check(t, "--scopes", &err)) {
			json_decref(arr);
			return mesh_usage(DECLARE_USAGE, "%s", err.msg);
		}
		json_array_append_new(arr, json_string(t));
	}
	if (json_array_size(arr) < 2) {
		json_decref(arr);
		return mesh_usage(DECLARE_USAGE, "--scopes needs at least two scopes");
	}
	mt_stmt *st = NULL;
	int rc = mesh_issue(ctx, json_pack("{s:s,s:o}", "type", "bridge", "scopes", arr), &st);
	if (rc)
		return rc;
	printf("declared a bridge between %s (seq %llu)\n", scopes, (unsigned long long)st->seq);
	mt_stmt_free(st);
	return EXIT_OK;
}

struct blist {
	json_t *declared; /* iss -> [scopes] */
};

static int on_bridge(const char *iss, const char *scope, void *payload)
{
	struct blist *b = payload;
	json_t *a = json_object_get(b->declared, iss);
	if (!a) {
		a = json_array();
		json_object_set_new(b->declared, iss, a);
	}
	json_array_append_new(a, json_string(scope));
	return 0;
}

#define LIST_USAGE "mesh bridge list [--json]"

static const mesh_opt LIST_OPTS[] = {MESH_OPT_JSON_H("print {declared, undeclared} as JSON"),
				      MESH_OPT_END};
static const mesh_spec LIST_SPEC = {
	LIST_USAGE,
	"Declared bridges, and undeclared nodes that hold inbound trust (full or\nlimited, "
	"unexpired) in two or more scopes.",
	LIST_OPTS, 0, 0, NULL, NULL};

static int bridge_list(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&LIST_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	int json = mesh_args_count(&a, 'j') > 0;
	if ((rc = mesh_open_store(ctx)))
		return rc;
	struct blist b = {json_object()};
	mt_error err = {0};
	if (mt_store_bridges(ctx->store, on_bridge, &b, &err) != 0) {
		json_decref(b.declared);
		return mesh_fail_err(&err);
	}
	/* Undeclared: inbound trust in >= 2 scopes. */
	mt_edge_in *e = NULL;
	size_t n = 0;
	if (mt_store_edges(ctx->store, &e, &n, INT64_MAX, &err) != 0) {
		json_decref(b.declared);
		return mesh_fail_err(&err);
	}
	json_t *scopes_of = json_object(); /* dst -> {scope: true} */
	for (size_t i = 0; i < n; i++) {
		if (e[i].level == MT_LEVEL_NONE || (e[i].exp && e[i].exp <= ctx->now))
			continue;
		json_t *o = json_object_get(scopes_of, e[i].dst);
		if (!o) {
			o = json_object();
			json_object_set_new(scopes_of, e[i].dst, o);
		}
		json_object_set_new(o, e[i].scope, json_true());
	}
	free(e);
	json_t *undeclared = json_object();
	const char *id;
	json_t *o;
	json_object_foreach(scopes_of, id, o)
	{
		if (json_object_size(o) < 2 || json_object_get(b.declared, id))
			continue;
		json_t *a = json_array();
		const char *sc;
		json_t *t;
		json_object_foreach(o, sc, t) json_array_append_new(a, json_string(sc));
		json_object_set_new(undeclared, id, a);
	}
	json_decref(scopes_of);
	if (json)
		return mesh_print_json(
			json_pack("{s:o,s:o}", "declared", b.declared, "undeclared", undeclared));
	printf("declared bridges:\n");
	json_object_foreach(b.declared, id, o)
	{
		printf("  %-52s ", id);
		mesh_term_json(stdout, o, 0);
		putchar('\n');
	}
	printf("undeclared (inbound trust in 2+ scopes):\n");
	json_object_foreach(undeclared, id, o)
	{
		printf("  %-52s ", id);
		mesh_term_json(stdout, o, JSON_SORT_KEYS);
		putchar('\n');
	}
	json_decref(b.declared);
	json_decref(undeclared);
	return EXIT_OK;
}

int cmd_bridge(mesh_ctx *ctx, int argc, char **argv)
{
	static const mesh_cmd cmds[] = {
		{"declare", bridge_declare, "declare this node a bridge between scopes"},
		{"list", bridge_list, "declared and undeclared bridges"},
		{NULL, NULL, NULL}};
	return mesh_dispatch(ctx, "bridge", cmds, argc, argv);
}
