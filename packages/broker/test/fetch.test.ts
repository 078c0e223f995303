// Fetch: long polling woken by appends, min.bytes, response and partition byte limits
// (KIP-74), offsets out of range, topic ids (v13+), incremental fetch sessions (KIP-227),
// leader-epoch fencing and divergence (KIP-320), and read_committed.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  AddPartitionsToTxnApi, DeleteRecordsApi, EndTxnApi, ErrorCode, FetchApi, InitProducerIdApi, ProduceApi, buildRecordBatch, decodeRecordBatch,
  iterateBatches
} from '@samsa/protocol'
import type { FetchResponse } from '@samsa/protocol/messages/fetch'
import {
  ZERO_UUID, batchOf, batchRanges, connect, createTopic, decodeRecords, fetchOne, fetchRequest, onlyPartition, produceOk,
  setup, sleep, topicId
} from './helpers.ts'

/** Tracks whether a promise has settled, without awaiting it. */
function track<T> (promise: Promise<T>): { promise: Promise<T>, settled: () => boolean } {
  let done = false
  void promise.then(() => { done = true }, () => { done = true })
  return { promise, settled: () => done }
}

test('a long-polling fetch is woken by an append, not by its timer', async (t) => {
  const { broker, client } = await setup(t)
  await createTopic(client, 'poll', { partitions: 2 })
  const producer = await connect(t, broker)
  const latencies: number[] = []
  for (let round = 0; round < 3; round++) {
    const started = performance.now()
    const request = fetchRequest([{ topic: 'poll', partition: 0 }, { topic: 'poll', partition: 1, offset: round * 2 }], { maxWaitMs: 5000, minBytes: 1 })
    const pending = track(client.request(FetchApi, 11, request))
    await sleep(200)
    assert.equal(pending.settled(), false, 'nothing to return yet: the fetch waits')
    const produced = performance.now()
    await produceOk(producer, 'poll', batchOf(2, { from: round * 2 }), { partition: 1 })
    const response = await pending.promise
    const woken = performance.now()
    latencies.push(woken - produced)
    assert.ok(woken - started < 2000)
    const partitions = response.responses[0]!.partitions
    assert.deepEqual(partitions.map((p) => [p.partitionIndex, p.highWatermark]), [[0, 0n], [1, BigInt(round * 2 + 2)]])
    assert.deepEqual(decodeRecords(partitions[1]!.records).map((r) => r.key), [`k${round * 2}`, `k${round * 2 + 1}`])
  }
  // Woken by the append: within a few milliseconds of it (max.wait.ms is 5000). Generous bounds
  // for a loaded machine, but a timer polling every 100 ms or more would miss the median.
  const sorted = [...latencies].sort((a, b) => a - b)
  assert.ok(sorted[1]! < 100, `median wake-up ${Math.round(sorted[1]!)} ms after the produce (${latencies.map(Math.round).join(', ')})`)
  assert.ok(sorted[2]! < 1000, `slowest wake-up ${Math.round(sorted[2]!)} ms`)
})

test('with no data, a fetch returns after max.wait.ms', async (t) => {
  const { client } = await setup(t, { inMemory: true })
  await createTopic(client, 'idle')
  for (const maxWaitMs of [0, 400]) {
    const started = performance.now()
    const p = await fetchOne(client, { topic: 'idle' }, { maxWaitMs, minBytes: 1 })
    const elapsed = performance.now() - started
    assert.equal(p.errorCode, ErrorCode.NONE)
    assert.equal(p.records?.length ?? 0, 0)
    assert.ok(elapsed >= maxWaitMs - 5, `returned after ${Math.round(elapsed)} ms, max.wait.ms ${maxWaitMs}`)
    assert.ok(elapsed < maxWaitMs + 1500, `returned after ${Math.round(elapsed)} ms, max.wait.ms ${maxWaitMs}`)
  }
  // Data already there: min.bytes is met at once.
  await produceOk(client, 'idle', batchOf(1))
  const started = performance.now()
  const p = await fetchOne(client, { topic: 'idle' }, { maxWaitMs: 5000, minBytes: 1 })
  assert.ok(performance.now() - started < 1000)
  assert.equal(decodeRecords(p.records).length, 1)
})

