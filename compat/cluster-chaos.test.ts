/**
 * The cluster's headline proof (issue 8, "Show that it works"): one etcd and three `samsa start`
 * brokers as real processes on loopback; topics with replication factor 3 and
 * min.insync.replicas=2; two producers with acks=all writing continuously (kafkajs in this
 * process, not idempotent; librdkafka through confluent-kafka-python in a child process,
 * idempotent) while brokers are killed with SIGKILL and restarted one at a time, partition
 * leaders every round, alternately after a real failover and at once (before the dead broker's
 * etcd lease expires). Afterwards every acknowledged record must be read back at the offset it
 * was acknowledged with, in order per partition, and the three replicas' logs must be
 * byte-identical (compared live once quiet, and again after a clean stop).
 *
 * A second test cuts off the controller while it leads both partitions of a topic (SIGSTOP: it
 * can talk neither to etcd nor to its peers), sends it an acks=all write that is queued while it
 * is frozen and one right after it thaws, and checks that it acknowledges none it cannot keep,
 * and that it truncates and catches up when it returns. A third stops every broker cleanly and
 * compares the replicas on disk again.
 *
 *   SAMSA_CHAOS_ROUNDS=20 node scripts/test.mjs --compat cluster-chaos
 *
 * Environment: SAMSA_CHAOS_ROUNDS (default 10: about 70 s in all on two cores),
 * SAMSA_CHAOS_SESSION_MS (broker.session.timeout.ms, default 2000), SAMSA_CHAOS_LAG_MS
 * (replica.lag.time.max.ms, default 3000), SAMSA_CHAOS_DOWN_MS (how long a killed broker stays
 * down in the failover rounds, default 3500), SAMSA_CHAOS_KEEP=1 (keep the temporary directory
 * with the broker logs even when everything passed; it is always kept when a check fails),
 * SAMSA_CHAOS_STRICT_ISR=1 (also fail when the controller shrinks an ISR to a single replica
 * while two brokers are up; only reported otherwise), SAMSA_CHAOS_HURRY=1 (start the next round
 * 500 ms after the restarted broker is up instead of once every ISR is full: still one broker
 * down at a time, but the victim may be a partition's last in-sync replica).
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { type WriteStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, test } from 'node:test'
import { Kafka, type Admin, type LogEntry, logLevel } from 'kafkajs'
import {
  FetchApi, LOG_OVERHEAD, MetadataApi, ProduceApi, buildRecordBatch, decodeRecordBatch, errorByCode, readBaseOffset, readBatchLength,
  readLastOffsetDelta, readPartitionLeaderEpoch
} from '@samsa/protocol'
import { createFetchPartition, createFetchRequest, createFetchTopic } from '@samsa/protocol/messages/fetch'
import { createMetadataRequest, createMetadataRequestTopic } from '@samsa/protocol/messages/metadata'
import { createPartitionProduceData, createProduceRequest, createTopicProduceData } from '@samsa/protocol/messages/produce'
import { type EtcdServer, type RawClient, connectRaw, etcdAvailable, freePort, startEtcd } from '@samsa/testkit'
import { CLI, ROOT } from './harness.ts'
import { PYTHON } from './helpers.ts'

const ROUNDS = Number(process.env.SAMSA_CHAOS_ROUNDS ?? 10)
const SESSION_MS = Number(process.env.SAMSA_CHAOS_SESSION_MS ?? 2000)
const LAG_MS = Number(process.env.SAMSA_CHAOS_LAG_MS ?? 3000)
const DOWN_MS = Number(process.env.SAMSA_CHAOS_DOWN_MS ?? 3500)
const FAST_DOWN_MS = 300
/** Next round as soon as the restarted broker is up, not once every ISR is full again. */
const HURRY = process.env.SAMSA_CHAOS_HURRY === '1'
const PARTITIONS = 3
const BROKERS = 3

const BROKER_CONFIG: Record<string, string | number> = {
  'broker.session.timeout.ms': SESSION_MS,
  'replica.lag.time.max.ms': LAG_MS,
  'replica.fetch.wait.max.ms': 200,
  'replica.fetch.backoff.ms': 200,
  'replica.socket.timeout.ms': 5000,
  'controlled.shutdown.retry.backoff.ms': 1000,
  // Preferred leaders come back after a restart, so later rounds find leaders on every broker.
  'leader.imbalance.check.interval.seconds': 5,
  'default.replication.factor': 3,
  'min.insync.replicas': 2,
  'num.partitions': PARTITIONS,
  'group.initial.rebalance.delay.ms': 0
}

const skip = etcdAvailable() ? false : 'etcd is not installed (/usr/bin/etcd, Debian package etcd-server)'
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
/** A sleep that does not keep the process alive (for timeouts raced against an exit). */
const unrefSleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms).unref())

// ---------------------------------------------------------------------------------------------
// Broker processes

interface Node {
  readonly id: number
  readonly port: number
  readonly dir: string
  readonly logPath: string
  readonly log: WriteStream
  child: ChildProcess | undefined
  starts: number
  stopped: boolean
}

const children = new Set<ChildProcess>()
process.once('exit', () => { for (const c of children) c.kill('SIGKILL') })

let workDir = ''
let etcd: EtcdServer | undefined
const nodes: Node[] = []
let failed = false

/** This environment without SAMSA_* variables (the broker would read them as configs). */
function brokerEnv (): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SAMSA_')))
}

function note (node: Node, text: string): void {
  node.log.write(`\n===== [test] ${new Date().toISOString()} ${text}\n`)
}

