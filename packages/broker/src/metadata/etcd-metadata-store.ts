/**
 * The cluster metadata store on etcd (metadata.store=etcd://host:port[,host:port...][/namespace]);
 * key layout and values in etcd-keys.ts.
 *
 * Session: the broker's registration is bound to an etcd lease of
 * ceil(`broker.session.timeout.ms` / 1000) seconds, kept alive by the client (a keepalive every
 * third of the TTL). When the broker dies the lease expires and the key goes, which every watcher
 * sees as 'broker-gone'. When this process loses the lease (etcd unreachable for twice the TTL, or
 * etcd says it expired) it registers again with a new lease as soon as etcd answers, keeping its
 * incarnation id: to the controller that is the same broker coming back. A broker id that
 * registers while an older registration of it exists replaces it (the newest process wins).
 *
 * View: open() reads every key under the prefix (one range read at revision R), then watches the
 * prefix from R+1. The store keeps a mirror of the keys; each watch response updates it and
 * becomes a list of MetadataEvents, delivered one list at a time. Mutations wait until the watch
 * has delivered their revision (read your writes). If the watch is cancelled (e.g. the revision
 * was compacted) the store re-reads everything, emits the difference, and watches again.
 *
 * Controller election: a candidate creates `<P>/controller` under its lease in a transaction that
 * requires the key to be absent; the key's create revision is the controller epoch. The others
 * wait for the key to be deleted (its holder resigned or its lease expired) and try again.
 * alterPartition with a fence also compares that create revision, so a deposed controller cannot
 * write.
 *
 * Failures: every call has a deadline (requestTimeoutMs); etcd3's circuit breaker and retries are
 * off (callers retry what needs retrying), and the watch reconnects within a second.
 */
import { ErrorCode, KafkaProtocolError } from '@samsa/protocol'
import { Etcd3, type IOptions, type Lease, type Watcher } from 'etcd3'
import type { DynamicBrokerConfigs } from '../config/mod.ts'
import type { Logger } from '../logger.ts'
import { EtcdKeys, type TopicRecord, parseEtcdUrl } from './etcd-keys.ts'
import {
  type BrokerRegistration, type ControllerCandidate, type MetadataEvent, type MetadataListener, type MetadataSnapshot, type MetadataStore,
  type PartitionAssignment, type PartitionState, type ProducerIdBlock, type TopicMetadata, type WriteFence, normalizePartition
} from './metadata-store.ts'

export interface EtcdMetadataStoreOptions {
  /** `etcd://host:port[,host:port...][/namespace]` */
  url: string
  /** The session (lease) TTL; rounded up to whole seconds (etcd's unit), at least 1 s. */
  sessionTimeoutMs: number
  /** Deadline of every etcd call (default 5000). */
  requestTimeoutMs?: number
  logger: Logger
}

interface Kv {
  value: Buffer
  modRevision: number
  createRevision: number
}

interface RawKv {
  key: Buffer
  value: Buffer
  mod_revision: string | number
  create_revision: string | number
}

type FaultHandling = NonNullable<IOptions['faultHandling']>
type Policy = NonNullable<FaultHandling['global']>

/** etcd3's fault-handling policy shape (cockatiel's IPolicy) doing nothing: no retries, no circuit breaker. */
function noopPolicy (): Policy {
  const noEvent = (): { dispose: () => void } => ({ dispose () {} })
  const policy = {
    onSuccess: noEvent,
    onFailure: noEvent,
    async execute<T> (fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> {
      return await fn({ signal: signal ?? new AbortController().signal })
    }
  }
  return policy as unknown as Policy
}

/** Watch reconnection backoff: 100 ms doubling to at most 1 s (etcd3's default grows to 30 s). */
function watchBackoff (): NonNullable<FaultHandling['watchBackoff']> {
  const make = (ms: number): { duration: number, next: () => unknown } => ({ duration: ms, next: () => make(Math.min(ms * 2, 1000)) })
  return { next: () => make(100) } as unknown as NonNullable<FaultHandling['watchBackoff']>
}

function json<T> (value: Buffer): T {
  return JSON.parse(value.toString('utf8')) as T
}

function encode (value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value))
}

