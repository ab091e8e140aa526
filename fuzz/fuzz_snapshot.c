/* libFuzzer target: the engine snapshot image parser
 * (mt_engine_snapshot_borrow, meshtrust/snapshot.h), which reads the body of
 * <home>/engine.snap back (cli/tq_snapshot.c checks the file's header and
 * BLAKE2b before it; this target feeds the parser without either).
 * Properties (abort() on violation): any input is accepted or refused
 * MT_EINVAL with a message (or MT_ENOMEM); an accepted image encodes back to
 * exactly the same bytes (one spelling), and queries, paths and why-not on
 * it (every scope, the first nodes as viewpoints, depth 8) run without a
 * crash, a leak or undefined behaviour. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/engine.h"
#include "meshtrust/snapshot.h"

static const double decay[] = {1.0, 0.9, 0.5, 0.25};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1u << 20))
		return 0;
	void *img = NULL;
	if (posix_memalign(&img, 64, size ? size : 8) != 0)
		return 0;
	if (size)
		memcpy(img, data, size);
	mt_engine *e = NULL;
	mt_error err = {0};
	int rc = mt_engine_snapshot_borrow(&e, img, size, free, img, &err);
	if (rc != 0) {
		if (e || !(rc == MT_ENOMEM || (rc == MT_EINVAL && err.msg[0])))
			abort();
		free(img);
		return 0;
	}
	unsigned char *again = NULL;
	size_t len = 0;
	if (mt_engine_snapshot_encode(e, &again, &len, &err) != 0 || len != size || memcmp(again, data, size) != 0)
		abort();
	free(again);
	size_t n_scopes = 0;
	const char *const *scopes = mt_engine_scopes(e, &n_scopes);
	size_t n = mt_engine_node_count(e);
	for (size_t v = 0; v < n && v < 4; v++)
		for (size_t s = 0; s <= n_scopes; s++) {
			mt_trust_query q = {mt_engine_node_id(e, (uint32_t)v), s < n_scopes ? scopes[s] : "none:such",
					    1000, 8, decay, 4};
			mt_trust_result *r = NULL;
			if (mt_engine_trust(&r, e, &q, NULL, &err) != 0)
				abort();
			for (size_t i = 0; i < r->count; i++)
				if (r->entries[i].node >= n || r->entries[i].via >= n)
					abort();
			mt_trust_result_free(r);
			mt_trust_path *p = NULL;
			if (mt_engine_path(&p, e, &q, mt_engine_node_id(e, (uint32_t)(n - 1 - v)), &err) != 0)
				abort();
			mt_trust_path_free(p);
		}
	mt_engine_free(e); /* frees img through the release callback */
	return 0;
}
