/* vc-admin topics ensure|check: provisions or checks the request, result and dead-letter
 * topics named by KAFKA_TOPIC_* on the cluster KAFKA_BROKERS names (libs/mq vc/topics.h). */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "vc/error.h"
#include "vc/mq.h"
#include "vc/topics.h"

static int exit_for(int rc)
{
    if (rc == 0)
        return ADMIN_EXIT_OK;
    if (rc == VC_EUNAVAIL)
        return ADMIN_EXIT_KAFKA;
    return ADMIN_EXIT_FAILED; /* a topic is missing or unusable */
}

int admin_topics(int argc, char **argv)
{
    if (argc != 1 || (strcmp(argv[0], "ensure") != 0 && strcmp(argv[0], "check") != 0)) {
        fprintf(stderr, "vc-admin: usage: vc-admin topics ensure|check\n");
        return ADMIN_EXIT_USAGE;
    }
    char err[512] = "";
    vc_kafka_config_t cfg;
    vc_topic_spec_t spec;
    if (vc_kafka_config_from_env(&cfg, err, sizeof(err)) != 0 ||
        vc_topic_spec_from_env(&cfg, &spec, err, sizeof(err)) != 0) {
        fprintf(stderr, "vc-admin: configuration error: %s\n", err);
        return ADMIN_EXIT_USAGE;
    }
    int create = strcmp(argv[0], "ensure") == 0;
    int rc = vc_topics_ensure(&cfg, &spec, create, stdout, err, sizeof(err));
    fflush(stdout);
    if (rc != 0)
        fprintf(stderr, "vc-admin: topics %s: %s\n", argv[0], err);
    return exit_for(rc);
}
