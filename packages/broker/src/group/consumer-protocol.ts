/**
 * The KIP-848 consumer group protocol: one ConsumerGroupHeartbeat RPC through which members
 * join, heartbeat, report the partitions they own and leave, while the coordinator computes the
 * assignment (Kafka's GroupMetadataManager.consumerGroupHeartbeat):
 *
 * 1. The member's subscription (topic names and/or a regex, server assignor, rack, rebalance
 *    timeout) is updated; a change, or a change of the subscribed topics' partitions, bumps the
 *    group epoch.
 * 2. When the group epoch is ahead of the target assignment epoch, the assignor computes a new
 *    target assignment for every member.
 * 3. The member is reconciled towards its target (consumer-group.ts `reconcile`): partitions it
 *    must give up are revoked first; only after it reports them gone does it get the next epoch
 *    and its new partitions, and a partition is assigned only once its previous owner released it.
 *
 * Every change is written to `__consumer_offsets` as Kafka's ConsumerGroup* records and then
 * replayed into the group, so the state on disk is the state served. Members that stop
 * heartbeating for `group.consumer.session.timeout.ms`, or do not revoke within their rebalance
 * timeout, are fenced (removed) and the group epoch is bumped.
 */
import { randomUUID } from 'node:crypto'
import { ErrorCode, KafkaProtocolError } from '@samsa/protocol'
import type { AssignmentMember, PartitionAssignor } from './assignors/assignor.ts'
import { RangeAssignor } from './assignors/range.ts'
import { UniformAssignor } from './assignors/uniform.ts'
import {
  type Assignment, ConsumerGroup, ConsumerGroupMember, MemberState, type SubscribedTopic, assignmentsEqual, fromAssignment,
  reconcile
} from './consumer-group.ts'
import type { ConsumerGroupMemberMetadataValue, CoordinatorRecord, TopicPartitionsValue } from './records.ts'
import type { CoordinatorRuntime } from './runtime.ts'
import { compileTopicRegex } from './topic-regex.ts'

/** Member epochs with a meaning of their own. */
export const LEAVE_GROUP_MEMBER_EPOCH = -1
export const LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2

export interface ConsumerGroupHeartbeatParams {
  groupId: string
  memberId: string
  memberEpoch: number
  instanceId: string | null
  rackId: string | null
  rebalanceTimeoutMs: number
  subscribedTopicNames: string[] | null
  subscribedTopicRegex: string | null
  serverAssignor: string | null
  topicPartitions: TopicPartitionsValue[] | null
  clientId: string
  clientHost: string
  apiVersion: number
}

export interface ConsumerGroupHeartbeatResult {
  errorCode: number
  errorMessage: string | null
  memberId: string | null
  memberEpoch: number
  heartbeatIntervalMs: number
  assignment: TopicPartitionsValue[] | null
}

const sessionKey = (groupId: string, memberId: string): string => `consumer-session|${groupId}|${memberId}`
const rebalanceKey = (groupId: string, memberId: string): string => `consumer-rebalance|${groupId}|${memberId}`

function failure (errorCode: number, errorMessage: string | null = null): ConsumerGroupHeartbeatResult {
  return { errorCode, errorMessage, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null }
}

function invalidRequest (message: string): never {
  throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, message)
}

interface MemberView extends ConsumerGroupMemberMetadataValue {
  memberId: string
}

function viewOf (m: ConsumerGroupMember): MemberView {
  return {
    memberId: m.memberId,
    instanceId: m.instanceId,
    rackId: m.rackId,
    clientId: m.clientId,
    clientHost: m.clientHost,
    subscribedTopicNames: m.subscribedTopicNames,
    subscribedTopicRegex: m.subscribedTopicRegex,
    rebalanceTimeoutMs: m.rebalanceTimeoutMs,
    serverAssignor: m.serverAssignor
  }
}

function metadataValue (v: MemberView): ConsumerGroupMemberMetadataValue {
  return {
    instanceId: v.instanceId,
    rackId: v.rackId,
    clientId: v.clientId,
    clientHost: v.clientHost,
    subscribedTopicNames: v.subscribedTopicNames,
    subscribedTopicRegex: v.subscribedTopicRegex,
    rebalanceTimeoutMs: v.rebalanceTimeoutMs,
    serverAssignor: v.serverAssignor
  }
}

