/**
 * One partition of a topic as this broker sees it: its replication state from the metadata
 * store (replicas, leader, leader epoch, ISR, partition epoch), the role this broker plays in it
 * (leader, follower, or none), and, when this broker holds a replica, its log.
 *
 * As leader it owns the high watermark: with the ISR being this broker alone the high watermark
 * follows the log end (the single-node case); otherwise LeaderState tracks the followers and the
 * high watermark is the smallest log end over the ISR. Producers with acks=all wait here
 * (awaitReplication) until the high watermark passes their records, the request times out, or
 * this broker stops leading.
 *
 * Listeners (long-poll fetches) are told after every append (`appendedBytes`), every advance of
 * the high watermark (`committedBytes`: what consumers can now read), and with (0, 0) after any
 * other change (truncation, deletion, leadership), synchronously; they must only schedule work.
 *
 * Not thread-safe: everything runs on the event loop, appends and state changes one at a time.
 */
import { ErrorCode, KafkaProtocolError, LOG_OVERHEAD, readBaseOffset } from '@samsa/protocol'
import type { AppendOrigin, AppendResult, PartitionLog } from '@samsa/storage'
import { type Scheduler, type TimerHandle, timerScheduler } from '../group/scheduler.ts'
import { NO_LEADER, type PartitionState } from '../metadata/metadata-store.ts'
import { type FollowerState, LeaderState } from '../replication/leader-state.ts'

/** Told how many bytes were appended and how many became readable by consumers. */
export type PartitionListener = (appendedBytes: number, committedBytes: number) => void

export type ReplicaRole = 'leader' | 'follower' | 'none'

interface ReplicationWaiter {
  requiredOffset: number
  minIsr: number
  resolve: (errorCode: number) => void
  timer: TimerHandle | undefined
}

export interface PartitionOptions {
  topic: string
  index: number
  /** The log, when this broker holds a replica. */
  log: PartitionLog | undefined
  /** This broker's node id. */
  nodeId: number
  state: PartitionState
  scheduler?: Scheduler
  clock?: () => number
}

export class Partition {
  readonly topic: string
  readonly index: number
  readonly nodeId: number
  #log: PartitionLog | undefined
  leaderId: number
  leaderEpoch: number
  partitionEpoch: number
  replicas: number[]
  isr: number[]
  addingReplicas: number[]
  removingReplicas: number[]
  #role: ReplicaRole = 'none'
  #leaderState: LeaderState | undefined
  readonly #scheduler: Scheduler
  readonly #clock: () => number
  readonly #listeners = new Set<PartitionListener>()
  #waiters: ReplicationWaiter[] = []
  /** Appended as leader, not yet below the high watermark: [end offset, bytes]. */
  #uncommitted: Array<[number, number]> = []

  constructor (options: PartitionOptions) {
    this.topic = options.topic
    this.index = options.index
    this.nodeId = options.nodeId
    this.#log = options.log
    this.#scheduler = options.scheduler ?? timerScheduler
    this.#clock = options.clock ?? Date.now
    const s = options.state
    this.leaderId = s.leader
    this.leaderEpoch = s.leaderEpoch
    this.partitionEpoch = s.partitionEpoch
    this.replicas = [...s.replicas]
    this.isr = [...s.isr]
    this.addingReplicas = [...s.addingReplicas]
    this.removingReplicas = [...s.removingReplicas]
  }

  /** Whether this broker holds a replica (and so a log) of the partition. */
  get hosted (): boolean {
    return this.#log !== undefined
  }

