/**
 * The admin client against an in-process Samsa broker. Group and transaction calls run once
 * the broker advertises their APIs (skipped with the reason until then).
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import {
  ConsumerGroupDescribeApi, ConsumerGroupHeartbeatApi, DeleteGroupsApi, DescribeProducersApi, DescribeTransactionsApi, FindCoordinatorApi,
  ListGroupsApi, ListTransactionsApi, OffsetCommitApi, OffsetDeleteApi, OffsetFetchApi, ZERO_UUID
} from '@samsa/protocol'
import { type TestBroker, startBroker } from '@samsa/testkit'
import { Admin } from '../src/admin/admin.ts'
import { CoordinatorType } from '../src/cluster.ts'
import { ConfigResourceType } from '../src/admin/configs.ts'
import { KafkaClosedError, KafkaPartialFailureError, type KafkaResponseError } from '../src/errors.ts'
import { Producer } from '../src/producer/producer.ts'
import { missingApis, readAll, uniqueTopic } from './helpers.ts'

let broker: TestBroker
let admin: Admin

before(async () => {
  broker = await startBroker({ config: { 'auto.create.topics.enable': false } })
  admin = new Admin({ bootstrapServers: broker.bootstrap })
})

after(async () => {
  await admin.close()
  await broker.stop()
})

async function produce (topic: string, count: number, partitions = 1): Promise<void> {
  const p = new Producer({ bootstrapServers: broker.bootstrap, lingerMs: 0 })
  await p.send(Array.from({ length: count }, (_, i) => ({ topic, partition: i % partitions, value: `v${i}`, timestamp: 1_000_000 + i * 1000 })))
  await p.close()
}

test('create topics with configs, validateOnly, and per-topic failures kept in a partial result', async () => {
  const a = uniqueTopic('admin-a')
  const b = uniqueTopic('admin-b')
  const validated = await admin.createTopics([{ name: a, numPartitions: 3, configs: { 'retention.ms': 3_600_000 } }], { validateOnly: true })
  assert.equal(validated[0]!.name, a)
  assert.ok(!(await admin.listTopics()).includes(a), 'validateOnly creates nothing')
  const created = await admin.createTopics([
    { name: a, numPartitions: 3, configs: { 'retention.ms': 3_600_000, 'cleanup.policy': 'compact' } },
    { name: b }
  ])
  assert.deepEqual(created.map((t) => t.name), [a, b])
  assert.equal(created[0]!.numPartitions, 3)
  assert.notEqual(created[0]!.topicId, ZERO_UUID)
  assert.equal(created[0]!.configs.find((c) => c.name === 'retention.ms')?.value, '3600000')
  await assert.rejects(admin.createTopics([{ name: a }, { name: uniqueTopic('admin-c'), numPartitions: 2 }]), (e: unknown) => {
    assert.ok(e instanceof KafkaPartialFailureError)
    assert.equal(e.failures.length, 1)
    assert.equal(e.failures[0]!.path, `topics/${a}`)
    assert.equal((e.failures[0]!.error as KafkaResponseError).errorName, 'TOPIC_ALREADY_EXISTS')
    assert.equal((e.result as unknown[]).length, 1)
    return true
  })
})

test('list and describe topics with partitions, leaders, topic ids and configs', async () => {
  const name = uniqueTopic('describe')
  const [created] = await admin.createTopics([{ name, numPartitions: 2, configs: { 'max.message.bytes': 2_000_000 } }])
  assert.ok((await admin.listTopics()).includes(name))
  const [d] = await admin.describeTopics([name], { includeConfigs: true })
  assert.equal(d!.name, name)
  assert.equal(d!.topicId, created!.topicId)
  assert.equal(d!.isInternal, false)
  assert.deepEqual(d!.partitions.map((p) => [p.partition, p.leader, p.replicas, p.isr]), [[0, 1, [1], [1]], [1, 1, [1], [1]]])
  const maxBytes = d!.configs!.find((c) => c.name === 'max.message.bytes')!
  assert.equal(maxBytes.value, '2000000')
  assert.equal(maxBytes.source, 'DYNAMIC_TOPIC_CONFIG')
  assert.ok(maxBytes.synonyms.some((s) => s.source === 'DYNAMIC_TOPIC_CONFIG'))
  await assert.rejects(admin.describeTopics([name, 'no-such-topic']), (e: unknown) =>
    e instanceof KafkaPartialFailureError && (e.failures[0]!.error as KafkaResponseError).errorName === 'UNKNOWN_TOPIC_OR_PARTITION' && (e.result as unknown[]).length === 1)
})

test('delete topics by name and by id; add partitions', async () => {
  const [x, y] = [uniqueTopic('del-x'), uniqueTopic('del-y')]
  const created = await admin.createTopics([{ name: x }, { name: y, numPartitions: 1 }])
  await admin.createPartitions([{ topic: y, count: 3 }])
  assert.equal((await admin.describeTopics([y]))[0]!.partitions.length, 3)
  await assert.rejects(admin.createPartitions([{ topic: y, count: 2 }]), (e: unknown) =>
    e instanceof KafkaPartialFailureError && (e.failures[0]!.error as KafkaResponseError).errorName === 'INVALID_PARTITIONS')
  await admin.deleteTopics([x])
  await admin.deleteTopics([{ topicId: created[1]!.topicId }])
  const names = await admin.listTopics()
  assert.ok(!names.includes(x) && !names.includes(y))
  await assert.rejects(admin.deleteTopics(['no-such-topic']), (e: unknown) =>
    e instanceof KafkaPartialFailureError && (e.failures[0]!.error as KafkaResponseError).errorName === 'UNKNOWN_TOPIC_OR_PARTITION')
})

test('describe configs with synonyms and documentation; incremental alter set and delete', async () => {
  const name = uniqueTopic('configs')
  await admin.createTopics([{ name }])
  await admin.incrementalAlterConfigs([{ type: ConfigResourceType.TOPIC, name, configs: [{ name: 'retention.ms', value: 7200000 }, { name: 'cleanup.policy', value: 'compact' }] }])
  let [d] = await admin.describeConfigs([{ type: ConfigResourceType.TOPIC, name, configNames: ['retention.ms', 'cleanup.policy'] }], { includeSynonyms: true, includeDocumentation: true })
  assert.deepEqual(d!.configs.map((c) => [c.name, c.value, c.source]).sort(), [['cleanup.policy', 'compact', 'DYNAMIC_TOPIC_CONFIG'], ['retention.ms', '7200000', 'DYNAMIC_TOPIC_CONFIG']])
  const retention = d!.configs.find((c) => c.name === 'retention.ms')!
  assert.ok(retention.synonyms.length >= 2, 'topic value and broker default synonyms')
  assert.equal(retention.type, 'LONG')
  assert.equal(typeof retention.documentation, 'string')
  await admin.incrementalAlterConfigs([{ type: ConfigResourceType.TOPIC, name, configs: [{ name: 'retention.ms', op: 'delete' }] }])
  ;[d] = await admin.describeConfigs([{ type: ConfigResourceType.TOPIC, name, configNames: ['retention.ms'] }])
  assert.equal(d!.configs[0]!.isDefault, true)
  await assert.rejects(admin.incrementalAlterConfigs([{ type: ConfigResourceType.TOPIC, name, configs: [{ name: 'retention.ms', value: 'soon' }] }], { validateOnly: true }), (e: unknown) =>
    e instanceof KafkaPartialFailureError && (e.failures[0]!.error as KafkaResponseError).errorName === 'INVALID_CONFIG')
  const [brokerConfigs] = await admin.describeConfigs([{ type: ConfigResourceType.BROKER, name: '1', configNames: ['num.partitions'] }])
  assert.equal(brokerConfigs!.configs[0]!.name, 'num.partitions')
})

test('list offsets (earliest, latest, by timestamp) and delete records', async () => {
  const name = uniqueTopic('records')
  await admin.createTopics([{ name, numPartitions: 2 }])
  await produce(name, 20, 2)
  const q = (timestamp: 'earliest' | 'latest' | 'max-timestamp' | number): Array<{ topic: string, partition: number, timestamp: typeof timestamp }> => [0, 1].map((partition) => ({ topic: name, partition, timestamp }))
  assert.deepEqual((await admin.listOffsets(q('earliest'))).map((o) => o.offset), [0n, 0n])
  assert.deepEqual((await admin.listOffsets(q('latest'))).map((o) => o.offset), [10n, 10n])
  const byTime = await admin.listOffsets([{ topic: name, partition: 0, timestamp: 1_000_000 + 4 * 1000 }])
  assert.equal(byTime[0]!.offset, 2n, 'records 0, 2, 4... are on partition 0')
  const deleted = await admin.deleteRecords([{ topic: name, partition: 0, offset: 4n }, { topic: name, partition: 1, offset: -1n }])
  assert.deepEqual(deleted.map((d) => [d.partition, d.lowWatermark]).sort(), [[0, 4n], [1, 10n]])
  assert.deepEqual((await admin.listOffsets(q('earliest'))).map((o) => o.offset), [4n, 10n])
  assert.equal((await readAll(broker.bootstrap, name)).length, 0 + 6)
})

test('describe the cluster and its log dirs', async () => {
  const cluster = await admin.describeCluster()
  assert.equal(typeof cluster.clusterId, 'string')
  assert.deepEqual(cluster.brokers.map((b) => [b.nodeId, b.host, b.port]), [[1, broker.host, broker.port]])
  assert.equal(cluster.controllerId, 1)
  const name = uniqueTopic('logdirs')
  await admin.createTopics([{ name, numPartitions: 1 }])
  await produce(name, 5)
  const dirs = await admin.describeLogDirs()
  assert.equal(dirs.length, 1)
  assert.equal(dirs[0]!.brokerId, 1)
  assert.equal(dirs[0]!.path, broker.dataDir)
  const partition = dirs[0]!.partitions.find((p) => p.topic === name)
  assert.ok(partition !== undefined && partition.size > 0n)
})

test('groups: list, describe, offsets (list, alter, reset, delete), delete', async (t) => {
  const skip = await missingApis(broker.bootstrap, [FindCoordinatorApi, ListGroupsApi, OffsetCommitApi, OffsetFetchApi, OffsetDeleteApi, DeleteGroupsApi])
  if (skip !== false) return t.skip(skip)
  const topic = uniqueTopic('group-offsets')
  await admin.createTopics([{ name: topic, numPartitions: 2 }])
  await produce(topic, 10, 2)
  const group = uniqueTopic('group')
  await admin.alterConsumerGroupOffsets(group, [{ topic, partition: 0, offset: 3n, metadata: 'm' }, { topic, partition: 1, offset: 1n }])
  assert.deepEqual((await admin.listConsumerGroupOffsets(group)).map((o) => [o.partition, o.offset, o.metadata]), [[0, 3n, 'm'], [1, 1n, '']])
  const listed = (await admin.listGroups()).find((g) => g.groupId === group)
  assert.deepEqual([listed?.groupState, listed?.groupType], ['Empty', 'classic'])
  assert.ok((await admin.listGroups({ states: ['Empty'], types: ['classic'] })).some((g) => g.groupId === group))
  assert.ok(!(await admin.listGroups({ states: ['Stable'] })).some((g) => g.groupId === group))
  const [described, missing] = await admin.describeGroups([group, 'no-such-group'])
  assert.deepEqual([described!.groupId, described!.groupState, described!.members.length], [group, 'Empty', 0])
  assert.deepEqual([missing!.groupId, missing!.groupState], ['no-such-group', 'Dead'], 'as Kafka describes an unknown group')
  assert.deepEqual((await admin.resetConsumerGroupOffsets(group, { topic, to: 'latest' })).map((o) => o.offset), [5n, 5n])
  assert.deepEqual((await admin.resetConsumerGroupOffsets(group, { topic, to: 'earliest' })).map((o) => o.offset), [0n, 0n])
  assert.deepEqual((await admin.resetConsumerGroupOffsets(group, { topic, partitions: [1], to: { offset: 2n } })).map((o) => o.offset), [2n])
  assert.deepEqual((await admin.resetConsumerGroupOffsets(group, { topic, partitions: [0], to: { timestamp: 1_000_000 + 4 * 1000 } })).map((o) => o.offset), [2n])
  await admin.deleteConsumerGroupOffsets(group, [{ topic, partition: 0 }])
  assert.deepEqual((await admin.listConsumerGroupOffsets(group)).map((o) => o.partition), [1])
  await admin.deleteGroups([group])
  assert.ok(!(await admin.listGroups()).some((g) => g.groupId === group))
  await assert.rejects(admin.deleteGroups([group]), (e: unknown) =>
    e instanceof KafkaPartialFailureError && (e.failures[0]!.error as KafkaResponseError).errorName === 'GROUP_ID_NOT_FOUND')
})

test('groups: a KIP-848 consumer group is described through ConsumerGroupDescribe', async (t) => {
  const skip = await missingApis(broker.bootstrap, [FindCoordinatorApi, ConsumerGroupHeartbeatApi, ConsumerGroupDescribeApi])
  if (skip !== false) return t.skip(skip)
  const topic = uniqueTopic('kip848')
  await admin.createTopics([{ name: topic, numPartitions: 2 }])
  const groupId = uniqueTopic('kip848-group')
  // Join as a KIP-848 member with one raw heartbeat (the consumer comes with the next issue).
  const joined = await admin.cluster.withCoordinator({ type: CoordinatorType.GROUP, key: groupId }, async (connection) =>
    await connection.request(ConsumerGroupHeartbeatApi, {
      groupId, memberId: '', memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 30_000,
      subscribedTopicNames: [topic], subscribedTopicRegex: null, serverAssignor: null, topicPartitions: []
    }))
  assert.equal(joined.errorCode, 0)
  const [group] = await admin.describeGroups([groupId])
  assert.equal(group!.groupType, 'consumer')
  assert.equal(group!.members.length, 1)
  assert.equal(group!.members[0]!.memberId, joined.memberId)
  assert.deepEqual(group!.members[0]!.subscribedTopics, [topic])
  assert.ok(group!.groupEpoch! >= 1)
  const listed = (await admin.listGroups({ types: ['consumer'] })).find((g) => g.groupId === groupId)
  assert.equal(listed?.groupType, 'consumer')
})

test('transactions and producers: list, describe', async (t) => {
  const skip = await missingApis(broker.bootstrap, [ListTransactionsApi, DescribeTransactionsApi, DescribeProducersApi])
  if (skip !== false) return t.skip(skip)
  const topic = uniqueTopic('txn-admin')
  await admin.createTopics([{ name: topic }])
  const transactionalId = uniqueTopic('tx')
  const p = new Producer({ bootstrapServers: broker.bootstrap, transactionalId, lingerMs: 0 })
  await p.beginTransaction()
  await p.send({ topic, value: 'x' })
  const [described] = await admin.describeTransactions([transactionalId])
  assert.equal(described!.transactionState, 'Ongoing')
  assert.deepEqual(described!.partitions, [{ topic, partition: 0 }])
  assert.ok((await admin.listTransactions()).some((l) => l.transactionalId === transactionalId))
  const [producers] = await admin.describeProducers([{ topic, partition: 0 }])
  assert.equal(producers!.activeProducers[0]!.producerId, described!.producerId)
  await p.commitTransaction()
  await p.close()
})

test('a closed admin client rejects calls', async () => {
  const a = new Admin({ bootstrapServers: broker.bootstrap })
  await a.connect()
  await a.close()
  await assert.rejects(a.listTopics(), KafkaClosedError)
})
