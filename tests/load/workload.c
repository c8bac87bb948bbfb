/* Request bodies of vc-loadtest, built once before the run so the event loop only writes
 * prepared bytes: JSON with base64 media for submissions, {requests:[...]} for batches. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "loadtest.h"
#include "vc/base64.h"
#include "vc/error.h"

#define MAX_MEDIA_BYTES ((size_t)64 * 1024 * 1024)

typedef struct {
    unsigned char *data;
    size_t len;
} media_t;

/* Reads path whole (at most MAX_MEDIA_BYTES). Returns 0 or VC_EIO / VC_ETOOBIG / VC_ENOMEM;
 * on success the caller frees m->data. */
static int read_media(const char *path, media_t *m, char *err, size_t errlen)
{
    struct stat sb;
    int rc = 0;
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return vc_err(err, errlen, VC_EIO, "%s: %s", path, strerror(errno));
    if (fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = vc_err(err, errlen, VC_EIO, "%s: not a regular file", path);
        goto fail;
    }
    if ((size_t)sb.st_size > MAX_MEDIA_BYTES || sb.st_size == 0) {
        rc = vc_err(err, errlen, VC_ETOOBIG, "%s: size %lld outside 1..%zu bytes", path,
                    (long long)sb.st_size, MAX_MEDIA_BYTES);
        goto fail;
    }
    m->len = (size_t)sb.st_size;
    m->data = malloc(m->len);
    if (m->data == NULL) {
        rc = vc_err(err, errlen, VC_ENOMEM, "%s: no memory", path);
        goto fail;
    }
    if (fread(m->data, 1, m->len, fp) != m->len) {
        free(m->data);
        m->data = NULL;
        rc = vc_err(err, errlen, VC_EIO, "%s: short read", path);
        goto fail;
    }
fail:
    fclose(fp);
    return rc;
}

