// Byte-exact agreement between our generated codecs and @platformatic/kafka 2.12.1's hand-written
// encoders and parsers (its `apis/**/<api>-v<N>` modules), for every version it implements of
// Produce (v3-v11), Fetch (v4-v17), Metadata (v0-v12), ApiVersions (v0-v4), JoinGroup (v0-v9),
// SyncGroup (v0-v5), OffsetCommit (v0-v9) and ListOffsets (v0-v9). The last describe block
// checks that the package exports exactly those versions, so a release adding one fails here.
//
// Requests: platformatic's `createRequest` builds the body, we encode the same logical request
// (only the fields the version carries: platformatic drops the others, our decoder defaults
// them), the bytes must be identical and our decoder must read theirs back; the request/response
// header versions platformatic declares for the API (it passes them to Connection.send) must be
// Kafka's, and the frame it would assemble (size, header with its Writer, tag buffer when
// flexible, body) must equal ours. Responses: platformatic has no response encoders, so we encode
// and its `parseResponse` must read the values back and consume every byte (2.x reads the tag
// sections 1.x skipped, including known tagged fields, so nothing is left over).
// Record sets are opaque bytes built by platformatic's own `createRecordsBatch`.
//
// The disagreements pinned against 1.35 are all fixed in 2.12.1, so they are agreement tests
// now: Metadata v11 no longer sends include_cluster_authorized_operations; Fetch v12 writes
// forgotten topic names as strings; tagged fields inside array elements parse (readTaggedFields
// reads tag and size, readKnownTaggedFields decodes current_leader, node_endpoints, features...);
// Metadata v8-v10 read cluster_authorized_operations as an INT32 and v11+ not at all; and no
// parser leaves bytes unread, except ApiVersions v3 on an error (pinned below, deliberate).
//
// The package's "exports" only allows the root entry point, which re-exports every API module
// (`produceV3` ... `fetchV17`) and loads on Node 20, so nothing is imported by file path. 2.x
// declares engines node >= 22.22 though: its promise-returning client calls and async gzip use
// Promise.withResolvers, missing on Node 20 (see the Produce gzip test).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as plt from '@platformatic/kafka'
import { type ApiDefinition } from '../../src/api.ts'
import {
  ApiVersionsApi, type ApiVersionsResponse, createApiVersionsRequest, createApiVersionsResponse
} from '../../src/messages/api-versions.ts'
import {
  type FetchRequest, type FetchResponse, type PartitionData, FetchApi, createFetchPartition, createFetchRequest,
  createFetchResponse, createFetchTopic, createFetchableTopicResponse, createForgottenTopic, createPartitionData
} from '../../src/messages/fetch.ts'
import {
  type JoinGroupRequest, type JoinGroupResponse, JoinGroupApi, createJoinGroupRequest, createJoinGroupResponse
} from '../../src/messages/join-group.ts'
import {
  type ListOffsetsRequest, type ListOffsetsResponse, ListOffsetsApi, createListOffsetsPartition,
  createListOffsetsPartitionResponse, createListOffsetsRequest, createListOffsetsResponse
} from '../../src/messages/list-offsets.ts'
import {
  type MetadataRequest, type MetadataResponse, MetadataApi, createMetadataRequest, createMetadataRequestTopic,
  createMetadataResponse, createMetadataResponseBroker, createMetadataResponsePartition, createMetadataResponseTopic
} from '../../src/messages/metadata.ts'
import {
  type OffsetCommitRequest, type OffsetCommitResponse, OffsetCommitApi, createOffsetCommitRequest,
  createOffsetCommitRequestPartition, createOffsetCommitResponse
} from '../../src/messages/offset-commit.ts'
import {
  type ProduceRequest, type ProduceResponse, ProduceApi, createPartitionProduceResponse, createProduceResponse
} from '../../src/messages/produce.ts'
import {
  type SyncGroupRequest, type SyncGroupResponse, SyncGroupApi, createSyncGroupRequest, createSyncGroupResponse
} from '../../src/messages/sync-group.ts'
import { type TaggedField, ZERO_UUID } from '../../src/primitives/mod.ts'
import {
  assertSameBytes, decode, encode, frameRequest, pattern, requestHeaderVersion, responseHeaderVersion, versions
} from './helpers.ts'

// ---------------------------------------------------------------------------------------------
// Shared checks

type PltParser = (correlationId: number, apiKey: number, apiVersion: number, reader: plt.Reader) => unknown
interface PltApiModule { api: { key: number, version: number }, parseResponse?: PltParser }
interface HeaderFlags { requestTags: boolean, responseTags: boolean }
interface PltProtocolError { path: string, apiId: string, apiCode: number, serverErrorMessage: string | null, memberId?: string }
interface PltResponseError { code: string, response: unknown, errors: PltProtocolError[] }

const CORRELATION_ID = 0x0102_0304
const CLIENT_ID = 'samsa-cross-client'

/**
 * What platformatic's `api` hands Connection.send for this API version (captured with a stub
 * connection): the header flags and the response parser the client really runs. That parser is
 * the module's own `parseResponse` except for OffsetCommit v1, which reuses v0's without
 * re-exporting it.
 */
function sendArgs (mod: PltApiModule): { flags: HeaderFlags, parse: PltParser } {
  let captured: { flags: HeaderFlags, parse: PltParser } | undefined
  const connection = {
    send (_key: number, _version: number, _create: unknown, parse: PltParser, requestTags: boolean, responseTags: boolean): void {
      captured = { flags: { requestTags, responseTags }, parse }
    }
  }
  ;(mod.api as unknown as (c: typeof connection) => void)(connection)
  assert.ok(captured !== undefined)
  if (mod.parseResponse !== undefined) assert.equal(captured.parse, mod.parseResponse)
  return captured
}

/** The frame Connection.send assembles: its header (non-compact client id), a tag buffer when told to, the body, the size. */
function pltFrame (mod: PltApiModule, flags: HeaderFlags, body: plt.Writer): Buffer {
  const w = plt.Writer.create()
    .appendInt16(mod.api.key)
    .appendInt16(mod.api.version)
    .appendInt32(CORRELATION_ID)
    .appendString(CLIENT_ID, false)
  if (flags.requestTags) w.appendTaggedFields()
  return w.appendFrom(body).prependLength().buffer
}

function checkRequest<Req, Res> (api: ApiDefinition<Req, Res>, v: number, mod: PltApiModule, request: plt.Writer, ours: Req): void {
  assert.equal(mod.api.key, api.apiKey)
  assert.equal(mod.api.version, v)
  const theirs = request.buffer
  const mine = encode(api.request, ours, v)
  assertSameBytes(mine, theirs, `${api.name} v${v} request body`)
  assert.deepEqual(decode(api.request, theirs, v), ours)
  const { flags } = sendArgs(mod)
  assert.deepEqual(flags, { requestTags: requestHeaderVersion(api, v) === 2, responseTags: responseHeaderVersion(api, v) === 1 },
    `${api.name} v${v} header versions`)
  assertSameBytes(frameRequest(api, v, CORRELATION_ID, CLIENT_ID, mine), pltFrame(mod, flags, request), `${api.name} v${v} request frame`)
}

/**
 * Encodes our response (checking it round-trips) and runs platformatic's parser over the bytes,
 * which must leave exactly `unread` bytes (every byte, unless a test pins otherwise).
 */
function parseOurs<Req, Res> (api: ApiDefinition<Req, Res>, v: number, mod: PltApiModule, ours: Res, unread = 0): unknown {
  const bytes = encode(api.response, ours, v)
  assert.deepEqual(decode(api.response, bytes, v), ours)
  const reader = plt.Reader.from(bytes)
  const checkUnread = (): void => assert.equal(reader.remaining, unread, `${api.name} v${v}: platformatic left ${reader.remaining} bytes unread`)
  let result: unknown
  try {
    result = sendArgs(mod).parse(CORRELATION_ID, api.apiKey, v, reader)
  } catch (e) {
    checkUnread()
    throw e
  }
  checkUnread()
  return result
}

/** Like parseOurs for a response carrying errors: platformatic throws a ResponseError holding the parsed response. */
function parseOursWithErrors<Req, Res> (api: ApiDefinition<Req, Res>, v: number, mod: PltApiModule, ours: Res, unread = 0): PltResponseError {
  try {
    parseOurs(api, v, mod, ours, unread)
  } catch (e) {
    const error = e as PltResponseError
    assert.equal(error.code, 'PLT_KFK_RESPONSE', String(e))
    return error
  }
  return assert.fail('platformatic did not raise the errors in the response')
}

function errorsOf (e: PltResponseError): Array<{ path: string, apiId: string, apiCode: number, serverErrorMessage: string | null }> {
  return e.errors.map((x) => ({ path: x.path, apiId: x.apiId, apiCode: x.apiCode, serverErrorMessage: x.serverErrorMessage }))
}

