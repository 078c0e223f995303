/**
 * The producer's identity and transaction state (Kafka's TransactionManager):
 *
 * - Idempotence: a producer id and epoch from InitProducerId (any broker, null transactional
 *   id). After OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID the epoch is bumped (KIP-360),
 *   locally as Kafka's producer does, once nothing is in flight, and every partition's
 *   sequence restarts at 0. A transactional producer bumps through its coordinator instead
 *   (InitProducerId v3+ with the current id and epoch) when it aborts after such an error.
 * - Transactions: FindCoordinator (key type 1), InitProducerId with the transactional id,
 *   AddPartitionsToTxn (the v0-3 client form, never the v4+ broker form) before a partition's
 *   first batch, AddOffsetsToTxn + TxnOffsetCommit (to the group coordinator) for offsets, and
 *   EndTxn. States and transitions follow Kafka's `TransactionManager.State`.
 */
import {
  AddOffsetsToTxnApi, AddPartitionsToTxnApi, EndTxnApi, ErrorCode, InitProducerIdApi, TxnOffsetCommitApi
} from '@samsa/protocol'
import type { AddPartitionsToTxnRequest } from '@samsa/protocol/messages/add-partitions-to-txn'
import type { InitProducerIdRequest, InitProducerIdResponse } from '@samsa/protocol/messages/init-producer-id'
import type { TxnOffsetCommitRequest } from '@samsa/protocol/messages/txn-offset-commit'
import { type Cluster, CoordinatorType } from '../cluster.ts'
import {
  type ItemFailure, KafkaClientError, KafkaIllegalStateError, KafkaPartialFailureError, KafkaResponseError,
  KafkaUnsupportedVersionError, isRetriable
} from '../errors.ts'
import { withRetry } from '../retry.ts'

export const TransactionState = {
  UNINITIALIZED: 'UNINITIALIZED',
  INITIALIZING: 'INITIALIZING',
  READY: 'READY',
  IN_TRANSACTION: 'IN_TRANSACTION',
  COMMITTING_TRANSACTION: 'COMMITTING_TRANSACTION',
  ABORTING_TRANSACTION: 'ABORTING_TRANSACTION',
  ABORTABLE_ERROR: 'ABORTABLE_ERROR',
  FATAL_ERROR: 'FATAL_ERROR'
} as const
export type TransactionState = typeof TransactionState[keyof typeof TransactionState]

/** An offset to commit as part of a transaction. */
export interface TransactionOffset {
  topic: string
  partition: number
  /** The next offset to consume (the last processed offset + 1). */
  offset: bigint | number
  leaderEpoch?: number
  metadata?: string | null
}

/** The consumer's group membership, for fencing zombie consumers (KIP-447, TxnOffsetCommit v3+). */
export interface ConsumerGroupMetadata {
  groupId: string
  generationId?: number
  memberId?: string
  groupInstanceId?: string | null
}

export interface TransactionManagerOptions {
  cluster: Cluster
  idempotence: 'on' | 'off' | 'auto'
  transactionalId: string | null
  transactionTimeoutMs: number
  /** Called when the producer id becomes usable or partitions join the transaction. */
  onProgress: () => void
}

/** Errors that end the producer: another instance took over or we are not allowed to write. */
const FATAL = new Set<number>([
  ErrorCode.PRODUCER_FENCED, ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  ErrorCode.INVALID_PRODUCER_ID_MAPPING, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ErrorCode.UNSUPPORTED_VERSION,
  ErrorCode.INVALID_TXN_STATE, ErrorCode.TRANSACTION_COORDINATOR_FENCED
])

function tpKey (topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}

export class TransactionManager {
  readonly transactionalId: string | null
  producerId = -1n
  producerEpoch = -1
  #cluster: Cluster
  #mode: 'on' | 'off' | 'auto'
  #timeoutMs: number
  #onProgress: () => void
  #state: TransactionState = TransactionState.UNINITIALIZED
  #initializing: Promise<void> | null = null
  #bumpRequested = false
  #bumpAfterAbort = false
  #error: KafkaClientError | null = null
  #partitions = new Set<string>()
  #pending = new Map<string, { topic: string, partition: number }>()
  #adding: Promise<void> | null = null
  #transactionStarted = false

