/* The body watch: one thread that shuts the reading side of a connection whose body read
 * overstays its deadline, so the blocked mg_read returns at once (request.h says why); and the
 * listener closing used by the SIGTERM drain, which shares the socket search. */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "accesslog.h"
#include "request.h"
#include "vc/clock.h"
#include "vc/error.h"
#include "vc/log.h"

struct body_watch {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC; signalled by an earlier deadline, and on stop */
    body_read_t *head; /* reads in progress, on their handlers' stacks */
    int64_t wake_ms;   /* when the watch thread wakes next (INT64_MAX: when signalled) */
    int stop;
    pthread_t thread;
};

/* The port of an IP socket address (0 when not IP), and its printable address into addr. */
static int ip_port(const struct sockaddr_storage *ss, char *addr, size_t cap)
{
    const void *a = NULL;
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        a = &in->sin_addr;
        port = ntohs(in->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        a = &in6->sin6_addr;
        port = ntohs(in6->sin6_port);
    }
    if (addr != NULL && (a == NULL || inet_ntop(ss->ss_family, a, addr, (socklen_t)cap) == NULL))
        return 0;
    return port;
}

/* The descriptor of the connection from addr:port to local port server_port, or -1. civetweb
 * does not expose its sockets; a TCP connection's addresses name exactly one open socket, and
 * a connection stays open while its handler runs, so the match is that request's socket.
 * Cost: one getpeername per open descriptor (only for requests that overstay). */
static int find_socket(const char *addr, int port, int server_port)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    int found = -1;
    struct dirent *de;
    while (found < 0 && (de = readdir(d)) != NULL) {
        char *end = NULL;
        long fd = strtol(de->d_name, &end, 10);
        if (end == de->d_name || *end != '\0' || fd == dirfd(d))
            continue;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        char peer[INET6_ADDRSTRLEN];
        if (getpeername((int)fd, (struct sockaddr *)&ss, &sl) != 0 ||
            ip_port(&ss, peer, sizeof(peer)) != port || strcmp(peer, addr) != 0)
            continue;
        sl = sizeof(ss);
        if (getsockname((int)fd, (struct sockaddr *)&ss, &sl) == 0 &&
            ip_port(&ss, NULL, 0) == server_port)
            found = (int)fd;
    }
    closedir(d);
    return found;
}

int gateway_close_listeners(int port)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return 0;
    int closed = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char *end = NULL;
        long fd = strtol(de->d_name, &end, 10);
        if (end == de->d_name || *end != '\0' || fd == dirfd(d))
            continue;
        int listening = 0;
        socklen_t ol = sizeof(listening);
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        if (getsockopt((int)fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ol) != 0 || !listening ||
            getsockname((int)fd, (struct sockaddr *)&ss, &sl) != 0 ||
            ip_port(&ss, NULL, 0) != port)
            continue;
        /* Linux takes a listening socket out of LISTEN on shutdown: queued and new
         * connections are refused (RST) while the descriptor stays civetweb's to close. */
        closed += shutdown((int)fd, SHUT_RDWR) == 0;
    }
    closedir(d);
    return closed;
}

/* Shuts the reading side of a connection: a blocked or later mg_read returns at once, while
 * the response can still be written. */
void gateway__cut_reading(const char *addr, int port, int server_port)
{
    int fd = find_socket(addr, port, server_port);
    if (fd < 0 || shutdown(fd, SHUT_RD) != 0)
        VC_WARN("http.cut_failed", "client=%s:%d", addr, port);
}

/* @locality the body watch thread. Cuts every registered read whose deadline passed, with
 * the lock held so each one is still inside its read. */
static void *watch_main(void *arg)
{
    struct body_watch *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        int64_t now = vc_clock_mono_ms(), next = INT64_MAX;
        for (body_read_t *r = w->head; r != NULL; r = r->next) {
            if (r->cut)
                continue;
            if (r->deadline_ms <= now) {
                r->cut = 1;
                VC_WARN("http.body_timeout", "client=%s:%d", r->addr, r->port);
                gateway__cut_reading(r->addr, r->port, r->server_port);
            } else if (r->deadline_ms < next) {
                next = r->deadline_ms;
            }
        }
        w->wake_ms = next;
        if (next == INT64_MAX) {
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t wait_ms = next - now;
        ts.tv_sec += (time_t)(wait_ms / 1000);
        ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->cv, &w->mu, &ts);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int gateway_body_watch_start(gateway_t *gw)
{
    struct body_watch *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return VC_ENOMEM;
    pthread_condattr_t ca;
    int ok = pthread_condattr_init(&ca) == 0;
    ok = ok && pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0;
    ok = ok && pthread_cond_init(&w->cv, &ca) == 0;
    pthread_condattr_destroy(&ca);
    if (!ok) {
        free(w);
        return VC_ENOMEM;
    }
    w->wake_ms = INT64_MAX;
    if (pthread_mutex_init(&w->mu, NULL) != 0) {
        pthread_cond_destroy(&w->cv);
        free(w);
        return VC_ENOMEM;
    }
    if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        free(w);
        return VC_ENOMEM;
    }
    gw->body_watch = w;
    return 0;
}

void gateway_body_watch_stop(gateway_t *gw)
{
    struct body_watch *w = gw->body_watch;
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
    gw->body_watch = NULL;
}

/* Registers the current request's body read (r lives on the caller's stack until
 * gateway__watch_remove). */
void gateway__watch_add(struct body_watch *w, body_read_t *r,
                        const struct mg_request_info *ri)
{
    memset(r, 0, sizeof(*r));
    r->deadline_ms = gateway__req.deadline_ms;
    snprintf(r->addr, sizeof(r->addr), "%s", ri->remote_addr);
    r->port = ri->remote_port;
    r->server_port = ri->server_port;
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    r->next = w->head;
    if (w->head != NULL)
        w->head->prev = r;
    w->head = r;
    if (r->deadline_ms < w->wake_ms) /* usually not: deadlines come in time order */
        pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Unregisters r; returns 1 when the watch cut its connection meanwhile. */
int gateway__watch_remove(struct body_watch *w, body_read_t *r)
{
    if (w == NULL)
        return 0;
    pthread_mutex_lock(&w->mu);
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        w->head = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    int cut = r->cut;
    pthread_mutex_unlock(&w->mu);
    if (cut)
        gateway__req.cut = 1;
    return cut;
}

/* Counts n more body bytes: the deadline moves a second later per HTTP_BODY_MIN_RATE bytes,
 * here and in the watch's copy r (may be NULL). */
void gateway__body_progress(const gateway_t *gw, body_read_t *r, int n)
{
    gateway__req.bytes += n;
    gateway_accesslog_body(n);
    if (gw->cfg.body_min_rate <= 0)
        return;
    gateway__req.deadline_ms =
        gateway__req.base_ms + gateway__req.bytes * 1000 / gw->cfg.body_min_rate;
    struct body_watch *w = gw->body_watch;
    if (r == NULL || w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    r->deadline_ms = gateway__req.deadline_ms; /* later than before: the watch needs no wake-up */
    pthread_mutex_unlock(&w->mu);
}
