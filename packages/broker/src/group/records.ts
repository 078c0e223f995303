/**
 * The records of the `__consumer_offsets` topic: Kafka's own on-disk format, so Kafka's tools
 * (kafka-console-consumer with the offsets formatters, kafka-dump-log --offsets-decoder) can read
 * what Samsa writes and Samsa can load what they would write. Schemas: apache/kafka
 * group-coordinator/src/main/resources/common/message/*.json.
 *
 * Every record key starts with an int16: the record type (Kafka calls it the key version),
 * followed by the key fields in the non-flexible encoding (int16-length strings):
 *
 *   type 0, 1  OffsetCommitKey                           group, topic, partition int32
 *   type 2     GroupMetadataKey                          group
 *   type 3     ConsumerGroupMetadataKey                  groupId
 *   type 4     ConsumerGroupPartitionMetadataKey         groupId
 *   type 5     ConsumerGroupMemberMetadataKey            groupId, memberId
 *   type 6     ConsumerGroupTargetAssignmentMetadataKey  groupId
 *   type 7     ConsumerGroupTargetAssignmentMemberKey    groupId, memberId
 *   type 8     ConsumerGroupCurrentMemberAssignmentKey   groupId, memberId
 *   type 16    ConsumerGroupRegularExpressionKey         groupId, regularExpression (read, never written)
 *
 * Other types (share and streams groups) are skipped when loading.
 *
 * Every value starts with an int16 version; a null value (tombstone) deletes the key.
 *
 *   OffsetCommitValue v0   offset int64, metadata string, commitTimestamp int64
 *                     v1   + expireTimestamp int64 (written when the commit has a retention time)
 *                     v2   as v0
 *                     v3   offset int64, leaderEpoch int32, metadata string, commitTimestamp int64 (written)
 *                     v4   v3 fields, flexible (compact strings, tagged fields)
 *   GroupMetadataValue v0-v3 non-flexible, v4 flexible (v3 written): protocolType string,
 *                      generation int32, protocol nullable string, leader nullable string,
 *                      currentStateTimestamp int64 (v2+), members [memberId, groupInstanceId
 *                      nullable string (v3+), clientId, clientHost, rebalanceTimeout int32 (v1+),
 *                      sessionTimeout int32, subscription bytes, assignment bytes]
 *   ConsumerGroup*Value v0, flexible: see the interfaces below; topic ids are 16-byte UUIDs.
 *
 * Records are appended in ordinary v2 record batches (CreateTime, no compression, no producer id).
 */
import {
  ProtocolDecodeError, Reader, Writer, sizeOfBytes, sizeOfCompactNullableString, sizeOfCompactString, sizeOfNullableString,
  sizeOfString, sizeOfUnsignedVarInt
} from '@samsa/protocol'

export const RecordType = {
  LegacyOffsetCommit: 0,
  OffsetCommit: 1,
  GroupMetadata: 2,
  ConsumerGroupMetadata: 3,
  ConsumerGroupPartitionMetadata: 4,
  ConsumerGroupMemberMetadata: 5,
  ConsumerGroupTargetAssignmentMetadata: 6,
  ConsumerGroupTargetAssignmentMember: 7,
  ConsumerGroupCurrentMemberAssignment: 8,
  ConsumerGroupRegularExpression: 16
} as const

export interface OffsetCommitValue {
  offset: number
  /** -1 when unknown. */
  leaderEpoch: number
  metadata: string
  commitTimestamp: number
  /** -1 unless the commit carried a retention time (OffsetCommit v2-4). */
  expireTimestamp: number
}

export interface GroupMetadataMember {
  memberId: string
  groupInstanceId: string | null
  clientId: string
  clientHost: string
  rebalanceTimeout: number
  sessionTimeout: number
  subscription: Buffer
  assignment: Buffer
}

