import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { HandlePool, MemoryFileSystem, StorageErrorCode, TimeIndex, TIME_INDEX_ENTRY_SIZE } from '../src/mod.ts'
import { assertStorageError } from './helpers.ts'

const PATH = '/seg/00000000000000000100.timeindex'

function setup (maxIndexSize = 1200): { fs: MemoryFileSystem, pool: HandlePool, index: TimeIndex } {
  const fs = new MemoryFileSystem()
  fs.mkdir('/seg')
  const pool = new HandlePool(fs, 8)
  return { fs, pool, index: new TimeIndex(pool, PATH, 100, maxIndexSize) }
}

function raw (entries: Array<[number, number]>): Buffer {
  const buf = Buffer.alloc(entries.length * TIME_INDEX_ENTRY_SIZE)
  entries.forEach(([ts, rel], i) => {
    buf.writeBigInt64BE(BigInt(ts), i * 12)
    buf.writeInt32BE(rel, i * 12 + 8)
  })
  return buf
}

describe('TimeIndex', () => {
  it('adds an entry only when the timestamp grows and the offset does not shrink', () => {
    const { index } = setup()
    assert.deepEqual(index.lastEntry, { timestamp: -1, offset: 100 })
    index.maybeAppend(1000, 105)
    index.maybeAppend(1000, 110) // same timestamp
    index.maybeAppend(900, 120) // older
    index.maybeAppend(2000, 104) // offset goes back
    index.maybeAppend(3000, 130)
    assert.equal(index.count, 2)
    assert.deepEqual(index.lastEntry, { timestamp: 3000, offset: 130 })
    assert.equal(index.timestampAt(0), 1000)
    assert.equal(index.offsetAt(0), 105)
  })

  it('looks up the last entry whose timestamp is at or below the target', () => {
    const { index } = setup()
    assert.deepEqual(index.lookup(5000), { timestamp: -1, offset: 100 })
    index.maybeAppend(1000, 105)
    index.maybeAppend(2000, 110)
    index.maybeAppend(3000, 130)
    assert.deepEqual(index.lookup(999), { timestamp: -1, offset: 100 }, 'older than every entry: the segment start')
    assert.deepEqual(index.lookup(1000), { timestamp: 1000, offset: 105 })
    assert.deepEqual(index.lookup(2500), { timestamp: 2000, offset: 110 })
    assert.deepEqual(index.lookup(1e15), { timestamp: 3000, offset: 130 })
  })

  it('is full at segment.index.bytes / 12 entries', () => {
    const { index } = setup(2 * TIME_INDEX_ENTRY_SIZE)
    assert.equal(index.maxEntries, 2)
    index.maybeAppend(1, 101)
    index.maybeAppend(2, 102)
    assert.equal(index.isFull, true)
    assertStorageError(() => index.maybeAppend(3, 103), StorageErrorCode.INVALID_BATCH)
    index.maybeAppend(2, 103) // not an entry: no error even when full
  })

  it('truncates entries at or after an offset, persisted ones included', () => {
    const { fs, index } = setup()
    index.maybeAppend(1000, 105)
    index.maybeAppend(2000, 110)
    index.maybeAppend(3000, 130)
    index.writePending()
    assert.equal(fs.size(PATH), 36)
    index.truncateTo(110)
    assert.equal(index.count, 1)
    assert.equal(fs.size(PATH), 12)
    assert.deepEqual(index.lastEntry, { timestamp: 1000, offset: 105 })
  })

  it('loads what it wrote, with timestamps beyond 2^32', async () => {
    const { pool, index } = setup()
    const big = 1_700_000_000_123
    index.maybeAppend(big, 105)
    index.maybeAppend(big + 1, 106)
    await index.flush()
    index.close()
    const loaded = new TimeIndex(pool, PATH, 100, 1200)
    loaded.load(10_000)
    assert.deepEqual(loaded.lastEntry, { timestamp: big + 1, offset: 106 })
    assert.deepEqual(loaded.lookup(big), { timestamp: big, offset: 105 })
  })

  describe('rejects a corrupt file on load', () => {
    const cases: Array<[string, Buffer]> = [
      ['length not a multiple of 12', Buffer.concat([raw([[1000, 5]]), Buffer.alloc(5)])],
      ['timestamps not increasing', raw([[1000, 5], [1000, 6]])],
      ['timestamps decreasing', raw([[2000, 5], [1000, 6]])],
      ['offsets decreasing', raw([[1000, 6], [2000, 5]])],
      ['negative relative offset', raw([[1000, -3]])]
    ]
    for (const [name, content] of cases) {
      it(name, () => {
        const { fs, pool } = setup()
        const h = fs.open(PATH, 'write')
        h.write(content, 0)
        h.close()
        const index = new TimeIndex(pool, PATH, 100, 1200)
        assertStorageError(() => index.load(10_000), StorageErrorCode.CORRUPT)
        assert.equal(index.count, 0)
      })
    }
  })
})
