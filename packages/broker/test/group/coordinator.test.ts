// The coordinator on its own, with a hand-driven clock and scheduler: session and pending-member
// expiry, the initial rebalance delay, offsets retention, the KIP-848 rebalance timeout, and
// loading (COORDINATOR_LOAD_IN_PROGRESS, then the same state).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCode, encodeSubscription } from '@samsa/protocol'
import { type LogConfig, LogManager, MemoryFileSystem, logConfig } from '@samsa/storage'
import { MemoryMetadataStore } from '../../src/metadata/metadata-store.ts'
import { silentLogger } from '../../src/logger.ts'
import { TopicRegistry } from '../../src/topics/topic-registry.ts'
import { DEFAULT_GROUP_COORDINATOR_CONFIG, type GroupCoordinatorConfig } from '../../src/group/group-config.ts'
import { GroupCoordinator } from '../../src/group/group-coordinator.ts'
import type { JoinGroupParams } from '../../src/group/classic-protocol.ts'
import { ManualScheduler } from '../../src/group/scheduler.ts'

interface World {
  scheduler: ManualScheduler
  topics: TopicRegistry
  coordinator: GroupCoordinator
  config: GroupCoordinatorConfig
  /** A second coordinator over the same topics, as after a restart. */
  restart: () => GroupCoordinator
}

async function world (overrides: Partial<GroupCoordinatorConfig> = {}): Promise<World> {
  const scheduler = new ManualScheduler(1_000_000)
  const fs = new MemoryFileSystem({ trackDurability: false })
  const configFor = (overrides: Record<string, string>): LogConfig =>
    logConfig(overrides['cleanup.policy'] === 'compact' ? { 'cleanup.policy': ['compact'] } : {})
  const logManager = await LogManager.open({ dataDir: '/data', fs, clock: scheduler.clock, cleanerEnable: false })
  const topics = new TopicRegistry({ store: new MemoryMetadataStore(), logManager, nodeId: 1, brokerIds: () => [1], logConfigFor: configFor, logger: silentLogger })
  await topics.load()
  await topics.create({ name: 't', numPartitions: 4, replicationFactor: 1, configs: {} })
  const config = { ...DEFAULT_GROUP_COORDINATOR_CONFIG, initialRebalanceDelayMs: 0, minSessionTimeoutMs: 10, offsetsTopicNumPartitions: 5, ...overrides }
  const make = (): GroupCoordinator => {
    const c = new GroupCoordinator({ topics, config, logger: silentLogger, clock: scheduler.clock, scheduler })
    c.start()
    return c
  }
  return { scheduler, topics, coordinator: make(), config, restart: make }
}

function joinParams (groupId: string, extra: Partial<JoinGroupParams> = {}): JoinGroupParams {
  return {
    groupId,
    memberId: '',
    groupInstanceId: null,
    sessionTimeoutMs: 1000,
    rebalanceTimeoutMs: 5000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: encodeSubscription({ topics: ['t'] }, 0) }],
    reason: null,
    clientId: 'c',
    clientHost: '/127.0.0.1',
    requireKnownMemberId: false,
    supportSkippingAssignment: false,
    ...extra
  }
}

/** Lets promise callbacks run (the coordinator answers through promises). */
async function settle (): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
}

test('a member that stops heartbeating is removed after its session timeout; the group empties', async () => {
  const w = await world()
  const c = w.coordinator
  const pending = c.joinGroup(joinParams('g'))
  await settle()
  w.scheduler.advance(0)
  const j = await pending
  assert.equal(j.errorCode, ErrorCode.NONE)
  const s = await c.syncGroup({ groupId: 'g', generationId: j.generationId, memberId: j.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] })
  assert.equal(s.errorCode, ErrorCode.NONE)
  w.scheduler.advance(900)
  assert.equal(c.heartbeat({ groupId: 'g', generationId: j.generationId, memberId: j.memberId, groupInstanceId: null }), ErrorCode.NONE)
  w.scheduler.advance(900)
  assert.equal(c.describeGroups(['g'])[0]!.groupState, 'Stable', 'the heartbeat restarted the session')
  w.scheduler.advance(200)
  assert.equal(c.describeGroups(['g'])[0]!.groupState, 'Empty')
  assert.equal(c.heartbeat({ groupId: 'g', generationId: j.generationId, memberId: j.memberId, groupInstanceId: null }), ErrorCode.UNKNOWN_MEMBER_ID)
})

