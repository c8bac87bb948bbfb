#ifndef VC_CLI_VIDEO_H
#define VC_CLI_VIDEO_H
/* Video report helpers for the vc-detect command line (tools/cli_video.c). */
#include <stddef.h>

#include <jansson.h>

/* Returns 1 when the first bytes of path look like a video container (MP4/MOV, Matroska/WebM,
 * AVI, Y4M, MPEG-PS/TS, FLV, IVF, Ogg with Theora), else 0 (also when it cannot be read). */
int vc_cli_video_looks_like_video(const char *path);

/* Reads path (at most 512 MiB), runs vc_video_detect with default options and returns a new
 * JSON object (caller frees with json_decref):
 *   {"file", "ok": true, "kind": "video", "version", "score", "verdict", "top",
 *    "stats": {frames, fps, width, height, analysis_width, analysis_height, duration_s,
 *              codec, container, decode_ms, analyze_ms},
 *    "analyzers": [{"name", "version", "fused", "score", "evidence": {key: number}}]}
 * ("fused": false marks analyzers reported for information, left out of "score")
 * or, when the file cannot be read or analysed, an error object in vc-detect's shape
 *   {"file", "ok": false, "error": vc_strerror(code), "code", "detail"}
 * with detail also written to err. Returns NULL only when no JSON could be built. Any
 * thread. */
json_t *vc_cli_video_report(const char *path, char *err, size_t errlen);

#endif
