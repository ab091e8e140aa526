/* Shared plumbing of the `mesh` command (not a public API). */
#ifndef MESH_CLI_H
#define MESH_CLI_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "meshtrust/error.h"
#include "meshtrust/identity.h"
#include "meshtrust/store.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* Per-invocation context, owned by main(). */
typedef struct mesh_ctx {
	char home[4096];       /* $MESH_HOME or ~/.mesh, or --home */
	char db_path[4200];    /* home/trust.db */
	mt_store *store;       /* opened lazily by mesh_open_store */
	mt_keypair key;        /* loaded lazily by mesh_load_key */
	int key_loaded;
	int home_checked;      /* mesh_check_home passed */
	char node_id[MT_NODE_ID_MAX];
	const char *passphrase_file; /* --passphrase-file or $MESH_PASSPHRASE_FILE */
	int64_t now;           /* $MESH_NOW (tests) or time(NULL) */
} mesh_ctx;

typedef int (*mesh_cmd_fn)(mesh_ctx *ctx, int argc, char **argv);

/* One sub-command: name, handler, one-line summary. */
typedef struct mesh_cmd {
	const char *name;
	mesh_cmd_fn fn;
	const char *summary;
} mesh_cmd;

/* Dispatch argv[1] among `cmds`; prints the family's help for -h/--help/none. */
int mesh_dispatch(mesh_ctx *ctx, const char *family, const mesh_cmd *cmds, int argc, char **argv);

/* Print "mesh: <msg>" to stderr and return EXIT_FAIL / EXIT_USAGE. The
 * formatted message goes through mesh_term_write() (it may quote others' text). */
