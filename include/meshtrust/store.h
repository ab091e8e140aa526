/** The append-only statement store (SQLite, WAL) and its derived state.
 *
 * Statements are only ever added. Derived state (per-issuer feed heads, forks,
 * current edges, rotations, bridges, lessons and their full-text index) is a
 * pure function of the statements and is rebuilt identically by
 * mt_store_rebuild(). Per issuer, only the longest
 * prefix seq 1..k whose `prev` links verify takes effect; from a forked seq on
 * (two statements with one iss+seq and different signing inputs) none of that
 * issuer's statements take effect (SPEC §2).
 *
 * A handle is used by one thread at a time; several processes may share one
 * database file (SQLite locking, busy timeout 10 s). Every function dispatches
 * through the store's backend (section "Backends" at the end).
 */
#ifndef MESHTRUST_STORE_H
#define MESHTRUST_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "meshtrust/edge.h"
#include "meshtrust/error.h"
#include "meshtrust/statement.h"

typedef struct mt_store mt_store;

/** Current schema version (PRAGMA user_version). 4 took in the node's local
 * tables (peers, quota counters). */
#define MT_STORE_SCHEMA 5

/** Open (creating if needed) the store at `path`, migrating its schema.
 * Refuses a database whose schema is newer than this build (MT_EINVAL).
 * *out is owned by the caller (mt_store_close). Errors: MT_EIO, MT_EINVAL. */
int mt_store_open(mt_store **out, const char *path, mt_error *err);

/** Close; NULL is a harmless no-op. */
void mt_store_close(mt_store *s);

/** Begin / commit / roll back an explicit write transaction (IMMEDIATE), for
 * batching many ingests. Without one, each ingest is its own transaction. */
int mt_store_begin(mt_store *s, mt_error *err);
int mt_store_commit(mt_store *s, mt_error *err);
void mt_store_rollback(mt_store *s);

/** Outcome of one ingest. */
typedef enum mt_ingest_result {
	MT_INGEST_ACCEPTED = 0,
	MT_INGEST_DUPLICATE = 1,
} mt_ingest_result;

/** Add a statement that the caller has parsed AND verified (mt_stmt_decode).
 * Updates derived state. Sets *result. Errors: MT_EIO, MT_EBUSY. */
int mt_store_ingest(mt_store *s, const mt_stmt *st, mt_ingest_result *result, mt_error *err);

/** Issue a new statement of this node: inside one IMMEDIATE transaction,
 * take the next seq and prev of `kp`'s feed, sign `body` (the type's fields +
 * "type") with timestamp `ts`, store it. Safe against concurrent issuers on the
 * same database. Refuses (MT_EFORK) when the own feed is forked. *out (may be
 * NULL) receives the statement, owned by the caller. */
int mt_store_issue(mt_store *s, mt_stmt **out, const json_t *body, const mt_keypair *kp,
		   int64_t ts, mt_error *err);

/** State digest (SPEC §2): BLAKE2b-256 over the raw ids of all statements, in
 * ascending byte order; *count receives the number of statements (may be NULL). */
int mt_store_digest(mt_store *s, unsigned char out[32], uint64_t *count, mt_error *err);

/** The digest as 64 hex characters + NUL. */
int mt_store_digest_hex(mt_store *s, char out[65], uint64_t *count, mt_error *err);

/** Progress callback: done of total units; may be NULL. */
typedef void (*mt_progress_fn)(uint64_t done, uint64_t total, void *payload);

/** Re-derive every derived table from the statements alone, in one
 * transaction (all or nothing). */
int mt_store_rebuild(mt_store *s, mt_progress_fn progress, void *payload, mt_error *err);

/** A dump of all derived tables in a canonical text form (for comparing a
 * rebuilt store with an incrementally built one): "## <table>" then one line
 * per row, table after table; then, only when a consistency check of the
 * derived state finds problems, "## check <name>" and one line per problem
 * (so a damaged store never dumps like its rebuild). *out is malloc'd. */
int mt_store_derived_dump(mt_store *s, char **out, mt_error *err);

/** Edge list for the graph layers: all current edges (at == INT64_MAX), or the
 * edges derived only from statements with ts <= at. Edges to a rotated key are
 * redirected to its successor. *out is one allocation owned by the caller
 * (free()); the strings it points to live inside it. */
int mt_store_edges(mt_store *s, mt_edge_in **out, size_t *n, int64_t at, mt_error *err);

/** Visit statements: of one issuer (iss != NULL) or all, ordered by issuer
 * then seq (then id). The callback gets the canonical bytes (borrowed for the
 * call) and returns 0 to go on, non-zero to stop (that value is returned). */
typedef int (*mt_stmt_visit_fn)(const char *iss, uint64_t seq, const char *canon, size_t len,
				void *payload);
int mt_store_foreach(mt_store *s, const char *iss, mt_stmt_visit_fn fn, void *payload,
		     mt_error *err);

/** Look a statement up by id; *canon is malloc'd (caller frees). MT_ENOTFOUND. */
int mt_store_get(mt_store *s, const unsigned char id[32], char **canon, size_t *len,
		 mt_error *err);

/** Feed state of one issuer: contiguous applied head (0 if none), the seq of
 * its first fork (0 if none), the highest seq held. MT_ENOTFOUND if unknown. */
