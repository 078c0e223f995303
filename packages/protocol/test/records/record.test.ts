import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ProtocolDecodeError, ProtocolEncodeError } from '../../src/primitives/errors.ts'
import { Reader } from '../../src/primitives/reader.ts'
import { sizeOfVarInt, Writer } from '../../src/primitives/writer.ts'
import {
  readRecord, recordBytesLength, sizeOfRecord, sizeOfRecordBody, writeRecord, type RecordInput
} from '../../src/records/record.ts'
import { fixture, HAVE_FIXTURES, SKIP_REASON } from './fixtures.ts'

function encode (record: RecordInput, timestampDelta = 0, offsetDelta = 0): Buffer {
  const body = sizeOfRecordBody(record, timestampDelta, offsetDelta)
  const w = new Writer(sizeOfRecord(body))
  writeRecord(w, record, body, timestampDelta, offsetDelta)
  return w.toBuffer()
}

/** A record from raw body bytes (the length varint is prepended). */
function withLength (body: Buffer): Buffer {
  const w = new Writer(sizeOfVarInt(body.length) + body.length)
  w.writeVarInt(body.length)
  w.writeRaw(body)
  return w.toBuffer()
}

describe('Record (varint format)', () => {
  it('round-trips keys, values and headers given as strings or bytes', () => {
    const bytes = encode({
      key: 'clé',
      value: new Uint8Array([1, 2, 3]),
      headers: [{ key: 'a', value: 'x' }, { key: 'a', value: null }, { key: '', value: Buffer.alloc(0) }, { key: 'b' }]
    }, -12345, 42)
    const r = new Reader(bytes)
    const record = readRecord(r)
    assert.equal(r.remaining, 0)
    assert.equal(record.attributes, 0)
    assert.equal(record.timestampDelta, -12345)
    assert.equal(record.offsetDelta, 42)
    assert.equal(record.key!.toString(), 'clé')
    assert.deepEqual([...record.value!], [1, 2, 3])
    assert.deepEqual(record.headers.map((h) => [h.key, h.value === null ? null : h.value.toString()]),
      [['a', 'x'], ['a', null], ['', ''], ['b', null]])
  })

  it('encodes null and empty key/value differently', () => {
    const nulls = readRecord(new Reader(encode({ key: null, value: undefined })))
    assert.equal(nulls.key, null)
    assert.equal(nulls.value, null)
    const empty = readRecord(new Reader(encode({ key: '', value: Buffer.alloc(0) })))
    assert.deepEqual(empty.key, Buffer.alloc(0))
    assert.deepEqual(empty.value, Buffer.alloc(0))
    assert.equal(recordBytesLength(null), -1)
    assert.equal(recordBytesLength(undefined), -1)
    assert.equal(recordBytesLength('é'), 2)
  })

  it('encodes a minimal record in 7 bytes', () => {
    assert.deepEqual([...encode({})], [12, 0, 0, 0, 1, 1, 0]) // length 6, zig-zag
  })

  it('rejects a non-string header key when encoding', () => {
    assert.throws(() => sizeOfRecordBody({ headers: [{ key: 5 as unknown as string, value: null }] }, 0, 0), ProtocolEncodeError)
  })

  it('decodes kafkajs\'s v0_record fixture (a record body)', { skip: !HAVE_FIXTURES && SKIP_REASON }, () => {
    const record = readRecord(new Reader(withLength(fixture('recordBatch/fixtures/v0_record.json'))))
    assert.equal(record.offsetDelta, 0)
    assert.equal(record.timestampDelta, 0)
    assert.equal(record.key!.toString(), 'key-0')
    assert.equal(record.value!.toString(), 'some-value-0')
    assert.deepEqual(record.headers.map((h) => [h.key, h.value!.toString()]), [
      ['header-key-0', 'header-value-0'], ['header-key-1', 'header-value-1'], ['header-key-1', 'header-value-2']
    ])
  })

  it('rejects what DefaultRecord.readFrom rejects', () => {
    const cases: Array<[string, number[]]> = [
      ['negative length', [3]],
      ['key length -2', [0, 0, 0, 3]],
      ['value length -2', [0, 0, 0, 1, 3]],
      ['negative header count', [0, 0, 0, 1, 1, 1]],
      ['negative header key size', [0, 0, 0, 1, 1, 2, 1]],
      ['header value length -3', [0, 0, 0, 1, 1, 2, 0, 5]]
    ]
    for (const [name, body] of cases) {
      const bytes = name === 'negative length' ? Buffer.from(body) : withLength(Buffer.from(body))
      assert.throws(() => readRecord(new Reader(bytes)), ProtocolDecodeError, name)
    }
  })

  it('rejects a record whose fields do not fill its declared length', () => {
    const good = encode({ key: 'k', value: 'v' })
    const longer = Buffer.from(good)
    longer[0] = good[0]! + 2 // claims one more byte than its fields take
    assert.throws(() => readRecord(new Reader(Buffer.concat([longer, Buffer.alloc(1)]))), /declares/)
    const overrun = Buffer.from(good)
    overrun[0] = 100
    assert.throws(() => readRecord(new Reader(overrun)), /overruns/)
  })

  it('every truncation is a ProtocolDecodeError', () => {
    const bytes = encode({ key: 'key', value: 'value', headers: [{ key: 'h', value: 'v' }] }, 99999999999, 3)
    for (let n = 0; n < bytes.length; n++) {
      assert.throws(() => readRecord(new Reader(bytes.subarray(0, n))), ProtocolDecodeError, `${n} bytes`)
    }
  })
})
