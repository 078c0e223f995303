/**
 * @platformatic/kafka 2.12.1 against `samsa start`, on Node 22 (the client needs >= 22.22).
 * Only flexible API versions: Metadata 9-12, Produce 7-11, Fetch 12-17 by topic id,
 * ListOffsets 5-9, DescribeConfigs 2-4, AlterConfigs 2, IncrementalAlterConfigs 1.
 * Consuming without a group uses Consumer.fetch() (a plain Fetch to a node); consume()
 * streams always join a group, so those checks skip until the broker advertises JoinGroup.
 */
import assert from 'node:assert/strict'
import { after, before, test, type TestContext } from 'node:test'
import {
  Admin, type ClusterMetadata, type CompressionAlgorithmValue, ConfigResourceTypes, ConfigSources, Consumer,
  IncrementalAlterConfigOperationTypes, type MessageToProduce, ProduceAcks, Producer
} from '@platformatic/kafka'
import { type SamsaProcess, startSamsa } from './harness.ts'
import { compressibleValue, groupsSkipReason, readAll, storedBatches, storedCodecs, uniqueTopic } from './helpers.ts'

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const satisfies readonly CompressionAlgorithmValue[]

let samsa: SamsaProcess
let groupsSkip: string | false

const base = (): { clientId: string, bootstrapBrokers: string[], retries: number, retryDelay: number } =>
  ({ clientId: 'samsa-compat-platformatic', bootstrapBrokers: [samsa.bootstrap], retries: 3, retryDelay: 100 })

before(async () => {
  samsa = await startSamsa({ config: { 'group.initial.rebalance.delay.ms': 0 } })
  groupsSkip = await groupsSkipReason(samsa.bootstrap)
})

after(async () => {
  if (process.env.SAMSA_COMPAT_LOG_LEVEL !== undefined) console.log(samsa.log())
  await samsa.stop()
})

function admin (t: TestContext): Admin {
  const a = new Admin(base())
  t.after(() => a.close())
  return a
}

function producer (t: TestContext): Producer {
  const p = new Producer({ ...base(), autocreateTopics: false })
  t.after(() => p.close())
  return p
}

async function createTopic (t: TestContext, prefix: string, partitions = 1, configs: Array<{ name: string, value: string }> = []): Promise<string> {
  const topic = uniqueTopic(prefix)
  const a = admin(t)
  const [created] = await a.createTopics({ topics: [topic], partitions, replicas: 1, configs })
  assert.equal(created!.name, topic)
  t.after(async () => {
    const cleanup = new Admin(base())
    try { await cleanup.deleteTopics({ topics: [topic] }) } finally { await cleanup.close() }
  })
  return topic
}

/** The Kafka error name (apiId) of a platformatic error, looking through wrappers. */
function apiId (e: unknown): string | undefined {
  const seen = new Set<unknown>()
  const visit = (x: unknown): string | undefined => {
    if (x == null || typeof x !== 'object' || seen.has(x)) return undefined
    seen.add(x)
    const o = x as { apiId?: unknown, errors?: unknown[], cause?: unknown }
    if (typeof o.apiId === 'string') return o.apiId
    for (const inner of o.errors ?? []) {
      const found = visit(inner)
      if (found !== undefined) return found
    }
    return visit(o.cause)
  }
  return visit(e)
}

type ConfigEntry = Awaited<ReturnType<Admin['describeConfigs']>>[number]['configs'][number]

interface Consumed { partition: number, offset: number, key: string | null, value: Buffer | null, headers: Array<[string, string]> }

/**
 * Reads every partition of `topic` from offset 0 to the high watermark with Consumer.fetch():
 * no consumer group involved.
 */