export interface GroupMetadataValue {
  protocolType: string
  generation: number
  protocol: string | null
  leader: string | null
  /** -1 when unknown. */
  currentStateTimestamp: number
  members: GroupMetadataMember[]
}

export interface TopicPartitionsValue {
  topicId: string
  partitions: number[]
}

export interface ConsumerGroupMetadataValue {
  epoch: number
}

export interface ConsumerGroupPartitionMetadataValue {
  epoch: number
  topics: Array<{ topicId: string, topicName: string, numPartitions: number }>
}

export interface ConsumerGroupMemberMetadataValue {
  instanceId: string | null
  rackId: string | null
  clientId: string
  clientHost: string
  subscribedTopicNames: string[]
  subscribedTopicRegex: string | null
  rebalanceTimeoutMs: number
  serverAssignor: string | null
}

export interface ConsumerGroupTargetAssignmentMetadataValue {
  assignmentEpoch: number
}

export interface ConsumerGroupTargetAssignmentMemberValue {
  topicPartitions: TopicPartitionsValue[]
}

export interface ConsumerGroupCurrentMemberAssignmentValue {
  memberEpoch: number
  previousMemberEpoch: number
  /** MemberState: 0 UNREVOKED_PARTITIONS, 1 UNRELEASED_PARTITIONS, 2 STABLE. */
  state: number
  assignedPartitions: TopicPartitionsValue[]
  partitionsPendingRevocation: TopicPartitionsValue[]
}

export type CoordinatorRecord =
  | { type: 'OffsetCommit', groupId: string, topic: string, partition: number, value: OffsetCommitValue | null }
  | { type: 'GroupMetadata', groupId: string, value: GroupMetadataValue | null }
  | { type: 'ConsumerGroupMetadata', groupId: string, value: ConsumerGroupMetadataValue | null }
  | { type: 'ConsumerGroupPartitionMetadata', groupId: string, value: ConsumerGroupPartitionMetadataValue | null }
  | { type: 'ConsumerGroupMemberMetadata', groupId: string, memberId: string, value: ConsumerGroupMemberMetadataValue | null }
  | { type: 'ConsumerGroupTargetAssignmentMetadata', groupId: string, value: ConsumerGroupTargetAssignmentMetadataValue | null }
  | { type: 'ConsumerGroupTargetAssignmentMember', groupId: string, memberId: string, value: ConsumerGroupTargetAssignmentMemberValue | null }
  | { type: 'ConsumerGroupCurrentMemberAssignment', groupId: string, memberId: string, value: ConsumerGroupCurrentMemberAssignmentValue | null }
  | { type: 'ConsumerGroupRegularExpression', groupId: string, regex: string, value: Buffer | null }
  | { type: 'Unknown', recordType: number }

// ---- encoding: the same function runs twice, once counting bytes, once writing them

interface Sink {
  int8 (v: number): void
  int16 (v: number): void
  int32 (v: number): void
  int64 (v: number): void
  uuid (v: string): void
  string (v: string): void
  nullableString (v: string | null): void
  bytes (v: Buffer): void
  compactString (v: string): void
  compactNullableString (v: string | null): void
  /** Compact array length (count + 1). */
  compactLength (n: number): void
  /** Non-flexible array length (int32). */
  length (n: number): void
  /** An empty tagged-field section. */
  noTags (): void
}

class SizeSink implements Sink {
  size = 0
  int8 (): void { this.size += 1 }
  int16 (): void { this.size += 2 }
  int32 (): void { this.size += 4 }
  int64 (): void { this.size += 8 }
  uuid (): void { this.size += 16 }
  string (v: string): void { this.size += sizeOfString(v) }
  nullableString (v: string | null): void { this.size += sizeOfNullableString(v) }
  bytes (v: Buffer): void { this.size += sizeOfBytes(v) }
  compactString (v: string): void { this.size += sizeOfCompactString(v) }
  compactNullableString (v: string | null): void { this.size += sizeOfCompactNullableString(v) }
  compactLength (n: number): void { this.size += sizeOfUnsignedVarInt(n + 1) }
  length (): void { this.size += 4 }
  noTags (): void { this.size += 1 }
}

