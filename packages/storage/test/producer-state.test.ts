// Producer state (Kafka's ProducerStateManager) through PartitionLog: the duplicate window of
// five batches, sequence gaps and epochs, transactions and the last stable offset, snapshots
// (format, round trip, corruption), rebuilding after truncation and unclean shutdowns, expiry.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ControlRecordType, ErrorCode, buildEndTxnMarkerBatch, buildRecordBatch, crc32c } from '@samsa/protocol'
import {
  MemoryFileSystem, ProducerStateEntry, ProducerStateError, decodeProducerSnapshot, encodeProducerSnapshot, incrementSequence,
  decrementSequence, type AppendOrigin, type PartitionLog
} from '../src/mod.ts'
import { T0, manualClock, openLog, values } from './helpers.ts'

const INT32_MAX = 0x7fffffff

interface ProducerBatch {
  pid?: number
  epoch?: number
  seq?: number
  txn?: boolean
  timestamp?: number
}

/** A batch of `count` records from a producer. */
function pbatch (count: number, o: ProducerBatch = {}, prefix = 'v'): Buffer {
  const ts = o.timestamp ?? T0
  return buildRecordBatch({
    records: Array.from({ length: count }, (_, i) => ({ key: null, value: `${prefix}${o.seq ?? 0}-${i}`, timestamp: ts })),
    producerId: BigInt(o.pid ?? 1),
    producerEpoch: o.epoch ?? 0,
    baseSequence: o.seq ?? 0,
    isTransactional: o.txn ?? false,
    timestamp: ts
  })
}

function marker (type: 'commit' | 'abort', pid = 1, epoch = 0, coordinatorEpoch = 0): Buffer {
  return buildEndTxnMarkerBatch({
    type: type === 'commit' ? ControlRecordType.COMMIT : ControlRecordType.ABORT, producerId: pid, producerEpoch: epoch, coordinatorEpoch, timestamp: T0
  })
}

function append (log: PartitionLog, buf: Buffer, origin: AppendOrigin = 'client'): ReturnType<PartitionLog['appendAsLeader']> {
  const r = log.appendAsLeader(buf, 0, origin)
  log.highWatermark = log.logEndOffset
  return r
}

function assertProducerError (fn: () => unknown, code: number): void {
  assert.throws(fn, (e: unknown) => e instanceof ProducerStateError && e.errorCode === code)
}

/** A log whose clock sits at the batches' timestamps (producer expiry counts from them). */
function freshLog (fs = new MemoryFileSystem(), options: { clean?: boolean, clock?: () => number } = {}): PartitionLog {
  return openLog(fs, { clock: options.clock ?? (() => T0), clean: options.clean ?? true, config: { 'segment.bytes': 100_000 } })
}

