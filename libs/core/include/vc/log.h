#ifndef VC_LOG_H
#define VC_LOG_H

/* Leveled, structured (logfmt) logging to stderr. One line per call, written with a
 * single write(2) so lines from different threads never interleave:
 *   ts=2026-11-25T18:30:00.123Z level=info svc=gateway event=http.listen port=8080
 * `fields` is a printf format producing further key=value pairs (may be ""). */

typedef enum { VC_LOG_DEBUG = 0, VC_LOG_INFO, VC_LOG_WARN, VC_LOG_ERROR } vc_log_level_t;

/* Sets the service name shown on every line and the minimum level. Call once at start-up,
 * before other threads log. Before it: level info, service "vc". */
void vc_log_init(const char *service, vc_log_level_t level);
/* Parses "debug|info|warn|warning|error" (case-insensitive). Returns 0 or VC_EINVAL. */
int vc_log_level_parse(const char *s, vc_log_level_t *out);
/* True (1) when a line at `level` would be written. */
int vc_log_enabled(vc_log_level_t level);
/* Writes one line (at most 4096 bytes; longer fields are cut and marked log_truncated=true).
 * CR/LF in the output become spaces. Any thread. */
void vc_log(vc_log_level_t level, const char *event, const char *fields, ...)
    __attribute__((format(printf, 3, 4)));

/* The fields format must be a string literal. The macros prepend " " to it so that
 * VC_INFO("x", "") and VC_INFO("x") compile under -Wformat-zero-length; vc_log drops leading
 * spaces of the fields. (Calling vc_log directly with "" trips -Werror=format-zero-length.) */
#define VC_DEBUG(event, ...) vc_log(VC_LOG_DEBUG, event, " " __VA_ARGS__)
#define VC_INFO(event, ...) vc_log(VC_LOG_INFO, event, " " __VA_ARGS__)
#define VC_WARN(event, ...) vc_log(VC_LOG_WARN, event, " " __VA_ARGS__)
#define VC_ERROR(event, ...) vc_log(VC_LOG_ERROR, event, " " __VA_ARGS__)

#endif
