/* The `mesh` command: global options, then a command family. */
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>
#include <sodium.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>

#include "cli.h"
#include "opts.h"
#include "keyutil.h"
#include "cmd_gov.h"

#ifndef MT_VERSION
#define MT_VERSION "0.0.0"
#endif

static const mesh_spec VERSION_SPEC = {"mesh version", "Print the version.", NULL, 0, 0, NULL,
				       NULL};

/* Also `mesh --version` (argv NULL: nothing to parse). */
static int cmd_version(mesh_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	mesh_args a;
	int rc = argv ? mesh_parse_args(&VERSION_SPEC, argc, argv, &a) : MESH_ARGS_RUN;
	if (rc != MESH_ARGS_RUN)
		return rc;
	printf("mesh %s\n", MT_VERSION);
	return EXIT_OK;
}

static const mesh_cmd COMMANDS[] = {
	{"init", cmd_init, "create this node's identity (or restore it from a seed)"},
	{"id", cmd_id, "show this node's Node ID and DID"},
	{"key", cmd_key, "key commitment, rotation, recovery, backup, passphrase"},
	{"trust", cmd_trust, "add, block, remove, list and explain trust"},
	{"config", cmd_config, "get and set configuration (trust.maxDepth, trust.decay, …)"},
	{"refer", cmd_refer, "publish a referral"},
	{"referral", cmd_referral, "list the referrals naming you or sent to you"},
	{"name", cmd_name, "local names for identities (@NAME)"},
	{"log", cmd_log, "import, export, verify and inspect the statement log"},
	{"store", cmd_store, "maintain the local store (rebuild)"},
	{"graph", cmd_graph, "import research edge lists, export the graph"},
	{"metrics", cmd_metrics, "centralization metrics of a scope"},
	{"bridge", cmd_bridge, "declare and list bridges between scopes"},
	{"policy", cmd_policy, "show and evaluate the admission policy"},
	{"lesson", cmd_lesson, "publish and read lessons"},
	{"search", cmd_search, "search lessons, ranked by trust"},
	{"community", cmd_community, "found, list and join communities"},
	{"pot", cmd_pot, "proof-of-trust admission rounds"},
	{"propose", cmd_propose, "propose a policy for a community (governance)"},
	{"vote", cmd_vote, "vote yes or no on a proposal"},
	{"proposal", cmd_proposal, "list and show proposals: tally, outcome, policy after"},
	{"sim", cmd_sim, "simulations (proof-of-trust strategies)"},
	{"node", cmd_node, "run the node (HTTP API, dashboard, sync)"},
	{"peer", cmd_peer, "manage peers"},
	{"directory", cmd_directory, "the directories this home discovers through"},
	{"discover", cmd_discover, "find publishers in directories; fetch their feeds"},
	{"proof", cmd_proof, "check a portable trust proof (no home needed)"},
	{"sync", cmd_sync, "sync once with trusted peers"},
	{"doctor", cmd_doctor, "check the home, keys, store, node, peers and clock"},
	{"version", cmd_version, "print the version"},
	{NULL, NULL, NULL},
};

static void usage(FILE *o)
{
	fprintf(o, "usage: mesh [--home DIR] [--store URL] <command> [options]\n\n"
		   "A decentralized web of trust: signed statements, scoped transitive trust.\n\n"
		   "commands:\n");
	for (const mesh_cmd *c = COMMANDS; c->name; c++)
		fprintf(o, "  %-9s %s\n", c->name, c->summary);
	fprintf(o, "\nglobal options:\n"
		   "  --home DIR              node home (default $MESH_HOME or ~/.mesh)\n"
		   "  --store URL             the store: sqlite:PATH, PATH or postgresql://…\n"
		   "                          (default $MESH_STORE, <home>/store.url, trust.db)\n"
		   "  --passphrase-file FILE  passphrase of an encrypted key (also accepted after\n"
		   "                          the command; without it, asked on a terminal)\n"
		   "\nEvery command takes --help (or: mesh help CMD [SUB]). Exit codes: 0 ok, 1 failure, 2 usage error.\n");
}

/* The man page of command `cmd` (the man/ sources: one page per family). */
static const char *man_page_of(const char *cmd)
{
	static const char *const MAP[][2] = {
		{"name", "mesh-name"},      {"refer", "mesh-name"},       {"referral", "mesh-name"},
		{"log", "mesh-log"},        {"store", "mesh-log"},        {"policy", "mesh-policy"},
		{"bridge", "mesh-policy"},  {"lesson", "mesh-lesson"},    {"search", "mesh-lesson"},
		{"community", "mesh-community"}, {"propose", "mesh-community"},
		{"vote", "mesh-community"}, {"proposal", "mesh-community"}, {"node", "mesh-node"},
		{"peer", "mesh-node"},      {"sync", "mesh-node"},        {"doctor", "mesh-node"},
		{"init", "mesh-init"},
		{"id", "mesh-init"},        {"directory", "mesh-directory"},
		{"discover", "mesh-directory"}, {"trust", "mesh-trust"}, {"key", "mesh-key"},
		{"config", "mesh-config"},  {"graph", "mesh-graph"},      {"metrics", "mesh-metrics"},
		{"pot", "mesh-pot"},        {"sim", "mesh-sim"},          {"proof", "mesh-proof"},
		{"version", "mesh"}};
	for (size_t k = 0; k < sizeof MAP / sizeof *MAP; k++)
		if (strcmp(MAP[k][0], cmd) == 0)
			return MAP[k][1];
	return NULL;
}