typedef struct mt_feed_info {
	uint64_t head_seq;
	uint64_t fork_seq;
	uint64_t max_seq;
	unsigned char head_id[32];
} mt_feed_info;
int mt_store_feed(mt_store *s, const char *iss, mt_feed_info *out, mt_error *err);

/** One problem found by mt_store_verify. */
typedef struct mt_verify_issue {
	const char *kind; /* "bad-signature", "not-canonical", "fork", "gap", "broken-link",
			     "id-mismatch"; key events (SPEC §9.1, §9.2), statements held
			     without effect: "ts-back", "second-key", "key-from",
			     "rotate-no-commitment", "rotate-legacy", "rotate-rollback",
			     "rotate-chain", "rotate-pending", "rotate-existing",
			     "contested", "void" */
	const char *iss;
	uint64_t seq;
	const char *detail;
} mt_verify_issue;
typedef void (*mt_verify_fn)(const mt_verify_issue *issue, void *payload);

/** Re-check every stored statement: canonical bytes, id, signature, chain
 * links, gaps and forks. Calls `fn` per problem; *problems receives the count
 * and *checked the number of statements. Returns 0 when the check ran. */
int mt_store_verify(mt_store *s, mt_verify_fn fn, void *payload, uint64_t *checked,
		    uint64_t *problems, mt_progress_fn progress, void *pp, mt_error *err);

/** Local (never signed) notes about a Node ID. Setting "" removes the note.
 * Get: *out malloc'd or NULL when none. */
int mt_store_note_set(mt_store *s, const char *node_id, const char *note, mt_error *err);
int mt_store_note_get(mt_store *s, const char *node_id, char **out, mt_error *err);

/** Local key/value visitor (strings borrowed for the call): return 0 to go on,
 * non-zero to stop (returned). */
typedef int (*mt_kv_visit_fn)(const char *key, const char *value, void *payload);
/** Every note (key: the Node ID or "ID SCOPE", mt_view_note_key) and every
 * stored configuration key, by key (bytewise). Errors: MT_EIO; MT_EINVAL on
 * a backend of revision < 5. (For `mesh store migrate`.) */
int mt_store_notes(mt_store *s, mt_kv_visit_fn fn, void *payload, mt_error *err);
int mt_store_configs(mt_store *s, mt_kv_visit_fn fn, void *payload, mt_error *err);

/** Local configuration key/value. Get: *out malloc'd or NULL when unset; set
 * with a NULL or empty value removes the key. */
int mt_store_config_set(mt_store *s, const char *key, const char *value, mt_error *err);
int mt_store_config_get(mt_store *s, const char *key, char **out, mt_error *err);

/** The current edge (iss -> target in scope): its statement id and seq.
 * MT_ENOTFOUND when there is none. */
int mt_store_edge_get(mt_store *s, const char *iss, const char *target, const char *scope,
		      unsigned char stmt_id[32], uint64_t *seq, mt_error *err);

/** Visit declared bridges (issuer, scope), ordered by issuer then scope.
 * The callback returns 0 to go on. */
typedef int (*mt_bridge_visit_fn)(const char *iss, const char *scope, void *payload);
int mt_store_bridges(mt_store *s, mt_bridge_visit_fn fn, void *payload, mt_error *err);

/** Visit the statements that take effect (inside their issuer's valid
 * prefix, before any fork, not after a rotation: the ones derived state is
 * made of) whose type is one of types[0..n_types), in ascending order of their
 * raw 32-byte ids (bytewise). The callback is mt_store_foreach's (canonical
 * bytes borrowed for the call); it returns 0 to go on, non-zero to stop (that
 * value is returned). One pass over the statements held. Errors: MT_EIO,
 * MT_EBUSY. */
int mt_store_foreach_type(mt_store *s, const mt_stmt_type *types, size_t n_types,
			  mt_stmt_visit_fn fn, void *payload, mt_error *err);

/** Has the store a statement with this id (taking effect or not)? *found
 * receives 1 or 0. O(log n). Errors: MT_EIO, MT_EBUSY. */
int mt_store_contains(mt_store *s, const unsigned char id[32], int *found, mt_error *err);

/* ---- Key events (SPEC §9.1, §9.2) -------------------------------------------
 *
 * The feed rules also keep: `ts` never decreasing along a feed (the applied
 * prefix stops before a statement older than its predecessor); a feed's
 * commitment (the first `key` on its applied chain); pre-rotation rotates
 * (signed by the committed key, choosing the old feed's last good statement,
 * winning every fork of that feed), contested feeds and rotation chains.
 * Findings that are not plain verification problems (a statement without
 * effect and why) are reported by mt_store_verify with the kinds listed
 * there. */

/** Key state of one identity. Strings are NUL-terminated, "" when absent. */
typedef struct mt_key_status {
	/** hex BLAKE2b-256 of the committed next public key, "" when none */
	char commitment[65];
	uint64_t commitment_seq;       /**< seq of the committing `key`, 0 */
	char newest[MT_NODE_ID_MAX];   /**< the newest ID of its rotation chain (itself when not rotated) */
	char rotated_to[MT_NODE_ID_MAX];   /**< the next ID when this one rotated, "" */
	char rotated_from[MT_NODE_ID_MAX]; /**< the ID this one was rotated from, "" */
	int contested;                 /**< two valid rotates: the feed ends at their common prefix */
	int rotate_pending;            /**< a valid rotate waits for the new feed's `key` */
	uint64_t head_seq;             /**< applied head */
	int64_t head_ts;               /**< ts of the applied head (0 when none) */
	uint64_t held;                 /**< statements held for this issuer */
} mt_key_status;

