// The transaction coordinator over the wire: the transaction flow with markers and the last
// stable offset, fencing by InitProducerId (including an open transaction of the previous
// instance), KIP-360 epoch bumps and epoch exhaustion, misuse answered with Kafka's codes,
// timeouts, transactional id expiration, recovery of a transaction prepared before a restart,
// WriteTxnMarkers, DescribeTransactions / ListTransactions, and the records in __transaction_state.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  DescribeTransactionsApi, ErrorCode, FindCoordinatorApi, ListTransactionsApi, WriteTxnMarkersApi, buildRecordBatch, decodeRecordBatch, iterateBatches
} from '@samsa/protocol'
import {
  TRANSACTION_STATE_TOPIC, TransactionState, decodeTransactionLogKey, decodeTransactionLogValue, encodeTransactionLogKey, encodeTransactionLogValue
} from '../../src/txn/mod.ts'
import { partitionForGroup } from '../../src/group/group-hash.ts'
import { connect, createTopic, listOffset, setup } from '../helpers.ts'
import {
  addPartitions, consume, endTxn, fetchPartition, initProducerId, initTransactional, produceRaw, producerBatch, readBatches, waitFor
} from './helpers.ts'

const LATEST = -1n

test('a transaction: AddPartitions, produce, commit; markers in every partition; the LSO holds until then', async (t) => {
  const { broker, client } = await setup(t, { inMemory: true })
  await createTopic(client, 'tx', { partitions: 2 })
  const found = await client.request(FindCoordinatorApi, 3, { key: 'app-1', keyType: 1, coordinatorKeys: [] })
  assert.equal(found.errorCode, ErrorCode.NONE)
  assert.equal(broker.broker.topics.get(TRANSACTION_STATE_TOPIC)?.partitions.length, 50, '__transaction_state created on first use')
  const p = await initTransactional(client, 'app-1')
  assert.equal(p.producerEpoch, 0)
  // Not added yet: refused (KIP-890 verification).
  const early = await produceRaw(client, 'tx', 0, producerBatch(['x'], { ...p, baseSequence: 0, transactional: true }), 'app-1')
  assert.equal(early.errorCode, ErrorCode.INVALID_TXN_STATE)
  assert.deepEqual(await addPartitions(client, 'app-1', p, { tx: [0, 1] }), [ErrorCode.NONE, ErrorCode.NONE])
  await produceRaw(client, 'tx', 0, producerBatch(['plain'], { producerId: -1n, producerEpoch: -1, baseSequence: -1 }))
  assert.equal((await produceRaw(client, 'tx', 0, producerBatch(['a', 'b'], { ...p, baseSequence: 0, transactional: true }), 'app-1')).errorCode, ErrorCode.NONE)
  assert.equal((await produceRaw(client, 'tx', 1, producerBatch(['c'], { ...p, baseSequence: 0, transactional: true }), 'app-1')).errorCode, ErrorCode.NONE)
  await produceRaw(client, 'tx', 0, producerBatch(['after'], { producerId: -1n, producerEpoch: -1, baseSequence: -1 }))
  // The open transaction holds the LSO at its first offset: read_committed sees the record before it only.
  const open = await fetchPartition(client, 'tx', 0, 1)
  assert.equal(open.lastStableOffset, 1n)
  assert.equal(open.highWatermark, 4n)
  assert.deepEqual(await consume(client, 'tx', 0, 1), ['plain'])
  assert.deepEqual(await consume(client, 'tx', 0, 0), ['plain', 'a', 'b', 'after'])
  assert.equal((await listOffset(client, 'tx', LATEST, { isolationLevel: 1 })).offset, 1n)
  const described = await client.request(DescribeTransactionsApi, 0, { transactionalIds: ['app-1', 'nope'] })
  assert.deepEqual(described.transactionStates.map((s) => [s.errorCode, s.transactionState, s.topics]), [
    [ErrorCode.NONE, 'Ongoing', [{ topic: 'tx', partitions: [0, 1] }]],
    [ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, '', []]
  ])
  assert.ok(described.transactionStates[0]!.transactionStartTimeMs > 0n)
  assert.equal(await endTxn(client, 'app-1', p, true), ErrorCode.NONE)
  // The markers are in both partitions when EndTxn is answered.
  assert.deepEqual((await readBatches(client, 'tx', 0)).map((r) => r.control ?? r.value), ['plain', 'a', 'b', 'after', 'COMMIT'])
  assert.deepEqual((await readBatches(client, 'tx', 1)).map((r) => r.control ?? r.value), ['c', 'COMMIT'])
  assert.deepEqual(await consume(client, 'tx', 0, 1), ['plain', 'a', 'b', 'after'])
  assert.equal((await listOffset(client, 'tx', LATEST, { isolationLevel: 1 })).offset, 5n)
  await waitFor('CompleteCommit', () => broker.broker.transactionCoordinator.transaction('app-1')?.state === TransactionState.CompleteCommit)
  // A retried commit is fine; an abort now is not.
  assert.equal(await endTxn(client, 'app-1', p, true), ErrorCode.NONE)
  assert.equal(await endTxn(client, 'app-1', p, false), ErrorCode.INVALID_TXN_STATE)

  // An aborted transaction: read_committed skips it; Fetch lists it.
  assert.deepEqual(await addPartitions(client, 'app-1', p, { tx: [0] }), [ErrorCode.NONE])
  await produceRaw(client, 'tx', 0, producerBatch(['gone'], { ...p, baseSequence: 2, transactional: true }), 'app-1')
  assert.equal(await endTxn(client, 'app-1', p, false), ErrorCode.NONE)
  const data = await fetchPartition(client, 'tx', 0, 1)
  assert.deepEqual(data.abortedTransactions, [{ producerId: p.producerId, firstOffset: 5n }])
  assert.deepEqual(await consume(client, 'tx', 0, 1), ['plain', 'a', 'b', 'after'])
  assert.deepEqual(await consume(client, 'tx', 0, 0), ['plain', 'a', 'b', 'after', 'gone'])

  // __transaction_state holds Kafka's records: key version 0 + id, value version 0.
  const partition = broker.broker.topics.get(TRANSACTION_STATE_TOPIC)!.partitions.find((x) => x.log.logEndOffset > 0)!
  const read = partition.log.read(0, { maxBytes: 1 << 20 })
  const states: string[] = []
  for (const e of iterateBatches(read.records)) {
    for (const r of decodeRecordBatch(read.records, e.position).records) {
      assert.equal(decodeTransactionLogKey(r.key!), 'app-1')
      assert.equal(r.value!.readInt16BE(0), 0)
      states.push(decodeTransactionLogValue(r.value!).state)
    }
  }
  assert.deepEqual(states, ['Empty', 'Ongoing', 'PrepareCommit', 'CompleteCommit', 'Ongoing', 'PrepareAbort', 'CompleteAbort'])
})

