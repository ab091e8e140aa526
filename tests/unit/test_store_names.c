/* Store: local names (SPEC §9.5): valid names only, one ID per name and one
 * name per ID, lookup both ways, removal by name or by ID, ordered listing,
 * and kept across a reopen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/store.h"
#include "testutil.h"
#include "teststore.h"

struct fx {
	char *dir;
	char path[4200];
	mt_store *s;
	mt_keypair k[3];
	char id[3][MT_NODE_ID_MAX];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->dir = mt_test_tmpdir();
	snprintf(f->path, sizeof f->path, "%s/trust.db", f->dir);
	assert_int_equal(mt_test_store_open(&f->s, f->path, NULL), 0);
	mt_test_keypairs(f->k, f->id, 3, 0x61);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	mt_store_close(f->s);
	mt_test_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void test_valid(void **state)
{
	(void)state;
	assert_true(mt_store_name_valid("alice"));
	assert_true(mt_store_name_valid("A.b_c-9"));
	assert_true(mt_store_name_valid("x"));
	assert_true(mt_store_name_valid("abcdefghijklmnopqrstuvwxyz012345")); /* 32 */
	assert_false(mt_store_name_valid("abcdefghijklmnopqrstuvwxyz0123456")); /* 33 */
	assert_false(mt_store_name_valid(""));
	assert_false(mt_store_name_valid(NULL));
	assert_false(mt_store_name_valid("a b"));
	assert_false(mt_store_name_valid("@alice"));
	assert_false(mt_store_name_valid("al\xc3\xa9"));
	assert_false(mt_store_name_valid("a\nb"));
}

struct seen {
	int n;
	char name[4][MT_NAME_MAX];
	char id[4][MT_NODE_ID_MAX];
};

static int on_name(const char *name, const char *node_id, void *payload)
{
	struct seen *v = payload;
	if (v->n < 4) {
		snprintf(v->name[v->n], MT_NAME_MAX, "%s", name);
		snprintf(v->id[v->n], MT_NODE_ID_MAX, "%s", node_id);
	}
	v->n++;
	return 0;
}

static void test_set_get_lookup(void **state)
{
	struct fx *f = *state;
	mt_error err = {0};
	char name[MT_NAME_MAX], id[MT_NODE_ID_MAX];
	assert_int_equal(mt_store_name_get(f->s, f->id[0], name, NULL), 0);
	assert_string_equal(name, "");
	assert_int_equal(mt_store_name_lookup(f->s, "alice", id, &err), MT_ENOTFOUND);

	assert_int_equal(mt_store_name_set(f->s, f->id[0], "alice", NULL), 0);
	assert_int_equal(mt_store_name_set(f->s, f->id[1], "bob", NULL), 0);
	assert_int_equal(mt_store_name_get(f->s, f->id[0], name, NULL), 0);
	assert_string_equal(name, "alice");
	assert_int_equal(mt_store_name_lookup(f->s, "bob", id, NULL), 0);
	assert_string_equal(id, f->id[1]);

	/* A name is one ID's: refused for another, the first one kept. */
	assert_int_equal(mt_store_name_set(f->s, f->id[1], "alice", &err), MT_EEXISTS);
	assert_non_null(strstr(err.msg, "alice"));
	assert_int_equal(mt_store_name_lookup(f->s, "alice", id, NULL), 0);
	assert_string_equal(id, f->id[0]);
	/* Setting it again for the same ID is fine. */
	assert_int_equal(mt_store_name_set(f->s, f->id[0], "alice", NULL), 0);

	/* An ID has one name: a new one replaces the old. */
	assert_int_equal(mt_store_name_set(f->s, f->id[0], "al", NULL), 0);
	assert_int_equal(mt_store_name_lookup(f->s, "alice", id, NULL), MT_ENOTFOUND);
	assert_int_equal(mt_store_name_get(f->s, f->id[0], name, NULL), 0);
	assert_string_equal(name, "al");

	/* Bad names are refused, naming them. */
	assert_int_equal(mt_store_name_set(f->s, f->id[2], "no way", &err), MT_EINVAL);
	assert_non_null(strstr(err.msg, "no way"));
	assert_int_equal(mt_store_name_set(f->s, f->id[2], "", &err), MT_EINVAL);
	assert_int_equal(mt_store_name_set(f->s, "", "carol", &err), MT_EINVAL);

	struct seen v = {0};
	assert_int_equal(mt_store_names(f->s, on_name, &v, NULL), 0);
	assert_int_equal(v.n, 2);
	assert_string_equal(v.name[0], "al");
	assert_string_equal(v.id[0], f->id[0]);
	assert_string_equal(v.name[1], "bob");
	assert_string_equal(v.id[1], f->id[1]);
}

static void test_remove_and_reopen(void **state)
{
	struct fx *f = *state;
	char id[MT_NODE_ID_MAX], name[MT_NAME_MAX];
	int removed = -1;
	assert_int_equal(mt_store_name_set(f->s, f->id[0], "alice", NULL), 0);
	assert_int_equal(mt_store_name_set(f->s, f->id[1], "bob", NULL), 0);
	assert_int_equal(mt_store_name_set(f->s, f->id[2], "carol", NULL), 0);
	assert_int_equal(mt_store_name_remove(f->s, "alice", &removed, NULL), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(mt_store_name_remove(f->s, f->id[1], &removed, NULL), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(mt_store_name_remove(f->s, "nobody", &removed, NULL), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(mt_store_name_lookup(f->s, "alice", id, NULL), MT_ENOTFOUND);
	assert_int_equal(mt_store_name_get(f->s, f->id[1], name, NULL), 0);
	assert_string_equal(name, "");

	/* Kept across a reopen; local only: the statements' digest is untouched. */
	mt_store_close(f->s);
	assert_int_equal(mt_test_store_open(&f->s, f->path, NULL), 0);
	assert_int_equal(mt_store_name_lookup(f->s, "carol", id, NULL), 0);
	assert_string_equal(id, f->id[2]);
	unsigned char d[32];
	uint64_t count = 1;
	assert_int_equal(mt_store_digest(f->s, d, &count, NULL), 0);
	assert_int_equal(count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test_setup_teardown(test_set_get_lookup, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_remove_and_reopen, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
