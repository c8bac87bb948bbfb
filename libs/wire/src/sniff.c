/* Media format identification from magic numbers. */
#include <string.h>

#include "vc/wire.h"

/* True when data[off..off+n) equals magic. */
static int has(const uint8_t *data, size_t len, size_t off, const char *magic, size_t n)
{
    return len >= off + n && memcmp(data + off, magic, n) == 0;
}

/* True for an MPEG audio layer III frame header: 11 sync bits, a defined version, layer III,
 * a bitrate index other than "bad" (15) and a defined sample-rate index. Other layers and AAC
 * (ADTS, layer bits 00) share the sync word and are not mp3. */
static int mp3_frame(const uint8_t *d, size_t len)
{
    if (len < 3 || d[0] != 0xff || (d[1] & 0xe0) != 0xe0)
        return 0;
    unsigned version = (d[1] >> 3) & 3u, layer = (d[1] >> 1) & 3u;
    unsigned bitrate = d[2] >> 4, rate = (d[2] >> 2) & 3u;
    return version != 1 && layer == 1 && bitrate != 15 && rate != 3;
}

const char *vc_media_sniff(const uint8_t *data, size_t len)
{
    if (data == NULL)
        return NULL;
    if (has(data, len, 0, "RIFF", 4) && has(data, len, 8, "WAVE", 4))
        return "wav";
    if (has(data, len, 0, "fLaC", 4))
        return "flac";
    if (has(data, len, 0, "OggS", 4))
        return "ogg";
    if (has(data, len, 0, "ID3", 3) || mp3_frame(data, len))
        return "mp3";
    if (has(data, len, 4, "ftyp", 4))
        return "mp4";
    if (has(data, len, 0, "\x1a\x45\xdf\xa3", 4))
        return "webm";
    if (has(data, len, 0, "YUV4MPEG2", 9))
        return "y4m";
    return NULL;
}
