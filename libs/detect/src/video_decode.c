/* Bounded decoding of untrusted video from memory: a read/seek AVIOContext over the buffer,
 * demuxer and decoder allow-lists, no nested I/O, size checks before the decoder opens and on
 * every frame, frame/byte/duration/wall-clock caps, and libswscale to analysis size. */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include "video_internal.h"
#include "vc/error.h"

#define IO_BUF 32768
#define FIRST_CAP 64
#define MAX_BAD_PACKETS 16
#define PROBE_BYTES (4 << 20)

/* Demuxers allowed to read untrusted bytes (names as libavformat spells them). */
static const char FORMATS[] = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,yuv4mpegpipe,mpeg,"
                              "mpegts,ogg,flv,mjpeg,ivf,h264,hevc,m4v";
static const char CODECS[] = "h264,hevc,vp8,vp9,av1,libdav1d,libaom-av1,mpeg4,mpeg2video,"
                             "mpeg1video,mjpeg,theora,ffv1,rawvideo,h263,flv,msmpeg4v3,"
                             "aac,mp3,mp3float,mp2,mp2float,opus,libopus,vorbis,flac,alac,ac3,"
                             "pcm_s16le,pcm_s16be,pcm_s24le,pcm_s32le,pcm_f32le,pcm_u8,"
                             "pcm_mulaw,pcm_alaw";

typedef struct {
    const uint8_t *data;
    size_t len, pos;
} mem_io_t;

typedef struct {
    const vc_video_opts_t *opts;
    mem_io_t io;
    AVIOContext *pb;
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frm;
    struct SwsContext *sws_y, *sws_rgb;
    vc_video__audio_t *audio;
    int stream;
    AVRational tb;
    vc_video_frames_t *frames;
    uint64_t decoded_bytes;
    double deadline;
    double first_pts, last_pts;
    int bad_packets;
} dec_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int mem_read(void *opaque, uint8_t *buf, int size)
{
    mem_io_t *io = opaque;
    if (io->pos >= io->len)
        return AVERROR_EOF;
    size_t n = io->len - io->pos;
    if (size < 0)
        return AVERROR(EINVAL);
    if (n > (size_t)size)
        n = (size_t)size;
    memcpy(buf, io->data + io->pos, n);
    io->pos += n;
    return (int)n;
}

static int64_t mem_seek(void *opaque, int64_t offset, int whence)
{
    mem_io_t *io = opaque;
    int64_t base;

    if (whence & AVSEEK_SIZE)
        return (int64_t)io->len;
    whence &= ~AVSEEK_FORCE;
    if (whence == SEEK_SET)
        base = 0;
    else if (whence == SEEK_CUR)
        base = (int64_t)io->pos;
    else if (whence == SEEK_END)
        base = (int64_t)io->len;
    else
        return AVERROR(EINVAL);
    if (offset > INT64_MAX - base || offset < -base)
        return AVERROR(EINVAL);
    int64_t to = base + offset;
    if (to < 0 || (uint64_t)to > io->len)
        return AVERROR(EINVAL);
    io->pos = (size_t)to;
    return to;
}

/* Demuxers that reference other files (HLS, DASH, concat, MOV data references) get none. */
static int deny_io_open(struct AVFormatContext *s, AVIOContext **pb, const char *url, int flags,
                        AVDictionary **options)
{
    (void)s, (void)pb, (void)url, (void)flags, (void)options;
    return AVERROR(EPERM);
}

static int interrupt_cb(void *opaque)
{
    const dec_t *d = opaque;
    return d->deadline > 0 && now_s() > d->deadline;
}

/* Turns a libav error into a VC_E* code with its text in err. */
static int av_fail(char *err, size_t errlen, int averr, const char *what, const dec_t *d)
{
    char msg[128];
    if (d->deadline > 0 && now_s() > d->deadline)
        return vc_err(err, errlen, VC_ETIMEDOUT, "%s: over %.0f s of wall-clock time", what,
                      d->opts->max_wall_s);
    if (averr == AVERROR(ENOMEM))
        return vc_err(err, errlen, VC_ENOMEM, "%s: out of memory", what);
    av_strerror(averr, msg, sizeof(msg));
    return vc_err(err, errlen, VC_EFORMAT, "%s: %s", what, msg);
}

