import assert from 'node:assert/strict'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { readMaxTimestamp, readPartitionLeaderEpoch, TIMESTAMP_TYPE_MASK, readAttributes, iterateBatches } from '@samsa/protocol'
import { MemoryFileSystem, NodeFileSystem, StorageErrorCode, encodeProducerSnapshot, type FileSystem, type PartitionLog } from '../src/mod.ts'
import {
  T0, assertStorageError, batch, batchRanges, decodeAll, manualClock, noUnhandledRejections, openLog, readAll, tempDir, values,
  type OpenOptions
} from './helpers.ts'

/** A MemoryFileSystem whose fsyncs of matching files wait until released. */
class GatedFileSystem extends MemoryFileSystem {
  #held: RegExp | undefined
  #waiting: Array<() => void> = []

  hold (path: RegExp): void {
    this.#held = path
  }

  release (): void {
    this.#held = undefined
    for (const go of this.#waiting.splice(0)) go()
  }

  override open (...args: Parameters<MemoryFileSystem['open']>): ReturnType<MemoryFileSystem['open']> {
    const handle = super.open(...args)
    const sync = handle.sync.bind(handle)
    handle.sync = async () => {
      if (this.#held?.test(handle.path) === true) await new Promise<void>((resolve) => this.#waiting.push(resolve))
      await sync()
    }
    return handle
  }
}

/** Appends one single-record batch per value. */
function appendEach (log: PartitionLog, vals: readonly string[], epoch = 0, options: Parameters<typeof batch>[1] = {}): void {
  for (const v of vals) log.appendAsLeader(batch([v], options), epoch)
}

const range = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `v${from + i}`)

/** Runs `body` on a MemoryFileSystem and on the real file system in a temporary directory. */
function bothFileSystems (name: string, body: (fs: FileSystem, open: (o?: OpenOptions) => PartitionLog) => Promise<void> | void): void {
  it(`${name} (memory)`, async () => {
    const fs = new MemoryFileSystem()
    await body(fs, (o = {}) => openLog(fs, o))
  })
  it(`${name} (disk)`, async (t) => {
    const root = tempDir(t)
    const fs = new NodeFileSystem()
    await body(fs, (o = {}) => openLog(fs, { dir: join(root, 'topic-0'), ...o }))
  })
}

describe('PartitionLog: append and read', () => {
  bothFileSystems('assigns offsets from the log end, stamps the leader epoch, and reads back', async (_fs, open) => {
    let log = open()
    const r1 = log.appendAsLeader(batch(['a', 'b', 'c']), 3)
    const r2 = log.appendAsLeader(Buffer.concat([batch(['d']), batch(['e', 'f'])]), 3)
    assert.deepEqual([r1.baseOffset, r1.lastOffset, r2.baseOffset, r2.lastOffset], [0, 2, 3, 5])
    assert.equal(r1.logAppendTime, -1)
    assert.equal(r1.maxTimestamp, T0)
    assert.equal(r1.flushed, undefined)
    assert.equal(log.logEndOffset, 6)
    log.highWatermark = 6
    const read = log.read(0, { maxBytes: 1 << 20 })
    assert.equal(read.firstOffset, 0)
    assert.deepEqual(decodeAll(read.records).map((r) => [r.offset, r.value]), [[0, 'a'], [1, 'b'], [2, 'c'], [3, 'd'], [4, 'e'], [5, 'f']])
    for (const e of iterateBatches(read.records)) assert.equal(readPartitionLeaderEpoch(read.records, e.position), 3)
    assert.deepEqual(log.leaderEpochCache.entries, [{ epoch: 3, startOffset: 0 }])
    await log.close()
    log = open()
    assert.equal(log.logEndOffset, 6)
    assert.deepEqual(values(log), ['a', 'b', 'c', 'd', 'e', 'f'])
    assert.deepEqual(log.leaderEpochCache.entries, [{ epoch: 3, startOffset: 0 }])
    await log.close()
  })

  it('rejects malformed input with INVALID_BATCH and appends nothing', () => {
    const log = openLog(new MemoryFileSystem())
    const good = batch(['a'])
    assertStorageError(() => log.appendAsLeader(Buffer.concat([good, Buffer.alloc(5)]), 0), StorageErrorCode.INVALID_BATCH)
    const bad = Buffer.from(good)
    bad.writeInt32BE(10, 8)
    assertStorageError(() => log.appendAsLeader(bad, 0), StorageErrorCode.INVALID_BATCH)
    assertStorageError(() => log.appendAsLeader(good.subarray(0, good.length - 1), 0), StorageErrorCode.INVALID_BATCH)
    assert.equal(log.logEndOffset, 0)
    assert.equal(log.size, 0)
    const empty = log.appendAsLeader(Buffer.alloc(0), 0)
    assert.equal(empty.lastOffset, -1)
    assert.equal(log.logEndOffset, 0)
  })

  it('stamps LogAppendTime with the broker clock', () => {
    const clock = manualClock(T0 + 5000)
    const log = openLog(new MemoryFileSystem(), { clock: clock.now, config: { 'message.timestamp.type': 'LogAppendTime' } })
    const result = log.appendAsLeader(batch(['a', 'b'], { timestamp: T0 }), 0)
    assert.equal(result.logAppendTime, T0 + 5000)
    assert.equal(result.maxTimestamp, T0 + 5000)
    const { records } = log.read(0, { maxBytes: 1 << 20, maxOffset: 2 })
    assert.equal(readMaxTimestamp(records, 0), T0 + 5000)
    assert.notEqual(readAttributes(records, 0) & TIMESTAMP_TYPE_MASK, 0)
    assert.deepEqual(decodeAll(records).map((r) => r.value), ['a', 'b'], 'the CRC was updated')
  })

  describe('read', () => {
    function threeSegments (): PartitionLog {
      const log = openLog(new MemoryFileSystem())
      appendEach(log, range(0, 3))
      log.appendAsLeader(batch(['v3', 'v4', 'v5']), 0)
      log.roll()
      appendEach(log, range(6, 8))
      log.roll()
      appendEach(log, range(8, 10))
      log.highWatermark = 10
      return log
    }

    it('returns whole batches from the batch holding the start offset, one segment at a time', () => {
      const log = threeSegments()
      const r = log.read(4, { maxBytes: 1 << 20 })
      assert.equal(r.firstOffset, 3, 'the batch holding offset 4 starts at 3')
      assert.deepEqual(batchRanges(r.records), [[3, 5]])
      assert.deepEqual(batchRanges(log.read(6, { maxBytes: 1 << 20 }).records), [[6, 6], [7, 7]])
    })

    it('returns the first batch whole even above maxBytes, unless minOneBatch is false', () => {
      const log = threeSegments()
      const one = log.read(0, { maxBytes: 1 })
      assert.deepEqual(batchRanges(one.records), [[0, 0]])
      const big = log.read(3, { maxBytes: 10 })
      assert.deepEqual(batchRanges(big.records), [[3, 5]])
      const none = log.read(3, { maxBytes: 10, minOneBatch: false })
      assert.equal(none.records.length, 0)
      assert.equal(none.firstOffset, 3)
      const size = one.records.length
      assert.deepEqual(batchRanges(log.read(0, { maxBytes: size * 2 + 5 }).records), [[0, 0], [1, 1]], 'cut at whole batches')
    })

    it('does not skip ahead to a later segment when the first batch does not fit (regression)', () => {
      const log = openLog(new MemoryFileSystem())
      log.appendAsLeader(batch(['x'.repeat(500)]), 0)
      log.roll()
      log.appendAsLeader(batch(['y']), 0)
      log.highWatermark = 2
      const r = log.read(0, { maxBytes: 100, minOneBatch: false })
      assert.equal(r.records.length, 0)
      assert.equal(r.firstOffset, 0)
    })

    it('stops at the high watermark by default, or at maxOffset', () => {
      const log = threeSegments()
      log.highWatermark = 4
      assert.deepEqual(batchRanges(log.read(0, { maxBytes: 1 << 20 }).records), [[0, 0], [1, 1], [2, 2]], 'the batch 3-5 holds the HW')
      assert.equal(log.read(4, { maxBytes: 1 << 20 }).records.length, 0)
      assert.deepEqual(batchRanges(log.read(0, { maxBytes: 1 << 20, maxOffset: 2 }).records), [[0, 0], [1, 1]])
      assert.deepEqual(batchRanges(log.read(6, { maxBytes: 1 << 20, maxOffset: 100 }).records), [[6, 6], [7, 7]], 'maxOffset past the log end is the log end')
      log.highWatermark = 7
      assert.deepEqual(batchRanges(log.read(6, { maxBytes: 1 << 20 }).records), [[6, 6]])
    })

    it('throws OFFSET_OUT_OF_RANGE outside [log start, log end] and is empty at the log end', () => {
      const log = threeSegments()
      assertStorageError(() => log.read(11, { maxBytes: 100 }), StorageErrorCode.OFFSET_OUT_OF_RANGE)
      assertStorageError(() => log.read(-1, { maxBytes: 100 }), StorageErrorCode.OFFSET_OUT_OF_RANGE)
      assert.equal(log.read(10, { maxBytes: 100 }).records.length, 0)
      log.deleteRecordsBefore(7)
      assertStorageError(() => log.read(6, { maxBytes: 100 }), StorageErrorCode.OFFSET_OUT_OF_RANGE)
      assert.equal(log.read(7, { maxBytes: 100 }).firstOffset, 7)
    })

    it('reads every offset through the sparse index', () => {
      const log = openLog(new MemoryFileSystem(), { config: { 'index.interval.bytes': 200 } })
      appendEach(log, range(0, 300))
      log.highWatermark = 300
      assert.ok(log.activeSegment.offsetIndex.count > 10)
      for (let o = 0; o < 300; o += 7) assert.equal(decodeAll(log.read(o, { maxBytes: 1 }).records)[0]!.value, `v${o}`)
      assert.deepEqual([...log.batchesFrom(295)].map((b) => b.baseOffset), [295, 296, 297, 298, 299])
    })
  })

  it('keeps the high watermark within [log start, log end] and the LSO below it', () => {
    const log = openLog(new MemoryFileSystem())
    appendEach(log, range(0, 5))
    log.highWatermark = 100
    assert.equal(log.highWatermark, 5)
    log.highWatermark = -4
    assert.equal(log.highWatermark, 0)
    log.highWatermark = 3
    assert.equal(log.lastStableOffset, 3)
    log.lastStableOffset = 2
    assert.equal(log.lastStableOffset, 2)
    log.lastStableOffset = 4
    assert.equal(log.lastStableOffset, 3)
    log.lastStableOffset = undefined
    assert.equal(log.lastStableOffset, 3)
  })
})

describe('PartitionLog: rolling', () => {
  it('rolls by size: a segment never exceeds segment.bytes with more than one batch', () => {
    const log = openLog(new MemoryFileSystem(), { config: { 'segment.bytes': 1000 } })
    for (let i = 0; i < 40; i++) log.appendAsLeader(batch([`v${i}`], { valueSize: 100 }), 0)
    assert.ok(log.segments.length >= 5)
    for (const s of log.segments) assert.ok(s.size <= 1000, `segment of ${s.size} bytes`)
    const big = openLog(new MemoryFileSystem(), { config: { 'segment.bytes': 100 } })
    big.appendAsLeader(batch(['x'], { valueSize: 500 }), 0)
    big.appendAsLeader(batch(['y'], { valueSize: 500 }), 0)
    assert.deepEqual(big.segments.map((s) => s.baseOffset), [0, 1], 'one oversized batch per segment')
  })

  it('rolls by time on record timestamps (segment.ms, like timeWaitedForRoll)', () => {
    const clock = manualClock(T0)
    const log = openLog(new MemoryFileSystem(), { clock: clock.now, config: { 'segment.ms': 1000 } })
    log.appendAsLeader(batch(['a'], { timestamp: T0 }), 0)
    log.appendAsLeader(batch(['b'], { timestamp: T0 + 1000 }), 0)
    assert.equal(log.segments.length, 1, 'exactly segment.ms later: not yet')
    clock.advance(1e9)
    log.appendAsLeader(batch(['c'], { timestamp: T0 + 500 }), 0)
    assert.equal(log.segments.length, 1, 'wall-clock time does not matter when records carry timestamps')
    log.appendAsLeader(batch(['d'], { timestamp: T0 + 1001 }), 0)
    assert.deepEqual(log.segments.map((s) => s.baseOffset), [0, 3])
    log.appendAsLeader(batch(['e'], { timestamp: T0 }), 0)
    assert.equal(log.segments.length, 2, 'an older timestamp never rolls')
    assert.equal(log.segments[1]!.rollingBasedTimestamp, T0 + 1001)
  })

  it('rolls by time from the first batch timestamp after a reopen', async () => {
    const fs = new MemoryFileSystem()
    let log = openLog(fs, { config: { 'segment.ms': 1000 } })
    log.appendAsLeader(batch(['a'], { timestamp: T0 }), 0)
    await log.close()
    log = openLog(fs, { config: { 'segment.ms': 1000 } })
    assert.equal(log.activeSegment.rollingBasedTimestamp, T0)
    log.appendAsLeader(batch(['b'], { timestamp: T0 + 999 }), 0)
    log.appendAsLeader(batch(['c'], { timestamp: T0 + 1001 }), 0)
    assert.equal(log.segments.length, 2)
  })

  it('subtracts a stable per-partition segment.jitter.ms', () => {
    const log = openLog(new MemoryFileSystem(), { config: { 'segment.ms': 1000, 'segment.jitter.ms': 900 } })
    for (let i = 0; i < 10; i++) log.appendAsLeader(batch([`v${i}`], { timestamp: T0 + i * 100 }), 0)
    // The jitter is fixed per topic-partition, in [0, 900): the log rolls after 100 to 1000 ms.
    const gaps = log.segments.slice(1).map((s, i) => s.rollingBasedTimestamp - log.segments[i]!.rollingBasedTimestamp)
    assert.ok(gaps.length >= 1)
    assert.ok(gaps.every((g) => g === gaps[0] && g >= 100 && g <= 1100), JSON.stringify(gaps))
  })

  it('counts segment.ms from the creation time when the first batch has no timestamp (regression)', () => {
    const clock = manualClock(T0)
    const log = openLog(new MemoryFileSystem(), { clock: clock.now, config: { 'segment.ms': 1000 } })
    for (let i = 0; i < 3; i++) log.appendAsLeader(batch(['x'], { timestamp: -1 }), 0)
    assert.equal(log.segments.length, 1, 'no roll per append')
    assert.equal(log.activeSegment.rollingBasedTimestamp, T0)
    clock.advance(1001)
    log.appendAsLeader(batch(['y'], { timestamp: -1 }), 0)
    assert.equal(log.segments.length, 2)
  })

  it('rolls when an index is full', () => {
    // 24 bytes: 3 offset entries, 2 time entries; an entry per batch after the first.
    const log = openLog(new MemoryFileSystem(), { config: { 'segment.index.bytes': 24, 'index.interval.bytes': 0 } })
    for (let i = 0; i < 12; i++) log.appendAsLeader(batch([`v${i}`], { timestamp: T0 + i }), 0)
    assert.ok(log.segments.length >= 4, `${log.segments.length} segments`)
    for (const s of log.segments) {
      assert.ok(s.offsetIndex.count <= 3 && s.timeIndex.count <= 2)
    }
    log.highWatermark = 12
    assert.deepEqual(values(log), range(0, 12))
  })

  it('does not overflow a full index within one multi-batch append (regression)', async () => {
    const fs = new MemoryFileSystem()
    const config = { 'segment.index.bytes': 16, 'index.interval.bytes': 0 }
    let log = openLog(fs, { config })
    const batches = Buffer.concat(range(0, 6).map((v, i) => batch([v], { timestamp: T0 + i })))
    const result = log.appendAsLeader(batches, 0)
    assert.equal(result.lastOffset, 5)
    assert.equal(log.logEndOffset, 6)
    assert.equal(log.activeSegment.size, fs.size(log.activeSegment.logPath))
    assert.equal(log.activeSegment.maxTimestamp, T0 + 5)
    log.appendAsLeader(batch(['v6'], { timestamp: T0 + 6 }), 0)
    assert.equal(log.segments.length, 2, 'the full segment rolled')
    await log.close()
    log = openLog(fs, { config })
    assert.equal(log.segments[0]!.maxTimestamp, T0 + 5)
    assert.deepEqual(values(log), range(0, 7))
    assert.deepEqual(log.offsetForTimestamp(T0 + 4), { offset: 4, timestamp: T0 + 4, leaderEpoch: 0 })
  })

  it('roll() is a no-op on an empty active segment', () => {
    const log = openLog(new MemoryFileSystem())
    assert.equal(log.roll(), log.activeSegment)
    appendEach(log, ['a'])
    const s = log.roll()
    assert.equal(s.baseOffset, 1)
    assert.equal(log.roll(), s)
    assert.equal(log.segments.length, 2)
  })
})

describe('PartitionLog: timestamps', () => {
  function timedLog (config: OpenOptions['config'] = {}): PartitionLog {
    const log = openLog(new MemoryFileSystem(), { config: { 'index.interval.bytes': 0, ...config } })
    log.appendAsLeader(batch(['a', 'b'], { timestamp: [T0 + 10, T0 + 30] }), 0) // 0-1
    log.appendAsLeader(batch(['c', 'd', 'e'], { timestamp: [T0 + 20, T0 + 50, T0 + 40] }), 1) // 2-4
    log.roll()
    log.appendAsLeader(batch(['f'], { timestamp: T0 + 45 }), 1) // 5
    log.appendAsLeader(batch(['g', 'h'], { timestamp: [T0 + 60, T0 + 60] }), 2) // 6-7
    log.highWatermark = log.logEndOffset
    return log
  }

  it('offsetForTimestamp: the earliest offset whose timestamp is >= T', () => {
    const log = timedLog()
    const at = (t: number): number | undefined => log.offsetForTimestamp(T0 + t)?.offset
    assert.equal(at(0), 0)
    assert.equal(at(10), 0)
    assert.equal(at(11), 1)
    assert.equal(at(25), 1)
    assert.equal(at(31), 3, 'inside a batch')
    assert.equal(at(41), 3)
    assert.equal(at(50), 3)
    assert.equal(at(51), 6, 'in the next segment')
    assert.equal(at(60), 6)
    assert.equal(at(61), undefined, 'every record is older')
    assert.deepEqual(log.offsetForTimestamp(T0 + 31), { offset: 3, timestamp: T0 + 50, leaderEpoch: 1 })
  })

  it('offsetForTimestamp finds records before the time index entry in the same batch (regression)', () => {
    const log = openLog(new MemoryFileSystem(), { config: { 'index.interval.bytes': 0 } })
    log.appendAsLeader(batch(['a', 'b'], { timestamp: T0 + 50 }), 0)
    log.appendAsLeader(batch(['c', 'd', 'e'], { timestamp: T0 + 100 }), 0)
    assert.equal(log.activeSegment.timeIndex.count, 1)
    assert.equal(log.offsetForTimestamp(T0 + 100)?.offset, 2)
    assert.equal(log.offsetForTimestamp(T0 + 51)?.offset, 2)
  })

  it('offsetForTimestamp skips records below the log start offset', () => {
    const log = timedLog()
    log.deleteRecordsBefore(3)
    assert.equal(log.offsetForTimestamp(T0)?.offset, 3)
    log.deleteRecordsBefore(4)
    assert.equal(log.offsetForTimestamp(T0 + 31)?.offset, 4, 'offset 3 (t=50) is gone; 4 is t=40')
    assert.equal(log.offsetForTimestamp(T0 + 41)?.offset, 5)
  })

  it('offsetForTimestamp with LogAppendTime uses the batch time for every record', () => {
    const clock = manualClock(T0 + 1000)
    const log = openLog(new MemoryFileSystem(), { clock: clock.now, config: { 'message.timestamp.type': 'LogAppendTime', 'index.interval.bytes': 0 } })
    log.appendAsLeader(batch(['a', 'b'], { timestamp: T0 + 5000 }), 0)
    clock.set(T0 + 2000)
    log.appendAsLeader(batch(['c', 'd'], { timestamp: T0 }), 0)
    assert.deepEqual(log.offsetForTimestamp(T0 + 1000), { offset: 0, timestamp: T0 + 1000, leaderEpoch: 0 })
    assert.deepEqual(log.offsetForTimestamp(T0 + 1001), { offset: 2, timestamp: T0 + 2000, leaderEpoch: 0 })
    assert.equal(log.offsetForTimestamp(T0 + 2001), undefined)
    assert.deepEqual(log.maxTimestampAndOffset(), { offset: 2, timestamp: T0 + 2000, leaderEpoch: 0 })
  })

  it('offsetForTimestamp works the same after a clean reopen and after recovery', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs, { config: { 'index.interval.bytes': 0 } })
    log.appendAsLeader(batch(['a', 'b'], { timestamp: [T0 + 10, T0 + 30] }), 0)
    log.appendAsLeader(batch(['c', 'd', 'e'], { timestamp: [T0 + 20, T0 + 50, T0 + 40] }), 1)
    log.roll()
    log.appendAsLeader(batch(['f'], { timestamp: T0 + 45 }), 1)
    const expected = [0, 10, 11, 31, 51].map((t) => log.offsetForTimestamp(T0 + t))
    await log.close()
    for (const clean of [true, false]) {
      const again = openLog(fs, { clean, config: { 'index.interval.bytes': 0 } })
      assert.deepEqual([0, 10, 11, 31, 51].map((t) => again.offsetForTimestamp(T0 + t)), expected)
      await again.close()
    }
  })

