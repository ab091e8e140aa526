/* Documents as text with every number in its shortest form that reads back
 * as the same double (0.9, not 0.90000000000000002). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/views.h"

/* The shortest "%.*g" of d that strtod reads back as d, into out[32].
 * %.Ng drops trailing zeros, so when the 15-digit form reads back it is the
 * shortest (a shorter exact form would be it with zeros appended: d lies
 * within half an ulp of it, far inside the 15-digit grid's spacing); else
 * 16 digits, else 17 (which always read back). At most 3 tries. */
static void shortest(char out[32], double d)
{
	int p = 15;
	for (; p < 17; p++) {
		snprintf(out, 32, "%.*g", p, d);
		if (strtod(out, NULL) == d)
			break;
	}
	if (p == 17)
		snprintf(out, 32, "%.17g", d);
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
			/* significant digits of the %.17g form: 15 or fewer means it is
			 * already the shortest (see shortest()) */
			int sig = 0, lead = 1;
			for (size_t k = i; k < j && s[k] != 'e' && s[k] != 'E'; k++) {
				if (s[k] < '0' || s[k] > '9')
					continue;
				if (lead && s[k] == '0')
					continue;
				lead = 0;
				sig++;
			}
			if (real && sig > 15 && j - i < 40) {
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
