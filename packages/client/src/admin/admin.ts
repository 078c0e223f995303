/**
 * The admin client: topics, configs, groups and their offsets, records, the cluster, log
 * directories, transactions and producers. Every multi-item call reports per-item failures as
 * one KafkaPartialFailureError whose `result` holds what succeeded.
 *
 *     const admin = createAdmin({ bootstrapServers: 'localhost:9092' })
 *     await admin.createTopics([{ name: 'events', numPartitions: 3, configs: { 'cleanup.policy': 'compact' } }])
 *     await admin.close()
 */
import { Cluster, type ClusterOptions } from '../cluster.ts'
import { KafkaClosedError } from '../errors.ts'
import { type ClusterDescription, type DescribeLogDirsOptions, type LogDirDescription, describeCluster, describeLogDirs } from './cluster-info.ts'
import {
  type AlterConfigResource, type AlterConfigsOptions, type ConfigResource, type ConfigResourceDescription,
  type DescribeConfigsOptions, describeConfigs, incrementalAlterConfigs
} from './configs.ts'
import {
  type GroupOffset, type ListGroupOffsetsOptions, type OffsetToCommit, type ResetGroupOffsetsOptions,
  alterGroupOffsets, deleteGroupOffsets, listGroupOffsets, resetGroupOffsets
} from './group-offsets.ts'
import { type GroupDescription, type GroupListing, type ListGroupsOptions, deleteGroups, describeGroups, listGroups } from './groups.ts'
import {
  type DeleteRecordsOptions, type DeletedRecords, type ListOffsetsOptions, type ListedOffset, type OffsetQuery,
  type RecordsToDelete, deleteRecords, listOffsets
} from './records.ts'
import type { TopicPartition } from './routing.ts'
import {
  type CreatePartitionsOptions, type CreateTopicsOptions, type CreatedTopic, type DeleteTopicsOptions,
  type DescribeTopicsOptions, type ListTopicsOptions, type NewPartitions, type NewTopic, type TopicDescription,
  type TopicToDelete, createPartitions, createTopics, deleteTopics, describeTopics, listTopics
} from './topics.ts'
import {
  type ListTransactionsOptions, type PartitionProducers, type TransactionDescription, type TransactionListing,
  describeProducers, describeTransactions, listTransactions
} from './transactions.ts'

export type AdminOptions = ClusterOptions

/** Creates an admin client (it connects on first use). */
export function createAdmin (options: AdminOptions): Admin {
  return new Admin(options)
}

export class Admin {
  /** The admin client's view of the cluster: metadata, broker connections, coordinators. */
  readonly cluster: Cluster
  #closed = false

  /** Validates the options (throws KafkaInvalidArgumentError); connects lazily. */
  constructor (options: AdminOptions) {
    this.cluster = new Cluster(options)
  }

  #open (): Cluster {
    if (this.#closed) throw new KafkaClosedError('The admin client is closed')
    return this.cluster
  }

  /** Fetches the cluster metadata; rejects with KafkaNetworkError if no broker can be reached. */
  async connect (): Promise<void> {
    await this.#open().refreshMetadata({ topics: [] })
  }

