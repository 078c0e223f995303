// ListOffsets: earliest, latest, max timestamp, by time (inside a batch and past the end),
// read_committed latest (the LSO), leader epochs and fencing, unknown partitions.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DeleteRecordsApi, ErrorCode, ListOffsetsApi, OffsetForLeaderEpochApi, buildRecordBatch } from '@samsa/protocol'
import { createTopic, listOffset, produceOk, setup } from './helpers.ts'

const EARLIEST = -2n
const LATEST = -1n
const MAX_TIMESTAMP = -3n
const EARLIEST_LOCAL = -4n
const LATEST_TIERED = -5n
const T = 1_700_000_000_000

test('earliest, latest, max timestamp and by time, inside batches', async (t) => {
  const { client } = await setup(t, { inMemory: true })
  await createTopic(client, 'times')
  // Empty partition: earliest = latest = 0; no timestamp finds anything.
  assert.deepEqual(await listOffset(client, 'times', EARLIEST).then((r) => [r.errorCode, r.offset]), [ErrorCode.NONE, 0n])
  assert.deepEqual(await listOffset(client, 'times', LATEST).then((r) => [r.offset, r.timestamp]), [0n, -1n])
  assert.deepEqual(await listOffset(client, 'times', 0n).then((r) => [r.errorCode, r.offset, r.timestamp]), [ErrorCode.NONE, -1n, -1n])
  assert.deepEqual(await listOffset(client, 'times', MAX_TIMESTAMP).then((r) => [r.offset, r.timestamp]), [-1n, -1n])

  // Batch 1 (offsets 0-3): T+10, T+30, T+20, T+30. Batch 2 (offsets 4-5): T+40, T+50.
  await produceOk(client, 'times', buildRecordBatch({ records: [10, 30, 20, 30].map((d, i) => ({ key: `a${i}`, value: 'x', timestamp: T + d })) }))
  await produceOk(client, 'times', buildRecordBatch({ records: [40, 50].map((d, i) => ({ key: `b${i}`, value: 'x', timestamp: T + d })) }))
  const cases: Array<[bigint, bigint, bigint]> = [
    [BigInt(T), 0n, BigInt(T + 10)], // before everything: the first record
    [BigInt(T + 10), 0n, BigInt(T + 10)],
    [BigInt(T + 11), 1n, BigInt(T + 30)], // inside the first batch: the first record at or after it
    [BigInt(T + 25), 1n, BigInt(T + 30)],
    [BigInt(T + 31), 4n, BigInt(T + 40)], // the second batch
    [BigInt(T + 50), 5n, BigInt(T + 50)],
    [BigInt(T + 51), -1n, -1n] // after the last record: none
  ]
  for (const [timestamp, offset, found] of cases) {
    const r = await listOffset(client, 'times', timestamp)
    assert.equal(r.errorCode, ErrorCode.NONE)
    assert.deepEqual([r.offset, r.timestamp], [offset, found], `timestamp ${timestamp - BigInt(T)}`)
    if (offset >= 0n) assert.equal(r.leaderEpoch, 0)
  }
  const latest = await listOffset(client, 'times', LATEST)
  assert.deepEqual([latest.offset, latest.timestamp, latest.leaderEpoch], [6n, -1n, 0])
  const earliest = await listOffset(client, 'times', EARLIEST)
  assert.deepEqual([earliest.offset, earliest.leaderEpoch], [0n, 0])
  const max = await listOffset(client, 'times', MAX_TIMESTAMP)
  assert.deepEqual([max.offset, max.timestamp], [5n, BigInt(T + 50)])

  // The largest timestamp in the middle of a batch: the first record that has it (KAFKA-16310).
  await createTopic(client, 'max-mid')
  await produceOk(client, 'max-mid', buildRecordBatch({ records: [5, 90, 7, 90, 8].map((d, i) => ({ key: `m${i}`, value: 'x', timestamp: T + d })) }))
  const mid = await listOffset(client, 'max-mid', MAX_TIMESTAMP)
  assert.deepEqual([mid.offset, mid.timestamp], [1n, BigInt(T + 90)])

  // v1 (no leader epoch in the response) answers the same offsets.
  const v1 = await listOffset(client, 'times', BigInt(T + 25), { version: 1 })
  assert.deepEqual([v1.offset, v1.timestamp], [1n, BigInt(T + 30)])
  assert.equal((await listOffset(client, 'times', LATEST, { version: 1 })).offset, 6n)
  // -4 (earliest local, v8+) is the log start; -5 (latest tiered, v9+) has nothing here.
  assert.equal((await listOffset(client, 'times', EARLIEST_LOCAL, { version: 8 })).offset, 0n)
  const tiered = await listOffset(client, 'times', LATEST_TIERED, { version: 9 })
  assert.deepEqual([tiered.errorCode, tiered.offset], [ErrorCode.NONE, -1n])
})

