/* Key events (SPEC §9.1, §9.2): the feed rules for pre-rotation.
 *
 * A feed that holds a pre-rotation `rotate` (signed by the key its `new`
 * names, which must hash to the feed's commitment) is not extended one
 * statement at a time like the others (store_feed.c): its applied chain is
 * chosen from everything it holds, each time something of it arrives.
 *
 *   - The normal prefix: seq 1.. linked by `prev`, stopped by a fork, by a
 *     `ts` lower than its predecessor's, before a pre-rotation rotate.
 *   - A rotate R is valid when its prev-chain is held back to seq 1, `ts`
 *     never decreases along it, it holds no other rotate, the first `key` on
 *     it commits to R's `new`, and it keeps every statement of the normal
 *     prefix older than R's ts − 30 days (key.maxRollback).
 *   - No valid rotate: the normal prefix applies.
 *   - Two or more valid rotates of the feed, or another feed's rotate into
 *     the same `new`: contested — the common prefix of their chains applies.
 *   - One: if `new`'s feed begins (seq 1) with a `key` whose `from` names R
 *     (and whose ts is not lower than R's), R takes effect: its chain
 *     applies, every other statement of the feed is void; if `new`'s seq 1
 *     is anything else, R has no effect (nobody rotates into an identity
 *     they did not create) and the normal prefix applies; if `new`'s seq 1 is
 *     not held yet, R's chain up to R applies and the feed is pending.
 *
 * Findings (a statement held without effect and why) go to key_notes, which
 * mt_store_verify reports. key_rotates lists the pre-rotation rotates held
 * (they passed the refusal on arrival), to find the feeds rotating into one
 * `new` and the rotate a `key`'s `from` names. Also here: the theft alarm's
 * record of what this store signed. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/encoding.h"
#include "store_int.h"

#define KEY_MAX_ROLLBACK (30 * 86400) /* key.maxRollback, SPEC §9.2 */

/* ---- the projection: key_notes, key_rotates ---------------------------------- */

static const char *const SCHEMA[] = {
	"CREATE TABLE key_notes(iss TEXT NOT NULL, seq INTEGER NOT NULL, id BLOB NOT NULL,"
	"  kind TEXT NOT NULL, detail TEXT NOT NULL, PRIMARY KEY(iss, seq, id, kind))"
	"  WITHOUT ROWID;",
	"CREATE TABLE key_rotates(id BLOB PRIMARY KEY, iss TEXT NOT NULL, new TEXT NOT NULL)"
	"  WITHOUT ROWID;",
	"CREATE INDEX key_rotates_new ON key_rotates(new);",
	"CREATE INDEX key_rotates_iss ON key_rotates(iss);",
	NULL,
};

static int keys_reset(store_sqlite *s, mt_error *err)
{
	return mt_store__run(s, "DELETE FROM key_notes", NULL, err) ||
			       mt_store__run(s, "DELETE FROM key_rotates", NULL, err)
		   ? MT_EIO
		   : 0;
}

/* key_rotates indexes held statements: an issuer's replay keeps it. */
static int keys_forget(store_sqlite *s, const char *iss, mt_error *err)
{
	return mt_store__run(s, "DELETE FROM key_notes WHERE iss=?1", iss, err);
}

static const char *const DUMP[][2] = {
	{"key_notes", "SELECT iss, seq, hex(id), kind, detail FROM key_notes ORDER BY 1,2,3,4"},
	{"key_rotates", "SELECT hex(id), iss, new FROM key_rotates ORDER BY 1"},
	{NULL, NULL},
};

const mt_projection mt_proj_keys = {
	.name = "keys",
	.schema = SCHEMA,
	.since = 5,
	.reset = keys_reset,
	.forget = keys_forget,
	.dump = DUMP,
};

static const char NOTE_PUT[] = "INSERT OR IGNORE INTO key_notes(iss,seq,id,kind,detail) "
			       "VALUES(?,?,?,?,?)";

int mt_store__key_note(store_sqlite *s, const char *iss, uint64_t seq, const unsigned char id[32],
		       const char *kind, const char *detail, mt_error *err)
{
	sqlite3_stmt *q;
	int rc = mt_store__query(s, &q, NOTE_PUT, err);
	if (rc)
		return rc;
	sqlite3_bind_text(q, 1, iss, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)seq);
	sqlite3_bind_blob(q, 3, id, 32, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 4, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, detail, -1, SQLITE_TRANSIENT);
	return mt_store__step_done(s, q, err, "writing key note");
}

/* ---- a feed in memory --------------------------------------------------------------- */

struct item {
	mt_stmt *st;
	int on_chain; /* scratch */
};

struct feedmem {
	struct item *it; /* by seq, then id (the store's order) */
	size_t n;
	size_t *by_id; /* indexes into it[], by id */
};

static void feedmem_free(struct feedmem *m)
{
	for (size_t i = 0; i < m->n; i++)
		mt_stmt_free(m->it[i].st);
	free(m->it);
	free(m->by_id);
	memset(m, 0, sizeof *m);
}

static int id_cmp_items(const struct feedmem *m, size_t a, size_t b)
{
	return memcmp(m->it[a].st->id, m->it[b].st->id, 32);
}

/* Insertion into by_id kept sorted (feeds with rotates are short-lived
 * exceptions; the load is O(n log n) through a merge below). */
