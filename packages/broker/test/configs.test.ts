// Configs over the wire: DescribeConfigs for topics and the broker (values, sources,
// synonyms, documentation), AlterConfigs (the whole set), IncrementalAlterConfigs (SET,
// DELETE, APPEND, SUBTRACT), dynamic broker configs that change topics' effective settings and
// survive a restart, and the errors for what cannot be changed.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { AlterConfigsApi, DescribeConfigsApi, ErrorCode, IncrementalAlterConfigsApi } from '@samsa/protocol'
import type { DescribeConfigsResourceResult, DescribeConfigsResult } from '@samsa/protocol/messages/describe-configs'
import { type RawClient, connectRaw } from '@samsa/testkit'
import { createTopic, setup } from './helpers.ts'

const TOPIC = 2
const BROKER = 4
const BROKER_LOGGER = 8
const SET = 0
const DELETE = 1
const APPEND = 2
const SUBTRACT = 3
const Source = { TOPIC: 1, DYNAMIC_BROKER: 2, DYNAMIC_DEFAULT_BROKER: 3, STATIC_BROKER: 4, DEFAULT: 5, BROKER_LOGGER: 6 }

async function describe (client: RawClient, resourceType: number, resourceName: string, keys: string[] | null, options: { version?: number, synonyms?: boolean, docs?: boolean } = {}): Promise<DescribeConfigsResult> {
  const r = await client.request(DescribeConfigsApi, options.version ?? 4, {
    resources: [{ resourceType, resourceName, configurationKeys: keys }],
    includeSynonyms: options.synonyms ?? false,
    includeDocumentation: options.docs ?? false
  })
  return r.results[0]!
}

async function configOf (client: RawClient, topic: string, name: string): Promise<DescribeConfigsResourceResult> {
  const r = await describe(client, TOPIC, topic, [name], { synonyms: true })
  assert.equal(r.errorCode, ErrorCode.NONE)
  return r.configs[0]!
}

async function incremental (client: RawClient, resourceType: number, resourceName: string, ops: Array<[string, number, string | null]>, validateOnly = false): Promise<[number, string | null]> {
  const r = await client.request(IncrementalAlterConfigsApi, 1, {
    resources: [{ resourceType, resourceName, configs: ops.map(([name, configOperation, value]) => ({ name, configOperation, value })) }],
    validateOnly
  })
  return [r.responses[0]!.errorCode, r.responses[0]!.errorMessage]
}

async function alter (client: RawClient, resourceType: number, resourceName: string, configs: Record<string, string>, validateOnly = false): Promise<[number, string | null]> {
  const r = await client.request(AlterConfigsApi, 2, {
    resources: [{ resourceType, resourceName, configs: Object.entries(configs).map(([name, value]) => ({ name, value })) }],
    validateOnly
  })
  return [r.responses[0]!.errorCode, r.responses[0]!.errorMessage]
}

