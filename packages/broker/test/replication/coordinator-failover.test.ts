// Coordinators in a cluster (kafkajs 2.2.4 as the client): `__consumer_offsets` and
// `__transaction_state` are replicated topics (replication factor 3 here), the group and
// transaction coordinators are the leaders of their partitions, and when that broker dies the new
// leader rebuilds the state from its replica: committed offsets survive, the group carries on, a
// transactional producer commits and aborts as before, and read_committed readers see exactly
// the committed transactions.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type Consumer, Kafka, logLevel } from 'kafkajs'
import { FindCoordinatorApi } from '@samsa/protocol'
import { connectRaw } from '@samsa/testkit'
import { type TestCluster, closersFirst, partitionOn, startTestCluster, waitFor } from './helpers.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

async function coordinatorOf (cluster: TestCluster, key: string, keyType: number): Promise<number> {
  const running = cluster.nodeIds.find((id) => cluster.isRunning(id))!
  const client = await connectRaw(cluster.bootstrap[running - 1]!)
  try {
    const r = await client.request(FindCoordinatorApi, 4, { key: '', keyType, coordinatorKeys: [key] })
    const c = r.coordinators[0]!
    assert.equal(c.errorCode, 0)
    return c.nodeId
  } finally {
    client.close()
  }
}

function kafkaFor (cluster: TestCluster, clientId: string): Kafka {
  return new Kafka({ brokers: cluster.bootstrap, clientId, logLevel: logLevel.NOTHING, retry: { initialRetryTime: 50, retries: 30, maxRetryTime: 1000 } })
}

test('consumer group across a coordinator failover: offsets survive, the group goes on', { timeout: 120_000 }, async (t) => {
  const closers = closersFirst(t)
  const cluster = await startTestCluster(t)
  const kafka = kafkaFor(cluster, 'group-failover')
  const admin = kafka.admin()
  await admin.connect()
  closers.push(async () => await admin.disconnect())
  await admin.createTopics({ topics: [{ topic: 'events', numPartitions: 3, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }] })
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  closers.push(async () => await producer.disconnect())
  const send = async (from: number, count: number): Promise<void> => {
    await producer.send({ topic: 'events', acks: -1, messages: Array.from({ length: count }, (_, i) => ({ key: `k${from + i}`, value: `m${from + i}` })) })
  }
  await send(0, 30)
  const seen = new Set<string>()
  const consumer: Consumer = kafka.consumer({ groupId: 'g1', sessionTimeout: 6000, heartbeatInterval: 300, maxWaitTimeInMs: 100, rebalanceTimeout: 10000 })
  await consumer.connect()
  closers.push(async () => await consumer.disconnect())
  await consumer.subscribe({ topic: 'events', fromBeginning: true })
  await consumer.run({
    autoCommitInterval: 100,
    eachMessage: async ({ message }) => {
      seen.add(message.value!.toString())
      await Promise.resolve()
    }
  })
  await waitFor('the first 30 records', () => seen.size >= 30, 30000)
  const committed = async (): Promise<number> => {
    const offsets = await admin.fetchOffsets({ groupId: 'g1', topics: ['events'] })
    return offsets[0]!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0)
  }
  await waitFor('30 committed', async () => (await committed()) === 30, 20000, 100)
  const before = await coordinatorOf(cluster, 'g1', 0)
  // The offsets topic is replicated 3 ways, as offsets.topic.replication.factor asks.
  assert.equal(partitionOn(cluster, before, '__consumer_offsets', 0).replicas.length, 3)
  await cluster.kill(before)
  const after = await waitFor('a new coordinator', async () => {
    const id = await coordinatorOf(cluster, 'g1', 0)
    return id !== before && id > 0 ? id : undefined
  })
  await send(30, 30)
  await waitFor('all 60 records', () => seen.size >= 60, 60000, 100)
  await waitFor('60 committed on the new coordinator', async () => (await committed()) === 60, 30000, 200)
  // The new coordinator rebuilt the group from its replica of the partition.
  const groups = cluster.broker(after).groupCoordinator
  assert.equal(groups.groupError('g1'), 0)
  await consumer.disconnect()
  // A new member of the group resumes from the commits: nothing before them again.
  const again = new Set<string>()
  const second = kafka.consumer({ groupId: 'g1', sessionTimeout: 6000, heartbeatInterval: 300, maxWaitTimeInMs: 100 })
  await second.connect()
  closers.push(async () => await second.disconnect())
  await second.subscribe({ topic: 'events', fromBeginning: true })
  await second.run({ eachMessage: async ({ message }) => { again.add(message.value!.toString()); await Promise.resolve() } })
  await send(60, 3)
  await waitFor('the 3 new records', () => again.size >= 3, 30000, 100)
  await new Promise((resolve) => setTimeout(resolve, 300))
  assert.deepEqual([...again].sort(), ['m60', 'm61', 'm62'])
})