static void sort_by_id(struct feedmem *m)
{
	/* bottom-up merge sort of m->by_id */
	size_t n = m->n;
	size_t *tmp = malloc((n ? n : 1) * sizeof *tmp);
	if (!tmp) { /* fall back to insertion sort: correct, slower */
		for (size_t i = 1; i < n; i++)
			for (size_t j = i; j > 0 && id_cmp_items(m, m->by_id[j - 1], m->by_id[j]) > 0;
			     j--) {
				size_t t = m->by_id[j];
				m->by_id[j] = m->by_id[j - 1];
				m->by_id[j - 1] = t;
			}
		return;
	}
	for (size_t w = 1; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t i = lo, j = mid, k = lo;
			while (i < mid && j < hi)
				tmp[k++] = id_cmp_items(m, m->by_id[i], m->by_id[j]) <= 0 ? m->by_id[i++]
											 : m->by_id[j++];
			while (i < mid)
				tmp[k++] = m->by_id[i++];
			while (j < hi)
				tmp[k++] = m->by_id[j++];
		}
		memcpy(m->by_id, tmp, n * sizeof *tmp);
	}
	free(tmp);
}

static long find_id(const struct feedmem *m, const unsigned char id[32])
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = memcmp(m->it[m->by_id[mid]].st->id, id, 32);
		if (c == 0)
			return (long)m->by_id[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int feedmem_load(store_sqlite *s, const char *iss, struct feedmem *m, mt_error *err)
{
	memset(m, 0, sizeof *m);
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT canon FROM statements WHERE iss=? ORDER BY seq, id",
			       -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "reading feed");
	sqlite3_bind_text(q, 1, iss, -1, SQLITE_STATIC);
	size_t cap = 0;
	int r, rc = 0;
	while (!rc && (r = sqlite3_step(q)) == SQLITE_ROW) {
		if (m->n == cap) {
			cap = cap ? cap * 2 : 64;
			struct item *p = realloc(m->it, cap * sizeof *p);
			if (!p) {
				rc = mt_error_set(err, MT_ENOMEM, "out of memory");
				break;
			}
			m->it = p;
		}
		mt_stmt *st = NULL;
		mt_error perr = {0};
		if (mt_stmt_parse(&st, sqlite3_column_blob(q, 0), (size_t)sqlite3_column_bytes(q, 0),
				  INT64_MAX, &perr) != 0) {
			rc = mt_error_set(err, MT_EIO, "store: stored statement unreadable: %s",
					  perr.msg);
			break;
		}
		m->it[m->n].st = st;
		m->it[m->n].on_chain = 0;
		m->n++;
	}
	if (!rc && r != SQLITE_DONE)
		rc = mt_store__err(s, err, "reading feed");
	sqlite3_finalize(q);
	if (!rc) {
		m->by_id = malloc((m->n ? m->n : 1) * sizeof *m->by_id);
		if (!m->by_id)
			rc = mt_error_set(err, MT_ENOMEM, "out of memory");
		else {
			for (size_t i = 0; i < m->n; i++)
				m->by_id[i] = i;
			sort_by_id(m);
		}
	}
	if (rc)
		feedmem_free(m);
	return rc;
}

/* ---- chains --------------------------------------------------------------------------- */

/* A chain: item indexes by seq − 1. */
struct chain {
	size_t *ix;
	size_t n;
};

static int is_key_commit(const mt_stmt *st)
{
	return st->type == MT_ST_KEY && (st->seq == 1 || !mt_stmt_str(st, "from"));
}

/* The normal prefix (see the file's comment); notes a `ts` going back. */
static int normal_prefix(store_sqlite *s, const struct feedmem *m, const struct feed *f,
			 struct chain *out, mt_error *err)
{
	out->n = 0;
	out->ix = malloc((m->n ? m->n : 1) * sizeof *out->ix);
	if (!out->ix)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	const mt_stmt *head = NULL;
	int committed = 0;
	size_t i = 0;
	for (uint64_t seq = 1;; seq++) {
		if (f->fork_seq && seq >= f->fork_seq)
			return 0;
		while (i < m->n && m->it[i].st->seq < seq)
			i++;
		long pick = -1;
		for (size_t j = i; j < m->n && m->it[j].st->seq == seq; j++) {
			const mt_stmt *st = m->it[j].st;
			int linked = seq == 1 ? !st->has_prev
					      : st->has_prev && memcmp(st->prev, head->id, 32) == 0;
			if (linked) {
				pick = (long)j; /* ordered by id: the smallest linked id wins */
				break;
			}
		}
		if (pick < 0)
			return 0;
		const mt_stmt *st = m->it[pick].st;
		if (mt_stmt_is_prerotate(st))
			return 0;
		if (head && st->ts < head->ts) {
			char d[160];
			snprintf(d, sizeof d,
				 "ts %" PRId64 " is before the ts %" PRId64 " of seq %" PRIu64
				 ": the feed stops here",
				 st->ts, head->ts, head->seq);
			return mt_store__key_note(s, st->iss, st->seq, st->id, "ts-back", d, err);
		}
		out->ix[out->n++] = (size_t)pick;
		committed |= is_key_commit(st);
		if (st->type == MT_ST_ROTATE && !committed)
			return 0; /* a legacy rotate ends a feed without commitment */
		head = st;
	}
}

