/**
 * The client's view of a cluster, shared by the producer, the admin client and the consumer:
 * bootstrap servers, a metadata cache (brokers, topics with their ids and partition leaders)
 * refreshed every `metadataMaxAgeMs` and on demand, a pool of broker connections (one per
 * broker and channel, reconnecting with backoff), and coordinator lookup (FindCoordinator,
 * batched in v4+) with a cache that is dropped on NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE.
 *
 * Connections are keyed by address and *channel*: requests of one kind that may block (a
 * consumer's long-polling Fetch) can use their own socket, so that others (heartbeats to the
 * same broker as group coordinator) are not queued behind them, as Kafka's consumer does with
 * its separate coordinator connection.
 */
import { setInterval, clearInterval } from 'node:timers'
import { ErrorCode, FindCoordinatorApi, MetadataApi, ZERO_UUID } from '@samsa/protocol'
import type { FindCoordinatorResponse } from '@samsa/protocol/messages/find-coordinator'
import type { MetadataRequest, MetadataResponse } from '@samsa/protocol/messages/metadata'
import { type BrokerAddress, formatBrokerAddress, parseBrokerAddress } from './broker-address.ts'
import { Connection, type TlsOptions } from './connection.ts'
import {
  KafkaClosedError, KafkaInvalidArgumentError, KafkaNetworkError, KafkaResponseError, isRetriable
} from './errors.ts'
import { type RetryOptions, type RetryPolicy, backoffDelay, retryPolicy, sleep, withRetry } from './retry.ts'
import type { SaslAuthenticator } from './sasl.ts'

export interface ClusterOptions extends RetryOptions {
  /** `host:port` of one or more brokers to bootstrap from (Kafka's `bootstrap.servers`). */
  bootstrapServers: string | readonly string[]
  /** Kafka's `client.id`. Default 'samsa'. */
  clientId?: string
  /** Default 30000. */
  requestTimeoutMs?: number
  /** Default 10000. */
  connectTimeoutMs?: number
  /** Refresh the metadata of the topics in use at least this often. Default 300000. */
  metadataMaxAgeMs?: number
  /** Pipelined requests per connection. Default 32. */
  maxInFlightRequests?: number
  /** Backoff after a failed connection attempt to a broker, doubled up to the max, with jitter. Default 50. */
  reconnectBackoffMs?: number
  /** Default 1000. */
  reconnectBackoffMaxMs?: number
  /** Ask brokers to auto-create unknown topics in metadata requests (when they allow it). Default true. */
  allowAutoTopicCreation?: boolean
  tls?: TlsOptions | boolean
  sasl?: SaslAuthenticator
}

/** A broker as metadata describes it. */
export interface BrokerInfo {
  readonly nodeId: number
  readonly host: string
  readonly port: number
  readonly rack: string | null
}

export interface PartitionInfo {
  readonly partitionIndex: number
  /** -1 when there is no leader. */
  readonly leaderId: number
  readonly leaderEpoch: number
  readonly replicaNodes: readonly number[]
  readonly isrNodes: readonly number[]
  readonly offlineReplicas: readonly number[]
  readonly errorCode: number
}

export interface TopicInfo {
  readonly name: string
  /** The topic id (KIP-516), or the zero UUID from brokers older than Metadata v10. */
  readonly topicId: string
  readonly isInternal: boolean
  /** By partition index. */
  readonly partitions: readonly PartitionInfo[]
  /** Non-zero when the broker answered with an error for the topic (UNKNOWN_TOPIC_OR_PARTITION...). */
  readonly errorCode: number
}

/** One snapshot of cluster metadata; replaced, never mutated, on refresh. */
export interface ClusterMetadata {
  readonly clusterId: string | null
  readonly controllerId: number
  readonly brokers: ReadonlyMap<number, BrokerInfo>
  readonly topics: ReadonlyMap<string, TopicInfo>
  /** Date.now() of the response, 0 before the first. */
  readonly updatedAt: number
}

