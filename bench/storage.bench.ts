/**
 * Storage benchmarks on the real file system, each against a reference measured in the same
 * run on the same disk (a temporary directory under os.tmpdir()):
 *
 *   - append throughput of 1 KB records in 16 KB and 1 MB batches (no fsync per batch), direct
 *     (one write per append) and coalesced (`{ coalesce: true }`: the appends of a turn, up to
 *     1 MiB, in one write), against `dd if=/dev/zero bs=16k|1M` and against plain fs.writeSync
 *     of the same bytes in a loop. Measured two ways: (a) the harness (700 ms runs that restart
 *     the file every 256 MB inside the timed loop), and (b) like dd: a fresh file, 256 MiB, only
 *     the writes timed (plus writing what is still staged), best of 3 rounds interleaved with
 *     dd. dd runs twice per round: at the literal block size (16k, 1M) and at the batch's own
 *     size (16,589 and 1,058,813 bytes: unaligned writes cost the kernel more per byte);
 *   - read throughput from the page cache (1 MB fetches), against plain fs.readSync of the
 *     same file in 1 MB reads, each into a new buffer (a read's bytes outlive the call); also,
 *     for information, fs.readSync into one reused (cache-hot) buffer;
 *   - recovery of a 1 GB log after an unclean shutdown (no clean-shutdown marker, recovery
 *     point 0), skipped when less than 5 GB is free;
 *   - memory and file descriptors with 10,000 open partitions (LogManager).
 *
 *   node --conditions=samsa:source --import tsx bench/storage.bench.ts
 *   STORAGE_BENCH=append node --conditions=samsa:source --import tsx bench/storage.bench.ts  # append only
 *
 * STORAGE_BENCH selects sections, comma-separated: append, read, recovery, partitions (all when unset).
 *
 * Targets (from the issue): append and read at least 0.8 of the reference.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { closeSync, ftruncateSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, statfsSync, writeSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildRecordBatch } from '../packages/protocol/src/records/mod.ts'
import { HandlePool, LogManager, NodeFileSystem, PartitionLog, logConfig } from '../packages/storage/src/mod.ts'
import { machine, measure, ratio, type Result } from './harness.ts'

const MB = 1e6
const only = (process.env.STORAGE_BENCH ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')
const selected = (section: 'append' | 'read' | 'recovery' | 'partitions'): boolean => only.length === 0 || only.includes(section)
const root = mkdtempSync(join(tmpdir(), 'samsa-bench-'))
const fs = new NodeFileSystem()
process.on('exit', () => rmSync(root, { recursive: true, force: true }))

console.log(`# storage — ${machine()}; nproc ${cpus().length}; ${cpus()[0]?.model ?? ''}; data in ${root}`)

interface Row {
  name: string
  ours: string
  reference: string
  ratio: string
  /** The same ratio from the best medians (per-call p50), which machine noise moves less. */
  p50Ratio?: string
  target: string
}
const rows: Row[] = []
const mbps = (r: Result): string => `${r.mbPerSec!.toFixed(0)} MB/s`

function batchOf (records: number): Buffer {
  const value = Buffer.alloc(1024, 0x61)
  return buildRecordBatch({ records: Array.from({ length: records }, () => ({ key: null, value })), timestamp: Date.now() })
}

/**
 * Measures each of `fns` alternately, three times each, after writing back dirty pages (`sync`)
 * so none pays for another's writeback; keeps the best run of each, with the best per-call
 * median. Shared machines are noisy: the best run is the one least disturbed.
 */
function alternate (fns: Array<[string, () => unknown]>, bytes: number): Array<[Result, number]> {
  const best: Array<[Result, number] | undefined> = fns.map(() => undefined)
  for (let round = 0; round < 3; round++) {
    fns.forEach(([name, fn], i) => {
      execFileSync('sync')
      const r = measure(name, fn, { bytes, minMs: 700, warmupMs: 150 })
      const b = best[i]
      best[i] = [b === undefined || r.opsPerSec > b[0].opsPerSec ? r : b[0], Math.min(b?.[1] ?? Infinity, r.p50Us)]
    })
  }
  return best.map((b) => b!)
}

