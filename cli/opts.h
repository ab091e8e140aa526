/* Declarative options of the `mesh` leaf commands (not a public API).
 *
 * Each command describes itself once, as a mesh_spec: its usage line, the
 * prose of its help, its options (mesh_opt) and how many operands it takes.
 * mesh_parse_args() parses argv against it with getopt_long (GNU
 * permutation: options may follow operands; `--opt=value`, `--opt value`,
 * unique prefixes and repeated options work; `--` ends the options), adds
 * -h/--help to every command and generates the help from the spec, and
 * reports every usage error the same way. The command then reads the
 * options it was given, in command-line order, from a mesh_args.
 *
 *	static const mesh_opt OPTS[] = {
 *		{"scope", MESH_ARG, "S", "the scope (default global)", 'S'},
 *		MESH_OPT_JSON,
 *		MESH_OPT_END};
 *	static const mesh_spec SPEC = {"mesh x list [--scope S] [--json]",
 *				       "What the command does.", OPTS, 0, 0, NULL};
 *	mesh_args a;
 *	int rc = mesh_parse_args(&SPEC, argc, argv, &a);
 *	if (rc != MESH_ARGS_RUN)
 *		return rc;
 *	const char *scope = mesh_args_get(&a, 'S', "global");
 */
#ifndef MESH_OPTS_H
#define MESH_OPTS_H

#include <stdio.h>

#define MESH_NOARG 0 /* a flag: --json */
#define MESH_ARG 1   /* takes a value: --scope S, --scope=S */

/* One option. `id` is what the command sees (mesh_arg.id): any int but 0 and
 * 'h' (-h/--help is added to every command), unique within its table. */
typedef struct mesh_opt {
	const char *name;    /* long name without the dashes: "scope" */
	int has_arg;         /* MESH_NOARG or MESH_ARG */
	const char *metavar; /* the value's placeholder in the help ("S", "FILE"); NULL for a flag */
	const char *help;    /* description; '\n' starts an aligned continuation line; may be NULL */
	int id;
} mesh_opt;

/* The end of an option table. */
#define MESH_OPT_END {NULL, 0, NULL, NULL, 0}

/* Options several commands share (the id is the one the commands use). */
#define MESH_OPT_JSON_H(help) {"json", MESH_NOARG, NULL, help, 'j'}
#define MESH_OPT_JSON MESH_OPT_JSON_H("print the result as JSON (one line)")
#define MESH_OPT_SCOPE_H(help) {"scope", MESH_ARG, "S", help, 'S'}
#define MESH_OPT_SCOPE                                                                             \
	MESH_OPT_SCOPE_H("scope: global (default), coop:<id>, federation:<id>, domain:<id>,\n"    \
			 "topic:<id>")
#define MESH_OPT_AT                                                                                \
	{"at", MESH_ARG, "T",                                                                      \
	 "evaluate at time T (only statements with ts <= T): Unix seconds,\n2026-01-01, "            \
	 "2026-01-01T10:00:00Z, \"30d ago\"",                                                      \
	 'a'}
#define MESH_OPT_ISS_H(help) {"iss", MESH_ARG, "ID", help, 'i'}

/* A numeric macro as a string literal, for about texts: MESH_STR(MT_STMT_MAX). */
#define MESH_STR_(x) #x
#define MESH_STR(x) MESH_STR_(x)

/* A command. The usage line is printed after "usage: " in the help and after
 * every usage error; `about` (may be NULL) is the prose of the help. */
typedef struct mesh_spec {
	const char *usage; /* "mesh trust path <id> [--scope S] …" */
	const char *about; /* what the command does; paragraphs separated by "\n\n" */
	const mesh_opt *opts; /* terminated by MESH_OPT_END; NULL: no options but --help */
	int min_args;      /* operands (non-option arguments) required … */
	int max_args;      /* … and allowed; -1: any number */
	/* What the operands are, for the error when too few are given:
	 * "exactly one <id>" gives "mesh: expected exactly one <id>". NULL: "a
	 * missing argument". */
	const char *args;
	/* Called after the generated help, for help that is not fixed text (the
	 * configuration keys); NULL: none. */
	void (*more_help)(FILE *out);
} mesh_spec;

/* One option given on the command line. `val` is its value (MESH_ARG) or
 * NULL (MESH_NOARG); it points into argv. */
typedef struct mesh_arg {
	int id;
	const char *val;
} mesh_arg;

/* At most this many options per command line (a longer one is a usage error). */
#define MESH_ARGS_MAX 128

/* The parsed command line: the options in command-line order (repeated ones
 * as often as given), then the operands. Everything points into argv, which
 * getopt_long may have permuted (operands after options); nothing is owned. */
typedef struct mesh_args {
	mesh_arg opt[MESH_ARGS_MAX];
	int n_opt;
	char **pos; /* the operands, n_pos of them */
	int n_pos;
} mesh_args;

/* mesh_parse_args() returns this when the command should run. */
#define MESH_ARGS_RUN (-1)

/* Parse argv[1..argc) (argv[0] is the command's name) against `spec` into
 * *out. Resets getopt (optind) itself and leaves opterr as it found it.
 * Returns
 *   MESH_ARGS_RUN  parsed: run the command with *out;
 *   EXIT_OK        -h/--help was given (before any bad option): the help
 *                  (mesh_print_help) is on stdout and the command returns this;
 *   EXIT_USAGE     an unknown or ambiguous option, a missing value, a value
 *                  given to a flag, too few or too many operands: printed to
 *                  stderr as "mesh: <what is wrong, naming it>" and the usage
 *                  line (mesh_usage); the command returns this.
 * Options are checked before the operand count; the values of options are
 * the command's to check. */
int mesh_parse_args(const mesh_spec *spec, int argc, char **argv, mesh_args *out);

/* The command's help: "usage: …", the about text, the aligned list of its
 * options (-h/--help included), then spec->more_help. */
void mesh_print_help(const mesh_spec *spec, FILE *out);

/* The value of the last `id` option given, or `dflt` when there is none. */
const char *mesh_args_get(const mesh_args *a, int id, const char *dflt);
/* How many times option `id` was given (a flag is set when this is > 0). */
int mesh_args_count(const mesh_args *a, int id);

#endif