test('misuse gets Kafka\'s codes: unknown ids, wrong epochs, EndTxn without a transaction, concurrent transactions, bad timeouts', async (t) => {
  const { client } = await setup(t, { inMemory: true, config: { 'transaction.max.timeout.ms': 60000 } })
  await createTopic(client, 'm', { partitions: 1 })
  const unknown = { producerId: 424242n, producerEpoch: 0 }
  assert.equal(await endTxn(client, 'never-seen', unknown, true), ErrorCode.INVALID_PRODUCER_ID_MAPPING)
  assert.deepEqual(await addPartitions(client, 'never-seen', unknown, { m: [0] }), [ErrorCode.INVALID_PRODUCER_ID_MAPPING])
  assert.equal((await initProducerId(client, 'm-1', { timeoutMs: 60001 })).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT)
  assert.equal((await initProducerId(client, 'm-1', { timeoutMs: 0 })).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT)
  assert.equal((await initProducerId(client, '', {})).errorCode, ErrorCode.INVALID_REQUEST)
  const p = await initTransactional(client, 'm-1')
  // EndTxn with nothing open.
  assert.equal(await endTxn(client, 'm-1', p, true), ErrorCode.INVALID_TXN_STATE)
  assert.equal(await endTxn(client, 'm-1', p, false), ErrorCode.INVALID_TXN_STATE)
  // Another producer id for this transactional id.
  assert.equal(await endTxn(client, 'm-1', { ...p, producerId: p.producerId + 1n }, true), ErrorCode.INVALID_PRODUCER_ID_MAPPING)
  // Wrong epochs: PRODUCER_FENCED from v2, INVALID_PRODUCER_EPOCH before.
  const stale = { ...p, producerEpoch: p.producerEpoch + 1 }
  assert.equal(await endTxn(client, 'm-1', stale, true, 2), ErrorCode.PRODUCER_FENCED)
  assert.equal(await endTxn(client, 'm-1', stale, true, 1), ErrorCode.INVALID_PRODUCER_EPOCH)
  assert.deepEqual(await addPartitions(client, 'm-1', stale, { m: [0] }, 2), [ErrorCode.PRODUCER_FENCED])
  assert.deepEqual(await addPartitions(client, 'm-1', stale, { m: [0] }, 1), [ErrorCode.INVALID_PRODUCER_EPOCH])
  // Unknown partitions: nothing is added.
  assert.deepEqual(await addPartitions(client, 'm-1', p, { m: [0], missing: [0] }), [ErrorCode.OPERATION_NOT_ATTEMPTED, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION])
  // A transaction open, then a new instance: CONCURRENT_TRANSACTIONS while the old one is aborted, then a bumped epoch.
  assert.deepEqual(await addPartitions(client, 'm-1', p, { m: [0] }), [ErrorCode.NONE])
  assert.equal((await produceRaw(client, 'm', 0, producerBatch(['zombie-data'], { ...p, baseSequence: 0, transactional: true }), 'm-1')).errorCode, ErrorCode.NONE)
  const concurrent = await initProducerId(client, 'm-1')
  assert.equal(concurrent.errorCode, ErrorCode.CONCURRENT_TRANSACTIONS)
  const next = await initTransactional(client, 'm-1')
  assert.equal(next.producerId, p.producerId)
  assert.equal(next.producerEpoch, p.producerEpoch + 2, 'the fencing abort used one epoch, the new instance the next')
  // The zombie is fenced everywhere: coordinator and partition.
  assert.equal(await endTxn(client, 'm-1', p, true), ErrorCode.PRODUCER_FENCED)
  assert.deepEqual(await addPartitions(client, 'm-1', p, { m: [0] }), [ErrorCode.PRODUCER_FENCED])
  assert.equal((await produceRaw(client, 'm', 0, producerBatch(['zombie-2'], { ...p, baseSequence: 1, transactional: true }), 'm-1')).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH)
  assert.deepEqual(await consume(client, 'm', 0, 1), [], 'the zombie\'s data was aborted')
  // A non-transactional batch from a producer inside a transaction.
  assert.deepEqual(await addPartitions(client, 'm-1', next, { m: [0] }), [ErrorCode.NONE])
  assert.equal((await produceRaw(client, 'm', 0, producerBatch(['t'], { ...next, baseSequence: 0, transactional: true }), 'm-1')).errorCode, ErrorCode.NONE)
  assert.equal((await produceRaw(client, 'm', 0, producerBatch(['nt'], { ...next, baseSequence: 1 }), 'm-1')).errorCode, ErrorCode.INVALID_TXN_STATE)
  // Transactional data without a transactional id cannot be verified.
  const other = await initProducerId(client, null)
  assert.equal((await produceRaw(client, 'm', 0, producerBatch(['x'], { ...other, baseSequence: 0, transactional: true }))).errorCode, ErrorCode.INVALID_TXN_STATE)
  assert.equal(await endTxn(client, 'm-1', next, true), ErrorCode.NONE)
  assert.deepEqual(await consume(client, 'm', 0, 1), ['t'])
})

