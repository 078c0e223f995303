/**
 * Model-based test: random sequences of append / read / roll / truncate / retention /
 * deleteRecordsBefore / flush / close and reopen / crash and reopen, checked after every step
 * against a model of offsets -> record values (fast-check generates and shrinks the
 * sequences; a failure prints its seed and path: replay with MODEL_SEED=<seed> and
 * MODEL_PATH=<path>).
 *
 * What a crash may legitimately leave: everything below the recovery point exactly as the
 * model has it; above it, for each offset, a value once appended there that was still live
 * when the last completed flush started (a truncation or deletion is durable only after a
 * flush), and nothing torn.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { MemoryFileSystem, type LogConfig, type PartitionLog } from '../src/mod.ts'
import { T0, batch, batchRanges, decodeAll, manualClock, openLog } from './helpers.ts'

type Op =
  | { kind: 'append', n: number, big: boolean, epochBump: boolean, multi: boolean, coalesce: boolean }
  | { kind: 'read', at: number, maxBytes: number, minOneBatch: boolean, bounded: boolean }
  | { kind: 'roll' }
  | { kind: 'truncate', at: number, roll: boolean }
  | { kind: 'truncateFully', delta: number }
  | { kind: 'hw', at: number }
  | { kind: 'deleteRecords', at: number }
  | { kind: 'retention', advanceMs: number }
  | { kind: 'flush' }
  | { kind: 'flushAsync' }
  | { kind: 'tick' }
  | { kind: 'reopen' }
  | { kind: 'crash', seed: number }

const fraction = fc.double({ min: 0, max: 1, noNaN: true })

/** An integer in [lo, hi] picked by a fraction in [0, 1]. */
const pick = (lo: number, hi: number, f: number): number => lo + Math.min(hi - lo, Math.floor(f * (hi - lo + 1)))

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('append' as const), n: fc.integer({ min: 1, max: 4 }), big: fc.boolean(), epochBump: fc.boolean(), multi: fc.boolean(), coalesce: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('read' as const), at: fraction, maxBytes: fc.constantFrom(1, 100, 600, 1 << 20), minOneBatch: fc.boolean(), bounded: fc.boolean() }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'roll' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fraction, roll: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncateFully' as const), delta: fc.integer({ min: 0, max: 5 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('hw' as const), at: fraction }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('deleteRecords' as const), at: fraction }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('retention' as const), advanceMs: fc.integer({ min: 0, max: 40_000 }) }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'flushAsync' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'tick' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('crash' as const), seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }) }) }
)

interface Setup {
  config: Partial<LogConfig>
  strictDirectories: boolean
  /** The staging bound of coalesced appends (undefined: the default, 1 MiB). */
  coalesceBytes: number | undefined
}

const setupArb: fc.Arbitrary<Setup> = fc.record({
  config: fc.record({
    'segment.bytes': fc.integer({ min: 200, max: 4000 }),
    'index.interval.bytes': fc.integer({ min: 0, max: 1000 }),
    'segment.index.bytes': fc.constantFrom(16, 40, 4096),
    'retention.bytes': fc.constantFrom(-1, 600, 3000),
    'retention.ms': fc.constantFrom(-1, 10_000, 60_000)
  }),
  strictDirectories: fc.boolean(),
  coalesceBytes: fc.constantFrom(undefined, 400, 1500)
})

interface HistoryEntry {
  value: string
  /** The generation whose truncation (or crash) removed it; undefined while live. */
  died: number | undefined
}

/** Offsets -> values, batch boundaries, and every value an offset ever held. */
class Model {
  values = new Map<number, string>()
  batches: Array<[number, number]> = []
  history = new Map<number, HistoryEntry[]>()
  logStart = 0
  logEnd = 0
  hw = 0
  gen = 0
  /** The generation when the last completed flush started: older truncations are durable. */
  durableGen = 0

  append (base: number, vals: readonly string[][]): void {
    let offset = base
    for (const b of vals) {
      this.batches.push([offset, offset + b.length - 1])
      for (const v of b) {
        this.values.set(offset, v)
        const list = this.history.get(offset) ?? []
        list.push({ value: v, died: undefined })
        this.history.set(offset, list)
        offset++
      }
    }
    this.logEnd = offset
  }

