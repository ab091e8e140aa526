/* The Mesh request scheme: header parser, signing input, sign/verify. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "meshtrust/node.h"

static mt_keypair key(unsigned char b)
{
	unsigned char seed[32];
	memset(seed, b, sizeof seed);
	mt_keypair kp;
	assert_int_equal(mt_keypair_from_seed(&kp, seed), 0);
	return kp;
}

static void test_sign_parse_verify(void **state)
{
	(void)state;
	mt_keypair a = key(1), s = key(2);
	char sid[MT_NODE_ID_MAX], aid[MT_NODE_ID_MAX], h[300];
	mt_node_id_encode(sid, s.pk);
	mt_node_id_encode(aid, a.pk);
	mt_error err = {0};
	assert_int_equal(mt_node_auth_sign(h, sizeof h, &a, NULL, sid, "GET", "/v1/feeds?x=1",
					   1700000000, "0123456789abcdef0123456789abcdef", "b", 1,
					   &err),
			 0);
	mt_node_auth p;
	assert_int_equal(mt_node_auth_parse(&p, h, &err), 0);
	assert_string_equal(p.id, aid);
	assert_int_equal(p.ts, 1700000000);
	assert_int_equal(mt_node_auth_verify(&p, sid, "GET", "/v1/feeds?x=1", "b", 1, 1700000100,
					     &err),
			 0);
	/* any change of what was signed breaks it */
	assert_int_equal(mt_node_auth_verify(&p, sid, "POST", "/v1/feeds?x=1", "b", 1, 1700000100,
					     &err),
			 MT_EBADSIG);
	assert_int_equal(mt_node_auth_verify(&p, sid, "GET", "/v1/feeds?x=2", "b", 1, 1700000100,
					     &err),
			 MT_EBADSIG);
	assert_int_equal(mt_node_auth_verify(&p, sid, "GET", "/v1/feeds?x=1", "c", 1, 1700000100,
					     &err),
			 MT_EBADSIG);
	assert_int_equal(mt_node_auth_verify(&p, aid, "GET", "/v1/feeds?x=1", "b", 1, 1700000100,
					     &err),
			 MT_EBADSIG);
	/* clock window: 300 s passes, 301 s does not */
	assert_int_equal(mt_node_auth_verify(&p, sid, "GET", "/v1/feeds?x=1", "b", 1, 1700000300,
					     &err),
			 0);
	assert_int_equal(mt_node_auth_verify(&p, sid, "GET", "/v1/feeds?x=1", "b", 1, 1700000301,
					     &err),
			 MT_EPERM);
	/* claiming another identity: the signature does not verify for it */
	assert_int_equal(mt_node_auth_sign(h, sizeof h, &a, sid, sid, "GET", "/", 1700000000, NULL,
					   NULL, 0, &err),
			 0);
	assert_int_equal(mt_node_auth_parse(&p, h, &err), 0);
	assert_int_equal(mt_node_auth_verify(&p, sid, "GET", "/", NULL, 0, 1700000000, &err),
			 MT_EBADSIG);
	mt_keypair_wipe(&a);
	mt_keypair_wipe(&s);
}

/* The clock window holds on both sides of the node's clock (SPEC §5): a ts up
 * to 300 s ahead passes, 301 s ahead is refused like 301 s behind. */
