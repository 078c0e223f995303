/**
 * Coalesced appends (`appendAsLeader(..., { coalesce: true })`): offsets, indexes and producer
 * state at append time, the bytes staged and written in one call per event-loop turn or per
 * `coalesceBytes`; reads, flushes, rolls, truncations and direct appends write the staged bytes
 * first; a failed coalesced write (injected with MemoryFileSystem) rolls the log back to the
 * last good position, rejects the appenders' `written` promises with the typed error, and
 * hands the offsets out again.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildRecordBatch } from '@samsa/protocol'
import { MemoryFileSystem, StorageErrorCode, type AppendResult, type PartitionLog } from '../src/mod.ts'
import { T0, assertRejectsStorageError, batch, noUnhandledRejections, openLog, values } from './helpers.ts'

const coalesce = { coalesce: true } as const
/** Faults on segment files only (not the leader-epoch checkpoint written on a new epoch). */
const LOG = /\.log$/

function put (log: PartitionLog, value: string, epoch = 0): AppendResult {
  return log.appendAsLeader(batch([value]), epoch, 'client', coalesce)
}

/** An idempotent producer's batch. */
function pbatch (value: string, seq: number, pid = 7n): Buffer {
  return buildRecordBatch({ records: [{ key: null, value, timestamp: T0 }], producerId: pid, producerEpoch: 0, baseSequence: seq, timestamp: T0 })
}

/** The file holds exactly what the log believes, every record reads back, and reopening (clean and unclean) agrees. */
function assertConsistent (fs: MemoryFileSystem, log: PartitionLog, expected: readonly string[]): void {
  for (const s of log.segments) assert.equal(s.size, fs.size(s.logPath), `size of ${s.logPath}`)
  assert.equal(log.logEndOffset, expected.length, 'log end')
  assert.ok(log.highWatermark <= log.logEndOffset, 'high watermark within the log')
  log.highWatermark = log.logEndOffset
  assert.deepEqual(values(log), expected)
}

async function assertReopens (fs: MemoryFileSystem, expected: readonly string[]): Promise<void> {
  for (const clean of [true, false]) {
    const log = openLog(fs, { clean })
    assert.equal(log.recovery.truncatedBytes, 0, `clean=${clean}: nothing to truncate`)
    assertConsistent(fs, log, expected)
    await log.close()
  }
}

const tick = async (): Promise<void> => await new Promise((resolve) => setImmediate(resolve))

