/**
 * Reads that resume where an earlier read ended (LogSegment's resume points: no index lookup,
 * one read call) must return exactly what a lookup from scratch returns, whatever happened to
 * the log in between: appends at the tail, truncation, interleaved readers, limits that cut
 * batches, a high watermark inside the range.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { MemoryFileSystem, NodeFileSystem, type FileSystem, type PartitionLog } from '../src/mod.ts'
import { batch, batchRanges, openLog, tempDir } from './helpers.ts'

/** A deterministic pseudo-random generator (mulberry32). */
function random (seed: number): (n: number) => number {
  let a = seed >>> 0
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n)
  }
}

interface Appended {
  baseOffset: number
  lastOffset: number
  bytes: Buffer
}

/** The model: the batches of the (one-segment) log, in order. */
class Model {
  batches: Appended[] = []

  append (log: PartitionLog, records: number, valueSize: number): void {
    const b = batch(Array.from({ length: records }, (_, i) => `r${i}`), { valueSize })
    const { baseOffset, lastOffset } = log.appendAsLeader(b, 0)
    // Stamped in place: these are the bytes on disk.
    this.batches.push({ baseOffset, lastOffset, bytes: Buffer.from(b) })
  }

  truncateTo (offset: number): void {
    this.batches = this.batches.filter((b) => b.lastOffset < offset)
  }

  /** What read() must return: Kafka's rule, from the batch holding `offset`, below `maxOffset`. */
  read (offset: number, maxBytes: number, maxOffset: number, minOneBatch: boolean): { bytes: Buffer, firstOffset: number } {
    const from = this.batches.findIndex((b) => b.lastOffset >= offset)
    if (from < 0 || offset >= maxOffset) return { bytes: Buffer.alloc(0), firstOffset: offset }
    const out: Buffer[] = []
    let size = 0
    for (let i = from; i < this.batches.length; i++) {
      const b = this.batches[i]!
      if (b.lastOffset >= maxOffset) break
      if (size + b.bytes.length > maxBytes && !(out.length === 0 && minOneBatch)) break
      out.push(b.bytes)
      size += b.bytes.length
    }
    return { bytes: Buffer.concat(out), firstOffset: this.batches[from]!.baseOffset }
  }
}

function check (log: PartitionLog, model: Model, offset: number, maxBytes: number, maxOffset: number, minOneBatch: boolean, why: string): number {
  const got = log.read(offset, { maxBytes, maxOffset, minOneBatch })
  const want = model.read(offset, maxBytes, maxOffset, minOneBatch)
  const context = `${why}: read(${offset}, maxBytes ${maxBytes}, maxOffset ${maxOffset}, minOneBatch ${String(minOneBatch)})`
  assert.deepEqual(batchRanges(got.records), batchRanges(want.bytes), context)
  assert.ok(got.records.equals(want.bytes), context)
  if (want.bytes.length > 0) assert.equal(got.firstOffset, want.firstOffset, context)
  // Where a consumer goes next.
  return got.records.length === 0 ? offset : batchRanges(got.records).at(-1)![1] + 1
}

/** Runs `body` on a MemoryFileSystem and on disk; `open(n)` opens a new log, partition `n`. */
function bothFileSystems (name: string, body: (open: (partition?: number) => PartitionLog) => void): void {
  const config = { 'index.interval.bytes': 700, 'segment.bytes': 1 << 30 }
  it(`${name} (memory)`, () => {
    const fs: FileSystem = new MemoryFileSystem()
    body((partition = 0) => openLog(fs, { partition, config }))
  })
  it(`${name} (disk)`, (t) => {
    const root = tempDir(t)
    body((partition = 0) => openLog(new NodeFileSystem(), { dir: join(root, `topic-${partition}`), partition, config }))
  })
}

