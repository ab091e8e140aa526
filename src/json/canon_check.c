/* The canonical-JSON checker (SPEC §2) and the parser built on it.
 *
 * The checker is a hand-written, single-pass scanner over the bytes with an
 * explicit stack of MT_CANON_MAX_DEPTH frames instead of recursion, so hostile
 * input can cost neither heap nor unbounded stack. It does not accept "JSON
 * that jansson would read and then re-serialise the same": it demands the one
 * byte string the canonical writer (canon_dump.c) produces.
 *
 * Two kinds of refusal, with a precedence: text that is not JSON at all
 * (syntax, truncation, bad UTF-8) is reported as such even when a canonical
 * rule was broken earlier in it (a truncated statement is "not JSON", whatever
 * its key order). So the scanner stops at the first syntax error, but only
 * notes the first canonical violation and reads on; that note is the verdict
 * when the text turns out to be JSON. The scanner reads leading zeros as part
 * of a number (strict JSON would not) so that they can be named.
 *
 * Key order is checked without copying keys: each frame remembers where the
 * previous key's text lies in the input. Keys are compared only while no
 * violation has been noted, so both keys are then canonical and decoding them
 * needs only the few escape forms canonical text allows (see next_key_byte).
 */
#include "meshtrust/canon.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "json_int.h"

/* Digits of MT_JSON__INT_MAX: a longer integer is out of range. */
#define CANON_INT_DIGITS_MAX 16

typedef struct frame {
	int is_object;
	int has_key;    /* a key was already seen at this level */
	size_t key_off; /* previous key's text, between the quotes */
	size_t key_len;
} frame;

typedef struct parser {
	const unsigned char *s;
	size_t len;
	size_t pos;
	mt_error *err;
	const char *violation; /* first canonical rule broken, or NULL */
	size_t violation_at;
} parser;

/* Record a canonical violation (only the first counts) and read on. */
static void note(parser *p, size_t at, const char *reason)
{
	if (!p->violation) {
		p->violation = reason;
		p->violation_at = at;
	}
}

static int fail(parser *p, int code, size_t at, const char *reason)
{
	return mt_error_set(p->err, code, "%s at byte %zu", reason, at);
}

static int fail_eof(parser *p)
{
	return fail(p, MT_EINVAL, p->len, "not JSON: unexpected end of input");
}

static int fail_unexpected(parser *p)
{
	unsigned char c = p->s[p->pos];
	if (c >= 0x21 && c < 0x7f)
		return mt_error_set(p->err, MT_EINVAL, "not JSON: unexpected '%c' at byte %zu", c,
		                    p->pos);
	return mt_error_set(p->err, MT_EINVAL, "not JSON: unexpected byte 0x%02x at byte %zu", c,
	                    p->pos);
}

static int is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static void skip_space(parser *p)
{
	while (p->pos < p->len && is_space(p->s[p->pos])) {
		note(p, p->pos, "not canonical: white space");
		p->pos++;
	}
}

/* The byte where the next token starts (after any white space, noted). */
static int peek_token(parser *p, int *c)
{
	skip_space(p);
	if (p->pos >= p->len)
		return fail_eof(p);
	*c = p->s[p->pos];
	return 0;
}

static int hex_digit(int c, int *upper)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') {
		*upper = 1;
		return c - 'A' + 10;
	}
	return -1;
}

/* Read `\uXXXX` at `at` (the backslash). Sets *cp and *upper (any A-F). */
static int read_u_escape(parser *p, size_t at, unsigned *cp, int *upper)
{
	*cp = 0;
	*upper = 0;
	for (size_t i = 0; i < 6; i++) {
		if (at + i >= p->len)
			return fail_eof(p);
		int c = p->s[at + i];
		if (i == 0 && c != '\\')
			return fail(p, MT_EINVAL, at, "not JSON: invalid \\u escape");
		if (i == 1 && c != 'u')
			return fail(p, MT_EINVAL, at, "not JSON: invalid \\u escape");
		if (i >= 2) {
			int v = hex_digit(c, upper);
			if (v < 0)
				return fail(p, MT_EINVAL, at, "not JSON: invalid \\u escape");
			*cp = *cp << 4 | (unsigned)v;
		}
	}
	return 0;
}

