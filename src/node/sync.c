/* Peers and the sync client (libcurl): signed requests, pull of the feeds
 * within the trust horizon, push of own statements. */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "meshtrust/encoding.h"
#include "meshtrust/ingest.h"
#include "node_int.h"
#include "recon.h"

/* ---- peers table ------------------------------------------------------------ */

int mt_node_peer_add(mt_store *s, const char *url, const char *node_id, int64_t now,
		     mt_error *err)
{
	return mt_store_peer_put(s, url, node_id, now, err);
}

/* mt_peer_visit_fn over mt_node_peer_list's callback. */
struct peer_list {
	mt_node_peer_fn fn;
	void *payload;
};

static int list_peer(const mt_store_peer *sp, void *payload)
{
	struct peer_list *l = payload;
	mt_node_peer p = {sp->url, sp->node_id, sp->added, sp->last_sync, sp->last_error};
	l->fn(&p, l->payload);
	return 0;
}

int mt_node_peer_list(mt_store *s, mt_node_peer_fn fn, void *payload, mt_error *err)
{
	struct peer_list l = {fn, payload};
	return mt_store_peers(s, list_peer, &l, err);
}

static void peer_record(mt_store *s, const char *url, int64_t now, const char *error,
			uint64_t lag)
{
	mt_store_peer_synced(s, url, now, error, lag, NULL); /* best effort, as before */
}

/* ---- HTTP ----------------------------------------------------------------------- */

typedef struct buf {
	char *p;
	size_t len, cap, max;
	int overflow;
} buf;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	buf *b = userdata;
	size_t k = size * nmemb;
	if (b->len + k + 1 > b->max) {
		b->overflow = 1;
		return 0;
	}
	if (b->len + k + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		while (cap < b->len + k + 1)
			cap *= 2;
		char *t = realloc(b->p, cap);
		if (!t)
			return 0;
		b->p = t;
		b->cap = cap;
	}
	memcpy(b->p + b->len, ptr, k);
	b->len += k;
	b->p[b->len] = '\0';
	return k;
}

/* Headers an answer carried that the client uses. */
typedef struct hdr_seen {
	char digest[65];  /* X-Mesh-Digest (64 hex) or "" */
	long retry_after; /* Retry-After seconds, 0 without */
} hdr_seen;

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata);

/* One request on `curl` (reused between calls, so connections are kept).
 * Signs it when `kp` is given; `auth` (non-empty) is sent verbatim instead.
 * `digest` (may be NULL) receives the X-Mesh-Digest header ("" without). */
static int http_do_ex(CURL *curl, long *status, buf *resp, char digest[65],
		      const mt_keypair *kp, const char *claim_id, const char *server_id,
		      const char *method, const char *url, const void *body, size_t body_len,
		      const char *ctype, const char *auth, char *auth_used, long timeout_s,
		      mt_error *err)
{
	char hdr[400];
	struct curl_slist *hl = NULL;
	hdr[0] = '\0';
	if (auth && *auth) {
		snprintf(hdr, sizeof hdr, "Authorization: %s", auth);
	} else if (kp) {
		char a[300];
		int rc = mt_node_auth_sign(a, sizeof a, kp, claim_id, server_id, method,
					   node__url_target(url), (int64_t)time(NULL), NULL, body,
					   body_len, err);
		if (rc)
			return rc;
		snprintf(hdr, sizeof hdr, "Authorization: %s", a);
	}
	if (auth_used)
		snprintf(auth_used, 256, "%.255s", hdr[0] ? hdr + 15 : "");
	if (hdr[0])
		hl = curl_slist_append(hl, hdr);
	hl = curl_slist_append(hl, "Expect:");
	if (body) {
		char ct[100];
		snprintf(ct, sizeof ct, "Content-Type: %s", ctype ? ctype : "application/x-ndjson");
		hl = curl_slist_append(hl, ct);
	}
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	hdr_seen seen = {"", 0};
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &seen);
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(curl, CURLOPT_POST, 1L);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
		if (body) {
			curl_easy_setopt(curl, CURLOPT_POSTFIELDS, (const char *)body);
			curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
		}
	}
	/* An anonymous GET (a directory's public answers) that meets the
	 * server's rate for unknown callers waits as Retry-After says (1..10 s)
	 * and asks again, at most 5 times: the directory's lowest tier is a
	 * rate, not a refusal. */
	int anon_get = !hdr[0] && strcmp(method, "GET") == 0;
	CURLcode cc;
	for (int attempt = 0;; attempt++) {
		seen = (hdr_seen){"", 0};
		cc = curl_easy_perform(curl);
		if (cc != CURLE_OK)
			break;
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
		if (!anon_get || *status != 429 || attempt == 5)
			break;
		long wait = seen.retry_after < 1 ? 1 : seen.retry_after > 10 ? 10 : seen.retry_after;
		struct timespec ts = {wait, 0};
		nanosleep(&ts, NULL);
		free(resp->p); /* the refusal's body is not the answer */
		resp->p = NULL;
		resp->len = resp->cap = 0;
		resp->overflow = 0;
	}
	curl_slist_free_all(hl);
	if (cc != CURLE_OK)
		return mt_error_set(err, MT_EIO, "%s: %s", url,
				    resp->overflow ? "answer too large" : curl_easy_strerror(cc));
	if (digest)
		memcpy(digest, seen.digest, sizeof seen.digest);
	return 0;
}

