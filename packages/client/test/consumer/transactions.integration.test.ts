/**
 * The consumer and transactions, with our transactional producer, against an in-process Samsa
 * broker: aborted records invisible under read_committed and visible under read_uncommitted,
 * reads stopping at the last stable offset while a transaction is open, and a
 * consume-transform-produce loop whose offsets (sendOffsets) become visible only on commit.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type TestBroker, startBroker } from '@samsa/testkit'
import { Admin } from '../../src/admin/admin.ts'
import { Consumer } from '../../src/consumer/consumer.ts'
import type { ConsumerOptions } from '../../src/consumer/options.ts'
import { Producer } from '../../src/producer/producer.ts'
import { uniqueTopic } from '../helpers.ts'
import { take, takeFor } from './helpers.ts'

let broker: TestBroker
let admin: Admin

before(async () => {
  broker = await startBroker({ inMemory: true, config: { 'offsets.topic.num.partitions': 3, 'transaction.state.log.num.partitions': 3 } })
  admin = new Admin({ bootstrapServers: broker.bootstrap })
})

after(async () => {
  await admin.close()
  await broker.stop()
})

function consumer (options: Partial<ConsumerOptions> = {}): Consumer {
  return new Consumer({ bootstrapServers: broker.bootstrap, fromBeginning: true, fetchMaxWaitMs: 100, ...options })
}

function transactional (): Producer {
  return new Producer({ bootstrapServers: broker.bootstrap, transactionalId: uniqueTopic('txn'), lingerMs: 1 })
}

function text (records: ReadonlyArray<{ value: Buffer | null }>): string[] {
  return records.map((r) => r.value?.toString() ?? 'null')
}

test('read_committed hides aborted transactions, read_uncommitted shows them; markers are never records', { timeout: 30_000 }, async (t) => {
  const topic = uniqueTopic('txn-read')
  await admin.createTopics([{ name: topic, numPartitions: 1 }])
  const txn = transactional()
  t.after(() => txn.close())
  const plain = new Producer({ bootstrapServers: broker.bootstrap, lingerMs: 1 })
  t.after(() => plain.close())
  await txn.beginTransaction()
  await txn.send([{ topic, value: 'c1' }, { topic, value: 'c2' }])
  await txn.commitTransaction()
  await txn.beginTransaction()
  await txn.send([{ topic, value: 'a1' }, { topic, value: 'a2' }, { topic, value: 'a3' }])
  await plain.send({ topic, value: 'plain1' })
  await txn.abortTransaction()
  await txn.beginTransaction()
  await txn.send({ topic, value: 'c3' })
  await txn.commitTransaction()
  await plain.send({ topic, value: 'plain2' })

  const committed = consumer()
  t.after(() => committed.close())
  committed.assign([{ topic, partition: 0 }])
  const seen = await take(committed, 5)
  assert.deepEqual(text(seen), ['c1', 'c2', 'plain1', 'c3', 'plain2'])
  assert.deepEqual(await takeFor(committed, 300), [])
  // The position moved past the markers: nothing is left to read.
  assert.equal(committed.lag({ topic, partition: 0 }), 0n)

  const uncommitted = consumer({ isolationLevel: 'read_uncommitted' })
  t.after(() => uncommitted.close())
  uncommitted.assign([{ topic, partition: 0 }])
  assert.deepEqual(text(await take(uncommitted, 8)), ['c1', 'c2', 'a1', 'a2', 'a3', 'plain1', 'c3', 'plain2'])
  assert.deepEqual(await takeFor(uncommitted, 300), [])
})

test('read_committed stops at the last stable offset while a transaction is open', { timeout: 30_000 }, async (t) => {
  const topic = uniqueTopic('txn-lso')
  await admin.createTopics([{ name: topic, numPartitions: 1 }])
  const plain = new Producer({ bootstrapServers: broker.bootstrap, lingerMs: 1 })
  t.after(() => plain.close())
  const txn = transactional()
  t.after(() => txn.close())
  await plain.send({ topic, value: 'before' })
  await txn.beginTransaction()
  await txn.send({ topic, value: 'open' })
  await txn.flush()
  await plain.send({ topic, value: 'after' })
  const committed = consumer()
  t.after(() => committed.close())
  committed.assign([{ topic, partition: 0 }])
  assert.deepEqual(text(await take(committed, 1)), ['before'])
  assert.deepEqual(await takeFor(committed, 400), [], 'nothing past the open transaction')
  const uncommitted = consumer({ isolationLevel: 'read_uncommitted' })
  t.after(() => uncommitted.close())
  uncommitted.assign([{ topic, partition: 0 }])
  assert.deepEqual(text(await take(uncommitted, 3)), ['before', 'open', 'after'])
  await txn.commitTransaction()
  assert.deepEqual(text(await take(committed, 2)), ['open', 'after'])
})

test('consume-transform-produce: offsets sent in a transaction are committed with it, and dropped with an abort', { timeout: 40_000 }, async (t) => {
  const input = uniqueTopic('ctp-in')
  const output = uniqueTopic('ctp-out')
  await admin.createTopics([{ name: input, numPartitions: 2 }, { name: output, numPartitions: 1 }])
  const source = new Producer({ bootstrapServers: broker.bootstrap, lingerMs: 1 })
  await source.send(Array.from({ length: 20 }, (_, i) => ({ topic: input, partition: i % 2, value: `n${i}` })))
  await source.close()
  const groupId = uniqueTopic('ctp-group')
  const c = consumer({ groupId, autoCommit: false, sessionTimeoutMs: 10_000 })
  t.after(() => c.close())
  c.subscribe([input])
  const txn = transactional()
  t.after(() => txn.close())

  let round = 0
  let done = 0
  for await (const batch of c.batches()) {
    await txn.beginTransaction()
    await txn.send(batch.records.map((r) => ({ topic: output, value: `${r.value!.toString()}!` })))
    await txn.sendOffsets([{ topic: batch.topic, partition: batch.partition, offset: batch.nextOffset }], c.groupMetadata())
    if (round++ === 0) {
      // The first batch's transaction is aborted: its output and its offsets disappear.
      await txn.abortTransaction()
      assert.equal((await c.committed([{ topic: batch.topic, partition: batch.partition }]))[0]!.offset, -1n)
      c.seek({ topic: batch.topic, partition: batch.partition }, batch.records[0]!.offset)
      continue
    }
    await txn.commitTransaction()
    done += batch.records.length
    if (done === 20) break
  }
  const committed = await c.committed([{ topic: input, partition: 0 }, { topic: input, partition: 1 }])
  assert.deepEqual(committed.map((o) => o.offset), [10n, 10n])

  const reader = consumer()
  t.after(() => reader.close())
  reader.assign([{ topic: output, partition: 0 }])
  const out = text(await take(reader, 20))
  assert.deepEqual(out.sort(), Array.from({ length: 20 }, (_, i) => `n${i}!`).sort())
  assert.deepEqual(await takeFor(reader, 300), [], 'the aborted output is invisible')

  // A new member of the group starts after the transactionally committed offsets.
  await c.close()
  const next = consumer({ groupId })
  t.after(() => next.close())
  next.subscribe([input])
  assert.deepEqual(await takeFor(next, 1500), [])
  assert.equal(next.assignment().length, 2)
})
