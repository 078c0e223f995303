/**
 * Cross-client checks against an in-process Samsa broker: what our producer writes, kcat
 * (librdkafka) and kafkajs read back identically (keys, values, headers, timestamps,
 * partitions), and keyed records land where kafkajs's Java-compatible partitioner and
 * librdkafka's murmur2_random partitioner put the same keys. The kafkajs consumer needs
 * consumer groups: skipped (with the reason) while the broker does not serve them.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import kafkajs, { Kafka, logLevel } from 'kafkajs'
import { JoinGroupApi, snappyCompress, snappyDecompress, lz4Compress, lz4Decompress, zstdCompress, zstdDecompress } from '@samsa/protocol'
import { type TestBroker, startBroker } from '@samsa/testkit'
import { Admin } from '../src/admin/admin.ts'
import { KafkaPartialFailureError, type KafkaResponseError } from '../src/errors.ts'
import type { CompressionName } from '../src/producer/options.ts'
import { Producer } from '../src/producer/producer.ts'
import { missingApis, run, uniqueTopic } from './helpers.ts'

const { CompressionCodecs, CompressionTypes, Partitioners } = kafkajs
// kafkajs reads gzip only unless given codecs; these are Samsa's.
const LIMIT = 64 * 1024 * 1024
interface Encoder { buffer: Buffer }
CompressionCodecs[CompressionTypes.Snappy] = () => ({ compress: (e: Encoder) => Promise.resolve(snappyCompress(e.buffer)), decompress: (b: Buffer) => Promise.resolve(snappyDecompress(b, LIMIT)) })
CompressionCodecs[CompressionTypes.LZ4] = () => ({ compress: (e: Encoder) => Promise.resolve(lz4Compress(e.buffer)), decompress: (b: Buffer) => Promise.resolve(lz4Decompress(b, LIMIT)) })
CompressionCodecs[CompressionTypes.ZSTD] = () => ({ compress: (e: Encoder) => Promise.resolve(zstdCompress(e.buffer)), decompress: (b: Buffer) => Promise.resolve(zstdDecompress(b, LIMIT)) })

let broker: TestBroker
let admin: Admin
let kafka: Kafka

before(async () => {
  broker = await startBroker()
  admin = new Admin({ bootstrapServers: broker.bootstrap })
  kafka = new Kafka({ clientId: 'samsa-client-cross', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 100 } })
})

after(async () => {
  await admin.close()
  await broker.stop()
})

interface Expected {
  partition: number
  offset: number
  key: string | null
  value: string | null
  headers: Record<string, string>
  timestamp: number
}

/** Writes records with every codec through our producer and returns what each should read back. */
async function writeMix (topic: string): Promise<Expected[]> {
  const expected: Expected[] = []
  let n = 0
  for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as CompressionName[]) {
    const p = new Producer({ bootstrapServers: broker.bootstrap, compression, lingerMs: 0 })
    const records = Array.from({ length: 8 }, () => {
      const i = n++
      return {
        topic,
        key: i % 4 === 0 ? null : `key-${i}`,
        value: i % 5 === 0 ? '' : `value ${i} written with ${compression} `.repeat(3),
        headers: i % 2 === 0 ? { trace: `t-${i}`, 'content-type': 'text/plain' } : undefined,
        timestamp: 1_720_000_000_000 + i
      }
    })
    const results = await p.send(records)
    await p.close()
    records.forEach((r, i) => expected.push({
      partition: results[i]!.partition,
      offset: Number(results[i]!.offset),
      key: r.key,
      value: r.value,
      headers: r.headers ?? {},
      timestamp: r.timestamp
    }))
  }
  return expected.sort((a, b) => a.partition - b.partition || a.offset - b.offset)
}

