/**
 * Transactional offset commits (TxnOffsetCommit, key 28; Kafka's pendingTransactionalOffsetCommits).
 *
 * A consume-transform-produce application commits its input offsets inside its transaction: the
 * OffsetCommit records go to the group's `__consumer_offsets` partition as a transactional batch
 * of the producer (its id and epoch, origin coordinator, so the partition's producer state opens
 * the transaction there, which holds that partition's last stable offset). The offsets stay
 * pending, invisible to OffsetFetch, until the transaction's marker reaches that partition: a
 * COMMIT makes them the group's committed offsets (unless a regular commit of the same partition
 * came after them, as Kafka decides by log order), an ABORT drops them. While any is pending for a
 * partition, OffsetFetch with RequireStable (v7+) answers UNSTABLE_OFFSET_COMMIT.
 *
 * Loading `__consumer_offsets` replays the same thing: transactional batches add pending
 * offsets, markers complete them (replayBatch / replayMarker), and what is still pending at the
 * end belongs to transactions still open.
 *
 * The group coordinator owns one TransactionalOffsets and reaches it through a few hooks
 * (group-coordinator.ts: commitTransactionalOffsets, onTransactionCompleted, the load loop, the
 * regular commit path and the RequireStable check).
 */
import { ErrorCode, KafkaProtocolError } from '@samsa/protocol'
import { ProducerStateError } from '@samsa/storage'
import { ClassicGroup, ClassicGroupState } from './classic-group.ts'
import { ConsumerGroup } from './consumer-group.ts'
import type { OffsetAndMetadata } from './offsets.ts'
import type { CoordinatorRecord } from './records.ts'
import type { Group } from './runtime.ts'

export interface TxnOffsetCommitParams {
  transactionalId: string
  groupId: string
  producerId: bigint
  producerEpoch: number
  /** v3+ (KIP-447 fencing); -1, '' and null before. */
  generationId: number
  memberId: string
  groupInstanceId: string | null
  topics: Array<{
    name: string
    partitions: Array<{ partitionIndex: number, committedOffset: number, committedLeaderEpoch: number, committedMetadata: string | null }>
  }>
}

export interface TxnOffsetCommitResult {
  topics: Array<{ name: string, partitions: Array<{ partitionIndex: number, errorCode: number }> }>
}

/** What commitTransactionalOffsets needs from the group coordinator. */
export interface TxnOffsetsRuntime {
  now (): number
  offsetMetadataMaxBytes: number
  /** groupError after making sure `__consumer_offsets` exists. */
  readyToWrite (groupId: string): Promise<number>
  group (groupId: string): Group | undefined
  /** Partitions of a topic, or undefined for an unknown topic. */
  partitionCount (topic: string): number | undefined
  /**
   * Appends records to the group's partition as a transactional batch of the producer,
   * synchronously; the outcome is NONE or the error code once the batch is flushed (when due)
   * and the in-sync replicas have it (a promise when that must be awaited). Throws
   * KafkaProtocolError or ProducerStateError.
   */
  appendTransactional (groupId: string, records: CoordinatorRecord[], producerId: bigint, producerEpoch: number): Promise<number> | number | undefined
}

