/**
 * A small benchmark harness: warm up, then time individual operations and print throughput
 * with latency percentiles. Numbers on these shared machines are noisy; always compare against
 * a reference measured in the same run and report the ratio.
 */
import { spawn } from 'node:child_process'
import { cpus } from 'node:os'

export interface Result {
  name: string
  ops: number
  seconds: number
  opsPerSec: number
  mbPerSec: number | null
  p50Us: number
  p99Us: number
}

export interface MeasureOptions {
  /** Bytes processed by one call, for MB/s. */
  bytes?: number
  /** Minimum measured time in milliseconds (default 1500). */
  minMs?: number
  warmupMs?: number
}

function percentile (sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!
}

/** Runs `fn` repeatedly; each call is timed on its own (so keep one call above ~1 µs). */
export function measure (name: string, fn: () => unknown, options: MeasureOptions = {}): Result {
  const minMs = options.minMs ?? 1500
  const warmupEnd = performance.now() + (options.warmupMs ?? 300)
  while (performance.now() < warmupEnd) fn()
  const samples: number[] = []
  const start = process.hrtime.bigint()
  const deadline = start + BigInt(Math.round(minMs * 1e6))
  let now = start
  while (now < deadline) {
    const t0 = process.hrtime.bigint()
    fn()
    now = process.hrtime.bigint()
    samples.push(Number(now - t0) / 1000)
  }
  const seconds = Number(now - start) / 1e9
  const sorted = Float64Array.from(samples).sort()
  const result: Result = {
    name,
    ops: samples.length,
    seconds,
    opsPerSec: samples.length / seconds,
    mbPerSec: options.bytes === undefined ? null : (samples.length * options.bytes) / seconds / 1e6,
    p50Us: percentile(sorted, 0.5),
    p99Us: percentile(sorted, 0.99)
  }
  print(result)
  return result
}

export function print (r: Result): void {
  const mb = r.mbPerSec === null ? '' : `  ${r.mbPerSec.toFixed(1).padStart(9)} MB/s`
  console.log(`${r.name.padEnd(58)} ${r.opsPerSec.toFixed(0).padStart(10)} ops/s${mb}  p50 ${r.p50Us.toFixed(1)} µs  p99 ${r.p99Us.toFixed(1)} µs`)
}

export function ratio (label: string, ours: Result, reference: Result): void {
  console.log(`${label.padEnd(58)} ${(ours.opsPerSec / reference.opsPerSec).toFixed(2)}×`)
}

export function machine (): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  return `${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} × ${cpu}`
}

/** A child process's stdout and stderr; rejects on a non-zero exit. */
export async function output (command: string, args: string[]): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let text = ''
    child.stdout.on('data', (c: Buffer) => { text += c.toString() })
    child.stderr.on('data', (c: Buffer) => { text += c.toString() })
    child.on('error', reject)
    child.on('close', (code) => code === 0 ? resolve(text) : reject(new Error(`${command} exited with ${String(code)}:\n${text}`)))
  })
}

/** One timed run of a client benchmark. */
export interface ClientRun {
  seconds: number
  records: number
}

/** Best runs of client benchmarks by client name and record size (the fastest run counts). */
export class ClientResults {
  readonly #best = new Map<string, ClientRun>()

  add (client: string, size: number, run: ClientRun): void {
    const key = `${client}|${size}`
    const best = this.#best.get(key)
    if (best === undefined || run.seconds < best.seconds) this.#best.set(key, run)
  }

  /** Records per second of the best run; NaN when the client has none at that size. */
  rate (client: string, size: number): number {
    const r = this.#best.get(`${client}|${size}`)
    return r === undefined ? NaN : r.records / r.seconds
  }

  /** One line: records/s and MB/s of the best run. */
  printLine (client: string, size: number): void {
    const rps = this.rate(client, size)
    console.log(`${client.padEnd(42)} ${String(size).padStart(5)} B  ${rps.toFixed(0).padStart(9)} records/s  ${(rps * size / 1e6).toFixed(1).padStart(7)} MB/s`)
  }

  /** A Markdown table for BENCHMARKS.md: rates at 100 B and 1 KB, and ratios to the references. */
  printTable (clients: readonly string[], references: ReadonlyArray<{ label: string, client: string }>): void {
    const sizes = [100, 1024]
    console.log(`\n| client | 100 B records/s | 100 B MB/s | 1 KB records/s | 1 KB MB/s | ${references.map((r) => `vs ${r.label} (100 B / 1 KB)`).join(' | ')} |`)
    console.log(`| --- | ---: | ---: | ---: | ---: | ${references.map(() => '---:').join(' | ')} |`)
    for (const client of clients) {
      const cells = sizes.flatMap((size) => [this.rate(client, size).toFixed(0), (this.rate(client, size) * size / 1e6).toFixed(1)])
      const vs = (other: string): string => sizes.map((size) => `${(this.rate(client, size) / this.rate(other, size)).toFixed(2)}×`).join(' / ')
      console.log(`| ${client} | ${cells.join(' | ')} | ${references.map((r) => vs(r.client)).join(' | ')} |`)
    }
  }
}
