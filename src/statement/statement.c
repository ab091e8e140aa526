/* Signed statements: the schema of SPEC §2, signing and verification.
 *
 * Validation is table driven: each type lists its fields with a kind and
 * whether they are required; any field not listed for the type (or in the
 * common set) is refused, so two implementations agree on what is valid. */
#include "meshtrust/statement.h"

#include <inttypes.h>
#include <sodium.h>
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
	[MT_ST_ROTATE] = {"rotate", {{"new", F_NODEID, 1}, {"newsig", F_SIG, 1}}},
};

static const char *const COMMON[] = {"v", "type", "iss", "seq", "prev", "ts", "sig"};

const char *mt_stmt_type_name(mt_stmt_type t)
{
	if ((int)t < 0 || t >= MT_ST__COUNT)
		return NULL;
	return TYPES[t].name;
}

int mt_stmt_type_parse(mt_stmt_type *out, const char *name)
{
	for (int i = 0; i < MT_ST__COUNT; i++)
		if (strcmp(TYPES[i].name, name) == 0) {
			*out = (mt_stmt_type)i;
			return 0;
		}
	return MT_EINVAL;
}

void mt_blake2b256(unsigned char out[32], const void *data, size_t len)
{
	crypto_generichash(out, 32, data, len, NULL, 0);
}

int mt_sig_decode(unsigned char out[64], const char *text, mt_error *err)
{
	size_t n = strlen(text), bin_len = 0;
	if (n != 86)
		return mt_error_set(err, MT_EINVAL,
				    "signature not strictly encoded: %zu characters (must be 86)", n);
	if (sodium_base642bin(out, 64, text, n, NULL, &bin_len, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    bin_len != 64)
		return mt_error_set(err, MT_EINVAL, "signature not strictly encoded: bad base64url");
	char again[87];
	mt_sig_encode(again, out);
	if (strcmp(again, text) != 0)
		return mt_error_set(err, MT_EINVAL,
				    "signature not strictly encoded (pad bits must be zero)");
	return 0;
}

void mt_sig_encode(char out[87], const unsigned char sig[64])
{
	sodium_bin2base64(out, 87, sig, 64, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static int id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
	       c == '-';
}

int mt_scope_check(const char *scope, const char *what, mt_error *err)
{
	static const char *const prefixes[] = {"coop:", "federation:", "domain:", "topic:"};
	if (strcmp(scope, "global") == 0)
		return 0;
	for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
		size_t pl = strlen(prefixes[i]);
		if (strncmp(scope, prefixes[i], pl) != 0)
			continue;
		const char *id = scope + pl;
		size_t n = strlen(id);
		int ok = n >= 1 && n <= 64;
		for (size_t j = 0; ok && j < n; j++)
			ok = id_char(id[j]);
		if (ok)
			return 0;
		break;
	}
	return mt_error_set(err, MT_EINVAL,
			    "bad scope: %s \"%.80s\" (expected global, coop:<id>, federation:<id>, "
			    "domain:<id> or topic:<id>, <id> 1..64 of [a-z0-9._-])",
			    what, scope);
}

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
			if (strcmp(k, "period") && strcmp(k, "deadline_max") && strcmp(k, "credits"))
				return mt_error_set(err, MT_EINVAL, "unknown field \"params.%s\"", k);
			if (!json_is_integer(x) || json_integer_value(x) < 1 ||
			    json_integer_value(x) > MAX_SAFE_INT)
				return mt_error_set(err, MT_EINVAL,
						    "field out of range: params.%s must be >= 1", k);
		}
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
static int validate(mt_stmt *st, json_t *j, int want_sig, int64_t now, mt_error *err)
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

void mt_stmt_free(mt_stmt *st)
{
	if (!st)
		return;
	json_decref(st->json);
	free(st->canon);
	free(st);
}

int mt_stmt_parse(mt_stmt **out, const char *buf, size_t len, int64_t now, mt_error *err)
{
	*out = NULL;
	if (len > MT_STMT_MAX)
		return mt_error_set(err, MT_ETOOBIG, "too large: %zu bytes (max %d)", len, MT_STMT_MAX);
	mt_stmt *st = calloc(1, sizeof *st);
	if (!st)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	int rc = mt_canon_parse(&st->json, buf, len, err);
	if (rc)
		goto fail;
	rc = validate(st, st->json, 1, now, err);
	if (rc)
		goto fail;
	st->canon = malloc(len + 1);
	if (!st->canon) {
		rc = mt_error_set(err, MT_ENOMEM, "out of memory");
		goto fail;
	}
	memcpy(st->canon, buf, len);
	st->canon[len] = '\0';
	st->canon_len = len;
	mt_blake2b256(st->id, buf, len);
	*out = st;
	return 0;
fail:
	mt_stmt_free(st);
	return rc;
}

/* The signing input: domain || canonical form without `sig`. */
static int signing_input(unsigned char **out, size_t *outlen, const json_t *j, mt_error *err)
{
	json_t *copy = json_copy((json_t *)j);
	if (!copy)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	json_object_del(copy, "sig");
	char *canon = NULL;
	size_t clen = 0;
	int rc = mt_canon_dump(&canon, &clen, copy, err);
	json_decref(copy);
	if (rc)
		return rc;
	size_t dl = strlen(MT_STMT_DOMAIN);
	unsigned char *buf = malloc(dl + clen);
	if (!buf) {
		free(canon);
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	}
	memcpy(buf, MT_STMT_DOMAIN, dl);
	memcpy(buf + dl, canon, clen);
	free(canon);
	*out = buf;
	*outlen = dl + clen;
	return 0;
}

