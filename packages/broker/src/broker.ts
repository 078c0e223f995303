/**
 * A Samsa broker: the data directory (logs, metadata, identity), the listeners, and the
 * request handlers. `Broker.start()` binds the listeners, registers with the metadata store
 * (with the bound endpoints), recovers the logs, loads the topics and then serves the
 * connections that arrived meanwhile; `stop()` first asks for its leaderships to move
 * elsewhere (controlled shutdown, in a cluster), stops accepting, lets in-flight requests finish
 * and be answered, flushes every log and writes the clean-shutdown marker.
 *
 * The metadata store is the local file (`metadata.store=file`, the single-node default) or etcd
 * (`metadata.store=etcd://...`, loaded only then, so the single node never pays for the etcd
 * client); tests may pass any store, e.g. a shared in-memory one for an in-process cluster.
 * Every metadata change reaches this broker as events, applied in order: cluster members and
 * controller (ClusterImage), topics and partition roles (TopicRegistry), dynamic configs, then
 * the controller, when this broker holds that role.
 */
import { type Server, type Socket, createServer } from 'node:net'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { ErrorCode, KafkaProtocolError } from '@samsa/protocol'
import { type FileSystem, type LogConfig, LogManager, NodeFileSystem } from '@samsa/storage'
import type { BrokerContext, BrokerSettings, Endpoint, TopicConfigEntry } from './broker-context.ts'
import {
  type BrokerConfig, ConfigError, type DynamicBrokerConfigs, describeTopicConfigs, logConfigFrom, validateBrokerConfigUpdate,
  validateTopicConfigs
} from './config/mod.ts'
import { listenerSpec, settingsFrom } from './embedded.ts'
import { FetchSessionCache } from './fetch/fetch-session-cache.ts'
import type { AnyHandler } from './handlers/handler.ts'
import { HANDLERS } from './handlers/index.ts'
import { groupCoordinatorConfigFrom } from './group/group-config.ts'
import { GroupCoordinator } from './group/group-coordinator.ts'
import { type Logger, silentLogger } from './logger.ts'
import { Controller } from './cluster/controller.ts'
import { PartitionAdmin } from './cluster/partition-admin.ts'
import { ClusterImage } from './metadata/cluster-image.ts'
import { META_PROPERTIES, loadOrCreateMetaProperties, randomClusterId } from './metadata/meta-properties.ts'
import {
  type BrokerEndpoint, FileMetadataStore, type MetadataEvent, type MetadataStore, newIncarnationId
} from './metadata/metadata-store.ts'
import { Connection } from './network/connection.ts'
import { createDispatcher, handlerTable } from './network/dispatcher.ts'
import { ReplicaManager, replicationConfigFrom } from './replication/replica-manager.ts'
import { TopicRegistry } from './topics/topic-registry.ts'
import { ProducerIdManager } from './txn/producer-id-manager.ts'
import { TransactionCoordinator } from './txn/transaction-coordinator.ts'
import { transactionCoordinatorConfigFrom } from './txn/txn-config.ts'
import { ClusterTxnMarkerWriter } from './txn/cluster-txn-marker-writer.ts'
import { LocalTxnMarkerWriter, type TxnMarkerWriter } from './txn/txn-markers.ts'

export interface ListenerSpec {
  name: string
  host: string
  port: number
  securityProtocol: string
}

export interface BrokerOptions {
  /** The resolved configuration (Kafka's broker config names). */
  config: BrokerConfig
  fs?: FileSystem
  metadataStore?: MetadataStore
  logger?: Logger
  clock?: () => number
  /** Upper bound on open files (default 2048). */
  maxOpenFiles?: number
  handlers?: readonly AnyHandler[]
  /** The cluster id for a new data directory (default: a random one). */
  clusterId?: string
}

interface BoundListener {
  spec: ListenerSpec
  server: Server
  port: number
}

