// A three-broker in-process cluster (shared in-memory metadata): every broker registers its
// endpoint and shows every live broker; partitions spread leaders and replicas; requests to a
// broker that does not lead a partition get NOT_LEADER_OR_FOLLOWER; a dead leader is replaced
// from the ISR with a new leader epoch and reported offline; a clean stop hands leadership over
// before the broker goes; a dead controller is replaced.
import assert from 'node:assert/strict'
import test, { type TestContext } from 'node:test'
import { CreateTopicsApi, ErrorCode, ListOffsetsApi, MetadataApi, ZERO_UUID } from '@samsa/protocol'
import type { MetadataResponse } from '@samsa/protocol/messages/metadata'
import { type RawClient, type TestCluster, connectRaw, startCluster } from '@samsa/testkit'
import { batchOf, createTopic, produce } from '../helpers.ts'

async function cluster3 (t: TestContext, options: Parameters<typeof startCluster>[0] = {}): Promise<TestCluster> {
  const cluster = await startCluster({ brokers: 3, ...options })
  t.after(() => cluster.stop())
  return cluster
}

async function client (t: TestContext, bootstrap: string): Promise<RawClient> {
  const c = await connectRaw(bootstrap)
  t.after(() => c.close())
  return c
}

async function metadata (c: RawClient, topics: string[] | null = null): Promise<MetadataResponse> {
  return await c.request(MetadataApi, 12, {
    ...MetadataApi.request.create(),
    topics: topics === null ? null : topics.map((name) => ({ topicId: ZERO_UUID, name })),
    allowAutoTopicCreation: false
  })
}

test('Metadata from every broker lists all three with their registered endpoints and one controller', async (t) => {
  const cluster = await cluster3(t)
  await cluster.waitFor(() => cluster.controller() !== undefined, 'a controller')
  const controller = cluster.controller()!.nodeId
  for (const b of cluster.brokers) {
    const c = await client(t, b.bootstrap)
    const m = await metadata(c)
    assert.deepEqual(m.brokers.map((x) => [x.nodeId, x.host, x.port]).sort(), cluster.brokers.map((x) => [x.nodeId, '127.0.0.1', x.port]).sort())
    assert.equal(m.controllerId, controller)
    assert.equal(m.clusterId, cluster.brokers[0]!.broker.clusterId, 'one cluster id for all')
  }
})

