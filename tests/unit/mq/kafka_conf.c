/* The operator's librdkafka properties (KAFKA_CONFIG_FILE, KAFKA_CONF_*): the properties-file
 * parser, the variable-name mapping, file-then-environment order, refusal of the properties
 * vcguard owns, redaction of values from every error and from librdkafka's debug=conf dump,
 * and a fatal producer error failing sends at once. No broker is needed: creating a client
 * does not connect. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "vc/clock.h"
#include "vc/consumer.h"
#include "vc/error.h"
#include "vc/log.h"
#include "vc/mq.h"

static vc_kafka_conf_t pc; /* 32 KiB: not on the stack */
static vc_kafka_config_t cfg;

static const char *get(const vc_kafka_conf_t *c, const char *key)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->buf + c->at[i].key, key) == 0)
            return c->buf + c->at[i].value;
    return NULL;
}

static int parse(const char *text, char *err, size_t errlen)
{
    memset(&pc, 0, sizeof(pc));
    return vc_kafka_conf_parse(&pc, text, strlen(text), "test.properties", err, errlen);
}

static void test_parser(void)
{
    char err[256];
    ASSERT_OK(parse("# comment\n! also a comment\n\n   \n"
                    "  security.protocol  =  SASL_SSL  \r\n"
                    "sasl.password=a=b c\n"
                    "log_level=7\n"
                    "ssl.ca.location = /etc/ca.pem\n"
                    "sasl.username=first\n"
                    "sasl.username=second\n"
                    "empty.value=\n"
                    "last.line.without.newline=x",
                    err, sizeof(err)));
    ASSERT_EQ(pc.n, 7);
    ASSERT_STREQ(get(&pc, "security.protocol"), "SASL_SSL");
    ASSERT_STREQ(get(&pc, "sasl.password"), "a=b c"); /* split at the first '=' */
    ASSERT_STREQ(get(&pc, "log_level"), "7");         /* '_' reachable through the file */
    ASSERT_STREQ(get(&pc, "ssl.ca.location"), "/etc/ca.pem");
    ASSERT_STREQ(get(&pc, "sasl.username"), "second"); /* duplicate: last wins */
    ASSERT_STREQ(get(&pc, "empty.value"), "");
    ASSERT_STREQ(get(&pc, "last.line.without.newline"), "x");

    ASSERT_EQ(parse("a.b=1\nno equals sign s3cret\n", err, sizeof(err)), VC_EINVAL);
    ASSERT(strstr(err, "line 2") != NULL && strstr(err, "test.properties") != NULL);
    ASSERT(strstr(err, "s3cret") == NULL);
    ASSERT_EQ(parse(" = s3cret\n", err, sizeof(err)), VC_EINVAL);
    ASSERT(strstr(err, "empty key") != NULL && strstr(err, "s3cret") == NULL);
    ASSERT_EQ(parse("bad key=s3cret\n", err, sizeof(err)), VC_EINVAL);
    ASSERT(strstr(err, "s3cret") == NULL);

    /* Over-long line, over-long value, over-long key: refused, no value in the error. */
    static char big[9000];
    memset(big, 'x', sizeof(big) - 1);
    memcpy(big, "k=s3cret", 8);
    ASSERT_EQ(parse(big, err, sizeof(err)), VC_ETOOBIG);
    ASSERT(strstr(err, "line 1") != NULL && strstr(err, "s3cret") == NULL);
    big[5000] = '\0';
    ASSERT_EQ(parse(big, err, sizeof(err)), VC_ETOOBIG);
    ASSERT(strstr(err, "value longer") != NULL && strstr(err, "s3cret") == NULL);
    memset(big, 'k', 200);
    big[200] = '=';
    big[201] = '\0';
    ASSERT_EQ(parse(big, err, sizeof(err)), VC_ETOOBIG);
    ASSERT(strstr(err, "key longer") != NULL);
}

static void test_caps(void)
{
    char err[256], key[32];
    memset(&pc, 0, sizeof(pc));
    for (int i = 0; i < VC_KAFKA_CONF_MAX; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        ASSERT_OK(vc_kafka_conf_put(&pc, key, "v", 0, err, sizeof(err)));
    }
    ASSERT_OK(vc_kafka_conf_put(&pc, "k3", "replaced", 0, err, sizeof(err))); /* no new slot */
    ASSERT_EQ(vc_kafka_conf_put(&pc, "one.more", "s3cret", 0, err, sizeof(err)), VC_ETOOBIG);
    ASSERT(strstr(err, "one.more") != NULL && strstr(err, "s3cret") == NULL);
    /* The shared buffer: 9 values of 4000 bytes do not fit 32 KiB. */
    static char v[4000];
    memset(v, 'v', sizeof(v) - 1);
    memset(&pc, 0, sizeof(pc));
    int rc = 0;
    for (int i = 0; i < 9 && rc == 0; i++) {
        snprintf(key, sizeof(key), "big%d", i);
        rc = vc_kafka_conf_put(&pc, key, v, 0, err, sizeof(err));
    }
    ASSERT_EQ(rc, VC_ETOOBIG);
}