/** Key state of `iss` (any Node ID; an unknown one has all zero / its own ID
 * as `newest`). Errors: MT_EIO, MT_EBUSY. */
int mt_store_key_status(mt_store *s, const char *iss, mt_key_status *out, mt_error *err);

/** Whether a pre-rotation `rotate` may be stored (SPEC §9.2 "refusal on
 * arrival"): BLAKE2b-256 of its `new` key equals the `next` of a `key`
 * statement of its issuer that the store holds. Returns 0 (admissible, or
 * not a pre-rotation rotate), MT_EINVAL with "no matching commitment held"
 * in `err`, or MT_EIO/MT_EBUSY. mt_store_ingest refuses such a rotate with
 * the same error; batch callers check first so that a refused statement
 * never reaches a quota. */
int mt_store_rotate_admissible(mt_store *s, const mt_stmt *st, mt_error *err);

/** Issue a pre-rotation rotate of identity `old_iss`, signed by `next_kp`
 * (whose public key must hash to the commitment of `old_iss`'s feed), with
 * `prev` = the statement held at `last_good` on the applied chain (0: the
 * applied head), seq = last_good + 1, `ts` (raised to the head's ts when
 * lower). Refuses (MT_EINVAL, naming the reason) when there is no
 * commitment, the key does not match it, `last_good` is beyond the head or
 * more than key.maxRollback (30 days) of history would be voided. The
 * statement is stored (the rotate takes effect once the new feed's `key`
 * {next, from} arrives: mt_store_issue with `next_kp` and that body).
 * *out (may be NULL) receives the statement, owned by the caller. */
int mt_store_issue_rotate(mt_store *s, mt_stmt **out, const char *old_iss,
			  const mt_keypair *next_kp, uint64_t last_good, int64_t ts,
			  mt_error *err);

/** The newest ID of `id`'s rotation chain (`id` itself when it never
 * rotated), into out. Errors: MT_EIO, MT_EBUSY. */
int mt_store_newest_id(mt_store *s, const char *id, char out[MT_NODE_ID_MAX], mt_error *err);

/** Visit every rotation link: (old, new, effective) for each rotation that
 * took effect (effective = 1, legacy ones included) and each pre-rotation
 * rotate held that has not (yet) (effective = 0: pending, contested or
 * without effect — it passed the refusal on arrival, so its key hashes to a
 * commitment of `old`). For the sync horizon, which follows rotation chains
 * both ways. The callback returns 0 to go on. Errors: MT_EIO, MT_EBUSY. */
typedef int (*mt_rotation_visit_fn)(const char *old_id, const char *new_id, int effective,
				    void *payload);
int mt_store_rotation_links(mt_store *s, mt_rotation_visit_fn fn, void *payload, mt_error *err);

/** When this store first held statement `id` (Unix seconds: the wall clock
 * at its ingest, or its own ts when that is later; a statement stored before
 * schema 5: its ts). Local knowledge, never part of derived state — SPEC §9.3
 * flags late votes by it. Errors: MT_ENOTFOUND, MT_EIO, MT_EBUSY. */
int mt_store_seen(mt_store *s, const unsigned char id[32], int64_t *out, mt_error *err);

/** Statements of `own_id`'s feed held in this store that this store did not
 * sign (mt_store_issue / mt_store_issue_rotate record what they sign) and
 * that were not adopted (mt_store_own_adopt): the theft alarm of SPEC §9.2.
 * The callback gets seq and id; *count (may be NULL) receives how many.
 * The first call for a store made before this rule adopts what it holds
 * (nothing to compare with). Errors: MT_EIO, MT_EBUSY. */
typedef int (*mt_own_visit_fn)(uint64_t seq, const unsigned char id[32], void *payload);
int mt_store_own_foreign(mt_store *s, const char *own_id, mt_own_visit_fn fn, void *payload,
			 uint64_t *count, mt_error *err);

/** Record every statement of `own_id`'s feed held now as this home's own
 * (a deliberate `log import` of one's own feed, a restore). */
int mt_store_own_adopt(mt_store *s, const char *own_id, mt_error *err);

/* ---- Lessons ---------------------------------------------------------------
 *
 * Every `lesson` that takes effect is indexed for full-text matching on its
 * title, body and topics. Text is compared as tokens: maximal runs of
 * letters and digits, without case or diacritics ("Émoji" and "emoji" are
 * one token). */

/** One lesson found by mt_store_lessons_match (strings borrowed for the call). */
typedef struct mt_store_lesson {
	unsigned char id[32]; /**< the lesson statement's id */
	const char *author;   /**< its issuer */
	const char *title;
	const char *topics;   /**< its topics: a compact JSON array of strings */
	int64_t ts;
	/** How well the lesson matches the words: > 0, larger is better.
	 * The Okapi BM25 score (k1 = 1.2, b = 0.75) summed over the words w:
	 *   IDF(w) * f(w) * (k1 + 1) / (f(w) + k1 * (1 - b + b * |D| / avgdl))
	 * where f(w) counts the word's occurrences in this lesson weighted by
	 * where they are (title 3, body 1, topics 2), |D| is the number of
	 * tokens of its title, body and topics, avgdl the mean |D| over the N
	 * lessons matched from (those held plus an overlay's, see
	 * mt_store_lessons_overlay_begin), and
	 * IDF(w) = max(1e-6, ln((N - n(w) + 0.5) / (n(w) + 0.5))) with n(w)
	 * the number of those lessons containing w. Comparable between the
	 * lessons of one call only. */
	double relevance;
} mt_store_lesson;

