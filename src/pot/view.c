/* Proof-of-trust: loading effective statements from a store, JSON views. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/pot.h"
#include "pot_int.h"

int mt_pot_load(mt_stmt ***out, size_t *n, mt_store *s, mt_error *err)
{
	/* The statements that take effect (inside the issuer's valid prefix,
	 * before any fork, not after a rotation): exactly the effective set,
	 * by id. */
	static const mt_stmt_type types[] = {MT_ST_GENESIS, MT_ST_POT_OPEN, MT_ST_POT_COMMIT,
					     MT_ST_POT_REVEAL, MT_ST_POT_CLAIM};
	return mt_pot__load_types(out, n, s, types, sizeof types / sizeof *types, "pot", err);
}

void mt_pot_stmts_free(mt_stmt **stmts, size_t n)
{
	if (!stmts)
		return;
	for (size_t i = 0; i < n; i++)
		mt_stmt_free(stmts[i]);
	free(stmts);
}

static json_t *iso_json(int64_t t)
{
	char buf[32];
	mt_pot_iso(buf, t);
	return json_string(buf);
}

json_t *mt_pot_members_json(const mt_pot_state *st, const mt_pot_community *c)
{
	json_t *members = json_array(), *conflicts = json_array(), *roster = json_array();
	for (size_t i = 0; i < c->n_members; i++) {
		const mt_pot_member *m = &c->members[i];
		json_array_append_new(members, json_string(m->id));
		json_t *o = json_pack("{s:s,s:b,s:o}", "id", m->id, "founder", m->founder, "since",
				      iso_json(m->since));
		if (m->admitted_by[0])
			json_object_set_new(o, "admitted_by", json_string(m->admitted_by));
		json_array_append_new(roster, o);
	}
	for (size_t i = 0; i < st->n_communities; i++)
		if (&st->communities[i] != c && strcmp(st->communities[i].scope, c->scope) == 0)
			json_array_append_new(conflicts, json_string(st->communities[i].genesis));
	return json_pack("{s:s,s:s,s:o,s:o,s:o}", "scope", c->scope, "genesis", c->genesis, "members",
			 members, "roster", roster, "conflicts", conflicts);
}

static json_t *penalty_json(const mt_pot_penalty *p)
{
	return json_pack("{s:s,s:s,s:o,s:o,s:s}", "member", p->member, "round", p->round, "from",
			 iso_json(p->from), "until", iso_json(p->until), "reason", p->reason);
}

json_t *mt_pot_round_json(const mt_pot_state *st, const mt_pot_round *r)
{
	const mt_pot_community *c = mt_pot_community_get(st, r->genesis);
	json_t *committed = json_array(), *revealed = json_object(), *pens = json_array(),
	       *credits = json_object();
	for (int w = 0; w < 2; w++) {
		if (r->committed[w])
			json_array_append_new(committed, json_string(r->party[w]));
		if (r->revealed[w])
			json_object_set_new(revealed, r->party[w],
					    json_string(r->defected[w] ? "defect" : "cooperate"));
	}
	for (size_t i = 0; i < st->n_penalties; i++) {
		const mt_pot_penalty *p = &st->penalties[i];
		if (strcmp(p->genesis, r->genesis) == 0 && p->from <= st->at && st->at < p->until)
			json_array_append_new(pens, penalty_json(p));
	}
	for (size_t i = 0; i < st->n_credits; i++) {
		const mt_pot_credit *k = &st->credits[i];
		if (strcmp(k->genesis, r->genesis) || st->at >= k->expires || k->used >= k->total)
			continue;
		json_t *arr = json_object_get(credits, k->member);
		if (!arr) {
			arr = json_array();
			json_object_set_new(credits, k->member, arr);
		}
		json_array_append_new(arr, json_pack("{s:s,s:I,s:o}", "round", k->round, "remaining",
						     (json_int_t)(k->total - k->used), "expires",
						     iso_json(k->expires)));
	}
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:b,s:o,s:o}",
			      "round", r->id, "genesis", r->genesis, "scope", c ? c->scope : "",
			      "stage", mt_pot_stage_name(r->stage), "outcome",
			      mt_pot_outcome_name(r->outcome), "opener", r->party[0], "cosponsor",
			      r->party[1], "candidate", r->candidate, "opened_at",
			      iso_json(r->opened_at), "deadline", iso_json(r->deadline), "committed",
			      committed, "revealed", revealed, "admitted", r->admitted, "penalties",
			      pens, "credits", credits);
	if (o && r->stage == MT_POT_STAGE_RESOLVED)
		json_object_set_new(o, "resolved_at", iso_json(r->resolved_at));
	return o;
}

