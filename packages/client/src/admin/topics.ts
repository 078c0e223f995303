/** Topic administration: CreateTopics, Metadata, DeleteTopics, CreatePartitions (and DescribeConfigs for describe). */
import { CreatePartitionsApi, ErrorCode, CreateTopicsApi, DeleteTopicsApi, MetadataApi, ZERO_UUID } from '@samsa/protocol'
import type { CreateTopicsRequest } from '@samsa/protocol/messages/create-topics'
import type { DeleteTopicsRequest } from '@samsa/protocol/messages/delete-topics'
import type { Cluster } from '../cluster.ts'
import { type ItemFailure, KafkaInvalidArgumentError, KafkaResponseError } from '../errors.ts'
import { type ConfigEntry, ConfigResourceType, configSourceName, describeConfigs } from './configs.ts'
import { requestAny, resultOrPartial, withController, requireItems } from './routing.ts'

/** A config value: strings as they are, numbers and booleans as Kafka prints them, null for the default. */
export type ConfigValue = string | number | boolean | null

export interface NewTopic {
  name: string
  /** Default -1: the broker's `num.partitions`. */
  numPartitions?: number
  /** Default -1: the broker's `default.replication.factor`. */
  replicationFactor?: number
  /** Replica broker ids by partition (then numPartitions and replicationFactor must be unset). */
  assignments?: ReadonlyArray<readonly number[]>
  configs?: Readonly<Record<string, ConfigValue>>
}

export interface CreateTopicsOptions {
  /** Check the request without creating anything. */
  validateOnly?: boolean
  /** How long the broker may take. Default: the client's requestTimeoutMs. */
  timeoutMs?: number
}

export interface CreatedTopic {
  name: string
  /** The zero UUID from brokers older than CreateTopics v7. */
  topicId: string
  /** -1 from brokers older than CreateTopics v5. */
  numPartitions: number
  replicationFactor: number
  /** The topic's configs as created (CreateTopics v5+), else empty. */
  configs: ConfigEntry[]
}

function configString (value: ConfigValue): string | null {
  return value === null ? null : String(value)
}

export async function createTopics (cluster: Cluster, topics: readonly NewTopic[], options: CreateTopicsOptions = {}): Promise<CreatedTopic[]> {
  requireItems(topics, 'createTopics() needs at least one topic')
  const body: CreateTopicsRequest = {
    topics: topics.map((t) => {
      if (typeof t?.name !== 'string' || t.name === '') throw new KafkaInvalidArgumentError('Every new topic needs a non-empty name')
      return {
        name: t.name,
        numPartitions: t.numPartitions ?? -1,
        replicationFactor: t.replicationFactor ?? -1,
        assignments: (t.assignments ?? []).map((brokerIds: readonly number[], partitionIndex: number) => ({ partitionIndex, brokerIds: [...brokerIds] })),
        configs: Object.entries<ConfigValue>(t.configs ?? {}).map(([name, value]) => ({ name, value: configString(value) }))
      }
    }),
    timeoutMs: options.timeoutMs ?? cluster.requestTimeoutMs,
    validateOnly: options.validateOnly ?? false
  }
  const response = await withController(cluster, async (connection) => {
    const r = await connection.request(CreateTopicsApi, body)
    const notController = r.topics.find((t) => t.errorCode === ErrorCode.NOT_CONTROLLER)
    if (notController !== undefined) throw new KafkaResponseError(ErrorCode.NOT_CONTROLLER, notController.errorMessage, { api: 'CreateTopics', topic: notController.name })
    return r
  })
  const created: CreatedTopic[] = []
  const failures: ItemFailure[] = []
  for (const t of response.topics) {
    if (t.errorCode !== 0) {
      failures.push({ path: `topics/${t.name}`, error: new KafkaResponseError(t.errorCode, t.errorMessage, { api: 'CreateTopics', topic: t.name }) })
      continue
    }
    created.push({
      name: t.name,
      topicId: t.topicId,
      numPartitions: t.numPartitions,
      replicationFactor: t.replicationFactor,
      configs: (t.configs ?? []).map((c) => ({
        name: c.name,
        value: c.value,
        readOnly: c.readOnly,
        isDefault: c.configSource === 5,
        source: configSourceName(c.configSource),
        isSensitive: c.isSensitive,
        synonyms: []
      }))
    })
  }
  return resultOrPartial(`Creating ${failures.length} of ${topics.length} topics failed`, created, failures)
}

export interface ListTopicsOptions {
  /** Include internal topics such as __consumer_offsets. Default false. */
  includeInternal?: boolean
}

/** Topic names, sorted. */
export async function listTopics (cluster: Cluster, options: ListTopicsOptions = {}): Promise<string[]> {
  const metadata = await cluster.refreshMetadata({ topics: null })
  const names: string[] = []
  for (const t of metadata.topics.values()) if (t.errorCode === 0 && (options.includeInternal === true || !t.isInternal)) names.push(t.name)
  return names.sort()
}

export interface PartitionDescription {
  partition: number
  /** -1 without a leader. */
  leader: number
  leaderEpoch: number
  replicas: number[]
  isr: number[]
  offlineReplicas: number[]
}

export interface TopicDescription {
  name: string
  topicId: string
  isInternal: boolean
  partitions: PartitionDescription[]
  /** With `includeConfigs`. */
  configs?: ConfigEntry[]
}

export interface DescribeTopicsOptions {
  /** Also describe each topic's configs (DescribeConfigs, with synonyms). */
  includeConfigs?: boolean
}

