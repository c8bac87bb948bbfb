/* The vc-detector supervisor: runs PROCESS_POOL_SIZE worker processes, restarts the ones that
 * die with exponential backoff, kills a stuck one, forwards SIGTERM and waits (bounded) for
 * the workers to drain.
 *
 * Why posix_spawn of /proc/self/exe and not fork: the supervisor has threads (civetweb's, for
 * DETECTOR_HTTP_PORT) by the time it restarts a worker, and a fork of a threaded process may
 * inherit locks held by threads that do not exist in the child (malloc, libc, librdkafka), so
 * only async-signal-safe calls are allowed until exec. Re-executing the binary gives each
 * worker a clean process, and /proc/self/exe names the very binary the supervisor runs even
 * after an upgrade replaced the file on disk. The worker learns its role from its argv
 * (`--worker N --instance ID --parent PID`) and gets a SOCK_SEQPACKET status socket on fd 3:
 * one JSON beat a second (its metric snapshot plus group/analysis state), which feeds
 * /health, /metrics and the stuck-worker check. Message boundaries need no framing.
 *
 * Signals: SIGTERM, SIGINT and SIGCHLD are blocked in every supervisor thread and read from a
 * signalfd by the main thread; workers start with a clean mask. SIGHUP is ignored by both. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervisor.h"
#include "vc/topics.h"
#include "vc/clock.h"
#include "vc/error.h"

extern char **environ;

#define BACKOFF_FIRST_MS 250
#define BACKOFF_MAX_MS 30000
#define STABLE_AFTER_MS 30000 /* a worker that lived this long starts its backoff afresh */
#define SILENT_KILL_MS 60000  /* no status beat for this long: the worker is wedged */
#define STATUS_MAX 65536

/* Spawns worker w with its status socket. Main thread. Returns 0 or VC_EIO. */
static int spawn_worker(supervisor_t *s, sup_worker_t *w)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return VC_EIO;
    /* dup2 onto itself would keep FD_CLOEXEC: keep the child's end off fd 3. */
    if (sv[1] == DETECTOR_STATUS_FD) {
        int moved = fcntl(sv[1], F_DUPFD_CLOEXEC, DETECTOR_STATUS_FD + 1);
        close(sv[1]);
        sv[1] = moved;
        if (moved < 0) {
            close(sv[0]);
            return VC_EIO;
        }
    }
    char idx[16], inst[96], parent[24];
    snprintf(idx, sizeof(idx), "%d", w->index);
    snprintf(inst, sizeof(inst), "%s-w%d", s->cfg.instance_id, w->index);
    snprintf(parent, sizeof(parent), "%ld", (long)getpid());
    char *argv[] = {"vc-detector", "--worker", idx, "--instance", inst, "--parent", parent, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t empty, dflt;
    sigemptyset(&empty);
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGTERM);
    sigaddset(&dflt, SIGINT);
    sigaddset(&dflt, SIGCHLD);
    sigaddset(&dflt, SIGPIPE);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, sv[1], DETECTOR_STATUS_FD);
    posix_spawnattr_init(&at);
    posix_spawnattr_setsigmask(&at, &empty);
    posix_spawnattr_setsigdefault(&at, &dflt);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = 0;
    int e = posix_spawn(&pid, "/proc/self/exe", &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(sv[1]);
    if (e != 0) {
        close(sv[0]);
        VC_ERROR("supervisor.spawn_failed", "worker=%d error=\"%s\"", w->index, strerror(e));
        return VC_EIO;
    }
    pthread_mutex_lock(&s->lock);
    w->pid = pid;
    w->fd = sv[0];
    w->started_ms = vc_clock_mono_ms();
    w->restart_at_ms = 0;
    w->last_status_ms = 0;
    w->joined = 0;
    w->partitions = 0;
    w->oldest_analysis_ms = 0;
    pthread_mutex_unlock(&s->lock);
    VC_INFO("supervisor.worker_started", "worker=%d pid=%ld instance=%s", w->index, (long)pid,
            inst);
    return 0;
}

