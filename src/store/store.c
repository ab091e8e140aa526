/* The store's public functions: each dispatches to the store's backend
 * (store.h "Backends"). No SQL here: the SQLite backend is store_open.c and
 * the files store_int.h lists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/encoding.h"
#include "store_int.h"

/* ---- backends ------------------------------------------------------------ */

int mt_store_backend_init(mt_store_backend *be, unsigned int version)
{
	if (!be || version == 0 || version > MT_STORE_BACKEND_VERSION)
		return MT_EINVAL;
	*be = (mt_store_backend)MT_STORE_BACKEND_INIT;
	be->version = version;
	return 0;
}

/* Is every operation revision 1 requires there? Returns the first missing
 * one's name, or NULL. A later revision adds its own list, checked when
 * be->version has it. */
static const char *missing_v1(const mt_store_backend *be)
{
#define NEED(op)             \
	if (!be->op)         \
		return #op;
	NEED(free) NEED(begin) NEED(commit) NEED(rollback) NEED(ingest) NEED(issue)
	NEED(digest) NEED(rebuild) NEED(derived_dump) NEED(edges) NEED(edge_get) NEED(bridges)
	NEED(foreach) NEED(get) NEED(feed) NEED(verify) NEED(note_set) NEED(note_get)
	NEED(config_set) NEED(config_get)
#undef NEED
	return NULL;
}

/* Revision 2: the reads and local tables the modules above the store used to
 * reach with SQL of their own. */
static const char *missing_v2(const mt_store_backend *be)
{
#define NEED(op)             \
	if (!be->op)         \
		return #op;
	NEED(foreach_type) NEED(contains) NEED(lessons_match) NEED(lessons_overlay_begin)
	NEED(lessons_overlay_end) NEED(feeds) NEED(feed_page) NEED(recent) NEED(forks)
	NEED(change_counter) NEED(peer_put) NEED(peer_synced) NEED(peers) NEED(quota_add)
	NEED(quota_sum) NEED(quota_prune)
#undef NEED
	return NULL;
}

/* Revision 3: the key events (SPEC §9.2). */
static const char *missing_v3(const mt_store_backend *be)
{
#define NEED(op)             \
	if (!be->op)         \
		return #op;
	NEED(key_status) NEED(rotate_admissible) NEED(issue_rotate) NEED(newest_id)
	NEED(own_foreign) NEED(own_adopt) NEED(rotation_links) NEED(seen)
	NEED(name_set) NEED(name_get) NEED(name_lookup) NEED(name_remove) NEED(names)
#undef NEED
	return NULL;
}

/* Revision 4: the lesson listing (SPEC §9.5 directories). */
static const char *missing_v4(const mt_store_backend *be)
{
	return be->lessons_of ? NULL : "lessons_of";
}

/* Revision 5: peer removal, the notes and configuration listings. */
static const char *missing_v5(const mt_store_backend *be)
{
	return !be->peer_remove ? "peer_remove" : !be->notes ? "notes" : !be->configs ? "configs"
										: NULL;
}

/* Revision 6: the log by position. */
static const char *missing_v6(const mt_store_backend *be)
{
	return !be->log_since ? "log_since" : !be->log_position ? "log_position" : !be->ids ? "ids" : NULL;
}

int mt_store_open_backend(mt_store **out, mt_store_backend *be, mt_error *err)
{
	*out = NULL;
	if (!be)
		return mt_error_set(err, MT_EINVAL, "store: no backend");
	const char *name = be->name ? be->name : "?", *missing;
	if (be->version == 0 || be->version > MT_STORE_BACKEND_VERSION)
		return mt_error_set(err, MT_EINVAL,
				    "store: backend %s is of revision %u; this build knows 1..%d",
				    name, be->version, MT_STORE_BACKEND_VERSION);
	if ((missing = missing_v1(be)) || (be->version >= 2 && (missing = missing_v2(be))) ||
	    (be->version >= 3 && (missing = missing_v3(be))) ||
	    (be->version >= 4 && (missing = missing_v4(be))) ||
	    (be->version >= 5 && (missing = missing_v5(be))) ||
	    (be->version >= 6 && (missing = missing_v6(be))))
		return mt_error_set(err, MT_EINVAL, "store: backend %s lacks operation %s", name,
				    missing);
	mt_store *s = calloc(1, sizeof *s);
	if (!s)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	s->be = be;
	*out = s;
	return 0;
}

