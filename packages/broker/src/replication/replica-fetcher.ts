/**
 * Copies the partitions this broker follows from one leader broker (Kafka's ReplicaFetcherThread
 * with AbstractFetcherThread): one fetcher per source broker, one request at a time.
 *
 * Each partition is first `truncating`, then `fetching` (Kafka's PartitionFetchState):
 *
 * - truncating (after becoming a follower, or when its log turns out to be ahead of or diverged
 *   from the leader's): asks the leader with OffsetForLeaderEpoch where this replica's latest
 *   epoch ends in the leader's log and cuts its own log there (truncation.ts, KIP-101/279),
 *   possibly in several rounds, one epoch further back each time. Only then does it fetch, so a
 *   replica never appends after records the leader does not have.
 * - fetching: Fetch with this broker's replica id and broker epoch (ReplicaState, v15), from
 *   its log end, with its latest epoch as `lastFetchedEpoch` (KIP-320: the leader answers with
 *   a diverging epoch when this replica's history went elsewhere, which truncates the same way).
 *   The batches are appended as received (offsets, epochs and CRCs are the leader's); the
 *   follower's high watermark is the leader's capped by its own log end.
 *
 * A partition whose fetch fails with a partition error (the leader moved, an epoch mismatch)
 * waits `replica.fetch.backoff.ms` and tries again; metadata events meanwhile move it to another
 * fetcher or remove it. A connection failure backs off every partition of the fetcher.
 *
 * Responses are checked against the partition's current state before use: a partition whose
 * role, leader epoch or log end changed while the request was out ignores the answer.
 */
import { ErrorCode, FetchApi, OffsetForLeaderEpochApi } from '@samsa/protocol'
import type { FetchRequest, FetchTopic, PartitionData } from '@samsa/protocol/messages/fetch'
import { createFetchPartition, createFetchTopic } from '@samsa/protocol/messages/fetch'
import type { OffsetForLeaderTopic } from '@samsa/protocol/messages/offset-for-leader-epoch'
import { StorageError, UNDEFINED_EPOCH } from '@samsa/storage'
import type { Logger } from '../logger.ts'
import type { Partition } from '../topics/partition.ts'
import type { BrokerChannel } from './broker-channel.ts'
import { truncationFor } from './truncation.ts'

/** Fetch v15: the first with ReplicaState (replica id and broker epoch), topics by id. */
export const REPLICA_FETCH_VERSION = 15
export const OFFSET_FOR_LEADER_EPOCH_VERSION = 4

export interface ReplicaFetcherConfig {
  /** `replica.fetch.wait.max.ms` */
  maxWaitMs: number
  /** `replica.fetch.min.bytes` */
  minBytes: number
  /** `replica.fetch.max.bytes` (per partition) */
  maxBytes: number
  /** `replica.fetch.response.max.bytes` */
  responseMaxBytes: number
  /** `replica.fetch.backoff.ms` */
  backoffMs: number
}

export interface ReplicaFetcherOptions {
  nodeId: number
  sourceBrokerId: number
  channel: BrokerChannel
  /** This broker's epoch (its registration's), sent so the leader can tell incarnations apart. */
  brokerEpoch: () => number
  config: ReplicaFetcherConfig
  logger: Logger
  clock?: () => number
}

type FetchStateName = 'truncating' | 'fetching'

/** Where one followed partition stands (Kafka's PartitionFetchState). */
export interface PartitionFetchState {
  readonly partition: Partition
  readonly topicId: string
  /** The leader epoch this broker follows the partition in. */
  readonly leaderEpoch: number
  state: FetchStateName
  /** While truncating: the epoch to ask about (-1: this replica's latest). */
  truncationEpoch: number
  /** Not before this time (backoff after an error). */
  delayUntil: number
}

export class ReplicaFetcher {
  readonly sourceBrokerId: number
  readonly #options: ReplicaFetcherOptions
  readonly #clock: () => number
  readonly #partitions = new Map<string, PartitionFetchState>()
  #running = false
  #loop: Promise<void> | undefined
  #wake: (() => void) | undefined
  /** Fetch requests answered (for tests and metrics). */
  fetches = 0
  #lastErrorLog = 0

  constructor (options: ReplicaFetcherOptions) {
    this.sourceBrokerId = options.sourceBrokerId
    this.#options = options
    this.#clock = options.clock ?? Date.now
  }

  get size (): number {
    return this.#partitions.size
  }

  state (partition: Partition): PartitionFetchState | undefined {
    return this.#partitions.get(keyOf(partition))
  }

  /** Starts following `partition` in `leaderEpoch`, truncating first. */
  addPartition (partition: Partition, topicId: string, leaderEpoch: number): void {
    this.#partitions.set(keyOf(partition), { partition, topicId, leaderEpoch, state: 'truncating', truncationEpoch: UNDEFINED_EPOCH, delayUntil: 0 })
    this.#wakeUp()
  }

  /** Stops following it; an answer in flight for it is ignored. Returns whether it was here. */
  removePartition (partition: Partition): boolean {
    return this.#partitions.delete(keyOf(partition))
  }

