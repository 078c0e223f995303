// Topic administration: CreateTopics (validate-only, duplicates, collisions, replication
// factor, explicit assignments, configs), DeleteTopics by name and id, CreatePartitions,
// DeleteRecords, persistence across a restart, and kafkajs's admin client end to end.
import assert from 'node:assert/strict'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import {
  CreatePartitionsApi, CreateTopicsApi, DeleteRecordsApi, DeleteTopicsApi, ErrorCode, FetchApi, MetadataApi
} from '@samsa/protocol'
import type { CreatePartitionsRequest } from '@samsa/protocol/messages/create-partitions'
import type { CreatableTopic, CreateTopicsResponse } from '@samsa/protocol/messages/create-topics'
import { type RawClient, connectRaw } from '@samsa/testkit'
import {
  ZERO_UUID, batchOf, createTopic, decodeRecords, fetchOne, fetchRequest, listOffset, produce, produceOk, setup, topicId
} from './helpers.ts'

function creatable (name: string, options: Partial<CreatableTopic> = {}): CreatableTopic {
  return { name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [], ...options }
}

async function create (client: RawClient, topics: CreatableTopic[], options: { version?: number, validateOnly?: boolean } = {}): Promise<CreateTopicsResponse> {
  return await client.request(CreateTopicsApi, options.version ?? 7, { topics, timeoutMs: 5000, validateOnly: options.validateOnly ?? false })
}

async function topicNames (client: RawClient): Promise<string[]> {
  const r = await client.request(MetadataApi, 12, { ...MetadataApi.request.create(), topics: null })
  return r.topics.map((t) => t.name ?? '').sort()
}

test('CreateTopics: validate-only, duplicates, existing names, collisions, partitions and replication factor', async (t) => {
  const { client } = await setup(t, { inMemory: true, config: { 'num.partitions': 4 } })
  // validateOnly: the answer a creation would give, and nothing created.
  const dry = await create(client, [creatable('dry', { numPartitions: 3 })], { validateOnly: true })
  assert.deepEqual(pick(dry), [['dry', ErrorCode.NONE, null]])
  assert.equal(dry.topics[0]!.numPartitions, 3)
  assert.equal(dry.topics[0]!.replicationFactor, 1)
  assert.equal(dry.topics[0]!.topicId, ZERO_UUID)
  assert.deepEqual(await topicNames(client), [])

  const made = await create(client, [creatable('made', { numPartitions: 2 }), creatable('defaults', { numPartitions: -1, replicationFactor: -1 })])
  assert.deepEqual(pick(made), [['made', ErrorCode.NONE, null], ['defaults', ErrorCode.NONE, null]])
  assert.notEqual(made.topics[0]!.topicId, ZERO_UUID)
  assert.deepEqual(made.topics.map((x) => [x.numPartitions, x.replicationFactor]), [[2, 1], [4, 1]])

  // The same name twice in one request: both entries fail.
  const dup = await create(client, [creatable('twice'), creatable('twice'), creatable('once')])
  assert.deepEqual(dup.topics.map((x) => [x.name, x.errorCode]), [['twice', ErrorCode.INVALID_REQUEST], ['twice', ErrorCode.INVALID_REQUEST], ['once', ErrorCode.NONE]])
  assert.match(dup.topics[0]!.errorMessage ?? '', /contains multiple entries for the following topics: twice/)

  const exists = await create(client, [creatable('made')])
  assert.deepEqual(pick(exists), [['made', ErrorCode.TOPIC_ALREADY_EXISTS, 'Topic \'made\' already exists.']])
  // Validate-only says so too.
  assert.equal((await create(client, [creatable('made')], { validateOnly: true })).topics[0]!.errorCode, ErrorCode.TOPIC_ALREADY_EXISTS)

  // '.' and '_' collide.
  await createTopic(client, 'with.dot')
  const collides = await create(client, [creatable('with_dot')])
  assert.equal(collides.topics[0]!.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION)
  assert.match(collides.topics[0]!.errorMessage ?? '', /collides with existing topic: with\.dot/)

  const cases: Array<[CreatableTopic, number, RegExp]> = [
    [creatable('rf3', { replicationFactor: 3 }), ErrorCode.INVALID_REPLICATION_FACTOR, /replication factor of 3 cannot be reached because only 1 broker\(s\) are registered/],
    [creatable('rf0', { replicationFactor: 0 }), ErrorCode.INVALID_REPLICATION_FACTOR, /Replication factor must be larger than 0/],
    [creatable('p0', { numPartitions: 0 }), ErrorCode.INVALID_PARTITIONS, /Number of partitions must be larger than 0/],
    [creatable('bad name'), ErrorCode.INVALID_TOPIC_EXCEPTION, /illegal/],
    [creatable(''), ErrorCode.INVALID_TOPIC_EXCEPTION, /empty/]
  ]
  for (const [topic, code, message] of cases) {
    const r = await create(client, [topic])
    assert.equal(r.topics[0]!.errorCode, code, topic.name)
    assert.match(r.topics[0]!.errorMessage ?? '', message)
  }
  // v0 carries no error message.
  const v0 = await create(client, [creatable('made')], { version: 0 })
  assert.equal(v0.topics[0]!.errorCode, ErrorCode.TOPIC_ALREADY_EXISTS)
  assert.deepEqual(await topicNames(client), ['defaults', 'made', 'once', 'with.dot'])
})

