/**
 * The topic-level settings the storage engine obeys, under Kafka's names and with Kafka's
 * defaults (TopicConfig.java, LogConfig.java). Kafka's Long.MAX_VALUE ("never") is
 * Number.MAX_SAFE_INTEGER here; the broker maps the two when it shows configs.
 */
export const LONG_MAX = Number.MAX_SAFE_INTEGER

export interface LogConfig {
  'segment.bytes': number
  'segment.ms': number
  'segment.jitter.ms': number
  'segment.index.bytes': number
  'index.interval.bytes': number
  'retention.ms': number
  'retention.bytes': number
  /** 'delete', 'compact', or both. */
  'cleanup.policy': ReadonlyArray<'delete' | 'compact'>
  'delete.retention.ms': number
  'min.compaction.lag.ms': number
  'max.compaction.lag.ms': number
  'min.cleanable.dirty.ratio': number
  'flush.messages': number
  'flush.ms': number
  'file.delete.delay.ms': number
  'message.timestamp.type': 'CreateTime' | 'LogAppendTime'
  'max.message.bytes': number
}

export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze<LogConfig>({
  'segment.bytes': 1073741824,
  'segment.ms': 604800000,
  'segment.jitter.ms': 0,
  'segment.index.bytes': 10485760,
  'index.interval.bytes': 4096,
  'retention.ms': 604800000,
  'retention.bytes': -1,
  'cleanup.policy': ['delete'],
  'delete.retention.ms': 86400000,
  'min.compaction.lag.ms': 0,
  'max.compaction.lag.ms': LONG_MAX,
  'min.cleanable.dirty.ratio': 0.5,
  'flush.messages': LONG_MAX,
  'flush.ms': LONG_MAX,
  'file.delete.delay.ms': 60000,
  'message.timestamp.type': 'CreateTime',
  'max.message.bytes': 1048588
})

export function logConfig (overrides: Partial<LogConfig> = {}): LogConfig {
  return { ...DEFAULT_LOG_CONFIG, ...overrides }
}

export function compacted (config: LogConfig): boolean {
  return config['cleanup.policy'].includes('compact')
}

export function deletes (config: LogConfig): boolean {
  return config['cleanup.policy'].includes('delete')
}