export class Broker implements BrokerContext {
  readonly nodeId: number
  readonly config: BrokerConfig
  readonly settings: BrokerSettings
  readonly logger: Logger
  readonly clock: () => number
  readonly fetchSessions: FetchSessionCache
  readonly #options: BrokerOptions
  readonly #fs: FileSystem
  #store: MetadataStore | undefined
  readonly image = new ClusterImage()
  readonly incarnationId = newIncarnationId()
  #controller: Controller | undefined
  /** Resolves once the registry is loaded: metadata events wait for it. */
  #markReady: () => void = () => undefined
  readonly #ready = new Promise<void>((resolve) => { this.#markReady = resolve })
  /** Connections accepted before the broker was ready, served once it is. */
  #held: Array<{ spec: ListenerSpec, socket: Socket }> | undefined = []
  readonly #connections = new Set<Connection>()
  readonly #listeners: BoundListener[] = []
  readonly #apiVersions: Array<{ apiKey: number, minVersion: number, maxVersion: number }>
  readonly #dispatch: ReturnType<typeof createDispatcher>
  #clusterId = ''
  #dynamic: DynamicBrokerConfigs = {}
  readonly #listenerSpecs: ListenerSpec[]
  readonly #advertised: ListenerSpec[] | undefined
  #logManager: LogManager | undefined
  #topics: TopicRegistry | undefined
  #groupCoordinator: GroupCoordinator | undefined
  #transactionCoordinator: TransactionCoordinator | undefined
  #txnMarkerWriter: TxnMarkerWriter | undefined
  #replicaManager: ReplicaManager | undefined
  #partitionAdmin: PartitionAdmin | undefined
  #connectionCounter = 0
  #stopping: Promise<void> | undefined

  private constructor (options: BrokerOptions) {
    this.#options = options
    this.config = options.config
    this.settings = settingsFrom(options.config)
    this.nodeId = this.settings.nodeId
    this.#listenerSpecs = options.config.listeners.map(listenerSpec)
    // Unset advertised.listeners: advertise the address each client connected to.
    this.#advertised = options.config.isSupplied('advertised.listeners') ? options.config.advertisedListeners.map(listenerSpec) : undefined
    this.logger = options.logger ?? silentLogger
    this.clock = options.clock ?? Date.now
    this.#fs = options.fs ?? new NodeFileSystem()
    this.fetchSessions = new FetchSessionCache(this.settings.maxIncrementalFetchSessionCacheSlots)
    const handlers = options.handlers ?? HANDLERS
    this.#apiVersions = handlers.map((h) => ({ apiKey: h.api.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion })).sort((a, b) => a.apiKey - b.apiKey)
    this.#dispatch = createDispatcher(this, handlerTable(handlers))
  }

  static async start (options: BrokerOptions): Promise<Broker> {
    const broker = new Broker(options)
    try {
      await broker.#start()
    } catch (error) {
      await broker.stop().catch(() => undefined)
      throw error
    }
    return broker
  }

  get clusterId (): string {
    return this.#clusterId
  }

  get topics (): TopicRegistry {
    return this.#topics!
  }

  get logManager (): LogManager {
    return this.#logManager!
  }

  get groupCoordinator (): GroupCoordinator {
    return this.#groupCoordinator!
  }

  get transactionCoordinator (): TransactionCoordinator {
    return this.#transactionCoordinator!
  }

  get txnMarkerWriter (): TxnMarkerWriter {
    return this.#txnMarkerWriter!
  }

  get replicaManager (): ReplicaManager {
    return this.#replicaManager!
  }

  get partitionAdmin (): PartitionAdmin {
    return this.#partitionAdmin!
  }

  /** The listeners as bound (port 0 replaced by the port the OS chose). */
  get boundListeners (): Array<{ name: string, host: string, port: number }> {
    return this.#listeners.map((l) => ({ name: l.spec.name, host: l.spec.host, port: l.port }))
  }

  /** `host:port` of the first listener, for clients' bootstrap servers. */
  get bootstrap (): string {
    const l = this.boundListeners[0]
    if (l === undefined) throw new Error('The broker has no listener')
    const host = l.host === '' || l.host === '0.0.0.0' || l.host === '::' ? '127.0.0.1' : l.host
    return `${host.includes(':') ? `[${host}]` : host}:${l.port}`
  }

  get connectionCount (): number {
    return this.#connections.size
  }

  apiVersions (): ReadonlyArray<{ apiKey: number, minVersion: number, maxVersion: number }> {
    return this.#apiVersions
  }

  /** The metadata store this broker uses (set once started). */
  get metadataStore (): MetadataStore {
    return this.#store!
  }

  /** This broker's controller role (active only while it holds it). */
  get controller (): Controller | undefined {
    return this.#controller
  }

