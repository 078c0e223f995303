/**
 * kafkajs 2.2.4 against `samsa start`: admin (metadata, topics, configs, offsets by time),
 * producer (keys, null keys, headers, every codec, empty and 1 MB values, 32 partitions,
 * acks=all across clean and unclean restarts) and consumer. kafkajs only consumes through a
 * consumer group, so what it produced is checked with a neutral Fetch reader (helpers.ts
 * readAll) and the segment files, and the kafkajs consumer checks run as subtests that skip
 * while the broker does not advertise JoinGroup.
 */
import assert from 'node:assert/strict'
import { after, before, test, type TestContext } from 'node:test'
import kafkajs, { Kafka, type KafkaMessage, type Message, logLevel } from 'kafkajs'
import {
  lz4Compress, lz4Decompress, snappyCompress, snappyDecompress, zstdCompress, zstdDecompress
} from '@samsa/protocol'
import { type SamsaProcess, startSamsa } from './harness.ts'
import { compressibleValue, groupsSkipReason, readAll, storedBatches, storedCodecs, uniqueTopic } from './helpers.ts'

// Node's CommonJS export detection stops at `CompressionTypes: Compression.Types` in kafkajs's
// index.js, so these come from the default (module.exports) import.
const { CompressionCodecs, CompressionTypes, ConfigResourceTypes } = kafkajs

// kafkajs ships gzip only; snappy, lz4 and zstd are plugins. These use Samsa's own codecs, so
// kafkajs sends real snappy (raw), lz4 (frame) and zstd batches.
const MAX_DECOMPRESSED = 64 * 1024 * 1024
interface Encoder { buffer: Buffer }
CompressionCodecs[CompressionTypes.Snappy] = () => ({
  compress: (encoder: Encoder) => Promise.resolve(snappyCompress(encoder.buffer)),
  decompress: (buffer: Buffer) => Promise.resolve(snappyDecompress(buffer, MAX_DECOMPRESSED))
})
CompressionCodecs[CompressionTypes.LZ4] = () => ({
  compress: (encoder: Encoder) => Promise.resolve(lz4Compress(encoder.buffer)),
  decompress: (buffer: Buffer) => Promise.resolve(lz4Decompress(buffer, MAX_DECOMPRESSED))
})
CompressionCodecs[CompressionTypes.ZSTD] = () => ({
  compress: (encoder: Encoder) => Promise.resolve(zstdCompress(encoder.buffer)),
  decompress: (buffer: Buffer) => Promise.resolve(zstdDecompress(buffer, MAX_DECOMPRESSED))
})

const CODECS = [
  ['none', CompressionTypes.None],
  ['gzip', CompressionTypes.GZIP],
  ['snappy', CompressionTypes.Snappy],
  ['lz4', CompressionTypes.LZ4],
  ['zstd', CompressionTypes.ZSTD]
] as const

let samsa: SamsaProcess
let kafka: Kafka
let groupsSkip: string | false

before(async () => {
  samsa = await startSamsa({ config: { 'group.initial.rebalance.delay.ms': 0 } })
  kafka = new Kafka({ clientId: 'samsa-compat-kafkajs', brokers: [samsa.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 100 } })
  groupsSkip = await groupsSkipReason(samsa.bootstrap)
})

after(async () => {
  if (process.env.SAMSA_COMPAT_LOG_LEVEL !== undefined) console.log(samsa.log())
  await samsa.stop()
})

async function admin (t: TestContext): Promise<ReturnType<Kafka['admin']>> {
  const a = kafka.admin()
  await a.connect()
  t.after(() => a.disconnect())
  return a
}

async function producer (t: TestContext): Promise<ReturnType<Kafka['producer']>> {
  const p = kafka.producer({ allowAutoTopicCreation: false })
  await p.connect()
  t.after(() => p.disconnect())
  return p
}

