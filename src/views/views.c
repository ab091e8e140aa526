/* The documents both front ends show (views.h): one builder per answer. */
#include <stdlib.h>
#include <string.h>

#include "meshtrust/encoding.h"
#include "meshtrust/policy.h"
#include "meshtrust/views.h"

static json_t *frame_json(const mt_view_frame *f, const char *mode)
{
	return json_pack("{s:s,s:s,s:s,s:I,s:i,s:s}", "digest", f->digest, "viewpoint",
			 f->viewpoint, "scope", f->scope, "at", (json_int_t)f->at, "max_depth",
			 f->max_depth, "mode", mode);
}

/* The schedule a flow answer used: the frame's fixed one, or the one the
 * adaptive query derived (`cap`, `n_cap` from its result). */
static json_t *caps_json(const mt_view_frame *f, int adaptive, const uint32_t *cap, size_t n_cap)
{
	json_t *a = json_array();
	if (!adaptive) {
		cap = f->cap;
		n_cap = f->n_cap;
	}
	for (size_t i = 0; a && i < n_cap; i++)
		json_array_append_new(a, json_integer(cap[i]));
	return a;
}

void mt_view_note_key(char out[MT_VIEW_NOTE_KEY_MAX], const char *id, const char *scope)
{
	if (!scope || strcmp(scope, "global") == 0)
		snprintf(out, MT_VIEW_NOTE_KEY_MAX, "%s", id);
	else
		snprintf(out, MT_VIEW_NOTE_KEY_MAX, "%s %s", id, scope);
}

char *mt_view_note(mt_store *s, const char *id, const char *scope)
{
	char key[MT_VIEW_NOTE_KEY_MAX], *note = NULL;
	mt_view_note_key(key, id, scope);
	if (s && mt_store_note_get(s, key, &note, NULL) != 0) {
		free(note);
		return NULL;
	}
	return note;
}

/* mt_kv_visit_fn of mt_view_notes. */
static int add_note(const char *key, const char *value, void *payload)
{
	json_t *v = json_string(value);
	return !v || json_object_set_new(payload, key, v) ? MT_ENOMEM : 0;
}

json_t *mt_view_notes(mt_store *s)
{
	json_t *notes = s ? json_object() : NULL;
	if (notes && mt_store_notes(s, add_note, notes, NULL) != 0) {
		json_decref(notes);
		notes = NULL;
	}
	return notes;
}

const char *mt_view_note_in(const json_t *notes, const char *id, const char *scope)
{
	char key[MT_VIEW_NOTE_KEY_MAX];
	mt_view_note_key(key, id, scope);
	return json_string_value(json_object_get(notes, key));
}

/* The note of one row: from `notes` (mt_view_notes) when the listing read
 * them all, else asked of the store. */
static json_t *note_json(mt_store *s, const json_t *notes, const char *id, const char *scope)
{
	if (notes) {
		const char *n = mt_view_note_in(notes, id, scope);
		return n ? json_string(n) : json_null();
	}
	char *note = mt_view_note(s, id, scope);
	json_t *v = note ? json_string(note) : json_null();
	free(note);
	return v;
}

/* Rows from which one read of every note beats a query per row. */
#define NOTES_IN_ONE_READ 16

/* mt_rotation_visit_fn: new ID -> [the IDs rotated into it], effective
 * rotations only. */
static int add_pred(const char *old_id, const char *new_id, int effective, void *payload)
{
	if (!effective)
		return 0;
	json_t *list = json_object_get(payload, new_id);
	if (!list) {
		list = json_array();
		if (!list || json_object_set_new(payload, new_id, list))
			return MT_ENOMEM;
	}
	return json_array_append_new(list, json_string(old_id)) ? MT_ENOMEM : 0;
}

/* The IDs each ID was rotated from, transitively (SPEC §9.2: answers name the
 * newest ID, with `rotated_from`); an empty object without a store. */
static json_t *predecessors(mt_store *s)
{
	json_t *pred = json_object();
	if (s && pred && mt_store_rotation_links(s, add_pred, pred, NULL) != 0)
		json_object_clear(pred);
	return pred;
}

/* Entry `e` gets "rotated_from": [oldest … newest predecessor] when `id` has any. */
static void set_rotated_from(json_t *e, const json_t *pred, const char *id)
{
	json_t *chain = json_array();
	const char *cur = id;
	for (int hops = 0; chain && hops < 64; hops++) {
		json_t *list = json_object_get(pred, cur);
		if (!list || !json_array_size(list))
			break;
		cur = json_string_value(json_array_get(list, 0));
		json_array_insert_new(chain, 0, json_string(cur));
	}
	if (chain && json_array_size(chain) && e)
		json_object_set_new(e, "rotated_from", chain);
	else
		json_decref(chain);
}

