/**
 * The producer against an in-process Samsa broker: every codec and acks level, what is stored
 * (keys, values, headers, timestamps, codec, partition), the Java-compatible partitioner, a
 * broker restart in the middle of a stream, and idempotence and transactions once the broker
 * serves them (skipped with the reason otherwise).
 */
import assert from 'node:assert/strict'
import { tracingChannel } from 'node:diagnostics_channel'
import { after, before, test } from 'node:test'
import {
  AddOffsetsToTxnApi, AddPartitionsToTxnApi, CompressionType, EndTxnApi, ErrorCode, FindCoordinatorApi, InitProducerIdApi,
  ProduceApi, TxnOffsetCommitApi, buildRecordBatch
} from '@samsa/protocol'
import { type TestBroker, startBroker } from '@samsa/testkit'
import { Admin } from '../src/admin/admin.ts'
import { Connection } from '../src/connection.ts'
import { KafkaClientError, KafkaResponseError } from '../src/errors.ts'
import type { CompressionName } from '../src/producer/options.ts'
import { Producer } from '../src/producer/producer.ts'
import type { RecordMetadata } from '../src/producer/record.ts'
import type { RequestTraceContext } from '../src/diagnostics.ts'
import { missingApis, readAll, uniqueTopic } from './helpers.ts'

let broker: TestBroker
let admin: Admin

before(async () => {
  broker = await startBroker()
  admin = new Admin({ bootstrapServers: broker.bootstrap })
})

after(async () => {
  await admin.close()
  await broker.stop()
})

function producer (options: Partial<ConstructorParameters<typeof Producer>[0]> = {}): Producer {
  return new Producer({ bootstrapServers: broker.bootstrap, lingerMs: 1, ...options })
}

const CODECS: CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd']

test('every codec and acks level stores keys, values, headers and timestamps as sent', { timeout: 30_000 }, async () => {
  const topic = uniqueTopic('codecs')
  await admin.createTopics([{ name: topic, numPartitions: 1 }])
  const expected: Array<{ key: string | null, value: string | null, headers: Array<[string, string | null]>, timestamp: number, codec: number }> = []
  let ts = 1_700_000_000_000
  for (const compression of CODECS) {
    for (const acks of [0, 1, -1] as const) {
      const p = producer({ compression, acks })
      const records = Array.from({ length: 12 }, (_, i) => {
        const n = expected.length
        const record = {
          topic,
          key: i === 0 ? null : `key-${n}`,
          value: i === 1 ? null : i === 2 ? '' : `value ${n} ${compression} acks=${acks} `.repeat(8),
          headers: i % 3 === 0 ? [{ key: 'h1', value: `x${n}` }, { key: 'h1', value: 'repeated' }, { key: 'nil', value: null }] : undefined,
          timestamp: ts++
        }
        expected.push({
          key: record.key,
          value: record.value,
          headers: record.headers?.map((h) => [h.key, h.value] as [string, string | null]) ?? [],
          timestamp: record.timestamp,
          codec: CompressionType[compression]
        })
        return record
      })
      const results = await p.send(records)
      for (const r of results) assert.equal(r.offset >= 0n, acks !== 0)
      await p.close()
    }
  }
  let stored = await readAll(broker.bootstrap, topic)
  for (let i = 0; i < 50 && stored.length < expected.length; i++) {
    await new Promise((r) => setTimeout(r, 50))
    stored = await readAll(broker.bootstrap, topic)
  }
  assert.deepEqual(stored.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp, codec: r.compression })), expected)
})

// Kafka's UtilsTest murmur2 vectors: key → Utils.murmur2(key.getBytes()).
const JAVA_HASHES: Array<[string, number]> = [
  ['21', -973932308], ['foobar', -790332482], ['a-little-bit-long-string', -985981536],
  ['a-little-bit-longer-string', -1486304829], ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971], ['abc', 479470107]
]

test('keyed records are stored on the partitions Java\'s default partitioner picks', async () => {
  const topic = uniqueTopic('keyed')
  await admin.createTopics([{ name: topic, numPartitions: 7 }])
  const p = producer()
  const results = await p.send(JAVA_HASHES.map(([key]) => ({ topic, key, value: key })))
  await p.close()
  const stored = await readAll(broker.bootstrap, topic)
  for (const [key, hash] of JAVA_HASHES) {
    const javaPartition = (hash & 0x7fffffff) % 7
    assert.equal(stored.find((r) => r.key === key)?.partition, javaPartition, key)
    assert.equal(results.find((r, i) => JAVA_HASHES[i]![0] === key && r.partition === javaPartition) !== undefined, true)
  }
})

