// Replication between in-process brokers (replication/): followers copy the leader's log
// byte for byte, the high watermark follows the ISR, acks=all waits for it and honours
// min.insync.replicas, the ISR shrinks after replica.lag.time.max.ms and expands when a follower
// catches up, consumers read only up to the high watermark.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCode, ProduceApi } from '@samsa/protocol'
import { connectRaw } from '@samsa/testkit'
import { batchOf, createTopic, decodeRecords, fetchOne, produce, produceOk } from '../helpers.ts'
import { assertReplicasIdentical, leaderOf, partitionOn, startTestCluster, waitFor } from './helpers.ts'

const TOPIC_CONFIGS = { 'min.insync.replicas': '2' }

test('RF 3, acks=all: records replicate to every replica byte for byte and the high watermark follows', async (t) => {
  const cluster = await startTestCluster(t)
  const admin = await connectRaw(cluster.bootstrap[0]!)
  t.after(() => admin.close())
  await createTopic(admin, 'orders', { partitions: 2, replicationFactor: 3, configs: TOPIC_CONFIGS })
  for (const index of [0, 1]) {
    const leader = await leaderOf(cluster, 'orders', index)
    const p = partitionOn(cluster, leader, 'orders', index)
    assert.deepEqual([...p.replicas].sort(), [1, 2, 3])
    const client = await connectRaw(cluster.bootstrap[leader - 1]!)
    t.after(() => client.close())
    let next = 0
    for (let i = 0; i < 20; i++) {
      const base = await produceOk(client, 'orders', batchOf(5, { from: next }), { partition: index, acks: -1 })
      assert.equal(base, next)
      next += 5
      // acks=all answered: every ISR member has the batch, so the high watermark is past it.
      assert.ok(p.highWatermark >= next, `high watermark ${p.highWatermark} after acks=all to ${next}`)
    }
    await assertReplicasIdentical(cluster, 'orders', index)
    for (const id of cluster.nodeIds) {
      const log = partitionOn(cluster, id, 'orders', index).log
      assert.equal(log.logEndOffset, 100)
      // Followers learnt the leader's epochs from the batches.
      assert.deepEqual(log.leaderEpochCache.entries, partitionOn(cluster, leader, 'orders', index).log.leaderEpochCache.entries)
    }
    // The followers refuse clients: NOT_LEADER_OR_FOLLOWER for produce and fetch.
    const follower = p.replicas.find((id) => id !== leader)!
    const other = await connectRaw(cluster.bootstrap[follower - 1]!)
    t.after(() => other.close())
    const refused = await produce(other, 'orders', batchOf(1), { partition: index, acks: -1 })
    assert.equal(refused.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER)
    const fetched = await fetchOne(other, { topic: 'orders', partition: index, offset: 0 })
    assert.equal(fetched.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER)
    // KIP-951: the refusal names the leader and, from Produce v10, where it listens.
    const v11 = await other.request(ProduceApi, 11, {
      transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'orders', partitionData: [{ index, records: batchOf(1) }] }]
    })
    const refusedV11 = v11.responses[0]!.partitionResponses[0]!
    assert.equal(refusedV11.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER)
    assert.deepEqual([refusedV11.currentLeader.leaderId, refusedV11.currentLeader.leaderEpoch], [leader, p.leaderEpoch])
    assert.deepEqual(v11.nodeEndpoints.map((e) => [e.nodeId, e.port]), [[leader, Number(cluster.bootstrap[leader - 1]!.split(':')[1])]])
    const fetched12 = await fetchOne(other, { topic: 'orders', partition: index, offset: 0 }, { version: 12 })
    assert.deepEqual([fetched12.currentLeader.leaderId, fetched12.currentLeader.leaderEpoch], [leader, p.leaderEpoch])
  }
})

test('consumers read only up to the high watermark; a long poll wakes when it moves', async (t) => {
  const cluster = await startTestCluster(t)
  const admin = await connectRaw(cluster.bootstrap[0]!)
  t.after(() => admin.close())
  await createTopic(admin, 'hw', { replicationFactor: 3, configs: TOPIC_CONFIGS })
  const leader = await leaderOf(cluster, 'hw')
  const followers = partitionOn(cluster, leader, 'hw').replicas.filter((id) => id !== leader)
  const client = await connectRaw(cluster.bootstrap[leader - 1]!)
  t.after(() => client.close())
  await produceOk(client, 'hw', batchOf(3), { acks: -1 })
  await assertReplicasIdentical(cluster, 'hw')
  // Followers stop fetching (their brokers stay registered): an acks=1 write is not committed.
  for (const id of followers) await cluster.broker(id).replicaManager.stop()
  await produceOk(client, 'hw', batchOf(2, { from: 3 }), { acks: 1 })
  const p = partitionOn(cluster, leader, 'hw')
  assert.equal(p.log.logEndOffset, 5)
  assert.equal(p.highWatermark, 3)
  const visible = await fetchOne(client, { topic: 'hw', offset: 0 })
  assert.equal(visible.highWatermark, 3n)
  assert.deepEqual(decodeRecords(visible.records).map((r) => r.offset), [0, 1, 2])
  // A consumer long-polling at the high watermark is woken when the followers catch up.
  const started = Date.now()
  const polling = fetchOne(client, { topic: 'hw', offset: 3 }, { maxWaitMs: 10000, minBytes: 1 })
  await new Promise((resolve) => setTimeout(resolve, 200))
  for (const id of followers) cluster.broker(id).replicaManager.start()
  const woken = await polling
  assert.ok(Date.now() - started < 5000, 'the long poll ended when the high watermark moved')
  assert.deepEqual(decodeRecords(woken.records).map((r) => r.offset), [3, 4])
  assert.equal(woken.highWatermark, 5n)
})

