/**
 * Consumer options, named after Kafka's consumer configs in camelCase (`fetch.max.wait.ms` →
 * `fetchMaxWaitMs`), with Kafka's defaults, validated once at construction.
 */
import { DEFAULT_MAX_DECOMPRESSED_BYTES } from '@samsa/protocol'
import type { ClusterOptions } from '../cluster.ts'
import { KafkaInvalidArgumentError, describeValue } from '../errors.ts'
import { type PartitionAssignor, builtInAssignor } from './assignors.ts'

/** Where a partition without a usable committed offset starts (`auto.offset.reset`). */
export type AutoOffsetReset = 'earliest' | 'latest' | 'none'

/** `isolation.level`: read_committed hides records of aborted and open transactions. */
export type IsolationLevel = 'read_committed' | 'read_uncommitted'

/**
 * The group protocol: `'classic'` (JoinGroup/SyncGroup/Heartbeat, assignment computed by the
 * group leader, a client) or `'consumer'` (KIP-848: ConsumerGroupHeartbeat, assignment computed
 * by the broker).
 */
export type GroupProtocol = 'classic' | 'consumer'

/** The client-side assignors this package ships (classic protocol). */
export type AssignorName = 'range' | 'roundrobin' | 'cooperative-sticky'

export interface ConsumerOptions extends ClusterOptions {
  /**
   * The consumer group (`group.id`). Needed by subscribe() and by commits; with assign() it is
   * optional and only used to read and commit offsets.
   */
  groupId?: string
  /** Makes the member static (KIP-345, `group.instance.id`): a restart within the session timeout keeps its partitions. */
  groupInstanceId?: string
  /** Default 'classic'. */
  groupProtocol?: GroupProtocol
  /** KIP-848 only: the server assignor, 'uniform' or 'range' (`group.remote.assignor`). Default: the broker's. */
  groupRemoteAssignor?: string
  /**
   * Classic protocol only (`partition.assignment.strategy`): assignors in order of preference;
   * the group uses the first one every member supports. Default ['range', 'cooperative-sticky'],
   * as Kafka's consumer. Rebalances are cooperative (KIP-429: only moved partitions are revoked)
   * when every listed assignor supports it, e.g. ['cooperative-sticky'], and eager otherwise.
   */
  partitionAssignors?: ReadonlyArray<AssignorName | PartitionAssignor>
  /** Classic protocol: the member is removed when no heartbeat arrives for this long. Default 45000. */
  sessionTimeoutMs?: number
  /** Classic protocol: Default 3000 (KIP-848: the broker decides). */
  heartbeatIntervalMs?: number
  /**
   * The longest the application may take between two reads from the consumer (`max.poll.interval.ms`):
   * after that, the consumer leaves the group so that others can take its partitions, and
   * rejoins on the next read. Also the rebalance timeout. Default 300000.
   */
  maxPollIntervalMs?: number
  /** Commit consumed offsets periodically, on rebalance and on close (`enable.auto.commit`). Default true. */
  autoCommit?: boolean
  /** Default 5000. */
  autoCommitIntervalMs?: number
  /** Where to start without a committed offset, or after OFFSET_OUT_OF_RANGE. Default 'latest'. */
  autoOffsetReset?: AutoOffsetReset
  /** `true` is `autoOffsetReset: 'earliest'` (kafkajs's name). */
  fromBeginning?: boolean
  /** Default 'read_committed', as in kafkajs, librdkafka and @platformatic/kafka (Kafka's Java consumer defaults to read_uncommitted). */
  isolationLevel?: IsolationLevel
  /** `fetch.min.bytes`. Default 1. */
  fetchMinBytes?: number
  /** `fetch.max.bytes`: the most one Fetch response may carry. Default 52428800 (50 MiB). */
  fetchMaxBytes?: number
  /** `fetch.max.wait.ms`: how long the broker may hold a Fetch waiting for fetchMinBytes. Default 500. */
  fetchMaxWaitMs?: number
  /** `max.partition.fetch.bytes`. Default 1048576. */
  maxPartitionFetchBytes?: number
  /**
   * The most record bytes fetched ahead of the application. The fetcher sends no Fetch while
   * the buffer holds this much, and asks for no more than the room left, so a slow application
   * slows fetching down instead of letting memory grow. Kafka's rule that a response always
   * carries at least one whole batch (KIP-74) means one batch larger than the room left can go
   * beyond it. Default 16777216 (16 MiB).
   */
  maxPrefetchBytes?: number
  /**
   * The most records fetched ahead of the application: no Fetch is sent while the buffer holds
   * this many (one response may add up to `fetchMaxBytes` worth). Default 100000.
   */
  maxPrefetchRecords?: number
  /** Incremental fetch sessions (KIP-227) when the broker offers them. Default true. */
  fetchSessions?: boolean
  /** Check each batch's CRC-32C (`check.crcs`). Default true. */
  checkCrcs?: boolean
  /** Bound on a batch's decompressed size (protects against decompression bombs). Default 64 MiB. */
  maxDecompressedBytes?: number
  /** `client.rack`, sent to the group (classic subscription v3, KIP-848 RackId). */
  clientRack?: string
}

