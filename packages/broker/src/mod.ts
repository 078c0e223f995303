/**
 * @samsa/broker: the Kafka-compatible broker.
 */
export { Broker, type BrokerOptions, type ListenerSpec } from './broker.ts'
export { embeddedBrokerOptions, settingsFrom, type EmbeddedBrokerOptions } from './embedded.ts'
export * from './config/mod.ts'
export type { BrokerContext, BrokerSettings, Endpoint } from './broker-context.ts'
export { type Logger, type LogLevelName, type LogFields, LogLevel, createLogger, silentLogger, isLogLevel, formatLine } from './logger.ts'
export {
  type MetadataStore, type TopicMetadata, type PartitionAssignment, type PartitionState, type ProducerIdBlock, type BrokerRegistration,
  type MetadataEvent, type MetadataSnapshot, FileMetadataStore, MemoryMetadataStore, NO_LEADER
} from './metadata/metadata-store.ts'
export { SharedMemoryMetadataCluster, SharedMemoryMetadataStore } from './metadata/shared-memory-metadata-store.ts'
export type { EtcdMetadataStoreOptions } from './metadata/etcd-metadata-store.ts'
export { ClusterImage } from './metadata/cluster-image.ts'
export type { Controller } from './cluster/controller.ts'
export * from './txn/mod.ts'
