// Shared helpers for the broker's in-process tests: a broker plus a raw protocol client, and
// short-hands for the requests most tests need (create a topic, produce a batch, fetch,
// list offsets), each returning the one partition result the test asserts on.
import assert from 'node:assert/strict'
import { createConnection } from 'node:net'
import type { TestContext } from 'node:test'
import {
  CreateTopicsApi, ErrorCode, FetchApi, ListOffsetsApi, MetadataApi, ProduceApi, ZERO_UUID, buildRecordBatch,
  decodeRecordBatch, iterateBatches, type RecordInput
} from '@samsa/protocol'
import type { CreatableTopicResult } from '@samsa/protocol/messages/create-topics'
import type { FetchRequest, FetchResponse, PartitionData } from '@samsa/protocol/messages/fetch'
import type { ListOffsetsPartitionResponse } from '@samsa/protocol/messages/list-offsets'
import type { PartitionProduceResponse } from '@samsa/protocol/messages/produce'
import { type RawClient, type StartBrokerOptions, type TestBroker, connectRaw, startBroker } from '@samsa/testkit'

export { ZERO_UUID }

export interface Setup {
  broker: TestBroker
  client: RawClient
}

/** A broker and one raw client, both cleaned up when the test ends. */
export async function setup (t: TestContext, options: StartBrokerOptions = {}): Promise<Setup> {
  const broker = await startBroker(options)
  t.after(() => broker.stop())
  const client = await connect(t, broker)
  return { broker, client }
}

/** Another raw client to `broker`, closed when the test ends. */
export async function connect (t: TestContext, broker: TestBroker): Promise<RawClient> {
  const client = await connectRaw(broker.bootstrap)
  t.after(() => client.close())
  return client
}

export interface TopicOptions {
  partitions?: number
  replicationFactor?: number
  configs?: Record<string, string>
}

/** Creates a topic (CreateTopics v7) and asserts it worked. */
export async function createTopic (client: RawClient, name: string, options: TopicOptions = {}): Promise<CreatableTopicResult> {
  const response = await client.request(CreateTopicsApi, 7, {
    topics: [{
      name,
      numPartitions: options.partitions ?? 1,
      replicationFactor: options.replicationFactor ?? 1,
      assignments: [],
      configs: Object.entries(options.configs ?? {}).map(([k, v]) => ({ name: k, value: v }))
    }],
    timeoutMs: 5000,
    validateOnly: false
  })
  const result = response.topics[0]!
  assert.equal(result.errorCode, ErrorCode.NONE, `CreateTopics ${name}: ${result.errorMessage}`)
  return result
}

export async function topicId (client: RawClient, name: string): Promise<string> {
  const response = await client.request(MetadataApi, 12, { ...MetadataApi.request.create(), topics: [{ topicId: ZERO_UUID, name }] })
  const topic = response.topics[0]!
  assert.equal(topic.errorCode, ErrorCode.NONE)
  return topic.topicId
}

/** A batch of `count` records with keys k<i>, values v<i> and timestamps `timestamp + i`. */
export function batchOf (count: number, options: { from?: number, timestamp?: number, valueSize?: number } = {}): Buffer {
  const from = options.from ?? 0
  const records: RecordInput[] = []
  for (let i = 0; i < count; i++) {
    const n = from + i
    records.push({
      key: `k${n}`,
      value: options.valueSize === undefined ? `v${n}` : Buffer.alloc(options.valueSize, n & 0xff),
      timestamp: (options.timestamp ?? 1_700_000_000_000) + n
    })
  }
  return buildRecordBatch({ records })
}

export interface ProduceOptions {
  version?: number
  acks?: number
  partition?: number
}

/** Produces `records` to one partition; returns that partition's response. */
export async function produce (client: RawClient, topic: string, records: Buffer | null, options: ProduceOptions = {}): Promise<PartitionProduceResponse> {
  const response = await client.request(ProduceApi, options.version ?? 9, {
    transactionalId: null,
    acks: options.acks ?? -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: options.partition ?? 0, records }] }]
  })
  assert.equal(response.responses.length, 1)
  assert.equal(response.responses[0]!.name, topic)
  return response.responses[0]!.partitionResponses[0]!
}

/** Produces and asserts success; returns the base offset. */
export async function produceOk (client: RawClient, topic: string, records: Buffer, options: ProduceOptions = {}): Promise<number> {
  const r = await produce(client, topic, records, options)
  assert.equal(r.errorCode, ErrorCode.NONE, `Produce to ${topic}: ${r.errorMessage}`)
  return Number(r.baseOffset)
}

export interface FetchPartitionSpec {
  topic: string
  topicId?: string
  partition?: number
  offset?: number
  maxBytes?: number
  currentLeaderEpoch?: number
  lastFetchedEpoch?: number
}

/** A Fetch request for the given partitions (sessionless, no waiting unless overridden). */
export function fetchRequest (partitions: FetchPartitionSpec[], overrides: Partial<FetchRequest> = {}): FetchRequest {
  const topics: FetchRequest['topics'] = []
  for (const p of partitions) {
    let topic = topics.find((t) => t.topic === p.topic && t.topicId === (p.topicId ?? ZERO_UUID))
    if (topic === undefined) {
      topic = { topic: p.topic, topicId: p.topicId ?? ZERO_UUID, partitions: [] }
      topics.push(topic)
    }
    topic.partitions.push({
      partition: p.partition ?? 0,
      currentLeaderEpoch: p.currentLeaderEpoch ?? -1,
      fetchOffset: BigInt(p.offset ?? 0),
      lastFetchedEpoch: p.lastFetchedEpoch ?? -1,
      logStartOffset: -1n,
      partitionMaxBytes: p.maxBytes ?? 1024 * 1024,
      replicaDirectoryId: ZERO_UUID
    })
  }
  return { ...FetchApi.request.create(), maxWaitMs: 0, minBytes: 0, maxBytes: 50 * 1024 * 1024, topics, ...overrides }
}

