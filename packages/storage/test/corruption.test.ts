/**
 * Bytes on disk that are not what was written. A bad tail is truncated on recovery (Kafka's
 * rule); a bad batch followed by good ones is kept, reported, and refused on read; a missing,
 * truncated or malformed index is rebuilt; bytes that rot after a clean shutdown are caught by
 * the CRC check on read. Corrupt data is never served.
 */
import assert from 'node:assert/strict'
import { writeFileSync, truncateSync, unlinkSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { RECORDS_OFFSET } from '@samsa/protocol'
import { LogManager, MemoryFileSystem, NodeFileSystem, StorageErrorCode, type PartitionLog } from '../src/mod.ts'
import { T0, assertStorageError, batch, decodeAll, openLog, readAll, tempDir, values } from './helpers.ts'

const vals = (n: number): string[] => Array.from({ length: n }, (_, i) => `value-${i}`)

/** A closed log of `n` single-record batches (distinct timestamps); returns batch positions. */
async function written (fs: MemoryFileSystem, n: number, config = {}): Promise<{ path: string, positions: number[], sizes: number[] }> {
  const log = openLog(fs, { config: { 'index.interval.bytes': 0, ...config } })
  const positions: number[] = []
  const sizes: number[] = []
  for (let i = 0; i < n; i++) {
    positions.push(log.activeSegment.size)
    log.appendAsLeader(batch([`value-${i}`], { timestamp: T0 + i }), 0)
    sizes.push(log.activeSegment.size - positions[i]!)
  }
  await log.close()
  return { path: log.activeSegment.logPath, positions, sizes }
}

const reopen = (fs: MemoryFileSystem, clean: boolean, config = {}): PartitionLog => {
  const log = openLog(fs, { clean, config: { 'index.interval.bytes': 0, ...config } })
  log.highWatermark = log.logEndOffset
  return log
}

describe('corruption: the tail', () => {
  it('a flipped byte in the last batch: recovery truncates it', async () => {
    const fs = new MemoryFileSystem()
    const { path, positions } = await written(fs, 5)
    fs.flipByte(path, positions[4]! + RECORDS_OFFSET + 2)
    const before = fs.size(path)
    const log = reopen(fs, false)
    assert.equal(log.logEndOffset, 4)
    assert.deepEqual(values(log), vals(4))
    assert.equal(log.recovery.truncatedBytes, before - positions[4]!)
    assert.equal(fs.size(path), positions[4])
    assert.equal(log.recovery.corruptBatches, 0)
    assert.equal(log.appendAsLeader(batch(['next']), 0).baseOffset, 4)
  })

  it('a torn last batch (cut short) and trailing zeros are truncated', async () => {
    const fs = new MemoryFileSystem()
    const { path, positions } = await written(fs, 5)
    fs.truncateFile(path, positions[4]! + 20)
    let log = reopen(fs, false)
    assert.equal(log.logEndOffset, 4)
    assert.equal(log.recovery.truncatedBytes, 20)
    await log.close()
    fs.truncateFile(path, fs.size(path) + 4096) // zeros, like a preallocated or extended file
    log = reopen(fs, false)
    assert.equal(log.logEndOffset, 4)
    assert.equal(log.recovery.truncatedBytes, 4096)
    assert.deepEqual(values(log), vals(4))
  })

  it('a log cut mid-batch behind a clean-shutdown marker is still repaired', async () => {
    const fs = new MemoryFileSystem()
    const { path, positions } = await written(fs, 5)
    fs.truncateFile(path, positions[3]! + 30)
    const log = reopen(fs, true)
    assert.equal(log.logEndOffset, 3)
    assert.deepEqual(values(log), vals(3))
    assert.equal(fs.size(path), positions[3])
  })

  it('a log cut at a batch boundary behind a clean-shutdown marker: the stale time index is rebuilt', async () => {
    const fs = new MemoryFileSystem()
    const { path, positions } = await written(fs, 5)
    fs.truncateFile(path, positions[3]!)
    const log = reopen(fs, true)
    assert.equal(log.logEndOffset, 3)
    assert.deepEqual(values(log), vals(3))
    assert.equal(log.activeSegment.maxTimestamp, T0 + 2)
    assert.equal(log.maxTimestampAndOffset()?.offset, 2)
    assert.equal(log.offsetForTimestamp(T0 + 3), undefined)
  })

  it('a broken length field ends the valid data there (nothing to resynchronise on)', async () => {
    const fs = new MemoryFileSystem()
    const { path, positions } = await written(fs, 6)
    fs.corrupt(path, positions[2]! + 8, 0x7f) // batchLength's high byte
    const log = reopen(fs, false)
    assert.equal(log.logEndOffset, 2)
    assert.deepEqual(values(log), vals(2))
  })

  it('drops the segments after a torn one', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs)
    for (let i = 0; i < 6; i++) {
      if (i % 2 === 0 && i > 0) log.roll()
      log.appendAsLeader(batch([`value-${i}`]), 0)
    }
    const first = log.segments[0]!
    await log.close()
    fs.flipByte(first.logPath, first.size - 3)
    const again = reopen(fs, false)
    assert.equal(again.logEndOffset, 1)
    assert.deepEqual(again.segments.map((s) => s.baseOffset), [0])
    assert.deepEqual(fs.readdir(again.dir).filter((n) => n.endsWith('.log')), ['00000000000000000000.log'])
  })
})

