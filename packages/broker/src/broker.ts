/**
 * A Samsa broker: the data directory (logs, metadata, identity), the listeners, and the
 * request handlers. `Broker.start()` recovers the logs, loads the topics and starts
 * accepting connections; `stop()` stops accepting, lets in-flight requests finish and be
 * answered, flushes every log and writes the clean-shutdown marker.
 */
import { type Server, type Socket, createServer } from 'node:net'
import { join } from 'node:path'
import { KafkaProtocolError } from '@samsa/protocol'
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
import { loadOrCreateMetaProperties } from './metadata/meta-properties.ts'
import { FileMetadataStore, type MetadataStore } from './metadata/metadata-store.ts'
import { Connection } from './network/connection.ts'
import { createDispatcher, handlerTable } from './network/dispatcher.ts'
import { TopicRegistry } from './topics/topic-registry.ts'
import { ProducerIdManager } from './txn/producer-id-manager.ts'
import { TransactionCoordinator } from './txn/transaction-coordinator.ts'
import { transactionCoordinatorConfigFrom } from './txn/txn-config.ts'
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
  readonly #store: MetadataStore
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
    this.#store = options.metadataStore ?? new FileMetadataStore(this.#fs, this.settings.dataDir)
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

  brokers (): Array<{ nodeId: number, rack: string | null, endpoints: Endpoint[] }> {
    return [{ nodeId: this.nodeId, rack: this.settings.rack, endpoints: [] }]
  }

  controllerId (): number {
    return this.nodeId
  }

  endpointFor (nodeId: number, connection: Connection): Endpoint | undefined {
    if (nodeId !== this.nodeId) return undefined
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
    await this.#store.putDynamicBrokerConfigs(next)
    this.#dynamic = next
    this.#topics?.refreshLogConfigs()
  }

  async #start (): Promise<void> {
    const started = performance.now()
    const settings = this.settings
    this.#fs.mkdir(settings.dataDir)
    const meta = await loadOrCreateMetaProperties(this.#fs, settings.dataDir, this.nodeId, this.#options.clusterId)
    this.#clusterId = meta.clusterId
    const topics = await this.#store.loadTopics()
    this.#dynamic = await this.#store.loadDynamicBrokerConfigs()
    const configs = new Map(topics.map((t) => [t.name, t.configs]))
    const logManager = await LogManager.open({
      dataDir: settings.dataDir,
      fs: this.#fs,
      maxOpenFiles: this.#options.maxOpenFiles ?? 2048,
      configFor: (topic) => this.logConfigFor(configs.get(topic) ?? {}),
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
      store: this.#store,
      logManager,
      nodeId: this.nodeId,
      brokerIds: () => [this.nodeId],
      logConfigFor: (overrides) => this.logConfigFor(overrides),
      logger: this.logger
    })
    await registry.load()
    this.#topics = registry
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
    this.#txnMarkerWriter = new LocalTxnMarkerWriter({
      topics: registry,
      logger: this.logger.child({ component: 'txn-markers' }),
      clock: this.clock,
      // A marker in a __consumer_offsets partition completes the transaction's offset commits there.
      onOffsetsMarker: (producerId, partition, commit) => this.#groupCoordinator?.onTransactionCompleted(producerId, partition, commit)
    })
    this.#transactionCoordinator = new TransactionCoordinator({
      topics: registry,
      config: transactionCoordinatorConfigFrom(this.config),
      producerIds: new ProducerIdManager(this.#store),
      markerWriter: this.#txnMarkerWriter,
      logger: this.logger.child({ component: 'transaction-coordinator' }),
      clock: this.clock,
      brokerCount: () => this.brokers().length
    })
    this.#transactionCoordinator.start()
    // -- end transaction coordinator
    for (const spec of this.#listenerSpecs) await this.#listen(spec)
    this.logger.info('Broker started', {
      nodeId: this.nodeId,
      clusterId: this.#clusterId,
      listeners: this.boundListeners.map((l) => `${l.name}://${l.host}:${l.port}`).join(','),
      dataDir: settings.dataDir,
      topics: registry.list().length,
      ms: Math.round(performance.now() - started)
    })
  }

  /** Logs whose topic is not in the metadata (deleted while the broker was down) are removed. */
  async #deleteStrayLogs (): Promise<void> {
    const manager = this.#logManager!
    for (const log of [...manager.logs()]) {
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
    this.#stopping ??= this.#stop()
    await this.#stopping
  }

  async #stop (): Promise<void> {
    this.logger.info('Shutting down', { connections: this.#connections.size })
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
    if (this.#logManager !== undefined) await this.#logManager.close()
    await this.#store.close()
    this.logger.info('Shut down cleanly')
  }
}
