/* mesh sync: one sync round with the peers this node trusts full (SPEC §5). */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "opts.h"
#include "meshtrust/config.h"
#include "meshtrust/node.h"
#include "node_cli.h"

#define SYNC_USAGE "mesh sync [--page N] [--json]"

static void peer_line(const char *url, const char *summary, void *payload)
{
	json_t *arr = payload;
	json_array_append_new(arr, json_pack("{s:s,s:s}", "url", url, "summary", summary));
}

static const mesh_opt SYNC_OPTS[] = {
	{"page", MESH_ARG, "N", "statements per GET request, 1..100000 (default 5000)", 'p'},
	MESH_OPT_JSON_H("print {peers, skipped, failed, accepted, …, results} as JSON"), MESH_OPT_END};
static const mesh_spec SYNC_SPEC = {
	SYNC_USAGE,
	"Sync once with every peer (`mesh peer add`) that this node trusts full in scope\nglobal: "
	"pull the feeds of issuers within the trust horizon (level >= limited in\nsome scope) "
	"beyond the local contiguous head, under the per-issuer and per-peer\nquotas "
	"(node.maxStatementsPerIssuerPerDay / PerPeerPerDay), and push this node's own\nnew "
	"statements. Then, from every directory (`mesh directory add`), pull without\na "
	"signature the feeds it lists of issuers within the trust horizon. Exit 1\nwhen a peer "
	"or a directory failed.",
	SYNC_OPTS, 0, 0, NULL, NULL};

int cmd_sync(mesh_ctx *ctx, int argc, char **argv)
{
	int json = 0, rc;
	int64_t page = 0;
	mt_error err = {0};
	mesh_args a;
	if ((rc = mesh_parse_args(&SYNC_SPEC, argc, argv, &a)) != MESH_ARGS_RUN)
		return rc;
	for (int i = 0; i < a.n_opt; i++) {
		if (a.opt[i].id == 'j')
			json = 1;
		else if (mesh_parse_int(&page, a.opt[i].val, "--page", 1, 100000, &err))
			return mesh_usage(SYNC_USAGE, "%s", err.msg);
	}
	if ((rc = mesh_load_key(ctx)) || (rc = mesh_open_store(ctx)))
		return rc;
	mt_node_sync_opts so = {0};
	double decay[16];
	if ((rc = mesh_node_config(ctx, &so.max_depth, decay, &so.n_decay, &so.max_per_issuer,
				   &so.max_per_peer)))
		return rc;
	so.decay = decay;
	so.page = (size_t)page;
	char **dirs = NULL;
	size_t n_dirs = 0;
	if (mt_config_directories(ctx->store, &dirs, &n_dirs, &err) != 0)
		return mesh_fail_err(&err);
	so.directories = (const char *const *)dirs;
	so.n_directories = n_dirs;
	mesh_progress prog;
	mesh_progress_init(&prog, "sync: statements", 0);
	so.progress = mesh_progress_cb;
	so.progress_payload = &prog;
	json_t *lines = json_array();
	so.peer_done = peer_line;
	so.peer_payload = lines;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	mt_node_sync_stats st;
	rc = mt_node_sync_once(ctx->store, &ctx->key, &so, ctx->now, &st, &err);
	mesh_progress_end(&prog);
	free(dirs);
	if (rc) {
		json_decref(lines);
		return mesh_fail("sync: %s", err.msg);
	}
	if (json) {
		mesh_print_json(json_pack(
			"{s:i,s:i,s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:o}", "peers", st.peers, "directories",
			st.directories, "skipped",
			st.skipped, "failed", st.failed, "accepted", (json_int_t)st.pulled_accepted,
			"duplicate", (json_int_t)st.pulled_duplicate, "rejected",
			(json_int_t)st.pulled_rejected, "pushed", (json_int_t)st.pushed, "lag",
			(json_int_t)st.lag, "results", lines));
	} else {
		size_t i;
		json_t *l;
		json_array_foreach(lines, i, l)
		{
			/* A summary may quote the peer's answer: escaped. */
			mesh_term_write(stdout, json_string_value(json_object_get(l, "url")),
					MESH_TERM_LINE);
			fputs(": ", stdout);
			mesh_term_write(stdout, json_string_value(json_object_get(l, "summary")),
					MESH_TERM_LINE);
			putchar('\n');
		}
		printf("synced with %u peer(s) and %u director%s (%u skipped, %u failed): %llu "
		       "accepted, %llu duplicate, %llu rejected, %llu pushed\n",
		       st.peers, st.directories, st.directories == 1 ? "y" : "ies", st.skipped,
		       st.failed, (unsigned long long)st.pulled_accepted,
		       (unsigned long long)st.pulled_duplicate,
		       (unsigned long long)st.pulled_rejected, (unsigned long long)st.pushed);
		json_decref(lines);
	}
	return st.failed ? EXIT_FAIL : EXIT_OK;
}