/** Lesson callback: return 0 to go on, non-zero to stop (returned). */
typedef int (*mt_lesson_visit_fn)(const mt_store_lesson *lesson, void *payload);

/** Visit every indexed lesson that contains all of words[0..n_words), each
 * matched literally: a word's tokens must occur adjacent and in order in the
 * title, the body or the topics (no word is an operator; a word without any
 * token is ignored, and if every word is such nothing matches). With `topic`
 * (may be NULL) only lessons whose topics include exactly that string are
 * visited. In no particular order (callers sort). *matched (may be NULL)
 * receives the number of lessons that contain the words, before the topic
 * filter and whatever the callback returned. Cost grows with the number of
 * lessons containing the words (the index), not with the lessons held.
 * Errors: MT_EINVAL (no words), MT_EIO, MT_EBUSY. */
int mt_store_lessons_match(mt_store *s, const char *const *words, size_t n_words,
			   const char *topic, mt_lesson_visit_fn fn, void *payload,
			   uint64_t *matched, mt_error *err);

/** Visit the indexed lessons (relevance 0), newest first (ts descending,
 * then id): only those of issuer `author` when it is not NULL, only those
 * whose topics include exactly `topic` when it is not NULL, at most `limit`
 * of them (0: no limit). Used for listings (a directory, SPEC §9.5), not for
 * ranking. Cost: the lessons of `author` (its index), or every indexed
 * lesson without one. Errors: MT_EIO, MT_EBUSY; MT_EINVAL on a backend of
 * revision < 4. */
int mt_store_lessons_of(mt_store *s, const char *author, const char *topic, uint64_t limit,
			mt_lesson_visit_fn fn, void *payload, mt_error *err);

/** Match, for a while, lessons this store does not hold: until
 * mt_store_lessons_overlay_end, mt_store_lessons_match also finds the `n`
 * lesson statements lessons[] (parsed and verified by the caller: a peer's
 * results), counted in the same N, avgdl and n(w) as the held ones, so that
 * every relevance comes from one corpus. Lessons already indexed stay as
 * they are: indexed[i] (may be NULL) receives 1 for those, 0 for the ones
 * the overlay adds. Nothing of an overlay is ever kept or seen elsewhere
 * once it ends: not in the statements, feeds, digest or derived dump; end
 * (or closing the handle) removes it. Meanwhile the handle is inside a
 * transaction of its own and is for reading only (no ingest, issue, begin,
 * rebuild, config or note writes); one overlay at a time. Holds the store's
 * write lock while open on SQLite: keep it short. Errors: MT_EINVAL (not a
 * lesson, an overlay already open), MT_EIO, MT_EBUSY; on an error nothing is
 * left open. */
int mt_store_lessons_overlay_begin(mt_store *s, const mt_stmt *const *lessons, size_t n,
				   unsigned char *indexed, mt_error *err);

/** End the overlay (a no-op without one): the store is again exactly what
 * it was before mt_store_lessons_overlay_begin. */
void mt_store_lessons_overlay_end(mt_store *s);

/* ---- Feeds, recent statements and forks (the node's endpoints) ------------- */

/** Feed listing callback: an issuer with a non-empty valid prefix, the seq
 * of that prefix's head and its id (a peer that does not hold that id has a
 * different chain: a fork, or a rotate that chose another last good
 * statement). Return 0 to go on, non-zero to stop (returned). */
typedef int (*mt_feed_visit_fn)(const char *iss, uint64_t head_seq,
				const unsigned char head_id[32], void *payload);

/** Visit every feed whose valid prefix is not empty (head_seq > 0),
 * ascending by issuer (bytewise). O(feeds). Errors: MT_EIO, MT_EBUSY. */
int mt_store_feeds(mt_store *s, mt_feed_visit_fn fn, void *payload, mt_error *err);

/** Visit at most `limit` statements of issuer `iss` with seq >= from_seq,
 * by seq then id (both sides of a fork, whether they take effect or not),
 * with mt_store_foreach's callback. O(log n + limit). Errors: MT_EIO,
 * MT_EBUSY. */
int mt_store_feed_page(mt_store *s, const char *iss, uint64_t from_seq, uint64_t limit,
		       mt_stmt_visit_fn fn, void *payload, mt_error *err);

/** A statement as listed by mt_store_recent (strings borrowed for the call). */
typedef struct mt_store_entry {
	unsigned char id[32];
	const char *iss;
	uint64_t seq;
	const char *type; /**< its type name */
	int64_t ts;
} mt_store_entry;
typedef int (*mt_entry_visit_fn)(const mt_store_entry *e, void *payload);

/** Visit the `limit` statements most recently added to this store, newest
 * first (the order they were stored in, whatever their ts). O(limit).
 * Callback returns 0 to go on. Errors: MT_EIO, MT_EBUSY. */
int mt_store_recent(mt_store *s, uint64_t limit, mt_entry_visit_fn fn, void *payload,
		    mt_error *err);

/** Fork callback: two statements of `iss` with one seq and different signing
 * inputs. Return 0 to go on. */
