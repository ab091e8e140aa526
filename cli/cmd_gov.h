/* Governance commands (SPEC §9.3) and the policy in force, shared by
 * `mesh policy`, `mesh metrics` and `mesh proposal`. Not a public API. */
#ifndef MESH_CMD_GOV_H
#define MESH_CMD_GOV_H

#include "cli.h"
#include "meshtrust/gov.h"
#include "meshtrust/policy.h"

int cmd_propose(mesh_ctx *ctx, int argc, char **argv);
int cmd_vote(mesh_ctx *ctx, int argc, char **argv);
int cmd_proposal(mesh_ctx *ctx, int argc, char **argv);

/* The policy in force for `scope` (mt_view_policy_in_force): the node's own
 * with the policy of the community bound to the scope over it
 * (policy.acceptLooser from the configuration). *out owned by the caller
 * (mt_policy_free); *doc (may be NULL) a new document; *approved (may be
 * NULL) receives a copy of the community's policy (bridges) the caller
 * clears with mt_gov_policy_clear (zeroed when there is no community).
 * Returns an exit code. */
int mesh_policy_in_force(mesh_ctx *ctx, const char *scope, mt_policy **out, json_t **doc,
			 mt_gov_policy *approved);

#endif
