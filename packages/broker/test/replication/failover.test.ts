// Failures and leader changes with replication: a crashed follower leaves the ISR and, restarted,
// truncates and catches up; a crashed leader is replaced from the ISR and producers carry on
// without losing an acknowledged record; a leader's unreplicated tail is cut when it comes back
// as a follower (KIP-101: OffsetForLeaderEpoch), so the logs never diverge.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DeleteRecordsApi, ErrorCode, OffsetForLeaderEpochApi } from '@samsa/protocol'
import { type RawClient, connectRaw } from '@samsa/testkit'
import { batchOf, createTopic, decodeRecords, fetchOne, produce, produceOk } from '../helpers.ts'
import { type TestCluster, assertReplicasIdentical, leaderOf, partitionOn, startTestCluster, waitFor } from './helpers.ts'

const TOPIC_CONFIGS = { 'min.insync.replicas': '2' }

async function clientTo (t: { after: (fn: () => void) => void }, cluster: TestCluster, nodeId: number): Promise<RawClient> {
  const client = await connectRaw(cluster.bootstrap[nodeId - 1]!)
  t.after(() => client.close())
  return client
}

/** Every record of a partition, read from its leader up to the high watermark. */
async function readAll (cluster: TestCluster, client: RawClient, topic: string, index = 0): Promise<Array<{ offset: number, value: string | null }>> {
  const out: Array<{ offset: number, value: string | null }> = []
  let offset = 0
  for (;;) {
    const data = await fetchOne(client, { topic, partition: index, offset, maxBytes: 1024 * 1024 })
    assert.equal(data.errorCode, ErrorCode.NONE)
    const records = decodeRecords(data.records)
    if (records.length === 0) break
    for (const r of records) if (r.offset >= offset) out.push({ offset: r.offset, value: r.value })
    offset = records.at(-1)!.offset + 1
    if (offset >= Number(data.highWatermark)) break
  }
  void cluster
  return out
}

test('a crashed follower leaves the ISR; acks=all works with 2 and fails with 1; restarted, it catches up and rejoins', async (t) => {
  const cluster = await startTestCluster(t)
  const admin = await clientTo(t, cluster, 1)
  await createTopic(admin, 'crash', { replicationFactor: 3, configs: TOPIC_CONFIGS })
  const leader = await leaderOf(cluster, 'crash')
  const [f1, f2] = partitionOn(cluster, leader, 'crash').replicas.filter((id) => id !== leader) as [number, number]
  const client = await clientTo(t, cluster, leader)
  let next = 0
  const write = async (acks = -1): Promise<number> => {
    const r = await produce(client, 'crash', batchOf(3, { from: next }), { acks })
    if (r.errorCode === ErrorCode.NONE) next += 3
    return r.errorCode
  }
  for (let i = 0; i < 5; i++) assert.equal(await write(), ErrorCode.NONE)
  await cluster.kill(f1)
  await waitFor('f1 out of the ISR', () => !partitionOn(cluster, leader, 'crash').isr.includes(f1))
  for (let i = 0; i < 5; i++) assert.equal(await write(), ErrorCode.NONE)
  await cluster.kill(f2)
  await waitFor('f2 out of the ISR', () => !partitionOn(cluster, leader, 'crash').isr.includes(f2))
  assert.equal(await write(), ErrorCode.NOT_ENOUGH_REPLICAS)
  // acks=1 still lands on the leader alone.
  assert.equal(await write(1), ErrorCode.NONE)
  await cluster.start(f1)
  await cluster.start(f2)
  await waitFor('both back in the ISR', () => partitionOn(cluster, leader, 'crash').isr.length === 3, 15000)
  assert.equal(await write(), ErrorCode.NONE)
  const bytes = await assertReplicasIdentical(cluster, 'crash')
  assert.ok(bytes.length > 0)
  assert.equal(partitionOn(cluster, f1, 'crash').log.logEndOffset, next)
})

