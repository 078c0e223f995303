// Bad input never crashes the broker: random frames, truncated frames, lying lengths, unknown
// API keys and versions, garbage after valid headers and byte-flipped valid requests get
// Kafka's error or a closed connection; the broker stays up, keeps serving a well-behaved
// client meanwhile, and loses nothing already written.
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { test } from 'node:test'
import fc from 'fast-check'
import {
  API_DEFINITIONS, ApiVersionsApi, CreateTopicsApi, FetchApi, MetadataApi, ProduceApi, buildRecordBatch, encodeRequest
} from '@samsa/protocol'
import { connectRaw, startBroker } from '@samsa/testkit'

const SEED = Number(process.env.SAMSA_FUZZ_SEED ?? Date.now() % 1_000_000)
const DESTRUCTIVE = new Set([20, 21, 33, 37, 44, 42, 47])

function frameOf (payload: Buffer): Buffer {
  const size = Buffer.alloc(4)
  size.writeInt32BE(payload.length)
  return Buffer.concat([size, payload])
}

/** Sends bytes on a fresh connection; resolves when the broker closes it or after `ms`. */
async function throwAt (port: number, bytes: Buffer, ms = 300): Promise<'closed' | 'open'> {
  return await new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(bytes))
    const timer = setTimeout(() => {
      socket.destroy()
      resolve('open')
    }, ms)
    socket.on('data', () => {})
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(timer)
      resolve('closed')
    })
  })
}

async function fetchAll (bootstrap: string, topic: string): Promise<Buffer> {
  const client = await connectRaw(bootstrap)
  try {
    const response = await client.request(FetchApi, 11, {
      ...FetchApi.request.create(),
      maxWaitMs: 0,
      maxBytes: 64 * 1024 * 1024,
      topics: [{ topic, topicId: '00000000-0000-0000-0000-000000000000', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 64 * 1024 * 1024, replicaDirectoryId: '00000000-0000-0000-0000-000000000000' }] }]
    })
    const p = response.responses[0]!.partitions[0]!
    assert.equal(p.errorCode, 0)
    return Buffer.from(p.records ?? Buffer.alloc(0))
  } finally {
    client.close()
  }
}

test(`the broker survives malformed input (seed ${SEED})`, { timeout: 180_000 }, async (t) => {
  const broker = await startBroker({ config: { 'socket.request.max.bytes': 1024 * 1024 } })
  t.after(() => broker.stop())
  const client = await connectRaw(broker.bootstrap)
  t.after(() => client.close())
  const created = await client.request(CreateTopicsApi, 4, { ...CreateTopicsApi.request.create(), topics: [{ name: 'fuzz', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000 })
  assert.equal(created.topics[0]!.errorCode, 0)
  const produce = async (i: number): Promise<void> => {
    const records = buildRecordBatch({ records: [{ key: Buffer.from(`k${i}`), value: Buffer.alloc(100 + i, i & 0xff), timestamp: 1_700_000_000_000 + i }] })
    const res = await client.request(ProduceApi, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'fuzz', partitionData: [{ index: 0, records }] }] })
    assert.equal(res.responses[0]!.partitionResponses[0]!.errorCode, 0)
  }
  for (let i = 0; i < 50; i++) await produce(i)
  const before = await fetchAll(broker.bootstrap, 'fuzz')

  const port = broker.port
  const samples = fc.sample(fc.oneof(
    // A random payload under a truthful size prefix.
    fc.uint8Array({ maxLength: 200 }).map((a) => frameOf(Buffer.from(a))),
    // A valid-looking header (any key, any version) followed by garbage.
    fc.tuple(fc.integer({ min: -2, max: 95 }), fc.integer({ min: -2, max: 25 }), fc.uint8Array({ maxLength: 120 })).map(([key, version, rest]) => {
      const head = Buffer.alloc(10)
      head.writeInt16BE(DESTRUCTIVE.has(key) ? 18 : key, 0)
      head.writeInt16BE(version, 2)
      head.writeInt32BE(7, 4)
      head.writeInt16BE(-1, 8)
      return frameOf(Buffer.concat([head, Buffer.from(rest)]))
    }),
    // A size prefix that lies: larger than what follows, then the client goes away.
    fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.uint8Array({ maxLength: 64 })).map(([claimed, rest]) => {
      const size = Buffer.alloc(4)
      size.writeInt32BE(claimed + rest.length)
      return Buffer.concat([size, Buffer.from(rest)])
    }),
    // Sizes above socket.request.max.bytes, or negative.
    fc.oneof(fc.integer({ min: 1024 * 1024 + 1, max: 0x7fffffff }), fc.integer({ min: -0x80000000, max: -1 })).map((claimed) => {
      const size = Buffer.alloc(4)
      size.writeInt32BE(claimed)
      return size
    }),
    // Valid requests of non-destructive APIs with flipped bytes.
    fc.tuple(fc.constantFrom(...API_DEFINITIONS.filter((a) => !DESTRUCTIVE.has(a.apiKey))), fc.nat(), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }))
      .map(([api, n, flips]) => {
        const version = api.minVersion + (n % (api.maxVersion - api.minVersion + 1))
        const bytes = Buffer.concat(encodeRequest(api, version, { correlationId: 1, clientId: 'fuzz' }, api.request.create()))
        for (const [at, value] of flips) {
          const i = 4 + (at % Math.max(1, bytes.length - 4))
          if (i < bytes.length) bytes[i] = value
        }
        return bytes
      })
  ), { seed: SEED, numRuns: 600 })

  // A well-behaved client keeps producing while the garbage flies.
  let produced = 50
  let stop = false
  const steady = (async () => {
    while (!stop) await produce(produced++)
  })()

  let closed = 0
  for (let i = 0; i < samples.length; i += 20) {
    const results = await Promise.all(samples.slice(i, i + 20).map(async (bytes) => await throwAt(port, bytes)))
    closed += results.filter((r) => r === 'closed').length
  }
  stop = true
  await steady
  assert.ok(closed > samples.length / 4, `only ${closed} of ${samples.length} connections were closed`)

  // Still serving: a new client gets ApiVersions and Metadata.
  const fresh = await connectRaw(broker.bootstrap)
  t.after(() => fresh.close())
  const versions = await fresh.request(ApiVersionsApi, 3, { clientSoftwareName: 'fuzz', clientSoftwareVersion: '1' })
  assert.equal(versions.errorCode, 0)
  const metadata = await fresh.request(MetadataApi, 12, { ...MetadataApi.request.create(), topics: null })
  assert.ok(metadata.topics.some((tp) => tp.name === 'fuzz'))

  // Nothing written before was lost or changed, and the steady producer's records are there.
  const after = await fetchAll(broker.bootstrap, 'fuzz')
  assert.deepEqual(after.subarray(0, before.length), before)
  assert.ok(after.length > before.length)
})
