// Connections: pipelined requests answered strictly in order, the frame size limit checked
// before anything is allocated, idle timeouts, max.connections, graceful shutdown and
// backpressure on a client that writes without reading.
import assert from 'node:assert/strict'
import { type Socket, createConnection } from 'node:net'
import { test } from 'node:test'
import {
  type ApiDefinition, ApiVersionsApi, ErrorCode, FetchApi, MetadataApi, ProduceApi, decodeResponse, encodeRequest
} from '@samsa/protocol'
import { Broker, MemoryMetadataStore, embeddedBrokerOptions } from '@samsa/broker'
import { MemoryFileSystem } from '@samsa/storage'
import { connectRaw } from '@samsa/testkit'
import { HANDLERS } from '../src/handlers/index.ts'
import type { Connection } from '../src/network/connection.ts'
import {
  batchOf, closedWithin, connect, createTopic, decodeRecords, exchange, fetchOne, fetchRequest, produceOk, setup, sleep, until
} from './helpers.ts'

function encode<Req> (api: ApiDefinition<Req, unknown>, version: number, correlationId: number, body: Req): Buffer {
  return Buffer.concat(encodeRequest(api, version, { correlationId, clientId: 'pipeline' }, body))
}

/** Splits response frames (size-prefixed) out of a byte stream. */
class FrameReader {
  frames: Buffer[] = []
  #pending = Buffer.alloc(0)
  push (chunk: Buffer): void {
    this.#pending = Buffer.concat([this.#pending, chunk])
    while (this.#pending.length >= 4 && this.#pending.length >= 4 + this.#pending.readInt32BE(0)) {
      const size = this.#pending.readInt32BE(0)
      this.frames.push(this.#pending.subarray(4, 4 + size))
      this.#pending = this.#pending.subarray(4 + size)
    }
  }
}

async function openSocket (port: number): Promise<Socket> {
  return await new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => resolve(socket))
    socket.once('error', reject)
  })
}

test('pipelined requests are answered in order, even when an earlier one long-polls', async (t) => {
  const { broker, client } = await setup(t, { inMemory: true })
  await createTopic(client, 'pipe')
  // One write: a long-polling Fetch, then ApiVersions and Metadata requests, then a Produce whose
  // append wakes the Fetch. Later requests run while the Fetch waits; their answers wait for it.
  const frames: Buffer[] = [encode(FetchApi, 11, 1, fetchRequest([{ topic: 'pipe' }], { maxWaitMs: 5000, minBytes: 1 }))]
  for (let id = 2; id <= 30; id++) {
    frames.push(id % 2 === 0
      ? encode(ApiVersionsApi, 3, id, { clientSoftwareName: 'p', clientSoftwareVersion: '1' })
      : encode(MetadataApi, 12, id, { ...MetadataApi.request.create(), topics: null }))
  }
  frames.push(encode(ProduceApi, 9, 31, { transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: 'pipe', partitionData: [{ index: 0, records: batchOf(2) }] }] }))
  const started = performance.now()
  const result = await exchange(broker.port, Buffer.concat(frames), { frames: 31, timeoutMs: 4000 })
  assert.ok(performance.now() - started < 3000, 'the Fetch was woken by the pipelined Produce')
  assert.equal(result.frames.length, 31)
  assert.deepEqual(result.frames.map((f) => f.readInt32BE(0)), Array.from({ length: 31 }, (_, i) => i + 1))
  const fetched = decodeResponse(FetchApi, 11, result.frames[0]!).body
  assert.deepEqual(decodeRecords(fetched.responses[0]!.partitions[0]!.records).map((r) => r.key), ['k0', 'k1'])
  const produced = decodeResponse(ProduceApi, 9, result.frames[30]!).body
  assert.equal(produced.responses[0]!.partitionResponses[0]!.baseOffset, 0n)

  // Without the Produce, the Fetch holds every later answer until max.wait.ms.
  const held = [encode(FetchApi, 11, 1, fetchRequest([{ topic: 'pipe', offset: 2 }], { maxWaitMs: 600, minBytes: 1 })), encode(ApiVersionsApi, 0, 2, { clientSoftwareName: '', clientSoftwareVersion: '' })]
  const heldStart = performance.now()
  const second = await exchange(broker.port, Buffer.concat(held), { frames: 2, timeoutMs: 4000 })
  assert.deepEqual(second.frames.map((f) => f.readInt32BE(0)), [1, 2])
  assert.ok(performance.now() - heldStart >= 590, 'ApiVersions was answered after the Fetch')
})

