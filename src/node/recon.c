/* Range-based set reconciliation of feed heads: the contract, the format and
 * the sources are in recon.h; the protocol as the node uses it is in
 * docs/node.md ("Peers and sync").
 *
 * Why sums of hashes: a fingerprint must be computable for any range the
 * other side picks, without state kept per peer. Addition mod 2^256 is a
 * group, so prefix sums give any range's sum as a difference: O(n) once per
 * set, O(log n) per range. The sum is hashed with the count so that the
 * fingerprint itself reveals nothing linear. Crafting a collision needs
 * control over many items' hashes (k-list birthday attacks on the sum); an
 * item's hash covers its head statement id, so only an issuer can choose its
 * own items, and a collision can only hide a difference inside ranges the
 * forger's own feeds sit in — the next change of any feed there, or the
 * listing, finds it. */
#include "recon.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/node.h"

/* ---- bounds ------------------------------------------------------------------ */

/* A range bound: a key prefix, or infinity. The empty bound is the least. */
typedef struct rbound {
	uint8_t inf;
	uint8_t len;
	unsigned char b[NODE_RECON_KEY_MAX];
} rbound;

struct node_recon_task {
	rbound lo, hi;
	uint64_t their_count; /* the server's count in the range, when known */
	int their_known;
	int sent_mode;
};

static int bytes_cmp(const unsigned char *a, size_t al, const unsigned char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	if (c)
		return c;
	return al < bl ? -1 : al > bl ? 1 : 0;
}

static int bound_cmp(const rbound *a, const rbound *b)
{
	if (a->inf || b->inf)
		return a->inf - b->inf;
	return bytes_cmp(a->b, a->len, b->b, b->len);
}

/* key < bound */
static int key_below(const node_recon_item *it, const rbound *b)
{
	return b->inf || bytes_cmp((const unsigned char *)it->key, it->key_len, b->b, b->len) < 0;
}

/* The first item whose key is >= b (n when none). */
static size_t lower_index(const node_recon_set *s, const rbound *b)
{
	size_t lo = 0, hi = s->n;
	if (b->inf)
		return s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (key_below(&s->items[mid], b))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The shortest bound above items[i-1] and at most items[i] (keys distinct). */
static void bound_between(rbound *out, const node_recon_item *prev, const node_recon_item *next)
{
	size_t k = 0;
	while (k < prev->key_len && k < next->key_len && prev->key[k] == next->key[k])
		k++;
	out->inf = 0;
	out->len = (uint8_t)(k + 1 <= next->key_len ? k + 1 : next->key_len);
	memcpy(out->b, next->key, out->len);
}

/* ---- the set ---------------------------------------------------------------- */

static void item_hash(node_recon_item *it)
{
	static const char tag[] = "mesh/v1/recon\n";
	unsigned char seq[8];
	for (int i = 0; i < 8; i++)
		seq[i] = (unsigned char)(it->seq >> (56 - 8 * i));
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const unsigned char *)tag, sizeof tag - 1);
	crypto_generichash_update(&st, &it->key_len, 1);
	crypto_generichash_update(&st, (const unsigned char *)it->key, it->key_len);
	crypto_generichash_update(&st, seq, 8);
	crypto_generichash_update(&st, it->head, 32);
	crypto_generichash_final(&st, it->hash, 32);
}

int node__recon_set_add(node_recon_set *s, const char *key, uint64_t seq,
			const unsigned char head[32], mt_error *err)
{
	size_t k = key ? strlen(key) : 0;
	if (s->sealed)
		return mt_error_set(err, MT_EINVAL, "recon: the set is sealed");
	if (k == 0 || k > NODE_RECON_KEY_MAX)
		return mt_error_set(err, MT_EINVAL, "recon: a key is 1..%d bytes", NODE_RECON_KEY_MAX);
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		node_recon_item *t = realloc(s->items, cap * sizeof *t);
		if (!t)
			return mt_error_set(err, MT_ENOMEM, "out of memory");
		s->items = t;
		s->cap = cap;
	}
	node_recon_item *it = &s->items[s->n];
	memset(it, 0, sizeof *it);
	memcpy(it->key, key, k);
	it->key_len = (uint8_t)k;
	it->seq = seq;
	memcpy(it->head, head, 32);
	item_hash(it);
	s->n++;
	return 0;
}

