/** The node: HTTP API (SPEC §5), peer authentication, feed sync, enforcement.
 *
 * A node serves one home's store over HTTP (libmicrohttpd, epoll + thread
 * pool). Callers are either local clients holding the bearer token of
 * `$MESH_HOME/api.cookie`, or peers signing each request with the
 * `Authorization: Mesh id=…,ts=…,nonce=…,sig=…` scheme. Every peer request is
 * admitted by the kernel under the constraint set the policy oracle derives
 * from the peer's trust in the request's scope. docs/node.md describes the
 * endpoints, the permission rules and the sync algorithm.
 *
 * Threads: mt_node_start() starts the HTTP pool and one maintenance thread
 * (engine refresh, periodic sync); mt_node_free() stops and joins them.
 */
#ifndef MESHTRUST_NODE_H
#define MESHTRUST_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "meshtrust/error.h"
#include "meshtrust/identity.h"
#include "meshtrust/store.h"

struct mt_policy;

/** Largest request body accepted (bytes); more gets 413. */
#define MT_NODE_MAX_BODY (8u * 1024u * 1024u)
/** Clock window of the peer signature scheme, seconds. */
#define MT_NODE_AUTH_WINDOW 300
/** Length of a nonce in hex characters. */
#define MT_NODE_NONCE_HEX 32
/** Signing-input domain of peer requests. */
#define MT_NODE_REQ_DOMAIN "mesh/v1/req\n"
/** Default listen address. */
#define MT_NODE_DEFAULT_PORT 7070

/** Log levels of the node's structured log (stderr). */
typedef enum mt_node_log_level {
	MT_NODE_LOG_ERROR = 0,
	MT_NODE_LOG_WARN = 1,
	MT_NODE_LOG_INFO = 2,
	MT_NODE_LOG_DEBUG = 3,
} mt_node_log_level;

/** A parsed `Authorization: Mesh …` header. */
typedef struct mt_node_auth {
	char id[MT_NODE_ID_MAX];     /* caller's Node ID (syntax checked, key decoded) */
	unsigned char pk[32];        /* its public key */
	int64_t ts;                  /* caller's clock, Unix seconds */
	char nonce[MT_NODE_NONCE_HEX + 1]; /* 32 lower-case hex characters */
	unsigned char sig[64];       /* Ed25519 signature */
} mt_node_auth;

/** Parse the value of an Authorization header of the Mesh scheme:
 * `Mesh id=<NodeID>,ts=<unix>,nonce=<32 hex>,sig=<base64url>` — exactly these
 * four parameters, each once, in any order, separated by "," (optional spaces
 * after commas); `ts` a decimal integer 0..2^53-1 without sign or leading
 * zero, `nonce` 32 lower-case hex, `sig` strict base64url of 64 bytes.
 * Pure (no I/O, no allocation), suitable for fuzzing; `header` must be
 * NUL-terminated and is only read. Returns 0, or MT_EINVAL with a message
 * naming the bad part (`out` then zeroed). */
int mt_node_auth_parse(mt_node_auth *out, const char *header, mt_error *err);

/** Read one message of the feed-head reconciliation (docs/node.md "Peers and
 * sync", POST /v1/feeds/reconcile) as this node would, over a fixed sample
 * set of 40 feeds: `as_answer` 0 reads it as a puller's message (the
 * endpoint's parser, answered in memory), 1 as a peer's answer to the
 * puller's first message (the client's parser; then the puller's next
 * message is made). For fuzzing and tests: `msg` (len bytes, any content)
 * is only read; nothing is kept. Returns 0, MT_EINVAL with a message naming
 * the byte and the problem, or MT_ENOMEM. */
int mt_node_recon_check(const void *msg, size_t len, int as_answer, mt_error *err);

/** Compute the signing input of a peer request into `out` (malloc'd,
 * NUL-terminated, caller frees): `mesh/v1/req\n<server_id>\n<method>\n
 * <target>\n<ts>\n<nonce>\n<hex BLAKE2b-256 of body>`. `body` may be NULL
 * when `body_len` is 0. Returns 0 or MT_ENOMEM / MT_EINVAL (NULL strings). */
int mt_node_auth_input(char **out, size_t *out_len, const char *server_id, const char *method,
		       const char *target, int64_t ts, const char *nonce, const void *body,
		       size_t body_len);

/** Build a complete header value ("Mesh id=…,ts=…,nonce=…,sig=…") signed with
 * `kp`, claiming identity `claim_id` (NULL: the key's own Node ID; another ID
 * only makes sense for tests of forged requests). `nonce` NULL draws a fresh
 * random one. `out` must hold at least 256 bytes. Returns 0 or MT_EINVAL. */
int mt_node_auth_sign(char *out, size_t outsz, const mt_keypair *kp, const char *claim_id,
		      const char *server_id, const char *method, const char *target, int64_t ts,
		      const char *nonce, const void *body, size_t body_len, mt_error *err);

/** Check a parsed header: signature over the request (first), then
 * |ts - now| <= MT_NODE_AUTH_WINDOW. The nonce check is the server's (it needs
 * state). Returns 0, MT_EBADSIG ("bad request signature") or MT_EPERM
 * ("request timestamp … is more than 300 s off"). */
