/* Pure parsing parts of `mesh log import` / `mesh trust import` (no I/O on
 * the store, no printing), split out of cmd_log.c so the fuzz target
 * fuzz/fuzz_trust_import.c can run them without the rest of the CLI. */
#ifndef MESH_IMPORT_PARSE_H
#define MESH_IMPORT_PARSE_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* Read one line of `f` into buf (cap bytes incl. NUL) without the newline;
 * *len receives its length. Returns 1 ok, 0 EOF, -1 the line is longer than
 * cap-1 (the rest of the line is skipped), -2 a NUL byte in the line. */
int mesh_import_read_line(FILE *f, char *buf, size_t cap, size_t *len);

/* Check the shape of a trust-export document (SPEC: {"version":1,
 * "statements":[…], "notes":{NodeID:string}}). Returns NULL when it is one,
 * else a static message naming what is wrong. `doc` is borrowed. */
const char *mesh_trust_doc_check(const json_t *doc);

/* Turn item `v` of a trust document's "statements" array into the bytes fed
 * to ingest: its canonical JSON in *out (malloc'd, caller frees, *len bytes).
 * When `v` has no canonical form, *out is the placeholder "x" (which ingest
 * refuses) and `reason` (256 bytes) receives "not canonical: …"; otherwise
 * reason[0] is left alone. Returns 0 or MT_ENOMEM (*out then NULL). */
int mesh_trust_doc_item(char **out, size_t *len, const json_t *v, char reason[256]);

#endif
