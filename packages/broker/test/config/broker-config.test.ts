import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { LONG_MAX as STORAGE_LONG_MAX, DEFAULT_LOG_CONFIG } from '@samsa/storage'
import { ConfigError, ConfigSource, ConfigTypeCode } from '../../src/config/config-def.ts'
import {
  AlterConfigOpType, BrokerConfig, applyAlterConfigOps, describeBrokerConfigs, describeTopicConfigs,
  effectiveTopicConfig, incrementalAlterTopicConfigs, resolveBrokerConfig, validateBrokerConfigUpdate, validateTopicConfigs
} from '../../src/config/broker-config.ts'
import { logConfigFrom } from '../../src/config/log-config-from.ts'
import { formatConfigHelp } from '../../src/config/help.ts'
import { BROKER_CONFIG_DEF } from '../../src/config/broker-configs.ts'

function error (fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`)
    return e
  }
  assert.fail('expected a ConfigError')
}

const { SET, DELETE, APPEND, SUBTRACT } = AlterConfigOpType

describe('resolveBrokerConfig', () => {
  test('defaults: Samsa binds 127.0.0.1 and stores data in ./samsa-data', () => {
    const config = resolveBrokerConfig()
    assert.equal(config.getString('listeners'), 'PLAINTEXT://127.0.0.1:9092')
    assert.deepEqual(config.listeners, [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 9092, securityProtocol: 'PLAINTEXT' }])
    assert.deepEqual(config.advertisedListeners, config.listeners)
    assert.deepEqual(config.logDirs, ['./samsa-data'])
    assert.equal(config.nodeId, 0)
    assert.equal(config.numPartitions, 1)
    assert.equal(config.defaultReplicationFactor, 1)
    assert.equal(config.autoCreateTopicsEnable, true)
    assert.equal(config.deleteTopicEnable, true)
    assert.equal(config.socketRequestMaxBytes, 104857600)
    assert.equal(config.connectionsMaxIdleMs, 600000)
    assert.equal(config.messageMaxBytes, 1048588)
    assert.equal(config.fetchMaxBytes, 57671680)
    assert.equal(config.offsetsTopicNumPartitions, 50)
    assert.equal(config.offsetsTopicReplicationFactor, 3)
    assert.equal(config.offsetsRetentionMs, 10080 * 60_000)
    assert.equal(config.groupInitialRebalanceDelayMs, 3000)
    assert.equal(config.groupMinSessionTimeoutMs, 6000)
    assert.equal(config.groupMaxSessionTimeoutMs, 1800000)
    assert.equal(config.transactionMaxTimeoutMs, 900000)
    assert.equal(config.transactionStateLogNumPartitions, 50)
    assert.equal(config.getString('compression.type'), 'producer')
    assert.equal(config.metadataStore, 'file')
    assert.equal(config.getLong('log.flush.scheduler.interval.ms'), Number.MAX_SAFE_INTEGER)
    assert.deepEqual(config.warnings, [])
    assert.ok(Object.isFrozen(config))
    assert.ok(Object.isFrozen(config.values))
  })

  test('precedence: defaults < file < env < args < overrides', () => {
    const config = resolveBrokerConfig({
      file: 'server.properties',
      readFile: () => 'num.partitions=2\nlog.dirs=/file\nbroker.rack=file\ndefault.replication.factor=2\n',
      env: { SAMSA_LOG_DIRS: '/env', SAMSA_BROKER_RACK: 'env', SAMSA_NUM_PARTITIONS: '3' },
      args: ['--broker.rack=args', '--override', 'num.partitions=4'],
      overrides: { 'num.partitions': 5 }
    })
    assert.equal(config.getInt('default.replication.factor'), 2)
    assert.deepEqual(config.logDirs, ['/env'])
    assert.equal(config.brokerRack, 'args')
    assert.equal(config.numPartitions, 5)
    assert.deepEqual(config.suppliedFrom, {
      'num.partitions': 'overrides', 'log.dirs': 'env', 'broker.rack': 'args', 'default.replication.factor': 'file'
    })
  })

  test('--config in args names the properties file', () => {
    const read: string[] = []
    const config = resolveBrokerConfig({ args: ['--config', 'x.properties'], readFile: (p) => { read.push(p); return 'log.dirs=/a, /b' } })
    assert.deepEqual(read, ['x.properties'])
    assert.deepEqual(config.logDirs, ['/a', '/b'])
    assert.throws(() => resolveBrokerConfig({ file: '/nonexistent/samsa.properties' }), /Cannot read configuration file/)
  })

  test('unknown keys are warnings, not errors', () => {
    const config = resolveBrokerConfig({ properties: { 'retention.ms': '1', 'no.such.thing': 'x' } })
    assert.deepEqual(config.unknownKeys, ['retention.ms', 'no.such.thing'])
    assert.deepEqual(config.warnings, [
      "The configuration 'retention.ms' was supplied but isn't a known config.",
      "The configuration 'no.such.thing' was supplied but isn't a known config."
    ])
  })

  test('invalid values fail with Kafka\'s message', () => {
    const e = error(() => resolveBrokerConfig({ properties: { 'num.partitions': '0' } }))
    assert.equal(e.message, 'Invalid value 0 for configuration num.partitions: Value must be at least 1')
    assert.equal(error(() => resolveBrokerConfig({ properties: { 'log.retention.hours': 'x' } })).message,
      'Invalid value x for configuration log.retention.hours: Not a number of type INT')
    assert.match(error(() => resolveBrokerConfig({ properties: { 'metadata.store': 'zk://x' } })).message, /metadata.store/)
    assert.equal(resolveBrokerConfig({ properties: { 'metadata.store': 'etcd://a:2379,b:2379' } }).metadataStore, 'etcd://a:2379,b:2379')
  })

  test('node.id and broker.id are synonyms and must agree', () => {
    assert.equal(resolveBrokerConfig({ properties: { 'broker.id': '7' } }).nodeId, 7)
    assert.equal(resolveBrokerConfig({ properties: { 'node.id': '7' } }).getInt('broker.id'), 7)
    assert.equal(resolveBrokerConfig({ properties: { 'node.id': '7', 'broker.id': '7' } }).nodeId, 7)
    assert.equal(error(() => resolveBrokerConfig({ properties: { 'node.id': '1', 'broker.id': '2' } })).message,
      'You must set `node.id` to the same value as `broker.id`.')
  })

  test('listeners, advertised listeners and the protocol map', () => {
    const config = resolveBrokerConfig({
      properties: {
        listeners: 'INTERNAL://:9092, external://[::1]:9093',
        'listener.security.protocol.map': 'INTERNAL:PLAINTEXT,EXTERNAL:SASL_SSL',
        'advertised.listeners': 'INTERNAL://broker1:9092,EXTERNAL://example.com:19093'
      }
    })
    assert.deepEqual(config.listeners.map((l) => [l.name, l.host, l.port, l.securityProtocol]), [
      ['INTERNAL', null, 9092, 'PLAINTEXT'], ['EXTERNAL', '::1', 9093, 'SASL_SSL']
    ])
    assert.deepEqual(config.advertisedListeners.map((l) => l.host), ['broker1', 'example.com'])
    assert.equal(error(() => resolveBrokerConfig({ properties: { listeners: 'FOO://:1' } })).message, 'No security protocol defined for listener FOO')
    assert.equal(error(() => resolveBrokerConfig({ properties: { listeners: 'PLAINTEXT:9092' } })).message, 'Unable to parse PLAINTEXT:9092 to a broker endpoint')
    assert.match(error(() => resolveBrokerConfig({ properties: { 'advertised.listeners': 'PLAINTEXT://0.0.0.0:9092' } })).message, /nonroutable meta-address 0.0.0.0/)
    assert.match(error(() => resolveBrokerConfig({ properties: { listeners: 'PLAINTEXT://:1,PLAINTEXT://:2' } })).message, /different name/)
  })

  test('typed getters refuse the wrong type', () => {
    const config = new BrokerConfig({})
    assert.throws(() => config.getLong('num.partitions'), /not a LONG/)
    assert.throws(() => config.get('nope'), ConfigError)
  })
})

describe('synonyms and effective topic configs', () => {
  test('log.retention.hours=1 gives retention.ms 3600000 from STATIC_BROKER_CONFIG', () => {
    const broker = resolveBrokerConfig({ properties: { 'log.retention.hours': '1' } })
    const [entry] = describeTopicConfigs({}, broker, ['retention.ms'], true, true)
    assert.deepEqual(entry, {
      name: 'retention.ms',
      value: '3600000',
      readOnly: false,
      isDefault: false,
      configSource: ConfigSource.STATIC_BROKER_CONFIG,
      isSensitive: false,
      synonyms: [
        { name: 'log.retention.hours', value: '1', source: ConfigSource.STATIC_BROKER_CONFIG },
        { name: 'log.retention.hours', value: '168', source: ConfigSource.DEFAULT_CONFIG }
      ],
      configType: ConfigTypeCode.LONG,
      documentation: 'The maximum time a log is retained before old segments are discarded (-1: no time limit).'
    })
    assert.equal(logConfigFrom({}, broker)['retention.ms'], 3600000)
  })

  test('synonym priority: ms over minutes over hours; negative retention means -1', () => {
    const both = resolveBrokerConfig({ properties: { 'log.retention.hours': '1', 'log.retention.minutes': '2', 'log.retention.ms': '5' } })
    assert.equal(both.topicDefaults()['retention.ms'], 5)
    const [entry] = describeTopicConfigs({}, both, ['retention.ms'], true)
    assert.deepEqual(entry!.synonyms.map((s) => `${s.name}=${s.value}@${s.source}`), [
      'log.retention.ms=5@4', 'log.retention.minutes=2@4', 'log.retention.hours=1@4', 'log.retention.hours=168@5'
    ])
    assert.equal(resolveBrokerConfig({ properties: { 'log.retention.minutes': '2' } }).topicDefaults()['retention.ms'], 120000)
    assert.equal(resolveBrokerConfig({ properties: { 'log.retention.hours': '-5' } }).topicDefaults()['retention.ms'], -1)
    assert.equal(resolveBrokerConfig({ properties: { 'log.roll.hours': '2' } }).topicDefaults()['segment.ms'], 7200000)
    assert.equal(resolveBrokerConfig({ properties: { 'log.roll.jitter.hours': '1' } }).topicDefaults()['segment.jitter.ms'], 3600000)
    assert.equal(resolveBrokerConfig({ properties: { 'log.flush.scheduler.interval.ms': '10' } }).topicDefaults()['flush.ms'], 10)
    assert.equal(resolveBrokerConfig({ properties: { 'message.max.bytes': '2000' } }).topicDefaults()['max.message.bytes'], 2000)
    assert.deepEqual(resolveBrokerConfig({ properties: { 'log.cleanup.policy': 'compact' } }).topicDefaults()['cleanup.policy'], ['compact'])
  })

  test('Kafka\'s synonym quirk can be reproduced', () => {
    const broker = resolveBrokerConfig({ properties: { 'log.retention.hours': '1' } })
    const [entry] = describeTopicConfigs({}, broker, ['retention.ms'], true, false, { kafkaSynonymQuirk: true })
    assert.equal(entry!.value, '3600000')
    assert.equal(entry!.configSource, ConfigSource.DEFAULT_CONFIG)
    assert.deepEqual(entry!.synonyms, [])
    const [segment] = describeTopicConfigs({}, broker, ['segment.bytes'], true, false, { kafkaSynonymQuirk: true })
    assert.deepEqual(segment!.synonyms, [{ name: 'log.segment.bytes', value: '1073741824', source: ConfigSource.DEFAULT_CONFIG }])
  })

  test('a topic with an override: topic first, then the broker synonyms, then the default', () => {
    const broker = resolveBrokerConfig({ properties: { 'log.segment.bytes': '2048' } })
    const described = describeTopicConfigs({ 'segment.bytes': '1024', 'cleanup.policy': 'compact, delete' }, broker, null, true)
    const byName = new Map(described.map((d) => [d.name, d]))
    assert.equal(described.length, 36)
    assert.deepEqual(described.map((d) => d.name), [...described.map((d) => d.name)].sort())
    assert.deepEqual(byName.get('segment.bytes'), {
      name: 'segment.bytes',
      value: '1024',
      readOnly: false,
      isDefault: false,
      configSource: ConfigSource.TOPIC_CONFIG,
      isSensitive: false,
      synonyms: [
        { name: 'segment.bytes', value: '1024', source: ConfigSource.TOPIC_CONFIG },
        { name: 'log.segment.bytes', value: '2048', source: ConfigSource.STATIC_BROKER_CONFIG },
        { name: 'log.segment.bytes', value: '1073741824', source: ConfigSource.DEFAULT_CONFIG }
      ],
      configType: ConfigTypeCode.INT,
      documentation: null
    })
    assert.equal(byName.get('cleanup.policy')!.value, 'compact,delete')
    assert.equal(byName.get('cleanup.policy')!.configType, ConfigTypeCode.LIST)
    const flush = byName.get('flush.messages')!
    assert.equal(flush.value, '9223372036854775807')
    assert.equal(flush.isDefault, true)
    assert.equal(flush.configSource, ConfigSource.DEFAULT_CONFIG)
    const throttled = byName.get('leader.replication.throttled.replicas')!
    assert.deepEqual([throttled.value, throttled.configSource, throttled.synonyms], ['', ConfigSource.DEFAULT_CONFIG, []])
    assert.equal(byName.get('min.cleanable.dirty.ratio')!.value, '0.5')
    // Without includeSynonyms the list is empty but the source stays.
    const [plain] = describeTopicConfigs({ 'segment.bytes': '1024' }, broker, ['segment.bytes'])
    assert.deepEqual([plain!.configSource, plain!.synonyms], [ConfigSource.TOPIC_CONFIG, []])
  })

  test('dynamic broker configs outrank static ones', () => {
    const broker = resolveBrokerConfig({ properties: { 'log.retention.ms': '100' } })
    const dynamic = { broker: { 'log.retention.ms': '300' }, clusterDefault: { 'log.retention.ms': '200' } }
    assert.equal(broker.topicDefaults(dynamic)['retention.ms'], 300)
    assert.equal(broker.topicDefaults({ clusterDefault: { 'log.retention.ms': '200' } })['retention.ms'], 200)
    const [entry] = describeTopicConfigs({}, broker, ['retention.ms'], true, false, { dynamic })
    assert.deepEqual(entry!.synonyms.map((s) => [s.value, s.source]), [
      ['300', ConfigSource.DYNAMIC_BROKER_CONFIG], ['200', ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG],
      ['100', ConfigSource.STATIC_BROKER_CONFIG], ['168', ConfigSource.DEFAULT_CONFIG]
    ])
    assert.equal(entry!.configSource, ConfigSource.DYNAMIC_BROKER_CONFIG)
    assert.equal(entry!.value, '300')
  })

  test('effective config and the storage LogConfig', () => {
    const broker = resolveBrokerConfig({ properties: { 'log.segment.bytes': '4096', 'log.message.timestamp.type': 'LogAppendTime' } })
    const effective = effectiveTopicConfig({ 'cleanup.policy': 'compact,delete', 'flush.messages': '1' }, broker)
    assert.deepEqual(effective['cleanup.policy'], ['compact', 'delete'])
    const log = logConfigFrom({ 'cleanup.policy': 'compact,delete', 'flush.messages': '1' }, broker)
    assert.deepEqual(log, {
      ...DEFAULT_LOG_CONFIG,
      'segment.bytes': 4096,
      'cleanup.policy': ['compact', 'delete'],
      'flush.messages': 1,
      'message.timestamp.type': 'LogAppendTime'
    })
    assert.deepEqual(logConfigFrom({}, resolveBrokerConfig()), { ...DEFAULT_LOG_CONFIG })
    assert.equal(logConfigFrom({}, resolveBrokerConfig())['flush.ms'], STORAGE_LONG_MAX)
  })
})

describe('describeBrokerConfigs', () => {
  test('values, sources, read-only and synonyms', () => {
    const config = resolveBrokerConfig({ properties: { 'log.retention.hours': '1', 'num.partitions': ' 3 ', 'custom.plugin.x': 'y' } })
    const described = new Map(describeBrokerConfigs(config, null, { includeSynonyms: true, includeDocumentation: true }).map((d) => [d.name, d]))
    assert.deepEqual(described.get('num.partitions'), {
      name: 'num.partitions',
      value: '3',
      readOnly: true,
      isDefault: false,
      configSource: ConfigSource.STATIC_BROKER_CONFIG,
      isSensitive: false,
      synonyms: [
        { name: 'num.partitions', value: ' 3 ', source: ConfigSource.STATIC_BROKER_CONFIG },
        { name: 'num.partitions', value: '1', source: ConfigSource.DEFAULT_CONFIG }
      ],
      configType: ConfigTypeCode.INT,
      documentation: 'The default number of log partitions per topic.'
    })
    const hours = described.get('log.retention.hours')!
    assert.deepEqual(hours.synonyms.map((s) => `${s.name}=${s.value}@${s.source}`), ['log.retention.hours=1@4', 'log.retention.hours=168@5'])
    const ms = described.get('log.retention.ms')!
    assert.deepEqual([ms.value, ms.readOnly, ms.configSource, ms.synonyms.length], [null, false, ConfigSource.DEFAULT_CONFIG, 0])
    const custom = described.get('custom.plugin.x')!
    assert.deepEqual([custom.value, custom.configType, custom.readOnly, custom.configSource], ['y', ConfigTypeCode.UNKNOWN, true, ConfigSource.STATIC_BROKER_CONFIG])
    assert.equal(described.get('listeners')!.readOnly, false)
    assert.equal(described.get('log.dirs')!.readOnly, true)
    assert.equal(described.get('log.flush.scheduler.interval.ms')!.value, '9223372036854775807')
  })

  test('keys filter; the cluster-default resource shows only dynamic defaults', () => {
    const config = resolveBrokerConfig()
    assert.deepEqual(describeBrokerConfigs(config, ['num.partitions', 'nope']).map((d) => d.name), ['num.partitions'])
    const dynamic = { clusterDefault: { 'log.retention.ms': '5000' }, broker: { 'log.retention.ms': '6000' } }
    const perBroker = describeBrokerConfigs(config, ['log.retention.ms'], { includeSynonyms: true, dynamic })
    assert.deepEqual(perBroker.map((d) => [d.value, d.configSource]), [['6000', ConfigSource.DYNAMIC_BROKER_CONFIG]])
    // Kafka lists log.retention.ms's synonyms in layer order, the built-in log.retention.hours last.
    assert.deepEqual(perBroker[0]!.synonyms.map((s) => `${s.name}=${s.value}@${s.source}`), [
      'log.retention.ms=6000@2', 'log.retention.ms=5000@3', 'log.retention.hours=168@5'
    ])
    const cluster = describeBrokerConfigs(config, null, { includeSynonyms: true, dynamic, perBroker: false })
    assert.deepEqual(cluster.map((d) => [d.name, d.value, d.configSource, d.synonyms.length]), [
      ['log.retention.ms', '5000', ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG, 1]
    ])
  })
})

describe('validateTopicConfigs', () => {
  test('unknown names and bad values are INVALID_CONFIG with Kafka\'s wording', () => {
    const unknown = error(() => validateTopicConfigs({ 'retention.ms': '1', 'retention.hours': '1' }))
    assert.equal(unknown.message, 'Unknown topic config name: retention.hours')
    assert.equal(unknown.errorCode, 40)
    assert.equal(error(() => validateTopicConfigs({ 'retention.ms': 'abc' })).message, 'Invalid value abc for configuration retention.ms: Not a number of type LONG')
    assert.equal(error(() => validateTopicConfigs({ 'segment.bytes': '-5' })).message, 'Invalid value -5 for configuration segment.bytes: Value must be at least 14')
    assert.equal(error(() => validateTopicConfigs({ 'min.compaction.lag.ms': '10', 'max.compaction.lag.ms': '5' })).message,
      'conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms (5)')
    assert.match(error(() => validateTopicConfigs({ 'remote.storage.enable': 'true' })).message, /Tiered Storage functionality is disabled/)
  })

  test('the broker defaults take part in cross-checks', () => {
    const broker = resolveBrokerConfig({ properties: { 'log.cleaner.max.compaction.lag.ms': '100' } })
    assert.doesNotThrow(() => validateTopicConfigs({ 'min.compaction.lag.ms': '200' }))
    assert.throws(() => validateTopicConfigs({ 'min.compaction.lag.ms': '200' }, { brokerConfig: broker }), /conflict topic config setting/)
    assert.deepEqual(validateTopicConfigs({ 'cleanup.policy': 'compact', 'retention.ms': '9223372036854775807' }), {
      'cleanup.policy': ['compact'], 'retention.ms': Number.MAX_SAFE_INTEGER
    })
  })
})

describe('IncrementalAlterConfigs', () => {
  test('SET and DELETE', () => {
    assert.deepEqual(applyAlterConfigOps({ 'retention.ms': '1', 'segment.ms': '2' }, [
      { name: 'retention.ms', op: SET, value: '10' }, { name: 'segment.ms', op: DELETE, value: null }, { name: 'preallocate', op: SET, value: 'true' }
    ]), { 'retention.ms': '10', preallocate: 'true' })
  })

  test('APPEND and SUBTRACT work on LIST configs from the current value or the default', () => {
    assert.deepEqual(applyAlterConfigOps({}, [{ name: 'cleanup.policy', op: APPEND, value: 'compact' }]), { 'cleanup.policy': 'delete,compact' })
    assert.deepEqual(applyAlterConfigOps({ 'cleanup.policy': 'compact' }, [{ name: 'cleanup.policy', op: APPEND, value: 'compact,delete' }]),
      { 'cleanup.policy': 'compact,delete' })
    assert.deepEqual(applyAlterConfigOps({ 'cleanup.policy': 'compact,delete' }, [{ name: 'cleanup.policy', op: SUBTRACT, value: 'delete' }]),
      { 'cleanup.policy': 'compact' })
    assert.deepEqual(applyAlterConfigOps({}, [{ name: 'cleanup.policy', op: SUBTRACT, value: 'delete' }]), { 'cleanup.policy': '' })
    assert.deepEqual(applyAlterConfigOps({}, [{ name: 'leader.replication.throttled.replicas', op: APPEND, value: '0:1,1:1' }]),
      { 'leader.replication.throttled.replicas': '0:1,1:1' })
  })

  test('APPEND/SUBTRACT on a non-LIST config is INVALID_CONFIG', () => {
    const e = error(() => applyAlterConfigOps({}, [{ name: 'retention.ms', op: APPEND, value: '1' }]))
    assert.equal(e.message, "Can't APPEND to key retention.ms because its type is not LIST.")
    assert.equal(e.errorCode, 40)
    assert.equal(error(() => applyAlterConfigOps({}, [{ name: 'nope', op: SUBTRACT, value: '1' }])).message,
      "Can't SUBTRACT to key nope because its type is not LIST.")
  })

  test('malformed requests are INVALID_REQUEST', () => {
    const duplicate = error(() => applyAlterConfigOps({}, [{ name: 'a', op: SET, value: '1' }, { name: 'a', op: DELETE, value: null }]))
    assert.deepEqual([duplicate.message, duplicate.errorCode], ['Error due to duplicate config keys', 42])
    const nul = error(() => applyAlterConfigOps({}, [{ name: 'retention.ms', op: SET, value: null }]))
    assert.deepEqual([nul.message, nul.errorCode], ['Null value not supported for : retention.ms', 42])
    assert.equal(error(() => applyAlterConfigOps({}, [{ name: 'a', op: 9, value: '1' }])).errorCode, 42)
  })

  test('incrementalAlterTopicConfigs validates the result', () => {
    assert.deepEqual(incrementalAlterTopicConfigs({}, [{ name: 'retention.ms', op: SET, value: '5' }]), { 'retention.ms': '5' })
    assert.equal(error(() => incrementalAlterTopicConfigs({}, [{ name: 'cleanup.policy', op: APPEND, value: 'bogus' }])).message,
      'Invalid value bogus for configuration cleanup.policy: String must be one of: compact, delete')
    assert.equal(error(() => incrementalAlterTopicConfigs({}, [{ name: 'bogus', op: SET, value: '1' }])).message, 'Unknown topic config name: bogus')
  })
})

describe('validateBrokerConfigUpdate', () => {
  test('only dynamic configs may change; errors are INVALID_REQUEST', () => {
    assert.deepEqual(validateBrokerConfigUpdate({ 'log.retention.ms': '1000', 'log.cleanup.policy': null }, { perBroker: false }), { 'log.retention.ms': 1000 })
    const e = error(() => validateBrokerConfigUpdate({ 'log.dirs': '/x', 'num.partitions': '2', 'log.retention.ms': '1' }, { perBroker: true }))
    assert.deepEqual([e.message, e.errorCode], ['Cannot update these configs dynamically: Set(log.dirs, num.partitions)', 42])
    const bad = error(() => validateBrokerConfigUpdate({ 'log.retention.ms': 'x' }, { perBroker: true }))
    assert.deepEqual([bad.message, bad.errorCode], ['Invalid value x for configuration log.retention.ms: Not a number of type LONG', 42])
    assert.equal(error(() => validateBrokerConfigUpdate({ listeners: 'PLAINTEXT://:1' }, { perBroker: false })).message,
      'Cannot update these configs at default cluster level, broker id must be specified: Set(listeners)')
    assert.doesNotThrow(() => validateBrokerConfigUpdate({ listeners: 'PLAINTEXT://:1', 'custom.x': 'y' }, { perBroker: true }))
  })
})

describe('formatConfigHelp', () => {
  test('lists every non-deprecated broker config under a heading', () => {
    const help = formatConfigHelp()
    for (const key of BROKER_CONFIG_DEF.keys()) {
      if (!key.deprecated) assert.ok(help.includes(`  ${key.name}`), key.name)
    }
    assert.match(help, /listeners\*\s+string\s+default: PLAINTEXT:\/\/127\.0\.0\.1:9092/)
    assert.match(help, /metadata\.store\s+string\s+default: file/)
    assert.ok(!help.includes('log.message.format.version'))
    assert.ok(formatConfigHelp({ includeDeprecated: true }).includes('log.message.format.version'))
    assert.ok(help.split('\n').every((line) => line.length <= 100 || line.includes('default:')))
  })
})
