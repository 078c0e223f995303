/**
 * The consumer against an in-process Samsa broker, without group rebalances: manual assignment,
 * both iterators, where partitions start (committed offset, autoOffsetReset earliest, latest,
 * none, OFFSET_OUT_OF_RANGE), seek by offset, end and time, pause/resume, auto-commit and
 * explicit commits, pattern subscriptions, incremental fetch sessions with topic ids and the
 * sessionless fall-back, and option validation.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { ErrorCode } from '@samsa/protocol'
import type { FetchRequest } from '@samsa/protocol/messages/fetch'
import { type TestBroker, startBroker } from '@samsa/testkit'
import { Admin } from '../../src/admin/admin.ts'
import { Consumer } from '../../src/consumer/consumer.ts'
import type { ConsumerOptions } from '../../src/consumer/options.ts'
import { KafkaClosedError, KafkaIllegalStateError, KafkaInvalidArgumentError, KafkaResponseError } from '../../src/errors.ts'
import { Producer } from '../../src/producer/producer.ts'
import { readAll, uniqueTopic } from '../helpers.ts'
import { partitionsOf, sleep, take, takeFor, traceRequests, waitFor } from './helpers.ts'

let broker: TestBroker
let admin: Admin
let producer: Producer

before(async () => {
  broker = await startBroker({ inMemory: true, config: { 'offsets.topic.num.partitions': 3 } })
  admin = new Admin({ bootstrapServers: broker.bootstrap })
  producer = new Producer({ bootstrapServers: broker.bootstrap, lingerMs: 1 })
})

after(async () => {
  await producer.close()
  await admin.close()
  await broker.stop()
})

function consumer (options: Partial<ConsumerOptions> = {}): Consumer {
  return new Consumer({ bootstrapServers: broker.bootstrap, fetchMaxWaitMs: 100, ...options })
}

async function topicWith (prefix: string, partitions: number, records: number): Promise<string> {
  const topic = uniqueTopic(prefix)
  await admin.createTopics([{ name: topic, numPartitions: partitions }])
  if (records > 0) await producer.send(Array.from({ length: records }, (_, i) => ({ topic, partition: i % partitions, key: `k${i}`, value: `v${i}` })))
  return topic
}

test('manual assignment reads every record as stored: keys, values, headers, timestamps, offsets', { timeout: 20_000 }, async (t) => {
  const topic = uniqueTopic('assign')
  await admin.createTopics([{ name: topic, numPartitions: 3 }])
  let ts = 1_700_000_000_000
  for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
    const p = new Producer({ bootstrapServers: broker.bootstrap, compression, lingerMs: 1 })
    await p.send(Array.from({ length: 12 }, (_, i) => ({
      topic,
      key: i % 4 === 0 ? null : `key-${compression}-${i}`,
      value: i % 5 === 0 ? null : `value ${compression} ${i} `.repeat(i),
      headers: i % 3 === 0 ? [{ key: 'h', value: `x${i}` }, { key: 'h', value: null }] : undefined,
      timestamp: ts++
    })))
    await p.close()
  }
  const expected = await readAll(broker.bootstrap, topic)
  const c = consumer({ fromBeginning: true })
  t.after(() => c.close())
  c.assign([0, 1, 2].map((partition) => ({ topic, partition })))
  const records = await take(c, expected.length)
  const actual = records.map((r) => ({
    partition: r.partition,
    offset: Number(r.offset),
    timestamp: r.timestamp,
    key: r.key?.toString() ?? null,
    value: r.value?.toString() ?? null,
    headers: r.headers.map((h) => [h.key, h.value?.toString() ?? null])
  })).sort((a, b) => a.partition - b.partition || a.offset - b.offset)
  assert.deepEqual(actual, expected.map((e) => ({ partition: e.partition, offset: e.offset, timestamp: e.timestamp, key: e.key, value: e.value, headers: e.headers })))
  // Offsets are in order within each partition.
  for (const p of [0, 1, 2]) {
    const offsets = records.filter((r) => r.partition === p).map((r) => Number(r.offset))
    assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b))
  }
  assert.deepEqual(c.assignment(), [0, 1, 2].map((partition) => ({ topic, partition })))
})

test('batches() hands out a partition at a time, with its offsets and high watermark', { timeout: 20_000 }, async (t) => {
  const topic = await topicWith('batches', 2, 40)
  const c = consumer({ fromBeginning: true })
  t.after(() => c.close())
  c.assign([{ topic, partition: 0 }, { topic, partition: 1 }])
  let total = 0
  for await (const batch of c.batches()) {
    assert.ok(batch.records.length > 0)
    assert.ok(batch.records.every((r) => r.partition === batch.partition && r.topic === topic))
    assert.equal(batch.nextOffset, batch.records.at(-1)!.offset + 1n)
    assert.equal(batch.highWatermark, 20n)
    total += batch.records.length
    if (total === 40) break
  }
  assert.equal(total, 40)
  assert.equal(c.position({ topic, partition: 0 }), 20n)
  assert.equal(c.lag({ topic, partition: 1 }), 0n)
  // One iterator at a time.
  const it = c.records()
  assert.throws(() => c.batches(), KafkaIllegalStateError)
  await it.return!()
})

test('autoOffsetReset: latest starts at the end, none raises until seeked, out of range resets', { timeout: 20_000 }, async (t) => {
  const topic = await topicWith('reset', 1, 5)
  const tp = { topic, partition: 0 }

  const latest = consumer()
  t.after(() => latest.close())
  latest.assign([tp])
  await waitFor(() => latest.position(tp) !== null, 'the latest position')
  assert.equal(latest.position(tp), 5n)
  await producer.send({ topic, partition: 0, value: 'after' })
  assert.deepEqual((await take(latest, 1)).map((r) => [r.offset, r.value?.toString()]), [[5n, 'after']])

  const none = consumer({ autoOffsetReset: 'none', groupId: uniqueTopic('none') })
  t.after(() => none.close())
  none.assign([tp])
  await assert.rejects(take(none, 1), (e: unknown) => e instanceof KafkaResponseError && e.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE && e.partition === 0)
  await assert.rejects(take(none, 1), KafkaResponseError, 'raised until seeked')
  none.seek(tp, 2)
  assert.deepEqual((await take(none, 1)).map((r) => r.offset), [2n])

  const earliest = consumer({ fromBeginning: true })
  t.after(() => earliest.close())
  earliest.assign([tp])
  earliest.seek(tp, 1000)
  assert.deepEqual((await take(earliest, 1)).map((r) => r.offset), [0n], 'an offset past the end resets to the earliest')

  await admin.deleteRecords([{ topic, partition: 0, offset: 3 }])
  const deleted = consumer({ fromBeginning: true })
  t.after(() => deleted.close())
  deleted.assign([tp])
  deleted.seek(tp, 1)
  assert.deepEqual((await take(deleted, 1)).map((r) => r.offset), [3n], 'an offset below the log start resets to it')
})

test('seek by offset, to either end, and by time', { timeout: 20_000 }, async (t) => {
  const topic = uniqueTopic('seek')
  await admin.createTopics([{ name: topic, numPartitions: 1 }])
  const base = 1_700_000_000_000
  await producer.send(Array.from({ length: 10 }, (_, i) => ({ topic, value: `v${i}`, timestamp: base + i * 1000 })))
  const tp = { topic, partition: 0 }
  const c = consumer({ fromBeginning: true })
  t.after(() => c.close())
  c.assign([tp])
  assert.deepEqual((await take(c, 2)).map((r) => r.offset), [0n, 1n])
  c.seek(tp, 7n)
  assert.deepEqual((await take(c, 1)).map((r) => r.offset), [7n])
  c.seekToBeginning()
  assert.deepEqual((await take(c, 1)).map((r) => r.offset), [0n])
  c.seek(tp, { timestamp: base + 4500 })
  assert.deepEqual((await take(c, 1)).map((r) => [r.offset, r.timestamp]), [[5n, base + 5000]])
  c.seek(tp, { timestamp: base + 60_000 })
  await waitFor(() => c.position(tp) !== null, 'the position after a seek past the last timestamp')
  assert.equal(c.position(tp), 10n, 'no record at or after the time: the end')
  c.seekToEnd([tp])
  // The end is looked up lazily (as Kafka's seekToEnd): produce only once it is known, or the
  // new record would be before it.
  await waitFor(() => c.position(tp) !== null, 'the position after seekToEnd')
  assert.equal(c.position(tp), 10n)
  await producer.send({ topic, value: 'new', timestamp: base + 99_000 })
  assert.deepEqual((await take(c, 1)).map((r) => r.value?.toString()), ['new'])
  assert.throws(() => c.seek({ topic, partition: 5 }, 0), KafkaIllegalStateError)
  assert.throws(() => c.seek(tp, -1), KafkaInvalidArgumentError)
})

test('pause and resume per partition', { timeout: 20_000 }, async (t) => {
  const topic = await topicWith('pause', 2, 20)
  const c = consumer({ fromBeginning: true })
  t.after(() => c.close())
  const p0 = { topic, partition: 0 }
  const p1 = { topic, partition: 1 }
  c.assign([p0, p1])
  // Let both partitions be fetched ahead, then pause one: its buffered records are dropped.
  await waitFor(() => c.bufferedRecords === 20, 'both partitions to be prefetched')
  c.pause([p0])
  assert.deepEqual(c.paused(), [p0])
  const first = await take(c, 10)
  assert.deepEqual(partitionsOf(first).filter((p, i, a) => a.indexOf(p) === i), [1])
  assert.deepEqual(await takeFor(c, 300), [])
  c.resume([p0])
  const rest = await take(c, 10)
  assert.deepEqual(rest.map((r) => [r.partition, Number(r.offset)]), Array.from({ length: 10 }, (_, i) => [0, i]))
  assert.deepEqual(c.paused(), [])
})

test('auto-commit commits processed records only, periodically and on close; commit() commits explicitly', { timeout: 20_000 }, async (t) => {
  const topic = await topicWith('autocommit', 1, 20)
  const groupId = uniqueTopic('autocommit-group')
  const tp = { topic, partition: 0 }
  const c = consumer({ groupId, fromBeginning: true, autoCommitIntervalMs: 100 })
  t.after(() => c.close())
  c.assign([tp])
  let n = 0
  for await (const record of c) {
    n++
    if (n === 5) {
      // Processing record 4 takes a while: auto-commit must not commit it yet.
      await sleep(400)
      assert.ok((await c.committed([tp]))[0]!.offset <= record.offset, 'an unprocessed record was committed')
    }
    if (n === 10) break
  }
  // Reading (and waiting) again: the first 10 are processed, the timer commits them.
  assert.deepEqual(await takeFor(c, 400).then((rs) => rs.length), 10)
  await waitFor(async () => (await c.committed([tp]))[0]!.offset === 20n, 'the auto-commit of 20 records')
  await c.commit([{ ...tp, offset: 7n, metadata: 'seven' }])
  assert.deepEqual((await c.committed([tp]))[0], { ...tp, offset: 7n, leaderEpoch: -1, metadata: 'seven' })
  await c.close()

  // A new consumer starts from the committed offset; close() commits what it processed.
  const again = consumer({ groupId, fromBeginning: true })
  t.after(() => again.close())
  again.assign([tp])
  assert.deepEqual((await take(again, 3)).map((r) => r.offset), [7n, 8n, 9n])
  await again.close()
  const check = consumer({ groupId })
  t.after(() => check.close())
  assert.equal((await check.committed([tp]))[0]!.offset, 10n)
})

test('a pattern subscription reads matching topics, including ones created later', { timeout: 30_000 }, async (t) => {
  const prefix = uniqueTopic('re')
  const a = `${prefix}-a`
  const b = `${prefix}-b`
  await admin.createTopics([{ name: a, numPartitions: 1 }, { name: b, numPartitions: 2 }, { name: `x-${prefix}`, numPartitions: 1 }])
  await producer.send([{ topic: a, value: 'a' }, { topic: b, partition: 1, value: 'b' }, { topic: `x-${prefix}`, value: 'x' }])
  const c = consumer({ groupId: uniqueTopic('re-group'), fromBeginning: true, metadataMaxAgeMs: 300 })
  t.after(() => c.close())
  c.subscribe(new RegExp(`^${prefix}-`))
  const first = await take(c, 2)
  assert.deepEqual(first.map((r) => r.value?.toString()).sort(), ['a', 'b'])
  const later = `${prefix}-c`
  await admin.createTopics([{ name: later, numPartitions: 1 }])
  await producer.send({ topic: later, value: 'c' })
  assert.deepEqual((await take(c, 1)).map((r) => [r.topic, r.value?.toString()]), [[later, 'c']])
  assert.deepEqual(c.assignment().map((tp) => tp.topic), [a, b, b, later])
  assert.ok(c.subscription() instanceof RegExp)
})

function traceFetches (): { requests: Array<{ version: number, request: FetchRequest }>, stop: () => void } {
  const trace = traceRequests('Fetch')
  return {
    get requests () { return trace.calls.map((ctx) => ({ version: ctx.apiVersion, request: ctx.request as FetchRequest })) },
    stop: trace.stop
  }
}

test('fetches use topic ids (v13+) and an incremental session; fetchSessions false is sessionless', { timeout: 20_000 }, async (t) => {
  const topic = await topicWith('session', 3, 30)
  const trace = traceFetches()
  t.after(() => trace.stop())
  const c = consumer({ fromBeginning: true })
  t.after(() => c.close())
  c.assign([0, 1, 2].map((partition) => ({ topic, partition })))
  await take(c, 30)
  await producer.send({ topic, partition: 1, value: 'one more' })
  await take(c, 1)
  await sleep(100)
  const mine = trace.requests.filter((r) => r.request.topics.some((x) => x.partitions.length > 0) || r.request.sessionEpoch > 0)
  assert.ok(mine.every((r) => r.version >= 13), 'Fetch v13+')
  assert.ok(mine.some((r) => r.request.sessionEpoch === 0 && r.request.topics[0]!.partitions.length === 3), 'a full request opened a session')
  const incremental = mine.filter((r) => r.request.sessionEpoch > 0)
  assert.ok(incremental.length > 0, 'incremental requests followed')
  assert.ok(incremental.every((r) => r.request.sessionId !== 0))
  // Incremental requests carry only partitions whose offset moved.
  assert.ok(incremental.some((r) => r.request.topics.reduce((n, x) => n + x.partitions.length, 0) < 3))
  assert.ok(incremental.every((r) => r.request.topics.every((x) => x.topicId !== '00000000-0000-0000-0000-000000000000')))
  await c.close()

  const skip = trace.requests.length
  const sessionless = consumer({ fromBeginning: true, fetchSessions: false })
  t.after(() => sessionless.close())
  sessionless.assign([0, 1, 2].map((partition) => ({ topic, partition })))
  assert.equal((await take(sessionless, 31)).length, 31)
  const sessionlessRequests = trace.requests.slice(skip)
  assert.ok(sessionlessRequests.length > 0)
  assert.ok(sessionlessRequests.every((r) => r.request.sessionEpoch === -1 && r.request.sessionId === 0))
})

test('a broker without room for fetch sessions is read with full fetches', { timeout: 20_000 }, async (t) => {
  const small = await startBroker({ inMemory: true, config: { 'max.incremental.fetch.session.cache.slots': 0 } })
  t.after(() => small.stop())
  const smallAdmin = new Admin({ bootstrapServers: small.bootstrap })
  t.after(() => smallAdmin.close())
  const topic = uniqueTopic('nosession')
  await smallAdmin.createTopics([{ name: topic, numPartitions: 2 }])
  const p = new Producer({ bootstrapServers: small.bootstrap, lingerMs: 1 })
  await p.send(Array.from({ length: 10 }, (_, i) => ({ topic, partition: i % 2, value: `v${i}` })))
  const trace = traceFetches()
  t.after(() => trace.stop())
  const c = new Consumer({ bootstrapServers: small.bootstrap, fromBeginning: true, fetchMaxWaitMs: 50 })
  t.after(() => c.close())
  c.assign([{ topic, partition: 0 }, { topic, partition: 1 }])
  assert.equal((await take(c, 10)).length, 10)
  await p.send({ topic, partition: 0, value: 'late' })
  await p.close()
  assert.deepEqual((await take(c, 1)).map((r) => r.value?.toString()), ['late'])
  assert.ok(trace.requests.length > 1)
  assert.ok(trace.requests.every((r) => r.request.sessionEpoch === 0 && r.request.sessionId === 0), 'every request is full and asks for a session')
})

test('close ends a pending read; a closed consumer rejects calls', { timeout: 20_000 }, async () => {
  const topic = await topicWith('close', 1, 0)
  const c = consumer()
  c.assign([{ topic, partition: 0 }])
  const reading = (async () => {
    let n = 0
    for await (const _record of c) n++
    return n
  })()
  await sleep(200)
  await c.close()
  assert.equal(await reading, 0)
  assert.throws(() => c.assign([]), KafkaClosedError)
  assert.throws(() => c.records(), KafkaClosedError)
  await c.close()
})

test('options and arguments are validated', async () => {
  const bad: Array<Partial<ConsumerOptions>> = [
    { autoOffsetReset: 'first' as 'earliest' },
    { fromBeginning: true, autoOffsetReset: 'latest' },
    { isolationLevel: 'dirty' as 'read_committed' },
    { groupInstanceId: 'x' },
    { groupProtocol: 'eager' as 'classic' },
    { groupRemoteAssignor: 'uniform' },
    { partitionAssignors: [] },
    { partitionAssignors: ['sticky' as 'range'] },
    { partitionAssignors: ['range', 'range'] },
    { heartbeatIntervalMs: 5000, sessionTimeoutMs: 5000 },
    { maxPrefetchBytes: 0 },
    { maxPrefetchRecords: 1.5 },
    { autoCommit: 'yes' as unknown as boolean },
    { groupId: '' }
  ]
  for (const options of bad) assert.throws(() => consumer(options), KafkaInvalidArgumentError, JSON.stringify(options))
  const c = consumer()
  assert.throws(() => c.subscribe(['t']), KafkaInvalidArgumentError, 'subscribe() needs a group')
  const g = consumer({ groupId: 'g' })
  assert.throws(() => g.subscribe([]), KafkaInvalidArgumentError)
  assert.throws(() => g.assign([{ topic: '', partition: 0 }]), KafkaInvalidArgumentError)
  g.assign([{ topic: 't', partition: 0 }])
  assert.throws(() => g.subscribe(['t']), KafkaIllegalStateError)
  await g.close()
  await c.close()
})
