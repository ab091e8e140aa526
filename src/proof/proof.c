/* Portable trust proofs (SPEC §9.6): the bundle writer (from a store) and
 * the verifier (from the bundle alone). See include/meshtrust/proof.h. */
#include "meshtrust/proof.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "meshtrust/canon.h"
#include "meshtrust/engine.h"
#include "meshtrust/statement.h"

/* ---- A growable byte buffer --------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
};

static int buf_add(struct buf *b, const char *s, size_t n)
{
	if (n > (SIZE_MAX >> 2) - b->len)
		return -1; /* no size anywhere near this (and no overflow below) */
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* ---- Writer ---------------------------------------------------------------- */

static int header_check(const mt_proof_header *h, mt_error *err)
{
	if (!mt_node_id_valid(h->from) || !mt_node_id_valid(h->to))
		return mt_error_set(err, MT_EINVAL, "proof: from/to is not a Node ID");
	if (mt_scope_check(h->scope, "scope", err) != 0)
		return MT_EINVAL;
	if (h->max_depth < 1 || h->max_depth > MT_ENGINE_MAX_DEPTH)
		return mt_error_set(err, MT_EINVAL, "proof: max_depth %d is not in 1..8", h->max_depth);
	if (h->n_decay < 1 || h->n_decay > MT_PROOF_MAX_DECAY)
		return mt_error_set(err, MT_EINVAL, "proof: decay needs 1..%d values",
				    MT_PROOF_MAX_DECAY);
	if (h->at < 0)
		return mt_error_set(err, MT_EINVAL, "proof: at is negative");
	return 0;
}

/* The shortest "%.*g" text of `x` that reads back as exactly `x`: the one
 * spelling of a decay value, so the header has one canonical form. */
static void decay_text(char out[32], double x)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(out, 32, "%.*g", prec, x);
		if (strtod(out, NULL) == x)
			return;
	}
}

/* The header object of `h` without `sig`, its prover `prover`. */
static json_t *header_json(const mt_proof_header *h, const char *prover)
{
	json_t *decay = json_array();
	char text[32];
	for (size_t i = 0; decay && i < h->n_decay; i++) {
		decay_text(text, h->decay[i]);
		if (json_array_append_new(decay, json_string(text)) != 0) {
			json_decref(decay);
			return NULL;
		}
	}
	if (!decay)
		return NULL;
	return json_pack("{s:i, s:s, s:s, s:s, s:I, s:i, s:o, s:s}", "proof", 1, "from", h->from,
			 "to", h->to, "scope", h->scope, "at", (json_int_t)h->at, "max_depth",
			 h->max_depth, "decay", decay, "prover", prover);
}

/* What the prover signs: MT_PROOF_DOMAIN + the canonical JSON of `j` (the
 * header without `sig`). *out malloc'd; 0 or an MT_E* code. */
static int signing_input(unsigned char **out, size_t *len, const json_t *j, mt_error *err)
{
	char *canon = NULL;
	size_t clen = 0;
	*out = NULL;
	*len = 0;
	int rc = mt_canon_dump(&canon, &clen, j, err);
	if (rc)
		return rc;
	size_t dl = strlen(MT_PROOF_DOMAIN);
	unsigned char *msg = malloc(dl + clen);
	if (!msg) {
		free(canon);
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	}
	memcpy(msg, MT_PROOF_DOMAIN, dl);
	memcpy(msg + dl, canon, clen);
	free(canon);
	*out = msg;
	*len = dl + clen;
	return 0;
}

