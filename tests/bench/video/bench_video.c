/* vc-bench-video: throughput of the video engine, in frames per second of this thread's CPU
 * time, at 640x480 and 1280x720, decode (demux + decode + scale to analysis size) and analysis
 * (every analyzer) measured separately.
 *
 *   vc-bench-video [--frames N] [--codec h264|mpeg4|ffv1]
 *
 * The clip is synthetic (a textured scene panning, two moving blobs, sensor noise) encoded in
 * memory with libavcodec (H.264 by default when the libx264 encoder is present). Prints one
 * JSON object per size, then a summary line. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "vc/error.h"
#include "vc/video.h"

typedef struct {
    uint8_t *data;
    size_t len;
} buf_t;

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t rng_next(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 24;
}

static void render(AVFrame *f, int t, uint32_t *rng)
{
    int w = f->width, h = f->height;
    for (int y = 0; y < h; y++) {
        uint8_t *row = f->data[0] + (size_t)y * f->linesize[0];
        for (int x = 0; x < w; x++) {
            int u = x + 3 * t, v = y + t;
            int val = 100 + ((u / 16 + v / 16) & 1) * 60 + ((u * 7 + v * 3) & 31);
            for (int b = 0; b < 2; b++) {
                int bx = w / 3 * (b + 1) + (int)(w / 8 * sin(0.1 * t + b));
                int by = h / 2 + (int)(h / 6 * cos(0.13 * t + b));
                if ((x - bx) * (x - bx) + (y - by) * (y - by) < (w / 20) * (w / 20))
                    val = 30 + b * 180;
            }
            val += (int)(rng_next(rng) % 9) - 4;
            row[x] = (uint8_t)(val < 0 ? 0 : val > 255 ? 255 : val);
        }
    }
    for (int y = 0; y < h / 2; y++) {
        memset(f->data[1] + (size_t)y * f->linesize[1], 120, (size_t)w / 2);
        memset(f->data[2] + (size_t)y * f->linesize[2], 136, (size_t)w / 2);
    }
}

static int pick_codec(const char *name, const AVCodec **codec)
{
    if (strcmp(name, "h264") == 0)
        *codec = avcodec_find_encoder_by_name("libx264");
    else if (strcmp(name, "mpeg4") == 0)
        *codec = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
    else
        *codec = avcodec_find_encoder(AV_CODEC_ID_FFV1);
    if (*codec == NULL)
        *codec = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
    return *codec != NULL ? 0 : VC_EUNAVAIL;
}

static int drain(AVCodecContext *enc, AVFormatContext *oc, AVStream *st, AVPacket *pkt)
{
    for (;;) {
        int ret = avcodec_receive_packet(enc, pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret < 0)
            return -1;
        av_packet_rescale_ts(pkt, enc->time_base, st->time_base);
        pkt->stream_index = st->index;
        if (av_interleaved_write_frame(oc, pkt) < 0)
            return -1;
    }
}

/* Encodes n synthetic frames w x h into Matroska in memory. Returns 0 or -1. */
static int make_clip(const AVCodec *codec, int w, int h, int n, buf_t *out)
{
    AVFormatContext *oc = NULL;
    AVCodecContext *enc = NULL;
    AVFrame *f = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    uint32_t rng = 7;
    int rc = -1;
    if (f == NULL || pkt == NULL || avformat_alloc_output_context2(&oc, NULL, "matroska", NULL) < 0)
        goto done;
    AVStream *st = avformat_new_stream(oc, NULL);
    enc = avcodec_alloc_context3(codec);
    if (st == NULL || enc == NULL)
        goto done;
    enc->width = w;
    enc->height = h;
    enc->pix_fmt = AV_PIX_FMT_YUV420P;
    enc->time_base = (AVRational){1, 30};
    enc->framerate = (AVRational){30, 1};
    enc->bit_rate = (int64_t)w * h * 4;
    enc->thread_count = 1;
    enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (avcodec_open2(enc, codec, NULL) < 0 ||
        avcodec_parameters_from_context(st->codecpar, enc) < 0)
        goto done;
    st->time_base = enc->time_base;
    f->width = w;
    f->height = h;
    f->format = AV_PIX_FMT_YUV420P;
    if (av_frame_get_buffer(f, 0) < 0 || avio_open_dyn_buf(&oc->pb) < 0 ||
        avformat_write_header(oc, NULL) < 0)
        goto done;
    for (int t = 0; t <= n; t++) {
        if (t < n) {
            if (av_frame_make_writable(f) < 0)
                goto done;
            render(f, t, &rng);
            f->pts = t;
        }
        if (avcodec_send_frame(enc, t < n ? f : NULL) < 0 || drain(enc, oc, st, pkt) != 0)
            goto done;
    }
    if (av_write_trailer(oc) < 0)
        goto done;
    uint8_t *p = NULL;
    int len = avio_close_dyn_buf(oc->pb, &p);
    oc->pb = NULL;
    out->data = malloc((size_t)len);
    if (out->data != NULL) {
        memcpy(out->data, p, (size_t)len);
        out->len = (size_t)len;
        rc = 0;
    }
    av_free(p);

done:
    if (oc != NULL && oc->pb != NULL) {
        uint8_t *rest = NULL;
        avio_close_dyn_buf(oc->pb, &rest);
        av_free(rest);
        oc->pb = NULL;
    }
    avformat_free_context(oc);
    avcodec_free_context(&enc);
    av_frame_free(&f);
    av_packet_free(&pkt);
    return rc;
}

