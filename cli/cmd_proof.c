/* mesh proof verify: check a portable trust proof (SPEC §9.6) without a
 * node, a store or a home. A home is only read, when one exists, to warn that
 * the bundle's depth or decay differ from the local configuration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "config.h"
#include "opts.h"
#include "meshtrust/engine.h"
#include "meshtrust/proof.h"

/* Largest bundle file read (bytes). */
#define PROOF_FILE_MAX ((size_t)256 * 1024 * 1024)

/* Read all of `path` into a malloc'd buffer (*out, caller frees). Exit code. */
static int read_bundle(const char *path, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return mesh_fail("cannot open %s", path);
	size_t cap = 65536, n = 0;
	char *b = malloc(cap);
	int rc = b ? EXIT_OK : mesh_fail("out of memory");
	while (rc == EXIT_OK) {
		if (n == cap) {
			if (cap >= PROOF_FILE_MAX) {
				rc = mesh_fail("%s: larger than %zu bytes", path, PROOF_FILE_MAX);
				break;
			}
			char *nb = realloc(b, cap * 2);
			if (!nb) {
				rc = mesh_fail("out of memory");
				break;
			}
			b = nb;
			cap *= 2;
		}
		size_t got = fread(b + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			if (ferror(f))
				rc = mesh_fail("cannot read %s", path);
			break;
		}
	}
	fclose(f);
	if (rc != EXIT_OK) {
		free(b);
		return rc;
	}
	*out = b;
	*len = n;
	return EXIT_OK;
}

/* Warnings when the bundle's depth/decay differ from this home's config;
 * nothing when there is no home: no home is ever created. */
static int local_warnings(mesh_ctx *ctx, const mt_proof_result *r, json_t *warnings)
{
	struct stat st;
	if (stat(ctx->home, &st) != 0 || !S_ISDIR(st.st_mode))
		return EXIT_OK;
	int depth = 0, rc;
	double decay[MESH_MAX_DECAY];
	size_t n_decay = 0;
	if ((rc = mesh_open_store(ctx)) || (rc = mesh_config_trust(ctx, &depth, decay, &n_decay)))
		return rc;
	char msg[512];
	if (depth != r->h.max_depth) {
		snprintf(msg, sizeof msg,
			 "the bundle's max_depth %d differs from this home's trust.maxDepth %d",
			 r->h.max_depth, depth);
		json_array_append_new(warnings, json_string(msg));
	}
	int same = n_decay == r->h.n_decay;
	for (size_t i = 0; same && i < n_decay; i++)
		same = decay[i] == r->h.decay[i];
	if (!same) {
		snprintf(msg, sizeof msg, "the bundle's decay differs from this home's trust.decay");
		json_array_append_new(warnings, json_string(msg));
	}
	return EXIT_OK;
}

#define VERIFY_USAGE "mesh proof verify FILE [--json]"

static const mesh_opt VERIFY_OPTS[] = {MESH_OPT_JSON, MESH_OPT_END};

static const mesh_spec VERIFY_SPEC = {
	VERIFY_USAGE,
	"Check a portable trust proof (written by `mesh trust path ID --proof FILE`)\n"
	"from the file alone: the header's signature (by the prover, whose Node ID it\n"
	"names), every statement's signature and feed link, then the path and its\n"
	"score recomputed with the header's depth and decay. Needs no home or store.\n"
	"Exit 0 when it verifies, 1 with the reason when not.",
	VERIFY_OPTS, 1, 1, "exactly one FILE", NULL};

static int proof_verify(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&VERIFY_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	int json = 0;
	for (int i = 0; i < a.n_opt; i++)
		if (a.opt[i].id == 'j')
			json = 1;
	char *buf = NULL;
	size_t len = 0;
	if ((rc = read_bundle(a.pos[0], &buf, &len)) != EXIT_OK)
		return rc;
	mt_proof_result *r = NULL;
	mt_error err = {0};
	rc = mt_proof_verify(&r, buf, len, &err);
	free(buf);
	if (rc != 0)
		return mesh_fail_err(&err);
	json_t *warnings = json_array();
	json_t *doc = mt_proof_result_json(r);
	if (!warnings || !doc) {
		json_decref(warnings);
		json_decref(doc);
		mt_proof_result_free(r);
		return mesh_fail("out of memory");
	}
	if (r->valid && (rc = local_warnings(ctx, r, warnings)) != EXIT_OK) {
		json_decref(warnings);
		json_decref(doc);
		mt_proof_result_free(r);
		return rc;
	}
	int valid = r->valid;
	if (json) {
		json_object_set_new(doc, "warnings", warnings);
		mesh_print_json(doc);
	} else {
		size_t i;
		json_t *w;
		json_array_foreach(warnings, i, w)
			fprintf(stderr, "mesh: warning: %s\n", json_string_value(w));
		if (valid) {
			char claim[1024];
			mt_proof_claim(r, claim, sizeof claim);
			printf("valid: %s\n", claim);
			printf("claimed by %s (the prover, who signed the header)\n", r->h.prover);
			printf("scope %s, max_depth %d, level %s, %d hop(s), score %.17g\n", r->h.scope,
			       r->h.max_depth, mt_level_name(r->level), r->hops, r->score);
			for (size_t k = 0; k < r->n_path; k++)
				printf("  %s -> %s  %s %.3f (seq %llu)\n", r->path[k].from, r->path[k].to,
				       mt_level_name(r->path[k].level), r->path[k].score / 1000.0,
				       (unsigned long long)r->path[k].seq);
			printf("feed heads:\n");
			for (size_t k = 0; k < r->n_feeds; k++)
				printf("  %s seq %llu ts %lld id %s\n", r->feeds[k].iss,
				       (unsigned long long)r->feeds[k].head_seq,
				       (long long)r->feeds[k].head_ts, r->feeds[k].head_id);
		} else {
			printf("invalid: ");
			mesh_term_write(stdout, r->reason, MESH_TERM_LINE);
			putchar('\n');
		}
		json_decref(warnings);
		json_decref(doc);
	}
	mt_proof_result_free(r);
	return valid ? EXIT_OK : EXIT_FAIL;
}

int cmd_proof(mesh_ctx *ctx, int argc, char **argv)
{
	static const mesh_cmd cmds[] = {
		{"verify", proof_verify, "check a portable trust proof (no home needed)"},
		{NULL, NULL, NULL}};
	return mesh_dispatch(ctx, "proof", cmds, argc, argv);
}
