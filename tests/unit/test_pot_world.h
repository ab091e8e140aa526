/* Test-only helpers for the pot unit tests: a tiny world of actors that sign
 * genesis and pot-* statements with chained feeds. Header-only (static). */
#ifndef MT_TEST_POT_WORLD_H
#define MT_TEST_POT_WORLD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/pot.h"

#define W_MAX_ACTORS 128
#define W_MAX_STMTS 8192

typedef struct actor {
	mt_keypair kp;
	char id[MT_NODE_ID_MAX];
	uint64_t seq;
	unsigned char prev[32];
} actor;

typedef struct world {
	actor a[W_MAX_ACTORS];
	size_t na;
	mt_stmt *s[W_MAX_STMTS];
	size_t ns;
} world;

static world *w_new(void)
{
	world *w = calloc(1, sizeof *w);
	if (!w || mt_identity_init() != 0)
		abort();
	return w;
}

static void w_free(world *w)
{
	for (size_t i = 0; i < w->ns; i++)
		mt_stmt_free(w->s[i]);
	free(w);
}

static actor *w_actor(world *w)
{
	actor *x = &w->a[w->na];
	unsigned char seed[32] = {0};
	seed[0] = (unsigned char)(w->na + 1);
	seed[1] = 0x5a;
	if (mt_keypair_from_seed(&x->kp, seed) != 0)
		abort();
	mt_node_id_encode(x->id, x->kp.pk);
	w->na++;
	return x;
}

/* Sign `body` (consumed) as x at ts; returns the statement (owned by w). */
static mt_stmt *w_emit(world *w, actor *x, int64_t ts, json_t *body)
{
	mt_stmt *st = NULL;
	mt_error err = {0};
	if (mt_stmt_sign(&st, body, &x->kp, x->seq + 1, x->seq ? x->prev : NULL, ts, &err) != 0) {
		fprintf(stderr, "sign failed: %s\n", err.msg);
		abort();
	}
	json_decref(body);
	x->seq++;
	memcpy(x->prev, st->id, 32);
	w->s[w->ns++] = st;
	return st;
}

static const char *w_hex(const mt_stmt *st)
{
	/* rotating buffers so a test can hold a few ids at once */
	static char buf[8][65];
	static int k;
	k = (k + 1) % 8;
	mt_stmt_id_hex(buf[k], st);
	return buf[k];
}

static mt_stmt *w_genesis(world *w, actor *x, int64_t ts, const char *scope, actor **founders,
			  size_t nf, int64_t period, int64_t dlmax, int64_t credits)
{
	json_t *f = json_array();
	for (size_t i = 0; i < nf; i++)
		json_array_append_new(f, json_string(founders[i]->id));
	json_t *b = json_pack("{s:s,s:s,s:o,s:{s:I,s:I,s:I}}", "type", "genesis", "scope", scope,
			      "founders", f, "params", "period", (json_int_t)period, "deadline_max",
			      (json_int_t)dlmax, "credits", (json_int_t)credits);
	return w_emit(w, x, ts, b);
}

static mt_stmt *w_open(world *w, actor *x, int64_t ts, const mt_stmt *g, const char *cand,
		       const char *cos, int64_t deadline)
{
	char gid[65];
	mt_stmt_id_hex(gid, g);
	return w_emit(w, x, ts,
		      json_pack("{s:s,s:s,s:s,s:s,s:I}", "type", "pot-open", "genesis", gid,
				"candidate", cand, "cosponsor", cos, "deadline",
				(json_int_t)deadline));
}

static void w_nonce(char out[65], const actor *x, const char *round)
{
	unsigned char h[32];
	char in[200];
	snprintf(in, sizeof in, "nonce/%s/%s", x->id, round);
	mt_blake2b256(h, in, strlen(in));
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static mt_stmt *w_commit_raw(world *w, actor *x, int64_t ts, const char *round, const char *commit)
{
	return w_emit(w, x, ts,
		      json_pack("{s:s,s:s,s:s}", "type", "pot-commit", "round", round, "commit",
				commit));
}

static mt_stmt *w_commit(world *w, actor *x, int64_t ts, const char *round, const char *choice)
{
	char nonce[65], c[65];
	w_nonce(nonce, x, round);
	mt_pot_commitment(c, round, x->id, choice, nonce);
	return w_commit_raw(w, x, ts, round, c);
}

static mt_stmt *w_reveal_raw(world *w, actor *x, int64_t ts, const char *round, const char *choice,
			     const char *nonce)
{
	return w_emit(w, x, ts,
		      json_pack("{s:s,s:s,s:s,s:s}", "type", "pot-reveal", "round", round, "choice",
				choice, "nonce", nonce));
}

static mt_stmt *w_reveal(world *w, actor *x, int64_t ts, const char *round, const char *choice)
{
	char nonce[65];
	w_nonce(nonce, x, round);
	return w_reveal_raw(w, x, ts, round, choice, nonce);
}

static mt_stmt *w_claim(world *w, actor *x, int64_t ts, const char *round, const char *cand)
{
	return w_emit(w, x, ts,
		      json_pack("{s:s,s:s,s:s}", "type", "pot-claim", "round", round, "candidate",
				cand));
}

static mt_pot_state *w_derive(world *w, int64_t at)
{
	mt_pot_state *st = NULL;
	mt_error err = {0};
	if (mt_pot_derive(&st, (const mt_stmt *const *)w->s, w->ns, at, &err) != 0) {
		fprintf(stderr, "derive failed: %s\n", err.msg);
		abort();
	}
	return st;
}

#endif
