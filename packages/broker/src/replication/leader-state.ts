/**
 * What the leader of a partition knows about its followers, for one leader epoch (Kafka's
 * Partition leader fields plus ReplicaState): each follower's log end offset as its fetches
 * reveal it, when it was last caught up, and the ISR with at most one change in flight.
 *
 * Invariants:
 * - The high watermark is the smallest log end offset over the maximal ISR (the committed ISR
 *   plus a pending expansion, minus nothing until a shrink is committed), never below its
 *   previous value. A follower whose log end is unknown (no fetch since this epoch began) holds
 *   it where it is.
 * - A follower joins the ISR only when its log end has reached both the high watermark and the
 *   offset where this leader's epoch began (so it holds everything committed, and its log cannot
 *   diverge from this leader's below that point).
 * - A follower leaves the ISR when it has not been caught up for `replica.lag.time.max.ms`.
 * - ISR changes are proposals: the leader writes them to the metadata store (compare-and-swap
 *   on the partition epoch) and only a committed change becomes `isr`. While a proposal is in
 *   flight no other is made.
 *
 * Pure bookkeeping: no I/O and no timers, so the simulation drives it exactly as the broker does.
 */
import type { PartitionState } from '../metadata/metadata-store.ts'

export interface FollowerState {
  readonly replicaId: number
  /** -1 until the follower fetches in this epoch. */
  logEndOffset: number
  lastCaughtUpTimeMs: number
  lastFetchTimeMs: number
  /** The leader's log end at the follower's previous fetch. */
  lastFetchLeaderLogEndOffset: number
  brokerEpoch: number
}

export interface LeaderStateOptions {
  nodeId: number
  state: PartitionState
  /** The leader's log end when it became leader: where its epoch begins. */
  leaderEpochStartOffset: number
  now: number
}

export class LeaderState {
  readonly nodeId: number
  readonly leaderEpoch: number
  readonly leaderEpochStartOffset: number
  partitionEpoch: number
  replicas: number[]
  #isr: number[]
  #pending: number[] | undefined
  readonly #followers = new Map<number, FollowerState>()

