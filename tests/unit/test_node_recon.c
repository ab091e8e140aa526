/* Range-based set reconciliation of feed heads (src/node/recon.h): random
 * sets with k differences on either side end with exactly the symmetric
 * difference; empty, identical, all-different and one-sided sets; bytes grow
 * with k, not with n; malformed messages are refused with a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "node/recon.h"

/* A deterministic generator (xorshift64*). */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 0x2545F4914F6CDD1DULL;
}

typedef struct item {
	char key[64];
	uint64_t seq;
	unsigned char head[32];
} item;

/* A Node-ID-like key: the common "12D3KooW" and 44 base58 characters. */
static void rand_item(item *it)
{
	static const char b58[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
	memcpy(it->key, "12D3KooW", 8);
	for (int i = 8; i < 52; i++)
		it->key[i] = b58[rnd() % 58];
	it->key[52] = '\0';
	it->seq = 1 + rnd() % 1000;
	for (int i = 0; i < 32; i++)
		it->head[i] = (unsigned char)rnd();
}

static void build(node_recon_set *s, const item *items, size_t n)
{
	memset(s, 0, sizeof *s);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(node__recon_set_add(s, items[i].key, items[i].seq, items[i].head, NULL),
				 0);
	assert_int_equal(node__recon_set_seal(s, NULL), 0);
}

typedef struct outcome {
	size_t bytes_up, bytes_down, rounds;
} outcome;

/* Run the protocol: client over `mine`, server over `theirs`. */
static outcome reconcile(node_recon_client *c, const node_recon_set *mine,
			 const node_recon_set *theirs)
{
	outcome o = {0};
	assert_int_equal(node__recon_client_init(c, mine, NULL), 0);
	node_recon_buf msg = {0}, ans = {0};
	for (;;) {
		mt_error err = {0};
		int rc = node__recon_client_next(c, &msg, &err);
		assert_true(rc >= 0);
		if (rc == 0)
			break;
		o.rounds++;
		o.bytes_up += msg.len;
		ans.len = 0;
		rc = node__recon_answer(theirs, msg.p, msg.len, &ans, &err);
		if (rc)
			fail_msg("answer: %s", err.msg);
		o.bytes_down += ans.len;
		rc = node__recon_client_take(c, ans.p, ans.len, &err);
		if (rc)
			fail_msg("take: %s", err.msg);
	}
	free(msg.p);
	free(ans.p);
	return o;
}

/* The client's results are exactly C \ S (mine_only) and S \ C (theirs).
 * Membership by sorted merge: the sets are sorted by key. */
static void check_exact(const node_recon_client *c, const node_recon_set *C,
			const node_recon_set *S)
{
	size_t i = 0, j = 0, theirs = 0, mine = 0;
	while (i < C->n || j < S->n) {
		int cmp = i == C->n ? 1 : j == S->n ? -1 : strcmp(C->items[i].key, S->items[j].key);
		if (cmp == 0 && C->items[i].seq == S->items[j].seq &&
		    memcmp(C->items[i].head, S->items[j].head, 32) == 0) {
			assert_int_equal(c->mine_only[i], 0);
			i++, j++;
			continue;
		}
		if (cmp <= 0) { /* C's item is not in S */
			assert_int_equal(c->mine_only[i], 1);
			mine++;
			i++;
		}
		if (cmp >= 0) { /* S's item is not in C: listed in full, in key order */
			assert_true(theirs < c->n_theirs);
			const node_recon_item *t = &c->theirs[theirs++];
			assert_string_equal(t->key, S->items[j].key);
			assert_true(t->seq == S->items[j].seq);
			assert_memory_equal(t->head, S->items[j].head, 32);
			j++;
		}
	}
	assert_int_equal(theirs, c->n_theirs);
	assert_int_equal(mine, c->n_mine_only);
}

/* n shared items; then k differences spread over the three kinds: a feed
 * whose head moved on the server, an item only the server has, one only the
 * client has. */
static outcome scenario(size_t n, size_t k, size_t *diff_items)
{
	item *base = malloc((n + 2 * k + 1) * sizeof *base);
	item *cl = malloc((n + 2 * k + 1) * sizeof *cl), *sv = malloc((n + 2 * k + 1) * sizeof *sv);
	for (size_t i = 0; i < n; i++)
		rand_item(&base[i]);
	size_t nc = 0, ns = 0, d = 0;
	for (size_t i = 0; i < n; i++)
		cl[nc++] = sv[ns++] = base[i];
	for (size_t x = 0; x < k; x++) {
		switch (x % 3) {
		case 0: { /* a head moved: same key, new seq and head */
			item *it = &sv[rnd() % n];
			it->seq++;
			it->head[0] ^= 0x5a;
			d += 2;
			break;
		}
		case 1: rand_item(&sv[ns++]); d++; break;
		default: rand_item(&cl[nc++]); d++; break;
		}
	}
	node_recon_set C, S;
	build(&C, cl, nc);
	build(&S, sv, ns);
	node_recon_client c;
	outcome o = reconcile(&c, &C, &S);
	check_exact(&c, &C, &S);
	if (diff_items)
		*diff_items = c.n_theirs + c.n_mine_only;
	node__recon_client_free(&c);
	node__recon_set_free(&C);
	node__recon_set_free(&S);
	free(base);
	free(cl);
	free(sv);
	(void)d;
	return o;
}

/* The JSON listing of n feeds as GET /v1/feeds sends it (~148 bytes each). */
static size_t listing_bytes(size_t n)
{
	return n * strlen("{\"iss\":\"12D3KooWxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\"seq\":"
			  "123,\"head\":\"0000000000000000000000000000000000000000000000000000000"
			  "000000000\"},");
}

static void test_empty_sets(void **state)
{
	(void)state;
	node_recon_set C, S;
	build(&C, NULL, 0);
	build(&S, NULL, 0);
	node_recon_client c;
	outcome o = reconcile(&c, &C, &S);
	assert_int_equal(o.rounds, 1);
	assert_int_equal(c.n_theirs, 0);
	assert_int_equal(c.n_mine_only, 0);
	node__recon_client_free(&c);
	node__recon_set_free(&C);
	node__recon_set_free(&S);
}

static void one_side_empty(size_t n, int client_empty)
{
	item *it = malloc(n * sizeof *it);
	for (size_t i = 0; i < n; i++)
		rand_item(&it[i]);
	node_recon_set C, S;
	build(&C, client_empty ? NULL : it, client_empty ? 0 : n);
	build(&S, client_empty ? it : NULL, client_empty ? n : 0);
	node_recon_client c;
	outcome o = reconcile(&c, &C, &S);
	check_exact(&c, &C, &S);
	assert_int_equal(c.n_theirs + c.n_mine_only, n);
	/* a fresh client: about a binary listing, in few rounds */
	assert_true(o.rounds <= 3);
	if (client_empty)
		assert_true(o.bytes_up + o.bytes_down < n * 100 + 2000);
	else /* only fingerprints and a few ranges travel */
		assert_true(o.bytes_up + o.bytes_down < 2000);
	node__recon_client_free(&c);
	node__recon_set_free(&C);
	node__recon_set_free(&S);
	free(it);
}

static void test_client_empty(void **state)
{
	(void)state;
	one_side_empty(1, 1);
	one_side_empty(31, 1);
	one_side_empty(5000, 1);
}

static void test_server_empty(void **state)
{
	(void)state;
	one_side_empty(1, 0);
	one_side_empty(33, 0);
	one_side_empty(5000, 0);
}

static void test_identical(void **state)
{
	(void)state;
	for (size_t n = 1; n <= 20000; n *= 7) {
		outcome o = scenario(n, 0, NULL);
		assert_int_equal(o.rounds, 1);
		/* one range up (<= 32 ids or a fingerprint), one skip down */
		assert_true(o.bytes_up + o.bytes_down <= 1 + 3 + 10 + 32 * 8 + 3);
	}
}

static void test_all_different(void **state)
{
	(void)state;
	size_t n = 3000;
	item *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
	for (size_t i = 0; i < n; i++) {
		rand_item(&a[i]);
		b[i] = a[i];
		b[i].seq++;
		b[i].head[5] ^= 1;
	}
	node_recon_set C, S;
	build(&C, a, n);
	build(&S, b, n);
	node_recon_client c;
	outcome o = reconcile(&c, &C, &S);
	check_exact(&c, &C, &S);
	assert_int_equal(c.n_theirs, n);
	assert_int_equal(c.n_mine_only, n);
	/* never much over the listing itself */
	assert_true(o.bytes_up + o.bytes_down < listing_bytes(n));
	node__recon_client_free(&c);
	node__recon_set_free(&C);
	node__recon_set_free(&S);
	free(a);
	free(b);
}

/* k differences among n: exact, and the bytes follow k (x log n), not n. */
static void test_random_differences(void **state)
{
	(void)state;
	static const size_t ns[] = {100, 5000, 50000};
	static const size_t ks[] = {1, 10, 100, 1000};
	size_t bytes[3][4];
	for (size_t a = 0; a < 3; a++)
		for (size_t b = 0; b < 4; b++) {
			if (ks[b] > ns[a])
				continue;
			size_t diff = 0;
			outcome o = scenario(ns[a], ks[b], &diff);
			bytes[a][b] = o.bytes_up + o.bytes_down;
			print_message("n=%zu k=%zu: %zu differing items, %zu rounds, %zu bytes up, "
				      "%zu down (listing %zu)\n",
				      ns[a], ks[b], diff, o.rounds, o.bytes_up, o.bytes_down,
				      listing_bytes(ns[a]));
			assert_true(o.rounds <= 8);
		}
	/* growing n x10 with k fixed costs far less than x10 */
	for (size_t b = 0; b < 3; b++)
		assert_true(bytes[2][b] < 3 * bytes[1][b]);
	/* growing k x10 costs about x10 (at most x14) */
	for (size_t b = 0; b + 1 < 4; b++)
		assert_true(bytes[2][b + 1] < 14 * bytes[2][b]);
	/* the goal in the core alone: 100 changed among 5,000 */
	assert_true(bytes[1][2] * 20 < listing_bytes(5000));
}

/* More ranges than a message holds: the client sends them over rounds. */
static void test_message_bound(void **state)
{
	(void)state;
	outcome o = scenario(200000, 60000, NULL);
	assert_true(o.rounds >= 3);
}

/* The server's parser refuses malformed messages, naming the problem. */
static void expect_bad(const node_recon_set *s, const unsigned char *m, size_t len,
		       const char *needle)
{
	node_recon_buf out = {0};
	mt_error err = {0};
	assert_int_equal(node__recon_answer(s, m, len, &out, &err), MT_EINVAL);
	if (!strstr(err.msg, needle))
		fail_msg("\"%s\" does not say \"%s\"", err.msg, needle);
	free(out.p);
	assert_int_equal(node__recon_check(m, len, NULL), MT_EINVAL);
}

static void test_malformed(void **state)
{
	(void)state;
	item it[40];
	for (int i = 0; i < 40; i++)
		rand_item(&it[i]);
	node_recon_set S;
	build(&S, it, 40);
	expect_bad(&S, (const unsigned char *)"", 0, "empty");
	expect_bad(&S, (const unsigned char *)"\x02\xff\x00", 3, "version");
	expect_bad(&S, (const unsigned char *)"\x01", 1, "truncated before a bound");
	expect_bad(&S, (const unsigned char *)"\x01\xff", 2, "truncated before a mode");
	expect_bad(&S, (const unsigned char *)"\x01\xff\x07", 3, "mode");
	expect_bad(&S, (const unsigned char *)"\x01\xff\x03", 3, "mode"); /* items from a client */
	expect_bad(&S, (const unsigned char *)"\x01\xff\x00\x00", 4, "bytes after");
	expect_bad(&S, (const unsigned char *)"\x01\x00\x00", 3, "length");
	expect_bad(&S, (const unsigned char *)"\x01\x00\x41", 3, "length");
	expect_bad(&S, (const unsigned char *)"\x01\x00\x02" "ab", 5, "truncated before a mode");
	expect_bad(&S, (const unsigned char *)"\x01\x05\x01" "a", 4, "shares more");
	/* "b" then "a": not ascending */
	expect_bad(&S, (const unsigned char *)"\x01\x00\x01" "b\x00\x00\x01" "a\x00\xff\x00", 11,
		   "ascending");
	/* no range reaches infinity */
	expect_bad(&S, (const unsigned char *)"\x01\x00\x01" "b\x00", 5, "truncated before a bound");
	expect_bad(&S, (const unsigned char *)"\x01\xff\x01\x05", 4, "truncated fingerprint");
	expect_bad(&S, (const unsigned char *)"\x01\xff\x01\x80", 4, "truncated count");
	expect_bad(&S, (const unsigned char *)"\x01\xff\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f",
		   13, "64 bits");
	expect_bad(&S, (const unsigned char *)"\x01\xff\x02\x05" "abcdefgh", 12, "id count");
	/* a well-formed message is answered */
	node_recon_buf out = {0};
	assert_int_equal(node__recon_answer(&S, (const unsigned char *)"\x01\xff\x02\x00", 4, &out,
					    NULL),
			 0);
	assert_true(out.len > 40 * 35);
	free(out.p);
	node__recon_set_free(&S);
}

/* The client refuses answers that are malformed or answer nothing it asked. */
static void test_client_refuses(void **state)
{
	(void)state;
	item it[100];
	for (int i = 0; i < 100; i++)
		rand_item(&it[i]);
	node_recon_set C;
	build(&C, it, 100);
	node_recon_client c;
	node_recon_buf msg = {0};
	static const struct {
		const char *m;
		size_t len;
		const char *needle;
	} cases[] = {
		{"", 0, "empty"},
		{"\x01\xff\x02\x00", 4, "mode"},           /* ids from a server */
		{"\x01\xff\x03\x00\x00", 5, "not asked"},  /* items where a fingerprint was sent */
		{"\x01\xff\x01\x00", 4, "truncated fingerprint"},
		{"\x01\xff\x00\x00", 4, "bytes after"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		assert_int_equal(node__recon_client_init(&c, &C, NULL), 0);
		assert_int_equal(node__recon_client_next(&c, &msg, NULL), 1);
		mt_error err = {0};
		assert_int_equal(node__recon_client_take(&c, (const unsigned char *)cases[i].m,
							 cases[i].len, &err),
				 MT_EINVAL);
		if (!strstr(err.msg, cases[i].needle))
			fail_msg("\"%s\" does not say \"%s\"", err.msg, cases[i].needle);
		node__recon_client_free(&c);
	}
	/* a server that keeps splitting without end is cut off */
	assert_int_equal(node__recon_client_init(&c, &C, NULL), 0);
	int rc;
	mt_error err = {0};
	unsigned rounds = 0;
	while ((rc = node__recon_client_next(&c, &msg, &err)) == 1) {
		rounds++;
		/* answer every range asked with a differing fingerprint of count 100 */
		unsigned char ans[64] = {1, 0xff, 1, 100};
		memset(ans + 4, 0xab, 16);
		if (node__recon_client_take(&c, ans, 20, &err))
			break;
	}
	assert_true(rc == MT_EINVAL || rc == 1);
	assert_true(rounds <= NODE_RECON_MAX_ROUNDS);
	node__recon_client_free(&c);
	free(msg.p);
	node__recon_set_free(&C);
}

static void test_set_rules(void **state)
{
	(void)state;
	node_recon_set s = {0};
	unsigned char h[32] = {0};
	char longkey[80];
	memset(longkey, 'x', sizeof longkey - 1);
	longkey[79] = '\0';
	assert_int_equal(node__recon_set_add(&s, "", 1, h, NULL), MT_EINVAL);
	assert_int_equal(node__recon_set_add(&s, longkey, 1, h, NULL), MT_EINVAL);
	assert_int_equal(node__recon_set_add(&s, "a", 1, h, NULL), 0);
	assert_int_equal(node__recon_set_add(&s, "a", 2, h, NULL), 0);
	assert_int_equal(node__recon_set_seal(&s, NULL), MT_EINVAL); /* a key twice */
	node__recon_set_free(&s);
	node__recon_set_free(NULL);
	node__recon_client_free(NULL);
	/* keys that are prefixes of each other sort and split correctly */
	item it[200];
	for (int i = 0; i < 200; i++) {
		memset(&it[i], 0, sizeof it[i]);
		memset(it[i].key, 'k', (size_t)(i % 60) + 1);
		it[i].key[(i % 60) + 1] = '\0';
		if (i >= 60)
			it[i].key[i % 60] = (char)('A' + i / 60);
		it[i].seq = (uint64_t)i;
	}
	node_recon_set C, S;
	build(&C, it, 120);
	build(&S, it + 50, 150);
	node_recon_client c;
	reconcile(&c, &C, &S);
	check_exact(&c, &C, &S);
	assert_int_equal(c.n_theirs, 80);
	assert_int_equal(c.n_mine_only, 50);
	node__recon_client_free(&c);
	node__recon_set_free(&C);
	node__recon_set_free(&S);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_sets),
		cmocka_unit_test(test_client_empty),
		cmocka_unit_test(test_server_empty),
		cmocka_unit_test(test_identical),
		cmocka_unit_test(test_all_different),
		cmocka_unit_test(test_random_differences),
		cmocka_unit_test(test_message_bound),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_client_refuses),
		cmocka_unit_test(test_set_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
