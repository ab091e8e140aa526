/* mesh pot open|commit|reveal|claim|status (SPEC §6, §7). Every move is checked
 * against the derivation before it is issued: a move that would be refused is
 * not issued, and the rule is named (exit 1). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
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

static int pot_open(mesh_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {{"scope", required_argument, 0, 's'},
					     {"candidate", required_argument, 0, 'c'},
					     {"with", required_argument, 0, 'w'},
					     {"deadline", required_argument, 0, 'd'},
					     {"json", no_argument, 0, 'j'},
					     {"help", no_argument, 0, 'h'},
					     {0, 0, 0, 0}};
	const char *scope = NULL, *cand_arg = NULL, *with_arg = NULL;
	int64_t deadline = 0;
	int c, json = 0, rc;
	mt_error err = {0};
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': scope = optarg; break;
		case 'c': cand_arg = optarg; break;
		case 'w': with_arg = optarg; break;
		case 'd':
			if (mesh_parse_duration(&deadline, optarg, "--deadline", &err))
				return mesh_usage(OPEN_USAGE, "%s", err.msg);
			break;
		case 'j': json = 1; break;
		case 'h':
			printf("usage: %s\n\nOpen a proof-of-trust round: stake yourself to admit "
			       "--candidate (not a\nmember) together with the member --with, who "
			       "consents by committing.\n  --scope S     the community (label or "
			       "genesis id)\n  --deadline D  default 3d, capped at the community's "
			       "deadline_max\nPrints the round id (the pot-open statement id).\n",
			       OPEN_USAGE);
			return EXIT_OK;
		default: return mesh_usage(OPEN_USAGE, "bad option");
		}
	}
	if (optind != argc)
		return mesh_usage(OPEN_USAGE, "unexpected argument %s", argv[optind]);
	if (!scope || !cand_arg || !with_arg)
		return mesh_usage(OPEN_USAGE, "--scope, --candidate and --with are required");
	char cand[MT_NODE_ID_MAX], with[MT_NODE_ID_MAX];
	if (mesh_resolve_id(cand, cand_arg, "--candidate") || mesh_resolve_id(with, with_arg, "--with"))
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

static int pot_commit(mesh_ctx *ctx, int argc, char **argv)
{
	static const char *usage = "mesh pot commit ROUND cooperate|defect";
	if (mesh_wants_help(argc, argv)) {
		printf("usage: %s\n\nCommit to a choice (a hash of it with a secret nonce). The "
		       "nonce and choice are\nkept in $MESH_HOME/pot/<round>.nonce (0600) until "
		       "`mesh pot reveal`. A commit binds\nyou; the cosponsor's commit is its "
		       "consent (and its stake).\n",
		       usage);
		return EXIT_OK;
	}
	if (argc != 3)
		return mesh_usage(usage, "expected ROUND and a choice");
	const char *choice = argv[2];
	if (strcmp(choice, "cooperate") && strcmp(choice, "defect"))
		return mesh_usage(usage, "choice: \"%s\" is neither cooperate nor defect", choice);
	mt_pot_state *st = NULL;
	int rc;
	if ((rc = mesh_load_key(ctx)) || (rc = mesh_pot_state(ctx, &st)))
		return rc;
	const mt_pot_round *r = NULL;
	if ((rc = round_arg(st, argv[1], &r))) {
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

static int pot_reveal(mesh_ctx *ctx, int argc, char **argv)
{
	static const char *usage = "mesh pot reveal ROUND";
	if (mesh_wants_help(argc, argv)) {
		printf("usage: %s\n\nReveal the choice and nonce committed in ROUND (once both "
		       "commits are held,\nbefore the deadline). Without a valid reveal you "
		       "forfeit: penalised for twice the period.\n",
		       usage);
		return EXIT_OK;
	}
	if (argc != 2)
		return mesh_usage(usage, "expected ROUND");
	mt_pot_state *st = NULL;
	int rc;
	if ((rc = mesh_load_key(ctx)) || (rc = mesh_pot_state(ctx, &st)))
		return rc;
	const mt_pot_round *r = NULL;
	if ((rc = round_arg(st, argv[1], &r))) {
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

static int pot_claim(mesh_ctx *ctx, int argc, char **argv)
{
	static const char *usage = "mesh pot claim ROUND --candidate ID";
	static const struct option opts[] = {{"candidate", required_argument, 0, 'c'},
					     {"help", no_argument, 0, 'h'},
					     {0, 0, 0, 0}};
	const char *cand_arg = NULL;
	int c, rc;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'c')
			cand_arg = optarg;
		else if (c == 'h') {
			printf("usage: %s\n\nSpend one of the claims you earned by defecting "
			       "against a cooperator in\nROUND: admit one non-member. Claims "
			       "expire one period after the round resolved.\n",
			       usage);
			return EXIT_OK;
		} else
			return mesh_usage(usage, "bad option");
	}
	if (optind + 1 != argc || !cand_arg)
		return mesh_usage(usage, "expected ROUND and --candidate");
	char cand[MT_NODE_ID_MAX];
	if (mesh_resolve_id(cand, cand_arg, "--candidate"))
		return EXIT_USAGE;
	mt_pot_state *st = NULL;
	if ((rc = mesh_pot_state(ctx, &st)))
		return rc;
	const mt_pot_round *r = NULL;
	if ((rc = round_arg(st, argv[optind], &r))) {
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

static int pot_status(mesh_ctx *ctx, int argc, char **argv)
{
	static const char *usage = "mesh pot status [ROUND] [--json]";
	static const struct option opts[] = {
		{"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	int c, json = 0, rc;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else if (c == 'h') {
			printf("usage: %s\n\nWith ROUND: its stage, who committed and revealed, the "
			       "deadline, the outcome,\nand the penalties and credits in force in its "
			       "community. Without: every round.\nDerived from the statements held "
			       "at the current time ($MESH_NOW in tests).\n",
			       usage);
			return EXIT_OK;
		} else
			return mesh_usage(usage, "bad option");
	}
	if (optind + 1 < argc)
		return mesh_usage(usage, "unexpected argument");
	mt_pot_state *st = NULL;
	if ((rc = mesh_pot_state(ctx, &st)))
		return rc;
	if (optind < argc) {
		const mt_pot_round *r = NULL;
		if (!(rc = round_arg(st, argv[optind], &r))) {
			if (json)
				mesh_print_json(mt_pot_round_json(st, r));
			else
				print_round(st, r);
		}
		mt_pot_state_free(st);
		return rc;
	}
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < st->n_rounds; i++)
			json_array_append_new(arr, mt_pot_round_json(st, &st->rounds[i]));
		char at[32];
		mt_pot_iso(at, st->at);
		mesh_print_json(json_pack("{s:s,s:o}", "at", at, "rounds", arr));
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