test('records without a key stick to one partition per batch and spread over batches', async () => {
  const topic = uniqueTopic('sticky')
  await admin.createTopics([{ name: topic, numPartitions: 4 }])
  const p = producer({ lingerMs: 50, batchSize: 2000 })
  const partitions: number[][] = []
  for (let round = 0; round < 8; round++) {
    const results = await p.send(Array.from({ length: 10 }, (_, i) => ({ topic, value: `r${round}-${i}` })))
    partitions.push([...new Set(results.map((r) => r.partition))])
  }
  await p.close()
  for (const ps of partitions) assert.equal(ps.length, 1, 'one batch, one partition')
  assert.ok(new Set(partitions.flat()).size > 1, 'new batches move to other partitions')
})

test('a broker restart in the middle of a stream: the producer retries and every acked record is stored', { timeout: 40_000 }, async (t) => {
  const idempotent = await missingApis(broker.bootstrap, [InitProducerIdApi]) === false
  const topic = uniqueTopic('restart')
  await admin.createTopics([{ name: topic, numPartitions: 2 }])
  const p = producer({ lingerMs: 2, retryBackoffMs: 20, retryBackoffMaxMs: 200, reconnectBackoffMaxMs: 200, requestTimeoutMs: 5000, deliveryTimeoutMs: 30_000 })
  t.after(() => p.close())
  // Count the requests the restart broke and the connections made after it (each starts with
  // ApiVersions), to show that the stream went on through a reconnect. A clean stop answers
  // what is in flight, so broken requests are likely but not certain.
  let failedRequests = 0
  let reconnects = 0
  let restarting = false
  const channel = tracingChannel<unknown, RequestTraceContext>('samsa:client:request')
  const handlers = {
    start (ctx: RequestTraceContext) { if (restarting && ctx.api === 'ApiVersions') reconnects++ },
    end () {},
    asyncStart () {},
    asyncEnd () {},
    error () { failedRequests++ }
  }
  channel.subscribe(handlers)
  t.after(() => channel.unsubscribe(handlers))
  const acked: Array<Promise<RecordMetadata[]>> = []
  let sent = 0
  let restarted = false
  const restart = (async () => {
    await new Promise((r) => setTimeout(r, 150))
    restarting = true
    await broker.restart()
    restarted = true
  })()
  while (!restarted || sent < 6000) {
    acked.push(p.send(Array.from({ length: 50 }, (_, i) => ({ topic, key: `k${(sent + i) % 97}`, value: `v${sent + i}` }))))
    sent += 50
    await new Promise((r) => setTimeout(r, 2))
  }
  await restart
  const results = (await Promise.all(acked)).flat()
  assert.equal(results.length, sent, 'every record acknowledged')
  await p.flush()
  const stored = await readAll(broker.bootstrap, topic)
  const counts = new Map<string, number>()
  for (const r of stored) counts.set(r.value!, (counts.get(r.value!) ?? 0) + 1)
  for (let i = 0; i < sent; i++) {
    const n = counts.get(`v${i}`) ?? 0
    if (idempotent) assert.equal(n, 1, `v${i} exactly once`)
    else assert.ok(n >= 1, `v${i} at least once`)
  }
  // Offsets reported to the caller point at the records.
  const byOffset = new Map(stored.map((r) => [`${r.partition}:${r.offset}`, r.value]))
  for (let i = 0; i < results.length; i += 97) assert.equal(byOffset.get(`${results[i]!.partition}:${results[i]!.offset}`), `v${i}`)
  assert.ok(reconnects > 0, 'the producer reconnected after the restart')
  t.diagnostic(`${sent} records, ${failedRequests} broken requests retried, ${reconnects} reconnects, ${stored.length - sent} duplicates, idempotent=${idempotent}`)
})

test('idempotent writes carry a producer id and sequences', async (t) => {
  const skip = await missingApis(broker.bootstrap, [InitProducerIdApi])
  if (skip !== false) return t.skip(skip)
  const topic = uniqueTopic('idempotent')
  await admin.createTopics([{ name: topic, numPartitions: 1 }])
  const p = producer({ idempotent: true })
  await p.send(Array.from({ length: 5 }, (_, i) => ({ topic, value: `v${i}` })))
  await p.send({ topic, value: 'v5' })
  await p.close()
  const stored = await readAll(broker.bootstrap, topic)
  assert.ok(stored.every((r) => r.producerId >= 0n))
  assert.deepEqual([...new Set(stored.map((r) => r.baseSequence))], [0, 5])
})

