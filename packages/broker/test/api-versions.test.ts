// ApiVersions and version negotiation: what is advertised (exactly the registered handlers,
// from the lowest version any real client sends), KIP-511's answer to a too-new ApiVersions,
// Kafka's software-name check, and the connection being closed for any other API key or
// version the broker does not serve. Request headers are also written by hand here.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  API_DEFINITIONS, ApiKey, ApiVersionsApi, ErrorCode, MetadataApi, ProduceApi, decodeResponse, encodeRequest
} from '@samsa/protocol'
import { HANDLERS } from '../src/handlers/index.ts'
import { clientIdBytes, closedWithin, connect, exchange, handFrame, setup } from './helpers.ts'

/** Version ranges the real clients need (PROTOCOL-NOTES.md §b, §c). */
const REQUIRED: Record<number, [number, number]> = {
  [ApiKey.Produce]: [0, 11],
  [ApiKey.Fetch]: [4, 17],
  [ApiKey.ListOffsets]: [1, 10],
  [ApiKey.Metadata]: [0, 12],
  [ApiKey.ApiVersions]: [0, 4],
  [ApiKey.CreateTopics]: [0, 7],
  [ApiKey.DeleteTopics]: [0, 6],
  [ApiKey.DeleteRecords]: [0, 2],
  [ApiKey.OffsetForLeaderEpoch]: [0, 4],
  [ApiKey.DescribeConfigs]: [0, 4],
  [ApiKey.AlterConfigs]: [0, 2],
  [ApiKey.DescribeLogDirs]: [0, 4],
  [ApiKey.CreatePartitions]: [0, 3],
  [ApiKey.IncrementalAlterConfigs]: [0, 1],
  [ApiKey.DescribeCluster]: [0, 1],
  [ApiKey.DescribeTopicPartitions]: [0, 0]
}

test('ApiVersions advertises exactly the registered handlers, with the ranges clients need', async (t) => {
  const { client } = await setup(t, { inMemory: true })
  for (const version of [0, 1, 2, 3, 4]) {
    const response = await client.request(ApiVersionsApi, version, { clientSoftwareName: 'samsa-test', clientSoftwareVersion: '1.0.0' })
    assert.equal(response.errorCode, ErrorCode.NONE)
    const advertised = response.apiKeys.map((a) => [a.apiKey, a.minVersion, a.maxVersion])
    const registered = HANDLERS.map((h) => [h.api.apiKey, h.minVersion, h.maxVersion]).sort((a, b) => a[0]! - b[0]!)
    assert.deepEqual(advertised, registered, `ApiVersions v${version}`)
    for (const [key, range] of Object.entries(REQUIRED)) {
      const a = response.apiKeys.find((k) => k.apiKey === Number(key))
      assert.ok(a !== undefined, `API ${key} is advertised`)
      assert.deepEqual([a.minVersion, a.maxVersion], range, `API ${key}`)
    }
    if (version >= 1) assert.equal(response.throttleTimeMs, 0)
  }
})

test('every advertised API answers its lowest and highest version', async (t) => {
  const { client } = await setup(t, { inMemory: true })
  const { apiKeys } = await client.request(ApiVersionsApi, 3, { clientSoftwareName: 'samsa-test', clientSoftwareVersion: '1' })
  for (const { apiKey, minVersion, maxVersion } of apiKeys) {
    const api = API_DEFINITIONS[apiKey]!
    for (const version of new Set([minVersion, maxVersion])) {
      const body = api === ProduceApi ? { ...ProduceApi.request.create(), acks: 1 } : api.request.create()
      const response: unknown = await client.request(api, version, body)
      assert.ok(typeof response === 'object' && response !== null, `${api.name} v${version} answered`)
    }
  }
  assert.equal(client.isClosed, false)
})