/* A `\u` escape at p->pos: which forms canonical text allows, and why not. */
static int check_u_escape(parser *p)
{
	size_t at = p->pos;
	unsigned cp, low;
	int upper, low_upper, rc;

	if ((rc = read_u_escape(p, at, &cp, &upper)))
		return rc;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return fail(p, MT_EINVAL, at, "not JSON: unpaired surrogate escape");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		/* A pair stands for one character above U+FFFF, which must be raw;
		 * only a proper pair is worth calling "unnecessary". */
		for (size_t i = 6; i < 8; i++) {
			if (at + i >= p->len)
				return fail_eof(p);
			if (p->s[at + i] != (i == 6 ? '\\' : 'u'))
				return fail(p, MT_EINVAL, at,
				            "not JSON: unpaired surrogate escape");
		}
		if ((rc = read_u_escape(p, at + 6, &low, &low_upper)))
			return rc;
		if (low < 0xdc00 || low > 0xdfff)
			return fail(p, MT_EINVAL, at, "not JSON: unpaired surrogate escape");
		note(p, at, "not canonical: unnecessary escape");
		p->pos += 12;
		return 0;
	}
	p->pos += 6;
	switch (cp) {
	case 0:
		note(p, at, "U+0000 in a string");
		break;
	case '\b':
	case '\f':
	case '\n':
	case '\r':
	case '\t':
	case '"':
	case '\\':
		note(p, at, "not canonical: long escape for short form");
		break;
	default:
		if (cp >= 0x20)
			note(p, at, "not canonical: unnecessary escape");
		else if (upper)
			note(p, at, "not canonical: upper-case escape");
		break;
	}
	return 0;
}

/* A string at p->pos (which holds the opening quote). On success p->pos is
 * past the closing quote and [*off, *off + *len) is the text inside. */
static int scan_string(parser *p, size_t *off, size_t *len)
{
	size_t start = ++p->pos;
	int rc;

	for (;;) {
		/* Runs of plain ASCII (U+0020..U+007F but `"` and `\`) first:
		 * most of a statement is that. */
		while (p->pos < p->len && p->s[p->pos] >= 0x20 && p->s[p->pos] < 0x80 &&
		       p->s[p->pos] != '"' && p->s[p->pos] != '\\')
			p->pos++;
		if (p->pos >= p->len)
			return fail_eof(p);
		unsigned char c = p->s[p->pos];
		if (c == '"') {
			*off = start;
			*len = p->pos - start;
			p->pos++;
			return 0;
		}
		if (c == '\\') {
			if (p->pos + 1 >= p->len)
				return fail_eof(p);
			switch (p->s[p->pos + 1]) {
			case '"':
			case '\\':
			case 'b':
			case 'f':
			case 'n':
			case 'r':
			case 't':
				p->pos += 2;
				break;
			case '/':
				note(p, p->pos, "not canonical: unnecessary escape");
				p->pos += 2;
				break;
			case 'u':
				if ((rc = check_u_escape(p)))
					return rc;
				break;
			default:
				return fail(p, MT_EINVAL, p->pos, "not JSON: invalid escape");
			}
		} else if (c == 0) {
			note(p, p->pos, "U+0000 in a string");
			p->pos++;
		} else if (c < 0x20) {
			return mt_error_set(
			    p->err, MT_EINVAL,
			    "not JSON: unescaped control character U+%04X in a string at byte %zu",
			    c, p->pos);
		} else if (c < 0x80) {
			p->pos++;
		} else {
			size_t n = mt_json__utf8_seq(p->s + p->pos, p->len - p->pos);
			if (n == 0)
				return fail(p, MT_EINVAL, p->pos, "not JSON: invalid UTF-8");
			p->pos += n;
		}
	}
}

/* A number at p->pos: first the JSON grammar (loosely: leading zeros are
 * read so they can be named), then the canonical restrictions. */
