/**
 * A group of the classic rebalance protocol (JoinGroup/SyncGroup/Heartbeat/LeaveGroup): its
 * state machine, members, generation, leader and protocol, as in Kafka's ClassicGroup. This
 * class holds state and answers questions about it; the coordinator (classic-protocol.ts)
 * drives the transitions, timers and persistence.
 *
 *   Empty --join--> PreparingRebalance --all joined / timeout--> CompletingRebalance
 *   CompletingRebalance --leader's SyncGroup written--> Stable
 *   Stable | CompletingRebalance --join of a new/changed member, leave, expiry--> PreparingRebalance
 *   PreparingRebalance --nobody left--> Empty;   any --deleted--> Dead
 */
import { CONSUMER_PROTOCOL_TYPE, EMPTY_BUFFER, decodeSubscription } from '@samsa/protocol'
import { GroupOffsets } from './offsets.ts'

export const ClassicGroupState = {
  Empty: 'Empty',
  PreparingRebalance: 'PreparingRebalance',
  CompletingRebalance: 'CompletingRebalance',
  Stable: 'Stable',
  Dead: 'Dead'
} as const
export type ClassicGroupState = typeof ClassicGroupState[keyof typeof ClassicGroupState]

export interface GroupProtocol {
  name: string
  metadata: Buffer
}

export interface JoinGroupMemberInfo {
  memberId: string
  groupInstanceId: string | null
  metadata: Buffer
}

export interface JoinGroupResult {
  errorCode: number
  generationId: number
  protocolType: string | null
  protocolName: string | null
  leader: string
  memberId: string
  members: JoinGroupMemberInfo[]
  skipAssignment: boolean
}

export interface SyncGroupResult {
  errorCode: number
  protocolType: string | null
  protocolName: string | null
  assignment: Buffer
}

export function joinError (errorCode: number, memberId: string): JoinGroupResult {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId, members: [], skipAssignment: false }
}

export function syncError (errorCode: number): SyncGroupResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BUFFER }
}

export class ClassicGroupMember {
  readonly memberId: string
  groupInstanceId: string | null
  clientId: string
  clientHost: string
  rebalanceTimeoutMs: number
  sessionTimeoutMs: number
  readonly protocolType: string
  protocols: GroupProtocol[]
  assignment: Buffer = EMPTY_BUFFER
  /** Set while the member's JoinGroup waits for the join phase to end. */
  awaitingJoin: ((result: JoinGroupResult) => void) | undefined
  /** Set while the member's SyncGroup waits for the leader's assignment. */
  awaitingSync: ((result: SyncGroupResult) => void) | undefined
  /** Joined during the current join phase and not answered yet (expires on the new-member timeout). */
  isNew = false

  constructor (init: {
    memberId: string
    groupInstanceId: string | null
    clientId: string
    clientHost: string
    rebalanceTimeoutMs: number
    sessionTimeoutMs: number
    protocolType: string
    protocols: GroupProtocol[]
  }) {
    this.memberId = init.memberId
    this.groupInstanceId = init.groupInstanceId
    this.clientId = init.clientId
    this.clientHost = init.clientHost
    this.rebalanceTimeoutMs = init.rebalanceTimeoutMs
    this.sessionTimeoutMs = init.sessionTimeoutMs
    this.protocolType = init.protocolType
    this.protocols = init.protocols
  }

  get isStatic (): boolean {
    return this.groupInstanceId !== null
  }

  get isAwaitingJoin (): boolean {
    return this.awaitingJoin !== undefined
  }

  get isAwaitingSync (): boolean {
    return this.awaitingSync !== undefined
  }

  /** A session expiry removes the member unless it is waiting on the coordinator (Kafka's hasSatisfiedHeartbeat). */
  get hasSatisfiedHeartbeat (): boolean {
    if (this.isNew) return false
    return this.isAwaitingJoin || this.isAwaitingSync
  }

  metadata (protocolName: string | null): Buffer {
    return this.protocols.find((p) => p.name === protocolName)?.metadata ?? EMPTY_BUFFER
  }

  /** Same protocols, same order, same metadata bytes. */
  matches (protocols: readonly GroupProtocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false
    return protocols.every((p, i) => p.name === this.protocols[i]!.name && p.metadata.equals(this.protocols[i]!.metadata))
  }

  /** The first of this member's protocols (its preference order) among the candidates. */
  vote (candidates: ReadonlySet<string>): string | undefined {
    return this.protocols.find((p) => candidates.has(p.name))?.name
  }
}