test('KIP-394: a pending member id expires after the session timeout', async () => {
  const w = await world()
  const c = w.coordinator
  const first = await c.joinGroup(joinParams('g', { requireKnownMemberId: true }))
  assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED)
  w.scheduler.advance(1001)
  const late = await c.joinGroup(joinParams('g', { requireKnownMemberId: true, memberId: first.memberId }))
  assert.equal(late.errorCode, ErrorCode.UNKNOWN_MEMBER_ID)
})

test('group.initial.rebalance.delay.ms: the first rebalance waits, and waits longer while members arrive', async () => {
  const w = await world({ initialRebalanceDelayMs: 3000 })
  const c = w.coordinator
  const results: Array<{ generationId: number, members: number }> = []
  void c.joinGroup(joinParams('g')).then((r) => results.push({ generationId: r.generationId, members: r.members.length }))
  await settle()
  w.scheduler.advance(2000)
  void c.joinGroup(joinParams('g')).then((r) => results.push({ generationId: r.generationId, members: r.members.length }))
  await settle()
  w.scheduler.advance(1000) // 3 s: the delay is extended because a member arrived
  await settle()
  assert.equal(results.length, 0)
  w.scheduler.advance(1999)
  await settle()
  assert.equal(results.length, 0)
  w.scheduler.advance(1)
  await settle()
  assert.equal(results.length, 2)
  assert.ok(results.every((r) => r.generationId === 1))
  assert.equal(Math.max(...results.map((r) => r.members)), 2, 'one leader with both members')
})

test('offsets retention: simple groups from their commit, empty groups from when they emptied, stable groups keep subscribed topics', async () => {
  const w = await world({ offsetsRetentionMs: 60_000, offsetsRetentionCheckIntervalMs: 1000 })
  const c = w.coordinator
  const commit = async (groupId: string, topic: string, generationId = -1, memberId = ''): Promise<void> => {
    const r = await c.commitOffsets({ groupId, generationIdOrMemberEpoch: generationId, memberId, groupInstanceId: null, retentionTimeMs: -1, apiVersion: 8, topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, committedMetadata: null }] }] })
    assert.equal(r.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE)
  }
  await w.topics.create({ name: 'other', numPartitions: 1, replicationFactor: 1, configs: {} })
  await commit('simple', 't')
  // A stable consumer group subscribed to 't' with offsets for 't' and 'other'.
  const pending = c.joinGroup(joinParams('stable', { sessionTimeoutMs: 1_000_000 }))
  await settle()
  w.scheduler.advance(0)
  const j = await pending
  assert.equal(j.errorCode, ErrorCode.NONE)
  await c.syncGroup({ groupId: 'stable', generationId: j.generationId, memberId: j.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] })
  await commit('stable', 't', j.generationId, j.memberId)
  await commit('stable', 'other', j.generationId, j.memberId)
  w.scheduler.advance(59_000)
  assert.equal(c.committedOffsets('simple').length, 1)
  w.scheduler.advance(2000)
  assert.equal(c.committedOffsets('simple').length, 0, 'simple group offsets expired')
  assert.equal(c.groupType('simple'), undefined, 'and the empty group is gone')
  assert.deepEqual(c.committedOffsets('stable').map((o) => o.topic), ['t'], 'unsubscribed topic expired, subscribed kept')
  // The member leaves: the group is empty from now, and its offsets expire 60 s later.
  c.leaveGroup({ groupId: 'stable', members: [{ memberId: j.memberId, groupInstanceId: null, reason: null }] })
  w.scheduler.advance(59_000)
  assert.equal(c.committedOffsets('stable').length, 1)
  w.scheduler.advance(2000)
  assert.equal(c.committedOffsets('stable').length, 0)
  // Nothing comes back after a restart (tombstones).
  const c2 = w.restart()
  await c2.loaded
  assert.equal(c2.groupCount, 0)
})