json_t *mt_view_trust_list(const mt_view_frame *f, const mt_trust_result *r, mt_store *s)
{
	json_t *arr = json_array(), *pred = predecessors(s);
	json_t *notes = r->count >= NOTES_IN_ONE_READ ? mt_view_notes(s) : NULL;
	for (size_t i = 0; arr && i < r->count; i++) {
		const mt_trust_entry *t = &r->entries[i];
		json_t *e = json_pack("{s:s,s:s,s:i,s:f,s:s,s:o}", "node_id", t->id, "level",
				      mt_level_name(t->level), "hops", t->hops, "score", t->score,
				      "via", t->via_id, "note", note_json(s, notes, t->id, f->scope));
		set_rotated_from(e, pred, t->id);
		json_array_append_new(arr, e);
	}
	json_decref(notes);
	json_decref(pred);
	json_t *o = frame_json(f, "best-path");
	if (!o || !arr) {
		json_decref(o);
		json_decref(arr);
		return NULL;
	}
	json_object_set_new(o, "results", arr);
	return o;
}

json_t *mt_view_flow_list(const mt_view_frame *f, const mt_flow_result *r, mt_store *s)
{
	json_t *arr = json_array(), *pred = predecessors(s);
	json_t *notes = r->count >= NOTES_IN_ONE_READ ? mt_view_notes(s) : NULL;
	for (size_t i = 0; arr && i < r->count; i++) {
		const mt_flow_entry *t = &r->entries[i];
		json_t *e = json_pack("{s:s,s:s,s:i,s:f,s:s,s:o,s:b,s:i,s:i}", "node_id", t->id,
				      "level", mt_level_name(t->level), "hops", t->hops, "score",
				      t->score, "via", t->via_id, "note",
				      note_json(s, notes, t->id, f->scope),
				      "accepted", 1, "flow", (int)t->flow, "capacity",
				      (int)t->capacity);
		set_rotated_from(e, pred, t->id);
		json_array_append_new(arr, e);
	}
	json_decref(notes);
	json_decref(pred);
	json_t *o = frame_json(f, r->adaptive ? "flow-adaptive" : "flow");
	if (!o || !arr) {
		json_decref(o);
		json_decref(arr);
		return NULL;
	}
	json_object_set_new(o, "capacities", caps_json(f, r->adaptive, r->capacities, r->n_capacities));
	if (r->adaptive) { /* what the capacities were derived from */
		json_t *layers = json_array();
		for (size_t i = 0; layers && i < r->n_capacities; i++)
			json_array_append_new(layers, json_integer(r->layer[i]));
		json_object_set_new(o, "layers", layers);
	}
	json_object_set_new(o, "flow_depth", json_integer(r->depth));
	json_object_set_new(o, "region", json_integer((json_int_t)r->region));
	json_object_set_new(o, "results", arr);
	return o;
}

json_t *mt_view_path_edge(const mt_path_edge *pe, mt_store *s)
{
	unsigned char sid[32];
	char hex[65] = "";
	if (s && mt_store_edge_get(s, pe->from_id, pe->to_id, pe->scope, sid, NULL, NULL) == 0)
		mt_hex_encode(hex, sizeof hex, sid, 32);
	json_t *o = json_pack("{s:s,s:s,s:s,s:f,s:i,s:s,s:s}", "from", pe->from_id, "to", pe->to_id,
			      "level", mt_level_name(pe->level), "score", pe->score / 1000.0,
			      "score_permille", pe->score, "scope", pe->scope, "statement", hex);
	if (o && pe->exp)
		json_object_set_new(o, "exp", json_integer(pe->exp));
	return o;
}

static json_t *edges_json(const mt_path_edge *edges, size_t n, mt_store *s)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, mt_view_path_edge(&edges[i], s));
	return a;
}

json_t *mt_view_trust_path(const mt_view_frame *f, const char *target, const mt_trust_path *p,
			   mt_store *s)
{
	json_t *o = frame_json(f, "best-path");
	if (!o)
		return NULL;
	json_object_set_new(o, "found", json_boolean(p->found));
	json_object_set_new(o, "target", json_string(target));
	if (p->found) {
		json_object_set_new(o, "score", json_real(p->score));
		json_object_set_new(o, "level", json_string(mt_level_name(p->level)));
		json_object_set_new(o, "hops", json_integer(p->hops));
		json_object_set_new(o, "path", edges_json(p->edges, p->n_edges, s));
	} else {
		json_object_set_new(o, "reason", json_string(p->message));
		json_object_set_new(o, "why", json_string(mt_why_name(p->why)));
		if (p->why == MT_WHY_TOO_DEEP)
			json_object_set_new(o, "depth_needed", json_integer(p->depth_needed));
	}
	return o;
}

