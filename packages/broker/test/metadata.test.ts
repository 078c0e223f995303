// Metadata: all topics / none / some by version, auto-creation (broker switch and request
// flag), topic ids and lookups by id, invalid names, and the broker address advertised.
import assert from 'node:assert/strict'
import { networkInterfaces } from 'node:os'
import { test } from 'node:test'
import { ErrorCode, MetadataApi } from '@samsa/protocol'
import type { MetadataRequest, MetadataResponse } from '@samsa/protocol/messages/metadata'
import { type RawClient, connectRaw, startBroker } from '@samsa/testkit'
import { ZERO_UUID, connect, createTopic, setup } from './helpers.ts'

function request (names: string[] | null, overrides: Partial<MetadataRequest> = {}): MetadataRequest {
  return { ...MetadataApi.request.create(), topics: names === null ? null : names.map((name) => ({ topicId: ZERO_UUID, name })), ...overrides }
}

async function metadata (client: RawClient, version: number, names: string[] | null, overrides: Partial<MetadataRequest> = {}): Promise<MetadataResponse> {
  return await client.request(MetadataApi, version, request(names, overrides))
}

const names = (r: MetadataResponse): Array<string | null> => r.topics.map((t) => t.name).sort()

test('all topics, none, or the named ones, as each version asks', async (t) => {
  const { client } = await setup(t, { inMemory: true, config: { 'auto.create.topics.enable': false } })
  await createTopic(client, 'alpha', { partitions: 2 })
  await createTopic(client, 'beta')
  // v0: an empty list means every topic.
  assert.deepEqual(names(await metadata(client, 0, [])), ['alpha', 'beta'])
  // v1+: null means every topic, an empty list none.
  for (const version of [1, 4, 9, 12]) {
    assert.deepEqual(names(await metadata(client, version, null)), ['alpha', 'beta'], `v${version} null`)
    assert.deepEqual(names(await metadata(client, version, [])), [], `v${version} []`)
  }
  const one = await metadata(client, 1, ['alpha'])
  assert.equal(one.topics.length, 1)
  const alpha = one.topics[0]!
  assert.equal(alpha.errorCode, ErrorCode.NONE)
  assert.equal(alpha.isInternal, false)
  assert.deepEqual(alpha.partitions.map((p) => [p.partitionIndex, p.leaderId, p.replicaNodes, p.isrNodes]), [[0, 1, [1], [1]], [1, 1, [1], [1]]])
  assert.equal(one.controllerId, 1)
  const v7 = await metadata(client, 7, ['alpha'])
  assert.deepEqual(v7.topics[0]!.partitions.map((p) => p.leaderEpoch), [0, 0])
  const v2 = await metadata(client, 2, null)
  assert.match(v2.clusterId ?? '', /^[A-Za-z0-9_-]{22}$/, 'a Kafka-style cluster id')
})