test('KIP-360: a producer bumps its own epoch; retries get the same answer; exhausted epochs get a new producer id', async (t) => {
  const { broker, client } = await setup(t, { inMemory: true })
  const p = await initTransactional(client, 'bump', { version: 4 })
  const bumped = await initProducerId(client, 'bump', { version: 3, producerId: p.producerId, producerEpoch: p.producerEpoch })
  assert.deepEqual([bumped.errorCode, bumped.producerId, bumped.producerEpoch], [ErrorCode.NONE, p.producerId, p.producerEpoch + 1])
  // The same request again (its answer was lost): the same epoch, not another bump.
  const retried = await initProducerId(client, 'bump', { version: 3, producerId: p.producerId, producerEpoch: p.producerEpoch })
  assert.deepEqual([retried.errorCode, retried.producerEpoch], [ErrorCode.NONE, p.producerEpoch + 1])
  // An epoch from further back is fenced: PRODUCER_FENCED from v4, INVALID_PRODUCER_EPOCH in v3.
  const old = await initProducerId(client, 'bump', { version: 4, producerId: p.producerId, producerEpoch: 77 })
  assert.equal(old.errorCode, ErrorCode.PRODUCER_FENCED)
  assert.equal((await initProducerId(client, 'bump', { version: 3, producerId: p.producerId, producerEpoch: 77 })).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH)

  // Epoch exhaustion: a transactional id whose epoch is near Short.MAX_VALUE (written to
  // __transaction_state as a coordinator would have, then loaded by a restart).
  const topic = broker.broker.topics.get(TRANSACTION_STATE_TOPIC)!
  const partition = topic.partitions[partitionForGroup('old-timer', topic.partitions.length)]!
  const now = Date.now()
  partition.appendAsLeader(buildRecordBatch({
    records: [{
      key: encodeTransactionLogKey('old-timer'),
      value: encodeTransactionLogValue({
        producerId: 9_000_000n, producerEpoch: 32765, transactionTimeoutMs: 60000, state: TransactionState.CompleteCommit, partitions: new Map(),
        lastUpdateTimestampMs: now, startTimestampMs: -1, previousProducerId: -1n
      }),
      timestamp: now
    }]
  }))
  await broker.restart()
  const c = await connect(t, broker)
  await broker.broker.transactionCoordinator.loaded
  const last = await initTransactional(c, 'old-timer')
  assert.deepEqual([last.producerId, last.producerEpoch], [9_000_000n, 32766])
  // The producer bumps its exhausted epoch (KIP-360): a new producer id, epoch 0.
  const rotated = await initProducerId(c, 'old-timer', { version: 4, producerId: 9_000_000n, producerEpoch: 32766 })
  assert.equal(rotated.errorCode, ErrorCode.NONE)
  assert.notEqual(rotated.producerId, 9_000_000n)
  assert.equal(rotated.producerEpoch, 0)
  // It missed the answer and retries with the old id and exhausted epoch: the same answer.
  const retry = await initProducerId(c, 'old-timer', { version: 4, producerId: 9_000_000n, producerEpoch: 32766 })
  assert.deepEqual([retry.errorCode, retry.producerId, retry.producerEpoch], [ErrorCode.NONE, rotated.producerId, 0])
  // A new instance (no id) rotates too when the epoch is exhausted, and then continues normally.
  const fresh = await initTransactional(c, 'old-timer')
  assert.deepEqual([fresh.producerId, fresh.producerEpoch], [rotated.producerId, 1])
})