/**
 * Runs `a` and `b` (each returns the bytes it read) alternately for `ms` each, `rounds` times;
 * the median and quartiles of the per-round ratios of a's bytes per second to b's.
 */
function pairedRatio (a: () => number, b: () => number, rounds: number, ms: number): { median: number, low: number, high: number } {
  const rate = (fn: () => number): number => {
    const started = performance.now()
    let bytes = 0
    let now = started
    while (now - started < ms) {
      bytes += fn()
      now = performance.now()
    }
    return bytes / (now - started)
  }
  const ratios: number[] = []
  for (let round = 0; round < rounds; round++) {
    // Alternate which goes first, so neither always follows the other.
    if (round % 2 === 0) {
      const x = rate(a)
      ratios.push(x / rate(b))
    } else {
      const y = rate(b)
      ratios.push(rate(a) / y)
    }
  }
  ratios.sort((x, y) => x - y)
  const at = (q: number): number => ratios[Math.min(ratios.length - 1, Math.floor(q * ratios.length))]!
  return { median: at(0.5), low: at(0.25), high: at(0.75) }
}

let logCounter = 0
function newLog (config = {}): PartitionLog {
  const dir = join(root, `bench-${logCounter++}`)
  return PartitionLog.open({ fs, pool: new HandlePool(fs, 64), dir, topic: 'bench', partition: logCounter, config: logConfig(config), clean: true })
}

async function dropLog (log: PartitionLog): Promise<void> {
  await log.delete()
}

/** dd into a fresh file in the same directory (after `sync`); returns MB/s from dd's own report. */
function ddOnce (bs: string, count: number): number {
  const target = join(root, 'dd.out')
  execFileSync('sync')
  rmSync(target, { force: true })
  const run = spawnSync('dd', ['if=/dev/zero', `of=${target}`, `bs=${bs}`, `count=${count}`, 'conv=notrunc'], { encoding: 'utf8' })
  rmSync(target, { force: true })
  const m = /(\d+) bytes.*copied, ([\d.e-]+) s/.exec(run.stderr)
  if (run.status !== 0 || m === null) throw new Error(`dd failed: ${run.stderr}`)
  return Number(m[1]) / Number(m[2]) / MB
}

// In a VM the first touch of guest memory is slow (the host backs it lazily): write and drop
// 1.5 GB of page cache first, so every measurement below reuses memory already touched.
for (let i = 0; i < 6; i++) spawnSync('dd', ['if=/dev/zero', `of=${join(root, 'warm.out')}`, 'bs=1M', 'count=256'])
rmSync(join(root, 'warm.out'), { force: true })

