/** Text encodings of binary data: lower-case hex and base58btc.
 *
 * Both are written by hand (see CONVENTIONS.md): hex for keys, seeds and
 * digests; base58btc (the Bitcoin alphabet, leading zero bytes <-> leading
 * '1's, no checksum) for Node IDs and did:key identifiers. Decoders are strict:
 * any character outside the alphabet is refused with its position, and their
 * messages never repeat the input (it may be a secret); callers add the name of
 * the argument with mt_error_wrap(). Nothing here allocates or keeps state.
 */
#ifndef MESHTRUST_ENCODING_H
#define MESHTRUST_ENCODING_H

#include <stddef.h>

#include "meshtrust/error.h"

/** The base58btc (Bitcoin) alphabet: digits and letters without 0 O I l. */
#define MT_BASE58_ALPHABET "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

/** Longest base58 text mt_base58_decode() accepts, in characters. */
#define MT_BASE58_MAX_CHARS 128
/** Most bytes mt_base58_encode() accepts (the base58 of 93 bytes fits in 128 chars). */
#define MT_BASE58_MAX_BYTES 93
/** Buffer size (with the NUL) that always holds the base58 text of `n` bytes. */
#define MT_BASE58_ENCODED_SIZE(n) ((n)*138 / 100 + 2)

/** Write the lower-case hex of `in[0..n)` and a NUL into `out`.
 *
 * `outsz` must be at least 2*n + 1. Returns 0, or MT_ETOOBIG (out untouched)
 * when the buffer is too small. Time: O(n), independent of the data. */
int mt_hex_encode(char *out, size_t outsz, const unsigned char *in, size_t n);

/** Decode exactly `n` bytes from the NUL-terminated `hex` into `out`.
 *
 * `hex` must be exactly 2*n hex digits; upper- and lower-case digits are both
 * accepted (compare with mt_hex_encode() output where only the canonical
 * lower-case form may pass). No whitespace, prefix or sign. On error out is
 * zeroed and the return is MT_EINVAL with a message such as "expected 64 hex
 * characters, got 63" or "bad hex character 'g' at position 5". The contents
 * of `hex` are not copied into the message. */
int mt_hex_decode(unsigned char *out, size_t n, const char *hex, mt_error *err);

/** Write the base58btc text of `in[0..n)` and a NUL into `out`.
 *
 * Each leading zero byte becomes a leading '1'; zero bytes give "". Returns 0,
 * or MT_ETOOBIG when n > MT_BASE58_MAX_BYTES or `outsz` is smaller than the
 * text + NUL (MT_BASE58_ENCODED_SIZE(n) is always enough); out is then "" when
 * outsz > 0. Time: O(n^2) for n <= 93. */
int mt_base58_encode(char *out, size_t outsz, const unsigned char *in, size_t n);

/** Decode the NUL-terminated base58btc `b58` into `out[0..outsz)`.
 *
 * On success *out_len is the number of bytes (each leading '1' is a zero byte;
 * "" decodes to no bytes). Errors (*out_len is then 0):
 *   MT_ETOOBIG  more than MT_BASE58_MAX_CHARS characters, or the bytes do not
 *               fit in `outsz` ("decodes to more than N bytes");
 *   MT_EINVAL   a character outside the alphabet ("bad base58 character 'l'
 *               at position 9"; positions count from 0; the letters 0 O I l
 *               are not in the alphabet).
 * Time: O(len^2) for len <= 128. */
int mt_base58_decode(unsigned char *out, size_t outsz, size_t *out_len, const char *b58,
                     mt_error *err);

#endif
