/**
 * Fetch (key 1), versions 4-17.
 *
 * Reads whole batches from each partition's log, on its leader only (NOT_LEADER_OR_FOLLOWER
 * elsewhere): consumers up to the high watermark (read_uncommitted) or the last stable offset
 * (read_committed, with the aborted transactions in range), followers (replica id >= 0, from
 * v15 in ReplicaState with the broker epoch) up to the log end. A follower's fetch offset tells
 * the leader what the follower has (replica-manager.ts: the high watermark and the ISR move
 * with it). Response and partition byte limits apply, except that the first batch found is
 * returned whole (KIP-74). With fewer than `min.bytes` available the request waits up to
 * `max.wait.ms`, woken without polling: a consumer's by the high watermark passing new records,
 * a follower's by appends. v7+ supports incremental fetch sessions (KIP-227); v13+ names topics
 * by id; v12+ reports a diverging epoch (KIP-320).
 *
 * Versions 0-3 (message-set down-conversion) are not served, as in Kafka 4.
 */
import { ErrorCode, FetchApi, LOG_OVERHEAD, readBaseOffset, readBatchLength, readLastOffsetDelta } from '@samsa/protocol'
import type {
  AbortedTransaction, FetchRequest, FetchResponse, FetchableTopicResponse, PartitionData
} from '@samsa/protocol/messages/fetch'
import { createEpochEndOffset, createLeaderIdAndEpoch, createSnapshotId } from '@samsa/protocol/messages/fetch'
import { StorageError, StorageErrorCode } from '@samsa/storage'
import { type FetchSession, type SessionPartition, sessionKey } from '../fetch/fetch-session-cache.ts'
import type { Partition } from '../topics/partition.ts'
import { type RequestContext, defineHandler } from './handler.ts'
import { leaderPartition } from './leader-epoch.ts'
import { hintEndpoints, leaderHint, wantsLeaderHint } from './leader-hint.ts'

const READ_COMMITTED = 1
const INVALID_SESSION_ID = 0
const INITIAL_EPOCH = 0
const FINAL_EPOCH = -1

/** One partition the response must cover. */
interface Wanted {
  key: string
  topic: string | null
  topicId: string
  partition: number
  fetchOffset: number
  maxBytes: number
  currentLeaderEpoch: number
  lastFetchedEpoch: number
  /** Set for partitions of a session: where its last response is remembered. */
  cached: SessionPartition | undefined
}

interface Plan {
  wanted: Wanted[]
  session: FetchSession | undefined
  incremental: boolean
  error: number
}

export const fetchHandler = defineHandler(FetchApi, [4, 17], async (ctx, req) => {
  const v = ctx.apiVersion
  const plan = planFetch(ctx, req)
  if (plan.error !== ErrorCode.NONE) {
    return { ...FetchApi.response.create(), errorCode: plan.error, sessionId: INVALID_SESSION_ID, responses: [] }
  }
  const replicaId = v >= 15 ? req.replicaState.replicaId : req.replicaId
  const brokerEpoch = v >= 15 ? Number(req.replicaState.replicaEpoch) : -1
  const readCommitted = req.isolationLevel === READ_COMMITTED && replicaId < 0
  const maxBytes = req.maxBytes
  const read = (): { responses: FetchableTopicResponse[], bytes: number, errors: boolean } =>
    readAll(ctx, plan, { replicaId, brokerEpoch, readCommitted, maxBytes })
  let result = read()
  if (!result.errors && result.bytes < req.minBytes && req.maxWaitMs > 0 && plan.wanted.length > 0) {
    await waitForData(ctx, plan, req.minBytes - result.bytes, req.maxWaitMs, replicaId >= 0)
    result = read()
  }
  const sessionId = plan.session?.id ?? INVALID_SESSION_ID
  // A new session starts at epoch 1 (what the client's first incremental request carries);
  // only an incremental request moves it on, as in Kafka's IncrementalFetchContext.
  if (plan.session !== undefined && plan.incremental) plan.session.epoch = nextEpoch(plan.session.epoch)
  const response: FetchResponse = { ...FetchApi.response.create(), sessionId, responses: result.responses }
  if (v >= 12) addLeaderHints(ctx, response)
  return response
})

