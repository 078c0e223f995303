/**
 * The log of one topic partition: a directory `<topic>-<partition>` of segments in offset
 * order, the last one active (Kafka's UnifiedLog + LocalLog).
 *
 * Offsets: the log start offset (first readable offset, moved by retention and DeleteRecords)
 * <= recovery point (everything below is fsynced) <= high watermark (set by the broker:
 * replicated to the ISR) <= log end offset (next offset to assign). The last stable offset
 * (read_committed limit) is set by the transaction layer and is <= the high watermark.
 *
 * Files: segments (log-segment.ts), `leader-epoch-checkpoint` (leader-epoch-cache.ts) and
 * `<offset>.snapshot` producer-state snapshots (producer-state/producer-snapshot.ts: written
 * when a segment rolls and when the log closes).
 *
 * Producer state (producer-state/): every append goes through it. Batches a client produced
 * (origin `client`) are validated first (epochs, sequences, duplicates of the last five
 * batches, transactional state; ProducerStateError otherwise), a retried batch is not appended
 * again (AppendResult.duplicate, with the original offsets); coordinator appends (markers) are
 * checked for epochs; follower appends are not checked. A COMMIT or ABORT marker ends its
 * producer's transaction; an ABORT goes into its segment's `.txnindex`. Open transactions hold
 * the last stable offset. On open, truncation and reset the state is rebuilt from the newest
 * snapshot at or below the log end plus the batches after it. Leftovers of interrupted operations are handled on open: `.deleted`
 * files are removed; `.cleaned` ones (an unfinished compaction) removed; a `<base>.log.swap`
 * (a committed compaction) finished: the old segments it covers deleted, then its files
 * renamed into place (segment-swap.ts has the protocol and why a crash at any step leaves the
 * old segments or the new one).
 *
 * Coalesced appends (`appendAsLeader(..., { coalesce: true })`): the batches get their offsets,
 * index entries and producer-state updates at once, as a direct append's do, but their bytes
 * are copied into the active segment's staging buffer and written together, one write call
 * per partition per event-loop turn (setImmediate) or per `coalesceBytes` (default 1 MiB),
 * whichever comes first. Each write call has a fixed cost in the kernel (here about what copying
 * 16 KB costs), so this is what makes small batches cheap. The append's `written` promise
 * resolves once the bytes are written (to the page cache, like a direct append; fsync is the
 * flush policy's business) and a produce response must wait for it. Everything that reads or
 * changes the files (read, offsetForTimestamp, flush, roll, truncation, close, a direct append)
 * writes the pending bytes first, so the log end offset and the high watermark never promise
 * a reader data it cannot read. A failed coalesced write truncates the file back to the last
 * good position and rolls the log back as a truncation to the first pending offset would
 * (producer state, leader epochs, high watermark); the pending appends' `written` promises
 * reject with the typed StorageError (NO_SPACE, IO), and their offsets are assigned again.
 *
 * Not thread-safe: appends, reads and maintenance of one partition run one at a time on the
 * event loop; only flushes wait for the disk, and appends may continue meanwhile.
 */
import { randomUUID } from 'node:crypto'
import { dirname, join } from 'node:path'
import {
  CONTROL_FLAG_MASK, ControlRecordType, LOG_OVERHEAD, MIN_BATCH_LENGTH, TIMESTAMP_TYPE_MASK, TRANSACTIONAL_FLAG_MASK, decodeRecordBatch,
  readAttributes, readBaseOffset, readBaseSequence, readBatchLength, readControlBatch, readLastOffsetDelta, readMaxTimestamp,
  readPartitionLeaderEpoch, readProducerEpoch, readProducerId, readRecordsCount, setBaseOffset, setLogAppendTime, setPartitionLeaderEpoch
} from '@samsa/protocol'
import { StorageError, StorageErrorCode } from './errors.ts'
import type { FileSystem } from './file-system.ts'
import type { HandlePool } from './handle-pool.ts'
import { LeaderEpochCache, type EpochEndOffset } from './leader-epoch-cache.ts'
import { type LogConfig, deletes } from './log-config.ts'
import { type BatchInfo, LOG_SUFFIX, LogSegment, offsetFileName } from './log-segment.ts'
import { commitCleaned, installSwap, recoverSwaps, segmentPaths } from './segment-swap.ts'
import type { AbortedTxn } from './transaction-index.ts'
import type { AppendOrigin, CompletedTxn, ProducerAppendInfo } from './producer-state/producer-append-info.ts'
import { type BatchMetadata, incrementSequence } from './producer-state/producer-state-entry.ts'
import { type ProducerStateConfig, ProducerStateManager } from './producer-state/producer-state-manager.ts'
import { CorruptSnapshotError } from './producer-state/producer-snapshot.ts'

export const LEADER_EPOCH_CHECKPOINT = 'leader-epoch-checkpoint'
export const SNAPSHOT_SUFFIX = '.snapshot'
export const DELETED_SUFFIX = '.deleted'
export const CLEANED_SUFFIX = '.cleaned'
export const SWAP_SUFFIX = '.swap'
export const DELETE_DIR_SUFFIX = '-delete'

export interface PartitionLogOptions {
  fs: FileSystem
  pool: HandlePool
  dir: string
  topic: string
  partition: number
  config: LogConfig
  /** The checkpointed recovery point; batches at or after it are validated on an unclean open. */
  recoveryPoint?: number
  /** The checkpointed log start offset. */
  logStartOffset?: number
  /** True after a clean shutdown: no recovery scan. */
  clean: boolean
  /** Milliseconds since the epoch (injectable for tests). */
  clock?: () => number
  /** Producer-state settings (`producer.id.expiration.ms`). */
  producerState?: ProducerStateConfig
  /** The most bytes coalesced appends stage before they are written (default COALESCE_BYTES). */
  coalesceBytes?: number
}

/** Default bound on the bytes coalesced appends stage per partition before writing them. */
export const COALESCE_BYTES = 1024 * 1024

export interface AppendOptions {
  /**
   * Coalesce this append with the partition's other coalesced appends of this event-loop turn
   * into one write (see the class comment). The bytes are copied: the caller may reuse
   * `batches` at once. The result's `written` says when they are written.
   */
  coalesce?: boolean
}

export interface AppendResult {
  baseOffset: number
  lastOffset: number
  /** The broker time stamped on the batches, or -1 for CreateTime topics. */
  logAppendTime: number
  maxTimestamp: number
  /** Resolves once the append is durable, when `flush.messages` asked for a flush now. */
  flushed: Promise<void> | undefined
  /**
   * Set when the batches were coalesced and are not written yet: resolves once they are (page
   * cache, not fsync); rejects with the write's StorageError, after which the log no longer
   * holds them (the offsets in this result are handed out again). Unset: written already.
   */
  written?: Promise<void> | undefined
  /**
   * Set when the batch repeats one of its producer's last five batches (a retry): nothing was
   * appended, the offsets and timestamp are the original's (Kafka answers the retry this way).
   */
  duplicate?: boolean
}

export interface ReadOptions {
  maxBytes: number
  /** Exclusive upper bound: the high watermark, the LSO, or the log end for followers. */
  maxOffset?: number
  /** Return the first batch whole even if larger than maxBytes (default true). */
  minOneBatch?: boolean
}