async function sleep (ms: number): Promise<void> {
  await new Promise<void>((resolve) => setTimeout(resolve, ms).unref())
}

export class EtcdMetadataStore implements MetadataStore {
  readonly shared = true
  readonly keys: EtcdKeys
  readonly #client: Etcd3
  readonly #options: EtcdMetadataStoreOptions
  readonly #logger: Logger
  readonly #ttlSeconds: number
  readonly #mirror = new Map<string, Kv>()
  #registration: Omit<BrokerRegistration, 'brokerEpoch'> | undefined
  #listener: MetadataListener | undefined
  #watcher: Watcher | undefined
  #lease: Lease | undefined
  /** Resolves once a lease is granted and the registration written (replaced on session loss). */
  #session: Promise<Lease> | undefined
  #closed = false
  /** The highest revision whose events have been delivered. */
  #appliedRevision = 0
  readonly #revisionWaiters: Array<{ revision: number, resolve: () => void }> = []
  #processing: Promise<void> = Promise.resolve()
  #candidate: ControllerCandidate | undefined
  /** The controller epoch while this broker holds the controller key. */
  #controllerEpoch: number | undefined
  #campaignWake: (() => void) | undefined
  #campaigning = false

  constructor (options: EtcdMetadataStoreOptions) {
    const location = parseEtcdUrl(options.url)
    this.#options = options
    this.#logger = options.logger
    this.keys = new EtcdKeys(location.namespace)
    this.#ttlSeconds = Math.max(1, Math.ceil(options.sessionTimeoutMs / 1000))
    const timeout = options.requestTimeoutMs ?? 5000
    this.#client = new Etcd3({
      hosts: location.endpoints.map((e) => `http://${e}`),
      dialTimeout: timeout,
      defaultCallOptions: (context) => context.isStream ? {} : { deadline: Date.now() + timeout },
      faultHandling: { host: () => noopPolicy(), global: noopPolicy(), watchBackoff: watchBackoff() }
    })
  }

  // ---- reads

  async #range (prefix: string): Promise<{ kvs: RawKv[], revision: number }> {
    const end = Buffer.from(prefix)
    end[end.length - 1]! += 1
    const res = await this.#client.kv.range({ key: Buffer.from(prefix), range_end: end })
    return { kvs: res.kvs as unknown as RawKv[], revision: Number(res.header.revision) }
  }

  async clusterId (proposed: string): Promise<string> {
    const key = Buffer.from(this.keys.cluster)
    for (;;) {
      try {
        const res = await this.#client.kv.txn({
          compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }],
          success: [{ request_put: { key, value: encode({ clusterId: proposed }) } }],
          failure: [{ request_range: { key } }]
        })
        if (res.succeeded) return proposed
        const kv = res.responses[0]?.response_range?.kvs[0]
        if (kv === undefined) continue
        return json<{ clusterId: string }>(kv.value).clusterId
      } catch (error) {
        if (this.#closed) throw error
        this.#logger.warn('Cannot reach etcd; retrying', { error })
        await sleep(500)
      }
    }
  }

  // ---- session and view

  async open (registration: Omit<BrokerRegistration, 'brokerEpoch'>, listener: MetadataListener): Promise<MetadataSnapshot> {
    this.#registration = { ...registration }
    this.#listener = listener
    const snapshot = await this.#loadMirror()
    await this.#startWatch(snapshot.revision + 1)
    this.#session = this.#register()
    await this.#session
    return snapshot.view
  }

  async #loadMirror (): Promise<{ revision: number, view: MetadataSnapshot }> {
    const { kvs, revision } = await this.#range(this.keys.prefix)
    this.#mirror.clear()
    for (const kv of kvs) this.#mirror.set(kv.key.toString('utf8'), { value: kv.value, modRevision: Number(kv.mod_revision), createRevision: Number(kv.create_revision) })
    this.#appliedRevision = revision
    return { revision, view: this.#view() }
  }

  /** The metadata the mirror holds. */
  #view (): MetadataSnapshot {
    const topics: TopicMetadata[] = []
    const brokers: BrokerRegistration[] = []
    let controllerId = -1
    let clusterId = ''
    for (const [key, kv] of this.#mirror) {
      const parsed = this.keys.parse(key)
      switch (parsed.kind) {
        case 'topic': {
          const topic = this.#topic(parsed.name)
          if (topic !== undefined) topics.push(topic)
          break
        }
        case 'broker':
          brokers.push(this.#brokerOf(kv))
          break
        case 'controller':
          controllerId = json<{ nodeId: number }>(kv.value).nodeId
          break
        case 'cluster':
          clusterId = json<{ clusterId: string }>(kv.value).clusterId
          break
        default:
      }
    }
    return { clusterId, topics, brokers, controllerId, brokerConfigs: this.#brokerConfigs() }
  }

  #topic (name: string): TopicMetadata | undefined {
    const kv = this.#mirror.get(this.keys.topic(name))
    if (kv === undefined) return undefined
    const record = json<TopicRecord>(kv.value)
    const partitions: PartitionAssignment[] = []
    for (let i = 0; i < record.partitions; i++) {
      const p = this.#mirror.get(this.keys.partition(name, i))
      if (p === undefined) break
      partitions.push(normalizePartition({ ...json<PartitionState>(p.value), partition: i }))
    }
    return { name, topicId: record.topicId, configs: record.configs, partitions }
  }

  #brokerOf (kv: Kv): BrokerRegistration {
    return { ...json<Omit<BrokerRegistration, 'brokerEpoch'>>(kv.value), brokerEpoch: kv.createRevision }
  }

  #brokerConfigs (): DynamicBrokerConfigs {
    const mine = this.#registration === undefined ? undefined : this.#mirror.get(this.keys.brokerConfigs(this.#registration.nodeId))
    const cluster = this.#mirror.get(this.keys.clusterConfigs)
    return {
      ...(mine === undefined ? {} : { broker: json<Record<string, string>>(mine.value) }),
      ...(cluster === undefined ? {} : { clusterDefault: json<Record<string, string>>(cluster.value) })
    }
  }

  async #startWatch (fromRevision: number): Promise<void> {
    const watcher = await this.#client.watch().prefix(this.keys.prefix).startRevision(String(fromRevision)).withPreviousKV().create()
    this.#watcher = watcher
    watcher.on('data', (res) => {
      const revision = Number(res.header.revision)
      const events = res.events.map((e) => ({
        type: e.type,
        kv: e.kv
      }))
      this.#enqueue(async () => await this.#applyWatch(events, revision))
    })
    watcher.on('disconnected', (error) => {
      if (!this.#closed) this.#logger.debug('etcd watch disconnected; reconnecting', { error })
    })
    watcher.on('error', (error) => {
      if (this.#closed || this.#watcher !== watcher) return
      this.#logger.warn('etcd watch cancelled; reading everything again', { error })
      this.#watcher = undefined
      this.#enqueue(async () => await this.#resync())
    })
  }

  #enqueue (task: () => Promise<void>): void {
    this.#processing = this.#processing.then(task).catch((error: unknown) => this.#logger.error('Applying a metadata change failed', { error }))
  }

  /** Applies one watch response to the mirror and delivers its events. */
  async #applyWatch (changes: Array<{ type: string, kv: RawKv }>, revision: number): Promise<void> {
    const touched: Array<{ key: string, deleted: boolean, previous: Kv | undefined }> = []
    for (const change of changes) {
      const key = change.kv.key.toString('utf8')
      const previous = this.#mirror.get(key)
      if (change.type === 'Delete' || String(change.type) === '1') {
        this.#mirror.delete(key)
        touched.push({ key, deleted: true, previous })
      } else {
        this.#mirror.set(key, { value: change.kv.value, modRevision: Number(change.kv.mod_revision), createRevision: Number(change.kv.create_revision) })
        touched.push({ key, deleted: false, previous })
      }
    }
    await this.#deliver(this.#eventsFor(touched))
    this.#advance(revision)
  }

  #eventsFor (touched: Array<{ key: string, deleted: boolean, previous: Kv | undefined }>): MetadataEvent[] {
    const events: MetadataEvent[] = []
    const fullTopics = new Set<string>()
    for (const t of touched) {
      const parsed = this.keys.parse(t.key)
      if (parsed.kind === 'topic' && !t.deleted) fullTopics.add(parsed.name)
    }
    const emittedTopics = new Set<string>()
    let configsChanged = false
    for (const t of touched) {
      const parsed = this.keys.parse(t.key)
      switch (parsed.kind) {
        case 'topic': {
          if (t.deleted) {
            const topicId = t.previous === undefined ? '' : json<TopicRecord>(t.previous.value).topicId
            events.push({ type: 'topic-deleted', name: parsed.name, topicId })
            break
          }
          if (emittedTopics.has(parsed.name)) break
          emittedTopics.add(parsed.name)
          const topic = this.#topic(parsed.name)
          if (topic !== undefined) events.push({ type: 'topic', topic })
          break
        }
        case 'partition': {
          if (t.deleted || fullTopics.has(parsed.name)) break
          const kv = this.#mirror.get(t.key)
          if (kv === undefined || !this.#mirror.has(this.keys.topic(parsed.name))) break
          events.push({ type: 'partition', topic: parsed.name, partition: parsed.index, state: normalizePartition({ ...json<PartitionState>(kv.value), partition: parsed.index }) })
          break
        }
        case 'broker': {
          const kv = this.#mirror.get(t.key)
          events.push(kv === undefined ? { type: 'broker-gone', nodeId: parsed.nodeId } : { type: 'broker', broker: this.#brokerOf(kv) })
          break
        }
        case 'controller': {
          const kv = this.#mirror.get(t.key)
          events.push({ type: 'controller', nodeId: kv === undefined ? -1 : json<{ nodeId: number }>(kv.value).nodeId })
          this.#onControllerKey(kv)
          break
        }
        case 'broker-configs':
          if (parsed.nodeId === this.#registration?.nodeId) configsChanged = true
          break
        case 'cluster-configs':
          configsChanged = true
          break
        default:
      }
    }
    if (configsChanged) events.push({ type: 'broker-configs', configs: this.#brokerConfigs() })
    return events
  }

  /** After a cancelled watch: reads everything, delivers the difference, watches again. */
  async #resync (): Promise<void> {
    while (!this.#closed) {
      try {
        const before = new Map(this.#mirror)
        const { kvs, revision } = await this.#range(this.keys.prefix)
        const after = new Map<string, Kv>()
        for (const kv of kvs) after.set(kv.key.toString('utf8'), { value: kv.value, modRevision: Number(kv.mod_revision), createRevision: Number(kv.create_revision) })
        const touched: Array<{ key: string, deleted: boolean, previous: Kv | undefined }> = []
        for (const [key, kv] of before) if (!after.has(key)) touched.push({ key, deleted: true, previous: kv })
        for (const [key, kv] of after) if (before.get(key)?.modRevision !== kv.modRevision) touched.push({ key, deleted: false, previous: before.get(key) })
        this.#mirror.clear()
        for (const [k, v] of after) this.#mirror.set(k, v)
        await this.#deliver(this.#eventsFor(touched))
        this.#advance(revision)
        await this.#startWatch(revision + 1)
        return
      } catch (error) {
        this.#logger.warn('Cannot read the metadata from etcd; retrying', { error })
        await sleep(500)
      }
    }
  }

  async #deliver (events: MetadataEvent[]): Promise<void> {
    if (events.length === 0 || this.#listener === undefined) return
    await this.#listener(events)
  }

  #advance (revision: number): void {
    if (revision > this.#appliedRevision) this.#appliedRevision = revision
    for (let i = this.#revisionWaiters.length - 1; i >= 0; i--) {
      const w = this.#revisionWaiters[i]!
      if (w.revision <= this.#appliedRevision) {
        this.#revisionWaiters.splice(i, 1)
        w.resolve()
      }
    }
  }

  /** Waits until the watch has delivered `revision` (bounded: a broken watch must not hang callers). */
  async #caughtUp (revision: number): Promise<void> {
    if (revision <= this.#appliedRevision || this.#closed) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2 * (this.#options.requestTimeoutMs ?? 5000))
      timer.unref()
      this.#revisionWaiters.push({ revision, resolve: () => { clearTimeout(timer); resolve() } })
    })
  }

  /** Grants a lease and writes the registration under it; retried until it works or the store closes. */
  async #register (): Promise<Lease> {
    for (;;) {
      if (this.#closed) throw new Error('The metadata store is closed')
      const lease = this.#client.lease(this.#ttlSeconds, { autoKeepAlive: true })
      try {
        await lease.grant()
        await lease.put(this.keys.broker(this.#registration!.nodeId)).value(encode(this.#registration))
        this.#lease = lease
        lease.on('lost', (error) => this.#onSessionLost(lease, error))
        return lease
      } catch (error) {
        lease.release()
        if (this.#closed) throw error
        this.#logger.warn('Cannot register with etcd; retrying', { error })
        await sleep(500)
      }
    }
  }

  #onSessionLost (lease: Lease, error: unknown): void {
    if (this.#closed || this.#lease !== lease) return
    this.#logger.warn('Lost the etcd session; registering again', { error })
    this.#lease = undefined
    this.#loseController()
    this.#session = this.#register()
    this.#session.then(() => this.#campaignWake?.(), () => undefined)
  }

  async #currentLease (): Promise<Lease> {
    if (this.#session === undefined) throw new Error('The metadata store is not open')
    return await this.#session
  }

  // ---- topics

  async createTopic (topic: TopicMetadata): Promise<void> {
    const topicKey = Buffer.from(this.keys.topic(topic.name))
    const record: TopicRecord = { topicId: topic.topicId, partitions: topic.partitions.length, configs: topic.configs }
    const puts = [
      { request_put: { key: topicKey, value: encode(record) } },
      ...topic.partitions.map((p) => ({ request_put: { key: Buffer.from(this.keys.partition(topic.name, p.partition)), value: encode(stateOf(p)) } }))
    ]
    const res = await this.#client.kv.txn({ compare: [{ key: topicKey, target: 'Create', result: 'Equal', create_revision: 0 }], success: puts, failure: [] })
    if (!res.succeeded) throw new KafkaProtocolError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${topic.name}' already exists.`)
    await this.#caughtUp(Number(res.header.revision))
  }

  async deleteTopic (name: string): Promise<void> {
    const topicKey = Buffer.from(this.keys.topic(name))
    const prefix = Buffer.from(this.keys.partitionsOf(name))
    const end = Buffer.from(prefix)
    end[end.length - 1]! += 1
    const res = await this.#client.kv.txn({
      compare: [{ key: topicKey, target: 'Create', result: 'Greater', create_revision: 0 }],
      success: [{ request_delete_range: { key: topicKey } }, { request_delete_range: { key: prefix, range_end: end } }],
      failure: []
    })
    if (!res.succeeded) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.')
    await this.#caughtUp(Number(res.header.revision))
  }

  /** Read-modify-write of a topic record, retried while others change it. */
  async #updateTopic (name: string, change: (record: TopicRecord) => { record: TopicRecord, extra: Array<{ key: string, value: unknown }> }): Promise<void> {
    const topicKey = Buffer.from(this.keys.topic(name))
    for (;;) {
      const current = await this.#client.kv.range({ key: topicKey })
      const kv = current.kvs[0]
      if (kv === undefined) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.')
      const { record, extra } = change(json<TopicRecord>(kv.value))
      const res = await this.#client.kv.txn({
        compare: [{ key: topicKey, target: 'Mod', result: 'Equal', mod_revision: kv.mod_revision }],
        success: [
          { request_put: { key: topicKey, value: encode(record) } },
          ...extra.map((e) => ({ request_put: { key: Buffer.from(e.key), value: encode(e.value) } }))
        ],
        failure: []
      })
      if (res.succeeded) {
        await this.#caughtUp(Number(res.header.revision))
        return
      }
    }
  }

  async setTopicConfigs (name: string, configs: Record<string, string>): Promise<void> {
    await this.#updateTopic(name, (record) => ({ record: { ...record, configs: { ...configs } }, extra: [] }))
  }

  async addPartitions (name: string, partitions: PartitionAssignment[]): Promise<void> {
    await this.#updateTopic(name, (record) => {
      for (const [i, p] of partitions.entries()) {
        if (p.partition !== record.partitions + i) throw new KafkaProtocolError(ErrorCode.INVALID_PARTITIONS, `Partition ${p.partition} of '${name}' is out of sequence.`)
      }
      return {
        record: { ...record, partitions: record.partitions + partitions.length },
        extra: partitions.map((p) => ({ key: this.keys.partition(name, p.partition), value: stateOf(p) }))
      }
    })
  }

  async alterPartition (topic: string, partition: number, expectedPartitionEpoch: number, next: PartitionState, fence?: WriteFence): Promise<boolean> {
    const key = this.keys.partition(topic, partition)
    const current = this.#mirror.get(key)
    if (current === undefined || json<PartitionState>(current.value).partitionEpoch !== expectedPartitionEpoch) return false
    const compare: Array<{ key: Buffer, target: 'Mod' | 'Create', result: 'Equal', mod_revision?: number, create_revision?: number }> = [
      { key: Buffer.from(key), target: 'Mod', result: 'Equal', mod_revision: current.modRevision }
    ]
    if (fence?.controllerEpoch !== undefined) {
      compare.push({ key: Buffer.from(this.keys.controller), target: 'Create', result: 'Equal', create_revision: fence.controllerEpoch })
    }
    const value: PartitionState = { ...stateOf(next), partitionEpoch: expectedPartitionEpoch + 1 }
    const res = await this.#client.kv.txn({ compare, success: [{ request_put: { key: Buffer.from(key), value: encode(value) } }], failure: [] })
    if (!res.succeeded) return false
    await this.#caughtUp(Number(res.header.revision))
    return true
  }

  // ---- configs and producer ids

  async loadDynamicBrokerConfigs (): Promise<DynamicBrokerConfigs> {
    return await Promise.resolve(this.#brokerConfigs())
  }

  async putDynamicBrokerConfigs (configs: DynamicBrokerConfigs): Promise<void> {
    const nodeId = this.#registration?.nodeId
    const ops = [{ request_put: { key: Buffer.from(this.keys.clusterConfigs), value: encode(configs.clusterDefault ?? {}) } }]
    if (nodeId !== undefined) ops.push({ request_put: { key: Buffer.from(this.keys.brokerConfigs(nodeId)), value: encode(configs.broker ?? {}) } })
    const res = await this.#client.kv.txn({ compare: [], success: ops, failure: [] })
    await this.#caughtUp(Number(res.header.revision))
  }

  async allocateProducerIdBlock (size: number): Promise<ProducerIdBlock> {
    const key = Buffer.from(this.keys.producerIds)
    for (;;) {
      const current = await this.#client.kv.range({ key })
      const kv = current.kvs[0]
      const next = kv === undefined ? 0n : BigInt(json<{ nextProducerId: string }>(kv.value).nextProducerId)
      const compare = kv === undefined
        ? [{ key, target: 'Create' as const, result: 'Equal' as const, create_revision: 0 }]
        : [{ key, target: 'Mod' as const, result: 'Equal' as const, mod_revision: kv.mod_revision }]
      const res = await this.#client.kv.txn({
        compare, success: [{ request_put: { key, value: encode({ nextProducerId: String(next + BigInt(size)) }) } }], failure: []
      })
      if (res.succeeded) return { firstProducerId: next, size }
    }
  }

  // ---- controlled shutdown and the controller

  async requestControlledShutdown (): Promise<void> {
    if (this.#registration === undefined) return
    this.#registration.controlledShutdown = true
    const lease = await this.#currentLease()
    await lease.put(this.keys.broker(this.#registration.nodeId)).value(encode(this.#registration))
  }

  campaign (candidate: ControllerCandidate): void {
    this.#candidate = candidate
    // One loop per store; a new candidacy after resign() wakes it.
    if (this.#campaigning) {
      this.#campaignWake?.()
      return
    }
    this.#campaigning = true
    void this.#campaignLoop().finally(() => { this.#campaigning = false })
  }

  async #campaignLoop (): Promise<void> {
    const key = Buffer.from(this.keys.controller)
    // Only while there is a candidate: after resign() this broker stops competing.
    while (!this.#closed && this.#candidate !== undefined) {
      if (this.#controllerEpoch !== undefined || this.#mirror.has(this.keys.controller)) {
        await new Promise<void>((resolve) => { this.#campaignWake = resolve })
        continue
      }
      try {
        const lease = await this.#currentLease()
        const leaseId = await lease.grant()
        const res = await this.#client.kv.txn({
          compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }],
          success: [{ request_put: { key, value: encode({ nodeId: this.#registration!.nodeId }), lease: leaseId } }],
          failure: []
        })
        if (res.succeeded && !this.#closed && this.#lease === lease) {
          const epoch = Number(res.header.revision)
          await this.#caughtUp(epoch)
          if (this.#controllerEpoch === undefined && this.#mirrorControllerEpoch() === epoch) {
            this.#controllerEpoch = epoch
            this.#logger.info('Elected controller', { epoch })
            this.#candidate?.elected(epoch)
          }
        } else {
          await this.#caughtUp(Number(res.header.revision))
        }
      } catch (error) {
        if (this.#closed) return
        this.#logger.debug('Controller election attempt failed; retrying', { error })
        await sleep(500)
      }
    }
  }

  #mirrorControllerEpoch (): number | undefined {
    return this.#mirror.get(this.keys.controller)?.createRevision
  }

  /** The controller key changed (seen by the watch). */
  #onControllerKey (kv: Kv | undefined): void {
    if (this.#controllerEpoch !== undefined && kv?.createRevision !== this.#controllerEpoch) this.#loseController()
    if (kv === undefined) {
      const wake = this.#campaignWake
      this.#campaignWake = undefined
      wake?.()
    }
  }

  #loseController (): void {
    if (this.#controllerEpoch === undefined) return
    this.#logger.info('No longer the controller', { epoch: this.#controllerEpoch })
    this.#controllerEpoch = undefined
    this.#candidate?.resigned()
  }

  async resign (): Promise<void> {
    const epoch = this.#controllerEpoch
    if (epoch !== undefined) this.#loseController()
    this.#candidate = undefined
    // The campaign loop, if waiting, ends.
    this.#campaignWake?.()
    if (epoch === undefined) return
    const key = Buffer.from(this.keys.controller)
    try {
      await this.#client.kv.txn({
        compare: [{ key, target: 'Create', result: 'Equal', create_revision: epoch }],
        success: [{ request_delete_range: { key } }],
        failure: []
      })
    } catch (error) {
      this.#logger.warn('Could not give up the controller key (it expires with the session)', { error })
    }
  }

  /**
   * Ends the session as a dying process would: keepalives stop but nothing is revoked, so the
   * registration (and the controller key, if held) lasts until the lease's TTL runs out.
   */
  async kill (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    const held = this.#controllerEpoch !== undefined
    const candidate = this.#candidate
    this.#candidate = undefined
    this.#controllerEpoch = undefined
    if (held) candidate?.resigned()
    this.#campaignWake?.()
    for (const w of this.#revisionWaiters.splice(0)) w.resolve()
    this.#listener = undefined
    try {
      await this.#watcher?.cancel()
    } catch { /* the connection may be gone */ }
    this.#lease?.release()
    this.#lease = undefined
    this.#client.close()
  }

  async close (): Promise<void> {
    if (this.#closed) return
    await this.resign()
    this.#closed = true
    this.#campaignWake?.()
    for (const w of this.#revisionWaiters.splice(0)) w.resolve()
    try {
      await this.#watcher?.cancel()
    } catch { /* the connection may be gone */ }
    const lease = this.#lease
    this.#lease = undefined
    if (lease !== undefined) {
      // Revoking deletes the registration at once: the controller moves on without waiting for the TTL.
      await Promise.race([lease.revoke().catch(() => undefined), sleep(2000)])
    }
    await this.#processing
    this.#listener = undefined
    this.#client.close()
  }
}

function stateOf (p: PartitionState): PartitionState {
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
