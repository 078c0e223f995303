/**
 * Producer options, named after Kafka's producer configs in camelCase (`batch.size` →
 * `batchSize`), with Kafka's defaults, validated once at construction.
 */
import { CompressionType } from '@samsa/protocol'
import type { ClusterOptions } from '../cluster.ts'
import { KafkaInvalidArgumentError, describeValue } from '../errors.ts'
import type { Partitioner } from './partitioner.ts'

/** Codec names as Kafka's `compression.type` spells them. */
export type CompressionName = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'

/** 0: no acknowledgment; 1: the leader's; -1 or 'all': every in-sync replica's. */
export type Acks = 0 | 1 | -1 | 'all'

export interface ProducerOptions extends ClusterOptions {
  /** Default -1 (all). */
  acks?: Acks
  /** The target size of a batch in bytes (`batch.size`). Default 16384. */
  batchSize?: number
  /** How long a batch that is not full waits for more records (`linger.ms`). Default 5. */
  lingerMs?: number
  /** The bytes of records held until acknowledged (`buffer.memory`). Default 32 MiB. */
  bufferMemory?: number
  /** How long send() waits for buffer space or topic metadata (`max.block.ms`). Default 60000. */
  maxBlockMs?: number
  /** The largest Produce request, and so the largest record (`max.request.size`). Default 1 MiB. */
  maxRequestSize?: number
  /** Produce requests in flight per broker (`max.in.flight.requests.per.connection`). Default 5. */
  maxInFlightRequestsPerConnection?: number
  /** Default 'none'. */
  compression?: CompressionName | CompressionType
  /** gzip and zstd level; the codec's default otherwise. */
  compressionLevel?: number
  /**
   * Idempotent writes (`enable.idempotence`): producer id, epoch and per-partition sequence
   * numbers, so retries never duplicate. Default: on when acks is -1 and the cluster supports
   * InitProducerId, as Kafka's producer enables it unless other settings conflict. `true` makes
   * it required; `false` turns it off.
   */
  idempotent?: boolean
  /** Makes the producer transactional (`transactional.id`); implies idempotence. */
  transactionalId?: string
  /** `transaction.timeout.ms`. Default 60000. */
  transactionTimeoutMs?: number
  /** The time a record may take from send() to acknowledgment, retries included (`delivery.timeout.ms`). Default 120000. */
  deliveryTimeoutMs?: number
  /** Default: Kafka's (murmur2 for keys, sticky for null keys). */
  partitioner?: Partitioner
}

/** Options after validation, with defaults. */
export interface ResolvedProducerOptions {
  acks: 0 | 1 | -1
  batchSize: number
  lingerMs: number
  bufferMemory: number
  maxBlockMs: number
  maxRequestSize: number
  maxInFlight: number
  compression: CompressionType
  compressionLevel: number | undefined
  /** 'auto': idempotent if the cluster supports it. */
  idempotence: 'on' | 'off' | 'auto'
  transactionalId: string | null
  transactionTimeoutMs: number
  deliveryTimeoutMs: number
  partitioner: Partitioner | null
}

function integer (options: ProducerOptions, name: keyof ProducerOptions, fallback: number, min: number): number {
  const value = options[name] ?? fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new KafkaInvalidArgumentError(`Option '${name}' must be an integer of at least ${min}, got '${describeValue(value)}'`)
  }
  return value
}

const CODECS: Record<string, CompressionType> = CompressionType

export function resolveProducerOptions (options: ProducerOptions): ResolvedProducerOptions {
  if (typeof options !== 'object' || options === null) throw new KafkaInvalidArgumentError('Options must be an object')
  const rawAcks = options.acks ?? -1
  if (rawAcks !== 0 && rawAcks !== 1 && rawAcks !== -1 && rawAcks !== 'all') {
    throw new KafkaInvalidArgumentError(`Option 'acks' must be 0, 1, -1 or 'all', got '${String(rawAcks)}'`)
  }
  const acks = rawAcks === 'all' ? -1 : rawAcks
  const rawCompression = options.compression ?? 'none'
  const compression = typeof rawCompression === 'number' ? rawCompression : CODECS[rawCompression]
  if (compression === undefined || !Number.isInteger(compression) || compression < 0 || compression > 4) {
    throw new KafkaInvalidArgumentError(`Option 'compression' must be one of none, gzip, snappy, lz4, zstd, got '${String(rawCompression)}'`)
  }
  const transactionalId = options.transactionalId ?? null
  if (transactionalId !== null && (typeof transactionalId !== 'string' || transactionalId === '')) {
    throw new KafkaInvalidArgumentError("Option 'transactionalId' must be a non-empty string")
  }
  const maxInFlight = integer(options, 'maxInFlightRequestsPerConnection', 5, 1)
  let idempotence: 'on' | 'off' | 'auto'
  if (options.idempotent === true || transactionalId !== null) {
    if (options.idempotent === false) throw new KafkaInvalidArgumentError("Option 'transactionalId' needs idempotence: do not set 'idempotent' to false")
    if (acks !== -1) throw new KafkaInvalidArgumentError(`Option 'acks' must be -1 ('all') for an idempotent or transactional producer, got '${String(rawAcks)}'`)
    if (maxInFlight > 5) throw new KafkaInvalidArgumentError(`Option 'maxInFlightRequestsPerConnection' must be at most 5 for an idempotent producer, got '${maxInFlight}'`)
    idempotence = 'on'
  } else if (options.idempotent === false || acks !== -1 || maxInFlight > 5) {
    // Kafka's producer turns implicit idempotence off when the settings conflict with it.
    idempotence = 'off'
  } else {
    idempotence = 'auto'
  }
  if (options.partitioner !== undefined && typeof options.partitioner !== 'function') {
    throw new KafkaInvalidArgumentError("Option 'partitioner' must be a function")
  }
  const lingerMs = integer(options, 'lingerMs', 5, 0)
  const maxRequestSize = integer(options, 'maxRequestSize', 1024 * 1024, 1024)
  const deliveryTimeoutMs = integer(options, 'deliveryTimeoutMs', 120_000, 1)
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000
  if (options.deliveryTimeoutMs !== undefined && deliveryTimeoutMs < lingerMs + requestTimeoutMs) {
    throw new KafkaInvalidArgumentError(`Option 'deliveryTimeoutMs' must be at least lingerMs + requestTimeoutMs (${lingerMs + requestTimeoutMs}), got '${deliveryTimeoutMs}'`)
  }
  return {
    acks,
    batchSize: integer(options, 'batchSize', 16384, 1),
    lingerMs,
    bufferMemory: integer(options, 'bufferMemory', 32 * 1024 * 1024, 1024),
    maxBlockMs: integer(options, 'maxBlockMs', 60_000, 0),
    maxRequestSize,
    maxInFlight,
    compression,
    compressionLevel: options.compressionLevel,
    idempotence,
    transactionalId,
    transactionTimeoutMs: integer(options, 'transactionTimeoutMs', 60_000, 1),
    deliveryTimeoutMs,
    partitioner: options.partitioner ?? null
  }
}
