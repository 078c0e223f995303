import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { LeaderEpochCache, MemoryFileSystem, StorageErrorCode, UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET } from '../src/mod.ts'
import { assertRejectsStorageError, assertStorageError } from './helpers.ts'

const PATH = '/p/leader-epoch-checkpoint'

function setup (): { fs: MemoryFileSystem, cache: LeaderEpochCache } {
  const fs = new MemoryFileSystem()
  fs.mkdir('/p')
  return { fs, cache: new LeaderEpochCache(fs, PATH) }
}

/** The cache of Kafka's LeaderEpochFileCacheTest examples: epoch 2 at 6, 4 at 8, 6 at 12... */
function withEntries (entries: Array<[number, number]>): LeaderEpochCache {
  const { cache } = setup()
  for (const [epoch, start] of entries) cache.assign(epoch, start)
  return cache
}

const undefinedEnd = { leaderEpoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET }

describe('LeaderEpochCache', () => {
  describe('assign', () => {
    it('records a newer epoch and its start offset', () => {
      const cache = withEntries([[2, 6], [4, 8]])
      assert.deepEqual(cache.entries, [{ epoch: 2, startOffset: 6 }, { epoch: 4, startOffset: 8 }])
      assert.equal(cache.latestEpoch, 4)
    })

    it('ignores the latest epoch again, older epochs and undefined (-1) epochs', () => {
      const cache = withEntries([[2, 6], [4, 8]])
      cache.assign(4, 20)
      cache.assign(3, 30)
      cache.assign(-1, 40)
      assert.deepEqual(cache.entries, [{ epoch: 2, startOffset: 6 }, { epoch: 4, startOffset: 8 }])
    })

    it('removes entries starting at or after the new start offset (a superseded history)', () => {
      const cache = withEntries([[2, 6], [4, 8], [5, 12]])
      cache.assign(7, 8)
      assert.deepEqual(cache.entries, [{ epoch: 2, startOffset: 6 }, { epoch: 7, startOffset: 8 }])
    })

    it('starts empty with latestEpoch -1', () => {
      const { cache } = setup()
      assert.equal(cache.latestEpoch, UNDEFINED_EPOCH)
      assert.deepEqual(cache.entries, [])
    })
  })

  it('gives the epoch of an offset', () => {
    const cache = withEntries([[2, 6], [4, 8]])
    assert.equal(cache.epochForOffset(5), UNDEFINED_EPOCH)
    assert.equal(cache.epochForOffset(6), 2)
    assert.equal(cache.epochForOffset(7), 2)
    assert.equal(cache.epochForOffset(8), 4)
    assert.equal(cache.epochForOffset(1e9), 4)
  })

  describe('endOffsetFor (Kafka LeaderEpochFileCache.endOffsetFor)', () => {
    const cache = withEntries([[2, 6], [4, 8], [6, 12]])
    const LEO = 20

    it('the latest epoch ends at the log end', () => {
      assert.deepEqual(cache.endOffsetFor(6, LEO), { leaderEpoch: 6, endOffset: LEO })
    })
    it('an epoch in the cache ends where the next one starts', () => {
      assert.deepEqual(cache.endOffsetFor(2, LEO), { leaderEpoch: 2, endOffset: 8 })
      assert.deepEqual(cache.endOffsetFor(4, LEO), { leaderEpoch: 4, endOffset: 12 })
    })
    it('an epoch between two known ones maps to the floor epoch and the next start', () => {
      assert.deepEqual(cache.endOffsetFor(3, LEO), { leaderEpoch: 2, endOffset: 8 })
      assert.deepEqual(cache.endOffsetFor(5, LEO), { leaderEpoch: 4, endOffset: 12 })
    })
    it('an epoch below the first keeps the requested epoch and ends at the first start', () => {
      assert.deepEqual(cache.endOffsetFor(1, LEO), { leaderEpoch: 1, endOffset: 6 })
      assert.deepEqual(cache.endOffsetFor(0, LEO), { leaderEpoch: 0, endOffset: 6 })
    })
    it('an epoch above the latest is undefined', () => {
      assert.deepEqual(cache.endOffsetFor(7, LEO), undefinedEnd)
    })
    it('the undefined epoch, and any epoch of an empty cache, are undefined', () => {
      assert.deepEqual(cache.endOffsetFor(UNDEFINED_EPOCH, LEO), undefinedEnd)
      assert.deepEqual(setup().cache.endOffsetFor(0, LEO), undefinedEnd)
    })
  })

  describe('truncateFromEnd', () => {
    it('removes entries starting at or after the end offset', () => {
      const cache = withEntries([[2, 6], [4, 8], [6, 12]])
      cache.truncateFromEnd(12)
      assert.deepEqual(cache.entries, [{ epoch: 2, startOffset: 6 }, { epoch: 4, startOffset: 8 }])
      cache.truncateFromEnd(9)
      assert.equal(cache.latestEpoch, 4, 'the epoch starting before the end stays')
      cache.truncateFromEnd(6)
      assert.deepEqual(cache.entries, [])
    })
    it('is a no-op past the last start', () => {
      const cache = withEntries([[2, 6]])
      cache.truncateFromEnd(100)
      assert.deepEqual(cache.entries, [{ epoch: 2, startOffset: 6 }])
    })
  })

  describe('truncateFromStart', () => {
    it('clips the epoch holding the new start offset and drops earlier ones', () => {
      const cache = withEntries([[2, 6], [4, 8], [6, 12]])
      cache.truncateFromStart(9)
      assert.deepEqual(cache.entries, [{ epoch: 4, startOffset: 9 }, { epoch: 6, startOffset: 12 }])
    })
    it('drops an epoch that starts exactly at an earlier entry boundary', () => {
      const cache = withEntries([[2, 6], [4, 8], [6, 12]])
      cache.truncateFromStart(8)
      assert.deepEqual(cache.entries, [{ epoch: 4, startOffset: 8 }, { epoch: 6, startOffset: 12 }])
      cache.truncateFromStart(100)
      assert.deepEqual(cache.entries, [{ epoch: 6, startOffset: 100 }], 'past the last: the last epoch, clipped')
    })
    it('is a no-op at or before the first start', () => {
      const cache = withEntries([[2, 6], [4, 8]])
      cache.truncateFromStart(6)
      cache.truncateFromStart(3)
      assert.deepEqual(cache.entries, [{ epoch: 2, startOffset: 6 }, { epoch: 4, startOffset: 8 }])
      const empty = setup().cache
      empty.truncateFromStart(5)
      assert.deepEqual(empty.entries, [])
    })
  })

  it('persists every change to the checkpoint and reloads it', async () => {
    const { fs, cache } = setup()
    cache.assign(2, 6)
    cache.assign(4, 8)
    cache.truncateFromStart(7)
    await cache.flush()
    assert.equal(fs.durableContent(PATH).toString(), '0\n2\n2 7\n4 8\n')
    assert.deepEqual(new LeaderEpochCache(fs, PATH).entries, [{ epoch: 2, startOffset: 7 }, { epoch: 4, startOffset: 8 }])
    cache.truncateFromEnd(0)
    await cache.flush()
    assert.equal(fs.readFile(PATH).toString(), '0\n0\n')
    assert.deepEqual(new LeaderEpochCache(fs, PATH).entries, [])
  })

  it('keeps the previous checkpoint when a crash interrupts a write', async () => {
    const { fs, cache } = setup()
    cache.assign(1, 0)
    await cache.flush()
    cache.assign(2, 10)
    // Let the write reach its fsync, then lose power.
    for (let i = 0; i < 5; i++) await Promise.resolve()
    assert.equal(fs.exists(`${PATH}.tmp`), true)
    fs.crash({ tornWrites: true, seed: 1 })
    await assertRejectsStorageError(cache.flush(), StorageErrorCode.IO)
    assert.deepEqual(new LeaderEpochCache(fs, PATH).entries, [{ epoch: 1, startOffset: 0 }])
  })

  it('reports a failed write on the next flush, once', async () => {
    const { fs, cache } = setup()
    fs.failNext('write', 'ENOSPC')
    cache.assign(1, 0)
    await assertRejectsStorageError(cache.flush(), StorageErrorCode.NO_SPACE)
    await cache.flush()
    cache.assign(2, 5)
    await cache.flush()
    assert.equal(fs.readFile(PATH).toString(), '0\n2\n1 0\n2 5\n', 'later writes carry the whole state')
  })

  it('refuses a malformed checkpoint', () => {
    const fs = new MemoryFileSystem()
    fs.mkdir('/p')
    fs.open(PATH, 'write').write(Buffer.from('0\n1\n2\n'), 0)
    assertStorageError(() => new LeaderEpochCache(fs, PATH), StorageErrorCode.CORRUPT)
  })
})
