/**
 * Golden bytes: kafkajs's record fixtures and the record sets inside its Fetch responses
 * (captured from real brokers) and Produce requests, in every format they hold.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CompressionType, decompress } from '../../src/compression/codec.ts'
import { ProtocolDecodeError } from '../../src/primitives/errors.ts'
import { Reader } from '../../src/primitives/reader.ts'
import { decodeRecordBatch } from '../../src/records/batch-decoder.ts'
import { convertMessageSet, readMessageSet } from '../../src/records/legacy.ts'
import {
  iterateBatches, readBatchHeader, RECORDS_OFFSET, setBaseOffset, TimestampType, validateBatch, validateProduceRecords
} from '../../src/records/record-batch.ts'
import { readRecord } from '../../src/records/record.ts'
import { decodeRecordSet, type RecordSetEntry } from '../../src/records/record-set.ts'
import { fetchResponseRecords, fixture, HAVE_FIXTURES, produceRequestRecords, SKIP_REASON } from './fixtures.ts'

const skip = !HAVE_FIXTURES && SKIP_REASON

interface Flat {
  offset: bigint
  timestamp: number
  key: string | null
  value: string | null
  headers?: Array<[string, string | null]>
}

/** Every record of a decoded set with absolute offsets and timestamps. */
function flatten (entries: RecordSetEntry[]): Flat[] {
  const out: Flat[] = []
  for (const e of entries) {
    if (e.magic === 2) {
      const h = e.batch.header
      for (const r of e.batch.records) {
        out.push({
          offset: h.baseOffset + BigInt(r.offsetDelta),
          timestamp: h.timestampType === TimestampType.LogAppendTime ? h.maxTimestamp : h.baseTimestamp + r.timestampDelta,
          key: r.key?.toString() ?? null,
          value: r.value?.toString() ?? null,
          headers: r.headers.map((x) => [x.key, x.value?.toString() ?? null])
        })
      }
    } else {
      for (const m of e.messages) out.push({ offset: m.offset, timestamp: m.timestamp, key: m.key?.toString() ?? null, value: m.value?.toString() ?? null })
    }
  }
  return out
}

function only<T> (list: T[]): T {
  assert.equal(list.length, 1)
  return list[0]!
}

const KEY_VALUE_0_2 = [0, 1, 2].map((i) => [`key-${i}`, `some-value-${i}`])

describe('kafkajs recordBatch fixtures', { skip }, () => {
  it('v0_recordbatch.json: gzip, LogAppendTime (the kafkajs decoder spec values)', () => {
    const buf = fixture('recordBatch/fixtures/v0_recordbatch.json')
    assert.ok(validateBatch(buf, 0, { fromClient: false }).ok)
    const { header, records } = decodeRecordBatch(buf)
    assert.equal(header.baseOffset, 0n)
    assert.equal(header.baseTimestamp, 1597425188775)
    assert.equal(header.maxTimestamp, 1597425188809)
    assert.equal(header.partitionLeaderEpoch, 0)
    assert.equal(header.isTransactional, false)
    assert.equal(header.isControlBatch, false)
    assert.equal(header.lastOffsetDelta, 0)
    assert.equal(header.producerId, -1n)
    assert.equal(header.producerEpoch, 0)
    assert.equal(header.baseSequence, 0)
    assert.equal(header.timestampType, TimestampType.LogAppendTime)
    assert.equal(header.compression, CompressionType.gzip)
    assert.equal(records.length, 1)
  })

  it('v0_recordbatch_zstd.json: zstd records, but attributes say uncompressed (fixture quirk)', () => {
    const buf = fixture('recordBatch/fixtures/v0_recordbatch_zstd.json')
    // The CRC is valid, yet attributes are 0 while the records section is a zstd frame.
    assert.ok(validateBatch(buf, 0, { fromClient: false }).ok)
    assert.equal(readBatchHeader(buf).attributes, 0)
    assert.equal(buf.readUInt32BE(RECORDS_OFFSET), 0x28b52ffd)
    // Read as declared (uncompressed), it is garbage: a typed error, nothing else.
    assert.throws(() => decodeRecordBatch(buf), ProtocolDecodeError)
    // Decompressed explicitly, it holds the one record its header counts.
    const r = new Reader(decompress(CompressionType.zstd, buf.subarray(RECORDS_OFFSET), 1 << 20))
    const record = readRecord(r)
    assert.equal(r.remaining, 0)
    assert.equal(record.key!.toString(), 'lorem')
    assert.match(record.value!.toString(), /^Lorem ipsum dolor sit amet/)
  })
})

