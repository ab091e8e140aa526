/* libFuzzer target: Node ID / did:key parsing. Anything accepted re-encodes
 * to itself (Node ID) or to the same key (did:key). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/identity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[256];
	if (size >= sizeof text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	unsigned char pk[32];
	char id[MT_NODE_ID_MAX], again[MT_NODE_ID_MAX], did[MT_DID_MAX];
	if (mt_identity_parse(pk, id, text, "fuzz", NULL) != 0)
		return 0;
	mt_node_id_encode(again, pk);
	mt_did_encode(did, pk);
	if (strcmp(again, id) != 0 || (strcmp(text, id) != 0 && strcmp(text, did) != 0))
		abort();
	return 0;
}
