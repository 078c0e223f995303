/**
 * The topics this broker knows and, for each partition, its replication state and this broker's
 * role in it (leader, follower, none); the partitions it holds a replica of have a log.
 *
 * The registry is a view of the metadata store: every change (a topic created, deleted,
 * reconfigured or grown, a partition's state changed) reaches it as a MetadataEvent (apply), in
 * the store's order, and the store's read-your-writes rule means a change made here (create,
 * delete, ...) is in the view when the call returns. Applying a partition state moves the
 * partition to its role: leader when the state names this broker leader, follower when this
 * broker is another replica, none otherwise (a replica this broker no longer holds has its log
 * deleted). The observer (the replica manager) hears every role and leader change after it is
 * made. Errors are KafkaProtocolError with Kafka's code and message.
 */
import { randomUUID } from 'node:crypto'
import { ErrorCode, KafkaProtocolError } from '@samsa/protocol'
import type { LogConfig, LogManager } from '@samsa/storage'
import { type PlacementBroker, assignReplicasToBrokers } from '../cluster/replica-placement.ts'
import type { Scheduler } from '../group/scheduler.ts'
import type { Logger } from '../logger.ts'
import {
  type MetadataEvent, type MetadataStore, type PartitionAssignment, type PartitionState, type TopicMetadata, NO_LEADER, initialPartitionState,
  partitionStateOf
} from '../metadata/metadata-store.ts'
import { Partition, type ReplicaRole } from './partition.ts'
import { topicNameError, unifyCollisionChars } from './topic-name.ts'

/**
 * A metadata store call on behalf of a client request: a store that cannot be reached (etcd
 * down) becomes REQUEST_TIMED_OUT, which clients retry, instead of an unexpected error.
 */
async function storeCall<T> (call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    if (error instanceof KafkaProtocolError) throw error
    throw new KafkaProtocolError(ErrorCode.REQUEST_TIMED_OUT, `The cluster metadata store is unavailable: ${(error as Error).message}`)
  }
}

export const INTERNAL_TOPICS: ReadonlySet<string> = new Set(['__consumer_offsets', '__transaction_state'])

export class Topic {
  readonly name: string
  readonly topicId: string
  configs: Record<string, string>
  partitions: Partition[]

  constructor (meta: { name: string, topicId: string, configs: Record<string, string> }, partitions: Partition[]) {
    this.name = meta.name
    this.topicId = meta.topicId
    this.configs = meta.configs
    this.partitions = partitions
  }

  get internal (): boolean {
    return INTERNAL_TOPICS.has(this.name)
  }