test('an ApiVersions version above ours gets a v0 body with UNSUPPORTED_VERSION and our range (KIP-511)', async (t) => {
  const { broker } = await setup(t, { inMemory: true })
  for (const version of [5, 127]) {
    // Header v2 (flexible: client id, then an empty tagged-field section), then a body we
    // cannot know the shape of.
    const frame = handFrame(ApiKey.ApiVersions, version, 4242, Buffer.concat([clientIdBytes('future-client'), Buffer.from([0]), Buffer.from([9, 9, 9, 9])]))
    const result = await exchange(broker.port, frame)
    assert.equal(result.frames.length, 1)
    const response = decodeResponse(ApiVersionsApi, 0, result.frames[0]!)
    assert.equal(response.correlationId, 4242)
    assert.equal(response.body.errorCode, ErrorCode.UNSUPPORTED_VERSION)
    assert.deepEqual(response.body.apiKeys, [{ apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 4 }])
    // Exactly a v0 body: error code (2) + array count (4) + one entry (6) after the correlation id.
    assert.equal(result.frames[0]!.length, 4 + 2 + 4 + 6)
    assert.equal(result.closed, false, 'the client may retry on the same connection')
  }
})

test('ApiVersions v3+ checks the client software name and version', async (t) => {
  const { client } = await setup(t, { inMemory: true })
  const bad = [
    { clientSoftwareName: '-kafka', clientSoftwareVersion: '1.0' },
    { clientSoftwareName: 'kafka client', clientSoftwareVersion: '1.0' },
    { clientSoftwareName: 'kafka', clientSoftwareVersion: '1.0-' },
    { clientSoftwareName: '', clientSoftwareVersion: '1.0' }
  ]
  for (const version of [3, 4]) {
    for (const body of bad) {
      const response = await client.request(ApiVersionsApi, version, body)
      assert.equal(response.errorCode, ErrorCode.INVALID_REQUEST, JSON.stringify(body))
    }
  }
  // Names are not checked before v3, and the connection stays usable.
  const v2 = await client.request(ApiVersionsApi, 2, { clientSoftwareName: '-kafka', clientSoftwareVersion: '' })
  assert.equal(v2.errorCode, ErrorCode.NONE)
  const good = await client.request(ApiVersionsApi, 3, { clientSoftwareName: 'confluent-kafka-python', clientSoftwareVersion: '2.0.2-rdkafka-2.0.2' })
  assert.equal(good.errorCode, ErrorCode.NONE)
  assert.ok(good.apiKeys.length >= Object.keys(REQUIRED).length)
})

test('an unsupported version of another API, or an unknown API key, closes the connection', async (t) => {
  const { broker, client } = await setup(t, { inMemory: true })
  const { apiKeys } = await client.request(ApiVersionsApi, 3, { clientSoftwareName: 'samsa-test', clientSoftwareVersion: '1' })
  const served = new Set(apiKeys.map((a) => a.apiKey))
  const unserved = API_DEFINITIONS.find((api) => !served.has(api.apiKey))!
  const cases: Array<[string, number, number]> = [
    ['Fetch v3 (below our minimum)', ApiKey.Fetch, 3],
    ['ListOffsets v0', ApiKey.ListOffsets, 0],
    ['Produce v12 (above our maximum)', ApiKey.Produce, 12],
    ['Metadata v13', ApiKey.Metadata, 13],
    [`${unserved.name} (a known API this broker does not serve)`, unserved.apiKey, unserved.minVersion],
    ['API key 1000', 1000, 0],
    ['API key -1', -1, 0]
  ]
  for (const [what, key, version] of cases) {
    const frame = handFrame(key, version, 7, Buffer.concat([clientIdBytes('c'), Buffer.alloc(32)]))
    const result = await exchange(broker.port, frame)
    assert.deepEqual(result, { frames: [], closed: true }, what)
  }
  // Other connections are unaffected.
  const other = await connect(t, broker)
  const response = await other.request(MetadataApi, 12, { ...MetadataApi.request.create(), topics: null })
  assert.equal(response.brokers.length, 1)
})

