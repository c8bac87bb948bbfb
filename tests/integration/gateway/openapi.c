/* The OpenAPI contract (schemas/openapi.yaml) against a running gateway. The YAML is the
 * source of truth: for every documented path, method and status this test provokes that
 * status from a real gateway (with a detector, on the servers of tests/run) and checks the
 * answer against the YAML: the status itself, the media type, the body against the response
 * schema (so every error is {"error":{"code","message"}} with a documented code) and every
 * header marked required. A route or status added to the YAML that the gateway does not serve
 * fails here; the few statuses that need a broken environment are listed in `exempt` and
 * covered by their own tests. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <msgpack.h>
#include <netinet/in.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "support/stack.h"
#include "test.h"
#include "vc/base64.h"

#define MAX_BODY 65536   /* MAX_BODY_BYTES=64K for the gateway under test */
#define MAX_CONCURRENT 2 /* MAX_CONCURRENT_REQUESTS */

/* Statuses that need a broken environment; each is covered elsewhere. */
static const char *const exempt[][2] = {
    {"GET /health 503", "Kafka down: tests/integration/gateway/kafka_down.c"},
    {"GET /v1/detections/{id} 503", "Redis and PostgreSQL both down"},
    {"POST /v1/detections/{id}/feedback 503", "PostgreSQL down"},
};

static yaml_document_t doc;
static char base[64], prefix[64], created_id[96];
static const char *pg_url;
static char key_main[64];
static int port;
static vc_proc_t gateway, detector;
static int checks;

/* ---- the YAML document ---------------------------------------------------------------- */

static const char *scalar(const yaml_node_t *n)
{
    return n != NULL && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* The value under key in a mapping node, or NULL. */
static yaml_node_t *map_get(yaml_node_t *map, const char *key)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const char *k = scalar(yaml_document_get_node(&doc, p->key));
        if (k != NULL && strcmp(k, key) == 0)
            return yaml_document_get_node(&doc, p->value);
    }
    return NULL;
}

/* Resolves a local JSON pointer ("#/components/schemas/X"); aborts when it dangles. */
static yaml_node_t *pointer(const char *ref)
{
    if (strncmp(ref, "#/", 2) != 0)
        VC_TEST_FAIL("only local $refs are supported: %s", ref);
    yaml_node_t *n = yaml_document_get_root_node(&doc);
    const char *s = ref + 2;
    while (n != NULL && *s != '\0') {
        char seg[128];
        size_t k = 0;
        for (; *s != '\0' && *s != '/' && k + 1 < sizeof(seg); s++) {
            if (s[0] == '~' && (s[1] == '0' || s[1] == '1')) {
                seg[k++] = s[1] == '0' ? '~' : '/';
                s++;
            } else {
                seg[k++] = *s;
            }
        }
        seg[k] = '\0';
        s += *s == '/';
        n = map_get(n, seg);
    }
    if (n == NULL)
        VC_TEST_FAIL("dangling $ref %s", ref);
    return n;
}

/* Follows $ref until a node that is not a reference. */
static yaml_node_t *deref(yaml_node_t *n)
{
    for (int hops = 0; hops < 16; hops++) {
        const char *ref = scalar(map_get(n, "$ref"));
        if (ref == NULL)
            return n;
        n = pointer(ref);
    }
    VC_TEST_FAIL("$ref chain too long");
}

/* Parses a whole decimal number; fails the test on anything else. */
static double number_of(const char *s)
{
    char *end = NULL;
    errno = 0;
    double d = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0')
        VC_TEST_FAIL("\"%s\" is not a number", s);
    return d;
}

static int is_plain(const yaml_node_t *n)
{
    return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* A YAML node as JSON; plain scalars are typed as YAML 1.2's core schema types them. */
static json_t *to_json(yaml_node_t *n)
{
    if (n->type == YAML_MAPPING_NODE) {
        json_t *o = json_object();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
            json_object_set_new(o, scalar(yaml_document_get_node(&doc, p->key)),
                                to_json(yaml_document_get_node(&doc, p->value)));
        return o;
    }
    if (n->type == YAML_SEQUENCE_NODE) {
        json_t *a = json_array();
        for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top;
             i++)
            json_array_append_new(a, to_json(yaml_document_get_node(&doc, *i)));
        return a;
    }
    const char *s = scalar(n);
    if (!is_plain(n))
        return json_string(s);
    if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)
        return json_boolean(s[0] == 't');
    if (strcmp(s, "null") == 0 || strcmp(s, "~") == 0 || s[0] == '\0')
        return json_null();
    char *end = NULL;
    errno = 0;
    long long ll = strtoll(s, &end, 10);
    if (errno == 0 && end != s && *end == '\0')
        return json_integer(ll);
    double d = strtod(s, &end);
    if (end != s && *end == '\0')
        return json_real(d);
    return json_string(s);
}

/* ---- a small JSON Schema (OpenAPI 3.0 dialect) validator over the YAML ---------------- */

static int validate(json_t *v, yaml_node_t *schema, const char *where, char *err, size_t errlen);

static int type_ok(json_t *v, const char *type)
{
    if (strcmp(type, "object") == 0)
        return json_is_object(v);
    if (strcmp(type, "array") == 0)
        return json_is_array(v);
    if (strcmp(type, "string") == 0)
        return json_is_string(v);
    if (strcmp(type, "integer") == 0)
        return json_is_integer(v);
    if (strcmp(type, "number") == 0)
        return json_is_number(v);
    if (strcmp(type, "boolean") == 0)
        return json_is_boolean(v);
    return 0;
}

