/* Hex and base58btc, written by hand (see encoding.h for the contracts). */
#include "meshtrust/encoding.h"

#include <stdint.h>
#include <string.h>

#include "identity_int.h"

static const char HEX_DIGITS[] = "0123456789abcdef";

/* The Bitcoin alphabet leaves out 0 O I l, which look alike. */
static const char B58_ALPHABET[] = MT_BASE58_ALPHABET;

int mt_hex_encode(char *out, size_t outsz, const unsigned char *in, size_t n)
{
	if (outsz == 0 || n > (outsz - 1) / 2)
		return MT_ETOOBIG;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = HEX_DIGITS[in[i] >> 4];
		out[2 * i + 1] = HEX_DIGITS[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
	return 0;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void mt_identity__escape(char *out, size_t outsz, const char *text, size_t max_chars)
{
	size_t pos = 0, shown = 0;
	for (const char *p = text; *p && pos + 5 < outsz; p++) {
		unsigned char c = (unsigned char)*p;
		if (shown++ == max_chars) {
			memcpy(out + pos, "...", 3);
			pos += 3;
			break;
		}
		if (c == '"' || c == '\'' || c == '\\') {
			out[pos++] = '\\';
			out[pos++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			out[pos++] = '\\';
			out[pos++] = 'x';
			out[pos++] = HEX_DIGITS[c >> 4];
			out[pos++] = HEX_DIGITS[c & 0x0f];
		} else {
			out[pos++] = (char)c;
		}
	}
	if (outsz > 0)
		out[pos] = '\0';
}

/* One character of the input, escaped, for a message. */
static const char *char_repr(char buf[8], char c)
{
	mt_identity__escape(buf, 8, (char[2]){c, '\0'}, 1);
	return buf;
}

int mt_hex_decode(unsigned char *out, size_t n, const char *hex, mt_error *err)
{
	char shown[8];
	size_t len = hex ? strnlen(hex, 2 * n + 1) : 0;
	if (!hex || len != 2 * n) {
		memset(out, 0, n);
		if (len > 2 * n)
			return mt_error_set(err, MT_EINVAL, "expected %zu hex characters, got more",
			                    2 * n);
		return mt_error_set(err, MT_EINVAL, "expected %zu hex characters, got %zu", 2 * n,
		                    len);
	}
	for (size_t i = 0; i < n; i++) {
		int hi = hex_value(hex[2 * i]);
		int lo = hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			size_t pos = hi < 0 ? 2 * i : 2 * i + 1;
			memset(out, 0, n);
			return mt_error_set(err, MT_EINVAL,
			                    "bad hex character '%s' at position %zu",
			                    char_repr(shown, hex[pos]), pos);
		}
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* Base58 is a change of radix from 256 to 58 of the whole byte string read as
 * one big-endian number. With at most 93 bytes / 128 characters the schoolbook
 * O(n^2) conversion over a little-endian digit array is simplest and fast. */
/* Both directions work on 32-bit limbs rather than single digits: encoding
 * in base 58^5 (< 2^32), decoding in base 2^32, so a 38-byte Node ID costs a
 * few hundred multiply-adds instead of thousands of byte steps (this runs
 * twice per statement on the ingest path). */
#define B58_POW5 656356768u /* 58^5 */

int mt_base58_encode(char *out, size_t outsz, const unsigned char *in, size_t n)
{
	uint32_t limbs[MT_BASE58_MAX_CHARS / 5 + 2]; /* little-endian, base 58^5 */
	size_t nlimbs = 0, zeros = 0;

	if (outsz > 0)
		out[0] = '\0';
	if (n > MT_BASE58_MAX_BYTES)
		return MT_ETOOBIG;
	while (zeros < n && in[zeros] == 0)
		zeros++;
	for (size_t i = zeros; i < n; i++) {
		uint64_t carry = in[i];
		for (size_t j = 0; j < nlimbs; j++) {
			carry += (uint64_t)limbs[j] << 8;
			limbs[j] = (uint32_t)(carry % B58_POW5);
			carry /= B58_POW5;
		}
		while (carry > 0) {
			limbs[nlimbs++] = (uint32_t)(carry % B58_POW5);
			carry /= B58_POW5;
		}
	}
	/* Expand limbs into base-58 digits, most significant first. */
	unsigned char digits[MT_BASE58_MAX_CHARS + 10];
	size_t ndigits = 0;
	for (size_t j = 0; j < nlimbs; j++) {
		uint32_t v = limbs[j];
		for (int k = 0; k < 5; k++) {
			digits[ndigits++] = (unsigned char)(v % 58);
			v /= 58;
		}
	}
	while (ndigits > 0 && digits[ndigits - 1] == 0)
		ndigits--; /* the top limb's leading zero digits */
	if (zeros + ndigits + 1 > outsz)
		return MT_ETOOBIG;
	size_t pos = 0;
	for (size_t i = 0; i < zeros; i++)
		out[pos++] = '1';
	for (size_t j = ndigits; j > 0; j--)
		out[pos++] = B58_ALPHABET[digits[j - 1]];
	out[pos] = '\0';
	return 0;
}

/* Digit value of a base-58 character, or -1 (table holds value + 1; 0 = not
 * in the alphabet). */
static int b58_value(char c)
{
	static const unsigned char table[128] = {
		['1'] = 1, ['2'] = 2, ['3'] = 3, ['4'] = 4, ['5'] = 5, ['6'] = 6, ['7'] = 7, ['8'] = 8,
		['9'] = 9, ['A'] = 10, ['B'] = 11, ['C'] = 12, ['D'] = 13, ['E'] = 14, ['F'] = 15, ['G'] =
		16, ['H'] = 17, ['J'] = 18, ['K'] = 19, ['L'] = 20, ['M'] = 21, ['N'] = 22, ['P'] = 23,
		['Q'] = 24, ['R'] = 25, ['S'] = 26, ['T'] = 27, ['U'] = 28, ['V'] = 29, ['W'] = 30, ['X']
		= 31, ['Y'] = 32, ['Z'] = 33, ['a'] = 34, ['b'] = 35, ['c'] = 36, ['d'] = 37, ['e'] = 38,
		['f'] = 39, ['g'] = 40, ['h'] = 41, ['i'] = 42, ['j'] = 43, ['k'] = 44, ['m'] = 45, ['n']
		= 46, ['o'] = 47, ['p'] = 48, ['q'] = 49, ['r'] = 50, ['s'] = 51, ['t'] = 52, ['u'] = 53,
		['v'] = 54, ['w'] = 55, ['x'] = 56, ['y'] = 57, ['z'] = 58
	};
	unsigned char u = (unsigned char)c;
	return u < 128 && table[u] ? table[u] - 1 : -1;
}

int mt_base58_decode(unsigned char *out, size_t outsz, size_t *out_len, const char *b58,
                     mt_error *err)
{
	/* 128 base-58 digits need at most 94 bytes (128 * log(58) / log(256) < 94). */
	uint32_t limbs[26]; /* little-endian, base 2^32 */
	size_t nlimbs = 0, zeros = 0;
	char shown[8];

	*out_len = 0;
	size_t len = strnlen(b58, MT_BASE58_MAX_CHARS + 1);
	if (len > MT_BASE58_MAX_CHARS)
		return mt_error_set(err, MT_ETOOBIG, "base58 text longer than %d characters",
		                    MT_BASE58_MAX_CHARS);
	while (zeros < len && b58[zeros] == '1')
		zeros++;
	/* Up to five digits at a time (58^5 < 2^32): limbs = limbs * 58^k + chunk. */
	for (size_t i = zeros; i < len;) {
		uint32_t chunk = 0, mult = 1;
		for (int k = 0; k < 5 && i < len; k++, i++) {
			int value = b58_value(b58[i]);
			if (value < 0)
				return mt_error_set(err, MT_EINVAL,
				                    "bad base58 character '%s' at position %zu",
				                    char_repr(shown, b58[i]), i);
			chunk = chunk * 58 + (uint32_t)value;
			mult *= 58;
		}
		uint64_t carry = chunk;
		for (size_t j = 0; j < nlimbs; j++) {
			carry += (uint64_t)limbs[j] * mult;
			limbs[j] = (uint32_t)carry;
			carry >>= 32;
		}
		if (carry)
			limbs[nlimbs++] = (uint32_t)carry;
	}
	/* Limbs to big-endian bytes, without the top limb's leading zero bytes. */
	unsigned char bytes[26 * 4];
	size_t nbytes = 0;
	for (size_t j = nlimbs; j > 0; j--) {
		uint32_t v = limbs[j - 1];
		for (int k = 3; k >= 0; k--) {
			unsigned char b = (unsigned char)(v >> (8 * k));
			if (nbytes == 0 && b == 0)
				continue;
			bytes[nbytes++] = b;
		}
	}
	if (zeros + nbytes > outsz)
		return mt_error_set(err, MT_ETOOBIG, "base58 text decodes to more than %zu bytes",
		                    outsz);
	memset(out, 0, zeros);
	memcpy(out + zeros, bytes, nbytes);
	*out_len = zeros + nbytes;
	return 0;
}
