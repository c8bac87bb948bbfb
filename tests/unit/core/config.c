/* Unit tests for vc/config.h: defaults, valid forms, and every invalid form naming the
 * variable in the message. */
#include "test.h"
#include "vc/config.h"
#include "vc/error.h"

#define VAR "VC_TEST_CFG"

static char err[256];

/* Asserts the last error names the variable and mentions `what`. */
static void expect_err(int rc, const char *what)
{
    ASSERT_EQ(rc, VC_EINVAL);
    if (strncmp(err, VAR "=", strlen(VAR) + 1) != 0 || strstr(err, what) == NULL)
        VC_TEST_FAIL("unexpected message \"%s\" (want %s=...: ...%s...)", err, VAR, what);
}

static void set(const char *v)
{
    ASSERT_OK(setenv(VAR, v, 1));
    err[0] = '\0';
}

static void test_int(void)
{
    long long v = 0;
    ASSERT_OK(unsetenv(VAR));
    ASSERT_OK(vc_config_int(VAR, 42, 1, 100, &v, err, sizeof(err)));
    ASSERT_EQ(v, 42);
    set("");
    ASSERT_OK(vc_config_int(VAR, 43, 1, 100, &v, err, sizeof(err)));
    ASSERT_EQ(v, 43);
    set("7");
    ASSERT_OK(vc_config_int(VAR, 42, 1, 100, &v, err, sizeof(err)));
    ASSERT_EQ(v, 7);
    set("-5");
    ASSERT_OK(vc_config_int(VAR, 0, -10, 10, &v, err, sizeof(err)));
    ASSERT_EQ(v, -5);
    set("abc");
    expect_err(vc_config_int(VAR, 1, 1, 100, &v, err, sizeof(err)), ": not an integer");
    ASSERT_STREQ(err, VAR "=abc: not an integer");
    const char *bad[] = {"12abc", " 12", "12 ", "1.5", "0x10", "+", "-", "1e3"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        set(bad[i]);
        expect_err(vc_config_int(VAR, 1, -100, 100, &v, err, sizeof(err)), "not an integer");
    }
    set("70000");
    expect_err(vc_config_int(VAR, 8080, 1, 65535, &v, err, sizeof(err)), "");
    ASSERT_STREQ(err, VAR "=70000: must be between 1 and 65535");
    set("0");
    expect_err(vc_config_int(VAR, 8080, 1, 65535, &v, err, sizeof(err)), "must be between");
    set("99999999999999999999999");
    expect_err(vc_config_int(VAR, 1, 1, 10, &v, err, sizeof(err)), "must be between");
    ASSERT_EQ(v, -5); /* untouched on failure */
}

static void test_bytes(void)
{
    long long v = 0;
    ASSERT_OK(unsetenv(VAR));
    ASSERT_OK(vc_config_bytes(VAR, 1024, 0, 1LL << 40, &v, err, sizeof(err)));
    ASSERT_EQ(v, 1024);
    const struct {
        const char *s;
        long long want;
    } ok[] = {{"1048576", 1048576}, {"512K", 512 * 1024}, {"512k", 512 * 1024}, {"16M", 16LL << 20},
              {"1G", 1LL << 30},    {"2g", 2LL << 30},    {"4KB", 4096},        {"10b", 10}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        set(ok[i].s);
        ASSERT_OK(vc_config_bytes(VAR, 0, 0, 1LL << 40, &v, err, sizeof(err)));
        ASSERT_EQ(v, ok[i].want);
    }
    const char *bad[] = {"abc", "12X", "M", "1.5M", " 1M", "1M ", "1MM", "-"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        set(bad[i]);
        expect_err(vc_config_bytes(VAR, 0, 0, 1LL << 40, &v, err, sizeof(err)), "not a size");
    }
    set("2G");
    expect_err(vc_config_bytes(VAR, 0, 1, 1LL << 30, &v, err, sizeof(err)), "must be between");
    set("9223372036854775807G");
    expect_err(vc_config_bytes(VAR, 0, 1, 1LL << 30, &v, err, sizeof(err)), "must be between");
}