  it('maxTimestampAndOffset: the first record with the largest timestamp (regression: not the batch end)', () => {
    const log = timedLog()
    assert.deepEqual(log.maxTimestampAndOffset(), { offset: 6, timestamp: T0 + 60, leaderEpoch: 2 })
    const inBatch = openLog(new MemoryFileSystem())
    inBatch.appendAsLeader(batch(['a', 'b', 'c'], { timestamp: [T0, T0 + 9, T0 + 3] }), 4)
    assert.deepEqual(inBatch.maxTimestampAndOffset(), { offset: 1, timestamp: T0 + 9, leaderEpoch: 4 })
    assert.equal(openLog(new MemoryFileSystem()).maxTimestampAndOffset(), undefined)
  })

  it('maxTimestampAndOffset prefers the earliest segment on ties', () => {
    const log = openLog(new MemoryFileSystem())
    log.appendAsLeader(batch(['a'], { timestamp: T0 }), 0)
    log.appendAsLeader(batch(['b'], { timestamp: T0 + 5 }), 0)
    log.roll()
    log.appendAsLeader(batch(['c'], { timestamp: T0 + 5 }), 0)
    assert.equal(log.maxTimestampAndOffset()?.offset, 1)
  })

  it('tracks each segment largest timestamp', () => {
    const log = timedLog()
    assert.deepEqual(log.segments.map((s) => [s.maxTimestamp, s.offsetOfMaxTimestamp]), [[T0 + 50, 4], [T0 + 60, 7]])
  })
})

