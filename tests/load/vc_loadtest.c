/* vc-loadtest: drives a vcguard deployment over HTTP and reports success rate, status codes,
 * error classes, throughput and latency percentiles (HDR-style histogram).
 *
 *   vc-loadtest [--type health|detection|batch|e2e] [--backend-url http://127.0.0.1:8080]
 *               [--requests N] [--duration S] [--concurrency C] [--rate R]
 *               [--media FILE...] [--api-key KEY] [--json] [--kv FILE] ...
 *
 * SIGINT or SIGTERM ends the schedule early: nothing more is issued, the operations in flight
 * finish (or time out) and the report is written as usual; a second signal kills at once.
 *
 * Exit status: 0 when the run completed (whatever the servers answered), 1 when it could not
 * run (unreadable media, unresolvable host), 2 on a usage error. */
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loadtest.h"
#include "vc/error.h"

#define MAX_MEDIA_FILES 256

static volatile sig_atomic_t stop_requested;

/* First SIGINT/SIGTERM: stop issuing (the runner sees the flag); the next one: default. */
static void on_stop(int sig)
{
    stop_requested = 1;
    signal(sig, SIG_DFL);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vc-loadtest [options]\n"
            "  --type T            health | detection | batch | e2e (default detection)\n"
            "  --backend-url URL   http://host:port[/prefix] (default http://127.0.0.1:8080)\n"
            "  --requests N        operations to run (default 1000 when no --duration)\n"
            "  --duration S        stop issuing after S seconds\n"
            "  --concurrency C     client connections / operations in flight (default 16)\n"
            "  --rate R            open loop: R operations/s at fixed arrival times; latency\n"
            "                      counts from the intended time (default: closed loop)\n"
            "  --media FILE...     audio files to submit, used in turn (default: generated\n"
            "                      16 kHz WAV of --gen-seconds, default 1)\n"
            "  --api-key KEY       sent as Authorization: Bearer KEY\n"
            "  --batch-size N      items per batch request (default 10)\n"
            "  --timeout S         per HTTP request (default 30)\n"
            "  --e2e-timeout S     submit -> result (default 120)\n"
            "  --poll-interval MS  e2e result polling (default 20)\n"
            "  --wait N            e2e: submit and poll with ?wait=N (long-poll; a 202 still\n"
            "                      falls back to polling)\n"
            "  --msgpack           send bodies as application/msgpack with binary media\n"
            "  --honor-retry-after closed loop: a client answered 429/503 with Retry-After\n"
            "                      waits that long before its next operation\n"
            "  --recovery-probe MS after the load, probe once per 100 ms until 3 in a row\n"
            "                      succeed within MS ms; report the time (--recovery-max S,\n"
            "                      default 60)\n"
            "  --id-prefix P       detection/e2e: each submission carries detection_id P<n>\n"
            "                      (n = operation number; the client-chosen idempotency key)\n"
            "  --ids-out FILE      write one tab-separated line per operation: index, id,\n"
            "                      outcome, HTTP status, error code, intended/sent/done times\n"
            "                      (wall-clock ms) -- what a reliability audit needs\n"
            "  --json              print the report as one JSON object\n"
            "  --kv FILE           also write flat key=value lines to FILE (for scripts)\n"
            "  --quiet             no live progress line on stderr\n");
}

