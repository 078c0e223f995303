/**
 * Log compaction for topics whose `cleanup.policy` includes `compact` (Kafka's LogCleaner,
 * Cleaner and LogCleanerManager, one cleaner). A pass picks the log with the highest dirty
 * ratio and keeps, in its cleanable part, the latest record of every key.
 *
 * Files:
 *
 *     <data>/cleaner-offset-checkpoint
 *         `<topic> <partition> <offset>` lines in Kafka's checkpoint format
 *         (checkpoint-file.ts): per log, the first offset not cleaned yet (the first dirty
 *         offset). Written atomically after each finished pass, once the swapped segments are
 *         durable. A crash keeps the previous file: the next pass cleans a range again, which
 *         is harmless (cleaning is idempotent).
 *     <partition>/<base>.{log,index,timeindex,txnindex}.cleaned
 *         the compacted segment being written, in the segment formats (log-segment.ts), then
 *         fsynced and swapped in by PartitionLog.replaceSegments (segment-swap.ts: commit
 *         point, crash behaviour). An abandoned pass removes them; so does the next open.
 *
 * A pass over one log (Kafka's doClean):
 *   1. Cleanable range [firstDirtyOffset, firstUncleanableOffset): from the checkpoint (or the
 *      log start) up to the first of the active segment, the last stable offset (so open
 *      transactions and unreplicated data are never touched) and the first segment whose
 *      largest timestamp is within `min.compaction.lag.ms` of now; rounded down to the base of
 *      the segment holding it, so only whole segments are rewritten. The log qualifies when
 *      its dirty ratio (cleanable bytes / all bytes below the range end) is above
 *      `min.cleanable.dirty.ratio`, or a dirty segment is older than `max.compaction.lag.ms`,
 *      or a delete horizon this cleaner set has passed (see Deviations).
 *   2. An offset map key -> latest offset over the range (offset-map.ts), skipping aborted
 *      transactional data. Its memory is bounded (`dedupeBufferSize`); when full, only the
 *      prefix it covers is cleaned and the checkpoint moves to its end.
 *   3. Every segment from the log start to the map's end, in groups that fit `segment.bytes`
 *      and `segment.index.bytes`, is rewritten into one new segment per group. A record stays
 *      when it is past the map's end, or its key is absent from the map or maps to an offset
 *      <= its own; a null-key record goes (Kafka: they cannot be compacted); a tombstone
 *      stays until its delete horizon passes. Batches keep their base offset, records their
 *      offset deltas (offsets never change); a batch left with some records is rebuilt with
 *      its codec (cleaner-batch.ts), one with all its records is copied byte for byte.
 *   4. Each group's new segment is fsynced and swapped in synchronously; the directory is
 *      fsynced and the checkpoint written.
 *
 * Tombstones and markers (KIP-534, Kafka 3.1+): the first pass that keeps a batch holding a
 * tombstone rebuilds it with the delete-horizon attribute and baseTimestamp = now +
 * `delete.retention.ms`; a later pass after that time drops the tombstone (if still the
 * latest for its key). Transactions (CleanedTransactionMetadata): data of aborted
 * transactions (per the `.txnindex` files) is removed; a COMMIT or ABORT marker is kept while
 * any data of its transaction remains, then gets a delete horizon like a tombstone and is
 * removed after it. The rebuilt `.txnindex` lists the ABORT markers that still have data.
 *
 * Empty batches: a batch whose records all go is dropped, except (as an empty batch header,
 * Kafka's RETAIN_EMPTY) the last batch of an idempotent or transactional producer, whose
 * sequence and epoch producer state needs, and the last batch of each group, so a cleaned
 * segment ends where its old segments did (segment-swap.ts relies on it after a crash).
 *
 * Never blocks appends or reads: a pass yields to the event loop whenever it has worked
 * `maxSliceMs`; the active segment is never rewritten; reads see the old segments until the
 * synchronous swap. A pass is abandoned (its `.cleaned` files removed, the checkpoint left
 * alone) when the log is closed, deleted or truncated, or retention removes a segment it is
 * rewriting, or the cleaner stops.
 *
 * Deviations from Kafka: a log also qualifies when a delete horizon set by an earlier pass has
 * passed (Kafka waits for new dirty data before it drops expired tombstones); without the
 * idempotence layer's producer state (the `activeProducers` option) the last batch of every
 * producer in the range is kept, active or not (Kafka drops those of expired producers);
 * a failure marks a log uncleanable until restart only for corruption, not for I/O errors
 * (retried after the backoff).
 */
import { performance } from 'node:perf_hooks'
import { join } from 'node:path'
import {
  ControlRecordType, LOG_OVERHEAD, MIN_BATCH_LENGTH, RECORD_BATCH_OVERHEAD, decodeRecordBatch, readBaseOffset,
  readBatchHeader, readBatchLength, readControlRecordKey, readLastOffsetDelta, readMaxTimestamp, readProducerId,
  type DecodedRecordBatch, type KafkaRecord, type RecordBatchHeader
} from '@samsa/protocol'
import { type CheckpointFile, type PartitionOffset, partitionOffsetCheckpoint } from './checkpoint-file.ts'
import { emptyBatch, rebuildBatch } from './cleaner-batch.ts'
import { StorageError, StorageErrorCode } from './errors.ts'
import type { FileSystem } from './file-system.ts'
import type { HandlePool } from './handle-pool.ts'
import { compacted } from './log-config.ts'
import type { LogSegment } from './log-segment.ts'
import { OffsetIndex } from './offset-index.ts'
import { DEFAULT_DEDUPE_BUFFER_SIZE, DEFAULT_DEDUPE_LOAD_FACTOR, OffsetMap } from './offset-map.ts'
import type { PartitionLog } from './partition-log.ts'
import { cleanedPaths, discardCleaned } from './segment-swap.ts'
import { TimeIndex } from './time-index.ts'
import { type AbortedTxn, TransactionIndex } from './transaction-index.ts'

