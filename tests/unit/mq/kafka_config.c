/* Kafka settings from the environment: the optional KAFKA_DEBUG reaches librdkafka (a client
 * is created with it; an unknown debug context is refused), and required settings stay
 * required. No broker is needed: creating a producer does not connect. */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "vc/error.h"
#include "vc/mq.h"

static void test_debug_optional(void)
{
    char err[256];
    vc_kafka_config_t cfg;
    ASSERT_OK(setenv("KAFKA_BROKERS", "127.0.0.1:1", 1));
    ASSERT_OK(unsetenv("KAFKA_DEBUG"));
    ASSERT_OK(vc_kafka_config_from_env(&cfg, err, sizeof(err)));
    ASSERT_STREQ(cfg.debug, "");
    vc_producer_t *p = NULL;
    ASSERT_OK(vc_producer_new(&cfg, "unit", &p, err, sizeof(err)));
    vc_producer_free(p);

    ASSERT_OK(setenv("KAFKA_DEBUG", "cgrp,fetch", 1));
    ASSERT_OK(vc_kafka_config_from_env(&cfg, err, sizeof(err)));
    ASSERT_STREQ(cfg.debug, "cgrp,fetch");
    ASSERT_OK(vc_producer_new(&cfg, "unit", &p, err, sizeof(err)));
    vc_producer_free(p);

    ASSERT_OK(setenv("KAFKA_DEBUG", "no-such-context", 1));
    ASSERT_OK(vc_kafka_config_from_env(&cfg, err, sizeof(err)));
    ASSERT_EQ(vc_producer_new(&cfg, "unit", &p, err, sizeof(err)), VC_EINVAL);
    ASSERT(strstr(err, "debug") != NULL);
    ASSERT_OK(unsetenv("KAFKA_DEBUG"));

    ASSERT_OK(setenv("KAFKA_BROKERS", "", 1));
    ASSERT_EQ(vc_kafka_config_from_env(&cfg, err, sizeof(err)), VC_EINVAL);
    ASSERT(strstr(err, "KAFKA_BROKERS") != NULL);
}

int main(void)
{
    RUN(test_debug_optional);
    return 0;
}