/* allOf: every member; oneOf: exactly one; anyOf: at least one. */
static int validate_combinators(json_t *v, yaml_node_t *s, const char *where, char *err,
                                size_t errlen)
{
    static const char *const kinds[] = {"allOf", "oneOf", "anyOf"};
    for (int k = 0; k < 3; k++) {
        yaml_node_t *list = map_get(s, kinds[k]);
        if (list == NULL || list->type != YAML_SEQUENCE_NODE)
            continue;
        int passed = 0, total = 0;
        char first[512] = "";
        for (yaml_node_item_t *i = list->data.sequence.items.start;
             i < list->data.sequence.items.top; i++, total++) {
            char e[512] = "";
            if (validate(v, yaml_document_get_node(&doc, *i), where, e, sizeof(e)) == 0)
                passed++;
            else if (first[0] == '\0')
                snprintf(first, sizeof(first), "%s", e);
        }
        if (k == 0 && passed != total) {
            snprintf(err, errlen, "%s", first);
            return -1;
        }
        if ((k == 1 && passed != 1) || (k == 2 && passed == 0)) {
            snprintf(err, errlen, "%s: %d of %d %s alternatives match (first failure: %s)", where,
                     passed, total, kinds[k], first);
            return -1;
        }
    }
    return 0;
}

static int validate_object(json_t *v, yaml_node_t *s, const char *where, char *err, size_t errlen)
{
    yaml_node_t *req = map_get(s, "required");
    if (req != NULL && req->type == YAML_SEQUENCE_NODE)
        for (yaml_node_item_t *i = req->data.sequence.items.start; i < req->data.sequence.items.top;
             i++) {
            const char *name = scalar(yaml_document_get_node(&doc, *i));
            if (json_object_get(v, name) == NULL) {
                snprintf(err, errlen, "%s: required member \"%s\" missing", where, name);
                return -1;
            }
        }
    yaml_node_t *props = map_get(s, "properties"), *extra = map_get(s, "additionalProperties");
    const char *key;
    json_t *m;
    json_object_foreach(v, key, m)
    {
        char sub[256];
        snprintf(sub, sizeof(sub), "%s.%s", where, key);
        yaml_node_t *ps = map_get(props, key);
        if (ps == NULL && extra != NULL && extra->type == YAML_MAPPING_NODE)
            ps = extra;
        if (ps == NULL && scalar(extra) != NULL && strcmp(scalar(extra), "false") == 0) {
            snprintf(err, errlen, "%s: member not allowed", sub);
            return -1;
        }
        if (ps != NULL && validate(m, ps, sub, err, errlen) != 0)
            return -1;
    }
    return 0;
}

static int validate_scalar(json_t *v, yaml_node_t *s, const char *where, char *err, size_t errlen)
{
    yaml_node_t *en = map_get(s, "enum");
    if (en != NULL && en->type == YAML_SEQUENCE_NODE) {
        int found = 0;
        for (yaml_node_item_t *i = en->data.sequence.items.start;
             i < en->data.sequence.items.top && !found; i++) {
            json_t *e = to_json(yaml_document_get_node(&doc, *i));
            found = json_equal(e, v);
            json_decref(e);
        }
        if (!found) {
            char *txt = json_dumps(v, JSON_ENCODE_ANY);
            snprintf(err, errlen, "%s: %s is not one of the documented values", where, txt);
            free(txt);
            return -1;
        }
    }
    const char *min = scalar(map_get(s, "minimum")), *max = scalar(map_get(s, "maximum"));
    if (json_is_number(v) && ((min != NULL && json_number_value(v) < number_of(min)) ||
                              (max != NULL && json_number_value(v) > number_of(max)))) {
        snprintf(err, errlen, "%s: %g out of [%s, %s]", where, json_number_value(v),
                 min ? min : "-inf", max ? max : "inf");
        return -1;
    }
    const char *minlen = scalar(map_get(s, "minLength")), *maxlen = scalar(map_get(s, "maxLength"));
    if (json_is_string(v) &&
        ((minlen != NULL && (double)json_string_length(v) < number_of(minlen)) ||
         (maxlen != NULL && (double)json_string_length(v) > number_of(maxlen)))) {
        snprintf(err, errlen, "%s: length %zu out of [%s, %s]", where, json_string_length(v),
                 minlen ? minlen : "0", maxlen ? maxlen : "inf");
        return -1;
    }
    const char *pattern = scalar(map_get(s, "pattern"));
    if (json_is_string(v) && pattern != NULL) {
        regex_t re;
        ASSERT_OK(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB));
        int rc = regexec(&re, json_string_value(v), 0, NULL, 0);
        regfree(&re);
        if (rc != 0) {
            snprintf(err, errlen, "%s: \"%s\" does not match %s", where, json_string_value(v),
                     pattern);
            return -1;
        }
    }
    return 0;
}

