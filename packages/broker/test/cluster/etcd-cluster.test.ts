// Three brokers on a real etcd (metadata.store=etcd://...): registration with leases (a killed
// broker disappears when its lease expires), controller election, failover; and etcd itself
// restarted: the brokers keep serving produce and fetch meanwhile, and metadata changes resume
// when it is back. Skipped, with a message, when /usr/bin/etcd is not installed.
import assert from 'node:assert/strict'
import test, { type TestContext } from 'node:test'
import { CreateTopicsApi, ErrorCode, MetadataApi, ZERO_UUID } from '@samsa/protocol'
import type { MetadataResponse } from '@samsa/protocol/messages/metadata'
import { type RawClient, connectRaw, etcdAvailable, startCluster } from '@samsa/testkit'
import { batchOf, createTopic, fetchOne, produce } from '../helpers.ts'

const skip = etcdAvailable() ? undefined : 'etcd is not installed at /usr/bin/etcd (Debian package etcd-server): etcd cluster tests skipped'
const opts = skip === undefined ? {} : { skip }

async function client (t: TestContext, bootstrap: string): Promise<RawClient> {
  const c = await connectRaw(bootstrap)
  t.after(() => c.close())
  return c
}

async function metadata (c: RawClient, topics: string[] | null = null): Promise<MetadataResponse> {
  return await c.request(MetadataApi, 12, {
    ...MetadataApi.request.create(), topics: topics === null ? null : topics.map((name) => ({ topicId: ZERO_UUID, name })), allowAutoTopicCreation: false
  })
}

test('etcd: brokers register, one controller, a killed leader is replaced when its lease expires', opts, async (t) => {
  const cluster = await startCluster({ brokers: 3, metadata: 'etcd', config: { 'broker.session.timeout.ms': 1000 } })
  t.after(() => cluster.stop())
  const c = await client(t, cluster.broker(1).bootstrap)
  await cluster.waitFor(async () => (await metadata(c)).brokers.length === 3 && cluster.controller() !== undefined, 'three brokers and a controller')
  const m = await metadata(c)
  assert.equal(m.controllerId, cluster.controller()!.nodeId)
  assert.equal(new Set(cluster.brokers.map((b) => b.broker.clusterId)).size, 1, 'one cluster id, from etcd')
  await createTopic(c, 'etcd-topic', { partitions: 3, replicationFactor: 3 })
  for (const b of cluster.brokers) await cluster.waitFor(() => b.broker.topics.get('etcd-topic') !== undefined, `broker ${b.nodeId} to see the topic`)
  const before = (await metadata(c, ['etcd-topic'])).topics[0]!.partitions
  const victim = before.find((p) => p.leaderId !== 1)!.leaderId
  const killedAt = Date.now()
  await cluster.broker(victim).kill()
  await cluster.waitFor(async () => (await metadata(c, ['etcd-topic'])).topics[0]!.partitions.every((p) => p.leaderId !== victim && p.leaderId !== -1),
    'leadership to leave the killed broker', 15000)
  const elapsed = Date.now() - killedAt
  assert.ok(elapsed < 10000, `failover took ${elapsed} ms`)
  const after = await metadata(c, ['etcd-topic'])
  assert.deepEqual(after.brokers.map((b) => b.nodeId).sort(), [1, 2, 3].filter((n) => n !== victim))
  for (const p of after.topics[0]!.partitions) {
    assert.deepEqual(p.offlineReplicas, [victim])
    const old = before[p.partitionIndex]!
    if (old.leaderId === victim) assert.equal(p.leaderEpoch, old.leaderEpoch + 1)
  }
  await cluster.broker(victim).start()
  await cluster.waitFor(async () => (await metadata(c)).brokers.length === 3, 'the broker back')
})