/* Backoff before restart number n (1-based) of a crash loop: 250 ms doubling to 30 s. */
static int64_t restart_delay_ms(int n)
{
    int64_t ms = BACKOFF_FIRST_MS;
    for (int i = 1; i < n && ms < BACKOFF_MAX_MS; i++)
        ms *= 2;
    return ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS;
}

/* Records worker w's death (status from waitpid) and schedules its restart. Main thread. */
static void worker_died(supervisor_t *s, sup_worker_t *w, int status)
{
    int64_t now = vc_clock_mono_ms();
    int crashed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    pthread_mutex_lock(&s->lock);
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    w->pid = 0;
    w->joined = 0;
    w->partitions = 0;
    s->stop_failures += (uint64_t)(s->stopping && crashed);
    s->crashes += (uint64_t)(!s->stopping && w->retired && crashed);
    if (!s->stopping && !w->retired) {
        if (now - w->started_ms >= STABLE_AFTER_MS)
            w->consecutive_crashes = 0;
        w->consecutive_crashes++;
        s->crashes += (uint64_t)crashed;
        w->restart_at_ms = now + restart_delay_ms(w->consecutive_crashes);
    }
    pthread_mutex_unlock(&s->lock);
    if (WIFSIGNALED(status))
        VC_WARN("supervisor.worker_died", "worker=%d signal=%d stopping=%d", w->index,
                WTERMSIG(status), s->stopping);
    else if (crashed || (!s->stopping && !w->retired))
        VC_WARN("supervisor.worker_exited", "worker=%d status=%d stopping=%d", w->index,
                WEXITSTATUS(status), s->stopping);
    else
        VC_INFO("supervisor.worker_exited", "worker=%d status=0", w->index);
    if (!s->stopping && !w->retired)
        VC_INFO("supervisor.restart_scheduled", "worker=%d in_ms=%lld consecutive=%d",
                w->index, (long long)(w->restart_at_ms - now), w->consecutive_crashes);
}

/* Reaps every exited child. Main thread. */
static void reap(supervisor_t *s)
{
    for (;;) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            return;
        for (long long i = 0; i < s->cfg.processes; i++)
            if (s->workers[i].pid == pid)
                worker_died(s, &s->workers[i], status);
    }
}

/* Reads the pending status beats of w, keeping the last. Main thread. */
static void read_status(supervisor_t *s, sup_worker_t *w, char *buf)
{
    for (;;) {
        ssize_t n = recv(w->fd, buf, STATUS_MAX - 1, MSG_DONTWAIT);
        if (n <= 0)
            return; /* EAGAIN, or the worker closed it (its death arrives as SIGCHLD) */
        buf[n] = '\0';
        json_t *o = json_loads(buf, 0, NULL);
        if (o == NULL)
            continue;
        char *copy = strdup(buf);
        pthread_mutex_lock(&s->lock);
        free(w->status);
        w->status = copy;
        w->last_status_ms = vc_clock_mono_ms();
        w->joined = json_is_true(json_object_get(o, "joined"));
        w->partitions = (int)json_integer_value(json_object_get(o, "partitions"));
        w->oldest_analysis_ms = json_integer_value(json_object_get(o, "oldest_analysis_ms"));
        pthread_mutex_unlock(&s->lock);
        json_decref(o);
    }
}

/* Kills a worker whose analysis runs past twice DETECTION_DEADLINE (the worker itself fails
 * analyses that return late; this catches the ones that never return) or whose main loop has
 * been silent for a minute. Its messages are redelivered with one more unfinished attempt
 * each (guard.c), so a message that hangs every worker ends in the dead-letter topic. */
