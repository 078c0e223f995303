import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { crc32 } from 'node:zlib'
import fc from 'fast-check'
import { compress, CompressionType } from '../../src/compression/codec.ts'
import { inspectLz4Frame } from '../../src/compression/lz4.ts'
import { xxhash32 } from '../../src/compression/xxhash32.ts'
import { ProtocolDecodeError } from '../../src/primitives/errors.ts'
import { decodeRecordBatch } from '../../src/records/batch-decoder.ts'
import {
  convertMessageSet, legacyCrc32, legacyMessagesToRecordBatch, readLegacyEntry, readMessageSet, type LegacyMessage
} from '../../src/records/legacy.ts'
import { buildRecordBatch } from '../../src/records/batch-builder.ts'
import { iterateBatches, recordSetMagic, TimestampType, validateProduceRecords } from '../../src/records/record-batch.ts'
import { decodeRecordSet } from '../../src/records/record-set.ts'

interface MessageSpec {
  offset: bigint | number
  magic: 0 | 1
  attributes?: number
  timestamp?: number
  key?: Buffer | string | null
  value?: Buffer | string | null
}

function bytesField (value: Buffer | string | null | undefined): Buffer {
  if (value == null) return Buffer.from([0xff, 0xff, 0xff, 0xff])
  const data = Buffer.from(value)
  const length = Buffer.alloc(4)
  length.writeInt32BE(data.length)
  return Buffer.concat([length, data])
}

/** One legacy log entry: offset, size, crc, magic..value (an independent test encoder). */
function message (spec: MessageSpec): Buffer {
  const head = Buffer.alloc(spec.magic === 1 ? 10 : 2)
  head[0] = spec.magic
  head[1] = spec.attributes ?? 0
  if (spec.magic === 1) head.writeBigInt64BE(BigInt(spec.timestamp ?? 0), 2)
  const body = Buffer.concat([head, bytesField(spec.key), bytesField(spec.value)])
  const prefix = Buffer.alloc(16)
  prefix.writeBigInt64BE(BigInt(spec.offset), 0)
  prefix.writeInt32BE(body.length + 4, 8)
  prefix.writeUInt32BE(crc32(body), 12)
  return Buffer.concat([prefix, body])
}

/** Recomputes the CRC of the single message in `buf` after a test changed it. */
function fixCrc (buf: Buffer): Buffer {
  buf.writeUInt32BE(crc32(buf.subarray(16)), 12)
  return buf
}

/** A compressed wrapper around `inner` messages (v0: absolute inner offsets; v1: relative). */
function wrapper (magic: 0 | 1, codec: number, wrapperOffset: number, inner: Buffer[], extra: Partial<MessageSpec> = {}): Buffer {
  return message({ offset: wrapperOffset, magic, attributes: codec | (extra.attributes ?? 0), timestamp: extra.timestamp ?? 0, key: null, value: compress(codec as CompressionType, Buffer.concat(inner)) })
}

/** Rewrites an LZ4 frame's header checksum the way Kafka's magic-0 writer did (KAFKA-3160). */
function breakLz4HeaderChecksum (frame: Buffer): Buffer {
  const info = inspectLz4Frame(frame)
  const copy = Buffer.from(frame)
  copy[info.headerChecksumAt] = (xxhash32(copy, 0, info.headerChecksumAt) >>> 8) & 0xff
  return copy
}

const T0 = 1_600_000_000_000