function pick (r: CreateTopicsResponse): Array<[string, number, string | null]> {
  return r.topics.map((x) => [x.name, x.errorCode, x.errorMessage])
}

test('CreateTopics with explicit replica assignments', async (t) => {
  const { client } = await setup(t, { inMemory: true })
  const ok = await create(client, [creatable('assigned', { numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 1, brokerIds: [1] }, { partitionIndex: 0, brokerIds: [1] }] })])
  assert.deepEqual(pick(ok), [['assigned', ErrorCode.NONE, null]])
  assert.deepEqual([ok.topics[0]!.numPartitions, ok.topics[0]!.replicationFactor], [2, 1])
  const cases: Array<[CreatableTopic['assignments'], Partial<CreatableTopic>, number, RegExp]> = [
    [[{ partitionIndex: 0, brokerIds: [2] }], {}, ErrorCode.INVALID_REPLICA_ASSIGNMENT, /includes broker 2, but no such broker is registered/],
    [[{ partitionIndex: 0, brokerIds: [1, 1] }], {}, ErrorCode.INVALID_REPLICA_ASSIGNMENT, /Duplicate brokers/],
    [[{ partitionIndex: 0, brokerIds: [] }], {}, ErrorCode.INVALID_REPLICA_ASSIGNMENT, /Empty replica assignment/],
    [[{ partitionIndex: 0, brokerIds: [1] }, { partitionIndex: 2, brokerIds: [1] }], {}, ErrorCode.INVALID_REPLICA_ASSIGNMENT, /without gaps/],
    [[{ partitionIndex: 0, brokerIds: [1] }], { numPartitions: 1 }, ErrorCode.INVALID_REQUEST, /cannot be used at the same time/]
  ]
  for (const [assignments, extra, code, message] of cases) {
    const r = await create(client, [creatable('bad-assignment', { numPartitions: -1, replicationFactor: -1, assignments, ...extra })])
    assert.equal(r.topics[0]!.errorCode, code, JSON.stringify(assignments))
    assert.match(r.topics[0]!.errorMessage ?? '', message)
  }
  assert.deepEqual(await topicNames(client), ['assigned'])
})