test('replication factor 3 spreads leaders; NOT_LEADER_OR_FOLLOWER off the leader; too large a factor is INVALID_REPLICATION_FACTOR', async (t) => {
  const cluster = await cluster3(t)
  const c = await client(t, cluster.brokers[0]!.bootstrap)
  await createTopic(c, 'spread', { partitions: 6, replicationFactor: 3 })
  const m = await metadata(c, ['spread'])
  const partitions = m.topics[0]!.partitions
  assert.equal(partitions.length, 6)
  const leaders = new Map<number, number>()
  for (const p of partitions) {
    assert.equal(p.errorCode, ErrorCode.NONE)
    assert.equal(p.replicaNodes.length, 3)
    assert.deepEqual([...p.replicaNodes].sort(), [1, 2, 3])
    assert.equal(p.leaderId, p.replicaNodes[0], 'the preferred replica leads a new partition')
    assert.deepEqual(p.offlineReplicas, [])
    leaders.set(p.leaderId, (leaders.get(p.leaderId) ?? 0) + 1)
  }
  assert.deepEqual([...leaders.values()], [2, 2, 2], 'two leaders per broker')

  // Every broker knows the topic (the watch delivered it) and answers only for what it leads.
  for (const b of cluster.brokers) {
    const bc = await client(t, b.bootstrap)
    await cluster.waitFor(() => b.broker.topics.get('spread') !== undefined, `broker ${b.nodeId} to see the topic`)
    for (const p of partitions) {
      const r = await produce(bc, 'spread', batchOf(1), { partition: p.partitionIndex, acks: 1 })
      if (p.leaderId === b.nodeId) assert.equal(r.errorCode, ErrorCode.NONE, `leader ${b.nodeId} of ${p.partitionIndex}: ${r.errorMessage}`)
      else assert.equal(r.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER, `broker ${b.nodeId} is not the leader of ${p.partitionIndex}`)
      const lo = await bc.request(ListOffsetsApi, 7, {
        replicaId: -1, isolationLevel: 0, timeoutMs: 0, topics: [{ name: 'spread', partitions: [{ partitionIndex: p.partitionIndex, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }] }]
      })
      assert.equal(lo.topics[0]!.partitions[0]!.errorCode, p.leaderId === b.nodeId ? ErrorCode.NONE : ErrorCode.NOT_LEADER_OR_FOLLOWER)
    }
  }

  const tooMany = await c.request(CreateTopicsApi, 7, {
    topics: [{ name: 'too-many', numPartitions: 1, replicationFactor: 4, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false
  })
  assert.equal(tooMany.topics[0]!.errorCode, ErrorCode.INVALID_REPLICATION_FACTOR)
  assert.match(tooMany.topics[0]!.errorMessage ?? '', /only 3 broker\(s\) are registered/)
})

test('a killed leader is replaced from the ISR with a new leader epoch, shown offline, and rejoins after restart', async (t) => {
  const cluster = await cluster3(t)
  const c = await client(t, cluster.brokers[0]!.bootstrap)
  await createTopic(c, 'failover', { partitions: 3, replicationFactor: 3 })
  const before = (await metadata(c, ['failover'])).topics[0]!.partitions
  // Kill a broker that is not the one we talk to; it leads one partition.
  const victim = cluster.broker(2)
  const led = before.find((p) => p.leaderId === 2)!
  await victim.kill()
  await cluster.waitFor(async () => {
    const p = (await metadata(c, ['failover'])).topics[0]!.partitions[led.partitionIndex]!
    return p.leaderId !== 2 && p.leaderId !== -1
  }, 'a new leader')
  const m = await metadata(c, ['failover'])
  assert.deepEqual(m.brokers.map((b) => b.nodeId).sort(), [1, 3], 'the dead broker is gone from Metadata')
  for (const p of m.topics[0]!.partitions) {
    const old = before[p.partitionIndex]!
    assert.deepEqual(p.offlineReplicas, [2])
    assert.ok(!p.isrNodes.includes(2), 'the dead broker left the ISR')
    assert.deepEqual(p.replicaNodes, old.replicaNodes, 'the assignment stays')
    if (old.leaderId === 2) {
      assert.equal(p.leaderEpoch, old.leaderEpoch + 1, 'a leader change bumps the leader epoch')
      assert.equal(p.leaderId, old.replicaNodes.find((r) => r !== 2), 'the next replica in order takes over')
    } else {
      assert.equal(p.leaderId, old.leaderId)
      assert.equal(p.leaderEpoch, old.leaderEpoch, 'an ISR shrink is not a leader change')
    }
  }
  // Produce to the new leader works.
  const newLeader = m.topics[0]!.partitions[led.partitionIndex]!.leaderId
  const lc = await client(t, cluster.broker(newLeader).bootstrap)
  const r = await produce(lc, 'failover', batchOf(1), { partition: led.partitionIndex, acks: 1 })
  assert.equal(r.errorCode, ErrorCode.NONE)

  await victim.start()
  await cluster.waitFor(async () => (await metadata(c)).brokers.length === 3, 'the broker to come back')
  const after = (await metadata(c, ['failover'])).topics[0]!.partitions
  for (const p of after) assert.deepEqual(p.offlineReplicas, [])
})

test('with every in-sync replica gone the partition has no leader; it comes back with the last ISR member', async (t) => {
  const cluster = await cluster3(t)
  const c = await client(t, cluster.broker(1).bootstrap)
  const created = await c.request(CreateTopicsApi, 7, {
    topics: [{ name: 'single', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [2] }], configs: [] }], timeoutMs: 5000, validateOnly: false
  })
  assert.equal(created.topics[0]!.errorCode, ErrorCode.NONE)
  await cluster.broker(2).kill()
  await cluster.waitFor(async () => (await metadata(c, ['single'])).topics[0]!.partitions[0]!.errorCode === ErrorCode.LEADER_NOT_AVAILABLE, 'the partition to go offline')
  const offline = (await metadata(c, ['single'])).topics[0]!.partitions[0]!
  assert.equal(offline.leaderId, -1)
  assert.deepEqual(offline.isrNodes, [2], 'the last in-sync replica stays in the ISR')
  assert.deepEqual(offline.offlineReplicas, [2])
  await cluster.broker(2).start()
  await cluster.waitFor(async () => (await metadata(c, ['single'])).topics[0]!.partitions[0]!.leaderId === 2, 'broker 2 to lead again')
  const back = (await metadata(c, ['single'])).topics[0]!.partitions[0]!
  assert.ok(back.leaderEpoch > offline.leaderEpoch)
})

