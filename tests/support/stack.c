#include "stack.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "vc/topics.h"
#include "vc/apikeys.h"
#include "vc/base64.h"
#include "vc/pg.h"

_Thread_local const char *vc_test_api_key;
_Thread_local const char *vc_test_extra_header;
_Thread_local const char *vc_test_ca_file;
_Thread_local char vc_test_last_headers[4096];

extern char **environ;

const char *vc_test_tmpdir(void)
{
    static char dir[256];
    if (dir[0] == '\0') {
        snprintf(dir, sizeof(dir), "/tmp/vc-test-XXXXXX");
        if (mkdtemp(dir) == NULL)
            VC_TEST_FAIL("mkdtemp: %s", strerror(errno));
    }
    return dir;
}

int vc_test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    socklen_t alen = sizeof(a);
    ASSERT(getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* Builds environ + extra into a new NULL-terminated array (extra entries win). */
static char **merge_env(const char *const *extra)
{
    size_t n = 0, m = 0;
    while (environ[n] != NULL)
        n++;
    while (extra != NULL && extra[m] != NULL)
        m++;
    char **out = calloc(n + m + 1, sizeof(char *));
    ASSERT(out != NULL);
    size_t k = 0;
    for (size_t i = 0; i < m; i++)
        out[k++] = (char *)extra[i];
    for (size_t i = 0; i < n; i++) {
        size_t klen = strcspn(environ[i], "=");
        int overridden = 0;
        for (size_t j = 0; j < m && !overridden; j++)
            overridden = strncmp(extra[j], environ[i], klen + 1) == 0;
        if (!overridden)
            out[k++] = environ[i];
    }
    return out;
}

void vc_test_spawn(vc_proc_t *p, const char *name, const char *bin, const char *const *env)
{
    const char *bindir = getenv("VC_BIN_DIR");
    ASSERT(bindir != NULL);
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", bindir, bin);
    char *argv[] = {path, NULL};
    vc_test_spawn_argv(p, name, path, argv, env);
}

void vc_test_spawn_argv(vc_proc_t *p, const char *name, const char *path, char *const *argv,
                        const char *const *env)
{
    snprintf(p->name, sizeof(p->name), "%s", name);
    snprintf(p->log_path, sizeof(p->log_path), "%s/%s.log", vc_test_tmpdir(), name);
    int logfd = open(p->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    ASSERT(logfd >= 0);
    char **envp = merge_env(env);
    pid_t parent = getpid();
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        /* A test that aborts or times out must not leave services behind: the child dies
         * with its parent. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(logfd, 1);
        dup2(logfd, 2);
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        environ = envp;
        execvp(path, argv);
        _exit(127);
    }
    close(logfd);
    free(envp);
    p->pid = pid;
    fprintf(stderr, "started %s pid=%d log=%s\n", name, (int)p->pid, p->log_path);
}

int vc_test_stop(vc_proc_t *p, int timeout_s)
{
    if (p->pid <= 0)
        return -1;
    kill(p->pid, SIGTERM);
    int status = 0;
    for (int i = 0; i < timeout_s * 20; i++) {
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid) {
            p->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        struct timespec ts = {0, 50000000L}; /* polling a child's exit; no event to wait on */
        nanosleep(&ts, NULL);
    }
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &status, 0);
    p->pid = 0;
    return -1;
}

void vc_test_print_log(const vc_proc_t *p, int lines)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "tail -n %d '%s' 1>&2", lines, p->log_path);
    fprintf(stderr, "---- %s log (last %d lines) ----\n", p->name, lines);
    if (system(cmd) != 0)
        fprintf(stderr, "(no log)\n");
}

typedef struct {
    char *buf;
    size_t len;
} sink_t;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    sink_t *s = ud;
    size_t n = size * nmemb;
    char *nb = realloc(s->buf, s->len + n + 1);
    if (nb == NULL)
        return 0;
    memcpy(nb + s->len, ptr, n);
    s->buf = nb;
    s->len += n;
    s->buf[s->len] = '\0';
    return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    (void)ud;
    size_t n = size * nmemb, used = strlen(vc_test_last_headers);
    if (used + n < sizeof(vc_test_last_headers)) {
        memcpy(vc_test_last_headers + used, ptr, n);
        vc_test_last_headers[used + n] = '\0';
    }
    return n;
}

