/* JSON form of an audio detection for vc-detect. */
#include "cli_audio.h"

static json_t *analyzer_json(const vc_audio_analyzer_result_t *res)
{
    json_t *ev = json_object();
    for (size_t e = 0; ev != NULL && e < res->n_evidence; e++)
        json_object_set_new(ev, res->evidence[e].key, json_real(res->evidence[e].value));
    return json_pack("{s:s, s:s, s:f, s:o*}", "name", res->name, "version", res->version, "score",
                     res->score, "evidence", ev);
}

int vc_cli_audio_fill(json_t *obj, const vc_audio_detection_t *det)
{
    json_t *an = json_array(), *seg = json_array(), *spl = json_array();
    if (an == NULL || seg == NULL || spl == NULL)
        goto fail;
    for (size_t i = 0; i < det->n_analyzers; i++)
        json_array_append_new(an, analyzer_json(&det->analyzers[i]));
    for (size_t i = 0; i < det->n_segments; i++)
        json_array_append_new(seg, json_pack("{s:f, s:f, s:f}", "start_s", det->segments[i].start_s,
                                             "end_s", det->segments[i].end_s, "score",
                                             det->segments[i].score));
    for (size_t i = 0; i < det->n_splices; i++)
        json_array_append_new(spl, json_real(det->splice_s[i]));
    json_t *timing = json_pack("{s:f, s:f, s:f}", "decode", det->decode_ms, "features",
                               det->features_ms, "scoring", det->scoring_ms);
    if (timing == NULL)
        goto fail;
    json_object_set_new(obj, "score", json_real(det->score));
    json_object_set_new(obj, "verdict", json_string(vc_audio_verdict_name(det->verdict)));
    json_object_set_new(obj, "model_version", json_string(det->model_version));
    json_object_set_new(obj, "analyzers", an);
    json_object_set_new(obj, "segments", seg);
    json_object_set_new(obj, "splices_s", spl);
    json_object_set_new(obj, "timing_ms", timing);
    return 0;

fail:
    json_decref(an);
    json_decref(seg);
    json_decref(spl);
    return -1;
}