static int scan_number(parser *p)
{
	size_t start = p->pos;
	int negative = 0, fraction = 0, exponent = 0;

	if (p->s[p->pos] == '-') {
		negative = 1;
		p->pos++;
	}
	size_t digits = p->pos;
	while (p->pos < p->len && is_digit(p->s[p->pos]))
		p->pos++;
	size_t ndigits = p->pos - digits;
	if (ndigits == 0) {
		if (p->pos >= p->len)
			return fail_eof(p);
		return fail(p, MT_EINVAL, start, "not JSON: invalid number");
	}
	if (p->pos < p->len && p->s[p->pos] == '.') {
		fraction = 1;
		p->pos++;
		if (p->pos >= p->len)
			return fail_eof(p);
		if (!is_digit(p->s[p->pos]))
			return fail(p, MT_EINVAL, start, "not JSON: invalid number");
		while (p->pos < p->len && is_digit(p->s[p->pos]))
			p->pos++;
	}
	if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
		exponent = 1;
		p->pos++;
		if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
			p->pos++;
		if (p->pos >= p->len)
			return fail_eof(p);
		if (!is_digit(p->s[p->pos]))
			return fail(p, MT_EINVAL, start, "not JSON: invalid number");
		while (p->pos < p->len && is_digit(p->s[p->pos]))
			p->pos++;
	}
	if (negative) {
		note(p, start, "not canonical: negative number");
	} else if (ndigits > 1 && p->s[digits] == '0') {
		note(p, start, "not canonical: leading zero");
	} else if (fraction) {
		note(p, start, "not canonical: fraction");
	} else if (exponent) {
		note(p, start, "not canonical: exponent");
	} else if (ndigits > CANON_INT_DIGITS_MAX) {
		note(p, start, "not canonical: integer out of range");
	} else {
		uint64_t value = 0;
		for (size_t i = 0; i < ndigits; i++)
			value = value * 10 + (uint64_t)(p->s[digits + i] - '0');
		if (value > (uint64_t)MT_JSON__INT_MAX)
			note(p, start, "not canonical: integer out of range");
	}
	return 0;
}

/* `true`, `false` or `null` at p->pos. */
static int scan_literal(parser *p, const char *word)
{
	size_t start = p->pos;
	for (size_t i = 0; word[i]; i++) {
		if (start + i >= p->len)
			return fail_eof(p);
		if (p->s[start + i] != (unsigned char)word[i]) {
			p->pos = start + i;
			return fail_unexpected(p);
		}
	}
	p->pos = start + strlen(word);
	return 0;
}

/* Next decoded byte of a key whose text is canonical: only
 * the short escapes and \u00xx (for U+0001..U+001F) can occur in it. */
static unsigned char next_key_byte(const unsigned char *s, size_t *i)
{
	unsigned char c = s[*i];
	if (c != '\\') {
		(*i)++;
		return c;
	}
	c = s[*i + 1];
	*i += 2;
	switch (c) {
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	case 'u': {
		int upper = 0;
		int hi = hex_digit(s[*i + 2], &upper), lo = hex_digit(s[*i + 3], &upper);
		*i += 4;
		return (unsigned char)(hi << 4 | lo);
	}
	default:
		return c; /* '"' or '\\' */
	}
}

/* Byte order of the decoded keys a and b: <0, 0 or >0. */
static int key_compare(const unsigned char *s, size_t a_off, size_t a_len, size_t b_off,
                       size_t b_len)
{
	size_t i = a_off, j = b_off;
	size_t a_end = a_off + a_len, b_end = b_off + b_len;
	while (i < a_end && j < b_end) {
		unsigned char x = next_key_byte(s, &i), y = next_key_byte(s, &j);
		if (x != y)
			return x < y ? -1 : 1;
	}
	if (i < a_end)
		return 1;
	return j < b_end ? -1 : 0;
}

/* A key and its colon, at p->pos, in the object `f`. */
static int scan_key(parser *p, frame *f)
{
	size_t off, len;
	int c = 0, rc;

	if ((rc = peek_token(p, &c)))
		return rc;
	if (c != '"')
		return fail(p, MT_EINVAL, p->pos, "not JSON: expected a string key");
	size_t start = p->pos;
	if ((rc = scan_string(p, &off, &len)))
		return rc;
	if (f->has_key && !p->violation) {
		int order = key_compare(p->s, f->key_off, f->key_len, off, len);
		if (order == 0)
			note(p, start, "not canonical: duplicate key");
		else if (order > 0)
			note(p, start, "not canonical: keys out of order");
	}
	f->has_key = 1;
	f->key_off = off;
	f->key_len = len;
	if ((rc = peek_token(p, &c)))
		return rc;
	if (c != ':')
		return fail(p, MT_EINVAL, p->pos, "not JSON: expected ':'");
	p->pos++;
	return 0;
}