test('transaction.timeout.ms aborts abandoned transactions and fences their producer; ListTransactions filters', async (t) => {
  const { broker, client } = await setup(t, { inMemory: true, config: { 'transaction.abort.timed.out.transaction.cleanup.interval.ms': 100 } })
  await createTopic(client, 'slow')
  const p = await initTransactional(client, 'slow-1', { timeoutMs: 300 })
  const q = await initTransactional(client, 'idle-1')
  assert.deepEqual(await addPartitions(client, 'slow-1', p, { slow: [0] }), [ErrorCode.NONE])
  await produceRaw(client, 'slow', 0, producerBatch(['abandoned'], { ...p, baseSequence: 0, transactional: true }), 'slow-1')
  const listed = await client.request(ListTransactionsApi, 1, { stateFilters: ['Ongoing', 'Bogus'], producerIdFilters: [], durationFilter: -1n })
  assert.deepEqual([listed.errorCode, listed.unknownStateFilters, listed.transactionStates.map((s) => s.transactionalId)], [ErrorCode.NONE, ['Bogus'], ['slow-1']])
  const byProducer = await client.request(ListTransactionsApi, 0, { stateFilters: [], producerIdFilters: [q.producerId], durationFilter: -1n })
  assert.deepEqual(byProducer.transactionStates.map((s) => [s.transactionalId, s.transactionState]), [['idle-1', 'Empty']])
  const longRunning = await client.request(ListTransactionsApi, 1, { stateFilters: ['Ongoing'], producerIdFilters: [], durationFilter: 60000n })
  assert.deepEqual(longRunning.transactionStates, [])
  await waitFor('the timed-out transaction to be aborted', () => broker.broker.transactionCoordinator.transaction('slow-1')?.state === TransactionState.CompleteAbort)
  assert.deepEqual((await readBatches(client, 'slow', 0)).map((r) => r.control ?? r.value), ['abandoned', 'ABORT'])
  assert.deepEqual(await consume(client, 'slow', 0, 1), [])
  assert.equal(broker.broker.transactionCoordinator.transaction('slow-1')!.producerEpoch, p.producerEpoch + 1)
  assert.equal(await endTxn(client, 'slow-1', p, true), ErrorCode.PRODUCER_FENCED)
  assert.equal((await fetchPartition(client, 'slow', 0, 1)).lastStableOffset, 2n)
})

