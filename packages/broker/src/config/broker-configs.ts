/**
 * The broker configs Samsa supports, under Kafka's names with Kafka 3.9's types, defaults, validators
 * and importance (KafkaConfig.scala, ServerConfigs, ServerLogConfigs, SocketServerConfigs,
 * ReplicationConfigs, CleanerConfig, GroupCoordinatorConfig, TransactionLogConfig,
 * TransactionStateManagerConfig), plus the few Samsa-only ones. `updateMode` follows Kafka's
 * DynamicBrokerConfig: only 'per-broker' and 'cluster-wide' configs may change through AlterConfigs
 * on a broker resource; Kafka refuses the rest with INVALID_REQUEST (see validateBrokerConfigUpdate).
 *
 * Where Samsa's default differs from Kafka's, `note` says so. Every broker synonym of a topic config
 * (topic-configs.ts TOPIC_CONFIG_SYNONYMS) is defined here.
 */
import {
  ConfigDef, ConfigError, Importance, atLeast, between, custom, validList, validString
} from './config-def.ts'
import { COMPRESSION_TYPES, gzipLevelValidator, metadataVersionValidator } from './topic-configs.ts'

const H = Importance.HIGH
const M = Importance.MEDIUM
const L = Importance.LOW
const LONG_MAX = '9223372036854775807'
const INT_MAX = 2147483647

export const BrokerConfigGroup = {
  GENERAL: 'General',
  NETWORK: 'Listeners and network',
  LOG: 'Log (topic defaults)',
  CLEANER: 'Log cleaner',
  REPLICATION: 'Replication',
  GROUPS: 'Group coordinator and offsets',
  TRANSACTIONS: 'Transactions',
  SAMSA: 'Samsa'
} as const

/** The security protocols a listener can use (SecurityProtocol.java). */
export const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const

/**
 * metadata.store (Samsa-only): where the cluster metadata lives. 'file' is the embedded single-node
 * store under the first log dir; 'etcd://host:port[,host:port...]' names an etcd cluster.
 */
export const metadataStoreValidator = custom("file | etcd://host:port[,host:port...][/namespace]", (name, value) => {
  const text = String(value)
  if (text === 'file') return
  const match = /^etcd:\/\/([^/]+)(?:\/[A-Za-z0-9._-]+)?\/?$/.exec(text)
  const endpoints = match?.[1]?.split(',') ?? []
  const valid = endpoints.length > 0 && endpoints.every((e) => /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(e.trim()))
  if (!valid) throw ConfigError.invalid(name, text, "Expected 'file' or 'etcd://host:port[,host:port...][/namespace]'")
})

const G = BrokerConfigGroup
const CLUSTER = 'cluster-wide' as const
const PER_BROKER = 'per-broker' as const
const IGNORED = 'Accepted for compatibility; Samsa runs one event loop per process and ignores it.'
const CLAMPED = 'Kafka\'s default is kept; the broker uses min(this, live brokers) so a single node works.'

