/* Reading the store: the digest, statements, feed info, the derived dump,
 * edges (now or at a time T), bridges, and verification of everything held. */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/encoding.h"
#include "store_int.h"

/* ---- reading ---------------------------------------------------------- */

int mt_store__sq_digest(mt_store_backend *be, unsigned char out[32], uint64_t *count,
			mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, 32);
	sqlite3_stmt *q = NULL;
	uint64_t n = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT id FROM statements ORDER BY id", -1, &q, NULL) !=
	    SQLITE_OK)
		return mt_store__err(s, err, "computing digest");
	int r;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		crypto_generichash_update(&h, sqlite3_column_blob(q, 0),
					  (unsigned long long)sqlite3_column_bytes(q, 0));
		n++;
	}
	sqlite3_finalize(q);
	if (r != SQLITE_DONE)
		return mt_store__err(s, err, "computing digest");
	crypto_generichash_final(&h, out, 32);
	if (count)
		*count = n;
	return 0;
}

/* Step `q` (rows of iss, seq, canon), handing each to `fn` until it returns
 * non-zero; finalizes `q`. Returns fn's value, 0, or MT_EIO. */
static int visit_rows(store_sqlite *s, sqlite3_stmt *q, mt_stmt_visit_fn fn, void *payload,
		      mt_error *err)
{
	int r, rc = 0;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		rc = fn((const char *)sqlite3_column_text(q, 0), (uint64_t)sqlite3_column_int64(q, 1),
			sqlite3_column_blob(q, 2), (size_t)sqlite3_column_bytes(q, 2), payload);
		if (rc)
			break;
	}
	if (!rc && r != SQLITE_DONE)
		rc = mt_store__err(s, err, "reading statements");
	sqlite3_finalize(q);
	return rc;
}

int mt_store__sq_foreach(mt_store_backend *be, const char *iss, mt_stmt_visit_fn fn,
			 void *payload, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	sqlite3_stmt *q = NULL;
	const char *sql = iss ? "SELECT iss, seq, canon FROM statements WHERE iss=? ORDER BY seq, id"
			      : "SELECT iss, seq, canon FROM statements ORDER BY iss, seq, id";
	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "reading statements");
	if (iss)
		sqlite3_bind_text(q, 1, iss, -1, SQLITE_STATIC);
	return visit_rows(s, q, fn, payload, err);
}

/* The statements that take effect of some types, by id: `applied` marks
 * exactly those (inside the issuer's valid prefix, before any fork, not after
 * a rotation). */
int mt_store__sq_foreach_type(mt_store_backend *be, const mt_stmt_type *types, size_t n_types,
			      mt_stmt_visit_fn fn, void *payload, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	enum { MAX = 4 * MT_ST__COUNT }; /* one "?" per type, repeats allowed */
	if (n_types > MAX)
		return mt_error_set(err, MT_EINVAL, "store: %zu types (at most %d)", n_types, MAX);
	char sql[128 + 2 * MAX];
	size_t n = n_types;
	size_t o = (size_t)snprintf(sql, sizeof sql, "SELECT iss, seq, canon FROM statements "
						     "WHERE applied=1 AND type IN (");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(sql + o, sizeof sql - o, i ? ",?" : "?");
	snprintf(sql + o, sizeof sql - o, ") ORDER BY id");
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "reading statements");
	for (size_t i = 0; i < n; i++)
		sqlite3_bind_text(q, (int)i + 1, mt_stmt_type_name(types[i]), -1, SQLITE_STATIC);
	return visit_rows(s, q, fn, payload, err);
}

static const char CONTAINS[] = "SELECT 1 FROM statements WHERE id = ?";

int mt_store__sq_contains(mt_store_backend *be, const unsigned char id[32], int *found,
			  mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	sqlite3_stmt *q;
	int rc = mt_store__query(s, &q, CONTAINS, err);
	if (rc)
		return rc;
	sqlite3_bind_blob(q, 1, id, 32, SQLITE_STATIC);
	int r = sqlite3_step(q);
	*found = r == SQLITE_ROW;
	rc = r == SQLITE_ROW || r == SQLITE_DONE ? 0 : mt_store__err(s, err, "looking a statement up");
	sqlite3_reset(q);
	return rc;
}