long vc_test_http(const char *method, const char *url, const char *content_type,
                  const void *body, size_t len, char **resp)
{
    vc_test_last_headers[0] = '\0';
    CURL *c = curl_easy_init();
    ASSERT(c != NULL);
    sink_t s = {NULL, 0};
    struct curl_slist *h = NULL;
    char ct[128];
    if (content_type != NULL) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
        h = curl_slist_append(h, ct);
    }
    char auth[160];
    if (vc_test_api_key != NULL) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", vc_test_api_key);
        h = curl_slist_append(h, auth);
    }
    if (vc_test_extra_header != NULL)
        h = curl_slist_append(h, vc_test_extra_header);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (vc_test_ca_file != NULL)
        curl_easy_setopt(c, CURLOPT_CAINFO, vc_test_ca_file);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    /* A large body goes out with Expect: 100-continue (libcurl's default); wait for the
     * server's word as long as it may take under load, as a careful client does: a request
     * refused before its body is read gets its answer without sending the body, instead of
     * racing the gateway's close (which resets a connection still receiving a body). */
    curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, 20000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    long status = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (resp != NULL)
        *resp = s.buf != NULL ? s.buf : strdup("");
    else
        free(s.buf);
    return status;
}

int vc_test_wait_http_ok(const char *url, int timeout_s)
{
    /* Anonymous, as a load balancer's probe (readiness is all it asks). */
    const char *saved = vc_test_api_key;
    vc_test_api_key = NULL;
    int ok = 0;
    for (int i = 0; i < timeout_s * 10 && !ok; i++) {
        ok = vc_test_http("GET", url, NULL, NULL, 0, NULL) == 200;
        struct timespec ts = {0, 100000000L}; /* readiness poll of another process */
        if (!ok)
            nanosleep(&ts, NULL);
    }
    vc_test_api_key = saved;
    return ok;
}

long vc_test_http_ops(const char *url, char **resp)
{
    const char *saved = vc_test_api_key;
    vc_test_api_key = VC_TEST_METRICS_TOKEN; /* sent as Authorization: Bearer */
    long st = vc_test_http("GET", url, NULL, NULL, 0, resp);
    vc_test_api_key = saved;
    return st;
}

static long inflight_now(const char *health_url)
{
    char *resp = NULL;
    long n = -1;
    if (vc_test_http_ops(health_url, &resp) == 200) {
        const char *f = strstr(resp, "\"inflight_requests\":");
        if (f != NULL)
            n = strtol(f + strlen("\"inflight_requests\":"), NULL, 10);
    }
    free(resp);
    return n;
}

long vc_test_wait_inflight(const char *base, long want, int timeout_s)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/health", base);
    long now = inflight_now(url);
    for (int i = 0; i < timeout_s * 50 && now != want; i++) {
        struct timespec ts = {0, 20000000L}; /* polling another process's state */
        nanosleep(&ts, NULL);
        now = inflight_now(url);
    }
    return now;
}

