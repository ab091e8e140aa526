/* The home's engine snapshot file (tq_snapshot.h; docs/trust-engine.md,
 * "Snapshot").
 *
 * File layout: a 256-byte header, then the engine image of
 * mt_engine_snapshot_encode (meshtrust/snapshot.h).
 *   0  magic "MTSNAPF\0"
 *   8  u32 version (MESH_SNAP_VERSION), u32 header length (256)
 *   16 u64 body length (the file is exactly 256 + that)
 *   24 u64 reserved (0)
 *   32 state key (32 bytes, tq_snapshot.h)
 *   64 store digest, 64 hex characters + NUL (65 bytes), zero padding
 *   192 BLAKE2b-256 over header bytes 0..192 and the body
 *   224 zero
 * All integers native-endian (the image refuses another byte order). */
#include "tq_snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "opts.h"
#include "meshtrust/snapshot.h"
#include "meshtrust/store.h"

#define MESH_SNAP_VERSION 1u
#define SNAP_HDR 256u
#define SNAP_SUM_AT 192u
static const char SNAP_FILE_MAGIC[8] = {'M', 'T', 'S', 'N', 'A', 'P', 'F', 0};

/* ---- the state key ---------------------------------------------------------- */

struct last_stmt {
	int found;
	mt_store_entry e;
	char iss[MT_NODE_ID_MAX];
	char type[32];
};

static int last_cb(const mt_store_entry *e, void *payload)
{
	struct last_stmt *l = payload;
	l->found = 1;
	l->e = *e;
	snprintf(l->iss, sizeof l->iss, "%s", e->iss ? e->iss : "");
	snprintf(l->type, sizeof l->type, "%s", e->type ? e->type : "");
	return 1; /* one is enough */
}

int mesh_snap_key_get(mesh_ctx *ctx, mesh_snap_key *key, mt_error *err)
{
	struct last_stmt l = {0};
	int rc = mt_store_recent(ctx->store, 1, last_cb, &l, err);
	if (rc != 0 && rc != 1)
		return -1;
	char *url = NULL;
	if (mt_store_url_resolve(&url, ctx->home, ctx->db_path, err) != 0)
		return -1;
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, sizeof key->k);
	static const char tag[] = "meshtrust engine.snap state";
	crypto_generichash_update(&h, (const unsigned char *)tag, sizeof tag);
	uint64_t v[6] = {MESH_SNAP_VERSION, MT_ENGINE_SNAPSHOT_VERSION, MT_STORE_SCHEMA, 0, 0, 0};
	const char *kind = mt_store_url_kind(url);
	if (kind && strcmp(kind, "sqlite") == 0) {
		/* the database file itself: another file at the same path is another store */
		const char *path = strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url;
		struct stat st;
		if (stat(path, &st) == 0) {
			v[3] = (uint64_t)st.st_dev;
			v[4] = (uint64_t)st.st_ino;
		}
	}
	crypto_generichash_update(&h, (const unsigned char *)url, strlen(url) + 1);
	free(url);
	if (l.found) {
		v[5] = l.e.seq;
		crypto_generichash_update(&h, l.e.id, 32);
		crypto_generichash_update(&h, (const unsigned char *)l.iss, strlen(l.iss) + 1);
		crypto_generichash_update(&h, (const unsigned char *)l.type, strlen(l.type) + 1);
		int64_t ts = l.e.ts;
		crypto_generichash_update(&h, (const unsigned char *)&ts, sizeof ts);
	}
	crypto_generichash_update(&h, (const unsigned char *)v, sizeof v);
	crypto_generichash_final(&h, key->k, sizeof key->k);
	return 0;
}

/* ---- reading ---------------------------------------------------------------- */

static void snap_path(const mesh_ctx *ctx, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", ctx->home, MESH_SNAP_FILE);
}

struct snap_map {
	void *base;
	size_t len;
};

static void snap_unmap(void *p)
{
	struct snap_map *m = p;
	munmap(m->base, m->len);
	free(m);
}

static void checksum(unsigned char out[32], const unsigned char *hdr, const unsigned char *body,
		     size_t body_len)
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, 32);
	crypto_generichash_update(&h, hdr, SNAP_SUM_AT);
	crypto_generichash_update(&h, body, body_len);
	crypto_generichash_final(&h, out, 32);
}

