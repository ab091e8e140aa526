/** Internals shared by the canonical JSON checker and writer. */
#ifndef MT_JSON_INT_H
#define MT_JSON_INT_H

#include <stddef.h>

/** Largest integer of the canonical form: 2^53 - 1, which every JSON reader
 * (doubles included) holds exactly. */
#define MT_JSON__INT_MAX 9007199254740991LL

/** Length (1..4) of the well-formed UTF-8 sequence starting at `s[0]`, given
 * `avail` (>= 1) readable bytes; 0 when it is not well formed (bad lead byte,
 * bad or missing continuation, overlong form, surrogate, above U+10FFFF).
 * Follows the table of Unicode 15 §3.9 (Table 3-7). */
size_t mt_json__utf8_seq(const unsigned char *s, size_t avail);

#endif
