/**
 * The fetcher: finds positions for partitions that have none (committed offset, then
 * `autoOffsetReset`, or a seek target, through OffsetFetch and ListOffsets), and keeps one Fetch
 * in flight per partition leader while the prefetch buffer has room, on its own connection
 * (channel 'fetch') so that long polls never delay group requests.
 *
 * Requests use the highest Fetch version both sides support (topic ids from v13 when every
 * topic's id is known) and an incremental fetch session per broker (KIP-227) unless turned off.
 * Request `maxBytes` is the room left in the buffer, counting bytes other requests in flight
 * may bring, so the buffer stays within `maxPrefetchBytes`; no request goes out while the
 * buffer holds `maxPrefetchRecords`.
 *
 * Partition errors: OFFSET_OUT_OF_RANGE resets the position by `autoOffsetReset` (or stops the
 * partition with the error for 'none'); leadership and topic errors (NOT_LEADER_OR_FOLLOWER,
 * FENCED_LEADER_EPOCH, UNKNOWN_TOPIC_ID...) refresh metadata and retry after a backoff; other
 * non-retriable errors stop the partition until it is seeked, and are raised to the application.
 */
import { clearTimeout, setTimeout } from 'node:timers'
import { ErrorCode, FetchApi, ZERO_UUID } from '@samsa/protocol'
import type { FetchRequest, FetchResponse, FetchTopic, ForgottenTopic, PartitionData } from '@samsa/protocol/messages/fetch'
import type { Cluster } from '../cluster.ts'
import type { Connection } from '../connection.ts'
import {
  KafkaClientError, KafkaClosedError, KafkaCorruptResponseError, KafkaPartialFailureError, KafkaRecordTooLargeError,
  KafkaResponseError
} from '../errors.ts'
import { listOffsets } from '../admin/records.ts'
import { type CompletedFetch, type FetchBuffer, scanRecordSet } from './fetch-buffer.ts'
import { FetchSessionHandler, type SessionPartition, type SessionRequest } from './fetch-session.ts'
import type { ResolvedConsumerOptions } from './options.ts'
import type { PartitionState } from './partition-state.ts'
import type { CommittedOffset } from './types.ts'

/** What the fetcher needs from the consumer. */
export interface FetcherHost {
  readonly cluster: Cluster
  readonly options: ResolvedConsumerOptions
  readonly buffer: FetchBuffer
  /** The assigned partitions. */
  partitions: () => Iterable<PartitionState>
  /** The group's committed offsets for these partitions, by partition key. */
  fetchCommitted: (states: readonly PartitionState[]) => Promise<Map<string, CommittedOffset>>
  /** New data is buffered, or a partition changed state. */
  onData: () => void
  /** A partition stopped with an error the application must see. */
  onPartitionError: (state: PartitionState, error: KafkaClientError) => void
}

interface NodeState {
  readonly session: FetchSessionHandler
  connection: Connection | null
  inFlight: boolean
  backoffUntil: number
}

/** A partition as sent, with the epoch it was sent under. */
interface SentPartition extends SessionPartition {
  readonly state: PartitionState
  readonly epoch: number
}

/** Partition errors after which metadata is refreshed and the fetch retried. */
const REFRESH_METADATA_ERRORS = new Set<number>([
  ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_ID, ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH, ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.KAFKA_STORAGE_ERROR, ErrorCode.OFFSET_NOT_AVAILABLE,
  ErrorCode.INCONSISTENT_TOPIC_ID, ErrorCode.REPLICA_NOT_AVAILABLE, ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR
])

const SESSION_ERRORS = new Set<number>([ErrorCode.FETCH_SESSION_ID_NOT_FOUND, ErrorCode.INVALID_FETCH_SESSION_EPOCH, ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR])

/** No Fetch is sent for less room than this share of the prefetch budget (or one partition's bytes). */
const MIN_ROOM_SHARE = 2

export class Fetcher {
  #host: FetcherHost
  #nodes = new Map<number, NodeState>()
  #scheduled = false
  #resolving = false
  #resolveBackoffUntil = 0
  #resolveFailures = 0
  #refreshing = false
  #timer: ReturnType<typeof setTimeout> | null = null
  #timerAt = Infinity
  #closed = false
  #isolationLevel: number

