/**
 * `<base offset>.index`: maps offsets to positions in the segment's `.log` file.
 *
 * Layout (OffsetIndex.java): 8-byte entries, big-endian
 *     int32 relativeOffset   (offset - segment base offset; the last offset of a batch)
 *     int32 position         (byte position of that batch in the .log file)
 * Invariants: relative offsets strictly increase, positions never decrease and stay below the
 * log size. Lookup gives the last entry at or below a target; the reader scans forward from
 * its position. See SparseIndex for crash behaviour.
 */
import { SparseIndex } from './sparse-index.ts'
import type { HandlePool } from './handle-pool.ts'

export const OFFSET_INDEX_ENTRY_SIZE = 8

export interface OffsetPosition {
  offset: number
  position: number
}

export class OffsetIndex extends SparseIndex {
  constructor (pool: HandlePool, path: string, baseOffset: number, maxIndexSize: number) {
    super(pool, path, baseOffset, OFFSET_INDEX_ENTRY_SIZE, maxIndexSize)
  }

  offsetAt (i: number): number {
    return this.baseOffset + this.entries.readInt32BE(i * OFFSET_INDEX_ENTRY_SIZE)
  }

  positionAt (i: number): number {
    return this.entries.readInt32BE(i * OFFSET_INDEX_ENTRY_SIZE + 4)
  }

  /** The offset of the last entry, or the base offset when empty. */
  get lastOffset (): number {
    return this.count === 0 ? this.baseOffset : this.offsetAt(this.count - 1)
  }

  append (offset: number, position: number): void {
    if (this.count > 0 && offset <= this.lastOffset) return
    this.appendRaw((buf, at) => {
      buf.writeInt32BE(offset - this.baseOffset, at)
      buf.writeInt32BE(position, at + 4)
    })
  }

  /** The last entry with offset <= `target`, or (base offset, 0). */
  lookup (target: number): OffsetPosition {
    const i = this.floorIndex(target, (j) => this.offsetAt(j))
    return i < 0 ? { offset: this.baseOffset, position: 0 } : { offset: this.offsetAt(i), position: this.positionAt(i) }
  }

  /** Removes entries for offsets >= `offset`. */
  truncateTo (offset: number): void {
    this.truncateEntries(this.floorIndex(offset - 1, (j) => this.offsetAt(j)) + 1)
  }

  protected check (logSize: number): string | null {
    let lastOffset = -1
    let lastPosition = -1
    for (let i = 0; i < this.count; i++) {
      const offset = this.offsetAt(i)
      const position = this.positionAt(i)
      if (offset < this.baseOffset || offset <= lastOffset) return `entry ${i} offset ${offset} is out of order`
      if (position < lastPosition || position >= logSize) return `entry ${i} position ${position} is invalid`
      lastOffset = offset
      lastPosition = position
    }
    return null
  }
}
