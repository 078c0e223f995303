// TxnOffsetCommit: offsets committed inside a transaction are invisible until the COMMIT marker
// reaches the group's __consumer_offsets partition, dropped on ABORT, reported as unstable to
// RequireStable OffsetFetch meanwhile, rebuilt (pending or completed) when the coordinator
// loads, and checked against the transaction and the group generation.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCode, OffsetFetchApi, TxnOffsetCommitApi } from '@samsa/protocol'
import type { RawClient } from '@samsa/testkit'
import { commit, joinNew, sync } from '../group/helpers.ts'
import { connect, createTopic, setup } from '../helpers.ts'
import { addOffsets, endTxn, initTransactional, txnOffsetCommit } from './helpers.ts'

async function committed (c: RawClient, groupId: string, topic: string, partitions: number[], requireStable = false): Promise<Array<[number, number]>> {
  const r = await c.request(OffsetFetchApi, 7, { groupId, topics: [{ name: topic, partitionIndexes: partitions }], groups: [], requireStable })
  assert.equal(r.errorCode, ErrorCode.NONE)
  return r.topics[0]!.partitions.map((p) => [Number(p.committedOffset), p.errorCode])
}

test('offsets of a transaction become visible on commit, are dropped on abort, and are unstable meanwhile', async (t) => {
  const { client } = await setup(t, { inMemory: true })
  await createTopic(client, 'in', { partitions: 2 })
  const p = await initTransactional(client, 'ctp')
  // Without AddOffsetsToTxn the group's partition is not in the transaction.
  assert.deepEqual(await txnOffsetCommit(client, 'ctp', p, 'g1', 'in', { 0: 5 }), [ErrorCode.INVALID_TXN_STATE])
  assert.equal(await addOffsets(client, 'ctp', p, 'g1'), ErrorCode.NONE)
  for (const version of [0, 1, 2, 3, 4]) {
    assert.deepEqual(await txnOffsetCommit(client, 'ctp', p, 'g1', 'in', { 0: 10 + version, 1: 20 + version }, version), [ErrorCode.NONE, ErrorCode.NONE], `v${version}`)
  }
  assert.deepEqual(await txnOffsetCommit(client, 'ctp', p, 'g1', 'missing', { 0: 1 }), [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION])
  assert.deepEqual(await committed(client, 'g1', 'in', [0, 1]), [[-1, 0], [-1, 0]], 'pending offsets are not visible')
  assert.deepEqual(await committed(client, 'g1', 'in', [0, 1], true), [[-1, ErrorCode.UNSTABLE_OFFSET_COMMIT], [-1, ErrorCode.UNSTABLE_OFFSET_COMMIT]])
  assert.equal(await endTxn(client, 'ctp', p, true), ErrorCode.NONE)
  assert.deepEqual(await committed(client, 'g1', 'in', [0, 1], true), [[14, 0], [24, 0]], 'the last commit of the transaction wins')

  // Aborted: the previous offsets stay.
  assert.equal(await addOffsets(client, 'ctp', p, 'g1'), ErrorCode.NONE)
  assert.deepEqual(await txnOffsetCommit(client, 'ctp', p, 'g1', 'in', { 0: 99 }), [ErrorCode.NONE])
  assert.equal(await endTxn(client, 'ctp', p, false), ErrorCode.NONE)
  assert.deepEqual(await committed(client, 'g1', 'in', [0], true), [[14, 0]])

  // A regular commit after the transactional one wins, as in Kafka (log order).
  assert.equal(await addOffsets(client, 'ctp', p, 'g1'), ErrorCode.NONE)
  assert.deepEqual(await txnOffsetCommit(client, 'ctp', p, 'g1', 'in', { 0: 50, 1: 60 }), [ErrorCode.NONE, ErrorCode.NONE])
  await commit(client, 'g1', [{ topic: 'in', partition: 0, offset: 40 }])
  assert.equal(await endTxn(client, 'ctp', p, true), ErrorCode.NONE)
  assert.deepEqual(await committed(client, 'g1', 'in', [0, 1]), [[40, 0], [60, 0]])

  // A stale epoch is fenced at the partition.
  const next = await initTransactional(client, 'ctp')
  assert.equal(await addOffsets(client, 'ctp', next, 'g1'), ErrorCode.NONE)
  assert.deepEqual(await txnOffsetCommit(client, 'ctp', p, 'g1', 'in', { 0: 1 }), [ErrorCode.INVALID_PRODUCER_EPOCH])
})

test('pending and completed transactional offsets are rebuilt when __consumer_offsets loads', async (t) => {
  const { broker, client } = await setup(t, { inMemory: true })
  await createTopic(client, 'in', { partitions: 1 })
  const p = await initTransactional(client, 'load-1')
  assert.equal(await addOffsets(client, 'load-1', p, 'lg'), ErrorCode.NONE)
  assert.deepEqual(await txnOffsetCommit(client, 'load-1', p, 'lg', 'in', { 0: 7 }), [ErrorCode.NONE])
  assert.equal(await endTxn(client, 'load-1', p, true), ErrorCode.NONE)
  assert.equal(await addOffsets(client, 'load-1', p, 'lg'), ErrorCode.NONE)
  assert.deepEqual(await txnOffsetCommit(client, 'load-1', p, 'lg', 'in', { 0: 9 }), [ErrorCode.NONE])
  await broker.restart()
  const c = await connect(t, broker)
  await broker.broker.groupCoordinator.loaded
  await broker.broker.transactionCoordinator.loaded
  assert.deepEqual(await committed(c, 'lg', 'in', [0]), [[7, 0]], 'the committed transaction is applied on load')
  assert.deepEqual(await committed(c, 'lg', 'in', [0], true), [[-1, ErrorCode.UNSTABLE_OFFSET_COMMIT]], 'the open one is pending again')
  assert.equal(await endTxn(c, 'load-1', p, true), ErrorCode.NONE)
  assert.deepEqual(await committed(c, 'lg', 'in', [0], true), [[9, 0]])
})

test('v3+ TxnOffsetCommit checks the group member and generation (KIP-447)', async (t) => {
  const { client } = await setup(t, { inMemory: true })
  await createTopic(client, 'in', { partitions: 1 })
  const joined = await joinNew(client, 'mg')
  assert.equal(joined.errorCode, ErrorCode.NONE)
  await sync(client, 'mg', joined.generationId, joined.memberId, [{ memberId: joined.memberId, assignment: Buffer.alloc(0) }])
  const p = await initTransactional(client, 'member-1')
  assert.equal(await addOffsets(client, 'member-1', p, 'mg'), ErrorCode.NONE)
  const request = async (generationId: number, memberId: string): Promise<number> => (await client.request(TxnOffsetCommitApi, 3, {
    transactionalId: 'member-1', groupId: 'mg', producerId: p.producerId, producerEpoch: p.producerEpoch, generationId, memberId, groupInstanceId: null,
    topics: [{ name: 'in', partitions: [{ partitionIndex: 0, committedOffset: 3n, committedLeaderEpoch: -1, committedMetadata: null }] }]
  })).topics[0]!.partitions[0]!.errorCode
  assert.equal(await request(joined.generationId + 1, joined.memberId), ErrorCode.ILLEGAL_GENERATION)
  assert.equal(await request(joined.generationId, 'someone-else'), ErrorCode.UNKNOWN_MEMBER_ID)
  assert.equal(await request(joined.generationId, joined.memberId), ErrorCode.NONE)
  assert.equal(await endTxn(client, 'member-1', p, true), ErrorCode.NONE)
  assert.deepEqual(await committed(client, 'mg', 'in', [0]), [[3, 0]])
})