int mt_store__sq_get(mt_store_backend *be, const unsigned char id[32], char **canon, size_t *len,
		     mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	*canon = NULL;
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT canon FROM statements WHERE id=?", -1, &q, NULL) !=
	    SQLITE_OK)
		return mt_store__err(s, err, "reading statement");
	sqlite3_bind_blob(q, 1, id, 32, SQLITE_STATIC);
	int rc = 0;
	if (sqlite3_step(q) == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(q, 0);
		*canon = malloc(n + 1);
		if (!*canon) {
			rc = mt_error_set(err, MT_ENOMEM, "out of memory");
		} else {
			memcpy(*canon, sqlite3_column_blob(q, 0), n);
			(*canon)[n] = '\0';
			*len = n;
		}
	} else {
		rc = mt_error_set(err, MT_ENOTFOUND, "no statement with that id");
	}
	sqlite3_finalize(q);
	return rc;
}

int mt_store__sq_feed(mt_store_backend *be, const char *iss, mt_feed_info *out, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	struct feed f;
	int found, rc;
	memset(out, 0, sizeof *out);
	if ((rc = mt_store__feed_get(s, iss, &f, &found, err)))
		return rc;
	if (!found)
		return mt_error_set(err, MT_ENOTFOUND, "no feed for %s", iss);
	out->head_seq = f.head_seq;
	out->fork_seq = f.fork_seq;
	memcpy(out->head_id, f.head_id, 32);
	sqlite3_stmt *q = mt_store__Q(s, Q_MAXSEQ);
	sqlite3_bind_text(q, 1, iss, -1, SQLITE_STATIC);
	out->max_seq = sqlite3_step(q) == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(q, 0) : 0;
	sqlite3_reset(q);
	return 0;
}

/* A growable text buffer for dumps. */
struct buf {
	char *p;
	size_t len, cap;
};

static int buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return MT_ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* A problem found by a projection's check, as a line of the dump. */
struct check_out {
	struct buf *b;
	const char *name;
	int any, rc;
};

static void check_report(void *payload, const char *problem)
{
	struct check_out *c = payload;
	if (!c->any) {
		c->any = 1;
		c->rc = c->rc || buf_add(c->b, "## check ", 9) ||
			buf_add(c->b, c->name, strlen(c->name)) || buf_add(c->b, "\n", 1);
	}
	c->rc = c->rc || buf_add(c->b, problem, strlen(problem)) || buf_add(c->b, "\n", 1);
}

/* Every row of the projection table, in order: its sections, one line per
 * row ("|" between columns, NULL as "NULL"); then the problems the checks
 * report, under "## check <name>" (none on a sound store, so the text of a
 * sound store is the same as before checks existed). */
int mt_store__sq_derived_dump(mt_store_backend *be, char **out, mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	struct buf b = {0};
	int rc = mt_store__feed_flush(s, err); /* (reads the feeds table) */
	for (size_t i = 0; i < mt_store__projection_count && !rc; i++) {
		const mt_projection *p = mt_store__projections[i];
		for (const char *const(*d)[2] = p->dump; d && (*d)[0] && !rc; d++) {
			sqlite3_stmt *q = NULL;
			if (sqlite3_prepare_v2(s->db, (*d)[1], -1, &q, NULL) != SQLITE_OK) {
				rc = mt_store__err(s, err, "dumping");
				break;
			}
			rc = buf_add(&b, "## ", 3) || buf_add(&b, (*d)[0], strlen((*d)[0])) ||
			     buf_add(&b, "\n", 1);
			while (!rc && sqlite3_step(q) == SQLITE_ROW) {
				int nc = sqlite3_column_count(q);
				for (int c = 0; c < nc && !rc; c++) {
					const char *v = (const char *)sqlite3_column_text(q, c);
					if (!v)
						v = "NULL";
					rc = buf_add(&b, v, strlen(v)) ||
					     buf_add(&b, c + 1 < nc ? "|" : "\n", 1);
				}
			}
			sqlite3_finalize(q);
		}
	}
	for (size_t i = 0; i < mt_store__projection_count && !rc; i++) {
		const mt_projection *p = mt_store__projections[i];
		struct check_out c = {&b, p->name, 0, 0};
		if (p->check && !(rc = p->check(s, check_report, &c, err)) && c.rc)
			rc = 1; /* out of memory, below */
	}
	if (rc) {
		free(b.p);
		return rc < 0 ? rc : mt_error_set(err, MT_ENOMEM, "out of memory");
	}
	*out = b.p ? b.p : calloc(1, 1);
	return *out ? 0 : mt_error_set(err, MT_ENOMEM, "out of memory");
}

