/**
 * A group of the KIP-848 consumer protocol (ConsumerGroupHeartbeat): the group epoch, the
 * target assignment computed on the server and its epoch, each member's subscription, epoch and
 * current assignment, and which member epoch owns each partition. As in Kafka, this state only
 * changes by replaying `__consumer_offsets` records (`replay`), both when the coordinator writes
 * them and when it loads the topic, so what is loaded is exactly what was served.
 *
 * Group states: Empty (no members), Assigning (group epoch > assignment epoch), Reconciling (a
 * member has not reached the target assignment), Stable.
 */
import type { CoordinatorRecord, TopicPartitionsValue } from './records.ts'
import { GroupOffsets } from './offsets.ts'

export const MemberState = {
  UNREVOKED_PARTITIONS: 0,
  UNRELEASED_PARTITIONS: 1,
  STABLE: 2,
  UNKNOWN: 127
} as const

export const ConsumerGroupState = {
  Empty: 'Empty',
  Assigning: 'Assigning',
  Reconciling: 'Reconciling',
  Stable: 'Stable',
  Dead: 'Dead'
} as const
export type ConsumerGroupState = typeof ConsumerGroupState[keyof typeof ConsumerGroupState]

/** Partitions by topic id. */
export type Assignment = Map<string, Set<number>>

export function toAssignment (list: readonly TopicPartitionsValue[]): Assignment {
  const out: Assignment = new Map()
  for (const tp of list) {
    if (tp.partitions.length === 0) continue
    let set = out.get(tp.topicId)
    if (set === undefined) out.set(tp.topicId, set = new Set())
    for (const p of tp.partitions) set.add(p)
  }
  return out
}

export function fromAssignment (a: ReadonlyMap<string, ReadonlySet<number>>): TopicPartitionsValue[] {
  const out: TopicPartitionsValue[] = []
  for (const [topicId, set] of a) if (set.size > 0) out.push({ topicId, partitions: [...set].sort((x, y) => x - y) })
  return out.sort((x, y) => (x.topicId < y.topicId ? -1 : x.topicId > y.topicId ? 1 : 0))
}

export function assignmentsEqual (a: ReadonlyMap<string, ReadonlySet<number>>, b: ReadonlyMap<string, ReadonlySet<number>>): boolean {
  let na = 0
  for (const set of a.values()) if (set.size > 0) na++
  let nb = 0
  for (const set of b.values()) if (set.size > 0) nb++
  if (na !== nb) return false
  for (const [topicId, set] of a) {
    if (set.size === 0) continue
    const other = b.get(topicId)
    if (other === undefined || other.size !== set.size) return false
    for (const p of set) if (!other.has(p)) return false
  }
  return true
}

export class ConsumerGroupMember {
  readonly memberId: string
  instanceId: string | null = null
  rackId: string | null = null
  clientId = ''
  clientHost = ''
  subscribedTopicNames: string[] = []
  subscribedTopicRegex: string | null = null
  rebalanceTimeoutMs = -1
  serverAssignor: string | null = null
  memberEpoch = 0
  previousMemberEpoch = -1
  state: number = MemberState.STABLE
  assignedPartitions: Assignment = new Map()
  partitionsPendingRevocation: Assignment = new Map()

  constructor (memberId: string) {
    this.memberId = memberId
  }

  isReconciledTo (targetAssignmentEpoch: number): boolean {
    return this.state === MemberState.STABLE && this.memberEpoch === targetAssignmentEpoch
  }
}

export interface SubscribedTopic {
  topicId: string
  numPartitions: number
}

export class ConsumerGroup {
  readonly type = 'consumer'
  readonly groupId: string
  groupEpoch = 0
  assignmentEpoch = 0
  readonly members = new Map<string, ConsumerGroupMember>()
  /** instance id -> member id. */
  readonly staticMembers = new Map<string, string>()
  readonly targetAssignment = new Map<string, Assignment>()
  /** The subscribed topics and their partition counts, as last written. */
  subscriptionMetadata = new Map<string, SubscribedTopic>()
  /** topic id -> partition -> epoch of the member that owns it (assigned or pending revocation). */
  readonly partitionEpochs = new Map<string, Map<number, number>>()
  readonly offsets = new GroupOffsets()
  currentStateTimestamp: number
  #lastState: ConsumerGroupState = ConsumerGroupState.Empty
  /** Next time the subscribed topics are re-resolved against the cluster's topics. */
  metadataRefreshDeadline = 0

  constructor (groupId: string, now: number) {
    this.groupId = groupId
    this.currentStateTimestamp = now
  }

  get state (): ConsumerGroupState {
    if (this.members.size === 0) return ConsumerGroupState.Empty
    if (this.groupEpoch > this.assignmentEpoch) return ConsumerGroupState.Assigning
    for (const m of this.members.values()) if (!m.isReconciledTo(this.assignmentEpoch)) return ConsumerGroupState.Reconciling
    return ConsumerGroupState.Stable
  }