test('a clean stop moves leadership away first (controlled shutdown)', async (t) => {
  const cluster = await cluster3(t)
  const c = await client(t, cluster.broker(1).bootstrap)
  await createTopic(c, 'handover', { partitions: 3, replicationFactor: 3 })
  const store = cluster.metadata!
  const leadersBefore = [0, 1, 2].map((i) => store.partitionState('handover', i)!.leader)
  assert.ok(leadersBefore.includes(3))
  // Watch the store: broker 3 must have lost every leadership while still registered.
  let ledWhileRegistered = true
  const stopping = cluster.broker(3).stop()
  await cluster.waitFor(() => {
    if (!store.liveBrokers.includes(3)) return true
    ledWhileRegistered = [0, 1, 2].some((i) => store.partitionState('handover', i)!.leader === 3)
    return !ledWhileRegistered
  }, 'leadership to leave broker 3')
  assert.equal(ledWhileRegistered, false, 'leadership moved before the registration went')
  await stopping
  for (const i of [0, 1, 2]) {
    const s = store.partitionState('handover', i)!
    assert.notEqual(s.leader, 3)
    assert.ok(!s.isr.includes(3))
  }
})

test('a clean stop of the controller itself hands its leaderships over, then the role', async (t) => {
  const cluster = await cluster3(t)
  await cluster.waitFor(() => cluster.controller() !== undefined, 'a controller')
  const first = cluster.controller()!
  const c = await client(t, cluster.brokers.find((b) => b !== first)!.bootstrap)
  await createTopic(c, 'ctl-stop', { partitions: 3, replicationFactor: 3 })
  const store = cluster.metadata!
  assert.ok([0, 1, 2].some((i) => store.partitionState('ctl-stop', i)!.leader === first.nodeId))
  let ledWhileRegistered = true
  const stopping = first.stop()
  await cluster.waitFor(() => {
    if (!store.liveBrokers.includes(first.nodeId)) return true
    ledWhileRegistered = [0, 1, 2].some((i) => store.partitionState('ctl-stop', i)!.leader === first.nodeId)
    return !ledWhileRegistered
  }, 'leadership to leave the controller')
  assert.equal(ledWhileRegistered, false)
  await stopping
  await cluster.waitFor(() => cluster.controller() !== undefined, 'a new controller')
  assert.notEqual(cluster.controller()!.nodeId, first.nodeId)
  assert.equal(store.controllerId, cluster.controller()!.nodeId)
})

test('killing the controller elects another broker, which keeps electing leaders', async (t) => {
  const cluster = await cluster3(t)
  await cluster.waitFor(() => cluster.controller() !== undefined, 'a controller')
  const first = cluster.controller()!
  const other = cluster.brokers.find((b) => b !== first)!
  const c = await client(t, other.bootstrap)
  await createTopic(c, 'ctl', { partitions: 3, replicationFactor: 2 })
  await first.kill()
  await cluster.waitFor(() => cluster.controller() !== undefined && cluster.controller() !== first, 'a new controller')
  const second = cluster.controller()!
  assert.ok(cluster.metadata!.controllerEpoch > 0)
  assert.equal((await metadata(c)).controllerId, second.nodeId)
  // The partitions the first controller led were moved by the second.
  await cluster.waitFor(() => [0, 1, 2].every((i) => {
    const s = cluster.metadata!.partitionState('ctl', i)!
    return s.leader !== first.nodeId && s.leader !== -1
  }), 'every partition led by a live broker')
})
