/**
 * One segment of a partition log: `<base offset>.log` with its `.index`, `.timeindex` and
 * `.txnindex`.
 *
 * `.log` layout: RecordBatch v2 batches back to back, exactly the bytes producers sent with
 * the base offset (and leader epoch, LogAppendTime) stamped in place; no header or footer.
 * Each batch frames itself: int64 baseOffset, int32 batchLength (bytes after this field).
 *
 * Invariants: batches are whole and valid (magic 2, CRC-32C) below `size`; base offsets
 * increase; every offset in the segment is >= `baseOffset` and < baseOffset + 2^31 (relative
 * offsets fit the index's int32).
 *
 * Crash behaviour: unsynced bytes may be lost or torn at the end. recover() validates every
 * batch and truncates an invalid tail; an invalid batch followed by valid ones is corruption in
 * the middle, which is kept and reported (reads touching it fail) instead of cutting the valid
 * data after it. Reads verify each batch's CRC once (a verified-position watermark), so bytes
 * that rotted on disk are not served silently.
 *
 * Coalesced appends (appendPending): batches are copied into a staging buffer and written
 * together by writePending(), one write call for many batches. The segment's in-memory state
 * (size, next offset, indexes, largest timestamp) covers them at once, so offsets and index
 * entries are assigned at append time; the file holds the bytes below `writtenSize`. Anything
 * that reads the file writes the pending bytes first, so no read misses or half-sees them. A
 * failed write cuts the file back to `writtenSize` and rolls the in-memory state back to it,
 * as a truncation to the first pending batch would (the owner, PartitionLog, then rolls back
 * what it assigned: producer state, leader epochs, high watermark).
 *
 * Not thread-safe: one partition's operations run one at a time on the event loop.
 */
import { join } from 'node:path'
import {
  CURRENT_MAGIC, LOG_OVERHEAD, MIN_BATCH_LENGTH, RECORD_BATCH_OVERHEAD, computeBatchCrc, readBaseOffset, readBatchLength,
  readCrc, readLastOffsetDelta, readMagic, readMaxTimestamp
} from '@samsa/protocol'
import { StorageError, StorageErrorCode } from './errors.ts'
import type { HandlePool } from './handle-pool.ts'
import { OffsetIndex } from './offset-index.ts'
import { TimeIndex } from './time-index.ts'
import { TransactionIndex } from './transaction-index.ts'

export const LOG_SUFFIX = '.log'
export const INDEX_SUFFIX = '.index'
export const TIME_INDEX_SUFFIX = '.timeindex'
export const TXN_INDEX_SUFFIX = '.txnindex'

/** Kafka's file name for a base offset: 20 digits, zero-padded. */
export function offsetFileName (offset: number): string {
  return String(offset).padStart(20, '0')
}

/** Where a batch sits in a segment file. */
export interface BatchInfo {
  position: number
  baseOffset: number
  lastOffset: number
  size: number
  maxTimestamp: number
  /** The batch's first RECORD_BATCH_OVERHEAD bytes, when asked for (batches() `withHeader`). */
  header?: Buffer
}

export interface SegmentOptions {
  indexIntervalBytes: number
  maxIndexSize: number
}

export interface SegmentRead {
  /** Whole batches, in a fresh buffer the caller may keep. */
  records: Buffer
  /** Offset of the first batch returned and position it came from. */
  firstOffset: number
  position: number
}

const SCAN_CHUNK = 64 * 1024

/**
 * The framing helpers and sizes the read path uses per batch, bound once: an imported binding
 * can cost a lookup per use (tsx, which runs the source, compiles modules to CommonJS with a
 * getter per export, two for a re-export: a quarter of a small read's time).
 */
const lengthAt = readBatchLength
const baseOffsetAt = readBaseOffset
const lastOffsetDeltaAt = readLastOffsetDelta
const magicAt = readMagic
const FRAMING = LOG_OVERHEAD
const MIN_FRAMED = LOG_OVERHEAD + MIN_BATCH_LENGTH
const HEADER = RECORD_BATCH_OVERHEAD
const MAGIC = CURRENT_MAGIC

/** Where a read ended (see LogSegment.#resume). */
interface ResumePoint {
  position: number
  /** Of the batch there, when known (else 0 and -1). */
  size: number
  baseOffset: number
}
/** Resume points kept per segment. */
const RESUME_POINTS = 8

/** The first staging buffer of a coalescing run; it doubles as batches arrive, up to the run's bound. */
const MIN_STAGING = 64 * 1024
/** Full-size staging buffers kept for reuse (a busy partition fills one per event-loop turn). */
const stagingPool: Buffer[] = []
const STAGING_POOL_MAX = 4

