/**
 * The transaction coordinator (Kafka's TransactionCoordinator + TransactionStateManager +
 * ProducerIdManager): producer ids, transactional ids and their transactions.
 *
 * State lives in memory (transaction-metadata.ts) and every change is first appended to the
 * compacted internal topic `__transaction_state` (transaction-log.ts, Kafka's record format), on
 * the partition `abs(hashCode(transactionalId)) % partitions` (the rule groups use); the client is
 * answered after the append (and its flush, when `flush.messages` asks for one). On start every
 * partition is replayed in the background; requests for an id whose partition is still loading
 * get COORDINATOR_LOAD_IN_PROGRESS. The topic is created on first use with
 * `transaction.state.log.num.partitions` partitions, cleanup.policy=compact and a replication
 * factor of min(`transaction.state.log.replication.factor`, brokers).
 *
 * Ending a transaction (EndTxn, a timeout, or fencing by InitProducerId): PrepareCommit or
 * PrepareAbort is written, the client is answered, then COMMIT/ABORT markers go to every
 * partition of the transaction (txn-markers.ts; retried until each partition has one or is
 * gone), then CompleteCommit/CompleteAbort is written. A Prepare* state found when loading (the
 * broker stopped in between) sends the markers again and completes. Meanwhile other requests for
 * the id get CONCURRENT_TRANSACTIONS.
 *
 * In a cluster the coordinator of a transactional id is the leader of its `__transaction_state`
 * partition: `onElection` (from the replica manager) replays a partition this broker now leads
 * and finishes the transactions it finds prepared, with the leader epoch as coordinator epoch
 * (so markers from an older coordinator are fenced); `onResignation` drops the partition's ids,
 * and their requests get NOT_COORDINATOR. State writes wait for the topic's in-sync replicas
 * (acks=all, `min.insync.replicas` of the topic).
 *
 * Timers: every `transaction.abort.timed.out.transaction.cleanup.interval.ms` transactions open
 * longer than their timeout are aborted with a bumped epoch (the producer is fenced); every
 * `transaction.remove.expired.transaction.cleanup.interval.ms` ids idle (no transaction) longer
 * than `transactional.id.expiration.ms` are removed (a tombstone is written).
 *
 * Error codes follow Kafka's TransactionCoordinator; handlers map PRODUCER_FENCED to
 * INVALID_PRODUCER_EPOCH for request versions that predate it.
 */
import { ErrorCode, KafkaProtocolError, buildRecordBatch, decodeRecordBatch, iterateBatches, readBaseOffset, readLastOffsetDelta } from '@samsa/protocol'
import { StorageError } from '@samsa/storage'
import { partitionForGroup } from '../group/group-hash.ts'
import { type Scheduler, type TimerHandle, timerScheduler } from '../group/scheduler.ts'
import type { Logger } from '../logger.ts'
import type { Partition } from '../topics/partition.ts'
import type { Topic, TopicRegistry } from '../topics/topic-registry.ts'
import type { ProducerIdManager } from './producer-id-manager.ts'
import {
  TransactionState, type TransactionLogValue, decodeTransactionLogKey, decodeTransactionLogValue, encodeTransactionLogKey,
  encodeTransactionLogValue, isTransactionState
} from './transaction-log.ts'
import {
  NO_PRODUCER_EPOCH, NO_PRODUCER_ID, TransactionMetadata, type TopicPartitions, type TxnTransit, isEpochExhausted, partitionCount
} from './transaction-metadata.ts'
import type { TransactionCoordinatorConfig } from './txn-config.ts'
import type { TopicPartition, TxnMarkerWriter } from './txn-markers.ts'

export const TRANSACTION_STATE_TOPIC = '__transaction_state'

export interface TransactionCoordinatorOptions {
  topics: TopicRegistry
  config: TransactionCoordinatorConfig
  producerIds: ProducerIdManager
  markerWriter: TxnMarkerWriter
  logger: Logger
  clock?: () => number
  scheduler?: Scheduler
  /** Live brokers (the topic's replication factor is capped by it). Default 1. */
  brokerCount?: () => number
}

export interface InitProducerIdResult {
  errorCode: number
  producerId: bigint
  producerEpoch: number
}

export interface DescribedTransaction {
  errorCode: number
  transactionalId: string
  transactionState: string
  transactionTimeoutMs: number
  transactionStartTimeMs: number
  producerId: bigint
  producerEpoch: number
  topics: Array<{ topic: string, partitions: number[] }>
}

export interface ListedTransaction {
  transactionalId: string
  producerId: bigint
  transactionState: string
}

type CoordinatorState = 'created' | 'active' | 'stopped'

const fail = (errorCode: number): InitProducerIdResult => ({ errorCode, producerId: NO_PRODUCER_ID, producerEpoch: NO_PRODUCER_EPOCH })

