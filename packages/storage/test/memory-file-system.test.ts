import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { StorageError, StorageErrorCode } from '../src/errors.ts'
import { type FileHandle, type FileSystem, NodeFileSystem } from '../src/file-system.ts'
import { MemoryFileSystem, mulberry32, type CrashReport } from '../src/memory-file-system.ts'

const b = (s: string): Buffer => Buffer.from(s)

function errorOf (fn: () => unknown): StorageError {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof StorageError, `expected a StorageError, got ${String(error)}`)
    return error
  }
  assert.fail('expected a StorageError')
}

async function rejectionOf (promise: Promise<unknown>): Promise<StorageError> {
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof StorageError, `expected a StorageError, got ${String(error)}`)
    return error
  }
  assert.fail('expected a rejection')
}

function errno (error: StorageError): unknown {
  return (error.cause as NodeJS.ErrnoException | undefined)?.code
}

function assertFails (fn: () => unknown, code: StorageErrorCode, errnoCode?: string): StorageError {
  const error = errorOf(fn)
  assert.equal(error.code, code, error.message)
  if (errnoCode !== undefined) assert.equal(errno(error), errnoCode, error.message)
  return error
}

function fileWith (fs: MemoryFileSystem, path: string, content: string | Buffer): FileHandle {
  const h = fs.open(path, 'write')
  h.write(typeof content === 'string' ? b(content) : content, 0)
  return h
}

