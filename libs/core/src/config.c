#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vc/config.h"
#include "vc/error.h"

/* Values are echoed into error messages; very long ones are cut so the message stays readable. */
#define CFG_ECHO "%.80s"

/* Returns the variable's value, or NULL when it is unset or empty (use the default). */
static const char *cfg_get(const char *name)
{
    const char *v = getenv(name);
    return (v != NULL && *v != '\0') ? v : NULL;
}

/* Parses an optionally signed decimal integer at the start of s; *end is set past it.
 * Leading whitespace, a missing digit and overflow are errors. Returns 0 or VC_EINVAL
 * (VC_ERANGE on overflow). */
static int cfg_parse_ll(const char *s, long long *out, const char **end)
{
    char *e = NULL;
    const char *d = (*s == '-' || *s == '+') ? s + 1 : s;
    if (*d < '0' || *d > '9')
        return VC_EINVAL;
    errno = 0;
    long long v = strtoll(s, &e, 10);
    if (errno == ERANGE)
        return VC_ERANGE;
    if (errno != 0 || e == s)
        return VC_EINVAL;
    *out = v;
    *end = e;
    return 0;
}

/* Writes the range error for name=v. unit is appended to both bounds ("" for none). */
static int cfg_range_err(char *err, size_t errlen, const char *name, const char *v, long long min,
                         long long max, const char *unit)
{
    return vc_err(err, errlen, VC_EINVAL, "%s=" CFG_ECHO ": must be between %lld%s and %lld%s",
                  name, v, min, unit, max, unit);
}

int vc_config_int(const char *name, long long def, long long min, long long max, long long *out,
                  char *err, size_t errlen)
{
    const char *v = cfg_get(name);
    const char *end = NULL;
    long long n = 0;
    if (v == NULL) {
        *out = def;
        return 0;
    }
    int rc = cfg_parse_ll(v, &n, &end);
    if (rc == VC_ERANGE)
        return cfg_range_err(err, errlen, name, v, min, max, "");
    if (rc != 0 || *end != '\0')
        return vc_err(err, errlen, VC_EINVAL, "%s=" CFG_ECHO ": not an integer", name, v);
    if (n < min || n > max)
        return cfg_range_err(err, errlen, name, v, min, max, "");
    *out = n;
    return 0;
}

/* Returns the multiplier of a size suffix ("", K, M, G, optionally followed by B), or 0. */
static long long cfg_bytes_unit(const char *s)
{
    static const char *const units[] = {"", "k", "m", "g", "kb", "mb", "gb", "b"};
    static const long long mult[] = {1,         1LL << 10, 1LL << 20, 1LL << 30,
                                     1LL << 10, 1LL << 20, 1LL << 30, 1};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(s, units[i]) == 0)
            return mult[i];
    }
    return 0;
}

int vc_config_bytes(const char *name, long long def, long long min, long long max, long long *out,
                    char *err, size_t errlen)
{
    const char *v = cfg_get(name);
    const char *end = NULL;
    long long n = 0;
    if (v == NULL) {
        *out = def;
        return 0;
    }
    int rc = cfg_parse_ll(v, &n, &end);
    if (rc == VC_ERANGE)
        return cfg_range_err(err, errlen, name, v, min, max, " bytes");
    long long mult = rc == 0 ? cfg_bytes_unit(end) : 0;
    if (mult == 0)
        return vc_err(err, errlen, VC_EINVAL,
                      "%s=" CFG_ECHO ": not a size (bytes, or a number with K, M or G)", name, v);
    if (n > LLONG_MAX / mult || n < LLONG_MIN / mult)
        return cfg_range_err(err, errlen, name, v, min, max, " bytes");
    n *= mult;
    if (n < min || n > max)
        return cfg_range_err(err, errlen, name, v, min, max, " bytes");
    *out = n;
    return 0;
}

/* Returns the milliseconds in one unit of a duration suffix ("" = seconds), or 0. */
static double cfg_duration_unit(const char *s)
{
    static const char *const units[] = {"", "ms", "s", "m", "h"};
    static const double mult[] = {1000.0, 1.0, 1000.0, 60000.0, 3600000.0};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(s, units[i]) == 0)
            return mult[i];
    }
    return 0.0;
}

/* Parses "<decimal>[unit]" ("1.5s", "250ms", "2"). Only digits and one optional '.' are given
 * to strtod, so "inf", "nan", hex floats and exponents are rejected. Returns 0 or VC_EINVAL. */
static int cfg_parse_duration(const char *s, double *out_ms)
{
    const char *d = (*s == '-' || *s == '+') ? s + 1 : s;
    size_t span = strspn(d, "0123456789.");
    if (span == 0 || *d == '.' || memchr(d, '.', span) != strrchr(d, '.'))
        return VC_EINVAL;
    char *e = NULL;
    errno = 0;
    double v = strtod(s, &e);
    if (errno != 0 || e != d + span || !isfinite(v))
        return VC_EINVAL;
    double mult = cfg_duration_unit(e);
    if (mult == 0.0)
        return VC_EINVAL;
    *out_ms = v * mult;
    return 0;
}

int vc_config_duration_ms(const char *name, long long def_ms, long long min_ms, long long max_ms,
                          long long *out, char *err, size_t errlen)
{
    const char *v = cfg_get(name);
    double ms = 0.0;
    if (v == NULL) {
        *out = def_ms;
        return 0;
    }
    if (cfg_parse_duration(v, &ms) != 0)
        return vc_err(err, errlen, VC_EINVAL,
                      "%s=" CFG_ECHO ": not a duration (e.g. 250ms, 5s, 30m, 1h)", name, v);
    ms = round(ms);
    if (ms < (double)min_ms || ms > (double)max_ms)
        return cfg_range_err(err, errlen, name, v, min_ms, max_ms, "ms");
    *out = (long long)ms;
    return 0;
}

int vc_config_bool(const char *name, int def, int *out, char *err, size_t errlen)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    const char *v = cfg_get(name);
    if (v == NULL) {
        *out = def;
        return 0;
    }
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return vc_err(err, errlen, VC_EINVAL,
                  "%s=" CFG_ECHO ": not a boolean (1/0, true/false, yes/no, on/off)", name, v);
}

int vc_config_str(const char *name, const char *def, const char **out, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    const char *v = cfg_get(name);
    *out = v != NULL ? v : def;
    return 0;
}

/* Writes "NAME=value: must be one of a|b|c" into err. */
static int cfg_enum_err(char *err, size_t errlen, const char *name, const char *v,
                        const char *const *allowed)
{
    char list[256];
    size_t used = 0;
    list[0] = '\0';
    for (size_t i = 0; allowed[i] != NULL && used < sizeof(list); i++) {
        int w = snprintf(list + used, sizeof(list) - used, "%s%s", i ? "|" : "", allowed[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return vc_err(err, errlen, VC_EINVAL, "%s=" CFG_ECHO ": must be one of %s", name, v, list);
}

int vc_config_enum(const char *name, const char *def, const char *const *allowed, const char **out,
                   char *err, size_t errlen)
{
    const char *v = cfg_get(name);
    const char *want = v != NULL ? v : def;
    if (want == NULL) {
        *out = NULL;
        return 0;
    }
    for (size_t i = 0; allowed[i] != NULL; i++) {
        if (strcasecmp(want, allowed[i]) == 0) {
            *out = allowed[i];
            return 0;
        }
    }
    return cfg_enum_err(err, errlen, name, want, allowed);
}
