/* Signal measurements on a mono float signal: levels, clipping, digital silence and the shape
 * of the long-term average power spectrum (LTAS). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <fftw3.h>

#include "audio_engine.h"
#include "vc/error.h"

#define FLOOR_DBFS -120.0
#define CLIP_LEVEL 0.999
#define SILENCE_LEVEL (1.0 / 32768.0) /* below one 16-bit LSB: digital silence */
#define FFT_SIZE 512
#define FFT_HOP 256
#define FFT_BINS (FFT_SIZE / 2 + 1)
#define ROLLOFF_SHARE 0.99
#define VC_PI 3.14159265358979323846

/* FFTW's planner keeps global state (wisdom, plan cache): plan creation and destruction are
 * serialised by the library-wide lock in audio_fft.c. fftw_execute on a plan whose buffers
 * belong to one call is thread-safe. */

/* One FFT workspace, owned by one call. */
typedef struct {
    double *in;
    fftw_complex *out;
    fftw_plan plan;
    double window[FFT_SIZE];
} fft_work_t;

static double to_dbfs(double amplitude)
{
    if (!(amplitude > 0.0))
        return FLOOR_DBFS;
    double db = 20.0 * log10(amplitude);
    return db < FLOOR_DBFS ? FLOOR_DBFS : db;
}

/* Returns the largest |x| over n samples. */
static double peak_of(const float *x, size_t n)
{
    double peak = 0.0;
    for (size_t i = 0; i < n; i++) {
        double a = fabs((double)x[i]);
        if (a > peak)
            peak = a;
    }
    return peak;
}

/* RMS, peak and clipping share. */
static void measure_levels(const float *x, size_t n, vc_audio_report_t *rep)
{
    double sum_sq = 0.0;
    size_t clipped = 0;

    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        sum_sq += v * v;
        if (fabs(v) >= CLIP_LEVEL)
            clipped++;
    }
    rep->rms_dbfs = n > 0 ? to_dbfs(sqrt(sum_sq / (double)n)) : FLOOR_DBFS;
    rep->peak_dbfs = to_dbfs(peak_of(x, n));
    rep->clipping_ratio = n > 0 ? (double)clipped / (double)n : 0.0;
}

/* Share of 10 ms frames (the last one may be shorter) whose peak is below one 16-bit LSB.
 * No samples count as all silent. */
static double silence_share(const float *x, size_t n, uint32_t rate)
{
    size_t frame = rate / 100;
    size_t frames = 0, silent = 0;

    if (n == 0)
        return 1.0;
    for (size_t start = 0; start < n; start += frame) {
        size_t len = n - start < frame ? n - start : frame;
        frames++;
        if (peak_of(x + start, len) < SILENCE_LEVEL)
            silent++;
    }
    return (double)silent / (double)frames;
}

static void fft_work_free(fft_work_t *fw)
{
    if (fw->plan != NULL) {
        vc_audio__fft_lock();
        fftw_destroy_plan(fw->plan);
        vc_audio__fft_unlock();
    }
    fftw_free(fw->in);
    fftw_free(fw->out);
    memset(fw, 0, sizeof(*fw));
}

/* Allocates buffers, plans the r2c transform (under the planner lock) and fills the periodic
 * Hann window. Returns 0 or VC_ENOMEM; on failure fw holds nothing. */
static int fft_work_init(fft_work_t *fw)
{
    memset(fw, 0, sizeof(*fw));
    fw->in = fftw_alloc_real(FFT_SIZE);
    fw->out = fftw_alloc_complex(FFT_BINS);
    if (fw->in == NULL || fw->out == NULL)
        goto fail;
    vc_audio__fft_lock();
    fw->plan = fftw_plan_dft_r2c_1d(FFT_SIZE, fw->in, fw->out, FFTW_ESTIMATE);
    vc_audio__fft_unlock();
    if (fw->plan == NULL)
        goto fail;
    for (int i = 0; i < FFT_SIZE; i++)
        fw->window[i] = 0.5 - 0.5 * cos(2.0 * VC_PI * i / FFT_SIZE);
    return 0;

fail:
    fft_work_free(fw);
    return VC_ENOMEM;
}

