/* The feed rules (SPEC §2 Feeds, Equivocation): which held statements take
 * effect and in what order. Per issuer, the longest prefix seq 1..k whose
 * `prev` links verify, stopped by a fork or a rotation; every statement of
 * that prefix is handed, in seq order, to the projections that consume its
 * type (store_int.h). Also: the feed-row cache, ingest, issue, rebuild. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meshtrust/canon.h"
#include "store_int.h"

/* ---- the feed rules' own derived state, as rows of the table ------------- */

static int feeds_reset(store_sqlite *s, mt_error *err)
{
	return mt_store__exec(s, "DELETE FROM feeds; DELETE FROM forks;", err);
}

static const char *const FEEDS_DUMP[][2] = {
	{"feeds", "SELECT iss, head_seq, hex(head_id), fork_seq, rotated_to, max_seq, head_ts, "
		  "commitment, commit_seq, kflags FROM feeds ORDER BY iss"},
	{"forks", "SELECT iss, seq, hex(id_a), hex(id_b) FROM forks ORDER BY 1,2,3,4"},
	{NULL, NULL},
};

/* Feeds and forks: kept by the code below (not per type), their tables in
 * the core schema. A fork replay keeps the feed's row (it is rewritten). */
const mt_projection mt_proj_feeds = {
	.name = "feeds",
	.since = 1,
	.reset = feeds_reset,
	.dump = FEEDS_DUMP,
};

static int applied_reset(store_sqlite *s, mt_error *err)
{
	return mt_store__run(s, "UPDATE statements SET applied=0 WHERE applied<>0", NULL, err);
}

static int applied_forget(store_sqlite *s, const char *iss, mt_error *err)
{
	return mt_store__run(s, "UPDATE statements SET applied=0 WHERE iss=?1", iss, err);
}

static const char *const APPLIED_DUMP[][2] = {
	{"applied", "SELECT hex(id) FROM statements WHERE applied=1 ORDER BY 1"},
	{NULL, NULL},
};

/* statements.applied: the mark of "inside its issuer's valid prefix", which
 * others read as the effective set (pot, edges at T). */
const mt_projection mt_proj_applied = {
	.name = "applied",
	.since = 1,
	.reset = applied_reset,
	.forget = applied_forget,
	.dump = APPLIED_DUMP,
};

int mt_store__index_projections(store_sqlite *s, mt_error *err)
{
	size_t fill[MT_ST__COUNT] = {0};
	for (size_t i = 0; i < mt_store__projection_count; i++) {
		const mt_projection *p = mt_store__projections[i];
		if (p->schema && (p->since < 1 || p->since > MT_STORE_SCHEMA))
			return mt_error_set(err, MT_EINVAL,
					    "store: projection %s: since %d is outside 1..%d "
					    "(bump MT_STORE_SCHEMA)",
					    p->name, p->since, MT_STORE_SCHEMA);
		if (p->types && !p->apply)
			return mt_error_set(err, MT_EINVAL, "store: projection %s has no apply",
					    p->name);
		for (const char *const *t = p->types; t && *t; t++) {
			mt_stmt_type type;
			if (mt_stmt_type_parse(&type, *t) != 0)
				return mt_error_set(err, MT_EINVAL,
						    "store: projection %s: unknown type %s",
						    p->name, *t);
			if (fill[type] == MT_STORE_PROJ_PER_TYPE)
				return mt_error_set(err, MT_EINVAL,
						    "store: more than %d projections consume %s",
						    MT_STORE_PROJ_PER_TYPE, *t);
			s->by_type[type][fill[type]++] = p;
		}
	}
	return 0;
}

/* ---- the feed-row cache ------------------------------------------------------ */