async function fetchAll (topic: string): Promise<Consumed[]> {
  const consumer = new Consumer({ ...base(), groupId: uniqueTopic('unused-group') })
  try {
    const metadata: ClusterMetadata = await consumer.metadata({ topics: [topic] })
    const t = metadata.topics.get(topic)!
    const offsets = new Map(t.partitions.map((_, partition) => [partition, 0n]))
    const out: Consumed[] = []
    while (offsets.size > 0) {
      const res = await consumer.fetch({
        node: t.partitions[0]!.leader,
        topics: [{
          topicId: t.id,
          partitions: [...offsets].map(([partition, fetchOffset]) => ({ partition, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, partitionMaxBytes: 4 * 1024 * 1024 }))
        }],
        maxWaitTime: 0,
        minBytes: 0,
        maxBytes: 64 * 1024 * 1024
      })
      for (const data of res.responses[0]?.partitions ?? []) {
        assert.equal(data.errorCode, 0)
        const partition = data.partitionIndex
        let offset = offsets.get(partition)!
        for (const batch of data.records ?? []) {
          for (const r of batch.records) {
            const o = batch.firstOffset + BigInt(r.offsetDelta)
            if (o < offset) continue
            out.push({
              partition,
              offset: Number(o),
              key: r.key === null ? null : r.key.toString(),
              value: r.value,
              headers: r.headers.map(([k, v]) => [k?.toString() ?? '', v?.toString() ?? ''])
            })
          }
          offset = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n
        }
        if (offset >= data.highWatermark) offsets.delete(partition)
        else offsets.set(partition, offset)
      }
    }
    return out.sort((a, b) => a.partition - b.partition || a.offset - b.offset)
  } finally {
    await consumer.close()
  }
}

/** Reads `count` records with a consume() stream (joins a consumer group). */
async function consumeWithGroup (topic: string, count: number, options: { groupId?: string, commit?: boolean } = {}): Promise<Consumed[]> {
  const consumer = new Consumer({ ...base(), groupId: options.groupId ?? uniqueTopic('platformatic-group'), sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTime: 200 })
  try {
    const stream = await consumer.consume({ topics: [topic], mode: options.commit === true ? 'committed' : 'earliest', fallbackMode: 'earliest', autocommit: false })
    const out: Consumed[] = []
    const timer = setTimeout(() => { void stream.close() }, 30_000)
    for await (const m of stream) {
      out.push({
        partition: m.partition,
        offset: Number(m.offset),
        key: m.key === undefined || m.key === null ? null : m.key.toString(),
        value: m.value ?? null,
        headers: [...m.headers.entries()].map(([k, v]) => [k.toString(), v.toString()])
      })
      if (options.commit === true) await m.commit()
      if (out.length >= count) break
    }
    clearTimeout(timer)
    assert.equal(out.length, count, 'records consumed before the timeout')
    return out
  } finally {
    await consumer.close(true)
  }
}

test('metadata: brokers, controller, cluster id, topic ids and partitions', { timeout: 30_000 }, async (t) => {
  const topic = await createTopic(t, 'platformatic-meta', 3)
  const a = admin(t)
  const metadata = await a.metadata({ topics: [topic] })
  assert.deepEqual([...metadata.brokers.values()].map((b) => [b.host, b.port]), [['127.0.0.1', samsa.port]])
  assert.equal(metadata.controllerId, [...metadata.brokers.keys()][0])
  assert.match(metadata.id, /^[A-Za-z0-9_-]{22}$/)
  const tm = metadata.topics.get(topic)!
  assert.match(tm.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
  assert.equal(tm.partitionsCount, 3)
  assert.deepEqual(tm.partitions.map((p) => [p.leader, p.replicas, p.isr]), [0, 1, 2].map(() => [metadata.controllerId, [metadata.controllerId], [metadata.controllerId]]))
  assert.ok((await a.listTopics()).includes(topic))
})

test('create, describe and delete topics', { timeout: 30_000 }, async (t) => {
  const a = admin(t)
  const topic = uniqueTopic('platformatic-topics')
  const [created] = await a.createTopics({ topics: [topic], partitions: 2, replicas: 1, configs: [{ name: 'retention.ms', value: '3600000' }] })
  // CreateTopics v5+ returns the topic id, partition count and every config.
  assert.equal(created!.partitions, 2)
  assert.equal(created!.replicas, 1)
  assert.equal(created!.configuration['retention.ms'], '3600000')
  assert.equal(created!.configuration['cleanup.policy'], 'delete')
  await assert.rejects(a.createTopics({ topics: [topic], partitions: 2 }), (e) => apiId(e) === 'TOPIC_ALREADY_EXISTS')
  await assert.rejects(a.createTopics({ topics: [uniqueTopic('platformatic-bad')], partitions: 0 }), (e) => apiId(e) === 'INVALID_PARTITIONS')
  const [described] = await a.describeConfigs({ resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configurationKeys: ['retention.ms'] }] })
  assert.deepEqual(described!.configs.map((c) => [c.name, c.value, c.configSource]), [['retention.ms', '3600000', ConfigSources.DYNAMIC_TOPIC_CONFIG]])

  await a.deleteTopics({ topics: [topic] })
  assert.ok(!(await a.listTopics()).includes(topic))
  // autocreateTopics defaults to true in 2.x: ask without it, or the topic comes back. The
  // client turns the broker's UNKNOWN_TOPIC_OR_PARTITION into a UserError.
  await assert.rejects(a.metadata({ topics: [topic], autocreateTopics: false, forceUpdate: true }), (e: Error) => e.message === `Unknown topic ${topic}.`)
  await assert.rejects(a.deleteTopics({ topics: [topic] }), (e) => apiId(e) === 'UNKNOWN_TOPIC_OR_PARTITION')
})