/** KIP-951: refused partitions name their current leader; v16+ responses carry its endpoint. */
function addLeaderHints (ctx: RequestContext, response: FetchResponse): void {
  const leaders: number[] = []
  for (const t of response.responses) {
    const topic = ctx.apiVersion >= 13 ? ctx.broker.topics.getById(t.topicId)?.name : t.topic
    if (topic === undefined) continue
    for (const p of t.partitions) {
      if (!wantsLeaderHint(p.errorCode)) continue
      const hint = leaderHint(ctx, topic, p.partitionIndex)
      if (hint === undefined) continue
      p.currentLeader = { ...p.currentLeader, ...hint }
      leaders.push(hint.leaderId)
    }
  }
  if (leaders.length > 0 && ctx.apiVersion >= 16) response.nodeEndpoints = hintEndpoints(ctx, leaders)
}

function nextEpoch (epoch: number): number {
  return epoch >= 0x7fffffff ? 1 : epoch + 1
}

/** Works out which partitions to read from the request and its fetch session. */
function planFetch (ctx: RequestContext, req: FetchRequest): Plan {
  const v = ctx.apiVersion
  const broker = ctx.broker
  const cache = broker.fetchSessions
  const now = broker.clock()
  const usesTopicIds = v >= 13
  const fromRequest: Wanted[] = []
  for (const t of req.topics) {
    const topic = usesTopicIds ? broker.topics.getById(t.topicId)?.name ?? null : t.topic
    for (const p of t.partitions) {
      fromRequest.push({
        key: sessionKey(usesTopicIds ? t.topicId : t.topic, p.partition),
        topic,
        topicId: t.topicId,
        partition: p.partition,
        fetchOffset: Number(p.fetchOffset),
        maxBytes: p.partitionMaxBytes,
        currentLeaderEpoch: p.currentLeaderEpoch,
        lastFetchedEpoch: p.lastFetchedEpoch,
        cached: undefined
      })
    }
  }
  const sessionId = v >= 7 ? req.sessionId : INVALID_SESSION_ID
  const epoch = v >= 7 ? req.sessionEpoch : FINAL_EPOCH
  // Full fetches.
  if (epoch === INITIAL_EPOCH || epoch === FINAL_EPOCH) {
    if (sessionId !== INVALID_SESSION_ID) cache.remove(sessionId)
    if (epoch === FINAL_EPOCH) return { wanted: fromRequest, session: undefined, incremental: false, error: ErrorCode.NONE }
    const session = cache.create(usesTopicIds, now)
    if (session !== undefined) {
      for (const w of fromRequest) w.cached = remember(session, w)
    }
    return { wanted: fromRequest, session, incremental: false, error: ErrorCode.NONE }
  }
  // Incremental fetch.
  const session = sessionId === INVALID_SESSION_ID ? undefined : cache.get(sessionId)
  if (session === undefined) return { wanted: [], session: undefined, incremental: true, error: ErrorCode.FETCH_SESSION_ID_NOT_FOUND }
  if (session.epoch !== epoch || session.usesTopicIds !== usesTopicIds) {
    return { wanted: [], session: undefined, incremental: true, error: ErrorCode.INVALID_FETCH_SESSION_EPOCH }
  }
  session.lastUsed = now
  for (const forgotten of req.forgottenTopicsData) {
    const topicKey = usesTopicIds ? forgotten.topicId : forgotten.topic
    for (const p of forgotten.partitions) session.partitions.delete(sessionKey(topicKey, p))
  }
  for (const w of fromRequest) remember(session, w)
  const wanted: Wanted[] = []
  for (const [key, cached] of session.partitions) {
    const topic = usesTopicIds ? broker.topics.getById(cached.topicId)?.name ?? null : cached.topic
    wanted.push({
      key,
      topic,
      topicId: cached.topicId,
      partition: cached.partition,
      fetchOffset: cached.fetchOffset,
      maxBytes: cached.maxBytes,
      currentLeaderEpoch: cached.currentLeaderEpoch,
      lastFetchedEpoch: cached.lastFetchedEpoch,
      cached
    })
  }
  return { wanted, session, incremental: true, error: ErrorCode.NONE }
}