describe('legacy MessageSet v0/v1', () => {
  it('reads plain v0 and v1 messages with null and empty keys/values', () => {
    const set = Buffer.concat([
      message({ offset: 5, magic: 0, key: 'a', value: 'b' }),
      message({ offset: 6, magic: 1, timestamp: T0, key: null, value: '' }),
      message({ offset: 7, magic: 1, timestamp: T0 + 1, attributes: 0x08, key: '', value: null })
    ])
    const got = readMessageSet(set)
    assert.deepEqual(got.map((m) => [m.offset, m.magic, m.timestamp, m.timestampType, m.key?.toString() ?? null, m.value?.toString() ?? null]), [
      [5n, 0, -1, TimestampType.CreateTime, 'a', 'b'],
      [6n, 1, T0, TimestampType.CreateTime, null, ''],
      [7n, 1, T0 + 1, TimestampType.LogAppendTime, '', null]
    ])
    assert.equal(got[0]!.crc, legacyCrc32(set, 16, set.readInt32BE(8) + 12))
    assert.equal(recordSetMagic(set), 0)
    assert.deepEqual([...iterateBatches(set)].map((e) => e.magic), [0, 1, 1])
  })

  for (const codec of [CompressionType.gzip, CompressionType.snappy, CompressionType.lz4]) {
    it(`v0 wrapper with absolute inner offsets, codec ${codec}`, () => {
      const inner = [100, 101, 102].map((offset) => message({ offset, magic: 0, key: `k${offset}`, value: `v${offset}` }))
      const got = readMessageSet(wrapper(0, codec, 102, inner))
      assert.deepEqual(got.map((m) => [m.offset, m.key!.toString()]), [[100n, 'k100'], [101n, 'k101'], [102n, 'k102']])
    })

    it(`v1 wrapper with relative inner offsets (wrapper = last absolute), codec ${codec}`, () => {
      const inner = [0, 1, 2].map((offset) => message({ offset, magic: 1, timestamp: T0 + offset, value: `v${offset}` }))
      const set = Buffer.concat([message({ offset: 99, magic: 1, timestamp: T0, value: 'before' }), wrapper(1, codec, 102, inner)])
      const got = readMessageSet(set)
      assert.deepEqual(got.map((m) => [m.offset, m.timestamp, m.value!.toString()]), [
        [99n, T0, 'before'], [100n, T0, 'v0'], [101n, T0 + 1, 'v1'], [102n, T0 + 2, 'v2']
      ])
    })
  }

  it('a LogAppendTime v1 wrapper gives its timestamp to the inner messages', () => {
    const inner = [0, 1].map((offset) => message({ offset, magic: 1, timestamp: 5, value: 'x' }))
    const got = readMessageSet(wrapper(1, CompressionType.gzip, 11, inner, { attributes: 0x08, timestamp: T0 }))
    assert.deepEqual(got.map((m) => [m.offset, m.timestamp, m.timestampType]), [[10n, T0, 1], [11n, T0, 1]])
  })

  it('reads magic-0 LZ4 with the broken header checksum (KAFKA-3160) and magic 1 with either', () => {
    const innerV0 = [0, 1].map((offset) => message({ offset, magic: 0, value: `v${offset}` }))
    const frame = compress(CompressionType.lz4, Buffer.concat(innerV0))
    const broken = breakLz4HeaderChecksum(frame)
    assert.notDeepEqual(broken, frame)
    assert.equal(inspectLz4Frame(broken).brokenHeaderChecksum, true)
    const entry = message({ offset: 1, magic: 0, attributes: CompressionType.lz4, value: broken })
    assert.deepEqual(readMessageSet(entry).map((m) => m.value!.toString()), ['v0', 'v1'])
    const innerV1 = [0, 1].map((offset) => message({ offset, magic: 1, value: `w${offset}` }))
    for (const value of [compress(CompressionType.lz4, Buffer.concat(innerV1)), breakLz4HeaderChecksum(compress(CompressionType.lz4, Buffer.concat(innerV1)))]) {
      assert.deepEqual(readMessageSet(message({ offset: 1, magic: 1, attributes: CompressionType.lz4, value })).map((m) => m.value!.toString()), ['w0', 'w1'])
    }
  })

  it('skips a trailing partial message, at every cut', () => {
    const messages = [0, 1, 2].map((offset) => message({ offset, magic: 1, timestamp: T0, key: 'k', value: 'value' }))
    const set = Buffer.concat(messages)
    for (let cut = 0; cut <= set.length; cut++) {
      const expected = Math.floor(cut / messages[0]!.length)
      assert.equal(readMessageSet(set.subarray(0, cut)).length, expected, `cut ${cut}`)
    }
  })

  it('rejects corrupt messages with ProtocolDecodeError', () => {
    const good = message({ offset: 0, magic: 1, timestamp: T0, key: 'k', value: 'v' })
    const badCrc = Buffer.from(good)
    badCrc[good.length - 1]! ^= 1
    assert.throws(() => readMessageSet(badCrc), /corrupt/)
    assert.equal(readMessageSet(badCrc, { verifyCrc: false }).length, 1)

    const cases: Array<[string, Buffer, RegExp]> = []
    const magic2 = Buffer.from(good)
    magic2[16] = 2
    cases.push(['magic 2', magic2, /expected 0 or 1/])
    const small = Buffer.from(good)
    small.writeInt32BE(13, 8)
    cases.push(['size below minimum', small, /below the minimum/])
    const keyOverrun = message({ offset: 0, magic: 0, key: 'kk', value: 'v' })
    keyOverrun.writeInt32BE(50, 18)
    cases.push(['key overrun', fixCrc(keyOverrun), /key length/])
    const valueOverrun = message({ offset: 0, magic: 0, key: 'kk', value: 'v' })
    valueOverrun.writeInt32BE(50, 24)
    cases.push(['value overrun', fixCrc(valueOverrun), /value length/])
    const negative = message({ offset: 0, magic: 0, key: 'kk', value: 'v' })
    negative.writeInt32BE(-7, 18)
    cases.push(['negative key length', fixCrc(negative), /key length -7/])
    const shortValue = Buffer.concat([message({ offset: 0, magic: 0, key: 'abcdefgh', value: null }).subarray(0, 30)])
    shortValue.writeInt32BE(18, 8)
    cases.push(['value length missing', fixCrc(shortValue), /Truncated message value/])
    const trailing = Buffer.concat([message({ offset: 0, magic: 0, key: 'k', value: 'v' }), Buffer.alloc(2)])
    trailing.writeInt32BE(trailing.readInt32BE(8) + 2, 8)
    cases.push(['bytes after the value', fixCrc(trailing), /does not match/])
    cases.push(['compressed null value', message({ offset: 0, magic: 0, attributes: 1, value: null }), /null value/])
    cases.push(['zstd in a legacy message', message({ offset: 0, magic: 1, attributes: 4, value: 'x' }), /not valid for magic 1/])
    cases.push(['corrupt gzip', message({ offset: 0, magic: 1, attributes: 1, value: 'not gzip' }), /Corrupt gzip/])
    cases.push(['empty compressed set', message({ offset: 0, magic: 1, attributes: 1, value: compress(CompressionType.gzip, Buffer.alloc(0)) }), /empty/])
    const nested = wrapper(1, 1, 0, [wrapper(1, 1, 0, [message({ offset: 0, magic: 1, value: 'x' })])])
    cases.push(['nested compression', nested, /Nested/])
    cases.push(['inner magic mismatch', wrapper(1, 1, 0, [message({ offset: 0, magic: 0, value: 'x' })]), /does not match/])
    const innerPartial = message({ offset: 0, magic: 1, attributes: 1, value: compress(CompressionType.gzip, message({ offset: 0, magic: 1, value: 'xyz' }).subarray(0, 20)) })
    cases.push(['partial inner message', innerPartial, /Truncated|declares/])
    const innerTiny = message({ offset: 0, magic: 1, attributes: 1, value: compress(CompressionType.gzip, Buffer.alloc(5)) })
    cases.push(['inner fragment', innerTiny, /Truncated message/])
    for (const [name, buf, pattern] of cases) {
      assert.throws(() => readMessageSet(buf), (error: unknown) => error instanceof ProtocolDecodeError && pattern.test(error.message), name)
    }
  })

  it('bounds decompression across the whole set', () => {
    const big = message({ offset: 0, magic: 1, value: Buffer.alloc(300_000) })
    const w = wrapper(1, CompressionType.gzip, 0, [big])
    const set = Buffer.concat([w, w, w])
    assert.equal(readMessageSet(set, { maxDecompressedBytes: 1_000_000 }).length, 3)
    assert.throws(() => readMessageSet(set, { maxDecompressedBytes: 700_000 }), (e: unknown) => e instanceof ProtocolDecodeError && e.name === 'DecompressionLimitError' && /700000/.test(e.message))
  })

  it('readLegacyEntry reads one entry and refuses a partial one', () => {
    const a = message({ offset: 1, magic: 0, value: 'a' })
    const b = wrapper(0, 1, 3, [message({ offset: 2, magic: 0, value: 'b' }), message({ offset: 3, magic: 0, value: 'c' })])
    const set = Buffer.concat([a, b])
    assert.deepEqual(readLegacyEntry(set, a.length).map((m) => m.offset), [2n, 3n])
    assert.throws(() => readLegacyEntry(set.subarray(0, set.length - 1), a.length), ProtocolDecodeError)
    assert.throws(() => readLegacyEntry(set.subarray(0, a.length + 10), a.length), ProtocolDecodeError)
  })

  it('never throws anything but ProtocolDecodeError on random or mutated input', () => {
    const seeds = [
      Buffer.concat([message({ offset: 0, magic: 0, key: 'k', value: 'v' }), message({ offset: 1, magic: 1, timestamp: T0, value: 'w' })]),
      wrapper(1, CompressionType.gzip, 2, [0, 1, 2].map((offset) => message({ offset, magic: 1, value: `v${offset}` }))),
      wrapper(0, CompressionType.snappy, 2, [0, 1, 2].map((offset) => message({ offset, magic: 0, value: `v${offset}` }))),
      wrapper(1, CompressionType.lz4, 2, [0, 1, 2].map((offset) => message({ offset, magic: 1, value: `v${offset}` })))
    ]
    fc.assert(fc.property(fc.nat(seeds.length - 1), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 }), fc.boolean(), (which, flips, verifyCrc) => {
      const buf = Buffer.from(seeds[which]!)
      for (const [at, value] of flips) buf[at % buf.length] = value
      try {
        readMessageSet(buf, { verifyCrc, maxDecompressedBytes: 1 << 16 })
      } catch (error) {
        assert.ok(error instanceof ProtocolDecodeError, String(error))
      }
    }), { numRuns: 2000 })
  })
})

