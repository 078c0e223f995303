/**
 * The producer. `send()` validates each record, picks its partition and appends it to that
 * partition's open batch synchronously, returning one promise per call; the Sender sends
 * batches when they fill up or linger out. When the buffer is full or a topic's metadata is not
 * known yet, the call (and every later one, to keep order) waits up to `maxBlockMs`.
 *
 *     const producer = createProducer({ bootstrapServers: 'localhost:9092' })
 *     const { partition, offset } = await producer.send({ topic: 'events', key: 'k', value: 'v' })
 *     await producer.close()
 */
import { clearTimeout, setTimeout } from 'node:timers'
import { ErrorCode, RECORD_BATCH_OVERHEAD, type RecordInput } from '@samsa/protocol'
import { Cluster, type ClusterMetadata, type TopicInfo } from '../cluster.ts'
import { Fifo } from '../fifo.ts'
import {
  KafkaBufferExhaustedError, KafkaClientError, KafkaClosedError, KafkaIllegalStateError, KafkaInvalidArgumentError, KafkaRecordTooLargeError,
  KafkaResponseError, KafkaTimeoutError, toError
} from '../errors.ts'
import { DEFAULT_RETRY_POLICY, type RetryPolicy, backoffDelay, retryPolicy } from '../retry.ts'
import { RecordAccumulator, estimateRecordSize } from './accumulator.ts'
import { partitionForKey } from './murmur2.ts'
import { type ProducerOptions, type ResolvedProducerOptions, resolveProducerOptions } from './options.ts'
import { type PartitionerTopic, StickyPartitionCache } from './partitioner.ts'
import type { ProducerRecord, RecordMetadata } from './record.ts'
import { SendRequest } from './send-request.ts'
import { Sender } from './sender.ts'
import {
  type ConsumerGroupMetadata, type TransactionOffset, TransactionManager, TransactionState
} from './transaction-manager.ts'

interface TopicState extends PartitionerTopic {
  readonly info: TopicInfo
  /** Set for topics records cannot go to (invalid name, not authorized). */
  readonly error: KafkaClientError | null
}

interface PendingSend {
  /** One record, or a list when `isList`. */
  input: ProducerRecord | readonly ProducerRecord[]
  isList: boolean
  count: number
  request: SendRequest
  /** The first record not yet appended. */
  next: number
  deadline: number
}

function topicAt (pending: PendingSend, index: number): string {
  const record = pending.isList ? (pending.input as readonly ProducerRecord[])[index] : pending.input as ProducerRecord
  return String(record?.topic)
}

function failPending (pending: PendingSend, error: KafkaClientError): void {
  pending.request.failRest(pending.next, pending.count, (i) => topicAt(pending, i), error)
}

/** Topic errors that will not go away by waiting. */
const FATAL_TOPIC_ERRORS = new Set<number>([ErrorCode.INVALID_TOPIC_EXCEPTION, ErrorCode.TOPIC_AUTHORIZATION_FAILED])

function isRecordValue (value: unknown): boolean {
  return value == null || typeof value === 'string' || value instanceof Uint8Array
}

function normalizeHeaders (record: ProducerRecord): RecordInput {
  const headers = record.headers as Readonly<Record<string, Uint8Array | string | null>>
  return {
    key: record.key,
    value: record.value,
    timestamp: record.timestamp,
    headers: Object.keys(headers).map((key) => ({ key, value: headers[key] }))
  }
}

/** Creates a producer (nothing connects until the first send or {@link Producer.connect}). */
export function createProducer (options: ProducerOptions): Producer {
  return new Producer(options)
}

