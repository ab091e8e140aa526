/* Helpers the mesh sim simulators share (sim.h). */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

int mesh_sim_reserve(void **arr, size_t n, size_t *cap, size_t elem, size_t first)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : first;
	void *p = realloc(*arr, nc * elem);
	if (!p)
		return -1;
	*arr = p;
	*cap = nc;
	return 0;
}

int mesh_sim_signer_init(sim_signer *x, const unsigned char seed[32], uint64_t index)
{
	memset(x, 0, sizeof *x);
	unsigned char in[40], key[32];
	memcpy(in, seed, 32);
	for (int i = 0; i < 8; i++)
		in[32 + i] = (unsigned char)(index >> (8 * i));
	mt_blake2b256(key, in, sizeof in);
	if (mt_keypair_from_seed(&x->kp, key) != 0)
		return -1;
	mt_node_id_encode(x->id, x->kp.pk);
	return 0;
}

mt_stmt *mesh_sim_sign(sim_signer *x, mt_stmt ***list, size_t *n, size_t *cap, int64_t ts,
		       json_t *body)
{
	if (!body)
		return NULL;
	if (mesh_sim_reserve((void **)list, *n, cap, sizeof **list, 256)) {
		json_decref(body);
		return NULL;
	}
	mt_stmt *st = NULL;
	int rc = mt_stmt_sign(&st, body, &x->kp, x->seq + 1, x->seq ? x->prev : NULL, ts, NULL);
	json_decref(body);
	if (rc)
		return NULL;
	x->seq++;
	memcpy(x->prev, st->id, 32);
	(*list)[(*n)++] = st;
	return st;
}
