/* Writes the msgpack seed corpora of tests/fuzz with the project's own encoders (the Kafka
 * messages) and msgpack-c (the HTTP bodies), from a tiny WAV and Y4M clip:
 *
 *   vc_fuzz_seeds WIRE_DIR BODY_DIR CLIP.wav CLIP.y4m
 *
 * Run by tests/fuzz/make-corpus; the output is committed, so this runs only when the seeds
 * are to change. Exit status 0, or 1 with a message. */
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vc/wire.h"
#include "vc/wire_batch.h"

static const char *wire_dir, *body_dir;

static int write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "vc_fuzz_seeds: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

static int read_file(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    long n = -1;
    if (f != NULL && fseek(f, 0, SEEK_END) == 0)
        n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto fail;
    *data = malloc((size_t)n + 1);
    if (*data == NULL || fread(*data, 1, (size_t)n, f) != (size_t)n)
        goto fail;
    *len = (size_t)n;
    fclose(f);
    return 0;
fail:
    fprintf(stderr, "vc_fuzz_seeds: cannot read %s\n", path);
    if (f != NULL)
        fclose(f);
    return -1;
}

/* ------------------------------------------------------------- Kafka messages (wire) */

/* Writes an encoder's output to WIRE_DIR/name and frees it; erc is the encoder's result. */
static int save(int erc, const char *name, uint8_t *out, size_t len)
{
    if (erc != 0) {
        fprintf(stderr, "vc_fuzz_seeds: encoding %s failed (%d)\n", name, erc);
        return erc;
    }
    int rc = write_file(wire_dir, name, out, len);
    free(out);
    return rc;
}

static void request_base(vc_request_t *req, const char *id, vc_type_t type)
{
    memset(req, 0, sizeof(*req));
    req->v = VC_WIRE_VERSION;
    snprintf(req->id, sizeof(req->id), "%s", id);
    snprintf(req->tenant, sizeof(req->tenant), "tenant-1");
    req->type = type;
    req->submitted_at_ms = 1764096699649;
}

