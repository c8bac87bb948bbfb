#ifndef VC_CONFIG_H
#define VC_CONFIG_H
#include <stddef.h>

/* Typed configuration from environment variables.
 *
 * Every getter reads the variable `name`. Unset or empty: *out = default, returns 0.
 * Set and valid: *out = parsed value, returns 0. Set but invalid or out of [min, max]:
 * returns VC_EINVAL and writes "NAME=value: reason" into err, so start-up can stop
 * with a message naming the variable. */

int vc_config_int(const char *name, long long def, long long min, long long max, long long *out,
                  char *err, size_t errlen);

/* Sizes in bytes: "1048576", "512K", "16M", "1G" (1024-based suffixes, case-insensitive). */
int vc_config_bytes(const char *name, long long def, long long min, long long max, long long *out,
                    char *err, size_t errlen);

/* Durations: "250ms", "5s", "30m", "1h"; a bare number means seconds. Stored in ms. */
int vc_config_duration_ms(const char *name, long long def_ms, long long min_ms, long long max_ms,
                          long long *out, char *err, size_t errlen);

/* Booleans: 1/0, true/false, yes/no, on/off (case-insensitive). */
int vc_config_bool(const char *name, int def, int *out, char *err, size_t errlen);

/* Strings: *out points into the environment or at def; not copied (do not free). */
int vc_config_str(const char *name, const char *def, const char **out, char *err, size_t errlen);

/* One of `allowed` (NULL-terminated array, compared case-insensitively). *out points at the
 * matching entry of `allowed`. */
int vc_config_enum(const char *name, const char *def, const char *const *allowed, const char **out,
                   char *err, size_t errlen);

#endif