int mesh_snap_load(mesh_ctx *ctx, const mesh_snap_key *key, mt_engine **out, char digest[65],
		   const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	*out = NULL;
	char path[4200];
	snap_path(ctx, path, sizeof path);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		*why = errno == ENOENT ? "no snapshot" : "cannot open the snapshot";
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022) || (uint64_t)st.st_size < SNAP_HDR ||
	    (uint64_t)st.st_size > (uint64_t)SIZE_MAX / 2) {
		close(fd);
		*why = "not a snapshot file of this user (type, owner, mode or size)";
		return -1;
	}
	size_t len = (size_t)st.st_size;
	void *base = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (base == MAP_FAILED) {
		*why = "cannot map the snapshot";
		return -1;
	}
	const unsigned char *p = base;
	uint32_t version, hlen;
	uint64_t body_len;
	memcpy(&version, p + 8, 4);
	memcpy(&hlen, p + 12, 4);
	memcpy(&body_len, p + 16, 8);
	unsigned char sum[32];
	static const unsigned char zero[64];
	if (memcmp(p, SNAP_FILE_MAGIC, 8) != 0 || version != MESH_SNAP_VERSION || hlen != SNAP_HDR) {
		*why = "not a snapshot of this version";
	} else if (body_len != len - SNAP_HDR) {
		*why = "torn snapshot (length)";
	} else if (memcmp(p + 32, key->k, 32) != 0) {
		*why = "stale snapshot (the store changed)";
	} else if (memcmp(p + 24, zero, 8) != 0 || memcmp(p + 128, zero, 64) != 0 ||
		   memcmp(p + 224, zero, 32) != 0) {
		*why = "damaged snapshot header";
	} else if (checksum(sum, p, p + SNAP_HDR, len - SNAP_HDR), sodium_memcmp(sum, p + SNAP_SUM_AT, 32) != 0) {
		*why = "snapshot checksum mismatch";
	} else {
		for (int i = 0; i < 64; i++) {
			char c = (char)p[64 + i];
			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
				*why = "damaged snapshot header (digest)";
				goto miss;
			}
		}
		struct snap_map *m = malloc(sizeof *m);
		if (!m) {
			*why = "out of memory";
			goto miss;
		}
		m->base = base;
		m->len = len;
		mt_error err = {0};
		if (mt_engine_snapshot_borrow(out, p + SNAP_HDR, len - SNAP_HDR, snap_unmap, m, &err) != 0) {
			free(m);
			*why = "snapshot image refused";
			goto miss;
		}
		memcpy(digest, p + 64, 65);
		*why = "hit";
		return 0;
	}
miss:
	munmap(base, len);
	return -1;
}

/* ---- writing ---------------------------------------------------------------- */

static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int mesh_snap_write(mesh_ctx *ctx, const mesh_snap_key *key, const mt_engine *e,
		    const char digest[65], size_t *bytes, mt_error *err)
{
	unsigned char *body = NULL;
	size_t body_len = 0;
	int rc = mt_engine_snapshot_encode(e, &body, &body_len, err);
	if (rc)
		return rc;
	unsigned char hdr[SNAP_HDR] = {0};
	memcpy(hdr, SNAP_FILE_MAGIC, 8);
	uint32_t version = MESH_SNAP_VERSION, hlen = SNAP_HDR;
	uint64_t bl = body_len;
	memcpy(hdr + 8, &version, 4);
	memcpy(hdr + 12, &hlen, 4);
	memcpy(hdr + 16, &bl, 8);
	memcpy(hdr + 32, key->k, 32);
	memcpy(hdr + 64, digest, 64);
	checksum(hdr + SNAP_SUM_AT, hdr, body, body_len);

	char path[4200], tmp[4300];
	snap_path(ctx, path, sizeof path);
	snprintf(tmp, sizeof tmp, "%s/.%s.%ld.tmp", ctx->home, MESH_SNAP_FILE, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		free(body);
		return mt_error_set(err, MT_EIO, "snapshot: cannot create %s: %s", tmp, strerror(errno));
	}
	int ok = write_all(fd, hdr, sizeof hdr) == 0 && write_all(fd, body, body_len) == 0 && fsync(fd) == 0;
	int saved = errno;
	free(body);
	if (close(fd) != 0)
		ok = 0;
	if (!ok || rename(tmp, path) != 0) {
		if (ok)
			saved = errno;
		unlink(tmp);
		return mt_error_set(err, MT_EIO, "snapshot: cannot write %s: %s", path, strerror(saved));
	}
	int dfd = open(ctx->home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) { /* the rename itself durable */
		fsync(dfd);
		close(dfd);
	}
	if (bytes)
		*bytes = sizeof hdr + body_len;
	return 0;
}

