/**
 * This broker's side of replication (Kafka's ReplicaManager, data plane only): it hears every
 * partition role change the topic registry makes from metadata events and
 *
 * - as follower: hands the partition to the fetcher of its leader's broker (replica-fetcher.ts),
 *   which truncates the log to where it agrees with the leader and then copies the leader's log;
 * - as leader: records each follower's fetch position (the Fetch handler calls
 *   `recordFollowerFetch`), which advances the high watermark (partition.ts) and adds a follower
 *   that caught up to the ISR; every `replica.lag.time.max.ms / 2` it removes followers that have
 *   not caught up for `replica.lag.time.max.ms` (Kafka's isr-expiration task). ISR changes are
 *   written to the metadata store by compare-and-swap on the partition epoch (Kafka's
 *   AlterPartition): a leader that was replaced meanwhile loses the swap and changes nothing;
 * - tells the coordinators (leadership listeners per topic: `__consumer_offsets`,
 *   `__transaction_state`) when this broker starts or stops leading one of their partitions, so
 *   they load or drop its state (Kafka's onLeadershipChange callbacks).
 */
import type { BrokerConfig } from '../config/mod.ts'
import type { Logger } from '../logger.ts'
import type { MetadataStore, PartitionState } from '../metadata/metadata-store.ts'
import { NO_LEADER } from '../metadata/metadata-store.ts'
import type { Partition } from '../topics/partition.ts'
import type { PartitionObserver, PartitionTransition, TopicRegistry } from '../topics/topic-registry.ts'
import { type BrokerAddress, BrokerChannel } from './broker-channel.ts'
import { type ReplicaFetcherConfig, ReplicaFetcher } from './replica-fetcher.ts'

export interface ReplicationConfig {
  /** `replica.lag.time.max.ms` */
  replicaLagTimeMaxMs: number
  /** `replica.socket.timeout.ms` */
  socketTimeoutMs: number
  fetcher: ReplicaFetcherConfig
}

export function replicationConfigFrom (config: BrokerConfig): ReplicationConfig {
  const int = (name: string, fallback: number): number => config.getInt(name) ?? fallback
  const maxWaitMs = int('replica.fetch.wait.max.ms', 500)
  return {
    replicaLagTimeMaxMs: config.getLong('replica.lag.time.max.ms') ?? 30000,
    // The socket timeout must outlast a fetch held for max.wait (Kafka requires it too).
    socketTimeoutMs: Math.max(int('replica.socket.timeout.ms', 30000), maxWaitMs + 1000),
    fetcher: {
      maxWaitMs,
      minBytes: int('replica.fetch.min.bytes', 1),
      maxBytes: int('replica.fetch.max.bytes', 1048576),
      responseMaxBytes: int('replica.fetch.response.max.bytes', 10485760),
      backoffMs: int('replica.fetch.backoff.ms', 1000)
    }
  }
}

/** What the replica manager needs to know about the other brokers. */
export interface BrokerDirectory {
  /** Where `nodeId` takes inter-broker requests, or undefined while it is not registered. */
  address (nodeId: number): BrokerAddress | undefined
  /** Whether `nodeId` may join an ISR: registered and not shutting down (Kafka's isReplicaIsrEligible). */
  isrEligible (nodeId: number): boolean
  /** This broker's epoch (from its registration). */
  brokerEpoch (): number
}

/** A coordinator that keeps state for the partitions of one topic this broker leads. */
export interface LeadershipListener {
  /** This broker became leader of `partition` in `leaderEpoch`: load its state. */
  onElection (partition: number, leaderEpoch: number): void
  /** It stopped leading `partition`: drop its state (requests get NOT_COORDINATOR). */
  onResignation (partition: number, leaderEpoch: number): void
}

export interface ReplicaManagerOptions {
  nodeId: number
  topics: TopicRegistry
  store: MetadataStore
  brokers: BrokerDirectory
  config: ReplicationConfig
  logger: Logger
  clock?: () => number
}

