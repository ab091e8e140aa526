/* The PostgreSQL backend: connecting, the schema and its migrations, the
 * query helpers, write transactions (the advisory lock), and catching the
 * derivation up with what PostgreSQL holds (pg_int.h says why). */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meshtrust/encoding.h"
#include "pg_int.h"

/* ---- parameters and results ------------------------------------------------ */

void mt_pg__text(pgp *p, const char *s)
{
	p->v[p->n] = s;
	p->len[p->n] = 0;
	p->fmt[p->n] = 0;
	p->n++;
}

void mt_pg__i64(pgp *p, int64_t v)
{
	snprintf(p->num[p->n], sizeof p->num[p->n], "%" PRId64, v);
	mt_pg__text(p, p->num[p->n]);
}

void mt_pg__bytes(pgp *p, const void *b, int len)
{
	p->v[p->n] = b;
	p->len[p->n] = len;
	p->fmt[p->n] = 1;
	p->n++;
}

/* SQLSTATEs that mean "try again": serialization failure, deadlock, lock not
 * available, statement or lock timeout. */
static int busy_state(const char *st)
{
	return st && (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0 ||
		      strcmp(st, "55P03") == 0 || strcmp(st, "57014") == 0);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* libpq's message, one line, without the trailing newline. */
static void clean_msg(char *dst, size_t size, const char *msg)
{
	snprintf(dst, size, "%s", msg && *msg ? msg : "connection lost");
	for (char *c = dst; *c; c++)
		if (*c == '\n' || *c == '\r' || *c == '\t')
			*c = ' ';
	size_t l = strlen(dst);
	while (l && dst[l - 1] == ' ')
		dst[--l] = '\0';
}

static void quiet_notices(void *arg, const char *message);
static int session_setup(store_pg *p, mt_error *err);

/* Commits of statements by any handle of this process (mt_pg__wend): a
 * handle's change counter reads the clock again when it moved (its own
 * process's writes need no notification to be seen). */
static uint64_t process_commits;

static int lost(const store_pg *p)
{
	return p->broken || PQstatus(p->conn) != CONNECTION_OK;
}

/* Re-make a lost connection (never inside a transaction: what it had done
 * is gone with the session), at most every MT_PG_RETRY_MS: a database that
 * is down costs a request one failed connection attempt, never a wait.
 * Returns 0 when the connection is good. */
static int reconnect(store_pg *p)
{
	if (!lost(p))
		return 0;
	if (p->pg_tx)
		return -1;
	int64_t now = mono_ms();
	if (p->retry_at_ms && now - p->retry_at_ms < MT_PG_RETRY_MS)
		return -1;
	p->retry_at_ms = now;
	p->listening = 0; /* a new session listens to nothing */
	PQreset(p->conn); /* bounded by connect_timeout */
	p->broken = 0;
	if (PQstatus(p->conn) != CONNECTION_OK) {
		clean_msg(p->down, sizeof p->down, PQerrorMessage(p->conn));
		return -1;
	}
	mt_error e = {0};
	if (session_setup(p, &e)) {
		if (!lost(p)) {
			size_t l = strnlen(e.msg, sizeof p->down - 1);
			memcpy(p->down, e.msg, l);
			p->down[l] = '\0';
		}
		p->broken = 1;
		return -1;
	}
	p->retry_at_ms = 0;
	p->down[0] = '\0';
	return 0;
}

/* Wait until the answer to what was sent can be read without blocking, at
 * most until `deadline` (CLOCK_MONOTONIC ms). Returns 0 when readable (or
 * when the connection failed: PQgetResult then says how), -1 at the
 * deadline: the server did not answer. */
static int await_answer(store_pg *p, int64_t deadline)
{
	for (;;) {
		int f = PQflush(p->conn);
		if (f < 0 || !PQconsumeInput(p->conn))
			return 0;
		if (f == 0 && !PQisBusy(p->conn))
			return 0;
		int64_t left = deadline - mono_ms();
		if (left <= 0)
			return -1;
		struct pollfd pfd = {.fd = PQsocket(p->conn), .events = POLLIN | (f ? POLLOUT : 0)};
		if (pfd.fd < 0)
			return 0;
		if (poll(&pfd, 1, left > 60000 ? 60000 : (int)left) < 0 && errno != EINTR)
			return 0;
	}
}

/* Send `sql` (the extended protocol with `params`, or the simple one for
 * several commands when `simple`) and collect its result: the first error,
 * else the last result. NULL with p->broken set when the server did not
 * answer within p->answer_ms: the connection is given up (the server rolls
 * back what it had open when it notices) and re-made by a later operation. */
static PGresult *run(store_pg *p, const char *sql, const pgp *params, int simple)
{
	int sent = simple ? PQsendQuery(p->conn, sql)
			  : PQsendQueryParams(p->conn, sql, params ? params->n : 0, NULL,
					      params ? params->v : NULL, params ? params->len : NULL,
					      params ? params->fmt : NULL, 1);
	if (!sent)
		return NULL;
	int64_t deadline = mono_ms() + p->answer_ms;
	PGresult *keep = NULL;
	for (;;) {
		if (await_answer(p, deadline)) {
			PQclear(keep);
			p->broken = 1;
			snprintf(p->down, sizeof p->down,
				 "the server did not answer in %" PRId64 " ms", p->answer_ms);
			return NULL;
		}
		PGresult *r = PQgetResult(p->conn);
		if (!r)
			break;
		ExecStatusType st = PQresultStatus(r);
		int bad = st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
			  st != PGRES_EMPTY_QUERY;
		if (!keep || (bad && (PQresultStatus(keep) == PGRES_COMMAND_OK ||
				      PQresultStatus(keep) == PGRES_TUPLES_OK ||
				      PQresultStatus(keep) == PGRES_EMPTY_QUERY))) {
			PQclear(keep);
			keep = r;
		} else {
			PQclear(r);
		}
		if (PQstatus(p->conn) == CONNECTION_BAD)
			break;
	}
	return keep;
}

void mt_pg__exec_quiet(store_pg *p, const char *sql)
{
	if (!lost(p))
		PQclear(run(p, sql, NULL, 1));
}

/* A query that only reads (or opens a transaction) can be run again on a
 * new connection when the old one turned out to be lost. */
static int retryable(const char *sql)
{
	return strncmp(sql, "SELECT ", 7) == 0 || strcmp(sql, "BEGIN") == 0;
}

int mt_pg__q(store_pg *p, PGresult **out, const char *sql, const pgp *params, const char *what,
	     mt_error *err)
{
	if (out)
		*out = NULL;
	if (lost(p) && reconnect(p))
		return mt_error_set(err, MT_EUNAVAIL, "store: %s: " MT_PG_UNAVAILABLE "%s%s", what,
				    p->down[0] ? p->down : "the connection is lost",
				    p->pg_tx ? "" : " (trying again at the next request)");
	PGresult *r = NULL;
	for (int attempt = 0;; attempt++) {
		r = run(p, sql, params, 0);
		if (p->broken)
			return mt_error_set(err, MT_EUNAVAIL, "store: %s: " MT_PG_UNAVAILABLE "%s", what,
					    p->down);
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
			if (out)
				*out = r;
			else
				PQclear(r);
			return 0;
		}
		if (PQstatus(p->conn) != CONNECTION_BAD || p->pg_tx || attempt || !retryable(sql))
			break;
		/* the connection was found lost (a server restarted since the
		 * last operation): a read runs again once on a new one */
		const char *m = r && PQresultErrorMessage(r)[0] ? PQresultErrorMessage(r)
							       : PQerrorMessage(p->conn);
		clean_msg(p->down, sizeof p->down, m);
		PQclear(r);
		r = NULL;
		p->retry_at_ms = 0;
		if (reconnect(p))
			return mt_error_set(err, MT_EUNAVAIL, "store: %s: " MT_PG_UNAVAILABLE "%s",
					    what, p->down);
	}
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	int code = busy_state(state) ? MT_EBUSY : MT_EIO;
	int gone = PQstatus(p->conn) == CONNECTION_BAD;
	const char *pmsg = r && PQresultErrorMessage(r)[0] ? PQresultErrorMessage(r)
							  : PQerrorMessage(p->conn);
	char clean[400];
	clean_msg(clean, sizeof clean, pmsg);
	if (gone) {
		code = MT_EUNAVAIL;
		clean_msg(p->down, sizeof p->down, pmsg);
		/* the next operation tries to reconnect at once */
		p->retry_at_ms = 0;
	}
	mt_error_set(err, code, "store: %s: %s%s", what, gone ? MT_PG_UNAVAILABLE : "", clean);
	PQclear(r);
	return code;
}

