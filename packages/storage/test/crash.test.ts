/**
 * Power loss at random points: unsynced bytes are lost or torn (MemoryFileSystem.crash with
 * tornWrites). After an unclean reopen the log must be a prefix of what was appended, with
 * every batch below the recovery point (what flush() reported durable) present. Each case is
 * seeded; a failure prints the seed to replay it (CRASH_SEED=<seed>).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { LogManager, MemoryFileSystem, logConfig, mulberry32, type LogConfig, type PartitionLog } from '../src/mod.ts'
import { T0, batch, decodeAll, openLog, readAll } from './helpers.ts'

const CASES = Number(process.env.CRASH_CASES ?? 120)
const ONLY = process.env.CRASH_SEED === undefined ? undefined : Number(process.env.CRASH_SEED)

/**
 * Lets what the dead log had under way finish failing. A real crash ends the process; here its
 * queued leader-epoch checkpoint writes would go on and race the reopened log's.
 */
const settle = async (...logs: PartitionLog[]): Promise<void> => {
  for (const log of logs) await log.leaderEpochCache.flush().catch(() => undefined)
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve))
}

interface Appended {
  offset: number
  value: string
}

function randomConfig (rand: () => number): Partial<LogConfig> {
  return {
    'segment.bytes': 300 + Math.floor(rand() * 3000),
    'index.interval.bytes': Math.floor(rand() * 600),
    'segment.index.bytes': rand() < 0.3 ? 8 * (2 + Math.floor(rand() * 6)) : 4096
  }
}

/** Checks that `log` holds exactly appended[0..n) for some n >= durable, in order, whole. */
function assertPrefix (log: PartitionLog, appended: readonly Appended[], durable: number, context: string): void {
  const got = readAll(log, 0)
  assert.ok(log.logEndOffset >= durable, `${context}: log end ${log.logEndOffset} below the recovery point ${durable}`)
  assert.equal(got.length, log.logEndOffset, `${context}: ${got.length} records for a log end of ${log.logEndOffset}`)
  for (let i = 0; i < got.length; i++) {
    assert.deepEqual({ offset: got[i]!.offset, value: got[i]!.value }, appended[i], `${context}: record ${i}`)
  }
}

