/* The canonical-JSON writer (SPEC §2): the one byte string mt_canon_check()
 * accepts for a given tree.
 *
 * jansson's own json_dumps(JSON_SORT_KEYS | JSON_COMPACT) comes close but not
 * all the way: it sorts keys with strcmp (keys with an embedded NUL compare
 * wrongly), escapes with upper-case hex and accepts reals and null. So the
 * writer is ours. It recurses over the tree, at most MT_CANON_MAX_DEPTH deep
 * (which also stops a tree that contains itself).
 */
#include "meshtrust/canon.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_int.h"

/* Long enough for any real statement's paths; longer ones are cut (only the
 * message is affected). */
#define PATH_MAX_LEN 256

typedef struct writer {
	char *data;
	size_t len;
	size_t cap;
	int oom;
	mt_error *err;
	char path[PATH_MAX_LEN];
	size_t path_len;
} writer;

typedef struct member {
	const char *key;
	size_t key_len;
	json_t *value;
} member;

static void put(writer *w, const char *s, size_t n)
{
	if (w->oom)
		return;
	if (w->cap - w->len < n + 1) { /* always keep room for the final NUL */
		size_t cap = w->cap ? w->cap : 256;
		while (cap - w->len < n + 1)
			cap *= 2;
		char *grown = realloc(w->data, cap);
		if (!grown) {
			w->oom = 1;
			return;
		}
		w->data = grown;
		w->cap = cap;
	}
	memcpy(w->data + w->len, s, n);
	w->len += n;
}

/* Refuse the value at the current path: "<path>: <what>". */
static int refuse(writer *w, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static int refuse(writer *w, const char *fmt, ...)
{
	char what[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return mt_error_set(w->err, MT_EINVAL, "%s: %s", w->path_len ? w->path : "(top level)",
	                    what);
}

/* Append `.key` (or `key` at the top) or `[index]` to the path shown in
 * messages; returns the previous length for path_pop. Bytes that would garble
 * a message (controls, invalid UTF-8) are shown as '?'. */
static size_t path_push_key(writer *w, const char *key, size_t key_len)
{
	size_t saved = w->path_len;
	size_t room = sizeof w->path - 1;
	const unsigned char *k = (const unsigned char *)key;

	if (w->path_len && w->path_len < room)
		w->path[w->path_len++] = '.';
	for (size_t i = 0; i < key_len && w->path_len < room;) {
		size_t n = k[i] < 0x20 ? 0 : mt_json__utf8_seq(k + i, key_len - i);
		if (n == 0 || n > room - w->path_len) {
			w->path[w->path_len++] = '?';
			i++;
			continue;
		}
		memcpy(w->path + w->path_len, k + i, n);
		w->path_len += n;
		i += n;
	}
	w->path[w->path_len] = '\0';
	return saved;
}

static size_t path_push_index(writer *w, size_t index)
{
	size_t saved = w->path_len;
	size_t room = sizeof w->path - 1 - w->path_len;
	int n = snprintf(w->path + w->path_len, room + 1, "[%zu]", index);
	if (n > 0)
		w->path_len += (size_t)n < room ? (size_t)n : room;
	return saved;
}

static void path_pop(writer *w, size_t saved)
{
	w->path_len = saved;
	w->path[saved] = '\0';
}

/* A string (value or key) in quotes with exactly the canonical escapes. */
static int put_string(writer *w, const char *text, size_t len, const char *what)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)text;
	size_t run = 0; /* start of the pending raw bytes */

	put(w, "\"", 1);
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		char esc[6] = {'\\', 0, 0, 0, 0, 0};
		size_t esc_len = 2;

		if (c >= 0x20 && c != '"' && c != '\\') {
			size_t n = mt_json__utf8_seq(s + i, len - i);
			if (n == 0)
				return refuse(w, "invalid UTF-8 in a %s at byte %zu", what, i);
			i += n;
			continue;
		}
		if (c == 0)
			return refuse(w, "U+0000 in a %s", what);
		switch (c) {
		case '"':
			esc[1] = '"';
			break;
		case '\\':
			esc[1] = '\\';
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			esc_len = 6;
			break;
		}
		put(w, text + run, i - run);
		put(w, esc, esc_len);
		run = ++i;
	}
	put(w, text + run, len - run);
	put(w, "\"", 1);
	return 0;
}