async function startNode (node: Node): Promise<void> {
  const args = [CLI, 'start', '--node-id', String(node.id), '--metadata', etcd!.url, '--listeners', `PLAINTEXT://127.0.0.1:${node.port}`,
    '--log.dirs', node.dir, '--log-level', 'info']
  for (const [k, v] of Object.entries(BROKER_CONFIG)) args.push(`--${k}`, String(v))
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: brokerEnv() })
  children.add(child)
  child.once('exit', () => children.delete(child))
  node.child = child
  node.stopped = false
  node.starts++
  note(node, `start #${node.starts} pid ${child.pid}`)
  let seen = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker ${node.id} did not start in 30 s (see ${node.logPath})`)), 30_000)
    const onData = (chunk: Buffer): void => {
      node.log.write(chunk)
      if (seen !== '#') {
        seen += chunk.toString()
        if (seen.includes('Broker started')) {
          seen = '#'
          clearTimeout(timer)
          resolve()
        }
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`broker ${node.id} exited (${code ?? signal}) before starting (see ${node.logPath})`))
    })
  })
}

async function signalNode (node: Node, signal: 'SIGKILL' | 'SIGTERM', timeoutMs = 30_000): Promise<number | string | null> {
  const child = node.child
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return null
  note(node, `${signal} pid ${child.pid}`)
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig)))
  child.kill('SIGCONT')
  child.kill(signal)
  const result = await Promise.race([exited, unrefSleep(timeoutMs).then(() => 'timeout' as const)])
  if (result === 'timeout') {
    note(node, `did not exit within ${timeoutMs} ms of ${signal}: SIGKILL`)
    child.kill('SIGKILL')
    await exited
  }
  node.stopped = true
  return result
}

const liveNodes = (): Node[] => nodes.filter((n) => !n.stopped)
const bootstrapAll = (): string[] => nodes.map((n) => `127.0.0.1:${n.port}`)

// ---------------------------------------------------------------------------------------------
// Raw protocol: metadata, fetch, produce, each bounded in time (a frozen broker never answers)

async function withTimeout<T> (what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms) })
  try {
    return await Promise.race([work, timeout])
  } finally {
    clearTimeout(timer)
  }
}

async function onBroker<T> (port: number, ms: number, use: (c: RawClient) => Promise<T>): Promise<T> {
  const c = await withTimeout(`connect to ${port}`, ms, connectRaw(`127.0.0.1:${port}`, 'samsa-chaos'))
  try {
    return await withTimeout(`request to ${port}`, ms, use(c))
  } finally {
    c.close()
  }
}

interface PartitionView { leader: number, epoch: number, isr: number[], replicas: number[] }
interface ClusterView { from: number, controller: number, partitions: Map<string, PartitionView> }

async function metadataFrom (port: number, topics: string[]): Promise<ClusterView> {
  return await onBroker(port, 1500, async (c) => {
    const request = { ...createMetadataRequest(), topics: topics.map((name) => ({ ...createMetadataRequestTopic(), name })), allowAutoTopicCreation: false }
    const res = await c.request(MetadataApi, 9, request)
    const partitions = new Map<string, PartitionView>()
    for (const t of res.topics) {
      if (t.errorCode !== 0) throw new Error(`metadata of ${t.name ?? '?'} from ${port}: error ${errorByCode(t.errorCode).name}`)
      for (const p of t.partitions) {
        partitions.set(`${t.name ?? ''}-${p.partitionIndex}`, { leader: p.leaderId, epoch: p.leaderEpoch, isr: [...p.isrNodes].sort(), replicas: p.replicaNodes })
      }
    }
    return { from: port, controller: res.controllerId, partitions }
  })
}

/** The metadata as the first live broker that answers sees it. */
async function metadata (topics: string[], exclude?: number): Promise<ClusterView> {
  let last: unknown
  for (const n of liveNodes()) {
    if (n.id === exclude) continue
    try {
      return await metadataFrom(n.port, topics)
    } catch (error) {
      last = error
    }
  }
  throw new Error(`no live broker answered Metadata: ${String(last)}`)
}

async function waitUntil<T> (what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch { /* a broker going away: try again */ }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(100)
  }
}

/** Waits until every partition of `topics` has all three replicas in its ISR (as every live broker reports it). */
async function waitFullIsr (topics: string[], timeoutMs: number): Promise<ClusterView> {
  return await waitUntil('a full ISR on every partition', timeoutMs, async () => {
    const view = await metadata(topics)
    for (const p of view.partitions.values()) if (p.isr.length !== BROKERS || p.leader < 0) return undefined
    return view
  })
}

interface FetchedRecord { offset: number, value: string }

/** A partition's records up to the high watermark, fetched from its leader as a consumer (read_uncommitted). */
async function readPartition (port: number, topic: string, partition: number): Promise<{ records: FetchedRecord[], highWatermark: number }> {
  return await onBroker(port, 20_000, async (c) => {
    const out: FetchedRecord[] = []
    let offset = 0n
    for (;;) {
      const request = {
        ...createFetchRequest(),
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 64 * 1024 * 1024,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ ...createFetchTopic(), topic, partitions: [{ ...createFetchPartition(), partition, fetchOffset: offset, partitionMaxBytes: 8 * 1024 * 1024 }] }]
      }
      const res = await c.request(FetchApi, 11, request)
      const data = res.responses[0]?.partitions[0]
      if (data === undefined || data.errorCode !== 0) throw new Error(`Fetch ${topic}-${partition}@${offset} from ${port}: error ${errorByCode(data?.errorCode ?? -1).name}`)
      const records = data.records ?? Buffer.alloc(0)
      let at = 0
      while (at + LOG_OVERHEAD <= records.length) {
        const size = LOG_OVERHEAD + readBatchLength(records, at)
        if (at + size > records.length) break
        const batch = decodeRecordBatch(records, at)
        const base = Number(batch.header.baseOffset)
        for (const r of batch.records) {
          if (base + r.offsetDelta < Number(offset)) continue
          out.push({ offset: base + r.offsetDelta, value: r.value?.toString() ?? '<null>' })
        }
        offset = BigInt(base + readLastOffsetDelta(records, at) + 1)
        at += size
      }
      if (offset >= data.highWatermark) return { records: out, highWatermark: Number(data.highWatermark) }
      if (records.length === 0) throw new Error(`Fetch ${topic}-${partition}@${offset}: no records below the high watermark ${data.highWatermark}`)
    }
  })
}

/** One acks=all Produce of one record, straight to a broker. */
async function rawProduce (c: RawClient, topic: string, partition: number, value: string, timeoutMs: number): Promise<{ errorCode: number, baseOffset: number }> {
  const records = buildRecordBatch({ records: [{ value: Buffer.from(value) }] })
  const request = {
    ...createProduceRequest(),
    acks: -1,
    timeoutMs,
    topicData: [{ ...createTopicProduceData(), name: topic, partitionData: [{ ...createPartitionProduceData(), index: partition, records }] }]
  }
  const res = await c.request(ProduceApi, 9, request)
  const p = res.responses[0]!.partitionResponses[0]!
  return { errorCode: p.errorCode, baseOffset: Number(p.baseOffset) }
}

// ---------------------------------------------------------------------------------------------
// The replicas on disk

interface DiskBatch { base: number, last: number, epoch: number, bytes: Buffer }

/** Every batch in a partition's .log files, in order (segment boundaries ignored). */
function diskBatches (node: Node, topic: string, partition: number): DiskBatch[] {
  const dir = join(node.dir, `${topic}-${partition}`)
  if (!existsSync(dir)) return []
  const out: DiskBatch[] = []
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.log')).sort()) {
    const b = readFileSync(join(dir, file))
    let at = 0
    while (at + LOG_OVERHEAD <= b.length) {
      const length = readBatchLength(b, at)
      if (length <= 0 || at + LOG_OVERHEAD + length > b.length) break
      out.push({
        base: readBaseOffset(b, at),
        last: readBaseOffset(b, at) + readLastOffsetDelta(b, at),
        epoch: readPartitionLeaderEpoch(b, at),
        bytes: b.subarray(at, at + LOG_OVERHEAD + length)
      })
      at += LOG_OVERHEAD + length
    }
  }
  return out
}

interface ReplicaComparison { identical: boolean, summary: string }

/** Whether the three replicas of a partition hold the same batches, byte for byte. */
function compareReplicas (topic: string, partition: number): ReplicaComparison {
  const per = nodes.map((n) => ({ id: n.id, batches: diskBatches(n, topic, partition) }))
  const digest = (bs: DiskBatch[]): string => {
    const h = createHash('sha256')
    for (const b of bs) h.update(b.bytes)
    return h.digest('hex').slice(0, 12)
  }
  const described = per.map((r) => `broker ${r.id}: ${r.batches.length} batches, offsets 0..${r.batches.at(-1)?.last ?? -1}, sha256 ${digest(r.batches)}`)
  const identical = per.every((r) => digest(r.batches) === digest(per[0]!.batches))
  if (identical) return { identical, summary: `${topic}-${partition}: identical (${described[0]!})` }
  // The first batch where they differ, on each replica.
  const lines = [`${topic}-${partition}: replicas DIFFER`, ...described.map((d) => `  ${d}`)]
  const longest = Math.max(...per.map((r) => r.batches.length))
  for (let i = 0; i < longest; i++) {
    const here = per.map((r) => r.batches[i])
    if (here.every((b) => b !== undefined && b.bytes.equals(here[0]!.bytes))) continue
    lines.push(`  first difference at batch #${i}:`)
    for (const [k, r] of per.entries()) {
      const b = here[k]
      lines.push(`    broker ${r.id}: ${b === undefined ? 'none' : `offsets ${b.base}..${b.last} leaderEpoch ${b.epoch} ${b.bytes.length} bytes`}`)
    }
    break
  }
  return { identical, summary: lines.join('\n') }
}

