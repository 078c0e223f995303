/**
 * @samsa/broker: the Kafka-compatible broker.
 */
export { Broker, type BrokerOptions, type ListenerSpec } from './broker.ts'
export { embeddedBrokerOptions, settingsFrom, type EmbeddedBrokerOptions } from './embedded.ts'
export * from './config/mod.ts'
export type { BrokerContext, BrokerSettings, Endpoint } from './broker-context.ts'
export { type Logger, type LogLevelName, type LogFields, LogLevel, createLogger, silentLogger, isLogLevel, formatLine } from './logger.ts'
export {
  type MetadataStore, type TopicMetadata, type PartitionAssignment, type ProducerIdBlock, FileMetadataStore, MemoryMetadataStore
} from './metadata/metadata-store.ts'
export * from './txn/mod.ts'
