/* vc-bench-fixed202: the same-run upper bound of the gateway benchmark. A minimal civetweb
 * server configured like vc-gateway (threads, keep-alive, timeouts) that reads every request
 * body to the end, discards it, and answers a fixed 202 with a reply shaped like the
 * gateway's. Whatever the gateway does beyond that (JSON parse, base64 decode, Redis, Kafka
 * acks) is what the benchmark's ratio measures.
 *
 *   vc-bench-fixed202 PORT [THREADS]     (127.0.0.1 only; SIGTERM/SIGINT stop it, exit 0)
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

static const char reply[] = "{\"detection_id\":\"00000000-0000-4000-8000-000000000000\","
                            "\"status\":\"queued\",\"links\":{\"self\":"
                            "\"/v1/detections/00000000-0000-4000-8000-000000000000\"}}";

/* Reads the body to its end into a scratch buffer and answers the fixed reply. */
static int on_submit(struct mg_connection *conn, void *arg)
{
    (void)arg;
    char buf[65536];
    int n = 0;
    do {
        n = mg_read(conn, buf, sizeof(buf));
    } while (n > 0);
    /* One write: headers and body leave in one segment, so Nagle's algorithm never holds a
     * second small write back for the client's delayed ACK. */
    mg_printf(conn,
              "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\n"
              "Content-Length: %zu\r\nCache-Control: no-store\r\n"
              "Location: /v1/detections/00000000-0000-4000-8000-000000000000\r\n\r\n%s",
              sizeof(reply) - 1, reply);
    return 202;
}

static int on_health(struct mg_connection *conn, void *arg)
{
    (void)arg;
    static const char ok[] = "{\"status\":\"ok\"}";
    mg_printf(conn,
              "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
              "Cache-Control: no-store\r\n\r\n%s",
              sizeof(ok) - 1, ok);
    return 200;
}

static int parse_port(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    long port = 0, threads = 64;
    if (argc < 2 || argc > 3 || parse_port(argv[1], 1, 65535, &port) != 0 ||
        (argc == 3 && parse_port(argv[2], 1, 4096, &threads) != 0)) {
        fprintf(stderr, "usage: vc-bench-fixed202 PORT [THREADS]\n");
        return 2;
    }
    sigset_t stop_set;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
    signal(SIGPIPE, SIG_IGN);
    char ports[32], nthreads[16];
    snprintf(ports, sizeof(ports), "127.0.0.1:%ld", port);
    snprintf(nthreads, sizeof(nthreads), "%ld", threads);
    const char *options[] = {"listening_ports", ports, "num_threads", nthreads,
                             "request_timeout_ms", "30000", "enable_keep_alive", "yes",
                             "keep_alive_timeout_ms", "5000", NULL};
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof(cb));
    mg_init_library(0);
    struct mg_context *ctx = mg_start(&cb, NULL, options);
    if (ctx == NULL) {
        fprintf(stderr, "vc-bench-fixed202: cannot listen on %s\n", ports);
        mg_exit_library();
        return 1;
    }
    mg_set_request_handler(ctx, "/v1/detections", on_submit, NULL);
    mg_set_request_handler(ctx, "/health$", on_health, NULL);
    fprintf(stderr, "vc-bench-fixed202: listening on %s with %ld threads\n", ports, threads);
    int sig = 0;
    while (sigwait(&stop_set, &sig) != 0) {
    }
    mg_stop(ctx);
    mg_exit_library();
    return 0;
}
