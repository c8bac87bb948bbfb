/* Media checks at the door, beyond the format sniffing of libs/wire: what a WAV header
 * declares is checked against the bytes present and the detectors' limits, so a claim of
 * gigabytes or hours is refused here, before anything is sized from it, instead of failing
 * later in a detector. */
#include "media_check.h"

#include <stdio.h>
#include <string.h>

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static unsigned le16(const uint8_t *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

/* Checks a WAV's fmt chunk against the detectors' limits; 0 or the status to refuse with. */
static int wav_fmt_check(const gateway_t *gw, const uint8_t *ck, uint32_t size, char *msg,
                         size_t cap)
{
    if (size < 16) {
        snprintf(msg, cap, "audio_data: WAV fmt chunk of %u bytes (at least 16)", size);
        return 400;
    }
    unsigned tag = le16(ck + 8), channels = le16(ck + 10), block = le16(ck + 20);
    uint32_t rate = le32(ck + 12), byte_rate = le32(ck + 16);
    if (channels == 0 || (long long)channels > gw->cfg.max_audio_channels) {
        snprintf(msg, cap, "audio_data: WAV declares %u channels (1..%lld, MAX_AUDIO_CHANNELS)",
                 channels, gw->cfg.max_audio_channels);
        return channels == 0 ? 400 : 413;
    }
    if (rate < 8000 || rate > 192000) {
        snprintf(msg, cap, "audio_data: WAV sample rate %u Hz outside 8000..192000", rate);
        return 400;
    }
    /* PCM, IEEE float and extensible: the byte rate follows from rate and frame size. */
    int linear = tag == 1 || tag == 3 || tag == 0xfffe;
    if (byte_rate == 0 || block == 0 || (linear && byte_rate != (uint64_t)rate * block)) {
        snprintf(msg, cap,
                 "audio_data: WAV byte rate %u disagrees with %u Hz x %u-byte frames",
                 byte_rate, rate, block);
        return 400;
    }
    return 0;
}

/* Checks what a WAV header declares against the bytes present and the detectors' limits, so a
 * claim of gigabytes or hours is refused here, before anything is sized from it, instead of
 * failing later in a detector. Returns 0, or the status to refuse with (400 malformed, 413
 * over a limit) with msg set. */
static int wav_check(const gateway_t *gw, const uint8_t *d, size_t len, char *msg, size_t cap)
{
    if (len < 12 || (uint64_t)le32(d + 4) + 8 > len) {
        snprintf(msg, cap, "audio_data: RIFF header declares %llu bytes, %zu present",
                 len < 12 ? 0ULL : (unsigned long long)le32(d + 4) + 8, len);
        return 400;
    }
    uint32_t byte_rate = 0;
    size_t pos = 12;
    while (pos + 8 <= len) {
        const uint8_t *ck = d + pos;
        uint32_t size = le32(ck + 4);
        size_t avail = len - pos - 8;
        if (size > avail) {
            char id[5];
            for (int i = 0; i < 4; i++)
                id[i] = ck[i] >= 0x20 && ck[i] < 0x7f ? (char)ck[i] : '?';
            id[4] = '\0';
            snprintf(msg, cap, "audio_data: WAV %s chunk declares %u bytes, %zu present", id,
                     size, avail);
            return 400;
        }
        if (memcmp(ck, "fmt ", 4) == 0) {
            int st = wav_fmt_check(gw, ck, size, msg, cap);
            if (st != 0)
                return st;
            byte_rate = le32(ck + 16);
        } else if (memcmp(ck, "data", 4) == 0) {
            if (byte_rate == 0) {
                snprintf(msg, cap, "audio_data: WAV data chunk before a fmt chunk");
                return 400;
            }
            double secs = (double)size / byte_rate;
            if (secs > (double)gw->cfg.max_audio_seconds) {
                snprintf(msg, cap, "audio_data: WAV declares %.1f s of audio, limit %lld s "
                         "(MAX_AUDIO_SECONDS)", secs, gw->cfg.max_audio_seconds);
                return 413;
            }
            return 0;
        }
        pos += 8 + (size_t)size + (size & 1u);
    }
    snprintf(msg, cap, "audio_data: WAV without a data chunk");
    return 400;
}

int gateway_media_check(const gateway_t *gw, const vc_request_t *req, char *msg, size_t cap)
{
    const vc_media_t *a = &req->audio;
    if (!req->has_audio)
        return 0;
    if (strcmp(a->format, "wav") == 0)
        return wav_check(gw, a->data, a->len, msg, cap);
    if (strcmp(a->format, "pcm16") == 0 && a->sample_rate > 0 &&
        (double)a->len / 2.0 / a->sample_rate > (double)gw->cfg.max_audio_seconds) {
        snprintf(msg, cap, "audio_data: %.1f s of pcm16, limit %lld s (MAX_AUDIO_SECONDS)",
                 (double)a->len / 2.0 / a->sample_rate, gw->cfg.max_audio_seconds);
        return 413;
    }
    return 0;
}

