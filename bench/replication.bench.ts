/**
 * Replication costs and recovery, on one machine: three `samsa start` broker processes (the
 * built CLI) sharing an etcd (/usr/bin/etcd), measured in the same run:
 *
 * - producer throughput (Samsa's client, 1 KB records, send() of 1000-record lists, up to 8
 *   lists outstanding) to a one-partition topic with replication factor 1 (acks=1, acks=all)
 *   and replication factor 3 with min.insync.replicas 2 (acks=1, acks=all): records/s, MB/s and
 *   the ratio to RF 1 acks=1;
 * - acks=all latency of single records sent one at a time (p50, p99), RF 1 against RF 3: the
 *   price of waiting for the followers' next fetch;
 * - failover: a producer sending single records with acks=all, the RF 3 partition's leader
 *   killed with SIGKILL; the time until the next acknowledged record (the etcd lease,
 *   broker.session.timeout.ms, dominates: `--session-timeout-ms` sets it, default Kafka's 9000);
 * - follower catch-up: a follower killed, CATCH_UP_MB written with acks=1 meanwhile, then
 *   started again: the time until it is back in the ISR, as MB/s.
 *
 *   npx tsc -b && node --conditions=samsa:source --import tsx bench/replication.bench.ts [--quick] [--session-timeout-ms N]
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Kafka, logLevel } from 'kafkajs'
import { createProducer } from '@samsa/client'
import { startEtcd } from '@samsa/testkit'
import { CLI } from '../compat/harness.ts'
import { machine } from './harness.ts'

const quick = process.argv.includes('--quick')
const sessionArg = process.argv.indexOf('--session-timeout-ms')
const SESSION_TIMEOUT_MS = sessionArg >= 0 ? Number(process.argv[sessionArg + 1]) : 9000
const RECORD = Buffer.alloc(1024, 'x')
const CHUNK = 1000
const CONCURRENCY = 8
const THROUGHPUT_RECORDS = quick ? 100_000 : 300_000
const LATENCY_RECORDS = quick ? 500 : 2000
const CATCH_UP_MB = quick ? 50 : 200

/** A `samsa start` process that can be SIGKILLed and started again on the same port and data. */
class BrokerProcess {
  readonly nodeId: number
  readonly dataDir = mkdtempSync(join(tmpdir(), 'samsa-bench-repl-'))
  readonly #config: Record<string, string | number>
  port = 0
  #child: ChildProcess | undefined

  constructor (nodeId: number, config: Record<string, string | number>) {
    this.nodeId = nodeId
    this.#config = config
  }

  get bootstrap (): string {
    return `127.0.0.1:${this.port}`
  }

  async start (): Promise<void> {
    if (!existsSync(CLI)) throw new Error(`The CLI is not built (${CLI}); run 'npx tsc -b' first`)
    const args = [CLI, 'start', '--log.dirs', this.dataDir, '--listeners', `PLAINTEXT://127.0.0.1:${this.port}`, '--node.id', String(this.nodeId)]
    for (const [k, v] of Object.entries(this.#config)) args.push(`--${k}`, String(v))
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SAMSA_LOG_LEVEL: 'info' } })
    this.#child = child
    let output = ''
    this.port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`broker ${this.nodeId} did not start:\n${output}`)), 30_000)
      const onData = (chunk: Buffer): void => {
        output = (output + chunk.toString()).slice(-20000)
        const m = /Broker started .*listeners=PLAINTEXT:\/\/[^:]+:(\d+)/.exec(output)
        if (m === null) return
        clearTimeout(timer)
        child.off('exit', onExit)
        resolve(Number(m[1]))
      }
      const onExit = (code: number | null): void => {
        clearTimeout(timer)
        reject(new Error(`broker ${this.nodeId} exited with ${String(code)}:\n${output}`))
      }
      // Keep draining the pipes after start-up so the broker never blocks on a full pipe.
      child.stdout.on('data', onData)
      child.stderr.on('data', onData)
      child.once('exit', onExit)
    })
  }

  async signal (signal: NodeJS.Signals): Promise<void> {
    const child = this.#child
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve())
      child.kill(signal)
    })
  }

  async stop (): Promise<void> {
    await this.signal('SIGTERM')
    rmSync(this.dataDir, { recursive: true, force: true })
  }
}

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN
}

async function throughput (bootstrap: string, topic: string, acks: 1 | -1, records: number): Promise<number> {
  const producer = createProducer({ bootstrapServers: bootstrap, acks, batchSize: 1024 * 1024, lingerMs: 5, bufferMemory: 128 * 1024 * 1024, idempotent: acks === -1 })
  await producer.send({ topic, value: 'warm-up' })
  const started = performance.now()
  const pending = new Set<Promise<unknown>>()
  for (let sent = 0; sent < records; sent += CHUNK) {
    const p = producer.send(Array.from({ length: Math.min(CHUNK, records - sent) }, () => ({ topic, value: RECORD })))
    pending.add(p)
    void p.finally(() => pending.delete(p))
    if (pending.size >= CONCURRENCY) await Promise.race(pending)
  }
  await Promise.all(pending)
  const seconds = (performance.now() - started) / 1000
  await producer.close()
  return records / seconds
}

async function latency (bootstrap: string, topic: string): Promise<{ p50: number, p99: number }> {
  const producer = createProducer({ bootstrapServers: bootstrap, acks: -1, lingerMs: 0 })
  await producer.send({ topic, value: 'warm-up' })
  const samples: number[] = []
  for (let i = 0; i < LATENCY_RECORDS; i++) {
    const t0 = performance.now()
    await producer.send({ topic, value: RECORD })
    samples.push(performance.now() - t0)
  }
  await producer.close()
  samples.sort((a, b) => a - b)
  return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99) }
}

