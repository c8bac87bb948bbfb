#ifndef VC_TEST_VIDEO_GEN_H
#define VC_TEST_VIDEO_GEN_H
/* Constructed frame sequences for the video analyzer tests: a deterministic textured "scene"
 * with sensor noise, independently moving blobs, rigid shifts, gratings and flicker. */
#include <math.h>
#include <stdint.h>

#include "test.h"
#include "vc/video.h"

typedef struct {
    uint64_t s;
} vgen_rng_t;

static inline double vgen_uniform(vgen_rng_t *r)
{
    r->s = r->s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(r->s >> 11) / 9007199254740992.0;
}

static inline uint8_t vgen_clip(double v)
{
    return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)lround(v);
}

/* Hash of a lattice point to 0..1. */
static inline double vgen_hash(int x, int y, int seed)
{
    uint32_t h = (uint32_t)x * 374761393u + (uint32_t)y * 668265263u + (uint32_t)seed * 2246822519u;
    h = (h ^ (h >> 13)) * 1274126177u;
    return (double)((h ^ (h >> 16)) & 0xffff) / 65535.0;
}

/* Bilinear value noise with cells of `cell` pixels. */
static inline double vgen_value(double x, double y, double cell, int seed)
{
    double fx = x / cell, fy = y / cell;
    int x0 = (int)floor(fx), y0 = (int)floor(fy);
    double ax = fx - x0, ay = fy - y0;
    double a = vgen_hash(x0, y0, seed), b = vgen_hash(x0 + 1, y0, seed);
    double c = vgen_hash(x0, y0 + 1, seed), d = vgen_hash(x0 + 1, y0 + 1, seed);
    return (1 - ay) * ((1 - ax) * a + ax * b) + ay * ((1 - ax) * c + ax * d);
}

/* A natural-looking texture value at (x, y) of scene `seed`: value noise at three scales. */
static inline double vgen_texture(double x, double y, int seed)
{
    return 40 + 110 * vgen_value(x, y, 23, seed) + 60 * vgen_value(x, y, 7, seed + 1) +
           30 * vgen_value(x, y, 2.5, seed + 2);
}

/* The texture sampled on an integer grid once per seed (tests render thousands of frames of
 * it), then read back bilinearly at shifted positions. Covers x, y in [-PAD, 320 + PAD). */
#define VGEN_PAD 16
#define VGEN_GW (320 + 2 * VGEN_PAD)
#define VGEN_GH (240 + 2 * VGEN_PAD)
#define VGEN_SEEDS 4

static inline double vgen_cached(double x, double y, int seed)
{
    static float grid[VGEN_SEEDS][VGEN_GH][VGEN_GW];
    static int ready[VGEN_SEEDS], seeds[VGEN_SEEDS];
    int k = 0;
    while (k < VGEN_SEEDS && ready[k] && seeds[k] != seed)
        k++;
    ASSERT(k < VGEN_SEEDS);
    if (!ready[k]) {
        for (int r = 0; r < VGEN_GH; r++)
            for (int c = 0; c < VGEN_GW; c++)
                grid[k][r][c] = (float)vgen_texture(c - VGEN_PAD, r - VGEN_PAD, seed);
        seeds[k] = seed;
        ready[k] = 1;
    }
    double gx = x + VGEN_PAD, gy = y + VGEN_PAD;
    gx = gx < 0 ? 0 : gx > VGEN_GW - 1.001 ? VGEN_GW - 1.001 : gx;
    gy = gy < 0 ? 0 : gy > VGEN_GH - 1.001 ? VGEN_GH - 1.001 : gy;
    int x0 = (int)gx, y0 = (int)gy;
    double fx = gx - x0, fy = gy - y0;
    return (1 - fy) * ((1 - fx) * grid[k][y0][x0] + fx * grid[k][y0][x0 + 1]) +
           fy * ((1 - fx) * grid[k][y0 + 1][x0] + fx * grid[k][y0 + 1][x0 + 1]);
}

typedef struct {
    int seed;          /* which texture */
    double dx, dy;     /* rigid shift of the whole scene */
    int blobs;         /* independently moving blobs (live, non-rigid motion) */
    double noise;      /* amplitude of uniform sensor noise */
    double gain;       /* multiplies the picture (flicker) */
    double grating;    /* amplitude of a grating of period 5.3 px at 30 degrees (moiré) */
} vgen_scene_t;

/* Renders frame t of scene sc into frames slot i (grey RGB too). */
static inline void vgen_render(vc_video_frames_t *fr, int i, int t, const vgen_scene_t *sc,
                               vgen_rng_t *rng)
{
    uint8_t *y = fr->luma + (size_t)i * fr->width * fr->height;
    for (int r = 0; r < fr->height; r++)
        for (int c = 0; c < fr->width; c++) {
            double v = vgen_cached(c + sc->dx, r + sc->dy, sc->seed);
            for (int b = 0; b < sc->blobs; b++) {
                double bx = fr->width * (0.3 + 0.2 * b) + 25 * sin(0.21 * t + b);
                double by = fr->height * 0.5 + 20 * cos(0.17 * t + 2 * b);
                if ((c - bx) * (c - bx) + (r - by) * (r - by) < 15 * 15)
                    v = 40 + 150 * ((((int)(c - bx) / 4 + (int)(r - by) / 4) & 1));
            }
            if (sc->grating > 0)
                v *= 1 + sc->grating * sin(6.2832 * (c * 0.866 + r * 0.5) / 5.3);
            v = v * sc->gain + sc->noise * (vgen_uniform(rng) - 0.5) * 2;
            y[(size_t)r * fr->width + c] = vgen_clip(v);
        }
    vc_video_frames_grey_rgb(fr, i);
}

/* Allocates n frames of w x h with pts at fps; count is n, pict types 'P'. */
static inline vc_video_frames_t *vgen_frames(int w, int h, int n, double fps)
{
    vc_video_frames_t *fr = vc_video_frames_new(w, h, n);
    ASSERT(fr != NULL);
    fr->count = n;
    for (int i = 0; i < n; i++) {
        fr->pts[i] = i / fps;
        fr->pict_type[i] = 'P';
    }
    fr->stats.frames = n;
    fr->stats.fps = fps;
    fr->stats.width = fr->stats.analysis_width = w;
    fr->stats.height = fr->stats.analysis_height = h;
    fr->stats.duration_s = n / fps;
    return fr;
}

/* A live-like default scene: texture, two blobs, noise 6. */
static inline vgen_scene_t vgen_live(int seed)
{
    vgen_scene_t sc = {.seed = seed, .blobs = 2, .noise = 6, .gain = 1};
    return sc;
}

#endif