describe('conversion to RecordBatch v2', () => {
  const v0 = Buffer.concat([0, 1, 2].map((offset) => message({ offset: 10 + offset, magic: 0, key: `k${offset}`, value: `v${offset}` })))

  it('keeps key, value and offsets relative to the first; fills magic-0 timestamps from now', () => {
    const batch = convertMessageSet(v0, { now: T0 })
    const decoded = decodeRecordBatch(batch)
    assert.equal(decoded.header.baseOffset, 10n)
    assert.equal(decoded.header.baseTimestamp, T0)
    assert.equal(decoded.header.timestampType, TimestampType.CreateTime)
    assert.deepEqual(decoded.records.map((r) => [r.offsetDelta, r.timestampDelta, r.key!.toString(), r.value!.toString()]), [
      [0, 0, 'k0', 'v0'], [1, 0, 'k1', 'v1'], [2, 0, 'k2', 'v2']
    ])
  })

  it('keeps -1 timestamps without now, like Kafka\'s up-conversion', () => {
    const decoded = decodeRecordBatch(convertMessageSet(v0))
    assert.equal(decoded.header.baseTimestamp, -1)
    assert.equal(decoded.header.maxTimestamp, -1)
  })

  it('renumbers and rebases, with the requested codec, into a valid producer batch', () => {
    const gappy = Buffer.concat([message({ offset: 0, magic: 1, timestamp: T0, value: 'a' }), message({ offset: 0, magic: 1, timestamp: T0 + 7, value: 'b' })])
    assert.throws(() => convertMessageSet(gappy), /must increase/)
    const batch = convertMessageSet(gappy, { renumber: true, baseOffset: 500n, compression: CompressionType.snappy, partitionLeaderEpoch: 3 })
    assert.ok(validateProduceRecords(batch).ok)
    const decoded = decodeRecordBatch(batch)
    assert.equal(decoded.header.baseOffset, 500n)
    assert.equal(decoded.header.partitionLeaderEpoch, 3)
    assert.equal(decoded.header.compression, CompressionType.snappy)
    assert.equal(decoded.header.maxTimestamp, T0 + 7)
    assert.deepEqual(decoded.records.map((r) => [r.offsetDelta, r.timestampDelta]), [[0, 0], [1, 7]])
  })

  it('a set of LogAppendTime messages becomes a LogAppendTime batch; an empty set an empty buffer', () => {
    const inner = [0, 1].map((offset) => message({ offset, magic: 1, timestamp: 5, value: 'x' }))
    const batch = convertMessageSet(wrapper(1, CompressionType.gzip, 1, inner, { attributes: 0x08, timestamp: T0 }))
    const decoded = decodeRecordBatch(batch)
    assert.equal(decoded.header.timestampType, TimestampType.LogAppendTime)
    assert.equal(decoded.header.maxTimestamp, T0)
    assert.deepEqual(legacyMessagesToRecordBatch([]), Buffer.alloc(0))
    assert.deepEqual(convertMessageSet(Buffer.alloc(0)), Buffer.alloc(0))
  })

  it('rejects offset gaps wider than an int32 delta', () => {
    const messages: LegacyMessage[] = [0n, 2n ** 32n].map((offset) => ({ offset, magic: 1, crc: 0, attributes: 0, timestampType: 0, timestamp: T0, key: null, value: null }))
    assert.throws(() => legacyMessagesToRecordBatch(messages), ProtocolDecodeError)
  })
})

describe('decodeRecordSet', () => {
  it('decodes a set mixing magic 0, 1 and 2 and skips a trailing partial batch', () => {
    const v2 = buildRecordBatch({ records: [{ value: 'c' }, { value: 'd' }], baseOffset: 3, timestamp: T0 })
    const set = Buffer.concat([
      message({ offset: 0, magic: 0, value: 'a' }),
      wrapper(1, CompressionType.gzip, 2, [0, 1].map((offset) => message({ offset, magic: 1, timestamp: T0, value: `b${offset}` }))),
      v2,
      v2.subarray(0, 30)
    ])
    const entries = decodeRecordSet(set)
    assert.deepEqual(entries.map((e) => e.magic), [0, 1, 2])
    assert.deepEqual(entries.map((e) => e.magic === 2 ? e.batch.records.map((r) => r.value!.toString()) : e.messages.map((m) => m.value!.toString())),
      [['a'], ['b0', 'b1'], ['c', 'd']])
  })
})
