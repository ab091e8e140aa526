/* mesh sim: the simulators, one file each (sim.h). */
#include "cli.h"
#include "sim.h"

int cmd_sim(mesh_ctx *ctx, int argc, char **argv)
{
	static const mesh_cmd cmds[] = {
		{"pot", mesh_sim_pot, "simulate proof-of-trust strategies and check the bound"},
		{"attack", mesh_sim_attack,
		 "Sybil attack on a real graph: best-path vs flow vs flow-adaptive mode"},
		{"govern", mesh_sim_govern,
		 "periods until a colluding minority with Sybils passes a proposal alone"},
		{0, 0, 0}};
	return mesh_dispatch(ctx, "sim", cmds, argc, argv);
}