static int item_cmp(const void *a, const void *b)
{
	const node_recon_item *x = a, *y = b;
	return bytes_cmp((const unsigned char *)x->key, x->key_len, (const unsigned char *)y->key,
			 y->key_len);
}

static void sum_add(uint64_t out[4], const uint64_t a[4], const unsigned char h[32])
{
	unsigned carry = 0;
	for (int l = 0; l < 4; l++) {
		uint64_t v = 0;
		for (int i = 7; i >= 0; i--)
			v = v << 8 | h[8 * l + i];
		uint64_t t = a[l] + v;
		unsigned c1 = t < v;
		uint64_t r = t + carry;
		unsigned c2 = r < t;
		out[l] = r;
		carry = c1 | c2;
	}
}

int node__recon_set_seal(node_recon_set *s, mt_error *err)
{
	if (s->sealed)
		return 0;
	if (s->n > 1)
		qsort(s->items, s->n, sizeof *s->items, item_cmp);
	for (size_t i = 1; i < s->n; i++)
		if (item_cmp(&s->items[i - 1], &s->items[i]) == 0)
			return mt_error_set(err, MT_EINVAL, "recon: key %s twice", s->items[i].key);
	uint64_t(*sums)[4] = calloc(s->n + 1, sizeof *sums);
	if (!sums)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	for (size_t i = 0; i < s->n; i++)
		sum_add(sums[i + 1], sums[i], s->items[i].hash);
	free(s->sums);
	s->sums = sums;
	s->sealed = 1;
	return 0;
}

void node__recon_set_free(node_recon_set *s)
{
	if (!s)
		return;
	free(s->items);
	free(s->sums);
	memset(s, 0, sizeof *s);
}

/* The fingerprint of items [lo, hi). */
static void range_fp(const node_recon_set *s, size_t lo, size_t hi,
		     unsigned char out[NODE_RECON_FP_LEN])
{
	static const uint64_t zero[4];
	const uint64_t *a = s->sums ? s->sums[hi] : zero, *b = s->sums ? s->sums[lo] : zero;
	unsigned char in[40];
	unsigned borrow = 0;
	for (int l = 0; l < 4; l++) {
		uint64_t d = a[l] - b[l];
		unsigned b1 = a[l] < b[l];
		uint64_t r = d - borrow;
		unsigned b2 = d < borrow;
		borrow = b1 | b2;
		for (int i = 0; i < 8; i++)
			in[8 * l + i] = (unsigned char)(r >> (8 * i));
	}
	uint64_t count = hi - lo;
	for (int i = 0; i < 8; i++)
		in[32 + i] = (unsigned char)(count >> (8 * i));
	crypto_generichash(out, NODE_RECON_FP_LEN, in, sizeof in, NULL, 0);
}

/* ---- writing ---------------------------------------------------------------- */

static int put(node_recon_buf *b, const void *p, size_t k)
{
	if (b->len + k > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + k)
			cap *= 2;
		unsigned char *t = realloc(b->p, cap);
		if (!t)
			return MT_ENOMEM;
		b->p = t;
		b->cap = cap;
	}
	if (k)
		memcpy(b->p + b->len, p, k);
	b->len += k;
	return 0;
}

static int put_u8(node_recon_buf *b, unsigned v)
{
	unsigned char c = (unsigned char)v;
	return put(b, &c, 1);
}

static int put_varint(node_recon_buf *b, uint64_t v)
{
	unsigned char t[10];
	size_t k = 0;
	do {
		t[k] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			t[k] |= 0x80;
		k++;
	} while (v);
	return put(b, t, k);
}

/* A message being written: bounds are delta-encoded against the previous one;
 * consecutive SKIP ranges are merged (the last bound wins). */
typedef struct writer {
	node_recon_buf *out;
	rbound prev;     /* the last bound written */
	rbound skip;     /* a SKIP range waiting to be written up to this bound */
	int skip_open;
	int rc;
} writer;

static void put_bound(writer *w, const rbound *b)
{
	if (w->rc)
		return;
	if (b->inf) {
		w->rc = put_u8(w->out, 0xFF);
		w->prev = *b;
		return;
	}
	size_t k = 0;
	while (!w->prev.inf && k < w->prev.len && k < b->len && w->prev.b[k] == b->b[k])
		k++;
	if ((w->rc = put_u8(w->out, (unsigned)k)) || (w->rc = put_u8(w->out, b->len - k)) ||
	    (w->rc = put(w->out, b->b + k, b->len - k)))
		return;
	w->prev = *b;
}