function takeStaging (size: number, max: number): Buffer {
  // A pooled full-size buffer is already backed by memory: much cheaper than a fresh one,
  // whose pages the kernel must fault in and zero on first touch.
  const at = stagingPool.findIndex((b) => b.length === max)
  if (at >= 0) return stagingPool.splice(at, 1)[0]!
  let capacity = MIN_STAGING
  while (capacity < size) capacity *= 2
  return Buffer.allocUnsafeSlow(Math.min(capacity, max))
}

function releaseStaging (buf: Buffer, max: number): void {
  if (buf.length === max && stagingPool.length < STAGING_POOL_MAX && !stagingPool.includes(buf)) stagingPool.push(buf)
}

export class LogSegment {
  readonly baseOffset: number
  readonly dir: string
  readonly logPath: string
  readonly offsetIndex: OffsetIndex
  readonly timeIndex: TimeIndex
  readonly txnIndex: TransactionIndex
  readonly #pool: HandlePool
  readonly #options: SegmentOptions
  #size = 0
  #bytesSinceLastIndexEntry = 0
  #maxTimestamp = -1
  #offsetOfMaxTimestamp = -1
  #nextOffset: number
  /** The first batch's timestamp: undefined when empty, null when not read yet. */
  #firstBatchTimestamp: number | undefined | null = undefined
  readonly #created: number
  /** Bytes below this position were CRC-checked since the segment was opened. */
  #verifiedUpTo = 0
  /**
   * Where recent reads ended, by the offset a read from there asks for: the next batch's
   * position and, when the read saw its framing, size and base offset (0 and -1 otherwise).
   * A few, for the consumers and followers reading this segment at once. Checked against the
   * bytes when used; forgotten when the tail changes.
   */
  readonly #resume = new Map<number, ResumePoint>()
  /** The last positionBound() answer found in the file; forgotten with the resume points. */
  #bound: { offset: number, position: number } | undefined
  /** Batches found corrupt in the middle of the file: reads touching them fail. */
  #corrupt: BatchInfo[] = []
  /** Set by close(): a pending flush must not reopen (or, once deleted, recreate) the files. */
  #closed = false
  /** Whether the log file changed since its last fsync began (an unchanged one is not synced again). */
  #unsynced = true
  /** The fsync of the log file under way: a flush with nothing new still waits for it. */
  #syncing: Promise<void> | undefined
  /** Bytes of the log file written; [writtenSize, size) are pending in `#staging`. */
  #written = 0
  /** Coalesced batches not written yet (appendPending), and the bound the staging buffer grows to. */
  #staging: Buffer | undefined
  #stagingMax = 0
  /** The base offset of the first pending batch (-1: none). */
  #pendingBaseOffset = -1

  private constructor (pool: HandlePool, dir: string, baseOffset: number, options: SegmentOptions, now: number) {
    this.#pool = pool
    this.dir = dir
    this.baseOffset = baseOffset
    this.#options = options
    this.#created = now
    const prefix = join(dir, offsetFileName(baseOffset))
    this.logPath = prefix + LOG_SUFFIX
    this.offsetIndex = new OffsetIndex(pool, prefix + INDEX_SUFFIX, baseOffset, options.maxIndexSize)
    this.timeIndex = new TimeIndex(pool, prefix + TIME_INDEX_SUFFIX, baseOffset, options.maxIndexSize)
    this.txnIndex = new TransactionIndex(pool, prefix + TXN_INDEX_SUFFIX, baseOffset)
    this.#nextOffset = baseOffset
  }

  /** A new, empty segment (creates its files). */
  static create (pool: HandlePool, dir: string, baseOffset: number, options: SegmentOptions, now: number): LogSegment {
    const segment = new LogSegment(pool, dir, baseOffset, options, now)
    const log = pool.get(segment.logPath)
    if (log.size() !== 0) log.truncate(0)
    segment.offsetIndex.reset()
    segment.timeIndex.reset()
    segment.txnIndex.reset()
    return segment
  }