describe('coalesced appends', () => {
  it('assign offsets at once and write the batches of a turn in one call', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs)
    // The epoch's checkpoint is written first, so only the log's writes are counted below.
    put(log, 'v0')
    log.writePending()
    await log.leaderEpochCache.flush()
    const writes = fs.stats.writes
    const results = [{ baseOffset: 0, written: undefined }, ...Array.from({ length: 9 }, (_, i) => put(log, `v${i + 1}`))]
    assert.deepEqual(results.map((r) => r.baseOffset), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    assert.equal(log.logEndOffset, 10)
    const firstSize = log.activeSegment.writtenSize
    assert.equal(fs.size(log.activeSegment.logPath), firstSize, 'nothing more written yet')
    assert.equal(log.activeSegment.pendingBytes, log.activeSegment.size - firstSize)
    // One promise for the whole turn.
    assert.ok(results.slice(1).every((r) => r.written !== undefined && r.written === results[1]!.written))
    await results[9]!.written
    assert.equal(fs.stats.writes - writes, 1, 'one write call')
    assert.equal(fs.size(log.activeSegment.logPath), log.activeSegment.size)
    assert.equal(log.activeSegment.pendingBytes, 0)
    assertConsistent(fs, log, results.map((_, i) => `v${i}`))
    await log.close()
    await assertReopens(fs, results.map((_, i) => `v${i}`))
  })

  it('copy the bytes: the caller may reuse its buffer at once', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs)
    const reused = batch(['same'])
    for (let i = 0; i < 5; i++) log.appendAsLeader(reused, 0, 'client', coalesce)
    log.writePending()
    assert.deepEqual(log.read(0, { maxBytes: 1 << 20, maxOffset: 5 }).records.length, reused.length * 5)
    await log.close()
    const again = openLog(fs, { clean: false })
    assert.equal(again.logEndOffset, 5, 'every copy kept its own offset (CRC and offsets valid)')
    await again.close()
  })

  it('are readable before the scheduled write: a read writes them first', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs)
    log.appendAsLeader(batch(['direct']), 0)
    const r = put(log, 'staged')
    log.highWatermark = log.logEndOffset
    assert.deepEqual(values(log), ['direct', 'staged'])
    assert.equal(fs.size(log.activeSegment.logPath), log.activeSegment.size, 'written by the read')
    await r.written
    assert.deepEqual(log.offsetForTimestamp(T0)?.offset, 0)
    await log.close()
  })

  it('write what is staged before a direct append, a roll, a truncation and a flush', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs)
    put(log, 'a')
    log.appendAsLeader(batch(['b']), 0) // direct: after the staged one
    assert.equal(log.activeSegment.pendingBytes, 0)
    put(log, 'c')
    log.roll()
    assert.equal(log.segments.length, 2)
    assert.equal(log.segments[0]!.pendingBytes, 0)
    put(log, 'd')
    put(log, 'e')
    log.truncateTo(4)
    put(log, 'e2')
    const flushed = log.flush()
    await flushed
    assert.equal(log.recoveryPoint, 5, 'the flush covered the staged append')
    assertConsistent(fs, log, ['a', 'b', 'c', 'd', 'e2'])
    await log.close()
    await assertReopens(fs, ['a', 'b', 'c', 'd', 'e2'])
  })

  it('write synchronously when the staging bound is reached, and roll where direct appends would', async () => {
    const fs = new MemoryFileSystem()
    const one = batch(['x'.repeat(50)]).length
    const log = openLog(fs, { coalesceBytes: one * 3, config: { 'segment.bytes': one * 7 + 1, 'index.interval.bytes': 0 } })
    const writes = fs.stats.writes
    for (let i = 0; i < 20; i++) log.appendAsLeader(batch([`${i}`.padEnd(50, 'x')]), 0, 'client', coalesce)
    assert.ok(log.activeSegment.pendingBytes <= one * 3)
    // 20 batches, at most 3 per write, segments of 7: the bound and the rolls both cut.
    assert.ok(fs.stats.writes - writes >= 7, `writes: ${fs.stats.writes - writes}`)
    log.writePending()
    const direct = openLog(new MemoryFileSystem(), { config: { 'segment.bytes': one * 7 + 1, 'index.interval.bytes': 0 } })
    for (let i = 0; i < 20; i++) direct.appendAsLeader(batch([`${i}`.padEnd(50, 'x')]), 0)
    assert.deepEqual(log.segments.map((s) => [s.baseOffset, s.size]), direct.segments.map((s) => [s.baseOffset, s.size]), 'same segments as direct appends')
    assert.deepEqual(log.activeSegment.offsetIndex.count, direct.activeSegment.offsetIndex.count)
    const expected = Array.from({ length: 20 }, (_, i) => `${i}`.padEnd(50, 'x'))
    assertConsistent(fs, log, expected)
    await log.close()
    await direct.close()
    await assertReopens(fs, expected)
  })

  it('batches larger than the bound are written directly', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs, { coalesceBytes: 100 })
    const r = log.appendAsLeader(batch(['y'.repeat(200)]), 0, 'client', coalesce)
    assert.equal(r.written, undefined)
    assert.equal(fs.size(log.activeSegment.logPath), log.activeSegment.size)
    await log.close()
  })

  it('abandon() drops what is staged, writes nothing, and closes the log', async () => {
    await noUnhandledRejections(async () => {
      const fs = new MemoryFileSystem()
      const log = openLog(fs)
      log.appendAsLeader(batch(['a']), 0)
      await log.leaderEpochCache.flush()
      const r = put(log, 'b')
      const writes = fs.stats.writes
      log.abandon()
      await assertRejectsStorageError(r.written!, StorageErrorCode.CLOSED)
      await tick()
      assert.equal(fs.stats.writes, writes, 'nothing written')
      assert.equal(log.closed, true)
      assert.throws(() => put(log, 'c'), (e: Error & { code?: string }) => e.code === StorageErrorCode.CLOSED)
      const again = openLog(fs, { clean: false })
      again.highWatermark = again.logEndOffset
      assert.deepEqual(values(again), ['a'])
      await again.close()
    })
  })

  it('close and delete write what is staged', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs)
    const r = put(log, 'a')
    await log.close()
    await r.written
    await assertReopens(fs, ['a'])
    const other = openLog(fs, { topic: 'other' })
    const s = put(other, 'b')
    await other.delete()
    await s.written
    assert.equal(fs.exists(other.dir), false)
  })

  it('a retry of a batch still staged answers with its offsets and waits for the same write', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs)
    const first = log.appendAsLeader(pbatch('p0', 0), 0, 'client', coalesce)
    const retry = log.appendAsLeader(pbatch('p0', 0), 0, 'client', coalesce)
    assert.equal(retry.duplicate, true)
    assert.equal(retry.baseOffset, first.baseOffset)
    assert.ok(retry.written !== undefined && retry.written === first.written)
    await retry.written
    const later = log.appendAsLeader(pbatch('p0', 0), 0, 'client', coalesce)
    assert.equal(later.duplicate, true)
    assert.equal(later.written, undefined, 'written already')
    await log.close()
  })
})

