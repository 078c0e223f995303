/**
 * A group's committed offsets, at its coordinator: OffsetFetch to list, OffsetCommit with
 * generation -1 and an empty member id (an admin commit, accepted only while the group has no
 * active members) to alter or reset, OffsetDelete to delete.
 */
import { ErrorCode, OffsetCommitApi, OffsetDeleteApi, OffsetFetchApi } from '@samsa/protocol'
import type { OffsetCommitRequest } from '@samsa/protocol/messages/offset-commit'
import type { OffsetFetchRequest } from '@samsa/protocol/messages/offset-fetch'
import { type Cluster, CoordinatorType } from '../cluster.ts'
import { type ItemFailure, KafkaInvalidArgumentError, KafkaResponseError } from '../errors.ts'
import { type OffsetQuery, listOffsets } from './records.ts'
import { type TopicPartition, byTopic, resultOrPartial, requireItems } from './routing.ts'

export interface GroupOffset extends TopicPartition {
  /** The next offset the group will consume, -1n if none is committed. */
  offset: bigint
  leaderEpoch: number
  metadata: string | null
}

export interface ListGroupOffsetsOptions {
  /** Only these topics (all partitions) or partitions; default every committed offset. */
  partitions?: readonly TopicPartition[]
  /** Wait for pending transactional commits (OffsetFetch v7+ RequireStable). */
  requireStable?: boolean
}

const RETRY_GROUP_ERRORS = new Set<number>([ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE])

export async function listGroupOffsets (cluster: Cluster, groupId: string, options: ListGroupOffsetsOptions = {}): Promise<GroupOffset[]> {
  if (typeof groupId !== 'string' || groupId === '') throw new KafkaInvalidArgumentError('A group id must be a non-empty string')
  const wanted = options.partitions === undefined ? null : [...byTopic(options.partitions)].map(([name, ps]) => ({ name, partitionIndexes: ps.map((p) => p.partition) }))
  const result: GroupOffset[] = []
  const failures: ItemFailure[] = []
  await cluster.withCoordinator({ type: CoordinatorType.GROUP, key: groupId }, async (connection) => {
    result.length = 0
    failures.length = 0
    let version = 0
    const response = await connection.request(OffsetFetchApi, (v): OffsetFetchRequest => {
      version = v
      return {
        groupId: v >= 8 ? '' : groupId,
        topics: v >= 8 ? [] : wanted,
        groups: v >= 8 ? [{ groupId, memberId: null, memberEpoch: -1, topics: wanted }] : [],
        requireStable: options.requireStable ?? false
      }
    }, wanted === null ? { minVersion: 2 } : {})
    const group = version >= 8 ? response.groups[0] : { errorCode: response.errorCode, topics: response.topics }
    if (group === undefined) throw new KafkaResponseError(ErrorCode.UNKNOWN_SERVER_ERROR, 'No result for the group', { api: 'OffsetFetch', resource: groupId })
    if (group.errorCode !== 0) throw new KafkaResponseError(group.errorCode, null, { api: 'OffsetFetch', resource: groupId })
    for (const t of group.topics) {
      for (const p of t.partitions) {
        if (p.errorCode !== 0) {
          if (RETRY_GROUP_ERRORS.has(p.errorCode)) throw new KafkaResponseError(p.errorCode, null, { api: 'OffsetFetch', resource: groupId })
          failures.push({ path: `topics/${t.name}/partitions/${p.partitionIndex}`, error: new KafkaResponseError(p.errorCode, null, { api: 'OffsetFetch', topic: t.name, partition: p.partitionIndex }) })
          continue
        }
        result.push({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.metadata })
      }
    }
  })
  result.sort((a, b) => a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition)
  return resultOrPartial(`Listing offsets of group '${groupId}' failed for ${failures.length} partitions`, result, failures)
}

export interface OffsetToCommit extends TopicPartition {
  offset: bigint | number
  leaderEpoch?: number
  metadata?: string | null
}

