/**
 * Group membership with the classic protocol (Kafka's AbstractCoordinator and
 * ConsumerCoordinator): FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup.
 *
 * - **Join** (in poll()): before joining, an eager member revokes everything it owns, a
 *   cooperative one only partitions of topics it no longer subscribes to, and a member whose
 *   generation was lost treats its partitions as lost. JoinGroup v4+ answers a new dynamic
 *   member with MEMBER_ID_REQUIRED and an id to join with (KIP-394); the member joins again with
 *   it at once. Static members (KIP-345, `groupInstanceId`, JoinGroup v5+) keep their partitions
 *   across restarts and never send LeaveGroup.
 * - **Assign**: the leader decodes every member's subscription, refreshes metadata for all
 *   their topics and runs the agreed assignor (unless JoinGroup v9 tells a restarted static
 *   leader to skip it, KIP-814); SyncGroup hands out the result.
 * - **Cooperative** (KIP-429, when every configured assignor is cooperative): after SyncGroup
 *   the member revokes only what it lost and rejoins at once, so that the partitions it gave up
 *   are assigned in a second rebalance.
 * - **Heartbeat** (a timer, every `heartbeatIntervalMs`, while the app is slow too):
 *   REBALANCE_IN_PROGRESS asks for a rejoin at the next poll; ILLEGAL_GENERATION and
 *   UNKNOWN_MEMBER_ID reset the generation (the partitions are lost); FENCED_INSTANCE_ID is
 *   fatal. When the application has not read for `maxPollIntervalMs`, the member leaves.
 */
import { clearTimeout, setTimeout } from 'node:timers'
import {
  CONSUMER_PROTOCOL_TYPE, ErrorCode, HeartbeatApi, JoinGroupApi, LeaveGroupApi, SyncGroupApi, decodeAssignment, decodeSubscription,
  encodeAssignment, encodeSubscription
} from '@samsa/protocol'
import type { JoinGroupResponse } from '@samsa/protocol/messages/join-group'
import type { SyncGroupRequestAssignment } from '@samsa/protocol/messages/sync-group'
import { CoordinatorType } from '../cluster.ts'
import { KafkaClientError, KafkaClosedError, KafkaIllegalStateError, KafkaResponseError, isRetriable } from '../errors.ts'
import { backoffDelay, sleep } from '../retry.ts'
import type { AssignorMember, PartitionAssignor } from './assignors.ts'
import type { GroupMembership, MembershipHost } from './membership.ts'
import type { CommitIdentity } from './offsets.ts'
import { partitionKey } from './partition-state.ts'
import type { TopicPartition } from './types.ts'

const SUBSCRIPTION_VERSION = 3
const ASSIGNMENT_VERSION = 3

/** JoinGroup/SyncGroup errors after which the member cannot go on. */
const FATAL_JOIN_ERRORS = new Set<number>([
  ErrorCode.FENCED_INSTANCE_ID, ErrorCode.GROUP_AUTHORIZATION_FAILED, ErrorCode.INVALID_SESSION_TIMEOUT, ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
  ErrorCode.GROUP_MAX_SIZE_REACHED, ErrorCode.INVALID_GROUP_ID, ErrorCode.UNSUPPORTED_VERSION, ErrorCode.GROUP_ID_NOT_FOUND,
  ErrorCode.TOPIC_AUTHORIZATION_FAILED
])

const COORDINATOR_ERRORS = new Set<number>([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS])

/** Groups topic-partitions by topic, topics and partitions sorted. */
export function groupByTopic (partitions: readonly TopicPartition[]): Array<{ topic: string, partitions: number[] }> {
  const map = new Map<string, number[]>()
  for (const tp of partitions) {
    const list = map.get(tp.topic)
    if (list === undefined) map.set(tp.topic, [tp.partition])
    else list.push(tp.partition)
  }
  return [...map].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map(([topic, ps]) => ({ topic, partitions: ps.sort((x, y) => x - y) }))
}

function flatten (list: ReadonlyArray<{ topic: string, partitions: readonly number[] }>): TopicPartition[] {
  const out: TopicPartition[] = []
  for (const t of list) for (const p of t.partitions) out.push({ topic: t.topic, partition: p })
  return out
}

type MemberState = 'unjoined' | 'joining' | 'stable'

export class ClassicMembership implements GroupMembership {
  memberId = ''
  generationId = -1
  #host: MembershipHost
  #assignors: readonly PartitionAssignor[]
  #cooperative: boolean
  #state: MemberState = 'unjoined'
  #rejoinNeeded = true
  #prepared = false
  #protocolName: string | null = null
  #fatal: KafkaClientError | null = null
  #timer: ReturnType<typeof setTimeout> | null = null
  #heartbeating = false
  #stopped = false
  #failures = 0
  /** Subscribed topics and their partition counts at the last join. */
  #joinedWith = ''

