// KIP-848 (ConsumerGroupHeartbeat, ConsumerGroupDescribe) over a raw socket: server-side
// assignment, incremental revocation before assignment, epochs, regex subscriptions, errors, and
// the offset APIs' member epoch checks.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import {
  ConsumerGroupDescribeApi, ConsumerGroupHeartbeatApi, DescribeGroupsApi, ErrorCode, ListGroupsApi, OffsetFetchApi
} from '@samsa/protocol'
import type { ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse } from '@samsa/protocol/messages/consumer-group-heartbeat'
import type { RawClient } from '@samsa/testkit'
import { broker, client, commit, commitErrors, createTopic, join } from './helpers.ts'

async function hb (c: RawClient, fields: Partial<ConsumerGroupHeartbeatRequest>, version = 1): Promise<ConsumerGroupHeartbeatResponse> {
  return await c.request(ConsumerGroupHeartbeatApi, version, {
    groupId: 'cg',
    memberId: '',
    memberEpoch: 0,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: -1,
    subscribedTopicNames: null,
    subscribedTopicRegex: null,
    serverAssignor: null,
    topicPartitions: null,
    ...fields
  })
}

const partitionsOf = (r: ConsumerGroupHeartbeatResponse): number[] => (r.assignment?.topicPartitions ?? []).flatMap((t) => t.partitions).sort((a, b) => a - b)

