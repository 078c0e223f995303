/**
 * Every topic-level config of Kafka 3.9 (TopicConfig.java + LogConfig.java, `LogConfig.CONFIG`), with
 * Kafka's types, defaults, validators and importance, and the broker configs each one falls back to
 * (ServerTopicConfigSynonyms.ALL_TOPIC_CONFIG_SYNONYMS), in Kafka's order, with the hour/minute unit
 * conversions.
 *
 * Kafka 3.9 is the reference because it is the last release that still accepts the deprecated
 * message.format.version and message.timestamp.difference.max.ms, so clients written for older brokers
 * keep working. Kafka 4.0 differs in: message.format.version and message.timestamp.difference.max.ms
 * removed; segment.bytes must be at least 1048576 (not 14); message.timestamp.after.max.ms defaults
 * to 3600000 (not Long.MAX_VALUE).
 */
import {
  type ConfigValue, ConfigDef, ConfigError, Importance, atLeast, between, custom, javaListToString, validList, validString
} from './config-def.ts'

// LegacyRecord.RECORD_OVERHEAD_V0: the smallest segment a v0 record could fit in.
const RECORD_OVERHEAD_V0 = 14
// 1 MiB + Records.LOG_OVERHEAD (12).
const DEFAULT_MAX_MESSAGE_BYTES = 1048588
const WEEK_MS = 7 * 24 * 60 * 60 * 1000
const DAY_MS = 24 * 60 * 60 * 1000
const LONG_MAX = '9223372036854775807'

/** BrokerCompressionType.names(), in Kafka's order. */
export const COMPRESSION_TYPES = ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'] as const

/** GzipCompression's level validator: 1..9 (Deflater.BEST_SPEED..BEST_COMPRESSION) or -1. */
export const gzipLevelValidator = custom('[1,...,9] or -1', (name, value) => {
  if (value === null) throw ConfigError.invalid(name, 'null', 'Value must be non-null')
  const level = value as number
  if (level > 9 || (level < 1 && level !== -1)) {
    throw ConfigError.invalid(name, String(level), 'Value must be between 1 and 9 or equal to -1')
  }
})

/** ThrottledReplicaListValidator: '*' or "partition:broker" items (empty items allowed, as in 3.9). */
export const throttledReplicaListValidator = custom('[partitionId]:[brokerId],[partitionId]:[brokerId],...', (name, value) => {
  const proposed = ((value ?? []) as readonly string[]).map((s) => s.trim())
  if (proposed.every((s) => /^(?:[0-9]+:[0-9]+)?$/.test(s)) || proposed.join('') === '*') return
  throw ConfigError.invalid(name, javaListToString(value as readonly string[]),
    `${name} must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...`)
})

// MetadataVersion.fromVersionString accepts a release ("0.10.2", "2.8", "3.9", also "2.8.1": extra
// segments are ignored) or a release with an inter-version suffix ("3.0-IV1"). Approximation: any
// -IVn suffix is accepted, where Kafka knows the exact list per release.
const RELEASES = [
  '0.8.0', '0.8.1', '0.8.2', '0.9.0', '0.10.0', '0.10.1', '0.10.2', '0.11.0', '1.0', '1.1',
  '2.0', '2.1', '2.2', '2.3', '2.4', '2.5', '2.6', '2.7', '2.8',
  '3.0', '3.1', '3.2', '3.3', '3.4', '3.5', '3.6', '3.7', '3.8', '3.9'
]
export const metadataVersionValidator = custom(`[${RELEASES.join(', ')}]`, (name, value) => {
  const version = String(value)
  const segments = version.split('.')
  const count = version.startsWith('0.') ? 3 : 2
  const key = count >= segments.length ? version : segments.slice(0, count).join('.')
  const release = key.replace(/-IV\d+$/, '')
  if (!RELEASES.includes(release)) throw ConfigError.invalid(name, version, `Version ${version} is not a valid version`)
})

const M = Importance.MEDIUM
const G = 'Topic'

