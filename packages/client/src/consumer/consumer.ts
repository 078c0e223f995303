/**
 * The consumer.
 *
 *     const consumer = createConsumer({ bootstrapServers: 'localhost:9092', groupId: 'billing' })
 *     consumer.subscribe(['orders'])
 *     for await (const record of consumer) {
 *       await handle(record)            // the next read marks this record as processed
 *     }
 *
 *     // or a partition's fetched records at a time:
 *     for await (const batch of consumer.batches()) await handleMany(batch.records)
 *
 *     await consumer.close()            // commits (autoCommit), leaves the group
 *
 * **Reading.** Records come out of an async iterator (`for await (const r of consumer)`, or
 * `consumer.records()`) or, a batch per partition and fetch, out of `consumer.batches()`. One
 * iterator is active at a time; leaving a `for await` loop (break, return, throw) ends it, and
 * a new one continues where it stopped. A record counts as consumed once it has been handed
 * out, and as processed once the application asks for the next one (or ends the loop):
 * auto-commit commits only processed records, so delivery is at least once.
 *
 * **Prefetch and backpressure.** A fetcher keeps Fetch requests in flight ahead of the
 * application, bounded by `maxPrefetchBytes` and `maxPrefetchRecords`: when the application is
 * slow the buffer fills, fetching stops, and resumes as the application catches up. Records
 * are decoded only when the application reaches them.
 *
 * **Groups.** With `groupId`, `subscribe()` joins the group (classic protocol, or KIP-848 with
 * `groupProtocol: 'consumer'`). Heartbeats run on timers, so a slow handler does not lose the
 * membership, but rebalances (revoke, commit, listeners, new partitions) happen while the
 * application reads, never during the processing of a record, as in Kafka's consumer. When the
 * application does not read for `maxPollIntervalMs` the consumer leaves the group, and rejoins
 * on the next read. `assign()` takes partitions without a group (offsets are still read and
 * committed under `groupId` when it is set).
 *
 * **Offsets.** A partition starts from the group's committed offset, else by `autoOffsetReset`
 * ('latest' by default, `fromBeginning` for 'earliest', 'none' to raise an error); `seek()`
 * moves it to an offset, either end, or a time. With `autoCommit` (default) processed offsets
 * are committed every `autoCommitIntervalMs`, before partitions are revoked, and on close;
 * `commit()` commits explicitly.
 *
 * **Transactions.** `isolationLevel: 'read_committed'` (the default) returns only committed
 * transactional records, stopping at the last stable offset; `'read_uncommitted'` returns
 * everything but transaction markers.
 *
 * Errors: every error is a KafkaClientError from this package's catalogue; an iterator's
 * `next()` rejects with fatal group errors (FENCED_INSTANCE_ID...), partition errors
 * (OFFSET_OUT_OF_RANGE with autoOffsetReset 'none', TOPIC_AUTHORIZATION_FAILED, corrupt data;
 * raised until the partition is seeked or unassigned) and errors thrown by rebalance listeners.
 */
import { clearInterval, setInterval } from 'node:timers'
import { ErrorCode, ProtocolDecodeError, DecompressionLimitError } from '@samsa/protocol'
import { Cluster } from '../cluster.ts'
import {
  KafkaClosedError, KafkaCorruptResponseError, KafkaIllegalStateError, KafkaInvalidArgumentError,
  KafkaResponseError, describeValue, toError
} from '../errors.ts'
import type { ConsumerGroupMetadata } from '../producer/transaction-manager.ts'
import { ClassicMembership } from './classic-membership.ts'
import { ConsumerProtocolMembership } from './consumer-membership.ts'
import { type DecodeOptions, type DecodedFetch, FetchBuffer, decodeCompletedFetch } from './fetch-buffer.ts'
import { Fetcher } from './fetcher.ts'
import type { MembershipHost } from './membership.ts'
import { COMMIT_FENCED_ERRORS, type CommitIdentity, type OffsetToStore, commitOffsets, fetchCommittedOffsets } from './offsets.ts'
import { type ConsumerOptions, type ResolvedConsumerOptions, resolveConsumerOptions } from './options.ts'
import { PartitionState, partitionKey, sortTopicPartitions } from './partition-state.ts'
import type {
  CommitOffset, CommittedOffset, ConsumerBatch, ConsumerRecord, RebalanceListener, SeekTarget, SubscribeOptions, TopicPartition
} from './types.ts'

type Subscription =
  | { kind: 'none' }
  | { kind: 'topics', topics: readonly string[] }
  | { kind: 'pattern', pattern: RegExp }
  | { kind: 'manual' }

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined })

/**
 * Lets the event loop turn. An application reading buffered records never leaves the microtask
 * queue (every next() resolves at once), so sockets and timers would wait until the buffer is
 * empty: no response could arrive, no next Fetch go out, while records are handed out. One
 * turn per fetched chunk keeps fetching overlapped with the application.
 */
async function yieldToEventLoop (): Promise<void> {
  await new Promise<void>((resolve) => { setImmediate(resolve) })
}

/** Creates a consumer (nothing connects until it is read from). */
export function createConsumer (options: ConsumerOptions): Consumer {
  return new Consumer(options)
}

function validTopicPartition (tp: unknown): tp is TopicPartition {
  if (typeof tp !== 'object' || tp === null) return false
  const { topic, partition } = tp as TopicPartition
  return typeof topic === 'string' && topic !== '' && Number.isInteger(partition) && partition >= 0
}

function requirePartitions (partitions: readonly TopicPartition[], what: string): void {
  if (!Array.isArray(partitions)) throw new KafkaInvalidArgumentError(`${what} takes an array of { topic, partition }`)
  for (const tp of partitions) {
    if (!validTopicPartition(tp)) throw new KafkaInvalidArgumentError(`${what} takes { topic, partition } items, got '${describeValue(tp)}'`)
  }
}

export class Consumer implements AsyncIterable<ConsumerRecord> {
  /** The consumer's view of the cluster: metadata, broker connections, coordinators. */
  readonly cluster: Cluster
  /** The options after validation, with defaults. */
  readonly options: Readonly<ResolvedConsumerOptions>
  #partitions = new Map<string, PartitionState>()
  #subscription: Subscription = { kind: 'none' }
  #listener: RebalanceListener | null = null
  #buffer = new FetchBuffer()
  #fetcher: Fetcher
  #membership: ClassicMembership | ConsumerProtocolMembership | null = null
  #decode: DecodeOptions
  #metadataMaxAgeMs: number
  #patternRefreshed = false
  // What is being handed out.
  #current: DecodedFetch | null = null
  #index = 0
  #iterating: 'records' | 'batches' | null = null
  /** Bumped when an iterator is claimed or released: a read still pending from an ended iterator returns done. */
  #iteration = 0
  // Waking the application's pending read.
  #attention = true
  #waiter: (() => void) | null = null
  #errors: Error[] = []
  // max.poll.interval.ms: reads counted, read time updated lazily.
  #reads = 0
  #seenReads = -1
  #lastReadAt = Date.now()
  #polling = false
  #autoCommitTimer: ReturnType<typeof setInterval> | null = null
  #autoCommitDue = false
  #autoCommitting = false
  #metadataTimer: ReturnType<typeof setInterval> | null = null
  #closed = false
  #closing: Promise<void> | null = null

