// kafkajs 2.2.4 against the idempotent producer and transactions: an idempotent producer whose
// broker restarts mid-stream writes every record exactly once; a consume-transform-produce loop
// (eachBatch, transaction, sendOffsets, commit) produces each result once for read_committed
// readers, an aborted batch is invisible to them, and the group's offsets follow the commits.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type Consumer, Kafka, logLevel } from 'kafkajs'
import { startBroker } from '@samsa/testkit'
import { waitFor } from './helpers.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

async function readAll (kafka: Kafka, topic: string, expected: number, readUncommitted = false): Promise<Array<{ partition: number, key: string, value: string }>> {
  const consumer = kafka.consumer({ groupId: `reader-${topic}-${readUncommitted ? 'ru' : 'rc'}-${Math.random()}`, maxWaitTimeInMs: 100, readUncommitted })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const seen: Array<{ partition: number, key: string, value: string }> = []
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      seen.push({ partition, key: message.key!.toString(), value: message.value!.toString() })
      await Promise.resolve()
    }
  })
  try {
    await waitFor(`${expected} records in ${topic}`, () => seen.length >= expected, 20000)
    // Anything beyond the expected count would be a duplicate: give it a moment to show up.
    await new Promise((resolve) => setTimeout(resolve, 300))
  } finally {
    await consumer.disconnect()
  }
  return seen
}

test('kafkajs idempotent producer: a broker restart mid-stream duplicates nothing', { timeout: 60_000 }, async (t) => {
  const b = await startBroker()
  t.after(() => b.stop())
  const kafka = new Kafka({ brokers: [b.bootstrap], logLevel: logLevel.NOTHING, clientId: 'idem', retry: { initialRetryTime: 50, retries: 30 } })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: 'idem', numPartitions: 3 }] })
  await admin.disconnect()
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const total = 600
  let restarted = false
  const sending = (async () => {
    for (let i = 0; i < total; i += 10) {
      await producer.send({ topic: 'idem', acks: -1, messages: Array.from({ length: 10 }, (_, j) => ({ key: `k${(i + j) % 7}`, value: `m${i + j}` })) })
    }
  })()
  // Restart while sends are in flight.
  await waitFor('some records', () => (b.broker.topics.partition('idem', 0)?.log.logEndOffset ?? 0) > 20)
  await b.restart()
  restarted = true
  await sending
  await producer.disconnect()
  assert.ok(restarted)
  const seen = await readAll(kafka, 'idem', total)
  const values = seen.map((r) => r.value)
  assert.equal(new Set(values).size, values.length, 'no duplicates')
  assert.equal(values.length, total)
  const producers = [...b.broker.topics.get('idem')!.partitions.flatMap((p) => [...p.log.producerState.activeProducers.keys()])]
  assert.equal(new Set(producers).size, 1, 'one producer id throughout')
})

test('kafkajs consume-transform-produce with sendOffsets: each result once under read_committed; aborts are invisible', { timeout: 60_000 }, async (t) => {
  const b = await startBroker()
  t.after(() => b.stop())
  const kafka = new Kafka({ brokers: [b.bootstrap], logLevel: logLevel.NOTHING, clientId: 'ctp', retry: { initialRetryTime: 50, retries: 20 } })
  const admin = kafka.admin()
  await admin.connect()
  t.after(() => admin.disconnect())
  await admin.createTopics({ topics: [{ topic: 'ctp-in', numPartitions: 3 }, { topic: 'ctp-out', numPartitions: 3 }] })
  const plain = kafka.producer()
  await plain.connect()
  const total = 300
  for (let i = 0; i < total; i += 50) {
    await plain.send({ topic: 'ctp-in', messages: Array.from({ length: 50 }, (_, j) => ({ key: `k${(i + j) % 10}`, value: String(i + j) })) })
  }
  await plain.disconnect()

  const producer = kafka.producer({ transactionalId: 'ctp-app', idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const consumer: Consumer = kafka.consumer({ groupId: 'ctp-group', maxWaitTimeInMs: 100, maxBytesPerPartition: 2000 })
  await consumer.connect()
  await consumer.subscribe({ topic: 'ctp-in', fromBeginning: true })
  let processed = 0
  let aborted = 0
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async (payload) => {
      const { batch } = payload
      const txn = await producer.transaction()
      try {
        await txn.send({ topic: 'ctp-out', messages: batch.messages.map((m) => ({ key: m.key, value: `out-${m.value!.toString()}` })) })
        // Abort the first batch once: its results must never be seen by read_committed readers.
        if (aborted === 0) {
          aborted = batch.messages.length
          await txn.send({ topic: 'ctp-out', messages: [{ key: 'poison', value: 'aborted' }] })
          throw new Error('abort on purpose')
        }
        const next = String(Number(batch.messages.at(-1)!.offset) + 1)
        await txn.sendOffsets({ consumerGroupId: 'ctp-group', topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }] })
        await txn.commit()
        for (const m of batch.messages) payload.resolveOffset(m.offset)
        processed += batch.messages.length
        await payload.heartbeat()
      } catch (error) {
        await txn.abort()
        // Re-read the aborted batch from the last committed offset.
        consumer.seek({ topic: batch.topic, partition: batch.partition, offset: batch.messages[0]!.offset })
        if ((error as Error).message !== 'abort on purpose') throw error
      }
    }
  })
  await waitFor('every input processed', () => processed >= total, 30000)
  await consumer.disconnect()
  await producer.disconnect()

  const committed = await readAll(kafka, 'ctp-out', total)
  assert.equal(committed.length, total, 'each input once')
  assert.ok(!committed.some((r) => r.value === 'aborted'))
  assert.deepEqual(new Set(committed.map((r) => r.value)).size, total)
  // In order per key.
  const byKey = new Map<string, number[]>()
  for (const r of committed) byKey.set(r.key, [...(byKey.get(r.key) ?? []), Number(r.value.slice(4))])
  for (const [key, list] of byKey) assert.deepEqual(list, [...list].sort((x, y) => x - y), `order of ${key}`)
  // read_uncommitted readers see the aborted batch too.
  const uncommitted = await readAll(kafka, 'ctp-out', total + aborted + 1, true)
  assert.equal(uncommitted.length, total + aborted + 1)
  const offsets = await admin.fetchOffsets({ groupId: 'ctp-group', topics: ['ctp-in'] })
  const sum = offsets[0]!.partitions.reduce((n, p) => n + Number(p.offset), 0)
  assert.equal(sum, total, 'the group committed exactly what was processed')
})