/* Returns 0 when v satisfies schema, else -1 with the first violation in err. */
static int validate(json_t *v, yaml_node_t *schema, const char *where, char *err, size_t errlen)
{
    yaml_node_t *s = deref(schema);
    if (validate_combinators(v, s, where, err, errlen) != 0)
        return -1;
    const char *nullable = scalar(map_get(s, "nullable"));
    if (json_is_null(v) && nullable != NULL && strcmp(nullable, "true") == 0)
        return 0;
    const char *type = scalar(map_get(s, "type"));
    if (type != NULL && !type_ok(v, type)) {
        char *txt = json_dumps(v, JSON_ENCODE_ANY);
        snprintf(err, errlen, "%s: %.80s is not of type %s", where, txt, type);
        free(txt);
        return -1;
    }
    if (json_is_object(v))
        return validate_object(v, s, where, err, errlen);
    if (json_is_array(v)) {
        yaml_node_t *items = map_get(s, "items");
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            char sub[256];
            snprintf(sub, sizeof(sub), "%s[%zu]", where, i);
            if (items != NULL && validate(item, items, sub, err, errlen) != 0)
                return -1;
        }
        return 0;
    }
    return validate_scalar(v, s, where, err, errlen);
}

/* ---- msgpack bodies from the examples ----------------------------------------------------- */

/* The schema of member key (or of array items when key is NULL), looking through
 * allOf/oneOf/anyOf; NULL when none says. */
static yaml_node_t *sub_schema(yaml_node_t *schema, const char *key)
{
    if (schema == NULL)
        return NULL;
    yaml_node_t *s = deref(schema);
    yaml_node_t *direct =
        key != NULL ? map_get(map_get(s, "properties"), key) : map_get(s, "items");
    if (direct != NULL)
        return direct;
    static const char *const kinds[] = {"allOf", "oneOf", "anyOf"};
    for (int k = 0; k < 3; k++) {
        yaml_node_t *list = map_get(s, kinds[k]);
        if (list == NULL || list->type != YAML_SEQUENCE_NODE)
            continue;
        for (yaml_node_item_t *i = list->data.sequence.items.start;
             i < list->data.sequence.items.top; i++) {
            yaml_node_t *found = sub_schema(yaml_document_get_node(&doc, *i), key);
            if (found != NULL)
                return found;
        }
    }
    return NULL;
}

/* Packs v; strings whose schema says `format: binary` are base64 in the example and go out as
 * msgpack bin. */
static void pack(msgpack_packer *pk, json_t *v, yaml_node_t *schema)
{
    const char *format = schema != NULL ? scalar(map_get(deref(schema), "format")) : NULL;
    if (json_is_object(v)) {
        msgpack_pack_map(pk, json_object_size(v));
        const char *key;
        json_t *m;
        json_object_foreach(v, key, m)
        {
            msgpack_pack_str_with_body(pk, key, strlen(key));
            pack(pk, m, sub_schema(schema, key));
        }
    } else if (json_is_array(v)) {
        msgpack_pack_array(pk, json_array_size(v));
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            pack(pk, item, sub_schema(schema, NULL));
        }
    } else if (json_is_string(v) && format != NULL && strcmp(format, "binary") == 0) {
        const char *s = json_string_value(v);
        size_t n = strlen(s), out = 0;
        uint8_t *bin = malloc(vc_base64_decoded_maxlen(n) + 1);
        ASSERT(bin != NULL);
        ASSERT_OK(vc_base64_decode(s, n, bin, vc_base64_decoded_maxlen(n) + 1, &out));
        msgpack_pack_bin_with_body(pk, bin, out);
        free(bin);
    } else if (json_is_string(v)) {
        msgpack_pack_str_with_body(pk, json_string_value(v), strlen(json_string_value(v)));
    } else if (json_is_integer(v)) {
        msgpack_pack_int64(pk, json_integer_value(v));
    } else if (json_is_real(v)) {
        msgpack_pack_double(pk, json_real_value(v));
    } else if (json_is_true(v)) {
        msgpack_pack_true(pk);
    } else if (json_is_false(v)) {
        msgpack_pack_false(pk);
    } else {
        msgpack_pack_nil(pk);
    }
}

/* ---- requests and the checks of one answer ------------------------------------------------- */

typedef struct {
    const char *path, *method; /* as in the YAML */
    yaml_node_t *op;
    int secured;
} op_t;

typedef struct {
    long status;
    char *body;
    char headers[4096];
} reply_t;

static size_t discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
    (void)ptr;
    (void)ud;
    return size * nmemb;
}

static void reply_free(reply_t *r)
{
    free(r->body);
    r->body = NULL;
}

/* The value of response header name (case-insensitive), copied into out; 0 when present. */
static int header_value(const char *headers, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    for (const char *line = headers; line != NULL && *line != '\0';) {
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            v += strspn(v, " \t");
            size_t len = strcspn(v, "\r\n");
            snprintf(out, cap, "%.*s", (int)len, v);
            return 0;
        }
        line = strchr(line, '\n');
        line = line != NULL ? line + 1 : NULL;
    }
    return -1;
}

/* The concrete URL of the operation: path parameters become id, query is appended. */
static void op_url(const op_t *o, const char *id, const char *query, char *out, size_t cap)
{
    size_t k = (size_t)snprintf(out, cap, "%s", base);
    for (const char *s = o->path; *s != '\0' && k + 1 < cap;) {
        if (*s == '{') {
            k += (size_t)snprintf(out + k, cap - k, "%s", id);
            s = strchr(s, '}');
            ASSERT(s != NULL);
            s++;
        } else {
            out[k++] = *s++;
        }
    }
    out[k < cap ? k : cap - 1] = '\0';
    if (query != NULL)
        snprintf(out + strlen(out), cap - strlen(out), "?%s", query);
}

