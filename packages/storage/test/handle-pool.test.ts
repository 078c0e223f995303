import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { HandlePool, LogManager, MemoryFileSystem, StorageErrorCode, logConfig } from '../src/mod.ts'
import { assertRejectsStorageError, batch, decodeAll, noUnhandledRejections } from './helpers.ts'

/** A MemoryFileSystem that remembers the most handles it ever had open at once. */
class WatchedFileSystem extends MemoryFileSystem {
  peak = 0
  override open (...args: Parameters<MemoryFileSystem['open']>): ReturnType<MemoryFileSystem['open']> {
    const handle = super.open(...args)
    this.peak = Math.max(this.peak, this.openHandleCount)
    return handle
  }
}

function files (fs: MemoryFileSystem, n: number): string[] {
  fs.mkdir('/f')
  return Array.from({ length: n }, (_, i) => `/f/${i}`)
}

describe('HandlePool', () => {
  it('needs room for at least two handles', () => {
    assert.throws(() => new HandlePool(new MemoryFileSystem(), 1), RangeError)
  })

  it('reuses open handles and closes the least recently used when full', () => {
    const fs = new MemoryFileSystem()
    const [a, b, c] = files(fs, 3) as [string, string, string]
    const pool = new HandlePool(fs, 2)
    const ha = pool.get(a)
    assert.equal(pool.get(a), ha)
    pool.get(b)
    pool.get(a) // a is now the most recent
    pool.get(c) // evicts b
    assert.equal(pool.size, 2)
    assert.equal(fs.openHandleCount, 2)
    assert.equal(pool.get(a), ha, 'a stayed open')
    assert.equal(fs.stats.opens, 3)
    pool.get(b)
    assert.equal(fs.stats.opens, 4, 'b was reopened')
  })

  it('creates missing files on get, and answers exists without opening', () => {
    const fs = new MemoryFileSystem()
    const [a] = files(fs, 1) as [string]
    const pool = new HandlePool(fs, 4)
    assert.equal(pool.exists(a), false)
    pool.get(a).write(Buffer.from('x'), 0)
    assert.equal(pool.exists(a), true)
    pool.close(a)
    assert.equal(pool.exists(a), true)
    assert.equal(fs.openHandleCount, 0)
    pool.close(a) // not open: a no-op
  })

  it('closes everything on closeAll', () => {
    const fs = new MemoryFileSystem()
    const pool = new HandlePool(fs, 8)
    for (const f of files(fs, 5)) pool.get(f)
    pool.closeAll()
    assert.equal(pool.size, 0)
    assert.equal(fs.openHandleCount, 0)
  })

  it('never evicts a handle pinned by an fsync, and keeps every handle within the bound', async () => {
    const fs = new WatchedFileSystem()
    const paths = files(fs, 20)
    const pool = new HandlePool(fs, 4)
    // 20 concurrent fsyncs, with synchronous gets of other files in between.
    const syncs = paths.map(async (p) => await pool.with(p, async (h) => await h.sync()))
    for (const p of paths) pool.get(p).write(Buffer.from(p), 0)
    await Promise.all(syncs)
    assert.ok(fs.peak <= 4, `peak ${fs.peak} open handles`)
    assert.equal(fs.stats.syncs, 20)
    pool.closeAll()
    assert.equal(fs.openHandleCount, 0)
  })

  it('closes a handle closed while pinned once its operation ends', async () => {
    const fs = new MemoryFileSystem()
    const [a] = files(fs, 1) as [string]
    const pool = new HandlePool(fs, 2)
    const sync = pool.with(a, async (h) => await h.sync())
    pool.close(a)
    assert.equal(fs.openHandleCount, 1, 'still in use')
    assert.equal(pool.size, 1)
    await sync
    assert.equal(fs.openHandleCount, 0)
    assert.equal(pool.size, 0)
  })

  it('does not recreate a file removed while an operation waited for a slot', async () => {
    const fs = new MemoryFileSystem()
    const [a, b, c] = files(fs, 3) as [string, string, string]
    const pool = new HandlePool(fs, 2)
    for (const p of [a, b, c]) pool.get(p)
    const first = pool.with(a, async (h) => await h.sync())
    const waiting = pool.with(b, async (h) => await h.sync())
    pool.close(b)
    fs.unlink(b)
    await first
    await assertRejectsStorageError(waiting, StorageErrorCode.NOT_FOUND)
    assert.equal(fs.exists(b), false)
    await pool.with(c, async (h) => await h.sync())
  })

  it('propagates a failed operation and releases its slot', async () => {
    const fs = new MemoryFileSystem()
    const [a, b] = files(fs, 2) as [string, string]
    const pool = new HandlePool(fs, 2)
    fs.failNext('sync', 'EIO')
    await assertRejectsStorageError(pool.with(a, async (h) => await h.sync()), StorageErrorCode.IO)
    await pool.with(b, async (h) => await h.sync())
  })

  it('keeps 100 partitions appending, reading and flushing within 8 open files', async () => {
    await noUnhandledRejections(async () => {
      const fs = new MemoryFileSystem()
      fs.setOpenHandleLimit(8) // a 9th open throws EMFILE
      let peak = 0
      const manager = await LogManager.open({
        dataDir: '/data',
        fs,
        maxOpenFiles: 8,
        configFor: () => logConfig({ 'segment.bytes': 600, 'flush.ms': 0 })
      })
      const logs = Array.from({ length: 100 }, (_, p) => manager.getOrCreateLog(`topic-${p % 7}`, p))
      for (let round = 0; round < 6; round++) {
        const flushes: Array<Promise<void>> = []
        for (const [p, log] of logs.entries()) {
          const result = log.appendAsLeader(batch([`p${p}-r${round}`], { valueSize: 100 }), round)
          log.highWatermark = log.logEndOffset
          if (p % 3 === round % 3) flushes.push(log.flush())
          peak = Math.max(peak, fs.openHandleCount)
          assert.equal(result.baseOffset, round)
        }
        flushes.push(manager.flushDue())
        for (const [p, log] of logs.entries()) {
          const read = decodeAll(log.read(0, { maxBytes: 1 << 20 }).records)
          assert.ok(read[0]!.value.startsWith(`p${p}-r0.`), read[0]!.value)
          peak = Math.max(peak, fs.openHandleCount)
        }
        await Promise.all(flushes)
      }
      assert.ok(logs[0]!.segments.length > 1, 'the logs rolled')
      await manager.close()
      assert.ok(peak <= 8, `peak ${peak}`)
      assert.equal(fs.openHandleCount, 0)
      const reopened = await LogManager.open({ dataDir: '/data', fs, maxOpenFiles: 8 })
      assert.equal(reopened.size, 100)
      for (const log of reopened.logs()) assert.equal(log.logEndOffset, 6)
      await reopened.close()
      assert.equal(fs.openHandleCount, 0)
    })
  })
})
