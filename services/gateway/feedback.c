/* POST /v1/detections/{id}/feedback: a tenant's own verdict on one of its detections,
 * recorded in PostgreSQL for later evaluation of the detectors. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "gateway.h"
#include "longpoll.h"
#include "vc/error.h"
#include "vc/feedback.h"
#include "vc/id.h"

#define FEEDBACK_BODY_MAX 8192

static int record(gateway_t *gw, const char *id, const char *tenant, const char *verdict,
                  const char *note, int64_t *fid, char *err, size_t errlen)
{
    PGconn *c = NULL;
    int rc = vc_pg_acquire(gw->pg, &c, err, errlen);
    if (rc != 0)
        return rc;
    rc = vc_feedback_insert(c, id, tenant, verdict, note, fid, err, errlen);
    vc_pg_release(gw->pg, c, rc == VC_EIO);
    return rc;
}

/* Validates the body {verdict, note?}; answers errors itself (returns their status). */
static int parse(struct mg_connection *conn, json_t *root, const char **verdict,
                 const char **note)
{
    json_t *v = json_object_get(root, "verdict"), *n = json_object_get(root, "note");
    *verdict = json_string_value(v);
    *note = json_is_string(n) ? json_string_value(n) : NULL;
    if (!json_is_object(root) || *verdict == NULL ||
        (strcmp(*verdict, "genuine") != 0 && strcmp(*verdict, "spoof") != 0))
        return gateway_send_error(conn, 400, "invalid_request", "",
                                  "verdict: must be \"genuine\" or \"spoof\"");
    if ((n != NULL && !json_is_null(n) && !json_is_string(n)) ||
        (*note != NULL && strlen(*note) > VC_FEEDBACK_NOTE_MAX))
        return gateway_send_error(conn, 400, "invalid_request", "",
                                  "note: a string of at most %d bytes", VC_FEEDBACK_NOTE_MAX);
    return 0;
}

static int feedback(struct mg_connection *conn, gateway_t *gw, const char *id,
                    const char *tenant)
{
    char *body = NULL;
    size_t len = 0;
    int rc = gateway_read_body(conn, FEEDBACK_BODY_MAX, &body, &len);
    if (rc != 0)
        return gateway_send_error(conn, rc == VC_ETOOBIG ? 413 : 400,
                                  rc == VC_ETOOBIG ? "payload_too_large" : "invalid_body",
                                  "Connection: close\r\n", "feedback body: at most %d bytes",
                                  FEEDBACK_BODY_MAX);
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    free(body);
    if (root == NULL)
        return gateway_send_error(conn, 400, "invalid_json", "", "line %d, column %d: %s",
                                  jerr.line, jerr.column, jerr.text);
    const char *verdict = NULL, *note = NULL;
    char err[256] = "";
    vc_result_t res;
    int64_t fid = 0;
    rc = parse(conn, root, &verdict, &note);
    if (rc == 0) {
        int lrc = longpoll_load(gw, tenant, id, &res, err, sizeof(err));
        if (lrc == VC_ENOTFOUND)
            rc = gateway_send_error(conn, 404, "not_found", "", "no such detection");
        else if (lrc != 0 || record(gw, id, tenant, verdict, note, &fid, err, sizeof(err)) != 0)
            rc = gateway_send_error(conn, 503, "store_unavailable", "Retry-After: 1\r\n",
                                    "cannot record feedback now, retry later");
    }
    if (rc == 0) {
        json_t *o = json_pack("{s:s, s:I, s:s}", "detection_id", id, "feedback_id",
                              (json_int_t)fid, "verdict", verdict);
        rc = gateway_send_json(conn, 201, "", o);
        json_decref(o);
    }
    json_decref(root);
    return rc;
}

int gateway_handle_feedback(struct mg_connection *conn, gateway_t *gw, const char *path_id,
                            size_t idlen, const char *tenant)
{
    if (strcmp(mg_get_request_info(conn)->request_method, "POST") != 0)
        return gateway_send_error(conn, 405, "method_not_allowed", "Allow: POST\r\n",
                                  "use POST");
    char id[VC_ID_MAX + 1];
    if (!vc_id_valid(path_id, idlen))
        return gateway_send_error(conn, 404, "not_found", "", "no such detection");
    memcpy(id, path_id, idlen);
    id[idlen] = '\0';
    /* Its body may arrive as slowly as a submission's: one of MAX_LONGPOLL while it does, so
     * uploads cannot occupy the workers /health and /metrics need. */
    if (vc_sem_try_acquire(gw->longpolls) != 0) {
        vc_counter_add(gw->m_longpoll_shed, 1);
        return gateway_send_error(conn, 503, "overloaded", "Retry-After: 1\r\n",
                                  "too many long-polls and feedback uploads in flight "
                                  "(MAX_LONGPOLL), retry later");
    }
    int rc = feedback(conn, gw, id, tenant);
    vc_sem_release(gw->longpolls);
    return rc;
}
