/* Governance from a store: the effective genesis, pot-*, proposal and vote
 * statements and the store's effective rotations (SPEC §9.2 chains). */
#include <stdlib.h>
#include <string.h>

#include "meshtrust/gov.h"

struct gload {
	mt_stmt **list;
	size_t n, cap;
	mt_error *err;
	int failed;
};

static int gload_one(const char *iss, uint64_t seq, const char *canon, size_t len, void *payload)
{
	(void)iss;
	(void)seq;
	struct gload *l = payload;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		mt_stmt **p = realloc(l->list, nc * sizeof *p);
		if (!p) {
			l->failed = 1;
			return mt_error_set(l->err, MT_ENOMEM, "governance: out of memory");
		}
		l->list = p;
		l->cap = nc;
	}
	mt_error perr = {0};
	if (mt_stmt_parse(&l->list[l->n], canon, len, INT64_MAX, &perr) != 0) {
		l->failed = 1;
		return mt_error_set(l->err, MT_EIO, "governance: stored statement unreadable: %s",
				    perr.msg);
	}
	l->n++;
	return 0;
}

/* Effective rotation links, each old ID resolved to the newest of its chain;
 * the strings are owned by `ids` (2 per link). */
struct galiases {
	mt_pot_alias *v;
	char (*ids)[MT_NODE_ID_MAX];
	size_t n, cap;
};

static int galias_add(const char *old_id, const char *new_id, int effective, void *payload)
{
	struct galiases *a = payload;
	if (!effective)
		return 0;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 8;
		void *ids = realloc(a->ids, 2 * cap * sizeof *a->ids);
		if (!ids)
			return MT_ENOMEM;
		a->ids = ids;
		a->cap = cap;
	}
	snprintf(a->ids[2 * a->n], MT_NODE_ID_MAX, "%s", old_id);
	snprintf(a->ids[2 * a->n + 1], MT_NODE_ID_MAX, "%s", new_id);
	a->n++;
	return 0;
}

static int galias_resolve(struct galiases *a)
{
	if (!a->n)
		return 0;
	a->v = malloc(a->n * sizeof *a->v);
	if (!a->v)
		return MT_ENOMEM;
	for (size_t i = 0; i < a->n; i++) {
		const char *cur = a->ids[2 * i + 1];
		for (int hops = 0; hops < 64; hops++) { /* a cycle never takes effect; bounded */
			size_t k = 0;
			while (k < a->n && strcmp(a->ids[2 * k], cur) != 0)
				k++;
			if (k == a->n)
				break;
			cur = a->ids[2 * k + 1];
		}
		a->v[i].old_id = a->ids[2 * i];
		a->v[i].newest = cur;
	}
	return 0;
}

int mt_gov_derive_store(mt_gov_state **out, mt_store *s, int64_t at, mt_error *err)
{
	*out = NULL;
	static const mt_stmt_type types[] = {MT_ST_GENESIS,	MT_ST_POT_OPEN, MT_ST_POT_COMMIT,
					     MT_ST_POT_REVEAL, MT_ST_POT_CLAIM, MT_ST_PROPOSAL,
					     MT_ST_VOTE};
	struct gload l = {NULL, 0, 0, err, 0};
	struct galiases al = {0};
	int rc = mt_store_foreach_type(s, types, sizeof types / sizeof *types, gload_one, &l, err);
	if (rc && !l.failed)
		mt_error_wrap(err, "governance: reading statements");
	if (!rc) {
		rc = mt_store_rotation_links(s, galias_add, &al, err);
		if (rc == MT_ENOMEM || (!rc && galias_resolve(&al)))
			rc = mt_error_set(err, MT_ENOMEM, "governance: out of memory");
	}
	/* first-seen times (late votes, SPEC §9.3): the store's record */
	int64_t *seen = NULL;
	if (!rc && l.n && !(seen = malloc(l.n * sizeof *seen)))
		rc = mt_error_set(err, MT_ENOMEM, "governance: out of memory");
	for (size_t i = 0; !rc && i < l.n; i++)
		if (mt_store_seen(s, l.list[i]->id, &seen[i], NULL) != 0)
			seen[i] = l.list[i]->ts;
	if (!rc)
		rc = mt_gov_derive(out, (const mt_stmt *const *)l.list, l.n, at, al.v, al.n, seen,
				   err);
	free(seen);
	for (size_t i = 0; i < l.n; i++)
		mt_stmt_free(l.list[i]);
	free(l.list);
	free(al.v);
	free(al.ids);
	return rc;
}
