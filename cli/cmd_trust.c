/* mesh trust add|block|remove|list|path|export|import, mesh refer. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "meshtrust/views.h"
#include "trustq.h"
#include "tq_snapshot.h"
#include "config.h"
#include "opts.h"
#include "meshtrust/encoding.h"
#include "meshtrust/engine.h"
#include "meshtrust/flow.h"
#include "meshtrust/proof.h"

static int check_scope(const char *scope)
{
	mt_error err = {0};
	if (mt_scope_check(scope, "--scope", &err) != 0)
		return mesh_usage(NULL, "%s", err.msg);
	return EXIT_OK;
}

/* Resolve a target argument and refuse oneself. */
static int target_arg(mesh_ctx *ctx, char out[MT_NODE_ID_MAX], const char *text)
{
	int rc = mesh_resolve_id_at(ctx, out, text, "<id>");
	if (rc)
		return rc;
	rc = mesh_load_id(ctx);
	if (rc)
		return rc;
	if (strcmp(out, ctx->node_id) == 0)
		return mesh_usage(NULL, "<id>: %s is this node itself; a statement about oneself is "
					"not allowed",
				  out);
	return EXIT_OK;
}

#define ADD_USAGE                                                                                  \
	"mesh trust add <id> --level full|limited [--score 0.8] [--scope S] [--note \"…\"] "       \
	"[--expires 30d] [--label L]… [--evidence E]…"

static const mesh_opt ADD_OPTS[] = {
	{"level", MESH_ARG, "full|limited", "full: search, sync, re-announce; limited: search", 'l'},
	{"score", MESH_ARG, "S", "in (0, 1], default 1 (stored as permille)", 's'},
	MESH_OPT_SCOPE,
	{"note", MESH_ARG, "TEXT", "a private note, stored locally only, never signed", 'n'},
	{"expires", MESH_ARG, "D", "e.g. 30d, 12h, 90m, 45s from now", 'e'},
	{"label", MESH_ARG, "L", "a public label (repeatable)", 'L'},
	{"evidence", MESH_ARG, "E", "public evidence (repeatable)", 'E'},
	MESH_OPT_JSON_H("print {id, statement} as JSON"),
	MESH_OPT_END};
static const mesh_spec ADD_SPEC = {
	ADD_USAGE, "Issue a signed `trust` statement about <id> (Node ID or did:key).", ADD_OPTS, 1,
	1, "exactly one <id>", NULL};

/* Known identities (issuers of a held feed, ends of a held edge), for the
 * "never seen" warning. */
static int known_feed(const char *iss, uint64_t head_seq, const unsigned char head_id[32],
		      void *payload)
{
	(void)head_seq;
	(void)head_id;
	json_object_set_new(payload, iss, json_true());
	return 0;
}

/* Trusting an identity this store has never seen (no feed, no edge) is
 * allowed — a typo is not: warn on stderr, naming the closest known IDs
 * (issue #21: a Node ID with its last character changed). */
static void warn_unseen(mesh_ctx *ctx, const char *target)
{
	mt_feed_info fi;
	if (mt_store_feed(ctx->store, target, &fi, NULL) == 0)
		return; /* a statement by it is held: seen (no read of every edge) */
	json_t *known = json_object();
	mt_edge_in *edges = NULL;
	size_t n = 0;
	mt_store_feeds(ctx->store, known_feed, known, NULL);
	if (mt_store_edges(ctx->store, &edges, &n, INT64_MAX, NULL) == 0)
		for (size_t i = 0; i < n; i++) {
			json_object_set_new(known, edges[i].src, json_true());
			json_object_set_new(known, edges[i].dst, json_true());
		}
	free(edges);
	if (json_object_get(known, target) || !json_object_size(known)) {
		json_decref(known);
		return;
	}
	fputs("mesh: warning: this store has never seen ", stderr);
	mesh_term_write(stderr, target, MESH_TERM_LINE);
	fputs(" (no statement by it, no edge to it)", stderr);
	/* the closest known IDs: up to 3 within 3 edits */
	const char *ids[4096];
	size_t k = 0;
	const char *id;
	json_t *v;
	json_object_foreach(known, id, v)
	{
		if (k == sizeof ids / sizeof *ids)
			break;
		ids[k++] = id;
	}
	int shown = 0;
	for (int round = 0; round < 3; round++) {
		const char *near = mesh_suggest(target, ids, k);
		if (!near)
			break;
		fputs(shown ? ", " : "; did you mean ", stderr);
		mesh_term_write(stderr, near, MESH_TERM_LINE);
		shown++;
		for (size_t i = 0; i < k; i++) /* the next closest */
			if (ids[i] == near)
				ids[i] = ids[--k];
	}
	fputs(shown ? "?\n" : "\n", stderr);
	json_decref(known);
}