static void flush_skip(writer *w)
{
	if (!w->skip_open)
		return;
	w->skip_open = 0;
	put_bound(w, &w->skip);
	if (!w->rc)
		w->rc = put_u8(w->out, NODE_RECON_SKIP);
}

static void w_skip(writer *w, const rbound *hi)
{
	w->skip = *hi;
	w->skip_open = 1;
}

/* Start a non-SKIP range ending at `hi` (the mode's payload follows). */
static void w_range(writer *w, const rbound *hi, int mode)
{
	flush_skip(w);
	put_bound(w, hi);
	if (!w->rc)
		w->rc = put_u8(w->out, (unsigned)mode);
}

static void w_fp(writer *w, const rbound *hi, const node_recon_set *s, size_t lo, size_t end)
{
	unsigned char fp[NODE_RECON_FP_LEN];
	range_fp(s, lo, end, fp);
	w_range(w, hi, NODE_RECON_FP);
	if (!w->rc)
		w->rc = put_varint(w->out, end - lo);
	if (!w->rc)
		w->rc = put(w->out, fp, sizeof fp);
}

/* Split items [lo, hi) (at least 2) of a range ending at `end` into up to
 * NODE_RECON_BRANCH ranges of equal count, each with its fingerprint. */
static void w_split(writer *w, const rbound *end, const node_recon_set *s, size_t lo, size_t hi)
{
	size_t m = hi - lo, parts = m < NODE_RECON_BRANCH ? m : NODE_RECON_BRANCH;
	for (size_t k = 0; k < parts && !w->rc; k++) {
		size_t a = lo + m * k / parts, z = lo + m * (k + 1) / parts;
		rbound b;
		if (k + 1 == parts)
			b = *end;
		else
			bound_between(&b, &s->items[z - 1], &s->items[z]);
		w_fp(w, &b, s, a, z);
	}
}

static void w_end(writer *w)
{
	flush_skip(w);
}

/* ---- reading ---------------------------------------------------------------- */

typedef struct reader {
	const unsigned char *start, *p, *end;
	rbound prev; /* the last bound read */
	mt_error *err;
} reader;

static int bad(reader *r, const char *what)
{
	mt_error_set(r->err, MT_EINVAL, "reconcile message, byte %zu: %s",
		     (size_t)(r->p - r->start), what);
	return MT_EINVAL;
}

static int get_u8(reader *r, unsigned *v, const char *what)
{
	*v = 0;
	if (r->p >= r->end)
		return bad(r, what);
	*v = *r->p++;
	return 0;
}

static int get_varint(reader *r, uint64_t *v, const char *what)
{
	uint64_t x = 0;
	*v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end)
			return bad(r, what);
		unsigned c = *r->p++;
		if (shift == 63 && (c & 0x7e))
			return bad(r, "varint over 64 bits");
		x |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return bad(r, "varint over 10 bytes");
}

static int get_bytes(reader *r, const unsigned char **p, size_t k, const char *what)
{
	*p = r->p;
	if ((size_t)(r->end - r->p) < k)
		return bad(r, what);
	*p = r->p;
	r->p += k;
	return 0;
}

/* The next range's upper bound; it must be above `lo`. */
static int get_bound(reader *r, const rbound *lo, rbound *out)
{
	unsigned shared, len;
	if (get_u8(r, &shared, "truncated before a bound"))
		return MT_EINVAL;
	if (shared == 0xFF) {
		out->inf = 1;
		out->len = 0;
	} else {
		const unsigned char *sfx;
		if (r->prev.inf || shared > r->prev.len)
			return bad(r, "bound shares more bytes than the previous bound has");
		if (get_u8(r, &len, "truncated bound"))
			return MT_EINVAL;
		if (shared + len == 0 || shared + len > NODE_RECON_KEY_MAX)
			return bad(r, "bound length not in 1..64");
		if (get_bytes(r, &sfx, len, "truncated bound"))
			return MT_EINVAL;
		out->inf = 0;
		memcpy(out->b, r->prev.b, shared);
		memcpy(out->b + shared, sfx, len);
		out->len = (uint8_t)(shared + len);
	}
	if (bound_cmp(out, lo) <= 0)
		return bad(r, "bounds not strictly ascending");
	r->prev = *out;
	return 0;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t id_of(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof v);
	return v;
}

