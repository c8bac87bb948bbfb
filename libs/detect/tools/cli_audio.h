#ifndef VC_CLI_AUDIO_H
#define VC_CLI_AUDIO_H
/* Audio detection report for the vc-detect command line (tools/cli_audio.c). */
#include <jansson.h>

#include "vc/detect_audio.h"

/* Adds the detection to obj: "score", "verdict", "model_version", "analyzers" [{name,
 * version, score, evidence{key: number}}], "segments" [{start_s, end_s, score}],
 * "splices_s" [seconds] and "timing_ms" {decode, features, scoring}. Returns 0, or -1 when
 * JSON could not be built. */
int vc_cli_audio_fill(json_t *obj, const vc_audio_detection_t *det);

#endif
