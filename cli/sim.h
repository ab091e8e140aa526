/* mesh sim: one simulator per file, dispatched by cmd_sim.c. */
#ifndef MESH_SIM_H
#define MESH_SIM_H

#include "cli.h"
#include "meshtrust/statement.h"

/* Helpers the simulators share (sim_util.c). */

/* A simulated issuer: a key derived from the run's seed and its index, and
 * the head of its feed. */
typedef struct sim_signer {
	mt_keypair kp;
	char id[MT_NODE_ID_MAX];
	uint64_t seq;
	unsigned char prev[32];
} sim_signer;

/* Room for one more element in *arr (n used of *cap, each `elem` bytes):
 * doubles the array, `first` elements the first time. -1 when out of
 * memory (*arr kept). */
int mesh_sim_reserve(void **arr, size_t n, size_t *cap, size_t elem, size_t first);

/* *x zeroed, its key from blake2b-256(seed || index as 8 little-endian
 * bytes). -1 when the key cannot be made. */
int mesh_sim_signer_init(sim_signer *x, const unsigned char seed[32], uint64_t index);

/* Sign `body` (consumed; NULL fails) as x's next statement at ts and append
 * it to *list (*n of *cap). The statement, owned by the list, or NULL. */
mt_stmt *mesh_sim_sign(sim_signer *x, mt_stmt ***list, size_t *n, size_t *cap, int64_t ts,
		       json_t *body);

/* mesh sim pot (sim_pot.c): proof-of-trust strategies against the bound. */
int mesh_sim_pot(mesh_ctx *ctx, int argc, char **argv);
/* mesh sim attack (sim_attack.c): Sybil regions, best-path vs flow vs
 * flow-adaptive mode, with Levien's bound checked in every run. */
int mesh_sim_attack(mesh_ctx *ctx, int argc, char **argv);
/* mesh sim govern (sim_govern.c): periods until a colluding minority that
 * admits Sybils at the proof-of-trust bound passes a proposal alone. */
int mesh_sim_govern(mesh_ctx *ctx, int argc, char **argv);

#endif
