#include "claimer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vc/breaker.h"
#include "vc/error.h"
#include "vc/log.h"

/* Claims per transaction: a pipeline this long is a few milliseconds of PostgreSQL work, so a
 * burst is cut into transactions that each still amortise one commit over many. */
#define GROUP_MAX 512

typedef enum { JOB_TAKE, JOB_CONFIRM, JOB_RELEASE } job_kind_t;

typedef struct job {
    struct job *next;
    job_kind_t kind;
    vc_claim_t *claims; /* TAKE: the waiting caller's; else copies in this job's block */
    size_t n;
    int done, rc;       /* TAKE: set by the writer, under the lock */
    char err[256];
} job_t;

struct claimer {
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    job_t *head, *tail;
    int stopping;
    pthread_t thread;
    vc_pg_pool_t *pg;
    struct vc_breaker *breaker;
    vc_counter_t *m_txns[3], *m_claims[3]; /* by job_kind_t */
};

/* Runs fn on a pooled connection behind the breaker: while PostgreSQL is known to be down,
 * no submission waits for a connect timeout. */
typedef int (*pg_call_t)(PGconn *conn, vc_claim_t *claims, size_t n, char *err, size_t errlen);

static int with_pg(claimer_t *c, job_kind_t kind, pg_call_t fn, vc_claim_t *claims, size_t n,
                   char *err, size_t errlen)
{
    if (vc_breaker_allow(c->breaker) != 0)
        return vc_err(err, errlen, VC_EUNAVAIL, "postgres breaker open");
    PGconn *conn = NULL;
    int rc = vc_pg_acquire(c->pg, &conn, err, errlen);
    if (rc == 0) {
        rc = fn(conn, claims, n, err, errlen);
        vc_pg_release(c->pg, conn, rc != 0);
    }
    vc_breaker_record(c->breaker, rc == 0);
    vc_counter_add(c->m_txns[kind], 1);
    vc_counter_add(c->m_claims[kind], n);
    return rc;
}

static int take_fn(PGconn *conn, vc_claim_t *claims, size_t n, char *err, size_t errlen)
{
    return vc_claims_take(conn, claims, n, err, errlen);
}

static int confirm_fn(PGconn *conn, vc_claim_t *claims, size_t n, char *err, size_t errlen)
{
    const vc_claim_t **ptrs = malloc(n * sizeof(*ptrs));
    if (ptrs == NULL)
        return vc_err(err, errlen, VC_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        ptrs[i] = &claims[i];
    int rc = vc_claims_confirm(conn, ptrs, n, err, errlen);
    free(ptrs);
    return rc;
}

static int release_fn(PGconn *conn, vc_claim_t *claims, size_t n, char *err, size_t errlen)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = vc_claims_release(conn, &claims[i], err, errlen);
    return rc;
}

/* Takes the claims of jobs[0..n) in one transaction, copying the states back; a failed group
 * of several is retried one job at a time. */
static void take_group(claimer_t *c, job_t **jobs, size_t n, size_t total)
{
    vc_claim_t *all = n > 1 ? malloc(total * sizeof(*all)) : NULL;
    int rc = VC_ENOMEM;
    char err[256] = "";
    if (all != NULL) {
        for (size_t i = 0, k = 0; i < n; k += jobs[i]->n, i++)
            memcpy(&all[k], jobs[i]->claims, jobs[i]->n * sizeof(*all));
        rc = with_pg(c, JOB_TAKE, take_fn, all, total, err, sizeof(err));
    }
    for (size_t i = 0, k = 0; i < n; k += jobs[i]->n, i++) {
        job_t *j = jobs[i];
        if (rc == 0) {
            for (size_t m = 0; m < j->n; m++)
                j->claims[m].state = all[k + m].state;
            j->rc = 0;
        } else {
            j->rc = with_pg(c, JOB_TAKE, take_fn, j->claims, j->n, j->err, sizeof(j->err));
        }
    }
    if (rc != 0 && n > 1)
        VC_WARN("claimer.group_retried", "submissions=%zu claims=%zu error=\"%s\"", n, total,
                err);
    free(all);
}