export const BROKER_CONFIG_DEF = new ConfigDef()
  // General
  .define({ name: 'node.id', type: 'INT', default: -1, importance: H, group: G.GENERAL, note: 'Samsa: falls back to broker.id, then 1, so a single node needs no id.', documentation: 'The node ID associated with the roles this process is playing.' })
  .define({ name: 'broker.id', type: 'INT', default: -1, importance: H, group: G.GENERAL, note: 'Alias of node.id (Kafka\'s KafkaConfig.populateSynonyms); both must match when both are set.', documentation: 'The broker id for this server.' })
  .define({ name: 'broker.rack', type: 'STRING', default: null, importance: M, group: G.GENERAL, documentation: 'Rack of the broker, used in rack aware replication assignment.' })
  .define({ name: 'num.partitions', type: 'INT', default: 1, validator: atLeast(1), importance: M, group: G.GENERAL, documentation: 'The default number of log partitions per topic.' })
  .define({ name: 'default.replication.factor', type: 'INT', default: 1, importance: M, group: G.GENERAL, documentation: 'The replication factor for automatically created topics, and for topics created with -1.' })
  .define({ name: 'auto.create.topics.enable', type: 'BOOLEAN', default: true, importance: H, group: G.GENERAL, documentation: 'Enable auto creation of topic on the server.' })
  .define({ name: 'delete.topic.enable', type: 'BOOLEAN', default: true, importance: H, group: G.GENERAL, documentation: 'When false, topic deletion requests are rejected.' })
  .define({ name: 'message.max.bytes', type: 'INT', default: 1048588, validator: atLeast(0), importance: H, updateMode: CLUSTER, group: G.GENERAL, documentation: 'The largest record batch size allowed (topic-level: max.message.bytes).' })
  .define({ name: 'fetch.max.bytes', type: 'INT', default: 57671680, validator: atLeast(1024), importance: M, group: G.GENERAL, documentation: 'The maximum number of bytes returned for a fetch request.' })
  .define({ name: 'max.incremental.fetch.session.cache.slots', type: 'INT', default: 1000, validator: atLeast(0), importance: M, group: G.GENERAL, documentation: 'The maximum number of incremental fetch sessions that we will maintain.' })
  .define({ name: 'num.io.threads', type: 'INT', default: 8, validator: atLeast(1), importance: H, updateMode: CLUSTER, group: G.GENERAL, note: IGNORED, documentation: 'The number of threads the server uses for processing requests.' })
  .define({ name: 'num.recovery.threads.per.data.dir', type: 'INT', default: 1, validator: atLeast(1), importance: H, updateMode: CLUSTER, group: G.GENERAL, note: IGNORED, documentation: 'The number of threads per data directory used for log recovery.' })
  // Listeners and network
  .define({ name: 'listeners', type: 'STRING', default: 'PLAINTEXT://127.0.0.1:9092', importance: H, updateMode: PER_BROKER, group: G.NETWORK, note: 'Samsa default binds 127.0.0.1 (Kafka: PLAINTEXT://:9092, all interfaces).', documentation: 'Comma-separated list of URIs to listen on, with listener names.' })
  .define({ name: 'advertised.listeners', type: 'STRING', default: null, importance: H, updateMode: PER_BROKER, group: G.NETWORK, documentation: 'Listener addresses advertised to clients; listeners when not set.' })
  .define({ name: 'listener.security.protocol.map', type: 'STRING', default: 'SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT', importance: L, updateMode: PER_BROKER, group: G.NETWORK, documentation: 'Map between listener names and security protocols.' })
  .define({ name: 'sasl.enabled.mechanisms', type: 'LIST', default: ['GSSAPI'], importance: M, updateMode: PER_BROKER, group: G.NETWORK, note: 'Samsa implements PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512.', documentation: 'The SASL mechanisms enabled in the server.' })
  .define({ name: 'socket.send.buffer.bytes', type: 'INT', default: 102400, importance: H, group: G.NETWORK, documentation: 'The SO_SNDBUF buffer of the server sockets (-1: OS default).' })
  .define({ name: 'socket.receive.buffer.bytes', type: 'INT', default: 102400, importance: H, group: G.NETWORK, documentation: 'The SO_RCVBUF buffer of the server sockets (-1: OS default).' })
  .define({ name: 'socket.request.max.bytes', type: 'INT', default: 104857600, validator: atLeast(1), importance: H, group: G.NETWORK, documentation: 'The maximum number of bytes in a socket request.' })
  .define({ name: 'socket.listen.backlog.size', type: 'INT', default: 50, validator: atLeast(1), importance: M, group: G.NETWORK, documentation: 'The maximum number of pending connections on the socket.' })
  .define({ name: 'connections.max.idle.ms', type: 'LONG', default: 600000, importance: M, group: G.NETWORK, documentation: 'Idle connections are closed after this many milliseconds.' })
  .define({ name: 'max.connections', type: 'INT', default: INT_MAX, validator: atLeast(0), importance: M, updateMode: CLUSTER, group: G.NETWORK, documentation: 'The maximum number of connections allowed in the broker at any time.' })
  .define({ name: 'max.connections.per.ip', type: 'INT', default: INT_MAX, validator: atLeast(0), importance: M, updateMode: CLUSTER, group: G.NETWORK, documentation: 'The maximum number of connections allowed from each ip address.' })
  .define({ name: 'max.connections.per.ip.overrides', type: 'STRING', default: '', importance: M, updateMode: CLUSTER, group: G.NETWORK, documentation: 'Per-ip or hostname overrides of max.connections.per.ip, e.g. "hostName:100,127.0.0.1:200".' })
  .define({ name: 'queued.max.requests', type: 'INT', default: 500, validator: atLeast(1), importance: H, group: G.NETWORK, documentation: 'The number of queued requests allowed before blocking the network threads.' })
  .define({ name: 'num.network.threads', type: 'INT', default: 3, validator: atLeast(1), importance: H, updateMode: CLUSTER, group: G.NETWORK, note: IGNORED, documentation: 'The number of threads the server uses for receiving requests and sending responses.' })
  // Log (broker defaults of topic configs)
  .define({ name: 'log.dirs', type: 'STRING', default: null, importance: H, group: G.LOG, documentation: 'Comma-separated list of the directories where the log data is stored; log.dir when not set.' })
  .define({ name: 'log.dir', type: 'STRING', default: './samsa-data', importance: H, group: G.LOG, note: 'Samsa default ./samsa-data (Kafka: /tmp/kafka-logs).', documentation: 'The directory in which the log data is kept (supplemental for log.dirs).' })
  .define({ name: 'log.segment.bytes', type: 'INT', default: 1073741824, validator: atLeast(14), importance: H, updateMode: CLUSTER, group: G.LOG, documentation: 'The maximum size of a single log file.' })
  .define({ name: 'log.roll.ms', type: 'LONG', default: null, importance: H, updateMode: CLUSTER, group: G.LOG, documentation: 'The maximum time before a new log segment is rolled out; log.roll.hours when not set.' })
  .define({ name: 'log.roll.hours', type: 'INT', default: 168, validator: atLeast(1), importance: H, group: G.LOG, documentation: 'The maximum time before a new log segment is rolled out (in hours), secondary to log.roll.ms.' })
  .define({ name: 'log.roll.jitter.ms', type: 'LONG', default: null, importance: H, updateMode: CLUSTER, group: G.LOG, documentation: 'The maximum jitter subtracted from the roll time; log.roll.jitter.hours when not set.' })
  .define({ name: 'log.roll.jitter.hours', type: 'INT', default: 0, validator: atLeast(0), importance: H, group: G.LOG, documentation: 'The maximum jitter subtracted from the roll time (in hours), secondary to log.roll.jitter.ms.' })
  .define({ name: 'log.retention.ms', type: 'LONG', default: null, importance: H, updateMode: CLUSTER, group: G.LOG, documentation: 'How long to keep a log file before deleting it; log.retention.minutes when not set (-1: no limit).' })
  .define({ name: 'log.retention.minutes', type: 'INT', default: null, importance: H, group: G.LOG, documentation: 'How long to keep a log file (in minutes), secondary to log.retention.ms; log.retention.hours when not set.' })
  .define({ name: 'log.retention.hours', type: 'INT', default: 168, importance: H, group: G.LOG, documentation: 'How long to keep a log file (in hours), tertiary to log.retention.ms.' })
  .define({ name: 'log.retention.bytes', type: 'LONG', default: -1, importance: H, updateMode: CLUSTER, group: G.LOG, documentation: 'The maximum size of the log before deleting it.' })
  .define({ name: 'log.retention.check.interval.ms', type: 'LONG', default: 300000, validator: atLeast(1), importance: M, group: G.LOG, documentation: 'How often the log cleaner checks whether any log is eligible for deletion.' })
  .define({ name: 'log.cleanup.policy', type: 'LIST', default: ['delete'], validator: validList('compact', 'delete'), importance: M, updateMode: CLUSTER, group: G.LOG, documentation: 'The default cleanup policy for segments beyond the retention window.' })
  .define({ name: 'log.index.size.max.bytes', type: 'INT', default: 10485760, validator: atLeast(4), importance: M, updateMode: CLUSTER, group: G.LOG, documentation: 'The maximum size in bytes of the offset index.' })
  .define({ name: 'log.index.interval.bytes', type: 'INT', default: 4096, validator: atLeast(0), importance: M, updateMode: CLUSTER, group: G.LOG, documentation: 'The interval with which an entry is added to the offset index.' })
  .define({ name: 'log.flush.interval.messages', type: 'LONG', default: LONG_MAX, validator: atLeast(1), importance: H, updateMode: CLUSTER, group: G.LOG, documentation: 'The number of messages accumulated on a partition before they are flushed to disk.' })
  .define({ name: 'log.flush.interval.ms', type: 'LONG', default: null, importance: H, updateMode: CLUSTER, group: G.LOG, documentation: 'The maximum time a message is kept in memory before flushed; log.flush.scheduler.interval.ms when not set.' })
  .define({ name: 'log.flush.scheduler.interval.ms', type: 'LONG', default: LONG_MAX, importance: H, group: G.LOG, documentation: 'How often the log flusher checks whether any log needs to be flushed.' })
  .define({ name: 'log.flush.offset.checkpoint.interval.ms', type: 'INT', default: 60000, validator: atLeast(0), importance: H, group: G.LOG, documentation: 'How often the recovery point checkpoint is written.' })
  .define({ name: 'log.flush.start.offset.checkpoint.interval.ms', type: 'INT', default: 60000, validator: atLeast(0), importance: H, group: G.LOG, documentation: 'How often the log start offset checkpoint is written.' })
  .define({ name: 'log.segment.delete.delay.ms', type: 'LONG', default: 60000, validator: atLeast(0), importance: H, updateMode: CLUSTER, group: G.LOG, documentation: 'The amount of time to wait before deleting a file from the filesystem.' })
  .define({ name: 'log.preallocate', type: 'BOOLEAN', default: false, importance: M, updateMode: CLUSTER, group: G.LOG, documentation: 'Whether to preallocate the file when creating a new segment.' })
  .define({ name: 'log.message.format.version', type: 'STRING', default: '3.0-IV1', validator: metadataVersionValidator, importance: M, updateMode: CLUSTER, group: G.LOG, deprecated: true, documentation: '[DEPRECATED] The message format version; ignored since inter.broker.protocol.version 3.0.' })
  .define({ name: 'log.message.timestamp.type', type: 'STRING', default: 'CreateTime', validator: validString('CreateTime', 'LogAppendTime'), importance: M, updateMode: CLUSTER, group: G.LOG, documentation: 'Whether the record timestamp is the create time or the log append time.' })
  .define({ name: 'log.message.timestamp.difference.max.ms', type: 'LONG', default: LONG_MAX, validator: atLeast(0), importance: M, updateMode: CLUSTER, group: G.LOG, deprecated: true, documentation: '[DEPRECATED] The maximum difference allowed between the broker\'s and the message\'s timestamp.' })
  .define({ name: 'log.message.timestamp.before.max.ms', type: 'LONG', default: LONG_MAX, validator: atLeast(0), importance: M, updateMode: CLUSTER, group: G.LOG, documentation: 'How far a CreateTime timestamp may lie before the broker\'s time.' })
  .define({ name: 'log.message.timestamp.after.max.ms', type: 'LONG', default: LONG_MAX, validator: atLeast(0), importance: M, updateMode: CLUSTER, group: G.LOG, documentation: 'How far a CreateTime timestamp may lie after the broker\'s time.' })
  .define({ name: 'log.message.downconversion.enable', type: 'BOOLEAN', default: true, importance: L, updateMode: CLUSTER, group: G.LOG, deprecated: true, documentation: 'Whether down-conversion of message formats is enabled to satisfy consume requests.' })
  .define({ name: 'log.local.retention.ms', type: 'LONG', default: -2, validator: atLeast(-2), importance: M, updateMode: CLUSTER, group: G.LOG, documentation: 'How long to keep local log segments (-2: use log.retention.ms).' })
  .define({ name: 'log.local.retention.bytes', type: 'LONG', default: -2, validator: atLeast(-2), importance: M, updateMode: CLUSTER, group: G.LOG, documentation: 'How large local log segments may grow per partition (-2: use log.retention.bytes).' })
  .define({ name: 'compression.type', type: 'STRING', default: 'producer', validator: validString(...COMPRESSION_TYPES), importance: H, updateMode: CLUSTER, group: G.LOG, documentation: 'The final compression type for a topic; \'producer\' keeps the producer\'s codec.' })
  .define({ name: 'compression.gzip.level', type: 'INT', default: -1, validator: gzipLevelValidator, importance: M, updateMode: CLUSTER, group: G.LOG, documentation: 'The compression level to use if compression.type is set to \'gzip\'.' })
  .define({ name: 'compression.lz4.level', type: 'INT', default: 9, validator: between(1, 17), importance: M, updateMode: CLUSTER, group: G.LOG, documentation: 'The compression level to use if compression.type is set to \'lz4\'.' })
  .define({ name: 'compression.zstd.level', type: 'INT', default: 3, validator: between(-131072, 22), importance: M, updateMode: CLUSTER, group: G.LOG, documentation: 'The compression level to use if compression.type is set to \'zstd\'.' })
  .define({ name: 'min.insync.replicas', type: 'INT', default: 1, validator: atLeast(1), importance: H, updateMode: CLUSTER, group: G.LOG, documentation: 'The minimum number of replicas that must acknowledge a write with acks=all.' })
  .define({ name: 'unclean.leader.election.enable', type: 'BOOLEAN', default: false, importance: H, updateMode: CLUSTER, group: G.LOG, documentation: 'Whether replicas not in the ISR may be elected leader as a last resort (may lose data).' })
  // Log cleaner
  .define({ name: 'log.cleaner.enable', type: 'BOOLEAN', default: true, importance: M, group: G.CLEANER, documentation: 'Enable the log cleaner (needed by compacted topics, including __consumer_offsets).' })
  .define({ name: 'log.cleaner.threads', type: 'INT', default: 1, validator: atLeast(0), importance: M, updateMode: CLUSTER, group: G.CLEANER, documentation: 'The number of background threads to use for log cleaning.' })
  .define({ name: 'log.cleaner.backoff.ms', type: 'LONG', default: 15000, validator: atLeast(0), importance: M, updateMode: CLUSTER, group: G.CLEANER, documentation: 'The amount of time to sleep when there are no logs to clean.' })
  .define({ name: 'log.cleaner.min.cleanable.ratio', type: 'DOUBLE', default: 0.5, validator: between(0, 1), importance: M, updateMode: CLUSTER, group: G.CLEANER, documentation: 'The minimum ratio of dirty log to total log for a log to be eligible for cleaning.' })
  .define({ name: 'log.cleaner.delete.retention.ms', type: 'LONG', default: 86400000, validator: atLeast(0), importance: M, updateMode: CLUSTER, group: G.CLEANER, documentation: 'The amount of time to retain tombstone markers for log compacted topics.' })
  .define({ name: 'log.cleaner.min.compaction.lag.ms', type: 'LONG', default: 0, validator: atLeast(0), importance: M, updateMode: CLUSTER, group: G.CLEANER, documentation: 'The minimum time a message will remain uncompacted in the log.' })
  .define({ name: 'log.cleaner.max.compaction.lag.ms', type: 'LONG', default: LONG_MAX, validator: atLeast(1), importance: M, updateMode: CLUSTER, group: G.CLEANER, documentation: 'The maximum time a message will remain ineligible for compaction in the log.' })
  // Replication
  .define({ name: 'replica.lag.time.max.ms', type: 'LONG', default: 30000, importance: H, group: G.REPLICATION, documentation: 'A follower that has not caught up for this long is removed from the ISR.' })
  .define({ name: 'replica.fetch.max.bytes', type: 'INT', default: 1048576, validator: atLeast(0), importance: M, group: G.REPLICATION, documentation: 'The number of bytes of messages to attempt to fetch for each partition.' })
  .define({ name: 'replica.fetch.wait.max.ms', type: 'INT', default: 500, importance: H, group: G.REPLICATION, documentation: 'The maximum wait time for each fetcher request issued by follower replicas.' })
  .define({ name: 'replica.fetch.min.bytes', type: 'INT', default: 1, importance: H, group: G.REPLICATION, documentation: 'Minimum bytes expected for each fetch response.' })
  .define({ name: 'replica.fetch.response.max.bytes', type: 'INT', default: 10485760, validator: atLeast(0), importance: M, group: G.REPLICATION, documentation: 'Maximum bytes expected for the entire fetch response.' })
  .define({ name: 'replica.fetch.backoff.ms', type: 'INT', default: 1000, validator: atLeast(0), importance: M, group: G.REPLICATION, documentation: 'The amount of time to sleep when a fetch partition error occurs.' })
  .define({ name: 'replica.socket.timeout.ms', type: 'INT', default: 30000, importance: H, group: G.REPLICATION, documentation: 'The socket timeout for replication requests.' })
  .define({ name: 'num.replica.fetchers', type: 'INT', default: 1, importance: H, updateMode: CLUSTER, group: G.REPLICATION, documentation: 'Number of fetcher threads used to replicate records from each source broker.' })
  .define({ name: 'replica.high.watermark.checkpoint.interval.ms', type: 'LONG', default: 5000, importance: H, group: G.REPLICATION, documentation: 'How often the high watermark is saved out to disk.' })
  .define({ name: 'auto.leader.rebalance.enable', type: 'BOOLEAN', default: true, importance: H, group: G.REPLICATION, documentation: 'Enables auto leader balancing.' })
  .define({ name: 'leader.imbalance.check.interval.seconds', type: 'LONG', default: 300, validator: atLeast(1), importance: H, group: G.REPLICATION, documentation: 'The frequency with which the partition rebalance check is triggered by the controller.' })
  .define({ name: 'leader.imbalance.per.broker.percentage', type: 'INT', default: 10, validator: atLeast(0), importance: H, group: G.REPLICATION, documentation: 'The ratio of leader imbalance allowed per broker. The controller triggers a leader balance if it goes above this value per broker, in percent.' })
  .define({ name: 'controlled.shutdown.enable', type: 'BOOLEAN', default: true, importance: M, group: G.REPLICATION, documentation: 'Enable controlled shutdown of the server: leadership moves to other replicas before the broker stops.' })
  .define({ name: 'controlled.shutdown.max.retries', type: 'INT', default: 3, importance: M, group: G.REPLICATION, note: 'Samsa waits at most max.retries x retry.backoff.ms for its leaderships to move.', documentation: 'Controlled shutdown can fail for multiple reasons. This determines the number of retries when such failure happens.' })
  .define({ name: 'controlled.shutdown.retry.backoff.ms', type: 'LONG', default: 5000, importance: M, group: G.REPLICATION, documentation: 'Before each retry, the system needs time to recover from the state that caused the previous failure.' })
  .define({ name: 'broker.session.timeout.ms', type: 'INT', default: 9000, validator: atLeast(1), importance: H, group: G.REPLICATION, note: 'Samsa: the TTL of the broker\'s etcd lease (whole seconds, at least 1).', documentation: 'The length of time in milliseconds that a broker lease lasts if no heartbeats are made.' })
  // Group coordinator and offsets
  .define({ name: 'group.initial.rebalance.delay.ms', type: 'INT', default: 3000, importance: M, group: G.GROUPS, documentation: 'How long the coordinator waits for more members to join a new group before the first rebalance.' })
  .define({ name: 'group.min.session.timeout.ms', type: 'INT', default: 6000, importance: M, group: G.GROUPS, documentation: 'The minimum allowed session timeout for registered consumers.' })
  .define({ name: 'group.max.session.timeout.ms', type: 'INT', default: 1800000, importance: M, group: G.GROUPS, documentation: 'The maximum allowed session timeout for registered consumers.' })
  .define({ name: 'group.max.size', type: 'INT', default: INT_MAX, validator: atLeast(1), importance: M, group: G.GROUPS, documentation: 'The maximum number of consumers a single consumer group can accommodate.' })
  .define({ name: 'group.coordinator.rebalance.protocols', type: 'LIST', default: ['classic', 'consumer'], validator: validList('classic', 'consumer', 'share'), importance: M, group: G.GROUPS, note: 'Default is Kafka 4.0\'s (3.9: classic).', documentation: 'The list of enabled rebalance protocols.' })
  .define({ name: 'group.consumer.heartbeat.interval.ms', type: 'INT', default: 5000, validator: atLeast(1), importance: M, group: G.GROUPS, documentation: 'The heartbeat interval given to the members of a consumer group.' })
  .define({ name: 'group.consumer.session.timeout.ms', type: 'INT', default: 45000, validator: atLeast(1), importance: M, group: G.GROUPS, documentation: 'The timeout to detect client failures when using the consumer group protocol.' })
  .define({ name: 'group.consumer.min.session.timeout.ms', type: 'INT', default: 45000, validator: atLeast(1), importance: M, group: G.GROUPS, documentation: 'The minimum allowed session timeout for registered consumers.' })
  .define({ name: 'group.consumer.max.session.timeout.ms', type: 'INT', default: 60000, validator: atLeast(1), importance: M, group: G.GROUPS, documentation: 'The maximum allowed session timeout for registered consumers.' })
  .define({ name: 'group.consumer.min.heartbeat.interval.ms', type: 'INT', default: 5000, validator: atLeast(1), importance: M, group: G.GROUPS, documentation: 'The minimum heartbeat interval for registered consumers.' })
  .define({ name: 'group.consumer.max.heartbeat.interval.ms', type: 'INT', default: 15000, validator: atLeast(1), importance: M, group: G.GROUPS, documentation: 'The maximum heartbeat interval for registered consumers.' })
  .define({ name: 'group.consumer.max.size', type: 'INT', default: INT_MAX, validator: atLeast(1), importance: M, group: G.GROUPS, documentation: 'The maximum number of consumers a consumer-protocol group can accommodate.' })
  .define({ name: 'group.consumer.assignors', type: 'LIST', default: ['org.apache.kafka.coordinator.group.assignor.UniformAssignor', 'org.apache.kafka.coordinator.group.assignor.RangeAssignor'], importance: M, group: G.GROUPS, note: 'Samsa maps Kafka\'s assignor class names (and the short names uniform, range) to its own assignors.', documentation: 'The server side assignors; the first is the default.' })
  .define({ name: 'offset.metadata.max.bytes', type: 'INT', default: 4096, importance: H, group: G.GROUPS, documentation: 'The maximum size for a metadata entry associated with an offset commit.' })
  .define({ name: 'offsets.topic.num.partitions', type: 'INT', default: 50, validator: atLeast(1), importance: H, group: G.GROUPS, documentation: 'The number of partitions for the offset commit topic (should not change after deployment).' })
  .define({ name: 'offsets.topic.replication.factor', type: 'SHORT', default: 3, validator: atLeast(1), importance: H, group: G.GROUPS, note: CLAMPED, documentation: 'The replication factor for the offsets topic.' })
  .define({ name: 'offsets.topic.segment.bytes', type: 'INT', default: 104857600, validator: atLeast(1), importance: H, group: G.GROUPS, documentation: 'The segment size of the offsets topic.' })
  .define({ name: 'offsets.retention.minutes', type: 'INT', default: 10080, validator: atLeast(1), importance: H, group: G.GROUPS, documentation: 'Committed offsets of an empty group are expired after this many minutes.' })
  .define({ name: 'offsets.retention.check.interval.ms', type: 'LONG', default: 600000, validator: atLeast(1), importance: H, group: G.GROUPS, documentation: 'Frequency at which to check for stale offsets.' })
  .define({ name: 'offsets.commit.timeout.ms', type: 'INT', default: 5000, validator: atLeast(1), importance: H, group: G.GROUPS, documentation: 'Offset commits wait until all replicas of the offsets topic have them, or this timeout.' })
  .define({ name: 'offsets.load.buffer.size', type: 'INT', default: 5242880, validator: atLeast(1), importance: H, group: G.GROUPS, documentation: 'Batch size for reading the offsets segments when loading offsets into the cache.' })
  // Transactions
  .define({ name: 'transaction.max.timeout.ms', type: 'INT', default: 900000, validator: atLeast(1), importance: H, group: G.TRANSACTIONS, documentation: 'The maximum allowed timeout for transactions.' })
  .define({ name: 'transactional.id.expiration.ms', type: 'INT', default: 604800000, validator: atLeast(1), importance: H, group: G.TRANSACTIONS, documentation: 'How long an idle transactional id is kept before it expires.' })
  .define({ name: 'transaction.state.log.num.partitions', type: 'INT', default: 50, validator: atLeast(1), importance: H, group: G.TRANSACTIONS, documentation: 'The number of partitions for the transaction topic (should not change after deployment).' })
  .define({ name: 'transaction.state.log.replication.factor', type: 'SHORT', default: 3, validator: atLeast(1), importance: H, group: G.TRANSACTIONS, note: CLAMPED, documentation: 'The replication factor for the transaction topic.' })
  .define({ name: 'transaction.state.log.min.isr', type: 'INT', default: 2, validator: atLeast(1), importance: H, group: G.TRANSACTIONS, note: CLAMPED, documentation: 'min.insync.replicas of the transaction topic.' })
  .define({ name: 'transaction.state.log.segment.bytes', type: 'INT', default: 104857600, validator: atLeast(1), importance: H, group: G.TRANSACTIONS, documentation: 'The segment size of the transaction topic.' })
  .define({ name: 'transaction.state.log.load.buffer.size', type: 'INT', default: 5242880, validator: atLeast(1), importance: H, group: G.TRANSACTIONS, documentation: 'Batch size for reading the transaction log when loading it into the cache.' })
  .define({ name: 'transaction.abort.timed.out.transaction.cleanup.interval.ms', type: 'INT', default: 10000, validator: atLeast(1), importance: L, group: G.TRANSACTIONS, documentation: 'The interval at which to roll back transactions that have timed out.' })
  .define({ name: 'transaction.remove.expired.transaction.cleanup.interval.ms', type: 'INT', default: 3600000, validator: atLeast(1), importance: L, group: G.TRANSACTIONS, documentation: 'The interval at which to remove transactions whose transactional.id.expiration.ms passed.' })
  .define({ name: 'transaction.partition.verification.enable', type: 'BOOLEAN', default: true, importance: L, updateMode: CLUSTER, group: G.TRANSACTIONS, documentation: 'Verify that a partition was added to the transaction before writing transactional records to it.' })
  .define({ name: 'producer.id.expiration.ms', type: 'INT', default: 86400000, validator: atLeast(1), importance: L, updateMode: CLUSTER, group: G.TRANSACTIONS, documentation: 'How long a partition leader keeps an idle producer id.' })
  // Samsa-only
  .define({ name: 'metadata.store', type: 'STRING', default: 'file', validator: metadataStoreValidator, importance: H, group: G.SAMSA, note: 'Samsa-only.', documentation: "Where cluster metadata lives: 'file' (embedded, single node) or 'etcd://host:port[,host:port...][/namespace]' (a cluster)." })