const T0 = 1_700_000_000_000
const buf = (s: string): Buffer => Buffer.from(s, 'utf8')
const ORDERS_ID = '5a3f2c1e-8d43-4b1e-9a55-3c2b1d0e9f11'
const PAYMENTS_ID = 'c0ffee00-1234-4abc-8def-0123456789ab'
const OLD_TOPIC_ID = '00000000-0000-4000-8000-00000000abcd'
const REPLICA_DIRECTORY_ID = '7e1d0c5b-3a29-4f88-b6e4-2d9c0a1f5e73'
/** What platformatic fills in for INT32 authorized-operations fields a version does not carry (Kafka's default). */
const OPS_UNKNOWN = -2147483648
/** Tagged fields no Kafka version defines (yet): a client must skip them by their declared size. */
const FUTURE = (tag: number): TaggedField[] => [{ tag, data: buf(`future field ${tag}`) }]

// ---------------------------------------------------------------------------------------------
// Produce v3-v11

const PRODUCE = {
  3: plt.produceV3,
  4: plt.produceV4,
  5: plt.produceV5,
  6: plt.produceV6,
  7: plt.produceV7,
  8: plt.produceV8,
  9: plt.produceV9,
  10: plt.produceV10,
  11: plt.produceV11
} as const

/** Messages in the order the application sent them; platformatic groups them by topic, then partition. */
function produceMessages (): plt.MessageRecord[] {
  return [
    { topic: 'orders', partition: 3, key: buf('bulk'), value: pattern(6000, 3), timestamp: BigInt(T0 + 9) },
    {
      topic: 'orders',
      partition: 0,
      key: buf('order-1'),
      value: buf('{"id":1,"total":99.5}'),
      headers: new Map([[buf('trace-id'), buf('a1b2c3')], [buf('source'), buf('web')]]),
      timestamp: BigInt(T0 + 5)
    },
    { topic: 'payments.eu-west', partition: 1, value: Buffer.alloc(0), timestamp: BigInt(T0 + 1) },
    { topic: 'orders', partition: 0, value: buf('no key'), timestamp: BigInt(T0) }
  ]
}

/** Odd versions are transactional, even ones idempotent only. */
function produceOptions (v: number): Partial<plt.CreateRecordsBatchOptions> {
  const sequences = new plt.NumericMap()
  sequences.set('orders:0', 17)
  return { producerId: 4242n, producerEpoch: 3, sequences, ...(v % 2 === 1 ? { transactionalId: 'tx-checkout-1' } : {}) }
}

function produceRequest (v: number, acks = -1): ProduceRequest {
  const options = produceOptions(v)
  const [bulk, first, payment, second] = produceMessages()
  const records = (messages: plt.MessageRecord[]): Buffer => plt.createRecordsBatch(messages, options).buffer
  return {
    transactionalId: options.transactionalId ?? null,
    acks,
    timeoutMs: 30_000,
    topicData: [
      // Partition 0 comes before partition 3 although a message for 3 was sent first.
      { name: 'orders', partitionData: [{ index: 0, records: records([first!, second!]) }, { index: 3, records: records([bulk!]) }] },
      { name: 'payments.eu-west', partitionData: [{ index: 1, records: records([payment!]) }] }
    ]
  }
}

/** A response as the broker sends it at version `v` (fields the version lacks stay at their defaults). */
function produceResponse (v: number, withErrors: boolean): ProduceResponse {
  const m = createProduceResponse()
  m.throttleTimeMs = 250
  const partition = (index: number, baseOffset: bigint): ProduceResponse['responses'][number]['partitionResponses'][number] => ({
    ...createPartitionProduceResponse(),
    index,
    baseOffset,
    logAppendTimeMs: index === 0 ? BigInt(T0 + 50) : -1n,
    ...(v >= 5 ? { logStartOffset: BigInt(index * 100) } : {})
  })
  const failed = partition(3, -1n)
  if (withErrors) {
    failed.errorCode = 87 // INVALID_RECORD
    if (v >= 8) {
      failed.recordErrors = [{ batchIndex: 0, batchIndexErrorMessage: 'null key in compacted topic' }, { batchIndex: 2, batchIndexErrorMessage: null }]
      failed.errorMessage = 'One or more records have been rejected'
    }
  }
  m.responses = [
    { name: 'orders', partitionResponses: [partition(0, 1_234_567_890_123n), failed] },
    { name: 'payments.eu-west', partitionResponses: [partition(1, 0n)] }
  ]
  return m
}

/** What platformatic's parser returns for `m` at version `v`, with the values it fills in for fields the version lacks. */
function pltProduceResponse (m: ProduceResponse, v: number): unknown {
  return {
    responses: m.responses.map((t) => ({
      name: t.name,
      partitionResponses: t.partitionResponses.map((p) => ({
        index: p.index,
        errorCode: p.errorCode,
        baseOffset: p.baseOffset,
        logAppendTimeMs: p.logAppendTimeMs,
        logStartOffset: v >= 5 ? p.logStartOffset : -1n,
        recordErrors: v >= 8 ? p.recordErrors.map((e) => ({ batchIndex: e.batchIndex, batchIndexErrorMessage: e.batchIndexErrorMessage })) : [],
        errorMessage: v >= 8 ? p.errorMessage : null,
        ...(v >= 10 ? { currentLeader: { leaderId: p.currentLeader.leaderId, leaderEpoch: p.currentLeader.leaderEpoch } } : {})
      }))
    })),
    throttleTimeMs: m.throttleTimeMs,
    ...(v >= 10 ? { nodeEndpoints: m.nodeEndpoints.map((e) => ({ nodeId: e.nodeId, host: e.host, port: e.port, rack: e.rack })) } : {})
  }
}

describe('platformatic: Produce', () => {
  for (const v of versions(3, 11)) {
    const mod = PRODUCE[v as keyof typeof PRODUCE]

    it(`v${v} request: same bytes, decodes back (partitions regrouped in ascending order)`, () => {
      checkRequest(ProduceApi, v, mod, mod.createRequest(-1, 30_000, produceMessages(), produceOptions(v)), produceRequest(v))
    })

    it(`v${v} request with acks=0: same bytes, and platformatic expects no response`, () => {
      const request = mod.createRequest(0, 30_000, produceMessages(), produceOptions(v))
      checkRequest(ProduceApi, v, mod, request, produceRequest(v, 0))
      assert.equal((request.context as { noResponse?: boolean }).noResponse, true)
    })

    it(`v${v} response: platformatic parses ours`, () => {
      const ours = produceResponse(v, false)
      assert.deepEqual(parseOurs(ProduceApi, v, mod, ours), pltProduceResponse(ours, v))
    })

    it(`v${v} response with record errors: platformatic raises them`, () => {
      const ours = produceResponse(v, true)
      const e = parseOursWithErrors(ProduceApi, v, mod, ours)
      assert.deepEqual(e.response, pltProduceResponse(ours, v))
      const expected = v >= 8
        ? [
            { path: '/responses/0/partition_responses/1/record_errors/0', apiId: 'UNKNOWN_SERVER_ERROR', apiCode: -1, serverErrorMessage: 'null key in compacted topic' },
            { path: '/responses/0/partition_responses/1', apiId: 'INVALID_RECORD', apiCode: 87, serverErrorMessage: 'One or more records have been rejected' }
          ]
        : [{ path: '/responses/0/partition_responses/1', apiId: 'INVALID_RECORD', apiCode: 87, serverErrorMessage: null }]
      assert.deepEqual(errorsOf(e), expected)
    })
  }

  for (const v of versions(7, 11)) {
    const mod = PRODUCE[v as 7 | 8 | 9 | 10 | 11]

    /** Our request with the record sets `batch` builds (platformatic's asynchronous batch encoder, in the tests below). */
    async function withRecords (batch: (messages: plt.MessageRecord[]) => Promise<plt.Writer>): Promise<ProduceRequest> {
      const [bulk, first, payment, second] = produceMessages()
      const records = async (messages: plt.MessageRecord[]): Promise<Buffer> => (await batch(messages)).buffer
      return {
        ...produceRequest(v),
        topicData: [
          { name: 'orders', partitionData: [{ index: 0, records: await records([first!, second!]) }, { index: 3, records: await records([bulk!]) }] },
          { name: 'payments.eu-west', partitionData: [{ index: 1, records: await records([payment!]) }] }
        ]
      }
    }

    it(`v${v} request through the asynchronous createRequestAsync path: same bytes`, async () => {
      const options = produceOptions(v)
      const ours = await withRecords(async (messages) => await plt.createRecordsBatchAsync(messages, options))
      assert.deepEqual(ours, produceRequest(v))
      checkRequest(ProduceApi, v, mod, await mod.createRequestAsync(-1, 30_000, produceMessages(), produceOptions(v)), ours)
    })

    it(`v${v} gzip request (the only one the client builds asynchronously): same bytes on Node 22+, unusable on Node 20`, async () => {
      const options = { ...produceOptions(v), compression: 'gzip' as const }
      if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
        // 2.x declares engines node >= 22.22 and its async gzip (like every promise-returning
        // client call, through createPromisifiedCallback) needs Promise.withResolvers.
        await assert.rejects(mod.createRequestAsync(-1, 30_000, produceMessages(), options), /withResolvers is not a function/)
        return
      }
      const ours = await withRecords(async (messages) => await plt.createRecordsBatchAsync(messages, options))
      // The batches really are gzip'd (attributes bits 0-2 at offset 21), not the uncompressed ones again.
      assert.equal(ours.topicData[0]!.partitionData[0]!.records!.readInt16BE(21) & 0b111, 1)
      checkRequest(ProduceApi, v, mod, await mod.createRequestAsync(-1, 30_000, produceMessages(), options), ours)
    })
  }

  for (const v of versions(9, 11)) {
    it(`v${v} response with unknown tagged fields at every level: platformatic skips them`, () => {
      // 1.35's Reader.readTaggedFields took the field COUNT for a byte length, so any tagged field
      // inside an array element derailed it; 2.x reads tag, size and skips size bytes.
      const ours = produceResponse(v, false)
      ours.unknownTaggedFields = FUTURE(7)
      ours.responses[0]!.unknownTaggedFields = FUTURE(3)
      ours.responses[0]!.partitionResponses[0]!.unknownTaggedFields = FUTURE(5)
      assert.deepEqual(parseOurs(ProduceApi, v, PRODUCE[v as 9 | 10 | 11], ours), pltProduceResponse(ours, v))
    })
  }

  for (const v of [10, 11] as const) {
    it(`v${v} response with a tagged field inside a partition (current leader, KIP-951): platformatic reads it`, () => {
      // Fixed since 1.35, which could not parse any tagged field inside an array element.
      const ours = produceResponse(v, false)
      ours.responses[0]!.partitionResponses[1] = { ...ours.responses[0]!.partitionResponses[1]!, errorCode: 6, currentLeader: { leaderId: 2, leaderEpoch: 9 } }
      const e = parseOursWithErrors(ProduceApi, v, PRODUCE[v], ours)
      assert.deepEqual(errorsOf(e), [{ path: '/responses/0/partition_responses/1', apiId: 'NOT_LEADER_OR_FOLLOWER', apiCode: 6, serverErrorMessage: null }])
      assert.deepEqual(e.response, pltProduceResponse(ours, v))
      assert.deepEqual((e.response as plt.produceV11.ProduceResponse).responses[0]!.partitionResponses[1]!.currentLeader, { leaderId: 2, leaderEpoch: 9 })
    })

    it(`v${v} response with top-level node endpoints (KIP-951): platformatic reads them`, () => {
      const ours = produceResponse(v, false)
      ours.nodeEndpoints = [
        { nodeId: 2, host: 'broker-2.samsa.local', port: 9093, rack: 'eu-west-1b' },
        { nodeId: 3, host: 'broker-3.samsa.local', port: 9094, rack: null }
      ]
      assert.deepEqual(parseOurs(ProduceApi, v, PRODUCE[v], ours), pltProduceResponse(ours, v))
    })
  }
})

