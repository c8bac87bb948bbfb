#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "detector.h"
#include "vc/config.h"
#include "vc/error.h"

static int instance_default(char *out, size_t cap)
{
    char host[48] = "detector";
    gethostname(host, sizeof(host) - 1);
    int n = snprintf(out, cap, "%s-%ld", host, (long)getpid());
    return (n < 0 || (size_t)n >= cap) ? VC_EINVAL : 0;
}

static int load_log_level(detector_config_t *cfg, char *err, size_t errlen)
{
    static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
    const char *lvl = NULL;
    int rc = vc_config_enum("LOG_LEVEL", "info", levels, &lvl, err, errlen);
    if (rc == 0)
        rc = vc_log_level_parse(lvl, &cfg->log_level);
    return rc;
}

static int load_instance(detector_config_t *cfg, char *err, size_t errlen)
{
    const char *id = NULL;
    int rc = vc_config_str("INSTANCE_ID", NULL, &id, err, errlen);
    if (rc != 0)
        return rc;
    /* Static membership is off by default: with librdkafka 2.0.2 a static member whose session times out (its
     * coordinator paused or failing over) is fenced by its own rejoin, a fatal error
     * (docs/operations.md). It also needs ids that survive a restart (a default id holds
     * the pid). */
    int explicit_id = id != NULL && *id != '\0';
    rc = vc_config_bool("DETECTOR_STATIC_MEMBERSHIP", 0, &cfg->static_membership, err,
                        errlen);
    if (rc != 0)
        return rc;
    if (!explicit_id)
        return instance_default(cfg->instance_id, sizeof(cfg->instance_id));
    /* Workers append "-w<N>" (up to 5 bytes) to the supervisor's id. */
    if (strlen(id) + 5 >= sizeof(cfg->instance_id))
        return vc_err(err, errlen, VC_EINVAL, "INSTANCE_ID: longer than %zu bytes",
                      sizeof(cfg->instance_id) - 6);
    memcpy(cfg->instance_id, id, strlen(id) + 1);
    return 0;
}

/* A probability threshold in [0, 1] from the environment. */
static int threshold(const char *name, double def, double *out, char *err, size_t errlen)
{
    const char *v = NULL;
    int rc = vc_config_str(name, NULL, &v, err, errlen);
    if (rc != 0 || v == NULL || *v == '\0') {
        *out = def;
        return rc;
    }
    char *end = NULL;
    errno = 0;
    double d = strtod(v, &end);
    if (errno != 0 || end == v || *end != '\0' || !(d >= 0.0 && d <= 1.0))
        return vc_err(err, errlen, VC_EINVAL, "%s=%s: must be a number from 0 to 1", name, v);
    *out = d;
    return 0;
}

/* The audio spoof model and its decision thresholds. */
static int load_audio_model(detector_config_t *cfg, char *err, size_t errlen)
{
    int rc = vc_config_str("AUDIO_MODEL_PATH", vc_audio_model_default_path(),
                           &cfg->audio_model_path, err, errlen);
    if (rc == 0)
        rc = threshold("AUDIO_GENUINE_BELOW", 0.35, &cfg->audio_genuine_below, err, errlen);
    if (rc == 0)
        rc = threshold("AUDIO_SPOOF_FROM", 0.65, &cfg->audio_spoof_from, err, errlen);
    if (rc == 0 && cfg->audio_genuine_below > cfg->audio_spoof_from)
        rc = vc_err(err, errlen, VC_EINVAL,
                    "AUDIO_GENUINE_BELOW=%g: must not exceed AUDIO_SPOOF_FROM=%g",
                    cfg->audio_genuine_below, cfg->audio_spoof_from);
    return rc;
}

/* Video decoding limits (checked before allocating) and decision thresholds. The wall-clock
 * limit follows DETECTION_DEADLINE (load_process runs first). */
static int load_video(detector_config_t *cfg, char *err, size_t errlen)
{
    vc_video_opts_t *v = &cfg->video;
    vc_video_opts_default(v);
    long long secs = 0, width = 0, height = 0, frames = 0;
    int rc = vc_config_int("MAX_VIDEO_SECONDS", 120, 1, 3600, &secs, err, errlen);
    if (rc == 0)
        rc = vc_config_int("MAX_VIDEO_WIDTH", 3840, 16, 4096, &width, err, errlen);
    if (rc == 0)
        rc = vc_config_int("MAX_VIDEO_HEIGHT", 2160, 16, 4096, &height, err, errlen);
    if (rc == 0)
        rc = vc_config_int("MAX_VIDEO_FRAMES", 1800, 2, 100000, &frames, err, errlen);
    if (rc == 0)
        rc = threshold("VIDEO_GENUINE_BELOW", v->genuine_threshold, &v->genuine_threshold, err,
                       errlen);
    if (rc == 0)
        rc = threshold("VIDEO_SPOOF_FROM", v->spoof_threshold, &v->spoof_threshold, err, errlen);
    if (rc == 0 && v->genuine_threshold > v->spoof_threshold)
        rc = vc_err(err, errlen, VC_EINVAL,
                    "VIDEO_GENUINE_BELOW=%g: must not exceed VIDEO_SPOOF_FROM=%g",
                    v->genuine_threshold, v->spoof_threshold);
    v->max_duration_s = (double)secs;
    v->max_width = (int)width;
    v->max_height = (int)height;
    v->max_frames = (int)frames;
    v->max_wall_s = (double)cfg->deadline_ms / 1000.0;
    return rc;
}

