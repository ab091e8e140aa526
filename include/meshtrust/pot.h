/** Proof-of-trust admission (SPEC §6): communities, rounds, penalties, credits.
 *
 * Everything here is derived by one pure function, mt_pot_derive(), from a set
 * of statements (genesis and pot-* moves; other types are ignored) and an
 * evaluation time. The result does not depend on the order of the input: the
 * statements are deduplicated by id and replayed in SPEC §9.1's causal order —
 * a topological order of each issuer's feed (seq order) and of dependencies
 * (a move after the round or genesis it names, a round's reveals after both
 * sponsors' commits, its claims after their reveals), the least ready
 * statement by (ts, kind genesis < pot-open < pot-commit < pot-reveal <
 * pot-claim, iss, seq, id) first, a cycle broken by the least statement whose
 * feed predecessor is replayed. Moves sharing one second therefore give the
 * outcome they give one second apart. Time-driven events (a round reaching its
 * deadline at t) come after every statement with ts <= t, before any with a
 * later ts. A move whose ts is lower than that of the round or genesis it
 * names has no effect. A move that breaks a rule has no effect and is listed
 * in `refusals` with a reason that names the rule. See docs/pot.md for every
 * rule and edge case.
 *
 * The caller passes only *effective* statements (verified, inside the issuer's
 * valid feed prefix, no fork); mt_pot_load() reads exactly those from a store.
 */
#ifndef MESHTRUST_POT_H
#define MESHTRUST_POT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "meshtrust/error.h"
#include "meshtrust/identity.h"
#include "meshtrust/statement.h"
#include "meshtrust/store.h"

/** Parameter defaults (SPEC §6). */
#define MT_POT_DEFAULT_PERIOD (30 * 86400)
#define MT_POT_DEFAULT_DEADLINE_MAX (7 * 86400)
#define MT_POT_DEFAULT_CREDITS 2
/** Domain prefix of a commitment's input. */
#define MT_POT_COMMIT_DOMAIN "mesh/v1/pot\n"
/** Room for a refusal or penalty reason. */
#define MT_POT_REASON_MAX 384
/** Longest scope label (SPEC §2: prefix + 64 id characters). */
#define MT_POT_SCOPE_MAX 96

/** Community parameters (seconds, seconds, count). */
typedef struct mt_pot_params {
	int64_t period;
	int64_t deadline_max;
	int64_t credits;
} mt_pot_params;

/** A member of a community. */
typedef struct mt_pot_member {
	char id[MT_NODE_ID_MAX];
	int founder;           /* listed in the genesis */
	int64_t since;         /* genesis ts for founders, else admission time */
	char admitted_by[65];  /* round id that admitted it ("" for founders) */
	int64_t penalty_until; /* latest end of a penalty (0 = never penalised) */
	int64_t stake_until;   /* staked in some round until this time (0 = never) */
} mt_pot_member;

/** A community = one genesis statement. */
typedef struct mt_pot_community {
	char genesis[65]; /* genesis statement id: the community's name */
	char scope[MT_POT_SCOPE_MAX];
	char iss[MT_NODE_ID_MAX];
	int64_t ts;
	mt_pot_params params;
	int label_owner;  /* first genesis by (ts, id) claiming this scope label */
	size_t conflicts; /* how many other geneses claim the same label */
	mt_pot_member *members; /* sorted by id once derivation ends */
	size_t n_members;
} mt_pot_community;

/** Round stages. */
typedef enum mt_pot_stage {
	MT_POT_STAGE_COMMIT = 0, /* waiting for commits */
	MT_POT_STAGE_REVEAL,     /* both commits held, waiting for reveals */
	MT_POT_STAGE_RESOLVED,
} mt_pot_stage;

/** Round outcomes (valid once resolved). */
typedef enum mt_pot_outcome {
	MT_POT_PENDING = 0,
	MT_POT_ADMITTED,            /* both cooperated */
	MT_POT_OPENER_DEFECTED,     /* A defected, B cooperated */
	MT_POT_COSPONSOR_DEFECTED,  /* B defected, A cooperated */
	MT_POT_BOTH_DEFECTED,
	MT_POT_OPENER_FORFEITED,    /* A forfeited (B revealed, or A never committed) */
	MT_POT_COSPONSOR_FORFEITED, /* B committed but forfeited, A revealed */
	MT_POT_BOTH_FORFEITED,
	MT_POT_VOID,                /* B never committed */
} mt_pot_outcome;

/** One round: the pot-open and the moves that counted. Index 0 = opener A,
 * 1 = cosponsor B. */