describe('PartitionLog: truncation', () => {
  function filled (): PartitionLog {
    const log = openLog(new MemoryFileSystem())
    log.appendAsLeader(batch(['v0', 'v1', 'v2']), 1)
    log.appendAsLeader(batch(['v3', 'v4']), 2)
    log.roll()
    log.appendAsLeader(batch(['v5', 'v6']), 3)
    log.roll()
    log.appendAsLeader(batch(['v7']), 4)
    log.highWatermark = 8
    return log
  }

  it('truncateTo removes the whole batch holding the offset and everything after', () => {
    const log = filled()
    log.truncateTo(4)
    assert.equal(log.logEndOffset, 3, 'batch 3-4 removed whole')
    assert.equal(log.segments.length, 1)
    assert.equal(log.highWatermark, 3)
    assert.deepEqual(values(log), ['v0', 'v1', 'v2'])
    assert.deepEqual(log.leaderEpochCache.entries, [{ epoch: 1, startOffset: 0 }])
    appendEach(log, ['w3'], 5)
    assert.deepEqual(values(log), ['v0', 'v1', 'v2', 'w3'])
  })

  it('truncateTo a segment boundary deletes the later segments and their files', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs)
    appendEach(log, range(0, 5))
    log.roll()
    appendEach(log, range(5, 7))
    log.roll()
    appendEach(log, ['v7'])
    await log.flush() // every segment has its index files
    const doomed = log.segments.slice(1).flatMap((s) => s.files())
    assert.equal(doomed.length, 6)
    log.truncateTo(5)
    assert.deepEqual(log.segments.map((s) => s.baseOffset), [0])
    assert.equal(log.logEndOffset, 5)
    for (const f of doomed) assert.equal(fs.exists(f), false, f)
    assert.deepEqual(fs.readdir(log.dir).filter((n) => n.includes('.deleted')), [])
  })

  it('truncateTo at or past the log end is a no-op; at or below the log start empties the log', () => {
    const log = filled()
    log.truncateTo(8)
    log.truncateTo(100)
    assert.equal(log.logEndOffset, 8)
    log.deleteRecordsBefore(5)
    log.truncateTo(5)
    assert.equal(log.logEndOffset, 5)
    assert.equal(log.logStartOffset, 5)
    assert.equal(log.size, 0)
  })

  it('truncateTo clamps the recovery point and removes producer snapshots past the end', async () => {
    const log = filled()
    await log.flush()
    assert.equal(log.recoveryPoint, 8)
    // Valid (empty) snapshots: the truncation rebuilds the producer state from the newest one left.
    const empty = encodeProducerSnapshot([])
    await log.writeProducerSnapshot(3, empty)
    await log.writeProducerSnapshot(8, empty)
    assert.equal(log.latestProducerSnapshot()?.offset, 8)
    assert.equal(log.latestProducerSnapshot(4)?.offset, 3)
    log.truncateTo(6)
    assert.equal(log.recoveryPoint, 5)
    assert.ok(log.latestProducerSnapshot()!.offset <= 6, 'no snapshot past the end')
    assert.deepEqual(log.latestProducerSnapshot(4), { offset: 3, data: empty })
  })

  it('truncateFullyAndStartAt empties the log at a new offset, epochs included', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs)
    log.appendAsLeader(batch(['a', 'b']), 1)
    log.appendAsLeader(batch(['c']), 2)
    log.highWatermark = 3
    log.truncateFullyAndStartAt(50)
    assert.equal(log.logStartOffset, 50)
    assert.equal(log.logEndOffset, 50)
    assert.equal(log.highWatermark, 50, 'the high watermark follows (regression: it stayed below the log start)')
    assert.deepEqual(log.segments.map((s) => s.baseOffset), [50])
    assert.deepEqual(log.leaderEpochCache.entries, [{ epoch: 2, startOffset: 50 }], 'as a reopen would leave it')
    assert.deepEqual(log.endOffsetForEpoch(1), { leaderEpoch: 1, endOffset: 50 })
    assert.equal(log.appendAsLeader(batch(['x']), 3).baseOffset, 50)
    assert.deepEqual(log.leaderEpochCache.entries, [{ epoch: 3, startOffset: 50 }])
    await log.close()
    const again = openLog(fs)
    assert.deepEqual(again.leaderEpochCache.entries, [{ epoch: 3, startOffset: 50 }])
    assert.deepEqual(values(again), ['x'])
  })
})

