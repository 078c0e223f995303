/**
 * The decoding path on its own: records out of raw record sets (every codec, LogAppendTime,
 * records before the fetch offset inside a compressed batch), read_committed filtering from
 * the aborted-transactions list and control batches, the header-only scan, and the prefetch
 * buffer's accounting.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ControlRecordType, CompressionType, TimestampType, buildEndTxnMarkerBatch, buildRecordBatch } from '@samsa/protocol'
import { type CompletedFetch, FetchBuffer, decodeCompletedFetch, scanRecordSet } from '../../src/consumer/fetch-buffer.ts'
import { PartitionState } from '../../src/consumer/partition-state.ts'

function values (records: ReadonlyArray<{ value: Buffer | null }>): Array<string | null> {
  return records.map((r) => r.value === null ? null : r.value.toString())
}

function completed (records: Buffer, options: Partial<CompletedFetch> = {}): CompletedFetch {
  const state = new PartitionState('t', 0, 'policy')
  const scan = scanRecordSet(records)
  return {
    state,
    epoch: state.epoch,
    records,
    fetchOffset: 0,
    nextOffset: scan.nextOffset,
    count: scan.count,
    bytes: records.length,
    abortedTransactions: null,
    highWatermark: scan.nextOffset,
    lastStableOffset: scan.nextOffset,
    logStartOffset: 0,
    ...options
  }
}

const OPTIONS = { readCommitted: true, verifyCrc: true, maxDecompressedBytes: 1 << 20 }

test('every codec decodes to the same records, with offsets, timestamps, keys and headers', () => {
  for (const compression of [CompressionType.none, CompressionType.gzip, CompressionType.snappy, CompressionType.lz4, CompressionType.zstd]) {
    const batch = buildRecordBatch({
      baseOffset: 10,
      partitionLeaderEpoch: 3,
      compression,
      records: [
        { key: 'k1', value: 'v1', timestamp: 1000, headers: [{ key: 'h', value: 'x' }, { key: 'h', value: null }] },
        { key: null, value: null, timestamp: 999 },
        { key: 'k3', value: '', timestamp: 1005 }
      ]
    })
    const decoded = decodeCompletedFetch(completed(batch, { fetchOffset: 10 }), OPTIONS)
    assert.deepEqual(decoded.records.map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value?.toString() ?? null, r.headers.map((h) => [h.key, h.value?.toString() ?? null]), r.leaderEpoch, r.timestampType]), [
      [10n, 1000, 'k1', 'v1', [['h', 'x'], ['h', null]], 3, 'CreateTime'],
      [11n, 999, null, null, [], 3, 'CreateTime'],
      [12n, 1005, 'k3', '', [], 3, 'CreateTime']
    ], `codec ${compression}`)
    assert.equal(decoded.records[0]!.topic, 't')
    assert.equal(decoded.records[0]!.partition, 0)
  }
})

test('records before the fetch offset (inside a batch that starts earlier) are skipped', () => {
  const batch = buildRecordBatch({ baseOffset: 0, compression: CompressionType.gzip, records: ['a', 'b', 'c', 'd'].map((value) => ({ value })) })
  assert.deepEqual(values(decodeCompletedFetch(completed(batch, { fetchOffset: 2 }), OPTIONS).records), ['c', 'd'])
})

test('LogAppendTime batches give every record the batch max timestamp', () => {
  const batch = buildRecordBatch({ records: [{ value: 'a', timestamp: 1 }, { value: 'b', timestamp: 2 }], timestampType: TimestampType.LogAppendTime, logAppendTime: 5000 })
  const records = decodeCompletedFetch(completed(batch), OPTIONS).records
  assert.deepEqual(records.map((r) => [r.timestamp, r.timestampType]), [[5000, 'LogAppendTime'], [5000, 'LogAppendTime']])
})

/** A log of two producers: 7 commits, 9 aborts (interleaved), then plain records. */
function transactionalLog (): { records: Buffer, aborted: Array<{ producerId: bigint, firstOffset: bigint }> } {
  const parts: Buffer[] = []
  let offset = 0
  const data = (producerId: number, value: string, isTransactional = true): void => {
    parts.push(buildRecordBatch({ baseOffset: offset, producerId, producerEpoch: 0, baseSequence: 0, isTransactional, records: [{ value }] }))
    offset++
  }
  const marker = (producerId: number, type: typeof ControlRecordType.COMMIT | typeof ControlRecordType.ABORT): void => {
    parts.push(buildEndTxnMarkerBatch({ type, producerId, producerEpoch: 0, coordinatorEpoch: 0, baseOffset: offset }))
    offset++
  }
  data(7, 'c1') // 0
  data(9, 'a1') // 1
  data(7, 'c2') // 2
  data(9, 'a2') // 3
  marker(7, ControlRecordType.COMMIT) // 4
  marker(9, ControlRecordType.ABORT) // 5
  data(9, 'c3') // 6: a new transaction of producer 9, committed
  marker(9, ControlRecordType.COMMIT) // 7
  data(-1, 'plain', false) // 8
  return { records: Buffer.concat(parts), aborted: [{ producerId: 9n, firstOffset: 1n }] }
}