/* Replace this process with `man PAGE` when man knows the page (`man -w`);
 * return when it does not (or man is missing). */
static void open_man_page(const char *cmd)
{
	const char *page = man_page_of(cmd);
	if (!page)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		execlp("man", "man", "-w", page, (char *)NULL);
		_exit(127);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return;
	fflush(stdout);
	execlp("man", "man", page, (char *)NULL);
}

int main(int argc, char **argv)
{
	mesh_ctx ctx;
	memset(&ctx, 0, sizeof ctx);
	umask(077); /* the home holds keys, private notes and nonces */
	/* Ingest and sync free and reallocate tens of megabytes per batch:
	 * returning that to the kernel each time (glibc trims free memory above
	 * 128 KiB by default) only to fault it back in costs ~3 % of a sync. */
#ifdef __GLIBC__
	(void)mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
#endif
	if (sodium_init() < 0) {
		fprintf(stderr, "mesh: libsodium failed to initialise\n");
		return EXIT_FAIL;
	}
	const char *home = getenv("MESH_HOME");
	ctx.passphrase_file = getenv("MESH_PASSPHRASE_FILE");
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--home") == 0 && i + 1 < argc) {
			home = argv[++i];
		} else if (strncmp(argv[i], "--home=", 7) == 0) {
			home = argv[i] + 7;
		} else if ((strcmp(argv[i], "--store") == 0 && i + 1 < argc) ||
			   strncmp(argv[i], "--store=", 8) == 0) {
			/* the store to open (as $MESH_STORE, which it sets for this
			 * process and the node it may start) */
			const char *url = argv[i][7] == '=' ? argv[i] + 8 : argv[++i];
			if (!mt_store_url_kind(url))
				return mesh_usage(NULL,
						  "--store: \"%.200s\" is not a store URL "
						  "(sqlite:PATH, PATH or postgresql://…)",
						  url);
			if (setenv("MESH_STORE", url, 1) != 0)
				return mesh_fail("--store: %s", strerror(errno));
		} else if (strcmp(argv[i], "--passphrase-file") == 0 && i + 1 < argc) {
			ctx.passphrase_file = argv[++i];
		} else if (strncmp(argv[i], "--passphrase-file=", 18) == 0) {
			ctx.passphrase_file = argv[i] + 18;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return EXIT_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			return cmd_version(&ctx, 0, NULL);
		} else {
			usage(stderr);
			return mesh_usage(NULL, "unknown option %s", argv[i]);
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (home && home[0]) {
		snprintf(ctx.home, sizeof ctx.home, "%s", home);
	} else {
		const char *h = getenv("HOME");
		if (!h || !h[0])
			return mesh_fail("neither MESH_HOME nor HOME is set");
		snprintf(ctx.home, sizeof ctx.home, "%s/.mesh", h);
	}
	snprintf(ctx.db_path, sizeof ctx.db_path, "%s/trust.db", ctx.home);
	const char *now = getenv("MESH_NOW"); /* for reproducible tests */
	ctx.now = now && now[0] ? strtoll(now, NULL, 10) : (int64_t)time(NULL);

	/* --passphrase-file is global: accepted after the command too. */
	int cargc = argc - i;
	int rc = mesh_take_passphrase_opt(&ctx, &cargc, argv + i);
	if (rc != EXIT_OK)
		return rc;
	/* `mesh help [CMD [SUB…]]`: on a terminal the command's man page when it is
	 * installed (as `git help`), else `mesh CMD [SUB…] --help` */
	char *help_argv[16];
	if (strcmp(argv[i], "help") == 0) {
		if (cargc < 2) {
			usage(stdout);
			return EXIT_OK;
		}
		if (isatty(STDOUT_FILENO) && !getenv("MESH_HELP_NO_MAN"))
			open_man_page(argv[i + 1]); /* returns only when there is none */
		int k = 0;
		for (int j = 1; j < cargc && k < 14; j++)
			help_argv[k++] = argv[i + j];
		help_argv[k++] = "--help";
		help_argv[k] = NULL;
		argv = help_argv;
		i = 0;
		cargc = k;
	}
	rc = -1;
	const char *names[64];
	size_t n_names = 0;
	for (const mesh_cmd *c = COMMANDS; c->name; c++) {
		if (strcmp(c->name, argv[i]) == 0) {
			rc = c->fn(&ctx, cargc, argv + i);
			break;
		}
		if (n_names < 64)
			names[n_names++] = c->name;
	}
	if (rc == -1) {
		const char *near = mesh_suggest(argv[i], names, n_names);
		if (near)
			rc = mesh_usage(NULL, "unknown command `%s`: did you mean `%s`? (see `mesh "
					      "--help`)",
					argv[i], near);
		else {
			usage(stderr);
			rc = mesh_usage(NULL, "unknown command `%s`", argv[i]);
		}
	}
	mt_store_close(ctx.store);
	mt_keypair_wipe(&ctx.key);
	fflush(stdout);
	if (ferror(stdout))
		return mesh_fail("write error on standard output");
	return rc;
}
