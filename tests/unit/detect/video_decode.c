/* vc_video_decode: containers built in the test (hand-written Y4M; FFV1/Matroska and
 * MJPEG/Matroska encoded with libavcodec into memory), limits, hostile and corrupt input,
 * concurrent use, and the audio/video offset check on a clip with flashes and beeps. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "test.h"
#include "vc/error.h"
#include "vc/video.h"

typedef struct {
    uint8_t *data;
    size_t len;
} buf_t;

/* Luma of frame t: a diagonal ramp moving right by 2 px per frame. */
static uint8_t pattern(int x, int y, int t)
{
    return (uint8_t)((x + 2 * t) * 3 + y * 2);
}

/* A Y4M stream written by hand: header then FRAME + planes (4:2:0). header may override. */
static buf_t y4m(int w, int h, int n, const char *header)
{
    char head[128];
    int hl = header != NULL ? snprintf(head, sizeof(head), "%s", header)
                            : snprintf(head, sizeof(head), "YUV4MPEG2 W%d H%d F30:1 Ip A1:1 C420jpeg\n", w, h);
    size_t fsz = (size_t)w * h * 3 / 2;
    buf_t b = {malloc((size_t)hl + (size_t)n * (6 + fsz) + 1), 0};
    ASSERT(b.data != NULL);
    memcpy(b.data, head, (size_t)hl);
    b.len = (size_t)hl;
    for (int t = 0; t < n; t++) {
        memcpy(b.data + b.len, "FRAME\n", 6);
        b.len += 6;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                b.data[b.len++] = pattern(x, y, t);
        memset(b.data + b.len, 128, fsz - (size_t)w * h);
        b.len += fsz - (size_t)w * h;
    }
    return b;
}

/* Encodes n frames w x h with codec into container fmt in memory. */
static buf_t encode(const char *fmt, enum AVCodecID id, enum AVPixelFormat pix, int w, int h, int n)
{
    AVFormatContext *oc = NULL;
    ASSERT(avformat_alloc_output_context2(&oc, NULL, fmt, NULL) >= 0);
    const AVCodec *codec = avcodec_find_encoder(id);
    ASSERT(codec != NULL);
    AVStream *st = avformat_new_stream(oc, NULL);
    AVCodecContext *enc = avcodec_alloc_context3(codec);
    ASSERT(st != NULL && enc != NULL);
    enc->width = w;
    enc->height = h;
    enc->pix_fmt = pix;
    enc->time_base = (AVRational){1, 25};
    enc->framerate = (AVRational){25, 1};
    enc->thread_count = 1;
    enc->color_range = AVCOL_RANGE_JPEG;
    if (oc->oformat->flags & AVFMT_GLOBALHEADER)
        enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    ASSERT_OK(avcodec_open2(enc, codec, NULL));
    ASSERT(avcodec_parameters_from_context(st->codecpar, enc) >= 0);
    st->time_base = enc->time_base;
    ASSERT_OK(avio_open_dyn_buf(&oc->pb));
    ASSERT_OK(avformat_write_header(oc, NULL));
    AVFrame *f = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    f->width = w;
    f->height = h;
    f->format = pix;
    ASSERT_OK(av_frame_get_buffer(f, 0));
    for (int t = 0; t <= n; t++) {
        if (t < n) {
            ASSERT_OK(av_frame_make_writable(f));
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    f->data[0][y * f->linesize[0] + x] = pattern(x, y, t);
            for (int y = 0; y < h / 2; y++) {
                memset(f->data[1] + y * f->linesize[1], 128, (size_t)w / 2);
                memset(f->data[2] + y * f->linesize[2], 128, (size_t)w / 2);
            }
            f->pts = t;
        }
        ASSERT_OK(avcodec_send_frame(enc, t < n ? f : NULL));
        while (avcodec_receive_packet(enc, pkt) == 0) {
            av_packet_rescale_ts(pkt, enc->time_base, st->time_base);
            pkt->stream_index = st->index;
            ASSERT_OK(av_interleaved_write_frame(oc, pkt));
        }
    }
    ASSERT_OK(av_write_trailer(oc));
    uint8_t *out = NULL;
    int len = avio_close_dyn_buf(oc->pb, &out);
    oc->pb = NULL;
    buf_t b = {malloc((size_t)len), (size_t)len};
    memcpy(b.data, out, (size_t)len);
    av_free(out);
    av_packet_free(&pkt);
    av_frame_free(&f);
    avcodec_free_context(&enc);
    avformat_free_context(oc);
    return b;
}

