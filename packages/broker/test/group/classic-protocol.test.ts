// The classic group protocol and the offset and admin APIs over a raw socket, one version at a
// time: the happy paths and the misuse cases (Kafka's error codes).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  DeleteGroupsApi, DescribeGroupsApi, ErrorCode, FindCoordinatorApi, LeaveGroupApi, ListGroupsApi, MetadataApi, OffsetDeleteApi, OffsetFetchApi,
  decodeAssignment
} from '@samsa/protocol'
import { GROUP_AUTHORIZED_OPERATIONS } from '../../src/handlers/authorized-operations.ts'
import {
  assignment, broker, client, commit, commitErrors, createTopic, fetchOffsets, heartbeat, join, joinNew, subscription, sync, waitFor
} from './helpers.ts'

test('FindCoordinator: every version, group and transaction keys, batched keys; creates __consumer_offsets', async (t) => {
  const b = await broker(t)
  const c = await client(t, b)
  for (let v = 0; v <= 3; v++) {
    const r = await c.request(FindCoordinatorApi, v, { key: 'g', keyType: 0, coordinatorKeys: [] })
    assert.equal(r.errorCode, ErrorCode.NONE, `v${v}`)
    assert.equal(r.nodeId, 1)
    assert.equal(r.host, '127.0.0.1')
    assert.equal(r.port, b.port)
  }
  const txn = await c.request(FindCoordinatorApi, 2, { key: 'txn-1', keyType: 1, coordinatorKeys: [] })
  assert.equal(txn.errorCode, ErrorCode.NONE)
  const bad = await c.request(FindCoordinatorApi, 3, { key: 'x', keyType: 7, coordinatorKeys: [] })
  assert.equal(bad.errorCode, ErrorCode.INVALID_REQUEST)
  for (const v of [4, 5, 6]) {
    const r = await c.request(FindCoordinatorApi, v, { key: '', keyType: 0, coordinatorKeys: ['a', 'b', 'c'] })
    assert.deepEqual(r.coordinators.map((x) => [x.key, x.errorCode, x.nodeId, x.port]), [['a', 0, 1, b.port], ['b', 0, 1, b.port], ['c', 0, 1, b.port]])
  }
  const md = await c.request(MetadataApi, 12, { topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: '__consumer_offsets' }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false })
  const topic = md.topics[0]!
  assert.equal(topic.errorCode, ErrorCode.NONE)
  assert.equal(topic.isInternal, true)
  assert.equal(topic.partitions.length, 50)
})

