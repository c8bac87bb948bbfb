/* The audio side of video decoding: the first audio stream of the container is decoded
 * alongside the video into a power envelope (VC_VIDEO_AUDIO_RATE bins per second) for the
 * audio/video offset check. Audio problems never fail the video: a broken or unsupported
 * audio stream just leaves no envelope. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "video_internal.h"

#define AUDIO_CODECS "aac,mp3,mp3float,mp2,mp2float,opus,libopus,vorbis,flac,alac,ac3,pcm_s16le," \
                     "pcm_s16be,pcm_s24le,pcm_s32le,pcm_f32le,pcm_u8,pcm_mulaw,pcm_alaw"

#define MAX_ERRORS 64

struct vc_video__audio {
    AVCodecContext *dec;
    AVFrame *frm;
    int stream;
    AVRational tb;
    double *sum;
    int *cnt;
    int bins, cap, max_bins;
    double next_t; /* time after the last decoded sample, for frames without timestamps */
    int errors;    /* consecutive packets the decoder refused */
    int broken;
};

int vc_video__audio_open(AVFormatContext *fmt, double max_duration_s, vc_video__audio_t **out)
{
    const AVCodec *codec = NULL;
    AVDictionary *dict = NULL;
    *out = NULL;
    int idx = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
    if (idx < 0 || codec == NULL)
        return 0;
    vc_video__audio_t *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return -1;
    a->stream = idx;
    a->tb = fmt->streams[idx]->time_base;
    a->max_bins = (int)ceil(max_duration_s * VC_VIDEO_AUDIO_RATE) + VC_VIDEO_AUDIO_RATE;
    a->dec = avcodec_alloc_context3(codec);
    a->frm = av_frame_alloc();
    if (a->dec == NULL || a->frm == NULL ||
        avcodec_parameters_to_context(a->dec, fmt->streams[idx]->codecpar) < 0)
        goto fail;
    a->dec->thread_count = 1;
    a->dec->pkt_timebase = a->tb;
    av_dict_set(&dict, "codec_whitelist", AUDIO_CODECS, 0);
    int ret = avcodec_open2(a->dec, codec, &dict);
    av_dict_free(&dict);
    if (ret < 0)
        goto fail;
    *out = a;
    return 0;

fail:
    vc_video__audio_free(a);
    return 0; /* an audio stream we cannot decode is simply absent */
}

int vc_video__audio_stream(const vc_video__audio_t *a)
{
    return a != NULL ? a->stream : -1;
}

/* Sample i of channel ch of f as a double in [-1, 1]; 0 for unknown formats. */
static double sample_at(const AVFrame *f, int ch, int i, int channels)
{
    int planar = av_sample_fmt_is_planar(f->format);
    const uint8_t *p = planar ? f->extended_data[ch] : f->extended_data[0];
    int k = planar ? i : i * channels + ch;
    switch (av_get_packed_sample_fmt(f->format)) {
    case AV_SAMPLE_FMT_U8:
        return (p[k] - 128) / 128.0;
    case AV_SAMPLE_FMT_S16:
        return ((const int16_t *)(const void *)p)[k] / 32768.0;
    case AV_SAMPLE_FMT_S32:
        return ((const int32_t *)(const void *)p)[k] / 2147483648.0;
    case AV_SAMPLE_FMT_FLT:
        return ((const float *)(const void *)p)[k];
    case AV_SAMPLE_FMT_DBL:
        return ((const double *)(const void *)p)[k];
    default:
        return 0.0;
    }
}

static int grow(vc_video__audio_t *a, int bin)
{
    if (bin < a->cap)
        return 0;
    int cap = a->cap > 0 ? a->cap : 1024;
    while (cap <= bin)
        cap *= 2;
    cap = cap > a->max_bins ? a->max_bins : cap;
    double *sum = realloc(a->sum, (size_t)cap * sizeof(double));
    if (sum == NULL)
        return -1;
    a->sum = sum;
    int *cnt = realloc(a->cnt, (size_t)cap * sizeof(int));
    if (cnt == NULL)
        return -1;
    a->cnt = cnt;
    memset(a->sum + a->cap, 0, (size_t)(cap - a->cap) * sizeof(double));
    memset(a->cnt + a->cap, 0, (size_t)(cap - a->cap) * sizeof(int));
    a->cap = cap;
    return 0;
}

/* Adds the power of frame f to the envelope. */
static void accumulate(vc_video__audio_t *a, const AVFrame *f)
{
    int ch = f->ch_layout.nb_channels, rate = f->sample_rate;
    if (ch < 1 || ch > 64 || rate < 1000 || rate > 768000)
        return;
    double t0 = f->best_effort_timestamp != AV_NOPTS_VALUE && a->tb.den > 0
                    ? (double)f->best_effort_timestamp * av_q2d(a->tb)
                    : a->next_t;
    if (!isfinite(t0) || t0 < -1.0)
        return;
    for (int i = 0; i < f->nb_samples; i++) {
        int bin = (int)floor((t0 + (double)i / rate) * VC_VIDEO_AUDIO_RATE);
        if (bin < 0 || bin >= a->max_bins || grow(a, bin) != 0)
            continue;
        double m = 0;
        for (int c = 0; c < ch; c++)
            m += sample_at(f, c, i, ch);
        m /= ch;
        a->sum[bin] += m * m;
        a->cnt[bin]++;
        a->bins = bin + 1 > a->bins ? bin + 1 : a->bins;
    }
    a->next_t = t0 + (double)f->nb_samples / rate;
}

static void drain(vc_video__audio_t *a)
{
    while (avcodec_receive_frame(a->dec, a->frm) == 0) {
        accumulate(a, a->frm);
        av_frame_unref(a->frm);
    }
}

void vc_video__audio_packet(vc_video__audio_t *a, const AVPacket *pkt)
{
    if (a == NULL || a->broken)
        return;
    int ret = avcodec_send_packet(a->dec, pkt);
    if (ret == AVERROR(ENOMEM) || ++a->errors > MAX_ERRORS) {
        a->broken = 1;
        return;
    }
    if (ret >= 0 || ret == AVERROR_EOF)
        a->errors = 0; /* only a run of refusals gives up (Vorbis refuses its header packets) */
    drain(a);
}

int vc_video__audio_finish(vc_video__audio_t *a, vc_video_frames_t *fr)
{
    if (a == NULL)
        return 0;
    vc_video__audio_packet(a, NULL);
    if (a->bins == 0)
        return 0;
    float *env = malloc((size_t)a->bins * sizeof(float));
    if (env == NULL)
        return -1;
    for (int i = 0; i < a->bins; i++)
        env[i] = a->cnt[i] > 0 ? (float)(a->sum[i] / a->cnt[i]) : 0.0f;
    free(fr->audio_env);
    fr->audio_env = env;
    fr->audio_bins = a->bins;
    return 0;
}

void vc_video__audio_free(vc_video__audio_t *a)
{
    if (a == NULL)
        return;
    avcodec_free_context(&a->dec);
    av_frame_free(&a->frm);
    free(a->sum);
    free(a->cnt);
    free(a);
}
