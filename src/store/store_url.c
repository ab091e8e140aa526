/* Opening a store by URL: the scheme chooses the backend (store.h). */
#include <string.h>

#include "store_int.h"

const char *mt_store_url_kind(const char *url)
{
	if (!url || !*url)
		return NULL;
	if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)
		return "postgresql";
	if (strncmp(url, "sqlite:", 7) == 0)
		return url[7] ? "sqlite" : NULL;
	return strstr(url, "://") ? NULL : "sqlite";
}

int mt_store_open_url(mt_store **out, const char *url, mt_error *err)
{
	*out = NULL;
	const char *kind = mt_store_url_kind(url);
	if (!kind)
		return mt_error_set(err, MT_EINVAL,
				    "store: '%.200s' is not a store URL (sqlite:PATH, a path, "
				    "postgresql://…)",
				    url ? url : "");
	if (strcmp(kind, "sqlite") == 0)
		return mt_store_open(out, strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url, err);
	mt_store_backend *be = NULL;
	int rc = mt_store_pg_backend(&be, url, err);
	if (rc)
		return rc;
	if ((rc = mt_store_open_backend(out, be, err)))
		be->free(be);
	return rc;
}