test('JoinGroup v4+: MEMBER_ID_REQUIRED round trip; leader gets the members; SyncGroup distributes', async (t) => {
  const b = await broker(t)
  const c1 = await client(t, b, 'c1')
  const c2 = await client(t, b, 'c2')
  await createTopic(c1, 't', 2)
  const first = await join(c1, 'g', { version: 5 })
  assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED)
  assert.match(first.memberId, /^c1-[0-9a-f-]{36}$/)
  const j1 = await join(c1, 'g', { version: 5, memberId: first.memberId })
  assert.equal(j1.errorCode, ErrorCode.NONE)
  assert.equal(j1.generationId, 1)
  assert.equal(j1.leader, first.memberId)
  assert.equal(j1.protocolName, 'range')
  assert.deepEqual(j1.members.map((m) => m.memberId), [first.memberId])
  const s1 = await sync(c1, 'g', 1, j1.memberId, [{ memberId: j1.memberId, assignment: assignment('t', [0, 1]) }])
  assert.equal(s1.errorCode, ErrorCode.NONE)
  assert.deepEqual(decodeAssignment(s1.assignment).assignedPartitions, [{ topic: 't', partitions: [0, 1] }])
  assert.equal(await heartbeat(c1, 'g', 1, j1.memberId), ErrorCode.NONE)

  // A second member (v3: no member id round trip) triggers a rebalance; the first learns it by heartbeat.
  const pending2 = join(c2, 'g', { version: 3 })
  await waitFor('the rebalance', async () => (await heartbeat(c1, 'g', 1, j1.memberId)) === ErrorCode.REBALANCE_IN_PROGRESS)
  const [r1, r2] = await Promise.all([join(c1, 'g', { version: 5, memberId: j1.memberId }), pending2])
  assert.equal(r1.errorCode, ErrorCode.NONE)
  assert.equal(r2.errorCode, ErrorCode.NONE)
  assert.equal(r1.generationId, 2)
  assert.equal(r2.generationId, 2)
  assert.equal(r1.leader, j1.memberId)
  assert.equal(r1.members.length, 2)
  assert.equal(r2.members.length, 0, 'only the leader gets the member list')
  const followerSync = sync(c2, 'g', 2, r2.memberId)
  const leaderSync = await sync(c1, 'g', 2, r1.memberId, [
    { memberId: r1.memberId, assignment: assignment('t', [0]) },
    { memberId: r2.memberId, assignment: assignment('t', [1]) }
  ])
  assert.deepEqual(decodeAssignment(leaderSync.assignment).assignedPartitions, [{ topic: 't', partitions: [0] }])
  assert.deepEqual(decodeAssignment((await followerSync).assignment).assignedPartitions, [{ topic: 't', partitions: [1] }])

  const described = await c1.request(DescribeGroupsApi, 5, { groups: ['g', 'nope'], includeAuthorizedOperations: true })
  const g = described.groups[0]!
  assert.equal(g.groupState, 'Stable')
  assert.equal(g.protocolType, 'consumer')
  assert.equal(g.protocolData, 'range')
  assert.equal(g.authorizedOperations, GROUP_AUTHORIZED_OPERATIONS)
  assert.deepEqual(g.members.map((m) => m.clientId).sort(), ['c1', 'c2'])
  assert.equal(g.members[0]!.clientHost, '/127.0.0.1')
  assert.equal(described.groups[1]!.groupState, 'Dead')
  assert.equal(described.groups[1]!.errorCode, ErrorCode.NONE)
})