/* R's chain and whether R is valid; `why`/`kind` name the reason when not. */
static int rotate_chain(const struct feedmem *m, size_t r, const struct chain *normal,
			struct chain *out, const char **kind, char *why, size_t whylen,
			mt_error *err)
{
	const mt_stmt *R = m->it[r].st;
	*kind = NULL;
	out->n = (size_t)R->seq;
	out->ix = malloc(out->n * sizeof *out->ix);
	if (!out->ix)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	size_t cur = r;
	out->ix[R->seq - 1] = r;
	while (m->it[cur].st->seq > 1) {
		const mt_stmt *c = m->it[cur].st;
		long p = c->has_prev ? find_id(m, c->prev) : -1;
		if (p < 0 || m->it[p].st->seq != c->seq - 1) {
			*kind = "rotate-chain";
			snprintf(why, whylen,
				 "its chain is not held: seq %" PRIu64 " (the prev of seq %" PRIu64
				 ") is missing",
				 c->seq - 1, c->seq);
			return 0;
		}
		const mt_stmt *ps = m->it[p].st;
		if (ps->ts > c->ts) {
			*kind = "ts-back";
			snprintf(why, whylen,
				 "its chain goes back in time: seq %" PRIu64 " has ts %" PRId64
				 " after seq %" PRIu64 "'s %" PRId64,
				 ps->seq, ps->ts, c->seq, c->ts);
			return 0;
		}
		if (ps->type == MT_ST_ROTATE) {
			*kind = "rotate-chain";
			snprintf(why, whylen,
				 "its chain holds another rotate (seq %" PRIu64
				 "): a feed rotates once",
				 ps->seq);
			return 0;
		}
		out->ix[ps->seq - 1] = (size_t)p;
		cur = (size_t)p;
	}
	if (m->it[cur].st->has_prev) {
		*kind = "rotate-chain";
		snprintf(why, whylen, "its chain's seq 1 names a prev");
		return 0;
	}
	/* The commitment: the first key on the chain. */
	const mt_stmt *commit = NULL;
	for (size_t k = 0; k + 1 < out->n && !commit; k++)
		if (is_key_commit(m->it[out->ix[k]].st))
			commit = m->it[out->ix[k]].st;
	unsigned char pk[32], h[32];
	char hex[65];
	mt_error perr = {0};
	if (mt_stmt_signer_pk(pk, R, &perr) != 0) {
		*kind = "rotate-no-commitment";
		snprintf(why, whylen, "its new key does not decode");
		return 0;
	}
	mt_blake2b256(h, pk, 32);
	mt_hex_encode(hex, sizeof hex, h, 32);
	if (!commit) {
		*kind = "rotate-no-commitment";
		snprintf(why, whylen, "no commitment (key statement) on its chain");
		return 0;
	}
	if (strcmp(hex, mt_stmt_str(commit, "next")) != 0) {
		*kind = "rotate-no-commitment";
		snprintf(why, whylen,
			 "signed by a key that is not the one committed at seq %" PRIu64,
			 commit->seq);
		return 0;
	}
	/* key.maxRollback: every statement of the feed held whose ts is more
	 * than 30 days before the rotate's is on its chain — forks and the
	 * thief's own commitment included, so a stolen identity.key cannot
	 * rewrite an established history (it can at most block a rotate by
	 * backdating a fork: destroy, never take over). */
	(void)normal;
	for (size_t k = 0; k < m->n; k++) {
		const mt_stmt *st = m->it[k].st;
		if (k == r || st->ts >= R->ts - KEY_MAX_ROLLBACK)
			continue;
		if (st->seq >= R->seq || out->ix[st->seq - 1] != k) {
			*kind = "rotate-rollback";
			snprintf(why, whylen,
				 "it would void seq %" PRIu64
				 ", more than 30 days older than the rotate (key.maxRollback)",
				 st->seq);
			break;
		}
	}
	return 0;
}

/* Apply items ix[0..n) in order. */
static int apply_list(store_sqlite *s, const struct feedmem *m, const size_t *ix, size_t n,
		      struct feed *f, mt_error *err)
{
	for (size_t k = 0; k < n; k++) {
		int rc = mt_store__apply(s, m->it[ix[k]].st, f, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* Does `new`'s feed begin with a key naming R? 1 yes, 2 yes but with a ts
 * lower than R's (that key has no effect, §9.1: R waits), 0 not held, -1 it
 * begins with something else. */
static int new_feed_state(store_sqlite *s, const mt_stmt *R, int *state, mt_error *err)
{
	*state = 0;
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT canon FROM statements WHERE iss=? AND seq=1", -1, &q,
			       NULL) != SQLITE_OK)
		return mt_store__err(s, err, "reading feed");
	sqlite3_bind_text(q, 1, mt_stmt_str(R, "new"), -1, SQLITE_TRANSIENT);
	char rid[65];
	mt_stmt_id_hex(rid, R);
	int r;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		mt_stmt *st = NULL;
		if (mt_stmt_parse(&st, sqlite3_column_blob(q, 0), (size_t)sqlite3_column_bytes(q, 0),
				  INT64_MAX, NULL) != 0)
			continue;
		const char *from = mt_stmt_str(st, "from");
		if (st->type == MT_ST_KEY && from && strcmp(from, rid) == 0)
			*state = st->ts >= R->ts ? 1 : 2;
		else if (*state == 0)
			*state = -1;
		mt_stmt_free(st);
		if (*state == 1)
			break;
	}
	sqlite3_finalize(q);
	return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : mt_store__err(s, err, "reading feed");
}

/* Another feed holds a rotate into the same `new`. */
static int rotated_into_by_other(store_sqlite *s, const mt_stmt *R, int *out, mt_error *err)
{
	*out = 0;
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM key_rotates WHERE new=? AND iss<>? LIMIT 1",
			       -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "reading rotates");
	sqlite3_bind_text(q, 1, mt_stmt_str(R, "new"), -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 2, R->iss, -1, SQLITE_TRANSIENT);
	int r = sqlite3_step(q);
	*out = r == SQLITE_ROW;
	sqlite3_finalize(q);
	return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : mt_store__err(s, err, "reading rotates");
}

