/* "Did you mean": the closest of a list of words to a mistyped one. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Optimal string alignment distance (Levenshtein with adjacent
 * transpositions) between a and b, both at most 63 bytes; 99 beyond. */
static int distance(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	if (n > 63 || m > 63)
		return 99;
	int d[64][64];
	for (size_t i = 0; i <= n; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= n; i++)
		for (size_t j = 1; j <= m; j++) {
			int cost = a[i - 1] != b[j - 1];
			int best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < best)
				best = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[n][m];
}

const char *mesh_suggest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	int best_d = 99;
	size_t wl = strlen(word);
	/* at most a third of the word's letters wrong (at least one, at most 3) */
	int limit = wl >= 9 ? 3 : wl >= 6 ? 2 : 1;
	for (size_t i = 0; i < n; i++) {
		int d = distance(word, cands[i]);
		if (d < best_d) {
			best_d = d;
			best = cands[i];
		}
	}
	if (best && best_d <= limit)
		return best;
	/* a unique candidate that the word starts (`mesh tru`) */
	const char *pref = NULL;
	for (size_t i = 0; wl >= 2 && i < n; i++)
		if (strncmp(cands[i], word, wl) == 0) {
			if (pref)
				return NULL;
			pref = cands[i];
		}
	return pref;
}
