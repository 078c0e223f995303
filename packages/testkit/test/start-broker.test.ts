import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { test } from 'node:test'
import { ApiVersionsApi, CreateTopicsApi, MetadataApi, ProduceApi, buildRecordBatch } from '@samsa/protocol'
import { connectRaw, startBroker } from '../src/mod.ts'

async function createAndProduce (bootstrap: string, topic: string): Promise<void> {
  const client = await connectRaw(bootstrap)
  try {
    const created = await client.request(CreateTopicsApi, 4, { ...CreateTopicsApi.request.create(), topics: [{ name: topic, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000 })
    assert.equal(created.topics[0]!.errorCode, 0)
    const records = buildRecordBatch({ records: [{ key: Buffer.from('k'), value: Buffer.from('v') }] })
    const produced = await client.request(ProduceApi, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 1, records }] }] })
    assert.equal(produced.responses[0]!.partitionResponses[0]!.errorCode, 0)
  } finally {
    client.close()
  }
}

async function topicNames (bootstrap: string): Promise<string[]> {
  const client = await connectRaw(bootstrap)
  try {
    const metadata = await client.request(MetadataApi, 12, { ...MetadataApi.request.create(), topics: null })
    return metadata.topics.map((t) => t.name ?? '').sort()
  } finally {
    client.close()
  }
}

test('startBroker listens on a free loopback port within tens of milliseconds', async (t) => {
  const started = performance.now()
  const broker = await startBroker()
  const ms = performance.now() - started
  t.after(() => broker.stop())
  assert.match(broker.bootstrap, /^127\.0\.0\.1:\d+$/)
  assert.ok(broker.port > 0)
  assert.ok(ms < 1000, `took ${ms} ms`)
  const client = await connectRaw(broker.bootstrap)
  t.after(() => client.close())
  const versions = await client.request(ApiVersionsApi, 3, { clientSoftwareName: 'testkit', clientSoftwareVersion: '1' })
  assert.equal(versions.errorCode, 0)
})

test('a temporary data directory survives restart() and is removed by stop()', async () => {
  const broker = await startBroker()
  await createAndProduce(broker.bootstrap, 'kept')
  await broker.restart()
  assert.deepEqual(await topicNames(broker.bootstrap), ['kept'])
  await broker.stop()
  assert.equal(existsSync(broker.dataDir), false)
})

test('the in-memory store writes nothing to disk and survives restart() in the process', async (t) => {
  const broker = await startBroker({ inMemory: true })
  t.after(() => broker.stop())
  assert.equal(existsSync(broker.dataDir), false)
  await createAndProduce(broker.bootstrap, 'in-memory')
  await broker.restart()
  assert.deepEqual(await topicNames(broker.bootstrap), ['in-memory'])
  assert.equal(existsSync(broker.dataDir), false)
})

test('broker configs by Kafka name apply', async (t) => {
  const broker = await startBroker({ inMemory: true, config: { 'auto.create.topics.enable': false, 'num.partitions': 4 } })
  t.after(() => broker.stop())
  const client = await connectRaw(broker.bootstrap)
  t.after(() => client.close())
  const metadata = await client.request(MetadataApi, 12, { ...MetadataApi.request.create(), topics: [{ name: 'nope', topicId: '00000000-0000-0000-0000-000000000000' }], allowAutoTopicCreation: true })
  assert.equal(metadata.topics[0]!.errorCode, 3)
  assert.equal(broker.broker.settings.numPartitions, 4)
})

test('the raw client reports a closed connection', async (t) => {
  const broker = await startBroker({ inMemory: true })
  t.after(() => broker.stop())
  const client = await connectRaw(broker.bootstrap)
  // An unknown API key closes the connection, as Kafka does.
  client.writeRaw(Buffer.from([0, 0, 0, 10, 0x7f, 0x7f, 0, 0, 0, 0, 0, 1, 0xff, 0xff]))
  await client.closed
  assert.equal(client.isClosed, true)
})