function sameNames (a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  const sa = [...a].sort()
  const sb = [...b].sort()
  return sa.every((x, i) => x === sb[i])
}

export class ConsumerProtocol {
  readonly #rt: CoordinatorRuntime
  readonly assignors: ReadonlyMap<string, PartitionAssignor>

  constructor (runtime: CoordinatorRuntime) {
    this.#rt = runtime
    const all: PartitionAssignor[] = [new UniformAssignor(), new RangeAssignor()]
    const enabled = runtime.config.consumerAssignors
    this.assignors = new Map(enabled.map((name) => [name, all.find((a) => a.name === name)!] as const).filter(([, a]) => a !== undefined))
  }

  get defaultAssignor (): string {
    return this.#rt.config.consumerAssignors[0] ?? 'uniform'
  }

  async heartbeat (p: ConsumerGroupHeartbeatParams): Promise<ConsumerGroupHeartbeatResult> {
    try {
      this.#validate(p)
      if (p.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH || p.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) return await this.#leave(p)
      return await this.#heartbeat(p)
    } catch (error) {
      if (error instanceof KafkaProtocolError) return failure(error.code, error.errorMessage)
      throw error
    }
  }

  #validate (p: ConsumerGroupHeartbeatParams): void {
    if (p.groupId === '') throw new KafkaProtocolError(ErrorCode.INVALID_GROUP_ID, 'GroupId can\'t be empty.')
    if (p.memberEpoch === 0) {
      if (p.rebalanceTimeoutMs === -1) invalidRequest('RebalanceTimeoutMs must be provided in first request.')
      if (p.topicPartitions === null || p.topicPartitions.length > 0) invalidRequest('TopicPartitions must be empty when (re-)joining.')
      if (p.subscribedTopicNames === null && p.subscribedTopicRegex === null) invalidRequest('Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.')
    } else if (p.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      if (p.instanceId === null) invalidRequest('InstanceId can\'t be null.')
    } else if (p.memberEpoch < LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      invalidRequest('MemberEpoch is invalid.')
    }
    if (p.subscribedTopicRegex !== null && p.subscribedTopicRegex !== '') compileTopicRegex(p.subscribedTopicRegex)
    if (p.apiVersion >= 1 || p.memberEpoch !== 0) {
      if (p.memberId === '') invalidRequest('MemberId can\'t be empty.')
    }
    if (p.instanceId === '') invalidRequest('InstanceId can\'t be empty.')
    if (p.rackId === '') invalidRequest('RackId can\'t be empty.')
    if (p.serverAssignor !== null && !this.assignors.has(p.serverAssignor)) {
      throw new KafkaProtocolError(ErrorCode.UNSUPPORTED_ASSIGNOR, `ServerAssignor ${p.serverAssignor} is not supported. Supported assignors: ${[...this.assignors.keys()].join(', ')}.`)
    }
  }

  // ---- join / heartbeat

  async #heartbeat (p: ConsumerGroupHeartbeatParams): Promise<ConsumerGroupHeartbeatResult> {
    const rt = this.#rt
    const now = rt.now()
    const found = rt.consumerGroup(p.groupId, p.memberEpoch === 0)
    if (found === undefined) throw new KafkaProtocolError(ErrorCode.GROUP_ID_NOT_FOUND, `Consumer group ${p.groupId} not found.`)
    const { group } = found
    const records: CoordinatorRecord[] = [...found.records]
    const memberId = p.memberId === '' ? randomUUID() : p.memberId

    // The member, as it is now (or a fresh one), and the static member it replaces, if any.
    let member: ConsumerGroupMember
    let replaced: ConsumerGroupMember | undefined
    if (p.instanceId === null) {
      const existing = group.members.get(memberId)
      if (p.memberEpoch === 0) {
        member = existing ?? new ConsumerGroupMember(memberId)
      } else {
        if (existing === undefined) throw new KafkaProtocolError(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${memberId} is not a member of group ${p.groupId}.`)
        throwIfMemberEpochIsInvalid(existing, p.memberEpoch, p.topicPartitions)
        member = existing
      }
    } else {
      const staticId = group.staticMembers.get(p.instanceId)
      const existing = staticId === undefined ? undefined : group.members.get(staticId)
      if (p.memberEpoch === 0) {
        if (existing === undefined || existing.memberId === memberId) {
          member = existing ?? group.members.get(memberId) ?? new ConsumerGroupMember(memberId)
        } else if (existing.memberEpoch !== LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
          throw new KafkaProtocolError(ErrorCode.UNRELEASED_INSTANCE_ID, `Static member ${existing.memberId} with instance id ${p.instanceId} is not released yet.`)
        } else {
          // The instance restarted: a new member id takes over the old member's assignment.
          replaced = existing
          member = new ConsumerGroupMember(memberId)
        }
      } else {
        if (existing === undefined) throw new KafkaProtocolError(ErrorCode.UNKNOWN_MEMBER_ID, `Instance id ${p.instanceId} is unknown.`)
        if (existing.memberId !== memberId) throw new KafkaProtocolError(ErrorCode.FENCED_INSTANCE_ID, `Static member ${memberId} with instance id ${p.instanceId} was fenced by member ${existing.memberId}.`)
        throwIfMemberEpochIsInvalid(existing, p.memberEpoch, p.topicPartitions)
        member = existing
      }
    }
    const isNew = !group.members.has(member.memberId)
    if (isNew && replaced === undefined && group.members.size >= rt.config.consumerMaxSize) {
      throw new KafkaProtocolError(ErrorCode.GROUP_MAX_SIZE_REACHED, `The consumer group has reached its maximum capacity of ${rt.config.consumerMaxSize} members.`)
    }

    // 1. The member's subscription.
    const before: MemberView = isNew ? { ...viewOf(replaced ?? member), memberId: member.memberId } : viewOf(member)
    const regex = p.subscribedTopicRegex === null ? before.subscribedTopicRegex : (p.subscribedTopicRegex === '' ? null : p.subscribedTopicRegex)
    const updated: MemberView = {
      memberId: member.memberId,
      instanceId: p.instanceId ?? before.instanceId,
      rackId: p.rackId ?? before.rackId,
      clientId: p.clientId,
      clientHost: p.clientHost,
      subscribedTopicNames: p.subscribedTopicNames === null ? before.subscribedTopicNames : [...p.subscribedTopicNames].sort(),
      subscribedTopicRegex: regex,
      rebalanceTimeoutMs: p.rebalanceTimeoutMs === -1 ? before.rebalanceTimeoutMs : p.rebalanceTimeoutMs,
      serverAssignor: p.serverAssignor ?? before.serverAssignor
    }
    if (replaced !== undefined) {
      records.push(...memberTombstones(group.groupId, replaced.memberId))
    }
    const subscriptionChanged = isNew && replaced === undefined
      ? true
      : !sameNames(before.subscribedTopicNames, updated.subscribedTopicNames) || before.subscribedTopicRegex !== updated.subscribedTopicRegex ||
        before.serverAssignor !== updated.serverAssignor
    const metadataChanged = isNew || subscriptionChanged || before.instanceId !== updated.instanceId || before.rackId !== updated.rackId ||
      before.clientId !== updated.clientId || before.clientHost !== updated.clientHost || before.rebalanceTimeoutMs !== updated.rebalanceTimeoutMs
    if (metadataChanged) {
      records.push({ type: 'ConsumerGroupMemberMetadata', groupId: group.groupId, memberId: member.memberId, value: metadataValue(updated) })
    }

    // The members as they will be, for subscriptions and the assignor.
    const views = new Map<string, MemberView>()
    for (const m of group.members.values()) if (m.memberId !== replaced?.memberId) views.set(m.memberId, viewOf(m))
    views.set(member.memberId, updated)

    let groupEpoch = group.groupEpoch
    let bump = subscriptionChanged
    let subscription = group.subscriptionMetadata
    if (bump || now >= group.metadataRefreshDeadline || found.created) {
      subscription = this.#subscriptionMetadata(views.values())
      if (!sameSubscription(subscription, group.subscriptionMetadata)) {
        bump = true
        records.push(subscriptionRecord(group.groupId, groupEpoch + 1, subscription))
      }
      group.metadataRefreshDeadline = now + rt.config.consumerMetadataRefreshIntervalMs
    }
    if (bump) {
      groupEpoch++
      records.push({ type: 'ConsumerGroupMetadata', groupId: group.groupId, value: { epoch: groupEpoch } })
    }

    // 2. The target assignment.
    let targetEpoch = group.assignmentEpoch
    let target: Assignment
    if (groupEpoch > group.assignmentEpoch) {
      const targets = this.#computeTargets(group, views, subscription, updated, replaced)
      for (const [id, assignment] of targets) {
        const previous = id === member.memberId && replaced !== undefined ? group.targetOf(replaced.memberId) : group.targetAssignment.get(id)
        if (previous === undefined || !assignmentsEqual(previous, assignment) || (id === member.memberId && replaced !== undefined)) {
          records.push({ type: 'ConsumerGroupTargetAssignmentMember', groupId: group.groupId, memberId: id, value: { topicPartitions: fromAssignment(assignment) } })
        }
      }
      records.push({ type: 'ConsumerGroupTargetAssignmentMetadata', groupId: group.groupId, value: { assignmentEpoch: groupEpoch } })
      targetEpoch = groupEpoch
      target = targets.get(member.memberId) ?? new Map<string, Set<number>>()
    } else {
      target = replaced !== undefined ? group.targetOf(replaced.memberId) : group.targetOf(member.memberId)
      if (replaced !== undefined) {
        records.push({ type: 'ConsumerGroupTargetAssignmentMember', groupId: group.groupId, memberId: member.memberId, value: { topicPartitions: fromAssignment(target) } })
      }
    }

    // 3. Reconciliation. A replacing static member starts from the partitions its predecessor owned.
    const basis = replaced === undefined ? member : Object.assign(new ConsumerGroupMember(member.memberId), {
      memberEpoch: replaced.previousMemberEpoch >= 0 ? replaced.previousMemberEpoch : 0,
      previousMemberEpoch: -1,
      state: replaced.state === MemberState.UNKNOWN ? MemberState.STABLE : replaced.state,
      assignedPartitions: replaced.assignedPartitions,
      partitionsPendingRevocation: replaced.partitionsPendingRevocation
    })
    const partitionEpoch = replaced === undefined
      ? (t: string, q: number) => group.currentPartitionEpoch(t, q)
      : (t: string, q: number) => (replaced.assignedPartitions.get(t)?.has(q) === true || replaced.partitionsPendingRevocation.get(t)?.has(q) === true) ? -1 : group.currentPartitionEpoch(t, q)
    const owned = p.topicPartitions
    const next = basis.isReconciledTo(targetEpoch) && !isNew && replaced === undefined
      ? undefined
      : reconcile(basis, targetEpoch, target, partitionEpoch, owned)
    const assignmentChanged = next !== undefined && (isNew || replaced !== undefined || next.memberEpoch !== member.memberEpoch ||
      next.previousMemberEpoch !== member.previousMemberEpoch || next.state !== member.state ||
      !assignmentsEqual(next.assignedPartitions, member.assignedPartitions) || !assignmentsEqual(next.partitionsPendingRevocation, member.partitionsPendingRevocation))
    if (next !== undefined && assignmentChanged) {
      records.push({
        type: 'ConsumerGroupCurrentMemberAssignment',
        groupId: group.groupId,
        memberId: member.memberId,
        value: {
          memberEpoch: next.memberEpoch,
          previousMemberEpoch: next.previousMemberEpoch,
          state: next.state,
          assignedPartitions: fromAssignment(next.assignedPartitions),
          partitionsPendingRevocation: fromAssignment(next.partitionsPendingRevocation)
        }
      })
    }

    const assignedBefore = member.assignedPartitions
    const flushed = records.length > 0 ? this.#write(group, found.created, records) : undefined
    if (replaced !== undefined) this.#cancelTimers(group.groupId, replaced.memberId)
    const current = group.members.get(member.memberId)!
    this.#scheduleSessionTimeout(group, current.memberId)
    if (current.state === MemberState.UNREVOKED_PARTITIONS) {
      if (assignmentChanged) this.#scheduleRebalanceTimeout(group, current)
    } else {
      rt.timers.cancel(rebalanceKey(group.groupId, current.memberId))
    }
    if (isNew) rt.logger.info('Member joined consumer group', { group: group.groupId, memberId: current.memberId, memberEpoch: current.memberEpoch, groupEpoch: group.groupEpoch })

    const isFullRequest = p.memberEpoch === 0 ||
      (p.rebalanceTimeoutMs !== -1 && (p.subscribedTopicNames !== null || p.subscribedTopicRegex !== null) && p.topicPartitions !== null)
    const assignedChanged = isNew || replaced !== undefined || !assignmentsEqual(current.assignedPartitions, assignedBefore)
    const result: ConsumerGroupHeartbeatResult = {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId: current.memberId,
      memberEpoch: current.memberEpoch,
      heartbeatIntervalMs: rt.config.consumerHeartbeatIntervalMs,
      assignment: isFullRequest || assignedChanged ? fromAssignment(current.assignedPartitions) : null
    }
    if (flushed !== undefined) await flushed.catch(() => undefined)
    return result
  }

  /** Appends and replays records; registers a new group after its first write. */
  #write (group: ConsumerGroup, created: boolean, records: CoordinatorRecord[]): Promise<void> | undefined {
    const rt = this.#rt
    const flushed = rt.append(group.groupId, records)
    if (created) rt.putGroup(group)
    for (const r of records) if (r.type !== 'GroupMetadata' && r.type !== 'OffsetCommit') group.replay(r)
    group.refreshStateTimestamp(rt.now())
    return flushed
  }

  /** The subscribed topics that exist, with their ids and partition counts. */
  #subscriptionMetadata (members: Iterable<MemberView>): Map<string, SubscribedTopic> {
    const topics = this.#rt.topics
    const names = new Set<string>()
    const regexes = new Set<string>()
    for (const m of members) {
      for (const n of m.subscribedTopicNames) names.add(n)
      if (m.subscribedTopicRegex !== null) regexes.add(m.subscribedTopicRegex)
    }
    if (regexes.size > 0) {
      const compiled = [...regexes].map((r) => compileTopicRegex(r))
      for (const t of topics.list()) {
        if (!t.internal && compiled.some((re) => re.test(t.name))) names.add(t.name)
      }
    }
    const out = new Map<string, SubscribedTopic>()
    for (const name of [...names].sort()) {
      const t = topics.get(name)
      if (t !== undefined) out.set(name, { topicId: t.topicId, numPartitions: t.partitions.length })
    }
    return out
  }

  #subscribedTopicIds (m: MemberView, subscription: ReadonlyMap<string, SubscribedTopic>): Set<string> {
    const ids = new Set<string>()
    for (const n of m.subscribedTopicNames) {
      const t = subscription.get(n)
      if (t !== undefined) ids.add(t.topicId)
    }
    if (m.subscribedTopicRegex !== null) {
      const re = compileTopicRegex(m.subscribedTopicRegex)
      for (const [name, t] of subscription) if (re.test(name)) ids.add(t.topicId)
    }
    return ids
  }

  #computeTargets (group: ConsumerGroup, views: ReadonlyMap<string, MemberView>, subscription: ReadonlyMap<string, SubscribedTopic>,
    updated: MemberView, replaced: ConsumerGroupMember | undefined): Map<string, Assignment> {
    const votes = new Map<string, number>()
    for (const v of views.values()) if (v.serverAssignor !== null) votes.set(v.serverAssignor, (votes.get(v.serverAssignor) ?? 0) + 1)
    let name = updated.serverAssignor ?? undefined
    if (name === undefined) {
      let n = 0
      for (const [a, c] of votes) if (c > n) { name = a; n = c }
    }
    const assignor = this.assignors.get(name ?? this.defaultAssignor) ?? this.assignors.get(this.defaultAssignor) ?? new UniformAssignor()
    const members: AssignmentMember[] = [...views.values()].map((v) => ({
      memberId: v.memberId,
      instanceId: v.instanceId,
      rackId: v.rackId,
      subscribedTopicIds: this.#subscribedTopicIds(v, subscription),
      assignment: v.memberId === updated.memberId && replaced !== undefined ? group.targetOf(replaced.memberId) : group.targetOf(v.memberId)
    }))
    const topics = new Map([...subscription].map(([topicName, t]) => [t.topicId, { name: topicName, numPartitions: t.numPartitions }]))
    return assignor.assign({ members, topics })
  }

  // ---- leave and fencing

  async #leave (p: ConsumerGroupHeartbeatParams): Promise<ConsumerGroupHeartbeatResult> {
    const rt = this.#rt
    const found = rt.consumerGroup(p.groupId, false)
    if (found === undefined) throw new KafkaProtocolError(ErrorCode.GROUP_ID_NOT_FOUND, `Consumer group ${p.groupId} not found.`)
    const group = found.group
    let member = group.members.get(p.memberId)
    if (p.instanceId !== null) {
      const staticId = group.staticMembers.get(p.instanceId)
      if (staticId === undefined) throw new KafkaProtocolError(ErrorCode.UNKNOWN_MEMBER_ID, `Instance id ${p.instanceId} is unknown.`)
      if (staticId !== p.memberId) throw new KafkaProtocolError(ErrorCode.FENCED_INSTANCE_ID, `Static member ${p.memberId} with instance id ${p.instanceId} was fenced by member ${staticId}.`)
      member = group.members.get(staticId)
    }
    if (member === undefined) throw new KafkaProtocolError(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${p.memberId} is not a member of group ${p.groupId}.`)
    let flushed: Promise<void> | undefined
    if (p.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      // A static member leaving for a while keeps its partitions until its session expires.
      flushed = this.#write(group, false, [{
        type: 'ConsumerGroupCurrentMemberAssignment',
        groupId: group.groupId,
        memberId: member.memberId,
        value: {
          memberEpoch: LEAVE_GROUP_STATIC_MEMBER_EPOCH,
          previousMemberEpoch: member.memberEpoch,
          state: member.state,
          assignedPartitions: fromAssignment(member.assignedPartitions),
          partitionsPendingRevocation: fromAssignment(member.partitionsPendingRevocation)
        }
      }])
      rt.timers.cancel(rebalanceKey(group.groupId, member.memberId))
      this.#scheduleSessionTimeout(group, member.memberId)
      rt.logger.info('Static member left the consumer group temporarily', { group: group.groupId, memberId: member.memberId, instanceId: member.instanceId ?? undefined })
    } else {
      flushed = this.#fence(group, member, 'the member left the group')
    }
    if (flushed !== undefined) await flushed.catch(() => undefined)
    return { errorCode: ErrorCode.NONE, errorMessage: null, memberId: member.memberId, memberEpoch: p.memberEpoch, heartbeatIntervalMs: 0, assignment: null }
  }

  /** Removes a member: tombstones for its records, the subscription without it, a new group epoch. */
  #fence (group: ConsumerGroup, member: ConsumerGroupMember, reason: string): Promise<void> | undefined {
    const records = memberTombstones(group.groupId, member.memberId)
    const views = [...group.members.values()].filter((m) => m.memberId !== member.memberId).map(viewOf)
    const subscription = this.#subscriptionMetadata(views)
    if (!sameSubscription(subscription, group.subscriptionMetadata)) records.push(subscriptionRecord(group.groupId, group.groupEpoch + 1, subscription))
    records.push({ type: 'ConsumerGroupMetadata', groupId: group.groupId, value: { epoch: group.groupEpoch + 1 } })
    const flushed = this.#write(group, false, records)
    this.#cancelTimers(group.groupId, member.memberId)
    this.#rt.logger.info('Member removed from consumer group', { group: group.groupId, memberId: member.memberId, reason, groupEpoch: group.groupEpoch })
    return flushed
  }

  #fenceOnTimeout (groupId: string, memberId: string, reason: string, expectedEpoch?: number): void {
    const rt = this.#rt
    const group = rt.group(groupId)
    if (!(group instanceof ConsumerGroup)) return
    const member = group.members.get(memberId)
    if (member === undefined) return
    if (expectedEpoch !== undefined && (member.memberEpoch !== expectedEpoch || member.state !== MemberState.UNREVOKED_PARTITIONS)) return
    try {
      void this.#fence(group, member, reason)
    } catch (error) {
      rt.logger.warn('Could not fence a consumer group member; retrying later', { group: groupId, memberId, error })
      rt.timers.schedule(sessionKey(groupId, memberId), 1000, () => this.#fenceOnTimeout(groupId, memberId, reason))
    }
  }

  #scheduleSessionTimeout (group: ConsumerGroup, memberId: string): void {
    const timeout = this.#rt.config.consumerSessionTimeoutMs
    this.#rt.timers.schedule(sessionKey(group.groupId, memberId), timeout, () => this.#fenceOnTimeout(group.groupId, memberId, `its session timeout (${timeout} ms) expired`))
  }

  #scheduleRebalanceTimeout (group: ConsumerGroup, member: ConsumerGroupMember): void {
    const timeout = Math.max(member.rebalanceTimeoutMs, 0)
    const epoch = member.memberEpoch
    this.#rt.timers.schedule(rebalanceKey(group.groupId, member.memberId), timeout, () =>
      this.#fenceOnTimeout(group.groupId, member.memberId, `it did not revoke its partitions within the rebalance timeout (${timeout} ms)`, epoch))
  }

  #cancelTimers (groupId: string, memberId: string): void {
    this.#rt.timers.cancel(sessionKey(groupId, memberId))
    this.#rt.timers.cancel(rebalanceKey(groupId, memberId))
  }

  /** Re-arms the timers of a loaded group's members. */
  scheduleLoadedMembers (group: ConsumerGroup): void {
    for (const m of group.members.values()) {
      this.#scheduleSessionTimeout(group, m.memberId)
      if (m.state === MemberState.UNREVOKED_PARTITIONS) this.#scheduleRebalanceTimeout(group, m)
    }
  }

  cancelGroupTimers (group: ConsumerGroup): void {
    for (const id of group.members.keys()) this.#cancelTimers(group.groupId, id)
  }
}

