/**
 * OffsetForLeaderEpoch (key 23), versions 0-4.
 *
 * For each partition, the largest leader epoch <= the requested one and the offset where it
 * ended (KIP-101/279): what a follower, or a consumer validating its position (KIP-320),
 * truncates to after a leader change. Unknown epochs answer epoch -1 and offset -1.
 */
import { ErrorCode, OffsetForLeaderEpochApi } from '@samsa/protocol'
import type { EpochEndOffset, OffsetForLeaderEpochResponse } from '@samsa/protocol/messages/offset-for-leader-epoch'
import { defineHandler } from './handler.ts'
import { leaderPartition } from './leader-epoch.ts'

export const offsetForLeaderEpochHandler = defineHandler(OffsetForLeaderEpochApi, [0, 4], (ctx, req) => {
  const response: OffsetForLeaderEpochResponse = { ...OffsetForLeaderEpochApi.response.create(), topics: [] }
  for (const t of req.topics) {
    const partitions: EpochEndOffset[] = []
    response.topics.push({ topic: t.topic, partitions })
    for (const p of t.partitions) {
      const out: EpochEndOffset = { errorCode: ErrorCode.NONE, partition: p.partition, leaderEpoch: -1, endOffset: -1n }
      partitions.push(out)
      const partition = leaderPartition(ctx.broker, t.topic, p.partition, p.currentLeaderEpoch)
      if (typeof partition === 'number') {
        out.errorCode = partition
        continue
      }
      const end = partition.log.endOffsetForEpoch(p.leaderEpoch)
      out.leaderEpoch = end.leaderEpoch
      out.endOffset = BigInt(end.endOffset)
    }
  }
  return response
})