static int trust_add(mesh_ctx *ctx, int argc, char **argv)
{
	const char *level = NULL, *scope = "global", *note = NULL;
	int score = 1000, json = 0;
	int64_t expires = 0;
	mt_error err = {0};
	mesh_args a;
	int rc = mesh_parse_args(&ADD_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	rc = EXIT_USAGE;
	json_t *labels = json_array(), *evidence = json_array();
	for (int i = 0; i < a.n_opt; i++) {
		const char *v = a.opt[i].val;
		switch (a.opt[i].id) {
		case 'l': level = v; break;
		case 's':
			if (mesh_parse_score(&score, v, &err)) {
				mesh_usage(ADD_USAGE, "%s", err.msg);
				goto done;
			}
			break;
		case 'S': scope = v; break;
		case 'n': note = v; break;
		case 'e':
			if (mesh_parse_duration(&expires, v, "--expires", &err)) {
				mesh_usage(ADD_USAGE, "%s", err.msg);
				goto done;
			}
			break;
		case 'L': json_array_append_new(labels, json_string(v)); break;
		case 'E': json_array_append_new(evidence, json_string(v)); break;
		case 'j': json = 1; break;
		}
	}
	if (!level) {
		mesh_usage(ADD_USAGE, "--level is required (full or limited)");
		goto done;
	}
	if (strcmp(level, "full") && strcmp(level, "limited")) {
		mesh_usage(ADD_USAGE,
			   "--level: \"%s\" is not a level (full or limited; use `mesh trust block` "
			   "for none)",
			   level);
		goto done;
	}
	if ((rc = check_scope(scope)))
		goto done;
	char target[MT_NODE_ID_MAX];
	if ((rc = target_arg(ctx, target, a.pos[0])))
		goto done;
	json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:i}", "type", "trust", "target", target,
				 "level", level, "scope", scope, "score", score);
	if (json_array_size(labels))
		json_object_set(body, "labels", labels);
	if (json_array_size(evidence))
		json_object_set(body, "evidence", evidence);
	if (expires)
		json_object_set_new(body, "exp", json_integer(ctx->now + expires));
	mt_stmt *st = NULL;
	if ((rc = mesh_open_store(ctx))) {
		json_decref(body);
		goto done;
	}
	warn_unseen(ctx, target);
	if ((rc = mesh_issue(ctx, body, &st)))
		goto done;
	char note_key[MT_VIEW_NOTE_KEY_MAX];
	mt_view_note_key(note_key, target, scope);
	if (note && mt_store_note_set(ctx->store, note_key, note, &err) != 0) {
		mt_stmt_free(st);
		rc = mesh_fail_err(&err);
		goto done;
	}
	/* what those who referred the target said (stderr: --json stays clean) */
	mesh_referral_notes(ctx, target, stderr);
	char hex[65];
	mt_stmt_id_hex(hex, st);
	if (json)
		mesh_print_json(json_pack("{s:s,s:o}", "id", hex, "statement", mesh_stmt_json(st)));
	else
		printf("trusted %s: %s, score %.3f, scope %s (statement %.16s…, seq %llu)\n", target,
		       level, score / 1000.0, scope, hex, (unsigned long long)st->seq);
	mt_stmt_free(st);
	rc = EXIT_OK;
done:
	json_decref(labels);
	json_decref(evidence);
	return rc;
}

/* block and remove share their shape. */
static const mesh_opt BLOCK_OPTS[] = {
	MESH_OPT_SCOPE_H("the scope (default global)"),
	MESH_OPT_JSON_H("print {id, statement} as JSON"), MESH_OPT_END};
static const mesh_spec BLOCK_SPEC = {
	"mesh trust block <id> [--scope S]",
	"Issue a `trust` statement with level none: <id> is removed from every\nresult and path "
	"of your queries in that scope (a global block applies in every scope).",
	BLOCK_OPTS, 1, 1, "exactly one <id>", NULL};
static const mesh_spec REMOVE_SPEC = {
	"mesh trust remove <id> [--scope S]",
	"Issue a `revoke` of your edge to <id> in the scope: every path through it\nstops counting "
	"at once. Refused when there is no such edge.",
	BLOCK_OPTS, 1, 1, "exactly one <id>", NULL};

