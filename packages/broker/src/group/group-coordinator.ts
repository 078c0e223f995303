/**
 * The group coordinator: consumer groups (classic and KIP-848) and their committed offsets.
 *
 * State lives in memory and every change is first appended to the compacted internal topic
 * `__consumer_offsets`, in Kafka's record format (records.ts), on the partition Kafka's hashing
 * gives the group (group-hash.ts); the client is answered after the append (and after the
 * flush when `flush.messages` asks for one). On start the coordinator replays each partition from
 * its log start, tombstones deleting, in the background; requests for a group whose partition is
 * still loading get COORDINATOR_LOAD_IN_PROGRESS. A classic group comes back in its last
 * written (stable) generation with its members, whose sessions restart, so a rebalance that
 * was cut short by the restart simply runs again when the members rejoin.
 *
 * In a cluster the coordinator of a group is the leader of its `__consumer_offsets` partition
 * (Kafka's coordinator migration): when this broker becomes a partition's leader
 * (`onElection`, from the replica manager) it replays that partition; when it stops leading it
 * (`onResignation`) it drops the partition's groups, answering their waiting members
 * NOT_COORDINATOR, and requests for them get NOT_COORDINATOR so clients look the coordinator up
 * again. Writes are answered once the partition's in-sync replicas have them (acks=all, up to
 * `offsets.commit.timeout.ms`), so a commit acknowledged here survives the leader's failure. On a
 * single node this broker leads every partition and nothing waits.
 *
 * The topic is created on first use with `offsets.topic.num.partitions` partitions,
 * cleanup.policy=compact and a replication factor of min(`offsets.topic.replication.factor`,
 * brokers). Offsets of empty groups expire after `offsets.retention.minutes` (checked every
 * `offsets.retention.check.interval.ms`), as Kafka's OffsetExpirationCondition decides.
 */
import {
  ControlRecordType, ErrorCode, KafkaProtocolError, buildRecordBatch, decodeRecordBatch, iterateBatches, readBaseOffset, readControlRecordKey,
  readLastOffsetDelta
} from '@samsa/protocol'
import { StorageError } from '@samsa/storage'
import type { Logger } from '../logger.ts'
import type { Topic, TopicRegistry } from '../topics/topic-registry.ts'
import { ClassicGroup, ClassicGroupMember, ClassicGroupState, type JoinGroupResult, type SyncGroupResult, joinError, syncError } from './classic-group.ts'
import {
  ClassicProtocol, type HeartbeatParams, type JoinGroupParams, type LeaveGroupParams, type LeaveGroupResult, type SyncGroupParams
} from './classic-protocol.ts'
import { type Assignment, ConsumerGroup } from './consumer-group.ts'
import { type ConsumerGroupHeartbeatParams, type ConsumerGroupHeartbeatResult, ConsumerProtocol } from './consumer-protocol.ts'
import type { GroupCoordinatorConfig } from './group-config.ts'
import { partitionForGroup } from './group-hash.ts'
import { GroupOffsets, type OffsetAndMetadata } from './offsets.ts'
import { type CoordinatorRecord, type GroupMetadataValue, decodeRecord, encodeRecordKey, encodeRecordValue } from './records.ts'
import type { CoordinatorRuntime, Group } from './runtime.ts'
import { type TxnOffsetCommitParams, type TxnOffsetCommitResult, TransactionalOffsets, commitTransactionalOffsets } from './transactional-offsets.ts'
import { KeyedTimers, type Scheduler, type TimerHandle, timerScheduler } from './scheduler.ts'

export const OFFSETS_TOPIC = '__consumer_offsets'

/** FindCoordinator key types. */
export const CoordinatorType = { GROUP: 0, TRANSACTION: 1, SHARE: 2 } as const

export interface GroupCoordinatorOptions {
  topics: TopicRegistry
  config: GroupCoordinatorConfig
  logger: Logger
  clock?: () => number
  scheduler?: Scheduler
  /** Live brokers (the offsets topic's replication factor is capped by it). Default 1. */
  brokerCount?: () => number
}

export interface OffsetCommitParams {
  groupId: string
  /** The generation (classic) or member epoch (consumer groups, v9); -1 for simple commits. */
  generationIdOrMemberEpoch: number
  memberId: string
  groupInstanceId: string | null
  /** OffsetCommit v2-4; -1 for the broker's retention. */
  retentionTimeMs: number
  topics: Array<{
    name: string
    partitions: Array<{ partitionIndex: number, committedOffset: number, committedLeaderEpoch: number, committedMetadata: string | null }>
  }>
  apiVersion: number
}

export interface OffsetCommitResult {
  topics: Array<{ name: string, partitions: Array<{ partitionIndex: number, errorCode: number }> }>
}

export interface OffsetFetchGroupParams {
  groupId: string
  /** v9: the member asking (KIP-848 groups validate it), else null. */
  memberId: string | null
  memberEpoch: number
  /** null: every committed offset of the group. */
  topics: Array<{ name: string, partitionIndexes: number[] }> | null
}

export interface FetchedOffset {
  partitionIndex: number
  committedOffset: number
  committedLeaderEpoch: number
  metadata: string
  errorCode: number
}

export interface OffsetFetchGroupResult {
  groupId: string
  errorCode: number
  topics: Array<{ name: string, partitions: FetchedOffset[] }>
}

export interface OffsetDeleteResult {
  errorCode: number
  topics: Array<{ name: string, partitions: Array<{ partitionIndex: number, errorCode: number }> }>
}

export interface DescribedGroupInfo {
  errorCode: number
  groupId: string
  groupState: string
  protocolType: string
  protocolData: string
  members: Array<{ memberId: string, groupInstanceId: string | null, clientId: string, clientHost: string, memberMetadata: Buffer, memberAssignment: Buffer }>
}

export interface ListedGroupInfo {
  groupId: string
  protocolType: string
  groupState: string
  groupType: 'classic' | 'consumer'
}

export interface DescribedConsumerGroupInfo {
  errorCode: number
  errorMessage: string | null
  groupId: string
  groupState: string
  groupEpoch: number
  assignmentEpoch: number
  assignorName: string
  members: Array<{
    memberId: string
    instanceId: string | null
    rackId: string | null
    memberEpoch: number
    clientId: string
    clientHost: string
    subscribedTopicNames: string[]
    subscribedTopicRegex: string | null
    assignment: Array<{ topicId: string, topicName: string, partitions: number[] }>
    targetAssignment: Array<{ topicId: string, topicName: string, partitions: number[] }>
  }>
}

type CoordinatorState = 'created' | 'active' | 'stopped'