describe('corruption: the middle', () => {
  it('a bad batch between good ones is kept, reported, and refused on read', async () => {
    const fs = new MemoryFileSystem()
    const { path, positions, sizes } = await written(fs, 6)
    fs.flipByte(path, positions[2]! + RECORDS_OFFSET + 3)
    const manager = await LogManager.open({ dataDir: '/data', fs })
    assert.equal(manager.loadReport.recovered.corruptBatches, 1)
    const log = manager.getLog('topic', 0)!
    log.highWatermark = log.logEndOffset
    assert.equal(log.logEndOffset, 6, 'the valid batches after it are kept')
    assert.equal(log.recovery.corruptBatches, 1)
    assert.deepEqual(log.activeSegment.corruptBatches, [{ position: positions[2], baseOffset: 2, lastOffset: 2, size: sizes[2], maxTimestamp: T0 + 2 }])
    const error = assertStorageError(() => log.read(2, { maxBytes: 1 << 20 }), StorageErrorCode.CORRUPT)
    assert.equal(error.path, path)
    assert.deepEqual(decodeAll(log.read(0, { maxBytes: 1 << 20 }).records).map((r) => r.offset), [0, 1], 'a read stops before it')
    assert.deepEqual(decodeAll(log.read(3, { maxBytes: 1 << 20 }).records).map((r) => r.offset), [3, 4, 5])
    // Reads after a clean restart still refuse it (the CRC check on read).
    await manager.close()
    const again = reopen(fs, true)
    assertStorageError(() => again.read(2, { maxBytes: 1 }), StorageErrorCode.CORRUPT)
    assert.deepEqual(decodeAll(again.read(0, { maxBytes: 1 << 20 }).records).map((r) => r.offset), [0, 1])
  })

  it('an offset that goes backwards counts as corruption', async () => {
    const fs = new MemoryFileSystem()
    const { path, positions } = await written(fs, 4)
    // baseOffset is not covered by the CRC: only the ordering check can see this.
    fs.corrupt(path, positions[2]! + 7, 0)
    const log = reopen(fs, false)
    assert.equal(log.recovery.corruptBatches, 1)
    assert.equal(log.logEndOffset, 4)
  })

  it('truncation removes the corrupt batch from the report', async () => {
    const fs = new MemoryFileSystem()
    const { path, positions } = await written(fs, 6)
    fs.flipByte(path, positions[2]! + RECORDS_OFFSET + 3)
    const log = reopen(fs, false)
    assert.equal(log.activeSegment.corruptBatches.length, 1)
    log.truncateTo(2)
    assert.equal(log.activeSegment.corruptBatches.length, 0)
    log.appendAsLeader(batch(['fresh']), 0)
    log.highWatermark = log.logEndOffset
    assert.deepEqual(values(log), ['value-0', 'value-1', 'fresh'])
  })

  it('a flipped byte in an old segment after a CLEAN restart is caught on read', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs)
    for (let i = 0; i < 4; i++) log.appendAsLeader(batch([`value-${i}`]), 0)
    const old = log.activeSegment
    log.roll()
    log.appendAsLeader(batch(['value-4']), 0)
    await log.close()
    const second = (old.size / 4) * 2
    fs.flipByte(old.logPath, second + RECORDS_OFFSET + 1)
    const again = reopen(fs, true)
    assert.equal(again.recovery.recoveredSegments, 0)
    assert.deepEqual(decodeAll(again.read(0, { maxBytes: 1 << 20 }).records).map((r) => r.offset), [0, 1], 'up to the bad batch')
    assertStorageError(() => again.read(2, { maxBytes: 1 << 20 }), StorageErrorCode.CORRUPT)
    assertStorageError(() => again.read(2, { maxBytes: 1 << 20 }), StorageErrorCode.CORRUPT, 'and every time')
    assert.deepEqual(decodeAll(again.read(3, { maxBytes: 1 << 20 }).records).map((r) => r.value), ['value-3'])
    assert.deepEqual(decodeAll(again.read(4, { maxBytes: 1 << 20 }).records).map((r) => r.value), ['value-4'])
  })

  it('random byte flips in the CRC-covered region are never served', async () => {
    for (let trial = 0; trial < 40; trial++) {
      const fs = new MemoryFileSystem()
      const { path, positions, sizes } = await written(fs, 8)
      const victim = trial % 8
      const at = positions[victim]! + 21 + ((trial * 7919) % (sizes[victim]! - 21)) // attributes onwards
      fs.flipByte(path, at, 1 << (trial % 8))
      for (const clean of [true, false]) {
        const log = reopen(fs, clean)
        for (let o = log.logStartOffset; o < log.logEndOffset; o++) {
          try {
            const got = decodeAll(log.read(o, { maxBytes: 1 << 20 }).records)
            for (const r of got) assert.equal(r.value, `value-${r.offset}`)
            assert.ok(!got.some((r) => r.offset === victim), `trial ${trial}: the bad batch was served`)
          } catch (error) {
            assert.equal((error as { code?: string }).code, StorageErrorCode.CORRUPT, `trial ${trial}: ${String(error)}`)
            // The offsets of the bad batch (whose lastOffsetDelta may be the flipped byte) only.
            assert.ok(o >= victim, `trial ${trial}: offset ${o} before the bad batch ${victim} refused`)
          }
        }
        await log.close()
      }
    }
  })
})

