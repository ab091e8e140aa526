/* Imports and the home's own feed (SPEC §9.2 "restore without forking"): an
 * import that would fork the home's own identity — a statement of its own
 * ID at a seq for which the store (or the same file) holds a different one —
 * is refused whole unless --accept-fork; own statements that fill an empty
 * own feed (a restore, a store rebuilt from an export) are adopted as this
 * home's, so they do not raise the theft alarm. */
#include <stdlib.h>
#include <string.h>

#include "import_parse.h"
#include "keyimport.h"
#include "keyutil.h"
#include "meshtrust/encoding.h"

/* An own statement of the file: seq, id and where it is. */
struct own_item {
	uint64_t seq;
	unsigned char id[32];
	uint64_t where;
};

struct own_scan {
	struct own_item *items;
	size_t n, cap;
};

static int add_item(struct own_scan *sc, const mt_stmt *st, uint64_t where)
{
	if (sc->n == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 64;
		struct own_item *m = realloc(sc->items, cap * sizeof *m);
		if (!m)
			return -1;
		sc->items = m;
		sc->cap = cap;
	}
	sc->items[sc->n].seq = st->seq;
	memcpy(sc->items[sc->n].id, st->id, 32);
	sc->items[sc->n].where = where;
	sc->n++;
	return 0;
}

static int by_seq(const void *a, const void *b)
{
	const struct own_item *x = a, *y = b;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return memcmp(x->id, y->id, 32);
}

/* Statements the store holds at one seq of the own feed. */
struct held_at {
	uint64_t seq;
	const unsigned char *id; /* the file's statement */
	int other;               /* a different statement is held there */
	char other_hex[65];
};

static int held_cb(const char *iss, uint64_t seq, const char *canon, size_t len, void *payload)
{
	struct held_at *h = payload;
	unsigned char id[32];
	(void)iss;
	if (seq != h->seq)
		return 1; /* past it: stop */
	mt_blake2b256(id, canon, len);
	if (memcmp(id, h->id, 32) != 0 && !h->other) {
		h->other = 1;
		mt_hex_encode(h->other_hex, sizeof h->other_hex, id, 32);
	}
	return 0;
}

/* One statement's bytes: decoded and verified (junk is the import's to
 * reject, never a reason to refuse the file); own ones are recorded. */
static int consider(struct own_scan *sc, const char *own_id, const char *buf, size_t len,
		    uint64_t where, int64_t now)
{
	mt_stmt *st = NULL;
	if (mt_stmt_decode(&st, buf, len, now, NULL) != 0)
		return 0;
	int rc = strcmp(st->iss, own_id) == 0 ? add_item(sc, st, where) : 0;
	mt_stmt_free(st);
	return rc;
}

int mesh_import_own_check(mesh_ctx *ctx, FILE *f, const json_t *stmts, int trust_doc,
			  const char *name, int accept_fork, mesh_own_import *oi)
{
	struct own_scan sc = {0};
	mt_error err = {0};
	int rc = EXIT_OK;
	memset(oi, 0, sizeof *oi);
	unsigned char pk[32];
	if (mt_keyfile_read_public(pk, ctx->home, &err) != 0)
		return EXIT_OK; /* no identity here: nothing is "own" */
	mt_node_id_encode(oi->own_id, pk);

	if (trust_doc) {
		for (size_t i = 0; i < json_array_size(stmts); i++) {
			char *buf = NULL, reason[256] = "";
			size_t len = 0;
			if (mesh_trust_doc_item(&buf, &len, json_array_get(stmts, i), reason) != 0) {
				rc = mesh_fail("out of memory");
				goto done;
			}
			int r = !reason[0] && buf ? consider(&sc, oi->own_id, buf, len, i, ctx->now) : 0;
			free(buf);
			if (r) {
				rc = mesh_fail("out of memory");
				goto done;
			}
		}
	} else {
		char *buf = malloc(MT_STMT_MAX + 2);
		size_t len;
		uint64_t line = 0;
		if (!buf) {
			rc = mesh_fail("out of memory");
			goto done;
		}
		rewind(f);
		while (mesh_import_read_line(f, buf, MT_STMT_MAX + 2, &len) > 0) {
			line++;
			if (len && consider(&sc, oi->own_id, buf, len, line, ctx->now)) {
				free(buf);
				rc = mesh_fail("out of memory");
				goto done;
			}
		}
		free(buf);
		rewind(f);
	}
	oi->own_in_file = sc.n;

	mt_feed_info fi;
	memset(&fi, 0, sizeof fi);
	int fr = mt_store_feed(ctx->store, oi->own_id, &fi, &err);
	if (fr != 0 && fr != MT_ENOTFOUND) {
		rc = mesh_fail_err(&err);
		goto done;
	}
	oi->was_empty = fi.max_seq == 0 && fi.head_seq == 0;
	if (sc.n == 0)
		goto done;

	/* A fork inside the file, or against what the store holds. */
	qsort(sc.items, sc.n, sizeof *sc.items, by_seq);
	const char *what = trust_doc ? "statement" : "line";
	for (size_t i = 0; i < sc.n; i++) {
		struct own_item *it = &sc.items[i];
		char other[65] = "";
		if (i > 0 && sc.items[i - 1].seq == it->seq && memcmp(sc.items[i - 1].id, it->id, 32))
			mt_hex_encode(other, sizeof other, sc.items[i - 1].id, 32);
		if (!other[0] && !oi->was_empty) {
			struct held_at h = {it->seq, it->id, 0, ""};
			if (mt_store_feed_page(ctx->store, oi->own_id, it->seq, 16, held_cb, &h,
					       &err) < 0) {
				rc = mesh_fail_err(&err);
				goto done;
			}
			if (h.other)
				memcpy(other, h.other_hex, sizeof other);
		}
		if (!other[0])
			continue;
		oi->forks++;
		if (accept_fork)
			continue;
		rc = mesh_fail("%s: %s %llu: a statement of this home's own identity %s at seq %llu, "
			       "and a different one (%.16s…) is already there: importing it would "
			       "fork your own feed; refused, nothing imported. If your key signs "
			       "somewhere else, identity.key may be stolen (see `mesh key status`); "
			       "to import it anyway, give --accept-fork",
			       name, what, (unsigned long long)it->where, oi->own_id,
			       (unsigned long long)it->seq, other);
		goto done;
	}
done:
	free(sc.items);
	return rc;
}

void mesh_import_own_after(mesh_ctx *ctx, const mesh_own_import *oi)
{
	mt_error err = {0};
	if (!oi->own_id[0] || !oi->own_in_file)
		return;
	if (mesh_restore_pending(ctx)) {
		mesh_own_checks(ctx); /* finishes the restore once the head is held */
		return;
	}
	if (!oi->was_empty || oi->forks)
		return;
	/* The own feed was empty here and the file filled it without a fork:
	 * a restore of this home's own feed (e.g. a store rebuilt from an
	 * export). Not a theft: nothing of its own was held to compare with. */
	mt_feed_info fi;
	memset(&fi, 0, sizeof fi);
	if (mt_store_feed(ctx->store, oi->own_id, &fi, &err) != 0 || fi.max_seq == 0)
		return;
	if (mt_store_own_adopt(ctx->store, oi->own_id, &err) != 0) {
		fprintf(stderr, "mesh: cannot record the imported own feed as this home's: ");
		mesh_term_write(stderr, err.msg, MESH_TERM_LINE);
		fputc('\n', stderr);
		return;
	}
	fprintf(stderr, "mesh: this home's own feed (up to seq %llu) was imported and adopted as "
			"its own\n",
		(unsigned long long)fi.head_seq);
}
