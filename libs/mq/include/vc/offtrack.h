#ifndef VC_OFFTRACK_H
#define VC_OFFTRACK_H
/* Per-partition tracking of in-flight offsets, so that a committed offset never passes an
 * unfinished message: the commit point advances only over a contiguous run of finished
 * messages (the "parallel consumer" rule). A slow message holds back only its partition.
 * Not thread-safe: owned by the polling thread. */
#include <stddef.h>
#include <stdint.h>

typedef struct vc_offtrack vc_offtrack_t;

int vc_offtrack_new(vc_offtrack_t **out);
void vc_offtrack_free(vc_offtrack_t *t);

/* Records that (partition, offset) started. Offsets of one partition must arrive in increasing
 * order (Kafka delivery order). Returns 0, VC_EINVAL (out of order or bad partition) or
 * VC_ENOMEM. */
int vc_offtrack_begin(vc_offtrack_t *t, int32_t partition, int64_t offset);

/* Marks (partition, offset) finished. Returns the next offset to commit (last contiguous
 * finished offset + 1) when the finished run at the head of the partition grew, -1 when it did
 * not, or VC_ENOTFOUND when the offset is not tracked (e.g. its partition was revoked). */
int64_t vc_offtrack_done(vc_offtrack_t *t, int32_t partition, int64_t offset);

/* Forgets everything tracked for the partition (on revocation). */
void vc_offtrack_forget(vc_offtrack_t *t, int32_t partition);

/* Messages of one partition begun and not yet retired. */
size_t vc_offtrack_partition_inflight(const vc_offtrack_t *t, int32_t partition);

/* Messages begun and not yet retired (finished ones behind an unfinished head count too). */
size_t vc_offtrack_inflight(const vc_offtrack_t *t);

#endif
