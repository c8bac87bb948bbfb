#ifndef VC_CLOCK_H
#define VC_CLOCK_H
#include <stddef.h>
#include <stdint.h>

/* Monotonic clock in nanoseconds, for durations and deadlines. */
int64_t vc_clock_mono_ns(void);
/* Monotonic clock in milliseconds. */
int64_t vc_clock_mono_ms(void);
/* Wall clock in milliseconds since the Unix epoch, for timestamps in messages. */
int64_t vc_clock_wall_ms(void);
/* Formats a wall-clock ms timestamp as RFC 3339 UTC with milliseconds
 * ("2026-11-25T18:30:00.123Z") into out (at least 25 bytes; shorter buffers get a truncated,
 * NUL-terminated string). */
void vc_clock_format_rfc3339(int64_t wall_ms, char *out, size_t outlen);

#endif