describe('MemoryFileSystem: FileSystem semantics', () => {
  it('reads and writes positionally, zero-filling gaps', () => {
    const fs = new MemoryFileSystem()
    const h = fs.open('/f', 'write')
    h.write(b('hello'), 0)
    h.write(b('XY'), 8)
    assert.equal(h.size(), 10)
    assert.deepEqual(fs.readFile('/f'), Buffer.concat([b('hello'), Buffer.alloc(3), b('XY')]))
    h.writev([b('ab'), b(''), b('cd')], 1)
    assert.deepEqual(fs.fileContent('/f').subarray(0, 6), b('habcd\0'))
    const out = Buffer.alloc(6, 0xee)
    assert.equal(h.read(out, 1, 5, 7), 3) // short read at the end
    assert.deepEqual(out, Buffer.from([0xee, 0, 0x58, 0x59, 0xee, 0xee]))
    assert.equal(h.read(out, 0, 4, 100), 0)
    h.truncate(3)
    assert.equal(fs.size('/f'), 3)
    h.truncate(5)
    assert.deepEqual(fs.readFile('/f'), b('hab\0\0'))
    h.close()
    h.close() // idempotent
  })

  it('keeps a file shrunk and regrown free of stale bytes', () => {
    const fs = new MemoryFileSystem()
    const h = fileWith(fs, '/f', 'abcdefgh')
    h.truncate(2)
    h.write(b('Z'), 6)
    assert.deepEqual(fs.readFile('/f'), b('ab\0\0\0\0Z'))
  })

  it('opens missing files for write only, in existing directories', () => {
    const fs = new MemoryFileSystem()
    assertFails(() => fs.open('/missing', 'read'), StorageErrorCode.NOT_FOUND, 'ENOENT')
    assertFails(() => fs.open('/dir/f', 'write'), StorageErrorCode.NOT_FOUND, 'ENOENT')
    fs.mkdir('/dir')
    fs.open('/dir/f', 'write').close()
    assert.ok(fs.exists('/dir/f'))
    assertFails(() => fs.open('/dir/f/g', 'write'), StorageErrorCode.IO, 'ENOTDIR')
    assertFails(() => fs.open('/dir', 'write'), StorageErrorCode.IO, 'EISDIR')
    const error = assertFails(() => fs.open('/dir/nope', 'read'), StorageErrorCode.NOT_FOUND)
    assert.equal(error.path, '/dir/nope')
    assert.equal(error.message, "Failed to open '/dir/nope': ENOENT: no such file or directory, open '/dir/nope'")
  })

  it('creates directories recursively and lists them sorted', () => {
    const fs = new MemoryFileSystem()
    fs.mkdir('/a/b/c')
    fs.mkdir('/a/b/c') // already there
    for (const name of ['zz', 'B', 'a', '10', '9']) fs.open(`/a/${name}`, 'write').close()
    assert.deepEqual(fs.readdir('/a'), ['10', '9', 'B', 'a', 'b', 'zz'])
    assertFails(() => fs.mkdir('/a/zz'), StorageErrorCode.IO, 'EEXIST')
    assertFails(() => fs.mkdir('/a/zz/y'), StorageErrorCode.IO, 'ENOTDIR')
    assertFails(() => fs.readdir('/a/zz'), StorageErrorCode.IO, 'ENOTDIR')
    assertFails(() => fs.readdir('/nope'), StorageErrorCode.NOT_FOUND, 'ENOENT')
  })

  it('removes trees, tolerates missing paths, and rejects unlinking directories', () => {
    const fs = new MemoryFileSystem()
    fs.mkdir('/a/b')
    fileWith(fs, '/a/b/f', 'x').close()
    fileWith(fs, '/a/g', 'y').close()
    assertFails(() => fs.unlink('/a'), StorageErrorCode.IO, 'EISDIR')
    fs.unlink('/a/missing')
    fs.unlink('/nope/missing')
    fs.rmdir('/a')
    assert.equal(fs.exists('/a'), false)
    fs.rmdir('/a')
    assert.equal(fs.usedBytes, 0)
  })

  it('renames over existing files and follows POSIX rules for directories', () => {
    const fs = new MemoryFileSystem()
    fileWith(fs, '/a', 'new').close()
    fileWith(fs, '/b', 'old').close()
    fs.rename('/a', '/b')
    assert.equal(fs.exists('/a'), false)
    assert.deepEqual(fs.readFile('/b'), b('new'))
    assert.equal(fs.usedBytes, 3)
    fs.mkdir('/d/e')
    assertFails(() => fs.rename('/b', '/d'), StorageErrorCode.IO, 'EISDIR')
    assertFails(() => fs.rename('/d', '/b'), StorageErrorCode.IO, 'ENOTDIR')
    assertFails(() => fs.rename('/d', '/d/e/x'), StorageErrorCode.IO, 'EINVAL')
    assertFails(() => fs.rename('/missing', '/x'), StorageErrorCode.NOT_FOUND, 'ENOENT')
    assertFails(() => fs.rename('/b', '/nope/x'), StorageErrorCode.NOT_FOUND, 'ENOENT')
    fs.mkdir('/empty')
    fs.rename('/d', '/empty')
    assert.deepEqual(fs.readdir('/empty'), ['e'])
    fs.rename('/b', '/b')
    assert.ok(fs.exists('/b'))
  })

  it('resolves relative paths against /', () => {
    const fs = new MemoryFileSystem()
    fs.mkdir('data/logs')
    fileWith(fs, 'data/logs/../x', 'q').close()
    assert.deepEqual(fs.readdir('/data'), ['logs', 'x'])
    assert.deepEqual(fs.readFile('/data/x'), b('q'))
    assert.equal(fs.exists(''), false) // '' names nothing, as in node:fs
    assertFails(() => fs.open('', 'write'), StorageErrorCode.NOT_FOUND, 'ENOENT')
    assertFails(() => fs.mkdir(''), StorageErrorCode.NOT_FOUND, 'ENOENT')
  })

  it('keeps an unlinked file readable through its open handles', () => {
    const fs = new MemoryFileSystem()
    const h = fileWith(fs, '/f', 'abc')
    fs.unlink('/f')
    assert.equal(fs.exists('/f'), false)
    h.write(b('d'), 3)
    const out = Buffer.alloc(4)
    assert.equal(h.read(out, 0, 4, 0), 4)
    assert.deepEqual(out, b('abcd'))
    assert.equal(fs.usedBytes, 4)
    h.close()
    assert.equal(fs.usedBytes, 0)
  })

  it('writes files atomically through a .tmp file', async () => {
    const fs = new MemoryFileSystem()
    fs.mkdir('/d')
    await fs.writeFileAtomic('/d/cp', b('one'))
    await fs.writeFileAtomic('/d/cp', b('two'))
    assert.deepEqual(fs.readdir('/d'), ['cp'])
    assert.deepEqual(fs.readFile('/d/cp'), b('two'))
    assert.deepEqual(fs.durableContent('/d/cp'), b('two'))
    const error = await rejectionOf(fs.writeFileAtomic('/nope/cp', b('x')))
    assert.equal(error.code, StorageErrorCode.NOT_FOUND)
    assert.equal(error.path, '/nope/cp')
  })

  it('rejects use of closed handles and of read-only handles for writing', () => {
    const fs = new MemoryFileSystem()
    fileWith(fs, '/f', 'abc').close()
    const r = fs.open('/f', 'read')
    assertFails(() => r.write(b('x'), 0), StorageErrorCode.IO, 'EBADF')
    assertFails(() => r.truncate(0), StorageErrorCode.IO, 'EINVAL')
    r.write(Buffer.alloc(0), 0) // no system call, no error, like NodeFileSystem
    r.close()
    assertFails(() => r.read(Buffer.alloc(1), 0, 1, 0), StorageErrorCode.IO, 'EBADF')
    assertFails(() => r.size(), StorageErrorCode.IO, 'EBADF')
    assertFails(() => fs.open('/f', 'read').read(Buffer.alloc(1), 0, 2, 0), StorageErrorCode.IO, 'ERR_OUT_OF_RANGE')
  })

  it('counts open handles', () => {
    const fs = new MemoryFileSystem()
    const a = fs.open('/a', 'write')
    const b2 = fs.open('/a', 'read')
    assert.equal(fs.openHandleCount, 2)
    a.close()
    a.close()
    assert.equal(fs.openHandleCount, 1)
    b2.close()
    assert.equal(fs.openHandleCount, 0)
    fs.setOpenHandleLimit(1)
    const c = fs.open('/a', 'read')
    assertFails(() => fs.open('/a', 'read'), StorageErrorCode.IO, 'EMFILE')
    c.close()
    fs.open('/a', 'read').close()
  })

  it('completes sync() asynchronously, after pending microtasks', async () => {
    const fs = new MemoryFileSystem()
    const h = fileWith(fs, '/f', 'abc')
    let done = false
    const sync = h.sync().then(() => { done = true })
    await Promise.resolve()
    await Promise.resolve()
    assert.equal(done, false)
    assert.deepEqual(fs.durableContent('/f'), b(''))
    await sync
    assert.equal(done, true)
    assert.deepEqual(fs.durableContent('/f'), b('abc'))
  })

  it('counts operations', async () => {
    const fs = new MemoryFileSystem()
    const h = fs.open('/f', 'write')
    h.write(b('abc'), 0)
    h.writev([b('d'), b('ef')], 3)
    h.read(Buffer.alloc(2), 0, 2, 0)
    await h.sync()
    await fs.syncDir('/')
    fs.readFile('/f')
    assert.deepEqual(fs.stats, { opens: 1, reads: 2, bytesRead: 8, writes: 2, bytesWritten: 6, syncs: 1, dirSyncs: 1, faults: 0 })
    fs.resetStats()
    assert.equal(fs.stats.writes, 0)
  })

  it('appends a million small records quickly', () => {
    const fs = new MemoryFileSystem()
    const h = fs.open('/seg', 'write')
    const record = Buffer.alloc(32, 7)
    const n = 1_000_000
    const started = performance.now()
    for (let i = 0; i < n; i++) {
      record.writeUInt32BE(i, 0)
      h.write(record, i * 32)
    }
    const elapsed = performance.now() - started
    assert.equal(h.size(), n * 32)
    const out = Buffer.alloc(32)
    h.read(out, 0, 32, 777_777 * 32)
    assert.equal(out.readUInt32BE(0), 777_777)
    assert.ok(elapsed < 10_000, `1M appends took ${elapsed} ms`)
  })
})