typedef int (*mt_fork_visit_fn)(const char *iss, uint64_t seq, const unsigned char a[32],
				const unsigned char b[32], void *payload);

/** Visit at most `limit` recorded forks, by issuer, seq, then the two ids
 * (bytewise). O(limit). Errors: MT_EIO, MT_EBUSY. */
int mt_store_forks(mt_store *s, uint64_t limit, mt_fork_visit_fn fn, void *payload,
		   mt_error *err);

/** A statement as listed by mt_store_log_since (`canon` borrowed for the
 * call). */
typedef struct mt_log_entry {
	uint64_t pos;           /**< its position in the log (see below) */
	unsigned char id[32];
	const char *canon;      /**< its canonical bytes (untrusted: reparse) */
	size_t len;
} mt_log_entry;
typedef int (*mt_log_visit_fn)(const mt_log_entry *e, void *payload);

/** Visit at most `limit` statements stored after position `after` (0: from
 * the first), ascending by position. Positions are the order statements were
 * committed in, by any handle or process: strictly ascending, never reused,
 * and a statement committed later always gets a higher position than every
 * statement visible now (writers are serialized on both backends), so a
 * reader that remembers the last position it saw misses nothing by asking
 * for the ones after it. The callback returns 0 to go on, non-zero to stop
 * (that value is returned). O(limit). Errors: MT_EIO, MT_EBUSY, MT_EUNAVAIL. */
int mt_store_log_since(mt_store *s, uint64_t after, uint64_t limit, mt_log_visit_fn fn,
		       void *payload, mt_error *err);

/** Visit the id of every statement held, in ascending byte order (the
 * order of the state digest, SPEC §1: hashing them in turn gives
 * mt_store_digest). The callback returns 0 to go on, non-zero to stop (that
 * value is returned). O(statements). Errors: MT_EIO, MT_EBUSY, MT_EUNAVAIL. */
typedef int (*mt_id_visit_fn)(const unsigned char id[32], void *payload);
int mt_store_ids(mt_store *s, mt_id_visit_fn fn, void *payload, mt_error *err);

/** The position of the last statement stored (0 when the store is empty):
 * take it BEFORE reading a state, then mt_store_log_since(it) gives every
 * statement the state may lack. O(1). Errors: MT_EIO, MT_EBUSY, MT_EUNAVAIL. */
int mt_store_log_position(mt_store *s, uint64_t *out, mt_error *err);

/** A number that changes when another handle (of this process or another)
 * has committed a change to the store since; this handle's own commits leave
 * it. Equal numbers on one handle: nothing changed by others in between
 * (a cheap poll, O(1)). Errors: MT_EIO, MT_EBUSY. */
int mt_store_change_counter(mt_store *s, uint64_t *out, mt_error *err);

/* ---- Peers and quota counters (local to this store, never signed or sent) --- */

/** Record a peer: its URL (the key) and Node ID, added at `added`. A URL
 * already recorded gets the new Node ID and keeps the rest. Errors: MT_EIO,
 * MT_EBUSY. */
int mt_store_peer_put(mt_store *s, const char *url, const char *node_id, int64_t added,
		      mt_error *err);

/** Forget the peer recorded under `url`. *removed (may be NULL) receives 1
 * when there was one. Errors: MT_EIO; MT_EINVAL on a backend of revision < 5. */
int mt_store_peer_remove(mt_store *s, const char *url, int *removed, mt_error *err);
/** The outcome of a sync with the peer at `url`: when, its error ("" when it
 * went well), how many statements it held beyond ours. A URL not recorded
 * is ignored. Errors: MT_EIO, MT_EBUSY. */
int mt_store_peer_synced(mt_store *s, const char *url, int64_t when, const char *error,
			 uint64_t lag, mt_error *err);

/** One recorded peer (strings borrowed for the call). */
typedef struct mt_store_peer {
	const char *url;
	const char *node_id;
	int64_t added;
	int64_t last_sync;      /**< 0 = never */
	const char *last_error; /**< "" when the last sync went well */
	uint64_t lag;
} mt_store_peer;
typedef int (*mt_peer_visit_fn)(const mt_store_peer *peer, void *payload);

/** Visit the recorded peers, ascending by URL (bytewise). O(peers). Callback
 * returns 0 to go on. Errors: MT_EIO, MT_EBUSY. */
int mt_store_peers(mt_store *s, mt_peer_visit_fn fn, void *payload, mt_error *err);

/** Quota counters: per (kind, key) a count per minute (minutes since the
 * epoch); `kind` is the caller's small number (the node: per issuer, per
 * peer). Add `n` to the count of (kind, key, minute). Errors: MT_EIO,
 * MT_EBUSY. */
int mt_store_quota_add(mt_store *s, int kind, const char *key, int64_t minute, uint64_t n,
		       mt_error *err);

/** *out = the sum of the counts of (kind, key) over the minutes > after.
 * O(log n + minutes counted). Errors: MT_EIO, MT_EBUSY. */
int mt_store_quota_sum(mt_store *s, int kind, const char *key, int64_t after, uint64_t *out,
		       mt_error *err);

/** Forget every count of a minute <= upto. Errors: MT_EIO, MT_EBUSY. */
int mt_store_quota_prune(mt_store *s, int64_t upto, mt_error *err);

/* ---- Names (SPEC §9.5) -----------------------------------------------------
 *
 * Local petnames for Node IDs: never signed, never sent. A name is 1..32
 * characters of [A-Za-z0-9._-] (MT_NAME_MAX with the NUL); each name names one
 * ID and each ID has at most one name. */

