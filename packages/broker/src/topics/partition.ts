/**
 * A partition this broker hosts: its log, leadership (leader epoch, replicas, ISR) and the
 * listeners waiting for it to change (long-poll fetches).
 *
 * The high watermark moves when every in-sync replica has a record; with this broker as the
 * only replica it follows the log end offset. Listeners are told after every append and
 * high-watermark change, synchronously, and must only schedule work.
 */
import type { AppendOrigin, AppendResult, PartitionLog } from '@samsa/storage'

/** Told how many bytes were appended (0 for other changes). */
export type PartitionListener = (appendedBytes: number) => void

export class Partition {
  readonly topic: string
  readonly index: number
  readonly log: PartitionLog
  leaderEpoch: number
  replicas: number[]
  isr: number[]
  readonly leaderId: number
  readonly #listeners = new Set<PartitionListener>()

  constructor (topic: string, index: number, log: PartitionLog, leaderId: number, replicas: number[], leaderEpoch: number) {
    this.topic = topic
    this.index = index
    this.log = log
    this.leaderId = leaderId
    this.replicas = replicas
    this.isr = [...replicas]
    this.leaderEpoch = leaderEpoch
    this.#advanceHighWatermark()
  }

  get highWatermark (): number {
    return this.log.highWatermark
  }

  /**
   * Appends validated batches as the leader and advances the high watermark. `origin`: a
   * client's produce (producer batches validated, retries deduplicated) or a coordinator's
   * append (transaction markers, transactional offset commits). Throws ProducerStateError
   * for producer batches the producer state refuses.
   */
  appendAsLeader (batches: Buffer, origin: AppendOrigin = 'client'): AppendResult {
    const result = this.log.appendAsLeader(batches, this.leaderEpoch, origin)
    if (result.duplicate === true) return result
    this.#advanceHighWatermark()
    this.#notify(batches.length)
    return result
  }

  /** Tells waiters the partition changed (after appends, truncation, DeleteRecords). */
  changed (): void {
    this.#advanceHighWatermark()
    this.#notify(0)
  }

  #advanceHighWatermark (): void {
    // Single replica: everything appended is replicated to the whole ISR.
    if (this.isr.length <= 1) this.log.highWatermark = this.log.logEndOffset
  }

  addListener (listener: PartitionListener): void {
    this.#listeners.add(listener)
  }

  removeListener (listener: PartitionListener): void {
    this.#listeners.delete(listener)
  }

  #notify (appendedBytes: number): void {
    for (const listener of this.#listeners) listener(appendedBytes)
  }
}
