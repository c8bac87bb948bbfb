/* vc-devbroker: an embedded Kafka cluster for development and tests.
 *
 * It hosts librdkafka's mock cluster (rdkafka_mock.h), which speaks the real Kafka protocol
 * on loopback ports, creates the vcguard topics, writes the bootstrap list to a file once the
 * topics exist (atomically, so "file exists" means "ready"), and runs until SIGTERM/SIGINT.
 * Production never uses it: services only ever see a bootstrap list. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "control.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "vc/error.h"
#include "vc/log.h"

#define MAX_TOPICS 16

static const char *const default_topics[] = {"vc.detections.requests", "vc.detections.results",
                                             "vc.detections.dlq"};

typedef struct {
    int brokers;
    int partitions;
    const char *bootstrap_file;
    const char *control_path;
    const char *send;      /* client mode: send this command to --control and exit */
    const char *topics[MAX_TOPICS];
    int ntopics;
} opts_t;

static void usage(FILE *f)
{
    fprintf(f, "usage: vc-devbroker [--brokers N] [--partitions N] [--bootstrap-file PATH]\n"
               "                    [--control SOCKET] [--topic NAME]...\n"
               "       vc-devbroker --control SOCKET --send COMMAND\n"
               "  Runs an in-memory Kafka cluster (librdkafka mock) on 127.0.0.1 for development\n"
               "  and tests. Defaults: 3 brokers, 6 partitions, topics vc.detections.{requests,\n"
               "  results,dlq}. Prints the bootstrap list; exits 0 on SIGTERM/SIGINT.\n"
               "  --control: a Unix socket taking fault commands (services/devbroker/control.h):\n"
               "  'broker down 1|all', 'broker up 1|all', 'rtt 1|all MS', 'error APIKEY ERR N',\n"
               "  'error clear APIKEY', 'topic create NAME P', 'status'.\n"
               "  --send: client mode for scripts; sends COMMAND to a running broker's control\n"
               "  socket, prints the answer; exit 0 on \"ok\", 1 on an error answer, 3 when the\n"
               "  socket cannot be reached.\n");
}

/* Parses a decimal int in [min, max]; returns 0 or VC_EINVAL. */
static int parse_int(const char *s, int min, int max, int *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return VC_EINVAL;
    *out = (int)v;
    return 0;
}

static int parse_opts(int argc, char **argv, opts_t *o)
{
    o->brokers = 3;
    o->partitions = 6;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (v == NULL)
            return VC_EINVAL;
        if (strcmp(a, "--brokers") == 0) {
            if (parse_int(v, 1, 16, &o->brokers) != 0)
                return VC_EINVAL;
        } else if (strcmp(a, "--partitions") == 0) {
            if (parse_int(v, 1, 256, &o->partitions) != 0)
                return VC_EINVAL;
        } else if (strcmp(a, "--bootstrap-file") == 0) {
            o->bootstrap_file = v;
        } else if (strcmp(a, "--control") == 0) {
            o->control_path = v;
        } else if (strcmp(a, "--send") == 0) {
            o->send = v;
        } else if (strcmp(a, "--topic") == 0) {
            if (o->ntopics >= MAX_TOPICS)
                return VC_EINVAL;
            o->topics[o->ntopics++] = v;
        } else {
            return VC_EINVAL;
        }
        i++;
    }
    if (o->send != NULL && o->control_path == NULL)
        return VC_EINVAL;
    if (o->ntopics == 0) {
        for (size_t i = 0; i < sizeof(default_topics) / sizeof(default_topics[0]); i++)
            o->topics[o->ntopics++] = default_topics[i];
    }
    return 0;
}

/* Writes the bootstrap list to path via a temporary file and rename(2), so readers never see
 * a partial list. Returns 0 or VC_EIO. */
static int write_bootstrap(const char *path, const char *bootstraps)
{
    char tmp[4096];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return VC_EINVAL;
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return VC_EIO;
    int ok = fprintf(f, "%s\n", bootstraps) > 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return VC_EIO;
    }
    return 0;
}

/* Creates the handle that owns the mock cluster. The handle itself is never used to produce;
 * librdkafka needs one for the cluster's internal bookkeeping. */
