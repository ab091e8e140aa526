/* libFuzzer target: the feed-head reconciliation messages (POST
 * /v1/feeds/reconcile, docs/node.md "Peers and sync") through
 * mt_node_recon_check. The first byte chooses the reader: even, the
 * endpoint's (a puller's message, answered over a sample set); odd, the
 * puller's (a peer's answer to its first message, then its next message).
 * Any input must be answered 0 or refused MT_EINVAL with a message (or
 * MT_ENOMEM); never a crash, a leak or undefined behaviour. */
#include <stdint.h>
#include <stdlib.h>

#include "meshtrust/node.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	mt_error err = {0};
	int rc = mt_node_recon_check(data + 1, size - 1, data[0] & 1, &err);
	if (rc != 0 && rc != MT_ENOMEM && !(rc == MT_EINVAL && err.msg[0]))
		abort();
	return 0;
}
