/**
 * One transactional id's state at the coordinator (Kafka's TransactionMetadata) and its
 * transitions. A change is prepared (`prepare*` sets `pendingState` and returns the target
 * state), written to `__transaction_state`, and only then applied (`completeTransitionTo`) or
 * dropped (`abortPendingTransition`); while one is pending, other requests for the id get
 * CONCURRENT_TRANSACTIONS.
 *
 *   Empty ──AddPartitions──▶ Ongoing ──EndTxn──▶ PrepareCommit/PrepareAbort ──markers──▶ CompleteCommit/CompleteAbort
 *     ▲                         │                                                          │
 *     └───────InitProducerId────┴──(fence: PrepareEpochFence, in memory, then PrepareAbort)─┘
 *   Empty/Complete* ──transactional.id.expiration.ms──▶ Dead (tombstone)
 */
import { TransactionState } from './transaction-log.ts'

export const NO_PRODUCER_ID = -1n
export const NO_PRODUCER_EPOCH = -1
/** Short.MaxValue: an epoch at or past MAX - 1 is exhausted; the id gets a new producer id. */
const SHORT_MAX = 32767

export function isEpochExhausted (epoch: number): boolean {
  return epoch >= SHORT_MAX - 1
}

/** Partitions as `topic -> partition ids`. */
export type TopicPartitions = Map<string, Set<number>>

export function partitionCount (p: TopicPartitions): number {
  let n = 0
  for (const s of p.values()) n += s.size
  return n
}

export function copyPartitions (p: TopicPartitions): TopicPartitions {
  return new Map([...p].map(([t, s]) => [t, new Set(s)]))
}

/** The state a transition leads to (Kafka's TxnTransitMetadata). */
export interface TxnTransit {
  producerId: bigint
  previousProducerId: bigint
  producerEpoch: number
  lastProducerEpoch: number
  txnTimeoutMs: number
  state: TransactionState
  partitions: TopicPartitions
  txnStartTimestamp: number
  txnLastUpdateTimestamp: number
}

export class TransactionMetadata {
  readonly transactionalId: string
  producerId: bigint
  previousProducerId: bigint
  producerEpoch: number
  /** The epoch before the last bump (KIP-360 retries); not persisted, as in Kafka. */
  lastProducerEpoch: number
  txnTimeoutMs: number
  state: TransactionState
  partitions: TopicPartitions
  txnStartTimestamp: number
  txnLastUpdateTimestamp: number
  pendingState: TransactionState | undefined
  /** A fencing abort failed to be written: the next fence does not bump the epoch again. */
  hasFailedEpochFence = false

  constructor (transactionalId: string, t: TxnTransit) {
    this.transactionalId = transactionalId
    this.producerId = t.producerId
    this.previousProducerId = t.previousProducerId
    this.producerEpoch = t.producerEpoch
    this.lastProducerEpoch = t.lastProducerEpoch
    this.txnTimeoutMs = t.txnTimeoutMs
    this.state = t.state
    this.partitions = t.partitions
    this.txnStartTimestamp = t.txnStartTimestamp
    this.txnLastUpdateTimestamp = t.txnLastUpdateTimestamp
  }

  get pendingTransitionInProgress (): boolean {
    return this.pendingState !== undefined
  }

  get isProducerEpochExhausted (): boolean {
    return isEpochExhausted(this.producerEpoch)
  }

  hasPartition (topic: string, partition: number): boolean {
    return this.partitions.get(topic)?.has(partition) === true
  }

  removePartition (topic: string, partition: number): void {
    const set = this.partitions.get(topic)
    if (set === undefined) return
    set.delete(partition)
    if (set.size === 0) this.partitions.delete(topic)
  }

