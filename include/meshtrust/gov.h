/** Governance (SPEC §9.3): proposals, votes, the policy a community decides.
 *
 * Everything here is derived by one pure function, mt_gov_derive(), from a
 * set of statements (genesis, the pot-* moves that make the rosters,
 * proposal and vote; other types are ignored) and an evaluation time, replayed
 * in SPEC §9.1's causal order (the same order proof-of-trust uses: each feed in
 * seq order, a proposal after its genesis, a vote after its proposal, the least
 * ready statement by (ts, kind, iss, seq, id) first). The result does not
 * depend on the order or duplicates of the input. The rules (docs/governance.md):
 *
 *  - a proposal names a genesis held, has ts >= the genesis' ts and
 *    ts + 24 h <= closes <= ts + 30 days, and tiers (if any) strictly
 *    descending by min_score;
 *  - its **voters** are the community's members (by rotation chain, SPEC
 *    §9.2) just before it is replayed whose membership began at least one
 *    `period` before its ts, founders always; the roster is proof-of-trust's
 *    (mt_pot_derive_chains over the genesis/pot-* statements replayed before
 *    the proposal, evaluated at the proposal's ts);
 *  - only a voter may propose, and a member has at most one open proposal per
 *    community (a proposal is open until its `closes`, inclusive);
 *  - a vote names a proposal that took effect, has proposal.ts <= ts <=
 *    closes, and comes from one of its voters (any ID of the voter's chain);
 *    a voter's last vote in replay order counts;
 *  - a proposal whose closes <= `at` is decided: passed iff cast >= 1,
 *    cast × 1000 >= quorum × voters and yes × 1000 >= threshold × cast, with
 *    quorum and threshold from the genesis params (defaults 500 and 666);
 *  - a community's policy is its passed proposals applied in (closes, ts, id)
 *    order, later ones overriding key by key.
 *
 * A statement that breaks a rule has no effect and is listed in `refusals`
 * with the rule. A vote first seen more than 300 s after its proposal's
 * `closes` is flagged `late` (reported, never changing the derivation); the
 * caller passes first-seen times when it has them, else the statement's ts
 * stands in for it.
 */
#ifndef MESHTRUST_GOV_H
#define MESHTRUST_GOV_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "meshtrust/error.h"
#include "meshtrust/identity.h"
#include "meshtrust/pot.h"
#include "meshtrust/statement.h"
#include "meshtrust/store.h"

/** Genesis param defaults (permille). */
#define MT_GOV_DEFAULT_QUORUM 500
#define MT_GOV_DEFAULT_THRESHOLD 666
/** closes - ts must be within [MIN, MAX] seconds. */
#define MT_GOV_CLOSES_MIN 86400
#define MT_GOV_CLOSES_MAX (30 * 86400)
/** A vote first seen more than this after closes is `late`. */
#define MT_GOV_LATE_AFTER 300

/** Which keys a policy sets (bits of mt_gov_policy.set); also the index of
 * each key's source (mt_gov_policy.source). */
enum {
	MT_GOV_K_MAX_GINI = 0,
	MT_GOV_K_ENFORCE_GINI,
	MT_GOV_K_MAX_TOP10,
	MT_GOV_K_TIERS,
	MT_GOV_K_BRIDGES,
	MT_GOV_K__COUNT
};
#define MT_GOV_SET(k) (1u << (k))

/** One rate tier, as a proposal writes it (min_score in permille). */
typedef struct mt_gov_tier {
	int64_t min_score;
	int64_t rate;
	int64_t burst;
} mt_gov_tier;

/** A policy as proposals set it: only the keys whose bit is in `set` mean
 * anything. `source[k]` is the id of the proposal that set key k (a
 * community's policy) or "" (a proposal's own policy). */
typedef struct mt_gov_policy {
	unsigned set;
	int64_t max_gini;        /* permille */
	int enforce_gini;
	int64_t max_top10_share; /* permille */
	size_t n_tiers;
	mt_gov_tier tiers[MT_STMT_POLICY_MAX_TIERS];
	size_t n_bridges;
	char (*bridges)[MT_NODE_ID_MAX]; /* owned by the state it belongs to */
	char source[MT_GOV_K__COUNT][65];
} mt_gov_policy;

typedef enum mt_gov_outcome { MT_GOV_OPEN = 0, MT_GOV_PASSED, MT_GOV_FAILED } mt_gov_outcome;

/** A proposal that took effect. */
typedef struct mt_gov_proposal {
	char id[65];
	char genesis[65];
	char scope[MT_POT_SCOPE_MAX];
	char proposer[MT_NODE_ID_MAX]; /* the newest ID of the issuer's chain */
	char iss[MT_NODE_ID_MAX];      /* the statement's own iss */
	int64_t ts;
	int64_t closes;
	int64_t quorum;    /* permille, from the genesis */
	int64_t threshold; /* permille, from the genesis */
	mt_gov_policy policy; /* what it sets */
	char (*voters)[MT_NODE_ID_MAX]; /* sorted */
	size_t n_voters;
	int64_t yes, no; /* the votes that count (each voter's last) */
	mt_gov_outcome outcome;
	/* The community's policy once this proposal closed (decided), or the one
	 * in force at `at` (open). */
	mt_gov_policy after;
} mt_gov_proposal;

