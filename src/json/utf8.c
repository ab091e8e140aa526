#include "json_int.h"

size_t mt_json__utf8_seq(const unsigned char *s, size_t avail)
{
	unsigned char lead = s[0];
	size_t n;
	/* The allowed range of the second byte depends on the lead byte: this is
	 * what excludes overlong forms (E0, F0), surrogates (ED) and values above
	 * U+10FFFF (F4). */
	unsigned char lo = 0x80, hi = 0xbf;

	if (lead < 0x80)
		return 1;
	if (lead >= 0xc2 && lead <= 0xdf) {
		n = 2;
	} else if (lead >= 0xe0 && lead <= 0xef) {
		n = 3;
		if (lead == 0xe0)
			lo = 0xa0;
		else if (lead == 0xed)
			hi = 0x9f;
	} else if (lead >= 0xf0 && lead <= 0xf4) {
		n = 4;
		if (lead == 0xf0)
			lo = 0x90;
		else if (lead == 0xf4)
			hi = 0x8f;
	} else {
		return 0; /* continuation byte, C0/C1 (overlong) or F5..FF */
	}
	if (avail < n)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}
