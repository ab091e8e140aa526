/* Store: key events (SPEC §9.1 feed time, §9.2 pre-rotation, rotation,
 * recovery), tested against the SPEC rather than against the store:
 *
 * - commitment, second key, ts going back, refusal on arrival, legacy
 *   rotates, the stolen-key story (pending, then taking effect, voiding the
 *   thief's statements, carrying edges), rotate into an existing identity,
 *   contested feeds, key.maxRollback, a `key` older than its rotate, chains
 *   of rotations, issue_rotate, issue's ts, the theft alarm;
 * - order independence: the same statements in many arrival orders give the
 *   derived dump of in-order arrival and of a rebuild. A rotate offered
 *   before the commitment it needs is refused on arrival by design; such
 *   refused statements are re-offered at the end, like a sync retry;
 * - tests/vectors/key-events.json, the project's own vectors (format:
 *   docs/identity.md, "Vectors"): `test_store_keys --write-vectors FILE`
 *   writes them from the case table below, whose EXPECTED outcomes are
 *   written by hand from the SPEC; the test loads the file and checks every
 *   case against a fresh store. MT_KEY_EVENTS_VECTORS overrides the path. */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meshtrust/encoding.h"
#include "meshtrust/store.h"
#include "testutil.h"
#include "teststore.h"

#define NK 9
enum { A, B, C, D, E, W, X, Y, Z };
static const char *const LABEL[NK] = {"A", "B", "C", "D", "E", "W", "X", "Y", "Z"};

#define T0 1700000000
#define DAY 86400

struct fx {
	char *dir;
	char path[4200];
	mt_store *s;
	mt_keypair k[NK];
	char id[NK][MT_NODE_ID_MAX];
};

static mt_keypair KP[NK];
static char ID[NK][MT_NODE_ID_MAX];

static void keys_init(void)
{
	mt_test_keypairs(KP, ID, NK, 0x41);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	f->dir = mt_test_tmpdir();
	snprintf(f->path, sizeof f->path, "%s/trust.db", f->dir);
	assert_int_equal(mt_test_store_open(&f->s, f->path, NULL), 0);
	keys_init();
	memcpy(f->k, KP, sizeof KP);
	memcpy(f->id, ID, sizeof ID);
	*state = f;
	return 0;
}

static void owned_free(void);

