import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CompressionType, ControlRecordType, TimestampType, buildRecordBatch } from '@samsa/protocol'
import { StorageError, StorageErrorCode } from '../src/errors.ts'
import type { FileHandle, FileSystem, OpenMode } from '../src/file-system.ts'
import { LogManager } from '../src/log-manager.ts'
import { type LogConfig, logConfig } from '../src/log-config.ts'
import type { LogSegment } from '../src/log-segment.ts'
import { MemoryFileSystem } from '../src/memory-file-system.ts'
import { OffsetMap } from '../src/offset-map.ts'
import { recoverSwaps } from '../src/segment-swap.ts'
import {
  COMPACT_CONFIG, DATA_DIR, Harness, LOG_DIR, type ReadRecord, assertOffsetsPreserved, latestPerKey, nextTick
} from './log-cleaner-fixtures.ts'

const v = (r: ReadRecord): { offset: number, key: string | null, value: string | null, timestamp: number } =>
  ({ offset: r.offset, key: r.key, value: r.value, timestamp: r.timestamp })

/** Appends `batches` batches of `perBatch` records over `keys` keys, rolling every `rollEvery` batches. */
function fill (h: Harness, batches: number, options: { keys?: number, perBatch?: number, rollEvery?: number, prefix?: string } = {}): void {
  const keys = options.keys ?? 5
  const perBatch = options.perBatch ?? 3
  let n = 0
  for (let b = 0; b < batches; b++) {
    const records = []
    for (let i = 0; i < perBatch; i++, n++) records.push({ key: `k${n % keys}`, value: `${options.prefix ?? 'v'}${n}` })
    h.append(records)
    if (options.rollEvery !== undefined && (b + 1) % options.rollEvery === 0) h.roll()
  }
}

/** Below `end`, each key appears at most once, at its latest offset below `end`. */
function assertCompactedBelow (read: readonly ReadRecord[], h: Harness, end: number): void {
  const latest = new Map<string, number>()
  for (const m of h.model) if (m.key !== null && m.offset < end && m.aborted !== true) latest.set(m.key, m.offset)
  const seen = new Set<string>()
  for (const r of read) {
    if (r.offset >= end) continue
    assert.ok(r.key !== null, `a null key survived at ${r.offset}`)
    assert.ok(!seen.has(r.key), `key ${r.key} twice below ${end}`)
    seen.add(r.key)
    assert.equal(r.offset, latest.get(r.key), `key ${r.key} kept at ${r.offset}, not its latest`)
  }
}

function listDir (fs: FileSystem): string[] {
  return fs.readdir(LOG_DIR)
}

function assertSegmentsConsistent (segments: readonly LogSegment[]): void {
  for (let i = 1; i < segments.length; i++) {
    assert.ok(segments[i - 1]!.nextOffset <= segments[i]!.baseOffset,
      `segment ${segments[i - 1]!.baseOffset} ends at ${segments[i - 1]!.nextOffset}, past ${segments[i]!.baseOffset}`)
  }
}