static int feed_write(store_sqlite *s, const char *iss, const struct feed *f, mt_error *err)
{
	sqlite3_stmt *q = mt_store__Q(s, Q_FEED_PUT);
	sqlite3_bind_text(q, 1, iss, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)f->head_seq);
	if (f->head_seq)
		sqlite3_bind_blob(q, 3, f->head_id, 32, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)f->fork_seq);
	if (f->rotated_to[0])
		sqlite3_bind_text(q, 5, f->rotated_to, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 6, (sqlite3_int64)f->max_seq);
	sqlite3_bind_int64(q, 7, f->head_ts);
	if (f->commitment[0])
		sqlite3_bind_text(q, 8, f->commitment, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 9, (sqlite3_int64)f->commit_seq);
	sqlite3_bind_int(q, 10, f->kflags);
	return mt_store__step_done(s, q, err, "writing feed");
}

/* Write the cached feed's row, if it changed. */
int mt_store__feed_flush(store_sqlite *s, mt_error *err)
{
	if (!s->fc.valid || !s->fc.dirty)
		return 0;
	int rc = feed_write(s, s->fc.iss, &s->fc.f, err);
	if (!rc)
		s->fc.dirty = 0;
	return rc;
}

/* Make `iss`'s row the cached one, when inside a transaction; returns
 * whether it is cached (else the cache is left empty). */
static int fc_keep(store_sqlite *s, const char *iss, const struct feed *f, int found, int dirty)
{
	size_t n = strlen(iss);
	s->fc.valid = !sqlite3_get_autocommit(s->db) && n < sizeof s->fc.iss;
	if (s->fc.valid) {
		memcpy(s->fc.iss, iss, n + 1);
		s->fc.f = *f;
		s->fc.found = found;
		s->fc.dirty = dirty;
	}
	return s->fc.valid;
}

int mt_store__feed_get(store_sqlite *s, const char *iss, struct feed *f, int *found, mt_error *err)
{
	if (s->fc.valid && strcmp(s->fc.iss, iss) == 0) {
		*f = s->fc.f;
		*found = s->fc.found;
		return 0;
	}
	int rc = mt_store__feed_flush(s, err);
	if (rc)
		return rc;
	s->fc.valid = 0;
	memset(f, 0, sizeof *f);
	*found = 0;
	sqlite3_stmt *q = mt_store__Q(s, Q_FEED_GET);
	sqlite3_bind_text(q, 1, iss, -1, SQLITE_STATIC);
	int r = sqlite3_step(q);
	if (r == SQLITE_ROW) {
		*found = 1;
		f->head_seq = (uint64_t)sqlite3_column_int64(q, 0);
		if (sqlite3_column_bytes(q, 1) == 32)
			memcpy(f->head_id, sqlite3_column_blob(q, 1), 32);
		f->fork_seq = (uint64_t)sqlite3_column_int64(q, 2);
		const unsigned char *rot = sqlite3_column_text(q, 3);
		if (rot)
			snprintf(f->rotated_to, sizeof f->rotated_to, "%s", (const char *)rot);
		f->max_seq = (uint64_t)sqlite3_column_int64(q, 4);
		f->head_ts = sqlite3_column_int64(q, 5);
		const unsigned char *c = sqlite3_column_text(q, 6);
		if (c)
			snprintf(f->commitment, sizeof f->commitment, "%s", (const char *)c);
		f->commit_seq = (uint64_t)sqlite3_column_int64(q, 7);
		f->kflags = sqlite3_column_int(q, 8);
	} else if (r != SQLITE_DONE) {
		return mt_store__err(s, err, "reading feed");
	}
	sqlite3_reset(q);
	fc_keep(s, iss, f, *found, 0);
	return 0;
}

int mt_store__feed_put(store_sqlite *s, const char *iss, const struct feed *f, mt_error *err)
{
	if (s->fc.valid && strcmp(s->fc.iss, iss) != 0) {
		int rc = mt_store__feed_flush(s, err); /* another feed's row first */
		if (rc)
			return rc;
	}
	if (fc_keep(s, iss, f, 1, 1))
		return 0;
	return feed_write(s, iss, f, err);
}

/* ---- apply order ------------------------------------------------------------------ */

/* Hand one statement of the valid prefix to the projections consuming its
 * type, and advance the feed's head (the caller marks it applied). The key
 * events are feed rules, kept here (SPEC §9.2): the first `key` on the chain
 * is the feed's commitment, a later one has no effect; a rotate ends its
 * feed — a legacy (two-signature) one only while the feed has no
 * commitment; a pre-rotation one reaches here only through
 * mt_store__keys_resolve, once it takes effect. */