int mt_node_auth_verify(const mt_node_auth *a, const char *server_id, const char *method,
			const char *target, const void *body, size_t body_len, int64_t now,
			mt_error *err);

/** Options of a node. Zero-initialise, then set what you need. */
typedef struct mt_node_opts {
	const char *home;        /* $MESH_HOME (api.cookie is written there) — required */
	const char *db_path;     /* the store file — required */
	const char *listen_addr; /* IPv4 address; NULL → "127.0.0.1" */
	int port;                /* 0 → pick a free port (see mt_node_port) */
	const char *web_dir;     /* dashboard files; NULL → minimal page */
	unsigned threads;        /* HTTP pool; 0 → online CPUs */
	mt_node_log_level log_level;
	int max_depth;           /* trust.maxDepth */
	double decay[16];        /* trust.decay */
	size_t n_decay;
	uint64_t max_per_issuer; /* node.maxStatementsPerIssuerPerDay; 0 → 1000 */
	uint64_t max_per_peer;   /* node.maxStatementsPerPeerPerDay; 0 → 100000 */
	const struct mt_policy *policy; /* borrowed; NULL → mt_policy_default */
	int sync_interval;       /* seconds between periodic syncs; 0 → no periodic sync */
	unsigned conn_timeout;   /* seconds of client inactivity; 0 → 10 */
	unsigned per_ip_limit;   /* connections per address other than 127.0.0.1; 0 → 64
				  * (127.0.0.1 is never capped per address and alone may take
				  * the last 256 of the 4096 connection slots) */
	unsigned header_timeout; /* absolute deadline (s) for a request's headers; 0 → 10 */
	int metrics_public;      /* node.metricsPublic: /metrics also to peers (never URLs) */
	int log_json;            /* --log-format json: one JSON object per log line */
	int directory;           /* node.directory: serve /v1/directory* to anyone, rate-limited
				  * per address at the policy's lowest tier (SPEC §9.5) */
} mt_node_opts;

typedef struct mt_node mt_node;

/** Create a node: opens its store handles, writes a new bearer token to
 * `<home>/api.cookie` (0600, through a fresh temp file created with
 * O_EXCL|O_NOFOLLOW), binds the listening socket and starts serving. The home
 * must be a directory of the effective user that group and others cannot
 * write (else MT_EPERM, naming the fix). docs/security.md lists the limits
 * the node keeps at its boundary.
 * `kp` is copied (and wiped at free). On success *out is owned by the caller
 * (mt_node_free). Errors: MT_EIO (bind, store), MT_EINVAL, MT_ENOMEM. */
int mt_node_start(mt_node **out, const mt_node_opts *opts, const mt_keypair *kp, mt_error *err);

/** The bound TCP port. */
int mt_node_port(const mt_node *node);

/** The bearer token (64 hex characters, borrowed; a secret: never log it). */
const char *mt_node_token(const mt_node *node);

/** Stop serving (finishing requests in flight), stop the maintenance thread,
 * free everything. NULL is a harmless no-op. */
void mt_node_free(mt_node *node);

/** The settings a running node takes again (SIGHUP: `mesh node start`
 * re-reads the store's configuration and policy.toml). Fields as in
 * mt_node_opts. */
typedef struct mt_node_settings {
	int max_depth;           /* trust.maxDepth, 1..8 */
	double decay[16];        /* trust.decay, n_decay values in (0,1] */
	size_t n_decay;
	uint64_t max_per_issuer; /* 0 → 1000 */
	uint64_t max_per_peer;   /* 0 → 100000 */
	int metrics_public;      /* node.metricsPublic */
	int directory;           /* node.directory */
	struct mt_policy *policy; /* the new local policy; NULL keeps the one in force */
} mt_node_settings;

/** Put `r` in force without stopping: connections and requests in flight are
 * kept (a request already running finishes under the settings it started
 * with), the next requests and the next view (rebuilt at once by the
 * maintenance thread) use the new ones. On success the node owns r->policy
 * (freed with the node). Errors: MT_EINVAL (naming the bad setting; nothing
 * changed and r->policy stays the caller's), MT_ENOMEM (likewise). */
int mt_node_reload(mt_node *node, const mt_node_settings *r, mt_error *err);

/** How many reloads the node has taken since it started. */
uint64_t mt_node_reloads(const mt_node *node);

/* ---- peers and sync (usable without a running node) -------------------- */

/** Record a peer (URL without trailing slash, its Node ID). Re-adding a URL
 * updates its Node ID. */
int mt_node_peer_add(mt_store *s, const char *url, const char *node_id, int64_t now,
		     mt_error *err);

/** One stored peer, passed to mt_node_peer_list's callback (borrowed). */
typedef struct mt_node_peer {
	const char *url;
	const char *node_id;
	int64_t added;
	int64_t last_sync;     /* 0 = never */
	const char *last_error; /* "" when the last sync went well */
} mt_node_peer;
typedef void (*mt_node_peer_fn)(const mt_node_peer *peer, void *payload);
int mt_node_peer_list(mt_store *s, mt_node_peer_fn fn, void *payload, mt_error *err);

