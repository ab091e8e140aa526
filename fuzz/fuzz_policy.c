/* libFuzzer target: the policy file parser. Accepted policies must validate
 * and survive a format/parse round trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meshtrust/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mt_policy *p = NULL, *q = NULL;
	mt_error err = {0};
	if (mt_policy_parse(&p, (const char *)data, size, "fuzz", &err) != 0) {
		if (p)
			abort();
		return 0;
	}
	if (mt_policy_validate(p, NULL) != 0)
		abort();
	char *txt = NULL;
	if (mt_policy_format(&txt, p) != 0)
		abort();
	if (mt_policy_parse(&q, txt, strlen(txt), "round-trip", NULL) != 0)
		abort();
	free(txt);
	mt_policy_free(p);
	mt_policy_free(q);
	return 0;
}
