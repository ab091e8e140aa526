/* libFuzzer target: the node's `Authorization: Mesh …` header parser
 * (mt_node_auth_parse). The input is the header value (a NUL is appended; an
 * embedded NUL just ends the string, as it would in libmicrohttpd). An
 * accepted header must have well-formed fields, and re-encoding them in
 * canonical form must parse back to the same record; a refused one must leave
 * the output zeroed and carry a message. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/identity.h"
#include "meshtrust/node.h"
#include "meshtrust/statement.h"

static int all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *hdr = malloc(size + 1);
	if (!hdr)
		return 0;
	memcpy(hdr, data, size);
	hdr[size] = '\0';
	mt_node_auth a;
	mt_error err = {0};
	int rc = mt_node_auth_parse(&a, hdr, &err);
	if (rc != 0) {
		if (rc != MT_EINVAL || !all_zero(&a, sizeof a) || !err.msg[0])
			abort();
		free(hdr);
		return 0;
	}
	/* Accepted: every field is well-formed. */
	if (!mt_node_id_valid(a.id) || strlen(a.nonce) != MT_NODE_NONCE_HEX ||
	    strspn(a.nonce, "0123456789abcdef") != MT_NODE_NONCE_HEX || a.ts < 0 ||
	    a.ts > 9007199254740991LL)
		abort();
	unsigned char pk[32];
	if (mt_node_id_decode(pk, a.id, "id", NULL) != 0 || memcmp(pk, a.pk, 32) != 0)
		abort();
	/* Canonical re-encoding parses to the same record. */
	char sig[87], again[512];
	mt_sig_encode(sig, a.sig);
	snprintf(again, sizeof again, "Mesh id=%s,ts=%" PRId64 ",nonce=%s,sig=%s", a.id, a.ts,
		 a.nonce, sig);
	mt_node_auth b;
	if (mt_node_auth_parse(&b, again, NULL) != 0 || memcmp(&a, &b, sizeof a) != 0)
		abort();
	free(hdr);
	return 0;
}