/** GET <url>/v1/id without authentication; copies the Node ID it reports.
 * Errors: MT_EIO (network, status, malformed answer). */
int mt_node_fetch_id(char out[MT_NODE_ID_MAX], const char *url, long timeout_s, mt_error *err);

/** GET `url` (a full URL) without authentication — a directory's public
 * answers (SPEC §9.5) — taking at most `timeout_s` seconds in all and
 * refusing an answer of more than `max_bytes` (0: 64 MiB). *status gets the
 * HTTP status (any status is a successful call), *resp the body (malloc'd,
 * NUL-terminated, caller frees; never NULL on success), *resp_len its length
 * (may be NULL), `digest` (may be NULL) the X-Mesh-Digest header's 64 hex
 * characters or "" without one. Errors: MT_EIO (network, timeout, answer too
 * large; the message names the URL), MT_ENOMEM. */
int mt_node_public_get(long *status, char **resp, size_t *resp_len, char digest[65],
		       const char *url, long timeout_s, size_t max_bytes, mt_error *err);

/** Totals of one sync round. */
typedef struct mt_node_sync_stats {
	unsigned peers;        /* peers synced with (trusted full) */
	unsigned skipped;      /* peers skipped (not trusted full) */
	unsigned failed;       /* peers that failed (network / protocol) */
	uint64_t pulled_accepted, pulled_duplicate, pulled_rejected;
	uint64_t pushed;       /* own statements the peers accepted */
	uint64_t lag;          /* statements peers still hold beyond ours (after the round) */
	unsigned directories;  /* directories pulled from (SPEC §9.5) */
} mt_node_sync_stats;

/** Options of a sync round. */
typedef struct mt_node_sync_opts {
	int max_depth;
	const double *decay;
	size_t n_decay;
	uint64_t max_per_issuer, max_per_peer; /* 0 → defaults */
	size_t page;           /* statements per GET; 0 → 5000 */
	int threads;           /* ingest decode threads; 0 → online CPUs */
	mt_progress_fn progress; /* (statements pulled so far, 0); may be NULL */
	void *progress_payload;
	/* Called after each peer with a one-line summary (may be NULL). */
	void (*peer_done)(const char *url, const char *summary, void *payload);
	void *peer_payload;
	/* Directories (discover.directories, SPEC §9.5), base URLs without a
	 * trailing slash: after the peers, each is asked without a signature for
	 * the feeds it lists (GET /v1/directory) and those of issuers within the
	 * trust horizon are pulled (GET /v1/directory/feed/<iss>) under the same
	 * admission (horizon, per-issuer quota, per-peer quota keyed by the
	 * URL). Nothing is pushed to a directory. May be NULL / 0. */
	const char *const *directories;
	size_t n_directories;
} mt_node_sync_opts;

/** One sync round with every stored peer trusted `full` (global scope) from
 * this node's viewpoint: pull the feeds within the trust horizon beyond the
 * local contiguous head (admission: horizon + quotas), push own statements
 * the peer lacks; then pull from opts->directories. A failing peer is
 * recorded (last_error) and the round goes on (a failing directory counts in
 * `failed`). Returns 0 when the round ran (even with failed peers). */
int mt_node_sync_once(mt_store *s, const mt_keypair *kp, const mt_node_sync_opts *opts,
		      int64_t now, mt_node_sync_stats *stats, mt_error *err);

/** One signed request (a test and debugging helper for `mesh node request`):
 * METHOD `url` (full URL) signed with `kp` for server `server_id` (NULL:
 * learned with GET /v1/id), claiming `claim_id` (NULL: own ID), with `auth`
 * (non-NULL, non-empty) sent verbatim instead of a fresh signature (replay).
 * The header used is copied to `auth_used` (>= 256 bytes; may be NULL).
 * *status receives the HTTP status, *resp the body (malloc'd, caller frees,
 * may be NULL when resp is NULL). */
int mt_node_request(long *status, char **resp, size_t *resp_len, char *auth_used,
		    const mt_keypair *kp, const char *claim_id, const char *server_id,
		    const char *method, const char *url, const void *body, size_t body_len,
		    const char *auth, mt_error *err);

/** A peer-signed GET of `url` (a full URL on the peer) with this node's key
 * `kp`, signed for server `server_id` (the peer's Node ID, as stored by
 * mt_node_peer_add), taking at most `timeout_s` seconds in all (connect
 * included) and refusing an answer of more than `max_bytes`. *status gets
 * the HTTP status (any status is a successful call), *resp the body
 * (malloc'd, NUL-terminated, caller frees; never NULL on success) and
 * *resp_len its length (may be NULL). Errors: MT_EIO (network, timeout,
 * answer too large; message names the URL), MT_ENOMEM, MT_EINVAL. */
int mt_node_peer_get(long *status, char **resp, size_t *resp_len, const mt_keypair *kp,
		     const char *server_id, const char *url, long timeout_s, size_t max_bytes,
		     mt_error *err);

#endif