json_t *mt_pot_state_json(const mt_pot_state *st)
{
	json_t *comms = json_array(), *rounds = json_array(), *pens = json_array(),
	       *creds = json_array(), *refs = json_array();
	for (size_t i = 0; i < st->n_communities; i++) {
		const mt_pot_community *c = &st->communities[i];
		json_t *members = json_array();
		for (size_t j = 0; j < c->n_members; j++) {
			const mt_pot_member *m = &c->members[j];
			json_array_append_new(members,
					      json_pack("{s:s,s:I,s:b,s:s}", "id", m->id, "since",
							(json_int_t)m->since, "founder", m->founder,
							"admitted_by", m->admitted_by));
		}
		json_array_append_new(
			comms, json_pack("{s:s,s:s,s:I,s:I,s:I,s:b,s:o}", "genesis", c->genesis,
					 "scope", c->scope, "period", (json_int_t)c->params.period,
					 "deadline_max", (json_int_t)c->params.deadline_max,
					 "credits", (json_int_t)c->params.credits, "label_owner",
					 c->label_owner, "members", members));
	}
	for (size_t i = 0; i < st->n_rounds; i++) {
		const mt_pot_round *r = &st->rounds[i];
		json_array_append_new(rounds,
				      json_pack("{s:s,s:s,s:s,s:I}", "round", r->id, "stage",
						mt_pot_stage_name(r->stage), "outcome",
						mt_pot_outcome_name(r->outcome), "resolved_at",
						(json_int_t)r->resolved_at));
	}
	for (size_t i = 0; i < st->n_penalties; i++)
		json_array_append_new(pens, penalty_json(&st->penalties[i]));
	for (size_t i = 0; i < st->n_credits; i++) {
		const mt_pot_credit *k = &st->credits[i];
		json_array_append_new(creds, json_pack("{s:s,s:s,s:I,s:I,s:I}", "member", k->member,
						       "round", k->round, "total",
						       (json_int_t)k->total, "used",
						       (json_int_t)k->used, "expires",
						       (json_int_t)k->expires));
	}
	for (size_t i = 0; i < st->n_refusals; i++)
		json_array_append_new(refs, json_pack("{s:s,s:s}", "stmt", st->refusals[i].stmt,
						      "reason", st->refusals[i].reason));
	return json_pack("{s:I,s:o,s:o,s:o,s:o,s:o}", "at", (json_int_t)st->at, "communities", comms,
			 "rounds", rounds, "penalties", pens, "credits", creds, "refusals", refs);
}

int mt_pot_derive_store(mt_pot_state **out, mt_store *s, int64_t at, mt_error *err)
{
	mt_stmt **list = NULL;
	size_t n = 0;
	*out = NULL;
	int rc = mt_pot_load(&list, &n, s, err);
	if (rc)
		return rc;
	struct mt_pot__aliases al = {0};
	rc = mt_pot__aliases_load(&al, s, "out of memory", err);
	if (!rc)
		rc = mt_pot_derive_chains(out, (const mt_stmt *const *)list, n, at, al.v, al.n, err);
	mt_pot__aliases_free(&al);
	mt_pot_stmts_free(list, n);
	return rc;
}

