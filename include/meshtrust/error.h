/** Error codes and the error record every fallible meshtrust function fills.
 *
 * Contract: a function that can fail returns `int`: 0 on success or a negative
 * MT_E* code. When the caller passes a non-NULL `mt_error *err`, the function
 * writes a human-readable message naming the bad input into it (never secrets).
 * The record is caller-owned storage; there is no global error state.
 */
#ifndef MESHTRUST_ERROR_H
#define MESHTRUST_ERROR_H

#include <stddef.h>

enum {
	MT_OK = 0,
	MT_EINVAL = -1,    /* bad argument or malformed input */
	MT_ENOTFOUND = -2, /* no such thing */
	MT_EBADSIG = -3,   /* signature does not verify */
	MT_EEXISTS = -4,   /* would overwrite / duplicate */
	MT_ENOMEM = -5,    /* allocation failed */
	MT_EIO = -6,       /* file system or database failure */
	MT_EPERM = -7,     /* permissions (e.g. key file mode) or policy denial */
	MT_ECANON = -8,    /* statement bytes are not canonical */
	MT_ETOOBIG = -9,   /* input over a size limit */
	MT_ECRYPTO = -10,  /* crypto library failure / wrong passphrase */
	MT_EFORK = -11,    /* equivocation detected */
	MT_EBUSY = -12,    /* database busy beyond the timeout */
	MT_EUNAVAIL = -13, /* the store's database cannot be reached now (connection
			    * lost, refused, or no answer in time): nothing was
			    * done; the same call may succeed later. The message
			    * holds "store unavailable: <reason>". */
};

/** Size of the message buffer in mt_error. */
#define MT_ERRMSG_MAX 512

/** An error record: the code and a message. Zero-initialise before use. */
typedef struct mt_error {
	int code;
	char msg[MT_ERRMSG_MAX];
} mt_error;

/** Set `err` (if non-NULL) to `code` with a printf-style message; returns `code`
 * so callers can write `return mt_error_set(err, MT_EINVAL, "...")`. */
int mt_error_set(mt_error *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

/** Prefix the existing message in `err` with `fmt...` + ": ". Returns err->code
 * (or MT_EINVAL if err is NULL). */
int mt_error_wrap(mt_error *err, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

/** Short static name of a code ("EINVAL" …); never NULL. */
const char *mt_error_name(int code);

#endif
