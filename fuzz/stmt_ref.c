/* A reference validator for differential testing: the tree-based statement
 * validation that mt_stmt_parse() used until it learned to read canonical
 * text directly (2026-11-30). It parses with jansson and checks the jansson
 * tree; the library now checks the bytes. Both must accept the same
 * statements, refuse the others with the same reason, and read the same
 * values (see stmt_ref.h). Test code only. */
#include "stmt_ref.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/canon.h"
#include "meshtrust/encoding.h"

enum fkind {
	F_NODEID,    /* Node ID string */
	F_HEX32,     /* 64 lower-case hex chars */
	F_SCOPE,     /* scope string */
	F_STR,       /* any string */
	F_STRLIST,   /* array of strings */
	F_SCOPELIST, /* array of ≥ 2 distinct scopes */
	F_IDLIST,    /* array of ≥ 1 distinct Node IDs */
	F_UINT,      /* integer 0..2^53-1 */
	F_SCORE,     /* integer 1..1000 */
	F_LEVEL,     /* "full" | "limited" | "none" */
	F_CHOICE,    /* "cooperate" | "defect" */
	F_SIG,       /* 86-char base64url signature */
	F_PARAMS,    /* genesis params object */
	F_BODY,      /* lesson body: string ≤ 65536 bytes */
	F_POLICY,    /* proposal policy object */
	F_VOTE,      /* "yes" | "no" */
};

struct field {
	const char *name;
	enum fkind kind;
	int required;
};

#define MAXF 10
struct tdef {
	const char *name;
	struct field f[MAXF];
};

static const struct tdef TYPES[MT_ST__COUNT] = {
	[MT_ST_TRUST] = {"trust",
			 {{"target", F_NODEID, 1},
			  {"level", F_LEVEL, 1},
			  {"score", F_SCORE, 0},
			  {"scope", F_SCOPE, 0},
			  {"labels", F_STRLIST, 0},
			  {"evidence", F_STRLIST, 0},
			  {"exp", F_UINT, 0},
			  {"graph", F_STR, 0}}},
	[MT_ST_REVOKE] = {"revoke", {{"target", F_NODEID, 1}, {"scope", F_SCOPE, 1}}},
	[MT_ST_REFERRAL] = {"referral",
			    {{"referee", F_NODEID, 1}, {"to", F_NODEID, 0}, {"note", F_STR, 0}}},
	[MT_ST_BRIDGE] = {"bridge", {{"scopes", F_SCOPELIST, 1}}},
	[MT_ST_LESSON] = {"lesson",
			  {{"topics", F_STRLIST, 1}, {"title", F_STR, 1}, {"body", F_BODY, 1}}},
	[MT_ST_GENESIS] = {"genesis",
			   {{"scope", F_SCOPE, 1}, {"founders", F_IDLIST, 1}, {"params", F_PARAMS, 1}}},
	[MT_ST_POT_OPEN] = {"pot-open",
			    {{"genesis", F_HEX32, 1},
			     {"candidate", F_NODEID, 1},
			     {"cosponsor", F_NODEID, 1},
			     {"deadline", F_UINT, 1}}},
	[MT_ST_POT_COMMIT] = {"pot-commit", {{"round", F_HEX32, 1}, {"commit", F_HEX32, 1}}},
	[MT_ST_POT_REVEAL] = {"pot-reveal",
			      {{"round", F_HEX32, 1}, {"choice", F_CHOICE, 1}, {"nonce", F_HEX32, 1}}},
	[MT_ST_POT_CLAIM] = {"pot-claim", {{"round", F_HEX32, 1}, {"candidate", F_NODEID, 1}}},
	[MT_ST_ROTATE] = {"rotate", {{"new", F_NODEID, 1}, {"newsig", F_SIG, 0}}},
	[MT_ST_KEY] = {"key", {{"next", F_HEX32, 1}, {"from", F_HEX32, 0}}},
	[MT_ST_PROPOSAL] = {"proposal",
			    {{"genesis", F_HEX32, 1}, {"closes", F_UINT, 1}, {"policy", F_POLICY, 1}}},
	[MT_ST_VOTE] = {"vote", {{"proposal", F_HEX32, 1}, {"choice", F_VOTE, 1}}},
};