class WriteSink implements Sink {
  readonly w: Writer
  constructor (size: number) { this.w = new Writer(size) }
  int8 (v: number): void { this.w.writeInt8(v) }
  int16 (v: number): void { this.w.writeInt16(v) }
  int32 (v: number): void { this.w.writeInt32(v) }
  int64 (v: number): void { this.w.writeInt64(BigInt(v)) }
  uuid (v: string): void { this.w.writeUuid(v) }
  string (v: string): void { this.w.writeString(v) }
  nullableString (v: string | null): void { this.w.writeNullableString(v) }
  bytes (v: Buffer): void { this.w.writeBytes(v) }
  compactString (v: string): void { this.w.writeCompactString(v) }
  compactNullableString (v: string | null): void { this.w.writeCompactNullableString(v) }
  compactLength (n: number): void { this.w.writeUnsignedVarInt(n + 1) }
  length (n: number): void { this.w.writeInt32(n) }
  noTags (): void { this.w.writeUnsignedVarInt(0) }
}

function encode (fn: (s: Sink) => void): Buffer {
  const counter = new SizeSink()
  fn(counter)
  const sink = new WriteSink(counter.size)
  fn(sink)
  return sink.w.toBuffer()
}

const TYPE_OF: Record<Exclude<CoordinatorRecord['type'], 'Unknown'>, number> = {
  OffsetCommit: RecordType.OffsetCommit,
  GroupMetadata: RecordType.GroupMetadata,
  ConsumerGroupMetadata: RecordType.ConsumerGroupMetadata,
  ConsumerGroupPartitionMetadata: RecordType.ConsumerGroupPartitionMetadata,
  ConsumerGroupMemberMetadata: RecordType.ConsumerGroupMemberMetadata,
  ConsumerGroupTargetAssignmentMetadata: RecordType.ConsumerGroupTargetAssignmentMetadata,
  ConsumerGroupTargetAssignmentMember: RecordType.ConsumerGroupTargetAssignmentMember,
  ConsumerGroupCurrentMemberAssignment: RecordType.ConsumerGroupCurrentMemberAssignment,
  ConsumerGroupRegularExpression: RecordType.ConsumerGroupRegularExpression
}

export function encodeRecordKey (record: CoordinatorRecord): Buffer {
  if (record.type === 'Unknown') throw new Error('Cannot encode an unknown record')
  const type = TYPE_OF[record.type]
  return encode((s) => {
    s.int16(type)
    s.string(record.groupId)
    switch (record.type) {
      case 'OffsetCommit':
        s.string(record.topic)
        s.int32(record.partition)
        break
      case 'ConsumerGroupMemberMetadata':
      case 'ConsumerGroupTargetAssignmentMember':
      case 'ConsumerGroupCurrentMemberAssignment':
        s.string(record.memberId)
        break
      case 'ConsumerGroupRegularExpression':
        s.string(record.regex)
        break
      default:
    }
  })
}

function topicPartitions (s: Sink, list: readonly TopicPartitionsValue[]): void {
  s.compactLength(list.length)
  for (const tp of list) {
    s.uuid(tp.topicId)
    s.compactLength(tp.partitions.length)
    for (const p of tp.partitions) s.int32(p)
    s.noTags()
  }
}

