/* PostgreSQL is only reached through parameterised statements: a source check over libs/ and
 * services/ (no server needed). Every libpq call that sends SQL must take its statement text
 * from a string literal or an UPPER_CASE compile-time constant; values travel as $n
 * parameters. Two reviewed helpers take the text as a variable, and their callers are checked
 * in turn: migrate.c exec_ok (literals and the compiled-in migrations) and apikeys.c query
 * (literals, or a buffer snprintf'd only from literals and UPPER_CASE constants). Escaping
 * functions (PQescapeLiteral, ...) would mean SQL is being built from data: none may appear.
 * A new call site that does not fit fails here and needs review, not an allowlist entry. */
#include <dirent.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "support/stack.h"
#include "test.h"

static const char *const sends[] = {"PQexec",    "PQexecParams", "PQsendQuery", "PQsendQueryParams",
                                    "PQprepare", "PQsendPrepare"};
static const char *const escapes[] = {"PQescapeLiteral", "PQescapeString", "PQescapeStringConn",
                                      "PQescapeIdentifier"};
static int calls_seen, files_seen;

static int ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* Copies argument number `want` (0-based) of the call whose '(' is at open into out,
 * whitespace-trimmed. Returns 0, or -1 when the call has fewer arguments. */
static int call_arg(const char *open, int want, char *out, size_t cap)
{
    int depth = 0, arg = 0;
    const char *start = open + 1;
    for (const char *p = open + 1; *p != '\0'; p++) {
        if (*p == '"' || *p == '\'') { /* skip literals, escapes included */
            char q = *p;
            for (p++; *p != '\0' && *p != q; p++)
                if (*p == '\\' && p[1] != '\0')
                    p++;
            continue;
        }
        if (*p == '(' || *p == '[' || *p == '{')
            depth++;
        else if ((*p == ')' || *p == ']' || *p == '}') && depth > 0)
            depth--;
        else if ((*p == ',' && depth == 0) || (*p == ')' && depth == 0)) {
            if (arg == want) {
                while (start < p && isspace((unsigned char)*start))
                    start++;
                const char *end = p;
                while (end > start && isspace((unsigned char)end[-1]))
                    end--;
                snprintf(out, cap, "%.*s", (int)(end - start), start);
                return 0;
            }
            if (*p == ')')
                return -1;
            arg++;
            start = p + 1;
        }
    }
    return -1;
}

static int is_literal(const char *a)
{
    return a[0] == '"';
}

/* An UPPER_CASE identifier: a macro or static constant, fixed at compile time. */
static int is_constant(const char *a)
{
    if (*a == '\0' || isdigit((unsigned char)*a))
        return 0;
    for (; *a != '\0'; a++)
        if (!(isupper((unsigned char)*a) || isdigit((unsigned char)*a) || *a == '_'))
            return 0;
    return 1;
}

/* Each call of fn (as a whole word) in text: its argument `arg`, checked by ok(). */
static void each_call(const char *file, const char *text, const char *fn, int arg,
                      int (*ok)(const char *file, const char *arg), const char *rule)
{
    size_t n = strlen(fn);
    for (const char *p = strstr(text, fn); p != NULL; p = strstr(p + n, fn)) {
        if ((p > text && ident_char(p[-1])) || p[n] != '(')
            continue;
        /* skip the prototype/definition of a helper (its parameters are declarations) */
        const char *bol = p;
        while (bol > text && bol[-1] != '\n')
            bol--;
        if (p == bol || strncmp(bol, "static ", 7) == 0)
            continue;
        char a[512];
        if (call_arg(p + n, arg, a, sizeof(a)) != 0)
            VC_TEST_FAIL("%s: cannot read the arguments of %s near \"%.60s\"", file, fn, p);
        calls_seen++;
        fprintf(stderr, "  %s: %s(…, %s, …)\n", file, fn, a);
        if (!ok(file, a))
            VC_TEST_FAIL("%s: %s takes SQL from \"%s\": %s", file, fn, a, rule);
    }
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int sql_ok(const char *file, const char *a)
{
    if (is_literal(a) || is_constant(a))
        return 1;
    /* the two reviewed helpers, whose callers are checked below */
    return strcmp(a, "sql") == 0 && (ends_with(file, "libs/store/src/migrate.c") ||
                                     ends_with(file, "libs/store/src/apikeys.c"));
}

static int migrate_caller_ok(const char *file, const char *a)
{
    (void)file;
    return is_literal(a) || strcmp(a, "m->sql") == 0; /* compiled-in migration text */
}

static int apikeys_caller_ok(const char *file, const char *a)
{
    (void)file;
    return is_literal(a) || strcmp(a, "sql") == 0;
}

/* Every argument after the format of snprintf(sql, ...) is an UPPER_CASE constant. */
static int snprintf_args_ok(const char *file, const char *a)
{
    (void)file;
    return is_literal(a); /* the format itself */
}

static void check_sql_buffers(const char *file, const char *text)
{
    each_call(file, text, "snprintf", 2, snprintf_args_ok, "the format must be a literal");
    for (const char *p = strstr(text, "snprintf(sql,"); p != NULL;
         p = strstr(p + 1, "snprintf(sql,")) {
        for (int k = 3;; k++) {
            char a[256];
            if (call_arg(p + 8, k, a, sizeof(a)) != 0)
                break;
            if (!is_constant(a))
                VC_TEST_FAIL("%s: SQL text formatted from \"%s\", not a constant", file, a);
        }
    }
}

static void check_file(const char *path, const char *rel)
{
    char *text = vc_test_read_file(path, NULL);
    files_seen++;
    for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++)
        if (strstr(text, escapes[i]) != NULL)
            VC_TEST_FAIL("%s uses %s: SQL built from data", rel, escapes[i]);
    for (size_t i = 0; i < sizeof(sends) / sizeof(sends[0]); i++)
        each_call(rel, text, sends[i], 1, sql_ok,
                  "statement text must be a literal or an UPPER_CASE constant");
    if (ends_with(rel, "libs/store/src/migrate.c"))
        each_call(rel, text, "exec_ok", 1, migrate_caller_ok,
                  "exec_ok runs literals and compiled-in migrations only");
    if (ends_with(rel, "libs/store/src/apikeys.c")) {
        each_call(rel, text, "query", 1, apikeys_caller_ok,
                  "query runs literals or the constant-built sql buffer only");
        check_sql_buffers(rel, text);
    }
    free(text);
}

static void walk(const char *root, const char *rel)
{
    char path[2048];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    DIR *d = opendir(path);
    if (d == NULL)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char sub[1024], full[2048];
        snprintf(sub, sizeof(sub), "%s/%s", rel, de->d_name);
        snprintf(full, sizeof(full), "%s/%s", root, sub);
        struct stat st;
        if (stat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            walk(root, sub);
        else if (ends_with(de->d_name, ".c") || ends_with(de->d_name, ".h"))
            check_file(full, sub);
    }
    closedir(d);
}

static void every_statement_is_parameterised(void)
{
    const char *src = getenv("VC_SOURCE_DIR");
    if (src == NULL)
        VC_TEST_FAIL("VC_SOURCE_DIR is not set (ctest sets it)");
    walk(src, "libs");
    walk(src, "services");
    fprintf(stderr, "%d SQL call sites in %d files checked\n", calls_seen, files_seen);
    ASSERT(calls_seen >= 10); /* the check really found the store's statements */
}

int main(void)
{
    RUN(every_statement_is_parameterised);
    return 0;
}
