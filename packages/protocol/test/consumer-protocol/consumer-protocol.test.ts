import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import {
  decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription,
  type ConsumerAssignment, type ConsumerSubscription
} from '../../src/consumer-protocol/mod.ts'
import { DescribeGroupsApi } from '../../src/messages/describe-groups.ts'
import { JoinGroupApi } from '../../src/messages/join-group.ts'
import { SyncGroupApi } from '../../src/messages/sync-group.ts'
import { ProtocolDecodeError, ProtocolEncodeError } from '../../src/primitives/errors.ts'
import { Reader } from '../../src/primitives/reader.ts'

// Golden bytes captured by kafkajs (see /work/shared/kafka-fixtures); read in place, never copied here.
const FIXTURES = process.env.KAFKAJS_FIXTURES ?? '/work/shared/kafka-fixtures/kafkajs'
const noFixtures = !existsSync(FIXTURES)

function fixture (path: string): Buffer {
  return Buffer.from((JSON.parse(readFileSync(join(FIXTURES, path), 'utf8')) as { data: number[] }).data)
}

function readResponse<T> (api: { response: { read: (r: Reader, v: number) => T } }, path: string, v: number): T {
  const r = new Reader(fixture(path))
  const m = api.response.read(r, v)
  assert.equal(r.remaining, 0)
  return m
}

/** A kafkajs subscription: a version 1 prefix on a version 0 body, empty (not null) user data. */
function assertKafkajsSubscription (bytes: Buffer, topic: string): void {
  const sub = decodeSubscription(bytes)
  assert.deepEqual(sub, {
    version: 1, topics: [topic], userData: Buffer.alloc(0), ownedPartitions: [], generationId: -1, rackId: null
  })
  // Same body as our version 0 encoding; only the prefix differs.
  assert.deepEqual(encodeSubscription({ topics: [topic], userData: Buffer.alloc(0) }, 0).subarray(2), bytes.subarray(2))
}

function assertKafkajsAssignment (bytes: Buffer, topic: string, partitions: number[]): void {
  const input = { assignedPartitions: [{ topic, partitions }], userData: Buffer.alloc(0) }
  assert.deepEqual(decodeAssignment(bytes), { version: 1, ...input })
  assert.deepEqual(encodeAssignment(input, 1), bytes)
}

const T1 = 'test-topic-95a688e6831934f5b1af-21486-9dc1527a-1fe5-4ab2-b438-8c06792d5c02'
const T2 = 'test-topic-6d25fae0b963e68547b8-23702-fafdf91d-ed40-4f21-8281-d7abb0d9bdd9'
const T3 = 'test-topic-d167f5ec5302bfc1c649-53384-752a87e8-5936-4f78-8f42-4d920393b5f2'
const T4 = 'test-topic-14918994efdfbee2c114-24495-102a599a-d6d6-4eb4-857c-acb651ebc730'

