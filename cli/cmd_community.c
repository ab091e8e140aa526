/* mesh community create|list|members|join (SPEC §6, §7). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "meshtrust/views.h"
#include "meshtrust/encoding.h"
#include "opts.h"
#include "meshtrust/pot.h"

int mesh_pot_state(mesh_ctx *ctx, mt_pot_state **out)
{
	int rc = mesh_open_store(ctx);
	if (rc)
		return rc;
	mt_error err = {0};
	if (mt_pot_derive_store(out, ctx->store, ctx->now, &err) != 0)
		return mesh_fail_err(&err);
	return EXIT_OK;
}

static int is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

/* The locally bound genesis of a label, if any and known; NULL otherwise. */
static const mt_pot_community *bound(mesh_ctx *ctx, const mt_pot_state *st, const char *scope)
{
	char key[160], *val = NULL;
	snprintf(key, sizeof key, "community.%s", scope);
	if (mt_store_config_get(ctx->store, key, &val, NULL) != 0 || !val)
		return NULL;
	const mt_pot_community *c = mt_pot_community_get(st, val);
	free(val);
	return c && strcmp(c->scope, scope) == 0 ? c : NULL;
}

int mesh_pot_community(mesh_ctx *ctx, const mt_pot_state *st, const char *arg,
		       const mt_pot_community **out)
{
	if (is_hex64(arg)) {
		*out = mt_pot_community_get(st, arg);
		if (!*out)
			return mesh_fail("no community with genesis %s is held", arg);
		return EXIT_OK;
	}
	mt_error err = {0};
	if (mt_scope_check(arg, "<scope>", &err) != 0)
		return mesh_usage(NULL, "%s", err.msg);
	*out = bound(ctx, st, arg);
	if (!*out)
		*out = mt_pot_community_by_scope(st, arg);
	if (!*out)
		return mesh_fail("no community is founded for %s (see `mesh community create`)", arg);
	if ((*out)->conflicts)
		fprintf(stderr,
			"mesh: warning: %zu other genesis statement(s) claim %s; using %.16s… (see "
			"`mesh community list`, rebind with `mesh community join`)\n",
			(*out)->conflicts, arg, (*out)->genesis);
	return EXIT_OK;
}

#define CREATE_USAGE                                                                               \
	"mesh community create <scope> --founders ID,ID[,…] [--period 30d] [--credits 2] "         \
	"[--deadline-max 7d] [--json]"

static const mesh_opt CREATE_OPTS[] = {
	{"founders", MESH_ARG, "ID,ID[,…]", "the founders besides you, comma separated (required)",
	 'f'},
	{"period", MESH_ARG, "D", "stake and penalty period (default 30d)", 'p'},
	{"credits", MESH_ARG, "N", "claims a defector earns (default 2)", 'c'},
	{"deadline-max", MESH_ARG, "D", "longest round deadline (default 7d)", 'd'},
	MESH_OPT_JSON_H("print {genesis, scope, statement} as JSON"),
	MESH_OPT_END};
static const mesh_spec CREATE_SPEC = {
	CREATE_USAGE,
	"Found a community: issue a signed `genesis` statement. Its id names the\ncommunity; the "
	"scope is only a label (another genesis may claim it too,\nwhich is reported, never "
	"merged). You are always a founder.",
	CREATE_OPTS, 1, 1, "exactly one <scope>", NULL};