async function crashCase (seed: number): Promise<void> {
  const rand = mulberry32(seed)
  const strict = rand() < 0.5
  const fs = new MemoryFileSystem({ strictDirectories: strict })
  fs.mkdir('/data')
  await fs.syncDir('/')
  const config = randomConfig(rand)
  const log = openLog(fs, { config })
  const appended: Appended[] = []
  const pending: Array<Promise<unknown>> = []
  const ops = 1 + Math.floor(rand() * 40)
  for (let op = 0; op < ops; op++) {
    const r = rand()
    if (r < 0.6) {
      const n = 1 + Math.floor(rand() * 4)
      const vals = Array.from({ length: n }, (_, k) => `s${seed}-${op}-${k}`)
      const size = rand() < 0.2 ? 400 : 10
      const { baseOffset } = log.appendAsLeader(batch(vals, { valueSize: size, timestamp: T0 + op }), 1 + Math.floor(op / 10))
      vals.forEach((v, k) => appended.push({ offset: baseOffset + k, value: v.padEnd(size, '.') }))
    } else if (r < 0.7) {
      await log.flush()
    } else if (r < 0.8) {
      pending.push(log.flush().catch(() => undefined))
    } else if (r < 0.87) {
      log.roll()
    } else {
      // Let some fsyncs complete: the cut point falls anywhere between and within them.
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
  const durable = log.recoveryPoint
  const report = fs.crash({ tornWrites: true, seed })
  await Promise.all(pending)
  await settle(log)
  const context = `seed ${seed} (strict dirs ${strict}, torn: ${report.tornFiles.map((f) => `${f.path.split('/').pop()!}+${f.keptAppendBytes}`).join(', ')})`
  let reopened = openLog(fs, { config, clean: false, recoveryPoint: durable })
  assert.equal(reopened.recovery.corruptBatches, 0, context)
  assertPrefix(reopened, appended, durable, context)
  // The recovered log goes on: append, close cleanly, reopen.
  const end = reopened.logEndOffset
  reopened.appendAsLeader(batch(['after'], { timestamp: T0 + 1000 }), 9)
  await reopened.close()
  reopened = openLog(fs, { config })
  assertPrefix(reopened, [...appended.slice(0, end), { offset: end, value: 'after' }], end + 1, `${context}, after a clean restart`)
  await reopened.close()
}

describe('crash consistency', () => {
  it(`a partition log survives power loss at ${ONLY === undefined ? CASES : 1} random cut points`, async () => {
    const base = mulberry32(0x5a3a)
    const seeds = ONLY === undefined ? Array.from({ length: CASES }, () => Math.floor(base() * 2 ** 32)) : [ONLY]
    for (const seed of seeds) {
      try {
        await crashCase(seed)
      } catch (error) {
        if (error instanceof Error) error.message = `[crash seed ${seed}; replay with CRASH_SEED=${seed}] ${error.message}`
        throw error
      }
    }
  })

  it('recovery drops the segments after a tail lost at a batch boundary (regression: a hole before them)', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs)
    const positions: number[] = []
    for (let i = 0; i < 5; i++) {
      positions.push(log.activeSegment.size)
      log.appendAsLeader(batch([`v${i}`]), 0)
    }
    const first = log.activeSegment
    log.roll()
    for (let i = 5; i < 8; i++) log.appendAsLeader(batch([`v${i}`]), 0)
    await log.close()
    // What a torn write-back can leave: segment 0 whole up to batch 3, segment 5 intact.
    fs.truncateFile(first.logPath, positions[3]!)
    const again = openLog(fs, { clean: false, recoveryPoint: 2 })
    assert.equal(again.logEndOffset, 3)
    assert.deepEqual(again.segments.map((s) => s.baseOffset), [0])
    assert.deepEqual(readAll(again, 0).map((r) => r.value), ['v0', 'v1', 'v2'])
    assert.equal(again.appendAsLeader(batch(['next']), 0).baseOffset, 3, 'no hole: offsets continue from the data')
  })

  for (const flushed of [false, true]) {
    it(`a truncation lost in a crash does not leave stale records under the next segment (regression${flushed ? ', below the recovery point' : ''})`, async () => {
      for (let seed = 0; seed < 40; seed++) {
        const fs = new MemoryFileSystem()
        const log = openLog(fs)
        for (let i = 0; i < 15; i++) log.appendAsLeader(batch([`old${i}`]), 0)
        await log.flush()
        log.truncateTo(10) // a follower truncating after a leader change
        // The truncated segment's own fsync (started by the roll) does not make it.
        fs.failNext('sync', 'EIO', { path: /0{20}\.log$/ })
        log.roll()
        for (let i = 10; i < 13; i++) log.appendAsLeader(batch([`new${i}`]), 0)
        if (flushed) await log.flush()
        const recoveryPoint = log.recoveryPoint
        fs.crash({ tornWrites: true, seed })
        await settle(log)
        const again = openLog(fs, { clean: false, recoveryPoint })
        const segments = again.segments
        for (let i = 1; i < segments.length; i++) assert.ok(segments[i - 1]!.nextOffset <= segments[i]!.baseOffset, `seed ${seed}: overlapping segments`)
        const got = readAll(again, 0).map((r) => r.value)
        const old = Array.from({ length: 10 }, (_, i) => `old${i}`)
        assert.deepEqual(got.slice(0, 10), old, `seed ${seed}`)
        assert.ok(got.slice(10).every((v) => v.startsWith('new')), `seed ${seed}: ${got.join(' ')}`)
        if (flushed) assert.deepEqual(got.slice(10), ['new10', 'new11', 'new12'], `seed ${seed}`)
        for (let o = 10; o < again.logEndOffset; o++) {
          again.highWatermark = again.logEndOffset
          assert.equal(decodeAll(again.read(o, { maxBytes: 1 }).records).find((r) => r.offset === o)?.value, got[o], `seed ${seed}: offset ${o}`)
        }
      }
    })
  }

  it('keeps a gap below the recovery point (a follower that skipped ahead)', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs)
    log.appendAsFollower(batch(['a'], { baseOffset: 0, leaderEpoch: 1 }))
    log.appendAsFollower(batch(['b'], { baseOffset: 10, leaderEpoch: 1 }))
    await log.flush()
    await log.close()
    const again = openLog(fs, { clean: false, recoveryPoint: 11 })
    assert.deepEqual(readAll(again, 0).map((r) => [r.offset, r.value]), [[0, 'a'], [10, 'b']])
  })

  it('a truncation while a flush runs caps the recovery point it reports (regression)', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs)
    for (let i = 0; i < 10; i++) log.appendAsLeader(batch([`v${i}`]), 0)
    await log.flush()
    for (let i = 10; i < 20; i++) log.appendAsLeader(batch([`v${i}`]), 0)
    const flushing = log.flush() // covers up to 20
    for (let i = 0; i < 3; i++) await Promise.resolve() // its fsync is under way
    log.truncateTo(12)
    for (let i = 12; i < 16; i++) log.appendAsLeader(batch([`w${i}`]), 0)
    await flushing
    // 12..15 were written after the flush began: it cannot vouch for them.
    assert.equal(log.recoveryPoint, 12)
    await log.flush()
    assert.equal(log.recoveryPoint, 16)
  })

  it('flush.messages=1: every acknowledged append survives', async () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const fs = new MemoryFileSystem({ strictDirectories: true })
      fs.mkdir('/data')
      await fs.syncDir('/')
      const config = { 'flush.messages': 1, 'segment.bytes': 500 }
      const log = openLog(fs, { config })
      const acked: Appended[] = []
      const rand = mulberry32(seed)
      const inflight: Array<Promise<void>> = []
      for (let i = 0; i < 30; i++) {
        const value = `m${i}`
        const r = log.appendAsLeader(batch([value], { valueSize: 30 }), 0)
        inflight.push(r.flushed!.then(() => { acked.push({ offset: r.baseOffset, value: value.padEnd(30, '.') }) }, () => undefined))
        if (rand() < 0.5) await new Promise((resolve) => setImmediate(resolve))
      }
      const ackedAtCrash = acked.length
      fs.crash({ tornWrites: true, seed })
      await Promise.all(inflight)
      await settle(log)
      const reopened = openLog(fs, { config, clean: false, recoveryPoint: log.recoveryPoint })
      const got = readAll(reopened, 0).map((r) => ({ offset: r.offset, value: r.value }))
      assert.deepEqual(got.slice(0, ackedAtCrash), acked.slice(0, ackedAtCrash).sort((a, b) => a.offset - b.offset), `seed ${seed}`)
    }
  })

  it('a log manager recovers from its checkpoints after power loss', async () => {
    for (const seed of [11, 12, 13, 14, 15, 16]) {
      const rand = mulberry32(seed)
      const fs = new MemoryFileSystem({ strictDirectories: rand() < 0.5 })
      fs.mkdir('/data')
      await fs.syncDir('/')
      const config = logConfig({ 'segment.bytes': 400 })
      const manager = await LogManager.open({ dataDir: '/data', fs, configFor: () => config })
      const appended = new Map<string, Appended[]>()
      const durable = new Map<string, number>()
      for (let step = 0; step < 60; step++) {
        const p = Math.floor(rand() * 4)
        const log = manager.getOrCreateLog('t', p)
        const list = appended.get(`t-${p}`) ?? []
        appended.set(`t-${p}`, list)
        const { baseOffset } = log.appendAsLeader(batch([`${seed}-${step}`], { valueSize: 20 }), 0)
        list.push({ offset: baseOffset, value: `${seed}-${step}`.padEnd(20, '.') })
        if (rand() < 0.15) {
          await Promise.all([...manager.logs()].map(async (l) => await l.flush()))
          await manager.checkpoint()
          for (const l of manager.logs()) durable.set(`${l.topic}-${l.partition}`, l.recoveryPoint)
        }
      }
      fs.crash({ tornWrites: true, seed })
      await settle(...manager.logs())
      const again = await LogManager.open({ dataDir: '/data', fs, configFor: () => config })
      assert.equal(again.loadReport.clean, false)
      for (const [key, list] of appended) {
        const log = again.getLog('t', Number(key.split('-')[1]))
        const floor = durable.get(key) ?? 0
        if (log === undefined) {
          assert.equal(floor, 0, `seed ${seed}: ${key} lost`)
          continue
        }
        assertPrefix(log, list, floor, `seed ${seed} ${key}`)
      }
      await again.close()
    }
  })
})