interface Pending {
  topic: string
  partition: number
  offset: OffsetAndMetadata
  /** A regular commit of the partition came after this one: the COMMIT must not override it. */
  superseded: boolean
}

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`

export class TransactionalOffsets {
  /** producer id -> group id -> partition key -> pending offset. */
  readonly #byProducer = new Map<bigint, Map<string, Map<string, Pending>>>()
  /** group id -> partition key -> producers with a pending offset for it. */
  readonly #byGroup = new Map<string, Map<string, Set<bigint>>>()

  /** Whether a transactional offset commit for the partition is pending (RequireStable). */
  hasPending (groupId: string, topic: string, partition: number): boolean {
    return (this.#byGroup.get(groupId)?.get(key(topic, partition))?.size ?? 0) > 0
  }

  /** Producers with pending offsets in a group (tools, tests). */
  pendingProducers (groupId: string): bigint[] {
    const out = new Set<bigint>()
    for (const ids of this.#byGroup.get(groupId)?.values() ?? []) for (const id of ids) out.add(id)
    return [...out]
  }

  add (producerId: bigint, groupId: string, topic: string, partition: number, offset: OffsetAndMetadata): void {
    let groups = this.#byProducer.get(producerId)
    if (groups === undefined) this.#byProducer.set(producerId, groups = new Map<string, Map<string, Pending>>())
    let partitions = groups.get(groupId)
    if (partitions === undefined) groups.set(groupId, partitions = new Map<string, Pending>())
    const k = key(topic, partition)
    partitions.set(k, { topic, partition, offset, superseded: false })
    let byPartition = this.#byGroup.get(groupId)
    if (byPartition === undefined) this.#byGroup.set(groupId, byPartition = new Map<string, Set<bigint>>())
    let producers = byPartition.get(k)
    if (producers === undefined) byPartition.set(k, producers = new Set())
    producers.add(producerId)
  }

  /** A regular (non-transactional) commit of the partition: pending transactional ones are older. */
  onRegularCommit (groupId: string, topic: string, partition: number): void {
    const k = key(topic, partition)
    for (const producerId of this.#byGroup.get(groupId)?.get(k) ?? []) {
      const pending = this.#byProducer.get(producerId)?.get(groupId)?.get(k)
      if (pending !== undefined) pending.superseded = true
    }
  }

  /**
   * The producer's transaction ended and its marker is in `__consumer_offsets` partition
   * `offsetsPartition`: for the groups on that partition, `apply` gets each committed offset
   * (commit) and the pending ones are forgotten.
   */
  complete (producerId: bigint, offsetsPartition: number, commit: boolean, partitionFor: (groupId: string) => number,
    apply: (groupId: string, topic: string, partition: number, offset: OffsetAndMetadata) => void): number {
    const groups = this.#byProducer.get(producerId)
    if (groups === undefined) return 0
    let n = 0
    for (const [groupId, partitions] of [...groups]) {
      if (partitionFor(groupId) !== offsetsPartition) continue
      for (const [k, p] of partitions) {
        if (commit && !p.superseded) {
          apply(groupId, p.topic, p.partition, p.offset)
          n++
        }
        const byPartition = this.#byGroup.get(groupId)
        const producers = byPartition?.get(k)
        producers?.delete(producerId)
        if (producers?.size === 0) byPartition!.delete(k)
        if (byPartition?.size === 0) this.#byGroup.delete(groupId)
      }
      groups.delete(groupId)
    }
    if (groups.size === 0) this.#byProducer.delete(producerId)
    return n
  }

  /** Forgets everything of a group (deleted). */
  removeGroup (groupId: string): void {
    this.#byGroup.delete(groupId)
    for (const [producerId, groups] of this.#byProducer) {
      groups.delete(groupId)
      if (groups.size === 0) this.#byProducer.delete(producerId)
    }
  }

  // ---- loading `__consumer_offsets`

  /** An OffsetCommit record of a transactional batch of `producerId`, read while loading. */
  replayPending (producerId: bigint, record: CoordinatorRecord): void {
    if (record.type !== 'OffsetCommit') return
    if (record.value === null) return
    const v = record.value
    this.add(producerId, record.groupId, record.topic, record.partition, {
      committedOffset: v.offset, leaderEpoch: v.leaderEpoch, metadata: v.metadata, commitTimestamp: v.commitTimestamp, expireTimestamp: v.expireTimestamp
    })
  }
}

/**
 * TxnOffsetCommit at the group coordinator (Kafka's GroupCoordinator.handleTxnCommitOffsets):
 * validates the member (v3+: generation, member id, static instance), writes the records as a
 * transactional batch and records them as pending. `verify` is called right before the append,
 * in the same turn of the event loop: the transaction coordinator's check that the group's
 * partition is in the producer's transaction (NONE or an error code for every partition).
 */
export async function commitTransactionalOffsets (
  rt: TxnOffsetsRuntime, pending: TransactionalOffsets, p: TxnOffsetCommitParams, verify: () => number
): Promise<TxnOffsetCommitResult> {
  const all = (errorCode: number): TxnOffsetCommitResult => ({
    topics: p.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((x) => ({ partitionIndex: x.partitionIndex, errorCode })) }))
  })
  if (p.groupId === '') return all(ErrorCode.INVALID_GROUP_ID)
  const ready = await rt.readyToWrite(p.groupId)
  if (ready !== ErrorCode.NONE) return all(ready)
  const error = validateMember(rt.group(p.groupId), p)
  if (error !== ErrorCode.NONE) return all(error)
  const now = rt.now()
  const result: TxnOffsetCommitResult = { topics: [] }
  const records: CoordinatorRecord[] = []
  const written: Array<{ errorCode: number }> = []
  for (const t of p.topics) {
    const count = rt.partitionCount(t.name)
    const out = { name: t.name, partitions: [] as Array<{ partitionIndex: number, errorCode: number }> }
    result.topics.push(out)
    for (const x of t.partitions) {
      const entry = { partitionIndex: x.partitionIndex, errorCode: ErrorCode.NONE as number }
      out.partitions.push(entry)
      if (count === undefined || x.partitionIndex < 0 || x.partitionIndex >= count) {
        entry.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
      } else if (x.committedMetadata !== null && x.committedMetadata.length > rt.offsetMetadataMaxBytes) {
        entry.errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE
      } else {
        records.push({
          type: 'OffsetCommit',
          groupId: p.groupId,
          topic: t.name,
          partition: x.partitionIndex,
          value: { offset: x.committedOffset, leaderEpoch: x.committedLeaderEpoch, metadata: x.committedMetadata ?? '', commitTimestamp: now, expireTimestamp: -1 }
        })
        written.push(entry)
      }
    }
  }
  if (records.length === 0) return result
  const fail = (code: number): TxnOffsetCommitResult => {
    for (const entry of written) entry.errorCode = code
    return result
  }
  // From the verification to the append nothing awaits: no marker can come in between.
  const verified = verify()
  if (verified !== ErrorCode.NONE) return fail(verified)
  let flushed: Promise<number> | number | undefined
  try {
    flushed = rt.appendTransactional(p.groupId, records, p.producerId, p.producerEpoch)
  } catch (e) {
    if (e instanceof ProducerStateError) return fail(e.errorCode)
    if (e instanceof KafkaProtocolError) return fail(e.code)
    throw e
  }
  for (const r of records) {
    if (r.type === 'OffsetCommit' && r.value !== null) {
      const v = r.value
      pending.add(p.producerId, p.groupId, r.topic, r.partition, {
        committedOffset: v.offset, leaderEpoch: v.leaderEpoch, metadata: v.metadata, commitTimestamp: v.commitTimestamp, expireTimestamp: v.expireTimestamp
      })
    }
  }
  // Answered once the ISR has the records (acks=all), with the error if it did not get them.
  const code = flushed === undefined ? ErrorCode.NONE : await flushed
  if (code !== ErrorCode.NONE) return fail(code)
  return result
}

/** Kafka's doTxnCommitOffsets checks (classic) and the KIP-848 member-epoch check (consumer groups). */
function validateMember (group: Group | undefined, p: TxnOffsetCommitParams): number {
  if (group === undefined) return ErrorCode.NONE
  if (group instanceof ClassicGroup) {
    if (group.is(ClassicGroupState.Dead)) return ErrorCode.COORDINATOR_NOT_AVAILABLE
    if (p.groupInstanceId !== null) {
      const existing = group.staticMemberId(p.groupInstanceId)
      if (existing !== undefined && existing !== p.memberId) return ErrorCode.FENCED_INSTANCE_ID
    }
    if (p.memberId !== '' && !group.members.has(p.memberId)) return ErrorCode.UNKNOWN_MEMBER_ID
    if (p.generationId >= 0 && p.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION
    return ErrorCode.NONE
  }
  if (group instanceof ConsumerGroup) {
    if (p.memberId === '' && p.generationId < 0) return ErrorCode.NONE
    const member = group.members.get(p.memberId)
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
    if (p.generationId >= 0 && p.generationId !== member.memberEpoch) return ErrorCode.ILLEGAL_GENERATION
  }
  return ErrorCode.NONE
}