/* The ts of the issuer's applied head, 0 when it has none. */
static int head_ts(mt_store *s, const mt_feed_info *feed, int64_t *out, mt_error *err)
{
	*out = 0;
	if (!feed->head_seq)
		return 0;
	char *canon = NULL;
	size_t len = 0;
	int rc = mt_store_get(s, feed->head_id, &canon, &len, err);
	if (rc)
		return rc;
	mt_stmt *head = NULL;
	mt_error perr = {0};
	rc = mt_stmt_parse(&head, canon, len, INT64_MAX, &perr);
	free(canon);
	if (rc)
		return mt_error_set(err, MT_EIO, "pot: stored head unreadable: %s", perr.msg);
	*out = head->ts;
	mt_stmt_free(head);
	return 0;
}

int mt_pot_check_move(mt_store *s, const json_t *body, const mt_keypair *kp, int64_t ts,
		      char id_out[65], mt_error *err)
{
	char me[MT_NODE_ID_MAX];
	mt_node_id_encode(me, kp->pk);
	mt_feed_info feed = {0};
	mt_error ferr = {0};
	int rc = mt_store_feed(s, me, &feed, &ferr);
	if (rc == MT_ENOTFOUND)
		memset(&feed, 0, sizeof feed);
	else if (rc)
		return mt_error_set(err, rc, "%s", ferr.msg);
	/* The statement the store will issue: the next seq, at ts raised to the
	 * head's when the clock is behind it (SPEC §9.1; beyond the allowed skew
	 * the issue itself refuses, naming the clock). */
	int64_t head = 0;
	if ((rc = head_ts(s, &feed, &head, err)))
		return rc;
	if (ts < head)
		ts = head;
	mt_stmt *tentative = NULL;
	rc = mt_stmt_sign(&tentative, body, kp, feed.head_seq + 1,
			  feed.head_seq ? feed.head_id : NULL, ts, err);
	if (rc)
		return rc;
	mt_stmt **list = NULL;
	size_t n = 0;
	mt_pot_state *st = NULL;
	if ((rc = mt_pot_load(&list, &n, s, err)))
		goto done;
	mt_stmt **all = realloc(list, (n + 1) * sizeof *all);
	if (!all) {
		rc = mt_error_set(err, MT_ENOMEM, "pot: out of memory");
		goto done;
	}
	list = all;
	list[n++] = tentative;
	/* Judge the move as every later derivation will: with every statement
	 * held (some may carry a later ts — a clock ahead, within the skew — and
	 * still come first in the replay, as a dependency of the move). */
	int64_t at = ts;
	for (size_t i = 0; i < n; i++)
		if (list[i]->ts > at)
			at = list[i]->ts;
	rc = mt_pot_derive(&st, (const mt_stmt *const *)list, n, at, err);
	n--; /* the tentative statement is freed below, not with the list */
	if (rc)
		goto done;
	char hex[65];
	mt_stmt_id_hex(hex, tentative);
	const mt_pot_refusal *ref = mt_pot_refusal_get(st, hex);
	if (ref)
		rc = mt_error_set(err, MT_EPERM, "%s", ref->reason);
	else if (id_out)
		memcpy(id_out, hex, 65);
done:
	mt_pot_state_free(st);
	mt_pot_stmts_free(list, n);
	mt_stmt_free(tentative);
	return rc;
}

const mt_pot_community *mt_pot_community_bound(const mt_pot_state *st, mt_store *s,
					       const char *scope)
{
	char key[160], *val = NULL;
	snprintf(key, sizeof key, "community.%s", scope);
	const mt_pot_community *c = NULL;
	if (mt_store_config_get(s, key, &val, NULL) == 0 && val) {
		c = mt_pot_community_get(st, val);
		if (c && strcmp(c->scope, scope) != 0)
			c = NULL;
	}
	free(val);
	return c ? c : mt_pot_community_by_scope(st, scope);
}