describe('kafkajs messageSet fixtures', { skip }, () => {
  // kafkajs's decoder spec: three v0 messages, offsets 0-2, with these CRCs (signed in its spec).
  const expected = [[0n, 120234579], [1n, -141862522 >>> 0], [2n, 1025004472]]
  for (const file of ['messages_v0_uncompressed.json.json', 'messages_v0_GZIP.json']) {
    it(file, () => {
      const buf = fixture(`messageSet/fixtures/${file}`)
      // The fixture starts with the set's int32 size, as inside a request.
      assert.equal(buf.readInt32BE(0), buf.length - 4)
      const messages = readMessageSet(buf.subarray(4))
      assert.deepEqual(messages.map((m) => [m.key!.toString(), m.value!.toString()]), KEY_VALUE_0_2)
      assert.deepEqual(messages.map((m) => m.magic), [0, 0, 0])
      assert.deepEqual(messages.map((m) => m.timestamp), [-1, -1, -1])
      assert.deepEqual(messages.map((m) => [m.offset, m.crc]), expected)
    })
  }
})

describe('Fetch response fixtures', { skip }, () => {
  it('magic 0, uncompressed and gzip (v0, v1)', () => {
    for (const file of ['v0_response.json', 'v1_response.json']) {
      const set = decodeRecordSet(only(fetchResponseRecords(file)).records!)
      assert.deepEqual(flatten(set), [{ offset: 0n, timestamp: -1, key: 'key-0', value: 'some-value-0' }])
    }
    for (const file of ['v0_response_gzip.json', 'v1_response_gzip.json']) {
      const flat = flatten(decodeRecordSet(only(fetchResponseRecords(file)).records!))
      assert.deepEqual(flat.map((r) => [r.key, r.value]), KEY_VALUE_0_2)
      assert.deepEqual(flat.map((r) => r.offset), [0n, 1n, 2n])
    }
  })

  it('magic 0 at high offsets (v2_response_index_out_of_range)', () => {
    const records = fetchResponseRecords('v2_response_index_out_of_range.json').find((p) => p.records !== null && p.records.length > 0)!
    const flat = flatten(decodeRecordSet(records.records!))
    assert.deepEqual(flat.map((r) => r.offset), [15733908n, 15733909n, 15733910n])
  })

  it('magic 1, uncompressed and gzip (v2, v3, 0.10 format)', () => {
    for (const file of ['v2_response.json', 'v3_response.json', 'v2_response_gzip.json', 'v3_response_gzip.json']) {
      const flat = flatten(decodeRecordSet(only(fetchResponseRecords(file)).records!))
      assert.deepEqual(flat.map((r) => [r.key, r.value]), KEY_VALUE_0_2, file)
      assert.deepEqual(flat.map((r) => r.offset), [0n, 1n, 2n])
      for (const r of flat) assert.ok(r.timestamp > 1_500_000_000_000)
    }
    const p = fetchResponseRecords('v4_response_010_format.json').find((x) => x.records !== null && x.records.length > 0)!
    const message = only(readMessageSet(p.records!))
    assert.equal(message.magic, 1)
    assert.equal(message.timestamp, 1538502423117)
    assert.match(message.key!.toString(), /^key-/)
  })

  it('partial messages only: nothing decoded, nothing thrown', () => {
    const partitions = fetchResponseRecords('v2_response_partial_messages_many_partitions.json')
    assert.equal(partitions.length, 4)
    for (const p of partitions) {
      assert.equal(p.records!.length, 1024)
      assert.deepEqual(decodeRecordSet(p.records!), [])
      assert.deepEqual(readMessageSet(p.records!), [])
    }
  })

  it('magic 2 uncompressed with headers (v4-v11)', () => {
    for (const v of [4, 5, 6, 7, 8, 9, 10, 11]) {
      const set = decodeRecordSet(only(fetchResponseRecords(`v${v}_response.json`)).records!)
      const flat = flatten(set)
      assert.deepEqual(flat.map((r) => [r.key, r.value]), KEY_VALUE_0_2)
      assert.deepEqual(flat.map((r) => r.offset), [0n, 1n, 2n])
      assert.deepEqual(flat[0]!.headers, [['header-key-0', 'header-value-0']])
      assert.equal(flat[0]!.timestamp, 1509827900073)
    }
  })

  it('magic 2 gzip (v4_response_gzip)', () => {
    const set = decodeRecordSet(only(fetchResponseRecords('v4_response_gzip.json')).records!)
    assert.equal(set.length, 2)
    for (const e of set) assert.equal(e.magic === 2 && e.batch.header.compression, CompressionType.gzip)
    assert.deepEqual(flatten(set).map((r) => r.value), ['some-value-0', 'some-value-1', 'some-value-2', 'some-value-1', 'some-value-2', 'some-value-3'])
  })

  it('magic 2 snappy (v4_response_snappy; raw snappy, not xerial)', () => {
    const partitions = fetchResponseRecords('v4_response_snappy.json')
    const p = partitions.find((x) => x.records !== null && x.records.length > 0)!
    const batch = decodeRecordBatch(p.records!)
    assert.equal(batch.header.compression, CompressionType.snappy)
    assert.equal(batch.records[0]!.key!.toString(), 'key-149')
    assert.match(batch.records[0]!.value!.toString(), /^value-149-2019-02-04T/)
  })

  it('magic 2 from the Scala producer: six single-record batches', () => {
    const flat = flatten(decodeRecordSet(only(fetchResponseRecords('v4_from_scala_producer_response.json')).records!))
    assert.equal(flat.length, 6)
    assert.deepEqual(flat.map((r) => r.offset), [0n, 1n, 2n, 3n, 4n, 5n])
    assert.equal(flat[0]!.key, 'KEY-1')
    assert.equal(flat[0]!.value, 'VALUE-Lorem ipsum dolor sit amet-1')
  })

  it('mixed formats: 1611 magic-1 messages then magic-2 batches, offsets contiguous', () => {
    const records = only(fetchResponseRecords('v4_response_mixed_formats.json')).records!
    const set = decodeRecordSet(records)
    assert.equal(set.filter((e) => e.magic === 1).length, 1611)
    assert.deepEqual(set.filter((e) => e.magic === 2).map((e) => e.magic === 2 && e.batch.records.length), [237, 65, 512])
    const flat = flatten(set)
    assert.equal(flat.length, 2425)
    flat.forEach((r, i) => assert.equal(r.offset, BigInt(i)))
    for (const r of flat) assert.match(r.value!, /^value-\d+-2019-01-17T/)
    // Every entry is complete: the set ends on an entry boundary.
    const entries = [...iterateBatches(records)]
    assert.equal(entries[entries.length - 1]!.position + entries[entries.length - 1]!.size, records.length)
  })
})