/* ---- edges for the graph layer ----------------------------------------- */

struct erow {
	size_t src, dst, scope, orig_src, orig_dst; /* offsets into the pool */
	int level, score;
	int64_t exp;
};

struct ecollect {
	struct erow *rows;
	size_t n, cap;
	struct buf pool;
};

static int pool_add(struct ecollect *c, const char *s, size_t *off)
{
	*off = c->pool.len;
	return buf_add(&c->pool, s, strlen(s) + 1);
}

static int erow_add(struct ecollect *c, const char *src, const char *dst, const char *scope,
		    int level, int score, int64_t exp)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024;
		struct erow *r = realloc(c->rows, cap * sizeof *r);
		if (!r)
			return MT_ENOMEM;
		c->rows = r;
		c->cap = cap;
	}
	struct erow *r = &c->rows[c->n];
	if (pool_add(c, src, &r->src) || pool_add(c, dst, &r->dst) || pool_add(c, scope, &r->scope))
		return MT_ENOMEM;
	r->orig_src = r->src;
	r->orig_dst = r->dst;
	r->level = level;
	r->score = score;
	r->exp = exp;
	c->n++;
	return 0;
}

static const char *pool_str(const struct ecollect *c, size_t off)
{
	return c->pool.p + off;
}

static int erow_cmp_ctx(const struct ecollect *c, const struct erow *a, const struct erow *b)
{
	int d = strcmp(pool_str(c, a->src), pool_str(c, b->src));
	if (!d)
		d = strcmp(pool_str(c, a->dst), pool_str(c, b->dst));
	if (!d)
		d = strcmp(pool_str(c, a->scope), pool_str(c, b->scope));
	if (!d) /* the edge naming the keys directly wins over a carried one */
		d = ((a->orig_dst != a->dst) + (a->orig_src != a->src)) -
		    ((b->orig_dst != b->dst) + (b->orig_src != b->src));
	return d;
}

static int same_key(const struct ecollect *c, const struct erow *a, const struct erow *b)
{
	return !strcmp(pool_str(c, a->src), pool_str(c, b->src)) &&
	       !strcmp(pool_str(c, a->dst), pool_str(c, b->dst)) &&
	       !strcmp(pool_str(c, a->scope), pool_str(c, b->scope));
}

/* qsort has no context argument in C11: sort an index array with a merge sort. */
static void msort(size_t *idx, size_t *tmp, size_t n, const struct ecollect *c)
{
	if (n < 2)
		return;
	size_t h = n / 2;
	msort(idx, tmp, h, c);
	msort(idx + h, tmp, n - h, c);
	size_t i = 0, j = h, k = 0;
	while (i < h && j < n)
		tmp[k++] = erow_cmp_ctx(c, &c->rows[idx[i]], &c->rows[idx[j]]) <= 0 ? idx[i++]
										 : idx[j++];
	while (i < h)
		tmp[k++] = idx[i++];
	while (j < n)
		tmp[k++] = idx[j++];
	memcpy(idx, tmp, n * sizeof *idx);
}

/* Collect (old -> new) rotations valid at `at`. */
static int load_rotations(store_sqlite *s, struct ecollect *rot, int64_t at, mt_error *err)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT r.old, r.new FROM rotations r JOIN statements s ON s.id=r.stmt "
			       "WHERE s.ts<=?",
			       -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "reading rotations");
	sqlite3_bind_int64(q, 1, at);
	int rc = 0;
	while (!rc && sqlite3_step(q) == SQLITE_ROW)
		rc = erow_add(rot, (const char *)sqlite3_column_text(q, 0),
			      (const char *)sqlite3_column_text(q, 1), "", 0, 0, 0);
	sqlite3_finalize(q);
	return rc ? mt_error_set(err, MT_ENOMEM, "out of memory") : 0;
}

