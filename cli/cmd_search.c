/* mesh search: lessons ranked by relevance × the author's trust × freshness. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "meshtrust/search.h"

#define SEARCH_USAGE                                                                               \
	"mesh search \"query\" [--topic T] [--scope S] [--from ID] [--limit N] [--json]"

int cmd_search(mesh_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{"topic", required_argument, 0, 't'},
					     {"scope", required_argument, 0, 'S'},
					     {"from", required_argument, 0, 'f'},
					     {"limit", required_argument, 0, 'l'},
					     {"json", no_argument, 0, 'j'},
					     {"help", no_argument, 0, 'h'},
					     {0, 0, 0, 0}};
	const char *topic = NULL, *scope = "global";
	char from[MT_NODE_ID_MAX] = "";
	int64_t limit = 20;
	int json = 0, c, rc;
	mt_error err = {0};
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't': topic = optarg; break;
		case 'S':
			if (mt_scope_check(optarg, "--scope", &err))
				return mesh_usage(SEARCH_USAGE, "%s", err.msg);
			scope = optarg;
			break;
		case 'f':
			if (mesh_resolve_id(from, optarg, "--from"))
				return EXIT_USAGE;
			break;
		case 'l':
			if (mesh_parse_int(&limit, optarg, "--limit", 1, 10000, &err))
				return mesh_usage(SEARCH_USAGE, "%s", err.msg);
			break;
		case 'j': json = 1; break;
		case 'h':
			printf("usage: %s\n\nSearch lessons. Every word matches literally (no query "
			       "syntax). Only authors you\ntrust in the scope (and yourself) are "
			       "shown; rank = relevance (bm25) × trust ×\nfreshness (half-life 365 "
			       "days). See docs/search.md.\n",
			       SEARCH_USAGE);
			return EXIT_OK;
		default: return mesh_usage(SEARCH_USAGE, "bad option");
		}
	}
	if (optind + 1 != argc)
		return mesh_usage(SEARCH_USAGE, "expected one query (quote it)");
	int depth;
	double decay[MESH_MAX_DECAY];
	size_t nd;
	if ((rc = mesh_open_store(ctx)) || (rc = mesh_config_trust(ctx, &depth, decay, &nd)))
		return rc;
	if (!from[0]) {
		if ((rc = mesh_load_id(ctx)))
			return rc;
		snprintf(from, sizeof from, "%s", ctx->node_id);
	}
	char digest[65];
	mt_edge_in *edges = NULL;
	size_t n = 0;
	mt_engine *e = NULL;
	if (mt_store_digest_hex(ctx->store, digest, NULL, &err) != 0 ||
	    mt_store_edges(ctx->store, &edges, &n, INT64_MAX, &err) != 0 ||
	    mt_engine_new(&e, edges, n, &err) != 0) {
		free(edges);
		return mesh_fail_err(&err);
	}
	free(edges);
	mt_trust_query tq = {from, scope, ctx->now, depth, decay, nd};
	mt_search_query sq = {argv[optind], topic, &tq, (size_t)limit};
	mt_search_result *r = NULL;
	rc = mt_search_run(&r, ctx->store, e, NULL, &sq, &err);
	mt_engine_free(e);
	if (rc)
		return err.code == MT_EINVAL ? mesh_usage(NULL, "search: %s", err.msg)
					     : mesh_fail_err(&err);
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < r->count; i++) {
			const mt_search_hit *h = &r->hits[i];
			json_t *topics = json_loads(h->topics_json, 0, NULL);
			json_array_append_new(
				arr, json_pack("{s:s,s:s,s:s,s:o,s:i,s:s,s:f,s:f,s:f,s:f,s:I}", "id",
					       h->id, "author", h->author, "title", h->title,
					       "topics", topics ? topics : json_array(), "hops",
					       h->hops, "level", h->level, "trust", h->trust,
					       "relevance", h->relevance, "freshness", h->freshness,
					       "rank", h->rank, "ts", (json_int_t)h->ts));
		}
		mt_search_result_free(r);
		return mesh_print_json(json_pack("{s:s,s:s,s:s,s:o}", "digest", digest, "viewpoint",
						 from, "scope", scope, "results", arr));
	}
	if (!r->count)
		printf("no results from trusted authors (%zu lesson(s) matched)\n", r->matched);
	for (size_t i = 0; i < r->count; i++) {
		const mt_search_hit *h = &r->hits[i];
		printf("%zu. %s\n   %.16s… by %s (%s, %d hop(s))\n   rank %.4g = relevance %.4g × "
		       "trust %.4g × freshness %.3g\n",
		       i + 1, h->title, h->id, h->author, h->level, h->hops, h->rank, h->relevance,
		       h->trust, h->freshness);
	}
	mt_search_result_free(r);
	return EXIT_OK;
}
