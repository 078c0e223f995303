/**
 * ListOffsets (key 2), versions 1-10.
 *
 * Per partition, by `timestamp`: -2 the log start offset (earliest), -1 the high watermark or,
 * with read_committed (v2+), the last stable offset (latest), -3 the record with the largest
 * timestamp (v7+), -4 the earliest local offset (v8+, the log start here: no tiered storage),
 * -5 the latest tiered offset (v9+: none here, so -1), and otherwise the earliest offset whose
 * timestamp is >= the given one (offset -1 when there is none). v4+ returns the leader epoch
 * of the offset and checks `currentLeaderEpoch`. Version 0 (old-style offset lists) is not
 * served, as in Kafka 4.
 */
import { ErrorCode, ListOffsetsApi } from '@samsa/protocol'
import type { ListOffsetsPartitionResponse, ListOffsetsResponse } from '@samsa/protocol/messages/list-offsets'
import { StorageError } from '@samsa/storage'
import { defineHandler } from './handler.ts'
import { leaderPartition } from './leader-epoch.ts'

const LATEST = -1n
const EARLIEST = -2n
const MAX_TIMESTAMP = -3n
const EARLIEST_LOCAL = -4n
const LATEST_TIERED = -5n
const READ_COMMITTED = 1

export const listOffsetsHandler = defineHandler(ListOffsetsApi, [1, 10], (ctx, req) => {
  const broker = ctx.broker
  const response: ListOffsetsResponse = { ...ListOffsetsApi.response.create(), topics: [] }
  for (const t of req.topics) {
    const partitions: ListOffsetsPartitionResponse[] = []
    response.topics.push({ name: t.name, partitions })
    for (const p of t.partitions) {
      const result: ListOffsetsPartitionResponse = {
        partitionIndex: p.partitionIndex,
        errorCode: ErrorCode.NONE,
        oldStyleOffsets: [],
        timestamp: -1n,
        offset: -1n,
        leaderEpoch: -1
      }
      partitions.push(result)
      const partition = leaderPartition(broker, t.name, p.partitionIndex, p.currentLeaderEpoch)
      if (typeof partition === 'number') {
        result.errorCode = partition
        continue
      }
      const log = partition.log
      try {
        if (p.timestamp === LATEST) {
          const offset = req.isolationLevel === READ_COMMITTED && req.replicaId < 0 ? log.lastStableOffset : log.highWatermark
          result.offset = BigInt(offset)
          result.leaderEpoch = partition.leaderEpoch
        } else if (p.timestamp === EARLIEST || p.timestamp === EARLIEST_LOCAL) {
          result.offset = BigInt(log.logStartOffset)
          result.leaderEpoch = log.leaderEpochCache.epochForOffset(log.logStartOffset)
        } else if (p.timestamp === LATEST_TIERED) {
          // No tiered storage: there is no tiered offset (Kafka answers -1 then).
        } else if (p.timestamp === MAX_TIMESTAMP) {
          const found = log.maxTimestampAndOffset()
          if (found !== undefined && found.offset < log.highWatermark) {
            result.offset = BigInt(found.offset)
            result.timestamp = BigInt(found.timestamp)
            result.leaderEpoch = found.leaderEpoch
          }
        } else if (p.timestamp >= 0n) {
          const found = log.offsetForTimestamp(Number(p.timestamp))
          if (found !== undefined && found.offset < log.highWatermark) {
            result.offset = BigInt(found.offset)
            result.timestamp = BigInt(found.timestamp)
            result.leaderEpoch = found.leaderEpoch
          }
        } else {
          result.errorCode = ErrorCode.INVALID_REQUEST
        }
      } catch (error) {
        if (!(error instanceof StorageError)) throw error
        broker.logger.error('ListOffsets failed', { topic: t.name, partition: p.partitionIndex, error })
        result.errorCode = ErrorCode.KAFKA_STORAGE_ERROR
      }
    }
  }
  return response
})