  constructor (host: FetcherHost) {
    this.#host = host
    this.#isolationLevel = host.options.isolationLevel === 'read_committed' ? 1 : 0
  }

  /** Fetch requests in flight. */
  get inFlight (): number {
    let n = 0
    for (const node of this.#nodes.values()) if (node.inFlight) n++
    return n
  }

  /** Runs a fetch cycle soon (coalesced): after data was consumed, a seek, an assignment... */
  wake (): void {
    if (this.#scheduled || this.#closed) return
    this.#scheduled = true
    setImmediate(this.#cycle)
  }

  close (): void {
    this.#closed = true
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }

  #wakeAt (at: number): void {
    if (this.#closed || at >= this.#timerAt) return
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timerAt = at
    this.#timer = setTimeout(() => {
      this.#timer = null
      this.#timerAt = Infinity
      this.wake()
    }, Math.max(1, at - Date.now()))
    this.#timer.unref()
  }

  #cycle = (): void => {
    this.#scheduled = false
    if (this.#closed || this.#host.cluster.closed) return
    const now = Date.now()
    const options = this.#host.options
    const cluster = this.#host.cluster
    let needPositions = false
    const byNode = new Map<number, PartitionState[]>()
    let leaderless = false
    for (const state of this.#host.partitions()) {
      if (!state.assigned || state.paused || state.error !== null) continue
      if (state.fetchPosition < 0) {
        needPositions = true
        continue
      }
      if (state.backoffUntil > now) {
        this.#wakeAt(state.backoffUntil)
        continue
      }
      const leader = cluster.leaderFor(state.topic, state.partition)
      if (leader < 0) {
        leaderless = true
        continue
      }
      const list = byNode.get(leader)
      if (list === undefined) byNode.set(leader, [state])
      else list.push(state)
    }
    if (needPositions) this.#resolvePositions(now)
    if (leaderless) this.#refreshMetadata()
    const buffer = this.#host.buffer
    if (buffer.records >= options.maxPrefetchRecords) return
    for (const [nodeId, states] of byNode) {
      let node = this.#nodes.get(nodeId)
      if (node === undefined) {
        node = { session: new FetchSessionHandler(), connection: null, inFlight: false, backoffUntil: 0 }
        this.#nodes.set(nodeId, node)
      }
      if (node.inFlight) continue
      if (node.backoffUntil > now) {
        this.#wakeAt(node.backoffUntil)
        continue
      }
      const room = options.maxPrefetchBytes - buffer.bytes - buffer.reserved
      if (room < Math.min(options.maxPartitionFetchBytes, Math.ceil(options.maxPrefetchBytes / MIN_ROOM_SHARE))) return
      this.#fetch(nodeId, node, states, Math.min(options.fetchMaxBytes, room)).catch(() => {})
    }
  }

  async #fetch (nodeId: number, node: NodeState, states: PartitionState[], maxBytes: number): Promise<void> {
    const host = this.#host
    const options = host.options
    const cluster = host.cluster
    const buffer = host.buffer
    node.inFlight = true
    buffer.reserved += maxBytes
    let request: SessionRequest | null = null
    try {
      // The pooled connection is kept at hand, so that the next Fetch leaves as soon as a response is in.
      let connection = node.connection
      if (connection === null || connection.closed) connection = node.connection = await cluster.connection(nodeId, { channel: 'fetch' })
      let allIds = true
      const wanted = new Map<string, SentPartition>()
      for (const state of states) {
        const topic = cluster.topic(state.topic)
        const topicId = topic?.topicId ?? ZERO_UUID
        if (topicId === ZERO_UUID) allIds = false
        wanted.set(state.key, {
          key: state.key,
          topic: state.topic,
          topicId,
          partition: state.partition,
          fetchOffset: state.fetchPosition,
          maxBytes: options.maxPartitionFetchBytes,
          leaderEpoch: topic?.partitions[state.partition]?.leaderEpoch ?? -1,
          state,
          epoch: state.epoch
        })
      }
      const version = connection.versionFor(FetchApi, { minVersion: 4, ...(allIds ? {} : { maxVersion: 12 }) })
      const topicIds = version >= 13
      request = node.session.build(wanted, { sessions: options.fetchSessions && version >= 7, topicIds })
      const body: FetchRequest = {
        ...FetchApi.request.create(),
        replicaId: -1,
        maxWaitMs: options.fetchMaxWaitMs,
        minBytes: options.fetchMinBytes,
        maxBytes,
        isolationLevel: this.#isolationLevel,
        sessionId: request.sessionId,
        sessionEpoch: request.sessionEpoch,
        topics: toFetchTopics(request.toSend),
        forgottenTopicsData: toForgottenTopics(request.toForget, topicIds),
        rackId: options.clientRack ?? ''
      }
      const response = await connection.request(FetchApi, body, { version, timeoutMs: options.requestTimeoutMs + options.fetchMaxWaitMs })
      if (this.#closed) return
      if (response.errorCode !== 0) {
        node.session.handleError(response.errorCode === ErrorCode.FETCH_SESSION_ID_NOT_FOUND)
        if (!SESSION_ERRORS.has(response.errorCode)) node.backoffUntil = Date.now() + options.retryBackoffMs
        if (response.errorCode === ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR) this.#refreshMetadata()
        return
      }
      node.session.handleResponse(request, response.sessionId)
      this.#handleResponse(request, response, topicIds)
    } catch (error) {
      node.session.handleError(false)
      if (this.#closed || error instanceof KafkaClosedError) return
      node.backoffUntil = Date.now() + Math.max(1, options.retryBackoffMs)
      this.#refreshMetadata()
    } finally {
      buffer.reserved -= maxBytes
      node.inFlight = false
      // At once rather than on the next turn: the application may be handing out buffered records
      // in a long run of microtasks, and the broker should not wait for it.
      if (!this.#closed) this.#cycle()
    }
  }

  #handleResponse (request: SessionRequest, response: FetchResponse, topicIds: boolean): void {
    const partitions = request.partitions as ReadonlyMap<string, SentPartition>
    let byName: Map<string, string> | null = null
    let delivered = false
    for (const t of response.responses) {
      let topic = t.topic
      if (topicIds) {
        if (byName === null) {
          byName = new Map()
          for (const p of partitions.values()) byName.set(p.topicId, p.topic)
        }
        topic = byName.get(t.topicId) ?? this.#host.cluster.topicName(t.topicId) ?? ''
      }
      for (const p of t.partitions) {
        const sent = partitions.get(`${topic}\u0000${p.partitionIndex}`)
        if (sent === undefined) continue
        if (this.#handlePartition(sent, p)) delivered = true
      }
    }
    if (delivered) this.#host.onData()
  }

  /** Returns true when data was buffered or the partition's state changed for the application. */
  #handlePartition (sent: SentPartition, p: PartitionData): boolean {
    const state = sent.state
    if (!state.assigned || state.epoch !== sent.epoch || state.fetchPosition !== sent.fetchOffset) return false
    const options = this.#host.options
    const code = p.errorCode
    if (code === ErrorCode.NONE) {
      state.highWatermark = Number(p.highWatermark)
      if (p.lastStableOffset >= 0n) state.lastStableOffset = Number(p.lastStableOffset)
      if (p.logStartOffset >= 0n) state.logStartOffset = Number(p.logStartOffset)
      const records = p.records
      if (records === null || records.length === 0) return false
      let scan
      try {
        scan = scanRecordSet(records)
      } catch (error) {
        this.#host.onPartitionError(state, new KafkaCorruptResponseError(`Corrupt records in the Fetch response for '${state.topic}-${state.partition}' at offset ${sent.fetchOffset}: ${(error as Error).message}`, { cause: error }))
        return true
      }
      if (scan.end === 0 || scan.nextOffset <= sent.fetchOffset) {
        if (scan.end === 0) {
          this.#host.onPartitionError(state, new KafkaRecordTooLargeError(`The batch at offset ${sent.fetchOffset} of '${state.topic}-${state.partition}' is larger than the fetch size and was returned incomplete`))
          return true
        }
        return false
      }
      const aborted = p.abortedTransactions
      const fetch: CompletedFetch = {
        state,
        epoch: state.epoch,
        records: scan.end === records.length ? records : records.subarray(0, scan.end),
        fetchOffset: sent.fetchOffset,
        nextOffset: scan.nextOffset,
        count: scan.count,
        bytes: records.length,
        abortedTransactions: aborted === null || aborted.length === 0
          ? null
          : [...aborted].sort((a, b) => a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0),
        highWatermark: state.highWatermark,
        lastStableOffset: state.lastStableOffset,
        logStartOffset: state.logStartOffset
      }
      state.fetchPosition = scan.nextOffset
      this.#host.buffer.add(fetch)
      return true
    }
    if (code === ErrorCode.OFFSET_OUT_OF_RANGE) {
      if (options.autoOffsetReset === 'none') {
        this.#host.onPartitionError(state, new KafkaResponseError(code, `Offset ${sent.fetchOffset} is out of range for '${state.topic}-${state.partition}' and autoOffsetReset is 'none'`, { api: 'Fetch', topic: state.topic, partition: state.partition }))
        return true
      }
      state.reset('policy')
      this.wake()
      return false
    }
    if (REFRESH_METADATA_ERRORS.has(code)) {
      state.backoffUntil = Date.now() + Math.max(1, options.retryBackoffMs)
      this.#refreshMetadata()
      return false
    }
    const error = new KafkaResponseError(code, null, { api: 'Fetch', topic: state.topic, partition: state.partition })
    if (error.retriable) {
      state.backoffUntil = Date.now() + Math.max(1, options.retryBackoffMs)
      return false
    }
    this.#host.onPartitionError(state, error)
    return true
  }

  #refreshMetadata (): void {
    if (this.#refreshing || this.#closed) return
    this.#refreshing = true
    this.#host.cluster.refreshMetadata().then(() => {}, () => {}).finally(() => {
      this.#refreshing = false
      this.wake()
    })
  }