static void test_clock_window_both_sides(void **state)
{
	(void)state;
	mt_keypair a = key(4), s = key(5);
	char sid[MT_NODE_ID_MAX], h[300];
	mt_node_id_encode(sid, s.pk);
	const int64_t now = 1700000000;
	static const struct {
		int64_t off;
		int rc;
	} cases[] = {{300, 0}, {301, MT_EPERM}, {-300, 0}, {-301, MT_EPERM},
		     {0, 0},   {299, 0},        {-299, 0}, {100000, MT_EPERM}};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		mt_error err = {0};
		assert_int_equal(mt_node_auth_sign(h, sizeof h, &a, NULL, sid, "POST",
						   "/v1/statements", now + cases[i].off, NULL, "x",
						   1, &err),
				 0);
		mt_node_auth p;
		assert_int_equal(mt_node_auth_parse(&p, h, &err), 0);
		assert_int_equal(p.ts, now + cases[i].off);
		int rc = mt_node_auth_verify(&p, sid, "POST", "/v1/statements", "x", 1, now, &err);
		if (rc != cases[i].rc)
			fail_msg("ts = now %+lld: got %d, want %d", (long long)cases[i].off, rc,
				 cases[i].rc);
		if (rc == MT_EPERM)
			assert_non_null(strstr(err.msg, "300 s"));
	}
	mt_keypair_wipe(&a);
	mt_keypair_wipe(&s);
}

static void test_signing_input(void **state)
{
	(void)state;
	char *in = NULL;
	size_t len = 0;
	assert_int_equal(mt_node_auth_input(&in, &len, "S", "GET", "/t", 5, "n", NULL, 0), 0);
	/* BLAKE2b-256 of the empty body */
	assert_string_equal(in, "mesh/v1/req\nS\nGET\n/t\n5\nn\n"
				"0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
	assert_int_equal(len, strlen(in));
	free(in);
}

static void test_parse_refusals(void **state)
{
	(void)state;
	mt_keypair a = key(3);
	char good[300], bad[400];
	mt_error err = {0};
	assert_int_equal(mt_node_auth_sign(good, sizeof good, &a, NULL, "S", "GET", "/", 12, NULL,
					   NULL, 0, &err),
			 0);
	mt_node_auth p;
	assert_int_equal(mt_node_auth_parse(&p, good, &err), 0);
	const char *id = strstr(good, "id=") + 3;
	const char *sig = strstr(good, "sig=") + 4;
	int idlen = (int)(strchr(id, ',') - id);
	static const char *const cases[] = {
		"", "Mesh", "Mesh ", "Bearer x", "mesh id=a", "Mesh id=%.*s,ts=12,nonce=%s",
		"Mesh id=%.*s,ts=012,nonce=0123456789abcdef0123456789abcdef,sig=%s",
		"Mesh id=%.*s,ts=-1,nonce=0123456789abcdef0123456789abcdef,sig=%s",
		"Mesh id=%.*s,ts=1,nonce=0123456789ABCDEF0123456789abcdef,sig=%s",
		"Mesh id=%.*s,ts=1,nonce=0123456789abcdef,sig=%s",
		"Mesh id=%.*s,ts=1,ts=1,nonce=0123456789abcdef0123456789abcdef,sig=%s",
		"Mesh id=%.*s,ts=1,nonce=0123456789abcdef0123456789abcdef,sig=%s,",
		"Mesh id=%.*s,ts=1,nonce=0123456789abcdef0123456789abcdef,sig=%s,x=1",
		"Mesh id=%.*sx,ts=1,nonce=0123456789abcdef0123456789abcdef,sig=%s",
		"Mesh id=%.*s,ts=99999999999999999,nonce=0123456789abcdef0123456789abcdef,sig=%s",
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		snprintf(bad, sizeof bad, cases[i], idlen, id, sig);
		err.msg[0] = '\0';
		assert_int_equal(mt_node_auth_parse(&p, bad, &err), MT_EINVAL);
		assert_true(err.msg[0] != '\0');
		assert_int_equal(p.ts, 0);
	}
	/* a corrupted signature character still parses only when it decodes */
	snprintf(bad, sizeof bad, "Mesh id=%.*s,ts=1,nonce=0123456789abcdef0123456789abcdef,sig=%s",
		 idlen, id, sig);
	assert_int_equal(mt_node_auth_parse(&p, bad, &err), 0);
	mt_keypair_wipe(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_parse_verify),
		cmocka_unit_test(test_clock_window_both_sides),
		cmocka_unit_test(test_signing_input),
		cmocka_unit_test(test_parse_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