describe('LogCleaner: compaction', () => {
  it('keeps the latest record per key with its original offset, merges segments and checkpoints', async () => {
    const h = new Harness({ config: { 'segment.bytes': 4096 } })
    fill(h, 40, { rollEvery: 4 })
    h.roll()
    const before = h.readAll()
    const segmentsBefore = h.log.segments.length
    const result = await h.cleaner.runOnce()
    assert.ok(result !== undefined)
    assert.equal(result.outcome, 'cleaned')
    assert.equal(result.endOffset, h.log.activeSegment.baseOffset)
    const after = h.readAll()
    assertOffsetsPreserved(after, h.model)
    assert.deepEqual(latestPerKey(after), latestPerKey(before))
    assertCompactedBelow(after, h, result.endOffset)
    assert.equal(after.length, 5)
    assert.ok(h.log.segments.length < segmentsBefore, `${h.log.segments.length} segments, was ${segmentsBefore}`)
    assertSegmentsConsistent(h.log.segments)
    assert.match(h.fs.readFile(`${DATA_DIR}/cleaner-offset-checkpoint`).toString(), new RegExp(`^0\n1\nt 0 ${result.endOffset}\n$`))
    assert.deepEqual(listDir(h.fs).filter((n) => n.endsWith('.cleaned') || n.endsWith('.swap')), [])
    // Nothing dirty is left: no second pass.
    assert.equal(await h.cleaner.runOnce(), undefined)
    await h.reopen()
    assert.deepEqual(h.readAll().map(v), after.map(v))
    assert.equal(h.cleaner.checkpointedOffset(h.log), result.endOffset)
  })

  it('never touches the active segment', async () => {
    const h = new Harness({ config: { 'segment.bytes': 1 << 20 } })
    fill(h, 10)
    assert.equal(h.log.segments.length, 1)
    assert.equal(h.cleaner.cleanableState(h.log).cleanableBytes, 0)
    assert.equal(await h.cleaner.runOnce(), undefined)
    assert.equal(h.readAll().length, 30)
  })

  it('cleans again only what became dirty, and reads back the same after several passes', async () => {
    const h = new Harness()
    for (let round = 0; round < 4; round++) {
      fill(h, 12, { keys: 7, rollEvery: 3, prefix: `r${round}-` })
      h.roll()
      const result = await h.cleaner.runOnce()
      assert.equal(result?.outcome, 'cleaned')
      assert.ok(result.firstDirtyOffset > 0 || round === 0)
      const read = h.readAll()
      assertOffsetsPreserved(read, h.model)
      assert.deepEqual(latestPerKey(read), latestPerKey(h.model))
      assertCompactedBelow(read, h, result.endOffset)
    }
  })

  it('honours min.cleanable.dirty.ratio', async () => {
    const h = new Harness({ config: { 'min.cleanable.dirty.ratio': 0.5 } })
    fill(h, 30, { keys: 30, perBatch: 2, rollEvery: 3 })
    h.roll()
    assert.equal((await h.cleaner.runOnce())?.outcome, 'cleaned')
    // A little dirty data after a lot of clean data: below the ratio.
    fill(h, 2, { keys: 2 })
    h.roll()
    const state = h.cleaner.cleanableState(h.log)
    assert.ok(state.cleanableBytes > 0)
    assert.ok(state.cleanableRatio < 0.5, `ratio ${state.cleanableRatio}`)
    const segments = [...h.log.segments]
    assert.equal(await h.cleaner.runOnce(), undefined)
    assert.deepEqual([...h.log.segments], segments)
    // Lower the bar: now it qualifies.
    h.log.config = logConfig({ ...h.config, 'min.cleanable.dirty.ratio': state.cleanableRatio / 2 })
    assert.equal((await h.cleaner.runOnce())?.outcome, 'cleaned')
  })

  it('honours min.compaction.lag.ms', async () => {
    const h = new Harness({ config: { 'min.compaction.lag.ms': 60_000 } })
    fill(h, 12, { rollEvery: 3 })
    h.roll()
    const state = h.cleaner.cleanableState(h.log)
    assert.equal(state.firstUncleanableOffset, 0)
    assert.equal(state.cleanableBytes, 0)
    assert.equal(await h.cleaner.runOnce(), undefined)
    // The older segments age past the lag; the newest does not.
    h.now += 30_000
    fill(h, 3)
    h.roll()
    h.now += 30_001
    const aged = h.cleaner.cleanableState(h.log)
    const young = h.log.segments.at(-2)!
    assert.equal(aged.firstUncleanableOffset, young.baseOffset)
    const result = await h.cleaner.runOnce()
    assert.equal(result?.outcome, 'cleaned')
    assert.equal(result.endOffset, young.baseOffset)
    assert.ok(h.log.segments.includes(young), 'the young segment was rewritten')
  })

  it('cleans below the ratio when max.compaction.lag.ms has passed', async () => {
    const h = new Harness({ config: { 'min.cleanable.dirty.ratio': 0.99, 'max.compaction.lag.ms': 10_000 } })
    fill(h, 30, { keys: 30, perBatch: 2, rollEvery: 3 })
    h.roll()
    await h.cleaner.cleanLog(h.log)
    fill(h, 2, { keys: 2 })
    h.roll()
    assert.equal(await h.cleaner.runOnce(), undefined)
    h.now += 10_001
    assert.equal(h.cleaner.cleanableState(h.log).needCompactionNow, true)
    assert.equal((await h.cleaner.runOnce())?.outcome, 'cleaned')
  })

  it('never cleans at or past the last stable offset or the high watermark', async () => {
    for (const bound of ['lso', 'hw'] as const) {
      const h = new Harness()
      fill(h, 24, { keys: 3, rollEvery: 3 })
      h.roll()
      const segments = [...h.log.segments]
      const holder = segments[4]!
      const limit = holder.baseOffset + 2
      if (bound === 'lso') h.log.lastStableOffset = limit
      else h.log.highWatermark = limit
      const before = h.readAll()
      const result = await h.cleaner.runOnce()
      assert.equal(result?.outcome, 'cleaned')
      assert.equal(result.endOffset, holder.baseOffset)
      // The segment holding the bound and every later one are the same objects, untouched.
      for (const s of segments.slice(4)) assert.ok(h.log.segments.includes(s), `segment ${s.baseOffset} was rewritten`)
      const after = h.readAll()
      assert.deepEqual(after.filter((r) => r.offset >= holder.baseOffset).map(v), before.filter((r) => r.offset >= holder.baseOffset).map(v))
      assertCompactedBelow(after, h, holder.baseOffset)
    }
  })

  it('drops records without a key from the cleaned range', async () => {
    const h = new Harness()
    h.append([{ key: null, value: 'orphan' }, { key: 'a', value: '1' }])
    h.roll()
    h.append([{ key: 'b', value: '2' }])
    h.roll()
    await h.cleaner.runOnce()
    assert.deepEqual(h.readAll().map((r) => r.key), ['a', 'b'])
  })

  it('recompresses with the batch codec and keeps LogAppendTime timestamps', async () => {
    const h = new Harness({ config: { 'message.timestamp.type': 'LogAppendTime' } })
    const codecs = [CompressionType.gzip, CompressionType.snappy, CompressionType.lz4, CompressionType.zstd, CompressionType.none]
    for (const [i, compression] of codecs.entries()) {
      h.append([{ key: 'same', value: `s${i}` }, { key: `own${i}`, value: `o${i}` }], { compression })
      h.now += 1000
    }
    h.roll()
    const before = h.readAll()
    await h.cleaner.runOnce()
    const after = h.readAll()
    assert.deepEqual(after.map((r) => r.key), ['own0', 'own1', 'own2', 'own3', 'same', 'own4'])
    for (const r of after) {
      const original = before.find((b) => b.offset === r.offset)!
      assert.equal(r.header.compression, original.header.compression)
      assert.equal(r.header.timestampType, TimestampType.LogAppendTime)
      assert.equal(r.header.maxTimestamp, original.header.maxTimestamp)
      assert.equal(r.value, original.value)
    }
  })
})