#define MT_NAME_MAX 33

/** Is `name` a valid name (1..32 of [A-Za-z0-9._-])? 1 or 0. */
int mt_store_name_valid(const char *name);

/** Give `node_id` the name `name`, replacing any name it had. Errors:
 * MT_EINVAL (`name` not a valid name, `node_id` empty or too long; the message
 * names it), MT_EEXISTS (the name is another ID's), MT_EIO, MT_EBUSY. */
int mt_store_name_set(mt_store *s, const char *node_id, const char *name, mt_error *err);

/** The name of `node_id` into out (NUL-terminated); out[0] = 0 when it has
 * none (not an error). Errors: MT_EIO, MT_EBUSY. */
int mt_store_name_get(mt_store *s, const char *node_id, char out[MT_NAME_MAX], mt_error *err);

/** The Node ID named `name` into out. Errors: MT_ENOTFOUND (no such name),
 * MT_EIO, MT_EBUSY. */
int mt_store_name_lookup(mt_store *s, const char *name, char out[MT_NODE_ID_MAX],
			 mt_error *err);

/** Forget the name `key` or the name of the ID `key`; *removed (may be NULL)
 * receives 1 when one was removed, 0 when there was none (not an error).
 * Errors: MT_EIO, MT_EBUSY. */
int mt_store_name_remove(mt_store *s, const char *key, int *removed, mt_error *err);

/** Visit the names, ascending by name (bytewise); both strings borrowed for
 * the call. The callback returns 0 to go on, non-zero to stop (that value is
 * returned). Errors: MT_EIO, MT_EBUSY. */
typedef int (*mt_name_visit_fn)(const char *name, const char *node_id, void *payload);
int mt_store_names(mt_store *s, mt_name_visit_fn fn, void *payload, mt_error *err);

/* ---- Backends ------------------------------------------------------------
 *
 * Every function above dispatches through the store's backend: a versioned
 * table of operations, as libgit2's sys/refdb_backend.h (git_refdb_backend)
 * and SQLite's VFS table. SQLite is the first backend
 * (mt_store_sqlite_backend; mt_store_open is that plus mt_store_open_backend);
 * a second one (PostgreSQL, issue #19) is a new file that fills the table,
 * with no edit to the functions above or to their callers.
 *
 * Writing a backend: embed mt_store_backend as the FIRST member of the
 * backend's own state struct, set it up with mt_store_backend_init (or
 * MT_STORE_BACKEND_INIT), fill every operation, and hand it to
 * mt_store_open_backend. Each operation receives that member back as `be`,
 * implements the public function of the same name (same arguments after
 * `be`, same contract, same error codes), and may assume the public
 * function's argument checks were made. The rules of SPEC §2 (feeds, forks,
 * rotation, append-only, identical rebuild) are the backend's to keep: a
 * backend must produce the same mt_store_derived_dump text as SQLite for the
 * same statements.
 *
 * Versioning: `version` says which revision of this struct the backend was
 * written for. Operations are only ever added at the end, each new one
 * under a new MT_STORE_BACKEND_VERSION; the store never calls an operation a
 * backend's version does not have, so an old backend keeps working: the
 * public functions of the newer operations then fail with MT_EINVAL ("the
 * backend has no such operation"), the rest work as before.
 */

/** Revision of mt_store_backend this header describes: 1 the operations up
 * to `native`, 2 adds the reads and local tables the modules above the store
 * used to reach with SQL of their own (lessons, pot, node), 3 the key
 * events (SPEC §9.2) and the local names (§9.5), 4 the lesson listing of
 * directories (§9.5), 5 peer removal and the listings of notes and
 * configuration (mesh peer remove, mesh store migrate), 6 the log by position
 * and the ids (mt_store_log_since, mt_store_ids: the node's views follow the
 * store by differences). */
#define MT_STORE_BACKEND_VERSION 6

typedef struct mt_store_backend mt_store_backend;

/** A store backend: its version, its name and its operations. */
struct mt_store_backend {
	unsigned int version; /**< MT_STORE_BACKEND_VERSION the backend was written for */
	const char *name;     /**< "sqlite", … (for messages) */

	/** Release everything (mt_store_close). Required. */
	void (*free)(mt_store_backend *be);

