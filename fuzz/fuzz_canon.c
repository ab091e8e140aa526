/* libFuzzer target for the canonical JSON module (SPEC §2).
 *
 * Properties checked on every input (abort() on violation):
 *  1. mt_canon_check accepts  =>  mt_canon_parse succeeds and mt_canon_dump
 *     gives back exactly the input bytes (one text per value);
 *     mt_canon_check refuses  =>  mt_canon_parse refuses with the same code.
 *  2. whatever jansson reads as an object and mt_canon_dump writes (within
 *     the size limit) is accepted by mt_canon_check (the writer only writes
 *     canonical text).
 * Build (clang): -fsanitize=fuzzer,address,undefined with the sources of src/json,
 * src/util/error.c and -ljansson.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/canon.h"

static void round_trip(const char *text, size_t len)
{
	json_t *tree = NULL;
	char *out = NULL;
	size_t out_len = 0;
	if (mt_canon_parse(&tree, text, len, NULL) != 0)
		abort();
	if (mt_canon_dump(&out, &out_len, tree, NULL) != 0)
		abort();
	if (out_len != len || memcmp(out, text, len) != 0)
		abort();
	free(out);
	json_decref(tree);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	mt_error err = {0};
	int rc = mt_canon_check(text, size, &err);

	if (rc == 0) {
		round_trip(text, size);
	} else {
		json_t *tree = (json_t *)data; /* must come back NULL */
		if (err.msg[0] == '\0' || mt_canon_parse(&tree, text, size, NULL) != rc || tree)
			abort();
	}

	json_error_t jerr;
	json_t *loose = json_loadb(text, size, JSON_REJECT_DUPLICATES, &jerr);
	if (loose) {
		char *out = NULL;
		size_t out_len = 0;
		if (json_is_object(loose) && mt_canon_dump(&out, &out_len, loose, NULL) == 0 &&
		    out_len <= MT_CANON_MAX) {
			if (mt_canon_check(out, out_len, NULL) != 0)
				abort();
			round_trip(out, out_len);
		}
		free(out);
		json_decref(loose);
	}
	return 0;
}
