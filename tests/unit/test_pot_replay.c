/* The replay order of proof-of-trust (SPEC §9.1, issue #17 point 1).
 *
 * - tests/vectors/pot-replay.json: rounds whose moves all share one ts. Each
 *   case's statements are handed to the derivation in every order (every
 *   permutation) and must give byte-identical states; the same script with one
 *   second between moves, in its own order and in every other causal order of
 *   the issuers, must give the same outcome (compared by labels: rounds,
 *   roster, penalties, credits, refused moves), and both must give `expect`.
 * - the reported bug, a cycle, and "ts lower than the statement it names";
 * - the order itself (src/pot/replay.h): feed order and dependencies hold,
 *   and it is a function of the set; its cost on a large history. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>

#include <cmocka.h>

#include "pot/replay.h"
#include "test_pot_world.h"

#define MAX_MOVES 16
#define MAX_LABELS 24

/* ---- the vectors ------------------------------------------------------------ */

static json_t *load_vectors(void)
{
	char path[4096];
	const char *env = getenv("MT_POT_REPLAY_VECTORS");
	if (env)
		snprintf(path, sizeof path, "%s", env);
	else {
		/* tests/unit/<this file> -> tests/vectors/pot-replay.json */
		snprintf(path, sizeof path, "%s", __FILE__);
		char *slash = strrchr(path, '/');
		if (slash)
			slash[1] = '\0';
		else
			path[0] = '\0';
		size_t len = strlen(path);
		snprintf(path + len, sizeof path - len, "../vectors/pot-replay.json");
	}
	json_error_t jerr;
	json_t *v = json_load_file(path, 0, &jerr);
	if (!v) {
		fprintf(stderr, "cannot read %s: %s (line %d)\n", path, jerr.text, jerr.line);
		exit(1);
	}
	return v;
}

/* One script played into a world: actors by label, statements by move. */
typedef struct run {
	world *w;
	const char *label[MAX_LABELS];
	actor *who[MAX_LABELS];
	size_t nl;
	mt_stmt *genesis;
	mt_stmt *move[MAX_MOVES];
	size_t nm;
	const char *round_label[MAX_MOVES];
	char round_id[MAX_MOVES][65];
	size_t nr;
	int64_t t1; /* the moves' first (or only) second */
	int64_t at;
} run;

static actor *actor_of(run *r, const char *label)
{
	for (size_t i = 0; i < r->nl; i++)
		if (strcmp(r->label[i], label) == 0)
			return r->who[i];
	assert_true(r->nl < MAX_LABELS);
	actor *x = &r->w->a[r->w->na++];
	unsigned char seed[32];
	char in[64];
	snprintf(in, sizeof in, "pot-replay/%s", label);
	mt_blake2b256(seed, in, strlen(in));
	assert_int_equal(mt_keypair_from_seed(&x->kp, seed), 0);
	mt_node_id_encode(x->id, x->kp.pk);
	r->label[r->nl] = label;
	r->who[r->nl++] = x;
	return x;
}

static const char *label_of_id(const run *r, const char *id)
{
	for (size_t i = 0; i < r->nl; i++)
		if (strcmp(r->who[i]->id, id) == 0)
			return r->label[i];
	for (size_t i = 0; i < r->nr; i++)
		if (strcmp(r->round_id[i], id) == 0)
			return r->round_label[i];
	return id;
}

static const char *round_id_of(const run *r, const char *label)
{
	for (size_t i = 0; i < r->nr; i++)
		if (strcmp(r->round_label[i], label) == 0)
			return r->round_id[i];
	fail_msg("round %s used before its open", label);
	return NULL;
}

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The choice `by` committed to in round `rl` first in the script. */
static const char *committed_choice(const json_t *moves, const char *by, const char *rl)
{
	size_t i;
	json_t *m;
	json_array_foreach(moves, i, m)
		if (str(m, "commit") && strcmp(str(m, "by"), by) == 0 &&
		    strcmp(str(m, "commit"), rl) == 0)
			return str(m, "choice");
	return "cooperate";
}

