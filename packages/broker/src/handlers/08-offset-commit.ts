/**
 * OffsetCommit (key 8), versions 0-9: stores a group's committed offsets, written to
 * `__consumer_offsets` before the response.
 *
 * Checks, as Kafka: an empty group id is INVALID_GROUP_ID; a classic group checks the member
 * and generation (UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID, ILLEGAL_GENERATION,
 * REBALANCE_IN_PROGRESS while the leader assigns), except that a commit with generation -1 and
 * no member id to an empty group is accepted (admin tools, manual assignment) and creates a
 * "simple" group if there is none; a KIP-848 group checks the member epoch (STALE_MEMBER_EPOCH);
 * unknown topics or partitions are UNKNOWN_TOPIC_OR_PARTITION; metadata longer than
 * `offset.metadata.max.bytes` is OFFSET_METADATA_TOO_LARGE.
 *
 * Version notes: v1 adds the generation and member id (and a per-partition commit timestamp,
 * ignored, as Kafka 4 ignores it); v2-4 carry a retention time (-1: the broker's
 * `offsets.retention.minutes`); v3 adds throttle time; v6 the committed leader epoch; v7
 * GroupInstanceId; v8 is flexible; v9 carries the member epoch of KIP-848 groups and answers
 * GROUP_ID_NOT_FOUND (instead of ILLEGAL_GENERATION) for an unknown group.
 */
import { OffsetCommitApi } from '@samsa/protocol'
import type { OffsetCommitResponse } from '@samsa/protocol/messages/offset-commit'
import { defineHandler } from './handler.ts'

export const offsetCommitHandler = defineHandler(OffsetCommitApi, [0, 9], async (ctx, req) => {
  const v = ctx.apiVersion
  const result = await ctx.broker.groupCoordinator.commitOffsets({
    groupId: req.groupId,
    generationIdOrMemberEpoch: v >= 1 ? req.generationIdOrMemberEpoch : -1,
    memberId: v >= 1 ? req.memberId : '',
    groupInstanceId: v >= 7 ? req.groupInstanceId : null,
    retentionTimeMs: v >= 2 && v <= 4 ? Number(req.retentionTimeMs) : -1,
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        committedOffset: Number(p.committedOffset),
        committedLeaderEpoch: v >= 6 ? p.committedLeaderEpoch : -1,
        committedMetadata: p.committedMetadata
      }))
    })),
    apiVersion: v
  })
  const response: OffsetCommitResponse = { ...OffsetCommitApi.response.create(), topics: result.topics }
  return response
})