int mt_store__keys_resolve(store_sqlite *s, const char *iss, struct feed *f, mt_error *err)
{
	struct feedmem m;
	int rc = feedmem_load(s, iss, &m, err);
	if (rc)
		return rc;
	/* Forget, then derive again. */
	for (size_t i = 0; !rc && i < mt_store__projection_count; i++) {
		const mt_projection *p = mt_store__projections[i];
		if (p->forget)
			rc = p->forget(s, iss, err);
	}
	f->head_seq = 0;
	f->head_ts = 0;
	memset(f->head_id, 0, 32);
	f->rotated_to[0] = '\0';
	f->commitment[0] = '\0';
	f->commit_seq = 0;
	f->kflags &= MT_KF_HAS_ROT;
	struct chain normal = {0}, *valid = NULL;
	size_t nvalid = 0;
	size_t *vr = NULL;
	if (!rc)
		rc = normal_prefix(s, &m, f, &normal, err);
	if (!rc && !(valid = calloc(m.n ? m.n : 1, sizeof *valid)))
		rc = mt_error_set(err, MT_ENOMEM, "out of memory");
	if (!rc && !(vr = calloc(m.n ? m.n : 1, sizeof *vr)))
		rc = mt_error_set(err, MT_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < m.n; i++) {
		if (!mt_stmt_is_prerotate(m.it[i].st))
			continue;
		const char *kind;
		char why[200];
		struct chain c = {0};
		rc = rotate_chain(&m, i, &normal, &c, &kind, why, sizeof why, err);
		if (!rc && kind) {
			rc = mt_store__key_note(s, iss, m.it[i].st->seq, m.it[i].st->id, kind, why,
						err);
			free(c.ix);
		} else if (!rc) {
			vr[nvalid] = i;
			valid[nvalid++] = c;
		} else {
			free(c.ix);
		}
	}
	int other = 0;
	if (!rc && nvalid == 1)
		rc = rotated_into_by_other(s, m.it[vr[0]].st, &other, err);
	if (rc) {
		/* nothing more */
	} else if (nvalid >= 2 || other) {
		/* Contested: the common prefix of the chains (without the rotates). */
		size_t common = valid[0].n - 1;
		for (size_t v = 1; v < nvalid; v++) {
			size_t k = 0, lim = valid[v].n - 1 < common ? valid[v].n - 1 : common;
			while (k < lim && valid[v].ix[k] == valid[0].ix[k])
				k++;
			common = k;
		}
		f->kflags |= MT_KF_CONTESTED;
		rc = apply_list(s, &m, valid[0].ix, common, f, err);
		for (size_t v = 0; !rc && v < nvalid; v++)
			rc = mt_store__key_note(
			    s, iss, m.it[vr[v]].st->seq, m.it[vr[v]].st->id, "contested",
			    other && nvalid == 1
				? "another identity rotates into the same new key: none takes effect"
				: "two valid rotates of one feed: none takes effect, the feed ends at "
				  "their common prefix",
			    err);
	} else if (nvalid == 1) {
		const mt_stmt *R = m.it[vr[0]].st;
		int state = 0;
		rc = new_feed_state(s, R, &state, err);
		if (!rc && state == 1) {
			rc = apply_list(s, &m, valid[0].ix, valid[0].n, f, err);
			for (size_t k = 0; k < valid[0].n; k++)
				m.it[valid[0].ix[k]].on_chain = 1;
			for (size_t i = 0; !rc && i < m.n; i++)
				if (!m.it[i].on_chain) {
					char d[160];
					snprintf(d, sizeof d,
						 "void: not on the chain the rotate at seq %" PRIu64
						 " keeps",
						 R->seq);
					rc = mt_store__key_note(s, iss, m.it[i].st->seq,
								m.it[i].st->id, "void", d, err);
				}
		} else if (!rc && (state == 0 || state == 2)) {
			f->kflags |= MT_KF_PENDING;
			rc = apply_list(s, &m, valid[0].ix, valid[0].n - 1, f, err);
			if (!rc) {
				char d[200];
				snprintf(d, sizeof d,
					 "waits for the new feed's first statement: a key naming "
					 "this rotate, from %.60s",
					 mt_stmt_str(R, "new"));
				rc = mt_store__key_note(s, iss, R->seq, R->id, "rotate-pending", d,
							err);
			}
		} else if (!rc) {
			rc = mt_store__key_note(s, iss, R->seq, R->id, "rotate-existing",
						"the new ID's feed begins with something else than a "
						"key naming this rotate: nobody rotates into an "
						"identity they did not create",
						err);
			if (!rc)
				rc = apply_list(s, &m, normal.ix, normal.n, f, err);
		}
	} else {
		rc = apply_list(s, &m, normal.ix, normal.n, f, err);
	}
	for (size_t v = 0; v < nvalid; v++)
		free(valid[v].ix);
	free(valid);
	free(vr);
	free(normal.ix);
	feedmem_free(&m);
	return rc;
}

/* ---- hooks of ingest and rebuild --------------------------------------------------- */

static int resolve_other(store_sqlite *s, const char *iss, mt_error *err)
{
	struct feed f;
	int found, rc = mt_store__feed_get(s, iss, &f, &found, err);
	if (rc)
		return rc;
	f.kflags |= MT_KF_HAS_ROT;
	if ((rc = mt_store__keys_resolve(s, iss, &f, err)))
		return rc;
	return mt_store__feed_put(s, iss, &f, err);
}