  constructor (host: MembershipHost) {
    this.#host = host
    this.#assignors = host.options.partitionAssignors
    this.#cooperative = this.#assignors.every((a) => a.rebalanceProtocol === 'cooperative')
  }

  /** 'eager' or 'cooperative' (KIP-429). */
  get rebalanceProtocol (): 'eager' | 'cooperative' {
    return this.#cooperative ? 'cooperative' : 'eager'
  }

  /** The assignor the group uses, once joined. */
  get protocolName (): string | null {
    return this.#protocolName
  }

  commitIdentity (): CommitIdentity {
    return {
      generationIdOrMemberEpoch: this.generationId,
      memberId: this.memberId,
      groupInstanceId: this.#host.options.groupInstanceId,
      consumerProtocol: false
    }
  }

  subscriptionChanged (): void {
    if (this.#state === 'unjoined') return
    if (this.#snapshot() !== this.#joinedWith) this.#requestRejoin()
  }

  commitFenced (): void {
    this.#requestRejoin()
  }

  #requestRejoin (): void {
    this.#rejoinNeeded = true
    this.#host.attention()
  }

  #snapshot (): string {
    const cluster = this.#host.cluster
    return this.#host.subscribedTopics().sort().map((t) => `${t}:${cluster.topic(t)?.partitions.length ?? -1}`).join(',')
  }

