/** Opening test stores on the backend MESH_TEST_STORE names (test-only code;
 * linked into the unit tests of the modules that use the store). */
#ifndef MT_TESTSTORE_H
#define MT_TESTSTORE_H

#include "meshtrust/store.h"

/** Open the test store at `path` on the backend of $MESH_TEST_STORE: unset,
 * "" or "sqlite": SQLite at `path` (mt_store_open); a postgresql:// URL (the
 * admin URL of a throw-away cluster, tests/pg/with-cluster.sh): a
 * PostgreSQL schema named after `path` (created on first use; the store's
 * URL sets its search_path), so that
 * opening one path twice gives two handles on one store and two paths two
 * stores. Returns what the open returns. */
int mt_test_store_open(mt_store **out, const char *path, mt_error *err);

/** Remove the test store at `path` (its SQLite files, or its PostgreSQL
 * schema), so that the next mt_test_store_open there starts empty. Best
 * effort. No handle may be open on it. */
void mt_test_store_drop(const char *path);

/** 1 when the test stores are PostgreSQL ones (tests of SQLite's internals
 * skip themselves then). */
int mt_test_store_is_pg(void);

/** In a cmocka test of the SQLite backend's internals (its SQL handle, its
 * projection table, its migrations): skip on PostgreSQL test stores. */
#define MT_TEST_SQLITE_ONLY()              \
	do {                               \
		if (mt_test_store_is_pg()) \
			skip();            \
	} while (0)

#endif
