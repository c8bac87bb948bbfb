/* Audio decoding: bytes in memory → mono float samples. Containers go through libsndfile's
 * virtual I/O over a read-only memory cursor; raw little-endian PCM16 is converted here.
 * Untrusted input: every limit is checked before the matching allocation. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

#include "audio_internal.h"
#include "vc/error.h"

#define CHUNK_FRAMES 1024  /* frames per sf_readf_float call */
#define MIN_CAPACITY 65536 /* first sample buffer, in mono frames */

/* A read-only cursor over the caller's bytes; one per decode, never shared. */
typedef struct {
    const uint8_t *data;
    sf_count_t len;
    sf_count_t pos;
} mem_cursor_t;

/* A container we accept: its magic bytes and the libsndfile types it may decode as. */
typedef struct {
    const char *name;
    const char *magic;  /* 4 bytes at offset 0 */
    const char *magic8; /* 4 bytes at offset 8, or NULL */
    int sf_major[2];
} container_t;

static const container_t containers[] = {
    {"wav", "RIFF", "WAVE", {SF_FORMAT_WAV, SF_FORMAT_WAVEX}},
    {"flac", "fLaC", NULL, {SF_FORMAT_FLAC, SF_FORMAT_FLAC}},
    {"ogg", "OggS", NULL, {SF_FORMAT_OGG, SF_FORMAT_OGG}},
};

static sf_count_t cur_filelen(void *user)
{
    const mem_cursor_t *cur = user;
    return cur->len;
}

/* Moves within [0, len]; a seek outside fails with -1 rather than pretending. */
static sf_count_t cur_seek(sf_count_t offset, int whence, void *user)
{
    mem_cursor_t *cur = user;
    sf_count_t base;

    switch (whence) {
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        base = cur->pos;
        break;
    case SEEK_END:
        base = cur->len;
        break;
    default:
        return -1;
    }
    if (offset < -base || offset > cur->len - base)
        return -1;
    cur->pos = base + offset;
    return cur->pos;
}

static sf_count_t cur_read(void *ptr, sf_count_t count, void *user)
{
    mem_cursor_t *cur = user;
    sf_count_t left = cur->len - cur->pos;

    if (count <= 0 || left <= 0)
        return 0;
    if (count > left)
        count = left;
    memcpy(ptr, cur->data + cur->pos, (size_t)count);
    cur->pos += count;
    return count;
}

static sf_count_t cur_write(const void *ptr, sf_count_t count, void *user)
{
    (void)ptr;
    (void)count;
    (void)user;
    return 0;
}

static sf_count_t cur_tell(void *user)
{
    const mem_cursor_t *cur = user;
    return cur->pos;
}

/* Returns the container whose magic bytes data starts with, or NULL. */
static const container_t *sniff(const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < sizeof(containers) / sizeof(containers[0]); i++) {
        const container_t *ct = &containers[i];
        if (len < 12 || memcmp(data, ct->magic, 4) != 0)
            continue;
        if (ct->magic8 != NULL && memcmp(data + 8, ct->magic8, 4) != 0)
            continue;
        return ct;
    }
    return NULL;
}

/* Checks what the header declares against the limits, before any sample buffer exists.
 * Sets *max_frames to the decode cap. A length libsndfile reports as unknown (SF_COUNT_MAX:
 * FLAC without total_samples, Ogg without a final granule) passes here and is held to the
 * cap while decoding. Returns 0, VC_EFORMAT or VC_ETOOBIG. */
static int check_info(const SF_INFO *info, const vc_audio_opts_t *opts, size_t *max_frames,
                      char *err, size_t errlen)
{
    if (info->channels < 1)
        return vc_err(err, errlen, VC_EFORMAT, "header declares %d channels", info->channels);
    if (info->channels > opts->max_channels)
        return vc_err(err, errlen, VC_ETOOBIG, "%d channels exceeds the limit of %d",
                      info->channels, opts->max_channels);
    if (info->samplerate < (int)VC_AUDIO__MIN_RATE || info->samplerate > (int)VC_AUDIO__MAX_RATE)
        return vc_err(err, errlen, VC_EFORMAT, "sample rate %d Hz outside %u..%u", info->samplerate,
                      VC_AUDIO__MIN_RATE, VC_AUDIO__MAX_RATE);
    if (info->frames <= 0)
        return vc_err(err, errlen, VC_EFORMAT, "header declares no samples");
    *max_frames = vc_audio__max_frames(opts, (uint32_t)info->samplerate, info->channels);
    if (info->frames != SF_COUNT_MAX && (uint64_t)info->frames > (uint64_t)*max_frames)
        return vc_err(err, errlen, VC_ETOOBIG,
                      "header declares %.1f s (%lld frames x %d channels), limit %.1f s",
                      (double)info->frames / info->samplerate, (long long)info->frames,
                      info->channels, opts->max_duration_s);
    return 0;
}

