/* mesh peer add URL | list: the peers this node syncs with (SPEC §5). */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "opts.h"
#include "meshtrust/node.h"

#define ADD_USAGE "mesh peer add URL [--json]"
#define LIST_USAGE "mesh peer list [--json]"

static const mesh_opt ADD_OPTS[] = {MESH_OPT_JSON_H("print {url, node_id} as JSON"), MESH_OPT_END};
static const mesh_spec ADD_SPEC = {
	ADD_USAGE,
	"Ask the node at URL (http://host:port) for its Node ID (GET /v1/id) and\nremember it as a "
	"peer. `mesh sync` syncs with the peers you trust full.",
	ADD_OPTS, 1, 1, "exactly one URL", NULL};

static int peer_add(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&ADD_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	int json = mesh_args_count(&a, 'j') > 0;
	const char *arg = a.pos[0];
	char url[1024];
	snprintf(url, sizeof url, "%s", arg);
	size_t l = strlen(url);
	while (l && url[l - 1] == '/')
		url[--l] = '\0';
	if ((strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
	    strlen(url) < 9 || strpbrk(url, " \t\r\n\"\\?#"))
		return mesh_usage(ADD_USAGE, "URL: \"%s\" is not an http:// or https:// URL",
				  arg);
	if ((rc = mesh_open_store(ctx)) || (rc = mesh_load_id(ctx)))
		return rc;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	char id[MT_NODE_ID_MAX];
	mt_error err = {0};
	if (mt_node_fetch_id(id, url, 10, &err) != 0)
		return mesh_fail("peer add: %s", err.msg);
	if (strcmp(id, ctx->node_id) == 0)
		return mesh_fail("peer add: %s is this node itself", url);
	if (mt_node_peer_add(ctx->store, url, id, ctx->now, &err) != 0)
		return mesh_fail_err(&err);
	if (json)
		return mesh_print_json(json_pack("{s:s,s:s}", "url", url, "node_id", id));
	printf("added peer %s (%s)\n", url, id);
	return EXIT_OK;
}

static void list_one(const mt_node_peer *p, void *payload)
{
	json_t *arr = payload;
	json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:I,s:s}", "url", p->url, "node_id",
					     p->node_id, "added", (json_int_t)p->added, "last_sync",
					     (json_int_t)p->last_sync, "last_error", p->last_error));
}

static const mesh_opt LIST_OPTS[] = {MESH_OPT_JSON_H("print {peers:[…]} as JSON"), MESH_OPT_END};
static const mesh_spec LIST_SPEC = {
	LIST_USAGE, "The stored peers, their Node IDs and the outcome of the last sync.", LIST_OPTS, 0,
	0, NULL, NULL};

static int peer_list(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&LIST_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	int json = mesh_args_count(&a, 'j') > 0;
	rc = mesh_open_store(ctx);
	if (rc)
		return rc;
	json_t *arr = json_array();
	mt_error err = {0};
	if (mt_node_peer_list(ctx->store, list_one, arr, &err) != 0) {
		json_decref(arr);
		return mesh_fail_err(&err);
	}
	if (json)
		return mesh_print_json(json_pack("{s:o}", "peers", arr));
	printf("%-32s  %-52s  %-20s  %s\n", "URL", "NODE ID", "LAST SYNC", "STATUS");
	size_t i;
	json_t *p;
	json_array_foreach(arr, i, p)
	{
		time_t t = (time_t)json_integer_value(json_object_get(p, "last_sync"));
		char when[32] = "never";
		if (t) {
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		}
		const char *e = json_string_value(json_object_get(p, "last_error"));
		/* The URL was typed by someone, the error may quote the peer: escaped,
		 * padded to the columns of the header. */
		int w = mesh_term_write(stdout, json_string_value(json_object_get(p, "url")),
					MESH_TERM_LINE);
		printf("%*s  ", w >= 0 && w < 32 ? 32 - w : 0, "");
		w = mesh_write_id(ctx, stdout, json_string_value(json_object_get(p, "node_id")));
		printf("%*s  %-20s  ", w >= 0 && w < 52 ? 52 - w : 0, "", when);
		mesh_term_write(stdout, !t ? "-" : (e && *e ? e : "ok"), MESH_TERM_LINE);
		putchar('\n');
	}
	json_decref(arr);
	return EXIT_OK;
}

static const mesh_spec REMOVE_SPEC = {"mesh peer remove URL",
				      "Forget a peer: `mesh sync` no longer syncs with it. What was "
				      "synced stays.",
				      NULL, 1, 1, "exactly one URL", NULL};

static int peer_remove(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&REMOVE_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	char url[1024];
	snprintf(url, sizeof url, "%s", a.pos[0]);
	size_t l = strlen(url);
	while (l && url[l - 1] == '/')
		url[--l] = '\0';
	if ((rc = mesh_open_store(ctx)))
		return rc;
	int removed = 0;
	mt_error err = {0};
	if (mt_store_peer_remove(ctx->store, url, &removed, &err) != 0)
		return mesh_fail_err(&err);
	if (!removed) {
		fputs("mesh: peer remove: ", stderr);
		mesh_term_write(stderr, url, MESH_TERM_LINE);
		fputs(" is not a peer (see `mesh peer list`)\n", stderr);
		return EXIT_FAIL;
	}
	printf("removed peer ");
	mesh_term_write(stdout, url, MESH_TERM_LINE);
	putchar('\n');
	return EXIT_OK;
}

int cmd_peer(mesh_ctx *ctx, int argc, char **argv)
{
	static const mesh_cmd cmds[] = {{"add", peer_add, "add a peer by URL"},
					{"list", peer_list, "list peers and their sync status"},
					{"remove", peer_remove, "forget a peer"},
					{NULL, NULL, NULL}};
	return mesh_dispatch(ctx, "peer", cmds, argc, argv);
}