/* One scalar value at p->pos (its first byte is `c`). */
static int scan_scalar(parser *p, int c)
{
	size_t off, len;
	int rc;

	switch (c) {
	case '"':
		return scan_string(p, &off, &len);
	case 't':
		return scan_literal(p, "true");
	case 'f':
		return scan_literal(p, "false");
	case 'n': {
		size_t start = p->pos;
		if ((rc = scan_literal(p, "null")))
			return rc;
		note(p, start, "null value");
		return 0;
	}
	default:
		if (c == '-' || is_digit(c))
			return scan_number(p);
		return fail_unexpected(p);
	}
}

int mt_canon_check(const char *buf, size_t len, mt_error *err)
{
	parser p = {.s = (const unsigned char *)buf, .len = len, .pos = 0, .err = err};
	frame stack[MT_CANON_MAX_DEPTH];
	size_t depth = 0;
	int c = 0, rc;

	if (!buf && len)
		return mt_error_set(err, MT_EINVAL, "not JSON: no input buffer");
	if (len > MT_CANON_MAX)
		return mt_error_set(err, MT_ETOOBIG, "too large: %zu bytes (max %d)", len,
		                    MT_CANON_MAX);
	if ((rc = peek_token(&p, &c)))
		return rc;
	if (c != '{')
		return fail(&p, MT_EINVAL, p.pos, "not JSON: top level is not an object");

	for (;;) {
		/* A value starts at p.pos. */
		if ((rc = peek_token(&p, &c)))
			return rc;
		if (c == '{' || c == '[') {
			if (depth == MT_CANON_MAX_DEPTH)
				return mt_error_set(err, MT_ETOOBIG,
				                    "nesting too deep: over %d levels at byte %zu",
				                    MT_CANON_MAX_DEPTH, p.pos);
			frame *f = &stack[depth++];
			*f = (frame){.is_object = c == '{'};
			p.pos++;
			if ((rc = peek_token(&p, &c)))
				return rc;
			if (c != (f->is_object ? '}' : ']')) {
				if (f->is_object && (rc = scan_key(&p, f)))
					return rc;
				continue; /* the container's first value */
			}
			p.pos++;
			depth--;
		} else if ((rc = scan_scalar(&p, c))) {
			return rc;
		}

		/* A value is complete: close the containers that end here, then go
		 * on to the next value, or finish. */
		for (;;) {
			if (depth == 0) {
				skip_space(&p);
				if (p.pos < p.len)
					return fail(&p, MT_EINVAL, p.pos,
					            "not JSON: trailing bytes");
				if (p.violation)
					return fail(&p, MT_ECANON, p.violation_at, p.violation);
				return 0;
			}
			frame *f = &stack[depth - 1];
			if ((rc = peek_token(&p, &c)))
				return rc;
			if (c == ',') {
				p.pos++;
				if (f->is_object && (rc = scan_key(&p, f)))
					return rc;
				break;
			}
			if (c != (f->is_object ? '}' : ']'))
				return fail(&p, MT_EINVAL, p.pos,
				            f->is_object ? "not JSON: expected ',' or '}'"
				                         : "not JSON: expected ',' or ']'");
			p.pos++;
			depth--;
		}
	}
}

int mt_canon_parse(json_t **out, const char *buf, size_t len, mt_error *err)
{
	json_error_t jerr;
	int rc;

	*out = NULL;
	if ((rc = mt_canon_check(buf, len, err)))
		return rc;
	/* Canonical text is plain JSON that jansson reads exactly: integers stay
	 * json_int_t (no JSON_DECODE_INT_AS_REAL), no U+0000 (no JSON_ALLOW_NUL). */
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return mt_error_set(err, MT_ENOMEM, "out of memory reading JSON");
		/* Unreachable for checked text; reported rather than assumed. */
		return mt_error_set(err, MT_EINVAL, "not JSON: %s at byte %d", jerr.text,
		                    jerr.position);
	}
	*out = root;
	return 0;
}