test('a frame above socket.request.max.bytes closes the connection before the body arrives', async (t) => {
  const { broker, client } = await setup(t, { inMemory: true, config: { 'socket.request.max.bytes': 64 * 1024 } })
  await createTopic(client, 'big')
  const rssBefore = process.memoryUsage().rss
  for (const size of [64 * 1024 + 1, 512 * 1024 * 1024, 0x7fffffff, -1]) {
    const prefix = Buffer.alloc(4)
    prefix.writeInt32BE(size)
    // Only the size and a few bytes: the broker must not wait for (or allocate) the rest.
    const result = await exchange(broker.port, Buffer.concat([prefix, Buffer.from([0, 18, 0, 0])]), { timeoutMs: 2000 })
    assert.deepEqual(result, { frames: [], closed: true }, `size ${size}`)
  }
  assert.ok(process.memoryUsage().rss - rssBefore < 256 * 1024 * 1024, 'nothing near the claimed sizes was allocated')
  // A request just under the limit is served.
  const r = await produceOk(client, 'big', batchOf(1, { valueSize: 60 * 1024 }))
  assert.equal(r, 0)
  assert.equal(client.isClosed, false)
})

test('idle connections are closed after connections.max.idle.ms, but not while a request is in flight', async (t) => {
  const { broker, client } = await setup(t, { inMemory: true, config: { 'connections.max.idle.ms': 300 } })
  await createTopic(client, 'idle')
  // A Fetch waiting longer than the idle timeout keeps the connection.
  const started = performance.now()
  const p = await fetchOne(client, { topic: 'idle' }, { maxWaitMs: 800, minBytes: 1 })
  assert.ok(performance.now() - started >= 790)
  assert.equal(p.errorCode, ErrorCode.NONE)
  assert.equal(client.isClosed, false)
  // Then, with nothing to do, it is closed.
  const idleFrom = performance.now()
  await client.closed
  const idleFor = performance.now() - idleFrom
  assert.ok(idleFor >= 250 && idleFor < 2000, `closed after ${Math.round(idleFor)} ms idle`)
  await until(() => broker.broker.connectionCount === 0, 2000, 'the broker to forget the connection')
  // A busy connection is kept.
  const busy = await connect(t, broker)
  for (let i = 0; i < 8; i++) {
    await busy.request(ApiVersionsApi, 3, { clientSoftwareName: 'a', clientSoftwareVersion: 'b' })
    await sleep(100)
  }
  assert.equal(busy.isClosed, false)
})

test('max.connections refuses connections beyond the limit', async (t) => {
  const { broker, client } = await setup(t, { inMemory: true, config: { 'max.connections': 2 } })
  const second = await connect(t, broker)
  await second.request(ApiVersionsApi, 0, { clientSoftwareName: '', clientSoftwareVersion: '' })
  const third = await connectRaw(broker.bootstrap)
  t.after(() => third.close())
  assert.equal(await closedWithin(third, 2000), 'closed')
  assert.equal(broker.broker.connectionCount, 2)
  // The first two still work; when one leaves, a new client gets in.
  await client.request(ApiVersionsApi, 0, { clientSoftwareName: '', clientSoftwareVersion: '' })
  second.close()
  await until(() => broker.broker.connectionCount === 1, 2000, 'the connection count to drop')
  const fourth = await connect(t, broker)
  const r = await fourth.request(ApiVersionsApi, 3, { clientSoftwareName: 'a', clientSoftwareVersion: 'b' })
  assert.equal(r.errorCode, ErrorCode.NONE)
})

