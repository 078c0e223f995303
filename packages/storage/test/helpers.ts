/**
 * Shared fixtures for the storage tests: building batches, decoding what a log returns,
 * opening logs on a MemoryFileSystem or in a temporary directory.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { buildRecordBatch, decodeRecordBatch, iterateBatches, TimestampType, type RecordInput } from '@samsa/protocol'
import {
  HandlePool, PartitionLog, StorageError, logConfig, type FileSystem, type LogConfig, type PartitionLogOptions,
  type StorageErrorCode
} from '../src/mod.ts'

export const T0 = 1_700_000_000_000

export interface BatchOptions {
  /** One timestamp for every record (default T0), or one per record. */
  timestamp?: number | readonly number[]
  logAppendTime?: boolean
  baseOffset?: number
  leaderEpoch?: number
  /** Pads each value to this many bytes. */
  valueSize?: number
}

/** A batch whose record values are `values` (UTF-8), as a producer would send it. */
export function batch (values: readonly string[], options: BatchOptions = {}): Buffer {
  const ts = options.timestamp ?? T0
  const records: RecordInput[] = values.map((v, i) => ({
    key: null,
    value: options.valueSize === undefined ? v : v.padEnd(options.valueSize, '.'),
    timestamp: typeof ts === 'number' ? ts : ts[i]!
  }))
  return buildRecordBatch({
    records,
    baseOffset: options.baseOffset ?? 0,
    partitionLeaderEpoch: options.leaderEpoch ?? -1,
    timestamp: typeof ts === 'number' ? ts : T0,
    timestampType: options.logAppendTime === true ? TimestampType.LogAppendTime : TimestampType.CreateTime
  })
}

export interface DecodedRecord {
  offset: number
  value: string
  timestamp: number
}

/** Every record of a buffer of whole batches, CRC-checked. */
export function decodeAll (records: Buffer): DecodedRecord[] {
  const out: DecodedRecord[] = []
  for (const entry of iterateBatches(records)) {
    const { header, records: rs } = decodeRecordBatch(records, entry.position)
    for (const r of rs) {
      out.push({
        offset: Number(header.baseOffset) + r.offsetDelta,
        value: r.value?.toString('utf8') ?? '',
        timestamp: Number(header.baseTimestamp) + r.timestampDelta
      })
    }
  }
  return out
}

/** The batches of a buffer as [baseOffset, lastOffset] pairs. */
export function batchRanges (records: Buffer): Array<[number, number]> {
  return [...iterateBatches(records)].map((e) => {
    const { header } = decodeRecordBatch(records, e.position)
    return [Number(header.baseOffset), Number(header.baseOffset) + header.lastOffsetDelta]
  })
}

/** Reads the whole log from `from` (default the log start) to its end, ignoring the high watermark. */
export function readAll (log: PartitionLog, from = log.logStartOffset): DecodedRecord[] {
  const out: DecodedRecord[] = []
  let offset = from
  while (offset < log.logEndOffset) {
    const { records } = log.read(offset, { maxBytes: 1 << 20, maxOffset: log.logEndOffset })
    const decoded = decodeAll(records).filter((r) => r.offset >= offset)
    if (decoded.length === 0) {
      // Nothing at or after `offset` in the rest of the log (a gap at the end): done.
      if (records.length === 0) break
      offset = Math.max(offset, batchRanges(records).at(-1)![1] + 1)
      continue
    }
    out.push(...decoded)
    offset = decoded.at(-1)!.offset + 1
  }
  return out
}

/** The values from `readAll`. */
export function values (log: PartitionLog, from?: number): string[] {
  return readAll(log, from).map((r) => r.value)
}

export interface OpenOptions extends Partial<Omit<PartitionLogOptions, 'config' | 'fs' | 'pool'>> {
  config?: Partial<LogConfig>
  pool?: HandlePool
  maxOpen?: number
}

/** Opens `<root>/topic-0` (by default) on `fs`. */
export function openLog (fs: FileSystem, options: OpenOptions = {}): PartitionLog {
  const topic = options.topic ?? 'topic'
  const partition = options.partition ?? 0
  const { config, maxOpen, ...rest } = options
  return PartitionLog.open({
    ...rest,
    fs,
    pool: options.pool ?? new HandlePool(fs, maxOpen ?? 64),
    dir: options.dir ?? `/data/${topic}-${partition}`,
    topic,
    partition,
    config: logConfig(config ?? {}),
    clean: options.clean ?? true
  })
}

/** A temporary directory removed when the test ends. */
export function tempDir (t: TestContext, prefix = 'samsa-storage-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Asserts that `fn` throws a StorageError with `code`, and returns it. */
export function assertStorageError (fn: () => unknown, code: StorageErrorCode, message?: string): StorageError {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof StorageError, `expected a StorageError, got ${String(error)}`)
    assert.equal(error.code, code, message ?? error.message)
    return error
  }
  assert.fail(message ?? `expected a StorageError ${code}`)
}

export async function assertRejectsStorageError (promise: Promise<unknown>, code: StorageErrorCode): Promise<StorageError> {
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof StorageError, `expected a StorageError, got ${String(error)}`)
    assert.equal(error.code, code, error.message)
    return error
  }
  assert.fail(`expected a rejection with ${code}`)
}

/** A settable clock. */
export function manualClock (start = T0): { now: () => number, set: (t: number) => void, advance: (ms: number) => void } {
  let t = start
  return { now: () => t, set: (v) => { t = v }, advance: (ms) => { t += ms } }
}

/** Runs `fn` with a hook that fails the test on an unhandled rejection while it runs. */
export async function noUnhandledRejections (fn: () => Promise<void>): Promise<void> {
  const seen: unknown[] = []
  const onRejection = (reason: unknown): void => { seen.push(reason) }
  process.on('unhandledRejection', onRejection)
  try {
    await fn()
    await new Promise((resolve) => setImmediate(resolve))
    await new Promise((resolve) => setImmediate(resolve))
  } finally {
    process.off('unhandledRejection', onRejection)
  }
  assert.deepEqual(seen.map(String), [], 'unhandled rejections')
}