	/* Required: one per public function (mt_store_<op>). */
	int (*begin)(mt_store_backend *be, mt_error *err);
	int (*commit)(mt_store_backend *be, mt_error *err);
	void (*rollback)(mt_store_backend *be);
	int (*ingest)(mt_store_backend *be, const mt_stmt *st, mt_ingest_result *result,
		      mt_error *err);
	int (*issue)(mt_store_backend *be, mt_stmt **out, const json_t *body, const mt_keypair *kp,
		     int64_t ts, mt_error *err);
	int (*digest)(mt_store_backend *be, unsigned char out[32], uint64_t *count, mt_error *err);
	int (*rebuild)(mt_store_backend *be, mt_progress_fn progress, void *payload,
		       mt_error *err);
	int (*derived_dump)(mt_store_backend *be, char **out, mt_error *err);
	int (*edges)(mt_store_backend *be, mt_edge_in **out, size_t *n, int64_t at,
		     mt_error *err);
	int (*edge_get)(mt_store_backend *be, const char *iss, const char *target,
			const char *scope, unsigned char stmt_id[32], uint64_t *seq, mt_error *err);
	int (*bridges)(mt_store_backend *be, mt_bridge_visit_fn fn, void *payload, mt_error *err);
	int (*foreach)(mt_store_backend *be, const char *iss, mt_stmt_visit_fn fn, void *payload,
		       mt_error *err);
	int (*get)(mt_store_backend *be, const unsigned char id[32], char **canon, size_t *len,
		   mt_error *err);
	int (*feed)(mt_store_backend *be, const char *iss, mt_feed_info *out, mt_error *err);
	int (*verify)(mt_store_backend *be, mt_verify_fn fn, void *payload, uint64_t *checked,
		      uint64_t *problems, mt_progress_fn progress, void *pp, mt_error *err);
	int (*note_set)(mt_store_backend *be, const char *node_id, const char *note,
			mt_error *err);
	int (*note_get)(mt_store_backend *be, const char *node_id, char **out, mt_error *err);
	int (*config_set)(mt_store_backend *be, const char *key, const char *value,
			  mt_error *err);
	int (*config_get)(mt_store_backend *be, const char *key, char **out, mt_error *err);

	/* Optional (NULL: none). */
	/** Hint from mt_ingest_run: many ingests follow (on = 1) / are over (0).
	 * SQLite enlarges its page cache and spaces its checkpoints. */
	void (*bulk)(mt_store_backend *be, int on);
	/** The backend's native handle of kind `kind`, or NULL (for the store's
	 * own tests; nothing above the store uses it). */
	void *(*native)(mt_store_backend *be, const char *kind);

	/* ---- version 2: required, one per public function (mt_store_<op>) ---- */
	int (*foreach_type)(mt_store_backend *be, const mt_stmt_type *types, size_t n_types,
			    mt_stmt_visit_fn fn, void *payload, mt_error *err);
	int (*contains)(mt_store_backend *be, const unsigned char id[32], int *found,
			mt_error *err);
	int (*lessons_match)(mt_store_backend *be, const char *const *words, size_t n_words,
			     const char *topic, mt_lesson_visit_fn fn, void *payload,
			     uint64_t *matched, mt_error *err);
	int (*lessons_overlay_begin)(mt_store_backend *be, const mt_stmt *const *lessons,
				     size_t n, unsigned char *indexed, mt_error *err);
	void (*lessons_overlay_end)(mt_store_backend *be);
	int (*feeds)(mt_store_backend *be, mt_feed_visit_fn fn, void *payload, mt_error *err);
	int (*feed_page)(mt_store_backend *be, const char *iss, uint64_t from_seq, uint64_t limit,
			 mt_stmt_visit_fn fn, void *payload, mt_error *err);
	int (*recent)(mt_store_backend *be, uint64_t limit, mt_entry_visit_fn fn, void *payload,
		      mt_error *err);
	int (*forks)(mt_store_backend *be, uint64_t limit, mt_fork_visit_fn fn, void *payload,
		     mt_error *err);
	int (*change_counter)(mt_store_backend *be, uint64_t *out, mt_error *err);
	int (*peer_put)(mt_store_backend *be, const char *url, const char *node_id,
			int64_t added, mt_error *err);
	int (*peer_synced)(mt_store_backend *be, const char *url, int64_t when,
			   const char *error, uint64_t lag, mt_error *err);
	int (*peers)(mt_store_backend *be, mt_peer_visit_fn fn, void *payload, mt_error *err);
	int (*quota_add)(mt_store_backend *be, int kind, const char *key, int64_t minute,
			 uint64_t n, mt_error *err);
	int (*quota_sum)(mt_store_backend *be, int kind, const char *key, int64_t after,
			 uint64_t *out, mt_error *err);
	int (*quota_prune)(mt_store_backend *be, int64_t upto, mt_error *err);

	/* ---- version 3: required, one per public function (mt_store_<op>) ---- */
	int (*key_status)(mt_store_backend *be, const char *iss, mt_key_status *out,
			  mt_error *err);
	int (*rotate_admissible)(mt_store_backend *be, const mt_stmt *st, mt_error *err);
	int (*issue_rotate)(mt_store_backend *be, mt_stmt **out, const char *old_iss,
			    const mt_keypair *next_kp, uint64_t last_good, int64_t ts,
			    mt_error *err);
	int (*newest_id)(mt_store_backend *be, const char *id, char out[MT_NODE_ID_MAX],
			 mt_error *err);
	int (*own_foreign)(mt_store_backend *be, const char *own_id, mt_own_visit_fn fn,
			   void *payload, uint64_t *count, mt_error *err);
	int (*own_adopt)(mt_store_backend *be, const char *own_id, mt_error *err);
	int (*rotation_links)(mt_store_backend *be, mt_rotation_visit_fn fn, void *payload,
			      mt_error *err);
	int (*seen)(mt_store_backend *be, const unsigned char id[32], int64_t *out, mt_error *err);
	/* names (SPEC §9.5; `name` already checked by the store) */
	int (*name_set)(mt_store_backend *be, const char *node_id, const char *name,
			mt_error *err);
	int (*name_get)(mt_store_backend *be, const char *node_id, char out[MT_NAME_MAX],
			mt_error *err);
	int (*name_lookup)(mt_store_backend *be, const char *name, char out[MT_NODE_ID_MAX],
			   mt_error *err);
	int (*name_remove)(mt_store_backend *be, const char *key, int *removed, mt_error *err);
	int (*names)(mt_store_backend *be, mt_name_visit_fn fn, void *payload, mt_error *err);