static int decode(buf_t b, const vc_video_opts_t *opts, vc_video_frames_t **fr)
{
    char err[256] = "";
    int rc = vc_video_decode(b.data, b.len, opts, fr, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "   -> %s: %s\n", vc_strerror(rc), err);
    return rc;
}

static void test_y4m(void)
{
    vc_video_frames_t *fr;
    buf_t b = y4m(64, 48, 10, NULL);
    ASSERT_OK(decode(b, NULL, &fr));
    ASSERT_EQ(fr->count, 10);
    ASSERT_EQ(fr->width, 64);
    ASSERT_EQ(fr->height, 48);
    ASSERT_NEAR(fr->pts[1], 1 / 30.0, 1e-6);
    ASSERT_NEAR(fr->stats.fps, 30.0, 0.01);
    ASSERT_STREQ(fr->stats.container, "yuv4mpegpipe");
    /* Frames in order: frame 1 is frame 0 moved left by 2 px (range conversion aside). */
    ASSERT_EQ(fr->luma[64 * 48 + 20], fr->luma[22]);
    ASSERT(fr->luma[22] != fr->luma[20]);
    vc_video_frames_free(fr);
    free(b.data);
}

static void test_codecs(void)
{
    vc_video_frames_t *fr;
    buf_t b = encode("matroska", AV_CODEC_ID_FFV1, AV_PIX_FMT_YUV420P, 96, 64, 12);
    ASSERT_OK(decode(b, NULL, &fr));
    ASSERT_EQ(fr->count, 12);
    ASSERT_STREQ(fr->stats.codec, "ffv1");
    ASSERT_NEAR(fr->pts[3], 3 / 25.0, 1e-3);
    vc_video_frames_free(fr);
    free(b.data);
    b = encode("matroska", AV_CODEC_ID_MJPEG, AV_PIX_FMT_YUVJ420P, 96, 64, 12);
    ASSERT_OK(decode(b, NULL, &fr));
    ASSERT_EQ(fr->count, 12);
    ASSERT_STREQ(fr->stats.codec, "mjpeg");
    ASSERT_NEAR(fr->luma[96 * 64 + 96 * 10 + 10], fr->luma[96 * 10 + 12], 6);
    vc_video_frames_free(fr);
    free(b.data);
}

static void test_limits(void)
{
    vc_video_frames_t *fr = NULL;
    vc_video_opts_t opts;
    buf_t b = y4m(64, 48, 10, NULL);
    vc_video_opts_default(&opts);
    opts.max_frames = 5;
    ASSERT_EQ(decode(b, &opts, &fr), VC_ETOOBIG);
    ASSERT(fr == NULL);
    vc_video_opts_default(&opts);
    opts.max_width = 32;
    ASSERT_EQ(decode(b, &opts, &fr), VC_ETOOBIG);
    vc_video_opts_default(&opts);
    opts.max_duration_s = 0.1;
    ASSERT_EQ(decode(b, &opts, &fr), VC_ETOOBIG);
    vc_video_opts_default(&opts);
    opts.max_decoded_bytes = 64 * 48 * 3 / 2 * 4;
    ASSERT_EQ(decode(b, &opts, &fr), VC_ETOOBIG);
    vc_video_opts_default(&opts);
    opts.analysis_width = 10;
    ASSERT_EQ(decode(b, &opts, &fr), VC_EINVAL);
    free(b.data);
}

static void test_hostile(void)
{
    vc_video_frames_t *fr = NULL;
    char err[128];
    /* A header claiming a gigantic picture: refused before any frame buffer exists. */
    buf_t b = y4m(64, 48, 1, "YUV4MPEG2 W100000 H100000 F30:1 C420jpeg\n");
    int rc = decode(b, NULL, &fr);
    ASSERT(rc == VC_ETOOBIG || rc == VC_EFORMAT);
    free(b.data);
    uint8_t junk[4096];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 2654435761u >> 13);
    buf_t j = {junk, sizeof(junk)};
    ASSERT_EQ(decode(j, NULL, &fr), VC_EFORMAT);
    buf_t e = {junk, 0};
    ASSERT_EQ(decode(e, NULL, &fr), VC_EFORMAT);
    ASSERT_EQ(vc_video_decode(NULL, 5, NULL, &fr, err, sizeof(err)), VC_EINVAL);
    /* Truncations and bit flips of a real stream: a result or a clean refusal, never a crash. */
    b = encode("matroska", AV_CODEC_ID_FFV1, AV_PIX_FMT_YUV420P, 96, 64, 12);
    for (size_t cut = 16; cut < b.len; cut += b.len / 7) {
        buf_t t = {b.data, cut};
        rc = decode(t, NULL, &fr);
        ASSERT(rc == 0 || rc == VC_EFORMAT);
        vc_video_frames_free(fr);
        fr = NULL;
    }
    for (size_t k = 0; k < 40; k++) {
        size_t at = (k * 7919) % b.len;
        b.data[at] ^= (uint8_t)(1u << (k % 8));
        rc = decode(b, NULL, &fr);
        ASSERT(rc == 0 || rc == VC_EFORMAT || rc == VC_ETOOBIG);
        vc_video_frames_free(fr);
        fr = NULL;
    }
    free(b.data);
}

