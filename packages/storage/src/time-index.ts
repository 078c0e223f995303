/**
 * `<base offset>.timeindex`: maps timestamps to offsets in the segment.
 *
 * Layout (TimeIndex.java): 12-byte entries, big-endian
 *     int64 timestamp        (the largest timestamp seen so far in the segment)
 *     int32 relativeOffset   (the offset of the record with that timestamp, minus the base)
 * An entry is added only when the timestamp grows, so timestamps and offsets both increase.
 * Lookup gives the last entry whose timestamp is <= a target; the first offset with a
 * timestamp >= the target is at or after it. See SparseIndex for crash behaviour.
 */
import { SparseIndex } from './sparse-index.ts'
import type { HandlePool } from './handle-pool.ts'

export const TIME_INDEX_ENTRY_SIZE = 12

export interface TimestampOffset {
  timestamp: number
  offset: number
}

export class TimeIndex extends SparseIndex {
  constructor (pool: HandlePool, path: string, baseOffset: number, maxIndexSize: number) {
    super(pool, path, baseOffset, TIME_INDEX_ENTRY_SIZE, maxIndexSize)
  }

  timestampAt (i: number): number {
    return Number(this.entries.readBigInt64BE(i * TIME_INDEX_ENTRY_SIZE))
  }

  offsetAt (i: number): number {
    return this.baseOffset + this.entries.readInt32BE(i * TIME_INDEX_ENTRY_SIZE + 8)
  }

  /** The last entry, or (-1, base offset) when empty. */
  get lastEntry (): TimestampOffset {
    return this.count === 0
      ? { timestamp: -1, offset: this.baseOffset }
      : { timestamp: this.timestampAt(this.count - 1), offset: this.offsetAt(this.count - 1) }
  }

  /** Adds an entry if `timestamp` is larger than the last one (and the offset not smaller). */
  maybeAppend (timestamp: number, offset: number): void {
    if (this.count > 0) {
      const last = this.lastEntry
      if (timestamp <= last.timestamp || offset < last.offset) return
    }
    this.appendRaw((buf, at) => {
      buf.writeBigInt64BE(BigInt(timestamp), at)
      buf.writeInt32BE(offset - this.baseOffset, at + 8)
    })
  }

  /** The last entry with timestamp <= `timestamp`, or (-1, base offset). */
  lookup (timestamp: number): TimestampOffset {
    const i = this.floorIndex(timestamp, (j) => this.timestampAt(j))
    return i < 0 ? { timestamp: -1, offset: this.baseOffset } : { timestamp: this.timestampAt(i), offset: this.offsetAt(i) }
  }

  /** Removes entries for offsets >= `offset`. */
  truncateTo (offset: number): void {
    let keep = this.count
    while (keep > 0 && this.offsetAt(keep - 1) >= offset) keep--
    this.truncateEntries(keep)
  }

  protected check (): string | null {
    let lastTimestamp = Number.NEGATIVE_INFINITY
    let lastOffset = -1
    for (let i = 0; i < this.count; i++) {
      const timestamp = this.timestampAt(i)
      const offset = this.offsetAt(i)
      if (timestamp <= lastTimestamp) return `entry ${i} timestamp ${timestamp} is out of order`
      if (offset < this.baseOffset || offset < lastOffset) return `entry ${i} offset ${offset} is out of order`
      lastTimestamp = timestamp
      lastOffset = offset
    }
    return null
  }
}