int mt_pg__i64_at(const PGresult *r, int row, int col, int64_t *out, mt_error *err)
{
	*out = 0;
	if (PQgetisnull(r, row, col))
		return mt_error_set(err, MT_EIO, "store: database: an integer is NULL");
	const unsigned char *b = (const unsigned char *)PQgetvalue(r, row, col);
	int len = PQgetlength(r, row, col);
	if (len != 8 && len != 4)
		return mt_error_set(err, MT_EIO, "store: database: an integer of %d bytes", len);
	uint64_t v = 0;
	for (int i = 0; i < len; i++)
		v = v << 8 | b[i];
	*out = len == 8 ? (int64_t)v : (int64_t)(int32_t)(uint32_t)v;
	return 0;
}

int mt_pg__id_at(const PGresult *r, int row, int col, unsigned char out[32], mt_error *err)
{
	if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 32)
		return mt_error_set(err, MT_EIO, "store: database: a statement id is not 32 bytes");
	memcpy(out, PQgetvalue(r, row, col), 32);
	return 0;
}

const char *mt_pg__text_at(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);
}

/* The write lock (pg_int.h, PG_WRITE_LOCK), held to the end of the
 * transaction. */
static const char LOCK_SQL[] = "SELECT pg_advisory_xact_lock($1::int, hashtext(current_schema()))";

