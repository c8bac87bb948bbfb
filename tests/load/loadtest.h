#ifndef VC_LOAD_LOADTEST_H
#define VC_LOAD_LOADTEST_H
/* vc-loadtest's shared types: what to run (vc_load_opts_t), what to send (vc_workload_t) and
 * what was measured (vc_load_stats_t). The runner owns the event loop; everything here is
 * touched by that one thread only. */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/socket.h>

#include "histogram.h"

typedef enum {
    VC_LOAD_HEALTH = 0, /* GET /health */
    VC_LOAD_DETECTION,  /* POST /v1/detections, success = 2xx */
    VC_LOAD_BATCH,      /* POST /v1/detections/batch {requests:[...]}, success = 2xx */
    VC_LOAD_E2E         /* submit, then poll GET /v1/detections/{id} until completed/failed */
} vc_load_type_t;

/* Error classes: every operation that does not succeed lands in exactly one of them or has a
 * non-success HTTP status (counted in status[]). */
typedef enum {
    VC_LOAD_ERR_CONNECT = 0, /* TCP connect failed */
    VC_LOAD_ERR_IO,          /* connection reset or closed before a full response */
    VC_LOAD_ERR_TIMEOUT,     /* no full response within --timeout */
    VC_LOAD_ERR_PROTOCOL,    /* malformed HTTP response */
    VC_LOAD_ERR_LATE,        /* open loop: waited longer than --timeout for a free slot; not sent */
    VC_LOAD_ERR_HTTP,        /* a non-success HTTP status (see status[]) */
    VC_LOAD_ERR_NO_ID,       /* e2e: 2xx submit reply without a detection_id */
    VC_LOAD_ERR_RESULT_TIMEOUT, /* e2e: accepted, but no final result within --e2e-timeout */
    VC_LOAD_ERR_RESULT_FAILED,  /* e2e: the final result says status "failed" */
    VC_LOAD_NERR
} vc_load_err_t;

typedef struct {
    vc_load_type_t type;
    char host[256];
    int port;
    char prefix[256];              /* path prefix of --backend-url, no trailing '/' */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    uint64_t requests;             /* 0: bounded by duration only */
    int concurrency;
    double duration_s;             /* 0: bounded by requests only */
    double rate;                   /* 0: closed loop */
    double timeout_s;              /* per HTTP request */
    double e2e_timeout_s;          /* submit -> final result */
    int poll_ms;                   /* e2e poll interval */
    int wait_s;                    /* e2e: ?wait=N on submit and polls (0: none) */
    int batch_size;
    int msgpack;                   /* bodies as application/msgpack (binary media) */
    int honor_retry_after;         /* closed loop: a slot answered 429/503 with Retry-After
                                    * rests that long before its next operation */
    const char *api_key;
    int progress;                  /* live line on stderr */
    double recovery_ms;            /* > 0: after the load, probe until 3 in a row answer 2xx
                                    * within this many ms; report the time it took */
    double recovery_max_s;
    const char *id_prefix;         /* detection/e2e: every submission carries its own
                                    * detection_id, <id_prefix><operation index> */
    FILE *ids_out;                 /* when set: one record per operation (vc_load_ids_*) */
    volatile sig_atomic_t *stop;   /* when set and non-zero: issue nothing more, finish what
                                    * is in flight (a signal handler sets it) */
} vc_load_opts_t;

typedef struct {
    char *data;
    size_t len;
} vc_load_body_t;

typedef struct {
    vc_load_body_t *bodies; /* one per media file (detection/e2e) or per batch rotation */
    size_t nbodies;
    size_t media_bytes;     /* raw media bytes per body, averaged */
    const char *content_type; /* of the bodies */
} vc_workload_t;

typedef struct {
    uint64_t status[600];          /* responses of the primary request (submit/GET health) */
    uint64_t errors[VC_LOAD_NERR];
    uint64_t started, finished, ok;
    uint64_t polls, poll_status[600];
    vc_hist_t *latency;            /* successes: from intended start (open loop) or send */
    vc_hist_t *service;            /* successes: primary request, from first byte sent */
    vc_hist_t *submit;             /* e2e: submit latency of accepted submissions */
    int64_t t_start_ns, t_load_end_ns, t_end_ns;
    int recovered;                 /* recovery probe: 1 when it succeeded */
    double recovery_s;
    uint64_t probes;
} vc_load_stats_t;

/* Builds the request bodies for opts->type from the media files (all read whole, each at most
 * 64 MiB) or, with no files, from a generated gen_seconds-long 16 kHz sine WAV. Returns 0 or
 * a VC_E* code with err filled; the caller frees wl with vc_workload_free (also on failure). */
int vc_workload_build(const vc_load_opts_t *opts, const char *const *files, size_t nfiles,
                      double gen_seconds, vc_workload_t *wl, char *err, size_t errlen);

void vc_workload_free(vc_workload_t *wl);

/* Allocates the histograms of st (zeroing the rest). Returns 0 or VC_ENOMEM; release with
 * vc_load_stats_free. */
int vc_load_stats_init(vc_load_stats_t *st);
void vc_load_stats_free(vc_load_stats_t *st);

/* Runs the load described by opts with wl's bodies until the schedule ends and every
 * operation has finished (or timed out). Returns 0 or a VC_E* setup error (err filled). */
int vc_load_run(const vc_load_opts_t *opts, const vc_workload_t *wl, vc_load_stats_t *st,
                char *err, size_t errlen);

/* The per-operation record file of --ids-out: a header line, then one tab-separated line per
 * operation, in the order they finished:
 *   index id outcome http_status error_code intended_ms sent_ms done_ms sends
 * index: operation number (0-based); id: the detection id (client-chosen with an id prefix,
 * else the one the gateway answered, "-" when unknown); outcome: "ok" or an error class name
 * (vc_load_err_name); http_status: of the submission (0 when none arrived); error_code: the
 * "error.code" of a non-2xx JSON reply ("-" when none); times: wall clock, ms since the
 * epoch (0 when the step did not happen: a late operation was never sent); sends: how many
 * times the submission went out (2 when a kept-alive connection turned out closed and it was
 * sent again on a fresh one: the first copy may have reached the server; 0 when never sent). */
void vc_load_ids_header(FILE *out);
void vc_load_ids_record(FILE *out, uint64_t index, const char *id, const char *outcome,
                        int http_status, const char *error_code, int64_t intended_ms,
                        int64_t sent_ms, int64_t done_ms, int sends);

/* Name of a type ("health", ...) and of an error class ("connect", ...). */
const char *vc_load_type_name(vc_load_type_t type);
const char *vc_load_err_name(vc_load_err_t e);

/* Writes the report: human-readable text, JSON (one object), or flat key=value lines for
 * scripts. Return 0 or VC_ENOMEM / VC_EIO. */
int vc_load_report_text(const vc_load_opts_t *opts, const vc_load_stats_t *st, FILE *out);
int vc_load_report_json(const vc_load_opts_t *opts, const vc_load_stats_t *st, FILE *out);
int vc_load_report_kv(const vc_load_opts_t *opts, const vc_load_stats_t *st, FILE *out);

#endif