/* Play the case's moves in `order` (move indices), all at one ts or one
 * second apart. */
static void play(run *r, const json_t *vec, const json_t *cs, const size_t *order, int spaced)
{
	memset(r, 0, sizeof *r);
	r->w = w_new();
	int64_t t0 = json_integer_value(json_object_get(vec, "ts"));
	const json_t *params = json_object_get(vec, "params"), *founders =
								   json_object_get(vec, "founders");
	const json_t *moves = json_object_get(cs, "moves");
	r->nm = json_array_size(moves);
	assert_true(r->nm <= MAX_MOVES);
	r->t1 = t0 + 10;
	r->at = r->t1 + (json_object_get(cs, "at") ? json_integer_value(json_object_get(cs, "at"))
						   : 100);
	actor *fa[MAX_LABELS] = {0};
	size_t nf = json_array_size(founders);
	for (size_t i = 0; i < nf; i++)
		fa[i] = actor_of(r, json_string_value(json_array_get(founders, i)));
	r->genesis = w_genesis(r->w, fa[0], t0, "coop:replay", fa, nf,
			       json_integer_value(json_object_get(params, "period")),
			       json_integer_value(json_object_get(params, "deadline_max")),
			       json_integer_value(json_object_get(params, "credits")));
	for (size_t k = 0; k < r->nm; k++) {
		const json_t *m = json_array_get(moves, order[k]);
		int64_t ts = r->t1 + (spaced ? (int64_t)k : 0);
		actor *x = actor_of(r, str(m, "by"));
		mt_stmt *s;
		if (str(m, "open")) {
			int64_t dl = json_object_get(m, "deadline")
					     ? json_integer_value(json_object_get(m, "deadline"))
					     : 400;
			s = w_open(r->w, x, ts, r->genesis, actor_of(r, str(m, "candidate"))->id,
				   actor_of(r, str(m, "with"))->id, ts + dl);
			r->round_label[r->nr] = str(m, "open");
			mt_stmt_id_hex(r->round_id[r->nr++], s);
		} else if (str(m, "commit")) {
			s = w_commit(r->w, x, ts, round_id_of(r, str(m, "commit")), str(m, "choice"));
		} else if (str(m, "reveal")) {
			const char *choice = str(m, "choice");
			if (!choice)
				choice = committed_choice(moves, str(m, "by"), str(m, "reveal"));
			s = w_reveal(r->w, x, ts, round_id_of(r, str(m, "reveal")), choice);
		} else if (str(m, "claim")) {
			s = w_claim(r->w, x, ts, round_id_of(r, str(m, "claim")),
				    actor_of(r, str(m, "candidate"))->id);
		} else {
			fail_msg("move %zu: unknown kind", order[k]);
			return;
		}
		r->move[order[k]] = s;
	}
}

static void run_free(run *r)
{
	w_free(r->w);
	r->w = NULL;
}

static int cmp_json_str(const void *a, const void *b)
{
	char *x = json_dumps(*(json_t *const *)a, JSON_COMPACT | JSON_ENCODE_ANY),
	     *y = json_dumps(*(json_t *const *)b, JSON_COMPACT | JSON_ENCODE_ANY);
	int c = strcmp(x, y);
	free(x);
	free(y);
	return c;
}

static void sort_array(json_t *arr)
{
	size_t n = json_array_size(arr);
	if (n < 2)
		return;
	json_t **items = malloc(n * sizeof *items);
	for (size_t i = 0; i < n; i++)
		items[i] = json_incref(json_array_get(arr, i));
	qsort(items, n, sizeof *items, cmp_json_str);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, items[i]);
	free(items);
}