int mt_proof_header_line(char **out, size_t *len, const mt_proof_header *h,
			 const mt_keypair *prover, mt_error *err)
{
	if (!out || !len || !h || !prover)
		return mt_error_set(err, MT_EINVAL, "proof: NULL argument");
	*out = NULL;
	*len = 0;
	int rc = header_check(h, err);
	if (rc)
		return rc;
	char prover_id[MT_NODE_ID_MAX];
	mt_node_id_encode(prover_id, prover->pk);
	unsigned char *msg = NULL;
	size_t mlen = 0;
	json_t *j = header_json(h, prover_id);
	if (!j)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	if ((rc = signing_input(&msg, &mlen, j, err)) == 0) {
		unsigned char sig[64];
		char sigtxt[87];
		crypto_sign_detached(sig, NULL, msg, mlen, prover->sk);
		mt_sig_encode(sigtxt, sig);
		if (json_object_set_new(j, "sig", json_string(sigtxt)) != 0)
			rc = mt_error_set(err, MT_ENOMEM, "out of memory");
		else
			rc = mt_canon_dump(out, len, j, err);
	}
	free(msg);
	json_decref(j);
	return rc;
}

/* One statement of a chain, newest first while walking back. */
struct link {
	char *canon;
	size_t len;
	int64_t ts;
};

static void links_free(struct link *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i].canon);
	free(l);
}

/* The applied chain of `iss` (seq 1..head), walked back from the head by
 * `prev`, so that a fork's other side is never picked. */
static int chain_of(mt_store *s, const char *iss, struct link **out, size_t *n, mt_error *err)
{
	mt_feed_info fi;
	*out = NULL;
	*n = 0;
	int rc = mt_store_feed(s, iss, &fi, err);
	if (rc)
		return rc;
	if (fi.head_seq == 0)
		return mt_error_set(err, MT_ENOTFOUND, "proof: %s has no applied statements", iss);
	if (fi.head_seq > MT_PROOF_MAX_LINES)
		return mt_error_set(err, MT_ETOOBIG, "proof: the feed of %s is longer than %d", iss,
				    MT_PROOF_MAX_LINES);
	struct link *l = calloc((size_t)fi.head_seq, sizeof *l);
	if (!l)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	unsigned char id[32];
	memcpy(id, fi.head_id, 32);
	for (uint64_t k = fi.head_seq; k >= 1; k--) {
		struct link *cur = &l[k - 1];
		mt_stmt *st = NULL;
		if ((rc = mt_store_get(s, id, &cur->canon, &cur->len, err)) != 0 ||
		    (rc = mt_stmt_parse(&st, cur->canon, cur->len, INT64_MAX, err)) != 0)
			break;
		cur->ts = st->ts;
		int ok = st->seq == k && strcmp(st->iss, iss) == 0 && (k == 1 || st->has_prev);
		if (ok && k > 1)
			memcpy(id, st->prev, 32);
		mt_stmt_free(st);
		if (!ok) {
			rc = mt_error_set(err, MT_EIO, "proof: the chain of %s is broken at seq %llu",
					  iss, (unsigned long long)k);
			break;
		}
	}
	if (rc) {
		links_free(l, (size_t)fi.head_seq);
		return rc;
	}
	*out = l;
	*n = (size_t)fi.head_seq;
	return 0;
}