/** The value bytes, or null for a tombstone. */
export function encodeRecordValue (record: CoordinatorRecord): Buffer | null {
  if (record.type === 'Unknown' || record.value === null) return null
  switch (record.type) {
    case 'OffsetCommit': {
      const v = record.value
      const version = v.expireTimestamp >= 0 ? 1 : 3
      return encode((s) => {
        s.int16(version)
        s.int64(v.offset)
        if (version >= 3) s.int32(v.leaderEpoch)
        s.string(v.metadata)
        s.int64(v.commitTimestamp)
        if (version === 1) s.int64(v.expireTimestamp)
      })
    }
    case 'GroupMetadata': {
      const v = record.value
      return encode((s) => {
        s.int16(3)
        s.string(v.protocolType)
        s.int32(v.generation)
        s.nullableString(v.protocol)
        s.nullableString(v.leader)
        s.int64(v.currentStateTimestamp)
        s.length(v.members.length)
        for (const m of v.members) {
          s.string(m.memberId)
          s.nullableString(m.groupInstanceId)
          s.string(m.clientId)
          s.string(m.clientHost)
          s.int32(m.rebalanceTimeout)
          s.int32(m.sessionTimeout)
          s.bytes(m.subscription)
          s.bytes(m.assignment)
        }
      })
    }
    case 'ConsumerGroupMetadata': {
      const v = record.value
      return encode((s) => { s.int16(0); s.int32(v.epoch); s.noTags() })
    }
    case 'ConsumerGroupPartitionMetadata': {
      const v = record.value
      return encode((s) => {
        s.int16(0)
        s.int32(v.epoch)
        s.compactLength(v.topics.length)
        for (const t of v.topics) {
          s.uuid(t.topicId)
          s.compactString(t.topicName)
          s.int32(t.numPartitions)
          s.compactLength(0) // PartitionRacks: Samsa does not do rack-aware assignment
          s.noTags()
        }
        s.noTags()
      })
    }
    case 'ConsumerGroupMemberMetadata': {
      const v = record.value
      return encode((s) => {
        s.int16(0)
        s.compactNullableString(v.instanceId)
        s.compactNullableString(v.rackId)
        s.compactString(v.clientId)
        s.compactString(v.clientHost)
        s.compactLength(v.subscribedTopicNames.length)
        for (const name of v.subscribedTopicNames) s.compactString(name)
        s.compactNullableString(v.subscribedTopicRegex)
        s.int32(v.rebalanceTimeoutMs)
        s.compactNullableString(v.serverAssignor)
        s.noTags()
      })
    }
    case 'ConsumerGroupTargetAssignmentMetadata': {
      const v = record.value
      return encode((s) => { s.int16(0); s.int32(v.assignmentEpoch); s.noTags() })
    }
    case 'ConsumerGroupTargetAssignmentMember': {
      const v = record.value
      return encode((s) => { s.int16(0); topicPartitions(s, v.topicPartitions); s.noTags() })
    }
    case 'ConsumerGroupCurrentMemberAssignment': {
      const v = record.value
      return encode((s) => {
        s.int16(0)
        s.int32(v.memberEpoch)
        s.int32(v.previousMemberEpoch)
        s.int8(v.state)
        topicPartitions(s, v.assignedPartitions)
        topicPartitions(s, v.partitionsPendingRevocation)
        s.noTags()
      })
    }
    case 'ConsumerGroupRegularExpression':
      return record.value
  }
}

// ---- decoding

function skipTags (r: Reader): void {
  const count = r.readUnsignedVarInt()
  for (let i = 0; i < count; i++) {
    r.readUnsignedVarInt()
    r.skip(r.readUnsignedVarInt())
  }
}

function readCompactArray<T> (r: Reader, minSize: number, item: () => T): T[] {
  const n = r.readCompactArrayLength(minSize)
  const out: T[] = []
  for (let i = 0; i < n; i++) out.push(item())
  return out
}

function readTopicPartitions (r: Reader): TopicPartitionsValue[] {
  return readCompactArray(r, 18, () => {
    const topicId = r.readUuid()
    const partitions = readCompactArray(r, 4, () => r.readInt32())
    skipTags(r)
    return { topicId, partitions }
  })
}