/* Parses a finite double in [lo, hi]. Returns 0 or -1. */
static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_int(const char *s, long long lo, long long hi, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Splits http://host[:port][/prefix] into opts and resolves host. Returns 0 or -1 with a
 * message on stderr. */
static int parse_url(const char *url, vc_load_opts_t *o)
{
    if (strncmp(url, "http://", 7) != 0) {
        fprintf(stderr, "vc-loadtest: --backend-url must start with http://\n");
        return -1;
    }
    const char *h = url + 7;
    size_t hlen = strcspn(h, ":/");
    if (hlen == 0 || hlen >= sizeof(o->host)) {
        fprintf(stderr, "vc-loadtest: bad host in %s\n", url);
        return -1;
    }
    memcpy(o->host, h, hlen);
    o->host[hlen] = '\0';
    const char *p = h + hlen;
    o->port = 80;
    if (*p == ':') {
        char port[8];
        size_t plen = strcspn(p + 1, "/");
        long long v = 0;
        if (plen == 0 || plen >= sizeof(port)) {
            fprintf(stderr, "vc-loadtest: bad port in %s\n", url);
            return -1;
        }
        memcpy(port, p + 1, plen);
        port[plen] = '\0';
        if (parse_int(port, 1, 65535, &v) != 0) {
            fprintf(stderr, "vc-loadtest: bad port in %s\n", url);
            return -1;
        }
        o->port = (int)v;
        p += 1 + plen;
    }
    size_t plen = strlen(p);
    while (plen > 0 && p[plen - 1] == '/')
        plen--;
    if (plen >= sizeof(o->prefix)) {
        fprintf(stderr, "vc-loadtest: URL path too long\n");
        return -1;
    }
    memcpy(o->prefix, p, plen);
    o->prefix[plen] = '\0';
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    char port[8];
    snprintf(port, sizeof(port), "%d", o->port);
    int rc = getaddrinfo(o->host, port, &hints, &res);
    if (rc != 0 || res == NULL) {
        fprintf(stderr, "vc-loadtest: cannot resolve %s: %s\n", o->host, gai_strerror(rc));
        return -1;
    }
    memcpy(&o->addr, res->ai_addr, res->ai_addrlen);
    o->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static int parse_type(const char *s, vc_load_type_t *t)
{
    static const vc_load_type_t all[] = {VC_LOAD_HEALTH, VC_LOAD_DETECTION, VC_LOAD_BATCH,
                                         VC_LOAD_E2E};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(s, vc_load_type_name(all[i])) == 0) {
            *t = all[i];
            return 0;
        }
    }
    return -1;
}

typedef struct {
    vc_load_opts_t o;
    const char *url;
    const char *files[MAX_MEDIA_FILES];
    size_t nfiles;
    double gen_seconds;
    int json;
    const char *kv_path;
    const char *ids_path;
} cli_t;

/* Handles one option with a value. Returns 0, or -1 for a bad value/unknown option. */
static int option(cli_t *c, const char *name, const char *v)
{
    vc_load_opts_t *o = &c->o;
    long long n = 0;
    int rc = 0;
    if (strcmp(name, "--requests") == 0) {
        rc = parse_int(v, 1, 1000000000LL, &n);
        o->requests = (uint64_t)n;
    } else if (strcmp(name, "--concurrency") == 0) {
        rc = parse_int(v, 1, 20000, &n);
        o->concurrency = (int)n;
    } else if (strcmp(name, "--duration") == 0) {
        rc = parse_double(v, 0.001, 86400, &o->duration_s);
    } else if (strcmp(name, "--rate") == 0) {
        rc = parse_double(v, 0.001, 10000000, &o->rate);
    } else if (strcmp(name, "--type") == 0) {
        rc = parse_type(v, &o->type);
    } else if (strcmp(name, "--backend-url") == 0) {
        c->url = v;
    } else if (strcmp(name, "--api-key") == 0) {
        o->api_key = v;
        rc = strlen(v) < 512 && strcspn(v, "\r\n") == strlen(v) ? 0 : -1;
    } else if (strcmp(name, "--batch-size") == 0) {
        rc = parse_int(v, 1, 10000, &n);
        o->batch_size = (int)n;
    } else if (strcmp(name, "--timeout") == 0) {
        rc = parse_double(v, 0.001, 3600, &o->timeout_s);
    } else if (strcmp(name, "--e2e-timeout") == 0) {
        rc = parse_double(v, 0.001, 3600, &o->e2e_timeout_s);
    } else if (strcmp(name, "--poll-interval") == 0) {
        rc = parse_int(v, 1, 60000, &n);
        o->poll_ms = (int)n;
    } else if (strcmp(name, "--wait") == 0) {
        rc = parse_int(v, 0, 30, &n);
        o->wait_s = (int)n;
    } else if (strcmp(name, "--gen-seconds") == 0) {
        rc = parse_double(v, 0.01, 600, &c->gen_seconds);
    } else if (strcmp(name, "--recovery-probe") == 0) {
        rc = parse_double(v, 0.001, 3600000, &o->recovery_ms);
    } else if (strcmp(name, "--recovery-max") == 0) {
        rc = parse_double(v, 0.1, 3600, &o->recovery_max_s);
    } else if (strcmp(name, "--kv") == 0) {
        c->kv_path = v;
    } else if (strcmp(name, "--ids-out") == 0) {
        c->ids_path = v;
    } else if (strcmp(name, "--id-prefix") == 0) {
        /* Detection ids are 1..64 of [A-Za-z0-9._:-]; room is left for the number. */
        size_t len = strlen(v);
        rc = len >= 1 && len <= 40 &&
                     strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                               "0123456789._:-") == len
                 ? 0
                 : -1;
        o->id_prefix = v;
    } else {
        return -1;
    }
    if (rc != 0)
        fprintf(stderr, "vc-loadtest: bad value for %s: %s\n", name, v);
    return rc;
}