// ---- append
if (selected('append')) {
  console.log('\n## append (page cache, no fsync per batch)')
  // Every writer starts a fresh file each 256 MB (dd writes 256 MB): removing or truncating a
  // file drops its dirty pages, so nobody crosses dirty_background_ratio and gets throttled to
  // the disk's write-back speed, which would measure the disk instead of the code.
  const RESTART = 256 * 1024 * 1024
  const COALESCE = { coalesce: true } as const

  /** Appends into a fresh log until it holds 256 MiB, timing only the appends (and the write of what is staged); MB/s. */
  async function freshLog (batch: Buffer, coalesce: boolean): Promise<number> {
    const log = newLog()
    const options = coalesce ? COALESCE : undefined
    const started = performance.now()
    while (log.size < RESTART) log.appendAsLeader(batch, 0, 'client', options)
    log.writePending()
    const seconds = (performance.now() - started) / 1000
    const bytes = log.size
    await dropLog(log)
    return bytes / seconds / MB
  }

  for (const [label, records, ddBs, ddCount] of [['16 KB', 16, '16k', 16384], ['1 MB', 1024, '1M', 256]] as const) {
    const batch = batchOf(records)
    // Below the 1 GB segment size: no roll, the comparison is of appends. Small appends are
    // timed 16 to a call, so the harness's per-call timing does not weigh on them (dd has none).
    const direct = newLog()
    const coalesced = newLog()
    const path = join(root, 'plain.out')
    const fd = openSync(path, 'w')
    let position = 0
    const perCall = records === 16 ? 16 : 1
    const suffix = perCall > 1 ? ` × ${perCall}` : ''
    const [[ours, oursP50], [merged, mergedP50], [plain, plainP50]] = alternate([
      [`samsa appendAsLeader, ${label} batches of 1 KB records${suffix}`, () => {
        for (let i = 0; i < perCall; i++) {
          if (direct.size > RESTART) direct.truncateFullyAndStartAt(0)
          direct.appendAsLeader(batch, 0)
        }
      }],
      [`samsa appendAsLeader coalesced, ${label}${suffix}`, () => {
        for (let i = 0; i < perCall; i++) {
          if (coalesced.size > RESTART) coalesced.truncateFullyAndStartAt(0)
          coalesced.appendAsLeader(batch, 0, 'client', COALESCE)
        }
      }],
      [`fs.writeSync, ${label} chunks (reference)${suffix}`, () => {
        for (let i = 0; i < perCall; i++) {
          if (position > RESTART) {
            ftruncateSync(fd, 0)
            position = 0
          }
          writeSync(fd, batch, 0, batch.length, position)
          position += batch.length
        }
      }]
    ], batch.length * perCall) as [[Result, number], [Result, number], [Result, number]]
    coalesced.writePending()
    await dropLog(direct)
    await dropLog(coalesced)
    closeSync(fd)
    rmSync(path)

    // Like dd: fresh files of 256 MiB, only the writes timed, rounds interleaved; best of 3.
    const sameBs = String(batch.length)
    const sameCount = Math.ceil(RESTART / batch.length)
    const best = { dd: 0, ddSame: 0, direct: 0, coalesced: 0 }
    for (let round = 0; round < 3; round++) {
      best.dd = Math.max(best.dd, ddOnce(ddBs, ddCount))
      best.ddSame = Math.max(best.ddSame, ddOnce(sameBs, sameCount))
      execFileSync('sync')
      best.direct = Math.max(best.direct, await freshLog(batch, false))
      execFileSync('sync')
      best.coalesced = Math.max(best.coalesced, await freshLog(batch, true))
    }
    const line = (name: string, value: number): void => console.log(`${name.padEnd(58)} ${value.toFixed(1).padStart(27)} MB/s`)
    line(`dd bs=${ddBs} count=${ddCount} (reference)`, best.dd)
    line(`dd bs=${sameBs} count=${sameCount} (reference, batch-sized writes)`, best.ddSame)
    line(`samsa direct, fresh 256 MiB log, like dd`, best.direct)
    line(`samsa coalesced, fresh 256 MiB log, like dd`, best.coalesced)
    ratio(`append ${label} / fs.writeSync`, ours, plain)
    ratio(`append ${label} coalesced / fs.writeSync`, merged, plain)
    const x = (a: number, b: number): string => (a / b).toFixed(2)
    console.log(`${`append ${label} harness / dd bs=${ddBs}: direct, coalesced`.padEnd(58)} ${x(ours.mbPerSec!, best.dd)}×, ${x(merged.mbPerSec!, best.dd)}×`)
    console.log(`${`append ${label} like dd / dd bs=${ddBs}: direct, coalesced`.padEnd(58)} ${x(best.direct, best.dd)}×, ${x(best.coalesced, best.dd)}×`)
    console.log(`${`append ${label} like dd / dd bs=${sameBs}: direct, coalesced`.padEnd(58)} ${x(best.direct, best.ddSame)}×, ${x(best.coalesced, best.ddSame)}×`)
    const mb = (v: number): string => `${v.toFixed(0)} MB/s`
    rows.push({ name: `append ${label}, coalesced, harness, vs dd bs=${ddBs}`, ours: mbps(merged), reference: mb(best.dd), ratio: x(merged.mbPerSec!, best.dd), target: '≥ 0.8' })
    rows.push({ name: `append ${label}, coalesced, like dd, vs dd bs=${ddBs}`, ours: mb(best.coalesced), reference: mb(best.dd), ratio: x(best.coalesced, best.dd), target: '≥ 0.8' })
    rows.push({ name: `append ${label}, coalesced, like dd, vs dd bs=${sameBs}`, ours: mb(best.coalesced), reference: mb(best.ddSame), ratio: x(best.coalesced, best.ddSame), target: '' })
    rows.push({ name: `append ${label}, direct, harness, vs dd bs=${ddBs}`, ours: mbps(ours), reference: mb(best.dd), ratio: x(ours.mbPerSec!, best.dd), target: '' })
    rows.push({ name: `append ${label}, direct, like dd, vs dd bs=${ddBs}`, ours: mb(best.direct), reference: mb(best.dd), ratio: x(best.direct, best.dd), target: '' })
    rows.push({ name: `append ${label}, direct, like dd, vs dd bs=${sameBs}`, ours: mb(best.direct), reference: mb(best.ddSame), ratio: x(best.direct, best.ddSame), target: '' })
    rows.push({ name: `append ${label}, direct, harness, vs fs.writeSync`, ours: mbps(ours), reference: mbps(plain), ratio: (ours.opsPerSec / plain.opsPerSec).toFixed(2), p50Ratio: (plainP50 / oursP50).toFixed(2), target: '' })
    rows.push({ name: `append ${label}, coalesced, harness, vs fs.writeSync`, ours: mbps(merged), reference: mbps(plain), ratio: (merged.opsPerSec / plain.opsPerSec).toFixed(2), p50Ratio: (plainP50 / mergedP50).toFixed(2), target: '' })
  }
}