  #kill (from: number): void {
    this.gen++
    for (const [o, list] of this.history) {
      if (o < from) continue
      for (const e of list) if (e.died === undefined) e.died = this.gen
      this.values.delete(o)
    }
  }

  truncateTo (offset: number): void {
    if (offset >= this.logEnd) return
    if (offset <= this.logStart) {
      this.truncateFully(offset)
      return
    }
    const cut = this.batches.find(([, last]) => last >= offset)![0]
    this.batches = this.batches.filter(([, last]) => last < cut)
    this.#kill(cut)
    this.logEnd = cut
    this.hw = Math.min(this.hw, cut)
  }

  truncateFully (offset: number): void {
    this.#kill(Number.NEGATIVE_INFINITY)
    this.batches = []
    this.logStart = this.logEnd = this.hw = offset
  }

  /** After a crash: the log as reopened is the new truth; what it lost died. */
  resetTo (log: PartitionLog, present: Map<number, string>, batches: Array<[number, number]>): void {
    this.gen++
    for (const [o, list] of this.history) {
      const now = present.get(o)
      let revived = false
      for (const e of list) {
        if (e.value === now && !revived) {
          e.died = undefined
          revived = true
        } else if (e.died === undefined) {
          e.died = this.gen
        }
      }
    }
    this.values = present
    this.batches = batches
    this.logStart = log.logStartOffset
    this.logEnd = log.logEndOffset
    this.hw = log.highWatermark
  }
}

/** Every record the log holds from its first segment, with batch boundaries. */
function contents (log: PartitionLog): { values: Map<number, string>, batches: Array<[number, number]> } {
  const values = new Map<number, string>()
  const batches: Array<[number, number]> = []
  let offset = log.logStartOffset
  while (offset < log.logEndOffset) {
    const { records } = log.read(offset, { maxBytes: 1 << 20, maxOffset: log.logEndOffset })
    if (records.length === 0) break
    const ranges = batchRanges(records)
    batches.push(...ranges.filter(([, last]) => last >= offset))
    for (const r of decodeAll(records)) values.set(r.offset, r.value)
    offset = ranges.at(-1)![1] + 1
  }
  return { values, batches }
}

function checkAgainstModel (log: PartitionLog, model: Model, where: string): void {
  assert.equal(log.logEndOffset, model.logEnd, `${where}: log end`)
  assert.equal(log.logStartOffset, model.logStart, `${where}: log start`)
  assert.equal(log.highWatermark, model.hw, `${where}: high watermark`)
  assert.ok(log.logStartOffset <= log.highWatermark && log.highWatermark <= log.logEndOffset, `${where}: offsets out of order`)
  assert.ok(log.recoveryPoint <= log.logEndOffset, `${where}: recovery point past the end`)
  const { values } = contents(log)
  for (let o = model.logStart; o < model.logEnd; o++) {
    assert.equal(values.get(o), model.values.get(o), `${where}: offset ${o}`)
    // Each offset read on its own too: sequential reads alone cannot see two segments holding it.
    const first = decodeAll(log.read(o, { maxBytes: 1, maxOffset: model.logEnd }).records).find((r) => r.offset === o)
    assert.equal(first?.value, model.values.get(o), `${where}: read at ${o}`)
  }
  const segments = log.segments
  for (let i = 0; i < segments.length; i++) {
    assert.equal(segments[i]!.corruptBatches.length, 0, `${where}: corrupt batches`)
    if (i > 0) assert.ok(segments[i - 1]!.nextOffset <= segments[i]!.baseOffset, `${where}: segments overlap`)
  }
}