export class GroupCoordinator {
  readonly config: GroupCoordinatorConfig
  readonly classic: ClassicProtocol
  readonly consumer: ConsumerProtocol
  /**
   * Transaction hook (OffsetFetch RequireStable, v7+): whether a transactional offset commit for
   * this partition is pending. The transaction coordinator replaces it.
   */
  hasPendingTransactionalOffsets: (groupId: string, topic: string, partition: number) => boolean = (g, t, p) => this.transactionalOffsets.hasPending(g, t, p)
  /** Transactional offset commits waiting for their transaction's marker (transactional-offsets.ts, issue 6). */
  readonly transactionalOffsets = new TransactionalOffsets()
  readonly #topics: TopicRegistry
  readonly #logger: Logger
  readonly #clock: () => number
  readonly #scheduler: Scheduler
  readonly #brokerCount: () => number
  readonly #timers: KeyedTimers
  readonly #groups = new Map<string, Group>()
  readonly #offsets = new Map<string, GroupOffsets>()
  /** `__consumer_offsets` partitions not loaded yet. */
  readonly #loading = new Set<number>()
  /** `__consumer_offsets` partitions this broker leads (loaded or loading), with their leader epoch. */
  readonly #owned = new Map<number, number>()
  #state: CoordinatorState = 'created'
  #creatingTopic: Promise<Topic> | undefined
  #retention: TimerHandle | undefined
  #loaded: Promise<void> = Promise.resolve()

  constructor (options: GroupCoordinatorOptions) {
    this.config = options.config
    this.#topics = options.topics
    this.#logger = options.logger
    this.#clock = options.clock ?? Date.now
    this.#scheduler = options.scheduler ?? timerScheduler
    this.#brokerCount = options.brokerCount ?? (() => 1)
    this.#timers = new KeyedTimers(this.#scheduler)
    const runtime = this.#runtime()
    this.classic = new ClassicProtocol(runtime)
    this.consumer = new ConsumerProtocol(runtime)
  }

  // ---- lifecycle