function throwIfMemberEpochIsInvalid (member: ConsumerGroupMember, received: number, owned: TopicPartitionsValue[] | null): void {
  if (received > member.memberEpoch) {
    throw new KafkaProtocolError(ErrorCode.FENCED_MEMBER_EPOCH, `The consumer group member has a greater member epoch (${received}) than the one known by the group coordinator (${member.memberEpoch}). The member must abandon all its partitions and rejoin.`)
  }
  if (received < member.memberEpoch) {
    // The response that moved it to the new epoch may have been lost: accept the previous epoch
    // when it owns nothing it should not.
    if (received !== member.previousMemberEpoch || !isSubset(owned, member.assignedPartitions)) {
      throw new KafkaProtocolError(ErrorCode.FENCED_MEMBER_EPOCH, `The consumer group member has a smaller member epoch (${received}) than the one known by the group coordinator (${member.memberEpoch}). The member must abandon all its partitions and rejoin.`)
    }
  }
}

function isSubset (owned: TopicPartitionsValue[] | null, assigned: Assignment): boolean {
  if (owned === null) return false
  for (const tp of owned) {
    const set = assigned.get(tp.topicId)
    for (const p of tp.partitions) if (set?.has(p) !== true) return false
  }
  return true
}

function memberTombstones (groupId: string, memberId: string): CoordinatorRecord[] {
  return [
    { type: 'ConsumerGroupCurrentMemberAssignment', groupId, memberId, value: null },
    { type: 'ConsumerGroupTargetAssignmentMember', groupId, memberId, value: null },
    { type: 'ConsumerGroupMemberMetadata', groupId, memberId, value: null }
  ]
}

function subscriptionRecord (groupId: string, epoch: number, subscription: ReadonlyMap<string, SubscribedTopic>): CoordinatorRecord {
  return {
    type: 'ConsumerGroupPartitionMetadata',
    groupId,
    value: { epoch, topics: [...subscription].map(([topicName, t]) => ({ topicId: t.topicId, topicName, numPartitions: t.numPartitions })) }
  }
}

function sameSubscription (a: ReadonlyMap<string, SubscribedTopic>, b: ReadonlyMap<string, SubscribedTopic>): boolean {
  if (a.size !== b.size) return false
  for (const [name, t] of a) {
    const o = b.get(name)
    if (o === undefined || o.topicId !== t.topicId || o.numPartitions !== t.numPartitions) return false
  }
  return true
}

