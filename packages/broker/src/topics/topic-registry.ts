/**
 * The topics this broker knows and the partitions it hosts. Metadata changes go to the
 * MetadataStore first and then take effect here, so an acknowledged CreateTopics survives a
 * restart. Errors are KafkaProtocolError with Kafka's code and message.
 */
import { randomUUID } from 'node:crypto'
import { ErrorCode, KafkaProtocolError } from '@samsa/protocol'
import type { LogConfig, LogManager } from '@samsa/storage'
import type { Logger } from '../logger.ts'
import type { MetadataStore, PartitionAssignment, TopicMetadata } from '../metadata/metadata-store.ts'
import { Partition } from './partition.ts'
import { topicNameError, unifyCollisionChars } from './topic-name.ts'

export const INTERNAL_TOPICS: ReadonlySet<string> = new Set(['__consumer_offsets', '__transaction_state'])

export class Topic {
  readonly name: string
  readonly topicId: string
  configs: Record<string, string>
  partitions: Partition[]

  constructor (meta: TopicMetadata, partitions: Partition[]) {
    this.name = meta.name
    this.topicId = meta.topicId
    this.configs = meta.configs
    this.partitions = partitions
  }

  get internal (): boolean {
    return INTERNAL_TOPICS.has(this.name)
  }

  get replicationFactor (): number {
    return this.partitions[0]?.replicas.length ?? 0
  }
}

export interface CreateTopicSpec {
  name: string
  numPartitions: number
  replicationFactor: number
  /** Explicit replica assignments per partition (CreateTopics assignments). */
  assignments?: number[][]
  configs: Record<string, string>
}

export interface TopicRegistryOptions {
  store: MetadataStore
  logManager: LogManager
  nodeId: number
  /** Broker ids that can hold replicas (this one alone on a single node). */
  brokerIds: () => number[]
  logConfigFor: (overrides: Record<string, string>) => LogConfig
  logger: Logger
}

export class TopicRegistry {
  readonly #options: TopicRegistryOptions
  readonly #byName = new Map<string, Topic>()
  readonly #byId = new Map<string, Topic>()
  /** Auto-creations in progress, so concurrent Metadata requests create a topic once. */
  readonly #creating = new Map<string, Promise<Topic>>()

  constructor (options: TopicRegistryOptions) {
    this.#options = options
  }

