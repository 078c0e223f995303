/**
 * Cluster metadata shared by several brokers in one process: what etcd is to a real cluster,
 * kept in memory for tests (testkit's startCluster without etcd).
 *
 * `SharedMemoryMetadataCluster` is the "etcd": one per test cluster. Each broker gets its own
 * `SharedMemoryMetadataStore` from `cluster.store()`: a session, like one etcd client with its
 * lease. The semantics are EtcdMetadataStore's:
 *
 * - open() registers the broker; the registration exists while the session does. close() ends
 *   the session cleanly (registration removed, controller key released); kill() ends it as a
 *   crash would (the lease expiring): the same events, and the store refuses every later call.
 * - One campaigning session at a time holds the controller role; the controller epoch grows with
 *   every election (it is the cluster's revision at election, like the etcd key's create
 *   revision). When the holder's session ends or it resigns, the next candidate (in campaign
 *   order) is elected.
 * - Partition state changes only by compare-and-swap on partitionEpoch, optionally fenced by
 *   the controller epoch.
 * - Every change is delivered to every open session's listener asynchronously, in one global
 *   order, one batch at a time per session; the session that made a change resolves only once
 *   its own listener has seen it (read your writes). Other sessions may lag, as etcd watchers do.
 */
import { ErrorCode, KafkaProtocolError } from '@samsa/protocol'
import type { DynamicBrokerConfigs } from '../config/mod.ts'
import {
  type BrokerRegistration, type ControllerCandidate, type MetadataEvent, type MetadataListener, type MetadataSnapshot, type MetadataStore,
  type PartitionAssignment, type PartitionState, type ProducerIdBlock, type TopicMetadata, type WriteFence, normalizePartition, partitionStateOf
} from './metadata-store.ts'

interface ControllerHold {
  session: SharedMemoryMetadataStore
  nodeId: number
  epoch: number
}

export class SharedMemoryMetadataCluster {
  #clusterId: string | undefined
  readonly #topics = new Map<string, TopicMetadata>()
  readonly #brokers = new Map<number, { registration: BrokerRegistration, session: SharedMemoryMetadataStore }>()
  readonly #sessions = new Set<SharedMemoryMetadataStore>()
  readonly #candidates: SharedMemoryMetadataStore[] = []
  #controller: ControllerHold | undefined
  #clusterConfigs: Record<string, string> = {}
  readonly #brokerConfigs = new Map<number, Record<string, string>>()
  #nextProducerId = 0n
  /** Grows with every change: broker epochs and controller epochs come from it. */
  #revision = 0

  /** A new session (one per broker process start). */
  store (): SharedMemoryMetadataStore {
    return new SharedMemoryMetadataStore(this)
  }