  get replicationFactor (): number {
    const p = this.partitions[0]
    if (p === undefined) return 0
    return p.replicas.length - p.addingReplicas.length
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

/** What changed for a partition, told to the observer after the registry applied it. */
export interface PartitionTransition {
  partition: Partition
  previousRole: ReplicaRole
  previousLeader: number
  previousLeaderEpoch: number
}

export interface PartitionObserver {
  /** A partition's role, leader or leader epoch changed (or it was created or deleted: role 'none'). */
  onTransition (transition: PartitionTransition): void
  /** A partition kept its role and leader but its ISR or replicas changed. */
  onStateChange? (partition: Partition): void
}

export interface TopicRegistryOptions {
  store: MetadataStore
  logManager: LogManager
  nodeId: number
  /** Broker ids that can hold replicas (this one alone on a single node). */
  brokerIds: () => number[]
  /** Brokers with racks for rack-aware placement (default: brokerIds without racks). */
  placementBrokers?: () => PlacementBroker[]
  logConfigFor: (overrides: Record<string, string>) => LogConfig
  logger: Logger
  scheduler?: Scheduler
  clock?: () => number
  /** Deterministic placement for tests (Kafka picks both at random). */
  placement?: { startIndex?: number, replicaShift?: number }
}

export class TopicRegistry {
  readonly #options: TopicRegistryOptions
  readonly #byName = new Map<string, Topic>()
  readonly #byId = new Map<string, Topic>()
  /** Auto-creations in progress, so concurrent Metadata requests create a topic once. */
  readonly #creating = new Map<string, Promise<Topic>>()
  #observer: PartitionObserver | undefined
  #loaded = false

  constructor (options: TopicRegistryOptions) {
    this.#options = options
  }

  get nodeId (): number {
    return this.#options.nodeId
  }

  set observer (observer: PartitionObserver | undefined) {
    this.#observer = observer
  }

  /**
   * Installs the topics of a snapshot. Without one (unit tests over a local store) the registry
   * opens the store itself as the only broker.
   */
  async load (topics?: TopicMetadata[]): Promise<void> {
    if (this.#loaded) return
    this.#loaded = true
    let snapshot = topics
    if (snapshot === undefined) {
      const view = await this.#options.store.open({
        nodeId: this.#options.nodeId, rack: null, endpoints: [], incarnationId: randomUUID(), controlledShutdown: false
      }, async (events) => await this.apply(events))
      snapshot = view.topics
    }
    for (const meta of snapshot) this.#install(meta)
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

  /** The partition if this broker holds a replica of it (it has a log here). */
  partition (topic: string, index: number): Partition | undefined {
    const p = this.#byName.get(topic)?.partitions[index]
    return p?.hosted === true ? p : undefined
  }

  /** Any partition of a known topic, hosted here or not. */
  anyPartition (topic: string, index: number): Partition | undefined {
    return this.#byName.get(topic)?.partitions[index]
  }

  /** The partition if this broker leads it; else UNKNOWN_TOPIC_OR_PARTITION or NOT_LEADER_OR_FOLLOWER. */
  leaderPartition (topic: string, index: number): Partition | number {
    const p = this.#byName.get(topic)?.partitions[index]
    if (p === undefined) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    if (!p.isLeader || !p.hosted) return ErrorCode.NOT_LEADER_OR_FOLLOWER
    return p
  }

  /** Every partition this broker holds a replica of. */
  * hostedPartitions (): IterableIterator<Partition> {
    for (const t of this.#byName.values()) for (const p of t.partitions) if (p.hosted) yield p
  }

  // ---- changes from the store

  /** Applies changes from the metadata store, in order. */
  async apply (events: MetadataEvent[]): Promise<void> {
    for (const e of events) {
      switch (e.type) {
        case 'topic': {
          const existing = this.#byName.get(e.topic.name)
          if (existing !== undefined && existing.topicId !== e.topic.topicId) await this.#remove(existing)
          const current = this.#byName.get(e.topic.name)
          if (current === undefined) this.#install(e.topic)
          else this.#update(current, e.topic)
          break
        }
        case 'topic-deleted': {
          const topic = this.#byName.get(e.name)
          if (topic !== undefined && (e.topicId === '' || topic.topicId === e.topicId)) await this.#remove(topic)
          break
        }
        case 'partition': {
          const p = this.#byName.get(e.topic)?.partitions[e.partition]
          if (p !== undefined) await this.#applyState(p, e.state)
          break
        }
        default:
      }
    }
  }

  #install (meta: TopicMetadata): Topic {
    const existing = this.#byName.get(meta.name)
    if (existing !== undefined) return existing
    const topic = new Topic(meta, [])
    this.#byName.set(meta.name, topic)
    this.#byId.set(meta.topicId, topic)
    for (const a of meta.partitions) this.#addPartition(topic, a)
    return topic
  }

  #update (topic: Topic, meta: TopicMetadata): void {
    if (JSON.stringify(topic.configs) !== JSON.stringify(meta.configs)) {
      topic.configs = { ...meta.configs }
      const logConfig = this.#options.logConfigFor(topic.configs)
      for (const p of topic.partitions) if (p.hosted) p.log.config = logConfig
    }
    for (const a of meta.partitions) {
      const p = topic.partitions[a.partition]
      if (p === undefined) this.#addPartition(topic, a)
      else if (a.partitionEpoch > p.partitionEpoch || a.leaderEpoch > p.leaderEpoch) void this.#applyState(p, partitionStateOf(a))
    }
  }

  #addPartition (topic: Topic, a: PartitionAssignment): void {
    const state = partitionStateOf(a)
    const p = new Partition({
      topic: topic.name,
      index: a.partition,
      log: undefined,
      nodeId: this.#options.nodeId,
      state,
      ...(this.#options.scheduler === undefined ? {} : { scheduler: this.#options.scheduler }),
      ...(this.#options.clock === undefined ? {} : { clock: this.#options.clock })
    })
    topic.partitions[a.partition] = p
    void this.#applyState(p, state, true)
  }

  /** Moves a partition to the role its state gives this broker. */
  async #applyState (p: Partition, state: PartitionState, created = false): Promise<void> {
    if (!created && state.partitionEpoch < p.partitionEpoch) return
    const previousRole = p.role
    const previousLeader = p.leaderId
    const previousLeaderEpoch = p.leaderEpoch
    const self = this.#options.nodeId
    const hosts = state.replicas.includes(self)
    if (hosts && !p.hosted) {
      const topic = this.#byName.get(p.topic)
      p.attachLog(this.#options.logManager.getOrCreateLog(p.topic, p.index, this.#options.logConfigFor(topic?.configs ?? {})))
    }
    if (hosts && state.leader === self) {
      if (previousRole !== 'leader' || previousLeaderEpoch !== state.leaderEpoch || created) p.becomeLeader(state)
      else p.setState(state)
    } else if (hosts) {
      if (previousRole === 'follower' && previousLeader === state.leader && previousLeaderEpoch === state.leaderEpoch && !created) p.setState(state)
      else p.becomeFollower(state)
    } else {
      p.setState(state)
      if (previousRole !== 'none' || p.hosted) {
        p.stopReplica()
        if (p.hosted) {
          p.attachLog(undefined)
          this.#options.logger.info('Removing a replica this broker no longer holds', { topic: p.topic, partition: p.index })
          await this.#options.logManager.deleteLog(p.topic, p.index)
        }
      }
    }
    if (created || p.role !== previousRole || p.leaderId !== previousLeader || p.leaderEpoch !== previousLeaderEpoch) {
      this.#observer?.onTransition({ partition: p, previousRole: created ? 'none' : previousRole, previousLeader, previousLeaderEpoch })
    } else {
      this.#observer?.onStateChange?.(p)
    }
  }

  async #remove (topic: Topic): Promise<void> {
    this.#byName.delete(topic.name)
    this.#byId.delete(topic.topicId)
    for (const p of topic.partitions) {
      const previousRole = p.role
      p.stopReplica()
      p.close()
      this.#observer?.onTransition({ partition: p, previousRole, previousLeader: p.leaderId, previousLeaderEpoch: p.leaderEpoch })
      if (p.hosted) {
        p.attachLog(undefined)
        await this.#options.logManager.deleteLog(topic.name, p.index)
      }
    }
    this.#options.logger.info('Deleted topic', { topic: topic.name, topicId: topic.topicId })
  }

  // ---- changes made here

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
    return this.#place(spec.numPartitions, spec.replicationFactor, 0)
  }

