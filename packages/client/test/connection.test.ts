import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { tracingChannel } from 'node:diagnostics_channel'
import { test } from 'node:test'
import { ApiKey, ApiVersionsApi, CreateTopicsApi, ErrorCode, MetadataApi, ProduceApi, ZERO_UUID } from '@samsa/protocol'
import { Connection } from '../src/connection.ts'
import { chooseVersion, clientMaxVersion } from '../src/api-versions.ts'
import { KafkaClosedError, KafkaNetworkError, KafkaTimeoutError, KafkaUnsupportedVersionError } from '../src/errors.ts'
import type { RequestTraceContext } from '../src/diagnostics.ts'
import { NO_RESPONSE, requestsOf, startFakeBroker } from './fake-broker.ts'

const metadataBody = { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }

test('ApiVersions: v3 first, then the version a KIP-511 broker names in its v0 UNSUPPORTED_VERSION answer', async (t) => {
  const broker = await startFakeBroker({ apiVersions: [[ApiKey.ApiVersions, 0, 2], [ApiKey.Metadata, 0, 9]] })
  t.after(() => broker.close())
  const connection = await Connection.connect({ host: broker.host, port: broker.port })
  t.after(() => connection.close())
  const sent = requestsOf(broker, ApiVersionsApi).map((r) => r.apiVersion)
  assert.deepEqual(sent, [3, 2])
  assert.equal(connection.apiVersionsVersion, 2)
  assert.deepEqual(connection.apiVersions.get(ApiKey.Metadata), { minVersion: 0, maxVersion: 9 })
})

test('ApiVersions falls back to v0 when the error body does not list ApiVersions', async (t) => {
  const broker = await startFakeBroker({
    handle: (req) => req.apiKey === ApiKey.ApiVersions && req.apiVersion > 0
      ? { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: [], throttleTimeMs: 0, supportedFeatures: [], finalizedFeaturesEpoch: -1n, finalizedFeatures: [], zkMigrationReady: false }
      : undefined
  })
  t.after(() => broker.close())
  const connection = await Connection.connect({ host: broker.host, port: broker.port })
  t.after(() => connection.close())
  assert.deepEqual(requestsOf(broker, ApiVersionsApi).map((r) => r.apiVersion), [3, 0])
  assert.equal(connection.apiVersionsVersion, 0)
})

test('requests use the highest version both sides support, or the caller\'s cap', async (t) => {
  const broker = await startFakeBroker({ apiVersions: [[ApiKey.ApiVersions, 0, 3], [ApiKey.Metadata, 1, 7]] })
  t.after(() => broker.close())
  const connection = await Connection.connect({ host: broker.host, port: broker.port })
  t.after(() => connection.close())
  assert.equal(connection.versionFor(MetadataApi), 7)
  await connection.request(MetadataApi, metadataBody)
  await connection.request(MetadataApi, metadataBody, { maxVersion: 4 })
  let built = -1
  await connection.request(MetadataApi, (v) => { built = v; return metadataBody }, { maxVersion: 5 })
  assert.equal(built, 5)
  assert.deepEqual(requestsOf(broker, MetadataApi).map((r) => r.apiVersion), [7, 4, 5])
  await assert.rejects(connection.request(MetadataApi, metadataBody, { maxVersion: 0 }),
    (e: unknown) => e instanceof KafkaUnsupportedVersionError && /broker supports 1-7, the client 0-0/.test(e.message))
  await assert.rejects(connection.request(CreateTopicsApi, { topics: [], timeoutMs: 1, validateOnly: false }),
    (e: unknown) => e instanceof KafkaUnsupportedVersionError && e.message === 'The broker does not support CreateTopics (API key 19)')
})

test('version choice: client max excludes unstable versions; the broker min counts', () => {
  const broker = new Map([[ApiKey.Produce, { minVersion: 3, maxVersion: 20 }], [ApiKey.Metadata, { minVersion: 0, maxVersion: 4 }]])
  assert.equal(chooseVersion(ProduceApi, broker), ProduceApi.maxVersion)
  assert.equal(chooseVersion(MetadataApi, broker), 4)
  assert.equal(chooseVersion(ProduceApi, broker, { maxVersion: 7 }), 7)
  assert.throws(() => chooseVersion(ProduceApi, broker, { maxVersion: 2 }), KafkaUnsupportedVersionError)
  assert.equal(clientMaxVersion(ApiVersionsApi), ApiVersionsApi.maxVersion)
})