static void *detect_thread(void *arg)
{
    const buf_t *b = arg;
    vc_video_report_t *rep = malloc(sizeof(*rep));
    char err[128];
    ASSERT(rep != NULL);
    for (int i = 0; i < 3; i++)
        ASSERT_OK(vc_video_detect(b->data, b->len, NULL, rep, err, sizeof(err)));
    return rep;
}

static void test_threads(void)
{
    pthread_t th[4];
    vc_video_report_t *rep[4];
    buf_t b = encode("matroska", AV_CODEC_ID_FFV1, AV_PIX_FMT_YUV420P, 96, 64, 30);
    for (int i = 0; i < 4; i++)
        ASSERT_OK(pthread_create(&th[i], NULL, detect_thread, &b));
    for (int i = 0; i < 4; i++)
        ASSERT_OK(pthread_join(th[i], (void **)&rep[i]));
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ(rep[i]->stats.frames, 30);
        ASSERT_NEAR(rep[i]->score, rep[0]->score, 1e-12);
    }
    for (int i = 0; i < 4; i++)
        free(rep[i]);
    free(b.data);
}

/* A clip with flashes on the picture and beeps in the sound, the sound shifted by shift_s:
 * FFV1 + PCM in Matroska, 25 fps, 4 s. */
#define AV_FPS 25
#define AV_RATE 16000
static const int FLASHES[] = {10, 30, 48, 70, 85};

static int is_flash(int t)
{
    for (size_t i = 0; i < sizeof(FLASHES) / sizeof(FLASHES[0]); i++)
        if (t == FLASHES[i])
            return 1;
    return 0;
}

static double beep(double time, double shift_s)
{
    for (size_t i = 0; i < sizeof(FLASHES) / sizeof(FLASHES[0]); i++) {
        double s = (double)FLASHES[i] / AV_FPS + shift_s;
        if (time >= s && time < s + 0.08)
            return 0.5 * sin(2 * M_PI * 1000 * time);
    }
    return 0.001 * sin(2 * M_PI * 50 * time);
}

static AVCodecContext *open_enc(AVFormatContext *oc, enum AVCodecID id, AVStream **st)
{
    const AVCodec *codec = avcodec_find_encoder(id);
    AVCodecContext *enc = avcodec_alloc_context3(codec);
    *st = avformat_new_stream(oc, NULL);
    ASSERT(codec != NULL && enc != NULL && *st != NULL);
    if (id == AV_CODEC_ID_FFV1) {
        enc->width = 64;
        enc->height = 48;
        enc->pix_fmt = AV_PIX_FMT_YUV420P;
        enc->time_base = (AVRational){1, AV_FPS};
    } else {
        enc->sample_fmt = AV_SAMPLE_FMT_S16;
        enc->sample_rate = AV_RATE;
        av_channel_layout_default(&enc->ch_layout, 1);
        enc->time_base = (AVRational){1, AV_RATE};
    }
    enc->thread_count = 1;
    ASSERT_OK(avcodec_open2(enc, codec, NULL));
    ASSERT(avcodec_parameters_from_context((*st)->codecpar, enc) >= 0);
    (*st)->time_base = enc->time_base;
    return enc;
}

static void put(AVFormatContext *oc, AVCodecContext *enc, AVStream *st, AVFrame *f, AVPacket *pkt)
{
    ASSERT_OK(avcodec_send_frame(enc, f));
    while (avcodec_receive_packet(enc, pkt) == 0) {
        av_packet_rescale_ts(pkt, enc->time_base, st->time_base);
        pkt->stream_index = st->index;
        ASSERT_OK(av_interleaved_write_frame(oc, pkt));
    }
}

