import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { CompressionType } from '../../src/compression/codec.ts'
import { ProtocolDecodeError } from '../../src/primitives/errors.ts'
import { buildRecordBatch } from '../../src/records/batch-builder.ts'
import { decodeRecordBatch } from '../../src/records/batch-decoder.ts'
import { crc32c } from '../../src/records/crc32c.ts'
import {
  ATTRIBUTES_OFFSET, BASE_OFFSET_OFFSET, BASE_SEQUENCE_OFFSET, BASE_TIMESTAMP_OFFSET, batchSizeAt, computeBatchCrc,
  CONTROL_FLAG_MASK, CRC_OFFSET, iterateBatches, LAST_OFFSET_DELTA_OFFSET, LENGTH_OFFSET, LOG_OVERHEAD, MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET, MIN_BATCH_LENGTH, PARTITION_LEADER_EPOCH_OFFSET, PRODUCER_EPOCH_OFFSET, PRODUCER_ID_OFFSET,
  readAttributes, readBaseOffset, readBaseSequence, readBaseTimestamp, readBatchHeader, readBatchLength, readCrc,
  readLastOffset, readLastOffsetDelta, readMagic, readMaxTimestamp, readPartitionLeaderEpoch, readProducerEpoch,
  readProducerId, readRecordsCount, RECORD_BATCH_OVERHEAD, RECORDS_COUNT_OFFSET, RECORDS_OFFSET, recordSetMagic,
  setBaseOffset, setLogAppendTime, setPartitionLeaderEpoch, TimestampType, updateBatchCrc, validateBatch,
  validateProduceRecords, type BatchValidation
} from '../../src/records/record-batch.ts'

const T0 = 1_700_000_000_000

function sample (overrides: Partial<Parameters<typeof buildRecordBatch>[0]> = {}): Buffer {
  return buildRecordBatch({
    records: [
      { key: 'k0', value: 'v0', timestamp: T0 },
      { key: null, value: 'v1', timestamp: T0 + 5, headers: [{ key: 'h', value: 'x' }] },
      { key: 'k2', value: null, timestamp: T0 + 3 }
    ],
    producerId: 42n,
    producerEpoch: 3,
    baseSequence: 7,
    partitionLeaderEpoch: 9,
    ...overrides
  })
}

function errorOf (result: BatchValidation): string {
  assert.equal(result.ok, false, 'expected the batch to be rejected')
  return result.ok ? '' : result.error
}