// ---- read
if (selected('read')) {
  console.log('\n## read (page cache, 1 MB fetches)')
  for (const [label, records] of [['16 KB', 16], ['1 MB', 1024]] as const) {
    const batch = batchOf(records)
    const log = newLog()
    const target = 256 * 1024 * 1024
    while (log.size < target) log.appendAsLeader(batch, 0)
    log.highWatermark = log.logEndOffset
    const end = log.logEndOffset
    let offset = 0
    let bytes = 0
    let reads = 0
    const path = log.activeSegment.logPath
    const fd = openSync(path, 'r')
    const size = log.activeSegment.size
    let position = 0
    const reused = Buffer.allocUnsafe(1024 * 1024)
    const readOurs = (): number => {
      const r = log.read(offset, { maxBytes: 1024 * 1024 })
      offset = r.records.length === 0 ? end : offset + (r.records.length / batch.length) * records
      if (offset >= end) offset = 0
      return r.records.length
    }
    const readPlain = (): number => {
      const buf = Buffer.allocUnsafe(1024 * 1024)
      const n = readSync(fd, buf, 0, buf.length, position)
      position += n
      if (position >= size) position = 0
      return n
    }
    // The reference allocates a new 1 MiB buffer per read, as a read whose bytes outlive the
    // call must (a Fetch hands them to a socket). At that size Buffer.allocUnsafe takes no
    // pooled memory: it is a fresh allocation, as Buffer.allocUnsafeSlow would be. The reused
    // buffer is no reference (its bytes are overwritten by the next read): it shows what fresh
    // memory costs (page faults, cache misses) against memory that stays hot.
    const [[ours, oursP50], [plain, plainP50], [hot]] = alternate([
      [`samsa read maxBytes 1 MB, ${label} batches`, () => {
        bytes += readOurs()
        reads++
      }],
      [`fs.readSync 1 MB into a new buffer (reference), ${label}`, readPlain],
      [`fs.readSync 1 MB into one reused buffer (not a reference)`, () => {
        const n = readSync(fd, reused, 0, reused.length, position)
        position += n
        if (position >= size) position = 0
      }]
    ], 1024 * 1024) as [[Result, number], [Result, number], [Result, number]]
    // The same two, in 15 short rounds each way, alternating: the median of the per-round
    // ratios (bytes per second, bytes as returned) is less at the mercy of one disturbed run.
    const paired = pairedRatio(readOurs, readPlain, 15, 200)
    closeSync(fd)
    // Reads return whole batches: scale MB/s by the bytes actually returned.
    const perRead = bytes / reads / (1024 * 1024)
    const oursMbps = ours.mbPerSec! * perRead
    console.log(`${`read ${label} / fs.readSync (per byte returned)`.padEnd(58)} ${(oursMbps / plain.mbPerSec!).toFixed(2)}×`)
    console.log(`${`read ${label} / fs.readSync into one reused buffer`.padEnd(58)} ${(oursMbps / hot.mbPerSec!).toFixed(2)}×`)
    console.log(`${`read ${label} / fs.readSync, median of 15 paired rounds`.padEnd(58)} ${paired.median.toFixed(2)}× (quartiles ${paired.low.toFixed(2)}–${paired.high.toFixed(2)})`)
    rows.push({
      name: `read, ${label} batches, 1 MB fetches, vs fs.readSync`,
      ours: `${oursMbps.toFixed(0)} MB/s`,
      reference: mbps(plain),
      ratio: (oursMbps / plain.mbPerSec!).toFixed(2),
      p50Ratio: ((plainP50 / oursP50) * perRead).toFixed(2),
      target: '≥ 0.8'
    })
    rows.push({
      name: `read, ${label} batches, vs fs.readSync, median of 15 pairs`,
      ours: '',
      reference: '',
      ratio: `${paired.median.toFixed(2)} (${paired.low.toFixed(2)}–${paired.high.toFixed(2)})`,
      target: '≥ 0.8'
    })
    rows.push({
      name: `read, ${label} batches, vs readSync into one reused buffer`,
      ours: `${oursMbps.toFixed(0)} MB/s`,
      reference: mbps(hot),
      ratio: (oursMbps / hot.mbPerSec!).toFixed(2),
      target: ''
    })

    if (records === 16) {
      // After a restart every byte is CRC-checked once, on its first read.
      await log.close()
      const reopened = PartitionLog.open({ fs, pool: new HandlePool(fs, 64), dir: log.dir, topic: 'bench', partition: 0, config: logConfig(), clean: true })
      reopened.highWatermark = reopened.logEndOffset
      const started = performance.now()
      let at = 0
      let read = 0
      while (at < reopened.logEndOffset) {
        const r = reopened.read(at, { maxBytes: 1024 * 1024 })
        read += r.records.length
        at += (r.records.length / batch.length) * records
      }
      const seconds = (performance.now() - started) / 1000
      console.log(`${'first read after a clean restart (CRC-32C on read), 16 KB'.padEnd(58)} ${(read / seconds / MB).toFixed(1).padStart(27)} MB/s`)
      rows.push({ name: 'read after a clean restart (CRC-checked), 16 KB batches', ours: `${(read / seconds / MB).toFixed(0)} MB/s`, reference: '', ratio: '', target: '' })
      await reopened.delete()
    } else {
      await dropLog(log)
    }
  }
}