/* ---- the change counter -------------------------------------------------------- */

int mt_pg__change_counter(store_pg *p, uint64_t *out, mt_error *err)
{
	int64_t now = mono_ms();
	uint64_t commits = __atomic_load_n(&process_commits, __ATOMIC_RELAXED);
	int read = !p->cc_valid || !p->listening || commits != p->cc_commits ||
		   now - p->cc_at >= MT_PG_CLOCK_POLL_MS;
	if (!lost(p)) {
		/* what arrived on the socket, without waiting; a connection found
		 * closed is reported by the read below */
		if (!PQconsumeInput(p->conn))
			read = 1;
		PGnotify *nt;
		while ((nt = PQnotifies(p->conn))) {
			read = 1;
			PQfreemem(nt);
		}
	} else {
		read = 1;
	}
	if (!read) {
		*out = p->cc_last;
		return 0;
	}
	int rc = 0;
	PGresult *r = NULL;
	if (lost(p) && reconnect(p))
		return mt_error_set(err, MT_EUNAVAIL,
				    "store: reading the change counter: " MT_PG_UNAVAILABLE "%s",
				    p->down[0] ? p->down : "the connection is lost");
	if (!p->listening) {
		/* before the read: a write committed after it is notified */
		if ((rc = mt_pg__q(p, &r, "SELECT format('LISTEN %I', " MT_PG_CHANNEL_SQL ")", NULL,
				   "listening", err)))
			return rc;
		char sql[160];
		snprintf(sql, sizeof sql, "%s", PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "");
		PQclear(r);
		r = NULL;
		if ((rc = mt_pg__q(p, NULL, sql, NULL, "listening", err)))
			return rc;
		p->listening = 1;
	}
	int64_t v = 0;
	rc = mt_pg__q(p, &r, "SELECT v FROM mt_clock", NULL, "reading the change counter", err);
	if (!rc)
		rc = PQntuples(r) == 1 ? mt_pg__i64_at(r, 0, 0, &v, err)
				       : mt_error_set(err, MT_EIO, "store: database: no change clock");
	PQclear(r);
	if (rc)
		return rc;
	p->cc_last = (uint64_t)v - p->own_bumps;
	p->cc_valid = 1;
	p->cc_at = now;
	p->cc_commits = commits;
	*out = p->cc_last;
	return 0;
}