test('etcd restarted: brokers keep serving; metadata changes resume when it is back', opts, async (t) => {
  const cluster = await startCluster({ brokers: 3, metadata: 'etcd', config: { 'broker.session.timeout.ms': 2000 } })
  t.after(() => cluster.stop())
  const c = await client(t, cluster.broker(1).bootstrap)
  await createTopic(c, 'steady', { partitions: 1, replicationFactor: 3 })
  await cluster.waitFor(async () => (await metadata(c, ['steady'])).topics[0]!.partitions[0]!.isrNodes.length === 3, 'a full ISR')
  const leader = (await metadata(c, ['steady'])).topics[0]!.partitions[0]!.leaderId
  const lc = await client(t, cluster.broker(leader).bootstrap)
  assert.equal((await produce(lc, 'steady', batchOf(5), { acks: -1 })).errorCode, ErrorCode.NONE)

  await cluster.etcd!.kill()
  // Without etcd: produce (acks=all, the ISR does not change), fetch and Metadata still work.
  for (let i = 1; i <= 5; i++) {
    const r = await produce(lc, 'steady', batchOf(5, { from: i * 5 }), { acks: -1 })
    assert.equal(r.errorCode, ErrorCode.NONE, `produce ${i} while etcd is down`)
    await new Promise((resolve) => setTimeout(resolve, 300))
  }
  const fetched = await fetchOne(lc, { topic: 'steady', offset: 0 })
  assert.equal(fetched.errorCode, ErrorCode.NONE)
  assert.equal(Number(fetched.highWatermark), 30)
  assert.equal((await metadata(c)).brokers.length, 3, 'every broker still listed')
  // A metadata change cannot be made meanwhile: it fails with an error, the broker stays up.
  const refused = await Promise.race([
    c.request(CreateTopicsApi, 7, { topics: [{ name: 'during-outage', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false }),
    new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), 300))
  ])
  if (refused !== 'pending') assert.notEqual(refused.topics[0]!.errorCode, ErrorCode.NONE)

  await cluster.etcd!.restart()
  // Registrations are back (or were kept) and metadata changes work again.
  await cluster.waitFor(async () => {
    const r = await c.request(CreateTopicsApi, 7, { topics: [{ name: 'after-outage', numPartitions: 3, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false })
    return r.topics[0]!.errorCode === ErrorCode.NONE || r.topics[0]!.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS
  }, 'CreateTopics to work again', 30000)
  for (const b of cluster.brokers) await cluster.waitFor(() => b.broker.topics.get('after-outage') !== undefined, `broker ${b.nodeId} to see the new topic`, 15000)
  await cluster.waitFor(async () => (await metadata(c)).brokers.length === 3, 'three registered brokers', 15000)
  assert.equal((await produce(lc, 'steady', batchOf(1, { from: 30 }), { acks: -1 })).errorCode, ErrorCode.NONE)
})

test('etcd: a broker killed and restarted before its lease expires is seen as a new incarnation: its leaderships get a new epoch', opts, async (t) => {
  const cluster = await startCluster({ brokers: 3, metadata: 'etcd', config: { 'broker.session.timeout.ms': 5000, 'auto.leader.rebalance.enable': false } })
  t.after(() => cluster.stop())
  const c = await client(t, cluster.broker(1).bootstrap)
  await createTopic(c, 'reborn', { partitions: 3, replicationFactor: 3 })
  await cluster.waitFor(async () => (await metadata(c, ['reborn'])).topics[0]!.partitions.every((p) => p.isrNodes.length === 3), 'full ISRs')
  const before = (await metadata(c, ['reborn'])).topics[0]!.partitions
  const led = before.find((p) => p.leaderId === 3)!
  // The old registration is still there (5 s lease) when the new process registers.
  await cluster.broker(3).kill()
  await cluster.broker(3).start()
  await cluster.waitFor(async () => {
    const p = (await metadata(c, ['reborn'])).topics[0]!.partitions[led.partitionIndex]!
    return p.leaderEpoch > led.leaderEpoch && p.leaderId !== -1
  }, 'a new leader epoch for the partition the old process led', 10000)
  const p = (await metadata(c, ['reborn'])).topics[0]!.partitions[led.partitionIndex]!
  assert.notEqual(p.leaderId, 3, 'another in-sync replica took over from the dead process')
})