static void check_stuck(supervisor_t *s, sup_worker_t *w, int64_t now)
{
    if (w->pid <= 0)
        return;
    int64_t since = w->last_status_ms > 0 ? w->last_status_ms : w->started_ms;
    const char *why = NULL;
    if (w->oldest_analysis_ms > 2 * s->cfg.deadline_ms && w->last_status_ms > 0)
        why = "analysis past twice DETECTION_DEADLINE";
    else if (now - since > SILENT_KILL_MS)
        why = "no status beat for 60 s";
    if (why == NULL)
        return;
    VC_ERROR("supervisor.worker_stuck", "worker=%d pid=%ld reason=\"%s\"", w->index,
             (long)w->pid, why);
    kill(w->pid, SIGKILL);
    pthread_mutex_lock(&s->lock);
    s->stuck_kills++;
    w->oldest_analysis_ms = 0;
    w->last_status_ms = now; /* one kill per episode; its death arrives as SIGCHLD */
    pthread_mutex_unlock(&s->lock);
}

static void forward_term(supervisor_t *s, int sig)
{
    for (long long i = 0; i < s->cfg.processes; i++)
        if (s->workers[i].pid > 0)
            kill(s->workers[i].pid, sig);
}

static int live_workers(const supervisor_t *s)
{
    int n = 0;
    for (long long i = 0; i < s->cfg.processes; i++)
        n += s->workers[i].pid > 0;
    return n;
}

/* Handles pending signals; returns 1 when a stop was requested. */
static int read_signals(supervisor_t *s, int sigfd)
{
    struct signalfd_siginfo si;
    int stop = 0;
    while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGCHLD)
            reap(s);
        else
            stop = 1;
    }
    reap(s); /* SIGCHLD coalesces: reap whatever exited */
    return stop;
}

/* The main loop: beats, deaths, restarts and the stop sequence. Returns when every worker is
 * gone after a stop. */
static void run(supervisor_t *s, int sigfd)
{
    struct pollfd *pfd = calloc((size_t)s->cfg.processes + 1, sizeof(*pfd));
    char *buf = malloc(STATUS_MAX);
    if (pfd == NULL || buf == NULL) {
        free(pfd);
        free(buf);
        return;
    }
    int64_t drain_deadline = 0;
    for (;;) {
        int64_t now = vc_clock_mono_ms();
        int timeout = 500;
        nfds_t n = 0;
        pfd[n++] = (struct pollfd){.fd = sigfd, .events = POLLIN};
        for (long long i = 0; i < s->cfg.processes; i++) {
            sup_worker_t *w = &s->workers[i];
            if (w->fd >= 0)
                pfd[n++] = (struct pollfd){.fd = w->fd, .events = POLLIN};
            if (w->restart_at_ms > 0 && w->restart_at_ms - now < timeout)
                timeout = w->restart_at_ms - now < 0 ? 0 : (int)(w->restart_at_ms - now);
        }
        poll(pfd, n, timeout);
        if (read_signals(s, sigfd) && !s->stopping) {
            VC_INFO("supervisor.stopping", "workers=%d", live_workers(s));
            pthread_mutex_lock(&s->lock);
            s->stopping = 1;
            pthread_mutex_unlock(&s->lock);
            forward_term(s, SIGTERM);
            drain_deadline = vc_clock_mono_ms() + s->cfg.drain_timeout_ms;
        }
        now = vc_clock_mono_ms();
        for (long long i = 0; i < s->cfg.processes; i++) {
            sup_worker_t *w = &s->workers[i];
            if (w->fd >= 0)
                read_status(s, w, buf);
            if (s->stopping)
                continue;
            check_stuck(s, w, now);
            if (w->pid == 0 && w->restart_at_ms > 0 && w->restart_at_ms <= now) {
                if (spawn_worker(s, w) == 0) {
                    pthread_mutex_lock(&s->lock);
                    s->restarts++;
                    pthread_mutex_unlock(&s->lock);
                } else {
                    w->restart_at_ms = now + BACKOFF_MAX_MS;
                }
            }
        }
        supervisor_autoscale(s, now, spawn_worker);
        if (s->stopping && live_workers(s) == 0)
            break;
        if (s->stopping && now > drain_deadline) {
            VC_ERROR("supervisor.drain_timeout", "workers=%d msg=\"SIGKILL\"", live_workers(s));
            forward_term(s, SIGKILL);
            drain_deadline = now + 5000; /* their deaths arrive as SIGCHLD */
        }
    }
    free(pfd);
    free(buf);
}