int mt_proof_write(char **out, size_t *len, mt_store *s, const mt_proof_header *h,
		   const char *const *issuers, size_t n, int64_t cut_ts, const mt_keypair *prover,
		   mt_error *err)
{
	if (!out || !len || !s || !h || (!issuers && n) || !prover)
		return mt_error_set(err, MT_EINVAL, "proof: NULL argument");
	*out = NULL;
	*len = 0;
	char *hs = NULL;
	size_t hl = 0;
	int rc = mt_proof_header_line(&hs, &hl, h, prover, err);
	if (rc)
		return rc;
	struct buf b = {0};
	if (buf_add(&b, hs, hl) || buf_add(&b, "\n", 1)) {
		free(hs);
		free(b.p);
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	}
	free(hs);
	for (size_t i = 0; i < n && !rc; i++) {
		int dup = 0;
		for (size_t j = 0; j < i; j++)
			dup |= strcmp(issuers[i], issuers[j]) == 0;
		if (dup)
			continue;
		struct link *l = NULL;
		size_t nl = 0;
		if ((rc = chain_of(s, issuers[i], &l, &nl, err)) != 0)
			break;
		for (size_t k = 0; k < nl && !rc; k++) {
			if (l[k].ts > cut_ts)
				break;
			if (buf_add(&b, l[k].canon, l[k].len) || buf_add(&b, "\n", 1))
				rc = mt_error_set(err, MT_ENOMEM, "out of memory");
		}
		links_free(l, nl);
	}
	if (rc) {
		free(b.p);
		return rc;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

/* ---- Verifier -------------------------------------------------------------- */

/* A trust or revoke of the bundle, for the edge rebuild. */
struct op {
	size_t feed; /* index into the feeds */
	char target[MT_NODE_ID_MAX];
	char scope[80];
	uint64_t seq;
	int trust; /* 1 trust, 0 revoke */
	mt_level level;
	uint16_t score;
	int64_t exp;
};

struct vstate {
	mt_proof_result *r;
	struct op *ops;
	size_t n_ops, cap_ops;
	size_t cap_feeds;
	unsigned char last_id[32]; /* id of the current feed's last statement */
};

static int fail(mt_proof_result *r, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

static int fail(mt_proof_result *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof r->reason, fmt, ap);
	va_end(ap);
	r->valid = 0;
	return 1;
}

static const char *const HEADER_KEYS[] = {"proof", "from",  "to",     "scope", "at",
					  "max_depth", "decay", "prover", "sig",   NULL};

/* Check the header's signature before anything it claims is read: `sig`
 * present and well-formed, `prover` a Node ID, the line canonical JSON (so
 * its bytes are exactly what was signed, less `sig`), the signature good.
 * `j` is the parsed line; `sig` is removed from it. 0, or 1 after fail(). */
static int check_header_sig(mt_proof_result *r, json_t *j, const char *line, size_t len)
{
	json_t *sigv = json_object_get(j, "sig");
	if (!sigv)
		return fail(r, "line 1: header not signed (no \"sig\": not a bundle this verifier "
			       "accepts)");
	const char *prover = json_string_value(json_object_get(j, "prover"));
	unsigned char pk[32], sig[64];
	mt_error e = {0};
	if (!prover || strlen(prover) >= sizeof r->h.prover ||
	    mt_node_id_decode(pk, prover, "prover", &e) != 0)
		return fail(r, "line 1: the header's prover is not a Node ID");
	if (!json_is_string(sigv) || mt_sig_decode(sig, json_string_value(sigv), &e) != 0)
		return fail(r, "line 1: header signature does not verify (\"sig\" is not 86 "
			       "base64url characters)");
	if (mt_canon_check(line, len, &e) != 0)
		return fail(r, "line 1: the header is not canonical JSON: %s", e.msg);
	json_object_del(j, "sig");
	unsigned char *msg = NULL;
	size_t mlen = 0;
	if (signing_input(&msg, &mlen, j, &e) != 0)
		return e.code == MT_ENOMEM ? -1 : fail(r, "line 1: the header: %s", e.msg);
	int bad = crypto_sign_verify_detached(sig, msg, mlen, pk);
	free(msg);
	if (bad)
		return fail(r, "line 1: header signature does not verify for prover %s", prover);
	snprintf(r->h.prover, sizeof r->h.prover, "%s", prover);
	return 0;
}

/* One decay value: a decimal string in its one spelling (decay_text). */
static int decay_value(double *out, const json_t *v)
{
	const char *text = json_string_value(v);
	char *end = NULL, again[32];
	if (!text || !*text || strlen(text) > 24)
		return -1;
	double x = strtod(text, &end);
	if (*end || !(x > 0 && x <= 1))
		return -1;
	decay_text(again, x);
	if (strcmp(again, text) != 0)
		return -1;
	*out = x;
	return 0;
}

/* Parse the header line into r->h; 0, 1 after fail(), -1 out of memory. */
static int parse_header(mt_proof_result *r, const char *line, size_t len)
{
	json_error_t je;
	json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return fail(r, "line 1: the header is not JSON: %s", je.text);
	int bad = 1;
	const char *key;
	json_t *v;
	mt_proof_header *h = &r->h;
	if (!json_is_object(j)) {
		fail(r, "line 1: the header is not an object");
		goto done;
	}
	json_object_foreach(j, key, v) {
		int known = 0;
		for (size_t i = 0; HEADER_KEYS[i]; i++)
			known |= strcmp(key, HEADER_KEYS[i]) == 0;
		if (!known) {
			fail(r, "line 1: the header has an unknown field");
			goto done;
		}
	}
	v = json_object_get(j, "proof");
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		fail(r, "line 1: the header's \"proof\" is not 1 (not a proof bundle of version 1)");
		goto done;
	}
	if ((bad = check_header_sig(r, j, line, len)) != 0)
		goto done;
	bad = 1;
	const char *from = json_string_value(json_object_get(j, "from"));
	const char *to = json_string_value(json_object_get(j, "to"));
	const char *scope = json_string_value(json_object_get(j, "scope"));
	if (!from || !mt_node_id_valid(from) || strlen(from) >= sizeof h->from) {
		fail(r, "line 1: the header's \"from\" is not a Node ID");
		goto done;
	}
	if (!to || !mt_node_id_valid(to) || strlen(to) >= sizeof h->to) {
		fail(r, "line 1: the header's \"to\" is not a Node ID");
		goto done;
	}
	if (strcmp(from, to) == 0) {
		fail(r, "line 1: the header's \"from\" and \"to\" are the same");
		goto done;
	}
	mt_error e = {0};
	if (!scope || strlen(scope) >= sizeof h->scope || mt_scope_check(scope, "scope", &e) != 0) {
		fail(r, "line 1: the header's \"scope\" is not a scope");
		goto done;
	}
	snprintf(h->from, sizeof h->from, "%s", from);
	snprintf(h->to, sizeof h->to, "%s", to);
	snprintf(h->scope, sizeof h->scope, "%s", scope);
	v = json_object_get(j, "at");
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		fail(r, "line 1: the header's \"at\" is not a time (Unix seconds)");
		goto done;
	}
	h->at = (int64_t)json_integer_value(v);
	v = json_object_get(j, "max_depth");
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > MT_ENGINE_MAX_DEPTH) {
		fail(r, "line 1: the header's \"max_depth\" is not in 1..8");
		goto done;
	}
	h->max_depth = (int)json_integer_value(v);
	v = json_object_get(j, "decay");
	size_t nd = json_array_size(v);
	if (!json_is_array(v) || nd < 1 || nd > MT_PROOF_MAX_DECAY) {
		fail(r, "line 1: the header's \"decay\" is not a list of 1..%d values",
		     MT_PROOF_MAX_DECAY);
		goto done;
	}
	for (size_t i = 0; i < nd; i++) {
		double x = 0;
		if (decay_value(&x, json_array_get(v, i)) != 0 || (i > 0 && x > h->decay[i - 1])) {
			fail(r,
			     "line 1: the header's decay value %zu is not a decimal string in (0, 1] "
			     "in its shortest form, or goes up",
			     i);
			goto done;
		}
		h->decay[i] = x;
	}
	h->n_decay = nd;
	r->have_header = 1;
	bad = 0;
