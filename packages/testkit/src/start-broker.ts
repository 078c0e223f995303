/**
 * An in-process broker for tests: `startBroker()` listens on 127.0.0.1 with a port the OS
 * picks, keeps its data in a temporary directory (or in memory), and `stop()` removes it.
 *
 *     const broker = await startBroker()
 *     t.after(() => broker.stop())
 *     const kafka = new Kafka({ brokers: [broker.bootstrap] })
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Broker, MemoryMetadataStore, type Logger, createLogger, isLogLevel, silentLogger, embeddedBrokerOptions } from '@samsa/broker'
import { type FileSystem, MemoryFileSystem } from '@samsa/storage'

export interface StartBrokerOptions {
  /** Default 0: any free port. */
  port?: number
  host?: string
  /** Default: a new temporary directory, removed by stop(). */
  dataDir?: string
  /** Keep logs and metadata in memory (nothing on disk); survives restart() within the process. */
  inMemory?: boolean
  /** Broker configs by Kafka name, e.g. { 'auto.create.topics.enable': false }. */
  config?: Record<string, string | number | boolean>
  /** Log to stderr at this level (default: silent, or $SAMSA_TEST_LOG_LEVEL). */
  logLevel?: 'error' | 'warn' | 'info' | 'debug'
  nodeId?: number
}

export interface TestBroker {
  readonly broker: Broker
  /** `host:port` for a client's bootstrap servers. */
  readonly bootstrap: string
  readonly host: string
  readonly port: number
  readonly dataDir: string
  /** Stops the broker cleanly and starts it again on the same port and data. */
  restart (): Promise<void>
  /** Stops the broker and removes a temporary data directory. */
  stop (): Promise<void>
}

function loggerFor (level: string | undefined): Logger {
  const wanted = level ?? process.env.SAMSA_TEST_LOG_LEVEL
  return wanted !== undefined && isLogLevel(wanted) ? createLogger(wanted) : silentLogger
}

export async function startBroker (options: StartBrokerOptions = {}): Promise<TestBroker> {
  const host = options.host ?? '127.0.0.1'
  const temporary = options.dataDir === undefined && options.inMemory !== true
  const dataDir = options.inMemory === true ? '/samsa-data' : options.dataDir ?? mkdtempSync(join(tmpdir(), 'samsa-test-'))
  const fs: FileSystem | undefined = options.inMemory === true ? new MemoryFileSystem({ trackDurability: false }) : undefined
  const store = options.inMemory === true ? new MemoryMetadataStore() : undefined
  const logger = loggerFor(options.logLevel)
  const config = Object.fromEntries(Object.entries(options.config ?? {}).map(([k, v]) => [k, String(v)]))

  const start = async (port: number): Promise<Broker> => await Broker.start(embeddedBrokerOptions({
    config: {
      'node.id': String(options.nodeId ?? 1),
      listeners: `PLAINTEXT://${host}:${port}`,
      'log.dirs': dataDir,
      // Tests want groups to form at once; Kafka's 3 s delay suits production.
      'group.initial.rebalance.delay.ms': '0',
      ...config
    },
    logger,
    ...(fs === undefined ? {} : { fs }),
    ...(store === undefined ? {} : { metadataStore: store })
  }))

  let broker = await start(options.port ?? 0)
  const port = broker.boundListeners[0]!.port
  let stopped = false
  return {
    get broker () { return broker },
    get bootstrap () { return `${host}:${port}` },
    host,
    port,
    dataDir,
    async restart () {
      await broker.stop()
      broker = await start(port)
    },
    async stop () {
      if (stopped) return
      stopped = true
      await broker.stop()
      if (temporary) rmSync(dataDir, { recursive: true, force: true })
    }
  }
}
