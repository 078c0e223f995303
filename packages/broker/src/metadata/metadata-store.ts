/**
 * Cluster metadata behind one interface: which brokers are alive, which one is the controller,
 * the topics (id, config overrides, partitions) and each partition's state (replicas, leader,
 * leader epoch, ISR, partition epoch), dynamic broker configs and producer-id blocks.
 *
 * Two kinds of implementation:
 *
 * - local (`shared = false`): FileMetadataStore (`<data>/samsa-metadata.json`, the single-node
 *   default) and MemoryMetadataStore (tests). The cluster is this broker alone: it is always
 *   registered, always the controller, and every change is delivered to the listener before the
 *   call that made it returns.
 * - shared (`shared = true`): EtcdMetadataStore (etcd-metadata-store.ts). Brokers register
 *   under leases (a broker that dies disappears when its lease expires), one broker at a time
 *   holds the controller key, and every broker watches every change.
 *
 * Rules every implementation keeps:
 *
 * - Events reach the listener in the store's order, one call at a time (the next call waits for
 *   the promise the listener returned).
 * - A mutation resolves only after its own change has been delivered to this broker's listener
 *   (read your writes): after `await createTopic(...)` the topic is in this broker's view.
 * - Partition state changes only by compare-and-swap on `partitionEpoch` (alterPartition):
 *   a writer that read an old state loses, re-reads (the newer state arrives as an event) and
 *   decides again. `partitionEpoch` grows by one on every change, `leaderEpoch` on every change of
 *   leader (Kafka's PartitionRegistration).
 * - Producer-id blocks never overlap, even across crashes.
 *
 * File store format (`<data>/samsa-metadata.json`, written atomically on every change):
 *
 *     { "version": 1, "topics": [ { "name": "orders", "topicId": "<uuid>",
 *         "partitions": [ { "partition": 0, "replicas": [1], "leaderEpoch": 0,
 *                           "leader": 1, "isr": [1], "partitionEpoch": 0 } ],
 *         "configs": { "retention.ms": "60000" } } ],
 *       "brokerConfigs": { "broker": { ... }, "clusterDefault": { ... } },
 *       "nextProducerId": "2000" }
 *
 * `leader`, `isr` and `partitionEpoch` were added later: files without them load with the first
 * replica as leader, every replica in sync and partition epoch 0. `nextProducerId` (a decimal
 * string: producer ids are int64) is the first producer id not handed out yet:
 * allocateProducerIdBlock moves it past each block before the block is used, so no id is ever
 * given out twice, even across crashes (an unused rest of a block is skipped). A crash leaves the
 * previous or the new file (writeFileAtomic). Changes are serialised.
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { ErrorCode, KafkaProtocolError } from '@samsa/protocol'
import type { FileSystem } from '@samsa/storage'
import type { DynamicBrokerConfigs } from '../config/mod.ts'

/** A partition's replication state (Kafka's PartitionRegistration). */
export interface PartitionState {
  /** The assigned replicas, preferred leader first (during a reassignment: old and new). */
  replicas: number[]
  /** The leader's node id; -1 when no replica can lead (every ISR member is offline). */
  leader: number
  leaderEpoch: number
  /** In-sync replicas. When the last one goes offline it stays here (the partition is offline). */
  isr: number[]
  /** Bumped by every change of this state: the compare-and-swap version. */
  partitionEpoch: number
  /** A reassignment in progress (KIP-455): replicas being added and being removed. */
  addingReplicas: number[]
  removingReplicas: number[]
}

export interface PartitionAssignment extends PartitionState {
  partition: number
}

export interface TopicMetadata {
  name: string
  topicId: string
  partitions: PartitionAssignment[]
  /** Topic-level config overrides, as strings (Kafka's form). */
  configs: Record<string, string>
}

export interface BrokerEndpoint {
  listenerName: string
  host: string
  port: number
  securityProtocol: string
}

/** A live broker (Kafka's BrokerRegistration). */
export interface BrokerRegistration {
  nodeId: number
  rack: string | null
  endpoints: BrokerEndpoint[]
  /** Random per process start: a new value means the broker restarted (its old incarnation died). */
  incarnationId: string
  /** Set while the broker stops and wants its leaderships moved elsewhere (controlled shutdown). */
  controlledShutdown: boolean
  /** Set by the store: grows with every registration (etcd: the key's create revision). */
  brokerEpoch: number
}

