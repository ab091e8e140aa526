/* String interning for node IDs: an open-addressing hash table mapping each
 * distinct string to a dense index in first-seen order. Strings are borrowed
 * (the caller's edge array outlives the table). */
#include "metrics_intern.h"

#include <stdlib.h>
#include <string.h>

#define EMPTY UINT32_MAX

/* FNV-1a, 64-bit: short IDs, no adversary to worry about in a local table
 * (a crafted collision only slows the build, it cannot change a result). */
static uint64_t hash_string(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int grow(mt_metrics_intern *table)
{
	size_t capacity = table->slot_count ? table->slot_count * 2 : 1024;
	uint32_t *slots = malloc(capacity * sizeof *slots);
	if (!slots)
		return MT_ENOMEM;
	memset(slots, 0xff, capacity * sizeof *slots);
	size_t mask = capacity - 1;
	for (uint32_t i = 0; i < table->count; i++) {
		size_t pos = (size_t)table->hashes[i] & mask;
		while (slots[pos] != EMPTY)
			pos = (pos + 1) & mask;
		slots[pos] = i;
	}
	free(table->slots);
	table->slots = slots;
	table->slot_count = capacity;

	size_t entries = capacity / 2;
	const char **strings = realloc(table->strings, entries * sizeof *strings);
	if (!strings)
		return MT_ENOMEM;
	table->strings = strings;
	uint64_t *hashes = realloc(table->hashes, entries * sizeof *hashes);
	if (!hashes)
		return MT_ENOMEM;
	table->hashes = hashes;
	return 0;
}

int mt_metrics__intern(mt_metrics_intern *table, const char *s, int insert, uint32_t *index)
{
	uint64_t h = hash_string(s);
	if (table->slot_count) {
		size_t mask = table->slot_count - 1;
		for (size_t pos = (size_t)h & mask; table->slots[pos] != EMPTY;
		     pos = (pos + 1) & mask) {
			uint32_t i = table->slots[pos];
			if (table->hashes[i] == h && strcmp(table->strings[i], s) == 0) {
				*index = i;
				return 0;
			}
		}
	}
	if (!insert)
		return MT_ENOTFOUND;
	/* Keep the load factor at or below 1/2. */
	if ((size_t)table->count + 1 > table->slot_count / 2) {
		if (table->count >= UINT32_MAX - 1)
			return MT_EINVAL;
		int rc = grow(table);
		if (rc)
			return rc;
	}
	size_t mask = table->slot_count - 1;
	size_t pos = (size_t)h & mask;
	while (table->slots[pos] != EMPTY)
		pos = (pos + 1) & mask;
	uint32_t i = table->count++;
	table->slots[pos] = i;
	table->strings[i] = s;
	table->hashes[i] = h;
	*index = i;
	return 0;
}

void mt_metrics__intern_free(mt_metrics_intern *table)
{
	free(table->slots);
	free(table->strings);
	free(table->hashes);
	memset(table, 0, sizeof *table);
}
