/**
 * Group membership with the KIP-848 consumer protocol (`groupProtocol: 'consumer'`; Kafka's
 * ConsumerMembershipManager): one ConsumerGroupHeartbeat RPC, assignment computed by the broker.
 *
 * - The member joins with epoch 0 (and, in v0, an empty member id the broker fills in), its
 *   subscribed topic names, rebalance timeout, rack and server assignor. Later heartbeats carry
 *   only what changed: the topic names after a subscription change, the owned partitions after
 *   a reconciliation. The broker answers with the member's epoch, the heartbeat interval and,
 *   when it changed, the assignment (topic ids).
 * - Reconciliation (in poll(), at the application's next read): partitions no longer assigned
 *   are revoked first (committed with autoCommit, onPartitionsRevoked), then new ones adopted;
 *   a heartbeat then reports what the member owns. The broker only hands a partition to its new
 *   owner once the old owner reported it gone ("revoke before acquiring").
 * - FENCED_MEMBER_EPOCH and UNKNOWN_MEMBER_ID: the partitions are lost (onPartitionsLost) and the
 *   member joins again with epoch 0. UNRELEASED_INSTANCE_ID (a static member's previous instance
 *   has not left yet) is retried. Leaving sends epoch -1, or -2 for a static member, which keeps
 *   its assignment for its return.
 * - When the application has not read for `maxPollIntervalMs`, the member leaves and rejoins on
 *   the next read, its partitions lost.
 */
import { clearTimeout, setTimeout } from 'node:timers'
import { ConsumerGroupHeartbeatApi, ErrorCode, ZERO_UUID } from '@samsa/protocol'
import type { ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, TopicPartitions } from '@samsa/protocol/messages/consumer-group-heartbeat'
import { CoordinatorType } from '../cluster.ts'
import { type KafkaClientError, KafkaClosedError, KafkaResponseError } from '../errors.ts'
import { backoffDelay } from '../retry.ts'
import type { GroupMembership, MembershipHost } from './membership.ts'
import type { CommitIdentity } from './offsets.ts'
import { partitionKey } from './partition-state.ts'
import type { TopicPartition } from './types.ts'

const LEAVE_EPOCH = -1
const STATIC_LEAVE_EPOCH = -2

const FATAL_ERRORS = new Set<number>([
  ErrorCode.GROUP_AUTHORIZATION_FAILED, ErrorCode.UNSUPPORTED_ASSIGNOR, ErrorCode.INVALID_REQUEST, ErrorCode.GROUP_MAX_SIZE_REACHED,
  ErrorCode.UNSUPPORTED_VERSION, ErrorCode.INVALID_GROUP_ID, ErrorCode.TOPIC_AUTHORIZATION_FAILED, ErrorCode.INVALID_REGULAR_EXPRESSION
])

const COORDINATOR_ERRORS = new Set<number>([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS])

export class ConsumerProtocolMembership implements GroupMembership {
  memberId = ''
  memberEpoch = 0
  #host: MembershipHost
  #joined = false
  #started = false
  #stopped = false
  #fatal: KafkaClientError | null = null
  /** The broker's latest assignment (topic id → partitions), not reconciled yet. */
  #target: Map<string, number[]> | null = null
  #reconcileNeeded = false
  #lostNeeded = false
  #sendFull = true
  #sentTopics = ''
  #sentOwned = ''
  #intervalMs: number
  #timer: ReturnType<typeof setTimeout> | null = null
  #inFlight = false
  #again = false
  #failures = 0

  constructor (host: MembershipHost) {
    this.#host = host
    this.#intervalMs = host.options.heartbeatIntervalMs
  }

  get generationId (): number {
    return this.#joined ? this.memberEpoch : -1
  }

