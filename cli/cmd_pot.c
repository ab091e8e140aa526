/* mesh pot open|commit|reveal|claim|status (SPEC §6, §7). Every move is checked
 * against the derivation before it is issued: a move that would be refused is
 * not issued, and the rule is named (exit 1). */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "meshtrust/views.h"
#include "opts.h"
#include "meshtrust/pot.h"


/* Check the move with the derivation, then issue it. */
static int check_and_issue(mesh_ctx *ctx, json_t *body, mt_stmt **out)
{
	int rc = mesh_load_key(ctx);
	if (!rc)
		rc = mesh_open_store(ctx);
	if (rc) {
		json_decref(body);
		return rc;
	}
	mt_error err = {0};
	int r = mt_pot_check_move(ctx->store, body, &ctx->key, ctx->now, NULL, &err);
	if (r == MT_EPERM) {
		json_decref(body);
		return mesh_fail("refused, nothing issued: %s", err.msg);
	}
	if (!r)
		return mesh_issue(ctx, body, out);
	json_decref(body);
	return mesh_fail_err(&err);
}

/* Resolve ROUND (full id or a unique prefix of >= 8 hex chars). */
static int round_arg(const mt_pot_state *st, const char *arg, const mt_pot_round **out)
{
	size_t len = strlen(arg), hits = 0;
	if (len < 8 || len > 64 || strspn(arg, "0123456789abcdef") != len)
		return mesh_usage(NULL, "ROUND: \"%s\" is not a round id (the pot-open id, 64 hex "
					"characters, or a unique prefix of 8 or more)",
				  arg);
	*out = NULL;
	for (size_t i = 0; i < st->n_rounds; i++)
		if (strncmp(st->rounds[i].id, arg, len) == 0) {
			*out = &st->rounds[i];
			hits++;
		}
	if (hits > 1)
		return mesh_usage(NULL, "ROUND: prefix %s is ambiguous (%zu rounds)", arg, hits);
	if (!*out)
		return mesh_fail("unknown round %s (no such pot-open held, or it was refused)", arg);
	return EXIT_OK;
}

#define OPEN_USAGE "mesh pot open --scope S --candidate ID --with ID [--deadline 3d] [--json]"

static const mesh_opt OPEN_OPTS[] = {
	MESH_OPT_SCOPE_H("the community (label or genesis id; required)"),
	{"candidate", MESH_ARG, "ID", "the identity to admit, not a member (required)", 'c'},
	{"with", MESH_ARG, "ID", "the member who cosponsors the round (required)", 'w'},
	{"deadline", MESH_ARG, "D", "default 3d, capped at the community's deadline_max", 'd'},
	MESH_OPT_JSON_H("print {round, genesis, candidate, cosponsor, deadline} as JSON"),
	MESH_OPT_END};
static const mesh_spec OPEN_SPEC = {
	OPEN_USAGE,
	"Open a proof-of-trust round: stake yourself to admit --candidate (not a\nmember) together "
	"with the member --with, who consents by committing.\nPrints the round id (the pot-open "
	"statement id).",
	OPEN_OPTS, 0, 0, NULL, NULL};

static int pot_open(mesh_ctx *ctx, int argc, char **argv)
{
	const char *scope = NULL, *cand_arg = NULL, *with_arg = NULL;
	int64_t deadline = 0;
	int json = 0, rc;
	mt_error err = {0};
	mesh_args a;
	if ((rc = mesh_parse_args(&OPEN_SPEC, argc, argv, &a)) != MESH_ARGS_RUN)
		return rc;
	for (int i = 0; i < a.n_opt; i++) {
		const char *v = a.opt[i].val;
		switch (a.opt[i].id) {
		case 'S': scope = v; break;
		case 'c': cand_arg = v; break;
		case 'w': with_arg = v; break;
		case 'd':
			if (mesh_parse_duration(&deadline, v, "--deadline", &err))
				return mesh_usage(OPEN_USAGE, "%s", err.msg);
			break;
		case 'j': json = 1; break;
		}
	}
	if (!scope || !cand_arg || !with_arg)
		return mesh_usage(OPEN_USAGE, "--scope, --candidate and --with are required");
	char cand[MT_NODE_ID_MAX], with[MT_NODE_ID_MAX];
	if (mesh_resolve_id_at(ctx, cand, cand_arg, "--candidate") ||
	    mesh_resolve_id_at(ctx, with, with_arg, "--with"))
		return EXIT_USAGE;
	mt_pot_state *st = NULL;
	if ((rc = mesh_pot_state(ctx, &st)))
		return rc;
	const mt_pot_community *cm = NULL;
	if ((rc = mesh_pot_community(ctx, st, scope, &cm))) {
		mt_pot_state_free(st);
		return rc;
	}
	if (!deadline)
		deadline = 3 * 86400 < cm->params.deadline_max ? 3 * 86400 : cm->params.deadline_max;
	json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:I}", "type", "pot-open", "genesis",
				 cm->genesis, "candidate", cand, "cosponsor", with, "deadline",
				 (json_int_t)(ctx->now + deadline));
	mt_pot_state_free(st);
	mt_stmt *out = NULL;
	if ((rc = check_and_issue(ctx, body, &out)))
		return rc;
	char hex[65], iso[32];
	mt_stmt_id_hex(hex, out);
	mt_pot_iso(iso, ctx->now + deadline);
	if (json)
		mesh_print_json(json_pack("{s:s,s:s,s:s,s:s,s:s}", "round", hex, "genesis",
					  mt_stmt_str(out, "genesis"), "candidate", cand,
					  "cosponsor", with, "deadline", iso));
	else
		printf("round %s opened: candidate %s, cosponsor %s, deadline %s\n"
		       "next: both sponsors run `mesh pot commit %s cooperate|defect`\n",
		       hex, cand, with, iso, hex);
	mt_stmt_free(out);
	return EXIT_OK;
}

