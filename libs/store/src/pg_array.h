#ifndef VC_STORE_PG_ARRAY_H
#define VC_STORE_PG_ARRAY_H
/* PostgreSQL array literals in text format ('{"a",NULL,"\\x00ff"}'), built to pass one
 * parameter per column to a statement that unnests them: a batch of N rows is one statement,
 * parsed and planned once, instead of N. Elements are always quoted, so no value can end an
 * element or the array early. */
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *buf;
    size_t len, cap;
    int n;     /* elements so far */
    int oom;   /* an append failed: the literal is unusable */
} pg_array_t;

void pg_array_init(pg_array_t *a);
/* Appends a text element; NULL appends SQL NULL. */
void pg_array_text(pg_array_t *a, const char *s);
/* Appends a bytea element (hex form) of len bytes. */
void pg_array_bytea(pg_array_t *a, const uint8_t *p, size_t len);
/* The NUL-terminated literal ("{...}"), or NULL when an append ran out of memory. The array
 * keeps ownership. */
const char *pg_array_finish(pg_array_t *a);
void pg_array_free(pg_array_t *a);

#endif