json_t *mt_view_flow_path(const mt_view_frame *f, const char *target, const mt_flow_path *p,
			  mt_store *s)
{
	json_t *o = frame_json(f, p->adaptive ? "flow-adaptive" : "flow");
	if (!o)
		return NULL;
	json_object_set_new(o, "found", json_boolean(p->found));
	json_object_set_new(o, "target", json_string(target));
	json_object_set_new(o, "capacities", caps_json(f, p->adaptive, p->capacities, p->n_capacities));
	json_object_set_new(o, "accepted", json_boolean(p->found));
	if (p->in_region) {
		json_object_set_new(o, "hops", json_integer(p->hops));
		json_object_set_new(o, "capacity", json_integer(p->capacity));
		json_object_set_new(o, "flow", json_integer(p->flow));
	}
	if (p->found) {
		json_object_set_new(o, "score", json_real(p->score));
		json_object_set_new(o, "level", json_string(mt_level_name(p->level)));
		json_object_set_new(o, "path", edges_json(p->edges, p->n_edges, s));
	} else {
		json_object_set_new(o, "reason", json_string(p->message));
		json_object_set_new(o, "why", json_string(p->why));
	}
	return o;
}

json_t *mt_view_search(const char *digest, const char *viewpoint, const char *scope,
		       const mt_search_result *r, mt_store *s, int with_statements)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < r->count; i++) {
		const mt_search_hit *h = &r->hits[i];
		json_t *topics = json_loads(h->topics_json, 0, NULL);
		json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:i,s:s,s:f,s:f,s:f,s:f,s:I}", "id", h->id,
				      "author", h->author, "title", h->title, "topics",
				      topics ? topics : json_array(), "hops", h->hops, "level",
				      h->level, "trust", h->trust, "relevance", h->relevance,
				      "freshness", h->freshness, "rank", h->rank, "ts",
				      (json_int_t)h->ts);
		if (o && with_statements) {
			unsigned char id[32];
			char *canon = NULL;
			size_t clen = 0;
			json_t *stmt = NULL;
			if (s && mt_hex_decode(id, 32, h->id, NULL) == 0 &&
			    mt_store_get(s, id, &canon, &clen, NULL) == 0)
				stmt = json_stringn(canon, clen);
			free(canon);
			json_object_set_new(o, "statement", stmt ? stmt : json_null());
		}
		json_array_append_new(arr, o);
	}
	json_t *doc = json_pack("{s:s,s:s,s:s}", "digest", digest, "viewpoint", viewpoint, "scope",
				scope);
	if (!doc || !arr) {
		json_decref(doc);
		json_decref(arr);
		return NULL;
	}
	json_object_set_new(doc, "results", arr);
	return doc;
}

json_t *mt_view_metrics(const mt_metrics_result *m, int per_node, const char *digest, int64_t at,
			double max_gini, int members_only)
{
	char *txt = NULL;
	if (mt_metrics_result_json(&txt, m, per_node, max_gini) != 0)
		return NULL;
	json_t *o = json_loads(txt, 0, NULL);
	free(txt);
	if (!o)
		return NULL;
	json_object_set_new(o, "digest", json_string(digest));
	json_object_set_new(o, "at", json_integer(at));
	json_object_set_new(o, "max_gini", json_real(max_gini));
	json_object_set_new(o, "members_only", json_boolean(members_only));
	return o;
}

int mt_view_metrics_policy(json_t *o, const char *scope, double gini, double max_gini,
			   const char *source, const json_t *overrides)
{
	char alert[MT_K_REASON_MAX];
	int rc = json_object_set_new(o, "max_gini_source",
				     json_string(source && source[0] ? source : "local"));
	if (gini > max_gini) {
		mt_policy_gini_alert(alert, sizeof alert, scope, gini, max_gini, source);
		rc |= json_object_set_new(o, "alert", json_string(alert));
	} else {
		rc |= json_object_set_new(o, "alert", json_null());
	}
	rc |= json_object_set_new(o, "policy_overrides",
				  overrides ? json_deep_copy(overrides) : json_array());
	return rc ? MT_ENOMEM : 0;
}
