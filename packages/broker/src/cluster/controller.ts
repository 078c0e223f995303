/**
 * The controller: a role one broker at a time holds (elected through the metadata store's
 * campaign), not a separate program. While active it keeps every partition's state consistent
 * with the live brokers (partition-election.ts has the rules):
 *
 * - a leader whose broker is gone (its registration vanished), restarted (a new incarnation:
 *   its old process died) or in controlled shutdown is replaced by the next in-sync eligible
 *   replica, with a new leader epoch; such brokers leave the ISR (never its last member);
 * - a partition with no leader gets one as soon as an in-sync replica is back (or any live
 *   replica, with unclean.leader.election.enable);
 * - a reassignment completes once its target replicas are all in sync;
 * - every leader.imbalance.check.interval.seconds, with auto.leader.rebalance.enable, brokers
 *   leading less than their preferred share (more than leader.imbalance.per.broker.percentage
 *   of their preferred partitions led elsewhere) get those leaderships back.
 *
 * It is level-triggered: any change of brokers or partitions schedules one pass over every
 * partition (passes never overlap; changes during a pass cause another). Each change is written
 * with the partition-epoch compare-and-swap fenced by the controller epoch, so a deposed
 * controller's writes fail, and a write that loses a race is simply redone by the pass that the
 * winning change triggers. Store errors (etcd unreachable) retry after a backoff.
 */
import type { Logger } from '../logger.ts'
import type { ClusterImage } from '../metadata/cluster-image.ts'
import type { ControllerCandidate, MetadataEvent, MetadataStore, PartitionState } from '../metadata/metadata-store.ts'
import type { TopicRegistry } from '../topics/topic-registry.ts'
import { leaderImbalance, preferredElection, reconcilePartition, targetReplicas } from './partition-election.ts'

export interface ControllerOptions {
  nodeId: number
  store: MetadataStore
  image: ClusterImage
  topics: TopicRegistry
  logger: Logger
  /** unclean.leader.election.enable for a topic (its override, else the broker's). */
  uncleanLeaderElection: (topic: string) => boolean
  autoLeaderRebalanceEnable: boolean
  leaderImbalanceCheckIntervalMs: number
  leaderImbalancePerBrokerPercentage: number
  /** Wait before retrying after a store error (default 1000 ms). */
  retryBackoffMs?: number
}

function key (topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}

export class Controller implements ControllerCandidate {
  readonly #options: ControllerOptions
  #epoch: number | undefined
  #running: Promise<void> | undefined
  #dirty = false
  #retryTimer: NodeJS.Timeout | undefined
  #rebalanceTimer: NodeJS.Timeout | undefined
  #stopped = false
  /** The incarnation each broker registered with, to notice restarts. */
  readonly #incarnations = new Map<number, string>()
  /** Partitions still naming a restarted broker's old incarnation in their ISR or as leader. */
  readonly #fenced = new Map<string, Set<number>>()

  constructor (options: ControllerOptions) {
    this.#options = options
    for (const b of options.image.brokers) this.#incarnations.set(b.nodeId, b.incarnationId)
  }

  get active (): boolean {
    return this.#epoch !== undefined && !this.#stopped
  }

  /** The controller epoch while active. */
  get epoch (): number | undefined {
    return this.#epoch
  }

  elected (epoch: number): void {
    if (this.#stopped) return
    this.#epoch = epoch
    this.#options.logger.info('This broker is the controller', { epoch })
    if (this.#options.autoLeaderRebalanceEnable && this.#options.store.shared) {
      this.#rebalanceTimer = setInterval(() => { void this.rebalanceLeaders() }, this.#options.leaderImbalanceCheckIntervalMs)
      this.#rebalanceTimer.unref()
    }
    this.#trigger()
  }

  resigned (): void {
    if (this.#epoch !== undefined) this.#options.logger.info('This broker is no longer the controller', { epoch: this.#epoch })
    this.#epoch = undefined
    this.#clearTimers()
  }

  /** Stops acting (the broker is stopping); waits for a pass under way. */
  async stop (): Promise<void> {
    this.#stopped = true
    this.#epoch = undefined
    this.#clearTimers()
    await this.#running
  }

  #clearTimers (): void {
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer)
    if (this.#rebalanceTimer !== undefined) clearInterval(this.#rebalanceTimer)
    this.#retryTimer = undefined
    this.#rebalanceTimer = undefined
  }

  /** Metadata events this broker has applied (the image and the registry already show them). */
  onMetadata (events: readonly MetadataEvent[]): void {
    let relevant = false
    for (const e of events) {
      if (e.type === 'broker') {
        const previous = this.#incarnations.get(e.broker.nodeId)
        this.#incarnations.set(e.broker.nodeId, e.broker.incarnationId)
        if (previous !== undefined && previous !== e.broker.incarnationId) this.#brokerRestarted(e.broker.nodeId)
        relevant = true
      } else if (e.type !== 'broker-configs') {
        relevant = true
      }
    }
    if (relevant) this.#trigger()
  }

  /** A broker came back as a new process: the state written for its old one must not stand. */
  #brokerRestarted (nodeId: number): void {
    this.#options.logger.info('Broker restarted', { nodeId })
    for (const topic of this.#options.topics.list()) {
      for (const p of topic.partitions) {
        if (p.leaderId !== nodeId && !p.isr.includes(nodeId)) continue
        const k = key(topic.name, p.index)
        let set = this.#fenced.get(k)
        if (set === undefined) this.#fenced.set(k, set = new Set())
        set.add(nodeId)
      }
    }
  }