function decodeOffsetCommitValue (r: Reader): OffsetCommitValue {
  const version = r.readInt16()
  if (version < 0 || version > 4) r.fail(`Unknown OffsetCommitValue version ${version}`)
  const flexible = version >= 4
  const offset = Number(r.readInt64())
  const leaderEpoch = version >= 3 ? r.readInt32() : -1
  const metadata = flexible ? r.readCompactString() : r.readString()
  const commitTimestamp = Number(r.readInt64())
  const expireTimestamp = version === 1 ? Number(r.readInt64()) : -1
  if (flexible) skipTags(r)
  return { offset, leaderEpoch, metadata, commitTimestamp, expireTimestamp }
}

function decodeGroupMetadataValue (r: Reader): GroupMetadataValue {
  const version = r.readInt16()
  if (version < 0 || version > 4) r.fail(`Unknown GroupMetadataValue version ${version}`)
  const flexible = version >= 4
  const str = (): string => flexible ? r.readCompactString() : r.readString()
  const nstr = (): string | null => flexible ? r.readCompactNullableString() : r.readNullableString()
  const bytes = (): Buffer => flexible ? r.readCompactBytes() : r.readBytes()
  const protocolType = str()
  const generation = r.readInt32()
  const protocol = nstr()
  const leader = nstr()
  const currentStateTimestamp = version >= 2 ? Number(r.readInt64()) : -1
  const count = flexible ? r.readCompactArrayLength(10) : r.readArrayLength(10)
  const members: GroupMetadataMember[] = []
  for (let i = 0; i < count; i++) {
    const memberId = str()
    const groupInstanceId = version >= 3 ? nstr() : null
    const clientId = str()
    const clientHost = str()
    const rebalanceTimeout = version >= 1 ? r.readInt32() : -1
    const sessionTimeout = r.readInt32()
    const subscription = bytes()
    const assignment = bytes()
    if (flexible) skipTags(r)
    members.push({
      memberId, groupInstanceId, clientId, clientHost, rebalanceTimeout: rebalanceTimeout < 0 ? sessionTimeout : rebalanceTimeout,
      sessionTimeout, subscription, assignment
    })
  }
  if (flexible) skipTags(r)
  return { protocolType, generation, protocol, leader, currentStateTimestamp, members }
}

function flexibleV0 (r: Reader, name: string): void {
  const version = r.readInt16()
  if (version !== 0) r.fail(`Unknown ${name} version ${version}`)
}

/**
 * Decodes one `__consumer_offsets` record. Throws ProtocolDecodeError on malformed bytes;
 * record types Samsa does not use come back as `{ type: 'Unknown' }`.
 */
