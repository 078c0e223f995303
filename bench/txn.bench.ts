/**
 * Idempotence and transactions benchmarks (issue 6), against an in-process broker on a
 * temporary directory:
 *
 * 1. Produce throughput, idempotent vs plain: raw Produce v9 requests (one connection, 8 in
 *    flight, 3 partitions, batches of 100 records of 100 B), the same bytes except the producer
 *    fields; runs alternate (plain, idempotent, plain, idempotent...) and the ratio of the medians
 *    is reported (target: within 10%). The same with kafkajs producers (idempotent: one request
 *    in flight, as kafkajs requires).
 * 2. Transactions per second with 10 records each across 3 partitions: raw requests
 *    (AddPartitionsToTxn, one Produce for the 3 partitions, EndTxn commit), with 1 and 8
 *    transactional producers at once; and kafkajs (transaction, send, commit).
 * 3. End-to-end latency, produce to fetch: a long-polling raw consumer (Fetch v11, max wait
 *    500 ms, min bytes 1) reads what a raw producer sends one record at a time: plain records
 *    read_uncommitted and read_committed, and transactional ones (a transaction per record)
 *    read_committed (visible once the commit's marker is written) and read_uncommitted.
 *
 *   node --conditions=samsa:source --import tsx bench/txn.bench.ts [--quick]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Kafka, logLevel } from 'kafkajs'
import {
  AddPartitionsToTxnApi, CreateTopicsApi, EndTxnApi, ErrorCode, FetchApi, InitProducerIdApi, ProduceApi, ZERO_UUID, buildRecordBatch, decodeRecordBatch,
  iterateBatches
} from '@samsa/protocol'
import type { FetchRequest } from '@samsa/protocol/messages/fetch'
import { HandlePool, MemoryFileSystem, PartitionLog, logConfig } from '@samsa/storage'
import { type RawClient, connectRaw, startBroker } from '@samsa/testkit'
import { machine } from './harness.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'
const quick = process.argv.includes('--quick')
console.log(`# transactions — ${machine()}`)

const dataDir = mkdtempSync(join(tmpdir(), 'samsa-bench-txn-'))
const broker = await startBroker({ dataDir })
const client = await connectRaw(broker.bootstrap, 'bench-txn')

async function createTopic (name: string, partitions: number): Promise<void> {
  const r = await client.request(CreateTopicsApi, 7, {
    topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false
  })
  if (r.topics[0]!.errorCode !== ErrorCode.NONE) throw new Error(`CreateTopics ${name}: ${r.topics[0]!.errorCode}`)
}

async function initProducerId (c: RawClient, transactionalId: string | null): Promise<{ producerId: bigint, producerEpoch: number }> {
  for (;;) {
    const r = await c.request(InitProducerIdApi, 4, { transactionalId, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 })
    if (r.errorCode === ErrorCode.CONCURRENT_TRANSACTIONS) continue
    if (r.errorCode !== ErrorCode.NONE) throw new Error(`InitProducerId: ${r.errorCode}`)
    return r
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!

// ---------------------------------------------------------------------------------------------
// 1. Produce throughput: idempotent vs plain

const PARTITIONS = 3
const RECORDS_PER_BATCH = 100
const VALUE = 'x'.repeat(100)
const IN_FLIGHT = 8

await createTopic('bench-plain', PARTITIONS)
await createTopic('bench-idem', PARTITIONS)

function batches (count: number, producer: { producerId: bigint, producerEpoch: number } | undefined, sequences: number[]): Buffer[][] {
  const out: Buffer[][] = []
  for (let i = 0; i < count; i++) {
    const perPartition: Buffer[] = []
    for (let p = 0; p < PARTITIONS; p++) {
      const records = Array.from({ length: RECORDS_PER_BATCH }, (_, j) => ({ key: `k${j}`, value: VALUE }))
      perPartition.push(buildRecordBatch({
        records,
        ...(producer === undefined ? {} : { producerId: producer.producerId, producerEpoch: producer.producerEpoch, baseSequence: sequences[p]! })
      }))
      sequences[p]! += RECORDS_PER_BATCH
    }
    out.push(perPartition)
  }
  return out
}

/** Sends every prepared request (IN_FLIGHT at a time); returns records per second. */
async function blast (topic: string, prepared: Buffer[][]): Promise<number> {
  const c = await connectRaw(broker.bootstrap, `bench-${topic}`)
  let next = 0
  const started = performance.now()
  const worker = async (): Promise<void> => {
    while (next < prepared.length) {
      const batch = prepared[next++]!
      const r = await c.request(ProduceApi, 9, {
        transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: batch.map((records, index) => ({ index, records })) }]
      })
      for (const p of r.responses[0]!.partitionResponses) if (p.errorCode !== ErrorCode.NONE) throw new Error(`Produce ${topic}: ${p.errorCode} ${p.errorMessage ?? ''}`)
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
  const seconds = (performance.now() - started) / 1000
  c.close()
  return (prepared.length * PARTITIONS * RECORDS_PER_BATCH) / seconds
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')

// The producer-state work alone: PartitionLog.appendAsLeader of the same batch with and without
// producer fields (each idempotent append validated and recorded), in memory, buffers prepared
// beforehand; 1-record batches show the fixed cost per batch.
{
  const fs = new MemoryFileSystem({ trackDurability: false })
  const open = (topic: string): PartitionLog => PartitionLog.open({
    fs, pool: new HandlePool(fs, 64), dir: `/bench/${topic}-0`, topic, partition: 0, config: logConfig({ 'segment.bytes': 1 << 30 }), clean: true
  })
  const APPENDS = quick ? 1000 : 2000
  const ROUNDS_ = quick ? 5 : 11
  for (const count of [1, RECORDS_PER_BATCH]) {
    const template = buildRecordBatch({ records: Array.from({ length: count }, (_, j) => ({ key: `k${j}`, value: VALUE })) })
    const plainLog = open(`plain-${count}`)
    const idemLog = open(`idem-${count}`)
    let seq = 0
    const plainBufs = Array.from({ length: APPENDS * ROUNDS_ }, () => Buffer.from(template))
    // The same bytes with producer id 1, epoch 0 and the next sequence (the CRC is not checked here).
    const idemBufs = Array.from({ length: APPENDS * ROUNDS_ }, () => {
      const b = Buffer.from(template)
      b.writeBigInt64BE(1n, 43)
      b.writeInt16BE(0, 51)
      b.writeInt32BE(seq, 53)
      seq += count
      return b
    })
    const plainUs: number[] = []
    const idemUs: number[] = []
    for (let round = 0; round < ROUNDS_; round++) {
      let t0 = performance.now()
      for (let i = round * APPENDS; i < (round + 1) * APPENDS; i++) plainLog.appendAsLeader(plainBufs[i]!, 0)
      plainUs.push((performance.now() - t0) * 1000 / APPENDS)
      t0 = performance.now()
      for (let i = round * APPENDS; i < (round + 1) * APPENDS; i++) idemLog.appendAsLeader(idemBufs[i]!, 0)
      idemUs.push((performance.now() - t0) * 1000 / APPENDS)
    }
    console.log(`PartitionLog.appendAsLeader, ${count}-record batches (in memory), median of ${ROUNDS_} rounds: ` +
      `plain ${median(plainUs).toFixed(2)} µs, idempotent ${median(idemUs).toFixed(2)} µs per append`)
  }
}

// Rounds are short and many: on these shared machines single rounds vary by 3x or more.
const REQUESTS = 200
const ROUNDS = quick ? 7 : 31
const WARMUP_ROUNDS = 3
const idemProducer = await initProducerId(client, null)
const idemSequences = [0, 0, 0]
const plainRates: number[] = []
const idemRates: number[] = []
for (let round = 0; round < ROUNDS; round++) {
  const plain = batches(REQUESTS, undefined, [0, 0, 0])
  const idem = batches(REQUESTS, idemProducer, idemSequences)
  // Alternate which goes first, so neither always follows the other's garbage.
  let p: number
  let i: number
  if (round % 2 === 0) {
    p = await blast('bench-plain', plain)
    i = await blast('bench-idem', idem)
  } else {
    i = await blast('bench-idem', idem)
    p = await blast('bench-plain', plain)
  }
  if (round < WARMUP_ROUNDS) continue
  plainRates.push(p)
  idemRates.push(i)
}
console.log(`raw Produce v9, ${IN_FLIGHT} in flight, 3 × ${RECORDS_PER_BATCH} × 100 B per request, ${REQUESTS} requests per round`)
console.log(`  plain       records/s: median ${fmt(median(plainRates))} (${fmt(Math.min(...plainRates))} to ${fmt(Math.max(...plainRates))})`)
console.log(`  idempotent  records/s: median ${fmt(median(idemRates))} (${fmt(Math.min(...idemRates))} to ${fmt(Math.max(...idemRates))})`)
console.log(`  idempotent / plain: ${(median(idemRates) / median(plainRates)).toFixed(3)} (ratio of medians), ${median(idemRates.map((x, n) => x / plainRates[n]!)).toFixed(3)} (median of the ${idemRates.length} paired rounds); target >= 0.90`)

// kafkajs: end to end through a real client.
const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, clientId: 'bench-kafkajs' })
async function kafkajsRate (idempotent: boolean): Promise<number> {
  const producer = kafka.producer(idempotent ? { idempotent: true, maxInFlightRequests: 1 } : { maxInFlightRequests: 1 })
  await producer.connect()
  const messages = Array.from({ length: 300 }, (_, i) => ({ key: `k${i % 30}`, value: VALUE }))
  const sends = quick ? 30 : 100
  const started = performance.now()
  for (let i = 0; i < sends; i++) await producer.send({ topic: idempotent ? 'bench-idem' : 'bench-plain', acks: -1, messages })
  const rate = (sends * messages.length) / ((performance.now() - started) / 1000)
  await producer.disconnect()
  return rate
}
const kjsPlain: number[] = []
const kjsIdem: number[] = []
for (let round = 0; round < ROUNDS; round++) {
  kjsPlain.push(await kafkajsRate(false))
  kjsIdem.push(await kafkajsRate(true))
}
console.log('kafkajs 2.2.4 producer, one request in flight, sends of 300 × 100 B')
console.log(`  plain       records/s: median ${fmt(median(kjsPlain))}`)
console.log(`  idempotent  records/s: median ${fmt(median(kjsIdem))}`)
console.log(`  idempotent / plain: ${(median(kjsIdem) / median(kjsPlain)).toFixed(3)}`)