/** Kafka 3.9's topic-level configs, in LogConfig's definition order. */
export const TOPIC_CONFIG_DEF = new ConfigDef()
  .define({ name: 'segment.bytes', type: 'INT', default: 1073741824, validator: atLeast(RECORD_OVERHEAD_V0), importance: M, group: G, documentation: 'This configuration controls the segment file size for the log.' })
  .define({ name: 'segment.ms', type: 'LONG', default: WEEK_MS, validator: atLeast(1), importance: M, group: G, documentation: 'The period of time after which Kafka will force the log to roll even if the segment file isn\'t full.' })
  .define({ name: 'segment.jitter.ms', type: 'LONG', default: 0, validator: atLeast(0), importance: M, group: G, documentation: 'The maximum random jitter subtracted from the scheduled segment roll time.' })
  .define({ name: 'segment.index.bytes', type: 'INT', default: 10485760, validator: atLeast(4), importance: M, group: G, documentation: 'The size of the index that maps offsets to file positions.' })
  .define({ name: 'flush.messages', type: 'LONG', default: LONG_MAX, validator: atLeast(1), importance: M, group: G, documentation: 'Force an fsync of the log after this many messages.' })
  .define({ name: 'flush.ms', type: 'LONG', default: LONG_MAX, validator: atLeast(0), importance: M, group: G, documentation: 'Force an fsync of the log after this much time.' })
  // Kafka: "can be negative. See kafka.log.LogManager.cleanupSegmentsToMaintainSize".
  .define({ name: 'retention.bytes', type: 'LONG', default: -1, importance: M, group: G, documentation: 'The maximum size a partition can grow to before old segments are discarded (-1: no limit).' })
  .define({ name: 'retention.ms', type: 'LONG', default: WEEK_MS, validator: atLeast(-1), importance: M, group: G, documentation: 'The maximum time a log is retained before old segments are discarded (-1: no time limit).' })
  .define({ name: 'max.message.bytes', type: 'INT', default: DEFAULT_MAX_MESSAGE_BYTES, validator: atLeast(0), importance: M, group: G, documentation: 'The largest record batch size allowed (after compression).' })
  .define({ name: 'index.interval.bytes', type: 'INT', default: 4096, validator: atLeast(0), importance: M, group: G, documentation: 'How frequently an entry is added to the offset index.' })
  .define({ name: 'delete.retention.ms', type: 'LONG', default: DAY_MS, validator: atLeast(0), importance: M, group: G, documentation: 'The amount of time to retain delete tombstone markers for log compacted topics.' })
  .define({ name: 'min.compaction.lag.ms', type: 'LONG', default: 0, validator: atLeast(0), importance: M, group: G, documentation: 'The minimum time a message will remain uncompacted in the log.' })
  .define({ name: 'max.compaction.lag.ms', type: 'LONG', default: LONG_MAX, validator: atLeast(1), importance: M, group: G, documentation: 'The maximum time a message will remain ineligible for compaction in the log.' })
  .define({ name: 'file.delete.delay.ms', type: 'LONG', default: 60000, validator: atLeast(0), importance: M, group: G, documentation: 'The time to wait before deleting a file from the filesystem.' })
  .define({ name: 'min.cleanable.dirty.ratio', type: 'DOUBLE', default: 0.5, validator: between(0, 1), importance: M, group: G, documentation: 'How dirty a log must be before the compactor cleans it.' })
  .define({ name: 'cleanup.policy', type: 'LIST', default: ['delete'], validator: validList('compact', 'delete'), importance: M, group: G, documentation: 'The retention policy for log segments: "delete", "compact" or both.' })
  .define({ name: 'unclean.leader.election.enable', type: 'BOOLEAN', default: false, importance: M, group: G, documentation: 'Whether replicas not in the ISR may be elected leader as a last resort (may lose data).' })
  .define({ name: 'min.insync.replicas', type: 'INT', default: 1, validator: atLeast(1), importance: M, group: G, documentation: 'The minimum number of replicas that must acknowledge a write with acks=all.' })
  .define({ name: 'compression.type', type: 'STRING', default: 'producer', validator: validString(...COMPRESSION_TYPES), importance: M, group: G, documentation: 'The final compression type for the topic; \'producer\' keeps the producer\'s codec.' })
  .define({ name: 'compression.gzip.level', type: 'INT', default: -1, validator: gzipLevelValidator, importance: M, group: G, documentation: 'The compression level to use if compression.type is set to gzip.' })
  .define({ name: 'compression.lz4.level', type: 'INT', default: 9, validator: between(1, 17), importance: M, group: G, documentation: 'The compression level to use if compression.type is set to lz4.' })
  // Zstd.minCompressionLevel()..maxCompressionLevel() of the zstd-jni Kafka 3.9 ships.
  .define({ name: 'compression.zstd.level', type: 'INT', default: 3, validator: between(-131072, 22), importance: M, group: G, documentation: 'The compression level to use if compression.type is set to zstd.' })
  .define({ name: 'preallocate', type: 'BOOLEAN', default: false, importance: M, group: G, documentation: 'True if the file should be preallocated on disk when creating a new log segment.' })
  .define({ name: 'message.format.version', type: 'STRING', default: '3.0-IV1', validator: metadataVersionValidator, importance: M, group: G, deprecated: true, documentation: '[DEPRECATED] The message format version; ignored (always 3.0) since inter.broker.protocol.version 3.0.' })
  .define({ name: 'message.timestamp.type', type: 'STRING', default: 'CreateTime', validator: validString('CreateTime', 'LogAppendTime'), importance: M, group: G, documentation: 'Whether the record timestamp is the create time or the log append time.' })
  .define({ name: 'message.timestamp.difference.max.ms', type: 'LONG', default: LONG_MAX, validator: atLeast(0), importance: M, group: G, deprecated: true, documentation: '[DEPRECATED] The maximum difference allowed between the broker\'s and the message\'s timestamp.' })
  .define({ name: 'message.timestamp.before.max.ms', type: 'LONG', default: LONG_MAX, validator: atLeast(0), importance: M, group: G, documentation: 'How far a CreateTime timestamp may lie before the broker\'s time.' })
  .define({ name: 'message.timestamp.after.max.ms', type: 'LONG', default: LONG_MAX, validator: atLeast(0), importance: M, group: G, documentation: 'How far a CreateTime timestamp may lie after the broker\'s time.' })
  .define({ name: 'leader.replication.throttled.replicas', type: 'LIST', default: [], validator: throttledReplicaListValidator, importance: M, group: G, documentation: 'Replicas whose replication is throttled on the leader side ([PartitionId]:[BrokerId],... or *).' })
  .define({ name: 'follower.replication.throttled.replicas', type: 'LIST', default: [], validator: throttledReplicaListValidator, importance: M, group: G, documentation: 'Replicas whose replication is throttled on the follower side ([PartitionId]:[BrokerId],... or *).' })
  .define({ name: 'message.downconversion.enable', type: 'BOOLEAN', default: true, importance: Importance.LOW, group: G, deprecated: true, documentation: 'Whether down-conversion of message formats is enabled to satisfy consume requests.' })
  .define({ name: 'remote.storage.enable', type: 'BOOLEAN', default: false, importance: M, group: G, note: 'Tiered storage is not supported: true is rejected.', documentation: 'To enable tiered storage for a topic, set this configuration as true.' })
  .define({ name: 'local.retention.ms', type: 'LONG', default: -2, validator: atLeast(-2), importance: M, group: G, documentation: 'How long to keep local log segments (-2: use retention.ms).' })
  .define({ name: 'local.retention.bytes', type: 'LONG', default: -2, validator: atLeast(-2), importance: M, group: G, documentation: 'How large local log segments may grow per partition (-2: use retention.bytes).' })
  .define({ name: 'remote.log.copy.disable', type: 'BOOLEAN', default: false, importance: M, group: G, documentation: 'Whether tiered data for the topic becomes read only.' })
  .define({ name: 'remote.log.delete.on.disable', type: 'BOOLEAN', default: false, importance: M, group: G, documentation: 'Whether tiered data is deleted after tiered storage is disabled on the topic.' })