describe('RecordBatch v2 layout', () => {
  it('has Kafka\'s field offsets', () => {
    assert.deepEqual(
      [BASE_OFFSET_OFFSET, LENGTH_OFFSET, PARTITION_LEADER_EPOCH_OFFSET, MAGIC_OFFSET, CRC_OFFSET, ATTRIBUTES_OFFSET,
        LAST_OFFSET_DELTA_OFFSET, BASE_TIMESTAMP_OFFSET, MAX_TIMESTAMP_OFFSET, PRODUCER_ID_OFFSET, PRODUCER_EPOCH_OFFSET,
        BASE_SEQUENCE_OFFSET, RECORDS_COUNT_OFFSET, RECORDS_OFFSET, RECORD_BATCH_OVERHEAD, LOG_OVERHEAD, MIN_BATCH_LENGTH],
      [0, 8, 12, 16, 17, 21, 23, 27, 35, 43, 51, 53, 57, 61, 61, 12, 49])
  })

  it('reads the header and every field accessor', () => {
    const buf = sample()
    const h = readBatchHeader(buf)
    assert.equal(h.baseOffset, 0n)
    assert.equal(h.batchLength, buf.length - 12)
    assert.equal(h.partitionLeaderEpoch, 9)
    assert.equal(h.magic, 2)
    assert.equal(h.crc, computeBatchCrc(buf))
    assert.equal(h.attributes, 0)
    assert.equal(h.lastOffsetDelta, 2)
    assert.equal(h.baseTimestamp, T0)
    assert.equal(h.maxTimestamp, T0 + 5)
    assert.equal(h.producerId, 42n)
    assert.equal(h.producerEpoch, 3)
    assert.equal(h.baseSequence, 7)
    assert.equal(h.recordsCount, 3)
    assert.equal(h.compression, 0)
    assert.equal(h.timestampType, TimestampType.CreateTime)
    assert.equal(h.isTransactional, false)
    assert.equal(h.isControlBatch, false)
    assert.equal(h.hasDeleteHorizonMs, false)

    assert.equal(readBaseOffset(buf), 0)
    assert.equal(readBatchLength(buf), h.batchLength)
    assert.equal(readPartitionLeaderEpoch(buf), 9)
    assert.equal(readMagic(buf), 2)
    assert.equal(readCrc(buf), h.crc)
    assert.equal(readAttributes(buf), 0)
    assert.equal(readLastOffsetDelta(buf), 2)
    assert.equal(readBaseTimestamp(buf), T0)
    assert.equal(readMaxTimestamp(buf), T0 + 5)
    assert.equal(readProducerId(buf), 42n)
    assert.equal(readProducerEpoch(buf), 3)
    assert.equal(readBaseSequence(buf), 7)
    assert.equal(readRecordsCount(buf), 3)
  })

  it('decodes the attribute bits', () => {
    const buf = sample({ compression: CompressionType.gzip, isTransactional: true, timestampType: TimestampType.LogAppendTime, logAppendTime: T0 + 99 })
    const h = readBatchHeader(buf)
    assert.equal(h.compression, CompressionType.gzip)
    assert.equal(h.timestampType, TimestampType.LogAppendTime)
    assert.equal(h.isTransactional, true)
    assert.equal(h.maxTimestamp, T0 + 99)
    assert.equal(h.attributes, 0x19)
  })

  it('readBatchHeader rejects a short buffer and another magic with ProtocolDecodeError', () => {
    const buf = sample()
    assert.throws(() => readBatchHeader(buf.subarray(0, 60)), ProtocolDecodeError)
    assert.throws(() => readBatchHeader(buf, buf.length - 10), ProtocolDecodeError)
    assert.throws(() => readBatchHeader(buf, -1), ProtocolDecodeError)
    const legacy = Buffer.from(buf)
    legacy[MAGIC_OFFSET] = 1
    assert.throws(() => readBatchHeader(legacy), /magic 1/)
  })
})

describe('in-place stamping', () => {
  it('setBaseOffset (number and bigint) and setPartitionLeaderEpoch keep the CRC valid', () => {
    const buf = sample()
    setBaseOffset(buf, 0, 123_456_789_012)
    assert.equal(readBaseOffset(buf), 123_456_789_012)
    assert.equal(readBatchHeader(buf).baseOffset, 123_456_789_012n)
    assert.equal(readLastOffset(buf), 123_456_789_014)
    setBaseOffset(buf, 0, 2n ** 62n)
    assert.equal(readBatchHeader(buf).baseOffset, 2n ** 62n)
    setBaseOffset(buf, 0, 5)
    setPartitionLeaderEpoch(buf, 0, 77)
    assert.equal(readPartitionLeaderEpoch(buf), 77)
    assert.equal(validateBatch(buf).ok, true)
    assert.equal(decodeRecordBatch(buf).header.baseOffset, 5n)
    assert.throws(() => setBaseOffset(buf, 0, 2 ** 60), RangeError)
  })

  it('stamps a batch at a position inside a larger buffer', () => {
    const a = sample()
    const b = sample({ compression: CompressionType.snappy })
    const set = Buffer.concat([a, b])
    setBaseOffset(set, a.length, 1000)
    assert.equal(readBaseOffset(set, a.length), 1000)
    assert.equal(readBaseOffset(set, 0), 0)
    assert.equal(validateBatch(set, a.length).ok, true)
  })

  it('setLogAppendTime sets bit 3 and maxTimestamp and recomputes the CRC', () => {
    for (const compression of [0, 1, 2, 3, 4] as const) {
      const buf = sample({ compression })
      const before = readCrc(buf)
      setLogAppendTime(buf, 0, T0 + 1000)
      assert.equal(readAttributes(buf) & 0x08, 0x08)
      assert.equal(readAttributes(buf) & 0x07, compression)
      assert.equal(readMaxTimestamp(buf), T0 + 1000)
      assert.notEqual(readCrc(buf), before)
      assert.equal(readCrc(buf), crc32c(buf, ATTRIBUTES_OFFSET, buf.length))
      assert.equal(validateBatch(buf).ok, true)
      const decoded = decodeRecordBatch(buf)
      assert.equal(decoded.header.timestampType, TimestampType.LogAppendTime)
      assert.equal(decoded.records.length, 3)
    }
    // An unrepresentable timestamp changes nothing.
    const buf = sample()
    const before = Buffer.from(buf)
    assert.throws(() => setLogAppendTime(buf, 0, 2 ** 60), RangeError)
    assert.deepEqual(buf, before)
  })
})

