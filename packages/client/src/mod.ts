/**
 * @samsa/client: a Kafka producer, consumer and admin client over @samsa/protocol, for any
 * Kafka-compatible cluster.
 *
 *     import { createProducer, createConsumer, createAdmin } from '@samsa/client'
 */

// Producer
export { Producer, createProducer } from './producer/producer.ts'
export type { ProducerOptions, Acks, CompressionName } from './producer/options.ts'
export type { ProducerRecord, ProducerRecordHeaders, RecordMetadata, RecordValue } from './producer/record.ts'
export { type Partitioner, type PartitionerTopic, defaultPartitionForKey } from './producer/partitioner.ts'
export { murmur2, toPositive, partitionForKey } from './producer/murmur2.ts'
export {
  TransactionState, type TransactionOffset, type ConsumerGroupMetadata
} from './producer/transaction-manager.ts'

// Consumer
export { Consumer, createConsumer } from './consumer/consumer.ts'
export type {
  ConsumerOptions, ResolvedConsumerOptions, AutoOffsetReset, IsolationLevel, GroupProtocol, AssignorName
} from './consumer/options.ts'
export type {
  ConsumerRecord, ConsumerBatch, CommitOffset, CommittedOffset, SeekTarget, RebalanceListener, SubscribeOptions
} from './consumer/types.ts'
export {
  RangeAssignor, RoundRobinAssignor, CooperativeStickyAssignor, type PartitionAssignor, type AssignorMember,
  type AssignorTopicPartition
} from './consumer/assignors.ts'

// Admin
export { Admin, createAdmin, type AdminOptions } from './admin/admin.ts'
export type {
  NewTopic, CreateTopicsOptions, CreatedTopic, ListTopicsOptions, TopicDescription, PartitionDescription,
  DescribeTopicsOptions, TopicToDelete, DeleteTopicsOptions, NewPartitions, CreatePartitionsOptions, ConfigValue
} from './admin/topics.ts'
export {
  ConfigResourceType, type ConfigResource, type ConfigResourceDescription, type ConfigEntry, type ConfigSynonym,
  type ConfigSource, type ConfigType, type DescribeConfigsOptions, type AlterConfigResource, type ConfigChange,
  type AlterConfigOpName, type AlterConfigsOptions
} from './admin/configs.ts'
export type {
  GroupListing, ListGroupsOptions, GroupDescription, GroupMemberDescription, GroupMemberAssignment
} from './admin/groups.ts'
export type { GroupOffset, ListGroupOffsetsOptions, OffsetToCommit, ResetGroupOffsetsOptions } from './admin/group-offsets.ts'
export {
  OffsetSpec, type OffsetQuery, type ListedOffset, type ListOffsetsOptions, type RecordsToDelete, type DeletedRecords,
  type DeleteRecordsOptions
} from './admin/records.ts'
export type { ClusterDescription, LogDirDescription, LogDirPartition, DescribeLogDirsOptions } from './admin/cluster-info.ts'
export type {
  TransactionListing, ListTransactionsOptions, TransactionDescription, PartitionProducers, ProducerState
} from './admin/transactions.ts'
export type { TopicPartition } from './admin/routing.ts'

// Connections and cluster (shared with the consumer)
export {
  Cluster, CoordinatorType, isCoordinatorMovedError, type CoordinatorKey, type ClusterOptions, type ClusterMetadata, type BrokerInfo,
  type TopicInfo, type PartitionInfo, type ConnectionRequestOptions, type RefreshMetadataOptions
} from './cluster.ts'
export {
  Connection, decodeApiVersionsResponse, type ConnectionOptions, type RequestOptions, type RequestBody, type TlsOptions
} from './connection.ts'
export {
  chooseVersion, clientMaxVersion, supportsApi, type ApiVersionRange, type BrokerApiVersions, type VersionLimits
} from './api-versions.ts'
export type { SaslAuthenticator } from './sasl.ts'
export { parseBrokerAddress, formatBrokerAddress, type BrokerAddress } from './broker-address.ts'
export {
  retryPolicy, backoffDelay, withRetry, DEFAULT_RETRY_POLICY, type RetryOptions, type RetryPolicy, type RetryContext,
  type WithRetryOptions
} from './retry.ts'
export { REQUEST_CHANNEL_NAME, type RequestTraceContext } from './diagnostics.ts'

// Errors
export {
  ClientErrorCode, KafkaClientError, KafkaNetworkError, KafkaTimeoutError, KafkaClosedError, KafkaInvalidArgumentError,
  KafkaResponseError, KafkaUnsupportedVersionError, KafkaCorruptResponseError, KafkaBufferExhaustedError,
  KafkaRecordTooLargeError, KafkaIllegalStateError, KafkaPartialFailureError, isRetriable, errorName,
  type ItemFailure, type ResponseErrorLocation, type KafkaClientErrorOptions
} from './errors.ts'