static int trust_block_or_remove(mesh_ctx *ctx, int argc, char **argv, int block)
{
	mesh_args a;
	int rc = mesh_parse_args(block ? &BLOCK_SPEC : &REMOVE_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	const char *scope = mesh_args_get(&a, 'S', "global");
	int json = mesh_args_count(&a, 'j') > 0;
	if ((rc = check_scope(scope)))
		return rc;
	char target[MT_NODE_ID_MAX];
	if ((rc = target_arg(ctx, target, a.pos[0])))
		return rc;
	json_t *body;
	if (block) {
		body = json_pack("{s:s,s:s,s:s,s:s}", "type", "trust", "target", target, "level",
				 "none", "scope", scope);
	} else {
		if ((rc = mesh_open_store(ctx)))
			return rc;
		unsigned char sid[32];
		mt_error err = {0};
		int r = mt_store_edge_get(ctx->store, ctx->node_id, target, scope, sid, NULL, &err);
		if (r == MT_ENOTFOUND)
			return mesh_fail("you have no trust edge to %s in scope %s; nothing changed",
					 target, scope);
		if (r)
			return mesh_fail_err(&err);
		body = json_pack("{s:s,s:s,s:s}", "type", "revoke", "target", target, "scope", scope);
	}
	mt_stmt *st = NULL;
	if ((rc = mesh_issue(ctx, body, &st)))
		return rc;
	char hex[65];
	mt_stmt_id_hex(hex, st);
	if (json)
		mesh_print_json(json_pack("{s:s,s:o}", "id", hex, "statement", mesh_stmt_json(st)));
	else
		printf("%s %s in scope %s (statement %.16s…, seq %llu)\n",
		       block ? "blocked" : "removed trust in", target, scope, hex,
		       (unsigned long long)st->seq);
	mt_stmt_free(st);
	return EXIT_OK;
}

static int trust_block(mesh_ctx *ctx, int argc, char **argv)
{
	return trust_block_or_remove(ctx, argc, argv, 1);
}

static int trust_remove(mesh_ctx *ctx, int argc, char **argv)
{
	return trust_block_or_remove(ctx, argc, argv, 0);
}

/* Shared query options of list and path. */

int mesh_tq_engine(mesh_ctx *ctx, int64_t at, mt_engine **out, char digest[65],
		   mt_edge_in **edges_out, size_t *n_out)
{
	mt_error err = {0};
	mt_edge_in *edges = NULL;
	size_t n = 0;
	/* The current edges (at == now) come from <home>/engine.snap when it
	 * reflects the store's state (tq_snapshot.h); its key is read before
	 * the edges, so an engine built below is of that state or a later one. */
	mesh_snap_key key;
	int keyed = at == ctx->now && mesh_snap_key_get(ctx, &key, NULL) == 0;
	const char *why = keyed ? "not used" : "no state key";
	int hit = keyed && !edges_out && mesh_snap_load(ctx, &key, out, digest, &why) == 0;
	if (getenv("MESH_SNAP_DEBUG")) /* for tests: was the snapshot used, or why not */
		fprintf(stderr, "mesh: engine snapshot: %s\n", why);
	if (hit)
		return EXIT_OK;
	if (mt_store_digest_hex(ctx->store, digest, NULL, &err) != 0)
		return mesh_fail_err(&err);
	if (mt_store_edges(ctx->store, &edges, &n, at == ctx->now ? INT64_MAX : at, &err) != 0)
		return mesh_fail_err(&err);
	int r = mt_engine_new(out, edges, n, &err);
	if (!r && edges_out) {
		*edges_out = edges;
		*n_out = n;
	} else {
		free(edges);
	}
	if (!r && keyed) /* rewritten only when nothing was added meanwhile */
		mesh_snap_save_quiet(ctx, &key, *out, digest);
	return r ? mesh_fail_err(&err) : EXIT_OK;
}

int mesh_tq_parse(mesh_ctx *ctx, struct mesh_tq *q, const mesh_args *a, const char *usage)
{
	mt_error err = {0};
	int64_t v;
	int rc;
	for (int i = 0; i < a->n_opt; i++) {
		const char *arg = a->opt[i].val;
		switch (a->opt[i].id) {
		case 'S':
			q->scope = arg;
			if ((rc = check_scope(arg)))
				return rc;
			break;
		case 'f':
			if ((rc = mesh_resolve_id_at(ctx, q->from, arg, "--from")))
				return rc;
			break;
		case 'd':
			if (mesh_parse_int(&v, arg, "--depth", 1, MESH_MAX_DEPTH, &err))
				return mesh_usage(usage, "%s", err.msg);
			q->depth = (int)v;
			break;
		case 'a':
			if (mesh_parse_time(&v, arg, "--at", ctx->now, &err))
				return mesh_usage(usage, "%s", err.msg);
			q->at = v;
			break;
		case 'j': q->json = 1; break;
		case 'm': {
			mt_trust_mode m;
			if (mt_trust_mode_parse(arg, &m, &err))
				return mesh_usage(usage, "--mode: %s", err.msg);
			q->mode = arg;
			break;
		}
		}
	}
	return EXIT_OK;
}


int mesh_tq_finish(mesh_ctx *ctx, struct mesh_tq *q)
{
	int depth = 0, rc;
	if ((rc = mesh_open_store(ctx)) || (rc = mesh_config_trust(ctx, &depth, q->decay, &q->n_decay)))
		return rc;
	if (!q->depth)
		q->depth = depth;
	char *mode = NULL, *caps = NULL;
	if ((rc = mesh_config_value(ctx, "trust.mode", &mode)) ||
	    (rc = mesh_config_value(ctx, "trust.flowCapacities", &caps))) {
		free(mode);
		return rc;
	}
	mt_trust_mode m = MT_TRUST_MODE_BEST_PATH;
	mt_error err = {0};
	if (mt_trust_mode_parse(q->mode ? q->mode : mode, &m, &err) != 0 ||
	    mt_flow_capacities_parse(q->cap, &q->n_cap, caps, &err) != 0)
		rc = mesh_fail("stored trust.mode/trust.flowCapacities: %s", err.msg);
	q->flow = m != MT_TRUST_MODE_BEST_PATH;
	q->adaptive = m == MT_TRUST_MODE_FLOW_ADAPTIVE;
	free(mode);
	free(caps);
	if (rc)
		return rc;
	if (!q->from[0]) {
		if ((rc = mesh_load_id(ctx)))
			return rc;
		snprintf(q->from, sizeof q->from, "%s", ctx->node_id);
	}
	return EXIT_OK;
}

mt_flow_query mesh_tq_flow_query(const struct mesh_tq *q)
{
	mt_flow_query fq = {q->from, q->scope, q->at, q->depth, q->adaptive ? NULL : q->cap,
			    q->adaptive ? 0 : q->n_cap};
	return fq;
}

const char *mesh_tq_mode_name(const struct mesh_tq *q)
{
	return mt_trust_mode_name(q->adaptive ? MT_TRUST_MODE_FLOW_ADAPTIVE
				  : q->flow   ? MT_TRUST_MODE_FLOW
					      : MT_TRUST_MODE_BEST_PATH);
}

/* The frame of this query's answer (views.h); in flow-adaptive mode the
 * capacities come with the answer, not from the frame. */
mt_view_frame mesh_tq_frame(const struct mesh_tq *q, const char *digest)
{
	int fixed = q->flow && !q->adaptive;
	mt_view_frame f = {digest, q->from, q->scope, q->at, q->depth, fixed ? q->cap : NULL,
			   fixed ? q->n_cap : 0};
	return f;
}

/* trust list in flow mode: the accepted nodes, same fields plus accepted/flow. */
static int list_flow(mesh_ctx *ctx, const struct mesh_tq *q, mt_engine *e, const char *digest)
{
	mt_flow_query fq = mesh_tq_flow_query(q);
	mt_flow_result *res = NULL;
	mt_error err = {0};
	if (mt_flow_trust(&res, e, &fq, &err) != 0) {
		mt_engine_free(e);
		return mesh_fail_err(&err);
	}
	/* entries borrow their Node IDs from the engine: free it last */
	if (q->json) {
		mt_view_frame f = mesh_tq_frame(q, digest);
		json_t *doc = mt_view_flow_list(&f, res, ctx->store);
		mt_flow_result_free(res);
		mt_engine_free(e);
		return doc ? mesh_print_json(doc) : mesh_fail("out of memory");
	}
	printf("%-52s  %-7s  %4s  %-6s  %9s  %s\n", "NODE ID", "LEVEL", "HOPS", "SCORE", "FLOW/CAP",
	       "NOTE");
	json_t *notes = mt_view_notes(ctx->store); /* one read, not one per row */
	for (size_t i = 0; i < res->count; i++) {
		const mt_flow_entry *t = &res->entries[i];
		char *note = notes ? NULL : mt_view_note(ctx->store, t->id, q->scope);
		mesh_write_id_pad(ctx, stdout, t->id, 52); /* with its local name */
		printf("  %-7s  %4d  %-6.3f  %4u/%-4u  ", mt_level_name(t->level), t->hops, t->score,
		       t->flow, t->capacity);
		mesh_term_write(stdout, notes ? mt_view_note_in(notes, t->id, q->scope) : note,
				MESH_TERM_LINE);
		putchar('\n');
		free(note);
	}
	json_decref(notes);
	printf("(%s mode: %zu accepted of %zu reachable within %d hop(s); capacities",
	       mesh_tq_mode_name(q), res->count, res->region, res->depth);
	const uint32_t *cap = q->adaptive ? res->capacities : q->cap;
	size_t n_cap = q->adaptive ? res->n_capacities : q->n_cap;
	for (size_t i = 0; i < n_cap; i++)
		printf(" %u", cap[i]);
	if (q->adaptive)
		printf(", derived from the nodes at each distance");
	printf(")\n(score = flow / capacity: the share of a node's capacity used, not a best-path "
	       "score —\n nearer nodes have larger capacities; `mesh trust explain ID --mode %s`)\n",
	       mesh_tq_mode_name(q));
	mt_flow_result_free(res);
	mt_engine_free(e);
	return EXIT_OK;
}

static void print_path_edges(mesh_ctx *ctx, json_t *edges)
{
	size_t i;
	json_t *x;
	json_array_foreach(edges, i, x)
	{
		printf("  %zu. ", i + 1);
		mesh_write_id(ctx, stdout, json_string_value(json_object_get(x, "from")));
		fputs(" -> ", stdout);
		mesh_write_id(ctx, stdout, json_string_value(json_object_get(x, "to")));
		printf("  %s %.3f%s  %.16s\n", json_string_value(json_object_get(x, "level")),
		       json_real_value(json_object_get(x, "score")),
		       json_object_get(x, "exp") ? " (expires)" : "",
		       json_string_value(json_object_get(x, "statement")));
	}
}

/* trust path in flow mode: a flow-carrying path, or why the target is out. */
static int path_flow(mesh_ctx *ctx, const struct mesh_tq *q, mt_engine *e, const char *digest,
		     const char *target)
{
	mt_flow_query fq = mesh_tq_flow_query(q);
	mt_flow_path *p = NULL;
	mt_error err = {0};
	if (mt_flow_path_get(&p, e, &fq, target, &err) != 0) {
		mt_engine_free(e);
		return mesh_fail_err(&err);
	}
	int found = p->found;
	mt_view_frame f = mesh_tq_frame(q, digest);
	json_t *doc = mt_view_flow_path(&f, target, p, ctx->store);
	if (!doc) {
		mt_flow_path_free(p);
		mt_engine_free(e);
		return mesh_fail("out of memory");
	}
	if (q->json) {
		mesh_print_json(doc);
	} else {
		if (found) {
			mesh_write_id(ctx, stdout, target);
			printf(": accepted (%s mode), %s, flow %u of capacity %u (score %.6g), %d "
			       "hop(s), in scope %s\n",
			       mesh_tq_mode_name(q), mt_level_name(p->level), p->flow, p->capacity,
			       p->score, p->hops, q->scope);
			print_path_edges(ctx, json_object_get(doc, "path"));
		} else {
			printf("%s not accepted from %s in scope %s (%s mode): ", target, q->from,
			       q->scope, mesh_tq_mode_name(q));
			mesh_term_write(stdout, p->message, MESH_TERM_LINE);
			putchar('\n');
		}
		json_decref(doc);
	}
	mt_flow_path_free(p);
	mt_engine_free(e);
	return found ? EXIT_OK : EXIT_FAIL;
}

#define LIST_USAGE                                                                                 \
	"mesh trust list [--scope S] [--from ID] [--depth N] [--at T] "                            \
	"[--mode best-path|flow|flow-adaptive] [--json]"

static const mesh_opt QUERY_OPTS_TABLE[] = {QUERY_OPTS};
static const mesh_spec LIST_SPEC = {
	LIST_USAGE,
	"Whom this node (or --from ID) trusts, transitively, in one scope:\nscore = best path's "
	"product of edge scores × decay[hops]; level = best path\nlevel; hops = shortest path. "
	"Sorted by hops, then score.\nIn flow mode (docs/flow.md) only the nodes accepted by the "
	"Advogato max flow\nfrom the viewpoint are listed; score = flow / capacity. flow-adaptive "
	"derives the\ncapacities from the number of nodes at each distance.",
	QUERY_OPTS_TABLE, 0, 0, NULL, NULL};

/* A scope no edge names answers nothing (exit 0): say so on stderr, with the
 * known scopes and the closest one (issue #21: `--scope coop:fod`). */
void mesh_tq_scope_hint(const mt_engine *e, const char *scope)
{
	size_t n = 0;
	const char *const *names = mt_engine_scopes(e, &n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], scope) == 0)
			return;
	const char *near = mesh_suggest(scope, names, n);
	fputs("mesh: note: no trust edge names scope ", stderr);
	mesh_term_write(stderr, scope, MESH_TERM_LINE);
	if (near) {
		fputs("; did you mean ", stderr);
		mesh_term_write(stderr, near, MESH_TERM_LINE);
		fputc('?', stderr);
	}
	fputs(" (`mesh trust scopes` lists the known ones)\n", stderr);
}

