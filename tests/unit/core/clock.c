/* Unit tests for vc/clock.h. */
#include <time.h>

#include "test.h"
#include "vc/clock.h"

static void test_format_known(void)
{
    char buf[32];
    vc_clock_format_rfc3339(0, buf, sizeof(buf));
    ASSERT_STREQ(buf, "1970-01-01T00:00:00.000Z");
    vc_clock_format_rfc3339(1764095400123LL, buf, sizeof(buf));
    ASSERT_STREQ(buf, "2025-11-25T18:30:00.123Z");
    vc_clock_format_rfc3339(951782400000LL, buf, sizeof(buf));
    ASSERT_STREQ(buf, "2000-02-29T00:00:00.000Z");
    vc_clock_format_rfc3339(4102444799999LL, buf, sizeof(buf));
    ASSERT_STREQ(buf, "2099-12-31T23:59:59.999Z");
    vc_clock_format_rfc3339(-1, buf, sizeof(buf));
    ASSERT_STREQ(buf, "1969-12-31T23:59:59.999Z");
}

static void test_format_exact_and_short_buffer(void)
{
    char buf[25];
    vc_clock_format_rfc3339(1764095400123LL, buf, sizeof(buf));
    ASSERT_EQ(strlen(buf), 24);
    char small[8];
    vc_clock_format_rfc3339(1764095400123LL, small, sizeof(small));
    ASSERT_STREQ(small, "2025-11");
}

static void test_monotonic_and_wall(void)
{
    int64_t a = vc_clock_mono_ns();
    int64_t b = vc_clock_mono_ns();
    ASSERT(b >= a);
    int64_t ms = vc_clock_mono_ms();
    ASSERT(ms >= a / 1000000);
    int64_t wall = vc_clock_wall_ms();
    int64_t now = (int64_t)time(NULL) * 1000;
    ASSERT(wall >= now - 2000 && wall <= now + 2000);
}

int main(void)
{
    RUN(test_format_known);
    RUN(test_format_exact_and_short_buffer);
    RUN(test_monotonic_and_wall);
    return 0;
}