  async load (): Promise<void> {
    for (const meta of await this.#options.store.loadTopics()) this.#install(meta)
  }

  get (name: string): Topic | undefined {
    return this.#byName.get(name)
  }

  getById (topicId: string): Topic | undefined {
    return this.#byId.get(topicId)
  }

  list (): Topic[] {
    return [...this.#byName.values()]
  }

  partition (topic: string, index: number): Partition | undefined {
    return this.#byName.get(topic)?.partitions[index]
  }

  /**
   * Checks a CreateTopics spec (throwing Kafka's error) without creating anything; returns
   * the replica assignment that would be used.
   */
  validateCreate (spec: CreateTopicSpec): number[][] {
    const nameError = topicNameError(spec.name)
    if (nameError !== null) throw new KafkaProtocolError(ErrorCode.INVALID_TOPIC_EXCEPTION, nameError)
    if (this.#byName.has(spec.name)) throw new KafkaProtocolError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${spec.name}' already exists.`)
    const unified = unifyCollisionChars(spec.name)
    for (const existing of this.#byName.keys()) {
      if (unifyCollisionChars(existing) === unified) {
        throw new KafkaProtocolError(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${spec.name}' collides with existing topic: ${existing}`)
      }
    }
    const brokers = this.#options.brokerIds()
    if (spec.assignments !== undefined && spec.assignments.length > 0) {
      if (spec.numPartitions !== -1 || spec.replicationFactor !== -1) {
        throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, 'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.')
      }
      return spec.assignments.map((replicas, p) => this.#checkReplicas(replicas, p, brokers))
    }
    if (spec.numPartitions <= 0) throw new KafkaProtocolError(ErrorCode.INVALID_PARTITIONS, 'Number of partitions must be larger than 0.')
    if (spec.replicationFactor <= 0) throw new KafkaProtocolError(ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0.')
    if (spec.replicationFactor > brokers.length) {
      throw new KafkaProtocolError(ErrorCode.INVALID_REPLICATION_FACTOR,
        `Unable to replicate the partition ${spec.replicationFactor} time(s): The target replication factor of ${spec.replicationFactor} cannot be reached because only ${brokers.length} broker(s) are registered.`)
    }
    return assignReplicas(spec.numPartitions, spec.replicationFactor, brokers, 0)
  }

  #checkReplicas (replicas: number[], partition: number, brokers: number[]): number[] {
    if (replicas.length === 0) throw new KafkaProtocolError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Empty replica assignment for partition ${partition}.`)
    if (new Set(replicas).size !== replicas.length) {
      throw new KafkaProtocolError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Duplicate brokers not allowed in replica assignment: ${replicas.join(', ')} for partition id ${partition}.`)
    }
    const unknown = replicas.filter((b) => !brokers.includes(b))
    if (unknown.length > 0) {
      throw new KafkaProtocolError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment includes broker ${unknown[0]}, but no such broker is registered.`)
    }
    return replicas
  }

  async create (spec: CreateTopicSpec): Promise<Topic> {
    const assignment = this.validateCreate(spec)
    const meta: TopicMetadata = {
      name: spec.name,
      topicId: randomUUID(),
      partitions: assignment.map((replicas, partition) => ({ partition, replicas, leaderEpoch: 0 })),
      configs: { ...spec.configs }
    }
    await this.#options.store.putTopic(meta)
    const topic = this.#install(meta)
    this.#options.logger.info('Created topic', { topic: meta.name, topicId: meta.topicId, partitions: meta.partitions.length })
    return topic
  }

  /** Creates a topic with default settings unless it exists or is being created. */
  async autoCreate (name: string, numPartitions: number, replicationFactor: number): Promise<Topic> {
    const existing = this.#byName.get(name)
    if (existing !== undefined) return existing
    let pending = this.#creating.get(name)
    if (pending === undefined) {
      pending = this.create({ name, numPartitions, replicationFactor, configs: {} }).finally(() => this.#creating.delete(name))
      this.#creating.set(name, pending)
    }
    return await pending
  }

  async delete (name: string): Promise<void> {
    const topic = this.#byName.get(name)
    if (topic === undefined) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.')
    await this.#options.store.deleteTopic(name)
    this.#byName.delete(name)
    this.#byId.delete(topic.topicId)
    for (const p of topic.partitions) {
      await this.#options.logManager.deleteLog(name, p.index)
      p.changed()
    }
    this.#options.logger.info('Deleted topic', { topic: name, topicId: topic.topicId })
  }

  /** Grows a topic to `count` partitions (CreatePartitions). */
  validateAddPartitions (name: string, count: number, assignments: number[][] | null): number[][] {
    const topic = this.#byName.get(name)
    if (topic === undefined) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.')
    const current = topic.partitions.length
    if (count < current) throw new KafkaProtocolError(ErrorCode.INVALID_PARTITIONS, `Topic currently has ${current} partitions, which is higher than the requested ${count}.`)
    if (count === current) throw new KafkaProtocolError(ErrorCode.INVALID_PARTITIONS, `Topic already has ${current} partitions.`)
    const brokers = this.#options.brokerIds()
    if (assignments !== null) {
      if (assignments.length !== count - current) {
        throw new KafkaProtocolError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Increasing the number of partitions by ${count - current} but ${assignments.length} assignments provided.`)
      }
      return assignments.map((r, i) => this.#checkReplicas(r, current + i, brokers))
    }
    return assignReplicas(count - current, topic.replicationFactor, brokers, current)
  }

  async addPartitions (name: string, count: number, assignments: number[][] | null): Promise<void> {
    const added = this.validateAddPartitions(name, count, assignments)
    const topic = this.#byName.get(name)!
    const meta = this.#metadataOf(topic)
    const start = meta.partitions.length
    meta.partitions.push(...added.map((replicas, i) => ({ partition: start + i, replicas, leaderEpoch: 0 })))
    await this.#options.store.putTopic(meta)
    for (const a of meta.partitions.slice(start)) topic.partitions.push(this.#openPartition(topic.name, topic.configs, a))
    this.#options.logger.info('Added partitions', { topic: name, partitions: count })
  }

  /** Replaces a topic's config overrides (already validated). */
  async setConfigs (name: string, configs: Record<string, string>): Promise<void> {
    const topic = this.#byName.get(name)
    if (topic === undefined) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.')
    const meta = { ...this.#metadataOf(topic), configs: { ...configs } }
    await this.#options.store.putTopic(meta)
    topic.configs = meta.configs
    const logConfig = this.#options.logConfigFor(topic.configs)
    for (const p of topic.partitions) p.log.config = logConfig
  }

  /** Re-applies broker defaults to every log (after a broker-level config change). */
  refreshLogConfigs (): void {
    for (const topic of this.#byName.values()) {
      const logConfig = this.#options.logConfigFor(topic.configs)
      for (const p of topic.partitions) p.log.config = logConfig
    }
  }

  #metadataOf (topic: Topic): TopicMetadata {
    return {
      name: topic.name,
      topicId: topic.topicId,
      partitions: topic.partitions.map((p) => ({ partition: p.index, replicas: [...p.replicas], leaderEpoch: p.leaderEpoch })),
      configs: { ...topic.configs }
    }
  }

  #install (meta: TopicMetadata): Topic {
    const partitions = meta.partitions.map((a) => this.#openPartition(meta.name, meta.configs, a))
    const topic = new Topic(meta, partitions)
    this.#byName.set(meta.name, topic)
    this.#byId.set(meta.topicId, topic)
    return topic
  }

  #openPartition (name: string, configs: Record<string, string>, a: PartitionAssignment): Partition {
    const log = this.#options.logManager.getOrCreateLog(name, a.partition, this.#options.logConfigFor(configs))
    return new Partition(name, a.partition, log, this.#options.nodeId, a.replicas, a.leaderEpoch)
  }
}

/**
 * Kafka's replica placement without racks: partition p's replicas start at broker
 * (start + p) and continue round-robin, so leaders spread evenly.
 */
export function assignReplicas (count: number, replicationFactor: number, brokers: number[], firstPartition: number): number[][] {
  const sorted = [...brokers].sort((a, b) => a - b)
  const out: number[][] = []
  for (let i = 0; i < count; i++) {
    const p = firstPartition + i
    const replicas: number[] = []
    for (let r = 0; r < replicationFactor; r++) replicas.push(sorted[(p + r) % sorted.length]!)
    out.push(replicas)
  }
  return out
}
