/**
 * A consumer's committed offsets at its group coordinator: OffsetCommit with the member's
 * generation (classic) or member epoch (KIP-848, OffsetCommit v9+), and OffsetFetch with
 * RequireStable (v7+), so that offsets a transaction has not decided yet are waited for
 * (UNSTABLE_OFFSET_COMMIT is retriable).
 */
import { ErrorCode, OffsetCommitApi, OffsetFetchApi } from '@samsa/protocol'
import type { OffsetCommitRequest } from '@samsa/protocol/messages/offset-commit'
import type { OffsetFetchRequest } from '@samsa/protocol/messages/offset-fetch'
import { type Cluster, CoordinatorType } from '../cluster.ts'
import { type ItemFailure, KafkaPartialFailureError, KafkaResponseError } from '../errors.ts'
import { partitionKey } from './partition-state.ts'
import type { CommittedOffset, TopicPartition } from './types.ts'

/** Who commits: the member's identity in its group. */
export interface CommitIdentity {
  /** Classic: the generation; KIP-848: the member epoch; -1 outside a group. */
  generationIdOrMemberEpoch: number
  /** '' outside a group. */
  memberId: string
  groupInstanceId: string | null
  /** KIP-848 members need OffsetCommit v9 and OffsetFetch v9. */
  consumerProtocol: boolean
}

export interface OffsetToStore extends TopicPartition {
  offset: number
  leaderEpoch: number
  metadata: string | null
}

/** Errors that mean the member's generation is over: the commit cannot succeed as this member. */
export const COMMIT_FENCED_ERRORS = new Set<number>([
  ErrorCode.ILLEGAL_GENERATION, ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.REBALANCE_IN_PROGRESS, ErrorCode.FENCED_INSTANCE_ID,
  ErrorCode.STALE_MEMBER_EPOCH, ErrorCode.FENCED_MEMBER_EPOCH
])

const RETRY_COORDINATOR = new Set<number>([ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE])

function byTopic<T extends TopicPartition> (items: readonly T[]): Map<string, T[]> {
  const map = new Map<string, T[]>()
  for (const item of items) {
    const list = map.get(item.topic)
    if (list === undefined) map.set(item.topic, [item])
    else list.push(item)
  }
  return map
}

/**
 * Commits offsets. A generation error (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
 * REBALANCE_IN_PROGRESS, STALE_MEMBER_EPOCH...) rejects with that KafkaResponseError; other
 * partition errors with KafkaPartialFailureError; coordinator moves and retriable errors are retried.
 */
export async function commitOffsets (cluster: Cluster, groupId: string, offsets: readonly OffsetToStore[], identity: CommitIdentity): Promise<void> {
  if (offsets.length === 0) return
  await cluster.withCoordinator({ type: CoordinatorType.GROUP, key: groupId }, async (connection) => {
    const body: OffsetCommitRequest = {
      groupId,
      generationIdOrMemberEpoch: identity.generationIdOrMemberEpoch,
      memberId: identity.memberId,
      groupInstanceId: identity.groupInstanceId,
      retentionTimeMs: -1n,
      topics: [...byTopic(offsets)].map(([name, list]) => ({
        name,
        partitions: list.map((o) => ({
          partitionIndex: o.partition,
          committedOffset: BigInt(o.offset),
          committedLeaderEpoch: o.leaderEpoch,
          commitTimestamp: -1n,
          committedMetadata: o.metadata ?? ''
        }))
      }))
    }
    // Static members need v7 for their instance id; KIP-848 members v9 for their epoch.
    const minVersion = identity.consumerProtocol ? 9 : identity.groupInstanceId !== null ? 7 : 0
    const response = await connection.request(OffsetCommitApi, body, { minVersion })
    const failures: ItemFailure[] = []
    for (const t of response.topics) {
      for (const p of t.partitions) {
        if (p.errorCode === 0) continue
        const error = new KafkaResponseError(p.errorCode, null, { api: 'OffsetCommit', topic: t.name, partition: p.partitionIndex })
        if (COMMIT_FENCED_ERRORS.has(p.errorCode)) throw error
        if (RETRY_COORDINATOR.has(p.errorCode) || error.retriable) throw error
        failures.push({ path: `topics/${t.name}/partitions/${p.partitionIndex}`, error })
      }
    }
    if (failures.length > 0) throw new KafkaPartialFailureError(`Committing offsets of group '${groupId}' failed for ${failures.length} partitions`, { failures, result: undefined })
  }, { channel: 'coordinator' })
}

/** Who reads: KIP-848 members name themselves (OffsetFetch v9) so that the broker checks their epoch. */
export interface FetchIdentity {
  memberId: string | null
  memberEpoch: number
  consumerProtocol: boolean
}

/**
 * The committed offsets of partitions, by partition key (offset -1 when none). Pending
 * transactional commits are waited for (UNSTABLE_OFFSET_COMMIT is retried).
 */
export async function fetchCommittedOffsets (cluster: Cluster, groupId: string, partitions: readonly TopicPartition[], identity: FetchIdentity): Promise<Map<string, CommittedOffset>> {
  const result = new Map<string, CommittedOffset>()
  if (partitions.length === 0) return result
  const topics = [...byTopic(partitions)].map(([name, ps]) => ({ name, partitionIndexes: ps.map((p) => p.partition) }))
  await cluster.withCoordinator({ type: CoordinatorType.GROUP, key: groupId }, async (connection) => {
    result.clear()
    let version = 0
    const response = await connection.request(OffsetFetchApi, (v): OffsetFetchRequest => {
      version = v
      return {
        groupId: v >= 8 ? '' : groupId,
        topics: v >= 8 ? [] : topics,
        groups: v >= 8 ? [{ groupId, memberId: identity.consumerProtocol ? identity.memberId : null, memberEpoch: identity.consumerProtocol ? identity.memberEpoch : -1, topics }] : [],
        requireStable: true
      }
    }, identity.consumerProtocol ? { minVersion: 9 } : { minVersion: 1 })
    const group = version >= 8 ? response.groups[0] : { errorCode: response.errorCode, topics: response.topics }
    if (group === undefined) throw new KafkaResponseError(ErrorCode.UNKNOWN_SERVER_ERROR, 'No result for the group', { api: 'OffsetFetch', resource: groupId })
    if (group.errorCode !== 0) throw new KafkaResponseError(group.errorCode, null, { api: 'OffsetFetch', resource: groupId })
    for (const t of group.topics) {
      for (const p of t.partitions) {
        if (p.errorCode !== 0) throw new KafkaResponseError(p.errorCode, null, { api: 'OffsetFetch', topic: t.name, partition: p.partitionIndex })
        result.set(partitionKey(t.name, p.partitionIndex), {
          topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.metadata
        })
      }
    }
  }, { channel: 'coordinator' })
  return result
}
