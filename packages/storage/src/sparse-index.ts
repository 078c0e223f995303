/**
 * A file of fixed-size entries, sorted by offset, kept whole in memory for binary search and
 * appended to the file lazily (on flush, roll and close). It is sparse: one entry per
 * `index.interval.bytes` of log. There is no header and no checksum; a file whose length is
 * not a multiple of the entry size, or whose entries are out of order, is corrupt and is
 * rebuilt from the log, as Kafka does (AbstractIndex.java).
 *
 * Crash behaviour: entries not yet written are lost, and the file may hold fewer entries than
 * the log needs. Recovery rebuilds the index of every segment past the recovery point; the
 * indexes of older segments were written before their data was flushed.
 */
import { StorageError, StorageErrorCode } from './errors.ts'
import type { HandlePool } from './handle-pool.ts'

export abstract class SparseIndex {
  readonly path: string
  readonly baseOffset: number
  readonly entrySize: number
  readonly maxEntries: number
  protected entries: Buffer
  #count = 0
  /** Entries already in the file. */
  #persisted = 0
  /** Whether the file changed since its last fsync began (an unchanged one is not synced again). */
  #unsynced = true
  /** The fsync under way: a flush with nothing new still waits for it. */
  #syncing: Promise<void> | undefined
  readonly #pool: HandlePool

  constructor (pool: HandlePool, path: string, baseOffset: number, entrySize: number, maxIndexSize: number) {
    this.#pool = pool
    this.path = path
    this.baseOffset = baseOffset
    this.entrySize = entrySize
    this.maxEntries = Math.max(1, Math.floor(maxIndexSize / entrySize))
    this.entries = Buffer.allocUnsafe(entrySize * Math.min(64, this.maxEntries))
  }

  get count (): number {
    return this.#count
  }

  get isFull (): boolean {
    return this.#count >= this.maxEntries
  }

  /** Size of the index once written, in bytes. */
  get sizeInBytes (): number {
    return this.#count * this.entrySize
  }

  /**
   * Loads the file's entries. Throws CORRUPT when the file cannot be a valid index for a log
   * of `logSize` bytes; the caller then rebuilds it.
   */
  load (logSize: number): void {
    const handle = this.#pool.get(this.path)
    const size = handle.size()
    const corrupt = (why: string): never => {
      throw new StorageError(StorageErrorCode.CORRUPT, `Corrupt index '${this.path}': ${why}`, { path: this.path })
    }
    if (size % this.entrySize !== 0) corrupt(`length ${size} is not a multiple of ${this.entrySize}`)
    const count = size / this.entrySize
    if (count > this.maxEntries) corrupt(`${count} entries exceed the maximum of ${this.maxEntries}`)
    this.#ensureCapacity(count)
    if (handle.read(this.entries, 0, size, 0) !== size) corrupt('short read')
    this.#count = count
    this.#persisted = count
    const problem = this.check(logSize)
    if (problem !== null) {
      this.#count = 0
      this.#persisted = 0
      corrupt(problem)
    }
  }

  /** Why the loaded entries are invalid for a log of `logSize` bytes, or null. */
  protected abstract check (logSize: number): string | null

  protected appendRaw (fill: (buf: Buffer, at: number) => void): void {
    if (this.isFull) throw new StorageError(StorageErrorCode.INVALID_BATCH, `Index '${this.path}' is full`)
    this.#ensureCapacity(this.#count + 1)
    fill(this.entries, this.#count * this.entrySize)
    this.#count++
  }

  /** Drops entries from `n` on, in memory and (if written) in the file. */
  protected truncateEntries (n: number): void {
    if (n >= this.#count) return
    this.#count = n
    if (this.#persisted > n) {
      this.#persisted = n
      this.#unsynced = true
      this.#pool.get(this.path).truncate(n * this.entrySize)
    }
  }

  /** Index of the last entry whose key (per `keyAt`) is <= `target`, or -1. */
  protected floorIndex (target: number, keyAt: (i: number) => number): number {
    let lo = 0
    let hi = this.#count - 1
    let found = -1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      if (keyAt(mid) <= target) {
        found = mid
        lo = mid + 1
      } else {
        hi = mid - 1
      }
    }
    return found
  }

  /** Writes entries not yet in the file (no fsync). */
  writePending (): void {
    if (this.#persisted === this.#count) return
    const from = this.#persisted * this.entrySize
    const to = this.#count * this.entrySize
    this.#unsynced = true
    this.#pool.get(this.path).write(this.entries.subarray(from, to), from)
    this.#persisted = this.#count
  }

  async flush (): Promise<void> {
    this.writePending()
    // A new index's file is created here at the latest (see reset).
    if (!this.#pool.exists(this.path)) this.#pool.get(this.path)
    if (!this.#unsynced) {
      await this.#syncing
      return
    }
    this.#unsynced = false
    const sync = this.#pool.with(this.path, (h) => h.sync())
    this.#syncing = sync
    try {
      await sync
    } catch (error) {
      this.#unsynced = true
      throw error
    } finally {
      if (this.#syncing === sync) this.#syncing = undefined
    }
  }

  /**
   * Empties the index (a new segment, or before a rebuild). A missing file is not created
   * here but by the first write or flush: creating files is what makes rolls and new
   * partitions slow on many file systems, and a missing index is rebuilt on open anyway.
   */
  reset (): void {
    this.#count = 0
    this.#persisted = 0
    // A file that does not exist has nothing to sync; flush creates it empty.
    this.#unsynced = this.#pool.exists(this.path)
    if (this.#unsynced) this.#pool.get(this.path).truncate(0)
  }

  close (): void {
    this.writePending()
    this.#pool.close(this.path)
  }

  #ensureCapacity (count: number): void {
    const needed = count * this.entrySize
    if (needed <= this.entries.length) return
    let capacity = this.entries.length
    while (capacity < needed) capacity *= 2
    const grown = Buffer.allocUnsafe(Math.min(capacity, this.maxEntries * this.entrySize))
    this.entries.copy(grown, 0, 0, this.#count * this.entrySize)
    this.entries = grown
  }
}
