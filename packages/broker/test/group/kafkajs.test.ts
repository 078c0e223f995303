// kafkajs 2.2.4 consumer groups end to end: three members share a 6-partition topic (two
// partitions each); one leaves, one is killed without leaving and the survivor takes its
// partitions once the session timeout expires; committed offsets mean no record is skipped;
// after a broker restart the group and its offsets are back and a new consumer resumes from the
// commits.
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { test } from 'node:test'
import { type Consumer, Kafka, logLevel } from 'kafkajs'
import { startBroker } from '@samsa/testkit'
import { waitFor } from './helpers.ts'

const SESSION_TIMEOUT = 6000

interface Member {
  name: string
  assignment: number[]
  seen: Array<{ partition: number, offset: number }>
  joins: Array<{ at: number, partitions: number[] }>
}

function member (name: string): Member {
  return { name, assignment: [], seen: [], joins: [] }
}

async function startConsumer (kafka: Kafka, m: Member, groupId: string, topic: string): Promise<Consumer> {
  const consumer = kafka.consumer({ groupId, sessionTimeout: SESSION_TIMEOUT, heartbeatInterval: 500, maxWaitTimeInMs: 200, rebalanceTimeout: 10000 })
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    m.assignment = (e.payload.memberAssignment[topic] ?? []).slice().sort((a, b) => a - b)
    m.joins.push({ at: Date.now(), partitions: m.assignment })
  })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({ autoCommitInterval: 100, eachMessage: async ({ partition, message }) => { m.seen.push({ partition, offset: Number(message.offset) }); await Promise.resolve() } })
  return consumer
}

function startChild (bootstrap: string, m: Member, groupId: string, topic: string): ChildProcess {
  const child = spawn(process.execPath, [new URL('./fixtures/kafkajs-member.mjs', import.meta.url).pathname, bootstrap, groupId, topic], { stdio: ['ignore', 'pipe', 'inherit'] })
  let buffered = ''
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString()
    let nl: number
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 1)
      const e = JSON.parse(line) as { event: string, assignment?: Record<string, number[]>, partition?: number, offset?: number }
      if (e.event === 'join') {
        m.assignment = (e.assignment![topic] ?? []).slice().sort((a, b) => a - b)
        m.joins.push({ at: Date.now(), partitions: m.assignment })
      } else if (e.event === 'message') {
        m.seen.push({ partition: e.partition!, offset: e.offset! })
      }
    }
  })
  return child
}

