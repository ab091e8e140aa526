/* The same statements give the same answers on SQLite and on PostgreSQL
 * (issue 19): state digest (`log head`), derived dump, the edge list
 * (`trust list`), metrics, proof-of-trust state, key status, verify.
 * Runs only with MESH_TEST_STORE naming a PostgreSQL cluster
 * (tests/pg/run-unit.sh); skipped otherwise. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <unistd.h>

#include "meshtrust/encoding.h"
#include "meshtrust/engine.h"
#include "meshtrust/metrics.h"
#include "meshtrust/pot.h"
#include "meshtrust/statement.h"
#include "meshtrust/store.h"
#include "store/store_int.h"
#include "testutil.h"
#include "teststore.h"

#define T0 1700000000
#define NK 8

struct fx {
	char *dir;
	mt_store *lite, *pg;
	mt_keypair k[NK];
	char id[NK][MT_NODE_ID_MAX];
};

static int setup(void **state)
{
	if (!mt_test_store_is_pg())
		return 0;
	struct fx *f = calloc(1, sizeof *f);
	f->dir = mt_test_tmpdir();
	char p[4200];
	snprintf(p, sizeof p, "%s/lite.db", f->dir);
	assert_int_equal(mt_store_open(&f->lite, p, NULL), 0);
	snprintf(p, sizeof p, "%s/pg", f->dir);
	mt_error err = {0};
	if (mt_test_store_open(&f->pg, p, &err))
		fail_msg("open pg: %s", err.msg);
	mt_test_keypairs(f->k, f->id, NK, 0x40);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	if (!f)
		return 0;
	mt_store_close(f->lite);
	mt_store_close(f->pg);
	mt_test_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void put(mt_store *s, const mt_stmt *st)
{
	mt_ingest_result r;
	mt_error err = {0};
	if (mt_store_ingest(s, st, &r, &err))
		fail_msg("ingest: %s", err.msg);
}

/* ---- what is compared ----------------------------------------------------- */

static char *edges_text(mt_store *s, int64_t at)
{
	mt_edge_in *e = NULL;
	size_t n = 0;
	assert_int_equal(mt_store_edges(s, &e, &n, at, NULL), 0);
	size_t cap = 256 * (n + 1), len = 0;
	char *out = malloc(cap);
	out[0] = '\0';
	/* in the store's order: both backends must give the same */
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s %s %s %s %u %lld\n", e[i].src,
					e[i].dst, e[i].scope, mt_level_name(e[i].level),
					e[i].score, (long long)e[i].exp);
	free(e);
	return out;
}

static char *metrics_text(mt_store *s)
{
	mt_edge_in *e = NULL;
	size_t n = 0;
	assert_int_equal(mt_store_edges(s, &e, &n, INT64_MAX, NULL), 0);
	mt_metrics_result *m = NULL;
	assert_int_equal(mt_metrics_compute(&m, e, n, NULL, NULL), 0);
	char *out = NULL;
	assert_int_equal(mt_metrics_result_json(&out, m, 1, 0.5), 0);
	mt_metrics_result_free(m);
	free(e);
	return out;
}

static char *pot_text(mt_store *s)
{
	mt_pot_state *st = NULL;
	mt_error err = {0};
	if (mt_pot_derive_store(&st, s, T0 + 100000, &err))
		fail_msg("pot: %s", err.msg);
	size_t cap = 65536, len = 0;
	char *out = malloc(cap);
	len += (size_t)snprintf(out, cap, "communities %zu rounds %zu penalties %zu credits %zu "
				"refusals %zu\n",
				st->n_communities, st->n_rounds, st->n_penalties, st->n_credits,
				st->n_refusals);
	for (size_t i = 0; i < st->n_refusals && len < cap - 400; i++)
		len += (size_t)snprintf(out + len, cap - len, "refused %s %s\n", st->refusals[i].stmt,
					st->refusals[i].reason);
	mt_pot_state_free(st);
	return out;
}