  /** Node ids registered now. */
  get liveBrokers (): number[] {
    return [...this.#brokers.keys()].sort((a, b) => a - b)
  }

  get controllerId (): number {
    return this.#controller?.nodeId ?? -1
  }

  get controllerEpoch (): number {
    return this.#controller?.epoch ?? -1
  }

  /** A copy of a partition's stored state (tests inspect it). */
  partitionState (topic: string, partition: number): PartitionState | undefined {
    const p = this.#topics.get(topic)?.partitions[partition]
    return p === undefined ? undefined : partitionStateOf(p)
  }

  topic (name: string): TopicMetadata | undefined {
    const t = this.#topics.get(name)
    return t === undefined ? undefined : structuredClone(t)
  }

  // ---- used by the sessions

  clusterId (proposed: string): string {
    this.#clusterId ??= proposed
    return this.#clusterId
  }

  register (session: SharedMemoryMetadataStore, registration: Omit<BrokerRegistration, 'brokerEpoch'>): { snapshot: MetadataSnapshot, delivered: Promise<void> } {
    this.#sessions.add(session)
    const stored: BrokerRegistration = { ...structuredClone(registration), brokerEpoch: ++this.#revision }
    // The newest process with a node id wins (its older incarnation is dead or being replaced).
    this.#brokers.set(stored.nodeId, { registration: stored, session })
    const snapshot: MetadataSnapshot = {
      clusterId: this.#clusterId ?? '',
      topics: [...this.#topics.values()].map((t) => structuredClone(t)),
      brokers: [...this.#brokers.values()].map((b) => structuredClone(b.registration)),
      controllerId: this.controllerId,
      brokerConfigs: this.#configsOf(stored.nodeId)
    }
    // The others hear about it; this session's snapshot already has it.
    const delivered = this.#publish(session, () => [{ type: 'broker', broker: structuredClone(stored) }], session)
    return { snapshot, delivered }
  }

  updateRegistration (session: SharedMemoryMetadataStore, change: (r: BrokerRegistration) => void): Promise<void> {
    const entry = [...this.#brokers.values()].find((b) => b.session === session)
    if (entry === undefined) return Promise.resolve()
    change(entry.registration)
    return this.#publish(session, () => [{ type: 'broker', broker: structuredClone(entry.registration) }])
  }

  /** Ends a session: its registration and controller role go, the next candidate is elected. */
  endSession (session: SharedMemoryMetadataStore): Promise<void> {
    this.#sessions.delete(session)
    const index = this.#candidates.indexOf(session)
    if (index >= 0) this.#candidates.splice(index, 1)
    const events: MetadataEvent[] = []
    for (const [nodeId, b] of this.#brokers) {
      if (b.session !== session) continue
      this.#brokers.delete(nodeId)
      this.#revision++
      events.push({ type: 'broker-gone', nodeId })
    }
    if (this.#controller?.session === session) {
      this.#controller = undefined
      this.#revision++
      events.push({ type: 'controller', nodeId: -1 })
    }
    const delivered = events.length === 0 ? Promise.resolve() : this.#publish(undefined, () => events)
    this.#maybeElect()
    return delivered
  }

  createTopic (session: SharedMemoryMetadataStore, topic: TopicMetadata): Promise<void> {
    if (this.#topics.has(topic.name)) throw new KafkaProtocolError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${topic.name}' already exists.`)
    const stored = structuredClone({ ...topic, partitions: topic.partitions.map(normalizePartition) })
    this.#topics.set(topic.name, stored)
    this.#revision++
    return this.#publish(session, () => [{ type: 'topic', topic: structuredClone(stored) }])
  }

  deleteTopic (session: SharedMemoryMetadataStore, name: string): Promise<void> {
    const topic = this.#topics.get(name)
    if (topic === undefined) throw unknownTopic()
    this.#topics.delete(name)
    this.#revision++
    return this.#publish(session, () => [{ type: 'topic-deleted', name, topicId: topic.topicId }])
  }

  setTopicConfigs (session: SharedMemoryMetadataStore, name: string, configs: Record<string, string>): Promise<void> {
    const topic = this.#topics.get(name)
    if (topic === undefined) throw unknownTopic()
    topic.configs = { ...configs }
    this.#revision++
    return this.#publish(session, () => [{ type: 'topic', topic: structuredClone(topic) }])
  }

  addPartitions (session: SharedMemoryMetadataStore, name: string, partitions: PartitionAssignment[]): Promise<void> {
    const topic = this.#topics.get(name)
    if (topic === undefined) throw unknownTopic()
    for (const [i, p] of partitions.entries()) {
      if (p.partition !== topic.partitions.length + i) throw new KafkaProtocolError(ErrorCode.INVALID_PARTITIONS, `Partition ${p.partition} of '${name}' is out of sequence.`)
    }
    topic.partitions.push(...partitions.map(normalizePartition))
    this.#revision++
    return this.#publish(session, () => [{ type: 'topic', topic: structuredClone(topic) }])
  }

  alterPartition (session: SharedMemoryMetadataStore, topic: string, partition: number, expected: number, next: PartitionState, fence?: WriteFence): Promise<boolean> {
    const current = this.#topics.get(topic)?.partitions[partition]
    if (current === undefined || current.partitionEpoch !== expected) return Promise.resolve(false)
    if (fence?.controllerEpoch !== undefined && this.#controller?.epoch !== fence.controllerEpoch) return Promise.resolve(false)
    Object.assign(current, structuredClone(next), { partitionEpoch: expected + 1 })
    this.#revision++
    const state = partitionStateOf(current)
    return this.#publish(session, () => [{ type: 'partition', topic, partition, state: structuredClone(state) }]).then(() => true)
  }

  putDynamicBrokerConfigs (session: SharedMemoryMetadataStore, nodeId: number, configs: DynamicBrokerConfigs): Promise<void> {
    this.#clusterConfigs = { ...(configs.clusterDefault ?? {}) }
    this.#brokerConfigs.set(nodeId, { ...(configs.broker ?? {}) })
    this.#revision++
    // Each broker hears its own per-broker configs with the cluster-wide ones.
    return this.#publish(session, (s) => [{ type: 'broker-configs', configs: this.#configsOf(s.nodeId) }])
  }

  dynamicBrokerConfigs (nodeId: number): DynamicBrokerConfigs {
    return this.#configsOf(nodeId)
  }

  allocateProducerIdBlock (size: number): ProducerIdBlock {
    const firstProducerId = this.#nextProducerId
    this.#nextProducerId += BigInt(size)
    this.#revision++
    return { firstProducerId, size }
  }

  campaign (session: SharedMemoryMetadataStore): void {
    if (!this.#candidates.includes(session)) this.#candidates.push(session)
    this.#maybeElect()
  }

  /** Gives up the role if `session` holds it; it stops campaigning. */
  resign (session: SharedMemoryMetadataStore): Promise<void> {
    const index = this.#candidates.indexOf(session)
    if (index >= 0) this.#candidates.splice(index, 1)
    if (this.#controller?.session !== session) return Promise.resolve()
    this.#controller = undefined
    this.#revision++
    const delivered = this.#publish(undefined, () => [{ type: 'controller', nodeId: -1 }])
    this.#maybeElect()
    return delivered
  }

  #maybeElect (): void {
    if (this.#controller !== undefined) return
    const session = this.#candidates.find((s) => this.#sessions.has(s) && s.nodeId !== undefined && this.#brokers.get(s.nodeId)?.session === s)
    if (session === undefined) return
    const hold: ControllerHold = { session, nodeId: session.nodeId!, epoch: ++this.#revision }
    this.#controller = hold
    const delivered = this.#publish(session, () => [{ type: 'controller', nodeId: hold.nodeId }])
    // Like the etcd store, the new controller acts once its own view shows the election.
    void delivered.then(() => {
      if (this.#controller === hold) session.controllerElected(hold.epoch)
    })
  }

  #configsOf (nodeId: number | undefined): DynamicBrokerConfigs {
    const broker = nodeId === undefined ? undefined : this.#brokerConfigs.get(nodeId)
    const cluster = Object.keys(this.#clusterConfigs).length > 0 || this.#brokerConfigs.size > 0 ? { ...this.#clusterConfigs } : undefined
    return {
      ...(broker === undefined ? {} : { broker: { ...broker } }),
      ...(cluster === undefined ? {} : { clusterDefault: cluster })
    }
  }

  /**
   * Queues `events` (computed per session) for every open session; resolves when `waitFor` has
   * delivered them (at once without one). `skip` does not hear them.
   */
  #publish (waitFor: SharedMemoryMetadataStore | undefined, events: (session: SharedMemoryMetadataStore) => MetadataEvent[], skip?: SharedMemoryMetadataStore): Promise<void> {
    let own: Promise<void> | undefined
    for (const s of this.#sessions) {
      if (s === skip) continue
      const d = s.enqueue(events(s))
      if (s === waitFor) own = d
    }
    // Nobody waits for the other sessions: one blocked listener must not stall the cluster.
    return own ?? Promise.resolve()
  }
}

function unknownTopic (): KafkaProtocolError {
  return new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.')
}

/** One broker's session with a SharedMemoryMetadataCluster. */
export class SharedMemoryMetadataStore implements MetadataStore {
  readonly shared = true
  readonly cluster: SharedMemoryMetadataCluster
  #nodeId: number | undefined
  #listener: MetadataListener | undefined
  #delivering: Promise<void> = Promise.resolve()
  #candidate: ControllerCandidate | undefined
  #controllerEpoch: number | undefined
  #ended = false

  constructor (cluster: SharedMemoryMetadataCluster) {
    this.cluster = cluster
  }

  get nodeId (): number | undefined {
    return this.#nodeId
  }

  /** Delivers one batch after the previous ones (called by the cluster). */
  enqueue (events: MetadataEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve()
    const run = this.#delivering.then(async () => {
      const listener = this.#listener
      if (listener !== undefined && !this.#ended) await listener(events)
    })
    // A failing listener must not stop later deliveries (the broker logs its own errors).
    this.#delivering = run.catch(() => undefined)
    return this.#delivering
  }

  #check (): void {
    if (this.#ended) throw new Error('The metadata store session has ended')
  }

  async clusterId (proposed: string): Promise<string> {
    this.#check()
    return await Promise.resolve(this.cluster.clusterId(proposed))
  }

  async open (registration: Omit<BrokerRegistration, 'brokerEpoch'>, listener: MetadataListener): Promise<MetadataSnapshot> {
    this.#check()
    this.#nodeId = registration.nodeId
    this.#listener = listener
    const { snapshot } = this.cluster.register(this, registration)
    return await Promise.resolve(snapshot)
  }

  async createTopic (topic: TopicMetadata): Promise<void> {
    this.#check()
    await this.cluster.createTopic(this, topic)
  }

  async deleteTopic (name: string): Promise<void> {
    this.#check()
    await this.cluster.deleteTopic(this, name)
  }

  async setTopicConfigs (name: string, configs: Record<string, string>): Promise<void> {
    this.#check()
    await this.cluster.setTopicConfigs(this, name, configs)
  }

  async addPartitions (name: string, partitions: PartitionAssignment[]): Promise<void> {
    this.#check()
    await this.cluster.addPartitions(this, name, partitions)
  }

  async alterPartition (topic: string, partition: number, expectedPartitionEpoch: number, next: PartitionState, fence?: WriteFence): Promise<boolean> {
    this.#check()
    return await this.cluster.alterPartition(this, topic, partition, expectedPartitionEpoch, next, fence)
  }

  async putDynamicBrokerConfigs (configs: DynamicBrokerConfigs): Promise<void> {
    this.#check()
    await this.cluster.putDynamicBrokerConfigs(this, this.#nodeId ?? -1, configs)
  }

  async loadDynamicBrokerConfigs (): Promise<DynamicBrokerConfigs> {
    this.#check()
    return await Promise.resolve(this.cluster.dynamicBrokerConfigs(this.#nodeId ?? -1))
  }

  async allocateProducerIdBlock (size: number): Promise<ProducerIdBlock> {
    this.#check()
    return await Promise.resolve(this.cluster.allocateProducerIdBlock(size))
  }

  async requestControlledShutdown (): Promise<void> {
    this.#check()
    await this.cluster.updateRegistration(this, (r) => { r.controlledShutdown = true })
  }

  campaign (candidate: ControllerCandidate): void {
    this.#check()
    this.#candidate = candidate
    this.cluster.campaign(this)
  }

  /** The cluster elected this session (its view already shows it). */
  controllerElected (epoch: number): void {
    if (this.#ended || this.#candidate === undefined) return
    this.#controllerEpoch = epoch
    this.#candidate.elected(epoch)
  }

  async resign (): Promise<void> {
    const candidate = this.#candidate
    this.#candidate = undefined
    if (this.#ended) return
    const held = this.#controllerEpoch !== undefined
    this.#controllerEpoch = undefined
    if (held) candidate?.resigned()
    await this.cluster.resign(this)
  }

  async close (): Promise<void> {
    if (this.#ended) return
    await this.resign()
    this.#ended = true
    await this.cluster.endSession(this)
    await this.#delivering
    this.#listener = undefined
  }

  /** Ends the session as a crash would: no resignation first, nothing more is delivered. */
  async kill (): Promise<void> {
    if (this.#ended) return
    this.#ended = true
    const candidate = this.#candidate
    this.#candidate = undefined
    if (this.#controllerEpoch !== undefined) candidate?.resigned()
    this.#controllerEpoch = undefined
    this.#listener = undefined
    await this.cluster.endSession(this)
  }
}
