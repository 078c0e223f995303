import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { CLEAN_SHUTDOWN_FILE, LogManager, MemoryFileSystem, NodeFileSystem, StorageErrorCode, logConfig, parsePartitionDir, type FileSystem } from '../src/mod.ts'
import { assertStorageError, batch, manualClock, T0, tempDir, values } from './helpers.ts'

const DATA = '/data'

async function fill (manager: LogManager, partitions: Array<[string, number]>, records: number): Promise<void> {
  for (const [topic, p] of partitions) {
    const log = manager.getOrCreateLog(topic, p)
    for (let i = 0; i < records; i++) log.appendAsLeader(batch([`${topic}/${p}/${i}`]), 0)
  }
  await Promise.resolve()
}

const expectedValues = (topic: string, p: number, n: number): string[] => Array.from({ length: n }, (_, i) => `${topic}/${p}/${i}`)

describe('parsePartitionDir', () => {
  it('splits at the last dash; topics may contain dashes', () => {
    assert.deepEqual(parsePartitionDir('orders-0'), { topic: 'orders', partition: 0 })
    assert.deepEqual(parsePartitionDir('my-topic-12'), { topic: 'my-topic', partition: 12 })
    assert.equal(parsePartitionDir('orders'), undefined)
    assert.equal(parsePartitionDir('orders-x'), undefined)
    assert.equal(parsePartitionDir('orders-0.3f2a-delete'), undefined)
  })
})

