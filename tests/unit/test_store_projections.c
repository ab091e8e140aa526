/* Store: the table of projections and the backend table. A mixed set of
 * statements (every type, gaps, a fork below the head, a rotation, in and
 * out of transactions) dumps the same before and after a rebuild and a
 * reopen; the table covers every statement type with derived state; the
 * checks find tampered rows; the backend table's version and operations are
 * checked at open. */
/* GCC 12 at -O3 reports strstr results into a dump as dangling pointers to a
 * local title buffer (they point into the dump, which outlives them): a false
 * positive of -Wdangling-pointer after inlining. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/store.h"
#include "store/store_int.h"
#include "testutil.h"
#include "teststore.h"

#define NKEYS 8

struct fx {
	char *dir;
	char path[4200];
	mt_store *s;
	mt_keypair k[NKEYS];
	char id[NKEYS][MT_NODE_ID_MAX];
	unsigned char head[NKEYS][32]; /* last statement built per issuer */
	uint64_t seq[NKEYS];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	f->dir = mt_test_tmpdir();
	snprintf(f->path, sizeof f->path, "%s/trust.db", f->dir);
	assert_int_equal(mt_test_store_open(&f->s, f->path, NULL), 0);
	mt_test_keypairs(f->k, f->id, NKEYS, 0x51);
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

/* Sign `body` (consumed) as issuer i at seq with prev. */
static mt_stmt *sign_at(struct fx *f, int i, json_t *body, uint64_t seq, const unsigned char *prev,
			int64_t ts)
{
	mt_stmt *st = NULL;
	mt_error err = {0};
	if (mt_stmt_sign(&st, body, &f->k[i], seq, prev, ts, &err) != 0)
		fail_msg("sign: %s", err.msg);
	json_decref(body);
	return st;
}

/* The next statement of issuer i's chain. */
static mt_stmt *next(struct fx *f, int i, json_t *body)
{
	f->seq[i]++;
	mt_stmt *st = sign_at(f, i, body, f->seq[i], f->seq[i] > 1 ? f->head[i] : NULL,
			      1700000000 + (int64_t)f->seq[i] * 10 + i);
	memcpy(f->head[i], st->id, 32);
	return st;
}

/* Ingest and free. */
static void put(struct fx *f, mt_stmt *st)
{
	mt_ingest_result r;
	mt_error err = {0};
	if (mt_store_ingest(f->s, st, &r, &err) != 0)
		fail_msg("ingest: %s", err.msg);
	assert_int_equal(r, MT_INGEST_ACCEPTED);
	mt_stmt_free(st);
}

static char *dump(struct fx *f)
{
	char *d = NULL;
	mt_error err = {0};
	if (mt_store_derived_dump(f->s, &d, &err) != 0)
		fail_msg("dump: %s", err.msg);
	return d;
}

static json_t *trust(struct fx *f, int target, const char *level, int score, const char *scope)
{
	json_t *b = json_pack("{s:s,s:s,s:s,s:i}", "type", "trust", "target", f->id[target],
			      "level", level, "score", score);
	if (scope)
		json_object_set_new(b, "scope", json_string(scope));
	return b;
}

static json_t *lesson(const char *title, const char *body, const char *topic)
{
	return json_pack("{s:s,s:[s],s:s,s:s}", "type", "lesson", "topics", topic, "title", title,
			 "body", body);
}

