// DescribeCluster, DescribeLogDirs and DescribeTopicPartitions (with its cursor).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  DescribeClusterApi, DescribeLogDirsApi, DescribeTopicPartitionsApi, ErrorCode, MetadataApi
} from '@samsa/protocol'
import type { DescribeTopicPartitionsResponse } from '@samsa/protocol/messages/describe-topic-partitions'
import { type RawClient, startBroker } from '@samsa/testkit'
import { batchOf, connect, createTopic, produceOk, setup } from './helpers.ts'

test('DescribeCluster: this broker at the address the client used, the cluster id and controller', async (t) => {
  const { broker, client } = await setup(t, { inMemory: true, config: { 'broker.rack': 'rack-a' } })
  const metadata = await client.request(MetadataApi, 12, { ...MetadataApi.request.create(), topics: [] })
  for (const version of [0, 1]) {
    const r = await client.request(DescribeClusterApi, version, { includeClusterAuthorizedOperations: false, endpointType: 1 })
    assert.equal(r.errorCode, ErrorCode.NONE)
    assert.equal(r.clusterId, metadata.clusterId)
    assert.equal(r.controllerId, 1)
    assert.deepEqual(r.brokers, [{ brokerId: 1, host: '127.0.0.1', port: broker.port, rack: 'rack-a' }])
    assert.equal(r.clusterAuthorizedOperations, -2147483648)
  }
  const withOps = await client.request(DescribeClusterApi, 1, { includeClusterAuthorizedOperations: true, endpointType: 1 })
  assert.ok(withOps.clusterAuthorizedOperations > 0)
  assert.ok((withOps.clusterAuthorizedOperations & (1 << 9)) !== 0, 'CLUSTER_ACTION')
  const controllers = await client.request(DescribeClusterApi, 1, { includeClusterAuthorizedOperations: false, endpointType: 2 })
  assert.equal(controllers.errorCode, ErrorCode.UNSUPPORTED_ENDPOINT_TYPE)
  assert.deepEqual(controllers.brokers, [])

  const advertised = await startBroker({ inMemory: true, config: { 'advertised.listeners': 'PLAINTEXT://broker.example:29092' } })
  t.after(() => advertised.stop())
  const other = await connect(t, advertised)
  const r = await other.request(DescribeClusterApi, 0, { includeClusterAuthorizedOperations: false, endpointType: 1 })
  assert.deepEqual(r.brokers.map((b) => [b.host, b.port]), [['broker.example', 29092]])
})

test('DescribeLogDirs: the data directory, each partition\'s size, totals from v4', async (t) => {
  const { broker, client } = await setup(t)
  await createTopic(client, 'sized', { partitions: 2 })
  await createTopic(client, 'other')
  const batches = [batchOf(3, { valueSize: 100 }), batchOf(2, { valueSize: 50 })]
  for (const b of batches) await produceOk(client, 'sized', Buffer.from(b))
  const expected = batches.reduce((sum, b) => sum + b.length, 0)

  const all = await client.request(DescribeLogDirsApi, 4, { topics: null })
  assert.equal(all.errorCode, ErrorCode.NONE)
  assert.equal(all.results.length, 1)
  const dir = all.results[0]!
  assert.equal(dir.errorCode, ErrorCode.NONE)
  assert.equal(dir.logDir, broker.dataDir)
  const sizes = dir.topics.flatMap((x) => x.partitions.map((p) => [x.name, p.partitionIndex, Number(p.partitionSize), p.offsetLag, p.isFutureKey])).sort()
  assert.deepEqual(sizes, [['other', 0, 0, 0n, false], ['sized', 0, expected, 0n, false], ['sized', 1, 0, 0n, false]])
  assert.ok(dir.totalBytes > 0n && dir.usableBytes > 0n && dir.usableBytes <= dir.totalBytes)

  const some = await client.request(DescribeLogDirsApi, 1, { topics: [{ topic: 'sized', partitions: [0] }, { topic: 'missing', partitions: [0] }] })
  assert.deepEqual(some.results[0]!.topics.map((x) => [x.name, x.partitions.map((p) => [p.partitionIndex, Number(p.partitionSize)])]), [['sized', [[0, expected]]]])
})

test('DescribeTopicPartitions pages through partitions with a cursor', async (t) => {
  const { client } = await setup(t, { inMemory: true })
  await createTopic(client, 'b-topic', { partitions: 2 })
  await createTopic(client, 'a-topic', { partitions: 3 })
  await createTopic(client, 'c-topic')
  const page = async (client: RawClient, cursor: { topicName: string, partitionIndex: number } | null, topics: string[] = []): Promise<DescribeTopicPartitionsResponse> =>
    await client.request(DescribeTopicPartitionsApi, 0, { topics: topics.map((name) => ({ name })), responsePartitionLimit: 2, cursor })
  const shape = (r: DescribeTopicPartitionsResponse): Array<[string | null, number[]]> => r.topics.map((x) => [x.name, x.partitions.map((p) => p.partitionIndex)])

  const first = await page(client, null)
  assert.deepEqual(shape(first), [['a-topic', [0, 1]]])
  assert.deepEqual(first.nextCursor, { topicName: 'a-topic', partitionIndex: 2 })
  const second = await page(client, first.nextCursor)
  assert.deepEqual(shape(second), [['a-topic', [2]], ['b-topic', [0]]])
  assert.deepEqual(second.nextCursor, { topicName: 'b-topic', partitionIndex: 1 })
  const third = await page(client, second.nextCursor)
  assert.deepEqual(shape(third), [['b-topic', [1]], ['c-topic', [0]]])
  assert.equal(third.nextCursor, null)

  // A page filled exactly by a topic's last partition points at the next topic, without it.
  const exact = await client.request(DescribeTopicPartitionsApi, 0, { topics: [], responsePartitionLimit: 3, cursor: null })
  assert.deepEqual(shape(exact), [['a-topic', [0, 1, 2]]])
  assert.deepEqual(exact.nextCursor, { topicName: 'b-topic', partitionIndex: 0 })
  const rest = await client.request(DescribeTopicPartitionsApi, 0, { topics: [], responsePartitionLimit: 3, cursor: exact.nextCursor })
  assert.deepEqual(shape(rest), [['b-topic', [0, 1]], ['c-topic', [0]]])
  assert.equal(rest.nextCursor, null)

  const a = first.topics[0]!
  assert.equal(a.errorCode, ErrorCode.NONE)
  assert.notEqual(a.topicId, '00000000-0000-0000-0000-000000000000')
  assert.deepEqual(a.partitions[0]!, { errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 0, replicaNodes: [1], isrNodes: [1], eligibleLeaderReplicas: [], lastKnownElr: [], offlineReplicas: [] })

  // Named topics (any order), including an unknown one.
  const named = await client.request(DescribeTopicPartitionsApi, 0, { topics: [{ name: 'c-topic' }, { name: 'nope' }], responsePartitionLimit: 100, cursor: null })
  assert.deepEqual(named.topics.map((x) => [x.name, x.errorCode, x.partitions.length]), [['c-topic', ErrorCode.NONE, 1], ['nope', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 0]])
  assert.equal(named.nextCursor, null)
})
