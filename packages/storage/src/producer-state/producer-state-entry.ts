/**
 * What a partition knows of one producer (Kafka's ProducerStateEntry): its epoch, the
 * metadata of its last five batches (for duplicate detection), the first offset of its
 * transaction in progress and the epoch of the coordinator that last ended one of its
 * transactions.
 *
 * Sequences are int32 and wrap from Integer.MAX_VALUE to 0 (DefaultRecordBatch's
 * incrementSequence / decrementSequence).
 */

/** Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN: the window a retried batch is recognised in. */
export const NUM_BATCHES_TO_RETAIN = 5
export const NO_PRODUCER_EPOCH = -1
export const NO_SEQUENCE = -1
export const INT32_MAX = 0x7fffffff

/** `sequence + increment`, wrapping past Integer.MAX_VALUE to 0. */
export function incrementSequence (sequence: number, increment: number): number {
  if (sequence > INT32_MAX - increment) return increment - (INT32_MAX - sequence) - 1
  return sequence + increment
}

/** `sequence - decrement`, wrapping below 0 to Integer.MAX_VALUE. */
export function decrementSequence (sequence: number, decrement: number): number {
  if (sequence < decrement) return INT32_MAX - (decrement - sequence) + 1
  return sequence - decrement
}

/** One appended batch of a producer (Kafka's BatchMetadata). */
export interface BatchMetadata {
  readonly lastSeq: number
  readonly lastOffset: number
  /** lastOffset - firstOffset (equal to lastSeq - firstSeq). */
  readonly offsetDelta: number
  /** The batch's max timestamp. */
  readonly timestamp: number
}

export function firstSeqOf (batch: BatchMetadata): number {
  return decrementSequence(batch.lastSeq, batch.offsetDelta)
}

export function firstOffsetOf (batch: BatchMetadata): number {
  return batch.lastOffset - batch.offsetDelta
}

export class ProducerStateEntry {
  readonly producerId: bigint
  producerEpoch: number
  coordinatorEpoch: number
  lastTimestamp: number
  /** First offset of the transaction in progress, or -1. */
  currentTxnFirstOffset: number
  /** Oldest first; at most NUM_BATCHES_TO_RETAIN. The objects are never modified once added. */
  readonly batches: BatchMetadata[]

  constructor (producerId: bigint, producerEpoch = NO_PRODUCER_EPOCH, coordinatorEpoch = -1, lastTimestamp = -1, currentTxnFirstOffset = -1, batches: BatchMetadata[] = []) {
    this.producerId = producerId
    this.producerEpoch = producerEpoch
    this.coordinatorEpoch = coordinatorEpoch
    this.lastTimestamp = lastTimestamp
    this.currentTxnFirstOffset = currentTxnFirstOffset
    this.batches = batches
  }

  static empty (producerId: bigint): ProducerStateEntry {
    return new ProducerStateEntry(producerId)
  }

  /** A copy to apply an append to (batch metadata objects are never changed, so they are shared). */
  clone (): ProducerStateEntry {
    return new ProducerStateEntry(this.producerId, this.producerEpoch, this.coordinatorEpoch, this.lastTimestamp, this.currentTxnFirstOffset, this.batches.slice())
  }

  get isEmpty (): boolean {
    return this.batches.length === 0
  }

  get firstSeq (): number {
    return this.isEmpty ? NO_SEQUENCE : firstSeqOf(this.batches[0]!)
  }

  get lastSeq (): number {
    return this.isEmpty ? NO_SEQUENCE : this.batches.at(-1)!.lastSeq
  }

  get firstDataOffset (): number {
    return this.isEmpty ? -1 : firstOffsetOf(this.batches[0]!)
  }

  get lastDataOffset (): number {
    return this.isEmpty ? -1 : this.batches.at(-1)!.lastOffset
  }

  get lastOffsetDelta (): number {
    return this.isEmpty ? 0 : this.batches.at(-1)!.offsetDelta
  }

  addBatch (producerEpoch: number, lastSeq: number, lastOffset: number, offsetDelta: number, timestamp: number): void {
    this.maybeUpdateProducerEpoch(producerEpoch)
    if (this.batches.length === NUM_BATCHES_TO_RETAIN) this.batches.shift()
    this.batches.push({ lastSeq, lastOffset, offsetDelta, timestamp })
    this.lastTimestamp = timestamp
  }

  /** A new epoch forgets the batches of the old one. */
  maybeUpdateProducerEpoch (producerEpoch: number): boolean {
    if (this.producerEpoch === producerEpoch) return false
    this.batches.length = 0
    this.producerEpoch = producerEpoch
    return true
  }

  /** Replaces this entry's state with `next` (which was derived from a clone of it). */
  update (next: ProducerStateEntry): void {
    this.maybeUpdateProducerEpoch(next.producerEpoch)
    this.batches.length = 0
    this.batches.push(...next.batches)
    this.coordinatorEpoch = next.coordinatorEpoch
    this.currentTxnFirstOffset = next.currentTxnFirstOffset
    this.lastTimestamp = next.lastTimestamp
  }

  /** The retained batch with exactly this epoch and sequence range, if any (a retry). */
  findDuplicate (producerEpoch: number, firstSeq: number, lastSeq: number): BatchMetadata | undefined {
    if (producerEpoch !== this.producerEpoch) return undefined
    return this.batches.find((b) => b.lastSeq === lastSeq && firstSeqOf(b) === firstSeq)
  }
}