test('hand-written request headers: null client id, header v2 for flexible versions, ApiVersions response header always v0', async (t) => {
  const { broker } = await setup(t, { inMemory: true })
  // ApiVersions v0, header v1 with a null client id, pipelined with Metadata v0 for all topics
  // (kafka-python's version probe).
  const apiVersionsV0 = handFrame(ApiKey.ApiVersions, 0, 1, clientIdBytes(null))
  const metadataV0 = handFrame(ApiKey.Metadata, 0, 2, Buffer.concat([clientIdBytes('kafka-python'), Buffer.from([0, 0, 0, 0])]))
  const probe = await exchange(broker.port, Buffer.concat([apiVersionsV0, metadataV0]), { frames: 2 })
  assert.equal(probe.closed, false)
  assert.equal(probe.frames.length, 2)
  const versions = decodeResponse(ApiVersionsApi, 0, probe.frames[0]!)
  assert.equal(versions.correlationId, 1)
  assert.equal(versions.body.errorCode, ErrorCode.NONE)
  assert.ok(versions.body.apiKeys.some((a) => a.apiKey === ApiKey.Produce && a.minVersion === 0))
  const metadata = decodeResponse(MetadataApi, 0, probe.frames[1]!)
  assert.equal(metadata.correlationId, 2)
  assert.equal(metadata.body.brokers[0]!.port, broker.port)

  // ApiVersions v3: request header v2 (tagged fields), response header v0 (no tagged fields
  // after the correlation id), body flexible.
  const v3 = Buffer.concat(encodeRequest(ApiVersionsApi, 3, { correlationId: 3, clientId: 'x' }, { clientSoftwareName: 'a', clientSoftwareVersion: 'b' }))
  const flexible = await exchange(broker.port, v3)
  const frame = flexible.frames[0]!
  const decoded = decodeResponse(ApiVersionsApi, 3, frame)
  assert.equal(decoded.body.errorCode, ErrorCode.NONE)
  assert.equal(frame.readInt16BE(4), ErrorCode.NONE, 'the error code follows the correlation id directly')
  assert.equal(frame[6], decoded.body.apiKeys.length + 1, 'then the compact array of API keys')

  // Metadata v9 (flexible) with a header v2 whose tagged-field section carries an unknown tag:
  // skipped, and the response header is v1.
  const body = Buffer.concat(encodeRequest(MetadataApi, 9, { correlationId: 4, clientId: 'x', unknownTaggedFields: [{ tag: 9, data: Buffer.from([1, 2, 3]) }] }, { ...MetadataApi.request.create(), topics: null }))
  const tagged = await exchange(broker.port, body)
  assert.equal(tagged.closed, false)
  const md = decodeResponse(MetadataApi, 9, tagged.frames[0]!)
  assert.equal(md.correlationId, 4)
  assert.equal(md.body.controllerId, 1)

  // ControlledShutdown v0 is the only API with a header v0 (no client id); not served: closed.
  const controlled = await exchange(broker.port, handFrame(ApiKey.ControlledShutdown, 0, 5, Buffer.from([0, 0, 0, 1])))
  assert.equal(controlled.closed, true)
  assert.equal(controlled.frames.length, 0)
})

test('a truncated header or body closes the connection', async (t) => {
  const { broker } = await setup(t, { inMemory: true })
  // A frame of 3 bytes: not even an API key and version.
  const tiny = await exchange(broker.port, Buffer.from([0, 0, 0, 3, 0, 18, 0]))
  assert.equal(tiny.closed, true)
  // Metadata v1 whose topic array claims 5 entries but carries none.
  const truncated = await exchange(broker.port, handFrame(ApiKey.Metadata, 1, 1, Buffer.concat([clientIdBytes('c'), Buffer.from([0, 0, 0, 5])])))
  assert.deepEqual(truncated, { frames: [], closed: true })
})

test('the raw client sees every response on a busy connection in order', async (t) => {
  const { client } = await setup(t, { inMemory: true })
  const all = await Promise.all(Array.from({ length: 50 }, async (_, i) => await client.request(ApiVersionsApi, i % 5, { clientSoftwareName: 'a', clientSoftwareVersion: 'b' })))
  assert.equal(all.length, 50)
  assert.ok(all.every((r) => r.errorCode === ErrorCode.NONE))
  assert.equal(await closedWithin(client, 10), 'open')
})
