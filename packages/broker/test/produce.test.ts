// Produce: acks 0/1/-1, every check a batch goes through (CRC, size, codec per version, one v2
// batch per partition from v3, keys on compacted topics, timestamps), per-partition errors,
// legacy message sets converted on write, LogAppendTime stamping and flush.messages.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import {
  CompressionType, ErrorCode, IncrementalAlterConfigsApi, ProduceApi, TimestampType, buildRecordBatch, decodeRecordBatch, iterateBatches
} from '@samsa/protocol'
import {
  batchOf, closedWithin, connect, createTopic, decodeRecords, fetchOne, produce, produceOk, setup
} from './helpers.ts'

const require = createRequire(import.meta.url)
interface KafkaJsEncoder { buffer: Buffer }
interface LegacyEntry { key?: string | null, value: string | Buffer | null, timestamp?: number, compression?: number }
// kafkajs 2.2.4's own MessageSet encoders (magic 0 and 1), as its Produce v0-v2 uses them.
const MessageSet = require('kafkajs/src/protocol/messageSet') as (options: { messageVersion: number, compression?: number, entries: LegacyEntry[] }) => KafkaJsEncoder
const gzip = require('kafkajs/src/protocol/message/compression/gzip') as { compress: (encoder: KafkaJsEncoder) => Promise<Buffer> }

test('acks 1 and -1 answer with the base offset; acks 0 gets no response; other acks are INVALID_REQUIRED_ACKS', async (t) => {
  const { client } = await setup(t)
  await createTopic(client, 'acks')
  const first = await produce(client, 'acks', batchOf(3), { acks: 1 })
  assert.equal(first.errorCode, ErrorCode.NONE)
  assert.equal(first.baseOffset, 0n)
  assert.equal(first.logStartOffset, 0n)
  assert.equal(first.logAppendTimeMs, -1n)
  const second = await produce(client, 'acks', batchOf(2, { from: 3 }), { acks: -1 })
  assert.equal(second.errorCode, ErrorCode.NONE)
  assert.equal(second.baseOffset, 3n)

  // acks=0: nothing comes back, but the request holds its place in the order and is applied.
  client.send(ProduceApi, 9, { transactionalId: null, acks: 0, timeoutMs: 5000, topicData: [{ name: 'acks', partitionData: [{ index: 0, records: batchOf(4, { from: 5 }) }] }] })
  const after = await produce(client, 'acks', batchOf(1, { from: 9 }), { acks: 1 })
  assert.equal(after.baseOffset, 9n, 'the acks=0 batch was appended before the next request')

  for (const acks of [2, -2, 5]) {
    const bad = await produce(client, 'acks', batchOf(1), { acks })
    assert.equal(bad.errorCode, ErrorCode.INVALID_REQUIRED_ACKS, `acks=${acks}`)
    assert.equal(bad.baseOffset, -1n)
  }
  const data = await fetchOne(client, { topic: 'acks' })
  assert.deepEqual(decodeRecords(data.records).map((r) => r.key), Array.from({ length: 10 }, (_, i) => `k${i}`))
  assert.equal(data.highWatermark, 10n)
})

test('acks=0 with an error closes the connection instead of answering', async (t) => {
  const { broker, client } = await setup(t)
  await createTopic(client, 'acks0')
  client.send(ProduceApi, 9, { transactionalId: null, acks: 0, timeoutMs: 5000, topicData: [{ name: 'no-such-topic', partitionData: [{ index: 0, records: batchOf(1) }] }] })
  assert.equal(await closedWithin(client, 2000), 'closed')
  // A corrupt batch does the same.
  const other = await connect(t, broker)
  const corrupt = batchOf(1)
  corrupt[corrupt.length - 1]! ^= 0xff
  other.send(ProduceApi, 9, { transactionalId: null, acks: 0, timeoutMs: 5000, topicData: [{ name: 'acks0', partitionData: [{ index: 0, records: corrupt }] }] })
  assert.equal(await closedWithin(other, 2000), 'closed')
  // A successful acks=0 produce leaves the connection open.
  const third = await connect(t, broker)
  third.send(ProduceApi, 9, { transactionalId: null, acks: 0, timeoutMs: 5000, topicData: [{ name: 'acks0', partitionData: [{ index: 0, records: batchOf(1) }] }] })
  assert.equal(await closedWithin(third, 200), 'open')
  assert.equal((await fetchOne(third, { topic: 'acks0' })).highWatermark, 1n)
})