static int http_do(CURL *curl, long *status, buf *resp, const mt_keypair *kp,
		   const char *claim_id, const char *server_id, const char *method,
		   const char *url, const void *body, size_t body_len, const char *auth,
		   char *auth_used, long timeout_s, mt_error *err)
{
	return http_do_ex(curl, status, resp, NULL, kp, claim_id, server_id, method, url, body,
			  body_len, NULL, auth, auth_used, timeout_s, err);
}

/* Hand a finished answer to the caller: *resp (never NULL) and *resp_len. */
static int hand_over(buf *b, char **resp, size_t *resp_len, mt_error *err)
{
	*resp = b->p ? b->p : strdup("");
	if (!*resp)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	if (resp_len)
		*resp_len = b->len;
	return 0;
}

/* The error text of a JSON error body, for messages. */
static const char *error_text(const buf *b, char out[256])
{
	json_t *j = b->p ? json_loads(b->p, 0, NULL) : NULL;
	const char *e = json_string_value(json_object_get(j, "error"));
	snprintf(out, 256, "%s", e ? e : (b->p ? b->p : ""));
	json_decref(j);
	for (char *p = out; *p; p++)
		if (*p == '\n')
			*p = ' ';
	return out;
}

int mt_node_fetch_id(char out[MT_NODE_ID_MAX], const char *url, long timeout_s, mt_error *err)
{
	out[0] = '\0';
	CURL *curl = curl_easy_init();
	if (!curl)
		return mt_error_set(err, MT_ENOMEM, "curl: out of memory");
	char full[2048];
	snprintf(full, sizeof full, "%s/v1/id", url);
	buf b = {.max = 65536};
	long status = 0;
	int rc = http_do(curl, &status, &b, NULL, NULL, NULL, "GET", full, NULL, 0, NULL, NULL,
			 timeout_s, err);
	if (!rc) {
		json_t *j = b.p ? json_loads(b.p, 0, NULL) : NULL;
		const char *id = json_string_value(json_object_get(j, "node_id"));
		if (status != 200 || !id || !mt_node_id_valid(id))
			rc = mt_error_set(err, MT_EIO, "%s: not a meshtrust node (HTTP %ld)", full,
					  status);
		else
			snprintf(out, MT_NODE_ID_MAX, "%s", id);
		json_decref(j);
	}
	free(b.p);
	curl_easy_cleanup(curl);
	return rc;
}

/* CURLOPT_HEADERFUNCTION: keep the X-Mesh-Digest header (64 hex). */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	size_t k = size * nmemb;
	static const char name[] = "x-mesh-digest:", ra[] = "retry-after:";
	hdr_seen *h = userdata;
	const char *end = ptr + k;
	if (k > sizeof name - 1 && strncasecmp(ptr, name, sizeof name - 1) == 0) {
		const char *v = ptr + sizeof name - 1;
		while (v < end && *v == ' ')
			v++;
		size_t n = 0;
		while (v + n < end && n < 64 && v[n] && strchr("0123456789abcdef", v[n]))
			n++;
		if (n == 64) {
			memcpy(h->digest, v, 64);
			h->digest[64] = '\0';
		}
	} else if (k > sizeof ra - 1 && strncasecmp(ptr, ra, sizeof ra - 1) == 0) {
		const char *v = ptr + sizeof ra - 1;
		long secs = 0;
		while (v < end && *v == ' ')
			v++;
		while (v < end && *v >= '0' && *v <= '9' && secs < 1000)
			secs = secs * 10 + (*v++ - '0');
		h->retry_after = secs;
	}
	return k;
}

int mt_node_public_get(long *status, char **resp, size_t *resp_len, char digest[65],
		       const char *url, long timeout_s, size_t max_bytes, mt_error *err)
{
	*status = 0;
	*resp = NULL;
	if (resp_len)
		*resp_len = 0;
	CURL *curl = curl_easy_init();
	if (!curl)
		return mt_error_set(err, MT_ENOMEM, "curl: out of memory");
	char dig[65] = "";
	buf b = {.max = max_bytes ? max_bytes + 1 : 64u * 1024 * 1024};
	int rc = http_do_ex(curl, status, &b, dig, NULL, NULL, NULL, "GET", url, NULL, 0, NULL,
			    NULL, NULL, timeout_s > 0 ? timeout_s : 10, err);
	curl_easy_cleanup(curl);
	if (rc) {
		free(b.p);
		return rc;
	}
	if (digest)
		memcpy(digest, dig, sizeof dig);
	return hand_over(&b, resp, resp_len, err);
}

