/**
 * The classic rebalance protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup), following
 * Kafka's GroupMetadataManager for classic groups:
 *
 * - JoinGroup v4+ from a new dynamic member gets MEMBER_ID_REQUIRED and a member id to rejoin
 *   with (KIP-394); the pending id expires after the session timeout.
 * - A rebalance (PreparingRebalance) ends when every known member has rejoined, or after the
 *   largest rebalance timeout, when dynamic members that did not rejoin are dropped. The first
 *   rebalance of an empty group waits `group.initial.rebalance.delay.ms` (extended while
 *   members keep arriving, up to the rebalance timeout).
 * - The first member to join (or the next that rejoined) leads; only the leader receives the
 *   member list; the protocol is the one most members prefer among those all support.
 * - The leader's SyncGroup assignment is written to `__consumer_offsets` (GroupMetadata) before
 *   any member receives its assignment; the group is then Stable. Members that do not send
 *   SyncGroup within the rebalance timeout are removed.
 * - Static members (group.instance.id, KIP-345) keep their assignment across restarts: a known
 *   instance id joining again replaces the old member id (which is then fenced with
 *   FENCED_INSTANCE_ID), without a rebalance when the group is Stable.
 * - A member that sends nothing for its session timeout is removed, and the group rebalances.
 *
 * Every request that waits (JoinGroup, SyncGroup) is always answered eventually, because a
 * connection answers its requests in order.
 */
import { randomUUID } from 'node:crypto'
import { EMPTY_BUFFER, ErrorCode, KafkaProtocolError } from '@samsa/protocol'
import {
  ClassicGroup, ClassicGroupMember, ClassicGroupState, type GroupProtocol, type JoinGroupResult, type SyncGroupResult,
  joinError, syncError
} from './classic-group.ts'
import type { CoordinatorRecord, GroupMetadataValue } from './records.ts'
import { type CoordinatorRuntime, afterFlush } from './runtime.ts'

export interface JoinGroupParams {
  groupId: string
  memberId: string
  groupInstanceId: string | null
  sessionTimeoutMs: number
  rebalanceTimeoutMs: number
  protocolType: string
  protocols: GroupProtocol[]
  reason: string | null
  clientId: string
  clientHost: string
  /** JoinGroup v4+: a new dynamic member must first get its member id (KIP-394). */
  requireKnownMemberId: boolean
  /** JoinGroup v9+: a restarted static leader may be told to skip the assignment (KIP-814). */
  supportSkippingAssignment: boolean
}

export interface SyncGroupParams {
  groupId: string
  generationId: number
  memberId: string
  groupInstanceId: string | null
  protocolType: string | null
  protocolName: string | null
  assignments: Array<{ memberId: string, assignment: Buffer }>
}

export interface HeartbeatParams {
  groupId: string
  generationId: number
  memberId: string
  groupInstanceId: string | null
}

export interface LeaveGroupParams {
  groupId: string
  members: Array<{ memberId: string, groupInstanceId: string | null, reason: string | null }>
}

export interface LeaveGroupResult {
  errorCode: number
  members: Array<{ memberId: string, groupInstanceId: string | null, errorCode: number }>
}

const heartbeatKey = (groupId: string, memberId: string): string => `classic-heartbeat|${groupId}|${memberId}`
const joinKey = (groupId: string): string => `classic-join|${groupId}`
const syncKey = (groupId: string): string => `classic-sync|${groupId}`

export class ClassicProtocol {
  readonly #rt: CoordinatorRuntime

  constructor (runtime: CoordinatorRuntime) {
    this.#rt = runtime
  }

  // ---- JoinGroup