/* Grows pcm->samples to hold at least need frames, doubling, never past max_frames. */
static int reserve(vc_audio__pcm_t *pcm, size_t *cap, size_t need, size_t max_frames)
{
    if (need <= *cap)
        return 0;
    /* need <= max_frames <= SIZE_MAX / 4 (vc_audio__max_frames), so doubling cannot wrap. */
    size_t want = *cap < MIN_CAPACITY ? MIN_CAPACITY : *cap * 2;
    while (want < need)
        want *= 2;
    if (want > max_frames)
        want = max_frames;
    float *p = realloc(pcm->samples, want * sizeof(float));
    if (p == NULL)
        return VC_ENOMEM;
    pcm->samples = p;
    *cap = want;
    return 0;
}

/* Averages the channels of frames interleaved frames into out. Returns VC_EFORMAT on a
 * non-finite sample (float WAV can carry NaN/Inf), else 0. */
static int downmix(const float *in, size_t frames, int channels, float *out)
{
    for (size_t f = 0; f < frames; f++) {
        double acc = 0.0;
        for (int c = 0; c < channels; c++) {
            float v = in[f * (size_t)channels + (size_t)c];
            if (!isfinite(v))
                return VC_EFORMAT;
            acc += v;
        }
        out[f] = (float)(acc / channels);
    }
    return 0;
}

/* Reads every frame of sf in chunks, downmixing into pcm. More than max_frames is
 * VC_ETOOBIG; a decoder error or no frames at all is VC_EFORMAT. */
static int read_all(SNDFILE *sf, int channels, size_t max_frames, vc_audio__pcm_t *pcm, char *err,
                    size_t errlen)
{
    size_t cap = 0;
    int rc;
    float *chunk = malloc((size_t)CHUNK_FRAMES * (size_t)channels * sizeof(float));
    if (chunk == NULL)
        return vc_err(err, errlen, VC_ENOMEM, "no memory for the decode buffer");

    for (;;) {
        size_t want = max_frames + 1 - pcm->frames; /* one past the cap detects overrun */
        if (want > CHUNK_FRAMES)
            want = CHUNK_FRAMES;
        sf_count_t got = sf_readf_float(sf, chunk, (sf_count_t)want);
        if (got <= 0)
            break;
        if (pcm->frames + (size_t)got > max_frames) {
            rc = vc_err(err, errlen, VC_ETOOBIG, "stream longer than its limit of %zu frames",
                        max_frames);
            goto fail;
        }
        if (reserve(pcm, &cap, pcm->frames + (size_t)got, max_frames) != 0) {
            rc = vc_err(err, errlen, VC_ENOMEM, "no memory for %zu frames", pcm->frames);
            goto fail;
        }
        if (downmix(chunk, (size_t)got, channels, pcm->samples + pcm->frames) != 0) {
            rc = vc_err(err, errlen, VC_EFORMAT, "non-finite sample near frame %zu", pcm->frames);
            goto fail;
        }
        pcm->frames += (size_t)got;
    }
    if (sf_error(sf) != SF_ERR_NO_ERROR) {
        rc = vc_err(err, errlen, VC_EFORMAT, "decoder error after %zu frames: %s", pcm->frames,
                    sf_strerror(sf));
        goto fail;
    }
    if (pcm->frames == 0) {
        rc = vc_err(err, errlen, VC_EFORMAT,
                    "stream holds no decodable samples (empty or truncated)");
        goto fail;
    }
    free(chunk);
    return 0;

fail:
    free(chunk);
    return rc;
}

/* Decodes a WAV/FLAC/Ogg stream. The sniffed container must be what libsndfile opened, so
 * the many headerless formats libsndfile guesses at are refused. format, when not NULL or
 * "auto", must name the sniffed container. */
