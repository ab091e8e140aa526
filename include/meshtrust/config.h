/** The configuration registry: every key a home's configuration may hold,
 * with its default, its meaning and its validation, and typed getters.
 *
 * Both front ends read configuration only through here, so a value means the
 * same to `mesh` and to the node (a stored value is validated on every read:
 * a value that no longer validates is an error naming the key, never read
 * past). Values are kept as text in the store (mt_store_config_*).
 */
#ifndef MESHTRUST_CONFIG_H
#define MESHTRUST_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "meshtrust/error.h"
#include "meshtrust/store.h"

/** Largest trust.maxDepth and most trust.decay values. */
#define MT_CONFIG_MAX_DEPTH 8
#define MT_CONFIG_MAX_DECAY 16

/** One key of the registry (static data, never freed). */
typedef struct mt_config_key {
	const char *key;
	const char *dflt;
	const char *help;
	/* 0 when `value` is valid for this key, else MT_EINVAL with the reason */
	int (*validate)(const char *value, mt_error *err);
} mt_config_key;

/** The registry, in a stable order; *n receives its length. */
const mt_config_key *mt_config_keys(size_t *n);

/** The key named `key`, or NULL when it is not a configuration key. */
const mt_config_key *mt_config_find(const char *key);

/** The value of `key` in `s`: the stored one, else the default. *out is
 * malloc'd (caller frees). Errors: MT_ENOTFOUND (unknown key), MT_EINVAL (the
 * stored value does not validate: the message names the key), MT_EIO,
 * MT_ENOMEM; *out is NULL then. */
int mt_config_get(mt_store *s, const char *key, char **out, mt_error *err);

/** Check `value` for `key` without storing it: 0, MT_ENOTFOUND (unknown key)
 * or MT_EINVAL with the reason, the key named once ("trust.maxDepth: …"). */
int mt_config_validate(const char *key, const char *value, mt_error *err);

/** Validate (mt_config_validate) and store `value` for `key`. Errors: MT_ENOTFOUND, MT_EINVAL
 * (nothing stored), MT_EIO. */
int mt_config_set(mt_store *s, const char *key, const char *value, mt_error *err);

/** Forget the stored value of `key`: it reads as its default again.
 * Errors: MT_ENOTFOUND (unknown key), MT_EIO. */
int mt_config_unset(mt_store *s, const char *key, mt_error *err);

/** Typed getters (errors as mt_config_get): an on/off key as 0/1, an integer
 * key, a number key. */
int mt_config_bool(mt_store *s, const char *key, int *out, mt_error *err);
int mt_config_int(mt_store *s, const char *key, int64_t *out, mt_error *err);
int mt_config_double(mt_store *s, const char *key, double *out, mt_error *err);

/** The directories of discover.directories (SPEC §9.5), in order: *out is
 * one allocation the caller free()s — *n pointers, then the NUL-terminated
 * URLs they point to (*out is NULL when *n is 0). Errors as mt_config_get. */
int mt_config_directories(mt_store *s, char ***out, size_t *n, mt_error *err);

/** Parse a decay table ("1 1 0.5 0.25 0.125", spaces, tabs or commas): 1..16
 * values in (0, 1], non-increasing, into out[0..*n). Returns 0 or MT_EINVAL. */
int mt_config_parse_decay(double *out, size_t *n, const char *text, mt_error *err);

/** trust.maxDepth and trust.decay (out holds MT_CONFIG_MAX_DECAY values). */
int mt_config_trust(mt_store *s, int *depth, double *decay, size_t *n_decay, mt_error *err);

#endif
