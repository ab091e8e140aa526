/* Statement ids by a unique prefix (issue #21): `mesh lesson show 04fd364b`
 * as `pot` and `vote` take rounds and proposals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "meshtrust/encoding.h"
#include "meshtrust/statement.h"

struct idscan {
	const char *prefix;
	size_t len;
	json_t *hits; /* hex ids */
};

static int scan_one(const char *iss, uint64_t seq, const char *canon, size_t len, void *payload)
{
	(void)iss;
	(void)seq;
	struct idscan *x = payload;
	unsigned char id[32];
	char hex[65];
	mt_blake2b256(id, canon, len);
	mt_hex_encode(hex, sizeof hex, id, 32);
	if (strncmp(hex, x->prefix, x->len) == 0 && json_array_size(x->hits) < 11)
		json_array_append_new(x->hits, json_string(hex));
	return 0;
}

int mesh_resolve_stmt_id(mesh_ctx *ctx, unsigned char out[32], const char *arg,
			 mt_stmt_type type, const char *what)
{
	size_t len = arg ? strlen(arg) : 0;
	if (len < 8 || len > 64 || strspn(arg, "0123456789abcdef") != len)
		return mesh_usage(NULL,
				  "%s: \"%.80s\" is not a statement id (64 lower-case hex characters, "
				  "or a unique prefix of 8 or more)",
				  what, arg ? arg : "");
	if (len == 64)
		return mt_hex_decode(out, 32, arg, NULL) == 0
			       ? EXIT_OK
			       : mesh_usage(NULL, "%s: \"%s\" is not a statement id", what, arg);
	int rc = mesh_open_store(ctx);
	if (rc)
		return rc;
	struct idscan x = {arg, len, json_array()};
	mt_error err = {0};
	if (mt_store_foreach_type(ctx->store, &type, 1, scan_one, &x, &err) < 0) {
		json_decref(x.hits);
		return mesh_fail_err(&err);
	}
	size_t n = json_array_size(x.hits);
	if (n == 1) {
		mt_hex_decode(out, 32, json_string_value(json_array_get(x.hits, 0)), NULL);
		json_decref(x.hits);
		return EXIT_OK;
	}
	if (n == 0) {
		json_decref(x.hits);
		return mesh_fail("%s: no %s held here has an id starting with %s", what,
				 mt_stmt_type_name(type), arg);
	}
	fprintf(stderr, "mesh: %s: prefix %s is ambiguous; it starts %s%zu %s ids:\n", what, arg,
		n > 10 ? "more than " : "", n > 10 ? (size_t)10 : n, mt_stmt_type_name(type));
	for (size_t i = 0; i < n && i < 10; i++)
		fprintf(stderr, "  %s\n", json_string_value(json_array_get(x.hits, i)));
	json_decref(x.hits);
	return EXIT_USAGE;
}
