/** The policy oracle: from a peer's standing in a scope to a kernel constraint set.
 *
 * A policy is a list of tiers by trust score, the scope centralisation rule
 * (max_gini / enforce_gini), the bridge rule and the topic and connection
 * limits. mt_policy_eval() is a pure function of the policy and a
 * `mt_policy_input` (score, path, bridge flag, gini — computed upstream by the
 * trust and metrics layers); it produces a `mt_constraints` for the kernel
 * plus the tier and a flag/alert for centralised scopes. No I/O, no state.
 *
 * Policies live in `$MESH_HOME/policy.toml`, a small TOML subset described
 * in docs/policy.md. Loading is all-or-nothing: a bad file is refused with
 * `<path>:<line>: <reason>` and the caller keeps the policy it had.
 *
 * The constraint type comes from the kernel's public header
 * (meshtrust/kernel.h). The dependency points downwards: policy knows the
 * kernel, never the reverse (scripts/layers.map).
 */
#ifndef MESHTRUST_POLICY_H
#define MESHTRUST_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "meshtrust/error.h"
#include "meshtrust/kernel.h"

/** Room for the source of a policy value (SPEC §9.3). */
#define MT_POLICY_SOURCE_MAX 112
/** Most tiers a policy may have. */
#define MT_POLICY_MAX_TIERS 16
/** Largest policy file accepted, in bytes. */
#define MT_POLICY_MAX_FILE (64 * 1024)

/** Defaults (SPEC §4; topic/connection limits are this project's choice). */
#define MT_POLICY_DEFAULT_MAX_GINI 0.7
#define MT_POLICY_DEFAULT_MAX_TOPICS 32u
#define MT_POLICY_DEFAULT_MAX_CONNECTIONS 8u

/** One tier: a peer whose score is >= min_score (and > 0) gets this rate. */
typedef struct mt_policy_tier {
	double min_score;  /* in [0, 1]; tiers strictly descending by it */
	double per_second; /* > 0 */
	uint32_t burst;    /* >= 1 */
} mt_policy_tier;

/** What happens to a declared bridge. */
typedef enum mt_bridge_rule {
	MT_BRIDGE_LOWER = 0, /* one tier lower; a bridge already in the lowest tier stays there */
	MT_BRIDGE_NONE = 1,  /* bridges are treated like anyone else */
} mt_bridge_rule;

/** A policy. Plain data: callers may read it freely; build one with
 * mt_policy_default()/mt_policy_load() and check hand-made changes with
 * mt_policy_validate(). */
typedef struct mt_policy {
	size_t tier_count; /* 1..MT_POLICY_MAX_TIERS */
	mt_policy_tier tiers[MT_POLICY_MAX_TIERS];
	double max_gini;  /* in [0, 1] */
	int enforce_gini; /* 0: flag only; 1: deny requests in a scope over max_gini */
	uint32_t max_topics;
	uint32_t max_connections;
	mt_bridge_rule bridge_rule;
	/* SPEC §9.3 (a community's policy in force; not in the policy file):
	 * the top-10% share limit, enforced like max_gini (1 = no limit) … */
	double max_top10_share;
	/* … where max_gini / max_top10_share come from when a community set them
	 * ("community coop:x proposal 1a2b…"), named in the reasons; "" = local */
	char max_gini_source[MT_POLICY_SOURCE_MAX];
	char max_top10_source[MT_POLICY_SOURCE_MAX];
	/* where the tiers come from ("" = local) */
	char tiers_source[MT_POLICY_SOURCE_MAX];
} mt_policy;

/** What the oracle is asked about: one peer in one scope. */
typedef struct mt_policy_input {
	const char *peer;  /* the peer's Node ID, used only in reason texts; may be NULL */
	const char *scope; /* scope name, e.g. "global" or "coop:x"; NULL means "global" */
	double score;      /* the peer's trust score in the scope, 0..1 */
	int has_path;      /* 0: no trust path (untrusted whatever the score) */
	int is_bridge;     /* the peer has declared itself a bridge */
	double scope_gini; /* the scope's gini; negative means unknown (not checked) */
	/* SPEC §9.3: */
	int multi_scope;      /* trusted in two or more scopes without a declaration */
	int approved_bridge;  /* its community's `bridges` approves it: keeps its tier */
	int has_top10;        /* scope_top10 is known (checked against max_top10_share) */
	double scope_top10;   /* the scope's top_10_percent_share */
} mt_policy_input;

/** The one wording of the centralisation alert (SPEC §9.3), shared by the
 * oracle's reasons and alerts, `mesh metrics`, /v1/metrics and the
 * dashboard: "scope S is too centralised: gini G > policy.maxGini M (SOURCE)"
 * (no parenthesis when `source` is NULL or empty), cut to `n` bytes. */