test('CreateTopics validates configs and returns them from v5', async (t) => {
  const { client } = await setup(t, { inMemory: true })
  const withConfigs = (name: string, configs: Record<string, string | null>): CreatableTopic =>
    creatable(name, { configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v })) })
  const bad: Array<[Record<string, string | null>, RegExp]> = [
    [{ 'no.such.config': '1' }, /^Unknown topic config name: no\.such\.config$/],
    [{ 'retention.ms': 'abc' }, /^Invalid value abc for configuration retention\.ms: Not a number of type LONG$/],
    [{ 'min.insync.replicas': '0' }, /^Invalid value 0 for configuration min\.insync\.replicas: Value must be at least 1$/],
    [{ 'cleanup.policy': 'sometimes' }, /cleanup\.policy/],
    [{ 'retention.ms': null }, /Null value not supported/]
  ]
  for (const [configs, message] of bad) {
    const r = await create(client, [withConfigs('cfg', configs)])
    assert.equal(r.topics[0]!.errorCode, ErrorCode.INVALID_CONFIG, JSON.stringify(configs))
    assert.match(r.topics[0]!.errorMessage ?? '', message)
  }
  assert.deepEqual(await topicNames(client), [])

  const r = await create(client, [withConfigs('cfg', { 'retention.ms': '3600000', 'cleanup.policy': 'compact,delete' })])
  const result = r.topics[0]!
  assert.equal(result.errorCode, ErrorCode.NONE)
  assert.equal(result.topicConfigErrorCode, ErrorCode.NONE)
  const configs = new Map((result.configs ?? []).map((c) => [c.name, c]))
  assert.ok(configs.size > 20, 'every topic config is listed')
  assert.deepEqual(pickConfig(configs.get('retention.ms')), ['3600000', 1])
  assert.deepEqual(pickConfig(configs.get('cleanup.policy')), ['compact,delete', 1])
  assert.deepEqual(pickConfig(configs.get('segment.bytes')), ['1073741824', 5])
  // Validate-only returns the configs as well; v4 does not carry them.
  const dry = await create(client, [withConfigs('cfg-dry', { 'retention.ms': '1' })], { validateOnly: true })
  assert.deepEqual(pickConfig(new Map((dry.topics[0]!.configs ?? []).map((c) => [c.name, c])).get('retention.ms')), ['1', 1])
  const v4 = await create(client, [creatable('cfg-v4')], { version: 4 })
  assert.equal(v4.topics[0]!.errorCode, ErrorCode.NONE)
  assert.deepEqual(v4.topics[0]!.configs ?? [], [], 'not sent before v5')
})

function pickConfig (c: { value: string | null, configSource: number } | undefined): [string | null, number] | undefined {
  return c === undefined ? undefined : [c.value, c.configSource]
}

