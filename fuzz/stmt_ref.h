/* Differential check of mt_stmt_parse() against a reference validator that
 * works on a jansson tree (fuzz/stmt_ref.c). Test code only. */
#ifndef MESHTRUST_STMT_REF_H
#define MESHTRUST_STMT_REF_H

#include <stddef.h>
#include <stdint.h>

#include "meshtrust/statement.h"

/** Parse `buf[0..len)` with both mt_stmt_parse() and the reference and
 * compare: the same return code and reason; when accepted, the same common
 * fields, and every top-level member read the same through mt_stmt_str(),
 * mt_stmt_int(), mt_stmt_list(), mt_stmt_member() and mt_stmt_tree().
 * Returns 1 when they agree, 0 with `why` (NUL-terminated, `whylen` bytes)
 * saying where they differ; *accepted tells whether the library accepted. */
int stmt_ref_agree(const char *buf, size_t len, int64_t now, int *accepted, char *why,
		   size_t whylen);

#endif
