/* The feed endpoints: GET /v1/feeds (the feeds this node may share with the
 * caller), GET /v1/feeds/<iss>?from=&limit= (one feed as NDJSON) and
 * POST /v1/statements (NDJSON in, one outcome line per statement out, through
 * the ingest pipeline with the node's admission: trust horizon and quotas for
 * peers, none for local clients). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meshtrust/encoding.h"
#include "meshtrust/ingest.h"
#include "meshtrust/statement.h"
#include "node_http.h"
#include "recon.h"

/* Whether a peer may have `iss`'s feed (SPEC §9.4): re-announced feeds
 * (self, issuers full in the own global trust list); a community-only peer
 * gets its community's members' feeds and only those. */
static int feed_shared(const caller *who, const node_view *v, const char *iss)
{
	if (who->community)
		return json_object_get(who->community, iss) != NULL;
	return node__reannounced(v, iss);
}

/* The feed listing being built for one caller. */
struct feed_list {
	const caller *who;
	const node_view *v;
	json_t *arr;
};

static int list_feed(const char *iss, uint64_t head_seq, const unsigned char head_id[32],
		     void *payload)
{
	struct feed_list *l = payload;
	if (l->who->peer && !feed_shared(l->who, l->v, iss))
		return 0;
	char hex[65];
	mt_hex_encode(hex, sizeof hex, head_id, 32);
	json_array_append_new(l->arr, json_pack("{s:s,s:I,s:s}", "iss", iss, "seq",
						(json_int_t)head_seq, "head", hex));
	return 0;
}

/* GET /v1/feeds: [{"iss","seq","head"}] with seq the contiguous head and head
 * its id; to a peer
 * only the feeds it may have (feed_shared). */
void node__ep_feeds(mt_node *n, struct MHD_Connection *c, const char *url, req *rq, node_view *v,
		    reply *r)
{
	(void)c;
	(void)url;
	mt_store *s = node__store_get(n);
	struct feed_list l = {&rq->who, v, json_array()};
	mt_store_feeds(s, list_feed, &l, NULL); /* an unreadable store lists nothing, as before */
	json_t *arr = l.arr;
	node__store_put(n, s);
	node__reply_json(r, 200, arr);
}

/* The reconciliation set being built for one caller: the same feeds as the
 * listing (feed_shared) as items (iss, seq, head). */
struct feed_set {
	const caller *who;
	const node_view *v;
	node_recon_set *set;
};

static int set_feed(const char *iss, uint64_t head_seq, const unsigned char head_id[32],
		    void *payload)
{
	struct feed_set *fs = payload;
	if (fs->who->peer && !feed_shared(fs->who, fs->v, iss))
		return 0;
	int rc = node__recon_set_add(fs->set, iss, head_seq, head_id, NULL);
	return rc == MT_ENOMEM ? rc : 0; /* a key over 64 bytes is not a Node ID: left out */
}

/* POST /v1/feeds/reconcile: one round of range-based set reconciliation
 * (recon.h; docs/node.md "Peers and sync") over the feeds GET /v1/feeds
 * would list to this caller. Stateless: each message is answered from the
 * feeds as they are now. */
void node__ep_feeds_reconcile(mt_node *n, struct MHD_Connection *c, const char *url, req *rq,
			      node_view *v, reply *r)
{
	(void)c;
	(void)url;
	if (rq->len > NODE_RECON_MSG_MAX) {
		node__reply_error(r, 413, "reconcile: message over %u bytes", NODE_RECON_MSG_MAX);
		return;
	}
	node_recon_set set = {0};
	node_recon_buf out = {0};
	mt_error err = {0};
	struct feed_set fs = {&rq->who, v, &set};
	mt_store *s = node__store_get(n);
	int rc = mt_store_feeds(s, set_feed, &fs, &err);
	node__store_put(n, s);
	if (!rc)
		rc = node__recon_set_seal(&set, &err);
	if (rc) {
		node__reply_error(r, rc == MT_ENOMEM ? 500 : 503, "reconcile: feed listing failed: %s",
				  err.msg[0] ? err.msg : "out of memory");
		goto done;
	}
	rc = node__recon_answer(&set, (const unsigned char *)(rq->body ? rq->body : ""), rq->len,
				&out, &err);
	if (rc == MT_EINVAL) {
		node__reply_error(r, 400, "%s", err.msg);
		goto done;
	}
	if (rc) {
		node__reply_error(r, 500, "reconcile: out of memory");
		goto done;
	}
	r->status = 200;
	r->body = (char *)out.p;
	r->len = out.len;
	r->ctype = "application/octet-stream";
	out.p = NULL;
done:
	free(out.p);
	node__recon_set_free(&set);
}

