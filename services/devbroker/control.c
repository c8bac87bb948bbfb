#include "control.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "vc/log.h"

int control_listen(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(a.sun_path))
        return -1;
    memcpy(a.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    unlink(path);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 8) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Parses a non-negative decimal; -1 when invalid. */
static long number(const char *s)
{
    char *end = NULL;
    errno = 0;
    long v = s != NULL ? strtol(s, &end, 10) : -1;
    return (s == NULL || errno != 0 || end == s || *end != '\0' || v < 0) ? -1 : v;
}

/* Applies fn to broker `which` ("all" or an id); returns 0 or -1 for an unknown id. */
static int each_broker(const char *which, int brokers, rd_kafka_mock_cluster_t *mc,
                       rd_kafka_resp_err_t (*fn)(rd_kafka_mock_cluster_t *, int32_t))
{
    long id = which != NULL && strcmp(which, "all") == 0 ? 0 : number(which);
    if (id < 0 || id > brokers)
        return -1;
    for (int b = 1; b <= brokers; b++)
        if (id == 0 || id == b)
            fn(mc, b);
    return 0;
}

static int set_rtt(const char *which, const char *ms, int brokers, rd_kafka_mock_cluster_t *mc)
{
    long id = which != NULL && strcmp(which, "all") == 0 ? 0 : number(which);
    long rtt = number(ms);
    if (id < 0 || id > brokers || rtt < 0 || rtt > 600000)
        return -1;
    for (int b = 1; b <= brokers; b++)
        if (id == 0 || id == b)
            rd_kafka_mock_broker_set_rtt(mc, b, (int)rtt);
    return 0;
}

static int push_errors(const char *apikey, const char *code, const char *count,
                       rd_kafka_mock_cluster_t *mc)
{
    if (apikey != NULL && strcmp(apikey, "clear") == 0) {
        long k = number(code);
        if (k < 0 || k > INT16_MAX || count != NULL)
            return -1;
        rd_kafka_mock_clear_request_errors(mc, (int16_t)k);
        return 0;
    }
    long k = number(apikey), c = number(count);
    char *end = NULL;
    long e = code != NULL ? strtol(code, &end, 10) : 0;
    if (k < 0 || k > INT16_MAX || c <= 0 || c > 10000 || code == NULL || *end != '\0')
        return -1;
    rd_kafka_resp_err_t *errs = calloc((size_t)c, sizeof(*errs));
    if (errs == NULL)
        return -1;
    for (long i = 0; i < c; i++)
        errs[i] = (rd_kafka_resp_err_t)e;
    rd_kafka_mock_push_request_errors_array(mc, (int16_t)k, (size_t)c, errs);
    free(errs);
    return 0;
}

/* Creates topic `name` with `parts` partitions (replication as the default topics). */
static int create_topic(const char *name, const char *parts, int brokers,
                        rd_kafka_mock_cluster_t *mc)
{
    long n = number(parts);
    if (name == NULL || *name == '\0' || strlen(name) > 200 || n < 1 || n > 256)
        return -1;
    int rf = brokers < 3 ? brokers : 3;
    return rd_kafka_mock_topic_create(mc, name, (int)n, rf) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

/* Applies one command; writes the answer into out. */
static void apply(char *line, rd_kafka_mock_cluster_t *mc, int brokers, char *out, size_t cap)
{
    char *w[5] = {0};
    char *p = line;
    for (int i = 0; i < 5; i++) {
        p += strspn(p, " \t\r\n");
        if (*p == '\0')
            break;
        w[i] = p;
        p += strcspn(p, " \t\r\n");
        if (*p != '\0')
            *p++ = '\0';
    }
    int rc = -1;
    if (w[0] == NULL) {
        rc = -1;
    } else if (strcmp(w[0], "status") == 0) {
        snprintf(out, cap, "ok brokers=%d\n", brokers);
        return;
    } else if (strcmp(w[0], "broker") == 0 && w[1] != NULL && strcmp(w[1], "down") == 0) {
        rc = each_broker(w[2], brokers, mc, rd_kafka_mock_broker_set_down);
    } else if (strcmp(w[0], "broker") == 0 && w[1] != NULL && strcmp(w[1], "up") == 0) {
        rc = each_broker(w[2], brokers, mc, rd_kafka_mock_broker_set_up);
    } else if (strcmp(w[0], "topic") == 0 && w[1] != NULL && strcmp(w[1], "create") == 0) {
        rc = create_topic(w[2], w[3], brokers, mc);
    } else if (strcmp(w[0], "rtt") == 0) {
        rc = set_rtt(w[1], w[2], brokers, mc);
    } else if (strcmp(w[0], "error") == 0) {
        rc = push_errors(w[1], w[2], w[3], mc);
    }
    snprintf(out, cap, rc == 0 ? "ok\n" : "error: unknown or malformed command\n");
}

void control_serve(int listen_fd, rd_kafka_mock_cluster_t *mc, int brokers)
{
    int fd = accept(listen_fd, NULL, NULL);
    if (fd < 0)
        return;
    struct timeval tv = {.tv_sec = 2, .tv_usec = 0}; /* a stuck client cannot hang the broker */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char line[256];
    size_t n = 0;
    while (n < sizeof(line) - 1) {
        ssize_t r = read(fd, line + n, sizeof(line) - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        if (memchr(line, '\n', n) != NULL)
            break;
    }
    line[n] = '\0';
    char shown[sizeof(line)], out[128];
    memcpy(shown, line, n + 1);
    apply(line, mc, brokers, out, sizeof(out));
    VC_INFO("devbroker.control", "command=\"%.*s\" answer=\"%.*s\"",
            (int)strcspn(shown, "\r\n"), shown, (int)strcspn(out, "\n"), out);
    if (write(fd, out, strlen(out)) < 0)
        VC_WARN("devbroker.control", "error=\"%s\"", strerror(errno));
    close(fd);
}

int control_send(const char *path, const char *command, char *out, size_t cap)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    char line[256];
    out[0] = '\0';
    int n = snprintf(line, sizeof(line), "%s\n", command);
    if (strlen(path) >= sizeof(a.sun_path) || n < 0 || (size_t)n >= sizeof(line)) {
        snprintf(out, cap, "error: socket path or command too long\n");
        return -1;
    }
    memcpy(a.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        write(fd, line, (size_t)n) != n) {
        snprintf(out, cap, "error: %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    struct timeval tv = {.tv_sec = 5, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    size_t got = 0;
    while (got + 1 < cap) { /* the broker answers one line, then closes */
        ssize_t r = read(fd, out + got, cap - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    out[got] = '\0';
    close(fd);
    if (got == 0) {
        snprintf(out, cap, "error: no answer from %s\n", path);
        return -1;
    }
    return strncmp(out, "ok", 2) == 0 ? 0 : 1;
}