// ---------------------------------------------------------------------------------------------
// Fetch v4-v17

const FETCH = {
  4: plt.fetchV4,
  5: plt.fetchV5,
  6: plt.fetchV6,
  7: plt.fetchV7,
  8: plt.fetchV8,
  9: plt.fetchV9,
  10: plt.fetchV10,
  11: plt.fetchV11,
  12: plt.fetchV12,
  13: plt.fetchV13,
  14: plt.fetchV14,
  15: plt.fetchV15,
  16: plt.fetchV16,
  17: plt.fetchV17
} as const

function pltFetchTopics (v: number): plt.fetchV17.FetchRequestTopic[] {
  // Up to v12 topics are named; platformatic puts the name in the field it calls topicId.
  return [
    {
      topicId: v >= 13 ? ORDERS_ID : 'orders',
      partitions: [
        { partition: 0, currentLeaderEpoch: 5, fetchOffset: 1_234_567_890_123n, lastFetchedEpoch: 4, partitionMaxBytes: 1_048_576 },
        { partition: 3, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, partitionMaxBytes: 524_288 }
      ]
    },
    {
      topicId: v >= 13 ? PAYMENTS_ID : 'payments.eu-west',
      partitions: [{ partition: 1, currentLeaderEpoch: 0, fetchOffset: 42n, lastFetchedEpoch: 0, partitionMaxBytes: 1_048_576 }]
    }
  ]
}

interface FetchSession { isolationLevel: number, sessionId: number, sessionEpoch: number, forgotten: boolean, rackId: string }
const FULL_FETCH: FetchSession = { isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgotten: false, rackId: '' }
const INCREMENTAL_FETCH: FetchSession = { isolationLevel: 1, sessionId: 123_456, sessionEpoch: 7, forgotten: true, rackId: 'eu-west-1a' }

/** The forgotten topic: named up to v12 (1.35 hex-decoded the v12 name into nothing), an id from v13. */
function pltForgotten (v: number): plt.fetchV17.FetchRequestForgottenTopicsData[] {
  return [v >= 13 ? { topicId: OLD_TOPIC_ID, partitions: [0, 2, 5] } : { topic: 'old-topic', partitions: [0, 2, 5] }]
}

function pltFetchRequest (v: number, s: FetchSession): plt.Writer {
  return FETCH[v as keyof typeof FETCH].createRequest(500, 1, 52_428_800, s.isolationLevel, s.sessionId, s.sessionEpoch, pltFetchTopics(v),
    s.forgotten ? pltForgotten(v) : [], s.rackId)
}

/** The same request as we encode it at version `v`: only what the version carries, the rest at its default. */
function fetchRequest (v: number, s: FetchSession): FetchRequest {
  const m = createFetchRequest()
  m.maxWaitMs = 500
  m.minBytes = 1
  m.maxBytes = 52_428_800
  m.isolationLevel = s.isolationLevel
  if (v >= 7) {
    m.sessionId = s.sessionId
    m.sessionEpoch = s.sessionEpoch
    if (s.forgotten) m.forgottenTopicsData = [{ ...createForgottenTopic(), ...(v >= 13 ? { topicId: OLD_TOPIC_ID } : { topic: 'old-topic' }), partitions: [0, 2, 5] }]
  }
  if (v >= 11) m.rackId = s.rackId
  for (const t of pltFetchTopics(v)) {
    m.topics.push({
      ...createFetchTopic(),
      ...(v >= 13 ? { topicId: t.topicId } : { topic: t.topicId }),
      // platformatic always sends log_start_offset -1 (the default: it is for followers).
      partitions: t.partitions.map((p) => ({
        ...createFetchPartition(),
        partition: p.partition,
        fetchOffset: p.fetchOffset,
        partitionMaxBytes: p.partitionMaxBytes,
        ...(v >= 9 ? { currentLeaderEpoch: p.currentLeaderEpoch } : {}),
        ...(v >= 12 ? { lastFetchedEpoch: p.lastFetchedEpoch } : {})
      }))
    })
  }
  return m
}

const BATCH_A: plt.MessageRecord[] = [
  { topic: 'orders', key: buf('user-7'), value: buf('clicked'), headers: new Map([[buf('content-type'), buf('text/plain')]]), timestamp: BigInt(T0) },
  { topic: 'orders', value: buf('scrolled'), timestamp: BigInt(T0 + 3) }
]
const BATCH_B: plt.MessageRecord[] = [{ topic: 'orders', key: buf('blob'), value: pattern(5000, 11), timestamp: BigInt(T0 + 10) }]

/** A batch from platformatic's encoder, moved to `firstOffset` (the base offset is outside the CRC). */
function batchAt (messages: plt.MessageRecord[], firstOffset: bigint): Buffer {
  const out = Buffer.from(plt.createRecordsBatch(messages.map((m) => ({ ...m })), {}).buffer)
  out.writeBigInt64BE(firstOffset, 0)
  return out
}

/** A response as the broker sends it at version `v`: records, an empty and a null record set, aborted transactions. */
function fetchResponse (v: number, errorCode = 0): FetchResponse {
  const m = createFetchResponse()
  m.throttleTimeMs = 120
  if (v >= 7) m.sessionId = 987_654
  const partition = (over: Partial<PartitionData>): PartitionData => ({ ...createPartitionData(), ...over })
  const topic = (name: string, id: string): { topic: string } | { topicId: string } => v >= 13 ? { topicId: id } : { topic: name }
  m.responses = [
    {
      ...createFetchableTopicResponse(),
      ...topic('orders', ORDERS_ID),
      partitions: [
        partition({
          partitionIndex: 0,
          highWatermark: 1_000_003n,
          lastStableOffset: 1_000_001n,
          ...(v >= 5 ? { logStartOffset: 12n } : {}),
          abortedTransactions: [{ producerId: 4242n, firstOffset: 990n }, { producerId: 77n, firstOffset: 991n }],
          records: Buffer.concat([batchAt(BATCH_A, 990n), batchAt(BATCH_B, 992n)])
        }),
        partition({
          partitionIndex: 3,
          errorCode,
          highWatermark: 0n,
          lastStableOffset: 0n,
          ...(v >= 5 ? { logStartOffset: 0n } : {}),
          abortedTransactions: null,
          ...(v >= 11 ? { preferredReadReplica: 2 } : {}),
          records: Buffer.alloc(0)
        })
      ]
    },
    { ...createFetchableTopicResponse(), ...topic('payments.eu-west', PAYMENTS_ID), partitions: [partition({ partitionIndex: 1, highWatermark: 42n, records: null })] }
  ]
  return m
}

