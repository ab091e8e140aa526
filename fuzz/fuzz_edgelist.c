/* libFuzzer target: the edge-list importer's parser (cli/edgelist_parse.c),
 * as `mesh graph import-edgelist` runs it.
 *
 * The first byte picks the format (konect, csv-signed, snap) and whether a
 * `--limited-below` threshold applies; the rest is the file, cut into lines
 * the way the importer's reader does (at "\n", a trailing "\r" dropped, a
 * line over EL_LINE_MAX bytes or with a NUL byte refuses the file).
 * Properties (abort() on violation): a refused line names its problem and
 * adds no edge; every kept edge joins two different node numbers < 2^63 that
 * are in the node table, has a score in 1..1000 (a multiple of 100 for
 * csv-signed), the level the threshold asks for, a timestamp that is the
 * fixed one or a CSV time in (0, now], and the line it came from.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The parser comes from mt_cliparse, the library `mesh` links too. */
#include "edgelist_parse.h"
#include "meshtrust/edge.h"

#define FUZZ_NOW 1767225600LL

static int has_node(const el_graph *g, uint64_t num)
{
	for (size_t i = 0; i < g->n_nodes; i++)
		if (g->nodes[i] == num)
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 16384)
		return 0;
	el_parse_opts po = {0};
	po.format = data[0] % 3 == 0 ? EL_KONECT : data[0] % 3 == 1 ? EL_CSV_SIGNED : EL_SNAP;
	po.limited_below = (data[0] / 3) % 2 ? 500 : 0;
	po.now = FUZZ_NOW;
	data++;
	size--;
	el_graph g = {0};
	g.path = g.base = "fuzz";
	char *line = malloc(EL_LINE_MAX + 2);
	if (!line)
		return 0;
	size_t pos = 0;
	uint32_t lineno = 0;
	while (pos < size) {
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t len = nl ? (size_t)(nl - (data + pos)) : size - pos;
		lineno++;
		if (len > EL_LINE_MAX || memchr(data + pos, 0, len))
			break; /* the importer refuses the whole file here */
		memcpy(line, data + pos, len);
		line[len] = '\0';
		pos += len + (nl ? 1 : 0);
		if (len && line[len - 1] == '\r')
			line[--len] = '\0';
		size_t before = g.n_edges;
		char why[200];
		why[0] = '\0';
		if (el_parse_line(&g, line, lineno, &po, why, sizeof why) != 0) {
			if (!why[0] || g.n_edges != before)
				abort();
			break;
		}
		if (g.n_edges > before + 1)
			abort();
	}
	for (size_t i = 0; i < g.n_edges; i++) {
		const el_edge *e = &g.edges[i];
		if (e->src_num == e->dst_num || e->src_num >= (UINT64_C(1) << 63) ||
		    e->dst_num >= (UINT64_C(1) << 63) ||
		    (i < 64 && (!has_node(&g, e->src_num) || !has_node(&g, e->dst_num))))
			abort();
		if (e->score < 1 || e->score > 1000 ||
		    (po.format == EL_CSV_SIGNED && e->score % 100 != 0))
			abort();
		int want = po.limited_below && e->score < po.limited_below ? MT_LEVEL_LIMITED
									   : MT_LEVEL_FULL;
		if (e->level != want || e->line < 1 || e->line > lineno || e->canon)
			abort();
		if (e->ts != EL_FIXED_TS && (po.format != EL_CSV_SIGNED || e->ts <= 0 ||
					     e->ts > FUZZ_NOW))
			abort();
	}
	if (g.n_nodes < (g.n_edges ? 2 : 0))
		abort();
	el_graph_free(&g);
	free(line);
	return 0;
}