async function run (setup: Setup, ops: readonly Op[]): Promise<void> {
  const fs = new MemoryFileSystem({ strictDirectories: setup.strictDirectories })
  fs.mkdir('/data')
  await fs.syncDir('/')
  const clock = manualClock(T0)
  const open = (clean: boolean, recoveryPoint: number, logStartOffset: number): PartitionLog =>
    openLog(fs, { config: setup.config, clock: clock.now, clean, recoveryPoint, logStartOffset, ...(setup.coalesceBytes === undefined ? {} : { coalesceBytes: setup.coalesceBytes }) })
  let log = open(true, 0, 0)
  const model = new Model()
  let epoch = 0
  let pending: Array<Promise<unknown>> = []
  let counter = 0
  for (const [step, op] of ops.entries()) {
    const where = `step ${step} ${JSON.stringify(op)}`
    switch (op.kind) {
      case 'append': {
        if (op.epochBump) epoch++
        const groups = op.multi ? [op.n, 1 + (op.n % 3)] : [op.n]
        const vals = groups.map((n) => Array.from({ length: n }, () => `r${counter++}`.padEnd(op.big ? 300 : 8, '.')))
        clock.advance(100)
        const bytes = Buffer.concat(vals.map((v) => batch(v, { timestamp: clock.now() })))
        const result = log.appendAsLeader(bytes, epoch, 'client', { coalesce: op.coalesce })
        assert.equal(result.baseOffset, model.logEnd, where)
        model.append(result.baseOffset, vals)
        if (op.coalesce) {
          // No read here (a read writes staged appends): the next steps meet them staged.
          assert.equal(log.logEndOffset, model.logEnd, `${where}: log end`)
          continue
        }
        break
      }
      case 'read': {
        const at = pick(model.logStart, model.logEnd, op.at)
        const maxOffset = op.bounded ? model.hw : model.logEnd
        const result = log.read(at, { maxBytes: op.maxBytes, minOneBatch: op.minOneBatch, ...(op.bounded ? {} : { maxOffset }) })
        const records = decodeAll(result.records)
        for (const r of records) assert.equal(r.value, model.values.get(r.offset), `${where}: offset ${r.offset}`)
        if (records.length > 0) {
          assert.equal(result.firstOffset, records[0]!.offset, where)
          assert.ok(records[0]!.offset <= at && records.some((r) => r.offset === at), `${where}: starts with the batch holding ${at}`)
          assert.ok(records.at(-1)!.offset < maxOffset, `${where}: past the bound ${maxOffset}`)
          for (let i = 1; i < records.length; i++) assert.equal(records[i]!.offset, records[i - 1]!.offset + 1, `${where}: a hole`)
        } else if (at < maxOffset && op.minOneBatch) {
          // Empty only when the batch holding `at` ends at or past the bound.
          const holding = model.batches.find(([b, l]) => b <= at && at <= l)!
          assert.ok(holding[1] >= maxOffset, `${where}: empty read below the bound`)
        }
        if (result.records.length > 0 && !op.minOneBatch) assert.ok(result.records.length <= op.maxBytes, where)
        break
      }
      case 'roll':
        log.roll()
        break
      case 'truncate': {
        const target = pick(model.logStart, model.logEnd, op.at)
        log.truncateTo(target)
        model.truncateTo(target)
        // A follower whose segment fills right after truncating (the truncated one then rolls).
        if (op.roll) log.roll()
        break
      }
      case 'truncateFully':
        log.truncateFullyAndStartAt(model.logEnd + op.delta)
        model.truncateFully(model.logEnd + op.delta)
        break
      case 'hw':
        model.hw = pick(model.logStart, model.logEnd, op.at)
        log.highWatermark = model.hw
        break
      case 'deleteRecords': {
        const target = pick(model.logStart, model.hw, op.at)
        assert.equal(log.deleteRecordsBefore(target), Math.max(target, model.logStart), where)
        model.logStart = Math.max(target, model.logStart)
        break
      }
      case 'retention': {
        clock.advance(op.advanceMs)
        const before = log.segments.map((s) => ({ base: s.baseOffset, size: s.size, maxTs: s.maxTimestamp, rolled: s.rollingBasedTimestamp }))
        const expected = expectedRetention(before, model, setup.config, clock.now())
        const deleted = log.deleteOldSegments()
        assert.equal(deleted, expected, `${where}: segments deleted`)
        if (deleted > 0) model.logStart = Math.max(model.logStart, before[deleted]!.base)
        break
      }
      case 'flush': {
        const gen = model.gen
        await log.flush()
        model.durableGen = Math.max(model.durableGen, gen)
        assert.equal(log.recoveryPoint, log.logEndOffset, where)
        break
      }
      case 'flushAsync': {
        const gen = model.gen
        pending.push(log.flush().then(() => { model.durableGen = Math.max(model.durableGen, gen) }, () => undefined))
        break
      }
      case 'tick':
        await new Promise((resolve) => setImmediate(resolve))
        break
      case 'reopen': {
        await log.close()
        await Promise.all(pending)
        pending = []
        log = open(true, 0, model.logStart)
        model.hw = model.logEnd
        break
      }
      case 'crash': {
        const recoveryPoint = log.recoveryPoint
        const report = fs.crash({ tornWrites: true, seed: op.seed })
        // The process died: appends still staged never get written (the log would otherwise
        // write them at the end of the turn, through a handle it may reopen after the "crash").
        log.abandon()
        await Promise.all(pending)
        pending = []
        // The dead log's queued checkpoint writes finish failing (a real crash ends them).
        await log.leaderEpochCache.flush().catch(() => undefined)
        log = open(false, recoveryPoint, model.logStart)
        const context = `${where} (recovery point ${recoveryPoint}, torn ${report.tornFiles.map((f) => f.path.split('/').pop()!).join(',')})`
        assert.ok(log.logEndOffset >= Math.min(recoveryPoint, model.logEnd), `${context}: lost flushed data, log end ${log.logEndOffset}`)
        const { values, batches } = contents(log)
        for (let o = log.logStartOffset; o < log.logEndOffset; o++) {
          const got = values.get(o)
          assert.ok(got !== undefined, `${context}: hole at ${o}`)
          if (o < recoveryPoint) {
            assert.equal(got, model.values.get(o), `${context}: flushed offset ${o}`)
          } else {
            const allowed = (model.history.get(o) ?? []).filter((e) => e.died === undefined || e.died > model.durableGen).map((e) => e.value)
            assert.ok(allowed.includes(got), `${context}: offset ${o} holds ${got}, allowed ${JSON.stringify(allowed)}`)
          }
        }
        model.resetTo(log, values, batches)
        break
      }
    }
    checkAgainstModel(log, model, where)
  }
  await Promise.all(pending)
  await log.close()
  // Whatever happened, a clean restart shows the same log.
  const again = open(true, 0, model.logStart)
  model.hw = model.logEnd
  checkAgainstModel(again, model, 'final reopen')
  await again.close()
}

