#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "vc/clock.h"
#include "vc/error.h"
#include "vc/log.h"

/* A line is at most PIPE_BUF (4096 on Linux) bytes so one write(2) to a pipe is atomic. */
#define LOG_LINE_MAX 4096
#define LOG_SVC_MAX 48
#define LOG_TRUNC_MARK " log_truncated=true" /* room for it and "\n" is reserved */

static atomic_int log_min_level = VC_LOG_INFO;
static char log_svc[LOG_SVC_MAX] = "vc";

static const char *const log_level_names[] = {"debug", "info", "warn", "error"};

/* Copies service into log_svc, replacing bytes that would break the logfmt prefix.
 * @locality start-up, before other threads log. */
void vc_log_init(const char *service, vc_log_level_t level)
{
    const char *s = (service != NULL && *service != '\0') ? service : "vc";
    size_t i = 0;
    for (; s[i] != '\0' && i + 1 < sizeof(log_svc); i++) {
        unsigned char c = (unsigned char)s[i];
        log_svc[i] = (c <= ' ' || c == '"' || c == '=' || c >= 0x7f) ? '_' : (char)c;
    }
    log_svc[i] = '\0';
    if (level < VC_LOG_DEBUG || level > VC_LOG_ERROR)
        level = VC_LOG_INFO;
    atomic_store(&log_min_level, (int)level);
}

int vc_log_level_parse(const char *s, vc_log_level_t *out)
{
    if (s == NULL)
        return VC_EINVAL;
    for (int i = VC_LOG_DEBUG; i <= VC_LOG_ERROR; i++) {
        if (strcasecmp(s, log_level_names[i]) == 0) {
            *out = (vc_log_level_t)i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = VC_LOG_WARN;
        return 0;
    }
    return VC_EINVAL;
}

int vc_log_enabled(vc_log_level_t level)
{
    return (int)level >= atomic_load_explicit(&log_min_level, memory_order_relaxed);
}

/* Writes all of buf to stderr; retries on EINTR and, should the kernel write only part, the
 * rest (lines up to PIPE_BUF are written whole in practice). Errors are dropped: logging must
 * never fail the caller. */
static void log_write(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(STDERR_FILENO, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        buf += w;
        len -= (size_t)w;
    }
}

/* Replaces CR and LF (which would split the line) with spaces in buf[0..len). */
static void log_flatten(char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n' || buf[i] == '\r')
            buf[i] = ' ';
    }
}

/* Formats the fields after the prefix already in line[0..len); returns the new length,
 * leaving room for the truncation marker. Leading spaces of the fields are dropped (the
 * VC_* macros prepend one so that "" is never a zero-length format). */
static size_t log_fields(char *line, size_t len, const char *fields, va_list ap)
{
    char *buf = line + len + 1;
    size_t cap = LOG_LINE_MAX - len - 1 - sizeof(LOG_TRUNC_MARK) - 1;
    int n = vsnprintf(buf, cap, fields, ap);
    if (n <= 0)
        return len;
    size_t flen = (size_t)n < cap ? (size_t)n : cap - 1;
    size_t skip = strspn(buf, " ");
    if (skip >= flen)
        return len;
    line[len] = ' ';
    memmove(buf, buf + skip, flen - skip);
    log_flatten(buf, flen - skip);
    len += 1 + flen - skip;
    if ((size_t)n >= cap) {
        memcpy(line + len, LOG_TRUNC_MARK, sizeof(LOG_TRUNC_MARK) - 1);
        len += sizeof(LOG_TRUNC_MARK) - 1;
    }
    return len;
}

/* Builds "ts=... level=... svc=... event=... <fields>\n" and writes it with one write(2).
 * @locality any thread; no locks. */
void vc_log(vc_log_level_t level, const char *event, const char *fields, ...)
{
    char line[LOG_LINE_MAX];
    char ts[32];
    if (level < VC_LOG_DEBUG || level > VC_LOG_ERROR)
        level = VC_LOG_ERROR;
    if (!vc_log_enabled(level))
        return;
    vc_clock_format_rfc3339(vc_clock_wall_ms(), ts, sizeof(ts));
    int n = snprintf(line, 512, "ts=%s level=%s svc=%s event=%.200s", ts, log_level_names[level],
                     log_svc, event != NULL ? event : "-");
    size_t len = n < 0 ? 0 : ((size_t)n < 512 ? (size_t)n : 511);
    log_flatten(line, len);
    if (fields != NULL) {
        va_list ap;
        va_start(ap, fields);
        len = log_fields(line, len, fields, ap);
        va_end(ap);
    }
    line[len++] = '\n';
    log_write(line, len);
}
