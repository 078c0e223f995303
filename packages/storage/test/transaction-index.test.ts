import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { HandlePool, MemoryFileSystem, StorageErrorCode, TransactionIndex, TXN_INDEX_ENTRY_SIZE, type AbortedTxn } from '../src/mod.ts'
import { assertStorageError } from './helpers.ts'

const PATH = '/seg/00000000000000000000.txnindex'

function setup (): { fs: MemoryFileSystem, pool: HandlePool, index: TransactionIndex } {
  const fs = new MemoryFileSystem()
  fs.mkdir('/seg')
  const pool = new HandlePool(fs, 8)
  return { fs, pool, index: new TransactionIndex(pool, PATH, 0) }
}

const txn = (producerId: number, firstOffset: number, lastOffset: number, lastStableOffset = firstOffset): AbortedTxn =>
  ({ producerId: BigInt(producerId), firstOffset, lastOffset, lastStableOffset })

describe('TransactionIndex', () => {
  it('does not create its file until an entry is appended', async () => {
    const { fs, index } = setup()
    assert.deepEqual(index.entries, [])
    assert.deepEqual(index.collectAborted(0, 100), [])
    index.truncateTo(0)
    await index.flush()
    index.close()
    assert.equal(fs.exists(PATH), false)
  })

  it('writes 34-byte entries through and reloads them', async () => {
    const { fs, pool, index } = setup()
    index.append(txn(7, 0, 10, 0))
    index.append(txn(2 ** 40, 5, 20, 5))
    await index.flush()
    assert.equal(fs.durableContent(PATH).length, 2 * TXN_INDEX_ENTRY_SIZE)
    const bytes = fs.fileContent(PATH)
    assert.equal(bytes.readInt16BE(0), 0, 'version')
    assert.equal(bytes.readBigInt64BE(2), 7n)
    assert.equal(bytes.readBigInt64BE(18), 10n)
    index.close()
    const loaded = new TransactionIndex(pool, PATH, 0)
    assert.deepEqual(loaded.entries, [txn(7, 0, 10, 0), txn(2 ** 40, 5, 20, 5)])
  })

  it('keeps entries in marker order', () => {
    const { index } = setup()
    index.append(txn(1, 0, 10))
    assertStorageError(() => index.append(txn(2, 3, 10)), StorageErrorCode.INVALID_BATCH)
    assertStorageError(() => index.append(txn(2, 3, 9)), StorageErrorCode.INVALID_BATCH)
    assert.equal(index.entries.length, 1)
  })

  it('collects the aborted transactions overlapping [fetchOffset, upperBound)', () => {
    const { index } = setup()
    index.append(txn(1, 0, 10))
    index.append(txn(2, 5, 20))
    index.append(txn(3, 25, 30))
    const ids = (list: AbortedTxn[]): number[] => list.map((t) => Number(t.producerId))
    assert.deepEqual(ids(index.collectAborted(0, 100)), [1, 2, 3])
    assert.deepEqual(ids(index.collectAborted(11, 100)), [2, 3], 'marker before the fetch offset: done before it')
    assert.deepEqual(ids(index.collectAborted(0, 5)), [1], 'began at the upper bound: not overlapping')
    assert.deepEqual(ids(index.collectAborted(21, 25)), [])
    assert.deepEqual(ids(index.collectAborted(10, 11)), [1, 2])
  })

  it('truncates transactions whose marker is at or after an offset', () => {
    const { fs, index } = setup()
    index.append(txn(1, 0, 10))
    index.append(txn(2, 5, 20))
    index.append(txn(3, 25, 30))
    index.truncateTo(20)
    assert.deepEqual(index.entries.map((t) => t.lastOffset), [10])
    assert.equal(fs.size(PATH), TXN_INDEX_ENTRY_SIZE)
    index.truncateTo(50)
    assert.equal(index.entries.length, 1)
    index.append(txn(4, 40, 45))
    assert.equal(fs.size(PATH), 2 * TXN_INDEX_ENTRY_SIZE)
    index.reset()
    assert.deepEqual(index.entries, [])
    assert.equal(fs.size(PATH), 0)
  })

  it('drops a torn last entry on load', () => {
    const { fs, pool, index } = setup()
    index.append(txn(1, 0, 10))
    index.append(txn(2, 5, 20))
    index.close()
    fs.truncateFile(PATH, 2 * TXN_INDEX_ENTRY_SIZE - 7)
    const loaded = new TransactionIndex(pool, PATH, 0)
    assert.deepEqual(loaded.entries, [txn(1, 0, 10)])
    assert.equal(fs.size(PATH), TXN_INDEX_ENTRY_SIZE, 'the partial entry is cut off')
    loaded.append(txn(3, 15, 25))
    assert.deepEqual(new TransactionIndex(pool, PATH, 0).entries.map((t) => t.lastOffset), [10, 25])
  })

  it('stops loading at an entry with an unknown version', () => {
    const { fs, pool, index } = setup()
    index.append(txn(1, 0, 10))
    index.append(txn(2, 5, 20))
    index.close()
    fs.corrupt(PATH, TXN_INDEX_ENTRY_SIZE, 0x7f)
    assert.deepEqual(new TransactionIndex(pool, PATH, 0).entries, [txn(1, 0, 10)])
  })
})
