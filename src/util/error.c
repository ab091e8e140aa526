#include "meshtrust/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int mt_error_set(mt_error *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
		err->code = code;
	}
	return code;
}

int mt_error_wrap(mt_error *err, const char *fmt, ...)
{
	if (!err)
		return MT_EINVAL;
	char prefix[MT_ERRMSG_MAX];
	char old[MT_ERRMSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof old);
	old[sizeof old - 1] = '\0';
	/* Truncation is acceptable for a message; build it piecewise. */
	size_t pl = strnlen(prefix, sizeof err->msg - 3);
	memcpy(err->msg, prefix, pl);
	memcpy(err->msg + pl, ": ", 2);
	size_t room = sizeof err->msg - pl - 3;
	size_t ol = strnlen(old, room);
	memcpy(err->msg + pl + 2, old, ol);
	err->msg[pl + 2 + ol] = '\0';
	return err->code ? err->code : MT_EINVAL;
}

const char *mt_error_name(int code)
{
	switch (code) {
	case MT_OK: return "OK";
	case MT_EINVAL: return "EINVAL";
	case MT_ENOTFOUND: return "ENOTFOUND";
	case MT_EBADSIG: return "EBADSIG";
	case MT_EEXISTS: return "EEXISTS";
	case MT_ENOMEM: return "ENOMEM";
	case MT_EIO: return "EIO";
	case MT_EPERM: return "EPERM";
	case MT_ECANON: return "ECANON";
	case MT_ETOOBIG: return "ETOOBIG";
	case MT_ECRYPTO: return "ECRYPTO";
	case MT_EFORK: return "EFORK";
	case MT_EBUSY: return "EBUSY";
	case MT_EUNAVAIL: return "EUNAVAIL";
	default: return "EUNKNOWN";
	}
}