static long send_req(const char *method, const char *url, const char *ctype, const void *body,
                     size_t len, const char *key, reply_t *r)
{
    vc_test_api_key = key;
    r->status = vc_test_http(method, url, ctype, body, len, &r->body);
    snprintf(r->headers, sizeof(r->headers), "%s", vc_test_last_headers);
    vc_test_api_key = NULL;
    return r->status;
}

/* Sends o's plain request with one extra header line (e.g. "X-API-Key: K"); returns the
 * status. */
static long send_with_header(const op_t *o, const char *header)
{
    char url[512];
    op_url(o, created_id, NULL, url, sizeof(url));
    CURL *c = curl_easy_init();
    ASSERT(c != NULL);
    struct curl_slist *h = curl_slist_append(NULL, header);
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, o->method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    if (strcmp(o->method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)2);
    }
    long status = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

/* True when the operation's security names the metrics token (/metrics, /metrics.json). */
static int wants_metrics_token(const op_t *o)
{
    yaml_node_t *sec = map_get(o->op, "security");
    if (sec == NULL || sec->type != YAML_SEQUENCE_NODE)
        return 0;
    for (yaml_node_item_t *i = sec->data.sequence.items.start; i < sec->data.sequence.items.top;
         i++)
        if (map_get(yaml_document_get_node(&doc, *i), "metricsToken") != NULL)
            return 1;
    return 0;
}

/* The credential that lets a request of o through: the gateway's METRICS_TOKEN for the
 * operator's routes, else the main tenant's key. */
static const char *credential(const op_t *o)
{
    return wants_metrics_token(o) ? VC_TEST_METRICS_TOKEN : key_main;
}

/* Every security scheme the operation accepts lets a valid key through (never 401). */
static void each_scheme_accepts_a_key(const op_t *o)
{
    yaml_node_t *sec = map_get(o->op, "security");
    if (sec == NULL)
        sec = map_get(yaml_document_get_root_node(&doc), "security");
    yaml_node_t *schemes =
        map_get(map_get(yaml_document_get_root_node(&doc), "components"), "securitySchemes");
    for (yaml_node_item_t *i = sec->data.sequence.items.start; i < sec->data.sequence.items.top;
         i++) {
        yaml_node_t *req = yaml_document_get_node(&doc, *i);
        for (yaml_node_pair_t *p = req->data.mapping.pairs.start; p < req->data.mapping.pairs.top;
             p++) {
            const char *name = scalar(yaml_document_get_node(&doc, p->key));
            yaml_node_t *sch = deref(map_get(schemes, name));
            const char *type = scalar(map_get(sch, "type")), *in = scalar(map_get(sch, "in"));
            char header[256];
            if (type != NULL && strcmp(type, "http") == 0)
                snprintf(header, sizeof(header), "Authorization: Bearer %s", credential(o));
            else if (type != NULL && strcmp(type, "apiKey") == 0 && in != NULL &&
                     strcmp(in, "header") == 0)
                snprintf(header, sizeof(header), "%s: %s", scalar(map_get(sch, "name")), key_main);
            else
                VC_TEST_FAIL("security scheme %s: only bearer and header keys are checked", name);
            long st = send_with_header(o, header);
            if (st == 401 || st < 0)
                VC_TEST_FAIL("%s %s: a valid key as \"%.*s\" got %ld", o->method, o->path,
                             (int)strcspn(header, ":"), header, st);
            fprintf(stderr, "ok   %-6s %-26s key accepted as %.*s (%ld)\n", o->method, o->path,
                    (int)strcspn(header, ":"), header, st);
        }
    }
}

/* Checks r against the YAML response of o for status want: status, media type, body schema,
 * required headers. */