done:
	json_decref(j);
	return bad;
}

static int add_feed(struct vstate *vs, const mt_stmt *st)
{
	mt_proof_result *r = vs->r;
	if (r->n_feeds == vs->cap_feeds) {
		size_t cap = vs->cap_feeds ? vs->cap_feeds * 2 : 8;
		mt_proof_feed *p = realloc(r->feeds, cap * sizeof *p);
		if (!p)
			return -1;
		r->feeds = p;
		vs->cap_feeds = cap;
	}
	mt_proof_feed *f = &r->feeds[r->n_feeds++];
	memset(f, 0, sizeof *f);
	snprintf(f->iss, sizeof f->iss, "%s", st->iss);
	return 0;
}

static int add_op(struct vstate *vs, const mt_stmt *st)
{
	if (vs->n_ops == vs->cap_ops) {
		size_t cap = vs->cap_ops ? vs->cap_ops * 2 : 64;
		struct op *p = realloc(vs->ops, cap * sizeof *p);
		if (!p)
			return -1;
		vs->ops = p;
		vs->cap_ops = cap;
	}
	struct op *o = &vs->ops[vs->n_ops++];
	memset(o, 0, sizeof *o);
	const char *target = mt_stmt_str(st, "target");
	const char *scope = mt_stmt_str(st, "scope");
	snprintf(o->target, sizeof o->target, "%s", target ? target : "");
	snprintf(o->scope, sizeof o->scope, "%s", scope ? scope : "global");
	o->feed = vs->r->n_feeds - 1;
	o->seq = st->seq;
	o->trust = st->type == MT_ST_TRUST;
	if (o->trust) {
		const char *level = mt_stmt_str(st, "level");
		o->level = level && strcmp(level, "full") == 0      ? MT_LEVEL_FULL
			   : level && strcmp(level, "limited") == 0 ? MT_LEVEL_LIMITED
								    : MT_LEVEL_NONE;
		int64_t score = mt_stmt_int(st, "score", 1000);
		o->score = (uint16_t)(score >= 1 && score <= 1000 ? score : 1000);
		o->exp = mt_stmt_int(st, "exp", 0);
	}
	return 0;
}