/* Distinct issuers of `sql` (one text parameter), excluding `except`. */
static int issuers_of(store_sqlite *s, const char *sql, const void *arg, int arg_blob,
		      const char *except, char (**out)[MT_NODE_ID_MAX], size_t *n, mt_error *err)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "reading rotates");
	if (arg_blob)
		sqlite3_bind_blob(q, 1, arg, 32, SQLITE_TRANSIENT);
	else
		sqlite3_bind_text(q, 1, arg, -1, SQLITE_TRANSIENT);
	int r, rc = 0;
	size_t cap = 0;
	while (!rc && (r = sqlite3_step(q)) == SQLITE_ROW) {
		const char *iss = (const char *)sqlite3_column_text(q, 0);
		if (!iss || strcmp(iss, except) == 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 4;
			char(*p)[MT_NODE_ID_MAX] = realloc(*out, cap * sizeof *p);
			if (!p) {
				rc = mt_error_set(err, MT_ENOMEM, "out of memory");
				break;
			}
			*out = p;
		}
		snprintf((*out)[(*n)++], MT_NODE_ID_MAX, "%s", iss);
	}
	if (!rc && r != SQLITE_DONE)
		rc = mt_store__err(s, err, "reading rotates");
	sqlite3_finalize(q);
	if (rc) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

int mt_store__key_older_than_rotate(store_sqlite *s, const mt_stmt *key, int *older,
				    mt_error *err)
{
	*older = 0;
	unsigned char from[32];
	const char *fx = mt_stmt_str(key, "from");
	if (!fx || mt_hex_decode(from, 32, fx, NULL) != 0)
		return 0;
	sqlite3_stmt *q;
	int rc = mt_store__query(s, &q, "SELECT ts FROM statements WHERE id=? AND type='rotate'",
				 err);
	if (rc)
		return rc;
	sqlite3_bind_blob(q, 1, from, 32, SQLITE_TRANSIENT);
	int r = sqlite3_step(q);
	if (r == SQLITE_ROW)
		*older = key->ts < sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : mt_store__err(s, err, "reading rotate");
}

/* A rotate R just arrived: if `new`'s feed begins with a key naming R whose
 * ts is lower than R's, replay `new` (the key loses its effect). */
static int replay_new_if_older(store_sqlite *s, const mt_stmt *R, mt_error *err)
{
	int state = 0, rc = new_feed_state(s, R, &state, err);
	return rc ? rc : state == 2 ? mt_store__replay(s, mt_stmt_str(R, "new"), err) : 0;
}

int mt_store__keys_after_ingest(store_sqlite *s, const mt_stmt *st, mt_error *err)
{
	char(*others)[MT_NODE_ID_MAX] = NULL;
	size_t n = 0;
	int rc = 0;
	if (mt_stmt_is_prerotate(st)) {
		sqlite3_stmt *q = NULL;
		if (sqlite3_prepare_v2(s->db,
				       "INSERT OR IGNORE INTO key_rotates(id,iss,new) VALUES(?,?,?)", -1,
				       &q, NULL) != SQLITE_OK)
			return mt_store__err(s, err, "writing rotate");
		sqlite3_bind_blob(q, 1, st->id, 32, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, st->iss, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, mt_stmt_str(st, "new"), -1, SQLITE_STATIC);
		rc = sqlite3_step(q) == SQLITE_DONE ? 0 : mt_store__err(s, err, "writing rotate");
		sqlite3_finalize(q);
		if (!rc)
			rc = issuers_of(s, "SELECT DISTINCT iss FROM key_rotates WHERE new=?",
					mt_stmt_str(st, "new"), 0, st->iss, &others, &n, err);
		if (!rc && n) /* they are contested now: this feed too */
			rc = resolve_other(s, st->iss, err);
		/* `new`'s seq 1 may be a key naming this rotate but older than it:
		 * that key has no effect (§9.1), known only now. */
		if (!rc)
			rc = replay_new_if_older(s, st, err);
	} else if (st->seq == 1) {
		/* The first statement of a feed that rotates name as their `new`
		 * decides them (a key naming one, or anything else). */
		rc = issuers_of(s, "SELECT DISTINCT iss FROM key_rotates WHERE new=?", st->iss, 0,
				st->iss, &others, &n, err);
	}
	for (size_t i = 0; !rc && i < n; i++)
		rc = resolve_other(s, others[i], err);
	free(others);
	return rc;
}

int mt_store__keys_rebuild_candidates(store_sqlite *s, mt_error *err)
{
	sqlite3_stmt *q = NULL, *w = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT canon FROM statements WHERE type='rotate'", -1, &q,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, "INSERT OR IGNORE INTO key_rotates(id,iss,new) VALUES(?,?,?)",
			       -1, &w, NULL) != SQLITE_OK) {
		sqlite3_finalize(q);
		return mt_store__err(s, err, "rebuilding rotates");
	}
	int r, rc = 0;
	while (!rc && (r = sqlite3_step(q)) == SQLITE_ROW) {
		mt_stmt *st = NULL;
		if (mt_stmt_parse(&st, sqlite3_column_blob(q, 0), (size_t)sqlite3_column_bytes(q, 0),
				  INT64_MAX, NULL) != 0)
			continue;
		if (mt_stmt_is_prerotate(st)) {
			sqlite3_reset(w);
			sqlite3_bind_blob(w, 1, st->id, 32, SQLITE_TRANSIENT);
			sqlite3_bind_text(w, 2, st->iss, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(w, 3, mt_stmt_str(st, "new"), -1, SQLITE_TRANSIENT);
			if (sqlite3_step(w) != SQLITE_DONE)
				rc = mt_store__err(s, err, "rebuilding rotates");
		}
		mt_stmt_free(st);
	}
	if (!rc && r != SQLITE_DONE)
		rc = mt_store__err(s, err, "rebuilding rotates");
	sqlite3_finalize(q);
	sqlite3_finalize(w);
	return rc;
}

int mt_store__keys_has_rot(store_sqlite *s, const char *iss, int *out, mt_error *err)
{
	sqlite3_stmt *q;
	int rc = mt_store__query(s, &q, "SELECT 1 FROM key_rotates WHERE iss=? LIMIT 1", err);
	if (rc)
		return rc;
	sqlite3_bind_text(q, 1, iss, -1, SQLITE_STATIC);
	int r = sqlite3_step(q);
	*out = r == SQLITE_ROW;
	sqlite3_reset(q);
	return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : mt_store__err(s, err, "reading rotates");
}

