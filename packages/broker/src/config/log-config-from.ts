/**
 * The storage engine's LogConfig (packages/storage/src/log-config.ts) for one topic: the topic's
 * overrides over the broker-level defaults reached through the synonyms (log.retention.hours and the
 * like), as Kafka builds LogConfig.fromProps(KafkaConfig.extractLogConfigMap, topicProps).
 */
import type { LogConfig } from '@samsa/storage'
import type { ConfigValue } from './config-def.ts'
import { type BrokerConfig, type DynamicBrokerConfigs, effectiveTopicConfig } from './broker-config.ts'

function num (config: Readonly<Record<string, ConfigValue>>, name: string): number {
  return config[name] as number
}

/** Maps an effective topic config (every topic config name present, typed) to the storage LogConfig. */
export function logConfigFromEffective (config: Readonly<Record<string, ConfigValue>>): LogConfig {
  const policy = (config['cleanup.policy'] ?? []) as readonly string[]
  return {
    'segment.bytes': num(config, 'segment.bytes'),
    'segment.ms': num(config, 'segment.ms'),
    'segment.jitter.ms': num(config, 'segment.jitter.ms'),
    'segment.index.bytes': num(config, 'segment.index.bytes'),
    'index.interval.bytes': num(config, 'index.interval.bytes'),
    'retention.ms': num(config, 'retention.ms'),
    'retention.bytes': num(config, 'retention.bytes'),
    // Validated to these two words; LogConfig.java also compares them lower-cased.
    'cleanup.policy': Object.freeze([...new Set(policy.map((p) => p.toLowerCase()))]
      .filter((p): p is 'delete' | 'compact' => p === 'delete' || p === 'compact')),
    'delete.retention.ms': num(config, 'delete.retention.ms'),
    'min.compaction.lag.ms': num(config, 'min.compaction.lag.ms'),
    'max.compaction.lag.ms': num(config, 'max.compaction.lag.ms'),
    'min.cleanable.dirty.ratio': num(config, 'min.cleanable.dirty.ratio'),
    'flush.messages': num(config, 'flush.messages'),
    'flush.ms': num(config, 'flush.ms'),
    'file.delete.delay.ms': num(config, 'file.delete.delay.ms'),
    'message.timestamp.type': config['message.timestamp.type'] === 'LogAppendTime' ? 'LogAppendTime' : 'CreateTime',
    'max.message.bytes': num(config, 'max.message.bytes')
  }
}

/**
 * The storage LogConfig of a topic with `topicOverrides` (raw strings as stored in the metadata) on a
 * broker configured as `brokerConfig`. Long.MAX_VALUE ("never") arrives as Number.MAX_SAFE_INTEGER,
 * the storage package's LONG_MAX.
 */
export function logConfigFrom (
  topicOverrides: Readonly<Record<string, string>>, brokerConfig: BrokerConfig, dynamic?: DynamicBrokerConfigs
): LogConfig {
  return logConfigFromEffective(effectiveTopicConfig(topicOverrides, brokerConfig, dynamic))
}
