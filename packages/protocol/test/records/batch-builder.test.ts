import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { CompressionType } from '../../src/compression/codec.ts'
import { ProtocolEncodeError } from '../../src/primitives/errors.ts'
import { buildRecordBatch } from '../../src/records/batch-builder.ts'
import { decodeRecordBatch, DEFAULT_MAX_DECOMPRESSED_BYTES } from '../../src/records/batch-decoder.ts'
import { readBatchHeader, TimestampType, validateBatch } from '../../src/records/record-batch.ts'
import type { RecordInput } from '../../src/records/record.ts'

const require = createRequire(import.meta.url)
const { RecordBatch: KafkaJsRecordBatch } = require('kafkajs/src/protocol/recordBatch/v0')
const KafkaJsRecord = require('kafkajs/src/protocol/recordBatch/record/v0')
const Long = require('kafkajs/src/utils/long')

const T0 = 1_700_000_000_000

const bytes = fc.oneof(
  fc.constant(null),
  fc.constant(Buffer.alloc(0)),
  fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
  fc.uint8Array({ minLength: 200, maxLength: 3000 }).map((a) => Buffer.from(a))
)
const header = fc.record({ key: fc.string({ maxLength: 12 }), value: fc.oneof(fc.constant(null), fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a))) })
const record = fc.record({
  key: bytes,
  value: bytes,
  headers: fc.array(header, { maxLength: 4 }),
  // Large deltas both ways (up to ~±2^50 ms) exercise multi-byte varlongs.
  timestamp: fc.oneof(fc.integer({ min: T0 - 1000, max: T0 + 1000 }), fc.integer({ min: 0, max: 2 ** 50 }))
})
const codec = fc.constantFrom(...Object.values(CompressionType))

