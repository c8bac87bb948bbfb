/* Video reports for vc-detect: file reading, container sniffing and the JSON shape of a
 * vc_video_report_t. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli_json.h"
#include "cli_video.h"
#include "vc/error.h"
#include "vc/video.h"

#define MAX_VIDEO_BYTES ((size_t)512 * 1024 * 1024)

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* Reads the whole regular file path (at most MAX_VIDEO_BYTES). On success the caller frees
 * *data with free(). Returns 0, VC_ENOTFOUND, VC_EIO, VC_ETOOBIG or VC_ENOMEM. */
static int slurp(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    uint8_t *buf = NULL;
    int rc;

    *data = NULL;
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return vc_err(err, errlen, errno == ENOENT ? VC_ENOTFOUND : VC_EIO, "%s", strerror(errno));
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = vc_err(err, errlen, VC_EIO, "not a regular file");
        goto fail;
    }
    if ((uintmax_t)st.st_size > MAX_VIDEO_BYTES) {
        rc = vc_err(err, errlen, VC_ETOOBIG, "file over %zu bytes", MAX_VIDEO_BYTES);
        goto fail;
    }
    size_t want = (size_t)st.st_size;
    buf = malloc(want > 0 ? want : 1);
    if (buf == NULL) {
        rc = vc_err(err, errlen, VC_ENOMEM, "no memory for %zu bytes", want);
        goto fail;
    }
    if (fread(buf, 1, want, fp) != want) {
        rc = vc_err(err, errlen, VC_EIO, "short read");
        goto fail;
    }
    fclose(fp);
    *data = buf;
    *len = want;
    return 0;

fail:
    free(buf);
    fclose(fp);
    return rc;
}

int vc_cli_video_looks_like_video(const char *path)
{
    uint8_t h[64] = {0};
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return 0;
    size_t n = fread(h, 1, sizeof(h), fp);
    fclose(fp);
    if (n < 12)
        return 0;
    if (memcmp(h + 4, "ftyp", 4) == 0 || memcmp(h + 4, "moov", 4) == 0)
        return 1;
    if (memcmp(h, "\x1a\x45\xdf\xa3", 4) == 0 || memcmp(h, "YUV4MPEG2", 9) == 0)
        return 1;
    if (memcmp(h, "RIFF", 4) == 0 && memcmp(h + 8, "AVI ", 4) == 0)
        return 1;
    if (memcmp(h, "\x00\x00\x01\xba", 4) == 0 || memcmp(h, "\x00\x00\x01\xb3", 4) == 0)
        return 1;
    if (memcmp(h, "FLV", 3) == 0 || memcmp(h, "DKIF", 4) == 0 || h[0] == 0x47)
        return 1;
    return memcmp(h, "OggS", 4) == 0 && n >= 35 && memcmp(h + 28, "\x80theora", 7) == 0;
}

static json_t *analysis_json(const vc_video_analysis_t *an)
{
    json_t *ev = json_object();
    if (ev == NULL)
        return NULL;
    for (int i = 0; i < an->n_evidence; i++)
        json_object_set_new(ev, an->evidence[i].key, json_real(an->evidence[i].value));
    return json_pack("{s:s, s:i, s:b, s:f, s:o}", "name", an->name, "version", an->version,
                     "fused", an->fused, "score", an->score, "evidence", ev);
}

static json_t *stats_json(const vc_video_stats_t *s, double decode_ms, double analyze_ms)
{
    return json_pack("{s:i, s:f, s:i, s:i, s:i, s:i, s:f, s:s, s:s, s:f, s:f}", "frames",
                     s->frames, "fps", s->fps, "width", s->width, "height", s->height,
                     "analysis_width", s->analysis_width, "analysis_height",
                     s->analysis_height, "duration_s", s->duration_s, "codec", s->codec,
                     "container", s->container, "decode_ms", decode_ms, "analyze_ms",
                     analyze_ms);
}

static json_t *report_json(const char *path, const vc_video_report_t *rep, double decode_ms,
                           double analyze_ms)
{
    json_t *list = json_array();
    if (list == NULL)
        return NULL;
    for (int i = 0; i < rep->n_analyses; i++)
        json_array_append_new(list, analysis_json(&rep->analyses[i]));
    const char *top = rep->top >= 0 ? rep->analyses[rep->top].name : "";
    return json_pack("{s:o, s:b, s:s, s:s, s:f, s:s, s:s, s:o, s:o}", "file", vc_cli_path_json(path), "ok", 1,
                     "kind", "video", "version", vc_video_version(), "score", rep->score,
                     "verdict", vc_video_verdict_name(rep->verdict), "top", top, "stats",
                     stats_json(&rep->stats, decode_ms, analyze_ms), "analyzers", list);
}

json_t *vc_cli_video_report(const char *path, char *err, size_t errlen)
{
    uint8_t *data = NULL;
    size_t len = 0;
    vc_video_frames_t *frames = NULL;
    vc_video_report_t rep;
    double t0 = 0, t1 = 0, t2 = 0;

    int rc = slurp(path, &data, &len, err, errlen);
    if (rc == 0) {
        t0 = now_ms();
        rc = vc_video_decode(data, len, NULL, &frames, err, errlen);
        t1 = now_ms();
    }
    free(data);
    if (rc == 0 && frames->count < 2)
        rc = vc_err(err, errlen, VC_EFORMAT, "only one decodable frame");
    if (rc == 0) {
        rc = vc_video_analyze(frames, NULL, &rep, err, errlen);
        t2 = now_ms();
    }
    vc_video_frames_free(frames);
    if (rc != 0)
        return json_pack("{s:o, s:b, s:s, s:i, s:s}", "file", vc_cli_path_json(path), "ok", 0, "error",
                         vc_strerror(rc), "code", rc, "detail", err != NULL ? err : "");
    return report_json(path, &rep, t1 - t0, t2 - t1);
}