/** platformatic's parsed response without the records, with the values it fills in for fields the version lacks. */
function pltFetchFields (m: FetchResponse, v: number): unknown {
  return {
    throttleTimeMs: m.throttleTimeMs,
    errorCode: v >= 7 ? m.errorCode : 0,
    sessionId: v >= 7 ? m.sessionId : 0,
    ...(v >= 16 ? { nodeEndpoints: m.nodeEndpoints.map((e) => ({ nodeId: e.nodeId, host: e.host, port: e.port, rack: e.rack })) } : {}),
    responses: m.responses.map((t) => ({
      topicId: v >= 13 ? t.topicId : t.topic,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        errorCode: p.errorCode,
        highWatermark: p.highWatermark,
        lastStableOffset: p.lastStableOffset,
        logStartOffset: v >= 5 ? p.logStartOffset : -1n,
        ...(v >= 12
          ? {
              divergingEpoch: { epoch: p.divergingEpoch.epoch, endOffset: p.divergingEpoch.endOffset },
              currentLeader: { leaderId: p.currentLeader.leaderId, leaderEpoch: p.currentLeader.leaderEpoch },
              snapshotId: { endOffset: p.snapshotId.endOffset, epoch: p.snapshotId.epoch }
            }
          : {}),
        abortedTransactions: p.abortedTransactions === null ? null : p.abortedTransactions.map((a) => ({ producerId: a.producerId, firstOffset: a.firstOffset })),
        preferredReadReplica: v >= 11 ? p.preferredReadReplica : -1
      }))
    }))
  }
}

interface PltBatchSummary { firstOffset: bigint, lastOffsetDelta: number, records: Array<{ offsetDelta: number, key: Buffer | null, value: Buffer | null, headers: Array<[Buffer | null, Buffer | null]> }> }

/** Splits platformatic's parsed response into its fields and a summary of the record batches it decoded (null: a null record set). */
function withoutRecords (parsed: plt.fetchV17.FetchResponse): { fields: unknown, batches: Array<Array<PltBatchSummary[] | null>> } {
  const batches = parsed.responses.map((t) => t.partitions.map((p) => {
    assert.notEqual(p.records, undefined)
    return p.records === null || p.records === undefined
      ? null
      : p.records.map((b) => ({
        firstOffset: b.firstOffset,
        lastOffsetDelta: b.lastOffsetDelta,
        records: b.records.map((r) => ({ offsetDelta: r.offsetDelta, key: r.key, value: r.value, headers: r.headers }))
      }))
  }))
  const fields = { ...parsed, responses: parsed.responses.map((t) => ({ ...t, partitions: t.partitions.map(({ records: _r, ...rest }) => rest) })) }
  return { fields, batches }
}

const FETCHED_BATCHES = [
  [
    [
      {
        firstOffset: 990n,
        lastOffsetDelta: 1,
        records: [
          { offsetDelta: 0, key: buf('user-7'), value: buf('clicked'), headers: [[buf('content-type'), buf('text/plain')]] },
          { offsetDelta: 1, key: null, value: buf('scrolled'), headers: [] }
        ]
      },
      { firstOffset: 992n, lastOffsetDelta: 0, records: [{ offsetDelta: 0, key: buf('blob'), value: pattern(5000, 11), headers: [] }] }
    ],
    []
  ],
  [null]
]

describe('platformatic: Fetch', () => {
  for (const v of versions(4, 17)) {
    const mod = FETCH[v as keyof typeof FETCH]

    it(`v${v} request, full fetch: same bytes, decodes back`, () => {
      checkRequest(FetchApi, v, mod, pltFetchRequest(v, FULL_FETCH), fetchRequest(v, FULL_FETCH))
    })

    it(`v${v} request, incremental session with forgotten topics and a rack (as far as v${v} carries them): same bytes, decodes back`, () => {
      checkRequest(FetchApi, v, mod, pltFetchRequest(v, INCREMENTAL_FETCH), fetchRequest(v, INCREMENTAL_FETCH))
    })

    it(`v${v} response with record batches: platformatic parses ours`, () => {
      const ours = fetchResponse(v)
      const { fields, batches } = withoutRecords(parseOurs(FetchApi, v, mod, ours) as plt.fetchV17.FetchResponse)
      assert.deepEqual(fields, pltFetchFields(ours, v))
      assert.deepEqual(batches, FETCHED_BATCHES)
    })

    it(`v${v} response with OFFSET_OUT_OF_RANGE: platformatic raises it with its path`, () => {
      const ours = fetchResponse(v, 1)
      const e = parseOursWithErrors(FetchApi, v, mod, ours)
      assert.deepEqual(errorsOf(e), [{ path: '/responses/0/partitions/1', apiId: 'OFFSET_OUT_OF_RANGE', apiCode: 1, serverErrorMessage: null }])
      const { fields, batches } = withoutRecords(e.response as plt.fetchV17.FetchResponse)
      assert.deepEqual(fields, pltFetchFields(ours, v))
      assert.deepEqual(batches, FETCHED_BATCHES)
    })

    if (v >= 7) {
      it(`v${v} response with a top-level FETCH_SESSION_ID_NOT_FOUND: platformatic raises it`, () => {
        const ours = createFetchResponse()
        ours.throttleTimeMs = 3
        ours.errorCode = 70
        // platformatic's path for a top-level error: '/' up to v14, '' from v15 (an inconsistency of its own).
        const e = parseOursWithErrors(FetchApi, v, mod, ours)
        assert.deepEqual(errorsOf(e), [{ path: v >= 15 ? '' : '/', apiId: 'FETCH_SESSION_ID_NOT_FOUND', apiCode: 70, serverErrorMessage: null }])
        assert.deepEqual(e.response, pltFetchFields(ours, v))
      })
    }

    if (v >= 12) {
      it(`v${v} response with the partition tagged fields (diverging epoch, current leader, snapshot id): platformatic reads them`, () => {
        // 1.35 could not parse any tagged field inside an array element (its readTaggedFields
        // took the field count for a byte length); Kafka sends current_leader (KIP-951) with
        // NOT_LEADER_OR_FOLLOWER, diverging_epoch and snapshot_id to followers.
        const ours = fetchResponse(v, 6)
        ours.responses[0]!.partitions[1] = {
          ...ours.responses[0]!.partitions[1]!,
          divergingEpoch: { epoch: 3, endOffset: 500n },
          currentLeader: { leaderId: 2, leaderEpoch: 9 },
          snapshotId: { endOffset: 1_000n, epoch: 4 }
        }
        const e = parseOursWithErrors(FetchApi, v, mod, ours)
        assert.deepEqual(errorsOf(e), [{ path: '/responses/0/partitions/1', apiId: 'NOT_LEADER_OR_FOLLOWER', apiCode: 6, serverErrorMessage: null }])
        const { fields, batches } = withoutRecords(e.response as plt.fetchV17.FetchResponse)
        assert.deepEqual(fields, pltFetchFields(ours, v))
        assert.deepEqual(batches, FETCHED_BATCHES)
        const parsed = (e.response as plt.fetchV17.FetchResponse).responses[0]!.partitions[1]!
        assert.deepEqual([parsed.divergingEpoch, parsed.currentLeader, parsed.snapshotId],
          [{ epoch: 3, endOffset: 500n }, { leaderId: 2, leaderEpoch: 9 }, { endOffset: 1_000n, epoch: 4 }])
      })

      it(`v${v} response with unknown tagged fields at every level: platformatic skips them`, () => {
        const ours = fetchResponse(v)
        ours.unknownTaggedFields = FUTURE(9)
        ours.responses[0]!.unknownTaggedFields = FUTURE(2)
        ours.responses[0]!.partitions[0]!.unknownTaggedFields = FUTURE(6)
        ours.responses[0]!.partitions[0]!.abortedTransactions![1]!.unknownTaggedFields = FUTURE(1)
        const { fields, batches } = withoutRecords(parseOurs(FetchApi, v, mod, ours) as plt.fetchV17.FetchResponse)
        assert.deepEqual(fields, pltFetchFields(ours, v))
        assert.deepEqual(batches, FETCHED_BATCHES)
      })
    }

    if (v >= 16) {
      it(`v${v} response with top-level node endpoints (KIP-951): platformatic reads them`, () => {
        const ours = fetchResponse(v)
        ours.nodeEndpoints = [
          { nodeId: 2, host: 'broker-2.samsa.local', port: 9093, rack: null },
          { nodeId: 3, host: 'broker-3.samsa.local', port: 9094, rack: 'eu-west-1c', unknownTaggedFields: FUTURE(4) }
        ]
        const parsed = parseOurs(FetchApi, v, mod, ours) as plt.fetchV17.FetchResponse
        assert.deepEqual(withoutRecords(parsed).fields, pltFetchFields(ours, v))
        assert.equal(parsed.nodeEndpoints?.length, 2)
      })
    }

    if (v >= 13) {
      it(`v${v} request with a topic name where a topic id belongs: platformatic refuses it`, () => {
        // The root of 1.35's v12 forgotten-topics bug: appendUUID hex-decoded any string, so a
        // name became zero bytes and desynchronized the request. 2.x checks for 16 bytes.
        assert.throws(() => mod.createRequest(500, 1, 52_428_800, 0, 0, -1, [{ topicId: 'orders', partitions: [] }], [], ''), RangeError)
      })
    }
  }

  it('v17 request with a replica directory id (KIP-966 tagged field in a partition): same bytes, decodes back', () => {
    const topics = pltFetchTopics(17)
    topics[0]!.partitions[1]!.replicaDirectoryId = REPLICA_DIRECTORY_ID
    const request = plt.fetchV17.createRequest(500, 1, 52_428_800, 0, 0, -1, topics, [], '')
    const ours = fetchRequest(17, FULL_FETCH)
    ours.topics[0]!.partitions[1]!.replicaDirectoryId = REPLICA_DIRECTORY_ID
    checkRequest(FetchApi, 17, plt.fetchV17, request, ours)
  })
})