describe('corruption: indexes', () => {
  async function indexed (fs: MemoryFileSystem): Promise<PartitionLog> {
    const log = openLog(fs, { config: { 'index.interval.bytes': 100 } })
    for (let i = 0; i < 200; i++) log.appendAsLeader(batch([`value-${i}`], { timestamp: T0 + i }), 0)
    log.roll()
    log.appendAsLeader(batch(['value-200'], { timestamp: T0 + 200 }), 0)
    await log.close()
    assert.ok(log.segments[0]!.offsetIndex.count > 20)
    return log
  }

  function check (log: PartitionLog): void {
    log.highWatermark = log.logEndOffset
    assert.equal(log.logEndOffset, 201)
    for (const o of [0, 1, 57, 133, 199, 200]) assert.equal(decodeAll(log.read(o, { maxBytes: 1 }).records)[0]!.value, `value-${o}`)
    for (const t of [0, 58, 150, 200]) assert.equal(log.offsetForTimestamp(T0 + t)?.offset, t)
    assert.equal(log.segments[0]!.maxTimestamp, T0 + 199)
  }

  const cases: Array<[string, (fs: MemoryFileSystem, log: PartitionLog) => void, boolean]> = [
    ['an offset index cut mid-entry', (fs, log) => fs.truncateFile(log.segments[0]!.offsetIndex.path, fs.size(log.segments[0]!.offsetIndex.path) - 3), true],
    ['an offset index cut at an entry boundary (fewer entries is still valid)', (fs, log) => fs.truncateFile(log.segments[0]!.offsetIndex.path, 40), false],
    ['a deleted offset index', (fs, log) => fs.deleteFile(log.segments[0]!.offsetIndex.path), true],
    ['a deleted time index', (fs, log) => fs.deleteFile(log.segments[0]!.timeIndex.path), true],
    ['a time index cut mid-entry', (fs, log) => fs.truncateFile(log.segments[0]!.timeIndex.path, 17), true],
    ['an offset index with out-of-order entries', (fs, log) => fs.corrupt(log.segments[0]!.offsetIndex.path, 8 + 3, 0), true],
    ['an offset index pointing past the log', (fs, log) => fs.corrupt(log.segments[0]!.offsetIndex.path, 8 * 5 + 4, 0x7f), true],
    ['a time index with out-of-order timestamps', (fs, log) => fs.corrupt(log.segments[0]!.timeIndex.path, 12 + 7, 0), true],
    ['a zeroed offset index of the right length', (fs, log) => {
      const p = log.segments[0]!.offsetIndex.path
      const n = fs.size(p)
      fs.truncateFile(p, 0)
      fs.truncateFile(p, n)
    }, true]
  ]
  for (const [name, damage, rebuilt] of cases) {
    it(`${name}: ${rebuilt ? 'rebuilt' : 'used'} on a clean open`, async () => {
      const fs = new MemoryFileSystem()
      const log = await indexed(fs)
      const indexBytes = fs.fileContent(log.segments[0]!.offsetIndex.path)
      const timeBytes = fs.fileContent(log.segments[0]!.timeIndex.path)
      damage(fs, log)
      const again = reopen(fs, true, { 'index.interval.bytes': 100 })
      check(again)
      await again.close()
      if (rebuilt) {
        assert.deepEqual(fs.fileContent(log.segments[0]!.offsetIndex.path), indexBytes, 'the rebuilt index matches the original')
        assert.deepEqual(fs.fileContent(log.segments[0]!.timeIndex.path), timeBytes)
      }
      check(reopen(fs, true, { 'index.interval.bytes': 100 }))
    })
  }

  it('a smaller segment.index.bytes than the index holds: rebuilt within the new bound', async () => {
    const fs = new MemoryFileSystem()
    await indexed(fs)
    const again = reopen(fs, false, { 'index.interval.bytes': 100, 'segment.index.bytes': 64 })
    // 64 bytes: 8 offset entries, 5 time entries; both stop when either is full.
    assert.equal(again.segments[0]!.timeIndex.count, 5)
    assert.equal(again.segments[0]!.offsetIndex.count, 5)
    check(again)
  })

  it('on the real file system: deleted time index, truncated offset index, flipped tail', async (t) => {
    const dir = tempDir(t)
    const fs = new NodeFileSystem()
    const open = (clean: boolean): PartitionLog => {
      const log = openLog(fs, { dir: join(dir, 'topic-0'), clean, config: { 'index.interval.bytes': 100 } })
      log.highWatermark = log.logEndOffset
      return log
    }
    const log = open(true)
    for (let i = 0; i < 200; i++) log.appendAsLeader(batch([`value-${i}`], { timestamp: T0 + i }), 0)
    log.roll()
    log.appendAsLeader(batch(['value-200'], { timestamp: T0 + 200 }), 0)
    await log.close()
    const seg = log.segments[0]!
    unlinkSync(seg.timeIndex.path)
    truncateSync(seg.offsetIndex.path, 13)
    let again = open(true)
    check(again)
    await again.close()
    const tail = log.segments[1]!.logPath
    const bytes = readFileSync(tail)
    bytes[bytes.length - 2] = bytes[bytes.length - 2]! ^ 0xff
    writeFileSync(tail, bytes)
    again = open(false)
    assert.equal(again.logEndOffset, 200)
    assert.deepEqual(readAll(again).map((r) => r.value), vals(200))
    await again.close()
  })
})