describe('LogCleaner: tombstones', () => {
  it('keeps a tombstone until delete.retention.ms after its first cleaning (KIP-534 delete horizon)', async () => {
    const h = new Harness({ config: { 'delete.retention.ms': 10_000 } })
    h.append([{ key: 'k1', value: 'v1', timestamp: h.now - 5 }, { key: 'k2', value: 'v2' }])
    h.roll()
    h.append([{ key: 'k1', value: null, timestamp: h.now - 3 }])
    h.roll()
    const cleanedAt = h.now
    assert.equal((await h.cleaner.runOnce())?.outcome, 'cleaned')
    let read = h.readAll()
    assert.deepEqual(read.map((r) => [r.key, r.value]), [['k2', 'v2'], ['k1', null]])
    const tombstone = read[1]!
    assert.equal(tombstone.header.hasDeleteHorizonMs, true)
    assert.equal(tombstone.header.baseTimestamp, cleanedAt + 10_000)
    assertOffsetsPreserved(read, h.model)
    // Before the horizon: nothing to do.
    h.now = cleanedAt + 9_999
    assert.equal(h.cleaner.cleanableState(h.log).deleteHorizonDue, false)
    assert.equal(await h.cleaner.runOnce(), undefined)
    assert.equal(h.readAll().length, 2)
    // At the horizon the log qualifies without new dirty data, and the tombstone goes.
    h.now = cleanedAt + 10_000
    assert.equal(h.cleaner.cleanableState(h.log).deleteHorizonDue, true)
    assert.equal((await h.cleaner.runOnce())?.outcome, 'cleaned')
    read = h.readAll()
    assert.deepEqual(read.map((r) => [r.key, r.value]), [['k2', 'v2']])
    assert.equal(await h.cleaner.runOnce(), undefined)
  })

  it('drops a tombstone superseded by a later value at once', async () => {
    const h = new Harness()
    h.append([{ key: 'k', value: 'a' }])
    h.append([{ key: 'k', value: null }])
    h.append([{ key: 'k', value: 'b' }])
    h.roll()
    await h.cleaner.runOnce()
    assert.deepEqual(h.readAll().map((r) => r.value), ['b'])
  })
})