// ---------------------------------------------------------------------------------------------
// Metadata v0-v12

const METADATA = {
  0: plt.metadataV0,
  1: plt.metadataV1,
  2: plt.metadataV2,
  3: plt.metadataV3,
  4: plt.metadataV4,
  5: plt.metadataV5,
  6: plt.metadataV6,
  7: plt.metadataV7,
  8: plt.metadataV8,
  9: plt.metadataV9,
  10: plt.metadataV10,
  11: plt.metadataV11,
  12: plt.metadataV12
} as const
/** The versions with include_cluster_authorized_operations (8-10), whose createRequest takes it as a fourth argument. */
const METADATA_CLUSTER_OPS = { 8: plt.metadataV8, 9: plt.metadataV9, 10: plt.metadataV10 } as const

interface MetadataFlags { allowAutoTopicCreation: boolean, includeTopicAuthorizedOperations: boolean, includeClusterAuthorizedOperations: boolean }
/** platformatic's defaults: auto-creation on (Kafka's default; 1.35 defaulted it to false), no authorized operations. */
const METADATA_DEFAULTS: MetadataFlags = { allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false, includeClusterAuthorizedOperations: false }
const METADATA_NON_DEFAULTS: MetadataFlags = { allowAutoTopicCreation: false, includeTopicAuthorizedOperations: true, includeClusterAuthorizedOperations: true }

function pltMetadataRequest (v: number, topics: Array<string | plt.metadataV12.MetadataRequestTopic> | null, f: MetadataFlags): plt.Writer {
  return v >= 8 && v <= 10
    ? METADATA_CLUSTER_OPS[v as 8 | 9 | 10].createRequest(topics, f.allowAutoTopicCreation, f.includeTopicAuthorizedOperations, f.includeClusterAuthorizedOperations)
    : METADATA[v as keyof typeof METADATA].createRequest(topics, f.allowAutoTopicCreation, f.includeTopicAuthorizedOperations)
}

/** The request at version `v`: flags only where the version has them (auto-creation v4+, authorized operations v8+, cluster ones v8-v10). */
function metadataRequest (v: number, topics: Array<{ name: string | null, topicId?: string }> | null, f: MetadataFlags): MetadataRequest {
  const m = createMetadataRequest()
  m.topics = topics === null ? null : topics.map((t) => ({ ...createMetadataRequestTopic(), ...t }))
  if (v >= 4) m.allowAutoTopicCreation = f.allowAutoTopicCreation
  if (v >= 8) m.includeTopicAuthorizedOperations = f.includeTopicAuthorizedOperations
  if (v >= 8 && v <= 10) m.includeClusterAuthorizedOperations = f.includeClusterAuthorizedOperations
  return m
}

/** A response as the broker sends it at version `v` (fields the version lacks stay at their defaults). */
function metadataResponse (v: number, topicError = 0, partitionError = 0): MetadataResponse {
  const m = createMetadataResponse()
  if (v >= 3) m.throttleTimeMs = 30
  m.brokers = [
    { ...createMetadataResponseBroker(), nodeId: 1, host: 'broker-1.samsa.local', port: 9092, ...(v >= 1 ? { rack: 'eu-west-1a' } : {}) },
    { ...createMetadataResponseBroker(), nodeId: 2, host: 'broker-2.samsa.local', port: 9093 }
  ]
  if (v >= 2) m.clusterId = 'samsa-cluster-Zq3x'
  if (v >= 1) m.controllerId = 2
  const partition = (partitionIndex: number, leaderId: number, errorCode = 0): MetadataResponse['topics'][number]['partitions'][number] => ({
    ...createMetadataResponsePartition(),
    errorCode,
    partitionIndex,
    leaderId,
    ...(v >= 7 ? { leaderEpoch: 12 } : {}),
    replicaNodes: [1, 2, 3],
    isrNodes: [leaderId],
    ...(v >= 5 ? { offlineReplicas: [3] } : {})
  })
  m.topics = [
    {
      ...createMetadataResponseTopic(),
      name: 'orders',
      ...(v >= 10 ? { topicId: ORDERS_ID } : {}),
      partitions: [partition(0, 1), partition(1, 2, partitionError)],
      ...(v >= 8 ? { topicAuthorizedOperations: 0b1111_1111_1000 } : {})
    },
    { ...createMetadataResponseTopic(), errorCode: topicError, name: '__consumer_offsets', ...(v >= 1 ? { isInternal: true } : {}), partitions: [] }
  ]
  if (v >= 8 && v <= 10) m.clusterAuthorizedOperations = 0b0111_1111_1000
  return m
}

/** What platformatic's parser returns for `m` at version `v`, with the values it fills in for fields the version lacks. */
function pltMetadata (m: MetadataResponse, v: number): unknown {
  return {
    throttleTimeMs: v >= 3 ? m.throttleTimeMs : 0,
    brokers: m.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: v >= 1 ? b.rack : null })),
    clusterId: v >= 2 ? m.clusterId : null,
    controllerId: v >= 1 ? m.controllerId : -1,
    // v8-v10 read cluster_authorized_operations as the INT32 it is (1.35 read a BOOLEAN in v9/v10 and a nonexistent one in v11).
    ...(v >= 8 && v <= 10 ? { clusterAuthorizedOperations: m.clusterAuthorizedOperations } : {}),
    topics: m.topics.map((t) => ({
      errorCode: t.errorCode,
      name: t.name,
      topicId: v >= 10 ? t.topicId : ZERO_UUID,
      isInternal: v >= 1 ? t.isInternal : false,
      partitions: t.partitions.map((p) => ({
        errorCode: p.errorCode,
        partitionIndex: p.partitionIndex,
        leaderId: p.leaderId,
        leaderEpoch: v >= 7 ? p.leaderEpoch : -1,
        replicaNodes: p.replicaNodes,
        isrNodes: p.isrNodes,
        offlineReplicas: v >= 5 ? p.offlineReplicas : []
      })),
      topicAuthorizedOperations: v >= 8 ? t.topicAuthorizedOperations : OPS_UNKNOWN
    }))
  }
}

describe('platformatic: Metadata', () => {
  for (const v of versions(0, 12)) {
    const mod = METADATA[v as keyof typeof METADATA]
    const names = [{ name: 'orders' }, { name: 'payments.eu-west' }]

    it(`v${v} request for two topics, every flag away from its default (as far as v${v} carries them): same bytes, decodes back`, () => {
      checkRequest(MetadataApi, v, mod, pltMetadataRequest(v, ['orders', 'payments.eu-west'], METADATA_NON_DEFAULTS),
        metadataRequest(v, names, METADATA_NON_DEFAULTS))
    })

    it(`v${v} request for all topics (null) with platformatic's defaults: same bytes`, () => {
      // v0 has no null array: an empty one means all topics, and platformatic sends that.
      checkRequest(MetadataApi, v, mod, mod.createRequest(null), metadataRequest(v, v === 0 ? [] : null, METADATA_DEFAULTS))
    })

    if (v >= 1) {
      it(`v${v} request for no topics (empty list): same bytes`, () => {
        checkRequest(MetadataApi, v, mod, pltMetadataRequest(v, [], METADATA_DEFAULTS), metadataRequest(v, [], METADATA_DEFAULTS))
      })
    }

    it(`v${v} response: platformatic parses ours`, () => {
      const ours = metadataResponse(v)
      assert.deepEqual(parseOurs(MetadataApi, v, mod, ours), pltMetadata(ours, v))
    })

    it(`v${v} response with a topic error and a partition error: platformatic raises both`, () => {
      const ours = metadataResponse(v, 3, 5)
      const e = parseOursWithErrors(MetadataApi, v, mod, ours)
      assert.deepEqual(errorsOf(e), [
        { path: '/topics/0/partitions/1', apiId: 'LEADER_NOT_AVAILABLE', apiCode: 5, serverErrorMessage: null },
        { path: '/topics/1', apiId: 'UNKNOWN_TOPIC_OR_PARTITION', apiCode: 3, serverErrorMessage: null }
      ])
      assert.deepEqual(e.response, pltMetadata(ours, v))
    })

    if (v >= 9) {
      it(`v${v} response with unknown tagged fields at every level: platformatic skips them`, () => {
        const ours = metadataResponse(v)
        ours.unknownTaggedFields = FUTURE(0)
        ours.brokers[1]!.unknownTaggedFields = FUTURE(1)
        ours.topics[0]!.unknownTaggedFields = FUTURE(2)
        ours.topics[0]!.partitions[1]!.unknownTaggedFields = FUTURE(3)
        assert.deepEqual(parseOurs(MetadataApi, v, mod, ours), pltMetadata(ours, v))
      })
    }
  }

  it('v10 and v11 requests given topic objects with ids: the ids are not sent (Kafka only looks topics up by id from v12)', () => {
    for (const v of [10, 11] as const) {
      checkRequest(MetadataApi, v, METADATA[v], METADATA[v].createRequest([{ topicId: ORDERS_ID, name: 'orders' }, 'payments.eu-west']),
        metadataRequest(v, [{ name: 'orders' }, { name: 'payments.eu-west' }], METADATA_DEFAULTS))
    }
  })

  it('v12 request looking a topic up by id (null name): same bytes, decodes back', () => {
    checkRequest(MetadataApi, 12, plt.metadataV12, plt.metadataV12.createRequest([{ topicId: ORDERS_ID }, 'payments.eu-west']),
      metadataRequest(12, [{ topicId: ORDERS_ID, name: null }, { name: 'payments.eu-west' }], METADATA_DEFAULTS))
  })

  it('v12 response with a null topic name (topic looked up by an unknown id): platformatic keeps the null', () => {
    const ours = metadataResponse(12)
    ours.topics = [{ ...createMetadataResponseTopic(), errorCode: 100, name: null, topicId: OLD_TOPIC_ID }]
    const e = parseOursWithErrors(MetadataApi, 12, plt.metadataV12, ours)
    assert.deepEqual(errorsOf(e), [{ path: '/topics/0', apiId: 'UNKNOWN_TOPIC_ID', apiCode: 100, serverErrorMessage: null }])
    assert.deepEqual(e.response, pltMetadata(ours, 12))
  })
})

