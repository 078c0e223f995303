// The controller and the partition admin APIs on a three-broker in-process cluster:
// preferred-leader election (ElectLeaders and auto.leader.rebalance.enable), unclean election
// (by request and by topic config), partition reassignment (Alter/ListPartitionReassignments)
// carried through by replication, rack-aware placement, and topic deletion on every broker.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import test, { type TestContext } from 'node:test'
import {
  AlterPartitionReassignmentsApi, CreatePartitionsApi, CreateTopicsApi, DeleteTopicsApi, ElectLeadersApi, ErrorCode, ListPartitionReassignmentsApi
} from '@samsa/protocol'
import { type RawClient, type StartClusterOptions, type TestCluster, connectRaw, startCluster } from '@samsa/testkit'
import { batchOf, createTopic, produce } from '../helpers.ts'

async function cluster3 (t: TestContext, options: StartClusterOptions = {}): Promise<TestCluster> {
  const cluster = await startCluster({ brokers: 3, ...options })
  t.after(() => cluster.stop())
  return cluster
}

async function client (t: TestContext, bootstrap: string): Promise<RawClient> {
  const c = await connectRaw(bootstrap)
  t.after(() => c.close())
  return c
}

async function createAssigned (c: RawClient, name: string, assignments: number[][], configs: Record<string, string> = {}): Promise<void> {
  const r = await c.request(CreateTopicsApi, 7, {
    topics: [{
      name,
      numPartitions: -1,
      replicationFactor: -1,
      assignments: assignments.map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds })),
      configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v }))
    }],
    timeoutMs: 5000,
    validateOnly: false
  })
  assert.equal(r.topics[0]!.errorCode, ErrorCode.NONE, r.topics[0]!.errorMessage ?? '')
}