test('KIP-848: a member that does not revoke within its rebalance timeout is fenced; session expiry too', async () => {
  const w = await world({ consumerSessionTimeoutMs: 45_000 })
  const c = w.coordinator
  const hb = async (memberId: string, memberEpoch: number, owned: Array<{ topicId: string, partitions: number[] }> | null, first = false) => await c.consumerGroupHeartbeat({
    groupId: 'cg', memberId, memberEpoch, instanceId: null, rackId: null, rebalanceTimeoutMs: first ? 2000 : -1,
    subscribedTopicNames: first ? ['t'] : null, subscribedTopicRegex: null, serverAssignor: null, topicPartitions: owned, clientId: 'c', clientHost: '/h', apiVersion: 1
  })
  const a = await hb('a', 0, [], true)
  assert.equal(a.errorCode, ErrorCode.NONE)
  assert.equal(a.assignment!.flatMap((x) => x.partitions).length, 4)
  const topicId = a.assignment![0]!.topicId
  const b = await hb('b', 0, [], true)
  assert.equal(b.memberEpoch, 2)
  assert.deepEqual(b.assignment, [], 'b waits for a to release')
  const a2 = await hb('a', a.memberEpoch, [{ topicId, partitions: [0, 1, 2, 3] }])
  assert.equal(a2.memberEpoch, 1, 'a keeps its epoch until it revokes')
  assert.equal(a2.assignment!.flatMap((x) => x.partitions).length, 2)
  // a never confirms the revocation: fenced after its 2 s rebalance timeout; b keeps heartbeating.
  w.scheduler.advance(1500)
  await hb('b', b.memberEpoch, [])
  w.scheduler.advance(600)
  assert.equal(c.consumerGroupDescribe(['cg'])[0]!.members.length, 1)
  const b2 = await hb('b', b.memberEpoch, [])
  assert.equal(b2.assignment!.flatMap((x) => x.partitions).length, 4, 'b takes everything')
  assert.equal(b2.memberEpoch, 3)
  // b goes silent: removed after group.consumer.session.timeout.ms.
  w.scheduler.advance(45_001)
  assert.equal(c.consumerGroupDescribe(['cg'])[0]!.groupState, 'Empty')
})

test('loading: COORDINATOR_LOAD_IN_PROGRESS until __consumer_offsets is replayed, then the same state', async () => {
  const w = await world()
  const c = w.coordinator
  for (let i = 0; i < 50; i++) {
    await c.commitOffsets({ groupId: `g${i}`, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, apiVersion: 8, topics: [{ name: 't', partitions: [{ partitionIndex: i % 4, committedOffset: i, committedLeaderEpoch: 2, committedMetadata: `m${i}` }] }] })
  }
  c.stop()
  const c2 = w.restart()
  assert.equal(c2.groupError('g0'), ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
  assert.equal(c2.fetchOffsets([{ groupId: 'g0', memberId: null, memberEpoch: -1, topics: null }], false)[0]!.errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
  assert.equal(c2.heartbeat({ groupId: 'g0', generationId: 1, memberId: 'm', groupInstanceId: null }), ErrorCode.NONE, 'heartbeats are answered blindly while loading')
  await c2.loaded
  assert.equal(c2.groupError('g0'), ErrorCode.NONE)
  assert.equal(c2.groupCount, 50)
  for (let i = 0; i < 50; i++) {
    const [o] = c2.committedOffsets(`g${i}`)
    assert.deepEqual([o!.topic, o!.partition, o!.offset.committedOffset, o!.offset.leaderEpoch, o!.offset.metadata], ['t', i % 4, i, 2, `m${i}`])
  }
})