export type SynonymUnit = 'ms' | 'minutes' | 'hours'

/** A broker config a topic config falls back to (Kafka's ConfigSynonym), with its unit. */
export interface ConfigSynonym {
  readonly name: string
  /** 'minutes' and 'hours' are converted to milliseconds (ConfigSynonym.MINUTES/HOURS_TO_MILLISECONDS). */
  readonly unit: SynonymUnit
}

function synonyms (topic: string, ...list: Array<[string, SynonymUnit?]>): [string, readonly ConfigSynonym[]] {
  return [topic, Object.freeze(list.map(([name, unit]) => Object.freeze({ name, unit: unit ?? 'ms' })))]
}

/**
 * ServerTopicConfigSynonyms.ALL_TOPIC_CONFIG_SYNONYMS of Kafka 3.9. When several synonyms are set the
 * first wins. Topic configs missing here (the throttled-replica lists and the remote.* switches) have
 * no broker-level default (LogConfig.CONFIGS_WITH_NO_SERVER_DEFAULTS).
 */
export const TOPIC_CONFIG_SYNONYMS: ReadonlyMap<string, readonly ConfigSynonym[]> = new Map([
  synonyms('segment.bytes', ['log.segment.bytes']),
  synonyms('segment.ms', ['log.roll.ms'], ['log.roll.hours', 'hours']),
  synonyms('segment.jitter.ms', ['log.roll.jitter.ms'], ['log.roll.jitter.hours', 'hours']),
  synonyms('segment.index.bytes', ['log.index.size.max.bytes']),
  synonyms('flush.messages', ['log.flush.interval.messages']),
  synonyms('flush.ms', ['log.flush.interval.ms'], ['log.flush.scheduler.interval.ms']),
  synonyms('retention.bytes', ['log.retention.bytes']),
  synonyms('retention.ms', ['log.retention.ms'], ['log.retention.minutes', 'minutes'], ['log.retention.hours', 'hours']),
  synonyms('max.message.bytes', ['message.max.bytes']),
  synonyms('index.interval.bytes', ['log.index.interval.bytes']),
  synonyms('delete.retention.ms', ['log.cleaner.delete.retention.ms']),
  synonyms('min.compaction.lag.ms', ['log.cleaner.min.compaction.lag.ms']),
  synonyms('max.compaction.lag.ms', ['log.cleaner.max.compaction.lag.ms']),
  synonyms('file.delete.delay.ms', ['log.segment.delete.delay.ms']),
  synonyms('min.cleanable.dirty.ratio', ['log.cleaner.min.cleanable.ratio']),
  synonyms('cleanup.policy', ['log.cleanup.policy']),
  synonyms('unclean.leader.election.enable', ['unclean.leader.election.enable']),
  synonyms('min.insync.replicas', ['min.insync.replicas']),
  synonyms('compression.type', ['compression.type']),
  synonyms('compression.gzip.level', ['compression.gzip.level']),
  synonyms('compression.lz4.level', ['compression.lz4.level']),
  synonyms('compression.zstd.level', ['compression.zstd.level']),
  synonyms('preallocate', ['log.preallocate']),
  synonyms('message.format.version', ['log.message.format.version']),
  synonyms('message.timestamp.type', ['log.message.timestamp.type']),
  synonyms('message.timestamp.difference.max.ms', ['log.message.timestamp.difference.max.ms']),
  synonyms('message.timestamp.before.max.ms', ['log.message.timestamp.before.max.ms']),
  synonyms('message.timestamp.after.max.ms', ['log.message.timestamp.after.max.ms']),
  synonyms('message.downconversion.enable', ['log.message.downconversion.enable']),
  synonyms('local.retention.ms', ['log.local.retention.ms']),
  synonyms('local.retention.bytes', ['log.local.retention.bytes'])
])

/** The broker config with the highest priority for a topic config (ServerTopicConfigSynonyms.serverSynonym). */
export function serverSynonym (topicConfig: string): string | undefined {
  return TOPIC_CONFIG_SYNONYMS.get(topicConfig)?.[0]?.name
}

/** Which topic config a broker config is a synonym of, if any. */
export function topicConfigForServerSynonym (brokerConfig: string): string | undefined {
  for (const [topic, list] of TOPIC_CONFIG_SYNONYMS) {
    if (list.some((s) => s.name === brokerConfig)) return topic
  }
  return undefined
}

const UNIT_MS: Record<SynonymUnit, number> = { ms: 1, minutes: 60_000, hours: 3_600_000 }

/** A synonym's value in the topic config's unit (minutes and hours become milliseconds). */
export function synonymToTopicValue (value: ConfigValue, unit: SynonymUnit): ConfigValue {
  if (unit === 'ms' || typeof value !== 'number') return value
  return value * UNIT_MS[unit]
}

/** Topic config names in DescribeConfigs order (sorted; Kafka's order is a hash map's). */
export function topicConfigNames (): string[] {
  return TOPIC_CONFIG_DEF.names().sort()
}
