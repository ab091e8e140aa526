/* mesh config get|set and the typed readers the other commands use. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
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

#define CONFIG_USAGE "mesh config get KEY | mesh config set KEY VALUE | mesh config list"

static void config_help(void)
{
	size_t NKEYS;
	const mt_config_key *KEYS = mt_config_keys(&NKEYS);
	printf("usage: %s\n\nkeys (default):\n", CONFIG_USAGE);
	for (size_t i = 0; i < NKEYS; i++)
		printf("  %-34s %s (default %s)\n", KEYS[i].key, KEYS[i].help, KEYS[i].dflt);
}

int cmd_config(mesh_ctx *ctx, int argc, char **argv)
{
	if (argc < 2)
		return mesh_usage(CONFIG_USAGE, "missing sub-command");
	if (mesh_wants_help(argc, argv) || strcmp(argv[1], "help") == 0) {
		config_help();
		return EXIT_OK;
	}
	int json = argc > 2 && strcmp(argv[argc - 1], "--json") == 0;
	if (json)
		argc--;
	size_t NKEYS;
	const mt_config_key *KEYS = mt_config_keys(&NKEYS);
	if (strcmp(argv[1], "list") == 0 && argc == 2) {
		json_t *o = json_object();
		for (size_t i = 0; i < NKEYS; i++) {
			char *v = NULL;
			int rc = mesh_config_value(ctx, KEYS[i].key, &v);
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
	if (strcmp(argv[1], "get") == 0 && argc == 3) {
		if (!mt_config_find(argv[2]))
			return mesh_usage(CONFIG_USAGE, "unknown configuration key \"%s\" (see `mesh "
							"config --help`)",
					  argv[2]);
		char *v = NULL;
		int rc = mesh_config_value(ctx, argv[2], &v);
		if (rc)
			return rc;
		if (json)
			mesh_print_json(json_pack("{s:s,s:s}", "key", argv[2], "value", v));
		else
			printf("%s\n", v);
		free(v);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "set") == 0 && argc == 4) {
		if (!mt_config_find(argv[2]))
			return mesh_usage(CONFIG_USAGE, "unknown configuration key \"%s\" (see `mesh "
							"config --help`)",
					  argv[2]);
		mt_error err = {0};
		if (mt_config_find(argv[2])->validate(argv[3], &err) != 0)
			return mesh_usage(NULL, "%s: %s", argv[2], err.msg);
		int rc = mesh_open_store(ctx);
		if (rc)
			return rc;
		if (mt_config_set(ctx->store, argv[2], argv[3], &err) != 0)
			return mesh_fail_err(&err);
		return EXIT_OK;
	}
	return mesh_usage(CONFIG_USAGE, "bad arguments");
}
