/**
 * Cross-client reads against an in-process Samsa broker: what kafkajs and librdkafka (kcat)
 * write, compressed with every codec, our consumer reads identically (keys, values, headers,
 * timestamps; librdkafka's stored timestamps checked through kcat's own reader), and what our
 * producer writes our consumer reads back as sent.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import kafkajs, { Kafka, logLevel } from 'kafkajs'
import { lz4Compress, lz4Decompress, snappyCompress, snappyDecompress, zstdCompress, zstdDecompress } from '@samsa/protocol'
import { type TestBroker, startBroker } from '@samsa/testkit'
import { Admin } from '../../src/admin/admin.ts'
import { Consumer } from '../../src/consumer/consumer.ts'
import type { ConsumerRecord } from '../../src/consumer/types.ts'
import type { CompressionName } from '../../src/producer/options.ts'
import { Producer } from '../../src/producer/producer.ts'
import { readAll, run, uniqueTopic } from '../helpers.ts'
import { take, takeFor } from './helpers.ts'

const { CompressionCodecs, CompressionTypes } = kafkajs
// kafkajs writes gzip only unless given codecs; these are Samsa's.
const LIMIT = 64 * 1024 * 1024
interface Encoder { buffer: Buffer }
CompressionCodecs[CompressionTypes.Snappy] = () => ({ compress: (e: Encoder) => Promise.resolve(snappyCompress(e.buffer)), decompress: (b: Buffer) => Promise.resolve(snappyDecompress(b, LIMIT)) })
CompressionCodecs[CompressionTypes.LZ4] = () => ({ compress: (e: Encoder) => Promise.resolve(lz4Compress(e.buffer)), decompress: (b: Buffer) => Promise.resolve(lz4Decompress(b, LIMIT)) })
CompressionCodecs[CompressionTypes.ZSTD] = () => ({ compress: (e: Encoder) => Promise.resolve(zstdCompress(e.buffer)), decompress: (b: Buffer) => Promise.resolve(zstdDecompress(b, LIMIT)) })

let broker: TestBroker
let admin: Admin

before(async () => {
  broker = await startBroker({ inMemory: true })
  admin = new Admin({ bootstrapServers: broker.bootstrap })
})

after(async () => {
  await admin.close()
  await broker.stop()
})

interface Seen {
  partition: number
  key: string | null
  value: string | null
  headers: Array<[string, string | null]>
  timestamp: number
}

function seen (r: ConsumerRecord): Seen {
  return {
    partition: r.partition,
    key: r.key?.toString() ?? null,
    value: r.value?.toString() ?? null,
    headers: r.headers.map((h) => [h.key, h.value?.toString() ?? null]),
    timestamp: r.timestamp
  }
}

async function readAllOf (topic: string, partitions: number, count: number): Promise<ConsumerRecord[]> {
  const c = new Consumer({ bootstrapServers: broker.bootstrap, fromBeginning: true, fetchMaxWaitMs: 100 })
  try {
    c.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition })))
    const records = await take(c, count)
    assert.deepEqual(await takeFor(c, 200), [], 'no more records than written')
    return records.sort((a, b) => a.partition - b.partition || Number(a.offset - b.offset))
  } finally {
    await c.close()
  }
}

test('what kafkajs writes with every codec, our consumer reads identically', { timeout: 30_000 }, async (t) => {
  const topic = uniqueTopic('from-kafkajs')
  await admin.createTopics([{ name: topic, numPartitions: 2 }])
  const kafka = new Kafka({ clientId: 'samsa-consumer-cross', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING })
  const producer = kafka.producer()
  await producer.connect()
  t.after(() => producer.disconnect())
  const expected: Seen[] = []
  let n = 0
  for (const compression of [CompressionTypes.None, CompressionTypes.GZIP, CompressionTypes.Snappy, CompressionTypes.LZ4, CompressionTypes.ZSTD]) {
    const messages = Array.from({ length: 6 }, () => {
      const i = n++
      return {
        partition: i % 2,
        key: i % 3 === 0 ? null : `key-${i}`,
        value: i % 4 === 0 ? null : `kafkajs ${compression} ${i} `.repeat(i % 5),
        headers: i % 2 === 0 ? { trace: `t-${i}`, empty: '' } : {},
        timestamp: String(1_710_000_000_000 + i)
      }
    })
    await producer.send({ topic, compression, messages })
    for (const m of messages) {
      expected.push({ partition: m.partition, key: m.key, value: m.value, headers: Object.entries(m.headers), timestamp: Number(m.timestamp) })
    }
  }
  assert.deepEqual([...new Set((await readAll(broker.bootstrap, topic)).map((r) => r.compression))].sort(), [0, 1, 2, 3, 4])
  const records = await readAllOf(topic, 2, expected.length)
  const byPartition = (list: Seen[]): Seen[] => [...list].sort((a, b) => a.partition - b.partition)
  assert.deepEqual(records.map(seen), byPartition(expected))
})

test('what librdkafka (kcat -z codec) writes, our consumer reads identically', { timeout: 30_000 }, async () => {
  const topic = uniqueTopic('from-kcat')
  await admin.createTopics([{ name: topic, numPartitions: 1 }])
  const lines: string[] = []
  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
    const batch = Array.from({ length: 5 }, (_, i) => `k-${codec}-${i}:${codec} value ${i} ${'y'.repeat(i * 40)}`)
    lines.push(...batch)
    const out = await run('kcat', ['-b', broker.bootstrap, '-P', '-t', topic, '-p', '0', '-K', ':', '-z', codec, '-H', `codec=${codec}`, '-H', 'app=kcat'], { input: batch.join('\n') + '\n' })
    assert.equal(out.code, 0, out.stderr)
  }
  // librdkafka compressed each run with the codec asked for.
  assert.deepEqual([...new Set((await readAll(broker.bootstrap, topic)).map((r) => r.compression))], [0, 1, 2, 3, 4])
  const records = await readAllOf(topic, 1, lines.length)
  assert.deepEqual(records.map((r) => `${r.key?.toString()}:${r.value?.toString()}`), lines)
  assert.deepEqual(records.map((r) => r.headers.map((h) => `${h.key}=${h.value?.toString()}`).join(',')), lines.map((l) => `codec=${/^k-(\w+)-/.exec(l)![1]},app=kcat`))
  // Timestamps and offsets as librdkafka itself reads them back.
  const read = await run('kcat', ['-b', broker.bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-J'])
  const theirs = read.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { offset: number, ts: number })
  assert.deepEqual(records.map((r) => [Number(r.offset), r.timestamp]), theirs.map((x) => [x.offset, x.ts]))
})

test('what our producer writes with every codec, our consumer reads back as sent', { timeout: 30_000 }, async () => {
  const topic = uniqueTopic('ours')
  await admin.createTopics([{ name: topic, numPartitions: 3 }])
  const expected: Seen[] = []
  let n = 0
  for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as CompressionName[]) {
    const p = new Producer({ bootstrapServers: broker.bootstrap, compression, lingerMs: 0 })
    const records = Array.from({ length: 9 }, () => {
      const i = n++
      return {
        topic,
        partition: i % 3,
        key: i % 4 === 0 ? null : Buffer.from([i, 0, 255]),
        value: i % 5 === 0 ? null : `ours ${compression} ${i}`.repeat(i % 7),
        headers: [{ key: 'n', value: String(i) }, { key: 'n', value: null }],
        timestamp: 1_720_000_000_000 + i
      }
    })
    await p.send(records)
    await p.close()
    for (const r of records) {
      expected.push({
        partition: r.partition,
        key: r.key === null ? null : r.key.toString(),
        value: r.value,
        headers: [['n', String(r.timestamp - 1_720_000_000_000)], ['n', null]],
        timestamp: r.timestamp
      })
    }
  }
  const read = await readAllOf(topic, 3, expected.length)
  assert.deepEqual(read.map(seen), [...expected].sort((a, b) => a.partition - b.partition))
})