int mesh_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int mesh_usage(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int mesh_fail_err(const mt_error *err);

/* Check that `home` is a usable meshtrust home, before anything in it is
 * read or written (SPEC §9.4): it exists (only `mesh init` creates a home;
 * nothing is created here), is a directory owned by this user (a symbolic
 * link to one is followed only when this user owns the link), and neither
 * its group nor others may write to it. Prints the error itself, naming the
 * path and the fix ("run `mesh init`", "chmod 700 DIR"); returns EXIT_OK or
 * EXIT_FAIL. Changes nothing. */
int mesh_check_home_dir(const char *home);
/* mesh_check_home_dir(ctx->home), once per invocation (ctx->home_checked). */
int mesh_check_home(mesh_ctx *ctx);
/* Open the store under ctx->home, which must pass mesh_check_home() (the
 * store is created inside an existing home; the home never is). Prints the
 * error itself; returns an exit code. */
int mesh_open_store(mesh_ctx *ctx);
/* Load this node's key, after mesh_check_home(): the passphrase of an
 * encrypted key from --passphrase-file or $MESH_PASSPHRASE_FILE, else asked
 * on the terminal (echo off) when stdin is one, never otherwise.
 * Prints the error itself. */
int mesh_load_key(mesh_ctx *ctx);
/* Public identity only (no passphrase needed), after mesh_check_home(). */
int mesh_load_id(mesh_ctx *ctx);

/* Issue this node's next signed statement from `body` (type + fields; the
 * reference is consumed): loads the key and the store as needed. On success
 * *out (may be NULL) receives the statement, owned by the caller. Prints the
 * error itself; returns an exit code. */
struct mt_stmt;
int mesh_issue(mesh_ctx *ctx, json_t *body, struct mt_stmt **out);

/* Terminal output of text that others wrote (SPEC §9.4): anything from a
 * statement, a peer or a file, shown to a person. mesh_term_write() writes `s`
 * (NUL-terminated; NULL writes nothing) to `f` so that a terminal displays it
 * and does nothing else, and so that the output is unambiguous:
 *   - `\` becomes `\\`;
 *   - C0 controls and DEL become `\xNN` (`\t`, `\n`, `\r` for those three),
 *     except that with MESH_TERM_MULTILINE `\n` and `\t` are written as they
 *     are (for a body shown on lines of its own; `\r` is escaped even then);
 *   - C1 controls (U+0080..U+009F), bidirectional marks, embeddings,
 *     overrides and isolates (U+061C, U+200E, U+200F, U+202A..U+202E,
 *     U+2066..U+2069) and the line/paragraph separators U+2028/U+2029
 *     become `\uNNNN`;
 *   - a byte that is not part of well-formed UTF-8 (overlong forms,
 *     surrogates and code points over U+10FFFF included) becomes `\xNN`.
 * Everything else (printable ASCII, other well-formed UTF-8) is copied.
 * Returns the number of characters written (code points, for padding a
 * column), or -1 when `f` has a write error; like printf, callers may leave
 * the check to main(), which fails when stdout has an error (ferror). */
#define MESH_TERM_LINE 0
#define MESH_TERM_MULTILINE 1
int mesh_term_write(FILE *f, const char *s, int flags);

/* A JSON value (e.g. a list of topics) on one line for a person: compact
 * JSON text (`flags`: jansson's, e.g. JSON_SORT_KEYS) through
 * mesh_term_write(). Returns as mesh_term_write() does, or -1 out of memory. */
int mesh_term_json(FILE *f, const json_t *v, size_t flags);

/* Print a JSON value (compact, one line) to stdout and free it. */
int mesh_print_json(json_t *v);
/** The statement as a new jansson tree (caller owns), NULL when out of memory. */
json_t *mesh_stmt_json(const mt_stmt *st);
/** A top-level member of the statement as a new jansson value (caller owns),
 * NULL when absent or out of memory. */
json_t *mesh_stmt_member(const mt_stmt *st, const char *key);

/* Parse "30d", "12h", "90m", "45s" into seconds. */
int mesh_parse_duration(int64_t *out, const char *text, const char *argname, mt_error *err);
/* Parse a decimal score "0.8" in (0,1] into permille 1..1000 (exactly 3 decimals max). */
int mesh_parse_score(int *out, const char *text, mt_error *err);
/* Parse a non-negative integer. */
int mesh_parse_int(int64_t *out, const char *text, const char *argname, int64_t min, int64_t max,
		   mt_error *err);

/* Progress on a terminal (stderr is a tty), silent when piped. */
typedef struct mesh_progress {
	const char *label;
	int tty;
	int64_t last_ms;
	uint64_t total;
} mesh_progress;
void mesh_progress_init(mesh_progress *p, const char *label, uint64_t total);
void mesh_progress_cb(uint64_t done, uint64_t total, void *payload);
void mesh_progress_end(mesh_progress *p);

/* Resolve an identity argument (Node ID or did:key) to a Node ID; no @NAME
 * (that needs the store: mesh_resolve_id_at). */
int mesh_resolve_id(char out[MT_NODE_ID_MAX], const char *text, const char *argname);
/* The same, also accepting @NAME (a local name, SPEC §9.5): opens the store
 * under ctx (after mesh_check_home) only for a name. A NULL ctx accepts no
 * names. Prints the error itself; returns EXIT_OK, EXIT_USAGE (malformed, or
 * no such name) or EXIT_FAIL. */
int mesh_resolve_id_at(mesh_ctx *ctx, char out[MT_NODE_ID_MAX], const char *text,
		       const char *argname);
/* Write the Node ID `id` to f, then " (NAME)" when it has a local name and the
 * store is open (escaped with mesh_term_write). Returns the characters
 * written, or -1 on a write error. _pad pads with spaces to `width`. */
int mesh_write_id(mesh_ctx *ctx, FILE *f, const char *id);
int mesh_write_id_pad(mesh_ctx *ctx, FILE *f, const char *id, int width);
/* One line per referral of `referee` held in the open store ("mesh: referred
 * by ID (name): NOTE", escaped) to f; nothing when there is none or the store
 * is not open. */
void mesh_referral_notes(mesh_ctx *ctx, const char *referee, FILE *f);

/* The effective policy: $MESH_HOME/policy.toml (or the defaults), then the
 * configuration keys policy.maxGini / policy.enforceGini where set (validated
 * by the registry). *out owned by the caller; `source` says where it came
 * from. Prints the error itself; returns an exit code. */
struct mt_policy;
int mesh_load_policy(mesh_ctx *ctx, struct mt_policy **out, char *source, size_t source_len);

/* Command families. */
int cmd_init(mesh_ctx *ctx, int argc, char **argv);
int cmd_id(mesh_ctx *ctx, int argc, char **argv);
int cmd_log(mesh_ctx *ctx, int argc, char **argv);
int cmd_store(mesh_ctx *ctx, int argc, char **argv);
int cmd_trust(mesh_ctx *ctx, int argc, char **argv);
int cmd_config(mesh_ctx *ctx, int argc, char **argv);
int cmd_refer(mesh_ctx *ctx, int argc, char **argv);
int cmd_graph(mesh_ctx *ctx, int argc, char **argv);
int cmd_metrics(mesh_ctx *ctx, int argc, char **argv);
int cmd_bridge(mesh_ctx *ctx, int argc, char **argv);
int cmd_policy(mesh_ctx *ctx, int argc, char **argv);
int cmd_lesson(mesh_ctx *ctx, int argc, char **argv);
int cmd_search(mesh_ctx *ctx, int argc, char **argv);
int cmd_community(mesh_ctx *ctx, int argc, char **argv);
int cmd_pot(mesh_ctx *ctx, int argc, char **argv);
int cmd_sim(mesh_ctx *ctx, int argc, char **argv);
int cmd_node(mesh_ctx *ctx, int argc, char **argv);
int cmd_peer(mesh_ctx *ctx, int argc, char **argv);
int cmd_proof(mesh_ctx *ctx, int argc, char **argv);
int cmd_sync(mesh_ctx *ctx, int argc, char **argv);
int cmd_key(mesh_ctx *ctx, int argc, char **argv);
int cmd_name(mesh_ctx *ctx, int argc, char **argv);
int cmd_referral(mesh_ctx *ctx, int argc, char **argv);
int cmd_directory(mesh_ctx *ctx, int argc, char **argv);
int cmd_discover(mesh_ctx *ctx, int argc, char **argv);
int cmd_doctor(mesh_ctx *ctx, int argc, char **argv);

/* Proof-of-trust state of the local store at ctx->now (exit code). */
struct mt_pot_state;
struct mt_pot_community;
int mesh_pot_state(mesh_ctx *ctx, struct mt_pot_state **out);
/* The community named by `arg` (a genesis id, or a scope label: the local
 * binding from `community join`, else the first genesis by (ts, id)).
 * Prints the error itself; returns an exit code. */
int mesh_pot_community(mesh_ctx *ctx, const struct mt_pot_state *st, const char *arg,
		       const struct mt_pot_community **out);

/* Import NDJSON / trust-export documents (shared by log import and trust import).
 * Returns an exit code. */
int mesh_import_file(mesh_ctx *ctx, const char *path, int trust_doc, int json_out, int ack);
/* The same; `accept_fork`: statements of the home's own identity that fork
 * its feed are imported instead of refusing the file (keyimport.h). */
int mesh_import_file_ex(mesh_ctx *ctx, const char *path, int trust_doc, int json_out, int ack,
			int accept_fork);

/* A time argument: Unix seconds, ISO 8601 (2026-01-01, 2026-01-01T10:00[:00],
 * with Z or ±HH:MM; without a zone, local time), "now", or "N<unit> ago"
 * (s, m, h, d, w and their long forms) counted back from `now`. Returns 0, or
 * MT_EINVAL with the message naming `argname` and the forms accepted. */
int mesh_parse_time(int64_t *out, const char *text, const char *argname, int64_t now,
		    mt_error *err);
/* A time for people: local time with its zone ("2026-12-03 14:15:00 UTC"). */
void mesh_format_time(char out[40], int64_t t);
/* ISO 8601 in UTC ("2026-12-03T14:15:00Z"), for --json documents. */
void mesh_format_iso(char out[32], int64_t t);

/* A statement id argument of type `type`: 64 hex characters, or a unique
 * prefix of 8 or more among the held statements of that type (applied
 * ones); an ambiguous prefix lists the candidates. `what` names the argument
 * in messages. Prints the error itself; returns an exit code. */
int mesh_resolve_stmt_id(mesh_ctx *ctx, unsigned char out[32], const char *arg,
			 mt_stmt_type type, const char *what);

/* The candidate closest to a mistyped `word` ("did you mean"): within a
 * small edit distance (a third of its letters, 1..3, adjacent swaps count
 * one), else the one candidate it is a prefix of; NULL when none is close.
 * Borrowed from cands. */
const char *mesh_suggest(const char *word, const char *const *cands, size_t n);

/* True when argv has -h/--help at position 1.. (for leaf commands). */
int mesh_wants_help(int argc, char **argv);

#endif