static int wire_seeds(const uint8_t *wav, size_t wav_len, const uint8_t *y4m, size_t y4m_len)
{
    static const char metadata[] = "{\"caller\":\"+15550100\",\"tags\":[\"a\",1,true,null]}";
    vc_request_t reqs[3];
    uint8_t *out;
    size_t len;
    int rc = 0;

    request_base(&reqs[0], "req-audio", VC_TYPE_AUDIO);
    reqs[0].has_audio = 1;
    snprintf(reqs[0].audio.format, sizeof(reqs[0].audio.format), "wav");
    reqs[0].audio.data = wav;
    reqs[0].audio.len = wav_len;
    reqs[0].metadata_json = metadata;
    reqs[0].metadata_len = strlen(metadata);
    snprintf(reqs[0].trace_id, sizeof(reqs[0].trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");

    request_base(&reqs[1], "req-video", VC_TYPE_VIDEO);
    reqs[1].has_video = 1;
    snprintf(reqs[1].video.format, sizeof(reqs[1].video.format), "y4m");
    reqs[1].video.data = y4m;
    reqs[1].video.len = y4m_len;

    request_base(&reqs[2], "req-multi", VC_TYPE_MULTIMODAL);
    reqs[2].has_audio = reqs[2].has_video = 1;
    snprintf(reqs[2].audio.format, sizeof(reqs[2].audio.format), "pcm16");
    reqs[2].audio.sample_rate = 16000;
    reqs[2].audio.data = wav + 44; /* the samples only */
    reqs[2].audio.len = 32;
    snprintf(reqs[2].video.format, sizeof(reqs[2].video.format), "y4m");
    reqs[2].video.data = y4m;
    reqs[2].video.len = y4m_len;

    static const char *const names[3] = {"request_audio.mp", "request_video.mp",
                                         "request_multimodal.mp"};
    for (int i = 0; i < 3 && rc == 0; i++) {
        int erc = vc_wire_request_encode(&reqs[i], &out, &len);
        rc = save(erc, names[i], out, len);
    }
    if (rc == 0) {
        int erc = vc_wire_batch_encode(reqs, 3, &out, &len);
        rc = save(erc, "batch_3.mp", out, len);
    }

    vc_result_t res;
    memset(&res, 0, sizeof(res));
    res.v = VC_WIRE_VERSION;
    snprintf(res.id, sizeof(res.id), "req-audio");
    snprintf(res.tenant, sizeof(res.tenant), "tenant-1");
    res.type = VC_TYPE_MULTIMODAL;
    res.status = VC_STATUS_COMPLETED;
    res.verdict = VC_VERDICT_SPOOF;
    res.has_score = 1;
    res.score = 0.82;
    snprintf(res.detector, sizeof(res.detector), "detector-1");
    snprintf(res.model_version, sizeof(res.model_version), "lfcc-gmm128-s1");
    snprintf(res.trace_id, sizeof(res.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
    res.submitted_at_ms = 1764096699649;
    res.started_at_ms = 1764096699859;
    res.completed_at_ms = 1764096699863;
    vc_analyzer_t *an = vc_result_add_analyzer(&res, "audio", "synthetic_speech", "0.2");
    an->has_score = 1;
    an->score = 0.82;
    vc_analyzer_add_evidence(an, "llr", -1.25);
    vc_analyzer_add_evidence(an, "frames", 298);
    an = vc_result_add_analyzer(&res, "video", "static_image", "video-0.1");
    an->has_score = 1;
    an->score = 0.1;
    vc_analyzer_add_evidence(an, "motion", 0.004);
    if (rc == 0) {
        int erc = vc_wire_result_encode(&res, &out, &len);
        rc = save(erc, "result_completed.mp", out, len);
    }
    memset(&res, 0, sizeof(res));
    res.v = VC_WIRE_VERSION;
    snprintf(res.id, sizeof(res.id), "req-video");
    snprintf(res.tenant, sizeof(res.tenant), "tenant-1");
    res.type = VC_TYPE_VIDEO;
    res.status = VC_STATUS_FAILED;
    snprintf(res.reason, sizeof(res.reason), "video: no decodable frame");
    snprintf(res.detector, sizeof(res.detector), "detector-2");
    res.submitted_at_ms = 1764096699649;
    if (rc == 0) {
        int erc = vc_wire_result_encode(&res, &out, &len);
        rc = save(erc, "result_failed.mp", out, len);
    }
    return rc;
}

/* ------------------------------------------------------------- HTTP bodies (msgpack) */

static void pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

static void pack_bin(msgpack_packer *pk, const uint8_t *data, size_t len)
{
    msgpack_pack_bin_with_body(pk, data, len);
}

/* One API submission map; kind 0 audio (wav), 1 video (y4m), 2 multimodal with pcm16 and
 * metadata. */
static void pack_submission(msgpack_packer *pk, int kind, const uint8_t *wav, size_t wav_len,
                            const uint8_t *y4m, size_t y4m_len)
{
    if (kind == 0) {
        msgpack_pack_map(pk, 3);
        pack_str(pk, "detection_type");
        pack_str(pk, "audio");
        pack_str(pk, "audio_data");
        pack_bin(pk, wav, wav_len);
        pack_str(pk, "audio_format");
        pack_str(pk, "wav");
    } else if (kind == 1) {
        msgpack_pack_map(pk, 3);
        pack_str(pk, "detection_id");
        pack_str(pk, "clip-42");
        pack_str(pk, "detection_type");
        pack_str(pk, "video");
        pack_str(pk, "video_data");
        pack_bin(pk, y4m, y4m_len);
    } else {
        msgpack_pack_map(pk, 6);
        pack_str(pk, "detection_type");
        pack_str(pk, "multimodal");
        pack_str(pk, "audio_data");
        pack_bin(pk, wav + 44, 32);
        pack_str(pk, "audio_format");
        pack_str(pk, "pcm16");
        pack_str(pk, "sample_rate");
        msgpack_pack_uint32(pk, 16000);
        pack_str(pk, "video_data");
        pack_bin(pk, y4m, y4m_len);
        pack_str(pk, "metadata");
        msgpack_pack_map(pk, 3);
        pack_str(pk, "caller");
        pack_str(pk, "+15550100");
        pack_str(pk, "score");
        msgpack_pack_double(pk, 0.5);
        pack_str(pk, "tags");
        msgpack_pack_array(pk, 3);
        msgpack_pack_true(pk);
        msgpack_pack_nil(pk);
        msgpack_pack_int64(pk, -7);
    }
}

static int body_seeds(const uint8_t *wav, size_t wav_len, const uint8_t *y4m, size_t y4m_len)
{
    static const char *const names[3] = {"single_audio.mp", "single_video.mp",
                                         "single_multimodal.mp"};
    msgpack_sbuffer sb;
    msgpack_packer pk;
    int rc = 0;
    for (int kind = 0; kind < 3 && rc == 0; kind++) {
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        pack_submission(&pk, kind, wav, wav_len, y4m, y4m_len);
        rc = write_file(body_dir, names[kind], sb.data, sb.size);
        msgpack_sbuffer_destroy(&sb);
    }
    if (rc == 0) { /* {"requests": [audio, video]} */
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 1);
        pack_str(&pk, "requests");
        msgpack_pack_array(&pk, 2);
        pack_submission(&pk, 0, wav, wav_len, y4m, y4m_len);
        pack_submission(&pk, 1, wav, wav_len, y4m, y4m_len);
        rc = write_file(body_dir, "batch_requests.mp", sb.data, sb.size);
        msgpack_sbuffer_destroy(&sb);
    }
    if (rc == 0) { /* the original API's bare array, with one bad item */
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 2);
        pack_submission(&pk, 2, wav, wav_len, y4m, y4m_len);
        msgpack_pack_map(&pk, 1);
        pack_str(&pk, "detection_type");
        pack_str(&pk, "hologram");
        rc = write_file(body_dir, "batch_array.mp", sb.data, sb.size);
        msgpack_sbuffer_destroy(&sb);
    }
    return rc;
}

int main(int argc, char **argv)
{
    uint8_t *wav = NULL, *y4m = NULL;
    size_t wav_len = 0, y4m_len = 0;
    int rc = 1;
    if (argc != 5) {
        fprintf(stderr, "usage: vc_fuzz_seeds WIRE_DIR BODY_DIR CLIP.wav CLIP.y4m\n");
        return 2;
    }
    wire_dir = argv[1];
    body_dir = argv[2];
    if (read_file(argv[3], &wav, &wav_len) != 0 || read_file(argv[4], &y4m, &y4m_len) != 0)
        goto done;
    if (wav_len < 44 + 32) {
        fprintf(stderr, "vc_fuzz_seeds: %s is too short\n", argv[3]);
        goto done;
    }
    if (wire_seeds(wav, wav_len, y4m, y4m_len) == 0 && body_seeds(wav, wav_len, y4m, y4m_len) == 0)
        rc = 0;
done:
    free(wav);
    free(y4m);
    return rc;
}
