/* The node's HTTP plumbing over libmicrohttpd (epoll + thread pool): the
 * request callbacks (on_uri, on_request, on_completed), the header phase
 * (everything decided before a body is read) and the body phase, the reply
 * with its security headers, the replies and query arguments the handlers
 * share, connection tracking (accept policy per address, the absolute header
 * deadline and its watchdog), and the node's start and stop with its
 * api.cookie. Routing and enforcement are in routes.c, the answers in the
 * ep_*.c files. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "meshtrust/canon.h"
#include "meshtrust/encoding.h"
#include "meshtrust/views.h"
#include "node_http.h"

/* ---- replies and query arguments -------------------------------------------------- */

void node__reply_text(reply *r, int status, const char *ctype, char *body)
{
	r->status = status;
	r->body = body;
	r->len = body ? strlen(body) : 0;
	r->ctype = ctype;
}

void node__reply_json(reply *r, int status, json_t *v)
{
	char *s = mt_view_dumps(v, JSON_COMPACT);
	json_decref(v);
	if (s) {
		size_t l = strlen(s);
		char *t = realloc(s, l + 2);
		if (t) {
			s = t;
			s[l] = '\n';
			s[l + 1] = '\0';
		}
	}
	node__reply_text(r, s ? status : 500, "application/json", s);
}

int node__store_status(const mt_error *err, int status)
{
	return err && err->code == MT_EUNAVAIL ? 503 : status;
}

static void reply_msg(reply *r, int status, char *msg)
{
	/* jansson refuses invalid UTF-8: keep the message ASCII-safe. */
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
			*p = '?';
	node__reply_json(r, status, json_pack("{s:s}", "error", msg));
	/* a store that lost its database: the client may try again soon */
	if (status == 503 && r->status == 503)
		r->retry_after = NODE_STORE_RETRY_AFTER;
}

void node__reply_error(reply *r, int status, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* the fallback for a store error passed as its message only */
	if (status == 500 && strstr(msg, NODE_STORE_UNAVAILABLE))
		status = 503;
	reply_msg(r, status, msg);
}

void node__reply_store_error(reply *r, int status, const mt_error *err, const char *fmt, ...)
{
	char msg[768] = "";
	if (fmt && *fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof msg, fmt, ap);
		va_end(ap);
	}
	size_t l = strlen(msg);
	snprintf(msg + l, sizeof msg - l, "%s%s", l ? ": " : "",
		 err && err->msg[0] ? err->msg : "store failure");
	reply_msg(r, node__store_status(err, status), msg);
}

/* MHD_KeyValueIterator over the query arguments: sets *cls and stops at the
 * first key or value that is not valid UTF-8. */
static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *value)
{
	(void)kind;
	int *bad = cls;
	if (!mt_utf8_valid(key, strlen(key)) || (value && !mt_utf8_valid(value, strlen(value)))) {
		*bad = 1;
		return MHD_NO;
	}
	return MHD_YES;
}

const char *node__arg(struct MHD_Connection *c, const char *key)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

int node__scope_arg(reply *r, struct MHD_Connection *c, const char **scope)
{
	*scope = node__arg(c, "scope");
	if (!*scope || !**scope)
		*scope = "global";
	mt_error err = {0};
	if (mt_scope_check(*scope, "scope", &err) != 0) {
		node__reply_error(r, 400, "%s", err.msg);
		return -1;
	}
	return 0;
}

int node__id_arg(reply *r, struct MHD_Connection *c, const char *name, char out[MT_NODE_ID_MAX],
		 int required)
{
	const char *v = node__arg(c, name);
	if (!v || !*v) {
		if (required)
			node__reply_error(r, 400, "missing query parameter %s", name);
		return required ? -1 : 1;
	}
	unsigned char pk[32];
	mt_error err = {0};
	if (mt_identity_parse(pk, out, v, name, &err) != 0) {
		node__reply_error(r, 400, "%s", err.msg);
		return -1;
	}
	return 0;
}

/* A strict integer query parameter in [min, max]; `dflt` when absent.
 * Returns 0, or -1 with `r` = 400 naming the parameter. */
int node__int_arg(reply *r, struct MHD_Connection *c, const char *name, long long min,
		  long long max, long long dflt, long long *out)
{
	const char *v = node__arg(c, name);
	*out = dflt;
	if (!v)
		return 0;
	char *end = NULL;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (!*v || *end || errno || x < min || x > max || !(*v >= '0' && *v <= '9')) {
		node__reply_error(r, 400, "%s: \"%.40s\" is not an integer in %lld..%lld", name, v,
				  min, max);
		return -1;
	}
	*out = x;
	return 0;
}