test('DeleteTopics by name and by id; delete.topic.enable=false', async (t) => {
  const { broker, client } = await setup(t)
  await createTopic(client, 'doomed', { partitions: 2 })
  await createTopic(client, 'doomed-by-id')
  await createTopic(client, 'survivor')
  await produceOk(client, 'doomed', batchOf(3))
  const dir = join(broker.dataDir, 'doomed-0')
  assert.ok(existsSync(dir))

  // A fetch waiting on the topic is answered when the topic goes.
  const waiting = client.request(FetchApi, 11, fetchRequest([{ topic: 'doomed', partition: 1 }], { maxWaitMs: 5000, minBytes: 1 }))
  const started = performance.now()
  const byName = await client.request(DeleteTopicsApi, 1, { topicNames: ['doomed', 'unknown'], topics: [], timeoutMs: 5000 })
  assert.deepEqual(byName.responses.map((r) => [r.name, r.errorCode]), [['doomed', ErrorCode.NONE], ['unknown', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]])
  const woken = await waiting
  assert.ok(performance.now() - started < 2000, 'the waiting fetch was not held for max.wait.ms')
  assert.equal(woken.responses[0]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)

  const id = await topicId(client, 'doomed-by-id')
  const unknownId = '00000000-0000-4000-8000-0000000000ff'
  const byId = await client.request(DeleteTopicsApi, 6, { topicNames: [], topics: [{ name: null, topicId: id }, { name: null, topicId: unknownId }], timeoutMs: 5000 })
  assert.deepEqual(byId.responses.map((r) => [r.name, r.topicId, r.errorCode]), [['doomed-by-id', id, ErrorCode.NONE], [null, unknownId, ErrorCode.UNKNOWN_TOPIC_ID]])
  assert.deepEqual(await topicNames(client), ['survivor'])
  assert.equal(existsSync(dir), false, 'the partition directories are removed')
  assert.deepEqual(readdirSync(broker.dataDir).filter((f) => f.startsWith('doomed')), [])
  assert.equal((await produce(client, 'doomed', batchOf(1))).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)

  // Re-created under the same name: a new id and an empty log.
  const again = await createTopic(client, 'doomed')
  assert.notEqual(again.topicId, id)
  assert.equal((await fetchOne(client, { topic: 'doomed' })).highWatermark, 0n)

  const { client: locked } = await setup(t, { inMemory: true, config: { 'delete.topic.enable': false } })
  await createTopic(locked, 'kept')
  const refused = await locked.request(DeleteTopicsApi, 5, { topicNames: ['kept'], topics: [], timeoutMs: 5000 })
  assert.equal(refused.responses[0]!.errorCode, ErrorCode.TOPIC_DELETION_DISABLED)
  assert.deepEqual(await topicNames(locked), ['kept'])
})

test('CreatePartitions grows topics; shrinking and no-op counts are refused; validate-only changes nothing', async (t) => {
  const { client } = await setup(t, { inMemory: true })
  await createTopic(client, 'grow')
  const request = (topics: Array<{ name: string, count: number, assignments?: number[][] | null }>, validateOnly = false): CreatePartitionsRequest => ({
    topics: topics.map((x) => ({ name: x.name, count: x.count, assignments: x.assignments === undefined || x.assignments === null ? null : x.assignments.map((brokerIds) => ({ brokerIds })) })),
    timeoutMs: 5000,
    validateOnly
  })
  const partitionCount = async (): Promise<number> => (await client.request(MetadataApi, 12, { ...MetadataApi.request.create(), topics: [{ topicId: ZERO_UUID, name: 'grow' }] })).topics[0]!.partitions.length

  const dry = await client.request(CreatePartitionsApi, 3, request([{ name: 'grow', count: 3 }], true))
  assert.deepEqual(dry.results.map((r) => [r.name, r.errorCode]), [['grow', ErrorCode.NONE]])
  assert.equal(await partitionCount(), 1)

  const grown = await client.request(CreatePartitionsApi, 1, request([{ name: 'grow', count: 3 }]))
  assert.equal(grown.results[0]!.errorCode, ErrorCode.NONE)
  assert.equal(await partitionCount(), 3)
  await produceOk(client, 'grow', batchOf(1), { partition: 2 })

  const cases: Array<[{ name: string, count: number, assignments?: number[][] | null }, number, RegExp]> = [
    [{ name: 'grow', count: 2 }, ErrorCode.INVALID_PARTITIONS, /Topic currently has 3 partitions, which is higher than the requested 2\./],
    [{ name: 'grow', count: 3 }, ErrorCode.INVALID_PARTITIONS, /Topic already has 3 partitions\./],
    [{ name: 'missing', count: 3 }, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, /does not host this topic-partition/],
    [{ name: 'grow', count: 5, assignments: [[1]] }, ErrorCode.INVALID_REPLICA_ASSIGNMENT, /Increasing the number of partitions by 2 but 1 assignments provided/],
    [{ name: 'grow', count: 4, assignments: [[7]] }, ErrorCode.INVALID_REPLICA_ASSIGNMENT, /broker 7/]
  ]
  for (const [topic, code, message] of cases) {
    const r = await client.request(CreatePartitionsApi, 2, request([topic]))
    assert.equal(r.results[0]!.errorCode, code, JSON.stringify(topic))
    assert.match(r.results[0]!.errorMessage ?? '', message)
  }
  const dup = await client.request(CreatePartitionsApi, 3, request([{ name: 'grow', count: 4 }, { name: 'grow', count: 5 }]))
  assert.equal(dup.results[1]!.errorCode, ErrorCode.INVALID_REQUEST)
  const assigned = await client.request(CreatePartitionsApi, 3, request([{ name: 'grow', count: 6, assignments: [[1], [1]] }]))
  assert.equal(assigned.results[0]!.errorCode, ErrorCode.NONE)
  assert.equal(await partitionCount(), 6)
})