/* ---- public operations ----------------------------------------------------------------- */

int mt_store__sq_rotate_admissible(mt_store_backend *be, const mt_stmt *st, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	unsigned char pk[32], h[32];
	char hex[65];
	if (mt_stmt_signer_pk(pk, st, err) != 0)
		return MT_EINVAL;
	mt_blake2b256(h, pk, 32);
	mt_hex_encode(hex, sizeof hex, h, 32);
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT canon FROM statements WHERE iss=? AND type='key'", -1,
			       &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "reading commitments");
	sqlite3_bind_text(q, 1, st->iss, -1, SQLITE_TRANSIENT);
	int r, match = 0;
	while (!match && (r = sqlite3_step(q)) == SQLITE_ROW) {
		mt_stmt *k = NULL;
		if (mt_stmt_parse(&k, sqlite3_column_blob(q, 0), (size_t)sqlite3_column_bytes(q, 0),
				  INT64_MAX, NULL) == 0)
			match = strcmp(mt_stmt_str(k, "next"), hex) == 0;
		mt_stmt_free(k);
	}
	if (!match && r != SQLITE_DONE) {
		sqlite3_finalize(q);
		return mt_store__err(s, err, "reading commitments");
	}
	sqlite3_finalize(q);
	if (!match)
		return mt_error_set(err, MT_EINVAL,
				    "rotate refused: no matching commitment held (the key of new "
				    "%.60s is not committed by any key statement of %.60s held here)",
				    mt_stmt_str(st, "new"), st->iss);
	return 0;
}

static int rotation_step(store_sqlite *s, const char *sql, const char *id, char *out,
			 mt_error *err)
{
	sqlite3_stmt *q;
	int rc = mt_store__query(s, &q, sql, err);
	if (rc)
		return rc;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_TRANSIENT);
	int r = sqlite3_step(q);
	out[0] = '\0';
	if (r == SQLITE_ROW)
		snprintf(out, MT_NODE_ID_MAX, "%s", (const char *)sqlite3_column_text(q, 0));
	sqlite3_reset(q);
	return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : mt_store__err(s, err, "reading rotations");
}

static const char NEXT_OF[] = "SELECT new FROM rotations WHERE old=?";
static const char PREV_OF[] = "SELECT old FROM rotations WHERE new=?";

int mt_store__sq_newest_id(mt_store_backend *be, const char *id, char out[MT_NODE_ID_MAX],
			   mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	char cur[MT_NODE_ID_MAX], nxt[MT_NODE_ID_MAX];
	snprintf(cur, sizeof cur, "%s", id);
	for (int hops = 0; hops < 64; hops++) { /* a cycle cannot hold: bounded anyway */
		int rc = rotation_step(s, NEXT_OF, cur, nxt, err);
		if (rc)
			return rc;
		if (!nxt[0])
			break;
		memcpy(cur, nxt, sizeof cur);
	}
	snprintf(out, MT_NODE_ID_MAX, "%s", cur);
	return 0;
}

int mt_store__sq_key_status(mt_store_backend *be, const char *iss, mt_key_status *out,
			    mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	memset(out, 0, sizeof *out);
	struct feed f;
	int found, rc = mt_store__feed_get(s, iss, &f, &found, err);
	if (rc)
		return rc;
	if (found) {
		snprintf(out->commitment, sizeof out->commitment, "%s", f.commitment);
		out->commitment_seq = f.commit_seq;
		snprintf(out->rotated_to, sizeof out->rotated_to, "%s", f.rotated_to);
		out->contested = !!(f.kflags & MT_KF_CONTESTED);
		out->rotate_pending = !!(f.kflags & MT_KF_PENDING);
		out->head_seq = f.head_seq;
		out->head_ts = f.head_ts;
	}
	if ((rc = rotation_step(s, PREV_OF, iss, out->rotated_from, err)) ||
	    (rc = mt_store__sq_newest_id(be, iss, out->newest, err)))
		return rc;
	sqlite3_stmt *c = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM statements WHERE iss=?", -1, &c, NULL) !=
	    SQLITE_OK)
		return mt_store__err(s, err, "reading feed");
	sqlite3_bind_text(c, 1, iss, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(c) == SQLITE_ROW)
		out->held = (uint64_t)sqlite3_column_int64(c, 0);
	sqlite3_finalize(c);
	return 0;
}

/* The statement at (iss, seq) a rotate keeps as its last good one: the one
 * this store signed, else the applied one, else the only one. */
static int last_good_at(store_sqlite *s, const char *iss, uint64_t seq, unsigned char id[32],
			int64_t *ts, mt_error *err)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT s.id, s.ts, o.id IS NOT NULL, s.applied FROM statements s "
			       "LEFT JOIN own_signed o ON o.id=s.id WHERE s.iss=? AND s.seq=? "
			       "ORDER BY 3 DESC, 4 DESC, s.id",
			       -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "reading feed");
	sqlite3_bind_text(q, 1, iss, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)seq);
	int n = 0, best_rank = -1, ambiguous = 0, r;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		int rank = sqlite3_column_int(q, 2) * 2 + sqlite3_column_int(q, 3);
		if (n == 0) {
			memcpy(id, sqlite3_column_blob(q, 0), 32);
			*ts = sqlite3_column_int64(q, 1);
			best_rank = rank;
		} else if (rank == best_rank) {
			ambiguous = 1;
		}
		n++;
	}
	sqlite3_finalize(q);
	if (r != SQLITE_DONE)
		return mt_store__err(s, err, "reading feed");
	if (!n)
		return mt_error_set(err, MT_EINVAL, "no statement of %s at seq %" PRIu64 " is held",
				    iss, seq);
	if (ambiguous)
		return mt_error_set(err, MT_EINVAL,
				    "seq %" PRIu64 " of %s is forked and none of its statements "
				    "was signed here: choose another --last-good",
				    seq, iss);
	return 0;
}