static void nonce_path(char *out, size_t n, const mesh_ctx *ctx, const char *round)
{
	snprintf(out, n, "%s/pot/%s.nonce", ctx->home, round);
}

static const mesh_spec COMMIT_SPEC = {
	"mesh pot commit ROUND cooperate|defect",
	"Commit to a choice (a hash of it with a secret nonce). The nonce and choice are\nkept in "
	"$MESH_HOME/pot/<round>.nonce (0600) until `mesh pot reveal`. A commit binds\nyou; the "
	"cosponsor's commit is its consent (and its stake).",
	NULL, 2, 2, "ROUND and a choice", NULL};

static int pot_commit(mesh_ctx *ctx, int argc, char **argv)
{
	const char *usage = COMMIT_SPEC.usage;
	mesh_args a;
	int rc = mesh_parse_args(&COMMIT_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	const char *choice = a.pos[1];
	if (strcmp(choice, "cooperate") && strcmp(choice, "defect"))
		return mesh_usage(usage, "choice: \"%s\" is neither cooperate nor defect", choice);
	mt_pot_state *st = NULL;
	if ((rc = mesh_load_key(ctx)) || (rc = mesh_pot_state(ctx, &st)))
		return rc;
	const mt_pot_round *r = NULL;
	if ((rc = round_arg(st, a.pos[0], &r))) {
		mt_pot_state_free(st);
		return rc;
	}
	char round[65], path[4400], dir[4300];
	memcpy(round, r->id, 65);
	mt_pot_state_free(st);
	snprintf(dir, sizeof dir, "%s/pot", ctx->home);
	nonce_path(path, sizeof path, ctx, round);
	if (access(path, F_OK) == 0)
		return mesh_fail("you already committed in round %.16s (a commit binds; %s holds it "
				 "until reveal)",
				 round, path);
	unsigned char raw[32];
	char nonce[65], commit[65];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(nonce, sizeof nonce, raw, sizeof raw);
	sodium_memzero(raw, sizeof raw);
	mt_pot_commitment(commit, round, ctx->node_id, choice, nonce);
	json_t *body =
		json_pack("{s:s,s:s,s:s}", "type", "pot-commit", "round", round, "commit", commit);
	mt_error err = {0};
	int r2 = mt_pot_check_move(ctx->store, body, &ctx->key, ctx->now, NULL, &err);
	if (r2) {
		json_decref(body);
		sodium_memzero(nonce, sizeof nonce);
		return r2 == MT_EPERM ? mesh_fail("refused, nothing issued: %s", err.msg)
				      : mesh_fail_err(&err);
	}
	/* Keep the secret before the commit exists, so a crash cannot lose it. */
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		json_decref(body);
		return mesh_fail("cannot create %s: %s", dir, strerror(errno));
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		json_decref(body);
		return mesh_fail("cannot create %s: %s", path, strerror(errno));
	}
	char line[100];
	int len = snprintf(line, sizeof line, "%s %s\n", choice, nonce);
	int ok = write(fd, line, (size_t)len) == len && fsync(fd) == 0;
	close(fd);
	sodium_memzero(line, sizeof line);
	sodium_memzero(nonce, sizeof nonce);
	if (!ok) {
		unlink(path);
		json_decref(body);
		return mesh_fail("cannot write %s", path);
	}
	mt_stmt *out = NULL;
	if (mt_store_issue(ctx->store, &out, body, &ctx->key, ctx->now, &err) != 0) {
		unlink(path);
		json_decref(body);
		return mesh_fail_err(&err);
	}
	json_decref(body);
	char hex[65];
	mt_stmt_id_hex(hex, out);
	printf("committed in round %.16s… (statement %.16s…); the nonce is kept in %s until "
	       "`mesh pot reveal %.16s`\n",
	       round, hex, path, round);
	mt_stmt_free(out);
	return EXIT_OK;
}