// ---------------------------------------------------------------------------------------------
// ApiVersions v0-v4

const API_VERSIONS = { 0: plt.apiVersionsV0, 1: plt.apiVersionsV1, 2: plt.apiVersionsV2, 3: plt.apiVersionsV3, 4: plt.apiVersionsV4 } as const

function apiVersionsResponse (v: number, errorCode = 0): ApiVersionsResponse {
  const m = createApiVersionsResponse()
  m.errorCode = errorCode
  m.apiKeys = [
    { apiKey: 0, minVersion: 0, maxVersion: 11 },
    { apiKey: 1, minVersion: 0, maxVersion: 17 },
    { apiKey: 3, minVersion: 0, maxVersion: 12 },
    { apiKey: 18, minVersion: 0, maxVersion: 4 }
  ]
  if (v >= 1) m.throttleTimeMs = 15
  return m
}

function pltApiVersions (m: ApiVersionsResponse, v: number): unknown {
  const names: Record<number, string> = { 0: 'Produce', 1: 'Fetch', 3: 'Metadata', 18: 'ApiVersions' }
  return {
    errorCode: m.errorCode,
    apiKeys: m.apiKeys.map((k) => ({ apiKey: k.apiKey, name: names[k.apiKey], minVersion: k.minVersion, maxVersion: k.maxVersion })),
    throttleTimeMs: v >= 1 ? m.throttleTimeMs : 0,
    ...(v >= 3
      ? {
          supportedFeatures: m.supportedFeatures.map((f) => ({ name: f.name, minVersion: f.minVersion, maxVersion: f.maxVersion })),
          finalizedFeaturesEpoch: m.finalizedFeaturesEpoch,
          finalizedFeatures: m.finalizedFeatures.map((f) => ({ name: f.name, maxVersionLevel: f.maxVersionLevel, minVersionLevel: f.minVersionLevel })),
          zkMigrationReady: m.zkMigrationReady
        }
      : {})
  }
}

describe('platformatic: ApiVersions', () => {
  for (const v of versions(0, 4)) {
    const mod = API_VERSIONS[v as keyof typeof API_VERSIONS]

    it(`v${v} request: same bytes, decodes back; response header has no tag buffer`, () => {
      const ours = v >= 3 ? { clientSoftwareName: 'samsa-cross-client', clientSoftwareVersion: '1.2.3-rc.1' } : createApiVersionsRequest()
      checkRequest(ApiVersionsApi, v, mod, mod.createRequest('samsa-cross-client', '1.2.3-rc.1'), ours)
    })

    it(`v${v} response: platformatic parses ours`, () => {
      assert.deepEqual(parseOurs(ApiVersionsApi, v, mod, apiVersionsResponse(v)), pltApiVersions(apiVersionsResponse(v), v))
    })

    if (v !== 3) {
      it(`v${v} response with an error: platformatic raises it`, () => {
        const ours = apiVersionsResponse(v, 35)
        const e = parseOursWithErrors(ApiVersionsApi, v, mod, ours)
        assert.deepEqual(errorsOf(e), [{ path: '/', apiId: 'UNSUPPORTED_VERSION', apiCode: 35, serverErrorMessage: null }])
        assert.deepEqual(e.response, pltApiVersions(ours, v))
      })
    }
  }

  for (const v of [3, 4] as const) {
    it(`v${v} response with the feature tagged fields (KIP-584) and zk_migration_ready: platformatic reads them`, () => {
      // 1.35 left this whole tag section unread.
      const ours = apiVersionsResponse(v)
      ours.supportedFeatures = [{ name: 'metadata.version', minVersion: 1, maxVersion: 21 }, { name: 'kraft.version', minVersion: 0, maxVersion: 1 }]
      ours.finalizedFeaturesEpoch = 42n
      ours.finalizedFeatures = [{ name: 'metadata.version', maxVersionLevel: 21, minVersionLevel: 21, unknownTaggedFields: FUTURE(8) }]
      ours.zkMigrationReady = true
      ours.apiKeys[2]!.unknownTaggedFields = FUTURE(1)
      ours.unknownTaggedFields = FUTURE(11)
      assert.deepEqual(parseOurs(ApiVersionsApi, v, API_VERSIONS[v], ours), pltApiVersions(ours, v))
    })
  }

  it('v3 response with an error: platformatic reads only the error code, as if the body were v0-framed', () => {
    // Deliberate in platformatic (a broker answers an ApiVersions version it does not support
    // with a v0 body), but it means v3 leaves everything after the error code unread, and
    // reports no api keys even when the broker sent them in v3 form.
    const ours = apiVersionsResponse(3, 35)
    const e = parseOursWithErrors(ApiVersionsApi, 3, plt.apiVersionsV3, ours, encode(ApiVersionsApi.response, ours, 3).length - 2)
    assert.deepEqual(errorsOf(e), [{ path: '/', apiId: 'UNSUPPORTED_VERSION', apiCode: 35, serverErrorMessage: null }])
    assert.deepEqual(e.response, { errorCode: 35, apiKeys: [], throttleTimeMs: 0 })
  })

  it('v3 request answered with a v0 UNSUPPORTED_VERSION body (how Kafka downgrades): platformatic raises it', () => {
    const v0 = createApiVersionsResponse()
    v0.errorCode = 35
    v0.apiKeys = [{ apiKey: 18, minVersion: 0, maxVersion: 2 }]
    const bytes = encode(ApiVersionsApi.response, v0, 0)
    const reader = plt.Reader.from(bytes)
    assert.throws(() => plt.apiVersionsV3.parseResponse(CORRELATION_ID, 18, 3, reader), (e: PltResponseError) => {
      assert.deepEqual(errorsOf(e), [{ path: '/', apiId: 'UNSUPPORTED_VERSION', apiCode: 35, serverErrorMessage: null }])
      return true
    })
    assert.equal(reader.remaining, bytes.length - 2)
  })
})

// ---------------------------------------------------------------------------------------------
// JoinGroup v0-v9

const JOIN_GROUP = {
  0: plt.joinGroupV0,
  1: plt.joinGroupV1,
  2: plt.joinGroupV2,
  3: plt.joinGroupV3,
  4: plt.joinGroupV4,
  5: plt.joinGroupV5,
  6: plt.joinGroupV6,
  7: plt.joinGroupV7,
  8: plt.joinGroupV8,
  9: plt.joinGroupV9
} as const
/** Multi-byte UTF-8 (byte lengths, not characters) and over 127 bytes (a two-byte compact length). */
const JOIN_REASON = `rebalance: new member ✓ (${'ünïcødé '.repeat(20)})`
const CONSUMER_METADATA = Buffer.from('00010000000200066f7264657273000a7061796d656e74732e6575ffffffff', 'hex')

/** The request at version `v`: rebalance timeout v1+, group instance id v5+, reason v8+. */
function joinGroupRequest (v: number, memberId: string, groupInstanceId: string | null, reason: string | null): JoinGroupRequest {
  const m = createJoinGroupRequest()
  m.groupId = 'analytics-consumers'
  m.sessionTimeoutMs = 45_000
  if (v >= 1) m.rebalanceTimeoutMs = 300_000
  m.memberId = memberId
  if (v >= 5) m.groupInstanceId = groupInstanceId
  m.protocolType = 'consumer'
  m.protocols = [{ name: 'roundrobin', metadata: CONSUMER_METADATA }, { name: 'range', metadata: Buffer.alloc(0) }]
  if (v >= 8) m.reason = reason
  return m
}