  #trigger (): void {
    if (!this.active) return
    this.#dirty = true
    if (this.#running !== undefined) return
    this.#running = this.#loop().finally(() => { this.#running = undefined })
  }

  async #loop (): Promise<void> {
    while (this.#dirty && this.active) {
      this.#dirty = false
      try {
        await this.#reconcile()
      } catch (error) {
        this.#options.logger.warn('Controller pass failed; retrying', { error })
        this.#retryLater()
        return
      }
    }
  }

  #retryLater (): void {
    if (this.#retryTimer !== undefined || !this.active) return
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined
      this.#trigger()
    }, this.#options.retryBackoffMs ?? 1000)
    this.#retryTimer.unref()
  }

  /** One pass: every partition brought in line with the live brokers. */
  async #reconcile (): Promise<void> {
    const { image, topics } = this.#options
    for (const topic of topics.list()) {
      const unclean = this.#options.uncleanLeaderElection(topic.name)
      for (const p of topic.partitions) {
        if (!this.active) return
        const k = key(topic.name, p.index)
        const current = p.state
        const restarted = this.#fenced.get(k) ?? new Set<number>()
        // Once the restarted broker is out of the ISR and leadership, it may rejoin normally.
        for (const id of restarted) if (current.leader !== id && !current.isr.includes(id)) restarted.delete(id)
        if (restarted.size === 0) this.#fenced.delete(k)
        const next = reconcilePartition(current, image, unclean, restarted)
        if (next === current) continue
        const written = await this.#write(topic.name, p.index, current, next)
        if (written) {
          this.#fenced.delete(k)
          this.#logChange(topic.name, p.index, current, next)
        }
      }
    }
  }

  async #write (topic: string, partition: number, current: PartitionState, next: PartitionState): Promise<boolean> {
    const epoch = this.#epoch
    if (epoch === undefined) return false
    return await this.#options.store.alterPartition(topic, partition, current.partitionEpoch, next, { controllerEpoch: epoch })
  }

  #logChange (topic: string, partition: number, before: PartitionState, after: PartitionState): void {
    this.#options.logger.info('Partition state changed', {
      topic,
      partition,
      leader: `${before.leader} -> ${after.leader}`,
      leaderEpoch: after.leaderEpoch,
      isr: `[${before.isr.join(',')}] -> [${after.isr.join(',')}]`,
      replicas: after.replicas.join(',')
    })
  }

  /**
   * Preferred-leader rebalancing (auto.leader.rebalance.enable): for each broker whose share of
   * preferred partitions led elsewhere is above leader.imbalance.per.broker.percentage, moves
   * those leaderships back where the preferred replica is in sync and eligible. Returns how many
   * moved.
   */
  async rebalanceLeaders (): Promise<number> {
    if (!this.active) return 0
    const { image, topics } = this.#options
    const partitions = topics.list().flatMap((t) => t.partitions.map((p) => ({ topic: t.name, p })))
    const imbalance = leaderImbalance(partitions.map(({ p }) => p.state))
    const limit = this.#options.leaderImbalancePerBrokerPercentage / 100
    let moved = 0
    for (const { topic, p } of partitions) {
      if (!this.active) break
      const current = p.state
      const preferred = targetReplicas(current)[0]
      const entry = preferred === undefined ? undefined : imbalance.get(preferred)
      if (entry === undefined || entry.preferred === 0 || entry.notLeading / entry.preferred <= limit) continue
      const outcome = preferredElection(current, image)
      if (outcome.kind !== 'elected') continue
      try {
        if (await this.#write(topic, p.index, current, outcome.state)) {
          moved++
          this.#logChange(topic, p.index, current, outcome.state)
        }
      } catch (error) {
        this.#options.logger.warn('Leader rebalance write failed', { topic, partition: p.index, error })
        return moved
      }
    }
    if (moved > 0) this.#options.logger.info('Moved leaders back to their preferred replicas', { partitions: moved })
    return moved
  }
}
