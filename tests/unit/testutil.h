/** Helpers shared by the unit tests (test-only code). */
#ifndef MT_TESTUTIL_H
#define MT_TESTUTIL_H

#include <jansson.h>

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

#endif
