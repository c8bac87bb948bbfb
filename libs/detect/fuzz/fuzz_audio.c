/* libFuzzer target for the audio decoder, measurements and (when a model loads) the whole
 * spoof-detection engine: any bytes, auto-detected or as pcm16 (first byte chooses). Not
 * wired into CMake yet; build by hand:
 *   clang -fsanitize=fuzzer,address,undefined -Ilibs/detect/include -Ilibs/core/include \
 *     libs/detect/fuzz/fuzz_audio.c libs/detect/src/\*.c libs/core/src/error.c \
 *     $(pkg-config --libs sndfile fftw3 soxr libavformat libavcodec libswscale libavutil) \
 *     -lm -pthread -o fuzz_audio
 * The model comes from $AUDIO_MODEL_PATH, else the compiled-in default path. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "vc/detect.h"
#include "vc/detect_audio.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static vc_audio_model_t *model;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];
    const char *path = getenv("AUDIO_MODEL_PATH");
    (void)argc;
    (void)argv;
    if (path == NULL || path[0] == '\0')
        path = vc_audio_model_default_path();
    if (vc_audio_model_load(path, &model, err, sizeof(err)) != 0)
        model = NULL; /* decoder and measurements only */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vc_audio_opts_t opts;
    vc_audio_report_t rep;
    char err[256];

    if (size < 1)
        return 0;
    vc_audio_opts_default(&opts);
    opts.max_duration_s = 30.0; /* keep each run short */
    opts.pcm_sample_rate = 16000;
    const char *format = (data[0] & 1) ? "pcm16" : NULL;
    (void)vc_audio_analyze(data + 1, size - 1, format, &opts, &rep, err, sizeof(err));
    if (model != NULL) {
        vc_audio_detect_opts_t dopts;
        vc_audio_detection_t *det = malloc(sizeof(*det));
        vc_audio_detect_opts_default(&dopts);
        dopts.decode = opts;
        if (det != NULL)
            (void)vc_audio_detect(model, data + 1, size - 1, format, &dopts, det, err, sizeof(err));
        free(det);
    }
    return 0;
}