describe('LogCleaner: transactions and producers', () => {
  it('removes aborted records, keeps the markers, rebuilds the transaction index', async () => {
    const h = new Harness({ config: { 'delete.retention.ms': 1000 } })
    h.append([{ key: 'k', value: 'committed' }])
    h.append([{ key: 'k', value: 'aborted' }, { key: 'x', value: 'aborted-x' }], { producerId: 7, producerEpoch: 0, baseSequence: 0, transactional: true })
    const abortAt = h.marker(ControlRecordType.ABORT, 7)
    h.append([{ key: 'y', value: 'txn' }], { producerId: 8, producerEpoch: 0, baseSequence: 0, transactional: true })
    const commitAt = h.marker(ControlRecordType.COMMIT, 8)
    h.roll()
    await h.cleaner.runOnce()
    const read = h.readAll()
    assert.deepEqual(read.map((r) => [r.key, r.value]), [['k', 'committed'], ['y', 'txn']])
    assert.deepEqual(latestPerKey(read), latestPerKey(h.model))
    const markers = h.rawBatches().filter((b) => b.header.isControlBatch)
    assert.deepEqual(markers.map((b) => Number(b.header.baseOffset)), [abortAt, commitAt])
    assert.deepEqual(h.log.collectAbortedTransactions(0, h.log.logEndOffset).map((t) => [t.producerId, t.lastOffset]), [[7n, abortAt]])

    // Second pass: no data of the aborted transaction is left, so its marker gets a delete horizon.
    await h.cleaner.cleanLog(h.log)
    const abort = h.rawBatches().find((b) => Number(b.header.baseOffset) === abortAt)!
    assert.equal(abort.header.hasDeleteHorizonMs, true)
    assert.deepEqual(h.log.collectAbortedTransactions(0, h.log.logEndOffset), [])
    // After the horizon the marker's record goes; an empty batch stays: it is producer 7's last.
    h.now += 1000
    await h.cleaner.runOnce()
    const kept = h.rawBatches().find((b) => Number(b.header.baseOffset) === abortAt)!
    assert.equal(kept.header.recordsCount, 0)
    assert.equal(kept.header.producerId, 7n)
    assert.deepEqual(h.readAll().map((r) => r.value), ['committed', 'txn'])
  })

  it('leaves an open transaction past the last stable offset alone', async () => {
    const h = new Harness()
    fill(h, 6, { keys: 2, rollEvery: 2 })
    const open = h.append([{ key: 'k0', value: 'open' }], { producerId: 9, producerEpoch: 0, baseSequence: 0, transactional: true })
    h.roll()
    fill(h, 3, { keys: 2 })
    h.roll()
    h.log.lastStableOffset = open.base
    const before = h.readAll()
    const result = await h.cleaner.runOnce()
    assert.ok(result !== undefined && result.endOffset <= open.base)
    const after = h.readAll()
    assert.deepEqual(after.filter((r) => r.offset >= result.endOffset).map(v), before.filter((r) => r.offset >= result.endOffset).map(v))
    assert.ok(after.some((r) => r.value === 'open'))
  })

  it("keeps an idempotent producer's last batch as an empty batch", async () => {
    for (const hook of [false, true]) {
      const h = new Harness({ cleaner: hook ? { activeProducers: () => new Map() } : {} })
      h.append([{ key: 'a', value: 'p1' }, { key: 'b', value: 'p2' }], { producerId: 5, producerEpoch: 3, baseSequence: 10 })
      h.append([{ key: 'a', value: 'x' }, { key: 'b', value: 'y' }])
      h.append([{ key: 'c', value: 'z' }])
      h.roll()
      await h.cleaner.runOnce()
      const empty = h.rawBatches().find((b) => b.header.producerId === 5n)
      if (hook) {
        // Producer state says producer 5 is gone: its batch goes.
        assert.equal(empty, undefined)
      } else {
        assert.ok(empty !== undefined)
        assert.equal(empty.header.recordsCount, 0)
        assert.equal(empty.header.baseSequence, 10)
        assert.equal(empty.header.producerEpoch, 3)
        assert.equal(empty.header.lastOffsetDelta, 1)
      }
      assert.deepEqual(h.readAll().map((r) => r.value), ['x', 'y', 'z'])
    }
  })
})