static buf_t make_av_clip(double shift_s)
{
    AVFormatContext *oc = NULL;
    AVStream *vs, *as;
    ASSERT(avformat_alloc_output_context2(&oc, NULL, "matroska", NULL) >= 0);
    AVCodecContext *venc = open_enc(oc, AV_CODEC_ID_FFV1, &vs);
    AVCodecContext *aenc = open_enc(oc, AV_CODEC_ID_PCM_S16LE, &as);
    ASSERT_OK(avio_open_dyn_buf(&oc->pb));
    ASSERT_OK(avformat_write_header(oc, NULL));
    AVFrame *vf = av_frame_alloc(), *af = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    vf->width = 64;
    vf->height = 48;
    vf->format = AV_PIX_FMT_YUV420P;
    ASSERT_OK(av_frame_get_buffer(vf, 0));
    af->nb_samples = AV_RATE / AV_FPS;
    af->format = AV_SAMPLE_FMT_S16;
    af->sample_rate = AV_RATE;
    av_channel_layout_default(&af->ch_layout, 1);
    ASSERT_OK(av_frame_get_buffer(af, 0));
    for (int t = 0; t < 4 * AV_FPS; t++) {
        ASSERT_OK(av_frame_make_writable(vf));
        for (int y = 0; y < 48; y++)
            for (int x = 0; x < 64; x++)
                vf->data[0][y * vf->linesize[0] + x] = is_flash(t) ? 230 : (uint8_t)(40 + (x ^ y) % 7);
        memset(vf->data[1], 128, (size_t)vf->linesize[1] * 24);
        memset(vf->data[2], 128, (size_t)vf->linesize[2] * 24);
        vf->pts = t;
        put(oc, venc, vs, vf, pkt);
        ASSERT_OK(av_frame_make_writable(af));
        for (int i = 0; i < af->nb_samples; i++) {
            double time = (double)(t * af->nb_samples + i) / AV_RATE;
            ((int16_t *)(void *)af->data[0])[i] = (int16_t)lrint(32767 * beep(time, shift_s));
        }
        af->pts = (int64_t)t * af->nb_samples;
        put(oc, aenc, as, af, pkt);
    }
    put(oc, venc, vs, NULL, pkt);
    put(oc, aenc, as, NULL, pkt);
    ASSERT_OK(av_write_trailer(oc));
    uint8_t *out = NULL;
    int len = avio_close_dyn_buf(oc->pb, &out);
    oc->pb = NULL;
    buf_t b = {malloc((size_t)len), (size_t)len};
    memcpy(b.data, out, (size_t)len);
    av_free(out);
    av_packet_free(&pkt);
    av_frame_free(&vf);
    av_frame_free(&af);
    avcodec_free_context(&venc);
    avcodec_free_context(&aenc);
    avformat_free_context(oc);
    return b;
}

static const vc_video_analysis_t *av_offset(const vc_video_report_t *rep)
{
    for (int i = 0; i < rep->n_analyses; i++)
        if (strcmp(rep->analyses[i].name, "av_offset") == 0)
            return &rep->analyses[i];
    VC_TEST_FAIL("no av_offset analysis");
}

static void test_av_offset(void)
{
    vc_video_report_t rep;
    char err[256];
    buf_t b = make_av_clip(0.2); /* sound 0.2 s late */
    ASSERT_OK(vc_video_detect(b.data, b.len, NULL, &rep, err, sizeof(err)));
    const vc_video_analysis_t *an = av_offset(&rep);
    ASSERT_EQ(an->fused, 0);
    ASSERT_EQ(vc_video_evidence(an, "audio", 0), 1);
    ASSERT_NEAR(vc_video_evidence(an, "offset_s", 9), -0.2, 0.041);
    ASSERT(an->score > 0.5);
    free(b.data);
    b = make_av_clip(0.0);
    ASSERT_OK(vc_video_detect(b.data, b.len, NULL, &rep, err, sizeof(err)));
    ASSERT_NEAR(vc_video_evidence(av_offset(&rep), "offset_s", 9), 0.0, 0.041);
    ASSERT(av_offset(&rep)->score < 0.5);
    free(b.data);
}

int main(void)
{
    vc_video_quiet_logs();
    RUN(test_y4m);
    RUN(test_codecs);
    RUN(test_limits);
    RUN(test_hostile);
    RUN(test_threads);
    RUN(test_av_offset);
    return 0;
}