  brokers (): Array<{ nodeId: number, rack: string | null, endpoints: Endpoint[] }> {
    const live = this.image.brokers
    // Before registration completes (or if the store dropped us for a moment) this broker still serves.
    if (!live.some((b) => b.nodeId === this.nodeId)) live.push({ nodeId: this.nodeId, rack: this.settings.rack, endpoints: [], incarnationId: '', controlledShutdown: false, brokerEpoch: -1 })
    return live.sort((a, b) => a.nodeId - b.nodeId).map((b) => ({ nodeId: b.nodeId, rack: b.rack, endpoints: b.endpoints }))
  }

  controllerId (): number {
    return this.image.controllerId
  }

  endpointFor (nodeId: number, connection: Connection): Endpoint | undefined {
    if (nodeId !== this.nodeId) {
      // Another broker: the endpoint it registered for the listener this client uses.
      const name = connection.info.listenerName
      return this.image.broker(nodeId)?.endpoints.find((e) => e.listenerName === name)
    }
    const name = connection.info.listenerName
    const advertised = this.#advertised?.find((l) => l.name === name)
    if (advertised !== undefined && advertised.host !== '') {
      return { listenerName: name, host: advertised.host, port: advertised.port, securityProtocol: advertised.securityProtocol }
    }
    // Advertise the address this client reached us on: it works for localhost, 127.0.0.1 or a LAN IP alike.
    const listener = this.#listeners.find((l) => l.spec.name === name)
    return {
      listenerName: name,
      host: connection.info.localAddress.replace(/^::ffff:/, ''),
      port: advertised?.port ?? listener?.port ?? connection.info.localPort,
      securityProtocol: listener?.spec.securityProtocol ?? 'PLAINTEXT'
    }
  }

  get dynamicConfigs (): DynamicBrokerConfigs {
    return this.#dynamic
  }

