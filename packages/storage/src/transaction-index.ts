/**
 * `<base offset>.txnindex`: the aborted transactions whose ABORT marker is in this segment,
 * so a read_committed Fetch can list the aborted transactions overlapping what it returns.
 *
 * Layout (TransactionIndex.java): 34-byte entries, big-endian, in marker order
 *     int16 version (0)
 *     int64 producerId
 *     int64 firstOffset         (first offset of the aborted transaction)
 *     int64 lastOffset          (offset of its ABORT marker)
 *     int64 lastStableOffset    (the LSO when the marker was written)
 * Written through on append (the file is small and the transaction layer needs it durable
 * with the marker). A crash can leave a partial last entry, which load() drops; recovery of
 * the segment rebuilds entries from the markers in the log via the transaction layer.
 */
import { StorageError, StorageErrorCode } from './errors.ts'
import type { HandlePool } from './handle-pool.ts'

export const TXN_INDEX_ENTRY_SIZE = 34
const VERSION = 0

export interface AbortedTxn {
  producerId: bigint
  firstOffset: number
  lastOffset: number
  lastStableOffset: number
}

export class TransactionIndex {
  readonly path: string
  readonly baseOffset: number
  readonly #pool: HandlePool
  #entries: AbortedTxn[] = []
  #loaded = false

  constructor (pool: HandlePool, path: string, baseOffset: number) {
    this.#pool = pool
    this.path = path
    this.baseOffset = baseOffset
  }

  /** Entries, loaded from the file on first use (most segments never need it). */
  get entries (): readonly AbortedTxn[] {
    this.#load()
    return this.#entries
  }

  /** Adds an entry after the last one; the same marker again (same producer and offset) is ignored. */
  append (txn: AbortedTxn): void {
    this.#load()
    const last = this.#entries.at(-1)
    if (last !== undefined && txn.lastOffset === last.lastOffset && txn.producerId === last.producerId) return
    if (last !== undefined && txn.lastOffset <= last.lastOffset) {
      throw new StorageError(StorageErrorCode.INVALID_BATCH,
        `Aborted transaction ending at ${txn.lastOffset} is not after ${last.lastOffset} in '${this.path}'`)
    }
    const buf = Buffer.allocUnsafe(TXN_INDEX_ENTRY_SIZE)
    buf.writeInt16BE(VERSION, 0)
    buf.writeBigInt64BE(txn.producerId, 2)
    buf.writeBigInt64BE(BigInt(txn.firstOffset), 10)
    buf.writeBigInt64BE(BigInt(txn.lastOffset), 18)
    buf.writeBigInt64BE(BigInt(txn.lastStableOffset), 26)
    this.#pool.get(this.path).write(buf, this.#entries.length * TXN_INDEX_ENTRY_SIZE)
    this.#entries.push(txn)
  }

  /**
   * Aborted transactions overlapping [fetchOffset, upperBoundOffset): those whose ABORT
   * marker is at or after `fetchOffset` and which began before `upperBoundOffset`.
   */
  collectAborted (fetchOffset: number, upperBoundOffset: number): AbortedTxn[] {
    return this.entries.filter((t) => t.lastOffset >= fetchOffset && t.firstOffset < upperBoundOffset)
  }

  /** Removes transactions whose marker is at or after `offset`. */
  truncateTo (offset: number): void {
    this.#load()
    const keep = this.#entries.findIndex((t) => t.lastOffset >= offset)
    if (keep < 0 || !this.#pool.exists(this.path)) return
    this.#entries.length = keep
    this.#pool.get(this.path).truncate(keep * TXN_INDEX_ENTRY_SIZE)
  }

  reset (): void {
    this.#entries = []
    this.#loaded = true
    if (this.#pool.exists(this.path)) this.#pool.get(this.path).truncate(0)
  }

  async flush (): Promise<void> {
    if (!this.#pool.exists(this.path)) return
    await this.#pool.with(this.path, (h) => h.sync())
  }

  close (): void {
    this.#pool.close(this.path)
  }

  #load (): void {
    if (this.#loaded) return
    this.#loaded = true
    // Most segments never hold an aborted transaction: do not create the file to find out.
    if (!this.#pool.exists(this.path)) return
    const handle = this.#pool.get(this.path)
    const whole = Math.floor(handle.size() / TXN_INDEX_ENTRY_SIZE) * TXN_INDEX_ENTRY_SIZE
    const buf = Buffer.allocUnsafe(whole)
    handle.read(buf, 0, whole, 0)
    if (whole !== handle.size()) handle.truncate(whole)
    for (let at = 0; at < whole; at += TXN_INDEX_ENTRY_SIZE) {
      if (buf.readInt16BE(at) !== VERSION) break
      this.#entries.push({
        producerId: buf.readBigInt64BE(at + 2),
        firstOffset: Number(buf.readBigInt64BE(at + 10)),
        lastOffset: Number(buf.readBigInt64BE(at + 18)),
        lastStableOffset: Number(buf.readBigInt64BE(at + 26))
      })
    }
  }
}