describe('MemoryFileSystem: fault injection', () => {
  it('fails the next matching write without writing anything', () => {
    const fs = new MemoryFileSystem()
    const h = fileWith(fs, '/f', 'abc')
    fs.failNext('write', 'ENOSPC')
    assertFails(() => h.write(b('def'), 3), StorageErrorCode.NO_SPACE, 'ENOSPC')
    assert.deepEqual(fs.fileContent('/f'), b('abc'))
    h.write(b('def'), 3)
    assert.deepEqual(fs.fileContent('/f'), b('abcdef'))
    assert.equal(fs.stats.faults, 1)
  })

  it('writes a prefix first in partial mode', () => {
    const fs = new MemoryFileSystem()
    const h = fs.open('/f', 'write')
    fs.failNext('write', 'EIO', { partial: true })
    assertFails(() => h.writev([b('abc'), b('def')], 0), StorageErrorCode.IO, 'EIO')
    assert.deepEqual(fs.fileContent('/f'), b('abc'))
    fs.failNext('write', 'ENOSPC', { partial: 4 })
    assertFails(() => h.write(b('0123456789'), 3), StorageErrorCode.NO_SPACE)
    assert.deepEqual(fs.fileContent('/f'), b('abc0123'))
  })

  it('matches paths by string, RegExp or predicate, and counts times', () => {
    const fs = new MemoryFileSystem()
    fs.mkdir('/log')
    fs.failNext('open', 'EACCES', { path: '/log/b', times: 2 })
    fs.failNext('open', 'EIO', { path: /\.index$/ })
    fs.failNext('open', 'EROFS', { path: (p) => p.endsWith('.z') })
    fs.open('/log/a', 'write').close()
    assertFails(() => fs.open('/log/b', 'write'), StorageErrorCode.IO, 'EACCES')
    assertFails(() => fs.open('log/../log/b', 'write'), StorageErrorCode.IO, 'EACCES')
    fs.open('/log/b', 'write').close()
    assertFails(() => fs.open('/log/0.index', 'write'), StorageErrorCode.IO, 'EIO')
    assert.equal(fs.pendingFaults, 1)
    assertFails(() => fs.open('/log/q.z', 'write'), StorageErrorCode.IO, 'EROFS')
    assert.equal(fs.pendingFaults, 0)
    fs.failNext('unlink', 'EIO')
    fs.clearFaults()
    fs.unlink('/log/a')
  })

  it('fails every other kind of operation', () => {
    const fs = new MemoryFileSystem()
    fs.mkdir('/d')
    const h = fileWith(fs, '/d/f', 'abc')
    const cases: Array<[Parameters<MemoryFileSystem['failNext']>[0], () => unknown]> = [
      ['read', () => h.read(Buffer.alloc(1), 0, 1, 0)],
      ['read', () => fs.readFile('/d/f')],
      ['truncate', () => h.truncate(0)],
      ['stat', () => h.size()],
      ['stat', () => fs.size('/d/f')],
      ['rename', () => fs.rename('/d/f', '/d/g')],
      ['unlink', () => fs.unlink('/d/f')],
      ['mkdir', () => fs.mkdir('/d/e')],
      ['readdir', () => fs.readdir('/d')],
      ['rmdir', () => fs.rmdir('/d')]
    ]
    for (const [op, run] of cases) {
      fs.failNext(op, 'EIO')
      assertFails(run, StorageErrorCode.IO, 'EIO')
    }
    assert.deepEqual(fs.readdir('/d'), ['f'])
    assert.deepEqual(fs.readFile('/d/f'), b('abc'))
    fs.failNext('close', 'EIO')
    assertFails(() => h.close(), StorageErrorCode.IO, 'EIO')
    assert.equal(fs.openHandleCount, 0) // released regardless, as close(2) does
  })

  it('fails fsync without making anything durable', async () => {
    const fs = new MemoryFileSystem()
    const h = fileWith(fs, '/f', 'abc')
    fs.failNext('sync', 'EIO', { path: '/f' })
    const error = await rejectionOf(h.sync())
    assert.equal(error.code, StorageErrorCode.IO)
    assert.deepEqual(fs.durableContent('/f'), b(''))
    await h.sync()
    assert.deepEqual(fs.durableContent('/f'), b('abc'))
    fs.failNext('sync', 'EIO', { path: '/' })
    assert.equal((await rejectionOf(fs.syncDir('/'))).code, StorageErrorCode.IO)
    fs.failNext('sync', 'EINVAL') // file systems that refuse directory fsync: ignored, like NodeFileSystem
    await fs.syncDir('/')
  })

  it('leaves the old content when writeFileAtomic fails at any step', async () => {
    for (const op of ['open', 'write', 'sync', 'rename'] as const) {
      const fs = new MemoryFileSystem()
      await fs.writeFileAtomic('/cp', b('old'))
      fs.failNext(op, 'EIO')
      const error = await rejectionOf(fs.writeFileAtomic('/cp', b('new')))
      assert.equal(error.code, StorageErrorCode.IO, op)
      assert.equal(error.path, '/cp', op) // wrapped with the target path, as NodeFileSystem does
      assert.deepEqual(fs.readFile('/cp'), b('old'), op)
      fs.crash()
      assert.deepEqual(fs.readFile('/cp'), b('old'), op)
    }
  })

  it('enforces a capacity, all-or-nothing or partially', () => {
    const fs = new MemoryFileSystem({ capacity: 10 })
    const h = fileWith(fs, '/a', 'abcdef')
    assertFails(() => h.write(b('ghijk'), 6), StorageErrorCode.NO_SPACE, 'ENOSPC')
    assert.equal(fs.size('/a'), 6)
    h.write(b('XYZ'), 0) // overwrites need no space
    assert.deepEqual(fs.readFile('/a'), b('XYZdef')) // reads still work
    fs.setCapacity(10, { partial: true })
    assertFails(() => h.write(b('ghijk'), 6), StorageErrorCode.NO_SPACE)
    assert.deepEqual(fs.readFile('/a'), b('XYZdefghij'))
    assert.equal(fs.usedBytes, 10)
    const other = fs.open('/b', 'write')
    assertFails(() => other.write(b('x'), 0), StorageErrorCode.NO_SPACE)
    fs.unlink('/a')
    assert.equal(fs.usedBytes, 10, 'still open')
    h.close()
    other.write(b('x'), 0)
    fs.setCapacity(null)
    other.write(Buffer.alloc(1000), 1)
  })
})