typedef struct mt_pot_round {
	char id[65];
	char genesis[65];
	char party[2][MT_NODE_ID_MAX];
	char candidate[MT_NODE_ID_MAX];
	int64_t opened_at;
	int64_t deadline;
	int committed[2];
	char commit[2][65];
	char commit_iss[2][MT_NODE_ID_MAX]; /* the committing statement's own iss (SPEC §9.2) */
	int64_t commit_ts[2];
	int revealed[2];   /* a valid (matching, in time) reveal */
	int defected[2];   /* the revealed choice */
	int64_t reveal_ts[2];
	mt_pot_stage stage;
	mt_pot_outcome outcome;
	int64_t resolved_at;
	int admitted; /* the candidate became a member through this round */
} mt_pot_round;

/** A penalty: member of community `genesis` penalised over [from, until). */
typedef struct mt_pot_penalty {
	char genesis[65];
	char member[MT_NODE_ID_MAX];
	char round[65];
	int64_t from;
	int64_t until;
	char reason[MT_POT_REASON_MAX]; /* e.g. "cooperated while X defected in round R" */
} mt_pot_penalty;

/** Claims earned by a defector in one round. */
typedef struct mt_pot_credit {
	char genesis[65];
	char member[MT_NODE_ID_MAX];
	char round[65];
	int64_t earned;
	int64_t expires; /* claims with ts >= expires are refused */
	int64_t total;
	int64_t used;
} mt_pot_credit;

/** A move that had no effect, and why. */
typedef struct mt_pot_refusal {
	char stmt[65];
	char iss[MT_NODE_ID_MAX];
	mt_stmt_type type;
	int64_t ts;
	char reason[MT_POT_REASON_MAX];
} mt_pot_refusal;

/** The derived state. Read-only for callers; free with mt_pot_state_free().
 * Arrays are in a canonical order: communities by (scope, ts, genesis id),
 * rounds by (opened_at, id), penalties by (genesis, member, from, round),
 * credits by (genesis, member, earned, round), refusals in replay order. */
typedef struct mt_pot_state {
	int64_t at;
	mt_pot_community *communities;
	size_t n_communities;
	mt_pot_round *rounds;
	size_t n_rounds;
	mt_pot_penalty *penalties;
	size_t n_penalties;
	mt_pot_credit *credits;
	size_t n_credits;
	mt_pot_refusal *refusals;
	size_t n_refusals;
} mt_pot_state;

/** Derive communities, rosters, rounds, penalties, credits and refusals from
 * `stmts[0..n)` as of time `at` (statements with ts > at are ignored; rounds
 * whose deadline is <= at and that are not yet resolved resolve at their
 * deadline). Pure: the same set gives the same state whatever the order or
 * duplicates of the input. The statements are borrowed. *out is owned by the
 * caller (mt_pot_state_free). Cost O(n log n + n · r) with r the rounds pending
 * at once (the replay order itself is O(n log n)). Errors: MT_ENOMEM; *out is
 * NULL. */
int mt_pot_derive(mt_pot_state **out, const mt_stmt *const *stmts, size_t n, int64_t at,
		  mt_error *err);

/** A rotation chain link for mt_pot_derive_chains: `old_id` took effect
 * as `newest` (the newest ID of its chain). Strings borrowed. */
typedef struct mt_pot_alias {
	const char *old_id;
	const char *newest;
} mt_pot_alias;

/** mt_pot_derive with rotation chains (SPEC §9.2): every ID a statement
 * names or issues (founders, opener, cosponsor, candidate, a move's issuer)
 * counts as the newest ID of its chain, so membership and its `since`,
 * stakes, penalties, credits and roles in rounds belong to the chain and a
 * move by any ID of the chain counts for it; a reveal is checked against the
 * commitment with the committing statement's own `iss`. `aliases` (may be
 * NULL with n_aliases 0) are borrowed. Errors as mt_pot_derive. */
int mt_pot_derive_chains(mt_pot_state **out, const mt_stmt *const *stmts, size_t n, int64_t at,
			 const mt_pot_alias *aliases, size_t n_aliases, mt_error *err);

/** Free a state; NULL is a harmless no-op. */
void mt_pot_state_free(mt_pot_state *st);

/** Read the effective genesis/pot-* statements of a store (applied = in the
 * issuer's valid prefix, no fork). *out is an array of *n statements owned by
 * the caller (mt_pot_stmts_free). Errors: MT_EIO, MT_ENOMEM. */
int mt_pot_load(mt_stmt ***out, size_t *n, mt_store *s, mt_error *err);

/** Free what mt_pot_load returned; NULL is a harmless no-op. */
void mt_pot_stmts_free(mt_stmt **stmts, size_t n);

