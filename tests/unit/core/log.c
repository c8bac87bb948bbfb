/* Unit tests for vc/log.h. stderr is redirected to a temporary file (O_APPEND) so the lines
 * can be read back. */
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "test.h"
#include "vc/error.h"
#include "vc/log.h"

#define NTHREADS 8
#define PER_THREAD 2000

static char path[] = "/tmp/vc_log_test_XXXXXX";
static int saved_stderr = -1;

/* Points fd 2 at a fresh empty temporary file. */
static void capture_begin(void)
{
    int fd = mkstemp(path);
    ASSERT(fd >= 0);
    ASSERT_OK(close(fd));
    fd = open(path, O_WRONLY | O_APPEND | O_TRUNC);
    ASSERT(fd >= 0);
    ASSERT(dup2(fd, STDERR_FILENO) == STDERR_FILENO);
    ASSERT_OK(close(fd));
}

/* Restores stderr and returns the captured text (caller frees). */
static char *capture_end(void)
{
    ASSERT(dup2(saved_stderr, STDERR_FILENO) == STDERR_FILENO);
    FILE *f = fopen(path, "rb");
    ASSERT(f != NULL);
    ASSERT_OK(fseek(f, 0, SEEK_END));
    long len = ftell(f);
    ASSERT(len >= 0);
    rewind(f);
    char *buf = malloc((size_t)len + 1);
    ASSERT(buf != NULL);
    ASSERT_EQ(fread(buf, 1, (size_t)len, f), len);
    buf[len] = '\0';
    fclose(f);
    unlink(path);
    memcpy(path + strlen(path) - 6, "XXXXXX", 6); /* template for the next mkstemp */
    return buf;
}

/* Checks "ts=YYYY-MM-DDTHH:MM:SS.mmmZ " at line and returns what follows. */
static const char *skip_ts(const char *line)
{
    ASSERT(strncmp(line, "ts=", 3) == 0);
    const char *ts = line + 3;
    ASSERT(ts[4] == '-' && ts[7] == '-' && ts[10] == 'T' && ts[13] == ':' && ts[16] == ':' &&
           ts[19] == '.' && ts[23] == 'Z' && ts[24] == ' ');
    return ts + 25;
}

static void test_default_and_levels(void)
{
    capture_begin();
    ASSERT(!vc_log_enabled(VC_LOG_DEBUG));
    ASSERT(vc_log_enabled(VC_LOG_INFO));
    VC_DEBUG("hidden", "x=1");
    VC_INFO("http.listen", "port=%d", 8080);
    VC_WARN("empty", "");
    VC_ERROR("bare");
    vc_log(VC_LOG_INFO, "direct", "  k=v");
    char *out = capture_end();
    const char *p = out;
    ASSERT(strncmp(skip_ts(p), "level=info svc=vc event=http.listen port=8080\n", 46) == 0);
    p = strchr(p, '\n') + 1;
    ASSERT(strncmp(skip_ts(p), "level=warn svc=vc event=empty\n", 30) == 0);
    p = strchr(p, '\n') + 1;
    ASSERT(strncmp(skip_ts(p), "level=error svc=vc event=bare\n", 30) == 0);
    p = strchr(p, '\n') + 1;
    ASSERT_STREQ(skip_ts(p), "level=info svc=vc event=direct k=v\n");
    ASSERT(strstr(out, "hidden") == NULL);
    free(out);
}

static void test_init_and_sanitising(void)
{
    capture_begin();
    vc_log_init("gate way", VC_LOG_DEBUG);
    ASSERT(vc_log_enabled(VC_LOG_DEBUG));
    VC_DEBUG("a", "msg=\"two\nlines\"");
    vc_log_init("gateway", VC_LOG_WARN);
    VC_INFO("b", "x=1");
    VC_WARN("c", "x=%s", "y");
    char *out = capture_end();
    const char *p = out;
    ASSERT(strncmp(skip_ts(p), "level=debug svc=gate_way event=a msg=\"two lines\"\n", 49) == 0);
    p = strchr(p, '\n') + 1;
    ASSERT_STREQ(skip_ts(p), "level=warn svc=gateway event=c x=y\n");
    free(out);
    vc_log_init("vc", VC_LOG_INFO);
}

static void test_truncation(void)
{
    char *big = malloc(10000);
    ASSERT(big != NULL);
    memset(big, 'x', 9999);
    big[9999] = '\0';
    capture_begin();
    VC_INFO("big", "v=%s", big);
    char *out = capture_end();
    size_t len = strlen(out);
    ASSERT(len <= 4096);
    ASSERT_EQ(strchr(out, '\n') - out, (long)len - 1);
    const char *mark = " log_truncated=true\n";
    ASSERT_STREQ(out + len - strlen(mark), mark);
    free(out);
    free(big);
}

static void test_level_parse(void)
{
    vc_log_level_t l = VC_LOG_ERROR;
    ASSERT_OK(vc_log_level_parse("debug", &l));
    ASSERT_EQ(l, VC_LOG_DEBUG);
    ASSERT_OK(vc_log_level_parse("INFO", &l));
    ASSERT_EQ(l, VC_LOG_INFO);
    ASSERT_OK(vc_log_level_parse("Warning", &l));
    ASSERT_EQ(l, VC_LOG_WARN);
    ASSERT_OK(vc_log_level_parse("warn", &l));
    ASSERT_EQ(l, VC_LOG_WARN);
    ASSERT_OK(vc_log_level_parse("error", &l));
    ASSERT_EQ(l, VC_LOG_ERROR);
    ASSERT_EQ(vc_log_level_parse("verbose", &l), VC_EINVAL);
    ASSERT_EQ(vc_log_level_parse("", &l), VC_EINVAL);
    ASSERT_EQ(vc_log_level_parse(NULL, &l), VC_EINVAL);
}

static void *log_many(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < PER_THREAD; i++)
        VC_INFO("stress", "thread=%ld i=%d pad=%s", id, i, "0123456789012345678901234567890123");
    return NULL;
}

/* Lines from concurrent threads must never interleave: every line is complete. */
static void test_concurrent_lines(void)
{
    pthread_t t[NTHREADS];
    int counts[NTHREADS] = {0};
    capture_begin();
    for (long i = 0; i < NTHREADS; i++)
        ASSERT_OK(pthread_create(&t[i], NULL, log_many, (void *)i));
    for (int i = 0; i < NTHREADS; i++)
        ASSERT_OK(pthread_join(t[i], NULL));
    char *out = capture_end();
    int lines = 0;
    for (char *line = out; *line != '\0'; lines++) {
        char *nl = strchr(line, '\n');
        ASSERT(nl != NULL);
        *nl = '\0';
        long id = -1;
        int i = -1;
        const char *rest = skip_ts(line);
        ASSERT_EQ(sscanf(rest, "level=info svc=vc event=stress thread=%ld i=%d", &id, &i), 2);
        ASSERT(id >= 0 && id < NTHREADS);
        ASSERT_EQ(i, counts[id]); /* each thread's lines in order, none lost */
        counts[id]++;
        ASSERT(strcmp(nl - 39, " pad=0123456789012345678901234567890123") == 0);
        line = nl + 1;
    }
    ASSERT_EQ(lines, NTHREADS * PER_THREAD);
    free(out);
}

int main(void)
{
    saved_stderr = dup(STDERR_FILENO);
    ASSERT(saved_stderr >= 0);
    RUN(test_default_and_levels);
    RUN(test_init_and_sanitising);
    RUN(test_truncation);
    RUN(test_level_parse);
    RUN(test_concurrent_lines);
    return 0;
}
