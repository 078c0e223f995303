/**
 * The producer state of one partition (Kafka's ProducerStateManager): for every producer id
 * that wrote to it, its epoch, its last five batches, its open transaction and its
 * coordinator's epoch; and the transactions in progress, which bound the last stable offset.
 *
 * PartitionLog owns one and keeps it in step with the log: each append is validated through a
 * ProducerAppendInfo per producer and applied once written (`update`, then `completeTxn` for the
 * transactions its COMMIT/ABORT markers ended); truncation and loading rebuild it from the
 * newest snapshot (producer-snapshot.ts) plus the batches after it; `mapEndOffset` is the
 * offset it reflects the log up to.
 *
 * Unstable offsets: a transaction is undecided from its first batch until its marker, and
 * stays unstable until the high watermark passes the marker (an unreplicated marker could
 * still be lost). The first unstable offset bounds the LSO: min(first unstable, HW).
 *
 * Expiry: a producer idle for `producer.id.expiration.ms` (by its last batch's timestamp) is
 * forgotten, unless it has a transaction open.
 */
import { type AppendOrigin, type CompletedTxn, ProducerAppendInfo } from './producer-append-info.ts'
import { ProducerStateEntry } from './producer-state-entry.ts'
import { decodeProducerSnapshot, encodeProducerSnapshot } from './producer-snapshot.ts'

/** `producer.id.expiration.ms` default. */
export const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86400000
/** `producer.id.expiration.check.interval.ms` default. */
export const DEFAULT_PRODUCER_ID_EXPIRATION_CHECK_INTERVAL_MS = 600000

export interface ProducerStateConfig {
  /** `producer.id.expiration.ms`. */
  producerIdExpirationMs: number
}

export const DEFAULT_PRODUCER_STATE_CONFIG: Readonly<ProducerStateConfig> = Object.freeze({
  producerIdExpirationMs: DEFAULT_PRODUCER_ID_EXPIRATION_MS
})

interface TxnMetadata {
  producerId: bigint
  firstOffset: number
  /** The marker's offset, once the transaction is decided. */
  lastOffset: number
}

/** What the log cleaner needs to know of a producer (Kafka's LastRecord). */
export interface LastRecord {
  lastDataOffset: number | undefined
  producerEpoch: number
}

export class ProducerStateManager {
  readonly topicPartition: string
  config: ProducerStateConfig
  readonly #producers = new Map<bigint, ProducerStateEntry>()
  /** Undecided transactions by first offset. */
  readonly #ongoingTxns = new Map<number, TxnMetadata>()
  /** Decided transactions whose marker is not below the high watermark yet, by first offset. */
  readonly #unreplicatedTxns = new Map<number, TxnMetadata>()
  #mapEndOffset = 0

  constructor (topicPartition: string, config: ProducerStateConfig = DEFAULT_PRODUCER_STATE_CONFIG) {
    this.topicPartition = topicPartition
    this.config = config
  }

  get mapEndOffset (): number {
    return this.#mapEndOffset
  }

  updateMapEndOffset (offset: number): void {
    this.#mapEndOffset = offset
  }

  get producerIdCount (): number {
    return this.#producers.size
  }

  get isEmpty (): boolean {
    return this.#producers.size === 0 && this.#unreplicatedTxns.size === 0
  }

  /** Every producer this partition knows, by id. */
  get activeProducers (): ReadonlyMap<bigint, ProducerStateEntry> {
    return this.#producers
  }

  lastEntry (producerId: bigint): ProducerStateEntry | undefined {
    return this.#producers.get(producerId)
  }

  /** Whether the producer has a transaction open here in this epoch. */
  hasOngoingTransaction (producerId: bigint, producerEpoch: number): boolean {
    const entry = this.#producers.get(producerId)
    return entry !== undefined && entry.currentTxnFirstOffset >= 0 && entry.producerEpoch === producerEpoch
  }