// ---------------------------------------------------------------------------------------------
// 2. Transactions per second: 10 records across 3 partitions

await createTopic('bench-txn', PARTITIONS)

async function rawTransactions (producers: number, seconds: number): Promise<number> {
  let done = 0
  const deadline = performance.now() + seconds * 1000
  await Promise.all(Array.from({ length: producers }, async (_, n) => {
    const c = await connectRaw(broker.bootstrap, `bench-txn-${n}`)
    const id = `bench-txn-${producers}-${n}`
    const p = await initProducerId(c, id)
    const sequences = [0, 0, 0]
    while (performance.now() < deadline) {
      const add = await c.request(AddPartitionsToTxnApi, 3, {
        ...AddPartitionsToTxnApi.request.create(), v3AndBelowTransactionalId: id, v3AndBelowProducerId: p.producerId, v3AndBelowProducerEpoch: p.producerEpoch,
        v3AndBelowTopics: [{ name: 'bench-txn', partitions: [0, 1, 2] }]
      })
      const addError = add.resultsByTopicV3AndBelow[0]!.resultsByPartition.find((x) => x.partitionErrorCode !== ErrorCode.NONE)
      if (addError !== undefined) {
        if (addError.partitionErrorCode === ErrorCode.CONCURRENT_TRANSACTIONS) continue
        throw new Error(`AddPartitionsToTxn: ${addError.partitionErrorCode}`)
      }
      const partitionData = [4, 3, 3].map((count, index) => {
        const records = buildRecordBatch({
          records: Array.from({ length: count }, (_, j) => ({ key: `k${j}`, value: VALUE })),
          producerId: p.producerId, producerEpoch: p.producerEpoch, baseSequence: sequences[index]!, isTransactional: true
        })
        sequences[index]! += count
        return { index, records }
      })
      const produced = await c.request(ProduceApi, 9, { transactionalId: id, acks: -1, timeoutMs: 5000, topicData: [{ name: 'bench-txn', partitionData }] })
      for (const x of produced.responses[0]!.partitionResponses) if (x.errorCode !== ErrorCode.NONE) throw new Error(`Produce: ${x.errorCode}`)
      const end = await c.request(EndTxnApi, 3, { transactionalId: id, producerId: p.producerId, producerEpoch: p.producerEpoch, committed: true })
      if (end.errorCode !== ErrorCode.NONE) throw new Error(`EndTxn: ${end.errorCode}`)
      done++
    }
    c.close()
  }))
  return done / seconds
}