/* Decodes and analyses the clip `reps` times; prints a JSON line. */
static int bench_size(const AVCodec *codec, int w, int h, int n, int reps)
{
    buf_t clip = {0};
    char err[256] = "";
    double dec = 0, ana = 0;
    long frames = 0;
    vc_video_report_t rep;
    if (make_clip(codec, w, h, n, &clip) != 0) {
        fprintf(stderr, "vc-bench-video: cannot encode %dx%d\n", w, h);
        return -1;
    }
    for (int r = 0; r < reps; r++) {
        vc_video_frames_t *fr = NULL;
        double t0 = cpu_s();
        int rc = vc_video_decode(clip.data, clip.len, NULL, &fr, err, sizeof(err));
        double t1 = cpu_s();
        if (rc == 0)
            rc = vc_video_analyze(fr, NULL, &rep, err, sizeof(err));
        double t2 = cpu_s();
        if (rc != 0) {
            fprintf(stderr, "vc-bench-video: %s: %s\n", vc_strerror(rc), err);
            vc_video_frames_free(fr);
            free(clip.data);
            return -1;
        }
        frames += fr->count;
        dec += t1 - t0;
        ana += t2 - t1;
        vc_video_frames_free(fr);
    }
    printf("{\"size\":\"%dx%d\",\"codec\":\"%s\",\"frames\":%ld,\"analysis_size\":\"%dx%d\","
           "\"decode_fps\":%.0f,\"analysis_fps\":%.0f,\"end_to_end_fps\":%.0f,\"score\":%.3f}\n",
           w, h, codec->name, frames, rep.stats.analysis_width, rep.stats.analysis_height,
           frames / dec, frames / ana, frames / (dec + ana), rep.score);
    free(clip.data);
    return 0;
}

int main(int argc, char **argv)
{
    int frames = 150;
    const char *cname = "h264";
    const AVCodec *codec;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--frames") == 0) {
            char *end = NULL;
            errno = 0;
            long v = strtol(argv[i + 1], &end, 10);
            if (errno != 0 || end == argv[i + 1] || *end != '\0' || v < 2 || v > 3600) {
                fprintf(stderr, "vc-bench-video: --frames must be 2..3600\n");
                return 2;
            }
            frames = (int)v;
        } else if (strcmp(argv[i], "--codec") == 0) {
            cname = argv[i + 1];
        } else {
            fprintf(stderr, "usage: vc-bench-video [--frames N] [--codec h264|mpeg4|ffv1]\n");
            return 2;
        }
    }
    vc_video_quiet_logs();
    if (pick_codec(cname, &codec) != 0) {
        fprintf(stderr, "vc-bench-video: no encoder\n");
        return 77;
    }
    if (bench_size(codec, 640, 480, frames, 2) != 0 || bench_size(codec, 1280, 720, frames, 2) != 0)
        return 1;
    printf("vc-bench-video: per core, CPU time of one thread; analysis excludes decode\n");
    return 0;
}
