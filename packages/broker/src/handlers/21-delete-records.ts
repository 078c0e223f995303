/**
 * DeleteRecords (key 21), versions 0-2.
 *
 * Moves each partition's log start offset to `offset` (-1: the high watermark); whole
 * segments below it are deleted. Offsets above the high watermark are OFFSET_OUT_OF_RANGE.
 * Returns the new low watermark (log start offset).
 */
import { DeleteRecordsApi, ErrorCode } from '@samsa/protocol'
import type { DeleteRecordsPartitionResult, DeleteRecordsResponse } from '@samsa/protocol/messages/delete-records'
import { StorageError, StorageErrorCode } from '@samsa/storage'
import { defineHandler } from './handler.ts'
import { leaderPartition } from './leader-epoch.ts'

export const deleteRecordsHandler = defineHandler(DeleteRecordsApi, [0, 2], (ctx, req) => {
  const response: DeleteRecordsResponse = { ...DeleteRecordsApi.response.create(), topics: [] }
  for (const t of req.topics) {
    const partitions: DeleteRecordsPartitionResult[] = []
    response.topics.push({ name: t.name, partitions })
    for (const p of t.partitions) {
      const result: DeleteRecordsPartitionResult = { partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode: ErrorCode.NONE }
      partitions.push(result)
      // Only the leader moves the log start; followers follow it through their fetches.
      const partition = leaderPartition(ctx.broker, t.name, p.partitionIndex, -1)
      if (typeof partition === 'number') {
        result.errorCode = partition
        continue
      }
      const log = partition.log
      const offset = p.offset === -1n ? log.highWatermark : Number(p.offset)
      if (offset < 0 || offset > log.highWatermark) {
        result.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE
        continue
      }
      try {
        result.lowWatermark = BigInt(log.deleteRecordsBefore(offset))
        partition.changed()
      } catch (error) {
        if (!(error instanceof StorageError)) throw error
        result.errorCode = error.code === StorageErrorCode.OFFSET_OUT_OF_RANGE ? ErrorCode.OFFSET_OUT_OF_RANGE : ErrorCode.KAFKA_STORAGE_ERROR
      }
    }
  }
  return response
})