  /** The local log; only for a hosted partition. */
  get log (): PartitionLog {
    if (this.#log === undefined) throw new Error(`Partition ${this.topic}-${this.index} has no replica on this broker`)
    return this.#log
  }

  get localLog (): PartitionLog | undefined {
    return this.#log
  }

  attachLog (log: PartitionLog | undefined): void {
    this.#log = log
  }

  get role (): ReplicaRole {
    return this.#role
  }

  get isLeader (): boolean {
    return this.#role === 'leader'
  }

  get leaderState (): LeaderState | undefined {
    return this.#leaderState
  }

  get highWatermark (): number {
    return this.#log?.highWatermark ?? 0
  }

  get state (): PartitionState {
    return {
      replicas: [...this.replicas],
      leader: this.leaderId,
      leaderEpoch: this.leaderEpoch,
      isr: [...this.isr],
      partitionEpoch: this.partitionEpoch,
      addingReplicas: [...this.addingReplicas],
      removingReplicas: [...this.removingReplicas]
    }
  }

  /** Takes the stored state (fields only; roles change through becomeLeader/becomeFollower). */
  setState (s: PartitionState): void {
    this.leaderId = s.leader
    this.leaderEpoch = s.leaderEpoch
    this.partitionEpoch = s.partitionEpoch
    this.replicas = [...s.replicas]
    this.isr = [...s.isr]
    this.addingReplicas = [...s.addingReplicas]
    this.removingReplicas = [...s.removingReplicas]
    if (this.#role === 'leader' && this.#leaderState !== undefined && this.#leaderState.leaderEpoch === s.leaderEpoch) {
      this.#leaderState.apply(s, this.#clock())
      this.maybeAdvanceHighWatermark()
    }
  }

  // ---- roles

  /**
   * Becomes leader at `state.leaderEpoch`: the new epoch starts at the log end, follower
   * positions are unknown until they fetch. The high watermark stays where it was.
   */
  becomeLeader (state: PartitionState): void {
    const log = this.log
    this.setState(state)
    this.#role = 'leader'
    // Kafka assigns the epoch on election, so OffsetForLeaderEpoch can answer before any append.
    log.leaderEpochCache.assign(state.leaderEpoch, log.logEndOffset)
    this.#leaderState = new LeaderState({ nodeId: this.nodeId, state, leaderEpochStartOffset: log.logEndOffset, now: this.#clock() })
    this.#uncommitted = []
    this.maybeAdvanceHighWatermark()
    this.#notify(0, 0)
  }

  /** Stops leading (acks=all waiters get NOT_LEADER_OR_FOLLOWER) and records the new state. */
  becomeFollower (state: PartitionState): void {
    this.setState(state)
    this.#resign(this.hosted ? 'follower' : 'none')
  }

  /** Holds no replica any more (removed by a reassignment, or the topic is being deleted). */
  stopReplica (): void {
    this.#resign('none')
  }

  #resign (role: ReplicaRole): void {
    this.#role = role
    this.#leaderState = undefined
    this.#uncommitted = []
    this.#failWaiters(ErrorCode.NOT_LEADER_OR_FOLLOWER)
    this.#notify(0, 0)
  }

  // ---- the leader's log