async function partitionInfo (kafka: Kafka, topic: string): Promise<{ leader: number, isr: number[] } | undefined> {
  const admin = kafka.admin()
  try {
    await admin.connect()
    const meta = await admin.fetchTopicMetadata({ topics: [topic] })
    const p = meta.topics[0]!.partitions[0]!
    return { leader: p.leader, isr: p.isr }
  } catch {
    return undefined
  } finally {
    await admin.disconnect().catch(() => undefined)
  }
}

async function until (check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function main (): Promise<void> {
  console.log(`Replication benchmark — ${machine()}${quick ? ' (quick)' : ''}`)
  const etcd = await startEtcd()
  const brokers: BrokerProcess[] = []
  try {
    for (let id = 1; id <= 3; id++) {
      const b = new BrokerProcess(id, { 'metadata.store': etcd.url, 'broker.session.timeout.ms': SESSION_TIMEOUT_MS, 'auto.create.topics.enable': 'false' })
      brokers.push(b)
      await b.start()
    }
    const bootstrap = brokers.map((b) => b.bootstrap).join(',')
    const kafka = new Kafka({ brokers: brokers.map((b) => b.bootstrap), clientId: 'bench', logLevel: logLevel.NOTHING, retry: { retries: 50, initialRetryTime: 100 } })
    const admin = kafka.admin()
    await admin.connect()
    const topics = ['rf1-a1', 'rf1-all', 'rf3-a1', 'rf3-all', 'rf1-lat', 'rf3-lat', 'rf3-failover', 'rf3-catchup']
    await admin.createTopics({
      waitForLeaders: true,
      topics: topics.map((topic) => ({
        topic,
        numPartitions: 1,
        replicationFactor: topic.startsWith('rf3') ? 3 : 1,
        configEntries: [{ name: 'min.insync.replicas', value: topic.startsWith('rf3') ? '2' : '1' }]
      }))
    })
    await admin.disconnect()

    console.log(`\nThroughput: ${THROUGHPUT_RECORDS} × 1 KB records, one partition, Samsa client`)
    const rows: Array<[string, string, 1 | -1]> = [
      ['RF 1, acks=1', 'rf1-a1', 1], ['RF 1, acks=all', 'rf1-all', -1], ['RF 3, acks=1', 'rf3-a1', 1], ['RF 3, acks=all (min.insync.replicas 2)', 'rf3-all', -1]
    ]
    let reference = 0
    for (const [label, topic, acks] of rows) {
      const rate = await throughput(bootstrap, topic, acks, THROUGHPUT_RECORDS)
      if (reference === 0) reference = rate
      console.log(`${label.padEnd(44)} ${rate.toFixed(0).padStart(9)} records/s ${(rate * RECORD.length / 1e6).toFixed(1).padStart(7)} MB/s  ${(rate / reference).toFixed(2)}× RF 1 acks=1`)
    }

    console.log(`\nacks=all latency, ${LATENCY_RECORDS} single 1 KB records one at a time`)
    for (const [label, topic] of [['RF 1', 'rf1-lat'], ['RF 3', 'rf3-lat']] as const) {
      const l = await latency(bootstrap, topic)
      console.log(`${label.padEnd(44)} p50 ${l.p50.toFixed(2)} ms  p99 ${l.p99.toFixed(2)} ms`)
    }

    console.log(`\nFailover: SIGKILL of the leader (broker.session.timeout.ms ${SESSION_TIMEOUT_MS})`)
    {
      const producer = createProducer({ bootstrapServers: bootstrap, acks: -1, lingerMs: 0, deliveryTimeoutMs: 120000, retryBackoffMs: 50, retryBackoffMaxMs: 200 })
      await producer.send({ topic: 'rf3-failover', value: 'warm-up' })
      let lastAck = performance.now()
      let stop = false
      const writing = (async () => {
        while (!stop) {
          await producer.send({ topic: 'rf3-failover', value: RECORD })
          lastAck = performance.now()
        }
      })()
      await new Promise((resolve) => setTimeout(resolve, 1000))
      const leader = (await partitionInfo(kafka, 'rf3-failover'))!.leader
      const victim = brokers[leader - 1]!
      const killedAt = performance.now()
      await victim.signal('SIGKILL')
      await until(() => lastAck > killedAt + 1, 120000)
      const firstAck = lastAck - killedAt
      await victim.start()
      stop = true
      await writing
      await producer.close()
      console.log(`${'kill → next acknowledged write'.padEnd(44)} ${firstAck.toFixed(0)} ms`)
    }

    console.log(`\nFollower catch-up: ${CATCH_UP_MB} MB written while a follower is down`)
    {
      await until(async () => (await partitionInfo(kafka, 'rf3-catchup'))?.isr.length === 3, 60000)
      const leader = (await partitionInfo(kafka, 'rf3-catchup'))!.leader
      const victim = brokers.find((b) => b.nodeId !== leader)!
      await victim.signal('SIGKILL')
      await throughput(bootstrap, 'rf3-catchup', 1, CATCH_UP_MB * 1000)
      const restarted = performance.now()
      await victim.start()
      await until(async () => (await partitionInfo(kafka, 'rf3-catchup'))?.isr.length === 3, 300000)
      const seconds = (performance.now() - restarted) / 1000
      console.log(`${'start → back in the ISR'.padEnd(44)} ${(seconds * 1000).toFixed(0)} ms  (${(CATCH_UP_MB / seconds).toFixed(1)} MB/s, start-up included)`)
    }
  } finally {
    for (const b of brokers) await b.stop().catch(() => undefined)
    await etcd.stop()
  }
}

await main()