/** Fetches one partition (v11 unless told) and returns its data. */
export async function fetchOne (client: RawClient, spec: FetchPartitionSpec, options: { version?: number } & Partial<FetchRequest> = {}): Promise<PartitionData> {
  const { version, ...overrides } = options
  const response = await client.request(FetchApi, version ?? 11, fetchRequest([spec], overrides))
  assert.equal(response.errorCode, ErrorCode.NONE)
  return onlyPartition(response)
}

export function onlyPartition (response: FetchResponse): PartitionData {
  assert.equal(response.responses.length, 1, 'one topic in the fetch response')
  assert.equal(response.responses[0]!.partitions.length, 1, 'one partition in the fetch response')
  return response.responses[0]!.partitions[0]!
}

export interface DecodedRecord {
  offset: number
  key: string | null
  value: string | null
  timestamp: number
}

/** Every record of a fetched record set, with absolute offsets and timestamps. */
export function decodeRecords (records: Buffer | null): DecodedRecord[] {
  const out: DecodedRecord[] = []
  if (records === null) return out
  for (const entry of iterateBatches(records)) {
    const batch = decodeRecordBatch(records, entry.position)
    const base = Number(batch.header.baseOffset)
    const logAppendTime = batch.header.timestampType === 1
    for (const r of batch.records) {
      out.push({
        offset: base + r.offsetDelta,
        key: r.key === null ? null : r.key.toString(),
        value: r.value === null ? null : r.value.toString(),
        timestamp: logAppendTime ? Number(batch.header.maxTimestamp) : Number(batch.header.baseTimestamp) + r.timestampDelta
      })
    }
  }
  return out
}

/** The batches of a record set as [baseOffset, lastOffset] pairs. */
export function batchRanges (records: Buffer | null): Array<[number, number]> {
  if (records === null) return []
  return [...iterateBatches(records)].map((e) => {
    const h = decodeRecordBatch(records, e.position).header
    return [Number(h.baseOffset), Number(h.baseOffset) + h.lastOffsetDelta]
  })
}

/** ListOffsets for one partition (v7 unless told). */
export async function listOffset (
  client: RawClient, topic: string, timestamp: bigint, options: { version?: number, isolationLevel?: number, partition?: number, currentLeaderEpoch?: number } = {}
): Promise<ListOffsetsPartitionResponse> {
  const response = await client.request(ListOffsetsApi, options.version ?? 7, {
    replicaId: -1,
    isolationLevel: options.isolationLevel ?? 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: options.partition ?? 0, currentLeaderEpoch: options.currentLeaderEpoch ?? -1, timestamp, maxNumOffsets: 1 }] }],
    timeoutMs: 5000
  })
  return response.topics[0]!.partitions[0]!
}

export function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Polls `condition` every 10 ms until it holds, failing after `timeoutMs`. */
export async function until (condition: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

/** Resolves 'closed' if the connection closes within `ms`, else 'open'. */
export async function closedWithin (client: RawClient, ms: number): Promise<'closed' | 'open'> {
  let timer: NodeJS.Timeout | undefined
  const result = await Promise.race([
    client.closed.then(() => 'closed' as const),
    new Promise<'open'>((resolve) => { timer = setTimeout(() => resolve('open'), ms) })
  ])
  clearTimeout(timer)
  return result
}

export interface Exchange {
  /** Response frames (without their size prefix), in order. */
  frames: Buffer[]
  /** Whether the broker closed the connection. */
  closed: boolean
}

/**
 * Writes `bytes` on a fresh connection and collects response frames until `frames` have
 * arrived, the broker closes the connection, or `timeoutMs` passes.
 */
export async function exchange (port: number, bytes: Buffer, options: { frames?: number, timeoutMs?: number } = {}): Promise<Exchange> {
  const wanted = options.frames ?? 1
  return await new Promise((resolve) => {
    const frames: Buffer[] = []
    let pending = Buffer.alloc(0)
    let settled = false
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write(bytes))
    const finish = (closed: boolean): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve({ frames, closed })
    }
    const timer = setTimeout(() => finish(false), options.timeoutMs ?? 2000)
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk])
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const size = pending.readInt32BE(0)
        frames.push(pending.subarray(4, 4 + size))
        pending = pending.subarray(4 + size)
      }
      if (frames.length >= wanted) {
        // Give a close that follows the response a moment to arrive.
        setTimeout(() => finish(socket.readyState !== 'open'), 20)
      }
    })
    socket.on('error', () => {})
    socket.on('close', () => finish(true))
  })
}

/** A request frame written by hand: size, api key, version, correlation id, then `rest`. */
export function handFrame (apiKey: number, version: number, correlationId: number, rest: Buffer): Buffer {
  const head = Buffer.alloc(12)
  head.writeInt32BE(8 + rest.length, 0)
  head.writeInt16BE(apiKey, 4)
  head.writeInt16BE(version, 6)
  head.writeInt32BE(correlationId, 8)
  return Buffer.concat([head, rest])
}

/** A header-v1 client id (int16 length + bytes; null is -1). */
export function clientIdBytes (clientId: string | null): Buffer {
  if (clientId === null) return Buffer.from([0xff, 0xff])
  const b = Buffer.alloc(2)
  b.writeInt16BE(Buffer.byteLength(clientId))
  return Buffer.concat([b, Buffer.from(clientId)])
}