export const CLEANER_OFFSET_CHECKPOINT = 'cleaner-offset-checkpoint'
/** `log.cleaner.backoff.ms` default. */
export const DEFAULT_CLEANER_BACKOFF_MS = 15000
/** `log.cleaner.io.buffer.size` default. */
export const DEFAULT_CLEANER_IO_BUFFER_SIZE = 512 * 1024
export const DEFAULT_CLEANER_MAX_SLICE_MS = 5

/** What producer state knows of a producer's last entry (Kafka's LastRecord). */
export interface ProducerLastRecord {
  /** The last offset of its last data batch; undefined when its last entry is a transaction marker. */
  lastDataOffset: number | undefined
  producerEpoch: number
}

export interface LogCleanerOptions {
  fs: FileSystem
  pool: HandlePool
  /** Where `cleaner-offset-checkpoint` lives. */
  dataDir: string
  /** The logs a pass chooses from (those with a compact policy are considered). */
  logs: () => Iterable<PartitionLog>
  /** Milliseconds since the epoch (injectable for tests). */
  clock?: (() => number) | undefined
  /** `log.cleaner.backoff.ms`: the pause when no log needs cleaning (default 15000). */
  backoffMs?: number | undefined
  /** `log.cleaner.dedupe.buffer.size`: memory for the offset map (bytes, default 128 MiB). */
  dedupeBufferSize?: number | undefined
  /** `log.cleaner.io.buffer.load.factor` (default 0.9). */
  dedupeBufferLoadFactor?: number | undefined
  /** `log.cleaner.io.buffer.size`: bytes read and written at a time (default 512 KiB). */
  ioBufferSize?: number | undefined
  /** The longest a pass works before yielding to the event loop (ms, default 5). */
  maxSliceMs?: number | undefined
  /**
   * The idempotence layer's active producers of a log, by producer id. When given, the empty
   * batch kept for a producer is that of its last entry per producer state (Kafka's rule);
   * otherwise the last batch of every producer in the cleaned range is kept.
   */
  activeProducers?: ((log: PartitionLog) => ReadonlyMap<bigint, ProducerLastRecord>) | undefined
  /** Called for every failure (they never crash the process). */
  onError?: ((error: unknown, context: string) => void) | undefined
}

/** Where a log stands for the cleaner (Kafka's LogToClean). */
export interface CleanableState {
  firstDirtyOffset: number
  /** The base offset of the first segment the cleaner may not touch. */
  firstUncleanableOffset: number
  /** Bytes of segments below the first dirty offset. */
  cleanBytes: number
  /** Bytes of segments in [firstDirtyOffset, firstUncleanableOffset). */
  cleanableBytes: number
  cleanableRatio: number
  /** A dirty segment's first batch is older than `max.compaction.lag.ms`. */
  needCompactionNow: boolean
  /** A delete horizon set by an earlier pass has passed. */
  deleteHorizonDue: boolean
}

export interface CleanResult {
  topic: string
  partition: number
  /** 'aborted': abandoned (nothing of the pass is lost; it runs again); 'failed': reported through onError. */
  outcome: 'cleaned' | 'aborted' | 'failed'
  error?: unknown
  firstDirtyOffset: number
  firstUncleanableOffset: number
  /** The checkpoint after the pass: the first offset not cleaned. */
  endOffset: number
  /** Groups of segments swapped for a cleaned one. */
  groupsCleaned: number
  segmentsReplaced: number
  bytesRead: number
  bytesWritten: number
  recordsRead: number
  recordsRetained: number
}

class CleaningAborted extends Error {
  constructor () {
    super('Cleaning aborted')
    this.name = 'CleaningAborted'
  }
}

interface Pass {
  readonly log: PartitionLog
  aborted: boolean
  sliceStart: number
  /** The segment being read: a pass ends if it leaves the log or changes. */
  source: LogSegment | undefined
  /** Segment sizes when the pass began (segments it may rewrite never change). */
  readonly sizes: ReadonlyMap<LogSegment, number>
}

/** One whole batch inside `buf`. */
interface BatchAt {
  buf: Buffer
  at: number
  size: number
  position: number
}

/** Reads the whole batches of a segment file between two positions, a chunk at a time. */
class BatchReader {
  readonly #pool: HandlePool
  readonly #path: string
  readonly #to: number
  readonly #chunk: number
  #position: number
  #window: Buffer = Buffer.alloc(0)
  #windowStart = 0

  constructor (pool: HandlePool, path: string, from: number, to: number, chunk: number) {
    this.#pool = pool
    this.#path = path
    this.#position = from
    this.#to = to
    this.#chunk = Math.max(chunk, RECORD_BATCH_OVERHEAD)
  }