  get isEmpty (): boolean {
    return this.members.size === 0
  }

  /** Records when the state last changed (the base of offset expiry while empty). */
  refreshStateTimestamp (now: number): void {
    const state = this.state
    if (state !== this.#lastState) {
      this.#lastState = state
      this.currentStateTimestamp = now
    }
  }

  /** The epoch of the member owning a partition, or -1 when it is free. */
  currentPartitionEpoch (topicId: string, partition: number): number {
    return this.partitionEpochs.get(topicId)?.get(partition) ?? -1
  }

  isSubscribedToTopic (topic: string): boolean {
    return this.subscriptionMetadata.has(topic)
  }

  targetOf (memberId: string): Assignment {
    return this.targetAssignment.get(memberId) ?? new Map<string, Set<number>>()
  }

  /** The server assignor most members ask for, or undefined when none asks. */
  preferredServerAssignor (): string | undefined {
    const votes = new Map<string, number>()
    for (const m of this.members.values()) if (m.serverAssignor !== null) votes.set(m.serverAssignor, (votes.get(m.serverAssignor) ?? 0) + 1)
    let best: string | undefined
    let n = 0
    for (const [name, count] of votes) if (count > n) { best = name; n = count }
    return best
  }

  #setPartitionEpochs (assignment: Assignment, epoch: number): void {
    for (const [topicId, set] of assignment) {
      let epochs = this.partitionEpochs.get(topicId)
      if (epochs === undefined) this.partitionEpochs.set(topicId, epochs = new Map<number, number>())
      for (const p of set) epochs.set(p, epoch)
    }
  }

  #clearPartitionEpochs (assignment: Assignment): void {
    for (const [topicId, set] of assignment) {
      const epochs = this.partitionEpochs.get(topicId)
      if (epochs === undefined) continue
      for (const p of set) epochs.delete(p)
      if (epochs.size === 0) this.partitionEpochs.delete(topicId)
    }
  }

  /** Applies one record of this group (its type is one of the ConsumerGroup* records). */
  replay (record: CoordinatorRecord): void {
    switch (record.type) {
      case 'ConsumerGroupMetadata':
        if (record.value !== null) this.groupEpoch = record.value.epoch
        break
      case 'ConsumerGroupPartitionMetadata':
        this.subscriptionMetadata = new Map((record.value?.topics ?? []).map((t) => [t.topicName, { topicId: t.topicId, numPartitions: t.numPartitions }]))
        break
      case 'ConsumerGroupMemberMetadata': {
        if (record.value === null) {
          const m = this.members.get(record.memberId)
          if (m === undefined) break
          this.#clearPartitionEpochs(m.assignedPartitions)
          this.#clearPartitionEpochs(m.partitionsPendingRevocation)
          this.members.delete(record.memberId)
          if (m.instanceId !== null && this.staticMembers.get(m.instanceId) === m.memberId) this.staticMembers.delete(m.instanceId)
          break
        }
        let m = this.members.get(record.memberId)
        if (m === undefined) this.members.set(record.memberId, m = new ConsumerGroupMember(record.memberId))
        const v = record.value
        if (m.instanceId !== null && m.instanceId !== v.instanceId && this.staticMembers.get(m.instanceId) === m.memberId) this.staticMembers.delete(m.instanceId)
        m.instanceId = v.instanceId
        m.rackId = v.rackId
        m.clientId = v.clientId
        m.clientHost = v.clientHost
        m.subscribedTopicNames = [...v.subscribedTopicNames]
        m.subscribedTopicRegex = v.subscribedTopicRegex
        m.rebalanceTimeoutMs = v.rebalanceTimeoutMs
        m.serverAssignor = v.serverAssignor
        if (m.instanceId !== null) this.staticMembers.set(m.instanceId, m.memberId)
        break
      }
      case 'ConsumerGroupTargetAssignmentMetadata':
        if (record.value !== null) this.assignmentEpoch = record.value.assignmentEpoch
        break
      case 'ConsumerGroupTargetAssignmentMember':
        if (record.value === null) this.targetAssignment.delete(record.memberId)
        else this.targetAssignment.set(record.memberId, toAssignment(record.value.topicPartitions))
        break
      case 'ConsumerGroupCurrentMemberAssignment': {
        const m = this.members.get(record.memberId)
        if (m === undefined) {
          if (record.value === null) break
          // Written before the member's metadata only by a foreign writer; keep it consistent.
          this.members.set(record.memberId, new ConsumerGroupMember(record.memberId))
        }
        const member = this.members.get(record.memberId)!
        this.#clearPartitionEpochs(member.assignedPartitions)
        this.#clearPartitionEpochs(member.partitionsPendingRevocation)
        if (record.value === null) {
          member.memberEpoch = -1
          member.previousMemberEpoch = -1
          member.state = MemberState.UNKNOWN
          member.assignedPartitions = new Map()
          member.partitionsPendingRevocation = new Map()
          break
        }
        member.memberEpoch = record.value.memberEpoch
        member.previousMemberEpoch = record.value.previousMemberEpoch
        member.state = record.value.state
        member.assignedPartitions = toAssignment(record.value.assignedPartitions)
        member.partitionsPendingRevocation = toAssignment(record.value.partitionsPendingRevocation)
        this.#setPartitionEpochs(member.assignedPartitions, member.memberEpoch)
        this.#setPartitionEpochs(member.partitionsPendingRevocation, member.memberEpoch)
        break
      }
      default:
    }
  }
}

