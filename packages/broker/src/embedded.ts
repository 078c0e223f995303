/**
 * From Kafka-named configuration to the options of a running broker: what `samsa start` and
 * the in-process test broker share. Topic configs resolve through the broker's synonyms
 * (log.retention.hours for retention.ms, ...), exactly as DescribeConfigs reports them.
 */
import type { FileSystem } from '@samsa/storage'
import type { BrokerSettings } from './broker-context.ts'
import type { BrokerOptions, ListenerSpec } from './broker.ts'
import { BrokerConfig, ConfigError, type ListenerEndpoint, resolveBrokerConfig } from './config/mod.ts'
import type { Logger } from './logger.ts'
import type { MetadataStore } from './metadata/metadata-store.ts'

export interface EmbeddedBrokerOptions {
  /** A resolved config, or configs by Kafka name applied over the defaults. */
  config?: BrokerConfig | Record<string, string>
  logger?: Logger
  fs?: FileSystem
  metadataStore?: MetadataStore
  clock?: () => number
}

export function listenerSpec (l: ListenerEndpoint): ListenerSpec {
  return { name: l.name, host: l.host ?? '', port: l.port, securityProtocol: l.securityProtocol }
}

function intOf (config: BrokerConfig, name: string): number {
  const value = config.get(name)
  if (typeof value !== 'number') throw new ConfigError(`Missing value for configuration ${name}`, { configName: name })
  return value
}

export function settingsFrom (config: BrokerConfig): BrokerSettings {
  const dataDir = config.logDirs[0]
  if (dataDir === undefined) throw new ConfigError('Missing required configuration "log.dirs"', { configName: 'log.dirs' })
  return {
    // Kafka requires node.id; Samsa's single node defaults to node 1.
    nodeId: config.isSupplied('node.id') || config.isSupplied('broker.id') ? config.nodeId : 1,
    rack: config.getString('broker.rack'),
    dataDir,
    numPartitions: intOf(config, 'num.partitions'),
    defaultReplicationFactor: intOf(config, 'default.replication.factor'),
    autoCreateTopicsEnable: config.getBoolean('auto.create.topics.enable'),
    deleteTopicEnable: config.getBoolean('delete.topic.enable'),
    messageMaxBytes: intOf(config, 'message.max.bytes'),
    socketRequestMaxBytes: intOf(config, 'socket.request.max.bytes'),
    connectionsMaxIdleMs: intOf(config, 'connections.max.idle.ms'),
    maxConnections: intOf(config, 'max.connections'),
    queuedMaxRequests: intOf(config, 'queued.max.requests'),
    maxIncrementalFetchSessionCacheSlots: intOf(config, 'max.incremental.fetch.session.cache.slots'),
    offsetsTopicNumPartitions: intOf(config, 'offsets.topic.num.partitions'),
    transactionStateLogNumPartitions: intOf(config, 'transaction.state.log.num.partitions')
  }
}

export function embeddedBrokerOptions (options: EmbeddedBrokerOptions = {}): BrokerOptions {
  const raw = options.config
  const config = raw instanceof BrokerConfig ? raw : resolveBrokerConfig({ overrides: raw ?? {} })
  return {
    config,
    ...(options.fs === undefined ? {} : { fs: options.fs }),
    ...(options.metadataStore === undefined ? {} : { metadataStore: options.metadataStore }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.clock === undefined ? {} : { clock: options.clock })
  }
}