/* The outcome in the vectors' terms: ids replaced by labels, no times. */
static json_t *outcome(const run *r, const mt_pot_state *st)
{
	json_t *rounds = json_object(), *members = json_array(), *pens = json_array(),
	       *creds = json_array(), *refused = json_array();
	for (size_t i = 0; i < st->n_rounds; i++) {
		const mt_pot_round *rd = &st->rounds[i];
		json_t *committed = json_array(), *revealed = json_object();
		for (int w = 0; w < 2; w++) {
			if (rd->committed[w])
				json_array_append_new(committed,
						      json_string(label_of_id(r, rd->party[w])));
			if (rd->revealed[w])
				json_object_set_new(revealed, label_of_id(r, rd->party[w]),
						    json_string(rd->defected[w] ? "defect"
										: "cooperate"));
		}
		sort_array(committed);
		json_object_set_new(rounds, label_of_id(r, rd->id),
				    json_pack("{s:s,s:s,s:b,s:o,s:o}", "stage",
					      mt_pot_stage_name(rd->stage), "outcome",
					      mt_pot_outcome_name(rd->outcome), "admitted", rd->admitted,
					      "committed", committed, "revealed", revealed));
	}
	for (size_t c = 0; c < st->n_communities; c++)
		for (size_t i = 0; i < st->communities[c].n_members; i++)
			json_array_append_new(members,
					      json_string(label_of_id(r, st->communities[c].members[i].id)));
	sort_array(members);
	int64_t period = st->n_communities ? st->communities[0].params.period : 1;
	for (size_t i = 0; i < st->n_penalties; i++) {
		const mt_pot_penalty *p = &st->penalties[i];
		json_array_append_new(pens, json_pack("[s,s,I]", label_of_id(r, p->member),
						      label_of_id(r, p->round),
						      (json_int_t)((p->until - p->from) / period)));
	}
	sort_array(pens);
	for (size_t i = 0; i < st->n_credits; i++) {
		const mt_pot_credit *k = &st->credits[i];
		json_array_append_new(creds, json_pack("[s,s,I,I]", label_of_id(r, k->member),
						       label_of_id(r, k->round), (json_int_t)k->total,
						       (json_int_t)k->used));
	}
	sort_array(creds);
	for (size_t i = 0; i < r->nm; i++) {
		char h[65];
		mt_stmt_id_hex(h, r->move[i]);
		if (mt_pot_refusal_get(st, h))
			json_array_append_new(refused, json_integer((json_int_t)i));
	}
	return json_pack("{s:o,s:o,s:o,s:o,s:o}", "rounds", rounds, "members", members, "penalties",
			 pens, "credits", creds, "refused", refused);
}

static mt_pot_state *derive_list(const mt_stmt *const *list, size_t n, int64_t at)
{
	mt_pot_state *st = NULL;
	assert_int_equal(mt_pot_derive(&st, list, n, at, NULL), 0);
	return st;
}

static char *dump(const mt_pot_state *st)
{
	json_t *j = mt_pot_state_json(st);
	char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(j);
	return s;
}

static void expect_outcome(const char *name, const char *variant, const json_t *want,
			   const json_t *got)
{
	if (json_equal(want, got))
		return;
	char *a = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT),
	     *b = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
	fail_msg("case %s (%s):\n want %s\n  got %s", name, variant, a, b);
	free(a);
	free(b);
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ---- orders ------------------------------------------------------------------ */

/* Every permutation of p[0..n) (Heap's algorithm, iterative); calls fn on each. */
static size_t each_permutation(const mt_stmt **p, size_t n,
			       void (*fn)(const mt_stmt **, size_t, void *), void *payload)
{
	size_t c[16] = {0}, count = 1;
	fn(p, n, payload);
	for (size_t i = 1; i < n;) {
		if (c[i] < i) {
			size_t j = i % 2 ? c[i] : 0;
			const mt_stmt *t = p[j];
			p[j] = p[i];
			p[i] = t;
			fn(p, n, payload);
			count++;
			c[i]++;
			i = 1;
		} else
			c[i++] = 0;
	}
	return count;
}

struct perm_check {
	const char *want;
	int64_t at;
	const char *name;
};

