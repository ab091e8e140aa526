/* Governance from a store: the effective genesis, pot-*, proposal and vote
 * statements and the store's effective rotations (SPEC §9.2 chains). */
#include <stdlib.h>
#include <string.h>

#include "meshtrust/gov.h"
#include "pot_int.h"

int mt_gov_derive_store(mt_gov_state **out, mt_store *s, int64_t at, mt_error *err)
{
	*out = NULL;
	static const mt_stmt_type types[] = {MT_ST_GENESIS,	MT_ST_POT_OPEN, MT_ST_POT_COMMIT,
					     MT_ST_POT_REVEAL, MT_ST_POT_CLAIM, MT_ST_PROPOSAL,
					     MT_ST_VOTE};
	mt_stmt **list = NULL;
	size_t n = 0;
	struct mt_pot__aliases al = {0};
	int rc = mt_pot__load_types(&list, &n, s, types, sizeof types / sizeof *types, "governance",
				    err);
	if (!rc)
		rc = mt_pot__aliases_load(&al, s, "governance: out of memory", err);
	/* first-seen times (late votes, SPEC §9.3): the store's record */
	int64_t *seen = NULL;
	if (!rc && n && !(seen = malloc(n * sizeof *seen)))
		rc = mt_error_set(err, MT_ENOMEM, "governance: out of memory");
	for (size_t i = 0; !rc && i < n; i++)
		if (mt_store_seen(s, list[i]->id, &seen[i], NULL) != 0)
			seen[i] = list[i]->ts;
	if (!rc)
		rc = mt_gov_derive(out, (const mt_stmt *const *)list, n, at, al.v, al.n, seen, err);
	free(seen);
	mt_pot_stmts_free(list, n);
	mt_pot__aliases_free(&al);
	return rc;
}