/** Broker configs that DescribeConfigs shows with readOnly=false (Kafka's DynamicBrokerConfig.AllDynamicConfigs ∩ this list). */
export function isDynamicBrokerConfig (name: string): boolean {
  const mode = BROKER_CONFIG_DEF.key(name)?.updateMode
  return mode === 'per-broker' || mode === 'cluster-wide'
}

/**
 * Broker config synonyms for DescribeConfigs on a broker resource (DynamicBrokerConfig.brokerConfigSynonyms):
 * the alternative names one setting can be given under, highest priority first.
 */
export function brokerConfigSynonyms (name: string): string[] {
  switch (name) {
    case 'log.roll.ms':
    case 'log.roll.hours':
      return ['log.roll.ms', 'log.roll.hours']
    case 'log.roll.jitter.ms':
    case 'log.roll.jitter.hours':
      return ['log.roll.jitter.ms', 'log.roll.jitter.hours']
    // log.flush.scheduler.interval.ms is the default of log.flush.interval.ms, not the reverse.
    case 'log.flush.interval.ms':
      return ['log.flush.interval.ms', 'log.flush.scheduler.interval.ms']
    case 'log.retention.ms':
    case 'log.retention.minutes':
    case 'log.retention.hours':
      return ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours']
    default:
      return [name]
  }
}