test('the broker takes a locally bumped epoch from sequence 0 and fences the old one (what KIP-360\'s idempotent bump relies on)', async (t) => {
  const skip = await missingApis(broker.bootstrap, [InitProducerIdApi])
  if (skip !== false) return t.skip(skip)
  const topic = uniqueTopic('epoch-bump')
  await admin.createTopics([{ name: topic, numPartitions: 1 }])
  const connection = await Connection.connect({ host: broker.host, port: broker.port })
  t.after(() => connection.close())
  const { producerId } = await connection.request(InitProducerIdApi, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 })
  const produce = async (producerEpoch: number, baseSequence: number): Promise<[number, bigint]> => {
    const records = buildRecordBatch({ records: [{ value: `e${producerEpoch}s${baseSequence}` }, { value: 'x' }], producerId, producerEpoch, baseSequence })
    const r = await connection.request(ProduceApi, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] })
    const p = r.responses[0]!.partitionResponses[0]!
    return [p.errorCode, p.baseOffset]
  }
  assert.deepEqual(await produce(0, 0), [0, 0n])
  assert.deepEqual(await produce(0, 2), [0, 2n])
  assert.deepEqual(await produce(1, 2), [ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, -1n], 'a new epoch starts at sequence 0')
  assert.deepEqual(await produce(1, 0), [0, 4n])
  assert.deepEqual(await produce(1, 0), [0, 4n], 'a duplicate gets the original offset')
  assert.deepEqual(await produce(0, 4), [ErrorCode.INVALID_PRODUCER_EPOCH, -1n])
})

test('transactions: committed records are visible to read_committed readers, aborted ones are not', async (t) => {
  const skip = await missingApis(broker.bootstrap, [FindCoordinatorApi, InitProducerIdApi, AddPartitionsToTxnApi, EndTxnApi])
  if (skip !== false) return t.skip(skip)
  const topic = uniqueTopic('txn')
  await admin.createTopics([{ name: topic, numPartitions: 2 }])
  const p = producer({ transactionalId: uniqueTopic('tx') })
  await p.beginTransaction()
  await p.send([{ topic, key: 'a', value: 'committed-1' }, { topic, key: 'b', value: 'committed-2' }])
  await p.commitTransaction()
  await p.beginTransaction()
  await p.send({ topic, key: 'a', value: 'aborted' })
  await p.abortTransaction()
  await p.close()
  const committed = await readAll(broker.bootstrap, topic, 1)
  assert.deepEqual(committed.map((r) => r.value).sort(), ['committed-1', 'committed-2'])
  assert.ok(committed.every((r) => r.transactional))
})

test('transactions: offsets sent in a transaction are committed with it, and not when it aborts', async (t) => {
  const skip = await missingApis(broker.bootstrap, [FindCoordinatorApi, InitProducerIdApi, AddPartitionsToTxnApi, AddOffsetsToTxnApi, TxnOffsetCommitApi, EndTxnApi])
  if (skip !== false) return t.skip(skip)
  const topic = uniqueTopic('txn-offsets')
  await admin.createTopics([{ name: topic, numPartitions: 1 }])
  const group = uniqueTopic('txn-group')
  const p = producer({ transactionalId: uniqueTopic('tx') })
  t.after(() => p.close())
  await p.beginTransaction()
  await p.send({ topic, value: 'out-1' })
  await p.sendOffsets([{ topic, partition: 0, offset: 7n }], group)
  await p.commitTransaction()
  assert.deepEqual((await admin.listConsumerGroupOffsets(group, { requireStable: true })).map((o) => o.offset), [7n])
  await p.beginTransaction()
  await p.sendOffsets([{ topic, partition: 0, offset: 9n }], { groupId: group })
  await p.abortTransaction()
  assert.deepEqual((await admin.listConsumerGroupOffsets(group, { requireStable: true })).map((o) => o.offset), [7n])
})

test('transactions: a second producer with the same transactional id fences the first', async (t) => {
  const skip = await missingApis(broker.bootstrap, [FindCoordinatorApi, InitProducerIdApi, AddPartitionsToTxnApi, EndTxnApi])
  if (skip !== false) return t.skip(skip)
  const topic = uniqueTopic('txn-fence')
  await admin.createTopics([{ name: topic, numPartitions: 1 }])
  const transactionalId = uniqueTopic('tx-fence')
  const first = producer({ transactionalId })
  t.after(() => first.close({ timeoutMs: 1000 }))
  await first.beginTransaction()
  await first.send({ topic, value: 'zombie-1' })
  const second = producer({ transactionalId })
  t.after(() => second.close())
  await second.initTransactions()
  assert.ok(second.producerId.producerEpoch > first.producerId.producerEpoch)
  await assert.rejects(async () => {
    await first.send({ topic, value: 'zombie-2' })
    await first.commitTransaction()
  }, (e: unknown) => e instanceof KafkaClientError && /PRODUCER_FENCED|INVALID_PRODUCER_EPOCH/.test(e.message))
  await second.beginTransaction()
  await second.send({ topic, value: 'live' })
  await second.commitTransaction()
  assert.deepEqual((await readAll(broker.bootstrap, topic, 1)).map((r) => r.value), ['live'])
})

test('a topic that cannot be written fails with Kafka\'s error', async () => {
  const p = producer({ maxBlockMs: 2000 })
  await assert.rejects(p.send({ topic: 'bad topic name!', value: 'x' }), (e: unknown) => e instanceof KafkaResponseError && e.errorName === 'INVALID_TOPIC_EXCEPTION')
  await p.close()
})