test('ElectLeaders PREFERRED moves leadership back once the preferred replica is in sync again', async (t) => {
  // No automatic rebalancing here: the request must do it.
  const cluster = await cluster3(t, { config: { 'auto.leader.rebalance.enable': false, 'replica.lag.time.max.ms': 2000 } })
  const c = await client(t, cluster.broker(1).bootstrap)
  await createAssigned(c, 'pref', [[2, 1, 3], [3, 1, 2]])
  const store = cluster.metadata!
  await cluster.broker(2).kill()
  await cluster.waitFor(() => store.partitionState('pref', 0)!.leader === 1, 'broker 1 to take over partition 0')
  await cluster.broker(2).start()
  await cluster.waitFor(() => store.partitionState('pref', 0)!.isr.includes(2), 'broker 2 back in the ISR', 20000)
  assert.equal(store.partitionState('pref', 0)!.leader, 1, 'no automatic move back')

  const specific = await c.request(ElectLeadersApi, 2, {
    electionType: 0, timeoutMs: 5000,
    topicPartitions: [{ topic: 'pref', partitions: [0, 1] }, { topic: 'nope', partitions: [0] }]
  })
  assert.equal(specific.errorCode, ErrorCode.NONE)
  const results = new Map(specific.replicaElectionResults.flatMap((t) => t.partitionResult.map((p) => [`${t.topic}-${p.partitionId}`, p.errorCode])))
  assert.equal(results.get('pref-0'), ErrorCode.NONE)
  assert.equal(results.get('pref-1'), ErrorCode.ELECTION_NOT_NEEDED)
  assert.equal(results.get('nope-0'), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
  const s = store.partitionState('pref', 0)!
  assert.equal(s.leader, 2)

  // All partitions: nothing left to elect, so nothing is listed.
  const all = await c.request(ElectLeadersApi, 2, { electionType: 0, timeoutMs: 5000, topicPartitions: null })
  assert.deepEqual(all.replicaElectionResults, [])
  const bad = await c.request(ElectLeadersApi, 2, { electionType: 7, timeoutMs: 5000, topicPartitions: null })
  assert.equal(bad.errorCode, ErrorCode.INVALID_REQUEST)
})

test('auto.leader.rebalance.enable moves leaders back to their preferred replicas', async (t) => {
  const cluster = await cluster3(t, { config: { 'leader.imbalance.check.interval.seconds': 1, 'replica.lag.time.max.ms': 2000 } })
  const c = await client(t, cluster.broker(1).bootstrap)
  await createAssigned(c, 'auto', [[3, 1, 2], [3, 2, 1]])
  const store = cluster.metadata!
  await cluster.broker(3).kill()
  await cluster.waitFor(() => [0, 1].every((i) => store.partitionState('auto', i)!.leader !== 3), 'leaders off broker 3')
  await cluster.broker(3).start()
  await cluster.waitFor(() => [0, 1].every((i) => store.partitionState('auto', i)!.leader === 3), 'broker 3 to lead its preferred partitions again', 25000)
})

test('unclean election: refused by default, done by ElectLeaders UNCLEAN or by unclean.leader.election.enable', async (t) => {
  const cluster = await cluster3(t, { config: { 'auto.leader.rebalance.enable': false } })
  const c = await client(t, cluster.broker(3).bootstrap)
  await createAssigned(c, 'clean', [[1, 2]])
  await createAssigned(c, 'dirty', [[1, 2]], { 'unclean.leader.election.enable': 'true' })
  const store = cluster.metadata!
  // Broker 2 dies first (leaves the ISRs), then broker 1: only out-of-sync 2 could lead.
  await cluster.broker(2).kill()
  await cluster.waitFor(() => ['clean', 'dirty'].every((n) => !store.partitionState(n, 0)!.isr.includes(2)), 'broker 2 out of the ISRs')
  await cluster.broker(1).kill()
  await cluster.broker(2).start()
  await cluster.waitFor(() => store.partitionState('dirty', 0)!.leader === 2, 'the topic that allows it to elect broker 2')
  assert.deepEqual(store.partitionState('dirty', 0)!.isr, [2])
  await new Promise((resolve) => setTimeout(resolve, 300))
  assert.equal(store.partitionState('clean', 0)!.leader, -1, 'no unclean election by default')
  assert.deepEqual(store.partitionState('clean', 0)!.isr, [1])

  const preferred = await c.request(ElectLeadersApi, 2, { electionType: 0, timeoutMs: 5000, topicPartitions: [{ topic: 'clean', partitions: [0] }] })
  assert.equal(preferred.replicaElectionResults[0]!.partitionResult[0]!.errorCode, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE)
  const unclean = await c.request(ElectLeadersApi, 2, { electionType: 1, timeoutMs: 5000, topicPartitions: [{ topic: 'clean', partitions: [0] }] })
  assert.equal(unclean.replicaElectionResults[0]!.partitionResult[0]!.errorCode, ErrorCode.NONE)
  assert.equal(store.partitionState('clean', 0)!.leader, 2)
  const again = await c.request(ElectLeadersApi, 2, { electionType: 1, timeoutMs: 5000, topicPartitions: [{ topic: 'clean', partitions: [0] }] })
  assert.equal(again.replicaElectionResults[0]!.partitionResult[0]!.errorCode, ErrorCode.ELECTION_NOT_NEEDED)
})

test('reassignment moves a partition from brokers [1,2] to [2,3]: listed while in progress, the data follows, broker 1 drops it', async (t) => {
  const cluster = await cluster3(t, { config: { 'auto.leader.rebalance.enable': false } })
  const c = await client(t, cluster.broker(1).bootstrap)
  await createAssigned(c, 'moving', [[1, 2]])
  const store = cluster.metadata!
  const lc = await client(t, cluster.broker(1).bootstrap)
  for (let i = 0; i < 5; i++) assert.equal((await produce(lc, 'moving', batchOf(10, { from: i * 10 }), { acks: -1 })).errorCode, ErrorCode.NONE)

  const bad = await c.request(AlterPartitionReassignmentsApi, 0, {
    timeoutMs: 5000,
    topics: [
      { name: 'moving', partitions: [{ partitionIndex: 0, replicas: [2, 9] }] },
      { name: 'unknown', partitions: [{ partitionIndex: 0, replicas: [1] }] }
    ]
  })
  assert.equal(bad.responses[0]!.partitions[0]!.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT)
  assert.equal(bad.responses[1]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
  const cancelNothing = await c.request(AlterPartitionReassignmentsApi, 0, { timeoutMs: 5000, topics: [{ name: 'moving', partitions: [{ partitionIndex: 0, replicas: null }] }] })
  assert.equal(cancelNothing.responses[0]!.partitions[0]!.errorCode, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS)

  const r = await c.request(AlterPartitionReassignmentsApi, 0, { timeoutMs: 5000, topics: [{ name: 'moving', partitions: [{ partitionIndex: 0, replicas: [2, 3] }] }] })
  assert.equal(r.responses[0]!.partitions[0]!.errorCode, ErrorCode.NONE)
  const s = store.partitionState('moving', 0)!
  // Either still in progress (listed) or already done: both are checked.
  if (s.addingReplicas.length > 0) {
    const listed = await c.request(ListPartitionReassignmentsApi, 0, { timeoutMs: 5000, topics: null })
    assert.deepEqual(listed.topics[0]?.partitions[0], { partitionIndex: 0, replicas: [2, 3, 1], addingReplicas: [3], removingReplicas: [1] })
  }
  await cluster.waitFor(() => {
    const now = store.partitionState('moving', 0)!
    return now.addingReplicas.length === 0 && now.removingReplicas.length === 0 && now.replicas.join() === '2,3'
  }, 'the reassignment to complete', 20000)
  const done = store.partitionState('moving', 0)!
  assert.equal(done.leader, 2, 'leadership left the removed broker')
  assert.deepEqual([...done.isr].sort(), [2, 3])
  const listed = await c.request(ListPartitionReassignmentsApi, 0, { timeoutMs: 5000, topics: [{ name: 'moving', partitionIndexes: [0] }] })
  assert.deepEqual(listed.topics, [])
  // Broker 3 has every record; broker 1 deleted its replica.
  await cluster.waitFor(() => cluster.broker(3).broker.topics.partition('moving', 0)?.log.logEndOffset === 50, 'broker 3 to hold all 50 records')
  await cluster.waitFor(() => cluster.broker(1).broker.topics.partition('moving', 0) === undefined, 'broker 1 to drop its replica')
  await cluster.waitFor(() => !existsSync(join(cluster.broker(1).dataDir, 'moving-0')), 'broker 1 to delete the log directory')
  const after = await produce(await client(t, cluster.broker(2).bootstrap), 'moving', batchOf(1), { acks: -1 })
  assert.equal(after.errorCode, ErrorCode.NONE)
  assert.equal(Number(after.baseOffset), 50)
})

test('rack-aware placement spreads each partition over the racks; deleting a topic removes it from every broker', async (t) => {
  const cluster = await startCluster({ brokers: 4, racks: ['a', 'a', 'b', 'b'] })
  t.after(() => cluster.stop())
  const c = await client(t, cluster.broker(1).bootstrap)
  await createTopic(c, 'racks', { partitions: 8, replicationFactor: 2 })
  const racks: Record<number, string> = { 1: 'a', 2: 'a', 3: 'b', 4: 'b' }
  for (let i = 0; i < 8; i++) {
    const s = cluster.metadata!.partitionState('racks', i)!
    assert.equal(new Set(s.replicas.map((r) => racks[r])).size, 2, `partition ${i} on both racks: ${s.replicas.join(',')}`)
  }
  // CreatePartitions places the new partitions the same way.
  const grown = await c.request(CreatePartitionsApi, 3, { topics: [{ name: 'racks', count: 12, assignments: null }], timeoutMs: 5000, validateOnly: false })
  assert.equal(grown.results[0]!.errorCode, ErrorCode.NONE)
  for (let i = 8; i < 12; i++) {
    const s = cluster.metadata!.partitionState('racks', i)!
    assert.equal(s.replicas.length, 2)
    assert.equal(new Set(s.replicas.map((r) => racks[r])).size, 2, `new partition ${i} on both racks: ${s.replicas.join(',')}`)
  }
  const tooMany = await c.request(CreatePartitionsApi, 3, { topics: [{ name: 'racks', count: 13, assignments: [{ brokerIds: [1, 9] }] }], timeoutMs: 5000, validateOnly: false })
  assert.equal(tooMany.results[0]!.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT)
  for (const b of cluster.brokers) await cluster.waitFor(() => b.broker.topics.get('racks')?.partitions.length === 12, `broker ${b.nodeId} to know the topic`)
  const dirs = cluster.brokers.map((b) => join(b.dataDir, 'racks-0'))
  assert.equal(dirs.filter((d) => existsSync(d)).length, 2, 'two replicas of partition 0 on disk')
  const deleted = await c.request(DeleteTopicsApi, 6, { topics: [{ name: 'racks', topicId: '00000000-0000-0000-0000-000000000000' }], topicNames: [], timeoutMs: 5000 })
  assert.equal(deleted.responses[0]!.errorCode, ErrorCode.NONE)
  for (const b of cluster.brokers) {
    await cluster.waitFor(() => b.broker.topics.get('racks') === undefined, `broker ${b.nodeId} to forget the topic`)
  }
  await cluster.waitFor(() => dirs.every((d) => !existsSync(d)), 'every replica deleted from disk')
})