// ---- recovery
if (selected('recovery')) {
  console.log('\n## recovery of a 1 GB log after an unclean shutdown')
  const free = (() => {
    const s = statfsSync(root)
    return s.bavail * s.bsize
  })()
  const dfLine = execFileSync('df', ['-h', root], { encoding: 'utf8' }).trim().split('\n').at(-1)
  console.log(`df: ${dfLine}`)
  if (free < 5e9) {
    console.log(`skipped: ${(free / 1e9).toFixed(1)} GB free, 5 GB needed`)
    rows.push({ name: 'recovery of 1 GB, 16 KB batches', ours: 'skipped (< 5 GB free)', reference: '', ratio: '', target: '' })
  } else {
    const batch = batchOf(16)
    const log = newLog()
    while (log.size < 1024 * 1024 * 1024) log.appendAsLeader(batch, 0)
    const bytes = log.size
    const segments = log.segments.length
    const dir = log.dir
    // An unclean shutdown: no close, no flush, no marker; the page cache keeps the data.
    const started = performance.now()
    const recovered = PartitionLog.open({ fs, pool: new HandlePool(fs, 64), dir, topic: 'bench', partition: 0, config: logConfig(), clean: false, recoveryPoint: 0 })
    const seconds = (performance.now() - started) / 1000
    if (recovered.logEndOffset !== log.logEndOffset || recovered.recovery.truncatedBytes !== 0) throw new Error('recovery lost data')
    console.log(`recovered ${(bytes / 1e9).toFixed(2)} GB in ${segments} segment(s), ${recovered.recovery.recoveredSegments} validated: ${seconds.toFixed(2)} s, ${(bytes / seconds / MB).toFixed(0)} MB/s`)
    rows.push({ name: 'recovery of 1 GB (16 KB batches, CRC + index rebuild)', ours: `${seconds.toFixed(2)} s, ${(bytes / seconds / MB).toFixed(0)} MB/s`, reference: '', ratio: '', target: '' })
    await recovered.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

// ---- 10,000 partitions
if (selected('partitions')) {
  console.log('\n## 10,000 open partitions')
  const fdCount = (): number => readdirSync('/proc/self/fd').length
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  const before = { ...process.memoryUsage(), fds: fdCount() }
  const started = performance.now()
  const manager = await LogManager.open({ dataDir: join(root, 'many'), fs, cleanerEnable: false })
  const small = buildRecordBatch({ records: [{ key: null, value: Buffer.alloc(100, 0x62) }], timestamp: Date.now() })
  for (let i = 0; i < 10_000; i++) {
    const log = manager.getOrCreateLog(`topic-${i % 100}`, Math.floor(i / 100))
    log.appendAsLeader(Buffer.from(small), -1)
  }
  const createSeconds = (performance.now() - started) / 1000
  gc?.()
  const after = { ...process.memoryUsage(), fds: fdCount() }
  const perPartition = (after.rss - before.rss) / 10_000
  console.log(`created and appended to 10,000 partitions in ${createSeconds.toFixed(1)} s`)
  console.log(`RSS ${(before.rss / MB).toFixed(0)} -> ${(after.rss / MB).toFixed(0)} MB (${(perPartition / 1024).toFixed(1)} KB per partition); heap used ${(before.heapUsed / MB).toFixed(0)} -> ${(after.heapUsed / MB).toFixed(0)} MB; open fds ${before.fds} -> ${after.fds} (pool bound ${manager.pool.maxOpen})`)
  rows.push({ name: '10,000 partitions: RSS', ours: `+${((after.rss - before.rss) / MB).toFixed(0)} MB (${(perPartition / 1024).toFixed(1)} KB each)`, reference: '', ratio: '', target: '' })
  rows.push({ name: '10,000 partitions: heap used', ours: `+${((after.heapUsed - before.heapUsed) / MB).toFixed(0)} MB`, reference: '', ratio: '', target: '' })
  rows.push({ name: '10,000 partitions: open fds', ours: `${after.fds} (bound ${manager.pool.maxOpen})`, reference: `${before.fds} before`, ratio: '', target: '' })
  manager.pool.closeAll()
}

// ---- summary

printSummary()

function printSummary (): void {
  console.log('\n## summary')
  const widths = [58, 26, 14, 6, 9, 6]
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
  console.log(line(['measurement', 'Samsa', 'reference', 'ratio', 'p50 ratio', 'target']))
  console.log(line(widths.map((w) => '-'.repeat(w))))
  for (const r of rows) console.log(line([r.name, r.ours, r.reference, r.ratio, r.p50Ratio ?? '', r.target]))
  console.log('ratio: best run of each (MB/s); p50 ratio: from the best per-call medians, per byte returned for reads.')
}