test('transactional.id.expiration.ms removes idle transactional ids (a tombstone in __transaction_state)', async (t) => {
  const { broker, client } = await setup(t, {
    inMemory: true, config: { 'transactional.id.expiration.ms': 300, 'transaction.remove.expired.transaction.cleanup.interval.ms': 100 }
  })
  const p = await initTransactional(client, 'short-lived')
  await waitFor('the id to expire', () => broker.broker.transactionCoordinator.transaction('short-lived') === undefined)
  assert.equal(await endTxn(client, 'short-lived', p, true), ErrorCode.INVALID_PRODUCER_ID_MAPPING)
  const d = await client.request(DescribeTransactionsApi, 0, { transactionalIds: ['short-lived'] })
  assert.equal(d.transactionStates[0]!.errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND)
  await broker.restart()
  await broker.broker.transactionCoordinator.loaded
  assert.equal(broker.broker.transactionCoordinator.transaction('short-lived'), undefined, 'the tombstone keeps it gone after a restart')
})

test('a transaction prepared before a restart is completed on load: markers written, data visible', async (t) => {
  const { broker, client } = await setup(t, { inMemory: true })
  await createTopic(client, 'rec', { partitions: 2 })
  const p = await initTransactional(client, 'rec-1')
  assert.deepEqual(await addPartitions(client, 'rec-1', p, { rec: [0, 1] }), [ErrorCode.NONE, ErrorCode.NONE])
  await produceRaw(client, 'rec', 0, producerBatch(['r0'], { ...p, baseSequence: 0, transactional: true }), 'rec-1')
  await produceRaw(client, 'rec', 1, producerBatch(['r1'], { ...p, baseSequence: 0, transactional: true }), 'rec-1')
  // The coordinator wrote PrepareCommit and stopped before any marker: write that record as it would.
  const txn = broker.broker.transactionCoordinator.transaction('rec-1')!
  const topic = broker.broker.topics.get(TRANSACTION_STATE_TOPIC)!
  const partition = topic.partitions[partitionForGroup('rec-1', topic.partitions.length)]!
  partition.appendAsLeader(buildRecordBatch({
    records: [{
      key: encodeTransactionLogKey('rec-1'),
      value: encodeTransactionLogValue({
        producerId: txn.producerId, producerEpoch: txn.producerEpoch, transactionTimeoutMs: txn.txnTimeoutMs, state: TransactionState.PrepareCommit,
        partitions: new Map([['rec', [0, 1]]]), lastUpdateTimestampMs: Date.now(), startTimestampMs: txn.txnStartTimestamp, previousProducerId: -1n
      })
    }]
  }))
  assert.deepEqual(await consume(client, 'rec', 0, 1), [])
  await broker.restart()
  const c = await connect(t, broker)
  await waitFor('the recovered commit', () => broker.broker.transactionCoordinator.transaction('rec-1')?.state === TransactionState.CompleteCommit)
  assert.deepEqual(await consume(c, 'rec', 0, 1), ['r0'])
  assert.deepEqual(await consume(c, 'rec', 1, 1), ['r1'])
  assert.deepEqual((await readBatches(c, 'rec', 1)).map((r) => r.control ?? r.value), ['r1', 'COMMIT'])
  // An open transaction survives a restart too (producer state and coordinator state), and can commit.
  assert.deepEqual(await addPartitions(c, 'rec-1', p, { rec: [0] }), [ErrorCode.NONE])
  await produceRaw(c, 'rec', 0, producerBatch(['open'], { ...p, baseSequence: 1, transactional: true }), 'rec-1')
  await broker.restart()
  const c2 = await connect(t, broker)
  await broker.broker.transactionCoordinator.loaded
  assert.equal((await fetchPartition(c2, 'rec', 0, 1)).lastStableOffset, 2n)
  assert.equal(await endTxn(c2, 'rec-1', p, true), ErrorCode.NONE)
  assert.deepEqual(await consume(c2, 'rec', 0, 1), ['r0', 'open'])
})