export interface ReadResult {
  /** Whole batches (may be empty), ready to write to a socket. */
  records: Buffer
  /** Offset of the first batch returned (<= the requested offset), or the requested offset. */
  firstOffset: number
}

export interface OffsetAndTimestamp {
  offset: number
  timestamp: number
  leaderEpoch: number
}

export interface RecoveryReport {
  recoveredSegments: number
  truncatedBytes: number
  corruptBatches: number
}

export class PartitionLog {
  readonly topic: string
  readonly partition: number
  readonly dir: string
  config: LogConfig
  readonly leaderEpochCache: LeaderEpochCache
  readonly recovery: RecoveryReport
  /** The idempotent and transactional producers of this partition. */
  readonly producerState: ProducerStateManager
  /** Producer snapshots found corrupt since open (deleted; an older one, or the log, was used). */
  corruptProducerSnapshots = 0
  readonly #fs: FileSystem
  readonly #pool: HandlePool
  readonly #clock: () => number
  #segments: LogSegment[] = []
  #logStartOffset = 0
  #recoveryPoint = 0
  #highWatermark = 0
  #lastStableOffset: number | undefined
  #lastFlushTime: number
  #closed = false
  #flushing: Promise<void> | undefined
  /** Segment files created or removed since open; flush() fsyncs the directory when this moved. */
  #dirChanges = 1
  #dirSyncedChanges = 0
  /** Whether the directory was created by open() and its entry in the parent is not yet durable. */
  #parentDirty = false
  /** The lowest log end a truncation left during the running flush (its data was rewritten). */
  #truncatedTo = Number.POSITIVE_INFINITY
  /** The offset of the newest producer snapshot written or loaded (-1: none). */
  #lastSnapOffset = -1
  /** Moves at every truncation: a snapshot written meanwhile may describe removed records. */
  #snapshotGeneration = 0
  readonly #coalesceBytes: number
  /** The promise of the coalesced appends staged in the active segment, settled when they are written. */
  #pending: PendingWrite | undefined
  #writeScheduled = false
  /** The write error that closed the log when its state could not be rolled back: queued flushes fail with it. */
  #abandoned: Error | undefined

  private constructor (options: PartitionLogOptions) {
    this.#fs = options.fs
    this.#pool = options.pool
    this.dir = options.dir
    this.topic = options.topic
    this.partition = options.partition
    this.config = options.config
    this.#clock = options.clock ?? Date.now
    this.#coalesceBytes = Math.max(options.coalesceBytes ?? COALESCE_BYTES, 1)
    this.#lastFlushTime = this.#clock()
    this.leaderEpochCache = new LeaderEpochCache(this.#fs, join(this.dir, LEADER_EPOCH_CHECKPOINT))
    this.recovery = { recoveredSegments: 0, truncatedBytes: 0, corruptBatches: 0 }
    this.producerState = new ProducerStateManager(`${this.topic}-${this.partition}`, options.producerState)
  }

  /** Opens (creating if needed) and, after an unclean shutdown, recovers the log. */
  static open (options: PartitionLogOptions): PartitionLog {
    const log = new PartitionLog(options)
    log.#parentDirty = !options.fs.exists(options.dir)
    log.#load(options)
    return log
  }

  // ---- offsets

  get logStartOffset (): number {
    return this.#logStartOffset
  }

  get logEndOffset (): number {
    return this.activeSegment.nextOffset
  }

  get recoveryPoint (): number {
    return this.#recoveryPoint
  }

  /** Set by the broker when replicas acknowledge; clamped to [log start, log end]. */
  get highWatermark (): number {
    return this.#highWatermark
  }

  set highWatermark (offset: number) {
    this.#highWatermark = Math.min(Math.max(offset, this.#logStartOffset), this.logEndOffset)
    this.producerState.onHighWatermarkUpdated(this.#highWatermark)
  }

  /**
   * The read_committed limit: the first offset of a transaction that is open (or whose marker
   * is not replicated yet), or the high watermark when that is lower. An override set here
   * (tests) replaces the producer state's.
   */
  get lastStableOffset (): number {
    const hw = this.#highWatermark
    return Math.min(this.#lastStableOffset ?? this.producerState.firstUnstableOffset() ?? hw, hw)
  }

  set lastStableOffset (offset: number | undefined) {
    this.#lastStableOffset = offset
  }

  get size (): number {
    let total = 0
    for (const s of this.#segments) total += s.size
    return total
  }

  get segments (): readonly LogSegment[] {
    return this.#segments
  }

  get activeSegment (): LogSegment {
    return this.#segments.at(-1)!
  }

  // ---- append

  /**
   * Appends batches produced to this partition (validated by the broker): assigns offsets
   * from the log end, stamps the leader epoch and, for LogAppendTime topics, the broker
   * time. The bytes are modified in place and written as they are. Producer batches are
   * checked against the producer state first (ProducerStateError; a duplicate is answered
   * with the original's offsets and not appended).
   */
  appendAsLeader (batches: Buffer, leaderEpoch: number, origin: AppendOrigin = 'client', options?: AppendOptions): AppendResult {
    this.#checkOpen()
    const now = this.#clock()
    const logAppendTime = this.config['message.timestamp.type'] === 'LogAppendTime' ? now : -1
    const coalesce = options?.coalesce === true && batches.length <= this.#coalesceBytes
    // Write what is staged first when this append cannot join it: a direct write, a staging
    // buffer that would overflow, or a roll (staged bytes belong to the current segment).
    // Doing it before offsets are assigned keeps them right if that write fails.
    if (this.activeSegment.pendingBytes > 0 &&
      (!coalesce || this.activeSegment.pendingBytes + batches.length > this.#coalesceBytes || this.#rollDue(batches, logAppendTime))) {
      this.#writePending()
    }
    const analysis = this.#analyzeProducers(batches, origin, true, logAppendTime)
    if (analysis.duplicate !== undefined) {
      const d = analysis.duplicate
      // The original may still be staged: the retry's answer must wait for the same write.
      const pendingFrom = this.activeSegment.pendingBaseOffset
      const written = pendingFrom >= 0 && d.lastOffset >= pendingFrom ? this.#pending?.promise : undefined
      return { baseOffset: d.lastOffset - d.offsetDelta, lastOffset: d.lastOffset, logAppendTime: d.timestamp, maxTimestamp: d.timestamp, flushed: undefined, written, duplicate: true }
    }
    const baseOffset = this.logEndOffset
    let next = baseOffset
    let maxTimestamp = -1
    this.#forEachBatch(batches, (at) => {
      setBaseOffset(batches, at, next)
      setPartitionLeaderEpoch(batches, at, leaderEpoch)
      if (logAppendTime >= 0) setLogAppendTime(batches, at, logAppendTime)
      maxTimestamp = Math.max(maxTimestamp, readMaxTimestamp(batches, at))
      next += readLastOffsetDelta(batches, at) + 1
    })
    this.leaderEpochCache.assign(leaderEpoch, baseOffset)
    const result = this.#append(batches, baseOffset, next - 1, maxTimestamp, logAppendTime, coalesce)
    this.#applyProducers(analysis)
    return result
  }

  /** Whether appending `batches` (not stamped yet) would roll the active segment. */
  #rollDue (batches: Buffer, logAppendTime: number): boolean {
    let maxTimestamp = logAppendTime
    let records = 0
    this.#forEachBatch(batches, (at) => {
      if (logAppendTime < 0) maxTimestamp = Math.max(maxTimestamp, readMaxTimestamp(batches, at))
      records += readLastOffsetDelta(batches, at) + 1
    })
    return this.#shouldRoll(batches.length, maxTimestamp, this.logEndOffset + records - 1)
  }