describe('MemoryFileSystem: crashes', () => {
  it('reverts files to their last sync', async () => {
    const fs = new MemoryFileSystem()
    const h = fileWith(fs, '/f', 'abc')
    await h.sync()
    h.write(b('def'), 3)
    h.write(b('X'), 0)
    assert.deepEqual(fs.durableContent('/f'), b('abc'))
    fs.crash()
    assert.deepEqual(fs.readFile('/f'), b('abc'))
    assert.equal(fs.usedBytes, 3)
  })

  it('invalidates handles and in-flight fsyncs', async () => {
    const fs = new MemoryFileSystem()
    const h = fileWith(fs, '/f', 'abc')
    const sync = h.sync()
    fs.crash()
    const error = await rejectionOf(sync)
    assert.equal(error.code, StorageErrorCode.IO)
    assert.equal(errno(error), 'EIO')
    assert.deepEqual(fs.readFile('/f'), b(''))
    assert.equal(fs.openHandleCount, 0)
    assertFails(() => h.write(b('x'), 0), StorageErrorCode.IO, 'EIO')
    assertFails(() => h.read(Buffer.alloc(1), 0, 1, 0), StorageErrorCode.IO, 'EIO')
    h.close() // no-op
    assert.equal(fs.openHandleCount, 0)
    const again = fs.open('/f', 'write')
    assert.equal(fs.openHandleCount, 1)
    again.close()
  })

  it('makes directory entries durable at once by default', () => {
    const fs = new MemoryFileSystem()
    fs.mkdir('/d')
    fs.open('/d/new', 'write').close()
    fileWith(fs, '/d/x', 'x').close()
    fs.rename('/d/x', '/d/y')
    fs.crash()
    assert.deepEqual(fs.readdir('/d'), ['new', 'y'])
    assert.deepEqual(fs.readFile('/d/y'), b('')) // renamed before its content was synced
  })

  it('keeps directory entries pending until syncDir in strict mode', async () => {
    const fs = new MemoryFileSystem({ strictDirectories: true })
    fs.mkdir('/d')
    fs.open('/d/a', 'write').close()
    fs.crash()
    assert.equal(fs.exists('/d'), false)

    fs.mkdir('/d')
    await fs.syncDir('/')
    const h = fileWith(fs, '/d/a', 'abc')
    await h.sync()
    fs.crash()
    assert.deepEqual(fs.readdir('/d'), [], 'file synced but not its directory entry')

    fileWith(fs, '/d/a', 'abc').close()
    await fs.syncDir('/d')
    fs.rename('/d/a', '/d/b')
    fs.crash()
    assert.deepEqual(fs.readdir('/d'), ['a'])

    fs.unlink('/d/a')
    assert.equal(fs.durableExists('/d/a'), true)
    fs.crash()
    assert.deepEqual(fs.readdir('/d'), ['a'])

    await fs.writeFileAtomic('/d/cp', b('v1'))
    fs.crash()
    assert.deepEqual(fs.readFile('/d/cp'), b('v1'))
  })

  it('commits a cross-directory rename atomically and in order with each directory', async () => {
    const fs = new MemoryFileSystem({ strictDirectories: true })
    fs.mkdir('/s')
    fs.mkdir('/d')
    await fs.syncDir('/')
    const x = fileWith(fs, '/s/x', 'from-s')
    await x.sync()
    await fs.syncDir('/s')
    const y = fileWith(fs, '/d/y', 'old-y') // pending in /d
    await y.sync()
    fs.rename('/s/x', '/d/y') // pending in /s and /d, after the creation of /d/y
    await fs.syncDir('/s') // commits the rename, hence the earlier creation in /d too
    assert.deepEqual(fs.list({ durable: true }), ['/d/', '/d/y', '/s/'])
    await fs.syncDir('/d')
    fs.crash()
    assert.deepEqual(fs.readFile('/d/y'), b('from-s'))
    assert.deepEqual(fs.readdir('/s'), [])
  })

  it('tears unsynced appends and lands or drops unsynced overwrites', async () => {
    const seen = new Set<string>()
    for (let seed = 0; seed < 200; seed++) {
      const fs = new MemoryFileSystem()
      const h = fileWith(fs, '/f', 'AAAAAAAA')
      await h.sync()
      h.write(b('bb'), 2)
      h.write(b('cccccccc'), 8)
      const report = fs.crash({ tornWrites: true, seed })
      assert.equal(report.seed, seed)
      const torn = report.tornFiles[0]!
      assert.equal(torn.path, '/f')
      const content = fs.readFile('/f').toString()
      const head = torn.overwritesLanded ? 'AAbbAAAA' : 'AAAAAAAA'
      assert.equal(content, head + 'c'.repeat(torn.keptAppendBytes), `seed ${seed}`)
      assert.equal(torn.keptAppendBytes + torn.lostAppendBytes, 8)
      seen.add(`${torn.overwritesLanded}:${torn.keptAppendBytes}`)
    }
    assert.ok(seen.size > 10, 'the outcomes vary with the seed')
  })

  it('reproduces torn crashes from a seed or a random function', async () => {
    const run = async (options: { seed?: number, random?: () => number }): Promise<[string, CrashReport]> => {
      const fs = new MemoryFileSystem()
      for (const name of ['a', 'b', 'c']) {
        const h = fileWith(fs, `/${name}`, 'xxxx')
        await h.sync()
        h.write(Buffer.alloc(100, name), 4)
      }
      const report = fs.crash({ tornWrites: true, ...options })
      return [['a', 'b', 'c'].map((n) => fs.readFile(`/${n}`).toString()).join('|'), report]
    }
    const [first, report] = await run({ seed: 42 })
    assert.equal((await run({ seed: 42 }))[0], first)
    assert.equal((await run({ random: mulberry32(42) }))[0], first)
    assert.deepEqual(report.tornFiles.map((t) => t.path), ['/a', '/b', '/c'])
    const drawn = (await run({}))[1]
    assert.equal(typeof drawn.seed, 'number')
  })

  it('refuses to crash without durability tracking', () => {
    const fs = new MemoryFileSystem({ trackDurability: false })
    const h = fileWith(fs, '/f', 'abc')
    assert.throws(() => fs.crash())
    h.close()
  })
})

