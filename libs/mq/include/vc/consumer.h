#ifndef VC_CONSUMER_H
#define VC_CONSUMER_H
/* A consumer-group member for one topic with manual offset storage: the application stores an
 * offset only when everything before it is durably processed (see vc/offtrack.h), and
 * librdkafka's auto-commit commits stored offsets periodically and on close. */
#include <librdkafka/rdkafka.h>

#include "vc/mq.h"

typedef struct vc_consumer vc_consumer_t;

/* What a rebalance did to this member's assignment. */
typedef enum {
    VC_REBALANCE_REVOKED = 0,  /* parts are about to be given up: offsets may still be committed */
    VC_REBALANCE_ASSIGNED = 1, /* parts were added (eager: the whole new assignment) */
    VC_REBALANCE_LOST = 2      /* parts were taken away already (session lost, fenced): another
                                * member may own them; committing their offsets is pointless */
} vc_rebalance_t;

/* Called on the polling thread for each change. With the cooperative protocol
 * (KAFKA_ASSIGNMENT_STRATEGY=cooperative-sticky, opt-in) `parts` lists only the
 * partitions that move, and the others keep being consumed meanwhile; with the eager one a
 * revocation lists the whole assignment. */
typedef void (*vc_consumer_rebalance_fn)(void *opaque, vc_rebalance_t event,
                                         const rd_kafka_topic_partition_list_t *parts);

/* Joins `group_id` and subscribes to `topic`. instance_id becomes client.id;
 * group_instance_id, when not NULL, makes this a static member (KIP-345): a member that
 * restarts with the same id within the session timeout gets its partitions back without a
 * rebalance (and one that leaves keeps them unassigned until that timeout). Returns 0,
 * VC_EINVAL (bad configuration, err says which) or VC_ENOMEM. */
int vc_consumer_new(const vc_kafka_config_t *cfg, const char *group_id, const char *instance_id,
                    const char *group_instance_id, const char *topic,
                    vc_consumer_rebalance_fn on_rebalance, void *opaque, vc_consumer_t **out,
                    char *err, size_t errlen);

/* Partitions currently assigned (main thread), or VC_EIO. */
int vc_consumer_assigned(vc_consumer_t *c);

/* Polls for one message (on the owning thread only). Returns a message the caller destroys
 * with rd_kafka_message_destroy (any thread), or NULL on timeout. Consumer errors are logged
 * and reported as NULL (the ones vc_consumer_health reports are recorded); partition EOF is
 * swallowed. */
rd_kafka_message_t *vc_consumer_poll(vc_consumer_t *c, int timeout_ms);

/* Whether this member can do its work, from what its polls have seen (no network call):
 * 0 when nothing is wrong; else, with a reason in `reason` (librdkafka's words, no
 * configuration values): VC_ECLOSED (fatal error), VC_EPERM (authentication failed, or not
 * authorised for the topic or group), VC_ENOTFOUND (the topic does not exist). Authentication
 * failures clear when the cluster next answers (an assignment, a message); authorisation and
 * unknown-topic errors when partitions of the topic are assigned or a message arrives.
 * Any thread. */
int vc_consumer_health(vc_consumer_t *c, char *reason, size_t len);

/* Stores `next_offset` (the offset of the next message to consume) for the partition, to be
 * committed by the next auto-commit. Returns 0 or VC_EINVAL (e.g. partition not assigned). */
int vc_consumer_store(vc_consumer_t *c, int32_t partition, int64_t next_offset);

/* Pauses (1) or resumes (0) fetching of every currently assigned partition. */
int vc_consumer_pause_all(vc_consumer_t *c, int pause);

/* Commits the stored offsets now, synchronously (main thread). Returns 0 or VC_EIO. */
int vc_consumer_commit(vc_consumer_t *c);

/* Consumer lag of each assigned partition: its high watermark as last reported to this
 * consumer's fetches (no network call) minus the consume position, i.e. messages not yet
 * handed to the application; -1 when either is not known yet. Fills up to cap entries of
 * parts and lags and returns how many partitions are assigned (possibly more than cap), or
 * VC_EIO. On the polling thread. */
int vc_consumer_lag(vc_consumer_t *c, int32_t *parts, int64_t *lags, int cap);

/* Commits stored offsets synchronously, leaves the group and frees. */
void vc_consumer_close(vc_consumer_t *c);

#endif