/** Options after validation, with defaults. */
export interface ResolvedConsumerOptions {
  groupId: string | null
  groupInstanceId: string | null
  groupProtocol: GroupProtocol
  groupRemoteAssignor: string | null
  partitionAssignors: readonly PartitionAssignor[]
  sessionTimeoutMs: number
  heartbeatIntervalMs: number
  maxPollIntervalMs: number
  autoCommit: boolean
  autoCommitIntervalMs: number
  autoOffsetReset: AutoOffsetReset
  isolationLevel: IsolationLevel
  fetchMinBytes: number
  fetchMaxBytes: number
  fetchMaxWaitMs: number
  maxPartitionFetchBytes: number
  maxPrefetchBytes: number
  maxPrefetchRecords: number
  fetchSessions: boolean
  checkCrcs: boolean
  maxDecompressedBytes: number
  clientRack: string | null
  requestTimeoutMs: number
  retryBackoffMs: number
}

function integer (options: ConsumerOptions, name: keyof ConsumerOptions, fallback: number, min: number): number {
  const value = options[name] ?? fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new KafkaInvalidArgumentError(`Option '${name}' must be an integer of at least ${min}, got '${describeValue(value)}'`)
  }
  return value
}

function optionalString (options: ConsumerOptions, name: 'groupId' | 'groupInstanceId' | 'groupRemoteAssignor' | 'clientRack'): string | null {
  const value = options[name]
  if (value === undefined) return null
  if (typeof value !== 'string' || value === '') throw new KafkaInvalidArgumentError(`Option '${name}' must be a non-empty string, got '${describeValue(value)}'`)
  return value
}

function bool (options: ConsumerOptions, name: 'autoCommit' | 'fromBeginning' | 'fetchSessions' | 'checkCrcs', fallback: boolean): boolean {
  const value = options[name] ?? fallback
  if (typeof value !== 'boolean') throw new KafkaInvalidArgumentError(`Option '${name}' must be a boolean, got '${describeValue(value)}'`)
  return value
}

