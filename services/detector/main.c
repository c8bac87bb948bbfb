/* vc-detector entry point. Without arguments the process is the supervisor (supervisor.c);
 * the supervisor re-executes this same binary as
 *     vc-detector --worker N --instance ID --parent PID
 * for each worker process, with its status socket on fd DETECTOR_STATUS_FD. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detector.h"
#include "vc/error.h"

/* Parses a decimal in [min, max]; returns 0 or VC_EINVAL. */
static int parse_num(const char *s, long long min, long long max, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return VC_EINVAL;
    *out = v;
    return 0;
}

/* Reads the worker's command line into cfg. Returns 0 or VC_EINVAL. */
static int parse_worker_args(int argc, char **argv, detector_config_t *cfg, pid_t *parent)
{
    long long idx = 0, ppid = 0;
    const char *inst = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--worker") == 0 && parse_num(argv[i + 1], 1, 256, &idx) == 0)
            continue;
        if (strcmp(argv[i], "--parent") == 0 && parse_num(argv[i + 1], 1, 1LL << 30, &ppid) == 0)
            continue;
        if (strcmp(argv[i], "--instance") == 0) {
            inst = argv[i + 1];
            continue;
        }
        return VC_EINVAL;
    }
    if (idx == 0 || inst == NULL || strlen(inst) >= sizeof(cfg->instance_id))
        return VC_EINVAL;
    memcpy(cfg->instance_id, inst, strlen(inst) + 1);
    cfg->worker_index = (int)idx;
    cfg->status_fd = DETECTOR_STATUS_FD;
    *parent = (pid_t)ppid;
    return 0;
}

int main(int argc, char **argv)
{
    static detector_config_t cfg;
    char err[512] = "";
    if (detector_config_load(&cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "vc-detector: configuration error: %s\n", err);
        return 2;
    }
    if (argc > 1 && strcmp(argv[1], "--worker") == 0) {
        pid_t parent = 0;
        if (parse_worker_args(argc, argv, &cfg, &parent) != 0) {
            fprintf(stderr, "usage: vc-detector [--worker N --instance ID --parent PID]\n");
            return 2;
        }
        vc_video_quiet_logs(); /* hostile media must not flood the log through libav */
        return detector_worker_main(&cfg, parent);
    }
    if (argc > 1) {
        fprintf(stderr, "usage: vc-detector (configured by environment; see docs/operations.md)\n");
        return 2;
    }
    return detector_supervisor_main(&cfg);
}