int mt_node_request(long *status, char **resp, size_t *resp_len, char *auth_used,
		    const mt_keypair *kp, const char *claim_id, const char *server_id,
		    const char *method, const char *url, const void *body, size_t body_len,
		    const char *auth, mt_error *err)
{
	char sid[MT_NODE_ID_MAX];
	*status = 0;
	if (resp)
		*resp = NULL;
	if (!server_id) {
		/* the base URL is everything before the request-target */
		const char *t = node__url_target(url);
		char base[2048];
		snprintf(base, sizeof base, "%.*s", (int)(t - url), url);
		if (strcmp(t, "/") == 0 && url[strlen(url) - 1] != '/')
			snprintf(base, sizeof base, "%s", url);
		int rc = mt_node_fetch_id(sid, base, 10, err);
		if (rc)
			return rc;
		server_id = sid;
	}
	CURL *curl = curl_easy_init();
	if (!curl)
		return mt_error_set(err, MT_ENOMEM, "curl: out of memory");
	buf b = {.max = 64u * 1024 * 1024};
	int rc = http_do(curl, status, &b, kp, claim_id, server_id, method, url, body, body_len,
			 auth, auth_used, 30, err);
	curl_easy_cleanup(curl);
	if (rc == 0 && resp) {
		*resp = b.p ? b.p : strdup("");
		if (resp_len)
			*resp_len = b.len;
	} else {
		free(b.p);
	}
	return rc;
}

/* ---- sync ------------------------------------------------------------------------ */

typedef struct peer_row {
	char *url;
	char id[MT_NODE_ID_MAX];
} peer_row;

static void collect_peer(const mt_node_peer *p, void *payload)
{
	json_t *arr = payload;
	json_array_append_new(arr, json_pack("{s:s,s:s}", "url", p->url, "id", p->node_id));
}

/* The pull of one pass as a single input of the ingest pipeline: feeds are
 * walked in the peer's order and fetched page by page as the pipeline asks
 * for lines, so decoding (worker threads) overlaps committing across feeds
 * and pages. A feed stops at the peer's head, at an empty page, or once one
 * of its statements was refused (gap, fork, quota, horizon): what follows it
 * could not be accepted either, so it is tried again next round. */
typedef struct pull_feed_state {
	const char *iss;
	const char *peer_head; /* hex id of the peer's head, or NULL */
	uint64_t peer_seq, next_from;
	uint64_t room, handed; /* the issuer's quota room; lines handed out */
	int started, stalled;
} pull_feed_state;

typedef struct pull_page {
	uint64_t first_index;
	size_t feed;
} pull_page;

typedef struct pull_src {
	CURL *curl;
	mt_store *s;
	const mt_keypair *kp;
	const char *url, *peer_id;
	const char *feed_path;     /* "/v1/feeds/" (a peer) or "/v1/directory/feed/" */
	size_t page;
	pull_feed_state *feeds;
	size_t n_feeds, cur;
	buf body;                  /* the page being handed out */
	const char *p, *end;
	size_t page_lines;         /* lines handed out from it */
	pull_page *pages;          /* where each fetched page starts, by item index */
	size_t n_pages, cap_pages;
	uint64_t index;            /* items handed out so far */
	uint64_t peer_room;        /* the peer's quota room at the start */
	node_admit *adm;
	const mt_node_sync_opts *o;
	uint64_t progress_base;
	mt_error err;              /* why `next` failed */
} pull_src;

static int pull_fetch(pull_src *ps, pull_feed_state *f, uint64_t limit)
{
	char full[2300];
	snprintf(full, sizeof full, "%s%s%s?from=%" PRIu64 "&limit=%" PRIu64, ps->url,
		 ps->feed_path, f->iss, f->next_from, limit);
	free(ps->body.p);
	ps->body = (buf){.max = 1024u * 1024 * 1024};
	long status = 0;
	int rc = http_do(ps->curl, &status, &ps->body, ps->kp, NULL, ps->peer_id, "GET", full,
			 NULL, 0, NULL, NULL, 120, &ps->err);
	if (!rc && status != 200) {
		char e[256];
		rc = mt_error_set(&ps->err, MT_EIO, "GET %s: HTTP %ld: %s", full, status,
				  error_text(&ps->body, e));
	}
	if (rc)
		return rc;
	if (ps->n_pages == ps->cap_pages) {
		size_t cap = ps->cap_pages ? ps->cap_pages * 2 : 64;
		pull_page *t = realloc(ps->pages, cap * sizeof *t);
		if (!t)
			return mt_error_set(&ps->err, MT_ENOMEM, "out of memory");
		ps->pages = t;
		ps->cap_pages = cap;
	}
	ps->pages[ps->n_pages++] = (pull_page){ps->index, ps->cur};
	ps->p = ps->body.p ? ps->body.p : "";
	ps->end = ps->p + ps->body.len;
	ps->page_lines = 0;
	return 0;
}