test('requests pipeline up to maxInFlightRequests; the rest queue; answers resolve in order', async (t) => {
  const held: Array<() => void> = []
  const broker = await startFakeBroker({
    handle: (req) => req.apiKey === ApiKey.Metadata ? new Promise((resolve) => { held.push(() => resolve(undefined)) }) : undefined
  })
  t.after(() => broker.close())
  const connection = await Connection.connect({ host: broker.host, port: broker.port, maxInFlightRequests: 2 })
  t.after(() => connection.close())
  const results = [1, 2, 3, 4].map(async () => await connection.request(MetadataApi, metadataBody))
  await new Promise((r) => setTimeout(r, 50))
  assert.equal(requestsOf(broker, MetadataApi).length, 2, 'two written, two queued')
  assert.equal(connection.inFlight, 2)
  assert.equal(connection.queued, 2)
  while (requestsOf(broker, MetadataApi).length < 4 || held.length > 0) {
    held.shift()?.()
    await new Promise((r) => setTimeout(r, 10))
  }
  assert.equal((await Promise.all(results)).length, 4)
  const ids = requestsOf(broker, MetadataApi).map((r) => r.correlationId)
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b))
})

test('a request without an answer times out and closes the connection; the others fail as network errors', async (t) => {
  const broker = await startFakeBroker({ handle: (req) => req.apiKey === ApiKey.Metadata ? NO_RESPONSE : undefined })
  t.after(() => broker.close())
  const connection = await Connection.connect({ host: broker.host, port: broker.port, requestTimeoutMs: 150 })
  const closed = new Promise((resolve) => connection.once('close', resolve))
  const first = connection.request(MetadataApi, metadataBody)
  const second = connection.request(MetadataApi, metadataBody, { timeoutMs: 10_000 })
  await assert.rejects(first, (e: unknown) => e instanceof KafkaTimeoutError && /Metadata request to 127\.0\.0\.1:\d+ timed out after 150 ms/.test(e.message))
  await assert.rejects(second, (e: unknown) => e instanceof KafkaNetworkError && e.retriable)
  assert.ok((await closed) instanceof KafkaNetworkError)
  assert.ok(connection.closed)
  await assert.rejects(connection.request(MetadataApi, metadataBody), KafkaNetworkError)
})

test('acks=0 style requests resolve once written, without waiting for an answer', async (t) => {
  const broker = await startFakeBroker({ topics: { t: 1 } })
  t.after(() => broker.close())
  const connection = await Connection.connect({ host: broker.host, port: broker.port })
  t.after(() => connection.close())
  const result = await connection.request(ProduceApi, { transactionalId: null, acks: 0, timeoutMs: 1000, topicData: [] }, { expectResponse: false })
  assert.equal(result, undefined)
  assert.equal(connection.inFlight, 0)
  // The connection still answers in order afterwards.
  await connection.request(MetadataApi, { ...metadataBody, topics: [{ topicId: ZERO_UUID, name: 't' }] })
})

test('a refused connection fails with a clear network error', async () => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  await assert.rejects(Connection.connect({ host: '127.0.0.1', port }), (e: unknown) => {
    assert.ok(e instanceof KafkaNetworkError)
    assert.equal(e.code, 'SAMSA_CLIENT_NETWORK')
    assert.equal(e.broker, `127.0.0.1:${port}`)
    assert.match(e.message, new RegExp(`^Connection to 127\\.0\\.0\\.1:${port} failed: connect ECONNREFUSED`))
    return true
  })
})

test('a broker that closes the socket fails pending requests; close() fails them with KafkaClosedError', async (t) => {
  const broker = await startFakeBroker({
    handle: (req) => {
      if (req.apiKey !== ApiKey.Metadata) return undefined
      req.socket.destroy()
      return NO_RESPONSE
    }
  })
  t.after(() => broker.close())
  const connection = await Connection.connect({ host: broker.host, port: broker.port })
  await assert.rejects(connection.request(MetadataApi, metadataBody), (e: unknown) => e instanceof KafkaNetworkError && /closed by the broker/.test(e.message))

  const quiet = await startFakeBroker({ handle: (req) => req.apiKey === ApiKey.Metadata ? NO_RESPONSE : undefined })
  t.after(() => quiet.close())
  const c2 = await Connection.connect({ host: quiet.host, port: quiet.port })
  const pending = assert.rejects(c2.request(MetadataApi, metadataBody), KafkaClosedError)
  await c2.close()
  await pending
})

test('every request is traced on the samsa:client:request tracing channel', async (t) => {
  const broker = await startFakeBroker()
  t.after(() => broker.close())
  const connection = await Connection.connect({ host: broker.host, port: broker.port, nodeId: 7 })
  t.after(() => connection.close())
  const seen: RequestTraceContext[] = []
  const channel = tracingChannel<unknown, RequestTraceContext>('samsa:client:request')
  const handlers = { start () {}, end () {}, asyncStart () {}, asyncEnd (ctx: RequestTraceContext) { seen.push(ctx) }, error () {} }
  channel.subscribe(handlers)
  await connection.request(MetadataApi, metadataBody)
  channel.unsubscribe(handlers)
  await connection.request(MetadataApi, metadataBody)
  assert.equal(seen.length, 1)
  assert.equal(seen[0]!.api, 'Metadata')
  assert.equal(seen[0]!.nodeId, 7)
  assert.equal(seen[0]!.apiVersion, 12)
  assert.ok(seen[0]!.correlationId > 0)
  assert.ok(seen[0]!.result !== undefined)
})