  /**
   * Appends validated batches as the leader and advances the high watermark if the ISR allows.
   * `origin`: a client's produce (producer batches validated, retries deduplicated) or a
   * coordinator's append (transaction markers, transactional offset commits). Throws
   * ProducerStateError for producer batches the producer state refuses, KafkaProtocolError
   * NOT_LEADER_OR_FOLLOWER when this broker does not lead the partition.
   */
  appendAsLeader (batches: Buffer, origin: AppendOrigin = 'client'): AppendResult {
    // Only the leader assigns offsets: anything else would fork the partition's history.
    if (this.#role !== 'leader') throw new KafkaProtocolError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `This broker does not lead ${this.topic}-${this.index}`)
    const log = this.log
    const result = log.appendAsLeader(batches, this.leaderEpoch, origin)
    if (result.duplicate === true) return result
    this.#uncommitted.push([result.lastOffset + 1, batches.length])
    const committed = this.#advance()
    this.#notify(batches.length, committed)
    return result
  }

  /**
   * A follower fetched from `fetchOffset` (Fetch with its replica id): it holds everything below
   * that offset. Records its position and advances the high watermark when the ISR allows (Kafka's
   * Partition.updateFollowerFetchState). Undefined when this broker does not lead the partition
   * or `replicaId` is not a replica.
   */
  updateFollowerFetchState (replicaId: number, fetchOffset: number, brokerEpoch: number): FollowerState | undefined {
    const log = this.#log
    if (log === undefined || this.#role !== 'leader' || this.#leaderState === undefined) return undefined
    const f = this.#leaderState.recordFetch(replicaId, fetchOffset, log.logEndOffset, this.#clock(), brokerEpoch)
    if (f !== undefined) this.maybeAdvanceHighWatermark()
    return f
  }

  // ---- the follower's log

  /** Appends batches fetched from the leader as they are (offsets and epochs kept). */
  appendAsFollower (batches: Buffer): AppendResult {
    const log = this.log
    // An empty log started at the leader's log start, which lies inside the leader's first batch
    // (DeleteRecords cut there): start the log at that batch instead, as Kafka's
    // Partition.appendRecordsToFollowerOrFutureReplica does on UnexpectedAppendOffsetException.
    // The log start moves up to the leader's again with the fetch response's log start offset.
    if (batches.length >= LOG_OVERHEAD && log.logEndOffset === log.logStartOffset) {
      const first = readBaseOffset(batches, 0)
      if (first < log.logStartOffset) log.truncateFullyAndStartAt(first)
    }
    const result = log.appendAsFollower(batches)
    this.#notify(batches.length, 0)
    return result
  }

  /**
   * The leader's high watermark and log start offset, from a fetch response: the follower's high
   * watermark is the leader's, capped by what it has itself (Kafka's
   * ReplicaFetcherThread.processPartitionData). The log start only moves up, and only to where
   * this replica has committed records.
   */
  updateFollowerOffsets (leaderHighWatermark: number, leaderLogStartOffset: number): void {
    const log = this.log
    const hw = Math.min(leaderHighWatermark, log.logEndOffset)
    if (hw > log.highWatermark) {
      log.highWatermark = hw
      this.#notify(0, 1)
    }
    if (leaderLogStartOffset > log.logStartOffset && leaderLogStartOffset <= log.highWatermark) log.deleteRecordsBefore(leaderLogStartOffset)
  }

  /**
   * Removes every record at or after `offset` (a follower whose log diverged from the leader's).
   * At or past the log end nothing is removed, but epochs starting at the log end are: this
   * replica may have started an epoch as leader without appending to it, and that entry would
   * otherwise contradict the leader's history forever (Kafka's UnifiedLog.truncateTo).
   */
  truncateTo (offset: number): void {
    const log = this.log
    if (offset >= log.logEndOffset) {
      log.leaderEpochCache.truncateFromEnd(log.logEndOffset)
      return
    }
    log.truncateTo(offset)
    this.#notify(0, 0)
  }

  /** Empties the log and starts it at `offset` (a follower behind the leader's log start). */
  truncateFullyAndStartAt (offset: number): void {
    this.log.truncateFullyAndStartAt(offset)
    this.#notify(0, 0)
  }

  /**
   * Moves the high watermark to what the ISR supports (leader only); wakes acks=all waiters and
   * consumers. Returns whether it moved.
   */
  maybeAdvanceHighWatermark (): boolean {
    const committed = this.#advance()
    if (committed > 0) this.#notify(0, committed)
    return committed > 0
  }

  /** Advances the high watermark; returns the bytes that became readable (at least 1 if it moved), else 0. */
  #advance (): number {
    const log = this.#log
    if (log === undefined || this.#role !== 'leader' || this.#leaderState === undefined) return 0
    const current = log.highWatermark
    const next = this.#leaderState.highWatermark(log.logEndOffset, current)
    if (next <= current) return 0
    log.highWatermark = next
    let committed = 0
    while (this.#uncommitted.length > 0 && this.#uncommitted[0]![0] <= next) committed += this.#uncommitted.shift()![1]
    this.#completeWaiters()
    return Math.max(committed, 1)
  }

  /**
   * acks=all: resolves with NONE once the high watermark reaches `requiredOffset` (the offset
   * after the batch) with at least `minIsr` in-sync replicas, NOT_ENOUGH_REPLICAS_AFTER_APPEND if
   * it got there with fewer, REQUEST_TIMED_OUT after `timeoutMs`, NOT_LEADER_OR_FOLLOWER if this
   * broker stops leading first (Kafka's DelayedProduce). Answers synchronously (a number) when
   * the records are already committed.
   */
  awaitReplication (requiredOffset: number, minIsr: number, timeoutMs: number): number | Promise<number> {
    if (this.#role !== 'leader') return ErrorCode.NOT_LEADER_OR_FOLLOWER
    if (this.highWatermark >= requiredOffset) return this.#enoughReplicas(minIsr)
    return new Promise<number>((resolve) => {
      const waiter: ReplicationWaiter = { requiredOffset, minIsr, resolve, timer: undefined }
      waiter.timer = this.#scheduler.schedule(timeoutMs, () => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter)
        resolve(ErrorCode.REQUEST_TIMED_OUT)
      })
      this.#waiters.push(waiter)
    })
  }

  #enoughReplicas (minIsr: number): number {
    return this.isr.length >= minIsr ? ErrorCode.NONE : ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND
  }

  #completeWaiters (): void {
    if (this.#waiters.length === 0) return
    const hw = this.highWatermark
    const remaining: ReplicationWaiter[] = []
    for (const w of this.#waiters) {
      if (w.requiredOffset <= hw) {
        w.timer?.cancel()
        w.resolve(this.#enoughReplicas(w.minIsr))
      } else {
        remaining.push(w)
      }
    }
    this.#waiters = remaining
  }

  #failWaiters (errorCode: number): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const w of waiters) {
      w.timer?.cancel()
      w.resolve(errorCode)
    }
  }

  /** Tells waiters the partition changed (after truncation, DeleteRecords, deletion). */
  changed (): void {
    this.maybeAdvanceHighWatermark()
    this.#notify(0, 0)
  }

  /** Ends everything waiting on this partition (broker stopping, topic deleted). */
  close (): void {
    this.#failWaiters(ErrorCode.NOT_LEADER_OR_FOLLOWER)
    this.#notify(0, 0)
  }

  addListener (listener: PartitionListener): void {
    this.#listeners.add(listener)
  }

  removeListener (listener: PartitionListener): void {
    this.#listeners.delete(listener)
  }

  #notify (appendedBytes: number, committedBytes: number): void {
    for (const listener of this.#listeners) listener(appendedBytes, committedBytes)
  }

  /** Whether a leader is known (-1: offline). */
  get hasLeader (): boolean {
    return this.leaderId !== NO_LEADER
  }
}