static const mesh_spec REVEAL_SPEC = {
	"mesh pot reveal ROUND",
	"Reveal the choice and nonce committed in ROUND (once both commits are held,\nbefore the "
	"deadline). Without a valid reveal you forfeit: penalised for twice the period.",
	NULL, 1, 1, "ROUND", NULL};

static int pot_reveal(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&REVEAL_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	mt_pot_state *st = NULL;
	if ((rc = mesh_load_key(ctx)) || (rc = mesh_pot_state(ctx, &st)))
		return rc;
	const mt_pot_round *r = NULL;
	if ((rc = round_arg(st, a.pos[0], &r))) {
		mt_pot_state_free(st);
		return rc;
	}
	char round[65], path[4400], line[128] = {0}, choice[16], nonce[65];
	memcpy(round, r->id, 65);
	mt_pot_state_free(st);
	nonce_path(path, sizeof path, ctx, round);
	/* A file of the home: never a link, a FIFO or a device (the open neither
	 * follows nor waits; the type is checked on the open file). */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return mesh_fail("no local commit for round %.16s (%s: %s)", round, path,
				 strerror(errno));
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return mesh_fail("%s is not a regular file; refusing to read it", path);
	}
	ssize_t got = read(fd, line, sizeof line - 1);
	close(fd);
	if (got > 0) {
		line[got] = '\0';
		char *nl = strchr(line, '\n');
		if (nl)
			nl[1] = '\0';
	}
	if (got <= 0 || sscanf(line, "%15s %64s", choice, nonce) != 2 || strlen(nonce) != 64) {
		sodium_memzero(line, sizeof line);
		return mesh_fail("%s is damaged", path);
	}
	sodium_memzero(line, sizeof line);
	json_t *body = json_pack("{s:s,s:s,s:s,s:s}", "type", "pot-reveal", "round", round,
				 "choice", choice, "nonce", nonce);
	sodium_memzero(nonce, sizeof nonce);
	mt_stmt *out = NULL;
	if ((rc = check_and_issue(ctx, body, &out)))
		return rc;
	unlink(path);
	printf("revealed %s in round %.16s…\n", choice, round);
	mt_stmt_free(out);
	return EXIT_OK;
}

static const mesh_opt CLAIM_OPTS[] = {
	{"candidate", MESH_ARG, "ID", "the non-member to admit (required)", 'c'}, MESH_OPT_END};
static const mesh_spec CLAIM_SPEC = {
	"mesh pot claim ROUND --candidate ID",
	"Spend one of the claims you earned by defecting against a cooperator in\nROUND: admit one "
	"non-member. Claims expire one period after the round resolved.",
	CLAIM_OPTS, 1, 1, "ROUND and --candidate", NULL};

static int pot_claim(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&CLAIM_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	const char *cand_arg = mesh_args_get(&a, 'c', NULL);
	if (!cand_arg)
		return mesh_usage(CLAIM_SPEC.usage, "expected ROUND and --candidate");
	char cand[MT_NODE_ID_MAX];
	if (mesh_resolve_id_at(ctx, cand, cand_arg, "--candidate"))
		return EXIT_USAGE;
	mt_pot_state *st = NULL;
	if ((rc = mesh_pot_state(ctx, &st)))
		return rc;
	const mt_pot_round *r = NULL;
	if ((rc = round_arg(st, a.pos[0], &r))) {
		mt_pot_state_free(st);
		return rc;
	}
	json_t *body = json_pack("{s:s,s:s,s:s}", "type", "pot-claim", "round", r->id, "candidate",
				 cand);
	mt_pot_state_free(st);
	mt_stmt *out = NULL;
	if ((rc = check_and_issue(ctx, body, &out)))
		return rc;
	printf("claimed: %s is admitted (round %.16s…)\n", cand, mt_stmt_str(out, "round"));
	mt_stmt_free(out);
	return EXIT_OK;
}