static const mesh_opt SCOPES_OPTS[] = {MESH_OPT_JSON_H("print {scopes:[{scope, edges}]} as JSON"),
				       MESH_OPT_END};
static const mesh_spec SCOPES_SPEC = {
	"mesh trust scopes [--json]",
	"The scopes the held trust edges name, with the number of edges in each (the\nscopes "
	"`--scope` can usefully take).",
	SCOPES_OPTS, 0, 0, NULL, NULL};

static int trust_scopes(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&SCOPES_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	int json = mesh_args_count(&a, 'j') > 0;
	if ((rc = mesh_open_store(ctx)))
		return rc;
	mt_edge_in *edges = NULL;
	size_t n = 0;
	mt_error err = {0};
	if (mt_store_edges(ctx->store, &edges, &n, ctx->now, &err) != 0)
		return mesh_fail_err(&err);
	json_t *doc = mt_view_scopes(edges, n);
	free(edges);
	if (!doc)
		return mesh_fail("out of memory");
	if (json)
		return mesh_print_json(doc);
	printf("%-40s  %s\n", "SCOPE", "EDGES");
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(doc, "scopes"), i, v)
	{
		int w = mesh_term_write(stdout, json_string_value(json_object_get(v, "scope")),
					MESH_TERM_LINE);
		printf("%*s  %lld\n", w >= 0 && w < 40 ? 40 - w : 0, "",
		       (long long)json_integer_value(json_object_get(v, "edges")));
	}
	json_decref(doc);
	return EXIT_OK;
}