test('WriteTxnMarkers appends markers for a coordinator; unknown partitions and old epochs are reported', async (t) => {
  const { client } = await setup(t, { inMemory: true, config: { 'transaction.partition.verification.enable': false } })
  await createTopic(client, 'wm')
  const p = await initProducerId(client, null)
  // Without verification, a transactional batch starts a transaction in the partition by itself.
  await produceRaw(client, 'wm', 0, producerBatch(['w'], { ...p, baseSequence: 0, transactional: true }))
  assert.equal((await fetchPartition(client, 'wm', 0, 1)).lastStableOffset, 0n)
  const write = async (epoch: number, commit: boolean, partitions: number[]): Promise<number[]> => {
    const r = await client.request(WriteTxnMarkersApi, 1, {
      markers: [{ producerId: p.producerId, producerEpoch: epoch, transactionResult: commit, coordinatorEpoch: 0, topics: [{ name: 'wm', partitionIndexes: partitions }] }]
    })
    return r.markers[0]!.topics[0]!.partitions.map((x) => x.errorCode)
  }
  assert.deepEqual(await write(0, true, [0, 3]), [ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION])
  assert.equal((await fetchPartition(client, 'wm', 0, 1)).lastStableOffset, 2n)
  assert.deepEqual(await consume(client, 'wm', 0, 1), ['w'])
  await write(2, false, [0])
  assert.deepEqual(await write(1, false, [0]), [ErrorCode.INVALID_PRODUCER_EPOCH])
})