describe('PartitionLog: followers', () => {
  function leaderBatches (): Buffer[] {
    const leader = openLog(new MemoryFileSystem())
    const out: Buffer[] = []
    for (const [vals, epoch] of [[['a', 'b'], 1], [['c'], 1], [['d', 'e'], 3], [['f'], 4]] as Array<[string[], number]>) {
      const b = batch(vals)
      leader.appendAsLeader(b, epoch)
      out.push(b)
    }
    return out
  }

  it('appendAsFollower keeps offsets and epochs and learns the epoch starts', () => {
    const [b0, b1, b2, b3] = leaderBatches() as [Buffer, Buffer, Buffer, Buffer]
    const log = openLog(new MemoryFileSystem())
    const r = log.appendAsFollower(Buffer.concat([b0, b1]))
    assert.deepEqual([r.baseOffset, r.lastOffset], [0, 2])
    log.appendAsFollower(Buffer.concat([b2, b3]))
    assert.equal(log.logEndOffset, 6)
    assert.deepEqual(log.leaderEpochCache.entries, [{ epoch: 1, startOffset: 0 }, { epoch: 3, startOffset: 3 }, { epoch: 4, startOffset: 5 }])
    assert.deepEqual(log.endOffsetForEpoch(1), { leaderEpoch: 1, endOffset: 3 })
    assert.deepEqual(log.endOffsetForEpoch(2), { leaderEpoch: 1, endOffset: 3 })
    assert.deepEqual(log.endOffsetForEpoch(4), { leaderEpoch: 4, endOffset: 6 })
    assertStorageError(() => log.appendAsFollower(b2), StorageErrorCode.INVALID_BATCH)
    assert.equal(log.appendAsFollower(Buffer.alloc(0)).lastOffset, 5)
  })

  it('a follower starting past an empty log starts there, keeping the epochs (regression)', () => {
    const [, , b2, b3] = leaderBatches() as [Buffer, Buffer, Buffer, Buffer]
    const log = openLog(new MemoryFileSystem())
    log.appendAsFollower(Buffer.concat([b2, b3]))
    assert.equal(log.logStartOffset, 3)
    assert.deepEqual(log.segments.map((s) => s.baseOffset), [3])
    assert.deepEqual(log.leaderEpochCache.entries, [{ epoch: 3, startOffset: 3 }, { epoch: 4, startOffset: 5 }])
    assert.deepEqual(log.endOffsetForEpoch(3), { leaderEpoch: 3, endOffset: 5 })
  })

  it('a gap in a follower log starts a new segment', () => {
    const [b0, , , b3] = leaderBatches() as [Buffer, Buffer, Buffer, Buffer]
    const log = openLog(new MemoryFileSystem())
    log.appendAsFollower(b0)
    log.appendAsFollower(b3)
    assert.deepEqual(log.segments.map((s) => [s.baseOffset, s.nextOffset]), [[0, 2], [5, 6]])
    assert.deepEqual(readAll(log).map((r) => r.offset), [0, 1, 5])
  })

  it('an invalid batch in a follower fetch assigns no epoch', () => {
    const [b0, , b2] = leaderBatches() as [Buffer, Buffer, Buffer]
    const log = openLog(new MemoryFileSystem())
    log.appendAsFollower(b0)
    assertStorageError(() => log.appendAsFollower(Buffer.concat([b2, b0])), StorageErrorCode.INVALID_BATCH)
    assert.deepEqual(log.leaderEpochCache.entries, [{ epoch: 1, startOffset: 0 }])
  })
})