static rd_kafka_t *new_owner_handle(void)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "client.id", "vc-devbroker", errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        VC_ERROR("devbroker.handle", "error=\"%s\"", errstr);
        rd_kafka_conf_destroy(conf); /* rd_kafka_new only takes conf on success */
    }
    return rk;
}

static int create_topics(rd_kafka_mock_cluster_t *mc, const opts_t *o)
{
    int rf = o->brokers < 3 ? o->brokers : 3;
    for (int i = 0; i < o->ntopics; i++) {
        rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, o->topics[i], o->partitions, rf);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            VC_ERROR("devbroker.topic", "topic=%s error=\"%s\"", o->topics[i], rd_kafka_err2str(e));
            return VC_EIO;
        }
        VC_INFO("devbroker.topic", "topic=%s partitions=%d replication=%d", o->topics[i],
                o->partitions, rf);
    }
    return 0;
}

/* Waits for SIGTERM/SIGINT, serving control commands meanwhile. Returns the exit status. */
static int serve_until_signal(const sigset_t *stop, rd_kafka_mock_cluster_t *mc, const opts_t *o)
{
    int sfd = signalfd(-1, stop, SFD_CLOEXEC);
    int cfd = o->control_path != NULL ? control_listen(o->control_path) : -1;
    if (sfd < 0 || (o->control_path != NULL && cfd < 0)) {
        VC_ERROR("devbroker.control", "error=\"cannot listen on %s\"",
                 o->control_path ? o->control_path : "signalfd");
        if (sfd >= 0)
            close(sfd);
        return 1;
    }
    for (;;) {
        struct pollfd pfd[2] = {{.fd = sfd, .events = POLLIN}, {.fd = cfd, .events = POLLIN}};
        if (poll(pfd, cfd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
            break;
        if (pfd[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                VC_INFO("devbroker.stop", "signal=%u", si.ssi_signo);
                break;
            }
        }
        if (cfd >= 0 && (pfd[1].revents & POLLIN))
            control_serve(cfd, mc, o->brokers);
    }
    close(sfd);
    if (cfd >= 0) {
        close(cfd);
        unlink(o->control_path);
    }
    return 0;
}

int main(int argc, char **argv)
{
    opts_t o = {0};
    vc_log_init("devbroker", VC_LOG_INFO);
    if (parse_opts(argc, argv, &o) != 0) {
        usage(stderr);
        return 2;
    }
    if (o.send != NULL) {
        char answer[256];
        int src = control_send(o.control_path, o.send, answer, sizeof(answer));
        fputs(answer, src == 0 ? stdout : stderr);
        return src == 0 ? 0 : src > 0 ? 1 : 3;
    }

    /* Block the stop signals before librdkafka starts threads so only sigwait sees them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    int rc = 1;
    rd_kafka_mock_cluster_t *mc = NULL;
    rd_kafka_t *rk = new_owner_handle();
    if (rk == NULL)
        goto done;
    mc = rd_kafka_mock_cluster_new(rk, o.brokers);
    if (mc == NULL) {
        VC_ERROR("devbroker.start", "error=\"mock cluster creation failed\"");
        goto done;
    }
    if (create_topics(mc, &o) != 0)
        goto done;
    const char *bootstraps = rd_kafka_mock_cluster_bootstraps(mc);
    if (o.bootstrap_file != NULL && write_bootstrap(o.bootstrap_file, bootstraps) != 0) {
        VC_ERROR("devbroker.bootstrap_file", "path=%s error=\"%s\"", o.bootstrap_file,
                 strerror(errno));
        goto done;
    }
    printf("%s\n", bootstraps);
    fflush(stdout);
    VC_INFO("devbroker.ready", "brokers=%d bootstrap=%s", o.brokers, bootstraps);

    rc = serve_until_signal(&stop, mc, &o);
done:
    if (o.bootstrap_file != NULL)
        unlink(o.bootstrap_file);
    if (mc != NULL)
        rd_kafka_mock_cluster_destroy(mc);
    if (rk != NULL)
        rd_kafka_destroy(rk);
    return rc;
}