static void test_env_key(void)
{
    char key[128];
    ASSERT_OK(vc_kafka_conf_env_key("KAFKA_CONF_SECURITY_PROTOCOL", key, sizeof(key)));
    ASSERT_STREQ(key, "security.protocol");
    ASSERT_OK(vc_kafka_conf_env_key("KAFKA_CONF_SASL_PASSWORD", key, sizeof(key)));
    ASSERT_STREQ(key, "sasl.password");
    ASSERT_OK(vc_kafka_conf_env_key("KAFKA_CONF_SSL_CA_LOCATION", key, sizeof(key)));
    ASSERT_STREQ(key, "ssl.ca.location");
    ASSERT_EQ(vc_kafka_conf_env_key("KAFKA_CONF_", key, sizeof(key)), VC_EINVAL);
    ASSERT_EQ(vc_kafka_conf_env_key("KAFKA_CONFIG_FILE", key, sizeof(key)), VC_EINVAL);
    ASSERT_EQ(vc_kafka_conf_env_key("KAFKA_CONF_A-B", key, sizeof(key)), VC_EINVAL);
    ASSERT_EQ(vc_kafka_conf_env_key("KAFKA_CONF_ABCDEFGH", key, 4), VC_EINVAL);
}

/* Clears every KAFKA_CONF_* variable and the file, sets KAFKA_BROKERS. */
static void reset_env(void)
{
    extern char **environ;
    for (int again = 1; again;) {
        again = 0;
        for (char **e = environ; *e != NULL; e++) {
            if (strncmp(*e, "KAFKA_CONF_", 11) != 0)
                continue;
            char name[256];
            size_t n = strcspn(*e, "=");
            snprintf(name, sizeof(name), "%.*s", (int)n, *e);
            unsetenv(name);
            again = 1;
            break;
        }
    }
    unsetenv("KAFKA_CONFIG_FILE");
    unsetenv("KAFKA_DEBUG");
    setenv("KAFKA_BROKERS", "127.0.0.1:1", 1);
}

static const char *write_file(const char *text)
{
    static char path[] = "/tmp/vc-kconf-XXXXXX";
    memcpy(path + strlen(path) - 6, "XXXXXX", 6);
    int fd = mkstemp(path);
    ASSERT(fd >= 0);
    ASSERT_EQ(write(fd, text, strlen(text)), (long long)strlen(text));
    close(fd);
    return path;
}

/* The value librdkafka holds for key in a live producer. */
static void producer_value(const char *key, char *out, size_t cap)
{
    char err[256];
    vc_producer_t *p = NULL;
    ASSERT_OK(vc_producer_new(&cfg, "unit", &p, err, sizeof(err)));
    size_t n = cap;
    ASSERT_EQ(rd_kafka_conf_get(rd_kafka_conf(vc_producer_handle(p)), key, out, &n),
              RD_KAFKA_CONF_OK);
    vc_producer_free(p);
}

static void test_file_then_env(void)
{
    char err[256], v[64];
    reset_env();
    const char *path = write_file("socket.timeout.ms = 11111\nlinger.ms=7\n");
    setenv("KAFKA_CONFIG_FILE", path, 1);
    setenv("KAFKA_CONF_SOCKET_TIMEOUT_MS", "22222", 1);
    ASSERT_OK(vc_kafka_config_from_env(&cfg, err, sizeof(err)));
    producer_value("socket.timeout.ms", v, sizeof(v));
    ASSERT_STREQ(v, "22222"); /* the environment wins over the file */
    producer_value("linger.ms", v, sizeof(v));
    ASSERT_STREQ(v, "7"); /* the operator's tuning wins over vcguard's default (2) */
    /* The consumer takes them too. */
    vc_consumer_t *c = NULL;
    ASSERT_OK(vc_consumer_new(&cfg, "unit-group", "unit", NULL, "unit-topic", NULL, NULL, &c, err,
                              sizeof(err)));
    vc_consumer_close(c);
    unlink(path);
    setenv("KAFKA_CONFIG_FILE", "/nonexistent/vc.properties", 1);
    ASSERT_EQ(vc_kafka_config_from_env(&cfg, err, sizeof(err)), VC_EIO);
    ASSERT(strstr(err, "KAFKA_CONFIG_FILE") != NULL);
    reset_env();
    setenv("KAFKA_CONF_BAD-NAME", "s3cret", 1);
    ASSERT_EQ(vc_kafka_config_from_env(&cfg, err, sizeof(err)), VC_EINVAL);
    ASSERT(strstr(err, "KAFKA_CONF_BAD-NAME") != NULL && strstr(err, "s3cret") == NULL);
}

