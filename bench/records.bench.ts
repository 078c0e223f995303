/**
 * Record-layer benchmarks: CRC-32C (native and the JS fallback), building a RecordBatch of
 * 1,000 records × 100 bytes (Samsa against kafkajs's encoder, same run), validating and
 * decoding it.
 *
 *   node --import tsx bench/records.bench.ts
 *
 * Each case warms up, then takes timed samples for a fixed time; a sample times a group of
 * operations large enough (≥ 50 µs) that the clock's resolution does not matter, and the
 * percentiles are per operation within those samples.
 */
import { createRequire } from 'node:module'
import { availableParallelism, cpus } from 'node:os'
import {
  buildRecordBatch, crc32c, crc32cJs, crc32cNative, decodeRecordBatch, setBaseOffset, validateBatch, type RecordInput
} from '../packages/protocol/src/records/mod.ts'

interface Result {
  name: string
  p50: number
  p99: number
  mean: number
  ops: number
}

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!
}

/** Runs `fn` for about `seconds`; returns per-operation nanoseconds. */
async function measure (name: string, fn: () => unknown, seconds = 1.5): Promise<Result> {
  // Warm-up, and find a group size that takes at least 50 µs.
  let group = 1
  for (;;) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < group; i++) await fn()
    if (Number(process.hrtime.bigint() - start) >= 50_000 || group >= 1 << 20) break
    group *= 2
  }
  const warmUntil = process.hrtime.bigint() + 300_000_000n
  while (process.hrtime.bigint() < warmUntil) for (let i = 0; i < group; i++) await fn()
  const samples: number[] = []
  const end = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9))
  let ops = 0
  while (process.hrtime.bigint() < end) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < group; i++) await fn()
    samples.push(Number(process.hrtime.bigint() - start) / group)
    ops += group
  }
  samples.sort((a, b) => a - b)
  return { name, p50: percentile(samples, 0.5), p99: percentile(samples, 0.99), mean: samples.reduce((a, b) => a + b, 0) / samples.length, ops }
}

function fmtTime (ns: number): string {
  if (ns < 1_000) return `${ns.toFixed(0)} ns`
  if (ns < 1_000_000) return `${(ns / 1_000).toFixed(2)} µs`
  return `${(ns / 1_000_000).toFixed(2)} ms`
}

function report (r: Result, bytesPerOp?: number): void {
  const rate = bytesPerOp === undefined ? '' : `  ${(bytesPerOp / r.p50 * 1e9 / 1e6).toFixed(0).padStart(6)} MB/s`
  console.log(`${r.name.padEnd(52)} p50 ${fmtTime(r.p50).padStart(10)}  p99 ${fmtTime(r.p99).padStart(10)}${rate}`)
}

const require = createRequire(import.meta.url)
const { RecordBatch: KafkaJsRecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as { RecordBatch: (options: unknown) => Promise<{ buffer: Buffer }> }
const KafkaJsRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (options: unknown) => unknown
const Long = require('kafkajs/src/utils/long') as { fromInt: (n: number) => unknown, fromValue: (n: number) => unknown }

console.log(`# records bench — ${new Date().toISOString()}`)
console.log(`# node ${process.version}, ${availableParallelism()} CPUs, ${cpus()[0]?.model ?? 'unknown CPU'}`)
console.log()

// CRC-32C
for (const size of [100, 4 * 1024, 64 * 1024, 1024 * 1024]) {
  const buf = Buffer.alloc(size)
  for (let i = 0; i < size; i++) buf[i] = (i * 131 + 7) & 0xff
  if (crc32cNative !== null) report(await measure(`crc32c native, ${size} B`, () => crc32cNative!(buf)), size)
  report(await measure(`crc32c JS slicing-by-8, ${size} B`, () => crc32cJs(buf)), size)
  report(await measure(`crc32c (auto), ${size} B`, () => crc32c(buf)), size)
}
console.log()

// A batch of 1,000 records of 100-byte values (keys 10 bytes), as a producer would send.
const T0 = Date.now()
const messages = Array.from({ length: 1000 }, (_, i) => ({
  key: Buffer.from(`key-${String(i).padStart(6, '0')}`),
  value: Buffer.alloc(100, i & 0xff),
  timestamp: T0 + i
}))
const records: RecordInput[] = messages

function ours (): Buffer {
  return buildRecordBatch({ records, producerId: -1n, producerEpoch: 0, baseSequence: 0, partitionLeaderEpoch: 0 })
}

/** What kafkajs's Produce v3+ encoder does per partition: Record() each message, then RecordBatch(). */
async function kafkajs (): Promise<Buffer> {
  const encoded = messages.map((m, i) => KafkaJsRecord({ offsetDelta: i, timestampDelta: m.timestamp - T0, key: m.key, value: m.value }))
  const batch = await KafkaJsRecordBatch({
    firstOffset: Long.fromInt(0),
    firstTimestamp: T0,
    maxTimestamp: T0 + 999,
    partitionLeaderEpoch: 0,
    lastOffsetDelta: 999,
    producerId: Long.fromValue(-1),
    producerEpoch: 0,
    firstSequence: 0,
    records: encoded
  })
  return batch.buffer
}

const batch = ours()
if (!batch.equals(await kafkajs())) throw new Error('Samsa and kafkajs encodings differ: the comparison would be meaningless')
const oursResult = await measure('build batch 1000 × 100 B: Samsa', ours, 3)
const theirsResult = await measure('build batch 1000 × 100 B: kafkajs', kafkajs, 3)
report(oursResult, batch.length)
report(theirsResult, batch.length)
console.log(`${'  → Samsa is faster by (kafkajs p50 / Samsa p50)'.padEnd(52)} ${(theirsResult.p50 / oursResult.p50).toFixed(1)}×  (mean ${(theirsResult.mean / oursResult.mean).toFixed(1)}×)`)
console.log()

report(await measure(`validateBatch (header + CRC), ${batch.length} B`, () => validateBatch(batch)), batch.length)
report(await measure('setBaseOffset in place', () => setBaseOffset(batch, 0, 123_456)))
report(await measure('decodeRecordBatch, 1000 records', () => decodeRecordBatch(batch)), batch.length)