/* Check one statement line against the chain; 0 go on, 1 failed, -1 ENOMEM. */
static int take_statement(struct vstate *vs, const mt_stmt *st, size_t lineno)
{
	mt_proof_result *r = vs->r;
	mt_proof_feed *f = r->n_feeds ? &r->feeds[r->n_feeds - 1] : NULL;
	char idhex[65];
	mt_stmt_id_hex(idhex, st);
	if (!f || strcmp(f->iss, st->iss) != 0) {
		if (st->seq != 1)
			return fail(r,
				    "line %zu: the feed of issuer %s starts at seq %llu, not 1 (a gap, "
				    "or its lines are not together)",
				    lineno, st->iss, (unsigned long long)st->seq);
		if (st->has_prev)
			return fail(r, "line %zu: issuer %s seq 1 has a prev", lineno, st->iss);
		if (add_feed(vs, st))
			return -1;
		f = &r->feeds[r->n_feeds - 1];
	} else {
		if (st->seq <= f->head_seq)
			return fail(r,
				    "line %zu: issuer %s has a second statement at seq %llu (a fork or "
				    "a duplicate)",
				    lineno, st->iss, (unsigned long long)st->seq);
		if (st->seq != f->head_seq + 1)
			return fail(r, "line %zu: issuer %s: a gap, seq %llu follows seq %llu", lineno,
				    st->iss, (unsigned long long)st->seq,
				    (unsigned long long)f->head_seq);
		if (!st->has_prev || memcmp(st->prev, vs->last_id, 32) != 0)
			return fail(r,
				    "line %zu: issuer %s seq %llu does not link to seq %llu (prev "
				    "differs: a fork)",
				    lineno, st->iss, (unsigned long long)st->seq,
				    (unsigned long long)f->head_seq);
		if (st->ts < f->head_ts)
			return fail(r, "line %zu: issuer %s seq %llu: ts %lld goes back (seq %llu has %lld)",
				    lineno, st->iss, (unsigned long long)st->seq, (long long)st->ts,
				    (unsigned long long)f->head_seq, (long long)f->head_ts);
	}
	f->head_seq = st->seq;
	f->head_ts = st->ts;
	snprintf(f->head_id, sizeof f->head_id, "%s", idhex);
	memcpy(vs->last_id, st->id, 32);
	if ((st->type == MT_ST_TRUST || st->type == MT_ST_REVOKE) && add_op(vs, st))
		return -1;
	return 0;
}