describe('CRC-32C coverage', () => {
  const buf = sample()

  it('excludes baseOffset and partitionLeaderEpoch', () => {
    for (let i = 0; i < MAGIC_OFFSET; i++) {
      if (i >= LENGTH_OFFSET && i < PARTITION_LEADER_EPOCH_OFFSET) continue // the length frames the batch
      const copy = Buffer.from(buf)
      copy[i]! ^= 0x5a
      assert.equal(validateBatch(copy).ok, true, `byte ${i} should not be covered`)
    }
  })

  it('covers every byte from attributes to the end', () => {
    for (let i = ATTRIBUTES_OFFSET; i < buf.length; i++) {
      const copy = Buffer.from(buf)
      copy[i]! ^= 0x01
      const result = validateBatch(copy)
      assert.equal(errorOf(result), 'CORRUPT_MESSAGE', `byte ${i}`)
      assert.match(result.ok ? '' : result.reason, /crc/)
      assert.throws(() => decodeRecordBatch(copy), ProtocolDecodeError)
    }
  })

  it('a changed stored CRC is detected; verifyCrc: false skips the check', () => {
    const copy = Buffer.from(buf)
    copy[CRC_OFFSET]! ^= 0xff
    assert.equal(errorOf(validateBatch(copy)), 'CORRUPT_MESSAGE')
    assert.throws(() => decodeRecordBatch(copy), /corrupt/)
    assert.equal(decodeRecordBatch(copy, 0, { verifyCrc: false }).records.length, 3)
  })
})