describe('read: resuming where a read ended', () => {
  bothFileSystems('sequential consumers with random limits read what a lookup from scratch reads', (open) => {
    for (let seed = 1; seed <= 6; seed++) {
      const rand = random(seed)
      const log = open(seed)
      const model = new Model()
      for (let i = 0; i < 60; i++) model.append(log, 1 + rand(4), 1 + rand(seed % 2 === 0 ? 3000 : 300))
      // Three consumers, each with its own limits, interleaved.
      const at = [0, 0, 0]
      for (let step = 0; step < 200; step++) {
        const c = rand(3)
        const maxBytes = [1, 100, 600, 5000, 30_000][rand(5)]!
        const minOneBatch = rand(4) !== 0
        const maxOffset = rand(5) === 0 ? rand(log.logEndOffset + 1) : log.logEndOffset
        const from = at[c]!
        let next = check(log, model, from, maxBytes, maxOffset, minOneBatch, `seed ${seed} step ${step} consumer ${c}`)
        // Stuck behind a batch larger than maxBytes (minOneBatch off) or the bound: move on.
        if (next === from) next = from + 1 + rand(3)
        at[c] = next >= log.logEndOffset ? rand(log.logEndOffset) : next
        // Now and then the log grows at the tail.
        if (rand(10) === 0) model.append(log, 1 + rand(4), 1 + rand(2000))
      }
      log.close().catch(() => {})
    }
  })

  bothFileSystems('a read that ended at the log end resumes into batches appended later, larger than maxBytes too', (open) => {
    const log = open()
    const model = new Model()
    model.append(log, 2, 50)
    let next = check(log, model, 0, 1 << 20, log.logEndOffset, true, 'to the end')
    model.append(log, 3, 4000)
    model.append(log, 1, 10)
    next = check(log, model, next, 1 << 20, log.logEndOffset, true, 'both new batches')
    model.append(log, 5, 3000)
    model.append(log, 1, 10)
    check(log, model, next, 100, log.logEndOffset, false, 'the next batch does not fit (minOneBatch off)')
    check(log, model, next, 100, log.logEndOffset, true, 'the next batch alone, whole')
    log.close().catch(() => {})
  })

  bothFileSystems('a read after truncation and new appends does not resume at a stale position', (open) => {
    const log = open()
    const model = new Model()
    for (let i = 0; i < 10; i++) model.append(log, 2, 200)
    const next = check(log, model, 0, 1500, log.logEndOffset, true, 'first part')
    assert.ok(next > 0 && next < log.logEndOffset)
    // A bound (high watermark) inside the log, remembered by the segment.
    const bound = next + 5
    check(log, model, 0, 1 << 20, bound, true, 'below a bound')
    // Cut inside the batch the next read would start with; append batches of other sizes.
    log.truncateTo(next - 1)
    model.truncateTo(next - 1)
    for (let i = 0; i < 4; i++) model.append(log, 3, 900)
    check(log, model, next, 1 << 20, log.logEndOffset, true, 'after truncation')
    check(log, model, 0, 1 << 20, bound, true, 'below the same bound after truncation')
    // The same at the tail: read to the end, truncate below it, append, read on.
    const end = check(log, model, 0, 1 << 20, log.logEndOffset, true, 'to the end')
    log.truncateTo(end - 2)
    model.truncateTo(end - 2)
    model.append(log, 4, 100)
    check(log, model, end, 1 << 20, log.logEndOffset, true, 'after truncation at the tail')
    check(log, model, end - 2, 1 << 20, log.logEndOffset, true, 'from the truncation point')
    log.close().catch(() => {})
  })

  it('more readers than resume points all read correctly', () => {
    const log = openLog(new MemoryFileSystem(), { config: { 'index.interval.bytes': 500 } })
    const model = new Model()
    for (let i = 0; i < 100; i++) model.append(log, 1, 100 + (i % 7) * 50)
    const readers = Array.from({ length: 20 }, (_, i) => i * 5)
    for (let round = 0; round < 10; round++) {
      readers.forEach((offset, r) => {
        const next = check(log, model, offset, 400, log.logEndOffset, true, `reader ${r} round ${round}`)
        readers[r] = next >= log.logEndOffset ? 0 : next
      })
    }
  })

  it('returns fresh memory: a later read does not change what an earlier one returned', () => {
    const log = openLog(new MemoryFileSystem())
    const model = new Model()
    for (let i = 0; i < 20; i++) model.append(log, 2, 300)
    const first = log.read(0, { maxBytes: 2000, maxOffset: log.logEndOffset })
    const copy = Buffer.from(first.records)
    let at = batchRanges(first.records).at(-1)![1] + 1
    while (at < log.logEndOffset) at = check(log, model, at, 2000, log.logEndOffset, true, 'reading on')
    assert.ok(first.records.equals(copy))
  })
})