/** FindCoordinator key types. */
export const CoordinatorType = { GROUP: 0, TRANSACTION: 1 } as const
export type CoordinatorType = typeof CoordinatorType[keyof typeof CoordinatorType]

/** What a coordinator is looked up for: a group id (type 0) or a transactional id (type 1). */
export interface CoordinatorKey {
  type: CoordinatorType
  key: string
}

export interface ConnectionRequestOptions {
  /** A separate connection to the same broker, e.g. 'fetch'. Default 'default'. */
  channel?: string
}

export interface RefreshMetadataOptions {
  /** Topics to refresh; null for every topic. Default: the tracked topics. */
  topics?: readonly string[] | null
}

interface Slot {
  connection: Connection | null
  connecting: Promise<Connection> | null
  failures: number
  nextAttemptAt: number
}

interface CoordinatorWaiter {
  resolve: (broker: BrokerInfo) => void
  reject: (error: unknown) => void
}

const EMPTY_METADATA: ClusterMetadata = Object.freeze({
  clusterId: null, controllerId: -1, brokers: new Map(), topics: new Map(), updatedAt: 0
})

function positive (name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback
  if (!Number.isFinite(v) || v <= 0) throw new KafkaInvalidArgumentError(`Option '${name}' must be a positive number, got '${String(v)}'`)
  return v
}

/** True for the errors after which a cached coordinator must be looked up again. */
export function isCoordinatorMovedError (error: unknown): boolean {
  if (error instanceof KafkaResponseError) {
    return error.errorCode === ErrorCode.NOT_COORDINATOR || error.errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE
  }
  return error instanceof KafkaNetworkError
}

export class Cluster {
  readonly clientId: string
  readonly retryPolicy: RetryPolicy
  readonly requestTimeoutMs: number
  readonly bootstrapServers: readonly BrokerAddress[]
  #connectTimeoutMs: number
  #metadataMaxAgeMs: number
  #maxInFlight: number
  #reconnect: RetryPolicy
  #allowAutoTopicCreation: boolean
  #tls: TlsOptions | boolean | undefined
  #sasl: SaslAuthenticator | undefined
  #metadata: ClusterMetadata = EMPTY_METADATA
  #topicsById = new Map<string, string>()
  #tracked = new Set<string>()
  #slots = new Map<string, Slot>()
  #refreshing: Promise<ClusterMetadata> | null = null
  #refreshingTopics: ReadonlySet<string> | null = null
  #refreshAgain: { topics: Set<string> | null } | null = null
  #refreshAgainPromise: Promise<ClusterMetadata> | null = null
  #coordinators = new Map<string, BrokerInfo>()
  #coordinatorBatch = new Map<CoordinatorType, Map<string, CoordinatorWaiter[]>>()
  #timer: ReturnType<typeof setInterval> | null = null
  #closed = false
  #nextBootstrap = 0

