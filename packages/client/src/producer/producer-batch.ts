/**
 * The records of one partition that go out as one RecordBatch. Records are kept as the
 * caller's objects (no copy) until the batch is encoded, once, with buildRecordBatch; the
 * encoded bytes are reused by retries, which must carry the same producer id, epoch and
 * sequence for the broker to recognise a duplicate.
 *
 * Which send() call each record belongs to is kept as runs (call, first record, index in the
 * call), not per record, so appending a record costs two array pushes at most.
 */
import { type CompressionType, type RecordInput, buildRecordBatch } from '@samsa/protocol'
import type { KafkaClientError } from '../errors.ts'
import type { RecordMetadata } from './record.ts'
import type { SendRequest } from './send-request.ts'

export class ProducerBatch {
  readonly id: number
  readonly topic: string
  readonly partition: number
  /** Date.now() when the batch was opened; the timestamp of records without one. */
  readonly createdAt: number
  readonly records: RecordInput[] = []
  /** Estimated encoded size, uncompressed, including the batch header. */
  bytes: number
  /** No more records may be added (it reached batchSize, or it was drained). */
  closed = false
  attempts = 0
  /** Not sent again before this time (retry backoff). */
  retryAt = 0
  producerId = -1n
  producerEpoch = -1
  /** -1 until the batch is first drained by an idempotent producer. */
  baseSequence = -1
  isTransactional = false
  encoded: Buffer | null = null
  /** Why the last attempt failed (kept for the expiry error). */
  lastError: Error | null = null
  #owners: SendRequest[] = []
  #runStart: number[] = []
  #ownerIndex: number[] = []
  #done: Array<() => void> | null = null
  #settled = false

  constructor (id: number, topic: string, partition: number, createdAt: number, overhead: number) {
    this.id = id
    this.topic = topic
    this.partition = partition
    this.createdAt = createdAt
    this.bytes = overhead
  }

  get count (): number {
    return this.records.length
  }

  get settled (): boolean {
    return this.#settled
  }

  append (record: RecordInput, size: number, owner: SendRequest, indexInOwner: number): void {
    const runs = this.#owners.length
    const at = this.records.length
    if (runs === 0 || this.#owners[runs - 1] !== owner || this.#ownerIndex[runs - 1]! + at - this.#runStart[runs - 1]! !== indexInOwner) {
      this.#owners.push(owner)
      this.#runStart.push(at)
      this.#ownerIndex.push(indexInOwner)
    }
    this.records.push(record)
    this.bytes += size
  }

  /** The batch's bytes, built on first use and reused until {@link resetSequence}. */
  encode (compression: CompressionType, compressionLevel: number | undefined): Buffer {
    this.encoded ??= buildRecordBatch({
      records: this.records,
      compression,
      compressionLevel,
      producerId: this.producerId,
      producerEpoch: this.producerEpoch,
      baseSequence: this.baseSequence,
      isTransactional: this.isTransactional,
      timestamp: this.createdAt
    })
    return this.encoded
  }

  /** Forgets the sequence (after an epoch bump) so the batch is renumbered and rebuilt. */
  resetSequence (): void {
    this.baseSequence = -1
    this.producerId = -1n
    this.producerEpoch = -1
    this.encoded = null
  }

  /** Resolves each record with its offset (baseOffset + index) and timestamp. */
  complete (baseOffset: bigint, logAppendTime: bigint): void {
    if (this.#settled) return
    this.#settled = true
    const records = this.records
    const owners = this.#owners
    const logAppend = logAppendTime >= 0n ? Number(logAppendTime) : -1
    const known = baseOffset >= 0n
    let offset = baseOffset
    for (let r = 0; r < owners.length; r++) {
      const owner = owners[r]!
      const start = this.#runStart[r]!
      const end = r + 1 < owners.length ? this.#runStart[r + 1]! : records.length
      const first = this.#ownerIndex[r]!
      for (let i = start; i < end; i++) {
        const metadata: RecordMetadata = {
          topic: this.topic,
          partition: this.partition,
          offset: known ? offset : -1n,
          timestamp: logAppend >= 0 ? logAppend : records[i]!.timestamp ?? this.createdAt
        }
        if (known) offset++
        owner.recordDone(first + i - start, metadata)
      }
    }
    this.#finish()
  }

  /** Fails every record of the batch with `error`. */
  fail (error: KafkaClientError): void {
    if (this.#settled) return
    this.#settled = true
    const owners = this.#owners
    for (let r = 0; r < owners.length; r++) {
      const owner = owners[r]!
      const start = this.#runStart[r]!
      const end = r + 1 < owners.length ? this.#runStart[r + 1]! : this.records.length
      const first = this.#ownerIndex[r]!
      for (let i = start; i < end; i++) owner.recordFailed(first + i - start, this.topic, error)
    }
    this.#finish()
  }

  /** Calls `fn` once the batch has completed or failed (at once if it has). */
  onSettled (fn: () => void): void {
    if (this.#settled) fn()
    else (this.#done ??= []).push(fn)
  }

  #finish (): void {
    const done = this.#done
    this.#done = null
    this.records.length = 0
    this.encoded = null
    if (done !== null) for (const fn of done) fn()
  }
}