describe('consumer protocol: kafkajs fixtures', { skip: noFixtures && `no fixtures at ${FIXTURES}` }, () => {
  it('decodes JoinGroup member metadata', () => {
    assertKafkajsSubscription(fixture('protocol/requests/joinGroup/fixtures/v1_assignerMetadata.json'), T1)
    assertKafkajsSubscription(fixture('protocol/requests/joinGroup/fixtures/v2_assignerMetadata.json'), T2)
    assertKafkajsSubscription(fixture('protocol/requests/describeGroups/fixtures/v1_memberMetadata.json'), T3)
    assertKafkajsSubscription(fixture('consumer/__tests__/fixtures/roundRobinAssigner/memberMetadata.json'), 'topic-test')
  })

  it('decodes and re-encodes SyncGroup assignments byte for byte', () => {
    assertKafkajsAssignment(fixture('protocol/requests/syncGroup/fixtures/v1_memberAssignment.json'), T4, [0])
    assertKafkajsAssignment(fixture('protocol/requests/describeGroups/fixtures/v1_memberAssignment.json'), T3, [0])
    assertKafkajsAssignment(fixture('consumer/__tests__/fixtures/roundRobinAssigner/memberAssignment.json'), 'topic-test', [2, 5, 4, 1, 3, 0])
  })

  it('decodes the metadata inside JoinGroup responses', () => {
    const m = readResponse(JoinGroupApi, 'protocol/requests/joinGroup/fixtures/v5_response.json', 5)
    assertKafkajsSubscription(m.members[0]!.metadata, T2)
    // kafkajs's v0 fixture carries a bare version 0 prefix with no body: malformed.
    const v0 = readResponse(JoinGroupApi, 'protocol/requests/joinGroup/fixtures/v0_response.json', 0)
    assert.throws(() => decodeSubscription(v0.members[0]!.metadata), ProtocolDecodeError)
  })

  it('decodes the assignment inside SyncGroup responses, including an empty one', () => {
    for (const v of [1, 2, 3]) {
      const m = readResponse(SyncGroupApi, `protocol/requests/syncGroup/fixtures/v${v}_response.json`, v)
      assertKafkajsAssignment(m.assignment, T4, [0])
    }
    const empty = readResponse(SyncGroupApi, 'protocol/requests/syncGroup/fixtures/v0_response_empty_member_assignment.json', 0)
    assert.equal(empty.assignment.length, 0)
    assert.deepEqual(decodeAssignment(empty.assignment), { version: 0, assignedPartitions: [], userData: null })
  })

  it('decodes the member metadata and assignment inside DescribeGroups responses', () => {
    const m = readResponse(DescribeGroupsApi, 'protocol/requests/describeGroups/fixtures/v1_response.json', 1)
    const group = m.groups[0]!
    assert.equal(group.protocolType, 'consumer')
    assertKafkajsSubscription(group.members[0]!.memberMetadata, T3)
    assertKafkajsAssignment(group.members[0]!.memberAssignment, T3, [0])
  })
})

// ---- properties ----

const topicName = fc.string({ unit: 'grapheme', maxLength: 12 })
const int32 = fc.integer({ min: -2147483648, max: 2147483647 })
const topicPartitions = fc.array(fc.record({ topic: topicName, partitions: fc.array(int32, { maxLength: 5 }) }, { noNullPrototype: true }), { maxLength: 4 })
const userData = fc.option(fc.uint8Array({ maxLength: 32 }).map((a) => Buffer.from(a)), { nil: null })
const subscription = fc.record({
  topics: fc.array(topicName, { maxLength: 5 }),
  userData,
  ownedPartitions: topicPartitions,
  generationId: int32,
  rackId: fc.option(topicName, { nil: null })
}, { noNullPrototype: true })
const assignment = fc.record({ assignedPartitions: topicPartitions, userData }, { noNullPrototype: true })
const version = fc.integer({ min: 0, max: 3 })

/** What a decoder yields for `sub` written at `v`: fields the version lacks take their defaults. */
function projected (sub: Omit<ConsumerSubscription, 'version'>, v: number): ConsumerSubscription {
  return {
    version: v,
    topics: sub.topics,
    userData: sub.userData,
    ownedPartitions: v >= 1 ? sub.ownedPartitions : [],
    generationId: v >= 2 ? sub.generationId : -1,
    rackId: v >= 3 ? sub.rackId : null
  }
}

function withVersion (bytes: Buffer, v: number, trailing: Uint8Array = new Uint8Array()): Buffer {
  const out = Buffer.concat([bytes, trailing])
  out.writeInt16BE(v, 0)
  return out
}

function decodesOrRejects (decode: () => unknown): void {
  try {
    decode()
  } catch (err) {
    assert.ok(err instanceof ProtocolDecodeError, `unexpected ${String(err)}`)
  }
}

