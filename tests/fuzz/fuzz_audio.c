/* libFuzzer target: the audio path of the detector, on any bytes.
 *
 * The first byte chooses how the rest is read (as the submission's audio_format would):
 *   bits 0-2: format  0 NULL (sniff), 1 "wav", 2 "flac", 3 "ogg", 4 "pcm16", 5 "auto", 6 "",
 *             7 "mp3" (unsupported: must be refused cleanly)
 *   bits 3-4: pcm16 sample rate  8000, 16000, 44100, 48000
 *   bit 5:    1 = the whole engine (vc_audio_detect with the committed model), 0 = the decoder
 *             and measurements (vc_audio_analyze)
 * Limits are small (5 s) so that one input stays fast. Properties: success gives finite,
 * in-range figures; failure is one of the documented errors with a message.
 * The model comes from $AUDIO_MODEL_PATH, else the compiled-in default path; without one only
 * vc_audio_analyze runs. */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "vc/detect.h"
#include "vc/detect_audio.h"

#define MAX_DURATION_S 5.0

static vc_audio_model_t *model;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];
    const char *path = getenv("AUDIO_MODEL_PATH");
    (void)argc;
    (void)argv;
    if (path == NULL || path[0] == '\0')
        path = vc_audio_model_default_path();
    if (vc_audio_model_load(path, &model, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_audio: no model (%s): decoder and measurements only\n", err);
        model = NULL;
    }
    return 0;
}

static void check_error(int rc, const char *err)
{
    FUZZ_CHECK(rc == VC_EFORMAT || rc == VC_ETOOBIG || rc == VC_EINVAL || rc == VC_ENOMEM,
               "unexpected rc %d (%s)", rc, err);
    FUZZ_CHECK(err[0] != '\0', "rc %d without a message", rc);
}

static int in01(double x)
{
    return x >= 0.0 && x <= 1.0;
}

static void run_analyze(const uint8_t *data, size_t size, const char *format,
                        const vc_audio_opts_t *opts)
{
    vc_audio_report_t rep;
    char err[256] = "";
    int rc = vc_audio_analyze(data, size, format, opts, &rep, err, sizeof(err));
    if (rc != 0) {
        check_error(rc, err);
        return;
    }
    FUZZ_CHECK(rep.sample_rate >= 8000 && rep.sample_rate <= 192000, "rate %u", rep.sample_rate);
    FUZZ_CHECK(rep.channels >= 1 && rep.channels <= opts->max_channels, "%d channels",
               rep.channels);
    FUZZ_CHECK(rep.duration_s > 0.0 && rep.duration_s <= MAX_DURATION_S + 1e-6, "duration %g",
               rep.duration_s);
    FUZZ_CHECK(isfinite(rep.rms_dbfs) && isfinite(rep.peak_dbfs) && in01(rep.clipping_ratio) &&
                   in01(rep.silence_ratio) && isfinite(rep.spectral_centroid_hz) &&
                   isfinite(rep.spectral_bandwidth_hz) && isfinite(rep.spectral_flatness),
               "rms %g peak %g clip %g silence %g centroid %g bandwidth %g flatness %g",
               rep.rms_dbfs, rep.peak_dbfs, rep.clipping_ratio, rep.silence_ratio,
               rep.spectral_centroid_hz, rep.spectral_bandwidth_hz, rep.spectral_flatness);
}

static void run_detect(const uint8_t *data, size_t size, const char *format,
                       const vc_audio_opts_t *opts)
{
    vc_audio_detect_opts_t dopts;
    vc_audio_detection_t *det = malloc(sizeof(*det));
    char err[256] = "";
    if (det == NULL)
        return;
    vc_audio_detect_opts_default(&dopts);
    dopts.decode = *opts;
    int rc = vc_audio_detect(model, data, size, format, &dopts, det, err, sizeof(err));
    if (rc != 0) {
        check_error(rc, err);
        free(det);
        return;
    }
    FUZZ_CHECK(in01(det->score), "score %g", det->score);
    FUZZ_CHECK(det->verdict == VC_AUDIO_GENUINE || det->verdict == VC_AUDIO_SPOOF ||
                   det->verdict == VC_AUDIO_INCONCLUSIVE,
               "verdict %d", (int)det->verdict);
    FUZZ_CHECK(det->n_analyzers <= VC_AUDIO_MAX_ANALYZERS &&
                   det->n_segments <= VC_AUDIO_MAX_SEGMENTS &&
                   det->n_splices <= VC_AUDIO_MAX_SPLICES,
               "%zu analyzers, %zu segments, %zu splices", det->n_analyzers, det->n_segments,
               det->n_splices);
    for (size_t i = 0; i < det->n_analyzers; i++) {
        const vc_audio_analyzer_result_t *an = &det->analyzers[i];
        FUZZ_CHECK(in01(an->score) && an->n_evidence <= VC_AUDIO_MAX_EVIDENCE,
                   "analyzer %s: score %g, %zu evidence", an->name, an->score, an->n_evidence);
    }
    for (size_t i = 0; i < det->n_segments; i++) {
        const vc_audio_segment_t *s = &det->segments[i];
        FUZZ_CHECK(in01(s->score) && s->start_s <= s->end_s, "segment %zu: %g..%g score %g", i,
                   s->start_s, s->end_s, s->score);
    }
    free(det);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const formats[8] = {NULL, "wav", "flac", "ogg", "pcm16", "auto", "", "mp3"};
    static const uint32_t rates[4] = {8000, 16000, 44100, 48000};
    vc_audio_opts_t opts;
    if (size < 1)
        return 0;
    const char *format = formats[data[0] & 7];
    vc_audio_opts_default(&opts);
    opts.max_duration_s = MAX_DURATION_S;
    opts.pcm_sample_rate = rates[(data[0] >> 3) & 3];
    if ((data[0] & 0x20) != 0 && model != NULL)
        run_detect(data + 1, size - 1, format, &opts);
    else
        run_analyze(data + 1, size - 1, format, &opts);
    return 0;
}