describe('MemoryFileSystem: direct access helpers', () => {
  it('corrupts, flips, truncates and deletes on the disk itself', async () => {
    const fs = new MemoryFileSystem()
    const h = fileWith(fs, '/f', 'abcdef')
    await h.sync()
    h.write(b('gh'), 6)
    fs.corrupt('/f', 0, 0x41)
    fs.flipByte('/f', 7, 0x20)
    assert.deepEqual(fs.fileContent('/f'), b('AbcdefgH'))
    assert.deepEqual(fs.durableContent('/f'), b('Abcdef'))
    assert.throws(() => fs.corrupt('/f', 8, 0), RangeError)
    fs.truncateFile('/f', 4)
    assert.deepEqual(fs.fileContent('/f'), b('Abcd'))
    assert.deepEqual(fs.durableContent('/f'), b('Abcd'))
    fs.truncateFile('/f', 6)
    assert.deepEqual(fs.durableContent('/f'), b('Abcd\0\0'))
    fs.crash()
    assert.deepEqual(fs.readFile('/f'), b('Abcd\0\0'))
    fs.deleteFile('/f')
    fs.crash()
    assert.equal(fs.exists('/f'), false)
    assertFails(() => fs.fileContent('/f'), StorageErrorCode.NOT_FOUND)
    assertFails(() => fs.durableContent('/f'), StorageErrorCode.NOT_FOUND)
  })

  it('keeps unsynced data in the durable hull after a zero-extending truncateFile', async () => {
    const fs = new MemoryFileSystem()
    const h = fileWith(fs, '/f', 'ab')
    await h.sync()
    h.write(b('cdef'), 2)
    fs.truncateFile('/f', 8)
    await h.sync()
    assert.deepEqual(fs.durableContent('/f'), b('abcdef\0\0'))
  })
})

// --- property tests ---

const NAMES = ['a', 'b', 'd', 'd/a', 'd/b', 'd/e', 'd/e/a', 'a/x']
const pathIdx = fc.nat({ max: NAMES.length - 1 })
const bytes = (max: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a))
const position = fc.nat({ max: 48 })

type Op =
  | { kind: 'open', path: number, mode: 'read' | 'write' }
  | { kind: 'write', handle: number, position: number, data: Buffer }
  | { kind: 'writev', handle: number, position: number, chunks: Buffer[] }
  | { kind: 'read', handle: number, position: number, length: number }
  | { kind: 'truncate' | 'hsize' | 'sync' | 'close', handle: number, length: number }
  | { kind: 'size' | 'exists' | 'readFile' | 'unlink' | 'mkdir' | 'readdir' | 'rmdir' | 'syncDir', path: number }
  | { kind: 'rename', from: number, to: number }
  | { kind: 'writeFileAtomic', path: number, data: Buffer }

