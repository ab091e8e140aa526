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
	F_POLICY,    /* proposal policy object (SPEC §9.3) */
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

/* The value of a base64url character, or -1. (A signature is public: no
 * need for libsodium's constant-time decoder, which costs ten times more.) */
static int b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '-' ? 62 : c == '_' ? 63 : -1;
}

int mt_sig_decode(unsigned char out[64], const char *text, mt_error *err)
{
	size_t n = strlen(text);
	if (n != 86)
		return mt_error_set(err, MT_EINVAL,
				    "signature not strictly encoded: %zu characters (must be 86)", n);
	/* 21 groups of 4 characters make 63 bytes; the last 2 characters the
	 * 64th byte (and 4 pad bits). */
	uint32_t acc = 0;
	for (size_t i = 0; i < 86; i++) {
		int v = b64url_value((unsigned char)text[i]);
		if (v < 0)
			return mt_error_set(err, MT_EINVAL,
					    "signature not strictly encoded: bad base64url");
		acc = acc << 6 | (uint32_t)v;
		if (i % 4 == 3) {
			size_t o = i / 4 * 3;
			out[o] = (unsigned char)(acc >> 16);
			out[o + 1] = (unsigned char)(acc >> 8);
			out[o + 2] = (unsigned char)acc;
			acc = 0;
		}
	}
	out[63] = (unsigned char)(acc >> 4);
	/* 86 characters carry 516 bits for 512: the last one's low 4 bits are
	 * padding, and must be zero for the text to be the encoding of its
	 * bytes (its value is then a multiple of 16: 'A', 'Q', 'g' or 'w'). */
	char last = text[85];
	if (last != 'A' && last != 'Q' && last != 'g' && last != 'w')
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

/* ---- reading the canonical text -----------------------------------------
 *
 * A statement is validated from its canonical bytes directly, without a
 * jansson tree: the ingest path decodes tens of thousands of statements a
 * second and a tree costs a dozen allocations each. The reader runs only on
 * text mt_canon_check() accepted, and relies on that form: no white space,
 * strings escape only `"` `\` and U+0001..U+001F (`\u00xx` lower-case hex),
 * numbers are integers 0..2^53-1, keys unique and ascending. */

enum vkind { VK_STR, VK_INT, VK_TRUE, VK_FALSE, VK_ARR, VK_OBJ };

/* One top-level member whose key is a field name of any type. */
struct fld {
	const char *name; /* the static name (COMMON or TYPES) */
	enum vkind kind;
	size_t off, end;  /* the value's text [off, end) */
	const char *str;  /* VK_STR: the decoded string; VK_ARR: its first decoded
			     string element (the others follow, each after the
			     previous one's NUL) */
	size_t slen;      /* VK_STR: decoded length in bytes */
	int64_t ival;     /* VK_INT */
	size_t nelem;     /* VK_ARR: elements */
	size_t nstr;      /* VK_ARR: leading elements that are strings */
};

/* The members kept: every common one, and at most MAXF + 1 others. A type
 * has at most MAXF fields, so among MAXF + 1 other members one at least is
 * not a field of the statement's type, and validation stops there, before
 * any member that was not kept (which reads as an unknown field). */
#define NCOMMON (sizeof COMMON / sizeof *COMMON)
#define MAX_OTHER (MAXF + 1)
#define MAX_FLD (NCOMMON + MAX_OTHER)
#define ALIEN_SHOWN 60

struct mt_stmt_fields {
	size_t n;
	struct fld f[MAX_FLD];
	size_t alien_at; /* the first key that is no field name of any type sits
			    before f[alien_at]; SIZE_MAX when there is none */
	char alien[ALIEN_SHOWN + 1]; /* that key, decoded, cut at 60 bytes */
};

/* The static name equal to key[0..len), or NULL; *common says whether it is
 * one of COMMON. */
static const char *known_name(const char *key, size_t len, int *common)
{
	*common = 1;
	for (size_t i = 0; i < NCOMMON; i++)
		if (strlen(COMMON[i]) == len && memcmp(COMMON[i], key, len) == 0)
			return COMMON[i];
	*common = 0;
	for (int t = 0; t < MT_ST__COUNT; t++)
		for (int i = 0; i < MAXF && TYPES[t].f[i].name; i++) {
			const char *n = TYPES[t].f[i].name;
			if (n[0] == key[0] && strlen(n) == len && memcmp(n, key, len) == 0)
				return n;
		}
	return NULL;
}

static int hexval(char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

/* The string whose opening quote is s[*pos], decoded into dst (at most
 * `cap` bytes kept, then a NUL; cap + 1 bytes must fit); *pos moves past the
 * closing quote. Returns the full decoded length. */
static size_t read_str(const char *s, size_t len, size_t *pos, char *dst, size_t cap)
{
	size_t i = *pos + 1, n = 0;
	while (i < len && s[i] != '"') {
		char c = s[i];
		if (c != '\\') {
			i++;
		} else {
			switch (s[i + 1]) {
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u': c = (char)(hexval(s[i + 4]) << 4 | hexval(s[i + 5])); i += 4; break;
			default: c = s[i + 1]; break; /* `"` or `\` */
			}
			i += 2;
		}
		if (n < cap)
			dst[n] = c;
		n++;
	}
	dst[n < cap ? n : cap] = '\0';
	*pos = i + 1;
	return n;
}

/* The end of the value that starts at s[i]. */
static size_t skip_value(const char *s, size_t len, size_t i)
{
	size_t depth = 0;
	do {
		char c = s[i];
		if (c == '"') {
			for (i++; i < len && s[i] != '"'; i += s[i] == '\\' ? 2 : 1)
				;
			i++;
		} else if (c == '[' || c == '{') {
			depth++, i++;
		} else if (c == ']' || c == '}') {
			depth--, i++;
		} else if (c == ',' || c == ':') {
			i++;
		} else {
			while (i < len && s[i] != ',' && s[i] != ']' && s[i] != '}')
				i++;
		}
	} while (depth > 0 && i < len);
	return i;
}

static int64_t read_int(const char *s, size_t *pos)
{
	int64_t v = 0;
	size_t i = *pos;
	while (s[i] >= '0' && s[i] <= '9')
		v = v * 10 + (s[i++] - '0');
	*pos = i;
	return v;
}

/* Read the top-level members of canonical text `s` into F. Strings, and the
 * leading string elements of arrays, are decoded into `arena`, which must
 * hold len + 1 bytes (a decoded string and its NUL never take more room than
 * its quoted text). */
static void read_fields(struct mt_stmt_fields *F, const char *s, size_t len, char *arena)
{
	size_t i = 1, others = 0;
	F->n = 0;
	F->alien_at = SIZE_MAX;
	F->alien[0] = '\0';
	if (len < 2 || s[0] != '{')
		return; /* not an object: the caller checked that it is */
	while (i < len && s[i] == '"') {
		size_t k = i + 1;
		i = skip_value(s, len, i);
		int common;
		const char *name = known_name(s + k, i - 1 - k, &common);
		i++; /* ':' */
		if (name && !common && others++ >= MAX_OTHER)
			name = NULL; /* beyond what validation can reach: not kept */
		if (!name) {
			if (F->alien_at == SIZE_MAX) {
				size_t at = k - 1;
				read_str(s, len, &at, F->alien, ALIEN_SHOWN);
				F->alien_at = F->n;
			}
			i = skip_value(s, len, i);
		} else {
			struct fld *f = &F->f[F->n++];
			memset(f, 0, sizeof *f);
			f->name = name;
			f->off = i;
			char c = s[i];
			if (c == '"') {
				f->kind = VK_STR;
				f->str = arena;
				f->slen = read_str(s, len, &i, arena, len);
				arena += f->slen + 1;
			} else if (c >= '0' && c <= '9') {
				f->kind = VK_INT;
				f->ival = read_int(s, &i);
			} else if (c == '[') {
				f->kind = VK_ARR;
				f->str = arena;
				i++;
				while (i < len && s[i] != ']') {
					if (s[i] == '"' && f->nstr == f->nelem) {
						arena += read_str(s, len, &i, arena, len) + 1;
						f->nstr++;
					} else {
						i = skip_value(s, len, i);
					}
					f->nelem++;
					if (s[i] == ',')
						i++;
				}
				i++;
			} else {
				f->kind = c == '{' ? VK_OBJ : c == 't' ? VK_TRUE : VK_FALSE;
				i = skip_value(s, len, i);
			}
			f->end = i;
		}
		if (i < len && s[i] == ',')
			i++;
		else
			break;
	}
}

static const struct fld *fld_get(const struct mt_stmt_fields *F, const char *name)
{
	for (size_t i = 0; i < F->n; i++)
		if (strcmp(F->f[i].name, name) == 0)
			return &F->f[i];
	return NULL;
}

/* The string elements of an all-string array, one after another. */
static const char *next_str(const char *p)
{
	return p + strlen(p) + 1;
}

/* The genesis params object at text[f->off..f->end): keys among period,
 * deadline_max, credits (integers >= 1), quorum (1..1000) and threshold
 * (500..1000) (SPEC §9.3; geneses without them take the defaults). */
static int check_params(const struct fld *f, const char *s, mt_error *err)
{
	size_t i = f->off + 1;
	while (i < f->end && s[i] == '"') {
		char key[128];
		read_str(s, f->end, &i, key, sizeof key - 1);
		i++; /* ':' */
		int64_t lo = 1, hi = INT64_MAX;
		if (strcmp(key, "quorum") == 0)
			hi = 1000;
		else if (strcmp(key, "threshold") == 0)
			lo = 500, hi = 1000;
		else if (strcmp(key, "period") && strcmp(key, "deadline_max") &&
			 strcmp(key, "credits"))
			return mt_error_set(err, MT_EINVAL, "unknown field \"params.%s\"", key);
		int64_t v = s[i] >= '0' && s[i] <= '9' ? read_int(s, &(size_t){i}) : -1;
		if (v < lo || v > hi) {
			if (hi == INT64_MAX)
				return mt_error_set(err, MT_EINVAL,
						    "field out of range: params.%s must be >= 1", key);
			return mt_error_set(err, MT_EINVAL,
					    "field out of range: params.%s must be %" PRId64
					    "..%" PRId64,
					    key, lo, hi);
		}
		i = skip_value(s, f->end, i);
		if (s[i] == ',')
			i++;
	}
	return 0;
}

/* A proposal's policy object (SPEC §9.3), at text[f->off..f->end): any of
 * max_gini and max_top10_share (integers 0..1000 permille), enforce_gini
 * (true/false), tiers (1..16 objects {min_score 0..1000, rate >= 1,
 * burst >= 1}, all three required), bridges (distinct Node IDs); at least
 * one key. Keys are checked in their (canonical) order. */
static int check_policy(const struct fld *f, const char *s, mt_error *err)
{
	json_error_t je;
	json_t *o = json_loadb(s + f->off, f->end - f->off, 0, &je);
	if (!o)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	int rc = mt_stmt_policy_check(o, err);
	json_decref(o);
	return rc;
}

static int permille_ok(const json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 1000;
}

int mt_stmt_policy_check(const json_t *o, mt_error *err)
{
	if (!json_is_object(o))
		return mt_error_set(err, MT_EINVAL, "bad policy: must be an object");
	if (json_object_size(o) == 0)
		return mt_error_set(err, MT_EINVAL, "bad policy: sets nothing");
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v)
	{
		if (strcmp(k, "max_gini") == 0 || strcmp(k, "max_top10_share") == 0) {
			if (!permille_ok(v))
				return mt_error_set(err, MT_EINVAL,
						    "field out of range: policy.%s must be 0..1000 "
						    "permille",
						    k);
		} else if (strcmp(k, "enforce_gini") == 0) {
			if (!json_is_boolean(v))
				return mt_error_set(err, MT_EINVAL,
						    "bad policy.enforce_gini: must be true or false");
		} else if (strcmp(k, "tiers") == 0) {
			if (!json_is_array(v) || json_array_size(v) < 1 ||
			    json_array_size(v) > MT_STMT_POLICY_MAX_TIERS)
				return mt_error_set(err, MT_EINVAL,
						    "bad policy.tiers: must be an array of 1..%d tiers",
						    MT_STMT_POLICY_MAX_TIERS);
			size_t i;
			json_t *t;
			json_array_foreach(v, i, t)
			{
				if (!json_is_object(t))
					return mt_error_set(err, MT_EINVAL,
							    "bad policy.tiers: element %zu is not an "
							    "object",
							    i);
				const char *tk;
				json_t *tv;
				json_object_foreach(t, tk, tv)
				{
					int64_t lo = 1, hi = INT64_MAX;
					if (strcmp(tk, "min_score") == 0)
						lo = 0, hi = 1000;
					else if (strcmp(tk, "rate") && strcmp(tk, "burst"))
						return mt_error_set(err, MT_EINVAL,
								    "unknown field \"policy.tiers.%.40s\"",
								    tk);
					if (!json_is_integer(tv) || json_integer_value(tv) < lo ||
					    json_integer_value(tv) > hi)
						return mt_error_set(err, MT_EINVAL,
								    "field out of range: "
								    "policy.tiers[%zu].%s",
								    i, tk);
				}
				static const char *const need[] = {"burst", "min_score", "rate"};
				for (size_t j = 0; j < 3; j++)
					if (!json_object_get(t, need[j]))
						return mt_error_set(err, MT_EINVAL,
								    "required field missing: "
								    "policy.tiers[%zu].%s",
								    i, need[j]);
			}
		} else if (strcmp(k, "bridges") == 0) {
			if (!json_is_array(v) || json_array_size(v) > MT_STMT_POLICY_MAX_BRIDGES)
				return mt_error_set(err, MT_EINVAL,
						    "bad policy.bridges: must be an array of at most "
						    "%d Node IDs",
						    MT_STMT_POLICY_MAX_BRIDGES);
			size_t i;
			json_t *b;
			json_array_foreach(v, i, b)
			{
				if (!json_is_string(b) || !mt_node_id_valid(json_string_value(b)))
					return mt_error_set(err, MT_EINVAL,
							    "bad policy.bridges: element %zu is not a "
							    "Node ID",
							    i);
				for (size_t j = 0; j < i; j++)
					if (json_equal(json_array_get(v, j), b))
						return mt_error_set(err, MT_EINVAL,
								    "bad policy.bridges: \"%s\" listed "
								    "twice",
								    json_string_value(b));
			}
		} else {
			return mt_error_set(err, MT_EINVAL, "unknown field \"policy.%.40s\"", k);
		}
	}
	return 0;
}

static int check_field(const struct field *fd, const struct fld *v, const char *text,
		       const char *iss, mt_error *err)
{
	const char *name = fd->name;
	int is_str = v->kind == VK_STR;
	switch (fd->kind) {
	case F_NODEID:
		if (!is_str || !mt_node_id_valid(v->str))
			return mt_error_set(err, MT_EINVAL, "bad %s id: not a Node ID", name);
		if (iss && strcmp(v->str, iss) == 0 &&
		    (strcmp(name, "target") == 0 || strcmp(name, "referee") == 0))
			return mt_error_set(err, MT_EINVAL,
					    "statement about oneself: %s equals iss", name);
		return 0;
	case F_HEX32:
		if (!is_str || !hex32_check(v->str))
			return mt_error_set(err, MT_EINVAL,
					    "bad %s: must be 64 lower-case hex characters", name);
		return 0;
	case F_SCOPE:
		if (!is_str)
			return mt_error_set(err, MT_EINVAL, "bad scope: %s is not a string", name);
		return mt_scope_check(v->str, name, err);
	case F_STR:
		if (!is_str)
			return mt_error_set(err, MT_EINVAL, "bad %s: must be a string", name);
		return 0;
	case F_BODY:
		if (!is_str)
			return mt_error_set(err, MT_EINVAL, "bad %s: must be a string", name);
		if (v->slen > MT_LESSON_BODY_MAX)
			return mt_error_set(err, MT_EINVAL,
					    "field out of range: %s is %zu bytes (max %d)", name,
					    v->slen, MT_LESSON_BODY_MAX);
		return 0;
	case F_STRLIST:
		if (v->kind != VK_ARR)
			return mt_error_set(err, MT_EINVAL, "bad %s: must be an array of strings",
					    name);
		if (v->nstr < v->nelem)
			return mt_error_set(err, MT_EINVAL, "bad %s: element %zu is not a string",
					    name, v->nstr);
		return 0;
	case F_SCOPELIST:
	case F_IDLIST: {
		size_t min = fd->kind == F_SCOPELIST ? 2 : 1;
		if (v->kind != VK_ARR || v->nelem < min)
			return mt_error_set(err, MT_EINVAL, "bad %s: must be an array of at least %zu",
					    name, min);
		const char *x = v->str;
		for (size_t i = 0; i < v->nelem; i++, x = next_str(x)) {
			if (i == v->nstr)
				return mt_error_set(err, MT_EINVAL, "bad %s: element %zu is not a string",
						    name, i);
			if (fd->kind == F_SCOPELIST) {
				int rc = mt_scope_check(x, name, err);
				if (rc)
					return rc;
			} else if (!mt_node_id_valid(x)) {
				return mt_error_set(err, MT_EINVAL, "bad %s: element %zu is not a Node ID",
						    name, i);
			}
			const char *y = v->str;
			for (size_t j = 0; j < i; j++, y = next_str(y))
				if (strcmp(y, x) == 0)
					return mt_error_set(err, MT_EINVAL,
							    "bad %s: \"%s\" listed twice", name, x);
		}
		return 0;
	}
	case F_UINT: /* canonical integers are 0..2^53-1 */
		if (v->kind != VK_INT)
			return mt_error_set(err, MT_EINVAL, "field out of range: %s", name);
		return 0;
	case F_SCORE:
		if (v->kind != VK_INT || v->ival < 1 || v->ival > 1000)
			return mt_error_set(err, MT_EINVAL,
					    "score out of range: %" PRId64 " (must be 1..1000 permille)",
					    v->kind == VK_INT ? v->ival : 0);
		return 0;
	case F_LEVEL:
		if (!is_str || (strcmp(v->str, "full") && strcmp(v->str, "limited") &&
				strcmp(v->str, "none")))
			return mt_error_set(err, MT_EINVAL,
					    "bad level: must be \"full\", \"limited\" or \"none\"");
		return 0;
	case F_CHOICE:
		if (!is_str || (strcmp(v->str, "cooperate") && strcmp(v->str, "defect")))
			return mt_error_set(err, MT_EINVAL,
					    "bad choice: must be \"cooperate\" or \"defect\"");
		return 0;
	case F_SIG: {
		unsigned char tmp[64];
		if (!is_str)
			return mt_error_set(err, MT_EINVAL, "bad %s: must be a string", name);
		return mt_sig_decode(tmp, v->str, err);
	}
	case F_PARAMS:
		if (v->kind != VK_OBJ)
			return mt_error_set(err, MT_EINVAL, "bad params: must be an object");
		return check_params(v, text, err);
	case F_POLICY:
		if (v->kind != VK_OBJ)
			return mt_error_set(err, MT_EINVAL, "bad policy: must be an object");
		return check_policy(v, text, err);
	case F_VOTE:
		if (!is_str || (strcmp(v->str, "yes") && strcmp(v->str, "no")))
			return mt_error_set(err, MT_EINVAL, "bad choice: must be \"yes\" or \"no\"");
		return 0;
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

/* Validate the members F read from canonical `text` (with or without sig as
 * `want_sig` says) and fill the common fields of `st`. The order of the
 * checks decides which reason a statement with several faults gets: common
 * fields first, then the members in key order, then required members. */
static int validate(mt_stmt *st, const struct mt_stmt_fields *F, const char *text, int want_sig,
		    int64_t now, mt_error *err)
{
	const struct fld *v = fld_get(F, "v");
	if (!v)
		return mt_error_set(err, MT_EINVAL, "required field missing: v");
	if (v->kind != VK_INT || v->ival != 1)
		return mt_error_set(err, MT_EINVAL, "unknown v: only version 1 is known");
	const struct fld *type = fld_get(F, "type");
	if (!type)
		return mt_error_set(err, MT_EINVAL, "required field missing: type");
	if (type->kind != VK_STR || mt_stmt_type_parse(&st->type, type->str) != 0)
		return mt_error_set(err, MT_EINVAL, "unknown type \"%.40s\"",
				    type->kind == VK_STR ? type->str : "?");
	const struct tdef *td = &TYPES[st->type];

	const struct fld *iss = fld_get(F, "iss");
	if (!iss)
		return mt_error_set(err, MT_EINVAL, "required field missing: iss");
	if (iss->kind != VK_STR || mt_identity_parse(st->iss_pk, st->iss, iss->str, "iss", NULL) != 0 ||
	    strcmp(st->iss, iss->str) != 0)
		return mt_error_set(err, MT_EINVAL, "bad iss id: not a Node ID");

	const struct fld *seq = fld_get(F, "seq");
	if (!seq)
		return mt_error_set(err, MT_EINVAL, "required field missing: seq");
	if (seq->kind != VK_INT || seq->ival < 1)
		return mt_error_set(err, MT_EINVAL, "field out of range: seq must be >= 1");
	st->seq = (uint64_t)seq->ival;

	const struct fld *prev = fld_get(F, "prev");
	if (st->seq == 1 && prev)
		return mt_error_set(err, MT_EINVAL, "field out of range: prev must be absent when seq is 1");
	if (st->seq > 1) {
		if (!prev)
			return mt_error_set(err, MT_EINVAL, "required field missing: prev (seq > 1)");
		if (prev->kind != VK_STR || !hex32_check(prev->str))
			return mt_error_set(err, MT_EINVAL,
					    "bad prev: must be 64 lower-case hex characters");
		if (mt_hex_decode(st->prev, 32, prev->str, NULL) != 0)
			return mt_error_set(err, MT_EINVAL, "bad prev");
		st->has_prev = 1;
	}

	const struct fld *ts = fld_get(F, "ts");
	if (!ts)
		return mt_error_set(err, MT_EINVAL, "required field missing: ts");
	if (ts->kind != VK_INT)
		return mt_error_set(err, MT_EINVAL, "field out of range: ts");
	st->ts = ts->ival;

	const struct fld *sig = fld_get(F, "sig");
	if (want_sig && !sig)
		return mt_error_set(err, MT_EINVAL, "required field missing: sig");
	if (!want_sig && sig)
		return mt_error_set(err, MT_EINVAL, "body must not carry sig");

	for (size_t i = 0; i <= F->n; i++) {
		if (i == F->alien_at)
			return mt_error_set(err, MT_EINVAL, "unknown field \"%s\" for type %s",
					    F->alien, td->name);
		if (i == F->n)
			break;
		const struct fld *x = &F->f[i];
		if (is_common(x->name))
			continue;
		const struct field *fd = find_field(td, x->name);
		if (!fd)
			return mt_error_set(err, MT_EINVAL, "unknown field \"%.60s\" for type %s",
					    x->name, td->name);
		int rc = check_field(fd, x, text, st->iss, err);
		if (rc)
			return rc;
	}
	for (int i = 0; i < MAXF && td->f[i].name; i++)
		if (td->f[i].required && !fld_get(F, td->f[i].name))
			return mt_error_set(err, MT_EINVAL, "required field missing: %s",
					    td->f[i].name);

	if (st->type == MT_ST_GENESIS) {
		const struct fld *founders = fld_get(F, "founders");
		int found = 0;
		const char *x = founders->str;
		for (size_t i = 0; i < founders->nstr; i++, x = next_str(x))
			if (strcmp(x, st->iss) == 0)
				found = 1;
		if (!found)
			return mt_error_set(err, MT_EINVAL, "bad founders: must include iss");
	}
	if (st->type == MT_ST_ROTATE && strcmp(fld_get(F, "new")->str, st->iss) == 0)
		return mt_error_set(err, MT_EINVAL, "statement about oneself: new equals iss");

	if (now != INT64_MAX && st->ts > now + MT_STMT_MAX_SKEW)
		return mt_error_set(err, MT_EINVAL,
				    "ts too far ahead: %" PRId64 " is %" PRId64
				    " s past this node's clock (max %d)",
				    st->ts, st->ts - now, MT_STMT_MAX_SKEW);
	if (want_sig) {
		if (sig->kind != VK_STR)
			return mt_error_set(err, MT_EINVAL, "bad sig: must be a string");
		int rc = mt_sig_decode(st->sig, sig->str, err);
		if (rc)
			return rc;
	}
	return 0;
}

void mt_stmt_free(mt_stmt *st)
{
	free(st); /* one block: the struct, its fields, canon, decoded strings */
}

/* One allocation holds the statement, its field table, the canonical bytes
 * and the decoded strings. */
struct stmt_block {
	mt_stmt st; /* first: a statement's address is its block's */
	size_t cap; /* bytes after the block for canon and decoded strings */
	struct mt_stmt_fields fields;
};

/* Parse into `b` (NULL: a new block; too small: replaced). On success *out is
 * the statement; on failure the block is freed. */
static int parse_into(struct stmt_block *b, mt_stmt **out, const char *buf, size_t len,
		      int64_t now, mt_error *err)
{
	*out = NULL;
	int rc = len > MT_STMT_MAX ? mt_error_set(err, MT_ETOOBIG, "too large: %zu bytes (max %d)",
						  len, MT_STMT_MAX)
				   : mt_canon_check(buf, len, err);
	if (rc) {
		free(b);
		return rc;
	}
	size_t need = 2 * (len + 1);
	if (!b || b->cap < need) {
		free(b);
		/* (a little room to spare, so that a slot's next statement, of
		 * about the same size, fits) */
		size_t cap = need + need / 4 + 64;
		b = malloc(sizeof *b + cap);
		if (!b)
			return mt_error_set(err, MT_ENOMEM, "out of memory");
		b->cap = cap;
	}
	memset(&b->st, 0, sizeof b->st);
	mt_stmt *st = &b->st;
	char *canon = (char *)(b + 1), *arena = canon + len + 1;
	memcpy(canon, buf, len);
	canon[len] = '\0';
	read_fields(&b->fields, canon, len, arena);
	rc = validate(st, &b->fields, canon, 1, now, err);
	if (rc) {
		free(b);
		return rc;
	}
	st->canon = canon;
	st->canon_len = len;
	st->fields = &b->fields;
	mt_blake2b256(st->id, buf, len);
	*out = st;
	return 0;
}

int mt_stmt_parse(mt_stmt **out, const char *buf, size_t len, int64_t now, mt_error *err)
{
	return parse_into(NULL, out, buf, len, now, err);
}

int mt_stmt_reparse(mt_stmt **st, const char *buf, size_t len, int64_t now, mt_error *err)
{
	struct stmt_block *b = (struct stmt_block *)*st; /* (its first member) */
	return parse_into(b, st, buf, len, now, err);
}

int mt_stmt_redecode(mt_stmt **st, const char *buf, size_t len, int64_t now, mt_error *err)
{
	int rc = mt_stmt_reparse(st, buf, len, now, err);
	if (rc)
		return rc;
	rc = mt_stmt_verify(*st, err);
	if (rc) {
		mt_stmt_free(*st);
		*st = NULL;
	}
	return rc;
}

/* The signing input of a parsed statement: domain || its canonical bytes
 * without the top-level `,"sig":"…"` member. In canonical text a raw `"`
 * only delimits strings (inside them it is escaped), and validation admits
 * no nested object with a `sig` key, so the first `,"sig":"` is the
 * top-level member; "sig" is never the first key ("iss" sorts before it).
 * Small inputs use `scratch`; *out is `scratch` or a buffer to free. */
static int signing_input_of(unsigned char **out, size_t *outlen, const mt_stmt *st,
			    unsigned char *scratch, size_t scratch_len, mt_error *err)
{
	static const char needle[] = ",\"sig\":\"";
	const size_t nl = sizeof needle - 1, sig_len = 86;
	const char *p = strstr(st->canon, needle);
	if (!p || (size_t)(p - st->canon) + nl + sig_len + 1 > st->canon_len ||
	    p[nl + sig_len] != '"')
		return mt_error_set(err, MT_EBADSIG, "bad signature: no top-level sig member");
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

int mt_stmt_is_prerotate(const mt_stmt *st)
{
	return st->type == MT_ST_ROTATE && !mt_stmt_str(st, "newsig");
}

int mt_stmt_signer_pk(unsigned char pk[32], const mt_stmt *st, mt_error *err)
{
	if (!mt_stmt_is_prerotate(st)) {
		memcpy(pk, st->iss_pk, 32);
		return 0;
	}
	return mt_identity_parse(pk, NULL, mt_stmt_str(st, "new"), "new", err) ? MT_EINVAL : 0;
}

int mt_stmt_verify(const mt_stmt *st, mt_error *err)
{
	unsigned char *msg = NULL, scratch[4096]; /* most statements fit: no malloc */
	size_t mlen = 0;
	unsigned char signer[32];
	int pre = mt_stmt_is_prerotate(st);
	if (mt_stmt_signer_pk(signer, st, err) != 0)
		return MT_EBADSIG;
	int rc = signing_input_of(&msg, &mlen, st, scratch, sizeof scratch, err);
	if (rc)
		return rc;
	int bad = crypto_sign_verify_detached(st->sig, msg, mlen, signer);
	if (msg != scratch)
		free(msg);
	if (bad)
		return pre ? mt_error_set(err, MT_EBADSIG,
					  "bad signature: rotate does not verify for its new key %s",
					  mt_stmt_str(st, "new"))
			   : mt_error_set(err, MT_EBADSIG,
					  "bad signature: does not verify for iss %s", st->iss);
	if (st->type == MT_ST_ROTATE && !pre) {
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

static int sign_as(mt_stmt **out, const json_t *body, const char *iss_in, const mt_keypair *kp,
		   uint64_t seq, const unsigned char *prev, int64_t ts, mt_error *err)
{
	*out = NULL;
	int rc = 0;
	unsigned char *msg = NULL;
	char *canon = NULL, *arena = NULL;
	size_t clen = 0;
	char iss[MT_NODE_ID_MAX];
	struct mt_stmt_fields *F = NULL;
	if (!json_is_object(body))
		return mt_error_set(err, MT_EINVAL, "not JSON: top level is not an object");
	json_t *j = json_deep_copy(body);
	if (!j)
		return mt_error_set(err, MT_ENOMEM, "out of memory");
	if (seq < 1 || (seq > 1 && !prev)) {
		rc = mt_error_set(err, MT_EINVAL, "seq %" PRIu64 " needs a prev", seq);
		goto done;
	}
	if (iss_in)
		snprintf(iss, sizeof iss, "%s", iss_in);
	else
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
	/* The body's canonical text is the signed message (after the domain);
	 * it is validated exactly as a received statement would be. */
	if ((rc = mt_canon_dump(&canon, &clen, j, err)))
		goto done;
	F = malloc(sizeof *F);
	arena = malloc(clen + 1);
	size_t dl = strlen(MT_STMT_DOMAIN);
	msg = malloc(dl + clen);
	if (!F || !arena || !msg) {
		rc = mt_error_set(err, MT_ENOMEM, "out of memory");
		goto done;
	}
	mt_stmt probe;
	memset(&probe, 0, sizeof probe);
	read_fields(F, canon, clen, arena);
	if ((rc = validate(&probe, F, canon, 0, INT64_MAX, err)))
		goto done;
	memcpy(msg, MT_STMT_DOMAIN, dl);
	memcpy(msg + dl, canon, clen);
	unsigned char sig[64];
	char sigtxt[87];
	crypto_sign_detached(sig, NULL, msg, dl + clen, kp->sk);
	mt_sig_encode(sigtxt, sig);
	json_object_set_new(j, "sig", json_string(sigtxt));
	free(canon);
	canon = NULL;
	if ((rc = mt_canon_dump(&canon, &clen, j, err)))
		goto done;
	rc = mt_stmt_parse(out, canon, clen, INT64_MAX, err);
done:
	free(msg);
	free(canon);
	free(arena);
	free(F);
	json_decref(j);
	return rc;
}

int mt_stmt_sign(mt_stmt **out, const json_t *body, const mt_keypair *kp, uint64_t seq,
		 const unsigned char *prev, int64_t ts, mt_error *err)
{
	return sign_as(out, body, NULL, kp, seq, prev, ts, err);
}

int mt_stmt_sign_for(mt_stmt **out, const json_t *body, const char *iss, const mt_keypair *kp,
		     uint64_t seq, const unsigned char *prev, int64_t ts, mt_error *err)
{
	int rc = sign_as(out, body, iss, kp, seq, prev, ts, err);
	if (!rc && (rc = mt_stmt_verify(*out, err)) != 0) {
		mt_stmt_free(*out);
		*out = NULL;
	}
	return rc;
}

void mt_stmt_id_hex(char out[65], const mt_stmt *st)
{
	mt_hex_encode(out, 65, st->id, 32);
}

const char *mt_stmt_str(const mt_stmt *st, const char *key)
{
	const struct fld *f = fld_get(st->fields, key);
	return f && f->kind == VK_STR ? f->str : NULL;
}

int64_t mt_stmt_int(const mt_stmt *st, const char *key, int64_t dflt)
{
	const struct fld *f = fld_get(st->fields, key);
	return f && f->kind == VK_INT ? f->ival : dflt;
}

const char *mt_stmt_list(const mt_stmt *st, const char *key, size_t *n)
{
	const struct fld *f = fld_get(st->fields, key);
	if (!f || f->kind != VK_ARR || f->nstr != f->nelem) {
		*n = 0;
		return NULL;
	}
	*n = f->nelem;
	return f->str;
}

const char *mt_stmt_list_next(const char *item)
{
	return next_str(item);
}

int mt_stmt_member(const mt_stmt *st, const char *key, json_t **out, mt_error *err)
{
	*out = NULL;
	const struct fld *f = fld_get(st->fields, key);
	if (!f)
		return 0;
	json_error_t je;
	*out = json_loadb(st->canon + f->off, f->end - f->off, JSON_DECODE_ANY, &je);
	return *out ? 0 : mt_error_set(err, MT_ENOMEM, "out of memory");
}

int mt_stmt_tree(const mt_stmt *st, json_t **out, mt_error *err)
{
	return mt_canon_parse(out, st->canon, st->canon_len, err);
}
