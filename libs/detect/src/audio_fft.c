/* The FFTW planner lock and the one 512-point plan every audio frame transform shares.
 * FFTW's planner keeps global state, so plan creation and destruction anywhere in
 * libs/detect happen under this lock; executing a plan with new-array execute functions on
 * per-call buffers is thread-safe. */
#include <pthread.h>
#include <stddef.h>

#include <fftw3.h>

#include "audio_engine.h"

static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t plan_once = PTHREAD_ONCE_INIT;
static fftw_plan plan512;

void vc_audio__fft_lock(void)
{
    pthread_mutex_lock(&planner_lock);
}

void vc_audio__fft_unlock(void)
{
    pthread_mutex_unlock(&planner_lock);
}

/* Plans on scratch fftw_malloc'd buffers (alignment matches every later fftw_malloc), then
 * frees them: the plan is only used with fftw_execute_dft_r2c. Lives until exit. */
static void make_plan(void)
{
    double *in = fftw_alloc_real(VC_AUDIO__NFFT);
    fftw_complex *out = fftw_alloc_complex(VC_AUDIO__BINS);
    if (in != NULL && out != NULL) {
        vc_audio__fft_lock();
        plan512 = fftw_plan_dft_r2c_1d(VC_AUDIO__NFFT, in, out, FFTW_ESTIMATE);
        vc_audio__fft_unlock();
    }
    fftw_free(in);
    fftw_free(out);
}

const void *vc_audio__fft_plan512(void)
{
    pthread_once(&plan_once, make_plan);
    return plan512;
}
