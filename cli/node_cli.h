/* Shared by cmd_node.c and cmd_sync.c (not a public API). */
#ifndef MESH_NODE_CLI_H
#define MESH_NODE_CLI_H

#include <stdint.h>

#include "cli.h"

/* Trust depth/decay and the sync quotas from the configuration. Exit code. */
int mesh_node_config(mesh_ctx *ctx, int *depth, double decay[16], size_t *n_decay,
		     uint64_t *max_issuer, uint64_t *max_peer);

#endif
