/** Helpers shared by the unit tests (test-only code). */
#ifndef MT_TESTUTIL_H
#define MT_TESTUTIL_H

#include <jansson.h>
#include <string.h>

#include "meshtrust/identity.h"

/** Load `$MT_SHARED_DIR/vectors/<name>` with jansson; aborts the test run
 * (exit 1, message on stderr) when it cannot be read. Caller owns the result. */
json_t *mt_test_load_vector(const char *name);

/** Decode `hex` (2*n chars) into out[n]; aborts on malformed hex. */
void mt_test_hex(unsigned char *out, size_t n, const char *hex);

/** Create a fresh temporary directory (mkdtemp); caller frees the string and
 * may remove the tree with mt_test_rmtree. */
char *mt_test_tmpdir(void);

/** Recursively remove `path` (best effort). */
void mt_test_rmtree(const char *path);

/** n deterministic test identities: key i is made from the seed of 32 bytes
 * all equal to `first_fill + i`; id[i] receives its Node ID. (Inline: only
 * the tests that call it link the identity module.) */
static inline void mt_test_keypairs(mt_keypair *k, char (*id)[MT_NODE_ID_MAX], size_t n,
				    unsigned char first_fill)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char seed[32];
		memset(seed, (unsigned char)(first_fill + i), sizeof seed);
		mt_keypair_from_seed(&k[i], seed);
		mt_node_id_encode(id[i], k[i].pk);
	}
}

#endif