/* ITEMS for a client's IDS range: which of its n ids this set holds, and the
 * items [lo, hi) whose id it did not list. */
static void w_items(writer *w, const rbound *hi, const node_recon_set *s, size_t lo, size_t end,
		    const unsigned char *ids, size_t n)
{
	size_t m = end - lo;
	uint64_t *theirs = malloc((n ? n : 1) * sizeof *theirs);
	uint64_t *mine = malloc((m ? m : 1) * sizeof *mine);
	unsigned char *bits = calloc(n / 8 + 1, 1);
	if (!theirs || !mine || !bits) {
		w->rc = MT_ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		theirs[i] = id_of(ids + i * NODE_RECON_ID_LEN);
	for (size_t i = 0; i < m; i++)
		mine[i] = id_of(s->items[lo + i].hash);
	qsort(theirs, n, sizeof *theirs, u64_cmp);
	qsort(mine, m, sizeof *mine, u64_cmp);
	for (size_t i = 0; i < n; i++) {
		uint64_t v = id_of(ids + i * NODE_RECON_ID_LEN);
		if (m && bsearch(&v, mine, m, sizeof *mine, u64_cmp))
			bits[i / 8] |= (unsigned char)(1u << (i % 8));
	}
	size_t missing = 0;
	for (size_t i = lo; i < end; i++) {
		uint64_t v = id_of(s->items[i].hash);
		if (!n || !bsearch(&v, theirs, n, sizeof *theirs, u64_cmp))
			missing++;
	}
	w_range(w, hi, NODE_RECON_ITEMS);
	if (!w->rc)
		w->rc = put_varint(w->out, n);
	if (!w->rc)
		w->rc = put(w->out, bits, (n + 7) / 8);
	if (!w->rc)
		w->rc = put_varint(w->out, missing);
	for (size_t i = lo; i < end && !w->rc; i++) {
		const node_recon_item *it = &s->items[i];
		uint64_t v = id_of(it->hash);
		if (n && bsearch(&v, theirs, n, sizeof *theirs, u64_cmp))
			continue;
		if (!(w->rc = put_u8(w->out, it->key_len)) &&
		    !(w->rc = put(w->out, it->key, it->key_len)) &&
		    !(w->rc = put_varint(w->out, it->seq)))
			w->rc = put(w->out, it->head, 32);
	}
done:
	free(theirs);
	free(mine);
	free(bits);
}

int node__recon_answer(const node_recon_set *s, const unsigned char *msg, size_t len,
		       node_recon_buf *out, mt_error *err)
{
	if (!s->sealed)
		return mt_error_set(err, MT_EINVAL, "recon: the set is not sealed");
	reader r = {msg, msg, msg + len, {0}, err};
	writer w = {out, {0}, {0}, 0, 0};
	unsigned v;
	if (get_u8(&r, &v, "empty message"))
		return MT_EINVAL;
	if (v != NODE_RECON_VERSION)
		return bad(&r, "unknown version (this node speaks 1)");
	if ((w.rc = put_u8(out, NODE_RECON_VERSION)))
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	rbound lo = {0};
	size_t ilo = 0;
	while (!lo.inf) {
		rbound hi;
		unsigned mode;
		if (get_bound(&r, &lo, &hi) || get_u8(&r, &mode, "truncated before a mode"))
			return MT_EINVAL;
		size_t ihi = lower_index(s, &hi);
		if (mode == NODE_RECON_SKIP) {
			w_skip(&w, &hi);
		} else if (mode == NODE_RECON_FP) {
			uint64_t count;
			const unsigned char *fp;
			unsigned char mine[NODE_RECON_FP_LEN];
			if (get_varint(&r, &count, "truncated count") ||
			    get_bytes(&r, &fp, NODE_RECON_FP_LEN, "truncated fingerprint"))
				return MT_EINVAL;
			range_fp(s, ilo, ihi, mine);
			if (count == ihi - ilo && sodium_memcmp(mine, fp, sizeof mine) == 0)
				w_skip(&w, &hi);
			else if (ihi - ilo <= NODE_RECON_LEAF)
				w_fp(&w, &hi, s, ilo, ihi);
			else
				w_split(&w, &hi, s, ilo, ihi);
		} else if (mode == NODE_RECON_IDS) {
			uint64_t n;
			const unsigned char *ids;
			if (get_varint(&r, &n, "truncated id count"))
				return MT_EINVAL;
			if (n > (uint64_t)(r.end - r.p) / NODE_RECON_ID_LEN)
				return bad(&r, "id count over the bytes present");
			if (get_bytes(&r, &ids, (size_t)n * NODE_RECON_ID_LEN, "truncated ids"))
				return MT_EINVAL;
			w_items(&w, &hi, s, ilo, ihi, ids, (size_t)n);
		} else {
			return bad(&r, "mode not one of skip (0), fingerprint (1), ids (2)");
		}
		if (w.rc)
			return mt_error_set(err, MT_ENOMEM, "out of memory");
		lo = hi;
		ilo = ihi;
	}
	if (r.p != r.end)
		return bad(&r, "bytes after the last range (bound infinity)");
	w_end(&w);
	return w.rc ? mt_error_set(err, MT_ENOMEM, "out of memory") : 0;
}

int node__recon_check(const unsigned char *msg, size_t len, mt_error *err)
{
	node_recon_set empty = {0};
	node_recon_buf out = {0};
	int rc = node__recon_set_seal(&empty, err);
	if (!rc)
		rc = node__recon_answer(&empty, msg, len, &out, err);
	free(out.p);
	node__recon_set_free(&empty);
	return rc;
}

int mt_node_recon_check(const void *msg, size_t len, int as_answer, mt_error *err)
{
	node_recon_set set = {0};
	node_recon_client c;
	node_recon_buf out = {0};
	int rc = 0, started = 0;
	for (int i = 0; i < 40 && !rc; i++) { /* keys 1..52 bytes, some prefixes of others */
		char key[64];
		unsigned char head[32];
		int k = snprintf(key, sizeof key, "12D3KooW%0*d", 1 + (i * 7) % 44, i * 13);
		memset(head, i, sizeof head);
		rc = node__recon_set_add(&set, key, (uint64_t)i + 1, head, err);
		(void)k;
	}
	if (!rc)
		rc = node__recon_set_seal(&set, err);
	if (!rc && !as_answer)
		rc = node__recon_answer(&set, msg, len, &out, err);
	if (!rc && as_answer) {
		if (!(rc = node__recon_client_init(&c, &set, err))) {
			started = 1;
			rc = node__recon_client_next(&c, &out, err);
			rc = rc < 0 ? rc : node__recon_client_take(&c, msg, len, err);
			if (!rc)
				rc = node__recon_client_next(&c, &out, err);
			rc = rc < 0 ? rc : 0;
		}
	}
	if (started)
		node__recon_client_free(&c);
	free(out.p);
	node__recon_set_free(&set);
	return rc;
}

/* ---- the client ------------------------------------------------------------- */

static int task_push(node_recon_task **arr, size_t *n, size_t *cap, const node_recon_task *t)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		node_recon_task *x = realloc(*arr, c * sizeof *x);
		if (!x)
			return MT_ENOMEM;
		*arr = x;
		*cap = c;
	}
	(*arr)[(*n)++] = *t;
	return 0;
}