/* ---- header phase, body phase --------------------------------------------------------- */

/* Header checks made before anything else: no NUL inside a header, at most
 * one Content-Length (and never with Transfer-Encoding). */
typedef struct hdr_scan {
	int bad;
	int n_cl, te;
	const char *cl;
	const char *what;
	size_t n, bytes; /* headers, and their bytes as "key:value\r\n" */
} hdr_scan;

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
				   size_t key_size, const char *value, size_t value_size)
{
	(void)kind;
	hdr_scan *hs = cls;
	if (!key || strlen(key) != key_size || (value && strlen(value) != value_size)) {
		hs->bad = 1;
		hs->what = "a NUL byte inside a header";
		return MHD_NO;
	}
	hs->n++;
	hs->bytes += key_size + 1 + value_size + 2;
	if (strcasecmp(key, "Content-Length") == 0) {
		if (hs->n_cl++ && (!hs->cl || !value || strcmp(hs->cl, value) != 0)) {
			hs->bad = 1;
			hs->what = "conflicting Content-Length headers";
			return MHD_NO;
		}
		if (hs->n_cl > 1) {
			hs->bad = 1;
			hs->what = "a repeated Content-Length header";
			return MHD_NO;
		}
		hs->cl = value;
	}
	if (strcasecmp(key, "Transfer-Encoding") == 0)
		hs->te = 1;
	if (hs->cl && hs->te) {
		hs->bad = 1;
		hs->what = "Content-Length together with Transfer-Encoding";
		return MHD_NO;
	}
	return MHD_YES;
}

/* Everything decided from the headers, before any body is read: header
 * sanity, route and method, authentication (for a request with a body, the
 * claimed peer must already be within the horizon and have the route's right;
 * its signature is checked once the body is in), the kernel, the body size
 * and the node's body budget. Returns 0 to go on, else fills `r`. */
