import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as records from '../../src/records/mod.ts'

describe('records/mod.ts', () => {
  it('re-exports the record and compression API', () => {
    for (const name of [
      'crc32c', 'buildRecordBatch', 'decodeRecordBatch', 'validateBatch', 'validateProduceRecords', 'iterateBatches',
      'setBaseOffset', 'setLogAppendTime', 'readMessageSet', 'convertMessageSet', 'decodeRecordSet',
      'buildEndTxnMarkerBatch', 'readControlBatch', 'compress', 'decompress', 'lz4Decompress', 'snappyDecompress',
      'zstdDecompress', 'gzipDecompress', 'DecompressionLimitError'
    ]) {
      assert.equal(typeof (records as Record<string, unknown>)[name], 'function', name)
    }
    assert.equal(records.RECORD_BATCH_OVERHEAD, 61)
    assert.equal(records.CompressionType.zstd, 4)
    // Everything built through the barrel works end to end.
    const batch = records.buildRecordBatch({ records: [{ value: 'x' }], compression: records.CompressionType.lz4 })
    assert.equal(records.decodeRecordBatch(batch).records[0]!.value!.toString(), 'x')
  })
})