static int apply_effects(store_sqlite *s, const mt_stmt *st, struct feed *f, mt_error *err)
{
	int effect = 1, rc = 0, older = 0;
	if (st->type == MT_ST_KEY) {
		const char *from = mt_stmt_str(st, "from");
		if (f->commitment[0])
			rc = mt_store__key_note(s, st->iss, st->seq, st->id, "second-key",
						"a second key statement: the commitment stays the "
						"first one's",
						err);
		else if (from && st->seq != 1)
			rc = mt_store__key_note(s, st->iss, st->seq, st->id, "key-from",
						"a key naming a rotate (from) is only valid as "
						"seq 1 of the new feed",
						err);
		else if (from && (rc = mt_store__key_older_than_rotate(s, st, &older, err)) == 0 &&
			 older)
			rc = mt_store__key_note(s, st->iss, st->seq, st->id, "key-from",
						"its ts is before the ts of the rotate it names: "
						"no effect",
						err);
		else if (!rc) {
			snprintf(f->commitment, sizeof f->commitment, "%s", mt_stmt_str(st, "next"));
			f->commit_seq = st->seq;
		}
	} else if (st->type == MT_ST_ROTATE && !mt_stmt_is_prerotate(st) && f->commitment[0]) {
		effect = 0;
		rc = mt_store__key_note(s, st->iss, st->seq, st->id, "rotate-legacy",
					"a rotate signed by the old key, but the feed has a "
					"commitment: only the committed key can rotate it",
					err);
	}
	for (const mt_projection *const *p = s->by_type[st->type]; !rc && effect && *p; p++)
		rc = (*p)->apply(s, st, err);
	if (rc)
		return rc;
	if (st->type == MT_ST_ROTATE && effect)
		snprintf(f->rotated_to, sizeof f->rotated_to, "%s", mt_stmt_str(st, "new"));
	f->head_seq = st->seq;
	f->head_ts = st->ts;
	memcpy(f->head_id, st->id, 32);
	return 0;
}

/* Apply one statement of the valid prefix and mark it applied. */
int mt_store__apply(store_sqlite *s, const mt_stmt *st, struct feed *f, mt_error *err)
{
	int rc = apply_effects(s, st, f, err);
	if (rc)
		return rc;
	sqlite3_stmt *q = mt_store__Q(s, Q_SET_APPLIED);
	sqlite3_bind_blob(q, 1, st->id, 32, SQLITE_STATIC);
	return mt_store__step_done(s, q, err, "marking statement");
}

int mt_store__same_body(const char *a, size_t alen, const char *b, size_t blen)
{
	json_t *ja = NULL, *jb = NULL;
	int same = 0;
	if (mt_canon_parse(&ja, a, alen, NULL) == 0 && mt_canon_parse(&jb, b, blen, NULL) == 0) {
		json_object_del(ja, "sig");
		json_object_del(jb, "sig");
		same = json_equal(ja, jb);
	}
	json_decref(ja);
	json_decref(jb);
	return same;
}