const window = quick ? 2 : 5
console.log('transactions of 10 records across 3 partitions (AddPartitionsToTxn, Produce, EndTxn commit)')
console.log(`  raw, 1 producer:   ${fmt(await rawTransactions(1, window))} txn/s`)
console.log(`  raw, 8 producers:  ${fmt(await rawTransactions(8, window))} txn/s`)
const txnProducer = kafka.producer({ transactionalId: 'bench-kafkajs-txn', idempotent: true, maxInFlightRequests: 1 })
await txnProducer.connect()
{
  let done = 0
  const deadline = performance.now() + window * 1000
  const messages = Array.from({ length: 10 }, (_, i) => ({ partition: i % 3, key: `k${i}`, value: VALUE }))
  while (performance.now() < deadline) {
    const t = await txnProducer.transaction()
    await t.send({ topic: 'bench-txn', messages })
    await t.commit()
    done++
  }
  console.log(`  kafkajs, 1 producer: ${fmt(done / window)} txn/s`)
}
await txnProducer.disconnect()

// ---------------------------------------------------------------------------------------------
// 3. End-to-end latency: read_committed vs read_uncommitted

await createTopic('bench-latency', 1)

async function latency (label: string, isolationLevel: number, transactional: boolean, samples: number): Promise<void> {
  const consumer = await connectRaw(broker.bootstrap, 'bench-latency-consumer')
  const producer = await connectRaw(broker.bootstrap, 'bench-latency-producer')
  const id = `bench-latency-${label.replace(/\W+/g, '-')}`
  const p = transactional ? await initProducerId(producer, id) : undefined
  let offset = Number((await consumer.request(FetchApi, 11, fetchRequest(0, 0, 0))).responses[0]!.partitions[0]!.highWatermark)
  const sentAt = new Map<string, number>()
  const latencies: number[] = []
  let stop = false
  const reading = (async () => {
    while (!stop) {
      const r = await consumer.request(FetchApi, 11, fetchRequest(offset, isolationLevel, 500))
      const records = r.responses[0]!.partitions[0]!.records
      if (records === null || records.length === 0) continue
      const now = performance.now()
      for (const e of iterateBatches(records)) {
        const batch = decodeRecordBatch(records, e.position)
        offset = Number(batch.header.baseOffset) + batch.header.lastOffsetDelta + 1
        if (batch.header.isControlBatch) continue
        for (const rec of batch.records) {
          const at = sentAt.get(rec.value!.toString())
          if (at !== undefined) latencies.push(now - at)
        }
      }
    }
  })()
  let seq = 0
  for (let i = 0; i < samples; i++) {
    const value = `${id}-${i}`
    sentAt.set(value, performance.now())
    const records = buildRecordBatch({
      records: [{ key: 'k', value }], ...(p === undefined ? {} : { producerId: p.producerId, producerEpoch: p.producerEpoch, baseSequence: seq++, isTransactional: true })
    })
    if (p !== undefined) {
      await producer.request(AddPartitionsToTxnApi, 3, {
        ...AddPartitionsToTxnApi.request.create(), v3AndBelowTransactionalId: id, v3AndBelowProducerId: p.producerId, v3AndBelowProducerEpoch: p.producerEpoch,
        v3AndBelowTopics: [{ name: 'bench-latency', partitions: [0] }]
      })
    }
    await producer.request(ProduceApi, 9, { transactionalId: p === undefined ? null : id, acks: -1, timeoutMs: 5000, topicData: [{ name: 'bench-latency', partitionData: [{ index: 0, records }] }] })
    if (p !== undefined) await producer.request(EndTxnApi, 3, { transactionalId: id, producerId: p.producerId, producerEpoch: p.producerEpoch, committed: true })
    // Spread the records out so each is a separate wake-up of the long poll.
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  const deadline = Date.now() + 3000
  while (latencies.length < samples && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
  stop = true
  await producer.request(ProduceApi, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'bench-latency', partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ key: 'k', value: 'wake' }] }) }] }] })
  await reading
  consumer.close()
  producer.close()
  console.log(`  ${label.padEnd(52)} p50 ${median(latencies).toFixed(2)} ms  p99 ${pct(latencies, 0.99).toFixed(2)} ms  (${latencies.length} records)`)
}

function fetchRequest (offset: number, isolationLevel: number, maxWaitMs = 0): FetchRequest {
  return {
    ...FetchApi.request.create(),
    maxWaitMs,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel,
    topics: [{ topic: 'bench-latency', topicId: ZERO_UUID, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: BigInt(offset), lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20, replicaDirectoryId: ZERO_UUID }] }]
  }
}

const SAMPLES = quick ? 100 : 400
console.log('end-to-end latency, send to a long-polling fetch (one record at a time)')
await latency('plain records, read_uncommitted', 0, false, SAMPLES)
await latency('plain records, read_committed', 1, false, SAMPLES)
await latency('transaction per record (send + commit), read_uncommitted', 0, true, SAMPLES)
await latency('transaction per record (send + commit), read_committed', 1, true, SAMPLES)

client.close()
await broker.stop()
rmSync(dataDir, { recursive: true, force: true })
