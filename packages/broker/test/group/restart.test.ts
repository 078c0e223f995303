// Durability: groups and offsets are in __consumer_offsets (Kafka's record format, on the
// partition Kafka's hash picks) before the client is answered, and come back after a restart;
// a restart in the middle of a rebalance leaves the group able to finish it.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import {
  ConsumerGroupDescribeApi, ConsumerGroupHeartbeatApi, DeleteGroupsApi, DescribeGroupsApi, ErrorCode, FetchApi, ListGroupsApi, decodeAssignment,
  decodeRecordBatch, iterateBatches
} from '@samsa/protocol'
import { partitionForGroup } from '../../src/group/group-hash.ts'
import { type CoordinatorRecord, decodeRecord } from '../../src/group/records.ts'
import type { RawClient } from '@samsa/testkit'
import { assignment, broker, client, commit, createTopic, fetchOffsets, heartbeat, join, sync, waitFor } from './helpers.ts'

/** Every record of one __consumer_offsets partition, decoded. */
async function readOffsetsPartition (c: RawClient, partition: number): Promise<Array<{ key: Buffer, record: CoordinatorRecord }>> {
  const md = await c.request(FetchApi, 12, {
    clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1n }, maxWaitMs: 0, minBytes: 0, maxBytes: 10_000_000, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic: '__consumer_offsets', topicId: '00000000-0000-0000-0000-000000000000', partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 10_000_000, replicaDirectoryId: '00000000-0000-0000-0000-000000000000' }] }],
    forgottenTopicsData: [], rackId: ''
  })
  const records = md.responses[0]!.partitions[0]!.records!
  const out: Array<{ key: Buffer, record: CoordinatorRecord }> = []
  for (const entry of iterateBatches(records)) {
    for (const r of decodeRecordBatch(records, entry.position).records) out.push({ key: r.key!, record: decodeRecord(r.key!, r.value) })
  }
  return out
}

test('restart: classic, KIP-848 and simple groups and all offsets come back; members carry on', async (t) => {
  const b = await broker(t)
  let c = await client(t, b)
  await createTopic(c, 'r', 2)
  // A classic group, stable, with offsets.
  const j = await join(c, 'classic', { version: 3 })
  await sync(c, 'classic', j.generationId, j.memberId, [{ memberId: j.memberId, assignment: assignment('r', [0, 1]) }])
  await commit(c, 'classic', [{ topic: 'r', partition: 0, offset: 11, metadata: 'meta' }, { topic: 'r', partition: 1, offset: 12 }], { generationId: j.generationId, memberId: j.memberId, leaderEpoch: 0 })
  // A KIP-848 group.
  const m = randomUUID()
  const cg = await c.request(ConsumerGroupHeartbeatApi, 1, { groupId: 'modern', memberId: m, memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 1000, subscribedTopicNames: ['r'], subscribedTopicRegex: null, serverAssignor: null, topicPartitions: [] })
  assert.equal(cg.errorCode, ErrorCode.NONE)
  await commit(c, 'modern', [{ topic: 'r', partition: 1, offset: 7 }], { version: 9, generationId: cg.memberEpoch, memberId: m })
  // A simple group, and a deleted one.
  await commit(c, 'simple', [{ topic: 'r', partition: 0, offset: 3 }])
  await commit(c, 'gone', [{ topic: 'r', partition: 0, offset: 4 }])
  assert.equal((await c.request(DeleteGroupsApi, 2, { groupsNames: ['gone'] })).results[0]!.errorCode, ErrorCode.NONE)

  // What is on disk is Kafka's format, on Kafka's partition.
  const onDisk = await readOffsetsPartition(c, partitionForGroup('classic', 50))
  const commitRecords = onDisk.filter((x) => x.record.type === 'OffsetCommit' && x.record.groupId === 'classic')
  assert.equal(commitRecords.length, 2)
  assert.equal(commitRecords[0]!.key.readInt16BE(0), 1, 'OffsetCommitKey, record type 1')
  const groupRecord = onDisk.find((x) => x.record.type === 'GroupMetadata' && x.record.groupId === 'classic')!.record
  assert.equal(groupRecord.type === 'GroupMetadata' && groupRecord.value?.generation, j.generationId)
  const goneRecords = (await readOffsetsPartition(c, partitionForGroup('gone', 50))).filter((x) => 'groupId' in x.record && x.record.groupId === 'gone')
  assert.deepEqual(goneRecords.map((x) => x.record.type === 'OffsetCommit' || x.record.type === 'GroupMetadata' ? x.record.value === null : 'other'), [false, true, true], 'commit, then tombstones')

  await b.restart()
  c = await client(t, b)
  await waitFor('the coordinator to load', async () => (await c.request(ListGroupsApi, 5, { statesFilter: [], typesFilter: [] })).errorCode === ErrorCode.NONE)
  const listed = await c.request(ListGroupsApi, 5, { statesFilter: [], typesFilter: [] })
  assert.deepEqual(listed.groups.map((g) => [g.groupId, g.groupState, g.groupType]).sort(), [['classic', 'Stable', 'classic'], ['modern', 'Stable', 'consumer'], ['simple', 'Empty', 'classic']])
  const classic = await fetchOffsets(c, 'classic', null, 7)
  assert.deepEqual(classic.topics[0]!.partitions.map((p) => [Number(p.committedOffset), p.metadata, p.committedLeaderEpoch]), [[11, 'meta', 0], [12, '', 0]])
  assert.equal(Number((await fetchOffsets(c, 'modern', null)).topics[0]!.partitions[0]!.committedOffset), 7)
  assert.equal(Number((await fetchOffsets(c, 'simple', null)).topics[0]!.partitions[0]!.committedOffset), 3)
  assert.deepEqual((await fetchOffsets(c, 'gone', null)).topics, [])
  // The classic member carries on in its generation, with its assignment.
  assert.equal(await heartbeat(c, 'classic', j.generationId, j.memberId), ErrorCode.NONE)
  const desc = (await c.request(DescribeGroupsApi, 5, { groups: ['classic'], includeAuthorizedOperations: false })).groups[0]!
  assert.equal(desc.groupState, 'Stable')
  assert.deepEqual(decodeAssignment(desc.members[0]!.memberAssignment).assignedPartitions, [{ topic: 'r', partitions: [0, 1] }])
  // So does the KIP-848 member.
  const again = await c.request(ConsumerGroupHeartbeatApi, 1, { groupId: 'modern', memberId: m, memberEpoch: cg.memberEpoch, instanceId: null, rackId: null, rebalanceTimeoutMs: -1, subscribedTopicNames: null, subscribedTopicRegex: null, serverAssignor: null, topicPartitions: cg.assignment!.topicPartitions })
  assert.equal(again.errorCode, ErrorCode.NONE)
  assert.equal(again.memberEpoch, cg.memberEpoch)
  const d = (await c.request(ConsumerGroupDescribeApi, 0, { groupIds: ['modern'], includeAuthorizedOperations: false })).groups[0]!
  assert.equal(d.members[0]!.memberId, m)
  assert.deepEqual(d.members[0]!.assignment.topicPartitions[0]!.partitions, [0, 1])
})