  /**
   * Writes the coalesced appends staged so far (the scheduled write does this at the end of
   * the event-loop turn). Throws the write's StorageError after rolling the log back (see the
   * class comment); the appends' `written` promises reject with it too.
   */
  writePending (): void {
    this.#checkOpen()
    const error = this.#writePending()
    if (error !== undefined) throw error
  }

  /** Writes the staged appends; returns the error of a failed write (already rolled back and reported to the appenders). */
  #writePending (): Error | undefined {
    // An abandoned log writes nothing more (its staged appends were dropped).
    if (this.#abandoned !== undefined) return this.#abandoned
    const segment = this.activeSegment
    const pending = this.#pending
    this.#pending = undefined
    if (segment.pendingBytes === 0) {
      pending?.resolve()
      return undefined
    }
    try {
      segment.writePending()
    } catch (thrown) {
      const error = thrown instanceof Error ? thrown : new Error(String(thrown))
      try {
        // The segment is back at its last good position: undo what the appends assigned
        // beyond it (leader epochs, high watermark, producer state), as a truncation does.
        this.#afterTruncation()
      } catch {
        // The state cannot be rolled back (the disk fails reads too): close the log, as
        // replaceSegments does; the next open recovers from the files.
        this.#abandon(error)
      } finally {
        pending?.reject(error)
      }
      return error
    }
    pending?.resolve()
    return undefined
  }

  /**
   * Stops using the log at once without writing anything more, as a process that died would
   * (a failed log directory; tests that simulate a crash): appends still staged are dropped,
   * their `written` promises reject with CLOSED, the files are closed, and later calls throw
   * CLOSED. The next open recovers from what the files hold.
   */
  abandon (): void {
    if (this.#closed) return
    const pending = this.#pending
    this.#pending = undefined
    const error = new StorageError(StorageErrorCode.CLOSED, `Log ${this.topic}-${this.partition} was abandoned`)
    this.activeSegment.dropPending()
    this.#abandon(error)
    pending?.reject(error)
  }

  /**
   * Closes the log after an error that left its in-memory state in doubt: the files are closed
   * without writing anything more (no index entries from that state); the next open recovers.
   */
  #abandon (error: Error): void {
    this.#closed = true
    this.#abandoned = error
    for (const s of this.#segments) {
      for (const path of [s.logPath, s.offsetIndex.path, s.timeIndex.path, s.txnIndex.path]) {
        try {
          this.#pool.close(path)
        } catch { /* the error that led here is the one reported */ }
      }
    }
  }

