/**
 * Moves batches from the accumulator to the brokers (Kafka's Sender, on timers instead of a
 * thread). A drain pass, scheduled on setImmediate so that a burst of send() calls fills
 * batches first, takes at most one ready batch per partition and groups them into one
 * Produce request per leader, up to `maxRequestSize` and `maxInFlight` requests per broker.
 * A batch is ready when it is full, has lingered `lingerMs`, or a flush, close or full buffer
 * wants everything out.
 *
 * Failures: retriable errors (Kafka's retriable codes, broken connections, timeouts) put the
 * batch back at the head of its partition, in creation order, after a backoff, until
 * `deliveryTimeoutMs`; metadata is refreshed on NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION
 * and connection errors. A retried batch is only sent when nothing else of its partition is in
 * flight, which keeps each partition in order. With idempotence, sequence numbers are assigned
 * when a batch is first drained and kept on retries; OUT_OF_ORDER_SEQUENCE_NUMBER or
 * UNKNOWN_PRODUCER_ID on the next expected batch bump the epoch (KIP-360).
 */
import { clearTimeout, setImmediate, setTimeout } from 'node:timers'
import { ErrorCode, ProduceApi } from '@samsa/protocol'
import type { PartitionProduceData, ProduceResponse, TopicProduceData } from '@samsa/protocol/messages/produce'
import type { Cluster } from '../cluster.ts'
import {
  KafkaClientError, KafkaCorruptResponseError, KafkaIllegalStateError, KafkaNetworkError, KafkaResponseError,
  KafkaTimeoutError
} from '../errors.ts'
import { type RetryPolicy, backoffDelay } from '../retry.ts'
import type { PartitionQueue, RecordAccumulator } from './accumulator.ts'
import type { ResolvedProducerOptions } from './options.ts'
import type { ProducerBatch } from './producer-batch.ts'
import { TransactionState, type TransactionManager } from './transaction-manager.ts'

export interface SenderOptions {
  cluster: Cluster
  accumulator: RecordAccumulator
  transactions: TransactionManager
  options: ResolvedProducerOptions
  /** Retries of failed batches. */
  retry: RetryPolicy
  /** True while send() calls wait for buffer space: then every batch is ready. */
  hasMemoryWaiters: () => boolean
  /** A batch settled and returned its bytes to the buffer. */
  onRelease: () => void
}

/** Kafka's `DefaultRecordBatch.incrementSequence`: sequences wrap from Integer.MAX_VALUE to 0. */
export function incrementSequence (sequence: number, increment: number): number {
  return sequence > 0x7fffffff - increment ? increment - (0x7fffffff - sequence) - 1 : sequence + increment
}

/** Errors after which the partition's leader may have moved: refresh metadata. */
const METADATA_ERRORS = new Set<number>([
  ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.KAFKA_STORAGE_ERROR, ErrorCode.FENCED_LEADER_EPOCH, ErrorCode.UNKNOWN_TOPIC_ID
])

function asClientError (error: unknown): KafkaClientError {
  if (error instanceof KafkaClientError) return error
  return new KafkaNetworkError(`Produce failed: ${(error as Error)?.message ?? String(error)}`, { cause: error })
}

export class Sender {
  #cluster: Cluster
  #acc: RecordAccumulator
  #txn: TransactionManager
  #options: ResolvedProducerOptions
  #retry: RetryPolicy
  #hasMemoryWaiters: () => boolean
  #onRelease: () => void
  #inFlightByNode = new Map<number, number>()
  #inFlightBatches = new Set<ProducerBatch>()
  #flushing = 0
  #closing = false
  #scheduled = false
  #timer: ReturnType<typeof setTimeout> | null = null
  #timerAt = Infinity
  #refreshing = false
  #lastRefreshAt = 0
  #initializing = false
  #initAttempts = 0

  constructor (options: SenderOptions) {
    this.#cluster = options.cluster
    this.#acc = options.accumulator
    this.#txn = options.transactions
    this.#options = options.options
    this.#retry = options.retry
    this.#hasMemoryWaiters = options.hasMemoryWaiters
    this.#onRelease = options.onRelease
  }

  /** Batches sent and not yet answered. */
  get inFlightBatches (): ReadonlySet<ProducerBatch> {
    return this.#inFlightBatches
  }