/* Extend the issuer's applied prefix as far as the held statements allow. */
static int advance(store_sqlite *s, const char *iss, struct feed *f, mt_error *err)
{
	for (;;) {
		uint64_t next = f->head_seq + 1;
		if ((f->fork_seq && next >= f->fork_seq) || f->rotated_to[0])
			return 0;
		sqlite3_stmt *q = mt_store__Q(s, Q_AT_SEQ);
		sqlite3_bind_text(q, 1, iss, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, (sqlite3_int64)next);
		mt_stmt *pick = NULL;
		int r;
		while ((r = sqlite3_step(q)) == SQLITE_ROW) {
			const void *prev = sqlite3_column_blob(q, 2);
			int linked = next == 1 ? prev == NULL
					       : (prev && sqlite3_column_bytes(q, 2) == 32 &&
						  memcmp(prev, f->head_id, 32) == 0);
			if (!linked)
				continue;
			mt_error perr = {0};
			if (mt_stmt_parse(&pick, sqlite3_column_blob(q, 1),
					  (size_t)sqlite3_column_bytes(q, 1), INT64_MAX, &perr) != 0) {
				sqlite3_reset(q);
				return mt_error_set(err, MT_EIO, "store: stored statement unreadable: %s",
						    perr.msg);
			}
			break; /* ordered by id: the smallest linked id wins */
		}
		sqlite3_reset(q);
		if (r != SQLITE_ROW && r != SQLITE_DONE)
			return mt_store__err(s, err, "reading feed");
		if (!pick)
			return 0;
		if (mt_stmt_is_prerotate(pick)) { /* mt_store__keys_resolve decides */
			mt_stmt_free(pick);
			return 0;
		}
		if (next > 1 && pick->ts < f->head_ts) { /* SPEC §9.1: feed time never goes back */
			char d[160];
			snprintf(d, sizeof d,
				 "ts %" PRId64 " is before the ts %" PRId64
				 " of seq %" PRIu64 ": the feed stops here",
				 pick->ts, f->head_ts, f->head_seq);
			int rc = mt_store__key_note(s, iss, pick->seq, pick->id, "ts-back", d, err);
			mt_stmt_free(pick);
			return rc;
		}
		int rc = mt_store__apply(s, pick, f, err);
		mt_stmt_free(pick);
		if (rc)
			return rc;
	}
}

/* Forget the issuer's derived state (every projection's forget) and replay
 * its valid prefix. */
static int replay_issuer(store_sqlite *s, const char *iss, struct feed *f, mt_error *err)
{
	for (size_t i = 0; i < mt_store__projection_count; i++) {
		const mt_projection *p = mt_store__projections[i];
		int rc = p->forget ? p->forget(s, iss, err) : 0;
		if (rc)
			return rc;
	}
	f->head_seq = 0;
	f->head_ts = 0;
	memset(f->head_id, 0, 32);
	f->rotated_to[0] = '\0';
	f->commitment[0] = '\0';
	f->commit_seq = 0;
	return advance(s, iss, f, err);
}

int mt_store__replay(store_sqlite *s, const char *iss, mt_error *err)
{
	struct feed f;
	int found, rc = mt_store__feed_get(s, iss, &f, &found, err);
	if (rc || !found)
		return rc;
	if (f.kflags & MT_KF_HAS_ROT)
		rc = mt_store__keys_resolve(s, iss, &f, err);
	else
		rc = replay_issuer(s, iss, &f, err);
	return rc ? rc : mt_store__feed_put(s, iss, &f, err);
}

/* Record forks between `st` and other held statements at its (iss, seq).
 * Sets *forked when at least one exists. */
static int detect_fork(store_sqlite *s, const char *iss, uint64_t seq, const unsigned char id[32],
		       const char *canon, size_t len, int *forked, mt_error *err)
{
	*forked = 0;
	sqlite3_stmt *q = mt_store__Q(s, Q_SAME_SEQ);
	sqlite3_bind_text(q, 1, iss, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)seq);
	sqlite3_bind_blob(q, 3, id, 32, SQLITE_TRANSIENT);
	unsigned char others[16][32];
	int n = 0, r;
	while ((r = sqlite3_step(q)) == SQLITE_ROW && n < 16) {
		if (!mt_store__same_body(canon, len, sqlite3_column_blob(q, 1),
					 (size_t)sqlite3_column_bytes(q, 1)))
			memcpy(others[n++], sqlite3_column_blob(q, 0), 32);
	}
	sqlite3_reset(q);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return mt_store__err(s, err, "checking forks");
	for (int i = 0; i < n; i++) {
		const unsigned char *a = memcmp(id, others[i], 32) < 0 ? id : others[i];
		const unsigned char *b = a == id ? others[i] : id;
		sqlite3_stmt *w = mt_store__Q(s, Q_FORK_PUT);
		sqlite3_bind_text(w, 1, iss, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(w, 2, (sqlite3_int64)seq);
		sqlite3_bind_blob(w, 3, a, 32, SQLITE_TRANSIENT);
		sqlite3_bind_blob(w, 4, b, 32, SQLITE_TRANSIENT);
		int rc = mt_store__step_done(s, w, err, "recording fork");
		if (rc)
			return rc;
		*forked = 1;
	}
	return 0;
}