test('graceful stop answers in-flight requests, refuses new connections, flushes and writes the clean-shutdown marker', async (t) => {
  const { broker, client } = await setup(t)
  await createTopic(client, 'shutdown', { partitions: 2 })
  for (let i = 0; i < 5; i++) await produceOk(client, 'shutdown', batchOf(2, { from: i * 2 }))
  const log = broker.broker.topics.partition('shutdown', 0)!.log
  assert.equal(log.recoveryPoint, 0, 'nothing fsynced yet')
  const endOffset = log.logEndOffset

  let fetchAnswered = -1
  const inFlight = client.request(FetchApi, 11, fetchRequest([{ topic: 'shutdown', partition: 1 }], { maxWaitMs: 700, minBytes: 1 }))
    .then((r) => { fetchAnswered = performance.now(); return r })
  await sleep(100)
  const stopping = broker.broker.stop().then(() => performance.now())
  await sleep(50)
  // The listener is closed: new connections are refused.
  await assert.rejects(connectRaw(broker.bootstrap))
  const stopped = await stopping
  const response = await inFlight
  assert.equal(response.responses[0]!.partitions[0]!.errorCode, ErrorCode.NONE)
  assert.ok(fetchAnswered > 0 && fetchAnswered <= stopped, 'the in-flight Fetch was answered before stop() resolved')
  assert.equal(log.recoveryPoint, endOffset, 'flushed on the way down')
  await client.closed

  await broker.restart()
  const report = broker.broker.logManager.loadReport
  assert.equal(report.clean, true, 'the clean-shutdown marker was found')
  assert.deepEqual(report.recovered, { recoveredSegments: 0, truncatedBytes: 0, corruptBatches: 0 })
  const after = await connect(t, broker)
  assert.equal((await fetchOne(after, { topic: 'shutdown' })).highWatermark, 10n)
})

test('backpressure: a client that writes a burst without reading is paused at queued.max.requests; others are served', async (t) => {
  const connections = new Set<Connection>()
  let maxInFlight = 0
  // The real handlers, with Fetch wrapped to see the connections and their queues.
  const handlers = HANDLERS.map((h) => h.api !== FetchApi
    ? h
    : {
        ...h,
        handle: (ctx: Parameters<typeof h.handle>[0], req: unknown) => {
          connections.add(ctx.connection)
          maxInFlight = Math.max(maxInFlight, ctx.connection.inFlightRequests)
          return h.handle(ctx, req)
        }
      })
  const broker = await Broker.start({
    ...embeddedBrokerOptions({
      config: { 'node.id': '1', listeners: 'PLAINTEXT://127.0.0.1:0', 'log.dirs': '/samsa-data', 'queued.max.requests': '4' },
      fs: new MemoryFileSystem({ trackDurability: false }),
      metadataStore: new MemoryMetadataStore()
    }),
    handlers
  })
  t.after(() => broker.stop())
  const port = broker.boundListeners[0]!.port
  const admin = await connectRaw(`127.0.0.1:${port}`)
  t.after(() => admin.close())
  await createTopic(admin, 'bp')

  // 60 long-polling Fetches in one write, and the client does not read.
  const burst = Buffer.concat(Array.from({ length: 60 }, (_, i) => encode(FetchApi, 11, i + 1, fetchRequest([{ topic: 'bp' }], { maxWaitMs: 10_000, minBytes: 1 }))))
  const greedy = await openSocket(port)
  t.after(() => greedy.destroy())
  greedy.pause()
  greedy.write(burst)
  await until(() => connections.size === 1, 2000, 'the burst to arrive')
  const [conn] = [...connections]
  await sleep(300)
  assert.equal(conn!.inFlightRequests, 4, 'reading paused with queued.max.requests requests in flight')
  assert.ok(maxInFlight <= 4, `at most 4 requests in flight (saw ${maxInFlight})`)

  // Another client is served meanwhile.
  const started = performance.now()
  const other = await admin.request(MetadataApi, 12, { ...MetadataApi.request.create(), topics: null })
  assert.equal(other.topics.length, 1)
  assert.ok(performance.now() - started < 1000)

  // Data arrives: the waiting Fetches complete, reading resumes, and the rest of the burst is
  // answered, in order, once the client reads.
  await produceOk(admin, 'bp', batchOf(1))
  const reader = new FrameReader()
  greedy.on('data', (chunk: Buffer) => reader.push(chunk))
  greedy.resume()
  await until(() => reader.frames.length === 60, 5000, 'all 60 responses')
  assert.deepEqual(reader.frames.map((f) => f.readInt32BE(0)), Array.from({ length: 60 }, (_, i) => i + 1))
  assert.ok(maxInFlight <= 4, `at most 4 requests in flight (saw ${maxInFlight})`)
  assert.ok(reader.frames.every((f) => decodeResponse(FetchApi, 11, f).body.responses[0]!.partitions[0]!.highWatermark === 1n))
})