/** A response at version `v`; with an error it is what Kafka sends then (no protocol, no leader, no members). */
function joinGroupResponse (v: number, errorCode = 0): JoinGroupResponse {
  const m = createJoinGroupResponse()
  if (v >= 2) m.throttleTimeMs = 75
  m.errorCode = errorCode
  m.memberId = errorCode === 0 ? 'member-b' : 'member-assigned-by-broker'
  if (errorCode !== 0) {
    if (v >= 7) m.protocolName = null
    return m
  }
  m.generationId = 7
  if (v >= 7) m.protocolType = 'consumer'
  m.protocolName = 'roundrobin'
  m.leader = 'member-a'
  if (v >= 9) m.skipAssignment = true
  m.members = [
    { memberId: 'member-a', groupInstanceId: v >= 5 ? 'instance-a' : null, metadata: CONSUMER_METADATA },
    { memberId: 'member-b', groupInstanceId: null, metadata: Buffer.alloc(0) }
  ]
  return m
}

function pltJoinGroup (m: JoinGroupResponse, v: number): unknown {
  return {
    throttleTimeMs: v >= 2 ? m.throttleTimeMs : 0,
    errorCode: m.errorCode,
    generationId: m.generationId,
    protocolType: v >= 7 ? m.protocolType : null,
    protocolName: m.protocolName,
    leader: m.leader,
    skipAssignment: v >= 9 ? m.skipAssignment : false,
    memberId: m.memberId,
    members: m.members.map((mb) => ({ memberId: mb.memberId, groupInstanceId: v >= 5 ? mb.groupInstanceId : null, metadata: mb.metadata }))
  }
}

describe('platformatic: JoinGroup', () => {
  for (const v of versions(0, 9)) {
    const mod = JOIN_GROUP[v as keyof typeof JOIN_GROUP]
    const protocols = [{ name: 'roundrobin', metadata: CONSUMER_METADATA }, { name: 'range', metadata: null }]

    it(`v${v} first join (empty member id, no instance id, a reason): same bytes, decodes back`, () => {
      const request = mod.createRequest('analytics-consumers', 45_000, 300_000, '', null, 'consumer', protocols, JOIN_REASON)
      checkRequest(JoinGroupApi, v, mod, request, joinGroupRequest(v, '', null, JOIN_REASON))
    })

    it(`v${v} static member rejoin (null reason): same bytes, decodes back`, () => {
      const request = mod.createRequest('analytics-consumers', 45_000, 300_000, 'member-b', 'instance-7', 'consumer', protocols, null)
      checkRequest(JoinGroupApi, v, mod, request, joinGroupRequest(v, 'member-b', 'instance-7', null))
    })

    it(`v${v} response: platformatic parses ours`, () => {
      const ours = joinGroupResponse(v)
      assert.deepEqual(parseOurs(JoinGroupApi, v, mod, ours), pltJoinGroup(ours, v))
    })

    it(`v${v} response with MEMBER_ID_REQUIRED: platformatic raises it with the assigned member id`, () => {
      const ours = joinGroupResponse(v, 79)
      const e = parseOursWithErrors(JoinGroupApi, v, mod, ours)
      assert.deepEqual(errorsOf(e), [{ path: '/', apiId: 'MEMBER_ID_REQUIRED', apiCode: 79, serverErrorMessage: null }])
      assert.equal(e.errors[0]!.memberId, 'member-assigned-by-broker')
      assert.deepEqual(e.response, pltJoinGroup(ours, v))
    })

    if (v >= 6) {
      it(`v${v} response with unknown tagged fields at every level: platformatic skips them`, () => {
        const ours = joinGroupResponse(v)
        ours.unknownTaggedFields = FUTURE(4)
        ours.members[0]!.unknownTaggedFields = FUTURE(2)
        assert.deepEqual(parseOurs(JoinGroupApi, v, mod, ours), pltJoinGroup(ours, v))
      })
    }
  }
})

// ---------------------------------------------------------------------------------------------
// SyncGroup v0-v5

const SYNC_GROUP = { 0: plt.syncGroupV0, 1: plt.syncGroupV1, 2: plt.syncGroupV2, 3: plt.syncGroupV3, 4: plt.syncGroupV4, 5: plt.syncGroupV5 } as const
const ASSIGNMENT = Buffer.from('000100000001000672656f72646572730000000200000000000000030000000000', 'hex')

/** The request at version `v`: group instance id v3+, protocol type and name v5+. */
function syncGroupRequest (v: number, groupInstanceId: string | null): SyncGroupRequest {
  const m = createSyncGroupRequest()
  m.groupId = 'analytics-consumers'
  m.generationId = 7
  m.memberId = 'member-a'
  if (v >= 3) m.groupInstanceId = groupInstanceId
  if (v >= 5) {
    m.protocolType = 'consumer'
    m.protocolName = 'roundrobin'
  }
  m.assignments = [{ memberId: 'member-a', assignment: ASSIGNMENT }, { memberId: 'member-b', assignment: Buffer.alloc(0) }]
  return m
}

function syncGroupResponse (v: number, errorCode = 0): SyncGroupResponse {
  const m = createSyncGroupResponse()
  if (v >= 1) m.throttleTimeMs = 5
  m.errorCode = errorCode
  if (v >= 5 && errorCode === 0) {
    m.protocolType = 'consumer'
    m.protocolName = 'roundrobin'
  }
  m.assignment = errorCode === 0 ? ASSIGNMENT : Buffer.alloc(0)
  return m
}

function pltSyncGroup (m: SyncGroupResponse, v: number): unknown {
  return {
    throttleTimeMs: v >= 1 ? m.throttleTimeMs : 0,
    errorCode: m.errorCode,
    protocolType: v >= 5 ? m.protocolType : null,
    protocolName: v >= 5 ? m.protocolName : null,
    assignment: m.assignment
  }
}

describe('platformatic: SyncGroup', () => {
  for (const v of versions(0, 5)) {
    const mod = SYNC_GROUP[v as keyof typeof SYNC_GROUP]
    const assignments = [{ memberId: 'member-a', assignment: ASSIGNMENT }, { memberId: 'member-b', assignment: Buffer.alloc(0) }]

    for (const groupInstanceId of [null, 'instance-a']) {
      it(`v${v} request (group instance id ${groupInstanceId}): same bytes, decodes back`, () => {
        const request = mod.createRequest('analytics-consumers', 7, 'member-a', groupInstanceId, 'consumer', 'roundrobin', assignments)
        checkRequest(SyncGroupApi, v, mod, request, syncGroupRequest(v, groupInstanceId))
      })
    }

    it(`v${v} response: platformatic parses ours`, () => {
      const ours = syncGroupResponse(v)
      assert.deepEqual(parseOurs(SyncGroupApi, v, mod, ours), pltSyncGroup(ours, v))
    })

    it(`v${v} response with REBALANCE_IN_PROGRESS: platformatic raises it`, () => {
      const ours = syncGroupResponse(v, 27)
      const e = parseOursWithErrors(SyncGroupApi, v, mod, ours)
      assert.deepEqual(errorsOf(e), [{ path: '/', apiId: 'REBALANCE_IN_PROGRESS', apiCode: 27, serverErrorMessage: null }])
      assert.deepEqual(e.response, pltSyncGroup(ours, v))
    })
  }
})

// ---------------------------------------------------------------------------------------------
// OffsetCommit v0-v9

const OFFSET_COMMIT = {
  0: plt.offsetCommitV0,
  1: plt.offsetCommitV1,
  2: plt.offsetCommitV2,
  3: plt.offsetCommitV3,
  4: plt.offsetCommitV4,
  5: plt.offsetCommitV5,
  6: plt.offsetCommitV6,
  7: plt.offsetCommitV7,
  8: plt.offsetCommitV8,
  9: plt.offsetCommitV9
} as const

const COMMIT_TOPICS = [
  {
    name: 'orders',
    partitions: [
      { partitionIndex: 0, committedOffset: 1_234_567_890_124n, committedLeaderEpoch: 12, committedMetadata: 'committed-by-samsa' },
      { partitionIndex: 3, committedOffset: 0n, committedLeaderEpoch: -1, committedMetadata: '' }
    ]
  },
  {
    // 140 partitions (a two-byte compact array length), metadata over 127 bytes in multi-byte UTF-8.
    name: 'clickstream',
    partitions: Array.from({ length: 140 }, (_, i) => ({
      partitionIndex: i,
      committedOffset: BigInt(i) * 1_000_003n,
      committedLeaderEpoch: i % 5,
      committedMetadata: i % 2 === 0 ? null : `node-${i} ✓ ${'é'.repeat(70)}`
    }))
  },
  { name: 'payments.eu-west', partitions: [{ partitionIndex: 1, committedOffset: 43n, committedLeaderEpoch: 0, committedMetadata: null }] }
]

/**
 * The request at version `v`: generation and member id v1+, group instance id v7+, leader epoch
 * v6+. v1's commit_timestamp and v2-v4's retention_time_ms are sent as -1 (their defaults).
 */
function offsetCommitRequest (v: number, generation: number, memberId: string, groupInstanceId: string | null): OffsetCommitRequest {
  const m = createOffsetCommitRequest()
  m.groupId = 'analytics-consumers'
  if (v >= 1) {
    m.generationIdOrMemberEpoch = generation
    m.memberId = memberId
  }
  if (v >= 7) m.groupInstanceId = groupInstanceId
  m.topics = COMMIT_TOPICS.map((t) => ({
    name: t.name,
    partitions: t.partitions.map(({ committedLeaderEpoch, ...p }) => ({
      ...createOffsetCommitRequestPartition(),
      ...p,
      ...(v >= 6 ? { committedLeaderEpoch } : {})
    }))
  }))
  return m
}

