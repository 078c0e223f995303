// A cluster of in-process brokers for the replication tests: N Broker instances sharing one
// in-memory metadata store (what etcd is to a real cluster), each with its own data directory
// on disk and a fixed port, so a broker can be killed (as a crash: no controlled shutdown, its
// registration vanishes) and started again on the same data and port. Plus the look-ups the
// tests assert on: who leads a partition, its ISR, each replica's log bytes.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { type Logger, createLogger, isLogLevel, silentLogger } from '../../src/logger.ts'
import { Broker } from '../../src/broker.ts'
import { embeddedBrokerOptions } from '../../src/embedded.ts'
import { SharedMemoryMetadataCluster } from '../../src/metadata/shared-memory-metadata-store.ts'
import type { Partition } from '../../src/topics/partition.ts'

export interface ClusterOptions {
  brokers?: number
  /** Broker configs by Kafka name for every broker. */
  config?: Record<string, string | number | boolean>
}

export interface TestCluster {
  readonly metadata: SharedMemoryMetadataCluster
  readonly nodeIds: number[]
  /** The running broker with this id (throws if it is down). */
  broker (nodeId: number): Broker
  isRunning (nodeId: number): boolean
  /** `host:port` of every broker, for clients' bootstrap servers. */
  readonly bootstrap: string[]
  /** Kills a broker as a crash would. */
  kill (nodeId: number): Promise<void>
  /** Stops a broker cleanly (controlled shutdown). */
  stop (nodeId: number): Promise<void>
  /** Starts a stopped or killed broker again on the same data directory and port. */
  start (nodeId: number): Promise<Broker>
  close (): Promise<void>
}

function loggerFor (nodeId: number): Logger {
  const level = process.env.SAMSA_TEST_LOG_LEVEL
  return level !== undefined && isLogLevel(level) ? createLogger(level).child({ node: nodeId }) : silentLogger
}

/** Fast settings for tests: short fetch waits and backoffs, groups form at once. */
export const TEST_CLUSTER_CONFIG: Record<string, string | number | boolean> = {
  'replica.fetch.wait.max.ms': 100,
  'replica.fetch.backoff.ms': 50,
  'group.initial.rebalance.delay.ms': 0,
  'offsets.topic.num.partitions': 3,
  'transaction.state.log.num.partitions': 3,
  'auto.create.topics.enable': false
}

export async function startTestCluster (t: TestContext, options: ClusterOptions = {}): Promise<TestCluster> {
  const count = options.brokers ?? 3
  const metadata = new SharedMemoryMetadataCluster()
  const nodeIds = Array.from({ length: count }, (_, i) => i + 1)
  const dirs = new Map(nodeIds.map((id) => [id, mkdtempSync(join(tmpdir(), `samsa-repl-${id}-`))]))
  const ports = new Map<number, number>()
  const running = new Map<number, Broker>()
  const config = { ...TEST_CLUSTER_CONFIG, ...options.config }

  const start = async (nodeId: number): Promise<Broker> => {
    assert.equal(running.has(nodeId), false, `broker ${nodeId} is running`)
    const broker = await Broker.start(embeddedBrokerOptions({
      config: {
        ...Object.fromEntries(Object.entries(config).map(([k, v]) => [k, String(v)])),
        'node.id': String(nodeId),
        listeners: `PLAINTEXT://127.0.0.1:${ports.get(nodeId) ?? 0}`,
        'log.dirs': dirs.get(nodeId)!
      },
      metadataStore: metadata.store(),
      logger: loggerFor(nodeId)
    }))
    ports.set(nodeId, broker.boundListeners[0]!.port)
    running.set(nodeId, broker)
    return broker
  }

  for (const id of nodeIds) await start(id)
  const cluster: TestCluster = {
    metadata,
    nodeIds,
    broker (nodeId) {
      const b = running.get(nodeId)
      if (b === undefined) throw new Error(`broker ${nodeId} is not running`)
      return b
    },
    isRunning: (nodeId) => running.has(nodeId),
    get bootstrap () { return nodeIds.map((id) => `127.0.0.1:${ports.get(id)!}`) },
    async kill (nodeId) {
      const b = cluster.broker(nodeId)
      running.delete(nodeId)
      await b.kill()
    },
    async stop (nodeId) {
      const b = cluster.broker(nodeId)
      running.delete(nodeId)
      await b.stop()
    },
    start,
    async close () {
      await Promise.all([...running.entries()].map(async ([id, b]) => {
        running.delete(id)
        await b.kill()
      }))
      for (const dir of dirs.values()) rmSync(dir, { recursive: true, force: true })
    }
  }
  t.after(async () => await cluster.close())
  return cluster
}

