/* mesh search: lessons ranked by relevance × the author's trust × freshness.
 *
 * With --peers the query also goes to every stored peer (signed GET
 * /v1/search, bounded time per peer). Remote answers are never taken on
 * their word: each result's `statement` is decoded and verified here (a
 * signed lesson whose id, author, title, topics and ts match the claims),
 * everything else is dropped and reported. Relevance is then computed
 * locally: the verified remote lessons the store lacks are matched along
 * with the held ones through a store overlay (mt_store_lessons_overlay_begin),
 * the ordinary local search runs over local + remote lessons with this
 * node's trust, and the overlay ends, so nothing remote is kept and every
 * relevance comes from one corpus. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "opts.h"
#include "meshtrust/views.h"
#include "config.h"
#include "meshtrust/encoding.h"
#include "meshtrust/node.h"
#include "meshtrust/search.h"
#include "meshtrust/statement.h"

#define SEARCH_USAGE                                                                               \
	"mesh search \"query\" [--topic T] [--scope S] [--from ID] [--limit N] [--include-untrusted] [--peers "          \
	"[--timeout S]] [--json]"

/* Largest answer taken from one peer. */
#define FED_MAX_ANSWER (8u * 1024u * 1024u)

/* State of a federated query. */
typedef struct fed {
	json_t *peers;   /* [{url, id}] from the peers table */
	json_t *report;  /* [{url, id, status, results, error?}] */
	json_t *dropped; /* [{peer, url, id, reason}] */
	json_t *sources; /* statement id -> [peer ids] (verified remote results) */
	json_t *lessons; /* statement id -> canonical text (verified, first seen) */
} fed;

static void collect_peer(const mt_node_peer *p, void *payload)
{
	json_array_append_new(payload, json_pack("{s:s,s:s}", "url", p->url, "id", p->node_id));
}

/* Percent-encode `s` (RFC 3986 unreserved kept) onto `out` (malloc'd). */
static char *url_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = malloc(n * 3 + 1), *o = out;
	if (!out)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

static void drop(fed *f, const char *peer, const char *url, const char *id, const char *reason)
{
	json_array_append_new(f->dropped, json_pack("{s:s,s:s,s:s,s:s}", "peer", peer, "url", url,
						    "id", id ? id : "", "reason", reason));
}

/* Whether the JSON `topics` a peer sent equal the statement's signed ones. */
static int topics_equal(json_t *topics, const mt_stmt *st)
{
	json_t *signed_topics = mesh_stmt_member(st, "topics");
	int eq = signed_topics && json_equal(topics, signed_topics);
	json_decref(signed_topics);
	return eq;
}

/* Verify one remote result; returns the reason it is refused (written to
 * `why`) or NULL when it is a genuine signed lesson matching every claim. */
static const char *check_result(json_t *r, int64_t now, char why[512], mt_stmt **out)
{
	*out = NULL;
	const char *id = json_string_value(json_object_get(r, "id"));
	json_t *js = json_object_get(r, "statement");
	if (!id)
		return "result has no id";
	if (!json_is_string(js))
		return "result carries no signed statement";
	mt_stmt *st = NULL;
	mt_error e = {0};
	if (mt_stmt_decode(&st, json_string_value(js), json_string_length(js), now, &e) != 0) {
		snprintf(why, 512, "invalid statement: %.400s", e.msg);
		return why;
	}
	char real[65];
	mt_stmt_id_hex(real, st);
	const char *author = json_string_value(json_object_get(r, "author"));
	const char *title = json_string_value(json_object_get(r, "title"));
	json_t *ts = json_object_get(r, "ts");
	json_t *topics = json_object_get(r, "topics");
	if (st->type != MT_ST_LESSON)
		snprintf(why, 512, "not a lesson (a %s statement)", mt_stmt_type_name(st->type));
	else if (strcmp(real, id) != 0)
		snprintf(why, 512, "id mismatch: the statement's id is %s", real);
	else if (!author || strcmp(author, st->iss) != 0)
		snprintf(why, 512, "author mismatch: the statement is signed by %s", st->iss);
	else if (!title || strcmp(title, mt_stmt_str(st, "title")) != 0)
		snprintf(why, 512, "title mismatch: the signed title differs");
	else if (!json_is_integer(ts) || json_integer_value(ts) != st->ts)
		snprintf(why, 512, "ts mismatch: the signed ts is %lld", (long long)st->ts);
	else if (!topics_equal(topics, st))
		snprintf(why, 512, "topics mismatch: the signed topics differ");
	else {
		*out = st;
		return NULL;
	}
	mt_stmt_free(st);
	return why;
}