describe('consumer protocol: subscription', () => {
  it('round-trips every version, dropping the fields a version lacks', () => {
    fc.assert(fc.property(subscription, version, (sub, v) => {
      const bytes = encodeSubscription(sub, v)
      assert.equal(bytes.readInt16BE(0), v)
      assert.deepEqual(decodeSubscription(bytes), projected(sub, v))
    }))
  })

  it('reads versions above 3 as version 3 and ignores trailing bytes', () => {
    fc.assert(fc.property(subscription, fc.integer({ min: 4, max: 32767 }), fc.uint8Array({ maxLength: 16 }), (sub, v, extra) => {
      const decoded = decodeSubscription(withVersion(encodeSubscription(sub, 3), v, extra))
      assert.deepEqual(decoded, { ...projected(sub, 3), version: v })
    }))
  })

  it('ignores trailing bytes after a known version too', () => {
    fc.assert(fc.property(subscription, version, fc.uint8Array({ minLength: 1, maxLength: 8 }), (sub, v, extra) => {
      assert.deepEqual(decodeSubscription(Buffer.concat([encodeSubscription(sub, v), extra])), projected(sub, v))
    }))
  })

  it('rejects negative versions', () => {
    fc.assert(fc.property(subscription, fc.integer({ min: -32768, max: -1 }), (sub, v) => {
      assert.throws(() => decodeSubscription(withVersion(encodeSubscription(sub, 0), v)), (err: unknown) =>
        err instanceof ProtocolDecodeError && /Unsupported consumer protocol subscription version/.test(err.message))
    }))
  })

  it('accepts a body that is complete for a lower version than its prefix (kafkajs)', () => {
    fc.assert(fc.property(subscription, version, version, (sub, bodyV, prefixV) => {
      fc.pre(prefixV > bodyV)
      const decoded = decodeSubscription(withVersion(encodeSubscription(sub, bodyV), prefixV))
      assert.deepEqual(decoded, { ...projected(sub, bodyV), version: prefixV })
    }))
  })

  it('still rejects a body that is not complete for any version', () => {
    const body = encodeSubscription({ topics: ['t'], userData: null }, 0)
    assert.throws(() => decodeSubscription(withVersion(body, 1, new Uint8Array([0]))), ProtocolDecodeError)
  })

  it('rejects every truncation of a version 0 subscription', () => {
    fc.assert(fc.property(subscription, (sub) => {
      const bytes = encodeSubscription(sub, 0)
      for (let n = 0; n < bytes.length; n++) assert.throws(() => decodeSubscription(bytes.subarray(0, n)), ProtocolDecodeError)
    }), { numRuns: 50 })
  })

  it('throws only ProtocolDecodeError on arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (a) => decodesOrRejects(() => decodeSubscription(Buffer.from(a)))))
  })

  it('refuses to encode versions outside 0-3', () => {
    for (const v of [-1, 4, 1.5, Number.NaN]) {
      assert.throws(() => encodeSubscription({ topics: [] }, v), ProtocolEncodeError)
    }
  })

  it('fills defaults for omitted optional fields', () => {
    assert.deepEqual(decodeSubscription(encodeSubscription({ topics: ['a', 'b'] }, 3)), {
      version: 3, topics: ['a', 'b'], userData: null, ownedPartitions: [], generationId: -1, rackId: null
    })
  })
})

describe('consumer protocol: assignment', () => {
  it('round-trips every version', () => {
    fc.assert(fc.property(assignment, version, (a, v) => {
      const expected: ConsumerAssignment = { version: v, ...a }
      assert.deepEqual(decodeAssignment(encodeAssignment(a, v)), expected)
    }))
  })

  it('reads versions above 3 as version 3 and ignores trailing bytes', () => {
    fc.assert(fc.property(assignment, fc.integer({ min: 4, max: 32767 }), fc.uint8Array({ maxLength: 16 }), (a, v, extra) => {
      assert.deepEqual(decodeAssignment(withVersion(encodeAssignment(a, 3), v, extra)), { version: v, ...a })
    }))
  })

  it('rejects negative versions', () => {
    assert.throws(() => decodeAssignment(withVersion(encodeAssignment({ assignedPartitions: [] }, 0), -1)), ProtocolDecodeError)
  })

  it('decodes empty bytes as an empty assignment, and rejects other truncations', () => {
    assert.deepEqual(decodeAssignment(Buffer.alloc(0)), { version: 0, assignedPartitions: [], userData: null })
    fc.assert(fc.property(assignment, (a) => {
      const bytes = encodeAssignment(a, 1)
      for (let n = 1; n < bytes.length; n++) assert.throws(() => decodeAssignment(bytes.subarray(0, n)), ProtocolDecodeError)
    }), { numRuns: 50 })
  })

  it('throws only ProtocolDecodeError on arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (a) => decodesOrRejects(() => decodeAssignment(Buffer.from(a)))))
  })

  it('refuses to encode versions outside 0-3', () => {
    assert.throws(() => encodeAssignment({ assignedPartitions: [] }, 4), ProtocolEncodeError)
  })
})