test('read_committed drops aborted transactions and markers; read_uncommitted drops only markers', () => {
  const { records, aborted } = transactionalLog()
  const scan = scanRecordSet(records)
  assert.equal(scan.nextOffset, 9)
  assert.equal(scan.count, 6, 'control batches are not counted as records')
  const committed = decodeCompletedFetch(completed(records, { abortedTransactions: aborted }), OPTIONS)
  assert.deepEqual(values(committed.records), ['c1', 'c2', 'c3', 'plain'])
  assert.deepEqual(committed.records.map((r) => r.offset), [0n, 2n, 6n, 8n])
  const uncommitted = decodeCompletedFetch(completed(records, { abortedTransactions: aborted }), { ...OPTIONS, readCommitted: false })
  assert.deepEqual(values(uncommitted.records), ['c1', 'a1', 'c2', 'a2', 'c3', 'plain'])
})

test('an aborted transaction that started before the fetched range is still dropped', () => {
  const { records, aborted } = transactionalLog()
  // Fetch from offset 3: the broker still lists producer 9's transaction (first offset 1).
  const decoded = decodeCompletedFetch(completed(records, { abortedTransactions: aborted, fetchOffset: 3 }), OPTIONS)
  assert.deepEqual(values(decoded.records), ['c3', 'plain'])
})

test('the scan stops before a partial trailing batch', () => {
  const a = buildRecordBatch({ baseOffset: 0, records: [{ value: 'a' }, { value: 'b' }] })
  const b = buildRecordBatch({ baseOffset: 2, records: [{ value: 'c' }] })
  const truncated = Buffer.concat([a, b.subarray(0, b.length - 3)])
  assert.deepEqual(scanRecordSet(truncated), { end: a.length, nextOffset: 2, count: 2 })
  assert.deepEqual(scanRecordSet(Buffer.alloc(0)), { end: 0, nextOffset: -1, count: 0 })
})

test('a corrupt batch fails to decode with ProtocolDecodeError', () => {
  const batch = Buffer.from(buildRecordBatch({ records: [{ value: 'hello' }] }))
  batch[batch.length - 2]! ^= 0xff
  assert.throws(() => decodeCompletedFetch(completed(batch), OPTIONS), { name: 'ProtocolDecodeError' })
  // With checkCrcs off the damaged value simply comes through.
  assert.equal(decodeCompletedFetch(completed(batch), { ...OPTIONS, verifyCrc: false }).records.length, 1)
})

test('the buffer counts bytes and records, drops stale fetches and purges on demand', () => {
  const buffer = new FetchBuffer()
  const one = completed(buildRecordBatch({ records: [{ value: 'a' }, { value: 'b' }] }))
  const two = completed(buildRecordBatch({ records: [{ value: 'c' }] }))
  buffer.add(one)
  buffer.add(two)
  assert.equal(buffer.records, 3)
  assert.equal(buffer.bytes, one.bytes + two.bytes)
  one.state.epoch++
  buffer.purge()
  assert.equal(buffer.records, 1)
  assert.equal(buffer.next(), two)
  buffer.release(two)
  assert.equal(buffer.bytes, 0)
  assert.equal(buffer.records, 0)
  assert.equal(buffer.next(), undefined)
})