static int cmp_feed_iss(const void *a, const void *b)
{
	return strcmp(((const mt_proof_feed *)a)->iss, ((const mt_proof_feed *)b)->iss);
}

/* Feeds of one issuer in two places: the second block starts at seq 1 again,
 * which the chain check lets through; find it here. */
static int check_feeds_once(mt_proof_result *r)
{
	if (r->n_feeds < 2)
		return 0;
	mt_proof_feed *c = malloc(r->n_feeds * sizeof *c);
	if (!c)
		return -1;
	memcpy(c, r->feeds, r->n_feeds * sizeof *c);
	qsort(c, r->n_feeds, sizeof *c, cmp_feed_iss);
	int bad = 0;
	for (size_t i = 1; i < r->n_feeds && !bad; i++)
		if (strcmp(c[i].iss, c[i - 1].iss) == 0)
			bad = fail(r, "issuer %s has two feeds in the bundle (a fork)", c[i].iss);
	free(c);
	return bad;
}

static int cmp_op_with(const struct op *a, const struct op *b, const mt_proof_feed *feeds)
{
	int c = strcmp(feeds[a->feed].iss, feeds[b->feed].iss);
	if (!c)
		c = strcmp(a->target, b->target);
	if (!c)
		c = strcmp(a->scope, b->scope);
	if (!c)
		c = a->seq < b->seq ? -1 : a->seq > b->seq;
	return c;
}