/** Compares the replicas until they agree (followers may be one fetch behind), or gives up after `timeoutMs`. */
async function compareReplicasSettled (topic: string, partition: number, timeoutMs: number): Promise<ReplicaComparison> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const c = compareReplicas(topic, partition)
    if (c.identical || Date.now() > deadline) return c
    await sleep(250)
  }
}

// ---------------------------------------------------------------------------------------------
// Producers: each records every acknowledged (partition, offset, value)

interface Ack { p: number, o: number, v: string, sent: number, acked: number }
interface Failure { p: number, values: string[], err: string, at: number }

interface ChaosProducer {
  readonly name: string
  readonly topic: string
  readonly acks: Ack[]
  readonly failures: Failure[]
  readonly events: string[]
  /** Stops producing, waits for what is in flight, and returns. */
  stop (): Promise<void>
  kill (): void
}

const seqOf = (value: string): number => Number(value.slice(value.lastIndexOf('-') + 1))

/**
 * kafkajs 2.2.4, not idempotent, one loop per partition: send() of 5 records to one partition at
 * a time (kafkajs drops a multi-partition send's records for partitions that moved to a broker
 * that had already answered, see packages/broker/test/cluster/kafkajs-cluster.test.ts).
 */
async function startKafkajsProducer (topic: string, prefix: string, partitions: number[], timeouts = { request: 10_000, ack: 5000 }): Promise<ChaosProducer> {
  const events: string[] = []
  const kafka = new Kafka({
    clientId: `samsa-chaos-kafkajs-${prefix}`,
    brokers: bootstrapAll(),
    connectionTimeout: 1000,
    requestTimeout: timeouts.request,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 40 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      if (events.length < 2000) events.push(`${new Date().toISOString()} ${entry.label} ${entry.log.message} ${String(entry.log.error ?? '')}`)
    }
  })
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false, retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 40 } })
  await producer.connect()
  const acks: Ack[] = []
  const failures: Failure[] = []
  let stopping = false
  const loop = async (p: number): Promise<void> => {
    let seq = 0
    while (!stopping) {
      const values = Array.from({ length: 5 }, (_, i) => `${prefix}-p${p}-${seq + i}`)
      seq += values.length
      const sent = Date.now()
      try {
        const res = await producer.send({ topic, acks: -1, timeout: timeouts.ack, messages: values.map((value) => ({ partition: p, value })) })
        const meta = res.find((r) => r.partition === p)
        if (meta === undefined || meta.errorCode !== 0) throw new Error(`send answered ${JSON.stringify(res)}`)
        const base = Number(meta.baseOffset)
        const acked = Date.now()
        values.forEach((v, i) => acks.push({ p, o: base + i, v, sent, acked }))
      } catch (error) {
        failures.push({ p, values, err: String(error), at: Date.now() })
      }
      await sleep(10)
    }
  }
  const loops = partitions.map(async (p) => await loop(p))
  return {
    name: 'kafkajs',
    topic,
    acks,
    failures,
    events,
    async stop () {
      stopping = true
      await Promise.all(loops)
      await producer.disconnect()
    },
    kill () {
      stopping = true
      producer.disconnect().catch(() => undefined)
    }
  }
}

