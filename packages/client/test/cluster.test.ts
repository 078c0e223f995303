import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ApiKey, ErrorCode, FindCoordinatorApi, MetadataApi, SaslHandshakeApi } from '@samsa/protocol'
import { Cluster, CoordinatorType } from '../src/cluster.ts'
import { Connection } from '../src/connection.ts'
import { KafkaNetworkError, KafkaResponseError } from '../src/errors.ts'
import type { SaslAuthenticator } from '../src/sasl.ts'
import { DEFAULT_API_VERSIONS, requestsOf, startFakeBroker } from './fake-broker.ts'

test('metadata: topics, partitions, leaders, refresh coalescing and periodic refresh', async (t) => {
  const broker = await startFakeBroker({ topics: { a: 3, b: 1 } })
  t.after(() => broker.close())
  const cluster = new Cluster({ bootstrapServers: [broker.bootstrap], metadataMaxAgeMs: 100 })
  t.after(() => cluster.close())
  cluster.trackTopics(['a'])
  const [m1, m2] = await Promise.all([cluster.refreshMetadata(), cluster.refreshMetadata()])
  assert.equal(m1, m2, 'concurrent refreshes of the same topics share one request')
  assert.equal(requestsOf(broker, MetadataApi).length, 1)
  assert.equal(cluster.topic('a')?.partitions.length, 3)
  assert.equal(cluster.leaderFor('a', 2), broker.nodeId)
  assert.equal(cluster.leaderFor('a', 9), -1)
  assert.equal(cluster.topic('b'), undefined, 'only tracked topics')
  await cluster.refreshMetadata({ topics: ['b'] })
  assert.ok(cluster.topic('a') !== undefined && cluster.topic('b') !== undefined, 'a partial refresh keeps other topics')
  const all = await cluster.refreshMetadata({ topics: null })
  assert.deepEqual([...all.topics.keys()].sort(), ['a', 'b'])
  assert.equal(all.clusterId, 'fake')
  const before = requestsOf(broker, MetadataApi).length
  await new Promise((r) => setTimeout(r, 350))
  assert.ok(requestsOf(broker, MetadataApi).length >= before + 2, 'refreshed every metadataMaxAgeMs')
})

test('coordinators: FindCoordinator v4+ batches keys of one tick; the cache drops a coordinator that moved', async (t) => {
  const broker = await startFakeBroker()
  t.after(() => broker.close())
  const cluster = new Cluster({ bootstrapServers: broker.bootstrap, retryBackoffMs: 1 })
  t.after(() => cluster.close())
  const [g1, g2, tx] = await Promise.all([
    cluster.findCoordinator(CoordinatorType.GROUP, 'g1'),
    cluster.findCoordinator(CoordinatorType.GROUP, 'g2'),
    cluster.findCoordinator(CoordinatorType.TRANSACTION, 'tx')
  ])
  assert.deepEqual([g1.nodeId, g2.nodeId, tx.nodeId], [1, 1, 1])
  const finds = requestsOf(broker, FindCoordinatorApi)
  assert.deepEqual(finds.map((r) => [r.apiVersion, r.body.keyType, r.body.coordinatorKeys]), [[6, 0, ['g1', 'g2']], [6, 1, ['tx']]])
  await cluster.findCoordinator(CoordinatorType.GROUP, 'g1')
  assert.equal(requestsOf(broker, FindCoordinatorApi).length, 2, 'cached')

  let calls = 0
  const result = await cluster.withCoordinator({ type: CoordinatorType.GROUP, key: 'g1' }, async () => {
    calls++
    if (calls === 1) throw new KafkaResponseError(ErrorCode.NOT_COORDINATOR, null, { api: 'OffsetFetch', resource: 'g1' })
    return await Promise.resolve('done')
  })
  assert.equal(result, 'done')
  assert.equal(requestsOf(broker, FindCoordinatorApi).length, 3, 'looked up again after NOT_COORDINATOR')
})

test('coordinators: brokers before FindCoordinator v4 get one request per key (v0 for groups only)', async (t) => {
  const broker = await startFakeBroker({ apiVersions: [...DEFAULT_API_VERSIONS.filter(([k]) => k !== ApiKey.FindCoordinator), [ApiKey.FindCoordinator, 0, 2]] })
  t.after(() => broker.close())
  const cluster = new Cluster({ bootstrapServers: broker.bootstrap })
  t.after(() => cluster.close())
  await Promise.all([cluster.findCoordinator(CoordinatorType.GROUP, 'g1'), cluster.findCoordinator(CoordinatorType.GROUP, 'g2')])
  assert.deepEqual(requestsOf(broker, FindCoordinatorApi).map((r) => [r.apiVersion, r.body.key]), [[2, 'g1'], [2, 'g2']])
})

