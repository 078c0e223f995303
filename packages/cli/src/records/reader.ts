/**
 * Reads a topic's partitions without a group, straight on the client's Cluster layer: Fetch
 * requests to each partition's leader (on a separate 'fetch' connection), records decoded
 * with @samsa/protocol. With read_committed the broker stops at the last stable offset and
 * lists the aborted transactions of the range, whose records are dropped as Kafka's
 * consumers drop them; control batches are never returned.
 *
 * Without `follow` the reader stops at the end offsets it finds when it starts (the high
 * watermark, or the last stable offset with read_committed); with `follow` it keeps
 * long-polling until the signal aborts. Not reentrant: one `batches()` loop per reader.
 */
import { clearTimeout, setTimeout } from 'node:timers'
import {
  type Admin, type Cluster, KafkaResponseError, isRetriable
} from '@samsa/client'
import {
  ControlRecordType, ErrorCode, FetchApi, TimestampType, type RecordHeader, decodeRecordSet, readControlRecordKey
} from '@samsa/protocol'
import type { FetchRequest, PartitionData } from '@samsa/protocol/messages/fetch'
import { CliError } from '../shared/errors.ts'

export interface ConsumedRecord {
  topic: string
  partition: number
  offset: bigint
  /** Milliseconds since the epoch; the broker's time for LogAppendTime topics. */
  timestamp: number
  timestampType: 'CreateTime' | 'LogAppendTime'
  key: Buffer | null
  value: Buffer | null
  headers: readonly RecordHeader[]
}

/** Where reading starts in each partition. */
export type StartPosition =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'offset', offset: bigint }
  /** `count` records before the end (clamped to the earliest). */
  | { kind: 'from-end', count: bigint }
  /** `count` records after the earliest. */
  | { kind: 'from-start', count: bigint }
  /** The first record at or after a time (the end if there is none). */
  | { kind: 'timestamp', timestamp: number }

export interface ReaderOptions {
  topic: string
  /** Default: every partition. */
  partitions?: readonly number[] | undefined
  start: StartPosition
  /** 'read_committed' hides aborted and open transactions. */
  isolationLevel: 'read_committed' | 'read_uncommitted'
  /** Keep waiting for new records instead of stopping at the end offsets. */
  follow: boolean
  /** Long-poll wait per Fetch. Default 500 ms. */
  maxWaitMs?: number
  /** Bytes per partition per Fetch. Default 1 MiB. */
  partitionMaxBytes?: number
  /** Stops the reader (its loop returns). */
  signal?: AbortSignal | undefined
}

interface PartitionState {
  partition: number
  position: bigint
  /** Stop here without `follow`. */
  end: bigint | null
}

/** Partition errors after which the metadata is refreshed and the fetch tried again. */
const REFRESH_ERRORS = new Set<number>([
  ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.FENCED_LEADER_EPOCH, ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.KAFKA_STORAGE_ERROR, ErrorCode.REPLICA_NOT_AVAILABLE, ErrorCode.OFFSET_NOT_AVAILABLE
])

/** Consecutive failed rounds tolerated before the error is reported. */
const MAX_FAILED_ROUNDS = 10

