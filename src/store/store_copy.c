/* Copying a store into another (`mesh store migrate`): on the public API
 * only, so any backend to any backend. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

struct copy {
	mt_store *dst;
	mt_error *err;
	uint64_t done, total;
	mt_progress_fn progress;
	void *pp;
	mt_stmt *st;
};

/* Each statement decoded and its signature verified again: a damaged one
 * stops the copy, naming it. */
static int copy_one(const char *iss, uint64_t seq, const char *canon, size_t len, void *payload)
{
	struct copy *c = payload;
	mt_ingest_result res;
	int rc = mt_stmt_redecode(&c->st, canon, len, INT64_MAX, c->err);
	if (rc) {
		char msg[MT_ERRMSG_MAX];
		snprintf(msg, sizeof msg, "%s", c->err ? c->err->msg : "");
		return mt_error_set(c->err, rc, "store: statement %s seq %llu does not verify: %s", iss,
				    (unsigned long long)seq, msg);
	}
	if ((rc = mt_store_ingest(c->dst, c->st, &res, c->err)))
		return rc;
	if (c->progress)
		c->progress(++c->done, c->total, c->pp);
	return 0;
}

static int copy_name(const char *name, const char *node_id, void *payload)
{
	struct copy *c = payload;
	return mt_store_name_set(c->dst, node_id, name, c->err);
}

static int copy_peer(const mt_store_peer *peer, void *payload)
{
	struct copy *c = payload;
	int rc = mt_store_peer_put(c->dst, peer->url, peer->node_id, peer->added, c->err);
	return rc ? rc
		  : mt_store_peer_synced(c->dst, peer->url, peer->last_sync, peer->last_error,
					 peer->lag, c->err);
}

static int copy_note(const char *key, const char *value, void *payload)
{
	struct copy *c = payload;
	return mt_store_note_set(c->dst, key, value, c->err);
}

static int copy_config(const char *key, const char *value, void *payload)
{
	struct copy *c = payload;
	return mt_store_config_set(c->dst, key, value, c->err);
}

int mt_store_copy(mt_store *dst, mt_store *src, uint64_t *copied, mt_progress_fn progress,
		  void *payload, mt_error *err)
{
	struct copy c = {.dst = dst, .err = err, .progress = progress, .pp = payload};
	unsigned char a[32], b[32];
	int rc = mt_store_digest(src, a, &c.total, err);
	if (rc)
		return rc;
	if ((rc = mt_store_begin(dst, err)))
		return rc;
	/* by issuer, then seq: a feed's commitment comes before its rotate */
	rc = mt_store_foreach(src, NULL, copy_one, &c, err);
	mt_stmt_free(c.st);
	if (rc) {
		mt_store_rollback(dst);
		return rc;
	}
	if ((rc = mt_store_commit(dst, err)))
		return rc;
	if ((rc = mt_store_names(src, copy_name, &c, err)) ||
	    (rc = mt_store_peers(src, copy_peer, &c, err)) ||
	    (rc = mt_store_notes(src, copy_note, &c, err)) ||
	    (rc = mt_store_configs(src, copy_config, &c, err)))
		return rc;
	if ((rc = mt_store_digest(dst, b, NULL, err)))
		return rc;
	if (copied)
		*copied = c.done;
	/* the destination may have held more; it must hold at least these */
	if (memcmp(a, b, 32) != 0) {
		uint64_t n = 0;
		mt_store_digest(dst, b, &n, NULL);
		return mt_error_set(err, MT_EIO,
				    "store: after the copy the digests differ (%llu statements "
				    "copied, the destination holds %llu)",
				    (unsigned long long)c.done, (unsigned long long)n);
	}
	return 0;
}