describe('validateBatch', () => {
  function mutate (buf: Buffer, fn: (b: Buffer) => void): Buffer {
    const copy = Buffer.from(buf)
    fn(copy)
    updateBatchCrc(copy)
    return copy
  }

  it('accepts a producer batch and reports its size', () => {
    const buf = sample()
    const result = validateBatch(buf)
    assert.ok(result.ok)
    assert.equal(result.size, buf.length)
    assert.equal(result.header.recordsCount, 3)
  })

  it('maps each problem to Kafka\'s error', () => {
    const buf = sample()
    assert.equal(errorOf(validateBatch(buf.subarray(0, 16))), 'CORRUPT_MESSAGE')
    assert.equal(errorOf(validateBatch(buf, -1)), 'CORRUPT_MESSAGE')
    assert.equal(errorOf(validateBatch(buf.subarray(0, buf.length - 1))), 'CORRUPT_MESSAGE')
    assert.equal(errorOf(validateBatch(mutate(buf, (b) => { b[MAGIC_OFFSET] = 1 }))), 'INVALID_RECORD')
    assert.equal(errorOf(validateBatch(mutate(buf, (b) => { b.writeInt32BE(48, LENGTH_OFFSET) }))), 'CORRUPT_MESSAGE')
    assert.equal(errorOf(validateBatch(mutate(buf, (b) => { b.writeInt32BE(-5, LENGTH_OFFSET) }))), 'CORRUPT_MESSAGE')
    assert.equal(errorOf(validateBatch(buf, 0, { maxBatchSize: buf.length - 1 })), 'MESSAGE_TOO_LARGE')
    assert.equal(validateBatch(buf, 0, { maxBatchSize: buf.length }).ok, true)
    assert.equal(errorOf(validateBatch(mutate(buf, (b) => { b.writeInt16BE(5, ATTRIBUTES_OFFSET) }))), 'CORRUPT_MESSAGE')
    const zstd = sample({ compression: CompressionType.zstd })
    assert.equal(errorOf(validateBatch(zstd, 0, { allowZstd: false })), 'UNSUPPORTED_COMPRESSION_TYPE')
    assert.equal(validateBatch(zstd, 0, { allowZstd: true }).ok, true)
    const control = mutate(buf, (b) => { b.writeInt16BE(CONTROL_FLAG_MASK, ATTRIBUTES_OFFSET) })
    assert.equal(errorOf(validateBatch(control)), 'INVALID_RECORD')
    assert.equal(validateBatch(control, 0, { fromClient: false }).ok, true)
    assert.equal(errorOf(validateBatch(mutate(buf, (b) => { b.writeInt32BE(1, LAST_OFFSET_DELTA_OFFSET) }))), 'INVALID_RECORD')
    assert.equal(errorOf(validateBatch(mutate(buf, (b) => { b.writeInt32BE(-1, LAST_OFFSET_DELTA_OFFSET) }))), 'INVALID_RECORD')
    assert.equal(errorOf(validateBatch(mutate(buf, (b) => { b.writeInt32BE(0, RECORDS_COUNT_OFFSET) }))), 'INVALID_RECORD')
    assert.equal(errorOf(validateBatch(mutate(buf, (b) => { b.writeInt32BE(-1, RECORDS_COUNT_OFFSET) }))), 'CORRUPT_MESSAGE')
    assert.equal(errorOf(validateBatch(mutate(buf, (b) => { b.writeInt32BE(1000, RECORDS_COUNT_OFFSET) }))), 'CORRUPT_MESSAGE')
    assert.equal(errorOf(validateBatch(mutate(buf, (b) => { b.writeInt32BE(-1, BASE_SEQUENCE_OFFSET) }))), 'INVALID_RECORD')
    // No producer id: any sequence.
    assert.equal(validateBatch(sample({ producerId: -1n, baseSequence: -1 })).ok, true)
  })

  it('reports numeric Kafka error codes and a reason', () => {
    const result = validateBatch(sample(), 0, { maxBatchSize: 10 })
    assert.ok(!result.ok)
    assert.equal(result.errorCode, 10)
    assert.match(result.reason, /exceeds the maximum of 10/)
    const corrupt = validateBatch(Buffer.alloc(5))
    assert.ok(!corrupt.ok)
    assert.equal(corrupt.errorCode, 2)
  })

  it('allows compacted gaps (count below lastOffsetDelta + 1) for stored batches only', () => {
    const compacted = buildRecordBatch({ records: [{ value: 'a', offsetDelta: 0 }, { value: 'b', offsetDelta: 5 }], timestamp: T0 })
    assert.equal(errorOf(validateBatch(compacted)), 'INVALID_RECORD')
    assert.equal(validateBatch(compacted, 0, { fromClient: false }).ok, true)
    const decoded = decodeRecordBatch(compacted)
    assert.deepEqual(decoded.records.map((r) => r.offsetDelta), [0, 5])
    assert.equal(decoded.header.lastOffsetDelta, 5)
  })

  it('never throws on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, fromClient) => {
      const buf = Buffer.from(bytes)
      if (buf.length > 16) buf[MAGIC_OFFSET] = 2
      const result = validateBatch(buf, 0, { fromClient })
      assert.equal(typeof result.ok, 'boolean')
    }), { numRuns: 1000 })
  })
})

describe('validateProduceRecords', () => {
  it('requires exactly one batch filling the field', () => {
    const one = sample()
    assert.equal(validateProduceRecords(one).ok, true)
    assert.equal(errorOf(validateProduceRecords(null)), 'INVALID_RECORD')
    assert.equal(errorOf(validateProduceRecords(Buffer.alloc(0))), 'INVALID_RECORD')
    assert.equal(errorOf(validateProduceRecords(Buffer.concat([one, one]))), 'INVALID_RECORD')
    assert.equal(errorOf(validateProduceRecords(Buffer.concat([one, Buffer.alloc(3)]))), 'INVALID_RECORD')
    assert.equal(errorOf(validateProduceRecords(one.subarray(0, one.length - 2))), 'CORRUPT_MESSAGE')
  })
})