  #current (): TxnTransit {
    return {
      producerId: this.producerId,
      previousProducerId: this.previousProducerId,
      producerEpoch: this.producerEpoch,
      lastProducerEpoch: this.lastProducerEpoch,
      txnTimeoutMs: this.txnTimeoutMs,
      state: this.state,
      partitions: copyPartitions(this.partitions),
      txnStartTimestamp: this.txnStartTimestamp,
      txnLastUpdateTimestamp: this.txnLastUpdateTimestamp
    }
  }

  #prepare (t: TxnTransit): TxnTransit {
    this.pendingState = t.state
    return t
  }

  /** InitProducerId on a finished transaction: the next epoch, or PRODUCER_FENCED (Kafka's prepareIncrementProducerEpoch). */
  prepareIncrementProducerEpoch (txnTimeoutMs: number, expectedEpoch: number | undefined, now: number): TxnTransit | 'PRODUCER_FENCED' {
    const bumped = this.producerEpoch + 1
    let next: [number, number]
    if (expectedEpoch === undefined) {
      // A producer initialising for the first time.
      next = [bumped, NO_PRODUCER_EPOCH]
    } else if (this.producerEpoch === NO_PRODUCER_EPOCH || expectedEpoch === this.producerEpoch) {
      next = [bumped, this.producerEpoch]
    } else if (expectedEpoch === this.lastProducerEpoch) {
      // A retry of a bump that succeeded: the same answer again.
      next = [this.producerEpoch, this.lastProducerEpoch]
    } else {
      return 'PRODUCER_FENCED'
    }
    return this.#prepare({
      ...this.#current(), producerEpoch: next[0], lastProducerEpoch: next[1], txnTimeoutMs, state: TransactionState.Empty,
      partitions: new Map(), txnStartTimestamp: -1, txnLastUpdateTimestamp: now
    })
  }

  /** The epochs of this producer id are used up: a new producer id, epoch 0. */
  prepareProducerIdRotation (newProducerId: bigint, txnTimeoutMs: number, now: number, recordLastEpoch: boolean): TxnTransit {
    return this.#prepare({
      ...this.#current(), producerId: newProducerId, previousProducerId: this.producerId, producerEpoch: 0,
      lastProducerEpoch: recordLastEpoch ? this.producerEpoch : NO_PRODUCER_EPOCH, txnTimeoutMs, state: TransactionState.Empty,
      partitions: new Map(), txnStartTimestamp: -1, txnLastUpdateTimestamp: now
    })
  }

  /** Fencing an open transaction (a new producer instance, or a timeout): the abort markers carry a bumped epoch. */
  prepareFenceProducerEpoch (): TxnTransit {
    const bumped = this.hasFailedEpochFence || this.producerEpoch >= SHORT_MAX ? this.producerEpoch : this.producerEpoch + 1
    return this.#prepare({ ...this.#current(), producerEpoch: bumped, lastProducerEpoch: NO_PRODUCER_EPOCH, state: TransactionState.PrepareEpochFence })
  }

  prepareAddPartitions (added: TopicPartitions, now: number): TxnTransit {
    const startNew = this.state === TransactionState.Empty || this.state === TransactionState.CompleteAbort || this.state === TransactionState.CompleteCommit
    const partitions = copyPartitions(this.partitions)
    for (const [topic, ids] of added) {
      let set = partitions.get(topic)
      if (set === undefined) partitions.set(topic, set = new Set())
      for (const id of ids) set.add(id)
    }
    return this.#prepare({
      ...this.#current(), state: TransactionState.Ongoing, partitions, txnStartTimestamp: startNew ? now : this.txnStartTimestamp, txnLastUpdateTimestamp: now
    })
  }

  prepareAbortOrCommit (state: typeof TransactionState.PrepareCommit | typeof TransactionState.PrepareAbort, now: number): TxnTransit {
    return this.#prepare({ ...this.#current(), state, txnLastUpdateTimestamp: now })
  }

  /** After the markers: CompleteCommit or CompleteAbort, no partitions. */
  prepareComplete (now: number): TxnTransit {
    const state = this.state === TransactionState.PrepareCommit ? TransactionState.CompleteCommit : TransactionState.CompleteAbort
    return this.#prepare({ ...this.#current(), state, partitions: new Map(), txnLastUpdateTimestamp: now })
  }

  /** transactional.id.expiration.ms: the id goes (a tombstone is written). */
  prepareDead (): TxnTransit {
    return this.#prepare({ ...this.#current(), state: TransactionState.Dead, partitions: new Map() })
  }

  completeTransitionTo (t: TxnTransit): void {
    this.producerId = t.producerId
    this.previousProducerId = t.previousProducerId
    this.producerEpoch = t.producerEpoch
    this.lastProducerEpoch = t.lastProducerEpoch
    this.txnTimeoutMs = t.txnTimeoutMs
    this.state = t.state
    this.partitions = t.partitions
    this.txnStartTimestamp = t.txnStartTimestamp
    this.txnLastUpdateTimestamp = t.txnLastUpdateTimestamp
    this.pendingState = undefined
    this.hasFailedEpochFence = false
  }

  abortPendingTransition (): void {
    this.pendingState = undefined
  }
}