export class TransactionCoordinator {
  readonly config: TransactionCoordinatorConfig
  readonly #topics: TopicRegistry
  readonly #producerIds: ProducerIdManager
  readonly #markerWriter: TxnMarkerWriter
  readonly #logger: Logger
  readonly #clock: () => number
  readonly #scheduler: Scheduler
  readonly #brokerCount: () => number
  readonly #txns = new Map<string, TransactionMetadata>()
  /** `__transaction_state` partitions not loaded yet. */
  readonly #loading = new Set<number>()
  /** `__transaction_state` partitions this broker leads (loaded or loading), with their leader epoch. */
  readonly #owned = new Map<number, number>()
  /** Transactions whose markers are being written (so a reload or a timer does not start them twice). */
  readonly #completing = new Set<TransactionMetadata>()
  #state: CoordinatorState = 'created'
  #creatingTopic: Promise<Topic> | undefined
  #loaded: Promise<void> = Promise.resolve()
  #timers: TimerHandle[] = []
  /** Marker and completion work under way (awaited by tests and on stop). */
  readonly #inFlight = new Set<Promise<void>>()

  constructor (options: TransactionCoordinatorOptions) {
    this.config = options.config
    this.#topics = options.topics
    this.#producerIds = options.producerIds
    this.#markerWriter = options.markerWriter
    this.#logger = options.logger
    this.#clock = options.clock ?? Date.now
    this.#scheduler = options.scheduler ?? timerScheduler
    this.#brokerCount = options.brokerCount ?? (() => 1)
  }

  // ---- lifecycle