static void put_le(unsigned char *p, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* A 16 kHz mono PCM16 WAV of a 440 Hz tone with a little deterministic noise, so every
 * analyser has something to measure. */
static int gen_wav(double seconds, media_t *m)
{
    const uint32_t rate = 16000;
    uint32_t frames = (uint32_t)(seconds * rate);
    m->len = 44 + (size_t)frames * 2;
    m->data = malloc(m->len);
    if (m->data == NULL)
        return VC_ENOMEM;
    unsigned char *b = m->data;
    memcpy(b, "RIFF", 4);
    put_le(b + 4, (uint32_t)(m->len - 8), 4);
    memcpy(b + 8, "WAVEfmt ", 8);
    put_le(b + 16, 16, 4);
    put_le(b + 20, 1, 2);
    put_le(b + 22, 1, 2);
    put_le(b + 24, rate, 4);
    put_le(b + 28, rate * 2, 4);
    put_le(b + 32, 2, 2);
    put_le(b + 34, 16, 2);
    memcpy(b + 36, "data", 4);
    put_le(b + 40, frames * 2, 4);
    uint32_t lcg = 12345;
    for (uint32_t i = 0; i < frames; i++) {
        lcg = lcg * 1103515245u + 12345u;
        double noise = ((double)(lcg >> 16) / 65536.0 - 0.5) * 0.02;
        double x = 0.4 * sin(2.0 * M_PI * 440.0 * i / rate) + noise;
        put_le(b + 44 + 2 * i, (uint32_t)(uint16_t)(int16_t)lrint(x * 32767.0), 2);
    }
    return 0;
}

/* Appends a msgpack unsigned length header: the fixed form when tiny (fix_base | n, for
 * n < fix_limit), else the 8/16/32-bit form starting at code c8 (c8 may be 0: no 8-bit form). */
static void put_mp_len(unsigned char *b, size_t *pos, size_t n, unsigned fix_base,
                       size_t fix_limit, unsigned c8, unsigned c16, unsigned c32)
{
    if (n < fix_limit) {
        b[(*pos)++] = (unsigned char)(fix_base | n);
    } else if (c8 != 0 && n < 256) {
        b[(*pos)++] = (unsigned char)c8;
        b[(*pos)++] = (unsigned char)n;
    } else if (n < 65536) {
        b[(*pos)++] = (unsigned char)c16;
        b[(*pos)++] = (unsigned char)(n >> 8);
        b[(*pos)++] = (unsigned char)n;
    } else {
        b[(*pos)++] = (unsigned char)c32;
        for (int s = 24; s >= 0; s -= 8)
            b[(*pos)++] = (unsigned char)(n >> s);
    }
}

/* Appends {"detection_type":"audio","audio_data":<bin>} as msgpack (room checked by the
 * caller's sizing: item_len() is always larger). */
static void put_item_msgpack(unsigned char *b, size_t *pos, const media_t *m)
{
    static const unsigned char head[] = "\x82\xae" "detection_type" "\xa5" "audio"
                                        "\xaa" "audio_data";
    memcpy(b + *pos, head, sizeof(head) - 1);
    *pos += sizeof(head) - 1;
    put_mp_len(b, pos, m->len, 0, 0, 0xc4, 0xc5, 0xc6);
    memcpy(b + *pos, m->data, m->len);
    *pos += m->len;
}

/* Appends the JSON of one submission for m at *pos in buf (room checked by the caller's
 * sizing). */
static void put_item(char *buf, size_t cap, size_t *pos, const media_t *m)
{
    static const char head[] = "{\"detection_type\":\"audio\",\"audio_data\":\"";
    memcpy(buf + *pos, head, sizeof(head) - 1);
    *pos += sizeof(head) - 1;
    size_t n = 0;
    /* Sized by item_len(): cannot fail. */
    (void)vc_base64_encode(m->data, m->len, buf + *pos, cap - *pos, &n);
    *pos += n;
    memcpy(buf + *pos, "\"}", 2);
    *pos += 2;
}

static size_t item_len(const media_t *m)
{
    return 40 + vc_base64_encoded_len(m->len) + 2;
}

/* Body i of a batch run: batch_size items starting at media i. */
static int build_batch(const media_t *media, size_t nmedia, size_t first, int batch_size,
                       int msgpack, vc_load_body_t *b)
{
    size_t cap = 16, pos = 0;
    for (int k = 0; k < batch_size; k++)
        cap += item_len(&media[(first + (size_t)k) % nmedia]) + 1;
    cap += vc_base64_encoded_len(1); /* room for vc_base64_encode's NUL */
    b->data = malloc(cap);
    if (b->data == NULL)
        return VC_ENOMEM;
    if (msgpack) {
        unsigned char *u = (unsigned char *)b->data;
        memcpy(u, "\x81\xa8requests", 10);
        pos = 10;
        put_mp_len(u, &pos, (size_t)batch_size, 0x90, 16, 0, 0xdc, 0xdd);
        for (int k = 0; k < batch_size; k++)
            put_item_msgpack(u, &pos, &media[(first + (size_t)k) % nmedia]);
        b->len = pos;
        return 0;
    }
    memcpy(b->data, "{\"requests\":[", 13);
    pos = 13;
    for (int k = 0; k < batch_size; k++) {
        if (k > 0)
            b->data[pos++] = ',';
        put_item(b->data, cap, &pos, &media[(first + (size_t)k) % nmedia]);
    }
    memcpy(b->data + pos, "]}", 2);
    pos += 2;
    b->len = pos;
    return 0;
}

static int build_single(const media_t *m, int msgpack, vc_load_body_t *b)
{
    size_t cap = item_len(m) + 8, pos = 0;
    b->data = malloc(cap);
    if (b->data == NULL)
        return VC_ENOMEM;
    if (msgpack)
        put_item_msgpack((unsigned char *)b->data, &pos, m);
    else
        put_item(b->data, cap, &pos, m);
    b->len = pos;
    return 0;
}

int vc_workload_build(const vc_load_opts_t *opts, const char *const *files, size_t nfiles,
                      double gen_seconds, vc_workload_t *wl, char *err, size_t errlen)
{
    memset(wl, 0, sizeof(*wl));
    wl->content_type = opts->msgpack ? "application/msgpack" : "application/json";
    if (opts->type == VC_LOAD_HEALTH)
        return 0;
    size_t nmedia = nfiles > 0 ? nfiles : 1;
    int rc = 0;
    media_t *media = calloc(nmedia, sizeof(*media));
    if (media == NULL)
        return vc_err(err, errlen, VC_ENOMEM, "no memory");
    for (size_t i = 0; i < nfiles && rc == 0; i++)
        rc = read_media(files[i], &media[i], err, errlen);
    if (rc == 0 && nfiles == 0) {
        rc = gen_wav(gen_seconds, &media[0]);
        if (rc != 0)
            vc_err(err, errlen, rc, "no memory for the generated clip");
    }
    if (rc != 0)
        goto fail;
    wl->bodies = calloc(nmedia, sizeof(*wl->bodies));
    if (wl->bodies == NULL) {
        rc = vc_err(err, errlen, VC_ENOMEM, "no memory");
        goto fail;
    }
    wl->nbodies = nmedia;
    size_t total = 0;
    for (size_t i = 0; i < nmedia && rc == 0; i++) {
        total += media[i].len;
        if (opts->type == VC_LOAD_BATCH)
            rc = build_batch(media, nmedia, i, opts->batch_size, opts->msgpack, &wl->bodies[i]);
        else
            rc = build_single(&media[i], opts->msgpack, &wl->bodies[i]);
    }
    wl->media_bytes = total / nmedia;
    if (rc != 0)
        vc_err(err, errlen, rc, "no memory for request bodies");
fail:
    for (size_t i = 0; i < nmedia; i++)
        free(media[i].data);
    free(media);
    return rc;
}

void vc_workload_free(vc_workload_t *wl)
{
    for (size_t i = 0; i < wl->nbodies; i++)
        free(wl->bodies[i].data);
    free(wl->bodies);
    memset(wl, 0, sizeof(*wl));
}