/** librdkafka 2.0.2 (confluent-kafka-python 1.7.0), idempotent, in a child process (compat/python/chaos_confluent.py). */
function startLibrdkafkaProducer (topic: string, prefix: string, partitions: number[], ratePerPartition: number, config: Record<string, string | number | boolean> = {}): ChaosProducer {
  const acks: Ack[] = []
  const failures: Failure[] = []
  const events: string[] = []
  const child = spawn(PYTHON, [join(ROOT, 'compat/python/chaos_confluent.py'), bootstrapAll().join(','), topic, partitions.join(','), String(ratePerPartition),
    JSON.stringify({ prefix, 'enable.idempotence': true, ...config })], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
  children.add(child)
  const stderr = createWriteStream(join(workDir, `librdkafka-${prefix}.stderr`))
  child.stderr.pipe(stderr)
  let done = false
  const exited = new Promise<void>((resolve) => child.once('exit', () => { children.delete(child); resolve() }))
  createInterface({ input: child.stdout }).on('line', (line) => {
    let doc: { t: string, p: number, o: number, v: string, sent: number, acked: number, err?: string, fatal?: boolean, at?: number, remaining?: number, produced?: number }
    try {
      doc = JSON.parse(line) as typeof doc
    } catch {
      events.push(`unparsable: ${line}`)
      return
    }
    if (doc.t === 'ack') acks.push({ p: doc.p, o: doc.o, v: doc.v, sent: doc.sent, acked: doc.acked })
    else if (doc.t === 'fail') failures.push({ p: doc.p, values: [doc.v], err: doc.err ?? '', at: doc.acked })
    else if (doc.t === 'error') events.push(`${new Date(doc.at ?? 0).toISOString()} ${doc.fatal === true ? 'FATAL ' : ''}${doc.err ?? ''}`)
    else if (doc.t === 'done') {
      done = true
      events.push(`done: produced ${doc.produced ?? '?'}, ${doc.remaining ?? '?'} not delivered at exit`)
    }
  })
  return {
    name: 'librdkafka',
    topic,
    acks,
    failures,
    events,
    async stop () {
      child.stdin.end()
      await Promise.race([exited, unrefSleep(100_000)])
      if (!done) {
        events.push('did not finish flushing within 100 s: killed')
        child.kill('SIGKILL')
        await exited
      }
    },
    kill () {
      child.kill('SIGKILL')
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Checking what was acknowledged against what the cluster serves

interface Verdict { lines: string[], problems: string[] }

async function verifyTopic (producer: ChaosProducer, view: ClusterView, partitions: number[]): Promise<Verdict> {
  const lines: string[] = []
  const problems: string[] = []
  const topic = producer.topic
  for (const p of partitions) {
    const leader = view.partitions.get(`${topic}-${p}`)!.leader
    const node = nodes.find((n) => n.id === leader)!
    const { records, highWatermark } = await readPartition(node.port, topic, p)
    const byOffset = new Map(records.map((r) => [r.offset, r.value]))
    const acked = producer.acks.filter((a) => a.p === p)
    let lost = 0
    let wrong = 0
    const examples: string[] = []
    for (const a of acked) {
      const got = byOffset.get(a.o)
      if (got === a.v) continue
      if (got === undefined) lost++
      else wrong++
      if (examples.length < 10) examples.push(`${a.v} acked at offset ${a.o} (${new Date(a.acked).toISOString()}), found ${got === undefined ? 'nothing' : `'${got}'`}`)
    }
    // Acknowledged records in the order they were produced have increasing offsets.
    const inSeqOrder = [...acked].sort((a, b) => seqOf(a.v) - seqOf(b.v))
    let disorder = 0
    for (let i = 1; i < inSeqOrder.length; i++) {
      if (inSeqOrder[i]!.o <= inSeqOrder[i - 1]!.o) {
        if (disorder++ < 5) examples.push(`order: ${inSeqOrder[i - 1]!.v}@${inSeqOrder[i - 1]!.o} then ${inSeqOrder[i]!.v}@${inSeqOrder[i]!.o}`)
      }
    }
    // The log itself: duplicates, records nobody acknowledged, and per-producer order.
    const counts = new Map<string, number>()
    for (const r of records) counts.set(r.value, (counts.get(r.value) ?? 0) + 1)
    const duplicated = [...counts].filter(([, n]) => n > 1)
    const ackedValues = new Set(acked.map((a) => a.v))
    const unacked = records.filter((r) => !ackedValues.has(r.value))
    const failedValues = new Set(producer.failures.filter((f) => f.p === p).flatMap((f) => f.values))
    let logDisorder = 0
    let lastSeq = -1
    for (const r of records) {
      if (!/-p\d+-\d+$/.test(r.value)) continue
      const s = seqOf(r.value)
      if (s < lastSeq && (counts.get(r.value) ?? 0) === 1) logDisorder++
      lastSeq = Math.max(lastSeq, s)
    }
    const dupOffsets = duplicated.slice(0, 3).map(([v]) => `${v}@[${records.filter((r) => r.value === v).map((r) => r.offset).join(',')}]`)
    lines.push(`${producer.name} ${topic}-${p}: ${acked.length} acked, ${records.length} read back (high watermark ${highWatermark}, leader ${leader}); ` +
      `lost ${lost}, wrong value at acked offset ${wrong}, acked out of order ${disorder}; in the log: ${duplicated.length} values duplicated` +
      `${duplicated.length > 0 ? ` (e.g. ${dupOffsets.join(' ')})` : ''}, ${unacked.length} not acknowledged (${unacked.filter((r) => failedValues.has(r.value)).length} of them reported failed to the producer), ` +
      `${logDisorder} out of produce order`)
    if (lost + wrong + disorder > 0) problems.push(`${producer.name} ${topic}-${p}: ${lost} acknowledged records lost, ${wrong} overwritten, ${disorder} out of order:\n    ${examples.join('\n    ')}`)
    if (producer.name === 'librdkafka' && duplicated.length > 0) problems.push(`${producer.name} ${topic}-${p} (idempotent): ${duplicated.length} duplicated values, e.g. ${dupOffsets.join(' ')}`)
    if (logDisorder > 0 && producer.name === 'librdkafka') problems.push(`${producer.name} ${topic}-${p} (idempotent): ${logDisorder} records out of produce order in the log`)
  }
  return { lines, problems }
}

/** The longest time a partition went without an acknowledgement in [from, to) (counting from the last one before `from`, and up to `to`). */
function longestStall (acks: Ack[], p: number, from: number, to: number): number {
  const times = acks.filter((a) => a.p === p).map((a) => a.acked).sort((a, b) => a - b)
  const before = times.filter((t) => t < from).at(-1) ?? from
  const within = times.filter((t) => t >= from && t < to)
  let longest = 0
  let prev = before
  for (const t of within) {
    longest = Math.max(longest, t - prev)
    prev = t
  }
  return Math.max(longest, to - prev)
}

// ---------------------------------------------------------------------------------------------

before(async () => {
  if (skip !== false) return
  workDir = mkdtempSync(join(tmpdir(), 'samsa-chaos-'))
  etcd = await startEtcd({ dataDir: join(workDir, 'etcd') })
  for (let id = 1; id <= BROKERS; id++) {
    const dir = join(workDir, `broker-${id}`)
    mkdirSync(dir)
    const logPath = join(workDir, `broker-${id}.log`)
    nodes.push({ id, port: await freePort(), dir, logPath, log: createWriteStream(logPath, { flags: 'a' }), child: undefined, starts: 0, stopped: true })
  }
  for (const n of nodes) await startNode(n)
  console.log(`# chaos: etcd ${etcd.url}, brokers ${nodes.map((n) => `${n.id}=127.0.0.1:${n.port}`).join(' ')}, logs in ${workDir}`)
})

after(async () => {
  if (skip !== false) return
  for (const n of nodes) await signalNode(n, 'SIGKILL')
  await etcd?.stop()
  await Promise.all(nodes.map(async (n) => await new Promise((resolve) => n.log.end(resolve))))
  for (const c of children) c.kill('SIGKILL')
  if (failed || process.env.SAMSA_CHAOS_KEEP === '1') console.log(`# chaos: broker logs and data kept in ${workDir}`)
  else rmSync(workDir, { recursive: true, force: true })
})

async function createTopics (admin: Admin, topics: string[], numPartitions: number): Promise<void> {
  await admin.createTopics({
    topics: topics.map((topic) => ({ topic, numPartitions, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] })),
    waitForLeaders: true,
    timeout: 15_000
  })
  await waitFullIsr(topics, 20_000)
}

const chaosTopics: string[] = []

test(`SIGKILL chaos: ${ROUNDS} rounds${HURRY ? ' (hurried)' : ''}, acks=all producers, no acknowledged record lost, replicas identical`, { skip, timeout: 600_000 }, async () => {
  const problems: string[] = []
  const kafka = new Kafka({ clientId: 'samsa-chaos-admin', brokers: bootstrapAll(), logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 200 } })
  const admin = kafka.admin()
  await admin.connect()
  const kjsTopic = `chaos-kafkajs-${Date.now().toString(36)}`
  const lrdTopic = `chaos-librdkafka-${Date.now().toString(36)}`
  const topics = [kjsTopic, lrdTopic]
  chaosTopics.push(...topics)
  await createTopics(admin, topics, PARTITIONS)
  await admin.disconnect()
  const allPartitions = Array.from({ length: PARTITIONS }, (_, p) => p)

  const producers = [await startKafkajsProducer(kjsTopic, 'kjs', allPartitions), startLibrdkafkaProducer(lrdTopic, 'lrd', allPartitions, 100)]
  try {
    await waitUntil('both producers acknowledged writes', 20_000, async () => await Promise.resolve(producers.every((p) => p.acks.length > 50) ? true : undefined))

    // Leader and ISR changes, as the brokers report them, every 200 ms.
    const changes: Array<{ at: number, text: string }> = []
    let watching = true
    let lastView: ClusterView | undefined
    const watcher = (async () => {
      while (watching) {
        try {
          const view = await metadata(topics)
          if (lastView !== undefined) {
            if (view.controller !== lastView.controller) changes.push({ at: Date.now(), text: `controller ${lastView.controller} -> ${view.controller}` })
            for (const [tp, p] of view.partitions) {
              const old = lastView.partitions.get(tp)
              if (old === undefined) continue
              if (old.leader !== p.leader || old.epoch !== p.epoch) changes.push({ at: Date.now(), text: `${tp} leader ${old.leader} -> ${p.leader} (epoch ${old.epoch} -> ${p.epoch}, isr [${p.isr.join(',')}])` })
              else if (old.isr.join() !== p.isr.join()) changes.push({ at: Date.now(), text: `${tp} isr [${old.isr.join(',')}] -> [${p.isr.join(',')}]` })
            }
          }
          lastView = view
        } catch { /* no broker answered this time */ }
        await sleep(200)
      }
    })()

    interface Round { n: number, victim: number, kind: 'failover' | 'immediate', killAt: number, end: number, led: string[], controller: boolean, electedMs?: number, restartMs?: number, catchUpMs?: number, error?: string }
    const rounds: Round[] = []
    for (let r = 0; r < ROUNDS; r++) {
      const view = await metadata(topics)
      // Kill the leader of one partition each round, alternating topics and partitions.
      const target = `${topics[r % 2]!}-${Math.floor(r / 2) % PARTITIONS}`
      const victim = nodes.find((n) => n.id === view.partitions.get(target)!.leader && !n.stopped) ?? nodes[r % BROKERS]!
      const led = [...view.partitions].filter(([, p]) => p.leader === victim.id).map(([tp]) => tp)
      const kind = r % 2 === 0 ? 'failover' : 'immediate'
      const round: Round = { n: r + 1, victim: victim.id, kind, killAt: Date.now(), end: 0, led, controller: view.controller === victim.id }
      rounds.push(round)
      await signalNode(victim, 'SIGKILL')
      round.killAt = Date.now()
      try {
        if (kind === 'failover') {
          // Without waiting for full ISRs between rounds, the victim may be a partition's last
          // in-sync replica: that partition stays offline until it is back.
          const electing = waitUntil(`new leaders for ${led.join(', ')}`, HURRY ? DOWN_MS : 30_000, async () => {
            const v = await metadata(topics)
            return led.every((tp) => { const l = v.partitions.get(tp)!.leader; return l !== victim.id && l >= 0 }) ? true : undefined
          })
          if (HURRY) await electing.then(() => { round.electedMs = Date.now() - round.killAt }, () => undefined)
          else await electing.then(() => { round.electedMs = Date.now() - round.killAt })
          await sleep(Math.max(0, round.killAt + DOWN_MS - Date.now()))
        } else {
          await sleep(FAST_DOWN_MS)
        }
        const restarting = Date.now()
        await startNode(victim)
        round.restartMs = Date.now() - restarting
        if (HURRY) {
          await sleep(500)
        } else {
          // Until the killed incarnation's lease expires, the metadata still shows it in the ISRs.
          await sleep(Math.max(0, round.killAt + SESSION_MS + 1500 - Date.now()))
          await waitFullIsr(topics, 60_000)
          round.catchUpMs = Date.now() - restarting
        }
      } catch (error) {
        round.error = String(error)
        problems.push(`round ${r + 1}: ${String(error)}`)
        failed = true
        if (victim.stopped) await startNode(victim).catch(() => undefined)
        await waitFullIsr(topics, 30_000).catch(() => undefined)
      }
      await sleep(1000)
      round.end = Date.now()
    }
    watching = false
    await watcher

    for (const p of producers) await p.stop()
    const finalView = await waitFullIsr(topics, 60_000)

    // Per round: what was killed, what moved, and how long each partition could not be written.
    for (const round of rounds) {
      console.log(`# round ${round.n}: SIGKILL broker ${round.victim}${round.controller ? ' (the controller)' : ''} leading ${round.led.join(' ') || 'nothing'}; ` +
        `restart ${round.kind === 'failover' ? `after failover (new leaders seen after ${round.electedMs ?? '-'} ms, down ${DOWN_MS} ms)` : `at once (down ${FAST_DOWN_MS} ms)`}, ` +
        `started in ${round.restartMs ?? '-'} ms, full ISR ${round.catchUpMs ?? '-'} ms after restart${round.error !== undefined ? `; ERROR ${round.error}` : ''}`)
      for (const c of changes.filter((c) => c.at >= round.killAt - 200 && c.at < round.end)) console.log(`#   +${c.at - round.killAt} ms ${c.text}`)
      for (const producer of producers) {
        const ackedInRound = producer.acks.filter((a) => a.acked >= round.killAt && a.acked < round.end).length
        const stalls = allPartitions.map((p) => {
          const ms = longestStall(producer.acks, p, round.killAt, round.end)
          return `p${p}${round.led.includes(`${producer.topic}-${p}`) ? '(led)' : ''} ${ms} ms`
        })
        console.log(`#   ${producer.name}: ${ackedInRound} acked during the round; longest time without an ack: ${stalls.join(', ')}`)
      }
    }
    const failoverTimes = rounds.flatMap((round) => producers.flatMap((producer) => allPartitions
      .filter((p) => round.led.includes(`${producer.topic}-${p}`))
      .map((p) => longestStall(producer.acks, p, round.killAt, round.end))))
    const sorted = [...failoverTimes].sort((a, b) => a - b)
    if (sorted.length > 0) console.log(`# failover (longest ack gap on partitions the victim led): min ${sorted[0]} ms, median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted.at(-1)} ms over ${sorted.length} partition-kills`)

    for (const producer of producers) {
      console.log(`# ${producer.name}: ${producer.acks.length} acknowledged, ${producer.failures.length} sends failed`)
      for (const f of producer.failures.slice(0, 5)) console.log(`#   failed p${f.p} ${f.values[0]}..: ${f.err.slice(0, 200)}`)
      for (const e of producer.events.slice(0, 10)) console.log(`#   ${e.slice(0, 300)}`)
      const v = await verifyTopic(producer, finalView, allPartitions)
      for (const l of v.lines) console.log(`# ${l}`)
      problems.push(...v.problems)
    }
    // With one broker down at a time, a controller-written ISR of one member means a live
    // replica was taken out of it (not a safety problem by itself: min.insync.replicas=2 refuses
    // acks=all writes until the ISR grows again, but the partition is one failure from offline).
    const chaosEnd = Date.now()
    const isrOfOne = nodes.flatMap((n) => readFileSync(n.logPath, 'utf8').split('\n')
      .filter((l) => l.includes('Partition state changed') && /isr="\[[\d,]*\] -> \[\d\]"/.test(l) && topics.some((t) => l.includes(`topic=${t} `)))
      .filter((l) => Date.parse(l.slice(0, 24)) < chaosEnd)
      .map((l) => `broker ${n.id}: ${l.slice(0, 220)}`))
    console.log(`# controller wrote an ISR of a single replica ${isrOfOne.length} times during the rounds${isrOfOne.length > 0 ? `, e.g.\n#   ${isrOfOne.slice(0, 4).join('\n#   ')}` : ''}`)
    if (process.env.SAMSA_CHAOS_STRICT_ISR === '1' && isrOfOne.length > 0) problems.push(`${isrOfOne.length} ISRs shrunk to a single replica while two brokers were up`)
    for (const topic of topics) {
      for (const p of allPartitions) {
        const c = await compareReplicasSettled(topic, p, 10_000)
        console.log(`# ${c.summary}`)
        if (!c.identical) problems.push(c.summary)
      }
    }
  } finally {
    for (const p of producers) p.kill()
  }
  if (problems.length > 0) failed = true
  assert.deepEqual(problems, [])
})

test('a leader cut off (SIGSTOP) acknowledges no acks=all write on its own, then truncates and catches up', { skip, timeout: 180_000 }, async () => {
  const problems: string[] = []
  // Freeze the controller, and make it the leader of both partitions of a fresh topic: kafkajs
  // writes partition 0, librdkafka partition 1.
  const view0 = await metadata([])
  const victim = nodes.find((n) => n.id === view0.controller) ?? nodes[0]!
  const others = nodes.filter((n) => n !== victim).map((n) => n.id)
  const kafka = new Kafka({ clientId: 'samsa-chaos-admin', brokers: bootstrapAll(), logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 200 } })
  const admin = kafka.admin()
  await admin.connect()
  const topic = `cutoff-${Date.now().toString(36)}`
  chaosTopics.push(topic)
  await admin.createTopics({
    topics: [{
      topic,
      replicaAssignment: [{ partition: 0, replicas: [victim.id, others[0]!, others[1]!] }, { partition: 1, replicas: [victim.id, others[1]!, others[0]!] }],
      configEntries: [{ name: 'min.insync.replicas', value: '2' }]
    }],
    waitForLeaders: true,
    timeout: 15_000
  })
  await admin.disconnect()
  await waitFullIsr([topic], 20_000)
  // Short client timeouts: a request stuck on the frozen broker is retried elsewhere within 3 s.
  const producers = [
    await startKafkajsProducer(topic, 'cut', [0], { request: 3000, ack: 2500 }),
    startLibrdkafkaProducer(topic, 'cutlrd', [1], 100, { 'request.timeout.ms': 3000, 'socket.timeout.ms': 3000 })
  ]
  const led = [0, 1]
  let frozen: Node | undefined
  try {
    await waitUntil('acknowledged writes', 20_000, async () => await Promise.resolve(producers.every((p) => p.acks.length > 50) ? true : undefined))
    const view = await metadata([topic])
    const before = led.map((p) => view.partitions.get(`${topic}-${p}`)!)
    if (before.some((p) => p.leader !== victim.id)) problems.push(`broker ${victim.id} did not lead both partitions: ${JSON.stringify(before)}`)
    const raw = await connectRaw(`127.0.0.1:${victim.port}`, 'samsa-chaos-cutoff')
    note(victim, 'SIGSTOP')
    victim.child!.kill('SIGSTOP')
    frozen = victim
    const stoppedAt = Date.now()
    // Queued in the frozen broker's socket: it can answer only after it thaws.
    const during = rawProduce(raw, topic, 0, 'cut-orphan-during', 5000).then((r) => ({ ...r, answeredAt: Date.now() }), (error: unknown) => ({ error: String(error), answeredAt: Date.now() }))
    const elected = await waitUntil('new leaders while the old one is frozen', 30_000, async () => {
      const v = await metadata([topic], victim.id)
      const ps = led.map((p) => v.partitions.get(`${topic}-${p}`)!)
      return ps.every((p) => p.leader !== victim.id && p.leader >= 0) ? { ps, controller: v.controller } : undefined
    })
    const electedMs = Date.now() - stoppedAt
    await sleep(Math.max(0, stoppedAt + SESSION_MS + LAG_MS + 2000 - Date.now()))
    const frozenFor = Date.now() - stoppedAt
    const whileFrozen = producers.map((p) => `${p.name} ${p.acks.filter((a) => a.acked > stoppedAt).length} acked (longest gap without an ack ${Math.round(longestStall(p.acks, p.name === 'kafkajs' ? 0 : 1, stoppedAt, Date.now()))} ms)`)
    note(victim, 'SIGCONT')
    victim.child!.kill('SIGCONT')
    frozen = undefined
    const resumedAt = Date.now()
    // Sent right after it thaws, before it can have heard from etcd or its peers.
    const raw2 = await connectRaw(`127.0.0.1:${victim.port}`, 'samsa-chaos-cutoff-2')
    const right = await withTimeout('produce after SIGCONT', 20_000, rawProduce(raw2, topic, 1, 'cut-orphan-after', 5000)).then((r) => ({ ...r, answeredAt: Date.now() }), (error: unknown) => ({ error: String(error), answeredAt: Date.now() }))
    const duringResult = await withTimeout('produce during SIGSTOP', 20_000, during).catch((error: unknown) => ({ error: String(error), answeredAt: Date.now() }))
    raw.close()
    raw2.close()
    const caughtUp = await waitFullIsr([topic], 60_000)
    const catchUpMs = Date.now() - resumedAt
    await sleep(1000)
    for (const p of producers) await p.stop()
    const finalView = await waitFullIsr([topic], 30_000)

    const describe = (r: { errorCode?: number, baseOffset?: number, error?: string, answeredAt: number }): string =>
      r.error !== undefined ? `no answer (${r.error})` : `${errorByCode(r.errorCode!).name} baseOffset ${r.baseOffset} ${r.answeredAt - resumedAt} ms after SIGCONT`
    console.log(`# cut off: broker ${victim.id} (controller) led ${topic}-0 and -1 (epochs ${before.map((p) => p.epoch).join(',')}, isr [${before[0]!.isr.join(',')}]); SIGSTOP; ` +
      `new leaders ${elected.ps.map((p) => `${p.leader} (epoch ${p.epoch}, isr [${p.isr.join(',')}])`).join(' and ')} and controller ${elected.controller} seen after ${electedMs} ms; ` +
      `while frozen: ${whileFrozen.join('; ')}; SIGCONT after ${frozenFor} ms; full ISR again ${catchUpMs} ms later (leaders ${led.map((p) => caughtUp.partitions.get(`${topic}-${p}`)!.leader).join(',')})`)
    console.log(`#   produce to ${topic}-0 queued while frozen: ${describe(duringResult)}`)
    console.log(`#   produce to ${topic}-1 right after SIGCONT: ${describe(right)}`)
    const finalRecords = new Map<number, FetchedRecord[]>()
    for (const p of led) finalRecords.set(p, (await readPartition(nodes.find((n) => n.id === finalView.partitions.get(`${topic}-${p}`)!.leader)!.port, topic, p)).records)
    for (const [name, p, r] of [['cut-orphan-during', 0, duringResult], ['cut-orphan-after', 1, right]] as const) {
      const records = finalRecords.get(p)!
      const at = records.filter((x) => x.value === name).map((x) => x.offset)
      console.log(`#   ${name} in the final log at offsets [${at.join(',')}]`)
      if ('errorCode' in r && r.errorCode === 0 && !at.includes(r.baseOffset)) {
        problems.push(`the cut-off broker ${victim.id} acknowledged ${name} at ${topic}-${p} offset ${r.baseOffset} (acks=all), but the final log has ${at.length === 0 ? 'no such record' : `it at [${at.join(',')}]`}; at ${r.baseOffset}: '${records.find((x) => x.offset === r.baseOffset)?.value ?? 'nothing'}'`)
      }
    }
    const truncations = readFileSync(victim.logPath, 'utf8').split('\n').filter((l) => /truncat/i.test(l) && l.includes(topic)).slice(0, 5)
    console.log(`#   broker ${victim.id} log, truncation lines for ${topic}: ${truncations.length === 0 ? 'none' : `\n#     ${truncations.join('\n#     ')}`}`)
    for (const [i, producer] of producers.entries()) {
      console.log(`# ${producer.name}: ${producer.acks.length} acknowledged, ${producer.failures.length} sends failed`)
      for (const f of producer.failures.slice(0, 5)) console.log(`#   failed p${f.p} ${f.values[0]}..: ${f.err.slice(0, 200)}`)
      for (const e of producer.events.filter((e) => !e.includes('switched default partitioner')).slice(0, 8)) console.log(`#   ${e.slice(0, 240)}`)
      const v = await verifyTopic(producer, finalView, [led[i]!])
      for (const l of v.lines) console.log(`# ${l}`)
      problems.push(...v.problems)
    }
    for (const p of led) {
      const c = await compareReplicasSettled(topic, p, 10_000)
      console.log(`# ${c.summary}`)
      if (!c.identical) problems.push(c.summary)
    }
  } finally {
    if (frozen !== undefined) frozen.child!.kill('SIGCONT')
    for (const p of producers) p.kill()
  }
  if (problems.length > 0) failed = true
  assert.deepEqual(problems, [])
})

test('after a clean stop of every broker, all replicas are byte-identical on disk', { skip, timeout: 120_000 }, async () => {
  const problems: string[] = []
  for (const n of nodes) {
    const code = await signalNode(n, 'SIGTERM', 30_000)
    if (code !== 0) problems.push(`broker ${n.id} exited with ${String(code)} on SIGTERM`)
  }
  for (const topic of chaosTopics) {
    const partitions = readdirSync(nodes[0]!.dir).filter((d) => d.startsWith(`${topic}-`) && /^\d+$/.test(d.slice(topic.length + 1))).length
    for (let p = 0; p < partitions; p++) {
      const c = compareReplicas(topic, p)
      console.log(`# ${c.summary}`)
      if (!c.identical) problems.push(c.summary)
    }
  }
  if (problems.length > 0) failed = true
  assert.deepEqual(problems, [])
})