static int task_cmp(const void *a, const void *b)
{
	return bound_cmp(&((const node_recon_task *)a)->lo, &((const node_recon_task *)b)->lo);
}

int node__recon_client_init(node_recon_client *c, const node_recon_set *own, mt_error *err)
{
	memset(c, 0, sizeof *c);
	if (!own->sealed)
		return mt_error_set(err, MT_EINVAL, "recon: the set is not sealed");
	c->own = own;
	c->mine_only = calloc(own->n + 1, 1);
	node_recon_task all = {.hi = {.inf = 1}};
	if (!c->mine_only || task_push(&c->todo, &c->n_todo, &c->cap_todo, &all)) {
		node__recon_client_free(c);
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	}
	return 0;
}

void node__recon_client_free(node_recon_client *c)
{
	if (!c)
		return;
	free(c->todo);
	free(c->sent);
	free(c->theirs);
	free(c->mine_only);
	memset(c, 0, sizeof *c);
}

static int theirs_cmp(const void *a, const void *b)
{
	return item_cmp(a, b);
}

int node__recon_client_next(node_recon_client *c, node_recon_buf *out, mt_error *err)
{
	const node_recon_set *s = c->own;
	out->len = 0;
	c->n_sent = 0;
	if (!c->n_todo) {
		if (c->n_theirs > 1)
			qsort(c->theirs, c->n_theirs, sizeof *c->theirs, theirs_cmp);
		return 0;
	}
	if (c->rounds >= NODE_RECON_MAX_ROUNDS)
		return mt_error_set(err, MT_EINVAL,
				    "reconciliation did not finish in %d rounds",
				    NODE_RECON_MAX_ROUNDS);
	qsort(c->todo, c->n_todo, sizeof *c->todo, task_cmp);
	writer w = {out, {0}, {0}, 0, 0};
	w.rc = put_u8(out, NODE_RECON_VERSION);
	rbound cur = {0};
	size_t k = 0;
	for (; k < c->n_todo && !w.rc; k++) {
		node_recon_task t = c->todo[k];
		size_t ilo = lower_index(s, &t.lo), ihi = lower_index(s, &t.hi);
		size_t mine = ihi - ilo;
		int ids = mine <= NODE_RECON_LEAF ||
			  (t.their_known && t.their_count <= NODE_RECON_LEAF &&
			   mine <= NODE_RECON_IDS_MAX);
		size_t worst = 3 * (NODE_RECON_KEY_MAX + 2) + 32 +
			       (ids ? mine * NODE_RECON_ID_LEN
				    : NODE_RECON_BRANCH * (NODE_RECON_KEY_MAX + 32));
		if (k && out->len + worst > NODE_RECON_MSG_MAX)
			break; /* the rest waits for the next round */
		if (bound_cmp(&t.lo, &cur) > 0)
			w_skip(&w, &t.lo);
		if (ids) {
			w_range(&w, &t.hi, NODE_RECON_IDS);
			if (!w.rc)
				w.rc = put_varint(out, mine);
			for (size_t i = ilo; i < ihi && !w.rc; i++)
				w.rc = put(out, s->items[i].hash, NODE_RECON_ID_LEN);
			t.sent_mode = NODE_RECON_IDS;
		} else if (!t.their_known) {
			w_fp(&w, &t.hi, s, ilo, ihi);
			t.sent_mode = NODE_RECON_FP;
		} else {
			w_split(&w, &t.hi, s, ilo, ihi);
			t.sent_mode = NODE_RECON_FP;
		}
		if (!w.rc)
			w.rc = task_push(&c->sent, &c->n_sent, &c->cap_sent, &t);
		cur = t.hi;
	}
	if (!w.rc && !cur.inf) {
		rbound inf = {.inf = 1};
		w_skip(&w, &inf);
	}
	w_end(&w);
	if (w.rc)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	memmove(c->todo, c->todo + k, (c->n_todo - k) * sizeof *c->todo);
	c->n_todo -= k;
	c->rounds++;
	return 1;
}