static const char *const COMMON[] = {"v", "type", "iss", "seq", "prev", "ts", "sig"};

static int hex32_check(const char *s)
{
	if (strlen(s) != 64)
		return 0;
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

#define MAX_SAFE_INT 9007199254740991LL

/* The reference reading of a proposal's policy (SPEC §9.3). */
static int ref_tier(json_t *t, size_t i, mt_error *err)
{
	if (!json_is_object(t))
		return mt_error_set(err, MT_EINVAL, "bad policy.tiers: element %zu is not an object", i);
	const char *k;
	json_t *x;
	json_object_foreach(t, k, x)
	{
		int score = !strcmp(k, "min_score");
		if (!score && strcmp(k, "rate") && strcmp(k, "burst"))
			return mt_error_set(err, MT_EINVAL, "unknown field \"policy.tiers.%.40s\"", k);
		json_int_t n = json_is_integer(x) ? json_integer_value(x) : -1;
		if (n < (score ? 0 : 1) || (score && n > 1000))
			return mt_error_set(err, MT_EINVAL, "field out of range: policy.tiers[%zu].%s", i,
					    k);
	}
	if (!json_object_get(t, "burst"))
		return mt_error_set(err, MT_EINVAL, "required field missing: policy.tiers[%zu].burst", i);
	if (!json_object_get(t, "min_score"))
		return mt_error_set(err, MT_EINVAL,
				    "required field missing: policy.tiers[%zu].min_score", i);
	if (!json_object_get(t, "rate"))
		return mt_error_set(err, MT_EINVAL, "required field missing: policy.tiers[%zu].rate", i);
	return 0;
}

static int ref_policy(json_t *v, mt_error *err)
{
	if (!json_is_object(v))
		return mt_error_set(err, MT_EINVAL, "bad policy: must be an object");
	if (!json_object_size(v))
		return mt_error_set(err, MT_EINVAL, "bad policy: sets nothing");
	const char *k;
	json_t *x;
	json_object_foreach(v, k, x)
	{
		size_t i, n = json_is_array(x) ? json_array_size(x) : 0;
		json_t *e;
		if (!strcmp(k, "max_gini") || !strcmp(k, "max_top10_share")) {
			json_int_t p = json_is_integer(x) ? json_integer_value(x) : -1;
			if (p < 0 || p > 1000)
				return mt_error_set(err, MT_EINVAL,
						    "field out of range: policy.%s must be 0..1000 permille", k);
		} else if (!strcmp(k, "enforce_gini")) {
			if (!json_is_true(x) && !json_is_false(x))
				return mt_error_set(err, MT_EINVAL,
						    "bad policy.enforce_gini: must be true or false");
		} else if (!strcmp(k, "tiers")) {
			if (n < 1 || n > 16)
				return mt_error_set(err, MT_EINVAL,
						    "bad policy.tiers: must be an array of 1..16 tiers");
			json_array_foreach(x, i, e)
			{
				int rc = ref_tier(e, i, err);
				if (rc)
					return rc;
			}
		} else if (!strcmp(k, "bridges")) {
			if (!json_is_array(x) || n > 256)
				return mt_error_set(err, MT_EINVAL,
						    "bad policy.bridges: must be an array of at most 256 Node IDs");
			json_array_foreach(x, i, e)
			{
				const char *id = json_string_value(e);
				if (!id || !mt_node_id_valid(id))
					return mt_error_set(err, MT_EINVAL,
							    "bad policy.bridges: element %zu is not a Node ID", i);
				for (size_t j = 0; j < i; j++)
					if (!strcmp(json_string_value(json_array_get(x, j)), id))
						return mt_error_set(err, MT_EINVAL,
								    "bad policy.bridges: \"%s\" listed twice", id);
			}
		} else {
			return mt_error_set(err, MT_EINVAL, "unknown field \"policy.%.40s\"", k);
		}
	}
	return 0;
}

static int check_field(const struct field *fd, json_t *v, const char *iss, mt_error *err)
{
	const char *name = fd->name;
	switch (fd->kind) {
	case F_NODEID:
		if (!json_is_string(v) || !mt_node_id_valid(json_string_value(v)))
			return mt_error_set(err, MT_EINVAL, "bad %s id: not a Node ID", name);
		if (iss && strcmp(json_string_value(v), iss) == 0 &&
		    (strcmp(name, "target") == 0 || strcmp(name, "referee") == 0))
			return mt_error_set(err, MT_EINVAL,
					    "statement about oneself: %s equals iss", name);
		return 0;
	case F_HEX32:
		if (!json_is_string(v) || !hex32_check(json_string_value(v)))
			return mt_error_set(err, MT_EINVAL,
					    "bad %s: must be 64 lower-case hex characters", name);
		return 0;
	case F_SCOPE:
		if (!json_is_string(v))
			return mt_error_set(err, MT_EINVAL, "bad scope: %s is not a string", name);
		return mt_scope_check(json_string_value(v), name, err);
	case F_STR:
		if (!json_is_string(v))
			return mt_error_set(err, MT_EINVAL, "bad %s: must be a string", name);
		return 0;
	case F_BODY:
		if (!json_is_string(v))
			return mt_error_set(err, MT_EINVAL, "bad %s: must be a string", name);
		if (json_string_length(v) > MT_LESSON_BODY_MAX)
			return mt_error_set(err, MT_EINVAL,
					    "field out of range: %s is %zu bytes (max %d)", name,
					    json_string_length(v), MT_LESSON_BODY_MAX);
		return 0;
	case F_STRLIST: {
		if (!json_is_array(v))
			return mt_error_set(err, MT_EINVAL, "bad %s: must be an array of strings",
					    name);
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) if (!json_is_string(x)) return mt_error_set(
			err, MT_EINVAL, "bad %s: element %zu is not a string", name, i);
		return 0;
	}
	case F_SCOPELIST:
	case F_IDLIST: {
		size_t min = fd->kind == F_SCOPELIST ? 2 : 1;
		if (!json_is_array(v) || json_array_size(v) < min)
			return mt_error_set(err, MT_EINVAL, "bad %s: must be an array of at least %zu",
					    name, min);
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
		{
			if (!json_is_string(x))
				return mt_error_set(err, MT_EINVAL, "bad %s: element %zu is not a string",
						    name, i);
			if (fd->kind == F_SCOPELIST) {
				int rc = mt_scope_check(json_string_value(x), name, err);
				if (rc)
					return rc;
			} else if (!mt_node_id_valid(json_string_value(x))) {
				return mt_error_set(err, MT_EINVAL, "bad %s: element %zu is not a Node ID",
						    name, i);
			}
			for (size_t j = 0; j < i; j++)
				if (strcmp(json_string_value(json_array_get(v, j)),
					   json_string_value(x)) == 0)
					return mt_error_set(err, MT_EINVAL,
							    "bad %s: \"%s\" listed twice", name,
							    json_string_value(x));
		}
		return 0;
	}
	case F_UINT:
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > MAX_SAFE_INT)
			return mt_error_set(err, MT_EINVAL, "field out of range: %s", name);
		return 0;
	case F_SCORE:
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1000)
			return mt_error_set(err, MT_EINVAL,
					    "score out of range: %" JSON_INTEGER_FORMAT
					    " (must be 1..1000 permille)",
					    json_is_integer(v) ? json_integer_value(v) : 0);
		return 0;
	case F_LEVEL: {
		const char *s = json_string_value(v);
		if (!s || (strcmp(s, "full") && strcmp(s, "limited") && strcmp(s, "none")))
			return mt_error_set(err, MT_EINVAL,
					    "bad level: must be \"full\", \"limited\" or \"none\"");
		return 0;
	}
	case F_CHOICE: {
		const char *s = json_string_value(v);
		if (!s || (strcmp(s, "cooperate") && strcmp(s, "defect")))
			return mt_error_set(err, MT_EINVAL,
					    "bad choice: must be \"cooperate\" or \"defect\"");
		return 0;
	}
	case F_SIG: {
		unsigned char tmp[64];
		if (!json_is_string(v))
			return mt_error_set(err, MT_EINVAL, "bad %s: must be a string", name);
		return mt_sig_decode(tmp, json_string_value(v), err);
	}
	case F_PARAMS: {
		if (!json_is_object(v))
			return mt_error_set(err, MT_EINVAL, "bad params: must be an object");
		const char *k;
		json_t *x;
		json_object_foreach(v, k, x)
		{
			json_int_t lo = 1, hi = MAX_SAFE_INT;
			if (!strcmp(k, "quorum"))
				hi = 1000;
			else if (!strcmp(k, "threshold"))
				lo = 500, hi = 1000;
			else if (strcmp(k, "period") && strcmp(k, "deadline_max") &&
				 strcmp(k, "credits"))
				return mt_error_set(err, MT_EINVAL, "unknown field \"params.%s\"", k);
			if (!json_is_integer(x) || json_integer_value(x) < lo ||
			    json_integer_value(x) > hi) {
				if (hi == MAX_SAFE_INT)
					return mt_error_set(err, MT_EINVAL,
							    "field out of range: params.%s must be >= 1", k);
				return mt_error_set(err, MT_EINVAL,
						    "field out of range: params.%s must be %" JSON_INTEGER_FORMAT
						    "..%" JSON_INTEGER_FORMAT,
						    k, lo, hi);
			}
		}
		return 0;
	}
	case F_POLICY:
		return ref_policy(v, err);
	case F_VOTE: {
		const char *s = json_string_value(v);
		if (!s || (strcmp(s, "yes") && strcmp(s, "no")))
			return mt_error_set(err, MT_EINVAL, "bad choice: must be \"yes\" or \"no\"");
		return 0;
	}
	}
	return MT_EINVAL;
}

