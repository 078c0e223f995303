/**
 * The scenarios shared by the two Python clients (confluent-kafka-python and kafka-python).
 * Each client has a script in compat/python/ with the same scenario names and JSON shapes
 * (`<bootstrap> <scenario> <json args>`, one JSON document on stdout); this module starts a
 * broker, drives the script and asserts. Both consume with assign(), so no consumer group.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, test, type TestContext } from 'node:test'
import { type SamsaProcess, startSamsa } from './harness.ts'
import {
  FIND_COORDINATOR_KEY, advertisedApis, compressibleValue, groupsSkipReason, readAll, runPython, storedBatches, storedCodecs,
  uniqueTopic
} from './helpers.ts'

export interface KafkaErrorJson {
  code: number
  name: string
}

export interface PythonClient {
  /** For test names and topic prefixes. */
  name: string
  /** compat/python/<script>. */
  script: string
  codecs: readonly string[]
  /** The codec whose on-disk check depends on FindCoordinator v0 (librdkafka's LZ4 feature). */
  codecNeedingFindCoordinator?: string
  /** Options for the produce scenario that lift the client's own size limit above 1 MiB. */
  largeProduceOptions: Record<string, unknown>
  /** Error names as the client spells them, by Kafka error code. */
  errorNames: Record<number, string>
  /** What the client's producer writes in a batch: producer id, epoch, base sequence. */
  producerFields: [bigint, number, number]
  /** Whether header values may be null. */
  nullHeaderValues: boolean
  /** What offsets_for_times gives when no record is at or after the timestamp. */
  offsetForTimeNotFound: unknown
  /** Whether the DescribeConfigs version used reports isDefault (v0) instead of a source. */
  describeConfigsHasSource: boolean
  /** The client's constant for a CreateTime timestamp. */
  createTimeType: number
}

interface ProduceResult { results: Array<{ partition: number, offset: number, timestamp: number } | { error: KafkaErrorJson }> }
interface ConsumedRecord {
  partition: number
  offset: number
  timestamp: number
  timestampType: number
  key: string | null
  headers: Array<[string, string | null]>
  value: string | null
  valueLength: number | null
  valueSha256: string | null
}
interface ConfigEntry { value: string | null, source?: number, readOnly: boolean, isDefault?: boolean, synonyms?: Array<[string, string | null, number]> }

type RecordSpec = { key?: string | null, value?: string | null | { size: number, fill?: string }, headers?: Array<[string, string | null]>, partition?: number, timestamp?: number }

const DYNAMIC_TOPIC_CONFIG = 1
const DYNAMIC_BROKER_CONFIG = 2
const DEFAULT_CONFIG = 5