export class Producer {
  /** The producer's view of the cluster: metadata, broker connections, coordinators. */
  readonly cluster: Cluster
  /** The options after validation, with defaults. */
  readonly options: Readonly<ResolvedProducerOptions>
  #acc: RecordAccumulator
  #txn: TransactionManager
  #sender: Sender
  #retry: RetryPolicy
  #sticky = new StickyPartitionCache()
  #topics = new Map<string, TopicState>()
  #lastTopic = ''
  #lastMetadata: ClusterMetadata | null = null
  #lastState: TopicState | null = null
  #pending = new Fifo<PendingSend>()
  #blockedOn: 'metadata' | 'memory' | null = null
  #blockedTopic = ''
  #pendingTimer: ReturnType<typeof setTimeout> | null = null
  #pendingTimerAt = Infinity
  #metadataRefreshing = false
  #metadataAttempts = 0
  #lastMetadataError: unknown = null
  #closed = false
  #closing: Promise<void> | null = null
  #drainWaiters: Array<() => void> = []

  /** Validates the options (throws KafkaInvalidArgumentError); connects lazily. */
  constructor (options: ProducerOptions) {
    this.options = Object.freeze(resolveProducerOptions(options))
    // Batches retry until deliveryTimeoutMs (Kafka's retries=MAX_INT) unless maxRetries says
    // otherwise; metadata and coordinator calls retry a few times per call, and are called again.
    this.#retry = retryPolicy(options, { ...DEFAULT_RETRY_POLICY, maxRetries: Infinity })
    this.cluster = new Cluster({ ...options, maxRetries: Math.min(this.#retry.maxRetries, DEFAULT_RETRY_POLICY.maxRetries) })
    this.#acc = new RecordAccumulator({ batchSize: this.options.batchSize, bufferMemory: this.options.bufferMemory })
    this.#txn = new TransactionManager({
      cluster: this.cluster,
      idempotence: this.options.idempotence,
      transactionalId: this.options.transactionalId,
      transactionTimeoutMs: this.options.transactionTimeoutMs,
      onProgress: () => this.#sender.wake()
    })
    this.#sender = new Sender({
      cluster: this.cluster,
      accumulator: this.#acc,
      transactions: this.#txn,
      options: this.options,
      retry: this.#retry,
      hasMemoryWaiters: () => this.#blockedOn === 'memory',
      onRelease: this.#onRelease
    })
  }

  /** True once the producer knows it writes idempotently; null until it has asked the cluster. */
  get idempotent (): boolean | null {
    return this.#txn.idempotent
  }

  /** The producer id and epoch (-1 before InitProducerId or without idempotence). */
  get producerId (): { producerId: bigint, producerEpoch: number } {
    return { producerId: this.#txn.producerId, producerEpoch: this.#txn.producerEpoch }
  }

  get transactionState (): TransactionState {
    return this.#txn.state
  }

  /** Bytes of records buffered and not yet acknowledged. */
  get bufferedBytes (): number {
    return this.#acc.used
  }

  /**
   * Fetches cluster metadata and, with idempotence, the producer id. Optional: send() does
   * the same on first use. Rejects with KafkaNetworkError if no broker can be reached.
   */
  async connect (): Promise<void> {
    this.#ensureOpen()
    await this.cluster.refreshMetadata()
    if (!this.#txn.isTransactional) await this.#txn.ensureProducerId()
  }

  #ensureOpen (): void {
    if (this.#closed) throw new KafkaClosedError('The producer is closed')
  }

  /**
   * Sends one record or a list. Resolves with where it was written (a list for a list); a list
   * with failed records rejects with KafkaPartialFailureError, whose `result` holds the
   * metadata of the records that succeeded.
   */
  send (record: ProducerRecord): Promise<RecordMetadata>
  send (records: readonly ProducerRecord[]): Promise<RecordMetadata[]>
  send (input: ProducerRecord | readonly ProducerRecord[]): Promise<RecordMetadata | RecordMetadata[]> {
    if (this.#closed || this.#closing !== null) return Promise.reject(new KafkaClosedError('The producer is closed'))
    try {
      this.#txn.checkCanSend()
    } catch (error) {
      return Promise.reject(toError(error))
    }
    let count = 1
    const isList = Array.isArray(input)
    if (isList) {
      count = input.length
      if (count === 0) return Promise.resolve([])
    }
    const request = new SendRequest(count, isList)
    const now = Date.now()
    let next = 0
    if (this.#pending.length === 0) {
      next = isList ? this.#appendFrom(input, request, 0, now) : this.#appendOne(input as ProducerRecord, request, 0, now) ? 1 : 0
    }
    if (next < count) {
      this.#pending.push({ input, isList, count, request, next, deadline: now + this.options.maxBlockMs })
      this.#onBlocked()
    }
    return request.promise
  }

  /**
   * Appends records from `from` on; returns the index of the first one that must wait (for
   * metadata or buffer space), or records.length.
   */
  #appendFrom (records: readonly ProducerRecord[], request: SendRequest, from: number, now: number): number {
    for (let i = from; i < records.length; i++) {
      if (!this.#appendOne(records[i]!, request, i, now)) return i
    }
    return records.length
  }

  /**
   * Validates, partitions and appends one record. Returns false when it must wait for metadata
   * or buffer space; an invalid record fails (settling its part of the request) and counts as done.
   */
  #appendOne (record: ProducerRecord, request: SendRequest, index: number, now: number): boolean {
    const options = this.options
    const acc = this.#acc
    if (typeof record !== 'object' || record === null || typeof record.topic !== 'string' || record.topic === '') {
      request.recordFailed(index, String((record as ProducerRecord | null)?.topic), new KafkaInvalidArgumentError('A record needs a non-empty string topic'))
      return true
    }
    const name = record.topic
    const topic = this.#topicState(name)
    if (topic === null) {
      this.#blockedOn = 'metadata'
      this.#blockedTopic = name
      return false
    }
    if (topic.error !== null) {
      request.recordFailed(index, name, topic.error)
      return true
    }
    if (!isRecordValue(record.value) || !isRecordValue(record.key)) {
      request.recordFailed(index, name, new KafkaInvalidArgumentError('Record keys and values must be strings, Uint8Arrays or null'))
      return true
    }
    const input: RecordInput = record.headers === undefined || Array.isArray(record.headers) ? record as RecordInput : normalizeHeaders(record)
    const size = estimateRecordSize(input)
    if (size + RECORD_BATCH_OVERHEAD > options.maxRequestSize || size > options.bufferMemory) {
      request.recordFailed(index, name, new KafkaRecordTooLargeError(`The record is ${size} bytes when serialized, which is larger than ${size > options.bufferMemory ? `bufferMemory (${options.bufferMemory})` : `maxRequestSize (${options.maxRequestSize})`}`))
      return true
    }
    if (!acc.hasRoom(size)) {
      this.#blockedOn = 'memory'
      return false
    }
    let partition = record.partition
    const count = topic.partitionCount
    if (partition !== undefined) {
      if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
        request.recordFailed(index, name, new KafkaInvalidArgumentError(`Invalid partition given with record: ${String(partition)} is not in the range [0...${count})`))
        return true
      }
    } else if (options.partitioner !== null) {
      partition = options.partitioner(record, topic)
      if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
        request.recordFailed(index, name, new KafkaInvalidArgumentError(`The partitioner returned ${String(partition)}, not in the range [0...${count})`))
        return true
      }
    } else if (record.key != null) {
      partition = partitionForKey(record.key, count)
    } else {
      partition = this.#sticky.partition(topic)
      if (acc.needsNewBatch(name, partition, size)) partition = this.#sticky.next(topic, partition)
    }
    const batch = acc.append(name, partition, input, size, request, index, now)
    if (batch.closed) this.#sender.wake()
    else if (batch.count === 1) this.#sender.wakeAt(now + options.lingerMs)
    return true
  }

  /** The topic's partitioning state, or null while its metadata is unknown. */
  #topicState (name: string): TopicState | null {
    // The common case, record after record to one topic, skips the lookups.
    const metadata = this.cluster.metadata
    if (name === this.#lastTopic && metadata === this.#lastMetadata) return this.#lastState
    const state = this.#computeTopicState(name)
    if (state !== null) {
      this.#lastTopic = name
      this.#lastMetadata = metadata
      this.#lastState = state
    }
    return state
  }

  #computeTopicState (name: string): TopicState | null {
    const info = this.cluster.topic(name)
    const cached = this.#topics.get(name)
    if (cached !== undefined && cached.info === info) return cached
    if (info === undefined) return null
    let error: KafkaClientError | null = null
    if (FATAL_TOPIC_ERRORS.has(info.errorCode)) {
      error = new KafkaResponseError(info.errorCode, null, { api: 'Metadata', topic: name })
    } else if (info.partitions.length === 0) {
      return null
    }
    const availablePartitions: number[] = []
    for (const p of info.partitions) if (p.leaderId >= 0) availablePartitions.push(p.partitionIndex)
    const state: TopicState = { topic: name, partitionCount: info.partitions.length, availablePartitions, info, error }
    this.#topics.set(name, state)
    return state
  }

  /** Works through waiting send() calls in order; called when metadata or memory changes. */
  #processPending (): void {
    const pending = this.#pending
    while (pending.length > 0) {
      const now = Date.now()
      const first = pending.peek()!
      this.#blockedOn = null
      first.next = first.isList
        ? this.#appendFrom(first.input as readonly ProducerRecord[], first.request, first.next, now)
        : this.#appendOne(first.input as ProducerRecord, first.request, 0, now) ? 1 : 0
      if (first.next === first.count) {
        pending.shift()
        continue
      }
      if (now >= first.deadline) {
        const error = this.#blockedOn === 'memory'
          ? new KafkaBufferExhaustedError(`Failed to allocate memory within the configured max blocking time ${this.options.maxBlockMs} ms`)
          : this.#metadataTimeoutError(this.#blockedTopic)
        failPending(first, error)
        pending.shift()
        continue
      }
      break
    }
    if (pending.length === 0) {
      this.#blockedOn = null
      for (const fn of this.#drainWaiters.splice(0)) fn()
      return
    }
    this.#onBlocked()
  }

  #metadataTimeoutError (topic: string): KafkaClientError {
    const last = this.#lastMetadataError
    // A broker that cannot be reached is the clearer story than "not in metadata".
    if (last instanceof KafkaClientError && this.cluster.metadata.updatedAt === 0) return last
    return new KafkaTimeoutError(`Topic '${topic}' not present in metadata after ${this.options.maxBlockMs} ms`, last === null ? {} : { cause: last })
  }

  #onBlocked (): void {
    const first = this.#pending.peek()
    if (first === undefined) return
    if (first.deadline < this.#pendingTimerAt) {
      if (this.#pendingTimer !== null) clearTimeout(this.#pendingTimer)
      this.#pendingTimerAt = first.deadline
      this.#pendingTimer = setTimeout(() => {
        this.#pendingTimer = null
        this.#pendingTimerAt = Infinity
        this.#processPending()
      }, Math.max(0, first.deadline - Date.now()))
    }
    if (this.#blockedOn === 'metadata') this.#fetchMetadata(this.#blockedTopic)
    else if (this.#blockedOn === 'memory') this.#sender.wake()
  }

  #fetchMetadata (topic: string): void {
    this.cluster.trackTopics([topic])
    if (this.#metadataRefreshing) return
    this.#metadataRefreshing = true
    const delay = this.#metadataAttempts === 0 ? 0 : Math.max(1, backoffDelay(this.#metadataAttempts - 1, this.#retry))
    const run = (): void => {
      this.cluster.refreshMetadata().then(() => {
        this.#lastMetadataError = null
        this.#metadataRefreshing = false
        const found = this.#topicState(topic) !== null
        this.#metadataAttempts = found ? 0 : this.#metadataAttempts + 1
        this.#processPending()
      }, (error: unknown) => {
        this.#lastMetadataError = error
        this.#metadataRefreshing = false
        this.#metadataAttempts++
        if (error instanceof KafkaClosedError) return
        if (error instanceof KafkaClientError && !error.retriable) {
          // Nothing will change by waiting: fail the blocked calls now.
          for (const p of this.#pending.drain()) failPending(p, error)
          this.#processPending()
          return
        }
        this.#processPending()
      })
    }
    if (delay === 0) run()
    else setTimeout(run, delay)
  }

  #onRelease = (): void => {
    if (this.#blockedOn === 'memory') this.#processPending()
  }

  /** Sends every buffered record now and resolves once each has been acknowledged or has failed. */
  async flush (): Promise<void> {
    this.#sender.beginFlush()
    try {
      if (this.#pending.length > 0) await new Promise<void>((resolve) => { this.#drainWaiters.push(resolve) })
      const batches = [...this.#acc.waitingBatches(), ...this.#sender.inFlightBatches]
      this.#sender.wake()
      await Promise.all(batches.map(async (batch) => { await new Promise<void>((resolve) => { batch.onSettled(resolve) }) }))
    } finally {
      this.#sender.endFlush()
    }
  }

  // ------------------------------------------------------------------------------------------
  // Transactions

  /**
   * Registers `transactionalId` with the transaction coordinator (InitProducerId), fencing
   * earlier producers with the same id. Called by beginTransaction() if needed.
   */
  async initTransactions (): Promise<void> {
    this.#ensureOpen()
    await this.#txn.initTransactions()
  }

  async beginTransaction (): Promise<void> {
    this.#ensureOpen()
    if (this.#txn.state === TransactionState.UNINITIALIZED) await this.#txn.initTransactions()
    this.#txn.beginTransaction()
  }

  /**
   * Commits consumed offsets as part of the transaction (Kafka's sendOffsetsToTransaction):
   * they become visible to the group only if the transaction commits.
   */
  async sendOffsets (offsets: readonly TransactionOffset[], group: string | ConsumerGroupMetadata): Promise<void> {
    this.#ensureOpen()
    await this.#txn.sendOffsets(offsets, group)
  }

  /** Flushes, then commits. After a failed record the transaction can only be aborted. */
  async commitTransaction (): Promise<void> {
    this.#ensureOpen()
    await this.flush()
    await this.#txn.endTransaction(true)
  }

  /** Drops unsent records of the transaction, waits for those in flight, then aborts it. */
  async abortTransaction (): Promise<void> {
    this.#ensureOpen()
    const error = new KafkaIllegalStateError('The transaction was aborted')
    for (const p of this.#pending.drain()) failPending(p, error)
    this.#processPending()
    this.#sender.failWaiting(error)
    const inFlight = [...this.#sender.inFlightBatches]
    await Promise.all(inFlight.map(async (batch) => { await new Promise<void>((resolve) => { batch.onSettled(resolve) }) }))
    await this.#txn.endTransaction(false)
  }

  /**
   * Sends what is buffered and closes the connections; an open transaction is aborted. With
   * `timeoutMs`, records still unacknowledged after it fail with KafkaClosedError. Later
   * send() calls reject with KafkaClosedError.
   */
  async close (options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closing ??= (async () => {
      let timer: ReturnType<typeof setTimeout> | null = null
      try {
        this.#sender.close()
        const flushed = this.flush()
        if (options.timeoutMs === undefined) {
          await flushed
        } else {
          const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(resolve, options.timeoutMs, 'timeout') })
          if (await Promise.race([flushed, timedOut]) === 'timeout') {
            const error = new KafkaClosedError(`The producer was closed with records not acknowledged within ${options.timeoutMs} ms`)
            for (const p of this.#pending.drain()) failPending(p, error)
            this.#sender.failWaiting(error)
            this.#closed = true
            await this.cluster.close()
          }
        }
        if (this.#txn.state === TransactionState.IN_TRANSACTION || this.#txn.state === TransactionState.ABORTABLE_ERROR) {
          await this.#txn.endTransaction(false).catch(() => {})
        }
      } finally {
        if (timer !== null) clearTimeout(timer)
        this.#closed = true
        this.#sender.stopTimers()
        if (this.#pendingTimer !== null) clearTimeout(this.#pendingTimer)
        this.#txn.close()
        await this.cluster.close()
      }
    })()
    await this.#closing
  }
}
