/* libFuzzer target: statement decoding (SPEC §2). Whatever decodes must be
 * exactly its canonical bytes, re-derive the same id, and decode again; and
 * the decoder must agree with the tree-based reference validator
 * (stmt_ref.c) on every input: same verdict, same reason, same values. */
#include <sodium.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/statement.h"
#include "stmt_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	if (!init) {
		if (sodium_init() < 0)
			abort();
		init = 1;
	}
	char why[512];
	int accepted;
	if (!stmt_ref_agree((const char *)data, size, 1800000000, &accepted, why, sizeof why)) {
		fprintf(stderr, "decoder and reference differ: %s\n", why);
		abort();
	}
	mt_stmt *st = NULL;
	mt_error err = {0};
	if (mt_stmt_parse(&st, (const char *)data, size, INT64_MAX, &err) != 0) {
		if (st || !err.msg[0])
			abort(); /* refusals carry a reason and no result */
		return 0;
	}
	unsigned char id[32];
	mt_blake2b256(id, data, size);
	if (st->canon_len != size || memcmp(st->canon, data, size) != 0 ||
	    memcmp(id, st->id, 32) != 0)
		abort();
	(void)!mt_stmt_verify(st, NULL); /* must not crash; valid or not */
	mt_stmt_free(st);
	return 0;
}