/* ---- schema ------------------------------------------------------------------ */

/* Migrations: entry i migrates to version i+1. Text columns compared or
 * ordered are COLLATE "C": the store's orders are bytewise. */
static const char *const MIGRATIONS[MT_PG_SCHEMA] = {
	[0] = "CREATE TABLE mt_meta(key text COLLATE \"C\" PRIMARY KEY, value text NOT NULL);"
	      "CREATE TABLE statements(n bigserial PRIMARY KEY, id bytea NOT NULL UNIQUE,"
	      "  iss text COLLATE \"C\" NOT NULL, seq bigint NOT NULL, ts bigint NOT NULL,"
	      "  type text NOT NULL, prev bytea, canon bytea NOT NULL, seen bigint NOT NULL);"
	      "CREATE INDEX statements_feed ON statements(iss, seq);"
	      "CREATE TABLE own_signed(n bigserial PRIMARY KEY, id bytea NOT NULL UNIQUE);"
	      "CREATE TABLE own_adopted(iss text COLLATE \"C\" PRIMARY KEY);"
	      "CREATE TABLE notes(node_id text COLLATE \"C\" PRIMARY KEY, note text NOT NULL);"
	      "CREATE TABLE config(key text COLLATE \"C\" PRIMARY KEY, value text NOT NULL);"
	      "CREATE TABLE names(name text COLLATE \"C\" PRIMARY KEY,"
	      "  node_id text COLLATE \"C\" NOT NULL UNIQUE);"
	      "CREATE TABLE node_peers(url text COLLATE \"C\" PRIMARY KEY, node_id text NOT NULL,"
	      "  added bigint NOT NULL, last_sync bigint NOT NULL DEFAULT 0,"
	      "  last_error text NOT NULL DEFAULT '', lag bigint NOT NULL DEFAULT 0);"
	      "CREATE TABLE node_quota(kind integer NOT NULL, key text COLLATE \"C\" NOT NULL,"
	      "  minute bigint NOT NULL, n bigint NOT NULL, PRIMARY KEY(kind, key, minute));"
	      /* the change clock: +1 per committed write of statements */
	      "CREATE TABLE mt_clock(one integer PRIMARY KEY CHECK (one = 1), v bigint NOT NULL);"
	      "INSERT INTO mt_clock VALUES(1, 0);"
	      /* full-text index of every lesson held (docs/search.md, PostgreSQL) */
	      "CREATE EXTENSION IF NOT EXISTS unaccent;"
	      /* mt_fold names unaccent in the schema the extension is in
	       * (the store's tables may be in another, by search_path) */
	      "DO $do$ DECLARE ns text; BEGIN"
	      "  SELECT quote_ident(n.nspname) INTO STRICT ns FROM pg_extension e"
	      "    JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'unaccent';"
	      "  EXECUTE format('CREATE FUNCTION mt_fold(t text) RETURNS text LANGUAGE sql"
	      "    IMMUTABLE PARALLEL SAFE AS $f$ SELECT btrim(regexp_replace(lower("
	      "    %1$s.unaccent(%2$L::regdictionary, t)), ''[^[:alnum:]]+'', '' '', ''g'')) $f$',"
	      "    ns, ns || '.unaccent');"
	      "END $do$;"
	      "CREATE TABLE lesson_text(id bytea PRIMARY KEY, author text COLLATE \"C\" NOT NULL,"
	      "  title text NOT NULL, topics text NOT NULL, ts bigint NOT NULL,"
	      "  doc tsvector NOT NULL);"
	      "CREATE INDEX lesson_text_doc ON lesson_text USING gin(doc);",
};