export class ClassicGroup {
  readonly type = 'classic'
  readonly groupId: string
  state: ClassicGroupState = ClassicGroupState.Empty
  previousState: ClassicGroupState = ClassicGroupState.Empty
  generationId = 0
  protocolType: string | null = null
  protocolName: string | null = null
  leaderId: string | null = null
  /** When the group entered its current state (-1 unknown): the base of offset expiry while empty. */
  currentStateTimestamp: number
  readonly members = new Map<string, ClassicGroupMember>()
  /** KIP-394: member ids handed out with MEMBER_ID_REQUIRED, not yet joined. */
  readonly pendingMembers = new Set<string>()
  /** group.instance.id -> member id. */
  readonly staticMembers = new Map<string, string>()
  /** Members that got a JoinGroup response this generation and have not sent SyncGroup. */
  readonly pendingSyncMembers = new Set<string>()
  readonly #supportedProtocols = new Map<string, number>()
  numMembersAwaitingJoin = 0
  /** A member joined during the initial delayed rebalance (extends the delay). */
  newMemberAdded = false
  /** Topics the members subscribe to (consumer protocol), or null when unknown. */
  subscribedTopics: Set<string> | null = null
  readonly offsets = new GroupOffsets()

  constructor (groupId: string, now: number) {
    this.groupId = groupId
    this.currentStateTimestamp = now
  }

  is (state: ClassicGroupState): boolean {
    return this.state === state
  }

  transitionTo (state: ClassicGroupState, now: number): void {
    this.previousState = this.state
    this.state = state
    this.currentStateTimestamp = now
  }

  get isEmpty (): boolean {
    return this.members.size === 0
  }

  /** Stable, CompletingRebalance and Empty groups may start a rebalance. */
  get canRebalance (): boolean {
    return this.state === ClassicGroupState.Stable || this.state === ClassicGroupState.CompletingRebalance || this.state === ClassicGroupState.Empty
  }

  get usesConsumerProtocol (): boolean {
    return this.protocolType === CONSUMER_PROTOCOL_TYPE
  }

  isLeader (memberId: string): boolean {
    return this.leaderId === memberId
  }

  staticMemberId (instanceId: string): string | undefined {
    return this.staticMembers.get(instanceId)
  }

  get numMembersAndPending (): number {
    return this.members.size + this.pendingMembers.size
  }