/** A vote that took effect (counted, or superseded by the voter's later one). */
typedef struct mt_gov_vote {
	char stmt[65];
	char proposal[65];
	char voter[MT_NODE_ID_MAX]; /* newest ID of the chain */
	char iss[MT_NODE_ID_MAX];
	int64_t ts;
	int yes;
	int counted; /* 0: superseded by a later vote of the same voter */
	int late;    /* first seen > closes + 300 s */
} mt_gov_vote;

/** A proposal or vote that had no effect, and why. */
typedef struct mt_gov_refusal {
	char stmt[65];
	char iss[MT_NODE_ID_MAX];
	mt_stmt_type type;
	int64_t ts;
	char proposal[65]; /* a vote's proposal ("" for a proposal) */
	int late;
	char reason[MT_POT_REASON_MAX];
} mt_gov_refusal;

/** A community's governance. */
typedef struct mt_gov_community {
	char genesis[65];
	char scope[MT_POT_SCOPE_MAX];
	int64_t quorum, threshold, period;
	mt_gov_policy policy; /* in force at `at` */
} mt_gov_community;

/** The derived state; free with mt_gov_state_free(). Arrays in a canonical
 * order: communities by genesis id, proposals by (ts, id), votes and
 * refusals in replay order. */
typedef struct mt_gov_state {
	int64_t at;
	mt_gov_community *communities;
	size_t n_communities;
	mt_gov_proposal *proposals;
	size_t n_proposals;
	mt_gov_vote *votes;
	size_t n_votes;
	mt_gov_refusal *refusals;
	size_t n_refusals;
} mt_gov_state;

/** Derive governance from `stmts[0..n)` (borrowed; NULL entries skipped) as
 * of `at` (statements with ts > at are ignored). `aliases` as
 * mt_pot_derive_chains (may be NULL with n_aliases 0). `seen` (may be NULL)
 * gives, parallel to stmts, when this node first saw each statement (Unix
 * seconds); without it a statement's ts stands in. *out is owned by the
 * caller (mt_gov_state_free). Cost O(n log n · (1 + p)) with p proposals
 * (each proposal's roster is derived once). Errors: MT_ENOMEM (*out NULL). */
int mt_gov_derive(mt_gov_state **out, const mt_stmt *const *stmts, size_t n, int64_t at,
		  const mt_pot_alias *aliases, size_t n_aliases, const int64_t *seen,
		  mt_error *err);

/** mt_gov_derive over a store's effective genesis, pot-*, proposal and vote
 * statements and its effective rotations, at `at`, with the store's
 * first-seen times (mt_store_seen). *out owned by the caller.
 * Errors: MT_EIO, MT_EBUSY, MT_ENOMEM. */
int mt_gov_derive_store(mt_gov_state **out, mt_store *s, int64_t at, mt_error *err);

/** Free a state; NULL is a harmless no-op. */
void mt_gov_state_free(mt_gov_state *st);

/** Lookups (borrowed pointers into `st`; NULL when absent). A proposal is
 * found by its full id or a unique prefix of at least 8 hex characters
 * (*ambiguous, when non-NULL, is set to 1 when a prefix matches several). */
const mt_gov_proposal *mt_gov_proposal_get(const mt_gov_state *st, const char *id,
					   int *ambiguous);
const mt_gov_community *mt_gov_community_get(const mt_gov_state *st, const char *genesis);
/** The refusal recorded for statement `stmt_id` (hex), or NULL if it counted. */
const mt_gov_refusal *mt_gov_refusal_get(const mt_gov_state *st, const char *stmt_id);

/** The open proposal of `member` (newest ID of its chain) in community
 * `genesis` at time t (closes >= t), or NULL. */
const mt_gov_proposal *mt_gov_open_proposal(const mt_gov_state *st, const char *genesis,
					    const char *member, int64_t t);

/** "open", "passed", "failed". */
const char *mt_gov_outcome_name(mt_gov_outcome o);

/** A policy as JSON, keys as a proposal writes them (permille integers):
 * {"max_gini","enforce_gini","max_top10_share","tiers":[{"min_score","rate",
 * "burst"}],"bridges":[…]} with only the keys set; with `sources`, also
 * "sources":{key: proposal id}. New reference (caller decrefs); NULL on
 * allocation failure. */
json_t *mt_gov_policy_json(const mt_gov_policy *p, int sources);

/** Read a policy as a proposal carries it (a `policy` object that passes
 * mt_stmt_policy_check) into *out; bridges are allocated (free them with
 * mt_gov_policy_clear). Returns 0, MT_EINVAL or MT_ENOMEM. */
int mt_gov_policy_from_json(mt_gov_policy *out, const json_t *o, mt_error *err);

/** Deep copy of `src` into *dst (whose own contents are cleared first; a
 * zeroed policy is fine). Returns 0 or MT_ENOMEM (*dst then has no bridges). */
int mt_gov_policy_copy(mt_gov_policy *dst, const mt_gov_policy *src);

/** Free what a policy owns (its bridges) and zero it. */
void mt_gov_policy_clear(mt_gov_policy *p);

/** Whether `id` is among the policy's approved bridges (only meaningful when
 * MT_GOV_K_BRIDGES is set). */
int mt_gov_policy_approves(const mt_gov_policy *p, const char *id);

#endif
