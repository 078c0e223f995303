/**
 * ENOSPC and EIO surface as StorageError NO_SPACE / IO, and leave the log readable and
 * consistent: a failed append leaves nothing a later read serves, the log end and segment size
 * match the file (a short write is cut back off), and the log goes on once the fault clears.
 * Design: LogSegment.append truncates the file back to its previous size when a write fails;
 * if that truncation fails too, the segment still believes its old size (later appends
 * overwrite the garbage) and the next open's recovery truncates whatever is left.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { LogManager, MemoryFileSystem, StorageErrorCode, type PartitionLog } from '../src/mod.ts'
import { assertRejectsStorageError, assertStorageError, batch, noUnhandledRejections, openLog, values } from './helpers.ts'

/** The log's in-memory view agrees with its files, and every record reads back. */
function assertConsistent (fs: MemoryFileSystem, log: PartitionLog, expected: readonly string[]): void {
  for (const s of log.segments) assert.equal(s.size, fs.size(s.logPath), `size of ${s.logPath}`)
  assert.equal(log.logEndOffset, expected.length)
  log.highWatermark = log.logEndOffset
  assert.deepEqual(values(log), expected)
}

async function assertReopens (fs: MemoryFileSystem, expected: readonly string[]): Promise<void> {
  for (const clean of [true, false]) {
    const log = openLog(fs, { clean })
    assert.equal(log.recovery.truncatedBytes, 0, `clean=${clean}: nothing left to truncate`)
    assertConsistent(fs, log, expected)
    await log.close()
  }
}

const big = (v: string): Buffer => batch([v], { valueSize: 1000 })
const bigValue = (v: string): string => v.padEnd(1000, '.')

describe('faults: a full disk', () => {
  for (const partial of [false, true]) {
    it(`ENOSPC on append (${partial ? 'short write' : 'nothing written'}) is NO_SPACE and leaves no partial batch`, async () => {
      const fs = new MemoryFileSystem()
      const log = openLog(fs)
      log.appendAsLeader(big('a'), 0)
      log.appendAsLeader(big('b'), 0)
      fs.setCapacity(fs.usedBytes + 500, { partial })
      const error = assertStorageError(() => log.appendAsLeader(big('c'), 1), StorageErrorCode.NO_SPACE)
      assert.match(error.message, /ENOSPC/)
      assertConsistent(fs, log, [bigValue('a'), bigValue('b')])
      assert.deepEqual(log.leaderEpochCache.entries, [{ epoch: 0, startOffset: 0 }], 'the epoch of the failed append is forgotten')
      // Small appends that fit still work; the big one fails again.
      log.appendAsLeader(batch(['small']), 0)
      assertStorageError(() => log.appendAsLeader(big('c'), 0), StorageErrorCode.NO_SPACE)
      fs.setCapacity(null)
      log.appendAsLeader(big('c'), 0)
      assertConsistent(fs, log, [bigValue('a'), bigValue('b'), 'small', bigValue('c')])
      await log.close()
      await assertReopens(fs, [bigValue('a'), bigValue('b'), 'small', bigValue('c')])
    })
  }

  it('a short write whose truncation also fails: garbage past the end is overwritten, then recovered', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs)
    log.appendAsLeader(big('a'), 0)
    fs.failNext('write', 'EIO', { partial: 700 })
    fs.failNext('truncate', 'EIO')
    assertStorageError(() => log.appendAsLeader(big('b'), 0), StorageErrorCode.IO)
    assert.equal(log.logEndOffset, 1)
    assert.equal(fs.size(log.activeSegment.logPath), log.activeSegment.size + 700, 'the garbage stayed')
    log.highWatermark = 1
    assert.deepEqual(values(log), [bigValue('a')], 'and is not served')
    log.appendAsLeader(batch(['c']), 0) // overwrites part of it
    await log.close()
    for (const clean of [true, false]) {
      const again = openLog(fs, { clean })
      // The first (clean) open finds the garbage past the last batch and truncates it.
      assert.equal(again.recovery.truncatedBytes > 0, clean)
      assertConsistent(fs, again, [bigValue('a'), 'c'])
      await again.close()
    }
  })

  it('ENOSPC creating a new segment fails the append; the log carries on', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs, { config: { 'segment.bytes': 1500 } })
    log.appendAsLeader(big('a'), 0)
    fs.failNext('open', 'ENOSPC')
    assertStorageError(() => log.appendAsLeader(big('b'), 0), StorageErrorCode.NO_SPACE)
    assertConsistent(fs, log, [bigValue('a')])
    log.appendAsLeader(big('b'), 0)
    assert.equal(log.segments.length, 2)
    assertConsistent(fs, log, [bigValue('a'), bigValue('b')])
    await log.close()
    await assertReopens(fs, [bigValue('a'), bigValue('b')])
  })

  it('ENOSPC writing index entries fails the flush, not the data', async () => {
    await noUnhandledRejections(async () => {
      const fs = new MemoryFileSystem()
      const log = openLog(fs, { config: { 'index.interval.bytes': 0 } })
      for (let i = 0; i < 5; i++) log.appendAsLeader(batch([`v${i}`]), 0)
      fs.failNext('write', 'ENOSPC', { path: /\.index$/ })
      await assertRejectsStorageError(log.flush(), StorageErrorCode.NO_SPACE)
      assert.equal(log.recoveryPoint, 0)
      assertConsistent(fs, log, ['v0', 'v1', 'v2', 'v3', 'v4'])
      await log.flush()
      assert.equal(log.recoveryPoint, 5)
      await log.close()
      await assertReopens(fs, ['v0', 'v1', 'v2', 'v3', 'v4'])
    })
  })

  it('ENOSPC writing the leader-epoch checkpoint surfaces on the next flush', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs)
    fs.failNext('write', 'ENOSPC', { path: /leader-epoch-checkpoint/ })
    log.appendAsLeader(batch(['a']), 5)
    await assertRejectsStorageError(log.flush(), StorageErrorCode.NO_SPACE)
    log.appendAsLeader(batch(['b']), 6)
    await log.flush()
    assert.equal(fs.readFile(`${log.dir}/leader-epoch-checkpoint`).toString(), '0\n2\n5 0\n6 1\n')
  })

  it('a full disk through a LogManager: the failed appends are not acknowledged, the rest survives a restart', async () => {
    const fs = new MemoryFileSystem()
    let manager = await LogManager.open({ dataDir: '/data', fs })
    const acked = new Map<number, string[]>()
    fs.setCapacity(fs.usedBytes + 20_000, { partial: true })
    let failures = 0
    for (let i = 0; i < 60; i++) {
      const p = i % 3
      const log = manager.getOrCreateLog('t', p)
      try {
        log.appendAsLeader(big(`${p}-${i}`), 0)
        acked.set(p, [...(acked.get(p) ?? []), bigValue(`${p}-${i}`)])
      } catch (error) {
        assert.equal((error as { code?: string }).code, StorageErrorCode.NO_SPACE)
        failures++
      }
    }
    assert.ok(failures > 0)
    fs.setCapacity(null)
    await manager.close()
    manager = await LogManager.open({ dataDir: '/data', fs })
    for (const [p, expected] of acked) assertConsistent(fs, manager.getLog('t', p)!, expected)
    await manager.close()
  })
})

