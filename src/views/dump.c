/* Documents as text with every number in its shortest form that reads back
 * as the same double (0.9, not 0.90000000000000002). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/views.h"

/* The shortest "%.*g" of d that strtod reads back as d, into out[32]. */
static void shortest(char out[32], double d)
{
	/* the fewest significant digits that read back as d: reading back is
	 * monotonic in the digits (17 always do), so a binary search */
	int lo = 1, hi = 17;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		snprintf(out, 32, "%.*g", mid, d);
		if (strtod(out, NULL) == d)
			hi = mid;
		else
			lo = mid + 1;
	}
	int p = lo;
	snprintf(out, 32, "%.*g", p, d);
	/* plain decimals rather than an exponent where they stay short (200.0,
	 * not 2e+02) */
	double a = fabs(d);
	if (strpbrk(out, "eE") && a >= 1e-4 && a < 1e15) {
		int mag = (int)floor(log10(a));
		int dec = p - 1 - mag;
		char alt[40];
		snprintf(alt, sizeof alt, "%.*f", dec > 0 ? dec : 0, d);
		size_t k = strlen(alt);
		if (k < 30 && strtod(alt, NULL) == d)
			memcpy(out, alt, k + 1);
	}
	/* keep it a JSON real: 1 -> 1.0 (a reader tells reals from integers) */
	if (!strpbrk(out, ".eEn"))
		strcat(out, ".0");
}

char *mt_view_dumps(const json_t *v, size_t flags)
{
	char *s = json_dumps(v, flags | JSON_REAL_PRECISION(17));
	if (!s)
		return NULL;
	size_t len = strlen(s), o = 0;
	char *out = malloc(len + 1); /* never longer: %.17g is the longest form */
	if (!out) {
		free(s);
		return NULL;
	}
	int in_str = 0;
	for (size_t i = 0; i < len;) {
		char c = s[i];
		if (in_str) {
			out[o++] = c;
			i++;
			if (c == '\\' && i < len)
				out[o++] = s[i++];
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"') {
			in_str = 1;
			out[o++] = s[i++];
			continue;
		}
		if (c == '-' || (c >= '0' && c <= '9')) {
			size_t j = i;
			int real = 0;
			while (j < len && strchr("0123456789+-.eE", s[j])) {
				real |= s[j] == '.' || s[j] == 'e' || s[j] == 'E';
				j++;
			}
			if (real && j - i < 40) {
				char num[41], best[32];
				memcpy(num, s + i, j - i);
				num[j - i] = '\0';
				shortest(best, strtod(num, NULL));
				size_t k = strlen(best);
				if (k <= j - i) {
					memcpy(out + o, best, k);
					o += k;
					i = j;
					continue;
				}
			}
			memcpy(out + o, s + i, j - i);
			o += j - i;
			i = j;
			continue;
		}
		out[o++] = s[i++];
	}
	out[o] = '\0';
	free(s);
	return out;
}