test('auto-creation: on for unknown topics by default, off by request flag (v4+) or broker config', async (t) => {
  const { broker, client } = await setup(t, { inMemory: true, config: { 'num.partitions': 3 } })
  // v4+ with allowAutoTopicCreation: created with num.partitions, ready at once.
  const created = await metadata(client, 9, ['auto-1'], { allowAutoTopicCreation: true })
  assert.equal(created.topics[0]!.errorCode, ErrorCode.NONE)
  assert.equal(created.topics[0]!.partitions.length, 3)
  assert.ok(broker.broker.topics.get('auto-1') !== undefined)
  // allowAutoTopicCreation=false: UNKNOWN_TOPIC_OR_PARTITION, nothing created.
  const refused = await metadata(client, 9, ['auto-2'], { allowAutoTopicCreation: false })
  assert.equal(refused.topics[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
  assert.equal(broker.broker.topics.get('auto-2'), undefined)
  // Before v4 there is no flag: creation is always allowed.
  const v1 = await metadata(client, 1, ['auto-3'])
  assert.equal(v1.topics[0]!.errorCode, ErrorCode.NONE)
  assert.equal(v1.topics[0]!.partitions.length, 3)
  // Concurrent requests create a topic once.
  const racers = await Promise.all([0, 1, 2, 3].map(async () => await metadata(client, 12, ['auto-4'], { allowAutoTopicCreation: true })))
  const ids = new Set(racers.map((r) => r.topics[0]!.topicId))
  assert.equal(ids.size, 1)
  assert.ok(racers.every((r) => r.topics[0]!.errorCode === ErrorCode.NONE))

  // auto.create.topics.enable=false: never, whatever the request says.
  const { client: off } = await setup(t, { inMemory: true, config: { 'auto.create.topics.enable': false } })
  for (const version of [0, 1, 4, 12]) {
    const r = await metadata(off, version, [`nope-${version}`], version >= 4 ? { allowAutoTopicCreation: true } : {})
    assert.equal(r.topics[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `v${version}`)
  }
  assert.deepEqual(names(await metadata(off, 1, null)), [])
})

test('invalid topic names are INVALID_TOPIC_EXCEPTION and are not created', async (t) => {
  const { client } = await setup(t, { inMemory: true })
  const bad = ['bad name', 'bad/name', '..', '.', 'x'.repeat(250), 'ünïcode']
  const r = await metadata(client, 9, bad, { allowAutoTopicCreation: true })
  assert.deepEqual(r.topics.map((tp) => [tp.name, tp.errorCode]), bad.map((n) => [n, ErrorCode.INVALID_TOPIC_EXCEPTION]))
  assert.deepEqual(names(await metadata(client, 9, null)), [])
  // A name of 249 legal characters is fine.
  const longest = 'a'.repeat(249)
  assert.equal((await metadata(client, 9, [longest], { allowAutoTopicCreation: true })).topics[0]!.errorCode, ErrorCode.NONE)
})

test('topic ids from v10, lookups by id from v12', async (t) => {
  const { client } = await setup(t, { inMemory: true, config: { 'auto.create.topics.enable': false } })
  const created = await createTopic(client, 'ids')
  const v10 = await metadata(client, 10, ['ids'])
  assert.equal(v10.topics[0]!.topicId, created.topicId)
  assert.notEqual(created.topicId, ZERO_UUID)
  const v9 = await metadata(client, 9, ['ids'])
  assert.equal(v9.topics[0]!.topicId, ZERO_UUID, 'not sent before v10')
  // v12: by id (name null), known and unknown.
  const unknownId = '00000000-0000-4000-8000-00000000abcd'
  const byId = await client.request(MetadataApi, 12, { ...MetadataApi.request.create(), topics: [{ topicId: created.topicId, name: null }, { topicId: unknownId, name: null }] })
  assert.deepEqual(byId.topics.map((tp) => [tp.name, tp.topicId, tp.errorCode]), [
    ['ids', created.topicId, ErrorCode.NONE],
    [null, unknownId, ErrorCode.UNKNOWN_TOPIC_ID]
  ])
  // Internal topics are flagged.
  await createTopic(client, '__consumer_offsets')
  const internal = await metadata(client, 12, ['__consumer_offsets'])
  assert.equal(internal.topics[0]!.isInternal, true)
})

test('the broker advertises the address the client connected to', async (t) => {
  // Every interface (Kafka's empty host).
  const broker = await startBroker({ inMemory: true, host: '' })
  t.after(() => broker.stop())
  const addresses = ['127.0.0.1', '127.0.0.2']
  const lan = Object.values(networkInterfaces()).flat().find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)
  if (lan !== undefined) addresses.push(lan.address)
  for (const address of addresses) {
    const client = await connectRaw(`${address}:${broker.port}`)
    t.after(() => client.close())
    for (const version of [0, 1, 12]) {
      const r = await metadata(client, version, version === 0 ? [] : null)
      assert.deepEqual(r.brokers.map((b) => [b.nodeId, b.host, b.port]), [[1, address, broker.port]], `${address}, Metadata v${version}`)
    }
  }
})

test('with advertised.listeners set, the broker advertises that address', async (t) => {
  const broker = await startBroker({ inMemory: true, config: { 'advertised.listeners': 'PLAINTEXT://kafka.example.com:19092', 'broker.rack': 'r1' } })
  t.after(() => broker.stop())
  const client = await connect(t, broker)
  const r = await metadata(client, 12, null)
  assert.deepEqual(r.brokers, [{ nodeId: 1, host: 'kafka.example.com', port: 19092, rack: 'r1' }])
})