  // ------------------------------------------------------------------------------------------
  // Positions

  #resolvePositions (now: number): void {
    if (this.#resolving) return
    if (this.#resolveBackoffUntil > now) {
      this.#wakeAt(this.#resolveBackoffUntil)
      return
    }
    this.#resolving = true
    this.#lookup().then(() => {
      this.#resolveFailures = 0
    }, (error: unknown) => {
      if (this.#closed || error instanceof KafkaClosedError) return
      // Lookups that fail for good stop their partitions; others are retried after a backoff.
      if (error instanceof KafkaClientError && !error.retriable) {
        for (const state of this.#pending()) this.#host.onPartitionError(state, error)
        return
      }
      const delay = Math.min(this.#host.cluster.retryPolicy.retryBackoffMaxMs, Math.max(1, this.#host.options.retryBackoffMs) * 2 ** Math.min(this.#resolveFailures++, 10))
      this.#resolveBackoffUntil = Date.now() + delay
    }).finally(() => {
      this.#resolving = false
      this.wake()
    })
  }

  #pending (): PartitionState[] {
    const out: PartitionState[] = []
    for (const state of this.#host.partitions()) {
      if (state.assigned && state.fetchPosition < 0 && state.lookup !== null && state.error === null) out.push(state)
    }
    return out
  }

