/**
 * The producer against a scripted fake broker: batching, linger, flush, backpressure, retries,
 * idempotence (sequences, epoch bump), transactions' request flow, validation.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { test, type TestContext } from 'node:test'
import {
  AddOffsetsToTxnApi, AddPartitionsToTxnApi, ApiKey, EndTxnApi, ErrorCode, FindCoordinatorApi, InitProducerIdApi,
  MetadataApi, ProduceApi, TRANSACTIONAL_FLAG_MASK, TxnOffsetCommitApi, decodeRecordBatch, readAttributes,
  readBaseSequence, readProducerEpoch, readProducerId, readRecordsCount
} from '@samsa/protocol'
import {
  KafkaBufferExhaustedError, KafkaIllegalStateError, KafkaInvalidArgumentError, KafkaNetworkError, KafkaPartialFailureError,
  KafkaResponseError, KafkaTimeoutError, KafkaUnsupportedVersionError
} from '../../src/errors.ts'
import { partitionForKey } from '../../src/producer/murmur2.ts'
import type { ProducerOptions } from '../../src/producer/options.ts'
import { Producer } from '../../src/producer/producer.ts'
import { DEFAULT_API_VERSIONS, type FakeBroker, type FakeBrokerOptions, NO_RESPONSE, bodyOf, requestsOf, startFakeBroker } from '../fake-broker.ts'

const TXN_APIS: Array<[number, number, number]> = [
  ...DEFAULT_API_VERSIONS, [ApiKey.AddPartitionsToTxn, 0, 5], [ApiKey.AddOffsetsToTxn, 0, 4], [ApiKey.EndTxn, 0, 5],
  [ApiKey.TxnOffsetCommit, 0, 4]
]
const NO_IDEMPOTENCE: Array<[number, number, number]> = DEFAULT_API_VERSIONS.filter(([k]) => k !== ApiKey.InitProducerId)

async function setup (t: TestContext, brokerOptions: FakeBrokerOptions, options: Partial<ProducerOptions> = {}): Promise<{ broker: FakeBroker, producer: Producer }> {
  const broker = await startFakeBroker({ topics: { t: 1 }, ...brokerOptions })
  const producer = new Producer({ bootstrapServers: broker.bootstrap, retryBackoffMs: 5, retryBackoffMaxMs: 20, ...options })
  t.after(async () => {
    await producer.close().catch(() => {})
    await broker.close()
  })
  return { broker, producer }
}

function batchesOf (broker: FakeBroker, key: string): Buffer[] {
  return broker.written.get(key) ?? []
}

test('a batch that is not full waits lingerMs; a full batch goes at once; flush() sends at once', async (t) => {
  const { broker, producer } = await setup(t, { apiVersions: NO_IDEMPOTENCE }, { lingerMs: 150, batchSize: 400 })
  await producer.connect()
  const started = Date.now()
  await producer.send({ topic: 't', value: 'a' })
  const lingered = Date.now() - started
  assert.ok(lingered >= 140, `waited ${lingered} ms`)

  const t0 = Date.now()
  const full = Array.from({ length: 6 }, (_, i) => producer.send({ topic: 't', value: Buffer.alloc(60, i) }))
  await Promise.all(full.slice(0, 3))
  assert.ok(Date.now() - t0 < 100, 'full batches do not linger')

  const t1 = Date.now()
  const pending = producer.send({ topic: 't', value: 'b' })
  await producer.flush()
  await pending
  assert.ok(Date.now() - t1 < 100, 'flush does not linger')
  await Promise.all(full)
  const counts = batchesOf(broker, 't:0').map((b) => readRecordsCount(b))
  assert.equal(counts.reduce((a, b) => a + b, 0), 8)
})

test('records sent in one burst share batches and one Produce request per broker', async (t) => {
  const { broker, producer } = await setup(t, { apiVersions: NO_IDEMPOTENCE, topics: { t: 3 } }, { lingerMs: 0 })
  await producer.connect()
  const results = await producer.send(Array.from({ length: 300 }, (_, i) => ({ topic: 't', partition: i % 3, value: `v${i}` })))
  assert.equal(results.length, 300)
  const produces = requestsOf(broker, ProduceApi)
  assert.equal(produces.length, 1)
  assert.equal(produces[0]!.body.topicData[0]!.partitionData.length, 3)
  for (let p = 0; p < 3; p++) assert.deepEqual(results.filter((r) => r.partition === p).map((r) => r.offset), Array.from({ length: 100 }, (_, i) => BigInt(i)))
})

test('send() waits for buffer space (backpressure) and fails after maxBlockMs', async (t) => {
  const held: Array<() => void> = []
  let hold = false
  const release = (): void => { while (held.length > 0) held.shift()!() }
  const { producer } = await setup(t, {
    apiVersions: NO_IDEMPOTENCE,
    handle: (req) => req.apiKey === ApiKey.Produce && hold ? new Promise((resolve) => { held.push(() => resolve(undefined)) }) : undefined
  }, { bufferMemory: 2048, batchSize: 1024, lingerMs: 0, maxBlockMs: 300 })
  t.after(release)
  await producer.send({ topic: 't', value: 'warm-up' })
  hold = true
  const value = Buffer.alloc(400)
  const first = [0, 1, 2, 3].map(async () => await producer.send({ topic: 't', value }))
  assert.ok(producer.bufferedBytes > 1600, String(producer.bufferedBytes))
  const started = Date.now()
  await assert.rejects(producer.send({ topic: 't', value }), (e: unknown) => e instanceof KafkaBufferExhaustedError && e.code === 'SAMSA_CLIENT_BUFFER_EXHAUSTED')
  assert.ok(Date.now() - started >= 250)

  // A send that waits goes through once the broker answers and memory is released.
  const later = producer.send({ topic: 't', value })
  await new Promise((r) => setTimeout(r, 50))
  assert.equal(producer.bufferedBytes, 4 * 436)
  hold = false
  release()
  assert.equal((await later).offset, 5n)
  await Promise.all(first)
  assert.equal(producer.bufferedBytes, 0)
})

test('close() with a timeout fails records the broker never acknowledges', async (t) => {
  const { producer } = await setup(t, { apiVersions: NO_IDEMPOTENCE, handle: (req) => req.apiKey === ApiKey.Produce ? NO_RESPONSE : undefined }, { lingerMs: 0 })
  const pending = producer.send({ topic: 't', value: 'x' })
  const check = assert.rejects(pending, (e: unknown) => (e as Error).name === 'KafkaClosedError')
  await new Promise((r) => setTimeout(r, 50))
  const started = Date.now()
  await producer.close({ timeoutMs: 100 })
  assert.ok(Date.now() - started < 1000)
  await check
  await assert.rejects(producer.send({ topic: 't', value: 'y' }), /The producer is closed/)
})

test('retriable errors are retried after a metadata refresh; others reject with Kafka\'s error', async (t) => {
  let failures = 2
  const { broker, producer } = await setup(t, {
    apiVersions: NO_IDEMPOTENCE,
    handle: (req) => {
      if (req.apiKey !== ApiKey.Produce) return undefined
      const topic = bodyOf(req, ProduceApi).topicData[0]!
      const partition = topic.partitionData[0]!
      const value = decodeRecordBatch(partition.records!).records[0]!.value!.toString()
      const errorCode = value === 'fatal' ? ErrorCode.RECORD_LIST_TOO_LARGE : value === 'retry' && failures-- > 0 ? ErrorCode.NOT_LEADER_OR_FOLLOWER : -999
      if (errorCode === -999) return undefined
      return {
        responses: [{ name: topic.name, partitionResponses: [{ index: partition.index, errorCode, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, recordErrors: [], errorMessage: null, currentLeader: { leaderId: -1, leaderEpoch: -1 } }] }],
        throttleTimeMs: 0,
        nodeEndpoints: []
      }
    }
  }, { lingerMs: 0 })
  await producer.connect()
  const metadataBefore = requestsOf(broker, MetadataApi).length
  const ok = await producer.send({ topic: 't', value: 'retry' })
  assert.equal(ok.offset, 0n)
  assert.equal(requestsOf(broker, ProduceApi).length, 3)
  assert.ok(requestsOf(broker, MetadataApi).length > metadataBefore, 'metadata was refreshed')
  await assert.rejects(producer.send({ topic: 't', value: 'fatal' }), (e: unknown) =>
    e instanceof KafkaResponseError && e.errorName === 'RECORD_LIST_TOO_LARGE' && e.topic === 't' && e.partition === 0 && !e.retriable)
})

test('idempotence: producer id, epoch and per-partition sequences; duplicates of a retry carry the same sequence', async (t) => {
  let drop = true
  const { broker, producer } = await setup(t, {
    topics: { t: 2 },
    handle: (req) => {
      if (req.apiKey === ApiKey.Produce && drop) {
        // The first request is written but its answer is lost: the connection breaks.
        drop = false
        req.socket.destroy()
        return NO_RESPONSE
      }
      return undefined
    }
  }, { lingerMs: 0 })
  const a = await producer.send([{ topic: 't', partition: 0, value: 'a' }, { topic: 't', partition: 0, value: 'b' }, { topic: 't', partition: 1, value: 'c' }])
  const b = await producer.send([{ topic: 't', partition: 0, value: 'd' }])
  assert.equal(producer.idempotent, true)
  assert.deepEqual(producer.producerId, { producerId: 1000n, producerEpoch: 0 })
  assert.deepEqual(a.map((m) => m.offset), [0n, 1n, 0n])
  assert.equal(b[0]!.offset, 2n)
  // Per partition, in send order: how resends are grouped into requests is not part of the contract.
  const sent = new Map<number, Array<readonly [bigint, number, number]>>()
  for (const r of requestsOf(broker, ProduceApi)) {
    for (const p of r.body.topicData[0]!.partitionData) {
      const list = sent.get(p.index) ?? []
      list.push([readProducerId(p.records!), readProducerEpoch(p.records!), readBaseSequence(p.records!)])
      sent.set(p.index, list)
    }
  }
  assert.deepEqual(sent.get(0), [[1000n, 0, 0], [1000n, 0, 0], [1000n, 0, 2]])
  assert.deepEqual(sent.get(1), [[1000n, 0, 0], [1000n, 0, 0]])
  assert.equal(requestsOf(broker, InitProducerIdApi)[0]!.body.transactionalId, null)
})

test('OUT_OF_ORDER_SEQUENCE_NUMBER on the next expected batch bumps the epoch (KIP-360) and resends from sequence 0', async (t) => {
  let failed = false
  const { broker, producer } = await setup(t, {
    handle: (req) => {
      if (req.apiKey !== ApiKey.Produce || failed) return undefined
      failed = true
      const topic = bodyOf(req, ProduceApi).topicData[0]!
      return {
        responses: [{ name: topic.name, partitionResponses: [{ index: 0, errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, recordErrors: [], errorMessage: null, currentLeader: { leaderId: -1, leaderEpoch: -1 } }] }],
        throttleTimeMs: 0,
        nodeEndpoints: []
      }
    }
  }, { lingerMs: 0 })
  await producer.send({ topic: 't', value: 'x' })
  assert.equal(requestsOf(broker, InitProducerIdApi).length, 1, 'an idempotent producer bumps its epoch locally, as Kafka\'s does')
  assert.deepEqual(producer.producerId, { producerId: 1000n, producerEpoch: 1 })
  const last = requestsOf(broker, ProduceApi).at(-1)!.body.topicData[0]!.partitionData[0]!.records!
  assert.deepEqual([readProducerEpoch(last), readBaseSequence(last)], [1, 0])
})

test('idempotence is off by default when the broker lacks InitProducerId; required when asked for', async (t) => {
  const { broker, producer } = await setup(t, { apiVersions: NO_IDEMPOTENCE }, { lingerMs: 0 })
  await producer.send({ topic: 't', value: 'x' })
  assert.equal(producer.idempotent, false)
  assert.equal(readProducerId(batchesOf(broker, 't:0')[0]!), -1n)

  const strict = new Producer({ bootstrapServers: broker.bootstrap, idempotent: true, deliveryTimeoutMs: 30_005, lingerMs: 0 })
  t.after(() => strict.close())
  await assert.rejects(strict.send({ topic: 't', value: 'y' }), KafkaUnsupportedVersionError)
})

test('acks=0 resolves once written, with offset -1', async (t) => {
  const { broker, producer } = await setup(t, { apiVersions: NO_IDEMPOTENCE }, { acks: 0, lingerMs: 0 })
  const r = await producer.send({ topic: 't', value: 'x' })
  assert.equal(r.offset, -1n)
  while (requestsOf(broker, ProduceApi).length === 0) await new Promise((resolve) => setTimeout(resolve, 5))
  assert.equal(requestsOf(broker, ProduceApi)[0]!.body.acks, 0)
})

test('options are validated at construction with clear errors', () => {
  const base = { bootstrapServers: '127.0.0.1:9092' }
  const cases: Array<[object, RegExp]> = [
    [{ ...base, acks: 2 }, /Option 'acks' must be 0, 1, -1 or 'all', got '2'/],
    [{ ...base, idempotent: true, acks: 1 }, /'acks' must be -1/],
    [{ ...base, transactionalId: 'x', idempotent: false }, /needs idempotence/],
    [{ ...base, batchSize: 0 }, /'batchSize' must be an integer of at least 1, got '0'/],
    [{ ...base, lingerMs: -1 }, /'lingerMs'/],
    [{ ...base, compression: 'brotli' }, /'compression' must be one of none, gzip, snappy, lz4, zstd, got 'brotli'/],
    [{ ...base, idempotent: true, maxInFlightRequestsPerConnection: 6 }, /at most 5/],
    [{ bootstrapServers: 'nohostport' }, /Invalid broker address 'nohostport'/],
    [{ bootstrapServers: [] }, /at least one/],
    [{ ...base, maxRetries: -1 }, /'maxRetries'/],
    [{ ...base, partitioner: 'murmur2' }, /'partitioner' must be a function/]
  ]
  for (const [options, message] of cases) {
    assert.throws(() => new Producer(options as ProducerOptions), (e: unknown) => e instanceof KafkaInvalidArgumentError && message.test(e.message), String(message))
  }
  assert.throws(() => new Producer(null as unknown as ProducerOptions), /Options must be an object/)
})

test('invalid records fail alone: a list keeps its other records in a partial failure', async (t) => {
  const { producer } = await setup(t, { apiVersions: NO_IDEMPOTENCE, topics: { t: 2 } }, { lingerMs: 0, maxRequestSize: 2048 })
  await assert.rejects(producer.send({ topic: 't', partition: 5, value: 'x' }), /Invalid partition given with record: 5 is not in the range \[0\.\.\.2\)/)
  await assert.rejects(producer.send({ topic: 't', value: 42 as unknown as string }), KafkaInvalidArgumentError)
  await assert.rejects(producer.send({ topic: 't', value: Buffer.alloc(4096) }), (e: unknown) => (e as Error).name === 'KafkaRecordTooLargeError')
  await assert.rejects(producer.send([{ topic: 't', partition: 0, value: 'ok' }, { topic: '', value: 'x' }, { topic: 't', partition: 1, value: 'ok2' }]), (e: unknown) => {
    assert.ok(e instanceof KafkaPartialFailureError)
    assert.equal(e.failures.length, 1)
    assert.equal(e.failures[0]!.path, 'records/1/topics/')
    const result = e.result as Array<{ partition: number } | undefined>
    assert.deepEqual([result[0]?.partition, result[1], result[2]?.partition], [0, undefined, 1])
    return true
  })
  assert.deepEqual(await producer.send([]), [])
})

test('keys pick murmur2 partitions, null keys stick to one partition per batch, a custom partitioner wins', async (t) => {
  const { broker, producer } = await setup(t, { apiVersions: NO_IDEMPOTENCE, topics: { t: 8 } }, { lingerMs: 20 })
  const keys = Array.from({ length: 50 }, (_, i) => `key-${i}`)
  const keyed = await producer.send(keys.map((key) => ({ topic: 't', key, value: 'v' })))
  for (let i = 0; i < keys.length; i++) assert.equal(keyed[i]!.partition, partitionForKey(keys[i]!, 8))
  const unkeyed = await producer.send(Array.from({ length: 40 }, () => ({ topic: 't', value: 'v' })))
  assert.equal(new Set(unkeyed.map((r) => r.partition)).size, 1, 'one sticky partition for one batch')

  const custom = new Producer({ bootstrapServers: broker.bootstrap, lingerMs: 0, partitioner: (record, topic) => topic.partitionCount - 1 - (record.value as string).length % 2 })
  t.after(() => custom.close())
  const out = await custom.send([{ topic: 't', value: 'aa' }, { topic: 't', value: 'a' }])
  assert.deepEqual(out.map((r) => r.partition), [7, 6])
  const bad = new Producer({ bootstrapServers: broker.bootstrap, partitioner: () => 99 })
  t.after(() => bad.close())
  await assert.rejects(bad.send({ topic: 't', value: 'x' }), /The partitioner returned 99/)
})

test('send() waits for an unknown topic\'s metadata, then fails after maxBlockMs', async (t) => {
  const { broker, producer } = await setup(t, { apiVersions: NO_IDEMPOTENCE, topics: {} }, { lingerMs: 0, maxBlockMs: 400 })
  const later = producer.send({ topic: 'late', value: 'x' })
  setTimeout(() => { broker.topics.late = 1 }, 100)
  assert.equal((await later).offset, 0n)
  const started = Date.now()
  await assert.rejects(producer.send({ topic: 'never', value: 'x' }), (e: unknown) =>
    e instanceof KafkaTimeoutError && e.message === "Topic 'never' not present in metadata after 400 ms")
  assert.ok(Date.now() - started >= 350)
})

test('a producer whose bootstrap server refuses connections fails with a clear network error', async (t) => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  const producer = new Producer({ bootstrapServers: `127.0.0.1:${port}`, maxBlockMs: 1000, retryBackoffMs: 10, retryBackoffMaxMs: 50, reconnectBackoffMaxMs: 50 })
  t.after(() => producer.close())
  const started = Date.now()
  await assert.rejects(producer.send({ topic: 't', value: 'x' }), (e: unknown) =>
    e instanceof KafkaNetworkError && e.message.startsWith(`Connection to 127.0.0.1:${port} failed: connect ECONNREFUSED`))
  await assert.rejects(producer.connect(), KafkaNetworkError)
  assert.ok(Date.now() - started < 3000, `${Date.now() - started} ms`)
})

test('transactions: FindCoordinator(1), InitProducerId, AddPartitionsToTxn v3, transactional batches, offsets, EndTxn', async (t) => {
  const { broker, producer } = await setup(t, { apiVersions: TXN_APIS, topics: { t: 2 } }, { transactionalId: 'tx-1', lingerMs: 0 })
  await assert.rejects(producer.send({ topic: 't', value: 'x' }), (e: unknown) => e instanceof KafkaIllegalStateError && /beginTransaction/.test(e.message))
  await producer.beginTransaction()
  assert.equal(producer.transactionState, 'IN_TRANSACTION')
  await producer.send([{ topic: 't', partition: 0, value: 'a' }, { topic: 't', partition: 1, value: 'b' }])
  await producer.sendOffsets([{ topic: 'in', partition: 0, offset: 42n }], 'group-1')
  await producer.commitTransaction()
  assert.equal(producer.transactionState, 'READY')

  const finds = requestsOf(broker, FindCoordinatorApi).map((r) => [r.body.keyType, r.body.coordinatorKeys])
  assert.deepEqual(finds, [[1, ['tx-1']], [0, ['group-1']]])
  const init = requestsOf(broker, InitProducerIdApi)[0]!
  assert.equal(init.body.transactionalId, 'tx-1')
  assert.equal(init.body.transactionTimeoutMs, 60000)
  const add = requestsOf(broker, AddPartitionsToTxnApi)
  assert.equal(add.length, 1)
  assert.equal(add[0]!.apiVersion, 3, 'the client form, never the v4+ broker form')
  assert.deepEqual(add[0]!.body.v3AndBelowTopics, [{ name: 't', partitions: [0, 1] }])
  const produce = requestsOf(broker, ProduceApi)[0]!
  assert.equal(produce.body.transactionalId, 'tx-1')
  for (const p of produce.body.topicData[0]!.partitionData) assert.ok((readAttributes(p.records!) & TRANSACTIONAL_FLAG_MASK) !== 0)
  assert.deepEqual(requestsOf(broker, AddOffsetsToTxnApi).map((r) => r.body.groupId), ['group-1'])
  const commit = requestsOf(broker, TxnOffsetCommitApi)[0]!
  assert.deepEqual(commit.body.topics, [{ name: 'in', partitions: [{ partitionIndex: 0, committedOffset: 42n, committedLeaderEpoch: -1, committedMetadata: '' }] }])
  assert.deepEqual(requestsOf(broker, EndTxnApi).map((r) => [r.apiVersion, r.body.committed]), [[4, true]])

  // An aborted transaction drops unsent records and ends with EndTxn(committed=false).
  await producer.beginTransaction()
  await producer.send({ topic: 't', partition: 0, value: 'c' })
  await producer.abortTransaction()
  assert.deepEqual(requestsOf(broker, EndTxnApi).map((r) => r.body.committed), [true, false])
  // An empty transaction needs no EndTxn.
  await producer.beginTransaction()
  await producer.commitTransaction()
  assert.equal(requestsOf(broker, EndTxnApi).length, 2)
})

test('a failed transactional batch makes the transaction abortable only', async (t) => {
  const { producer } = await setup(t, {
    apiVersions: TXN_APIS,
    handle: (req) => req.apiKey === ApiKey.AddPartitionsToTxn
      ? { throttleTimeMs: 0, errorCode: 0, resultsByTransaction: [], resultsByTopicV3AndBelow: [{ name: 't', resultsByPartition: [{ partitionIndex: 0, partitionErrorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED }] }] }
      : undefined
  }, { transactionalId: 'tx-2', lingerMs: 0 })
  await producer.beginTransaction()
  await assert.rejects(producer.send({ topic: 't', value: 'x' }), (e: unknown) => e instanceof KafkaResponseError && e.errorName === 'TOPIC_AUTHORIZATION_FAILED')
  assert.equal(producer.transactionState, 'ABORTABLE_ERROR')
  await assert.rejects(producer.commitTransaction(), /must be aborted/)
  await producer.abortTransaction()
  assert.equal(producer.transactionState, 'READY')
})

test('with idempotence, a batch that fails for good bumps the epoch so later batches do not wait behind the gap', async (t) => {
  const { broker, producer } = await setup(t, {
    handle: (req) => {
      if (req.apiKey !== ApiKey.Produce) return undefined
      const topic = bodyOf(req, ProduceApi).topicData[0]!
      const partition = topic.partitionData[0]!
      if (decodeRecordBatch(partition.records!).records[0]!.value!.toString() !== 'big') return undefined
      return {
        responses: [{ name: topic.name, partitionResponses: [{ index: 0, errorCode: ErrorCode.MESSAGE_TOO_LARGE, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, recordErrors: [], errorMessage: null, currentLeader: { leaderId: -1, leaderEpoch: -1 } }] }],
        throttleTimeMs: 0,
        nodeEndpoints: []
      }
    }
  }, { lingerMs: 0 })
  await producer.send({ topic: 't', value: 'first' })
  await assert.rejects(producer.send({ topic: 't', value: 'big' }), (e: unknown) => e instanceof KafkaResponseError && e.errorName === 'MESSAGE_TOO_LARGE')
  await producer.send({ topic: 't', value: 'after' })
  const last = requestsOf(broker, ProduceApi).at(-1)!.body.topicData[0]!.partitionData[0]!.records!
  assert.deepEqual([readProducerEpoch(last), readBaseSequence(last)], [1, 0])
})

test('a batch that keeps failing with a retriable error fails once deliveryTimeoutMs has passed', async (t) => {
  const { broker, producer } = await setup(t, {
    apiVersions: NO_IDEMPOTENCE,
    handle: (req) => {
      if (req.apiKey !== ApiKey.Produce) return undefined
      const topic = bodyOf(req, ProduceApi).topicData[0]!
      return {
        responses: [{ name: topic.name, partitionResponses: [{ index: 0, errorCode: ErrorCode.NOT_ENOUGH_REPLICAS, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, recordErrors: [], errorMessage: null, currentLeader: { leaderId: -1, leaderEpoch: -1 } }] }],
        throttleTimeMs: 0,
        nodeEndpoints: []
      }
    }
  }, { lingerMs: 0, requestTimeoutMs: 200, deliveryTimeoutMs: 400, retryBackoffMs: 20, retryBackoffMaxMs: 40 })
  const started = Date.now()
  // It fails with the last error, or (expiring while it waits for its next attempt) with a
  // timeout whose cause is that error.
  await assert.rejects(producer.send({ topic: 't', value: 'x' }), (e: unknown) => {
    const last = e instanceof KafkaTimeoutError ? e.cause : e
    return last instanceof KafkaResponseError && last.errorName === 'NOT_ENOUGH_REPLICAS'
  })
  const elapsed = Date.now() - started
  assert.ok(elapsed >= 350 && elapsed < 2000, `${elapsed} ms`)
  assert.ok(requestsOf(broker, ProduceApi).length > 3, 'retried meanwhile')
})