describe('LogManager', () => {
  it('loads many partitions after a clean shutdown without recovering them', async () => {
    const fs = new MemoryFileSystem()
    const partitions: Array<[string, number]> = []
    for (const topic of ['a', 'with-dash', 'x.y_z']) for (let p = 0; p < 20; p++) partitions.push([topic, p])
    let manager = await LogManager.open({ dataDir: DATA, fs })
    assert.equal(manager.loadReport.logs, 0)
    await fill(manager, partitions, 5)
    await manager.close()
    assert.equal(fs.exists(join(DATA, CLEAN_SHUTDOWN_FILE)), true)
    manager = await LogManager.open({ dataDir: DATA, fs })
    assert.equal(manager.size, 60)
    assert.equal(manager.loadReport.clean, true)
    assert.equal(manager.loadReport.recovered.recoveredSegments, 0)
    assert.equal(fs.exists(join(DATA, CLEAN_SHUTDOWN_FILE)), false, 'the marker goes once the logs are loaded')
    for (const [topic, p] of partitions) {
      const log = manager.getLog(topic, p)!
      assert.equal(log.logEndOffset, 5)
      assert.equal(log.recoveryPoint, 5)
      assert.deepEqual(values(log), expectedValues(topic, p, 5))
    }
    assert.equal(manager.getLog('a', 99), undefined)
    await manager.close()
  })

  it('recovers past the recovery point after an unclean shutdown', async () => {
    const fs = new MemoryFileSystem()
    const config = logConfig({ 'segment.bytes': 300 })
    let manager = await LogManager.open({ dataDir: DATA, fs, configFor: () => config })
    const log = manager.getOrCreateLog('t', 0)
    for (let i = 0; i < 20; i++) log.appendAsLeader(batch([`v${i}`], { valueSize: 40 }), 0)
    await log.flush()
    await manager.checkpoint()
    const flushedSegments = log.segments.length
    for (let i = 20; i < 25; i++) log.appendAsLeader(batch([`v${i}`], { valueSize: 40 }), 0)
    const total = log.segments.length
    assert.ok(total > flushedSegments)
    // No close: the process dies (the page cache survives, so no crash() here).
    manager = await LogManager.open({ dataDir: DATA, fs, configFor: () => config })
    assert.equal(manager.loadReport.clean, false)
    const again = manager.getLog('t', 0)!
    assert.equal(again.logEndOffset, 25)
    // Segments wholly below the recovery point (20) are not validated.
    const expectedRecovered = again.segments.filter((_s, i) => (again.segments[i + 1]?.baseOffset ?? Infinity) > 20).length
    assert.equal(manager.loadReport.recovered.recoveredSegments, expectedRecovered)
    assert.ok(expectedRecovered < total)
    assert.equal(again.recoveryPoint, 20)
    assert.deepEqual(values(again), Array.from({ length: 25 }, (_, i) => `v${i}`.padEnd(40, '.')))
    await manager.close()
  })

  it('recovers every segment of a log missing from the checkpoint', async () => {
    const fs = new MemoryFileSystem()
    const config = logConfig({ 'segment.bytes': 300 })
    let manager = await LogManager.open({ dataDir: DATA, fs, configFor: () => config })
    const log = manager.getOrCreateLog('t', 0)
    for (let i = 0; i < 20; i++) log.appendAsLeader(batch([`v${i}`], { valueSize: 40 }), 0)
    manager = await LogManager.open({ dataDir: DATA, fs, configFor: () => config })
    assert.equal(manager.loadReport.recovered.recoveredSegments, manager.getLog('t', 0)!.segments.length)
    await manager.close()
  })

  it('writes the recovery-point and log-start-offset checkpoints, on close too (regression: close wrote them empty)', async () => {
    const fs = new MemoryFileSystem()
    const manager = await LogManager.open({ dataDir: DATA, fs })
    await fill(manager, [['t', 0], ['t', 1], ['u-v', 0]], 4)
    const log = manager.getLog('t', 1)!
    log.highWatermark = 4
    log.deleteRecordsBefore(2)
    await manager.getLog('t', 0)!.flush()
    await manager.checkpoint()
    assert.equal(fs.readFile(join(DATA, 'recovery-point-offset-checkpoint')).toString(), '0\n3\nt 0 4\nt 1 0\nu-v 0 0\n')
    await manager.close()
    const rp = fs.readFile(join(DATA, 'recovery-point-offset-checkpoint')).toString().split('\n')
    const ls = fs.readFile(join(DATA, 'log-start-offset-checkpoint')).toString().split('\n')
    assert.deepEqual(rp.slice(0, 2), ['0', '3'])
    assert.deepEqual(rp.slice(2, 5).sort(), ['t 0 4', 't 1 4', 'u-v 0 4'])
    assert.deepEqual(ls.slice(2, 5).sort(), ['t 0 0', 't 1 2', 'u-v 0 0'])
    const again = await LogManager.open({ dataDir: DATA, fs })
    assert.equal(again.getLog('t', 1)!.logStartOffset, 2)
    await again.close()
  })

  it('runs checkpoints one at a time (regression: concurrent writes shared one temporary file)', async () => {
    const fs = new MemoryFileSystem()
    const manager = await LogManager.open({ dataDir: DATA, fs })
    manager.getOrCreateLog('t', 0)
    await Promise.all([manager.checkpoint(), manager.checkpoint(), manager.checkpoint()])
    fs.failNext('rename', 'EIO')
    const results = await Promise.allSettled([manager.checkpoint(), manager.checkpoint()])
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'fulfilled'])
    await manager.close()
  })

  it('creates a log once and refuses use after close', async () => {
    const fs = new MemoryFileSystem()
    const manager = await LogManager.open({ dataDir: DATA, fs })
    const log = manager.getOrCreateLog('t', 0, logConfig({ 'segment.bytes': 1234 }))
    assert.equal(manager.getOrCreateLog('t', 0), log)
    assert.equal(log.config['segment.bytes'], 1234)
    assert.deepEqual([...manager.logs()], [log])
    await manager.close()
    await manager.close()
    assertStorageError(() => manager.getOrCreateLog('t', 1), StorageErrorCode.CLOSED)
  })

  it('deletes a topic partition and its files', async () => {
    const fs = new MemoryFileSystem()
    const manager = await LogManager.open({ dataDir: DATA, fs })
    await fill(manager, [['t', 0], ['t', 1]], 3)
    assert.equal(await manager.deleteLog('t', 0), true)
    assert.equal(await manager.deleteLog('t', 0), false)
    assert.equal(manager.getLog('t', 0), undefined)
    assert.equal(fs.list().some((p) => p.startsWith('/data/t-0')), false)
    await manager.close()
    assert.equal(fs.readFile(join(DATA, 'recovery-point-offset-checkpoint')).toString().includes('t 0'), false)
    const again = await LogManager.open({ dataDir: DATA, fs })
    assert.equal(again.size, 1)
    const fresh = again.getOrCreateLog('t', 0)
    assert.equal(fresh.logEndOffset, 0, 'a recreated partition starts empty')
    await again.close()
  })

  it('a partition recreated right after deletion gets none of the old one\'s checkpoint writes', async () => {
    const fs = new MemoryFileSystem()
    const manager = await LogManager.open({ dataDir: DATA, fs })
    const log = manager.getOrCreateLog('t', 0)
    for (let epoch = 5; epoch < 11; epoch++) log.appendAsLeader(batch(['a']), epoch) // checkpoint writes queue up
    await manager.deleteLog('t', 0)
    const fresh = manager.getOrCreateLog('t', 0)
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(fresh.leaderEpochCache.entries, [])
    assert.equal(fs.exists(join(DATA, 't-0', 'leader-epoch-checkpoint')), false)
    await manager.close()
  })

  it('finishes a deletion interrupted by a crash (the -delete directory)', async () => {
    const fs = new MemoryFileSystem({ strictDirectories: true })
    fs.mkdir(DATA)
    await fs.syncDir('/')
    const manager = await LogManager.open({ dataDir: DATA, fs })
    await fill(manager, [['t', 0], ['t', 1]], 3)
    await manager.getLog('t', 0)!.flush()
    await manager.checkpoint()
    fs.failNext('rmdir', 'EIO')
    await assert.rejects(manager.deleteLog('t', 0), { code: StorageErrorCode.IO })
    const leftover = fs.readdir(DATA).filter((n) => n.endsWith('-delete'))
    assert.equal(leftover.length, 1)
    fs.crash({ tornWrites: true, seed: 3 })
    assert.deepEqual(fs.readdir(DATA).filter((n) => n.startsWith('t-0')), leftover, 'the rename was durable')
    const again = await LogManager.open({ dataDir: DATA, fs })
    assert.equal(again.getLog('t', 0), undefined)
    assert.ok(again.getLog('t', 1) !== undefined)
    assert.deepEqual(fs.readdir(DATA).filter((n) => n.startsWith('t-0')), [])
    await again.close()
  })

  it('runs retention, flushDue and checkpoints in the background and reports failures', async () => {
    const fs = new MemoryFileSystem()
    const clock = manualClock(T0)
    const errors: string[] = []
    const manager = await LogManager.open({
      dataDir: DATA,
      fs,
      clock: clock.now,
      configFor: () => logConfig({ 'segment.bytes': 150, 'retention.ms': 1000, 'flush.ms': 10 }),
      flushCheckIntervalMs: 5,
      retentionCheckIntervalMs: 5,
      checkpointIntervalMs: 5,
      onError: (error, context) => errors.push(`${context}: ${String(error)}`)
    })
    const log = manager.getOrCreateLog('t', 0)
    for (let i = 0; i < 6; i++) log.appendAsLeader(batch([`v${i}`], { timestamp: T0 + i, valueSize: 60 }), 0)
    log.highWatermark = log.logEndOffset
    const segments = log.segments.length
    assert.ok(segments > 2)
    clock.advance(5000)
    manager.startBackgroundTasks()
    const deadline = Date.now() + 5000
    while ((log.segments.length > 1 || log.recoveryPoint < 6) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
    assert.equal(log.segments.length, 1)
    assert.equal(log.recoveryPoint, 6)
    assert.equal(log.logStartOffset, log.activeSegment.baseOffset)
    fs.failNext('rename', 'EIO', { path: /offset-checkpoint/ })
    const until = Date.now() + 5000
    while (errors.length === 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 5))
    assert.match(errors[0] ?? '', /^checkpoint: /)
    await manager.close()
    assert.equal(manager.runRetention(), 0)
  })

  it('reports a retention failure of one log and carries on with the others', async () => {
    const fs = new MemoryFileSystem()
    const errors: string[] = []
    const manager = await LogManager.open({
      dataDir: DATA, fs, clock: () => T0 + 1e9, configFor: () => logConfig({ 'segment.bytes': 100, 'retention.ms': 1 }), onError: (_e, context) => errors.push(context)
    })
    await fill(manager, [['a', 0], ['b', 0]], 4)
    for (const log of manager.logs()) log.highWatermark = log.logEndOffset
    fs.failNext('rename', 'EIO', { path: /\/a-0\// })
    const deleted = manager.runRetention()
    assert.ok(deleted >= 1)
    assert.deepEqual(errors, ['retention of a-0'])
    await manager.close()
  })

  it('a failed close leaves no clean-shutdown marker', async () => {
    const fs = new MemoryFileSystem()
    const manager = await LogManager.open({ dataDir: DATA, fs })
    await fill(manager, [['t', 0]], 2)
    fs.failNext('sync', 'EIO', { path: /\.log$/ })
    await assert.rejects(manager.close(), { code: StorageErrorCode.IO })
    assert.equal(fs.exists(join(DATA, CLEAN_SHUTDOWN_FILE)), false)
    const again = await LogManager.open({ dataDir: DATA, fs })
    assert.equal(again.loadReport.clean, false)
    assert.deepEqual(values(again.getLog('t', 0)!), expectedValues('t', 0, 2))
    await again.close()
  })

  it('refuses a malformed checkpoint file', async () => {
    const fs = new MemoryFileSystem()
    fs.mkdir(DATA)
    fs.open(join(DATA, 'recovery-point-offset-checkpoint'), 'write').write(Buffer.from('garbage\n'), 0)
    await assert.rejects(LogManager.open({ dataDir: DATA, fs }), { code: StorageErrorCode.CORRUPT })
  })

  it('ignores files and foreign directories in the data directory', async () => {
    const fs = new MemoryFileSystem()
    fs.mkdir(join(DATA, 'lost+found'))
    fs.open(join(DATA, 'notes-1'), 'write').close()
    const manager = await LogManager.open({ dataDir: DATA, fs })
    assert.equal(manager.size, 0)
    await manager.close()
  })

  it('works on the real file system', async (t) => {
    const dir = tempDir(t)
    const fs: FileSystem = new NodeFileSystem()
    let manager = await LogManager.open({ dataDir: dir, fs })
    await fill(manager, [['orders', 0], ['orders', 1]], 10)
    await manager.deleteLog('orders', 1)
    await manager.close()
    assert.equal(existsSync(join(dir, CLEAN_SHUTDOWN_FILE)), true)
    const names = readdirSync(dir)
    for (const name of [CLEAN_SHUTDOWN_FILE, 'log-start-offset-checkpoint', 'orders-0', 'recovery-point-offset-checkpoint']) assert.ok(names.includes(name), name)
    assert.deepEqual(names.filter((n) => n.startsWith('orders-1')), [], 'the deleted partition is gone')
    assert.equal(readFileSync(join(dir, 'recovery-point-offset-checkpoint'), 'utf8'), '0\n1\norders 0 10\n')
    manager = await LogManager.open({ dataDir: dir, fs })
    assert.equal(manager.loadReport.clean, true)
    assert.deepEqual(values(manager.getLog('orders', 0)!), expectedValues('orders', 0, 10))
    await manager.close()
  })
})