test('produce and consume keys, null keys, headers and empty values', { timeout: 60_000 }, async (t) => {
  const topic = await createTopic(t, 'platformatic-basic')
  const p = producer(t)
  const messages: MessageToProduce[] = [
    { topic, key: Buffer.from('k1'), value: Buffer.from('v1'), headers: new Map([[Buffer.from('h1'), Buffer.from('x')], [Buffer.from('h2'), Buffer.from('y')]]) },
    { topic, value: Buffer.from('no key') },
    { topic, key: Buffer.from('k3'), value: Buffer.alloc(0) },
    { topic, key: Buffer.from('k4') }
  ]
  const result = await p.send({ messages, acks: ProduceAcks.ALL })
  assert.deepEqual(result.offsets?.map((o) => [o.partition, o.offset]), [[0, 0n]])
  const expected = [
    [0, 'k1', 'v1', [['h1', 'x'], ['h2', 'y']]],
    [1, null, 'no key', []],
    [2, 'k3', '', []],
    [3, 'k4', null, []]
  ]
  const stored = await readAll(samsa.bootstrap, topic)
  assert.deepEqual(stored.map((r) => [r.offset, r.key, r.value?.toString() ?? null, r.headers]), expected)
  const [batch] = storedBatches(samsa.dataDir, topic)
  assert.deepEqual([batch!.producerId, batch!.producerEpoch, batch!.baseSequence], [-1n, 0, 0])
  const fetched = await fetchAll(topic)
  assert.deepEqual(fetched.map((r) => [r.offset, r.key, r.value?.toString() ?? null, r.headers]), expected)

  await t.test('a consume() stream (consumer group) reads them back', { skip: groupsSkip }, async () => {
    const consumed = await consumeWithGroup(topic, 4)
    assert.deepEqual(consumed.map((r) => [r.offset, r.key, r.value?.toString() ?? null, r.headers]), expected)
  })
})

test('every codec: none, gzip, snappy, lz4, zstd', { timeout: 60_000 }, async (t) => {
  const topic = await createTopic(t, 'platformatic-codecs')
  const p = producer(t)
  let next = 0
  for (const compression of CODECS) {
    const messages = Array.from({ length: 10 }, (_, i) => ({ topic, key: Buffer.from(`${compression}-${i}`), value: Buffer.from(compressibleValue(i)) }))
    const result = await p.send({ messages, compression, acks: ProduceAcks.ALL })
    assert.equal(result.offsets?.[0]?.offset, BigInt(next))
    assert.deepEqual(storedCodecs(samsa.dataDir, topic, 0, next, next + 10), [compression], `${compression} batch stored with ${compression}`)
    next += 10
  }
  const fetched = await fetchAll(topic)
  assert.deepEqual(fetched.map((r) => [r.key, r.value?.toString()]), CODECS.flatMap((c) => Array.from({ length: 10 }, (_, i) => [`${c}-${i}`, compressibleValue(i)])))

  await t.test('a consume() stream (consumer group) decompresses every codec', { skip: groupsSkip }, async () => {
    const consumed = await consumeWithGroup(topic, 50)
    assert.deepEqual(consumed.map((r) => r.key), fetched.map((r) => r.key))
  })
})