test('DescribeConfigs for a topic: values, sources and synonyms', async (t) => {
  const { client } = await setup(t, { inMemory: true, config: { 'log.retention.hours': 48 } })
  await createTopic(client, 'described', { configs: { 'segment.bytes': '2000000' } })
  const all = await describe(client, TOPIC, 'described', null)
  assert.equal(all.errorCode, ErrorCode.NONE)
  const byName = new Map(all.configs.map((c) => [c.name, c]))
  assert.ok(byName.size >= 30, `${byName.size} topic configs`)
  for (const name of ['cleanup.policy', 'retention.ms', 'segment.bytes', 'min.insync.replicas', 'message.timestamp.type', 'max.message.bytes']) assert.ok(byName.has(name), name)
  // A topic override, a static broker default through a synonym, and Kafka's default.
  assert.deepEqual(pick(byName.get('segment.bytes')), ['2000000', Source.TOPIC, false])
  assert.deepEqual(pick(byName.get('retention.ms')), ['172800000', Source.STATIC_BROKER, false])
  assert.deepEqual(pick(byName.get('cleanup.policy')), ['delete', Source.DEFAULT, false])
  assert.deepEqual(all.configs.map((c) => c.synonyms), all.configs.map(() => []), 'no synonyms unless asked')

  const retention = await configOf(client, 'described', 'retention.ms')
  assert.deepEqual(retention.synonyms, [
    { name: 'log.retention.hours', value: '48', source: Source.STATIC_BROKER },
    { name: 'log.retention.hours', value: '168', source: Source.DEFAULT }
  ])
  const segment = await configOf(client, 'described', 'segment.bytes')
  assert.deepEqual(segment.synonyms, [
    { name: 'segment.bytes', value: '2000000', source: Source.TOPIC },
    { name: 'log.segment.bytes', value: '1073741824', source: Source.DEFAULT }
  ])
  // v3+: types and documentation when asked.
  const documented = await describe(client, TOPIC, 'described', ['retention.ms'], { docs: true })
  assert.ok((documented.configs[0]!.documentation ?? '').length > 10)
  assert.equal(documented.configs[0]!.configType, 5, 'LONG')
  // v0 works too (kafka-python's admin).
  const v0 = await describe(client, TOPIC, 'described', ['segment.bytes'], { version: 0 })
  assert.equal(v0.configs[0]!.value, '2000000')

  const missing = await describe(client, TOPIC, 'missing', null)
  assert.equal(missing.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
  const invalid = await describe(client, TOPIC, 'bad name', null)
  assert.equal(invalid.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION)
})

function pick (c: DescribeConfigsResourceResult | undefined): [string | null, number, boolean] | undefined {
  return c === undefined ? undefined : [c.value, c.configSource, c.readOnly]
}

test('DescribeConfigs for the broker: this broker by id, the cluster defaults by "", other ids refused', async (t) => {
  const { client } = await setup(t, { inMemory: true, config: { 'log.retention.hours': 48, 'num.partitions': 2 } })
  const mine = await describe(client, BROKER, '1', ['log.retention.hours', 'num.partitions', 'log.dirs', 'message.max.bytes', 'node.id'], { synonyms: true })
  assert.equal(mine.errorCode, ErrorCode.NONE)
  const byName = new Map(mine.configs.map((c) => [c.name, c]))
  assert.deepEqual(pick(byName.get('log.retention.hours')), ['48', Source.STATIC_BROKER, true])
  assert.deepEqual(pick(byName.get('num.partitions')), ['2', Source.STATIC_BROKER, true])
  assert.deepEqual(pick(byName.get('log.dirs')), ['/samsa-data', Source.STATIC_BROKER, true])
  assert.deepEqual(pick(byName.get('message.max.bytes')), ['1048588', Source.DEFAULT, false])
  assert.deepEqual(pick(byName.get('node.id')), ['1', Source.STATIC_BROKER, true])
  const all = await describe(client, BROKER, '1', null)
  assert.ok(all.configs.length > 100, `${all.configs.length} broker configs`)
  assert.ok(all.configs.filter((c) => c.isSensitive).every((c) => c.value === null), 'sensitive values are hidden')
  const cluster = await describe(client, BROKER, '', null)
  assert.equal(cluster.errorCode, ErrorCode.NONE)
  const other = await describe(client, BROKER, '2', null)
  assert.equal(other.errorCode, ErrorCode.INVALID_REQUEST)
  const logger = await describe(client, BROKER_LOGGER, '1', null)
  assert.equal(logger.errorCode, ErrorCode.NONE)
  assert.equal(logger.configs[0]!.name, 'root')
  assert.equal(logger.configs[0]!.configSource, Source.BROKER_LOGGER)
})

test('AlterConfigs replaces a topic\'s whole set of overrides; validate-only and bad values change nothing', async (t) => {
  const { broker, client } = await setup(t, { inMemory: true })
  await createTopic(client, 'altered', { configs: { 'retention.ms': '1000' } })
  const log = (): ReturnType<typeof broker.broker.topics.partition> => broker.broker.topics.partition('altered', 0)
  assert.equal(log()!.log.config['retention.ms'], 1000)

  assert.deepEqual(await alter(client, TOPIC, 'altered', { 'max.message.bytes': '5000' }, true), [ErrorCode.NONE, null])
  assert.deepEqual(broker.broker.topics.get('altered')!.configs, { 'retention.ms': '1000' }, 'validate-only')

  assert.deepEqual(await alter(client, TOPIC, 'altered', { 'max.message.bytes': '5000', 'cleanup.policy': 'compact' }), [ErrorCode.NONE, null])
  assert.deepEqual(broker.broker.topics.get('altered')!.configs, { 'max.message.bytes': '5000', 'cleanup.policy': 'compact' })
  // The logs use the new settings at once, and retention.ms went back to the default.
  assert.equal(log()!.log.config['max.message.bytes'], 5000)
  assert.deepEqual(log()!.log.config['cleanup.policy'], ['compact'])
  assert.equal(log()!.log.config['retention.ms'], 604800000)
  assert.deepEqual(pick(await configOf(client, 'altered', 'retention.ms')), ['604800000', Source.DEFAULT, false])

  const [code, message] = await alter(client, TOPIC, 'altered', { 'max.message.bytes': '-5' })
  assert.equal(code, ErrorCode.INVALID_CONFIG)
  assert.match(message ?? '', /Invalid value -5 for configuration max\.message\.bytes/)
  assert.equal((await alter(client, TOPIC, 'altered', { 'no.such': '1' }))[0], ErrorCode.INVALID_CONFIG)
  assert.equal((await alter(client, TOPIC, 'missing', { 'retention.ms': '1' }))[0], ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
  assert.equal((await alter(client, BROKER_LOGGER, '1', { root: 'DEBUG' }))[0], ErrorCode.INVALID_REQUEST)
  assert.deepEqual(broker.broker.topics.get('altered')!.configs, { 'max.message.bytes': '5000', 'cleanup.policy': 'compact' })
})

test('IncrementalAlterConfigs: SET, DELETE, APPEND and SUBTRACT on topic configs', async (t) => {
  const { broker, client } = await setup(t, { inMemory: true })
  await createTopic(client, 'inc', { configs: { 'retention.ms': '1000' } })
  const overrides = (): Record<string, string> => broker.broker.topics.get('inc')!.configs
  assert.deepEqual(await incremental(client, TOPIC, 'inc', [['segment.ms', SET, '60000']]), [ErrorCode.NONE, null])
  assert.deepEqual(overrides(), { 'retention.ms': '1000', 'segment.ms': '60000' }, 'other overrides are kept')
  assert.deepEqual(await incremental(client, TOPIC, 'inc', [['retention.ms', DELETE, null]]), [ErrorCode.NONE, null])
  assert.deepEqual(overrides(), { 'segment.ms': '60000' })
  assert.deepEqual(await incremental(client, TOPIC, 'inc', [['cleanup.policy', APPEND, 'compact']]), [ErrorCode.NONE, null])
  assert.deepEqual(overrides()['cleanup.policy'], 'delete,compact', 'appended to the effective default')
  assert.deepEqual(broker.broker.topics.partition('inc', 0)!.log.config['cleanup.policy'], ['delete', 'compact'])
  assert.deepEqual(await incremental(client, TOPIC, 'inc', [['cleanup.policy', SUBTRACT, 'delete']]), [ErrorCode.NONE, null])
  assert.equal(overrides()['cleanup.policy'], 'compact')
  // validateOnly, and errors leave everything as it was.
  assert.deepEqual(await incremental(client, TOPIC, 'inc', [['segment.ms', SET, '1']], true), [ErrorCode.NONE, null])
  const [appendCode, appendMessage] = await incremental(client, TOPIC, 'inc', [['segment.ms', APPEND, '5']])
  assert.equal(appendCode, ErrorCode.INVALID_CONFIG)
  assert.equal(appendMessage, 'Can\'t APPEND to key segment.ms because its type is not LIST.')
  const [setCode] = await incremental(client, TOPIC, 'inc', [['segment.ms', SET, '2'], ['min.insync.replicas', SET, '0']])
  assert.equal(setCode, ErrorCode.INVALID_CONFIG)
  assert.deepEqual(overrides(), { 'segment.ms': '60000', 'cleanup.policy': 'compact' })
})

test('dynamic broker configs: a cluster default changes topics\' effective settings and survives a restart', async (t) => {
  const { broker, client } = await setup(t)
  await createTopic(client, 'follows')
  await createTopic(client, 'overrides', { configs: { 'retention.ms': '5000' } })
  assert.deepEqual(await incremental(client, BROKER, '', [['log.retention.ms', SET, '3600000']]), [ErrorCode.NONE, null])
  assert.equal(broker.broker.topics.partition('follows', 0)!.log.config['retention.ms'], 3600000)
  assert.equal(broker.broker.topics.partition('overrides', 0)!.log.config['retention.ms'], 5000, 'a topic override still wins')
  const follows = await configOf(client, 'follows', 'retention.ms')
  assert.deepEqual(pick(follows), ['3600000', Source.DYNAMIC_DEFAULT_BROKER, false])
  assert.deepEqual(follows.synonyms[0], { name: 'log.retention.ms', value: '3600000', source: Source.DYNAMIC_DEFAULT_BROKER })
  // A per-broker dynamic value wins over the cluster default.
  assert.deepEqual(await incremental(client, BROKER, '1', [['log.retention.ms', SET, '7200000']]), [ErrorCode.NONE, null])
  assert.equal(broker.broker.topics.partition('follows', 0)!.log.config['retention.ms'], 7200000)
  assert.deepEqual(pick(await configOf(client, 'follows', 'retention.ms')), ['7200000', Source.DYNAMIC_BROKER, false])
  assert.deepEqual(await incremental(client, BROKER, '1', [['log.retention.ms', DELETE, null]]), [ErrorCode.NONE, null])
  // Produce limits follow the dynamic message.max.bytes too.
  assert.deepEqual(await alter(client, BROKER, '', { 'log.retention.ms': '3600000', 'message.max.bytes': '500000' }), [ErrorCode.NONE, null])
  assert.equal(broker.broker.topics.partition('follows', 0)!.log.config['max.message.bytes'], 500000)
  const brokerView = await describe(client, BROKER, '', ['log.retention.ms', 'message.max.bytes'])
  assert.deepEqual(brokerView.configs.map((c) => [c.name, c.value, c.configSource]), [
    ['log.retention.ms', '3600000', Source.DYNAMIC_DEFAULT_BROKER],
    ['message.max.bytes', '500000', Source.DYNAMIC_DEFAULT_BROKER]
  ])
  client.close()

  await broker.restart()
  const after = await connectRaw(broker.bootstrap)
  t.after(() => after.close())
  assert.equal(broker.broker.topics.partition('follows', 0)!.log.config['retention.ms'], 3600000)
  assert.equal(broker.broker.topics.partition('follows', 0)!.log.config['max.message.bytes'], 500000)
  assert.deepEqual(pick(await configOf(after, 'follows', 'retention.ms')), ['3600000', Source.DYNAMIC_DEFAULT_BROKER, false])
  // Topics created later pick up the defaults as well.
  await createTopic(after, 'later')
  assert.equal(broker.broker.topics.partition('later', 0)!.log.config['retention.ms'], 3600000)
})

test('read-only and unknown broker configs are refused', async (t) => {
  const { client } = await setup(t, { inMemory: true })
  const cases: Array<[string, Array<[string, number, string | null]>, number, RegExp]> = [
    ['1', [['log.dirs', SET, '/elsewhere']], ErrorCode.INVALID_REQUEST, /^Cannot update these configs dynamically: Set\(log\.dirs\)$/],
    ['', [['node.id', SET, '5']], ErrorCode.INVALID_REQUEST, /Cannot update these configs dynamically: Set\(node\.id\)/],
    ['', [['listeners', SET, 'PLAINTEXT://:1']], ErrorCode.INVALID_REQUEST, /broker id must be specified/],
    // Kafka's ConfigAdminManager answers every broker-config failure with INVALID_REQUEST.
    ['', [['log.retention.ms', SET, 'soon']], ErrorCode.INVALID_REQUEST, /log\.retention\.ms/],
    ['2', [['log.retention.ms', SET, '1']], ErrorCode.INVALID_REQUEST, /Unexpected broker id/]
  ]
  for (const [name, ops, code, message] of cases) {
    const [got, text] = await incremental(client, BROKER, name, ops)
    assert.equal(got, code, JSON.stringify(ops))
    assert.match(text ?? '', message)
  }
  const [legacy, text] = await alter(client, BROKER, '', { 'log.dirs': '/x' })
  assert.equal(legacy, ErrorCode.INVALID_REQUEST)
  assert.match(text ?? '', /Set\(log\.dirs\)/)
  const unchanged = await describe(client, BROKER, '1', ['log.dirs', 'log.retention.ms'])
  assert.deepEqual(unchanged.configs.map((c) => [c.name, c.value]), [['log.dirs', '/samsa-data'], ['log.retention.ms', null]])
})

test('kafkajs describeConfigs and alterConfigs', async (t) => {
  const { broker, client } = await setup(t, { inMemory: true })
  await createTopic(client, 'kjs-configs')
  const admin = new Kafka({ clientId: 'samsa-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  t.after(() => admin.disconnect())
  await admin.alterConfigs({ validateOnly: false, resources: [{ type: TOPIC, name: 'kjs-configs', configEntries: [{ name: 'retention.ms', value: '99000' }] }] })
  const described = await admin.describeConfigs({ includeSynonyms: true, resources: [{ type: TOPIC, name: 'kjs-configs', configNames: ['retention.ms', 'cleanup.policy'] }] })
  const entries = described.resources[0]!.configEntries.map((e) => [e.configName, e.configValue, e.isDefault]).sort()
  assert.deepEqual(entries, [['cleanup.policy', 'delete', true], ['retention.ms', '99000', false]])
})
