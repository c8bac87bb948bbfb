/* In-process sliding-log limiter: a chained hash table of keys, each with a ring of the
 * monotonic times of its allowed requests (grown on demand up to the limit), and an LRU list
 * that bounds the number of keys. Same decision rule as the Redis script in ratelimit.c. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit_local.h"
#include "vc/error.h"

typedef struct entry {
    struct entry *hnext;       /* hash chain */
    struct entry *prev, *next; /* LRU list, most recent first */
    uint64_t hash;
    int64_t *ts; /* ring of allowed-request times, oldest at head */
    size_t cap, head, count;
    size_t keylen;
    char key[];
} entry_t;

struct vc_rl_local {
    pthread_mutex_t mu;
    entry_t **buckets;
    size_t nbuckets; /* power of two */
    size_t size, max_keys;
    entry_t *lru_head, *lru_tail;
};

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

int vc_ratelimit__local_new(size_t max_keys, vc_rl_local_t **out)
{
    if (max_keys == 0)
        return VC_EINVAL;
    vc_rl_local_t *loc = calloc(1, sizeof(*loc));
    if (loc == NULL)
        return VC_ENOMEM;
    loc->nbuckets = 64;
    while (loc->nbuckets < max_keys / 2 && loc->nbuckets < ((size_t)1 << 20))
        loc->nbuckets <<= 1;
    loc->buckets = calloc(loc->nbuckets, sizeof(*loc->buckets));
    if (loc->buckets == NULL)
        goto fail;
    if (pthread_mutex_init(&loc->mu, NULL) != 0)
        goto fail;
    loc->max_keys = max_keys;
    *out = loc;
    return 0;
fail:
    free(loc->buckets);
    free(loc);
    return VC_ENOMEM;
}

void vc_ratelimit__local_free(vc_rl_local_t *loc)
{
    if (loc == NULL)
        return;
    entry_t *e = loc->lru_head;
    while (e != NULL) {
        entry_t *next = e->next;
        free(e->ts);
        free(e);
        e = next;
    }
    free(loc->buckets);
    pthread_mutex_destroy(&loc->mu);
    free(loc);
}

/* @locks loc->mu held (all helpers below). */
static void lru_unlink(vc_rl_local_t *loc, entry_t *e)
{
    if (e->prev != NULL)
        e->prev->next = e->next;
    else
        loc->lru_head = e->next;
    if (e->next != NULL)
        e->next->prev = e->prev;
    else
        loc->lru_tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push_front(vc_rl_local_t *loc, entry_t *e)
{
    e->prev = NULL;
    e->next = loc->lru_head;
    if (loc->lru_head != NULL)
        loc->lru_head->prev = e;
    loc->lru_head = e;
    if (loc->lru_tail == NULL)
        loc->lru_tail = e;
}

static void remove_entry(vc_rl_local_t *loc, entry_t *e)
{
    entry_t **pp = &loc->buckets[e->hash & (loc->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(loc, e);
    loc->size--;
    free(e->ts);
    free(e);
}

static entry_t *find(vc_rl_local_t *loc, const char *key, size_t keylen, uint64_t h)
{
    for (entry_t *e = loc->buckets[h & (loc->nbuckets - 1)]; e != NULL; e = e->hnext) {
        if (e->hash == h && e->keylen == keylen && memcmp(e->key, key, keylen) == 0)
            return e;
    }
    return NULL;
}

static entry_t *insert(vc_rl_local_t *loc, const char *key, size_t keylen, uint64_t h)
{
    /* At the cap the least recently used key goes: it is the most likely to be idle. */
    if (loc->size >= loc->max_keys && loc->lru_tail != NULL)
        remove_entry(loc, loc->lru_tail);
    entry_t *e = calloc(1, sizeof(*e) + keylen);
    if (e == NULL)
        return NULL;
    memcpy(e->key, key, keylen);
    e->keylen = keylen;
    e->hash = h;
    size_t b = h & (loc->nbuckets - 1);
    e->hnext = loc->buckets[b];
    loc->buckets[b] = e;
    lru_push_front(loc, e);
    loc->size++;
    return e;
}

static int64_t at(const entry_t *e, size_t i)
{
    return e->ts[(e->head + i) % e->cap];
}

/* Makes room for one more timestamp (ring grows by doubling, never beyond limit). */
static int reserve(entry_t *e, long limit)
{
    if (e->count < e->cap)
        return 0;
    size_t ncap = e->cap == 0 ? 4 : e->cap * 2;
    if (ncap > (size_t)limit)
        ncap = (size_t)limit;
    if (ncap <= e->cap)
        ncap = e->cap + 1;
    int64_t *nts = malloc(ncap * sizeof(*nts));
    if (nts == NULL)
        return VC_ENOMEM;
    for (size_t i = 0; i < e->count; i++)
        nts[i] = at(e, i);
    free(e->ts);
    e->ts = nts;
    e->cap = ncap;
    e->head = 0;
    return 0;
}

static long long ceil_ms(int64_t us)
{
    return us <= 0 ? 0 : (long long)((us + 999) / 1000);
}

int vc_ratelimit__local_check(vc_rl_local_t *loc, const char *key, size_t keylen, long limit,
                              int64_t window_us, int64_t now_us, vc_ratelimit_result_t *res)
{
    int rc = 0;
    uint64_t h = fnv1a(key, keylen);
    memset(res, 0, sizeof(*res));
    res->limit = limit;
    res->window_ms = window_us / 1000;
    pthread_mutex_lock(&loc->mu);
    entry_t *e = find(loc, key, keylen, h);
    if (e == NULL)
        e = insert(loc, key, keylen, h);
    if (e == NULL) {
        rc = VC_ENOMEM;
        goto out;
    }
    lru_unlink(loc, e);
    lru_push_front(loc, e);
    /* Requests at or before now − window have left the window. */
    while (e->count > 0 && at(e, 0) <= now_us - window_us) {
        e->head = (e->head + 1) % e->cap;
        e->count--;
    }
    if (e->count < (size_t)limit) {
        rc = reserve(e, limit);
        if (rc != 0)
            goto out;
        e->ts[(e->head + e->count) % e->cap] = now_us;
        e->count++;
        res->allowed = 1;
    } else {
        /* Allowed again once count − limit + 1 of the oldest have left. */
        int64_t leaves = at(e, e->count - (size_t)limit) + window_us;
        res->retry_after_ms = ceil_ms(leaves - now_us);
        if (res->retry_after_ms < 1)
            res->retry_after_ms = 1;
    }
    res->remaining = e->count >= (size_t)limit ? 0 : limit - (long)e->count;
    res->reset_ms = e->count > 0 ? ceil_ms(at(e, 0) + window_us - now_us) : 0;
out:
    if (rc != 0) {
        res->allowed = 0;
        res->retry_after_ms = 1000;
    }
    pthread_mutex_unlock(&loc->mu);
    return rc;
}

size_t vc_ratelimit__local_size(vc_rl_local_t *loc)
{
    pthread_mutex_lock(&loc->mu);
    size_t n = loc->size;
    pthread_mutex_unlock(&loc->mu);
    return n;
}