static void put_le(unsigned char *p, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

unsigned char *vc_test_wav_sine(double freq, double amp, double seconds, int rate, size_t *len)
{
    uint32_t frames = (uint32_t)(seconds * rate);
    size_t total = 44 + (size_t)frames * 2;
    unsigned char *b = malloc(total);
    ASSERT(b != NULL);
    memcpy(b, "RIFF", 4);
    put_le(b + 4, (uint32_t)(total - 8), 4);
    memcpy(b + 8, "WAVEfmt ", 8);
    put_le(b + 16, 16, 4);
    put_le(b + 20, 1, 2); /* PCM */
    put_le(b + 22, 1, 2); /* mono */
    put_le(b + 24, (uint32_t)rate, 4);
    put_le(b + 28, (uint32_t)rate * 2, 4);
    put_le(b + 32, 2, 2);
    put_le(b + 34, 16, 2);
    memcpy(b + 36, "data", 4);
    put_le(b + 40, frames * 2, 4);
    for (uint32_t i = 0; i < frames; i++) {
        double x = amp * sin(2.0 * M_PI * freq * i / rate);
        put_le(b + 44 + 2 * i, (uint32_t)(uint16_t)(int16_t)lrint(x * 32767.0), 2);
    }
    *len = total;
    return b;
}

int vc_test_devbroker(const char *command)
{
    const char *path = getenv("VC_TEST_KAFKA_CONTROL");
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (path == NULL || strlen(path) >= sizeof(a.sun_path))
        return -1;
    memcpy(a.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    char line[256], reply[128] = "";
    int n = snprintf(line, sizeof(line), "%s\n", command);
    int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
             write(fd, line, (size_t)n) == n && read(fd, reply, sizeof(reply) - 1) > 0;
    close(fd);
    fprintf(stderr, "devbroker: %s -> %s", command, reply);
    return ok && strncmp(reply, "ok", 2) == 0 ? 0 : -1;
}

void vc_test_create_topics(const char *kafka, const char *prefix, int partitions)
{
    static const char *const kinds[3] = {"requests", "results", "dlq"};
    const char *dev = getenv("VC_TEST_DEVBROKER_BROKERS");
    if (dev != NULL && strcmp(dev, kafka) == 0) {
        for (int k = 0; k < 3; k++) {
            char cmd[256];
            snprintf(cmd, sizeof(cmd), "topic create %s%s %d", prefix, kinds[k], partitions);
            ASSERT(vc_test_devbroker(cmd) == 0);
        }
        return;
    }
    vc_kafka_config_t cfg = {.message_max_bytes = 17825792};
    char *names[3] = {cfg.topic_requests, cfg.topic_results, cfg.topic_dlq};
    ASSERT(strlen(kafka) < sizeof(cfg.brokers));
    snprintf(cfg.brokers, sizeof(cfg.brokers), "%s", kafka);
    for (int k = 0; k < 3; k++)
        ASSERT(snprintf(names[k], sizeof(cfg.topic_requests), "%s%s", prefix, kinds[k]) <
               (int)sizeof(cfg.topic_requests));
    vc_topic_spec_t spec = {.partitions = partitions, .replication_factor = 1,
                            .min_insync_replicas = 1, .retention_ms = 3600000,
                            .dlq_retention_ms = 3600000,
                            .max_message_bytes = cfg.message_max_bytes, .timeout_ms = 30000};
    char err[512] = "";
    FILE *devnull = fopen("/dev/null", "w");
    ASSERT(devnull != NULL);
    int rc = vc_topics_ensure(&cfg, &spec, 1, devnull, err, sizeof(err));
    fclose(devnull);
    if (rc != 0)
        VC_TEST_FAIL("creating topics %s*: %s", prefix, err);
}

char *vc_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        VC_TEST_FAIL("open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ASSERT(buf != NULL);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    fclose(f);
    if (len != NULL)
        *len = got;
    return buf;
}

int vc_test_contains(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; k > 0 && i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return 1;
    return 0;
}

long vc_test_submit_tone(const char *base, char **resp)
{
    size_t wav_len = 0, n = 0;
    unsigned char *wav = vc_test_wav_sine(500, 0.5, 0.2, 16000, &wav_len);
    char *b64 = malloc(vc_base64_encoded_len(wav_len) + 1);
    ASSERT(b64 != NULL);
    ASSERT(vc_base64_encode(wav, wav_len, b64, vc_base64_encoded_len(wav_len) + 1, &n) == 0);
    char *body = malloc(n + 64);
    ASSERT(body != NULL);
    snprintf(body, n + 64, "{\"detection_type\":\"audio\",\"audio_data\":\"%s\"}", b64);
    char url[128];
    snprintf(url, sizeof(url), "%s/v1/detections", base);
    long st = vc_test_http("POST", url, "application/json", body, strlen(body), resp);
    free(body);
    free(b64);
    free(wav);
    return st;
}

const char *vc_test_devbroker_brokers(void)
{
    vc_test_env_or_skip("VC_TEST_KAFKA_CONTROL");
    return vc_test_env_or_skip("VC_TEST_DEVBROKER_BROKERS");
}

void vc_test_create_key(const char *pg, const char *tenant, long rate_limit, char *out,
                        long long *id)
{
    PGconn *c = PQconnectdb(pg);
    ASSERT(PQstatus(c) == CONNECTION_OK);
    char err[256] = "";
    if (vc_pg_migrate(c, err, sizeof(err)) != 0)
        VC_TEST_FAIL("migrate: %s", err);
    vc_apikey_t key;
    if (vc_apikeys_create(c, tenant, "test", rate_limit, &key, out, 64, err, sizeof(err)) != 0)
        VC_TEST_FAIL("create key: %s", err);
    if (id != NULL)
        *id = (long long)key.id;
    PQfinish(c);
}

void vc_test_revoke_key(const char *pg, long long id)
{
    PGconn *c = PQconnectdb(pg);
    ASSERT(PQstatus(c) == CONNECTION_OK);
    char ref[24], err[256] = "";
    snprintf(ref, sizeof(ref), "%lld", id);
    vc_apikey_t key;
    if (vc_apikeys_revoke(c, ref, &key, err, sizeof(err)) != 0)
        VC_TEST_FAIL("revoke key: %s", err);
    PQfinish(c);
}

void vc_test_start_gateway(vc_proc_t *p, char *base, size_t cap, const char *redis,
                           const char *pg, const char *kafka, const char *const *extra)
{
    int port = vc_test_free_port();
    int tls = 0;
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
        tls |= strncmp(extra[i], "HTTP_TLS_CERT=", 14) == 0 && extra[i][14] != '\0';
    snprintf(base, cap, "%s://127.0.0.1:%d", tls ? "https" : "http", port);
    char e[4][600];
    snprintf(e[0], sizeof(e[0]), "HTTP_PORT=%d", port);
    snprintf(e[1], sizeof(e[1]), "REDIS_URL=%s", redis);
    snprintf(e[2], sizeof(e[2]), "DATABASE_URL=%s", pg);
    snprintf(e[3], sizeof(e[3]), "KAFKA_BROKERS=%s", kafka);
    const char *env[40] = {e[0], e[1], e[2], e[3]};
    size_t k = 4;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && k + 2 < 40; i++)
        env[k++] = extra[i];
    env[k++] = "METRICS_TOKEN=" VC_TEST_METRICS_TOKEN; /* after extra: the first one wins */
    env[k] = NULL;
    vc_test_spawn(p, "gateway", "vc-gateway", env);
    char health[128];
    snprintf(health, sizeof(health), "%s/health", base);
    if (!vc_test_wait_http_ok(health, 60)) {
        vc_test_print_log(p, 40);
        VC_TEST_FAIL("gateway never became healthy");
    }
}

/* Fills pids with the children of `parent` (from /proc/<pid>/stat); returns how many. */
int vc_test_children(pid_t parent, pid_t *pids, int cap)
{
    DIR *dir = opendir("/proc");
    ASSERT(dir != NULL);
    int n = 0;
    for (struct dirent *de = readdir(dir); n < cap && de != NULL; de = readdir(dir)) {
        char path[300], buf[512];
        long pid = strtol(de->d_name, NULL, 10);
        if (pid <= 0)
            continue;
        snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t got = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[got] = '\0';
        const char *rp = strrchr(buf, ')');
        char state = 0;
        long ppid = 0;
        if (rp != NULL && sscanf(rp + 1, " %c %ld", &state, &ppid) == 2 && ppid == parent &&
            state != 'Z')
            pids[n++] = (pid_t)pid;
    }
    closedir(dir);
    return n;
}