static void check_reply(const op_t *o, const char *want, const reply_t *r, const char *how)
{
    char st[8];
    snprintf(st, sizeof(st), "%ld", r->status);
    if (strcmp(st, want) != 0)
        VC_TEST_FAIL("%s %s (%s): got %ld, the contract says %s\nheaders:\n%s\nbody: %.400s",
                     o->method, o->path, how, r->status, want, r->headers, r->body);
    yaml_node_t *resp = deref(map_get(map_get(o->op, "responses"), want));
    yaml_node_t *content = map_get(resp, "content");
    char ctype[128] = "";
    header_value(r->headers, "Content-Type", ctype, sizeof(ctype));
    ctype[strcspn(ctype, "; ")] = '\0';
    if (content != NULL) {
        yaml_node_t *media = map_get(content, ctype);
        if (media == NULL)
            VC_TEST_FAIL("%s %s %s (%s): Content-Type \"%s\" is not documented", o->method, o->path,
                         want, how, ctype);
        yaml_node_t *schema = map_get(media, "schema");
        if (schema != NULL && strcmp(ctype, "application/json") == 0) {
            json_error_t jerr;
            json_t *v = json_loads(r->body, JSON_DECODE_ANY, &jerr);
            if (v == NULL)
                VC_TEST_FAIL("%s %s %s (%s): body is not JSON (%s): %.200s", o->method, o->path,
                             want, how, jerr.text, r->body);
            char err[768] = "";
            if (validate(v, schema, "body", err, sizeof(err)) != 0)
                VC_TEST_FAIL("%s %s %s (%s): %s\nbody: %.600s", o->method, o->path, want, how, err,
                             r->body);
            json_decref(v);
        }
    }
    yaml_node_t *headers = map_get(resp, "headers");
    if (headers != NULL && headers->type == YAML_MAPPING_NODE)
        for (yaml_node_pair_t *p = headers->data.mapping.pairs.start;
             p < headers->data.mapping.pairs.top; p++) {
            const char *name = scalar(yaml_document_get_node(&doc, p->key));
            yaml_node_t *h = deref(yaml_document_get_node(&doc, p->value));
            const char *required = scalar(map_get(h, "required"));
            char value[512];
            if (required == NULL || strcmp(required, "true") != 0)
                continue;
            if (header_value(r->headers, name, value, sizeof(value)) != 0)
                VC_TEST_FAIL("%s %s %s (%s): required header %s missing\nheaders:\n%s", o->method,
                             o->path, want, how, name, r->headers);
            json_t *hv = json_string(value);
            yaml_node_t *hs = map_get(h, "schema");
            const char *htype = scalar(map_get(deref(hs), "type"));
            if (htype != NULL && strcmp(htype, "integer") == 0) {
                json_decref(hv);
                char *end = NULL;
                hv = json_integer(strtoll(value, &end, 10));
                if (end == value || *end != '\0')
                    VC_TEST_FAIL("%s %s %s: header %s: \"%s\" is not an integer", o->method,
                                 o->path, want, name, value);
            }
            char err[512] = "", where[96];
            snprintf(where, sizeof(where), "header %s", name);
            if (hs != NULL && validate(hv, hs, where, err, sizeof(err)) != 0)
                VC_TEST_FAIL("%s %s %s (%s): %s", o->method, o->path, want, how, err);
            json_decref(hv);
        }
    checks++;
    fprintf(stderr, "ok   %-6s %-26s %s  %s\n", o->method, o->path, want, how);
}

/* ---- provoking each status ------------------------------------------------------------- */

static yaml_node_t *request_content(const op_t *o)
{
    return map_get(deref(map_get(o->op, "requestBody")), "content");
}

static int has_param(const op_t *o, const char *name)
{
    yaml_node_t *params = map_get(o->op, "parameters");
    if (params == NULL || params->type != YAML_SEQUENCE_NODE)
        return 0;
    for (yaml_node_item_t *i = params->data.sequence.items.start;
         i < params->data.sequence.items.top; i++) {
        const char *n = scalar(map_get(deref(yaml_document_get_node(&doc, *i)), "name"));
        if (n != NULL && strcmp(n, name) == 0)
            return 1;
    }
    return 0;
}

/* Encodes the example of media type ctype keyed `status`; NULL when there is none. */
static char *example_body(const op_t *o, const char *ctype, const char *status, size_t *len)
{
    yaml_node_t *media = map_get(request_content(o), ctype);
    yaml_node_t *ex = map_get(map_get(map_get(media, "examples"), status), "value");
    if (ex == NULL)
        return NULL;
    json_t *v = to_json(ex);
    char *out = NULL;
    if (strstr(ctype, "msgpack") != NULL) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        pack(&pk, v, map_get(media, "schema"));
        out = malloc(sb.size + 1);
        ASSERT(out != NULL);
        memcpy(out, sb.data, sb.size);
        *len = sb.size;
        msgpack_sbuffer_destroy(&sb);
    } else {
        out = json_dumps(v, JSON_COMPACT);
        *len = strlen(out);
    }
    json_decref(v);
    return out;
}

/* Sends every example keyed `example` (one per request media type) with query appended and
 * checks each answer is `status`; returns how many were sent. */
static int provoke_examples(const op_t *o, const char *example, const char *status,
                            const char *query)
{
    yaml_node_t *content = request_content(o);
    if (content == NULL || content->type != YAML_MAPPING_NODE)
        return 0;
    int sent = 0;
    for (yaml_node_pair_t *p = content->data.mapping.pairs.start;
         p < content->data.mapping.pairs.top; p++) {
        const char *ctype = scalar(yaml_document_get_node(&doc, p->key));
        size_t len = 0;
        char *body = example_body(o, ctype, example, &len);
        if (body == NULL)
            continue;
        char url[512], how[160];
        op_url(o, created_id, query, url, sizeof(url));
        snprintf(how, sizeof(how), "example \"%s\" as %s%s%s", example, ctype, query ? " ?" : "",
                 query ? query : "");
        reply_t r = {0};
        send_req(o->method, url, ctype, body, len, o->secured ? key_main : NULL, &r);
        check_reply(o, status, &r, how);
        reply_free(&r);
        free(body);
        sent++;
    }
    return sent;
}

/* A request the operation accepts: its JSON example for success ("200", "201" or "202") as
 * the body when it takes one ("{}" when there is none), no body otherwise. */
static void plain_request(const op_t *o, const char *id, const char *query, const char *key,
                          reply_t *r)
{
    static const char *const ok[] = {"200", "201", "202"};
    char url[512];
    op_url(o, id, query, url, sizeof(url));
    if (request_content(o) == NULL) {
        send_req(o->method, url, NULL, NULL, 0, key, r);
        return;
    }
    size_t len = 0;
    char *body = NULL;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]) && body == NULL; i++)
        body = example_body(o, "application/json", ok[i], &len);
    if (body == NULL)
        send_req(o->method, url, "application/json", "{}", 2, key, r);
    else
        send_req(o->method, url, "application/json", body, len, key, r);
    free(body);
}