  /** Schedules a drain pass soon (after the current burst of synchronous sends). */
  wake (): void {
    if (this.#scheduled) return
    this.#scheduled = true
    setImmediate(this.#drain)
  }

  /** Schedules a drain pass at `time` (Date.now() based) unless one is due earlier. */
  wakeAt (time: number): void {
    if (time >= this.#timerAt || this.#scheduled) return
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timerAt = time
    this.#timer = setTimeout(this.#onTimer, Math.max(0, time - Date.now()))
  }

  #onTimer = (): void => {
    this.#timer = null
    this.#timerAt = Infinity
    this.wake()
  }

  beginFlush (): void {
    this.#flushing++
    this.wake()
  }

  endFlush (): void {
    this.#flushing--
  }

  /** After this, every batch is ready at once (the producer is closing). */
  close (): void {
    this.#closing = true
    this.wake()
  }

  stopTimers (): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
    this.#timerAt = Infinity
  }

  #drain = (): void => {
    this.#scheduled = false
    const now = Date.now()
    const txn = this.#txn
    if (txn.state === TransactionState.ABORTABLE_ERROR || txn.state === TransactionState.FATAL_ERROR) {
      // Kafka's producer stops sending once the transaction must abort: undrained batches fail.
      this.failWaiting(txn.error ?? new KafkaIllegalStateError(`The transaction is in state ${txn.state}`))
      return
    }
    if (!txn.canSend) {
      this.#prepareProducerId()
      this.#expire(now)
      return
    }
    const options = this.#options
    const force = this.#flushing > 0 || this.#closing || this.#hasMemoryWaiters()
    const idempotent = txn.idempotent === true
    let nextWake = Infinity
    let needMetadata = false
    for (let progress = true; progress;) {
      progress = false
      const requests = new Map<number, { batches: ProducerBatch[], bytes: number }>()
      for (const queue of this.#acc.active) {
        const batches = queue.batches
        let head = batches[0]
        while (head !== undefined && now >= head.createdAt + options.deliveryTimeoutMs) {
          batches.shift()
          this.#expireBatch(head, now)
          head = batches[0]
        }
        if (head === undefined) {
          this.#acc.markIdle(queue)
          continue
        }
        if (head.attempts > 0) {
          if (queue.inFlight > 0) continue
          if (head.retryAt > now) {
            if (head.retryAt < nextWake) nextWake = head.retryAt
            continue
          }
        } else if (!head.closed && !force && now - head.createdAt < options.lingerMs) {
          const due = head.createdAt + options.lingerMs
          if (due < nextWake) nextWake = due
          continue
        }
        const leader = this.#cluster.leaderFor(queue.topic, queue.partition)
        if (leader < 0) {
          needMetadata = true
          continue
        }
        if (!txn.partitionReady(queue.topic, queue.partition)) continue
        const inFlight = this.#inFlightByNode.get(leader) ?? 0
        let request = requests.get(leader)
        if (request === undefined) {
          if (inFlight >= options.maxInFlight) continue
          request = { batches: [], bytes: 0 }
          requests.set(leader, request)
        } else if (request.bytes + head.bytes > options.maxRequestSize) {
          continue
        }
        batches.shift()
        head.closed = true
        if (idempotent && head.baseSequence < 0) {
          head.producerId = txn.producerId
          head.producerEpoch = txn.producerEpoch
          head.baseSequence = queue.nextSequence
          head.isTransactional = txn.isTransactional
          queue.nextSequence = incrementSequence(queue.nextSequence, head.count)
        }
        request.batches.push(head)
        request.bytes += head.bytes
        queue.inFlight++
        this.#inFlightBatches.add(head)
        if (batches.length === 0) this.#acc.markIdle(queue)
      }
      for (const [nodeId, request] of requests) {
        if (request.batches.length === 0) continue
        progress = true
        this.#inFlightByNode.set(nodeId, (this.#inFlightByNode.get(nodeId) ?? 0) + 1)
        this.#send(nodeId, request.batches).catch(noop)
      }
    }
    if (needMetadata) {
      const due = this.#lastRefreshAt + this.#retry.retryBackoffMs
      if (now >= due) this.#refreshMetadata()
      else if (due < nextWake) nextWake = due
    }
    if (nextWake !== Infinity) this.wakeAt(nextWake)
  }

