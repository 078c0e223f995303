/**
 * Record-layer benchmarks: CRC-32C (native and the JS fallback), building a RecordBatch of
 * 1,000 records × 100 bytes (Samsa against kafkajs's encoder in the same run, reported as a
 * ratio), validating, stamping and decoding it.
 *
 *   node --import tsx bench/records.bench.ts
 *
 * Operations far below a microsecond are timed in loops of 100 calls (named "× 100"), since
 * the harness times each call on its own.
 */
import { createRequire } from 'node:module'
import {
  buildRecordBatch, crc32c, crc32cJs, crc32cNative, CRC32C_IMPLEMENTATION, decodeRecordBatch, setBaseOffset,
  validateBatch, type RecordInput
} from '../packages/protocol/src/records/mod.ts'
import { machine, measure, ratio } from './harness.ts'

const require = createRequire(import.meta.url)
const { RecordBatch: KafkaJsRecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as { RecordBatch: (options: unknown) => Promise<{ buffer: Buffer }> }
const KafkaJsRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (options: unknown) => unknown
const Long = require('kafkajs/src/utils/long') as { fromInt: (n: number) => unknown, fromValue: (n: number) => unknown }

console.log(`# records — ${machine()}; crc32c uses ${CRC32C_IMPLEMENTATION}`)

function times100 (fn: () => unknown): () => void {
  return () => {
    for (let i = 0; i < 100; i++) fn()
  }
}

// CRC-32C: native against the JS slicing-by-8 fallback.
for (const size of [100, 4 * 1024, 1024 * 1024]) {
  const buf = Buffer.alloc(size)
  for (let i = 0; i < size; i++) buf[i] = (i * 131 + 7) & 0xff
  const small = size < 1024
  const wrap = small ? times100 : (fn: () => unknown) => fn
  const bytes = small ? size * 100 : size
  const suffix = small ? ' × 100' : ''
  const minMs = size >= 1024 * 1024 ? 1500 : 800
  if (crc32cNative !== null) measure(`crc32c native, ${size} B${suffix}`, wrap(() => crc32cNative!(buf)), { bytes, minMs })
  measure(`crc32c JS slicing-by-8, ${size} B${suffix}`, wrap(() => crc32cJs(buf)), { bytes, minMs })
  if (small) measure(`crc32c (auto: JS below 96 B), ${size} B${suffix}`, wrap(() => crc32c(buf)), { bytes, minMs })
}
console.log()

// A batch of 1,000 records: 10-byte keys, 100-byte values, as a producer would send it.
const T0 = Date.now()
const messages = Array.from({ length: 1000 }, (_, i) => ({
  key: Buffer.from(`key-${String(i).padStart(6, '0')}`),
  value: Buffer.alloc(100, i & 0xff),
  timestamp: T0 + i
}))
const records: RecordInput[] = messages

function samsa (): Buffer {
  return buildRecordBatch({ records, producerId: -1n, producerEpoch: 0, baseSequence: 0, partitionLeaderEpoch: 0 })
}

/**
 * What kafkajs's Produce v3+ encoder does per partition: Record() for each message, then
 * RecordBatch(). RecordBatch is async, but for an uncompressed batch it does all its work
 * before returning (no await is reached), so it is timed as a synchronous call.
 */
function kafkajs (): Promise<{ buffer: Buffer }> {
  const encoded = messages.map((m, i) => KafkaJsRecord({ offsetDelta: i, timestampDelta: m.timestamp - T0, key: m.key, value: m.value }))
  return KafkaJsRecordBatch({
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
}

const batch = samsa()
if (!batch.equals((await kafkajs()).buffer)) throw new Error('Samsa and kafkajs encode differently: the comparison would be meaningless')
const ours = measure('build RecordBatch 1000 × 100 B: Samsa', samsa, { bytes: batch.length, minMs: 3000 })
const theirs = measure('build RecordBatch 1000 × 100 B: kafkajs 2.2.4', () => { void kafkajs() }, { bytes: batch.length, minMs: 3000 })
ratio('  Samsa / kafkajs (throughput)', ours, theirs)
console.log(`${'  Samsa / kafkajs (p50 latency)'.padEnd(58)} ${(theirs.p50Us / ours.p50Us).toFixed(2)}×`)
console.log()

measure(`validateBatch (header + CRC-32C), ${batch.length} B`, () => validateBatch(batch), { bytes: batch.length })
measure('setBaseOffset in place × 100', times100(() => setBaseOffset(batch, 0, 123_456)))
measure('decodeRecordBatch, 1000 records', () => decodeRecordBatch(batch), { bytes: batch.length })