static const struct field *find_field(const struct tdef *td, const char *name)
{
	for (int i = 0; i < MAXF && td->f[i].name; i++)
		if (strcmp(td->f[i].name, name) == 0)
			return &td->f[i];
	return NULL;
}

static int is_common(const char *k)
{
	for (size_t i = 0; i < sizeof COMMON / sizeof *COMMON; i++)
		if (strcmp(COMMON[i], k) == 0)
			return 1;
	return 0;
}

/* Validate the tree `j` (with or without sig as `want_sig` says) and fill the
 * common fields of `st`. */
static int ref_validate(mt_stmt *st, json_t *j, int want_sig, int64_t now, mt_error *err)
{
	if (!json_is_object(j))
		return mt_error_set(err, MT_EINVAL, "not JSON: top level is not an object");
	json_t *v = json_object_get(j, "v");
	if (!v)
		return mt_error_set(err, MT_EINVAL, "required field missing: v");
	if (!json_is_integer(v) || json_integer_value(v) != 1)
		return mt_error_set(err, MT_EINVAL, "unknown v: only version 1 is known");
	json_t *type = json_object_get(j, "type");
	if (!type)
		return mt_error_set(err, MT_EINVAL, "required field missing: type");
	if (!json_is_string(type) || mt_stmt_type_parse(&st->type, json_string_value(type)) != 0)
		return mt_error_set(err, MT_EINVAL, "unknown type \"%.40s\"",
				    json_is_string(type) ? json_string_value(type) : "?");
	const struct tdef *td = &TYPES[st->type];

	json_t *iss = json_object_get(j, "iss");
	if (!iss)
		return mt_error_set(err, MT_EINVAL, "required field missing: iss");
	if (!json_is_string(iss) ||
	    mt_identity_parse(st->iss_pk, st->iss, json_string_value(iss), "iss", NULL) != 0 ||
	    strcmp(st->iss, json_string_value(iss)) != 0)
		return mt_error_set(err, MT_EINVAL, "bad iss id: not a Node ID");

	json_t *seq = json_object_get(j, "seq");
	if (!seq)
		return mt_error_set(err, MT_EINVAL, "required field missing: seq");
	if (!json_is_integer(seq) || json_integer_value(seq) < 1 ||
	    json_integer_value(seq) > MAX_SAFE_INT)
		return mt_error_set(err, MT_EINVAL, "field out of range: seq must be >= 1");
	st->seq = (uint64_t)json_integer_value(seq);

	json_t *prev = json_object_get(j, "prev");
	if (st->seq == 1 && prev)
		return mt_error_set(err, MT_EINVAL, "field out of range: prev must be absent when seq is 1");
	if (st->seq > 1) {
		if (!prev)
			return mt_error_set(err, MT_EINVAL, "required field missing: prev (seq > 1)");
		if (!json_is_string(prev) || !hex32_check(json_string_value(prev)))
			return mt_error_set(err, MT_EINVAL,
					    "bad prev: must be 64 lower-case hex characters");
		if (mt_hex_decode(st->prev, 32, json_string_value(prev), NULL) != 0)
			return mt_error_set(err, MT_EINVAL, "bad prev");
		st->has_prev = 1;
	}

	json_t *ts = json_object_get(j, "ts");
	if (!ts)
		return mt_error_set(err, MT_EINVAL, "required field missing: ts");
	if (!json_is_integer(ts) || json_integer_value(ts) < 0 ||
	    json_integer_value(ts) > MAX_SAFE_INT)
		return mt_error_set(err, MT_EINVAL, "field out of range: ts");
	st->ts = json_integer_value(ts);

	json_t *sig = json_object_get(j, "sig");
	if (want_sig && !sig)
		return mt_error_set(err, MT_EINVAL, "required field missing: sig");
	if (!want_sig && sig)
		return mt_error_set(err, MT_EINVAL, "body must not carry sig");

	const char *k;
	json_t *x;
	json_object_foreach(j, k, x)
	{
		if (is_common(k))
			continue;
		const struct field *fd = find_field(td, k);
		if (!fd)
			return mt_error_set(err, MT_EINVAL, "unknown field \"%.60s\" for type %s", k,
					    td->name);
		int rc = check_field(fd, x, st->iss, err);
		if (rc)
			return rc;
	}
	for (int i = 0; i < MAXF && td->f[i].name; i++)
		if (td->f[i].required && !json_object_get(j, td->f[i].name))
			return mt_error_set(err, MT_EINVAL, "required field missing: %s",
					    td->f[i].name);

	if (st->type == MT_ST_GENESIS) {
		json_t *founders = json_object_get(j, "founders");
		int found = 0;
		size_t i;
		json_array_foreach(founders, i, x) if (strcmp(json_string_value(x), st->iss) == 0)
			found = 1;
		if (!found)
			return mt_error_set(err, MT_EINVAL, "bad founders: must include iss");
	}
	if (st->type == MT_ST_ROTATE && strcmp(json_string_value(json_object_get(j, "new")), st->iss) == 0)
		return mt_error_set(err, MT_EINVAL, "statement about oneself: new equals iss");

	if (now != INT64_MAX && st->ts > now + MT_STMT_MAX_SKEW)
		return mt_error_set(err, MT_EINVAL,
				    "ts too far ahead: %" PRId64 " is %" PRId64
				    " s past this node's clock (max %d)",
				    st->ts, st->ts - now, MT_STMT_MAX_SKEW);
	if (want_sig) {
		if (!json_is_string(sig))
			return mt_error_set(err, MT_EINVAL, "bad sig: must be a string");
		int rc = mt_sig_decode(st->sig, json_string_value(sig), err);
		if (rc)
			return rc;
	}
	return 0;
}


