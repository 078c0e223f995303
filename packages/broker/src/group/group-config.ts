/**
 * The group coordinator's settings, by Kafka's config names (GroupCoordinatorConfig.java,
 * OffsetConfig). `groupCoordinatorConfigFrom` reads them from the resolved broker config; the
 * defaults are Kafka's.
 */

export interface GroupCoordinatorConfig {
  /** `group.initial.rebalance.delay.ms`: how long a new (empty) group waits for more members. */
  initialRebalanceDelayMs: number
  /** `group.min.session.timeout.ms` / `group.max.session.timeout.ms`. */
  minSessionTimeoutMs: number
  maxSessionTimeoutMs: number
  /** `group.max.size`. */
  maxSize: number
  /** How long a new classic member may wait in JoinGroup before it is dropped (Kafka: 5 minutes, fixed). */
  newMemberJoinTimeoutMs: number
  /** `group.coordinator.rebalance.protocols`: 'classic', 'consumer'. */
  rebalanceProtocols: readonly string[]
  /** `group.consumer.heartbeat.interval.ms`. */
  consumerHeartbeatIntervalMs: number
  /** `group.consumer.session.timeout.ms`. */
  consumerSessionTimeoutMs: number
  /** `group.consumer.max.size`. */
  consumerMaxSize: number
  /** `group.consumer.assignors`, as Samsa's names ('uniform', 'range'); the first is the default. */
  consumerAssignors: readonly string[]
  /** `offset.metadata.max.bytes`. */
  offsetMetadataMaxBytes: number
  /** `offsets.topic.num.partitions` (used when the topic does not exist yet). */
  offsetsTopicNumPartitions: number
  /** `offsets.topic.replication.factor` (capped at the number of brokers). */
  offsetsTopicReplicationFactor: number
  /** `offsets.topic.segment.bytes`. */
  offsetsTopicSegmentBytes: number
  /** `offsets.retention.minutes`, in milliseconds. */
  offsetsRetentionMs: number
  /** `offsets.retention.check.interval.ms`. */
  offsetsRetentionCheckIntervalMs: number
  /** `offsets.load.buffer.size`: bytes read at a time when loading a partition. */
  offsetsLoadBufferSize: number
  /** `offsets.commit.timeout.ms`: how long a write waits for the offsets topic's replicas. */
  offsetsCommitTimeoutMs: number
  /** How often a consumer group re-resolves its subscribed topics (regex, new partitions). */
  consumerMetadataRefreshIntervalMs: number
}

export const DEFAULT_GROUP_COORDINATOR_CONFIG: Readonly<GroupCoordinatorConfig> = Object.freeze({
  initialRebalanceDelayMs: 3000,
  minSessionTimeoutMs: 6000,
  maxSessionTimeoutMs: 1800000,
  maxSize: 2147483647,
  newMemberJoinTimeoutMs: 5 * 60 * 1000,
  rebalanceProtocols: ['classic', 'consumer'],
  consumerHeartbeatIntervalMs: 5000,
  consumerSessionTimeoutMs: 45000,
  consumerMaxSize: 2147483647,
  consumerAssignors: ['uniform', 'range'],
  offsetMetadataMaxBytes: 4096,
  offsetsTopicNumPartitions: 50,
  offsetsTopicReplicationFactor: 3,
  offsetsTopicSegmentBytes: 104857600,
  offsetsRetentionMs: 10080 * 60_000,
  offsetsRetentionCheckIntervalMs: 600000,
  offsetsLoadBufferSize: 5242880,
  offsetsCommitTimeoutMs: 5000,
  consumerMetadataRefreshIntervalMs: 1000
})

/** Kafka's assignor class names and short names, to Samsa's assignor names. */
export function assignorName (name: string): string | undefined {
  const short = name.trim().replace(/^org\.apache\.kafka\.coordinator\.group\.assignor\./, '').replace(/Assignor$/, '').toLowerCase()
  return short === 'uniform' || short === 'range' ? short : undefined
}

/**
 * The settings from broker configs by Kafka name (anything with `get(name)`, e.g. a
 * BrokerConfig); missing or mistyped values keep Kafka's defaults.
 */
export function groupCoordinatorConfigFrom (config: { get: (name: string) => unknown }): GroupCoordinatorConfig {
  const d = DEFAULT_GROUP_COORDINATOR_CONFIG
  const num = (name: string, fallback: number): number => {
    const v = safeGet(config, name)
    if (typeof v === 'number' && Number.isFinite(v)) return v
    if (typeof v === 'bigint') return Number(v)
    if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v)
    return fallback
  }
  const list = (name: string, fallback: readonly string[]): readonly string[] => {
    const v = safeGet(config, name)
    if (Array.isArray(v)) return v.map(String)
    if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter((s) => s !== '')
    return fallback
  }
  const assignors = list('group.consumer.assignors', d.consumerAssignors).map((n) => assignorName(n)).filter((n): n is string => n !== undefined)
  return {
    initialRebalanceDelayMs: num('group.initial.rebalance.delay.ms', d.initialRebalanceDelayMs),
    minSessionTimeoutMs: num('group.min.session.timeout.ms', d.minSessionTimeoutMs),
    maxSessionTimeoutMs: num('group.max.session.timeout.ms', d.maxSessionTimeoutMs),
    maxSize: num('group.max.size', d.maxSize),
    newMemberJoinTimeoutMs: d.newMemberJoinTimeoutMs,
    rebalanceProtocols: list('group.coordinator.rebalance.protocols', d.rebalanceProtocols),
    consumerHeartbeatIntervalMs: num('group.consumer.heartbeat.interval.ms', d.consumerHeartbeatIntervalMs),
    consumerSessionTimeoutMs: num('group.consumer.session.timeout.ms', d.consumerSessionTimeoutMs),
    consumerMaxSize: num('group.consumer.max.size', d.consumerMaxSize),
    consumerAssignors: assignors.length > 0 ? assignors : d.consumerAssignors,
    offsetMetadataMaxBytes: num('offset.metadata.max.bytes', d.offsetMetadataMaxBytes),
    offsetsTopicNumPartitions: num('offsets.topic.num.partitions', d.offsetsTopicNumPartitions),
    offsetsTopicReplicationFactor: num('offsets.topic.replication.factor', d.offsetsTopicReplicationFactor),
    offsetsTopicSegmentBytes: num('offsets.topic.segment.bytes', d.offsetsTopicSegmentBytes),
    offsetsRetentionMs: num('offsets.retention.minutes', d.offsetsRetentionMs / 60_000) * 60_000,
    offsetsRetentionCheckIntervalMs: num('offsets.retention.check.interval.ms', d.offsetsRetentionCheckIntervalMs),
    offsetsLoadBufferSize: num('offsets.load.buffer.size', d.offsetsLoadBufferSize),
    offsetsCommitTimeoutMs: num('offsets.commit.timeout.ms', d.offsetsCommitTimeoutMs),
    consumerMetadataRefreshIntervalMs: d.consumerMetadataRefreshIntervalMs
  }
}

function safeGet (config: { get: (name: string) => unknown }, name: string): unknown {
  try {
    return config.get(name)
  } catch {
    return undefined
  }
}
