#ifndef VC_TEST_E2E_H
#define VC_TEST_E2E_H
/* A whole stack for end-to-end tests: one gateway and N detectors started on the servers of
 * tests/run (VC_TEST_* variables), concurrent WAV submissions, and independent audits of
 * PostgreSQL and Redis. Each submission i carries a tone of vc_e2e_freq(i) Hz. */
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdatomic.h>

#include "support/stack.h"

#define VC_E2E_MAX_DETECTORS 8

typedef struct {
    const char *redis, *pg, *kafka;
    char base_url[64];
    char id_prefix[64];
    char group[64];
    char topics[3][160];
    char api_key[64]; /* a key of this run's own tenant; client threads send it */
    char tenant[65]; /* KAFKA_TOPIC_REQUESTS/RESULTS/DLQ=… of this run's own topics */
    vc_proc_t gateway;
    vc_proc_t detectors[VC_E2E_MAX_DETECTORS];
    int n_detectors;
    /* submission state, shared with client threads */
    int n_requests;
    atomic_int next_index;
    atomic_int accepted_count;
    unsigned char *accepted; /* accepted[i] = 1 once request i got its 202 */
    void (*on_accepted)(int count); /* called by client threads after each 202 (optional) */
} vc_e2e_t;

/* Reads the servers from the environment (skips outside tests/run), names the run, and
 * creates the run's own topics (vc_test_create_topics) so no other test's backlog is in the
 * way. */
void vc_e2e_init(vc_e2e_t *e, const char *name);
/* Starts the gateway and n detectors (THREAD_POOL_SIZE=2 each) and waits for /health. */
void vc_e2e_start(vc_e2e_t *e, int n_detectors);
/* Starts detector number i (0-based) again, e.g. after it was killed. */
void vc_e2e_start_detector(vc_e2e_t *e, int i);
/* Submits n requests from `clients` threads; returns how many got 202. */
int vc_e2e_submit(vc_e2e_t *e, int n, int clients);
/* Polls every accepted request until completed (fails the test on `failed` or timeout); checks
 * each result's figures against its own tone. */
void vc_e2e_wait_completed(vc_e2e_t *e, int timeout_s);
/* Audits PostgreSQL: every accepted id exactly once and completed, nothing else with the run's
 * prefix. */
void vc_e2e_check_postgres(vc_e2e_t *e);
/* A connection to the run's Redis (aborts the test when it cannot connect); redisFree it. */
redisContext *vc_e2e_redis(const vc_e2e_t *e);
/* Audits Redis: every accepted id has its result key. */
void vc_e2e_check_redis(vc_e2e_t *e);
/* SIGTERMs every running service and checks each exits 0. */
void vc_e2e_stop(vc_e2e_t *e);

/* Waits until detection <id_prefix><suffix> is final (completed or failed) and returns its
 * JSON (caller decrefs): polls while it is unknown (404: not stored yet), long-polls
 * (?wait=) once it exists. Fails the test, printing detector 0's log, after timeout_s. */
json_t *vc_e2e_wait_final(const vc_e2e_t *e, const char *suffix, int timeout_s);

double vc_e2e_freq(int i);

/* The name of the run's own topic k (0 requests, 1 results, 2 dlq). */
const char *vc_e2e_topic(const vc_e2e_t *e, int k);

#endif
