/* Declarative options of the leaf commands: parsing, errors, help (opts.h). */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "opts.h"

/* Options in a spec, and the most a spec may declare. */
#define SPEC_MAX_OPTS 40
/* getopt_long's val of spec option i: above every char, so that optopt
 * tells a known long option (a value problem) from an unknown one (0) and
 * from an unknown short option (the char). */
#define VAL_BASE 256
#define VAL_HELP 'h'

static int spec_count(const mesh_spec *spec)
{
	int n = 0;
	while (spec->opts && spec->opts[n].name)
		n++;
	return n;
}

/* `text` (e.g. "--sco=x") up to '=' without the dashes, into buf. */
static const char *bare_name(char *buf, size_t len, const char *text)
{
	while (*text == '-')
		text++;
	size_t n = strcspn(text, "=");
	snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), text);
	return buf;
}

/* The error for the argument getopt_long refused (`c` is '?' or ':'). */
static int parse_error(const mesh_spec *spec, int n, char **argv, int c)
{
	const char *usage = spec->usage;
	const char *bad = optind > 0 ? argv[optind - 1] : "";
	if (optopt >= VAL_BASE && optopt < VAL_BASE + n) {
		const mesh_opt *o = &spec->opts[optopt - VAL_BASE];
		if (c == ':')
			return mesh_usage(usage, "option --%s needs a value (--%s %s)", o->name, o->name,
					  o->metavar ? o->metavar : "VALUE");
		return mesh_usage(usage, "option --%s takes no value (got \"%s\")", o->name, bad);
	}
	if (optopt == VAL_HELP && c == '?' && strncmp(bad, "--", 2) == 0)
		return mesh_usage(usage, "option --help takes no value (got \"%s\")", bad);
	if (optopt > 0 && optopt < VAL_BASE)
		return mesh_usage(usage, "unknown option -%c", optopt);
	/* An unknown long option, or a prefix of several. */
	char name[128], list[512] = "";
	size_t len = strlen(bare_name(name, sizeof name, bad)), used = 0;
	int matches = 0;
	for (int i = 0; i < n && len; i++)
		if (strncmp(spec->opts[i].name, name, len) == 0 && used < sizeof list) {
			used += (size_t)snprintf(list + used, sizeof list - used, "%s--%s",
						 matches++ ? ", " : "", spec->opts[i].name);
		}
	if (matches > 1)
		return mesh_usage(usage, "ambiguous option %s (%s)", bad, list);
	return mesh_usage(usage, "unknown option %s", bad);
}

int mesh_parse_args(const mesh_spec *spec, int argc, char **argv, mesh_args *out)
{
	struct option lo[SPEC_MAX_OPTS + 2];
	int n = spec_count(spec);
	memset(out, 0, sizeof *out);
	if (n > SPEC_MAX_OPTS)
		return mesh_fail("internal error: `%s` declares %d options (at most %d)", spec->usage,
				 n, SPEC_MAX_OPTS);
	for (int i = 0; i < n; i++) {
		lo[i].name = spec->opts[i].name;
		lo[i].has_arg = spec->opts[i].has_arg == MESH_ARG ? required_argument : no_argument;
		lo[i].flag = NULL;
		lo[i].val = VAL_BASE + i;
	}
	lo[n] = (struct option){"help", no_argument, NULL, VAL_HELP};
	lo[n + 1] = (struct option){NULL, 0, NULL, 0};
	int saved_opterr = opterr, c, rc = MESH_ARGS_RUN;
	opterr = 0; /* the errors are ours (they name the command's usage) */
	optind = 1;
	/* ':' first: a missing value returns ':', anything else unknown '?' */
	while (rc == MESH_ARGS_RUN && (c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		if (c == VAL_HELP) {
			mesh_print_help(spec, stdout);
			rc = EXIT_OK;
		} else if (c >= VAL_BASE && c < VAL_BASE + n) {
			if (out->n_opt == MESH_ARGS_MAX) {
				rc = mesh_usage(spec->usage, "too many options (at most %d)",
						MESH_ARGS_MAX);
				break;
			}
			out->opt[out->n_opt].id = spec->opts[c - VAL_BASE].id;
			out->opt[out->n_opt].val = spec->opts[c - VAL_BASE].has_arg ? optarg : NULL;
			out->n_opt++;
		} else {
			rc = parse_error(spec, n, argv, c);
		}
	}
	opterr = saved_opterr;
	if (rc != MESH_ARGS_RUN)
		return rc;
	out->pos = argv + optind;
	out->n_pos = argc - optind;
	if (out->n_pos < spec->min_args) {
		if (spec->args)
			return mesh_usage(spec->usage, "expected %s", spec->args);
		return mesh_usage(spec->usage, "a missing argument");
	}
	if (spec->max_args >= 0 && out->n_pos > spec->max_args)
		return mesh_usage(spec->usage, "unexpected argument \"%s\"",
				  out->pos[spec->max_args]);
	return MESH_ARGS_RUN;
}

/* "--name METAVAR" for the option list. */
static int opt_label(char *buf, size_t len, const char *name, const char *metavar)
{
	return snprintf(buf, len, "--%s%s%s", name, metavar ? " " : "", metavar ? metavar : "");
}

/* The help text, continuation lines indented to column `col`. */
static void print_wrapped(FILE *out, const char *help, int col)
{
	for (const char *p = help; *p;) {
		size_t l = strcspn(p, "\n");
		fprintf(out, "%.*s\n", (int)l, p);
		p += l;
		if (*p == '\n' && *++p)
			fprintf(out, "%*s", col, "");
	}
}

void mesh_print_help(const mesh_spec *spec, FILE *out)
{
	/* Labels longer than this put their help on the next line. */
	enum { MAX_COL = 24 };
	char label[160];
	int n = spec_count(spec), w = (int)strlen("-h, --help");
	for (int i = 0; i < n; i++) {
		int l = opt_label(label, sizeof label, spec->opts[i].name, spec->opts[i].metavar);
		if (l > w && l <= MAX_COL)
			w = l;
	}
	int col = 2 + w + 2;
	fprintf(out, "usage: %s\n", spec->usage);
	if (spec->about && spec->about[0])
		fprintf(out, "\n%s%s", spec->about,
			spec->about[strlen(spec->about) - 1] == '\n' ? "" : "\n");
	fprintf(out, "\noptions:\n");
	for (int i = 0; i < n; i++) {
		const mesh_opt *o = &spec->opts[i];
		int l = opt_label(label, sizeof label, o->name, o->metavar);
		if (!o->help || !o->help[0]) {
			fprintf(out, "  %s\n", label);
		} else if (l > w) {
			fprintf(out, "  %s\n%*s", label, col, "");
			print_wrapped(out, o->help, col);
		} else {
			fprintf(out, "  %-*s  ", w, label);
			print_wrapped(out, o->help, col);
		}
	}
	fprintf(out, "  %-*s  show this help\n", w, "-h, --help");
	if (spec->more_help)
		spec->more_help(out);
}

const char *mesh_args_get(const mesh_args *a, int id, const char *dflt)
{
	for (int i = a->n_opt - 1; i >= 0; i--)
		if (a->opt[i].id == id)
			return a->opt[i].val;
	return dflt;
}

int mesh_args_count(const mesh_args *a, int id)
{
	int k = 0;
	for (int i = 0; i < a->n_opt; i++)
		k += a->opt[i].id == id;
	return k;
}