static int connect_loopback(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_OK(connect(fd, (struct sockaddr *)&a, sizeof(a)));
    return fd;
}

/* 503 overloaded: MAX_CONCURRENT submissions hold their slot by sending half a body. */
static void provoke_overload(const op_t *o)
{
    int fds[MAX_CONCURRENT];
    char url_path[256];
    op_url(o, created_id, NULL, url_path, sizeof(url_path));
    /* The gateway frees a slot after the answer is written, so the request before this one
     * (whose answer the test has already read) may still hold its slot for a moment; a held
     * upload sent into that moment would be refused with 503 and never hold a slot. */
    ASSERT_EQ(vc_test_wait_inflight(base, 0, 6), 0);
    for (int i = 0; i < MAX_CONCURRENT; i++) {
        fds[i] = connect_loopback();
        char req[1024];
        int n = snprintf(req, sizeof(req),
                         "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                         "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
                         url_path + strlen(base), key_main);
        ASSERT_EQ(send(fds[i], req, (size_t)n, MSG_NOSIGNAL), n);
    }
    ASSERT_EQ(vc_test_wait_inflight(base, MAX_CONCURRENT, 6), MAX_CONCURRENT);
    reply_t r = {0};
    plain_request(o, created_id, NULL, key_main, &r);
    check_reply(o, "503", &r, "MAX_CONCURRENT_REQUESTS slots held by slow uploads");
    reply_free(&r);
    for (int i = 0; i < MAX_CONCURRENT; i++)
        close(fds[i]); /* the held requests end with 400 invalid_body */
    ASSERT_EQ(vc_test_wait_inflight(base, 0, 6), 0);
}

/* 429: a key whose quota is one request per window. */
static void provoke_rate_limit(const op_t *o)
{
    char key[64], tenant[96];
    snprintf(tenant, sizeof(tenant), "%smain", prefix);
    vc_test_create_key(pg_url, tenant, 1, key, NULL);
    reply_t r = {0};
    plain_request(o, created_id, NULL, key, &r);
    ASSERT(r.status != 429);
    reply_free(&r);
    plain_request(o, created_id, NULL, key, &r);
    check_reply(o, "429", &r, "second request of a key with a quota of 1");
    reply_free(&r);
}

static int is_exempt(const op_t *o, const char *status)
{
    char k[256];
    snprintf(k, sizeof(k), "%s %s %s", o->method, o->path, status);
    for (size_t i = 0; i < sizeof(exempt) / sizeof(exempt[0]); i++)
        if (strcmp(exempt[i][0], k) == 0) {
            fprintf(stderr, "skip %-6s %-26s %s  needs %s\n", o->method, o->path, status,
                    exempt[i][1]);
            return 1;
        }
    return 0;
}

/* A method the YAML does not document on o's path. */
static const char *undocumented_method(const op_t *o)
{
    static const char *const all[][2] = {{"DELETE", "delete"}, {"PUT", "put"}, {"PATCH", "patch"}};
    yaml_node_t *item = map_get(map_get(yaml_document_get_root_node(&doc), "paths"), o->path);
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (map_get(item, all[i][1]) == NULL)
            return all[i][0];
    VC_TEST_FAIL("%s documents every method", o->path);
}

/* 422: this tenant's detection_id sent again with another payload (other metadata). */
static void provoke_reused_id(const op_t *o, const char *status)
{
    size_t wav_len = 0, n = 0;
    unsigned char *wav = vc_test_wav_sine(300, 0.4, 0.2, 16000, &wav_len);
    size_t cap = vc_base64_encoded_len(wav_len) + 1;
    char *b64 = malloc(cap), id[128], url[512];
    ASSERT_OK(vc_base64_encode(wav, wav_len, b64, cap, &n));
    snprintf(id, sizeof(id), "%sreused-%ld", prefix, (long)strlen(o->path));
    int batch = strstr(o->path, "batch") != NULL;
    op_url(o, created_id, NULL, url, sizeof(url));
    reply_t r = {0};
    for (int k = 1; k <= 2; k++) {
        json_t *item = json_pack("{s:s, s:s, s:s, s:{s:i}}", "detection_id", id,
                                 "detection_type", "audio", "audio_data", b64, "metadata",
                                 "attempt", k);
        json_t *body = batch ? json_pack("{s:[o]}", "requests", item) : item;
        char *text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        reply_free(&r);
        send_req(o->method, url, "application/json", text, strlen(text), key_main, &r);
        free(text);
        if (k == 1)
            ASSERT_EQ(r.status, 202);
    }
    check_reply(o, status, &r, "detection_id reused with another payload");
    reply_free(&r);
    free(b64);
    free(wav);
}

