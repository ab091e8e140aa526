/* Imports and the home's own feed (keyimport.c; not a public API). */
#ifndef MESH_KEYIMPORT_H
#define MESH_KEYIMPORT_H

#include <stdio.h>

#include "cli.h"

/* What an import holds of the home's own feed. */
typedef struct mesh_own_import {
	char own_id[MT_NODE_ID_MAX]; /* "" when the home has no identity */
	size_t own_in_file;          /* the home's own statements in the file */
	size_t forks;                /* of those, how many fork the own feed */
	int was_empty;               /* the store held nothing of the own feed */
} mesh_own_import;

/* Before an import (store open; `f` the NDJSON file at any position, or
 * `stmts` the trust document's statements): refuse, naming the line and
 * the seq, a file holding a statement of the home's own ID at a seq where
 * the store or the file holds a different one, unless `accept_fork`. Fills
 * *oi for mesh_import_own_after(). Prints the error; returns an exit code.
 * Leaves `f` rewound. */
int mesh_import_own_check(mesh_ctx *ctx, FILE *f, const json_t *stmts, int trust_doc,
			  const char *name, int accept_fork, mesh_own_import *oi);

/* After the import: finish a pending restore, or adopt own statements that
 * filled an empty own feed without a fork (not a theft: a restore). */
void mesh_import_own_after(mesh_ctx *ctx, const mesh_own_import *oi);

#endif
