/* libFuzzer target for the audio decoder and measurements: any bytes, auto-detected or as
 * pcm16 (first byte chooses). Not wired into CMake yet; build by hand:
 *   clang -fsanitize=fuzzer,address,undefined -Ilibs/detect/include -Ilibs/core/include \
 *     libs/detect/fuzz/fuzz_audio.c libs/detect/src/\*.c libs/core/src/error.c \
 *     $(pkg-config --libs sndfile fftw3) -lm -pthread -o fuzz_audio */
#include <stddef.h>
#include <stdint.h>

#include "vc/detect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    return 0;
}