export type MetadataEvent =
  /** A topic was created or changed (configs, added partitions); carries every partition. */
  | { type: 'topic', topic: TopicMetadata }
  | { type: 'topic-deleted', name: string, topicId: string }
  | { type: 'partition', topic: string, partition: number, state: PartitionState }
  /** A broker registered or changed its registration. */
  | { type: 'broker', broker: BrokerRegistration }
  /** A broker's registration is gone (it stopped, or its lease expired). */
  | { type: 'broker-gone', nodeId: number }
  /** The controller changed (-1: none right now). */
  | { type: 'controller', nodeId: number }
  | { type: 'broker-configs', configs: DynamicBrokerConfigs }

export type MetadataListener = (events: MetadataEvent[]) => void | Promise<void>

export interface MetadataSnapshot {
  clusterId: string
  topics: TopicMetadata[]
  brokers: BrokerRegistration[]
  controllerId: number
  brokerConfigs: DynamicBrokerConfigs
}

export interface ProducerIdBlock {
  firstProducerId: bigint
  size: number
}

/** Callbacks of a controller candidacy (campaign). */
export interface ControllerCandidate {
  /** This broker became the controller; `epoch` grows with every election. */
  elected (epoch: number): void
  /** It stopped being the controller (its session was lost or the store closed). */
  resigned (): void
}

/** Fencing for alterPartition: the write succeeds only while this controller epoch holds. */
export interface WriteFence {
  controllerEpoch?: number
}

export interface MetadataStore {
  /** false: this broker alone (file, memory); true: brokers share it (etcd). */
  readonly shared: boolean
  /**
   * The cluster id: `proposed` when the store has none yet (it is stored), else the stored one.
   */
  clusterId (proposed: string): Promise<string>
  /**
   * Registers this broker and starts delivering changes to `listener`; returns the state the
   * first events apply to. Call once.
   */
  open (registration: Omit<BrokerRegistration, 'brokerEpoch'>, listener: MetadataListener): Promise<MetadataSnapshot>
  /** Creates a topic with its partitions; KafkaProtocolError TOPIC_ALREADY_EXISTS if the name is taken. */
  createTopic (topic: TopicMetadata): Promise<void>
  /** Deletes a topic and its partitions; UNKNOWN_TOPIC_OR_PARTITION if it does not exist. */
  deleteTopic (name: string): Promise<void>
  setTopicConfigs (name: string, configs: Record<string, string>): Promise<void>
  /** Appends partitions (numbered after the existing ones) to a topic. */
  addPartitions (name: string, partitions: PartitionAssignment[]): Promise<void>
  /**
   * Compare-and-swap of a partition's state: writes `next` (whose partitionEpoch must be
   * `expectedPartitionEpoch + 1`) if the stored state still has `expectedPartitionEpoch` (and,
   * with a fence, while that controller epoch holds). Resolves true when written (and delivered),
   * false when the state had moved on or the topic is gone.
   */
  alterPartition (topic: string, partition: number, expectedPartitionEpoch: number, next: PartitionState, fence?: WriteFence): Promise<boolean>
  /** Replaces this broker's and the cluster-wide dynamic broker configs. */
  putDynamicBrokerConfigs (configs: DynamicBrokerConfigs): Promise<void>
  loadDynamicBrokerConfigs (): Promise<DynamicBrokerConfigs>
  /**
   * Reserves `size` producer ids no one has had (Kafka's AllocateProducerIds): durable before
   * it resolves, so ids are unique across restarts and brokers.
   */
  allocateProducerIdBlock (size: number): Promise<ProducerIdBlock>
  /** Marks this broker's registration as shutting down (controlled shutdown). */
  requestControlledShutdown (): Promise<void>
  /** Competes for the controller role until close(); `candidate` hears the outcome (possibly many times). */
  campaign (candidate: ControllerCandidate): void
  /** Gives up the controller role now, if held (a clean shutdown hands it over at once). */
  resign (): Promise<void>
  /** Stops watching, removes this broker's registration and releases resources. */
  close (): Promise<void>
  /**
   * Ends the session as a crash would (tests' in-process "kill"): no resignation or goodbye; a
   * shared store's registration disappears as when the process dies (etcd: when the lease expires).
   */
  kill? (): Promise<void>
}

/** A random id for one run of a broker process (tells a restarted broker from its old incarnation). */
export function newIncarnationId (): string {
  return randomBytes(12).toString('base64url')
}

export const NO_LEADER = -1

/** A partition state as first written (leader = first replica, every replica in sync). */
export function initialPartitionState (replicas: number[], isr: number[] = replicas): PartitionState {
  return {
    replicas: [...replicas],
    leader: isr[0] ?? NO_LEADER,
    leaderEpoch: 0,
    isr: [...isr],
    partitionEpoch: 0,
    addingReplicas: [],
    removingReplicas: []
  }
}