  constructor (options: LeaderStateOptions) {
    this.nodeId = options.nodeId
    this.leaderEpoch = options.state.leaderEpoch
    this.leaderEpochStartOffset = options.leaderEpochStartOffset
    this.partitionEpoch = options.state.partitionEpoch
    this.replicas = [...options.state.replicas]
    this.#isr = [...options.state.isr]
    for (const id of this.replicas) {
      if (id === this.nodeId) continue
      // In-sync followers get a full lag period to show up (Kafka resets them to "now").
      const inSync = this.#isr.includes(id)
      this.#followers.set(id, {
        replicaId: id, logEndOffset: -1, lastCaughtUpTimeMs: inSync ? options.now : 0, lastFetchTimeMs: 0, lastFetchLeaderLogEndOffset: -1, brokerEpoch: -1
      })
    }
  }

  /** The committed ISR. */
  get isr (): readonly number[] {
    return this.#isr
  }

  /** The proposed ISR in flight, if any. */
  get pendingIsr (): readonly number[] | undefined {
    return this.#pending
  }

  /** The ISR the high watermark must respect: committed plus anything a proposal adds. */
  get maximalIsr (): number[] {
    if (this.#pending === undefined) return [...this.#isr]
    const all = new Set([...this.#isr, ...this.#pending])
    return [...all]
  }

  follower (replicaId: number): FollowerState | undefined {
    return this.#followers.get(replicaId)
  }

  get followers (): IterableIterator<FollowerState> {
    return this.#followers.values()
  }

  /**
   * A follower fetched from `fetchOffset` (so it holds everything below it), while this leader's
   * log ended at `leaderLogEndOffset` (Kafka's ReplicaState.updateFetchState).
   */
  recordFetch (replicaId: number, fetchOffset: number, leaderLogEndOffset: number, now: number, brokerEpoch: number): FollowerState | undefined {
    const f = this.#followers.get(replicaId)
    if (f === undefined) return undefined
    if (fetchOffset >= leaderLogEndOffset) {
      f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, now)
    } else if (fetchOffset >= f.lastFetchLeaderLogEndOffset && f.lastFetchLeaderLogEndOffset >= 0) {
      f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, f.lastFetchTimeMs)
    }
    f.logEndOffset = fetchOffset
    f.lastFetchLeaderLogEndOffset = leaderLogEndOffset
    f.lastFetchTimeMs = now
    f.brokerEpoch = brokerEpoch
    return f
  }

  /** The high watermark the maximal ISR supports: never below `current`, never above the leader's log end. */
  highWatermark (leaderLogEndOffset: number, current: number): number {
    let hw = leaderLogEndOffset
    for (const id of this.maximalIsr) {
      if (id === this.nodeId) continue
      const f = this.#followers.get(id)
      // An ISR member that is not a replica any more (a reassignment removed it) no longer counts.
      if (f === undefined) continue
      if (f.logEndOffset < 0) return current
      hw = Math.min(hw, f.logEndOffset)
    }
    return Math.max(hw, current)
  }

  /**
   * The ISR to propose so `replicaId` joins it, or undefined: it must be a replica outside the
   * ISR whose log end has reached the high watermark and this epoch's start, and `eligible`
   * (registered, not shutting down).
   */
  expansionFor (replicaId: number, highWatermark: number, eligible: boolean): number[] | undefined {
    if (this.#pending !== undefined || !eligible) return undefined
    if (this.#isr.includes(replicaId) || !this.replicas.includes(replicaId)) return undefined
    const f = this.#followers.get(replicaId)
    if (f === undefined || f.logEndOffset < highWatermark || f.logEndOffset < this.leaderEpochStartOffset) return undefined
    return [...this.#isr, replicaId]
  }

  /** The ISR without the followers that have not caught up for `lagMaxMs`, or undefined if none lag. */
  shrinkFor (now: number, lagMaxMs: number, leaderLogEndOffset: number): number[] | undefined {
    if (this.#pending !== undefined) return undefined
    const lagging = this.#isr.filter((id) => {
      if (id === this.nodeId) return false
      const f = this.#followers.get(id)
      if (f === undefined) return false
      const caughtUp = f.logEndOffset === leaderLogEndOffset || now - f.lastCaughtUpTimeMs <= lagMaxMs
      return !caughtUp
    })
    if (lagging.length === 0) return undefined
    return this.#isr.filter((id) => !lagging.includes(id))
  }

  /** Records a proposal being written. */
  propose (isr: number[]): void {
    this.#pending = [...isr]
  }

  /** The proposal failed (the state moved on, or the store is unreachable). */
  abandonProposal (): void {
    this.#pending = undefined
  }

  /** A newer state of this partition with the same leader and epoch (an ISR or replica change). */
  apply (state: PartitionState, now: number): void {
    if (state.partitionEpoch < this.partitionEpoch) return
    this.partitionEpoch = state.partitionEpoch
    this.#isr = [...state.isr]
    this.#pending = undefined
    this.replicas = [...state.replicas]
    for (const id of this.replicas) {
      if (id === this.nodeId || this.#followers.has(id)) continue
      this.#followers.set(id, { replicaId: id, logEndOffset: -1, lastCaughtUpTimeMs: 0, lastFetchTimeMs: 0, lastFetchLeaderLogEndOffset: -1, brokerEpoch: -1 })
    }
    for (const id of [...this.#followers.keys()]) if (!this.replicas.includes(id)) this.#followers.delete(id)
    for (const id of this.#isr) {
      const f = this.#followers.get(id)
      if (f !== undefined && f.lastCaughtUpTimeMs === 0) f.lastCaughtUpTimeMs = now
    }
  }
}