static int compare_members(const void *a, const void *b)
{
	const member *x = a, *y = b;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int order = memcmp(x->key, y->key, n);
	if (order)
		return order;
	return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

static int put_value(writer *w, const json_t *v, int depth);

static int put_object(writer *w, const json_t *v, int depth)
{
	size_t count = json_object_size(v);
	member *members = NULL;
	int rc = 0;

	if (count) {
		members = malloc(count * sizeof *members);
		if (!members)
			return mt_error_set(w->err, MT_ENOMEM,
			                    "out of memory writing canonical JSON");
	}
	/* jansson's iterator wants a mutable object; it is only read here. */
	json_t *obj = (json_t *)v;
	size_t n = 0;
	for (void *it = json_object_iter(obj); it && n < count;
	     it = json_object_iter_next(obj, it)) {
		members[n].key = json_object_iter_key(it);
		members[n].key_len = json_object_iter_key_len(it);
		members[n].value = json_object_iter_value(it);
		n++;
	}
	if (n > 1)
		qsort(members, n, sizeof *members, compare_members);

	put(w, "{", 1);
	for (size_t i = 0; i < n && rc == 0; i++) {
		size_t saved = path_push_key(w, members[i].key, members[i].key_len);
		if (i)
			put(w, ",", 1);
		rc = put_string(w, members[i].key, members[i].key_len, "key");
		if (rc == 0) {
			put(w, ":", 1);
			rc = put_value(w, members[i].value, depth);
		}
		path_pop(w, saved);
	}
	put(w, "}", 1);
	free(members);
	return rc;
}

static int put_array(writer *w, const json_t *v, int depth)
{
	int rc = 0;
	size_t count = json_array_size(v);

	put(w, "[", 1);
	for (size_t i = 0; i < count && rc == 0; i++) {
		size_t saved = path_push_index(w, i);
		if (i)
			put(w, ",", 1);
		rc = put_value(w, json_array_get(v, i), depth);
		path_pop(w, saved);
	}
	put(w, "]", 1);
	return rc;
}

/* `depth` counts the containers around v. */
static int put_value(writer *w, const json_t *v, int depth)
{
	char number[32];

	switch (json_typeof(v)) {
	case JSON_OBJECT:
	case JSON_ARRAY:
		if (depth >= MT_CANON_MAX_DEPTH)
			return refuse(w, "nesting too deep (over %d levels)", MT_CANON_MAX_DEPTH);
		return json_is_object(v) ? put_object(w, v, depth + 1) : put_array(w, v, depth + 1);
	case JSON_STRING:
		return put_string(w, json_string_value(v), json_string_length(v), "string");
	case JSON_INTEGER: {
		json_int_t value = json_integer_value(v);
		if (value < 0)
			return refuse(w, "negative integer (only integers 0..2^53-1)");
		if (value > MT_JSON__INT_MAX)
			return refuse(w, "integer out of range (only integers 0..2^53-1)");
		int n = snprintf(number, sizeof number, "%lld", (long long)value);
		put(w, number, (size_t)n);
		return 0;
	}
	case JSON_REAL:
		return refuse(w, "real number (only integers 0..2^53-1)");
	case JSON_TRUE:
		put(w, "true", 4);
		return 0;
	case JSON_FALSE:
		put(w, "false", 5);
		return 0;
	case JSON_NULL:
		return refuse(w, "null value");
	}
	return refuse(w, "unknown JSON type");
}

int mt_canon_dump(char **out, size_t *outlen, const json_t *v, mt_error *err)
{
	writer w = {.err = err};
	int rc;

	*out = NULL;
	*outlen = 0;
	if (!v)
		return mt_error_set(err, MT_EINVAL, "(top level): no value to serialise");
	rc = put_value(&w, v, 0);
	if (rc == 0 && w.oom)
		rc = mt_error_set(err, MT_ENOMEM, "out of memory writing canonical JSON");
	if (rc) {
		free(w.data);
		return rc;
	}
	w.data[w.len] = '\0'; /* put() keeps room; every value wrote a byte */
	*out = w.data;
	*outlen = w.len;
	return 0;
}
