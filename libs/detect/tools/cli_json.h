#ifndef VC_CLI_JSON_H
#define VC_CLI_JSON_H
/* JSON helpers shared by the vc-detect reports (audio and video). */
#include <jansson.h>

/* A JSON string for a file path; bytes that are not ASCII become '?' when the path is not
 * UTF-8. New reference, or NULL when out of memory. */
json_t *vc_cli_path_json(const char *path);

#endif