  /**
   * An existing segment. With `recover`, every batch is validated and the indexes rebuilt;
   * otherwise the indexes are loaded (and rebuilt only if missing or corrupt).
   */
  static open (pool: HandlePool, dir: string, baseOffset: number, options: SegmentOptions, now: number, recover: boolean): { segment: LogSegment, truncatedBytes: number } {
    const segment = new LogSegment(pool, dir, baseOffset, options, now)
    segment.#size = pool.get(segment.logPath).size()
    segment.#written = segment.#size
    if (recover) return { segment, truncatedBytes: segment.recover() }
    try {
      if (!pool.exists(segment.offsetIndex.path) || !pool.exists(segment.timeIndex.path)) {
        throw new StorageError(StorageErrorCode.CORRUPT, 'Missing index')
      }
      segment.offsetIndex.load(segment.#size)
      segment.timeIndex.load(segment.#size)
      segment.#loadTail()
      return { segment, truncatedBytes: 0 }
    } catch (error) {
      if (!(error instanceof StorageError) || error.code !== StorageErrorCode.CORRUPT) throw error
      // A missing or corrupt index is rebuilt from the log, as Kafka does.
      return { segment, truncatedBytes: segment.recover() }
    }
  }

  /** Bytes in the segment, pending coalesced batches included. */
  get size (): number {
    return this.#size
  }

  /** Bytes of the log file written (size minus pendingBytes). */
  get writtenSize (): number {
    return this.#written
  }

  /** Bytes of coalesced batches not written yet. */
  get pendingBytes (): number {
    return this.#size - this.#written
  }

  /** The first offset of the pending batches, or -1 when none are pending. */
  get pendingBaseOffset (): number {
    return this.#pendingBaseOffset
  }

  /** The offset after the last batch in this segment. */
  get nextOffset (): number {
    return this.#nextOffset
  }

  /** The largest timestamp of any batch, or -1 when empty. */
  get maxTimestamp (): number {
    return this.#maxTimestamp
  }

  get offsetOfMaxTimestamp (): number {
    return this.#offsetOfMaxTimestamp
  }

  /** The time `segment.ms` counts from: the first batch's timestamp, else creation time. */
  get rollingBasedTimestamp (): number {
    if (this.#firstBatchTimestamp === null) {
      this.#firstBatchTimestamp = this.#size >= RECORD_BATCH_OVERHEAD ? readMaxTimestamp(this.#readAt(0, RECORD_BATCH_OVERHEAD), 0) : undefined
    }
    // A first batch without a timestamp (-1) counts from the creation time, as in Kafka.
    const first = this.#firstBatchTimestamp
    return first !== undefined && first >= 0 ? first : this.#created
  }

  get corruptBatches (): readonly BatchInfo[] {
    return this.#corrupt
  }

  /**
   * Appends whole, validated batches (one or more, already stamped with their offsets) ending
   * at `lastOffset`. Adds index entries every `index.interval.bytes`.
   */
  append (batches: Buffer, lastOffset: number): void {
    this.#checkFits(lastOffset)
    // Keep the file in order: coalesced batches before this one.
    this.writePending()
    const wasVerified = this.#verifiedUpTo === this.#size
    const start = this.#size
    const handle = this.#pool.get(this.logPath)
    this.#unsynced = true
    try {
      handle.write(batches, start)
    } catch (error) {
      // A failed write may have left a prefix of the batches: cut it off so the file holds
      // exactly what the segment believes. If that fails too, the next open's recovery does.
      try {
        handle.truncate(start)
      } catch { /* reported by the write error below */ }
      throw error
    }
    this.#trackAll(batches, start)
    this.#size += batches.length
    this.#written = this.#size
    this.#nextOffset = lastOffset + 1
    // The broker validated these bytes before appending them.
    if (wasVerified) this.#verifiedUpTo = this.#size
  }

  /**
   * Like append(), but copies the batches into the staging buffer instead of writing them:
   * writePending() writes everything staged in one call. The caller keeps the staged bytes
   * within `maxBytes` (the staging bound) and writes them before the segment stops being active.
   */
  appendPending (batches: Buffer, lastOffset: number, maxBytes: number): void {
    this.#checkFits(lastOffset)
    const pending = this.#size - this.#written
    const needed = pending + batches.length
    if (needed > maxBytes) throw new RangeError(`${needed} pending bytes exceed the staging bound ${maxBytes}`)
    let staging = this.#staging
    if (staging === undefined || staging.length < needed) {
      const grown = takeStaging(needed, maxBytes)
      if (staging !== undefined) {
        staging.copy(grown, 0, 0, pending)
        releaseStaging(staging, this.#stagingMax)
      }
      staging = this.#staging = grown
      this.#stagingMax = maxBytes
    }
    batches.copy(staging, pending)
    if (pending === 0) this.#pendingBaseOffset = readBaseOffset(batches, 0)
    const wasVerified = this.#verifiedUpTo === this.#size
    this.#unsynced = true
    this.#trackAll(batches, this.#size)
    this.#size += batches.length
    this.#nextOffset = lastOffset + 1
    if (wasVerified) this.#verifiedUpTo = this.#size
  }

  /**
   * Writes the pending coalesced batches in one call. On failure the file is cut back to
   * `writtenSize` and the in-memory state rolled back to it (the pending batches are gone,
   * their offsets free again), then the error is thrown.
   */
  writePending (): void {
    const staging = this.#staging
    if (staging === undefined) return
    const start = this.#written
    const length = this.#size - start
    try {
      const handle = this.#pool.get(this.logPath)
      this.#unsynced = true
      try {
        handle.write(staging.subarray(0, length), start)
      } catch (error) {
        // As in append(): cut off a partial write; if that fails, the next open's recovery does.
        try {
          handle.truncate(start)
        } catch { /* reported by the write error below */ }
        throw error
      }
    } catch (error) {
      const baseOffset = this.#pendingBaseOffset
      this.#dropStaging()
      try {
        this.#rollBackTo(start, baseOffset)
      } catch { /* the size and next offset are back; the write error is the one to report */ }
      throw error
    }
    this.#written = this.#size
    this.#dropStaging()
  }

  /**
   * Forgets the staged batches without writing anything (the owner is abandoning the log): the
   * size and next offset go back to what the file holds; nothing else is kept consistent.
   */
  dropPending (): void {
    if (this.#staging === undefined) return
    this.#nextOffset = this.#pendingBaseOffset
    this.#size = this.#written
    this.#verifiedUpTo = Math.min(this.#verifiedUpTo, this.#size)
    this.#resume.clear()
    this.#bound = undefined
    this.#dropStaging()
  }

  #dropStaging (): void {
    if (this.#staging !== undefined) releaseStaging(this.#staging, this.#stagingMax)
    this.#staging = undefined
    this.#pendingBaseOffset = -1
  }

  #checkFits (lastOffset: number): void {
    if (lastOffset - this.baseOffset > 0x7fffffff) {
      throw new StorageError(StorageErrorCode.INVALID_BATCH, `Offset ${lastOffset} does not fit segment ${this.baseOffset}`)
    }
  }

  #trackAll (batches: Buffer, start: number): void {
    for (let at = 0; at < batches.length;) {
      const size = LOG_OVERHEAD + readBatchLength(batches, at)
      const batchLast = readBaseOffset(batches, at) + readLastOffsetDelta(batches, at)
      this.#track(start + at, batchLast, readMaxTimestamp(batches, at), size)
      at += size
    }
  }

  #track (position: number, lastOffset: number, maxTimestamp: number, size: number): void {
    if (this.#firstBatchTimestamp === undefined) this.#firstBatchTimestamp = maxTimestamp
    if (maxTimestamp > this.#maxTimestamp) {
      this.#maxTimestamp = maxTimestamp
      this.#offsetOfMaxTimestamp = lastOffset
    }
    // A full index takes no more entries (the segment rolls at the next append); both indexes
    // skip together so the time index stays complete up to the last offset index entry.
    if (this.#bytesSinceLastIndexEntry > this.#options.indexIntervalBytes && !this.offsetIndex.isFull && !this.timeIndex.isFull) {
      this.offsetIndex.append(lastOffset, position)
      this.timeIndex.maybeAppend(this.#maxTimestamp, this.#offsetOfMaxTimestamp)
      this.#bytesSinceLastIndexEntry = 0
    }
    this.#bytesSinceLastIndexEntry += size
  }

  /** `length` bytes at `position`, in a fresh buffer (e.g. one batch found by batches()). */
  readBytes (position: number, length: number): Buffer {
    return this.#readAt(position, length)
  }

  /** Reads `length` bytes at `position` into a fresh buffer. */
  #readAt (position: number, length: number): Buffer {
    const buf = Buffer.allocUnsafe(length)
    this.#readInto(buf, 0, position)
    return buf
  }

  /** Fills `buf` from `offset` on with the bytes at `position`. */
  #readInto (buf: Buffer, offset: number, position: number): void {
    const length = buf.length - offset
    // Reading what is still staged: write it first (PartitionLog does so before reads anyway).
    if (position + length > this.#written) this.writePending()
    const n = this.#pool.get(this.logPath).read(buf, offset, length, position)
    if (n !== length) {
      throw new StorageError(StorageErrorCode.CORRUPT, `Short read of ${n} of ${length} bytes at ${position} of '${this.logPath}'`, { path: this.logPath })
    }
  }

  /**
   * Batch headers from `from` up to `to`, read in chunks (the first of `firstChunk` bytes,
   * doubling up to SCAN_CHUNK, so short scans over large batches copy little). Stops at a
   * header that cannot be a batch; `strict` makes that an error (a structural break inside
   * data believed valid). With `withHeader`, each batch comes with its header bytes (a view
   * the caller may keep).
   */
  * batches (from = 0, to = this.#size, strict = true, firstChunk = SCAN_CHUNK, withHeader = false): Generator<BatchInfo, void, undefined> {
    let window: Buffer = Buffer.alloc(0)
    let windowStart = from
    let at = from
    let chunk = firstChunk
    while (at + LOG_OVERHEAD <= to) {
      if (at + RECORD_BATCH_OVERHEAD > windowStart + window.length) {
        const length = Math.min(Math.max(chunk, RECORD_BATCH_OVERHEAD), to - at)
        chunk = Math.min(chunk * 2, SCAN_CHUNK)
        if (length < RECORD_BATCH_OVERHEAD) {
          if (strict) this.#structureError(at, 'truncated batch header')
          return
        }
        window = this.#readAt(at, length)
        windowStart = at
      }
      const p = at - windowStart
      const length = readBatchLength(window, p)
      const size = LOG_OVERHEAD + length
      if (length < MIN_BATCH_LENGTH || at + size > to || readMagic(window, p) !== CURRENT_MAGIC) {
        if (strict) this.#structureError(at, `invalid batch header (length ${length})`)
        return
      }
      const baseOffset = readBaseOffset(window, p)
      const info: BatchInfo = { position: at, baseOffset, lastOffset: baseOffset + readLastOffsetDelta(window, p), size, maxTimestamp: readMaxTimestamp(window, p) }
      if (withHeader) info.header = window.subarray(p, p + RECORD_BATCH_OVERHEAD)
      yield info
      at += size
    }
    if (strict && at !== to) this.#structureError(at, 'trailing bytes')
  }

  #structureError (position: number, why: string): never {
    throw new StorageError(StorageErrorCode.CORRUPT, `Corrupt segment '${this.logPath}' at byte ${position}: ${why}`, { path: this.logPath })
  }

  /** The first batch at or after `startPosition` whose last offset is >= `offset`. */
  translateOffset (offset: number, startPosition = 0): BatchInfo | undefined {
    const from = Math.max(startPosition, this.offsetIndex.lookup(offset).position)
    // The batch sought is usually within an index interval of the entry: read that much first
    // rather than a whole scan chunk (a fetch would otherwise copy 64 KB more per read).
    for (const batch of this.batches(from, this.#size, true, this.#options.indexIntervalBytes + RECORD_BATCH_OVERHEAD)) {
      if (batch.lastOffset >= offset) return batch
    }
    return undefined
  }

  /**
   * Where a read bounded by `offset` (a high watermark or last stable offset) stops: the
   * position of the first batch holding an offset >= `offset`, or the segment size when there
   * is none. The bound moves less often than reads come, so the last answer is kept.
   */
  positionBound (offset: number): number {
    const bound = this.#bound
    if (bound !== undefined && bound.offset === offset) return bound.position
    const batch = this.translateOffset(offset)
    if (batch === undefined) return this.#size
    // A batch's position holds until the tail is cut (which forgets this).
    this.#bound = { offset, position: batch.position }
    return batch.position
  }

  /**
   * Whole batches starting with the one holding `startOffset`, up to `maxBytes` and not past
   * `maxPosition`. The first batch is returned whole even when larger than `maxBytes` if
   * `minOneBatch` is set (Kafka's rule, so a consumer can always make progress).
   *
   * One read call into one fresh buffer; the records are a view of it (the caller keeps it,
   * nothing here reuses it). A consumer reading on from where its last read ended (the usual
   * case) needs no index lookup: the read remembers where the next batch starts and, from the
   * few bytes it reads past its end, how long that batch is.
   */
  read (startOffset: number, maxBytes: number, maxPosition = this.#size, minOneBatch = true): SegmentRead | undefined {
    const resume = this.#resume.get(startOffset)
    if (resume !== undefined && resume.position < maxPosition) {
      const read = this.#readFrom(startOffset, resume.position, resume.size, resume.baseOffset, maxBytes, maxPosition, minOneBatch)
      if (read !== undefined) return read
      // Not where the batch is any more: find it the usual way.
      this.#resume.delete(startOffset)
    }
    const first = this.translateOffset(startOffset)
    if (first === undefined || first.position >= maxPosition) return undefined
    const read = this.#readFrom(startOffset, first.position, first.size, first.baseOffset, maxBytes, maxPosition, minOneBatch)
    return read ?? this.#structureError(first.position, 'batch changed while read')
  }

  /**
   * The read of batches from `position`, where the first batch holding an offset >= `startOffset`
   * starts; `size` and `baseOffset` are that batch's when known (else 0 and -1: found from the
   * bytes read). Undefined when the bytes at `position` are not that batch.
   */
  #readFrom (startOffset: number, position: number, size: number, baseOffset: number, maxBytes: number, maxPosition: number,
    minOneBatch: boolean): SegmentRead | undefined {
    const room = maxPosition - position
    const limitFor = (first: number): number => Math.min(room, Math.max(maxBytes, minOneBatch ? first : 0))
    // The first batch does not fit: an empty read here, not a reason to look further on.
    if (size > 0 && limitFor(size) < size) return { records: Buffer.alloc(0), firstOffset: baseOffset, position }
    // One read: the batches, plus the framing of the batch after the last whole one (when the
    // segment has it), so that the next read from there knows its size. When the first batch's
    // size is not known, at least its header.
    const length = Math.min(this.#size - position, Math.max(limitFor(size), HEADER) + FRAMING)
    let buf: Buffer = this.#readAt(position, length)
    if (buf.length < HEADER) return undefined
    const firstSize = FRAMING + lengthAt(buf, 0)
    const firstOffset = baseOffsetAt(buf, 0)
    if (magicAt(buf, 0) !== MAGIC || firstSize < MIN_FRAMED || position + firstSize > this.#size ||
      firstOffset + lastOffsetDeltaAt(buf, 0) < startOffset || (size > 0 && (firstSize !== size || firstOffset !== baseOffset))) {
      return undefined
    }
    const limit = limitFor(firstSize)
    if (limit < firstSize) return { records: Buffer.alloc(0), firstOffset, position }
    if (firstSize > buf.length) {
      // Larger than the bytes read (its size was not known): read the rest of it.
      const whole = Buffer.allocUnsafe(Math.min(this.#size - position, firstSize + FRAMING))
      buf.copy(whole, 0)
      this.#readInto(whole, buf.length, position + buf.length)
      buf = whole
    }
    // Cut at the last whole batch within the limit.
    const within = Math.min(buf.length, limit)
    let end = firstSize
    let last = 0
    while (end + FRAMING <= within) {
      const batchSize = FRAMING + lengthAt(buf, end)
      if (batchSize < MIN_FRAMED) this.#structureError(position + end, 'invalid batch length')
      if (end + batchSize > within) break
      last = end
      end += batchSize
    }
    const nextSize = end + FRAMING <= buf.length ? FRAMING + lengthAt(buf, end) : 0
    const nextBase = nextSize > 0 ? baseOffsetAt(buf, end) : -1
    const nextOffset = baseOffsetAt(buf, last) + lastOffsetDeltaAt(buf, last) + 1
    if (end < buf.length) buf = buf.subarray(0, end)
    const good = this.#verify(buf, position)
    if (good < buf.length) {
      buf = buf.subarray(0, good)
    } else {
      // This read's own resume point is used up (unless another reader is at the same offset:
      // it is found again the usual way, at worst); the oldest goes when there are too many.
      this.#resume.delete(startOffset)
      this.#resume.set(nextOffset, { position: position + end, size: nextSize, baseOffset: nextBase })
      if (this.#resume.size > RESUME_POINTS) this.#resume.delete(this.#resume.keys().next().value!)
    }
    return { records: buf, firstOffset, position }
  }

  /**
   * Checks the batches read from `position` (whole batches) against the corrupt ones recovery
   * kept and, if not yet verified since open, their CRCs. Returns how many leading bytes are
   * good: a read stops before a bad batch, and fails only when its first batch is bad.
   */
  #verify (buf: Buffer, position: number): number {
    const end = position + buf.length
    let good = buf.length
    // Corrupt batches kept by recovery lie below the verified watermark: check them first.
    for (const bad of this.#corrupt) {
      if (bad.position < end && bad.position + bad.size > position) {
        if (bad.position <= position) {
          throw new StorageError(StorageErrorCode.CORRUPT, `Batch at offset ${bad.baseOffset} in '${this.logPath}' is corrupt`, { path: this.logPath })
        }
        good = Math.min(good, bad.position - position)
      }
    }
    if (position + good <= this.#verifiedUpTo) return good
    for (let at = 0; at < good;) {
      const size = LOG_OVERHEAD + readBatchLength(buf, at)
      if (position + at >= this.#verifiedUpTo && readCrc(buf, at) !== computeBatchCrc(buf, at)) {
        if (at === 0) {
          throw new StorageError(StorageErrorCode.CORRUPT,
            `Batch at offset ${readBaseOffset(buf, at)} (byte ${position + at}) in '${this.logPath}' fails its CRC`, { path: this.logPath })
        }
        good = at
        break
      }
      at += size
    }
    if (position <= this.#verifiedUpTo) this.#verifiedUpTo = position + good
    return good
  }


  /**
   * Validates every batch, rebuilds the indexes, and truncates an invalid tail. Returns the
   * bytes truncated. Corruption followed by valid batches is kept and reported in
   * `corruptBatches`.
   */
  recover (): number {
    this.writePending()
    this.offsetIndex.reset()
    this.timeIndex.reset()
    this.#bytesSinceLastIndexEntry = 0
    this.#maxTimestamp = -1
    this.#offsetOfMaxTimestamp = -1
    this.#firstBatchTimestamp = undefined
    this.#corrupt = []
    this.#nextOffset = this.baseOffset
    const fileSize = this.#pool.get(this.logPath).size()
    let validEnd = 0
    let expected = this.baseOffset
    let at = 0
    let pendingCorrupt: BatchInfo[] = []
    while (at + LOG_OVERHEAD <= fileSize) {
      const head = this.#readAt(at, Math.min(RECORD_BATCH_OVERHEAD, fileSize - at))
      if (head.length < RECORD_BATCH_OVERHEAD) break
      const length = readBatchLength(head, 0)
      const size = LOG_OVERHEAD + length
      // A length that cannot be right leaves nothing to resynchronise on: the tail ends here.
      if (length < MIN_BATCH_LENGTH || at + size > fileSize || readMagic(head, 0) !== CURRENT_MAGIC) break
      const batch = this.#readAt(at, size)
      const baseOffset = readBaseOffset(batch, 0)
      const info: BatchInfo = { position: at, baseOffset, lastOffset: baseOffset + readLastOffsetDelta(batch, 0), size, maxTimestamp: readMaxTimestamp(batch, 0) }
      const valid = readCrc(batch, 0) === computeBatchCrc(batch, 0) && baseOffset >= expected && info.lastOffset >= baseOffset &&
        info.lastOffset - this.baseOffset <= 0x7fffffff
      if (!valid) {
        pendingCorrupt.push(info)
        at += size
        continue
      }
      // A valid batch after invalid ones: those were corruption in the middle, not a torn tail.
      this.#corrupt.push(...pendingCorrupt)
      pendingCorrupt = []
      this.#track(at, info.lastOffset, info.maxTimestamp, size)
      expected = info.lastOffset + 1
      this.#nextOffset = expected
      at += size
      validEnd = at
    }
    const truncated = fileSize - validEnd
    if (truncated > 0) {
      const file = this.#pool.get(this.logPath)
      file.truncate(validEnd)
      // Durable before new appends land where the cut bytes were: otherwise a second crash
      // could bring back part of the torn tail in front of them.
      file.syncNow()
    }
    this.#unsynced = true
    this.#size = validEnd
    this.#resume.clear()
    this.#bound = undefined
    this.#verifiedUpTo = validEnd
    this.#written = validEnd
    this.txnIndex.truncateTo(this.#nextOffset)
    return truncated
  }

  /** Restores the in-memory state past the last index entry after a clean open. */
  #loadTail (): void {
    const last = this.offsetIndex.count > 0 ? this.offsetIndex.positionAt(this.offsetIndex.count - 1) : 0
    const lastTime = this.timeIndex.lastEntry
    this.#maxTimestamp = lastTime.timestamp
    this.#offsetOfMaxTimestamp = this.timeIndex.count > 0 ? lastTime.offset : -1
    this.#nextOffset = this.baseOffset
    this.#firstBatchTimestamp = this.#size > 0 ? null : undefined
    for (const batch of this.batches(last)) {
      if (batch.maxTimestamp > this.#maxTimestamp) {
        this.#maxTimestamp = batch.maxTimestamp
        this.#offsetOfMaxTimestamp = batch.lastOffset
      }
      this.#nextOffset = batch.lastOffset + 1
      this.#bytesSinceLastIndexEntry = batch.position + batch.size - last
    }
    if (this.offsetIndex.count > 0 && this.offsetIndex.lastOffset >= this.#nextOffset) {
      throw new StorageError(StorageErrorCode.CORRUPT, `Index of '${this.logPath}' points past the log`)
    }
  }

  /**
   * Removes every batch holding an offset >= `offset` (the batch containing `offset` is
   * removed whole). Returns the bytes removed.
   */
  truncateTo (offset: number): number {
    this.writePending()
    const batch = this.translateOffset(offset)
    if (batch === undefined) return 0
    const removed = this.#size - batch.position
    this.offsetIndex.truncateTo(batch.baseOffset)
    this.timeIndex.truncateTo(batch.baseOffset)
    this.txnIndex.truncateTo(batch.baseOffset)
    this.#unsynced = true
    this.#pool.get(this.logPath).truncate(batch.position)
    this.#resetTail(batch.position, batch.baseOffset)
    return removed
  }

  /**
   * Rolls the in-memory state back to `position`, where the batch starting at `baseOffset`
   * was: the file already ends there (or the next open's recovery cuts it).
   */
  #rollBackTo (position: number, baseOffset: number): void {
    // The size first: an error truncating the index files must not leave it ahead of the file.
    this.#size = position
    this.#written = position
    this.#nextOffset = baseOffset
    try {
      this.offsetIndex.truncateTo(baseOffset)
      this.timeIndex.truncateTo(baseOffset)
      this.txnIndex.truncateTo(baseOffset)
    } finally {
      this.#resetTail(position, baseOffset)
    }
  }

  #resetTail (position: number, baseOffset: number): void {
    this.#size = position
    this.#written = position
    this.#resume.clear()
    this.#bound = undefined
    this.#verifiedUpTo = Math.min(this.#verifiedUpTo, this.#size)
    this.#corrupt = this.#corrupt.filter((c) => c.position < this.#size)
    this.#nextOffset = baseOffset
    // Recompute the largest timestamp and the index cadence from what remains.
    this.#maxTimestamp = -1
    this.#offsetOfMaxTimestamp = -1
    this.#bytesSinceLastIndexEntry = 0
    if (this.#size === 0) {
      this.#firstBatchTimestamp = undefined
    } else {
      const lastEntry = this.offsetIndex.count > 0 ? this.offsetIndex.positionAt(this.offsetIndex.count - 1) : 0
      const lastTime = this.timeIndex.lastEntry
      if (this.timeIndex.count > 0) {
        this.#maxTimestamp = lastTime.timestamp
        this.#offsetOfMaxTimestamp = lastTime.offset
      }
      for (const b of this.batches(lastEntry)) {
        if (b.maxTimestamp > this.#maxTimestamp) {
          this.#maxTimestamp = b.maxTimestamp
          this.#offsetOfMaxTimestamp = b.lastOffset
        }
        this.#bytesSinceLastIndexEntry = b.position + b.size - lastEntry
      }
    }
  }

  /** Indexes the largest timestamp before the segment stops being the active one (Kafka's onBecomeInactiveSegment). */
  onBecomeInactive (): void {
    this.writePending()
    if (this.#maxTimestamp >= 0 && !this.timeIndex.isFull) this.timeIndex.maybeAppend(this.#maxTimestamp, this.#offsetOfMaxTimestamp)
    this.offsetIndex.writePending()
    this.timeIndex.writePending()
  }

  /** fsyncs the log and its indexes. */
  async flush (): Promise<void> {
    const steps = [
      async () => await this.#syncLog(),
      async () => await this.offsetIndex.flush(),
      async () => await this.timeIndex.flush(),
      async () => await this.txnIndex.flush()
    ]
    for (const step of steps) {
      // Closed or deleted meanwhile (close, retention, truncation): reopening the files would
      // leak handles or recreate deleted ones, and there is nothing left to make durable.
      if (this.#closed) break
      try {
        await step()
      } catch (error) {
        if (!this.#closed) throw error
      }
    }
    // A step that was under way when the segment closed may have reopened a file.
    if (this.#closed) for (const path of [this.logPath, this.offsetIndex.path, this.timeIndex.path, this.txnIndex.path]) this.#pool.close(path)
  }

  async #syncLog (): Promise<void> {
    this.writePending()
    if (!this.#unsynced) {
      await this.#syncing
      return
    }
    this.#unsynced = false
    const sync = this.#pool.with(this.logPath, (h) => h.sync())
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

  close (): void {
    this.#closed = true
    // Staged bytes are written, or on error rolled back, before the files close. PartitionLog
    // writes them before closing a segment and reports errors to the appenders; this is a backstop.
    try {
      this.writePending()
    } catch { /* rolled back: the file and the state agree */ }
    this.onBecomeInactive()
    this.offsetIndex.close()
    this.timeIndex.close()
    this.txnIndex.close()
    this.#pool.close(this.logPath)
  }

  /** Every file of this segment that exists. */
  files (): string[] {
    return [this.logPath, this.offsetIndex.path, this.timeIndex.path, this.txnIndex.path].filter((p) => this.#pool.exists(p))
  }
}