static void test_duration(void)
{
    long long v = 0;
    ASSERT_OK(unsetenv(VAR));
    ASSERT_OK(vc_config_duration_ms(VAR, 5000, 0, 86400000, &v, err, sizeof(err)));
    ASSERT_EQ(v, 5000);
    const struct {
        const char *s;
        long long want;
    } ok[] = {{"250ms", 250}, {"5s", 5000}, {"30m", 1800000}, {"1h", 3600000}, {"2", 2000},
              {"1.5s", 1500}, {"0", 0},     {"10MS", 10},     {"0.25", 250},   {"1.", 1000}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        set(ok[i].s);
        ASSERT_OK(vc_config_duration_ms(VAR, 0, 0, 86400000, &v, err, sizeof(err)));
        ASSERT_EQ(v, ok[i].want);
    }
    const char *bad[] = {"abc", "5x",  "s",   "1e3s",   "0x10", "inf",
                         "nan", " 5s", "5 s", "1.2.3s", ".5s",  "5sec"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        set(bad[i]);
        expect_err(vc_config_duration_ms(VAR, 0, 0, 86400000, &v, err, sizeof(err)),
                   "not a duration");
    }
    set("2d");
    expect_err(vc_config_duration_ms(VAR, 0, 0, 1000, &v, err, sizeof(err)), "not a duration");
    set("2s");
    expect_err(vc_config_duration_ms(VAR, 0, 0, 1000, &v, err, sizeof(err)), "");
    ASSERT_STREQ(err, VAR "=2s: must be between 0ms and 1000ms");
}

static void test_bool(void)
{
    int v = -1;
    ASSERT_OK(unsetenv(VAR));
    ASSERT_OK(vc_config_bool(VAR, 1, &v, err, sizeof(err)));
    ASSERT_EQ(v, 1);
    const char *yes[] = {"1", "true", "TRUE", "yes", "Yes", "on", "ON"};
    const char *no[] = {"0", "false", "False", "no", "NO", "off", "Off"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        set(yes[i]);
        ASSERT_OK(vc_config_bool(VAR, 0, &v, err, sizeof(err)));
        ASSERT_EQ(v, 1);
        set(no[i]);
        ASSERT_OK(vc_config_bool(VAR, 1, &v, err, sizeof(err)));
        ASSERT_EQ(v, 0);
    }
    const char *bad[] = {"2", "maybe", "y", "tru", " true"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        set(bad[i]);
        expect_err(vc_config_bool(VAR, 0, &v, err, sizeof(err)), "not a boolean");
    }
}

static void test_str_and_enum(void)
{
    const char *s = NULL;
    static const char *const levels[] = {"debug", "info", "warn", NULL};
    ASSERT_OK(unsetenv(VAR));
    ASSERT_OK(vc_config_str(VAR, "dflt", &s, err, sizeof(err)));
    ASSERT_STREQ(s, "dflt");
    set("kafka:9092");
    ASSERT_OK(vc_config_str(VAR, "dflt", &s, err, sizeof(err)));
    ASSERT_STREQ(s, "kafka:9092");
    ASSERT_OK(unsetenv(VAR));
    ASSERT_OK(vc_config_enum(VAR, "info", levels, &s, err, sizeof(err)));
    ASSERT(s == levels[1]);
    set("WARN");
    ASSERT_OK(vc_config_enum(VAR, "info", levels, &s, err, sizeof(err)));
    ASSERT(s == levels[2]);
    set("verbose");
    expect_err(vc_config_enum(VAR, "info", levels, &s, err, sizeof(err)), "");
    ASSERT_STREQ(err, VAR "=verbose: must be one of debug|info|warn");
}

static void test_long_value_and_small_err(void)
{
    char big[400], small[8];
    long long v = 0;
    memset(big, '9', sizeof(big) - 1);
    big[0] = 'x';
    big[sizeof(big) - 1] = '\0';
    set(big);
    expect_err(vc_config_int(VAR, 1, 1, 10, &v, err, sizeof(err)), "not an integer");
    ASSERT(strlen(err) < sizeof(err) - 1);
    ASSERT_EQ(vc_config_int(VAR, 1, 1, 10, &v, small, sizeof(small)), VC_EINVAL);
    ASSERT_EQ(strlen(small), sizeof(small) - 1);
    ASSERT_EQ(vc_config_int(VAR, 1, 1, 10, &v, NULL, 0), VC_EINVAL);
    ASSERT_OK(unsetenv(VAR));
}

int main(void)
{
    RUN(test_int);
    RUN(test_bytes);
    RUN(test_duration);
    RUN(test_bool);
    RUN(test_str_and_enum);
    RUN(test_long_value_and_small_err);
    return 0;
}