static const char *resolve_rotation(const struct ecollect *rot, const char *id)
{
	for (int hops = 0; hops < 64; hops++) { /* as mt_store_newest_id */
		size_t i;
		for (i = 0; i < rot->n; i++)
			if (strcmp(pool_str(rot, rot->rows[i].src), id) == 0)
				break;
		if (i == rot->n)
			return id;
		id = pool_str(rot, rot->rows[i].dst);
	}
	return id;
}

/* Replay applied trust/revoke statements with ts <= at into `c`. */
static int edges_at(store_sqlite *s, struct ecollect *c, int64_t at, mt_error *err)
{
	sqlite3_stmt *q = NULL;
	int rc = mt_store__exec(s, "CREATE TEMP TABLE IF NOT EXISTS at_edges(iss TEXT, target TEXT, scope TEXT,"
			 " level INTEGER, score INTEGER, exp INTEGER, PRIMARY KEY(iss,target,scope));"
			 "DELETE FROM temp.at_edges;",
		      err);
	if (rc)
		return rc;
	sqlite3_stmt *put = NULL, *del = NULL;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT canon FROM statements WHERE applied=1 AND ts<=? AND type IN "
			       "('trust','revoke') ORDER BY iss, seq",
			       -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO temp.at_edges VALUES(?,?,?,?,?,?)", -1,
			       &put, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db,
			       "DELETE FROM temp.at_edges WHERE iss=? AND target=? AND scope=?", -1,
			       &del, NULL) != SQLITE_OK) {
		rc = mt_store__err(s, err, "reading edges");
		goto done;
	}
	sqlite3_bind_int64(q, 1, at);
	while (!rc && sqlite3_step(q) == SQLITE_ROW) {
		mt_stmt *st = NULL;
		if (mt_stmt_parse(&st, sqlite3_column_blob(q, 0), (size_t)sqlite3_column_bytes(q, 0),
				  INT64_MAX, err) != 0) {
			rc = MT_EIO;
			break;
		}
		const char *scope = mt_stmt_str(st, "scope");
		sqlite3_stmt *w = st->type == MT_ST_TRUST ? put : del;
		sqlite3_reset(w);
		sqlite3_bind_text(w, 1, st->iss, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(w, 2, mt_stmt_str(st, "target"), -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(w, 3, scope ? scope : "global", -1, SQLITE_TRANSIENT);
		if (st->type == MT_ST_TRUST) {
			sqlite3_bind_int(w, 4, mt_store__trust_level(st));
			sqlite3_bind_int64(w, 5, mt_stmt_int(st, "score", 1000));
			sqlite3_bind_int64(w, 6, mt_stmt_int(st, "exp", 0));
		}
		if (sqlite3_step(w) != SQLITE_DONE)
			rc = mt_store__err(s, err, "replaying edges");
		mt_stmt_free(st);
	}
	if (rc)
		goto done;
	sqlite3_finalize(q);
	q = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT iss,target,scope,level,score,exp FROM temp.at_edges",
			       -1, &q, NULL) != SQLITE_OK) {
		rc = mt_store__err(s, err, "reading edges");
		goto done;
	}
	while (!rc && sqlite3_step(q) == SQLITE_ROW)
		rc = erow_add(c, (const char *)sqlite3_column_text(q, 0),
			      (const char *)sqlite3_column_text(q, 1),
			      (const char *)sqlite3_column_text(q, 2), sqlite3_column_int(q, 3),
			      sqlite3_column_int(q, 4), sqlite3_column_int64(q, 5))
			     ? mt_error_set(err, MT_ENOMEM, "out of memory")
			     : 0;
done:
	sqlite3_finalize(q);
	sqlite3_finalize(put);
	sqlite3_finalize(del);
	return rc;
}

