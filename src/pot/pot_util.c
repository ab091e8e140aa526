/* Helpers shared by the proof-of-trust and governance sources (pot_int.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pot_int.h"

int mt_pot__grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 16;
	while (nc < need)
		nc *= 2;
	void *p = realloc(*arr, nc * elem);
	if (!p)
		return MT_ENOMEM;
	memset((char *)p + *cap * elem, 0, (nc - *cap) * elem);
	*arr = p;
	*cap = nc;
	return 0;
}

/* ---- loading statements from a store ------------------------------------- */

/* The statements loaded so far. */
struct load {
	mt_stmt **list;
	size_t n, cap;
	const char *what;
	mt_error *err;
	int failed; /* the callback's own error (set in err) */
};

static int load_one(const char *iss, uint64_t seq, const char *canon, size_t len, void *payload)
{
	(void)iss;
	(void)seq;
	struct load *l = payload;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		mt_stmt **p = realloc(l->list, nc * sizeof *p);
		if (!p) {
			l->failed = 1;
			return mt_error_set(l->err, MT_ENOMEM, "%s: out of memory", l->what);
		}
		l->list = p;
		l->cap = nc;
	}
	mt_error perr = {0};
	if (mt_stmt_parse(&l->list[l->n], canon, len, INT64_MAX, &perr) != 0) {
		l->failed = 1;
		return mt_error_set(l->err, MT_EIO, "%s: stored statement unreadable: %s", l->what,
				    perr.msg);
	}
	l->n++;
	return 0;
}

int mt_pot__load_types(mt_stmt ***out, size_t *n, mt_store *s, const mt_stmt_type *types,
		       size_t n_types, const char *what, mt_error *err)
{
	*out = NULL;
	*n = 0;
	struct load l = {NULL, 0, 0, what, err, 0};
	int rc = mt_store_foreach_type(s, types, n_types, load_one, &l, err);
	if (rc) {
		if (!l.failed)
			mt_error_wrap(err, "%s: reading statements", what);
		mt_pot_stmts_free(l.list, l.n);
		return rc;
	}
	*out = l.list;
	*n = l.n;
	return 0;
}

/* ---- rotation chains ----------------------------------------------------- */

static int alias_add(const char *old_id, const char *new_id, int effective, void *payload)
{
	struct mt_pot__aliases *a = payload;
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

/* Follow each link to the newest ID of its chain (chains are short; a
 * cycle cannot take effect, bounded anyway). */
static int alias_resolve(struct mt_pot__aliases *a)
{
	if (!a->n)
		return 0;
	a->v = malloc(a->n * sizeof *a->v);
	if (!a->v)
		return MT_ENOMEM;
	for (size_t i = 0; i < a->n; i++) {
		const char *cur = a->ids[2 * i + 1];
		for (int hops = 0; hops < 64; hops++) {
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

int mt_pot__aliases_load(struct mt_pot__aliases *a, mt_store *s, const char *oom_msg, mt_error *err)
{
	int rc = mt_store_rotation_links(s, alias_add, a, err);
	if (rc == MT_ENOMEM || (!rc && alias_resolve(a)))
		rc = mt_error_set(err, MT_ENOMEM, "%s", oom_msg);
	return rc;
}

void mt_pot__aliases_free(struct mt_pot__aliases *a)
{
	free(a->v);
	free(a->ids);
	memset(a, 0, sizeof *a);
}