test('kcat (librdkafka) reads what our producer wrote: keys, values, headers, timestamps, offsets', { timeout: 30_000 }, async () => {
  const topic = uniqueTopic('cross-kcat')
  await admin.createTopics([{ name: topic, numPartitions: 3 }])
  const expected = await writeMix(topic)
  const out = await run('kcat', ['-b', broker.bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-J'])
  assert.equal(out.code, 0, out.stderr)
  const read = out.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as {
    partition: number, offset: number, ts: number, key: string | null, payload: string | null, headers?: string[]
  })
  const actual = read.map((r) => {
    const headers: Record<string, string> = {}
    for (let i = 0; i + 1 < (r.headers?.length ?? 0); i += 2) headers[r.headers![i]!] = r.headers![i + 1]!
    return { partition: r.partition, offset: r.offset, key: r.key, value: r.payload, headers, timestamp: r.ts }
  }).sort((a, b) => a.partition - b.partition || a.offset - b.offset)
  assert.deepEqual(actual, expected)
})

test('kafkajs\'s consumer reads what our producer wrote', { timeout: 30_000 }, async (t) => {
  const skip = await missingApis(broker.bootstrap, [JoinGroupApi])
  if (skip !== false) return t.skip(skip)
  const topic = uniqueTopic('cross-kafkajs')
  await admin.createTopics([{ name: topic, numPartitions: 3 }])
  const expected = await writeMix(topic)
  const consumer = kafka.consumer({ groupId: uniqueTopic('cross-group'), maxWaitTimeInMs: 100 })
  await consumer.connect()
  t.after(() => consumer.disconnect())
  await consumer.subscribe({ topic, fromBeginning: true })
  const actual: Expected[] = []
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kafkajs read ${actual.length} of ${expected.length} records`)), 20_000)
    consumer.run({
      eachMessage: ({ partition, message }) => {
        const headers: Record<string, string> = {}
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v)
        actual.push({
          partition,
          offset: Number(message.offset),
          key: message.key === null ? null : message.key.toString(),
          value: message.value === null ? null : message.value.toString(),
          headers,
          timestamp: Number(message.timestamp)
        })
        if (actual.length === expected.length) {
          clearTimeout(timer)
          resolve()
        }
        return Promise.resolve()
      }
    }).catch(reject)
  })
  actual.sort((a, b) => a.partition - b.partition || a.offset - b.offset)
  assert.deepEqual(actual, expected)
})

test('keyed records land where kafkajs\'s JavaCompatiblePartitioner and librdkafka\'s murmur2_random put the same keys', { timeout: 30_000 }, async () => {
  const topic = uniqueTopic('cross-keys')
  await admin.createTopics([{ name: topic, numPartitions: 12 }])
  const keys = Array.from({ length: 200 }, (_, i) => i % 3 === 0 ? `user-${i}` : i % 3 === 1 ? `ключ-${i}` : `${i * 7919}`)
  const ours = new Producer({ bootstrapServers: broker.bootstrap, lingerMs: 0 })
  const mine = await ours.send(keys.map((key) => ({ topic, key, value: 'samsa' })))
  await ours.close()

  const theirs = kafka.producer({ createPartitioner: Partitioners.JavaCompatiblePartitioner })
  await theirs.connect()
  const kafkajsResult = await theirs.send({ topic, messages: keys.map((key) => ({ key, value: 'kafkajs' })) })
  await theirs.disconnect()
  // kafkajs reports one entry per partition; check through what kcat reads back instead.
  assert.ok(kafkajsResult.length > 0)

  const input = keys.map((key) => `${key}\tlibrdkafka`).join('\n') + '\n'
  const produced = await run('kcat', ['-b', broker.bootstrap, '-P', '-t', topic, '-K', '\t', '-X', 'partitioner=murmur2_random'], { input })
  assert.equal(produced.code, 0, produced.stderr)

  const out = await run('kcat', ['-b', broker.bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-J'])
  const read = out.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { partition: number, key: string, payload: string })
  const where = new Map<string, Map<string, number>>()
  for (const r of read) {
    const byKey = where.get(r.payload) ?? new Map<string, number>()
    byKey.set(r.key, r.partition)
    where.set(r.payload, byKey)
  }
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!
    assert.equal(where.get('samsa')?.get(key), mine[i]!.partition, key)
    assert.equal(where.get('kafkajs')?.get(key), mine[i]!.partition, `kafkajs put ${key} elsewhere`)
    assert.equal(where.get('librdkafka')?.get(key), mine[i]!.partition, `librdkafka put ${key} elsewhere`)
  }
})

test('the admin client describes a kafkajs consumer group: member, subscription, assignment, offsets', { timeout: 30_000 }, async (t) => {
  const skip = await missingApis(broker.bootstrap, [JoinGroupApi])
  if (skip !== false) return t.skip(skip)
  const topic = uniqueTopic('cross-group-admin')
  await admin.createTopics([{ name: topic, numPartitions: 2 }])
  const groupId = uniqueTopic('kafkajs-group')
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 })
  await consumer.connect()
  t.after(() => consumer.disconnect())
  await consumer.subscribe({ topic, fromBeginning: true })
  let seen = 0
  await consumer.run({ eachMessage: () => { seen++; return Promise.resolve() } })
  const p = new Producer({ bootstrapServers: broker.bootstrap, lingerMs: 0 })
  await p.send([{ topic, partition: 0, value: 'a' }, { topic, partition: 1, value: 'b' }])
  await p.close()
  for (let i = 0; i < 100 && seen < 2; i++) await new Promise((r) => setTimeout(r, 100))
  const [group] = await admin.describeGroups([groupId])
  assert.equal(group!.groupState, 'Stable')
  assert.equal(group!.protocolType, 'consumer')
  assert.equal(group!.members.length, 1)
  assert.deepEqual(group!.members[0]!.subscribedTopics, [topic])
  assert.deepEqual(group!.members[0]!.assignment, [{ topic, partitions: [0, 1] }])
  assert.equal(group!.members[0]!.clientId, 'samsa-client-cross')
  await consumer.commitOffsets([{ topic, partition: 0, offset: '1' }, { topic, partition: 1, offset: '1' }])
  assert.deepEqual((await admin.listConsumerGroupOffsets(groupId)).map((o) => [o.partition, o.offset]), [[0, 1n], [1, 1n]])
  // An admin commit (generation -1) is refused while the group has members.
  await assert.rejects(admin.alterConsumerGroupOffsets(groupId, [{ topic, partition: 0, offset: 0n }]), (e: unknown) =>
    e instanceof KafkaPartialFailureError && (e.failures[0]!.error as KafkaResponseError).errorName === 'UNKNOWN_MEMBER_ID')
})
