/* Opening a store by URL: the scheme chooses the backend (store.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* ---- which store a home uses ------------------------------------------------ */

#define STORE_URL_MAX 4096

int mt_store_url_resolve(char **out, const char *home, const char *db_path, mt_error *err)
{
	*out = NULL;
	const char *env = getenv("MESH_STORE");
	char buf[STORE_URL_MAX];
	const char *url = NULL;
	if (env && *env) {
		url = env;
	} else if (home) {
		char path[4200];
		snprintf(path, sizeof path, "%s/store.url", home);
		int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno != ENOENT)
			return mt_error_set(err, MT_EIO, "store: %s: %s", path, strerror(errno));
		if (fd >= 0) {
			struct stat sb;
			ssize_t n = fstat(fd, &sb) == 0 ? read(fd, buf, sizeof buf - 1) : -1;
			close(fd);
			if (n < 0)
				return mt_error_set(err, MT_EIO, "store: %s: %s", path, strerror(errno));
			/* it may hold a password: readable by its owner only */
			if (sb.st_mode & 077)
				return mt_error_set(err, MT_EPERM,
						    "store: %s is readable by others (mode %03o); "
						    "chmod 600 it",
						    path, (unsigned)(sb.st_mode & 0777));
			buf[n] = '\0';
			buf[strcspn(buf, "\r\n")] = '\0';
			if (buf[0])
				url = buf;
		}
	}
	if (!url)
		url = db_path;
	if (!mt_store_url_kind(url))
		return mt_error_set(err, MT_EINVAL,
				    "store: '%.200s' is not a store URL (sqlite:PATH, a path, "
				    "postgresql://…)",
				    url ? url : "");
	*out = strdup(url);
	return *out ? 0 : mt_error_set(err, MT_ENOMEM, "out of memory");
}

int mt_store_url_record(const char *home, const char *url, mt_error *err)
{
	if (!mt_store_url_kind(url))
		return mt_error_set(err, MT_EINVAL, "store: '%.200s' is not a store URL", url ? url : "");
	char path[4200], tmp[4300];
	snprintf(path, sizeof path, "%s/store.url", home);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return mt_error_set(err, MT_EIO, "store: %s: %s", tmp, strerror(errno));
	size_t len = strlen(url);
	int ok = fchmod(fd, 0600) == 0 && write(fd, url, len) == (ssize_t)len &&
		 write(fd, "\n", 1) == 1 && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		return mt_error_set(err, MT_EIO, "store: writing %s: %s", path, strerror(e));
	}
	return 0;
}