/* Fast signing input for a parsed statement: its canonical bytes without the
 * top-level `,"sig":"…"` member. In canonical text a raw `"` only delimits
 * strings, and validation admits no nested object with a `sig` key, so the
 * first `,"sig":"` is the top-level member; "sig" is never the first key
 * ("iss" sorts before it). Falls back to re-serialising otherwise. */
static int signing_input_of(unsigned char **out, size_t *outlen, const mt_stmt *st,
			    unsigned char *scratch, size_t scratch_len, mt_error *err)
{
	static const char needle[] = ",\"sig\":\"";
	const size_t nl = sizeof needle - 1, sig_len = 86;
	const char *p = st->canon ? strstr(st->canon, needle) : NULL;
	if (!p || (size_t)(p - st->canon) + nl + sig_len + 1 > st->canon_len ||
	    p[nl + sig_len] != '"')
		return signing_input(out, outlen, st->json, err);
	size_t dl = strlen(MT_STMT_DOMAIN), head = (size_t)(p - st->canon);
	size_t tail_off = head + nl + sig_len + 1, tail = st->canon_len - tail_off;
	unsigned char *buf = dl + head + tail <= scratch_len ? scratch : malloc(dl + head + tail);
	if (!buf)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	memcpy(buf, MT_STMT_DOMAIN, dl);
	memcpy(buf + dl, st->canon, head);
	memcpy(buf + dl + head, st->canon + tail_off, tail);
	*out = buf;
	*outlen = dl + head + tail;
	return 0;
}

int mt_stmt_verify(const mt_stmt *st, mt_error *err)
{
	unsigned char *msg = NULL, scratch[4096]; /* most statements fit: no malloc */
	size_t mlen = 0;
	int rc = signing_input_of(&msg, &mlen, st, scratch, sizeof scratch, err);
	if (rc)
		return rc;
	int bad = crypto_sign_verify_detached(st->sig, msg, mlen, st->iss_pk);
	if (msg != scratch)
		free(msg);
	if (bad)
		return mt_error_set(err, MT_EBADSIG, "bad signature: does not verify for iss %s",
				    st->iss);
	if (st->type == MT_ST_ROTATE) {
		const char *newid = mt_stmt_str(st, "new");
		unsigned char newpk[32], newsig[64];
		char rmsg[256];
		if (mt_identity_parse(newpk, NULL, newid, "new", err) != 0 ||
		    mt_sig_decode(newsig, mt_stmt_str(st, "newsig"), err) != 0)
			return MT_EBADSIG;
		int n = snprintf(rmsg, sizeof rmsg, "mesh/v1/rotate\n%s\n%s", st->iss, newid);
		if (crypto_sign_verify_detached(newsig, (unsigned char *)rmsg, (size_t)n, newpk) != 0)
			return mt_error_set(err, MT_EBADSIG,
					    "bad signature: newsig does not verify for %s", newid);
	}
	return 0;
}

int mt_stmt_decode(mt_stmt **out, const char *buf, size_t len, int64_t now, mt_error *err)
{
	int rc = mt_stmt_parse(out, buf, len, now, err);
	if (rc)
		return rc;
	rc = mt_stmt_verify(*out, err);
	if (rc) {
		mt_stmt_free(*out);
		*out = NULL;
	}
	return rc;
}

int mt_stmt_sign(mt_stmt **out, const json_t *body, const mt_keypair *kp, uint64_t seq,
		 const unsigned char *prev, int64_t ts, mt_error *err)
{
	*out = NULL;
	int rc = 0;
	unsigned char *msg = NULL;
	size_t mlen = 0;
	char *canon = NULL;
	size_t clen = 0;
	char iss[MT_NODE_ID_MAX];
	json_t *j = json_deep_copy(body);
	if (!j)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	if (seq < 1 || (seq > 1 && !prev)) {
		rc = mt_error_set(err, MT_EINVAL, "seq %" PRIu64 " needs a prev", seq);
		goto done;
	}
	mt_node_id_encode(iss, kp->pk);
	json_object_set_new(j, "v", json_integer(1));
	json_object_set_new(j, "iss", json_string(iss));
	json_object_set_new(j, "seq", json_integer((json_int_t)seq));
	json_object_set_new(j, "ts", json_integer(ts));
	json_object_del(j, "sig");
	if (seq > 1) {
		char hex[65];
		mt_hex_encode(hex, sizeof hex, prev, 32);
		json_object_set_new(j, "prev", json_string(hex));
	} else {
		json_object_del(j, "prev");
	}
	mt_stmt probe;
	memset(&probe, 0, sizeof probe);
	rc = validate(&probe, j, 0, INT64_MAX, err);
	if (rc)
		goto done;
	rc = signing_input(&msg, &mlen, j, err);
	if (rc)
		goto done;
	unsigned char sig[64];
	char sigtxt[87];
	crypto_sign_detached(sig, NULL, msg, mlen, kp->sk);
	mt_sig_encode(sigtxt, sig);
	json_object_set_new(j, "sig", json_string(sigtxt));
	rc = mt_canon_dump(&canon, &clen, j, err);
	if (rc)
		goto done;
	rc = mt_stmt_parse(out, canon, clen, INT64_MAX, err);
done:
	free(msg);
	free(canon);
	json_decref(j);
	return rc;
}

void mt_stmt_id_hex(char out[65], const mt_stmt *st)
{
	mt_hex_encode(out, 65, st->id, 32);
}

const char *mt_stmt_str(const mt_stmt *st, const char *key)
{
	return json_string_value(json_object_get(st->json, key));
}

int64_t mt_stmt_int(const mt_stmt *st, const char *key, int64_t dflt)
{
	json_t *v = json_object_get(st->json, key);
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}