/* ---- ingest and issue ------------------------------------------------------------ */

/* Store `st` and bring its issuer's derived state up to date.
 *
 * Common case (in-order arrival): seq is above every seq held for the issuer,
 * so no fork is possible and no successor is held; the statement is inserted
 * already marked applied and its effects written: four SQL statements.
 * Otherwise the general path probes for forks and pulls held successors. */
static int ingest_locked(store_sqlite *s, const mt_stmt *st, mt_ingest_result *result,
			 mt_error *err)
{
	struct feed f;
	int found, forked = 0, rc;
	const char *iss = st->iss;
	uint64_t seq = st->seq;
	if ((rc = mt_store__feed_get(s, iss, &f, &found, err)))
		return rc;
	int may_fork = seq <= f.max_seq;
	int linked = seq == 1 ? !st->has_prev : st->has_prev && memcmp(st->prev, f.head_id, 32) == 0;
	int blocked = (f.fork_seq && seq >= f.fork_seq) || f.rotated_to[0] ||
		      (f.kflags & MT_KF_HAS_ROT) || mt_stmt_is_prerotate(st) ||
		      (seq > 1 && st->ts < f.head_ts);
	int apply_now = !may_fork && seq == f.head_seq + 1 && linked && !blocked;
	if (mt_stmt_is_prerotate(st) && (rc = mt_store__sq_rotate_admissible(&s->be, st, err)))
		return rc; /* SPEC §9.2: refused on arrival, never stored */

	sqlite3_stmt *q = mt_store__Q(s, Q_INSERT);
	sqlite3_bind_blob(q, 1, st->id, 32, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, iss, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)seq);
	sqlite3_bind_int64(q, 4, st->ts);
	sqlite3_bind_text(q, 5, mt_stmt_type_name(st->type), -1, SQLITE_STATIC);
	if (st->has_prev)
		sqlite3_bind_blob(q, 6, st->prev, 32, SQLITE_STATIC);
	sqlite3_bind_blob(q, 7, st->canon, (int)st->canon_len, SQLITE_STATIC);
	sqlite3_bind_int(q, 8, apply_now);
	/* first seen here (local, never derived from): the wall clock, or the
	 * statement's own ts when that is later (a clock behind, or tests) */
	int64_t seen = (int64_t)time(NULL);
	sqlite3_bind_int64(q, 9, seen > st->ts ? seen : st->ts);
	if ((rc = mt_store__step_done(s, q, err, "storing statement")))
		return rc;
	if (sqlite3_changes(s->db) == 0) {
		*result = MT_INGEST_DUPLICATE;
		return 0;
	}
	*result = MT_INGEST_ACCEPTED;
	if (may_fork &&
	    (rc = detect_fork(s, iss, seq, st->id, st->canon, st->canon_len, &forked, err)))
		return rc;
	if (mt_stmt_is_prerotate(st))
		f.kflags |= MT_KF_HAS_ROT;
	if (f.kflags & MT_KF_HAS_ROT) {
		/* A feed holding a pre-rotation rotate: its chain is chosen from
		 * all it holds (store_keys.c). */
		if (forked && (!f.fork_seq || seq < f.fork_seq))
			f.fork_seq = seq;
		if (seq > f.max_seq)
			f.max_seq = seq;
		if ((rc = mt_store__keys_resolve(s, iss, &f, err)) ||
		    (rc = mt_store__feed_put(s, iss, &f, err)))
			return rc;
		return mt_store__keys_after_ingest(s, st, err);
	}
	if (forked && (!f.fork_seq || seq < f.fork_seq)) {
		f.fork_seq = seq;
		/* The prefix never reaches a forked seq: a `ts` going back noted
		 * there (or above) no longer stops it. */
		sqlite3_stmt *dq;
		if (!(rc = mt_store__query(s, &dq,
					   "DELETE FROM key_notes WHERE iss=? AND seq>=? AND "
					   "kind='ts-back'",
					   err))) {
			sqlite3_bind_text(dq, 1, iss, -1, SQLITE_STATIC);
			sqlite3_bind_int64(dq, 2, (sqlite3_int64)seq);
			rc = mt_store__step_done(s, dq, err, "updating key notes");
		}
		if (!rc && seq <= f.head_seq)
			rc = replay_issuer(s, iss, &f, err);
	} else if (apply_now) {
		rc = apply_effects(s, st, &f, err);
	} else if (seq == f.head_seq + 1 && linked && !blocked && !forked) {
		rc = mt_store__apply(s, st, &f, err);
	}
	if (!rc && (f.max_seq > f.head_seq || seq > f.head_seq))
		rc = advance(s, iss, &f, err); /* pull held successors, if any */
	if (rc)
		return rc;
	if (seq > f.max_seq)
		f.max_seq = seq;
	if ((rc = mt_store__feed_put(s, iss, &f, err)))
		return rc;
	return st->seq == 1 ? mt_store__keys_after_ingest(s, st, err) : 0;
}