describe('faults: I/O errors', () => {
  it('EIO on append is IO; nothing changes', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs)
    log.appendAsLeader(batch(['a']), 0)
    fs.failNext('write', 'EIO', { partial: true })
    const error = assertStorageError(() => log.appendAsLeader(batch(['b']), 0), StorageErrorCode.IO)
    assert.equal(error.path, log.activeSegment.logPath)
    assertConsistent(fs, log, ['a'])
    log.appendAsLeader(batch(['b']), 0)
    assertConsistent(fs, log, ['a', 'b'])
    await log.close()
    await assertReopens(fs, ['a', 'b'])
  })

  it('EIO on read is IO; the next read works', () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs)
    log.appendAsLeader(batch(['a']), 0)
    log.highWatermark = 1
    fs.failNext('read', 'EIO', { path: /\.log$/ })
    assertStorageError(() => log.read(0, { maxBytes: 100 }), StorageErrorCode.IO)
    assert.deepEqual(values(log), ['a'])
  })

  it('EIO on fsync: the flush rejects, the recovery point stays, a retry succeeds', async () => {
    await noUnhandledRejections(async () => {
      const fs = new MemoryFileSystem()
      const log = openLog(fs)
      log.appendAsLeader(batch(['a']), 0)
      fs.failNext('sync', 'EIO', { path: /\.log$/ })
      await assertRejectsStorageError(log.flush(), StorageErrorCode.IO)
      assert.equal(log.recoveryPoint, 0)
      await log.flush()
      assert.equal(log.recoveryPoint, 1)
    })
  })

  it('EIO on the fsync of a rolled segment is reported by no one but not lost: the next flush syncs it', async () => {
    await noUnhandledRejections(async () => {
      const fs = new MemoryFileSystem()
      const log = openLog(fs)
      log.appendAsLeader(batch(['a']), 0)
      fs.failNext('sync', 'EIO', { path: /0{20}\.log$/ })
      log.roll()
      log.appendAsLeader(batch(['b']), 0)
      await new Promise((resolve) => setImmediate(resolve))
      await log.flush()
      assert.equal(log.recoveryPoint, 2)
      assert.deepEqual(fs.durableContent(log.segments[0]!.logPath), fs.fileContent(log.segments[0]!.logPath))
    })
  })

  it('EIO on truncation leaves the log usable', () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs)
    for (const v of ['a', 'b', 'c']) log.appendAsLeader(batch([v]), 0)
    fs.failNext('truncate', 'EIO', { path: /\.log$/ })
    assertStorageError(() => log.truncateTo(1), StorageErrorCode.IO)
    log.truncateTo(1)
    assertConsistent(fs, log, ['a'])
  })

  it('EIO opening a segment on load fails the open with IO', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs)
    log.appendAsLeader(batch(['a']), 0)
    await log.close()
    fs.failNext('open', 'EIO', { path: /\.log$/ })
    assertStorageError(() => openLog(fs), StorageErrorCode.IO)
    assertConsistent(fs, openLog(fs), ['a'])
  })
})