  #place (count: number, replicationFactor: number, firstPartition: number): number[][] {
    const brokers = this.#options.placementBrokers?.() ?? this.#options.brokerIds().map((nodeId) => ({ nodeId, rack: null }))
    const fixed = this.#options.placement
    // One broker: nothing to spread (and the single node stays deterministic).
    const deterministic = brokers.length <= 1 ? { startIndex: 0, replicaShift: 0 } : {}
    return assignReplicasToBrokers(count, replicationFactor, brokers, { firstPartition, ...deterministic, ...fixed })
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

  /** Initial states: leader is the first live replica, the ISR every live replica. */
  #initialStates (assignment: number[][], first: number): PartitionAssignment[] {
    const live = new Set(this.#options.brokerIds())
    return assignment.map((replicas, i) => {
      const isr = replicas.filter((r) => live.has(r))
      const state = initialPartitionState(replicas, isr.length > 0 ? isr : replicas)
      if (isr.length === 0) state.leader = NO_LEADER
      return { ...state, partition: first + i }
    })
  }

  async create (spec: CreateTopicSpec): Promise<Topic> {
    const assignment = this.validateCreate(spec)
    const meta: TopicMetadata = {
      name: spec.name,
      topicId: randomUUID(),
      partitions: this.#initialStates(assignment, 0),
      configs: { ...spec.configs }
    }
    await storeCall(async () => await this.#options.store.createTopic(meta))
    // Read-your-writes normally installed it already; a lagging watch must not fail the request.
    const topic = this.#byName.get(spec.name) ?? this.#install(meta)
    this.#options.logger.info('Created topic', { topic: meta.name, topicId: meta.topicId, partitions: meta.partitions.length })
    return topic
  }

  /** Creates a topic with default settings unless it exists or is being created. */
  async autoCreate (name: string, numPartitions: number, replicationFactor: number): Promise<Topic> {
    const existing = this.#byName.get(name)
    if (existing !== undefined) return existing
    let pending = this.#creating.get(name)
    if (pending === undefined) {
      pending = this.create({ name, numPartitions, replicationFactor, configs: {} }).catch((error: unknown) => {
        // Another broker created it meanwhile.
        const created = this.#byName.get(name)
        if (created !== undefined && error instanceof KafkaProtocolError && error.code === ErrorCode.TOPIC_ALREADY_EXISTS) return created
        throw error
      }).finally(() => this.#creating.delete(name))
      this.#creating.set(name, pending)
    }
    return await pending
  }

  async delete (name: string): Promise<void> {
    const topic = this.#byName.get(name)
    if (topic === undefined) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.')
    await storeCall(async () => await this.#options.store.deleteTopic(name))
    if (this.#byName.get(name) === topic) await this.#remove(topic)
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
    return this.#place(count - current, topic.replicationFactor, current)
  }

  async addPartitions (name: string, count: number, assignments: number[][] | null): Promise<void> {
    const added = this.validateAddPartitions(name, count, assignments)
    const topic = this.#byName.get(name)!
    const start = topic.partitions.length
    const partitions = this.#initialStates(added, start)
    await storeCall(async () => await this.#options.store.addPartitions(name, partitions))
    if (topic.partitions.length < count && this.#byName.get(name) === topic) {
      for (const a of partitions) if (topic.partitions[a.partition] === undefined) this.#addPartition(topic, a)
    }
    this.#options.logger.info('Added partitions', { topic: name, partitions: count })
  }

  /** Replaces a topic's config overrides (already validated). */
  async setConfigs (name: string, configs: Record<string, string>): Promise<void> {
    const topic = this.#byName.get(name)
    if (topic === undefined) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.')
    await storeCall(async () => await this.#options.store.setTopicConfigs(name, configs))
    if (JSON.stringify(topic.configs) !== JSON.stringify(configs)) {
      topic.configs = { ...configs }
      const logConfig = this.#options.logConfigFor(topic.configs)
      for (const p of topic.partitions) if (p.hosted) p.log.config = logConfig
    }
  }

  /** Re-applies broker defaults to every log (after a broker-level config change). */
  refreshLogConfigs (): void {
    for (const topic of this.#byName.values()) {
      const logConfig = this.#options.logConfigFor(topic.configs)
      for (const p of topic.partitions) if (p.hosted) p.log.config = logConfig
    }
  }
}