  /** Creates topics; `validateOnly` checks without creating. */
  async createTopics (topics: readonly NewTopic[], options?: CreateTopicsOptions): Promise<CreatedTopic[]> {
    return await createTopics(this.#open(), topics, options)
  }

  /** Topic names, sorted; internal topics only with `includeInternal`. */
  async listTopics (options?: ListTopicsOptions): Promise<string[]> {
    return await listTopics(this.#open(), options)
  }

  /** Partitions, leaders, replicas, topic ids and, with `includeConfigs`, configs. */
  async describeTopics (topics: readonly string[], options?: DescribeTopicsOptions): Promise<TopicDescription[]> {
    return await describeTopics(this.#open(), topics, options)
  }

  /** Deletes topics by name or by id. */
  async deleteTopics (topics: readonly TopicToDelete[], options?: DeleteTopicsOptions): Promise<void> {
    await deleteTopics(this.#open(), topics, options)
  }

  /** Raises topics' partition counts. */
  async createPartitions (topics: readonly NewPartitions[], options?: CreatePartitionsOptions): Promise<void> {
    await createPartitions(this.#open(), topics, options)
  }

  /** Describes topic, broker and other configs, with synonyms on request. */
  async describeConfigs (resources: readonly ConfigResource[], options?: DescribeConfigsOptions): Promise<ConfigResourceDescription[]> {
    return await describeConfigs(this.#open(), resources, options)
  }

  /** Sets, deletes, appends to or subtracts from configs (IncrementalAlterConfigs). */
  async incrementalAlterConfigs (resources: readonly AlterConfigResource[], options?: AlterConfigsOptions): Promise<void> {
    await incrementalAlterConfigs(this.#open(), resources, options)
  }

  /** Groups on every broker, optionally filtered by state and type. */
  async listGroups (options?: ListGroupsOptions): Promise<GroupListing[]> {
    return await listGroups(this.#open(), options)
  }

  /** Describes groups: members, assignments, state (classic and KIP-848 groups). */
  async describeGroups (groupIds: readonly string[]): Promise<GroupDescription[]> {
    return await describeGroups(this.#open(), groupIds)
  }

  /** Deletes empty groups. */
  async deleteGroups (groupIds: readonly string[]): Promise<void> {
    await deleteGroups(this.#open(), groupIds)
  }

  /** A group's committed offsets. */
  async listConsumerGroupOffsets (groupId: string, options?: ListGroupOffsetsOptions): Promise<GroupOffset[]> {
    return await listGroupOffsets(this.#open(), groupId, options)
  }

  /** Commits offsets for an empty group. */
  async alterConsumerGroupOffsets (groupId: string, offsets: readonly OffsetToCommit[]): Promise<void> {
    await alterGroupOffsets(this.#open(), groupId, offsets)
  }

  /** Resets an empty group's offsets of a topic to the earliest, latest, a timestamp or an offset. */
  async resetConsumerGroupOffsets (groupId: string, options: ResetGroupOffsetsOptions): Promise<GroupOffset[]> {
    return await resetGroupOffsets(this.#open(), groupId, options)
  }

  /** Deletes a group's committed offsets of partitions it no longer consumes. */
  async deleteConsumerGroupOffsets (groupId: string, partitions: readonly TopicPartition[]): Promise<void> {
    await deleteGroupOffsets(this.#open(), groupId, partitions)
  }

  /** Earliest, latest, max-timestamp or by-timestamp offsets of partitions. */
  async listOffsets (queries: readonly OffsetQuery[], options?: ListOffsetsOptions): Promise<ListedOffset[]> {
    return await listOffsets(this.#open(), queries, options)
  }

  /** Deletes records before the given offsets (moves the log start offset). */
  async deleteRecords (partitions: readonly RecordsToDelete[], options?: DeleteRecordsOptions): Promise<DeletedRecords[]> {
    return await deleteRecords(this.#open(), partitions, options)
  }

  /** The cluster id, controller and brokers. */
  async describeCluster (): Promise<ClusterDescription> {
    return await describeCluster(this.#open())
  }

  /** Each broker's log directories and the partitions in them. */
  async describeLogDirs (options?: DescribeLogDirsOptions): Promise<LogDirDescription[]> {
    return await describeLogDirs(this.#open(), options)
  }

  /** Transactional ids known to the transaction coordinators. */
  async listTransactions (options?: ListTransactionsOptions): Promise<TransactionListing[]> {
    return await listTransactions(this.#open(), options)
  }

  /** State, producer and partitions of transactional ids. */
  async describeTransactions (transactionalIds: readonly string[]): Promise<TransactionDescription[]> {
    return await describeTransactions(this.#open(), transactionalIds)
  }

  /** Active (idempotent and transactional) producers of partitions. */
  async describeProducers (partitions: readonly TopicPartition[]): Promise<PartitionProducers[]> {
    return await describeProducers(this.#open(), partitions)
  }

  /** Closes every connection; later calls fail with KafkaClosedError. */
  async close (): Promise<void> {
    this.#closed = true
    await this.cluster.close()
  }
}