  async joinGroup (p: JoinGroupParams): Promise<JoinGroupResult> {
    return await new Promise((resolve) => this.#join(p, resolve))
  }

  #join (p: JoinGroupParams, respond: (r: JoinGroupResult) => void): void {
    const rt = this.#rt
    const cfg = rt.config
    if (p.sessionTimeoutMs < cfg.minSessionTimeoutMs || p.sessionTimeoutMs > cfg.maxSessionTimeoutMs) {
      respond(joinError(ErrorCode.INVALID_SESSION_TIMEOUT, p.memberId))
      return
    }
    const isUnknownMember = p.memberId === ''
    const existing = rt.group(p.groupId)
    let group = existing instanceof ClassicGroup ? existing : undefined
    if (existing !== undefined && group === undefined && (!isUnknownMember || !existing.isEmpty)) {
      // A KIP-848 group with members: classic members cannot join it (no online migration).
      respond(joinError(isUnknownMember ? ErrorCode.INCONSISTENT_GROUP_PROTOCOL : ErrorCode.UNKNOWN_MEMBER_ID, p.memberId))
      return
    }
    if (group === undefined) {
      if (!isUnknownMember) {
        respond(joinError(ErrorCode.UNKNOWN_MEMBER_ID, p.memberId))
        return
      }
      if (p.protocolType === '' || p.protocols.length === 0) {
        respond(joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, p.memberId))
        return
      }
      try {
        group = rt.classicGroup(p.groupId, true, ErrorCode.INCONSISTENT_GROUP_PROTOCOL)!
      } catch (error) {
        if (error instanceof KafkaProtocolError) {
          respond(joinError(error.code, p.memberId))
          return
        }
        throw error
      }
    }
    if (!group.supportsProtocols(p.protocolType, p.protocols)) {
      respond(joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, p.memberId))
      return
    }
    if (isUnknownMember && group.numMembersAndPending >= cfg.maxSize) {
      respond(joinError(ErrorCode.GROUP_MAX_SIZE_REACHED, p.memberId))
      return
    }
    if (isUnknownMember) this.#joinNewMember(group, p, respond)
    else this.#joinExistingMember(group, p, respond)
  }

  #joinNewMember (group: ClassicGroup, p: JoinGroupParams, respond: (r: JoinGroupResult) => void): void {
    if (group.is(ClassicGroupState.Dead)) {
      respond(joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, p.memberId))
      return
    }
    const newMemberId = `${p.groupInstanceId ?? p.clientId}-${randomUUID()}`
    if (p.groupInstanceId !== null) {
      const existing = group.staticMemberId(p.groupInstanceId)
      if (existing === undefined) this.#addMemberThenRebalanceOrCompleteJoin(group, newMemberId, p, respond)
      else this.#updateStaticMemberThenRebalanceOrCompleteJoin(group, existing, newMemberId, p, respond)
      return
    }
    if (p.requireKnownMemberId) {
      // KIP-394: remember the id and ask the member to come back with it.
      group.pendingMembers.add(newMemberId)
      this.#scheduleHeartbeatExpiry(group, newMemberId, p.sessionTimeoutMs)
      this.#rt.logger.debug('New dynamic member must rejoin with its member id', { group: group.groupId, memberId: newMemberId })
      respond(joinError(ErrorCode.MEMBER_ID_REQUIRED, newMemberId))
      return
    }
    this.#addMemberThenRebalanceOrCompleteJoin(group, newMemberId, p, respond)
  }

  #joinExistingMember (group: ClassicGroup, p: JoinGroupParams, respond: (r: JoinGroupResult) => void): void {
    const memberId = p.memberId
    if (group.is(ClassicGroupState.Dead)) {
      respond(joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, memberId))
      return
    }
    if (group.pendingMembers.has(memberId)) {
      this.#addMemberThenRebalanceOrCompleteJoin(group, memberId, p, respond)
      return
    }
    const memberError = validateExistingMember(group, memberId, p.groupInstanceId)
    if (memberError !== ErrorCode.NONE) {
      respond(joinError(memberError, memberId))
      return
    }
    const member = group.members.get(memberId)!
    const reason = p.reason ?? 'not provided'
    switch (group.state) {
      case ClassicGroupState.PreparingRebalance:
        this.#updateMemberThenRebalanceOrCompleteJoin(group, member, p, respond, `Member ${memberId} is joining group during ${group.state}; client reason: ${reason}`)
        return
      case ClassicGroupState.CompletingRebalance:
        if (member.matches(p.protocols)) {
          // It did not get the JoinGroup response: answer again with the current generation.
          respond(this.#currentGenerationResult(group, memberId, group.isLeader(memberId)))
        } else {
          this.#updateMemberThenRebalanceOrCompleteJoin(group, member, p, respond, `Updating metadata for member ${memberId} during ${group.state}; client reason: ${reason}`)
        }
        return
      case ClassicGroupState.Stable:
        if (group.isLeader(memberId)) {
          // A leader's JoinGroup always rebalances: it may have seen changes (topic metadata) that members cannot.
          this.#updateMemberThenRebalanceOrCompleteJoin(group, member, p, respond, `Leader ${memberId} re-joining group during ${group.state}; client reason: ${reason}`)
        } else if (!member.matches(p.protocols)) {
          this.#updateMemberThenRebalanceOrCompleteJoin(group, member, p, respond, `Updating metadata for member ${memberId} during ${group.state}; client reason: ${reason}`)
        } else {
          respond(this.#currentGenerationResult(group, memberId, false))
        }
        return
      default:
        respond(joinError(ErrorCode.UNKNOWN_MEMBER_ID, memberId))
    }
  }

  #currentGenerationResult (group: ClassicGroup, memberId: string, withMembers: boolean): JoinGroupResult {
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? '',
      memberId,
      members: withMembers ? group.currentMembers() : [],
      skipAssignment: false
    }
  }

  #addMemberThenRebalanceOrCompleteJoin (group: ClassicGroup, memberId: string, p: JoinGroupParams, respond: (r: JoinGroupResult) => void): void {
    const member = new ClassicGroupMember({
      memberId,
      groupInstanceId: p.groupInstanceId,
      clientId: p.clientId,
      clientHost: p.clientHost,
      rebalanceTimeoutMs: p.rebalanceTimeoutMs,
      sessionTimeoutMs: p.sessionTimeoutMs,
      protocolType: p.protocolType,
      protocols: p.protocols
    })
    member.isNew = true
    if (group.is(ClassicGroupState.PreparingRebalance) && group.previousState === ClassicGroupState.Empty) group.newMemberAdded = true
    group.add(member, respond)
    // A new member cannot heartbeat until it has its JoinGroup response; drop it if that takes too long.
    this.#scheduleHeartbeatExpiry(group, memberId, this.#rt.config.newMemberJoinTimeoutMs)
    this.#maybePrepareRebalanceOrCompleteJoin(group, `Adding new member ${memberId} with group instance id ${p.groupInstanceId ?? 'null'}; client reason: ${p.reason ?? 'not provided'}`)
  }

  #updateMemberThenRebalanceOrCompleteJoin (group: ClassicGroup, member: ClassicGroupMember, p: JoinGroupParams, respond: (r: JoinGroupResult) => void, reason: string): void {
    // A repeated JoinGroup replaces the one still waiting: answer the old one so its connection moves on.
    member.awaitingJoin?.(joinError(ErrorCode.REBALANCE_IN_PROGRESS, member.memberId))
    group.updateMember(member, p.protocols, p.rebalanceTimeoutMs, p.sessionTimeoutMs, respond)
    this.#maybePrepareRebalanceOrCompleteJoin(group, reason)
  }

  #updateStaticMemberThenRebalanceOrCompleteJoin (group: ClassicGroup, oldMemberId: string, newMemberId: string, p: JoinGroupParams, respond: (r: JoinGroupResult) => void): void {
    const rt = this.#rt
    const instanceId = p.groupInstanceId!
    const currentLeader = group.leaderId ?? ''
    const old = group.members.get(oldMemberId)!
    // Fence the old instance at once if it is waiting on a join or sync.
    old.awaitingJoin?.(joinError(ErrorCode.FENCED_INSTANCE_ID, oldMemberId))
    old.awaitingSync?.(syncError(ErrorCode.FENCED_INSTANCE_ID))
    const member = group.replaceStaticMember(instanceId, oldMemberId, newMemberId)
    rt.timers.cancel(heartbeatKey(group.groupId, oldMemberId))
    this.#scheduleHeartbeatExpiry(group, newMemberId, member.sessionTimeoutMs)
    const oldProtocols = member.protocols
    const oldRebalanceTimeoutMs = member.rebalanceTimeoutMs
    const oldSessionTimeoutMs = member.sessionTimeoutMs
    group.updateMember(member, p.protocols, p.rebalanceTimeoutMs, p.sessionTimeoutMs, respond)
    rt.logger.info('Static member rejoined with a new member id', { group: group.groupId, instanceId, oldMemberId, newMemberId, state: group.state })
    if (group.is(ClassicGroupState.Stable)) {
      if (group.protocolName === group.selectProtocol()) {
        // Same protocol: persist the new member id and hand back the current generation, no rebalance.
        const complete = (result: JoinGroupResult): void => {
          const cb = member.awaitingJoin
          if (cb === undefined) return
          group.clearAwaitingJoin(member)
          cb(result)
        }
        let flushed: Promise<void> | undefined
        try {
          flushed = rt.append(group.groupId, [groupMetadataRecord(group)])
        } catch (error) {
          const code = error instanceof KafkaProtocolError ? error.code : ErrorCode.UNKNOWN_SERVER_ERROR
          rt.logger.warn('Could not persist a static member\'s new member id; reverting', { group: group.groupId, instanceId, error })
          const cb = member.awaitingJoin
          group.clearAwaitingJoin(member)
          group.updateMember(member, oldProtocols, oldRebalanceTimeoutMs, oldSessionTimeoutMs, undefined)
          const restored = group.replaceStaticMember(instanceId, newMemberId, oldMemberId)
          rt.timers.cancel(heartbeatKey(group.groupId, newMemberId))
          this.#scheduleHeartbeatExpiry(group, oldMemberId, restored.sessionTimeoutMs)
          cb?.({ ...joinError(code, ''), generationId: group.generationId, protocolName: group.protocolName, protocolType: group.protocolType, leader: currentLeader })
          return
        }
        afterFlush(flushed, () => {
          if (p.supportSkippingAssignment) {
            const isLeader = group.isLeader(newMemberId)
            complete({ ...this.#currentGenerationResult(group, newMemberId, isLeader), skipAssignment: isLeader })
          } else {
            // The old leader id keeps a restarted leader from running a pointless assignment.
            complete({ ...this.#currentGenerationResult(group, newMemberId, false), leader: currentLeader })
          }
        })
      } else {
        this.#maybePrepareRebalanceOrCompleteJoin(group, `Group's selectedProtocol will change because static member ${newMemberId} with instance id ${instanceId} joined with change of protocol`)
      }
    } else if (group.is(ClassicGroupState.CompletingRebalance)) {
      // The leader may already be assigning to the old member id: rebalance again.
      this.#prepareRebalance(group, `Updating metadata for static member ${newMemberId} with instance id ${instanceId}`)
    } else {
      this.#maybeCompleteJoinPhase(group)
    }
  }

  #maybePrepareRebalanceOrCompleteJoin (group: ClassicGroup, reason: string): void {
    if (group.canRebalance) this.#prepareRebalance(group, reason)
    else this.#maybeCompleteJoinPhase(group)
  }

  #prepareRebalance (group: ClassicGroup, reason: string): void {
    const rt = this.#rt
    if (group.is(ClassicGroupState.CompletingRebalance)) this.#resetAndPropagateAssignmentWithError(group, ErrorCode.REBALANCE_IN_PROGRESS)
    rt.timers.cancel(syncKey(group.groupId))
    const isInitialRebalance = group.is(ClassicGroupState.Empty)
    if (isInitialRebalance) {
      const delayMs = rt.config.initialRebalanceDelayMs
      const remainingMs = Math.max(group.rebalanceTimeoutMs - delayMs, 0)
      rt.timers.schedule(joinKey(group.groupId), delayMs, () => this.#tryCompleteInitialRebalanceElseSchedule(group, delayMs, remainingMs))
    }
    group.transitionTo(ClassicGroupState.PreparingRebalance, rt.now())
    rt.logger.info('Preparing to rebalance group', { group: group.groupId, state: group.previousState, generation: group.generationId, reason })
    if (!isInitialRebalance) {
      rt.timers.schedule(joinKey(group.groupId), group.rebalanceTimeoutMs, () => this.#completeJoin(group))
      this.#maybeCompleteJoinPhase(group)
    }
  }

  #tryCompleteInitialRebalanceElseSchedule (group: ClassicGroup, delayMs: number, remainingMs: number): void {
    if (group.newMemberAdded && remainingMs !== 0) {
      group.newMemberAdded = false
      const newDelayMs = Math.min(this.#rt.config.initialRebalanceDelayMs, remainingMs)
      const newRemainingMs = Math.max(remainingMs - delayMs, 0)
      this.#rt.timers.schedule(joinKey(group.groupId), newDelayMs, () => this.#tryCompleteInitialRebalanceElseSchedule(group, newDelayMs, newRemainingMs))
    } else {
      this.#completeJoin(group)
    }
  }

  #maybeCompleteJoinPhase (group: ClassicGroup): void {
    if (group.is(ClassicGroupState.PreparingRebalance) && group.hasAllMembersJoined && group.previousState !== ClassicGroupState.Empty) {
      this.#rt.timers.cancel(joinKey(group.groupId))
      this.#completeJoin(group)
    }
  }

  #completeJoin (group: ClassicGroup): void {
    const rt = this.#rt
    rt.timers.cancel(joinKey(group.groupId))
    if (!group.is(ClassicGroupState.PreparingRebalance)) return
    // Dynamic members that did not rejoin in time are dropped; static ones stay.
    for (const member of [...group.members.values()]) {
      if (!member.isAwaitingJoin && !member.isStatic) {
        rt.logger.info('Removing member that did not rejoin in time', { group: group.groupId, memberId: member.memberId })
        this.#removeMember(group, member)
      }
    }
    if (!group.maybeElectNewJoinedLeader() && !group.isEmpty) {
      // Nobody rejoined: wait another rebalance timeout, until session timeouts clear the dead members.
      rt.logger.warn('Group could not complete rebalance because no members rejoined', { group: group.groupId })
      rt.timers.schedule(joinKey(group.groupId), group.rebalanceTimeoutMs, () => this.#completeJoin(group))
      return
    }
    group.initNextGeneration(rt.now())
    if (group.is(ClassicGroupState.Empty)) {
      rt.logger.info('Group is now empty', { group: group.groupId, generation: group.generationId })
      try {
        void rt.append(group.groupId, [groupMetadataRecord(group)])
      } catch (error) {
        // The previous generation on disk has no live members either; nothing depends on this write.
        rt.logger.warn('Could not write the empty group', { group: group.groupId, error })
      }
      return
    }
    rt.logger.info('Stabilized group', { group: group.groupId, generation: group.generationId, protocol: group.protocolName, members: group.members.size, leader: group.leaderId })
    for (const member of group.members.values()) {
      const cb = member.awaitingJoin
      if (cb !== undefined) {
        group.clearAwaitingJoin(member)
        cb(this.#currentGenerationResult(group, member.memberId, group.isLeader(member.memberId)))
      }
      this.#scheduleHeartbeatExpiry(group, member.memberId, member.sessionTimeoutMs)
      member.isNew = false
      group.pendingSyncMembers.add(member.memberId)
    }
    const generation = group.generationId
    rt.timers.schedule(syncKey(group.groupId), group.rebalanceTimeoutMs, () => this.#expirePendingSync(group, generation))
  }

  #expirePendingSync (group: ClassicGroup, generation: number): void {
    if (generation !== group.generationId) return
    if (!group.is(ClassicGroupState.CompletingRebalance) && !group.is(ClassicGroupState.Stable)) return
    if (group.pendingSyncMembers.size === 0) return
    const ids = [...group.pendingSyncMembers]
    for (const memberId of ids) {
      const member = group.members.get(memberId)
      if (member !== undefined) this.#removeMember(group, member)
    }
    this.#prepareRebalance(group, `Removing ${ids.join(', ')} on pending sync request expiration`)
  }

  #resetAndPropagateAssignmentWithError (group: ClassicGroup, errorCode: number): void {
    for (const m of group.members.values()) m.assignment = EMPTY_BUFFER
    this.#propagateAssignment(group, errorCode)
  }

  #propagateAssignment (group: ClassicGroup, errorCode: number): void {
    for (const m of group.members.values()) {
      const cb = m.awaitingSync
      if (cb === undefined) continue
      m.awaitingSync = undefined
      cb(errorCode === ErrorCode.NONE
        ? { errorCode, protocolType: group.protocolType, protocolName: group.protocolName, assignment: m.assignment }
        : { ...syncError(errorCode) })
      // Expiries seen while it waited were ignored: expect its next heartbeat from now.
      this.#scheduleHeartbeatExpiry(group, m.memberId, m.sessionTimeoutMs)
    }
  }

  /** Removes a member, answering whatever it still waits for. */
  #removeMember (group: ClassicGroup, member: ClassicGroupMember): void {
    this.#rt.timers.cancel(heartbeatKey(group.groupId, member.memberId))
    const join = member.awaitingJoin
    const sync = member.awaitingSync
    group.remove(member.memberId)
    member.awaitingJoin = undefined
    member.awaitingSync = undefined
    join?.(joinError(ErrorCode.UNKNOWN_MEMBER_ID, ''))
    sync?.(syncError(ErrorCode.UNKNOWN_MEMBER_ID))
  }

  #removeMemberAndUpdateGroup (group: ClassicGroup, member: ClassicGroupMember, reason: string): void {
    this.#removeMember(group, member)
    if (group.is(ClassicGroupState.Stable) || group.is(ClassicGroupState.CompletingRebalance)) this.#maybePrepareRebalanceOrCompleteJoin(group, reason)
    else if (group.is(ClassicGroupState.PreparingRebalance)) this.#maybeCompleteJoinPhase(group)
  }

  #scheduleHeartbeatExpiry (group: ClassicGroup, memberId: string, timeoutMs: number): void {
    this.#rt.timers.schedule(heartbeatKey(group.groupId, memberId), timeoutMs, () => this.#onHeartbeatExpired(group, memberId))
  }

  #onHeartbeatExpired (group: ClassicGroup, memberId: string): void {
    const rt = this.#rt
    if (group.is(ClassicGroupState.Dead) || rt.group(group.groupId) !== group) return
    if (group.pendingMembers.has(memberId)) {
      rt.logger.info('Pending member removed after session timeout expiration', { group: group.groupId, memberId })
      group.pendingMembers.delete(memberId)
      if (group.is(ClassicGroupState.PreparingRebalance)) this.#maybeCompleteJoinPhase(group)
      return
    }
    const member = group.members.get(memberId)
    if (member === undefined || member.hasSatisfiedHeartbeat) return
    rt.logger.info('Member has failed (session timeout expired), removing it from the group', { group: group.groupId, memberId, sessionTimeoutMs: member.sessionTimeoutMs })
    this.#removeMemberAndUpdateGroup(group, member, `removing member ${memberId} on heartbeat expiration`)
  }

  /** Re-arms the session timers of every member (after the group is loaded). */
  scheduleLoadedMembers (group: ClassicGroup): void {
    for (const m of group.members.values()) this.#scheduleHeartbeatExpiry(group, m.memberId, m.sessionTimeoutMs)
  }

  /** Answers everything a group still waits for (coordinator shutdown or group deletion). */
  abortWaiting (group: ClassicGroup, errorCode: number): void {
    for (const m of group.members.values()) {
      const join = m.awaitingJoin
      const sync = m.awaitingSync
      group.clearAwaitingJoin(m)
      m.awaitingSync = undefined
      join?.(joinError(errorCode, m.memberId))
      sync?.(syncError(errorCode))
    }
    this.cancelTimers(group)
  }

  cancelTimers (group: ClassicGroup): void {
    const timers = this.#rt.timers
    timers.cancel(joinKey(group.groupId))
    timers.cancel(syncKey(group.groupId))
    for (const id of group.members.keys()) timers.cancel(heartbeatKey(group.groupId, id))
    for (const id of group.pendingMembers) timers.cancel(heartbeatKey(group.groupId, id))
  }

  // ---- SyncGroup

  async syncGroup (p: SyncGroupParams): Promise<SyncGroupResult> {
    return await new Promise((resolve) => this.#sync(p, resolve))
  }

  #sync (p: SyncGroupParams, respond: (r: SyncGroupResult) => void): void {
    const rt = this.#rt
    let group: ClassicGroup | undefined
    try {
      group = rt.classicGroup(p.groupId, false, ErrorCode.UNKNOWN_MEMBER_ID)
    } catch (error) {
      if (error instanceof KafkaProtocolError) {
        respond(syncError(error.code))
        return
      }
      throw error
    }
    if (group === undefined) {
      respond(syncError(ErrorCode.UNKNOWN_MEMBER_ID))
      return
    }
    if (group.is(ClassicGroupState.Dead)) {
      respond(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE))
      return
    }
    const memberError = validateExistingMember(group, p.memberId, p.groupInstanceId)
    if (memberError !== ErrorCode.NONE) {
      respond(syncError(memberError))
      return
    }
    if (p.generationId !== group.generationId) {
      respond(syncError(ErrorCode.ILLEGAL_GENERATION))
      return
    }
    if (inconsistent(p.protocolType, group.protocolType) || inconsistent(p.protocolName, group.protocolName)) {
      respond(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL))
      return
    }
    switch (group.state) {
      case ClassicGroupState.Empty:
        respond(syncError(ErrorCode.UNKNOWN_MEMBER_ID))
        return
      case ClassicGroupState.PreparingRebalance:
        respond(syncError(ErrorCode.REBALANCE_IN_PROGRESS))
        return
      case ClassicGroupState.CompletingRebalance: {
        const member = group.members.get(p.memberId)!
        member.awaitingSync?.(syncError(ErrorCode.REBALANCE_IN_PROGRESS))
        member.awaitingSync = respond
        group.pendingSyncMembers.delete(p.memberId)
        if (group.isLeader(p.memberId)) this.#storeLeaderAssignment(group, p)
        return
      }
      case ClassicGroupState.Stable: {
        group.pendingSyncMembers.delete(p.memberId)
        const member = group.members.get(p.memberId)!
        respond({ errorCode: ErrorCode.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment })
        this.#scheduleHeartbeatExpiry(group, p.memberId, member.sessionTimeoutMs)
        return
      }
      default:
        respond(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE))
    }
  }

  #storeLeaderAssignment (group: ClassicGroup, p: SyncGroupParams): void {
    const rt = this.#rt
    const assignment = new Map<string, Buffer>()
    for (const a of p.assignments) assignment.set(a.memberId, a.assignment)
    const missing = [...group.members.keys()].filter((id) => !assignment.has(id))
    for (const id of missing) assignment.set(id, EMPTY_BUFFER)
    if (missing.length > 0) rt.logger.warn('Leader left members out of the assignment; they get an empty one', { group: group.groupId, members: missing.join(',') })
    rt.logger.info('Assignment received from leader', { group: group.groupId, leader: p.memberId, generation: group.generationId, members: group.members.size })
    let flushed: Promise<void> | undefined
    try {
      flushed = rt.append(group.groupId, [groupMetadataRecord(group, assignment)])
    } catch (error) {
      const code = error instanceof KafkaProtocolError ? error.code : ErrorCode.UNKNOWN_SERVER_ERROR
      rt.logger.error('Could not store the group assignment', { group: group.groupId, error })
      this.#resetAndPropagateAssignmentWithError(group, code)
      this.#maybePrepareRebalanceOrCompleteJoin(group, `Error ${code} when storing group assignment during SyncGroup (member: ${p.memberId})`)
      return
    }
    for (const [id, bytes] of assignment) {
      const m = group.members.get(id)
      if (m !== undefined) m.assignment = bytes
    }
    group.transitionTo(ClassicGroupState.Stable, rt.now())
    const generation = group.generationId
    afterFlush(flushed, () => {
      if (group.generationId === generation) this.#propagateAssignment(group, ErrorCode.NONE)
    })
  }

  // ---- Heartbeat

  heartbeat (p: HeartbeatParams): number {
    const rt = this.#rt
    let group: ClassicGroup | undefined
    try {
      group = rt.classicGroup(p.groupId, false, ErrorCode.UNKNOWN_MEMBER_ID)
    } catch (error) {
      if (error instanceof KafkaProtocolError) return error.code
      throw error
    }
    if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
    if (group.is(ClassicGroupState.Dead)) return ErrorCode.COORDINATOR_NOT_AVAILABLE
    const memberError = validateExistingMember(group, p.memberId, p.groupInstanceId)
    if (memberError !== ErrorCode.NONE) return memberError
    if (p.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION
    const member = group.members.get(p.memberId)!
    switch (group.state) {
      case ClassicGroupState.Empty:
        return ErrorCode.UNKNOWN_MEMBER_ID
      case ClassicGroupState.PreparingRebalance:
        this.#scheduleHeartbeatExpiry(group, p.memberId, member.sessionTimeoutMs)
        return ErrorCode.REBALANCE_IN_PROGRESS
      default:
        this.#scheduleHeartbeatExpiry(group, p.memberId, member.sessionTimeoutMs)
        return ErrorCode.NONE
    }
  }

  // ---- LeaveGroup

  leaveGroup (p: LeaveGroupParams): LeaveGroupResult {
    const rt = this.#rt
    let group: ClassicGroup | undefined
    try {
      group = rt.classicGroup(p.groupId, false, ErrorCode.UNKNOWN_MEMBER_ID)
    } catch (error) {
      if (error instanceof KafkaProtocolError) return { errorCode: error.code, members: [] }
      throw error
    }
    if (group === undefined) return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, members: [] }
    if (group.is(ClassicGroupState.Dead)) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] }
    const results: LeaveGroupResult['members'] = []
    const left: string[] = []
    for (const m of p.members) {
      const result = { memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: ErrorCode.NONE as number }
      results.push(result)
      if (m.memberId === '') {
        // Removal by instance id only (administrative).
        const id = m.groupInstanceId === null ? undefined : group.staticMemberId(m.groupInstanceId)
        if (id === undefined) {
          result.errorCode = ErrorCode.UNKNOWN_MEMBER_ID
        } else {
          this.#removeLeaving(group, id, m.reason)
          left.push(id)
        }
      } else if (group.pendingMembers.has(m.memberId)) {
        group.pendingMembers.delete(m.memberId)
        rt.timers.cancel(heartbeatKey(group.groupId, m.memberId))
        left.push(m.memberId)
      } else {
        const error = validateExistingMember(group, m.memberId, m.groupInstanceId)
        if (error !== ErrorCode.NONE) {
          result.errorCode = error
        } else {
          this.#removeLeaving(group, m.memberId, m.reason)
          left.push(m.memberId)
        }
      }
    }
    if (left.length > 0) {
      const reason = `explicit LeaveGroup request for (${left.join(', ')}) members`
      if (group.is(ClassicGroupState.Stable) || group.is(ClassicGroupState.CompletingRebalance)) this.#maybePrepareRebalanceOrCompleteJoin(group, reason)
      else if (group.is(ClassicGroupState.PreparingRebalance)) this.#maybeCompleteJoinPhase(group)
    }
    return { errorCode: ErrorCode.NONE, members: results }
  }

  #removeLeaving (group: ClassicGroup, memberId: string, reason: string | null): void {
    const member = group.members.get(memberId)
    if (member === undefined) return
    this.#rt.logger.info('Member left the group', { group: group.groupId, memberId, groupInstanceId: member.groupInstanceId ?? undefined, reason: reason ?? 'not provided' })
    this.#removeMember(group, member)
  }
}