async function sleep (ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted === true) return
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms)
    function done (): void {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** Resolves with the value, or with undefined once the signal aborts. */
async function orAbort<T> (promise: Promise<T>, signal: AbortSignal | undefined): Promise<T | undefined> {
  if (signal === undefined) return await promise
  if (signal.aborted) return undefined
  let onAbort: () => void = () => {}
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined)
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

export class PartitionReader {
  readonly #admin: Admin
  readonly #cluster: Cluster
  readonly #options: ReaderOptions
  readonly #isolation: 0 | 1
  #states: PartitionState[] = []
  #recordsRead = 0
  #bytesRead = 0

  constructor (admin: Admin, options: ReaderOptions) {
    this.#admin = admin
    this.#cluster = admin.cluster
    this.#options = options
    this.#isolation = options.isolationLevel === 'read_committed' ? 1 : 0
  }

  /** Records returned so far. */
  get recordsRead (): number {
    return this.#recordsRead
  }

  /** Bytes of record batches fetched so far. */
  get bytesRead (): number {
    return this.#bytesRead
  }

  /** Each partition's next offset. */
  get positions (): ReadonlyMap<number, bigint> {
    return new Map(this.#states.map((s) => [s.partition, s.position]))
  }

  /** Resolves the partitions and their start (and end) offsets. */
  async #init (): Promise<void> {
    const { topic } = this.#options
    const [described] = await this.#admin.describeTopics([topic])
    const count = described!.partitions.length
    const partitions = this.#options.partitions ?? Array.from({ length: count }, (_, i) => i)
    for (const p of partitions) if (p >= count) throw new CliError(`topic '${topic}' has no partition ${p} (it has ${count})`)
    this.#cluster.trackTopics([topic])
    const list = async (timestamp: 'earliest' | 'latest' | number): Promise<Map<number, bigint>> => {
      const listed = await this.#admin.listOffsets(partitions.map((partition) => ({ topic, partition, timestamp })), { isolationLevel: this.#options.isolationLevel })
      return new Map(listed.map((l) => [l.partition, l.offset]))
    }
    const start = this.#options.start
    const [earliest, latest] = await Promise.all([list('earliest'), list('latest')])
    const byTime = start.kind === 'timestamp' ? await list(start.timestamp) : null
    this.#states = partitions.map((partition) => {
      const lo = earliest.get(partition) ?? 0n
      const hi = latest.get(partition) ?? lo
      let position: bigint
      switch (start.kind) {
        case 'earliest': position = lo; break
        case 'latest': position = hi; break
        case 'offset': position = start.offset < lo ? lo : start.offset > hi ? hi : start.offset; break
        case 'from-end': position = hi - start.count < lo ? lo : hi - start.count; break
        case 'from-start': position = lo + start.count > hi ? hi : lo + start.count; break
        case 'timestamp': {
          const found = byTime!.get(partition) ?? -1n
          position = found < 0n ? hi : found
          break
        }
      }
      return { partition, position, end: this.#options.follow ? null : hi }
    })
  }

  #active (): PartitionState[] {
    return this.#states.filter((s) => s.end === null || s.position < s.end)
  }

  /** Batches of records in partition order within each fetch, until the end (or the signal). */
  async * batches (): AsyncGenerator<readonly ConsumedRecord[], void, undefined> {
    await this.#init()
    const signal = this.#options.signal
    let failedRounds = 0
    while (signal?.aborted !== true) {
      const active = this.#active()
      if (active.length === 0) return
      const byLeader = new Map<number, PartitionState[]>()
      let missingLeader = false
      for (const s of active) {
        const leader = this.#cluster.leaderFor(this.#options.topic, s.partition)
        if (leader < 0) {
          missingLeader = true
          continue
        }
        const list = byLeader.get(leader)
        if (list === undefined) byLeader.set(leader, [s])
        else list.push(s)
      }
      let out: ConsumedRecord[]
      try {
        if (missingLeader) await this.#cluster.refreshMetadata({ topics: [this.#options.topic] })
        const results = await orAbort(Promise.all([...byLeader].map(async ([leader, states]) => await this.#fetch(leader, states))), signal)
        if (results === undefined) return
        out = results.flat()
        failedRounds = 0
      } catch (error) {
        if (!isRetriable(error) || ++failedRounds >= MAX_FAILED_ROUNDS) throw error
        await this.#cluster.refreshMetadata({ topics: [this.#options.topic] }).catch(() => {})
        await sleep(Math.min(1000, 50 * 2 ** failedRounds), signal)
        continue
      }
      if (out.length > 0) {
        this.#recordsRead += out.length
        yield out
      }
    }
  }

  async #fetch (leader: number, states: PartitionState[]): Promise<ConsumedRecord[]> {
    const topic = this.#options.topic
    const maxWaitMs = this.#options.maxWaitMs ?? 500
    const request: FetchRequest = {
      clusterId: null,
      replicaId: -1,
      replicaState: { replicaId: -1, replicaEpoch: -1n },
      maxWaitMs,
      minBytes: 1,
      maxBytes: 64 * 1024 * 1024,
      isolationLevel: this.#isolation,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{
        topic,
        topicId: this.#cluster.topic(topic)?.topicId ?? '',
        partitions: states.map((s) => ({
          partition: s.partition,
          currentLeaderEpoch: -1,
          fetchOffset: s.position,
          lastFetchedEpoch: -1,
          logStartOffset: -1n,
          partitionMaxBytes: this.#options.partitionMaxBytes ?? 1024 * 1024,
          replicaDirectoryId: ''
        }))
      }],
      forgottenTopicsData: [],
      rackId: ''
    }
    const connection = await this.#cluster.connection(leader, { channel: 'fetch' })
    // Topic names (v12 and below) keep this independent of topic ids.
    const response = await connection.request(FetchApi, request, { maxVersion: 12, timeoutMs: connection.requestTimeoutMs + maxWaitMs })
    if (response.errorCode !== 0) throw new KafkaResponseError(response.errorCode, null, { api: 'Fetch', topic })
    const out: ConsumedRecord[] = []
    let refresh = false
    for (const t of response.responses) {
      for (const p of t.partitions) {
        const state = states.find((s) => s.partition === p.partitionIndex)
        if (state === undefined) continue
        if (p.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          await this.#resetOutOfRange(state)
          continue
        }
        if (REFRESH_ERRORS.has(p.errorCode)) {
          refresh = true
          continue
        }
        if (p.errorCode !== 0) throw new KafkaResponseError(p.errorCode, null, { api: 'Fetch', topic, partition: p.partitionIndex })
        this.#decode(state, p, out)
        // The end moved back (a truncated log): stop at the partition's current end.
        const limit = this.#isolation === 1 ? p.lastStableOffset : p.highWatermark
        if (state.end !== null && limit >= 0n && limit < state.end) state.end = limit
      }
    }
    if (refresh) {
      await this.#cluster.refreshMetadata({ topics: [topic] })
      throw new KafkaResponseError(ErrorCode.NOT_LEADER_OR_FOLLOWER, null, { api: 'Fetch', topic })
    }
    return out
  }

  /** Below the log start (records deleted): the earliest offset; beyond the end: the end. */
  async #resetOutOfRange (state: PartitionState): Promise<void> {
    const query = (timestamp: 'earliest' | 'latest'): Array<{ topic: string, partition: number, timestamp: 'earliest' | 'latest' }> => [{ topic: this.#options.topic, partition: state.partition, timestamp }]
    const [earliest] = await this.#admin.listOffsets(query('earliest'), { isolationLevel: this.#options.isolationLevel })
    if (earliest !== undefined && state.position < earliest.offset) {
      state.position = earliest.offset
      return
    }
    const [latest] = await this.#admin.listOffsets(query('latest'), { isolationLevel: this.#options.isolationLevel })
    state.position = latest?.offset ?? state.position
  }

  #decode (state: PartitionState, data: PartitionData, out: ConsumedRecord[]): void {
    const records = data.records
    if (records === null || records.length === 0) return
    this.#bytesRead += records.length
    const topic = this.#options.topic
    const aborted = [...(data.abortedTransactions ?? [])].sort((a, b) => a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0)
    const abortedProducers = new Set<bigint>()
    const from = state.position
    const stopAt = state.end
    for (const entry of decodeRecordSet(records)) {
      if (entry.magic !== 2) {
        for (const m of entry.messages) {
          if (m.offset < from || (stopAt !== null && m.offset >= stopAt)) continue
          out.push({ topic, partition: state.partition, offset: m.offset, timestamp: m.timestamp, timestampType: m.timestampType === TimestampType.LogAppendTime ? 'LogAppendTime' : 'CreateTime', key: m.key, value: m.value, headers: [] })
          state.position = m.offset + 1n
        }
        continue
      }
      const { header, records: batchRecords } = entry.batch
      const lastOffset = header.baseOffset + BigInt(header.lastOffsetDelta)
      while (aborted.length > 0 && aborted[0]!.firstOffset <= lastOffset) abortedProducers.add(aborted.shift()!.producerId)
      if (header.isControlBatch) {
        const key = readControlRecordKey(batchRecords[0]?.key ?? null)
        if (key.type === ControlRecordType.ABORT) abortedProducers.delete(header.producerId)
      } else if (!(this.#isolation === 1 && header.isTransactional && abortedProducers.has(header.producerId))) {
        const logAppend = header.timestampType === TimestampType.LogAppendTime
        for (const r of batchRecords) {
          const offset = header.baseOffset + BigInt(r.offsetDelta)
          if (offset < from || (stopAt !== null && offset >= stopAt)) continue
          out.push({
            topic,
            partition: state.partition,
            offset,
            timestamp: logAppend ? header.maxTimestamp : header.baseTimestamp + r.timestampDelta,
            timestampType: logAppend ? 'LogAppendTime' : 'CreateTime',
            key: r.key,
            value: r.value,
            headers: r.headers
          })
        }
      }
      if (lastOffset + 1n > state.position) state.position = lastOffset + 1n
    }
  }
}
