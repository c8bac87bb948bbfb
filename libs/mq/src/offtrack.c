/* In-flight offset tracking. Each partition keeps its begun offsets in increasing order in a
 * growable array with a moving head; finishing the head entry retires the contiguous finished
 * run and yields the next commit point. Lookups are binary searches. */
#include <stdlib.h>
#include <string.h>

#include "vc/error.h"
#include "vc/offtrack.h"

typedef struct {
    int64_t offset;
    int done;
} entry_t;

typedef struct {
    int32_t partition;
    entry_t *items;
    size_t head, tail, cap; /* live entries are items[head, tail) */
} part_t;

struct vc_offtrack {
    part_t *parts;
    size_t nparts, cap;
    size_t inflight;
};

int vc_offtrack_new(vc_offtrack_t **out)
{
    vc_offtrack_t *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return VC_ENOMEM;
    *out = t;
    return 0;
}

void vc_offtrack_free(vc_offtrack_t *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nparts; i++)
        free(t->parts[i].items);
    free(t->parts);
    free(t);
}

static part_t *part_find(vc_offtrack_t *t, int32_t partition)
{
    for (size_t i = 0; i < t->nparts; i++)
        if (t->parts[i].partition == partition)
            return &t->parts[i];
    return NULL;
}

static part_t *part_get_or_add(vc_offtrack_t *t, int32_t partition)
{
    part_t *p = part_find(t, partition);
    if (p != NULL)
        return p;
    if (t->nparts == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 8;
        part_t *np = realloc(t->parts, ncap * sizeof(*np));
        if (np == NULL)
            return NULL;
        t->parts = np;
        t->cap = ncap;
    }
    p = &t->parts[t->nparts++];
    memset(p, 0, sizeof(*p));
    p->partition = partition;
    return p;
}

/* Makes room for one more entry at the tail: slide live entries to the front when the head
 * has moved, else grow. */
static int part_reserve(part_t *p)
{
    if (p->tail < p->cap)
        return 0;
    if (p->head > 0) {
        memmove(p->items, p->items + p->head, (p->tail - p->head) * sizeof(entry_t));
        p->tail -= p->head;
        p->head = 0;
        return 0;
    }
    size_t ncap = p->cap ? p->cap * 2 : 64;
    entry_t *ni = realloc(p->items, ncap * sizeof(*ni));
    if (ni == NULL)
        return VC_ENOMEM;
    p->items = ni;
    p->cap = ncap;
    return 0;
}

int vc_offtrack_begin(vc_offtrack_t *t, int32_t partition, int64_t offset)
{
    if (partition < 0 || offset < 0)
        return VC_EINVAL;
    part_t *p = part_get_or_add(t, partition);
    if (p == NULL)
        return VC_ENOMEM;
    if (p->tail > p->head && p->items[p->tail - 1].offset >= offset)
        return VC_EINVAL;
    if (part_reserve(p) != 0)
        return VC_ENOMEM;
    p->items[p->tail++] = (entry_t){.offset = offset, .done = 0};
    t->inflight++;
    return 0;
}

static entry_t *entry_find(part_t *p, int64_t offset)
{
    size_t lo = p->head, hi = p->tail;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->items[mid].offset < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < p->tail && p->items[lo].offset == offset)
        return &p->items[lo];
    return NULL;
}

int64_t vc_offtrack_done(vc_offtrack_t *t, int32_t partition, int64_t offset)
{
    part_t *p = part_find(t, partition);
    entry_t *e = p ? entry_find(p, offset) : NULL;
    if (e == NULL || e->done)
        return VC_ENOTFOUND;
    e->done = 1;
    int64_t next = -1;
    while (p->head < p->tail && p->items[p->head].done) {
        next = p->items[p->head].offset + 1;
        p->head++;
        t->inflight--;
    }
    if (p->head == p->tail)
        p->head = p->tail = 0;
    return next;
}

void vc_offtrack_forget(vc_offtrack_t *t, int32_t partition)
{
    part_t *p = part_find(t, partition);
    if (p == NULL)
        return;
    t->inflight -= p->tail - p->head;
    p->head = p->tail = 0;
}

size_t vc_offtrack_inflight(const vc_offtrack_t *t)
{
    return t->inflight;
}

size_t vc_offtrack_partition_inflight(const vc_offtrack_t *t, int32_t partition)
{
    for (size_t i = 0; i < t->nparts; i++)
        if (t->parts[i].partition == partition)
            return t->parts[i].tail - t->parts[i].head;
    return 0;
}
