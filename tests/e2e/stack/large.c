/* The largest submission the gateway accepts goes end to end through Apache Kafka: a 16 MiB
 * msgpack body (MAX_BODY_BYTES) carrying a 16 kHz WAV of about 524 s as raw bin. Its request
 * record (~16 MiB) must pass the gateway's producer, the topic's max.message.bytes (set by
 * vc_topics_ensure), the broker, and the detector's 4 MiB fetches (a record batch larger than
 * a fetch still comes back alone), and the result must describe that very audio.
 *
 * vc-devbroker would not tell: it trims a partition past 5 MiB. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/e2e.h"
#include "test.h"

#define BODY_BYTES (16u << 20)

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* {"detection_id": id, "detection_type": "audio", "audio_data": bin(wav)} exactly BODY_BYTES
 * long: the WAV gets whatever the map's other bytes leave. */
static unsigned char *body_of(const char *id, double *seconds, size_t *len)
{
    unsigned char head[256];
    size_t h = 0, idlen = strlen(id);
    head[h++] = 0x83;
    head[h++] = 0xa0 | 12;
    memcpy(head + h, "detection_id", 12), h += 12;
    head[h++] = (unsigned char)(0xa0 | idlen);
    memcpy(head + h, id, idlen), h += idlen;
    head[h++] = 0xa0 | 14;
    memcpy(head + h, "detection_type", 14), h += 14;
    head[h++] = 0xa0 | 5;
    memcpy(head + h, "audio", 5), h += 5;
    head[h++] = 0xa0 | 10;
    memcpy(head + h, "audio_data", 10), h += 10;
    head[h++] = 0xc6; /* bin 32 */
    size_t wav_cap = BODY_BYTES - h - 4;
    double secs = (double)((wav_cap - 44) / 2) / 16000.0;
    size_t wav_len = 0;
    unsigned char *wav = vc_test_wav_sine(330, 0.4, secs, 16000, &wav_len);
    ASSERT(wav_len <= wav_cap);
    unsigned char *b = malloc(h + 4 + wav_len);
    ASSERT(b != NULL);
    memcpy(b, head, h);
    put_be32(b + h, (uint32_t)wav_len);
    memcpy(b + h + 4, wav, wav_len);
    free(wav);
    *len = h + 4 + wav_len;
    *seconds = (double)(wav_len - 44) / 2 / 16000.0;
    return b;
}

int main(void)
{
    static vc_e2e_t e;
    vc_e2e_init(&e, "large");
    vc_e2e_start(&e, 1);
    char id[96], url[160];
    snprintf(id, sizeof(id), "%sbig", e.id_prefix);
    double seconds = 0;
    size_t len = 0;
    unsigned char *body = body_of(id, &seconds, &len);
    snprintf(url, sizeof(url), "%s/v1/detections", e.base_url);
    vc_test_api_key = e.api_key;
    char *resp = NULL;
    long st = vc_test_http("POST", url, "application/msgpack", body, len, &resp);
    fprintf(stderr, "large: %zu-byte body (%.1f s of audio): %ld %s\n", len, seconds, st,
            resp ? resp : "");
    if (st != 202)
        vc_test_print_log(&e.gateway, 30);
    ASSERT_EQ(st, 202);
    free(resp);
    free(body);
    json_t *r = vc_e2e_wait_final(&e, "big", 120);
    const char *status = json_string_value(json_object_get(r, "status"));
    ASSERT(status != NULL && strcmp(status, "completed") == 0);
    /* The analysis saw the whole clip: its duration is the one sent. */
    json_t *audio = json_object_get(json_object_get(r, "modalities"), "audio");
    json_t *analyzers = json_object_get(audio, "analyzers");
    double dur = -1;
    for (size_t i = 0; i < json_array_size(analyzers) && dur < 0; i++) {
        json_t *d = json_object_get(json_object_get(json_array_get(analyzers, i), "evidence"),
                                    "duration_s");
        if (json_is_number(d))
            dur = json_number_value(d);
    }
    fprintf(stderr, "large: completed, analysed duration %.1f s\n", dur);
    ASSERT(dur > seconds - 0.5 && dur < seconds + 0.5);
    json_decref(r);
    vc_e2e_stop(&e);
    return 0;
}