test('a crashed leader is replaced from the ISR; its unreplicated tail is truncated when it returns (KIP-101)', async (t) => {
  const cluster = await startTestCluster(t)
  const admin = await clientTo(t, cluster, 1)
  await createTopic(admin, 'diverge', { replicationFactor: 3, configs: TOPIC_CONFIGS })
  const oldLeader = await leaderOf(cluster, 'diverge')
  const followers = partitionOn(cluster, oldLeader, 'diverge').replicas.filter((id) => id !== oldLeader)
  const c1 = await clientTo(t, cluster, oldLeader)
  await produceOk(c1, 'diverge', batchOf(10), { acks: -1 })
  await assertReplicasIdentical(cluster, 'diverge')
  // The followers stop copying; the leader takes 3 more records with acks=1 that no one else has.
  for (const id of followers) await cluster.broker(id).replicaManager.stop()
  await produceOk(c1, 'diverge', batchOf(3, { from: 100 }), { acks: 1 })
  assert.equal(partitionOn(cluster, oldLeader, 'diverge').log.logEndOffset, 13)
  assert.equal(partitionOn(cluster, oldLeader, 'diverge').highWatermark, 10)
  const oldEpoch = partitionOn(cluster, oldLeader, 'diverge').leaderEpoch
  await cluster.kill(oldLeader)
  for (const id of followers) cluster.broker(id).replicaManager.start()
  const newLeader = await leaderOf(cluster, 'diverge')
  assert.ok(followers.includes(newLeader))
  const np = partitionOn(cluster, newLeader, 'diverge')
  assert.ok(np.leaderEpoch > oldEpoch)
  // The new leader writes different records at offsets 10..13.
  const c2 = await clientTo(t, cluster, newLeader)
  const base = await produceOk(c2, 'diverge', batchOf(4, { from: 200 }), { acks: -1 })
  assert.equal(base, 10)
  // The new leader's answer to OffsetForLeaderEpoch: the old epoch ended at 10.
  const answer = await c2.request(OffsetForLeaderEpochApi, 4, {
    replicaId: oldLeader,
    topics: [{ topic: 'diverge', partitions: [{ partition: 0, currentLeaderEpoch: np.leaderEpoch, leaderEpoch: oldEpoch }] }]
  })
  assert.deepEqual({ ...answer.topics[0]!.partitions[0]!, unknownTaggedFields: undefined }, {
    errorCode: ErrorCode.NONE, partition: 0, leaderEpoch: oldEpoch, endOffset: 10n, unknownTaggedFields: undefined
  })
  // The old leader returns as a follower: it cuts 10..12 and copies the new leader's 10..13.
  await cluster.start(oldLeader)
  const leaderBytes = await assertReplicasIdentical(cluster, 'diverge')
  const records = await readAll(cluster, c2, 'diverge')
  assert.deepEqual(records.map((r) => r.offset), Array.from({ length: 14 }, (_, i) => i))
  assert.deepEqual(records.slice(10).map((r) => r.value), ['v200', 'v201', 'v202', 'v203'])
  assert.ok(!records.some((r) => r.value === 'v100'), 'the unreplicated acks=1 records are gone')
  const back = partitionOn(cluster, oldLeader, 'diverge').log
  assert.equal(back.logEndOffset, 14)
  assert.ok(leaderBytes.length > 0)
  assert.deepEqual(back.leaderEpochCache.entries, np.log.leaderEpochCache.entries)
})