static void check_perm(const mt_stmt **p, size_t n, void *payload)
{
	struct perm_check *pc = payload;
	mt_pot_state *st = derive_list(p, n, pc->at);
	char *got = dump(st);
	if (strcmp(got, pc->want) != 0)
		fail_msg("case %s: a permutation of the same-ts statements changes the state\n"
			 " want %s\n  got %s",
			 pc->name, pc->want, got);
	free(got);
	mt_pot_state_free(st);
}

/* Whether move j may come next, given the moves already placed: after the
 * open of its round; a reveal after both sponsors' first commits, a claim
 * after both sponsors' first reveals — except a dependency the mover's own
 * feed puts after the move (a cycle the script makes on purpose). */
static int causal_ok(const json_t *moves, const int *placed, size_t j)
{
	const json_t *m = json_array_get(moves, j);
	const char *rl = str(m, "commit") ? str(m, "commit")
			 : str(m, "reveal") ? str(m, "reveal")
					    : str(m, "claim");
	if (!rl)
		return 1;
	const char *by = str(m, "by"), *party[2] = {NULL, NULL};
	size_t n = json_array_size(moves);
	for (size_t i = 0; i < n; i++) {
		const json_t *o = json_array_get(moves, i);
		if (str(o, "open") && strcmp(str(o, "open"), rl) == 0) {
			if (!placed[i])
				return 0;
			party[0] = str(o, "by");
			party[1] = str(o, "with");
		}
	}
	const char *need = str(m, "reveal") ? "commit" : str(m, "claim") ? "reveal" : NULL;
	for (int p = 0; need && p < 2; p++) {
		for (size_t i = 0; party[p] && i < n; i++) {
			const json_t *o = json_array_get(moves, i);
			if (!str(o, need) || strcmp(str(o, need), rl) || strcmp(str(o, "by"), party[p]))
				continue;
			/* the first such move of that party */
			if (!placed[i] && !(strcmp(party[p], by) == 0 && i > j))
				return 0;
			break;
		}
	}
	return 1;
}

/* Every interleaving of the issuers' move sequences that is causal; calls fn. */
static void interleave(const json_t *moves, size_t *order, int *placed, size_t k,
		       void (*fn)(const size_t *, void *), void *payload, size_t *count, size_t cap)
{
	size_t n = json_array_size(moves);
	if (*count >= cap)
		return;
	if (k == n) {
		(*count)++;
		fn(order, payload);
		return;
	}
	for (size_t j = 0; j < n; j++) {
		if (placed[j])
			continue;
		/* j must be the next unplaced move of its issuer */
		int first = 1;
		for (size_t i = 0; i < j && first; i++)
			if (!placed[i] && strcmp(str(json_array_get(moves, i), "by"),
						 str(json_array_get(moves, j), "by")) == 0)
				first = 0;
		if (!first || !causal_ok(moves, placed, j))
			continue;
		placed[j] = 1;
		order[k] = j;
		interleave(moves, order, placed, k + 1, fn, payload, count, cap);
		placed[j] = 0;
	}
}

struct spaced_check {
	const json_t *vec, *cs, *want;
	const char *name;
};

static void check_spaced(const size_t *order, void *payload)
{
	struct spaced_check *sc = payload;
	run r;
	play(&r, sc->vec, sc->cs, order, 1);
	mt_pot_state *st = derive_list((const mt_stmt *const *)r.w->s, r.w->ns, r.at);
	json_t *got = outcome(&r, st);
	char variant[200];
	int len = snprintf(variant, sizeof variant, "one second apart, order");
	for (size_t i = 0; i < r.nm && len < (int)sizeof variant - 4; i++)
		len += snprintf(variant + len, sizeof variant - (size_t)len, " %zu", order[i]);
	expect_outcome(sc->name, variant, sc->want, got);
	json_decref(got);
	mt_pot_state_free(st);
	run_free(&r);
}