/* Recompute the path from the rebuilt edges; 0 valid, 1 failed, -1 ENOMEM. */
static int recompute(struct vstate *vs)
{
	mt_proof_result *r = vs->r;
	/* Group the ops by (issuer, target, scope), seq ascending, so the
	 * highest seq of each edge comes last: a stable merge sort of an index. */
	size_t n = vs->n_ops;
	size_t *idx = malloc((n ? n : 1) * sizeof *idx);
	mt_edge_in *edges = malloc((n ? n : 1) * sizeof *edges);
	uint64_t *eseq = malloc((n ? n : 1) * sizeof *eseq);
	if (!idx || !edges || !eseq) {
		free(idx);
		free(edges);
		free(eseq);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	size_t *tmp = malloc((n ? n : 1) * sizeof *tmp);
	if (!tmp) {
		free(idx);
		free(edges);
		free(eseq);
		return -1;
	}
	for (size_t w = 1; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t a = lo, b = mid, k = lo;
			while (a < mid && b < hi)
				tmp[k++] = cmp_op_with(&vs->ops[idx[b]], &vs->ops[idx[a]], r->feeds) < 0
						   ? idx[b++]
						   : idx[a++];
			while (a < mid)
				tmp[k++] = idx[a++];
			while (b < hi)
				tmp[k++] = idx[b++];
		}
		memcpy(idx, tmp, n * sizeof *idx);
	}
	free(tmp);
	size_t ne = 0;
	char revoked[3][400];
	size_t n_revoked = 0;
	for (size_t i = 0; i < n; i++) {
		const struct op *o = &vs->ops[idx[i]];
		const struct op *next = i + 1 < n ? &vs->ops[idx[i + 1]] : NULL;
		if (next && next->feed == o->feed && strcmp(next->target, o->target) == 0 &&
		    strcmp(next->scope, o->scope) == 0)
			continue; /* a later statement sets this edge */
		if (!o->trust) {
			const struct op *before = i > 0 ? &vs->ops[idx[i - 1]] : NULL;
			if (n_revoked < 3 && strcmp(o->scope, r->h.scope) == 0 && before &&
			    before->trust && before->feed == o->feed &&
			    strcmp(before->target, o->target) == 0 &&
			    strcmp(before->scope, o->scope) == 0)
				snprintf(revoked[n_revoked++], sizeof revoked[0],
					 "%s revoked its edge to %s at seq %llu", r->feeds[o->feed].iss,
					 o->target, (unsigned long long)o->seq);
			continue;
		}
		if (strcmp(r->feeds[o->feed].iss, o->target) == 0)
			continue; /* a self-edge never counts */
		edges[ne] = (mt_edge_in){r->feeds[o->feed].iss, o->target, o->scope, o->level,
					 o->score, o->exp};
		eseq[ne++] = o->seq;
	}
	free(idx);
	mt_engine *e = NULL;
	mt_trust_path *p = NULL;
	mt_error err = {0};
	int rc = 0;
	if (mt_engine_new(&e, edges, ne, &err) != 0) {
		rc = err.code == MT_ENOMEM ? -1 : fail(r, "the bundle's edges: %s", err.msg);
		goto done;
	}
	mt_trust_query q = {r->h.from, r->h.scope, r->h.at, r->h.max_depth, r->h.decay,
			    r->h.n_decay};
	if (mt_engine_path(&p, e, &q, r->h.to, &err) != 0) {
		rc = err.code == MT_ENOMEM ? -1 : fail(r, "the query: %s", err.msg);
		goto done;
	}
	if (!p->found) {
		char extra[1300] = "";
		for (size_t i = 0; i < n_revoked; i++) {
			size_t l = strlen(extra);
			snprintf(extra + l, sizeof extra - l, "%s%s", i ? "; " : " (", revoked[i]);
		}
		if (n_revoked)
			strncat(extra, ")", sizeof extra - strlen(extra) - 1);
		rc = fail(r, "no path from %s to %s in scope %s at %lld given these feeds: %s%s",
			  r->h.from, r->h.to, r->h.scope, (long long)r->h.at, p->message, extra);
		goto done;
	}
	r->path = calloc(p->n_edges ? p->n_edges : 1, sizeof *r->path);
	if (!r->path) {
		rc = -1;
		goto done;
	}
	for (size_t i = 0; i < p->n_edges; i++) {
		mt_proof_edge *pe = &r->path[i];
		snprintf(pe->from, sizeof pe->from, "%s", p->edges[i].from_id);
		snprintf(pe->to, sizeof pe->to, "%s", p->edges[i].to_id);
		pe->level = p->edges[i].level;
		pe->score = p->edges[i].score;
		pe->exp = p->edges[i].exp;
		for (size_t k = 0; k < ne; k++)
			if (strcmp(edges[k].src, pe->from) == 0 && strcmp(edges[k].dst, pe->to) == 0 &&
			    strcmp(edges[k].scope, r->h.scope) == 0)
				pe->seq = eseq[k];
	}
	r->n_path = p->n_edges;
	r->score = p->score;
	r->level = p->level;
	r->hops = p->hops;
	r->valid = 1;
	r->reason[0] = '\0';
done:
	mt_trust_path_free(p);
	mt_engine_free(e);
	free(edges);
	free(eseq);
	return rc;
}