  async #lookup (): Promise<void> {
    const host = this.#host
    const committed = this.#pending().filter((s) => s.lookup === 'committed')
    if (committed.length > 0) {
      const epochs = committed.map((s) => s.epoch)
      const found = await host.fetchCommitted(committed)
      committed.forEach((state, i) => {
        if (state.epoch !== epochs[i] || !state.assigned || state.lookup !== 'committed') return
        const c = found.get(state.key)
        if (c !== undefined && c.offset >= 0n) {
          state.moveTo(Number(c.offset), c.leaderEpoch)
          state.committed = Number(c.offset)
        } else {
          state.lookup = 'policy'
        }
      })
    }
    const resets = this.#pending().filter((s) => s.lookup !== 'committed')
    if (resets.length === 0) return
    const queries: Array<{ state: PartitionState, epoch: number, timestamp: 'earliest' | 'latest' | number }> = []
    for (const state of resets) {
      const lookup = state.lookup!
      if (lookup === 'policy') {
        const policy = host.options.autoOffsetReset
        if (policy === 'none') {
          host.onPartitionError(state, new KafkaResponseError(ErrorCode.OFFSET_OUT_OF_RANGE,
            `No committed offset for '${state.topic}-${state.partition}' and autoOffsetReset is 'none'`, { api: 'OffsetFetch', topic: state.topic, partition: state.partition }))
          continue
        }
        queries.push({ state, epoch: state.epoch, timestamp: policy })
      } else if (typeof lookup === 'object') {
        queries.push({ state, epoch: state.epoch, timestamp: lookup.timestamp })
      } else if (lookup !== 'committed') {
        queries.push({ state, epoch: state.epoch, timestamp: lookup })
      }
    }
    if (queries.length === 0) return
    const isolationLevel = host.options.isolationLevel
    const run = async (list: typeof queries): Promise<Map<string, bigint>> => {
      const out = new Map<string, bigint>()
      let listed
      let failure: unknown = null
      try {
        listed = await listOffsets(host.cluster, list.map((q) => ({ topic: q.state.topic, partition: q.state.partition, timestamp: q.timestamp })), { isolationLevel })
      } catch (error) {
        if (!(error instanceof KafkaPartialFailureError)) throw error
        listed = error.result as Array<{ topic: string, partition: number, offset: bigint }>
        failure = error
      }
      for (const l of listed) out.set(`${l.topic}\u0000${l.partition}`, l.offset)
      if (failure !== null && out.size === 0) throw failure as Error
      return out
    }
    const offsets = await run(queries)
    // No record at or after a timestamp: start at the end.
    const after = queries.filter((q) => typeof q.timestamp === 'number' && (offsets.get(q.state.key) ?? 0n) < 0n)
    if (after.length > 0) {
      const latest = await run(after.map((q) => ({ ...q, timestamp: 'latest' as const })))
      for (const [k, v] of latest) offsets.set(k, v)
    }
    let missing = false
    for (const q of queries) {
      const offset = offsets.get(q.state.key)
      if (offset === undefined || offset < 0n) {
        missing = true
        continue
      }
      if (q.state.epoch !== q.epoch || !q.state.assigned || q.state.fetchPosition >= 0) continue
      q.state.moveTo(Number(offset))
    }
    if (missing) throw new KafkaResponseError(ErrorCode.LEADER_NOT_AVAILABLE, 'Some offsets could not be listed', { api: 'ListOffsets' })
  }
}

function toFetchTopics (partitions: readonly SessionPartition[]): FetchTopic[] {
  const topics = new Map<string, FetchTopic>()
  for (const p of partitions) {
    let t = topics.get(p.topic)
    if (t === undefined) {
      t = { topic: p.topic, topicId: p.topicId, partitions: [] }
      topics.set(p.topic, t)
    }
    t.partitions.push({
      partition: p.partition,
      currentLeaderEpoch: p.leaderEpoch,
      fetchOffset: BigInt(p.fetchOffset),
      lastFetchedEpoch: -1,
      logStartOffset: -1n,
      partitionMaxBytes: p.maxBytes,
      replicaDirectoryId: ZERO_UUID
    })
  }
  return [...topics.values()]
}

function toForgottenTopics (partitions: readonly SessionPartition[], topicIds: boolean): ForgottenTopic[] {
  const topics = new Map<string, ForgottenTopic>()
  for (const p of partitions) {
    const k = topicIds ? p.topicId : p.topic
    let t = topics.get(k)
    if (t === undefined) {
      t = { topic: p.topic, topicId: p.topicId, partitions: [] }
      topics.set(k, t)
    }
    t.partitions.push(p.partition)
  }
  return [...topics.values()]
}