/* Parses argv into c. Returns 0, 1 for --help, -1 on a usage error. */
static int parse_args(int argc, char **argv, cli_t *c)
{
    vc_load_opts_t *o = &c->o;
    memset(c, 0, sizeof(*c));
    o->type = VC_LOAD_DETECTION;
    o->concurrency = 16;
    o->timeout_s = 30;
    o->e2e_timeout_s = 120;
    o->poll_ms = 20;
    o->batch_size = 10;
    o->progress = 1;
    o->recovery_max_s = 60;
    c->url = "http://127.0.0.1:8080";
    c->gen_seconds = 1.0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return 1;
        if (strcmp(a, "--json") == 0) {
            c->json = 1;
        } else if (strcmp(a, "--msgpack") == 0) {
            o->msgpack = 1;
        } else if (strcmp(a, "--honor-retry-after") == 0) {
            o->honor_retry_after = 1;
        } else if (strcmp(a, "--quiet") == 0) {
            o->progress = 0;
        } else if (strcmp(a, "--media") == 0) {
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
                if (c->nfiles == MAX_MEDIA_FILES) {
                    fprintf(stderr, "vc-loadtest: at most %d media files\n", MAX_MEDIA_FILES);
                    return -1;
                }
                c->files[c->nfiles++] = argv[++i];
            }
            if (c->nfiles == 0) {
                fprintf(stderr, "vc-loadtest: --media needs at least one FILE\n");
                return -1;
            }
        } else if (i + 1 < argc && strncmp(a, "--", 2) == 0) {
            if (option(c, a, argv[i + 1]) != 0) {
                fprintf(stderr, "vc-loadtest: bad option %s %s\n", a, argv[i + 1]);
                return -1;
            }
            i++;
        } else {
            fprintf(stderr, "vc-loadtest: unknown argument %s\n", a);
            return -1;
        }
    }
    if (o->requests == 0 && o->duration_s <= 0)
        o->requests = 1000;
    if (o->id_prefix != NULL && o->type != VC_LOAD_DETECTION && o->type != VC_LOAD_E2E) {
        fprintf(stderr, "vc-loadtest: --id-prefix needs --type detection or e2e\n");
        return -1;
    }
    return parse_url(c->url, o);
}

int main(int argc, char **argv)
{
    static cli_t c;
    char err[512] = "";
    vc_workload_t wl;
    vc_load_stats_t st;
    int prc = parse_args(argc, argv, &c);
    if (prc != 0) {
        usage(prc > 0 ? stdout : stderr);
        return prc > 0 ? 0 : 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    c.o.stop = &stop_requested;
    int rc = vc_workload_build(&c.o, c.files, c.nfiles, c.gen_seconds, &wl, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "vc-loadtest: %s\n", err);
        vc_workload_free(&wl);
        return 1;
    }
    if (vc_load_stats_init(&st) != 0) {
        fprintf(stderr, "vc-loadtest: no memory\n");
        vc_workload_free(&wl);
        return 1;
    }
    FILE *ids = NULL;
    if (c.ids_path != NULL) {
        ids = fopen(c.ids_path, "w");
        if (ids == NULL) {
            fprintf(stderr, "vc-loadtest: cannot write %s: %s\n", c.ids_path, strerror(errno));
            vc_load_stats_free(&st);
            vc_workload_free(&wl);
            return 1;
        }
        c.o.ids_out = ids;
    }
    rc = vc_load_run(&c.o, &wl, &st, err, sizeof(err));
    if (rc == 0) {
        if (c.json)
            rc = vc_load_report_json(&c.o, &st, stdout);
        else
            rc = vc_load_report_text(&c.o, &st, stdout);
    } else {
        fprintf(stderr, "vc-loadtest: %s\n", err);
    }
    if (rc == 0 && c.kv_path != NULL) {
        FILE *kv = fopen(c.kv_path, "w");
        rc = kv != NULL ? vc_load_report_kv(&c.o, &st, kv) : VC_EIO;
        if (kv != NULL && fclose(kv) != 0)
            rc = VC_EIO;
        if (rc != 0)
            fprintf(stderr, "vc-loadtest: cannot write %s\n", c.kv_path);
    }
    if (ids != NULL && fclose(ids) != 0 && rc == 0) {
        fprintf(stderr, "vc-loadtest: cannot write %s\n", c.ids_path);
        rc = VC_EIO;
    }
    vc_load_stats_free(&st);
    vc_workload_free(&wl);
    return rc == 0 ? 0 : 1;
}