  #resetGeneration (memberIdToo: boolean): void {
    this.generationId = -1
    if (memberIdToo) this.memberId = ''
    this.#state = 'unjoined'
    this.#rejoinNeeded = true
    this.#stopHeartbeat()
    this.#host.attention()
  }

  async poll (): Promise<void> {
    if (this.#fatal !== null) throw this.#fatal
    while (!this.#stopped && (this.#rejoinNeeded || this.#state !== 'stable')) {
      if (!this.#prepared) {
        await this.#onJoinPrepare()
        this.#prepared = true
      }
      this.#stopHeartbeat()
      this.#state = 'joining'
      let assignment: TopicPartition[] | null
      try {
        assignment = await this.#joinAndSync()
      } catch (error) {
        if (this.#stopped || error instanceof KafkaClosedError) throw error
        if (error instanceof KafkaResponseError && FATAL_JOIN_ERRORS.has(error.errorCode)) {
          this.#fatal = error
          this.#state = 'unjoined'
          throw error
        }
        if (error instanceof KafkaClientError && !error.retriable && !(error instanceof KafkaResponseError)) {
          this.#fatal = error
          throw error
        }
        await sleep(Math.max(1, backoffDelay(this.#failures++, this.#host.cluster.retryPolicy)))
        continue
      }
      if (assignment === null) continue
      this.#failures = 0
      this.#state = 'stable'
      this.#rejoinNeeded = false
      this.#prepared = false
      this.#startHeartbeat()
      await this.#onJoinComplete(assignment)
    }
  }

  async #onJoinPrepare (): Promise<void> {
    const host = this.#host
    const owned = host.owned()
    if (owned.length === 0) return
    if (this.generationId < 0) {
      await host.lose(owned)
    } else if (!this.#cooperative) {
      await host.revoke(owned)
    } else {
      const subscribed = new Set(host.subscribedTopics())
      const gone = owned.filter((tp) => !subscribed.has(tp.topic))
      if (gone.length > 0) await host.revoke(gone)
    }
  }

  /** Joins and syncs; returns the assignment, or null to join again at once. */
  async #joinAndSync (): Promise<TopicPartition[] | null> {
    const host = this.#host
    const options = host.options
    const cluster = host.cluster
    const groupId = host.groupId
    const topics = host.subscribedTopics().sort()
    if (topics.length > 0) await cluster.refreshMetadata({ topics })
    this.#joinedWith = this.#snapshot()
    const owned = groupByTopic(host.owned())
    const protocols = this.#assignors.map((a) => ({
      name: a.name,
      metadata: encodeSubscription({
        topics,
        ownedPartitions: owned,
        generationId: this.generationId,
        rackId: options.clientRack,
        userData: a.userData?.() ?? null
      }, SUBSCRIPTION_VERSION)
    }))
    const staticMember = options.groupInstanceId !== null
    const slowTimeout = Math.max(options.requestTimeoutMs, options.maxPollIntervalMs + 5000)
    const join: JoinGroupResponse = await cluster.withCoordinator({ type: CoordinatorType.GROUP, key: groupId }, async (connection) => {
      const response = await connection.request(JoinGroupApi, (v) => ({
        groupId,
        sessionTimeoutMs: options.sessionTimeoutMs,
        rebalanceTimeoutMs: options.maxPollIntervalMs,
        memberId: this.memberId,
        groupInstanceId: options.groupInstanceId,
        protocolType: CONSUMER_PROTOCOL_TYPE,
        protocols,
        reason: v >= 8 ? (this.generationId < 0 ? 'joining the group' : 'rebalance') : null
      }), { timeoutMs: slowTimeout, ...(staticMember ? { minVersion: 5 } : {}) })
      if (COORDINATOR_ERRORS.has(response.errorCode)) throw new KafkaResponseError(response.errorCode, null, { api: 'JoinGroup', resource: groupId })
      return response
    }, { channel: 'coordinator' })
    switch (join.errorCode) {
      case ErrorCode.NONE:
        break
      case ErrorCode.MEMBER_ID_REQUIRED:
        this.memberId = join.memberId
        return null
      case ErrorCode.UNKNOWN_MEMBER_ID:
        this.memberId = ''
        this.generationId = -1
        return null
      case ErrorCode.ILLEGAL_GENERATION:
        this.generationId = -1
        return null
      case ErrorCode.REBALANCE_IN_PROGRESS:
        return null
      default:
        throw new KafkaResponseError(join.errorCode, null, { api: 'JoinGroup', resource: groupId })
    }
    this.memberId = join.memberId
    this.generationId = join.generationId
    this.#protocolName = join.protocolName
    let assignments: SyncGroupRequestAssignment[] = []
    if (join.leader === join.memberId && !join.skipAssignment) assignments = await this.#assign(join)
    const sync = await cluster.withCoordinator({ type: CoordinatorType.GROUP, key: groupId }, async (connection) => {
      const response = await connection.request(SyncGroupApi, {
        groupId,
        generationId: this.generationId,
        memberId: this.memberId,
        groupInstanceId: options.groupInstanceId,
        protocolType: CONSUMER_PROTOCOL_TYPE,
        protocolName: this.#protocolName,
        assignments
      }, { timeoutMs: slowTimeout, ...(staticMember ? { minVersion: 3 } : {}) })
      if (COORDINATOR_ERRORS.has(response.errorCode)) throw new KafkaResponseError(response.errorCode, null, { api: 'SyncGroup', resource: groupId })
      return response
    }, { channel: 'coordinator' })
    switch (sync.errorCode) {
      case ErrorCode.NONE:
        break
      case ErrorCode.REBALANCE_IN_PROGRESS:
        return null
      case ErrorCode.UNKNOWN_MEMBER_ID:
        this.memberId = ''
        this.generationId = -1
        return null
      case ErrorCode.ILLEGAL_GENERATION:
        this.generationId = -1
        return null
      default:
        throw new KafkaResponseError(sync.errorCode, null, { api: 'SyncGroup', resource: groupId })
    }
    return flatten(decodeAssignment(sync.assignment).assignedPartitions)
  }

  /** The leader's part: runs the agreed assignor over every member's subscription. */
  async #assign (join: JoinGroupResponse): Promise<SyncGroupRequestAssignment[]> {
    const assignor = this.#assignors.find((a) => a.name === join.protocolName)
    if (assignor === undefined) throw new KafkaIllegalStateError(`The group chose assignor '${String(join.protocolName)}', which this consumer does not have`)
    const members: AssignorMember[] = join.members.map((m) => {
      const sub = decodeSubscription(m.metadata)
      return {
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        topics: sub.topics,
        ownedPartitions: flatten(sub.ownedPartitions),
        generationId: sub.generationId,
        rackId: sub.rackId,
        userData: sub.userData
      }
    })
    const all = [...new Set(members.flatMap((m) => m.topics))].sort()
    const cluster = this.#host.cluster
    if (all.length > 0) await cluster.refreshMetadata({ topics: all })
    const counts = new Map<string, number>()
    for (const topic of all) {
      const info = cluster.topic(topic)
      if (info !== undefined && info.errorCode === 0 && info.partitions.length > 0) counts.set(topic, info.partitions.length)
    }
    const result = assignor.assign(members, counts)
    return members.map((m) => ({
      memberId: m.memberId,
      assignment: encodeAssignment({ assignedPartitions: groupByTopic(result.get(m.memberId) ?? []) }, ASSIGNMENT_VERSION)
    }))
  }

  async #onJoinComplete (assigned: TopicPartition[]): Promise<void> {
    const host = this.#host
    const owned = host.owned()
    const assignedKeys = new Set(assigned.map((tp) => partitionKey(tp.topic, tp.partition)))
    const ownedKeys = new Set(owned.map((tp) => partitionKey(tp.topic, tp.partition)))
    const revoked = owned.filter((tp) => !assignedKeys.has(partitionKey(tp.topic, tp.partition)))
    const added = assigned.filter((tp) => !ownedKeys.has(partitionKey(tp.topic, tp.partition)))
    if (revoked.length > 0) {
      await host.revoke(revoked)
      // The partitions given up go to their new owners in a second rebalance (KIP-429).
      if (this.#cooperative) this.#requestRejoin()
    }
    await host.assign(added)
  }

  // ------------------------------------------------------------------------------------------
  // Heartbeats

  #startHeartbeat (): void {
    this.#stopHeartbeat()
    if (this.#stopped) return
    this.#timer = setTimeout(this.#heartbeat, this.#host.options.heartbeatIntervalMs)
    this.#timer.unref()
  }

  #stopHeartbeat (): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }

  #heartbeat = (): void => {
    this.#timer = null
    if (this.#stopped || this.#state !== 'stable' || this.#heartbeating) return
    const host = this.#host
    if (host.pollTimedOut()) {
      this.#leaveForPollTimeout().catch(() => {})
      return
    }
    const generationId = this.generationId
    const memberId = this.memberId
    this.#heartbeating = true
    host.cluster.withCoordinator({ type: CoordinatorType.GROUP, key: host.groupId }, async (connection) => {
      const response = await connection.request(HeartbeatApi, {
        groupId: host.groupId, generationId, memberId, groupInstanceId: host.options.groupInstanceId
      }, host.options.groupInstanceId === null ? {} : { minVersion: 3 })
      if (COORDINATOR_ERRORS.has(response.errorCode)) throw new KafkaResponseError(response.errorCode, null, { api: 'Heartbeat', resource: host.groupId })
      return response.errorCode
    }, { channel: 'coordinator' }).then((code) => {
      // A rejoin started meanwhile: the answer is about a generation that is over.
      if (this.#stopped || generationId !== this.generationId || memberId !== this.memberId) return
      switch (code) {
        case ErrorCode.NONE:
          break
        case ErrorCode.REBALANCE_IN_PROGRESS:
          this.#requestRejoin()
          break
        case ErrorCode.ILLEGAL_GENERATION:
          this.#resetGeneration(false)
          break
        case ErrorCode.UNKNOWN_MEMBER_ID:
          this.#resetGeneration(true)
          break
        case ErrorCode.FENCED_INSTANCE_ID:
          this.#fatal = new KafkaResponseError(code, 'Another consumer joined with the same groupInstanceId', { api: 'Heartbeat', resource: host.groupId })
          this.#resetGeneration(false)
          break
        default:
          break
      }
    }, () => {}).finally(() => {
      this.#heartbeating = false
      if (this.#state === 'stable' && this.#timer === null && !this.#stopped) this.#startHeartbeat()
    })
  }

  async #leaveForPollTimeout (): Promise<void> {
    const memberId = this.memberId
    this.#resetGeneration(true)
    if (this.#host.options.groupInstanceId === null && memberId !== '') {
      await this.#sendLeave(memberId, 'consumer poll timeout has expired').catch(() => {})
    }
  }

  async #sendLeave (memberId: string, reason: string): Promise<void> {
    const host = this.#host
    await host.cluster.withCoordinator({ type: CoordinatorType.GROUP, key: host.groupId }, async (connection) => {
      // A separate connection: a JoinGroup may be waiting on the coordinator channel.
      const response = await connection.request(LeaveGroupApi, (v) => ({
        groupId: host.groupId,
        memberId: v >= 3 ? '' : memberId,
        members: v >= 3 ? [{ memberId, groupInstanceId: host.options.groupInstanceId, reason: v >= 5 ? reason : null }] : []
      }), { timeoutMs: host.options.requestTimeoutMs })
      if (COORDINATOR_ERRORS.has(response.errorCode)) throw new KafkaResponseError(response.errorCode, null, { api: 'LeaveGroup', resource: host.groupId })
    })
  }

  async leave (reason: string): Promise<void> {
    const memberId = this.memberId
    const wasMember = this.#state !== 'unjoined' || memberId !== ''
    this.stop()
    this.generationId = -1
    this.memberId = ''
    this.#state = 'unjoined'
    if (!wasMember || memberId === '' || this.#host.options.groupInstanceId !== null) return
    try {
      await this.#sendLeave(memberId, reason)
    } catch (error) {
      if (!isRetriable(error) && !(error instanceof KafkaClosedError) && !(error instanceof KafkaResponseError)) throw error
    }
  }

  /** Allows joining again after leave() (unsubscribe, then subscribe). */
  restart (): void {
    if (!this.#stopped) return
    this.#stopped = false
    this.#rejoinNeeded = true
    this.#prepared = false
    this.#fatal = null
  }

  stop (): void {
    this.#stopped = true
    this.#stopHeartbeat()
  }
}