static int community_create(mesh_ctx *ctx, int argc, char **argv)
{
	const char *founders = NULL;
	int64_t period = MT_POT_DEFAULT_PERIOD, dlmax = MT_POT_DEFAULT_DEADLINE_MAX,
		credits = MT_POT_DEFAULT_CREDITS;
	int json = 0, rc;
	mt_error err = {0};
	mesh_args a;
	if ((rc = mesh_parse_args(&CREATE_SPEC, argc, argv, &a)) != MESH_ARGS_RUN)
		return rc;
	for (int i = 0; i < a.n_opt; i++) {
		const char *v = a.opt[i].val;
		switch (a.opt[i].id) {
		case 'f': founders = v; break;
		case 'p':
			if (mesh_parse_duration(&period, v, "--period", &err))
				return mesh_usage(CREATE_USAGE, "%s", err.msg);
			break;
		case 'd':
			if (mesh_parse_duration(&dlmax, v, "--deadline-max", &err))
				return mesh_usage(CREATE_USAGE, "%s", err.msg);
			break;
		case 'c':
			if (mesh_parse_int(&credits, v, "--credits", 1, 1000000, &err))
				return mesh_usage(CREATE_USAGE, "%s", err.msg);
			break;
		case 'j': json = 1; break;
		}
	}
	const char *scope = a.pos[0];
	if (mt_scope_check(scope, "<scope>", &err) != 0)
		return mesh_usage(CREATE_USAGE, "%s", err.msg);
	if (!founders)
		return mesh_usage(CREATE_USAGE, "--founders is required");
	if ((rc = mesh_load_key(ctx)) || (rc = mesh_open_store(ctx)))
		return rc;
	json_t *list = json_array();
	int self = 0;
	char *copy = strdup(founders), *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char id[MT_NODE_ID_MAX];
		if (mesh_resolve_id_at(ctx, id, tok, "--founders")) {
			free(copy);
			json_decref(list);
			return EXIT_USAGE;
		}
		size_t i;
		json_t *x;
		int dup = 0;
		json_array_foreach(list, i, x) dup |= strcmp(json_string_value(x), id) == 0;
		if (dup) {
			free(copy);
			json_decref(list);
			return mesh_usage(CREATE_USAGE, "--founders: %s is listed twice", id);
		}
		self |= strcmp(id, ctx->node_id) == 0;
		json_array_append_new(list, json_string(id));
	}
	free(copy);
	if (!self)
		json_array_append_new(list, json_string(ctx->node_id));
	mt_pot_state *st = NULL;
	if ((rc = mesh_pot_state(ctx, &st))) {
		json_decref(list);
		return rc;
	}
	const mt_pot_community *prior = mt_pot_community_by_scope(st, scope);
	if (prior)
		fprintf(stderr,
			"mesh: warning: %s is already claimed by genesis %s; the new genesis will be "
			"reported as conflicting and the label stays bound to the first one unless "
			"members run `mesh community join`\n",
			scope, prior->genesis);
	mt_pot_state_free(st);
	json_t *body = json_pack("{s:s,s:s,s:o,s:{s:I,s:I,s:I}}", "type", "genesis", "scope", scope,
				 "founders", list, "params", "period", (json_int_t)period,
				 "deadline_max", (json_int_t)dlmax, "credits", (json_int_t)credits);
	mt_stmt *out = NULL;
	int r = mt_store_issue(ctx->store, &out, body, &ctx->key, ctx->now, &err);
	json_decref(body);
	if (r)
		return mesh_fail_err(&err);
	char hex[65];
	mt_stmt_id_hex(hex, out);
	if (!prior) {
		char key[160];
		snprintf(key, sizeof key, "community.%s", scope);
		mt_store_config_set(ctx->store, key, hex, NULL);
	}
	if (json)
		mesh_print_json(json_pack("{s:s,s:s,s:o}", "genesis", hex, "scope", scope,
					  "statement", mesh_stmt_json(out)));
	else {
		size_t nf = 0;
		mt_stmt_list(out, "founders", &nf);
		printf("founded community %s: genesis %s (%zu founders%s)\n", scope, hex, nf,
		       self ? "" : ", you included");
	}
	mt_stmt_free(out);
	return EXIT_OK;
}

static const mesh_opt LIST_OPTS[] = {MESH_OPT_JSON_H("print {communities:[…]} as JSON"),
				      MESH_OPT_END};
static const mesh_spec LIST_SPEC = {
	"mesh community list [--json]",
	"Every community (genesis) held, with its label, size and conflicts.\nBOUND marks the "
	"genesis this node uses for the label.",
	LIST_OPTS, 0, 0, NULL, NULL};

