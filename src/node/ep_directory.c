/* The directory (SPEC §9.5): with node.directory on, anyone may ask — without
 * a token or trust, held per client address to the policy's lowest tier
 * (routes.c, node__public_rate) — about the authors this node re-announces
 * (§9.4: itself and the issuers full in its own global trust list, and their
 * rotation chains) and no one else:
 *
 *   GET /v1/directory?topic=&q=&limit=      the publishers, as
 *       [{"node_id","topics","lessons","latest","inbound","seq"}]
 *   GET /v1/directory/lessons?author=&topic=&limit=   their lesson statements
 *       as canonical NDJSON, newest first (each checkable by its signature)
 *   GET /v1/directory/feed/<author>?from=&limit=      that author's feed as
 *       canonical NDJSON (as /v1/feeds/<iss>)
 *
 * `limit` is at most 1000 everywhere. Every answer carries the state digest
 * it was made from in the X-Mesh-Digest header. Nothing else of the node's
 * state (edges of others, peers, the log, metrics) leaves through here: a
 * directory never turns into a side door. docs/directory.md tells the rest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/encoding.h"
#include "meshtrust/search.h"
#include "node_http.h"

#define DIR_LIMIT_MAX 1000
#define DIR_TOPIC_MAX 200

/* The `topic` argument: NULL when absent or empty. Returns 0, or -1 with
 * `r` = 400 when it is too long. */
static int topic_arg(reply *r, struct MHD_Connection *c, const char **topic)
{
	const char *t = node__arg(c, "topic");
	*topic = t && *t ? t : NULL;
	if (*topic && strlen(*topic) > DIR_TOPIC_MAX) {
		node__reply_error(r, 400, "topic: longer than %d bytes", DIR_TOPIC_MAX);
		return -1;
	}
	return 0;
}

/* ---- GET /v1/directory ------------------------------------------------------------- */

/* The publishers being gathered: Node ID -> {"topics":{t:true},"lessons","latest"}. */
struct gather {
	const node_view *v;
	json_t *by_author;
};

static int gather_lesson(const mt_store_lesson *l, void *payload)
{
	struct gather *g = payload;
	if (!node__reannounced(g->v, l->author))
		return 0; /* not listed: only the authors this node re-announces */
	json_t *p = json_object_get(g->by_author, l->author);
	if (!p) {
		p = json_pack("{s:o,s:I,s:I}", "topics", json_object(), "lessons", (json_int_t)0,
			      "latest", (json_int_t)0);
		if (!p || json_object_set_new(g->by_author, l->author, p))
			return MT_ENOMEM;
	}
	json_t *topics = json_object_get(p, "topics");
	json_t *arr = json_loads(l->topics, 0, NULL);
	size_t i;
	json_t *t;
	json_array_foreach(arr, i, t) if (json_is_string(t))
		json_object_set_new(topics, json_string_value(t), json_true());
	json_decref(arr);
	json_object_set_new(p, "lessons",
			    json_integer(json_integer_value(json_object_get(p, "lessons")) + 1));
	if (l->ts > json_integer_value(json_object_get(p, "latest")))
		json_object_set_new(p, "latest", json_integer(l->ts));
	return 0;
}

