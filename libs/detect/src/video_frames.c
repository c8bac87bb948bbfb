/* Frame storage at analysis size: luma planes, a quarter-size RGB copy, timestamps and
 * picture types, grown by doubling up to the caller's cap. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "video_internal.h"
#include "vc/error.h"

#define MAX_CAP 100000

static int rgb_side(int side)
{
    int s = side / 4;
    return s < 4 ? 4 : s;
}

vc_video_frames_t *vc_video_frames_new(int width, int height, int cap)
{
    if (width < VC_VIDEO__MIN_SIDE || height < VC_VIDEO__MIN_SIDE || width > 4096 ||
        height > 4096 || cap < 1 || cap > MAX_CAP)
        return NULL;
    vc_video_frames_t *fr = calloc(1, sizeof(*fr));
    if (fr == NULL)
        return NULL;
    fr->width = width;
    fr->height = height;
    fr->rgb_width = rgb_side(width);
    fr->rgb_height = rgb_side(height);
    if (vc_video__frames_reserve(fr, cap) != 0)
        goto fail;
    return fr;

fail:
    vc_video_frames_free(fr);
    return NULL;
}

int vc_video__frames_reserve(vc_video_frames_t *fr, int want)
{
    if (want <= fr->cap)
        return 0;
    if (want > MAX_CAP)
        return VC_ENOMEM;
    int cap = fr->cap > 0 ? fr->cap : 1;
    while (cap < want)
        cap = cap > MAX_CAP / 2 ? MAX_CAP : cap * 2;
    size_t y = (size_t)fr->width * fr->height, c = (size_t)fr->rgb_width * fr->rgb_height * 3;
    if ((size_t)cap > SIZE_MAX / y || (size_t)cap > SIZE_MAX / c)
        return VC_ENOMEM;
    /* Each realloc keeps the old block valid on failure, so fr stays consistent. */
    uint8_t *luma = realloc(fr->luma, (size_t)cap * y);
    if (luma == NULL)
        return VC_ENOMEM;
    fr->luma = luma;
    uint8_t *rgb = realloc(fr->rgb, (size_t)cap * c);
    if (rgb == NULL)
        return VC_ENOMEM;
    fr->rgb = rgb;
    double *pts = realloc(fr->pts, (size_t)cap * sizeof(*pts));
    if (pts == NULL)
        return VC_ENOMEM;
    fr->pts = pts;
    char *pt = realloc(fr->pict_type, (size_t)cap);
    if (pt == NULL)
        return VC_ENOMEM;
    fr->pict_type = pt;
    fr->cap = cap;
    return 0;
}

void vc_video_frames_grey_rgb(vc_video_frames_t *fr, int i)
{
    const uint8_t *y = vc_video__luma(fr, i);
    uint8_t *rgb = fr->rgb + (size_t)i * fr->rgb_width * fr->rgb_height * 3;
    for (int r = 0; r < fr->rgb_height; r++) {
        int sy = r * fr->height / fr->rgb_height;
        for (int c = 0; c < fr->rgb_width; c++) {
            uint8_t v = y[(size_t)sy * fr->width + (size_t)c * fr->width / fr->rgb_width];
            uint8_t *px = rgb + ((size_t)r * fr->rgb_width + c) * 3;
            px[0] = px[1] = px[2] = v;
        }
    }
}

void vc_video_frames_free(vc_video_frames_t *fr)
{
    if (fr == NULL)
        return;
    free(fr->luma);
    free(fr->rgb);
    free(fr->pts);
    free(fr->pict_type);
    free(fr->audio_env);
    free(fr);
}

const uint8_t *vc_video__luma(const vc_video_frames_t *fr, int t)
{
    return fr->luma + (size_t)t * fr->width * fr->height;
}