static int headers_phase(mt_node *n, struct MHD_Connection *c, const char *url,
			 const char *method, const char *http_version, req *rq, reply *r)
{
	hdr_scan hs = {0};
	MHD_get_connection_values_n(c, MHD_HEADER_KIND, scan_header, &hs);
	/* libmicrohttpd (0.9.75) cuts a header value at a NUL byte and drops the
	 * rest without a word. What it read of the header block is known, so a
	 * block longer than the headers it kept (plus one optional space after
	 * each colon) held bytes it dropped: refuse it. */
	const union MHD_ConnectionInfo *hi =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
	if (!hs.bad && hi) {
		size_t kept = strlen(method) + 1 + strlen(rq->uri) + 1 + strlen(http_version) + 2 +
			      hs.bytes + 2;
		if (hi->header_size > kept + hs.n) {
			hs.bad = 1;
			hs.what = "bytes the server would drop (a NUL byte inside a header, or "
				  "unusual whitespace)";
		}
	}
	if (hs.bad) {
		node__reply_error(r, 400, "malformed request: %s", hs.what);
		return -1;
	}
	uint64_t clen = 0;
	if (hs.cl) {
		char *end = NULL;
		errno = 0;
		unsigned long long x = strtoull(hs.cl, &end, 10);
		if (!*hs.cl || *end || errno || hs.cl[0] == '-' || hs.cl[0] == '+') {
			node__reply_error(r, 400, "malformed request: bad Content-Length");
			return -1;
		}
		clen = x;
	}
	if (clen > MT_NODE_MAX_BODY) {
		node__reply_error(r, 413, "request body over %u bytes", MT_NODE_MAX_BODY);
		return -1;
	}
	rq->has_body = clen > 0 || hs.te;
	int bad = !mt_utf8_valid(url, strlen(url)) || !mt_utf8_valid(rq->uri, strlen(rq->uri));
	if (!bad)
		MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, check_arg, &bad);
	if (bad) {
		node__reply_error(r, 400, "invalid UTF-8 in the request path or query");
		return -1;
	}
	const node_route *rt = rq->route = node__route_of(url);
	if (rt->nd == NEED_PUBLIC && !node__directory_on(n))
		rt = rq->route = node__route_of("/v1/"); /* not a directory: as absent */
	rq->ep = rt->ep;
	/* whether peers are held to the route's rights, rate and connection slots */
	int enforced = rt->rs != RS_NONE;
	/* authentication from the header alone */
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	memset(&rq->who, 0, sizeof rq->who);
	if (h && strncmp(h, "Bearer ", 7) == 0) {
		const char *t = h + 7;
		if (strlen(t) != 64 || sodium_memcmp(t, n->token, 64) != 0) {
			__atomic_fetch_add(&n->auth_failed, 1, __ATOMIC_RELAXED);
			node__reply_error(r, 401, "invalid bearer token");
			return -1;
		}
		rq->who.local = 1;
	} else if (h) {
		mt_error err = {0};
		if (mt_node_auth_parse(&rq->auth, h, &err) != 0) {
			__atomic_fetch_add(&n->auth_failed, 1, __ATOMIC_RELAXED);
			node__reply_error(r, 401, "%s", err.msg);
			return -1;
		}
		int64_t now = (int64_t)time(NULL);
		if (rq->auth.ts > now + MT_NODE_AUTH_WINDOW || rq->auth.ts < now - MT_NODE_AUTH_WINDOW) {
			__atomic_fetch_add(&n->auth_failed, 1, __ATOMIC_RELAXED);
			node__reply_error(r, 401, "request timestamp %lld is more than %d s off",
					  (long long)rq->auth.ts, MT_NODE_AUTH_WINDOW);
			return -1;
		}
		rq->who.peer = 1;
		snprintf(rq->who.id, sizeof rq->who.id, "%s", rq->auth.id);
	}
	if (rt->allow && !node__method_allowed(rt->allow, method)) {
		node__reply_error(r, 405, "method %s not allowed on %.200s", method, url);
		r->allow = rt->allow;
		return -1;
	}
	if (rt->nd == NEED_NONE || rt->nd == NEED_PUBLIC)
		rq->who.peer = 0; /* /v1/id, the static files, a directory: anyone alike */
	if (rt->nd == NEED_PUBLIC && !rq->who.local && node__public_rate(n, c, rq, r) != 0)
		return -1;
	if (rt->nd != NEED_NONE && rt->nd != NEED_PUBLIC && !rq->who.local && !rq->who.peer) {
		node__reply_error(r, 401,
				  "authentication required: send the local bearer token or a "
				  "signed peer request");
		return -1;
	}
	if (rt->local == LOCAL_ONLY && !rq->who.local) {
		node__reply_error(r, 403, "%s is for local clients (bearer token) only", rt->path);
		return -1;
	}
	if (rt->local == LOCAL_UNLESS_PUBLIC && !rq->who.local && !node__metrics_public(n)) {
		node__reply_error(r, 403,
				  "%s is for local clients only (node.metricsPublic is off)", rt->path);
		return -1;
	}
	if (rq->who.peer) {
		rq->view = node__view_acquire(n);
		if (!rq->view) {
			node__reply_error(r, 503, "node is starting");
			return -1;
		}
		if (!node__in_horizon(rq->view, rq->who.id)) {
			__atomic_fetch_add(&n->k_denied, 1, __ATOMIC_RELAXED);
			node__reply_error(r, 403,
					  "untrusted: %s is not within this node's trust horizon",
					  rq->who.id);
			return -1;
		}
		const char *succ = node__rotated_to(rq->view, rq->who.id);
		if (succ) { /* SPEC §9.2: a rotated-away ID is level none for requests */
			__atomic_fetch_add(&n->k_denied, 1, __ATOMIC_RELAXED);
			node__reply_error(r, 403, "rotated: %s was rotated to %s; sign with the new key",
					  rq->who.id, succ);
			return -1;
		}
		mt_policy_decision d;
		if (enforced) {
			if (node__peer_rights(n, c, rt, &rq->who, rq->view, &d, r) != 0)
				return -1;
			rq->limits = d.constraints;
		}
		if (!rq->has_body) {
			if (node__peer_verify(n, &rq->auth, method, rq, rq->view, r) != 0) {
				__atomic_fetch_add(&n->auth_failed, 1, __ATOMIC_RELAXED);
				return -1;
			}
			if (enforced && node__kernel_rate(n, &rq->who, &d, r) != 0)
				return -1;
		}
		if (enforced && node__peer_conn_open(n, c, rq, r) != 0)
			return -1;
	}
	if (rq->has_body) {
		uint64_t want = clen ? clen : 65536;
		uint64_t now_held = __atomic_add_fetch(&n->body_bytes, want, __ATOMIC_RELAXED);
		rq->reserved = (size_t)want;
		if (now_held > BODY_BYTES_CAP) {
			node__reply_error(r, 503,
					  "busy: over %u MiB of request bodies in flight; retry later",
					  BODY_BYTES_CAP >> 20);
			r->retry_after = 1;
			return -1;
		}
	}
	return 0;
}