static int pull_next(void *payload, char **out, size_t *len)
{
	pull_src *ps = payload;
	for (;;) {
		int got = node__next_line(&ps->p, ps->end, 0, out, len);
		if (got < 0)
			return mt_error_set(&ps->err, got, "out of memory");
		if (got) {
			ps->index++;
			ps->page_lines++;
			ps->feeds[ps->cur].next_from++;
			ps->feeds[ps->cur].handed++;
			return 1;
		}
		/* The page is used up: the next page of this feed, or the next feed.
		 * Never more than the quotas let in: refusals are only known once a
		 * batch commits, pages ahead of that are fetched already. */
		uint64_t limit = 0;
		while (ps->cur < ps->n_feeds) {
			pull_feed_state *f = &ps->feeds[ps->cur];
			if (!f->started) {
				mt_feed_info fi;
				f->started = 1;
				f->next_from = (mt_store_feed(ps->s, f->iss, &fi, NULL) == 0
							? fi.head_seq
							: 0) + 1;
				/* The peer's head is not held here: its chain differs at
				 * or below its head (a fork, a rotate that chose another
				 * last good statement): fetch from there. */
				unsigned char hid[32];
				int held = 1;
				if (f->peer_head && f->next_from > f->peer_seq &&
				    mt_hex_decode(hid, 32, f->peer_head, NULL) == 0 &&
				    mt_store_contains(ps->s, hid, &held, NULL) == 0 && !held)
					f->next_from = f->peer_seq;
				f->room = node__admit_issuer_room(ps->adm, f->iss);
			} else if (ps->page_lines == 0) {
				f->stalled = 1; /* its last page was empty */
			}
			/* (a peer may send more lines than asked: saturate) */
			uint64_t iroom = f->room > f->handed ? f->room - f->handed : 0;
			uint64_t proom = ps->peer_room > ps->index ? ps->peer_room - ps->index : 0;
			limit = ps->page;
			if (iroom < limit)
				limit = iroom;
			if (proom < limit)
				limit = proom;
			if (f->stalled || f->next_from > f->peer_seq || limit == 0) {
				ps->cur++;
				continue;
			}
			break;
		}
		if (ps->cur >= ps->n_feeds)
			return 0;
		int rc = pull_fetch(ps, &ps->feeds[ps->cur], limit);
		if (rc)
			return rc;
	}
}

/* Item `index` was refused: stop fetching its feed. */
static void pull_done(void *payload, uint64_t index, int rc, mt_ingest_result result,
		      const char *reason, const mt_stmt *st)
{
	(void)result;
	(void)reason;
	(void)st;
	pull_src *ps = payload;
	if (!rc)
		return;
	size_t lo = 0, hi = ps->n_pages; /* last page with first_index <= index */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (ps->pages[mid].first_index <= index)
			lo = mid;
		else
			hi = mid;
	}
	if (ps->n_pages)
		ps->feeds[ps->pages[lo].feed].stalled = 1;
}

static int pull_admit(void *payload, const mt_stmt *st, char reason[256])
{
	return node__admit(((pull_src *)payload)->adm, st, reason);
}

static int pull_flush(void *payload, mt_error *err)
{
	return node__admit_flush(((pull_src *)payload)->adm, err);
}

static void pull_progress(uint64_t done, uint64_t total, void *payload)
{
	(void)total;
	pull_src *ps = payload;
	if (ps->o->progress)
		ps->o->progress(ps->progress_base + done, 0, ps->o->progress_payload);
}

typedef struct push_ctx {
	char *body;
	size_t len, cap;
	uint64_t from;
	size_t n;
} push_ctx;

static int push_collect(const char *iss, uint64_t seq, const char *canon, size_t len,
			void *payload)
{
	(void)iss;
	push_ctx *pc = payload;
	if (seq < pc->from)
		return 0;
	if (pc->len + len + 2 > pc->cap) {
		size_t cap = pc->cap ? pc->cap * 2 : 65536;
		while (cap < pc->len + len + 2)
			cap *= 2;
		char *t = realloc(pc->body, cap);
		if (!t)
			return MT_ENOMEM;
		pc->body = t;
		pc->cap = cap;
	}
	memcpy(pc->body + pc->len, canon, len);
	pc->len += len;
	pc->body[pc->len++] = '\n';
	pc->n++;
	/* stay well under the peer's body limit; the rest goes next round */
	return pc->len > MT_NODE_MAX_BODY / 2 ? 1 : 0;
}