describe('PartitionLog: retention', () => {
  function segmented (clock = manualClock(), config: OpenOptions['config'] = {}): PartitionLog {
    const log = openLog(new MemoryFileSystem(), { clock: clock.now, config: { 'segment.bytes': 250, ...config } })
    for (let i = 0; i < 12; i++) log.appendAsLeader(batch([`v${i}`], { timestamp: T0 + i * 1000, valueSize: 50 }), 0)
    log.highWatermark = log.logEndOffset
    return log
  }

  it('deleteRecordsBefore moves the log start and deletes whole segments below it', () => {
    const log = segmented()
    const before = log.segments.length
    assert.equal(log.deleteRecordsBefore(1), 1)
    assert.equal(log.segments.length, before, 'segment 0 still holds offsets >= 1')
    assert.equal(log.read(1, { maxBytes: 1 }).firstOffset, 1)
    const second = log.segments[1]!.baseOffset
    log.deleteRecordsBefore(second + 1)
    assert.equal(log.segments[0]!.baseOffset, second)
    assert.equal(log.logStartOffset, second + 1)
    assert.equal(log.deleteRecordsBefore(0), second + 1, 'never moves back')
    assertStorageError(() => log.deleteRecordsBefore(log.highWatermark + 1), StorageErrorCode.OFFSET_OUT_OF_RANGE)
  })

  it('deleteOldSegments by retention.ms on each segment largest timestamp (injected clock)', () => {
    const clock = manualClock(T0)
    const log = segmented(clock, { 'retention.ms': 5000 })
    assert.equal(log.deleteOldSegments(), 0)
    clock.set(T0 + 7500) // records up to T0 + 2500 expired
    const deleted = log.deleteOldSegments()
    assert.ok(deleted >= 1)
    assert.ok(log.segments[0]!.maxTimestamp >= T0 + 2500)
    assert.equal(log.logStartOffset, log.segments[0]!.baseOffset)
    clock.set(T0 + 1e9)
    log.deleteOldSegments()
    assert.equal(log.segments.length, 1, 'the active segment stays')
    assert.equal(log.logStartOffset, log.activeSegment.baseOffset)
  })

  it('deleteOldSegments by retention.bytes keeps at least retention.bytes', () => {
    const log = segmented(manualClock(), { 'retention.bytes': 500, 'retention.ms': -1 })
    log.deleteOldSegments()
    assert.ok(log.size >= 500, `${log.size}`)
    assert.ok(log.size - log.segments[0]!.size < 500)
  })

  it('never deletes past the high watermark', () => {
    const log = segmented(manualClock(T0 + 1e9), { 'retention.ms': 1 })
    log.highWatermark = 0
    assert.equal(log.deleteOldSegments(), 0)
    log.highWatermark = log.segments[2]!.baseOffset
    assert.equal(log.deleteOldSegments(), 2)
  })

  it('compact-only topics keep old segments (but drop those below the log start)', () => {
    const log = segmented(manualClock(T0 + 1e9), { 'retention.ms': 1, 'cleanup.policy': ['compact'] })
    assert.equal(log.deleteOldSegments(), 0)
    log.deleteRecordsBefore(log.segments[1]!.baseOffset)
    assert.equal(log.segments[0]!.baseOffset, log.logStartOffset)
  })

  it('keeps the newest producer snapshot below the new log start', async () => {
    const log = segmented(manualClock(T0 + 1e9), { 'retention.ms': 1 })
    const newest = log.segments[1]!.baseOffset + 1
    for (const o of [1, 2, newest]) await log.writeProducerSnapshot(o, Buffer.from(String(o)))
    // Rolling wrote a snapshot at each segment's base too; the one at segment 2's base is the newest at or below the new start.
    log.highWatermark = log.segments[2]!.baseOffset
    const start = log.segments[2]!.baseOffset
    assert.equal(log.deleteOldSegments(), 2)
    assert.equal(log.latestProducerSnapshot(start)?.offset, start)
    assert.equal(log.latestProducerSnapshot(start - 1), undefined, 'the older ones went')
  })
})

