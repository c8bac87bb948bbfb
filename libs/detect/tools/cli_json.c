#include "cli_json.h"

#include <stdlib.h>
#include <string.h>

json_t *vc_cli_path_json(const char *path)
{
    json_t *s = json_string(path);
    if (s != NULL)
        return s;
    char *copy = strdup(path);
    if (copy == NULL)
        return NULL;
    for (char *c = copy; *c != '\0'; c++)
        if ((unsigned char)*c >= 0x80)
            *c = '?';
    s = json_string(copy);
    free(copy);
    return s;
}
