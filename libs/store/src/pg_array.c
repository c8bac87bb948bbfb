#include "pg_array.h"

#include <stdlib.h>
#include <string.h>

void pg_array_init(pg_array_t *a)
{
    memset(a, 0, sizeof(*a));
}

static int reserve(pg_array_t *a, size_t more)
{
    if (a->oom)
        return -1;
    if (a->len + more + 2 <= a->cap) /* room for the closing brace and NUL */
        return 0;
    size_t cap = a->cap ? a->cap : 256;
    while (cap < a->len + more + 2)
        cap *= 2;
    char *b = realloc(a->buf, cap);
    if (b == NULL) {
        a->oom = 1;
        return -1;
    }
    a->buf = b;
    a->cap = cap;
    return 0;
}

/* The separator before an element: "{" first, "," after. */
static void open_element(pg_array_t *a)
{
    a->buf[a->len++] = a->n++ == 0 ? '{' : ',';
}

void pg_array_text(pg_array_t *a, const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (reserve(a, 2 * n + 8) != 0)
        return;
    open_element(a);
    if (s == NULL) {
        memcpy(a->buf + a->len, "NULL", 4);
        a->len += 4;
        return;
    }
    a->buf[a->len++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\')
            a->buf[a->len++] = '\\';
        a->buf[a->len++] = s[i];
    }
    a->buf[a->len++] = '"';
}

void pg_array_bytea(pg_array_t *a, const uint8_t *p, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (reserve(a, 2 * len + 8) != 0)
        return;
    open_element(a);
    /* "\\x…": the array parser turns the escaped backslash into bytea's hex prefix. */
    memcpy(a->buf + a->len, "\"\\\\x", 4);
    a->len += 4;
    for (size_t i = 0; i < len; i++) {
        a->buf[a->len++] = hex[p[i] >> 4];
        a->buf[a->len++] = hex[p[i] & 15];
    }
    a->buf[a->len++] = '"';
}

const char *pg_array_finish(pg_array_t *a)
{
    if (reserve(a, 1) != 0)
        return NULL;
    if (a->n == 0)
        a->buf[a->len++] = '{';
    a->buf[a->len++] = '}';
    a->buf[a->len] = '\0';
    return a->buf;
}

void pg_array_free(pg_array_t *a)
{
    free(a->buf);
    memset(a, 0, sizeof(*a));
}
