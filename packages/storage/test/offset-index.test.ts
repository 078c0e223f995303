import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { HandlePool, MemoryFileSystem, OffsetIndex, StorageErrorCode, OFFSET_INDEX_ENTRY_SIZE } from '../src/mod.ts'
import { assertStorageError } from './helpers.ts'

const PATH = '/seg/00000000000000000100.index'

function setup (maxIndexSize = 1024, base = 100): { fs: MemoryFileSystem, pool: HandlePool, index: OffsetIndex } {
  const fs = new MemoryFileSystem()
  fs.mkdir('/seg')
  const pool = new HandlePool(fs, 8)
  return { fs, pool, index: new OffsetIndex(pool, PATH, base, maxIndexSize) }
}

/** Raw index bytes from (relative offset, position) pairs. */
function raw (entries: Array<[number, number]>): Buffer {
  const buf = Buffer.alloc(entries.length * OFFSET_INDEX_ENTRY_SIZE)
  entries.forEach(([rel, pos], i) => {
    buf.writeInt32BE(rel, i * 8)
    buf.writeInt32BE(pos, i * 8 + 4)
  })
  return buf
}

describe('OffsetIndex', () => {
  it('looks up the last entry at or below a target, relative to the base offset', () => {
    const { index } = setup()
    assert.deepEqual(index.lookup(150), { offset: 100, position: 0 }, 'empty: the segment start')
    index.append(110, 1000)
    index.append(120, 2000)
    index.append(130, 3000)
    assert.equal(index.count, 3)
    assert.equal(index.lastOffset, 130)
    assert.deepEqual(index.lookup(99), { offset: 100, position: 0 }, 'below the first entry')
    assert.deepEqual(index.lookup(109), { offset: 100, position: 0 })
    assert.deepEqual(index.lookup(110), { offset: 110, position: 1000 }, 'exact')
    assert.deepEqual(index.lookup(125), { offset: 120, position: 2000 }, 'between')
    assert.deepEqual(index.lookup(1e9), { offset: 130, position: 3000 }, 'above the last')
    assert.equal(index.offsetAt(1), 120)
    assert.equal(index.positionAt(1), 2000)
  })

  it('ignores entries that do not increase the offset', () => {
    const { index } = setup()
    index.append(110, 1000)
    index.append(110, 1500)
    index.append(105, 1600)
    assert.equal(index.count, 1)
  })

  it('is full at segment.index.bytes / 8 entries and refuses more', () => {
    const { index } = setup(3 * OFFSET_INDEX_ENTRY_SIZE + 5)
    assert.equal(index.maxEntries, 3)
    for (let i = 1; i <= 3; i++) index.append(100 + i, i * 10)
    assert.equal(index.isFull, true)
    assertStorageError(() => index.append(200, 500), StorageErrorCode.INVALID_BATCH)
    assert.equal(index.count, 3)
  })

  it('grows past its initial buffer', () => {
    const { pool, index } = setup(1 << 20)
    for (let i = 1; i <= 1000; i++) index.append(100 + i, i * 100)
    assert.equal(index.count, 1000)
    assert.deepEqual(index.lookup(600), { offset: 600, position: 50000 })
    index.writePending()
    const loaded = new OffsetIndex(pool, PATH, 100, 1 << 20)
    loaded.load(1e6)
    assert.equal(loaded.count, 1000)
    assert.deepEqual(loaded.lookup(600), { offset: 600, position: 50000 })
  })

  it('writes entries lazily and truncates them in memory and in the file', async () => {
    const { fs, index } = setup()
    index.append(110, 1000)
    index.append(120, 2000)
    assert.equal(fs.exists(PATH) ? fs.size(PATH) : 0, 0, 'nothing written before writePending')
    index.writePending()
    assert.equal(fs.size(PATH), 16)
    index.append(130, 3000)
    await index.flush()
    assert.equal(fs.size(PATH), 24)
    assert.deepEqual(fs.durableContent(PATH), raw([[10, 1000], [20, 2000], [30, 3000]]))
    index.truncateTo(120)
    assert.equal(index.count, 1)
    assert.equal(fs.size(PATH), 8)
    assert.deepEqual(index.lookup(125), { offset: 110, position: 1000 })
    // Truncating entries not yet written only drops them in memory.
    index.append(140, 4000)
    index.truncateTo(140)
    assert.equal(index.count, 1)
    assert.equal(fs.size(PATH), 8)
    index.truncateTo(500)
    assert.equal(index.count, 1, 'truncating above the last entry keeps everything')
    index.reset()
    assert.equal(index.count, 0)
    assert.equal(fs.size(PATH), 0)
    assert.equal(index.sizeInBytes, 0)
    index.close()
  })

  it('loads what it wrote', () => {
    const { fs, pool, index } = setup()
    index.append(110, 1000)
    index.append(120, 2000)
    index.close()
    const loaded = new OffsetIndex(pool, PATH, 100, 1024)
    loaded.load(5000)
    assert.equal(loaded.count, 2)
    assert.deepEqual(loaded.lookup(121), { offset: 120, position: 2000 })
    assert.equal(fs.size(PATH), 16)
  })

  describe('rejects a corrupt file on load (the caller rebuilds it)', () => {
    const cases: Array<[string, Buffer, number]> = [
      ['length not a multiple of the entry size', Buffer.concat([raw([[10, 100]]), Buffer.alloc(3)]), 5000],
      ['out-of-order offsets', raw([[10, 100], [5, 200]]), 5000],
      ['repeated offsets', raw([[10, 100], [10, 200]]), 5000],
      ['negative relative offset', raw([[-1, 100]]), 5000],
      ['decreasing positions', raw([[10, 200], [20, 100]]), 5000],
      ['a position past the log', raw([[10, 100], [20, 5000]]), 5000],
      ['more entries than segment.index.bytes allows', raw(Array.from({ length: 5 }, (_, i) => [i + 1, i * 10] as [number, number])), 5000]
    ]
    for (const [name, content, logSize] of cases) {
      it(name, () => {
        const { fs, pool } = setup()
        const h = fs.open(PATH, 'write')
        h.write(content, 0)
        h.close()
        const index = new OffsetIndex(pool, PATH, 100, 4 * OFFSET_INDEX_ENTRY_SIZE)
        const error = assertStorageError(() => index.load(logSize), StorageErrorCode.CORRUPT)
        assert.equal(error.path, PATH)
        assert.equal(index.count, 0, 'nothing half-loaded')
      })
    }
  })
})