/** Fills in fields older metadata files do not have. */
export function normalizePartition (p: Partial<PartitionAssignment> & { partition: number, replicas: number[] }): PartitionAssignment {
  return {
    partition: p.partition,
    replicas: [...p.replicas],
    leader: p.leader ?? p.replicas[0] ?? NO_LEADER,
    leaderEpoch: p.leaderEpoch ?? 0,
    isr: [...(p.isr ?? p.replicas)],
    partitionEpoch: p.partitionEpoch ?? 0,
    addingReplicas: [...(p.addingReplicas ?? [])],
    removingReplicas: [...(p.removingReplicas ?? [])]
  }
}

export function partitionStateOf (p: PartitionAssignment): PartitionState {
  return {
    replicas: [...p.replicas],
    leader: p.leader,
    leaderEpoch: p.leaderEpoch,
    isr: [...p.isr],
    partitionEpoch: p.partitionEpoch,
    addingReplicas: [...p.addingReplicas],
    removingReplicas: [...p.removingReplicas]
  }
}

function topicExists (name: string): KafkaProtocolError {
  return new KafkaProtocolError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`)
}

function unknownTopic (): KafkaProtocolError {
  return new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.')
}

/**
 * The one-broker cluster kept in this process: the base of the file and memory stores. Every
 * change is applied, persisted (`persist`), then delivered to the listener before the call returns.
 */
abstract class LocalMetadataStore implements MetadataStore {
  readonly shared = false
  protected readonly topics = new Map<string, TopicMetadata>()
  protected brokerConfigs: DynamicBrokerConfigs = {}
  protected nextProducerId = 0n
  #registration: BrokerRegistration | undefined
  #listener: MetadataListener | undefined
  #delivering: Promise<void> = Promise.resolve()
  #brokerEpoch = 0

  /** Reads what is stored (once, before the first use). */
  protected abstract ensureLoaded (): Promise<void>
  /** Makes the current state durable. */
  protected abstract persist (): Promise<void>

  async clusterId (proposed: string): Promise<string> {
    return await Promise.resolve(proposed)
  }

  async open (registration: Omit<BrokerRegistration, 'brokerEpoch'>, listener: MetadataListener): Promise<MetadataSnapshot> {
    await this.ensureLoaded()
    this.#registration = { ...registration, brokerEpoch: ++this.#brokerEpoch }
    this.#listener = listener
    return {
      clusterId: '',
      topics: [...this.topics.values()].map((t) => structuredClone(t)),
      brokers: [structuredClone(this.#registration)],
      controllerId: registration.nodeId,
      brokerConfigs: structuredClone(this.brokerConfigs)
    }
  }

  /** Snapshot of the topics without registering (TopicRegistry.load() in unit tests). */
  async loadTopics (): Promise<TopicMetadata[]> {
    await this.ensureLoaded()
    return [...this.topics.values()].map((t) => structuredClone(t))
  }

  async createTopic (topic: TopicMetadata): Promise<void> {
    await this.ensureLoaded()
    if (this.topics.has(topic.name)) throw topicExists(topic.name)
    const stored = structuredClone({ ...topic, partitions: topic.partitions.map(normalizePartition) })
    this.topics.set(topic.name, stored)
    await this.#commit([{ type: 'topic', topic: structuredClone(stored) }])
  }

  async deleteTopic (name: string): Promise<void> {
    await this.ensureLoaded()
    const topic = this.topics.get(name)
    if (topic === undefined) throw unknownTopic()
    this.topics.delete(name)
    await this.#commit([{ type: 'topic-deleted', name, topicId: topic.topicId }])
  }

  async setTopicConfigs (name: string, configs: Record<string, string>): Promise<void> {
    await this.ensureLoaded()
    const topic = this.topics.get(name)
    if (topic === undefined) throw unknownTopic()
    topic.configs = { ...configs }
    await this.#commit([{ type: 'topic', topic: structuredClone(topic) }])
  }

  async addPartitions (name: string, partitions: PartitionAssignment[]): Promise<void> {
    await this.ensureLoaded()
    const topic = this.topics.get(name)
    if (topic === undefined) throw unknownTopic()
    for (const [i, p] of partitions.entries()) {
      if (p.partition !== topic.partitions.length + i) throw new KafkaProtocolError(ErrorCode.INVALID_PARTITIONS, `Partition ${p.partition} of '${name}' is out of sequence.`)
    }
    topic.partitions.push(...partitions.map(normalizePartition))
    await this.#commit([{ type: 'topic', topic: structuredClone(topic) }])
  }

  async alterPartition (topic: string, partition: number, expectedPartitionEpoch: number, next: PartitionState): Promise<boolean> {
    await this.ensureLoaded()
    const current = this.topics.get(topic)?.partitions[partition]
    if (current === undefined || current.partitionEpoch !== expectedPartitionEpoch) return false
    Object.assign(current, structuredClone(next), { partitionEpoch: expectedPartitionEpoch + 1 })
    await this.#commit([{ type: 'partition', topic, partition, state: partitionStateOf(current) }])
    return true
  }

  async loadDynamicBrokerConfigs (): Promise<DynamicBrokerConfigs> {
    await this.ensureLoaded()
    return structuredClone(this.brokerConfigs)
  }

  async putDynamicBrokerConfigs (configs: DynamicBrokerConfigs): Promise<void> {
    await this.ensureLoaded()
    this.brokerConfigs = structuredClone(configs)
    await this.#commit([{ type: 'broker-configs', configs: structuredClone(configs) }])
  }

  async allocateProducerIdBlock (size: number): Promise<ProducerIdBlock> {
    await this.ensureLoaded()
    const firstProducerId = this.nextProducerId
    this.nextProducerId += BigInt(size)
    await this.persist()
    return { firstProducerId, size }
  }

  async requestControlledShutdown (): Promise<void> {
    if (this.#registration === undefined) return
    this.#registration.controlledShutdown = true
    await this.#deliver([{ type: 'broker', broker: structuredClone(this.#registration) }])
  }

  campaign (candidate: ControllerCandidate): void {
    // The only broker is the controller, from the start.
    candidate.elected(1)
  }

  async resign (): Promise<void> {
    await Promise.resolve()
  }

  async close (): Promise<void> {
    await this.#delivering
    this.#listener = undefined
  }

  async #commit (events: MetadataEvent[]): Promise<void> {
    await this.persist()
    await this.#deliver(events)
  }

  async #deliver (events: MetadataEvent[]): Promise<void> {
    const listener = this.#listener
    if (listener === undefined) return
    const run = this.#delivering.then(async () => await listener(events))
    this.#delivering = run.catch(() => undefined)
    await run
  }
}

interface FileFormat {
  version: 1
  topics: TopicMetadata[]
  brokerConfigs?: DynamicBrokerConfigs
  nextProducerId?: string
}

export const METADATA_FILE = 'samsa-metadata.json'

export class FileMetadataStore extends LocalMetadataStore {
  readonly path: string
  readonly #fs: FileSystem
  #loaded = false
  #writing: Promise<void> = Promise.resolve()

  constructor (fs: FileSystem, dataDir: string) {
    super()
    this.#fs = fs
    this.path = join(dataDir, METADATA_FILE)
  }

  protected async ensureLoaded (): Promise<void> {
    if (this.#loaded) return
    this.#loaded = true
    this.topics.clear()
    if (this.#fs.exists(this.path)) {
      const parsed = JSON.parse(this.#fs.readFile(this.path).toString('utf8')) as FileFormat
      if (parsed.version !== 1 || !Array.isArray(parsed.topics)) {
        throw new Error(`Unsupported metadata file '${this.path}' (version ${String(parsed.version)})`)
      }
      for (const t of parsed.topics) this.topics.set(t.name, { ...t, partitions: t.partitions.map(normalizePartition) })
      this.brokerConfigs = parsed.brokerConfigs ?? {}
      this.nextProducerId = BigInt(parsed.nextProducerId ?? '0')
    }
    await Promise.resolve()
  }

  override async close (): Promise<void> {
    await super.close()
    await this.#writing
  }

  protected async persist (): Promise<void> {
    const data: FileFormat = {
      version: 1, topics: [...this.topics.values()], brokerConfigs: this.brokerConfigs, nextProducerId: String(this.nextProducerId)
    }
    const bytes = Buffer.from(JSON.stringify(data, null, 2) + '\n')
    const write = this.#writing.then(async () => await this.#fs.writeFileAtomic(this.path, bytes))
    this.#writing = write.catch(() => undefined)
    await write
  }
}

/** A store that keeps nothing on disk (the in-process test broker's in-memory option). */
export class MemoryMetadataStore extends LocalMetadataStore {
  protected async ensureLoaded (): Promise<void> {
    await Promise.resolve()
  }

  protected async persist (): Promise<void> {
    await Promise.resolve()
  }
}
