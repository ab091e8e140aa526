/* mt_utf8_valid (meshtrust/canon.h): whole-buffer UTF-8 validation over the
 * sequence check the canonical JSON checker uses. */
#include "json_int.h"
#include "meshtrust/canon.h"

int mt_utf8_valid(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t k = mt_json__utf8_seq((const unsigned char *)s + i, n - i);
		if (!k)
			return 0;
		i += k;
	}
	return 1;
}
