// Real processes: three `samsa start` brokers (the built CLI) sharing an etcd, a topic with
// replication factor 3 and min.insync.replicas 2, a kafkajs idempotent producer writing with
// acks=all while the brokers are killed with SIGKILL and restarted, one at a time, leaders
// included, several rounds. Afterwards every acknowledged record is read back at the offset it
// was acknowledged with, and every replica's log files hold the same bytes.
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { MetadataApi, ZERO_UUID } from '@samsa/protocol'
import { connectRaw, etcdAvailable, startEtcd } from '@samsa/testkit'
import { type SamsaProcess, startSamsa } from '../../../../compat/harness.ts'
import { closersFirst, waitFor } from './helpers.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const PARTITIONS = 3
const ROUNDS = 6

/** The concatenated .log files of a partition directory, in base-offset order. */
function partitionBytes (dataDir: string, topic: string, partition: number): Buffer {
  const dir = join(dataDir, `${topic}-${partition}`)
  const files = readdirSync(dir).filter((f) => f.endsWith('.log')).sort()
  return Buffer.concat(files.map((f) => readFileSync(join(dir, f))))
}

test('SIGKILL rounds against three broker processes on etcd: no acknowledged record lost, replicas identical', {
  timeout: 300_000, skip: etcdAvailable() ? false : 'etcd is not installed (Debian package etcd-server)'
}, async (t) => {
  const closers = closersFirst(t)
  const etcd = await startEtcd()
  const brokers: SamsaProcess[] = []
  // Brokers first (their clean shutdown talks to etcd), then etcd.
  t.after(async () => {
    for (const b of brokers) await b.stop().catch(() => undefined)
    await etcd.stop()
  })
  const config = (nodeId: number): Record<string, string | number> => ({
    'node.id': nodeId,
    'metadata.store': etcd.url,
    'broker.session.timeout.ms': 2000,
    'replica.fetch.wait.max.ms': 100,
    'replica.fetch.backoff.ms': 100,
    'replica.lag.time.max.ms': 5000,
    'offsets.topic.num.partitions': 3,
    'transaction.state.log.num.partitions': 3,
    'auto.create.topics.enable': 'false'
  })
  for (let id = 1; id <= 3; id++) brokers.push(await startSamsa({ config: config(id) }))
  const kafka = new Kafka({
    brokers: brokers.map((b) => b.bootstrap), clientId: 'sigkill', logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 100, retries: 100, maxRetryTime: 1000 }
  })
  const admin = kafka.admin()
  await admin.connect()
  closers.push(async () => await admin.disconnect())
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic: 'durable', numPartitions: PARTITIONS, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }]
  })
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  closers.push(async () => await producer.disconnect())
  const acked: Array<{ partition: number, offset: number, value: string }> = []
  let stop = false
  let n = 0
  let sends = 0
  // One partition per send() (see producers.test.ts: kafkajs' multi-broker retry skips partitions).
  const writing = (async () => {
    while (!stop) {
      const partition = sends++ % PARTITIONS
      const messages = Array.from({ length: 20 }, () => ({ partition, key: `k${n}`, value: `r${n++}` }))
      const [result] = await producer.send({ topic: 'durable', acks: -1, timeout: 30000, messages })
      messages.forEach((m, i) => acked.push({ partition, offset: Number(result!.baseOffset) + i, value: m.value }))
    }
  })()
  const failed: unknown[] = []
  writing.catch((error: unknown) => { failed.push(error) })
  const inSync = async (): Promise<boolean> => {
    const meta = await admin.fetchTopicMetadata({ topics: ['durable'] })
    return meta.topics[0]!.partitions.every((p) => p.isr.length === 3)
  }
  let leadersKilled = 0
  for (let round = 0; round < ROUNDS; round++) {
    const victim = brokers[round % 3]!
    const before = acked.length
    await waitFor('writes before the kill', () => acked.length >= before + 600 || failed.length > 0, 60000, 50)
    const meta = await admin.fetchTopicMetadata({ topics: ['durable'] })
    leadersKilled += meta.topics[0]!.partitions.filter((p) => p.leader === round % 3 + 1).length
    await victim.restart('kill')
    const after = acked.length
    await waitFor('writes after the restart', () => acked.length >= after + 600 || failed.length > 0, 60000, 50)
    try {
      await waitFor('every replica back in sync', async () => await inSync().catch(() => false), 60000, 200)
    } catch (error) {
      // What each broker saw, for the failure report.
      const meta = await admin.fetchTopicMetadata({ topics: ['durable'] }).catch(() => undefined)
      t.diagnostic(JSON.stringify(meta?.topics[0]?.partitions.map((p) => ({ p: p.partitionId, leader: p.leader, isr: p.isr }))))
      brokers.forEach((b, i) => t.diagnostic(`broker ${i + 1}:\n` + b.log().split('\n').filter((l) => /WARN|ERROR|ISR|Truncat|leader=/.test(l)).slice(-40).join('\n')))
      for (const b of brokers) {
        const raw = await connectRaw(b.bootstrap)
        const m = await raw.request(MetadataApi, 12, { ...MetadataApi.request.create(), topics: [{ topicId: ZERO_UUID, name: 'durable' }] })
        raw.close()
        t.diagnostic(`view of ${b.bootstrap}: ${JSON.stringify(m.topics[0]?.partitions.map((p) => [p.partitionIndex, p.leaderId, p.leaderEpoch, p.isrNodes]))}`)
      }
      throw error
    }
    assert.deepEqual(failed, [])
  }
  stop = true
  await writing
  assert.deepEqual(failed, [])
  assert.ok(leadersKilled >= ROUNDS / 2, `leaders were among the killed (${leadersKilled} leaderships)`)
  t.diagnostic(`${acked.length} records acknowledged over ${ROUNDS} SIGKILL rounds, ${leadersKilled} partition leaders killed`)
  // Read everything back with a read_uncommitted consumer of a new group.
  const consumer = kafka.consumer({ groupId: 'sigkill-reader', maxWaitTimeInMs: 100 })
  await consumer.connect()
  closers.push(async () => await consumer.disconnect())
  await consumer.subscribe({ topic: 'durable', fromBeginning: true })
  const log = new Map<string, string>()
  await consumer.run({ eachMessage: async ({ partition, message }) => { log.set(`${partition}/${message.offset}`, message.value!.toString()); await Promise.resolve() } })
  await waitFor('every acknowledged record read back', () => acked.every((a) => log.has(`${a.partition}/${a.offset}`)), 60000, 200)
  for (const a of acked) assert.equal(log.get(`${a.partition}/${a.offset}`), a.value)
  const values = [...log.values()]
  assert.equal(new Set(values).size, values.length, 'no record twice')
  // No more writes: the followers catch up, and then every replica's files hold the same bytes.
  for (let p = 0; p < PARTITIONS; p++) {
    await waitFor(`identical replicas of durable-${p}`, () => {
      const first = partitionBytes(brokers[0]!.dataDir, 'durable', p)
      return first.length > 0 && brokers.slice(1).every((b) => partitionBytes(b.dataDir, 'durable', p).equals(first))
    }, 20000, 200)
  }
})