describe('Produce request fixtures', { skip }, () => {
  it('v3-v7 hold exactly one valid producer batch', () => {
    for (const v of [3, 4, 5, 6, 7]) {
      const p = only(produceRequestRecords(`v${v}_request.json`))
      const result = validateProduceRecords(p.records)
      assert.ok(result.ok, `v${v}: ${result.ok ? '' : result.reason}`)
      // The leader stamps offsets in place; the batch stays valid.
      const copy = Buffer.from(p.records!)
      setBaseOffset(copy, 0, 4242)
      assert.ok(validateProduceRecords(copy).ok)
      assert.equal(decodeRecordBatch(copy).header.baseOffset, 4242n)
    }
    const idempotent = decodeRecordBatch(only(produceRequestRecords('v7_request.json')).records!)
    assert.equal(idempotent.header.producerId, 4004n)
    assert.equal(idempotent.records.length, 10)
  })

  it('v2 message sets (magic 1, plain and gzip) convert to one v2 batch', () => {
    for (const file of ['v2_request.json', 'v2_request_gzip_linux.json', 'v2_request_gzip_darwin.json']) {
      const p = only(produceRequestRecords(file))
      assert.equal(validateProduceRecords(p.records).ok, false)
      const messages = readMessageSet(p.records!)
      assert.equal(messages.length, 3)
      const batch = convertMessageSet(p.records!, { renumber: true, baseOffset: 0n })
      assert.ok(validateProduceRecords(batch).ok, file)
      const decoded = decodeRecordBatch(batch)
      assert.deepEqual(decoded.records.map((r) => [r.key?.toString(), r.value?.toString(), decoded.header.baseTimestamp + r.timestampDelta]),
        messages.map((m) => [m.key?.toString(), m.value?.toString(), m.timestamp]))
    }
  })
})