static void quiet_notices(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* A new session's settings: notices quiet, and the bound on every answer:
 * the session's statement_timeout (the URL's, e.g.
 * options=-cstatement_timeout%3D10s; MT_PG_STATEMENT_MS when the server
 * sets none) plus MT_PG_ANSWER_MARGIN_MS, so that a server that is alive
 * cancels a long statement itself (MT_EBUSY) before the client gives up on
 * one that does not answer (MT_EUNAVAIL). */
static int session_setup(store_pg *p, mt_error *err)
{
	PQsetNoticeProcessor(p->conn, quiet_notices, NULL);
	PGresult *r = NULL;
	int64_t ms = 0;
	int rc = mt_pg__q(p, NULL, "SET client_min_messages = warning", NULL, "connecting", err);
	if (!rc)
		rc = mt_pg__q(p, &r,
			      "SELECT setting::bigint FROM pg_settings WHERE name = 'statement_timeout'",
			      NULL, "connecting", err);
	if (!rc && PQntuples(r) == 1)
		rc = mt_pg__i64_at(r, 0, 0, &ms, err);
	PQclear(r);
	if (!rc && ms <= 0) {
		char set[64];
		snprintf(set, sizeof set, "SET statement_timeout = %d", MT_PG_STATEMENT_MS);
		rc = mt_pg__q(p, NULL, set, NULL, "connecting", err);
		ms = MT_PG_STATEMENT_MS;
	}
	if (!rc)
		p->answer_ms = ms + MT_PG_ANSWER_MARGIN_MS;
	return rc;
}

static int migrate(store_pg *p, mt_error *err)
{
	int rc;
	PGresult *r = NULL;
	pgp k = {0};
	mt_pg__i64(&k, PG_WRITE_LOCK);
	if ((rc = mt_pg__q(p, NULL, "BEGIN", NULL, "migrating", err)) ||
	    (p->pg_tx = 1,
	     rc = mt_pg__q(p, NULL, LOCK_SQL, &k, "migrating", err)))
		goto fail;
	if ((rc = mt_pg__q(p, &r, "SELECT to_regclass('mt_meta') IS NOT NULL", NULL,
			   "reading schema version", err)))
		goto fail;
	int have = PQntuples(r) == 1 && PQgetlength(r, 0, 0) == 1 && PQgetvalue(r, 0, 0)[0] == 1;
	PQclear(r);
	r = NULL;
	int ver = 0;
	if (have) {
		if ((rc = mt_pg__q(p, &r, "SELECT value FROM mt_meta WHERE key = 'schema'", NULL,
				   "reading schema version", err)))
			goto fail;
		char *end = NULL;
		long v = PQntuples(r) == 1 ? strtol(mt_pg__text_at(r, 0, 0), &end, 10) : -1;
		if (v < 0 || !end || *end || v > 1000000) {
			rc = mt_error_set(err, MT_EIO, "store: database: the schema version is not a "
						       "number");
			goto fail;
		}
		ver = (int)v;
		PQclear(r);
		r = NULL;
	}
	if (ver > MT_PG_SCHEMA) {
		rc = mt_error_set(err, MT_EINVAL,
				  "store: schema version %d is newer than this build knows (%d); "
				  "upgrade meshtrust",
				  ver, MT_PG_SCHEMA);
		goto fail;
	}
	for (int v = ver + 1; v <= MT_PG_SCHEMA; v++) {
		PGresult *m = run(p, MIGRATIONS[v - 1], NULL, 1);
		if (PQresultStatus(m) != PGRES_COMMAND_OK) {
			rc = mt_error_set(err, lost(p) ? MT_EUNAVAIL : MT_EIO,
					  "store: migrating to schema %d: %s%s", v,
					  lost(p) ? MT_PG_UNAVAILABLE : "",
					  m ? PQresultErrorMessage(m) : p->down);
			PQclear(m);
			goto fail;
		}
		PQclear(m);
		pgp a = {0};
		mt_pg__i64(&a, v);
		if ((rc = mt_pg__q(p, NULL,
				   "INSERT INTO mt_meta(key, value) VALUES('schema', $1) ON CONFLICT(key)"
				   " DO UPDATE SET value = excluded.value",
				   &a, "migrating", err)))
			goto fail;
	}
	rc = mt_pg__q(p, NULL, "COMMIT", NULL, "migrating", err);
	p->pg_tx = 0;
	return rc;
fail:
	PQclear(r);
	mt_pg__exec_quiet(p, "ROLLBACK");
	p->pg_tx = 0;
	return rc;
}

