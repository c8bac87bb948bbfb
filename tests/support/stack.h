#ifndef VC_TEST_STACK_H
#define VC_TEST_STACK_H
/* Support for tests that drive whole binaries: spawning services with their logs captured,
 * free loopback ports, HTTP calls through libcurl, readiness waits. */
#include <stddef.h>
#include <sys/types.h>

typedef struct {
    char name[64];
    pid_t pid;
    char log_path[512];
} vc_proc_t;

/* Creates a private temp directory for logs; returns its path (static storage). */
const char *vc_test_tmpdir(void);

/* Returns a TCP port on 127.0.0.1 that was free a moment ago (bind to port 0). */
int vc_test_free_port(void);

/* Starts `$VC_BIN_DIR/<bin>` with the current environment plus `env` (NULL-terminated
 * "K=V" strings), stdout+stderr to <tmpdir>/<name>.log. Aborts the test on failure. */
void vc_test_spawn(vc_proc_t *p, const char *name, const char *bin, const char *const *env);

/* Like vc_test_spawn for any program: path (absolute, or found in PATH) with argv (argv[0]
 * included, NULL-terminated). */
void vc_test_spawn_argv(vc_proc_t *p, const char *name, const char *path,
                        char *const *argv, const char *const *env);

/* The METRICS_TOKEN the harness gives gateways it starts (vc_test_start_gateway; tests that
 * spawn their own add "METRICS_TOKEN=" VC_TEST_METRICS_TOKEN), and presents where it reads
 * operator detail (vc_test_wait_inflight, vc_test_http_ops). */
#define VC_TEST_METRICS_TOKEN "vc-test-metrics-token-2f9c41d87ab35e06"

/* Starts vc-gateway on a free loopback port against the given Redis URL, PostgreSQL URL and
 * Kafka bootstrap list, plus `extra` "K=V" settings (NULL-terminated, may be NULL; they win
 * over the harness's METRICS_TOKEN=VC_TEST_METRICS_TOKEN), and waits up to 60 s for /health to
 * answer 200 (fails the test otherwise). Writes "http://127.0.0.1:PORT" into base ("https://"
 * when extra sets HTTP_TLS_CERT; set vc_test_ca_file first). */
void vc_test_start_gateway(vc_proc_t *p, char *base, size_t cap, const char *redis,
                           const char *pg, const char *kafka, const char *const *extra);

/* Sends SIGTERM and waits up to timeout_s for exit; returns the exit status (or -1 when it
 * had to be killed, or 128+signal when a signal ended it). */
int vc_test_stop(vc_proc_t *p, int timeout_s);

/* Prints the last `lines` lines of the process log to stderr. */
void vc_test_print_log(const vc_proc_t *p, int lines);

/* When set, vc_test_http sends "Authorization: Bearer <key>" (per thread). */
extern _Thread_local const char *vc_test_api_key;
/* One more request header line ("Name: value") sent by vc_test_http when set (per thread). */
extern _Thread_local const char *vc_test_extra_header;
/* When set, vc_test_http verifies HTTPS servers against this PEM CA file (per thread). */
extern _Thread_local const char *vc_test_ca_file;
/* Response headers of this thread's last vc_test_http call. */
extern _Thread_local char vc_test_last_headers[4096];

/* Creates an API key for tenant in PostgreSQL (DATABASE_URL = pg) through the store library;
 * rate_limit 0 = the gateway's default. Writes the plaintext key into out (>= 64 bytes) and
 * its id into *id (may be NULL). Aborts the test on failure. */
void vc_test_create_key(const char *pg, const char *tenant, long rate_limit, char *out,
                        long long *id);
/* Revokes key id. */
void vc_test_revoke_key(const char *pg, long long id);

/* HTTP request through libcurl. body may be NULL (GET). Response body is malloc'd into *resp
 * (NUL-terminated; caller frees) when resp is non-NULL. Returns the status, or -1 on transport
 * failure. */
long vc_test_http(const char *method, const char *url, const char *content_type,
                  const void *body, size_t len, char **resp);

/* GET url presenting VC_TEST_METRICS_TOKEN (operator detail of /health, guarded /metrics);
 * otherwise as vc_test_http. */
long vc_test_http_ops(const char *url, char **resp);

/* Polls url without a key until it answers 200 or timeout_s passes. Returns 1 when ready. */
int vc_test_wait_http_ok(const char *url, int timeout_s);

/* Polls base + "/health" (with VC_TEST_METRICS_TOKEN: the count is operator detail) until the
 * gateway reports `want` submissions in flight or timeout_s passes. Returns the last count
 * seen (-1 when none could be read). */
long vc_test_wait_inflight(const char *base, long want, int timeout_s);

/* Sends one fault command to vc-devbroker's control socket ($VC_TEST_KAFKA_CONTROL), e.g.
 * "broker down all". Returns 0 when it answered "ok". */
int vc_test_devbroker(const char *command);

/* Reads a whole file into a malloc'd, NUL-terminated buffer (caller frees); its length in
 * *len when len is not NULL. Aborts the test when the file cannot be read. */
char *vc_test_read_file(const char *path, size_t *len);

/* True when needle occurs in the n bytes of hay (a log may hold NUL bytes). */
int vc_test_contains(const char *hay, size_t n, const char *needle);

/* POSTs one JSON audio submission (0.2 s of a 500 Hz tone, 16 kHz) to base/v1/detections;
 * returns the status (-1: transport failure), the body in *resp (caller frees). */
long vc_test_submit_tone(const char *base, char **resp);

/* Creates the topics <prefix>requests, <prefix>results and <prefix>dlq with `partitions`
 * partitions on the cluster at `kafka`, as an operator's deploy step would before starting
 * services (they refuse to start without their topics): on vc-devbroker
 * ($VC_TEST_DEVBROKER_BROKERS) through its control socket, on Apache Kafka through
 * vc_topics_ensure (replication factor 1 on the suite's single node). Aborts the test on
 * failure. */
void vc_test_create_topics(const char *kafka, const char *prefix, int partitions);

/* The devbroker's bootstrap list, for tests whose faults only its control socket can inject
 * (skips the test with 77 when the run has none). */
const char *vc_test_devbroker_brokers(void);

/* Writes a 16-bit mono WAV of a sine (freq Hz, amplitude 0..1, seconds) into a malloc'd
 * buffer. */
unsigned char *vc_test_wav_sine(double freq, double amp, double seconds, int rate, size_t *len);

/* Fills pids with the live children of `parent` (from /proc/<pid>/stat); returns how many. */
int vc_test_children(pid_t parent, pid_t *pids, int cap);

#endif