test('leader killed while producers write with acks=all: every acknowledged record is there, in order, on every replica', async (t) => {
  const cluster = await startTestCluster(t)
  const admin = await clientTo(t, cluster, 1)
  await createTopic(admin, 'steady', { replicationFactor: 3, configs: TOPIC_CONFIGS })
  const acked: string[] = []
  let stop = false
  let n = 0
  // A raw producer that follows the leader: on NOT_LEADER_OR_FOLLOWER or a broken connection it
  // looks the leader up again and resends (at-least-once; the values are unique).
  const writer = (async () => {
    let client: RawClient | undefined
    let target = -1
    while (!stop) {
      try {
        const leader = await leaderOf(cluster, 'steady')
        if (client === undefined || target !== leader || client.isClosed) {
          client?.close()
          client = await connectRaw(cluster.bootstrap[leader - 1]!)
          target = leader
        }
        const value = n
        const r = await produce(client, 'steady', batchOf(1, { from: value }), { acks: -1 })
        if (r.errorCode === ErrorCode.NONE) {
          acked.push(`v${value}`)
          n++
        } else {
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
      } catch {
        client?.close()
        client = undefined
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
    client?.close()
  })()
  await waitFor('some writes', () => acked.length >= 50)
  const first = await leaderOf(cluster, 'steady')
  await cluster.kill(first)
  const failedAt = acked.length
  await waitFor('writes after the failover', () => acked.length >= failedAt + 50, 20000)
  await cluster.start(first)
  await waitFor('more writes', () => acked.length >= failedAt + 100, 20000)
  stop = true
  await writer
  await assertReplicasIdentical(cluster, 'steady')
  const leader = await leaderOf(cluster, 'steady')
  const reader = await clientTo(t, cluster, leader)
  const values = (await readAll(cluster, reader, 'steady')).map((r) => r.value!)
  // In order and none lost: the acknowledged values appear in acknowledgement order.
  let at = 0
  for (const v of acked) {
    at = values.indexOf(v, at)
    assert.ok(at >= 0, `acknowledged ${v} is missing`)
  }
})

test('a follower that comes back behind the leader\'s log start (DeleteRecords meanwhile) starts over there', async (t) => {
  const cluster = await startTestCluster(t)
  const admin = await clientTo(t, cluster, 1)
  await createTopic(admin, 'trimmed', { replicationFactor: 3 })
  const leader = await leaderOf(cluster, 'trimmed')
  const [f1] = partitionOn(cluster, leader, 'trimmed').replicas.filter((id) => id !== leader) as [number]
  const client = await clientTo(t, cluster, leader)
  await produceOk(client, 'trimmed', batchOf(10), { acks: -1 })
  await cluster.kill(f1)
  await waitFor('f1 out of the ISR', () => !partitionOn(cluster, leader, 'trimmed').isr.includes(f1))
  // One batch of 10 (offsets 10..19); the log start then moves into its middle.
  await produceOk(client, 'trimmed', batchOf(10, { from: 10 }), { acks: -1 })
  const deleted = await client.request(DeleteRecordsApi, 2, { topics: [{ name: 'trimmed', partitions: [{ partitionIndex: 0, offset: 15n }] }], timeoutMs: 5000 })
  assert.equal(deleted.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE)
  assert.equal(deleted.topics[0]!.partitions[0]!.lowWatermark, 15n)
  await cluster.start(f1)
  await waitFor('f1 back in the ISR', () => partitionOn(cluster, leader, 'trimmed').isr.includes(f1))
  await assertReplicasIdentical(cluster, 'trimmed')
  for (const id of cluster.nodeIds) {
    const log = partitionOn(cluster, id, 'trimmed').log
    assert.equal(log.logStartOffset, 15, `log start of replica ${id}`)
    assert.equal(log.logEndOffset, 20)
  }
})

test('a replica that led an epoch without writing in it drops that epoch when it follows again, and rejoins the ISR', async (t) => {
  const cluster = await startTestCluster(t)
  const admin = await clientTo(t, cluster, 1)
  await createTopic(admin, 'empty-epoch', { replicationFactor: 3 })
  const first = await leaderOf(cluster, 'empty-epoch')
  const c1 = await clientTo(t, cluster, first)
  await produceOk(c1, 'empty-epoch', batchOf(5), { acks: -1 })
  await assertReplicasIdentical(cluster, 'empty-epoch')
  await cluster.kill(first)
  // The next leader starts its epoch (an epoch-cache entry at its log end) and dies before any write.
  const second = await leaderOf(cluster, 'empty-epoch')
  const emptyEpoch = partitionOn(cluster, second, 'empty-epoch').leaderEpoch
  assert.equal(partitionOn(cluster, second, 'empty-epoch').log.leaderEpochCache.latestEpoch, emptyEpoch)
  await cluster.kill(second)
  const third = await leaderOf(cluster, 'empty-epoch')
  const c3 = await clientTo(t, cluster, third)
  await produceOk(c3, 'empty-epoch', batchOf(5, { from: 5 }), { acks: -1 })
  await cluster.start(second)
  await cluster.start(first)
  await waitFor('every replica back in the ISR', () => partitionOn(cluster, third, 'empty-epoch').isr.length === 3, 15000)
  await assertReplicasIdentical(cluster, 'empty-epoch')
  // The epoch no one wrote in is gone from the replica that began it.
  assert.ok(!partitionOn(cluster, second, 'empty-epoch').log.leaderEpochCache.entries.some((e) => e.epoch === emptyEpoch))
})