test('transactions across a transaction coordinator failover: commits visible, aborts not', { timeout: 120_000 }, async (t) => {
  const closers = closersFirst(t)
  const cluster = await startTestCluster(t)
  const kafka = kafkaFor(cluster, 'txn-failover')
  const admin = kafka.admin()
  await admin.connect()
  closers.push(async () => await admin.disconnect())
  await admin.createTopics({ topics: [{ topic: 'tx', numPartitions: 3, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }] })
  // A group coordinated by another broker than the transaction: offsets and markers cross brokers.
  const txnCoordinator = await coordinatorOf(cluster, 'tx-1', 1)
  let group = ''
  for (let i = 0; group === ''; i++) if (await coordinatorOf(cluster, `ctp-${i}`, 0) !== txnCoordinator) group = `ctp-${i}`
  const producer = kafka.producer({ transactionalId: 'tx-1', idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  closers.push(async () => await producer.disconnect())
  const transaction = async (from: number, commit: boolean): Promise<void> => {
    const txn = await producer.transaction()
    await txn.send({ topic: 'tx', messages: Array.from({ length: 5 }, (_, i) => ({ key: `k${from + i}`, value: `${commit ? 'c' : 'a'}${from + i}` })) })
    // A transactional offset commit too (AddOffsetsToTxn, TxnOffsetCommit to the group coordinator).
    await txn.sendOffsets({ consumerGroupId: group, topics: [{ topic: 'tx', partitions: [{ partition: 0, offset: String(from + 5) }] }] })
    if (commit) await txn.commit()
    else await txn.abort()
  }
  await transaction(0, true)
  await transaction(5, false)
  const before = await coordinatorOf(cluster, 'tx-1', 1)
  assert.equal(partitionOn(cluster, before, '__transaction_state', 0).replicas.length, 3)
  await cluster.kill(before)
  await waitFor('a new transaction coordinator', async () => {
    const id = await coordinatorOf(cluster, 'tx-1', 1)
    return id !== before && id > 0 ? id : undefined
  })
  await transaction(10, true)
  await transaction(15, false)
  await transaction(20, true)
  const reader = kafka.consumer({ groupId: 'tx-reader', maxWaitTimeInMs: 100, readUncommitted: false })
  await reader.connect()
  closers.push(async () => await reader.disconnect())
  await reader.subscribe({ topic: 'tx', fromBeginning: true })
  const values: string[] = []
  await reader.run({ eachMessage: async ({ message }) => { values.push(message.value!.toString()); await Promise.resolve() } })
  await waitFor('15 committed records', () => values.length >= 15, 30000, 100)
  await new Promise((resolve) => setTimeout(resolve, 500))
  const expected = [0, 10, 20].flatMap((from) => Array.from({ length: 5 }, (_, i) => `c${from + i}`))
  assert.deepEqual(values.sort(), expected.sort())
  // The group's offset is the last committed transaction's; aborted ones left no trace.
  const offsets = await admin.fetchOffsets({ groupId: group, topics: ['tx'] })
  assert.equal(offsets[0]!.partitions.find((p) => p.partition === 0)!.offset, '25')
})