static int check_size(const dec_t *d, int w, int h, char *err, size_t errlen)
{
    if (w < VC_VIDEO__MIN_SIDE || h < VC_VIDEO__MIN_SIDE)
        return vc_err(err, errlen, VC_EFORMAT, "frame %dx%d is smaller than %dx%d", w, h,
                      VC_VIDEO__MIN_SIDE, VC_VIDEO__MIN_SIDE);
    if (w > d->opts->max_width || h > d->opts->max_height)
        return vc_err(err, errlen, VC_ETOOBIG, "frame %dx%d exceeds %dx%d", w, h,
                      d->opts->max_width, d->opts->max_height);
    return 0;
}

/* Opens the container over the memory buffer, restricted to FORMATS and without nested I/O. */
static int open_input(dec_t *d, char *err, size_t errlen)
{
    AVDictionary *dict = NULL;
    uint8_t *iobuf = av_malloc(IO_BUF);
    if (iobuf == NULL)
        return vc_err(err, errlen, VC_ENOMEM, "no memory for the I/O buffer");
    d->pb = avio_alloc_context(iobuf, IO_BUF, 0, &d->io, mem_read, NULL, mem_seek);
    if (d->pb == NULL) {
        av_free(iobuf);
        return vc_err(err, errlen, VC_ENOMEM, "no memory for the I/O context");
    }
    d->fmt = avformat_alloc_context();
    if (d->fmt == NULL)
        return vc_err(err, errlen, VC_ENOMEM, "no memory for the format context");
    d->fmt->pb = d->pb;
    d->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    d->fmt->io_open = deny_io_open;
    d->fmt->probesize = PROBE_BYTES;
    d->fmt->interrupt_callback.callback = interrupt_cb;
    d->fmt->interrupt_callback.opaque = d;
    av_dict_set(&dict, "format_whitelist", FORMATS, 0);
    av_dict_set(&dict, "codec_whitelist", CODECS, 0);
    av_dict_set(&dict, "protocol_whitelist", "none", 0);
    int ret = avformat_open_input(&d->fmt, NULL, NULL, &dict);
    av_dict_free(&dict);
    if (ret < 0) /* avformat_open_input freed fmt (the custom pb is ours) */
        return av_fail(err, errlen, ret, "not a readable video container", d);
    ret = avformat_find_stream_info(d->fmt, NULL);
    if (ret < 0)
        return av_fail(err, errlen, ret, "cannot read stream info", d);
    return 0;
}