/* Ask one peer; verified results go to f->lessons / f->sources. */
static void ask_peer(fed *f, mesh_ctx *ctx, const char *url, const char *pid, const char *query,
		     const char *topic, const char *scope, int64_t limit, long timeout)
{
	char *q = url_escape(query), *t = topic ? url_escape(topic) : NULL;
	size_t len = strlen(url) + strlen(q ? q : "") + (t ? strlen(t) : 0) + strlen(scope) + 96;
	char *full = malloc(len);
	json_t *rep = json_pack("{s:s,s:s}", "url", url, "id", pid);
	json_array_append_new(f->report, rep);
	if (!q || (topic && !t) || !full) {
		json_object_set_new(rep, "status", json_string("failed"));
		json_object_set_new(rep, "error", json_string("out of memory"));
		goto out;
	}
	snprintf(full, len, "%s/v1/search?q=%s&scope=%s&limit=%lld%s%s", url, q, scope,
		 (long long)limit, t ? "&topic=" : "", t ? t : "");
	long status = 0;
	char *body = NULL;
	size_t blen = 0;
	mt_error err = {0};
	if (mt_node_peer_get(&status, &body, &blen, &ctx->key, pid, full, timeout, FED_MAX_ANSWER,
			     &err) != 0) {
		json_object_set_new(rep, "status", json_string("failed"));
		json_object_set_new(rep, "error", json_string(err.msg));
		goto out;
	}
	json_t *ans = json_loadb(body, blen, JSON_REJECT_DUPLICATES, NULL);
	free(body);
	if (status != 200) {
		const char *e = json_string_value(json_object_get(ans, "error"));
		char msg[600];
		snprintf(msg, sizeof msg, "HTTP %ld: %s", status, e ? e : "(no error text)");
		json_object_set_new(rep, "status",
				    json_string(status == 403 || status == 401 ? "refused" : "failed"));
		json_object_set_new(rep, "error", json_string(msg));
		json_decref(ans);
		goto out;
	}
	json_t *results = json_object_get(ans, "results");
	if (!json_is_array(results)) {
		json_object_set_new(rep, "status", json_string("failed"));
		json_object_set_new(rep, "error", json_string("malformed answer: no results array"));
		json_decref(ans);
		goto out;
	}
	size_t i, ok = 0;
	json_t *r;
	json_array_foreach(results, i, r)
	{
		char why[512];
		mt_stmt *st = NULL;
		const char *bad = json_is_object(r) ? check_result(r, ctx->now, why, &st)
						    : "result is not an object";
		const char *id = json_string_value(json_object_get(r, "id"));
		if (bad) {
			drop(f, pid, url, id, bad);
			continue;
		}
		ok++;
		if (!json_object_get(f->lessons, id))
			json_object_set_new(f->lessons, id, json_stringn(st->canon, st->canon_len));
		json_t *src = json_object_get(f->sources, id);
		if (!src) {
			src = json_array();
			json_object_set_new(f->sources, id, src);
		}
		int seen = 0;
		size_t k;
		json_t *x;
		json_array_foreach(src, k, x) if (strcmp(json_string_value(x), pid) == 0) seen = 1;
		if (!seen)
			json_array_append_new(src, json_string(pid));
		mt_stmt_free(st);
	}
	json_object_set_new(rep, "status", json_string("ok"));
	json_object_set_new(rep, "results", json_integer((json_int_t)json_array_size(results)));
	json_object_set_new(rep, "verified", json_integer((json_int_t)ok));
	json_decref(ans);
out:
	free(q);
	free(t);
	free(full);
}