  /** Starts serving; loads `__transaction_state` in the background (see `loaded`). */
  start (): void {
    if (this.#state !== 'created') return
    this.#state = 'active'
    const topic = this.#topics.get(TRANSACTION_STATE_TOPIC)
    if (topic !== undefined) {
      const led = topic.partitions.filter((p) => p.isLeader && p.hosted)
      for (const p of led) {
        this.#owned.set(p.index, p.leaderEpoch)
        this.#loading.add(p.index)
      }
      this.#loaded = this.#load(led)
    }
    this.#every(this.config.abortTimedOutTransactionsIntervalMs, () => this.abortTimedOutTransactions())
    this.#every(this.config.removeExpiredTransactionalIdsIntervalMs, () => this.removeExpiredTransactionalIds())
  }

  /** This broker became the leader of `__transaction_state` partition `partition`: load its ids. */
  onElection (partition: number, leaderEpoch: number): void {
    if (this.#state !== 'active' || this.#owned.get(partition) === leaderEpoch) return
    const p = this.#topics.get(TRANSACTION_STATE_TOPIC)?.partitions[partition]
    if (p === undefined || !p.hosted) return
    this.#dropPartition(partition)
    this.#owned.set(partition, leaderEpoch)
    if (p.log.logEndOffset === p.log.logStartOffset) return
    this.#loading.add(partition)
    const loading = this.#load([p])
    this.#loaded = Promise.all([this.#loaded, loading]).then(() => undefined)
  }

  /** This broker stopped leading `partition`: its transactional ids are another broker's now. */
  onResignation (partition: number): void {
    if (!this.#owned.has(partition) && !this.#loading.has(partition)) return
    this.#owned.delete(partition)
    this.#loading.delete(partition)
    this.#dropPartition(partition)
    this.#logger.info('Unloaded the transactional ids of a __transaction_state partition this broker no longer leads', { partition })
  }

  #dropPartition (partition: number): void {
    for (const id of [...this.#txns.keys()]) if (this.#partitionOf(id) === partition) this.#txns.delete(id)
  }

  /** Resolves once every partition present at start is loaded. */
  get loaded (): Promise<void> {
    return this.#loaded
  }

  /** Stops serving: timers stop, marker retries end (a Prepare* state is finished by the next start). */
  stop (): void {
    if (this.#state === 'stopped') return
    this.#state = 'stopped'
    for (const t of this.#timers) t.cancel()
    this.#timers = []
  }

  /** Resolves when the marker and completion work started so far has finished (tests, shutdown). */
  async idle (): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight])
  }

  #every (ms: number, task: () => unknown): void {
    const run = (): void => {
      if (this.#state !== 'active') return
      try {
        const r = task()
        if (r instanceof Promise) r.catch((error: unknown) => this.#logger.error('Transaction coordinator task failed', { error }))
      } catch (error) {
        this.#logger.error('Transaction coordinator task failed', { error })
      }
      this.#timers.push(this.#scheduler.schedule(ms, run))
    }
    this.#timers.push(this.#scheduler.schedule(ms, run))
  }

  #track (work: Promise<void>): void {
    const tracked = work.catch((error: unknown) => this.#logger.error('Completing a transaction failed', { error })).finally(() => this.#inFlight.delete(tracked))
    this.#inFlight.add(tracked)
  }

  async #load (partitions: Partition[]): Promise<void> {
    const started = performance.now()
    let records = 0
    for (const partition of partitions) {
      const epoch = this.#owned.get(partition.index)
      try {
        records += await this.#loadPartition(partition)
      } catch (error) {
        this.#logger.error('Failed to load a __transaction_state partition', { partition: partition.index, error })
      }
      if (this.#state !== 'active') return
      if (epoch === undefined || this.#owned.get(partition.index) !== epoch) {
        // Resigned (or re-elected) while loading: the replayed ids belong to the other load.
        if (!this.#owned.has(partition.index)) this.#dropPartition(partition.index)
        continue
      }
      this.#loading.delete(partition.index)
      // A transaction the broker stopped in the middle of ending: write its markers and complete it.
      for (const txn of this.#txns.values()) {
        if (this.#partitionOf(txn.transactionalId) !== partition.index) continue
        if (txn.state === TransactionState.PrepareCommit || txn.state === TransactionState.PrepareAbort) {
          this.#logger.info('Completing a transaction found prepared on load', { transactionalId: txn.transactionalId, state: txn.state })
          this.#sendMarkersAndComplete(txn, partition.leaderEpoch)
        }
      }
    }
    this.#logger.info('Loaded transactional ids', { transactionalIds: this.#txns.size, records, ms: Math.round(performance.now() - started) })
  }

  async #loadPartition (partition: Partition): Promise<number> {
    const log = partition.log
    let offset = log.logStartOffset
    const end = log.logEndOffset
    let count = 0
    const latest = new Map<string, TransactionLogValue | null>()
    while (offset < end && this.#state === 'active') {
      const read = log.read(offset, { maxBytes: this.config.transactionStateLogLoadBufferSize, maxOffset: end, minOneBatch: true })
      const buf = read.records
      if (buf.length === 0) break
      let next = offset
      for (const entry of iterateBatches(buf)) {
        next = readBaseOffset(buf, entry.position) + readLastOffsetDelta(buf, entry.position) + 1
        if (entry.magic !== 2) continue
        const batch = decodeRecordBatch(buf, entry.position)
        if (batch.header.isControlBatch) continue
        for (const r of batch.records) {
          if (r.key === null) continue
          try {
            const id = decodeTransactionLogKey(r.key)
            latest.set(id, r.value === null ? null : decodeTransactionLogValue(r.value))
            count++
          } catch (error) {
            this.#logger.warn('Skipping an unreadable __transaction_state record', { partition: partition.index, offset: Number(batch.header.baseOffset) + r.offsetDelta, error })
          }
        }
      }
      if (next <= offset) break
      offset = next
      await new Promise((resolve) => setImmediate(resolve))
    }
    for (const [id, v] of latest) {
      if (v === null || v.state === TransactionState.Dead) {
        this.#txns.delete(id)
        continue
      }
      const partitions: TopicPartitions = new Map([...v.partitions].map(([t, ids]) => [t, new Set(ids)]))
      this.#txns.set(id, new TransactionMetadata(id, {
        producerId: v.producerId,
        previousProducerId: v.previousProducerId,
        producerEpoch: v.producerEpoch,
        lastProducerEpoch: NO_PRODUCER_EPOCH,
        txnTimeoutMs: v.transactionTimeoutMs,
        state: v.state,
        partitions,
        txnStartTimestamp: v.startTimestampMs,
        txnLastUpdateTimestamp: v.lastUpdateTimestampMs
      }))
    }
    return count
  }

  // ---- routing and readiness

  get transactionTopicPartitions (): number {
    return this.#topics.get(TRANSACTION_STATE_TOPIC)?.partitions.length ?? this.config.transactionStateLogNumPartitions
  }

  #partitionOf (transactionalId: string): number {
    return partitionForGroup(transactionalId, this.transactionTopicPartitions)
  }

  /** Whether this broker leads the id's `__transaction_state` partition (or the topic does not exist yet). */
  coordinatesLocally (transactionalId: string): boolean {
    const p = this.#topics.get(TRANSACTION_STATE_TOPIC)?.partitions[this.#partitionOf(transactionalId)]
    return p === undefined || p.isLeader
  }

  /** NONE, or why requests for this transactional id cannot be served now. */
  transactionalIdError (transactionalId: string): number {
    if (this.#state === 'created') return ErrorCode.COORDINATOR_NOT_AVAILABLE
    if (this.#state === 'stopped') return ErrorCode.NOT_COORDINATOR
    const partition = this.#partitionOf(transactionalId)
    // Another broker leads the id's partition (a topic not created yet is created here).
    const p = this.#topics.get(TRANSACTION_STATE_TOPIC)?.partitions[partition]
    if (p !== undefined && !p.isLeader) return ErrorCode.NOT_COORDINATOR
    if (this.#loading.size > 0 && this.#loading.has(partition)) return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
    return ErrorCode.NONE
  }

  /** Creates `__transaction_state` when it does not exist yet (once, however many callers wait). */
  async ensureTransactionStateTopic (): Promise<void> {
    if (this.#topics.get(TRANSACTION_STATE_TOPIC) !== undefined) return
    const c = this.config
    const replicationFactor = Math.max(1, Math.min(c.transactionStateLogReplicationFactor, this.#brokerCount()))
    this.#creatingTopic ??= this.#topics.create({
      name: TRANSACTION_STATE_TOPIC,
      numPartitions: c.transactionStateLogNumPartitions,
      replicationFactor,
      configs: {
        'cleanup.policy': 'compact',
        'compression.type': 'uncompressed',
        'segment.bytes': String(c.transactionStateLogSegmentBytes),
        'min.insync.replicas': String(Math.max(1, Math.min(c.transactionStateLogMinIsr, replicationFactor)))
      }
    }).catch((error: unknown) => {
      const topic = this.#topics.get(TRANSACTION_STATE_TOPIC)
      if (topic !== undefined) return topic
      throw error
    }).finally(() => { this.#creatingTopic = undefined })
    await this.#creatingTopic
  }

  async #readyToWrite (transactionalId: string): Promise<number> {
    const error = this.transactionalIdError(transactionalId)
    if (error !== ErrorCode.NONE) return error
    try {
      await this.ensureTransactionStateTopic()
    } catch (e) {
      this.#logger.error(`Could not create ${TRANSACTION_STATE_TOPIC}`, { error: e })
      return ErrorCode.COORDINATOR_NOT_AVAILABLE
    }
    return this.transactionalIdError(transactionalId)
  }

  /** The `__transaction_state` topic's min.insync.replicas (set when it was created). */
  #minIsr (): number {
    const configured = Number(this.#topics.get(TRANSACTION_STATE_TOPIC)?.configs['min.insync.replicas'] ?? 1)
    return Number.isFinite(configured) && configured > 0 ? configured : 1
  }

  #coordinatorEpoch (transactionalId: string): number {
    return this.#topics.get(TRANSACTION_STATE_TOPIC)?.partitions[this.#partitionOf(transactionalId)]?.leaderEpoch ?? 0
  }

  // ---- the write path

  /**
   * Writes the transit state of `txn` to its `__transaction_state` partition and, once it is
   * there, applies it. On failure the pending transition is dropped and the error returned.
   */
  async #appendTransit (txn: TransactionMetadata, transit: TxnTransit): Promise<number> {
    const topic = this.#topics.get(TRANSACTION_STATE_TOPIC)
    const partition = topic?.partitions[this.#partitionOf(txn.transactionalId)]
    if (partition === undefined || this.#state !== 'active') {
      txn.abortPendingTransition()
      return this.#state === 'active' ? ErrorCode.COORDINATOR_NOT_AVAILABLE : ErrorCode.NOT_COORDINATOR
    }
    const now = this.#clock()
    const value = transit.state === TransactionState.Dead
      ? null
      : encodeTransactionLogValue({
        producerId: transit.producerId,
        producerEpoch: transit.producerEpoch,
        transactionTimeoutMs: transit.txnTimeoutMs,
        state: transit.state,
        partitions: new Map([...transit.partitions].map(([t, ids]) => [t, [...ids].sort((a, b) => a - b)])),
        lastUpdateTimestampMs: transit.txnLastUpdateTimestamp,
        startTimestampMs: transit.txnStartTimestamp,
        previousProducerId: transit.previousProducerId
      })
    const batch = buildRecordBatch({ records: [{ key: encodeTransactionLogKey(txn.transactionalId), value, timestamp: now }], timestamp: now })
    try {
      const result = partition.appendAsLeader(batch)
      if (result.flushed !== undefined) await result.flushed
      // acks=all with the topic's min.insync.replicas (Kafka's TransactionStateManager): the state
      // must survive this broker before the client hears of it.
      const replicated = await partition.awaitReplication(result.lastOffset + 1, this.#minIsr(), this.config.requestTimeoutMs)
      if (replicated !== ErrorCode.NONE) {
        txn.abortPendingTransition()
        this.#logger.warn('A __transaction_state write was not replicated', { partition: partition.index, transactionalId: txn.transactionalId, errorCode: replicated })
        return replicated === ErrorCode.NOT_LEADER_OR_FOLLOWER ? ErrorCode.NOT_COORDINATOR : ErrorCode.COORDINATOR_NOT_AVAILABLE
      }
    } catch (error) {
      txn.abortPendingTransition()
      if (error instanceof KafkaProtocolError) return ErrorCode.NOT_COORDINATOR
      if (error instanceof StorageError) {
        this.#logger.error('Writing to __transaction_state failed', { partition: partition.index, transactionalId: txn.transactionalId, error })
        return ErrorCode.COORDINATOR_NOT_AVAILABLE
      }
      throw error
    }
    if (this.#state !== 'active') {
      txn.abortPendingTransition()
      return ErrorCode.NOT_COORDINATOR
    }
    txn.completeTransitionTo(transit)
    return ErrorCode.NONE
  }

  // ---- InitProducerId

  /**
   * InitProducerId: a fresh producer id for an idempotent producer (null id); for a
   * transactional id, the same producer id with the next epoch (fencing earlier instances), a
   * new producer id when the epochs are used up, or, while a transaction of the previous
   * instance is open, CONCURRENT_TRANSACTIONS after starting to abort it. `expected` is the
   * v3+ ProducerId/ProducerEpoch pair (KIP-360), undefined for (-1, -1).
   */
  async initProducerId (transactionalId: string | null, transactionTimeoutMs: number, expected: { producerId: bigint, producerEpoch: number } | undefined): Promise<InitProducerIdResult> {
    if (transactionalId === null) {
      try {
        return { errorCode: ErrorCode.NONE, producerId: await this.#producerIds.generate(), producerEpoch: 0 }
      } catch (error) {
        this.#logger.error('Could not allocate producer ids', { error })
        return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE)
      }
    }
    if (transactionalId === '') return fail(ErrorCode.INVALID_REQUEST)
    if (transactionTimeoutMs <= 0 || transactionTimeoutMs > this.config.transactionMaxTimeoutMs) return fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT)
    const ready = await this.#readyToWrite(transactionalId)
    if (ready !== ErrorCode.NONE) return fail(ready)
    try {
      // From here to the transition everything is synchronous: an id is taken only if needed.
      await this.#producerIds.ready()
    } catch (error) {
      this.#logger.error('Could not allocate producer ids', { error })
      return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE)
    }
    const recheck = this.transactionalIdError(transactionalId)
    if (recheck !== ErrorCode.NONE) return fail(recheck)
    const now = this.#clock()
    let txn = this.#txns.get(transactionalId)
    if (txn === undefined) {
      txn = new TransactionMetadata(transactionalId, {
        producerId: this.#producerIds.next(),
        previousProducerId: NO_PRODUCER_ID,
        producerEpoch: NO_PRODUCER_EPOCH,
        lastProducerEpoch: NO_PRODUCER_EPOCH,
        txnTimeoutMs: transactionTimeoutMs,
        state: TransactionState.Empty,
        partitions: new Map(),
        txnStartTimestamp: -1,
        txnLastUpdateTimestamp: now
      })
      this.#txns.set(transactionalId, txn)
    }
    if (txn.pendingTransitionInProgress) return fail(ErrorCode.CONCURRENT_TRANSACTIONS)
    if (expected !== undefined && !isValidProducerId(txn, expected)) return fail(ErrorCode.PRODUCER_FENCED)
    let transit: TxnTransit
    switch (txn.state) {
      case TransactionState.PrepareAbort:
      case TransactionState.PrepareCommit:
        return fail(ErrorCode.CONCURRENT_TRANSACTIONS)
      case TransactionState.CompleteAbort:
      case TransactionState.CompleteCommit:
      case TransactionState.Empty: {
        if (txn.isProducerEpochExhausted && (expected === undefined || expected.producerEpoch === txn.producerEpoch)) {
          transit = txn.prepareProducerIdRotation(this.#producerIds.next(), transactionTimeoutMs, now, expected !== undefined)
        } else {
          const next = txn.prepareIncrementProducerEpoch(transactionTimeoutMs, expected?.producerEpoch, now)
          if (next === 'PRODUCER_FENCED') return fail(ErrorCode.PRODUCER_FENCED)
          transit = next
        }
        break
      }
      case TransactionState.Ongoing: {
        // Abort the previous instance's transaction first (with a bumped epoch, fencing it). The
        // client retries on CONCURRENT_TRANSACTIONS and then gets the epoch after that.
        const fence = txn.prepareFenceProducerEpoch()
        const error = await this.#endTransaction(txn.transactionalId, fence.producerId, fence.producerEpoch, false, false)
        return fail(error === ErrorCode.NONE ? ErrorCode.CONCURRENT_TRANSACTIONS : error)
      }
      case TransactionState.Dead:
      case TransactionState.PrepareEpochFence:
        return fail(ErrorCode.CONCURRENT_TRANSACTIONS)
    }
    const error = await this.#appendTransit(txn, transit)
    if (error !== ErrorCode.NONE) return fail(error)
    this.#logger.debug('Initialized a transactional producer', { transactionalId, producerId: txn.producerId, producerEpoch: txn.producerEpoch })
    return { errorCode: ErrorCode.NONE, producerId: txn.producerId, producerEpoch: txn.producerEpoch }
  }

  // ---- AddPartitionsToTxn / AddOffsetsToTxn

  /** Adds partitions to the transaction (starting one when none is open). */
  async addPartitions (transactionalId: string, producerId: bigint, producerEpoch: number, partitions: readonly TopicPartition[]): Promise<number> {
    if (transactionalId === '') return ErrorCode.INVALID_REQUEST
    const ready = await this.#readyToWrite(transactionalId)
    if (ready !== ErrorCode.NONE) return ready
    const txn = this.#txns.get(transactionalId)
    if (txn === undefined || txn.state === TransactionState.Dead || txn.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING
    if (txn.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED
    if (txn.pendingTransitionInProgress) return ErrorCode.CONCURRENT_TRANSACTIONS
    if (txn.state === TransactionState.PrepareCommit || txn.state === TransactionState.PrepareAbort) return ErrorCode.CONCURRENT_TRANSACTIONS
    if (txn.state === TransactionState.Ongoing && partitions.every((p) => txn.hasPartition(p.topic, p.partition))) return ErrorCode.NONE
    const added: TopicPartitions = new Map()
    for (const p of partitions) {
      let set = added.get(p.topic)
      if (set === undefined) added.set(p.topic, set = new Set())
      set.add(p.partition)
    }
    return await this.#appendTransit(txn, txn.prepareAddPartitions(added, this.#clock()))
  }

  /**
   * KIP-890 verification for a transactional produce to a partition the producer has not written
   * to in this transaction yet (Kafka's verifyOnly AddPartitionsToTxn): NONE when the partition is
   * part of the producer's open transaction.
   */
  verifyPartition (transactionalId: string, producerId: bigint, producerEpoch: number, topic: string, partition: number): number {
    const error = this.transactionalIdError(transactionalId)
    if (error !== ErrorCode.NONE) return error
    const txn = this.#txns.get(transactionalId)
    if (txn === undefined || txn.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING
    if (txn.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED
    if (txn.pendingTransitionInProgress || txn.state === TransactionState.PrepareCommit || txn.state === TransactionState.PrepareAbort) {
      return ErrorCode.CONCURRENT_TRANSACTIONS
    }
    if (txn.state !== TransactionState.Ongoing || !txn.hasPartition(topic, partition)) return ErrorCode.INVALID_TXN_STATE
    return ErrorCode.NONE
  }

  // ---- EndTxn

  async endTransaction (transactionalId: string, producerId: bigint, producerEpoch: number, commit: boolean): Promise<number> {
    return await this.#endTransaction(transactionalId, producerId, producerEpoch, commit, true)
  }

  async #endTransaction (transactionalId: string, producerId: bigint, producerEpoch: number, commit: boolean, isFromClient: boolean): Promise<number> {
    const txn0 = this.#txns.get(transactionalId)
    // A fence prepared by the caller must not stay pending when this fails early.
    const failed = (code: number): number => {
      if (!isFromClient && txn0?.pendingState === TransactionState.PrepareEpochFence) txn0.abortPendingTransition()
      return code
    }
    if (transactionalId === '') return failed(ErrorCode.INVALID_REQUEST)
    const ready = isFromClient ? await this.#readyToWrite(transactionalId) : this.transactionalIdError(transactionalId)
    if (ready !== ErrorCode.NONE) return failed(ready)
    const txn = this.#txns.get(transactionalId)
    if (txn === undefined || txn.state === TransactionState.Dead || txn.producerId !== producerId) return failed(ErrorCode.INVALID_PRODUCER_ID_MAPPING)
    // Clients must send their exact epoch; the coordinator's own aborts carry a bumped one.
    if ((isFromClient && producerEpoch !== txn.producerEpoch) || producerEpoch < txn.producerEpoch) return failed(ErrorCode.PRODUCER_FENCED)
    if (txn.pendingTransitionInProgress && txn.pendingState !== TransactionState.PrepareEpochFence) return failed(ErrorCode.CONCURRENT_TRANSACTIONS)
    let isEpochFence = false
    let transit: TxnTransit
    switch (txn.state) {
      case TransactionState.Ongoing: {
        if (!commit && txn.pendingState === TransactionState.PrepareEpochFence) {
          // The fencing abort: its markers carry the bumped epoch.
          isEpochFence = true
          txn.abortPendingTransition()
          txn.producerEpoch = producerEpoch
          txn.lastProducerEpoch = NO_PRODUCER_EPOCH
        }
        transit = txn.prepareAbortOrCommit(commit ? TransactionState.PrepareCommit : TransactionState.PrepareAbort, this.#clock())
        break
      }
      case TransactionState.CompleteCommit:
        // A retry of a commit that went through.
        return failed(commit ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE)
      case TransactionState.CompleteAbort:
        return failed(commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE)
      case TransactionState.PrepareCommit:
        return failed(commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE)
      case TransactionState.PrepareAbort:
        return failed(commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.CONCURRENT_TRANSACTIONS)
      case TransactionState.Empty:
      case TransactionState.PrepareEpochFence:
        return failed(ErrorCode.INVALID_TXN_STATE)
    }
    const error = await this.#appendTransit(txn, transit)
    if (error !== ErrorCode.NONE) {
      if (isEpochFence) txn.hasFailedEpochFence = true
      return error
    }
    this.#logger.debug('Ending a transaction', { transactionalId, state: txn.state, partitions: partitionCount(txn.partitions) })
    this.#sendMarkersAndComplete(txn, this.#coordinatorEpoch(transactionalId))
    return ErrorCode.NONE
  }

  /**
   * Writes the markers of a Prepare* transaction to its partitions (retrying those that fail,
   * dropping those that are gone or no longer need one), then its Complete* state. Runs in the
   * background; on a single node the markers are appended before this returns.
   */
  #sendMarkersAndComplete (txn: TransactionMetadata, coordinatorEpoch: number): void {
    if (this.#completing.has(txn)) return
    this.#completing.add(txn)
    const work = this.#markersThenComplete(txn, coordinatorEpoch).finally(() => this.#completing.delete(txn))
    this.#track(work)
  }

  /** Whether this coordinator still owns `txn` (active, and its partition not handed to another broker). */
  #current (txn: TransactionMetadata): boolean {
    return this.#state === 'active' && this.#txns.get(txn.transactionalId) === txn
  }

  async #markersThenComplete (txn: TransactionMetadata, coordinatorEpoch: number): Promise<void> {
    const commit = txn.state === TransactionState.PrepareCommit
    const producerId = txn.producerId
    const producerEpoch = txn.producerEpoch
    for (;;) {
      const remaining: TopicPartition[] = []
      for (const [topic, ids] of txn.partitions) for (const partition of ids) remaining.push({ topic, partition })
      if (remaining.length === 0) break
      const results = await this.#markerWriter.write({ producerId, producerEpoch, coordinatorEpoch, commit, partitions: remaining })
      let retry = false
      for (const r of results) {
        switch (r.errorCode) {
          case ErrorCode.NONE:
          case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
          case ErrorCode.INVALID_PRODUCER_EPOCH:
          case ErrorCode.TRANSACTION_COORDINATOR_FENCED:
            if (r.errorCode !== ErrorCode.NONE) this.#logger.warn('Dropping a transaction marker', { transactionalId: txn.transactionalId, topic: r.topic, partition: r.partition, errorCode: r.errorCode })
            txn.removePartition(r.topic, r.partition)
            break
          default:
            retry = true
        }
      }
      if (!this.#current(txn)) return
      if (retry) await this.#sleep(this.config.retryBackoffMs)
      if (!this.#current(txn)) return
    }
    // Every partition has its marker: the transaction is complete.
    for (;;) {
      if (!this.#current(txn)) return
      if (txn.pendingTransitionInProgress) {
        await this.#sleep(this.config.retryBackoffMs)
        continue
      }
      const error = await this.#appendTransit(txn, txn.prepareComplete(this.#clock()))
      if (error === ErrorCode.NONE) return
      this.#logger.warn('Could not write a completed transaction; retrying', { transactionalId: txn.transactionalId, errorCode: error })
      await this.#sleep(this.config.retryBackoffMs)
    }
  }

  async #sleep (ms: number): Promise<void> {
    await new Promise<void>((resolve) => this.#scheduler.schedule(ms, resolve))
  }

  // ---- timers

  /** Aborts transactions open longer than their timeout, fencing their producers. Returns how many. */
  abortTimedOutTransactions (): number {
    if (this.#state !== 'active') return 0
    const now = this.#clock()
    let n = 0
    for (const txn of [...this.#txns.values()]) {
      if (txn.state !== TransactionState.Ongoing || txn.pendingTransitionInProgress) continue
      if (txn.txnStartTimestamp + txn.txnTimeoutMs >= now) continue
      if (this.transactionalIdError(txn.transactionalId) !== ErrorCode.NONE) continue
      this.#logger.info('Aborting a transaction that timed out', { transactionalId: txn.transactionalId, producerId: txn.producerId, timeoutMs: txn.txnTimeoutMs })
      const fence = txn.prepareFenceProducerEpoch()
      n++
      this.#track(this.#endTransaction(txn.transactionalId, fence.producerId, fence.producerEpoch, false, false).then((error) => {
        if (error !== ErrorCode.NONE) this.#logger.warn('Could not abort a timed-out transaction', { transactionalId: txn.transactionalId, errorCode: error })
      }))
    }
    return n
  }

  /** Removes transactional ids idle longer than `transactional.id.expiration.ms`. Returns how many. */
  async removeExpiredTransactionalIds (): Promise<number> {
    if (this.#state !== 'active') return 0
    const now = this.#clock()
    let n = 0
    for (const txn of [...this.#txns.values()]) {
      const idle = txn.state === TransactionState.Empty || txn.state === TransactionState.CompleteCommit || txn.state === TransactionState.CompleteAbort
      if (!idle || txn.pendingTransitionInProgress || txn.txnLastUpdateTimestamp + this.config.transactionalIdExpirationMs > now) continue
      if (this.transactionalIdError(txn.transactionalId) !== ErrorCode.NONE) continue
      const error = await this.#appendTransit(txn, txn.prepareDead())
      if (error !== ErrorCode.NONE) continue
      if (this.#txns.get(txn.transactionalId) === txn) this.#txns.delete(txn.transactionalId)
      n++
      this.#logger.info('Removed an expired transactional id', { transactionalId: txn.transactionalId })
    }
    return n
  }

  // ---- admin

  describeTransactions (transactionalIds: readonly string[]): DescribedTransaction[] {
    return transactionalIds.map((transactionalId) => {
      const none: DescribedTransaction = {
        errorCode: ErrorCode.NONE, transactionalId, transactionState: '', transactionTimeoutMs: 0, transactionStartTimeMs: -1, producerId: -1n, producerEpoch: -1, topics: []
      }
      const error = this.transactionalIdError(transactionalId)
      if (error !== ErrorCode.NONE) return { ...none, errorCode: error }
      const txn = this.#txns.get(transactionalId)
      if (txn === undefined || txn.state === TransactionState.Dead) return { ...none, errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND }
      return {
        errorCode: ErrorCode.NONE,
        transactionalId,
        transactionState: txn.state,
        transactionTimeoutMs: txn.txnTimeoutMs,
        transactionStartTimeMs: txn.txnStartTimestamp,
        producerId: txn.producerId,
        producerEpoch: txn.producerEpoch,
        topics: [...txn.partitions].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map(([topic, ids]) => ({ topic, partitions: [...ids].sort((x, y) => x - y) }))
      }
    })
  }

  /** ListTransactions: filters by state names, producer ids and (v1) how long the transaction has run. */
  listTransactions (stateFilters: readonly string[], producerIdFilters: readonly bigint[], durationFilterMs: number): {
    errorCode: number, unknownStateFilters: string[], transactions: ListedTransaction[]
  } {
    if (this.#state !== 'active') return { errorCode: this.#state === 'stopped' ? ErrorCode.NOT_COORDINATOR : ErrorCode.COORDINATOR_NOT_AVAILABLE, unknownStateFilters: [], transactions: [] }
    if (this.#loading.size > 0) return { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, unknownStateFilters: [], transactions: [] }
    const unknownStateFilters = stateFilters.filter((s) => !isTransactionState(s))
    const states = new Set(stateFilters.filter(isTransactionState))
    const producerIds = new Set(producerIdFilters)
    const now = this.#clock()
    const transactions: ListedTransaction[] = []
    for (const txn of this.#txns.values()) {
      if (txn.state === TransactionState.Dead) continue
      if (producerIds.size > 0 && !producerIds.has(txn.producerId)) continue
      if (stateFilters.length > 0 && !states.has(txn.state)) continue
      if (durationFilterMs >= 0 && now - txn.txnStartTimestamp <= durationFilterMs) continue
      transactions.push({ transactionalId: txn.transactionalId, producerId: txn.producerId, transactionState: txn.state })
    }
    transactions.sort((a, b) => a.transactionalId < b.transactionalId ? -1 : a.transactionalId > b.transactionalId ? 1 : 0)
    return { errorCode: ErrorCode.NONE, unknownStateFilters, transactions }
  }

  /** The metadata of a transactional id (a snapshot for tools and tests). */
  transaction (transactionalId: string): Readonly<TransactionMetadata> | undefined {
    return this.#txns.get(transactionalId)
  }

  get transactionalIdCount (): number {
    return this.#txns.size
  }
}

/**
 * KIP-360: a producer that sends its id and epoch is accepted when the id is new, when it is the
 * current producer id, or when it is the previous one with an exhausted epoch (a retry after a
 * rotation whose answer was lost).
 */
function isValidProducerId (txn: TransactionMetadata, expected: { producerId: bigint, producerEpoch: number }): boolean {
  return txn.producerEpoch === NO_PRODUCER_EPOCH ||
    expected.producerId === txn.producerId ||
    (expected.producerId === txn.previousProducerId && isEpochExhausted(expected.producerEpoch))
}
