/**
 * Validation of one producer's batches in an append, before they are written (Kafka's
 * ProducerAppendInfo). It starts from a copy of the producer's entry and applies each batch
 * to it; the partition's producer state takes the copy only once the append succeeded.
 *
 * Rules (ProducerAppendInfo.java), for appends a client made (origin `client`):
 *   - an epoch older than the producer's: INVALID_PRODUCER_EPOCH (Kafka 2.7+ answers this, not
 *     PRODUCER_FENCED, on the produce path, so the client can abort and go on);
 *   - a new epoch must start at sequence 0, unless the producer was unknown:
 *     OUT_OF_ORDER_SEQUENCE_NUMBER;
 *   - same epoch: the first sequence must follow the last one (0 after Integer.MAX_VALUE); an
 *     unknown producer (no epoch yet: new, expired, or its data deleted) may start anywhere;
 *   - a non-transactional batch while the producer has a transaction open: INVALID_TXN_STATE.
 * Coordinator appends (transaction markers, transactional offset commits) are checked for
 * epochs only; a COMMIT/ABORT from a coordinator with an older epoch than the last one is
 * TRANSACTION_COORDINATOR_FENCED. Replicated and recovered batches are not checked.
 */
import { ErrorCode } from '@samsa/protocol'
import { NO_PRODUCER_EPOCH, type ProducerStateEntry, INT32_MAX } from './producer-state-entry.ts'

/** Who is appending (Kafka's AppendOrigin): how much is validated. */
export type AppendOrigin = 'client' | 'coordinator' | 'replication'

const kProducerStateError = Symbol.for('samsa.storage.ProducerStateError')

/** A batch the producer state refuses, with the Kafka error code to answer. */
export class ProducerStateError extends Error {
  readonly errorCode: number

  constructor (errorCode: number, message: string) {
    super(message)
    this.name = 'ProducerStateError'
    this.errorCode = errorCode
  }

  get [kProducerStateError] (): true {
    return true
  }

  static override [Symbol.hasInstance] (value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kProducerStateError] === true
  }
}

/** A transaction a COMMIT or ABORT marker ended in this partition (Kafka's CompletedTxn). */
export interface CompletedTxn {
  producerId: bigint
  firstOffset: number
  /** The marker's offset. */
  lastOffset: number
  isAborted: boolean
}

/** What a data batch contributes. */
export interface DataBatch {
  producerEpoch: number
  firstSeq: number
  lastSeq: number
  maxTimestamp: number
  firstOffset: number
  lastOffset: number
  isTransactional: boolean
}

/** What a COMMIT/ABORT marker contributes. */
export interface MarkerBatch {
  producerEpoch: number
  offset: number
  timestamp: number
  isAbort: boolean
  coordinatorEpoch: number
}

export class ProducerAppendInfo {
  readonly producerId: bigint
  readonly origin: AppendOrigin
  readonly #current: ProducerStateEntry
  readonly #topicPartition: string
  readonly updated: ProducerStateEntry
  /** First offsets of the transactions this append started. */
  readonly startedTransactions: number[] = []

  constructor (topicPartition: string, current: ProducerStateEntry, origin: AppendOrigin) {
    this.#topicPartition = topicPartition
    this.producerId = current.producerId
    this.origin = origin
    this.#current = current
    this.updated = current.clone()
  }

  appendDataBatch (batch: DataBatch): void {
    this.#checkProducerEpoch(batch.producerEpoch, batch.firstOffset)
    if (this.origin === 'client') this.#checkSequence(batch.producerEpoch, batch.firstSeq, batch.firstOffset)
    const entry = this.updated
    entry.addBatch(batch.producerEpoch, batch.lastSeq, batch.lastOffset, batch.lastOffset - batch.firstOffset, batch.maxTimestamp)
    if (entry.currentTxnFirstOffset >= 0 && !batch.isTransactional) {
      if (this.origin !== 'replication') {
        throw new ProducerStateError(ErrorCode.INVALID_TXN_STATE,
          `Expected transactional write from producer ${this.producerId} at offset ${batch.firstOffset} in partition ${this.#topicPartition}`)
      }
    } else if (entry.currentTxnFirstOffset < 0 && batch.isTransactional) {
      entry.currentTxnFirstOffset = batch.firstOffset
      this.startedTransactions.push(batch.firstOffset)
    }
  }

  /** Applies a COMMIT/ABORT marker; returns the transaction it ends, if it had data here. */
  appendEndTxnMarker (marker: MarkerBatch): CompletedTxn | undefined {
    this.#checkProducerEpoch(marker.producerEpoch, marker.offset)
    const entry = this.updated
    if (entry.coordinatorEpoch > marker.coordinatorEpoch && this.origin !== 'replication') {
      throw new ProducerStateError(ErrorCode.TRANSACTION_COORDINATOR_FENCED,
        `Invalid coordinator epoch for producerId ${this.producerId} at offset ${marker.offset} in partition ${this.#topicPartition}: ` +
        `${marker.coordinatorEpoch} (zombie), ${entry.coordinatorEpoch} (current)`)
    }
    const completed = entry.currentTxnFirstOffset >= 0
      ? { producerId: this.producerId, firstOffset: entry.currentTxnFirstOffset, lastOffset: marker.offset, isAborted: marker.isAbort }
      : undefined
    entry.maybeUpdateProducerEpoch(marker.producerEpoch)
    entry.coordinatorEpoch = marker.coordinatorEpoch
    entry.currentTxnFirstOffset = -1
    entry.lastTimestamp = marker.timestamp
    return completed
  }

  #checkProducerEpoch (producerEpoch: number, offset: number): void {
    const current = this.updated.producerEpoch
    if (producerEpoch < current && this.origin !== 'replication') {
      throw new ProducerStateError(ErrorCode.INVALID_PRODUCER_EPOCH,
        `Epoch of producer ${this.producerId} at offset ${offset} in ${this.#topicPartition} is ${producerEpoch}, which is smaller than the last seen epoch ${current}`)
    }
  }

  #checkSequence (producerEpoch: number, firstSeq: number, offset: number): void {
    const updated = this.updated
    if (producerEpoch !== updated.producerEpoch) {
      if (firstSeq !== 0 && updated.producerEpoch !== NO_PRODUCER_EPOCH) {
        throw new ProducerStateError(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          `Invalid sequence number for new epoch of producer ${this.producerId} at offset ${offset} in partition ${this.#topicPartition}: ` +
          `${producerEpoch} (request epoch), ${firstSeq} (seq. number), ${updated.producerEpoch} (current producer epoch)`)
      }
      return
    }
    const lastSeq = updated.lastSeq
    // A producer without an epoch here (its data deleted by retention or DeleteRecords) may go on from any sequence.
    if (this.#current.producerEpoch === NO_PRODUCER_EPOCH || inSequence(lastSeq, firstSeq)) return
    throw new ProducerStateError(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
      `Out of order sequence number for producer ${this.producerId} at offset ${offset} in partition ${this.#topicPartition}: ` +
      `${firstSeq} (incoming seq. number), ${lastSeq} (current end sequence number)`)
  }
}

function inSequence (lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX)
}