/* Runs every TAKE job of the list in groups of at most GROUP_MAX claims. */
static void run_takes(claimer_t *c, job_t *list)
{
    job_t *group[GROUP_MAX];
    size_t n = 0, total = 0;
    for (job_t *j = list; j != NULL; j = j->next) {
        if (j->kind != JOB_TAKE)
            continue;
        if (n > 0 && (n == GROUP_MAX || total + j->n > GROUP_MAX)) {
            take_group(c, group, n, total);
            n = total = 0;
        }
        group[n++] = j;
        total += j->n;
    }
    if (n > 0)
        take_group(c, group, n, total);
}

/* Writes one kind of queued write (confirm or release) of the list, a group at a time; a
 * failed group of several is retried one job at a time. Losing one only makes a retry of that
 * submission publish again. */
static void run_writes(claimer_t *c, job_t *list, job_kind_t kind, pg_call_t fn)
{
    size_t total = 0;
    for (job_t *j = list; j != NULL; j = j->next)
        if (j->kind == kind)
            total += j->n;
    if (total == 0)
        return;
    vc_claim_t *all = malloc(total * sizeof(*all));
    char err[256] = "";
    int rc = VC_ENOMEM;
    if (all != NULL) {
        size_t k = 0;
        for (job_t *j = list; j != NULL; j = j->next)
            if (j->kind == kind) {
                memcpy(&all[k], j->claims, j->n * sizeof(*all));
                k += j->n;
            }
        rc = 0;
        for (size_t off = 0; rc == 0 && off < total; off += GROUP_MAX)
            rc = with_pg(c, kind, fn, &all[off], total - off < GROUP_MAX ? total - off : GROUP_MAX,
                         err, sizeof(err));
    }
    for (job_t *j = list; rc != 0 && j != NULL; j = j->next) {
        if (j->kind == kind && with_pg(c, kind, fn, j->claims, j->n, err, sizeof(err)) != 0)
            VC_WARN("claimer.write_failed", "op=%s tenant=%s id=%s claims=%zu error=\"%s\"",
                    kind == JOB_CONFIRM ? "confirm" : "release", j->claims[0].tenant,
                    j->claims[0].id, j->n, err);
    }
    free(all);
}

/* Acknowledgements first: a retry claimed in the same round then finds its original's
 * acknowledgement and is answered as a duplicate instead of publishing again. */
static void run_round(claimer_t *c, job_t *list)
{
    run_writes(c, list, JOB_CONFIRM, confirm_fn);
    run_writes(c, list, JOB_RELEASE, release_fn);
    run_takes(c, list);
    pthread_mutex_lock(&c->mu);
    for (job_t *j = list, *next; j != NULL; j = next) {
        next = j->next;
        if (j->kind == JOB_TAKE)
            j->done = 1; /* the caller owns it, and may free it once it sees this */
        else
            free(j);
    }
    pthread_cond_broadcast(&c->done);
    pthread_mutex_unlock(&c->mu);
}

