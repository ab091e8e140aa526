/* Helpers shared by the proof-of-trust and governance sources (private to
 * src/pot). */
#ifndef MT_POT_INT_H
#define MT_POT_INT_H

#include <stddef.h>
#include <stdlib.h>

#include "meshtrust/error.h"
#include "meshtrust/pot.h"
#include "meshtrust/statement.h"
#include "meshtrust/store.h"

/** Grows the zero-filled array *arr of *cap elements of `elem` bytes to
 * hold at least `need` (doubling from 16). Errors: MT_ENOMEM (*arr kept). */
int mt_pot__grow(void **arr, size_t *cap, size_t need, size_t elem);

/** qsort with n == 0 may get a NULL base, which qsort must not receive. */
static inline void mt_pot__sort_n(void *base, size_t n, size_t size,
				  int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

/** The store's statements of `types` that take effect (inside the issuer's
 * valid prefix, before any fork, not after a rotation), parsed into *out
 * (*n of them; free with mt_pot_stmts_free). `what` prefixes the error
 * messages ("pot", "governance"). On error *out is NULL and *n 0. */
int mt_pot__load_types(mt_stmt ***out, size_t *n, mt_store *s, const mt_stmt_type *types,
		       size_t n_types, const char *what, mt_error *err);

/** The store's effective rotations as mt_pot_alias (old -> newest of its
 * chain); the strings are owned by `ids` (2 per link). */
struct mt_pot__aliases {
	mt_pot_alias *v;
	char (*ids)[MT_NODE_ID_MAX];
	size_t n, cap;
};

/** Fills *a (zeroed by the caller) from the store's rotation links. Out of
 * memory sets `oom_msg` in err. Free with mt_pot__aliases_free, also on
 * error. */
int mt_pot__aliases_load(struct mt_pot__aliases *a, mt_store *s, const char *oom_msg,
			 mt_error *err);

void mt_pot__aliases_free(struct mt_pot__aliases *a);

#endif
