import { ConsumerProtocolAssignmentMessage } from '../messages/consumer-protocol-assignment.ts'
import { Reader } from '../primitives/reader.ts'
import { type ConsumerTopicPartitions, type ConsumerTopicPartitionsInput, toCodecTopicPartitions } from './topic-partitions.ts'
import { encodeVersionPrefixed, readVersionPrefix, readVersionedBody } from './versioned.ts'

/**
 * A decoded "consumer" protocol assignment: what the leader hands each member through SyncGroup.
 * `userData` is a view into the decoded buffer; copy it to keep it longer.
 */
export interface ConsumerAssignment {
  /** The version in the prefix, as sent (a version above 3 was read as 3); 0 for an empty buffer. */
  version: number
  assignedPartitions: ConsumerTopicPartitions[]
  userData: Buffer | null
}

/** What {@link encodeAssignment} takes. */
export interface ConsumerAssignmentInput {
  readonly assignedPartitions: readonly ConsumerTopicPartitionsInput[]
  readonly userData?: Buffer | null
}

/** Encodes an assignment as an int16 version and the ConsumerProtocolAssignment body of that version (0-3). */
export function encodeAssignment (assignment: ConsumerAssignmentInput, version: number): Buffer {
  return encodeVersionPrefixed(ConsumerProtocolAssignmentMessage, {
    assignedPartitions: toCodecTopicPartitions(assignment.assignedPartitions),
    userData: assignment.userData ?? null
  }, version, 'assignment')
}

/**
 * Decodes SyncGroup (or DescribeGroups) assignment bytes of protocol type "consumer". Throws
 * ProtocolDecodeError on malformed input.
 *
 * Empty bytes are an empty assignment, not an error: the coordinator gives empty bytes to members
 * the leader left out of SyncGroup, and groups that have not synced yet describe with empty bytes.
 * Kafka's admin client (describeConsumerGroups) reads a zero-length assignment the same way.
 */
export function decodeAssignment (buf: Buffer): ConsumerAssignment {
  if (buf.length === 0) return { version: 0, assignedPartitions: [], userData: null }
  const r = new Reader(buf)
  const version = readVersionPrefix(r, 'assignment')
  const m = readVersionedBody(ConsumerProtocolAssignmentMessage, r, version)
  return { version, assignedPartitions: m.assignedPartitions, userData: m.userData }
}