static int push_own(CURL *curl, mt_store *s, const mt_keypair *kp, const char *self,
		    const char *url, const char *peer_id, uint64_t peer_seq,
		    mt_node_sync_stats *st, mt_error *err)
{
	mt_feed_info fi;
	if (mt_store_feed(s, self, &fi, NULL) != 0 || fi.head_seq <= peer_seq)
		return 0;
	push_ctx pc = {.from = peer_seq + 1};
	int rc = mt_store_foreach(s, self, push_collect, &pc, err);
	if (rc < 0) {
		free(pc.body);
		return rc;
	}
	if (!pc.n) {
		free(pc.body);
		return 0;
	}
	char full[2100];
	snprintf(full, sizeof full, "%s/v1/statements", url);
	buf b = {.max = 64u * 1024 * 1024};
	long status = 0;
	rc = http_do(curl, &status, &b, kp, NULL, peer_id, "POST", full, pc.body, pc.len, NULL,
		     NULL, 120, err);
	free(pc.body);
	if (!rc && status != 200) {
		char e[256];
		rc = mt_error_set(err, MT_EIO, "POST %s: HTTP %ld: %s", full, status,
				  error_text(&b, e));
	}
	if (!rc)
		for (const char *p = b.p; p && (p = strstr(p, "accepted")); p += 8)
			st->pushed++;
	free(b.p);
	return rc;
}

/* A directory's listing [{"node_id","seq",…}] as the feed listing
 * [{"iss","seq"}] (entries without a valid ID or seq dropped). */
static json_t *directory_feeds(json_t *listing)
{
	json_t *out = json_array();
	size_t i;
	json_t *e;
	json_array_foreach(listing, i, e)
	{
		json_t *id = json_object_get(e, "node_id"), *seq = json_object_get(e, "seq");
		if (json_is_string(id) && json_is_integer(seq))
			json_array_append_new(out, json_pack("{s:O,s:O}", "iss", id, "seq", seq));
	}
	json_decref(listing);
	return out;
}

/* The own reconciliation set: the feeds this home holds that a pass would
 * pull (issuers within the horizon, and the own feed). */
struct own_set {
	const char *self;
	const node_view *v;
	node_recon_set *set;
};

static int own_feed(const char *iss, uint64_t head_seq, const unsigned char head_id[32],
		    void *payload)
{
	struct own_set *os = payload;
	if (strcmp(iss, os->self) != 0 && !node__in_horizon(os->v, iss))
		return 0;
	int rc = node__recon_set_add(os->set, iss, head_seq, head_id, NULL);
	return rc == MT_ENOMEM ? rc : 0; /* a key over 64 bytes is not a Node ID */
}

/* The peer's feeds that differ from this home's, by range-based set
 * reconciliation (recon.h) over POST /v1/feeds/reconcile, instead of the
 * whole GET /v1/feeds: *out gets [{"iss","seq","head"}] of the peer's items
 * this home lacks, ascending by issuer as the listing is (a feed both hold
 * at the same head would be skipped by the pull anyway: the outcome of the
 * pass is the listing's), and *peer_self the peer's head seq of the own feed
 * (0 when it lists none). Returns 0; 2 with `err` set when the peer cannot
 * be reached (a transport error: listing would only wait out a second
 * timeout); or 1 when the peer cannot reconcile or anything else fails (the
 * caller lists). */
static int recon_feeds(CURL *curl, mt_store *s, const mt_keypair *kp, const char *self,
		       const node_view *v, const char *url, const char *peer_id, json_t **out,
		       uint64_t *peer_self, mt_error *err)
{
	node_recon_set own = {0};
	node_recon_client c;
	node_recon_buf msg = {0};
	struct own_set os = {self, v, &own};
	int result = 1, started = 0;
	json_t *arr = NULL;
	char full[2100];
	snprintf(full, sizeof full, "%s/v1/feeds/reconcile", url);
	if (mt_store_feeds(s, own_feed, &os, NULL) != 0 || node__recon_set_seal(&own, NULL) != 0 ||
	    node__recon_client_init(&c, &own, NULL) != 0)
		goto done;
	started = 1;
	for (;;) {
		int r = node__recon_client_next(&c, &msg, NULL);
		if (r < 0)
			goto done;
		if (r == 0)
			break;
		buf b = {.max = 256u * 1024 * 1024};
		long status = 0;
		mt_error terr = {0};
		int rc = http_do_ex(curl, &status, &b, NULL, kp, NULL, peer_id, "POST", full, msg.p,
				    msg.len, "application/octet-stream", NULL, NULL, 60, &terr);
		if (rc && terr.code == MT_EIO && status == 0) {
			free(b.p);
			if (err)
				*err = terr;
			result = 2;
			goto done;
		}
		rc = rc || status != 200 || !b.p ||
		     node__recon_client_take(&c, (const unsigned char *)b.p, b.len, NULL) != 0;
		free(b.p);
		if (rc)
			goto done;
	}
	if (!(arr = json_array()))
		goto done;
	*peer_self = 0;
	for (size_t i = 0; i < own.n; i++) /* held by both at the same head */
		if (strcmp(own.items[i].key, self) == 0 && !c.mine_only[i])
			*peer_self = own.items[i].seq;
	for (size_t i = 0; i < c.n_theirs; i++) {
		const node_recon_item *it = &c.theirs[i];
		char hex[65];
		if (!mt_node_id_valid(it->key))
			continue; /* not a feed the listing could name either */
		mt_hex_encode(hex, sizeof hex, it->head, 32);
		if (strcmp(it->key, self) == 0)
			*peer_self = it->seq;
		if (json_array_append_new(arr, json_pack("{s:s,s:I,s:s}", "iss", it->key, "seq",
							 (json_int_t)it->seq, "head", hex)))
			goto done;
	}
	*out = arr;
	arr = NULL;
	result = 0;
done:
	json_decref(arr);
	free(msg.p);
	if (started)
		node__recon_client_free(&c);
	node__recon_set_free(&own);
	return result;
}

