/* libFuzzer target: the query's word splitter (mt_search_words). Every word
 * it returns is a non-empty run of non-space bytes with a letter, a digit or
 * a non-ASCII byte, found in the text in order. */
#include <ctype.h>
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
	char **words = NULL;
	size_t n = 0;
	if (mt_search_words(&words, &n, text, NULL) == 0) {
		if (n == 0)
			abort();
		const char *at = text;
		for (size_t i = 0; i < n; i++) {
			int useful = 0;
			if (!words[i][0])
				abort();
			for (const char *c = words[i]; *c; c++) {
				if (isspace((unsigned char)*c))
					abort();
				useful |= isalnum((unsigned char)*c) || (unsigned char)*c >= 0x80;
			}
			const char *found = strstr(at, words[i]);
			if (!useful || !found)
				abort();
			at = found + strlen(words[i]);
		}
		free(words);
	}
	free(text);
	return 0;
}
