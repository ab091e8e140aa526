/* libFuzzer target: the literal FTS5 expression builder. Its output is
 * always a sequence of quoted phrases with balanced quotes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/search.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	char *expr = NULL;
	if (mt_search_fts_expr(&expr, text, NULL) == 0) {
		size_t quotes = 0;
		for (const char *c = expr; *c; c++)
			quotes += *c == '"';
		if (expr[0] != '"' || quotes % 2 != 0)
			abort();
		free(expr);
	}
	free(text);
	return 0;
}
