import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RECORD_BATCH_OVERHEAD } from '@samsa/protocol'
import { RecordAccumulator, estimateRecordSize } from '../../src/producer/accumulator.ts'
import { SendRequest } from '../../src/producer/send-request.ts'
import { incrementSequence } from '../../src/producer/sender.ts'
import { type KafkaPartialFailureError, KafkaResponseError } from '../../src/errors.ts'

test('records fill the open batch until batchSize, then a new batch starts', () => {
  const acc = new RecordAccumulator({ batchSize: 1000, bufferMemory: 1 << 20 })
  const owner = new SendRequest(100, true)
  const record = { value: Buffer.alloc(100) }
  const size = estimateRecordSize(record)
  assert.ok(size >= 100 + 21 && size <= 100 + 40, String(size))
  const batches = new Set()
  for (let i = 0; i < 20; i++) batches.add(acc.append('t', 0, record, size, owner, i, 1000))
  const queue = acc.queue('t', 0)
  assert.equal(queue.batches.length, batches.size)
  for (const b of queue.batches.slice(0, -1)) {
    assert.ok(b.closed)
    assert.ok(b.bytes <= 1000)
    assert.equal(b.count, Math.floor((1000 - RECORD_BATCH_OVERHEAD) / size))
  }
  assert.equal(acc.used, 20 * size)
  assert.ok(acc.active.has(queue))
})

test('a record larger than batchSize gets a batch of its own', () => {
  const acc = new RecordAccumulator({ batchSize: 100, bufferMemory: 1 << 20 })
  const owner = new SendRequest(3, true)
  const small = { value: 'x' }
  const big = { value: Buffer.alloc(500) }
  acc.append('t', 0, small, estimateRecordSize(small), owner, 0, 0)
  acc.append('t', 0, big, estimateRecordSize(big), owner, 1, 0)
  acc.append('t', 0, small, estimateRecordSize(small), owner, 2, 0)
  assert.deepEqual(acc.queue('t', 0).batches.map((b) => b.count), [1, 1, 1])
  assert.ok(acc.needsNewBatch('t', 1, 10), 'no batch yet')
  assert.ok(!acc.needsNewBatch('t', 0, 1), 'room for one more byte in the open batch')
  assert.ok(acc.needsNewBatch('t', 0, 10))
})

test('the buffer budget is taken on append and returned when a batch settles', async () => {
  const acc = new RecordAccumulator({ batchSize: 16384, bufferMemory: 2048 })
  const owner = new SendRequest(2, true)
  const record = { key: 'k', value: Buffer.alloc(900) }
  const size = estimateRecordSize(record)
  assert.ok(acc.hasRoom(size))
  const batch = acc.append('t', 0, record, size, owner, 0, 0)
  acc.append('t', 0, record, size, owner, 1, 0)
  assert.ok(!acc.hasRoom(size), 'the third would exceed bufferMemory')
  acc.releaseBatch(batch)
  batch.complete(10n, -1n)
  assert.equal(acc.used, 0)
  const result = await owner.promise as Array<{ offset: bigint, partition: number, topic: string }>
  assert.deepEqual(result.map((r) => r.offset), [10n, 11n])
})

test('records of several send() calls in one batch resolve their own promises', async () => {
  const acc = new RecordAccumulator({ batchSize: 16384, bufferMemory: 1 << 20 })
  const a = new SendRequest(2, true)
  const b = new SendRequest(1, false)
  const c = new SendRequest(2, true)
  const r = { value: 'v', timestamp: 42 }
  acc.append('t', 3, r, 30, a, 0, 0)
  acc.append('t', 3, r, 30, b, 0, 0)
  acc.append('t', 3, r, 30, a, 1, 0)
  acc.append('t', 3, { value: 'w' }, 30, c, 1, 0)
  acc.append('t', 3, r, 30, c, 0, 0)
  const batch = acc.queue('t', 3).batches[0]!
  batch.complete(100n, -1n)
  assert.deepEqual((await a.promise as Array<{ offset: bigint }>).map((m) => m.offset), [100n, 102n])
  assert.deepEqual(await b.promise, { topic: 't', partition: 3, offset: 101n, timestamp: 42 })
  const cr = await c.promise as Array<{ offset: bigint, timestamp: number }>
  assert.deepEqual(cr.map((m) => m.offset), [104n, 103n])
  assert.equal(cr[1]!.timestamp, 0, 'a record without a timestamp gets the batch creation time')
})

test('a failed batch rejects single sends with the error and lists with a partial failure', async () => {
  const acc = new RecordAccumulator({ batchSize: 16384, bufferMemory: 1 << 20 })
  const single = new SendRequest(1, false)
  const list = new SendRequest(2, true)
  acc.append('a', 0, { value: 'x' }, 30, single, 0, 0)
  acc.append('a', 0, { value: 'x' }, 30, list, 0, 0)
  acc.append('b', 0, { value: 'y' }, 30, list, 1, 0)
  const error = new KafkaResponseError(10, null, { api: 'Produce', topic: 'a', partition: 0 })
  acc.queue('a', 0).batches[0]!.fail(error)
  acc.queue('b', 0).batches[0]!.complete(7n, 1234n)
  await assert.rejects(single.promise, (e) => e === error)
  await assert.rejects(list.promise, (e: KafkaPartialFailureError) => {
    assert.equal(e.code, 'SAMSA_CLIENT_PARTIAL_FAILURE')
    assert.equal(e.failures[0]!.path, 'records/0/topics/a')
    const result = e.result as unknown[]
    assert.equal(result[0], undefined)
    assert.deepEqual(result[1], { topic: 'b', partition: 0, offset: 7n, timestamp: 1234 }, 'LogAppendTime from the broker')
    return true
  })
})

test('sequence numbers wrap from Integer.MAX_VALUE to 0 (DefaultRecordBatch.incrementSequence)', () => {
  assert.equal(incrementSequence(0, 5), 5)
  assert.equal(incrementSequence(2147483647, 1), 0)
  assert.equal(incrementSequence(2147483645, 5), 2)
  assert.equal(incrementSequence(-1, 1), 0)
})