static int by_text(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Publishers in order: inbound score descending, then more lessons, then
 * Node ID. */
static int by_standing(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
	double sx = json_real_value(json_object_get(x, "inbound"));
	double sy = json_real_value(json_object_get(y, "inbound"));
	if (sx != sy)
		return sx > sy ? -1 : 1;
	json_int_t lx = json_integer_value(json_object_get(x, "lessons"));
	json_int_t ly = json_integer_value(json_object_get(y, "lessons"));
	if (lx != ly)
		return lx > ly ? -1 : 1;
	return strcmp(json_string_value(json_object_get(x, "node_id")),
		      json_string_value(json_object_get(y, "node_id")));
}

/* One publisher's entry of the listing. NULL when out of memory. */
static json_t *publisher(mt_store *s, node_view *v, node_scope_view *global, const char *id,
			 json_t *p)
{
	json_t *topics = json_object_get(p, "topics");
	size_t nt = json_object_size(topics), k = 0;
	const char **names = calloc(nt ? nt : 1, sizeof *names);
	if (!names)
		return NULL;
	const char *t;
	json_t *x;
	json_object_foreach(topics, t, x) names[k++] = t;
	qsort(names, nt, sizeof *names, by_text);
	json_t *arr = json_array();
	for (size_t i = 0; i < nt; i++)
		json_array_append_new(arr, json_string(names[i]));
	free(names);
	/* inbound: the directory's own §3 score for the author in global (its
	 * own lessons: 1, as search ranks them) */
	double inbound = 0;
	if (node__is_self(v, id))
		inbound = 1.0;
	else {
		const mt_trust_entry *e = node__scope_entry(v, global, id);
		inbound = e ? e->score : 0.0;
	}
	mt_feed_info fi;
	json_int_t seq = mt_store_feed(s, id, &fi, NULL) == 0 ? (json_int_t)fi.head_seq : 0;
	return json_pack("{s:s,s:o,s:O,s:O,s:f,s:I}", "node_id", id, "topics", arr, "lessons",
			 json_object_get(p, "lessons"), "latest", json_object_get(p, "latest"),
			 "inbound", inbound, "seq", seq);
}

void node__ep_directory(mt_node *n, struct MHD_Connection *c, const char *url, req *rq,
			node_view *v, reply *r)
{
	(void)url;
	(void)rq;
	const char *topic, *q = node__arg(c, "q");
	long long limit;
	if (topic_arg(r, c, &topic) ||
	    node__int_arg(r, c, "limit", 1, DIR_LIMIT_MAX, 100, &limit))
		return;
	mt_error err = {0};
	char **words = NULL;
	size_t n_words = 0;
	if (q && *q && mt_search_words(&words, &n_words, q, &err) != 0) {
		node__reply_error(r, err.code == MT_ENOMEM ? 500 : 400, "q: %s", err.msg);
		return;
	}
	node_scope_view *global = node__view_scope(v, "global");
	if (!global) {
		free(words);
		node__reply_error(r, 500, "trust view failed");
		return;
	}
	struct gather g = {v, json_object()};
	mt_store *s = node__store_get(n);
	int rc = words ? mt_store_lessons_match(s, (const char *const *)words, n_words, topic,
						gather_lesson, &g, NULL, &err)
		       : mt_store_lessons_of(s, NULL, topic, 0, gather_lesson, &g, &err);
	free(words);
	size_t count = json_object_size(g.by_author), k = 0;
	json_t **list = rc ? NULL : calloc(count ? count : 1, sizeof *list);
	const char *id;
	json_t *p;
	if (!rc && !list)
		rc = MT_ENOMEM;
	json_object_foreach(g.by_author, id, p)
	{
		if (rc)
			break;
		if (!(list[k++] = publisher(s, v, global, id, p)))
			rc = MT_ENOMEM;
	}
	node__store_put(n, s);
	json_t *out = json_array();
	if (!rc) {
		qsort(list, count, sizeof *list, by_standing);
		for (size_t i = 0; i < count; i++)
			if (i < (size_t)limit)
				json_array_append(out, list[i]);
	}
	for (size_t i = 0; i < k; i++)
		json_decref(list[i]);
	free(list);
	json_decref(g.by_author);
	if (rc) {
		json_decref(out);
		node__reply_error(r, 500, "directory: %s",
				  err.msg[0] ? err.msg : "out of memory");
		return;
	}
	node__reply_json(r, 200, out);
	r->digest = v->digest;
}

/* ---- GET /v1/directory/lessons ------------------------------------------------------ */

/* The ids of the lessons to serve, newest first. */
struct pick {
	const node_view *v;
	unsigned char (*ids)[32];
	size_t n, max;
};

static int pick_lesson(const mt_store_lesson *l, void *payload)
{
	struct pick *pk = payload;
	if (!node__reannounced(pk->v, l->author))
		return 0;
	memcpy(pk->ids[pk->n++], l->id, 32);
	return pk->n >= pk->max ? 1 : 0;
}

void node__ep_dir_lessons(mt_node *n, struct MHD_Connection *c, const char *url, req *rq,
			  node_view *v, reply *r)
{
	(void)url;
	(void)rq;
	char author[MT_NODE_ID_MAX];
	const char *topic;
	long long limit;
	int has = node__id_arg(r, c, "author", author, 0);
	if (has < 0 || topic_arg(r, c, &topic) ||
	    node__int_arg(r, c, "limit", 1, DIR_LIMIT_MAX, 100, &limit))
		return;
	if (has == 0 && !node__reannounced(v, author)) {
		node__reply_error(r, 404,
				  "%s is not listed by this directory (it lists the authors it "
				  "re-announces: itself and those it trusts full in global)",
				  author);
		return;
	}
	struct pick pk = {v, calloc((size_t)limit, 32), 0, (size_t)limit};
	if (!pk.ids) {
		node__reply_error(r, 500, "out of memory");
		return;
	}
	mt_error err = {0};
	mt_store *s = node__store_get(n);
	int rc = mt_store_lessons_of(s, has == 0 ? author : NULL, topic, 0, pick_lesson, &pk, &err);
	if (rc == 1)
		rc = 0; /* the limit was reached */
	size_t cap = 65536, len = 0;
	char *out = rc ? NULL : malloc(cap);
	if (!rc && !out)
		rc = MT_ENOMEM;
	for (size_t i = 0; i < pk.n && !rc; i++) {
		char *canon = NULL;
		size_t k = 0;
		if ((rc = mt_store_get(s, pk.ids[i], &canon, &k, &err)))
			break;
		if (len + k + 2 > cap) {
			while (len + k + 2 > cap)
				cap *= 2;
			char *t = realloc(out, cap);
			if (!t) {
				free(canon);
				rc = MT_ENOMEM;
				break;
			}
			out = t;
		}
		memcpy(out + len, canon, k);
		len += k;
		out[len++] = '\n';
		free(canon);
	}
	node__store_put(n, s);
	free(pk.ids);
	if (rc) {
		free(out);
		node__reply_error(r, 500, "directory lessons: %s",
				  err.msg[0] ? err.msg : "out of memory");
		return;
	}
	out[len] = '\0';
	r->status = 200;
	r->body = out;
	r->len = len;
	r->ctype = "application/x-ndjson";
	r->digest = v->digest;
}

/* ---- GET /v1/directory/feed/<author> ------------------------------------------------ */

void node__ep_dir_feed(mt_node *n, struct MHD_Connection *c, const char *url, req *rq,
		       node_view *v, reply *r)
{
	(void)rq;
	const char *iss = url + strlen("/v1/directory/feed/");
	if (!mt_node_id_valid(iss)) {
		node__reply_error(r, 400, "directory feed: \"%.80s\" is not a Node ID", iss);
		return;
	}
	if (!node__reannounced(v, iss)) {
		node__reply_error(r, 404,
				  "%s is not listed by this directory (it lists the authors it "
				  "re-announces: itself and those it trusts full in global)",
				  iss);
		return;
	}
	long long from, limit;
	if (node__int_arg(r, c, "from", 1, INT64_MAX, 1, &from) ||
	    node__int_arg(r, c, "limit", 1, DIR_LIMIT_MAX, DIR_LIMIT_MAX, &limit))
		return;
	node__feed_page_reply(n, iss, (uint64_t)from, (uint64_t)limit, r);
	r->digest = v->digest;
}