export async function describeTopics (cluster: Cluster, topics: readonly string[], options: DescribeTopicsOptions = {}): Promise<TopicDescription[]> {
  const response = await requestAny(cluster, MetadataApi, {
    topics: topics.map((name) => ({ topicId: ZERO_UUID, name })),
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false
  })
  const result: TopicDescription[] = []
  const failures: ItemFailure[] = []
  for (const t of response.topics) {
    const name = t.name ?? ''
    if (t.errorCode !== 0) {
      failures.push({ path: `topics/${name}`, error: new KafkaResponseError(t.errorCode, null, { api: 'Metadata', topic: name }) })
      continue
    }
    result.push({
      name,
      topicId: t.topicId,
      isInternal: t.isInternal,
      partitions: t.partitions.map((p) => ({
        partition: p.partitionIndex,
        leader: p.leaderId,
        leaderEpoch: p.leaderEpoch,
        replicas: p.replicaNodes,
        isr: p.isrNodes,
        offlineReplicas: p.offlineReplicas
      })).sort((a, b) => a.partition - b.partition)
    })
  }
  if (options.includeConfigs === true && result.length > 0) {
    try {
      const configs = await describeConfigs(cluster, result.map((t) => ({ type: ConfigResourceType.TOPIC, name: t.name })), { includeSynonyms: true })
      for (const d of configs) {
        const topic = result.find((t) => t.name === d.name)
        if (topic !== undefined) topic.configs = d.configs
      }
    } catch (error) {
      const partial = error as { failures?: ItemFailure[], result?: Array<{ name: string, configs: ConfigEntry[] }> }
      if (partial.failures === undefined) throw error
      for (const d of partial.result ?? []) {
        const topic = result.find((t) => t.name === d.name)
        if (topic !== undefined) topic.configs = d.configs
      }
      failures.push(...partial.failures)
    }
  }
  return resultOrPartial(`Describing ${failures.length} of ${topics.length} topics failed`, result, failures)
}

/** A topic to delete: by name, or by id (DeleteTopics v6+). */
export type TopicToDelete = string | { topicId: string }

export interface DeleteTopicsOptions {
  timeoutMs?: number
}

export async function deleteTopics (cluster: Cluster, topics: readonly TopicToDelete[], options: DeleteTopicsOptions = {}): Promise<void> {
  requireItems(topics, 'deleteTopics() needs at least one topic')
  const byId = topics.some((t) => typeof t !== 'string')
  const timeoutMs = options.timeoutMs ?? cluster.requestTimeoutMs
  const response = await withController(cluster, async (connection) => {
    const r = await connection.request(DeleteTopicsApi, (v): DeleteTopicsRequest => ({
      topics: v >= 6 ? topics.map((t) => typeof t === 'string' ? { name: t, topicId: ZERO_UUID } : { name: null, topicId: t.topicId }) : [],
      topicNames: v >= 6 ? [] : topics.map((t) => typeof t === 'string' ? t : ''),
      timeoutMs
    }), byId ? { minVersion: 6 } : {})
    const notController = r.responses.find((t) => t.errorCode === ErrorCode.NOT_CONTROLLER)
    if (notController !== undefined) throw new KafkaResponseError(ErrorCode.NOT_CONTROLLER, notController.errorMessage, { api: 'DeleteTopics' })
    return r
  })
  const failures: ItemFailure[] = []
  for (const t of response.responses) {
    if (t.errorCode === 0) continue
    const name = t.name ?? t.topicId
    failures.push({ path: `topics/${name}`, error: new KafkaResponseError(t.errorCode, t.errorMessage, { api: 'DeleteTopics', topic: name }) })
  }
  for (const t of topics) if (typeof t === 'string') cluster.untrackTopics([t])
  resultOrPartial(`Deleting ${failures.length} of ${topics.length} topics failed`, undefined, failures)
}

export interface NewPartitions {
  topic: string
  /** The new total number of partitions. */
  count: number
  /** Replica broker ids for each new partition. */
  assignments?: ReadonlyArray<readonly number[]>
}

export interface CreatePartitionsOptions {
  validateOnly?: boolean
  timeoutMs?: number
}

export async function createPartitions (cluster: Cluster, topics: readonly NewPartitions[], options: CreatePartitionsOptions = {}): Promise<void> {
  requireItems(topics, 'createPartitions() needs at least one topic')
  const response = await withController(cluster, async (connection) => {
    const r = await connection.request(CreatePartitionsApi, {
      topics: topics.map((t) => ({
        name: t.topic,
        count: t.count,
        assignments: t.assignments === undefined ? null : t.assignments.map((brokerIds: readonly number[]) => ({ brokerIds: [...brokerIds] }))
      })),
      timeoutMs: options.timeoutMs ?? cluster.requestTimeoutMs,
      validateOnly: options.validateOnly ?? false
    })
    const notController = r.results.find((t) => t.errorCode === ErrorCode.NOT_CONTROLLER)
    if (notController !== undefined) throw new KafkaResponseError(ErrorCode.NOT_CONTROLLER, notController.errorMessage, { api: 'CreatePartitions' })
    return r
  })
  const failures: ItemFailure[] = []
  for (const t of response.results) {
    if (t.errorCode !== 0) failures.push({ path: `topics/${t.name}`, error: new KafkaResponseError(t.errorCode, t.errorMessage, { api: 'CreatePartitions', topic: t.name }) })
  }
  if (options.validateOnly !== true) await cluster.refreshMetadata({ topics: topics.map((t) => t.topic) }).catch(() => {})
  resultOrPartial(`Creating partitions for ${failures.length} of ${topics.length} topics failed`, undefined, failures)
}