/* A rotate of issuer i to issuer j's key (two-signature form). */
static json_t *rotate(struct fx *f, int i, int j)
{
	char msg[256], sig[100];
	unsigned char raw[64];
	int n = snprintf(msg, sizeof msg, "mesh/v1/rotate\n%s\n%s", f->id[i], f->id[j]);
	crypto_sign_detached(raw, NULL, (unsigned char *)msg, (size_t)n, f->k[j].sk);
	sodium_bin2base64(sig, sizeof sig, raw, 64, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return json_pack("{s:s,s:s,s:s}", "type", "rotate", "new", f->id[j], "newsig", sig);
}

#define HEX32 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

/* A valid body of every statement type, issued by i about j. The test fails
 * when a type is added to statement.h without one here (and so without a
 * decision on its derived state). */
static json_t *body_of(struct fx *f, mt_stmt_type t, int i, int j)
{
	switch (t) {
	case MT_ST_TRUST:
		return trust(f, j, "limited", 300, "coop:x");
	case MT_ST_REVOKE:
		return json_pack("{s:s,s:s,s:s}", "type", "revoke", "target", f->id[j], "scope",
				 "global");
	case MT_ST_REFERRAL:
		return json_pack("{s:s,s:s,s:s}", "type", "referral", "referee", f->id[j], "note",
				 "knows C");
	case MT_ST_BRIDGE:
		return json_pack("{s:s,s:[s,s]}", "type", "bridge", "scopes", "global", "coop:x");
	case MT_ST_LESSON:
		return lesson("Backups", "Test the restore", "ops");
	case MT_ST_GENESIS:
		return json_pack("{s:s,s:s,s:[s],s:{s:i,s:i,s:i}}", "type", "genesis", "scope",
				 "coop:y", "founders", f->id[i], "params", "period", 10,
				 "deadline_max", 100, "credits", 3);
	case MT_ST_POT_OPEN:
		return json_pack("{s:s,s:s,s:s,s:s,s:i}", "type", "pot-open", "genesis", HEX32,
				 "candidate", f->id[j], "cosponsor", f->id[(j + 1) % NKEYS],
				 "deadline", 1700009999);
	case MT_ST_POT_COMMIT:
		return json_pack("{s:s,s:s,s:s}", "type", "pot-commit", "round", HEX32, "commit",
				 HEX32);
	case MT_ST_POT_REVEAL:
		return json_pack("{s:s,s:s,s:s,s:s}", "type", "pot-reveal", "round", HEX32,
				 "choice", "cooperate", "nonce", HEX32);
	case MT_ST_POT_CLAIM:
		return json_pack("{s:s,s:s,s:s}", "type", "pot-claim", "round", HEX32, "candidate",
				 f->id[j]);
	case MT_ST_ROTATE:
		return rotate(f, i, j);
	case MT_ST_KEY:
		return json_pack("{s:s,s:s}", "type", "key", "next", HEX32);
	case MT_ST_PROPOSAL:
		return json_pack("{s:s,s:s,s:i,s:{s:i}}", "type", "proposal", "genesis", HEX32,
				 "closes", 1700200000, "policy", "max_gini", 500);
	case MT_ST_VOTE:
		return json_pack("{s:s,s:s,s:s}", "type", "vote", "proposal", HEX32, "choice", "no");
	default:
		fail_msg("statement type %d has no body in body_of(): add one", (int)t);
		return NULL;
	}
}

/* Everything at once: every type, a gap filled out of order inside one
 * transaction, a gap never filled, a fork below the head of a feed with a
 * lesson and a bridge (its derived state is forgotten and replayed), a
 * rotation with a statement after it, edges replaced and revoked. */
static void ingest_mixed(struct fx *f)
{
	/* 0: one of every type, a replaced edge and a revoked one */
	assert_int_equal(mt_store_begin(f->s, NULL), 0);
	put(f, next(f, 0, trust(f, 1, "full", 900, NULL)));
	for (int t = 0; t < MT_ST__COUNT; t++)
		if (t != MT_ST_ROTATE)
			put(f, next(f, 0, body_of(f, (mt_stmt_type)t, 0, 2)));
	put(f, next(f, 0, trust(f, 1, "limited", 500, NULL)));
	put(f, next(f, 0, lesson("Ownership", "Borrowing the café’s résumé, twice.", "rust")));
	assert_int_equal(mt_store_commit(f->s, NULL), 0);
	/* 1: a lesson, a trust, a rotation to 4, then a statement without effect */
	put(f, next(f, 1, lesson("Pointers", "Pointer arithmetic in C", "c")));
	put(f, next(f, 1, trust(f, 0, "full", 1000, NULL)));
	put(f, next(f, 1, rotate(f, 1, 4)));
	put(f, next(f, 1, trust(f, 2, "full", 1000, NULL)));
	put(f, next(f, 4, trust(f, 0, "full", 800, NULL)));
	put(f, next(f, 3, trust(f, 1, "full", 700, NULL))); /* to the rotated key */
	/* 2: a fork at seq 2 after seq 3 is applied */
	put(f, next(f, 2, lesson("Goroutines", "channels and select", "go")));
	unsigned char at1[32];
	memcpy(at1, f->head[2], 32);
	put(f, next(f, 2, json_pack("{s:s,s:[s,s]}", "type", "bridge", "scopes", "global",
				    "topic:go")));
	put(f, next(f, 2, lesson("Select", "select waits", "go")));
	put(f, sign_at(f, 2, trust(f, 5, "full", 100, NULL), 2, at1, 1700000999));
	/* 5: seq 3, 1, then 2 (fills the gap) inside one transaction, with
	 * another feed in between; seq 4 never arrives, seq 5 does */
	assert_int_equal(mt_store_begin(f->s, NULL), 0);
	mt_stmt *e1 = next(f, 5, trust(f, 0, "full", 600, NULL));
	mt_stmt *e2 = next(f, 5, lesson("Restore", "Restore drills", "ops"));
	mt_stmt *e3 = next(f, 5, trust(f, 6, "limited", 300, "domain:ops"));
	mt_stmt *e4 = next(f, 5, trust(f, 7, "limited", 300, NULL));
	mt_stmt *e5 = next(f, 5, json_pack("{s:s,s:[s,s]}", "type", "bridge", "scopes", "global",
					   "domain:ops"));
	put(f, e3);
	put(f, e1);
	put(f, next(f, 6, trust(f, 5, "full", 1000, NULL)));
	put(f, e2);
	put(f, e5);
	mt_stmt_free(e4);
	assert_int_equal(mt_store_commit(f->s, NULL), 0);
	/* 6: key events (SPEC §9.2): a commitment to key 7, a statement, a
	 * thief's seq 4 and the owner's pre-rotation rotate at seq 4 naming seq
	 * 3, then 7's feed begins with its key naming the rotate: the rotate
	 * takes effect and the thief's statement is void */
	unsigned char h[32];
	char hex[65];
	mt_blake2b256(h, f->k[7].pk, 32);
	sodium_bin2hex(hex, sizeof hex, h, 32);
	put(f, next(f, 6, json_pack("{s:s,s:s}", "type", "key", "next", hex)));
	put(f, next(f, 6, trust(f, 2, "full", 900, NULL)));
	unsigned char at3[32];
	memcpy(at3, f->head[6], 32);
	put(f, next(f, 6, trust(f, 3, "full", 500, NULL))); /* the thief's */
	mt_stmt *rot = NULL;
	mt_error err = {0};
	json_t *rb = json_pack("{s:s,s:s}", "type", "rotate", "new", f->id[7]);
	if (mt_stmt_sign_for(&rot, rb, f->id[6], &f->k[7], 4, at3, 1700000500, &err) != 0)
		fail_msg("sign rotate: %s", err.msg);
	json_decref(rb);
	char rid[65];
	mt_stmt_id_hex(rid, rot);
	put(f, rot);
	put(f, sign_at(f, 7, json_pack("{s:s,s:s,s:s}", "type", "key", "next", HEX32, "from", rid), 1,
		       NULL, 1700000600));
	/* 4: ts going back: the feed stops before it */
	put(f, sign_at(f, 4, trust(f, 6, "full", 100, NULL), 2, f->head[4], 1600000000));
}

static void test_mixed_rebuild_identical(void **state)
{
	struct fx *f = *state;
	ingest_mixed(f);
	char *before = dump(f);
	assert_null(strstr(before, "## check"));
	/* every row of the table dumped, in table order */
	const char *at = before;
	for (size_t i = 0; i < mt_store__projection_count; i++)
		for (const char *const(*d)[2] = mt_store__projections[i]->dump; (*d)[0]; d++) {
			char title[128];
			snprintf(title, sizeof title, "## %s\n", (*d)[0]);
			const char *p = strstr(at, title);
			assert_non_null(p);
			at = p + strlen(title);
		}
	/* and the set exercises each table (at least one row in every section) */
	for (const char *p = strstr(before, "## "); p; p = strstr(p + 3, "## ")) {
		const char *eol = strchr(p, '\n');
		assert_non_null(eol);
		assert_true(eol[1] != '#' && eol[1] != '\0');
	}
	assert_int_equal(mt_store_rebuild(f->s, NULL, NULL, NULL), 0);
	char *after = dump(f);
	assert_string_equal(before, after);
	mt_store_close(f->s);
	assert_int_equal(mt_test_store_open(&f->s, f->path, NULL), 0);
	char *reopened = dump(f);
	assert_string_equal(before, reopened);
	/* the fork below issuer 2's head undid its seq 2 and 3, kept seq 1 */
	assert_non_null(strstr(before, "|Goroutines|"));
	assert_null(strstr(before, "select waits"));
	assert_null(strstr(before, "topic:go"));
	free(before);
	free(after);
	free(reopened);
}

/* Dump sections "## name" -> their text, for comparing two dumps. */
static const char *section(const char *d, const char *name, size_t *len)
{
	char title[128];
	snprintf(title, sizeof title, "## %s\n", name);
	const char *p = strstr(d, title);
	assert_non_null(p);
	p += strlen(title);
	const char *end = strstr(p, "## ");
	*len = end ? (size_t)(end - p) : strlen(p);
	return p;
}

static int consumes(const mt_projection *p, mt_stmt_type t)
{
	for (const char *const *n = p->types; n && *n; n++)
		if (strcmp(*n, mt_stmt_type_name(t)) == 0)
			return 1;
	return 0;
}

/* For every statement type: apply one (after a trust, so a revoke has an
 * edge to remove) and see which sections change. Each changed section
 * belongs to a projection consuming that type (or to the feed rules' rows);
 * each type a projection consumes changes one of its sections; and the
 * types with derived state are exactly the ones the table lists. */
static void test_table_covers_every_type(void **state)
{
	struct fx *f = *state;
	int has_state[MT_ST__COUNT] = {0};
	for (int t = 0; t < MT_ST__COUNT; t++) {
		mt_store_close(f->s);
		char path[4300];
		snprintf(path, sizeof path, "%s/t%d.db", f->dir, t);
		assert_int_equal(mt_test_store_open(&f->s, path, NULL), 0);
		memset(f->seq, 0, sizeof f->seq);
		put(f, next(f, 0, trust(f, 2, "full", 1000, NULL)));
		char *before = dump(f);
		put(f, next(f, 0, body_of(f, (mt_stmt_type)t, 0, 2)));
		char *after = dump(f);
		for (size_t i = 0; i < mt_store__projection_count; i++) {
			const mt_projection *p = mt_store__projections[i];
			int changed = 0;
			for (const char *const(*d)[2] = p->dump; (*d)[0]; d++) {
				size_t la, lb;
				const char *a = section(before, (*d)[0], &la);
				const char *b = section(after, (*d)[0], &lb);
				changed |= la != lb || memcmp(a, b, la) != 0;
			}
			if (!p->types) {
				/* feeds and applied: every type; the key events'
				 * notes only on key events (test_mixed_…) */
				if (p != &mt_proj_keys)
					assert_true(changed);
				continue;
			}
			if (changed && !consumes(p, (mt_stmt_type)t))
				fail_msg("a %s statement changed %s, which does not list it",
					 mt_stmt_type_name((mt_stmt_type)t), p->name);
			if (consumes(p, (mt_stmt_type)t) && !changed)
				fail_msg("%s lists %s but a %s statement changed nothing of it",
					 p->name, mt_stmt_type_name((mt_stmt_type)t),
					 mt_stmt_type_name((mt_stmt_type)t));
			has_state[t] |= changed;
		}
		free(before);
		free(after);
	}
	static const mt_stmt_type with_state[] = {MT_ST_TRUST, MT_ST_REVOKE, MT_ST_BRIDGE,
						  MT_ST_LESSON, MT_ST_ROTATE};
	int expected[MT_ST__COUNT] = {0};
	for (size_t i = 0; i < sizeof with_state / sizeof *with_state; i++)
		expected[with_state[i]] = 1;
	for (int t = 0; t < MT_ST__COUNT; t++)
		if (has_state[t] != expected[t])
			fail_msg("type %s: derived state %d, expected %d",
				 mt_stmt_type_name((mt_stmt_type)t), has_state[t], expected[t]);
}

/* The table is well formed and the type index matches it. */
static void test_table_and_index(void **state)
{
	MT_TEST_SQLITE_ONLY();
	struct fx *f = *state;
	store_sqlite *sq = mt_store__sq(mt_store_backend_of(f->s));
	for (size_t i = 0; i < mt_store__projection_count; i++) {
		const mt_projection *p = mt_store__projections[i];
		assert_non_null(p->name);
		assert_non_null(p->reset);
		assert_non_null(p->dump);
		assert_non_null(p->dump[0][0]);
		assert_true(p->since >= 1 && p->since <= MT_STORE_SCHEMA);
		if (p->types) {
			assert_non_null(p->apply);
			assert_non_null(p->forget);
			assert_non_null(p->schema);
		}
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(p->name, mt_store__projections[j]->name);
	}
	for (int t = 0; t < MT_ST__COUNT; t++) {
		size_t k = 0;
		for (size_t i = 0; i < mt_store__projection_count; i++)
			if (consumes(mt_store__projections[i], (mt_stmt_type)t))
				assert_ptr_equal(sq->by_type[t][k++], mt_store__projections[i]);
		assert_null(sq->by_type[t][k]);
	}
}

/* A tampered derived row shows in the dump (so `rebuild --check` fails)
 * and a rebuild repairs it. */
static void test_checks_find_tampering(void **state)
{
	MT_TEST_SQLITE_ONLY();
	struct fx *f = *state;
	ingest_mixed(f);
	char *clean = dump(f);
	struct sqlite3 *db = mt_store_db(f->s);
	assert_non_null(db);
	assert_int_equal(sqlite3_exec(db,
				      "INSERT INTO edges VALUES('12D3KooWX','12D3KooWY','global',5,"
				      "2,1000,0,'social',x'00');"
				      "INSERT INTO bridges VALUES('12D3KooWX','global',2);"
				      "UPDATE rotations SET stmt=x'01';"
				      "UPDATE lessons SET title='changed' WHERE seq=1;",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	char *bad = dump(f);
	assert_non_null(strstr(bad, "## check edges\n12D3KooWX -> 12D3KooWY in global\n"));
	assert_non_null(strstr(bad, "## check bridges\n12D3KooWX global\n"));
	assert_non_null(strstr(bad, "## check rotations\n"));
	assert_non_null(strstr(bad, "## check lessons\n"));
	assert_non_null(strstr(bad, "lessons_fts: the index does not match"));
	assert_int_equal(mt_store_rebuild(f->s, NULL, NULL, NULL), 0);
	char *repaired = dump(f);
	assert_string_equal(clean, repaired);
	free(clean);
	free(bad);
	free(repaired);
}

/* The backend table: version and required operations checked at open. */
static void test_backend_table(void **state)
{
	MT_TEST_SQLITE_ONLY();
	struct fx *f = *state;
	mt_store_backend be;
	assert_int_equal(mt_store_backend_init(&be, 0), MT_EINVAL);
	assert_int_equal(mt_store_backend_init(&be, MT_STORE_BACKEND_VERSION + 1), MT_EINVAL);
	assert_int_equal(mt_store_backend_init(&be, MT_STORE_BACKEND_VERSION), 0);
	assert_int_equal(be.version, MT_STORE_BACKEND_VERSION);
	assert_null(be.ingest);
	assert_null(be.free);

	mt_store *s = NULL;
	mt_error err = {0};
	assert_int_equal(mt_store_open_backend(&s, &be, &err), MT_EINVAL);
	assert_null(s);
	assert_non_null(strstr(err.msg, "lacks operation free"));

	/* the SQLite backend's own table, minus one operation */
	mt_store_backend *sq = mt_store_backend_of(f->s);
	assert_string_equal(sq->name, "sqlite");
	assert_int_equal(sq->version, MT_STORE_BACKEND_VERSION);
	be = *sq;
	be.config_get = NULL;
	assert_int_equal(mt_store_open_backend(&s, &be, &err), MT_EINVAL);
	assert_non_null(strstr(err.msg, "lacks operation config_get"));
	be = *sq;
	be.version = MT_STORE_BACKEND_VERSION + 1;
	assert_int_equal(mt_store_open_backend(&s, &be, &err), MT_EINVAL);
	be.version = 0;
	assert_int_equal(mt_store_open_backend(&s, &be, &err), MT_EINVAL);

	/* mt_store_open is the SQLite backend + mt_store_open_backend */
	mt_store_backend *own = NULL;
	char path[4300];
	snprintf(path, sizeof path, "%s/other.db", f->dir);
	assert_int_equal(mt_store_sqlite_backend(&own, path, NULL), 0);
	assert_int_equal(mt_store_open_backend(&s, own, NULL), 0);
	assert_ptr_equal(mt_store_backend_of(s), own);
	assert_non_null(mt_store_db(s));
	assert_null(own->native(own, "postgres"));
	assert_int_equal(mt_store_config_set(s, "k", "v", NULL), 0);
	char *v = NULL;
	assert_int_equal(mt_store_config_get(s, "k", &v, NULL), 0);
	assert_string_equal(v, "v");
	free(v);
	mt_store_close(s);

	/* a backend that is not handed to a store is freed by its own free */
	assert_int_equal(mt_store_sqlite_backend(&own, path, NULL), 0);
	own->free(own);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mixed_rebuild_identical, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_covers_every_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_and_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checks_find_tampering, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_table, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