	/* ---- version 4: required, one per public function (mt_store_<op>) ---- */
	int (*lessons_of)(mt_store_backend *be, const char *author, const char *topic,
			  uint64_t limit, mt_lesson_visit_fn fn, void *payload, mt_error *err);

	/* ---- version 5: required, one per public function (mt_store_<op>) ---- */
	int (*peer_remove)(mt_store_backend *be, const char *url, int *removed, mt_error *err);
	int (*notes)(mt_store_backend *be, mt_kv_visit_fn fn, void *payload, mt_error *err);
	int (*configs)(mt_store_backend *be, mt_kv_visit_fn fn, void *payload, mt_error *err);

	/* ---- version 6: required, one per public function (mt_store_<op>) ---- */
	int (*log_since)(mt_store_backend *be, uint64_t after, uint64_t limit,
			 mt_log_visit_fn fn, void *payload, mt_error *err);
	int (*log_position)(mt_store_backend *be, uint64_t *out, mt_error *err);
	int (*ids)(mt_store_backend *be, mt_id_visit_fn fn, void *payload, mt_error *err);
};

/** Static initializer: `mt_store_backend be = MT_STORE_BACKEND_INIT;`. */
#define MT_STORE_BACKEND_INIT {.version = MT_STORE_BACKEND_VERSION}

/** Initialize `be` (all operations NULL) for revision `version`.
 * Errors: MT_EINVAL when `version` is 0 or newer than this build knows. */
int mt_store_backend_init(mt_store_backend *be, unsigned int version);

/** Open a store on a filled backend. Checks the version and that every
 * required operation of that version is there (MT_EINVAL otherwise). On
 * success the store owns `be` (mt_store_close calls be->free); on failure
 * the caller still does. */
int mt_store_open_backend(mt_store **out, mt_store_backend *be, mt_error *err);

/** The SQLite backend on the database file at `path`, created if needed and
 * migrated (see mt_store_open, which is this + mt_store_open_backend).
 * *out is freed with (*out)->free(*out) if not handed to a store. Errors:
 * MT_EIO, MT_EINVAL (schema newer than this build). */
int mt_store_sqlite_backend(mt_store_backend **out, const char *path, mt_error *err);

/** The PostgreSQL backend (libpq) on the database `conninfo` names (a
 * libpq connection string or URI: "postgresql://user@host/db", "host=/run/pg
 * dbname=mesh"), its tables created or migrated (a newer schema is refused,
 * MT_EINVAL). Statements and the local tables live in PostgreSQL and are
 * shared by every process on that database; derived state is computed by
 * the same rules as SQLite's, per handle, from the statements (docs/store.md,
 * "PostgreSQL"). Writes take a transaction-level advisory lock, so several
 * processes may ingest at once. *out is freed with (*out)->free(*out) if
 * not handed to a store. Errors: MT_EIO (cannot connect, SQL error; the
 * server's message in `err`), MT_EINVAL, MT_ENOMEM. */
int mt_store_pg_backend(mt_store_backend **out, const char *conninfo, mt_error *err);

/** Open the store a URL names: "sqlite:PATH" or a plain PATH (SQLite, as
 * mt_store_open), "postgresql://…" or "postgres://…" (mt_store_pg_backend
 * with the URL as its connection string). *out is owned by the caller
 * (mt_store_close). Errors: MT_EINVAL (empty, or another scheme "x://"),
 * and those of the backend. */
int mt_store_open_url(mt_store **out, const char *url, mt_error *err);

/** Which backend a URL names: "sqlite" or "postgresql" (static strings),
 * NULL when it is not a store URL (empty, or another scheme). */
const char *mt_store_url_kind(const char *url);

/** The store URL a meshtrust home uses, malloc'd into *out: $MESH_STORE
 * when set and not empty, else the first line of `<home>/store.url` (home
 * may be NULL; the file must be readable by its owner only, as it may hold
 * a password: MT_EPERM otherwise), else `db_path` (the home's trust.db).
 * Errors: MT_EINVAL (not a store URL), MT_EPERM, MT_EIO, MT_ENOMEM. */
int mt_store_url_resolve(char **out, const char *home, const char *db_path, mt_error *err);

/** Record `url` as the store of `home`: `<home>/store.url`, mode 0600,
 * written whole (a temporary file renamed). Errors: MT_EINVAL (not a store
 * URL), MT_EIO. */
int mt_store_url_record(const char *home, const char *url, mt_error *err);

/** Copy store `src` into `dst` (`mesh store migrate`; any backend to any
 * backend): every statement, each decoded and its signature verified again
 * (the first that fails stops the copy: nothing of it stays in `dst`), in
 * one transaction of `dst`; then the names, the peers, the notes and the
 * configuration. Ends comparing the state digests: MT_EIO when they differ
 * (a `dst` that held other statements). *copied (may be NULL) receives the
 * number of statements.
 * Errors: those of the two stores, MT_EBADSIG, MT_ECANON, MT_EIO. */
int mt_store_copy(mt_store *dst, mt_store *src, uint64_t *copied, mt_progress_fn progress,
		  void *payload, mt_error *err);

/** The backend of a store (borrowed, lives as long as the store). */
mt_store_backend *mt_store_backend_of(mt_store *s);

#endif
