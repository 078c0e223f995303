import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { DEFAULT_LOG_CONFIG } from '@samsa/storage'
import { ConfigError, convertToString } from '../../src/config/config-def.ts'
import { BROKER_CONFIG_DEF } from '../../src/config/broker-configs.ts'
import {
  TOPIC_CONFIG_DEF, TOPIC_CONFIG_SYNONYMS, serverSynonym, synonymToTopicValue, topicConfigForServerSynonym
} from '../../src/config/topic-configs.ts'

function message (fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof ConfigError)
    return error.message
  }
  assert.fail('expected a ConfigError')
}

describe('topic configs', () => {
  test('every Kafka 3.9 topic config is defined', () => {
    assert.deepEqual(TOPIC_CONFIG_DEF.names().sort(), [
      'cleanup.policy', 'compression.gzip.level', 'compression.lz4.level', 'compression.type', 'compression.zstd.level',
      'delete.retention.ms', 'file.delete.delay.ms', 'flush.messages', 'flush.ms', 'follower.replication.throttled.replicas',
      'index.interval.bytes', 'leader.replication.throttled.replicas', 'local.retention.bytes', 'local.retention.ms',
      'max.compaction.lag.ms', 'max.message.bytes', 'message.downconversion.enable', 'message.format.version',
      'message.timestamp.after.max.ms', 'message.timestamp.before.max.ms', 'message.timestamp.difference.max.ms',
      'message.timestamp.type', 'min.cleanable.dirty.ratio', 'min.compaction.lag.ms', 'min.insync.replicas', 'preallocate',
      'remote.log.copy.disable', 'remote.log.delete.on.disable', 'remote.storage.enable', 'retention.bytes', 'retention.ms',
      'segment.bytes', 'segment.index.bytes', 'segment.jitter.ms', 'segment.ms', 'unclean.leader.election.enable'
    ])
  })

  test('defaults agree with the storage engine\'s', () => {
    for (const [name, value] of Object.entries(DEFAULT_LOG_CONFIG)) {
      assert.deepEqual(TOPIC_CONFIG_DEF.key(name)?.default, value, name)
    }
  })

  test('Kafka\'s defaults as DescribeConfigs prints them', () => {
    assert.equal(TOPIC_CONFIG_DEF.defaultString('flush.ms'), '9223372036854775807')
    assert.equal(TOPIC_CONFIG_DEF.defaultString('max.message.bytes'), '1048588')
    assert.equal(TOPIC_CONFIG_DEF.defaultString('min.cleanable.dirty.ratio'), '0.5')
    assert.equal(TOPIC_CONFIG_DEF.defaultString('message.format.version'), '3.0-IV1')
    assert.equal(TOPIC_CONFIG_DEF.defaultString('leader.replication.throttled.replicas'), '')
    assert.equal(TOPIC_CONFIG_DEF.defaultString('local.retention.ms'), '-2')
  })

  test('every broker synonym is a defined broker config whose default agrees', () => {
    for (const [topic, synonyms] of TOPIC_CONFIG_SYNONYMS) {
      assert.ok(TOPIC_CONFIG_DEF.has(topic), topic)
      for (const synonym of synonyms) assert.ok(BROKER_CONFIG_DEF.has(synonym.name), synonym.name)
      const withDefault = synonyms.find((s) => BROKER_CONFIG_DEF.key(s.name)!.default !== null)!
      const brokerDefault = synonymToTopicValue(BROKER_CONFIG_DEF.key(withDefault.name)!.default, withDefault.unit)
      assert.deepEqual(brokerDefault, TOPIC_CONFIG_DEF.key(topic)!.default, topic)
    }
  })

  test('synonyms in Kafka\'s order with their units', () => {
    assert.deepEqual(TOPIC_CONFIG_SYNONYMS.get('retention.ms'), [
      { name: 'log.retention.ms', unit: 'ms' }, { name: 'log.retention.minutes', unit: 'minutes' }, { name: 'log.retention.hours', unit: 'hours' }
    ])
    assert.deepEqual(TOPIC_CONFIG_SYNONYMS.get('segment.ms')?.map((s) => s.name), ['log.roll.ms', 'log.roll.hours'])
    assert.deepEqual(TOPIC_CONFIG_SYNONYMS.get('segment.jitter.ms')?.map((s) => s.name), ['log.roll.jitter.ms', 'log.roll.jitter.hours'])
    assert.deepEqual(TOPIC_CONFIG_SYNONYMS.get('flush.ms')?.map((s) => s.name), ['log.flush.interval.ms', 'log.flush.scheduler.interval.ms'])
    assert.equal(serverSynonym('cleanup.policy'), 'log.cleanup.policy')
    assert.equal(serverSynonym('max.message.bytes'), 'message.max.bytes')
    assert.equal(serverSynonym('file.delete.delay.ms'), 'log.segment.delete.delay.ms')
    assert.equal(serverSynonym('min.cleanable.dirty.ratio'), 'log.cleaner.min.cleanable.ratio')
    assert.equal(serverSynonym('leader.replication.throttled.replicas'), undefined)
    assert.equal(topicConfigForServerSynonym('log.retention.hours'), 'retention.ms')
    assert.equal(synonymToTopicValue(2, 'hours'), 7200000)
    assert.equal(synonymToTopicValue(3, 'minutes'), 180000)
  })

  test('Kafka\'s validation messages', () => {
    const p = (name: string, value: string): unknown => TOPIC_CONFIG_DEF.parseValue(name, value)
    assert.equal(message(() => p('segment.bytes', '-5')), 'Invalid value -5 for configuration segment.bytes: Value must be at least 14')
    assert.equal(message(() => p('retention.ms', '-2')), 'Invalid value -2 for configuration retention.ms: Value must be at least -1')
    assert.equal(message(() => p('cleanup.policy', 'delete,forever')), 'Invalid value forever for configuration cleanup.policy: String must be one of: compact, delete')
    assert.equal(message(() => p('compression.type', 'brotli')),
      'Invalid value brotli for configuration compression.type: String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer')
    assert.equal(message(() => p('min.cleanable.dirty.ratio', '1.5')), 'Invalid value 1.5 for configuration min.cleanable.dirty.ratio: Value must be no more than 1')
    assert.equal(message(() => p('compression.gzip.level', '0')), 'Invalid value 0 for configuration compression.gzip.level: Value must be between 1 and 9 or equal to -1')
    assert.equal(message(() => p('compression.lz4.level', '18')), 'Invalid value 18 for configuration compression.lz4.level: Value must be no more than 17')
    assert.equal(message(() => p('leader.replication.throttled.replicas', '0:1,x')),
      'Invalid value [0:1, x] for configuration leader.replication.throttled.replicas: leader.replication.throttled.replicas must be the literal \'*\' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...')
    assert.equal(message(() => p('message.format.version', '9.9')), 'Invalid value 9.9 for configuration message.format.version: Version 9.9 is not a valid version')
    assert.equal(message(() => p('unclean.leader.election.enable', 'maybe')),
      'Invalid value maybe for configuration unclean.leader.election.enable: Expected value to be either true or false')
  })

  test('accepted values', () => {
    const p = (name: string, value: string): unknown => TOPIC_CONFIG_DEF.parseValue(name, value)
    assert.deepEqual(p('cleanup.policy', 'compact, delete'), ['compact', 'delete'])
    assert.deepEqual(p('cleanup.policy', ''), [])
    assert.deepEqual(p('leader.replication.throttled.replicas', '*'), ['*'])
    assert.deepEqual(p('follower.replication.throttled.replicas', '0:1, 1:2'), ['0:1', '1:2'])
    assert.equal(p('compression.gzip.level', '-1'), -1)
    assert.equal(p('compression.zstd.level', '-5'), -5)
    assert.equal(p('message.format.version', '2.8.1'), '2.8.1')
    assert.equal(p('message.format.version', '0.10.2-IV0'), '0.10.2-IV0')
    assert.equal(p('retention.ms', '-1'), -1)
    assert.equal(convertToString(p('max.compaction.lag.ms', '9223372036854775807') as number, 'LONG'), '9223372036854775807')
  })
})
