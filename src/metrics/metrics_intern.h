/** Private: string -> dense index table used to build the metrics graph. */
#ifndef MT_METRICS_INTERN_H
#define MT_METRICS_INTERN_H

#include <stddef.h>
#include <stdint.h>

#include "meshtrust/error.h"

/** Zero-initialise before use; free with mt_metrics__intern_free(). */
typedef struct mt_metrics_intern {
	uint32_t *slots;      /* slot_count entries: index or UINT32_MAX */
	size_t slot_count;    /* power of two */
	const char **strings; /* count entries, borrowed */
	uint64_t *hashes;     /* count entries */
	uint32_t count;
} mt_metrics_intern;

/** Look `s` up; when absent and `insert` is set, add it with the next index.
 * Returns 0 with *index set, MT_ENOTFOUND (absent, insert == 0), MT_ENOMEM,
 * or MT_EINVAL when the table would exceed 2^32-2 strings. Amortised O(|s|). */
int mt_metrics__intern(mt_metrics_intern *table, const char *s, int insert, uint32_t *index);

/** Release the table's memory (not the strings); leaves it zeroed. */
void mt_metrics__intern_free(mt_metrics_intern *table);

#endif
