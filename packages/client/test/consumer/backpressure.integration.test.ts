/**
 * Bounded prefetch: with a topic holding 20 MB and a handler that sleeps, the consumer keeps
 * at most `maxPrefetchBytes` (and about `maxPrefetchRecords`) fetched ahead of the application,
 * and fetches only as the application catches up, instead of buffering the topic.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { FetchResponse } from '@samsa/protocol/messages/fetch'
import { type TestBroker, startBroker } from '@samsa/testkit'
import { Admin } from '../../src/admin/admin.ts'
import { Consumer } from '../../src/consumer/consumer.ts'
import { Producer } from '../../src/producer/producer.ts'
import { uniqueTopic } from '../helpers.ts'
import { sleep, traceRequests } from './helpers.ts'

const RECORDS = 20_000
const RECORD_SIZE = 1000
const BATCH_SIZE = 16384

let broker: TestBroker
let admin: Admin
let topic: string

before(async () => {
  broker = await startBroker({ inMemory: true })
  admin = new Admin({ bootstrapServers: broker.bootstrap })
  topic = uniqueTopic('backpressure')
  await admin.createTopics([{ name: topic, numPartitions: 1 }])
  const producer = new Producer({ bootstrapServers: broker.bootstrap, batchSize: BATCH_SIZE, lingerMs: 5 })
  const value = Buffer.alloc(RECORD_SIZE, 'x')
  for (let i = 0; i < RECORDS; i += 1000) await producer.send(Array.from({ length: 1000 }, () => ({ topic, value })))
  await producer.close()
})

after(async () => {
  await admin.close()
  await broker.stop()
})

/** Counts the record bytes Fetch responses bring in. */
function countFetched (): { bytes: () => number, stop: () => void } {
  const trace = traceRequests('Fetch')
  const bytes = (): number => {
    let n = 0
    for (const ctx of trace.calls) for (const t of (ctx.result as FetchResponse | undefined)?.responses ?? []) for (const p of t.partitions) n += p.records?.length ?? 0
    return n
  }
  return { bytes, stop: trace.stop }
}

test('a slow handler keeps the buffer within maxPrefetchBytes and stops fetching', { timeout: 30_000 }, async (t) => {
  const maxPrefetchBytes = 256 * 1024
  const fetched = countFetched()
  t.after(() => fetched.stop())
  const c = new Consumer({ bootstrapServers: broker.bootstrap, fromBeginning: true, maxPrefetchBytes, fetchMaxWaitMs: 100 })
  t.after(() => c.close())
  c.assign([{ topic, partition: 0 }])
  let maxBuffered = 0
  const sampler = setInterval(() => { maxBuffered = Math.max(maxBuffered, c.bufferedBytes) }, 2)
  t.after(() => clearInterval(sampler))
  let n = 0
  let fetchedWhileSlow = 0
  for await (const _record of c) {
    maxBuffered = Math.max(maxBuffered, c.bufferedBytes)
    if (++n <= 400) await sleep(2)
    if (n === 400) {
      fetchedWhileSlow = fetched.bytes()
      // A slow handler has read 400 KB: far less than the 20 MB in the topic is fetched.
      assert.ok(fetchedWhileSlow < 400 * (RECORD_SIZE + 100) + maxPrefetchBytes + BATCH_SIZE, `fetched ${fetchedWhileSlow} bytes while slow`)
    }
    if (n === RECORDS) break
  }
  clearInterval(sampler)
  t.diagnostic(`max buffered ${maxBuffered} bytes (bound ${maxPrefetchBytes}); fetched ${fetchedWhileSlow} bytes while 400 records were processed`)
  // The bound holds (a response may carry one batch beyond the room left, KIP-74).
  assert.ok(maxBuffered <= maxPrefetchBytes + BATCH_SIZE + 512, `buffered up to ${maxBuffered} bytes`)
  assert.ok(maxBuffered > maxPrefetchBytes / 4, `the buffer was used (${maxBuffered} bytes)`)
  assert.ok(fetched.bytes() >= RECORDS * RECORD_SIZE, 'everything was read in the end')
})

test('maxPrefetchRecords bounds the records fetched ahead', { timeout: 30_000 }, async (t) => {
  const c = new Consumer({
    bootstrapServers: broker.bootstrap, fromBeginning: true, maxPrefetchRecords: 50, fetchMaxBytes: 32 * 1024, maxPartitionFetchBytes: 32 * 1024, fetchMaxWaitMs: 100
  })
  t.after(() => c.close())
  c.assign([{ topic, partition: 0 }])
  let maxRecords = 0
  let n = 0
  for await (const _record of c) {
    maxRecords = Math.max(maxRecords, c.bufferedRecords)
    await sleep(1)
    if (++n === 300) break
  }
  t.diagnostic(`max buffered ${maxRecords} records (bound 50)`)
  // The fetcher stops at 50; a response in flight adds at most fetchMaxBytes (32 records of 1 KB).
  assert.ok(maxRecords <= 50 + 32 + 16, `buffered up to ${maxRecords} records`)
})
