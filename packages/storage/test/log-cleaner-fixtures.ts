// Shared helpers for the log cleaner tests: a compacted log on a MemoryFileSystem with an
// injected clock, a model of everything appended, and readers of what the log holds.
import assert from 'node:assert/strict'
import {
  CompressionType, ControlRecordType, buildEndTxnMarkerBatch, buildRecordBatch, decodeRecordBatch, iterateBatches,
  readBatchHeader, type RecordBatchHeader
} from '@samsa/protocol'
import type { FileSystem } from '../src/file-system.ts'
import { HandlePool } from '../src/handle-pool.ts'
import { LogCleaner, type LogCleanerOptions } from '../src/log-cleaner.ts'
import { type LogConfig, logConfig } from '../src/log-config.ts'
import { MemoryFileSystem } from '../src/memory-file-system.ts'
import { PartitionLog } from '../src/partition-log.ts'

export const DATA_DIR = '/data'
export const LOG_DIR = '/data/t-0'

export interface Rec {
  key: string | null
  value: string | null
  timestamp?: number
}

export interface ModelRecord {
  offset: number
  key: string | null
  value: string | null
  timestamp: number
  producerId?: number
  transactional?: boolean
  /** Part of an aborted transaction. */
  aborted?: boolean
}

export interface ReadRecord {
  offset: number
  key: string | null
  value: string | null
  timestamp: number
  header: RecordBatchHeader
}

export interface BatchOptions {
  producerId?: number
  producerEpoch?: number
  baseSequence?: number
  transactional?: boolean
  compression?: CompressionType
}

export const COMPACT_CONFIG: Partial<LogConfig> = {
  'cleanup.policy': ['compact'],
  'segment.bytes': 1024,
  'index.interval.bytes': 128,
  'min.cleanable.dirty.ratio': 0,
  'delete.retention.ms': 86400000
}

export class Harness {
  readonly fs: FileSystem
  readonly memory: MemoryFileSystem
  pool: HandlePool
  log: PartitionLog
  cleaner: LogCleaner
  now = 1_700_000_000_000
  readonly model: ModelRecord[] = []
  readonly config: LogConfig
  readonly #cleanerOptions: Partial<LogCleanerOptions>
  /** First offset of each producer's open transaction. */
  readonly #openTxn = new Map<number, number>()

  constructor (options: { config?: Partial<LogConfig>, cleaner?: Partial<LogCleanerOptions>, fs?: FileSystem, memory?: MemoryFileSystem } = {}) {
    this.memory = options.memory ?? new MemoryFileSystem()
    this.fs = options.fs ?? this.memory
    this.config = logConfig({ ...COMPACT_CONFIG, ...options.config })
    this.#cleanerOptions = options.cleaner ?? {}
    this.pool = new HandlePool(this.fs, 64)
    this.log = this.#open(true)
    this.cleaner = this.#newCleaner()
  }