/** The community bound to scope label `scope` on this store (SPEC §6): the
 * genesis named by configuration key `community.<scope>` (`mesh community
 * join`) when it is in `st` and claims that label, else the first genesis
 * claiming it (mt_pot_community_by_scope); NULL when none. Borrowed from
 * `st`. Reads the configuration only; an unreadable key counts as unset. */
const mt_pot_community *mt_pot_community_bound(const mt_pot_state *st, mt_store *s,
					       const char *scope);

/** mt_pot_load + mt_pot_derive_chains at `at`, with the store's effective
 * rotations (mt_store_rotation_links). *out owned by the caller. */
int mt_pot_derive_store(mt_pot_state **out, mt_store *s, int64_t at, mt_error *err);

/** Check, without issuing anything, whether the move `body` (type + fields)
 * that `kp` would issue with mt_store_issue(…, `ts`) takes effect: signs the
 * very statement the store would (next seq of its feed, ts raised to the ts
 * of the feed's head when `ts` is behind it, SPEC §9.1) and derives the
 * store's statements plus it, with every statement held (evaluated at the
 * latest ts among them). Returns 0 when it would count (and, if `id_out` is
 * non-NULL, its statement id: the id the issue will give it); MT_EPERM with
 * the refusal reason (naming the rule) in `err` when it would not;
 * MT_EINVAL/MT_EIO/MT_ENOMEM on other failures. */
int mt_pot_check_move(mt_store *s, const json_t *body, const mt_keypair *kp, int64_t ts,
		      char id_out[65], mt_error *err);

/** The commitment for (round, iss, choice, nonce): 64 lower-case hex chars of
 * BLAKE2b-256 over "mesh/v1/pot\n<round>\n<iss>\n<choice>\n<nonce>". */
void mt_pot_commitment(char out[65], const char *round, const char *iss, const char *choice,
		       const char *nonce);

/** Lookups (borrowed pointers into `st`, NULL when absent). */
const mt_pot_community *mt_pot_community_get(const mt_pot_state *st, const char *genesis);
const mt_pot_round *mt_pot_round_get(const mt_pot_state *st, const char *round);
const mt_pot_member *mt_pot_member_get(const mt_pot_community *c, const char *id);
/** The refusal recorded for statement `stmt_id` (hex), or NULL if it counted. */
const mt_pot_refusal *mt_pot_refusal_get(const mt_pot_state *st, const char *stmt_id);

/** The community a label binds to by default: the first genesis by (ts, id)
 * claiming `scope`; NULL when none. */
const mt_pot_community *mt_pot_community_by_scope(const mt_pot_state *st, const char *scope);

/** Whether `member` may stake (open or commit) in community `c` at time `t`.
 * Returns 1 if so; otherwise 0 and, when `why` is non-NULL, the rule that
 * forbids it (not a member, penalised until …, staked until …, first period). */
int mt_pot_can_stake(const mt_pot_state *st, const mt_pot_community *c, const char *member,
		     int64_t t, char *why, size_t whysz);

/** Claims `member` may still make in community `c` at time `t` (sum over its
 * unexpired credits). */
int64_t mt_pot_credits_left(const mt_pot_state *st, const mt_pot_community *c, const char *member,
			    int64_t t);

/** Name of a stage ("commit", "reveal", "resolved") / outcome ("pending",
 * "admitted", "opener-defected", "cosponsor-defected", "both-defected",
 * "opener-forfeited", "cosponsor-forfeited", "both-forfeited", "void"). */
const char *mt_pot_stage_name(mt_pot_stage s);
const char *mt_pot_outcome_name(mt_pot_outcome o);

/** ISO-8601 UTC "2026-12-21T10:00:00Z" (21 bytes with NUL). */
void mt_pot_iso(char out[32], int64_t t);

/** JSON views (new references, caller decrefs; NULL on allocation failure).
 * All are deterministic functions of the state: no local-only fields.
 * - members: {"scope","genesis","members":[ids sorted],"roster":[{"id","founder",
 *   "since" (ISO),"admitted_by"? (the round)}],"conflicts":[other genesis ids]}
 * - round: {"round","genesis","scope","stage","outcome","opener","cosponsor","candidate",
 *   "opened_at","deadline","committed":[ids],"revealed":{id:choice},"resolved_at",
 *   "admitted","penalties":[every penalty in force at st->at in that community — not
 *   only this round's: each names its "round"],
 *   "credits":{member:[{"round","remaining","expires"}]} (unexpired, remaining > 0)}
 * - state: every community (with members), round, penalty, credit and refusal. */
json_t *mt_pot_members_json(const mt_pot_state *st, const mt_pot_community *c);
json_t *mt_pot_round_json(const mt_pot_state *st, const mt_pot_round *r);
json_t *mt_pot_state_json(const mt_pot_state *st);

#endif