int mt_proof_verify(mt_proof_result **out, const char *buf, size_t len, mt_error *err)
{
	if (!out || (!buf && len))
		return mt_error_set(err, MT_EINVAL, "proof: NULL argument");
	*out = NULL;
	mt_proof_result *r = calloc(1, sizeof *r);
	if (!r)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	struct vstate vs = {.r = r};
	mt_stmt *st = NULL;
	int rc = 0;
	size_t pos = 0, lineno = 0;
	while (pos < len && rc == 0) {
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos;
		pos += ll + (nl ? 1 : 0);
		lineno++;
		if (lineno > MT_PROOF_MAX_LINES) {
			rc = fail(r, "more than %d lines", MT_PROOF_MAX_LINES);
			break;
		}
		if (ll > MT_PROOF_LINE_MAX) {
			rc = fail(r, "line %zu: longer than %d bytes", lineno, MT_PROOF_LINE_MAX);
			break;
		}
		if (ll == 0) {
			rc = fail(r, "line %zu: empty", lineno);
			break;
		}
		if (lineno == 1) {
			rc = parse_header(r, line, ll);
			continue;
		}
		mt_error e = {0};
		if (mt_stmt_redecode(&st, line, ll, INT64_MAX, &e) != 0) {
			rc = e.code == MT_ENOMEM ? -1 : fail(r, "line %zu: a bad statement: %s", lineno, e.msg);
			break;
		}
		r->n_statements++;
		rc = take_statement(&vs, st, lineno);
	}
	mt_stmt_free(st);
	if (rc == 0 && lineno == 0)
		rc = fail(r, "empty bundle (no header)");
	if (rc == 0 && r->n_statements == 0)
		rc = fail(r, "the bundle holds no statements");
	if (rc == 0)
		rc = check_feeds_once(r);
	if (rc == 0)
		rc = recompute(&vs);
	free(vs.ops);
	if (rc < 0) {
		mt_proof_result_free(r);
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	}
	*out = r;
	return 0;
}

void mt_proof_result_free(mt_proof_result *r)
{
	if (!r)
		return;
	free(r->path);
	free(r->feeds);
	free(r);
}

void mt_proof_claim(const mt_proof_result *r, char *buf, size_t size)
{
	if (!size)
		return;
	if (!r || !r->valid) {
		snprintf(buf, size, "nothing: the bundle does not verify");
		return;
	}
	snprintf(buf, size,
		 "a path of score %.6g from %s to %s existed at %lld, given these feed heads "
		 "(each with its ts); later revocations, blocks, rotations or forks are not "
		 "excluded, and %.6g need not be the best score",
		 r->score, r->h.from, r->h.to, (long long)r->h.at, r->score);
}

json_t *mt_proof_result_json(const mt_proof_result *r)
{
	if (!r)
		return NULL;
	if (!r->valid)
		return json_pack("{s:b, s:s}", "valid", 0, "reason", r->reason);
	json_t *decay = json_array(), *path = json_array(), *feeds = json_array();
	int bad = !decay || !path || !feeds;
	for (size_t i = 0; !bad && i < r->h.n_decay; i++)
		bad = json_array_append_new(decay, json_real(r->h.decay[i])) != 0;
	for (size_t i = 0; !bad && i < r->n_path; i++) {
		const mt_proof_edge *e = &r->path[i];
		bad = json_array_append_new(
			      path, json_pack("{s:s, s:s, s:s, s:f, s:I, s:I}", "from", e->from, "to",
					      e->to, "level", mt_level_name(e->level), "score",
					      e->score / 1000.0, "exp", (json_int_t)e->exp, "seq",
					      (json_int_t)e->seq)) != 0;
	}
	for (size_t i = 0; !bad && i < r->n_feeds; i++) {
		const mt_proof_feed *f = &r->feeds[i];
		bad = json_array_append_new(feeds,
					    json_pack("{s:s, s:I, s:I, s:s}", "iss", f->iss, "head_seq",
						      (json_int_t)f->head_seq, "head_ts",
						      (json_int_t)f->head_ts, "head_id",
						      f->head_id)) != 0;
	}
	if (bad) {
		json_decref(decay);
		json_decref(path);
		json_decref(feeds);
		return NULL;
	}
	char claim[1024];
	mt_proof_claim(r, claim, sizeof claim);
	return json_pack("{s:b, s:s, s:s, s:s, s:s, s:I, s:i, s:o, s:f, s:s, s:i, s:o, s:o, s:I, s:s}",
			 "valid", 1, "prover", r->h.prover, "from", r->h.from, "to", r->h.to, "scope", r->h.scope, "at",
			 (json_int_t)r->h.at, "max_depth", r->h.max_depth, "decay", decay, "score",
			 r->score, "level", mt_level_name(r->level), "hops", r->hops, "path", path,
			 "feeds", feeds, "statements", (json_int_t)r->n_statements, "claim", claim);
}
