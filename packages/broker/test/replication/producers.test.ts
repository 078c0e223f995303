// Real producers (Samsa's client and kafkajs 2.2.4, both idempotent, acks=all) writing
// continuously to a topic with replication factor 3 and min.insync.replicas 2 while brokers are
// killed and restarted one at a time, leaders included: every acknowledged record is read back
// afterwards, once, at the offset it was acknowledged with, and all replicas end byte-identical.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { Producer } from '@samsa/client'
import { ErrorCode } from '@samsa/protocol'
import { connectRaw } from '@samsa/testkit'
import { createTopic, decodeRecords, fetchOne } from '../helpers.ts'
import { type TestCluster, assertReplicasIdentical, closersFirst, leaderOf, startTestCluster, waitFor } from './helpers.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const PARTITIONS = 3

interface Acked { partition: number, offset: number, value: string }

/** Kills (then restarts) the leader of partition `round % PARTITIONS`, `rounds` times, while writes go on. */
async function killLeaders (cluster: TestCluster, topic: string, rounds: number, acked: Acked[]): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    const leader = await leaderOf(cluster, topic, round % PARTITIONS)
    const before = acked.length
    await waitFor('writes before the kill', () => acked.length >= before + 100, 20000)
    await cluster.kill(leader)
    const killedAt = acked.length
    await waitFor('writes with the broker down', () => acked.length >= killedAt + 100, 30000)
    await cluster.start(leader)
    // Back in every ISR before the next round, so min.insync.replicas holds when the next one dies.
    for (let p = 0; p < PARTITIONS; p++) {
      await waitFor('the restarted broker in sync', async () => {
        const l = await leaderOf(cluster, topic, p)
        return cluster.broker(l).topics.anyPartition(topic, p)!.isr.length === 3
      }, 20000)
    }
  }
}

async function readBack (cluster: TestCluster, topic: string): Promise<Map<number, Map<number, string>>> {
  const out = new Map<number, Map<number, string>>()
  for (let p = 0; p < PARTITIONS; p++) {
    await assertReplicasIdentical(cluster, topic, p, 20000)
    const leader = await leaderOf(cluster, topic, p)
    const client = await connectRaw(cluster.bootstrap[leader - 1]!)
    const records = new Map<number, string>()
    let offset = 0
    for (;;) {
      const data = await fetchOne(client, { topic, partition: p, offset, maxBytes: 4 * 1024 * 1024 })
      assert.equal(data.errorCode, ErrorCode.NONE)
      const batch = decodeRecords(data.records)
      for (const r of batch) if (r.offset >= offset) records.set(r.offset, r.value!)
      if (batch.length === 0 || offset >= Number(data.highWatermark)) break
      offset = batch.at(-1)!.offset + 1
    }
    client.close()
    out.set(p, records)
  }
  return out
}

function assertAllThere (acked: Acked[], log: Map<number, Map<number, string>>): void {
  assert.ok(acked.length > 0)
  for (const a of acked) {
    assert.equal(log.get(a.partition)?.get(a.offset), a.value, `acknowledged ${a.value} at ${a.partition}/${a.offset}`)
  }
  // Idempotence: no value twice.
  const all = [...log.values()].flatMap((m) => [...m.values()])
  assert.equal(new Set(all).size, all.length, 'no record written twice')
}

test('Samsa client producer (idempotent, acks=all) across leader kills: nothing acknowledged is lost', { timeout: 180_000 }, async (t) => {
  const closers = closersFirst(t)
  const cluster = await startTestCluster(t)
  const admin = await connectRaw(cluster.bootstrap[0]!)
  t.after(() => admin.close())
  await createTopic(admin, 'ours', { partitions: PARTITIONS, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } })
  const producer = new Producer({
    bootstrapServers: cluster.bootstrap.join(','), acks: -1, idempotent: true, lingerMs: 2, retryBackoffMs: 20, retryBackoffMaxMs: 200,
    reconnectBackoffMaxMs: 200, deliveryTimeoutMs: 60000
  })
  closers.push(async () => await producer.close())
  const acked: Acked[] = []
  let stop = false
  let n = 0
  const writing = (async () => {
    while (!stop) {
      const batch = Array.from({ length: 10 }, () => ({ topic: 'ours', key: `k${n % 30}`, value: `ours-${n++}` }))
      const results = await Promise.all(batch.map(async (r) => await producer.send(r)))
      results.forEach((m, i) => acked.push({ partition: m.partition, offset: Number(m.offset), value: batch[i]!.value }))
    }
  })()
  const failed: unknown[] = []
  writing.catch((error: unknown) => { failed.push(error) })
  await killLeaders(cluster, 'ours', 6, acked)
  stop = true
  await writing
  assert.deepEqual(failed, [])
  await producer.flush()
  assertAllThere(acked, await readBack(cluster, 'ours'))
})

test('kafkajs producer (idempotent, acks=all) across leader kills: nothing acknowledged is lost', { timeout: 180_000 }, async (t) => {
  const closers = closersFirst(t)
  const cluster = await startTestCluster(t)
  const admin = await connectRaw(cluster.bootstrap[0]!)
  t.after(() => admin.close())
  await createTopic(admin, 'kjs', { partitions: PARTITIONS, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } })
  const kafka = new Kafka({ brokers: cluster.bootstrap, clientId: 'kjs', logLevel: logLevel.NOTHING, retry: { initialRetryTime: 50, retries: 50, maxRetryTime: 500 } })
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  closers.push(async () => await producer.disconnect())
  const acked: Acked[] = []
  let stop = false
  let n = 0
  let sends = 0
  // One partition per send(): kafkajs 2.2.4 retries a multi-broker send only to brokers that
  // have not answered yet, so a partition whose leader moved to a broker that had answered is
  // silently skipped (its sequence then repeats, and any broker refuses it with
  // OUT_OF_ORDER_SEQUENCE_NUMBER, as Kafka does). Single-partition sends avoid that client bug.
  const writing = (async () => {
    while (!stop) {
      const partition = sends++ % PARTITIONS
      const messages = Array.from({ length: 10 }, () => ({ partition, key: `k${n % 30}`, value: `kjs-${n++}` }))
      const result = await producer.send({ topic: 'kjs', acks: -1, messages })
      assert.equal(result.length, 1)
      messages.forEach((m, i) => acked.push({ partition, offset: Number(result[0]!.baseOffset) + i, value: m.value }))
    }
  })()
  const failed: unknown[] = []
  writing.catch((error: unknown) => { failed.push(error) })
  await killLeaders(cluster, 'kjs', 6, acked)
  stop = true
  await writing
  assert.deepEqual(failed, [])
  assertAllThere(acked, await readBack(cluster, 'kjs'))
})
