/* mesh config get|set and the typed readers the other commands use. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "opts.h"
#include "meshtrust/config.h"

int mesh_parse_decay(double *out, size_t *n, const char *text, mt_error *err)
{
	return mt_config_parse_decay(out, n, text, err);
}

int mesh_config_value(mesh_ctx *ctx, const char *key, char **out)
{
	*out = NULL;
	if (!mt_config_find(key))
		return mesh_fail("unknown configuration key %s", key);
	int rc = mesh_open_store(ctx);
	if (rc)
		return rc;
	mt_error err = {0};
	if (mt_config_get(ctx->store, key, out, &err) != 0)
		return mesh_fail_err(&err);
	return EXIT_OK;
}

int mesh_config_trust(mesh_ctx *ctx, int *depth, double *decay, size_t *n_decay)
{
	int rc = mesh_open_store(ctx);
	if (rc)
		return rc;
	mt_error err = {0};
	if (mt_config_trust(ctx->store, depth, decay, n_decay, &err) != 0)
		return mesh_fail_err(&err);
	return EXIT_OK;
}

#define CONFIG_USAGE "mesh config get KEY | set KEY VALUE | unset KEY | list"

/* The keys, their help and defaults. */
static void keys_help(FILE *out)
{
	size_t NKEYS;
	const mt_config_key *KEYS = mt_config_keys(&NKEYS);
	fprintf(out, "\nkeys (default):\n");
	for (size_t i = 0; i < NKEYS; i++)
		fprintf(out, "  %-34s %s (default %s)\n", KEYS[i].key, KEYS[i].help, KEYS[i].dflt);
}

/* The family's help: its sub-commands (as mesh_dispatch lists them), then the keys. */
static void config_help(void)
{
	static const struct {
		const char *name, *summary;
	} subs[] = {{"get", "print the value of one key"},
		    {"set", "set one key (validated first)"},
		    {"list", "every key with its value"},
		    {"unset", "forget a key's value (back to its default)"}};
	printf("usage: %s\n\ncommands:\n", CONFIG_USAGE);
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
		printf("  %-10s %s\n", subs[i].name, subs[i].summary);
	printf("\nRun `mesh config <command> --help` for details.\n");
	keys_help(stdout);
}

static const mesh_opt GET_OPTS[] = {MESH_OPT_JSON_H("print {key, value} as JSON"), MESH_OPT_END};
static const mesh_spec GET_SPEC = {"mesh config get KEY [--json]",
				   "Print the value of configuration KEY (its default when unset).",
				   GET_OPTS, 1, 1, "one KEY", keys_help};
static const mesh_opt SET_OPTS[] = {
	MESH_OPT_JSON_H("accepted like the other sub-commands; set prints nothing"), MESH_OPT_END};
static const mesh_spec SET_SPEC = {"mesh config set KEY VALUE",
				   "Set configuration KEY to VALUE (validated first).", SET_OPTS, 2,
				   2, "KEY and VALUE", keys_help};
static const mesh_spec UNSET_SPEC = {"mesh config unset KEY",
				     "Forget the value of configuration KEY: it reads as its default "
				     "again.",
				     NULL, 1, 1, "one KEY", keys_help};
static const mesh_opt LIST_OPTS[] = {MESH_OPT_JSON_H("print {key: value, …} as JSON"),
				     MESH_OPT_END};
static const mesh_spec LIST_SPEC = {"mesh config list [--json]",
				    "Print every configuration key with its value.", LIST_OPTS, 0, 0,
				    NULL, keys_help};

int cmd_config(mesh_ctx *ctx, int argc, char **argv)
{
	if (argc < 2)
		return mesh_usage(CONFIG_USAGE, "missing sub-command");
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		config_help();
		return EXIT_OK;
	}
	const mesh_spec *spec = strcmp(argv[1], "get") == 0   ? &GET_SPEC
				: strcmp(argv[1], "set") == 0 ? &SET_SPEC
				: strcmp(argv[1], "list") == 0 ? &LIST_SPEC
				: strcmp(argv[1], "unset") == 0 ? &UNSET_SPEC
							       : NULL;
	if (!spec) {
		static const char *const subs[] = {"get", "set", "list", "unset"};
		const char *near = mesh_suggest(argv[1], subs, 4);
		return mesh_usage(CONFIG_USAGE,
				  "unknown sub-command \"%s\" (get, set, list or unset)%s%s%s",
				  argv[1], near ? "; did you mean " : "", near ? near : "",
				  near ? "?" : "");
	}
	mesh_args a;
	int rc = mesh_parse_args(spec, argc - 1, argv + 1, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	int json = mesh_args_count(&a, 'j') > 0;
	size_t NKEYS;
	const mt_config_key *KEYS = mt_config_keys(&NKEYS);
	if (spec == &LIST_SPEC) {
		json_t *o = json_object();
		for (size_t i = 0; i < NKEYS; i++) {
			char *v = NULL;
			rc = mesh_config_value(ctx, KEYS[i].key, &v);
			if (rc) {
				json_decref(o);
				return rc;
			}
			if (json)
				json_object_set_new(o, KEYS[i].key, json_string(v));
			else
				printf("%s = %s\n", KEYS[i].key, v);
			free(v);
		}
		if (json)
			return mesh_print_json(o);
		json_decref(o);
		return EXIT_OK;
	}
	const char *key = a.pos[0];
	if (!mt_config_find(key))
		return mesh_usage(CONFIG_USAGE, "unknown configuration key \"%s\" (see `mesh "
						"config --help`)",
				  key);
	if (spec == &UNSET_SPEC) {
		mt_error err = {0};
		if ((rc = mesh_open_store(ctx)))
			return rc;
		if (mt_config_unset(ctx->store, key, &err) != 0)
			return mesh_fail_err(&err);
		return EXIT_OK;
	}
	if (spec == &GET_SPEC) {
		char *v = NULL;
		rc = mesh_config_value(ctx, key, &v);
		if (rc)
			return rc;
		if (json)
			mesh_print_json(json_pack("{s:s,s:s}", "key", key, "value", v));
		else
			printf("%s\n", v);
		free(v);
		return EXIT_OK;
	}
	/* set */
	const char *value = a.pos[1];
	mt_error err = {0};
	if (mt_config_validate(key, value, &err) != 0)
		return mesh_usage(NULL, "%s", err.msg);
	rc = mesh_open_store(ctx);
	if (rc)
		return rc;
	if (mt_config_set(ctx->store, key, value, &err) != 0)
		return mesh_fail_err(&err);
	return EXIT_OK;
}
