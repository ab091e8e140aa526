/* The `Authorization: Mesh …` peer request scheme (SPEC §5): parse, sign, verify. */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/encoding.h"
#include "meshtrust/node.h"
#include "meshtrust/statement.h"

#define TS_MAX 9007199254740991LL

/* Parse one decimal without sign or leading zero into 0..2^53-1. */
static int parse_ts(int64_t *out, const char *s, size_t n)
{
	if (n == 0 || n > 16 || (n > 1 && s[0] == '0'))
		return -1;
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > TS_MAX)
		return -1;
	*out = v;
	return 0;
}

int mt_node_auth_parse(mt_node_auth *out, const char *header, mt_error *err)
{
	memset(out, 0, sizeof *out);
	if (!header)
		return mt_error_set(err, MT_EINVAL, "Authorization: missing");
	if (strncmp(header, "Mesh ", 5) != 0)
		return mt_error_set(err, MT_EINVAL, "Authorization: scheme is not \"Mesh\"");
	const char *p = header + 5;
	int seen[4] = {0, 0, 0, 0};
	static const char *const names[4] = {"id", "ts", "nonce", "sig"};
	int rc = 0;
	while (*p) {
		const char *eq = strchr(p, '=');
		if (!eq) {
			rc = mt_error_set(err, MT_EINVAL, "Authorization: parameter without '='");
			goto fail;
		}
		const char *val = eq + 1;
		const char *end = strchr(val, ',');
		if (!end)
			end = val + strlen(val);
		size_t klen = (size_t)(eq - p), vlen = (size_t)(end - val);
		int k = -1;
		for (int i = 0; i < 4; i++)
			if (strlen(names[i]) == klen && memcmp(names[i], p, klen) == 0)
				k = i;
		if (k < 0) {
			rc = mt_error_set(err, MT_EINVAL, "Authorization: unknown parameter \"%.*s\"",
					  (int)(klen > 32 ? 32 : klen), p);
			goto fail;
		}
		if (seen[k]++) {
			rc = mt_error_set(err, MT_EINVAL, "Authorization: duplicate parameter %s",
					  names[k]);
			goto fail;
		}
		char buf[128];
		if (vlen >= sizeof buf) {
			rc = mt_error_set(err, MT_EINVAL, "Authorization: %s is too long", names[k]);
			goto fail;
		}
		memcpy(buf, val, vlen);
		buf[vlen] = '\0';
		switch (k) {
		case 0:
			if (mt_node_id_decode(out->pk, buf, "Authorization id", err) != 0) {
				rc = MT_EINVAL;
				goto fail;
			}
			memcpy(out->id, buf, vlen + 1);
			break;
		case 1:
			if (parse_ts(&out->ts, buf, vlen) != 0) {
				rc = mt_error_set(err, MT_EINVAL,
						  "Authorization: ts is not a Unix time in seconds");
				goto fail;
			}
			break;
		case 2:
			if (vlen != MT_NODE_NONCE_HEX ||
			    strspn(buf, "0123456789abcdef") != MT_NODE_NONCE_HEX) {
				rc = mt_error_set(err, MT_EINVAL,
						  "Authorization: nonce must be 32 lower-case hex "
						  "characters");
				goto fail;
			}
			memcpy(out->nonce, buf, vlen + 1);
			break;
		case 3:
			if (mt_sig_decode(out->sig, buf, err) != 0) {
				rc = mt_error_set(err, MT_EINVAL,
						  "Authorization: sig is not a base64url signature");
				goto fail;
			}
			break;
		}
		p = end;
		if (*p == ',') {
			p++;
			while (*p == ' ')
				p++;
			if (!*p) {
				rc = mt_error_set(err, MT_EINVAL, "Authorization: trailing comma");
				goto fail;
			}
		}
	}
	for (int i = 0; i < 4; i++)
		if (!seen[i]) {
			rc = mt_error_set(err, MT_EINVAL, "Authorization: missing parameter %s",
					  names[i]);
			goto fail;
		}
	return 0;
fail:
	memset(out, 0, sizeof *out);
	return rc;
}

int mt_node_auth_input(char **out, size_t *out_len, const char *server_id, const char *method,
		       const char *target, int64_t ts, const char *nonce, const void *body,
		       size_t body_len)
{
	*out = NULL;
	if (!server_id || !method || !target || !nonce || (!body && body_len))
		return MT_EINVAL;
	unsigned char h[32];
	char hex[65];
	mt_blake2b256(h, body ? body : "", body_len);
	mt_hex_encode(hex, sizeof hex, h, 32);
	size_t n = strlen(MT_NODE_REQ_DOMAIN) + strlen(server_id) + strlen(method) +
		   strlen(target) + strlen(nonce) + 64 + 32;
	char *s = malloc(n);
	if (!s)
		return MT_ENOMEM;
	int w = snprintf(s, n, "%s%s\n%s\n%s\n%" PRId64 "\n%s\n%s", MT_NODE_REQ_DOMAIN, server_id,
			 method, target, ts, nonce, hex);
	*out = s;
	if (out_len)
		*out_len = (size_t)w;
	return 0;
}

int mt_node_auth_sign(char *out, size_t outsz, const mt_keypair *kp, const char *claim_id,
		      const char *server_id, const char *method, const char *target, int64_t ts,
		      const char *nonce, const void *body, size_t body_len, mt_error *err)
{
	char own[MT_NODE_ID_MAX], fresh[MT_NODE_NONCE_HEX + 1];
	if (!kp || !out || outsz < 256)
		return mt_error_set(err, MT_EINVAL, "auth sign: bad arguments");
	mt_node_id_encode(own, kp->pk);
	if (!nonce) {
		unsigned char rnd[16];
		randombytes_buf(rnd, sizeof rnd);
		mt_hex_encode(fresh, sizeof fresh, rnd, sizeof rnd);
		nonce = fresh;
	}
	char *input = NULL;
	size_t len = 0;
	if (mt_node_auth_input(&input, &len, server_id, method, target, ts, nonce, body, body_len))
		return mt_error_set(err, MT_EINVAL, "auth sign: bad arguments");
	unsigned char sig[64];
	crypto_sign_detached(sig, NULL, (const unsigned char *)input, len, kp->sk);
	free(input);
	char b64[87];
	mt_sig_encode(b64, sig);
	snprintf(out, outsz, "Mesh id=%s,ts=%" PRId64 ",nonce=%s,sig=%s", claim_id ? claim_id : own,
		 ts, nonce, b64);
	return 0;
}

int mt_node_auth_verify(const mt_node_auth *a, const char *server_id, const char *method,
			const char *target, const void *body, size_t body_len, int64_t now,
			mt_error *err)
{
	char *input = NULL;
	size_t len = 0;
	if (mt_node_auth_input(&input, &len, server_id, method, target, a->ts, a->nonce, body,
			       body_len))
		return mt_error_set(err, MT_EINVAL, "auth verify: bad arguments");
	int ok = crypto_sign_verify_detached(a->sig, (const unsigned char *)input, len, a->pk);
	free(input);
	if (ok != 0)
		return mt_error_set(err, MT_EBADSIG, "bad request signature for %s", a->id);
	int64_t d = a->ts > now ? a->ts - now : now - a->ts;
	if (d > MT_NODE_AUTH_WINDOW)
		return mt_error_set(err, MT_EPERM,
				    "request timestamp %" PRId64 " is more than %d s off the "
				    "node's clock",
				    a->ts, MT_NODE_AUTH_WINDOW);
	return 0;
}