describe('coalesced appends: a failed write', () => {
  for (const [name, inject] of [
    ['EIO, nothing written', (fs: MemoryFileSystem) => fs.failNext('write', 'EIO', { path: LOG })],
    ['EIO after a short write', (fs: MemoryFileSystem) => fs.failNext('write', 'EIO', { partial: true, path: LOG })],
    ['ENOSPC, a full disk taking a prefix', (fs: MemoryFileSystem) => fs.setCapacity(fs.usedBytes + 150, { partial: true })]
  ] as const) {
    it(`(${name}) rolls the log back to the last good position and rejects the appenders`, async () => {
      await noUnhandledRejections(async () => {
        const fs = new MemoryFileSystem()
        const log = openLog(fs, { config: { 'index.interval.bytes': 0 } })
        log.appendAsLeader(batch(['a']), 0)
        put(log, 'b', 0)
        log.writePending()
        const indexEntries = log.activeSegment.offsetIndex.count
        const maxTimestamp = log.activeSegment.maxTimestamp
        inject(fs)
        // Several appends, a new leader epoch among them, and one caller that never looks at `written`.
        const staged = [put(log, 'c', 1), put(log, 'd', 1), put(log, 'e', 1)]
        log.activeSegment.offsetIndex.lookup(4)
        assert.equal(log.logEndOffset, 5)
        log.highWatermark = 5
        const code = name.startsWith('ENOSPC') ? StorageErrorCode.NO_SPACE : StorageErrorCode.IO
        const error = await assertRejectsStorageError(staged[0]!.written!, code)
        fs.setCapacity(null)
        for (const r of staged) await assert.rejects(r.written!, (e) => e === error, 'every staged append gets the error')
        assert.equal(log.logEndOffset, 2, 'the log end is back')
        assert.equal(log.highWatermark, 2, 'the high watermark follows it down')
        assert.equal(log.activeSegment.offsetIndex.count, indexEntries, 'index entries of the lost batches are gone')
        assert.equal(log.activeSegment.maxTimestamp, maxTimestamp)
        assert.deepEqual(log.leaderEpochCache.entries, [{ epoch: 0, startOffset: 0 }], 'the epoch of the lost appends is forgotten')
        assertConsistent(fs, log, ['a', 'b'])
        // The offsets are handed out again, and the log goes on.
        const again = put(log, 'c2', 1)
        assert.equal(again.baseOffset, 2)
        await again.written
        assertConsistent(fs, log, ['a', 'b', 'c2'])
        await log.close()
        await assertReopens(fs, ['a', 'b', 'c2'])
      })
    })
  }

  it('surfaces to the appenders, not to the read that triggered it', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs)
    log.appendAsLeader(batch(['a']), 0)
    const r = put(log, 'b')
    fs.failNext('write', 'ENOSPC', { path: LOG })
    log.highWatermark = log.logEndOffset
    assert.equal(log.highWatermark, 2)
    // The read offered offset 1 writes it first; the write fails, the log rolls back, and the
    // read serves what the log now holds.
    const read = log.read(0, { maxBytes: 1 << 20 })
    assert.equal(read.firstOffset, 0)
    assert.deepEqual(values(log), ['a'])
    await assertRejectsStorageError(r.written!, StorageErrorCode.NO_SPACE)
    // A reader that had been offered offset 1 finds it out of range, as after a truncation.
    assert.throws(() => log.read(2, { maxBytes: 100 }), (e: Error & { code?: string }) => e.code === StorageErrorCode.OFFSET_OUT_OF_RANGE)
    await log.close()
  })

  it('fails writePending() and a flush, which leave the log consistent', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs)
    put(log, 'a')
    fs.failNext('write', 'EIO', { path: LOG })
    assert.throws(() => log.writePending(), (e: Error & { code?: string }) => e.code === StorageErrorCode.IO)
    put(log, 'b')
    fs.failNext('write', 'EIO', { path: LOG })
    await assertRejectsStorageError(log.flush(), StorageErrorCode.IO)
    assert.equal(log.recoveryPoint, 0)
    assertConsistent(fs, log, [])
    put(log, 'c')
    await log.flush()
    assert.equal(log.recoveryPoint, 1)
    await log.close()
    await assertReopens(fs, ['c'])
  })

  it('a write that fails when the staging bound is reached fails that append too, synchronously', async () => {
    const fs = new MemoryFileSystem()
    const one = batch(['v0']).length
    const log = openLog(fs, { coalesceBytes: one * 2 })
    const first = put(log, 'v0')
    put(log, 'v1')
    fs.failNext('write', 'EIO', { path: LOG })
    // v2 does not fit: the staged two are written first, which fails; v2 then goes on the rolled-back log.
    const third = put(log, 'v2')
    assert.equal(third.baseOffset, 0, 'offsets assigned after the rollback')
    await assertRejectsStorageError(first.written!, StorageErrorCode.IO)
    await third.written
    assertConsistent(fs, log, ['v2'])
    await log.close()
  })

  it('rolls back the producer state: a retried batch is appended again, not answered as a duplicate', async () => {
    const fs = new MemoryFileSystem()
    // Producers expire after a day of the clock: keep it at the batches' time.
    const log = openLog(fs, { clock: () => T0 })
    log.appendAsLeader(pbatch('p0', 0), 0, 'client', coalesce)
    log.writePending()
    fs.failNext('write', 'EIO', { path: LOG })
    const lost = log.appendAsLeader(pbatch('p1', 1), 0, 'client', coalesce)
    const lost2 = log.appendAsLeader(pbatch('p2', 2), 0, 'client', coalesce)
    await assertRejectsStorageError(lost.written!, StorageErrorCode.IO)
    await assert.rejects(lost2.written!)
    assert.equal(log.producerState.lastEntry(7n)?.lastSeq, 0, 'the producer is back at sequence 0')
    // The producer retries: the batch is new again and gets the same offset.
    const retry = log.appendAsLeader(pbatch('p1', 1), 0, 'client', coalesce)
    assert.equal(retry.duplicate, undefined)
    assert.equal(retry.baseOffset, lost.baseOffset)
    log.appendAsLeader(pbatch('p2', 2), 0, 'client', coalesce)
    await retry.written
    assertConsistent(fs, log, ['p0', 'p1', 'p2'])
    await log.close()
    const again = openLog(fs, { clean: false, clock: () => T0 })
    assert.equal(again.producerState.lastEntry(7n)?.lastSeq, 2)
    await again.close()
  })

  it('a failed write whose truncation also fails: the garbage is never served and recovery cuts it', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs)
    log.appendAsLeader(batch(['a'.repeat(500)]), 0)
    const r = put(log, 'b'.repeat(500))
    fs.failNext('write', 'EIO', { partial: 300, path: LOG })
    fs.failNext('truncate', 'EIO')
    await tick()
    await assertRejectsStorageError(r.written!, StorageErrorCode.IO)
    assert.equal(log.logEndOffset, 1)
    assert.equal(fs.size(log.activeSegment.logPath), log.activeSegment.size + 300, 'the garbage stayed')
    log.highWatermark = 1
    assert.deepEqual(values(log), ['a'.repeat(500)])
    put(log, 'c') // overwrites part of it
    await log.close()
    const again = openLog(fs, { clean: false })
    assert.deepEqual(values(again, 0).length, 2)
    await again.close()
  })

  it('power loss with appends staged: the log reopens as a valid prefix holding every synced batch', async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const fs = new MemoryFileSystem()
      const log = openLog(fs)
      const synced: string[] = []
      const all: string[] = []
      for (let i = 0; i < 12; i++) {
        put(log, `s${seed}-${i}`)
        all.push(`s${seed}-${i}`)
        if (i % 4 === 3) await tick()
        if (i === 5) {
          await log.flush()
          synced.push(...all)
        }
      }
      fs.crash({ tornWrites: true, seed })
      // The process died with it: what is still staged is never written.
      log.abandon()
      const again = openLog(fs, { clean: false, recoveryPoint: synced.length })
      again.highWatermark = again.logEndOffset
      const got = values(again)
      assert.ok(got.length >= synced.length, `seed ${seed}: synced batches kept`)
      assert.deepEqual(got, all.slice(0, got.length), `seed ${seed}: a prefix`)
      await again.close()
    }
  })
})
