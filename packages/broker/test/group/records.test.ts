// The __consumer_offsets record format (Kafka's) and the group-to-partition hash.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { javaStringHashCode, kafkaAbs, partitionForGroup } from '../../src/group/group-hash.ts'
import { type CoordinatorRecord, decodeRecord, encodeRecordKey, encodeRecordValue } from '../../src/group/records.ts'

test('Java String.hashCode and Kafka Utils.abs', () => {
  assert.equal(javaStringHashCode(''), 0)
  assert.equal(javaStringHashCode('hello'), 99162322)
  assert.equal(javaStringHashCode('\u{1F600}'), 1772899) // a surrogate pair: two UTF-16 code units
  assert.equal(javaStringHashCode('polygenelubricants'), -2147483648)
  assert.equal(kafkaAbs(-2147483648), 0)
  assert.equal(kafkaAbs(-5), 5)
  assert.equal(partitionForGroup('polygenelubricants', 50), 0)
  assert.equal(partitionForGroup('hello', 50), 99162322 % 50)
  assert.equal(partitionForGroup('my-group', 50), Math.abs(javaStringHashCode('my-group')) % 50)
})

test('OffsetCommit key v1 and value v3 are byte-exact', () => {
  const record: CoordinatorRecord = {
    type: 'OffsetCommit', groupId: 'g', topic: 't', partition: 7, value: { offset: 42, leaderEpoch: 3, metadata: 'm', commitTimestamp: 1000, expireTimestamp: -1 }
  }
  assert.deepEqual(encodeRecordKey(record), Buffer.from([0, 1, 0, 1, 0x67, 0, 1, 0x74, 0, 0, 0, 7]))
  const value = encodeRecordValue(record)!
  assert.deepEqual(value, Buffer.concat([
    Buffer.from([0, 3]), Buffer.from([0, 0, 0, 0, 0, 0, 0, 42]), Buffer.from([0, 0, 0, 3]), Buffer.from([0, 1, 0x6d]), Buffer.from([0, 0, 0, 0, 0, 0, 0x03, 0xe8])
  ]))
  assert.deepEqual(decodeRecord(encodeRecordKey(record), value), record)
  // With a retention time Kafka writes value v1 (expireTimestamp, no leader epoch).
  const v1: CoordinatorRecord = { ...record, value: { offset: 42, leaderEpoch: -1, metadata: '', commitTimestamp: 5, expireTimestamp: 9 } }
  const bytes = encodeRecordValue(v1)!
  assert.equal(bytes.readInt16BE(0), 1)
  assert.deepEqual(decodeRecord(encodeRecordKey(v1), bytes), v1)
  // Tombstones.
  assert.equal(encodeRecordValue({ ...record, value: null }), null)
  assert.deepEqual(decodeRecord(encodeRecordKey(record), null), { ...record, value: null })
})

test('OffsetCommitValue versions 0, 2 and 4 (flexible) decode; key version 0 too', () => {
  const key0 = Buffer.from([0, 0, 0, 1, 0x67, 0, 1, 0x74, 0, 0, 0, 1])
  const v0 = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9])
  assert.deepEqual(decodeRecord(key0, v0), { type: 'OffsetCommit', groupId: 'g', topic: 't', partition: 1, value: { offset: 5, leaderEpoch: -1, metadata: '', commitTimestamp: 9, expireTimestamp: -1 } })
  const v4 = Buffer.from([0, 4, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 2, 2, 0x78, 0, 0, 0, 0, 0, 0, 0, 9, 0])
  assert.deepEqual(decodeRecord(key0, v4).type === 'OffsetCommit' && (decodeRecord(key0, v4) as { value: unknown }).value,
    { offset: 5, leaderEpoch: 2, metadata: 'x', commitTimestamp: 9, expireTimestamp: -1 })
})

test('GroupMetadata value v3 round-trips and matches the schema layout', () => {
  const record: CoordinatorRecord = {
    type: 'GroupMetadata',
    groupId: 'grp',
    value: {
      protocolType: 'consumer',
      generation: 5,
      protocol: 'range',
      leader: 'm1',
      currentStateTimestamp: 123,
      members: [{ memberId: 'm1', groupInstanceId: null, clientId: 'c', clientHost: '/127.0.0.1', rebalanceTimeout: 300000, sessionTimeout: 10000, subscription: Buffer.from([1, 2]), assignment: Buffer.from([3]) }]
    }
  }
  const key = encodeRecordKey(record)
  assert.deepEqual(key, Buffer.from([0, 2, 0, 3, 0x67, 0x72, 0x70]))
  const value = encodeRecordValue(record)!
  assert.equal(value.readInt16BE(0), 3)
  assert.equal(value.toString('latin1', 4, 12), 'consumer')
  assert.deepEqual(decodeRecord(key, value), record)
})

test('KIP-848 consumer group records round-trip', () => {
  const topicId = '0b5e4d7a-1c2f-4e3d-9a8b-7c6d5e4f3a2b'
  const records: CoordinatorRecord[] = [
    { type: 'ConsumerGroupMetadata', groupId: 'g', value: { epoch: 7 } },
    { type: 'ConsumerGroupPartitionMetadata', groupId: 'g', value: { epoch: 7, topics: [{ topicId, topicName: 't', numPartitions: 3 }] } },
    {
      type: 'ConsumerGroupMemberMetadata',
      groupId: 'g',
      memberId: 'm',
      value: { instanceId: null, rackId: 'r1', clientId: 'c', clientHost: '/1.2.3.4', subscribedTopicNames: ['a', 't'], subscribedTopicRegex: 'x.*', rebalanceTimeoutMs: 30000, serverAssignor: 'uniform' }
    },
    { type: 'ConsumerGroupTargetAssignmentMetadata', groupId: 'g', value: { assignmentEpoch: 7 } },
    { type: 'ConsumerGroupTargetAssignmentMember', groupId: 'g', memberId: 'm', value: { topicPartitions: [{ topicId, partitions: [0, 2] }] } },
    {
      type: 'ConsumerGroupCurrentMemberAssignment',
      groupId: 'g',
      memberId: 'm',
      value: { memberEpoch: 7, previousMemberEpoch: 6, state: 2, assignedPartitions: [{ topicId, partitions: [0] }], partitionsPendingRevocation: [{ topicId, partitions: [1] }] }
    }
  ]
  const types = [3, 4, 5, 6, 7, 8]
  records.forEach((r, i) => {
    const key = encodeRecordKey(r)
    assert.equal(key.readInt16BE(0), types[i])
    const value = encodeRecordValue(r)!
    assert.equal(value.readInt16BE(0), 0)
    assert.deepEqual(decodeRecord(key, value), r)
  })
  // Share-group records (type 10) are skipped, not rejected.
  assert.deepEqual(decodeRecord(Buffer.from([0, 10, 0, 1, 0x67]), Buffer.from([0, 0])), { type: 'Unknown', recordType: 10 })
})