/* A feed page as NDJSON: the statements one per line. */
struct ndjson {
	char *out;
	size_t len, cap;
};

static int add_line(const char *iss, uint64_t seq, const char *canon, size_t k, void *payload)
{
	(void)iss;
	(void)seq;
	struct ndjson *b = payload;
	if (b->len + k + 2 > b->cap) {
		size_t cap = b->cap;
		while (b->len + k + 2 > cap)
			cap *= 2;
		char *t = realloc(b->out, cap);
		if (!t)
			return MT_ENOMEM;
		b->out = t;
		b->cap = cap;
	}
	memcpy(b->out + b->len, canon, k);
	b->len += k;
	b->out[b->len++] = '\n';
	return 0;
}

/* GET /v1/feeds/<iss>?from=N&limit=M: the feed's statements with seq >= N
 * (both fork branches), as NDJSON. A peer gets 404 for a feed not shared. */
void node__ep_feed(mt_node *n, struct MHD_Connection *c, const char *url, req *rq, node_view *v,
		   reply *r)
{
	const caller *who = &rq->who;
	const char *iss = url + strlen("/v1/feeds/");
	if (!mt_node_id_valid(iss)) {
		node__reply_error(r, 400, "feed: \"%.80s\" is not a Node ID", iss);
		return;
	}
	if (who->peer && !feed_shared(who, v, iss)) {
		node__reply_error(r, 404,
				  "feed %s is not shared by this node (it passes on only the feeds "
				  "of issuers it trusts full in global%s)",
				  iss,
				  who->community ? ", and to a community peer its members' feeds" : "");
		return;
	}
	long long from, limit;
	if (node__int_arg(r, c, "from", 1, INT64_MAX, 1, &from) ||
	    node__int_arg(r, c, "limit", 1, 100000, 1000, &limit))
		return;
	node__feed_page_reply(n, iss, (uint64_t)from, (uint64_t)limit, r);
}

void node__feed_page_reply(mt_node *n, const char *iss, uint64_t from, uint64_t limit, reply *r)
{
	mt_store *s = node__store_get(n);
	struct ndjson b = {malloc(65536), 0, 65536};
	mt_error err = {0};
	int ok = b.out && mt_store_feed_page(s, iss, from, limit, add_line, &b, &err) == 0;
	node__store_put(n, s);
	if (!ok) {
		free(b.out);
		/* a lost database is 503 by its code (MT_EUNAVAIL), not a 500 */
		node__reply_store_error(r, 500, &err, "feed read failed");
		return;
	}
	b.out[b.len] = '\0';
	r->status = 200;
	r->body = b.out;
	r->len = b.len;
	r->ctype = "application/x-ndjson";
}

/* POST /v1/statements: pull lines out of the body for the ingest pipeline. */
typedef struct post_src {
	const char *p, *end;
} post_src;

int node__next_line(const char **p, const char *end, int strip_cr, char **buf, size_t *len)
{
	while (*p < end) {
		const char *nl = memchr(*p, '\n', (size_t)(end - *p));
		const char *start = *p;
		size_t k = (size_t)((nl ? nl : end) - start);
		*p = nl ? nl + 1 : end;
		if (strip_cr && k && start[k - 1] == '\r')
			k--;
		if (!k)
			continue;
		char *b = malloc(k + 1);
		if (!b)
			return MT_ENOMEM;
		memcpy(b, start, k);
		b[k] = '\0';
		*buf = b;
		*len = k;
		return 1;
	}
	return 0;
}

static int post_next(void *payload, char **buf, size_t *len)
{
	post_src *ps = payload;
	return node__next_line(&ps->p, ps->end, 1, buf, len);
}

typedef struct post_ctx {
	mt_node *node;
	node_admit adm;
	int peer;
	char *text;
	size_t len, cap;
	uint64_t rejected;
} post_ctx;

static int post_admit(void *payload, const mt_stmt *st, char reason[256])
{
	post_ctx *pc = payload;
	return pc->peer ? node__admit(&pc->adm, st, reason) : 0;
}

static int post_flush(void *payload, mt_error *err)
{
	post_ctx *pc = payload;
	return pc->peer ? node__admit_flush(&pc->adm, err) : 0;
}