static void expect_refused(const char *var, const char *value, const char *key)
{
    char err[256];
    reset_env();
    setenv(var, value, 1);
    int rc = vc_kafka_config_from_env(&cfg, err, sizeof(err));
    if (rc != VC_EPERM || strstr(err, key) == NULL || strstr(err, value) != NULL)
        VC_TEST_FAIL("%s=%s: rc=%d err=%s", var, value, rc, err);
}

static void test_protected(void)
{
    expect_refused("KAFKA_CONF_ENABLE_IDEMPOTENCE", "false", "enable.idempotence");
    expect_refused("KAFKA_CONF_ACKS", "1", "acks");
    expect_refused("KAFKA_CONF_REQUEST_REQUIRED_ACKS", "0", "request.required.acks");
    expect_refused("KAFKA_CONF_ENABLE_AUTO_OFFSET_STORE", "true", "enable.auto.offset.store");
    expect_refused("KAFKA_CONF_ENABLE_AUTO_COMMIT", "false", "enable.auto.commit");
    expect_refused("KAFKA_CONF_GROUP_ID", "other-group", "group.id");
    expect_refused("KAFKA_CONF_BOOTSTRAP_SERVERS", "elsewhere:9092", "bootstrap.servers");
    expect_refused("KAFKA_CONF_PARTITION_ASSIGNMENT_STRATEGY", "cooperative-sticky",
                   "partition.assignment.strategy");
    /* Through the file as well. */
    char err[256];
    reset_env();
    const char *path = write_file("acks = 1\n");
    setenv("KAFKA_CONFIG_FILE", path, 1);
    ASSERT_EQ(vc_kafka_config_from_env(&cfg, err, sizeof(err)), VC_EPERM);
    ASSERT(strstr(err, "acks") != NULL);
    unlink(path);
    reset_env();
}

/* Creating a producer and a consumer with var=value fails, and neither error names secret. */
static void expect_redacted(const char *var, const char *value, const char *secret)
{
    char err[512];
    reset_env();
    setenv("KAFKA_CONF_SECURITY_PROTOCOL", "SASL_PLAINTEXT", 1);
    setenv(var, value, 1);
    ASSERT_OK(vc_kafka_config_from_env(&cfg, err, sizeof(err)));
    vc_producer_t *p = NULL;
    int rc = vc_producer_new(&cfg, "unit", &p, err, sizeof(err));
    fprintf(stderr, "%s: producer: %s\n", var, err);
    if (rc != VC_EINVAL || strstr(err, secret) != NULL || strstr(err, "redacted") == NULL)
        VC_TEST_FAIL("%s: rc=%d err=%s", var, rc, err);
    vc_consumer_t *c = NULL;
    rc = vc_consumer_new(&cfg, "g", "unit", NULL, "t", NULL, NULL, &c, err, sizeof(err));
    if (rc != VC_EINVAL || strstr(err, secret) != NULL)
        VC_TEST_FAIL("%s: consumer rc=%d err=%s", var, rc, err);
}

static void test_redaction(void)
{
    /* librdkafka accepts the property and refuses it in rd_kafka_new, echoing the value. */
    expect_redacted("KAFKA_CONF_SASL_MECHANISM", "NOT-A-MECHANISM-s3cret", "s3cret");
    expect_redacted("KAFKA_CONF_NO_SUCH_PROPERTY", "s3cret", "s3cret");
    /* An enum: librdkafka's rd_kafka_conf_set echoes the value. */
    expect_redacted("KAFKA_CONF_COMPRESSION_CODEC", "s3cret-codec", "s3cret");
    expect_redacted("KAFKA_CONF_SOCKET_TIMEOUT_MS", "s3cret", "s3cret");
    /* A short value librdkafka echoes: the reason is dropped rather than garbled. */
    expect_redacted("KAFKA_CONF_COMPRESSION_CODEC", "s3c", "s3c");
    reset_env();
}