static void *writer_main(void *arg)
{
    claimer_t *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (c->head == NULL && !c->stopping)
            pthread_cond_wait(&c->work, &c->mu);
        if (c->head == NULL)
            break;
        job_t *list = c->head;
        c->head = c->tail = NULL;
        pthread_mutex_unlock(&c->mu);
        run_round(c, list);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static void enqueue(claimer_t *c, job_t *j)
{
    j->next = NULL;
    if (c->tail != NULL)
        c->tail->next = j;
    else
        c->head = j;
    c->tail = j;
    pthread_cond_signal(&c->work);
}

int claimer_take(claimer_t *c, vc_claim_t *claims, size_t n, char *err, size_t errlen)
{
    if (n == 0)
        return 0;
    job_t j = {.kind = JOB_TAKE, .claims = claims, .n = n};
    pthread_mutex_lock(&c->mu);
    enqueue(c, &j);
    while (!j.done)
        pthread_cond_wait(&c->done, &c->mu);
    pthread_mutex_unlock(&c->mu);
    if (j.rc != 0)
        snprintf(err, errlen, "%s", j.err[0] ? j.err : vc_strerror(j.rc));
    return j.rc;
}

static size_t text_size(const char *s)
{
    return s != NULL ? strlen(s) + 1 : 0;
}

static const char *copy_text(char **at, const char *s)
{
    if (s == NULL)
        return NULL;
    size_t len = strlen(s) + 1;
    char *out = memcpy(*at, s, len);
    *at += len;
    return out;
}

/* One block: the job, its claims, then every string and placeholder they point to. */
static job_t *job_copy(job_kind_t kind, const vc_claim_t *const *claims, size_t n)
{
    size_t size = sizeof(job_t) + n * sizeof(vc_claim_t);
    for (size_t i = 0; i < n; i++)
        size += text_size(claims[i]->tenant) + text_size(claims[i]->id) +
                text_size(claims[i]->type) + text_size(claims[i]->trace_id) +
                claims[i]->placeholder_len;
    job_t *j = malloc(size);
    if (j == NULL)
        return NULL;
    memset(j, 0, sizeof(*j));
    j->kind = kind;
    j->n = n;
    j->claims = (vc_claim_t *)(j + 1);
    char *at = (char *)(j->claims + n);
    for (size_t i = 0; i < n; i++) {
        vc_claim_t *d = &j->claims[i];
        *d = *claims[i];
        d->tenant = copy_text(&at, claims[i]->tenant);
        d->id = copy_text(&at, claims[i]->id);
        d->type = copy_text(&at, claims[i]->type);
        d->trace_id = copy_text(&at, claims[i]->trace_id);
        if (claims[i]->placeholder_len > 0) {
            d->placeholder = memcpy(at, claims[i]->placeholder, claims[i]->placeholder_len);
            at += claims[i]->placeholder_len;
        }
    }
    return j;
}

static int queue_write(claimer_t *c, job_kind_t kind, const vc_claim_t *const *claims, size_t n)
{
    if (n == 0)
        return 0;
    job_t *j = job_copy(kind, claims, n);
    if (j == NULL)
        return VC_ENOMEM;
    pthread_mutex_lock(&c->mu);
    enqueue(c, j);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

int claimer_confirm(claimer_t *c, const vc_claim_t *const *claims, size_t n)
{
    return queue_write(c, JOB_CONFIRM, claims, n);
}

int claimer_release(claimer_t *c, const vc_claim_t *claim)
{
    return queue_write(c, JOB_RELEASE, &claim, 1);
}

int claimer_start(vc_pg_pool_t *pg, struct vc_breaker *br, vc_metrics_t *m, claimer_t **out)
{
    claimer_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return VC_ENOMEM;
    c->pg = pg;
    c->breaker = br;
    static const char *const ops[] = {"take", "confirm", "release"};
    int rc = 0;
    for (int k = 0; k < 3; k++) {
        char name[96];
        snprintf(name, sizeof(name), "vc_idempotency_transactions_total{op=\"%s\"}", ops[k]);
        c->m_txns[k] = vc_metrics_counter(m, name, "PostgreSQL transactions of the idempotency "
                                          "claim group commit, by operation.");
        snprintf(name, sizeof(name), "vc_idempotency_claims_total{op=\"%s\"}", ops[k]);
        c->m_claims[k] = vc_metrics_counter(m, name, "Claims those transactions carried.");
        if (c->m_txns[k] == NULL || c->m_claims[k] == NULL)
            rc = VC_ENOMEM;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->work, NULL);
    pthread_cond_init(&c->done, NULL);
    if (rc == 0 && pthread_create(&c->thread, NULL, writer_main, c) != 0)
        rc = VC_EIO;
    if (rc != 0) {
        pthread_cond_destroy(&c->done);
        pthread_cond_destroy(&c->work);
        pthread_mutex_destroy(&c->mu);
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void claimer_stop(claimer_t *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    c->stopping = 1;
    pthread_cond_signal(&c->work);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL); /* it writes what is queued before it ends */
    pthread_cond_destroy(&c->done);
    pthread_cond_destroy(&c->work);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