int mt_store__sq_ingest(mt_store_backend *be, const mt_stmt *st, mt_ingest_result *result,
			mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	int own, rc = mt_store__own_tx_begin(s, &own, err);
	if (rc)
		return rc;
	return mt_store__own_tx_end(s, own, ingest_locked(s, st, result, err), err);
}

int mt_store__sq_issue(mt_store_backend *be, mt_stmt **out, const json_t *body,
		       const mt_keypair *kp, int64_t ts, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	char iss[MT_NODE_ID_MAX];
	mt_node_id_encode(iss, kp->pk);
	int own_tx, found, rc = mt_store__own_tx_begin(s, &own_tx, err);
	if (rc)
		return rc;
	struct feed f;
	mt_stmt *st = NULL;
	if ((rc = mt_store__feed_get(s, iss, &f, &found, err)))
		goto done;
	if (f.fork_seq) {
		rc = mt_error_set(err, MT_EFORK,
				  "your own feed is forked at seq %" PRIu64
				  " (the key was used elsewhere); refusing to issue",
				  f.fork_seq);
		goto done;
	}
	if (f.rotated_to[0]) {
		rc = mt_error_set(err, MT_EINVAL, "this key was rotated to %s; use the new key",
				  f.rotated_to);
		goto done;
	}
	if (f.kflags & (MT_KF_CONTESTED | MT_KF_PENDING)) {
		rc = mt_error_set(err, MT_EINVAL,
				  f.kflags & MT_KF_CONTESTED
				      ? "your own feed is contested (two rotates of it); refusing "
					"to issue — see `mesh key status`"
				      : "a rotate of your own feed is pending (its new feed's key "
					"statement is missing); refusing to issue with the old key");
		goto done;
	}
	/* SPEC §9.1: ts never decreases along a feed; the issuer's clock may be
	 * behind its own head by at most 300 s. */
	if (f.head_seq && ts < f.head_ts) {
		if (f.head_ts - ts > MT_STMT_MAX_SKEW) {
			rc = mt_error_set(err, MT_EINVAL,
					  "your feed's head has ts %" PRId64
					  ", %" PRId64 " s ahead of this clock (%" PRId64
					  "); check the clock (max %d s)",
					  f.head_ts, f.head_ts - ts, ts, MT_STMT_MAX_SKEW);
			goto done;
		}
		ts = f.head_ts;
	}
	sqlite3_stmt *q = mt_store__Q(s, Q_MAXSEQ);
	sqlite3_bind_text(q, 1, iss, -1, SQLITE_STATIC);
	uint64_t max = sqlite3_step(q) == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(q, 0) : 0;
	sqlite3_reset(q);
	if (max > f.head_seq) {
		rc = mt_error_set(err, MT_EINVAL,
				  "your own feed holds seq %" PRIu64 " beyond its verified head %" PRIu64
				  "; run `mesh log verify`",
				  max, f.head_seq);
		goto done;
	}
	if ((rc = mt_stmt_sign(&st, body, kp, f.head_seq + 1, f.head_seq ? f.head_id : NULL, ts,
			       err)))
		goto done;
	mt_ingest_result res;
	if (!(rc = ingest_locked(s, st, &res, err)))
		rc = mt_store__own_mark(s, st->id, err);
done:
	rc = mt_store__own_tx_end(s, own_tx, rc, err);
	if (rc || !out)
		mt_stmt_free(st);
	else
		*out = st;
	return rc;
}

