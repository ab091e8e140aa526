/* Pure parsing parts of the statement importers (see import_parse.h). */
#include "import_parse.h"

#include <stdlib.h>
#include <string.h>

#include "meshtrust/canon.h"
#include "meshtrust/error.h"
#include "meshtrust/identity.h"

int mesh_import_read_line(FILE *f, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	int c, any = 0, too_long = 0, nul = 0;
	while ((c = getc_unlocked(f)) != EOF) {
		any = 1;
		if (c == '\n')
			break;
		if (c == 0)
			nul = 1;
		if (n + 1 < cap)
			buf[n++] = (char)c;
		else
			too_long = 1;
	}
	buf[n] = '\0';
	*len = n;
	if (!any)
		return 0;
	return too_long ? -1 : nul ? -2 : 1;
}

const char *mesh_trust_doc_check(const json_t *doc)
{
	json_t *ver = json_object_get(doc, "version");
	json_t *st = json_object_get(doc, "statements");
	json_t *notes = json_object_get(doc, "notes");
	if (!json_is_object(doc))
		return "top level is not an object";
	if (!json_is_integer(ver) || json_integer_value(ver) != 1)
		return "\"version\" must be 1";
	if (!json_is_array(st))
		return "\"statements\" must be an array";
	if (notes && !json_is_object(notes))
		return "\"notes\" must be an object";
	if (notes) {
		const char *k;
		json_t *v;
		json_object_foreach(notes, k, v) if (!json_is_string(v) || !mt_node_id_valid(k))
			return "\"notes\" must map Node IDs to strings";
	}
	return NULL;
}

int mesh_trust_doc_item(char **out, size_t *len, const json_t *v, char reason[256])
{
	mt_error e = {0};
	if (mt_canon_dump(out, len, v, &e) == 0)
		return 0;
	/* Not representable canonically: feed bytes that will be refused with
	 * this reason. */
	char msg[300];
	snprintf(msg, sizeof msg, "not canonical: %.200s", e.msg);
	snprintf(reason, 256, "%.250s", msg);
	*out = strdup("x");
	*len = 1;
	return *out ? 0 : MT_ENOMEM;
}