const handleIdx = fc.nat({ max: 7 })
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('open' as const), path: pathIdx, mode: fc.constantFrom('read' as const, 'write' as const) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('write' as const), handle: handleIdx, position, data: bytes(24) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('writev' as const), handle: handleIdx, position, chunks: fc.array(bytes(12), { maxLength: 4 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('read' as const), handle: handleIdx, position, length: fc.nat({ max: 40 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom('truncate' as const, 'hsize' as const, 'sync' as const, 'close' as const), handle: handleIdx, length: fc.nat({ max: 60 }) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constantFrom('size' as const, 'exists' as const, 'readFile' as const, 'unlink' as const, 'mkdir' as const, 'readdir' as const, 'rmdir' as const, 'syncDir' as const),
      path: pathIdx
    })
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('rename' as const), from: pathIdx, to: pathIdx }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('writeFileAtomic' as const), path: pathIdx, data: bytes(16) }) }
)

type Outcome = { ok: unknown } | { error: string, errno: string | undefined }

async function outcome (run: () => unknown): Promise<Outcome> {
  try {
    return { ok: await run() }
  } catch (error) {
    assert.ok(error instanceof StorageError, `not a StorageError: ${String(error)}`)
    const code = (error.cause as NodeJS.ErrnoException | undefined)?.code
    // Node reports a closed descriptor as ERR_OUT_OF_RANGE (fd -1), the memory one as EBADF.
    return { error: error.code, errno: code !== undefined && /^E[A-Z]+$/.test(code) && code !== 'EBADF' ? code : 'EBADF?' }
  }
}

interface Side {
  fs: FileSystem
  handles: FileHandle[]
}

/** Runs `op` on one side; returns a comparable result. `isDir` tells whether a path is a directory on disk. */
async function apply (side: Side, base: string, op: Op, isDir: (path: string) => boolean, handleIsDir: boolean[]): Promise<unknown> {
  const at = (i: number): string => join(base, NAMES[i]!)
  const fs = side.fs
  const handle = (i: number): FileHandle | undefined => side.handles[i % Math.max(1, side.handles.length)]
  switch (op.kind) {
    case 'open': return outcome(() => {
      side.handles.push(fs.open(at(op.path), op.mode))
      return true
    })
    case 'write': return outcome(() => handle(op.handle)?.write(op.data, op.position))
    case 'writev': return outcome(() => handle(op.handle)?.writev(op.chunks, op.position))
    case 'read': return outcome(() => {
      const h = handle(op.handle)
      if (h === undefined) return null
      const buf = Buffer.alloc(op.length)
      const n = h.read(buf, 0, op.length, op.position)
      return buf.subarray(0, n).toString('hex')
    })
    case 'truncate': return outcome(() => handle(op.handle)?.truncate(op.length))
    case 'hsize': return outcome(() => {
      const h = handle(op.handle)
      if (h === undefined) return null
      const size = h.size()
      return handleIsDir[op.handle % Math.max(1, side.handles.length)] === true ? 'dir' : size
    })
    case 'sync': return outcome(async () => handle(op.handle)?.sync())
    case 'close': return outcome(() => handle(op.handle)?.close())
    case 'size': return outcome(() => {
      const size = fs.size(at(op.path))
      return isDir(at(op.path)) ? 'dir' : size
    })
    case 'exists': return outcome(() => fs.exists(at(op.path)))
    case 'readFile': return outcome(() => fs.readFile(at(op.path)).toString('hex'))
    case 'unlink': return outcome(() => fs.unlink(at(op.path)))
    case 'mkdir': return outcome(() => fs.mkdir(at(op.path)))
    case 'readdir': return outcome(() => fs.readdir(at(op.path)))
    case 'rmdir': return outcome(() => fs.rmdir(at(op.path)))
    case 'syncDir': return outcome(async () => fs.syncDir(at(op.path)))
    case 'rename': return outcome(() => fs.rename(at(op.from), at(op.to)))
    case 'writeFileAtomic': return outcome(async () => fs.writeFileAtomic(at(op.path), op.data))
  }
}

function realTree (dir: string): Record<string, string | null> {
  const out: Record<string, string | null> = {}
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) {
      out[path] = null
      Object.assign(out, realTree(path))
    } else {
      out[path] = readFileSync(path).toString('hex')
    }
  }
  return out
}

function memoryTree (fs: MemoryFileSystem, dir: string): Record<string, string | null> {
  const out: Record<string, string | null> = {}
  for (const name of fs.readdir(dir)) {
    const path = join(dir, name)
    if (fs.list().includes(`${path}/`)) {
      out[path] = null
      Object.assign(out, memoryTree(fs, path))
    } else {
      out[path] = fs.readFile(path).toString('hex')
    }
  }
  return out
}