static int load_limits(detector_config_t *cfg, char *err, size_t errlen)
{
    long long cores = sysconf(_SC_NPROCESSORS_ONLN);
    long long secs = 0, chans = 0;
    int rc = vc_config_int("THREAD_POOL_SIZE", cores > 0 ? 2 * cores : 4, 1, 1024, &cfg->threads,
                           err, errlen);
    if (rc == 0)
        rc = vc_config_int("DETECTOR_MAX_INFLIGHT", 32 * cfg->threads, 1, 100000,
                           &cfg->max_inflight, err, errlen);
    if (rc == 0)
        rc = vc_config_bytes("DETECTOR_MAX_INFLIGHT_BYTES", 256LL << 20, 1LL << 20, 64LL << 30,
                             &cfg->max_inflight_bytes, err, errlen);
    if (rc == 0)
        rc = vc_config_int("RESULT_TTL_SECONDS", 86400, 1, 365LL * 86400, &cfg->result_ttl_s,
                           err, errlen);
    if (rc == 0)
        rc = vc_config_int("DETECTOR_DB_BATCH_ROWS", 100, 1, 10000, &cfg->db_batch_rows, err,
                           errlen);
    if (rc == 0)
        rc = vc_config_duration_ms("DETECTOR_DB_BATCH_MS", 5, 0, 10000, &cfg->db_batch_ms, err,
                                   errlen);
    if (rc == 0)
        rc = vc_config_int("MAX_AUDIO_SECONDS", 600, 1, 86400, &secs, err, errlen);
    if (rc == 0)
        rc = vc_config_int("MAX_AUDIO_CHANNELS", 8, 1, 64, &chans, err, errlen);
    vc_audio_opts_default(&cfg->audio);
    cfg->audio.max_duration_s = (double)secs;
    cfg->audio.max_channels = (int)chans;
    return rc;
}

/* Supervisor, HTTP, deadline and crash settings. */
static int load_process(detector_config_t *cfg, char *err, size_t errlen)
{
    long long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int rc = vc_config_int("PROCESS_POOL_SIZE", cores > 0 ? cores : 1, 1, 256, &cfg->processes,
                           err, errlen);
    if (rc == 0)
        rc = vc_config_str("DETECTOR_HTTP_HOST", "127.0.0.1", &cfg->http_host, err, errlen);
    if (rc == 0)
        rc = vc_config_int("DETECTOR_HTTP_PORT", 0, 0, 65535, &cfg->http_port, err, errlen);
    if (rc == 0)
        rc = vc_config_duration_ms("DETECTION_DEADLINE", 60000, 100, 86400000LL,
                                   &cfg->deadline_ms, err, errlen);
    if (rc == 0)
        rc = vc_config_int("DETECTOR_MAX_CRASHES", 3, 1, 100, &cfg->max_crashes, err, errlen);
    if (rc == 0)
        rc = vc_config_int("DETECTOR_PERMANENT_ATTEMPTS", 3, 1, 100, &cfg->permanent_attempts,
                           err, errlen);
    if (rc == 0)
        rc = vc_config_duration_ms("DETECTOR_DRAIN_TIMEOUT", 30000, 1000, 3600000,
                                   &cfg->drain_timeout_ms, err, errlen);
    if (rc == 0)
        rc = vc_config_int("RESOURCE_WARN_PERCENT", 80, 1, 100, &cfg->warn_percent, err, errlen);
    return rc;
}