describe('producer state: sequences and duplicates', () => {
  it('answers a retry of any of the last five batches with its original offsets, and appends nothing', () => {
    const log = freshLog()
    const offsets: number[] = []
    for (let b = 0; b < 6; b++) offsets.push(append(log, pbatch(2, { seq: b * 2 })).baseOffset)
    const end = log.logEndOffset
    for (let b = 1; b < 6; b++) {
      const r = append(log, pbatch(2, { seq: b * 2 }))
      assert.equal(r.duplicate, true)
      assert.equal(r.baseOffset, offsets[b])
      assert.equal(r.lastOffset, offsets[b]! + 1)
      assert.equal(r.logAppendTime, T0, 'the original batch timestamp (Kafka sets it for duplicates)')
    }
    assert.equal(log.logEndOffset, end)
    // The sixth-last batch left the window: a retry of it is out of order now.
    assertProducerError(() => log.appendAsLeader(pbatch(2, { seq: 0 }), 0), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
    // A batch overlapping a retained one with another range is not a duplicate either.
    assertProducerError(() => log.appendAsLeader(pbatch(1, { seq: 10 }), 0), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
    assert.equal(log.logEndOffset, end)
    assert.equal(append(log, pbatch(1, { seq: 12 })).baseOffset, end)
  })

  it('rejects gaps; an unknown producer may start anywhere; sequences wrap at Integer.MAX_VALUE', () => {
    const log = freshLog()
    append(log, pbatch(1, { pid: 7, seq: 41 }))
    assertProducerError(() => log.appendAsLeader(pbatch(1, { pid: 7, seq: 43 }), 0), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
    append(log, pbatch(1, { pid: 7, seq: 42 }))
    // Across the wrap: a batch of 3 starting at MAX-1 ends at 1; the next starts at 2.
    append(log, pbatch(1, { pid: 8, seq: INT32_MAX - 4 }))
    assert.equal(incrementSequence(INT32_MAX - 1, 2), 0)
    assert.equal(decrementSequence(1, 3), INT32_MAX - 1)
    append(log, pbatch(3, { pid: 8, seq: INT32_MAX - 3 }))
    append(log, pbatch(3, { pid: 8, seq: INT32_MAX }))
    assert.equal(log.producerState.lastEntry(8n)!.lastSeq, 1)
    const retry = append(log, pbatch(3, { pid: 8, seq: INT32_MAX }))
    assert.equal(retry.duplicate, true)
    append(log, pbatch(1, { pid: 8, seq: 2 }))
  })

  it('fences older epochs; a new epoch starts at sequence 0', () => {
    const log = freshLog()
    append(log, pbatch(1, { epoch: 3, seq: 0 }))
    append(log, pbatch(1, { epoch: 3, seq: 1 }))
    assertProducerError(() => log.appendAsLeader(pbatch(1, { epoch: 2, seq: 2 }), 0), ErrorCode.INVALID_PRODUCER_EPOCH)
    assertProducerError(() => log.appendAsLeader(pbatch(1, { epoch: 4, seq: 2 }), 0), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
    append(log, pbatch(1, { epoch: 4, seq: 0 }))
    assert.equal(log.producerState.lastEntry(1n)!.producerEpoch, 4)
    // The old epoch's batches are forgotten: its retry is fenced, not a duplicate.
    assertProducerError(() => log.appendAsLeader(pbatch(1, { epoch: 3, seq: 1 }), 0), ErrorCode.INVALID_PRODUCER_EPOCH)
  })

  it('followers apply batches without validation; coordinator appends skip sequence checks', () => {
    const log = freshLog()
    const follower = buildRecordBatch({ records: [{ key: null, value: 'x' }], producerId: 5n, producerEpoch: 1, baseSequence: 9, baseOffset: 0 })
    log.appendAsFollower(follower)
    const gap = buildRecordBatch({ records: [{ key: null, value: 'y' }], producerId: 5n, producerEpoch: 0, baseSequence: 77, baseOffset: 1 })
    log.appendAsFollower(gap)
    assert.equal(log.producerState.lastEntry(5n)!.lastSeq, 77)
    append(log, pbatch(1, { pid: 6, seq: 5 }), 'coordinator')
    append(log, pbatch(1, { pid: 6, seq: 5 }), 'coordinator')
    assert.equal(log.logEndOffset, 4, 'coordinator appends are not deduplicated')
  })
})

describe('producer state: transactions and the last stable offset', () => {
  it('an open transaction holds the LSO at its first offset until its marker is below the high watermark', () => {
    const log = freshLog()
    append(log, pbatch(2, { pid: 1, seq: 0 }))
    const t1 = append(log, pbatch(2, { pid: 2, seq: 0, txn: true })).baseOffset
    append(log, pbatch(1, { pid: 3, seq: 0, txn: true }))
    assert.equal(log.lastStableOffset, t1)
    assert.equal(log.producerState.hasOngoingTransaction(2n, 0), true)
    // A non-transactional batch from a producer in a transaction is refused.
    assertProducerError(() => log.appendAsLeader(pbatch(1, { pid: 2, seq: 2 }), 0), ErrorCode.INVALID_TXN_STATE)
    const commitAt = log.appendAsLeader(marker('commit', 2), 0, 'coordinator').baseOffset
    // Not replicated yet (high watermark below the marker): still unstable.
    assert.equal(log.lastStableOffset, t1)
    log.highWatermark = log.logEndOffset
    assert.equal(log.lastStableOffset, t1 + 2, 'held by producer 3 now')
    const abortAt = append(log, marker('abort', 3), 'coordinator').baseOffset
    assert.equal(log.lastStableOffset, log.highWatermark)
    assert.deepEqual(log.collectAbortedTransactions(0, log.logEndOffset), [{ producerId: 3n, firstOffset: t1 + 2, lastOffset: abortAt, lastStableOffset: abortAt + 1 }])
    assert.ok(commitAt < abortAt)
    assert.equal(log.producerState.hasOngoingTransaction(2n, 0), false)
    // After a transaction the producer goes on with its sequence.
    append(log, pbatch(1, { pid: 2, seq: 2 }))
  })

  it('records the LSO of an ABORT while another transaction is open', () => {
    const log = freshLog()
    const a = append(log, pbatch(1, { pid: 1, seq: 0, txn: true })).baseOffset
    const b = append(log, pbatch(1, { pid: 2, seq: 0, txn: true })).baseOffset
    const abortAt = append(log, marker('abort', 2), 'coordinator').baseOffset
    assert.deepEqual(log.collectAbortedTransactions(0, 100), [{ producerId: 2n, firstOffset: b, lastOffset: abortAt, lastStableOffset: a }])
    assert.equal(log.lastStableOffset, a)
  })

  it('checks markers: older producer epochs and older coordinator epochs are refused', () => {
    const log = freshLog()
    append(log, pbatch(1, { epoch: 2, txn: true }))
    assertProducerError(() => log.appendAsLeader(marker('commit', 1, 1), 0, 'coordinator'), ErrorCode.INVALID_PRODUCER_EPOCH)
    append(log, marker('abort', 1, 3, 5), 'coordinator')
    assert.equal(log.producerState.lastEntry(1n)!.producerEpoch, 3, 'a fencing abort bumps the epoch')
    append(log, pbatch(1, { epoch: 3, seq: 0, txn: true }))
    assertProducerError(() => log.appendAsLeader(marker('commit', 1, 3, 4), 0, 'coordinator'), ErrorCode.TRANSACTION_COORDINATOR_FENCED)
    // A marker for a producer without an open transaction changes nothing but its epoch (a retried marker).
    append(log, marker('commit', 1, 3, 5), 'coordinator')
    append(log, marker('commit', 1, 3, 5), 'coordinator')
    assert.equal(log.lastStableOffset, log.highWatermark)
  })
})

describe('producer state: snapshots', () => {
  it('writes Kafka\'s format: version 1, CRC-32C over the entries, 46-byte entries', () => {
    const entry = new ProducerStateEntry(0x0102030405060708n, 7, 9, T0, 1234, [{ lastSeq: 41, lastOffset: 100, offsetDelta: 3, timestamp: T0 }])
    const empty = new ProducerStateEntry(99n, 1, -1, T0 - 5)
    const buf = encodeProducerSnapshot([entry, empty])
    assert.equal(buf.length, 10 + 2 * 46)
    assert.equal(buf.readInt16BE(0), 1)
    assert.equal(buf.readUInt32BE(2), crc32c(buf, 6))
    assert.equal(buf.readInt32BE(6), 2)
    assert.equal(buf.readBigInt64BE(10), 0x0102030405060708n)
    assert.equal(buf.readInt16BE(18), 7)
    assert.equal(buf.readInt32BE(20), 41)
    assert.equal(buf.readBigInt64BE(24), 100n)
    assert.equal(buf.readInt32BE(32), 3)
    assert.equal(buf.readBigInt64BE(36), BigInt(T0))
    assert.equal(buf.readInt32BE(44), 9)
    assert.equal(buf.readBigInt64BE(48), 1234n)
    // An entry without batches: last sequence and offset -1.
    assert.equal(buf.readInt32BE(56 + 10), -1)
    assert.equal(buf.readBigInt64BE(56 + 14), -1n)
    const decoded = decodeProducerSnapshot(buf)
    assert.deepEqual(decoded.map((e) => [e.producerId, e.producerEpoch, e.lastSeq, e.lastDataOffset, e.firstSeq, e.coordinatorEpoch, e.currentTxnFirstOffset, e.lastTimestamp]),
      [[0x0102030405060708n, 7, 41, 100, 38, 9, 1234, T0], [99n, 1, -1, -1, -1, -1, -1, T0 - 5]])
    const bad = Buffer.from(buf)
    bad[40]! ^= 1
    assert.throws(() => decodeProducerSnapshot(bad), /CRC/)
    assert.throws(() => decodeProducerSnapshot(buf.subarray(0, 20)), /CRC|cannot hold/)
    assert.throws(() => decodeProducerSnapshot(buf.subarray(0, 5)), /too short/)
  })

  it('survives a clean close: epochs, sequences, open transactions, the last batch for duplicates', async () => {
    const fs = new MemoryFileSystem()
    const log = freshLog(fs)
    for (let i = 0; i < 3; i++) append(log, pbatch(1, { pid: 1, seq: i }))
    const txn = append(log, pbatch(2, { pid: 2, epoch: 4, seq: 0, txn: true })).baseOffset
    await log.close()
    assert.ok(fs.readdir('/data/topic-0').includes('00000000000000000005.snapshot'))
    const again = freshLog(fs)
    assert.equal(again.lastStableOffset, txn)
    assert.equal(again.producerState.lastEntry(2n)!.producerEpoch, 4)
    assert.equal(append(again, pbatch(1, { pid: 1, seq: 2 })).duplicate, true)
    assertProducerError(() => again.appendAsLeader(pbatch(1, { pid: 1, seq: 4 }), 0), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
    append(again, pbatch(1, { pid: 1, seq: 3 }))
    append(again, marker('commit', 2, 4), 'coordinator')
    assert.equal(again.lastStableOffset, again.logEndOffset)
    await again.close()
  })

  it('rebuilds from the newest valid snapshot plus the log after an unclean shutdown; corrupt snapshots are deleted', async () => {
    const fs = new MemoryFileSystem()
    const log = openLog(fs, { clock: () => T0, config: { 'segment.bytes': 300 } })
    let seq = 0
    for (let i = 0; i < 12; i++) {
      append(log, pbatch(1, { pid: 1, seq: seq++ }))
      if (i === 8) append(log, pbatch(1, { pid: 2, seq: 0, txn: true }))
    }
    assert.ok(log.segments.length >= 3, 'rolled (a snapshot per roll)')
    await log.flush()
    await new Promise((resolve) => setImmediate(resolve))
    const expected = { lso: log.lastStableOffset, last: log.producerState.lastEntry(1n)!.lastSeq }
    const snapshots = fs.readdir('/data/topic-0').filter((f) => f.endsWith('.snapshot'))
    assert.ok(snapshots.length >= 2)
    // Corrupt the newest snapshot: an older one is used, and the log replayed from it.
    const newest = `/data/topic-0/${snapshots.at(-1)!}`
    const data = Buffer.from(fs.readFile(newest))
    data[data.length - 1]! ^= 0xff
    await fs.writeFileAtomic(newest, data)
    for (const clean of [false, true]) {
      const again = openLog(fs, { clock: () => T0, clean, config: { 'segment.bytes': 300 } })
      again.highWatermark = again.logEndOffset
      assert.equal(again.lastStableOffset, expected.lso)
      assert.equal(again.producerState.lastEntry(1n)!.lastSeq, expected.last)
      if (!clean) {
        assert.equal(again.corruptProducerSnapshots, 1)
        assert.ok(!fs.readdir('/data/topic-0').includes(snapshots.at(-1)!), 'the corrupt snapshot was deleted')
      }
      assert.equal(append(again, pbatch(1, { pid: 1, seq: seq - 1 })).duplicate, true)
      await again.close()
    }
    // Without any snapshot after a crash, the whole log is replayed.
    for (const f of fs.readdir('/data/topic-0').filter((n) => n.endsWith('.snapshot'))) fs.unlink(`/data/topic-0/${f}`)
    const scanned = openLog(fs, { clock: () => T0, clean: false, config: { 'segment.bytes': 300 } })
    scanned.highWatermark = scanned.logEndOffset
    assert.equal(scanned.lastStableOffset, expected.lso)
    assert.equal(scanned.producerState.lastEntry(1n)!.lastSeq, expected.last)
    await scanned.close()
  })

  it('rebuilds after truncation: transactions reopen, sequences go back', () => {
    const log = freshLog()
    append(log, pbatch(2, { pid: 1, seq: 0 }))
    const txn = append(log, pbatch(1, { pid: 2, seq: 0, txn: true })).baseOffset
    log.roll()
    append(log, pbatch(2, { pid: 1, seq: 2 }))
    const commitAt = append(log, marker('commit', 2), 'coordinator').baseOffset
    append(log, pbatch(1, { pid: 2, seq: 1, txn: true }))
    assert.equal(log.lastStableOffset, commitAt + 1)
    log.truncateTo(commitAt)
    assert.equal(log.lastStableOffset, txn, 'the transaction is open again')
    assert.equal(log.producerState.lastEntry(1n)!.lastSeq, 3)
    log.truncateTo(txn)
    assert.equal(log.lastStableOffset, log.highWatermark)
    assert.equal(log.producerState.lastEntry(2n), undefined)
    assert.equal(log.producerState.lastEntry(1n)!.lastSeq, 1)
    append(log, pbatch(2, { pid: 1, seq: 2 }))
    log.truncateFullyAndStartAt(50)
    assert.equal(log.producerState.producerIdCount, 0)
    assert.deepEqual(values(log), [])
  })
})

describe('producer state: expiry', () => {
  it('forgets producers idle for producer.id.expiration.ms, never one with an open transaction', async () => {
    const clock = manualClock(T0)
    const fs = new MemoryFileSystem()
    const log = openLog(fs, { clock: clock.now, producerState: { producerIdExpirationMs: 1000 } })
    append(log, pbatch(1, { pid: 1, seq: 5, timestamp: T0 }))
    append(log, pbatch(1, { pid: 2, seq: 0, timestamp: T0, txn: true }))
    append(log, pbatch(1, { pid: 3, seq: 0, timestamp: T0 + 600 }))
    clock.advance(999)
    assert.equal(log.removeExpiredProducers(), 0)
    clock.advance(1)
    assert.equal(log.removeExpiredProducers(), 1)
    assert.deepEqual([...log.producerState.activeProducers.keys()].sort(), [2n, 3n])
    // An expired producer is unknown: any sequence is accepted again.
    append(log, pbatch(1, { pid: 1, seq: 77, timestamp: T0 + 1000 }))
    await log.close()
    // Loading a snapshot leaves out producers that expired meanwhile.
    clock.advance(700)
    const again = openLog(fs, { clock: clock.now, producerState: { producerIdExpirationMs: 1000 } })
    assert.deepEqual([...again.producerState.activeProducers.keys()].sort(), [1n, 2n])
    await again.close()
  })
})
