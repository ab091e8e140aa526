/* Test stores on the backend MESH_TEST_STORE names (teststore.h). */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meshtrust/statement.h"
#include "teststore.h"

int mt_test_store_is_pg(void)
{
	const char *url = getenv("MESH_TEST_STORE");
	return url && strncmp(url, "postgres", 8) == 0;
}

/* The schema a path's store lives in: t_ and 16 hex digits of its hash. */
static void schema_of(char out[32], const char *path)
{
	unsigned char h[32];
	mt_blake2b256(h, path, strlen(path));
	snprintf(out, 32, "t_%02x%02x%02x%02x%02x%02x%02x%02x", h[0], h[1], h[2], h[3], h[4], h[5],
		 h[6], h[7]);
}

/* Run `sql` on the admin URL; 0 or -1 (message on stderr). SQLSTATE
 * `ignore` (may be NULL) counts as success. */
static int admin_exec(const char *sql, const char *ignore)
{
	PGconn *c = PQconnectdb(getenv("MESH_TEST_STORE"));
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "teststore: cannot connect: %s", PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	PGresult *r = PQexec(c, sql);
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
		 (ignore && state && strcmp(state, ignore) == 0);
	if (!ok)
		fprintf(stderr, "teststore: %s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
	return ok ? 0 : -1;
}

int mt_test_store_open(mt_store **out, const char *path, mt_error *err)
{
	if (!mt_test_store_is_pg())
		return mt_store_open(out, path, err);
	/* A schema per store (cheaper than a database): the store's URL sets
	 * its search_path. */
	char schema[32], sql[96], url[1024];
	schema_of(schema, path);
	snprintf(sql, sizeof sql, "CREATE SCHEMA %s", schema);
	if (admin_exec(sql, "42P06")) /* duplicate_schema: the path's store exists */
		return mt_error_set(err, MT_EIO, "teststore: cannot create the test schema");
	const char *admin = getenv("MESH_TEST_STORE");
	int n = snprintf(url, sizeof url, "%s%coptions=-csearch_path%%3D%s", admin,
			 strchr(admin, '?') ? '&' : '?', schema);
	if (n < 0 || (size_t)n >= sizeof url)
		return mt_error_set(err, MT_EINVAL, "teststore: MESH_TEST_STORE is too long");
	return mt_store_open_url(out, url, err);
}

void mt_test_store_drop(const char *path)
{
	if (!mt_test_store_is_pg()) {
		char p[4200];
		unlink(path);
		snprintf(p, sizeof p, "%s-wal", path);
		unlink(p);
		snprintf(p, sizeof p, "%s-shm", path);
		unlink(p);
		return;
	}
	/* Emptying the tables is much cheaper than dropping the schema and
	 * migrating a new one (some tests start over hundreds of times). */
	char schema[32], sql[1024];
	schema_of(schema, path);
	snprintf(sql, sizeof sql,
		 "DO $$ DECLARE t text; BEGIN"
		 " IF to_regclass('%1$s.mt_clock') IS NOT NULL THEN"
		 "  SELECT string_agg(format('%%I.%%I', schemaname, tablename), ', ') INTO t"
		 "   FROM pg_tables WHERE schemaname = '%1$s'"
		 "   AND tablename NOT IN ('mt_meta', 'mt_clock');"
		 "  EXECUTE 'TRUNCATE ' || t || ' RESTART IDENTITY';"
		 "  UPDATE %1$s.mt_clock SET v = 0;"
		 " END IF; END $$",
		 schema);
	admin_exec(sql, NULL);
}
