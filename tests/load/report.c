/* vc-loadtest's measurements and their three renderings: text for people, JSON for
 * machines, key=value lines for shell scripts (the benchmarks). */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "loadtest.h"
#include "vc/error.h"

static const char *const type_names[] = {"health", "detection", "batch", "e2e"};
static const char *const err_names[] = {"connect",        "io",     "timeout",
                                        "protocol",       "late",   "http_status",
                                        "no_id",          "result_timeout", "result_failed"};

const char *vc_load_type_name(vc_load_type_t type)
{
    return (unsigned)type < 4 ? type_names[type] : "?";
}

const char *vc_load_err_name(vc_load_err_t e)
{
    return (unsigned)e < VC_LOAD_NERR ? err_names[e] : "?";
}

int vc_load_stats_init(vc_load_stats_t *st)
{
    memset(st, 0, sizeof(*st));
    if (vc_hist_new(&st->latency) != 0 || vc_hist_new(&st->service) != 0 ||
        vc_hist_new(&st->submit) != 0) {
        vc_load_stats_free(st);
        return VC_ENOMEM;
    }
    return 0;
}

void vc_load_stats_free(vc_load_stats_t *st)
{
    vc_hist_free(st->latency);
    vc_hist_free(st->service);
    vc_hist_free(st->submit);
    st->latency = st->service = st->submit = NULL;
}

static double elapsed_s(const vc_load_stats_t *st)
{
    double s = (double)(st->t_end_ns - st->t_start_ns) / 1e9;
    return s > 0.0 ? s : 1e-9;
}

static double ms(uint64_t us)
{
    return (double)us / 1000.0;
}

/* Percentile points reported for every histogram. */
static const double points[] = {50.0, 95.0, 99.0, 99.9};
static const char *const point_names[] = {"p50", "p95", "p99", "p99_9"};

static json_t *hist_json(const vc_hist_t *h)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "count", json_integer((json_int_t)vc_hist_count(h)));
    json_object_set_new(o, "avg_ms", json_real(vc_hist_mean(h) / 1000.0));
    json_object_set_new(o, "min_ms", json_real(ms(vc_hist_min(h))));
    for (size_t i = 0; i < 4; i++) {
        char key[16];
        snprintf(key, sizeof(key), "%s_ms", point_names[i]);
        json_object_set_new(o, key, json_real(ms(vc_hist_percentile(h, points[i]))));
    }
    json_object_set_new(o, "max_ms", json_real(ms(vc_hist_max(h))));
    return o;
}

static json_t *codes_json(const uint64_t *codes)
{
    json_t *o = json_object();
    for (int c = 0; o != NULL && c < 600; c++) {
        if (codes[c] == 0)
            continue;
        char key[16];
        snprintf(key, sizeof(key), "%d", c);
        json_object_set_new(o, key, json_integer((json_int_t)codes[c]));
    }
    return o;
}