/** Kafka's retention rules (UnifiedLog.deleteOldSegments) on a snapshot of the segments. */
function expectedRetention (segments: Array<{ base: number, size: number, maxTs: number, rolled: number }>, model: Model, config: Partial<LogConfig>, now: number): number {
  let n = 0
  let start = model.logStart
  const step = (pred: (i: number) => boolean): void => {
    while (n < segments.length - 1 && segments[n + 1]!.base <= model.hw && pred(n)) {
      n++
      start = Math.max(start, segments[n]!.base)
    }
  }
  step((i) => segments[i + 1]!.base <= start)
  const ms = config['retention.ms'] ?? -1
  if (ms >= 0) step((i) => now - (segments[i]!.maxTs >= 0 ? segments[i]!.maxTs : segments[i]!.rolled) > ms)
  const bytes = config['retention.bytes'] ?? -1
  if (bytes >= 0) {
    let excess = segments.slice(n).reduce((sum, s) => sum + s.size, 0) - bytes
    step((i) => {
      if (excess - segments[i]!.size < 0) return false
      excess -= segments[i]!.size
      return true
    })
  }
  return n
}

describe('model-based', () => {
  it('a partition log behaves like a map of offsets to records, through crashes', async (t) => {
    const seed = process.env.MODEL_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.MODEL_SEED)
    const path = process.env.MODEL_PATH
    t.diagnostic(`fast-check seed ${seed}`)
    await fc.assert(fc.asyncProperty(setupArb, fc.array(opArb, { minLength: 1, maxLength: 80, size: 'max' }), run), {
      seed,
      ...(path === undefined ? {} : { path }),
      numRuns: Number(process.env.MODEL_RUNS ?? 120)
    })
  })
})