test('1,000,000-byte values are accepted; oversized batches get MESSAGE_TOO_LARGE', { timeout: 60_000 }, async (t) => {
  const topic = await createTopic(t, 'platformatic-large')
  const p = producer(t)
  const big = Buffer.alloc(1_000_000, 'm')
  await p.send({ messages: [{ topic, key: Buffer.from('big'), value: big }], acks: ProduceAcks.ALL })
  await assert.rejects(p.send({ messages: [{ topic, key: Buffer.from('too-big'), value: Buffer.alloc(1024 * 1024, 'x') }], acks: ProduceAcks.ALL }),
    (e) => apiId(e) === 'MESSAGE_TOO_LARGE')
  await p.send({ messages: [{ topic, key: Buffer.from('after'), value: Buffer.from('small') }], acks: ProduceAcks.ALL })
  const fetched = await fetchAll(topic)
  assert.deepEqual(fetched.map((r) => [r.offset, r.key, r.value?.length]), [[0, 'big', 1_000_000], [1, 'after', 5]])
  assert.ok(fetched[0]!.value!.equals(big))

  await t.test('a consume() stream (consumer group) reads the 1 MB value', { skip: groupsSkip }, async () => {
    const consumed = await consumeWithGroup(topic, 2)
    assert.ok(consumed[0]!.value!.equals(big))
  })
})

test('32 partitions: keyed records spread over all, each partition in order', { timeout: 60_000 }, async (t) => {
  const topic = await createTopic(t, 'platformatic-many', 32)
  const p = producer(t)
  const keys = Array.from({ length: 512 }, (_, i) => `key-${i}`)
  for (let round = 0; round < 5; round++) {
    await p.send({ messages: keys.map((key) => ({ topic, key: Buffer.from(key), value: Buffer.from(`${key}:${round}`) })), acks: ProduceAcks.ALL })
  }
  const fetched = await fetchAll(topic)
  assert.equal(fetched.length, keys.length * 5)
  assert.equal(new Set(fetched.map((r) => r.partition)).size, 32)
  const partitionOfKey = new Map<string, number>()
  const roundOfKey = new Map<string, number>()
  const nextOffset = new Map<number, number>()
  for (const r of fetched) {
    assert.equal(r.offset, nextOffset.get(r.partition) ?? 0, `contiguous offsets in partition ${r.partition}`)
    nextOffset.set(r.partition, r.offset + 1)
    const [key, round] = r.value!.toString().split(':') as [string, string]
    assert.equal(partitionOfKey.get(key) ?? r.partition, r.partition, `${key} always in one partition`)
    partitionOfKey.set(key, r.partition)
    assert.equal(Number(round), (roundOfKey.get(key) ?? -1) + 1, `${key} in order`)
    roundOfKey.set(key, Number(round))
  }

  await t.test('a consume() stream (consumer group) reads all 32 partitions', { skip: groupsSkip }, async () => {
    const consumed = await consumeWithGroup(topic, fetched.length)
    assert.equal(new Set(consumed.map((r) => r.partition)).size, 32)
  })
})