void mesh_snap_save_quiet(mesh_ctx *ctx, const mesh_snap_key *key, const mt_engine *e,
			  const char digest[65])
{
	mesh_snap_key now;
	mt_error err = {0};
	if (mesh_snap_key_get(ctx, &now, &err) != 0 || memcmp(now.k, key->k, 32) != 0)
		return; /* the store moved meanwhile: this engine is not of one state */
	if (mesh_snap_write(ctx, key, e, digest, NULL, &err) != 0)
		fprintf(stderr, "mesh: warning: %s (the engine snapshot is a cache; answers are "
				"unaffected)\n",
			err.msg);
}

/* ---- mesh store compact ----------------------------------------------------- */

static const mesh_opt COMPACT_OPTS[] = {
	MESH_OPT_JSON_H("print {file, bytes, nodes, edges, scopes, digest} as JSON"), MESH_OPT_END};
static const mesh_spec COMPACT_SPEC = {
	"mesh store compact [--json]",
	"Rebuild the trust engine from the store's current edges and rewrite the home's\n"
	"engine snapshot (engine.snap), which `mesh trust list|path|explain` map instead\n"
	"of reading every edge. Queries also rewrite it when they find it stale.",
	COMPACT_OPTS, 0, 0, NULL, NULL};

int mesh_store_compact(mesh_ctx *ctx, int argc, char **argv)
{
	mesh_args a;
	int rc = mesh_parse_args(&COMPACT_SPEC, argc, argv, &a);
	if (rc != MESH_ARGS_RUN)
		return rc;
	int json = mesh_args_count(&a, 'j') > 0;
	if ((rc = mesh_open_store(ctx)))
		return rc;
	mt_error err = {0};
	mesh_snap_key key, after;
	/* the key first: the edges read next are of that state or a later one */
	if (mesh_snap_key_get(ctx, &key, &err) != 0)
		return mesh_fail_err(&err);
	char digest[65];
	uint64_t held = 0;
	mt_edge_in *edges = NULL;
	size_t n = 0;
	mt_engine *e = NULL;
	if (mt_store_digest_hex(ctx->store, digest, &held, &err) != 0 ||
	    mt_store_edges(ctx->store, &edges, &n, INT64_MAX, &err) != 0)
		return mesh_fail_err(&err);
	rc = mt_engine_new(&e, edges, n, &err);
	free(edges);
	if (rc)
		return mesh_fail_err(&err);
	if (mesh_snap_key_get(ctx, &after, &err) != 0) {
		mt_engine_free(e);
		return mesh_fail_err(&err);
	}
	if (memcmp(key.k, after.k, 32) != 0) {
		mt_engine_free(e);
		return mesh_fail("store compact: statements were added while the engine was built; "
				 "run it again");
	}
	size_t bytes = 0;
	if (mesh_snap_write(ctx, &key, e, digest, &bytes, &err) != 0) {
		mt_engine_free(e);
		return mesh_fail_err(&err);
	}
	mt_engine_stats es;
	mt_engine_stats_get(e, &es);
	mt_engine_free(e);
	char path[4200];
	snap_path(ctx, path, sizeof path);
	if (json)
		return mesh_print_json(json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:s}", "file", path, "bytes",
						  (json_int_t)bytes, "nodes", (json_int_t)es.nodes, "edges",
						  (json_int_t)es.edges, "scopes", (json_int_t)es.scopes,
						  "statements", (json_int_t)held, "digest", digest));
	printf("wrote %s: %zu nodes, %zu edges, %zu scope(s), %zu bytes (state %.16s…, %llu "
	       "statements)\n",
	       path, es.nodes, es.edges, es.scopes, bytes, digest, (unsigned long long)held);
	return EXIT_OK;
}