static int trust_list(mesh_ctx *ctx, int argc, char **argv)
{
	struct mesh_tq q = {.scope = "global", .at = ctx->now};
	mesh_args a;
	int rc = mesh_parse_args(&LIST_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	if ((rc = mesh_tq_parse(ctx, &q, &a, LIST_USAGE)))
		return rc;
	if ((rc = mesh_tq_finish(ctx, &q)))
		return rc;
	mt_engine *e = NULL;
	char digest[65];
	if ((rc = mesh_tq_engine(ctx, q.at, &e, digest, NULL, NULL)))
		return rc;
	if (strcmp(q.scope, "global") != 0)
		mesh_tq_scope_hint(e, q.scope);
	if (q.flow)
		return list_flow(ctx, &q, e, digest);
	mt_trust_query tq = {q.from, q.scope, q.at, q.depth, q.decay, q.n_decay};
	mt_trust_result *res = NULL;
	mt_error err = {0};
	if (mt_engine_trust(&res, e, &tq, NULL, &err) != 0) {
		mt_engine_free(e);
		return mesh_fail_err(&err);
	}
	/* entries borrow their Node IDs from the engine: free it last */
	if (q.json) {
		mt_view_frame f = mesh_tq_frame(&q, digest);
		json_t *doc = mt_view_trust_list(&f, res, ctx->store);
		mt_trust_result_free(res);
		mt_engine_free(e);
		return doc ? mesh_print_json(doc) : mesh_fail("out of memory");
	}
	printf("%-52s  %-7s  %4s  %-6s  %s\n", "NODE ID", "LEVEL", "HOPS", "SCORE", "NOTE");
	json_t *notes = mt_view_notes(ctx->store); /* one read, not one per row */
	for (size_t i = 0; i < res->count; i++) {
		const mt_trust_entry *t = &res->entries[i];
		char *note = notes ? NULL : mt_view_note(ctx->store, t->id, q.scope);
		mesh_write_id_pad(ctx, stdout, t->id, 52); /* with its local name */
		printf("  %-7s  %4d  %-6.3f  ", mt_level_name(t->level), t->hops, t->score);
		mesh_term_write(stdout, notes ? mt_view_note_in(notes, t->id, q.scope) : note,
				MESH_TERM_LINE);
		putchar('\n');
		free(note);
	}
	json_decref(notes);
	mt_trust_result_free(res);
	mt_engine_free(e);
	return EXIT_OK;
}

#define PATH_USAGE                                                                                 \
	"mesh trust path <id> [--scope S] [--from ID] [--depth N] [--at T] "                        \
	"[--mode best-path|flow|flow-adaptive] [--json] [--proof FILE]"

static const mesh_opt PATH_OPTS_TABLE[] = {
	{"proof", MESH_ARG, "FILE",
	 "also write a portable proof of the path (NDJSON; check it with mesh proof verify)", 'P'},
	QUERY_OPTS};

static const mesh_spec PATH_SPEC = {
	PATH_USAGE,
	"Show the best-scoring trust path to <id> with every edge, or say why there is\nnone: "
	"blocked by you, only expired edges, beyond maxDepth (and the depth that\nwould reach it), "
	"only in other scopes, or no edge at all. --proof FILE writes the path's proof:\n"
	"the query, then each issuer's feed up to its head (SPEC §9.6).",
	PATH_OPTS_TABLE, 1, 1, "exactly one <id>", NULL};

/* --proof FILE: the bundle of the path `p` found for `q` (SPEC §9.6), its
 * header signed by this home's key. */
static int write_proof(mesh_ctx *ctx, const struct mesh_tq *q, const char *target,
		       const mt_trust_path *p, const char *file)
{
	mt_proof_header h = {.at = q->at, .max_depth = q->depth, .n_decay = q->n_decay};
	snprintf(h.from, sizeof h.from, "%s", q->from);
	snprintf(h.to, sizeof h.to, "%s", target);
	snprintf(h.scope, sizeof h.scope, "%s", q->scope);
	if (q->n_decay > MT_PROOF_MAX_DECAY)
		return mesh_fail("trust.decay has more than %d values", MT_PROOF_MAX_DECAY);
	memcpy(h.decay, q->decay, q->n_decay * sizeof h.decay[0]);
	const char *iss[MT_ENGINE_MAX_DEPTH + 1];
	size_t n = 0;
	for (size_t i = 0; i < p->n_edges && n < MT_ENGINE_MAX_DEPTH + 1; i++)
		iss[n++] = p->edges[i].from_id;
	char *bundle = NULL;
	size_t len = 0;
	mt_error err = {0};
	int rc = mesh_load_key(ctx); /* the home's identity signs the header */
	if (rc != EXIT_OK)
		return rc;
	/* The engine ran on the current edges (all applied statements) unless --at. */
	if (mt_proof_write(&bundle, &len, ctx->store, &h, iss, n,
			   q->at == ctx->now ? INT64_MAX : q->at, &ctx->key, &err) != 0)
		return mesh_fail_err(&err);
	FILE *f = fopen(file, "wb");
	int ok = f && fwrite(bundle, 1, len, f) == len;
	if (f && fclose(f) != 0)
		ok = 0;
	free(bundle);
	if (!ok)
		return mesh_fail("--proof: cannot write %s", file);
	return EXIT_OK;
}

static int trust_path(mesh_ctx *ctx, int argc, char **argv)
{
	struct mesh_tq q = {.scope = "global", .at = ctx->now};
	mesh_args a;
	int rc = mesh_parse_args(&PATH_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	if ((rc = mesh_tq_parse(ctx, &q, &a, PATH_USAGE)))
		return rc;
	const char *proof = NULL;
	for (int i = 0; i < a.n_opt; i++)
		if (a.opt[i].id == 'P')
			proof = a.opt[i].val;
	char target[MT_NODE_ID_MAX];
	if ((rc = mesh_resolve_id_at(ctx, target, a.pos[0], "<id>")))
		return rc;
	if ((rc = mesh_tq_finish(ctx, &q)))
		return rc;
	if (proof && q.flow)
		return mesh_usage(PATH_USAGE, "--proof: a proof shows a best path (not --mode %s)",
				  mesh_tq_mode_name(&q));
	mt_engine *e = NULL;
	char digest[65];
	if ((rc = mesh_tq_engine(ctx, q.at, &e, digest, NULL, NULL)))
		return rc;
	if (strcmp(q.scope, "global") != 0)
		mesh_tq_scope_hint(e, q.scope);
	if (q.flow)
		return path_flow(ctx, &q, e, digest, target);
	mt_trust_query tq = {q.from, q.scope, q.at, q.depth, q.decay, q.n_decay};
	mt_trust_path *p = NULL;
	mt_error err = {0};
	if (mt_engine_path(&p, e, &tq, target, &err) != 0) {
		mt_engine_free(e);
		return mesh_fail_err(&err);
	}
	int found = p->found;
	mt_view_frame f = mesh_tq_frame(&q, digest);
	json_t *doc = mt_view_trust_path(&f, target, p, ctx->store);
	if (!doc) {
		mt_trust_path_free(p);
		mt_engine_free(e);
		return mesh_fail("out of memory");
	}
	if (proof && !found) {
		fprintf(stderr, "mesh: no trust path from %s to %s in scope %s: no proof written\n",
			q.from, target, q.scope);
	} else if (proof && (rc = write_proof(ctx, &q, target, p, proof)) != EXIT_OK) {
		json_decref(doc);
		mt_trust_path_free(p);
		mt_engine_free(e);
		return rc;
	}
	if (q.json) {
		mesh_print_json(doc);
	} else {
		if (found) {
			mesh_write_id(ctx, stdout, target);
			printf(": %s, score %.6g, %d hop(s), in scope %s\n", mt_level_name(p->level),
			       p->score, p->hops, q.scope);
			print_path_edges(ctx, json_object_get(doc, "path"));
			double prod = 1.0;
			for (size_t i = 0; i < p->n_edges; i++)
				prod = prod * (p->edges[i].score / 1000.0);
			size_t di = p->n_edges < q.n_decay ? p->n_edges : q.n_decay - 1;
			printf("  score %.6g = %.6g (product of the edge scores) × %.6g "
			       "(trust.decay[%zu]); `mesh trust explain` shows the paths that lost\n",
			       p->score, prod, q.decay[di], p->n_edges);
		} else {
			printf("no trust path from %s to %s in scope %s: ", q.from, target, q.scope);
			mesh_term_write(stdout, p->message, MESH_TERM_LINE);
			putchar('\n');
		}
		json_decref(doc);
	}
	mt_trust_path_free(p);
	mt_engine_free(e);
	return found ? EXIT_OK : EXIT_FAIL;
}

struct exp_ctx {
	json_t *arr;
};

static int collect(const char *iss, uint64_t seq, const char *canon, size_t len, void *payload)
{
	(void)iss;
	(void)seq;
	struct exp_ctx *x = payload;
	json_t *v = json_loadb(canon, len, 0, NULL);
	if (!v)
		return MT_EIO;
	json_array_append_new(x->arr, v);
	return 0;
}

static const mesh_opt EXPORT_OPTS[] = {
	{"with-notes", MESH_NOARG, NULL, "include your local notes", 'n'},
	{"all", MESH_NOARG, NULL, "every held statement, not only this node's feed", 'a'},
	MESH_OPT_END};
static const mesh_spec EXPORT_SPEC = {
	"mesh trust export [--with-notes] [--all] > my-trust.json",
	"Write {\"version\":1,\"statements\":[…],\"notes\":{…}}: this node's whole signed "
	"feed\n(--all: every held statement); local notes only with --with-notes.",
	EXPORT_OPTS, 0, 0, NULL, NULL};

static int trust_export(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&EXPORT_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	int notes = mesh_args_count(&a, 'n') > 0, all = mesh_args_count(&a, 'a') > 0;
	if ((rc = mesh_open_store(ctx)) || (!all && (rc = mesh_load_id(ctx))))
		return rc;
	struct exp_ctx x = {json_array()};
	mt_error err = {0};
	if (mt_store_foreach(ctx->store, all ? NULL : ctx->node_id, collect, &x, &err) != 0) {
		json_decref(x.arr);
		return mesh_fail("export failed: %s", err.msg);
	}
	json_t *nobj = json_object();
	if (notes) {
		json_t *held = mt_view_notes(ctx->store); /* one read, not one per statement */
		size_t i;
		json_t *s;
		json_array_foreach(x.arr, i, s)
		{
			const char *t = json_string_value(json_object_get(s, "target"));
			const char *sc = json_string_value(json_object_get(s, "scope"));
			char key[MT_VIEW_NOTE_KEY_MAX];
			if (!t)
				continue;
			mt_view_note_key(key, t, sc);
			char *note = held ? NULL : mt_view_note(ctx->store, t, sc);
			const char *text = held ? mt_view_note_in(held, t, sc) : note;
			if (text)
				json_object_set_new(nobj, key, json_string(text));
			free(note);
		}
		json_decref(held);
	}
	json_t *doc = json_pack("{s:i,s:o,s:o}", "version", 1, "statements", x.arr, "notes", nobj);
	char *s = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	json_decref(doc);
	if (!s)
		return mesh_fail("out of memory");
	puts(s);
	free(s);
	return EXIT_OK;
}

static const mesh_opt IMPORT_OPTS[] = {
	MESH_OPT_JSON_H("report {accepted, duplicate, rejected:[{index, reason}]}"), MESH_OPT_END};
static const mesh_spec IMPORT_SPEC = {
	"mesh trust import FILE [--json]",
	"Import a `mesh trust export` document: additive; every statement is\nre-serialised "
	"canonically and verified; notes fill in where you have none.\n--json reports {accepted, "
	"duplicate, rejected:[{index, reason}]}. Exit 1 when any was rejected.",
	IMPORT_OPTS, 1, 1, "one FILE", NULL};

static int trust_import(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&IMPORT_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	return mesh_import_file(ctx, a.pos[0], 1, mesh_args_count(&a, 'j') > 0, 0);
}

int cmd_trust(mesh_ctx *ctx, int argc, char **argv)
{
	static const mesh_cmd cmds[] = {
		{"add", trust_add, "trust an identity (signed statement)"},
		{"block", trust_block, "block an identity (level none)"},
		{"remove", trust_remove, "revoke your trust edge"},
		{"list", trust_list, "whom you trust, transitively"},
		{"path", trust_path, "explain trust in one identity (or why not)"},
		{"explain", mesh_trust_explain, "why this score: edges, decay, the paths that lost"},
		{"scopes", trust_scopes, "the scopes the held edges name"},
		{"export", trust_export, "write your signed feed and notes as JSON"},
		{"import", trust_import, "import an exported trust document"},
		{NULL, NULL, NULL}};
	return mesh_dispatch(ctx, "trust", cmds, argc, argv);
}

#define REFER_USAGE "mesh refer <id> --note \"…\" [--to ID]"

static const mesh_opt REFER_OPTS[] = {
	{"note", MESH_ARG, "TEXT", "the referral's text (required)", 'n'},
	{"to", MESH_ARG, "ID", "the identity the referral is addressed to", 't'}, MESH_OPT_END};
static const mesh_spec REFER_SPEC = {
	REFER_USAGE, "Publish a signed referral (a public recommendation; it creates no trust).",
	REFER_OPTS, 1, 1, "exactly one <id>", NULL};

int cmd_refer(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&REFER_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	const char *note = mesh_args_get(&a, 'n', NULL), *to = mesh_args_get(&a, 't', NULL);
	if (!note)
		return mesh_usage(REFER_USAGE, "--note is required");
	char referee[MT_NODE_ID_MAX], toid[MT_NODE_ID_MAX];
	if ((rc = target_arg(ctx, referee, a.pos[0])))
		return rc;
	if (to && (rc = mesh_resolve_id_at(ctx, toid, to, "--to")))
		return rc;
	json_t *body = json_pack("{s:s,s:s,s:s}", "type", "referral", "referee", referee, "note",
				 note);
	if (to)
		json_object_set_new(body, "to", json_string(toid));
	mt_stmt *st = NULL;
	if ((rc = mesh_issue(ctx, body, &st)))
		return rc;
	char hex[65];
	mt_stmt_id_hex(hex, st);
	printf("referred %s (statement %.16s…)\n", referee, hex);
	mt_stmt_free(st);
	return EXIT_OK;
}