export function decodeRecord (key: Buffer, value: Buffer | null): CoordinatorRecord {
  const k = new Reader(key)
  const type = k.readInt16()
  const v = value === null ? null : new Reader(value)
  switch (type) {
    case RecordType.LegacyOffsetCommit:
    case RecordType.OffsetCommit: {
      const groupId = k.readString()
      const topic = k.readString()
      const partition = k.readInt32()
      return { type: 'OffsetCommit', groupId, topic, partition, value: v === null ? null : decodeOffsetCommitValue(v) }
    }
    case RecordType.GroupMetadata:
      return { type: 'GroupMetadata', groupId: k.readString(), value: v === null ? null : decodeGroupMetadataValue(v) }
    case RecordType.ConsumerGroupMetadata: {
      const groupId = k.readString()
      if (v === null) return { type: 'ConsumerGroupMetadata', groupId, value: null }
      flexibleV0(v, 'ConsumerGroupMetadataValue')
      const epoch = v.readInt32()
      skipTags(v)
      return { type: 'ConsumerGroupMetadata', groupId, value: { epoch } }
    }
    case RecordType.ConsumerGroupPartitionMetadata: {
      const groupId = k.readString()
      if (v === null) return { type: 'ConsumerGroupPartitionMetadata', groupId, value: null }
      flexibleV0(v, 'ConsumerGroupPartitionMetadataValue')
      const epoch = v.readInt32()
      const topics = readCompactArray(v, 22, () => {
        const topicId = v.readUuid()
        const topicName = v.readCompactString()
        const numPartitions = v.readInt32()
        readCompactArray(v, 2, () => {
          v.readInt32()
          readCompactArray(v, 1, () => v.readCompactString())
          skipTags(v)
          return null
        })
        skipTags(v)
        return { topicId, topicName, numPartitions }
      })
      skipTags(v)
      return { type: 'ConsumerGroupPartitionMetadata', groupId, value: { epoch, topics } }
    }
    case RecordType.ConsumerGroupMemberMetadata: {
      const groupId = k.readString()
      const memberId = k.readString()
      if (v === null) return { type: 'ConsumerGroupMemberMetadata', groupId, memberId, value: null }
      flexibleV0(v, 'ConsumerGroupMemberMetadataValue')
      const instanceId = v.readCompactNullableString()
      const rackId = v.readCompactNullableString()
      const clientId = v.readCompactString()
      const clientHost = v.readCompactString()
      const subscribedTopicNames = readCompactArray(v, 1, () => v.readCompactString())
      const subscribedTopicRegex = v.readCompactNullableString()
      const rebalanceTimeoutMs = v.readInt32()
      const serverAssignor = v.readCompactNullableString()
      skipTags(v)
      return {
        type: 'ConsumerGroupMemberMetadata',
        groupId,
        memberId,
        value: { instanceId, rackId, clientId, clientHost, subscribedTopicNames, subscribedTopicRegex, rebalanceTimeoutMs, serverAssignor }
      }
    }
    case RecordType.ConsumerGroupTargetAssignmentMetadata: {
      const groupId = k.readString()
      if (v === null) return { type: 'ConsumerGroupTargetAssignmentMetadata', groupId, value: null }
      flexibleV0(v, 'ConsumerGroupTargetAssignmentMetadataValue')
      const assignmentEpoch = v.readInt32()
      skipTags(v)
      return { type: 'ConsumerGroupTargetAssignmentMetadata', groupId, value: { assignmentEpoch } }
    }
    case RecordType.ConsumerGroupTargetAssignmentMember: {
      const groupId = k.readString()
      const memberId = k.readString()
      if (v === null) return { type: 'ConsumerGroupTargetAssignmentMember', groupId, memberId, value: null }
      flexibleV0(v, 'ConsumerGroupTargetAssignmentMemberValue')
      const tps = readTopicPartitions(v)
      skipTags(v)
      return { type: 'ConsumerGroupTargetAssignmentMember', groupId, memberId, value: { topicPartitions: tps } }
    }
    case RecordType.ConsumerGroupCurrentMemberAssignment: {
      const groupId = k.readString()
      const memberId = k.readString()
      if (v === null) return { type: 'ConsumerGroupCurrentMemberAssignment', groupId, memberId, value: null }
      flexibleV0(v, 'ConsumerGroupCurrentMemberAssignmentValue')
      const memberEpoch = v.readInt32()
      const previousMemberEpoch = v.readInt32()
      const state = v.readInt8()
      const assignedPartitions = readTopicPartitions(v)
      const partitionsPendingRevocation = readTopicPartitions(v)
      skipTags(v)
      return {
        type: 'ConsumerGroupCurrentMemberAssignment',
        groupId,
        memberId,
        value: { memberEpoch, previousMemberEpoch, state, assignedPartitions, partitionsPendingRevocation }
      }
    }
    case RecordType.ConsumerGroupRegularExpression: {
      const groupId = k.readString()
      const regex = k.readString()
      return { type: 'ConsumerGroupRegularExpression', groupId, regex, value }
    }
    default:
      if (type < 0) throw new ProtocolDecodeError(`Invalid __consumer_offsets record type ${type}`, 0)
      return { type: 'Unknown', recordType: type }
  }
}
