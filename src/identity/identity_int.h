/* Internals shared by the files of src/identity/ (not a public API). */
#ifndef MT_IDENTITY_INT_H
#define MT_IDENTITY_INT_H

#include <stddef.h>

/* Escape user-supplied `text` for an error message: at most `max_chars` input
 * characters (then "..."); quotes and backslashes get a backslash, other
 * bytes outside printable ASCII become \xNN, so a stray control byte cannot
 * garble a terminal. `out` needs 4 * max_chars + 4 bytes to hold it all. */
void mt_identity__escape(char *out, size_t outsz, const char *text, size_t max_chars);

#endif