int mt_store__sq_edges(mt_store_backend *be, mt_edge_in **out, size_t *n, int64_t at,
		       mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	*out = NULL;
	*n = 0;
	struct ecollect c = {0}, rot = {0};
	size_t *idx = NULL, *tmp = NULL;
	int rc = 0;
	if (at == INT64_MAX) {
		sqlite3_stmt *q = NULL;
		if (sqlite3_prepare_v2(s->db, "SELECT iss,target,scope,level,score,exp FROM edges",
				       -1, &q, NULL) != SQLITE_OK)
			return mt_store__err(s, err, "reading edges");
		while (!rc && sqlite3_step(q) == SQLITE_ROW)
			rc = erow_add(&c, (const char *)sqlite3_column_text(q, 0),
				      (const char *)sqlite3_column_text(q, 1),
				      (const char *)sqlite3_column_text(q, 2),
				      sqlite3_column_int(q, 3), sqlite3_column_int(q, 4),
				      sqlite3_column_int64(q, 5))
				     ? mt_error_set(err, MT_ENOMEM, "out of memory")
				     : 0;
		sqlite3_finalize(q);
	} else {
		rc = edges_at(s, &c, at, err);
	}
	if (!rc)
		rc = load_rotations(s, &rot, at, err);
	if (rc)
		goto done;
	/* Carry edges across rotations (SPEC §9.2): to a rotated key, to its
	 * newest successor; from a rotated key, as the successor's until it
	 * issues its own for that (target, scope). Drop the self-edges that
	 * makes. The pool may move while it grows: offsets, not pointers. */
	for (size_t i = 0; i < c.n && rot.n; i++) {
		const char *dst = pool_str(&c, c.rows[i].dst);
		const char *to = resolve_rotation(&rot, dst);
		if (to != dst && (rc = pool_add(&c, to, &c.rows[i].dst)))
			goto done;
		const char *src = pool_str(&c, c.rows[i].src);
		const char *from = resolve_rotation(&rot, src);
		if (from != src && (rc = pool_add(&c, from, &c.rows[i].src)))
			goto done;
	}
	/* A carried edge gives way to its new issuer's own revoke of that
	 * (target, scope). */
	if (rot.n) {
		sqlite3_stmt *q = NULL;
		if (sqlite3_prepare_v2(s->db,
				       "SELECT 1 FROM revokes WHERE iss=? AND target=? AND scope=?",
				       -1, &q, NULL) != SQLITE_OK) {
			rc = mt_store__err(s, err, "reading revokes");
			goto done;
		}
		size_t keep_n = 0;
		for (size_t i = 0; i < c.n; i++) {
			struct erow *r = &c.rows[i];
			int drop = 0;
			if (r->orig_src != r->src) {
				sqlite3_reset(q);
				sqlite3_bind_text(q, 1, pool_str(&c, r->src), -1, SQLITE_TRANSIENT);
				sqlite3_bind_text(q, 2, pool_str(&c, r->orig_dst), -1, SQLITE_TRANSIENT);
				sqlite3_bind_text(q, 3, pool_str(&c, r->scope), -1, SQLITE_TRANSIENT);
				drop = sqlite3_step(q) == SQLITE_ROW;
				if (!drop && r->orig_dst != r->dst) {
					sqlite3_reset(q);
					sqlite3_bind_text(q, 2, pool_str(&c, r->dst), -1,
							  SQLITE_TRANSIENT);
					drop = sqlite3_step(q) == SQLITE_ROW;
				}
			}
			if (!drop)
				c.rows[keep_n++] = *r;
		}
		c.n = keep_n;
		sqlite3_finalize(q);
	}
	idx = malloc((c.n + 1) * sizeof *idx);
	tmp = malloc((c.n + 1) * sizeof *tmp);
	if (!idx || !tmp) {
		rc = mt_error_set(err, MT_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < c.n; i++)
		idx[i] = i;
	if (rot.n)
		msort(idx, tmp, c.n, &c);
	size_t keep = 0;
	for (size_t k = 0; k < c.n; k++) {
		const struct erow *r = &c.rows[idx[k]];
		if (strcmp(pool_str(&c, r->src), pool_str(&c, r->dst)) == 0)
			continue;
		if (rot.n && keep && same_key(&c, &c.rows[idx[keep - 1]], r))
			continue; /* sorted: the direct edge came first and wins */
		idx[keep++] = idx[k];
	}
	size_t bytes = keep * sizeof(mt_edge_in);
	char *block = malloc(bytes + c.pool.len + 1);
	if (!block) {
		rc = mt_error_set(err, MT_ENOMEM, "out of memory");
		goto done;
	}
	char *pool = block + bytes;
	if (c.pool.len)
		memcpy(pool, c.pool.p, c.pool.len);
	mt_edge_in *e = (mt_edge_in *)(void *)block;
	for (size_t k = 0; k < keep; k++) {
		const struct erow *r = &c.rows[idx[k]];
		e[k].src = pool + r->src;
		e[k].dst = pool + r->dst;
		e[k].scope = pool + r->scope;
		e[k].level = (mt_level)r->level;
		e[k].score = (uint16_t)r->score;
		e[k].exp = r->exp;
	}
	*out = e;
	*n = keep;
done:
	free(idx);
	free(tmp);
	free(c.rows);
	free(c.pool.p);
	free(rot.rows);
	free(rot.pool.p);
	return rc;
}

/* ---- verification ------------------------------------------------------- */

struct vstate {
	char iss[MT_NODE_ID_MAX];
	uint64_t seq;                /* seq of the ids below */
	unsigned char ids[8][32];    /* ids held at that seq */
	int nids;
	char *canon[8];
	size_t clen[8];
};

static void report(mt_verify_fn fn, void *payload, uint64_t *problems, const char *kind,
		   const char *iss, uint64_t seq, const char *detail)
{
	mt_verify_issue is = {kind, iss, seq, detail};
	(*problems)++;
	if (fn)
		fn(&is, payload);
}

int mt_store__sq_verify(mt_store_backend *be, mt_verify_fn fn, void *payload,
			uint64_t *checked, uint64_t *problems, mt_progress_fn progress, void *pp,
			mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	*checked = 0;
	*problems = 0;
	sqlite3_stmt *q = NULL;
	uint64_t total = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM statements", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		total = (uint64_t)sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	if (sqlite3_prepare_v2(s->db,
			       "SELECT iss, seq, id, canon, prev FROM statements ORDER BY iss, seq, id",
			       -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "verifying");
	char prev_iss[MT_NODE_ID_MAX] = "";
	uint64_t last_seq = 0;
	unsigned char last_ids[8][32];
	int last_n = 0;
	unsigned char cur_ids[8][32];
	char *cur_canon[8] = {0};
	size_t cur_len[8] = {0};
	int cur_n = 0;
	uint64_t cur_seq = 0;
	int r;
	char detail[512];
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		const char *iss = (const char *)sqlite3_column_text(q, 0);
		uint64_t seq = (uint64_t)sqlite3_column_int64(q, 1);
		const unsigned char *id = sqlite3_column_blob(q, 2);
		const char *canon = sqlite3_column_blob(q, 3);
		size_t clen = (size_t)sqlite3_column_bytes(q, 3);
		const unsigned char *prev = sqlite3_column_blob(q, 4);
		(*checked)++;
		if (progress && (*checked % 4096 == 0 || *checked == total))
			progress(*checked, total, pp);

		int new_iss = strcmp(iss, prev_iss) != 0;
		if (new_iss || seq != cur_seq) {
			/* close the previous seq group */
			memcpy(last_ids, cur_ids, sizeof last_ids);
			last_n = cur_n;
			last_seq = cur_seq;
			for (int i = 0; i < cur_n; i++)
				free(cur_canon[i]);
			cur_n = 0;
			cur_seq = seq;
			if (new_iss) {
				snprintf(prev_iss, sizeof prev_iss, "%s", iss);
				last_seq = 0;
				last_n = 0;
			}
			if (seq != last_seq + 1) {
				snprintf(detail, sizeof detail, "seq %" PRIu64 "..%" PRIu64 " missing",
					 last_seq + 1, seq - 1);
				report(fn, payload, problems, "gap", iss, last_seq + 1, detail);
			}
		}
		mt_stmt *st = NULL;
		mt_error e = {0};
		unsigned char h[32];
		mt_blake2b256(h, canon, clen);
		if (memcmp(h, id, 32) != 0)
			report(fn, payload, problems, "id-mismatch", iss, seq,
			       "stored id is not the hash of the stored bytes");
		if (mt_stmt_parse(&st, canon, clen, INT64_MAX, &e) != 0) {
			report(fn, payload, problems, "not-canonical", iss, seq, e.msg);
		} else {
			if (mt_stmt_verify(st, &e) != 0)
				report(fn, payload, problems, "bad-signature", iss, seq, e.msg);
			mt_stmt_free(st);
		}
		if (seq > 1 && last_seq == seq - 1 && last_n > 0) {
			int linked = 0;
			for (int i = 0; i < last_n && prev; i++)
				linked |= memcmp(prev, last_ids[i], 32) == 0;
			if (!linked)
				report(fn, payload, problems, "broken-link", iss, seq,
				       "prev does not name the statement held at seq-1");
		}
		for (int i = 0; i < cur_n; i++)
			if (!mt_store__same_body(canon, clen, cur_canon[i], cur_len[i])) {
				char a[65], b[65];
				mt_hex_encode(a, sizeof a, cur_ids[i], 32);
				mt_hex_encode(b, sizeof b, id, 32);
				snprintf(detail, sizeof detail,
					 "equivocation: two statements at seq %" PRIu64 ": %s and %s",
					 seq, a, b);
				report(fn, payload, problems, "fork", iss, seq, detail);
			}
		if (cur_n < 8) {
			memcpy(cur_ids[cur_n], id, 32);
			cur_canon[cur_n] = malloc(clen);
			if (cur_canon[cur_n])
				memcpy(cur_canon[cur_n], canon, clen);
			cur_len[cur_n] = cur_canon[cur_n] ? clen : 0;
			cur_n++;
		}
	}
	for (int i = 0; i < cur_n; i++)
		free(cur_canon[i]);
	sqlite3_finalize(q);
	if (r != SQLITE_DONE)
		return mt_store__err(s, err, "verifying");
	/* The feed rules' findings: statements held without effect, and why
	 * (key events, SPEC §9.1, §9.2). */
	if (sqlite3_prepare_v2(s->db,
			       "SELECT iss, seq, kind, detail, hex(id) FROM key_notes "
			       "ORDER BY iss, seq, id, kind",
			       -1, &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "verifying");
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		snprintf(detail, sizeof detail, "%s (statement %.16s…)",
			 (const char *)sqlite3_column_text(q, 3),
			 (const char *)sqlite3_column_text(q, 4));
		report(fn, payload, problems, (const char *)sqlite3_column_text(q, 2),
		       (const char *)sqlite3_column_text(q, 0),
		       (uint64_t)sqlite3_column_int64(q, 1), detail);
	}
	sqlite3_finalize(q);
	if (r != SQLITE_DONE)
		return mt_store__err(s, err, "verifying");
	/* The database file itself. */
	if (sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW) {
		const char *res = (const char *)sqlite3_column_text(q, 0);
		if (!res || strcmp(res, "ok") != 0)
			report(fn, payload, problems, "database", "", 0, res ? res : "?");
	}
	sqlite3_finalize(q);
	return 0;
}