  #open (clean: boolean): PartitionLog {
    return PartitionLog.open({ fs: this.fs, pool: this.pool, dir: LOG_DIR, topic: 't', partition: 0, config: this.config, clean, clock: () => this.now })
  }

  #newCleaner (): LogCleaner {
    return new LogCleaner({
      fs: this.fs,
      pool: this.pool,
      dataDir: DATA_DIR,
      logs: () => this.log.closed ? [] : [this.log],
      clock: () => this.now,
      onError: () => {},
      ...this.#cleanerOptions
    })
  }

  /** Appends one batch and moves the high watermark to the log end. */
  append (records: readonly Rec[], options: BatchOptions = {}): { base: number, last: number } {
    const buf = buildRecordBatch({
      records: records.map((r) => ({ key: r.key, value: r.value, timestamp: r.timestamp ?? this.now })),
      timestamp: this.now,
      producerId: options.producerId ?? -1,
      producerEpoch: options.producerEpoch ?? -1,
      baseSequence: options.baseSequence ?? -1,
      isTransactional: options.transactional ?? false,
      compression: options.compression ?? CompressionType.none
    })
    const result = this.log.appendAsLeader(buf, 0)
    const transactional = options.transactional ?? false
    const producerId = options.producerId ?? -1
    if (transactional && !this.#openTxn.has(producerId)) this.#openTxn.set(producerId, result.baseOffset)
    records.forEach((r, i) => this.model.push({
      offset: result.baseOffset + i, key: r.key, value: r.value, timestamp: r.timestamp ?? this.now, producerId, transactional
    }))
    this.log.highWatermark = this.log.logEndOffset
    return { base: result.baseOffset, last: result.lastOffset }
  }

  /** Appends a COMMIT or ABORT marker; an ABORT also goes into the transaction index. */
  marker (type: typeof ControlRecordType.COMMIT | typeof ControlRecordType.ABORT, producerId: number, producerEpoch = 0): number {
    const offset = this.log.logEndOffset
    const buf = buildEndTxnMarkerBatch({ type, producerId, producerEpoch, coordinatorEpoch: 0, timestamp: this.now })
    this.log.appendAsLeader(buf, 0)
    const first = this.#openTxn.get(producerId) ?? offset
    this.#openTxn.delete(producerId)
    if (type === ControlRecordType.ABORT) {
      for (const m of this.model) if (m.producerId === producerId && m.transactional === true && m.offset >= first) m.aborted = true
      this.log.appendAbortedTransaction({ producerId: BigInt(producerId), firstOffset: first, lastOffset: offset, lastStableOffset: offset })
    }
    this.log.highWatermark = this.log.logEndOffset
    return offset
  }

  roll (): void {
    this.log.roll()
  }

  /** Every data record the log serves, in offset order (control and empty batches contribute none). */
  readAll (log = this.log): ReadRecord[] {
    const out: ReadRecord[] = []
    for (const { buf, at, header } of this.rawBatches(log)) {
      if (header.isControlBatch) continue
      const batch = decodeRecordBatch(buf, at)
      const base = Number(batch.header.baseOffset)
      for (const r of batch.records) {
        out.push({
          offset: base + r.offsetDelta,
          key: r.key === null ? null : r.key.toString(),
          value: r.value === null ? null : r.value.toString(),
          timestamp: batch.header.timestampType === 1 ? batch.header.maxTimestamp : batch.header.baseTimestamp + r.timestampDelta,
          header: batch.header
        })
      }
    }
    return out
  }

  /** Every batch the log serves, read through PartitionLog.read. */
  rawBatches (log = this.log): Array<{ buf: Buffer, at: number, header: RecordBatchHeader }> {
    const out: Array<{ buf: Buffer, at: number, header: RecordBatchHeader }> = []
    let offset = log.logStartOffset
    while (offset < log.logEndOffset) {
      const read = log.read(offset, { maxBytes: 1 << 20, maxOffset: log.logEndOffset })
      if (read.records.length === 0) break
      for (const e of iterateBatches(read.records)) {
        const header = readBatchHeader(read.records, e.position)
        const last = Number(header.baseOffset) + header.lastOffsetDelta
        if (last < offset) continue
        out.push({ buf: read.records, at: e.position, header })
        offset = last + 1
      }
    }
    return out
  }

  /**
   * Closes the log (with `crash`, simulates a power loss instead; with `crashed`, one already
   * happened) and opens it again, with a new cleaner.
   */
  async reopen (options: { crash?: boolean, crashed?: boolean } = {}): Promise<void> {
    const unclean = options.crash === true || options.crashed === true
    if (options.crash === true) {
      this.memory.crash()
    } else if (!unclean && !this.log.closed) {
      await this.log.close()
    }
    this.pool = new HandlePool(this.fs, 64)
    this.log = this.#open(!unclean)
    this.log.highWatermark = this.log.logEndOffset
    this.cleaner = this.#newCleaner()
  }
}

/** Latest value per key (null-key records skipped, a null value deletes). */
export function latestPerKey (records: ReadonlyArray<{ key: string | null, value: string | null, aborted?: boolean }>): Map<string, string> {
  const out = new Map<string, string>()
  for (const r of records) {
    if (r.key === null || r.aborted === true) continue
    if (r.value === null) out.delete(r.key)
    else out.set(r.key, r.value)
  }
  return out
}

/** Every record read back is the record appended at its offset, and offsets increase. */
export function assertOffsetsPreserved (read: readonly ReadRecord[], model: readonly ModelRecord[]): void {
  const byOffset = new Map(model.map((m) => [m.offset, m]))
  let previous = -1
  for (const r of read) {
    assert.ok(r.offset > previous, `offset ${r.offset} after ${previous}`)
    previous = r.offset
    const m = byOffset.get(r.offset)
    assert.ok(m !== undefined, `offset ${r.offset} was never appended`)
    assert.equal(r.key, m.key, `key at ${r.offset}`)
    assert.equal(r.value, m.value, `value at ${r.offset}`)
    assert.equal(r.timestamp, m.timestamp, `timestamp at ${r.offset}`)
  }
}

export async function nextTick (): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve))
}
