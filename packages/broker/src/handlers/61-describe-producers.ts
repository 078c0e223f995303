/**
 * DescribeProducers (key 61), version 0.
 *
 * The active producers of each partition, from its producer state (the partition leader
 * answers): producer id, epoch, last sequence, last timestamp, coordinator epoch and the first
 * offset of its open transaction (-1 when none). Unknown topics or partitions:
 * UNKNOWN_TOPIC_OR_PARTITION.
 */
import { ErrorCode, DescribeProducersApi } from '@samsa/protocol'
import type { DescribeProducersResponse } from '@samsa/protocol/messages/describe-producers'
import { defineHandler } from './handler.ts'
import { leaderPartition } from './leader-epoch.ts'

export const describeProducersHandler = defineHandler(DescribeProducersApi, [0, 0], (ctx, req) => {
  const response: DescribeProducersResponse = { ...DescribeProducersApi.response.create(), topics: [] }
  for (const t of req.topics) {
    response.topics.push({
      name: t.name,
      partitions: t.partitionIndexes.map((partitionIndex) => {
        // The leader's producer state, as Kafka answers (NOT_LEADER_OR_FOLLOWER elsewhere).
        const partition = leaderPartition(ctx.broker, t.name, partitionIndex, -1)
        if (typeof partition === 'number') {
          const message = partition === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ? 'This server does not host this topic-partition.' : null
          return { partitionIndex, errorCode: partition, errorMessage: message, activeProducers: [] }
        }
        const producers = [...partition.log.producerState.activeProducers.values()].sort((a, b) => a.producerId < b.producerId ? -1 : a.producerId > b.producerId ? 1 : 0)
        return {
          partitionIndex,
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          activeProducers: producers.map((p) => ({
            producerId: p.producerId,
            producerEpoch: p.producerEpoch,
            lastSequence: p.lastSeq,
            lastTimestamp: BigInt(p.lastTimestamp),
            coordinatorEpoch: p.coordinatorEpoch,
            currentTxnStartOffset: BigInt(p.currentTxnFirstOffset)
          }))
        }
      })
    })
  }
  return response
})
