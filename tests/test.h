#ifndef VC_TEST_H
#define VC_TEST_H
/* Minimal assertion helpers: every failing assertion prints both values and the location,
 * then aborts the process (each test file is its own ctest process, libuv style). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VC_TEST_FAIL(...)                                                                      \
    do {                                                                                       \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                        \
        fprintf(stderr, __VA_ARGS__);                                                          \
        fputc('\n', stderr);                                                                   \
        abort();                                                                               \
    } while (0)

#define ASSERT(cond)                                                                           \
    do {                                                                                       \
        if (!(cond))                                                                           \
            VC_TEST_FAIL("assertion failed: %s", #cond);                                       \
    } while (0)

#define ASSERT_EQ(a, b)                                                                        \
    do {                                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                                    \
        if (a_ != b_)                                                                          \
            VC_TEST_FAIL("%s == %s failed: %lld != %lld", #a, #b, a_, b_);                     \
    } while (0)

#define ASSERT_OK(expr)                                                                        \
    do {                                                                                       \
        long long r_ = (long long)(expr);                                                      \
        if (r_ != 0)                                                                           \
            VC_TEST_FAIL("%s returned %lld, expected 0", #expr, r_);                           \
    } while (0)

#define ASSERT_STREQ(a, b)                                                                     \
    do {                                                                                       \
        const char *a_ = (a), *b_ = (b);                                                       \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)                                   \
            VC_TEST_FAIL("%s == %s failed: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)",      \
                         b_ ? b_ : "(null)");                                                  \
    } while (0)

#define ASSERT_NEAR(a, b, tol)                                                                 \
    do {                                                                                       \
        double a_ = (double)(a), b_ = (double)(b);                                             \
        if (!(fabs(a_ - b_) <= (tol)))                                                         \
            VC_TEST_FAIL("%s ~= %s failed: %g vs %g (tol %g)", #a, #b, a_, b_, (double)(tol)); \
    } while (0)

/* Integration tests need real servers; tests/run provides them. Outside tests/run a missing
 * server skips (exit 77) unless VC_TEST_REQUIRE_SERVERS=1, where it fails. */
static inline const char *vc_test_env_or_skip(const char *name)
{
    const char *v = getenv(name);
    if (v != NULL && *v != '\0')
        return v;
    const char *req = getenv("VC_TEST_REQUIRE_SERVERS");
    if (req != NULL && strcmp(req, "1") == 0)
        VC_TEST_FAIL("%s is not set but VC_TEST_REQUIRE_SERVERS=1", name);
    fprintf(stderr, "skip: %s not set (run through tests/run)\n", name);
    exit(77);
}

#define RUN(test)                                                                              \
    do {                                                                                       \
        fprintf(stderr, "-- %s\n", #test);                                                     \
        test();                                                                                \
    } while (0)

#endif