static void test_vectors(void **state)
{
	(void)state;
	json_t *vec = load_vectors();
	const json_t *cases = json_object_get(vec, "cases");
	assert_true(json_array_size(cases) >= 5);
	size_t i;
	json_t *cs;
	json_array_foreach(cases, i, cs)
	{
		const char *name = str(cs, "name");
		const json_t *moves = json_object_get(cs, "moves"), *want = json_object_get(cs, "expect");
		size_t n = json_array_size(moves), script[MAX_MOVES];
		for (size_t k = 0; k < n; k++)
			script[k] = k;
		/* all moves in one second */
		run r;
		play(&r, vec, cs, script, 0);
		mt_pot_state *st = derive_list((const mt_stmt *const *)r.w->s, r.w->ns, r.at);
		json_t *got = outcome(&r, st);
		expect_outcome(name, "all in one second", want, got);
		json_decref(got);
		struct perm_check pc = {dump(st), r.at, name};
		size_t ns = r.w->ns;
		mt_pot_state_free(st);
		const mt_stmt **p = malloc(r.w->ns * sizeof *p);
		for (size_t k = 0; k < r.w->ns; k++)
			p[k] = r.w->s[k];
		/* every permutation up to 8 statements (40320), else 20000 random ones;
		 * under valgrind the runner sets MT_POT_REPLAY_ORDERS: that many
		 * random ones only (every order still runs natively and under ASan) */
		const char *lim = getenv("MT_POT_REPLAY_ORDERS");
		size_t budget = lim && atoi(lim) > 0 ? (size_t)atoi(lim) : 20000;
		size_t perms = 0;
		if (r.w->ns <= 8 && !lim)
			perms = each_permutation(p, r.w->ns, check_perm, &pc);
		else
			for (uint64_t rng = 0x5eed; perms < budget; perms++) {
				for (size_t k = r.w->ns - 1; k > 0; k--) {
					size_t j = (size_t)(rng_next(&rng) % (k + 1));
					const mt_stmt *t = p[k];
					p[k] = p[j];
					p[j] = t;
				}
				check_perm(p, r.w->ns, &pc);
			}
		free(p);
		free((char *)pc.want);
		run_free(&r);
		/* one second between moves, in every causal order of the issuers */
		size_t order[MAX_MOVES], count = 0;
		int placed[MAX_MOVES] = {0};
		struct spaced_check sc = {vec, cs, want, name};
		check_spaced(script, &sc);
		interleave(moves, order, placed, 0, check_spaced, &sc, &count, 2000);
		assert_true(count >= 1);
		printf("# %-58s %5zu %s permutations, %4zu spaced orders\n", name, perms,
		       ns <= 8 ? "(all)" : "random", count);
	}
	json_decref(vec);
}

/* ---- the reported bug, a cycle, ts lower than the statement it names ---------- */

static const json_t *case_named(const json_t *vec, const char *name)
{
	size_t i;
	json_t *cs;
	json_array_foreach(json_object_get(vec, "cases"), i, cs)
		if (strcmp(str(cs, "name"), name) == 0)
			return cs;
	fail_msg("no vector case %s", name);
	return NULL;
}

static const mt_pot_refusal *refusal_of(const mt_pot_state *st, const mt_stmt *s)
{
	char h[65];
	mt_stmt_id_hex(h, s);
	return mt_pot_refusal_get(st, h);
}

static void assert_reason(const mt_pot_state *st, const mt_stmt *s, const char *needle)
{
	const mt_pot_refusal *ref = refusal_of(st, s);
	if (!ref)
		fail_msg("expected a refusal containing \"%s\"; the move counted", needle);
	else if (!strstr(ref->reason, needle))
		fail_msg("refusal \"%s\" does not contain \"%s\"", ref->reason, needle);
}

/* Issue #17 point 1: every move of a round in one second; the cosponsor,
 * penalised at its resolution, opens a new round in that second. The round
 * stays resolved, before and after the new open arrives, and the open is
 * refused for the penalty. */
