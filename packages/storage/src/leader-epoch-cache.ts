/**
 * Which leader epoch started at which offset (KIP-101), persisted in the partition's
 * `leader-epoch-checkpoint` file (checkpoint-file.ts format, lines `<epoch> <startOffset>`).
 * Followers use it through OffsetForLeaderEpoch to find where their log diverges from the
 * leader's and truncate there.
 *
 * Invariant: epochs and start offsets both strictly increase. Every change is written to the
 * checkpoint (atomically; writes are serialised), and the log awaits the pending write on flush.
 * After a crash the file may lag the log: entries past the log end are removed on load, and
 * missing ones are re-learnt as batches are appended.
 */
import { type CheckpointFile, type EpochEntry, leaderEpochCheckpoint } from './checkpoint-file.ts'
import type { FileSystem } from './file-system.ts'

export const UNDEFINED_EPOCH = -1
export const UNDEFINED_EPOCH_OFFSET = -1

export interface EpochEndOffset {
  leaderEpoch: number
  endOffset: number
}

export class LeaderEpochCache {
  readonly #file: CheckpointFile<EpochEntry>
  #entries: EpochEntry[]
  #writing: Promise<void> = Promise.resolve()
  #writeError: Error | undefined = undefined

  constructor (fs: FileSystem, path: string) {
    this.#file = leaderEpochCheckpoint(fs, path)
    this.#entries = this.#file.read()
  }

  get entries (): readonly EpochEntry[] {
    return this.#entries
  }

  get latestEpoch (): number {
    return this.#entries.at(-1)?.epoch ?? UNDEFINED_EPOCH
  }

  /** The epoch of the record at `offset`, or -1 if before every entry. */
  epochForOffset (offset: number): number {
    let epoch = UNDEFINED_EPOCH
    for (const e of this.#entries) {
      if (e.startOffset > offset) break
      epoch = e.epoch
    }
    return epoch
  }

  /** Records that `epoch` starts at `startOffset` if it is newer than the latest epoch. */
  assign (epoch: number, startOffset: number): void {
    if (epoch < 0 || epoch <= this.latestEpoch) return
    // Anything at or past the new start offset belongs to a superseded history.
    this.#entries = this.#entries.filter((e) => e.startOffset < startOffset)
    this.#entries.push({ epoch, startOffset })
    this.#persist()
  }

  /**
   * The largest epoch <= `requestedEpoch` and the offset where it ended (the start of the next
   * epoch, or the log end for the latest), as Kafka's LeaderEpochFileCache.endOffsetFor.
   */
  endOffsetFor (requestedEpoch: number, logEndOffset: number): EpochEndOffset {
    if (requestedEpoch === UNDEFINED_EPOCH || this.#entries.length === 0) {
      return { leaderEpoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET }
    }
    if (requestedEpoch === this.latestEpoch) return { leaderEpoch: requestedEpoch, endOffset: logEndOffset }
    const higher = this.#entries.find((e) => e.epoch > requestedEpoch)
    if (higher === undefined) return { leaderEpoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET }
    let floor: EpochEntry | undefined
    for (const e of this.#entries) if (e.epoch <= requestedEpoch) floor = e
    return { leaderEpoch: floor?.epoch ?? requestedEpoch, endOffset: higher.startOffset }
  }

  /** Removes entries starting at or after `endOffset` (the log was truncated there). */
  truncateFromEnd (endOffset: number): void {
    const kept = this.#entries.filter((e) => e.startOffset < endOffset)
    if (kept.length === this.#entries.length) return
    this.#entries = kept
    this.#persist()
  }

  /** Drops epochs wholly before `startOffset` and clips the first one to it. */
  truncateFromStart (startOffset: number): void {
    let i = 0
    while (i + 1 < this.#entries.length && this.#entries[i + 1]!.startOffset <= startOffset) i++
    const first = this.#entries[i]
    if (first === undefined || (i === 0 && first.startOffset >= startOffset)) return
    this.#entries = [{ epoch: first.epoch, startOffset: Math.max(first.startOffset, startOffset) }, ...this.#entries.slice(i + 1)]
    this.#persist()
  }

  /** Resolves when every change so far is durable; rejects if a write failed. */
  async flush (): Promise<void> {
    await this.#writing
    if (this.#writeError !== undefined) {
      const error = this.#writeError
      this.#writeError = undefined
      throw error
    }
  }

  #persist (): void {
    const snapshot = this.#entries.slice()
    this.#writing = this.#writing.then(() => this.#file.write(snapshot)).catch((error: unknown) => {
      this.#writeError = error instanceof Error ? error : new Error(String(error))
    })
  }
}