/* One pass over the peer's feeds — or, `peer_id` NULL, over the feeds a
 * directory lists (SPEC §9.5: asked without a signature, through
 * /v1/directory and /v1/directory/feed/<author>, at most 1000 statements a
 * page). Returns 0 or an error. */
static int sync_pass(CURL *curl, mt_store *s, const mt_keypair *kp, const char *self,
		     node_view *v, const char *url, const char *peer_id,
		     const mt_node_sync_opts *o, mt_node_sync_stats *st, int64_t now,
		     uint64_t *lag, int push, int *no_recon, mt_error *err)
{
	int directory = peer_id == NULL;
	int rc = 0;
	json_t *feeds = NULL;
	uint64_t peer_has_self = 0;
	/* A peer: the feeds that differ, by reconciliation; the whole listing
	 * when the peer cannot (an old peer) or anything goes wrong (the
	 * listing then answers with today's errors). */
	if (!directory && !*no_recon) {
		int r = recon_feeds(curl, s, kp, self, v, url, peer_id, &feeds, &peer_has_self, err);
		if (r == 2)
			return MT_EIO; /* unreachable: the listing would fail the same way */
		if (r)
			*no_recon = 1;
	}
	if (!feeds) {
		char full[2100];
		snprintf(full, sizeof full,
			 directory ? "%s/v1/directory?limit=1000" : "%s/v1/feeds", url);
		buf b = {.max = 256u * 1024 * 1024};
		long status = 0;
		rc = http_do(curl, &status, &b, directory ? NULL : kp, NULL, peer_id, "GET", full,
			     NULL, 0, NULL, NULL, 60, err);
		if (!rc && status != 200) {
			char e[256];
			rc = mt_error_set(err, MT_EIO, "GET %s: HTTP %ld: %s", full, status,
					  error_text(&b, e));
		}
		feeds = !rc && b.p ? json_loads(b.p, JSON_REJECT_DUPLICATES, NULL) : NULL;
		free(b.p);
		if (rc)
			return rc;
		if (directory && json_is_array(feeds))
			feeds = directory_feeds(feeds);
		if (!json_is_array(feeds)) {
			json_decref(feeds);
			return mt_error_set(err, MT_EIO, "GET %s: answer is not a JSON array", full);
		}
	}
	node_admit adm;
	/* a directory's statements count against the per-peer quota under its URL */
	if ((rc = node__admit_init(&adm, s, v, directory ? url : peer_id, o->max_per_issuer,
				   o->max_per_peer, now, err))) {
		json_decref(feeds);
		return rc;
	}
	size_t i;
	json_t *f;
	size_t page = o->page ? o->page : 5000;
	if (directory && page > 1000)
		page = 1000; /* a directory's limit */
	pull_src ps = {.curl = curl, .s = s, .kp = directory ? NULL : kp, .url = url,
		       .peer_id = peer_id,
		       .feed_path = directory ? "/v1/directory/feed/" : "/v1/feeds/",
		       .page = page, .adm = &adm, .o = o,
		       .progress_base = st->pulled_accepted + st->pulled_duplicate +
					st->pulled_rejected};
	ps.peer_room = node__admit_peer_room(&adm);
	ps.feeds = calloc(json_array_size(feeds) + 1, sizeof *ps.feeds);
	if (!ps.feeds)
		rc = mt_error_set(err, MT_ENOMEM, "out of memory");
	json_array_foreach(feeds, i, f)
	{
		if (rc)
			break;
		const char *iss = json_string_value(json_object_get(f, "iss"));
		json_int_t seq = json_integer_value(json_object_get(f, "seq"));
		if (!iss || !mt_node_id_valid(iss) || seq <= 0)
			continue;
		if (strcmp(iss, self) == 0)
			peer_has_self = (uint64_t)seq;
		/* The own feed is pulled too: what a peer holds of it that this
		 * home did not sign is the theft alarm (SPEC §9.2), and a home
		 * restored from its seed learns its head this way. */
		if (strcmp(iss, self) != 0 && !node__in_horizon(v, iss))
			continue;
		ps.feeds[ps.n_feeds++] = (pull_feed_state){
			.iss = iss,
			.peer_seq = (uint64_t)seq,
			.peer_head = json_string_value(json_object_get(f, "head"))};
	}
	if (!rc && ps.n_feeds) {
		mt_ingest_opts io = {.now = now, .threads = o->threads, .batch = 8192,
				     .admit = pull_admit, .flush = pull_flush, .done = pull_done,
				     .payload = &ps, .progress = pull_progress,
				     .progress_payload = &ps};
		mt_ingest_stats is = {0};
		rc = mt_ingest_run(s, pull_next, &ps, &io, &is, err);
		if (rc && ps.err.code)
			*err = ps.err; /* the fetch's own words, not "reading input failed" */
		st->pulled_accepted += is.accepted;
		st->pulled_duplicate += is.duplicate;
		st->pulled_rejected += is.rejected;
	}
	free(ps.body.p);
	free(ps.pages);
	free(ps.feeds);
	node__admit_done(&adm);
	/* lag: what the peer still holds beyond our contiguous heads */
	*lag = 0;
	json_array_foreach(feeds, i, f)
	{
		const char *iss = json_string_value(json_object_get(f, "iss"));
		json_int_t seq = json_integer_value(json_object_get(f, "seq"));
		if (!iss || !mt_node_id_valid(iss) || strcmp(iss, self) == 0 ||
		    !node__in_horizon(v, iss))
			continue;
		mt_feed_info fi;
		uint64_t head = mt_store_feed(s, iss, &fi, NULL) == 0 ? fi.head_seq : 0;
		if ((uint64_t)seq > head)
			*lag += (uint64_t)seq - head;
	}
	json_decref(feeds);
	if (!rc && push && !directory)
		rc = push_own(curl, s, kp, self, url, peer_id, peer_has_self, st, err);
	return rc;
}