/* After the body: a peer's signature over it, the nonce, the token bucket. */
static int body_phase(mt_node *n, struct MHD_Connection *c, const char *method, req *rq, reply *r)
{
	if (rq->too_big) {
		node__reply_error(r, 413, "request body over %u bytes", MT_NODE_MAX_BODY);
		return -1;
	}
	if (!rq->has_body || !rq->who.peer)
		return 0;
	if (node__peer_verify(n, &rq->auth, method, rq, rq->view, r) != 0) {
		__atomic_fetch_add(&n->auth_failed, 1, __ATOMIC_RELAXED);
		return -1;
	}
	const node_route *rt = rq->route;
	if (rt && rt->rs != RS_NONE) {
		mt_policy_decision d;
		if (node__peer_rights(n, c, rt, &rq->who, rq->view, &d, r) != 0 ||
		    node__kernel_rate(n, &rq->who, &d, r) != 0)
			return -1;
	}
	return 0;
}

/* ---- connections: accept policy, absolute header deadline ---------------------- */

typedef struct conn_track {
	struct conn_track *prev, *next;
	int fd;
	int local;         /* from 127.0.0.1 */
	uint32_t addr;     /* IPv4, host order */
	struct timespec since; /* start of the current request's headers */
	int in_request;    /* headers complete: the request deadline applies */
	int cut;           /* shut down by the watchdog */
} conn_track;

static double mono_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static double ts_seconds(const struct timespec *t)
{
	return (double)t->tv_sec + t->tv_nsec / 1e9;
}

/* Whether one more connection from remote address `ip` would pass a cap:
 * the remote share of the slots, or per_ip_limit live (not cut) connections
 * of that address. Caller holds conn_lock. */
static int remote_full(mt_node *n, uint32_t ip)
{
	if (n->n_remote >= CONN_LIMIT - CONN_RESERVED_LOCAL)
		return 1;
	unsigned per_ip = n->opts.per_ip_limit ? n->opts.per_ip_limit : 64, same = 0;
	for (conn_track *t = n->conns; t && same < per_ip; t = t->next)
		same += !t->local && !t->cut && t->addr == ip;
	return same >= per_ip;
}

/* Connections from 127.0.0.1 are this machine's clients (CLI, dashboard,
 * scripts): never capped per address, and only they may take the last
 * CONN_RESERVED_LOCAL slots. Every other address holds at most
 * per_ip_limit connections. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	mt_node *n = cls;
	if (!addr || addrlen < (socklen_t)sizeof(struct sockaddr_in) || addr->sa_family != AF_INET)
		return MHD_NO;
	uint32_t ip = ntohl(((const struct sockaddr_in *)addr)->sin_addr.s_addr);
	if (ip == INADDR_LOOPBACK)
		return MHD_YES;
	pthread_mutex_lock(&n->conn_lock);
	enum MHD_Result ok = remote_full(n, ip) ? MHD_NO : MHD_YES;
	pthread_mutex_unlock(&n->conn_lock);
	if (!ok)
		__atomic_fetch_add(&n->conn_refused, 1, __ATOMIC_RELAXED);
	return ok;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	mt_node *n = cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		conn_track *t = calloc(1, sizeof *t);
		if (!t)
			return;
		const union MHD_ConnectionInfo *fi =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *ai =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		t->fd = fi ? fi->connect_fd : -1;
		if (ai && ai->client_addr && ai->client_addr->sa_family == AF_INET)
			t->addr = ntohl(((const struct sockaddr_in *)ai->client_addr)->sin_addr.s_addr);
		t->local = t->addr == INADDR_LOOPBACK;
		clock_gettime(CLOCK_MONOTONIC, &t->since);
		pthread_mutex_lock(&n->conn_lock);
		/* The accept policy checked the caps without holding a slot: two
		 * pool threads may both have passed it for the last slot. Here,
		 * under the lock, the caps hold exactly: one over them is shut down
		 * at once (libmicrohttpd then closes it). */
		int over = 0;
		if (!t->local && t->fd >= 0)
			over = remote_full(n, t->addr);
		t->next = n->conns;
		if (n->conns)
			n->conns->prev = t;
		n->conns = t;
		n->n_conns++;
		n->n_remote += !t->local;
		if (over) {
			shutdown(t->fd, SHUT_RDWR);
			t->cut = 1;
			__atomic_fetch_add(&n->conn_refused, 1, __ATOMIC_RELAXED);
		}
		pthread_mutex_unlock(&n->conn_lock);
		*socket_context = t;
		return;
	}
	conn_track *t = *socket_context;
	if (!t)
		return;
	/* The socket is still open here (libmicrohttpd closes it after this
	 * notification), and the watchdog only touches fds under conn_lock. */
	pthread_mutex_lock(&n->conn_lock);
	if (t->prev)
		t->prev->next = t->next;
	else
		n->conns = t->next;
	if (t->next)
		t->next->prev = t->prev;
	n->n_conns--;
	n->n_remote -= !t->local;
	pthread_mutex_unlock(&n->conn_lock);
	free(t);
	*socket_context = NULL;
}

