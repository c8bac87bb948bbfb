/* Unit tests for vc/threadpool.h: every task runs exactly once, shutdown drains the queue,
 * bounded submission, thread names. */
#define _GNU_SOURCE /* pthread_getname_np */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "test.h"
#include "vc/error.h"
#include "vc/threadpool.h"

#define NTASKS 20000

static atomic_int hits[NTASKS];

static void count_task(void *arg)
{
    atomic_fetch_add(&hits[(size_t)arg], 1);
}

static void test_every_task_once(void)
{
    vc_threadpool_t *pool = NULL;
    ASSERT_EQ(vc_threadpool_new(0, 4, "t", &pool), VC_EINVAL);
    ASSERT_EQ(vc_threadpool_new(2, 0, "t", &pool), VC_EINVAL);
    ASSERT_OK(vc_threadpool_new(4, 16, "count", &pool));
    ASSERT_EQ(vc_threadpool_threads(pool), 4);
    for (size_t i = 0; i < NTASKS; i++)
        ASSERT_OK(vc_threadpool_submit(pool, count_task, (void *)i, -1));
    vc_threadpool_shutdown(pool);
    vc_threadpool_shutdown(pool); /* idempotent */
    for (size_t i = 0; i < NTASKS; i++) {
        if (atomic_load(&hits[i]) != 1)
            VC_TEST_FAIL("task %zu ran %d times", i, atomic_load(&hits[i]));
    }
    ASSERT_EQ(vc_threadpool_submit(pool, count_task, (void *)0, 0), VC_ECLOSED);
    ASSERT_EQ(vc_threadpool_submit(pool, NULL, NULL, 0), VC_EINVAL);
    vc_threadpool_free(pool);
    vc_threadpool_free(NULL);
}

/* A gate a task can block on until the test opens it. */
typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int started;
    int open;
} gate_t;

static gate_t gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
static atomic_int ran;

static void gate_reset(void)
{
    pthread_mutex_lock(&gate.mu);
    gate.started = 0;
    gate.open = 0;
    pthread_mutex_unlock(&gate.mu);
}

static void gate_task(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&gate.mu);
    gate.started = 1;
    pthread_cond_broadcast(&gate.cv);
    while (!gate.open)
        pthread_cond_wait(&gate.cv, &gate.mu);
    pthread_mutex_unlock(&gate.mu);
}

static void gate_wait_started(void)
{
    pthread_mutex_lock(&gate.mu);
    while (!gate.started)
        pthread_cond_wait(&gate.cv, &gate.mu);
    pthread_mutex_unlock(&gate.mu);
}

static void gate_open(void)
{
    pthread_mutex_lock(&gate.mu);
    gate.open = 1;
    pthread_cond_broadcast(&gate.cv);
    pthread_mutex_unlock(&gate.mu);
}

static void ran_task(void *arg)
{
    (void)arg;
    atomic_fetch_add(&ran, 1);
}

static void *shutdown_thread(void *p)
{
    vc_threadpool_shutdown(p);
    return NULL;
}

/* Tasks queued behind a blocked task when shutdown starts must all still run. */
static void test_shutdown_drains(void)
{
    vc_threadpool_t *pool = NULL;
    pthread_t t;
    int expected = 50;
    gate_reset();
    atomic_store(&ran, 0);
    ASSERT_OK(vc_threadpool_new(1, 1000, "drain", &pool));
    ASSERT_OK(vc_threadpool_submit(pool, gate_task, NULL, -1));
    gate_wait_started();
    for (int i = 0; i < 50; i++)
        ASSERT_OK(vc_threadpool_submit(pool, ran_task, NULL, 0));
    ASSERT_EQ(vc_threadpool_queued(pool), 50);
    ASSERT_OK(pthread_create(&t, NULL, shutdown_thread, pool));
    /* Wait (by condition, not time) until shutdown has closed the queue; submissions that
     * still get in before the close are queued tasks too and must run. */
    for (;;) {
        int rc = vc_threadpool_submit(pool, ran_task, NULL, 0);
        if (rc == VC_ECLOSED)
            break;
        if (rc != VC_EFULL) {
            ASSERT_OK(rc);
            expected++;
        }
        sched_yield();
    }
    ASSERT_EQ(atomic_load(&ran), 0);
    gate_open();
    ASSERT_OK(pthread_join(t, NULL));
    ASSERT_EQ(atomic_load(&ran), expected);
    ASSERT_EQ(vc_threadpool_queued(pool), 0);
    vc_threadpool_free(pool);
}

static void test_bounded_submit(void)
{
    vc_threadpool_t *pool = NULL;
    gate_reset();
    atomic_store(&ran, 0);
    ASSERT_OK(vc_threadpool_new(1, 2, "bound", &pool));
    ASSERT_OK(vc_threadpool_submit(pool, gate_task, NULL, -1));
    gate_wait_started();
    ASSERT_OK(vc_threadpool_submit(pool, ran_task, NULL, 0));
    ASSERT_OK(vc_threadpool_submit(pool, ran_task, NULL, 0));
    ASSERT_EQ(vc_threadpool_submit(pool, ran_task, NULL, 0), VC_EFULL);
    ASSERT_EQ(vc_threadpool_submit(pool, ran_task, NULL, 20), VC_ETIMEDOUT);
    gate_open();
    vc_threadpool_free(pool); /* shuts down and drains */
    ASSERT_EQ(atomic_load(&ran), 2);
}

static char names[3][32];

static void name_task(void *arg)
{
    size_t i = (size_t)arg;
    pthread_getname_np(pthread_self(), names[i], sizeof(names[i]));
}

static void test_thread_names(void)
{
    vc_threadpool_t *pool = NULL;
    ASSERT_OK(vc_threadpool_new(1, 4, "averyverylongpoolname", &pool));
    ASSERT_OK(vc_threadpool_submit(pool, name_task, (void *)0, -1));
    vc_threadpool_free(pool);
    ASSERT_STREQ(names[0], "averyverylong-0");
    ASSERT_OK(vc_threadpool_new(1, 4, "det", &pool));
    ASSERT_OK(vc_threadpool_submit(pool, name_task, (void *)1, -1));
    vc_threadpool_free(pool);
    ASSERT_STREQ(names[1], "det-0");
}

int main(void)
{
    RUN(test_every_task_once);
    RUN(test_shutdown_drains);
    RUN(test_bounded_submit);
    RUN(test_thread_names);
    return 0;
}
