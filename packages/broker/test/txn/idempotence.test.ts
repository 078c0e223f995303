// Idempotent producers over the wire: unique and durable producer ids, retries answered with the
// original offsets, gaps and old epochs refused with Kafka's codes, producer state that survives
// restarts (clean and after a crash), DescribeProducers.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DescribeProducersApi, ErrorCode } from '@samsa/protocol'
import { startBroker } from '@samsa/testkit'
import { connect, createTopic, setup } from '../helpers.ts'
import { initProducerId, produceRaw, producerBatch, readBatches } from './helpers.ts'

test('InitProducerId without a transactional id: unique ids, epoch 0, still unique after restarts', async (t) => {
  const { broker, client } = await setup(t)
  const ids = new Set<bigint>()
  for (const version of [0, 1, 2, 3, 4, 5]) {
    const r = await initProducerId(client, null, { version })
    assert.equal(r.errorCode, ErrorCode.NONE)
    assert.equal(r.producerEpoch, 0)
    ids.add(r.producerId)
  }
  assert.equal(ids.size, 6)
  await broker.restart()
  const again = await connect(t, broker)
  const after = await initProducerId(again, null)
  assert.ok(!ids.has(after.producerId) && after.producerId > Math.max(...[...ids].map(Number)), 'a block reserved before the restart is never reused')
  // KIP-360 fields on an idempotent producer are ignored: a new id.
  const bumped = await initProducerId(again, null, { version: 3, producerId: after.producerId, producerEpoch: 0 })
  assert.equal(bumped.errorCode, ErrorCode.NONE)
  assert.notEqual(bumped.producerId, after.producerId)
  // Only one of ProducerId/ProducerEpoch set is a malformed request.
  assert.equal((await initProducerId(again, null, { version: 3, producerId: 5n, producerEpoch: -1 })).errorCode, ErrorCode.INVALID_REQUEST)
})

test('a retry of one of the last five batches gets the original offset; gaps and old epochs are refused', async (t) => {
  const { client } = await setup(t, { inMemory: true })
  await createTopic(client, 'idem')
  const { producerId } = await initProducerId(client, null)
  const offsets: number[] = []
  let seq = 0
  for (let i = 0; i < 6; i++) {
    const r = await produceRaw(client, 'idem', 0, producerBatch([`a${i}`, `b${i}`], { producerId, producerEpoch: 0, baseSequence: seq }))
    assert.equal(r.errorCode, ErrorCode.NONE)
    offsets.push(Number(r.baseOffset))
    seq += 2
  }
  for (let i = 1; i < 6; i++) {
    const retry = await produceRaw(client, 'idem', 0, producerBatch([`a${i}`, `b${i}`], { producerId, producerEpoch: 0, baseSequence: i * 2 }))
    assert.equal(retry.errorCode, ErrorCode.NONE, 'Kafka answers a duplicate with success, not DUPLICATE_SEQUENCE_NUMBER')
    assert.equal(Number(retry.baseOffset), offsets[i])
  }
  const gap = await produceRaw(client, 'idem', 0, producerBatch(['gap'], { producerId, producerEpoch: 0, baseSequence: seq + 1 }))
  assert.equal(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
  const outOfWindow = await produceRaw(client, 'idem', 0, producerBatch(['a0', 'b0'], { producerId, producerEpoch: 0, baseSequence: 0 }))
  assert.equal(outOfWindow.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
  // A new epoch starts at 0; then the old epoch is fenced.
  assert.equal((await produceRaw(client, 'idem', 0, producerBatch(['e1'], { producerId, producerEpoch: 1, baseSequence: 3 }))).errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
  assert.equal((await produceRaw(client, 'idem', 0, producerBatch(['e1'], { producerId, producerEpoch: 1, baseSequence: 0 }))).errorCode, ErrorCode.NONE)
  assert.equal((await produceRaw(client, 'idem', 0, producerBatch(['old'], { producerId, producerEpoch: 0, baseSequence: seq }))).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH)
  const values = (await readBatches(client, 'idem', 0)).map((r) => r.value)
  assert.equal(values.length, 13, 'nothing appended twice')
  // Produce v3 carries producer ids too.
  const v3 = await produceRaw(client, 'idem', 0, producerBatch(['e1'], { producerId, producerEpoch: 1, baseSequence: 0 }), null, 3)
  assert.equal(v3.errorCode, ErrorCode.NONE)
  assert.equal(Number(v3.baseOffset), 12)
})

test('producer state survives a clean restart and a crash (snapshot plus replay)', async (t) => {
  for (const how of ['clean', 'crash'] as const) {
    const b = await startBroker({ inMemory: true })
    t.after(() => b.stop())
    const c = await connect(t, b)
    const topic = `survive-${how}`
    await createTopic(c, topic)
    const { producerId } = await initProducerId(c, null)
    let seq = 0
    let last = 0
    for (let i = 0; i < 20; i++) {
      last = Number((await produceRaw(c, topic, 0, producerBatch([`v${i}`], { producerId, producerEpoch: 0, baseSequence: seq++ }))).baseOffset)
      if (i === 10) b.broker.topics.partition(topic, 0)!.log.roll()
    }
    if (how === 'clean') {
      await b.restart()
    } else {
      // A crash: the broker's files as they are now, without the shutdown's snapshot (in-memory
      // logs survive the process; re-open them unclean by dropping the shutdown marker).
      await b.broker.stop()
      const data = b.broker.settings.dataDir
      for (const f of (b.broker.logManager.fs.readdir(`${data}/${topic}-0`))) if (f === '00000000000000000020.snapshot') b.broker.logManager.fs.unlink(`${data}/${topic}-0/${f}`)
      b.broker.logManager.fs.unlink(`${data}/.kafka_cleanshutdown`)
      await b.restart()
    }
    const c2 = await connect(t, b)
    const retry = await produceRaw(c2, topic, 0, producerBatch([`v${19}`], { producerId, producerEpoch: 0, baseSequence: seq - 1 }))
    assert.equal(retry.errorCode, ErrorCode.NONE)
    assert.equal(Number(retry.baseOffset), last, `${how}: the retry is recognised after the restart`)
    assert.equal((await produceRaw(c2, topic, 0, producerBatch(['gap'], { producerId, producerEpoch: 0, baseSequence: seq + 5 }))).errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
    assert.equal((await produceRaw(c2, topic, 0, producerBatch(['next'], { producerId, producerEpoch: 0, baseSequence: seq }))).errorCode, ErrorCode.NONE)
    const described = await c2.request(DescribeProducersApi, 0, { topics: [{ name: topic, partitionIndexes: [0, 7] }] })
    const [p0, p7] = described.topics[0]!.partitions
    assert.equal(p0!.errorCode, ErrorCode.NONE)
    assert.deepEqual(p0!.activeProducers.map((p) => [p.producerId, p.producerEpoch, p.lastSequence, p.currentTxnStartOffset]), [[producerId, 0, seq, -1n]])
    assert.equal(p7!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
  }
})