static conn_track *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

static void conn_mark(mt_node *n, struct MHD_Connection *c, int in_request)
{
	conn_track *t = conn_of(c);
	if (!t)
		return;
	pthread_mutex_lock(&n->conn_lock);
	t->in_request = in_request;
	clock_gettime(CLOCK_MONOTONIC, &t->since);
	pthread_mutex_unlock(&n->conn_lock);
}

/* Shut down connections whose headers took longer than the header deadline
 * (an absolute one: trickling bytes does not extend it) or whose request
 * body took longer than REQUEST_DEADLINE. Called by the maintenance thread. */
void node__conn_watchdog(mt_node *n)
{
	double now = mono_now();
	unsigned header_limit = n->opts.header_timeout ? n->opts.header_timeout : 10;
	pthread_mutex_lock(&n->conn_lock);
	for (conn_track *t = n->conns; t; t = t->next) {
		double age = now - ts_seconds(&t->since);
		if (t->cut || t->fd < 0)
			continue;
		if ((!t->in_request && age > header_limit) || (t->in_request && age > REQUEST_DEADLINE)) {
			shutdown(t->fd, SHUT_RDWR);
			t->cut = 1;
			__atomic_fetch_add(&n->header_timeouts, 1, __ATOMIC_RELAXED);
		}
	}
	pthread_mutex_unlock(&n->conn_lock);
}

/* ---- libmicrohttpd callbacks ----------------------------------------------------- */

/* A request begins (MHD_OPTION_URI_LOG_CALLBACK): its `req`, holding the
 * request-target exactly as sent. NULL (the request is then refused) when
 * memory runs out. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	(void)cls;
	(void)c;
	req *rq = calloc(1, sizeof *rq);
	if (rq) {
		rq->uri = strdup(uri ? uri : "/");
		rq->ep = EP_OTHER;
		rq->t0 = mono_now();
	}
	return rq;
}

/* A request ends, answered or not: give back what it held (kernel connection,
 * body budget, view) and free it. */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)toe;
	mt_node *n = cls;
	req *rq = *con_cls;
	if (rq) {
		if (rq->conn_open)
			mt_kernel_conn_close(n->kernel, rq->conn_key, sizeof rq->conn_key);
		if (rq->reserved)
			__atomic_fetch_sub(&n->body_bytes, rq->reserved, __ATOMIC_RELAXED);
		node__view_release(n, rq->view);
		free(rq->uri);
		free(rq->body);
		free(rq);
	}
	*con_cls = NULL;
	conn_mark(n, c, 0); /* keep-alive: the next request's header deadline starts now */
}

/* Security headers on every reply (SPEC §9.4). */
static void security_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'self'; script-src 'self'; style-src 'self' "
				"'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
				"object-src 'none'; base-uri 'none'; form-action 'none'; "
				"frame-ancestors 'none'");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
}