/** What reconciliation decides for a member. */
export interface ReconciledMember {
  memberEpoch: number
  previousMemberEpoch: number
  state: number
  assignedPartitions: Assignment
  partitionsPendingRevocation: Assignment
}

/**
 * Kafka's CurrentAssignmentBuilder: moves a member one step towards its target assignment.
 * Partitions to give up are revoked first (the member keeps its epoch until it reports them no
 * longer owned); only then does it move to the target epoch and get the new partitions, and a
 * partition still owned by another member (its previous owner has not revoked it) is withheld
 * until it is released.
 *
 * `owned` is what the member reported owning in this heartbeat (null: not reported).
 */
export function reconcile (
  member: ConsumerGroupMember, targetEpoch: number, target: Assignment,
  currentPartitionEpoch: (topicId: string, partition: number) => number, owned: TopicPartitionsValue[] | null
): ReconciledMember {
  const ownsAny = (assignment: Assignment): boolean => {
    if (owned === null) return true
    for (const tp of owned) {
      const set = assignment.get(tp.topicId)
      if (set === undefined) continue
      for (const p of tp.partitions) if (set.has(p)) return true
    }
    return false
  }
  const next = (memberEpoch: number, assigned: Assignment): ReconciledMember => {
    let hasUnreleased = false
    const newAssigned: Assignment = new Map()
    const pendingRevocation: Assignment = new Map()
    const pendingAssignment: Assignment = new Map()
    const topicIds = new Set([...target.keys(), ...assigned.keys()])
    for (const topicId of topicIds) {
      const t = target.get(topicId) ?? new Set<number>()
      const current = assigned.get(topicId) ?? new Set<number>()
      const keep = new Set([...current].filter((p) => t.has(p)))
      const revoke = new Set([...current].filter((p) => !keep.has(p)))
      const add = new Set<number>()
      for (const p of t) {
        if (keep.has(p)) continue
        if (currentPartitionEpoch(topicId, p) !== -1) hasUnreleased = true
        else add.add(p)
      }
      if (keep.size > 0) newAssigned.set(topicId, keep)
      if (revoke.size > 0) pendingRevocation.set(topicId, revoke)
      if (add.size > 0) pendingAssignment.set(topicId, add)
    }
    if (pendingRevocation.size > 0) {
      return { memberEpoch, previousMemberEpoch: member.memberEpoch, state: MemberState.UNREVOKED_PARTITIONS, assignedPartitions: newAssigned, partitionsPendingRevocation: pendingRevocation }
    }
    for (const [topicId, set] of pendingAssignment) {
      let into = newAssigned.get(topicId)
      if (into === undefined) newAssigned.set(topicId, into = new Set())
      for (const p of set) into.add(p)
    }
    return {
      memberEpoch: targetEpoch,
      previousMemberEpoch: member.memberEpoch,
      state: hasUnreleased ? MemberState.UNRELEASED_PARTITIONS : MemberState.STABLE,
      assignedPartitions: newAssigned,
      partitionsPendingRevocation: new Map()
    }
  }
  const unchanged = (): ReconciledMember => ({
    memberEpoch: member.memberEpoch,
    previousMemberEpoch: member.previousMemberEpoch,
    state: member.state,
    assignedPartitions: member.assignedPartitions,
    partitionsPendingRevocation: member.partitionsPendingRevocation
  })
  switch (member.state) {
    case MemberState.STABLE:
      return member.memberEpoch !== targetEpoch ? next(member.memberEpoch, member.assignedPartitions) : unchanged()
    case MemberState.UNREVOKED_PARTITIONS:
      if (ownsAny(member.partitionsPendingRevocation)) return unchanged()
      return next(Math.min(member.memberEpoch + 1, targetEpoch), member.assignedPartitions)
    case MemberState.UNRELEASED_PARTITIONS:
      return next(member.memberEpoch, member.assignedPartitions)
    default:
      return next(member.memberEpoch, member.assignedPartitions)
  }
}