describe('record sets', () => {
  const batches = [sample(), sample({ compression: CompressionType.gzip }), sample({ compression: CompressionType.lz4 })]
  const set = Buffer.concat(batches)

  it('iterateBatches yields every batch and stops before a partial one at any cut', () => {
    const entries = [...iterateBatches(set)]
    assert.deepEqual(entries.map((e) => e.size), batches.map((b) => b.length))
    assert.deepEqual(entries.map((e) => e.magic), [2, 2, 2])
    assert.equal(entries[1]!.position, batches[0]!.length)
    for (let cut = 0; cut <= set.length; cut++) {
      const got = [...iterateBatches(set.subarray(0, cut))]
      let complete = 0
      let total = 0
      for (const b of batches) {
        if (total + b.length > cut) break
        total += b.length
        complete++
      }
      assert.equal(got.length, complete, `cut at ${cut}`)
    }
  })

  it('starts at an offset and reports the magic of an entry', () => {
    assert.equal([...iterateBatches(set, batches[0]!.length)].length, 2)
    assert.equal(recordSetMagic(set), 2)
    assert.equal(recordSetMagic(set.subarray(0, 16)), -1)
    assert.equal(batchSizeAt(set, 0), batches[0]!.length)
    assert.equal(batchSizeAt(set.subarray(0, 20), 0), 0)
  })

  it('a length below the minimum or an unknown magic is a ProtocolDecodeError', () => {
    const bad = Buffer.from(set)
    bad.writeInt32BE(10, LENGTH_OFFSET)
    assert.throws(() => [...iterateBatches(bad)], ProtocolDecodeError)
    const unknown = Buffer.from(set)
    unknown[MAGIC_OFFSET] = 3
    assert.throws(() => [...iterateBatches(unknown)], /magic 3/)
  })
})

describe('decodeRecordBatch on malformed input', () => {
  it('every truncation of every codec ends in ProtocolDecodeError', () => {
    for (const compression of [0, 1, 2, 3, 4] as const) {
      const buf = sample({ compression })
      for (let n = 0; n < buf.length; n++) {
        assert.throws(() => decodeRecordBatch(buf.subarray(0, n)), ProtocolDecodeError, `codec ${compression}, ${n} bytes`)
        assert.equal(validateBatch(buf.subarray(0, n)).ok, false)
      }
    }
  })

  it('a batch whose batchLength is short but the CRC matches', () => {
    const buf = sample()
    const copy = Buffer.from(buf)
    copy.writeInt32BE(40, LENGTH_OFFSET)
    assert.throws(() => decodeRecordBatch(copy), /smaller than the minimum/)
  })

  it('records that do not fill the section, or overrun it, are rejected even with a valid CRC', () => {
    const buf = sample()
    const fewer = Buffer.from(buf)
    fewer.writeInt32BE(2, RECORDS_COUNT_OFFSET)
    updateBatchCrc(fewer)
    assert.throws(() => decodeRecordBatch(fewer), /remain after the 2 records/)
    const more = Buffer.from(buf)
    more.writeInt32BE(4, RECORDS_COUNT_OFFSET)
    updateBatchCrc(more)
    assert.throws(() => decodeRecordBatch(more), ProtocolDecodeError)
    const huge = Buffer.from(buf)
    huge.writeInt32BE(0x7fffffff, RECORDS_COUNT_OFFSET)
    updateBatchCrc(huge)
    assert.throws(() => decodeRecordBatch(huge), /cannot fit/)
    const negative = Buffer.from(buf)
    negative.writeInt32BE(-3, RECORDS_COUNT_OFFSET)
    updateBatchCrc(negative)
    assert.throws(() => decodeRecordBatch(negative), /Invalid records count/)
    const codec = Buffer.from(buf)
    codec.writeInt16BE(6, ATTRIBUTES_OFFSET)
    updateBatchCrc(codec)
    assert.throws(() => decodeRecordBatch(codec), /Unknown compression type 6/)
  })

  it('random corruption with a recomputed CRC only ever throws ProtocolDecodeError', () => {
    const originals = [0, 1, 2, 3, 4].map((compression) => sample({ compression: compression as CompressionType }))
    fc.assert(fc.property(fc.nat(4), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }), (which, flips) => {
      const buf = Buffer.from(originals[which]!)
      for (const [at, value] of flips) buf[RECORDS_OFFSET - 4 + (at % (buf.length - RECORDS_OFFSET + 4))] = value
      updateBatchCrc(buf)
      try {
        decodeRecordBatch(buf, 0, { maxDecompressedBytes: 1 << 20 })
      } catch (error) {
        assert.ok(error instanceof ProtocolDecodeError, `unexpected ${String(error)}`)
      }
    }), { numRuns: 2000 })
  })
})