  start (): void {
    if (this.#running) return
    this.#running = true
    this.#loop = this.#run()
  }

  async stop (): Promise<void> {
    this.#running = false
    this.#options.channel.close()
    this.#wakeUp()
    await this.#loop
  }

  #wakeUp (): void {
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
  }

  async #run (): Promise<void> {
    while (this.#running) {
      const now = this.#clock()
      const ready: PartitionFetchState[] = []
      let nextDelay = Number.POSITIVE_INFINITY
      for (const s of this.#partitions.values()) {
        if (s.delayUntil <= now) ready.push(s)
        else nextDelay = Math.min(nextDelay, s.delayUntil - now)
      }
      if (ready.length === 0) {
        await this.#sleep(nextDelay)
        continue
      }
      try {
        const truncating = ready.filter((s) => s.state === 'truncating')
        if (truncating.length > 0) await this.#truncate(truncating)
        else await this.#fetch(ready)
      } catch (error) {
        if (!this.#running) break
        this.#logError('Replica fetch from the leader failed', error)
        // The connection is gone or the answer was unusable: every partition waits, then retries.
        const until = this.#clock() + this.#options.config.backoffMs
        for (const s of ready) s.delayUntil = until
      }
    }
  }

  async #sleep (ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(() => done(), ms) : undefined
      timer?.unref()
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer)
        if (this.#wake === done) this.#wake = undefined
        resolve()
      }
      this.#wake = done
    })
  }

  /** Whether `s` is still how this broker follows its partition (nothing changed while a request was out). */
  #current (s: PartitionFetchState): boolean {
    const p = s.partition
    return this.#partitions.get(keyOf(p)) === s && p.role === 'follower' && p.leaderEpoch === s.leaderEpoch && p.localLog !== undefined
  }

  // ---- truncation (KIP-101/279)

  async #truncate (states: PartitionFetchState[]): Promise<void> {
    const asked: PartitionFetchState[] = []
    const topics = new Map<string, OffsetForLeaderTopic>()
    for (const s of states) {
      const log = s.partition.log
      const epoch = s.truncationEpoch >= 0 ? s.truncationEpoch : log.leaderEpochCache.latestEpoch
      if (epoch === UNDEFINED_EPOCH) {
        // No epochs to compare (an empty log, or records from before epochs were kept): only what
        // is known committed can be kept (Kafka truncates to the high watermark then).
        s.partition.truncateTo(log.highWatermark)
        this.#startFetching(s)
        continue
      }
      let topic = topics.get(s.partition.topic)
      if (topic === undefined) topics.set(s.partition.topic, topic = { topic: s.partition.topic, partitions: [] })
      topic.partitions.push({ partition: s.partition.index, currentLeaderEpoch: s.leaderEpoch, leaderEpoch: epoch })
      asked.push(s)
    }
    if (asked.length === 0) return
    const response = await this.#options.channel.request(OffsetForLeaderEpochApi, OFFSET_FOR_LEADER_EPOCH_VERSION, {
      replicaId: this.#options.nodeId,
      topics: [...topics.values()]
    })
    const answers = new Map<string, { errorCode: number, leaderEpoch: number, endOffset: number }>()
    for (const t of response.topics) {
      for (const p of t.partitions) answers.set(`${t.topic}-${p.partition}`, { errorCode: p.errorCode, leaderEpoch: p.leaderEpoch, endOffset: Number(p.endOffset) })
    }
    for (const s of asked) {
      if (!this.#current(s)) continue
      const answer = answers.get(keyOf(s.partition))
      if (answer === undefined || answer.errorCode !== ErrorCode.NONE) {
        this.#backOff(s, answer?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR, 'OffsetForLeaderEpoch')
        continue
      }
      this.#truncateTo(s, answer)
    }
  }

  /** Cuts the log where it stops agreeing with the leader's answer `leader` (epoch, end offset). */
  #truncateTo (s: PartitionFetchState, leader: { leaderEpoch: number, endOffset: number }): void {
    const p = s.partition
    const log = p.log
    const decision = truncationFor(log, leader)
    if (decision.offset < log.logEndOffset) {
      this.#options.logger.info('Truncating a follower log to where it agrees with the leader', {
        topic: p.topic, partition: p.index, from: log.logEndOffset, to: decision.offset, leader: this.sourceBrokerId, leaderEpoch: s.leaderEpoch
      })
    }
    // Also at the log end: drops an epoch this replica began as leader but never wrote in.
    p.truncateTo(decision.offset)
    if (decision.complete) this.#startFetching(s)
    else {
      s.state = 'truncating'
      s.truncationEpoch = decision.nextEpoch
    }
  }

  #startFetching (s: PartitionFetchState): void {
    if (s.state === 'truncating') {
      this.#options.logger.debug('Follower log agrees with the leader; fetching', {
        topic: s.partition.topic, partition: s.partition.index, leaderEpoch: s.leaderEpoch, fetchOffset: s.partition.log.logEndOffset
      })
    }
    s.state = 'fetching'
    s.truncationEpoch = UNDEFINED_EPOCH
    s.delayUntil = 0
  }

  #backOff (s: PartitionFetchState, errorCode: number, what: string): void {
    s.delayUntil = this.#clock() + this.#options.config.backoffMs
    this.#options.logger.debug('Replica fetch partition error', {
      request: what, topic: s.partition.topic, partition: s.partition.index, leader: this.sourceBrokerId, errorCode
    })
  }

  // ---- fetching

  async #fetch (states: PartitionFetchState[]): Promise<void> {
    const config = this.#options.config
    const topics = new Map<string, FetchTopic>()
    const offsets = new Map<PartitionFetchState, number>()
    for (const s of states) {
      const p = s.partition
      const log = p.log
      let topic = topics.get(s.topicId)
      if (topic === undefined) topics.set(s.topicId, topic = { ...createFetchTopic(), topic: p.topic, topicId: s.topicId, partitions: [] })
      offsets.set(s, log.logEndOffset)
      topic.partitions.push({
        ...createFetchPartition(),
        partition: p.index,
        currentLeaderEpoch: s.leaderEpoch,
        fetchOffset: BigInt(log.logEndOffset),
        lastFetchedEpoch: log.leaderEpochCache.latestEpoch,
        logStartOffset: BigInt(log.logStartOffset),
        partitionMaxBytes: config.maxBytes
      })
    }
    const request: FetchRequest = {
      ...FetchApi.request.create(),
      // v15+: the replica id travels in ReplicaState only.
      replicaState: { replicaId: this.#options.nodeId, replicaEpoch: BigInt(this.#options.brokerEpoch()) },
      maxWaitMs: config.maxWaitMs,
      minBytes: config.minBytes,
      maxBytes: config.responseMaxBytes,
      topics: [...topics.values()]
    }
    const response = await this.#options.channel.request(FetchApi, REPLICA_FETCH_VERSION, request)
    this.fetches++
    if (response.errorCode !== ErrorCode.NONE) {
      for (const s of states) this.#backOff(s, response.errorCode, 'Fetch')
      return
    }
    const byKey = new Map<string, PartitionFetchState>()
    for (const s of states) byKey.set(`${s.topicId}:${s.partition.index}`, s)
    for (const t of response.responses) {
      for (const data of t.partitions) {
        const s = byKey.get(`${t.topicId}:${data.partitionIndex}`)
        if (s === undefined || !this.#current(s) || s.partition.log.logEndOffset !== offsets.get(s)) continue
        this.#process(s, data)
      }
    }
  }

  /** Applies one partition's fetch answer (Kafka's processPartitionData and error handling). */
  #process (s: PartitionFetchState, data: PartitionData): void {
    const p = s.partition
    switch (data.errorCode) {
      case ErrorCode.NONE:
        break
      case ErrorCode.OFFSET_OUT_OF_RANGE: {
        const leaderStart = Number(data.logStartOffset)
        if (leaderStart >= 0 && p.log.logEndOffset < leaderStart) {
          // Behind the leader's log start (retention or DeleteRecords removed what comes next):
          // start over where the leader's log starts.
          this.#options.logger.info('Follower is behind the leader\'s log start; resetting its log', {
            topic: p.topic, partition: p.index, logEndOffset: p.log.logEndOffset, leaderLogStartOffset: leaderStart
          })
          p.truncateFullyAndStartAt(leaderStart)
        } else {
          // Ahead of the leader's log end: find where the logs agree.
          s.state = 'truncating'
          s.truncationEpoch = UNDEFINED_EPOCH
        }
        return
      }
      default:
        this.#backOff(s, data.errorCode, 'Fetch')
        return
    }
    const diverging = data.divergingEpoch
    if (diverging.epoch >= 0 || diverging.endOffset >= 0n) {
      this.#truncateTo(s, { leaderEpoch: diverging.epoch, endOffset: Number(diverging.endOffset) })
      return
    }
    const records = data.records
    try {
      if (records !== null && records.length > 0) p.appendAsFollower(records)
      p.updateFollowerOffsets(Number(data.highWatermark), Number(data.logStartOffset))
    } catch (error) {
      if (!(error instanceof StorageError)) throw error
      this.#logError('Appending fetched records failed; checking the log against the leader', error, p)
      s.state = 'truncating'
      s.truncationEpoch = UNDEFINED_EPOCH
      s.delayUntil = this.#clock() + this.#options.config.backoffMs
    }
  }

  /** Logs an error, at most once a second per fetcher (a dead leader fails every attempt). */
  #logError (message: string, error: unknown, partition?: Partition): void {
    const now = this.#clock()
    if (now - this.#lastErrorLog < 1000) return
    this.#lastErrorLog = now
    this.#options.logger.warn(message, {
      leader: this.sourceBrokerId,
      ...(partition === undefined ? {} : { topic: partition.topic, partition: partition.index }),
      error
    })
  }
}

function keyOf (p: Partition): string {
  return `${p.topic}-${p.index}`
}