function remember (session: FetchSession, w: Wanted): SessionPartition {
  const existing = session.partitions.get(w.key)
  if (existing !== undefined) {
    existing.fetchOffset = w.fetchOffset
    existing.maxBytes = w.maxBytes
    existing.currentLeaderEpoch = w.currentLeaderEpoch
    existing.lastFetchedEpoch = w.lastFetchedEpoch
    return existing
  }
  const entry: SessionPartition = {
    topic: w.topic ?? '',
    topicId: w.topicId,
    partition: w.partition,
    fetchOffset: w.fetchOffset,
    maxBytes: w.maxBytes,
    currentLeaderEpoch: w.currentLeaderEpoch,
    lastFetchedEpoch: w.lastFetchedEpoch,
    logStartOffset: -1,
    lastHighWatermark: -2,
    lastLastStableOffset: -2,
    lastLogStartOffset: -2
  }
  session.partitions.set(w.key, entry)
  return entry
}

interface ReadSettings {
  replicaId: number
  /** The fetching follower's broker epoch (-1: unknown or a consumer). */
  brokerEpoch: number
  readCommitted: boolean
  maxBytes: number
}

function errorPartition (partition: number, errorCode: number, readCommitted: boolean): PartitionData {
  return {
    partitionIndex: partition,
    errorCode,
    highWatermark: -1n,
    lastStableOffset: -1n,
    logStartOffset: -1n,
    divergingEpoch: createEpochEndOffset(),
    currentLeader: createLeaderIdAndEpoch(),
    snapshotId: createSnapshotId(),
    abortedTransactions: readCommitted ? [] : null,
    preferredReadReplica: -1,
    records: EMPTY
  }
}

const EMPTY = Buffer.alloc(0)

function readAll (ctx: RequestContext, plan: Plan, settings: ReadSettings): { responses: FetchableTopicResponse[], bytes: number, errors: boolean } {
  const v = ctx.apiVersion
  const topics = new Map<string, FetchableTopicResponse>()
  let remaining = settings.maxBytes
  let bytes = 0
  let errors = false
  for (const w of plan.wanted) {
    const data = readPartition(ctx, w, settings, Math.min(w.maxBytes, remaining), bytes === 0)
    const size = data.records?.length ?? 0
    remaining = Math.max(0, remaining - size)
    bytes += size
    if (data.errorCode !== ErrorCode.NONE) errors = true
    if (plan.incremental && w.cached !== undefined && !mustRespond(w.cached, data)) continue
    if (w.cached !== undefined) {
      w.cached.lastHighWatermark = Number(data.highWatermark)
      w.cached.lastLastStableOffset = Number(data.lastStableOffset)
      w.cached.lastLogStartOffset = Number(data.logStartOffset)
    }
    const topicKey = v >= 13 ? w.topicId : w.topic ?? ''
    let topic = topics.get(topicKey)
    if (topic === undefined) {
      topic = { topic: w.topic ?? '', topicId: w.topicId, partitions: [] }
      topics.set(topicKey, topic)
    }
    topic.partitions.push(data)
  }
  return { responses: [...topics.values()], bytes, errors }
}

/** KIP-227: an incremental response carries a partition only if something about it changed. */
function mustRespond (cached: SessionPartition, data: PartitionData): boolean {
  return (data.records?.length ?? 0) > 0 || data.errorCode !== ErrorCode.NONE ||
    Number(data.highWatermark) !== cached.lastHighWatermark ||
    Number(data.lastStableOffset) !== cached.lastLastStableOffset ||
    Number(data.logStartOffset) !== cached.lastLogStartOffset ||
    data.divergingEpoch.epoch >= 0
}