static void test_penalised_member_opens_in_same_second(void **state)
{
	(void)state;
	json_t *vec = load_vectors();
	const json_t *cs = case_named(vec, "penalised-cosponsor-opens-in-the-same-second");
	size_t script[MAX_MOVES];
	for (size_t k = 0; k < MAX_MOVES; k++)
		script[k] = k;
	run r;
	play(&r, vec, cs, script, 0);
	const char *r1 = round_id_of(&r, "r1");
	/* before the new open arrives */
	mt_pot_state *st = derive_list((const mt_stmt *const *)r.w->s, r.w->ns - 1, r.at);
	assert_int_equal(mt_pot_round_get(st, r1)->stage, MT_POT_STAGE_RESOLVED);
	mt_pot_state_free(st);
	/* after */
	st = derive_list((const mt_stmt *const *)r.w->s, r.w->ns, r.at);
	const mt_pot_round *rd = mt_pot_round_get(st, r1);
	assert_non_null(rd);
	assert_int_equal(rd->stage, MT_POT_STAGE_RESOLVED);
	assert_int_equal(rd->outcome, MT_POT_OPENER_DEFECTED);
	assert_int_equal(rd->resolved_at, r.t1);
	/* staked in r1 (its open may be replayed before A's reveal: it does
	 * not depend on it) or penalised by it: refused either way */
	const mt_pot_refusal *ref = refusal_of(st, r.move[5]);
	assert_non_null(ref);
	assert_true(strstr(ref->reason, "is penalised until") ||
		    strstr(ref->reason, "is already staked in round"));
	assert_null(refusal_of(st, r.move[2])); /* B's commit counted */
	assert_int_equal(st->n_rounds, 1);
	mt_pot_state_free(st);
	run_free(&r);
	json_decref(vec);
}

/* A claim issued before its issuer's own reveal: dependency (after the
 * round's resolving reveals) and feed (before that reveal) form a cycle. It is
 * broken by replaying the least statement whose feed predecessor is replayed
 * — the early claim, once nothing else is ready — which then has no effect
 * (no credits yet), and the round plays out. */
static void test_cycle(void **state)
{
	(void)state;
	json_t *vec = load_vectors();
	const json_t *cs = case_named(vec, "cycle-claim-before-own-reveal");
	size_t script[MAX_MOVES];
	for (size_t k = 0; k < MAX_MOVES; k++)
		script[k] = k;
	run r;
	play(&r, vec, cs, script, 0);
	mt_pot_state *st = derive_list((const mt_stmt *const *)r.w->s, r.w->ns, r.at);
	assert_reason(st, r.move[3], "earned no credits in round");
	assert_null(refusal_of(st, r.move[4]));
	assert_int_equal(mt_pot_round_get(st, round_id_of(&r, "r1"))->outcome,
			 MT_POT_OPENER_DEFECTED);
	mt_pot_state_free(st);
	/* the order: the early claim is forced after B's reveal, before A's */
	mt_replay_step *steps = NULL;
	size_t m = 0;
	assert_int_equal(mt_pot__replay_order(&steps, &m, (const mt_stmt *const *)r.w->s, r.w->ns,
					      NULL),
			 0);
	assert_int_equal(m, r.w->ns);
	size_t forced = 0, pos[MAX_MOVES] = {0};
	for (size_t k = 0; k < m; k++) {
		forced += steps[k].forced != 0;
		for (size_t j = 0; j < r.nm; j++)
			if (steps[k].st == r.move[j])
				pos[j] = k;
	}
	assert_int_equal(forced, 1);
	assert_true(steps[pos[3]].forced);
	assert_true(pos[5] < pos[3] && pos[3] < pos[4]);
	free(steps);
	run_free(&r);
	json_decref(vec);
}

#define T0 1800000000LL

/* "A statement whose ts is lower than that of a statement it names has no
 * effect": a commit and a reveal by a cosponsor whose clock runs behind the
 * opener's, an open naming a genesis made after it. Replayed after what they
 * name (dependencies), they would otherwise count. */