test('corrupt, oversized and malformed batches get the error Kafka gives, per partition', async (t) => {
  const { client } = await setup(t)
  await createTopic(client, 'checks', { partitions: 3, configs: { 'max.message.bytes': '2000' } })
  // A flipped byte in the records: the CRC-32C no longer matches.
  const corrupt = batchOf(2)
  corrupt[corrupt.length - 2]! ^= 0x55
  const crc = await produce(client, 'checks', corrupt)
  assert.equal(crc.errorCode, ErrorCode.CORRUPT_MESSAGE)
  assert.match(crc.errorMessage ?? '', /crc/i)

  // Larger than the topic's max.message.bytes.
  const large = batchOf(1, { valueSize: 2100 })
  const tooLarge = await produce(client, 'checks', large)
  assert.equal(tooLarge.errorCode, ErrorCode.MESSAGE_TOO_LARGE)
  // Just under it is fine.
  const fits = batchOf(1, { valueSize: 1900 })
  assert.ok(fits.length <= 2000)
  assert.equal((await produce(client, 'checks', fits)).errorCode, ErrorCode.NONE)

  // A truncated batch, and no records at all.
  assert.equal((await produce(client, 'checks', batchOf(2).subarray(0, 40))).errorCode, ErrorCode.CORRUPT_MESSAGE)
  const empty = await produce(client, 'checks', Buffer.alloc(0))
  assert.ok(empty.errorCode === ErrorCode.CORRUPT_MESSAGE || empty.errorCode === ErrorCode.INVALID_RECORD, `empty records: ${empty.errorCode}`)

  // v3+: two batches in one partition, or a legacy (magic 1) message set, are INVALID_RECORD.
  const two = await produce(client, 'checks', Buffer.concat([batchOf(1), batchOf(1)]), { version: 8 })
  assert.equal(two.errorCode, ErrorCode.INVALID_RECORD)
  const legacy = MessageSet({ messageVersion: 1, entries: [{ key: 'a', value: 'b', timestamp: 1 }] }).buffer
  const magic1 = await produce(client, 'checks', legacy, { version: 3 })
  assert.equal(magic1.errorCode, ErrorCode.INVALID_RECORD)

  // Errors are per partition: good partitions of the same request are written.
  const mixed = await client.request(ProduceApi, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [
      { name: 'checks', partitionData: [{ index: 1, records: batchOf(1) }, { index: 2, records: corrupt }, { index: 7, records: batchOf(1) }] },
      { name: 'missing', partitionData: [{ index: 0, records: batchOf(1) }] }
    ]
  })
  assert.deepEqual(mixed.responses.map((r) => [r.name, r.partitionResponses.map((p) => [p.index, p.errorCode])]), [
    ['checks', [[1, ErrorCode.NONE], [2, ErrorCode.CORRUPT_MESSAGE], [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
    ['missing', [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]]
  ])
  assert.equal((await fetchOne(client, { topic: 'checks', partition: 1 })).highWatermark, 1n)
  assert.equal((await fetchOne(client, { topic: 'checks', partition: 2 })).highWatermark, 0n)
})

test('zstd needs Produce v7; older versions get UNSUPPORTED_COMPRESSION_TYPE', async (t) => {
  const { client } = await setup(t)
  await createTopic(client, 'zstd')
  const zstd = (): Buffer => buildRecordBatch({ records: [{ key: 'z', value: 'compressed' }], compression: CompressionType.zstd })
  for (const version of [3, 6]) {
    const r = await produce(client, 'zstd', zstd(), { version })
    assert.equal(r.errorCode, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `Produce v${version}`)
  }
  assert.equal((await produce(client, 'zstd', zstd(), { version: 7 })).errorCode, ErrorCode.NONE)
  // gzip is fine at any version.
  assert.equal((await produce(client, 'zstd', buildRecordBatch({ records: [{ key: 'g', value: 'gz' }], compression: CompressionType.gzip }), { version: 3 })).errorCode, ErrorCode.NONE)
  const data = await fetchOne(client, { topic: 'zstd' })
  assert.deepEqual(decodeRecords(data.records).map((r) => [r.offset, r.key, r.value]), [[0, 'z', 'compressed'], [1, 'g', 'gz']])
})

test('Produce v0-v2 legacy message sets (kafkajs encoders) are converted to v2 batches on write', async (t) => {
  const { client } = await setup(t)
  await createTopic(client, 'legacy')
  const before = Date.now()
  // Magic 0 (no timestamps) with Produce v0.
  const v0 = MessageSet({ messageVersion: 0, entries: [{ key: 'a', value: 'one' }, { key: null, value: 'two' }] }).buffer
  assert.equal(v0.readInt8(16), 0)
  const r0 = await produce(client, 'legacy', v0, { version: 0 })
  assert.equal(r0.errorCode, ErrorCode.NONE)
  assert.equal(r0.baseOffset, 0n)
  const after = Date.now()
  // Magic 1 with timestamps, Produce v1 and v2.
  const v1 = MessageSet({ messageVersion: 1, entries: [{ key: 'b', value: 'three', timestamp: 1_600_000_000_001 }, { key: 'c', value: null, timestamp: 1_600_000_000_000 }] }).buffer
  assert.equal(v1.readInt8(16), 1)
  assert.equal((await produce(client, 'legacy', v1, { version: 1 })).baseOffset, 2n)
  // Magic 1, gzip-compressed as kafkajs's Produce v2 writes it: a wrapper message whose value
  // is the compressed inner set.
  const inner = MessageSet({ messageVersion: 1, compression: 1, entries: [{ key: 'd', value: 'four', timestamp: 1_600_000_000_100 }, { key: 'e', value: 'five', timestamp: 1_600_000_000_200 }] })
  const wrapper = MessageSet({ messageVersion: 1, entries: [{ compression: 1, timestamp: 1_600_000_000_100, value: await gzip.compress(inner) }] }).buffer
  const r2 = await produce(client, 'legacy', wrapper, { version: 2 })
  assert.equal(r2.errorCode, ErrorCode.NONE)
  assert.equal(r2.baseOffset, 4n)
  // Produce v2 may also carry one v2 batch.
  assert.equal((await produce(client, 'legacy', batchOf(1, { from: 6, timestamp: 1_600_000_000_000 }), { version: 2 })).baseOffset, 6n)
  // A legacy message with a bad CRC-32 is CORRUPT_MESSAGE.
  const bad = Buffer.from(v1)
  bad[bad.length - 1]! ^= 1
  assert.equal((await produce(client, 'legacy', bad, { version: 1 })).errorCode, ErrorCode.CORRUPT_MESSAGE)

  const data = await fetchOne(client, { topic: 'legacy' })
  const records = data.records!
  const magics = [...iterateBatches(records)].map((e) => e.magic)
  assert.deepEqual(magics, [2, 2, 2, 2], 'every entry is read back as a v2 batch, one per produce')
  const got = decodeRecords(records)
  assert.deepEqual(got.map((r) => [r.offset, r.key, r.value]), [
    [0, 'a', 'one'], [1, null, 'two'], [2, 'b', 'three'], [3, 'c', null], [4, 'd', 'four'], [5, 'e', 'five'], [6, 'k6', 'v6']
  ])
  // Magic 0 has no timestamps: the broker's time of the write stands in.
  for (const r of got.slice(0, 2)) assert.ok(r.timestamp >= before && r.timestamp <= after, `magic 0 timestamp ${r.timestamp}`)
  assert.deepEqual(got.slice(2).map((r) => r.timestamp), [1_600_000_000_001, 1_600_000_000_000, 1_600_000_000_100, 1_600_000_000_200, 1_600_000_000_006])
  const second = decodeRecordBatch(records, [...iterateBatches(records)][1]!.position)
  assert.equal(second.header.maxTimestamp, 1_600_000_000_001)
  assert.equal(second.header.timestampType, TimestampType.CreateTime)
})

test('compacted topics reject records without a key: INVALID_RECORD, with record errors from v8', async (t) => {
  const { client } = await setup(t)
  await createTopic(client, 'compacted', { configs: { 'cleanup.policy': 'compact' } })
  const keyless = buildRecordBatch({ records: [{ key: 'ok', value: '1' }, { key: null, value: '2' }, { key: 'ok2', value: '3' }] })
  const v8 = await produce(client, 'compacted', keyless, { version: 8 })
  assert.equal(v8.errorCode, ErrorCode.INVALID_RECORD)
  assert.equal(v8.recordErrors.length, 1)
  assert.equal(v8.recordErrors[0]!.batchIndex, 1, 'the index of the record without a key')
  assert.match(v8.recordErrors[0]!.batchIndexErrorMessage ?? '', /without key/)
  assert.match(v8.errorMessage ?? '', /Compacted topic cannot accept message without key in topic partition compacted-0/)
  const v7 = await produce(client, 'compacted', keyless, { version: 7 })
  assert.equal(v7.errorCode, ErrorCode.INVALID_RECORD)
  assert.deepEqual(v7.recordErrors, [])
  // Compressed, too.
  const gz = buildRecordBatch({ records: [{ key: null, value: 'x' }], compression: CompressionType.gzip })
  assert.equal((await produce(client, 'compacted', gz)).errorCode, ErrorCode.INVALID_RECORD)
  // Keys everywhere: accepted; nothing of the rejected batches was written.
  const ok = await produce(client, 'compacted', buildRecordBatch({ records: [{ key: 'a', value: null }] }))
  assert.equal(ok.errorCode, ErrorCode.NONE)
  assert.equal(ok.baseOffset, 0n)
})

test('unknown topics and partitions, and internal topics', async (t) => {
  const { client } = await setup(t, { config: { 'auto.create.topics.enable': true } })
  await createTopic(client, 'known', { partitions: 2 })
  assert.equal((await produce(client, 'unknown', batchOf(1))).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'Produce never auto-creates')
  assert.equal((await produce(client, 'known', batchOf(1), { partition: 2 })).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
  assert.equal((await produce(client, 'known', batchOf(1), { partition: -1 })).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
  await createTopic(client, '__consumer_offsets')
  const internal = await produce(client, '__consumer_offsets', batchOf(1))
  assert.equal(internal.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION)
  assert.equal((await fetchOne(client, { topic: '__consumer_offsets' })).highWatermark, 0n)
})

test('min.insync.replicas=2 on a single node: NOT_ENOUGH_REPLICAS for acks=-1, success for acks=1', async (t) => {
  const { client } = await setup(t)
  await createTopic(client, 'isr', { configs: { 'min.insync.replicas': '2' } })
  const all = await produce(client, 'isr', batchOf(1), { acks: -1 })
  assert.equal(all.errorCode, ErrorCode.NOT_ENOUGH_REPLICAS)
  assert.match(all.errorMessage ?? '', /insufficient to satisfy the min\.isr requirement of 2/)
  const one = await produce(client, 'isr', batchOf(1), { acks: 1 })
  assert.equal(one.errorCode, ErrorCode.NONE)
  assert.equal(one.baseOffset, 0n, 'the rejected acks=-1 batch was not written')
  // From the broker default as well.
  const { client: other } = await setup(t, { config: { 'min.insync.replicas': 2 } })
  await createTopic(other, 'isr2')
  assert.equal((await produce(other, 'isr2', batchOf(1), { acks: -1 })).errorCode, ErrorCode.NOT_ENOUGH_REPLICAS)
  assert.equal((await produce(other, 'isr2', batchOf(1), { acks: 1 })).errorCode, ErrorCode.NONE)
})

test('LogAppendTime topics stamp the broker time: in the response and in the fetched batches', async (t) => {
  const { client } = await setup(t)
  await createTopic(client, 'lat', { configs: { 'message.timestamp.type': 'LogAppendTime' } })
  const before = Date.now()
  const r = await produce(client, 'lat', batchOf(3, { timestamp: 1_000 }))
  const after = Date.now()
  assert.equal(r.errorCode, ErrorCode.NONE)
  const stamped = Number(r.logAppendTimeMs)
  assert.ok(stamped >= before && stamped <= after, `logAppendTimeMs ${stamped} within [${before}, ${after}]`)
  const data = await fetchOne(client, { topic: 'lat' })
  const batch = decodeRecordBatch(data.records!)
  assert.equal(batch.header.timestampType, TimestampType.LogAppendTime)
  assert.equal(batch.header.maxTimestamp, stamped)
  assert.deepEqual(decodeRecords(data.records).map((x) => x.timestamp), [stamped, stamped, stamped])
  // The batch was re-checksummed after stamping.
  assert.doesNotThrow(() => decodeRecordBatch(data.records!, 0, { verifyCrc: true }))
})

test('flush.messages=1: the response waits for the fsync; the default does not fsync', async (t) => {
  const { broker, client } = await setup(t)
  await createTopic(client, 'durable', { configs: { 'flush.messages': '1' } })
  await createTopic(client, 'lazy')
  const durable = broker.broker.topics.partition('durable', 0)!.log
  const lazy = broker.broker.topics.partition('lazy', 0)!.log
  for (let i = 0; i < 3; i++) {
    await produceOk(client, 'durable', batchOf(2, { from: i * 2 }))
    assert.equal(durable.recoveryPoint, (i + 1) * 2, 'recovery point advanced before the response was sent')
    await produceOk(client, 'lazy', batchOf(2, { from: i * 2 }))
    assert.equal(lazy.recoveryPoint, 0, 'nothing flushed by default')
  }
  // acks=1 waits too.
  await produceOk(client, 'durable', batchOf(1), { acks: 1 })
  assert.equal(durable.recoveryPoint, 7)
})

test('CreateTime limits: message.timestamp.before/after.max.ms reject records out of range with INVALID_TIMESTAMP', async (t) => {
  const { client } = await setup(t)
  await createTopic(client, 'ts', { configs: { 'message.timestamp.before.max.ms': '3600000', 'message.timestamp.after.max.ms': '60000' } })
  const now = Date.now()
  const ok = buildRecordBatch({ records: [{ key: 'a', value: '1', timestamp: now - 1000 }, { key: 'b', value: '2', timestamp: now + 1000 }] })
  assert.equal((await produce(client, 'ts', ok)).errorCode, ErrorCode.NONE)
  const old = buildRecordBatch({ records: [{ key: 'a', value: '1', timestamp: now }, { key: 'b', value: '2', timestamp: now - 7_200_000 }] })
  const r = await produce(client, 'ts', old, { version: 9 })
  assert.equal(r.errorCode, ErrorCode.INVALID_TIMESTAMP)
  assert.equal(r.recordErrors.length, 1)
  assert.equal(r.recordErrors[0]!.batchIndex, 1)
  assert.match(r.recordErrors[0]!.batchIndexErrorMessage ?? '', /^Timestamp \d+ of message with offset 1 is out of range\. The timestamp should be within \[\d+, \d+\]$/)
  const future = buildRecordBatch({ records: [{ key: 'a', value: '1', timestamp: now + 600_000 }] })
  assert.equal((await produce(client, 'ts', future, { version: 7 })).errorCode, ErrorCode.INVALID_TIMESTAMP)
  const r2 = await produce(client, 'ts', future, { version: 8 })
  assert.equal(r2.errorMessage, 'One or more records have been rejected due to invalid timestamp')
  // A producer may not mark its batch LogAppendTime where Kafka checks it: on LogAppendTime
  // topics (on CreateTime topics only the range is checked, as in Kafka's LogValidator).
  await createTopic(client, 'ts-lat', { configs: { 'message.timestamp.type': 'LogAppendTime' } })
  const marked = (): Buffer => buildRecordBatch({ records: [{ key: 'a', value: '1', timestamp: now }], timestampType: TimestampType.LogAppendTime, logAppendTime: now })
  const lat = await produce(client, 'ts-lat', marked())
  assert.equal(lat.errorCode, ErrorCode.INVALID_TIMESTAMP)
  assert.match(lat.recordErrors[0]!.batchIndexErrorMessage ?? '', /Producer should not set timestamp type to LogAppendTime/)
  assert.equal((await produce(client, 'ts', marked())).errorCode, ErrorCode.NONE)
  // Defaults (Long.MAX_VALUE): anything goes.
  await createTopic(client, 'ts-default')
  assert.equal((await produce(client, 'ts-default', buildRecordBatch({ records: [{ key: 'x', value: 'y', timestamp: 0 }] }))).errorCode, ErrorCode.NONE)
  const data = await fetchOne(client, { topic: 'ts' })
  assert.deepEqual(decodeRecords(data.records).map((x) => x.key), ['a', 'b', 'a'], 'only the valid batches were written')
})

test('config changes apply to the next produce: topic overrides and dynamic broker defaults', async (t) => {
  const { client } = await setup(t, { inMemory: true })
  await createTopic(client, 'changing')
  const set = async (resourceType: number, resourceName: string, name: string, value: string | null): Promise<void> => {
    const r = await client.request(IncrementalAlterConfigsApi, 1, {
      resources: [{ resourceType, resourceName, configs: [{ name, configOperation: value === null ? 1 : 0, value }] }],
      validateOnly: false
    })
    assert.equal(r.responses[0]!.errorCode, ErrorCode.NONE, r.responses[0]!.errorMessage ?? '')
  }
  const code = async (records: Buffer, acks = -1): Promise<number> => (await produce(client, 'changing', records, { acks })).errorCode
  assert.equal(await code(batchOf(1)), ErrorCode.NONE)
  await set(2, 'changing', 'min.insync.replicas', '2')
  assert.equal(await code(batchOf(1)), ErrorCode.NOT_ENOUGH_REPLICAS)
  await set(2, 'changing', 'min.insync.replicas', null)
  assert.equal(await code(batchOf(1)), ErrorCode.NONE)
  // Cluster-wide dynamic defaults reach topics without an override.
  await set(4, '', 'min.insync.replicas', '3')
  assert.equal(await code(batchOf(1)), ErrorCode.NOT_ENOUGH_REPLICAS)
  assert.equal(await code(batchOf(1), 1), ErrorCode.NONE)
  await set(4, '', 'log.message.timestamp.after.max.ms', '1000')
  const future = (): Buffer => buildRecordBatch({ records: [{ key: 'f', value: 'v', timestamp: Date.now() + 60_000 }] })
  assert.equal(await code(future(), 1), ErrorCode.INVALID_TIMESTAMP)
  await set(2, 'changing', 'message.timestamp.after.max.ms', '3600000')
  assert.equal(await code(future(), 1), ErrorCode.NONE, 'the topic override wins')
  await set(2, 'changing', 'max.message.bytes', '200')
  assert.equal(await code(batchOf(1, { valueSize: 300 }), 1), ErrorCode.MESSAGE_TOO_LARGE)
})