test('kafkajs: 3 members x 2 partitions; leave, crash and take-over; no record skipped; restart resumes from commits', { timeout: 60_000 }, async (t) => {
  const b = await startBroker()
  // kafkajs clients must go before the broker (they retry forever against a stopped one).
  const cleanups: Array<() => Promise<unknown>> = []
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) await Promise.race([cleanup().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 5000))])
    await b.stop()
  })
  const kafka = new Kafka({ brokers: [b.bootstrap], clientId: 'kafkajs-group-test', logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  cleanups.push(async () => await admin.disconnect())
  const topic = 'orders'
  const groupId = 'kafkajs-group'
  await admin.createTopics({ topics: [{ topic, numPartitions: 6 }] })
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  cleanups.push(async () => await producer.disconnect())
  let produced = 0
  const produce = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      await producer.send({ topic, messages: [{ value: `m${produced}` }].map((x) => ({ ...x, partition: produced % 6 })) })
      produced++
    }
  }
  await produce(60)

  const a = member('a')
  const bm = member('b')
  const c = member('c')
  const consumerA = await startConsumer(kafka, a, groupId, topic)
  cleanups.push(async () => await consumerA.disconnect())
  const consumerB = await startConsumer(kafka, bm, groupId, topic)
  cleanups.push(async () => await consumerB.disconnect())
  const child = startChild(b.bootstrap, c, groupId, topic)
  cleanups.push(async () => await Promise.resolve(child.kill('SIGKILL')))

  const owned = (...ms: Member[]): number[] => ms.flatMap((m) => m.assignment).sort((x, y) => x - y)
  await waitFor('three members with two partitions each', () =>
    [a, bm, c].every((m) => m.assignment.length === 2) && owned(a, bm, c).join() === '0,1,2,3,4,5', 30_000)
  const described = await admin.describeGroups([groupId])
  assert.equal(described.groups[0]!.state, 'Stable')
  assert.equal(described.groups[0]!.members.length, 3)

  // b leaves cleanly (LeaveGroup): a and c share the six partitions.
  await consumerB.disconnect()
  await waitFor('a and c to take b\'s partitions', () => a.assignment.length === 3 && c.assignment.length === 3 && owned(a, c).join() === '0,1,2,3,4,5', 20_000)
  await produce(60)

  // c is killed: no LeaveGroup. a gets everything once c's session times out.
  const killedAt = Date.now()
  child.kill('SIGKILL')
  await waitFor('a to own every partition', () => a.assignment.length === 6, SESSION_TIMEOUT + 10_000)
  const takeover = a.joins.at(-1)!.at - killedAt
  assert.ok(takeover <= SESSION_TIMEOUT + 5000, `take-over after ${takeover} ms`)
  t.diagnostic(`take-over after a crash: ${takeover} ms (session timeout ${SESSION_TIMEOUT} ms)`)
  await produce(60)

  // Nothing was skipped: every offset of every partition was seen by someone.
  const total = (): number => new Set([a, bm, c].flatMap((m) => m.seen.map((s) => `${s.partition}:${s.offset}`))).size
  await waitFor('every record consumed', () => total() === produced, 20_000)
  const deliveries = [a, bm, c].reduce((n, m) => n + m.seen.length, 0)
  t.diagnostic(`${produced} records, ${deliveries} deliveries (${deliveries - produced} redelivered after the crash)`)
  await waitFor('every offset committed', async () => {
    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] })
    return offsets[0]!.partitions.every((p) => Number(p.offset) === produced / 6)
  }, 10_000)
  await consumerA.disconnect()

  // Restart: the group and its offsets are back; a new consumer resumes from the commits.
  await b.restart()
  const admin2 = kafka.admin()
  await admin2.connect()
  cleanups.push(async () => await admin2.disconnect())
  const after = await admin2.fetchOffsets({ groupId, topics: [topic] })
  assert.deepEqual(after[0]!.partitions.map((p) => Number(p.offset)), [produced / 6, produced / 6, produced / 6, produced / 6, produced / 6, produced / 6])
  assert.deepEqual((await admin2.listGroups()).groups.map((g) => g.groupId), [groupId])
  const before = produced
  await produce(12)
  const d = member('d')
  const consumerD = await startConsumer(kafka, d, groupId, topic)
  cleanups.push(async () => await consumerD.disconnect())
  await waitFor('d to consume the new records', () => d.seen.length >= 12, 20_000)
  await new Promise((resolve) => setTimeout(resolve, 300))
  assert.ok(d.seen.every((s) => s.offset >= before / 6), 'nothing committed before the restart is consumed again')
  assert.equal(d.seen.length, 12)
})

test('kafkajs: the broker restarts in the middle of a rebalance; the consumers recover and finish it', { timeout: 60_000 }, async (t) => {
  const b = await startBroker()
  const cleanups: Array<() => Promise<unknown>> = []
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) await Promise.race([cleanup().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 5000))])
    await b.stop()
  })
  const kafka = new Kafka({ brokers: [b.bootstrap], clientId: 'kafkajs-restart-test', logLevel: logLevel.NOTHING, retry: { initialRetryTime: 100, retries: 20 } })
  const admin = kafka.admin()
  await admin.connect()
  cleanups.push(async () => await admin.disconnect())
  const topic = 'restart-topic'
  const groupId = 'restart-group'
  await admin.createTopics({ topics: [{ topic, numPartitions: 6 }] })
  const members = [member('x'), member('y'), member('z')]
  for (const m of members.slice(0, 2)) {
    const consumer = await startConsumer(kafka, m, groupId, topic)
    cleanups.push(async () => await consumer.disconnect())
  }
  await waitFor('two members, three partitions each', () => members[0]!.assignment.length === 3 && members[1]!.assignment.length === 3, 30_000)
  // A third member starts a rebalance; the broker restarts before it can finish.
  const third = await startConsumer(kafka, members[2]!, groupId, topic)
  cleanups.push(async () => await third.disconnect())
  await b.restart()
  await waitFor('three members with two partitions each after the restart', () =>
    members.every((m) => m.assignment.length === 2) && members.flatMap((m) => m.assignment).sort().join() === '0,1,2,3,4,5', 40_000)
  const producer = kafka.producer()
  await producer.connect()
  cleanups.push(async () => await producer.disconnect())
  await producer.send({ topic, messages: Array.from({ length: 12 }, (_, i) => ({ value: `after-${i}`, partition: i % 6 })) })
  await waitFor('the records produced after the restart', () => members.reduce((n, m) => n + m.seen.length, 0) >= 12, 20_000)
})