test('incremental fetch sessions (KIP-227): consecutive fetches continue one session', { timeout: 30_000 }, async (t) => {
  const topic = await createTopic(t, 'platformatic-session', 3)
  const p = producer(t)
  await p.send({ messages: [0, 1, 2].map((partition) => ({ topic, partition, value: Buffer.from(`p${partition}`) })), acks: ProduceAcks.ALL })
  // No retries: an INVALID_FETCH_SESSION_EPOCH would otherwise be retried (after 1 s) with a
  // new session and go unnoticed.
  const consumer = new Consumer({ ...base(), retries: 0, groupId: uniqueTopic('unused-group') })
  t.after(() => consumer.close())
  const metadata = await consumer.metadata({ topics: [topic] })
  const { id: topicId, partitions } = metadata.topics.get(topic)!
  const fetch = async (wanted: Array<[number, bigint]>): Promise<{ sessionId: number, records: string[] }> => {
    const res = await consumer.fetch({
      node: partitions[0]!.leader,
      topics: [{ topicId, partitions: wanted.map(([partition, fetchOffset]) => ({ partition, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, partitionMaxBytes: 1024 * 1024 })) }],
      maxWaitTime: 0,
      minBytes: 0
    })
    assert.equal(res.errorCode, 0)
    const records = res.responses.flatMap((r) => r.partitions.flatMap((d) => (d.records ?? []).flatMap((b) => b.records.map((x) => x.value!.toString()))))
    return { sessionId: res.sessionId, records }
  }
  const first = await fetch([[0, 0n]]) // full fetch: opens a session (epoch 0 -> 1)
  assert.notEqual(first.sessionId, 0)
  assert.deepEqual(first.records, ['p0'])
  const second = await fetch([[0, 1n], [1, 0n]]) // incremental, epoch 1
  assert.equal(second.sessionId, first.sessionId)
  assert.deepEqual(second.records, ['p1'])
  const third = await fetch([[1, 1n], [2, 0n]]) // incremental, epoch 2, forgets partition 0
  assert.equal(third.sessionId, first.sessionId)
  assert.deepEqual(third.records, ['p2'])
  await p.send({ messages: [{ topic, partition: 1, value: Buffer.from('p1-later') }], acks: ProduceAcks.ALL })
  const fourth = await fetch([[1, 1n], [2, 1n]])
  assert.equal(fourth.sessionId, first.sessionId)
  assert.deepEqual(fourth.records, ['p1-later'])
})

test('offsets by timestamp (ListOffsets), earliest, latest and max timestamp', { timeout: 30_000 }, async (t) => {
  const topic = await createTopic(t, 'platformatic-times', 2)
  const p = producer(t)
  const start = BigInt(Date.now() - 60_000)
  await p.send({ messages: Array.from({ length: 5 }, (_, i) => ({ topic, partition: 0, value: Buffer.from(`t${i}`), timestamp: start + BigInt(i * 1000) })), acks: ProduceAcks.ALL })
  await p.send({ messages: [{ topic, partition: 1, value: Buffer.from('late'), timestamp: start + 10_000n }], acks: ProduceAcks.ALL })
  const a = admin(t)
  const at = async (timestamp: bigint): Promise<Array<[number, bigint, bigint]>> => {
    const [res] = await a.listOffsets({ topics: [{ name: topic, partitions: [0, 1].map((partitionIndex) => ({ partitionIndex, timestamp })) }] })
    return res!.partitions.map((p) => [p.partitionIndex, p.offset, p.timestamp] as [number, bigint, bigint]).sort((x, y) => x[0] - y[0])
  }
  assert.deepEqual(await at(start), [[0, 0n, start], [1, 0n, start + 10_000n]])
  assert.deepEqual(await at(start + 2500n), [[0, 3n, start + 3000n], [1, 0n, start + 10_000n]])
  assert.deepEqual(await at(start + 4001n), [[0, -1n, -1n], [1, 0n, start + 10_000n]])
  assert.deepEqual(await at(-2n), [[0, 0n, -1n], [1, 0n, -1n]]) // earliest
  assert.deepEqual(await at(-1n), [[0, 5n, -1n], [1, 1n, -1n]]) // latest
  assert.deepEqual(await at(-3n), [[0, 4n, start + 4000n], [1, 0n, start + 10_000n]]) // max timestamp (v7+)

  // The consumer's listOffsets (ListOffsets with a timestamp) agrees.
  const consumer = new Consumer({ ...base(), groupId: uniqueTopic('unused-group') })
  t.after(() => consumer.close())
  const offsets = await consumer.listOffsets({ topics: [topic], timestamp: start + 1000n })
  assert.deepEqual(offsets.get(topic), [1n, 0n])
})