export function pythonClientSuite (client: PythonClient): void {
  let samsa: SamsaProcess
  let findCoordinatorV0 = false
  let groupsSkip: string | false = false

  const py = async <T>(scenario: string, args: Record<string, unknown> = {}): Promise<T> =>
    await runPython<T>(client.script, samsa.bootstrap, scenario, args)

  const produce = async (topic: string, records: RecordSpec[], options: Record<string, unknown> = {}): Promise<ProduceResult['results']> =>
    (await py<ProduceResult>('produce', { topic, records, ...options })).results

  const consume = async (topic: string): Promise<ConsumedRecord[]> =>
    (await py<{ records: ConsumedRecord[] }>('consume', { topic })).records

  const describeConfigs = async (type: 'topic' | 'broker', name: string, keys?: string[], synonyms = false): Promise<Record<string, ConfigEntry>> => {
    const res = await py<{ error: KafkaErrorJson | null, configs: Record<string, ConfigEntry> }>('describe-configs', { type, name, keys, synonyms })
    assert.equal(res.error, null)
    return res.configs
  }

  /** The resource's error: kafka-python reports `{ error, message }`, confluent-kafka the error itself. */
  const alterConfigs = async (type: 'topic' | 'broker', name: string, configs: Record<string, string>): Promise<KafkaErrorJson | null> => {
    const [first] = (await py<{ errors: Array<{ error: KafkaErrorJson | null } | KafkaErrorJson | null> }>('alter-configs', { type, name, configs })).errors
    if (first == null) return null
    return 'code' in first ? first : first.error
  }

  const createTopics = async (topics: Array<{ name: string, partitions?: number, configs?: Record<string, string> }>): Promise<Record<string, KafkaErrorJson | null>> =>
    (await py<{ errors: Record<string, KafkaErrorJson | null> }>('create-topics', { topics })).errors

  const deleteTopics = async (topics: string[]): Promise<Record<string, KafkaErrorJson | null>> =>
    (await py<{ errors: Record<string, KafkaErrorJson | null> }>('delete-topics', { topics })).errors

  const errorCode = (e: KafkaErrorJson | null | undefined): number | null => e == null ? null : e.code

  /** A topic created through the client's admin API and deleted after the test. */
  const createTopic = async (t: TestContext, prefix: string, partitions = 1, configs: Record<string, string> = {}): Promise<string> => {
    const topic = uniqueTopic(`${client.name}-${prefix}`)
    assert.deepEqual(await createTopics([{ name: topic, partitions, configs }]), { [topic]: null })
    t.after(() => deleteTopics([topic]))
    return topic
  }

  const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

  before(async () => {
    samsa = await startSamsa({ config: { 'group.initial.rebalance.delay.ms': 0 } })
    findCoordinatorV0 = (await advertisedApis(samsa.bootstrap)).get(FIND_COORDINATOR_KEY)?.min === 0
    groupsSkip = await groupsSkipReason(samsa.bootstrap)
  })

  after(async () => {
    if (process.env.SAMSA_COMPAT_LOG_LEVEL !== undefined) console.log(samsa.log())
    await samsa.stop()
  })

  test('metadata: brokers, controller, cluster id, partitions', { timeout: 30_000 }, async (t) => {
    const topic = await createTopic(t, 'meta', 3)
    const md = await py<{
      brokers: Array<{ id: number, host: string, port: number }>
      controller: number
      clusterId: string
      topics: Record<string, { error: unknown, partitions: Array<{ id: number, leader: number, replicas: number[], isr: number[] }> }>
    }>('metadata', { topics: [topic], topic })
    assert.deepEqual(md.brokers.map((b) => [b.host, b.port]), [['127.0.0.1', samsa.port]])
    const id = md.brokers[0]!.id
    assert.equal(md.controller, id)
    assert.match(md.clusterId, /^[A-Za-z0-9_-]{22}$/)
    assert.deepEqual(md.topics[topic], { error: null, partitions: [0, 1, 2].map((p) => ({ id: p, leader: id, replicas: [id], isr: [id] })) })
  })

  test('create, describe and delete topics', { timeout: 30_000 }, async () => {
    const topic = uniqueTopic(`${client.name}-topics`)
    const bad = uniqueTopic(`${client.name}-bad`)
    const zero = uniqueTopic(`${client.name}-zero`)
    const created = await createTopics([
      { name: topic, partitions: 2, configs: { 'retention.ms': '3600000' } },
      { name: bad, configs: { 'retention.ms': 'soon' } },
      { name: zero, partitions: 0 }
    ])
    assert.deepEqual(Object.fromEntries(Object.entries(created).map(([k, v]) => [k, errorCode(v)])), { [topic]: null, [bad]: 40, [zero]: 37 })
    assert.equal(created[bad]!.name, client.errorNames[40])
    const again = await createTopics([{ name: topic, partitions: 2 }])
    assert.deepEqual([errorCode(again[topic]), again[topic]?.name], [36, client.errorNames[36]])
    const configs = await describeConfigs('topic', topic, ['retention.ms', 'cleanup.policy'])
    assert.equal(configs['retention.ms']?.value, '3600000')
    assert.equal(configs['cleanup.policy']?.value, 'delete')
    if (client.describeConfigsHasSource) {
      assert.equal(configs['retention.ms']?.source, DYNAMIC_TOPIC_CONFIG)
      assert.equal(configs['cleanup.policy']?.source, DEFAULT_CONFIG)
    }
    const md = await py<{ topics: Record<string, { partitions: unknown[] }> }>('metadata', { topics: [topic], topic })
    assert.equal(md.topics[topic]?.partitions.length, 2)

    assert.deepEqual(await deleteTopics([topic]), { [topic]: null })
    const gone = await deleteTopics([topic])
    assert.deepEqual([errorCode(gone[topic]), gone[topic]?.name], [3, client.errorNames[3]])
    assert.ok(!(await readTopicNames()).includes(topic))
  })

  /** Every topic name, from a metadata request for all topics. */
  const readTopicNames = async (): Promise<string[]> => {
    const md = await py<{ topics: Record<string, unknown>, listed?: string[] }>('metadata', {})
    return md.listed ?? Object.keys(md.topics)
  }

  test('produce and consume keys, null keys, headers and empty values', { timeout: 30_000 }, async (t) => {
    const topic = await createTopic(t, 'basic')
    const headerValue = client.nullHeaderValues ? null : ''
    const records: RecordSpec[] = [
      { key: 'k1', value: 'v1', headers: [['h1', 'x'], ['h2', 'y']] },
      { key: null, value: 'no key' },
      { key: 'k3', value: '', headers: [['empty', headerValue]] },
      { key: 'k4', value: null }
    ]
    const results = await produce(topic, records)
    assert.deepEqual(results.map((r) => 'offset' in r ? [r.partition, r.offset] : r), [[0, 0], [0, 1], [0, 2], [0, 3]])
    const consumed = await consume(topic)
    const expected = [
      [0, 'k1', 'v1', [['h1', 'x'], ['h2', 'y']]],
      [1, null, 'no key', []],
      [2, 'k3', '', [['empty', headerValue]]],
      [3, 'k4', null, []]
    ]
    assert.deepEqual(consumed.map((r) => [r.offset, r.key, r.value, r.headers]), expected)
    assert.ok(consumed.every((r) => r.timestampType === client.createTimeType), 'CreateTime')
    const stored = await readAll(samsa.bootstrap, topic)
    assert.deepEqual(stored.map((r) => [r.offset, r.key, r.value?.toString() ?? null, r.headers]), expected)
    const [batch] = storedBatches(samsa.dataDir, topic)
    assert.deepEqual([batch!.producerId, batch!.producerEpoch, batch!.baseSequence], client.producerFields)
  })

  test(`every codec: ${client.codecs.join(', ')}`, { timeout: 60_000 }, async (t) => {
    const topic = await createTopic(t, 'codecs')
    let next = 0
    const ranges = new Map<string, [number, number]>()
    for (const compression of client.codecs) {
      const records = Array.from({ length: 10 }, (_, i) => ({ key: `${compression}-${i}`, value: compressibleValue(i), headers: [['codec', compression]] as Array<[string, string]> }))
      const results = await produce(topic, records, { compression, lingerMs: 50 })
      assert.deepEqual(results.map((r) => 'offset' in r ? r.offset : r), records.map((_, i) => next + i), compression)
      ranges.set(compression, [next, next + 10])
      next += 10
    }
    for (const compression of client.codecs) {
      const check = (): void => assert.deepEqual(storedCodecs(samsa.dataDir, topic, 0, ...ranges.get(compression)!), [compression], `${compression} batches stored with ${compression}`)
      if (compression === client.codecNeedingFindCoordinator) {
        await t.test(`${compression} batches are stored with ${compression}`, {
          skip: findCoordinatorV0 ? false : 'librdkafka disables LZ4 until FindCoordinator v0 is advertised (consumer groups)'
        }, check)
      } else {
        check()
      }
    }
    const consumed = await consume(topic)
    assert.deepEqual(consumed.map((r) => [r.key, r.value, r.headers]),
      client.codecs.flatMap((c) => Array.from({ length: 10 }, (_, i) => [`${c}-${i}`, compressibleValue(i), [['codec', c]]])))
  })

  test('1,000,000-byte values are accepted; oversized batches get MESSAGE_TOO_LARGE', { timeout: 60_000 }, async (t) => {
    const topic = await createTopic(t, 'large')
    const ok = await produce(topic, [{ key: 'big', value: { size: 1_000_000, fill: 'm' } }], client.largeProduceOptions)
    assert.deepEqual(ok.map((r) => 'offset' in r ? r.offset : r), [0])
    // 1 MiB of value plus the batch overhead is above max.message.bytes (1048588), as on Kafka.
    const [tooLarge] = await produce(topic, [{ key: 'too-big', value: { size: 1024 * 1024 } }], client.largeProduceOptions)
    assert.ok(tooLarge !== undefined && 'error' in tooLarge, 'rejected')
    assert.deepEqual([tooLarge.error.code, tooLarge.error.name], [10, client.errorNames[10]])
    await produce(topic, [{ key: 'after', value: 'small' }])
    const consumed = await consume(topic)
    assert.deepEqual(consumed.map((r) => [r.offset, r.key, r.valueLength]), [[0, 'big', 1_000_000], [1, 'after', 5]])
    assert.equal(consumed[0]!.valueSha256, sha256(Buffer.alloc(1_000_000, 'm')))
  })

  test('32 partitions: keyed records spread over all, each partition in order', { timeout: 60_000 }, async (t) => {
    const topic = await createTopic(t, 'many', 32)
    const keys = Array.from({ length: 512 }, (_, i) => `key-${i}`)
    const records = [0, 1, 2, 3, 4].flatMap((round) => keys.map((key) => ({ key, value: `${key}/${round}` })))
    const results = await produce(topic, records, { lingerMs: 20 })
    assert.ok(results.every((r) => 'offset' in r))
    const consumed = await consume(topic)
    assert.equal(consumed.length, records.length)
    assert.equal(new Set(consumed.map((r) => r.partition)).size, 32)
    const partitionOfKey = new Map<string, number>()
    const roundOfKey = new Map<string, number>()
    const nextOffset = new Map<number, number>()
    for (const r of consumed) {
      assert.equal(r.offset, nextOffset.get(r.partition) ?? 0, `contiguous offsets in partition ${r.partition}`)
      nextOffset.set(r.partition, r.offset + 1)
      const [key, round] = r.value!.split('/') as [string, string]
      assert.equal(r.key, key)
      assert.equal(partitionOfKey.get(key) ?? r.partition, r.partition, `${key} always in one partition`)
      partitionOfKey.set(key, r.partition)
      assert.equal(Number(round), (roundOfKey.get(key) ?? -1) + 1, `${key} in order`)
      roundOfKey.set(key, Number(round))
    }
  })

  test('offsets by timestamp (ListOffsets), earliest and latest', { timeout: 30_000 }, async (t) => {
    const topic = await createTopic(t, 'times', 2)
    const base = Date.now() - 60_000
    await produce(topic, [
      ...Array.from({ length: 5 }, (_, i) => ({ key: `t${i}`, value: `t${i}`, partition: 0, timestamp: base + i * 1000 })),
      { key: 'late', value: 'late', partition: 1, timestamp: base + 10_000 }
    ])
    const res = await py<{ beginning: Record<string, number>, end: Record<string, number>, byTime: Record<string, Record<string, unknown>> }>('offsets', {
      topic, timestamps: [base, base + 2000, base + 2500, base + 4001, base + 10_001]
    })
    assert.deepEqual(res.beginning, { 0: 0, 1: 0 })
    assert.deepEqual(res.end, { 0: 5, 1: 1 })
    const offsetOf = (v: unknown): unknown => Array.isArray(v) ? v[0] : v
    const by = (ts: number): unknown[] => [0, 1].map((p) => offsetOf(res.byTime[String(ts)]![String(p)]))
    assert.deepEqual(by(base), [0, 0])
    assert.deepEqual(by(base + 2000), [2, 0])
    assert.deepEqual(by(base + 2500), [3, 0])
    assert.deepEqual(by(base + 4001), [client.offsetForTimeNotFound, 0])
    assert.deepEqual(by(base + 10_001), [client.offsetForTimeNotFound, client.offsetForTimeNotFound])
    const consumed = await consume(topic)
    assert.deepEqual(consumed.filter((r) => r.partition === 0).map((r) => r.timestamp), [0, 1, 2, 3, 4].map((i) => base + i * 1000))
  })

  test('configs: describe and alter (topic and broker)', { timeout: 30_000 }, async (t) => {
    const topic = await createTopic(t, 'configs', 1, { 'segment.bytes': '10485760' })
    let configs = await describeConfigs('topic', topic, undefined, true)
    assert.equal(configs['segment.bytes']?.value, '10485760')
    assert.equal(configs['retention.ms']?.value, '604800000')
    assert.equal(configs['max.message.bytes']?.value, '1048588')
    if (client.describeConfigsHasSource) {
      assert.equal(configs['segment.bytes']?.source, DYNAMIC_TOPIC_CONFIG)
      assert.deepEqual(configs['segment.bytes']?.synonyms, [['segment.bytes', '10485760', DYNAMIC_TOPIC_CONFIG], ['log.segment.bytes', '1073741824', DEFAULT_CONFIG]])
    }
    // AlterConfigs replaces the whole set: segment.bytes returns to its default.
    assert.equal(await alterConfigs('topic', topic, { 'retention.ms': '7200000', 'cleanup.policy': 'compact' }), null)
    configs = await describeConfigs('topic', topic)
    assert.equal(configs['retention.ms']?.value, '7200000')
    assert.equal(configs['cleanup.policy']?.value, 'compact')
    assert.equal(configs['segment.bytes']?.value, '1073741824')
    const invalid = await alterConfigs('topic', topic, { 'retention.ms': 'soon' })
    assert.deepEqual([invalid?.code, invalid?.name], [40, client.errorNames[40]])
    assert.equal((await describeConfigs('topic', topic, ['retention.ms']))['retention.ms']?.value, '7200000', 'a rejected change changes nothing')

    const broker = String((await py<{ brokers: Array<{ id: number }> }>('metadata', {})).brokers[0]!.id)
    const brokerConfigs = await describeConfigs('broker', broker, ['num.partitions', 'log.retention.hours', 'message.max.bytes'])
    assert.deepEqual(Object.fromEntries(Object.entries(brokerConfigs).map(([k, v]) => [k, v.value])), { 'num.partitions': '1', 'log.retention.hours': '168', 'message.max.bytes': '1048588' })
    assert.equal(brokerConfigs['num.partitions']?.readOnly, true)
    assert.equal(await alterConfigs('broker', broker, { 'message.max.bytes': '2000000' }), null)
    try {
      const changed = await describeConfigs('broker', broker, ['message.max.bytes'])
      assert.equal(changed['message.max.bytes']?.value, '2000000')
      if (client.describeConfigsHasSource) assert.equal(changed['message.max.bytes']?.source, DYNAMIC_BROKER_CONFIG)
    } finally {
      assert.equal(await alterConfigs('broker', broker, {}), null)
    }
    assert.equal((await describeConfigs('broker', broker, ['message.max.bytes']))['message.max.bytes']?.value, '1048588')
  })

  test('consumer group (subscribe): reads, commits, and the next member continues from the commit', { timeout: 60_000 }, async (t) => {
    if (groupsSkip !== false) {
      t.skip(groupsSkip)
      return
    }
    const topic = await createTopic(t, 'group', 2)
    await produce(topic, Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `first-${i}` })))
    const groupId = uniqueTopic(`${client.name}-group`)
    type GroupResult = { records: ConsumedRecord[], committed: Record<string, number | null> }
    const first = await py<GroupResult>('group-consume', { topic, groupId, count: 10 })
    assert.deepEqual(first.records.map((r) => r.value).sort(), Array.from({ length: 10 }, (_, i) => `first-${i}`).sort())
    const total = (c: GroupResult['committed']): number => Object.values(c).reduce<number>((sum, o) => sum + (o ?? 0), 0)
    assert.equal(total(first.committed), 10)
    await produce(topic, Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: `second-${i}` })))
    const second = await py<GroupResult>('group-consume', { topic, groupId, count: 5 })
    assert.deepEqual(second.records.map((r) => r.value).sort(), Array.from({ length: 5 }, (_, i) => `second-${i}`).sort())
    assert.equal(total(second.committed), 15)
  })

  for (const how of ['clean', 'kill'] as const) {
    test(`acks=all records survive a ${how === 'clean' ? 'clean restart (SIGTERM)' : 'SIGKILL and recovery'}`, { timeout: 60_000 }, async (t) => {
      const topic = await createTopic(t, `restart-${how}`, 3)
      const records = Array.from({ length: 300 }, (_, i) => ({ key: `k${i % 7}`, value: `v${i}` }))
      const results = await produce(topic, records, { acks: 'all', compression: client.codecs[1] })
      assert.ok(results.every((r) => 'offset' in r), 'every record acknowledged')
      await samsa.restart(how)
      const consumed = await consume(topic)
      assert.deepEqual(consumed.map((r) => r.value).sort(), records.map((r) => r.value).sort())
      await produce(topic, [{ key: 'after', value: 'restart' }])
      assert.equal((await consume(topic)).length, records.length + 1)
    })
  }
}
