/**
 * Kafka's RecordAccumulator, reduced to what one event loop needs: a queue of batches per
 * partition, the open (last) batch taking records until it reaches `batchSize`, and a byte
 * budget (`bufferMemory`) that send() must fit into. The budget covers records from append
 * until their batch completes or fails, so the producer's memory is bounded however slow the
 * brokers are; send() waits (backpressure) when it is spent.
 *
 * Sizes are estimates of the uncompressed encoding (an upper bound per record, like Kafka's
 * `estimateSizeInBytesUpperBound`); compression only makes batches smaller on the wire.
 */
import { RECORD_BATCH_OVERHEAD, type RecordInput } from '@samsa/protocol'
import { ProducerBatch } from './producer-batch.ts'
import type { SendRequest } from './send-request.ts'

// Per record: length, attributes, timestamp delta, offset delta, key length, value length and
// header count, each at its largest varint size.
const RECORD_OVERHEAD_UPPER_BOUND = 5 + 1 + 10 + 5 + 5 + 5 + 5
const HEADER_OVERHEAD_UPPER_BOUND = 10

function bytesLength (value: Uint8Array | string | null | undefined): number {
  if (value == null) return 0
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length
}

/** An upper bound of a record's encoded size inside a batch (before compression). */
export function estimateRecordSize (record: RecordInput): number {
  let size = RECORD_OVERHEAD_UPPER_BOUND + bytesLength(record.key) + bytesLength(record.value)
  const headers = record.headers
  if (headers !== undefined) {
    for (let i = 0; i < headers.length; i++) {
      const h = headers[i]!
      size += HEADER_OVERHEAD_UPPER_BOUND + bytesLength(h.key) + bytesLength(h.value)
    }
  }
  return size
}

/** One partition's batches, oldest first, and its idempotence state. */
export class PartitionQueue {
  readonly topic: string
  readonly partition: number
  readonly batches: ProducerBatch[] = []
  /** Batches of this partition sent and not yet answered. */
  inFlight = 0
  /** The sequence the next new batch gets (idempotence). */
  nextSequence = 0
  /** The last sequence the broker acknowledged, -1 for none. */
  lastAckedSequence = -1

  constructor (topic: string, partition: number) {
    this.topic = topic
    this.partition = partition
  }

  /** Puts a batch back for a retry, keeping the queue in creation (sequence) order. */
  requeue (batch: ProducerBatch): void {
    const batches = this.batches
    let at = 0
    while (at < batches.length && batches[at]!.id < batch.id) at++
    batches.splice(at, 0, batch)
  }
}

export interface AccumulatorOptions {
  batchSize: number
  bufferMemory: number
}

export class RecordAccumulator {
  readonly batchSize: number
  readonly bufferMemory: number
  #queues = new Map<string, PartitionQueue[]>()
  #active = new Set<PartitionQueue>()
  #used = 0
  #nextId = 0

  constructor (options: AccumulatorOptions) {
    this.batchSize = options.batchSize
    this.bufferMemory = options.bufferMemory
  }

  /** Bytes held by records not yet completed. */
  get used (): number {
    return this.#used
  }

  /** True when `size` more bytes fit into the budget. */
  hasRoom (size: number): boolean {
    return this.#used + size <= this.bufferMemory
  }

  /** Returns a settled batch's bytes to the budget. */
  releaseBatch (batch: ProducerBatch): void {
    this.#used -= batch.bytes - RECORD_BATCH_OVERHEAD
  }

  queue (topic: string, partition: number): PartitionQueue {
    let list = this.#queues.get(topic)
    if (list === undefined) {
      list = []
      this.#queues.set(topic, list)
    }
    let queue = list[partition]
    if (queue === undefined) {
      queue = new PartitionQueue(topic, partition)
      list[partition] = queue
    }
    return queue
  }

  /** Partitions that have batches waiting. */
  get active (): ReadonlySet<PartitionQueue> {
    return this.#active
  }

  markActive (queue: PartitionQueue): void {
    if (queue.batches.length > 0) this.#active.add(queue)
  }

  markIdle (queue: PartitionQueue): void {
    if (queue.batches.length === 0) this.#active.delete(queue)
  }

  /** True when a record of `size` bytes would not fit the partition's open batch. */
  needsNewBatch (topic: string, partition: number, size: number): boolean {
    const last = this.#queues.get(topic)?.[partition]?.batches.at(-1)
    return last === undefined || last.closed || (last.bytes + size > this.batchSize && last.count > 0)
  }

  /**
   * Appends a record to the partition's open batch, or to a new one. Returns the batch and
   * whether it was new; a batch that reaches batchSize is closed.
   */
  append (topic: string, partition: number, record: RecordInput, size: number, owner: SendRequest, indexInOwner: number, now: number): ProducerBatch {
    const queue = this.queue(topic, partition)
    const batches = queue.batches
    let batch = batches.length === 0 ? undefined : batches[batches.length - 1]
    if (batch === undefined || batch.closed || (batch.bytes + size > this.batchSize && batch.count > 0)) {
      if (batch !== undefined) batch.closed = true
      batch = new ProducerBatch(this.#nextId++, topic, partition, now, RECORD_BATCH_OVERHEAD)
      batches.push(batch)
      this.#active.add(queue)
    }
    batch.append(record, size, owner, indexInOwner)
    this.#used += size
    if (batch.bytes >= this.batchSize) batch.closed = true
    return batch
  }

  /** Every partition queue ever used. */
  * allQueues (): Generator<PartitionQueue> {
    for (const list of this.#queues.values()) {
      for (const queue of list) if (queue !== undefined) yield queue
    }
  }

  /** Every batch waiting or in flight is tracked by the sender; this lists the waiting ones. */
  * waitingBatches (): Generator<ProducerBatch> {
    for (const queue of this.#active) yield * queue.batches
  }
}