test('earliest follows DeleteRecords; by-time lookups skip deleted records', async (t) => {
  const { client } = await setup(t, { inMemory: true })
  await createTopic(client, 'deleted')
  await produceOk(client, 'deleted', buildRecordBatch({ records: [1, 2, 3, 4].map((d) => ({ key: 'k', value: 'v', timestamp: T + d })) }))
  await client.request(DeleteRecordsApi, 2, { topics: [{ name: 'deleted', partitions: [{ partitionIndex: 0, offset: 2n }] }], timeoutMs: 5000 })
  assert.equal((await listOffset(client, 'deleted', EARLIEST)).offset, 2n)
  const r = await listOffset(client, 'deleted', BigInt(T))
  assert.deepEqual([r.offset, r.timestamp], [2n, BigInt(T + 3)])
  assert.equal((await listOffset(client, 'deleted', LATEST)).offset, 4n)
})

test('read_committed latest is the last stable offset', async (t) => {
  const { broker, client } = await setup(t, { inMemory: true })
  await createTopic(client, 'lso')
  await produceOk(client, 'lso', buildRecordBatch({ records: [1, 2, 3].map((d) => ({ key: 'k', value: 'v', timestamp: T + d })) }))
  broker.broker.topics.partition('lso', 0)!.log.lastStableOffset = 1
  assert.equal((await listOffset(client, 'lso', LATEST, { isolationLevel: 1 })).offset, 1n)
  assert.equal((await listOffset(client, 'lso', LATEST, { isolationLevel: 0 })).offset, 3n)
  assert.equal((await listOffset(client, 'lso', LATEST, { isolationLevel: 1, version: 2 })).offset, 1n)
})

test('unknown partitions, leader-epoch fencing, several partitions in one request', async (t) => {
  const { broker, client } = await setup(t, { inMemory: true })
  await createTopic(client, 'lo', { partitions: 2 })
  await produceOk(client, 'lo', buildRecordBatch({ records: [{ key: 'k', value: 'v', timestamp: T }] }), { partition: 1 })
  assert.equal((await listOffset(client, 'missing', LATEST)).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
  assert.equal((await listOffset(client, 'lo', LATEST, { partition: 2 })).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
  broker.broker.topics.partition('lo', 0)!.leaderEpoch = 2
  assert.equal((await listOffset(client, 'lo', LATEST, { currentLeaderEpoch: 1 })).errorCode, ErrorCode.FENCED_LEADER_EPOCH)
  assert.equal((await listOffset(client, 'lo', LATEST, { currentLeaderEpoch: 3 })).errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH)
  const ok = await listOffset(client, 'lo', LATEST, { currentLeaderEpoch: 2 })
  assert.deepEqual([ok.errorCode, ok.leaderEpoch], [ErrorCode.NONE, 2])
  const both = await client.request(ListOffsetsApi, 7, {
    replicaId: -1,
    isolationLevel: 0,
    timeoutMs: 5000,
    topics: [{ name: 'lo', partitions: [0, 1].map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: LATEST, maxNumOffsets: 1 })) }]
  })
  assert.deepEqual(both.topics[0]!.partitions.map((p) => [p.partitionIndex, p.offset]), [[0, 0n], [1, 1n]])
})

test('OffsetForLeaderEpoch: where each epoch ended, fencing, unknown partitions', async (t) => {
  const { broker, client } = await setup(t, { inMemory: true })
  await createTopic(client, 'ofle')
  const partition = broker.broker.topics.partition('ofle', 0)!
  for (let i = 0; i < 3; i++) await produceOk(client, 'ofle', buildRecordBatch({ records: [{ key: 'k', value: 'v', timestamp: T }] }))
  partition.leaderEpoch = 2
  for (let i = 0; i < 2; i++) await produceOk(client, 'ofle', buildRecordBatch({ records: [{ key: 'k', value: 'v', timestamp: T }] }))
  const ask = async (leaderEpoch: number, currentLeaderEpoch = -1, topic = 'ofle', version = 4): Promise<[number, number, bigint]> => {
    const r = await client.request(OffsetForLeaderEpochApi, version, { replicaId: -1, topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch, leaderEpoch }] }] })
    const p = r.topics[0]!.partitions[0]!
    return [p.errorCode, p.leaderEpoch, p.endOffset]
  }
  assert.deepEqual(await ask(0), [ErrorCode.NONE, 0, 3n], 'epoch 0 ended where epoch 2 began')
  assert.deepEqual(await ask(1), [ErrorCode.NONE, 0, 3n], 'epoch 1 never happened: the largest epoch below it')
  assert.deepEqual(await ask(2), [ErrorCode.NONE, 2, 5n], 'the current epoch ends at the log end')
  assert.deepEqual(await ask(3), [ErrorCode.NONE, -1, -1n], 'unknown epochs')
  assert.deepEqual(await ask(0, 2, 'ofle', 2), [ErrorCode.NONE, 0, 3n])
  assert.deepEqual((await ask(0, 1)).slice(0, 1), [ErrorCode.FENCED_LEADER_EPOCH])
  assert.deepEqual((await ask(0, 3)).slice(0, 1), [ErrorCode.UNKNOWN_LEADER_EPOCH])
  assert.deepEqual((await ask(0, -1, 'missing')).slice(0, 1), [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION])
})
