// kafkajs 2.2.4 against a three-broker cluster: it discovers every broker and the controller,
// creates a replicated topic through the controller, and when a partition's leadership moves
// while its metadata still names the old leader, the old leader answers NOT_LEADER_OR_FOLLOWER
// and the producer refreshes its metadata and carries on; a consumer reads every record back.
import assert from 'node:assert/strict'
import test from 'node:test'
import { Kafka, type LogEntry, logLevel } from 'kafkajs'
import { AlterPartitionReassignmentsApi, ElectLeadersApi, ErrorCode } from '@samsa/protocol'
import { connectRaw, startCluster } from '@samsa/testkit'

test('kafkajs sees all brokers, and its producer recovers from NOT_LEADER_OR_FOLLOWER after a leader change', async (t) => {
  const cluster = await startCluster({ brokers: 3, config: { 'auto.leader.rebalance.enable': false } })
  // Clients leave first (a consumer leaving a stopped cluster would retry for a long time).
  const clients: Array<() => Promise<void>> = []
  t.after(async () => {
    for (const close of clients.reverse()) await close().catch(() => undefined)
    await cluster.stop()
  })
  const logs: LogEntry[] = []
  const kafka = new Kafka({
    clientId: 'cluster-test',
    brokers: cluster.bootstrap.split(','),
    logLevel: logLevel.DEBUG,
    logCreator: () => (entry) => { logs.push(entry) },
    retry: { initialRetryTime: 50, retries: 10 }
  })
  const admin = kafka.admin()
  await admin.connect()
  clients.push(async () => await admin.disconnect())
  const described = await admin.describeCluster()
  assert.deepEqual(described.brokers.map((b) => b.nodeId).sort(), [1, 2, 3])
  assert.deepEqual(described.brokers.map((b) => b.port).sort(), cluster.brokers.map((b) => b.port).sort())
  assert.equal(described.controller, cluster.controller()!.nodeId)

  assert.equal(await admin.createTopics({ topics: [{ topic: 'kjs', replicaAssignment: [{ partition: 0, replicas: [1, 2, 3] }, { partition: 1, replicas: [2, 3, 1] }] }], waitForLeaders: true }), true)
  const meta = await admin.fetchTopicMetadata({ topics: ['kjs'] })
  const partitions = meta.topics[0]!.partitions.sort((a, b) => a.partitionId - b.partitionId)
  assert.deepEqual(partitions.map((p) => [p.leader, p.replicas]), [[1, [1, 2, 3]], [2, [2, 3, 1]]])

  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false })
  await producer.connect()
  clients.push(async () => await producer.disconnect())
  const send = async (from: number, count: number): Promise<void> => {
    for (let i = from; i < from + count; i++) {
      // One partition per send(): kafkajs 2.2.4 retries a send only to brokers that have not
      // answered it yet, so a record whose partition moved to a broker that had answered is
      // dropped without an error (a two-partition send loses partition 0's record here).
      for (const partition of [0, 1]) await producer.send({ topic: 'kjs', acks: -1, messages: [{ partition, key: `k${i}`, value: `v${i}` }] })
    }
  }
  await send(0, 10)

  // Make broker 2 the preferred leader of partition 0 and elect it; broker 1 stays up, so the
  // producer's next send to partition 0 reaches broker 1 and is refused.
  const raw = await connectRaw(cluster.broker(3).bootstrap)
  clients.push(async () => { raw.close(); await Promise.resolve() })
  const moved = await raw.request(AlterPartitionReassignmentsApi, 0, { timeoutMs: 5000, topics: [{ name: 'kjs', partitions: [{ partitionIndex: 0, replicas: [2, 1, 3] }] }] })
  assert.equal(moved.responses[0]!.partitions[0]!.errorCode, ErrorCode.NONE)
  await cluster.waitFor(() => cluster.metadata!.partitionState('kjs', 0)!.isr.length === 3, 'a full ISR')
  const elected = await raw.request(ElectLeadersApi, 2, { electionType: 0, timeoutMs: 5000, topicPartitions: [{ topic: 'kjs', partitions: [0] }] })
  assert.equal(elected.replicaElectionResults[0]!.partitionResult[0]!.errorCode, ErrorCode.NONE)
  await cluster.waitFor(() => cluster.broker(1).broker.topics.anyPartition('kjs', 0)?.leaderId === 2, 'broker 1 to know it no longer leads')

  const before = logs.length
  await send(10, 10)
  // kafkajs names NOT_LEADER_OR_FOLLOWER (6) by its message.
  const refused = logs.slice(before).filter((e) => e.log.message.startsWith('Failed to send messages: This server is not the leader for that topic-partition'))
  assert.ok(refused.length > 0, 'the producer met NOT_LEADER_OR_FOLLOWER and retried')

  const after = await admin.fetchTopicMetadata({ topics: ['kjs'] })
  assert.equal(after.topics[0]!.partitions.find((p) => p.partitionId === 0)!.leader, 2)
  const offsets = await admin.fetchTopicOffsets('kjs')
  assert.deepEqual(offsets.map((o) => [o.partition, o.high]).sort(), [[0, '20'], [1, '20']])

  // Every record is there, in order, read from the current leaders.
  const consumer = kafka.consumer({ groupId: 'kjs-readers', maxWaitTimeInMs: 100 })
  await consumer.connect()
  clients.push(async () => await consumer.disconnect())
  await consumer.subscribe({ topic: 'kjs', fromBeginning: true })
  const seen: Record<number, string[]> = { 0: [], 1: [] }
  await consumer.run({ eachMessage: async ({ partition, message }) => { seen[partition]!.push(message.value!.toString()); await Promise.resolve() } })
  await cluster.waitFor(() => seen[0]!.length >= 20 && seen[1]!.length >= 20, 'the consumer to read 40 records', 30000)
  const expected = Array.from({ length: 20 }, (_, i) => `v${i}`)
  assert.deepEqual(seen[0], expected)
  assert.deepEqual(seen[1], expected)
})