  /** Gets the producer id (or decides idempotence is off), or bumps the epoch once nothing is in flight. */
  #prepareProducerId (): void {
    if (this.#initializing) return
    const txn = this.#txn
    if (txn.bumpRequested && this.#inFlightBatches.size > 0) return
    this.#initializing = true
    const work = txn.bumpRequested ? txn.bumpEpoch().then(() => { this.#resetSequences() }) : txn.ensureProducerId()
    work.then(() => {
      this.#initAttempts = 0
      this.#initializing = false
      this.wake()
    }, (error: unknown) => {
      this.#initializing = false
      const clientError = asClientError(error)
      if (clientError.retriable && !this.#closing) {
        this.wakeAt(Date.now() + Math.max(1, backoffDelay(this.#initAttempts++, this.#retry)))
      } else {
        this.failWaiting(clientError)
      }
    })
  }

  /** After an epoch bump every partition's sequence starts again at 0 and unsent batches are renumbered. */
  #resetSequences (): void {
    for (const queue of this.#acc.allQueues()) {
      queue.nextSequence = 0
      queue.lastAckedSequence = -1
      for (const batch of queue.batches) batch.resetSequence()
    }
  }

  #refreshMetadata (): void {
    if (this.#refreshing) return
    this.#refreshing = true
    this.#lastRefreshAt = Date.now()
    this.#cluster.refreshMetadata().then(() => {
      this.#refreshing = false
      this.wake()
    }, () => {
      this.#refreshing = false
      this.wakeAt(Date.now() + this.#retry.retryBackoffMs)
    })
  }

  #expire (now: number): void {
    for (const queue of this.#acc.active) {
      const batches = queue.batches
      while (batches.length > 0 && now >= batches[0]!.createdAt + this.#options.deliveryTimeoutMs) this.#expireBatch(batches.shift()!, now)
      this.#acc.markIdle(queue)
    }
    let next = Infinity
    for (const queue of this.#acc.active) {
      const head = queue.batches[0]
      if (head !== undefined && head.createdAt + this.#options.deliveryTimeoutMs < next) next = head.createdAt + this.#options.deliveryTimeoutMs
    }
    if (next !== Infinity) this.wakeAt(next)
  }

  #expireBatch (batch: ProducerBatch, now: number): void {
    // A numbered batch's sequence is unresolved (it may have been written): #fail bumps the
    // epoch before the partition continues, as Kafka does.
    const last = batch.lastError
    this.#fail(batch, new KafkaTimeoutError(`Expiring ${batch.count} record(s) for ${batch.topic}-${batch.partition}: ${now - batch.createdAt} ms has passed since batch creation${last === null ? '' : ` (last error: ${last.message})`}`, last === null ? {} : { cause: last }))
  }

  async #send (nodeId: number, batches: ProducerBatch[]): Promise<void> {
    const options = this.#options
    const topicData: TopicProduceData[] = []
    const sent: ProducerBatch[] = []
    for (const batch of batches) {
      let records: Buffer
      try {
        records = batch.encode(options.compression, options.compressionLevel)
      } catch (error) {
        this.#settleInFlight(batch)
        this.#fail(batch, new KafkaIllegalStateError(`Cannot encode a batch for ${batch.topic}-${batch.partition}: ${(error as Error).message}`, { cause: error }))
        continue
      }
      let topic = topicData.length > 0 && topicData[topicData.length - 1]!.name === batch.topic ? topicData[topicData.length - 1] : topicData.find((t) => t.name === batch.topic)
      if (topic === undefined) {
        topic = { name: batch.topic, partitionData: [] }
        topicData.push(topic)
      }
      const partitionData: PartitionProduceData = { index: batch.partition, records }
      topic.partitionData.push(partitionData)
      sent.push(batch)
    }
    try {
      if (sent.length === 0) return
      const connection = await this.#cluster.connection(nodeId)
      const response = await connection.request(ProduceApi, {
        transactionalId: this.#txn.transactionalId,
        acks: options.acks,
        timeoutMs: this.#cluster.requestTimeoutMs,
        topicData
      }, { minVersion: 3, expectResponse: options.acks !== 0 })
      if (options.acks === 0) {
        for (const batch of sent) {
          this.#settleInFlight(batch)
          this.#complete(batch, -1n, -1n)
        }
      } else {
        this.#handleResponse(sent, response)
      }
    } catch (error) {
      const clientError = asClientError(error)
      for (const batch of sent) {
        if (!this.#inFlightBatches.has(batch)) continue
        this.#settleInFlight(batch)
        this.#onBatchError(batch, clientError)
      }
    } finally {
      this.#inFlightByNode.set(nodeId, this.#inFlightByNode.get(nodeId)! - 1)
      this.wake()
    }
  }

  #settleInFlight (batch: ProducerBatch): void {
    this.#inFlightBatches.delete(batch)
    this.#acc.queue(batch.topic, batch.partition).inFlight--
  }

  #handleResponse (batches: ProducerBatch[], response: ProduceResponse): void {
    for (const topic of response.responses) {
      for (const p of topic.partitionResponses) {
        let batch: ProducerBatch | undefined
        for (const b of batches) {
          if (b.partition === p.index && b.topic === topic.name && this.#inFlightBatches.has(b)) {
            batch = b
            break
          }
        }
        if (batch === undefined) continue
        this.#settleInFlight(batch)
        if (p.errorCode === 0) {
          this.#complete(batch, p.baseOffset, p.logAppendTimeMs)
        } else {
          const message = p.errorMessage ?? (p.recordErrors.length > 0 ? p.recordErrors.map((e) => `record ${e.batchIndex}: ${e.batchIndexErrorMessage ?? ''}`).join('; ') : null)
          this.#onBatchError(batch, new KafkaResponseError(p.errorCode, message, { api: 'Produce', topic: batch.topic, partition: batch.partition }))
        }
      }
    }
    for (const batch of batches) {
      if (!this.#inFlightBatches.has(batch)) continue
      this.#settleInFlight(batch)
      this.#onBatchError(batch, new KafkaCorruptResponseError(`The Produce response has no result for ${batch.topic}-${batch.partition}`))
    }
  }

  #onBatchError (batch: ProducerBatch, error: KafkaClientError): void {
    const code = error instanceof KafkaResponseError ? error.errorCode : null
    const txn = this.#txn
    const queue = this.#acc.queue(batch.topic, batch.partition)
    const idempotent = batch.baseSequence >= 0
    if (code === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
      // The broker already has this batch (an earlier attempt was written): a success.
      this.#complete(batch, -1n, -1n)
      return
    }
    if (idempotent && !txn.isTransactional && this.#canRetryInTime(batch)) {
      if (code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER || code === ErrorCode.UNKNOWN_PRODUCER_ID) {
        const expected = incrementSequence(queue.lastAckedSequence, 1)
        // Out of order behind a batch that failed: it is retried in turn. On the next
        // expected batch the broker lost our state: bump the epoch and renumber (KIP-360).
        if (code === ErrorCode.UNKNOWN_PRODUCER_ID || batch.baseSequence === expected) txn.requestEpochBump()
        this.#requeue(batch, queue, error)
        return
      }
      if (code === ErrorCode.INVALID_PRODUCER_EPOCH && batch.producerEpoch < txn.producerEpoch) {
        batch.resetSequence()
        this.#requeue(batch, queue, error)
        return
      }
    }
    if (error.retriable && batch.attempts < this.#retry.maxRetries && this.#canRetryInTime(batch)) {
      if (code === null || METADATA_ERRORS.has(code)) this.#refreshMetadata()
      this.#requeue(batch, queue, error)
      return
    }
    this.#fail(batch, error)
  }

  #canRetryInTime (batch: ProducerBatch): boolean {
    return Date.now() < batch.createdAt + this.#options.deliveryTimeoutMs
  }

  #requeue (batch: ProducerBatch, queue: PartitionQueue, error: KafkaClientError): void {
    const now = Date.now()
    batch.lastError = error
    batch.retryAt = now + Math.max(1, backoffDelay(batch.attempts, this.#retry))
    batch.attempts++
    batch.closed = true
    queue.requeue(batch)
    this.#acc.markActive(queue)
    this.wakeAt(batch.retryAt)
  }

  #complete (batch: ProducerBatch, baseOffset: bigint, logAppendTime: bigint): void {
    if (batch.baseSequence >= 0) {
      const queue = this.#acc.queue(batch.topic, batch.partition)
      queue.lastAckedSequence = incrementSequence(batch.baseSequence, batch.count - 1)
    }
    this.#acc.releaseBatch(batch)
    batch.complete(baseOffset, logAppendTime)
    this.#onRelease()
  }

  #fail (batch: ProducerBatch, error: KafkaClientError): void {
    // A numbered batch that will never be written leaves a gap in its partition's sequence:
    // the epoch is bumped so that numbering starts again (idempotent producers).
    if (batch.baseSequence >= 0) this.#txn.requestEpochBump()
    this.#acc.releaseBatch(batch)
    batch.fail(error)
    this.#txn.batchFailed(error)
    this.#onRelease()
  }

  /** Fails every batch not yet sent (abort, fatal error, close). In-flight batches finish on their own. */
  failWaiting (error: KafkaClientError): void {
    for (const queue of [...this.#acc.active]) {
      const batches = queue.batches.splice(0)
      this.#acc.markIdle(queue)
      for (const batch of batches) this.#fail(batch, error)
    }
  }
}

function noop (): void {}