describe('buildRecordBatch / decodeRecordBatch', () => {
  it('round-trips random records with every codec', () => {
    fc.assert(fc.property(fc.array(record, { minLength: 1, maxLength: 20 }), codec, fc.bigInt({ min: 0n, max: 2n ** 62n }), (records, compression, baseOffset) => {
      const buf = buildRecordBatch({ records, compression, baseOffset, producerId: 5n, producerEpoch: 1, baseSequence: 0, isTransactional: true })
      const validation = validateBatch(buf)
      assert.ok(validation.ok, validation.ok ? '' : validation.reason)
      const decoded = decodeRecordBatch(buf)
      const h = decoded.header
      assert.equal(decoded.size, buf.length)
      assert.equal(h.baseOffset, baseOffset)
      assert.equal(h.compression, compression)
      assert.equal(h.isTransactional, true)
      assert.equal(h.recordsCount, records.length)
      assert.equal(h.lastOffsetDelta, records.length - 1)
      assert.equal(h.baseTimestamp, records[0]!.timestamp)
      assert.equal(h.maxTimestamp, Math.max(...records.map((r) => r.timestamp)))
      decoded.records.forEach((got, i) => {
        const want = records[i]!
        assert.equal(got.offsetDelta, i)
        assert.equal(h.baseTimestamp + got.timestampDelta, want.timestamp)
        assert.deepEqual(got.key, want.key)
        assert.deepEqual(got.value, want.value)
        assert.deepEqual(got.headers, want.headers.map((hdr) => ({ ...hdr })))
      })
    }), { numRuns: 300 })
  })

  it('matches kafkajs\'s RecordBatch encoder byte for byte (uncompressed and gzip)', async () => {
    const kafkajsRecord = fc.record({
      key: fc.oneof(fc.constant(null), fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a))),
      value: fc.oneof(fc.constant(null), fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a))),
      headers: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.uint8Array({ maxLength: 10 }).map((a) => Buffer.from(a)), { maxKeys: 3 }),
      step: fc.nat(100000)
    })
    await fc.assert(fc.asyncProperty(fc.array(kafkajsRecord, { minLength: 1, maxLength: 30 }), fc.boolean(), fc.constantFrom(0, 1), async (input, transactional, compression) => {
      // Non-decreasing timestamps: kafkajs's firstTimestamp is the smallest, ours the first.
      let ts = T0
      const records = input.map((r) => ({ ...r, timestamp: (ts += r.step) }))
      const firstTimestamp = records[0]!.timestamp
      const maxTimestamp = records[records.length - 1]!.timestamp
      const theirs = await KafkaJsRecordBatch({
        compression,
        firstOffset: Long.fromInt(0),
        firstTimestamp,
        maxTimestamp,
        partitionLeaderEpoch: 0,
        lastOffsetDelta: records.length - 1,
        transactional,
        producerId: Long.fromValue(-1),
        producerEpoch: 0,
        firstSequence: 0,
        records: records.map((r, i) => KafkaJsRecord({ offsetDelta: i, timestampDelta: r.timestamp - firstTimestamp, key: r.key, value: r.value, headers: r.headers }))
      })
      const ours = buildRecordBatch({
        records: records.map((r) => ({ key: r.key, value: r.value, timestamp: r.timestamp, headers: Object.entries(r.headers).map(([key, value]) => ({ key, value })) })),
        compression,
        partitionLeaderEpoch: 0,
        producerId: -1n,
        producerEpoch: 0,
        baseSequence: 0,
        isTransactional: transactional
      })
      assert.deepEqual(ours, theirs.buffer)
    }), { numRuns: 150 })
  })

  it('uses Kafka\'s defaults for producer fields', () => {
    const buf = buildRecordBatch({ records: [{ value: 'x' }], timestamp: T0 })
    const h = readBatchHeader(buf)
    assert.equal(h.baseOffset, 0n)
    assert.equal(h.partitionLeaderEpoch, -1)
    assert.equal(h.producerId, -1n)
    assert.equal(h.producerEpoch, -1)
    assert.equal(h.baseSequence, -1)
    assert.equal(h.baseTimestamp, T0)
    assert.equal(h.compression, 0)
    assert.equal(h.timestampType, TimestampType.CreateTime)
  })

  it('defaults record timestamps to now, and takes the first record\'s as baseTimestamp', () => {
    const before = Date.now()
    const h = readBatchHeader(buildRecordBatch({ records: [{ value: 'x' }] }))
    assert.ok(h.baseTimestamp >= before && h.baseTimestamp <= Date.now())
    const decoded = decodeRecordBatch(buildRecordBatch({ records: [{ timestamp: T0 + 50 }, { timestamp: T0 }, { timestamp: T0 + 80 }] }))
    assert.equal(decoded.header.baseTimestamp, T0 + 50)
    assert.equal(decoded.header.maxTimestamp, T0 + 80)
    assert.deepEqual(decoded.records.map((r) => r.timestampDelta), [0, -50, 30])
  })

  it('writes explicit offset deltas, control and LogAppendTime attributes, numbers for int64 fields', () => {
    const buf = buildRecordBatch({
      records: [{ value: 'a', offsetDelta: 2 }, { value: 'b', offsetDelta: 9 }],
      baseOffset: 1000,
      producerId: 77,
      isControlBatch: true,
      timestampType: TimestampType.LogAppendTime,
      timestamp: T0,
      logAppendTime: T0 + 5
    })
    const decoded = decodeRecordBatch(buf)
    assert.equal(decoded.header.baseOffset, 1000n)
    assert.equal(decoded.header.producerId, 77n)
    assert.equal(decoded.header.lastOffsetDelta, 9)
    assert.equal(decoded.header.isControlBatch, true)
    assert.equal(decoded.header.timestampType, TimestampType.LogAppendTime)
    assert.equal(decoded.header.maxTimestamp, T0 + 5)
    assert.deepEqual(decoded.records.map((r) => r.offsetDelta), [2, 9])
    // LogAppendTime without an explicit append time uses `timestamp`.
    assert.equal(readBatchHeader(buildRecordBatch({ records: [{ timestamp: 1 }], timestamp: T0, timestampType: TimestampType.LogAppendTime })).maxTimestamp, T0)
  })

  it('rejects input it cannot encode', () => {
    assert.throws(() => buildRecordBatch({ records: [] }), ProtocolEncodeError)
    assert.throws(() => buildRecordBatch({ records: [{ offsetDelta: 1 }, { offsetDelta: 1 }] }), /increasing/)
    assert.throws(() => buildRecordBatch({ records: [{ offsetDelta: -1 }] }), /increasing/)
    assert.throws(() => buildRecordBatch({ records: [{ offsetDelta: 2 ** 31 }] }), /increasing/)
    assert.throws(() => buildRecordBatch({ records: [{ offsetDelta: 1.5 }] }), /increasing/)
    assert.throws(() => buildRecordBatch({ records: [{ timestamp: 0 }, { timestamp: Number.NaN }] }), /timestamp/)
    assert.throws(() => buildRecordBatch({ records: [{}], baseOffset: 2 ** 60 }), ProtocolEncodeError)
    assert.throws(() => buildRecordBatch({ records: [{}], compression: 9 as CompressionType }), ProtocolEncodeError)
  })

  it('applies the compression level', () => {
    const records: RecordInput[] = Array.from({ length: 200 }, (_, i) => ({ value: `{"id":${i},"name":"user-${i}","active":true}` }))
    const fast = buildRecordBatch({ records, compression: CompressionType.gzip, compressionLevel: 1, timestamp: T0 })
    const best = buildRecordBatch({ records, compression: CompressionType.gzip, compressionLevel: 9, timestamp: T0 })
    assert.ok(best.length <= fast.length)
    assert.deepEqual(decodeRecordBatch(best).records.map((r) => r.value!.toString()), records.map((r) => r.value))
  })

  it('bounds decompression of a batch by maxDecompressedBytes', () => {
    const records: RecordInput[] = [{ value: Buffer.alloc(2 * 1024 * 1024) }]
    for (const compression of [1, 2, 3, 4] as const) {
      const buf = buildRecordBatch({ records, compression, timestamp: T0 })
      assert.ok(buf.length < 200 * 1024)
      assert.throws(() => decodeRecordBatch(buf, 0, { maxDecompressedBytes: 1024 * 1024 }), { name: 'DecompressionLimitError' })
      assert.equal(decodeRecordBatch(buf).records[0]!.value!.length, 2 * 1024 * 1024)
    }
    assert.equal(DEFAULT_MAX_DECOMPRESSED_BYTES, 64 * 1024 * 1024)
  })
})