static int decode_container(const uint8_t *data, size_t len, const char *format,
                            const vc_audio_opts_t *opts, vc_audio__pcm_t *pcm, char *err,
                            size_t errlen)
{
    SF_VIRTUAL_IO io = {cur_filelen, cur_seek, cur_read, cur_write, cur_tell};
    mem_cursor_t cur = {data, (sf_count_t)len, 0};
    SF_INFO info;
    SNDFILE *sf = NULL;
    size_t max_frames = 0;
    int rc;

    const container_t *ct = sniff(data, len);
    if (ct == NULL)
        return vc_err(err, errlen, VC_EFORMAT, "not a WAV, FLAC or Ogg stream");
    if (format != NULL && strcmp(format, "auto") != 0 && strcmp(format, ct->name) != 0)
        return vc_err(err, errlen, VC_EFORMAT, "format %s requested but the data is %s", format,
                      ct->name);
    memset(&info, 0, sizeof(info));
    /* libsndfile's own error (sf_strerror(NULL)) lives in a global: not read here. */
    sf = sf_open_virtual(&io, SFM_READ, &info, &cur);
    if (sf == NULL)
        return vc_err(err, errlen, VC_EFORMAT, "undecodable %s stream", ct->name);
    int major = info.format & SF_FORMAT_TYPEMASK;
    if (major != ct->sf_major[0] && major != ct->sf_major[1]) {
        rc = vc_err(err, errlen, VC_EFORMAT, "%s magic but decoded as type 0x%x", ct->name,
                    (unsigned)major);
        goto fail;
    }
    rc = check_info(&info, opts, &max_frames, err, errlen);
    if (rc != 0)
        goto fail;
    rc = read_all(sf, info.channels, max_frames, pcm, err, errlen);
    if (rc != 0)
        goto fail;
    pcm->sample_rate = (uint32_t)info.samplerate;
    pcm->channels = info.channels;
    sf_close(sf);
    return 0;

fail:
    vc_audio__pcm_free(pcm);
    sf_close(sf);
    return rc;
}

/* Raw little-endian int16 mono at opts->pcm_sample_rate. */
static int decode_pcm16(const uint8_t *data, size_t len, const vc_audio_opts_t *opts,
                        vc_audio__pcm_t *pcm, char *err, size_t errlen)
{
    uint32_t rate = opts->pcm_sample_rate;

    if (rate == 0)
        return vc_err(err, errlen, VC_EINVAL, "pcm16 needs a sample rate");
    if (rate < VC_AUDIO__MIN_RATE || rate > VC_AUDIO__MAX_RATE)
        return vc_err(err, errlen, VC_EINVAL, "pcm16 sample rate %u outside %u..%u", rate,
                      VC_AUDIO__MIN_RATE, VC_AUDIO__MAX_RATE);
    if (len % 2 != 0)
        return vc_err(err, errlen, VC_EFORMAT, "pcm16 length %zu is odd", len);
    size_t frames = len / 2;
    size_t max_frames = vc_audio__max_frames(opts, rate, 1);
    if (frames > max_frames)
        return vc_err(err, errlen, VC_ETOOBIG, "pcm16 holds %.1f s, limit %.1f s",
                      (double)frames / rate, opts->max_duration_s);
    pcm->samples = malloc(frames * sizeof(float));
    if (pcm->samples == NULL)
        return vc_err(err, errlen, VC_ENOMEM, "no memory for %zu samples", frames);
    for (size_t i = 0; i < frames; i++) {
        uint16_t u = (uint16_t)(data[2 * i] | (uint16_t)data[2 * i + 1] << 8);
        pcm->samples[i] = (float)((int16_t)u / 32768.0);
    }
    pcm->frames = frames;
    pcm->sample_rate = rate;
    pcm->channels = 1;
    return 0;
}

int vc_audio__decode(const uint8_t *data, size_t len, const char *format,
                     const vc_audio_opts_t *opts, vc_audio__pcm_t *pcm, char *err, size_t errlen)
{
    memset(pcm, 0, sizeof(*pcm));
    if (format != NULL && format[0] == '\0')
        format = NULL;
    if (format != NULL && strcmp(format, "auto") != 0 && strcmp(format, "pcm16") != 0 &&
        strcmp(format, "wav") != 0 && strcmp(format, "flac") != 0 && strcmp(format, "ogg") != 0)
        return vc_err(err, errlen, VC_EFORMAT,
                      "unknown format \"%s\" (auto, wav, flac, ogg, pcm16)", format);
    if (len == 0)
        return vc_err(err, errlen, VC_EFORMAT, "empty input");
    if ((uint64_t)len > (uint64_t)INT64_MAX)
        return vc_err(err, errlen, VC_ETOOBIG, "input of %zu bytes", len);
    if (format != NULL && strcmp(format, "pcm16") == 0)
        return decode_pcm16(data, len, opts, pcm, err, errlen);
    return decode_container(data, len, format, opts, pcm, err, errlen);
}

void vc_audio__pcm_free(vc_audio__pcm_t *pcm)
{
    if (pcm == NULL)
        return;
    free(pcm->samples);
    memset(pcm, 0, sizeof(*pcm));
}
