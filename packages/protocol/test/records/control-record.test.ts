import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ProtocolDecodeError, ProtocolEncodeError } from '../../src/primitives/errors.ts'
import { buildRecordBatch } from '../../src/records/batch-builder.ts'
import { decodeRecordBatch } from '../../src/records/batch-decoder.ts'
import {
  buildControlBatch, buildEndTxnMarkerBatch, ControlRecordType, readControlBatch, readControlRecordKey,
  readEndTxnMarkerValue, writeControlRecordKey, writeEndTxnMarkerValue
} from '../../src/records/control-record.ts'
import { readBatchHeader, validateBatch } from '../../src/records/record-batch.ts'

const T0 = 1_700_000_000_000

describe('control records', () => {
  it('has Kafka\'s control record types', () => {
    assert.deepEqual(ControlRecordType, { ABORT: 0, COMMIT: 1, LEADER_CHANGE: 2, SNAPSHOT_HEADER: 3, SNAPSHOT_FOOTER: 4, KRAFT_VERSION: 5, KRAFT_VOTERS: 6 })
  })

  it('encodes keys and marker values as Kafka does', () => {
    assert.deepEqual([...writeControlRecordKey(ControlRecordType.COMMIT)], [0, 0, 0, 1])
    assert.deepEqual([...writeControlRecordKey(ControlRecordType.ABORT)], [0, 0, 0, 0])
    assert.deepEqual([...writeEndTxnMarkerValue(258)], [0, 0, 0, 0, 1, 2])
    assert.deepEqual(readControlRecordKey(Buffer.from([0, 0, 0, 2])), { version: 0, type: 2 })
    // A newer key version is read by its known fields.
    assert.deepEqual(readControlRecordKey(Buffer.from([0, 1, 0, 1, 9, 9])), { version: 1, type: 1 })
    assert.deepEqual(readEndTxnMarkerValue(Buffer.from([0, 1, 0, 0, 0, 7, 1, 2, 3])), { version: 1, coordinatorEpoch: 7 })
  })

  it('rejects malformed keys and values with ProtocolDecodeError', () => {
    assert.throws(() => readControlRecordKey(null), ProtocolDecodeError)
    assert.throws(() => readControlRecordKey(Buffer.from([0, 0, 1])), ProtocolDecodeError)
    assert.throws(() => readControlRecordKey(Buffer.from([0xff, 0xff, 0, 1])), /version -1/)
    assert.throws(() => readEndTxnMarkerValue(null), ProtocolDecodeError)
    assert.throws(() => readEndTxnMarkerValue(Buffer.from([0, 0, 0, 0, 0])), ProtocolDecodeError)
    assert.throws(() => readEndTxnMarkerValue(Buffer.from([0x80, 0, 0, 0, 0, 0])), /version/)
  })

  for (const [name, type] of [['COMMIT', ControlRecordType.COMMIT], ['ABORT', ControlRecordType.ABORT]] as const) {
    it(`builds and parses a ${name} marker batch`, () => {
      const buf = buildEndTxnMarkerBatch({ type, producerId: 9001n, producerEpoch: 4, coordinatorEpoch: 17, baseOffset: 55, partitionLeaderEpoch: 2, timestamp: T0 })
      const h = readBatchHeader(buf)
      assert.equal(h.isControlBatch, true)
      assert.equal(h.isTransactional, true)
      assert.equal(h.attributes, 0x30)
      assert.equal(h.producerId, 9001n)
      assert.equal(h.producerEpoch, 4)
      assert.equal(h.baseSequence, -1)
      assert.equal(h.baseOffset, 55n)
      assert.equal(h.partitionLeaderEpoch, 2)
      assert.equal(h.recordsCount, 1)
      assert.equal(h.baseTimestamp, T0)
      assert.equal(validateBatch(buf, 0, { fromClient: false }).ok, true)
      // Producers may not send control batches.
      assert.equal(validateBatch(buf).ok, false)
      const parsed = readControlBatch(buf)
      assert.deepEqual(parsed.key, { version: 0, type })
      assert.deepEqual(parsed.marker, { version: 0, coordinatorEpoch: 17 })
      const record = decodeRecordBatch(buf).records[0]!
      assert.deepEqual(record.headers, [])
      assert.equal(record.key!.length, 4)
      assert.equal(record.value!.length, 6)
    })
  }

  it('builds other control types (LEADER_CHANGE) without the transactional bit', () => {
    const value = Buffer.from([0, 0, 0, 0, 0, 1])
    const buf = buildControlBatch({ type: ControlRecordType.LEADER_CHANGE, value, timestamp: T0 })
    const parsed = readControlBatch(buf)
    assert.equal(parsed.header.isTransactional, false)
    assert.equal(parsed.header.isControlBatch, true)
    assert.equal(parsed.header.producerId, -1n)
    assert.deepEqual(parsed.key, { version: 0, type: 2 })
    assert.deepEqual(parsed.value, value)
    assert.equal(parsed.marker, undefined)
    assert.ok(Math.abs(readBatchHeader(buildControlBatch({ type: 3, value: null })).baseTimestamp - Date.now()) < 10_000)
  })

  it('refuses non-marker types for a marker and non-control batches for parsing', () => {
    assert.throws(() => buildEndTxnMarkerBatch({ type: 2 as 1, producerId: 1, producerEpoch: 0, coordinatorEpoch: 0 }), ProtocolEncodeError)
    assert.throws(() => readControlBatch(buildRecordBatch({ records: [{ value: 'x' }] })), /Not a control batch/)
    const two = buildRecordBatch({ records: [{ key: writeControlRecordKey(1) }, { key: writeControlRecordKey(1) }], isControlBatch: true })
    assert.throws(() => readControlBatch(two), /one record/)
  })
})