  /** Validates the options (throws KafkaInvalidArgumentError); connects lazily. */
  constructor (options: ConsumerOptions) {
    this.options = Object.freeze(resolveConsumerOptions(options))
    this.cluster = new Cluster(options)
    this.#metadataMaxAgeMs = options.metadataMaxAgeMs ?? 300_000
    this.#decode = {
      readCommitted: this.options.isolationLevel === 'read_committed',
      verifyCrc: this.options.checkCrcs,
      maxDecompressedBytes: this.options.maxDecompressedBytes
    }
    this.#fetcher = new Fetcher({
      cluster: this.cluster,
      options: this.options,
      buffer: this.#buffer,
      partitions: () => this.#partitions.values(),
      fetchCommitted: async (states) => await this.#fetchCommitted(states),
      onData: this.#onData,
      onPartitionError: (state, error) => {
        state.error = error
        this.#notify()
      }
    })
  }

  // ------------------------------------------------------------------------------------------
  // State

  /** The group id, or null without one. */
  get groupId (): string | null {
    return this.options.groupId
  }

  /** The member id the group gave this consumer ('' outside a group or before joining). */
  get memberId (): string {
    return this.#activeMembership()?.memberId ?? ''
  }

  /** Classic: the group generation; KIP-848: the member epoch; -1 outside a group. */
  get generationId (): number {
    return this.#activeMembership()?.generationId ?? -1
  }

  /** Record bytes fetched and not yet processed by the application (including the batch being handed out). */
  get bufferedBytes (): number {
    return this.#buffer.bytes
  }

  /** Records fetched and not yet processed by the application (including the batch being handed out). */
  get bufferedRecords (): number {
    return this.#buffer.records
  }

  /** What the consumer subscribes to: topic names, a pattern, or null (none, or manual assignment). */
  subscription (): readonly string[] | RegExp | null {
    const s = this.#subscription
    return s.kind === 'topics' ? [...s.topics] : s.kind === 'pattern' ? s.pattern : null
  }

  /** The partitions the consumer owns now, sorted. */
  assignment (): TopicPartition[] {
    return sortTopicPartitions([...this.#partitions.values()].map((s) => ({ topic: s.topic, partition: s.partition })))
  }

  /** The group membership, for a transactional producer's sendOffsets() (KIP-447 fencing). */
  groupMetadata (): ConsumerGroupMetadata {
    const groupId = this.#requireGroup('groupMetadata()')
    return { groupId, generationId: this.generationId, memberId: this.memberId, groupInstanceId: this.options.groupInstanceId }
  }

  #ensureOpen (): void {
    if (this.#closed || this.#closing !== null) throw new KafkaClosedError('The consumer is closed')
  }

  #requireGroup (what: string): string {
    const groupId = this.options.groupId
    if (groupId === null) throw new KafkaInvalidArgumentError(`${what} needs the 'groupId' option`)
    return groupId
  }

  #state (tp: TopicPartition, what: string): PartitionState {
    if (!validTopicPartition(tp)) throw new KafkaInvalidArgumentError(`${what} takes a { topic, partition }, got '${describeValue(tp)}'`)
    const state = this.#partitions.get(partitionKey(tp.topic, tp.partition))
    if (state === undefined) throw new KafkaIllegalStateError(`No current assignment for partition '${tp.topic}-${tp.partition}'`)
    return state
  }

  // ------------------------------------------------------------------------------------------
  // Subscription and assignment

  /**
   * Subscribes to topics, or to every topic whose name matches a pattern (checked again every
   * `metadataMaxAgeMs`), as a member of the group `groupId`. Replaces the previous
   * subscription; the group rebalances. Joining happens on the first read. Throws
   * KafkaIllegalStateError after assign() (call unsubscribe() first).
   */
  subscribe (topics: string | readonly string[] | RegExp, options: SubscribeOptions = {}): void {
    this.#ensureOpen()
    this.#requireGroup('subscribe()')
    if (this.#subscription.kind === 'manual') throw new KafkaIllegalStateError('Cannot subscribe() after assign(): call unsubscribe() first')
    if (typeof options !== 'object' || options === null) throw new KafkaInvalidArgumentError('Subscribe options must be an object')
    const listener = options.listener ?? null
    if (listener !== null && (typeof listener !== 'object')) throw new KafkaInvalidArgumentError("Option 'listener' must be an object of callbacks")
    if (topics instanceof RegExp) {
      this.#subscription = { kind: 'pattern', pattern: new RegExp(topics.source, topics.flags.replace(/[gy]/g, '')) }
      this.#patternRefreshed = false
    } else {
      const list = typeof topics === 'string' ? [topics] : topics
      if (!Array.isArray(list) || list.length === 0 || list.some((t) => typeof t !== 'string' || t === '')) {
        throw new KafkaInvalidArgumentError('subscribe() takes a topic, a non-empty array of topics, or a RegExp')
      }
      const names = [...new Set(list)].sort()
      this.#subscription = { kind: 'topics', topics: names }
      this.cluster.trackTopics(names)
    }
    this.#listener = listener
    if (this.#membership === null) {
      this.#membership = this.options.groupProtocol === 'consumer'
        ? new ConsumerProtocolMembership(this.#membershipHost())
        : new ClassicMembership(this.#membershipHost())
    } else {
      this.#membership.restart()
      this.#membership.subscriptionChanged()
    }
    this.#startTimers()
    this.#notify()
  }

  /**
   * Gives up the subscription or the manual assignment: with a group, commits (autoCommit),
   * calls onPartitionsRevoked and leaves the group.
   */
  async unsubscribe (): Promise<void> {
    this.#ensureOpen()
    const owned = this.assignment()
    const membership = this.#activeMembership()
    if (membership !== null) {
      if (owned.length > 0) await this.#revoke(owned)
      await membership.leave('the consumer unsubscribed')
    } else if (owned.length > 0) {
      if (this.options.autoCommit && this.options.groupId !== null) await this.#commitConsumed(true).catch(() => {})
      this.#remove(owned)
    }
    if (this.#subscription.kind === 'topics') this.cluster.untrackTopics(this.#subscription.topics)
    this.#subscription = { kind: 'none' }
    this.#listener = null
  }

  /**
   * Takes these partitions, without a group (Kafka's assign()): they replace the previous
   * manual assignment. Each starts at the committed offset of `groupId` if there is one, else
   * by `autoOffsetReset`, unless seeked. Throws KafkaIllegalStateError while subscribed.
   */
  assign (partitions: readonly TopicPartition[]): void {
    this.#ensureOpen()
    requirePartitions(partitions, 'assign()')
    const kind = this.#subscription.kind
    if (kind === 'topics' || kind === 'pattern') throw new KafkaIllegalStateError('Cannot assign() while subscribed: call unsubscribe() first')
    this.#syncCurrent()
    const wanted = new Map(partitions.map((tp) => [partitionKey(tp.topic, tp.partition), tp]))
    const removed = this.assignment().filter((tp) => !wanted.has(partitionKey(tp.topic, tp.partition)))
    if (removed.length > 0) {
      if (this.options.autoCommit && this.options.groupId !== null) this.#commitConsumed(true).catch(() => {})
      this.#remove(removed)
    }
    this.#add([...wanted.values()].filter((tp) => !this.#partitions.has(partitionKey(tp.topic, tp.partition))))
    this.#subscription = partitions.length === 0 ? { kind: 'none' } : { kind: 'manual' }
    const topics = [...new Set(partitions.map((tp) => tp.topic))]
    this.cluster.trackTopics(topics)
    if (topics.length > 0) this.cluster.refreshMetadata({ topics }).then(() => this.#fetcher.wake(), () => this.#fetcher.wake())
    this.#startTimers()
    this.#notify()
  }

  #add (partitions: readonly TopicPartition[]): void {
    const lookup = this.options.groupId === null ? 'policy' : 'committed'
    for (const tp of partitions) {
      const key = partitionKey(tp.topic, tp.partition)
      if (!this.#partitions.has(key)) this.#partitions.set(key, new PartitionState(tp.topic, tp.partition, lookup))
    }
    this.#fetcher.wake()
  }

  #remove (partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const key = partitionKey(tp.topic, tp.partition)
      const state = this.#partitions.get(key)
      if (state === undefined) continue
      state.assigned = false
      state.epoch++
      this.#partitions.delete(key)
    }
    this.#buffer.purge()
    this.#fetcher.wake()
  }

  #subscribedTopics (): string[] {
    const s = this.#subscription
    if (s.kind === 'topics') return [...s.topics]
    if (s.kind !== 'pattern') return []
    const out: string[] = []
    for (const t of this.cluster.metadata.topics.values()) {
      if (!t.isInternal && t.errorCode === 0 && s.pattern.test(t.name)) out.push(t.name)
    }
    return out.sort()
  }

  #membershipHost (): MembershipHost {
    const groupId = this.options.groupId!
    return {
      cluster: this.cluster,
      options: this.options,
      groupId,
      subscribedTopics: () => this.#subscribedTopics(),
      owned: () => this.assignment(),
      revoke: async (partitions) => { await this.#revoke(partitions) },
      lose: async (partitions) => {
        this.#syncCurrent()
        const listener = this.#listener
        await this.#callListener(listener?.onPartitionsLost ?? listener?.onPartitionsRevoked, partitions)
        this.#remove(partitions)
      },
      assign: async (partitions) => {
        this.cluster.trackTopics(new Set(partitions.map((tp) => tp.topic)))
        this.#add(partitions)
        await this.#callListener(this.#listener?.onPartitionsAssigned, partitions)
        this.#fetcher.wake()
      },
      attention: () => { this.#notify() },
      pollTimedOut: () => this.#pollTimedOut()
    }
  }

  async #revoke (partitions: TopicPartition[]): Promise<void> {
    this.#syncCurrent()
    if (this.options.autoCommit) await this.#commitConsumed(true).catch(() => {})
    await this.#callListener(this.#listener?.onPartitionsRevoked, partitions)
    this.#remove(partitions)
  }

  async #callListener (fn: ((partitions: TopicPartition[]) => void | Promise<void>) | undefined, partitions: TopicPartition[]): Promise<void> {
    if (fn === undefined) return
    try {
      await fn(partitions.map((tp) => ({ topic: tp.topic, partition: tp.partition })))
    } catch (error) {
      this.#errors.push(toError(error))
      this.#notify()
    }
  }

  #pollTimedOut (): boolean {
    const now = Date.now()
    if (this.#polling || this.#reads !== this.#seenReads) {
      this.#seenReads = this.#reads
      this.#lastReadAt = now
      return false
    }
    return now - this.#lastReadAt > this.options.maxPollIntervalMs
  }

  #startTimers (): void {
    if (this.#autoCommitTimer === null && this.options.autoCommit && this.options.groupId !== null) {
      this.#autoCommitTimer = setInterval(() => {
        this.#autoCommitDue = true
        this.#notify()
      }, this.options.autoCommitIntervalMs)
      this.#autoCommitTimer.unref()
    }
    if (this.#metadataTimer === null) {
      this.#metadataTimer = setInterval(() => {
        const pattern = this.#subscription.kind === 'pattern'
        if (this.#subscription.kind === 'none') return
        this.cluster.refreshMetadata(pattern ? { topics: null } : {}).then(() => {
          this.#membership?.subscriptionChanged()
          this.#fetcher.wake()
        }, () => {})
      }, this.#metadataMaxAgeMs)
      this.#metadataTimer.unref()
    }
  }

  #stopTimers (): void {
    if (this.#autoCommitTimer !== null) clearInterval(this.#autoCommitTimer)
    if (this.#metadataTimer !== null) clearInterval(this.#metadataTimer)
    this.#autoCommitTimer = null
    this.#metadataTimer = null
  }

  // ------------------------------------------------------------------------------------------
  // Positions

  /**
   * Moves a partition (which the consumer must own) to an offset, to its first or last offset,
   * or to the first record at or after a time; buffered records of the partition are dropped.
   * Offsets and ends take effect at once, a time once ListOffsets answers. In a group, seek in
   * onPartitionsAssigned to start new partitions elsewhere than the committed offset.
   */
  seek (partition: TopicPartition, to: SeekTarget): void {
    this.#ensureOpen()
    const state = this.#state(partition, 'seek()')
    if (typeof to === 'bigint' || typeof to === 'number') {
      const offset = Number(to)
      if (!Number.isSafeInteger(offset) || offset < 0) throw new KafkaInvalidArgumentError(`seek() takes an offset of at least 0, got '${String(to)}'`)
      state.moveTo(offset)
    } else if (to === 'earliest' || to === 'latest') {
      state.reset(to)
    } else if (typeof to === 'object' && to !== null && Number.isSafeInteger(to.timestamp) && to.timestamp >= 0) {
      state.reset({ timestamp: to.timestamp })
    } else {
      throw new KafkaInvalidArgumentError(`seek() takes an offset, 'earliest', 'latest' or { timestamp }, got '${describeValue(to)}'`)
    }
    this.#buffer.purge()
    this.#fetcher.wake()
    this.#notify()
  }

  /** Moves partitions (default: all owned) to their first offset (Kafka's seekToBeginning). */
  seekToBeginning (partitions?: readonly TopicPartition[]): void {
    for (const tp of partitions ?? this.assignment()) this.seek(tp, 'earliest')
  }

  /** Moves partitions (default: all owned) to their end: the high watermark, or the last stable offset under read_committed. */
  seekToEnd (partitions?: readonly TopicPartition[]): void {
    for (const tp of partitions ?? this.assignment()) this.seek(tp, 'latest')
  }

  /** The offset of the next record the application will get from a partition, or null while it is being looked up. */
  position (partition: TopicPartition): bigint | null {
    const state = this.#state(partition, 'position()')
    this.#syncCurrent()
    return state.consumed >= 0 && state.lookup === null ? BigInt(state.consumed) : null
  }

  /**
   * The partition's high watermark (or last stable offset under read_committed) minus its
   * position, from the last fetch; null until both are known.
   */
  lag (partition: TopicPartition): bigint | null {
    const state = this.#state(partition, 'lag()')
    this.#syncCurrent()
    const end = this.options.isolationLevel === 'read_committed' && state.lastStableOffset >= 0 ? state.lastStableOffset : state.highWatermark
    if (end < 0 || state.consumed < 0) return null
    return BigInt(Math.max(0, end - state.consumed))
  }

  /** Stops fetching and handing out records of these partitions until resume(); what was fetched ahead is dropped. */
  pause (partitions: readonly TopicPartition[]): void {
    requirePartitions(partitions, 'pause()')
    this.#syncCurrent()
    for (const tp of partitions) {
      const state = this.#state(tp, 'pause()')
      if (state.paused) continue
      state.paused = true
      state.rewind()
    }
    this.#buffer.purge()
    this.#fetcher.wake()
  }

  resume (partitions: readonly TopicPartition[]): void {
    requirePartitions(partitions, 'resume()')
    for (const tp of partitions) this.#state(tp, 'resume()').paused = false
    this.#fetcher.wake()
    this.#notify()
  }

  /** The paused partitions, sorted. */
  paused (): TopicPartition[] {
    return sortTopicPartitions([...this.#partitions.values()].filter((s) => s.paused).map((s) => ({ topic: s.topic, partition: s.partition })))
  }

  // ------------------------------------------------------------------------------------------
  // Offsets

  /**
   * Commits offsets to the group: the given ones, or else the position of every owned partition
   * (after the last record handed out). In a group, rejects with KafkaResponseError
   * REBALANCE_IN_PROGRESS while (re)joining, and ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID or
   * STALE_MEMBER_EPOCH when the member was fenced (the consumer then rejoins); other partition
   * failures reject with KafkaPartialFailureError.
   */
  async commit (offsets?: readonly CommitOffset[]): Promise<void> {
    this.#ensureOpen()
    const groupId = this.#requireGroup('commit()')
    let list: OffsetToStore[]
    if (offsets === undefined) {
      this.#syncCurrent()
      list = this.#consumedOffsets(false)
    } else {
      requirePartitions(offsets, 'commit()')
      list = offsets.map((o) => {
        const offset = Number(o.offset)
        if (!Number.isSafeInteger(offset) || offset < 0) throw new KafkaInvalidArgumentError(`commit() takes offsets of at least 0, got '${String(o.offset)}'`)
        return { topic: o.topic, partition: o.partition, offset, leaderEpoch: o.leaderEpoch ?? -1, metadata: o.metadata ?? null }
      })
    }
    await this.#commit(groupId, list)
  }

  async #commit (groupId: string, list: OffsetToStore[]): Promise<void> {
    if (list.length === 0) return
    const membership = this.#activeMembership()
    const identity: CommitIdentity = membership?.commitIdentity() ?? {
      generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, consumerProtocol: false
    }
    if (membership !== null && membership.generationId < 0) {
      throw new KafkaResponseError(ErrorCode.REBALANCE_IN_PROGRESS, 'The consumer is joining its group: commit after the rebalance', { api: 'OffsetCommit', resource: groupId })
    }
    try {
      await commitOffsets(this.cluster, groupId, list, identity)
    } catch (error) {
      if (error instanceof KafkaResponseError && COMMIT_FENCED_ERRORS.has(error.errorCode)) membership?.commitFenced()
      throw error
    }
    for (const o of list) {
      const state = this.#partitions.get(partitionKey(o.topic, o.partition))
      if (state !== undefined && o.offset > state.committed) state.committed = o.offset
    }
  }

  /** The positions of owned partitions (only those that moved since their last commit with `changedOnly`). */
  #consumedOffsets (changedOnly: boolean): OffsetToStore[] {
    const out: OffsetToStore[] = []
    for (const s of this.#partitions.values()) {
      if (s.consumed < 0 || (changedOnly && s.consumed === s.committed)) continue
      out.push({ topic: s.topic, partition: s.partition, offset: s.consumed, leaderEpoch: s.consumedLeaderEpoch, metadata: null })
    }
    return out
  }

  async #commitConsumed (changedOnly: boolean): Promise<void> {
    const groupId = this.options.groupId
    if (groupId === null) return
    this.#syncCurrent()
    await this.#commit(groupId, this.#consumedOffsets(changedOnly))
  }

  /** The group's committed offsets for partitions (offset -1n where none). */
  async committed (partitions: readonly TopicPartition[]): Promise<CommittedOffset[]> {
    this.#ensureOpen()
    const groupId = this.#requireGroup('committed()')
    requirePartitions(partitions, 'committed()')
    const found = await fetchCommittedOffsets(this.cluster, groupId, partitions, this.#fetchIdentity())
    return partitions.map((tp) => found.get(partitionKey(tp.topic, tp.partition)) ?? { topic: tp.topic, partition: tp.partition, offset: -1n, leaderEpoch: -1, metadata: null })
  }

  /** The membership while subscribed (after unsubscribe() it is kept, idle, for a later subscribe()). */
  #activeMembership (): ClassicMembership | ConsumerProtocolMembership | null {
    const kind = this.#subscription.kind
    return kind === 'topics' || kind === 'pattern' ? this.#membership : null
  }

  #fetchIdentity (): { memberId: string | null, memberEpoch: number, consumerProtocol: boolean } {
    const m = this.#activeMembership()
    if (m instanceof ConsumerProtocolMembership && m.generationId >= 0) return { memberId: m.memberId, memberEpoch: m.memberEpoch, consumerProtocol: true }
    return { memberId: null, memberEpoch: -1, consumerProtocol: false }
  }

  async #fetchCommitted (states: readonly PartitionState[]): Promise<Map<string, CommittedOffset>> {
    const groupId = this.options.groupId
    if (groupId === null) return new Map()
    return await fetchCommittedOffsets(this.cluster, groupId, states.map((s) => ({ topic: s.topic, partition: s.partition })), this.#fetchIdentity())
  }

  // ------------------------------------------------------------------------------------------
  // Reading

  [Symbol.asyncIterator] (): AsyncIterableIterator<ConsumerRecord> {
    return this.records()
  }

  /**
   * An async iterator of records (what `for await (const record of consumer)` uses). Only one
   * iterator (records() or batches()) may be active: KafkaIllegalStateError otherwise. It ends
   * when the consumer is closed.
   */
  records (): AsyncIterableIterator<ConsumerRecord> {
    const id = this.#claim('records')
    const iterator: AsyncIterableIterator<ConsumerRecord> = {
      next: () => id === this.#iteration ? this.#nextRecord() : Promise.resolve(DONE),
      return: () => Promise.resolve(id === this.#iteration ? this.#release() : DONE),
      [Symbol.asyncIterator]: () => iterator
    }
    return iterator
  }

  /**
   * An async iterator of batches: the records of one partition from one fetch at a time, in
   * order (see {@link ConsumerBatch}). A batch counts as processed when the next one is asked
   * for. Only one iterator may be active at a time.
   */
  batches (): AsyncIterableIterator<ConsumerBatch> {
    const id = this.#claim('batches')
    const iterator: AsyncIterableIterator<ConsumerBatch> = {
      next: () => id === this.#iteration ? this.#nextBatch() : Promise.resolve(DONE),
      return: () => Promise.resolve(id === this.#iteration ? this.#release() : DONE),
      [Symbol.asyncIterator]: () => iterator
    }
    return iterator
  }

  #claim (kind: 'records' | 'batches'): number {
    this.#ensureOpen()
    if (this.#iterating !== null) throw new KafkaIllegalStateError(`The consumer is already being read (${this.#iterating}()): end that loop first`)
    this.#iterating = kind
    return ++this.#iteration
  }

  #release (): IteratorReturnResult<undefined> {
    if (this.#iterating === null) return DONE
    this.#syncCurrent()
    this.#iterating = null
    this.#iteration++
    // A read still pending from this iterator wakes up and ends.
    this.#onData()
    return DONE
  }

  #nextRecord (): Promise<IteratorResult<ConsumerRecord>> {
    this.#reads++
    const cur = this.#current
    if (!this.#attention && cur !== null) {
      const i = this.#index
      const fetch = cur.fetch
      if (i < cur.records.length && fetch.epoch === fetch.state.epoch) {
        this.#index = i + 1
        return Promise.resolve({ value: cur.records[i]!, done: false })
      }
    }
    return this.#slowRecord()
  }

  async #slowRecord (): Promise<IteratorResult<ConsumerRecord>> {
    const iteration = this.#iteration
    if (this.#iterating === null) return DONE
    this.#polling = true
    let turned = false
    try {
      for (;;) {
        if (!await this.#poll()) return this.#release()
        if (iteration !== this.#iteration) return DONE
        const cur = this.#current
        if (cur !== null && this.#index < cur.records.length && cur.fetch.epoch === cur.fetch.state.epoch) {
          return { value: cur.records[this.#index++]!, done: false }
        }
        if (!turned) {
          turned = true
          await yieldToEventLoop()
          continue
        }
        if (!this.#advance()) await this.#wait()
      }
    } catch (error) {
      if (this.#closed || this.#closing !== null) return this.#release()
      if (iteration !== this.#iteration) return DONE
      throw error
    } finally {
      this.#polling = false
    }
  }

  async #nextBatch (): Promise<IteratorResult<ConsumerBatch>> {
    const iteration = this.#iteration
    if (this.#iterating === null) return DONE
    this.#reads++
    this.#polling = true
    let turned = false
    try {
      // The previous batch is processed.
      if (this.#current !== null) this.#index = this.#current.records.length
      for (;;) {
        if (!await this.#poll()) return this.#release()
        if (iteration !== this.#iteration) return DONE
        const cur = this.#current
        if (cur !== null && this.#index < cur.records.length && cur.fetch.epoch === cur.fetch.state.epoch) {
          const records = this.#index === 0 ? cur.records : cur.records.slice(this.#index)
          this.#index = cur.records.length
          const f = cur.fetch
          return {
            done: false,
            value: {
              topic: f.state.topic,
              partition: f.state.partition,
              records,
              nextOffset: BigInt(f.nextOffset),
              highWatermark: BigInt(f.highWatermark),
              lastStableOffset: BigInt(f.lastStableOffset),
              logStartOffset: BigInt(f.logStartOffset)
            }
          }
        }
        if (!turned) {
          turned = true
          await yieldToEventLoop()
          continue
        }
        if (!this.#advance()) await this.#wait()
      }
    } catch (error) {
      if (this.#closed || this.#closing !== null) return this.#release()
      if (iteration !== this.#iteration) return DONE
      throw error
    } finally {
      this.#polling = false
    }
  }

  /**
   * One pass of the read loop's housekeeping: surfaces errors, runs the group's work and due
   * auto-commits. Returns false once the consumer is closed.
   */
  async #poll (): Promise<boolean> {
    this.#attention = false
    if (this.#closed || this.#closing !== null) return false
    const error = this.#errors.shift()
    if (error !== undefined) throw error
    for (const state of this.#partitions.values()) if (state.error !== null) throw state.error
    const membership = this.#activeMembership()
    if (membership !== null) {
      if (this.#subscription.kind === 'pattern' && !this.#patternRefreshed) {
        await this.cluster.refreshMetadata({ topics: null })
        this.#patternRefreshed = true
      }
      await membership.poll()
    }
    if (this.#autoCommitDue && !this.#autoCommitting) {
      this.#autoCommitDue = false
      this.#autoCommitting = true
      // Like Kafka's auto-commit: asynchronous; offsets are taken now, when all handed out records are processed.
      this.#commitConsumed(true).catch(() => {}).finally(() => { this.#autoCommitting = false })
    }
    if (this.#closed || this.#closing !== null) return false
    return true
  }

  /** Settles what is being handed out and moves to the next buffered fetch; false when there is none. */
  #advance (): boolean {
    this.#settleCurrent()
    const options = this.#decode
    for (;;) {
      const fetch = this.#buffer.next()
      if (fetch === undefined) return false
      const state = fetch.state
      if (state.paused) {
        this.#buffer.release(fetch)
        continue
      }
      let decoded: DecodedFetch
      try {
        decoded = decodeCompletedFetch(fetch, options)
      } catch (error) {
        this.#buffer.release(fetch)
        if (!(error instanceof ProtocolDecodeError) && !(error instanceof DecompressionLimitError)) throw error
        state.error = new KafkaCorruptResponseError(`Corrupt record batch in '${state.topic}-${state.partition}' after offset ${state.consumed}: ${error.message}`, { cause: error })
        this.#attention = true
        this.#fetcher.wake()
        return true
      }
      this.#current = decoded
      this.#index = 0
      if (decoded.records.length > 0) return true
      this.#settleCurrent()
    }
  }

  /** Releases the fetch being handed out once all of it is delivered; its partition's position moves past it. */
  #settleCurrent (): void {
    const cur = this.#current
    if (cur === null) return
    const fetch = cur.fetch
    if (this.#index >= cur.records.length) {
      if (fetch.epoch === fetch.state.epoch) {
        const state = fetch.state
        state.consumed = fetch.nextOffset
        const last = cur.records[cur.records.length - 1]
        if (last !== undefined) state.consumedLeaderEpoch = last.leaderEpoch
      }
    } else if (fetch.epoch === fetch.state.epoch) {
      return
    }
    this.#current = null
    this.#index = 0
    this.#buffer.release(fetch)
    this.#fetcher.wake()
  }

  /** Brings the consumed position of the partition being handed out up to date. */
  #syncCurrent (): void {
    const cur = this.#current
    if (cur === null || this.#index === 0) return
    const fetch = cur.fetch
    if (fetch.epoch !== fetch.state.epoch) return
    if (this.#index >= cur.records.length) {
      this.#settleCurrent()
      return
    }
    const last = cur.records[this.#index - 1]!
    fetch.state.consumed = Number(last.offset) + 1
    fetch.state.consumedLeaderEpoch = last.leaderEpoch
  }

  #wait (): Promise<void> {
    if (this.#attention) return Promise.resolve()
    this.#fetcher.wake()
    return new Promise<void>((resolve) => { this.#waiter = resolve })
  }

  #onData = (): void => {
    const waiter = this.#waiter
    if (waiter !== null) {
      this.#waiter = null
      waiter()
    }
  }

  #notify (): void {
    this.#attention = true
    this.#onData()
  }

  // ------------------------------------------------------------------------------------------
  // Closing

  /**
   * Closes the consumer: with a group, commits processed offsets (autoCommit), calls
   * onPartitionsRevoked and leaves the group (static members stay until their session
   * expires), then closes every connection. A pending read ends (done); later calls reject
   * with KafkaClosedError.
   */
  async close (): Promise<void> {
    this.#closing ??= (async () => {
      this.#stopTimers()
      this.#notify()
      try {
        const membership = this.#activeMembership()
        const owned = this.assignment()
        if (membership !== null) {
          this.#syncCurrent()
          if (membership.generationId >= 0) {
            if (this.options.autoCommit) await this.#commitConsumed(true).catch(() => {})
            if (owned.length > 0) await this.#callListener(this.#listener?.onPartitionsRevoked, owned)
          }
          await membership.leave('the consumer is closing').catch(() => {})
        } else if (this.options.autoCommit && this.options.groupId !== null && owned.length > 0) {
          await this.#commitConsumed(true).catch(() => {})
        }
      } finally {
        this.#closed = true
        this.#membership?.stop()
        this.#fetcher.close()
        this.#buffer.clear()
        this.#current = null
        this.#notify()
        await this.cluster.close()
      }
    })()
    await this.#closing
  }
}