static int community_list(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&LIST_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	int json = mesh_args_count(&a, 'j') > 0;
	mt_pot_state *st = NULL;
	if ((rc = mesh_pot_state(ctx, &st)))
		return rc;
	if (json) {
		json_t *doc = mt_view_communities(st, ctx->store);
		mt_pot_state_free(st);
		return doc ? mesh_print_json(doc) : mesh_fail("out of memory");
	}
	json_t *arr = json_array();
	if (!json && st->n_communities)
		printf("%-24s %-16s %7s %7s %6s %5s %9s\n", "SCOPE", "GENESIS", "FOUNDERS", "MEMBERS",
		       "CREDITS", "BOUND", "CONFLICTS");
	for (size_t i = 0; i < st->n_communities; i++) {
		const mt_pot_community *cm = &st->communities[i];
		const mt_pot_community *b = bound(ctx, st, cm->scope);
		int is_bound = b ? b == cm : cm->label_owner;
		size_t nf = 0;
		for (size_t j = 0; j < cm->n_members; j++)
			nf += (size_t)cm->members[j].founder;
		if (json)
			json_array_append_new(
				arr, json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:b,s:I}", "scope",
					       cm->scope, "genesis", cm->genesis, "issuer", cm->iss,
					       "founders", (json_int_t)nf, "members",
					       (json_int_t)cm->n_members, "period",
					       (json_int_t)cm->params.period, "deadline_max",
					       (json_int_t)cm->params.deadline_max, "credits",
					       (json_int_t)cm->params.credits, "bound", is_bound,
					       "conflicts", (json_int_t)cm->conflicts));
		else
			printf("%-24s %.16s %7zu %7zu %6lld %5s %9zu\n", cm->scope, cm->genesis, nf,
			       cm->n_members, (long long)cm->params.credits, is_bound ? "yes" : "",
			       cm->conflicts);
	}
	if (json)
		mesh_print_json(json_pack("{s:o}", "communities", arr));
	else {
		json_decref(arr);
		if (!st->n_communities)
			printf("no communities held\n");
	}
	mt_pot_state_free(st);
	return EXIT_OK;
}

static const mesh_opt MEMBERS_OPTS[] = {MESH_OPT_JSON_H("print the roster as JSON"),
					 MESH_OPT_END};
static const mesh_spec MEMBERS_SPEC = {
	"mesh community members <scope|genesis id> [--json]",
	"The roster: founders plus everyone admitted, sorted by Node ID, as derived\nfrom the "
	"statements held (the same on every node holding them).",
	MEMBERS_OPTS, 1, 1, "exactly one <scope> or genesis id", NULL};

static int community_members(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&MEMBERS_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	int json = mesh_args_count(&a, 'j') > 0;
	mt_pot_state *st = NULL;
	if ((rc = mesh_pot_state(ctx, &st)))
		return rc;
	const mt_pot_community *cm = NULL;
	if ((rc = mesh_pot_community(ctx, st, a.pos[0], &cm))) {
		mt_pot_state_free(st);
		return rc;
	}
	if (json)
		mesh_print_json(mt_pot_members_json(st, cm));
	else {
		printf("community %s (genesis %.16s…): %zu members\n", cm->scope, cm->genesis,
		       cm->n_members);
		for (size_t i = 0; i < cm->n_members; i++) {
			const mt_pot_member *m = &cm->members[i];
			char since[32];
			mt_pot_iso(since, m->since);
			printf("  %s  %s %s%s%s\n", m->id, m->founder ? "founder " : "admitted", since,
			       m->founder ? "" : " round ", m->founder ? "" : m->admitted_by);
		}
	}
	mt_pot_state_free(st);
	return EXIT_OK;
}

static const mesh_spec JOIN_SPEC = {
	"mesh community join <genesis id>",
	"Bind the genesis' scope label, on this node, to that genesis (when several\ngeneses claim "
	"one label). Local only; issues nothing.",
	NULL, 1, 1, "exactly one genesis id", NULL};

static int community_join(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&JOIN_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	unsigned char raw[32];
	char gid[65];
	if ((rc = mesh_resolve_stmt_id(ctx, raw, a.pos[0], MT_ST_GENESIS, "<genesis id>")))
		return rc;
	mt_hex_encode(gid, sizeof gid, raw, 32);
	mt_pot_state *st = NULL;
	rc = mesh_pot_state(ctx, &st);
	if (rc)
		return rc;
	const mt_pot_community *cm = mt_pot_community_get(st, gid);
	if (!cm) {
		mt_pot_state_free(st);
		return mesh_fail("no genesis %s is held (import it first)", gid);
	}
	char key[160];
	mt_error err = {0};
	snprintf(key, sizeof key, "community.%s", cm->scope);
	rc = mt_store_config_set(ctx->store, key, cm->genesis, &err) ? mesh_fail_err(&err)
								      : EXIT_OK;
	if (!rc)
		printf("%s is now bound to genesis %s on this node\n", cm->scope, cm->genesis);
	mt_pot_state_free(st);
	return rc;
}

int cmd_community(mesh_ctx *ctx, int argc, char **argv)
{
	static const mesh_cmd cmds[] = {
		{"create", community_create, "found a community (issue a genesis)"},
		{"list", community_list, "communities held, with conflicts"},
		{"members", community_members, "a community's roster"},
		{"join", community_join, "bind a scope label to one genesis"},
		{0, 0, 0}};
	return mesh_dispatch(ctx, "community", cmds, argc, argv);
}