/* Send `r` (taking its body), count it under `ep` and log it. */
static enum MHD_Result queue(mt_node *n, struct MHD_Connection *c, reply *r, int ep,
			     const char *method, const char *url, double t0)
{
	if (!r->body) {
		r->status = 500;
		r->body = strdup("{\"error\":\"out of memory\"}\n");
		r->len = r->body ? strlen(r->body) : 0;
		r->ctype = "application/json";
	}
	if (r->status == 500) {
		/* the maintenance thread found the store's database away: a 500
		 * whose message did not say why is that, most likely */
		char why[sizeof n->store_down];
		pthread_mutex_lock(&n->view_lock);
		memcpy(why, n->store_down, sizeof why);
		pthread_mutex_unlock(&n->view_lock);
		if (why[0]) {
			free(r->body);
			r->body = NULL;
			node__reply_error(r, 503, NODE_STORE_UNAVAILABLE "%s", why);
			r->retry_after = NODE_STORE_RETRY_AFTER;
			if (!r->body)
				r->status = 503;
		}
	}
	struct MHD_Response *resp = MHD_create_response_from_buffer(r->len, r->body,
								    MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(r->body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", r->ctype ? r->ctype : "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	security_headers(resp);
	if (r->allow)
		MHD_add_response_header(resp, "Allow", r->allow);
	if (r->digest)
		MHD_add_response_header(resp, "X-Mesh-Digest", r->digest);
	if (r->status == 429 || (r->status == 503 && r->retry_after > 0)) {
		char ra[32];
		double s = ceil(r->retry_after);
		snprintf(ra, sizeof ra, "%.0f", s < 1 ? 1 : s);
		MHD_add_response_header(resp, "Retry-After", ra);
	}
	enum MHD_Result ok = MHD_queue_response(c, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	node__count_request(n, ep, r->status);
	node__observe_latency(n, ep, mono_now() - t0);
	char m[40], path[420];
	node__esc(m, sizeof m, method);
	node__esc(path, sizeof path, url);
	node__log(&n->opts, r->status >= 500 ? MT_NODE_LOG_WARN : MT_NODE_LOG_DEBUG,
		  "msg=request method=\"%s\" path=\"%.400s\" status=%d", m, path, r->status);
	return ok;
}

/* libmicrohttpd's handler, called once with the headers (header phase), then
 * with each piece of the body, then once more at its end (body phase and the
 * route's handler). */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	(void)version;
	mt_node *n = cls;
	req *rq = *con_cls;
	if (!rq)
		return MHD_NO;
	if (!rq->seen) {
		rq->seen = 1;
		conn_mark(n, c, 1);
		reply r = {0};
		if (headers_phase(n, c, url, method, version, rq, &r) != 0)
			/* Answering before the body closes the connection: nothing of
			 * a refused body is read. */
			return queue(n, c, &r, rq->ep, method, url, rq->t0);
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t k = *upload_data_size;
		*upload_data_size = 0;
		if (rq->too_big || rq->len + k > MT_NODE_MAX_BODY) {
			rq->too_big = 1;
			free(rq->body);
			rq->body = NULL;
			rq->len = rq->cap = 0;
			return MHD_YES;
		}
		if (rq->len + k + 1 > rq->cap) {
			size_t cap = rq->cap ? rq->cap : 4096;
			while (cap < rq->len + k + 1)
				cap *= 2;
			if (cap > rq->reserved) { /* chunked bodies: count what they grow to */
				uint64_t more = cap - rq->reserved;
				if (__atomic_add_fetch(&n->body_bytes, more, __ATOMIC_RELAXED) >
				    BODY_BYTES_CAP) {
					__atomic_fetch_sub(&n->body_bytes, more, __ATOMIC_RELAXED);
					return MHD_NO;
				}
				rq->reserved = cap;
			}
			char *t = realloc(rq->body, cap);
			if (!t)
				return MHD_NO;
			rq->body = t;
			rq->cap = cap;
		}
		memcpy(rq->body + rq->len, upload_data, k);
		rq->len += k;
		rq->body[rq->len] = '\0';
		return MHD_YES;
	}
	reply r = {0};
	if (body_phase(n, c, method, rq, &r) == 0)
		node__dispatch(n, c, url, rq, &r);
	return queue(n, c, &r, rq->ep, method, url, rq->t0);
}

/* ---- start / stop -------------------------------------------------------------------- */

static int write_cookie(mt_node *n, mt_error *err)
{
	unsigned char rnd[32];
	randombytes_buf(rnd, sizeof rnd);
	mt_hex_encode(n->token, sizeof n->token, rnd, sizeof rnd);
	sodium_memzero(rnd, sizeof rnd);
	char path[4200], tmp[4300];
	snprintf(path, sizeof path, "%s/api.cookie", n->home);
	/* A fresh, unguessable name, created (never opened) without following a
	 * link: nothing planted in the home can receive the token. */
	int fd = -1;
	for (int tries = 0; fd < 0 && tries < 16; tries++) {
		unsigned char r8[8];
		char h[17];
		randombytes_buf(r8, sizeof r8);
		mt_hex_encode(h, sizeof h, r8, sizeof r8);
		snprintf(tmp, sizeof tmp, "%s/.api.cookie.%s", n->home, h);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0)
		return mt_error_set(err, MT_EIO, "%s: %s", tmp, strerror(errno));
	int ok = fchmod(fd, 0600) == 0 && write(fd, n->token, 64) == 64 && fsync(fd) == 0;
	close(fd);
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return mt_error_set(err, MT_EIO, "cannot write %s: %s", path, strerror(errno));
	}
	return 0;
}

/* The home must be a directory of this user that nobody else may write. */
static int home_check(const char *home, mt_error *err)
{
	struct stat sb;
	if (lstat(home, &sb) != 0)
		return mt_error_set(err, MT_EIO, "home %s: %s", home, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return mt_error_set(err, MT_EINVAL, "home %s is not a directory", home);
	if (sb.st_uid != geteuid())
		return mt_error_set(err, MT_EPERM, "home %s belongs to another user (uid %u)", home,
				    (unsigned)sb.st_uid);
	if (sb.st_mode & 022)
		return mt_error_set(err, MT_EPERM,
				    "home %s is writable by others (mode %03o): run chmod 700 %s", home,
				    (unsigned)(sb.st_mode & 0777), home);
	return 0;
}

int mt_node_start(mt_node **out, const mt_node_opts *opts, const mt_keypair *kp, mt_error *err)
{
	*out = NULL;
	if (!opts || !opts->home || !opts->db_path || !kp)
		return mt_error_set(err, MT_EINVAL, "node: home, db_path and key are required");
	if (mt_identity_init() != 0)
		return mt_error_set(err, MT_ECRYPTO, "libsodium failed to initialise");
	mt_node *n = calloc(1, sizeof *n);
	if (!n)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	int rc = 0;
	n->opts = *opts;
	if (n->opts.max_depth < 1 || n->opts.max_depth > 8)
		n->opts.max_depth = 2;
	if (!n->opts.n_decay) {
		static const double d[] = {1, 1, 0.5, 0.25, 0.125};
		memcpy(n->opts.decay, d, sizeof d);
		n->opts.n_decay = 5;
	}
	n->home = strdup(opts->home);
	n->db_path = strdup(opts->db_path);
	n->web_dir = opts->web_dir ? strdup(opts->web_dir) : NULL;
	n->listen_addr = strdup(opts->listen_addr ? opts->listen_addr : "127.0.0.1");
	n->opts.home = n->home;
	n->opts.db_path = n->db_path;
	n->opts.web_dir = n->web_dir;
	n->opts.listen_addr = n->listen_addr;
	n->kp = *kp;
	mt_node_id_encode(n->self, kp->pk);
	mt_did_encode(n->did, kp->pk);
	pthread_mutex_init(&n->pool_lock, NULL);
	pthread_cond_init(&n->pool_cond, NULL);
	pthread_mutex_init(&n->view_lock, NULL);
	pthread_mutex_init(&n->maint_lock, NULL);
	pthread_mutex_init(&n->conf_lock, NULL);
	pthread_cond_init(&n->maint_cond, NULL);
	pthread_mutex_init(&n->conn_lock, NULL);
	pthread_mutex_init(&n->topic_lock, NULL);
	n->web_fd = -1;
	n->started = (int64_t)time(NULL);
	n->topics = json_object();
	if (!n->home || !n->db_path || !n->listen_addr || (opts->web_dir && !n->web_dir) ||
	    !n->topics) {
		rc = mt_error_set(err, MT_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = node__nonces_new(&n->nonces, NONCE_CAP, NONCE_CAP_PER_PEER, NONCE_TTL)) ||
	    /* a nonce used before this start cannot be checked: refuse every
	     * request signed in the second of the start or before it (a previous
	     * process may have served one in this very second); serving starts
	     * only in the next second (below) (SPEC §9.4) */
	    (rc = node__nonces_raise_floor(n->nonces, n->started))) {
		mt_error_set(err, rc, "nonce cache: cannot create it");
		goto fail;
	}
	if ((rc = home_check(n->home, err)))
		goto fail;
	if (n->web_dir) {
		n->web_fd = open(n->web_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (n->web_fd < 0) {
			rc = mt_error_set(err, MT_EIO, "--web %s: %s", n->web_dir, strerror(errno));
			goto fail;
		}
	}
	if (opts->policy) {
		n->policy = opts->policy;
	} else {
		if (mt_policy_default(&n->policy_owned) != 0) {
			rc = mt_error_set(err, MT_ENOMEM, "out of memory");
			goto fail;
		}
		n->policy = n->policy_owned;
	}
	if (mt_kernel_new(&n->kernel, NULL) != MT_K_ALLOW) {
		rc = mt_error_set(err, MT_ENOMEM, "kernel: out of memory");
		goto fail;
	}
	unsigned threads = opts->threads;
	if (!threads) {
		/* libmicrohttpd binds each connection to one pool thread: a request
		 * that takes long (a POST of statements to verify and store, an
		 * expensive answer) holds up every other connection of its thread,
		 * so there are more threads than CPUs (each with its store handle) */
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		threads = c > 0 ? 4 * (unsigned)c : 8;
		if (threads < 8)
			threads = 8;
		if (threads > 64)
			threads = 64;
	}
	if ((rc = node__pool_open(n, threads + 1, err)))
		goto fail;
	if (node__view_refresh(n, n->maint_store) != 0) {
		rc = mt_error_set(err, MT_EIO, "cannot build the trust view of %s", n->db_path);
		goto fail;
	}
	if ((rc = write_cookie(n, err)))
		goto fail;
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)opts->port);
	if (inet_pton(AF_INET, n->listen_addr, &sa.sin_addr) != 1) {
		rc = mt_error_set(err, MT_EINVAL, "--listen: \"%s\" is not an IPv4 address",
				  n->listen_addr);
		goto fail;
	}
	while ((int64_t)time(NULL) <= n->started) {
		struct timespec nap = {0, 20 * 1000000L};
		nanosleep(&nap, NULL);
	}
	n->mhd = MHD_start_daemon(
		MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO, (uint16_t)opts->port, on_accept, n,
		on_request, n, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_URI_LOG_CALLBACK, on_uri, n,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, n, MHD_OPTION_NOTIFY_CONNECTION,
		on_connection, n, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)(opts->conn_timeout ? opts->conn_timeout : 10),
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)CONN_MEMORY, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
		MHD_OPTION_END);
	if (!n->mhd) {
		rc = mt_error_set(err, MT_EIO, "cannot listen on %s:%d: %s", n->listen_addr,
				  opts->port, strerror(errno));
		goto fail;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(n->mhd, MHD_DAEMON_INFO_BIND_PORT);
	n->port = di ? di->port : opts->port;
	if (node__maint_start(n) != 0) {
		rc = mt_error_set(err, MT_ENOMEM, "cannot start the maintenance thread");
		goto fail;
	}
	node__log(&n->opts, MT_NODE_LOG_INFO,
		  "msg=started node_id=%s listen=%s:%d threads=%u statements=%llu", n->self,
		  n->listen_addr, n->port, threads, (unsigned long long)n->view->count);
	*out = n;
	return 0;
fail:
	mt_node_free(n);
	return rc ? rc : MT_EIO;
}