static void print_round(const mt_pot_state *st, const mt_pot_round *r)
{
	const mt_pot_community *c = mt_pot_community_get(st, r->genesis);
	char dl[32], res[32];
	mt_pot_iso(dl, r->deadline);
	printf("round      %s\ncommunity  %s (genesis %.16s…)\nstage      %s\noutcome    %s\n"
	       "opener     %s  committed:%s revealed:%s\ncosponsor  %s  committed:%s revealed:%s\n"
	       "candidate  %s%s\ndeadline   %s\n",
	       r->id, c ? c->scope : "?", r->genesis, mt_pot_stage_name(r->stage),
	       mt_pot_outcome_name(r->outcome), r->party[0], r->committed[0] ? "yes" : "no",
	       r->revealed[0] ? (r->defected[0] ? "defect" : "cooperate") : "no", r->party[1],
	       r->committed[1] ? "yes" : "no",
	       r->revealed[1] ? (r->defected[1] ? "defect" : "cooperate") : "no", r->candidate,
	       r->admitted ? " (admitted)" : "", dl);
	if (r->stage == MT_POT_STAGE_RESOLVED) {
		mt_pot_iso(res, r->resolved_at);
		printf("resolved   %s\n", res);
	}
	int any = 0;
	for (size_t i = 0; i < st->n_penalties; i++) {
		const mt_pot_penalty *p = &st->penalties[i];
		if (strcmp(p->genesis, r->genesis) || p->from > st->at || st->at >= p->until)
			continue;
		char until[32];
		mt_pot_iso(until, p->until);
		printf("%s%s until %s: ", any++ ? "           " : "penalties  ", p->member, until);
		mesh_term_write(stdout, p->reason, MESH_TERM_LINE);
		putchar('\n');
	}
	any = 0;
	for (size_t i = 0; i < st->n_credits; i++) {
		const mt_pot_credit *k = &st->credits[i];
		if (strcmp(k->genesis, r->genesis) || st->at >= k->expires || k->used >= k->total)
			continue;
		char exp[32];
		mt_pot_iso(exp, k->expires);
		printf("%s%s: %lld left from round %.16s…, expire %s\n",
		       any++ ? "           " : "credits    ", k->member,
		       (long long)(k->total - k->used), k->round, exp);
	}
}

static const mesh_opt STATUS_OPTS[] = {MESH_OPT_JSON_H("print the round(s) as JSON"),
					MESH_OPT_END};
static const mesh_spec STATUS_SPEC = {
	"mesh pot status [ROUND] [--json]",
	"With ROUND: its stage, who committed and revealed, the deadline, the outcome,\nand the "
	"penalties and credits in force in its community. Without: every round.\nDerived from the "
	"statements held at the current time ($MESH_NOW in tests).",
	STATUS_OPTS, 0, 1, NULL, NULL};

static int pot_status(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&STATUS_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	int json = mesh_args_count(&a, 'j') > 0;
	mt_pot_state *st = NULL;
	if ((rc = mesh_pot_state(ctx, &st)))
		return rc;
	if (a.n_pos) {
		const mt_pot_round *r = NULL;
		if (!(rc = round_arg(st, a.pos[0], &r))) {
			if (json)
				mesh_print_json(mt_pot_round_json(st, r));
			else
				print_round(st, r);
		}
		mt_pot_state_free(st);
		return rc;
	}
	if (json) {
		mesh_print_json(mt_view_rounds(st));
	} else if (!st->n_rounds) {
		printf("no rounds held\n");
	} else {
		printf("%-16s %-9s %-19s %-16s %-16s %-16s %s\n", "ROUND", "STAGE", "OUTCOME",
		       "OPENER", "COSPONSOR", "CANDIDATE", "DEADLINE");
		for (size_t i = 0; i < st->n_rounds; i++) {
			const mt_pot_round *r = &st->rounds[i];
			char dl[32];
			mt_pot_iso(dl, r->deadline);
			printf("%.16s %-9s %-19s %.16s %.16s %.16s %s\n", r->id,
			       mt_pot_stage_name(r->stage), mt_pot_outcome_name(r->outcome),
			       r->party[0], r->party[1], r->candidate, dl);
		}
	}
	mt_pot_state_free(st);
	return EXIT_OK;
}

int cmd_pot(mesh_ctx *ctx, int argc, char **argv)
{
	static const mesh_cmd cmds[] = {
		{"open", pot_open, "open a round for a candidate with a cosponsor"},
		{"commit", pot_commit, "commit to cooperate or defect"},
		{"reveal", pot_reveal, "reveal your committed choice"},
		{"claim", pot_claim, "spend an earned claim on a non-member"},
		{"status", pot_status, "rounds, outcomes, penalties, credits"},
		{0, 0, 0}};
	return mesh_dispatch(ctx, "pot", cmds, argc, argv);
}