static void post_done(void *payload, uint64_t index, int rc, mt_ingest_result result,
		      const char *reason, const mt_stmt *st)
{
	(void)index;
	(void)st;
	post_ctx *o = payload;
	char line[400];
	if (rc == 0) {
		snprintf(line, sizeof line, "%s\n",
			 result == MT_INGEST_ACCEPTED ? "accepted" : "duplicate");
		__atomic_fetch_add(&o->node->stmts[result == MT_INGEST_ACCEPTED ? ST_ACCEPTED
										 : ST_DUPLICATE],
				   1, __ATOMIC_RELAXED);
	} else {
		snprintf(line, sizeof line, "rejected: %s", reason && *reason ? reason : "invalid");
		for (char *p = line; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		strcat(line, "\n");
		if (++o->rejected > REJECTED_LISTED)
			return; /* counted; the summary line says how many */
	}
	size_t k = strlen(line);
	if (o->len + k + 1 > o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 4096;
		while (cap < o->len + k + 1)
			cap *= 2;
		char *t = realloc(o->text, cap);
		if (!t)
			return;
		o->text = t;
		o->cap = cap;
	}
	memcpy(o->text + o->len, line, k + 1);
	o->len += k;
}

/* POST /v1/statements: NDJSON in; one line out per statement. */
void node__ep_post(mt_node *n, struct MHD_Connection *c, const char *url, req *rq, node_view *v,
		   reply *r)
{
	(void)c;
	(void)url;
	const caller *who = &rq->who;
	/* The body as a whole must be well formed: valid UTF-8, every line JSON
	 * and at most MT_STMT_MAX bytes. A malformed body changes nothing. */
	const char *p = rq->body ? rq->body : "", *end = p + rq->len;
	size_t line = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		line++;
		size_t k = (size_t)(e - p);
		if (k > MT_STMT_MAX + 1) {
			node__reply_error(r, 413, "line %zu: over %d bytes", line, MT_STMT_MAX);
			return;
		}
		if (k && !(k == 1 && *p == '\r')) {
			json_error_t je;
			json_t *j = json_loadb(p, k, JSON_REJECT_DUPLICATES, &je);
			if (!j) {
				node__reply_error(r, 400, "line %zu: not JSON: %s", line, je.text);
				return;
			}
			json_decref(j);
		}
		p = nl ? nl + 1 : end;
	}
	mt_store *s = node__store_get(n);
	post_ctx pc = {.node = n, .peer = who->peer};
	mt_error err = {0};
	int64_t now = (int64_t)time(NULL);
	node_conf conf;
	node__conf(n, &conf);
	if (node__admit_init(&pc.adm, s, who->peer ? v : NULL, who->peer ? who->id : NULL,
			     conf.max_per_issuer, conf.max_per_peer, now, &err) != 0) {
		node__store_put(n, s);
		node__reply_store_error(r, 500, &err, NULL);
		return;
	}
	post_src src = {rq->body ? rq->body : "", end};
	mt_ingest_opts io = {.now = now, .threads = 1, .batch = 4096, .done = post_done,
			     .admit = post_admit, .flush = post_flush, .payload = &pc};
	mt_ingest_stats stats = {0};
	int rc = mt_ingest_run(s, post_next, &src, &io, &stats, &err);
	uint64_t policy_refused = pc.adm.refused_horizon + pc.adm.refused_quota;
	__atomic_fetch_add(&n->stmts[ST_REF_HORIZON], pc.adm.refused_horizon, __ATOMIC_RELAXED);
	__atomic_fetch_add(&n->stmts[ST_REF_QUOTA], pc.adm.refused_quota, __ATOMIC_RELAXED);
	__atomic_fetch_add(&n->stmts[ST_REF_INVALID],
			   pc.rejected > policy_refused ? pc.rejected - policy_refused : 0,
			   __ATOMIC_RELAXED);
	node__admit_done(&pc.adm);
	node__store_put(n, s);
	if (rc != 0) {
		free(pc.text);
		node__reply_store_error(r, 500, &err, "ingest failed");
		return;
	}
	node__maint_wake(n);
	node__log(&n->opts, MT_NODE_LOG_INFO,
		  "msg=\"statements received\" from=%s accepted=%llu duplicate=%llu rejected=%llu",
		  who->peer ? who->id : "local", (unsigned long long)stats.accepted,
		  (unsigned long long)stats.duplicate, (unsigned long long)stats.rejected);
	if (pc.rejected > REJECTED_LISTED) {
		char sum[200];
		int k = snprintf(sum, sizeof sum,
				 "summary: accepted=%llu duplicate=%llu rejected=%llu (the first %u "
				 "rejections are listed)\n",
				 (unsigned long long)stats.accepted,
				 (unsigned long long)stats.duplicate, (unsigned long long)pc.rejected,
				 REJECTED_LISTED);
		char *t = realloc(pc.text, pc.len + (size_t)k + 1);
		if (t) {
			memcpy(t + pc.len, sum, (size_t)k + 1);
			pc.text = t;
			pc.len += (size_t)k;
		}
	}
	r->status = 200;
	r->body = pc.text ? pc.text : strdup("");
	r->len = pc.len;
	r->ctype = "text/plain; charset=utf-8";
}