int vc_load_report_json(const vc_load_opts_t *opts, const vc_load_stats_t *st, FILE *out)
{
    json_t *o = json_object(), *errs = json_object();
    if (o == NULL || errs == NULL) {
        json_decref(o);
        json_decref(errs);
        return VC_ENOMEM;
    }
    double el = elapsed_s(st);
    json_object_set_new(o, "tool", json_string("vc-loadtest"));
    json_object_set_new(o, "type", json_string(vc_load_type_name(opts->type)));
    json_object_set_new(o, "mode", json_string(opts->rate > 0 ? "open" : "closed"));
    json_object_set_new(o, "rate", json_real(opts->rate));
    json_object_set_new(o, "concurrency", json_integer(opts->concurrency));
    json_object_set_new(o, "started", json_integer((json_int_t)st->started));
    json_object_set_new(o, "finished", json_integer((json_int_t)st->finished));
    json_object_set_new(o, "ok", json_integer((json_int_t)st->ok));
    json_object_set_new(o, "success_rate",
                        json_real(st->finished > 0 ? (double)st->ok / (double)st->finished : 0));
    json_object_set_new(o, "elapsed_s", json_real(el));
    json_object_set_new(o, "throughput_rps", json_real((double)st->finished / el));
    json_object_set_new(o, "success_rps", json_real((double)st->ok / el));
    json_object_set_new(o, "status", codes_json(st->status));
    for (int e = 0; e < VC_LOAD_NERR; e++) {
        if (st->errors[e] > 0)
            json_object_set_new(errs, vc_load_err_name((vc_load_err_t)e),
                                json_integer((json_int_t)st->errors[e]));
    }
    json_object_set_new(o, "errors", errs);
    json_object_set_new(o, "latency", hist_json(st->latency));
    json_object_set_new(o, "service", hist_json(st->service));
    if (opts->type == VC_LOAD_E2E) {
        json_object_set_new(o, "submit", hist_json(st->submit));
        json_object_set_new(o, "polls", json_integer((json_int_t)st->polls));
        json_object_set_new(o, "poll_status", codes_json(st->poll_status));
    }
    if (opts->recovery_ms > 0) {
        json_object_set_new(o, "recovered", json_boolean(st->recovered));
        json_object_set_new(o, "recovery_s", json_real(st->recovery_s));
        json_object_set_new(o, "probes", json_integer((json_int_t)st->probes));
    }
    int rc = json_dumpf(o, out, JSON_COMPACT | JSON_REAL_PRECISION(6)) == 0 ? 0 : VC_EIO;
    fputc('\n', out);
    json_decref(o);
    return rc;
}

static void kv_hist(FILE *out, const char *name, const vc_hist_t *h)
{
    fprintf(out, "%s_count=%llu\n%s_avg_ms=%.3f\n", name, (unsigned long long)vc_hist_count(h),
            name, vc_hist_mean(h) / 1000.0);
    for (size_t i = 0; i < 4; i++)
        fprintf(out, "%s_%s_ms=%.3f\n", name, point_names[i],
                ms(vc_hist_percentile(h, points[i])));
    fprintf(out, "%s_max_ms=%.3f\n", name, ms(vc_hist_max(h)));
}

int vc_load_report_kv(const vc_load_opts_t *opts, const vc_load_stats_t *st, FILE *out)
{
    double el = elapsed_s(st);
    uint64_t c2 = 0, c4 = 0, c5 = 0, err = 0;
    for (int c = 200; c < 300; c++)
        c2 += st->status[c];
    for (int c = 400; c < 500; c++)
        c4 += st->status[c];
    for (int c = 500; c < 600; c++)
        c5 += st->status[c];
    for (int e = 0; e < VC_LOAD_NERR; e++)
        err += e == VC_LOAD_ERR_HTTP ? 0 : st->errors[e];
    fprintf(out, "type=%s\nstarted=%llu\nfinished=%llu\nok=%llu\nelapsed_s=%.3f\n",
            vc_load_type_name(opts->type), (unsigned long long)st->started,
            (unsigned long long)st->finished, (unsigned long long)st->ok, el);
    fprintf(out, "throughput_rps=%.2f\nsuccess_rps=%.2f\n", (double)st->finished / el,
            (double)st->ok / el);
    fprintf(out, "status_2xx=%llu\nstatus_4xx=%llu\nstatus_5xx=%llu\n",
            (unsigned long long)c2, (unsigned long long)c4, (unsigned long long)c5);
    fprintf(out, "status_404=%llu\nstatus_429=%llu\nstatus_503=%llu\nerrors_other=%llu\n",
            (unsigned long long)st->status[404], (unsigned long long)st->status[429],
            (unsigned long long)st->status[503], (unsigned long long)err);
    kv_hist(out, "latency", st->latency);
    kv_hist(out, "service", st->service);
    if (opts->type == VC_LOAD_E2E)
        kv_hist(out, "submit", st->submit);
    if (opts->recovery_ms > 0)
        fprintf(out, "recovered=%d\nrecovery_s=%.3f\n", st->recovered, st->recovery_s);
    return ferror(out) ? VC_EIO : 0;
}

