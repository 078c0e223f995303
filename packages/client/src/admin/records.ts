/** Partition offsets and records: ListOffsets and DeleteRecords, at each partition's leader. */
import { DeleteRecordsApi, ListOffsetsApi } from '@samsa/protocol'
import type { Cluster } from '../cluster.ts'
import { KafkaInvalidArgumentError, KafkaResponseError } from '../errors.ts'
import { type TopicPartition, byTopic, failure, groupByLeader, requestBroker, resultOrPartial, requireItems } from './routing.ts'

/** ListOffsets' special timestamps (`ListOffsetsRequest.EARLIEST_TIMESTAMP`...). */
export const OffsetSpec = { LATEST: -1, EARLIEST: -2, MAX_TIMESTAMP: -3 } as const

export interface OffsetQuery extends TopicPartition {
  /** 'earliest', 'latest', 'max-timestamp' (ListOffsets v7+) or a timestamp in ms. */
  timestamp: 'earliest' | 'latest' | 'max-timestamp' | number
}

export interface ListedOffset extends TopicPartition {
  /** -1n when no record has a timestamp at or after the one asked for. */
  offset: bigint
  /** The found record's timestamp, -1 for earliest/latest. */
  timestamp: number
  leaderEpoch: number
}

export interface ListOffsetsOptions {
  /** 'read_committed' (the default, like Kafka's consumers) stops 'latest' at the last stable offset. */
  isolationLevel?: 'read_uncommitted' | 'read_committed'
}

function specOf (query: OffsetQuery): number {
  switch (query.timestamp) {
    case 'earliest': return OffsetSpec.EARLIEST
    case 'latest': return OffsetSpec.LATEST
    case 'max-timestamp': return OffsetSpec.MAX_TIMESTAMP
    default:
      if (!Number.isSafeInteger(query.timestamp) || query.timestamp < 0) throw new KafkaInvalidArgumentError(`Invalid offset timestamp '${String(query.timestamp)}'`)
      return query.timestamp
  }
}

export async function listOffsets (cluster: Cluster, queries: readonly OffsetQuery[], options: ListOffsetsOptions = {}): Promise<ListedOffset[]> {
  requireItems(queries, 'listOffsets() needs at least one partition')
  const isolationLevel = (options.isolationLevel ?? 'read_committed') === 'read_committed' ? 1 : 0
  const { byLeader, failures } = await groupByLeader(cluster, queries)
  const result: ListedOffset[] = []
  await Promise.all([...byLeader].map(async ([nodeId, list]) => {
    try {
      const needsMax = list.some((q) => q.timestamp === 'max-timestamp')
      const response = await requestBroker(cluster, nodeId, ListOffsetsApi, {
        replicaId: -1,
        isolationLevel,
        timeoutMs: cluster.requestTimeoutMs,
        topics: [...byTopic(list)].map(([name, qs]) => ({
          name,
          partitions: qs.map((q) => ({ partitionIndex: q.partition, currentLeaderEpoch: -1, timestamp: BigInt(specOf(q)), maxNumOffsets: 1 }))
        }))
      }, needsMax ? { minVersion: 7 } : {})
      for (const t of response.topics) {
        for (const p of t.partitions) {
          if (p.errorCode !== 0) {
            failures.push({ path: `topics/${t.name}/partitions/${p.partitionIndex}`, error: new KafkaResponseError(p.errorCode, null, { api: 'ListOffsets', topic: t.name, partition: p.partitionIndex }) })
            continue
          }
          result.push({ topic: t.name, partition: p.partitionIndex, offset: p.offset, timestamp: Number(p.timestamp), leaderEpoch: p.leaderEpoch })
        }
      }
    } catch (error) {
      for (const q of list) failures.push(failure(`topics/${q.topic}/partitions/${q.partition}`, error))
    }
  }))
  result.sort((a, b) => a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition)
  return resultOrPartial(`Listing offsets of ${failures.length} of ${queries.length} partitions failed`, result, failures)
}

export interface RecordsToDelete extends TopicPartition {
  /** Delete records before this offset; -1n for the high watermark (everything). */
  offset: bigint | number
}

export interface DeletedRecords extends TopicPartition {
  /** The partition's new log start offset. */
  lowWatermark: bigint
}

export interface DeleteRecordsOptions {
  timeoutMs?: number
}

export async function deleteRecords (cluster: Cluster, partitions: readonly RecordsToDelete[], options: DeleteRecordsOptions = {}): Promise<DeletedRecords[]> {
  requireItems(partitions, 'deleteRecords() needs at least one partition')
  const { byLeader, failures } = await groupByLeader(cluster, partitions)
  const result: DeletedRecords[] = []
  await Promise.all([...byLeader].map(async ([nodeId, list]) => {
    try {
      const response = await requestBroker(cluster, nodeId, DeleteRecordsApi, {
        timeoutMs: options.timeoutMs ?? cluster.requestTimeoutMs,
        topics: [...byTopic(list)].map(([name, ps]) => ({ name, partitions: ps.map((p) => ({ partitionIndex: p.partition, offset: BigInt(p.offset) })) }))
      })
      for (const t of response.topics) {
        for (const p of t.partitions) {
          if (p.errorCode !== 0) {
            failures.push({ path: `topics/${t.name}/partitions/${p.partitionIndex}`, error: new KafkaResponseError(p.errorCode, null, { api: 'DeleteRecords', topic: t.name, partition: p.partitionIndex }) })
            continue
          }
          result.push({ topic: t.name, partition: p.partitionIndex, lowWatermark: p.lowWatermark })
        }
      }
    } catch (error) {
      for (const p of list) failures.push(failure(`topics/${p.topic}/partitions/${p.partition}`, error))
    }
  }))
  return resultOrPartial(`Deleting records of ${failures.length} of ${partitions.length} partitions failed`, result, failures)
}