static void mark_mine(node_recon_client *c, size_t i)
{
	if (!c->mine_only[i]) {
		c->mine_only[i] = 1;
		c->n_mine_only++;
	}
}

static int add_theirs(node_recon_client *c, const node_recon_item *it)
{
	if (c->n_theirs == c->cap_theirs) {
		size_t cap = c->cap_theirs ? c->cap_theirs * 2 : 64;
		node_recon_item *t = realloc(c->theirs, cap * sizeof *t);
		if (!t)
			return MT_ENOMEM;
		c->theirs = t;
		c->cap_theirs = cap;
	}
	c->theirs[c->n_theirs++] = *it;
	return 0;
}

/* ITEMS of the server for the client's IDS range [lo, hi) = own [ilo, ihi). */
static int take_items(node_recon_client *c, reader *r, const rbound *lo, const rbound *hi,
		      size_t ilo, size_t ihi)
{
	uint64_t nbits, m;
	const unsigned char *bits;
	if (get_varint(r, &nbits, "truncated bit count"))
		return MT_EINVAL;
	if (nbits != ihi - ilo)
		return bad(r, "bit count is not the number of ids asked");
	if (get_bytes(r, &bits, (size_t)(nbits + 7) / 8, "truncated bits"))
		return MT_EINVAL;
	if (nbits % 8 && bits[nbits / 8] >> (nbits % 8))
		return bad(r, "bits set past the ids asked");
	for (size_t i = 0; i < nbits; i++)
		if (!(bits[i / 8] >> (i % 8) & 1))
			mark_mine(c, ilo + i);
	if (get_varint(r, &m, "truncated item count"))
		return MT_EINVAL;
	/* an item takes at least 1 + 1 + 1 + 32 bytes */
	if (m > (uint64_t)(r->end - r->p) / 35)
		return bad(r, "item count over the bytes present");
	node_recon_item prev = {0};
	for (uint64_t i = 0; i < m; i++) {
		node_recon_item it = {0};
		unsigned klen;
		const unsigned char *key, *head;
		if (get_u8(r, &klen, "truncated item"))
			return MT_EINVAL;
		if (klen == 0 || klen > NODE_RECON_KEY_MAX)
			return bad(r, "item key length not in 1..64");
		if (get_bytes(r, &key, klen, "truncated item key"))
			return MT_EINVAL;
		if (memchr(key, 0, klen))
			return bad(r, "item key holds a NUL byte");
		memcpy(it.key, key, klen);
		it.key_len = (uint8_t)klen;
		if (get_varint(r, &it.seq, "truncated item seq") ||
		    get_bytes(r, &head, 32, "truncated item head"))
			return MT_EINVAL;
		memcpy(it.head, head, 32);
		rbound kb = {.len = it.key_len};
		memcpy(kb.b, it.key, it.key_len);
		if (bound_cmp(&kb, lo) < 0 || !key_below(&it, hi))
			return bad(r, "item key outside its range");
		if (i && item_cmp(&prev, &it) >= 0)
			return bad(r, "item keys not strictly ascending");
		item_hash(&it);
		if (add_theirs(c, &it))
			return mt_error_set(r->err, MT_ENOMEM, "out of memory");
		prev = it;
	}
	return 0;
}