describe('LogCleaner: bounded offset map', () => {
  it('cleans a prefix when the dirty range has more keys than the map holds, then the rest', async () => {
    const h = new Harness({ cleaner: { dedupeBufferSize: 4 * 96, dedupeBufferLoadFactor: 1 } })
    assert.equal(h.cleaner.mapSlots, 4)
    fill(h, 30, { keys: 12, rollEvery: 3 })
    h.roll()
    const results = await h.cleaner.cleanNow()
    assert.ok(results.length > 1, `${results.length} passes`)
    for (let i = 1; i < results.length; i++) assert.equal(results[i]!.firstDirtyOffset, results[i - 1]!.endOffset)
    const read = h.readAll()
    assertOffsetsPreserved(read, h.model)
    assert.deepEqual(latestPerKey(read), latestPerKey(h.model))
    // Each pass dedupes against the keys it mapped; later passes see only later data, so
    // the result is correct but not necessarily fully compacted (as in Kafka).
    assert.equal(h.cleaner.checkpointedOffset(h.log), h.log.activeSegment.baseOffset)
  })

  it('OffsetMap refuses new keys when full and digests long keys', () => {
    const map = new OffsetMap(2)
    assert.equal(map.put(Buffer.from('a'), 1), true)
    assert.equal(map.put(Buffer.from('x'.repeat(100)), 2), true)
    assert.equal(map.put(Buffer.from('c'), 3), false)
    assert.equal(map.put(Buffer.from('a'), 4), true)
    assert.equal(map.get(Buffer.from('a')), 4)
    assert.equal(map.get(Buffer.from('x'.repeat(100))), 2)
    assert.equal(map.get(Buffer.from('x'.repeat(99) + 'y')), -1)
    assert.equal(map.get(Buffer.from('c')), -1)
  })
})

/** Delegates to a MemoryFileSystem; while armed, the `crashAt`-th rename/unlink is a power loss, after which the process is "dead". */
class StepFs implements FileSystem {
  readonly memory: MemoryFileSystem
  armed = false
  crashAt = -1
  ops = 0
  dead = false

  constructor (memory: MemoryFileSystem) {
    this.memory = memory
  }