static void test_ts_lower_than_named(void **state)
{
	(void)state;
	world *w = w_new();
	actor *A = w_actor(w), *B = w_actor(w), *C = w_actor(w), *N1 = w_actor(w), *N2 = w_actor(w);
	actor *f[] = {A, B, C};
	mt_stmt *g = w_genesis(w, A, T0 + 100, "coop:late", f, 3, 1000, 500, 2);
	mt_stmt *early = w_open(w, C, T0 + 50, g, N2->id, A->id, T0 + 400); /* before the genesis */
	mt_stmt *o = w_open(w, A, T0 + 200, g, N1->id, B->id, T0 + 600);
	char round[65];
	snprintf(round, sizeof round, "%s", w_hex(o));
	w_commit(w, A, T0 + 200, round, "cooperate");
	mt_stmt *bc = w_commit(w, B, T0 + 150, round, "cooperate"); /* before the open */
	mt_stmt *ar = w_reveal(w, A, T0 + 210, round, "cooperate");
	mt_stmt *br = w_reveal(w, B, T0 + 190, round, "cooperate"); /* still behind */
	mt_pot_state *st = w_derive(w, T0 + 300);
	assert_reason(st, early, "before that of the genesis it names");
	assert_reason(st, bc, "before that of the round it names");
	assert_reason(st, br, "before that of the round it names");
	/* A's reveal needs both commits: B's never counted */
	assert_reason(st, ar, "both commits");
	const mt_pot_round *rd = mt_pot_round_get(st, round);
	assert_non_null(rd);
	assert_int_equal(rd->stage, MT_POT_STAGE_COMMIT);
	assert_false(rd->committed[1]);
	assert_int_equal(mt_pot_community_get(st, rd->genesis)->n_members, 3);
	mt_pot_state_free(st);
	/* at the deadline: B never consented, the round is void */
	st = w_derive(w, T0 + 1000);
	assert_int_equal(mt_pot_round_get(st, round)->outcome, MT_POT_VOID);
	mt_pot_state_free(st);
	w_free(w);
}

/* ---- the order itself ------------------------------------------------------------ */

static void fresh_id(char out[MT_NODE_ID_MAX], unsigned n)
{
	unsigned char seed[32] = {0};
	seed[0] = 0xd7;
	seed[1] = (unsigned char)(n & 0xff);
	seed[2] = (unsigned char)(n >> 8);
	mt_keypair kp;
	if (mt_keypair_from_seed(&kp, seed) != 0)
		abort();
	mt_node_id_encode(out, kp.pk);
	mt_keypair_wipe(&kp);
}

/* A busy community where many moves share their second: rounds in waves,
 * each wave's moves at one ts or a few. */
static world *busy_world(int members, int rounds, uint64_t seed)
{
	world *w = w_new();
	actor *m[64];
	for (int i = 0; i < members; i++)
		m[i] = w_actor(w);
	mt_stmt *g = w_genesis(w, m[0], T0, "coop:busy", m, (size_t)members, 1000, 600, 2);
	uint64_t rng = seed;
	unsigned cand = 0;
	for (int k = 0, wave = 0; k < rounds; wave++) {
		int64_t t = T0 + 10 + (int64_t)wave * 1000;
		for (int p = 0; p + 1 < members && k < rounds; p += 2, k++) {
			actor *a = m[(p + wave) % members], *b = m[(p + 1 + wave) % members];
			char cid[MT_NODE_ID_MAX];
			fresh_id(cid, cand++);
			int64_t dt = (int64_t)(rng_next(&rng) % 3); /* 0: every move in one second */
			mt_stmt *o = w_open(w, a, t, g, cid, b->id, t + 300);
			char round[65];
			mt_stmt_id_hex(round, o);
			const char *ca = rng_next(&rng) % 3 ? "cooperate" : "defect";
			const char *cb = rng_next(&rng) % 3 ? "cooperate" : "defect";
			w_commit(w, b, t + dt, round, cb);
			w_commit(w, a, t + dt, round, ca);
			if (rng_next(&rng) % 8)
				w_reveal(w, b, t + 2 * dt, round, cb);
			w_reveal(w, a, t + 2 * dt, round, ca);
			if (strcmp(ca, cb) != 0) {
				actor *d = strcmp(ca, "defect") == 0 ? a : b;
				fresh_id(cid, cand++);
				w_claim(w, d, t + 2 * dt, round, cid);
			}
			/* the cosponsor tries to open at once (refused: staked or penalised) */
			fresh_id(cid, cand++);
			w_open(w, b, t + 2 * dt, g, cid, a->id, t + 300);
		}
	}
	return w;
}