/* Picks the video stream, checks its declared size and duration, opens its decoder. */
static int open_decoder(dec_t *d, char *err, size_t errlen)
{
    const AVCodec *codec = NULL;
    AVDictionary *dict = NULL;
    int ret = av_find_best_stream(d->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (ret < 0 || codec == NULL)
        return vc_err(err, errlen, VC_EFORMAT, "no decodable video stream");
    d->stream = ret;
    AVStream *st = d->fmt->streams[ret];
    const AVCodecParameters *par = st->codecpar;
    d->tb = st->time_base;
    if (par->width != 0 || par->height != 0) {
        ret = check_size(d, par->width, par->height, err, errlen);
        if (ret != 0)
            return ret;
    }
    double dur = -1;
    if (st->duration > 0 && st->time_base.den > 0)
        dur = (double)st->duration * av_q2d(st->time_base);
    else if (d->fmt->duration > 0)
        dur = (double)d->fmt->duration / AV_TIME_BASE;
    if (dur > d->opts->max_duration_s)
        return vc_err(err, errlen, VC_ETOOBIG, "stream lasts %.1f s, over %.1f s", dur,
                      d->opts->max_duration_s);
    d->dec = avcodec_alloc_context3(codec);
    if (d->dec == NULL)
        return vc_err(err, errlen, VC_ENOMEM, "no memory for the decoder");
    ret = avcodec_parameters_to_context(d->dec, par);
    if (ret < 0)
        return av_fail(err, errlen, ret, "bad codec parameters", d);
    d->dec->thread_count = 1;
    d->dec->max_pixels = (int64_t)d->opts->max_width * d->opts->max_height;
    d->dec->pkt_timebase = st->time_base;
    av_dict_set(&dict, "codec_whitelist", CODECS, 0);
    ret = avcodec_open2(d->dec, codec, &dict);
    av_dict_free(&dict);
    if (ret < 0)
        return av_fail(err, errlen, ret, "cannot open the decoder", d);
    if (vc_video__audio_open(d->fmt, d->opts->max_duration_s, &d->audio) != 0)
        return vc_err(err, errlen, VC_ENOMEM, "no memory for the audio decoder");
    return 0;
}

/* Chooses the analysis size for the first w x h frame and allocates frames. */
static int start_frames(dec_t *d, int w, int h, char *err, size_t errlen)
{
    int aw = w < d->opts->analysis_width ? w : d->opts->analysis_width;
    aw &= ~1;
    long ah = lround((double)h * aw / w) & ~1L;
    if (ah < VC_VIDEO__MIN_SIDE || aw < VC_VIDEO__MIN_SIDE)
        return vc_err(err, errlen, VC_EFORMAT, "aspect %dx%d too extreme", w, h);
    if (ah > 4096)
        return vc_err(err, errlen, VC_EFORMAT, "aspect %dx%d too tall", w, h);
    d->frames = vc_video_frames_new(aw, (int)ah, FIRST_CAP);
    if (d->frames == NULL)
        return vc_err(err, errlen, VC_ENOMEM, "no memory for frames");
    vc_video_stats_t *s = &d->frames->stats;
    s->width = w;
    s->height = h;
    s->analysis_width = aw;
    s->analysis_height = (int)ah;
    snprintf(s->codec, sizeof(s->codec), "%s", d->dec->codec->name);
    snprintf(s->container, sizeof(s->container), "%s", d->fmt->iformat->name);
    return 0;
}

/* Seconds of the frame's timestamp, or one nominal frame after the previous one. */
static double frame_time(const dec_t *d, const AVFrame *f)
{
    int64_t ts = f->best_effort_timestamp;
    double prev = d->frames->count > 0 ? d->last_pts : 0.0;
    if (ts == AV_NOPTS_VALUE || d->tb.den <= 0 || d->tb.num <= 0) {
        AVRational fr = d->fmt->streams[d->stream]->avg_frame_rate;
        double step = fr.num > 0 && fr.den > 0 ? av_q2d(av_inv_q(fr)) : 1.0 / 30;
        return d->frames->count > 0 ? prev + step : 0.0;
    }
    return (double)ts * av_q2d(d->tb);
}

static char pict_char(enum AVPictureType t)
{
    return t == AV_PICTURE_TYPE_I ? 'I' : t == AV_PICTURE_TYPE_P ? 'P' : t == AV_PICTURE_TYPE_B ? 'B' : '?';
}

/* The non-deprecated twin of a JPEG-range ("J") pixel format, setting *full for those; other
 * formats are returned as they are (*full keeps the frame's own range). */
static enum AVPixelFormat plain_format(enum AVPixelFormat pf, int *full)
{
    static const enum AVPixelFormat map[][2] = {
        {AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUV420P}, {AV_PIX_FMT_YUVJ422P, AV_PIX_FMT_YUV422P},
        {AV_PIX_FMT_YUVJ444P, AV_PIX_FMT_YUV444P}, {AV_PIX_FMT_YUVJ440P, AV_PIX_FMT_YUV440P},
        {AV_PIX_FMT_YUVJ411P, AV_PIX_FMT_YUV411P},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (pf == map[i][0]) {
            *full = 1;
            return map[i][1];
        }
    return pf;
}

/* Scales one decoded frame into the next slot of frames. */
static int scale_frame(dec_t *d, const AVFrame *f, char *err, size_t errlen)
{
    vc_video_frames_t *fr = d->frames;
    int i = fr->count;
    int full = f->color_range == AVCOL_RANGE_JPEG;
    enum AVPixelFormat pf = plain_format(f->format, &full);
    d->sws_y = sws_getCachedContext(d->sws_y, f->width, f->height, pf, fr->width, fr->height,
                                    AV_PIX_FMT_GRAY8, SWS_AREA, NULL, NULL, NULL);
    d->sws_rgb = sws_getCachedContext(d->sws_rgb, f->width, f->height, pf, fr->rgb_width,
                                      fr->rgb_height, AV_PIX_FMT_RGB24, SWS_AREA, NULL, NULL,
                                      NULL);
    if (d->sws_y == NULL || d->sws_rgb == NULL)
        return vc_err(err, errlen, VC_EFORMAT, "cannot convert pixel format %s",
                      av_get_pix_fmt_name(f->format) ? av_get_pix_fmt_name(f->format) : "?");
    /* Output is full range whatever the input: limited-range video is expanded. */
    const int *cs = sws_getCoefficients(SWS_CS_DEFAULT);
    sws_setColorspaceDetails(d->sws_y, cs, full, cs, 1, 0, 1 << 16, 1 << 16);
    sws_setColorspaceDetails(d->sws_rgb, cs, full, cs, 1, 0, 1 << 16, 1 << 16);
    uint8_t *dy[4] = {fr->luma + (size_t)i * fr->width * fr->height, NULL, NULL, NULL};
    int ly[4] = {fr->width, 0, 0, 0};
    uint8_t *drgb[4] = {fr->rgb + (size_t)i * fr->rgb_width * fr->rgb_height * 3, NULL, NULL,
                        NULL};
    int lrgb[4] = {fr->rgb_width * 3, 0, 0, 0};
    const uint8_t *const *src = (const uint8_t *const *)f->data;
    if (sws_scale(d->sws_y, src, f->linesize, 0, f->height, dy, ly) <= 0 ||
        sws_scale(d->sws_rgb, src, f->linesize, 0, f->height, drgb, lrgb) <= 0)
        return vc_err(err, errlen, VC_EFORMAT, "scaling failed");
    return 0;
}

/* Checks limits for one decoded frame, then stores it. */
static int take_frame(dec_t *d, const AVFrame *f, char *err, size_t errlen)
{
    int rc = check_size(d, f->width, f->height, err, errlen);
    if (rc != 0)
        return rc;
    int bytes = av_image_get_buffer_size(f->format, f->width, f->height, 1);
    if (bytes < 0)
        return vc_err(err, errlen, VC_EFORMAT, "unknown pixel format %d", f->format);
    d->decoded_bytes += (uint64_t)bytes;
    if (d->decoded_bytes > d->opts->max_decoded_bytes)
        return vc_err(err, errlen, VC_ETOOBIG, "decoded pictures exceed %llu bytes",
                      (unsigned long long)d->opts->max_decoded_bytes);
    if (d->frames == NULL) {
        rc = start_frames(d, f->width, f->height, err, errlen);
        if (rc != 0)
            return rc;
    }
    vc_video_frames_t *fr = d->frames;
    if (fr->count >= d->opts->max_frames)
        return vc_err(err, errlen, VC_ETOOBIG, "more than %d frames", d->opts->max_frames);
    double t = frame_time(d, f);
    if (!isfinite(t))
        return vc_err(err, errlen, VC_EFORMAT, "frame timestamp out of range");
    if (fr->count == 0)
        d->first_pts = t;
    else if (t <= d->last_pts)
        t = d->last_pts + 1e-4; /* out-of-order or repeated stamps keep decode order */
    if (t - d->first_pts > d->opts->max_duration_s)
        return vc_err(err, errlen, VC_ETOOBIG, "frames span more than %.1f s",
                      d->opts->max_duration_s);
    rc = vc_video__frames_reserve(fr, fr->count + 1);
    if (rc != 0)
        return vc_err(err, errlen, rc, "no memory for %d frames", fr->count + 1);
    rc = scale_frame(d, f, err, errlen);
    if (rc != 0)
        return rc;
    fr->pts[fr->count] = t - d->first_pts;
    fr->pict_type[fr->count] = pict_char(f->pict_type);
    d->last_pts = t;
    fr->count++;
    return 0;
}

/* Receives every frame the decoder has ready. */
static int drain(dec_t *d, char *err, size_t errlen)
{
    for (;;) {
        int ret = avcodec_receive_frame(d->dec, d->frm);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret == AVERROR_INVALIDDATA) {
            if (++d->bad_packets > MAX_BAD_PACKETS)
                return vc_err(err, errlen, VC_EFORMAT, "corrupt stream: over %d bad frames",
                              MAX_BAD_PACKETS);
            continue;
        }
        if (ret < 0)
            return av_fail(err, errlen, ret, "decoding failed", d);
        int rc = take_frame(d, d->frm, err, errlen);
        av_frame_unref(d->frm);
        if (rc != 0)
            return rc;
        if (d->deadline > 0 && now_s() > d->deadline)
            return vc_err(err, errlen, VC_ETIMEDOUT, "over %.0f s of wall-clock time",
                          d->opts->max_wall_s);
    }
}

static int send_packet(dec_t *d, const AVPacket *pkt, char *err, size_t errlen)
{
    int ret = avcodec_send_packet(d->dec, pkt);
    if (ret == AVERROR_INVALIDDATA) {
        if (++d->bad_packets > MAX_BAD_PACKETS)
            return vc_err(err, errlen, VC_EFORMAT, "corrupt stream: over %d bad packets",
                          MAX_BAD_PACKETS);
        return 0;
    }
    if (ret < 0 && ret != AVERROR_EOF)
        return av_fail(err, errlen, ret, "decoding failed", d);
    return drain(d, err, errlen);
}

/* Reads packets of the video stream until the end, decoding as it goes. */
static int decode_all(dec_t *d, char *err, size_t errlen)
{
    int rc;
    d->pkt = av_packet_alloc();
    d->frm = av_frame_alloc();
    if (d->pkt == NULL || d->frm == NULL)
        return vc_err(err, errlen, VC_ENOMEM, "no memory for packets");
    for (;;) {
        int ret = av_read_frame(d->fmt, d->pkt);
        if (ret == AVERROR_EOF)
            break;
        if (ret < 0) {
            if (d->frames != NULL && d->frames->count > 0 && ret != AVERROR_EXIT)
                break; /* a truncated tail: keep what decoded */
            return av_fail(err, errlen, ret, "cannot read packets", d);
        }
        rc = 0;
        if (d->pkt->stream_index == d->stream)
            rc = send_packet(d, d->pkt, err, errlen);
        else if (d->pkt->stream_index == vc_video__audio_stream(d->audio))
            vc_video__audio_packet(d->audio, d->pkt);
        av_packet_unref(d->pkt);
        if (rc != 0)
            return rc;
    }
    rc = send_packet(d, NULL, err, errlen);
    if (rc != 0)
        return rc;
    if (d->frames == NULL || d->frames->count == 0)
        return vc_err(err, errlen, VC_EFORMAT, "no decodable video frame");
    d->frames->video_t0 = d->first_pts;
    if (vc_video__audio_finish(d->audio, d->frames) != 0)
        return vc_err(err, errlen, VC_ENOMEM, "no memory for the audio envelope");
    return 0;
}

static void dec_close(dec_t *d)
{
    vc_video__audio_free(d->audio);
    sws_freeContext(d->sws_y);
    sws_freeContext(d->sws_rgb);
    av_frame_free(&d->frm);
    av_packet_free(&d->pkt);
    avcodec_free_context(&d->dec);
    avformat_close_input(&d->fmt);
    if (d->pb != NULL)
        av_freep(&d->pb->buffer);
    avio_context_free(&d->pb);
}

static void fill_stats(vc_video_frames_t *fr)
{
    vc_video_stats_t *s = &fr->stats;
    s->frames = fr->count;
    double span = fr->count > 1 ? fr->pts[fr->count - 1] - fr->pts[0] : 0.0;
    double step = fr->count > 1 ? span / (fr->count - 1) : 0.0;
    s->duration_s = span + step;
    s->fps = s->duration_s > 0 ? fr->count / s->duration_s : 0.0;
}

int vc_video_decode(const uint8_t *data, size_t len, const vc_video_opts_t *opts,
                    vc_video_frames_t **out, char *err, size_t errlen)
{
    vc_video_opts_t defaults;
    dec_t d;
    int rc;

    if (out == NULL || (data == NULL && len > 0))
        return vc_err(err, errlen, VC_EINVAL, "NULL output or data");
    *out = NULL;
    if (opts == NULL) {
        vc_video_opts_default(&defaults);
        opts = &defaults;
    }
    rc = vc_video__opts_check(opts, err, errlen);
    if (rc != 0)
        return rc;
    if (len == 0)
        return vc_err(err, errlen, VC_EFORMAT, "empty input");
    memset(&d, 0, sizeof(d));
    d.opts = opts;
    d.io.data = data;
    d.io.len = len;
    d.stream = -1;
    d.deadline = opts->max_wall_s > 0 ? now_s() + opts->max_wall_s : 0;
    rc = open_input(&d, err, errlen);
    if (rc == 0)
        rc = open_decoder(&d, err, errlen);
    if (rc == 0)
        rc = decode_all(&d, err, errlen);
    if (rc != 0)
        goto fail;
    fill_stats(d.frames);
    *out = d.frames;
    d.frames = NULL;
    dec_close(&d);
    return 0;

fail:
    vc_video_frames_free(d.frames);
    dec_close(&d);
    return rc;
}