/* The reference parse: the canonical check, the jansson tree, validation. */
static int ref_parse(json_t **tree, mt_stmt *st, const char *buf, size_t len, int64_t now,
		     mt_error *err)
{
	*tree = NULL;
	memset(st, 0, sizeof *st);
	if (len > MT_STMT_MAX)
		return mt_error_set(err, MT_ETOOBIG, "too large: %zu bytes (max %d)", len, MT_STMT_MAX);
	int rc = mt_canon_parse(tree, buf, len, err);
	if (!rc)
		rc = ref_validate(st, *tree, 1, now, err);
	if (rc) {
		json_decref(*tree);
		*tree = NULL;
	}
	return rc;
}

#define DIFFER(...) (snprintf(why, whylen, __VA_ARGS__), 0)

/* Every member of `tree` read through the library's accessors. */
static int members_agree(const mt_stmt *st, json_t *tree, char *why, size_t whylen)
{
	const char *k;
	json_t *v;
	json_object_foreach(tree, k, v)
	{
		const char *s = mt_stmt_str(st, k);
		if (json_is_string(v) ? !s || strcmp(s, json_string_value(v)) != 0 : s != NULL)
			return DIFFER("mt_stmt_str(%s)", k);
		if (mt_stmt_int(st, k, -1) != (json_is_integer(v) ? json_integer_value(v) : -1))
			return DIFFER("mt_stmt_int(%s)", k);
		size_t n = 0, i;
		const char *x = mt_stmt_list(st, k, &n);
		int strlist = json_is_array(v);
		json_t *e;
		json_array_foreach(v, i, e) strlist = strlist && json_is_string(e);
		if (strlist != (x != NULL) || n != (strlist ? json_array_size(v) : 0))
			return DIFFER("mt_stmt_list(%s): %zu elements", k, n);
		for (i = 0; i < n; i++, x = mt_stmt_list_next(x))
			if (strcmp(x, json_string_value(json_array_get(v, i))) != 0)
				return DIFFER("mt_stmt_list(%s)[%zu]", k, i);
		json_t *m = NULL;
		if (mt_stmt_member(st, k, &m, NULL) != 0 || !json_equal(m, v)) {
			json_decref(m);
			return DIFFER("mt_stmt_member(%s)", k);
		}
		json_decref(m);
	}
	if (mt_stmt_str(st, "no-such-member") || mt_stmt_int(st, "no-such-member", 7) != 7)
		return DIFFER("an absent member reads as present");
	json_t *whole = NULL;
	int same = mt_stmt_tree(st, &whole, NULL) == 0 && json_equal(whole, tree);
	json_decref(whole);
	return same ? 1 : DIFFER("mt_stmt_tree");
}