/* ---- the derivation ----------------------------------------------------------- */

/* Start the derivation over, empty (it is re-derived by the next catch-up):
 * after it could not follow PostgreSQL's commit. */
static int der_reset(store_pg *p, mt_error *err)
{
	if (p->der)
		p->der->free(p->der);
	p->der = NULL;
	p->last_n = p->last_own = 0;
	return mt_store_sqlite_backend(&p->der, ":memory:", err);
}

#define SYNC_BATCH 2000

/* Load one batch of statements n > last_n; *more = 1 when it was full. */
static int sync_batch(store_pg *p, int *more, mt_error *err)
{
	PGresult *r = NULL;
	pgp a = {0};
	mt_pg__i64(&a, p->last_n);
	*more = 0;
	int rc = mt_pg__q(p, &r,
			  "SELECT n, id, canon FROM statements WHERE n > $1 ORDER BY n LIMIT 2000",
			  &a, "reading statements", err);
	if (rc)
		return rc;
	int rows = PQntuples(r);
	if (!rows) {
		PQclear(r);
		return 0;
	}
	*more = rows == SYNC_BATCH;
	int own_tx = !p->der_tx;
	if (own_tx && (rc = p->der->begin(p->der, err))) {
		PQclear(r);
		return rc;
	}
	int64_t n = p->last_n;
	mt_stmt *st = NULL;
	for (int i = 0; i < rows && !rc; i++) {
		unsigned char id[32];
		int len = PQgetlength(r, i, 2);
		if ((rc = mt_pg__i64_at(r, i, 0, &n, err)) || (rc = mt_pg__id_at(r, i, 1, id, err)))
			break;
		/* Checked before use: canonical, and the bytes the id names (the
		 * signature was checked when it was stored; `log verify` checks
		 * it again). */
		if (len <= 0 || len > MT_STMT_MAX ||
		    mt_stmt_reparse(&st, PQgetvalue(r, i, 2), (size_t)len, INT64_MAX, err) ||
		    memcmp(st->id, id, 32) != 0) {
			char hex[65];
			mt_hex_encode(hex, sizeof hex, id, 32);
			rc = mt_error_set(err, MT_EIO,
					  "store: database: statement %s (n %" PRId64
					  ") is not the canonical statement its id names",
					  hex, n);
			break;
		}
		mt_ingest_result res;
		rc = p->der->ingest(p->der, st, &res, err);
	}
	mt_stmt_free(st);
	PQclear(r);
	if (own_tx) {
		if (!rc)
			rc = p->der->commit(p->der, err);
		if (rc)
			p->der->rollback(p->der);
	}
	if (!rc)
		p->last_n = n;
	else if (!own_tx)
		return rc; /* the enclosing transaction rolls back, last_n with it */
	return rc;
}