/* Why the rotate just stored has no effect, from its key notes ("" none). */
static int rotate_note(store_sqlite *s, const mt_stmt *R, char *kind, size_t klen, char *detail,
		       size_t dlen, mt_error *err)
{
	kind[0] = detail[0] = '\0';
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT kind, detail FROM key_notes WHERE id=? AND kind NOT IN "
			       "('rotate-pending') ORDER BY kind LIMIT 1",
			       -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "reading key notes");
	sqlite3_bind_blob(q, 1, R->id, 32, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		snprintf(kind, klen, "%s", (const char *)sqlite3_column_text(q, 0));
		snprintf(detail, dlen, "%s", (const char *)sqlite3_column_text(q, 1));
	}
	sqlite3_finalize(q);
	return 0;
}

/* The first key on the prev-chain ending at statement `id` (walking back to
 * seq 1): its `next` into commitment ("" when none) and its seq. */
static int chain_commitment(store_sqlite *s, const unsigned char id[32], char commitment[65],
			    uint64_t *seq, mt_error *err)
{
	commitment[0] = '\0';
	*seq = 0;
	unsigned char cur[32];
	memcpy(cur, id, 32);
	for (;;) {
		sqlite3_stmt *q;
		int rc = mt_store__query(s, &q, "SELECT canon FROM statements WHERE id=?", err);
		if (rc)
			return rc;
		sqlite3_bind_blob(q, 1, cur, 32, SQLITE_TRANSIENT);
		mt_stmt *st = NULL;
		int r = sqlite3_step(q);
		if (r == SQLITE_ROW &&
		    mt_stmt_parse(&st, sqlite3_column_blob(q, 0), (size_t)sqlite3_column_bytes(q, 0),
				  INT64_MAX, NULL) != 0)
			st = NULL;
		sqlite3_reset(q);
		if (r != SQLITE_ROW && r != SQLITE_DONE)
			return mt_store__err(s, err, "reading feed");
		if (!st)
			return 0; /* the chain is not held further back */
		if (is_key_commit(st)) { /* keep walking: the first one counts */
			snprintf(commitment, 65, "%s", mt_stmt_str(st, "next"));
			*seq = st->seq;
		}
		int more = st->has_prev;
		if (more)
			memcpy(cur, st->prev, 32);
		mt_stmt_free(st);
		if (!more)
			return 0;
	}
}

int mt_store__sq_issue_rotate(mt_store_backend *be, mt_stmt **out, const char *old_iss,
			      const mt_keypair *next_kp, uint64_t last_good, int64_t ts,
			      mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	/* (the ingest below joins this transaction) */
	int own_tx, found, rc = mt_store__own_tx_begin(s, &own_tx, err);
	if (rc)
		return rc;
	struct feed f;
	mt_stmt *st = NULL;
	json_t *body = NULL;
	if ((rc = mt_store__feed_get(s, old_iss, &f, &found, err)))
		goto done;
	if (!found) {
		rc = mt_error_set(err, MT_EINVAL, "no statement of %s is held here", old_iss);
		goto done;
	}
	if (f.rotated_to[0]) {
		rc = mt_error_set(err, MT_EINVAL, "%s was already rotated to %s", old_iss,
				  f.rotated_to);
		goto done;
	}
	if (f.kflags & (MT_KF_PENDING | MT_KF_CONTESTED)) {
		rc = mt_error_set(err, MT_EINVAL,
				  "a rotate of %s is already held (%s): a second one would contest "
				  "it and end the identity",
				  old_iss, f.kflags & MT_KF_PENDING ? "pending" : "contested");
		goto done;
	}
	if (!last_good)
		last_good = f.head_seq;
	if (!last_good) {
		rc = mt_error_set(err, MT_EINVAL,
				  "%s has no applied statement to keep (a fork at seq 1?): give the "
				  "last good seq",
				  old_iss);
		goto done;
	}
	unsigned char prev[32];
	int64_t prev_ts = 0;
	if ((rc = last_good_at(s, old_iss, last_good, prev, &prev_ts, err)))
		goto done;
	/* The commitment is the first key on the chain the rotate keeps (it
	 * wins every fork of the feed, even one at seq 1). */
	char commitment[65];
	uint64_t commit_seq = 0;
	if ((rc = chain_commitment(s, prev, commitment, &commit_seq, err)))
		goto done;
	if (!commitment[0]) {
		rc = mt_error_set(err, MT_EINVAL,
				  "%s has no commitment (no key statement on its chain up to seq "
				  "%" PRIu64 "): only a committed next key can rotate it",
				  old_iss, last_good);
		goto done;
	}
	unsigned char h[32];
	char hex[65], newid[MT_NODE_ID_MAX];
	mt_blake2b256(h, next_kp->pk, 32);
	mt_hex_encode(hex, sizeof hex, h, 32);
	mt_node_id_encode(newid, next_kp->pk);
	if (strcmp(hex, commitment) != 0) {
		rc = mt_error_set(err, MT_EINVAL,
				  "the key given (%s) is not the next key committed at seq %" PRIu64
				  " of %s: refusing to rotate",
				  newid, commit_seq, old_iss);
		goto done;
	}
	if (ts < prev_ts)
		ts = prev_ts;
	body = json_pack("{s:s,s:s}", "type", "rotate", "new", newid);
	if (!body) {
		rc = mt_error_set(err, MT_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = mt_stmt_sign_for(&st, body, old_iss, next_kp, last_good + 1, prev, ts, err)))
		goto done;
	mt_ingest_result res;
	if ((rc = mt_store__sq_ingest(be, st, &res, err)) ||
	    (rc = mt_store__own_mark(s, st->id, err)))
		goto done;
	char kind[32], detail[256];
	if ((rc = rotate_note(s, st, kind, sizeof kind, detail, sizeof detail, err)))
		goto done;
	if (kind[0])
		rc = mt_error_set(err, MT_EINVAL, "the rotate would have no effect (%s): %s", kind,
				  detail);
done:
	json_decref(body);
	rc = mt_store__own_tx_end(s, own_tx, rc, err);
	if (rc || !out)
		mt_stmt_free(st);
	else
		*out = st;
	return rc;
}