void vc_load_ids_header(FILE *out)
{
    fprintf(out, "#index\tid\toutcome\thttp_status\terror_code\tintended_ms\tsent_ms\tdone_ms\t"
                 "sends\n");
}

void vc_load_ids_record(FILE *out, uint64_t index, const char *id, const char *outcome,
                        int http_status, const char *error_code, int64_t intended_ms,
                        int64_t sent_ms, int64_t done_ms, int sends)
{
    fprintf(out, "%llu\t%s\t%s\t%d\t%s\t%lld\t%lld\t%lld\t%d\n", (unsigned long long)index,
            id != NULL && *id != '\0' ? id : "-", outcome, http_status,
            error_code != NULL && *error_code != '\0' ? error_code : "-", (long long)intended_ms,
            (long long)sent_ms, (long long)done_ms, sends);
}

static void text_hist(FILE *out, const char *title, const vc_hist_t *h)
{
    if (vc_hist_count(h) == 0) {
        fprintf(out, "%-22s (no samples)\n", title);
        return;
    }
    fprintf(out,
            "%-22s avg %.2f  p50 %.2f  p95 %.2f  p99 %.2f  p99.9 %.2f  max %.2f ms  (n=%llu)\n",
            title, vc_hist_mean(h) / 1000.0, ms(vc_hist_percentile(h, 50.0)),
            ms(vc_hist_percentile(h, 95.0)), ms(vc_hist_percentile(h, 99.0)),
            ms(vc_hist_percentile(h, 99.9)), ms(vc_hist_max(h)),
            (unsigned long long)vc_hist_count(h));
}

int vc_load_report_text(const vc_load_opts_t *opts, const vc_load_stats_t *st, FILE *out)
{
    double el = elapsed_s(st);
    fprintf(out, "vc-loadtest: %s, %s loop", vc_load_type_name(opts->type),
            opts->rate > 0 ? "open" : "closed");
    if (opts->rate > 0)
        fprintf(out, " at %.1f/s", opts->rate);
    fprintf(out, ", concurrency %d, %s:%d\n", opts->concurrency, opts->host, opts->port);
    fprintf(out, "operations: %llu finished, %llu succeeded (%.2f%%) in %.2f s\n",
            (unsigned long long)st->finished, (unsigned long long)st->ok,
            st->finished > 0 ? 100.0 * (double)st->ok / (double)st->finished : 0.0, el);
    fprintf(out, "throughput: %.1f ops/s, %.1f successes/s\n", (double)st->finished / el,
            (double)st->ok / el);
    fprintf(out, "status codes:");
    for (int c = 0; c < 600; c++) {
        if (st->status[c] > 0)
            fprintf(out, " %d=%llu", c, (unsigned long long)st->status[c]);
    }
    fprintf(out, "\nerrors:");
    for (int e = 0; e < VC_LOAD_NERR; e++) {
        if (st->errors[e] > 0)
            fprintf(out, " %s=%llu", vc_load_err_name((vc_load_err_t)e),
                    (unsigned long long)st->errors[e]);
    }
    fprintf(out, "\n");
    text_hist(out, opts->type == VC_LOAD_E2E ? "submit->result" : "latency", st->latency);
    text_hist(out, "service (from send)", st->service);
    if (opts->type == VC_LOAD_E2E) {
        text_hist(out, "submit (accepted)", st->submit);
        fprintf(out, "polls: %llu\n", (unsigned long long)st->polls);
    }
    if (opts->recovery_ms > 0)
        fprintf(out, "recovery: %s after %.2f s (%llu probes, threshold %.1f ms)\n",
                st->recovered ? "recovered" : "NOT recovered", st->recovery_s,
                (unsigned long long)st->probes, opts->recovery_ms);
    return ferror(out) ? VC_EIO : 0;
}