static int sync_own(store_pg *p, mt_error *err)
{
	PGresult *r = NULL;
	pgp a = {0};
	mt_pg__i64(&a, p->last_own);
	int rc = mt_pg__q(p, &r, "SELECT n, id FROM own_signed WHERE n > $1 ORDER BY n", &a,
			  "reading own statements", err);
	if (rc)
		return rc;
	int64_t n = p->last_own;
	for (int i = 0; i < PQntuples(r) && !rc; i++) {
		unsigned char id[32];
		if (!(rc = mt_pg__i64_at(r, i, 0, &n, err)) && !(rc = mt_pg__id_at(r, i, 1, id, err)))
			rc = mt_store__own_mark(mt_store__sq(p->der), id, err);
	}
	PQclear(r);
	if (!rc)
		p->last_own = n;
	return rc;
}

int mt_pg__sync(store_pg *p, mt_error *err)
{
	int rc = 0, more = 1;
	if (!p->der && (rc = der_reset(p, err)))
		return rc;
	while (more && !rc)
		rc = sync_batch(p, &more, err);
	return rc ? rc : sync_own(p, err);
}

/* ---- write transactions --------------------------------------------------------- */

int mt_pg__wbegin(store_pg *p, int *own, mt_error *err)
{
	*own = !p->in_tx;
	if (!*own)
		return 0;
	if (p->overlay)
		return mt_error_set(err, MT_EINVAL, "store: a lesson overlay is open (read only)");
	pgp k = {0};
	mt_pg__i64(&k, PG_WRITE_LOCK);
	int rc = mt_pg__q(p, NULL, "BEGIN", NULL, "beginning a write", err);
	if (rc) {
		*own = 0;
		return rc;
	}
	p->pg_tx = 1; /* no reconnect from here on */
	if (!(rc = mt_pg__q(p, NULL, LOCK_SQL, &k, "taking the write lock", err)))
		rc = mt_pg__sync(p, err);
	if (!rc) {
		p->tx_last_n = p->last_n;
		p->tx_last_own = p->last_own;
		p->wrote = 0;
		if (!(rc = p->der->begin(p->der, err)))
			p->der_tx = 1;
	}
	if (rc) {
		mt_pg__exec_quiet(p, "ROLLBACK");
		p->pg_tx = 0;
		*own = 0;
	}
	return rc;
}

int mt_pg__wend(store_pg *p, int own, int rc, mt_error *err)
{
	if (!own)
		return rc;
	/* the clock moves and the listeners (pg_change_counter) are told, at
	 * COMMIT, in one round trip */
	if (!rc && p->wrote)
		rc = mt_pg__q(p, NULL,
			      "UPDATE mt_clock SET v = v + 1 RETURNING pg_notify(" MT_PG_CHANNEL_SQL
			      ", v::text)",
			      NULL, "committing", err);
	if (!rc)
		rc = mt_pg__q(p, NULL, "COMMIT", NULL, "committing", err);
	p->pg_tx = 0;
	p->der_tx = 0;
	if (rc) {
		mt_pg__exec_quiet(p, "ROLLBACK");
		p->der->rollback(p->der);
		p->last_n = p->tx_last_n;
		p->last_own = p->tx_last_own;
		return rc;
	}
	if (p->wrote) {
		p->own_bumps++;
		__atomic_fetch_add(&process_commits, 1, __ATOMIC_RELAXED);
	}
	mt_error e2 = {0};
	if (p->der->commit(p->der, &e2)) {
		/* PostgreSQL has it; the derivation could not keep it: derive
		 * again from PostgreSQL at the next operation. */
		p->der->rollback(p->der);
		p->der->free(p->der);
		p->der = NULL;
		p->last_n = p->last_own = 0;
	}
	return 0;
}

