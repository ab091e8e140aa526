/* Listings both front ends show: the scopes the edges name, the communities,
 * the proof-of-trust rounds, the proposals (`mesh trust scopes`, `community
 * list`, `pot status`, `proposal list` with --json, and the node's
 * /v1/scopes, /v1/communities, /v1/pot, /v1/proposals). */
#include <stdlib.h>
#include <string.h>

#include "meshtrust/views.h"

static int by_text(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *mt_view_scopes(const mt_edge_in *edges, size_t n)
{
	json_t *count = json_object();
	for (size_t i = 0; count && i < n; i++) {
		json_t *c = json_object_get(count, edges[i].scope);
		json_object_set_new(count, edges[i].scope,
				    json_integer(c ? json_integer_value(c) + 1 : 1));
	}
	size_t ns = json_object_size(count), k = 0;
	const char **names = calloc(ns ? ns : 1, sizeof *names);
	json_t *arr = json_array();
	if (!count || !names || !arr) {
		free(names);
		json_decref(count);
		json_decref(arr);
		return NULL;
	}
	const char *key;
	json_t *v;
	json_object_foreach(count, key, v) names[k++] = key;
	qsort(names, ns, sizeof *names, by_text);
	for (size_t i = 0; i < ns; i++)
		json_array_append_new(arr, json_pack("{s:s,s:O}", "scope", names[i], "edges",
						     json_object_get(count, names[i])));
	free(names);
	json_decref(count);
	return json_pack("{s:o}", "scopes", arr);
}

json_t *mt_view_communities(const mt_pot_state *st, mt_store *s)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < st->n_communities; i++) {
		const mt_pot_community *cm = &st->communities[i];
		size_t nf = 0;
		for (size_t j = 0; j < cm->n_members; j++)
			nf += (size_t)cm->members[j].founder;
		int is_bound = mt_pot_community_bound(st, s, cm->scope) == cm;
		json_array_append_new(
			arr, json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:b,s:I}", "scope", cm->scope,
				       "genesis", cm->genesis, "issuer", cm->iss, "founders",
				       (json_int_t)nf, "members", (json_int_t)cm->n_members,
				       "period", (json_int_t)cm->params.period, "deadline_max",
				       (json_int_t)cm->params.deadline_max, "credits",
				       (json_int_t)cm->params.credits, "bound", is_bound,
				       "conflicts", (json_int_t)cm->conflicts));
	}
	return arr ? json_pack("{s:o}", "communities", arr) : NULL;
}

json_t *mt_view_rounds(const mt_pot_state *st)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < st->n_rounds; i++)
		json_array_append_new(arr, mt_pot_round_json(st, &st->rounds[i]));
	char at[32];
	mt_pot_iso(at, st->at);
	return arr ? json_pack("{s:s,s:o}", "at", at, "rounds", arr) : NULL;
}

json_t *mt_view_proposals(const mt_gov_state *gs, const char *genesis)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < gs->n_proposals; i++) {
		const mt_gov_proposal *p = &gs->proposals[i];
		if (genesis && strcmp(p->genesis, genesis) != 0)
			continue;
		json_array_append_new(arr, mt_view_proposal(gs, p));
	}
	return arr ? json_pack("{s:o}", "proposals", arr) : NULL;
}