int mt_store__sq_edge_get(mt_store_backend *be, const char *iss, const char *target,
			  const char *scope, unsigned char stmt_id[32], uint64_t *seq,
			  mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT stmt, seq FROM edges WHERE iss=? AND target=? AND scope=?", -1,
			       &q, NULL) != SQLITE_OK)
		return mt_store__err(s, err, "reading edge");
	sqlite3_bind_text(q, 1, iss, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, target, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, scope, -1, SQLITE_STATIC);
	int rc = 0;
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_bytes(q, 0) == 32) {
		memcpy(stmt_id, sqlite3_column_blob(q, 0), 32);
		if (seq)
			*seq = (uint64_t)sqlite3_column_int64(q, 1);
	} else {
		rc = mt_error_set(err, MT_ENOTFOUND, "no edge from %s to %s in %s", iss, target,
				  scope);
	}
	sqlite3_finalize(q);
	return rc;
}

int mt_store__sq_bridges(mt_store_backend *be, mt_bridge_visit_fn fn, void *payload,
			 mt_error *err)
{
	store_sqlite *s = mt_store__sq(be);
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT iss, scope FROM bridges ORDER BY iss, scope", -1, &q,
			       NULL) != SQLITE_OK)
		return mt_store__err(s, err, "reading bridges");
	int rc = 0;
	while (!rc && sqlite3_step(q) == SQLITE_ROW)
		rc = fn((const char *)sqlite3_column_text(q, 0),
			(const char *)sqlite3_column_text(q, 1), payload);
	sqlite3_finalize(q);
	return rc;
}