  /** Starts serving; loads the `__consumer_offsets` partitions this broker leads in the background (see `loaded`). */
  start (): void {
    if (this.#state !== 'created') return
    this.#state = 'active'
    const topic = this.#topics.get(OFFSETS_TOPIC)
    if (topic !== undefined) {
      const led = topic.partitions.filter((p) => p.isLeader && p.hosted)
      for (const p of led) {
        this.#owned.set(p.index, p.leaderEpoch)
        this.#loading.add(p.index)
      }
      this.#loaded = this.#load(led)
    }
    this.#scheduleRetention()
  }

  /** This broker became the leader of `__consumer_offsets` partition `partition`: load its groups. */
  onElection (partition: number, leaderEpoch: number): void {
    if (this.#state !== 'active' || this.#owned.get(partition) === leaderEpoch) return
    const p = this.#topics.get(OFFSETS_TOPIC)?.partitions[partition]
    if (p === undefined || !p.hosted) return
    this.#dropPartition(partition)
    this.#owned.set(partition, leaderEpoch)
    // An empty partition (just created) has nothing to load: serve it at once.
    if (p.log.logEndOffset === p.log.logStartOffset) return
    this.#loading.add(partition)
    const loading = this.#load([p])
    this.#loaded = Promise.all([this.#loaded, loading]).then(() => undefined)
  }

  /** This broker stopped leading `partition`: its groups are another broker's now. */
  onResignation (partition: number): void {
    if (!this.#owned.has(partition) && !this.#loading.has(partition)) return
    this.#owned.delete(partition)
    this.#loading.delete(partition)
    this.#dropPartition(partition)
    this.#logger.info('Unloaded the groups of a __consumer_offsets partition this broker no longer leads', { partition })
  }

  /** Forgets the groups and offsets kept in `partition`; waiting members get NOT_COORDINATOR. */
  #dropPartition (partition: number): void {
    const count = this.offsetsTopicPartitions
    for (const [groupId, group] of this.#groups) {
      if (partitionForGroup(groupId, count) !== partition) continue
      if (group instanceof ClassicGroup) this.classic.abortWaiting(group, ErrorCode.NOT_COORDINATOR)
      else this.consumer.cancelGroupTimers(group)
      this.#groups.delete(groupId)
      this.transactionalOffsets.removeGroup(groupId)
    }
    for (const groupId of [...this.#offsets.keys()]) {
      if (partitionForGroup(groupId, count) !== partition) continue
      this.#offsets.delete(groupId)
      this.transactionalOffsets.removeGroup(groupId)
    }
  }

  /** Resolves once every partition of `__consumer_offsets` present at start is loaded. */
  get loaded (): Promise<void> {
    return this.#loaded
  }

  get isLoading (): boolean {
    return this.#loading.size > 0
  }

  /**
   * Stops serving: requests still waiting (JoinGroup, SyncGroup) are answered NOT_COORDINATOR
   * so their connections can close, timers stop, later requests get NOT_COORDINATOR.
   */
  stop (): void {
    if (this.#state === 'stopped') return
    this.#state = 'stopped'
    this.#retention?.cancel()
    for (const group of this.#groups.values()) {
      if (group instanceof ClassicGroup) this.classic.abortWaiting(group, ErrorCode.NOT_COORDINATOR)
    }
    this.#timers.cancelAll()
  }

  async #load (partitions: Array<Topic['partitions'][number]>): Promise<void> {
    const started = performance.now()
    let records = 0
    const loaded = new Set<number>()
    for (const partition of partitions) {
      const epoch = this.#owned.get(partition.index)
      try {
        records += await this.#loadPartition(partition.log, partition.index)
      } catch (error) {
        this.#logger.error('Failed to load a __consumer_offsets partition', { partition: partition.index, error })
      }
      if (this.#state !== 'active') return
      if (this.#owned.get(partition.index) !== epoch || epoch === undefined) {
        // Resigned (or re-elected) while loading: what was replayed belongs to the other load.
        if (!this.#owned.has(partition.index)) this.#dropPartition(partition.index)
        continue
      }
      this.#loading.delete(partition.index)
      loaded.add(partition.index)
    }
    const count = this.offsetsTopicPartitions
    for (const group of this.#groups.values()) {
      if (!loaded.has(partitionForGroup(group.groupId, count))) continue
      if (group instanceof ClassicGroup) this.classic.scheduleLoadedMembers(group)
      else this.consumer.scheduleLoadedMembers(group)
    }
    this.#logger.info('Loaded consumer groups and offsets', {
      groups: this.#groups.size,
      offsets: [...this.#offsets.values()].reduce((n, o) => n + o.size, 0),
      records,
      ms: Math.round(performance.now() - started)
    })
  }

  async #loadPartition (log: Topic['partitions'][number]['log'], index: number): Promise<number> {
    let offset = log.logStartOffset
    const end = log.logEndOffset
    let count = 0
    while (offset < end && this.#state === 'active') {
      const read = log.read(offset, { maxBytes: this.config.offsetsLoadBufferSize, maxOffset: end, minOneBatch: true })
      const buf = read.records
      if (buf.length === 0) break
      let next = offset
      for (const entry of iterateBatches(buf)) {
        next = readBaseOffset(buf, entry.position) + readLastOffsetDelta(buf, entry.position) + 1
        if (entry.magic !== 2) continue
        const batch = decodeRecordBatch(buf, entry.position)
        // -- transactional offset commits (transactional-offsets.ts): markers complete them, transactional batches add them
        if (batch.header.isControlBatch) {
          const marker = endTxnMarkerType(batch.records)
          if (marker !== undefined) this.#completeTransactionalOffsets(batch.header.producerId, index, marker === ControlRecordType.COMMIT)
          continue
        }
        const txnProducerId = batch.header.isTransactional ? batch.header.producerId : undefined
        // -- end transactional offset commits
        for (const r of batch.records) {
          if (r.key === null) continue
          let record: CoordinatorRecord
          try {
            record = decodeRecord(r.key, r.value)
          } catch (error) {
            this.#logger.warn('Skipping an unreadable __consumer_offsets record', { partition: index, offset: Number(batch.header.baseOffset) + r.offsetDelta, error })
            continue
          }
          if (txnProducerId !== undefined) {
            this.transactionalOffsets.replayPending(txnProducerId, record)
            count++
            continue
          }
          this.#replay(record)
          count++
        }
      }
      if (next <= offset) break
      offset = next
      await new Promise((resolve) => setImmediate(resolve))
    }
    return count
  }

  /** Applies a record read from the log. */
  #replay (record: CoordinatorRecord): void {
    const now = this.#clock()
    switch (record.type) {
      case 'OffsetCommit': {
        if (record.value === null) {
          const offsets = this.#offsets.get(record.groupId)
          offsets?.delete(record.topic, record.partition)
          if (offsets?.size === 0) {
            this.#offsets.delete(record.groupId)
            // A simple group (offsets only, never a GroupMetadata record) ends with its last offset.
            const g = this.#groups.get(record.groupId)
            if (g instanceof ClassicGroup && g.isEmpty && g.protocolType === null && g.generationId === 0) this.#groups.delete(record.groupId)
          }
          break
        }
        const v = record.value
        this.#offsetsOf(record.groupId).set(record.topic, record.partition, {
          committedOffset: v.offset, leaderEpoch: v.leaderEpoch, metadata: v.metadata, commitTimestamp: v.commitTimestamp, expireTimestamp: v.expireTimestamp
        })
        this.transactionalOffsets.onRegularCommit(record.groupId, record.topic, record.partition)
        if (!this.#groups.has(record.groupId)) this.#groups.set(record.groupId, new ClassicGroup(record.groupId, now))
        break
      }
      case 'GroupMetadata':
        if (record.value === null) {
          if (this.#groups.get(record.groupId) instanceof ClassicGroup) this.#groups.delete(record.groupId)
        } else {
          this.#groups.set(record.groupId, classicGroupFromRecord(record.groupId, record.value, now))
        }
        break
      case 'ConsumerGroupMetadata':
      case 'ConsumerGroupPartitionMetadata':
      case 'ConsumerGroupMemberMetadata':
      case 'ConsumerGroupTargetAssignmentMetadata':
      case 'ConsumerGroupTargetAssignmentMember':
      case 'ConsumerGroupCurrentMemberAssignment': {
        let group = this.#groups.get(record.groupId)
        if (!(group instanceof ConsumerGroup)) {
          if (record.value === null) break
          group = new ConsumerGroup(record.groupId, now)
          this.#groups.set(record.groupId, group)
        }
        if (record.type === 'ConsumerGroupMetadata' && record.value === null) {
          this.#groups.delete(record.groupId)
          break
        }
        group.replay(record)
        group.refreshStateTimestamp(now)
        break
      }
      default:
    }
  }

  // ---- the runtime the protocol drivers use

  #runtime (): CoordinatorRuntime {
    const self = this // eslint-disable-line @typescript-eslint/no-this-alias
    return {
      get config () { return self.config },
      get logger () { return self.#logger },
      get timers () { return self.#timers },
      get topics () { return self.#topics },
      now: () => this.#clock(),
      group: (groupId) => this.#groups.get(groupId),
      classicGroup: (groupId, create, conflictCode) => this.#classicGroup(groupId, create, conflictCode),
      consumerGroup: (groupId, create) => this.#consumerGroup(groupId, create),
      putGroup: (group) => { this.#groups.set(group.groupId, group) },
      append: (groupId, records) => this.#append(groupId, records)
    }
  }

  #classicGroup (groupId: string, create: boolean, conflictCode: number): ClassicGroup | undefined {
    const existing = this.#groups.get(groupId)
    if (existing instanceof ClassicGroup) return existing
    if (existing instanceof ConsumerGroup) {
      if (!create || !existing.isEmpty) throw new KafkaProtocolError(conflictCode, `Group ${groupId} is not a classic group.`)
      // An empty consumer group becomes a classic group (its offsets stay).
      void this.#append(groupId, consumerGroupTombstones(existing))
      this.#logger.info('Converted an empty consumer group to a classic group', { group: groupId })
    }
    if (!create) return undefined
    const group = new ClassicGroup(groupId, this.#clock())
    this.#groups.set(groupId, group)
    return group
  }

  #consumerGroup (groupId: string, create: boolean): { group: ConsumerGroup, created: boolean, records: CoordinatorRecord[] } | undefined {
    const existing = this.#groups.get(groupId)
    if (existing instanceof ConsumerGroup) return { group: existing, created: false, records: [] }
    if (existing instanceof ClassicGroup) {
      if (!create || !existing.isEmpty) throw new KafkaProtocolError(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} is not a consumer group.`)
      // An empty classic group (e.g. one that only holds offsets) becomes a consumer group.
      const records: CoordinatorRecord[] = existing.protocolType === null && existing.generationId === 0 ? [] : [{ type: 'GroupMetadata', groupId, value: null }]
      return { group: new ConsumerGroup(groupId, this.#clock()), created: true, records }
    }
    if (!create) return undefined
    return { group: new ConsumerGroup(groupId, this.#clock()), created: true, records: [] }
  }

  /**
   * Writes records to the group's `__consumer_offsets` partition; the promise resolves once they
   * are flushed (when `flush.messages` asks) and replicated. A write the in-sync replicas did not
   * confirm is logged: callers that answer with it (offset commits) use #write's code instead.
   * `producer`: a transactional offset commit (a transactional batch of that producer, origin coordinator).
   */
  #append (groupId: string, records: CoordinatorRecord[], producer?: { producerId: bigint, producerEpoch: number }): Promise<void> | undefined {
    const written = this.#write(groupId, records, producer)
    if (written === undefined || typeof written === 'number') return undefined
    return written.then(() => undefined)
  }

  /**
   * #append with the outcome: NONE once the records are flushed (when due) and the partition's
   * in-sync replicas have them (acks=all, Kafka's offsets.commit.required.acks), else the error
   * code Kafka's GroupMetadataManager answers for it (COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR,
   * REQUEST_TIMED_OUT). Synchronous on a single node, where nothing waits.
   */
  #write (groupId: string, records: CoordinatorRecord[], producer?: { producerId: bigint, producerEpoch: number }): Promise<number> | number | undefined {
    if (records.length === 0) return undefined
    if (this.#state !== 'active') throw new KafkaProtocolError(ErrorCode.NOT_COORDINATOR, 'The coordinator is shutting down.')
    const topic = this.#topics.get(OFFSETS_TOPIC)
    const partition = topic?.partitions[partitionForGroup(groupId, topic.partitions.length)]
    if (partition === undefined) throw new KafkaProtocolError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `The ${OFFSETS_TOPIC} topic is not available.`)
    const now = this.#clock()
    const batch = buildRecordBatch({
      records: records.map((r) => ({ key: encodeRecordKey(r), value: encodeRecordValue(r), timestamp: now })),
      timestamp: now,
      ...(producer === undefined ? {} : { producerId: producer.producerId, producerEpoch: producer.producerEpoch, baseSequence: 0, isTransactional: true })
    })
    try {
      const result = partition.appendAsLeader(batch, producer === undefined ? 'client' : 'coordinator')
      const flushed = result.flushed?.catch((error: unknown) => this.#logger.error('Flushing __consumer_offsets failed', { partition: partition.index, error }))
      const outcome = (code: number): number => {
        if (code === ErrorCode.NONE) return code
        this.#logger.warn('A __consumer_offsets write was not replicated', { partition: partition.index, group: groupId, errorCode: code })
        switch (code) {
          case ErrorCode.NOT_LEADER_OR_FOLLOWER: return ErrorCode.NOT_COORDINATOR
          case ErrorCode.NOT_ENOUGH_REPLICAS:
          case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND: return ErrorCode.COORDINATOR_NOT_AVAILABLE
          default: return code
        }
      }
      const replicated = partition.awaitReplication(result.lastOffset + 1, 1, this.config.offsetsCommitTimeoutMs)
      if (typeof replicated === 'number') return flushed === undefined ? outcome(replicated) : flushed.then(() => outcome(replicated))
      return flushed === undefined ? replicated.then(outcome) : Promise.all([flushed, replicated]).then(([, code]) => outcome(code))
    } catch (error) {
      if (error instanceof KafkaProtocolError) throw new KafkaProtocolError(ErrorCode.NOT_COORDINATOR, error.message)
      if (error instanceof StorageError) {
        this.#logger.error('Writing to __consumer_offsets failed', { partition: partition.index, group: groupId, error })
        throw new KafkaProtocolError(ErrorCode.NOT_COORDINATOR, error.message)
      }
      throw error
    }
  }

  #offsetsOf (groupId: string): GroupOffsets {
    let offsets = this.#offsets.get(groupId)
    if (offsets === undefined) this.#offsets.set(groupId, offsets = new GroupOffsets())
    return offsets
  }

  // ---- routing

  /** The `__consumer_offsets` partition count (the topic's, or the configured one before it exists). */
  get offsetsTopicPartitions (): number {
    return this.#topics.get(OFFSETS_TOPIC)?.partitions.length ?? this.config.offsetsTopicNumPartitions
  }

  partitionFor (groupId: string): number {
    return partitionForGroup(groupId, this.offsetsTopicPartitions)
  }

  /** NONE, or why requests for this group cannot be served now. */
  groupError (groupId: string): number {
    if (this.#state === 'created') return ErrorCode.COORDINATOR_NOT_AVAILABLE
    if (this.#state === 'stopped') return ErrorCode.NOT_COORDINATOR
    const partition = this.partitionFor(groupId)
    // Another broker leads the group's partition (a topic not created yet is created here).
    const p = this.#topics.get(OFFSETS_TOPIC)?.partitions[partition]
    if (p !== undefined && !p.isLeader) return ErrorCode.NOT_COORDINATOR
    if (this.#loading.size > 0 && this.#loading.has(partition)) return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
    return ErrorCode.NONE
  }

  /** Creates `__consumer_offsets` when it does not exist yet (once, however many callers wait). */
  async ensureOffsetsTopic (): Promise<void> {
    if (this.#topics.get(OFFSETS_TOPIC) !== undefined) return
    this.#creatingTopic ??= this.#topics.create({
      name: OFFSETS_TOPIC,
      numPartitions: this.config.offsetsTopicNumPartitions,
      replicationFactor: Math.max(1, Math.min(this.config.offsetsTopicReplicationFactor, this.#brokerCount())),
      configs: { 'cleanup.policy': 'compact', 'compression.type': 'producer', 'segment.bytes': String(this.config.offsetsTopicSegmentBytes) }
    }).catch((error: unknown) => {
      // Another path (CreateTopics, auto-creation) may have created it meanwhile.
      const topic = this.#topics.get(OFFSETS_TOPIC)
      if (topic !== undefined) return topic
      throw error
    }).finally(() => { this.#creatingTopic = undefined })
    await this.#creatingTopic
  }

  /** groupError, after making sure the topic exists (a write is coming). */
  async #readyToWrite (groupId: string): Promise<number> {
    const error = this.groupError(groupId)
    if (error !== ErrorCode.NONE) return error
    try {
      await this.ensureOffsetsTopic()
    } catch (e) {
      this.#logger.error(`Could not create ${OFFSETS_TOPIC}`, { error: e })
      return ErrorCode.COORDINATOR_NOT_AVAILABLE
    }
    return this.groupError(groupId)
  }

  // ---- classic protocol

  async joinGroup (p: JoinGroupParams): Promise<JoinGroupResult> {
    if (p.groupId === '') return joinError(ErrorCode.INVALID_GROUP_ID, p.memberId)
    const error = await this.#readyToWrite(p.groupId)
    if (error !== ErrorCode.NONE) return joinError(error, p.memberId)
    return await this.classic.joinGroup(p)
  }

  async syncGroup (p: SyncGroupParams): Promise<SyncGroupResult> {
    if (p.groupId === '') return syncError(ErrorCode.INVALID_GROUP_ID)
    const error = await this.#readyToWrite(p.groupId)
    if (error !== ErrorCode.NONE) return syncError(error)
    return await this.classic.syncGroup(p)
  }

  heartbeat (p: HeartbeatParams): number {
    if (p.groupId === '') return ErrorCode.INVALID_GROUP_ID
    const error = this.groupError(p.groupId)
    // Kafka answers heartbeats blindly while the group loads: members keep their sessions.
    if (error === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) return ErrorCode.NONE
    if (error !== ErrorCode.NONE) return error
    return this.classic.heartbeat(p)
  }

  leaveGroup (p: LeaveGroupParams): LeaveGroupResult {
    if (p.groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, members: [] }
    const error = this.groupError(p.groupId)
    if (error !== ErrorCode.NONE) return { errorCode: error, members: [] }
    return this.classic.leaveGroup(p)
  }

  // ---- consumer protocol (KIP-848)

  async consumerGroupHeartbeat (p: ConsumerGroupHeartbeatParams): Promise<ConsumerGroupHeartbeatResult> {
    const fail = (errorCode: number, errorMessage: string | null = null): ConsumerGroupHeartbeatResult =>
      ({ errorCode, errorMessage, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null })
    if (!this.config.rebalanceProtocols.includes('consumer')) return fail(ErrorCode.UNSUPPORTED_VERSION, 'The consumer group protocol is disabled (group.coordinator.rebalance.protocols).')
    if (p.groupId === '') return fail(ErrorCode.INVALID_REQUEST, 'GroupId can\'t be empty.')
    const error = await this.#readyToWrite(p.groupId)
    if (error !== ErrorCode.NONE) return fail(error)
    return await this.consumer.heartbeat(p)
  }

  consumerGroupDescribe (groupIds: readonly string[]): DescribedConsumerGroupInfo[] {
    return groupIds.map((groupId) => {
      const empty: DescribedConsumerGroupInfo = {
        errorCode: ErrorCode.NONE, errorMessage: null, groupId, groupState: '', groupEpoch: 0, assignmentEpoch: 0, assignorName: '', members: []
      }
      if (groupId === '') return { ...empty, errorCode: ErrorCode.INVALID_GROUP_ID }
      const error = this.groupError(groupId)
      if (error !== ErrorCode.NONE) return { ...empty, errorCode: error }
      const group = this.#groups.get(groupId)
      if (!(group instanceof ConsumerGroup)) {
        return { ...empty, errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: group === undefined ? `Group ${groupId} not found.` : `Group ${groupId} is not a consumer group.` }
      }
      const describe = (a: Assignment): Array<{ topicId: string, topicName: string, partitions: number[] }> =>
        [...a].filter(([, set]) => set.size > 0).map(([topicId, set]) => ({
          topicId, topicName: this.#topics.getById(topicId)?.name ?? '', partitions: [...set].sort((x, y) => x - y)
        }))
      return {
        ...empty,
        groupState: group.state,
        groupEpoch: group.groupEpoch,
        assignmentEpoch: group.assignmentEpoch,
        assignorName: group.preferredServerAssignor() ?? this.consumer.defaultAssignor,
        members: [...group.members.values()].map((m) => ({
          memberId: m.memberId,
          instanceId: m.instanceId,
          rackId: m.rackId,
          memberEpoch: m.memberEpoch,
          clientId: m.clientId,
          clientHost: m.clientHost,
          subscribedTopicNames: [...m.subscribedTopicNames],
          subscribedTopicRegex: m.subscribedTopicRegex,
          assignment: describe(m.assignedPartitions),
          targetAssignment: describe(group.targetOf(m.memberId))
        }))
      }
    })
  }

  // ---- offsets

  async commitOffsets (p: OffsetCommitParams): Promise<OffsetCommitResult> {
    const all = (errorCode: number): OffsetCommitResult => ({
      topics: p.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((x) => ({ partitionIndex: x.partitionIndex, errorCode })) }))
    })
    if (p.groupId === '') return all(ErrorCode.INVALID_GROUP_ID)
    const ready = await this.#readyToWrite(p.groupId)
    if (ready !== ErrorCode.NONE) return all(ready)
    const group = this.#groups.get(p.groupId)
    let createSimpleGroup = false
    let error: number = ErrorCode.NONE
    if (group === undefined) {
      if (p.generationIdOrMemberEpoch < 0) createSimpleGroup = true
      else error = p.apiVersion >= 9 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION
    } else if (group instanceof ClassicGroup) {
      error = validateClassicOffsetCommit(group, p.memberId, p.groupInstanceId, p.generationIdOrMemberEpoch)
    } else {
      error = validateConsumerOffsetCommit(group, p.memberId, p.generationIdOrMemberEpoch, p.apiVersion)
    }
    if (error !== ErrorCode.NONE) {
      this.#logger.debug('Offset commit refused', {
        group: p.groupId, memberId: p.memberId, generation: p.generationIdOrMemberEpoch, error, state: group?.state,
        groupGeneration: group instanceof ClassicGroup ? group.generationId : undefined
      })
      return all(error)
    }

    const now = this.#clock()
    const expireTimestamp = p.retentionTimeMs >= 0 ? now + p.retentionTimeMs : -1
    const result: OffsetCommitResult = { topics: [] }
    const records: CoordinatorRecord[] = []
    const written: Array<{ errorCode: number }> = []
    for (const t of p.topics) {
      const topic = this.#topics.get(t.name)
      const out = { name: t.name, partitions: [] as Array<{ partitionIndex: number, errorCode: number }> }
      result.topics.push(out)
      for (const x of t.partitions) {
        const entry = { partitionIndex: x.partitionIndex, errorCode: ErrorCode.NONE as number }
        out.partitions.push(entry)
        if (topic === undefined || x.partitionIndex < 0 || x.partitionIndex >= topic.partitions.length) {
          entry.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        } else if (x.committedMetadata !== null && x.committedMetadata.length > this.config.offsetMetadataMaxBytes) {
          entry.errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE
        } else {
          records.push({
            type: 'OffsetCommit',
            groupId: p.groupId,
            topic: t.name,
            partition: x.partitionIndex,
            value: { offset: x.committedOffset, leaderEpoch: x.committedLeaderEpoch, metadata: x.committedMetadata ?? '', commitTimestamp: now, expireTimestamp }
          })
          written.push(entry)
        }
      }
    }
    if (records.length === 0) return result
    let flushed: Promise<number> | number | undefined
    try {
      flushed = this.#write(p.groupId, records)
    } catch (e) {
      const code = e instanceof KafkaProtocolError ? e.code : ErrorCode.UNKNOWN_SERVER_ERROR
      for (const entry of written) entry.errorCode = code
      return result
    }
    if (createSimpleGroup && !this.#groups.has(p.groupId)) this.#groups.set(p.groupId, new ClassicGroup(p.groupId, now))
    const offsets = this.#offsetsOf(p.groupId)
    for (const r of records) {
      if (r.type !== 'OffsetCommit' || r.value === null) continue
      offsets.set(r.topic, r.partition, {
        committedOffset: r.value.offset, leaderEpoch: r.value.leaderEpoch, metadata: r.value.metadata, commitTimestamp: now, expireTimestamp
      })
      this.transactionalOffsets.onRegularCommit(p.groupId, r.topic, r.partition)
    }
    // Answered once the ISR has the commit: a commit acknowledged here survives a failover.
    const code = flushed === undefined ? ErrorCode.NONE : await flushed
    if (code !== ErrorCode.NONE) for (const entry of written) entry.errorCode = code
    return result
  }

  fetchOffsets (groups: readonly OffsetFetchGroupParams[], requireStable: boolean): OffsetFetchGroupResult[] {
    return groups.map((g) => this.#fetchGroupOffsets(g, requireStable))
  }

  #fetchGroupOffsets (g: OffsetFetchGroupParams, requireStable: boolean): OffsetFetchGroupResult {
    const failed = (errorCode: number): OffsetFetchGroupResult => ({ groupId: g.groupId, errorCode, topics: [] })
    if (g.groupId === '') return failed(ErrorCode.INVALID_GROUP_ID)
    const error = this.groupError(g.groupId)
    if (error !== ErrorCode.NONE) return failed(error)
    const group = this.#groups.get(g.groupId)
    if (group instanceof ConsumerGroup && !(g.memberEpoch < 0 && g.memberId === null)) {
      const member = group.members.get(g.memberId ?? '')
      if (member === undefined) return failed(ErrorCode.UNKNOWN_MEMBER_ID)
      if (member.memberEpoch !== g.memberEpoch) return failed(ErrorCode.STALE_MEMBER_EPOCH)
    }
    const offsets = this.#offsets.get(g.groupId)
    const fetched = (topic: string, partition: number): FetchedOffset => {
      if (requireStable && this.hasPendingTransactionalOffsets(g.groupId, topic, partition)) {
        return { partitionIndex: partition, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT }
      }
      const o = offsets?.get(topic, partition)
      return o === undefined
        ? { partitionIndex: partition, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE }
        : { partitionIndex: partition, committedOffset: o.committedOffset, committedLeaderEpoch: o.leaderEpoch, metadata: o.metadata, errorCode: ErrorCode.NONE }
    }
    if (g.topics === null) {
      const topics: OffsetFetchGroupResult['topics'] = []
      for (const topic of [...(offsets?.topics() ?? [])].sort()) {
        const partitions = [...offsets!.partitions(topic)!.keys()].sort((a, b) => a - b)
        topics.push({ name: topic, partitions: partitions.map((p) => fetched(topic, p)) })
      }
      return { groupId: g.groupId, errorCode: ErrorCode.NONE, topics }
    }
    return { groupId: g.groupId, errorCode: ErrorCode.NONE, topics: g.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((p) => fetched(t.name, p)) })) }
  }

  async deleteOffsets (groupId: string, topics: ReadonlyArray<{ name: string, partitions: number[] }>): Promise<OffsetDeleteResult> {
    const failed = (errorCode: number): OffsetDeleteResult => ({ errorCode, topics: [] })
    if (groupId === '') return failed(ErrorCode.INVALID_GROUP_ID)
    const ready = await this.#readyToWrite(groupId)
    if (ready !== ErrorCode.NONE) return failed(ready)
    const group = this.#groups.get(groupId)
    if (group === undefined) return failed(ErrorCode.GROUP_ID_NOT_FOUND)
    if (group instanceof ClassicGroup) {
      if (group.is(ClassicGroupState.Dead)) return failed(ErrorCode.GROUP_ID_NOT_FOUND)
      if (!group.is(ClassicGroupState.Empty) && !group.usesConsumerProtocol) return failed(ErrorCode.NON_EMPTY_GROUP)
    }
    const offsets = this.#offsets.get(groupId)
    const records: CoordinatorRecord[] = []
    const result: OffsetDeleteResult = { errorCode: ErrorCode.NONE, topics: [] }
    for (const t of topics) {
      const known = this.#topics.get(t.name) !== undefined
      const subscribed = group.isSubscribedToTopic(t.name)
      const errorCode = !known ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : subscribed ? ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC : ErrorCode.NONE
      result.topics.push({ name: t.name, partitions: t.partitions.map((partitionIndex) => ({ partitionIndex, errorCode })) })
      if (errorCode !== ErrorCode.NONE) continue
      for (const p of t.partitions) {
        if (offsets?.get(t.name, p) !== undefined) records.push({ type: 'OffsetCommit', groupId, topic: t.name, partition: p, value: null })
      }
    }
    if (records.length === 0) return result
    let flushed: Promise<void> | undefined
    try {
      flushed = this.#append(groupId, records)
    } catch (e) {
      return failed(e instanceof KafkaProtocolError ? e.code : ErrorCode.UNKNOWN_SERVER_ERROR)
    }
    for (const r of records) if (r.type === 'OffsetCommit') offsets?.delete(r.topic, r.partition)
    if (flushed !== undefined) await flushed
    return result
  }

  // ---- admin

  describeGroups (groupIds: readonly string[]): DescribedGroupInfo[] {
    return groupIds.map((groupId) => {
      const described: DescribedGroupInfo = { errorCode: ErrorCode.NONE, groupId, groupState: '', protocolType: '', protocolData: '', members: [] }
      if (groupId === '') return { ...described, errorCode: ErrorCode.INVALID_GROUP_ID }
      const error = this.groupError(groupId)
      if (error !== ErrorCode.NONE) return { ...described, errorCode: error }
      const group = this.#groups.get(groupId)
      // As in Kafka, only classic groups are described here (KIP-848 groups: ConsumerGroupDescribe).
      if (!(group instanceof ClassicGroup)) return { ...described, groupState: ClassicGroupState.Dead }
      const stable = group.is(ClassicGroupState.Stable)
      return {
        ...described,
        groupState: group.state,
        protocolType: group.protocolType ?? '',
        protocolData: stable ? group.protocolName ?? '' : '',
        members: [...group.members.values()].map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          memberMetadata: stable ? m.metadata(group.protocolName) : Buffer.alloc(0),
          memberAssignment: stable ? m.assignment : Buffer.alloc(0)
        }))
      }
    })
  }

  /** Every group, filtered by state and type (case-insensitive; empty filters match all). */
  listGroups (statesFilter: readonly string[], typesFilter: readonly string[]): { errorCode: number, groups: ListedGroupInfo[] } {
    if (this.#state !== 'active') return { errorCode: this.#state === 'stopped' ? ErrorCode.NOT_COORDINATOR : ErrorCode.COORDINATOR_NOT_AVAILABLE, groups: [] }
    const states = new Set(statesFilter.map((s) => s.toLowerCase()))
    const types = new Set(typesFilter.map((s) => s.toLowerCase()))
    const groups: ListedGroupInfo[] = []
    for (const group of this.#groups.values()) {
      const info: ListedGroupInfo = group instanceof ClassicGroup
        ? { groupId: group.groupId, protocolType: group.protocolType ?? '', groupState: group.state, groupType: 'classic' }
        : { groupId: group.groupId, protocolType: 'consumer', groupState: group.state, groupType: 'consumer' }
      if (info.groupState === ClassicGroupState.Dead) continue
      if (states.size > 0 && !states.has(info.groupState.toLowerCase())) continue
      if (types.size > 0 && !types.has(info.groupType)) continue
      groups.push(info)
    }
    return { errorCode: this.#loading.size > 0 ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE, groups }
  }

  async deleteGroups (groupIds: readonly string[]): Promise<Array<{ groupId: string, errorCode: number }>> {
    const results: Array<{ groupId: string, errorCode: number }> = []
    const waits: Array<Promise<void>> = []
    for (const groupId of groupIds) {
      const result = { groupId, errorCode: ErrorCode.NONE as number }
      results.push(result)
      if (groupId === '') {
        result.errorCode = ErrorCode.INVALID_GROUP_ID
        continue
      }
      const ready = await this.#readyToWrite(groupId)
      if (ready !== ErrorCode.NONE) {
        result.errorCode = ready
        continue
      }
      const group = this.#groups.get(groupId)
      const offsets = this.#offsets.get(groupId)
      if (group === undefined && (offsets === undefined || offsets.size === 0)) {
        result.errorCode = ErrorCode.GROUP_ID_NOT_FOUND
        continue
      }
      if (group instanceof ClassicGroup && group.is(ClassicGroupState.Dead)) {
        result.errorCode = ErrorCode.GROUP_ID_NOT_FOUND
        continue
      }
      if (group !== undefined && !group.isEmpty) {
        result.errorCode = ErrorCode.NON_EMPTY_GROUP
        continue
      }
      try {
        const flushed = this.#deleteGroup(groupId)
        if (flushed !== undefined) waits.push(flushed)
      } catch (e) {
        result.errorCode = e instanceof KafkaProtocolError ? e.code : ErrorCode.UNKNOWN_SERVER_ERROR
      }
    }
    await Promise.all(waits)
    return results
  }

  /** Writes the tombstones of a group and its offsets, then forgets them. */
  #deleteGroup (groupId: string): Promise<void> | undefined {
    const group = this.#groups.get(groupId)
    const offsets = this.#offsets.get(groupId)
    const records: CoordinatorRecord[] = []
    for (const { topic, partition } of offsets?.entries() ?? []) records.push({ type: 'OffsetCommit', groupId, topic, partition, value: null })
    if (group instanceof ClassicGroup) records.push({ type: 'GroupMetadata', groupId, value: null })
    else if (group instanceof ConsumerGroup) records.push(...consumerGroupTombstones(group))
    const flushed = this.#append(groupId, records)
    if (group instanceof ClassicGroup) {
      this.classic.abortWaiting(group, ErrorCode.COORDINATOR_NOT_AVAILABLE)
      group.transitionTo(ClassicGroupState.Dead, this.#clock())
    } else if (group instanceof ConsumerGroup) {
      this.consumer.cancelGroupTimers(group)
    }
    this.#groups.delete(groupId)
    this.#offsets.delete(groupId)
    this.#logger.info('Deleted group', { group: groupId, offsets: offsets?.size ?? 0 })
    return flushed
  }

  // ---- offsets retention

  #scheduleRetention (): void {
    this.#retention = this.#scheduler.schedule(this.config.offsetsRetentionCheckIntervalMs, () => {
      if (this.#state !== 'active') return
      try {
        this.cleanupExpiredOffsets()
      } catch (error) {
        this.#logger.error('Offset expiration failed', { error })
      }
      this.#scheduleRetention()
    })
  }

  /**
   * Expires committed offsets as Kafka does: offsets of an empty group once the group has been
   * empty for `offsets.retention.minutes`; offsets of topics a stable group no longer subscribes
   * to, and of simple (standalone) groups, once that long has passed since their commit; offsets
   * committed with an explicit retention time when it ends. An empty group left without offsets
   * is deleted. Returns how many offsets expired.
   */
  cleanupExpiredOffsets (): number {
    if (this.#state !== 'active') return 0
    const now = this.#clock()
    const retention = this.config.offsetsRetentionMs
    let expired = 0
    for (const groupId of new Set([...this.#offsets.keys(), ...this.#groups.keys()])) {
      if (this.groupError(groupId) !== ErrorCode.NONE) continue
      const group = this.#groups.get(groupId)
      const offsets = this.#offsets.get(groupId)
      const base = expirationBase(group)
      const records: CoordinatorRecord[] = []
      if (offsets !== undefined && base !== undefined) {
        for (const { topic, partition, offset } of offsets.entries()) {
          if (group?.isSubscribedToTopic(topic) === true) continue
          const isExpired = offset.expireTimestamp >= 0 ? now >= offset.expireTimestamp : now - base(offset) >= retention
          if (isExpired) records.push({ type: 'OffsetCommit', groupId, topic, partition, value: null })
        }
      }
      const offsetsLeft = (offsets?.size ?? 0) - records.length
      // An empty group left without offsets is deleted (Kafka's maybeDeleteGroup).
      const deleteGroup = group !== undefined && group.isEmpty && offsetsLeft === 0 && !(group instanceof ClassicGroup && group.pendingMembers.size > 0)
      if (deleteGroup) {
        if (group instanceof ClassicGroup) {
          if (group.protocolType !== null || group.generationId > 0) records.push({ type: 'GroupMetadata', groupId, value: null })
        } else {
          records.push(...consumerGroupTombstones(group))
        }
      }
      if (records.length === 0 && !deleteGroup) continue
      try {
        void this.#append(groupId, records)
      } catch (error) {
        this.#logger.warn('Could not expire offsets', { group: groupId, error })
        continue
      }
      for (const r of records) if (r.type === 'OffsetCommit') offsets?.delete(r.topic, r.partition)
      expired += records.filter((r) => r.type === 'OffsetCommit').length
      if (offsets !== undefined && offsets.size === 0) this.#offsets.delete(groupId)
      if (deleteGroup) {
        if (group instanceof ClassicGroup) {
          this.classic.cancelTimers(group)
          group.transitionTo(ClassicGroupState.Dead, now)
        }
        this.#groups.delete(groupId)
        this.#logger.info('Deleted an empty group without offsets', { group: groupId })
      }
    }
    if (expired > 0) this.#logger.info('Expired committed offsets', { offsets: expired })
    return expired
  }

  // ---- transactional offset commits (issue 6; the logic is in transactional-offsets.ts)

  /** TxnOffsetCommit; `verify` (the transaction coordinator's check) runs right before the append. */
  async commitTransactionalOffsets (p: TxnOffsetCommitParams, verify: () => number): Promise<TxnOffsetCommitResult> {
    return await commitTransactionalOffsets({
      now: () => this.#clock(),
      offsetMetadataMaxBytes: this.config.offsetMetadataMaxBytes,
      readyToWrite: async (groupId) => await this.#readyToWrite(groupId),
      group: (groupId) => this.#groups.get(groupId),
      partitionCount: (topic) => this.#topics.get(topic)?.partitions.length,
      appendTransactional: (groupId, records, producerId, producerEpoch) => this.#write(groupId, records, { producerId, producerEpoch })
    }, this.transactionalOffsets, p, verify)
  }

  /** A COMMIT/ABORT marker reached `__consumer_offsets` partition `partition` (txn/txn-markers.ts). */
  onTransactionCompleted (producerId: bigint, partition: number, commit: boolean): void {
    this.#completeTransactionalOffsets(producerId, partition, commit)
  }

  #completeTransactionalOffsets (producerId: bigint, partition: number, commit: boolean): void {
    const now = this.#clock()
    this.transactionalOffsets.complete(producerId, partition, commit, (groupId) => this.partitionFor(groupId), (groupId, topic, p, offset) => {
      this.#offsetsOf(groupId).set(topic, p, offset)
      if (!this.#groups.has(groupId)) this.#groups.set(groupId, new ClassicGroup(groupId, now))
    })
  }

  // ---- introspection (CLI, tests, benchmarks)

  get groupCount (): number {
    return this.#groups.size
  }

  groupType (groupId: string): 'classic' | 'consumer' | undefined {
    const g = this.#groups.get(groupId)
    return g === undefined ? undefined : g.type
  }

  /** Committed offsets of a group (a copy), for tools. */
  committedOffsets (groupId: string): Array<{ topic: string, partition: number, offset: OffsetAndMetadata }> {
    return [...(this.#offsets.get(groupId)?.entries() ?? [])].map((e) => ({ ...e, offset: { ...e.offset } }))
  }
}

/** What an offset's age is measured from, or undefined when the group's offsets do not expire now. */
function expirationBase (group: Group | undefined): ((o: OffsetAndMetadata) => number) | undefined {
  if (group === undefined || group instanceof ConsumerGroup) return (o) => o.commitTimestamp
  if (group.protocolType === null) return (o) => o.commitTimestamp
  if (group.is(ClassicGroupState.Empty)) return (o) => (group.currentStateTimestamp >= 0 ? group.currentStateTimestamp : o.commitTimestamp)
  if (group.usesConsumerProtocol && group.subscribedTopics !== null && group.is(ClassicGroupState.Stable)) return (o) => o.commitTimestamp
  return undefined
}

/** Kafka's ClassicGroup.validateOffsetCommit. */
function validateClassicOffsetCommit (group: ClassicGroup, memberId: string, groupInstanceId: string | null, generationId: number): number {
  if (group.is(ClassicGroupState.Dead)) return ErrorCode.COORDINATOR_NOT_AVAILABLE
  // Admin tools and consumers that assign partitions themselves commit with generation -1 to empty groups.
  if (generationId < 0 && group.is(ClassicGroupState.Empty)) return ErrorCode.NONE
  if (generationId >= 0 || memberId !== '' || groupInstanceId !== null) {
    if (groupInstanceId !== null) {
      const existing = group.staticMemberId(groupInstanceId)
      if (existing === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
      if (existing !== memberId) return ErrorCode.FENCED_INSTANCE_ID
    } else if (!group.members.has(memberId)) {
      return ErrorCode.UNKNOWN_MEMBER_ID
    }
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION
  } else if (!group.is(ClassicGroupState.Empty)) {
    return ErrorCode.UNKNOWN_MEMBER_ID
  }
  if (group.is(ClassicGroupState.CompletingRebalance)) return ErrorCode.REBALANCE_IN_PROGRESS
  return ErrorCode.NONE
}

/** Kafka's ConsumerGroup.validateOffsetCommit (the generation field carries the member epoch). */
function validateConsumerOffsetCommit (group: ConsumerGroup, memberId: string, memberEpoch: number, apiVersion: number): number {
  if (memberEpoch < 0 && group.isEmpty) return ErrorCode.NONE
  const member = group.members.get(memberId)
  if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
  if (apiVersion < 9) return ErrorCode.UNSUPPORTED_VERSION
  if (memberEpoch !== member.memberEpoch) return ErrorCode.STALE_MEMBER_EPOCH
  return ErrorCode.NONE
}

function consumerGroupTombstones (group: ConsumerGroup): CoordinatorRecord[] {
  const records: CoordinatorRecord[] = []
  for (const id of group.members.keys()) {
    records.push({ type: 'ConsumerGroupCurrentMemberAssignment', groupId: group.groupId, memberId: id, value: null })
    records.push({ type: 'ConsumerGroupTargetAssignmentMember', groupId: group.groupId, memberId: id, value: null })
    records.push({ type: 'ConsumerGroupMemberMetadata', groupId: group.groupId, memberId: id, value: null })
  }
  records.push({ type: 'ConsumerGroupTargetAssignmentMetadata', groupId: group.groupId, value: null })
  records.push({ type: 'ConsumerGroupPartitionMetadata', groupId: group.groupId, value: null })
  records.push({ type: 'ConsumerGroupMetadata', groupId: group.groupId, value: null })
  return records
}

/** A classic group as its GroupMetadata record describes it: Empty, or Stable with its members. */
function classicGroupFromRecord (groupId: string, v: GroupMetadataValue, now: number): ClassicGroup {
  const group = new ClassicGroup(groupId, v.currentStateTimestamp >= 0 ? v.currentStateTimestamp : now)
  group.generationId = v.generation
  group.protocolType = v.protocolType === '' ? null : v.protocolType
  group.protocolName = v.protocol
  for (const m of v.members) {
    const member = new ClassicGroupMember({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      rebalanceTimeoutMs: m.rebalanceTimeout,
      sessionTimeoutMs: m.sessionTimeout,
      protocolType: v.protocolType,
      protocols: [{ name: v.protocol ?? '', metadata: m.subscription }]
    })
    member.assignment = m.assignment
    group.add(member, undefined)
  }
  group.leaderId = v.members.length === 0 ? null : (v.leader ?? v.members[0]!.memberId)
  group.protocolType = v.protocolType === '' ? null : v.protocolType
  if (v.members.length > 0) {
    group.state = ClassicGroupState.Stable
    group.previousState = ClassicGroupState.CompletingRebalance
  }
  group.subscribedTopics = group.computeSubscribedTopics()
  return group
}

/** COMMIT or ABORT for a transaction marker batch's single record, else undefined. */
function endTxnMarkerType (records: ReadonlyArray<{ key: Buffer | null }>): number | undefined {
  if (records.length !== 1) return undefined
  try {
    const type = readControlRecordKey(records[0]!.key).type
    return type === ControlRecordType.COMMIT || type === ControlRecordType.ABORT ? type : undefined
  } catch {
    return undefined
  }
}