/* Runs fn with stderr (our logs) captured; returns the capture (caller frees). */
static char *capture_stderr(void (*fn)(void))
{
    char path[] = "/tmp/vc-kconf-log-XXXXXX";
    int fd = mkstemp(path);
    ASSERT(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    ASSERT(dup2(fd, 2) == 2);
    fn();
    fflush(stderr);
    ASSERT(dup2(saved, 2) == 2);
    close(saved);
    off_t n = lseek(fd, 0, SEEK_END);
    char *text = calloc(1, (size_t)n + 1);
    ASSERT(pread(fd, text, (size_t)n, 0) == n);
    close(fd);
    unlink(path);
    return text;
}

static void make_debug_producer(void)
{
    char err[256];
    vc_producer_t *p = NULL;
    ASSERT_OK(vc_producer_new(&cfg, "unit", &p, err, sizeof(err)));
    vc_producer_free(p);
}

/* librdkafka's debug=conf dump lists every property set, and redacts those it marks
 * sensitive (sasl.password, sasl.username, ssl.key.password, ...): checked, not assumed. */
static void test_debug_conf_dump(void)
{
    char err[256];
    reset_env();
    setenv("KAFKA_DEBUG", "conf,security", 1);
    setenv("KAFKA_CONF_SECURITY_PROTOCOL", "SASL_PLAINTEXT", 1);
    setenv("KAFKA_CONF_SASL_MECHANISM", "PLAIN", 1);
    setenv("KAFKA_CONF_SASL_USERNAME", "unit-user", 1);
    setenv("KAFKA_CONF_SASL_PASSWORD", "s3cret-password", 1);
    ASSERT_OK(vc_kafka_config_from_env(&cfg, err, sizeof(err)));
    vc_log_init("unit", VC_LOG_DEBUG);
    char *log = capture_stderr(make_debug_producer);
    vc_log_init("unit", VC_LOG_INFO);
    ASSERT(strstr(log, "sasl.password") != NULL); /* the dump ran */
    if (strstr(log, "s3cret-password") != NULL)
        VC_TEST_FAIL("the secret reached the log:\n%s", log);
    free(log);
    reset_env();
}

static void test_fatal(void)
{
    char err[256], why[256];
    reset_env();
    ASSERT_OK(vc_kafka_config_from_env(&cfg, err, sizeof(err)));
    vc_producer_t *p = NULL;
    ASSERT_OK(vc_producer_new(&cfg, "unit", &p, err, sizeof(err)));
    ASSERT_EQ(vc_producer_fatal(p, why, sizeof(why)), 0);
    ASSERT_OK(vc_producer_health(p, why, sizeof(why)));
    ASSERT_EQ(rd_kafka_test_fatal_error(vc_producer_handle(p),
                                        RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                                        "unit test"),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    /* error_cb runs on the producer's poller thread (100 ms polls). */
    int64_t deadline = vc_clock_mono_ms() + 5000;
    while (!vc_producer_fatal(p, why, sizeof(why)) && vc_clock_mono_ms() < deadline) {
        struct timespec ts = {0, 10 * 1000000L}; /* a poll of the state, bounded */
        nanosleep(&ts, NULL);
    }
    ASSERT_EQ(vc_producer_fatal(p, why, sizeof(why)), 1);
    ASSERT(strstr(why, "OUT_OF_ORDER_SEQUENCE_NUMBER") != NULL);
    ASSERT_EQ(vc_producer_health(p, why, sizeof(why)), VC_ECLOSED);
    ASSERT(strstr(why, "fatal") != NULL);
    int64_t t0 = vc_clock_mono_ms();
    ASSERT_EQ(vc_producer_send(p, "t", "k", 1, "v", 1, NULL, 0, err, sizeof(err)), VC_ECLOSED);
    ASSERT(vc_clock_mono_ms() - t0 < 1000); /* fails fast, no delivery timeout */
    ASSERT(strstr(err, "OUT_OF_ORDER_SEQUENCE_NUMBER") != NULL);
    vc_producer_free(p);
}

int main(void)
{
    RUN(test_parser);
    RUN(test_caps);
    RUN(test_env_key);
    RUN(test_file_then_env);
    RUN(test_protected);
    RUN(test_redaction);
    RUN(test_debug_conf_dump);
    RUN(test_fatal);
    return 0;
}