int mt_store__sq_rotation_links(mt_store_backend *be, mt_rotation_visit_fn fn, void *payload,
				mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT old, new, 1 FROM rotations UNION ALL "
			       "SELECT iss, new, 0 FROM key_rotates k WHERE NOT EXISTS "
			       "(SELECT 1 FROM rotations r WHERE r.stmt = k.id) ORDER BY 1, 2",
			       -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "reading rotations");
	int r, rc = 0;
	while (!rc && (r = sqlite3_step(q)) == SQLITE_ROW)
		rc = fn((const char *)sqlite3_column_text(q, 0),
			(const char *)sqlite3_column_text(q, 1), sqlite3_column_int(q, 2), payload);
	if (!rc && r != SQLITE_DONE)
		rc = mt_store__err(s, err, "reading rotations");
	sqlite3_finalize(q);
	return rc;
}

int mt_store__sq_seen(mt_store_backend *be, const unsigned char id[32], int64_t *out,
		      mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	sqlite3_stmt *q;
	int rc = mt_store__query(s, &q, "SELECT seen, ts FROM statements WHERE id=?", err);
	if (rc)
		return rc;
	sqlite3_bind_blob(q, 1, id, 32, SQLITE_TRANSIENT);
	int r = sqlite3_step(q);
	if (r == SQLITE_ROW)
		*out = sqlite3_column_type(q, 0) == SQLITE_NULL ? sqlite3_column_int64(q, 1)
								 : sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if (r == SQLITE_DONE)
		return mt_error_set(err, MT_ENOTFOUND, "store: no such statement");
	return r == SQLITE_ROW ? 0 : mt_store__err(s, err, "reading first-seen time");
}

/* ---- the theft alarm ------------------------------------------------------------------ */

int mt_store__own_mark(store_sqlite *s, const unsigned char id[32], mt_error *err)
{
	sqlite3_stmt *q;
	int rc = mt_store__query(s, &q, "INSERT OR IGNORE INTO own_signed(id) VALUES(?)", err);
	if (rc)
		return rc;
	sqlite3_bind_blob(q, 1, id, 32, SQLITE_TRANSIENT);
	return mt_store__step_done(s, q, err, "recording own statement");
}

int mt_store__sq_own_adopt(mt_store_backend *be, const char *own_id, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	int rc = mt_store__run(s,
			       "INSERT OR IGNORE INTO own_signed(id) SELECT id FROM statements "
			       "WHERE iss=?1",
			       own_id, err);
	if (!rc)
		rc = mt_store__run(s, "INSERT OR IGNORE INTO own_adopted(iss) VALUES(?1)", own_id,
				   err);
	return rc;
}

int mt_store__sq_own_foreign(mt_store_backend *be, const char *own_id, mt_own_visit_fn fn,
			     void *payload, uint64_t *count, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM own_adopted WHERE iss=?", -1, &q, NULL) !=
	    SQLITE_OK)
		return mt_store__err(s, err, "reading own statements");
	sqlite3_bind_text(q, 1, own_id, -1, SQLITE_TRANSIENT);
	int adopted = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_finalize(q);
	int rc;
	if (!adopted) {
		/* A store that has no record of what it signed for `own_id` (made
		 * before this rule, or a restored home) adopts what it holds now;
		 * one that signed some of it compares from the start. */
		int recorded = 0;
		if (sqlite3_prepare_v2(s->db,
				       "SELECT 1 FROM statements t JOIN own_signed o ON o.id=t.id "
				       "WHERE t.iss=? LIMIT 1",
				       -1, &q, NULL) != SQLITE_OK)
			return mt_store__err(s, err, "reading own statements");
		sqlite3_bind_text(q, 1, own_id, -1, SQLITE_TRANSIENT);
		recorded = sqlite3_step(q) == SQLITE_ROW;
		sqlite3_finalize(q);
		rc = recorded ? mt_store__run(s, "INSERT OR IGNORE INTO own_adopted(iss) VALUES(?1)",
					      own_id, err)
			      : mt_store__sq_own_adopt(be, own_id, err);
		if (rc)
			return rc;
	}
	if (sqlite3_prepare_v2(s->db,
			       "SELECT seq, id FROM statements WHERE iss=? AND id NOT IN "
			       "(SELECT id FROM own_signed) ORDER BY seq, id",
			       -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "reading own statements");
	sqlite3_bind_text(q, 1, own_id, -1, SQLITE_TRANSIENT);
	int r;
	rc = 0;
	uint64_t n = 0;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		n++;
		if (fn && !rc)
			rc = fn((uint64_t)sqlite3_column_int64(q, 0), sqlite3_column_blob(q, 1),
				payload);
	}
	if (r != SQLITE_DONE && !rc)
		rc = mt_store__err(s, err, "reading own statements");
	sqlite3_finalize(q);
	if (count)
		*count = n;
	return rc;
}