  constructor (options: TransactionManagerOptions) {
    this.#cluster = options.cluster
    this.#mode = options.idempotence
    this.transactionalId = options.transactionalId
    this.#timeoutMs = options.transactionTimeoutMs
    this.#onProgress = options.onProgress
  }

  get isTransactional (): boolean {
    return this.transactionalId !== null
  }

  /** True once idempotence is known to be on; false when off; null until decided ('auto'). */
  get idempotent (): boolean | null {
    return this.#mode === 'auto' ? null : this.#mode === 'on'
  }

  get state (): TransactionState {
    return this.#state
  }

  /** The error that put the transaction in ABORTABLE_ERROR or FATAL_ERROR. */
  get error (): KafkaClientError | null {
    return this.#error
  }

  /** True when batches may be numbered and sent now. */
  get canSend (): boolean {
    if (this.#mode === 'auto') return false
    if (this.#mode === 'off') return true
    return this.producerId >= 0n && !this.#bumpRequested && this.#state !== TransactionState.FATAL_ERROR
  }

  get bumpRequested (): boolean {
    return this.#bumpRequested
  }

  /**
   * Decides idempotence ('auto') and gets a producer id (idempotent, non-transactional). For a
   * transactional producer the id comes from {@link initTransactions}.
   */
  async ensureProducerId (): Promise<void> {
    if (this.#mode === 'off' || (this.#mode === 'on' && this.producerId >= 0n)) return
    if (this.isTransactional) {
      if (this.#state === TransactionState.UNINITIALIZED) throw new KafkaIllegalStateError('Call initTransactions() before sending with a transactional producer')
      await this.#initializing
      return
    }
    this.#initializing ??= this.#initIdempotent().finally(() => { this.#initializing = null })
    await this.#initializing
  }

  async #initIdempotent (): Promise<void> {
    if (this.#mode === 'auto') {
      const connection = await this.#cluster.anyConnection()
      this.#mode = connection.supports(InitProducerIdApi) ? 'on' : 'off'
      if (this.#mode === 'off') {
        this.#onProgress()
        return
      }
    }
    const response = await this.#initProducerId(-1n, -1)
    this.#setProducer(response)
    this.#onProgress()
  }

  #setProducer (response: InitProducerIdResponse): void {
    this.producerId = response.producerId
    this.producerEpoch = response.producerEpoch
  }

  /** InitProducerId to any broker (idempotent) or to the transaction coordinator. */
  async #initProducerId (producerId: bigint, producerEpoch: number): Promise<InitProducerIdResponse> {
    const body = (v: number): InitProducerIdRequest => ({
      transactionalId: this.transactionalId,
      transactionTimeoutMs: this.#timeoutMs,
      // v3+ can bump the epoch of a known id (KIP-360); older versions always allocate anew.
      producerId: v >= 3 ? producerId : -1n,
      producerEpoch: v >= 3 ? producerEpoch : -1
    })
    const check = (response: InitProducerIdResponse): InitProducerIdResponse => {
      if (response.errorCode !== 0) throw new KafkaResponseError(response.errorCode, null, { api: 'InitProducerId', resource: this.transactionalId ?? undefined })
      return response
    }
    if (this.transactionalId === null) {
      return await withRetry(async () => check(await (await this.#cluster.anyConnection()).request(InitProducerIdApi, body)), this.#cluster.retryPolicy)
    }
    return await this.#cluster.withCoordinator({ type: CoordinatorType.TRANSACTION, key: this.transactionalId }, async (connection) =>
      check(await connection.request(InitProducerIdApi, body)))
  }

  /** Asks for an epoch bump (KIP-360); the sender calls {@link bumpEpoch} once nothing is in flight. */
  requestEpochBump (): void {
    if (this.isTransactional) {
      this.#bumpAfterAbort = true
      return
    }
    this.#bumpRequested = true
  }

  /**
   * Bumps the epoch of an idempotent producer; the caller resets every partition's sequence.
   * As in Kafka's producer (`bumpIdempotentProducerEpoch`), the bump is local: a broker accepts
   * a higher epoch whose sequences start at 0, and InitProducerId without a transactional id
   * always hands out a new id. Only an exhausted epoch needs a new id from the broker.
   */
  async bumpEpoch (): Promise<void> {
    if (!this.#bumpRequested) return
    if (this.producerEpoch < 0x7fff) {
      this.producerEpoch++
      this.#bumpRequested = false
      this.#onProgress()
      return
    }
    this.#initializing ??= (async () => {
      try {
        this.#setProducer(await this.#initProducerId(-1n, -1))
        this.#bumpRequested = false
      } catch (error) {
        // A broker that cannot be reached now may be later: only other errors are fatal.
        if (!isRetriable(error)) this.#fatal(error)
        throw error
      } finally {
        this.#initializing = null
        this.#onProgress()
      }
    })()
    await this.#initializing
  }

  // ------------------------------------------------------------------------------------------
  // Transactions

  #requireTransactional (what: string): string {
    if (this.transactionalId === null) throw new KafkaIllegalStateError(`${what} needs a transactional producer (set 'transactionalId')`)
    if (this.#state === TransactionState.FATAL_ERROR) {
      throw new KafkaIllegalStateError(`The producer hit a fatal error and must be closed: ${this.#error?.message ?? 'unknown'}`, { cause: this.#error })
    }
    return this.transactionalId
  }

  #fatal (error: unknown): void {
    this.#state = TransactionState.FATAL_ERROR
    this.#error = error instanceof KafkaClientError ? error : new KafkaIllegalStateError(String(error), { cause: error })
  }

  /** Registers the transactional id with its coordinator and fences older instances. */
  async initTransactions (): Promise<void> {
    this.#requireTransactional('initTransactions()')
    if (this.#state !== TransactionState.UNINITIALIZED) {
      if (this.#state === TransactionState.INITIALIZING) await this.#initializing
      return
    }
    this.#state = TransactionState.INITIALIZING
    this.#initializing = (async () => {
      try {
        const connection = await this.#cluster.anyConnection()
        if (!connection.supports(InitProducerIdApi) || !connection.supports(EndTxnApi)) {
          throw new KafkaUnsupportedVersionError('InitProducerId', InitProducerIdApi.apiKey, 'The broker does not support transactions (InitProducerId and EndTxn)')
        }
        this.#setProducer(await this.#initProducerId(-1n, -1))
        this.#state = TransactionState.READY
        this.#onProgress()
      } catch (error) {
        this.#state = TransactionState.UNINITIALIZED
        throw error
      } finally {
        this.#initializing = null
      }
    })()
    await this.#initializing
  }

  beginTransaction (): void {
    this.#requireTransactional('beginTransaction()')
    if (this.#state !== TransactionState.READY) throw new KafkaIllegalStateError(`Cannot begin a transaction in state ${this.#state}`)
    this.#state = TransactionState.IN_TRANSACTION
    this.#partitions.clear()
    this.#pending.clear()
    this.#transactionStarted = false
  }

  /** Throws unless records may be sent now (in a transaction, or not transactional). */
  checkCanSend (): void {
    if (this.transactionalId === null) return
    if (this.#state === TransactionState.IN_TRANSACTION) return
    if (this.#state === TransactionState.ABORTABLE_ERROR || this.#state === TransactionState.FATAL_ERROR) {
      throw new KafkaIllegalStateError(`Cannot send in state ${this.#state}: ${this.#error?.message ?? ''}`, { cause: this.#error })
    }
    throw new KafkaIllegalStateError(`Cannot send outside a transaction (state ${this.#state}); call beginTransaction() first`)
  }

  /**
   * True when the partition is part of the transaction (or the producer is not transactional).
   * Otherwise queues it for AddPartitionsToTxn and returns false; `onProgress` fires when it
   * has been added.
   */
  partitionReady (topic: string, partition: number): boolean {
    if (this.transactionalId === null) return true
    const key = tpKey(topic, partition)
    if (this.#partitions.has(key)) return true
    if (this.#state !== TransactionState.IN_TRANSACTION) return false
    if (!this.#pending.has(key)) {
      this.#pending.set(key, { topic, partition })
      if (this.#adding === null) this.#adding = this.#addPartitions().finally(() => { this.#adding = null })
    }
    return false
  }

  async #addPartitions (): Promise<void> {
    // Let the rest of this drain queue its partitions first: one request for all of them.
    await Promise.resolve()
    const txnId = this.transactionalId!
    while (this.#pending.size > 0 && this.#state === TransactionState.IN_TRANSACTION) {
      const batch = [...this.#pending.values()]
      const byTopic = new Map<string, number[]>()
      for (const { topic, partition } of batch) {
        const list = byTopic.get(topic)
        if (list === undefined) byTopic.set(topic, [partition])
        else list.push(partition)
      }
      try {
        await this.#cluster.withCoordinator({ type: CoordinatorType.TRANSACTION, key: txnId }, async (connection) => {
          const body: AddPartitionsToTxnRequest = {
            transactions: [],
            v3AndBelowTransactionalId: txnId,
            v3AndBelowProducerId: this.producerId,
            v3AndBelowProducerEpoch: this.producerEpoch,
            v3AndBelowTopics: [...byTopic].map(([name, partitions]) => ({ name, partitions }))
          }
          const response = await connection.request(AddPartitionsToTxnApi, body, { maxVersion: 3 })
          let first: KafkaResponseError | null = null
          for (const topic of response.resultsByTopicV3AndBelow) {
            for (const p of topic.resultsByPartition) {
              if (p.partitionErrorCode === 0 || p.partitionErrorCode === ErrorCode.OPERATION_NOT_ATTEMPTED) continue
              first ??= new KafkaResponseError(p.partitionErrorCode, null, { api: 'AddPartitionsToTxn', topic: topic.name, partition: p.partitionIndex })
            }
          }
          if (first !== null) throw first
        })
        for (const { topic, partition } of batch) {
          const key = tpKey(topic, partition)
          this.#pending.delete(key)
          this.#partitions.add(key)
        }
        this.#transactionStarted = true
      } catch (error) {
        this.#pending.clear()
        this.#failTransaction(error)
      }
      this.#onProgress()
    }
  }

  /** A batch of the transaction failed, or a transactional call did: the transaction must abort. */
  #failTransaction (error: unknown): void {
    if (error instanceof KafkaResponseError && FATAL.has(error.errorCode)) {
      this.#fatal(error)
      return
    }
    if (this.#state === TransactionState.FATAL_ERROR) return
    this.#state = TransactionState.ABORTABLE_ERROR
    this.#error = error instanceof KafkaClientError ? error : new KafkaIllegalStateError(String(error), { cause: error })
    if (error instanceof KafkaResponseError && (error.errorCode === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER || error.errorCode === ErrorCode.UNKNOWN_PRODUCER_ID)) {
      this.#bumpAfterAbort = true
    }
  }

  /** Reports a failed batch (transactional producers only). */
  batchFailed (error: KafkaClientError): void {
    if (this.transactionalId === null) return
    if (this.#state === TransactionState.IN_TRANSACTION || this.#state === TransactionState.COMMITTING_TRANSACTION) this.#failTransaction(error)
  }

  /** Adds consumed offsets to the transaction: AddOffsetsToTxn, then TxnOffsetCommit to the group coordinator. */
  async sendOffsets (offsets: readonly TransactionOffset[], group: string | ConsumerGroupMetadata): Promise<void> {
    const txnId = this.#requireTransactional('sendOffsets()')
    if (this.#state !== TransactionState.IN_TRANSACTION) throw new KafkaIllegalStateError(`Cannot send offsets in state ${this.#state}`, { cause: this.#error })
    const meta: ConsumerGroupMetadata = typeof group === 'string' ? { groupId: group } : group
    try {
      await this.#cluster.withCoordinator({ type: CoordinatorType.TRANSACTION, key: txnId }, async (connection) => {
        const response = await connection.request(AddOffsetsToTxnApi, {
          transactionalId: txnId, producerId: this.producerId, producerEpoch: this.producerEpoch, groupId: meta.groupId
        })
        if (response.errorCode !== 0) throw new KafkaResponseError(response.errorCode, null, { api: 'AddOffsetsToTxn', resource: meta.groupId })
      })
      this.#transactionStarted = true
      const byTopic = new Map<string, TransactionOffset[]>()
      for (const o of offsets) {
        const list = byTopic.get(o.topic)
        if (list === undefined) byTopic.set(o.topic, [o])
        else list.push(o)
      }
      await this.#cluster.withCoordinator({ type: CoordinatorType.GROUP, key: meta.groupId }, async (connection) => {
        const body: TxnOffsetCommitRequest = {
          transactionalId: txnId,
          groupId: meta.groupId,
          producerId: this.producerId,
          producerEpoch: this.producerEpoch,
          generationId: meta.generationId ?? -1,
          memberId: meta.memberId ?? '',
          groupInstanceId: meta.groupInstanceId ?? null,
          topics: [...byTopic].map(([name, list]) => ({
            name,
            partitions: list.map((o) => ({
              partitionIndex: o.partition,
              committedOffset: BigInt(o.offset),
              committedLeaderEpoch: o.leaderEpoch ?? -1,
              committedMetadata: o.metadata ?? ''
            }))
          }))
        }
        const response = await connection.request(TxnOffsetCommitApi, body)
        const failures: ItemFailure[] = []
        let retriable: KafkaResponseError | null = null
        for (const t of response.topics) {
          for (const p of t.partitions) {
            if (p.errorCode === 0) continue
            const error = new KafkaResponseError(p.errorCode, null, { api: 'TxnOffsetCommit', topic: t.name, partition: p.partitionIndex })
            if (error.retriable || error.errorCode === ErrorCode.NOT_COORDINATOR) retriable ??= error
            failures.push({ path: `topics/${t.name}/partitions/${p.partitionIndex}`, error })
          }
        }
        // Coordinator moves and loading are retried (withCoordinator); anything else is final.
        if (retriable !== null) throw retriable
        if (failures.length > 0) throw new KafkaPartialFailureError('TxnOffsetCommit failed', { failures, result: undefined })
      })
    } catch (error) {
      this.#failTransaction(error instanceof KafkaPartialFailureError ? error.failures[0]!.error : error)
      throw error
    }
  }

  /** Ends the transaction (EndTxn) once the producer has flushed its batches. */
  async endTransaction (commit: boolean): Promise<void> {
    const txnId = this.#requireTransactional(commit ? 'commitTransaction()' : 'abortTransaction()')
    if (commit && this.#state === TransactionState.ABORTABLE_ERROR) {
      throw new KafkaIllegalStateError(`Cannot commit: the transaction must be aborted after an error: ${this.#error?.message ?? ''}`, { cause: this.#error })
    }
    const allowed = commit
      ? [TransactionState.IN_TRANSACTION, TransactionState.COMMITTING_TRANSACTION]
      : [TransactionState.IN_TRANSACTION, TransactionState.ABORTABLE_ERROR, TransactionState.ABORTING_TRANSACTION]
    if (!(allowed as string[]).includes(this.#state)) throw new KafkaIllegalStateError(`Cannot ${commit ? 'commit' : 'abort'} a transaction in state ${this.#state}`)
    this.#state = commit ? TransactionState.COMMITTING_TRANSACTION : TransactionState.ABORTING_TRANSACTION
    try {
      if (this.#transactionStarted) {
        await this.#cluster.withCoordinator({ type: CoordinatorType.TRANSACTION, key: txnId }, async (connection) => {
          const response = await connection.request(EndTxnApi, { transactionalId: txnId, producerId: this.producerId, producerEpoch: this.producerEpoch, committed: commit })
          if (response.errorCode !== 0) throw new KafkaResponseError(response.errorCode, null, { api: 'EndTxn', resource: txnId })
        })
      }
      if (this.#bumpAfterAbort && !commit) {
        this.#bumpAfterAbort = false
        this.#setProducer(await this.#initProducerId(this.producerId, this.producerEpoch))
      }
      this.#state = TransactionState.READY
      this.#error = null
      this.#partitions.clear()
      this.#transactionStarted = false
    } catch (error) {
      if (error instanceof KafkaResponseError && FATAL.has(error.errorCode)) this.#fatal(error)
      else if (commit) this.#failTransaction(error)
      else this.#state = TransactionState.ABORTABLE_ERROR
      throw error
    }
  }

  /** Marks the producer as unusable (closed with a transaction open). */
  close (): void {
    this.#pending.clear()
  }
}
