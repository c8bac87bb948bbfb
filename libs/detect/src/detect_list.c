/* The labeled-list format shared by vc-train and vc-eval (a public interface, documented in
 * docs/detection.md), label names, and whole-file reading for the tools and model loading. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vc/detect_audio.h"
#include "vc/error.h"

#define FIRST_READ ((size_t)64 * 1024)

static const char *const label_names[VC_AUDIO_LABELS] = {"bonafide", "tts", "replay", "splice"};

int vc_audio_label_parse(const char *s, vc_audio_label_t *label)
{
    for (int i = 0; s != NULL && i < VC_AUDIO_LABELS; i++) {
        if (strcmp(s, label_names[i]) == 0) {
            *label = (vc_audio_label_t)i;
            return 0;
        }
    }
    return VC_EINVAL;
}

const char *vc_audio_label_name(vc_audio_label_t label)
{
    return (int)label >= 0 && (int)label < VC_AUDIO_LABELS ? label_names[label] : "?";
}

int vc_audio_list_parse_line(char *line, const char **path, vc_audio_label_t *label,
                             double *splice_s, char *err, size_t errlen)
{
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';
    if (len == 0 || line[0] == '#')
        return VC_ENOTFOUND;
    char *tab1 = strchr(line, '\t');
    if (tab1 == NULL || tab1 == line)
        return vc_err(err, errlen, VC_EINVAL, "expected path<TAB>label");
    *tab1 = '\0';
    char *lab = tab1 + 1;
    char *tab2 = strchr(lab, '\t');
    if (tab2 != NULL)
        *tab2 = '\0';
    if (vc_audio_label_parse(lab, label) != 0)
        return vc_err(err, errlen, VC_EINVAL, "unknown label \"%s\"", lab);
    *path = line;
    *splice_s = -1.0;
    if (*label != VC_AUDIO_LABEL_SPLICE)
        return 0;
    if (tab2 == NULL)
        return vc_err(err, errlen, VC_EINVAL, "label splice needs a splice time");
    char *end = NULL;
    errno = 0;
    double t = strtod(tab2 + 1, &end);
    if (errno != 0 || end == tab2 + 1 || *end != '\0' || !isfinite(t) || t < 0.0)
        return vc_err(err, errlen, VC_EINVAL, "bad splice time \"%s\"", tab2 + 1);
    *splice_s = t;
    return 0;
}

/* Grows *buf to at least want bytes. */
static int grow(uint8_t **buf, size_t *cap, size_t want)
{
    uint8_t *p = realloc(*buf, want);
    if (p == NULL)
        return VC_ENOMEM;
    *buf = p;
    *cap = want;
    return 0;
}

int vc_detect_read_file(const char *path, size_t max, uint8_t **data, size_t *len, char *err,
                        size_t errlen)
{
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    struct stat st;
    int rc;

    *data = NULL;
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return vc_err(err, errlen, errno == ENOENT ? VC_ENOTFOUND : VC_EIO, "%s: %s", path,
                      strerror(errno));
    if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) && (uintmax_t)st.st_size > max) {
        rc = vc_err(err, errlen, VC_ETOOBIG, "%s: over %zu bytes", path, max);
        goto fail;
    }
    for (;;) {
        if (n == cap) {
            size_t want = cap == 0 ? FIRST_READ : cap * 2;
            if (want > max + 1)
                want = max + 1; /* one byte more tells an overrun */
            if (grow(&buf, &cap, want) != 0) {
                rc = vc_err(err, errlen, VC_ENOMEM, "no memory for %zu bytes", want);
                goto fail;
            }
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (n > max) {
            rc = vc_err(err, errlen, VC_ETOOBIG, "%s: over %zu bytes", path, max);
            goto fail;
        }
        if (got == 0)
            break;
    }
    if (ferror(fp)) {
        rc = vc_err(err, errlen, VC_EIO, "%s: read error", path);
        goto fail;
    }
    fclose(fp);
    *data = buf;
    *len = n;
    return 0;

fail:
    free(buf);
    fclose(fp);
    return rc;
}