test('min.bytes accumulates across appends before the fetch returns', async (t) => {
  const { broker, client } = await setup(t, { inMemory: true })
  await createTopic(client, 'minbytes')
  const producer = await connect(t, broker)
  const size = batchOf(1).length
  const pending = track(client.request(FetchApi, 11, fetchRequest([{ topic: 'minbytes' }], { maxWaitMs: 5000, minBytes: 3 * size - 1 })))
  await sleep(100)
  await produceOk(producer, 'minbytes', batchOf(1))
  await sleep(300)
  assert.equal(pending.settled(), false, 'one batch is below min.bytes')
  await produceOk(producer, 'minbytes', batchOf(1, { from: 1 }))
  await sleep(200)
  assert.equal(pending.settled(), false, 'two batches are below min.bytes')
  const produced = performance.now()
  await produceOk(producer, 'minbytes', batchOf(1, { from: 2 }))
  const response = await pending.promise
  assert.ok(performance.now() - produced < 750, 'woken by the third append')
  assert.deepEqual(decodeRecords(onlyPartition(response).records).map((r) => r.offset), [0, 1, 2])
})

test('partition and response byte limits return whole batches, the first one even when larger (KIP-74)', async (t) => {
  const { client } = await setup(t, { inMemory: true })
  await createTopic(client, 'limits', { partitions: 2 })
  for (let i = 0; i < 5; i++) {
    await produceOk(client, 'limits', batchOf(1, { from: i, valueSize: 1000 }), { partition: 0 })
    await produceOk(client, 'limits', batchOf(1, { from: i, valueSize: 1000 }), { partition: 1 })
  }
  const size = batchOf(1, { valueSize: 1000 }).length

  // partitionMaxBytes below one batch: the first batch comes whole.
  const tiny = await fetchOne(client, { topic: 'limits', maxBytes: 10 })
  assert.deepEqual(batchRanges(tiny.records), [[0, 0]])
  assert.equal(tiny.records!.length, size)
  // Room for two and a half batches: two whole batches, no partial one.
  const two = await fetchOne(client, { topic: 'limits', offset: 1, maxBytes: Math.floor(size * 2.5) })
  assert.deepEqual(batchRanges(two.records), [[1, 1], [2, 2]])
  assert.equal(two.records!.length, 2 * size)

  // A response limit below one batch: the first partition's first batch, nothing else.
  const both = [{ topic: 'limits', partition: 0 }, { topic: 'limits', partition: 1 }]
  const small = await client.request(FetchApi, 11, fetchRequest(both, { maxBytes: 100 }))
  const parts = small.responses[0]!.partitions
  assert.deepEqual(parts.map((p) => batchRanges(p.records)), [[[0, 0]], []])
  assert.deepEqual(parts.map((p) => p.highWatermark), [5n, 5n], 'partitions left out still report their offsets')
  // Room for three batches: three from partition 0, none from partition 1.
  const three = await client.request(FetchApi, 11, fetchRequest(both, { maxBytes: 3 * size }))
  assert.deepEqual(three.responses[0]!.partitions.map((p) => batchRanges(p.records).length), [3, 0])
  // Room for seven: five and two.
  const seven = await client.request(FetchApi, 11, fetchRequest(both, { maxBytes: 7 * size }))
  assert.deepEqual(seven.responses[0]!.partitions.map((p) => batchRanges(p.records).length), [5, 2])
  // Fetch v4 (the oldest served) reads the same.
  const v4 = await fetchOne(client, { topic: 'limits' }, { version: 4 })
  assert.equal(batchRanges(v4.records).length, 5)
})

test('offsets beyond the log end or below the log start are OFFSET_OUT_OF_RANGE with the partition offsets', async (t) => {
  const { client } = await setup(t, { inMemory: true })
  await createTopic(client, 'range')
  for (let i = 0; i < 4; i++) await produceOk(client, 'range', batchOf(1, { from: i }))
  const beyond = await fetchOne(client, { topic: 'range', offset: 5 })
  assert.equal(beyond.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE)
  assert.equal(beyond.highWatermark, 4n)
  assert.equal(beyond.logStartOffset, 0n)
  assert.equal(beyond.records?.length ?? 0, 0)
  // The log end itself is fine: nothing yet.
  const atEnd = await fetchOne(client, { topic: 'range', offset: 4 })
  assert.equal(atEnd.errorCode, ErrorCode.NONE)
  assert.equal(atEnd.records?.length ?? 0, 0)

  const deleted = await client.request(DeleteRecordsApi, 2, { topics: [{ name: 'range', partitions: [{ partitionIndex: 0, offset: 2n }] }], timeoutMs: 5000 })
  assert.equal(deleted.topics[0]!.partitions[0]!.lowWatermark, 2n)
  const below = await fetchOne(client, { topic: 'range', offset: 1 })
  assert.equal(below.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE)
  assert.equal(below.logStartOffset, 2n)
  assert.equal(below.highWatermark, 4n)
  const from = await fetchOne(client, { topic: 'range', offset: 2 })
  assert.deepEqual(decodeRecords(from.records).map((r) => r.offset), [2, 3])
  assert.equal(from.logStartOffset, 2n)
  // An out-of-range partition does not hold up the others.
  const mixed = await client.request(FetchApi, 11, fetchRequest([{ topic: 'range', offset: 9 }, { topic: 'range', partition: 3 }], { maxWaitMs: 2000, minBytes: 1 }))
  assert.deepEqual(mixed.responses[0]!.partitions.map((p) => p.errorCode), [ErrorCode.OFFSET_OUT_OF_RANGE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION])
})