test('restart in the middle of a rebalance: the group is back in its last stable generation and finishes the rebalance', async (t) => {
  const b = await broker(t)
  let c1 = await client(t, b, 'one')
  const c2 = await client(t, b, 'two')
  const j1 = await join(c1, 'mid', { version: 3 })
  await sync(c1, 'mid', j1.generationId, j1.memberId, [{ memberId: j1.memberId, assignment: assignment('x', [0]) }])
  // A second member starts a rebalance that is never finished.
  const pending = join(c2, 'mid', { version: 3 })
  await waitFor('the rebalance', async () => (await heartbeat(c1, 'mid', j1.generationId, j1.memberId)) === ErrorCode.REBALANCE_IN_PROGRESS)
  await b.restart()
  const cut = await pending.then((r) => r.errorCode, () => 'disconnected')
  assert.ok(cut === 'disconnected' || cut === ErrorCode.NOT_COORDINATOR, String(cut))
  c1 = await client(t, b, 'one')
  const c3 = await client(t, b, 'two')
  await waitFor('the coordinator to load', async () => (await c1.request(ListGroupsApi, 4, { statesFilter: [], typesFilter: [] })).errorCode === ErrorCode.NONE)
  const desc = (await c1.request(DescribeGroupsApi, 5, { groups: ['mid'], includeAuthorizedOperations: false })).groups[0]!
  assert.equal(desc.groupState, 'Stable')
  assert.deepEqual(desc.members.map((m) => m.memberId), [j1.memberId])
  // The member still there heartbeats on in generation 1; the other joins again; the rebalance
  // runs and ends with generation 2 holding both.
  assert.equal(await heartbeat(c1, 'mid', j1.generationId, j1.memberId), ErrorCode.NONE)
  const p2 = join(c3, 'mid', { version: 3 })
  await waitFor('the rebalance', async () => (await heartbeat(c1, 'mid', j1.generationId, j1.memberId)) === ErrorCode.REBALANCE_IN_PROGRESS)
  const [r1, r2] = await Promise.all([join(c1, 'mid', { version: 3, memberId: j1.memberId }), p2])
  assert.equal(r1.errorCode, ErrorCode.NONE)
  assert.equal(r2.errorCode, ErrorCode.NONE)
  assert.equal(r1.generationId, j1.generationId + 1)
  assert.equal(r1.members.length, 2)
})