function readPartition (ctx: RequestContext, w: Wanted, settings: ReadSettings, maxBytes: number, minOneBatch: boolean): PartitionData {
  const v = ctx.apiVersion
  const unknown = v >= 13 ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
  if (w.topic === null) return errorPartition(w.partition, unknown, settings.readCommitted)
  const partition = leaderPartition(ctx.broker, w.topic, w.partition, w.currentLeaderEpoch)
  if (typeof partition === 'number') {
    const code = partition === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && ctx.broker.topics.get(w.topic) === undefined ? unknown : partition
    return errorPartition(w.partition, code, settings.readCommitted)
  }
  const log = partition.log
  const data: PartitionData = {
    partitionIndex: w.partition,
    errorCode: ErrorCode.NONE,
    highWatermark: 0n,
    lastStableOffset: 0n,
    logStartOffset: 0n,
    divergingEpoch: createEpochEndOffset(),
    currentLeader: createLeaderIdAndEpoch(),
    snapshotId: createSnapshotId(),
    abortedTransactions: settings.readCommitted ? [] : null,
    preferredReadReplica: -1,
    records: EMPTY
  }
  const offsets = (): PartitionData => {
    data.highWatermark = BigInt(log.highWatermark)
    data.lastStableOffset = BigInt(log.lastStableOffset)
    data.logStartOffset = BigInt(log.logStartOffset)
    return data
  }
  // KIP-320: a fetcher whose last fetched epoch ended earlier here must truncate first.
  if (v >= 12 && w.lastFetchedEpoch >= 0) {
    const end = log.endOffsetForEpoch(w.lastFetchedEpoch)
    if (end.leaderEpoch !== w.lastFetchedEpoch || end.endOffset < w.fetchOffset) {
      data.divergingEpoch = { epoch: end.leaderEpoch, endOffset: BigInt(end.endOffset) }
      return offsets()
    }
  }
  const follower = settings.replicaId >= 0
  const maxOffset = follower ? log.logEndOffset : settings.readCommitted ? log.lastStableOffset : log.highWatermark
  try {
    const read = log.read(w.fetchOffset, { maxBytes, maxOffset, minOneBatch })
    data.records = read.records
    if (settings.readCommitted && read.records.length > 0) {
      data.abortedTransactions = abortedIn(partition, w.fetchOffset, read.records)
    }
  } catch (error) {
    if (error instanceof StorageError && error.code === StorageErrorCode.OFFSET_OUT_OF_RANGE) {
      offsets()
      return { ...errorPartition(w.partition, ErrorCode.OFFSET_OUT_OF_RANGE, settings.readCommitted), highWatermark: data.highWatermark, lastStableOffset: data.lastStableOffset, logStartOffset: data.logStartOffset }
    }
    if (error instanceof StorageError) {
      ctx.broker.logger.error('Failed to read a partition', { topic: w.topic, partition: w.partition, error })
      return errorPartition(w.partition, ErrorCode.KAFKA_STORAGE_ERROR, settings.readCommitted)
    }
    throw error
  }
  // The follower has everything below its fetch offset: the high watermark may move now, and
  // the response carries the moved one (Kafka's updateFollowerFetchState after the read).
  if (follower && !ctx.broker.replicaManager.recordFollowerFetch(partition, settings.replicaId, w.fetchOffset, settings.brokerEpoch)) {
    return errorPartition(w.partition, ErrorCode.NOT_LEADER_OR_FOLLOWER, settings.readCommitted)
  }
  return offsets()
}

/** Aborted transactions overlapping the returned batches (read_committed). */
function abortedIn (partition: Partition, fetchOffset: number, records: Buffer): AbortedTransaction[] {
  // The upper bound is the offset after the last returned batch.
  let end = fetchOffset
  for (let at = 0; at + LOG_OVERHEAD <= records.length; at += LOG_OVERHEAD + readBatchLength(records, at)) {
    end = readBaseOffset(records, at) + readLastOffsetDelta(records, at) + 1
  }
  return partition.log.collectAbortedTransactions(fetchOffset, end).map((t) => ({ producerId: t.producerId, firstOffset: BigInt(t.firstOffset) }))
}

/**
 * Waits until `bytesNeeded` more bytes are readable in the plan's partitions, or `maxWaitMs`:
 * for a follower appended bytes count, for a consumer bytes the high watermark passed. Any other
 * change to a partition (truncation, deletion, leadership) ends the wait at once.
 */
async function waitForData (ctx: RequestContext, plan: Plan, bytesNeeded: number, maxWaitMs: number, follower: boolean): Promise<void> {
  const partitions: Partition[] = []
  for (const w of plan.wanted) {
    if (w.topic === null) continue
    const p = ctx.broker.topics.partition(w.topic, w.partition)
    if (p !== undefined) partitions.push(p)
  }
  if (partitions.length === 0) return
  await new Promise<void>((resolve) => {
    let needed = bytesNeeded
    const done = (): void => {
      clearTimeout(timer)
      for (const p of partitions) p.removeListener(listener)
      resolve()
    }
    const listener = (appended: number, committed: number): void => {
      if (appended === 0 && committed === 0) {
        done()
        return
      }
      needed -= follower ? appended : committed
      if (needed <= 0 || ctx.connection.closed) done()
    }
    const timer = setTimeout(done, maxWaitMs)
    for (const p of partitions) p.addListener(listener)
  })
}