  commitIdentity (): CommitIdentity {
    return { generationIdOrMemberEpoch: this.memberEpoch, memberId: this.memberId, groupInstanceId: this.#host.options.groupInstanceId, consumerProtocol: true }
  }

  subscriptionChanged (): void {
    if (this.#started) this.#heartbeatSoon()
  }

  commitFenced (): void {
    this.#heartbeatSoon()
  }

  async poll (): Promise<void> {
    if (this.#fatal !== null) throw this.#fatal
    if (this.#stopped) return
    const host = this.#host
    if (this.#lostNeeded) {
      this.#lostNeeded = false
      const owned = host.owned()
      if (owned.length > 0) await host.lose(owned)
      this.#sentOwned = ''
      this.#heartbeatSoon()
    }
    if (!this.#started) {
      this.#started = true
      this.#heartbeatSoon()
    }
    if (this.#reconcileNeeded) await this.#reconcile()
  }

  async #reconcile (): Promise<void> {
    const host = this.#host
    const target = this.#target
    if (target === null) {
      this.#reconcileNeeded = false
      return
    }
    const cluster = host.cluster
    let names = this.#resolve(target)
    if (names === null) {
      await cluster.refreshMetadata({ topics: null }).catch(() => {})
      names = this.#resolve(target)
      if (names === null) return
    }
    // The target may have changed while metadata was refreshed: the next poll reconciles it.
    if (target !== this.#target) return
    this.#reconcileNeeded = false
    const wanted = new Set(names.map((tp) => partitionKey(tp.topic, tp.partition)))
    const owned = host.owned()
    const ownedKeys = new Set(owned.map((tp) => partitionKey(tp.topic, tp.partition)))
    const revoked = owned.filter((tp) => !wanted.has(partitionKey(tp.topic, tp.partition)))
    const added = names.filter((tp) => !ownedKeys.has(partitionKey(tp.topic, tp.partition)))
    if (revoked.length > 0) await host.revoke(revoked)
    await host.assign(added)
    this.#heartbeatSoon()
  }

  /** Topic ids to names, or null while some id is unknown to the metadata. */
  #resolve (target: Map<string, number[]>): TopicPartition[] | null {
    const out: TopicPartition[] = []
    for (const [topicId, partitions] of target) {
      const topic = this.#host.cluster.topicName(topicId)
      if (topic === undefined) return null
      for (const partition of partitions) out.push({ topic, partition })
    }
    return out
  }

  #heartbeatSoon (): void {
    if (this.#stopped) return
    if (this.#inFlight) {
      this.#again = true
      return
    }
    this.#schedule(0)
  }

  #schedule (delay: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = setTimeout(this.#tick, delay)
    this.#timer.unref()
  }

  #tick = (): void => {
    this.#timer = null
    if (this.#stopped || this.#inFlight || this.#fatal !== null) return
    const host = this.#host
    if (this.#joined && host.pollTimedOut()) {
      this.#leaveForPollTimeout()
      return
    }
    // A member that lost its partitions rejoins only once the application has let them go.
    if (this.#lostNeeded) return
    this.#inFlight = true
    this.#again = false
    this.#heartbeat().then((delay) => {
      this.#failures = 0
      return delay
    }, (error: unknown) => {
      if (error instanceof KafkaClosedError) return -1
      if (error instanceof KafkaResponseError && FATAL_ERRORS.has(error.errorCode)) {
        this.#fatal = error
        host.attention()
        return -1
      }
      this.#sendFull = true
      return Math.max(1, backoffDelay(this.#failures++, host.cluster.retryPolicy))
    }).then((delay) => {
      this.#inFlight = false
      if (delay < 0 || this.#stopped) return
      this.#schedule(this.#again ? 0 : delay)
    }, () => { this.#inFlight = false })
  }

  /** Sends one heartbeat; returns the delay before the next. */
  async #heartbeat (): Promise<number> {
    const host = this.#host
    const options = host.options
    const cluster = host.cluster
    const full = this.#sendFull || this.memberEpoch === 0
    const topics = host.subscribedTopics().sort()
    const topicsKey = topics.join(',')
    if (topics.length > 0 && topics.some((t) => cluster.topic(t) === undefined)) await cluster.refreshMetadata({ topics }).catch(() => {})
    const owned = this.memberEpoch === 0 ? [] : this.#ownedByTopicId()
    const ownedKey = owned === null ? this.#sentOwned : owned.map((t) => `${t.topicId}:${t.partitions.join('.')}`).join(',')
    const sendOwned = owned !== null && (full || ownedKey !== this.#sentOwned)
    const request: ConsumerGroupHeartbeatRequest = {
      groupId: host.groupId,
      memberId: this.memberId,
      memberEpoch: this.memberEpoch,
      instanceId: options.groupInstanceId,
      rackId: full ? options.clientRack : null,
      rebalanceTimeoutMs: full ? options.maxPollIntervalMs : -1,
      subscribedTopicNames: full || topicsKey !== this.#sentTopics ? topics : null,
      subscribedTopicRegex: null,
      serverAssignor: full ? options.groupRemoteAssignor : null,
      topicPartitions: sendOwned ? owned : null
    }
    const epochSent = this.memberEpoch
    const response: ConsumerGroupHeartbeatResponse = await cluster.withCoordinator({ type: CoordinatorType.GROUP, key: host.groupId }, async (connection) => {
      const r = await connection.request(ConsumerGroupHeartbeatApi, request)
      if (COORDINATOR_ERRORS.has(r.errorCode)) throw new KafkaResponseError(r.errorCode, r.errorMessage, { api: 'ConsumerGroupHeartbeat', resource: host.groupId })
      return r
    }, { channel: 'coordinator' })
    if (this.#stopped) return -1
    switch (response.errorCode) {
      case ErrorCode.NONE:
        break
      case ErrorCode.FENCED_MEMBER_EPOCH:
      case ErrorCode.UNKNOWN_MEMBER_ID:
        if (response.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = ''
        this.#fenced()
        return 0
      case ErrorCode.UNRELEASED_INSTANCE_ID:
        this.#sendFull = true
        return Math.max(100, options.retryBackoffMs)
      default:
        throw new KafkaResponseError(response.errorCode, response.errorMessage, { api: 'ConsumerGroupHeartbeat', resource: host.groupId })
    }
    if (epochSent !== this.memberEpoch) return 0
    this.#sendFull = false
    if (request.subscribedTopicNames !== null) this.#sentTopics = topicsKey
    if (sendOwned) this.#sentOwned = ownedKey
    if (response.memberId !== null && response.memberId !== '') this.memberId = response.memberId
    this.memberEpoch = response.memberEpoch
    this.#joined = true
    if (response.heartbeatIntervalMs > 0) this.#intervalMs = response.heartbeatIntervalMs
    if (response.assignment !== null) {
      const target = new Map<string, number[]>()
      for (const tp of response.assignment.topicPartitions) target.set(tp.topicId, [...tp.partitions].sort((a, b) => a - b))
      if (!this.#sameAsOwned(target)) {
        this.#target = target
        this.#reconcileNeeded = true
        host.attention()
      } else {
        this.#target = target
      }
    }
    return this.#intervalMs
  }

  /** The owned partitions by topic id, or null while a topic's id is unknown. */
  #ownedByTopicId (): TopicPartitions[] | null {
    const byTopic = new Map<string, number[]>()
    for (const tp of this.#host.owned()) {
      const id = this.#host.cluster.topic(tp.topic)?.topicId ?? ZERO_UUID
      if (id === ZERO_UUID) return null
      const list = byTopic.get(id)
      if (list === undefined) byTopic.set(id, [tp.partition])
      else list.push(tp.partition)
    }
    return [...byTopic].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map(([topicId, partitions]) => ({ topicId, partitions: partitions.sort((a, b) => a - b) }))
  }

  #sameAsOwned (target: Map<string, number[]>): boolean {
    const owned = this.#ownedByTopicId()
    if (owned === null) return false
    let count = 0
    for (const t of owned) {
      const wanted = target.get(t.topicId)
      if (wanted === undefined || wanted.length !== t.partitions.length || wanted.some((p, i) => p !== t.partitions[i])) return false
      count++
    }
    let nonEmpty = 0
    for (const ps of target.values()) if (ps.length > 0) nonEmpty++
    return count === nonEmpty
  }

  /** Fenced or unknown: the partitions are lost; the member joins again once they are let go. */
  #fenced (): void {
    this.memberEpoch = 0
    this.#joined = false
    this.#target = null
    this.#reconcileNeeded = false
    this.#sendFull = true
    this.#sentOwned = ''
    this.#lostNeeded = true
    this.#host.attention()
  }

  #leaveForPollTimeout (): void {
    const epoch = this.#host.options.groupInstanceId === null ? LEAVE_EPOCH : STATIC_LEAVE_EPOCH
    const memberId = this.memberId
    this.#fenced()
    this.#sendLeave(memberId, epoch).catch(() => {})
  }

  async #sendLeave (memberId: string, epoch: number): Promise<void> {
    const host = this.#host
    await host.cluster.withCoordinator({ type: CoordinatorType.GROUP, key: host.groupId }, async (connection) => {
      const r = await connection.request(ConsumerGroupHeartbeatApi, {
        groupId: host.groupId,
        memberId,
        memberEpoch: epoch,
        instanceId: host.options.groupInstanceId,
        rackId: null,
        rebalanceTimeoutMs: -1,
        subscribedTopicNames: null,
        subscribedTopicRegex: null,
        serverAssignor: null,
        topicPartitions: null
      })
      if (COORDINATOR_ERRORS.has(r.errorCode)) throw new KafkaResponseError(r.errorCode, r.errorMessage, { api: 'ConsumerGroupHeartbeat', resource: host.groupId })
    })
  }

  async leave (_reason: string): Promise<void> {
    const memberId = this.memberId
    const joined = this.#joined
    this.stop()
    this.#joined = false
    this.memberEpoch = 0
    if (!joined || memberId === '') return
    const epoch = this.#host.options.groupInstanceId === null ? LEAVE_EPOCH : STATIC_LEAVE_EPOCH
    await this.#sendLeave(memberId, epoch).catch(() => {})
  }

  /** Allows joining again after leave() (unsubscribe, then subscribe). */
  restart (): void {
    if (!this.#stopped) return
    this.#stopped = false
    this.#started = false
    this.#fatal = null
    this.#sendFull = true
    this.#sentTopics = ''
    this.#sentOwned = ''
    this.memberId = ''
    this.memberEpoch = 0
  }

  stop (): void {
    this.#stopped = true
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }
}