  /** For the log cleaner: each producer's last data offset and epoch. */
  lastRecords (): Map<bigint, LastRecord> {
    const out = new Map<bigint, LastRecord>()
    for (const [id, e] of this.#producers) out.set(id, { lastDataOffset: e.lastDataOffset >= 0 ? e.lastDataOffset : undefined, producerEpoch: e.producerEpoch })
    return out
  }

  // ---- appends

  prepareUpdate (producerId: bigint, origin: AppendOrigin): ProducerAppendInfo {
    return new ProducerAppendInfo(this.topicPartition, this.#producers.get(producerId) ?? ProducerStateEntry.empty(producerId), origin)
  }

  /** Applies a validated append. */
  update (info: ProducerAppendInfo): void {
    const current = this.#producers.get(info.producerId)
    if (current === undefined) this.#producers.set(info.producerId, info.updated)
    else current.update(info.updated)
    for (const firstOffset of info.startedTransactions) this.#ongoingTxns.set(firstOffset, { producerId: info.producerId, firstOffset, lastOffset: -1 })
  }

  /**
   * The LSO to record with a completed transaction (Kafka's lastStableOffset(CompletedTxn)):
   * the first offset of the oldest other transaction still open, else the offset after the marker.
   */
  lastStableOffset (completed: CompletedTxn): number {
    let first: number | undefined
    for (const txn of this.#ongoingTxns.values()) {
      if (txn.producerId !== completed.producerId && (first === undefined || txn.firstOffset < first)) first = txn.firstOffset
    }
    return first ?? completed.lastOffset + 1
  }

  /** Marks a transaction decided; it stays unstable until the high watermark passes its marker. */
  completeTxn (completed: CompletedTxn): void {
    const txn = this.#ongoingTxns.get(completed.firstOffset)
    if (txn === undefined) return
    this.#ongoingTxns.delete(completed.firstOffset)
    txn.lastOffset = completed.lastOffset
    this.#unreplicatedTxns.set(completed.firstOffset, txn)
  }

  /** The first offset of a transaction that is undecided or whose marker is above the high watermark. */
  firstUnstableOffset (): number | undefined {
    let first: number | undefined
    for (const txns of [this.#ongoingTxns, this.#unreplicatedTxns]) {
      for (const t of txns.keys()) if (first === undefined || t < first) first = t
    }
    return first
  }

  /** The first offset of a transaction not decided yet. */
  firstUndecidedOffset (): number | undefined {
    let first: number | undefined
    for (const t of this.#ongoingTxns.keys()) if (first === undefined || t < first) first = t
    return first
  }

  onHighWatermarkUpdated (highWatermark: number): void {
    this.#removeUnreplicatedTransactions(highWatermark)
  }

  onLogStartOffsetIncremented (logStartOffset: number): void {
    this.#removeUnreplicatedTransactions(logStartOffset)
    if (this.#mapEndOffset < logStartOffset) this.#mapEndOffset = logStartOffset
  }

  #removeUnreplicatedTransactions (offset: number): void {
    if (this.#unreplicatedTxns.size === 0) return
    for (const [first, txn] of this.#unreplicatedTxns) if (txn.lastOffset < offset) this.#unreplicatedTxns.delete(first)
  }

  // ---- expiry

  #isExpired (now: number, entry: ProducerStateEntry): boolean {
    return entry.currentTxnFirstOffset < 0 && now - entry.lastTimestamp >= this.config.producerIdExpirationMs
  }

  /** Forgets producers idle longer than `producer.id.expiration.ms`; returns how many. */
  removeExpiredProducers (now: number): number {
    let n = 0
    for (const [id, entry] of this.#producers) {
      if (this.#isExpired(now, entry)) {
        this.#producers.delete(id)
        n++
      }
    }
    return n
  }

  // ---- snapshots and reloading

  /** The state as a snapshot file's bytes (producer-snapshot.ts). */
  snapshot (): Buffer {
    return encodeProducerSnapshot(this.#producers.values())
  }

  /**
   * Replaces the state with a snapshot's (expired producers left out) taken at `offset`.
   * Throws CorruptSnapshotError, leaving the state empty.
   */
  loadSnapshot (data: Buffer, offset: number, now: number): void {
    this.truncateFullyAndStartAt(offset)
    for (const entry of decodeProducerSnapshot(data)) {
      if (this.#isExpired(now, entry)) continue
      this.loadProducerEntry(entry)
    }
  }

  loadProducerEntry (entry: ProducerStateEntry): void {
    this.#producers.set(entry.producerId, entry)
    if (entry.currentTxnFirstOffset >= 0) {
      this.#ongoingTxns.set(entry.currentTxnFirstOffset, { producerId: entry.producerId, firstOffset: entry.currentTxnFirstOffset, lastOffset: -1 })
    }
  }

  /** Empties the state; it now reflects the log up to `offset`. */
  truncateFullyAndStartAt (offset: number): void {
    this.#producers.clear()
    this.#ongoingTxns.clear()
    this.#unreplicatedTxns.clear()
    this.#mapEndOffset = offset
  }
}