int mt_node_port(const mt_node *node)
{
	return node->port;
}

const char *mt_node_token(const mt_node *node)
{
	return node->token;
}

void mt_node_free(mt_node *n)
{
	if (!n)
		return;
	if (n->mhd)
		MHD_stop_daemon(n->mhd);
	node__maint_stop(n);
	node__log(&n->opts, MT_NODE_LOG_INFO, "msg=stopped");
	node__pool_close(n);
	node__view_release(n, n->view);
	node__topics_free(n); /* releases the topics in the kernel: before it is freed */
	mt_kernel_free(n->kernel);
	mt_policy_free(n->policy_owned);
	node__nonces_free(n->nonces);
	if (n->web_fd >= 0)
		close(n->web_fd);
	pthread_mutex_destroy(&n->conn_lock);
	pthread_mutex_destroy(&n->topic_lock);
	pthread_mutex_destroy(&n->pool_lock);
	pthread_cond_destroy(&n->pool_cond);
	pthread_mutex_destroy(&n->view_lock);
	pthread_mutex_destroy(&n->maint_lock);
	node__reload_done(n);
	pthread_cond_destroy(&n->maint_cond);
	sodium_memzero(n->token, sizeof n->token);
	mt_keypair_wipe(&n->kp);
	free(n->home);
	free(n->db_path);
	free(n->web_dir);
	free(n->listen_addr);
	free(n);
}