static int teardown(void **state)
{
	struct fx *f = *state;
	mt_store_close(f->s);
	owned_free();
	mt_test_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Close the fixture's store and open a fresh, empty one in its place. */
static void fresh_store(struct fx *f)
{
	mt_store_close(f->s);
	mt_test_store_drop(f->path);
	assert_int_equal(mt_test_store_open(&f->s, f->path, NULL), 0);
}

/* ---- statements ------------------------------------------------------------------ */

/* Every statement a test makes is owned here and freed by the teardown, so
 * that a failing test (cmocka jumps out of it) leaks nothing under valgrind. */
static mt_stmt **owned;
static size_t n_owned, cap_owned;

static mt_stmt *own(mt_stmt *st)
{
	if (n_owned == cap_owned) {
		cap_owned = cap_owned ? cap_owned * 2 : 256;
		mt_stmt **p = realloc(owned, cap_owned * sizeof *p);
		if (!p)
			abort();
		owned = p;
	}
	owned[n_owned++] = st;
	return st;
}

static void owned_free(void)
{
	for (size_t i = 0; i < n_owned; i++)
		mt_stmt_free(owned[i]);
	free(owned);
	owned = NULL;
	n_owned = cap_owned = 0;
}


static void next_hex(char out[65], int who)
{
	unsigned char h[32];
	mt_blake2b256(h, KP[who].pk, 32);
	mt_hex_encode(out, 65, h, 32);
}

static json_t *b_trust(int target, const char *level, int score)
{
	return json_pack("{s:s,s:s,s:s,s:i}", "type", "trust", "target", ID[target], "level", level,
			 "score", score);
}

static json_t *b_revoke(int target)
{
	return json_pack("{s:s,s:s,s:s}", "type", "revoke", "target", ID[target], "scope", "global");
}

/* key {next: H(pk of `next`), from?: id of `from`} */
static json_t *b_key(int next, const mt_stmt *from)
{
	char h[65];
	next_hex(h, next);
	json_t *b = json_pack("{s:s,s:s}", "type", "key", "next", h);
	if (from) {
		char fid[65];
		mt_stmt_id_hex(fid, from);
		json_object_set_new(b, "from", json_string(fid));
	}
	return b;
}

/* pre-rotation rotate {new} */
static json_t *b_rot(int new_id)
{
	return json_pack("{s:s,s:s}", "type", "rotate", "new", ID[new_id]);
}

/* legacy two-signature rotate of `old` to `new_id` (newsig by the new key) */
static json_t *b_legacy(int old, int new_id)
{
	char msg[256], sig[100];
	unsigned char raw[64];
	int n = snprintf(msg, sizeof msg, "mesh/v1/rotate\n%s\n%s", ID[old], ID[new_id]);
	crypto_sign_detached(raw, NULL, (unsigned char *)msg, (size_t)n, KP[new_id].sk);
	sodium_bin2base64(sig, sizeof sig, raw, 64, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return json_pack("{s:s,s:s,s:s}", "type", "rotate", "new", ID[new_id], "newsig", sig);
}

/* Sign `body` (consumed) for issuer `iss` with key `signer` at seq, after
 * `prev` (NULL for seq 1). signer != iss only for a pre-rotation rotate. */
static mt_stmt *sg(int iss, int signer, json_t *body, uint64_t seq, const mt_stmt *prev, int64_t ts)
{
	mt_stmt *st = NULL;
	mt_error err = {0};
	int rc = iss == signer
		     ? mt_stmt_sign(&st, body, &KP[iss], seq, prev ? prev->id : NULL, ts, &err)
		     : mt_stmt_sign_for(&st, body, ID[iss], &KP[signer], seq, prev ? prev->id : NULL,
					ts, &err);
	json_decref(body);
	if (rc != 0)
		fail_msg("sign: %s", err.msg);
	return own(st);
}

/* Statement of issuer i, signed by its own key. */
static mt_stmt *by(int i, json_t *body, uint64_t seq, const mt_stmt *prev, int64_t ts)
{
	return sg(i, i, body, seq, prev, ts);
}

/* ---- store helpers ---------------------------------------------------------------- */

static void put(struct fx *f, const mt_stmt *st)
{
	mt_ingest_result r;
	mt_error err = {0};
	if (mt_store_ingest(f->s, st, &r, &err) != 0)
		fail_msg("ingest seq %" PRIu64 " of %s: %s", st->seq, st->iss, err.msg);
	assert_int_equal(r, MT_INGEST_ACCEPTED);
}

static void put_all(struct fx *f, mt_stmt *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put(f, v[i]);
}

/* Refused on arrival with a message containing `why`; nothing stored. */
static void put_refused(struct fx *f, const mt_stmt *st, const char *why)
{
	char before[65], after[65];
	uint64_t nb = 0, na = 0;
	assert_int_equal(mt_store_digest_hex(f->s, before, &nb, NULL), 0);
	mt_ingest_result r;
	mt_error err = {0};
	int rc = mt_store_ingest(f->s, st, &r, &err);
	if (rc != MT_EINVAL)
		fail_msg("expected refusal (%s), got rc %d: %s", why, rc, err.msg);
	if (!strstr(err.msg, why))
		fail_msg("refusal reason \"%s\" does not say \"%s\"", err.msg, why);
	mt_error e2 = {0};
	assert_int_equal(mt_store_rotate_admissible(f->s, st, &e2), MT_EINVAL);
	assert_non_null(strstr(e2.msg, why));
	assert_int_equal(mt_store_digest_hex(f->s, after, &na, NULL), 0);
	assert_string_equal(before, after);
	assert_int_equal(nb, na);
}

static mt_key_status ks(struct fx *f, int i)
{
	mt_key_status k;
	mt_error err = {0};
	if (mt_store_key_status(f->s, ID[i], &k, &err) != 0)
		fail_msg("key status: %s", err.msg);
	return k;
}

/* The applied head: seq and (when `head` is given) which statement. */
static void assert_head(struct fx *f, int i, uint64_t seq, const mt_stmt *head)
{
	mt_feed_info fi;
	assert_int_equal(mt_store_feed(f->s, ID[i], &fi, NULL), 0);
	if (fi.head_seq != seq)
		fail_msg("%s: head seq %" PRIu64 ", expected %" PRIu64, LABEL[i], fi.head_seq, seq);
	if (head)
		assert_memory_equal(fi.head_id, head->id, 32);
	assert_int_equal(ks(f, i).head_seq, seq);
}

/* rotated_to (-1: none), newest, contested, pending */
static void assert_keys(struct fx *f, int i, int rotated_to, int newest, int contested,
			int pending)
{
	mt_key_status k = ks(f, i);
	if (strcmp(k.rotated_to, rotated_to < 0 ? "" : ID[rotated_to]) != 0)
		fail_msg("%s: rotated_to \"%s\", expected %s", LABEL[i], k.rotated_to,
			 rotated_to < 0 ? "none" : LABEL[rotated_to]);
	if (strcmp(k.newest, ID[newest]) != 0)
		fail_msg("%s: newest %s, expected %s", LABEL[i], k.newest, LABEL[newest]);
	char out[MT_NODE_ID_MAX];
	assert_int_equal(mt_store_newest_id(f->s, ID[i], out, NULL), 0);
	assert_string_equal(out, ID[newest]);
	if (k.contested != contested)
		fail_msg("%s: contested %d, expected %d", LABEL[i], k.contested, contested);
	if (k.rotate_pending != pending)
		fail_msg("%s: pending %d, expected %d", LABEL[i], k.rotate_pending, pending);
}

/* ---- verify findings -------------------------------------------------------------- */

#define MAXF 128
struct finding {
	char kind[32];
	char iss[MT_NODE_ID_MAX];
	uint64_t seq;
	char detail[512];
};
struct findings {
	struct finding v[MAXF];
	size_t n;
};

static void on_issue(const mt_verify_issue *is, void *p)
{
	struct findings *F = p;
	if (F->n == MAXF)
		return;
	struct finding *x = &F->v[F->n++];
	snprintf(x->kind, sizeof x->kind, "%s", is->kind);
	snprintf(x->iss, sizeof x->iss, "%s", is->iss ? is->iss : "");
	x->seq = is->seq;
	snprintf(x->detail, sizeof x->detail, "%s", is->detail ? is->detail : "");
}

static struct findings *verify_all(struct fx *f)
{
	struct findings *F = calloc(1, sizeof *F);
	uint64_t checked = 0, problems = 0;
	mt_error err = {0};
	if (mt_store_verify(f->s, on_issue, F, &checked, &problems, NULL, NULL, &err) != 0)
		fail_msg("verify: %s", err.msg);
	assert_int_equal(problems, F->n);
	return F;
}

/* Number of findings of issuer i at seq (0: any seq) of kind (NULL: any). */
static size_t nfind(const struct findings *F, int i, uint64_t seq, const char *kind)
{
	size_t n = 0;
	for (size_t k = 0; k < F->n; k++)
		if (strcmp(F->v[k].iss, ID[i]) == 0 && (!seq || F->v[k].seq == seq) &&
		    (!kind || strcmp(F->v[k].kind, kind) == 0))
			n++;
	return n;
}

static void print_findings(const struct findings *F)
{
	for (size_t k = 0; k < F->n; k++) {
		const char *who = "?";
		for (int i = 0; i < NK; i++)
			if (strcmp(F->v[k].iss, ID[i]) == 0)
				who = LABEL[i];
		fprintf(stderr, "  finding %s seq %" PRIu64 " %s: %s\n", who, F->v[k].seq,
			F->v[k].kind, F->v[k].detail);
	}
}

/* Exactly `n` findings of this kind for i at seq. */
static void expect_find(struct fx *f, int i, uint64_t seq, const char *kind, size_t n)
{
	struct findings *F = verify_all(f);
	size_t got = nfind(F, i, seq, kind);
	if (got != n) {
		print_findings(F);
		free(F);
		fail_msg("%s seq %" PRIu64 ": %zu finding(s) \"%s\", expected %zu", LABEL[i], seq, got,
			 kind, n);
	}
	free(F);
}

/* ---- edges ------------------------------------------------------------------------ */

/* The global edge src -> dst: 1 found (level, score set), 0 not. */
static int edge(struct fx *f, int src, int dst, mt_level *lvl, int *score)
{
	mt_edge_in *e = NULL;
	size_t n = 0;
	assert_int_equal(mt_store_edges(f->s, &e, &n, INT64_MAX, NULL), 0);
	int found = 0;
	for (size_t k = 0; k < n; k++)
		if (!strcmp(e[k].src, ID[src]) && !strcmp(e[k].dst, ID[dst]) &&
		    !strcmp(e[k].scope, "global")) {
			assert_false(found); /* one edge per (src, dst, scope) */
			found = 1;
			if (lvl)
				*lvl = e[k].level;
			if (score)
				*score = e[k].score;
		}
	free(e);
	return found;
}

static void expect_edge(struct fx *f, int src, int dst, mt_level lvl, int score)
{
	mt_level l;
	int sc;
	if (!edge(f, src, dst, &l, &sc))
		fail_msg("no edge %s -> %s", LABEL[src], LABEL[dst]);
	if (l != lvl || sc != score)
		fail_msg("edge %s -> %s: level %d score %d, expected %d %d", LABEL[src], LABEL[dst],
			 (int)l, sc, (int)lvl, score);
}

static void expect_no_edge(struct fx *f, int src, int dst)
{
	if (edge(f, src, dst, NULL, NULL))
		fail_msg("unexpected edge %s -> %s", LABEL[src], LABEL[dst]);
}

/* ---- dumps ------------------------------------------------------------------------ */

static char *dump(struct fx *f)
{
	char *d = NULL;
	mt_error err = {0};
	if (mt_store_derived_dump(f->s, &d, &err) != 0)
		fail_msg("dump: %s", err.msg);
	return d;
}

/* Print the first differing line of two dumps. */
static void show_diff(const char *what, const char *a, const char *b)
{
	size_t line = 1;
	const char *pa = a, *pb = b;
	while (*pa && *pb) {
		const char *ea = strchr(pa, '\n'), *eb = strchr(pb, '\n');
		size_t la = ea ? (size_t)(ea - pa) : strlen(pa), lb = eb ? (size_t)(eb - pb) : strlen(pb);
		if (la != lb || memcmp(pa, pb, la) != 0) {
			fprintf(stderr, "%s: line %zu differs:\n  < %.*s\n  > %.*s\n", what, line,
				(int)la, pa, (int)lb, pb);
			return;
		}
		pa += la + (ea ? 1 : 0);
		pb += lb + (eb ? 1 : 0);
		line++;
	}
	fprintf(stderr, "%s: one dump ends at line %zu:\n  < %.80s\n  > %.80s\n", what, line, pa,
		pb);
}

static void assert_rebuild_identical(struct fx *f)
{
	char *before = dump(f);
	assert_int_equal(mt_store_rebuild(f->s, NULL, NULL, NULL), 0);
	char *after = dump(f);
	if (strcmp(before, after) != 0) {
		show_diff("incremental vs rebuild", before, after);
		free(before);
		free(after);
		fail_msg("derived state after a rebuild differs from the incremental one");
	}
	free(before);
	free(after);
}

/* ==== 1. commitment, second key ====================================================== */

static void test_commitment_and_second_key(void **state)
{
	struct fx *f = *state;
	mt_stmt *a1 = by(A, b_key(B, NULL), 1, NULL, T0);
	mt_stmt *a2 = by(A, b_trust(X, "full", 1000), 2, a1, T0 + 10);
	mt_stmt *a3 = by(A, b_key(C, NULL), 3, a2, T0 + 20);
	mt_stmt *a4 = by(A, b_trust(Y, "limited", 500), 4, a3, T0 + 30);
	put(f, a1);
	mt_key_status k = ks(f, A);
	char h[65];
	next_hex(h, B);
	assert_string_equal(k.commitment, h);
	assert_int_equal(k.commitment_seq, 1);
	put(f, a2);
	put(f, a3);
	put(f, a4);
	k = ks(f, A);
	assert_string_equal(k.commitment, h); /* the first key's */
	assert_int_equal(k.commitment_seq, 1);
	assert_head(f, A, 4, a4); /* a second key has no effect, the feed goes on */
	expect_edge(f, A, Y, MT_LEVEL_LIMITED, 500);
	expect_find(f, A, 3, "second-key", 1);
	struct findings *F = verify_all(f);
	assert_int_equal(F->n, 1);
	free(F);
	assert_keys(f, A, -1, A, 0, 0);
	assert_rebuild_identical(f);
	/* A rotate signed by C (the second key's next) is admitted on arrival —
	 * a key of A commits to it — but has no effect: the commitment is A1's. */
	mt_stmt *r = sg(A, C, b_rot(C), 5, a4, T0 + 40);
	put(f, r);
	mt_stmt *c1 = by(C, b_key(D, r), 1, NULL, T0 + 50);
	put(f, c1);
	assert_keys(f, A, -1, A, 0, 0);
	assert_head(f, A, 4, a4);
	expect_find(f, A, 5, "rotate-no-commitment", 1);
	assert_rebuild_identical(f);
}

/* ==== 2. ts going back ================================================================ */

static void ts_back_set(mt_stmt *v[3])
{
	v[0] = by(A, b_trust(X, "full", 1000), 1, NULL, T0 + 100);
	v[1] = by(A, b_trust(Y, "full", 1000), 2, v[0], T0 + 50); /* back in time */
	v[2] = by(A, b_trust(Z, "full", 1000), 3, v[1], T0 + 200);
}

static void ts_back_check(struct fx *f, mt_stmt *v[3])
{
	assert_head(f, A, 1, v[0]);
	expect_edge(f, A, X, MT_LEVEL_FULL, 1000);
	expect_no_edge(f, A, Y);
	expect_no_edge(f, A, Z);
	expect_find(f, A, 2, "ts-back", 1);
	struct findings *F = verify_all(f);
	assert_int_equal(F->n, 1);
	free(F);
}

static void test_ts_back(void **state)
{
	struct fx *f = *state;
	mt_stmt *v[3];
	ts_back_set(v);
	static const int orders[][3] = {{0, 1, 2}, {2, 1, 0}, {1, 2, 0}, {0, 2, 1}};
	char *first = NULL;
	for (size_t o = 0; o < sizeof orders / sizeof orders[0]; o++) {
		fresh_store(f);
		for (int i = 0; i < 3; i++)
			put(f, v[orders[o][i]]);
		ts_back_check(f, v);
		char *d = dump(f);
		if (!first)
			first = d;
		else {
			if (strcmp(first, d) != 0)
				show_diff("ts-back orders", first, d);
			assert_string_equal(first, d);
			free(d);
		}
		assert_rebuild_identical(f);
		ts_back_check(f, v);
	}
	free(first);
	/* issue on top of a feed whose later statement went back: refused? no —
	 * issue takes head+1 only when nothing is held beyond the head. */
}

/* ts going back at a seq that is also forked: the feed stops at the fork;
 * whatever is reported, it must not depend on the arrival order, and a
 * rebuild must give the same derived state (SPEC §2). */
static void test_ts_back_at_forked_seq_order(void **state)
{
	struct fx *f = *state;
	mt_stmt *a1 = by(A, b_trust(X, "full", 1000), 1, NULL, T0 + 100);
	mt_stmt *a2 = by(A, b_trust(Y, "full", 1000), 2, a1, T0 + 50);  /* ts back */
	mt_stmt *a2b = by(A, b_trust(Z, "full", 1000), 2, a1, T0 + 150); /* a fork of it */
	mt_stmt *v[3] = {a1, a2, a2b};
	static const int P[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
	char *first = NULL;
	int bad = 0;
	for (int o = 0; o < 6; o++) {
		fresh_store(f);
		for (int i = 0; i < 3; i++)
			put(f, v[P[o][i]]);
		assert_head(f, A, 1, a1);
		char *d = dump(f);
		assert_int_equal(mt_store_rebuild(f->s, NULL, NULL, NULL), 0);
		char *r = dump(f);
		if (strcmp(d, r) != 0) {
			fprintf(stderr, "order %d %d %d:\n", P[o][0], P[o][1], P[o][2]);
			show_diff("incremental vs rebuild", d, r);
			bad = 1;
		}
		if (!first)
			first = r;
		else {
			if (strcmp(first, r) != 0)
				bad = 1;
			free(r);
		}
		free(d);
	}
	free(first);
	if (bad)
		fail_msg("derived state depends on arrival order (ts-back note at a forked seq)");
}

/* ==== 3. refusal on arrival ============================================================ */

static void test_rotate_refused_without_commitment(void **state)
{
	struct fx *f = *state;
	/* no key at all */
	mt_stmt *a1 = by(A, b_trust(X, "full", 1000), 1, NULL, T0);
	put(f, a1);
	mt_stmt *r = sg(A, B, b_rot(B), 2, a1, T0 + 10);
	put_refused(f, r, "no matching commitment held");
	/* a commitment to C: B's key does not match it */
	mt_stmt *d1 = by(D, b_key(C, NULL), 1, NULL, T0);
	put(f, d1);
	mt_stmt *rd = sg(D, B, b_rot(B), 2, d1, T0 + 10);
	put_refused(f, rd, "no matching commitment held");
	/* the new feed's key naming the refused rotate changes nothing */
	mt_stmt *b1 = by(B, b_key(C, rd), 1, NULL, T0 + 20);
	put(f, b1);
	assert_keys(f, D, -1, D, 0, 0);
	assert_head(f, D, 1, d1);
	/* the matching one is admitted */
	mt_stmt *rc = sg(D, C, b_rot(C), 2, d1, T0 + 10);
	assert_int_equal(mt_store_rotate_admissible(f->s, rc, NULL), 0);
	put(f, rc);
	assert_keys(f, D, -1, D, 0, 1);
	assert_rebuild_identical(f);
}

/* ==== 4. legacy rotates ================================================================= */

static void test_legacy_rotate_with_commitment(void **state)
{
	struct fx *f = *state;
	mt_stmt *a1 = by(A, b_key(B, NULL), 1, NULL, T0);
	mt_stmt *a2 = by(A, b_legacy(A, C), 2, a1, T0 + 10);
	mt_stmt *a3 = by(A, b_trust(X, "full", 900), 3, a2, T0 + 20);
	mt_stmt *w1 = by(W, b_trust(A, "full", 800), 1, NULL, T0);
	put(f, w1);
	put(f, a1);
	put(f, a2);
	put(f, a3);
	assert_keys(f, A, -1, A, 0, 0);
	assert_head(f, A, 3, a3);
	expect_find(f, A, 2, "rotate-legacy", 1);
	expect_edge(f, W, A, MT_LEVEL_FULL, 800);
	expect_no_edge(f, W, C);
	expect_edge(f, A, X, MT_LEVEL_FULL, 900);
	assert_rebuild_identical(f);
}

static void test_legacy_rotate_without_commitment(void **state)
{
	struct fx *f = *state;
	mt_stmt *a1 = by(A, b_trust(X, "full", 900), 1, NULL, T0);
	mt_stmt *a2 = by(A, b_legacy(A, C), 2, a1, T0 + 10);
	mt_stmt *a3 = by(A, b_trust(Y, "full", 1000), 3, a2, T0 + 20);
	mt_stmt *w1 = by(W, b_trust(A, "full", 800), 1, NULL, T0);
	put(f, w1);
	put(f, a1);
	put(f, a2);
	put(f, a3);
	assert_keys(f, A, C, C, 0, 0);
	assert_head(f, A, 2, a2);
	expect_edge(f, W, C, MT_LEVEL_FULL, 800); /* edges to A count for C */
	expect_no_edge(f, W, A);
	expect_edge(f, C, X, MT_LEVEL_FULL, 900); /* edges from A count as C's */
	expect_no_edge(f, C, Y);		  /* the old key's later statement: none */
	assert_rebuild_identical(f);
}

/* ==== 5. the stolen-key story ============================================================ */

/* Owner A commits to B, issues seq 1..3 (k = 3); W trusts A; a thief with
 * A's key issues seq 4, 5 (and, with owner_fork, the owner issued its own
 * seq 4 too); the owner's rotate names seq 3 as last good; then B's key
 * {next C, from R}; then B's and W's own statements. */
struct story {
	mt_stmt *a1, *a2, *a3, *t4, *t5, *o4, *r, *b1, *b2, *w1, *w2;
	mt_stmt *v[11];
	size_t n;
};

static void story_make(struct story *s, int owner_fork)
{
	memset(s, 0, sizeof *s);
	s->a1 = by(A, b_key(B, NULL), 1, NULL, T0);
	s->a2 = by(A, b_trust(X, "full", 1000), 2, s->a1, T0 + 10);
	s->a3 = by(A, b_trust(Y, "full", 900), 3, s->a2, T0 + 20);
	s->w1 = by(W, b_trust(A, "full", 800), 1, NULL, T0 + 5);
	s->t4 = by(A, b_trust(Z, "full", 1000), 4, s->a3, T0 + 30);
	s->t5 = by(A, b_revoke(X), 5, s->t4, T0 + 40);
	if (owner_fork)
		s->o4 = by(A, b_trust(Z, "limited", 300), 4, s->a3, T0 + 35);
	s->r = sg(A, B, b_rot(B), 4, s->a3, T0 + 50);
	s->b1 = by(B, b_key(C, s->r), 1, NULL, T0 + 60);
	s->b2 = by(B, b_trust(Y, "limited", 400), 2, s->b1, T0 + 70);
	s->w2 = by(W, b_trust(B, "limited", 300), 2, s->w1, T0 + 80);
	mt_stmt *all[] = {s->a1, s->a2, s->a3, s->w1, s->t4, s->t5, s->o4, s->r, s->b1, s->b2, s->w2};
	for (size_t i = 0; i < 11; i++)
		if (all[i])
			s->v[s->n++] = all[i];
}

/* The final state, whatever the arrival order. */
static void story_check_final(struct fx *f, const struct story *s)
{
	assert_head(f, A, 4, s->r); /* seq 1..3 + the rotate */
	assert_keys(f, A, B, B, 0, 0);
	mt_key_status kb = ks(f, B);
	assert_string_equal(kb.rotated_from, ID[A]);
	char h[65];
	next_hex(h, C);
	assert_string_equal(kb.commitment, h);
	assert_head(f, B, 2, s->b2);
	struct findings *F = verify_all(f);
	size_t voids = nfind(F, A, 0, "void");
	size_t want = s->o4 ? 3 : 2;
	if (voids != want || nfind(F, A, 4, "void") != want - 1 || nfind(F, A, 5, "void") != 1 ||
	    nfind(F, A, 0, "rotate-pending") || nfind(F, A, 0, "contested")) {
		print_findings(F);
		free(F);
		fail_msg("stolen-key story: expected %zu void findings (seq 4, 5) only", want);
	}
	free(F);
	/* edges: W's own edge to B beats the one carried from A; B's own edge
	 * to Y beats A's carried one; A's edge to X is carried (the thief's
	 * revoke is void); the thief's edge to Z is void. */
	expect_edge(f, W, B, MT_LEVEL_LIMITED, 300);
	expect_no_edge(f, W, A);
	expect_edge(f, B, X, MT_LEVEL_FULL, 1000);
	expect_edge(f, B, Y, MT_LEVEL_LIMITED, 400);
	expect_no_edge(f, A, X);
	expect_no_edge(f, A, Y);
	expect_no_edge(f, A, Z);
	expect_no_edge(f, B, Z);
}

static void story_in_order(struct fx *f, struct story *s)
{
	put(f, s->w1);
	put(f, s->a1);
	put(f, s->a2);
	put(f, s->a3);
	assert_head(f, A, 3, s->a3);
	expect_edge(f, W, A, MT_LEVEL_FULL, 800);
	put(f, s->t4);
	put(f, s->t5);
	/* the thief's statements apply until something says otherwise */
	assert_head(f, A, 5, s->t5);
	expect_edge(f, A, Z, MT_LEVEL_FULL, 1000);
	expect_no_edge(f, A, X);
	if (s->o4) {
		put(f, s->o4);
		assert_head(f, A, 3, s->a3); /* forked at 4 */
	}
	put(f, s->r);
	/* pending: the rotate's chain up to its prev applies, no rotation yet */
	assert_head(f, A, 3, s->a3);
	assert_keys(f, A, -1, A, 0, 1);
	expect_find(f, A, 4, "rotate-pending", 1);
	expect_edge(f, W, A, MT_LEVEL_FULL, 800);
	expect_edge(f, A, X, MT_LEVEL_FULL, 1000);
	expect_no_edge(f, A, Z);
	put(f, s->b1);
	/* in effect */
	assert_head(f, A, 4, s->r);
	assert_keys(f, A, B, B, 0, 0);
	expect_edge(f, W, B, MT_LEVEL_FULL, 800); /* to A: counts for B */
	expect_no_edge(f, W, A);
	expect_edge(f, B, X, MT_LEVEL_FULL, 1000); /* from A: counts as B's */
	expect_edge(f, B, Y, MT_LEVEL_FULL, 900);
	put(f, s->b2);
	expect_edge(f, B, Y, MT_LEVEL_LIMITED, 400); /* B's own beats the carried one */
	put(f, s->w2);
	story_check_final(f, s);
}

static void test_stolen_key_story(void **state)
{
	struct fx *f = *state;
	struct story s;
	story_make(&s, 0);
	story_in_order(f, &s);
	assert_rebuild_identical(f);
	story_check_final(f, &s);
}

static void test_stolen_key_story_owner_fork(void **state)
{
	struct fx *f = *state;
	struct story s;
	story_make(&s, 1);
	story_in_order(f, &s);
	expect_find(f, A, 4, "fork", 3); /* thief's 4, owner's 4, the rotate: held evidence */
	assert_rebuild_identical(f);
	story_check_final(f, &s);
}

/* The new ID revokes an edge it carries from the old one: "edges from the
 * old ID count as the new ID's until the new ID issues its own for that
 * (target, scope)" — a revoke is its own statement for (X, global). */
static void test_carried_edge_revoked_by_new_id(void **state)
{
	struct fx *f = *state;
	struct story s;
	story_make(&s, 0);
	put_all(f, s.v, s.n);
	expect_edge(f, B, X, MT_LEVEL_FULL, 1000);
	mt_stmt *b3 = by(B, b_revoke(X), 3, s.b2, T0 + 90);
	put(f, b3);
	expect_no_edge(f, B, X);
	assert_rebuild_identical(f);
	expect_no_edge(f, B, X);
}

/* ==== 6. rotate into an existing identity =============================================== */

static void existing_check(struct fx *f, const mt_stmt *a2)
{
	assert_head(f, A, 2, a2);
	assert_keys(f, A, -1, A, 0, 0);
	expect_find(f, A, 3, "rotate-existing", 1);
	expect_find(f, A, 3, "rotate-pending", 0);
	expect_edge(f, W, A, MT_LEVEL_FULL, 800);
	expect_no_edge(f, W, B);
}

static void test_rotate_existing(void **state)
{
	struct fx *f = *state;
	mt_stmt *b1 = by(B, b_trust(X, "full", 1000), 1, NULL, T0);
	mt_stmt *a1 = by(A, b_key(B, NULL), 1, NULL, T0);
	mt_stmt *a2 = by(A, b_trust(Y, "full", 1000), 2, a1, T0 + 10);
	mt_stmt *w1 = by(W, b_trust(A, "full", 800), 1, NULL, T0);
	mt_stmt *r = sg(A, B, b_rot(B), 3, a2, T0 + 20);
	put(f, w1);
	put(f, b1);
	put(f, a1);
	put(f, a2);
	put(f, r);
	existing_check(f, a2);
	assert_rebuild_identical(f);
	existing_check(f, a2);
}

/* The same statements, the existing identity's seq 1 arriving after the
 * rotate: the outcome is a function of the statements held. */
static void test_rotate_existing_arrives_late(void **state)
{
	struct fx *f = *state;
	mt_stmt *b1 = by(B, b_trust(X, "full", 1000), 1, NULL, T0);
	mt_stmt *a1 = by(A, b_key(B, NULL), 1, NULL, T0);
	mt_stmt *a2 = by(A, b_trust(Y, "full", 1000), 2, a1, T0 + 10);
	mt_stmt *w1 = by(W, b_trust(A, "full", 800), 1, NULL, T0);
	mt_stmt *r = sg(A, B, b_rot(B), 3, a2, T0 + 20);
	put(f, w1);
	put(f, a1);
	put(f, a2);
	put(f, r);
	assert_keys(f, A, -1, A, 0, 1);
	put(f, b1); /* B's seq 1: not a key naming r */
	char *inc = dump(f);
	assert_int_equal(mt_store_rebuild(f->s, NULL, NULL, NULL), 0);
	char *reb = dump(f);
	if (strcmp(inc, reb) != 0)
		show_diff("incremental vs rebuild", inc, reb);
	existing_check(f, a2); /* after the rebuild */
	int same = strcmp(inc, reb) == 0;
	free(inc);
	free(reb);
	if (!same)
		fail_msg("the existing identity's seq 1 arriving after the rotate leaves the rotate "
			 "pending until a rebuild");
}

/* ==== 7. contested ====================================================================== */

static void test_contested_two_rotates(void **state)
{
	struct fx *f = *state;
	mt_stmt *a1 = by(A, b_key(B, NULL), 1, NULL, T0);
	mt_stmt *a2 = by(A, b_trust(X, "full", 1000), 2, a1, T0 + 10);
	mt_stmt *a3 = by(A, b_trust(Y, "full", 1000), 3, a2, T0 + 20);
	mt_stmt *r1 = sg(A, B, b_rot(B), 3, a2, T0 + 30);
	mt_stmt *r2 = sg(A, B, b_rot(B), 4, a3, T0 + 40);
	mt_stmt *b1 = by(B, b_key(C, r1), 1, NULL, T0 + 50);
	mt_stmt *w1 = by(W, b_trust(A, "full", 800), 1, NULL, T0);
	put_all(f, (mt_stmt *[]){w1, a1, a2, a3, r1}, 5);
	assert_keys(f, A, -1, A, 0, 1);
	put(f, r2);
	assert_keys(f, A, -1, A, 1, 0);
	assert_head(f, A, 2, a2); /* the common prefix */
	put(f, b1);
	assert_keys(f, A, -1, A, 1, 0);
	assert_head(f, A, 2, a2);
	expect_find(f, A, 3, "contested", 1);
	expect_find(f, A, 4, "contested", 1);
	expect_edge(f, W, A, MT_LEVEL_FULL, 800);
	expect_no_edge(f, W, B);
	expect_edge(f, A, X, MT_LEVEL_FULL, 1000);
	expect_no_edge(f, A, Y);
	expect_no_edge(f, B, X);
	assert_rebuild_identical(f);
	assert_keys(f, A, -1, A, 1, 0);
}

static void test_contested_two_feeds_one_new(void **state)
{
	struct fx *f = *state;
	mt_stmt *a1 = by(A, b_key(B, NULL), 1, NULL, T0);
	mt_stmt *d1 = by(D, b_key(B, NULL), 1, NULL, T0);
	mt_stmt *ra = sg(A, B, b_rot(B), 2, a1, T0 + 10);
	mt_stmt *rd = sg(D, B, b_rot(B), 2, d1, T0 + 10);
	mt_stmt *b1 = by(B, b_key(C, ra), 1, NULL, T0 + 20);
	put_all(f, (mt_stmt *[]){a1, d1, ra, b1}, 4);
	assert_keys(f, A, B, B, 0, 0);
	put(f, rd);
	assert_keys(f, A, -1, A, 1, 0);
	assert_keys(f, D, -1, D, 1, 0);
	assert_head(f, A, 1, a1);
	assert_head(f, D, 1, d1);
	expect_find(f, A, 2, "contested", 1);
	expect_find(f, D, 2, "contested", 1);
	assert_rebuild_identical(f);
	assert_keys(f, A, -1, A, 1, 0);
}

/* ==== 8. key.maxRollback ================================================================= */

/* A commits, issues seq 2 at T0+1; a rotate at seq 2 (dropping seq 2) with
 * ts = T0 + 1 + 30 days + extra. */
static void rollback_case(struct fx *f, int64_t extra, int valid)
{
	fresh_store(f);
	mt_stmt *a1 = by(A, b_key(B, NULL), 1, NULL, T0);
	mt_stmt *a2 = by(A, b_trust(X, "full", 1000), 2, a1, T0 + 1);
	mt_stmt *r = sg(A, B, b_rot(B), 2, a1, T0 + 1 + 30 * DAY + extra);
	mt_stmt *b1 = by(B, b_key(C, r), 1, NULL, T0 + 1 + 30 * DAY + extra);
	put_all(f, (mt_stmt *[]){a1, a2, r, b1}, 4);
	if (valid) {
		assert_head(f, A, 2, r);
		assert_keys(f, A, B, B, 0, 0);
		expect_find(f, A, 2, "void", 1);
		expect_find(f, A, 2, "rotate-rollback", 0);
	} else {
		/* no effect: the rotate is then one more statement at seq 2, a
		 * fork (SPEC §2) that nothing lifts — the feed ends at seq 1 */
		assert_head(f, A, 1, a1);
		assert_keys(f, A, -1, A, 0, 0);
		expect_find(f, A, 2, "rotate-rollback", 1);
	}
	assert_rebuild_identical(f);
}

static void test_max_rollback(void **state)
{
	struct fx *f = *state;
	rollback_case(f, 1, 0);	      /* seq 2 is 30 days + 1 s older: it must stay */
	rollback_case(f, 0, 1);	      /* exactly 30 days: not "more than" */
	rollback_case(f, -DAY, 1);     /* 29 days */
	rollback_case(f, 365 * DAY, 0); /* a year */
	/* a rotate that keeps everything may come any time later */
	fresh_store(f);
	mt_stmt *a1 = by(A, b_key(B, NULL), 1, NULL, T0);
	mt_stmt *a2 = by(A, b_trust(X, "full", 1000), 2, a1, T0 + 1);
	mt_stmt *r = sg(A, B, b_rot(B), 3, a2, T0 + 400 * DAY);
	mt_stmt *b1 = by(B, b_key(C, r), 1, NULL, T0 + 400 * DAY);
	put_all(f, (mt_stmt *[]){a1, a2, r, b1}, 4);
	assert_keys(f, A, B, B, 0, 0);
	assert_head(f, A, 3, r);
}

/* A thief holding only identity.key forks the commitment itself: its own
 * `key` at seq 1 (committing to the thief's next key T = E), then a rotate
 * signed by E into E, and E's key naming it. The owner's identity is more
 * than 30 days old: the thief's chain drops the owner's seq 1 and 2, older
 * than 30 days before the thief's rotate, so key.maxRollback denies it —
 * a stolen identity.key must not take an identity over (SPEC §9.2). */
static void test_thief_forks_commitment_old_identity(void **state)
{
	struct fx *f = *state;
	mt_stmt *a1 = by(A, b_key(B, NULL), 1, NULL, T0);
	mt_stmt *a2 = by(A, b_trust(X, "full", 1000), 2, a1, T0 + 10);
	mt_stmt *w1 = by(W, b_trust(A, "full", 800), 1, NULL, T0);
	int64_t t = T0 + 60 * DAY;
	mt_stmt *t1 = by(A, b_key(E, NULL), 1, NULL, t); /* the thief's, A's key */
	mt_stmt *rt = sg(A, E, b_rot(E), 2, t1, t + 10);
	mt_stmt *e1 = by(E, b_key(C, rt), 1, NULL, t + 20);
	put_all(f, (mt_stmt *[]){w1, a1, a2, t1, rt, e1}, 6);
	mt_key_status k = ks(f, A);
	int taken = strcmp(k.rotated_to, ID[E]) == 0 || edge(f, W, E, NULL, NULL);
	if (taken)
		fail_msg("a thief holding only A's identity.key took A over: rotated_to E, W's edge "
			 "to A counts for E");
	expect_find(f, A, 2, "rotate-rollback", 1);
	assert_rebuild_identical(f);
}

/* The other side of key.maxRollback over every statement held (SPEC §9.2,
 * literally): a thief holding only identity.key of an identity older than 30
 * days signs two statements at the owner's next seq, both dated more than 30
 * days back (ts never lower than the owner's head, so no ts-back). No chain
 * can hold both: the owner's rotate has no effect, whatever it keeps — the
 * identity cannot be recovered (destroyed with one key, never taken over).
 * Reported to the lead as a SPEC question; this asserts the SPEC's rules. */
static void test_backdated_forks_block_recovery(void **state)
{
	struct fx *f = *state;
	int64_t now = T0 + 100 * DAY;
	mt_stmt *a1 = by(A, b_key(B, NULL), 1, NULL, T0);
	mt_stmt *a2 = by(A, b_trust(X, "full", 1000), 2, a1, T0 + 10);
	mt_stmt *t3 = by(A, b_trust(Z, "full", 1000), 3, a2, T0 + 20);	 /* backdated */
	mt_stmt *t3b = by(A, b_trust(Y, "full", 1000), 3, a2, T0 + 30); /* backdated */
	mt_stmt *r = sg(A, B, b_rot(B), 3, a2, now);
	mt_stmt *b1 = by(B, b_key(C, r), 1, NULL, now + 10);
	put_all(f, (mt_stmt *[]){a1, a2, t3, t3b, r, b1}, 6);
	assert_keys(f, A, -1, A, 0, 0);
	expect_find(f, A, 3, "rotate-rollback", 1);
	expect_no_edge(f, B, Z);
	expect_no_edge(f, A, Z);
	assert_head(f, A, 2, a2); /* forked at 3 */
	assert_rebuild_identical(f);
}

/* A feed committed after the fact (`mesh key commit`: the key at seq 2):
 * a rotate whose chain drops that key has no commitment. */
static void test_late_commitment(void **state)
{
	struct fx *f = *state;
	mt_stmt *a1 = by(A, b_trust(X, "full", 1000), 1, NULL, T0);
	mt_stmt *a2 = by(A, b_key(B, NULL), 2, a1, T0 + 10);
	mt_stmt *a3 = by(A, b_trust(Y, "full", 1000), 3, a2, T0 + 20);
	put_all(f, (mt_stmt *[]){a1, a2, a3}, 3);
	mt_key_status k = ks(f, A);
	assert_int_equal(k.commitment_seq, 2);
	mt_stmt *r = sg(A, B, b_rot(B), 2, a1, T0 + 30); /* drops the key */
	put(f, r);
	mt_stmt *b1 = by(B, b_key(C, r), 1, NULL, T0 + 40);
	put(f, b1);
	assert_keys(f, A, -1, A, 0, 0);
	expect_find(f, A, 2, "rotate-no-commitment", 1);
	assert_rebuild_identical(f);
}

/* ==== 9. a key `from` older than its rotate ============================================== */

/* SPEC §9.1: a statement whose ts is lower than that of a statement it names
 * (a rotate) has no effect. The new feed's key is not (yet) the key naming
 * the rotate that the rotate waits for: the rotate stays pending, and the
 * key commits nothing. */
static void test_key_from_older_than_rotate(void **state)
{
	struct fx *f = *state;
	mt_stmt *a1 = by(A, b_key(B, NULL), 1, NULL, T0);
	mt_stmt *a2 = by(A, b_trust(X, "full", 1000), 2, a1, T0 + 10);
	mt_stmt *r = sg(A, B, b_rot(B), 3, a2, T0 + 100);
	mt_stmt *b1 = by(B, b_key(C, r), 1, NULL, T0 + 50); /* older than r */
	put_all(f, (mt_stmt *[]){a1, a2, r, b1}, 4);
	assert_keys(f, A, -1, A, 0, 1);
	assert_head(f, A, 2, a2);
	expect_find(f, A, 3, "rotate-pending", 1);
	expect_find(f, A, 3, "rotate-existing", 0);
	assert_string_equal(ks(f, B).commitment, ""); /* the key has no effect */
	assert_rebuild_identical(f);
}

/* ==== 10. chains of rotations ============================================================= */

static void test_chain_a_b_c(void **state)
{
	struct fx *f = *state;
	mt_stmt *a1 = by(A, b_key(B, NULL), 1, NULL, T0);
	mt_stmt *a2 = by(A, b_trust(X, "full", 1000), 2, a1, T0 + 10);
	mt_stmt *ra = sg(A, B, b_rot(B), 3, a2, T0 + 20);
	mt_stmt *b1 = by(B, b_key(C, ra), 1, NULL, T0 + 30);
	mt_stmt *b2 = by(B, b_trust(Y, "limited", 600), 2, b1, T0 + 40);
	mt_stmt *rb = sg(B, C, b_rot(C), 3, b2, T0 + 50);
	mt_stmt *c1 = by(C, b_key(D, rb), 1, NULL, T0 + 60);
	mt_stmt *w1 = by(W, b_trust(A, "full", 800), 1, NULL, T0);
	mt_stmt *v[] = {w1, a1, a2, ra, b1, b2, rb, c1};
	put_all(f, v, 8);
	assert_keys(f, A, B, C, 0, 0);
	assert_keys(f, B, C, C, 0, 0);
	assert_keys(f, C, -1, C, 0, 0);
	assert_string_equal(ks(f, C).rotated_from, ID[B]);
	expect_edge(f, W, C, MT_LEVEL_FULL, 800);
	expect_no_edge(f, W, A);
	expect_no_edge(f, W, B);
	expect_edge(f, C, X, MT_LEVEL_FULL, 1000);
	expect_edge(f, C, Y, MT_LEVEL_LIMITED, 600);
	struct findings *F = verify_all(f);
	if (F->n) {
		print_findings(F);
		fail_msg("no findings expected on a clean chain of rotations");
	}
	free(F);
	assert_rebuild_identical(f);
	/* in reverse arrival (rotates re-offered when refused) */
	char *in_order = dump(f);
	fresh_store(f);
	mt_stmt *later[8];
	size_t nl = 0;
	for (size_t i = 8; i-- > 0;) {
		mt_ingest_result res;
		if (mt_store_ingest(f->s, v[i], &res, NULL) != 0)
			later[nl++] = v[i];
	}
	for (size_t i = nl; i-- > 0;)
		put(f, later[i]);
	char *rev = dump(f);
	if (strcmp(in_order, rev) != 0)
		show_diff("in order vs reverse", in_order, rev);
	assert_string_equal(in_order, rev);
	free(in_order);
	free(rev);
}

/* A long chain: 11 identities, each rotating into the next. Edges to the
 * first and the first's own edges resolve to the newest ID (SPEC §9.2
 * "chains of rotations resolve to the newest ID"), like newest_id. */
static void test_long_chain(void **state)
{
	struct fx *f = *state;
	enum { N = 11 };
	mt_keypair k[N];
	char id[N][MT_NODE_ID_MAX];
	mt_test_keypairs(k, id, N, 0x90);
	char h[65];
	unsigned char hh[32];
	mt_stmt *prev_rot = NULL;
	json_t *b;
	mt_stmt *st = NULL;
	for (int i = 0; i < N; i++) {
		/* seq 1: key {next: H(k[i+1]) (or X's for the last), from: the rotate into i} */
		mt_blake2b256(hh, i + 1 < N ? k[i + 1].pk : KP[X].pk, 32);
		mt_hex_encode(h, sizeof h, hh, 32);
		b = json_pack("{s:s,s:s}", "type", "key", "next", h);
		if (prev_rot) {
			char fid[65];
			mt_stmt_id_hex(fid, prev_rot);
			json_object_set_new(b, "from", json_string(fid));
		}
		assert_int_equal(mt_stmt_sign(&st, b, &k[i], 1, NULL, T0 + 10 * i, NULL), 0);
		json_decref(b);
		put(f, own(st));
		mt_stmt *k1 = st;
		if (i == 0) {
			b = b_trust(Y, "full", 700);
			assert_int_equal(mt_stmt_sign(&st, b, &k[0], 2, k1->id, T0, NULL), 0);
			json_decref(b);
			put(f, own(st));
			k1 = st;
		}
		if (i + 1 < N) {
			b = json_pack("{s:s,s:s}", "type", "rotate", "new", id[i + 1]);
			assert_int_equal(mt_stmt_sign_for(&st, b, id[i], &k[i + 1], k1->seq + 1,
							  k1->id, T0 + 10 * i + 5, NULL),
					 0);
			json_decref(b);
			put(f, own(st));
			prev_rot = st;
		}
	}
	b = json_pack("{s:s,s:s,s:s,s:i}", "type", "trust", "target", id[0], "level", "full",
		      "score", 600);
	put(f, sg(W, W, b, 1, NULL, T0));
	char out[MT_NODE_ID_MAX];
	assert_int_equal(mt_store_newest_id(f->s, id[0], out, NULL), 0);
	assert_string_equal(out, id[N - 1]);
	mt_edge_in *e = NULL;
	size_t n = 0;
	assert_int_equal(mt_store_edges(f->s, &e, &n, INT64_MAX, NULL), 0);
	int to_newest = 0, from_newest = 0;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(e[i].src, ID[W]) && !strcmp(e[i].dst, id[N - 1]))
			to_newest = 1;
		if (!strcmp(e[i].src, id[N - 1]) && !strcmp(e[i].dst, ID[Y]))
			from_newest = 1;
	}
	free(e);
	if (!to_newest || !from_newest)
		fail_msg("after %d rotations, W's edge to the first ID %s the newest; the first "
			 "ID's edge to Y %s the newest's",
			 N - 1, to_newest ? "reaches" : "does not reach",
			 from_newest ? "is" : "is not");
}

/* A -> B, then B's committed next key is A's own: B rotating back into A
 * has no effect (A's seq 1 is not a key naming it). */
static void test_rotation_cycle(void **state)
{
	struct fx *f = *state;
	mt_stmt *a1 = by(A, b_key(B, NULL), 1, NULL, T0);
	mt_stmt *a2 = by(A, b_trust(X, "full", 1000), 2, a1, T0 + 10);
	mt_stmt *ra = sg(A, B, b_rot(B), 3, a2, T0 + 20);
	mt_stmt *b1 = by(B, b_key(A, ra), 1, NULL, T0 + 30);
	mt_stmt *rb = sg(B, A, b_rot(A), 2, b1, T0 + 40);
	put_all(f, (mt_stmt *[]){a1, a2, ra, b1, rb}, 5);
	assert_keys(f, A, B, B, 0, 0);
	assert_keys(f, B, -1, B, 0, 0);
	assert_head(f, B, 1, b1);
	expect_find(f, B, 2, "rotate-existing", 1);
	assert_rebuild_identical(f);
}

/* ==== 11. issue_rotate, issue ============================================================== */

static mt_stmt *issue(struct fx *f, json_t *body, int who, int64_t ts)
{
	mt_stmt *st = NULL;
	mt_error err = {0};
	int rc = mt_store_issue(f->s, &st, body, &KP[who], ts, &err);
	json_decref(body);
	if (rc != 0)
		fail_msg("issue: %s", err.msg);
	return own(st);
}

/* mt_store_issue_rotate as a caller uses it (no explicit transaction). When
 * it fails only because it cannot open its own transaction (a store bug),
 * note it and retry inside mt_store_begin/commit so that the rest of its
 * behaviour is still tested; the test fails at its end. */
static int tx_bug;
static int issue_rot(struct fx *f, mt_stmt **out, int old, int next, uint64_t last_good,
		     int64_t ts, mt_error *err)
{
	mt_error e = {0};
	int rc = mt_store_issue_rotate(f->s, out, ID[old], &KP[next], last_good, ts, &e);
	if (rc && strstr(e.msg, "within a transaction")) {
		tx_bug = 1;
		assert_int_equal(mt_store_begin(f->s, NULL), 0);
		e = (mt_error){0};
		rc = mt_store_issue_rotate(f->s, out, ID[old], &KP[next], last_good, ts, &e);
		if (rc)
			mt_store_rollback(f->s);
		else
			assert_int_equal(mt_store_commit(f->s, NULL), 0);
	}
	if (err)
		*err = e;
	if (!rc && out)
		own(*out);
	return rc;
}

static void test_issue_rotate(void **state)
{
	struct fx *f = *state;
	mt_error err = {0};
	tx_bug = 0;
	/* no commitment */
	(void)issue(f, b_trust(X, "full", 1000), A, T0);
	assert_int_equal(issue_rot(f, NULL, A, B, 0, T0 + 5, &err),
			 MT_EINVAL);
	assert_non_null(strstr(err.msg, "no commitment"));
	(void)issue(f, b_key(B, NULL), A, T0 + 10);
	mt_stmt *a3 = issue(f, b_trust(Y, "full", 1000), A, T0 + 20);
	/* wrong key: refused, naming it */
	err = (mt_error){0};
	assert_int_equal(issue_rot(f, NULL, A, C, 0, T0 + 30, &err),
			 MT_EINVAL);
	if (!strstr(err.msg, ID[C]))
		fail_msg("the refusal does not name the key given: %s", err.msg);
	/* right key */
	mt_stmt *r = NULL;
	err = (mt_error){0};
	if (issue_rot(f, &r, A, B, 0, T0 + 30, &err) != 0)
		fail_msg("issue_rotate: %s", err.msg);
	assert_int_equal(r->seq, 4);
	assert_memory_equal(r->prev, a3->id, 32);
	assert_string_equal(r->iss, ID[A]);
	assert_string_equal(mt_stmt_str(r, "new"), ID[B]);
	assert_true(mt_stmt_is_prerotate(r));
	assert_keys(f, A, -1, A, 0, 1);
	/* a second rotate: refused */
	err = (mt_error){0};
	assert_int_equal(issue_rot(f, NULL, A, B, 2, T0 + 40, &err),
			 MT_EINVAL);
	/* the old key no longer issues while the rotate is pending */
	json_t *body = b_trust(Z, "full", 1000);
	assert_int_not_equal(mt_store_issue(f->s, NULL, body, &KP[A], T0 + 40, NULL), 0);
	json_decref(body);
	/* the new feed's key */
	mt_stmt *b1 = issue(f, b_key(C, r), B, T0 + 40);
	assert_int_equal(b1->seq, 1);
	assert_keys(f, A, B, B, 0, 0);
	assert_head(f, A, 4, r);
	/* rotated: the old key no longer issues, nor rotates again */
	body = b_trust(Z, "full", 1000);
	assert_int_not_equal(mt_store_issue(f->s, NULL, body, &KP[A], T0 + 50, NULL), 0);
	json_decref(body);
	assert_int_equal(issue_rot(f, NULL, A, B, 0, T0 + 50, NULL),
			 MT_EINVAL);
	uint64_t n = 9;
	assert_int_equal(mt_store_own_foreign(f->s, ID[A], NULL, NULL, &n, NULL), 0);
	assert_int_equal(n, 0); /* the rotate was signed here */
	assert_rebuild_identical(f);
	if (tx_bug)
		fail_msg("mt_store_issue_rotate outside an explicit transaction fails: \"cannot "
			 "start a transaction within a transaction\" (the rest passed inside one)");
}

/* The owner's seq 3 and a thief's seq 3 fork the feed; --last-good 3 picks
 * the statement this store signed. */
static void test_issue_rotate_past_fork(void **state)
{
	struct fx *f = *state;
	tx_bug = 0;
	(void)issue(f, b_key(B, NULL), A, T0);
	mt_stmt *a2 = issue(f, b_trust(X, "full", 1000), A, T0 + 10);
	mt_stmt *o3 = issue(f, b_trust(Y, "full", 1000), A, T0 + 20);
	mt_stmt *t3 = by(A, b_trust(Z, "full", 1000), 3, a2, T0 + 25); /* elsewhere */
	put(f, t3);
	assert_head(f, A, 2, a2);
	mt_stmt *r = NULL;
	mt_error err = {0};
	if (issue_rot(f, &r, A, B, 3, T0 + 30, &err) != 0)
		fail_msg("issue_rotate: %s", err.msg);
	assert_int_equal(r->seq, 4);
	assert_memory_equal(r->prev, o3->id, 32);
	(void)issue(f, b_key(C, r), B, T0 + 40);
	assert_head(f, A, 4, r);
	assert_keys(f, A, B, B, 0, 0);
	expect_find(f, A, 3, "void", 1);
	expect_edge(f, B, Y, MT_LEVEL_FULL, 1000);
	expect_no_edge(f, B, Z);
	assert_rebuild_identical(f);
	if (tx_bug)
		fail_msg("mt_store_issue_rotate outside an explicit transaction fails: \"cannot "
			 "start a transaction within a transaction\" (the rest passed inside one)");
}

/* A thief's copy forks the feed at seq 1 (its own key): nothing is applied,
 * yet the owner rotates from its own chain — the commitment is the first key
 * on the chain the rotate keeps (SPEC §9.2: the rotate wins every fork). */
static void test_issue_rotate_fork_at_seq1(void **state)
{
	struct fx *f = *state;
	mt_stmt *a1 = issue(f, b_key(B, NULL), A, T0);
	mt_stmt *a2 = issue(f, b_trust(X, "full", 1000), A, T0 + 10);
	mt_stmt *t1 = by(A, b_key(E, NULL), 1, NULL, T0 + 15); /* the thief's copy */
	put(f, t1);
	assert_int_equal(ks(f, A).head_seq, 0);
	mt_stmt *r = NULL;
	mt_error err = {0};
	if (issue_rot(f, &r, A, B, 2, T0 + 30, &err) != 0)
		fail_msg("issue_rotate past a fork at seq 1: %s", err.msg);
	assert_memory_equal(r->prev, a2->id, 32);
	(void)issue(f, b_key(C, r), B, T0 + 40);
	assert_keys(f, A, B, B, 0, 0);
	assert_head(f, A, 3, r);
	expect_find(f, A, 1, "void", 1);
	/* the thief's own key cannot do the same: not the owner's chain's commitment */
	mt_stmt *r2 = NULL;
	assert_int_not_equal(issue_rot(f, &r2, A, E, 1, T0 + 50, &err), 0);
	assert_null(r2);
	assert_rebuild_identical(f);
	(void)a1;
}

static void test_issue_ts_raised(void **state)
{
	struct fx *f = *state;
	(void)issue(f, b_trust(X, "full", 1000), A, T0 + 1000);
	mt_stmt *a2 = issue(f, b_trust(Y, "full", 1000), A, T0 + 800); /* 200 s behind */
	assert_int_equal(a2->ts, T0 + 1000);
	assert_head(f, A, 2, a2);
	json_t *body = b_trust(Z, "full", 1000);
	mt_error err = {0};
	assert_int_equal(mt_store_issue(f->s, NULL, body, &KP[A], T0 + 699, &err), MT_EINVAL);
	assert_non_null(strstr(err.msg, "clock"));
	/* 300 s exactly: raised */
	mt_stmt *a3 = issue(f, body, A, T0 + 700);
	assert_int_equal(a3->ts, T0 + 1000);
}

/* ==== 12. theft alarm ======================================================================== */

struct seen {
	uint64_t seq[8];
	unsigned char id[8][32];
	size_t n;
};

static int on_foreign(uint64_t seq, const unsigned char id[32], void *p)
{
	struct seen *s = p;
	if (s->n < 8) {
		s->seq[s->n] = seq;
		memcpy(s->id[s->n], id, 32);
		s->n++;
	}
	return 0;
}

static void test_theft_alarm(void **state)
{
	struct fx *f = *state;
	uint64_t n = 9;
	(void)issue(f, b_key(B, NULL), A, T0);
	mt_stmt *a2 = issue(f, b_trust(X, "full", 1000), A, T0 + 10);
	assert_int_equal(mt_store_own_foreign(f->s, ID[A], NULL, NULL, &n, NULL), 0);
	assert_int_equal(n, 0);
	mt_stmt *t3 = by(A, b_trust(Z, "full", 1000), 3, a2, T0 + 20); /* signed elsewhere */
	put(f, t3);
	struct seen s = {0};
	assert_int_equal(mt_store_own_foreign(f->s, ID[A], on_foreign, &s, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.seq[0], 3);
	assert_memory_equal(s.id[0], t3->id, 32);
	/* survives a rebuild (local, not derived) */
	assert_int_equal(mt_store_rebuild(f->s, NULL, NULL, NULL), 0);
	assert_int_equal(mt_store_own_foreign(f->s, ID[A], NULL, NULL, &n, NULL), 0);
	assert_int_equal(n, 1);
	/* other identities' statements are not counted */
	assert_int_equal(mt_store_own_foreign(f->s, ID[W], NULL, NULL, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_int_equal(mt_store_own_adopt(f->s, ID[A], NULL), 0);
	assert_int_equal(mt_store_own_foreign(f->s, ID[A], NULL, NULL, &n, NULL), 0);
	assert_int_equal(n, 0);
}

/* A home made by this version: a foreign statement of its own feed that
 * arrives before the alarm was first asked for is still foreign (SPEC
 * §9.2: "a statement in the home's own feed that this home did not sign"). */
static void test_theft_alarm_before_first_check(void **state)
{
	struct fx *f = *state;
	mt_stmt *a1 = issue(f, b_key(B, NULL), A, T0);
	mt_stmt *t2 = by(A, b_trust(Z, "full", 1000), 2, a1, T0 + 20); /* signed elsewhere */
	put(f, t2);
	uint64_t n = 0;
	assert_int_equal(mt_store_own_foreign(f->s, ID[A], NULL, NULL, &n, NULL), 0);
	if (n != 1)
		fail_msg("the thief's seq 2 is not reported: the first check adopted it (count %" PRIu64
			 ")",
			 n);
}

/* ==== 13. order independence =================================================================== */

/* Ingest v[perm[i]] in order; refused ones are re-offered at the end until
 * nothing more is accepted (a sync retry). With `batch`, all in one explicit
 * transaction (as sync does), else one transaction per statement. Returns
 * the dump (malloc'd). */
static char *play(struct fx *f, mt_stmt *const *v, const size_t *perm, size_t n, int batch)
{
	fresh_store(f);
	if (batch) /* one transaction: the feed-row cache's path, and fast */
		assert_int_equal(mt_store_begin(f->s, NULL), 0);
	const mt_stmt *pend[32];
	size_t np = 0;
	for (size_t i = 0; i < n; i++) {
		mt_ingest_result r;
		mt_error err = {0};
		int rc = mt_store_ingest(f->s, v[perm[i]], &r, &err);
		if (rc == MT_EINVAL && strstr(err.msg, "no matching commitment held"))
			pend[np++] = v[perm[i]];
		else if (rc)
			fail_msg("ingest: %s", err.msg);
	}
	for (int progress = 1; np && progress;) {
		progress = 0;
		for (size_t i = 0; i < np;) {
			mt_ingest_result r;
			if (mt_store_ingest(f->s, pend[i], &r, NULL) == 0) {
				pend[i] = pend[--np];
				progress = 1;
			} else
				i++;
		}
	}
	assert_int_equal(np, 0);
	if (batch)
		assert_int_equal(mt_store_commit(f->s, NULL), 0);
	return dump(f);
}

static uint64_t rng_state;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int next_perm(size_t *p, size_t n)
{
	if (n < 2)
		return 0;
	size_t i = n - 1;
	while (i > 0 && p[i - 1] >= p[i])
		i--;
	if (i == 0)
		return 0;
	size_t j = n - 1;
	while (p[j] <= p[i - 1])
		j--;
	size_t t = p[i - 1];
	p[i - 1] = p[j];
	p[j] = t;
	for (size_t a = i, b = n - 1; a < b; a++, b--) {
		t = p[a];
		p[a] = p[b];
		p[b] = t;
	}
	return 1;
}

static size_t shuffles(void)
{
	const char *e = getenv("MT_KEYS_SHUFFLES");
	long n = e ? strtol(e, NULL, 10) : 200;
	return n > 0 ? (size_t)n : 200;
}

/* Every order (n ≤ 7) or shuffles() seeded ones: each dump equals the
 * in-order one and the rebuild of the same store. `check` (may be NULL)
 * asserts the outcome on each store. */
static void order_independence(struct fx *f, mt_stmt *const *v, size_t n, const char *what,
			       void (*check)(struct fx *, void *), void *arg)
{
	size_t perm[32] = {0};
	for (size_t i = 0; i < n; i++)
		perm[i] = i;
	char *ref = play(f, v, perm, n, 0); /* one transaction per statement */
	if (check)
		check(f, arg);
	assert_int_equal(mt_store_rebuild(f->s, NULL, NULL, NULL), 0);
	char *reb = dump(f);
	if (strcmp(ref, reb) != 0) {
		show_diff(what, ref, reb);
		fail_msg("%s: in-order ingest and its rebuild differ", what);
	}
	free(reb);
	size_t runs = 0, bad = 0;
	/* (under valgrind the runner sets MT_KEYS_SHUFFLES: sampled orders only) */
	int all = n <= 7 && !getenv("MT_KEYS_SHUFFLES");
	rng_state = 0x9e3779b97f4a7c15ull;
	size_t budget = shuffles();
	for (;;) {
		if (all) {
			if (!next_perm(perm, n))
				break;
		} else {
			if (runs == budget)
				break;
			for (size_t i = n - 1; i > 0; i--) {
				size_t j = (size_t)(rng() % (i + 1));
				size_t t = perm[i];
				perm[i] = perm[j];
				perm[j] = t;
			}
		}
		runs++;
		char *d = play(f, v, perm, n, runs % 8 != 0);
		int ok = strcmp(d, ref) == 0;
		if (ok && check)
			check(f, arg);
		if (ok && runs % 8 == 0) { /* (a rebuild is a function of the statements:
					     equal to the in-order one's, checked above) */
			assert_int_equal(mt_store_rebuild(f->s, NULL, NULL, NULL), 0);
			char *r = dump(f);
			ok = strcmp(r, ref) == 0;
			if (!ok && bad == 0)
				show_diff("this order vs its rebuild", d, r);
			free(r);
		} else if (bad == 0) {
			fprintf(stderr, "%s: order", what);
			for (size_t i = 0; i < n; i++)
				fprintf(stderr, " %zu", perm[i]);
			fprintf(stderr, "\n");
			show_diff("in order vs this order", ref, d);
		}
		bad += !ok;
		free(d);
	}
	free(ref);
	if (bad)
		fail_msg("%s: %zu of %zu arrival orders give another derived state", what, bad,
			 runs);
}

static void story_check_cb(struct fx *f, void *arg)
{
	story_check_final(f, arg);
}

static void test_order_stolen_key(void **state)
{
	struct fx *f = *state;
	struct story s;
	story_make(&s, 1);
	order_independence(f, s.v, s.n, "stolen key, owner fork", story_check_cb, &s);
	story_make(&s, 0);
	order_independence(f, s.v, s.n, "stolen key", story_check_cb, &s);
}

static void contested_check_cb(struct fx *f, void *arg)
{
	(void)arg;
	assert_keys(f, A, -1, A, 1, 0);
	assert_head(f, A, 2, NULL);
}

static void contested2_check_cb(struct fx *f, void *arg)
{
	(void)arg;
	assert_keys(f, A, -1, A, 1, 0);
	assert_keys(f, D, -1, D, 1, 0);
	assert_head(f, A, 1, NULL);
	assert_head(f, D, 1, NULL);
}

static void test_order_contested(void **state)
{
	struct fx *f = *state;
	mt_stmt *a1 = by(A, b_key(B, NULL), 1, NULL, T0);
	mt_stmt *a2 = by(A, b_trust(X, "full", 1000), 2, a1, T0 + 10);
	mt_stmt *a3 = by(A, b_trust(Y, "full", 1000), 3, a2, T0 + 20);
	mt_stmt *r1 = sg(A, B, b_rot(B), 3, a2, T0 + 30);
	mt_stmt *r2 = sg(A, B, b_rot(B), 4, a3, T0 + 40);
	mt_stmt *b1 = by(B, b_key(C, r1), 1, NULL, T0 + 50);
	mt_stmt *v[] = {a1, a2, a3, r1, r2, b1};
	order_independence(f, v, 6, "two rotates of one feed", contested_check_cb, NULL);

	mt_stmt *d1 = by(D, b_key(B, NULL), 1, NULL, T0);
	mt_stmt *ra = sg(A, B, b_rot(B), 2, a1, T0 + 10);
	mt_stmt *rd = sg(D, B, b_rot(B), 2, d1, T0 + 10);
	mt_stmt *bb = by(B, b_key(C, ra), 1, NULL, T0 + 20);
	mt_stmt *w[] = {a1, d1, ra, rd, bb};
	order_independence(f, w, 5, "two feeds into one new", contested2_check_cb, NULL);
}

/* ==== 14. the vectors ============================================================================ */

/* The case table: statements in arrival order, and the outcome the SPEC
 * demands, written by hand (never copied from what the store returns). */
#define VMAXS 16
#define VMAXF 8
#define VMAXE 5

struct vfind {
	uint64_t seq;
	const char *kind;
	const char *reason; /* prefix of the finding's detail */
};

struct vexp {
	int who;	/* label index; -1 ends the list */
	uint64_t head;	/* applied head seq */
	int rotated_to; /* -1 none */
	int newest;
	int contested, pending;
	struct vfind find[VMAXF]; /* every finding of `who`, kind NULL ends */
};

struct vcase {
	const char *name;
	const char *about;
	void (*build)(mt_stmt **v, size_t *n);
	/* refusals on arrival: statement index and a text the reason contains */
	struct {
		int index;
		const char *reason;
	} refused[2];
	struct vexp expect[VMAXE];
};

#define R_NONE -1
#define FIN {0, NULL, NULL}

static void v_valid(mt_stmt **v, size_t *n)
{
	v[0] = by(A, b_key(B, NULL), 1, NULL, T0);
	v[1] = by(A, b_trust(X, "full", 1000), 2, v[0], T0 + 10);
	v[2] = by(W, b_trust(A, "full", 800), 1, NULL, T0 + 20);
	v[3] = sg(A, B, b_rot(B), 3, v[1], T0 + 30);
	v[4] = by(B, b_key(C, v[3]), 1, NULL, T0 + 40);
	*n = 5;
}

static void v_stolen(mt_stmt **v, size_t *n)
{
	struct story s;
	story_make(&s, 1);
	memcpy(v, s.v, s.n * sizeof *v);
	*n = s.n; /* A1 A2 A3 W1 T4 T5 O4 R B1 B2 W2 */
}

static void v_wrong_key(mt_stmt **v, size_t *n)
{
	v[0] = by(A, b_key(B, NULL), 1, NULL, T0);
	v[1] = by(A, b_trust(X, "full", 1000), 2, v[0], T0 + 10);
	v[2] = sg(A, C, b_rot(C), 3, v[1], T0 + 20); /* C's key: A committed to B's */
	v[3] = by(C, b_key(D, v[2]), 1, NULL, T0 + 30);
	*n = 4;
}

static void v_second_rotate(mt_stmt **v, size_t *n)
{
	v[0] = by(A, b_key(B, NULL), 1, NULL, T0);
	v[1] = by(A, b_trust(X, "full", 1000), 2, v[0], T0 + 10);
	v[2] = sg(A, B, b_rot(B), 3, v[1], T0 + 20);
	v[3] = by(B, b_key(C, v[2]), 1, NULL, T0 + 30);
	v[4] = sg(A, B, b_rot(B), 4, v[2], T0 + 40); /* after the first, on its chain */
	*n = 5;
}

static void v_cycle(mt_stmt **v, size_t *n)
{
	v[0] = by(A, b_key(B, NULL), 1, NULL, T0);
	v[1] = by(A, b_trust(X, "full", 1000), 2, v[0], T0 + 10);
	v[2] = sg(A, B, b_rot(B), 3, v[1], T0 + 20);
	v[3] = by(B, b_key(A, v[2]), 1, NULL, T0 + 30); /* B commits to A's key */
	v[4] = sg(B, A, b_rot(A), 2, v[3], T0 + 40);	/* B -> A */
	*n = 5;
}

static void v_legacy(mt_stmt **v, size_t *n)
{
	v[0] = by(A, b_key(B, NULL), 1, NULL, T0);
	v[1] = by(A, b_legacy(A, C), 2, v[0], T0 + 10);
	v[2] = by(A, b_trust(X, "full", 1000), 3, v[1], T0 + 20);
	v[3] = by(W, b_trust(A, "full", 800), 1, NULL, T0 + 30);
	*n = 4;
}

static void v_legacy_uncommitted(mt_stmt **v, size_t *n)
{
	v[0] = by(A, b_trust(X, "full", 1000), 1, NULL, T0);
	v[1] = by(A, b_legacy(A, C), 2, v[0], T0 + 10);
	v[2] = by(W, b_trust(A, "full", 800), 1, NULL, T0 + 30);
	*n = 3;
}

static void v_existing(mt_stmt **v, size_t *n)
{
	v[0] = by(B, b_trust(X, "full", 1000), 1, NULL, T0);
	v[1] = by(A, b_key(B, NULL), 1, NULL, T0 + 10);
	v[2] = by(A, b_trust(Y, "full", 1000), 2, v[1], T0 + 20);
	v[3] = sg(A, B, b_rot(B), 3, v[2], T0 + 30);
	*n = 4;
}

static void v_existing_late(mt_stmt **v, size_t *n)
{
	v[0] = by(A, b_key(B, NULL), 1, NULL, T0 + 10);
	v[1] = by(A, b_trust(Y, "full", 1000), 2, v[0], T0 + 20);
	v[2] = sg(A, B, b_rot(B), 3, v[1], T0 + 30);
	v[3] = by(B, b_trust(X, "full", 1000), 1, NULL, T0);
	*n = 4;
}

static void v_two_rotates(mt_stmt **v, size_t *n)
{
	v[0] = by(A, b_key(B, NULL), 1, NULL, T0);
	v[1] = by(A, b_trust(X, "full", 1000), 2, v[0], T0 + 10);
	v[2] = by(A, b_trust(Y, "full", 1000), 3, v[1], T0 + 20);
	v[3] = sg(A, B, b_rot(B), 3, v[1], T0 + 30);
	v[4] = sg(A, B, b_rot(B), 4, v[2], T0 + 40);
	v[5] = by(B, b_key(C, v[3]), 1, NULL, T0 + 50);
	*n = 6;
}

static void v_two_feeds(mt_stmt **v, size_t *n)
{
	v[0] = by(A, b_key(B, NULL), 1, NULL, T0);
	v[1] = by(D, b_key(B, NULL), 1, NULL, T0);
	v[2] = sg(A, B, b_rot(B), 2, v[0], T0 + 10);
	v[3] = sg(D, B, b_rot(B), 2, v[1], T0 + 10);
	v[4] = by(B, b_key(C, v[2]), 1, NULL, T0 + 20);
	*n = 5;
}

static void v_ts_back(mt_stmt **v, size_t *n)
{
	ts_back_set(v);
	*n = 3;
}

static void v_rollback(mt_stmt **v, size_t *n)
{
	v[0] = by(A, b_key(B, NULL), 1, NULL, T0);
	v[1] = by(A, b_trust(X, "full", 1000), 2, v[0], T0 + 1);
	v[2] = sg(A, B, b_rot(B), 2, v[0], T0 + 2 + 30 * DAY);
	v[3] = by(B, b_key(C, v[2]), 1, NULL, T0 + 2 + 30 * DAY);
	*n = 4;
}

static void v_chain(mt_stmt **v, size_t *n)
{
	v[0] = by(A, b_key(B, NULL), 1, NULL, T0);
	v[1] = sg(A, B, b_rot(B), 2, v[0], T0 + 10);
	v[2] = by(B, b_key(C, v[1]), 1, NULL, T0 + 20);
	v[3] = sg(B, C, b_rot(C), 2, v[2], T0 + 30);
	v[4] = by(C, b_key(D, v[3]), 1, NULL, T0 + 40);
	v[5] = by(W, b_trust(A, "full", 800), 1, NULL, T0 + 50);
	*n = 6;
}

static void v_thief_commit(mt_stmt **v, size_t *n)
{
	int64_t t = T0 + 60 * DAY;
	v[0] = by(A, b_key(B, NULL), 1, NULL, T0);
	v[1] = by(A, b_trust(X, "full", 1000), 2, v[0], T0 + 10);
	v[2] = by(W, b_trust(A, "full", 800), 1, NULL, T0);
	v[3] = by(A, b_key(E, NULL), 1, NULL, t); /* the thief, with A's key */
	v[4] = sg(A, E, b_rot(E), 2, v[3], t + 10);
	v[5] = by(E, b_key(C, v[4]), 1, NULL, t + 20);
	*n = 6;
}

static const struct vcase VCASES[] = {
    {"valid-rotation",
     "A commits to B's key, trusts X; W trusts A; A's rotate to B (signed by B) keeps seq 1..2; "
     "B's feed begins with key {next, from: the rotate}: the rotation takes effect",
     v_valid,
     {{-1, NULL}},
     {{A, 3, B, B, 0, 0, {FIN}}, {B, 1, R_NONE, B, 0, 0, {FIN}}, {W, 1, R_NONE, W, 0, 0, {FIN}},
      {-1, 0, 0, 0, 0, 0, {FIN}}}},
    {"stolen-key",
     "A commits, issues seq 1..3; a thief with A's key issues seq 4 and 5 while the owner issued "
     "its own seq 4; the owner's rotate (seq 4, prev = seq 3) and B's key take effect: the "
     "thief's statements and the owner's forked seq 4 are void, no fork freezes the feed",
     v_stolen,
     {{-1, NULL}},
     {{A,
       4,
       B,
       B,
       0,
       0,
       {{4, "fork", "equivocation"},
	{4, "fork", "equivocation"},
	{4, "fork", "equivocation"},
	{4, "void", "void"},
	{4, "void", "void"},
	{5, "void", "void"},
	FIN}},
      {B, 2, R_NONE, B, 0, 0, {FIN}},
      {W, 2, R_NONE, W, 0, 0, {FIN}},
      {-1, 0, 0, 0, 0, 0, {FIN}}}},
    {"wrong-committed-key",
     "A commits to B's key; a rotate signed by C's key is refused on arrival, never stored; C's "
     "key statement naming it changes nothing",
     v_wrong_key,
     {{2, "no matching commitment held"}, {-1, NULL}},
     {{A, 2, R_NONE, A, 0, 0, {FIN}}, {C, 1, R_NONE, C, 0, 0, {FIN}}, {-1, 0, 0, 0, 0, 0, {FIN}}}},
    {"second-rotate-on-one-chain",
     "after A's rotate to B took effect, a second rotate at seq 4 on its chain (signed by B's "
     "key again): a feed rotates once, the second is void",
     v_second_rotate,
     {{-1, NULL}},
     {{A, 3, B, B, 0, 0, {{4, "rotate-chain", "its chain holds another rotate"}, {4, "void", "void"}, FIN}},
      {B, 1, R_NONE, B, 0, 0, {FIN}},
      {-1, 0, 0, 0, 0, 0, {FIN}}}},
    {"rotation-cycle",
     "A rotates to B; B commits to A's key and rotates back into A: A's seq 1 is not a key naming "
     "that rotate, so it has no effect (nobody rotates into an identity they did not create)",
     v_cycle,
     {{-1, NULL}},
     {{A, 3, B, B, 0, 0, {FIN}},
      {B, 1, R_NONE, B, 0, 0, {{2, "rotate-existing", "the new ID's feed begins"}, FIN}},
      {-1, 0, 0, 0, 0, 0, {FIN}}}},
    {"legacy-rotate-with-commitment",
     "A has a commitment; a two-signature rotate (signed by A's own key) has no effect: the feed "
     "goes on, edges to A stay A's",
     v_legacy,
     {{-1, NULL}},
     {{A, 3, R_NONE, A, 0, 0, {{2, "rotate-legacy", "a rotate signed by the old key"}, FIN}},
      {W, 1, R_NONE, W, 0, 0, {FIN}},
      {-1, 0, 0, 0, 0, 0, {FIN}}}},
    {"legacy-rotate-without-commitment",
     "A has no commitment: the two-signature rotate still ends the feed and redirects edges",
     v_legacy_uncommitted,
     {{-1, NULL}},
     {{A, 2, C, C, 0, 0, {FIN}}, {W, 1, R_NONE, W, 0, 0, {FIN}}, {-1, 0, 0, 0, 0, 0, {FIN}}}},
    {"rotate-into-existing",
     "B is an identity of its own (seq 1 a trust); A's rotate into B has no effect",
     v_existing,
     {{-1, NULL}},
     {{A, 2, R_NONE, A, 0, 0, {{3, "rotate-existing", "the new ID's feed begins"}, FIN}},
      {B, 1, R_NONE, B, 0, 0, {FIN}},
      {-1, 0, 0, 0, 0, 0, {FIN}}}},
    {"rotate-into-existing-late",
     "the same, B's seq 1 arriving after the rotate: the same outcome",
     v_existing_late,
     {{-1, NULL}},
     {{A, 2, R_NONE, A, 0, 0, {{3, "rotate-existing", "the new ID's feed begins"}, FIN}},
      {B, 1, R_NONE, B, 0, 0, {FIN}},
      {-1, 0, 0, 0, 0, 0, {FIN}}}},
    {"two-rotates-of-one-feed",
     "two valid rotates of A (seq 3 after seq 2, seq 4 after seq 3): contested, the feed ends at "
     "their common prefix (seq 2), B's key naming one of them changes nothing",
     v_two_rotates,
     {{-1, NULL}},
     {{A,
       2,
       R_NONE,
       A,
       1,
       0,
       {{3, "fork", "equivocation"}, {3, "contested", "two valid rotates"}, {4, "contested", "two valid rotates"}, FIN}},
      {B, 1, R_NONE, B, 0, 0, {FIN}},
      {-1, 0, 0, 0, 0, 0, {FIN}}}},
    {"two-feeds-into-one-new",
     "A and D both commit to B's key and both rotate into B: both contested",
     v_two_feeds,
     {{-1, NULL}},
     {{A, 1, R_NONE, A, 1, 0, {{2, "contested", "another identity rotates"}, FIN}},
      {D, 1, R_NONE, D, 1, 0, {{2, "contested", "another identity rotates"}, FIN}},
      {B, 1, R_NONE, B, 0, 0, {FIN}},
      {-1, 0, 0, 0, 0, 0, {FIN}}}},
    {"ts-back",
     "seq 2's ts is lower than seq 1's: the applied prefix stops before it",
     v_ts_back,
     {{-1, NULL}},
     {{A, 1, R_NONE, A, 0, 0, {{2, "ts-back", "ts "}, FIN}}, {-1, 0, 0, 0, 0, 0, {FIN}}}},
    {"max-rollback",
     "A's rotate keeps seq 1 only, but seq 2 is more than 30 days older than the rotate "
     "(key.maxRollback): no effect; it stays a second statement at seq 2, a fork, so A's feed "
     "ends at seq 1",
     v_rollback,
     {{-1, NULL}},
     {{A, 1, R_NONE, A, 0, 0, {{2, "fork", "equivocation"}, {2, "rotate-rollback", "it would void seq "}, FIN}},
      {B, 1, R_NONE, B, 0, 0, {FIN}},
      {-1, 0, 0, 0, 0, 0, {FIN}}}},
    {"thief-forks-the-commitment",
     "A (committed to B, 60 days old) is forked at seq 1 by a thief holding only A's key: its "
     "own key (next E), a rotate into E signed by E, E's key naming it. The thief's chain drops "
     "A's seq 1 and 2, more than 30 days older than the rotate (key.maxRollback): no effect; "
     "the fork at seq 1 leaves A nothing applied",
     v_thief_commit,
     {{-1, NULL}},
     {{A,
       0,
       R_NONE,
       A,
       0,
       0,
       {{1, "fork", "equivocation"}, {2, "fork", "equivocation"}, {2, "rotate-rollback", "it would void seq "}, FIN}},
      {E, 1, R_NONE, E, 0, 0, {FIN}},
      {W, 1, R_NONE, W, 0, 0, {FIN}},
      {-1, 0, 0, 0, 0, 0, {FIN}}}},
    {"rotation-chain",
     "A -> B -> C: edges to A count for C",
     v_chain,
     {{-1, NULL}},
     {{A, 2, B, C, 0, 0, {FIN}},
      {B, 2, C, C, 0, 0, {FIN}},
      {C, 1, R_NONE, C, 0, 0, {FIN}},
      {W, 1, R_NONE, W, 0, 0, {FIN}},
      {-1, 0, 0, 0, 0, 0, {FIN}}}},
};
#define NVCASES (sizeof VCASES / sizeof VCASES[0])

static int write_vectors(const char *path)
{
	keys_init();
	json_t *root = json_object();
	json_object_set_new(
	    root, "about",
	    json_string("Key events (SPEC §9.1, §9.2): per case the canonical statements in "
			"arrival order and the outcome the SPEC demands per issuer. Written by "
			"`test_store_keys --write-vectors FILE` from its hand-written case table; "
			"checked by test_store_keys against a fresh store. Format: docs/identity.md, "
			"section 'Vectors'."));
	json_t *ids = json_object();
	for (int i = 0; i < NK; i++)
		json_object_set_new(ids, LABEL[i], json_string(ID[i]));
	json_object_set_new(root, "ids", ids);
	json_t *cases = json_array();
	for (size_t c = 0; c < NVCASES; c++) {
		const struct vcase *vc = &VCASES[c];
		mt_stmt *v[VMAXS];
		size_t n = 0;
		vc->build(v, &n);
		json_t *jc = json_object();
		json_object_set_new(jc, "name", json_string(vc->name));
		json_object_set_new(jc, "about", json_string(vc->about));
		json_t *sts = json_array();
		for (size_t i = 0; i < n; i++) {
			json_array_append_new(sts, json_string(v[i]->canon));
		}
		json_object_set_new(jc, "statements", sts);
		json_t *ref = json_array();
		for (size_t r = 0; r < 2 && vc->refused[r].reason; r++)
			json_array_append_new(ref, json_pack("{s:i,s:s}", "index", vc->refused[r].index,
							     "reason", vc->refused[r].reason));
		json_object_set_new(jc, "refused", ref);
		json_t *ex = json_object();
		for (size_t e = 0; e < VMAXE && vc->expect[e].who >= 0; e++) {
			const struct vexp *x = &vc->expect[e];
			json_t *je = json_object();
			json_object_set_new(je, "label", json_string(LABEL[x->who]));
			json_object_set_new(je, "head_seq", json_integer((json_int_t)x->head));
			json_object_set_new(je, "rotated_to",
					    json_string(x->rotated_to < 0 ? "" : ID[x->rotated_to]));
			json_object_set_new(je, "newest", json_string(ID[x->newest]));
			json_object_set_new(je, "contested", json_boolean(x->contested));
			json_object_set_new(je, "pending", json_boolean(x->pending));
			json_t *fs = json_array();
			for (size_t k = 0; k < VMAXF && x->find[k].kind; k++)
				json_array_append_new(
				    fs, json_pack("{s:I,s:s,s:s}", "seq", (json_int_t)x->find[k].seq,
						  "kind", x->find[k].kind, "reason", x->find[k].reason));
			json_object_set_new(je, "findings", fs);
			json_object_set_new(ex, ID[x->who], je);
		}
		json_object_set_new(jc, "expect", ex);
		json_array_append_new(cases, jc);
	}
	json_object_set_new(root, "cases", cases);
	int rc = json_dump_file(root, path, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(root);
	if (rc != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		return 1;
	}
	return 0;
}

static json_t *load_vectors(void)
{
	char path[4096];
	const char *env = getenv("MT_KEY_EVENTS_VECTORS");
	if (env)
		snprintf(path, sizeof path, "%s", env);
	else {
		snprintf(path, sizeof path, "%s", __FILE__);
		char *slash = strrchr(path, '/');
		if (slash)
			slash[1] = '\0';
		else
			path[0] = '\0';
		size_t len = strlen(path);
		snprintf(path + len, sizeof path - len, "../vectors/key-events.json");
	}
	json_error_t jerr;
	json_t *v = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!v)
		fail_msg("cannot read %s: %s (line %d)", path, jerr.text, jerr.line);
	return v;
}

/* One case against a fresh store; returns the number of mismatches (each
 * printed). */
static int check_case(struct fx *f, json_t *jc)
{
	const char *name = json_string_value(json_object_get(jc, "name"));
	int bad = 0;
	fresh_store(f);
	json_t *sts = json_object_get(jc, "statements"), *ref = json_object_get(jc, "refused");
	size_t i;
	json_t *js;
	json_array_foreach(sts, i, js)
	{
		const char *text = json_string_value(js);
		mt_stmt *st = NULL;
		mt_error err = {0};
		if (mt_stmt_decode(&st, text, strlen(text), INT64_MAX, &err) != 0)
			fail_msg("%s: statement %zu does not decode: %s", name, i, err.msg);
		own(st);
		const char *want = NULL;
		size_t r;
		json_t *jr;
		json_array_foreach(ref, r, jr)
		{
			if ((size_t)json_integer_value(json_object_get(jr, "index")) == i)
				want = json_string_value(json_object_get(jr, "reason"));
		}
		char before[65], after[65];
		assert_int_equal(mt_store_digest_hex(f->s, before, NULL, NULL), 0);
		mt_ingest_result res;
		int rc = mt_store_ingest(f->s, st, &res, &err);
		assert_int_equal(mt_store_digest_hex(f->s, after, NULL, NULL), 0);
		if (want) {
			if (rc != MT_EINVAL || !strstr(err.msg, want) || strcmp(before, after)) {
				fprintf(stderr, "%s: statement %zu: expected refusal \"%s\", got rc %d "
						"\"%s\"\n",
					name, i, want, rc, err.msg);
				bad++;
			}
		} else if (rc != 0 || res != MT_INGEST_ACCEPTED) {
			fprintf(stderr, "%s: statement %zu refused: %s\n", name, i, err.msg);
			bad++;
		}
	}
	struct findings *F = verify_all(f);
	int *used = calloc(F->n + 1, sizeof *used);
	json_t *ex = json_object_get(jc, "expect");
	const char *iss;
	json_t *je;
	json_object_foreach(ex, iss, je)
	{
		const char *label = json_string_value(json_object_get(je, "label"));
		mt_key_status k;
		assert_int_equal(mt_store_key_status(f->s, iss, &k, NULL), 0);
		mt_feed_info fi = {0};
		mt_store_feed(f->s, iss, &fi, NULL);
		uint64_t head = (uint64_t)json_integer_value(json_object_get(je, "head_seq"));
		const char *rot = json_string_value(json_object_get(je, "rotated_to"));
		const char *newest = json_string_value(json_object_get(je, "newest"));
		int contested = json_is_true(json_object_get(je, "contested"));
		int pending = json_is_true(json_object_get(je, "pending"));
		if (k.head_seq != head || fi.head_seq != head) {
			fprintf(stderr, "%s: %s head %" PRIu64 ", expected %" PRIu64 "\n", name, label,
				k.head_seq, head);
			bad++;
		}
		if (strcmp(k.rotated_to, rot)) {
			fprintf(stderr, "%s: %s rotated_to \"%s\", expected \"%s\"\n", name, label,
				k.rotated_to, rot);
			bad++;
		}
		if (strcmp(k.newest, newest)) {
			fprintf(stderr, "%s: %s newest %s, expected %s\n", name, label, k.newest,
				newest);
			bad++;
		}
		if (k.contested != contested || k.rotate_pending != pending) {
			fprintf(stderr, "%s: %s contested %d pending %d, expected %d %d\n", name,
				label, k.contested, k.rotate_pending, contested, pending);
			bad++;
		}
		size_t fi_i;
		json_t *jf;
		json_array_foreach(json_object_get(je, "findings"), fi_i, jf)
		{
			uint64_t seq = (uint64_t)json_integer_value(json_object_get(jf, "seq"));
			const char *kind = json_string_value(json_object_get(jf, "kind"));
			const char *reason = json_string_value(json_object_get(jf, "reason"));
			size_t m;
			for (m = 0; m < F->n; m++)
				if (!used[m] && !strcmp(F->v[m].iss, iss) && F->v[m].seq == seq &&
				    !strcmp(F->v[m].kind, kind) &&
				    !strncmp(F->v[m].detail, reason, strlen(reason)))
					break;
			if (m == F->n) {
				fprintf(stderr, "%s: %s: missing finding seq %" PRIu64 " %s \"%s…\"\n",
					name, label, seq, kind, reason);
				bad++;
			} else
				used[m] = 1;
		}
	}
	for (size_t m = 0; m < F->n; m++)
		if (!used[m]) {
			const char *who = F->v[m].iss;
			for (int l = 0; l < NK; l++)
				if (!strcmp(who, ID[l]))
					who = LABEL[l];
			fprintf(stderr, "%s: unexpected finding %s seq %" PRIu64 " %s: %s\n", name, who,
				F->v[m].seq, F->v[m].kind, F->v[m].detail);
			bad++;
		}
	free(used);
	free(F);
	/* and a rebuild derives the same */
	char *d1 = dump(f);
	assert_int_equal(mt_store_rebuild(f->s, NULL, NULL, NULL), 0);
	char *d2 = dump(f);
	if (strcmp(d1, d2)) {
		fprintf(stderr, "%s: ", name);
		show_diff("incremental vs rebuild", d1, d2);
		bad++;
	}
	free(d1);
	free(d2);
	return bad;
}

static void test_vectors(void **state)
{
	struct fx *f = *state;
	json_t *v = load_vectors();
	json_t *ids = json_object_get(v, "ids");
	for (int i = 0; i < NK; i++) /* the file's keys are the generator's */
		assert_string_equal(json_string_value(json_object_get(ids, LABEL[i])), ID[i]);
	json_t *cases = json_object_get(v, "cases");
	assert_true(json_array_size(cases) >= 8);
	size_t i;
	json_t *jc;
	int failed = 0;
	json_array_foreach(cases, i, jc)
	{
		int bad = check_case(f, jc);
		if (bad) {
			fprintf(stderr, "vector case %s: %d mismatch(es)\n",
				json_string_value(json_object_get(jc, "name")), bad);
			failed++;
		}
	}
	json_decref(v);
	if (failed)
		fail_msg("%d vector case(s) disagree with the store", failed);
}

/* The generator's table and the checked-in file agree (the file is not
 * edited by hand). */
static void test_vectors_up_to_date(void **state)
{
	struct fx *f = *state;
	char path[4300];
	snprintf(path, sizeof path, "%s/kv.json", f->dir);
	assert_int_equal(write_vectors(path), 0);
	json_t *now = json_load_file(path, 0, NULL);
	json_t *file = load_vectors();
	assert_non_null(now);
	if (!json_equal(now, file))
		fail_msg("tests/vectors/key-events.json is not what the case table writes: run "
			 "test_store_keys --write-vectors tests/vectors/key-events.json");
	json_decref(now);
	json_decref(file);
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 1;
	if (argc == 3 && strcmp(argv[1], "--write-vectors") == 0) {
		int rc = write_vectors(argv[2]);
		owned_free();
		return rc;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_commitment_and_second_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ts_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ts_back_at_forked_seq_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotate_refused_without_commitment, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_legacy_rotate_with_commitment, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_legacy_rotate_without_commitment, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stolen_key_story, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stolen_key_story_owner_fork, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_carried_edge_revoked_by_new_id, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotate_existing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotate_existing_arrives_late, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_contested_two_rotates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_contested_two_feeds_one_new, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_max_rollback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_thief_forks_commitment_old_identity, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_backdated_forks_block_recovery, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_late_commitment, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_key_from_older_than_rotate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_chain_a_b_c, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_chain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotation_cycle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_issue_rotate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_issue_rotate_past_fork, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_issue_rotate_fork_at_seq1, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_issue_ts_raised, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_theft_alarm, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_theft_alarm_before_first_check, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_order_stolen_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_order_contested, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vectors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vectors_up_to_date, setup, teardown),
	};
	/* the PostgreSQL suite skips the arrival-order sweeps (minutes there;
	 * they test rules both backends share) */
	if (getenv("MESH_TEST_SKIP"))
		cmocka_set_skip_filter(getenv("MESH_TEST_SKIP"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