/* Windows len (<= FFT_SIZE, zero-padded) samples at x, transforms them and adds the power of
 * each bin to psd. */
static void add_frame_power(fft_work_t *fw, const float *x, size_t len, double *psd)
{
    for (size_t i = 0; i < FFT_SIZE; i++)
        fw->in[i] = i < len ? fw->window[i] * x[i] : 0.0;
    fftw_execute_dft_r2c(fw->plan, fw->in, fw->out);
    for (int k = 0; k < FFT_BINS; k++)
        psd[k] += fw->out[k][0] * fw->out[k][0] + fw->out[k][1] * fw->out[k][1];
}

/* Averages the power spectrum of 50%-overlapping Hann frames, skipping digitally silent ones.
 * A signal shorter than one frame is one zero-padded frame. Sets *used to the frames that
 * went in; psd is all zero when none did. Returns 0 or VC_ENOMEM. */
static int average_spectrum(const float *x, size_t n, double *psd, size_t *used)
{
    fft_work_t fw;
    size_t count = 0;

    memset(psd, 0, FFT_BINS * sizeof(double));
    *used = 0;
    if (fft_work_init(&fw) != 0)
        return VC_ENOMEM;
    for (size_t start = 0; start < n; start += FFT_HOP) {
        size_t len = n - start < FFT_SIZE ? n - start : FFT_SIZE;
        if (len < FFT_SIZE && start > 0)
            break; /* tail shorter than a frame, already covered by the previous one */
        if (peak_of(x + start, len) < SILENCE_LEVEL)
            continue;
        add_frame_power(&fw, x + start, len, psd);
        count++;
    }
    fft_work_free(&fw);
    for (int k = 0; count > 0 && k < FFT_BINS; k++)
        psd[k] /= (double)count;
    *used = count;
    return 0;
}

/* Centroid, 99% roll-off and flatness of psd. An empty spectrum gives zeros. */
static void spectral_shape(const double *psd, uint32_t rate, vc_audio_report_t *rep)
{
    double bin_hz = (double)rate / FFT_SIZE;
    double total = 0.0, moment = 0.0, log_sum = 0.0;

    for (int k = 0; k < FFT_BINS; k++) {
        total += psd[k];
        moment += psd[k] * k * bin_hz;
        log_sum += log(psd[k] + 1e-30); /* a bin of exact zero must not make it -inf */
    }
    rep->spectral_centroid_hz = 0.0;
    rep->spectral_bandwidth_hz = 0.0;
    rep->spectral_flatness = 0.0;
    if (!(total > 0.0))
        return;
    rep->spectral_centroid_hz = moment / total;
    double cumulative = 0.0;
    for (int k = 0; k < FFT_BINS; k++) {
        cumulative += psd[k];
        if (cumulative >= ROLLOFF_SHARE * total) {
            rep->spectral_bandwidth_hz = k * bin_hz;
            break;
        }
    }
    double flatness = exp(log_sum / FFT_BINS) / (total / FFT_BINS);
    rep->spectral_flatness = flatness > 1.0 ? 1.0 : flatness;
}

int vc_audio__features(const float *x, size_t n, uint32_t rate, vc_audio_report_t *rep, char *err,
                       size_t errlen)
{
    double psd[FFT_BINS];
    size_t used;

    rep->duration_s = (double)n / rate;
    measure_levels(x, n, rep);
    rep->silence_ratio = silence_share(x, n, rate);
    if (average_spectrum(x, n, psd, &used) != 0)
        return vc_err(err, errlen, VC_ENOMEM, "no memory for the FFT");
    spectral_shape(psd, rate, rep);
    return 0;
}