  #scheduleWrite (): PendingWrite {
    let pending = this.#pending
    if (pending === undefined) {
      let resolve!: () => void
      let reject!: (error: unknown) => void
      const promise = new Promise<void>((res, rej) => {
        resolve = res
        reject = rej
      })
      // Callers that do not wait for `written` must not turn a failed write into an unhandled rejection.
      promise.catch(() => undefined)
      pending = this.#pending = { promise, resolve, reject }
    }
    if (!this.#writeScheduled) {
      this.#writeScheduled = true
      setImmediate(() => {
        this.#writeScheduled = false
        // Errors went to the appenders' `written` promises; nothing may escape to the event loop.
        if (!this.#closed) {
          try {
            this.#writePending()
          } catch { /* see above */ }
        }
      })
    }
    return pending
  }

  /** Appends batches fetched from the leader, keeping their offsets and epochs. */
  appendAsFollower (batches: Buffer): AppendResult {
    this.#checkOpen()
    this.#writePending()
    let expected = this.logEndOffset
    let first = -1
    let last = -1
    let maxTimestamp = -1
    this.#forEachBatch(batches, (at) => {
      const base = readBaseOffset(batches, at)
      if (base < expected) {
        throw new StorageError(StorageErrorCode.INVALID_BATCH, `Batch offset ${base} is below the log end offset ${expected} of ${this.topic}-${this.partition}`)
      }
      if (first < 0) first = base
      last = base + readLastOffsetDelta(batches, at)
      expected = last + 1
      maxTimestamp = Math.max(maxTimestamp, readMaxTimestamp(batches, at))
    })
    if (first < 0) return { baseOffset: this.logEndOffset, lastOffset: this.logEndOffset - 1, logAppendTime: -1, maxTimestamp: -1, flushed: undefined }
    if (first > this.logEndOffset && this.activeSegment.size === 0 && this.#segments.length === 1) {
      // A follower starting past an empty log (the leader's log start moved): start there.
      this.#resetTo(first)
    } else if (first > this.logEndOffset) {
      this.#roll(first)
    }
    // Only now: a reset above removes epochs starting at or past its offset.
    this.#forEachBatch(batches, (at) => this.leaderEpochCache.assign(readPartitionLeaderEpoch(batches, at), readBaseOffset(batches, at)))
    const analysis = this.#analyzeProducers(batches, 'replication', false, -1)
    const result = this.#append(batches, first, last, maxTimestamp, -1)
    this.#applyProducers(analysis)
    return result
  }

  // ---- producer state

  /**
   * Runs the producer batches of an append through the producer state without changing it:
   * the updates to apply once the batches are written, or the retained batch a client batch
   * repeats. `assign`: offsets are assigned from the log end (leader) rather than read.
   */
  #analyzeProducers (batches: Buffer, origin: AppendOrigin, assign: boolean, logAppendTime: number): ProducerAnalysis {
    // Most appends carry no producer batch: they share one empty analysis.
    let found: ProducerAnalysis | undefined
    let next = this.logEndOffset
    this.#forEachBatch(batches, (at) => {
      const first = assign ? next : readBaseOffset(batches, at)
      const last = first + readLastOffsetDelta(batches, at)
      next = last + 1
      const producerId = readProducerId(batches, at)
      if (producerId < 0n || found?.duplicate !== undefined) return
      const analysis: ProducerAnalysis = found ??= { updated: new Map(), completed: [], duplicate: undefined }
      const maxTimestamp = logAppendTime >= 0 ? logAppendTime : readMaxTimestamp(batches, at)
      const completed = this.#applyBatch(analysis.updated, origin, batches, at, first, last, maxTimestamp, (firstSeq, lastSeq, epoch) => {
        analysis.duplicate = this.producerState.lastEntry(producerId)?.findDuplicate(epoch, firstSeq, lastSeq)
        return analysis.duplicate !== undefined
      })
      if (completed !== undefined) analysis.completed.push(completed)
    })
    return found ?? NO_PRODUCERS
  }

  /**
   * Applies one batch (its bytes at `at` of `buf`: the header, or the whole batch for control
   * batches) to the pending producer updates. `isDuplicate` is asked first for client data batches.
   */
  #applyBatch (
    updated: Map<bigint, ProducerAppendInfo>, origin: AppendOrigin, buf: Buffer, at: number, first: number, last: number, maxTimestamp: number,
    isDuplicate?: (firstSeq: number, lastSeq: number, epoch: number) => boolean
  ): CompletedTxn | undefined {
    const producerId = readProducerId(buf, at)
    const epoch = readProducerEpoch(buf, at)
    const attributes = readAttributes(buf, at)
    if ((attributes & CONTROL_FLAG_MASK) !== 0) {
      // An empty control batch is what the cleaner left of a marker: nothing to apply.
      if (readRecordsCount(buf, at) === 0) return undefined
      const control = readControlBatch(buf, at)
      if (control.marker === undefined) return undefined
      const info = this.#appendInfo(updated, producerId, origin)
      return info.appendEndTxnMarker({
        producerEpoch: epoch,
        offset: first,
        timestamp: maxTimestamp,
        isAbort: control.key.type === ControlRecordType.ABORT,
        coordinatorEpoch: control.marker.coordinatorEpoch
      })
    }
    const firstSeq = readBaseSequence(buf, at)
    const lastSeq = incrementSequence(firstSeq, last - first)
    if (origin === 'client' && isDuplicate?.(firstSeq, lastSeq, epoch) === true) return undefined
    this.#appendInfo(updated, producerId, origin).appendDataBatch({
      producerEpoch: epoch, firstSeq, lastSeq, maxTimestamp, firstOffset: first, lastOffset: last, isTransactional: (attributes & TRANSACTIONAL_FLAG_MASK) !== 0
    })
    return undefined
  }

  #appendInfo (updated: Map<bigint, ProducerAppendInfo>, producerId: bigint, origin: AppendOrigin): ProducerAppendInfo {
    let info = updated.get(producerId)
    if (info === undefined) updated.set(producerId, info = this.producerState.prepareUpdate(producerId, origin))
    return info
  }

  /** Takes the producer updates of a written append; ABORTed transactions go into the transaction index. */
  #applyProducers (analysis: ProducerAnalysis): void {
    const state = this.producerState
    for (const info of analysis.updated.values()) state.update(info)
    let failure: Error | undefined
    for (const c of analysis.completed) {
      const lastStableOffset = state.lastStableOffset(c)
      state.completeTxn(c)
      if (!c.isAborted) continue
      try {
        this.appendAbortedTransaction({ producerId: c.producerId, firstOffset: c.firstOffset, lastOffset: c.lastOffset, lastStableOffset })
      } catch (error) {
        failure ??= error instanceof Error ? error : new Error(String(error))
      }
    }
    state.updateMapEndOffset(this.logEndOffset)
    // The batches are in the log: the producer state took them even if the index entry failed.
    if (failure !== undefined) throw failure
  }

  /**
   * Rebuilds the producer state up to `lastOffset` (Kafka's rebuildProducerState): from the
   * newest snapshot at or below it (corrupt ones are deleted and an older one tried), then the
   * batch headers after it. After a clean shutdown without any snapshot (a log written before
   * producer state existed) nothing is scanned: the state starts empty at `lastOffset`.
   */
  #rebuildProducerState (lastOffset: number, reloadFromCleanShutdown: boolean): void {
    const state = this.producerState
    let snapshot = this.latestProducerSnapshot(lastOffset)
    if (snapshot === undefined && reloadFromCleanShutdown) {
      state.truncateFullyAndStartAt(lastOffset)
      this.#lastSnapOffset = -1
      return
    }
    const firstBase = this.#segments[0]!.baseOffset
    state.truncateFullyAndStartAt(firstBase)
    while (snapshot !== undefined) {
      try {
        state.loadSnapshot(snapshot.data, snapshot.offset, this.#clock())
        break
      } catch (error) {
        if (!(error instanceof CorruptSnapshotError)) throw error
        this.corruptProducerSnapshots++
        this.#fs.unlink(join(this.dir, offsetFileName(snapshot.offset) + SNAPSHOT_SUFFIX))
        snapshot = this.latestProducerSnapshot(snapshot.offset - 1)
      }
    }
    if (snapshot === undefined) state.truncateFullyAndStartAt(firstBase)
    this.#lastSnapOffset = snapshot?.offset ?? -1
    // A snapshot below the first segment (its segments deleted since) leaves nothing to replay before it.
    const from = Math.max(state.mapEndOffset, firstBase)
    if (from < lastOffset) this.#replayProducers(from, lastOffset)
    state.updateMapEndOffset(lastOffset)
  }

  /** Applies the batches in [from, to) to the producer state, unvalidated, a segment at a time. */
  #replayProducers (from: number, to: number): void {
    const state = this.producerState
    let updated = new Map<bigint, ProducerAppendInfo>()
    let completed: CompletedTxn[] = []
    let segment: LogSegment | undefined
    const apply = (): void => {
      for (const info of updated.values()) state.update(info)
      for (const c of completed) {
        const lastStableOffset = state.lastStableOffset(c)
        state.completeTxn(c)
        // The index entry is written with the marker; after a machine crash it may be missing.
        if (c.isAborted) this.#ensureAbortedTransaction({ producerId: c.producerId, firstOffset: c.firstOffset, lastOffset: c.lastOffset, lastStableOffset })
      }
      updated = new Map()
      completed = []
    }
    for (const batch of this.batchesFrom(from, true)) {
      if (batch.baseOffset >= to) break
      if (batch.segment !== segment) {
        apply()
        segment = batch.segment
      }
      const header = batch.header!
      if (readProducerId(header, 0) < 0n) continue
      const control = (readAttributes(header, 0) & CONTROL_FLAG_MASK) !== 0
      const buf = control ? batch.segment.readBytes(batch.position, batch.size) : header
      const c = this.#applyBatch(updated, 'replication', buf, 0, batch.baseOffset, batch.lastOffset, batch.maxTimestamp)
      if (c !== undefined) completed.push(c)
    }
    apply()
  }

  #ensureAbortedTransaction (txn: AbortedTxn): void {
    const index = this.#segments[this.#segmentIndexFor(txn.lastOffset)]!.txnIndex
    const last = index.entries.at(-1)
    if (last === undefined || last.lastOffset < txn.lastOffset) index.append(txn)
  }

  /**
   * Writes a snapshot at the offset the producer state reflects, unless there is one already.
   * The bytes are taken now; the file is written (atomically) in the background.
   */
  #takeProducerSnapshot (): Promise<void> | undefined {
    const offset = this.producerState.mapEndOffset
    if (offset <= this.#lastSnapOffset) return undefined
    this.#lastSnapOffset = offset
    const data = this.producerState.snapshot()
    const generation = this.#snapshotGeneration
    return this.writeProducerSnapshot(offset, data).then(() => {
      // Truncated meanwhile: the snapshot may describe records that are gone.
      if (generation !== this.#snapshotGeneration) this.#fs.unlink(join(this.dir, offsetFileName(offset) + SNAPSHOT_SUFFIX))
    })
  }

  /** Forgets producers idle for `producer.id.expiration.ms` (none with an open transaction). */
  removeExpiredProducers (now = this.#clock()): number {
    return this.producerState.removeExpiredProducers(now)
  }

  #forEachBatch (batches: Buffer, fn: (at: number) => void): void {
    let at = 0
    while (at < batches.length) {
      if (batches.length - at < LOG_OVERHEAD) throw new StorageError(StorageErrorCode.INVALID_BATCH, 'Trailing bytes after the last batch')
      const length = readBatchLength(batches, at)
      if (length < MIN_BATCH_LENGTH || at + LOG_OVERHEAD + length > batches.length) {
        throw new StorageError(StorageErrorCode.INVALID_BATCH, `Batch at byte ${at} has an invalid length ${length}`)
      }
      fn(at)
      at += LOG_OVERHEAD + length
    }
  }

  #append (batches: Buffer, baseOffset: number, lastOffset: number, maxTimestamp: number, logAppendTime: number, coalesce = false): AppendResult {
    let written: Promise<void> | undefined
    try {
      if (this.#shouldRoll(batches.length, maxTimestamp, lastOffset)) this.#roll(baseOffset)
      const segment = this.activeSegment
      if (coalesce && segment.pendingBytes + batches.length <= this.#coalesceBytes) {
        segment.appendPending(batches, lastOffset, this.#coalesceBytes)
        written = this.#scheduleWrite().promise
      } else {
        segment.append(batches, lastOffset)
      }
    } catch (error) {
      // Nothing was appended (the segment cut off any partial write): forget the epoch too.
      this.leaderEpochCache.truncateFromEnd(this.logEndOffset)
      throw error
    }
    if (this.#highWatermark > this.logEndOffset) this.#highWatermark = this.logEndOffset
    const unflushed = this.logEndOffset - this.#recoveryPoint
    const flushed = unflushed >= this.config['flush.messages'] ? this.flush() : undefined
    return { baseOffset, lastOffset, logAppendTime, maxTimestamp, flushed, written }
  }

  #shouldRoll (bytes: number, maxTimestamp: number, lastOffset: number): boolean {
    const segment = this.activeSegment
    if (segment.size === 0) return false
    const config = this.config
    const rolling = segment.rollingBasedTimestamp
    const waited = maxTimestamp >= 0 && rolling >= 0 ? maxTimestamp - rolling : this.#clock() - rolling
    return segment.size > config['segment.bytes'] - bytes ||
      waited > config['segment.ms'] - this.#jitter() ||
      segment.offsetIndex.isFull || segment.timeIndex.isFull ||
      lastOffset - segment.baseOffset > 0x7fffffff
  }

  /** A stable per-partition jitter in [0, segment.jitter.ms), so partitions do not all roll at once. */
  #jitter (): number {
    const jitter = this.config['segment.jitter.ms']
    if (jitter <= 0) return 0
    let h = this.partition
    for (let i = 0; i < this.topic.length; i++) h = (h * 31 + this.topic.charCodeAt(i)) | 0
    return Math.abs(h) % jitter
  }

  /** Closes the active segment and starts a new one at `baseOffset` (default: the log end). */
  roll (baseOffset = this.logEndOffset): LogSegment {
    this.#checkOpen()
    return this.#roll(baseOffset)
  }

  #roll (baseOffset: number): LogSegment {
    // Staged bytes belong to the segment being closed. appendAsLeader wrote them already; a
    // failure here means offsets assigned since may be wrong, so it fails the caller.
    const error = this.#writePending()
    if (error !== undefined) throw error
    const active = this.activeSegment
    if (active.size === 0 && active.baseOffset === baseOffset) return active
    active.onBecomeInactive()
    const segment = LogSegment.create(this.#pool, this.dir, baseOffset, this.#segmentOptions(), this.#clock())
    this.#segments.push(segment)
    this.#dirChanges++
    // Kafka fsyncs a segment when it stops being active; appends go on meanwhile.
    void active.flush().catch(() => { /* surfaced by the next flush() of the log */ })
    // The producer state as of the new segment's base, so a rebuild need not read older segments.
    this.producerState.updateMapEndOffset(baseOffset)
    this.#takeProducerSnapshot()?.catch(() => { /* a missing snapshot only means a longer rebuild */ })
    return segment
  }

  #segmentOptions (): { indexIntervalBytes: number, maxIndexSize: number } {
    return { indexIntervalBytes: this.config['index.interval.bytes'], maxIndexSize: this.config['segment.index.bytes'] }
  }

  // ---- read

  /**
   * Whole batches from `startOffset`, from one segment, up to `maxBytes` and below `maxOffset`
   * (default: the high watermark). Throws OFFSET_OUT_OF_RANGE outside [log start, log end].
   */
  read (startOffset: number, options: ReadOptions): ReadResult {
    this.#checkOpen()
    // Staged appends are readable: write them first (an error goes to their appenders, and
    // the log, rolled back, is read as it now is).
    this.#writePending()
    const maxOffset = Math.min(options.maxOffset ?? this.#highWatermark, this.logEndOffset)
    if (startOffset < this.#logStartOffset || startOffset > this.logEndOffset) {
      throw new StorageError(StorageErrorCode.OFFSET_OUT_OF_RANGE,
        `Offset ${startOffset} is out of range [${this.#logStartOffset}, ${this.logEndOffset}] for ${this.topic}-${this.partition}`)
    }
    if (startOffset >= maxOffset) return { records: Buffer.alloc(0), firstOffset: startOffset }
    for (let i = this.#segmentIndexFor(startOffset); i < this.#segments.length; i++) {
      const segment = this.#segments[i]!
      if (segment.baseOffset >= maxOffset) break
      let maxPosition = segment.size
      if (maxOffset < segment.nextOffset) maxPosition = segment.positionBound(maxOffset)
      const read = segment.read(startOffset, options.maxBytes, maxPosition, options.minOneBatch ?? true)
      if (read !== undefined) return { records: read.records, firstOffset: read.firstOffset }
      // Nothing at or after startOffset in this segment (e.g. compacted away): try the next.
    }
    return { records: Buffer.alloc(0), firstOffset: startOffset }
  }

  /** Index of the last segment whose base offset is <= `offset` (or 0). */
  #segmentIndexFor (offset: number): number {
    let lo = 0
    let hi = this.#segments.length - 1
    let found = 0
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      if (this.#segments[mid]!.baseOffset <= offset) {
        found = mid
        lo = mid + 1
      } else {
        hi = mid - 1
      }
    }
    return found
  }

  /** Every batch header from `offset` on (for rebuilding producer state after recovery); `withHeader`: with the header bytes. */
  * batchesFrom (offset: number, withHeader = false): Generator<BatchInfo & { segment: LogSegment }, void, undefined> {
    this.#writePending()
    for (let i = this.#segmentIndexFor(offset); i < this.#segments.length; i++) {
      const segment = this.#segments[i]!
      const start = segment.offsetIndex.lookup(offset).position
      for (const batch of segment.batches(start, undefined, true, undefined, withHeader)) {
        if (batch.lastOffset >= offset) yield { ...batch, segment }
      }
    }
  }

  /**
   * The earliest offset whose record timestamp is >= `timestamp` (ListOffsets by time), or
   * undefined when every record is older. Decodes only the batches it must.
   */
  offsetForTimestamp (timestamp: number): OffsetAndTimestamp | undefined {
    this.#checkOpen()
    this.#writePending()
    for (const segment of this.#segments) {
      if (segment.maxTimestamp < timestamp) continue
      // The time index entry only says where to start scanning: records before its offset, in
      // the same batch, may carry the same timestamp (Kafka's LogSegment.findOffsetByTimestamp).
      const from = segment.timeIndex.lookup(timestamp).offset
      const start = this.#logStartOffset
      const position = segment.offsetIndex.lookup(Math.max(from, start)).position
      for (const batch of segment.batches(position)) {
        if (batch.lastOffset < start || batch.maxTimestamp < timestamp) continue
        const data = segment.read(batch.baseOffset, 1, batch.position + batch.size, true)
        if (data === undefined) continue
        const decoded = decodeRecordBatch(data.records)
        const logAppendTime = (readAttributes(data.records, 0) & TIMESTAMP_TYPE_MASK) !== 0
        for (const record of decoded.records) {
          const offset = batch.baseOffset + record.offsetDelta
          const ts = logAppendTime ? batch.maxTimestamp : Number(decoded.header.baseTimestamp) + record.timestampDelta
          if (offset >= start && ts >= timestamp) {
            return { offset, timestamp: ts, leaderEpoch: this.leaderEpochCache.epochForOffset(offset) }
          }
        }
      }
    }
    return undefined
  }

  /** The offset and timestamp of the record with the largest timestamp (ListOffsets -3). */
  maxTimestampAndOffset (): OffsetAndTimestamp | undefined {
    this.#writePending()
    let best: LogSegment | undefined
    // The first segment holding the largest timestamp, and in it the first record that has it
    // (Kafka after KAFKA-16310), not the last offset of its batch.
    for (const s of this.#segments) if (s.maxTimestamp >= 0 && (best === undefined || s.maxTimestamp > best.maxTimestamp)) best = s
    if (best === undefined) return undefined
    const exact = this.offsetForTimestamp(best.maxTimestamp)
    if (exact !== undefined && exact.timestamp === best.maxTimestamp) return exact
    const offset = best.offsetOfMaxTimestamp
    return { offset, timestamp: best.maxTimestamp, leaderEpoch: this.leaderEpochCache.epochForOffset(offset) }
  }

  /** OffsetForLeaderEpoch: where `leaderEpoch` ended in this log. */
  endOffsetForEpoch (leaderEpoch: number): EpochEndOffset {
    return this.leaderEpochCache.endOffsetFor(leaderEpoch, this.logEndOffset)
  }

  /** Aborted transactions overlapping [fetchOffset, upperBoundOffset) (read_committed Fetch). */
  collectAbortedTransactions (fetchOffset: number, upperBoundOffset: number): AbortedTxn[] {
    const out: AbortedTxn[] = []
    for (let i = this.#segmentIndexFor(fetchOffset); i < this.#segments.length; i++) {
      const segment = this.#segments[i]!
      out.push(...segment.txnIndex.collectAborted(fetchOffset, upperBoundOffset))
      // An ABORT marker may sit in a later segment than the records it aborts. As in Kafka, stop
      // at a marker written when the LSO had passed the bound: every transaction that began
      // before the bound had ended by then.
      if (segment.txnIndex.entries.some((t) => t.lastStableOffset >= upperBoundOffset)) break
    }
    return out
  }

  /** Records an aborted transaction whose ABORT marker is at `txn.lastOffset`. */
  appendAbortedTransaction (txn: AbortedTxn): void {
    this.#segments[this.#segmentIndexFor(txn.lastOffset)]!.txnIndex.append(txn)
  }

  // ---- truncation and retention

  /** Removes every record at or after `offset` (replication after a leader change). */
  truncateTo (offset: number): void {
    this.#checkOpen()
    this.#writePending()
    if (offset >= this.logEndOffset) return
    if (offset <= this.#logStartOffset) {
      this.truncateFullyAndStartAt(offset)
      return
    }
    while (this.#segments.length > 1 && this.activeSegment.baseOffset >= offset) this.#deleteSegment(this.#segments.pop()!)
    this.activeSegment.truncateTo(offset)
    this.#afterTruncation()
  }

  /** Deletes everything and starts the log empty at `offset`. */
  truncateFullyAndStartAt (offset: number): void {
    this.#checkOpen()
    this.#writePending()
    this.#resetTo(offset)
    this.#logStartOffset = offset
    this.leaderEpochCache.truncateFromEnd(offset)
    // Epochs of the removed records end here too (as a reopen would make them).
    this.leaderEpochCache.truncateFromStart(offset)
  }

  #resetTo (offset: number): void {
    for (const s of this.#segments) this.#deleteSegment(s)
    // No snapshot describes the new, empty log.
    this.#deleteSnapshotsFrom(0)
    this.producerState.truncateFullyAndStartAt(offset)
    this.#segments = [LogSegment.create(this.#pool, this.dir, offset, this.#segmentOptions(), this.#clock())]
    this.#dirChanges++
    this.#logStartOffset = offset
    // The empty log's high watermark is its end (Kafka's truncateFullyAndStartAt), not below its start.
    this.#highWatermark = offset
    this.#afterTruncation()
  }

  #afterTruncation (): void {
    const end = this.logEndOffset
    this.leaderEpochCache.truncateFromEnd(end)
    if (this.#recoveryPoint > end) this.#recoveryPoint = end
    if (this.#truncatedTo > end) this.#truncatedTo = end
    if (this.#highWatermark > end) this.#highWatermark = end
    this.#deleteSnapshotsFrom(end + 1)
    this.#snapshotGeneration++
    this.#rebuildProducerState(end, false)
    this.producerState.onHighWatermarkUpdated(this.#highWatermark)
  }

  /** DeleteRecords: moves the log start offset forward (never past the high watermark). */
  deleteRecordsBefore (offset: number): number {
    this.#checkOpen()
    if (offset > this.#highWatermark) {
      throw new StorageError(StorageErrorCode.OFFSET_OUT_OF_RANGE, `Cannot delete records before ${offset}: above the high watermark ${this.#highWatermark}`)
    }
    if (offset > this.#logStartOffset) {
      this.#logStartOffset = offset
      this.producerState.onLogStartOffsetIncremented(offset)
      this.leaderEpochCache.truncateFromStart(offset)
      this.#deleteSegmentsWhile((_s, next) => next !== undefined && next.baseOffset <= this.#logStartOffset)
    }
    return this.#logStartOffset
  }

  /**
   * Applies retention: whole segments below the log start offset, then (for `delete`
   * policies) by `retention.ms` on each segment's largest timestamp and by `retention.bytes`.
   * Never deletes the active segment. Returns the number of segments deleted.
   */
  deleteOldSegments (): number {
    this.#checkOpen()
    let deleted = this.#deleteSegmentsWhile((_s, next) => next !== undefined && next.baseOffset <= this.#logStartOffset)
    if (!deletes(this.config)) return deleted
    const retentionMs = this.config['retention.ms']
    if (retentionMs >= 0) {
      const now = this.#clock()
      deleted += this.#deleteSegmentsWhile((s) => now - (s.maxTimestamp >= 0 ? s.maxTimestamp : s.rollingBasedTimestamp) > retentionMs)
    }
    const retentionBytes = this.config['retention.bytes']
    if (retentionBytes >= 0) {
      let excess = this.size - retentionBytes
      deleted += this.#deleteSegmentsWhile((s) => {
        if (excess - s.size < 0) return false
        excess -= s.size
        return true
      })
    }
    return deleted
  }

  /** Deletes leading non-active segments while `pred` holds; moves the log start offset past them. */
  #deleteSegmentsWhile (pred: (segment: LogSegment, next: LogSegment | undefined) => boolean): number {
    let n = 0
    // The high watermark bounds deletion: data consumers cannot have read yet is kept.
    while (this.#segments.length > 1) {
      const first = this.#segments[0]!
      const next = this.#segments[1]!
      if (next.baseOffset > this.#highWatermark || !pred(first, next)) break
      this.#segments.shift()
      this.#deleteSegment(first)
      n++
    }
    if (n > 0) {
      this.#logStartOffset = Math.max(this.#logStartOffset, this.#segments[0]!.baseOffset)
      this.producerState.onLogStartOffsetIncremented(this.#logStartOffset)
      this.leaderEpochCache.truncateFromStart(this.#logStartOffset)
      this.#deleteSnapshotsBefore(this.#segments[0]!.baseOffset)
    }
    return n
  }

  #deleteSegment (segment: LogSegment): void {
    segment.close()
    for (const file of segment.files()) {
      this.#pool.close(file)
      // Rename first so a crash mid-delete never leaves a half-deleted segment looking live.
      this.#fs.rename(file, file + DELETED_SUFFIX)
      this.#fs.unlink(file + DELETED_SUFFIX)
    }
    this.#dirChanges++
  }

  // ---- compaction (the log cleaner, log-cleaner.ts)

  /**
   * Swaps a compacted segment in for `oldSegments` (consecutive segments, not the active one)
   * in one synchronous step, so reads see the old segments or the new one. The caller wrote
   * and fsynced `<base>.{log,index,timeindex,txnindex}.cleaned` for the first old segment's
   * base offset, holding offsets of the old segments only (segment-swap.ts: file protocol
   * and crash behaviour). Returns the new segment, or undefined, changing nothing, when the
   * old segments are no longer in place. A flush under way skips the old segments once they
   * are closed here.
   *
   * An I/O error before the commit point changes nothing; after it, the swap is retried once
   * and, failing that, the log is closed: the next open finishes the swap.
   */
  replaceSegments (oldSegments: readonly LogSegment[]): LogSegment | undefined {
    this.#checkOpen()
    const at = oldSegments.length === 0 ? -1 : this.#segments.indexOf(oldSegments[0]!)
    if (at < 0 || at + oldSegments.length >= this.#segments.length) return undefined
    if (oldSegments.some((s, i) => this.#segments[at + i] !== s)) return undefined
    const base = oldSegments[0]!.baseOffset
    commitCleaned(this.#fs, this.dir, base)
    // Committed: from here on the new data wins, now or at the next open.
    this.#dirChanges++
    for (const s of oldSegments) {
      // Their files are replaced or deleted next: an error closing them changes nothing.
      try {
        s.close()
      } catch { /* see above */ }
      for (const file of segmentPaths(this.dir, s.baseOffset)) {
        try {
          this.#pool.close(file)
        } catch { /* see above */ }
      }
    }
    const doomed = oldSegments.slice(1).map((s) => s.baseOffset)
    try {
      try {
        installSwap(this.#fs, this.dir, base, doomed)
      } catch {
        installSwap(this.#fs, this.dir, base, doomed)
      }
      const { segment } = LogSegment.open(this.#pool, this.dir, base, this.#segmentOptions(), this.#clock(), false)
      this.#segments.splice(at, oldSegments.length, segment)
      return segment
    } catch (error) {
      // The old segments are closed and partly gone: reads must not reopen (recreate) them.
      this.#closed = true
      for (const s of this.#segments) {
        try {
          if (!oldSegments.includes(s)) s.close()
        } catch { /* the error below is the one to report */ }
      }
      throw error
    }
  }

  // ---- producer-state snapshots (filled in by the idempotence layer)

  /** Writes `<offset>.snapshot` atomically. */
  async writeProducerSnapshot (offset: number, data: Buffer): Promise<void> {
    await this.#fs.writeFileAtomic(join(this.dir, offsetFileName(offset) + SNAPSHOT_SUFFIX), data)
  }

  /** The newest snapshot at or below `maxOffset` (default: the log end). */
  latestProducerSnapshot (maxOffset = this.logEndOffset): { offset: number, data: Buffer } | undefined {
    const offsets = this.#snapshotOffsets().filter((o) => o <= maxOffset)
    const offset = offsets.at(-1)
    if (offset === undefined) return undefined
    return { offset, data: this.#fs.readFile(join(this.dir, offsetFileName(offset) + SNAPSHOT_SUFFIX)) }
  }

  #snapshotOffsets (): number[] {
    return this.#fs.readdir(this.dir).filter((f) => f.endsWith(SNAPSHOT_SUFFIX)).map((f) => Number(f.slice(0, 20))).sort((a, b) => a - b)
  }

  #deleteSnapshotsFrom (offset: number): void {
    for (const o of this.#snapshotOffsets()) if (o >= offset) this.#fs.unlink(join(this.dir, offsetFileName(o) + SNAPSHOT_SUFFIX))
  }

  #deleteSnapshotsBefore (offset: number): void {
    const offsets = this.#snapshotOffsets()
    // Keep the newest one below the start: producer state is rebuilt from it.
    const keepFrom = offsets.filter((o) => o <= offset).at(-1) ?? offset
    for (const o of offsets) if (o < keepFrom) this.#fs.unlink(join(this.dir, offsetFileName(o) + SNAPSHOT_SUFFIX))
  }

  // ---- durability and lifecycle

  /** fsyncs everything appended so far and advances the recovery point. */
  async flush (): Promise<void> {
    this.#checkOpen()
    // Flushes are serialised; a flush asked for while one runs covers the newer appends.
    const previous = this.#flushing ?? Promise.resolve()
    const run = previous.then(async () => {
      // Staged appends first; if their write fails, what this flush was asked to make durable is gone.
      const error = this.#writePending()
      if (error !== undefined) throw error
      const target = this.logEndOffset
      const dirChanges = this.#dirChanges
      this.#truncatedTo = Number.POSITIVE_INFINITY
      const segments = this.#segments.filter((s) => s.nextOffset > this.#recoveryPoint || s === this.activeSegment)
      for (const s of segments) {
        s.offsetIndex.writePending()
        s.timeIndex.writePending()
        await s.flush()
      }
      await this.leaderEpochCache.flush()
      // New (and removed) segment files are durable only once the directory is (Kafka's
      // LocalLog.flush does the same), and a new partition directory once its parent is.
      if (dirChanges !== this.#dirSyncedChanges) {
        await this.#fs.syncDir(this.dir)
        this.#dirSyncedChanges = dirChanges
      }
      if (this.#parentDirty) {
        await this.#fs.syncDir(dirname(this.dir))
        this.#parentDirty = false
      }
      // A truncation while flushing rewrote what follows its offset after it may have been synced.
      const durable = Math.min(target, this.#truncatedTo, this.logEndOffset)
      if (durable > this.#recoveryPoint) this.#recoveryPoint = durable
      this.#lastFlushTime = this.#clock()
    })
    // A failed flush rejects for its caller only: the chain goes on, and no rejection is left unhandled.
    this.#flushing = run.catch(() => undefined).finally(() => {
      if (this.#flushing === tracked) this.#flushing = undefined
    })
    const tracked = this.#flushing
    return await run
  }

  /** Whether `flush.ms` has elapsed since the last flush with data pending. */
  flushDue (now = this.#clock()): boolean {
    return this.logEndOffset > this.#recoveryPoint && now - this.#lastFlushTime >= this.config['flush.ms']
  }

  async close (): Promise<void> {
    if (this.#closed) return
    await this.flush()
    // A snapshot at the log end spares the next open a scan of the log (Kafka does the same).
    // A log that never had producers needs none: a clean open without snapshots scans nothing.
    if (!this.producerState.isEmpty || this.#lastSnapOffset >= 0) await this.#takeProducerSnapshot()?.catch(() => undefined)
    // Appends staged while the flush ran are written (or rolled back and reported) before the files close.
    this.#writePending()
    if (this.#closed) return
    this.#closed = true
    for (const s of this.#segments) s.close()
  }

  /** Closes and removes the partition directory (topic deletion). */
  async delete (): Promise<void> {
    // Staged appends are settled (written, then removed with the rest) before the log goes.
    if (!this.#closed) this.#writePending()
    if (!this.#closed) {
      this.#closed = true
      await this.#flushing?.catch(() => undefined)
      for (const s of this.#segments) {
        s.close()
        for (const file of s.files()) this.#pool.close(file)
      }
    }
    // Rename first: a crash mid-removal leaves a `-delete` directory, not a half-empty log.
    const doomed = `${this.dir}.${randomUUID().replace(/-/g, '')}${DELETE_DIR_SUFFIX}`
    this.#fs.rename(this.dir, doomed)
    // Make the rename durable first, so a crash cannot bring the partition back half-removed.
    await this.#fs.syncDir(dirname(this.dir))
    this.#fs.rmdir(doomed)
  }

  get closed (): boolean {
    return this.#closed
  }

  #checkOpen (): void {
    if (this.#closed) throw new StorageError(StorageErrorCode.CLOSED, `Log ${this.topic}-${this.partition} is closed`)
  }

  // ---- loading and recovery

  #load (options: PartitionLogOptions): void {
    const fs = this.#fs
    fs.mkdir(this.dir)
    const names = fs.readdir(this.dir)
    for (const name of names) {
      const path = join(this.dir, name)
      if (name.endsWith(DELETED_SUFFIX) || name.endsWith(CLEANED_SUFFIX) || name.endsWith('.tmp')) fs.unlink(path)
    }
    // A `.log.swap` is a committed compaction: finish installing it (segment-swap.ts).
    recoverSwaps(fs, this.dir)
    const baseOffsets = fs.readdir(this.dir)
      .filter((n) => n.endsWith(LOG_SUFFIX) && /^\d{20}\.log$/.test(n))
      .map((n) => Number(n.slice(0, 20)))
      .sort((a, b) => a - b)
    // Index files whose log is gone are leftovers.
    for (const name of fs.readdir(this.dir)) {
      const m = /^(\d{20})\.(index|timeindex|txnindex)$/.exec(name)
      if (m !== null && !baseOffsets.includes(Number(m[1]))) fs.unlink(join(this.dir, name))
    }
    const recoveryPoint = options.recoveryPoint ?? 0
    const segmentOptions = this.#segmentOptions()
    const now = this.#clock()
    for (let i = 0; i < baseOffsets.length; i++) {
      const base = baseOffsets[i]!
      const nextBase = baseOffsets[i + 1]
      // Segments that may hold data past the recovery point are validated after a crash.
      const recover = !options.clean && (nextBase === undefined || nextBase > recoveryPoint)
      const { segment, truncatedBytes } = LogSegment.open(this.#pool, this.dir, base, segmentOptions, now, recover)
      this.#segments.push(segment)
      if (recover) this.recovery.recoveredSegments++
      this.recovery.corruptBatches += segment.corruptBatches.length
      // A segment reaching past the next one's base still holds records a truncation removed
      // before the next segment was rolled (the truncation had not reached the disk when the
      // machine went down; it need not have: the next segment may be durable while it is not).
      // The next segment's records supersede them.
      if (nextBase !== undefined && segment.nextOffset > nextBase) this.recovery.truncatedBytes += segment.truncateTo(nextBase)
      // A recovered segment ending before the next one starts lost its tail at a batch boundary
      // (nothing to truncate, but the offsets up to the next base are gone): the later segments,
      // all past the recovery point, would follow a hole, so they go as after a torn write.
      const lostTail = recover && nextBase !== undefined && segment.nextOffset < nextBase
      if (truncatedBytes > 0 || lostTail) {
        this.recovery.truncatedBytes += truncatedBytes
        // Data after a torn write cannot be trusted: later segments go too (Kafka does the same).
        for (const later of baseOffsets.slice(i + 1)) {
          const dropped = LogSegment.open(this.#pool, this.dir, later, segmentOptions, now, false).segment
          this.recovery.truncatedBytes += dropped.size
          this.#deleteSegment(dropped)
        }
        break
      }
    }
    if (this.#segments.length === 0) {
      const start = Math.max(options.logStartOffset ?? 0, 0)
      this.#segments.push(LogSegment.create(this.#pool, this.dir, start, segmentOptions, now))
    }
    const end = this.logEndOffset
    this.#logStartOffset = Math.min(Math.max(options.logStartOffset ?? 0, this.#segments[0]!.baseOffset), end)
    this.#recoveryPoint = Math.min(options.clean ? end : recoveryPoint, end)
    // Never below the log start (a checkpointed start can be past the recovery point).
    this.#highWatermark = Math.max(this.#recoveryPoint, this.#logStartOffset)
    this.leaderEpochCache.truncateFromEnd(end)
    this.leaderEpochCache.truncateFromStart(this.#logStartOffset)
    this.#deleteSnapshotsFrom(end + 1)
    this.#rebuildProducerState(end, options.clean)
    this.producerState.onHighWatermarkUpdated(this.#highWatermark)
  }
}

interface PendingWrite {
  promise: Promise<void>
  resolve: () => void
  reject: (error: unknown) => void
}

interface ProducerAnalysis {
  updated: Map<bigint, ProducerAppendInfo>
  completed: CompletedTxn[]
  /** The retained batch a client batch repeats. */
  duplicate: BatchMetadata | undefined
}

const NO_PRODUCERS: ProducerAnalysis = Object.freeze({ updated: new Map<bigint, ProducerAppendInfo>(), completed: [], duplicate: undefined })