/* Autoscaling between DETECTOR_MIN_PROCESSES and PROCESS_POOL_SIZE (off when equal). */
static int load_scaling(detector_config_t *cfg, char *err, size_t errlen)
{
    int rc = vc_config_int("DETECTOR_MIN_PROCESSES", cfg->processes, 1, cfg->processes,
                           &cfg->min_processes, err, errlen);
    if (rc == 0)
        rc = vc_config_duration_ms("DETECTOR_SCALE_INTERVAL", 10000, 200, 3600000,
                                   &cfg->scale_interval_ms, err, errlen);
    if (rc == 0)
        rc = vc_config_duration_ms("DETECTOR_SCALE_COOLDOWN", 30000, 0, 3600000,
                                   &cfg->scale_cooldown_ms, err, errlen);
    if (rc == 0)
        rc = vc_config_int("DETECTOR_SCALE_UP_LAG", 100, 1, 1LL << 40, &cfg->scale_up_lag, err,
                           errlen);
    if (rc == 0)
        rc = vc_config_int("DETECTOR_SCALE_DOWN_LAG", 0, 0, 1LL << 40, &cfg->scale_down_lag, err,
                           errlen);
    if (rc == 0)
        rc = vc_config_int("DETECTOR_SCALE_MAX_CPU", 90, 1, 100, &cfg->scale_max_cpu, err,
                           errlen);
    if (rc == 0)
        rc = vc_config_int("DETECTOR_SCALE_DOWN_CPU", 50, 1, 100, &cfg->scale_down_cpu, err,
                           errlen);
    if (rc == 0 && cfg->scale_down_lag >= cfg->scale_up_lag)
        rc = vc_err(err, errlen, VC_EINVAL,
                    "DETECTOR_SCALE_DOWN_LAG=%lld: must be below DETECTOR_SCALE_UP_LAG=%lld",
                    cfg->scale_down_lag, cfg->scale_up_lag);
    return rc;
}

/* Test hooks exist only with DETECTOR_TEST_HOOKS=1: a production configuration that names
 * one by mistake stops start-up instead of crashing or slowing workers. */
static int load_test_hooks(detector_config_t *cfg, char *err, size_t errlen)
{
    int hooks = 0;
    int rc = vc_config_bool("DETECTOR_TEST_HOOKS", 0, &hooks, err, errlen);
    if (rc == 0)
        rc = vc_config_str("DETECTOR_CRASH_ON_ID_PREFIX", NULL, &cfg->crash_prefix, err, errlen);
    if (rc == 0)
        rc = vc_config_duration_ms("DETECTOR_TEST_ANALYSIS_DELAY", 0, 0, 3600000,
                                   &cfg->test_delay_ms, err, errlen);
    if (rc != 0 || hooks)
        return rc;
    if (cfg->crash_prefix != NULL && *cfg->crash_prefix != '\0')
        return vc_err(err, errlen, VC_EINVAL,
                      "DETECTOR_CRASH_ON_ID_PREFIX: a test hook, refused unless "
                      "DETECTOR_TEST_HOOKS=1");
    if (cfg->test_delay_ms > 0)
        return vc_err(err, errlen, VC_EINVAL,
                      "DETECTOR_TEST_ANALYSIS_DELAY: a test hook, refused unless "
                      "DETECTOR_TEST_HOOKS=1");
    return 0;
}

int detector_config_load(detector_config_t *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->status_fd = -1;
    int rc = load_log_level(cfg, err, errlen);
    if (rc == 0)
        rc = load_instance(cfg, err, errlen);
    if (rc == 0)
        rc = vc_config_str("KAFKA_GROUP_ID", "vc-detectors", &cfg->group_id, err, errlen);
    if (rc == 0)
        rc = load_limits(cfg, err, errlen);
    if (rc == 0)
        rc = load_audio_model(cfg, err, errlen);
    if (rc == 0)
        rc = load_process(cfg, err, errlen);
    if (rc == 0)
        rc = load_video(cfg, err, errlen);
    if (rc == 0)
        rc = load_scaling(cfg, err, errlen);
    if (rc == 0)
        rc = load_test_hooks(cfg, err, errlen);
    if (rc == 0)
        rc = vc_kafka_config_from_env(&cfg->kafka, err, errlen);
    if (rc == 0)
        rc = vc_redis_opts_from_env(&cfg->redis, err, errlen);
    /* Every pool thread may hold one connection of each kind; more would sit idle. */
    if (rc == 0)
        rc = vc_pg_opts_from_env(&cfg->pg, (size_t)cfg->threads + 1, err, errlen);
    if (rc == 0) {
        long long def = cfg->kafka.session_timeout_ms / 2 < 5000 ? cfg->kafka.session_timeout_ms / 2
                                                                  : 5000;
        rc = vc_config_duration_ms("DETECTOR_REVOKE_GRACE", def, 0, 600000, &cfg->revoke_grace_ms,
                                   err, errlen);
    }
    if (rc == 0 && cfg->redis.size > (size_t)cfg->threads + 1)
        cfg->redis.size = (size_t)cfg->threads + 1;
    return rc;
}