test('Fetch v13+ names topics by id; unknown ids are UNKNOWN_TOPIC_ID', async (t) => {
  const { client } = await setup(t, { inMemory: true })
  await createTopic(client, 'by-id')
  await produceOk(client, 'by-id', batchOf(2))
  const id = await topicId(client, 'by-id')
  assert.notEqual(id, ZERO_UUID)
  for (const version of [13, 15, 17]) {
    const response = await client.request(FetchApi, version, fetchRequest([{ topic: '', topicId: id }]))
    assert.equal(response.responses[0]!.topicId, id)
    const p = onlyPartition(response)
    assert.equal(p.errorCode, ErrorCode.NONE)
    assert.deepEqual(decodeRecords(p.records).map((r) => r.key), ['k0', 'k1'])
  }
  const unknownId = '6f5a8a4e-0000-4000-8000-000000000001'
  const unknown = await client.request(FetchApi, 13, fetchRequest([{ topic: '', topicId: unknownId }]))
  assert.equal(unknown.responses[0]!.topicId, unknownId)
  assert.equal(onlyPartition(unknown).errorCode, ErrorCode.UNKNOWN_TOPIC_ID)
  // Before v13, names; an unknown name is UNKNOWN_TOPIC_OR_PARTITION.
  const byName = await fetchOne(client, { topic: 'nope' }, { version: 12 })
  assert.equal(byName.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
})

test('incremental fetch sessions (KIP-227)', async (t) => {
  const { client } = await setup(t, { inMemory: true })
  await createTopic(client, 'sess', { partitions: 3 })
  for (let p = 0; p < 3; p++) await produceOk(client, 'sess', batchOf(1, { from: p }), { partition: p })
  const all = [0, 1, 2].map((partition) => ({ topic: 'sess', partition }))
  const partitionsOf = (r: FetchResponse): number[] => r.responses.flatMap((x) => x.partitions.map((p) => p.partitionIndex))

  // Session id 0, epoch 0: a full fetch that opens a session.
  const full = await client.request(FetchApi, 11, fetchRequest(all, { sessionId: 0, sessionEpoch: 0 }))
  assert.equal(full.errorCode, ErrorCode.NONE)
  assert.notEqual(full.sessionId, 0)
  assert.deepEqual(partitionsOf(full), [0, 1, 2])
  const id = full.sessionId

  // Epoch 1: positions advanced for every partition, nothing new: an empty response.
  const moved = all.map((p) => ({ ...p, offset: 1 }))
  const quiet = await client.request(FetchApi, 11, fetchRequest(moved, { sessionId: id, sessionEpoch: 1 }))
  assert.equal(quiet.errorCode, ErrorCode.NONE)
  assert.equal(quiet.sessionId, id)
  assert.deepEqual(partitionsOf(quiet), [], 'no partition changed')

  // New data on partition 2 only; the request names no partitions at all.
  await produceOk(client, 'sess', batchOf(1, { from: 10 }), { partition: 2 })
  const news = await client.request(FetchApi, 11, fetchRequest([], { sessionId: id, sessionEpoch: 2 }))
  assert.deepEqual(partitionsOf(news), [2])
  assert.deepEqual(decodeRecords(news.responses[0]!.partitions[0]!.records).map((r) => r.key), ['k10'])
  assert.equal(news.responses[0]!.partitions[0]!.highWatermark, 2n)

  // Partition 2's position is still 1 in the session: re-sent until the client moves it.
  const again = await client.request(FetchApi, 11, fetchRequest([{ topic: 'sess', partition: 2, offset: 2 }], { sessionId: id, sessionEpoch: 3 }))
  assert.deepEqual(partitionsOf(again), [], 'position moved to 2, high watermark unchanged')

  // A log start change is news too.
  await client.request(DeleteRecordsApi, 2, { topics: [{ name: 'sess', partitions: [{ partitionIndex: 0, offset: 1n }] }], timeoutMs: 5000 })
  const lso = await client.request(FetchApi, 11, fetchRequest([], { sessionId: id, sessionEpoch: 4 }))
  assert.deepEqual(partitionsOf(lso), [0])
  assert.equal(lso.responses[0]!.partitions[0]!.logStartOffset, 1n)

  // Forgotten partitions leave the session: new data there is not returned.
  const forget = await client.request(FetchApi, 11, fetchRequest([], { sessionId: id, sessionEpoch: 5, forgottenTopicsData: [{ topic: 'sess', topicId: ZERO_UUID, partitions: [1] }] }))
  assert.deepEqual(partitionsOf(forget), [])
  await produceOk(client, 'sess', batchOf(1, { from: 20 }), { partition: 1 })
  await produceOk(client, 'sess', batchOf(1, { from: 21 }), { partition: 0 })
  const afterForget = await client.request(FetchApi, 11, fetchRequest([], { sessionId: id, sessionEpoch: 6 }))
  assert.deepEqual(partitionsOf(afterForget), [0])

  // An incremental request waits like any fetch, and wakes on appends to session partitions.
  const waiting = client.request(FetchApi, 11, fetchRequest([{ topic: 'sess', partition: 0, offset: 2 }], { sessionId: id, sessionEpoch: 7, maxWaitMs: 5000, minBytes: 1 }))
  await sleep(100)
  await produceOk(client, 'sess', batchOf(1, { from: 30 }), { partition: 0 })
  const woken = await waiting
  assert.deepEqual(partitionsOf(woken), [0])

  // The wrong epoch, or an unknown session id.
  const wrong = await client.request(FetchApi, 11, fetchRequest([], { sessionId: id, sessionEpoch: 3 }))
  assert.equal(wrong.errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH)
  assert.deepEqual(wrong.responses, [])
  const unknown = await client.request(FetchApi, 11, fetchRequest([], { sessionId: id + 1, sessionEpoch: 1 }))
  assert.equal(unknown.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND)
  // The failed request did not use up the epoch.
  const ok = await client.request(FetchApi, 11, fetchRequest([], { sessionId: id, sessionEpoch: 8 }))
  assert.equal(ok.errorCode, ErrorCode.NONE)

  // Epoch -1 closes the session (a full, sessionless fetch).
  const closing = await client.request(FetchApi, 11, fetchRequest(all, { sessionId: id, sessionEpoch: -1 }))
  assert.equal(closing.errorCode, ErrorCode.NONE)
  assert.equal(closing.sessionId, 0)
  assert.deepEqual(partitionsOf(closing), [0, 1, 2])
  const closed = await client.request(FetchApi, 11, fetchRequest([], { sessionId: id, sessionEpoch: 9 }))
  assert.equal(closed.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND)

  // Sessionless fetches (kafkajs, librdkafka: id 0, epoch -1) open nothing.
  const sessionless = await client.request(FetchApi, 11, fetchRequest(all, { sessionId: 0, sessionEpoch: -1 }))
  assert.equal(sessionless.sessionId, 0)
})

test('the fetch session cache holds max.incremental.fetch.session.cache.slots sessions, evicting the least recently used', async (t) => {
  const { client } = await setup(t, { inMemory: true, config: { 'max.incremental.fetch.session.cache.slots': 2 } })
  await createTopic(client, 'slots')
  const open = async (): Promise<number> => (await client.request(FetchApi, 11, fetchRequest([{ topic: 'slots' }], { sessionId: 0, sessionEpoch: 0 }))).sessionId
  const incremental = async (sessionId: number, sessionEpoch: number): Promise<number> =>
    (await client.request(FetchApi, 11, fetchRequest([], { sessionId, sessionEpoch }))).errorCode
  const a = await open()
  const b = await open()
  assert.equal(await incremental(a, 1), ErrorCode.NONE, 'a is now the most recently used')
  const c = await open()
  assert.ok(a !== 0 && b !== 0 && c !== 0 && new Set([a, b, c]).size === 3)
  assert.equal(await incremental(b, 1), ErrorCode.FETCH_SESSION_ID_NOT_FOUND, 'b was evicted')
  assert.equal(await incremental(a, 2), ErrorCode.NONE)
  assert.equal(await incremental(c, 1), ErrorCode.NONE)

  const { client: none } = await setup(t, { inMemory: true, config: { 'max.incremental.fetch.session.cache.slots': 0 } })
  await createTopic(none, 'slots')
  const full = await none.request(FetchApi, 11, fetchRequest([{ topic: 'slots' }], { sessionId: 0, sessionEpoch: 0 }))
  assert.equal(full.errorCode, ErrorCode.NONE)
  assert.equal(full.sessionId, 0, 'no room: a sessionless answer')
})

test('fetch sessions by topic id (v13+)', async (t) => {
  const { client } = await setup(t, { inMemory: true })
  await createTopic(client, 'sess-id', { partitions: 2 })
  const id = await topicId(client, 'sess-id')
  const full = await client.request(FetchApi, 13, fetchRequest([{ topic: '', topicId: id, partition: 0 }, { topic: '', topicId: id, partition: 1 }], { sessionId: 0, sessionEpoch: 0 }))
  assert.notEqual(full.sessionId, 0)
  assert.equal(full.responses[0]!.partitions.length, 2)
  await produceOk(client, 'sess-id', batchOf(1), { partition: 1 })
  const inc = await client.request(FetchApi, 13, fetchRequest([], { sessionId: full.sessionId, sessionEpoch: 1 }))
  assert.equal(inc.errorCode, ErrorCode.NONE)
  assert.equal(inc.responses.length, 1)
  assert.equal(inc.responses[0]!.topicId, id)
  assert.deepEqual(inc.responses[0]!.partitions.map((p) => p.partitionIndex), [1])
  // A session opened with ids cannot be continued by name (v12).
  const mixed = await client.request(FetchApi, 12, fetchRequest([], { sessionId: full.sessionId, sessionEpoch: 2 }))
  assert.equal(mixed.errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH)
})

test('currentLeaderEpoch fencing: older is FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH', async (t) => {
  const { broker, client } = await setup(t, { inMemory: true })
  await createTopic(client, 'epochs')
  await produceOk(client, 'epochs', batchOf(1))
  // A single node never changes leader; move the epoch on as an election would.
  broker.broker.topics.partition('epochs', 0)!.leaderEpoch = 3
  const cases: Array<[number, number]> = [[-1, ErrorCode.NONE], [3, ErrorCode.NONE], [2, ErrorCode.FENCED_LEADER_EPOCH], [0, ErrorCode.FENCED_LEADER_EPOCH], [4, ErrorCode.UNKNOWN_LEADER_EPOCH]]
  for (const [currentLeaderEpoch, expected] of cases) {
    const p = await fetchOne(client, { topic: 'epochs', currentLeaderEpoch })
    assert.equal(p.errorCode, expected, `currentLeaderEpoch ${currentLeaderEpoch}`)
    if (expected !== ErrorCode.NONE) assert.equal(p.records?.length ?? 0, 0)
  }
})

test('Fetch v12+ reports a diverging epoch when the fetcher\'s last epoch ended before its offset', async (t) => {
  const { broker, client } = await setup(t, { inMemory: true })
  await createTopic(client, 'diverge')
  for (let i = 0; i < 5; i++) await produceOk(client, 'diverge', batchOf(1, { from: i }))
  broker.broker.topics.partition('diverge', 0)!.leaderEpoch = 1
  for (let i = 5; i < 10; i++) await produceOk(client, 'diverge', batchOf(1, { from: i }))
  // Epoch 0 ended at offset 5; a fetcher at 8 that last saw epoch 0 has diverged.
  const diverged = await fetchOne(client, { topic: 'diverge', offset: 8, lastFetchedEpoch: 0 }, { version: 12 })
  assert.equal(diverged.errorCode, ErrorCode.NONE)
  assert.deepEqual(diverged.divergingEpoch, { epoch: 0, endOffset: 5n })
  assert.equal(diverged.records?.length ?? 0, 0)
  // At 5 with epoch 0, or at 8 with epoch 1: consistent, records flow.
  const atBoundary = await fetchOne(client, { topic: 'diverge', offset: 5, lastFetchedEpoch: 0 }, { version: 12 })
  assert.equal(atBoundary.divergingEpoch.epoch, -1)
  assert.equal(decodeRecords(atBoundary.records)[0]!.offset, 5)
  const id = await topicId(client, 'diverge')
  const current = await fetchOne(client, { topic: '', topicId: id, offset: 8, lastFetchedEpoch: 1 }, { version: 17 })
  assert.equal(current.divergingEpoch.epoch, -1)
  assert.deepEqual(decodeRecords(current.records).map((r) => r.offset), [8, 9])
  // Records carry the epoch they were written in.
  const all = await fetchOne(client, { topic: 'diverge' })
  const epochs = [...iterateBatches(all.records!)].map((e) => decodeRecordBatch(all.records!, e.position).header.partitionLeaderEpoch)
  assert.deepEqual(epochs, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
  // Before v12 there is no lastFetchedEpoch: no divergence check.
  const v11 = await fetchOne(client, { topic: 'diverge', offset: 8 }, { version: 11 })
  assert.deepEqual(decodeRecords(v11.records).map((r) => r.offset), [8, 9])
})

test('read_committed: abortedTransactions is a list, reads stop at the last stable offset', async (t) => {
  const { broker, client } = await setup(t, { inMemory: true })
  await createTopic(client, 'txn')
  for (let i = 0; i < 4; i++) await produceOk(client, 'txn', batchOf(1, { from: i }))
  const uncommitted = await fetchOne(client, { topic: 'txn' }, { isolationLevel: 0 })
  assert.equal(uncommitted.abortedTransactions, null)
  const committed = await fetchOne(client, { topic: 'txn' }, { isolationLevel: 1 })
  assert.deepEqual(committed.abortedTransactions, [])
  assert.equal(committed.lastStableOffset, 4n)
  assert.equal(decodeRecords(committed.records).length, 4)

  // An open transaction holds the LSO at 2 (set as the transaction layer would).
  const log = broker.broker.topics.partition('txn', 0)!.log
  log.lastStableOffset = 2
  const held = await fetchOne(client, { topic: 'txn' }, { isolationLevel: 1, version: 4 })
  assert.equal(held.lastStableOffset, 2n)
  assert.equal(held.highWatermark, 4n)
  assert.deepEqual(decodeRecords(held.records).map((r) => r.offset), [0, 1])
  assert.deepEqual(held.abortedTransactions, [])
  const fromLso = await fetchOne(client, { topic: 'txn', offset: 2 }, { isolationLevel: 1 })
  assert.equal(fromLso.records?.length ?? 0, 0)
  const readUncommitted = await fetchOne(client, { topic: 'txn', offset: 2 }, { isolationLevel: 0 })
  assert.deepEqual(decodeRecords(readUncommitted.records).map((r) => r.offset), [2, 3])

  // Aborted transactions overlapping the returned range are listed (a real transaction, aborted).
  log.lastStableOffset = undefined
  const txnId = 'fetch-txn'
  const init = await client.request(InitProducerIdApi, 4, { transactionalId: txnId, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 })
  const { producerId, producerEpoch } = init
  await client.request(AddPartitionsToTxnApi, 3, {
    ...AddPartitionsToTxnApi.request.create(), v3AndBelowTransactionalId: txnId, v3AndBelowProducerId: producerId, v3AndBelowProducerEpoch: producerEpoch, v3AndBelowTopics: [{ name: 'txn', partitions: [0] }]
  })
  const produced = await client.request(ProduceApi, 9, {
    transactionalId: txnId,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: 'txn', partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ key: 'tx', value: 'aborted' }], producerId, producerEpoch, baseSequence: 0, isTransactional: true }) }] }]
  })
  assert.equal(produced.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE)
  assert.equal((await fetchOne(client, { topic: 'txn', offset: 4 }, { isolationLevel: 1 })).lastStableOffset, 4n, 'the open transaction holds the LSO')
  assert.equal((await client.request(EndTxnApi, 3, { transactionalId: txnId, producerId, producerEpoch, committed: false })).errorCode, ErrorCode.NONE)
  const withAborted = await fetchOne(client, { topic: 'txn', offset: 4 }, { isolationLevel: 1 })
  assert.deepEqual(batchRanges(withAborted.records), [[4, 4], [5, 5]], 'the aborted batch and its ABORT marker')
  assert.deepEqual(withAborted.abortedTransactions, [{ producerId, firstOffset: 4n }])
  // Only transactions overlapping what is returned: a fetch ending before offset 4 lists none.
  const before = await fetchOne(client, { topic: 'txn', offset: 3, maxBytes: 1 }, { isolationLevel: 1 })
  assert.deepEqual(decodeRecords(before.records).map((r) => r.offset), [3])
  assert.deepEqual(before.abortedTransactions, [])
})