mt_store_backend *mt_store_backend_of(mt_store *s)
{
	return s->be;
}

int mt_store_open(mt_store **out, const char *path, mt_error *err)
{
	mt_store_backend *be = NULL;
	*out = NULL;
	int rc = mt_store_sqlite_backend(&be, path, err);
	if (rc)
		return rc;
	if ((rc = mt_store_open_backend(out, be, err)))
		be->free(be);
	return rc;
}

void mt_store_close(mt_store *s)
{
	if (!s)
		return;
	s->be->free(s->be);
	free(s);
}

struct sqlite3 *mt_store_db(mt_store *s)
{
	return s->be->native ? s->be->native(s->be, "sqlite") : NULL;
}

/* An operation of revision 2 on a backend written for revision 1. */
static int lacks(mt_store *s, const char *op, mt_error *err)
{
	return mt_error_set(err, MT_EINVAL,
			    "store: backend %s is of revision %u and has no operation %s",
			    s->be->name ? s->be->name : "?", s->be->version, op);
}
#define V2(op) \
	if (s->be->version < 2) \
		return lacks(s, #op, err);
#define V3(op) \
	if (s->be->version < 3) \
		return lacks(s, #op, err);
#define V4(op) \
	if (s->be->version < 4) \
		return lacks(s, #op, err);
#define V5(op) \
	if (s->be->version < 5) \
		return lacks(s, #op, err);
#define V6(op) \
	if (s->be->version < 6) \
		return lacks(s, #op, err);

void mt_store__bulk(mt_store *s, int on)
{
	if (s->be->bulk)
		s->be->bulk(s->be, on);
}

/* ---- transactions and writing ---------------------------------------------- */

int mt_store_begin(mt_store *s, mt_error *err)
{
	return s->be->begin(s->be, err);
}

int mt_store_commit(mt_store *s, mt_error *err)
{
	return s->be->commit(s->be, err);
}

void mt_store_rollback(mt_store *s)
{
	s->be->rollback(s->be);
}

int mt_store_ingest(mt_store *s, const mt_stmt *st, mt_ingest_result *result, mt_error *err)
{
	return s->be->ingest(s->be, st, result, err);
}

int mt_store_issue(mt_store *s, mt_stmt **out, const json_t *body, const mt_keypair *kp,
		   int64_t ts, mt_error *err)
{
	if (out)
		*out = NULL;
	return s->be->issue(s->be, out, body, kp, ts, err);
}

int mt_store_rebuild(mt_store *s, mt_progress_fn progress, void *payload, mt_error *err)
{
	return s->be->rebuild(s->be, progress, payload, err);
}

/* ---- reading ----------------------------------------------------------------- */

int mt_store_digest(mt_store *s, unsigned char out[32], uint64_t *count, mt_error *err)
{
	return s->be->digest(s->be, out, count, err);
}

int mt_store_digest_hex(mt_store *s, char out[65], uint64_t *count, mt_error *err)
{
	unsigned char d[32];
	int rc = mt_store_digest(s, d, count, err);
	if (!rc)
		mt_hex_encode(out, 65, d, 32);
	return rc;
}

int mt_store_derived_dump(mt_store *s, char **out, mt_error *err)
{
	*out = NULL;
	return s->be->derived_dump(s->be, out, err);
}

int mt_store_edges(mt_store *s, mt_edge_in **out, size_t *n, int64_t at, mt_error *err)
{
	*out = NULL;
	*n = 0;
	return s->be->edges(s->be, out, n, at, err);
}

int mt_store_edge_get(mt_store *s, const char *iss, const char *target, const char *scope,
		      unsigned char stmt_id[32], uint64_t *seq, mt_error *err)
{
	return s->be->edge_get(s->be, iss, target, scope, stmt_id, seq, err);
}

int mt_store_bridges(mt_store *s, mt_bridge_visit_fn fn, void *payload, mt_error *err)
{
	return s->be->bridges(s->be, fn, payload, err);
}

int mt_store_foreach(mt_store *s, const char *iss, mt_stmt_visit_fn fn, void *payload,
		     mt_error *err)
{
	return s->be->foreach(s->be, iss, fn, payload, err);
}

int mt_store_get(mt_store *s, const unsigned char id[32], char **canon, size_t *len, mt_error *err)
{
	*canon = NULL;
	return s->be->get(s->be, id, canon, len, err);
}

int mt_store_feed(mt_store *s, const char *iss, mt_feed_info *out, mt_error *err)
{
	return s->be->feed(s->be, iss, out, err);
}

int mt_store_verify(mt_store *s, mt_verify_fn fn, void *payload, uint64_t *checked,
		    uint64_t *problems, mt_progress_fn progress, void *pp, mt_error *err)
{
	*checked = 0;
	*problems = 0;
	return s->be->verify(s->be, fn, payload, checked, problems, progress, pp, err);
}

/* ---- local notes and configuration --------------------------------------------- */

int mt_store_note_set(mt_store *s, const char *node_id, const char *note, mt_error *err)
{
	return s->be->note_set(s->be, node_id, note, err);
}

int mt_store_note_get(mt_store *s, const char *node_id, char **out, mt_error *err)
{
	*out = NULL;
	return s->be->note_get(s->be, node_id, out, err);
}

int mt_store_config_set(mt_store *s, const char *key, const char *value, mt_error *err)
{
	return s->be->config_set(s->be, key, value, err);
}

int mt_store_config_get(mt_store *s, const char *key, char **out, mt_error *err)
{
	*out = NULL;
	return s->be->config_get(s->be, key, out, err);
}

/* ---- revision 2: reads for the modules above, local tables ------------------------ */

int mt_store_foreach_type(mt_store *s, const mt_stmt_type *types, size_t n_types,
			  mt_stmt_visit_fn fn, void *payload, mt_error *err)
{
	V2(foreach_type)
	if (!n_types)
		return 0;
	for (size_t i = 0; i < n_types; i++)
		if ((unsigned)types[i] >= MT_ST__COUNT)
			return mt_error_set(err, MT_EINVAL, "store: no statement type %d",
					    (int)types[i]);
	return s->be->foreach_type(s->be, types, n_types, fn, payload, err);
}

int mt_store_contains(mt_store *s, const unsigned char id[32], int *found, mt_error *err)
{
	*found = 0;
	V2(contains)
	return s->be->contains(s->be, id, found, err);
}

int mt_store_lessons_match(mt_store *s, const char *const *words, size_t n_words,
			   const char *topic, mt_lesson_visit_fn fn, void *payload,
			   uint64_t *matched, mt_error *err)
{
	if (matched)
		*matched = 0;
	V2(lessons_match)
	if (!n_words)
		return mt_error_set(err, MT_EINVAL, "store: matching lessons: no words");
	return s->be->lessons_match(s->be, words, n_words, topic, fn, payload, matched, err);
}

int mt_store_lessons_overlay_begin(mt_store *s, const mt_stmt *const *lessons, size_t n,
				   unsigned char *indexed, mt_error *err)
{
	V2(lessons_overlay_begin)
	for (size_t i = 0; i < n; i++)
		if (lessons[i]->type != MT_ST_LESSON)
			return mt_error_set(err, MT_EINVAL,
					    "store: lesson overlay: a %s statement is not a lesson",
					    mt_stmt_type_name(lessons[i]->type));
	return s->be->lessons_overlay_begin(s->be, lessons, n, indexed, err);
}

void mt_store_lessons_overlay_end(mt_store *s)
{
	if (s->be->version >= 2)
		s->be->lessons_overlay_end(s->be);
}

int mt_store_feeds(mt_store *s, mt_feed_visit_fn fn, void *payload, mt_error *err)
{
	V2(feeds)
	return s->be->feeds(s->be, fn, payload, err);
}

int mt_store_feed_page(mt_store *s, const char *iss, uint64_t from_seq, uint64_t limit,
		       mt_stmt_visit_fn fn, void *payload, mt_error *err)
{
	V2(feed_page)
	if (!limit)
		return 0;
	return s->be->feed_page(s->be, iss, from_seq, limit, fn, payload, err);
}

int mt_store_recent(mt_store *s, uint64_t limit, mt_entry_visit_fn fn, void *payload,
		    mt_error *err)
{
	V2(recent)
	if (!limit)
		return 0;
	return s->be->recent(s->be, limit, fn, payload, err);
}

int mt_store_forks(mt_store *s, uint64_t limit, mt_fork_visit_fn fn, void *payload,
		   mt_error *err)
{
	V2(forks)
	if (!limit)
		return 0;
	return s->be->forks(s->be, limit, fn, payload, err);
}

int mt_store_change_counter(mt_store *s, uint64_t *out, mt_error *err)
{
	*out = 0;
	V2(change_counter)
	return s->be->change_counter(s->be, out, err);
}

int mt_store_peer_put(mt_store *s, const char *url, const char *node_id, int64_t added,
		      mt_error *err)
{
	V2(peer_put)
	return s->be->peer_put(s->be, url, node_id, added, err);
}

int mt_store_peer_synced(mt_store *s, const char *url, int64_t when, const char *error,
			 uint64_t lag, mt_error *err)
{
	V2(peer_synced)
	return s->be->peer_synced(s->be, url, when, error ? error : "", lag, err);
}

int mt_store_peers(mt_store *s, mt_peer_visit_fn fn, void *payload, mt_error *err)
{
	V2(peers)
	return s->be->peers(s->be, fn, payload, err);
}

int mt_store_quota_add(mt_store *s, int kind, const char *key, int64_t minute, uint64_t n,
		       mt_error *err)
{
	V2(quota_add)
	return s->be->quota_add(s->be, kind, key, minute, n, err);
}

int mt_store_quota_sum(mt_store *s, int kind, const char *key, int64_t after, uint64_t *out,
		       mt_error *err)
{
	*out = 0;
	V2(quota_sum)
	return s->be->quota_sum(s->be, kind, key, after, out, err);
}

int mt_store_quota_prune(mt_store *s, int64_t upto, mt_error *err)
{
	V2(quota_prune)
	return s->be->quota_prune(s->be, upto, err);
}

/* ---- revision 3: key events ------------------------------------------------------- */

int mt_store_key_status(mt_store *s, const char *iss, mt_key_status *out, mt_error *err)
{
	memset(out, 0, sizeof *out);
	V3(key_status)
	return s->be->key_status(s->be, iss, out, err);
}

int mt_store_rotate_admissible(mt_store *s, const mt_stmt *st, mt_error *err)
{
	if (!mt_stmt_is_prerotate(st))
		return 0;
	V3(rotate_admissible)
	return s->be->rotate_admissible(s->be, st, err);
}

int mt_store_issue_rotate(mt_store *s, mt_stmt **out, const char *old_iss,
			  const mt_keypair *next_kp, uint64_t last_good, int64_t ts, mt_error *err)
{
	if (out)
		*out = NULL;
	V3(issue_rotate)
	return s->be->issue_rotate(s->be, out, old_iss, next_kp, last_good, ts, err);
}

int mt_store_newest_id(mt_store *s, const char *id, char out[MT_NODE_ID_MAX], mt_error *err)
{
	snprintf(out, MT_NODE_ID_MAX, "%s", id);
	V3(newest_id)
	return s->be->newest_id(s->be, id, out, err);
}

int mt_store_own_foreign(mt_store *s, const char *own_id, mt_own_visit_fn fn, void *payload,
			 uint64_t *count, mt_error *err)
{
	if (count)
		*count = 0;
	V3(own_foreign)
	return s->be->own_foreign(s->be, own_id, fn, payload, count, err);
}

int mt_store_own_adopt(mt_store *s, const char *own_id, mt_error *err)
{
	V3(own_adopt)
	return s->be->own_adopt(s->be, own_id, err);
}

int mt_store_rotation_links(mt_store *s, mt_rotation_visit_fn fn, void *payload, mt_error *err)
{
	V3(rotation_links)
	return s->be->rotation_links(s->be, fn, payload, err);
}

int mt_store_seen(mt_store *s, const unsigned char id[32], int64_t *out, mt_error *err)
{
	*out = 0;
	V3(seen)
	return s->be->seen(s->be, id, out, err);
}

int mt_store_name_valid(const char *name)
{
	size_t n = 0;
	for (; name && name[n]; n++) {
		char c = name[n];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return n >= 1 && n < MT_NAME_MAX;
}

int mt_store_name_set(mt_store *s, const char *node_id, const char *name, mt_error *err)
{
	if (!mt_store_name_valid(name))
		return mt_error_set(err, MT_EINVAL,
				    "store: name '%.40s' is not 1..32 characters of [A-Za-z0-9._-]",
				    name ? name : "");
	if (!node_id || !node_id[0] || strlen(node_id) >= MT_NODE_ID_MAX)
		return mt_error_set(err, MT_EINVAL, "store: name '%s': not a Node ID", name);
	V3(name_set)
	return s->be->name_set(s->be, node_id, name, err);
}

int mt_store_name_get(mt_store *s, const char *node_id, char out[MT_NAME_MAX], mt_error *err)
{
	out[0] = 0;
	V3(name_get)
	return s->be->name_get(s->be, node_id, out, err);
}

int mt_store_name_lookup(mt_store *s, const char *name, char out[MT_NODE_ID_MAX], mt_error *err)
{
	out[0] = 0;
	V3(name_lookup)
	return s->be->name_lookup(s->be, name, out, err);
}

int mt_store_name_remove(mt_store *s, const char *key, int *removed, mt_error *err)
{
	if (removed)
		*removed = 0;
	V3(name_remove)
	return s->be->name_remove(s->be, key, removed, err);
}

int mt_store_names(mt_store *s, mt_name_visit_fn fn, void *payload, mt_error *err)
{
	V3(names)
	return s->be->names(s->be, fn, payload, err);
}

/* ---- revision 4: the lesson listing ------------------------------------------------ */

int mt_store_lessons_of(mt_store *s, const char *author, const char *topic, uint64_t limit,
			mt_lesson_visit_fn fn, void *payload, mt_error *err)
{
	V4(lessons_of)
	return s->be->lessons_of(s->be, author, topic, limit, fn, payload, err);
}

/* ---- revision 5: peer removal, listings of the local tables ------------------------ */

int mt_store_peer_remove(mt_store *s, const char *url, int *removed, mt_error *err)
{
	if (removed)
		*removed = 0;
	V5(peer_remove)
	return s->be->peer_remove(s->be, url, removed, err);
}

int mt_store_notes(mt_store *s, mt_kv_visit_fn fn, void *payload, mt_error *err)
{
	V5(notes)
	return s->be->notes(s->be, fn, payload, err);
}

int mt_store_configs(mt_store *s, mt_kv_visit_fn fn, void *payload, mt_error *err)
{
	V5(configs)
	return s->be->configs(s->be, fn, payload, err);
}

int mt_store_log_since(mt_store *s, uint64_t after, uint64_t limit, mt_log_visit_fn fn,
		       void *payload, mt_error *err)
{
	V6(log_since)
	if (!fn)
		return mt_error_set(err, MT_EINVAL, "store: log_since without a callback");
	if (!limit)
		return 0;
	return s->be->log_since(s->be, after, limit, fn, payload, err);
}

int mt_store_log_position(mt_store *s, uint64_t *out, mt_error *err)
{
	V6(log_position)
	return s->be->log_position(s->be, out, err);
}

int mt_store_ids(mt_store *s, mt_id_visit_fn fn, void *payload, mt_error *err)
{
	V6(ids)
	if (!fn)
		return mt_error_set(err, MT_EINVAL, "store: ids without a callback");
	return s->be->ids(s->be, fn, payload, err);
}