/**
 * Clean-up that must run before the brokers stop (node:test runs `after` hooks in the order they
 * were registered): kafkajs clients disconnected after their cluster is gone keep retrying and
 * hold the test process open. Call first in a test; push closers, they run last-in first-out.
 */
export function closersFirst (t: TestContext): Array<() => Promise<unknown>> {
  const closers: Array<() => Promise<unknown>> = []
  t.after(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined)
  })
  return closers
}

/** Polls `check` until it returns true (or a value other than false/undefined), failing after `timeoutMs`. */
export async function waitFor<T> (what: string, check: () => T | false | undefined | Promise<T | false | undefined>, timeoutMs = 15000, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const result = await check()
    if (result !== false && result !== undefined) return result
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

/** The partition as a running broker sees it. */
export function partitionOn (cluster: TestCluster, nodeId: number, topic: string, index = 0): Partition {
  const p = cluster.broker(nodeId).topics.anyPartition(topic, index)
  assert.ok(p !== undefined, `broker ${nodeId} does not know ${topic}-${index}`)
  return p
}

/** The leader's node id once every running broker agrees on one that is running. */
export async function leaderOf (cluster: TestCluster, topic: string, index = 0): Promise<number> {
  return await waitFor(`a leader of ${topic}-${index}`, () => {
    const running = cluster.nodeIds.filter((id) => cluster.isRunning(id))
    const views = running.map((id) => cluster.broker(id).topics.anyPartition(topic, index))
    const leader = views[0]?.leaderId
    if (leader === undefined || leader < 0 || !cluster.isRunning(leader)) return undefined
    if (!views.every((v) => v?.leaderId === leader && v.leaderEpoch === views[0]!.leaderEpoch)) return undefined
    return cluster.broker(leader).topics.anyPartition(topic, index)?.isLeader === true ? leader : undefined
  })
}

/** The whole log of a replica, as bytes (every batch from the log start to the log end). */
export function logBytes (cluster: TestCluster, nodeId: number, topic: string, index = 0): Buffer {
  const log = partitionOn(cluster, nodeId, topic, index).log
  const chunks: Buffer[] = []
  let offset = log.logStartOffset
  while (offset < log.logEndOffset) {
    const read = log.read(offset, { maxBytes: 1024 * 1024, maxOffset: log.logEndOffset, minOneBatch: true })
    if (read.records.length === 0) break
    chunks.push(Buffer.from(read.records))
    let at = 0
    while (at < read.records.length) {
      const length = read.records.readInt32BE(at + 8)
      const base = Number(read.records.readBigInt64BE(at))
      const lastDelta = read.records.readInt32BE(at + 23)
      offset = base + lastDelta + 1
      at += 12 + length
    }
  }
  return Buffer.concat(chunks)
}

/** Waits until every running replica has the leader's log end and high watermark, then asserts their logs are byte-identical. */
export async function assertReplicasIdentical (cluster: TestCluster, topic: string, index = 0, timeoutMs = 15000): Promise<Buffer> {
  const leader = await leaderOf(cluster, topic, index)
  const replicas = partitionOn(cluster, leader, topic, index).replicas.filter((id) => cluster.isRunning(id))
  await waitFor(`every replica of ${topic}-${index} caught up`, () => {
    const l = partitionOn(cluster, leader, topic, index).log
    return replicas.every((id) => {
      const log = partitionOn(cluster, id, topic, index).log
      return log.logEndOffset === l.logEndOffset && log.highWatermark === l.highWatermark && l.highWatermark === l.logEndOffset
    })
  }, timeoutMs)
  const expected = logBytes(cluster, leader, topic, index)
  for (const id of replicas) {
    assert.ok(logBytes(cluster, id, topic, index).equals(expected), `replica ${id} of ${topic}-${index} differs from the leader ${leader}`)
  }
  return expected
}