/* Provokes status on o and checks the answer, or fails when the test knows no way to. */
static void provoke(const op_t *o, const char *status)
{
    int code = (int)number_of(status);
    reply_t r = {0};
    char url[512];
    if (is_exempt(o, status))
        return;
    /* The examples keyed by this status; 400 and 415 are also provoked by malformed bodies
     * and content types, whatever the examples show. */
    if (provoke_examples(o, status, status, NULL) > 0 && code != 400 && code != 415)
        return;
    switch (code) {
    case 200:
        if (strcmp(o->method, "GET") == 0) {
            plain_request(o, created_id, NULL, o->secured ? credential(o) : NULL, &r);
            check_reply(o, status, &r, o->secured ? "with a key" : "no key");
        } else if (has_param(o, "wait")) {
            if (provoke_examples(o, "202", status, "wait=30") == 0)
                VC_TEST_FAIL("%s %s: 200 needs a \"202\" example to wait for", o->method, o->path);
        } else {
            VC_TEST_FAIL("%s %s: no way to provoke 200 without ?wait", o->method, o->path);
        }
        break;
    case 400:
        if (request_content(o) != NULL) {
            op_url(o, created_id, NULL, url, sizeof(url));
            send_req(o->method, url, "application/json", "{\"detection_type\":", 18, key_main, &r);
            check_reply(o, status, &r, "truncated JSON");
            if (map_get(request_content(o), "application/msgpack") != NULL) {
                reply_free(&r);
                send_req(o->method, url, "application/msgpack", "\xc1", 1, key_main, &r);
                check_reply(o, status, &r, "malformed msgpack");
            }
        } else if (has_param(o, "wait")) {
            plain_request(o, created_id, "wait=99", key_main, &r);
            check_reply(o, status, &r, "?wait=99");
        } else {
            VC_TEST_FAIL("%s %s: no way to provoke 400", o->method, o->path);
        }
        break;
    case 401:
        plain_request(o, created_id, NULL, NULL, &r);
        check_reply(o, status, &r, "no key");
        reply_free(&r);
        plain_request(o, created_id, NULL, "vck_not-a-key-of-anyone-0000000000000000000", &r);
        check_reply(o, status, &r, "unknown key");
        each_scheme_accepts_a_key(o);
        break;
    case 404: {
        char id[128];
        snprintf(id, sizeof(id), "%sno-such-detection", prefix);
        ASSERT(strchr(o->path, '{') != NULL);
        plain_request(o, id, NULL, key_main, &r);
        check_reply(o, status, &r, "unknown id");
        break;
    }
    case 405: {
        const char *m = undocumented_method(o);
        op_url(o, created_id, NULL, url, sizeof(url));
        send_req(m, url, NULL, NULL, 0, key_main, &r);
        char how[64];
        snprintf(how, sizeof(how), "as %s", m);
        check_reply(o, status, &r, how);
        break;
    }
    case 413: {
        char *big = malloc(MAX_BODY + 1);
        ASSERT(big != NULL);
        memset(big, ' ', MAX_BODY + 1);
        op_url(o, created_id, NULL, url, sizeof(url));
        send_req(o->method, url, "application/json", big, MAX_BODY + 1, key_main, &r);
        check_reply(o, status, &r, "body of MAX_BODY_BYTES + 1");
        free(big);
        break;
    }
    case 415:
        op_url(o, created_id, NULL, url, sizeof(url));
        send_req(o->method, url, "text/plain", "x", 1, key_main, &r);
        check_reply(o, status, &r, "Content-Type text/plain");
        break;
    case 422:
        provoke_reused_id(o, status);
        break;
    case 429:
        provoke_rate_limit(o);
        break;
    case 503:
        if (request_content(o) == NULL)
            VC_TEST_FAIL("%s %s: no way to provoke 503", o->method, o->path);
        provoke_overload(o);
        break;
    default:
        VC_TEST_FAIL("%s %s: no way to provoke %s (add one here, or to `exempt`)", o->method,
                     o->path, status);
    }
    reply_free(&r);
}

/* Walks every path and method of the YAML. */
static void every_documented_status(void)
{
    static const char *const methods[][2] = {
        {"get", "GET"},     {"put", "PUT"},   {"post", "POST"},      {"delete", "DELETE"},
        {"patch", "PATCH"}, {"head", "HEAD"}, {"options", "OPTIONS"}};
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    yaml_node_t *global = map_get(root, "security");
    yaml_node_t *paths = map_get(root, "paths");
    ASSERT(paths != NULL && paths->type == YAML_MAPPING_NODE);
    int ops = 0;
    for (yaml_node_pair_t *p = paths->data.mapping.pairs.start; p < paths->data.mapping.pairs.top;
         p++) {
        const char *path = scalar(yaml_document_get_node(&doc, p->key));
        yaml_node_t *item = yaml_document_get_node(&doc, p->value);
        for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
            yaml_node_t *opn = map_get(item, methods[m][0]);
            if (opn == NULL)
                continue;
            yaml_node_t *sec = map_get(opn, "security");
            if (sec == NULL)
                sec = global;
            op_t o = {path, methods[m][1], opn,
                      sec != NULL && sec->type == YAML_SEQUENCE_NODE &&
                          sec->data.sequence.items.top > sec->data.sequence.items.start};
            if (o.secured && map_get(map_get(opn, "responses"), "401") == NULL)
                VC_TEST_FAIL("%s %s needs a key but documents no 401", o.method, path);
            yaml_node_t *responses = map_get(opn, "responses");
            ASSERT(responses != NULL && responses->type == YAML_MAPPING_NODE);
            for (yaml_node_pair_t *r = responses->data.mapping.pairs.start;
                 r < responses->data.mapping.pairs.top; r++)
                provoke(&o, scalar(yaml_document_get_node(&doc, r->key)));
            ops++;
        }
    }
    fprintf(stderr, "%d operations, %d answers checked against the contract\n", ops, checks);
    ASSERT(ops >= 8);
}

/* ---- set-up ---------------------------------------------------------------------------- */