/* Sync with one peer: passes until the trust horizon stops growing (new
 * statements may bring new issuers into it), then push. */
static int sync_peer(CURL *curl, mt_store *s, const mt_keypair *kp, const char *self,
		     node_view **vp, const char *url, const char *peer_id,
		     const mt_node_sync_opts *o, mt_node_sync_stats *st, int64_t now,
		     uint64_t *lag, mt_error *err)
{
	int no_recon = 0;
	for (int pass = 0;; pass++) {
		uint64_t before = st->pulled_accepted;
		int last = pass == 8;
		int rc = sync_pass(curl, s, kp, self, *vp, url, peer_id, o, st, now, lag, 0,
				   &no_recon, err);
		if (rc)
			return rc;
		if (st->pulled_accepted == before || last)
			break;
		node_view *nv = NULL;
		if (node__view_build(&nv, s, self, (*vp)->max_depth, (*vp)->decay, (*vp)->n_decay,
				     now, err) != 0)
			return MT_EIO;
		size_t grew = json_object_size(nv->horizon) > json_object_size((*vp)->horizon);
		node__view_free(*vp);
		*vp = nv;
		if (!grew)
			break;
	}
	/* push own statements the peer lacks (its /v1/feeds tells its head) */
	return sync_pass(curl, s, kp, self, *vp, url, peer_id, o, st, now, lag, 1, &no_recon, err);
}