/** Creates a topic and deletes it after the test. */
async function createTopic (t: TestContext, prefix: string, numPartitions = 1, configEntries: Array<{ name: string, value: string }> = []): Promise<string> {
  const topic = uniqueTopic(prefix)
  const a = await admin(t)
  assert.equal(await a.createTopics({ topics: [{ topic, numPartitions, configEntries }], waitForLeaders: true }), true)
  t.after(async () => {
    const cleanup = kafka.admin()
    await cleanup.connect()
    try { await cleanup.deleteTopics({ topics: [topic] }) } finally { await cleanup.disconnect() }
  })
  return topic
}

interface Consumed { partition: number, offset: number, key: string | null, value: Buffer | null, headers: Record<string, string> }

/** Reads `count` records of `topic` from the beginning with a kafkajs consumer group. */
async function consumeWithGroup (topic: string, count: number, groupId = uniqueTopic('kafkajs-group')): Promise<Consumed[]> {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 200 })
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    const out: Consumed[] = []
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Consumed ${out.length} of ${count} records in 30 s`)), 30_000)
      consumer.run({
        eachMessage: ({ partition, message }: { partition: number, message: KafkaMessage }) => {
          out.push({ partition, offset: Number(message.offset), key: message.key?.toString() ?? null, value: message.value, headers: headersOf(message) })
          if (out.length >= count) {
            clearTimeout(timer)
            resolve()
          }
          return Promise.resolve()
        }
      }).catch(reject)
    })
    return out
  } finally {
    await consumer.disconnect()
  }
}

/** The Kafka error name of a kafkajs error (possibly wrapped in retry errors). */
function errorType (e: unknown): string | undefined {
  for (let c = e as { type?: string, cause?: unknown, errors?: unknown[] } | undefined; c != null; c = c.cause as typeof c) {
    if (typeof c.type === 'string') return c.type
    if (Array.isArray(c.errors) && c.errors.length > 0) return errorType(c.errors[0])
  }
  return undefined
}

function headersOf (message: KafkaMessage): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(message.headers ?? {})) out[k] = Array.isArray(v) ? v.join(',') : v?.toString() ?? ''
  return out
}

test('metadata: describeCluster, listTopics, fetchTopicMetadata', { timeout: 30_000 }, async (t) => {
  const a = await admin(t)
  const cluster = await a.describeCluster()
  assert.deepEqual(cluster.brokers.map((b) => ({ host: b.host, port: b.port })), [{ host: '127.0.0.1', port: samsa.port }])
  assert.equal(cluster.controller, cluster.brokers[0]!.nodeId)
  assert.match(cluster.clusterId, /^[A-Za-z0-9_-]{22}$/)
  const topic = await createTopic(t, 'kafkajs-meta', 3)
  assert.ok((await a.listTopics()).includes(topic))
  const { topics } = await a.fetchTopicMetadata({ topics: [topic] })
  assert.equal(topics[0]!.name, topic)
  const partitions = [...topics[0]!.partitions].sort((x, y) => x.partitionId - y.partitionId)
  assert.deepEqual(partitions.map((p) => [p.partitionId, p.leader, p.replicas, p.isr, p.partitionErrorCode]),
    [0, 1, 2].map((i) => [i, cluster.brokers[0]!.nodeId, [cluster.brokers[0]!.nodeId], [cluster.brokers[0]!.nodeId], 0]))
})

test('create, describe and delete topics', { timeout: 30_000 }, async (t) => {
  const a = await admin(t)
  const topic = uniqueTopic('kafkajs-topics')
  assert.equal(await a.createTopics({ topics: [{ topic, numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '3600000' }] }], waitForLeaders: true }), true)
  // kafkajs resolves false for TOPIC_ALREADY_EXISTS.
  assert.equal(await a.createTopics({ topics: [{ topic, numPartitions: 2 }] }), false)
  await assert.rejects(a.createTopics({ topics: [{ topic: uniqueTopic('kafkajs-bad'), numPartitions: 1, configEntries: [{ name: 'retention.ms', value: 'soon' }] }] }),
    (e: Error) => errorType(e) === 'INVALID_CONFIG')
  await assert.rejects(a.createTopics({ topics: [{ topic: 'bad/name', numPartitions: 1 }] }),
    (e: Error) => errorType(e) === 'INVALID_TOPIC_EXCEPTION')
  const { topics } = await a.fetchTopicMetadata({ topics: [topic] })
  assert.equal(topics[0]!.partitions.length, 2)
  const described = await a.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms', 'cleanup.policy'] }], includeSynonyms: false })
  const entries = Object.fromEntries(described.resources[0]!.configEntries.map((e) => [e.configName, e]))
  assert.equal(entries['retention.ms']?.configValue, '3600000')
  assert.equal(entries['retention.ms']?.isDefault, false)
  assert.equal(entries['cleanup.policy']?.configValue, 'delete')
  assert.equal(entries['cleanup.policy']?.isDefault, true)

  await a.deleteTopics({ topics: [topic] })
  assert.ok(!(await a.listTopics()).includes(topic))
  await assert.rejects(a.fetchTopicMetadata({ topics: [topic] }), (e: Error) => errorType(e) === 'UNKNOWN_TOPIC_OR_PARTITION')
  await assert.rejects(a.deleteTopics({ topics: [topic] }), (e: Error) => errorType(e) === 'UNKNOWN_TOPIC_OR_PARTITION')
})

test('produce and consume keys, null keys, headers and empty values', { timeout: 60_000 }, async (t) => {
  const topic = await createTopic(t, 'kafkajs-basic')
  const p = await producer(t)
  const messages: Message[] = [
    { key: 'k1', value: 'v1', headers: { h1: 'x', h2: Buffer.from('y') } },
    { key: null, value: 'no key' },
    { key: 'k3', value: '' },
    { key: 'k4', value: null },
    { value: 'no key either', headers: { multi: ['a', 'b'] } }
  ]
  const result = await p.send({ topic, messages, acks: -1 })
  assert.deepEqual(result.map((r) => [r.partition, r.errorCode, r.baseOffset]), [[0, 0, '0']])
  const stored = await readAll(samsa.bootstrap, topic)
  assert.deepEqual(stored.map((r) => [r.offset, r.key, r.value?.toString() ?? null, r.headers]), [
    [0, 'k1', 'v1', [['h1', 'x'], ['h2', 'y']]],
    [1, null, 'no key', []],
    [2, 'k3', '', []],
    [3, 'k4', null, []],
    [4, null, 'no key either', [['multi', 'a'], ['multi', 'b']]]
  ])
  // What kafkajs writes into its batches (FINDINGS.md).
  const [batch] = storedBatches(samsa.dataDir, topic)
  assert.deepEqual([batch!.producerId, batch!.producerEpoch, batch!.baseSequence], [-1n, 0, 0])

  await t.test('kafkajs consumer group reads them back', { skip: groupsSkip }, async () => {
    const consumed = await consumeWithGroup(topic, messages.length)
    assert.deepEqual(consumed.map((r) => [r.offset, r.key, r.value?.toString() ?? null, r.headers]), [
      [0, 'k1', 'v1', { h1: 'x', h2: 'y' }],
      [1, null, 'no key', {}],
      [2, 'k3', '', {}],
      [3, 'k4', null, {}],
      [4, null, 'no key either', { multi: 'a,b' }]
    ])
  })
})

test('every codec: none, gzip, snappy, lz4, zstd', { timeout: 60_000 }, async (t) => {
  const topic = await createTopic(t, 'kafkajs-codecs')
  const p = await producer(t)
  let next = 0
  for (const [name, type] of CODECS) {
    const messages = Array.from({ length: 10 }, (_, i) => ({ key: `${name}-${i}`, value: compressibleValue(i), headers: { codec: name } }))
    const [r] = await p.send({ topic, messages, compression: type, acks: -1 })
    assert.equal(Number(r!.baseOffset), next, name)
    assert.deepEqual(storedCodecs(samsa.dataDir, topic, 0, next, next + 10), [name], `${name} batch stored with ${name}`)
    next += 10
  }
  const stored = await readAll(samsa.bootstrap, topic)
  assert.equal(stored.length, 50)
  for (const [i, r] of stored.entries()) {
    const [name] = CODECS[Math.floor(i / 10)]!
    assert.deepEqual([r.key, r.value?.toString(), r.headers], [`${name}-${i % 10}`, compressibleValue(i % 10), [['codec', name]]])
  }

  await t.test('kafkajs consumer group decompresses every codec', { skip: groupsSkip }, async () => {
    const consumed = await consumeWithGroup(topic, 50)
    assert.deepEqual(consumed.map((r) => [r.key, r.value?.toString()]), stored.map((r) => [r.key, r.value?.toString()]))
  })
})

test('1,000,000-byte values are accepted; oversized batches get MESSAGE_TOO_LARGE', { timeout: 60_000 }, async (t) => {
  const topic = await createTopic(t, 'kafkajs-large')
  const p = await producer(t)
  const big = Buffer.alloc(1_000_000, 'm')
  const [ok] = await p.send({ topic, messages: [{ key: 'big', value: big }], acks: -1 })
  assert.equal(ok!.errorCode, 0)
  // 1 MiB of value plus the batch overhead is above max.message.bytes (1048588), as on Kafka.
  await assert.rejects(p.send({ topic, messages: [{ key: 'too-big', value: Buffer.alloc(1024 * 1024, 'x') }], acks: -1 }),
    (e: Error) => errorType(e) === 'MESSAGE_TOO_LARGE')
  await p.send({ topic, messages: [{ key: 'after', value: 'small' }], acks: -1 })
  const stored = await readAll(samsa.bootstrap, topic)
  assert.deepEqual(stored.map((r) => [r.offset, r.key, r.value?.length]), [[0, 'big', 1_000_000], [1, 'after', 5]])
  assert.ok(stored[0]!.value!.equals(big))

  await t.test('kafkajs consumer group reads the 1 MB value', { skip: groupsSkip }, async () => {
    const consumed = await consumeWithGroup(topic, 2)
    assert.ok(consumed[0]!.value!.equals(big))
    assert.equal(consumed[1]!.value!.toString(), 'small')
  })
})

test('32 partitions: keyed records spread over all, each partition in order', { timeout: 60_000 }, async (t) => {
  const topic = await createTopic(t, 'kafkajs-many', 32)
  const p = await producer(t)
  const keys = Array.from({ length: 512 }, (_, i) => `key-${i}`)
  for (let round = 0; round < 5; round++) {
    await p.send({ topic, messages: keys.map((key) => ({ key, value: `${key}:${round}` })), acks: -1 })
  }
  const stored = await readAll(samsa.bootstrap, topic)
  assert.equal(stored.length, keys.length * 5)
  const partitionsUsed = new Set(stored.map((r) => r.partition))
  assert.equal(partitionsUsed.size, 32)
  const partitionOfKey = new Map<string, number>()
  const roundOfKey = new Map<string, number>()
  const nextOffset = new Map<number, number>()
  for (const r of stored) {
    assert.equal(r.offset, nextOffset.get(r.partition) ?? 0, `contiguous offsets in partition ${r.partition}`)
    nextOffset.set(r.partition, r.offset + 1)
    const [key, round] = r.value!.toString().split(':') as [string, string]
    assert.equal(r.key, key)
    assert.equal(partitionOfKey.get(key) ?? r.partition, r.partition, `${key} always in one partition`)
    partitionOfKey.set(key, r.partition)
    assert.equal(Number(round), (roundOfKey.get(key) ?? -1) + 1, `${key} in order`)
    roundOfKey.set(key, Number(round))
  }

  await t.test('kafkajs consumer group reads all 32 partitions', { skip: groupsSkip }, async () => {
    const consumed = await consumeWithGroup(topic, stored.length)
    assert.equal(new Set(consumed.map((r) => r.partition)).size, 32)
    for (const key of keys) {
      assert.deepEqual(consumed.filter((r) => r.key === key).map((r) => r.value!.toString()), [0, 1, 2, 3, 4].map((i) => `${key}:${i}`))
    }
  })
})

test('offsets by timestamp (ListOffsets), earliest and latest', { timeout: 30_000 }, async (t) => {
  const topic = await createTopic(t, 'kafkajs-times', 2)
  const p = await producer(t)
  const base = Date.now() - 60_000
  await p.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ partition: 0, value: `t${i}`, timestamp: String(base + i * 1000) })), acks: -1 })
  await p.send({ topic, messages: [{ partition: 1, value: 'late', timestamp: String(base + 10_000) }], acks: -1 })
  const a = await admin(t)
  const at = async (ts: number): Promise<Array<[number, string]>> =>
    (await a.fetchTopicOffsetsByTimestamp(topic, ts)).map((o) => [o.partition, o.offset] as [number, string]).sort((x, y) => x[0] - y[0])
  assert.deepEqual(await at(base), [[0, '0'], [1, '0']])
  assert.deepEqual(await at(base + 2000), [[0, '2'], [1, '0']])
  assert.deepEqual(await at(base + 2500), [[0, '3'], [1, '0']])
  // Past the last timestamp Kafka answers -1; kafkajs substitutes the high watermark.
  assert.deepEqual(await at(base + 4001), [[0, '5'], [1, '0']])
  assert.deepEqual(await at(base + 10_001), [[0, '5'], [1, '1']])
  const offsets = (await a.fetchTopicOffsets(topic)).sort((x, y) => x.partition - y.partition)
  assert.deepEqual(offsets.map((o) => [o.partition, o.low, o.high, o.offset]), [[0, '0', '5', '5'], [1, '0', '1', '1']])
  const stored = await readAll(samsa.bootstrap, topic)
  assert.deepEqual(stored.filter((r) => r.partition === 0).map((r) => r.timestamp), [0, 1, 2, 3, 4].map((i) => base + i * 1000))
})

test('configs: describeConfigs and alterConfigs on a topic and the broker', { timeout: 30_000 }, async (t) => {
  const topic = await createTopic(t, 'kafkajs-configs', 1, [{ name: 'segment.bytes', value: '10485760' }])
  const a = await admin(t)
  const describe = async (): Promise<Record<string, { configValue: string, isDefault: boolean, configSource?: number }>> => {
    const res = await a.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }], includeSynonyms: false })
    assert.equal(res.resources[0]!.errorCode, 0)
    return Object.fromEntries(res.resources[0]!.configEntries.map((e) => [e.configName, e]))
  }
  const before = await describe()
  assert.equal(before['segment.bytes']?.configValue, '10485760')
  assert.equal(before['segment.bytes']?.configSource, 1) // TOPIC_CONFIG
  assert.equal(before['retention.ms']?.configValue, '604800000')
  assert.equal(before['retention.ms']?.configSource, 5) // DEFAULT_CONFIG
  assert.equal(before['max.message.bytes']?.configValue, '1048588')

  // AlterConfigs replaces the whole set: segment.bytes goes back to its default.
  await a.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: '7200000' }] }] })
  const after = await describe()
  assert.equal(after['retention.ms']?.configValue, '7200000')
  assert.equal(after['retention.ms']?.isDefault, false)
  assert.equal(after['segment.bytes']?.configValue, '1073741824')
  assert.equal(after['segment.bytes']?.isDefault, true)

  await a.alterConfigs({ validateOnly: true, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: '1' }] }] })
  assert.equal((await describe())['retention.ms']?.configValue, '7200000', 'validateOnly changes nothing')
  await assert.rejects(a.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'no.such.config', value: '1' }] }] }),
    (e: Error) => errorType(e) === 'INVALID_CONFIG')

  const broker = await a.describeConfigs({ resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configNames: ['num.partitions', 'message.max.bytes', 'log.retention.hours'] }], includeSynonyms: true })
  const brokerEntries = Object.fromEntries(broker.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]))
  assert.deepEqual(brokerEntries, { 'num.partitions': '1', 'message.max.bytes': '1048588', 'log.retention.hours': '168' })
  const setBroker = async (configEntries: Array<{ name: string, value: string }>): Promise<unknown> =>
    await a.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configEntries }] })
  await setBroker([{ name: 'message.max.bytes', value: '2000000' }])
  try {
    const altered = await a.describeConfigs({ resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configNames: ['message.max.bytes'] }], includeSynonyms: false })
    assert.equal(altered.resources[0]!.configEntries[0]!.configValue, '2000000')
    assert.equal(altered.resources[0]!.configEntries[0]!.configSource, 2) // DYNAMIC_BROKER_CONFIG
  } finally {
    await setBroker([])
  }
  const reset = await a.describeConfigs({ resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configNames: ['message.max.bytes'] }], includeSynonyms: false })
  assert.equal(reset.resources[0]!.configEntries[0]!.configValue, '1048588')
})

test('consumer group: committed offsets carry over to the next member; describe, list and delete groups', { timeout: 60_000 }, async (t) => {
  if (groupsSkip !== false) {
    t.skip(groupsSkip)
    return
  }
  const topic = await createTopic(t, 'kafkajs-commit', 2)
  const p = await producer(t)
  await p.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `first-${i}` })), acks: -1 })
  const groupId = uniqueTopic('kafkajs-commit-group')
  // kafkajs commits what eachMessage processed (autoCommit) and again on disconnect.
  const first = await consumeWithGroup(topic, 10, groupId)
  assert.deepEqual(first.map((r) => r.value!.toString()).sort(), Array.from({ length: 10 }, (_, i) => `first-${i}`).sort())
  const a = await admin(t)
  const committed = await a.fetchOffsets({ groupId, topics: [topic] })
  const total = (o: typeof committed): number => o[0]!.partitions.reduce((sum, x) => sum + Number(x.offset), 0)
  assert.equal(total(committed), 10)
  await p.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: `second-${i}` })), acks: -1 })
  const second = await consumeWithGroup(topic, 5, groupId)
  assert.deepEqual(second.map((r) => r.value!.toString()).sort(), Array.from({ length: 5 }, (_, i) => `second-${i}`).sort())
  assert.equal(total(await a.fetchOffsets({ groupId, topics: [topic] })), 15)

  const { groups } = await a.listGroups()
  assert.ok(groups.some((g) => g.groupId === groupId && g.protocolType === 'consumer'))
  const described = await a.describeGroups([groupId])
  assert.deepEqual(described.groups.map((g) => [g.groupId, g.state, g.members.length]), [[groupId, 'Empty', 0]])
  const deleted = await a.deleteGroups([groupId])
  assert.deepEqual(deleted.map((d) => [d.groupId, d.errorCode]), [[groupId, 0]])
  assert.ok(!(await a.listGroups()).groups.some((g) => g.groupId === groupId))
})

for (const how of ['clean', 'kill'] as const) {
  test(`acks=all records survive a ${how === 'clean' ? 'clean restart (SIGTERM)' : 'SIGKILL and recovery'}`, { timeout: 60_000 }, async (t) => {
    const topic = await createTopic(t, `kafkajs-restart-${how}`, 3)
    const p = kafka.producer({ allowAutoTopicCreation: false })
    await p.connect()
    const acked: string[] = []
    for (let i = 0; i < 20; i++) {
      const messages = Array.from({ length: 10 }, (_, j) => ({ key: `k${(i * 10 + j) % 7}`, value: `v${i * 10 + j}` }))
      await p.send({ topic, messages, acks: -1, compression: i % 2 === 0 ? CompressionTypes.GZIP : CompressionTypes.None })
      acked.push(...messages.map((m) => m.value))
    }
    await p.disconnect()
    await samsa.restart(how)
    const stored = await readAll(samsa.bootstrap, topic)
    assert.deepEqual(stored.map((r) => r.value!.toString()).sort(), [...acked].sort())
    // The broker keeps accepting writes after the restart.
    const p2 = await producer(t)
    await p2.send({ topic, messages: [{ key: 'after', value: 'restart' }], acks: -1 })
    assert.equal((await readAll(samsa.bootstrap, topic)).length, acked.length + 1)

    await t.test('kafkajs consumer group reads everything after the restart', { skip: groupsSkip }, async () => {
      const consumed = await consumeWithGroup(topic, acked.length + 1)
      assert.deepEqual(consumed.map((r) => r.value!.toString()).sort(), [...acked, 'restart'].sort())
    })
  })
}