/* Blocks the signals the main thread reads from a signalfd; call before any thread exists so
 * every thread inherits the mask. Returns the signalfd or -1. */
static int block_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    /* An operator's SIGHUP (log rotation, `kill -HUP` sent to every vcguard process, a closed
     * terminal) must not stop detection: nothing here is reopened, so it is ignored, and
     * the workers inherit that. */
    signal(SIGHUP, SIG_IGN);
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int detector_supervisor_main(const detector_config_t *cfg)
{
    static supervisor_t s;
    char err[512] = "";
    int status = 1;
    s.cfg = *cfg;
    vc_log_init("detector", s.cfg.log_level);
    int sigfd = block_signals();
    s.workers = calloc((size_t)s.cfg.processes, sizeof(*s.workers));
    if (sigfd < 0 || s.workers == NULL || pthread_mutex_init(&s.lock, NULL) != 0) {
        VC_ERROR("supervisor.start_failed", "error=\"%s\"", strerror(errno));
        return 1;
    }
    for (long long i = 0; i < s.cfg.processes; i++) {
        s.workers[i].index = (int)i + 1;
        s.workers[i].fd = -1;
    }
    supervisor_scale_init(&s);
    /* A detector whose topics are missing or unusable refuses to start (exit 2) rather than
     * crash-looping its workers; the client is gone before any fork. */
    const vc_kafka_config_t *k = &s.cfg.kafka;
    vc_topic_need_t needs[3] = {{k->topic_requests, 0},
                                {k->topic_results, 0},
                                {k->topic_dlq, k->message_max_bytes}};
    if (vc_topics_check_cluster(k, needs, 3, 5000, err, sizeof(err)) != 0) {
        VC_ERROR("supervisor.start_failed", "error=\"%s\"", err);
        free(s.workers);
        return 2;
    }
    int rc = vc_resource_sampler_new("/", &s.sampler);
    if (rc == 0)
        rc = supervisor_publisher_start(&s, err, sizeof(err));
    if (rc == 0 && s.cfg.http_port > 0)
        rc = supervisor_http_start(&s, err, sizeof(err));
    if (rc != 0) {
        VC_ERROR("supervisor.start_failed", "error=\"%s\"", err[0] ? err : vc_strerror(rc));
        goto done;
    }
    VC_INFO("supervisor.ready",
            "instance=%s processes=%lld min_processes=%lld threads=%lld http_port=%lld",
            s.cfg.instance_id, s.cfg.processes, s.cfg.min_processes, s.cfg.threads,
            s.cfg.http_port);
    for (long long i = 0; i < s.cfg.processes; i++)
        if (!s.workers[i].retired && spawn_worker(&s, &s.workers[i]) != 0)
            s.workers[i].restart_at_ms = vc_clock_mono_ms() + BACKOFF_FIRST_MS;
    run(&s, sigfd);
    VC_INFO("supervisor.stopped", "crashes=%llu restarts=%llu stuck_kills=%llu "
            "unclean_stops=%llu scale_ups=%llu scale_downs=%llu", (unsigned long long)s.crashes,
            (unsigned long long)s.restarts, (unsigned long long)s.stuck_kills,
            (unsigned long long)s.stop_failures, (unsigned long long)s.scale_ups,
            (unsigned long long)s.scale_downs);
    /* 0 only when every worker drained and exited 0: a worker killed at the drain timeout
     * or failing on its way out (e.g. a sanitizer report) shows in our status. */
    status = s.stop_failures == 0 ? 0 : 1;
done:
    pthread_mutex_lock(&s.lock);
    s.stopping = 1;
    pthread_mutex_unlock(&s.lock);
    supervisor_publisher_stop(&s);
    supervisor_http_stop(&s);
    vc_resource_sampler_free(s.sampler);
    for (long long i = 0; i < s.cfg.processes; i++) {
        if (s.workers[i].fd >= 0)
            close(s.workers[i].fd);
        free(s.workers[i].status);
    }
    free(s.workers);
    close(sigfd);
    pthread_mutex_destroy(&s.lock);
    return status;
}