test('DeleteRecords moves the log start; -1 means the high watermark; beyond it is OFFSET_OUT_OF_RANGE', async (t) => {
  const { client } = await setup(t, { inMemory: true })
  await createTopic(client, 'trim', { partitions: 2 })
  for (let i = 0; i < 5; i++) await produceOk(client, 'trim', batchOf(1, { from: i }))
  await produceOk(client, 'trim', batchOf(3), { partition: 1 })
  const del = async (partitions: Array<[number, bigint]>, name = 'trim'): Promise<Array<[number, bigint, number]>> => {
    const r = await client.request(DeleteRecordsApi, 2, { topics: [{ name, partitions: partitions.map(([partitionIndex, offset]) => ({ partitionIndex, offset })) }], timeoutMs: 5000 })
    return r.topics[0]!.partitions.map((p) => [p.partitionIndex, p.lowWatermark, p.errorCode])
  }
  assert.deepEqual(await del([[0, 2n], [1, -1n]]), [[0, 2n, ErrorCode.NONE], [1, 3n, ErrorCode.NONE]])
  assert.deepEqual(decodeRecords((await fetchOne(client, { topic: 'trim', offset: 2 })).records).map((r) => r.offset), [2, 3, 4])
  assert.equal((await listOffset(client, 'trim', -2n)).offset, 2n)
  assert.equal((await listOffset(client, 'trim', -2n, { partition: 1 })).offset, 3n)
  // Moving backwards is a no-op that reports the current start.
  assert.deepEqual(await del([[0, 1n]]), [[0, 2n, ErrorCode.NONE]])
  assert.deepEqual(await del([[0, 6n]]), [[0, -1n, ErrorCode.OFFSET_OUT_OF_RANGE]])
  assert.deepEqual(await del([[0, -5n]]), [[0, -1n, ErrorCode.OFFSET_OUT_OF_RANGE]])
  assert.deepEqual(await del([[0, 5n]]), [[0, 5n, ErrorCode.NONE]])
  assert.deepEqual(await del([[9, 0n]]), [[9, -1n, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]])
  assert.deepEqual(await del([[0, 0n]], 'missing'), [[0, -1n, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]])
  // Appends continue at the log end.
  assert.equal(await produceOk(client, 'trim', batchOf(1)), 5)
})

