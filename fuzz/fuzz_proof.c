/* libFuzzer target: the portable-proof verifier (src/proof, SPEC §9.6), as
 * used by `mesh proof verify` on an untrusted bundle.
 *
 * Properties checked on every input (abort() on violation):
 *  1. mt_proof_verify returns 0 with a result (it only fails out of memory).
 *  2. An invalid result has a non-empty reason; a valid one has none, a
 *     header whose signature verified (a prover that is a Node ID), at
 *     least one feed and statement, and a path of 1..8 edges that starts at
 *     the header's `from`, ends at its `to` and links up, with a score in
 *     (0, 1].
 *  3. The result always turns into a JSON document, whose "valid" says the
 *     same, and a claim sentence.
 * The seeds (fuzz/corpus/proof) carry headers signed with a valid signature,
 * so that mutations of the statements reach the chain checks and the engine.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/proof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mt_proof_result *r = NULL;
	mt_error err = {0};
	if (mt_proof_verify(&r, (const char *)data, size, &err) != 0) {
		if (err.code != MT_ENOMEM || r)
			abort();
		return 0;
	}
	if (!r)
		abort();
	if (!r->valid) {
		if (!r->reason[0])
			abort();
	} else {
		if (r->reason[0] || !r->have_header || !mt_node_id_valid(r->h.prover) ||
		    r->n_feeds == 0 || r->n_statements == 0 ||
		    r->n_path < 1 || r->n_path > 8 || !(r->score > 0 && r->score <= 1))
			abort();
		if (strcmp(r->path[0].from, r->h.from) || strcmp(r->path[r->n_path - 1].to, r->h.to))
			abort();
		for (size_t i = 1; i < r->n_path; i++)
			if (strcmp(r->path[i - 1].to, r->path[i].from))
				abort();
	}
	json_t *doc = mt_proof_result_json(r);
	if (doc) {
		json_t *v = json_object_get(doc, "valid");
		if (!json_is_boolean(v) || json_is_true(v) != (r->valid != 0))
			abort();
		json_decref(doc);
	}
	char claim[1024];
	mt_proof_claim(r, claim, sizeof claim);
	if (!claim[0])
		abort();
	mt_proof_result_free(r);
	return 0;
}