/* Feed order and dependencies hold for every step not forced; the order is
 * the same for any input order and with duplicates. */
static void test_order_properties(void **state)
{
	(void)state;
	world *w = busy_world(40, 400, 0x1234567ULL);
	mt_replay_step *ref = NULL;
	size_t m = 0;
	assert_int_equal(mt_pot__replay_order(&ref, &m, (const mt_stmt *const *)w->s, w->ns, NULL),
			 0);
	assert_int_equal(m, w->ns);
	for (size_t k = 0; k < m; k++) {
		const mt_stmt *s = ref[k].st;
		assert_false(ref[k].forced);
		if (ref[k].named) {
			size_t j = 0;
			while (ref[j].st != ref[k].named)
				j++;
			assert_true(j < k);
		}
		/* feed order: the issuer's previous statement came before */
		for (size_t j = k + 1; j < m; j++)
			if (strcmp(ref[j].st->iss, s->iss) == 0)
				assert_true(ref[j].st->seq > s->seq);
	}
	/* shuffled, with every statement given twice */
	size_t n2 = 2 * w->ns;
	const mt_stmt **in = malloc(n2 * sizeof *in);
	uint64_t rng = 99;
	for (int trial = 0; trial < 5; trial++) {
		for (size_t i = 0; i < n2; i++)
			in[i] = w->s[i % w->ns];
		for (size_t i = n2 - 1; i > 0; i--) {
			size_t j = (size_t)(rng_next(&rng) % (i + 1));
			const mt_stmt *t = in[i];
			in[i] = in[j];
			in[j] = t;
		}
		mt_replay_step *got = NULL;
		size_t gm = 0;
		assert_int_equal(mt_pot__replay_order(&got, &gm, in, n2, NULL), 0);
		assert_int_equal(gm, m);
		for (size_t k = 0; k < m; k++)
			assert_ptr_equal(got[k].st, ref[k].st);
		free(got);
	}
	free(in);
	free(ref);
	w_free(w);
}

/* The busy world's state is the same whatever the input order (the full
 * JSON state), and the cost of the derivation on it is printed. */
static void test_busy_world_orders_and_cost(void **state)
{
	(void)state;
	world *w = busy_world(60, 1000, 0xfeedULL);
	int64_t at = T0 + 100000;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	mt_pot_state *ref = w_derive(w, at);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("# derive: %zu statements, %zu rounds, %zu refusals in %.1f ms\n", w->ns,
	       ref->n_rounds, ref->n_refusals, ms);
	assert_true(ref->n_penalties > 50);
	assert_true(ref->communities[0].n_members > 100);
	char *want = dump(ref);
	const mt_stmt **in = malloc(w->ns * sizeof *in);
	uint64_t rng = 7;
	for (int trial = 0; trial < 5; trial++) {
		for (size_t i = 0; i < w->ns; i++)
			in[i] = w->s[i];
		for (size_t i = w->ns - 1; i > 0; i--) {
			size_t j = (size_t)(rng_next(&rng) % (i + 1));
			const mt_stmt *t = in[i];
			in[i] = in[j];
			in[j] = t;
		}
		mt_pot_state *st = derive_list(in, w->ns, at);
		char *got = dump(st);
		assert_string_equal(want, got);
		free(got);
		mt_pot_state_free(st);
	}
	free(in);
	free(want);
	mt_pot_state_free(ref);
	w_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_penalised_member_opens_in_same_second),
		cmocka_unit_test(test_cycle),
		cmocka_unit_test(test_ts_lower_than_named),
		cmocka_unit_test(test_order_properties),
		cmocka_unit_test(test_busy_world_orders_and_cost),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
