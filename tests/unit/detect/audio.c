/* vc-detect's library surface: version, default options, and many threads at once (the
 * FFTW planner is shared; everything else must be per call). */
#include <pthread.h>
#include <stdint.h>

#include "test.h"
#include "vc/detect.h"
#include "vc/error.h"
#include "wavgen.h"

#define THREADS 6
#define ROUNDS 8
#define INPUTS 3

typedef struct {
    uint8_t *wav[INPUTS];
    size_t len[INPUTS];
    vc_audio_report_t expect[INPUTS];
} shared_t;

static void test_version_and_defaults(void)
{
    vc_audio_opts_t opts;
    ASSERT_STREQ(vc_detect_version(), "signal-0.1");
    vc_audio_opts_default(&opts);
    ASSERT_NEAR(opts.max_duration_s, 600.0, 0.0);
    ASSERT_EQ(opts.max_channels, 8);
    ASSERT_EQ(opts.pcm_sample_rate, 0);
}

/* Runs every input ROUNDS times and counts reports that differ from the serial ones. */
static void *worker(void *arg)
{
    shared_t *sh = arg;
    int bad = 0;
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < INPUTS; i++) {
            vc_audio_report_t rep;
            char err[128];
            int k = (i + r) % INPUTS;
            if (vc_audio_analyze(sh->wav[k], sh->len[k], NULL, NULL, &rep, err, sizeof(err)) != 0 ||
                memcmp(&rep, &sh->expect[k], sizeof(rep)) != 0)
                bad++;
        }
    }
    return (void *)(intptr_t)bad;
}

static void test_threads_agree(void)
{
    shared_t sh;
    pthread_t tid[THREADS];
    float *sig[INPUTS] = {wavgen_sine(0.5, 1000, 16000, 16000), wavgen_noise(0.3, 16000, 5),
                          wavgen_square(0.9, 300, 16000, 16000)};
    char err[128];

    for (int i = 0; i < INPUTS; i++) {
        sh.wav[i] = wavgen_pcm16(sig[i], 16000, 16000, &sh.len[i]);
        ASSERT_OK(
            vc_audio_analyze(sh.wav[i], sh.len[i], NULL, NULL, &sh.expect[i], err, sizeof(err)));
    }
    for (int t = 0; t < THREADS; t++)
        ASSERT_OK(pthread_create(&tid[t], NULL, worker, &sh));
    for (int t = 0; t < THREADS; t++) {
        void *bad;
        ASSERT_OK(pthread_join(tid[t], &bad));
        ASSERT_EQ((intptr_t)bad, 0);
    }
    for (int i = 0; i < INPUTS; i++) {
        free(sh.wav[i]);
        free(sig[i]);
    }
}

int main(void)
{
    RUN(test_version_and_defaults);
    RUN(test_threads_agree);
    return 0;
}
