/**
 * A cluster of in-process brokers for tests: `startCluster({ brokers: 3 })` starts node ids
 * 1..N on free 127.0.0.1 ports, each with its own temporary data directory, sharing cluster
 * metadata either in memory (SharedMemoryMetadataCluster: etcd's semantics without a process,
 * the default) or in a real etcd started for the test (`metadata: 'etcd'`). Each broker can be
 * stopped cleanly (controlled shutdown), killed (a crash: its session ends with no handover) and
 * restarted on the same port and data.
 *
 *     const cluster = await startCluster({ brokers: 3 })
 *     t.after(() => cluster.stop())
 *     const kafka = new Kafka({ brokers: cluster.bootstrap.split(',') })
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  Broker, type Logger, type MetadataStore, SharedMemoryMetadataCluster, createLogger, embeddedBrokerOptions, isLogLevel, silentLogger
} from '@samsa/broker'
import { type EtcdServer, startEtcd } from './etcd-server.ts'

export interface StartClusterOptions {
  /** Number of brokers (node ids 1..N); default 3. */
  brokers?: number
  /** Where the cluster metadata lives: 'memory' (default, in this process) or a real 'etcd'. */
  metadata?: 'memory' | 'etcd'
  /** Broker configs for every broker, by Kafka name. */
  config?: Record<string, string | number | boolean>
  /** Per-broker configs (e.g. broker.rack), applied over `config`. */
  brokerConfig?: (nodeId: number) => Record<string, string | number | boolean>
  /** broker.rack of each broker, by position (racks[0] for node 1). */
  racks?: string[]
  /** Log to stderr at this level (default: silent, or $SAMSA_TEST_LOG_LEVEL). */
  logLevel?: 'error' | 'warn' | 'info' | 'debug'
}

export interface ClusterBroker {
  readonly nodeId: number
  /** The running broker (throws while it is stopped). */
  readonly broker: Broker
  readonly running: boolean
  readonly host: string
  readonly port: number
  /** `host:port` */
  readonly bootstrap: string
  readonly dataDir: string
  /** Clean shutdown: controlled shutdown first (leaderships move), then stop. */
  stop (): Promise<void>
  /** A crash: connections cut, no handover; the metadata session ends as the process's would. */
  kill (): Promise<void>
  /** Starts it again (stopping it first if running) on the same port and data. */
  restart (): Promise<void>
  /** Starts it again after stop() or kill(). */
  start (): Promise<void>
}

export interface TestCluster {
  readonly brokers: readonly ClusterBroker[]
  /** Every broker's `host:port`, comma-separated (for bootstrap.servers). */
  readonly bootstrap: string
  /** The in-process metadata ('memory' clusters). */
  readonly metadata: SharedMemoryMetadataCluster | undefined
  /** The etcd process ('etcd' clusters). */
  readonly etcd: EtcdServer | undefined
  broker (nodeId: number): ClusterBroker
  /** The broker whose controller role is active now, if any. */
  controller (): ClusterBroker | undefined
  /** Polls `condition` every 20 ms until true; throws with `what` after `timeoutMs` (default 15000). */
  waitFor (condition: () => boolean | Promise<boolean>, what: string, timeoutMs?: number): Promise<void>
  /** Stops every broker and etcd and removes the data directories. */
  stop (): Promise<void>
}

function loggerFor (level: string | undefined): Logger {
  const wanted = level ?? process.env.SAMSA_TEST_LOG_LEVEL
  return wanted !== undefined && isLogLevel(wanted) ? createLogger(wanted) : silentLogger
}

function strings (values: Record<string, string | number | boolean> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(values ?? {}).map(([k, v]) => [k, String(v)]))
}

export async function startCluster (options: StartClusterOptions = {}): Promise<TestCluster> {
  const count = options.brokers ?? 3
  const host = '127.0.0.1'
  const logger = loggerFor(options.logLevel)
  const etcd = options.metadata === 'etcd' ? await startEtcd() : undefined
  const metadata = etcd === undefined ? new SharedMemoryMetadataCluster() : undefined
  const members: ClusterBroker[] = []

  const makeBroker = (nodeId: number): ClusterBroker => {
    const dataDir = mkdtempSync(join(tmpdir(), `samsa-cluster-${nodeId}-`))
    let broker: Broker | undefined
    let port = 0
    const rack = options.racks?.[nodeId - 1]
    const launch = async (): Promise<void> => {
      const store: MetadataStore | undefined = metadata?.store()
      const b = await Broker.start(embeddedBrokerOptions({
        config: {
          'node.id': String(nodeId),
          listeners: `PLAINTEXT://${host}:${port}`,
          'log.dirs': dataDir,
          'group.initial.rebalance.delay.ms': '0',
          // Detect a dead broker within seconds, not Kafka's 9 s, and hand over quickly on stop.
          'broker.session.timeout.ms': '2000',
          'controlled.shutdown.retry.backoff.ms': '1000',
          ...(etcd === undefined ? {} : { 'metadata.store': etcd.url }),
          ...(rack === undefined ? {} : { 'broker.rack': rack }),
          ...strings(options.config),
          ...strings(options.brokerConfig?.(nodeId))
        },
        logger: logger === silentLogger ? logger : logger.child({ node: nodeId }),
        ...(store === undefined ? {} : { metadataStore: store })
      }))
      broker = b
      port = b.boundListeners[0]!.port
    }
    const member: ClusterBroker = {
      nodeId,
      get broker () {
        if (broker === undefined) throw new Error(`Broker ${nodeId} is not running`)
        return broker
      },
      get running () { return broker !== undefined },
      host,
      get port () { return port },
      get bootstrap () { return `${host}:${port}` },
      dataDir,
      async stop () {
        const b = broker
        broker = undefined
        await b?.stop()
      },
      async kill () {
        const b = broker
        broker = undefined
        await b?.kill()
      },
      async restart () {
        await member.stop()
        await launch()
      },
      async start () {
        if (broker !== undefined) return
        await launch()
      }
    }
    return member
  }

  const stopAll = async (): Promise<void> => {
    await Promise.all(members.map(async (m) => await m.stop().catch(() => undefined)))
    await etcd?.stop()
    for (const m of members) rmSync(m.dataDir, { recursive: true, force: true })
  }

  try {
    for (let nodeId = 1; nodeId <= count; nodeId++) members.push(makeBroker(nodeId))
    // One at a time: the first becomes the controller, the others join it.
    for (const m of members) await m.start()
  } catch (error) {
    await stopAll()
    throw error
  }

  const cluster: TestCluster = {
    brokers: members,
    get bootstrap () { return members.map((m) => m.bootstrap).join(',') },
    metadata,
    etcd,
    broker (nodeId) {
      const m = members.find((b) => b.nodeId === nodeId)
      if (m === undefined) throw new Error(`No broker ${nodeId} in this cluster`)
      return m
    },
    controller () {
      return members.find((m) => m.running && m.broker.controller?.active === true)
    },
    async waitFor (condition, what, timeoutMs = 15000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        if (await condition()) return
        if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    },
    stop: stopAll
  }
  return cluster
}