static int on_issue(const mt_verify_issue *issue, void *payload)
{
	char **acc = payload;
	char line[512];
	snprintf(line, sizeof line, "%s %s %llu %s\n", issue->kind, issue->iss ? issue->iss : "",
		 (unsigned long long)issue->seq, issue->detail ? issue->detail : "");
	size_t a = *acc ? strlen(*acc) : 0;
	*acc = realloc(*acc, a + strlen(line) + 1);
	memcpy(*acc + a, line, strlen(line) + 1);
	return 0;
}

static void on_issue_v(const mt_verify_issue *issue, void *payload)
{
	on_issue(issue, payload);
}

static void assert_same(struct fx *f)
{
	char a[65], b[65];
	uint64_t na, nb;
	assert_int_equal(mt_store_digest_hex(f->lite, a, &na, NULL), 0);
	assert_int_equal(mt_store_digest_hex(f->pg, b, &nb, NULL), 0);
	assert_string_equal(a, b);
	assert_int_equal(na, nb);

	char *da = NULL, *db = NULL;
	assert_int_equal(mt_store_derived_dump(f->lite, &da, NULL), 0);
	assert_int_equal(mt_store_derived_dump(f->pg, &db, NULL), 0);
	assert_string_equal(da, db);
	free(da);
	free(db);

	int64_t ats[] = {INT64_MAX, T0 + 50};
	for (size_t i = 0; i < 2; i++) {
		char *ea = edges_text(f->lite, ats[i]), *eb = edges_text(f->pg, ats[i]);
		assert_string_equal(ea, eb);
		free(ea);
		free(eb);
	}
	char *ma = metrics_text(f->lite), *mb = metrics_text(f->pg);
	assert_string_equal(ma, mb);
	free(ma);
	free(mb);
	char *pa = pot_text(f->lite), *pb = pot_text(f->pg);
	assert_string_equal(pa, pb);
	free(pa);
	free(pb);

	for (int i = 0; i < NK; i++) {
		mt_key_status ka, kb;
		assert_int_equal(mt_store_key_status(f->lite, f->id[i], &ka, NULL), 0);
		assert_int_equal(mt_store_key_status(f->pg, f->id[i], &kb, NULL), 0);
		assert_memory_equal(&ka, &kb, sizeof ka);
	}
	char *va = NULL, *vb = NULL;
	uint64_t ca, cb, pa_, pb_;
	assert_int_equal(mt_store_verify(f->lite, on_issue_v, &va, &ca, &pa_, NULL, NULL, NULL), 0);
	assert_int_equal(mt_store_verify(f->pg, on_issue_v, &vb, &cb, &pb_, NULL, NULL, NULL), 0);
	assert_int_equal(ca, cb);
	assert_int_equal(pa_, pb_);
	assert_string_equal(va ? va : "", vb ? vb : "");
	free(va);
	free(vb);

	/* and PostgreSQL's rebuild gives what it had */
	char *before = NULL, *after = NULL;
	assert_int_equal(mt_store_derived_dump(f->pg, &before, NULL), 0);
	assert_int_equal(mt_store_rebuild(f->pg, NULL, NULL, NULL), 0);
	assert_int_equal(mt_store_derived_dump(f->pg, &after, NULL), 0);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/* ---- the shared vectors ---------------------------------------------------- */

static void load_canon(struct fx *f, const char *canon, int pg_first)
{
	mt_stmt *st = NULL;
	mt_error err = {0};
	if (mt_stmt_decode(&st, canon, strlen(canon), INT64_MAX, &err))
		fail_msg("vector: %s", err.msg);
	put(pg_first ? f->pg : f->lite, st);
	put(pg_first ? f->lite : f->pg, st);
	mt_stmt_free(st);
}

static void test_shared_vectors(void **state)
{
	struct fx *f = *state;
	if (!f)
		skip();
	json_t *v = mt_test_load_vector("statements.json");
	json_t *valid = json_object_get(v, "valid"), *fork = json_object_get(v, "equivocation");
	size_t i;
	json_t *e;
	/* PostgreSQL in the reverse order */
	for (i = json_array_size(valid); i-- > 0;)
		load_canon(f, json_string_value(json_object_get(json_array_get(valid, i), "canonical")),
			   1);
	json_array_foreach(fork, i, e)
	{
		const char *c = json_is_string(e) ? json_string_value(e)
						  : json_string_value(json_object_get(e, "canonical"));
		if (c)
			load_canon(f, c, 0);
	}
	json_decref(v);
	assert_same(f);
}

/* ---- a generated set: trust, revoke, forks, lessons, a community, a
 * pre-rotation ------------------------------------------------------------------- */

static mt_stmt *sign(struct fx *f, int who, json_t *body, uint64_t seq, const mt_stmt *prev,
		     int64_t ts)
{
	mt_stmt *st = NULL;
	mt_error err = {0};
	if (mt_stmt_sign(&st, body, &f->k[who], seq, prev ? prev->id : NULL, ts, &err))
		fail_msg("sign: %s", err.msg);
	json_decref(body);
	return st;
}

static void test_generated(void **state)
{
	struct fx *f = *state;
	if (!f)
		skip();
	mt_stmt *all[256];
	size_t n = 0;
	uint32_t rng = 12345;
	const char *levels[] = {"full", "limited", "none"};
	const char *scopes[] = {"global", "coop:food", "topic:rust"};
	/* feeds 0..5: 6 statements each, random trust / revoke / lesson */
	for (int who = 0; who < 6; who++) {
		mt_stmt *prev = NULL;
		for (uint64_t seq = 1; seq <= 6; seq++) {
			rng = rng * 1103515245u + 12345u;
			int target = (int)((rng >> 8) % NK);
			if (target == who)
				target = (target + 1) % NK;
			int kind = (int)((rng >> 16) % 4);
			const char *scope = scopes[(rng >> 20) % 3];
			json_t *body;
			if (kind == 3 && seq > 1)
				body = json_pack("{s:s, s:s, s:s}", "type", "revoke", "target",
						 f->id[target], "scope", scope);
			else if (kind == 2)
				body = json_pack("{s:s, s:[s], s:s, s:s}", "type", "lesson", "topics",
						 "soil", "title", "Émoji compost notes",
						 "body", "keep the compost pile moist and turn it weekly");
			else
				body = json_pack("{s:s, s:s, s:s, s:s, s:i}", "type", "trust", "target",
						 f->id[target], "level", levels[(rng >> 24) % 3],
						 "scope", scope, "score", (int)(1 + (rng >> 4) % 1000));
			mt_stmt *st = sign(f, who, body, seq, prev, T0 + (int64_t)(10 * seq));
			all[n++] = st;
			prev = st;
		}
	}
	/* a fork of feed 5 at seq 3 */
	all[n++] = sign(f, 5,
			json_pack("{s:s, s:s, s:s, s:s}", "type", "trust", "target", f->id[0], "level",
				  "full", "scope", "global"),
			3, all[5 * 6 + 1], T0 + 31);
	/* a gap in feed 6: seq 2 without seq 1 */
	all[n++] = sign(f, 6,
			json_pack("{s:s, s:s, s:s, s:s}", "type", "trust", "target", f->id[1], "level",
				  "full", "scope", "global"),
			2, all[0], T0 + 5);
	/* a community founded by 0 and 1 */
	all[n++] = sign(f, 1,
			json_pack("{s:s, s:s, s:[s, s], s:{s:i, s:i, s:i}}", "type", "genesis", "scope",
				  "coop:garden", "founders", f->id[1], f->id[2], "params", "period",
				  86400, "deadline_max", 3600, "credits", 2),
			7, all[6], T0 + 70);
	/* ingest: SQLite in order, PostgreSQL in reverse */
	for (size_t i = 0; i < n; i++)
		put(f->lite, all[i]);
	for (size_t i = n; i-- > 0;)
		put(f->pg, all[i]);
	assert_same(f);

	/* a pre-rotation of identity 7, issued on both with the same inputs */
	mt_keypair next[1];
	char next_id[1][MT_NODE_ID_MAX];
	mt_test_keypairs(next, next_id, 1, 0x70);
	unsigned char h[32];
	char hex[65];
	mt_blake2b256(h, next[0].pk, 32);
	mt_hex_encode(hex, sizeof hex, h, 32);
	mt_store *both[2] = {f->lite, f->pg};
	for (int b = 0; b < 2; b++) {
		json_t *key = json_pack("{s:s, s:s}", "type", "key", "next", hex);
		json_t *tr = json_pack("{s:s, s:s, s:s, s:s}", "type", "trust", "target", f->id[0],
				       "level", "full", "scope", "global");
		mt_stmt *rot = NULL;
		mt_error err = {0};
		assert_int_equal(mt_store_issue(both[b], NULL, key, &f->k[7], T0 + 100, NULL), 0);
		assert_int_equal(mt_store_issue(both[b], NULL, tr, &f->k[7], T0 + 101, NULL), 0);
		if (mt_store_issue_rotate(both[b], &rot, f->id[7], &next[0], 0, T0 + 200, &err))
			fail_msg("rotate: %s", err.msg);
		char rid[65];
		mt_stmt_id_hex(rid, rot);
		json_t *nkey = json_pack("{s:s, s:s, s:s}", "type", "key", "next", hex, "from", rid);
		assert_int_equal(mt_store_issue(both[b], NULL, nkey, &next[0], T0 + 201, NULL), 0);
		mt_stmt_free(rot);
		json_decref(key);
		json_decref(tr);
		json_decref(nkey);
	}
	assert_same(f);
	mt_key_status ks;
	assert_int_equal(mt_store_key_status(f->pg, f->id[7], &ks, NULL), 0);
	assert_string_equal(ks.newest, next_id[0]);

	/* the theft alarm agrees: what each signed is its own */
	uint64_t ca = 9, cb = 9;
	assert_int_equal(mt_store_own_foreign(f->lite, f->id[7], NULL, NULL, &ca, NULL), 0);
	assert_int_equal(mt_store_own_foreign(f->pg, f->id[7], NULL, NULL, &cb, NULL), 0);
	assert_int_equal(ca, cb);
	for (size_t i = 0; i < n; i++)
		mt_stmt_free(all[i]);

	/* mesh store migrate: SQLite into a fresh PostgreSQL store and back
	 * into a fresh SQLite one, names and peers with them */
	assert_int_equal(mt_store_name_set(f->lite, f->id[1], "bob", NULL), 0);
	assert_int_equal(mt_store_peer_put(f->lite, "http://127.0.0.1:9", f->id[2], T0, NULL), 0);
	assert_int_equal(mt_store_peer_put(f->lite, "http://127.0.0.1:8", f->id[3], T0, NULL), 0);
	int removed = 0;
	assert_int_equal(mt_store_peer_remove(f->lite, "http://127.0.0.1:8", &removed, NULL), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(mt_store_peer_remove(f->lite, "http://127.0.0.1:8", &removed, NULL), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(mt_store_note_set(f->lite, f->id[1], "a good friend", NULL), 0);
	assert_int_equal(mt_store_config_set(f->lite, "trust.maxDepth", "3", NULL), 0);
	char p[4200];
	mt_store *to = NULL, *back = NULL;
	snprintf(p, sizeof p, "%s/migrated", f->dir);
	assert_int_equal(mt_test_store_open(&to, p, NULL), 0);
	uint64_t copied = 0;
	mt_error err = {0};
	if (mt_store_copy(to, f->lite, &copied, NULL, NULL, &err))
		fail_msg("copy: %s", err.msg);
	snprintf(p, sizeof p, "%s/back.db", f->dir);
	assert_int_equal(mt_store_open(&back, p, NULL), 0);
	assert_int_equal(mt_store_copy(back, to, NULL, NULL, NULL, NULL), 0);
	char *d0 = NULL, *d1 = NULL, *d2 = NULL;
	assert_int_equal(mt_store_derived_dump(f->lite, &d0, NULL), 0);
	assert_int_equal(mt_store_derived_dump(to, &d1, NULL), 0);
	assert_int_equal(mt_store_derived_dump(back, &d2, NULL), 0);
	assert_string_equal(d0, d1);
	assert_string_equal(d0, d2);
	char name[MT_NAME_MAX];
	assert_int_equal(mt_store_name_get(back, f->id[1], name, NULL), 0);
	assert_string_equal(name, "bob");
	/* notes and configuration travel too; a removed peer does not */
	char *note = NULL, *cfg = NULL;
	assert_int_equal(mt_store_note_get(back, f->id[1], &note, NULL), 0);
	assert_non_null(note);
	assert_string_equal(note, "a good friend");
	assert_int_equal(mt_store_config_get(to, "trust.maxDepth", &cfg, NULL), 0);
	assert_non_null(cfg);
	assert_string_equal(cfg, "3");
	free(note);
	free(cfg);
	assert_int_equal(mt_store_peer_remove(to, "http://127.0.0.1:8", &removed, NULL), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(mt_store_peer_remove(to, "http://127.0.0.1:9", &removed, NULL), 0);
	assert_int_equal(removed, 1);
	free(d0);
	free(d1);
	free(d2);
	mt_store_close(to);
	mt_store_close(back);
}

/* ---- two writers at once on one PostgreSQL store ------------------------------ */

struct writer {
	mt_store *s;
	mt_stmt **v;
	size_t n;
	int reverse;
	uint64_t accepted;
	int failed;
};

static void *write_all(void *arg)
{
	struct writer *w = arg;
	for (size_t k = 0; k < w->n; k++) {
		size_t i = w->reverse ? w->n - 1 - k : k;
		mt_ingest_result r;
		if (mt_store_ingest(w->s, w->v[i], &r, NULL) != 0)
			w->failed++;
		else if (r == MT_INGEST_ACCEPTED)
			w->accepted++;
		if (mt_store_quota_add(w->s, 1, "k", 7, 1, NULL) != 0)
			w->failed++;
	}
	return NULL;
}

/* Two handles (as two nodes) ingest the same feeds at once, in opposite
 * orders: every statement is accepted exactly once, the result is what
 * SQLite derives, and no quota count is lost. */
static void test_two_writers(void **state)
{
	struct fx *f = *state;
	if (!f)
		skip();
	enum { FEEDS = 6, LEN = 25 };
	mt_stmt *v[FEEDS * LEN];
	size_t n = 0;
	for (int who = 0; who < FEEDS; who++) {
		mt_stmt *prev = NULL;
		for (uint64_t seq = 1; seq <= LEN; seq++) {
			json_t *body = json_pack("{s:s, s:s, s:s, s:s, s:i}", "type", "trust", "target",
						 f->id[(who + (int)seq) % NK == who ? (who + 1) % NK
										   : (who + (int)seq) % NK],
						 "level", "full", "scope", "global", "score",
						 (int)(seq * 7 % 1000 + 1));
			v[n] = sign(f, who, body, seq, prev, T0 + (int64_t)seq);
			prev = v[n++];
		}
	}
	char p[4200];
	mt_store *second = NULL;
	snprintf(p, sizeof p, "%s/pg", f->dir);
	assert_int_equal(mt_test_store_open(&second, p, NULL), 0);
	struct writer a = {f->pg, v, n, 0, 0, 0}, b = {second, v, n, 1, 0, 0};
	pthread_t ta, tb;
	assert_int_equal(pthread_create(&ta, NULL, write_all, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, write_all, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_int_equal(a.failed + b.failed, 0);
	assert_int_equal(a.accepted + b.accepted, n);
	uint64_t sum = 0;
	assert_int_equal(mt_store_quota_sum(second, 1, "k", 0, &sum, NULL), 0);
	assert_int_equal(sum, 2 * n);
	for (size_t i = 0; i < n; i++)
		put(f->lite, v[i]);
	assert_same(f);
	char *d1 = NULL, *d2 = NULL;
	assert_int_equal(mt_store_derived_dump(f->pg, &d1, NULL), 0);
	assert_int_equal(mt_store_derived_dump(second, &d2, NULL), 0);
	assert_string_equal(d1, d2);
	free(d1);
	free(d2);
	mt_store_close(second);
	for (size_t i = 0; i < n; i++)
		mt_stmt_free(v[i]);
}

/* The PostgreSQL connection under a handle (the backend's native handle). */
static PGconn *conn_of(mt_store *s)
{
	return s->be->native ? s->be->native(s->be, "postgresql") : NULL;
}

/* Terminate the server session of `victim` from `killer`'s connection. */
static void terminate(mt_store *killer, mt_store *victim)
{
	char q[80];
	snprintf(q, sizeof q, "SELECT pg_terminate_backend(%d)", PQbackendPID(conn_of(victim)));
	PGresult *r = PQexec(conn_of(killer), q);
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	PQclear(r);
	usleep(100 * 1000);
}

/* A lost connection is MT_EUNAVAIL with "store unavailable: <reason>"; the
 * next operation re-makes the connection; a read is retried at once. */
static void test_unavailable(void **state)
{
	struct fx *f = *state;
	if (!f)
		skip();
	assert_string_equal(mt_error_name(MT_EUNAVAIL), "EUNAVAIL");
	char p[4200];
	mt_store *s = NULL;
	snprintf(p, sizeof p, "%s/pg", f->dir);
	assert_int_equal(mt_test_store_open(&s, p, NULL), 0);
	assert_non_null(conn_of(s));

	/* a write is not retried: the caller learns the database is away */
	terminate(f->pg, s);
	mt_error err = {0};
	assert_int_equal(mt_store_quota_add(s, 1, "unavail", 1, 1, &err), MT_EUNAVAIL);
	assert_int_equal(err.code, MT_EUNAVAIL);
	assert_non_null(strstr(err.msg, "store unavailable: "));
	/* the next operation reconnects */
	uint64_t sum = 0;
	assert_int_equal(mt_store_quota_add(s, 1, "unavail", 1, 1, NULL), 0);
	assert_int_equal(mt_store_quota_sum(s, 1, "unavail", 0, &sum, NULL), 0);
	assert_int_equal(sum, 1);

	/* a read that finds its connection lost runs again on a new one */
	terminate(f->pg, s);
	assert_int_equal(mt_store_quota_sum(s, 1, "unavail", 0, &sum, NULL), 0);
	assert_int_equal(sum, 1);

	/* the change counter: a write by another handle moves it (notified) */
	uint64_t c1 = 0, c2 = 0;
	assert_int_equal(mt_store_change_counter(s, &c1, NULL), 0);
	assert_int_equal(mt_store_change_counter(s, &c2, NULL), 0);
	assert_true(c1 == c2);
	json_t *body = json_pack("{s:s, s:s, s:s, s:s}", "type", "trust", "target", f->id[1],
				 "level", "full", "scope", "global");
	mt_stmt *st = sign(f, 0, body, 1, NULL, T0);
	put(f->pg, st);
	mt_stmt_free(st);
	for (int i = 0; i < 50 && c2 == c1; i++) {
		usleep(10 * 1000);
		assert_int_equal(mt_store_change_counter(s, &c2, NULL), 0);
	}
	assert_true(c2 != c1);
	mt_store_close(s);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_shared_vectors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_writers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unavailable, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
