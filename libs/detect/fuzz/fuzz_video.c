/* libFuzzer target for the video demux/decode path and the analyzers: any bytes through
 * vc_video_detect with tight limits (so each run stays short). Not wired into CMake; build by
 * hand from the repository root:
 *   clang -fsanitize=fuzzer,address,undefined -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
 *     -Ilibs/detect/include -Ilibs/detect/src -Ilibs/core/include \
 *     libs/detect/fuzz/fuzz_video.c libs/detect/src/video*.c libs/core/src/error.c \
 *     $(pkg-config --libs libavformat libavcodec libswscale libavutil) -lm -pthread \
 *     -o fuzz_video
 *   mkdir -p corpus && ./fuzz_video -max_len=65536 -timeout=10 corpus libs/detect/fuzz/video_seeds
 * The committed seeds (video_seeds/) are 0.4 s testsrc2 clips in MKV, MP4, WebM, AVI and Y4M
 * plus one with PCM audio (ffmpeg -f lavfi -i testsrc2=s=64x48:d=0.4:r=10 video_seed.EXT). */
#include <stddef.h>
#include <stdint.h>

#include "vc/video.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    vc_video_opts_t opts;
    vc_video_report_t rep;
    char err[256];

    if (!quiet) {
        vc_video_quiet_logs();
        quiet = 1;
    }
    vc_video_opts_default(&opts);
    opts.max_width = 1024;
    opts.max_height = 1024;
    opts.max_frames = 120;
    opts.max_duration_s = 30.0;
    opts.max_decoded_bytes = (uint64_t)64 << 20;
    opts.max_wall_s = 5.0;
    opts.analysis_width = 128;
    (void)vc_video_detect(data, size, &opts, &rep, err, sizeof(err));
    return 0;
}
