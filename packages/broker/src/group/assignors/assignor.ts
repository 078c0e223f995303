/**
 * Server-side partition assignors for KIP-848 consumer groups (`group.consumer.assignors`).
 * An assignor maps every member to the partitions it should own, by topic id. It receives each
 * member's current target assignment so it can keep partitions where they are (stickiness).
 */

/** Partitions by topic id. */
export type TopicPartitionSet = Map<string, Set<number>>

export interface AssignmentMember {
  memberId: string
  instanceId: string | null
  rackId: string | null
  /** Topic ids the member subscribes to (resolved names and regex) that exist. */
  subscribedTopicIds: ReadonlySet<string>
  /** The member's current target assignment (for stickiness). */
  assignment: ReadonlyMap<string, ReadonlySet<number>>
}

export interface AssignmentTopic {
  name: string
  numPartitions: number
}

export interface AssignmentSpec {
  members: readonly AssignmentMember[]
  /** Every subscribed topic, by id. */
  topics: ReadonlyMap<string, AssignmentTopic>
}

export interface PartitionAssignor {
  readonly name: string
  /** The new target assignment of every member in the spec. */
  assign (spec: AssignmentSpec): Map<string, TopicPartitionSet>
}

export function emptyAssignment (spec: AssignmentSpec): Map<string, TopicPartitionSet> {
  return new Map(spec.members.map((m) => [m.memberId, new Map<string, Set<number>>()]))
}

export function compareStrings (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