  next (): BatchAt | undefined {
    const position = this.#position
    if (position >= this.#to) return undefined
    if (position + LOG_OVERHEAD > this.#to) this.#corrupt(position, 'truncated batch')
    let rel = position - this.#windowStart
    if (rel < 0 || rel + LOG_OVERHEAD > this.#window.length) {
      this.#fill(this.#chunk)
      rel = 0
    }
    const length = readBatchLength(this.#window, rel)
    const size = LOG_OVERHEAD + length
    if (length < MIN_BATCH_LENGTH || position + size > this.#to) this.#corrupt(position, `invalid batch length ${length}`)
    if (rel + size > this.#window.length) {
      this.#fill(Math.max(this.#chunk, size))
      rel = 0
    }
    this.#position += size
    return { buf: this.#window, at: rel, size, position }
  }

  #fill (length: number): void {
    const n = Math.min(length, this.#to - this.#position)
    const buf = Buffer.allocUnsafe(n)
    if (this.#pool.get(this.#path).read(buf, 0, n, this.#position) !== n) this.#corrupt(this.#position, 'short read')
    this.#window = buf
    this.#windowStart = this.#position
  }

  #corrupt (position: number, why: string): never {
    throw new StorageError(StorageErrorCode.CORRUPT, `Corrupt segment '${this.#path}' at byte ${position}: ${why}`, { path: this.#path })
  }
}

/** Writes a cleaned segment's four files, indexing it as LogSegment does. */
class CleanedSegmentWriter {
  readonly paths: ReturnType<typeof cleanedPaths>
  readonly offsetIndex: OffsetIndex
  readonly timeIndex: TimeIndex
  readonly txnIndex: TransactionIndex
  readonly #pool: HandlePool
  readonly #indexIntervalBytes: number
  readonly #flushBytes: number
  #size = 0
  #written = 0
  #pending: Buffer[] = []
  #bytesSinceLastIndexEntry = 0
  #maxTimestamp = -1
  #offsetOfMaxTimestamp = -1

  constructor (pool: HandlePool, dir: string, base: number, indexIntervalBytes: number, maxIndexSize: number, flushBytes: number) {
    this.#pool = pool
    this.#indexIntervalBytes = indexIntervalBytes
    this.#flushBytes = flushBytes
    this.paths = cleanedPaths(dir, base)
    pool.get(this.paths.log).truncate(0)
    this.offsetIndex = new OffsetIndex(pool, this.paths.index, base, maxIndexSize)
    this.offsetIndex.reset()
    this.timeIndex = new TimeIndex(pool, this.paths.timeIndex, base, maxIndexSize)
    this.timeIndex.reset()
    // Created even when empty: a swap always has all four files (segment-swap.ts).
    pool.get(this.paths.txnIndex).truncate(0)
    this.txnIndex = new TransactionIndex(pool, this.paths.txnIndex, base)
    this.txnIndex.reset()
  }

  get size (): number {
    return this.#size
  }

  /** Appends one whole batch. */
  append (batch: Buffer): void {
    const lastOffset = readBaseOffset(batch, 0) + readLastOffsetDelta(batch, 0)
    const maxTimestamp = readMaxTimestamp(batch, 0)
    if (maxTimestamp > this.#maxTimestamp) {
      this.#maxTimestamp = maxTimestamp
      this.#offsetOfMaxTimestamp = lastOffset
    }
    if (this.#bytesSinceLastIndexEntry > this.#indexIntervalBytes && !this.offsetIndex.isFull && !this.timeIndex.isFull) {
      this.offsetIndex.append(lastOffset, this.#size)
      this.timeIndex.maybeAppend(this.#maxTimestamp, this.#offsetOfMaxTimestamp)
      this.#bytesSinceLastIndexEntry = 0
    }
    this.#bytesSinceLastIndexEntry += batch.length
    this.#pending.push(batch)
    this.#size += batch.length
    if (this.#size - this.#written >= this.#flushBytes) this.#writePending()
  }

  #writePending (): void {
    if (this.#pending.length === 0) return
    this.#pool.get(this.paths.log).writev(this.#pending, this.#written)
    this.#pending = []
    this.#written = this.#size
  }

  /** Writes everything and makes it durable. */
  async finish (): Promise<void> {
    this.#writePending()
    // What LogSegment.onBecomeInactive adds: the segment is never active.
    if (this.#maxTimestamp >= 0 && !this.timeIndex.isFull) this.timeIndex.maybeAppend(this.#maxTimestamp, this.#offsetOfMaxTimestamp)
    await this.#pool.with(this.paths.log, async (h) => await h.sync())
    await this.offsetIndex.flush()
    await this.timeIndex.flush()
    await this.txnIndex.flush()
  }

  /** Releases the files' handles (before they are renamed or removed). */
  close (): void {
    for (const close of [() => this.offsetIndex.close(), () => this.timeIndex.close(), () => this.txnIndex.close()]) {
      try {
        close()
      } catch { /* the handle is released regardless */ }
    }
    for (const path of Object.values(this.paths)) this.#pool.close(path)
  }
}

/**
 * The transaction state a pass carries along the log (Kafka's CleanedTransactionMetadata):
 * which batches belong to aborted transactions, and when a marker may go.
 */
class CleanedTransactionMetadata {
  /** Aborted transactions by first offset, activated as the pass reaches them. */
  readonly #aborted: AbortedTxn[]
  #next = 0
  readonly #ongoingCommitted = new Set<bigint>()
  readonly #ongoingAborted = new Map<bigint, { txn: AbortedTxn, lastObservedBatchOffset: number | undefined }>()
  /** The rebuilt `.txnindex` of the segment being written. */
  cleanedIndex: TransactionIndex | undefined

  constructor (aborted: AbortedTxn[]) {
    this.#aborted = aborted.sort((a, b) => a.firstOffset - b.firstOffset)
  }

  #consumeUpTo (offset: number): void {
    while (this.#next < this.#aborted.length && this.#aborted[this.#next]!.firstOffset <= offset) {
      const txn = this.#aborted[this.#next++]!
      this.#ongoingAborted.set(txn.producerId, { txn, lastObservedBatchOffset: undefined })
    }
  }

  /** A control batch (its record's type, undefined when it has none); true when it may be discarded. */
  onControlBatchRead (header: RecordBatchHeader, lastOffset: number, type: number | undefined): boolean {
    this.#consumeUpTo(lastOffset)
    // An empty control batch was kept only for producer state.
    if (type === undefined) return true
    const producerId = header.producerId
    if (type === ControlRecordType.ABORT) {
      const aborted = this.#ongoingAborted.get(producerId)
      this.#ongoingAborted.delete(producerId)
      // Keep the marker (and its index entry) until every batch of its transaction is gone.
      if (aborted?.lastObservedBatchOffset !== undefined) {
        this.cleanedIndex?.append(aborted.txn)
        return false
      }
      return true
    }
    if (type === ControlRecordType.COMMIT) return !this.#ongoingCommitted.delete(producerId)
    return false
  }

  /** A data batch; true when it belongs to an aborted transaction. */
  onBatchRead (header: RecordBatchHeader, lastOffset: number): boolean {
    this.#consumeUpTo(lastOffset)
    if (!header.isTransactional) return false
    const aborted = this.#ongoingAborted.get(header.producerId)
    if (aborted !== undefined) {
      aborted.lastObservedBatchOffset = lastOffset
      return true
    }
    this.#ongoingCommitted.add(header.producerId)
    return false
  }
}

function checkpointKey (topic: string, partition: number): string {
  return `${topic}-${partition}`
}

/** Segments holding offsets in [from, to) (Kafka's logSegments(from, to)). */
function segmentsOverlapping (segments: readonly LogSegment[], from: number, to: number): LogSegment[] {
  const out: LogSegment[] = []
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!
    const next = segments[i + 1]
    if (s.baseOffset < to && (next === undefined || next.baseOffset > from)) out.push(s)
  }
  return out
}

/**
 * Groups consecutive segments so each group's log and indexes fit one segment (Kafka's
 * groupSegmentsBySize), and relative offsets stay within int32.
 */
export function groupSegmentsBySize (segments: readonly LogSegment[], maxSize: number, maxIndexSize: number, firstUncleanableOffset: number): LogSegment[][] {
  const groups: LogSegment[][] = []
  let i = 0
  while (i < segments.length) {
    const first = segments[i++]!
    const group = [first]
    let logSize = first.size
    let indexSize = first.offsetIndex.sizeInBytes
    let timeIndexSize = first.timeIndex.sizeInBytes
    while (i < segments.length) {
      const s = segments[i]!
      const lastOffset = i + 1 < segments.length ? segments[i + 1]!.baseOffset - 1 : firstUncleanableOffset - 1
      if (logSize + s.size > maxSize || indexSize + s.offsetIndex.sizeInBytes > maxIndexSize ||
        timeIndexSize + s.timeIndex.sizeInBytes > maxIndexSize ||
        (s.size !== 0 && lastOffset - first.baseOffset > 0x7fffffff)) break
      group.push(s)
      logSize += s.size
      indexSize += s.offsetIndex.sizeInBytes
      timeIndexSize += s.timeIndex.sizeInBytes
      i++
    }
    groups.push(group)
  }
  return groups
}

function isTransient (error: unknown): boolean {
  return error instanceof StorageError &&
    (error.code === StorageErrorCode.IO || error.code === StorageErrorCode.NO_SPACE || error.code === StorageErrorCode.NOT_FOUND)
}

function controlType (decoded: DecodedRecordBatch): number | undefined {
  const record = decoded.records[0]
  return record === undefined ? undefined : readControlRecordKey(record.key).type
}

export class LogCleaner {
  readonly #fs: FileSystem
  readonly #pool: HandlePool
  readonly #logs: () => Iterable<PartitionLog>
  readonly #clock: () => number
  readonly #backoffMs: number
  readonly #ioBufferSize: number
  readonly #maxSliceMs: number
  readonly #activeProducers: LogCleanerOptions['activeProducers']
  readonly #onError: LogCleanerOptions['onError']
  readonly #checkpointFile: CheckpointFile<PartitionOffset>
  readonly #checkpoints = new Map<string, PartitionOffset>()
  /** The earliest delete horizon still ahead that a pass wrote into each log. */
  readonly #horizons = new WeakMap<PartitionLog, number>()
  /** Logs a failure made the cleaner give up on (until restart). */
  readonly #uncleanable = new WeakSet<PartitionLog>()
  readonly #map: OffsetMap
  #current: Pass | undefined
  #running: Promise<unknown> = Promise.resolve()
  #checkpointWrite: Promise<void> = Promise.resolve()
  #timer: NodeJS.Timeout | undefined
  #started = false
  #stopped = false

  constructor (options: LogCleanerOptions) {
    this.#fs = options.fs
    this.#pool = options.pool
    this.#logs = options.logs
    this.#clock = options.clock ?? Date.now
    this.#backoffMs = options.backoffMs ?? DEFAULT_CLEANER_BACKOFF_MS
    this.#ioBufferSize = options.ioBufferSize ?? DEFAULT_CLEANER_IO_BUFFER_SIZE
    this.#maxSliceMs = options.maxSliceMs ?? DEFAULT_CLEANER_MAX_SLICE_MS
    this.#activeProducers = options.activeProducers
    this.#onError = options.onError
    this.#map = OffsetMap.forBufferSize(options.dedupeBufferSize ?? DEFAULT_DEDUPE_BUFFER_SIZE,
      options.dedupeBufferLoadFactor ?? DEFAULT_DEDUPE_LOAD_FACTOR)
    this.#checkpointFile = partitionOffsetCheckpoint(this.#fs, join(options.dataDir, CLEANER_OFFSET_CHECKPOINT))
    try {
      for (const e of this.#checkpointFile.read()) this.#checkpoints.set(checkpointKey(e.topic, e.partition), e)
    } catch (error) {
      // A bad checkpoint only costs cleaning work: every log starts dirty.
      this.#report(error, 'reading the cleaner offset checkpoint')
    }
  }

  /** Keys the offset map can hold (how much of a dirty range one pass can clean). */
  get mapSlots (): number {
    return this.#map.slots
  }

  /** The checkpointed first dirty offset of a log, if any. */
  checkpointedOffset (log: PartitionLog): number | undefined {
    return this.#checkpoints.get(checkpointKey(log.topic, log.partition))?.offset
  }

  /** Starts passes in the background: back to back while logs need cleaning, else after the backoff. */
  start (): void {
    if (this.#started || this.#stopped) return
    this.#started = true
    this.#schedule(0)
  }

  /** Stops the background passes; a pass under way is abandoned cleanly and awaited. */
  async stop (): Promise<void> {
    this.#stopped = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#current !== undefined) this.#current.aborted = true
    await this.#running
    await this.#checkpointWrite
  }

  /** One pass on the dirtiest log that qualifies; undefined when none does (or stopped). */
  async runOnce (): Promise<CleanResult | undefined> {
    return await this.#serialised(async () => {
      if (this.#stopped) return undefined
      const now = this.#clock()
      const chosen = this.#filthiest(now)
      return chosen === undefined ? undefined : await this.#clean(chosen.log, chosen.state, now)
    })
  }

  /** Passes until no log qualifies (at most `maxPasses`). */
  async cleanNow (maxPasses = 1000): Promise<CleanResult[]> {
    const results: CleanResult[] = []
    for (let i = 0; i < maxPasses; i++) {
      const result = await this.runOnce()
      if (result === undefined) break
      results.push(result)
      if (result.outcome !== 'cleaned') break
    }
    return results
  }

  /** A pass on `log` now, whatever its dirty ratio (it must have a compact policy). */
  async cleanLog (log: PartitionLog): Promise<CleanResult | undefined> {
    return await this.#serialised(async () => {
      if (this.#stopped || log.closed || !compacted(log.config)) return undefined
      const now = this.#clock()
      return await this.#clean(log, this.cleanableState(log, now), now)
    })
  }

  /** Abandons a pass on `log` and forgets its checkpoint (the log is being deleted). */
  async removeLog (log: PartitionLog): Promise<void> {
    if (this.#current?.log === log) {
      this.#current.aborted = true
      await this.#running
    }
    this.#checkpoints.delete(checkpointKey(log.topic, log.partition))
    this.#horizons.delete(log)
    await this.#writeCheckpoint().catch((error: unknown) => this.#report(error, 'writing the cleaner offset checkpoint'))
  }

  /** Where `log` stands: its cleanable range and dirty ratio (Kafka's cleanableOffsets and LogToClean). */
  cleanableState (log: PartitionLog, now = this.#clock()): CleanableState {
    const segments = log.segments
    const active = log.activeSegment
    const config = log.config
    const logStart = log.logStartOffset
    let firstDirty = this.checkpointedOffset(log) ?? logStart
    // A checkpoint outside the log (retention moved the start, or the log was truncated): all dirty.
    if (firstDirty < logStart || firstDirty > log.logEndOffset) firstDirty = logStart
    let uncleanable = Math.min(log.lastStableOffset, active.baseOffset)
    const minLag = Math.max(config['min.compaction.lag.ms'], 0)
    const dirtyNonActive = segmentsOverlapping(segments, firstDirty, active.baseOffset).filter((s) => s !== active)
    if (minLag > 0) {
      const young = dirtyNonActive.find((s) => s.maxTimestamp > now - minLag)
      if (young !== undefined) uncleanable = Math.min(uncleanable, young.baseOffset)
    }
    uncleanable = Math.max(firstDirty, uncleanable)
    // The segment holding it is not cleaned: only whole segments are.
    let firstUncleanable = active.baseOffset
    for (const s of segments) {
      if (s.baseOffset > uncleanable) break
      firstUncleanable = s.baseOffset
    }
    let cleanBytes = 0
    for (const s of segmentsOverlapping(segments, -1, firstDirty)) cleanBytes += s.size
    let cleanableBytes = 0
    for (const s of segmentsOverlapping(segments, firstDirty, Math.max(firstDirty, firstUncleanable))) cleanableBytes += s.size
    const total = cleanBytes + cleanableBytes
    const maxLag = Math.max(config['max.compaction.lag.ms'], 0)
    let earliest = Number.POSITIVE_INFINITY
    for (const s of dirtyNonActive) {
      const first = s.size > 0 ? s.rollingBasedTimestamp : -1
      if (first > 0 && first < earliest) earliest = first
    }
    const horizon = this.#horizons.get(log)
    return {
      firstDirtyOffset: firstDirty,
      firstUncleanableOffset: firstUncleanable,
      cleanBytes,
      cleanableBytes,
      cleanableRatio: total > 0 ? cleanableBytes / total : 0,
      needCompactionNow: earliest < now - maxLag,
      deleteHorizonDue: horizon !== undefined && horizon <= now
    }
  }

  // ---- choosing

  #filthiest (now: number): { log: PartitionLog, state: CleanableState } | undefined {
    let best: { log: PartitionLog, state: CleanableState } | undefined
    for (const log of this.#logs()) {
      if (log.closed || !compacted(log.config) || this.#uncleanable.has(log)) continue
      let state: CleanableState
      try {
        state = this.cleanableState(log, now)
      } catch (error) {
        this.#report(error, `examining ${log.topic}-${log.partition} for cleaning`)
        continue
      }
      const total = state.cleanBytes + state.cleanableBytes
      if (total === 0) continue
      const qualifies = (state.cleanableBytes > 0 &&
        (state.needCompactionNow || state.cleanableRatio > log.config['min.cleanable.dirty.ratio'])) ||
        state.deleteHorizonDue
      if (qualifies && (best === undefined || state.cleanableRatio > best.state.cleanableRatio)) best = { log, state }
    }
    return best
  }

  // ---- a pass

  async #serialised<T> (task: () => Promise<T>): Promise<T> {
    const run = this.#running.then(task)
    this.#running = run.catch(() => undefined)
    return await run
  }

  async #clean (log: PartitionLog, state: CleanableState, now: number): Promise<CleanResult> {
    const pass: Pass = { log, aborted: false, sliceStart: performance.now(), source: undefined, sizes: new Map(log.segments.map((s) => [s, s.size])) }
    const result: CleanResult = {
      topic: log.topic,
      partition: log.partition,
      outcome: 'cleaned',
      firstDirtyOffset: state.firstDirtyOffset,
      firstUncleanableOffset: state.firstUncleanableOffset,
      endOffset: state.firstDirtyOffset,
      groupsCleaned: 0,
      segmentsReplaced: 0,
      bytesRead: 0,
      bytesWritten: 0,
      recordsRead: 0,
      recordsRetained: 0
    }
    this.#current = pass
    try {
      await this.#doClean(pass, state, now, result)
    } catch (error) {
      const closed = error instanceof StorageError && error.code === StorageErrorCode.CLOSED
      if (error instanceof CleaningAborted || closed || pass.aborted || this.#stopped) {
        result.outcome = 'aborted'
      } else {
        result.outcome = 'failed'
        result.error = error
        this.#report(error, `cleaning ${log.topic}-${log.partition}`)
        if (!isTransient(error)) this.#uncleanable.add(log)
      }
    } finally {
      this.#current = undefined
    }
    return result
  }

  /** Gives the event loop a turn when the slice is used up, then checks the pass may go on. */
  async #yield (pass: Pass): Promise<void> {
    if (performance.now() - pass.sliceStart < this.#maxSliceMs) return
    await new Promise<void>((resolve) => setImmediate(resolve))
    pass.sliceStart = performance.now()
    this.#checkLive(pass)
  }

  #checkLive (pass: Pass): void {
    if (pass.aborted || this.#stopped || pass.log.closed) throw new CleaningAborted()
    const source = pass.source
    // Removed by retention, or truncated (and made active) by replication.
    if (source !== undefined && (!pass.log.segments.includes(source) || source === pass.log.activeSegment || source.size !== pass.sizes.get(source))) {
      throw new CleaningAborted()
    }
  }

  async #doClean (pass: Pass, state: CleanableState, now: number, result: CleanResult): Promise<void> {
    const log = pass.log
    const config = log.config
    const initial = [...pass.sizes.keys()]
    const sizes = pass.sizes
    const map = this.#map
    try {
      await this.#buildOffsetMap(pass, state.firstDirtyOffset, state.firstUncleanableOffset, map, result)
      // What lies below the dirty range was deduplicated by earlier passes: the map covers it
      // too (records there stay unless a mapped key supersedes them or their horizon passed).
      if (map.latestOffset < state.firstDirtyOffset - 1) map.updateLatestOffset(state.firstDirtyOffset - 1)
      const endOffset = Math.max(map.latestOffset + 1, state.firstDirtyOffset)
      // Never the segment holding the first uncleanable offset (the checkpoint may lie inside it).
      const toClean = initial.filter((s) => s.baseOffset < Math.min(endOffset, state.firstUncleanableOffset))
      this.#checkInPlace(log, toClean, sizes)
      const lastOfProducer = this.#activeProducers === undefined ? await this.#lastBatchOfProducers(pass, toClean) : undefined
      const activeProducers = this.#activeProducers?.(log)
      const isLastOfProducer = (header: RecordBatchHeader, lastOffset: number): boolean => {
        if (header.producerId < 0n) return false
        if (activeProducers !== undefined) {
          const last = activeProducers.get(header.producerId)
          if (last === undefined) return false
          return last.lastDataOffset !== undefined
            ? lastOffset === last.lastDataOffset
            : header.isControlBatch && header.producerEpoch === last.producerEpoch
        }
        return lastOfProducer?.get(header.producerId) === lastOffset
      }
      const groups = groupSegmentsBySize(toClean, config['segment.bytes'], config['segment.index.bytes'], state.firstUncleanableOffset)
      const txn = new CleanedTransactionMetadata(this.#abortedTransactions(log))
      const horizon = { next: Number.POSITIVE_INFINITY }
      for (let g = 0; g < groups.length; g++) {
        const group = groups[g]!
        await this.#cleanSegments(pass, group, groups.slice(g + 1).flat(), sizes, {
          map, txn, now, isLastOfProducer, horizon, deleteRetentionMs: config['delete.retention.ms']
        }, result)
        result.groupsCleaned++
        result.segmentsReplaced += group.length
      }
      // The swaps must be durable before the checkpoint says the range is clean.
      if (groups.length > 0) await this.#fs.syncDir(log.dir)
      this.#checkLive(pass)
      result.endOffset = endOffset
      this.#checkpoints.set(checkpointKey(log.topic, log.partition), { topic: log.topic, partition: log.partition, offset: endOffset })
      if (horizon.next === Number.POSITIVE_INFINITY) this.#horizons.delete(log)
      else this.#horizons.set(log, horizon.next)
      await this.#writeCheckpoint()
    } finally {
      map.clear()
    }
  }

  /** Aborts unless every segment of `segments` is still in the log, not active, and unchanged. */
  #checkInPlace (log: PartitionLog, segments: readonly LogSegment[], sizes: ReadonlyMap<LogSegment, number>): void {
    const live = new Set(log.segments)
    for (const s of segments) {
      if (!live.has(s) || s === log.activeSegment || s.size !== sizes.get(s)) throw new CleaningAborted()
    }
  }

  /** Every aborted transaction in the log's `.txnindex` files (each marker once). */
  #abortedTransactions (log: PartitionLog, from = Number.NEGATIVE_INFINITY, to = Number.POSITIVE_INFINITY): AbortedTxn[] {
    const byMarker = new Map<number, AbortedTxn>()
    for (const s of log.segments) {
      for (const t of s.txnIndex.entries) {
        if (t.lastOffset >= from && t.firstOffset < to) byMarker.set(t.lastOffset, t)
      }
    }
    return [...byMarker.values()]
  }

  /** Step 2: the latest offset of every key in [start, end), as far as the map holds (Kafka's buildOffsetMap). */
  async #buildOffsetMap (pass: Pass, start: number, end: number, map: OffsetMap, result: CleanResult): Promise<void> {
    const log = pass.log
    map.clear()
    const dirty = segmentsOverlapping(log.segments, start, end)
    const txn = new CleanedTransactionMetadata(this.#abortedTransactions(log, start, end))
    for (let i = 0; i < dirty.length; i++) {
      const segment = dirty[i]!
      const nextBase = i + 1 < dirty.length ? dirty[i + 1]!.baseOffset : end
      pass.source = segment
      this.#checkLive(pass)
      const reader = new BatchReader(this.#pool, segment.logPath, segment.offsetIndex.lookup(start).position, segment.size, this.#ioBufferSize)
      for (let batch = reader.next(); batch !== undefined; batch = reader.next()) {
        const { buf, at } = batch
        result.bytesRead += batch.size
        const header = readBatchHeader(buf, at)
        const base = Number(header.baseOffset)
        const last = base + header.lastOffsetDelta
        if (header.isControlBatch) {
          txn.onControlBatchRead(header, last, controlType(decodeRecordBatch(buf, at)))
        } else if (!txn.onBatchRead(header, last) && last >= start) {
          for (const record of decodeRecordBatch(buf, at).records) {
            const offset = base + record.offsetDelta
            if (record.key === null || offset < start) continue
            if (!map.put(record.key, offset)) {
              // Full: the map covers everything before this record.
              map.updateLatestOffset(offset - 1)
              pass.source = undefined
              return
            }
          }
        }
        if (last >= start) map.updateLatestOffset(last)
        await this.#yield(pass)
      }
      // Offsets missing at the end of the segment (compacted away) are covered too.
      map.updateLatestOffset(Math.max(map.latestOffset, nextBase - 1))
    }
    pass.source = undefined
  }

  /** The last offset of the last batch of each producer in `segments` (header reads only). */
  async #lastBatchOfProducers (pass: Pass, segments: readonly LogSegment[]): Promise<Map<bigint, number>> {
    const last = new Map<bigint, number>()
    const head = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD)
    for (const segment of segments) {
      pass.source = segment
      this.#checkLive(pass)
      for (let position = 0; position < segment.size;) {
        const handle = this.#pool.get(segment.logPath)
        const length = position + RECORD_BATCH_OVERHEAD <= segment.size ? handle.read(head, 0, RECORD_BATCH_OVERHEAD, position) : 0
        const batchLength = length === RECORD_BATCH_OVERHEAD ? readBatchLength(head, 0) : -1
        if (batchLength < MIN_BATCH_LENGTH || position + LOG_OVERHEAD + batchLength > segment.size) {
          throw new StorageError(StorageErrorCode.CORRUPT, `Corrupt segment '${segment.logPath}' at byte ${position}`, { path: segment.logPath })
        }
        const producerId = readProducerId(head, 0)
        if (producerId >= 0n) last.set(producerId, readBaseOffset(head, 0) + readLastOffsetDelta(head, 0))
        position += LOG_OVERHEAD + batchLength
        await this.#yield(pass)
      }
    }
    pass.source = undefined
    return last
  }

  /** Step 3 and 4 for one group: writes the cleaned segment and swaps it in (Kafka's cleanSegments). */
  async #cleanSegments (pass: Pass, group: readonly LogSegment[], later: readonly LogSegment[], sizes: ReadonlyMap<LogSegment, number>, ctx: {
    map: OffsetMap
    txn: CleanedTransactionMetadata
    now: number
    deleteRetentionMs: number
    isLastOfProducer: (header: RecordBatchHeader, lastOffset: number) => boolean
    horizon: { next: number }
  }, result: CleanResult): Promise<void> {
    const log = pass.log
    const config = log.config
    const base = group[0]!.baseOffset
    discardCleaned(this.#fs, log.dir, base)
    const out = new CleanedSegmentWriter(this.#pool, log.dir, base, config['index.interval.bytes'], config['segment.index.bytes'], this.#ioBufferSize)
    let installed = false
    try {
      ctx.txn.cleanedIndex = out.txnIndex
      let lastNonEmpty = -1
      group.forEach((s, i) => { if (s.size > 0) lastNonEmpty = i })
      for (let i = 0; i < group.length; i++) {
        const segment = group[i]!
        pass.source = segment
        this.#checkLive(pass)
        const reader = new BatchReader(this.#pool, segment.logPath, 0, segment.size, this.#ioBufferSize)
        for (let batch = reader.next(); batch !== undefined; batch = reader.next()) {
          const isLastOfGroup = i === lastNonEmpty && batch.position + batch.size === segment.size
          this.#filterBatch(batch, isLastOfGroup, out, ctx, result)
          await this.#yield(pass)
        }
      }
      pass.source = undefined
      ctx.txn.cleanedIndex = undefined
      await out.finish()
      out.close()
      this.#checkLive(pass)
      this.#checkInPlace(log, [...group, ...later], sizes)
      // Synchronous from the check above to the swap: nothing else runs in between.
      installed = log.replaceSegments(group) !== undefined
      if (!installed) throw new CleaningAborted()
    } finally {
      ctx.txn.cleanedIndex = undefined
      if (!installed) {
        out.close()
        try {
          discardCleaned(this.#fs, log.dir, base)
        } catch (error) {
          this.#report(error, `removing cleaned files of ${log.topic}-${log.partition}`)
        }
      }
    }
  }

  /** Decides what of one batch stays and appends it to `out` (Kafka's filterTo with the cleaner's filter). */
  #filterBatch (batch: BatchAt, isLastOfGroup: boolean, out: CleanedSegmentWriter, ctx: {
    map: OffsetMap
    txn: CleanedTransactionMetadata
    now: number
    deleteRetentionMs: number
    isLastOfProducer: (header: RecordBatchHeader, lastOffset: number) => boolean
    horizon: { next: number }
  }, result: CleanResult): void {
    const { buf, at, size } = batch
    const { map, txn, now } = ctx
    result.bytesRead += size
    const header = readBatchHeader(buf, at)
    const baseOffset = Number(header.baseOffset)
    const lastOffset = baseOffset + header.lastOffsetDelta
    const isControl = header.isControlBatch
    let decoded: DecodedRecordBatch | undefined
    let canDiscard: boolean
    if (isControl) {
      decoded = decodeRecordBatch(buf, at)
      canDiscard = txn.onControlBatchRead(header, lastOffset, controlType(decoded))
    } else {
      canDiscard = txn.onBatchRead(header, lastOffset)
    }
    const horizon = header.hasDeleteHorizonMs ? header.baseTimestamp : undefined
    // Aborted data goes now; a marker no transaction data needs goes once its horizon passed.
    const discardRecords = isControl ? canDiscard && horizon !== undefined && horizon <= now : canDiscard
    const retained: KafkaRecord[] = []
    let total = header.recordsCount
    let tombstones = false
    if (!discardRecords) {
      decoded ??= decodeRecordBatch(buf, at)
      total = decoded.records.length
      for (const record of decoded.records) {
        if (isControl || this.#shouldRetain(record, baseOffset, map, horizon, now)) {
          retained.push(record)
          if (record.value === null && !isControl) tombstones = true
        }
      }
    }
    result.recordsRead += total
    result.recordsRetained += retained.length
    let output: Buffer | undefined
    if (retained.length > 0) {
      const needHorizon = (tombstones || (isControl && canDiscard)) && horizon === undefined
      const newHorizon = needHorizon ? now + ctx.deleteRetentionMs : horizon
      output = retained.length === total && !needHorizon
        ? buf.subarray(at, at + size)
        : rebuildBatch(decoded!.header, retained, newHorizon)
      if (newHorizon !== undefined && newHorizon > now && (tombstones || isControl)) ctx.horizon.next = Math.min(ctx.horizon.next, newHorizon)
    } else if (isLastOfGroup || ctx.isLastOfProducer(header, lastOffset)) {
      output = emptyBatch(header)
    }
    if (output !== undefined) {
      out.append(output)
      result.bytesWritten += output.length
    }
  }

  /** Kafka's Cleaner.shouldRetainRecord. */
  #shouldRetain (record: KafkaRecord, baseOffset: number, map: OffsetMap, horizon: number | undefined, now: number): boolean {
    const offset = baseOffset + record.offsetDelta
    if (offset > map.latestOffset) return true
    // A record without a key cannot be compacted: Kafka's cleaner drops it.
    if (record.key === null) return false
    if (offset < map.get(record.key)) return false
    return record.value !== null || horizon === undefined || now < horizon
  }

  // ---- checkpoint and background loop

  async #writeCheckpoint (): Promise<void> {
    const run = this.#checkpointWrite.then(async () => {
      const live = new Set<string>()
      for (const log of this.#logs()) if (!log.closed) live.add(checkpointKey(log.topic, log.partition))
      await this.#checkpointFile.write([...this.#checkpoints].filter(([key]) => live.has(key)).map(([, entry]) => entry))
    })
    this.#checkpointWrite = run.catch(() => undefined)
    await run
  }

  #schedule (delayMs: number): void {
    if (this.#stopped) return
    const timer = setTimeout(() => {
      this.#timer = undefined
      this.runOnce().then(
        (result) => this.#schedule(result?.outcome === 'cleaned' ? 0 : this.#backoffMs),
        (error: unknown) => {
          this.#report(error, 'log cleaner')
          this.#schedule(this.#backoffMs)
        })
    }, delayMs)
    timer.unref()
    this.#timer = timer
  }

  #report (error: unknown, context: string): void {
    try {
      this.#onError?.(error, context)
    } catch { /* a failing error handler must not stop the cleaner */ }
  }
}