export class ReplicaManager implements PartitionObserver {
  readonly nodeId: number
  readonly config: ReplicationConfig
  readonly #options: ReplicaManagerOptions
  readonly #logger: Logger
  readonly #clock: () => number
  readonly #fetchers = new Map<number, ReplicaFetcher>()
  readonly #listeners = new Map<string, LeadershipListener>()
  #isrTimer: NodeJS.Timeout | undefined
  #running = false
  /** ISR changes written (expansions and shrinks), for tests and metrics. */
  isrChanges = 0

  constructor (options: ReplicaManagerOptions) {
    this.nodeId = options.nodeId
    this.config = options.config
    this.#options = options
    this.#logger = options.logger
    this.#clock = options.clock ?? Date.now
  }

  /**
   * Starts fetching for the partitions this broker follows now (transitions before start are
   * picked up here) and the ISR expiration task.
   */
  start (): void {
    if (this.#running) return
    this.#running = true
    for (const p of this.#options.topics.hostedPartitions()) if (p.role === 'follower') this.#follow(p)
    for (const f of this.#fetchers.values()) f.start()
    const interval = Math.max(10, Math.floor(this.config.replicaLagTimeMaxMs / 2))
    this.#isrTimer = setInterval(() => this.#maybeShrinkIsr(), interval)
    this.#isrTimer.unref()
  }

  async stop (): Promise<void> {
    this.#running = false
    if (this.#isrTimer !== undefined) clearInterval(this.#isrTimer)
    this.#isrTimer = undefined
    await Promise.all([...this.#fetchers.values()].map(async (f) => await f.stop()))
    this.#fetchers.clear()
  }

  /** Registers the coordinator of an internal topic; it hears about the partitions led now at once. */
  addLeadershipListener (topic: string, listener: LeadershipListener): void {
    this.#listeners.set(topic, listener)
    const t = this.#options.topics.get(topic)
    for (const p of t?.partitions ?? []) if (p.isLeader) listener.onElection(p.index, p.leaderEpoch)
  }

  /** Where `nodeId` takes inter-broker requests (for other inter-broker senders, e.g. transaction markers). */
  brokerAddress (nodeId: number): BrokerAddress | undefined {
    return this.#options.brokers.address(nodeId)
  }

  /** The fetcher copying from `leaderId`, if any (tests). */
  fetcher (leaderId: number): ReplicaFetcher | undefined {
    return this.#fetchers.get(leaderId)
  }

  // ---- roles (PartitionObserver)

  onTransition (t: PartitionTransition): void {
    const p = t.partition
    for (const f of this.#fetchers.values()) f.removePartition(p)
    if (p.role === 'follower' && this.#running) this.#follow(p)
    const listener = this.#listeners.get(p.topic)
    if (listener !== undefined) {
      const wasLeader = t.previousRole === 'leader'
      const isLeader = p.role === 'leader'
      if (wasLeader && (!isLeader || p.leaderEpoch !== t.previousLeaderEpoch)) listener.onResignation(p.index, t.previousLeaderEpoch)
      if (isLeader && (!wasLeader || p.leaderEpoch !== t.previousLeaderEpoch)) listener.onElection(p.index, p.leaderEpoch)
    }
  }

  onStateChange (p: Partition): void {
    // A follower keeps fetching (ISR and replica changes do not move it); a leader already took
    // the new ISR in Partition.setState. A follower whose fetcher was lost (none) rejoins.
    if (p.role === 'follower' && this.#running && this.#fetchers.get(p.leaderId)?.state(p) === undefined) this.#follow(p)
  }

  #follow (p: Partition): void {
    if (p.leaderId === NO_LEADER || p.leaderId === this.nodeId || p.localLog === undefined) return
    const topicId = this.#options.topics.get(p.topic)?.topicId
    if (topicId === undefined) return
    let fetcher = this.#fetchers.get(p.leaderId)
    if (fetcher === undefined) {
      const leaderId = p.leaderId
      fetcher = new ReplicaFetcher({
        nodeId: this.nodeId,
        sourceBrokerId: leaderId,
        channel: new BrokerChannel({
          nodeId: leaderId,
          address: () => this.#options.brokers.address(leaderId),
          clientId: `broker-${this.nodeId}-fetcher-0`,
          requestTimeoutMs: this.config.socketTimeoutMs
        }),
        brokerEpoch: () => this.#options.brokers.brokerEpoch(),
        config: this.config.fetcher,
        logger: this.#logger.child({ component: 'replica-fetcher', leader: leaderId }),
        clock: this.#clock
      })
      this.#fetchers.set(leaderId, fetcher)
      if (this.#running) fetcher.start()
    }
    fetcher.addPartition(p, topicId, p.leaderEpoch)
    this.#logger.debug('Following a partition', { topic: p.topic, partition: p.index, leader: p.leaderId, leaderEpoch: p.leaderEpoch, logEndOffset: p.log.logEndOffset })
  }

  // ---- leader side

  /**
   * A follower's Fetch reached this leader: records where it is, advances the high watermark and,
   * when it has caught up, proposes it for the ISR. Returns false when this broker does not lead
   * the partition or `replicaId` is not one of its replicas (Kafka answers NOT_LEADER_OR_FOLLOWER /
   * the fetch is refused).
   */
  recordFollowerFetch (p: Partition, replicaId: number, fetchOffset: number, brokerEpoch: number): boolean {
    const f = p.updateFollowerFetchState(replicaId, fetchOffset, brokerEpoch)
    if (f === undefined) return false
    const ls = p.leaderState
    if (ls !== undefined && !ls.isr.includes(replicaId)) {
      const isr = ls.expansionFor(replicaId, p.highWatermark, this.#options.brokers.isrEligible(replicaId))
      if (isr !== undefined) void this.#alterIsr(p, isr, 'expand')
    }
    return true
  }

  #maybeShrinkIsr (): void {
    const now = this.#clock()
    for (const p of this.#options.topics.hostedPartitions()) {
      const ls = p.leaderState
      if (!p.isLeader || ls === undefined) continue
      const isr = ls.shrinkFor(now, this.config.replicaLagTimeMaxMs, p.log.logEndOffset)
      if (isr !== undefined) void this.#alterIsr(p, isr, 'shrink')
    }
  }

  /** Writes an ISR change for a partition this broker leads (Kafka's AlterPartition, by compare-and-swap). */
  async #alterIsr (p: Partition, isr: number[], kind: 'expand' | 'shrink'): Promise<void> {
    const ls = p.leaderState
    if (ls === undefined) return
    const current = p.state
    ls.propose(isr)
    const next: PartitionState = { ...current, isr: [...isr], partitionEpoch: current.partitionEpoch + 1 }
    let written = false
    try {
      written = await this.#options.store.alterPartition(p.topic, p.index, current.partitionEpoch, next)
    } catch (error) {
      this.#logger.warn('Could not write an ISR change', { topic: p.topic, partition: p.index, isr: isr.join(','), error })
    }
    if (written) {
      this.isrChanges++
      this.#logger.info(kind === 'expand' ? 'Expanded the ISR' : 'Shrank the ISR', {
        topic: p.topic, partition: p.index, leaderEpoch: current.leaderEpoch, from: current.isr.join(','), to: isr.join(',')
      })
      // The store delivered the new state already (read your writes); make sure the proposal ends.
      if (p.leaderState === ls && ls.pendingIsr !== undefined && ls.partitionEpoch >= next.partitionEpoch) ls.abandonProposal()
    } else if (p.leaderState === ls) {
      // Lost the swap: a newer state is on its way as an event; decide again with it.
      ls.abandonProposal()
    }
  }
}