int mt_node_sync_once(mt_store *s, const mt_keypair *kp, const mt_node_sync_opts *o,
		      int64_t now, mt_node_sync_stats *stats, mt_error *err)
{
	mt_node_sync_stats local;
	mt_node_sync_stats *st = stats ? stats : &local;
	memset(st, 0, sizeof *st);
	char self[MT_NODE_ID_MAX];
	mt_node_id_encode(self, kp->pk);
	static const double dflt[] = {1, 1, 0.5, 0.25, 0.125};
	int depth = o->max_depth >= 1 && o->max_depth <= 8 ? o->max_depth : 2;
	const double *decay = o->n_decay ? o->decay : dflt;
	size_t n_decay = o->n_decay ? o->n_decay : 5;
	json_t *peers = json_array();
	int rc = mt_node_peer_list(s, collect_peer, peers, err);
	node_view *v = NULL;
	if (!rc)
		rc = node__view_build(&v, s, self, depth, decay, n_decay, now, err);
	CURL *curl = rc ? NULL : curl_easy_init();
	if (!rc && !curl)
		rc = mt_error_set(err, MT_ENOMEM, "curl: out of memory");
	node_scope_view *global = rc ? NULL : node__view_scope(v, "global");
	if (!rc && !global)
		rc = mt_error_set(err, MT_ENOMEM, "trust view failed");
	size_t i;
	json_t *p;
	json_array_foreach(peers, i, p)
	{
		if (rc)
			break;
		const char *url = json_string_value(json_object_get(p, "url"));
		const char *known = json_string_value(json_object_get(p, "id"));
		/* A peer that rotated its key is the newest ID of its chain
		 * (SPEC §9.2): trusted as that, signed for as that. */
		char id[MT_NODE_ID_MAX];
		if (mt_store_newest_id(s, known, id, err) != 0) {
			rc = MT_EIO;
			break;
		}
		const mt_trust_entry *e = node__scope_entry(v, global, id);
		char summary[600];
		if (!e || e->level != MT_LEVEL_FULL) {
			st->skipped++;
			snprintf(summary, sizeof summary,
				 "skipped: %s is not trusted full in scope global", id);
			peer_record(s, url, now, summary, 0);
			if (o->peer_done)
				o->peer_done(url, summary, o->peer_payload);
			continue;
		}
		mt_node_sync_stats before = *st;
		mt_error perr = {0};
		uint64_t lag = 0;
		int prc = sync_peer(curl, s, kp, self, &v, url, id, o, st, now, &lag, &perr);
		if (prc) {
			st->failed++;
			snprintf(summary, sizeof summary, "failed: %s", perr.msg);
			peer_record(s, url, now, perr.msg, lag);
		} else {
			st->peers++;
			snprintf(summary, sizeof summary,
				 "pulled %" PRIu64 " accepted, %" PRIu64 " duplicate, %" PRIu64
				 " rejected; pushed %" PRIu64 "; lag %" PRIu64,
				 st->pulled_accepted - before.pulled_accepted,
				 st->pulled_duplicate - before.pulled_duplicate,
				 st->pulled_rejected - before.pulled_rejected,
				 st->pushed - before.pushed, lag);
			peer_record(s, url, now, "", lag);
		}
		st->lag += lag;
		global = node__view_scope(v, "global");
		if (!global) {
			rc = mt_error_set(err, MT_ENOMEM, "trust view failed");
			break;
		}
		if (o->peer_done)
			o->peer_done(url, summary, o->peer_payload);
	}
	/* Directories (SPEC §9.5): the feeds they list of issuers within this
	 * home's horizon, pulled without a signature — a newcomer trusted by no
	 * one keeps up with the publishers it trusts. Nothing is pushed. */
	for (size_t d = 0; !rc && d < o->n_directories; d++) {
		const char *url = o->directories[d];
		char summary[600];
		mt_node_sync_stats before = *st;
		mt_error derr = {0};
		uint64_t lag = 0;
		int drc = sync_peer(curl, s, kp, self, &v, url, NULL, o, st, now, &lag, &derr);
		if (drc) {
			st->failed++;
			snprintf(summary, sizeof summary, "directory failed: %s", derr.msg);
		} else {
			st->directories++;
			snprintf(summary, sizeof summary,
				 "directory: pulled %" PRIu64 " accepted, %" PRIu64
				 " duplicate, %" PRIu64 " rejected; lag %" PRIu64,
				 st->pulled_accepted - before.pulled_accepted,
				 st->pulled_duplicate - before.pulled_duplicate,
				 st->pulled_rejected - before.pulled_rejected, lag);
		}
		st->lag += lag;
		if (o->peer_done)
			o->peer_done(url, summary, o->peer_payload);
	}
	if (curl)
		curl_easy_cleanup(curl);
	node__view_free(v);
	json_decref(peers);
	return rc;
}

int mt_node_peer_get(long *status, char **resp, size_t *resp_len, const mt_keypair *kp,
		     const char *server_id, const char *url, long timeout_s, size_t max_bytes,
		     mt_error *err)
{
	*status = 0;
	*resp = NULL;
	if (resp_len)
		*resp_len = 0;
	if (!kp || !server_id || !url)
		return mt_error_set(err, MT_EINVAL, "peer GET: missing key, server id or URL");
	CURL *curl = curl_easy_init();
	if (!curl)
		return mt_error_set(err, MT_ENOMEM, "curl: out of memory");
	buf b = {.max = max_bytes ? max_bytes + 1 : 64u * 1024 * 1024};
	int rc = http_do(curl, status, &b, kp, NULL, server_id, "GET", url, NULL, 0, NULL, NULL,
			 timeout_s > 0 ? timeout_s : 10, err);
	curl_easy_cleanup(curl);
	if (rc) {
		free(b.p);
		return rc;
	}
	return hand_over(&b, resp, resp_len, err);
}