test('configs: describeConfigs, alterConfigs and incrementalAlterConfigs', { timeout: 30_000 }, async (t) => {
  const topic = await createTopic(t, 'platformatic-configs', 1, [{ name: 'segment.bytes', value: '10485760' }])
  const a = admin(t)
  const describe = async (): Promise<Record<string, ConfigEntry>> => {
    const [res] = await a.describeConfigs({ resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic }], includeSynonyms: true })
    return Object.fromEntries(res!.configs.map((c) => [c.name, c]))
  }
  const before = await describe()
  assert.equal(before['segment.bytes']?.value, '10485760')
  assert.equal(before['segment.bytes']?.configSource, ConfigSources.DYNAMIC_TOPIC_CONFIG)
  assert.equal(before['retention.ms']?.value, '604800000')
  assert.equal(before['retention.ms']?.configSource, ConfigSources.DEFAULT_CONFIG)
  // Synonyms: the topic override, then the broker default it shadows.
  assert.deepEqual(before['segment.bytes']?.synonyms.map((s) => [s.name, s.source]), [['segment.bytes', ConfigSources.DYNAMIC_TOPIC_CONFIG], ['log.segment.bytes', ConfigSources.DEFAULT_CONFIG]])

  // Incremental: SET one, DELETE another; the rest stays.
  await a.incrementalAlterConfigs({
    resources: [{
      resourceType: ConfigResourceTypes.TOPIC,
      resourceName: topic,
      configs: [
        { name: 'retention.ms', configOperation: IncrementalAlterConfigOperationTypes.SET, value: '7200000' },
        { name: 'cleanup.policy', configOperation: IncrementalAlterConfigOperationTypes.APPEND, value: 'compact' }
      ]
    }]
  })
  let now = await describe()
  assert.equal(now['retention.ms']?.value, '7200000')
  assert.equal(now['cleanup.policy']?.value, 'delete,compact')
  assert.equal(now['segment.bytes']?.value, '10485760')
  await a.incrementalAlterConfigs({ resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configs: [{ name: 'segment.bytes', configOperation: IncrementalAlterConfigOperationTypes.DELETE }] }] })
  now = await describe()
  assert.equal(now['segment.bytes']?.value, '1073741824')
  assert.equal(now['segment.bytes']?.configSource, ConfigSources.DEFAULT_CONFIG)
  assert.equal(now['retention.ms']?.value, '7200000')

  // AlterConfigs replaces the whole set.
  await a.alterConfigs({ resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configs: [{ name: 'max.message.bytes', value: '2000000' }] }] })
  now = await describe()
  assert.equal(now['max.message.bytes']?.value, '2000000')
  assert.equal(now['retention.ms']?.value, '604800000')
  assert.equal(now['cleanup.policy']?.value, 'delete')
  await assert.rejects(a.incrementalAlterConfigs({ resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configs: [{ name: 'retention.ms', configOperation: IncrementalAlterConfigOperationTypes.SET, value: 'soon' }] }] }),
    (e) => apiId(e) === 'INVALID_CONFIG')

  // Broker configs: describe and a dynamic change through IncrementalAlterConfigs.
  const brokerId = String([...(await a.metadata({ topics: [] })).brokers.keys()][0])
  const brokerConfig = async (name: string): Promise<ConfigEntry | undefined> => {
    const [res] = await a.describeConfigs({ resources: [{ resourceType: ConfigResourceTypes.BROKER, resourceName: brokerId, configurationKeys: [name] }] })
    return res!.configs[0]
  }
  const initial = await brokerConfig('log.retention.ms')
  assert.equal(initial?.configSource, ConfigSources.DEFAULT_CONFIG)
  await a.incrementalAlterConfigs({ resources: [{ resourceType: ConfigResourceTypes.BROKER, resourceName: brokerId, configs: [{ name: 'log.retention.ms', configOperation: IncrementalAlterConfigOperationTypes.SET, value: '3600000' }] }] })
  try {
    const changed = await brokerConfig('log.retention.ms')
    assert.deepEqual([changed?.value, changed?.configSource], ['3600000', ConfigSources.DYNAMIC_BROKER_CONFIG])
  } finally {
    await a.incrementalAlterConfigs({ resources: [{ resourceType: ConfigResourceTypes.BROKER, resourceName: brokerId, configs: [{ name: 'log.retention.ms', configOperation: IncrementalAlterConfigOperationTypes.DELETE }] }] })
  }
  assert.equal((await brokerConfig('log.retention.ms'))?.configSource, ConfigSources.DEFAULT_CONFIG)
})

