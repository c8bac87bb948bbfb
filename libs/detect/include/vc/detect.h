#ifndef VC_DETECT_H
#define VC_DETECT_H
/* Detection engine: media decoding and signal analysis. Pure computation: no I/O besides
 * its inputs, no global state; every function is safe to call from many threads at once. */
#include <stddef.h>
#include <stdint.h>

#define VC_DETECT_MAX_EVIDENCE 16

typedef struct {
    double max_duration_s;  /* refuse longer audio (checked from the header, before decoding) */
    int max_channels;       /* refuse more channels */
    uint32_t pcm_sample_rate; /* for raw "pcm16": the sample rate (required) */
} vc_audio_opts_t;

/* Default limits: 600 s, 8 channels. */
void vc_audio_opts_default(vc_audio_opts_t *opts);

/* What the first-generation audio analysis measured. Every figure is computed from the
 * decoded samples (mono downmix). */
typedef struct {
    double duration_s;
    uint32_t sample_rate;
    int channels;
    double rms_dbfs;              /* RMS level, dB re full scale (-inf clamps to -120) */
    double peak_dbfs;
    double clipping_ratio;        /* share of samples at |x| >= 0.999 full scale */
    double silence_ratio;         /* share of 10 ms frames that are digital silence */
    double spectral_centroid_hz;  /* of the long-term average power spectrum */
    double spectral_bandwidth_hz; /* frequency below which 99% of the energy lies */
    double spectral_flatness;     /* geometric/arithmetic mean of the average spectrum */
} vc_audio_report_t;

/* Decodes audio (WAV/FLAC/OGG via libsndfile from memory, or raw little-endian PCM16 when
 * format is "pcm16") and analyses it. Returns 0; VC_EFORMAT (undecodable, unsupported format,
 * zero samples), VC_ETOOBIG (over a limit), VC_EINVAL (bad arguments, pcm16 without rate) or
 * VC_ENOMEM. err explains.
 *
 * format: NULL, "" or "auto" sniff the container; "wav", "flac", "ogg" also require it;
 * "pcm16" is raw mono int16 at opts->pcm_sample_rate (8000..192000, even length). Containers
 * must carry their magic (RIFF/WAVE, fLaC, OggS): other formats libsndfile would guess at are
 * VC_EFORMAT. Sample rates outside 8000..192000 and non-finite float samples are VC_EFORMAT;
 * more channels than opts->max_channels is VC_ETOOBIG. The duration limit is checked from the
 * header before any sample buffer is allocated and again while decoding (a FLAC/Ogg header
 * may understate or omit the length); memory grows with the samples actually decoded. A WAV
 * whose data chunk claims more bytes than the input holds is analysed for what it holds.
 * opts may be NULL (defaults); max_duration_s must be in (0, 86400], max_channels in
 * 1..1024, else VC_EINVAL. On failure *out is zeroed. Any thread: FFTW's planner is
 * serialised inside; libsndfile writes its own global error slots when an open fails, which
 * this code never reads. */
int vc_audio_analyze(const uint8_t *data, size_t len, const char *format,
                     const vc_audio_opts_t *opts, vc_audio_report_t *out, char *err,
                     size_t errlen);

/* Version string of the analysis, recorded in results ("signal-0.1"). */
const char *vc_detect_version(void);

#endif