  /** The largest rebalance timeout among the members (how long a join phase may last). */
  get rebalanceTimeoutMs (): number {
    let max = 0
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs)
    return max
  }

  get hasAllMembersJoined (): boolean {
    return this.members.size === this.numMembersAwaitingJoin && this.pendingMembers.size === 0
  }

  add (member: ClassicGroupMember, onJoin: ((result: JoinGroupResult) => void) | undefined): void {
    if (this.members.size === 0) this.protocolType = member.protocolType
    if (this.leaderId === null) this.leaderId = member.memberId
    this.members.set(member.memberId, member)
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId)
    for (const p of member.protocols) this.#supportedProtocols.set(p.name, (this.#supportedProtocols.get(p.name) ?? 0) + 1)
    member.awaitingJoin = onJoin
    if (onJoin !== undefined) this.numMembersAwaitingJoin++
    this.pendingMembers.delete(member.memberId)
  }

  remove (memberId: string): ClassicGroupMember | undefined {
    const member = this.members.get(memberId)
    if (member === undefined) return undefined
    this.members.delete(memberId)
    for (const p of member.protocols) {
      const n = (this.#supportedProtocols.get(p.name) ?? 1) - 1
      if (n <= 0) this.#supportedProtocols.delete(p.name)
      else this.#supportedProtocols.set(p.name, n)
    }
    if (member.isAwaitingJoin) this.numMembersAwaitingJoin--
    if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) this.staticMembers.delete(member.groupInstanceId)
    this.pendingSyncMembers.delete(memberId)
    if (this.leaderId === memberId) {
      this.leaderId = null
      for (const m of this.members.values()) {
        this.leaderId = m.memberId
        break
      }
    }
    return member
  }

  /** Replaces a member's protocols and timeouts as a JoinGroup from it asks. */
  updateMember (member: ClassicGroupMember, protocols: GroupProtocol[], rebalanceTimeoutMs: number, sessionTimeoutMs: number,
    onJoin: ((result: JoinGroupResult) => void) | undefined): void {
    for (const p of member.protocols) {
      const n = (this.#supportedProtocols.get(p.name) ?? 1) - 1
      if (n <= 0) this.#supportedProtocols.delete(p.name)
      else this.#supportedProtocols.set(p.name, n)
    }
    for (const p of protocols) this.#supportedProtocols.set(p.name, (this.#supportedProtocols.get(p.name) ?? 0) + 1)
    member.protocols = protocols
    member.rebalanceTimeoutMs = rebalanceTimeoutMs
    member.sessionTimeoutMs = sessionTimeoutMs
    if (onJoin !== undefined && !member.isAwaitingJoin) this.numMembersAwaitingJoin++
    else if (onJoin === undefined && member.isAwaitingJoin) this.numMembersAwaitingJoin--
    member.awaitingJoin = onJoin
  }

  /** Forgets a member's waiting JoinGroup (after answering it). */
  clearAwaitingJoin (member: ClassicGroupMember): void {
    if (member.awaitingJoin === undefined) return
    member.awaitingJoin = undefined
    this.numMembersAwaitingJoin--
  }

  /**
   * Moves a static member to a new member id (a restarted instance). The old member's waiting
   * requests are answered FENCED_INSTANCE_ID by the caller first.
   */
  replaceStaticMember (instanceId: string, oldMemberId: string, newMemberId: string): ClassicGroupMember {
    const old = this.members.get(oldMemberId)
    if (old === undefined) throw new Error(`Static member ${oldMemberId} of ${this.groupId} is missing`)
    const replacement = new ClassicGroupMember({
      memberId: newMemberId,
      groupInstanceId: instanceId,
      clientId: old.clientId,
      clientHost: old.clientHost,
      rebalanceTimeoutMs: old.rebalanceTimeoutMs,
      sessionTimeoutMs: old.sessionTimeoutMs,
      protocolType: old.protocolType,
      protocols: old.protocols
    })
    replacement.assignment = old.assignment
    if (old.isAwaitingJoin) this.numMembersAwaitingJoin--
    old.awaitingJoin = undefined
    old.awaitingSync = undefined
    this.members.delete(oldMemberId)
    this.members.set(newMemberId, replacement)
    this.staticMembers.set(instanceId, newMemberId)
    if (this.leaderId === oldMemberId) this.leaderId = newMemberId
    if (this.pendingSyncMembers.delete(oldMemberId)) this.pendingSyncMembers.add(newMemberId)
    return replacement
  }

  /** Protocols every member supports. */
  candidateProtocols (): Set<string> {
    const out = new Set<string>()
    for (const [name, count] of this.#supportedProtocols) if (count === this.members.size) out.add(name)
    return out
  }

  /**
   * Whether a member with this protocol type and these protocols may join: any non-empty type and
   * list for an empty group, otherwise the group's type and at least one protocol every member supports.
   */
  supportsProtocols (protocolType: string, protocols: readonly GroupProtocol[]): boolean {
    if (this.isEmpty) return protocolType !== '' && protocols.length > 0
    if (this.protocolType !== protocolType) return false
    return protocols.some((p) => this.#supportedProtocols.get(p.name) === this.members.size)
  }

  /** The protocol for the next generation: most votes among the protocols everyone supports. */
  selectProtocol (): string {
    const candidates = this.candidateProtocols()
    const votes = new Map<string, number>()
    for (const m of this.members.values()) {
      const v = m.vote(candidates)
      if (v !== undefined) votes.set(v, (votes.get(v) ?? 0) + 1)
    }
    let best: string | undefined
    let bestVotes = -1
    for (const [name, n] of votes) {
      if (n > bestVotes) {
        best = name
        bestVotes = n
      }
    }
    if (best === undefined) throw new Error(`No protocol is supported by every member of ${this.groupId}`)
    return best
  }

  /** Keeps the leader if it rejoined, else picks a member that did; false if none did. */
  maybeElectNewJoinedLeader (): boolean {
    if (this.leaderId !== null) {
      const leader = this.members.get(this.leaderId)
      if (leader?.isAwaitingJoin === true) return true
    }
    for (const m of this.members.values()) {
      if (m.isAwaitingJoin) {
        this.leaderId = m.memberId
        return true
      }
    }
    return false
  }

  initNextGeneration (now: number): void {
    this.generationId++
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol()
      this.subscribedTopics = this.computeSubscribedTopics()
      this.transitionTo(ClassicGroupState.CompletingRebalance, now)
    } else {
      this.protocolName = null
      this.subscribedTopics = this.computeSubscribedTopics()
      this.transitionTo(ClassicGroupState.Empty, now)
    }
    this.pendingSyncMembers.clear()
  }

  /** The topics of every member's "consumer" subscription, or null when they cannot be known. */
  computeSubscribedTopics (): Set<string> | null {
    if (!this.usesConsumerProtocol || this.protocolName === null) return this.members.size === 0 ? new Set() : null
    const topics = new Set<string>()
    try {
      for (const m of this.members.values()) {
        for (const t of decodeSubscription(m.metadata(this.protocolName)).topics) topics.add(t)
      }
    } catch {
      return null
    }
    return topics
  }

  isSubscribedToTopic (topic: string): boolean {
    return this.subscribedTopics?.has(topic) ?? false
  }

  /** The member list the leader receives in its JoinGroup response. */
  currentMembers (): JoinGroupMemberInfo[] {
    return [...this.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata(this.protocolName) }))
  }
}