function offsetCommitResponse (v: number, errorCode = 0): OffsetCommitResponse {
  const m = createOffsetCommitResponse()
  if (v >= 3) m.throttleTimeMs = 40
  m.topics = [
    { name: 'orders', partitions: [{ partitionIndex: 0, errorCode: 0 }, { partitionIndex: 3, errorCode }] },
    { name: 'payments.eu-west', partitions: [{ partitionIndex: 1, errorCode: 0 }] },
    { name: 'clickstream', partitions: Array.from({ length: 140 }, (_, i) => ({ partitionIndex: i, errorCode: 0 })) }
  ]
  return m
}

describe('platformatic: OffsetCommit', () => {
  for (const v of versions(0, 9)) {
    const mod = OFFSET_COMMIT[v as keyof typeof OFFSET_COMMIT]

    it(`v${v} request from a group member: same bytes, decodes back`, () => {
      checkRequest(OffsetCommitApi, v, mod, mod.createRequest('analytics-consumers', 7, 'member-a', 'instance-a', COMMIT_TOPICS),
        offsetCommitRequest(v, 7, 'member-a', 'instance-a'))
    })

    it(`v${v} request from a standalone consumer (generation -1, empty member, null instance): same bytes`, () => {
      checkRequest(OffsetCommitApi, v, mod, mod.createRequest('analytics-consumers', -1, '', null, COMMIT_TOPICS), offsetCommitRequest(v, -1, '', null))
    })

    it(`v${v} response: platformatic parses ours`, () => {
      const ours = offsetCommitResponse(v)
      assert.deepEqual(parseOurs(OffsetCommitApi, v, mod, ours), { throttleTimeMs: v >= 3 ? 40 : 0, topics: ours.topics })
    })

    it(`v${v} response with ILLEGAL_GENERATION: platformatic raises it with its path`, () => {
      const ours = offsetCommitResponse(v, 22)
      const e = parseOursWithErrors(OffsetCommitApi, v, mod, ours)
      assert.deepEqual(errorsOf(e), [{ path: '/topics/0/partitions/1', apiId: 'ILLEGAL_GENERATION', apiCode: 22, serverErrorMessage: null }])
      assert.deepEqual(e.response, { throttleTimeMs: v >= 3 ? 40 : 0, topics: ours.topics })
    })
  }
})

// ---------------------------------------------------------------------------------------------
// ListOffsets v0-v9

const LIST_OFFSETS = {
  0: plt.listOffsetsV0,
  1: plt.listOffsetsV1,
  2: plt.listOffsetsV2,
  3: plt.listOffsetsV3,
  4: plt.listOffsetsV4,
  5: plt.listOffsetsV5,
  6: plt.listOffsetsV6,
  7: plt.listOffsetsV7,
  8: plt.listOffsetsV8,
  9: plt.listOffsetsV9
} as const

/** Latest (-1), earliest (-2), a timestamp, and the newer specials: max timestamp (-3, v7+), earliest local (-4, v8+), latest tiered (-5, v9+). */
function listOffsetsTopics (v: number): Array<{ name: string, partitions: Array<{ partitionIndex: number, currentLeaderEpoch: number, timestamp: bigint }> }> {
  const special = v >= 9 ? -5n : v >= 8 ? -4n : v >= 7 ? -3n : BigInt(T0)
  return [
    { name: 'orders', partitions: [{ partitionIndex: 0, currentLeaderEpoch: 12, timestamp: -1n }, { partitionIndex: 3, currentLeaderEpoch: -1, timestamp: -2n }] },
    { name: 'payments.eu-west', partitions: [{ partitionIndex: 1, currentLeaderEpoch: 0, timestamp: special }] }
  ]
}

/** The request at version `v`: isolation level v2+, current leader epoch v4+; v0 asks for max_num_offsets 1 (the default). */
function listOffsetsRequest (v: number, isolationLevel: number): ListOffsetsRequest {
  const m = createListOffsetsRequest()
  m.replicaId = -1
  if (v >= 2) m.isolationLevel = isolationLevel
  m.topics = listOffsetsTopics(v).map((t) => ({
    name: t.name,
    partitions: t.partitions.map(({ currentLeaderEpoch, ...p }) => ({
      ...createListOffsetsPartition(),
      ...p,
      ...(v >= 4 ? { currentLeaderEpoch } : {})
    }))
  }))
  return m
}

/** A response at version `v`; v0 carries a list of old-style offsets instead of timestamp and offset. */
function listOffsetsResponse (v: number, errorCode = 0): ListOffsetsResponse {
  const m = createListOffsetsResponse()
  if (v >= 2) m.throttleTimeMs = 10
  const partition = (partitionIndex: number, timestamp: bigint, offset: bigint, leaderEpoch: number, code = 0): ListOffsetsResponse['topics'][number]['partitions'][number] => ({
    ...createListOffsetsPartitionResponse(),
    partitionIndex,
    errorCode: code,
    ...(v === 0 ? { oldStyleOffsets: offset === -1n ? [] : [offset, offset - 10n] } : { timestamp, offset }),
    ...(v >= 4 ? { leaderEpoch } : {})
  })
  m.topics = [
    { name: 'orders', partitions: [partition(0, -1n, 1_000_003n, 12), partition(3, -1n, -1n, -1, errorCode)] },
    { name: 'payments.eu-west', partitions: [partition(1, BigInt(T0), 40n, 0)] }
  ]
  return m
}

/** platformatic's reading: from v0's old-style offsets it keeps the first (-1 when there is none). */
function pltListOffsets (m: ListOffsetsResponse, v: number): unknown {
  return {
    throttleTimeMs: v >= 2 ? m.throttleTimeMs : 0,
    topics: m.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        errorCode: p.errorCode,
        timestamp: v >= 1 ? p.timestamp : -1n,
        offset: v >= 1 ? p.offset : p.oldStyleOffsets[0] ?? -1n,
        leaderEpoch: v >= 4 ? p.leaderEpoch : -1
      }))
    }))
  }
}

describe('platformatic: ListOffsets', () => {
  for (const v of versions(0, 9)) {
    const mod = LIST_OFFSETS[v as keyof typeof LIST_OFFSETS]

    for (const isolationLevel of [0, 1]) {
      it(`v${v} request (isolation level ${isolationLevel}): same bytes, decodes back`, () => {
        checkRequest(ListOffsetsApi, v, mod, mod.createRequest(-1, isolationLevel, listOffsetsTopics(v)), listOffsetsRequest(v, isolationLevel))
      })
    }

    it(`v${v} response: platformatic parses ours`, () => {
      const ours = listOffsetsResponse(v)
      assert.deepEqual(parseOurs(ListOffsetsApi, v, mod, ours), pltListOffsets(ours, v))
    })

    it(`v${v} response with NOT_LEADER_OR_FOLLOWER: platformatic raises it with its path`, () => {
      const ours = listOffsetsResponse(v, 6)
      const e = parseOursWithErrors(ListOffsetsApi, v, mod, ours)
      assert.deepEqual(errorsOf(e), [{ path: '/topics/0/partitions/1', apiId: 'NOT_LEADER_OR_FOLLOWER', apiCode: 6, serverErrorMessage: null }])
      assert.deepEqual(e.response, pltListOffsets(ours, v))
    })

    if (v >= 6) {
      it(`v${v} response with unknown tagged fields at every level: platformatic skips them`, () => {
        const ours = listOffsetsResponse(v)
        ours.unknownTaggedFields = FUTURE(1)
        ours.topics[1]!.unknownTaggedFields = FUTURE(0)
        ours.topics[0]!.partitions[1]!.unknownTaggedFields = FUTURE(2)
        assert.deepEqual(parseOurs(ListOffsetsApi, v, mod, ours), pltListOffsets(ours, v))
      })
    }
  }
})

// ---------------------------------------------------------------------------------------------
// Coverage

describe('platformatic: version coverage', () => {
  it('the package exports exactly the API versions tested above', () => {
    const tested = Object.entries({
      produce: PRODUCE,
      fetch: FETCH,
      metadata: METADATA,
      apiVersions: API_VERSIONS,
      joinGroup: JOIN_GROUP,
      syncGroup: SYNC_GROUP,
      offsetCommit: OFFSET_COMMIT,
      listOffsets: LIST_OFFSETS
    }).flatMap(([name, modules]) => Object.keys(modules).map((v) => `${name}V${v}`))
    const exported = Object.keys(plt).filter((k) => /^(produce|fetch|metadata|apiVersions|joinGroup|syncGroup|offsetCommit|listOffsets)V\d+$/.test(k))
    assert.deepEqual([...exported].sort(), [...tested].sort())
    for (const [name, modules] of Object.entries({ PRODUCE, FETCH, METADATA, API_VERSIONS, JOIN_GROUP, SYNC_GROUP, OFFSET_COMMIT, LIST_OFFSETS })) {
      for (const [v, mod] of Object.entries(modules)) assert.equal((mod as PltApiModule).api.version, Number(v), `${name} v${v}`)
    }
  })
})