  #step (): void {
    if (this.dead) throw new StorageError(StorageErrorCode.IO, 'the process is dead')
    if (!this.armed) return
    if (this.ops++ === this.crashAt) {
      this.memory.crash()
      this.dead = true
      throw new StorageError(StorageErrorCode.IO, 'power loss')
    }
  }

  #alive (): void {
    if (this.dead) throw new StorageError(StorageErrorCode.IO, 'the process is dead')
  }

  open (path: string, mode: OpenMode): FileHandle { this.#alive(); return this.memory.open(path, mode) }
  exists (path: string): boolean { this.#alive(); return this.memory.exists(path) }
  size (path: string): number { this.#alive(); return this.memory.size(path) }
  readFile (path: string): Buffer { this.#alive(); return this.memory.readFile(path) }
  async writeFileAtomic (path: string, data: Buffer): Promise<void> { this.#alive(); await this.memory.writeFileAtomic(path, data) }
  rename (from: string, to: string): void { this.#step(); this.memory.rename(from, to) }
  unlink (path: string): void { this.#step(); this.memory.unlink(path) }
  mkdir (path: string): void { this.#alive(); this.memory.mkdir(path) }
  readdir (path: string): string[] { this.#alive(); return this.memory.readdir(path) }
  rmdir (path: string): void { this.#alive(); this.memory.rmdir(path) }
  async syncDir (path: string): Promise<void> { this.#alive(); await this.memory.syncDir(path) }
}

describe('LogCleaner: crash safety of the swap', () => {
  /** A log of several segments with duplicates and a tombstone, flushed. */
  async function scenario (h: Harness): Promise<void> {
    fill(h, 16, { keys: 4, rollEvery: 4 })
    h.append([{ key: 'k1', value: null }])
    h.roll()
    fill(h, 4, { keys: 6, prefix: 'w' })
    h.roll()
    await h.log.flush()
    await h.fs.syncDir('/')
  }

  /** Runs `replaceSegments` of the harness's log through `around`. */
  function wrapReplace (h: Harness, around: (replace: () => LogSegment | undefined) => LogSegment | undefined): void {
    const replace = h.log.replaceSegments.bind(h.log)
    h.log.replaceSegments = (segments) => around(() => replace(segments))
  }

  for (const strictDirectories of [false, true]) {
    it(`leaves the old or the new segments after a crash at any step (strictDirectories: ${strictDirectories})`, async () => {
      // Each group of segments is swapped on its own, atomically (as in Kafka): after a crash
      // the log holds the first k groups cleaned and the others not, for some k.
      const reference = new Harness({ memory: new MemoryFileSystem({ strictDirectories }) })
      await scenario(reference)
      const old = reference.readAll().map(v)
      const states = [JSON.stringify(old)]
      wrapReplace(reference, (replace) => {
        const segment = replace()
        states.push(JSON.stringify(reference.readAll().map(v)))
        return segment
      })
      await reference.cleaner.runOnce()
      const cleaned = reference.readAll().map(v)
      assert.notDeepEqual(cleaned, old)
      assert.ok(states.length > 2, 'the scenario should clean several groups')
      const outcomes = { old: 0, new: 0 }
      for (let crashAt = 0; ; crashAt++) {
        const memory = new MemoryFileSystem({ strictDirectories })
        const stepFs = new StepFs(memory)
        const h = new Harness({ fs: stepFs, memory })
        await scenario(h)
        wrapReplace(h, (replace) => {
          stepFs.armed = true
          try {
            return replace()
          } finally {
            stepFs.armed = false
          }
        })
        stepFs.crashAt = crashAt
        const result = await h.cleaner.runOnce()
        const crashed = stepFs.dead
        if (!crashed) {
          // Every step passed: crash after the pass instead.
          assert.equal(result?.outcome, 'cleaned')
          memory.crash()
        }
        stepFs.dead = false
        await h.reopen({ crashed: true })
        const read = JSON.stringify(h.readAll().map(v))
        const state = states.indexOf(read)
        assert.ok(state >= 0, `crash at step ${crashAt}: not a state the swaps go through\n${read}`)
        outcomes[state === 0 ? 'old' : 'new']++
        assertSegmentsConsistent(h.log.segments)
        assert.deepEqual(listDir(h.fs).filter((n) => /\.(cleaned|swap|deleted)$/.test(n)), [])
        // The log works on: cleaning again gives the compacted data.
        await h.cleaner.cleanNow()
        assert.deepEqual(h.readAll().map(v), cleaned)
        if (!crashed) break
      }
      assert.ok(outcomes.old > 0)
      assert.ok(outcomes.new > 0)
    })
  }

  it('removes the cleaned files of a pass cut short by a crash', async () => {
    const memory = new MemoryFileSystem()
    const h = new Harness({ memory, cleaner: { maxSliceMs: 0 } })
    await scenario(h)
    const old = h.readAll().map(v)
    const pass = h.cleaner.runOnce()
    for (let i = 0; i < 1000 && !listDir(memory).some((n) => n.endsWith('.cleaned')); i++) await nextTick()
    assert.ok(listDir(memory).some((n) => n.endsWith('.cleaned')), 'the pass should be writing')
    memory.crash()
    await pass
    await h.reopen({ crashed: true })
    assert.deepEqual(h.readAll().map(v), old)
    assert.deepEqual(listDir(memory).filter((n) => n.endsWith('.cleaned')), [])
  })

  it('changes nothing when the commit rename fails, and succeeds on the next pass', async () => {
    const h = new Harness()
    await scenario(h)
    const old = h.readAll().map(v)
    h.memory.failNext('rename', 'EIO', { path: /\.log\.cleaned$/ })
    const failed = await h.cleaner.runOnce()
    assert.equal(failed?.outcome, 'failed')
    assert.equal(h.log.closed, false)
    assert.deepEqual(h.readAll().map(v), old)
    assert.deepEqual(listDir(h.fs).filter((n) => /\.(cleaned|swap)$/.test(n)), [])
    assert.equal((await h.cleaner.runOnce())?.outcome, 'cleaned')
    assert.deepEqual(latestPerKey(h.readAll()), latestPerKey(h.model))
  })

  it('finishes a committed swap despite one failed step, and on the next open after two', async () => {
    const once = new Harness()
    await scenario(once)
    // The rename of `<base>.log.swap` over `<base>.log` (the commit renamed `.log.cleaned` to `.log.swap`).
    once.memory.failNext('rename', 'EIO', { path: /\d{20}\.log$/ })
    assert.equal((await once.cleaner.runOnce())?.outcome, 'cleaned')
    const cleaned = once.readAll().map(v)

    const twice = new Harness()
    await scenario(twice)
    twice.memory.failNext('rename', 'EIO', { path: /\d{20}\.log$/, times: 2 })
    const result = await twice.cleaner.runOnce()
    assert.equal(result?.outcome, 'failed')
    assert.equal(twice.log.closed, true)
    assert.ok(listDir(twice.fs).some((n) => n.endsWith('.log.swap')))
    const firstGroupEnd = twice.log.segments[2]!.baseOffset
    await twice.reopen()
    // The open finished the first group's swap; the pass stopped there.
    const read = twice.readAll().map(v)
    assert.ok(!listDir(twice.fs).some((n) => /\.(swap|cleaned)$/.test(n)))
    assert.deepEqual(read.filter((r) => r.offset < firstGroupEnd), cleaned.filter((r) => r.offset < firstGroupEnd))
    assert.deepEqual(latestPerKey(read), latestPerKey(twice.model))
    await twice.cleaner.cleanNow()
    assert.deepEqual(twice.readAll().map(v), cleaned)
  })

  it('recoverSwaps deletes index swap files left before the commit', () => {
    const fs = new MemoryFileSystem()
    fs.mkdir(LOG_DIR)
    for (const name of ['00000000000000000000.log', '00000000000000000000.index.swap', '00000000000000000000.timeindex.swap', '00000000000000000000.log.cleaned']) {
      fs.open(`${LOG_DIR}/${name}`, 'write').close()
    }
    assert.deepEqual(recoverSwaps(fs, LOG_DIR), [])
    assert.deepEqual(fs.readdir(LOG_DIR), ['00000000000000000000.log'])
  })
})

describe('LogCleaner: never blocks appends or reads', () => {
  it('serves reads and takes appends while a pass runs, in slices', async () => {
    const h = new Harness({ cleaner: { maxSliceMs: 0 } })
    fill(h, 60, { keys: 8, rollEvery: 4 })
    h.roll()
    let done = false
    const pass = h.cleaner.runOnce().finally(() => { done = true })
    let turns = 0
    let n = 0
    while (!done) {
      await nextTick()
      turns++
      h.append([{ key: `k${n % 8}`, value: `during${n++}` }])
      const read = h.readAll()
      assertOffsetsPreserved(read, h.model)
      assert.deepEqual(latestPerKey(read), latestPerKey(h.model))
    }
    assert.equal((await pass)?.outcome, 'cleaned')
    assert.ok(turns > 20, `only ${turns} turns of the event loop during the pass`)
    assert.deepEqual(latestPerKey(h.readAll()), latestPerKey(h.model))
  })

  it('holds the event loop for short slices only', async () => {
    const h = new Harness({ config: { 'segment.bytes': 64 * 1024 }, cleaner: { maxSliceMs: 2 } })
    const value = 'x'.repeat(200)
    for (let b = 0; b < 400; b++) {
      h.append(Array.from({ length: 10 }, (_, i) => ({ key: `k${(b * 10 + i) % 500}`, value: value + b })), { compression: CompressionType.lz4 })
    }
    h.roll()
    let done = false
    let longest = 0
    let last = performance.now()
    const pass = h.cleaner.runOnce().finally(() => { done = true })
    while (!done) {
      await nextTick()
      const now = performance.now()
      longest = Math.max(longest, now - last)
      last = now
    }
    assert.equal((await pass)?.outcome, 'cleaned')
    // Generous for slow CI machines; an unsliced pass over this log takes far longer.
    assert.ok(longest < 100, `the event loop was held for ${longest.toFixed(1)} ms`)
  })

  it('abandons a pass when the log is truncated under it, at any point of the pass', async () => {
    let truncations = 0
    for (const ticks of [1, 10, 25, 40, 60, 90]) {
      const h = new Harness({ cleaner: { maxSliceMs: 0 } })
      fill(h, 24, { keys: 4, rollEvery: 3 })
      h.roll()
      const at = h.log.segments[3]!.baseOffset + 1
      let done = false
      const pass = h.cleaner.runOnce().finally(() => { done = true })
      for (let i = 0; i < ticks && !done; i++) await nextTick()
      const truncated = !done
      if (truncated) {
        h.log.truncateTo(at)
        h.model.splice(h.model.findIndex((m) => m.offset >= at))
      }
      const result = await pass
      if (truncated) {
        truncations++
        assert.equal(result?.outcome, 'aborted', `after ${ticks} ticks`)
      }
      // The next pass works from what the log now holds.
      fill(h, 6, { keys: 4, rollEvery: 3, prefix: 'again' })
      h.roll()
      await h.cleaner.cleanNow()
      const read = h.readAll()
      assertOffsetsPreserved(read, h.model)
      assert.deepEqual(latestPerKey(read), latestPerKey(h.model))
      assertSegmentsConsistent(h.log.segments)
    }
    assert.ok(truncations >= 5, `${truncations} passes truncated`)
  })

  it('abandons a pass when retention removes a segment it is rewriting', async () => {
    const h = new Harness({ config: { 'cleanup.policy': ['compact', 'delete'], 'retention.ms': 1000 }, cleaner: { maxSliceMs: 0 } })
    fill(h, 20, { rollEvery: 4 })
    h.now += 5000
    fill(h, 2)
    h.roll()
    const pass = h.cleaner.runOnce()
    await nextTick()
    await nextTick()
    assert.ok(h.log.deleteOldSegments() > 0)
    const result = await pass
    assert.equal(result?.outcome, 'aborted')
    assert.deepEqual(listDir(h.fs).filter((n) => /\.(cleaned|swap)$/.test(n)), [])
    assert.equal((await h.cleaner.runOnce())?.outcome, 'cleaned')
    assert.deepEqual(latestPerKey(h.readAll()), latestPerKey(h.model.filter((m) => m.offset >= h.log.logStartOffset)))
  })
})

describe('LogCleaner: LogManager integration', () => {
  const config: LogConfig = logConfig({ ...COMPACT_CONFIG })

  it('runs in the background, checkpoints, and stops cleanly on close', async () => {
    const fs = new MemoryFileSystem()
    const errors: unknown[] = []
    let manager = await LogManager.open({ dataDir: DATA_DIR, fs, configFor: () => config, onError: (e) => errors.push(e), cleaner: { backoffMs: 10 } })
    assert.ok(manager.cleaner !== undefined)
    const log = manager.getOrCreateLog('t', 0)
    for (let b = 0; b < 20; b++) {
      log.appendAsLeader(buildBatch(`k${b % 3}`, `v${b}`), 0)
      if (b % 4 === 3) log.roll()
    }
    log.roll()
    log.highWatermark = log.logEndOffset
    manager.startBackgroundTasks()
    for (let i = 0; i < 200 && manager.cleaner.checkpointedOffset(log) === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 5))
    assert.equal(manager.cleaner.checkpointedOffset(log), log.activeSegment.baseOffset)
    assert.deepEqual(errors, [])
    await manager.close()
    manager = await LogManager.open({ dataDir: DATA_DIR, fs, configFor: () => config })
    assert.equal(manager.cleaner?.checkpointedOffset(manager.getLog('t', 0)!), manager.getLog('t', 0)!.activeSegment.baseOffset)
    await manager.close()
    const disabled = await LogManager.open({ dataDir: DATA_DIR, fs, configFor: () => config, cleanerEnable: false })
    assert.equal(disabled.cleaner, undefined)
    await disabled.close()
  })

  it('close() and deleteLog() abandon a pass under way', async () => {
    for (const how of ['close', 'delete'] as const) {
      const fs = new MemoryFileSystem()
      const manager = await LogManager.open({ dataDir: DATA_DIR, fs, configFor: () => config, cleaner: { maxSliceMs: 0 } })
      const log = manager.getOrCreateLog('t', 0)
      for (let b = 0; b < 60; b++) {
        log.appendAsLeader(buildBatch(`k${b % 3}`, `v${b}`), 0)
        if (b % 4 === 3) log.roll()
      }
      log.roll()
      log.highWatermark = log.logEndOffset
      const pass = manager.cleaner!.runOnce()
      for (let i = 0; i < 10; i++) await nextTick()
      if (how === 'close') await manager.close()
      else await manager.deleteLog('t', 0)
      assert.equal((await pass)?.outcome, 'aborted')
      if (how === 'close') {
        assert.deepEqual(fs.readdir(`${DATA_DIR}/t-0`).filter((n) => /\.(cleaned|swap)$/.test(n)), [])
      } else {
        assert.equal(fs.exists(`${DATA_DIR}/t-0`), false)
        await manager.close()
      }
    }
  })
})

function buildBatch (key: string, value: string): Buffer {
  return buildRecordBatch({ records: [{ key, value }], timestamp: 1_700_000_000_000 })
}
