/* The `mesh` command's wrappers of the configuration registry (meshtrust/config.h):
 * they print the error themselves and return an exit code. */
#ifndef MESH_CONFIG_H
#define MESH_CONFIG_H

#include <stddef.h>

#include "cli.h"

#include "meshtrust/config.h"

#define MESH_MAX_DEPTH MT_CONFIG_MAX_DEPTH
#define MESH_MAX_DECAY MT_CONFIG_MAX_DECAY

/* Parse a decay table ("1 1 0.5 0.25 0.125"): values in (0,1], non-increasing. */
int mesh_parse_decay(double *out, size_t *n, const char *text, mt_error *err);
/* The value of a known key (stored or default); *out malloc'd. Exit code. */
int mesh_config_value(mesh_ctx *ctx, const char *key, char **out);
/* trust.maxDepth and trust.decay. Exit code. */
int mesh_config_trust(mesh_ctx *ctx, int *depth, double *decay, size_t *n_decay);

#endif