test('topics survive a restart with their ids, configs, partitions, data and log start', async (t) => {
  const { broker, client } = await setup(t)
  const created = await createTopic(client, 'durable', { partitions: 2, configs: { 'retention.ms': '123456', 'cleanup.policy': 'compact' } })
  await createTopic(client, 'deleted')
  const keyed = batchOf(4)
  await produceOk(client, 'durable', keyed)
  await produceOk(client, 'durable', batchOf(2, { from: 10 }), { partition: 1 })
  await client.request(CreatePartitionsApi, 3, { topics: [{ name: 'durable', count: 3, assignments: null }], timeoutMs: 5000, validateOnly: false })
  await client.request(DeleteTopicsApi, 6, { topicNames: [], topics: [{ name: 'deleted', topicId: ZERO_UUID }], timeoutMs: 5000 })
  await client.request(DeleteRecordsApi, 2, { topics: [{ name: 'durable', partitions: [{ partitionIndex: 0, offset: 1n }] }], timeoutMs: 5000 })
  client.close()

  await broker.restart()
  assert.equal(broker.broker.logManager.loadReport.clean, true, 'a clean shutdown')
  const after = await connectRaw(broker.bootstrap)
  t.after(() => after.close())
  const md = await after.request(MetadataApi, 12, { ...MetadataApi.request.create(), topics: null })
  assert.deepEqual(md.topics.map((x) => [x.name, x.topicId, x.partitions.length]), [['durable', created.topicId, 3]])
  const overrides = broker.broker.topics.get('durable')!.configs
  assert.deepEqual(overrides, { 'retention.ms': '123456', 'cleanup.policy': 'compact' })
  assert.equal(broker.broker.topics.partition('durable', 0)!.log.config['retention.ms'], 123456)
  const p0 = await fetchOne(after, { topic: 'durable', offset: 1 })
  // The batch holding offsets 0-3 comes whole; the consumer skips what is below its offset.
  assert.deepEqual(decodeRecords(p0.records).map((r) => [r.offset, r.key]), [[0, 'k0'], [1, 'k1'], [2, 'k2'], [3, 'k3']])
  assert.equal((await fetchOne(after, { topic: 'durable', offset: 0 })).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE)
  assert.equal(p0.logStartOffset, 1n, 'DeleteRecords survives the restart')
  assert.deepEqual(decodeRecords((await fetchOne(after, { topic: 'durable', partition: 1 })).records).map((r) => r.key), ['k10', 'k11'])
  assert.equal(await produceOk(after, 'durable', batchOf(1, { from: 4 })), 4)
})

test('kafkajs admin and producer against the broker', async (t) => {
  const { broker, client } = await setup(t)
  const kafka = new Kafka({ clientId: 'samsa-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } })
  const admin = kafka.admin()
  await admin.connect()
  t.after(() => admin.disconnect())
  assert.equal(await admin.createTopics({ topics: [{ topic: 'kjs', numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '86400000' }] }] }), true)
  assert.equal(await admin.createTopics({ topics: [{ topic: 'kjs' }] }), false, 'already exists')
  const meta = await admin.fetchTopicMetadata({ topics: ['kjs'] })
  assert.deepEqual(meta.topics[0]!.partitions.map((p) => [p.partitionId, p.leader]).sort(), [[0, 1], [1, 1], [2, 1]])
  await admin.createPartitions({ topicPartitions: [{ topic: 'kjs', count: 4 }] })
  assert.equal((await admin.fetchTopicMetadata({ topics: ['kjs'] })).topics[0]!.partitions.length, 4)

  const producer = kafka.producer()
  await producer.connect()
  t.after(() => producer.disconnect())
  await producer.send({ topic: 'kjs', messages: [{ key: 'a', value: 'one', partition: 0, headers: { h: 'x' } }, { key: null, value: 'two', partition: 0 }] })
  await producer.send({ topic: 'kjs', acks: 1, messages: [{ key: 'b', value: 'three', partition: 0 }] })
  const offsets = await admin.fetchTopicOffsets('kjs')
  assert.deepEqual(offsets.map((o) => [o.partition, o.high, o.low]).sort(), [[0, '3', '0'], [1, '0', '0'], [2, '0', '0'], [3, '0', '0']])
  const records = decodeRecords((await fetchOne(client, { topic: 'kjs' })).records)
  assert.deepEqual(records.map((r) => [r.offset, r.key, r.value]), [[0, 'a', 'one'], [1, null, 'two'], [2, 'b', 'three']])
  await admin.deleteTopicRecords({ topic: 'kjs', partitions: [{ partition: 0, offset: '1' }] })
  assert.equal((await admin.fetchTopicOffsets('kjs')).find((o) => o.partition === 0)!.low, '1')
  await admin.deleteTopics({ topics: ['kjs'] })
  assert.deepEqual(await admin.listTopics(), [])
})