/* ---- rebuild ------------------------------------------------------------------------ */

int mt_store__sq_rebuild(mt_store_backend *be, mt_progress_fn progress, void *payload,
			 mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	int rc;
	if ((rc = mt_store__exec(s, "BEGIN IMMEDIATE", err)))
		return rc;
	for (size_t i = 0; i < mt_store__projection_count; i++) {
		const mt_projection *p = mt_store__projections[i];
		if (p->reset && (rc = p->reset(s, err)))
			goto fail;
	}
	/* Forks first: every pair at one (iss, seq) with different bodies. */
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT a.iss, a.seq, a.id, a.canon FROM statements a WHERE EXISTS "
			       "(SELECT 1 FROM statements b WHERE b.iss=a.iss AND b.seq=a.seq AND "
			       "b.id<>a.id) ORDER BY a.iss, a.seq, a.id",
			       -1, &q, NULL) != SQLITE_OK) {
		rc = mt_store__err(s, err, "rebuilding");
		goto fail;
	}
	int r;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		int forked;
		const char *iss = (const char *)sqlite3_column_text(q, 0);
		uint64_t seq = (uint64_t)sqlite3_column_int64(q, 1);
		if ((rc = detect_fork(s, iss, seq, sqlite3_column_blob(q, 2),
				      sqlite3_column_blob(q, 3), (size_t)sqlite3_column_bytes(q, 3),
				      &forked, err)))
			break;
	}
	sqlite3_finalize(q);
	if (rc)
		goto fail;
	if ((rc = mt_store__keys_rebuild_candidates(s, err)))
		goto fail;
	/* Then every feed from seq 1, stopping at its first fork (a feed holding
	 * a pre-rotation rotate: its chain, store_keys.c). */
	if (sqlite3_prepare_v2(s->db,
			       "SELECT s.iss, count(*), (SELECT min(seq) FROM forks f WHERE "
			       "f.iss=s.iss), max(s.seq) FROM statements s GROUP BY s.iss "
			       "ORDER BY s.iss",
			       -1, &q, NULL) != SQLITE_OK) {
		rc = mt_store__err(s, err, "rebuilding");
		goto fail;
	}
	uint64_t done = 0, total = 0;
	{
		sqlite3_stmt *c = NULL;
		if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM statements", -1, &c, NULL) ==
			    SQLITE_OK &&
		    sqlite3_step(c) == SQLITE_ROW)
			total = (uint64_t)sqlite3_column_int64(c, 0);
		sqlite3_finalize(c);
	}
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		struct feed f;
		memset(&f, 0, sizeof f);
		char iss[MT_NODE_ID_MAX];
		snprintf(iss, sizeof iss, "%s", (const char *)sqlite3_column_text(q, 0));
		f.fork_seq = (uint64_t)sqlite3_column_int64(q, 2);
		f.max_seq = (uint64_t)sqlite3_column_int64(q, 3);
		int has_rot = 0;
		if ((rc = mt_store__keys_has_rot(s, iss, &has_rot, err)))
			break;
		if (has_rot)
			f.kflags |= MT_KF_HAS_ROT;
		if ((rc = has_rot ? mt_store__keys_resolve(s, iss, &f, err) : advance(s, iss, &f, err)) ||
		    (rc = mt_store__feed_put(s, iss, &f, err)))
			break;
		done += (uint64_t)sqlite3_column_int64(q, 1);
		if (progress)
			progress(done, total, payload);
	}
	sqlite3_finalize(q);
	if (rc)
		goto fail;
	return mt_store__exec(s, "COMMIT", err);
fail:
	mt_store__exec(s, "ROLLBACK", NULL);
	return rc;
}