static void load_yaml(void)
{
    const char *src = getenv("VC_SOURCE_DIR");
    ASSERT(src != NULL);
    char path[512];
    snprintf(path, sizeof(path), "%s/schemas/openapi.yaml", src);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        VC_TEST_FAIL("%s: %s", path, strerror(errno));
    yaml_parser_t parser;
    ASSERT(yaml_parser_initialize(&parser));
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc) || yaml_document_get_root_node(&doc) == NULL)
        VC_TEST_FAIL("%s:%zu:%zu: %s", path, parser.problem_mark.line + 1,
                     parser.problem_mark.column + 1, parser.problem ? parser.problem : "empty");
    yaml_parser_delete(&parser);
    fclose(f);
}

/* One accepted detection of the main tenant, for the operations that take an id. */
static void create_detection(void)
{
    op_t o = {
        "/v1/detections", "POST",
        map_get(map_get(map_get(yaml_document_get_root_node(&doc), "paths"), "/v1/detections"),
                "post"),
        1};
    size_t len = 0;
    char *body = example_body(&o, "application/json", "202", &len);
    ASSERT(body != NULL);
    json_t *v = json_loads(body, 0, NULL);
    snprintf(created_id, sizeof(created_id), "%screated", prefix);
    json_object_set_new(v, "detection_id", json_string(created_id));
    char *text = json_dumps(v, JSON_COMPACT);
    char url[256];
    snprintf(url, sizeof(url), "%s/v1/detections", base);
    reply_t r = {0};
    ASSERT_EQ(send_req("POST", url, "application/json", text, strlen(text), key_main, &r), 202);
    reply_free(&r);
    free(text);
    json_decref(v);
    free(body);
}

static char e_req[200], e_res[200], e_dlq[200], e_port[32], e_redis[256], e_pg[256], e_kafka[512],
    e_group[64];

static void start(const char *redis, const char *pg, const char *kafka)
{
    const char *kinds[3] = {"requests", "results", "dlq"},
               *names[3] = {"REQUESTS", "RESULTS", "DLQ"};
    char *vars[3] = {e_req, e_res, e_dlq};
    vc_test_create_topics(kafka, prefix, 6);
    for (int k = 0; k < 3; k++) {
        snprintf(vars[k], 200, "KAFKA_TOPIC_%s=%s%s", names[k], prefix, kinds[k]);
    }
    port = vc_test_free_port();
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
    snprintf(e_port, sizeof(e_port), "HTTP_PORT=%d", port);
    snprintf(e_redis, sizeof(e_redis), "REDIS_URL=%s", redis);
    snprintf(e_pg, sizeof(e_pg), "DATABASE_URL=%s", pg);
    snprintf(e_kafka, sizeof(e_kafka), "KAFKA_BROKERS=%s", kafka);
    snprintf(e_group, sizeof(e_group), "KAFKA_GROUP_ID=oapi-%d", (int)getpid());
    const char *env[] = {e_port,
                         e_redis,
                         e_pg,
                         e_kafka,
                         e_group,
                         e_req,
                         e_res,
                         e_dlq,
                         "MAX_BODY_BYTES=64K",
                         "MAX_BATCH_SIZE=3",
                         "MAX_CONCURRENT_REQUESTS=2",
                         "HTTP_THREADS=8",
                         "RATE_LIMIT_PER_MINUTE=100000",
                         "RATE_LIMIT_PER_IP_PER_MINUTE=100000",
                         "KAFKA_SESSION_TIMEOUT_MS=6000",
                         "KAFKA_MAX_POLL_INTERVAL_MS=30000",
                         "THREAD_POOL_SIZE=2",
                         "INSTANCE_ID=oapi-detector",
                         "METRICS_TOKEN=" VC_TEST_METRICS_TOKEN,
                         NULL};
    vc_test_spawn(&gateway, "gateway", "vc-gateway", env);
    vc_test_spawn(&detector, "detector", "vc-detector", env);
    char health[128];
    snprintf(health, sizeof(health), "%s/health", base);
    if (!vc_test_wait_http_ok(health, 60)) {
        vc_test_print_log(&gateway, 40);
        VC_TEST_FAIL("gateway never became healthy");
    }
}

/* A failed assertion aborts: show what the services said first. */
static void on_abort(int sig)
{
    if (gateway.pid > 0)
        vc_test_print_log(&gateway, 30);
    if (detector.pid > 0)
        vc_test_print_log(&detector, 10);
    signal(sig, SIG_DFL);
    raise(sig);
}

int main(void)
{
    const char *redis = vc_test_env_or_skip("VC_TEST_REDIS_URL");
    const char *pg = vc_test_env_or_skip("VC_TEST_DATABASE_URL");
    const char *kafka = vc_test_env_or_skip("VC_TEST_KAFKA_BROKERS");
    load_yaml();
    snprintf(prefix, sizeof(prefix), "oapi-%d-%ld-", (int)getpid(), (long)time(NULL));
    pg_url = pg;
    char tenant[96];
    snprintf(tenant, sizeof(tenant), "%smain", prefix);
    vc_test_create_key(pg, tenant, 0, key_main, NULL);
    start(redis, pg, kafka);
    signal(SIGABRT, on_abort);

    RUN(create_detection);
    RUN(every_documented_status);

    ASSERT_EQ(vc_test_stop(&detector, 30), 0);
    ASSERT_EQ(vc_test_stop(&gateway, 30), 0);
    yaml_document_delete(&doc);
    return 0;
}