test('two members: the second gets its partitions only after the first revoked them', async (t) => {
  const b = await broker(t)
  const c = await client(t, b)
  await createTopic(c, 'k', 4)
  const a = randomUUID()
  const joinA = await hb(c, { memberId: a, rebalanceTimeoutMs: 30000, subscribedTopicNames: ['k'], topicPartitions: [] })
  assert.equal(joinA.errorCode, ErrorCode.NONE)
  assert.equal(joinA.memberId, a)
  assert.equal(joinA.memberEpoch, 1)
  assert.equal(joinA.heartbeatIntervalMs, 5000)
  assert.deepEqual(partitionsOf(joinA), [0, 1, 2, 3])
  const topicId = joinA.assignment!.topicPartitions[0]!.topicId

  const bId = randomUUID()
  const joinB = await hb(c, { memberId: bId, rebalanceTimeoutMs: 30000, subscribedTopicNames: ['k'], topicPartitions: [], serverAssignor: 'uniform' })
  assert.equal(joinB.memberEpoch, 2)
  assert.deepEqual(partitionsOf(joinB), [], 'nothing is free yet')
  let described = (await c.request(ConsumerGroupDescribeApi, 0, { groupIds: ['cg'], includeAuthorizedOperations: false })).groups[0]!
  assert.equal(described.groupState, 'Reconciling')
  assert.equal(described.groupEpoch, 2)
  assert.equal(described.assignmentEpoch, 2)
  assert.equal(described.assignorName, 'uniform')

  // A heartbeat with no change (delta: nulls) from A: told to give two partitions back, same epoch.
  const revoke = await hb(c, { memberId: a, memberEpoch: 1, topicPartitions: [{ topicId, partitions: [0, 1, 2, 3] }] })
  assert.equal(revoke.memberEpoch, 1)
  const kept = partitionsOf(revoke)
  assert.equal(kept.length, 2)
  // B still waits while A owns them.
  assert.deepEqual(partitionsOf(await hb(c, { memberId: bId, memberEpoch: 2, rebalanceTimeoutMs: 30000, subscribedTopicNames: ['k'], topicPartitions: [] })), [])
  // A confirms (owns only the kept ones): epoch 2. B then gets the other two.
  const done = await hb(c, { memberId: a, memberEpoch: 1, topicPartitions: [{ topicId, partitions: kept }] })
  assert.equal(done.memberEpoch, 2)
  const bGets = await hb(c, { memberId: bId, memberEpoch: 2, rebalanceTimeoutMs: 30000, subscribedTopicNames: ['k'], topicPartitions: [] })
  assert.deepEqual(partitionsOf(bGets), [0, 1, 2, 3].filter((p) => !kept.includes(p)))
  described = (await c.request(ConsumerGroupDescribeApi, 0, { groupIds: ['cg', 'none'], includeAuthorizedOperations: false })).groups[0]!
  assert.equal(described.groupState, 'Stable')
  assert.deepEqual(described.members.map((m) => m.assignment.topicPartitions[0]!.topicName), ['k', 'k'])
  // A plain heartbeat with nothing new carries no assignment.
  const quiet = await hb(c, { memberId: a, memberEpoch: 2 })
  assert.equal(quiet.assignment, null)

  // Offsets: OffsetCommit v9 carries the member epoch; older versions are refused for these members.
  await createTopic(c, 'other', 1)
  assert.deepEqual(commitErrors(await commit(c, 'cg', [{ topic: 'k', partition: 0, offset: 5 }], { version: 9, generationId: 2, memberId: a })), [ErrorCode.NONE])
  assert.deepEqual(commitErrors(await commit(c, 'cg', [{ topic: 'k', partition: 0, offset: 5 }], { version: 9, generationId: 1, memberId: a })), [ErrorCode.STALE_MEMBER_EPOCH])
  assert.deepEqual(commitErrors(await commit(c, 'cg', [{ topic: 'k', partition: 0, offset: 5 }], { version: 9, generationId: 2, memberId: 'x' })), [ErrorCode.UNKNOWN_MEMBER_ID])
  assert.deepEqual(commitErrors(await commit(c, 'cg', [{ topic: 'k', partition: 0, offset: 5 }], { version: 8, generationId: 2, memberId: a })), [ErrorCode.UNSUPPORTED_VERSION])
  const stale = await c.request(OffsetFetchApi, 9, { groupId: '', topics: [], requireStable: false, groups: [{ groupId: 'cg', memberId: a, memberEpoch: 1, topics: null }] })
  assert.equal(stale.groups[0]!.errorCode, ErrorCode.STALE_MEMBER_EPOCH)
  const ok = await c.request(OffsetFetchApi, 9, { groupId: '', topics: [], requireStable: false, groups: [{ groupId: 'cg', memberId: a, memberEpoch: 2, topics: null }] })
  assert.deepEqual(ok.groups[0]!.topics.map((x) => [x.name, Number(x.partitions[0]!.committedOffset)]), [['k', 5]])

  // Classic APIs and a KIP-848 group.
  assert.equal((await join(c, 'cg', { version: 5 })).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
  assert.equal((await c.request(DescribeGroupsApi, 5, { groups: ['cg'], includeAuthorizedOperations: false })).groups[0]!.groupState, 'Dead')
  const listed = await c.request(ListGroupsApi, 5, { statesFilter: [], typesFilter: ['consumer'] })
  assert.deepEqual(listed.groups.map((g) => [g.groupId, g.protocolType, g.groupState, g.groupType]), [['cg', 'consumer', 'Stable', 'consumer']])

  // A leaves (epoch -1): B gets everything on its next heartbeats.
  const left = await hb(c, { memberId: a, memberEpoch: -1 })
  assert.equal(left.memberEpoch, -1)
  const bAll = await hb(c, { memberId: bId, memberEpoch: 2, rebalanceTimeoutMs: 30000, subscribedTopicNames: ['k'], topicPartitions: [{ topicId, partitions: partitionsOf(bGets) }] })
  assert.deepEqual(partitionsOf(bAll), [0, 1, 2, 3])
  assert.equal(bAll.memberEpoch, 3)
})

test('regex subscriptions, version 0 member ids, and the heartbeat errors', async (t) => {
  const b = await broker(t)
  const c = await client(t, b)
  await createTopic(c, 'orders-eu', 2)
  await createTopic(c, 'orders-us', 1)
  await createTopic(c, 'payments', 1)
  const m = randomUUID()
  const r = await hb(c, { groupId: 'rx', memberId: m, rebalanceTimeoutMs: 1000, subscribedTopicRegex: 'orders-.*', topicPartitions: [] })
  assert.equal(r.errorCode, ErrorCode.NONE)
  assert.equal(r.assignment!.topicPartitions.length, 2)
  assert.equal(partitionsOf(r).length, 3)
  // A topic created later that matches is picked up on a later heartbeat (metadata refresh).
  await createTopic(c, 'orders-asia', 1)
  await new Promise((resolve) => setTimeout(resolve, 1100))
  const later = await hb(c, { groupId: 'rx', memberId: m, memberEpoch: r.memberEpoch, topicPartitions: r.assignment!.topicPartitions })
  assert.equal(later.memberEpoch, r.memberEpoch + 1)
  assert.equal(partitionsOf(later).length, 4)

  const bad = await hb(c, { groupId: 'rx', memberId: randomUUID(), rebalanceTimeoutMs: 1000, subscribedTopicRegex: 'orders-(', topicPartitions: [] })
  assert.equal(bad.errorCode, ErrorCode.INVALID_REGULAR_EXPRESSION)
  const lookahead = await hb(c, { groupId: 'rx', memberId: randomUUID(), rebalanceTimeoutMs: 1000, subscribedTopicRegex: '(?=orders).*', topicPartitions: [] })
  assert.equal(lookahead.errorCode, ErrorCode.INVALID_REGULAR_EXPRESSION, 'RE2 has no lookaround')

  // v0: the coordinator makes up the member id.
  const v0 = await hb(c, { groupId: 'v0', rebalanceTimeoutMs: 1000, subscribedTopicNames: ['payments'], topicPartitions: [] }, 0)
  assert.equal(v0.errorCode, ErrorCode.NONE)
  assert.match(v0.memberId ?? '', /^[0-9a-f-]{36}$/)
  // v1 requires a member id.
  assert.equal((await hb(c, { groupId: 'v0', rebalanceTimeoutMs: 1000, subscribedTopicNames: ['payments'], topicPartitions: [] })).errorCode, ErrorCode.INVALID_REQUEST)
  // First heartbeat without the required fields.
  assert.equal((await hb(c, { groupId: 'v0', memberId: randomUUID(), subscribedTopicNames: ['payments'], topicPartitions: [] })).errorCode, ErrorCode.INVALID_REQUEST)
  // Unknown member, greater epoch (fenced), unknown assignor, unknown group.
  assert.equal((await hb(c, { groupId: 'v0', memberId: 'nobody', memberEpoch: 3 })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID)
  assert.equal((await hb(c, { groupId: 'v0', memberId: v0.memberId!, memberEpoch: v0.memberEpoch + 1 })).errorCode, ErrorCode.FENCED_MEMBER_EPOCH)
  assert.equal((await hb(c, { groupId: 'v0', memberId: randomUUID(), rebalanceTimeoutMs: 1000, subscribedTopicNames: [], topicPartitions: [], serverAssignor: 'sticky' })).errorCode, ErrorCode.UNSUPPORTED_ASSIGNOR)
  assert.equal((await hb(c, { groupId: 'nope', memberId: 'x', memberEpoch: 4 })).errorCode, ErrorCode.GROUP_ID_NOT_FOUND)
  // The range assignor, by request.
  const ranged = await hb(c, { groupId: 'range', memberId: randomUUID(), rebalanceTimeoutMs: 1000, subscribedTopicNames: ['orders-eu', 'payments'], topicPartitions: [], serverAssignor: 'range' })
  assert.equal(partitionsOf(ranged).length, 3)
  assert.equal((await c.request(ConsumerGroupDescribeApi, 0, { groupIds: ['range'], includeAuthorizedOperations: false })).groups[0]!.assignorName, 'range')
})

test('static members (KIP-848): epoch -2 keeps the partitions for the same instance; a second instance is UNRELEASED_INSTANCE_ID', async (t) => {
  const b = await broker(t)
  const c = await client(t, b)
  await createTopic(c, 's', 2)
  const first = randomUUID()
  const j = await hb(c, { groupId: 'st', memberId: first, instanceId: 'i-1', rebalanceTimeoutMs: 1000, subscribedTopicNames: ['s'], topicPartitions: [] })
  assert.deepEqual(partitionsOf(j), [0, 1])
  assert.equal((await hb(c, { groupId: 'st', memberId: randomUUID(), instanceId: 'i-1', rebalanceTimeoutMs: 1000, subscribedTopicNames: ['s'], topicPartitions: [] })).errorCode, ErrorCode.UNRELEASED_INSTANCE_ID)
  const away = await hb(c, { groupId: 'st', memberId: first, instanceId: 'i-1', memberEpoch: -2 })
  assert.equal(away.memberEpoch, -2)
  const back = await hb(c, { groupId: 'st', memberId: randomUUID(), instanceId: 'i-1', rebalanceTimeoutMs: 1000, subscribedTopicNames: ['s'], topicPartitions: [] })
  assert.equal(back.errorCode, ErrorCode.NONE)
  assert.deepEqual(partitionsOf(back), [0, 1], 'the restarted instance gets its partitions back')
  const d = (await c.request(ConsumerGroupDescribeApi, 0, { groupIds: ['st'], includeAuthorizedOperations: false })).groups[0]!
  assert.equal(d.members.length, 1)
  assert.equal(d.members[0]!.instanceId, 'i-1')
  assert.equal(d.groupEpoch, 1, 'no rebalance')
})
