/* mesh sim: one simulator per file, dispatched by cmd_sim.c. */
#ifndef MESH_SIM_H
#define MESH_SIM_H

#include "cli.h"

/* mesh sim pot (sim_pot.c): proof-of-trust strategies against the bound. */
int mesh_sim_pot(mesh_ctx *ctx, int argc, char **argv);
/* mesh sim attack (sim_attack.c): Sybil regions, best-path vs flow mode. */
int mesh_sim_attack(mesh_ctx *ctx, int argc, char **argv);
/* mesh sim govern (sim_govern.c): periods until a colluding minority that
 * admits Sybils at the proof-of-trust bound passes a proposal alone. */
int mesh_sim_govern(mesh_ctx *ctx, int argc, char **argv);

#endif