int mt_pg__put(store_pg *p, const mt_stmt *st, int own, mt_error *err)
{
	pgp a = {0};
	int64_t seen = (int64_t)time(NULL);
	if (st->ts > seen)
		seen = st->ts;
	mt_pg__bytes(&a, st->id, 32);
	mt_pg__text(&a, st->iss);
	mt_pg__i64(&a, (int64_t)st->seq);
	mt_pg__i64(&a, st->ts);
	mt_pg__text(&a, mt_stmt_type_name(st->type));
	if (st->has_prev)
		mt_pg__bytes(&a, st->prev, 32);
	else
		mt_pg__text(&a, NULL);
	mt_pg__bytes(&a, st->canon, (int)st->canon_len);
	mt_pg__i64(&a, seen);
	PGresult *r = NULL;
	int rc = mt_pg__q(p, &r,
			  "INSERT INTO statements(id, iss, seq, ts, type, prev, canon, seen) "
			  "VALUES($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT(id) DO NOTHING RETURNING n",
			  &a, "storing a statement", err);
	if (rc)
		return rc;
	/* Under the write lock, caught up: every row before this one is in
	 * the derivation already. */
	int64_t n = 0;
	if (PQntuples(r) == 1 && !(rc = mt_pg__i64_at(r, 0, 0, &n, err)))
		p->last_n = n;
	PQclear(r);
	p->wrote = 1;
	if (!rc && st->type == MT_ST_LESSON)
		rc = mt_pg__lesson_put(p, st, err);
	if (!rc && own) {
		pgp b = {0};
		mt_pg__bytes(&b, st->id, 32);
		if (!(rc = mt_pg__q(p, &r,
				    "INSERT INTO own_signed(id) VALUES($1) ON CONFLICT(id) DO NOTHING "
				    "RETURNING n",
				    &b, "recording own statement", err))) {
			if (PQntuples(r) == 1 && !(rc = mt_pg__i64_at(r, 0, 0, &n, err)))
				p->last_own = n;
			PQclear(r);
		}
	}
	return rc;
}

/* ---- open / close ---------------------------------------------------------------- */

static void pg_free(mt_store_backend *be)
{
	if (!be)
		return;
	store_pg *p = mt_store__pg(be);
	if (p->overlay)
		mt_pg__lessons_overlay_end(be);
	if (p->der)
		p->der->free(p->der);
	if (p->conn)
		PQfinish(p->conn);
	free(p->ov_ids);
	free(p);
}

int mt_store_pg_backend(mt_store_backend **out, const char *conninfo, mt_error *err)
{
	*out = NULL;
	if (!conninfo)
		return mt_error_set(err, MT_EINVAL, "store: no PostgreSQL connection string");
	store_pg *p = calloc(1, sizeof *p);
	if (!p)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	p->be = mt_pg__ops;
	p->be.free = pg_free;
	int rc;
	/* Defaults for a server that stops answering (docs/postgresql.md,
	 * "When the database fails"); the URL's own values, read after them
	 * (the URL is expanded in place of dbname), win. connect_timeout
	 * bounds a (re)connection; TCP keepalives and tcp_user_timeout notice
	 * a peer gone from the network (TCP only: ignored on a Unix socket);
	 * the statement_timeout (session_setup) bounds every answer. */
	const char *const keys[] = {"connect_timeout", "keepalives", "keepalives_idle",
				    "keepalives_interval", "keepalives_count", "tcp_user_timeout",
				    "dbname", NULL};
	const char *const vals[] = {"5", "1", "30", "10", "3", "30000", conninfo, NULL};
	p->answer_ms = MT_PG_STATEMENT_MS + MT_PG_ANSWER_MARGIN_MS;
	p->conn = PQconnectdbParams(keys, vals, 1);
	if (!p->conn || PQstatus(p->conn) != CONNECTION_OK) {
		char msg[400];
		snprintf(msg, sizeof msg, "%s", p->conn ? PQerrorMessage(p->conn) : "out of memory");
		size_t l = strlen(msg);
		while (l && (msg[l - 1] == '\n' || msg[l - 1] == ' '))
			msg[--l] = '\0';
		rc = mt_error_set(err, MT_EIO, "store: cannot connect to PostgreSQL: %s", msg);
		goto fail;
	}
	if ((rc = session_setup(p, err)) || (rc = migrate(p, err)) || (rc = mt_pg__sync(p, err)))
		goto fail;
	*out = &p->be;
	return 0;
fail:
	pg_free(&p->be);
	return rc;
}