int node__recon_client_take(node_recon_client *c, const unsigned char *msg, size_t len,
			    mt_error *err)
{
	const node_recon_set *s = c->own;
	reader r = {msg, msg, msg + len, {0}, err};
	unsigned v;
	if (get_u8(&r, &v, "empty answer"))
		return MT_EINVAL;
	if (v != NODE_RECON_VERSION)
		return bad(&r, "unknown version");
	rbound lo = {0};
	size_t ilo = 0, j = 0;
	while (!lo.inf) {
		rbound hi;
		unsigned mode;
		if (get_bound(&r, &lo, &hi) || get_u8(&r, &mode, "truncated before a mode"))
			return MT_EINVAL;
		size_t ihi = lower_index(s, &hi);
		if (mode != NODE_RECON_SKIP) {
			while (j < c->n_sent && bound_cmp(&c->sent[j].hi, &lo) <= 0)
				j++;
			if (j == c->n_sent || bound_cmp(&c->sent[j].lo, &lo) > 0 ||
			    bound_cmp(&hi, &c->sent[j].hi) > 0)
				return bad(&r, "answer range outside the ranges asked");
		}
		if (mode == NODE_RECON_SKIP) {
			/* equal, or not asked */
		} else if (mode == NODE_RECON_FP) {
			uint64_t count;
			const unsigned char *fp;
			unsigned char mine[NODE_RECON_FP_LEN];
			if (get_varint(&r, &count, "truncated count") ||
			    get_bytes(&r, &fp, NODE_RECON_FP_LEN, "truncated fingerprint"))
				return MT_EINVAL;
			if (c->sent[j].sent_mode != NODE_RECON_FP)
				return bad(&r, "a fingerprint answers an id list");
			range_fp(s, ilo, ihi, mine);
			if (count == ihi - ilo && memcmp(mine, fp, sizeof mine) == 0) {
				/* equal */
			} else if (count == 0) {
				for (size_t i = ilo; i < ihi; i++)
					mark_mine(c, i);
			} else {
				node_recon_task t = {lo, hi, count, 1, 0};
				if (task_push(&c->todo, &c->n_todo, &c->cap_todo, &t))
					return mt_error_set(err, MT_ENOMEM, "out of memory");
			}
		} else if (mode == NODE_RECON_ITEMS) {
			if (c->sent[j].sent_mode != NODE_RECON_IDS ||
			    bound_cmp(&c->sent[j].lo, &lo) || bound_cmp(&c->sent[j].hi, &hi))
				return bad(&r, "items answer a range not asked by ids");
			int rc = take_items(c, &r, &lo, &hi, ilo, ihi);
			if (rc)
				return rc;
		} else {
			return bad(&r, "mode not one of skip (0), fingerprint (1), items (3)");
		}
		lo = hi;
		ilo = ihi;
	}
	if (r.p != r.end)
		return bad(&r, "bytes after the last range (bound infinity)");
	c->n_sent = 0;
	return 0;
}
