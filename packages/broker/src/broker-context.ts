/**
 * The services a request handler can use. One per broker; handlers receive it through their
 * RequestContext and never reach for globals.
 */
import type { LogManager } from '@samsa/storage'
import type { Logger } from './logger.ts'
import type { TopicRegistry } from './topics/topic-registry.ts'
import type { FetchSessionCache } from './fetch/fetch-session-cache.ts'
import type { Connection } from './network/connection.ts'
import type { BrokerConfig, DynamicBrokerConfigs } from './config/mod.ts'
import type { GroupCoordinator } from './group/group-coordinator.ts'
import type { TransactionCoordinator } from './txn/transaction-coordinator.ts'
import type { TxnMarkerWriter } from './txn/txn-markers.ts'
import type { ReplicaManager } from './replication/replica-manager.ts'
import type { PartitionAdmin } from './cluster/partition-admin.ts'

export interface TopicConfigEntry {
  name: string
  value: string | null
  readOnly: boolean
  /** Kafka's ConfigSource code (DescribeConfigsResponse.json). */
  configSource: number
  isSensitive: boolean
}

export interface Endpoint {
  listenerName: string
  host: string
  port: number
  securityProtocol: string
}

/** The broker settings handlers consult, resolved from the Kafka-named configuration. */
export interface BrokerSettings {
  nodeId: number
  rack: string | null
  dataDir: string
  numPartitions: number
  defaultReplicationFactor: number
  autoCreateTopicsEnable: boolean
  deleteTopicEnable: boolean
  messageMaxBytes: number
  /** `message.timestamp.before.max.ms` / `after.max.ms` broker defaults. */
  socketRequestMaxBytes: number
  connectionsMaxIdleMs: number
  maxConnections: number
  queuedMaxRequests: number
  maxIncrementalFetchSessionCacheSlots: number
  offsetsTopicNumPartitions: number
  transactionStateLogNumPartitions: number
}

export interface BrokerContext {
  readonly nodeId: number
  /** The resolved broker configuration. */
  readonly config: BrokerConfig
  /** Broker configs changed at runtime (AlterConfigs on a broker resource). */
  readonly dynamicConfigs: DynamicBrokerConfigs
  readonly clusterId: string
  readonly settings: BrokerSettings
  readonly topics: TopicRegistry
  readonly logManager: LogManager
  readonly fetchSessions: FetchSessionCache
  /** Consumer groups and committed offsets (group/, issue 5). */
  readonly groupCoordinator: GroupCoordinator
  /** Producer ids, transactional ids and transactions (txn/, issue 6). */
  readonly transactionCoordinator: TransactionCoordinator
  /** Appends COMMIT/ABORT markers to the partitions this broker leads (WriteTxnMarkers, the coordinator). */
  readonly txnMarkerWriter: TxnMarkerWriter
  /** Follower fetchers, follower positions, ISR changes (replication/). */
  readonly replicaManager: ReplicaManager
  /** ElectLeaders and partition reassignments (cluster/). */
  readonly partitionAdmin: PartitionAdmin
  readonly logger: Logger
  /** Milliseconds since the epoch. */
  readonly clock: () => number
  /** The endpoints of every live broker (just this one on a single node). */
  brokers (): Array<{ nodeId: number, rack: string | null, endpoints: Endpoint[] }>
  /** The endpoint a client on `connection` should use to reach `nodeId`. */
  endpointFor (nodeId: number, connection: Connection): Endpoint | undefined
  /** The node that acts as controller (this one on a single node). */
  controllerId (): number
  /** What ApiVersions advertises: every served API and version range. */
  apiVersions (): ReadonlyArray<{ apiKey: number, minVersion: number, maxVersion: number }>
  /**
   * Checks topic config overrides (CreateTopics, AlterConfigs); throws KafkaProtocolError
   * INVALID_CONFIG with Kafka's message. Returns them normalised.
   */
  validateTopicConfigs (configs: Record<string, string>): Record<string, string>
  /** Every config of a topic with these overrides, for CreateTopics v5+ responses. */
  describeTopicConfigs (overrides: Record<string, string>): TopicConfigEntry[]
  /** Replaces this broker's (perBroker) or the cluster-wide dynamic broker configs. */
  setDynamicBrokerConfigs (perBroker: boolean, configs: Record<string, string>): Promise<void>
  /** Resolves the effective topic config (overrides over broker defaults), as strings. */
  topicConfigValue (overrides: Record<string, string>, name: string): string | undefined
}
