/**
 * 10,000 partitions open at once: create, append, read, restart. On the real file system the
 * restart is the unclean kind (a clean close fsyncs every segment, tens of thousands of
 * fsyncs that measure the disk rather than the code), and appends carry no leader epoch, which
 * would write (and fsync) a leader-epoch-checkpoint per partition.
 */
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { describe, it } from 'node:test'
import { LogManager, MemoryFileSystem, NodeFileSystem, type FileSystem } from '../src/mod.ts'
import { batch, decodeAll, tempDir } from './helpers.ts'

const PARTITIONS = 10_000
const TOPICS = 100

function topicOf (i: number): [string, number] {
  return [`topic-${i % TOPICS}`, Math.floor(i / TOPICS)]
}

function appendAndRead (manager: LogManager, epoch: number): void {
  for (let i = 0; i < PARTITIONS; i++) {
    const [topic, p] = topicOf(i)
    const log = manager.getOrCreateLog(topic, p)
    log.appendAsLeader(batch([`${topic}/${p}/a`, `${topic}/${p}/b`]), epoch)
    log.appendAsLeader(batch([`${topic}/${p}/c`]), epoch)
    log.highWatermark = log.logEndOffset
  }
  assert.equal(manager.size, PARTITIONS)
  for (let i = 0; i < PARTITIONS; i += 7) {
    const [topic, p] = topicOf(i)
    const records = decodeAll(manager.getLog(topic, p)!.read(1, { maxBytes: 1 << 20 }).records)
    assert.deepEqual(records.map((r) => r.value), [`${topic}/${p}/a`, `${topic}/${p}/b`, `${topic}/${p}/c`])
  }
}

function checkLoaded (manager: LogManager): void {
  assert.equal(manager.size, PARTITIONS)
  for (let i = 0; i < PARTITIONS; i += 13) {
    const [topic, p] = topicOf(i)
    const log = manager.getLog(topic, p)!
    assert.equal(log.logEndOffset, 3)
    log.highWatermark = 3
    assert.deepEqual(decodeAll(log.read(2, { maxBytes: 100 }).records).map((r) => r.value), [`${topic}/${p}/c`])
  }
}

describe('10,000 partitions', () => {
  it('open, append, read, close and reopen on a MemoryFileSystem', async () => {
    const fs = new MemoryFileSystem()
    let manager = await LogManager.open({ dataDir: '/data', fs, maxOpenFiles: 1024, cleanerEnable: false })
    appendAndRead(manager, 0)
    assert.ok(fs.openHandleCount <= 1024)
    await manager.close()
    assert.equal(fs.openHandleCount, 0)
    manager = await LogManager.open({ dataDir: '/data', fs, maxOpenFiles: 1024, cleanerEnable: false })
    assert.equal(manager.loadReport.clean, true)
    checkLoaded(manager)
    manager.pool.closeAll()
  })

  it('open, append, read and recover on the real file system', async (t) => {
    const dir = tempDir(t)
    const fs: FileSystem = new NodeFileSystem()
    const first = await LogManager.open({ dataDir: dir, fs, maxOpenFiles: 1024, cleanerEnable: false })
    appendAndRead(first, -1)
    assert.ok(first.pool.size <= 1024)
    assert.equal(readdirSync(dir).filter((n) => n.startsWith('topic-')).length, PARTITIONS)
    // The process "dies": its descriptors go, nothing is flushed or checkpointed.
    first.pool.closeAll()
    const second = await LogManager.open({ dataDir: dir, fs, maxOpenFiles: 1024, cleanerEnable: false })
    assert.equal(second.loadReport.clean, false)
    assert.equal(second.loadReport.recovered.recoveredSegments, PARTITIONS)
    assert.equal(second.loadReport.recovered.truncatedBytes, 0)
    checkLoaded(second)
    second.pool.closeAll()
  })
})