  constructor (options: ClusterOptions) {
    if (typeof options !== 'object' || options === null) throw new KafkaInvalidArgumentError('Options must be an object')
    const servers = typeof options.bootstrapServers === 'string' ? options.bootstrapServers.split(',') : options.bootstrapServers
    if (!Array.isArray(servers) || servers.length === 0) {
      throw new KafkaInvalidArgumentError("Option 'bootstrapServers' must list at least one 'host:port'")
    }
    this.bootstrapServers = servers.map((s) => parseBrokerAddress(String(s)))
    this.clientId = options.clientId ?? 'samsa'
    this.retryPolicy = retryPolicy(options)
    this.requestTimeoutMs = positive('requestTimeoutMs', options.requestTimeoutMs, 30_000)
    this.#connectTimeoutMs = positive('connectTimeoutMs', options.connectTimeoutMs, 10_000)
    this.#metadataMaxAgeMs = positive('metadataMaxAgeMs', options.metadataMaxAgeMs, 300_000)
    this.#maxInFlight = positive('maxInFlightRequests', options.maxInFlightRequests, 32)
    this.#reconnect = retryPolicy({
      maxRetries: 0,
      retryBackoffMs: options.reconnectBackoffMs ?? 50,
      retryBackoffMaxMs: options.reconnectBackoffMaxMs ?? Math.max(1000, options.reconnectBackoffMs ?? 50)
    })
    this.#allowAutoTopicCreation = options.allowAutoTopicCreation ?? true
    this.#tls = options.tls
    this.#sasl = options.sasl
  }

  /** The latest metadata snapshot (empty before the first refresh). */
  get metadata (): ClusterMetadata {
    return this.#metadata
  }

  get closed (): boolean {
    return this.#closed
  }

  topic (name: string): TopicInfo | undefined {
    return this.#metadata.topics.get(name)
  }

  /** A topic's name by its id, from the metadata seen so far. */
  topicName (topicId: string): string | undefined {
    return this.#topicsById.get(topicId)
  }

  broker (nodeId: number): BrokerInfo | undefined {
    return this.#metadata.brokers.get(nodeId)
  }

  /** The leader's node id, or -1 if it is unknown. */
  leaderFor (topic: string, partition: number): number {
    return this.#metadata.topics.get(topic)?.partitions[partition]?.leaderId ?? -1
  }

  /** Keeps these topics' metadata fresh (periodic refreshes include them). */
  trackTopics (topics: Iterable<string>): void {
    for (const t of topics) this.#tracked.add(t)
  }

  untrackTopics (topics: Iterable<string>): void {
    for (const t of topics) this.#tracked.delete(t)
  }

  get trackedTopics (): ReadonlySet<string> {
    return this.#tracked
  }

  #ensureOpen (): void {
    if (this.#closed) throw new KafkaClosedError('The client is closed')
  }

  /**
   * Fetches metadata (with retries) and replaces the cached snapshot. Concurrent calls share
   * one request when they ask for the same topics; a call for other topics waits for the
   * running one and then sends one more, merged with any others that queued meanwhile.
   */
  async refreshMetadata (options: RefreshMetadataOptions = {}): Promise<ClusterMetadata> {
    this.#ensureOpen()
    this.#startTimer()
    const wanted = options.topics === undefined ? [...this.#tracked] : options.topics
    if (this.#refreshing === null) return await this.#startRefresh(wanted === null ? null : new Set(wanted))
    const running = this.#refreshingTopics
    if (running === null || (wanted !== null && wanted.every((t) => running.has(t)))) return await this.#refreshing
    const again = this.#refreshAgain ??= { topics: new Set() }
    if (wanted === null) again.topics = null
    else if (again.topics !== null) for (const t of wanted) again.topics.add(t)
    this.#refreshAgainPromise ??= this.#refreshing.then(noop, noop).then(async () => {
      const next = this.#refreshAgain!
      this.#refreshAgain = null
      this.#refreshAgainPromise = null
      return await this.#startRefresh(next.topics)
    })
    return await this.#refreshAgainPromise
  }

  async #startRefresh (topics: Set<string> | null): Promise<ClusterMetadata> {
    const promise = this.#fetchMetadata(topics === null ? null : [...topics])
    this.#refreshing = promise
    this.#refreshingTopics = topics
    try {
      return await promise
    } finally {
      if (this.#refreshing === promise) this.#refreshing = null
    }
  }

  async #fetchMetadata (topics: string[] | null): Promise<ClusterMetadata> {
    const response = await withRetry(async () => {
      const connection = await this.anyConnection()
      return await connection.request(MetadataApi, (v): MetadataRequest => ({
        topics: topics === null ? (v >= 1 ? null : []) : topics.map((name) => ({ topicId: ZERO_UUID, name })),
        allowAutoTopicCreation: this.#allowAutoTopicCreation,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false
      }))
    }, this.retryPolicy)
    this.#ensureOpen()
    return this.#merge(response, topics)
  }

  #merge (response: MetadataResponse, requested: string[] | null): ClusterMetadata {
    const brokers = new Map<number, BrokerInfo>()
    for (const b of response.brokers) brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })
    // A full refresh replaces the topic list; a partial one updates the topics it asked for.
    const topics = new Map<string, TopicInfo>(requested === null ? [] : this.#metadata.topics)
    for (const t of response.topics) {
      if (t.name === null) continue
      const partitions: PartitionInfo[] = []
      for (const p of t.partitions) {
        partitions[p.partitionIndex] = {
          partitionIndex: p.partitionIndex,
          leaderId: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          replicaNodes: p.replicaNodes,
          isrNodes: p.isrNodes,
          offlineReplicas: p.offlineReplicas,
          errorCode: p.errorCode
        }
      }
      // A hole in the partition list would make `partitions[i]` lie; fill it as leaderless.
      for (let i = 0; i < partitions.length; i++) {
        partitions[i] ??= { partitionIndex: i, leaderId: -1, leaderEpoch: -1, replicaNodes: [], isrNodes: [], offlineReplicas: [], errorCode: ErrorCode.LEADER_NOT_AVAILABLE }
      }
      topics.set(t.name, { name: t.name, topicId: t.topicId, isInternal: t.isInternal, partitions, errorCode: t.errorCode })
      if (t.topicId !== ZERO_UUID) this.#topicsById.set(t.topicId, t.name)
    }
    this.#metadata = Object.freeze({
      clusterId: response.clusterId,
      controllerId: response.controllerId,
      brokers,
      topics,
      updatedAt: Date.now()
    })
    return this.#metadata
  }

  #startTimer (): void {
    if (this.#timer !== null || this.#closed) return
    this.#timer = setInterval(() => {
      if (this.#tracked.size === 0) return
      this.refreshMetadata().catch(noop)
    }, this.#metadataMaxAgeMs)
    this.#timer.unref()
  }

  /** A connection to a broker by node id (refreshing metadata once if the id is unknown). */
  async connection (nodeId: number, options: ConnectionRequestOptions = {}): Promise<Connection> {
    this.#ensureOpen()
    let broker = this.#metadata.brokers.get(nodeId)
    if (broker === undefined) {
      await this.refreshMetadata()
      broker = this.#metadata.brokers.get(nodeId)
    }
    if (broker === undefined) throw new KafkaNetworkError(`Broker ${nodeId} is not in the cluster metadata`)
    return await this.connectionTo(broker, options)
  }

  /** A connection to an address, from the pool or new (after the reconnect backoff, if it failed recently). */
  async connectionTo (address: BrokerAddress & { nodeId?: number }, options: ConnectionRequestOptions = {}): Promise<Connection> {
    this.#ensureOpen()
    const key = `${formatBrokerAddress(address)}|${options.channel ?? 'default'}`
    let slot = this.#slots.get(key)
    if (slot === undefined) {
      slot = { connection: null, connecting: null, failures: 0, nextAttemptAt: 0 }
      this.#slots.set(key, slot)
    }
    if (slot.connection !== null && !slot.connection.closed) return slot.connection
    slot.connecting ??= this.#connectSlot(slot, address)
    return await slot.connecting
  }

  async #connectSlot (slot: Slot, address: BrokerAddress & { nodeId?: number }): Promise<Connection> {
    try {
      const wait = slot.nextAttemptAt - Date.now()
      if (wait > 0) await sleep(wait)
      this.#ensureOpen()
      const connection = await Connection.connect({
        host: address.host,
        port: address.port,
        nodeId: address.nodeId ?? -1,
        clientId: this.clientId,
        requestTimeoutMs: this.requestTimeoutMs,
        connectTimeoutMs: this.#connectTimeoutMs,
        maxInFlightRequests: this.#maxInFlight,
        tls: this.#tls,
        sasl: this.#sasl
      })
      if (this.#closed) {
        await connection.close()
        this.#ensureOpen()
      }
      slot.failures = 0
      slot.nextAttemptAt = 0
      slot.connection = connection
      connection.once('close', () => {
        if (slot.connection === connection) slot.connection = null
      })
      return connection
    } catch (error) {
      slot.nextAttemptAt = Date.now() + Math.max(1, backoffDelay(slot.failures, this.#reconnect))
      slot.failures++
      throw error
    } finally {
      slot.connecting = null
    }
  }

  /**
   * Some connection, for requests any broker can answer (Metadata, FindCoordinator...): the
   * least loaded open one, else a known broker or a bootstrap server, trying each in turn.
   */
  async anyConnection (): Promise<Connection> {
    this.#ensureOpen()
    let best: Connection | null = null
    for (const [key, slot] of this.#slots) {
      const c = slot.connection
      if (c === null || c.closed || !key.endsWith('|default')) continue
      if (best === null || c.inFlight + c.queued < best.inFlight + best.queued) best = c
    }
    if (best !== null) return best
    const candidates: Array<BrokerAddress & { nodeId?: number }> = [...this.#metadata.brokers.values()]
    for (let i = candidates.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1))
      const swap = candidates[i]!
      candidates[i] = candidates[j]!
      candidates[j] = swap
    }
    const start = this.#nextBootstrap++ % this.bootstrapServers.length
    for (let i = 0; i < this.bootstrapServers.length; i++) {
      const b = this.bootstrapServers[(start + i) % this.bootstrapServers.length]!
      candidates.push({ ...b, nodeId: -1 - ((start + i) % this.bootstrapServers.length) })
    }
    let lastError: unknown = null
    for (const candidate of candidates) {
      try {
        return await this.connectionTo(candidate)
      } catch (error) {
        if (error instanceof KafkaClosedError) throw error
        lastError = error
      }
    }
    throw lastError instanceof Error ? lastError : new KafkaNetworkError('No broker could be reached')
  }

  /** A connection to the controller (from metadata), or to any broker if it is unknown. */
  async controllerConnection (): Promise<Connection> {
    if (this.#metadata.updatedAt === 0) await this.refreshMetadata()
    const controller = this.#metadata.brokers.get(this.#metadata.controllerId)
    return controller === undefined ? await this.anyConnection() : await this.connectionTo(controller)
  }

  /** The connections currently open, by `host:port|channel`. */
  get connections (): ReadonlyMap<string, Connection> {
    const out = new Map<string, Connection>()
    for (const [key, slot] of this.#slots) if (slot.connection !== null && !slot.connection.closed) out.set(key, slot.connection)
    return out
  }

  /**
   * The coordinator for a group (type 0) or transactional id (type 1), from the cache or by
   * FindCoordinator with retries. Lookups in the same tick share one v4+ request.
   */
  async findCoordinator (keyType: CoordinatorType, key: string): Promise<BrokerInfo> {
    this.#ensureOpen()
    const cacheKey = `${keyType}\u0000${key}`
    const cached = this.#coordinators.get(cacheKey)
    if (cached !== undefined) return cached
    const found = await withRetry(async () => await this.#lookupCoordinator(keyType, key), this.retryPolicy)
    this.#coordinators.set(cacheKey, found)
    return found
  }

  /** Forgets a cached coordinator, after NOT_COORDINATOR or a broken connection to it. */
  invalidateCoordinator (keyType: CoordinatorType, key: string): void {
    this.#coordinators.delete(`${keyType}\u0000${key}`)
  }

  async #lookupCoordinator (keyType: CoordinatorType, key: string): Promise<BrokerInfo> {
    return await new Promise<BrokerInfo>((resolve, reject) => {
      let batch = this.#coordinatorBatch.get(keyType)
      if (batch === undefined) {
        batch = new Map()
        this.#coordinatorBatch.set(keyType, batch)
        queueMicrotask(() => {
          this.#coordinatorBatch.delete(keyType)
          this.#sendFindCoordinator(keyType, batch!).catch(noop)
        })
      }
      const waiters = batch.get(key)
      if (waiters === undefined) batch.set(key, [{ resolve, reject }])
      else waiters.push({ resolve, reject })
    })
  }

  async #sendFindCoordinator (keyType: CoordinatorType, batch: Map<string, CoordinatorWaiter[]>): Promise<void> {
    const settle = (key: string, error: unknown, broker?: BrokerInfo): void => {
      for (const w of batch.get(key) ?? []) {
        if (broker !== undefined) w.resolve(broker)
        else w.reject(error)
      }
    }
    const keys = [...batch.keys()]
    try {
      const connection = await this.anyConnection()
      // FindCoordinator v0 has no key type: it finds group coordinators only.
      const limits = keyType === CoordinatorType.GROUP ? {} : { minVersion: 1 }
      const version = connection.versionFor(FindCoordinatorApi, limits)
      if (version >= 4) {
        const response = await connection.request(FindCoordinatorApi, { key: '', keyType, coordinatorKeys: keys }, { version })
        for (const c of response.coordinators) {
          if (c.errorCode !== 0) settle(c.key, new KafkaResponseError(c.errorCode, c.errorMessage, { api: 'FindCoordinator', resource: c.key }))
          else settle(c.key, null, { nodeId: c.nodeId, host: c.host, port: c.port, rack: null })
        }
        const answered = new Set(response.coordinators.map((c) => c.key))
        for (const key of keys) {
          if (!answered.has(key)) settle(key, new KafkaResponseError(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'No answer for this key', { api: 'FindCoordinator', resource: key }))
        }
        return
      }
      await Promise.all(keys.map(async (key) => {
        try {
          const r: FindCoordinatorResponse = await connection.request(FindCoordinatorApi, { key, keyType, coordinatorKeys: [] }, { version })
          if (r.errorCode !== 0) settle(key, new KafkaResponseError(r.errorCode, r.errorMessage, { api: 'FindCoordinator', resource: key }))
          else settle(key, null, { nodeId: r.nodeId, host: r.host, port: r.port, rack: null })
        } catch (error) {
          settle(key, error)
        }
      }))
    } catch (error) {
      for (const key of keys) settle(key, error)
    }
  }

  /**
   * Runs `fn` against the coordinator of a group or transactional id, with retries. When `fn`
   * throws NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE (as KafkaResponseError) or the
   * connection breaks, the cached coordinator is dropped and looked up again.
   */
  async withCoordinator<T> (coordinatorKey: CoordinatorKey, fn: (connection: Connection, coordinator: BrokerInfo) => Promise<T>, options: ConnectionRequestOptions = {}): Promise<T> {
    const { type: keyType, key } = coordinatorKey
    return await withRetry(async () => {
      const coordinator = await this.findCoordinator(keyType, key)
      try {
        const connection = await this.connectionTo(coordinator, options)
        return await fn(connection, coordinator)
      } catch (error) {
        if (isCoordinatorMovedError(error)) this.invalidateCoordinator(keyType, key)
        throw error
      }
    }, this.retryPolicy, { retriable: isRetriable })
  }

  /** Closes every connection and stops refreshing; later calls fail with KafkaClosedError. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    const closing: Array<Promise<void>> = []
    for (const slot of this.#slots.values()) {
      if (slot.connection !== null) closing.push(slot.connection.close())
      if (slot.connecting !== null) closing.push(slot.connecting.then(async (c) => { await c.close() }, noop))
    }
    this.#slots.clear()
    await Promise.all(closing)
  }
}

function noop (): void {}
