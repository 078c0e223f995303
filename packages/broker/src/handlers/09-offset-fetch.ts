/**
 * OffsetFetch (key 9), versions 0-9: a group's committed offsets (-1 and "" for partitions
 * without one), for the partitions asked or, with a null topic list, every one.
 *
 * A KIP-848 group checks the member id and epoch when they are given (v9: UNKNOWN_MEMBER_ID,
 * STALE_MEMBER_EPOCH). RequireStable (v7+) answers UNSTABLE_OFFSET_COMMIT for partitions with a
 * pending transactional commit (a hook the transaction coordinator fills in).
 *
 * Version notes: v0-1 report group errors on every partition; v2 adds the top-level error code
 * and null topics (all offsets); v3 throttle time; v5 the committed leader epoch; v6 is
 * flexible; v7 RequireStable; v8 batches groups (one result each); v9 adds MemberId/MemberEpoch.
 */
import { ErrorCode, OffsetFetchApi } from '@samsa/protocol'
import type { OffsetFetchResponse } from '@samsa/protocol/messages/offset-fetch'
import { defineHandler } from './handler.ts'

export const offsetFetchHandler = defineHandler(OffsetFetchApi, [0, 9], (ctx, req) => {
  const v = ctx.apiVersion
  const coordinator = ctx.broker.groupCoordinator
  const response: OffsetFetchResponse = OffsetFetchApi.response.create()
  if (v >= 8) {
    const results = coordinator.fetchOffsets(req.groups.map((g) => ({
      groupId: g.groupId,
      memberId: v >= 9 ? g.memberId : null,
      memberEpoch: v >= 9 ? g.memberEpoch : -1,
      topics: g.topics
    })), req.requireStable)
    response.groups = results.map((r) => ({
      groupId: r.groupId,
      errorCode: r.errorCode,
      topics: r.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ ...p, committedOffset: BigInt(p.committedOffset) })) }))
    }))
    return response
  }
  const topics = v >= 2 ? req.topics : req.topics ?? []
  const [result] = coordinator.fetchOffsets([{ groupId: req.groupId, memberId: null, memberEpoch: -1, topics }], v >= 7 && req.requireStable)
  const r = result!
  if (r.errorCode !== ErrorCode.NONE && v < 2) {
    // No top-level error before v2: every requested partition carries it.
    response.topics = (topics ?? []).map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: r.errorCode }))
    }))
    return response
  }
  response.errorCode = r.errorCode
  response.topics = r.topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => ({
      partitionIndex: p.partitionIndex,
      committedOffset: BigInt(p.committedOffset),
      committedLeaderEpoch: v >= 5 ? p.committedLeaderEpoch : -1,
      metadata: p.metadata,
      errorCode: p.errorCode
    }))
  }))
  return response
})