describe('PartitionLog: flushing and lifecycle', () => {
  it('flush advances the recovery point; flush.messages asks for it on append', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs, { config: { 'flush.messages': 3 } })
    assert.equal(log.appendAsLeader(batch(['a']), 0).flushed, undefined)
    assert.equal(log.appendAsLeader(batch(['b']), 0).flushed, undefined)
    const third = log.appendAsLeader(batch(['c']), 0)
    assert.ok(third.flushed !== undefined)
    await third.flushed
    assert.equal(log.recoveryPoint, 3)
    assert.deepEqual(fs.durableContent(log.activeSegment.logPath), fs.fileContent(log.activeSegment.logPath))
  })

  it('flushDue honours flush.ms on the injected clock', async () => {
    const clock = manualClock()
    const log = openLog(new MemoryFileSystem(), { clock: clock.now, config: { 'flush.ms': 1000 } })
    assert.equal(log.flushDue(), false)
    appendEach(log, ['a'])
    assert.equal(log.flushDue(), false)
    clock.advance(1000)
    assert.equal(log.flushDue(), true)
    await log.flush()
    assert.equal(log.flushDue(), false)
  })

  it('serialises concurrent flushes and covers appends made meanwhile', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs)
    appendEach(log, ['a'])
    const first = log.flush()
    appendEach(log, ['b'])
    const second = log.flush()
    await Promise.all([first, second])
    assert.equal(log.recoveryPoint, 2)
  })

  it('fsyncs the directory of new segments so they survive a power loss (regression)', async () => {
    const fs = new MemoryFileSystem({ strictDirectories: true })
    fs.mkdir('/data') // the data directory exists (durably) before the log
    await fs.syncDir('/')
    const log = openLog(fs, { config: { 'segment.bytes': 200 } })
    // No leader epoch: its checkpoint writes would fsync the directory as a side effect.
    for (let i = 0; i < 10; i++) log.appendAsLeader(batch([`v${i}`], { valueSize: 60 }), -1)
    assert.ok(log.segments.length > 3)
    await log.flush()
    fs.crash()
    const again = openLog(fs, { clean: false, recoveryPoint: 10 })
    assert.deepEqual(values(again), range(0, 10).map((v) => v.padEnd(60, '.')))
  })

  it('a segment flush racing its deletion does not recreate its files (regression)', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs, { config: { 'retention.bytes': 0 } })
    appendEach(log, ['a'])
    log.roll() // starts a background fsync of segment 0
    appendEach(log, ['b'])
    log.highWatermark = 2
    const flushing = log.flush()
    log.deleteOldSegments()
    log.truncateFullyAndStartAt(7)
    await flushing
    await new Promise((resolve) => setTimeout(resolve, 5))
    assert.deepEqual(fs.readdir(log.dir), ['00000000000000000007.index', '00000000000000000007.log', '00000000000000000007.timeindex', 'leader-epoch-checkpoint'])
  })

  it('a failed flush rejects for its caller without an unhandled rejection (regression)', async () => {
    await noUnhandledRejections(async () => {
      const fs = new MemoryFileSystem()
      const log = openLog(fs)
      appendEach(log, ['a'])
      fs.failNext('sync', 'EIO', { path: /\.log$/ })
      const failing = log.flush()
      const queued = log.flush()
      await assert.rejects(failing, { code: StorageErrorCode.IO })
      await queued // runs on its own after the failure
      assert.equal(log.recoveryPoint, 1)
    })
  })

  it('close flushes; a closed log refuses every operation', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs)
    appendEach(log, ['a', 'b'])
    await log.close()
    await log.close()
    assert.equal(log.closed, true)
    assert.equal(fs.openHandleCount, 0)
    assert.deepEqual(fs.durableContent(log.activeSegment.logPath), fs.fileContent(log.activeSegment.logPath))
    for (const op of [() => log.appendAsLeader(batch(['c']), 0), () => log.read(0, { maxBytes: 1 }), () => log.roll(), () => log.truncateTo(0),
      () => log.deleteOldSegments(), () => log.offsetForTimestamp(0), () => log.deleteRecordsBefore(0)]) {
      assertStorageError(op, StorageErrorCode.CLOSED)
    }
    await assert.rejects(log.flush(), { code: StorageErrorCode.CLOSED })
  })

  it('delete removes the directory', async (t) => {
    const root = tempDir(t)
    const fs = new NodeFileSystem()
    const log = openLog(fs, { dir: join(root, 'topic-0') })
    appendEach(log, ['a'])
    await log.delete()
    assert.equal(existsSync(join(root, 'topic-0')), false)
    assert.deepEqual(readdirSync(root), [])
    const mem = new MemoryFileSystem()
    const closed = openLog(mem)
    await closed.close()
    await closed.delete()
    assert.deepEqual(mem.list(), ['/data/'])
  })

  it('removes leftovers of interrupted operations on open', () => {
    const fs = new MemoryFileSystem()
    fs.mkdir('/data/topic-0')
    for (const name of ['00000000000000000000.log.deleted', '00000000000000000005.log.cleaned', 'leader-epoch-checkpoint.tmp', '00000000000000000009.index']) {
      fs.open(`/data/topic-0/${name}`, 'write').write(Buffer.from('junk'), 0)
    }
    const log = openLog(fs)
    assert.equal(log.logEndOffset, 0)
    // A new segment's index files appear with its first flush.
    assert.deepEqual(fs.readdir('/data/topic-0'), ['00000000000000000000.log'])
  })

  it("creates a new segment's index files lazily, by its first flush", async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs)
    log.appendAsLeader(batch(['a']), 0)
    assert.deepEqual(fs.readdir(log.dir).filter((n) => n.startsWith('0')), ['00000000000000000000.log'])
    await log.flush()
    assert.deepEqual(fs.readdir(log.dir), ['00000000000000000000.index', '00000000000000000000.log', '00000000000000000000.timeindex', 'leader-epoch-checkpoint'])
    await log.close()
    assert.equal(openLog(fs).recovery.recoveredSegments, 0, 'a clean open finds them')
  })

  it('never starts with the high watermark below the log start (regression)', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs)
    for (let i = 0; i < 8; i++) log.appendAsLeader(batch([`v${i}`]), 0)
    log.highWatermark = 8
    log.deleteRecordsBefore(5)
    await log.close()
    const again = openLog(fs, { clean: false, recoveryPoint: 0, logStartOffset: 5 })
    assert.equal(again.logStartOffset, 5)
    assert.equal(again.highWatermark, 5)
    assert.equal(again.read(5, { maxBytes: 100 }).records.length, 0, 'nothing readable until the broker moves it')
  })

  it('fsyncs only files that changed, but waits for an fsync under way', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs, { config: { 'index.interval.bytes': 0 } })
    for (let i = 0; i < 4; i++) log.appendAsLeader(batch([`v${i}`]), 0)
    await log.flush()
    const syncs = fs.stats.syncs
    log.appendAsLeader(batch(['v4']), 0)
    await log.flush()
    assert.equal(fs.stats.syncs - syncs, 2, 'the log and its offset index; the time index did not change')
    const before = fs.stats.syncs
    await log.activeSegment.flush()
    assert.equal(fs.stats.syncs, before, 'nothing changed: no fsync')
  })

  it('a flush waits for the fsync a roll started in the background (regression for skipped fsyncs)', async () => {
    const fs = new GatedFileSystem()
    const log = openLog(fs)
    log.appendAsLeader(batch(['a']), -1)
    fs.hold(/0{20}\.log$/)
    log.roll() // the old segment's fsync starts, and hangs
    let done = false
    const flushing = log.flush().then(() => { done = true })
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve))
    assert.equal(done, false, 'the old segment is not durable yet')
    assert.equal(log.recoveryPoint, 0)
    fs.release()
    await flushing
    assert.equal(log.recoveryPoint, 1)
  })

  it('starts an empty log at the checkpointed log start offset', () => {
    const log = openLog(new MemoryFileSystem(), { logStartOffset: 42 })
    assert.equal(log.logStartOffset, 42)
    assert.equal(log.logEndOffset, 42)
    assert.equal(log.appendAsLeader(batch(['a']), 0).baseOffset, 42)
  })

  it('releases no handles it does not own and leaves no unhandled rejections on close', async () => {
    await noUnhandledRejections(async () => {
      const fs = new MemoryFileSystem()
      const log = openLog(fs, { config: { 'segment.bytes': 100 } })
      for (let i = 0; i < 5; i++) appendEach(log, [`v${i}`])
      await log.close()
      assert.equal(fs.openHandleCount, 0)
    })
  })
})

