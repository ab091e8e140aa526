/* Hex and base58btc, written by hand (see encoding.h for the contracts). */
#include "meshtrust/encoding.h"

#include <string.h>

#include "identity/identity_int.h"

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
int mt_base58_encode(char *out, size_t outsz, const unsigned char *in, size_t n)
{
	unsigned char digits[MT_BASE58_MAX_CHARS + 1]; /* little-endian base-58 digits */
	size_t ndigits = 0, zeros = 0;

	if (outsz > 0)
		out[0] = '\0';
	if (n > MT_BASE58_MAX_BYTES)
		return MT_ETOOBIG;
	while (zeros < n && in[zeros] == 0)
		zeros++;
	for (size_t i = zeros; i < n; i++) {
		unsigned carry = in[i];
		for (size_t j = 0; j < ndigits; j++) {
			carry += (unsigned)digits[j] << 8;
			digits[j] = (unsigned char)(carry % 58);
			carry /= 58;
		}
		while (carry > 0) {
			digits[ndigits++] = (unsigned char)(carry % 58);
			carry /= 58;
		}
	}
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

static int b58_value(char c)
{
	const char *hit = c ? strchr(B58_ALPHABET, c) : NULL;
	return hit ? (int)(hit - B58_ALPHABET) : -1;
}

int mt_base58_decode(unsigned char *out, size_t outsz, size_t *out_len, const char *b58,
                     mt_error *err)
{
	/* 128 base-58 digits need at most 94 bytes (128 * log(58) / log(256) < 94). */
	unsigned char bytes[96]; /* little-endian base-256 digits */
	size_t nbytes = 0, zeros = 0;
	char shown[8];

	*out_len = 0;
	size_t len = strnlen(b58, MT_BASE58_MAX_CHARS + 1);
	if (len > MT_BASE58_MAX_CHARS)
		return mt_error_set(err, MT_ETOOBIG, "base58 text longer than %d characters",
		                    MT_BASE58_MAX_CHARS);
	while (zeros < len && b58[zeros] == '1')
		zeros++;
	for (size_t i = zeros; i < len; i++) {
		int value = b58_value(b58[i]);
		if (value < 0)
			return mt_error_set(err, MT_EINVAL,
			                    "bad base58 character '%s' at position %zu",
			                    char_repr(shown, b58[i]), i);
		unsigned carry = (unsigned)value;
		for (size_t j = 0; j < nbytes; j++) {
			carry += (unsigned)bytes[j] * 58;
			bytes[j] = (unsigned char)(carry & 0xff);
			carry >>= 8;
		}
		while (carry > 0) {
			bytes[nbytes++] = (unsigned char)(carry & 0xff);
			carry >>= 8;
		}
	}
	if (zeros + nbytes > outsz)
		return mt_error_set(err, MT_ETOOBIG, "base58 text decodes to more than %zu bytes",
		                    outsz);
	memset(out, 0, zeros);
	for (size_t j = 0; j < nbytes; j++)
		out[zeros + j] = bytes[nbytes - 1 - j];
	*out_len = zeros + nbytes;
	return 0;
}