test('misuse: invalid group id, session timeout out of range, wrong protocol type, unknown member, stale generation', async (t) => {
  const b = await broker(t)
  const c = await client(t, b)
  assert.equal((await join(c, '', { version: 3 })).errorCode, ErrorCode.INVALID_GROUP_ID)
  assert.equal((await join(c, 'g', { version: 3, sessionTimeoutMs: 5999 })).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT)
  assert.equal((await join(c, 'g', { version: 3, sessionTimeoutMs: 1800001 })).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT)
  assert.equal((await join(c, 'g', { version: 3, protocols: [] })).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
  assert.equal((await join(c, 'g', { version: 3, protocolType: '' })).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
  const j = await join(c, 'g', { version: 3 })
  assert.equal(j.errorCode, ErrorCode.NONE)
  await sync(c, 'g', j.generationId, j.memberId, [{ memberId: j.memberId, assignment: assignment('t', [0]) }])
  // Another protocol type, or no protocol in common.
  assert.equal((await join(c, 'g', { version: 3, protocolType: 'connect' })).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
  assert.equal((await join(c, 'g', { version: 3, protocols: [{ name: 'roundrobin', metadata: subscription(['t']) }] })).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
  // Unknown member.
  assert.equal((await join(c, 'g', { version: 3, memberId: 'ghost' })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID)
  assert.equal(await heartbeat(c, 'g', j.generationId, 'ghost'), ErrorCode.UNKNOWN_MEMBER_ID)
  assert.equal((await sync(c, 'g', j.generationId, 'ghost')).errorCode, ErrorCode.UNKNOWN_MEMBER_ID)
  assert.equal(await heartbeat(c, 'no-such-group', 1, 'ghost'), ErrorCode.UNKNOWN_MEMBER_ID)
  assert.equal((await join(c, 'no-such-group', { version: 3, memberId: 'ghost' })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID)
  // Stale generation.
  assert.equal(await heartbeat(c, 'g', j.generationId + 5, j.memberId), ErrorCode.ILLEGAL_GENERATION)
  assert.equal((await sync(c, 'g', j.generationId - 1, j.memberId)).errorCode, ErrorCode.ILLEGAL_GENERATION)
  await createTopic(c, 't', 1)
  assert.deepEqual(commitErrors(await commit(c, 'g', [{ topic: 't', partition: 0, offset: 1 }], { generationId: j.generationId - 1, memberId: j.memberId })), [ErrorCode.ILLEGAL_GENERATION])
  assert.deepEqual(commitErrors(await commit(c, 'g', [{ topic: 't', partition: 0, offset: 1 }], { generationId: j.generationId, memberId: 'ghost' })), [ErrorCode.UNKNOWN_MEMBER_ID])
  // A simple commit (-1, no member) to a group with members is refused.
  assert.deepEqual(commitErrors(await commit(c, 'g', [{ topic: 't', partition: 0, offset: 1 }])), [ErrorCode.UNKNOWN_MEMBER_ID])
  // SyncGroup v5 with another protocol name.
  const s5 = await c.request((await import('@samsa/protocol')).SyncGroupApi, 5, { groupId: 'g', generationId: j.generationId, memberId: j.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'sticky', assignments: [] })
  assert.equal(s5.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
  assert.equal(await heartbeat(c, '', 1, 'x'), ErrorCode.INVALID_GROUP_ID)
})

test('static membership: a restarted instance replaces its member id without a rebalance; the old id is fenced', async (t) => {
  const b = await broker(t)
  const c = await client(t, b)
  const j = await join(c, 'sg', { version: 5, groupInstanceId: 'instance-1' })
  assert.equal(j.errorCode, ErrorCode.NONE, 'static members skip MEMBER_ID_REQUIRED')
  assert.match(j.memberId, /^instance-1-/)
  await sync(c, 'sg', j.generationId, j.memberId, [{ memberId: j.memberId, assignment: assignment('t', [0, 1]) }], 3, 'instance-1')
  // The same instance restarts and joins with no member id.
  const again = await join(c, 'sg', { version: 5, groupInstanceId: 'instance-1' })
  assert.equal(again.errorCode, ErrorCode.NONE)
  assert.notEqual(again.memberId, j.memberId)
  assert.equal(again.generationId, j.generationId, 'no new generation')
  assert.equal(again.leader, j.memberId, 'the old leader id, so it does not run an assignment')
  const s = await sync(c, 'sg', again.generationId, again.memberId, [], 3, 'instance-1')
  assert.deepEqual(decodeAssignment(s.assignment).assignedPartitions, [{ topic: 't', partitions: [0, 1] }], 'keeps its assignment')
  assert.equal(await heartbeat(c, 'sg', j.generationId, j.memberId, 3, 'instance-1'), ErrorCode.FENCED_INSTANCE_ID)
  assert.equal(await heartbeat(c, 'sg', again.generationId, again.memberId, 3, 'instance-1'), ErrorCode.NONE)
  assert.deepEqual(commitErrors(await commit(c, 'sg', [{ topic: 't', partition: 0, offset: 1 }], { generationId: j.generationId, memberId: j.memberId, groupInstanceId: 'instance-1' })), [ErrorCode.FENCED_INSTANCE_ID])
  // v9 with a static leader: SkipAssignment, and the member list.
  const v9 = await join(c, 'sg', { version: 9, groupInstanceId: 'instance-1' })
  assert.equal(v9.errorCode, ErrorCode.NONE)
  assert.equal(v9.skipAssignment, true)
  assert.equal(v9.leader, v9.memberId)
  assert.equal(v9.members.length, 1)
  // LeaveGroup v3 by instance id alone.
  const left = await c.request(LeaveGroupApi, 3, { groupId: 'sg', memberId: '', members: [{ memberId: '', groupInstanceId: 'instance-1', reason: null }, { memberId: 'nobody', groupInstanceId: null, reason: null }] })
  assert.deepEqual(left.members.map((m) => m.errorCode), [ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID])
  await waitFor('the group to empty', async () => (await c.request(DescribeGroupsApi, 0, { groups: ['sg'], includeAuthorizedOperations: false })).groups[0]!.groupState === 'Empty')
})

test('LeaveGroup v0 and v3 (batch); session expiry removes a silent member and the group rebalances', async (t) => {
  const b = await broker(t, { config: { 'group.min.session.timeout.ms': 100 } })
  const c = await client(t, b)
  const a = await join(c, 'lg', { version: 3, sessionTimeoutMs: 400 })
  await sync(c, 'lg', a.generationId, a.memberId, [])
  const left = await c.request(LeaveGroupApi, 0, { groupId: 'lg', memberId: a.memberId, members: [] })
  assert.equal(left.errorCode, ErrorCode.NONE)
  const again = await c.request(LeaveGroupApi, 1, { groupId: 'lg', memberId: a.memberId, members: [] })
  assert.equal(again.errorCode, ErrorCode.UNKNOWN_MEMBER_ID)

  // Two members; one stops heartbeating and expires after its 400 ms session.
  const c2 = await client(t, b)
  const m1 = await join(c, 'lg', { version: 3, sessionTimeoutMs: 400, rebalanceTimeoutMs: 2000 })
  const p2 = join(c2, 'lg', { version: 3, sessionTimeoutMs: 400, rebalanceTimeoutMs: 2000 })
  // m1 rejoins when told to.
  let gen = m1.generationId
  await waitFor('m1 in the rebalance', async () => (await heartbeat(c, 'lg', gen, m1.memberId)) === ErrorCode.REBALANCE_IN_PROGRESS)
  const [r1, r2] = await Promise.all([join(c, 'lg', { version: 3, memberId: m1.memberId, sessionTimeoutMs: 400, rebalanceTimeoutMs: 2000 }), p2])
  gen = r1.generationId
  await Promise.all([sync(c, 'lg', gen, r1.memberId, []), sync(c2, 'lg', gen, r2.memberId)])
  // m2 goes silent; m1 keeps heartbeating and is told to rejoin once m2 expired.
  await waitFor('m2 to expire', async () => (await heartbeat(c, 'lg', gen, r1.memberId)) === ErrorCode.REBALANCE_IN_PROGRESS, 5000, 50)
  const alone = await join(c, 'lg', { version: 3, memberId: r1.memberId, sessionTimeoutMs: 400, rebalanceTimeoutMs: 2000 })
  assert.equal(alone.generationId, gen + 1)
  assert.equal(alone.members.length, 1)
  assert.equal(await heartbeat(c2, 'lg', gen, r2.memberId), ErrorCode.UNKNOWN_MEMBER_ID)
})

test('offsets: simple commits, fetch in every version, metadata limit, leader epoch, unknown topics', async (t) => {
  const b = await broker(t)
  const c = await client(t, b)
  await createTopic(c, 'o', 3)
  // A consumer without group management: generation -1, no member id, creates a "simple" group.
  const r = await commit(c, 'simple', [{ topic: 'o', partition: 0, offset: 10, metadata: 'hello' }, { topic: 'o', partition: 2, offset: 30, metadata: null }], { leaderEpoch: 4 })
  assert.deepEqual(commitErrors(r), [0, 0])
  const v7 = await fetchOffsets(c, 'simple', [{ name: 'o', partitionIndexes: [0, 1, 2] }], 7)
  assert.deepEqual(v7.topics[0]!.partitions.map((p) => [p.partitionIndex, Number(p.committedOffset), p.committedLeaderEpoch, p.metadata, p.errorCode]),
    [[0, 10, 4, 'hello', 0], [1, -1, -1, '', 0], [2, 30, 4, '', 0]])
  const all = await fetchOffsets(c, 'simple', null, 2)
  assert.deepEqual(all.topics.map((t2) => [t2.name, t2.partitions.map((p) => Number(p.committedOffset))]), [['o', [10, 30]]])
  for (const v of [0, 1, 3, 4, 5, 6]) {
    const f = await fetchOffsets(c, 'simple', [{ name: 'o', partitionIndexes: [0] }], v)
    assert.equal(Number(f.topics[0]!.partitions[0]!.committedOffset), 10, `v${v}`)
  }
  // v8+: several groups at once.
  const multi = await c.request(OffsetFetchApi, 8, {
    groupId: '', topics: [], requireStable: true, groups: [{ groupId: 'simple', memberId: null, memberEpoch: -1, topics: null }, { groupId: 'none', memberId: null, memberEpoch: -1, topics: [{ name: 'o', partitionIndexes: [1] }] }]
  })
  assert.deepEqual(multi.groups.map((g) => [g.groupId, g.errorCode, g.topics.flatMap((x) => x.partitions.map((p) => Number(p.committedOffset)))]), [['simple', 0, [10, 30]], ['none', 0, [-1]]])
  // Every OffsetCommit version stores the offset.
  for (let v = 0; v <= 9; v++) {
    assert.deepEqual(commitErrors(await commit(c, 'simple', [{ topic: 'o', partition: 1, offset: 100 + v }], { version: v })), [0], `v${v}`)
    assert.equal(Number((await fetchOffsets(c, 'simple', [{ name: 'o', partitionIndexes: [1] }])).topics[0]!.partitions[0]!.committedOffset), 100 + v)
  }
  // offset.metadata.max.bytes (4096).
  assert.deepEqual(commitErrors(await commit(c, 'simple', [{ topic: 'o', partition: 0, offset: 1, metadata: 'x'.repeat(4097) }, { topic: 'o', partition: 1, offset: 1, metadata: 'x'.repeat(4096) }])),
    [ErrorCode.OFFSET_METADATA_TOO_LARGE, ErrorCode.NONE])
  // Unknown topic or partition.
  assert.deepEqual(commitErrors(await commit(c, 'simple', [{ topic: 'missing', partition: 0, offset: 1 }, { topic: 'o', partition: 9, offset: 1 }])),
    [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION])
  // Invalid group id; a generation for a group that does not exist.
  assert.deepEqual(commitErrors(await commit(c, '', [{ topic: 'o', partition: 0, offset: 1 }])), [ErrorCode.INVALID_GROUP_ID])
  assert.deepEqual(commitErrors(await commit(c, 'ghost', [{ topic: 'o', partition: 0, offset: 1 }], { generationId: 3, memberId: 'm', version: 8 })), [ErrorCode.ILLEGAL_GENERATION])
  assert.deepEqual(commitErrors(await commit(c, 'ghost', [{ topic: 'o', partition: 0, offset: 1 }], { generationId: 3, memberId: 'm', version: 9 })), [ErrorCode.GROUP_ID_NOT_FOUND])
  const listed = await c.request(ListGroupsApi, 5, { statesFilter: [], typesFilter: [] })
  assert.deepEqual(listed.groups.map((g) => [g.groupId, g.protocolType, g.groupState, g.groupType]), [['simple', '', 'Empty', 'classic']])
})

test('commits during a rebalance: REBALANCE_IN_PROGRESS while the leader assigns, accepted while preparing', async (t) => {
  const b = await broker(t)
  const c1 = await client(t, b)
  const c2 = await client(t, b)
  await createTopic(c1, 'r', 1)
  const j = await join(c1, 'rg', { version: 3 })
  // CompletingRebalance: joined, not synced.
  assert.deepEqual(commitErrors(await commit(c1, 'rg', [{ topic: 'r', partition: 0, offset: 5 }], { generationId: j.generationId, memberId: j.memberId })), [ErrorCode.REBALANCE_IN_PROGRESS])
  await sync(c1, 'rg', j.generationId, j.memberId, [])
  assert.deepEqual(commitErrors(await commit(c1, 'rg', [{ topic: 'r', partition: 0, offset: 5 }], { generationId: j.generationId, memberId: j.memberId })), [0])
  // PreparingRebalance (another member is joining): the current generation may still commit.
  const pending = join(c2, 'rg', { version: 3 })
  await waitFor('the rebalance', async () => (await heartbeat(c1, 'rg', j.generationId, j.memberId)) === ErrorCode.REBALANCE_IN_PROGRESS)
  assert.deepEqual(commitErrors(await commit(c1, 'rg', [{ topic: 'r', partition: 0, offset: 6 }], { generationId: j.generationId, memberId: j.memberId })), [0])
  await join(c1, 'rg', { version: 3, memberId: j.memberId })
  await pending
})

test('admin: ListGroups filters, DeleteGroups, OffsetDelete', async (t) => {
  const b = await broker(t)
  const c = await client(t, b)
  await createTopic(c, 'a', 2)
  await createTopic(c, 'b', 1)
  const j = await joinNew(c, 'live', { version: 5, protocols: [{ name: 'range', metadata: subscription(['a']) }] })
  await sync(c, 'live', j.generationId, j.memberId, [{ memberId: j.memberId, assignment: assignment('a', [0, 1]) }])
  await commit(c, 'live', [{ topic: 'a', partition: 0, offset: 1 }, { topic: 'b', partition: 0, offset: 2 }], { generationId: j.generationId, memberId: j.memberId })
  await commit(c, 'idle', [{ topic: 'a', partition: 0, offset: 3 }])

  const byState = await c.request(ListGroupsApi, 4, { statesFilter: ['stable'], typesFilter: [] })
  assert.deepEqual(byState.groups.map((g) => g.groupId), ['live'])
  const byType = await c.request(ListGroupsApi, 5, { statesFilter: [], typesFilter: ['Consumer'] })
  assert.deepEqual(byType.groups, [])
  const v0 = await c.request(ListGroupsApi, 0, { statesFilter: [], typesFilter: [] })
  assert.deepEqual(v0.groups.map((g) => g.groupId).sort(), ['idle', 'live'])

  // OffsetDelete: the subscribed topic is kept, the other deleted; unknown groups and topics.
  const od = await c.request(OffsetDeleteApi, 0, { groupId: 'live', topics: [{ name: 'a', partitions: [{ partitionIndex: 0 }] }, { name: 'b', partitions: [{ partitionIndex: 0 }] }, { name: 'zz', partitions: [{ partitionIndex: 0 }] }] })
  assert.equal(od.errorCode, ErrorCode.NONE)
  assert.deepEqual(od.topics.map((x) => [x.name, x.partitions[0]!.errorCode]), [['a', ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC], ['b', ErrorCode.NONE], ['zz', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]])
  const after = await fetchOffsets(c, 'live', null)
  assert.deepEqual(after.topics.map((x) => x.name), ['a'])
  assert.equal((await c.request(OffsetDeleteApi, 0, { groupId: 'nope', topics: [] })).errorCode, ErrorCode.GROUP_ID_NOT_FOUND)

  // DeleteGroups.
  const del = await c.request(DeleteGroupsApi, 2, { groupsNames: ['live', 'idle', 'nope', ''] })
  assert.deepEqual(del.results.map((r) => [r.groupId, r.errorCode]), [['live', ErrorCode.NON_EMPTY_GROUP], ['idle', ErrorCode.NONE], ['nope', ErrorCode.GROUP_ID_NOT_FOUND], ['', ErrorCode.INVALID_GROUP_ID]])
  assert.deepEqual((await fetchOffsets(c, 'idle', null)).topics, [])
  await c.request(LeaveGroupApi, 4, { groupId: 'live', memberId: '', members: [{ memberId: j.memberId, groupInstanceId: null, reason: 'done' }] })
  await waitFor('live to be empty', async () => (await c.request(DescribeGroupsApi, 5, { groups: ['live'], includeAuthorizedOperations: false })).groups[0]!.groupState === 'Empty')
  // Empty now: its offsets may go, and so may it.
  assert.equal((await c.request(OffsetDeleteApi, 0, { groupId: 'live', topics: [{ name: 'a', partitions: [{ partitionIndex: 0 }] }] })).topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE)
  assert.equal((await c.request(DeleteGroupsApi, 0, { groupsNames: ['live'] })).results[0]!.errorCode, ErrorCode.NONE)
  assert.deepEqual((await c.request(ListGroupsApi, 3, { statesFilter: [], typesFilter: [] })).groups, [])
})

test('Metadata auto-creation of __consumer_offsets makes the coordinator\'s topic (50 partitions, compacted)', async (t) => {
  const b = await broker(t)
  const c = await client(t, b)
  const md = await c.request(MetadataApi, 9, { topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: '__consumer_offsets' }], allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false })
  assert.equal(md.topics[0]!.errorCode, ErrorCode.NONE)
  assert.equal(md.topics[0]!.partitions.length, 50)
  assert.deepEqual(b.broker.topics.get('__consumer_offsets')!.configs, { 'cleanup.policy': 'compact', 'compression.type': 'producer', 'segment.bytes': '104857600' })
})
