/* Reading an edge-list file (plain or gzip) line by line through the fuzzed
 * parser (edgelist_parse.h): what `mesh graph import-edgelist` and
 * `mesh sim attack` both read. docs/edgelist.md describes the formats. */
#ifndef MESH_EDGELIST_READ_H
#define MESH_EDGELIST_READ_H

#include "edgelist_parse.h"

/* Read and parse the whole file g->path into `g` (el_parse_line on every
 * line, the newline and a trailing "\r" dropped). A line over EL_LINE_MAX
 * bytes, a NUL byte, a line the parser refuses or a read error stops the
 * read: the message names the file and the line and ends with `suffix`
 * (e.g. "; nothing imported"), and is printed with mesh_fail. Returns
 * EXIT_OK or EXIT_FAIL. */
int el_read_file(el_graph *g, const el_parse_opts *po, const char *suffix);

#endif
