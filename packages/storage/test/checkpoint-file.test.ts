import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { CheckpointFile, MemoryFileSystem, NodeFileSystem, StorageErrorCode, leaderEpochCheckpoint, partitionOffsetCheckpoint } from '../src/mod.ts'
import { assertRejectsStorageError, assertStorageError, tempDir } from './helpers.ts'

const PATH = '/d/recovery-point-offset-checkpoint'

function fsWith (content: string): MemoryFileSystem {
  const fs = new MemoryFileSystem()
  fs.mkdir('/d')
  if (content !== '') fs.open(PATH, 'write').write(Buffer.from(content), 0)
  else fs.open(PATH, 'write').close()
  return fs
}

describe('CheckpointFile', () => {
  it("writes Kafka's format: version, count, one entry per line", async () => {
    const fs = new MemoryFileSystem()
    fs.mkdir('/d')
    const file = partitionOffsetCheckpoint(fs, PATH)
    await file.write([{ topic: 'orders', partition: 0, offset: 1234 }, { topic: 'my-topic-1', partition: 12, offset: 99 }])
    assert.equal(fs.durableContent(PATH).toString(), '0\n2\norders 0 1234\nmy-topic-1 12 99\n')
    assert.deepEqual(file.read(), [{ topic: 'orders', partition: 0, offset: 1234 }, { topic: 'my-topic-1', partition: 12, offset: 99 }])
    assert.equal(fs.exists(`${PATH}.tmp`), false)
  })

  it('reads a missing file as empty and round-trips an empty list', async () => {
    const fs = new MemoryFileSystem()
    fs.mkdir('/d')
    const file = partitionOffsetCheckpoint(fs, PATH)
    assert.deepEqual(file.read(), [])
    await file.write([])
    assert.equal(fs.readFile(PATH).toString(), '0\n0\n')
    assert.deepEqual(file.read(), [])
  })

  it('accepts a file without the final newline and large offsets', () => {
    const fs = fsWith(`0\n1\nt 3 ${Number.MAX_SAFE_INTEGER}`)
    assert.deepEqual(partitionOffsetCheckpoint(fs, PATH).read(), [{ topic: 't', partition: 3, offset: Number.MAX_SAFE_INTEGER }])
  })

  it('parses leader-epoch-checkpoint lines', async () => {
    const fs = new MemoryFileSystem()
    fs.mkdir('/d')
    const file = leaderEpochCheckpoint(fs, '/d/leader-epoch-checkpoint')
    await file.write([{ epoch: 0, startOffset: 0 }, { epoch: 3, startOffset: 120 }])
    assert.equal(fs.readFile('/d/leader-epoch-checkpoint').toString(), '0\n2\n0 0\n3 120\n')
    assert.deepEqual(file.read(), [{ epoch: 0, startOffset: 0 }, { epoch: 3, startOffset: 120 }])
  })

  describe('reports a malformed file as CORRUPT', () => {
    const cases: Array<[string, string]> = [
      ['an empty file', ''],
      ['an unknown version', '1\n0\n'],
      ['a missing count', '0\n'],
      ['a bad count', '0\nx\n'],
      ['a negative count', '0\n-1\n'],
      ['fewer entries than the count', '0\n2\nt 0 1\n'],
      ['more entries than the count', '0\n1\nt 0 1\nt 1 2\n'],
      ['a non-numeric offset', '0\n1\nt 0 abc\n'],
      ['a fractional offset', '0\n1\nt 0 1.5\n'],
      ['an offset beyond 2^53', '0\n1\nt 0 99999999999999999999\n'],
      ['too many fields', '0\n1\nt 0 1 2\n'],
      ['too few fields', '0\n1\nt 0\n'],
      ['an empty topic', '0\n1\n 0 1\n'],
      ['a blank line', '0\n1\n\n']
    ]
    for (const [name, content] of cases) {
      it(name, () => {
        const error = assertStorageError(() => partitionOffsetCheckpoint(fsWith(content), PATH).read(), StorageErrorCode.CORRUPT)
        assert.equal(error.path, PATH)
      })
    }
    it('a bad leader-epoch line', () => {
      const fs = fsWith('0\n1\n1 2 3\n')
      assertStorageError(() => leaderEpochCheckpoint(fs, PATH).read(), StorageErrorCode.CORRUPT)
    })
  })

  it('keeps the old content when the write fails or a crash interrupts it', async () => {
    const fs = new MemoryFileSystem()
    fs.mkdir('/d')
    const file = partitionOffsetCheckpoint(fs, PATH)
    await file.write([{ topic: 't', partition: 0, offset: 1 }])
    fs.failNext('rename', 'EIO')
    await assertRejectsStorageError(file.write([{ topic: 't', partition: 0, offset: 2 }]), StorageErrorCode.IO)
    assert.deepEqual(file.read(), [{ topic: 't', partition: 0, offset: 1 }])
    const pending = file.write([{ topic: 't', partition: 0, offset: 3 }])
    fs.crash({ tornWrites: true, seed: 7 })
    await pending.catch(() => undefined)
    assert.deepEqual(file.read(), [{ topic: 't', partition: 0, offset: 1 }])
  })

  it('works on the real file system', async (t) => {
    const dir = tempDir(t)
    const path = join(dir, 'log-start-offset-checkpoint')
    const file = new CheckpointFile<string>(new NodeFileSystem(), path, (s) => s, (f) => f.join(' '))
    await file.write(['a 1', 'b 2'])
    assert.equal(readFileSync(path, 'utf8'), '0\n2\na 1\nb 2\n')
    assert.deepEqual(file.read(), ['a 1', 'b 2'])
  })
})
