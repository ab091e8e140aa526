/* The notes of a trust listing read once (mt_view_notes, mt_view_note_in)
 * instead of once per row: the same note in every row as mt_view_note gives,
 * per scope (a note in coop:x is not shown in global), for listings under
 * and over the one-read threshold, best-path and flow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meshtrust/engine.h"
#include "meshtrust/flow.h"
#include "meshtrust/views.h"
#include "teststore.h"
#include "testutil.h"

#define V "12D3KooWviewpointviewpointviewpointviewpointvvvvv"

/* Node IDs are opaque strings to the engine and the views. */
static void id_of(char out[64], int i)
{
	snprintf(out, 64, "12D3KooWnode%04dxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", i);
}

/* Each row's "note" equals mt_view_note's for its ID in `scope`. */
static void check_rows(mt_store *s, const json_t *doc, const char *scope, size_t want_rows,
		       size_t want_notes)
{
	const json_t *rows = json_object_get(doc, "results");
	assert_int_equal(json_array_size(rows), want_rows);
	size_t i, seen = 0;
	const json_t *row;
	json_array_foreach(rows, i, row)
	{
		const char *id = json_string_value(json_object_get(row, "node_id"));
		char *want = mt_view_note(s, id, scope);
		const json_t *got = json_object_get(row, "note");
		if (want) {
			assert_string_equal(json_string_value(got), want);
			seen++;
		} else {
			assert_true(json_is_null(got));
		}
		free(want);
	}
	assert_int_equal(seen, want_notes);
}

static void listing(int n, void **state)
{
	(void)state;
	char path[] = "/tmp/mt-views-notes-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	mt_store *s = NULL;
	mt_error err = {0};
	assert_int_equal(mt_test_store_open(&s, path, &err), 0);
	char (*ids)[64] = calloc((size_t)n, sizeof *ids);
	mt_edge_in *edges = calloc((size_t)n * 2, sizeof *edges);
	assert_non_null(ids);
	assert_non_null(edges);
	for (int i = 0; i < n; i++) {
		id_of(ids[i], i);
		edges[2 * i] = (mt_edge_in){V, ids[i], "global", MT_LEVEL_FULL, 800, 0};
		edges[2 * i + 1] = (mt_edge_in){V, ids[i], "coop:x", MT_LEVEL_FULL, 700, 0};
	}
	/* notes on every third node in global, every fifth in coop:x */
	size_t in_global = 0, in_coop = 0;
	for (int i = 0; i < n; i++) {
		char key[MT_VIEW_NOTE_KEY_MAX], text[80];
		if (i % 3 == 0) {
			mt_view_note_key(key, ids[i], "global");
			snprintf(text, sizeof text, "global note %d", i);
			assert_int_equal(mt_store_note_set(s, key, text, &err), 0);
			in_global++;
		}
		if (i % 5 == 0) {
			mt_view_note_key(key, ids[i], "coop:x");
			snprintf(text, sizeof text, "coop note %d \xc3\xa9", i);
			assert_int_equal(mt_store_note_set(s, key, text, &err), 0);
			in_coop++;
		}
	}
	json_t *all = mt_view_notes(s);
	assert_non_null(all);
	assert_int_equal(json_object_size(all), in_global + in_coop);
	assert_null(mt_view_note_in(all, ids[1], "global"));
	assert_string_equal(mt_view_note_in(all, ids[0], "coop:x"), "coop note 0 \xc3\xa9");
	json_decref(all);
	assert_null(mt_view_notes(NULL));

	mt_engine *e = NULL;
	assert_int_equal(mt_engine_new(&e, edges, (size_t)n * 2, &err), 0);
	const double decay[] = {1.0, 0.5};
	const char *scopes[] = {"global", "coop:x"};
	size_t want[] = {in_global, in_coop};
	for (int k = 0; k < 2; k++) {
		mt_trust_query q = {V, scopes[k], 1000, 2, decay, 2};
		mt_trust_result *r = NULL;
		assert_int_equal(mt_engine_trust(&r, e, &q, NULL, &err), 0);
		mt_view_frame f = {"00", V, scopes[k], 1000, 2, NULL, 0};
		json_t *doc = mt_view_trust_list(&f, r, s);
		assert_non_null(doc);
		check_rows(s, doc, scopes[k], (size_t)n, want[k]);
		json_decref(doc);
		mt_trust_result_free(r);

		const uint32_t cap[] = {1000, 1};
		mt_flow_query fq = {V, scopes[k], 1000, 1, cap, 2};
		mt_flow_result *fr = NULL;
		assert_int_equal(mt_flow_trust(&fr, e, &fq, &err), 0);
		f.cap = cap;
		f.n_cap = 2;
		doc = mt_view_flow_list(&f, fr, s);
		assert_non_null(doc);
		check_rows(s, doc, scopes[k], (size_t)n, want[k]);
		json_decref(doc);
		mt_flow_result_free(fr);
	}
	mt_engine_free(e);
	free(edges);
	free(ids);
	mt_store_close(s);
	mt_test_store_drop(path);
}

/* Under the one-read threshold (a query per row) and over it. */
static void test_few_rows(void **state) { listing(5, state); }
static void test_many_rows(void **state) { listing(40, state); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_few_rows),
		cmocka_unit_test(test_many_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