test('coordinator errors are retried: COORDINATOR_NOT_AVAILABLE, then found', async (t) => {
  let failures = 2
  const broker = await startFakeBroker({
    handle: (req) => req.apiKey === ApiKey.FindCoordinator && failures-- > 0
      ? { throttleTimeMs: 0, errorCode: 0, errorMessage: null, nodeId: -1, host: '', port: -1, coordinators: [{ key: 'g', nodeId: -1, host: '', port: -1, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: null }] }
      : undefined
  })
  t.after(() => broker.close())
  const cluster = new Cluster({ bootstrapServers: broker.bootstrap, retryBackoffMs: 1, retryBackoffMaxMs: 5 })
  t.after(() => cluster.close())
  assert.equal((await cluster.findCoordinator(CoordinatorType.GROUP, 'g')).port, broker.port)
  assert.equal(requestsOf(broker, FindCoordinatorApi).length, 3)
})

test('one connection per broker and channel; a closed connection is replaced on next use', async (t) => {
  const broker = await startFakeBroker({ topics: { a: 1 } })
  t.after(() => broker.close())
  const cluster = new Cluster({ bootstrapServers: broker.bootstrap })
  t.after(() => cluster.close())
  await cluster.refreshMetadata({ topics: ['a'] })
  const c1 = await cluster.connection(1)
  assert.equal(await cluster.connection(1), c1)
  const fetch = await cluster.connection(1, { channel: 'fetch' })
  assert.notEqual(fetch, c1)
  assert.equal(cluster.connections.size, 2)
  await c1.close()
  const c2 = await cluster.connection(1)
  assert.notEqual(c2, c1)
  assert.ok(!c2.closed)
  await cluster.close()
  await assert.rejects(cluster.connection(1), (e: unknown) => (e as Error).name === 'KafkaClosedError')
})

test('the SASL hook runs after ApiVersions, can send requests, and fails the connection when it throws', async (t) => {
  const broker = await startFakeBroker({ apiVersions: [...DEFAULT_API_VERSIONS, [ApiKey.SaslHandshake, 0, 1]] })
  t.after(() => broker.close())
  const order: string[] = []
  const sasl: SaslAuthenticator = {
    mechanism: 'PLAIN',
    async authenticate (connection) {
      order.push(`versions:${connection.apiVersions.size}`)
      await connection.request(SaslHandshakeApi, { mechanism: 'PLAIN' })
      order.push('handshake')
    }
  }
  const connection = await Connection.connect({ host: broker.host, port: broker.port, sasl })
  t.after(() => connection.close())
  assert.deepEqual(order, [`versions:${DEFAULT_API_VERSIONS.length + 1}`, 'handshake'])
  assert.deepEqual(broker.requests.map((r) => r.apiKey), [ApiKey.ApiVersions, ApiKey.SaslHandshake])
  const failing: SaslAuthenticator = { mechanism: 'PLAIN', authenticate: () => Promise.reject(new KafkaResponseError(ErrorCode.SASL_AUTHENTICATION_FAILED, 'bad password')) }
  await assert.rejects(Connection.connect({ host: broker.host, port: broker.port, sasl: failing }), (e: unknown) => e instanceof KafkaResponseError && e.errorName === 'SASL_AUTHENTICATION_FAILED')
})

test('TLS: the tls option connects with tls.connect options', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'samsa-tls-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { encoding: 'utf8' })
  if (made.status !== 0) return t.skip(`openssl could not make a certificate: ${made.stderr}`)
  const key = readFileSync(join(dir, 'key.pem'), 'utf8')
  const cert = readFileSync(join(dir, 'cert.pem'), 'utf8')
  const broker = await startFakeBroker({ tls: { key, cert }, topics: { a: 1 } })
  t.after(() => broker.close())
  const cluster = new Cluster({ bootstrapServers: broker.bootstrap, tls: { ca: cert } })
  t.after(() => cluster.close())
  await cluster.refreshMetadata({ topics: ['a'] })
  assert.equal(cluster.topic('a')?.partitions.length, 1)
  const untrusted = new Cluster({ bootstrapServers: broker.bootstrap, tls: true, maxRetries: 0 })
  t.after(() => untrusted.close())
  await assert.rejects(untrusted.refreshMetadata({ topics: ['a'] }), (e: unknown) => e instanceof KafkaNetworkError && /self.signed|certificate/i.test(e.message))
})