describe('MemoryFileSystem: property tests', () => {
  it('behaves like NodeFileSystem on random operation sequences', async () => {
    const root = mkdtempSync(join(tmpdir(), 'samsa-memfs-'))
    let run = 0
    try {
      await fc.assert(fc.asyncProperty(fc.array(opArb, { maxLength: 40 }), async (ops) => {
        const base = join(root, String(run++))
        const real: Side = { fs: new NodeFileSystem(), handles: [] }
        const memory = new MemoryFileSystem()
        const mem: Side = { fs: memory, handles: [] }
        real.fs.mkdir(base)
        mem.fs.mkdir(base)
        const realIsDir = (p: string): boolean => {
          try {
            return statSync(p).isDirectory()
          } catch {
            return false
          }
        }
        const handleIsDir: boolean[] = []
        try {
          for (const [i, op] of ops.entries()) {
            const want = await apply(real, base, op, realIsDir, handleIsDir)
            const got = await apply(mem, base, op, realIsDir, handleIsDir)
            assert.deepEqual(got, want, `op ${i}: ${JSON.stringify(op)}`)
            if (op.kind === 'open' && real.handles.length > handleIsDir.length) handleIsDir.push(realIsDir(join(base, NAMES[op.path]!)))
          }
          for (const h of [...real.handles, ...mem.handles]) h.close()
          assert.equal(memory.openHandleCount, 0)
          assert.deepEqual(memoryTree(memory, base), realTree(base))
        } finally {
          for (const h of real.handles) h.close()
          rmSync(base, { recursive: true, force: true })
        }
      }), { numRuns: Number(process.env.MEMFS_RUNS ?? 150) })
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })

  // A naive reference model of files for the crash properties: whole-buffer copies everywhere.
  interface ModelFile { cur: Buffer, dur: Buffer }
  const FILES = ['/data/a', '/data/b', '/data/sub/c', '/data/sub/d']
  const fileIdx = fc.nat({ max: FILES.length - 1 })
  type CrashOp =
    | { kind: 'open', path: number }
    | { kind: 'write', handle: number, position: number, data: Buffer }
    | { kind: 'writev', handle: number, position: number, chunks: Buffer[] }
    | { kind: 'truncate', handle: number, length: number }
    | { kind: 'sync' | 'close', handle: number }
    | { kind: 'rename', from: number, to: number }
    | { kind: 'unlink', path: number }
    | { kind: 'writeFileAtomic', path: number, data: Buffer }
    | { kind: 'crash', seed: number }
  const crashOpArb: fc.Arbitrary<CrashOp> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('open' as const), path: fileIdx }) },
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('write' as const), handle: handleIdx, position: fc.nat({ max: 40 }), data: bytes(20) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('writev' as const), handle: handleIdx, position: fc.nat({ max: 40 }), chunks: fc.array(bytes(8), { maxLength: 3 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), handle: handleIdx, length: fc.nat({ max: 40 }) }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constantFrom('sync' as const, 'close' as const), handle: handleIdx }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('rename' as const), from: fileIdx, to: fileIdx }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('unlink' as const), path: fileIdx }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('writeFileAtomic' as const), path: fileIdx, data: bytes(16) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), seed: fc.nat() }) }
  )

  function splice (buf: Buffer, position: number, data: Buffer): Buffer {
    if (data.length === 0) return buf
    const out = Buffer.alloc(Math.max(buf.length, position + data.length))
    buf.copy(out)
    data.copy(out, position)
    return out
  }

  function resize (buf: Buffer, length: number): Buffer {
    const out = Buffer.alloc(length)
    buf.copy(out, 0, 0, Math.min(length, buf.length))
    return out
  }

  /** Runs ops against the memory FS and the model; `onCrash` checks and settles each crash. */
  async function runCrashScenario (
    ops: CrashOp[],
    onCrash: (fs: MemoryFileSystem, names: Map<string, ModelFile>, seed: number) => void
  ): Promise<void> {
    const fs = new MemoryFileSystem()
    fs.mkdir('/data/sub')
    const names = new Map<string, ModelFile>()
    let handles: Array<{ h: FileHandle, file: ModelFile }> = []
    for (const op of ops) {
      const live = (i: number): { h: FileHandle, file: ModelFile } | undefined => handles[i % Math.max(1, handles.length)]
      switch (op.kind) {
        case 'open': {
          const path = FILES[op.path]!
          let file = names.get(path)
          if (file === undefined) {
            file = { cur: Buffer.alloc(0), dur: Buffer.alloc(0) }
            names.set(path, file)
          }
          handles.push({ h: fs.open(path, 'write'), file })
          break
        }
        case 'write': {
          const e = live(op.handle)
          if (e === undefined) break
          e.h.write(op.data, op.position)
          e.file.cur = splice(e.file.cur, op.position, op.data)
          break
        }
        case 'writev': {
          const e = live(op.handle)
          if (e === undefined) break
          e.h.writev(op.chunks, op.position)
          e.file.cur = splice(e.file.cur, op.position, Buffer.concat(op.chunks))
          break
        }
        case 'truncate': {
          const e = live(op.handle)
          if (e === undefined) break
          e.h.truncate(op.length)
          e.file.cur = resize(e.file.cur, op.length)
          break
        }
        case 'sync': {
          const e = live(op.handle)
          if (e === undefined) break
          await e.h.sync()
          e.file.dur = Buffer.from(e.file.cur)
          break
        }
        case 'close': {
          const index = op.handle % Math.max(1, handles.length)
          const e = handles[index]
          if (e === undefined) break
          e.h.close()
          handles = handles.filter((_, i) => i !== index)
          break
        }
        case 'rename': {
          const from = FILES[op.from]!
          const to = FILES[op.to]!
          const file = names.get(from)
          if (file === undefined) {
            assert.equal(errorOf(() => fs.rename(from, to)).code, StorageErrorCode.NOT_FOUND)
            break
          }
          fs.rename(from, to)
          names.delete(from)
          names.set(to, file)
          break
        }
        case 'unlink':
          fs.unlink(FILES[op.path]!)
          names.delete(FILES[op.path]!)
          break
        case 'writeFileAtomic': {
          const path = FILES[op.path]!
          await fs.writeFileAtomic(path, op.data)
          names.set(path, { cur: Buffer.from(op.data), dur: Buffer.from(op.data) })
          break
        }
        case 'crash':
          for (const [path, file] of names) {
            assert.deepEqual(fs.fileContent(path), file.cur, path)
            assert.deepEqual(fs.durableContent(path), file.dur, path)
          }
          onCrash(fs, names, op.seed)
          handles = []
          assert.equal(fs.openHandleCount, 0)
          break
      }
    }
  }

  it('keeps exactly the durable state across crashes without torn writes', async () => {
    await fc.assert(fc.asyncProperty(fc.array(crashOpArb, { maxLength: 60 }), async (ops) => {
      await runCrashScenario([...ops, { kind: 'crash', seed: 0 }], (fs, names) => {
        fs.crash()
        assert.deepEqual(fs.list().filter((p) => !p.endsWith('/')), [...names.keys()].sort())
        for (const [path, file] of names) {
          assert.deepEqual(fs.readFile(path), file.dur, path)
          file.cur = Buffer.from(file.dur)
        }
      })
    }), { numRuns: Number(process.env.MEMFS_RUNS ?? 300) })
  })

  it('keeps the durable state plus a torn prefix of each file\'s unsynced appends', async () => {
    await fc.assert(fc.asyncProperty(fc.array(crashOpArb, { maxLength: 60 }), async (ops) => {
      await runCrashScenario([...ops, { kind: 'crash', seed: 1 }], (fs, names, seed) => {
        const report = fs.crash({ tornWrites: true, seed })
        const torn = new Map(report.tornFiles.map((t) => [t.path, t]))
        assert.deepEqual(fs.list().filter((p) => !p.endsWith('/')), [...names.keys()].sort())
        for (const [path, file] of names) {
          const got = fs.readFile(path)
          const t = torn.get(path)
          let want = file.dur
          if (t !== undefined) {
            const { cur, dur } = file
            const base = t.overwritesLanded ? cur.subarray(0, cur.length < dur.length ? cur.length : dur.length) : dur
            want = Buffer.concat([base, cur.length > dur.length ? cur.subarray(dur.length, dur.length + t.keptAppendBytes) : Buffer.alloc(0)])
            assert.equal(t.keptAppendBytes + t.lostAppendBytes, Math.max(0, cur.length - dur.length))
          } else {
            assert.deepEqual(file.cur, file.dur, `${path} had unsynced changes but was not reported`)
          }
          assert.deepEqual(got, want, `${path} (seed ${seed})`)
          file.cur = Buffer.from(got)
          file.dur = Buffer.from(got)
        }
      })
    }), { numRuns: 300 })
  })

  type DirOp =
    | { kind: 'create' | 'unlink' | 'mkdir' | 'rmdir' | 'syncDir', path: number }
    | { kind: 'rename', from: number, to: number }
  const DIR_NAMES = ['/r/a', '/r/b', '/r/s', '/r/s/a', '/r/s/t', '/r/t', '/r/t/a', '/r/t/b']
  const dirPath = fc.nat({ max: DIR_NAMES.length - 1 })
  const dirOpArb: fc.Arbitrary<DirOp> = fc.oneof(
    fc.record({ kind: fc.constantFrom('create' as const, 'unlink' as const, 'mkdir' as const, 'rmdir' as const, 'syncDir' as const), path: dirPath }),
    fc.record({ kind: fc.constant('rename' as const), from: dirPath, to: dirPath })
  )

  async function runDirOps (fs: MemoryFileSystem, ops: DirOp[]): Promise<void> {
    for (const op of ops) {
      await outcome(async () => {
        switch (op.kind) {
          case 'create': {
            const h = fs.open(DIR_NAMES[op.path]!, 'write')
            h.write(b(DIR_NAMES[op.path]!), 0)
            await h.sync()
            h.close()
            return
          }
          case 'unlink': return fs.unlink(DIR_NAMES[op.path]!)
          case 'mkdir': return fs.mkdir(DIR_NAMES[op.path]!)
          case 'rmdir': return fs.rmdir(DIR_NAMES[op.path]!)
          case 'syncDir': return fs.syncDir(DIR_NAMES[op.path]!)
          case 'rename': return fs.rename(DIR_NAMES[op.from]!, DIR_NAMES[op.to]!)
        }
      })
    }
  }

  it('restores the durable namespace in strict mode, and all of it once every directory is synced', async () => {
    await fc.assert(fc.asyncProperty(fc.array(dirOpArb, { maxLength: 40 }), fc.boolean(), async (ops, syncAll) => {
      const fs = new MemoryFileSystem({ strictDirectories: true })
      fs.mkdir('/r')
      await fs.syncDir('/')
      await runDirOps(fs, ops)
      const current = fs.list()
      if (syncAll) {
        for (const path of current.filter((p) => p.endsWith('/'))) await fs.syncDir(path)
        await fs.syncDir('/')
      }
      const durable = fs.list({ durable: true })
      const contents = new Map(durable.filter((p) => !p.endsWith('/')).map((p) => [p, fs.durableContent(p)]))
      fs.crash()
      assert.deepEqual(fs.list(), durable)
      if (syncAll) assert.deepEqual(fs.list(), current)
      for (const [path, content] of contents) assert.deepEqual(fs.readFile(path), content, path)
    }), { numRuns: 300 })
  })

  it('loses every unsynced directory change in strict mode', async () => {
    await fc.assert(fc.asyncProperty(fc.array(dirOpArb, { maxLength: 40 }), async (ops) => {
      const fs = new MemoryFileSystem({ strictDirectories: true })
      fs.mkdir('/r')
      await fs.syncDir('/')
      await runDirOps(fs, ops.filter((op) => op.kind !== 'syncDir'))
      fs.crash()
      assert.deepEqual(fs.list(), ['/r/'])
    }), { numRuns: 200 })
  })
})
