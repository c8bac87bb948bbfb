/* librdkafka properties passed through by the operator: a Java-style properties file
 * (KAFKA_CONFIG_FILE) and KAFKA_CONF_<NAME> variables, collected into a vc_kafka_conf_t that
 * every client applies after vcguard's own settings. Values may be secrets (sasl.password,
 * ssl.key.password): no message built here ever contains one. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vc/error.h"
#include "vc/mq.h"

#define ENV_PREFIX "KAFKA_CONF_"
#define LINE_MAX_BYTES 8192
#define FILE_MAX_BYTES (1024 * 1024)

extern char **environ;

int vc_kafka_conf_env_key(const char *env, char *key, size_t cap)
{
    size_t plen = strlen(ENV_PREFIX);
    if (strncmp(env, ENV_PREFIX, plen) != 0 || env[plen] == '\0')
        return VC_EINVAL;
    const char *name = env + plen;
    size_t n = strlen(name);
    if (n + 1 > cap)
        return VC_EINVAL;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (!isalnum(ch) && ch != '_')
            return VC_EINVAL;
        key[i] = ch == '_' ? '.' : (char)tolower(ch);
    }
    key[n] = '\0';
    return 0;
}

/* A property name as librdkafka spells them: letters, digits, '.', '_' and '-'. */
static int key_valid(const char *key)
{
    if (*key == '\0')
        return 0;
    for (const char *p = key; *p != '\0'; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
            return 0;
    return 1;
}

/* Copies s into conf->buf; returns its offset, or -1 when the buffer is full. */
static int buf_add(vc_kafka_conf_t *conf, const char *s)
{
    size_t n = strlen(s) + 1;
    if (conf->used + n > sizeof(conf->buf))
        return -1;
    int off = (int)conf->used;
    memcpy(conf->buf + off, s, n);
    conf->used += (unsigned)n;
    return off;
}

int vc_kafka_conf_put(vc_kafka_conf_t *conf, const char *key, const char *value, int line,
                      char *err, size_t errlen)
{
    if (!key_valid(key))
        return vc_err(err, errlen, VC_EINVAL, "kafka property name \"%.*s\": empty or holds "
                      "characters other than letters, digits, '.', '_', '-'",
                      VC_KAFKA_CONF_KEY_MAX, key);
    if (strlen(key) >= VC_KAFKA_CONF_KEY_MAX)
        return vc_err(err, errlen, VC_ETOOBIG, "kafka property name longer than %d bytes",
                      VC_KAFKA_CONF_KEY_MAX - 1);
    if (strlen(value) >= VC_KAFKA_CONF_VALUE_MAX)
        return vc_err(err, errlen, VC_ETOOBIG,
                      "kafka property %s: value longer than %d bytes (value redacted)", key,
                      VC_KAFKA_CONF_VALUE_MAX - 1);
    int i = 0;
    while (i < conf->n && strcmp(conf->buf + conf->at[i].key, key) != 0)
        i++;
    if (i == conf->n && conf->n == VC_KAFKA_CONF_MAX)
        return vc_err(err, errlen, VC_ETOOBIG, "kafka property %s: more than %d properties",
                      key, VC_KAFKA_CONF_MAX);
    /* A replaced value's bytes stay in buf (bounded: the caps above). */
    int koff = i < conf->n ? conf->at[i].key : buf_add(conf, key);
    int voff = koff < 0 ? -1 : buf_add(conf, value);
    if (voff < 0)
        return vc_err(err, errlen, VC_ETOOBIG,
                      "kafka property %s: all properties together over %d bytes", key,
                      VC_KAFKA_CONF_BUF);
    conf->at[i].key = (unsigned short)koff;
    conf->at[i].value = (unsigned short)voff;
    conf->at[i].line = (unsigned short)(line > 65535 ? 65535 : line);
    if (i == conf->n)
        conf->n++;
    return 0;
}

/* Trims [*s, *e) of surrounding blanks. */
static void trim(const char **s, const char **e)
{
    while (*s < *e && isspace((unsigned char)**s))
        (*s)++;
    while (*e > *s && isspace((unsigned char)(*e)[-1]))
        (*e)--;
}

/* Parses one line [s, e) (no newline). Returns 0 or VC_E* with err set. */
static int parse_line(vc_kafka_conf_t *conf, const char *s, const char *e, const char *origin,
                      int line, char *err, size_t errlen)
{
    trim(&s, &e);
    if (s == e || *s == '#' || *s == '!')
        return 0;
    const char *eq = memchr(s, '=', (size_t)(e - s));
    if (eq == NULL)
        return vc_err(err, errlen, VC_EINVAL, "%s line %d: expected key=value", origin, line);
    const char *ks = s, *ke = eq, *vs = eq + 1, *ve = e;
    trim(&ks, &ke);
    trim(&vs, &ve);
    char key[VC_KAFKA_CONF_KEY_MAX], value[VC_KAFKA_CONF_VALUE_MAX];
    if (ke == ks)
        return vc_err(err, errlen, VC_EINVAL, "%s line %d: empty key", origin, line);
    if ((size_t)(ke - ks) >= sizeof(key))
        return vc_err(err, errlen, VC_ETOOBIG, "%s line %d: key longer than %zu bytes", origin,
                      line, sizeof(key) - 1);
    memcpy(key, ks, (size_t)(ke - ks));
    key[ke - ks] = '\0';
    if ((size_t)(ve - vs) >= sizeof(value))
        return vc_err(err, errlen, VC_ETOOBIG,
                      "%s line %d: %s: value longer than %zu bytes (value redacted)", origin,
                      line, key, sizeof(value) - 1);
    memcpy(value, vs, (size_t)(ve - vs));
    value[ve - vs] = '\0';
    char why[256];
    int rc = vc_kafka_conf_put(conf, key, value, line, why, sizeof(why));
    return rc == 0 ? 0 : vc_err(err, errlen, rc, "%s line %d: %s", origin, line, why);
}

int vc_kafka_conf_parse(vc_kafka_conf_t *conf, const char *text, size_t len, const char *origin,
                        char *err, size_t errlen)
{
    const char *p = text, *end = text + len;
    for (int line = 1; p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl != NULL ? nl : end;
        if (e - p > LINE_MAX_BYTES)
            return vc_err(err, errlen, VC_ETOOBIG, "%s line %d: longer than %d bytes", origin,
                          line, LINE_MAX_BYTES);
        if (memchr(p, '\0', (size_t)(e - p)) != NULL)
            return vc_err(err, errlen, VC_EINVAL, "%s line %d: holds a NUL byte", origin, line);
        int rc = parse_line(conf, p, e, origin, line, err, errlen);
        if (rc != 0)
            return rc;
        p = nl != NULL ? nl + 1 : end;
    }
    return 0;
}

int vc_kafka_conf_load_file(vc_kafka_conf_t *conf, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return vc_err(err, errlen, VC_EIO, "KAFKA_CONFIG_FILE=%s: cannot open", path);
    char *text = malloc(FILE_MAX_BYTES + 1);
    if (text == NULL) {
        fclose(f);
        return VC_ENOMEM;
    }
    size_t n = fread(text, 1, FILE_MAX_BYTES + 1, f);
    int rc = ferror(f) ? vc_err(err, errlen, VC_EIO, "KAFKA_CONFIG_FILE=%s: read error", path)
             : n > FILE_MAX_BYTES
                 ? vc_err(err, errlen, VC_ETOOBIG, "KAFKA_CONFIG_FILE=%s: larger than %d bytes",
                          path, FILE_MAX_BYTES)
                 : vc_kafka_conf_parse(conf, text, n, path, err, errlen);
    /* The text may hold secrets: wipe it before it goes back to the allocator. */
    memset(text, 0, n < FILE_MAX_BYTES ? n : FILE_MAX_BYTES);
    free(text);
    fclose(f);
    return rc;
}

/* Adds every KAFKA_CONF_* variable, in environment order. */
static int conf_from_environ(vc_kafka_conf_t *conf, char *err, size_t errlen)
{
    for (char **e = environ; e != NULL && *e != NULL; e++) {
        if (strncmp(*e, ENV_PREFIX, strlen(ENV_PREFIX)) != 0)
            continue;
        const char *eq = strchr(*e, '=');
        size_t nlen = eq != NULL ? (size_t)(eq - *e) : strlen(*e);
        char name[VC_KAFKA_CONF_KEY_MAX + sizeof(ENV_PREFIX)], key[VC_KAFKA_CONF_KEY_MAX];
        if (eq == NULL || nlen >= sizeof(name))
            return vc_err(err, errlen, VC_EINVAL, "%.*s...: variable name too long", 40, *e);
        memcpy(name, *e, nlen);
        name[nlen] = '\0';
        if (vc_kafka_conf_env_key(name, key, sizeof(key)) != 0)
            return vc_err(err, errlen, VC_EINVAL,
                          "%s: not a property name (KAFKA_CONF_ then letters, digits, '_')",
                          name);
        char why[256];
        int rc = vc_kafka_conf_put(conf, key, eq + 1, 0, why, sizeof(why));
        if (rc != 0)
            return vc_err(err, errlen, rc, "%s: %s", name, why);
    }
    return 0;
}

/* Properties vcguard sets itself because correctness depends on them, and why. Aliases
 * librdkafka accepts for the same property are listed too. */
static const struct {
    const char *key, *why;
} protected_keys[] = {
    {"enable.idempotence", "the producer must stay idempotent (no duplicates, no reordering)"},
    {"acks", "every write waits for all in-sync replicas (acks=all)"},
    {"request.required.acks", "every write waits for all in-sync replicas (acks=all)"},
    {"enable.auto.offset.store", "offsets are stored only after a message is durably processed"},
    {"enable.auto.commit", "the detector commits only offsets it stored"},
    {"auto.commit.enable", "the detector commits only offsets it stored"},
    {"group.id", "set KAFKA_GROUP_ID"},
    {"bootstrap.servers", "set KAFKA_BROKERS"},
    {"metadata.broker.list", "set KAFKA_BROKERS"},
    {"client.id", "vcguard names each client after its process (INSTANCE_ID)"},
    {"debug", "set KAFKA_DEBUG"},
    {"message.max.bytes", "set KAFKA_MESSAGE_MAX_BYTES (the gateway sizes its limits from it)"},
    {"message.timeout.ms", "set KAFKA_DELIVERY_TIMEOUT_MS"},
    {"delivery.timeout.ms", "set KAFKA_DELIVERY_TIMEOUT_MS"},
    {"session.timeout.ms", "set KAFKA_SESSION_TIMEOUT_MS"},
    {"max.poll.interval.ms", "set KAFKA_MAX_POLL_INTERVAL_MS"},
    {"partition.assignment.strategy", "set KAFKA_ASSIGNMENT_STRATEGY"},
    {"group.instance.id", "set by the detector (DETECTOR_STATIC_MEMBERSHIP)"},
    {"transactional.id", "vcguard's producers are idempotent, not transactional"},
    {"allow.auto.create.topics",
     "topics are provisioned by `vc-admin topics ensure`, never created by a client"},
};

int vc_kafka_conf_check(const vc_kafka_conf_t *conf, char *err, size_t errlen)
{
    for (int i = 0; i < conf->n; i++) {
        const char *key = conf->buf + conf->at[i].key;
        for (size_t k = 0; k < sizeof(protected_keys) / sizeof(protected_keys[0]); k++)
            if (strcmp(key, protected_keys[k].key) == 0)
                return vc_err(err, errlen, VC_EPERM,
                              "kafka property %s is set by vcguard and cannot be overridden "
                              "(%s); value redacted",
                              key, protected_keys[k].why);
    }
    return 0;
}

/* Fills cfg->conf: KAFKA_CONFIG_FILE first, then KAFKA_CONF_* over it. */
int vc_mq__conf_from_env(vc_kafka_conf_t *conf, char *err, size_t errlen)
{
    memset(conf, 0, sizeof(*conf));
    const char *path = getenv("KAFKA_CONFIG_FILE");
    int rc = 0;
    if (path != NULL && *path != '\0')
        rc = vc_kafka_conf_load_file(conf, path, err, errlen);
    if (rc == 0)
        rc = conf_from_environ(conf, err, errlen);
    if (rc == 0)
        rc = vc_kafka_conf_check(conf, err, errlen);
    return rc;
}