void mt_policy_gini_alert(char *out, size_t n, const char *scope, double gini, double max_gini,
			  const char *source);

/** The oracle's answer. `constraints` is what goes to the kernel. `tier` is
 * 1-based (1 = highest) or 0 when denied as untrusted. `flagged` is 1 when
 * the scope's gini exceeds max_gini (whether or not that is enforced) and
 * `alert` then says so; otherwise "". */
typedef struct mt_policy_decision {
	mt_constraints constraints;
	int tier;
	int flagged;
	char alert[MT_K_REASON_MAX];
} mt_policy_decision;

/** Allocate the default policy (SPEC §4): score >= 0.7 → 200/s burst 50;
 * >= 0.4 → 100/s burst 25; > 0 → 20/s burst 5; untrusted → deny; max_gini
 * 0.7, enforce_gini off, bridges one tier lower, 32 topics, 8 connections.
 * Caller frees with mt_policy_free(). Returns 0 or MT_ENOMEM. */
int mt_policy_default(mt_policy **out);

/** Parse a policy from `text` (`len` bytes, need not be NUL-terminated).
 * `name` (e.g. the file path) prefixes error messages: `<name>:<line>:
 * <reason>`. Keys not given keep their defaults; if any [[tier]] is given the
 * tiers replace the default tiers entirely. Returns 0 with *out owned by the
 * caller, or MT_EINVAL (unknown key or section, duplicate key, bad value,
 * negative or zero rate, burst < 1, min_score or max_gini outside [0, 1],
 * tiers not strictly descending by min_score, missing tier key, too many
 * tiers, NUL byte), MT_ETOOBIG (> MT_POLICY_MAX_FILE) or MT_ENOMEM; on
 * failure *out is NULL. */
int mt_policy_parse(mt_policy **out, const char *text, size_t len, const char *name, mt_error *err);

/** Read and parse the policy file at `path` (see mt_policy_parse). Returns
 * MT_ENOTFOUND when the file does not exist (the caller then uses
 * mt_policy_default), MT_EIO when it cannot be read or is not a regular
 * file (a FIFO or a device in its place is refused at once, never waited
 * on); on any failure *out is NULL and the caller's current policy stays in
 * force. */
int mt_policy_load(mt_policy **out, const char *path, mt_error *err);

/** Check a policy's invariants (the parser's rules, without line numbers).
 * Returns 0 or MT_EINVAL naming the bad field. */
int mt_policy_validate(const mt_policy *p, mt_error *err);

/** Write `p` in the policy file format (every key explicit, parseable back
 * to an equal policy). *out is a NUL-terminated malloc'd string owned by the
 * caller. Returns 0, MT_EINVAL (NULL or invalid policy) or MT_ENOMEM. */
int mt_policy_format(char **out, const mt_policy *p);

/** The oracle. Fills `out` for `in` under `p`:
 * - no path, or score <= 0 → deny "untrusted: no trust path to <peer> in
 *   scope <scope>";
 * - score below the lowest tier's min_score → deny with that reason;
 * - else the first tier with score >= min_score; a declared bridge, or a
 *   peer trusted in two or more scopes without a declaration (multi_scope),
 *   under MT_BRIDGE_LOWER then moves one tier down (not below the lowest)
 *   unless approved_bridge (its community approves it: it keeps its tier);
 * - gini > max_gini (or, with has_top10, top-10% share > max_top10_share)
 *   sets `flagged` and `alert`; with enforce_gini on, a request that would
 *   be allowed is denied with "scope <scope> is too centralised: gini G >
 *   policy.maxGini M" (+ " (<max_gini_source>)" when the value comes from a
 *   community).
 * `constraints.reason` always says which tier and why (or why denied).
 * Returns 0, or MT_EINVAL (NULL argument, score NaN or outside [0, 1]).
 * Pure: no I/O, no allocation. */
int mt_policy_eval(mt_policy_decision *out, const mt_policy *p, const mt_policy_input *in,
                   mt_error *err);

/** The policy as JSON (for `mesh policy show --json`):
 * {"max_gini","enforce_gini","max_topics","max_connections","bridge_rule",
 *  "tiers":[{"tier","min_score","per_second","burst"}]}. New reference owned
 * by the caller; NULL when p is NULL or on allocation failure. */
json_t *mt_policy_to_json(const mt_policy *p);

/** A decision as JSON (for `mesh policy eval --json`):
 * {"allow","reason","tier","rate_limit":{"per_second","burst"},"max_topics",
 *  "max_connections","flagged","alert"}. New reference owned by the caller;
 * NULL when d is NULL or on allocation failure. */
json_t *mt_policy_decision_to_json(const mt_policy_decision *d);

/** Free a policy. NULL is a harmless no-op. */
void mt_policy_free(mt_policy *p);

#endif