int stmt_ref_agree(const char *buf, size_t len, int64_t now, int *accepted, char *why,
		   size_t whylen)
{
	mt_stmt *st = NULL, ref;
	json_t *tree = NULL;
	mt_error e1 = {0}, e2 = {0};
	int rc1 = mt_stmt_parse(&st, buf, len, now, &e1);
	int rc2 = ref_parse(&tree, &ref, buf, len, now, &e2);
	int ok = 1;
	*accepted = rc1 == 0;
	if (rc1 != rc2)
		ok = DIFFER("return %d (%s) vs reference %d (%s)", rc1, e1.msg, rc2, e2.msg);
	else if (rc1 && strcmp(e1.msg, e2.msg) != 0)
		ok = DIFFER("reason \"%s\" vs reference \"%s\"", e1.msg, e2.msg);
	else if (!rc1 &&
		 (st->type != ref.type || strcmp(st->iss, ref.iss) != 0 ||
		  memcmp(st->iss_pk, ref.iss_pk, 32) != 0 || st->seq != ref.seq ||
		  st->has_prev != ref.has_prev || memcmp(st->prev, ref.prev, 32) != 0 ||
		  st->ts != ref.ts || memcmp(st->sig, ref.sig, 64) != 0))
		ok = DIFFER("common fields differ");
	else if (!rc1)
		ok = members_agree(st, tree, why, whylen);
	mt_stmt_free(st);
	json_decref(tree);
	return ok;
}