describe('PartitionLog: transactions', () => {
  it('collects aborted transactions, including markers in later segments (regression)', () => {
    const log = openLog(new MemoryFileSystem())
    appendEach(log, range(0, 15))
    log.appendAbortedTransaction({ producerId: 1n, firstOffset: 2, lastOffset: 4, lastStableOffset: 2 })
    log.roll()
    appendEach(log, range(15, 30))
    // Began at 5 in segment 0; its ABORT marker is at 20 in segment 15.
    log.appendAbortedTransaction({ producerId: 2n, firstOffset: 5, lastOffset: 20, lastStableOffset: 5 })
    log.appendAbortedTransaction({ producerId: 3n, firstOffset: 21, lastOffset: 25, lastStableOffset: 21 })
    const ids = (from: number, to: number): bigint[] => log.collectAbortedTransactions(from, to).map((t) => t.producerId)
    assert.deepEqual(ids(0, 15), [1n, 2n], 'the fetch of segment 0 must know about producer 2')
    assert.deepEqual(ids(5, 10), [2n])
    assert.deepEqual(ids(15, 30), [2n, 3n])
    assert.deepEqual(ids(21, 30), [3n])
    assert.deepEqual(ids(26, 30), [])
  })

  it('looks past segments whose markers were written while an older transaction was open', () => {
    const log = openLog(new MemoryFileSystem())
    appendEach(log, range(0, 10))
    log.roll()
    appendEach(log, range(10, 20))
    // Producer 2's transaction (from 3) was still open: the LSO was 3 when this marker was written.
    log.appendAbortedTransaction({ producerId: 1n, firstOffset: 10, lastOffset: 12, lastStableOffset: 3 })
    log.roll()
    appendEach(log, range(20, 30))
    log.appendAbortedTransaction({ producerId: 2n, firstOffset: 3, lastOffset: 25, lastStableOffset: 3 })
    assert.deepEqual(log.collectAbortedTransactions(0, 5).map((t) => t.producerId), [2n])
    assert.deepEqual(log.collectAbortedTransactions(11, 30).map((t) => t.producerId), [1n, 2n])
  })
})