function inconsistent (requested: string | null, current: string | null): boolean {
  return requested !== null && current !== null && requested !== current
}

/** UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID (a static member's old id) or NONE. */
export function validateExistingMember (group: ClassicGroup, memberId: string, groupInstanceId: string | null): number {
  if (groupInstanceId === null) return group.members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID
  const existing = group.staticMemberId(groupInstanceId)
  if (existing === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
  return existing === memberId ? ErrorCode.NONE : ErrorCode.FENCED_INSTANCE_ID
}

/** The GroupMetadata record of a classic group, with these assignments (default: the members' own). */
export function groupMetadataRecord (group: ClassicGroup, assignment?: ReadonlyMap<string, Buffer>): CoordinatorRecord {
  const value: GroupMetadataValue = {
    protocolType: group.protocolType ?? '',
    generation: group.generationId,
    protocol: group.protocolName,
    leader: group.isEmpty ? null : group.leaderId,
    currentStateTimestamp: group.currentStateTimestamp,
    members: [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      rebalanceTimeout: m.rebalanceTimeoutMs,
      sessionTimeout: m.sessionTimeoutMs,
      subscription: m.metadata(group.protocolName),
      assignment: assignment?.get(m.memberId) ?? m.assignment
    }))
  }
  return { type: 'GroupMetadata', groupId: group.groupId, value }
}