/** Commits offsets for a group that has no active members (generation -1, no member id). */
export async function alterGroupOffsets (cluster: Cluster, groupId: string, offsets: readonly OffsetToCommit[]): Promise<void> {
  if (typeof groupId !== 'string' || groupId === '') throw new KafkaInvalidArgumentError('A group id must be a non-empty string')
  requireItems(offsets, 'alterGroupOffsets() needs at least one offset')
  const failures: ItemFailure[] = []
  await cluster.withCoordinator({ type: CoordinatorType.GROUP, key: groupId }, async (connection) => {
    failures.length = 0
    const body: OffsetCommitRequest = {
      groupId,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [...byTopic(offsets)].map(([name, list]) => ({
        name,
        partitions: list.map((o) => ({
          partitionIndex: o.partition,
          committedOffset: BigInt(o.offset),
          committedLeaderEpoch: o.leaderEpoch ?? -1,
          commitTimestamp: -1n,
          committedMetadata: o.metadata ?? ''
        }))
      }))
    }
    const response = await connection.request(OffsetCommitApi, body)
    for (const t of response.topics) {
      for (const p of t.partitions) {
        if (p.errorCode === 0) continue
        if (RETRY_GROUP_ERRORS.has(p.errorCode)) throw new KafkaResponseError(p.errorCode, null, { api: 'OffsetCommit', resource: groupId })
        failures.push({ path: `topics/${t.name}/partitions/${p.partitionIndex}`, error: new KafkaResponseError(p.errorCode, null, { api: 'OffsetCommit', topic: t.name, partition: p.partitionIndex }) })
      }
    }
  })
  resultOrPartial(`Committing offsets of group '${groupId}' failed for ${failures.length} partitions`, undefined, failures)
}

export interface ResetGroupOffsetsOptions {
  topic: string
  /** Default: every partition of the topic. */
  partitions?: readonly number[]
  /** Where to: the earliest or latest offset, the first offset at or after a timestamp, or an offset. */
  to: 'earliest' | 'latest' | { timestamp: number } | { offset: bigint | number }
}

/** Resets a group's offsets for a topic (the group must be empty); returns the offsets committed. */
export async function resetGroupOffsets (cluster: Cluster, groupId: string, options: ResetGroupOffsetsOptions): Promise<GroupOffset[]> {
  await cluster.refreshMetadata({ topics: [options.topic] })
  const info = cluster.topic(options.topic)
  if (info === undefined || info.errorCode !== 0) throw new KafkaResponseError(info?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null, { api: 'Metadata', topic: options.topic })
  const partitions = options.partitions ?? info.partitions.map((p) => p.partitionIndex)
  const to = options.to
  let offsets: OffsetToCommit[]
  if (typeof to === 'object' && 'offset' in to) {
    offsets = partitions.map((partition) => ({ topic: options.topic, partition, offset: to.offset }))
  } else {
    const timestamp: OffsetQuery['timestamp'] = typeof to === 'string' ? to : to.timestamp
    const listed = await listOffsets(cluster, partitions.map((partition) => ({ topic: options.topic, partition, timestamp })))
    // No record at or after the timestamp: start at the end, as kafka-consumer-groups does.
    const latest = listed.some((l) => l.offset < 0n)
      ? await listOffsets(cluster, partitions.map((partition) => ({ topic: options.topic, partition, timestamp: 'latest' as const })))
      : []
    offsets = listed.map((l) => ({
      topic: l.topic,
      partition: l.partition,
      offset: l.offset >= 0n ? l.offset : latest.find((x) => x.partition === l.partition)?.offset ?? 0n,
      leaderEpoch: l.leaderEpoch
    }))
  }
  await alterGroupOffsets(cluster, groupId, offsets)
  return offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: BigInt(o.offset), leaderEpoch: o.leaderEpoch ?? -1, metadata: '' }))
}

/** Deletes committed offsets of partitions the group no longer consumes (OffsetDelete). */
export async function deleteGroupOffsets (cluster: Cluster, groupId: string, partitions: readonly TopicPartition[]): Promise<void> {
  requireItems(partitions, 'deleteGroupOffsets() needs at least one partition')
  const failures: ItemFailure[] = []
  await cluster.withCoordinator({ type: CoordinatorType.GROUP, key: groupId }, async (connection) => {
    failures.length = 0
    const response = await connection.request(OffsetDeleteApi, {
      groupId,
      topics: [...byTopic(partitions)].map(([name, ps]) => ({ name, partitions: ps.map((p) => ({ partitionIndex: p.partition })) }))
    })
    if (response.errorCode !== 0) throw new KafkaResponseError(response.errorCode, null, { api: 'OffsetDelete', resource: groupId })
    for (const t of response.topics) {
      for (const p of t.partitions) {
        if (p.errorCode !== 0) failures.push({ path: `topics/${t.name}/partitions/${p.partitionIndex}`, error: new KafkaResponseError(p.errorCode, null, { api: 'OffsetDelete', topic: t.name, partition: p.partitionIndex }) })
      }
    }
  })
  resultOrPartial(`Deleting offsets of group '${groupId}' failed for ${failures.length} partitions`, undefined, failures)
}
