/* libFuzzer target: the importers' parsing (cli/import_parse.c), as used by
 * `mesh log import` and `mesh trust import`.
 *
 * Properties checked on every input (abort() on violation):
 *  1. NDJSON line reader: reading the input line by line (with a tiny and
 *     with the real line cap) reports NUL bytes and over-long lines, and
 *     when neither occurs, the lines joined with "\n" give the input back.
 *  2. Trust-export document: whatever jansson reads (duplicates refused, as
 *     the CLI does) either is refused by mesh_trust_doc_check with a message,
 *     or has version 1 and a "statements" array; every item then becomes
 *     either canonical bytes (an object item: accepted by mt_canon_check) or
 *     the refused placeholder "x" with a "not canonical: …" reason. The bytes
 *     go through the statement validator (mt_stmt_decode), as ingest does.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The parsers come from mt_cliparse, the library `mesh` links too. */
#include "import_parse.h"
#include "meshtrust/canon.h"
#include "meshtrust/statement.h"

/* Fixed "now" inside the validity window of the test vectors. */
#define FUZZ_NOW 1767225600LL

static void lines(const uint8_t *data, size_t size, size_t cap)
{
	FILE *f = fmemopen((void *)data, size, "rb");
	if (!f)
		return;
	char *buf = malloc(cap);
	char *joined = malloc(size + 2);
	size_t jl = 0, len;
	int rc, clean = 1, n = 0;
	while (buf && joined && (rc = mesh_import_read_line(f, buf, cap, &len)) != 0) {
		if (len >= cap || strlen(buf) > len)
			abort();
		if (rc == -1 || rc == -2) {
			clean = 0;
			if (rc == -1 && len != cap - 1)
				abort();
			if (rc == -2 && !memchr(data, 0, size))
				abort();
			continue;
		}
		if (rc != 1 || memchr(buf, 0, len))
			abort();
		if (n++)
			joined[jl++] = '\n';
		memcpy(joined + jl, buf, len);
		jl += len;
	}
	/* The input minus one trailing newline equals the joined lines. */
	if (buf && joined && clean) {
		size_t want = size && data[size - 1] == '\n' ? size - 1 : size;
		if (jl != want || memcmp(joined, data, jl) != 0)
			abort();
	}
	free(buf);
	free(joined);
	fclose(f);
}

static void trust_doc(const uint8_t *data, size_t size)
{
	json_error_t je;
	json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	if (!doc)
		return;
	const char *why = mesh_trust_doc_check(doc);
	if (why) {
		if (!why[0])
			abort();
		json_decref(doc);
		return;
	}
	json_t *st = json_object_get(doc, "statements");
	if (!json_is_object(doc) || !json_is_array(st) ||
	    json_integer_value(json_object_get(doc, "version")) != 1)
		abort();
	for (size_t i = 0; i < json_array_size(st); i++) {
		json_t *v = json_array_get(st, i);
		char reason[256], *out = NULL;
		size_t len = 0;
		reason[0] = '\0';
		if (mesh_trust_doc_item(&out, &len, v, reason) != 0)
			abort(); /* only MT_ENOMEM, which libFuzzer's malloc never gives */
		if (reason[0]) {
			if (len != 1 || strcmp(out, "x") != 0 ||
			    strncmp(reason, "not canonical: ", 15) != 0)
				abort();
		} else if (json_is_object(v) && len <= MT_STMT_MAX &&
			   mt_canon_check(out, len, NULL) != 0) {
			abort();
		}
		mt_stmt *s = NULL;
		mt_error err = {0};
		if (mt_stmt_decode(&s, out, len, FUZZ_NOW, &err) != 0) {
			if (s || !err.msg[0])
				abort();
		}
		mt_stmt_free(s);
		free(out);
	}
	json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lines(data, size, 16);
	lines(data, size, MT_STMT_MAX + 2);
	trust_doc(data, size);
	return 0;
}
