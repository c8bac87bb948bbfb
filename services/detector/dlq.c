/* The dead-letter topic: a message that cannot be processed (undecodable, media that fail to
 * decode, a row the database refuses for good, a result too large for the results topic, a
 * message that crashed workers) is published there unchanged, with its own headers and the
 * reason, so it never blocks its partition and can be inspected or replayed. */
#include <stdio.h>
#include <string.h>

#include "detector.h"
#include "vc/clock.h"
#include "vc/error.h"

#define DLQ_MAX_HEADERS 32 /* the original's (at most 20 kept) plus ours */
#define DLQ_ORIGINAL_HEADERS 20

/* Appends the original message's headers to hdrs (borrowing their bytes). */
static size_t original_headers(const rd_kafka_message_t *m, vc_mq_header_t *hdrs, size_t cap)
{
    rd_kafka_headers_t *h = NULL;
    if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR || h == NULL)
        return 0;
    size_t n = 0;
    const char *name;
    const void *value;
    size_t size;
    for (size_t i = 0; n < cap && rd_kafka_header_get_all(h, i, &name, &value, &size) ==
                                     RD_KAFKA_RESP_ERR_NO_ERROR;
         i++)
        hdrs[n++] = (vc_mq_header_t){name, value ? value : "", value ? size : 0};
    return n;
}

int detector_send_dlq(job_t *job, const char *stage, const char *reason, int attempts)
{
    detector_t *d = job->d;
    const rd_kafka_message_t *m = job->msg;
    char part[16], off[24], tries[16], delivery[16], now[24], src_ts[24], errbuf[256];
    snprintf(part, sizeof(part), "%d", (int)m->partition);
    snprintf(off, sizeof(off), "%lld", (long long)m->offset);
    snprintf(tries, sizeof(tries), "%d", attempts);
    snprintf(delivery, sizeof(delivery), "%d", job->delivery_attempt);
    snprintf(now, sizeof(now), "%lld", (long long)vc_clock_wall_ms());
    snprintf(src_ts, sizeof(src_ts), "%lld", (long long)rd_kafka_message_timestamp(m, NULL));
    const char *topic = rd_kafka_topic_name(m->rkt);
    vc_mq_header_t hdrs[DLQ_MAX_HEADERS];
    size_t n = original_headers(m, hdrs, DLQ_ORIGINAL_HEADERS);
    const vc_mq_header_t ours[] = {
        {"error.stage", stage, strlen(stage)},
        {"error.reason", reason, strlen(reason)},
        {"error.attempts", tries, strlen(tries)},
        {"error.timestamp", now, strlen(now)},
        {"source.topic", topic, strlen(topic)},
        {"source.partition", part, strlen(part)},
        {"source.offset", off, strlen(off)},
        {"source.timestamp", src_ts, strlen(src_ts)},
        {"delivery.attempt", delivery, strlen(delivery)},
        {"detector.instance", d->cfg.instance_id, strlen(d->cfg.instance_id)},
    };
    memcpy(hdrs + n, ours, sizeof(ours));
    n += sizeof(ours) / sizeof(ours[0]);
    for (int attempt = 0; !detector_stopping; attempt++) {
        int rc = vc_producer_send(d->producer, d->cfg.kafka.topic_dlq, m->key, m->key_len,
                                  m->payload, m->len, hdrs, n, errbuf, sizeof(errbuf));
        if (rc == 0) {
            vc_counter_add(d->m_dlq, 1);
            VC_WARN("job.dead_letter", "partition=%d offset=%lld stage=%s attempts=%d "
                    "reason=\"%s\"", (int)m->partition, (long long)m->offset, stage, attempts,
                    reason);
            return 0;
        }
        VC_ERROR("job.dlq_failed", "error=\"%s\" attempt=%d", errbuf, attempt);
        detector_backoff(attempt);
    }
    return VC_ECLOSED;
}