/* Open the store's lesson overlay with the verified remote lessons (ended
 * by the caller). `remote_only` collects the ids the store had not indexed.
 * Returns 0 or an exit code. */
static int index_remote(mesh_ctx *ctx, fed *f, json_t *remote_only)
{
	size_t n = 0, cap = json_object_size(f->lessons);
	mt_stmt **st = calloc(cap ? cap : 1, sizeof *st);
	const char **ids = calloc(cap ? cap : 1, sizeof *ids);
	unsigned char *indexed = calloc(cap ? cap : 1, 1);
	int rc = EXIT_OK;
	if (!st || !ids || !indexed) {
		rc = mesh_fail("out of memory");
		goto done;
	}
	const char *id;
	json_t *canon;
	json_object_foreach(f->lessons, id, canon)
	{
		/* verified already; decoded again only to reach its fields */
		if (mt_stmt_parse(&st[n], json_string_value(canon), json_string_length(canon),
				  INT64_MAX, NULL) == 0)
			ids[n++] = id;
	}
	mt_error err = {0};
	if (mt_store_lessons_overlay_begin(ctx->store, (const mt_stmt *const *)st, n, indexed,
					   &err) != 0) {
		rc = mesh_fail("search: indexing the remote lessons: %s", err.msg);
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		if (!indexed[i])
			json_object_set_new(remote_only, ids[i], json_true());
done:
	for (size_t i = 0; st && i < n; i++)
		mt_stmt_free(st[i]);
	free(st);
	free(ids);
	free(indexed);
	return rc;
}

/* The sources of a hit: "local" unless only peers hold it, then the peers. */
static json_t *hit_sources(const fed *f, json_t *remote_only, const char *id)
{
	json_t *a = json_array();
	if (!json_object_get(remote_only, id))
		json_array_append_new(a, json_string("local"));
	json_t *src = json_object_get(f->sources, id);
	size_t i;
	json_t *x;
	json_array_foreach(src, i, x) json_array_append(a, x);
	return a;
}

static const mesh_opt SEARCH_OPTS[] = {
	{"topic", MESH_ARG, "T", "only lessons with this topic", 't'},
	MESH_OPT_SCOPE_H("the scope whose trust ranks the authors (default global)"),
	{"from", MESH_ARG, "ID", "rank by this identity's trust (default: this node)", 'f'},
	{"limit", MESH_ARG, "N", "at most N results, 1..10000 (default 20)", 'l'},
	{"peers", MESH_NOARG, NULL, "also ask every peer (`mesh peer add`)", 'p'},
	{"include-untrusted", MESH_NOARG, NULL,
	 "also lessons of authors you do not trust (never blocked ones), after the\ntrusted, "
	 "marked untrusted (e.g. fetched with `mesh discover --fetch`)", 'u'},
	{"timeout", MESH_ARG, "S", "seconds to wait for each peer, 1..300 (default 5)", 'T'},
	MESH_OPT_JSON_H("print the results document as JSON"), MESH_OPT_END};
static const mesh_spec SEARCH_SPEC = {
	SEARCH_USAGE,
	"Search lessons. Every word matches literally (no query syntax). Only authors you\ntrust "
	"in the scope (and yourself) are shown; rank = relevance (bm25) × trust ×\nfreshness "
	"(half-life 365 days). With --peers the query also goes to every\npeer (`mesh peer add`; "
	"each answers only if it trusts this node at least\nlimited; at most --timeout seconds "
	"each, default 5): their results are\nverified (signed lessons only, forged ones dropped "
	"and reported), merged with\nthe local ones by statement id and ranked by this node's "
	"trust. See docs/search.md.",
	SEARCH_OPTS, 1, 1, "one query (quote it)", NULL};

int cmd_search(mesh_ctx *ctx, int argc, char **argv)
{
	const char *topic = NULL, *scope = "global";
	char from[MT_NODE_ID_MAX] = "";
	int64_t limit = 20, timeout = 5;
	int json = 0, peers = 0, untrusted = 0, rc;
	mt_error err = {0};
	mesh_args a;
	if ((rc = mesh_parse_args(&SEARCH_SPEC, argc, argv, &a)) != MESH_ARGS_RUN)
		return rc;
	for (int i = 0; i < a.n_opt; i++) {
		const char *v = a.opt[i].val;
		switch (a.opt[i].id) {
		case 't': topic = v; break;
		case 'S':
			if (mt_scope_check(v, "--scope", &err))
				return mesh_usage(SEARCH_USAGE, "%s", err.msg);
			scope = v;
			break;
		case 'f':
			if (mesh_resolve_id_at(ctx, from, v, "--from"))
				return EXIT_USAGE;
			break;
		case 'l':
			if (mesh_parse_int(&limit, v, "--limit", 1, 10000, &err))
				return mesh_usage(SEARCH_USAGE, "%s", err.msg);
			break;
		case 'p': peers = 1; break;
		case 'u': untrusted = 1; break;
		case 'T':
			if (mesh_parse_int(&timeout, v, "--timeout", 1, 300, &err))
				return mesh_usage(SEARCH_USAGE, "%s", err.msg);
			break;
		case 'j': json = 1; break;
		}
	}
	const char *query = a.pos[0];
	int depth;
	double decay[MESH_MAX_DECAY];
	size_t nd;
	if ((rc = mesh_open_store(ctx)) || (rc = mesh_config_trust(ctx, &depth, decay, &nd)))
		return rc;
	if (peers && from[0])
		return mesh_usage(SEARCH_USAGE, "--peers ranks by this node's trust: no --from");
	if (!from[0]) {
		if ((rc = peers ? mesh_load_key(ctx) : mesh_load_id(ctx)))
			return rc;
		snprintf(from, sizeof from, "%s", ctx->node_id);
	}
	/* Reject a bad query before asking anyone. */
	char **words = NULL;
	size_t n_words;
	if (mt_search_words(&words, &n_words, query, &err) != 0)
		return mesh_usage(NULL, "search: %s", err.msg);
	free(words);

	fed f = {0};
	json_t *remote_only = json_object();
	int in_overlay = 0;
	if (peers) {
		f.peers = json_array();
		f.report = json_array();
		f.dropped = json_array();
		f.sources = json_object();
		f.lessons = json_object();
		if (mt_node_peer_list(ctx->store, collect_peer, f.peers, &err) != 0) {
			rc = mesh_fail_err(&err);
			goto out;
		}
		curl_global_init(CURL_GLOBAL_DEFAULT);
		size_t i;
		json_t *p;
		json_array_foreach(f.peers, i, p)
		{
			const char *pid = json_string_value(json_object_get(p, "id"));
			if (strcmp(pid, ctx->node_id) == 0)
				continue;
			ask_peer(&f, ctx, json_string_value(json_object_get(p, "url")), pid,
				 query, topic, scope, limit > 1000 ? 1000 : limit,
				 (long)timeout);
		}
		if (json_object_size(f.lessons)) {
			if ((rc = index_remote(ctx, &f, remote_only)))
				goto out;
			in_overlay = 1;
		}
	}

	char digest[65];
	mt_edge_in *edges = NULL;
	size_t n = 0;
	mt_engine *e = NULL;
	if (mt_store_digest_hex(ctx->store, digest, NULL, &err) != 0 ||
	    mt_store_edges(ctx->store, &edges, &n, INT64_MAX, &err) != 0 ||
	    mt_engine_new(&e, edges, n, &err) != 0) {
		free(edges);
		rc = mesh_fail_err(&err);
		goto out;
	}
	free(edges);
	mt_trust_query tq = {from, scope, ctx->now, depth, decay, nd};
	mt_search_query sq = {query, topic, &tq, (size_t)limit, untrusted};
	mt_search_result *r = NULL;
	rc = mt_search_run(&r, ctx->store, e, NULL, &sq, &err);
	mt_engine_free(e);
	if (rc) {
		rc = err.code == MT_EINVAL ? mesh_usage(NULL, "search: %s", err.msg)
					   : mesh_fail_err(&err);
		goto out;
	}
	if (json) {
		json_t *doc = mt_view_search(digest, from, scope, r, ctx->store, 0);
		if (!doc) {
			mt_search_result_free(r);
			rc = mesh_fail("out of memory");
			goto out;
		}
		json_t *arr = json_object_get(doc, "results");
		for (size_t i = 0; peers && i < r->count; i++)
			json_object_set_new(json_array_get(arr, i), "sources",
					    hit_sources(&f, remote_only, r->hits[i].id));
		if (peers) {
			json_object_set(doc, "peers", f.report);
			json_object_set(doc, "dropped", f.dropped);
		}
		mt_search_result_free(r);
		rc = mesh_print_json(doc);
		goto out;
	}
	size_t i;
	json_t *x;
	if (peers) {
		/* Peers' ids, addresses and errors are theirs to choose: escaped. */
		json_array_foreach(f.report, i, x)
		{
			const char *status = json_string_value(json_object_get(x, "status"));
			if (strcmp(status, "ok") != 0) {
				fputs("mesh: warning: peer ", stderr);
				mesh_term_write(stderr, json_string_value(json_object_get(x, "id")),
						MESH_TERM_LINE);
				fputs(" (", stderr);
				mesh_term_write(stderr, json_string_value(json_object_get(x, "url")),
						MESH_TERM_LINE);
				fputs(") ", stderr);
				mesh_term_write(stderr, status, MESH_TERM_LINE);
				fputs(": ", stderr);
				mesh_term_write(stderr, json_string_value(json_object_get(x, "error")),
						MESH_TERM_LINE);
				fputc('\n', stderr);
			}
		}
		json_array_foreach(f.dropped, i, x)
		{
			fputs("mesh: warning: peer ", stderr);
			mesh_term_write(stderr, json_string_value(json_object_get(x, "peer")),
					MESH_TERM_LINE);
			fputs(": dropped result ", stderr);
			mesh_term_write(stderr, json_string_value(json_object_get(x, "id")),
					MESH_TERM_LINE);
			fputs(": ", stderr);
			mesh_term_write(stderr, json_string_value(json_object_get(x, "reason")),
					MESH_TERM_LINE);
			fputc('\n', stderr);
		}
	}
	if (!r->count)
		printf("no results from trusted authors (%zu lesson(s) matched)\n", r->matched);
	for (size_t k = 0; k < r->count; k++) {
		const mt_search_hit *h = &r->hits[k];
		printf("%zu. ", k + 1);
		mesh_term_write(stdout, h->title, MESH_TERM_LINE);
		printf("\n   %.16s… by ", h->id);
		mesh_write_id(ctx, stdout, h->author); /* with its local name */
		if (h->hops < 0)
			printf(" (UNTRUSTED: no path from you; relevance %.4g × freshness %.3g)\n",
			       h->relevance, h->freshness);
		else
			printf(" (%s, %d hop(s))\n   rank %.4g = relevance %.4g × trust %.4g × "
			       "freshness %.3g\n",
			       h->level, h->hops, h->rank, h->relevance, h->trust, h->freshness);
		if (peers) {
			json_t *src = hit_sources(&f, remote_only, h->id);
			printf("   from:");
			json_array_foreach(src, i, x)
			{
				putchar(' ');
				mesh_term_write(stdout, json_string_value(x), MESH_TERM_LINE);
			}
			printf("\n");
			json_decref(src);
		}
	}
	mt_search_result_free(r);
	rc = EXIT_OK;
out:
	if (in_overlay)
		mt_store_lessons_overlay_end(ctx->store); /* nothing remote is kept */
	json_decref(remote_only);
	json_decref(f.peers);
	json_decref(f.report);
	json_decref(f.dropped);
	json_decref(f.sources);
	json_decref(f.lessons);
	return rc;
}