export function resolveConsumerOptions (options: ConsumerOptions): ResolvedConsumerOptions {
  if (typeof options !== 'object' || options === null) throw new KafkaInvalidArgumentError('Options must be an object')
  const groupId = optionalString(options, 'groupId')
  const groupInstanceId = optionalString(options, 'groupInstanceId')
  if (groupInstanceId !== null && groupId === null) throw new KafkaInvalidArgumentError("Option 'groupInstanceId' needs a 'groupId'")
  const groupProtocol = options.groupProtocol ?? 'classic'
  if (groupProtocol !== 'classic' && groupProtocol !== 'consumer') {
    throw new KafkaInvalidArgumentError(`Option 'groupProtocol' must be 'classic' or 'consumer', got '${describeValue(groupProtocol)}'`)
  }
  const groupRemoteAssignor = optionalString(options, 'groupRemoteAssignor')
  if (groupRemoteAssignor !== null && groupProtocol !== 'consumer') {
    throw new KafkaInvalidArgumentError("Option 'groupRemoteAssignor' needs groupProtocol 'consumer'")
  }
  const rawAssignors = options.partitionAssignors ?? ['range', 'cooperative-sticky']
  if (!Array.isArray(rawAssignors) || rawAssignors.length === 0) {
    throw new KafkaInvalidArgumentError("Option 'partitionAssignors' must list at least one assignor")
  }
  const partitionAssignors = (rawAssignors as ReadonlyArray<AssignorName | PartitionAssignor>).map((a) => {
    if (typeof a === 'string') {
      const found = builtInAssignor(a)
      if (found === undefined) throw new KafkaInvalidArgumentError(`Unknown partition assignor '${a}': use 'range', 'roundrobin', 'cooperative-sticky' or an object`)
      return found
    }
    if (typeof a !== 'object' || a === null || typeof a.name !== 'string' || a.name === '' || typeof a.assign !== 'function' ||
      (a.rebalanceProtocol !== 'eager' && a.rebalanceProtocol !== 'cooperative')) {
      throw new KafkaInvalidArgumentError("A partition assignor needs a 'name', a 'rebalanceProtocol' ('eager' or 'cooperative') and an 'assign' function")
    }
    return a
  })
  if (new Set(partitionAssignors.map((a) => a.name)).size !== partitionAssignors.length) {
    throw new KafkaInvalidArgumentError("Option 'partitionAssignors' names an assignor twice")
  }
  const sessionTimeoutMs = integer(options, 'sessionTimeoutMs', 45_000, 1)
  const heartbeatIntervalMs = integer(options, 'heartbeatIntervalMs', 3000, 1)
  if (heartbeatIntervalMs >= sessionTimeoutMs) {
    throw new KafkaInvalidArgumentError(`Option 'heartbeatIntervalMs' (${heartbeatIntervalMs}) must be lower than sessionTimeoutMs (${sessionTimeoutMs})`)
  }
  const fromBeginning = bool(options, 'fromBeginning', false)
  const rawReset = options.autoOffsetReset ?? (fromBeginning ? 'earliest' : 'latest')
  if (rawReset !== 'earliest' && rawReset !== 'latest' && rawReset !== 'none') {
    throw new KafkaInvalidArgumentError(`Option 'autoOffsetReset' must be 'earliest', 'latest' or 'none', got '${describeValue(rawReset)}'`)
  }
  if (fromBeginning && rawReset !== 'earliest') {
    throw new KafkaInvalidArgumentError(`Option 'fromBeginning' contradicts autoOffsetReset '${rawReset}'`)
  }
  const isolationLevel = options.isolationLevel ?? 'read_committed'
  if (isolationLevel !== 'read_committed' && isolationLevel !== 'read_uncommitted') {
    throw new KafkaInvalidArgumentError(`Option 'isolationLevel' must be 'read_committed' or 'read_uncommitted', got '${describeValue(isolationLevel)}'`)
  }
  return {
    groupId,
    groupInstanceId,
    groupProtocol,
    groupRemoteAssignor,
    partitionAssignors,
    sessionTimeoutMs,
    heartbeatIntervalMs,
    maxPollIntervalMs: integer(options, 'maxPollIntervalMs', 300_000, 1),
    autoCommit: bool(options, 'autoCommit', true),
    autoCommitIntervalMs: integer(options, 'autoCommitIntervalMs', 5000, 1),
    autoOffsetReset: rawReset,
    isolationLevel,
    fetchMinBytes: integer(options, 'fetchMinBytes', 1, 0),
    fetchMaxBytes: integer(options, 'fetchMaxBytes', 52_428_800, 1),
    fetchMaxWaitMs: integer(options, 'fetchMaxWaitMs', 500, 0),
    maxPartitionFetchBytes: integer(options, 'maxPartitionFetchBytes', 1_048_576, 1),
    maxPrefetchBytes: integer(options, 'maxPrefetchBytes', 16 * 1024 * 1024, 1),
    maxPrefetchRecords: integer(options, 'maxPrefetchRecords', 100_000, 1),
    fetchSessions: bool(options, 'fetchSessions', true),
    checkCrcs: bool(options, 'checkCrcs', true),
    maxDecompressedBytes: integer(options, 'maxDecompressedBytes', DEFAULT_MAX_DECOMPRESSED_BYTES, 1),
    clientRack: optionalString(options, 'clientRack'),
    requestTimeoutMs: integer(options, 'requestTimeoutMs', 30_000, 1),
    retryBackoffMs: integer(options, 'retryBackoffMs', 100, 0)
  }
}