  logConfigFor (overrides: Record<string, string>): LogConfig {
    return logConfigFrom(overrides, this.config, this.#dynamic)
  }

  topicConfigValue (overrides: Record<string, string>, name: string): string | undefined {
    return describeTopicConfigs(overrides, this.config, [name], false, false, { dynamic: this.#dynamic })[0]?.value ?? undefined
  }

  validateTopicConfigs (configs: Record<string, string>): Record<string, string> {
    try {
      validateTopicConfigs(configs, { brokerConfig: this.config, dynamic: this.#dynamic })
      return { ...configs }
    } catch (error) {
      if (error instanceof ConfigError) throw new KafkaProtocolError(error.errorCode, error.message)
      throw error
    }
  }

  describeTopicConfigs (overrides: Record<string, string>): TopicConfigEntry[] {
    return describeTopicConfigs(overrides, this.config, null, false, false, { dynamic: this.#dynamic }).map((c) => ({
      name: c.name, value: c.value, readOnly: c.readOnly, configSource: c.configSource, isSensitive: c.isSensitive
    }))
  }

  /**
   * Replaces this broker's (perBroker) or the cluster-wide (not perBroker) dynamic broker
   * configs, after validation, persisted in the metadata store; topic logs pick up changed
   * defaults at once.
   */
  async setDynamicBrokerConfigs (perBroker: boolean, configs: Record<string, string>): Promise<void> {
    try {
      validateBrokerConfigUpdate(configs, { perBroker })
    } catch (error) {
      if (error instanceof ConfigError) throw new KafkaProtocolError(error.errorCode, error.message)
      throw error
    }
    const next: DynamicBrokerConfigs = perBroker ? { ...this.#dynamic, broker: { ...configs } } : { ...this.#dynamic, clusterDefault: { ...configs } }
    try {
      await this.#store!.putDynamicBrokerConfigs(next)
    } catch (error) {
      if (error instanceof KafkaProtocolError) throw error
      throw new KafkaProtocolError(ErrorCode.REQUEST_TIMED_OUT, `The cluster metadata store is unavailable: ${(error as Error).message}`)
    }
    this.#dynamic = next
    this.#topics?.refreshLogConfigs()
  }

  async #start (): Promise<void> {
    const started = performance.now()
    const settings = this.settings
    this.#fs.mkdir(settings.dataDir)
    const store = this.#store = this.#options.metadataStore ?? await this.#createStore()
    // Listeners first: the registration carries the bound ports. Connections wait until ready.
    for (const spec of this.#listenerSpecs) await this.#listen(spec)
    this.#clusterId = await this.#resolveClusterId(store)
    const snapshot = await store.open({
      nodeId: this.nodeId,
      rack: settings.rack,
      endpoints: this.#registeredEndpoints(),
      incarnationId: this.incarnationId,
      controlledShutdown: false
    }, async (events) => await this.#onMetadata(events))
    this.image.load(snapshot)
    this.#dynamic = snapshot.brokerConfigs
    const topics = snapshot.topics
    const configs = new Map(topics.map((t) => [t.name, t.configs]))
    const logManager = await LogManager.open({
      dataDir: settings.dataDir,
      fs: this.#fs,
      maxOpenFiles: this.#options.maxOpenFiles ?? 2048,
      configFor: (topic) => this.logConfigFor(this.#topics?.get(topic)?.configs ?? configs.get(topic) ?? {}),
      clock: this.clock,
      producerState: { producerIdExpirationMs: this.config.getInt('producer.id.expiration.ms') ?? 86400000 },
      onError: (error, context) => this.logger.error('Background storage task failed', { task: context, error })
    })
    this.#logManager = logManager
    const report = logManager.loadReport
    // A new data directory has no shutdown marker, but nothing to recover either.
    this.logger.info(report.clean || report.logs === 0 ? 'Loaded logs' : 'Recovered logs after an unclean shutdown', {
      logs: report.logs,
      recoveredSegments: report.recovered.recoveredSegments,
      truncatedBytes: report.recovered.truncatedBytes,
      corruptBatches: report.recovered.corruptBatches,
      ms: Math.round(report.durationMs)
    })
    const registry = new TopicRegistry({
      store,
      logManager,
      nodeId: this.nodeId,
      // New replicas go to live brokers that are not shutting down.
      brokerIds: () => this.#placementBrokers().map((b) => b.nodeId),
      placementBrokers: () => this.#placementBrokers(),
      logConfigFor: (overrides) => this.logConfigFor(overrides),
      logger: this.logger
    })
    const replicaManager = new ReplicaManager({
      nodeId: this.nodeId,
      topics: registry,
      store,
      brokers: {
        address: (nodeId) => {
          // Inter-broker traffic uses the first listener (Kafka: inter.broker.listener.name, by default the PLAINTEXT one).
          const e = this.image.broker(nodeId)?.endpoints[0]
          return e === undefined ? undefined : { host: e.host, port: e.port }
        },
        isrEligible: (nodeId) => this.image.isEligible(nodeId),
        brokerEpoch: () => this.image.broker(this.nodeId)?.brokerEpoch ?? -1
      },
      config: replicationConfigFrom(this.config),
      logger: this.logger.child({ component: 'replication' }),
      clock: this.clock
    })
    this.#replicaManager = replicaManager
    registry.observer = replicaManager
    await registry.load(topics)
    this.#topics = registry
    this.#partitionAdmin = new PartitionAdmin({ store, image: this.image, topics: registry })
    await this.#deleteStrayLogs()
    logManager.startBackgroundTasks()
    // -- group coordinator (issue 5): loads __consumer_offsets in the background
    this.#groupCoordinator = new GroupCoordinator({
      topics: registry,
      config: groupCoordinatorConfigFrom(this.config),
      logger: this.logger.child({ component: 'group-coordinator' }),
      clock: this.clock,
      brokerCount: () => this.brokers().length
    })
    this.#groupCoordinator.start()
    // -- end group coordinator
    // -- transaction coordinator (issue 6): loads __transaction_state in the background
    const markerDeps = {
      topics: registry,
      logger: this.logger.child({ component: 'txn-markers' }),
      clock: this.clock,
      // A marker in a __consumer_offsets partition completes the transaction's offset commits there.
      onOffsetsMarker: (producerId: bigint, partition: number, commit: boolean) => this.#groupCoordinator?.onTransactionCompleted(producerId, partition, commit)
    }
    // In a cluster markers go to each partition's leader, wherever it is (replication: markers).
    this.#txnMarkerWriter = store.shared
      ? new ClusterTxnMarkerWriter({
        ...markerDeps,
        nodeId: this.nodeId,
        address: (nodeId) => replicaManager.brokerAddress(nodeId),
        requestTimeoutMs: replicaManager.config.socketTimeoutMs
      })
      : new LocalTxnMarkerWriter(markerDeps)
    this.#transactionCoordinator = new TransactionCoordinator({
      topics: registry,
      config: transactionCoordinatorConfigFrom(this.config),
      producerIds: new ProducerIdManager(store),
      markerWriter: this.#txnMarkerWriter,
      logger: this.logger.child({ component: 'transaction-coordinator' }),
      clock: this.clock,
      brokerCount: () => this.brokers().length
    })
    this.#transactionCoordinator.start()
    // Coordinators follow the leadership of their internal topics' partitions (replication: coordinator migration).
    replicaManager.addLeadershipListener('__consumer_offsets', this.#groupCoordinator)
    replicaManager.addLeadershipListener('__transaction_state', this.#transactionCoordinator)
    // -- end transaction coordinator
    this.#controller = new Controller({
      nodeId: this.nodeId,
      store,
      image: this.image,
      topics: registry,
      logger: this.logger.child({ component: 'controller' }),
      uncleanLeaderElection: (topic) => this.topicConfigValue(registry.get(topic)?.configs ?? {}, 'unclean.leader.election.enable') === 'true',
      autoLeaderRebalanceEnable: this.config.getBoolean('auto.leader.rebalance.enable'),
      leaderImbalanceCheckIntervalMs: (this.config.getLong('leader.imbalance.check.interval.seconds') ?? 300) * 1000,
      leaderImbalancePerBrokerPercentage: this.config.getInt('leader.imbalance.per.broker.percentage') ?? 10
    })
    // Metadata events queued during start-up are applied now, then connections are served.
    this.#markReady()
    replicaManager.start()
    store.campaign(this.#controller)
    const held = this.#held ?? []
    this.#held = undefined
    for (const { spec, socket } of held) this.#accept(spec, socket)
    this.logger.info('Broker started', {
      nodeId: this.nodeId,
      clusterId: this.#clusterId,
      listeners: this.boundListeners.map((l) => `${l.name}://${l.host}:${l.port}`).join(','),
      metadata: this.#options.metadataStore !== undefined ? (store.shared ? 'shared (given)' : 'local (given)') : this.config.getString('metadata.store') ?? 'file',
      dataDir: settings.dataDir,
      topics: registry.list().length,
      ms: Math.round(performance.now() - started)
    })
  }

  /** The store `metadata.store` names; the etcd client is loaded only when it is used. */
  async #createStore (): Promise<MetadataStore> {
    const url = this.config.getString('metadata.store') ?? 'file'
    if (url === 'file') return new FileMetadataStore(this.#fs, this.settings.dataDir)
    const { EtcdMetadataStore } = await import('./metadata/etcd-metadata-store.ts')
    return new EtcdMetadataStore({
      url,
      sessionTimeoutMs: this.config.getInt('broker.session.timeout.ms') ?? 9000,
      logger: this.logger.child({ component: 'etcd' })
    })
  }

  /**
   * The cluster id: meta.properties' (a single node's, created on first start). A shared store
   * holds the cluster's: a new data directory takes it, one of another cluster is refused
   * (Kafka's InconsistentClusterIdException).
   */
  async #resolveClusterId (store: MetadataStore): Promise<string> {
    const dataDir = this.settings.dataDir
    if (!store.shared) return (await loadOrCreateMetaProperties(this.#fs, dataDir, this.nodeId, this.#options.clusterId)).clusterId
    const existing = this.#fs.exists(join(dataDir, META_PROPERTIES))
      ? await loadOrCreateMetaProperties(this.#fs, dataDir, this.nodeId, this.#options.clusterId)
      : undefined
    const clusterId = await store.clusterId(existing?.clusterId ?? this.#options.clusterId ?? randomClusterId())
    if (existing !== undefined && existing.clusterId !== clusterId) {
      throw new Error(`The Cluster ID ${clusterId} doesn't match stored clusterId ${existing.clusterId} in meta.properties. The broker is trying to join the wrong cluster.`)
    }
    if (existing === undefined) await loadOrCreateMetaProperties(this.#fs, dataDir, this.nodeId, clusterId)
    return clusterId
  }

  /**
   * What this broker registers: per listener, advertised.listeners' address when set, else the
   * bound one (a wildcard host becomes this machine's name, as Kafka does).
   */
  #registeredEndpoints (): BrokerEndpoint[] {
    return this.#listeners.map((l) => {
      const advertised = this.#advertised?.find((a) => a.name === l.spec.name)
      const host = advertised !== undefined && advertised.host !== '' ? advertised.host : l.spec.host
      return {
        listenerName: l.spec.name,
        host: host === '' || host === '0.0.0.0' || host === '::' ? hostname() : host,
        port: advertised !== undefined && advertised.port !== 0 ? advertised.port : l.port,
        securityProtocol: l.spec.securityProtocol
      }
    })
  }

  #placementBrokers (): Array<{ nodeId: number, rack: string | null }> {
    const eligible = this.image.eligibleBrokers()
    if (eligible.length === 0) return [{ nodeId: this.nodeId, rack: this.settings.rack }]
    return eligible.map((b) => ({ nodeId: b.nodeId, rack: b.rack }))
  }

  /** Applies metadata events in the store's order (they wait until the broker is loaded). */
  async #onMetadata (events: MetadataEvent[]): Promise<void> {
    await this.#ready
    try {
      this.image.apply(events)
      for (const e of events) {
        if (e.type !== 'broker-configs') continue
        this.#dynamic = e.configs
        this.#topics?.refreshLogConfigs()
      }
      await this.#topics?.apply(events)
      this.#controller?.onMetadata(events)
    } catch (error) {
      this.logger.error('Applying metadata changes failed', { error })
    }
  }

  /** Logs whose topic is not in the metadata (deleted while the broker was down) are removed. */
  async #deleteStrayLogs (): Promise<void> {
    const manager = this.#logManager!
    for (const log of [...manager.logs()]) {
      // Deleted while this broker was down, or its replica moved to other brokers meanwhile.
      if (this.#topics!.partition(log.topic, log.partition) === undefined) {
        this.logger.warn('Deleting a stray partition log', { topic: log.topic, partition: log.partition, dir: join(log.dir) })
        await manager.deleteLog(log.topic, log.partition)
      }
    }
  }

  async #listen (spec: ListenerSpec): Promise<void> {
    const server = createServer({ noDelay: true, pauseOnConnect: false }, (socket) => this.#accept(spec, socket))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ host: spec.host === '' ? undefined : spec.host, port: spec.port }, () => {
        server.off('error', reject)
        resolve()
      })
    })
    server.on('error', (error) => this.logger.error('Listener error', { listener: spec.name, error }))
    const address = server.address()
    const port = typeof address === 'object' && address !== null ? address.port : spec.port
    this.#listeners.push({ spec, server, port })
  }

  #accept (spec: ListenerSpec, socket: Socket): void {
    if (this.#held !== undefined && this.#stopping === undefined) {
      // Not ready yet: the socket stays paused (nothing is read) until start() finishes.
      this.#held.push({ spec, socket })
      return
    }
    if (this.#stopping !== undefined || this.#connections.size >= this.settings.maxConnections) {
      this.logger.warn('Refusing a connection', { listener: spec.name, reason: this.#stopping !== undefined ? 'shutting down' : 'max.connections reached', client: socket.remoteAddress })
      socket.destroy()
      return
    }
    const id = `${spec.name}-${++this.#connectionCounter}`
    const connection = new Connection(socket, {
      id,
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      localAddress: socket.localAddress ?? spec.host,
      localPort: socket.localPort ?? spec.port,
      listenerName: spec.name
    }, {
      maxFrameSize: this.settings.socketRequestMaxBytes,
      idleTimeoutMs: this.settings.connectionsMaxIdleMs,
      maxQueuedRequests: this.settings.queuedMaxRequests,
      maxInFlightBytes: Math.max(this.settings.socketRequestMaxBytes, 64 * 1024 * 1024),
      logger: this.logger,
      dispatch: this.#dispatch,
      onClose: (c) => this.#connections.delete(c)
    })
    this.#connections.add(connection)
    this.logger.debug('Accepted a connection', { connection: id, client: `${socket.remoteAddress ?? ''}:${socket.remotePort ?? ''}` })
  }

  /** Graceful shutdown; safe to call more than once. */
  async stop (): Promise<void> {
    this.#stopping ??= this.#whileAlive(async () => await this.#stop())
    await this.#stopping
  }

  /**
   * Runs a shutdown with the event loop held open: its waits use unref'd timers (so an idle
   * broker never keeps a process alive), and with the listeners closed nothing else may be left
   * to keep the process running until the logs are flushed and the registration is removed.
   */
  async #whileAlive (run: () => Promise<void>): Promise<void> {
    const hold = setInterval(() => undefined, 1000)
    try {
      await run()
    } finally {
      clearInterval(hold)
    }
  }

  /**
   * Stops as a crash would, for in-process tests of failures: connections are cut, nothing is
   * handed over (no controlled shutdown, no resignation), and the metadata session ends as when
   * the process dies (a shared store drops the registration; etcd when the lease expires). Logs
   * are closed so the process can start the broker again on the same directory.
   */
  async kill (): Promise<void> {
    this.#stopping ??= this.#whileAlive(async () => await this.#kill())
    await this.#stopping
  }

  async #kill (): Promise<void> {
    this.logger.warn('Killed')
    // Metadata events waiting for a start that failed or never finished must not block the store.
    this.#markReady()
    for (const { socket } of this.#held ?? []) socket.destroy()
    this.#held = undefined
    for (const c of this.#connections) c.destroy()
    const closing = this.#listeners.map(async (l) => await new Promise<void>((resolve) => l.server.close(() => resolve())))
    await this.#controller?.stop()
    await this.#replicaManager?.stop()
    this.#groupCoordinator?.stop()
    this.#transactionCoordinator?.stop()
    for (const topic of this.#topics?.list() ?? []) for (const p of topic.partitions) p.close()
    const store = this.#store
    if (store !== undefined) await (store.kill !== undefined ? store.kill() : store.close()).catch(() => undefined)
    await Promise.all(closing)
    if (this.#logManager !== undefined) await this.#logManager.close()
  }

  async #stop (): Promise<void> {
    this.logger.info('Shutting down', { connections: this.#connections.size })
    // Metadata events waiting for a start that failed or never finished must not block the store.
    this.#markReady()
    for (const { socket } of this.#held ?? []) socket.destroy()
    this.#held = undefined
    await this.#controlledShutdown()
    // Answers waiting JoinGroup/SyncGroup requests (NOT_COORDINATOR) so connections can drain.
    this.#groupCoordinator?.stop()
    // Marker retries end; a transaction left prepared is completed by the next start.
    this.#transactionCoordinator?.stop()
    const closing = this.#listeners.map(async (l) => await new Promise<void>((resolve) => l.server.close(() => resolve())))
    // Long-polling fetches answer now with what they have instead of waiting out max.wait.ms.
    for (const topic of this.#topics?.list() ?? []) for (const p of topic.partitions) p.changed()
    await Promise.all([...this.#connections].map(async (c) => await c.close(5000)))
    for (const c of this.#connections) c.destroy()
    await Promise.all(closing)
    await this.#controller?.stop()
    await this.#replicaManager?.stop()
    if (this.#logManager !== undefined) await this.#logManager.close()
    // Hands the controller role over and removes the registration at once.
    await this.#store?.close()
    this.logger.info('Shut down cleanly')
  }

  /**
   * Controlled shutdown (controlled.shutdown.enable, in a cluster): marks the registration as
   * shutting down, so the controller moves every leadership it can to another in-sync replica
   * and takes this broker out of the ISRs, and waits for that (at most
   * controlled.shutdown.max.retries x controlled.shutdown.retry.backoff.ms) while still serving:
   * producers and consumers follow the leaders to their new brokers without losing a write.
   */
  async #controlledShutdown (): Promise<void> {
    const store = this.#store
    const topics = this.#topics
    if (store === undefined || !store.shared || topics === undefined || !this.config.getBoolean('controlled.shutdown.enable')) return
    const retries = Math.max(1, this.config.getInt('controlled.shutdown.max.retries') ?? 3)
    const deadline = Date.now() + retries * (this.config.getLong('controlled.shutdown.retry.backoff.ms') ?? 5000)
    const started = Date.now()
    try {
      await store.requestControlledShutdown()
    } catch (error) {
      this.logger.warn('Controlled shutdown request failed; stopping anyway', { error })
      return
    }
    // Done when every partition led here has no other replica that could take over.
    const movable = (): number => {
      let n = 0
      for (const p of topics.hostedPartitions()) {
        if (!p.isLeader) continue
        if (p.replicas.some((r) => r !== this.nodeId && p.isr.includes(r) && this.image.isEligible(r))) n++
      }
      return n
    }
    while (movable() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    const left = movable()
    if (left > 0) this.logger.warn('Controlled shutdown timed out; some leaderships did not move', { partitions: left })
    else this.logger.info('Controlled shutdown complete', { ms: Date.now() - started })
  }
}