test('consumer group: committed offsets carry over to the next member; describe, list and delete groups', { timeout: 60_000 }, async (t) => {
  if (groupsSkip !== false) {
    t.skip(groupsSkip)
    return
  }
  const topic = await createTopic(t, 'platformatic-commit', 2)
  const p = producer(t)
  await p.send({ messages: Array.from({ length: 10 }, (_, i) => ({ topic, key: Buffer.from(`k${i}`), value: Buffer.from(`first-${i}`) })), acks: ProduceAcks.ALL })
  const groupId = uniqueTopic('platformatic-commit-group')
  const first = await consumeWithGroup(topic, 10, { groupId, commit: true })
  assert.deepEqual(first.map((r) => r.value!.toString()).sort(), Array.from({ length: 10 }, (_, i) => `first-${i}`).sort())
  const a = admin(t)
  const committedTotal = async (): Promise<number> => {
    const [group] = await a.listConsumerGroupOffsets({ groups: [groupId] })
    return group!.topics.filter((x) => x.name === topic).flatMap((x) => x.partitions).reduce((sum, x) => sum + Number(x.committedOffset), 0)
  }
  assert.equal(await committedTotal(), 10)
  await p.send({ messages: Array.from({ length: 5 }, (_, i) => ({ topic, key: Buffer.from(`k${i}`), value: Buffer.from(`second-${i}`) })), acks: ProduceAcks.ALL })
  const second = await consumeWithGroup(topic, 5, { groupId, commit: true })
  assert.deepEqual(second.map((r) => r.value!.toString()).sort(), Array.from({ length: 5 }, (_, i) => `second-${i}`).sort())
  assert.equal(await committedTotal(), 15)

  const groups = await a.listGroups()
  assert.equal(groups.get(groupId)?.protocolType, 'consumer')
  const described = await a.describeGroups({ groups: [groupId] })
  assert.deepEqual([described.get(groupId)?.state, described.get(groupId)?.members.size], ['Empty', 0])
  await a.deleteGroups({ groups: [groupId] })
  assert.ok(!(await a.listGroups()).has(groupId))
})

for (const how of ['clean', 'kill'] as const) {
  test(`acks=all records survive a ${how === 'clean' ? 'clean restart (SIGTERM)' : 'SIGKILL and recovery'}`, { timeout: 60_000 }, async (t) => {
    const topic = await createTopic(t, `platformatic-restart-${how}`, 3)
    const p = new Producer({ ...base(), autocreateTopics: false })
    const acked: string[] = []
    for (let i = 0; i < 20; i++) {
      const messages = Array.from({ length: 10 }, (_, j) => ({ topic, key: Buffer.from(`k${(i * 10 + j) % 7}`), value: Buffer.from(`v${i * 10 + j}`) }))
      await p.send({ messages, acks: ProduceAcks.ALL, compression: i % 2 === 0 ? 'zstd' : 'none' })
      acked.push(...messages.map((m) => m.value.toString()))
    }
    await p.close()
    await samsa.restart(how)
    const fetched = await fetchAll(topic)
    assert.deepEqual(fetched.map((r) => r.value!.toString()).sort(), [...acked].sort())
    const p2 = producer(t)
    await p2.send({ messages: [{ topic, key: Buffer.from('after'), value: Buffer.from('restart') }], acks: ProduceAcks.ALL })
    assert.equal((await fetchAll(topic)).length, acked.length + 1)

    await t.test('a consume() stream (consumer group) reads everything after the restart', { skip: groupsSkip }, async () => {
      const consumed = await consumeWithGroup(topic, acked.length + 1)
      assert.deepEqual(consumed.map((r) => r.value!.toString()).sort(), [...acked, 'restart'].sort())
    })
  })
}