test('a follower that stops fetching leaves the ISR after replica.lag.time.max.ms; acks=all needs min.insync.replicas', async (t) => {
  const lagMs = 1500
  const cluster = await startTestCluster(t, { config: { 'replica.lag.time.max.ms': lagMs } })
  const admin = await connectRaw(cluster.bootstrap[0]!)
  t.after(() => admin.close())
  await createTopic(admin, 'isr', { replicationFactor: 3, configs: TOPIC_CONFIGS })
  const leader = await leaderOf(cluster, 'isr')
  const [f1, f2] = partitionOn(cluster, leader, 'isr').replicas.filter((id) => id !== leader) as [number, number]
  const client = await connectRaw(cluster.bootstrap[leader - 1]!)
  t.after(() => client.close())
  let next = 0
  const write = async (acks: number): Promise<number> => {
    const r = await produce(client, 'isr', batchOf(2, { from: next }), { acks })
    if (r.errorCode === ErrorCode.NONE) next += 2
    return r.errorCode
  }
  assert.equal(await write(-1), ErrorCode.NONE)
  // f1 stops fetching but stays registered: only the lag rule can take it out of the ISR.
  await cluster.broker(f1).replicaManager.stop()
  const stoppedAt = Date.now()
  assert.equal(await write(1), ErrorCode.NONE)
  await waitFor('the ISR to shrink', () => !partitionOn(cluster, leader, 'isr').isr.includes(f1), lagMs * 4)
  const shrunkAfter = Date.now() - stoppedAt
  assert.ok(shrunkAfter >= lagMs - 100, `the ISR shrank after ${shrunkAfter} ms, not before replica.lag.time.max.ms`)
  assert.deepEqual([...partitionOn(cluster, leader, 'isr').isr].sort(), [leader, f2].sort())
  // Every broker sees the new ISR (it went through the metadata store).
  for (const id of cluster.nodeIds) assert.equal(partitionOn(cluster, id, 'isr').isr.includes(f1), false)
  // Two in sync: acks=all still works.
  assert.equal(await write(-1), ErrorCode.NONE)
  // f2 stops too. A follower at the leader's log end is in sync however long it is silent
  // (Kafka's isCaughtUp), so it falls out once there is something it lacks.
  await cluster.broker(f2).replicaManager.stop()
  assert.equal(await write(1), ErrorCode.NONE)
  await waitFor('the ISR to shrink to the leader', () => partitionOn(cluster, leader, 'isr').isr.length === 1, lagMs * 4)
  const before = partitionOn(cluster, leader, 'isr').log.logEndOffset
  assert.equal(await write(-1), ErrorCode.NOT_ENOUGH_REPLICAS)
  assert.equal(partitionOn(cluster, leader, 'isr').log.logEndOffset, before, 'nothing appended')
  assert.equal(await write(1), ErrorCode.NONE)
  // Both resume: they catch up and rejoin the ISR, and acks=all works again.
  cluster.broker(f1).replicaManager.start()
  cluster.broker(f2).replicaManager.start()
  await waitFor('the ISR to expand', () => partitionOn(cluster, leader, 'isr').isr.length === 3, 10000)
  assert.equal(await write(-1), ErrorCode.NONE)
  await assertReplicasIdentical(cluster, 'isr')
})

test('acks=all appended while the ISR shrinks below min.insync.replicas: NOT_ENOUGH_REPLICAS_AFTER_APPEND', async (t) => {
  const lagMs = 1000
  const cluster = await startTestCluster(t, { config: { 'replica.lag.time.max.ms': lagMs } })
  const admin = await connectRaw(cluster.bootstrap[0]!)
  t.after(() => admin.close())
  await createTopic(admin, 'after', { replicationFactor: 3, configs: { 'min.insync.replicas': '3' } })
  const leader = await leaderOf(cluster, 'after')
  const followers = partitionOn(cluster, leader, 'after').replicas.filter((id) => id !== leader)
  const client = await connectRaw(cluster.bootstrap[leader - 1]!)
  t.after(() => client.close())
  await produceOk(client, 'after', batchOf(1), { acks: -1 })
  await cluster.broker(followers[0]!).replicaManager.stop()
  // Appended with 3 in sync; the laggard is dropped before the records are committed, after
  // which the high watermark passes them with only 2 in sync.
  const r = await produce(client, 'after', batchOf(1, { from: 1 }), { acks: -1 })
  assert.equal(r.errorCode, ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND)
  assert.equal(partitionOn(cluster, leader, 'after').isr.length, 2)
})
