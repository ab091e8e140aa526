/** Canonical JSON (SPEC §2 "Canonical form"): a strict checker and writer.
 *
 * A statement travels as exactly one byte string. These functions decide
 * whether a byte string is that canonical text, and produce it from a jansson
 * tree, so that `dump(parse(x)) == x` byte for byte for every accepted `x`.
 *
 * The canonical form: the top level is an object; keys strictly ascending by
 * the bytes of their decoded UTF-8 (so no duplicates) at every level; no
 * white space outside strings; numbers are integers 0..2^53-1 written without
 * sign, fraction, exponent or leading zero; `true` and `false` are allowed,
 * `null` is not; strings are valid UTF-8 without U+0000 and escape exactly
 * `"` `\` and U+0001..U+001F (`\b \f \n \r \t`, the others `\u00xx` with
 * lower-case hex); every other character is raw (DEL and U+0080.. included).
 *
 * Refusal messages start with a fixed reason that callers may show to users
 * and compare (byte offsets follow the reason):
 *   "not JSON: ..."                              syntax, truncation, trailing
 *                                                 bytes, "invalid UTF-8 at byte N",
 *                                                 "top level is not an object"
 *   "not canonical: white space"                 any white space outside strings
 *   "not canonical: duplicate key"               a key equal to the previous one
 *   "not canonical: keys out of order"
 *   "not canonical: negative number"             a sign (also "-0")
 *   "not canonical: leading zero"
 *   "not canonical: fraction"
 *   "not canonical: exponent"
 *   "not canonical: integer out of range"        over 2^53-1
 *   "not canonical: upper-case escape"           \u001F for \u001f
 *   "not canonical: long escape for short form"  \u000a for \n, \u0022 for \"
 *   "not canonical: unnecessary escape"          \/ , \u0041, \u00e9, \ud83d\ude00
 *   "U+0000 in a string"                         raw or escaped
 *   "null value"
 *   "too large: N bytes (max 131072)"
 *   "nesting too deep: over 64 levels"
 * Precedence: text that is not JSON is reported as "not JSON" even when a
 * canonical rule is broken before the syntax error (a truncated statement is
 * "not JSON" whatever its key order); leading zeros count as JSON here so that
 * they can be named. Otherwise the first canonical rule broken, reading left
 * to right, is reported (equal keys as "duplicate key", not "out of order").
 * The size limit is checked first; nesting beyond the limit stops the scan.
 */
#ifndef MESHTRUST_CANON_H
#define MESHTRUST_CANON_H

#include <jansson.h>
#include <stddef.h>

#include "meshtrust/error.h"

/** Maximum size of a canonical text (a statement), in bytes. */
#define MT_CANON_MAX 131072
/** Maximum nesting of objects and arrays (the top-level object counts as 1). */
#define MT_CANON_MAX_DEPTH 64

/** Check that `buf[0..len)` is exactly canonical JSON (see above).
 *
 * `buf` need not be NUL-terminated and may contain NUL bytes (which are
 * refused). Allocates nothing, uses a fixed amount of stack (no recursion).
 * Time O(len).
 * Returns 0, or:
 *   MT_ETOOBIG  len > MT_CANON_MAX, or nesting deeper than MT_CANON_MAX_DEPTH;
 *   MT_EINVAL   "not JSON: ..." (also `buf` NULL with len > 0);
 *   MT_ECANON   valid JSON that is not canonical, U+0000, null.
 * with err->msg set to the reason (when `err` is non-NULL). */
int mt_canon_check(const char *buf, size_t len, mt_error *err);

/** mt_canon_check(), then build the jansson tree of `buf[0..len)`.
 *
 * Integers are exact json_int_t values. On success the caller owns `*out`
 * (release with json_decref). On failure `*out` is NULL and the return is
 * that of mt_canon_check(), or MT_ENOMEM. */
int mt_canon_parse(json_t **out, const char *buf, size_t len, mt_error *err);

/** Serialise any jansson value canonically: object keys sorted by byte order
 * of their UTF-8, exact escaping, integers only in 0..2^53-1, booleans as
 * `true`/`false`.
 *
 * Refuses with MT_EINVAL, the message naming the offending path (`score`,
 * `params.period`, `labels[2]`, or `(top level)`): reals, null, negative or
 * too-large integers, strings or keys with U+0000 or invalid UTF-8, nesting
 * deeper than MT_CANON_MAX_DEPTH. The output size is not limited here (the
 * statement layer enforces MT_CANON_MAX).
 * On success `*out` is a malloc'd NUL-terminated string the caller frees with
 * free(), and `*outlen` its length without the NUL. On failure `*out` is NULL,
 * `*outlen` 0; MT_ENOMEM when memory runs out. `v` is only read. */
int mt_canon_dump(char **out, size_t *outlen, const json_t *v, mt_error *err);

/** 1 when `s[0..n)` is well-formed UTF-8, else 0: every sequence as in
 * Unicode 15 §3.9 (Table 3-7), so no overlong form, surrogate, value above
 * U+10FFFF, stray continuation byte or sequence cut at the end. A NUL byte is
 * U+0000 and counts as valid here (callers that refuse it check for it).
 * `s` may be NULL when n is 0. Allocates nothing; time O(n). */
int mt_utf8_valid(const char *s, size_t n);

#endif
