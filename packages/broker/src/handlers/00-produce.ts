/**
 * Produce (key 0), versions 0-11.
 *
 * Each partition's records are validated without decoding them (framing, magic 2, CRC-32C,
 * size against `max.message.bytes`, header rules for producer batches, zstd only from v7)
 * and appended as received, with offsets and the leader epoch stamped in place. Versions 0-2
 * carry legacy message sets (magic 0/1), which are converted to one v2 batch on write; from
 * v3 a partition must hold exactly one v2 batch. Records of compacted topics must have keys,
 * and on CreateTime topics record timestamps must lie within `message.timestamp.before.max.ms`
 * / `after.max.ms` of the broker's time (INVALID_TIMESTAMP); a producer may not mark a batch
 * LogAppendTime. Those checks need a decode, done only when they can fail (Kafka's
 * LogValidator.validateRecord); v8+ responses list the offending records.
 *
 * Idempotent and transactional batches go through the partition's producer state (storage
 * producer-state/): a retry of one of the producer's last five batches is answered with the
 * original offsets and not appended (as Kafka does, not DUPLICATE_SEQUENCE_NUMBER); a gap is
 * OUT_OF_ORDER_SEQUENCE_NUMBER, an older epoch INVALID_PRODUCER_EPOCH, a non-transactional batch
 * while the producer's transaction is open INVALID_TXN_STATE. A transactional batch to a
 * partition where the producer has no transaction open yet is verified with the transaction
 * coordinator first (KIP-890 part 1, `transaction.partition.verification.enable`, default true):
 * the partition must be in the producer's ongoing transaction (AddPartitionsToTxn), else
 * INVALID_TXN_STATE (INVALID_PRODUCER_EPOCH for another epoch; a coordinator that is loading or
 * completing the previous transaction gives the retriable NOT_ENOUGH_REPLICAS, Kafka's mapping
 * for clients that do not know the coordinator errors). These codes exist in every version that
 * can carry producer ids (v3+).
 *
 * Only the partition's leader appends (NOT_LEADER_OR_FOLLOWER elsewhere). acks: 0 (no
 * response; an error closes the connection so the client refreshes metadata, as Kafka does), 1
 * (after the leader's append) or -1 (Kafka's DelayedProduce: refused with NOT_ENOUGH_REPLICAS
 * before the append when the ISR is smaller than `min.insync.replicas`; answered when the high
 * watermark passes the records, i.e. every ISR member has them: NOT_ENOUGH_REPLICAS_AFTER_APPEND
 * if the ISR shrank below the minimum meanwhile, REQUEST_TIMED_OUT after the request's timeout,
 * NOT_LEADER_OR_FOLLOWER if this broker stops leading first). On a single node the ISR is the
 * leader alone and the high watermark moves with the append, so nothing waits. With
 * `flush.messages` due, the response also waits for the fsync.
 */
import {
  type DecodedRecordBatch, ErrorCode, KafkaProtocolError, ProduceApi, ProtocolDecodeError, TIMESTAMP_TYPE_MASK, TRANSACTIONAL_FLAG_MASK,
  TimestampType, convertMessageSet, decodeRecordBatch, readAttributes, readProducerEpoch, readProducerId, recordSetMagic, validateBatch,
  validateProduceRecords
} from '@samsa/protocol'
import type {
  BatchIndexAndErrorMessage, PartitionProduceResponse, ProduceRequest, ProduceResponse, TopicProduceResponse
} from '@samsa/protocol/messages/produce'
import { createLeaderIdAndEpoch } from '@samsa/protocol/messages/produce'
import { ProducerStateError, StorageError, StorageErrorCode, compacted } from '@samsa/storage'
import type { BrokerContext } from '../broker-context.ts'
import type { Partition } from '../topics/partition.ts'
import { NO_RESPONSE, type RequestContext, defineHandler } from './handler.ts'
import { hostedPartition } from './leader-epoch.ts'
import { hintEndpoints, leaderHint, wantsLeaderHint } from './leader-hint.ts'

const ACKS_ALL = -1

function partitionResponse (index: number, errorCode: number, errorMessage: string | null = null): PartitionProduceResponse {
  return {
    index,
    errorCode,
    baseOffset: -1n,
    logAppendTimeMs: -1n,
    logStartOffset: -1n,
    recordErrors: [],
    errorMessage,
    currentLeader: createLeaderIdAndEpoch()
  }
}

export const produceHandler = defineHandler(ProduceApi, [0, 11], async (ctx, req) => {
  const responses: TopicProduceResponse[] = []
  const waits: Array<Promise<void>> = []
  let failed = false
  const validAcks = req.acks === 0 || req.acks === 1 || req.acks === ACKS_ALL
  for (const topicData of req.topicData) {
    const topicResponse: TopicProduceResponse = { name: topicData.name, partitionResponses: [] }
    responses.push(topicResponse)
    for (const partitionData of topicData.partitionData) {
      const response = validAcks
        ? appendPartition(ctx, req, topicData.name, partitionData.index, partitionData.records, waits)
        : partitionResponse(partitionData.index, ErrorCode.INVALID_REQUIRED_ACKS)
      if (response.errorCode !== ErrorCode.NONE) failed = true
      topicResponse.partitionResponses.push(response)
    }
  }
  if (req.acks === 0) {
    if (failed) {
      // Kafka closes the connection so an acks=0 producer notices and refreshes its metadata.
      ctx.connection.destroy()
    }
    return NO_RESPONSE
  }
  if (waits.length > 0) await Promise.all(waits)
  const response: ProduceResponse = { ...ProduceApi.response.create(), responses }
  if (ctx.apiVersion >= 10) addLeaderHints(ctx, response)
  return response
})

/** KIP-951: refused partitions name their current leader, and the response its endpoint. */
function addLeaderHints (ctx: RequestContext, response: ProduceResponse): void {
  const leaders: number[] = []
  for (const t of response.responses) {
    for (const p of t.partitionResponses) {
      if (!wantsLeaderHint(p.errorCode)) continue
      const hint = leaderHint(ctx, t.name, p.index)
      if (hint === undefined) continue
      p.currentLeader = { ...p.currentLeader, ...hint }
      leaders.push(hint.leaderId)
    }
  }
  if (leaders.length > 0) response.nodeEndpoints = hintEndpoints(ctx, leaders)
}

function appendPartition (
  ctx: RequestContext, req: ProduceRequest, topic: string, index: number, records: Buffer | null, waits: Array<Promise<void>>
): PartitionProduceResponse {
  const broker = ctx.broker
  const partition = hostedPartition(broker, topic, index)
  if (typeof partition === 'number') return partitionResponse(index, partition)
  const t = broker.topics.get(topic)!
  if (t.internal) return partitionResponse(index, ErrorCode.INVALID_TOPIC_EXCEPTION, `Cannot append to internal topic ${topic}`)
  const log = partition.log
  let batch: Buffer
  try {
    batch = prepareBatch(ctx.apiVersion, records, log.config['max.message.bytes'], broker.clock())
  } catch (error) {
    if (error instanceof KafkaProtocolError) {
      const r = partitionResponse(index, error.code, error.errorMessage)
      if (error.code === ErrorCode.INVALID_RECORD && ctx.apiVersion >= 8) r.recordErrors = [{ batchIndex: 0, batchIndexErrorMessage: error.errorMessage }]
      return r
    }
    throw error
  }
  const limits = topicLimits(broker, t.configs)
  const recordError = validateRecords(batch, {
    compacted: compacted(log.config),
    createTime: log.config['message.timestamp.type'] === 'CreateTime',
    now: broker.clock(),
    beforeMaxMs: limits.timestampBeforeMaxMs,
    afterMaxMs: limits.timestampAfterMaxMs,
    topicPartition: `${topic}-${index}`
  })
  if (recordError !== null) {
    const r = partitionResponse(index, recordError.errorCode, recordError.errorMessage)
    if (ctx.apiVersion >= 8) r.recordErrors = recordError.recordErrors
    return r
  }
  if (!partition.isLeader) return partitionResponse(index, ErrorCode.NOT_LEADER_OR_FOLLOWER)
  if (req.acks === ACKS_ALL) {
    const minIsr = limits.minInsyncReplicas
    if (partition.isr.length < minIsr) {
      return partitionResponse(index, ErrorCode.NOT_ENOUGH_REPLICAS,
        `The size of the current ISR ${partition.isr.length} is insufficient to satisfy the min.isr requirement of ${minIsr} for partition ${topic}-${index}`)
    }
  }
  const txnError = verifyTransaction(ctx, req, partition, batch)
  if (txnError !== null) return partitionResponse(index, txnError.errorCode, txnError.errorMessage)
  try {
    const result = partition.appendAsLeader(batch)
    if (result.flushed !== undefined) waits.push(result.flushed.catch((error: unknown) => onFlushError(ctx, partition, error)))
    const response = {
      ...partitionResponse(index, ErrorCode.NONE),
      baseOffset: BigInt(result.baseOffset),
      logAppendTimeMs: BigInt(result.logAppendTime),
      logStartOffset: BigInt(log.logStartOffset)
    }
    if (req.acks === ACKS_ALL) {
      // A retried batch (duplicate) waits too: the original may not be replicated yet.
      const replicated = partition.awaitReplication(result.lastOffset + 1, limits.minInsyncReplicas, req.timeoutMs)
      if (typeof replicated === 'number') response.errorCode = replicated
      else waits.push(replicated.then((code) => { response.errorCode = code }))
    }
    return response
  } catch (error) {
    if (error instanceof ProducerStateError) return partitionResponse(index, error.errorCode, error.message)
    if (error instanceof StorageError) {
      broker.logger.error('Append failed', { topic, partition: index, error })
      const code = error.code === StorageErrorCode.INVALID_BATCH ? ErrorCode.CORRUPT_MESSAGE : ErrorCode.KAFKA_STORAGE_ERROR
      return partitionResponse(index, ctx.apiVersion < 4 && code === ErrorCode.KAFKA_STORAGE_ERROR ? ErrorCode.NOT_LEADER_OR_FOLLOWER : code, error.message)
    }
    throw error
  }
}

/**
 * KIP-890 part 1: a transactional batch for a partition where its producer has no transaction
 * open must belong to the producer's ongoing transaction at the coordinator. Null when it may be
 * appended. The check and the append run in the same turn of the event loop, so no marker can
 * slip in between (Kafka needs a verification guard for that).
 */
function verifyTransaction (ctx: RequestContext, req: ProduceRequest, partition: Partition, batch: Buffer): { errorCode: number, errorMessage: string } | null {
  if ((readAttributes(batch, 0) & TRANSACTIONAL_FLAG_MASK) === 0) return null
  const coordinator = ctx.broker.transactionCoordinator
  if (!coordinator.config.partitionVerificationEnable) return null
  const producerId = readProducerId(batch, 0)
  const producerEpoch = readProducerEpoch(batch, 0)
  if (partition.log.producerState.hasOngoingTransaction(producerId, producerEpoch)) return null
  const where = `${partition.topic}-${partition.index}`
  // The coordinator lives on another broker: Kafka asks it with AddPartitionsToTxn v4
  // (VerifyOnly); Samsa does not verify across brokers yet, and appends as Kafka does with
  // verification disabled.
  if (req.transactionalId !== null && !coordinator.coordinatesLocally(req.transactionalId)) return null
  if (req.transactionalId === null) {
    return { errorCode: ErrorCode.INVALID_TXN_STATE, errorMessage: `Transactional records for ${where} without a transactional id cannot be verified` }
  }
  const code = coordinator.verifyPartition(req.transactionalId, producerId, producerEpoch, partition.topic, partition.index)
  switch (code) {
    case ErrorCode.NONE:
      return null
    case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode.COORDINATOR_NOT_AVAILABLE:
    case ErrorCode.NOT_COORDINATOR:
    case ErrorCode.CONCURRENT_TRANSACTIONS:
      return { errorCode: ErrorCode.NOT_ENOUGH_REPLICAS, errorMessage: `Could not verify the transaction for ${where} (coordinator error ${code}); retry` }
    case ErrorCode.PRODUCER_FENCED:
      return { errorCode: ErrorCode.INVALID_PRODUCER_EPOCH, errorMessage: `Producer ${producerId} with epoch ${producerEpoch} is fenced` }
    default:
      return { errorCode: ErrorCode.INVALID_TXN_STATE, errorMessage: `Record for ${where} was not part of an ongoing transaction` }
  }
}

function onFlushError (ctx: RequestContext, partition: Partition, error: unknown): void {
  ctx.broker.logger.error('Flush failed', { topic: partition.topic, partition: partition.index, error })
}

/**
 * The v2 batch to append for a partition's records, or a KafkaProtocolError with the code to
 * answer. Versions 0-2 may carry legacy message sets, converted here.
 */
function prepareBatch (version: number, records: Buffer | null, maxMessageBytes: number, now: number): Buffer {
  if (records === null || records.length === 0) {
    throw new KafkaProtocolError(ErrorCode.CORRUPT_MESSAGE, 'Produce request has no records')
  }
  const options = { fromClient: true, maxBatchSize: maxMessageBytes, allowZstd: version >= 7 }
  if (version >= 3) {
    const checked = validateProduceRecords(records, options)
    if (!checked.ok) throw new KafkaProtocolError(checked.errorCode, checked.reason)
    return records
  }
  if (recordSetMagic(records, 0) === 2) {
    const checked = validateBatch(records, 0, options)
    if (!checked.ok) throw new KafkaProtocolError(checked.errorCode, checked.reason)
    if (checked.size !== records.length) throw new KafkaProtocolError(ErrorCode.INVALID_RECORD, 'Produce v0-2 with v2 batches must carry exactly one batch')
    return records
  }
  let converted: Buffer
  try {
    converted = convertMessageSet(records, { now, renumber: true, maxDecompressedBytes: Math.max(maxMessageBytes * 16, 64 * 1024 * 1024) })
  } catch (error) {
    if (error instanceof ProtocolDecodeError) throw new KafkaProtocolError(ErrorCode.CORRUPT_MESSAGE, error.message)
    throw error
  }
  const checked = validateBatch(converted, 0, { ...options, allowZstd: true })
  if (!checked.ok) throw new KafkaProtocolError(checked.errorCode, checked.reason)
  return converted
}

/** Topic settings the produce path needs that the storage LogConfig does not carry. */
interface TopicLimits {
  /** The dynamic broker configs they were resolved with. */
  dynamic: unknown
  minInsyncReplicas: number
  timestampBeforeMaxMs: number
  timestampAfterMaxMs: number
}

// Keyed by a topic's overrides object, which is replaced whenever they change; resolving a
// config through its synonyms costs tens of microseconds, too much for every produce.
const limitsCache = new WeakMap<Record<string, string>, TopicLimits>()

function topicLimits (broker: BrokerContext, configs: Record<string, string>): TopicLimits {
  const cached = limitsCache.get(configs)
  if (cached !== undefined && cached.dynamic === broker.dynamicConfigs) return cached
  const value = (name: string, fallback: number): number => {
    const v = Number(broker.topicConfigValue(configs, name) ?? fallback)
    return Number.isNaN(v) ? fallback : v
  }
  const limits: TopicLimits = {
    dynamic: broker.dynamicConfigs,
    minInsyncReplicas: value('min.insync.replicas', 1),
    timestampBeforeMaxMs: value('message.timestamp.before.max.ms', Number.MAX_SAFE_INTEGER),
    timestampAfterMaxMs: value('message.timestamp.after.max.ms', Number.MAX_SAFE_INTEGER)
  }
  limitsCache.set(configs, limits)
  return limits
}

interface RecordChecks {
  compacted: boolean
  createTime: boolean
  now: number
  beforeMaxMs: number
  afterMaxMs: number
  topicPartition: string
}

interface RecordValidationError {
  errorCode: number
  errorMessage: string
  recordErrors: BatchIndexAndErrorMessage[]
}

/**
 * Kafka's per-record checks (LogValidator.validateKey / validateTimestamp): keys on compacted
 * topics, CreateTime timestamps within the topic's limits, and no LogAppendTime batches from
 * producers where Kafka rejects them. Decodes the batch only when a check can fail.
 */
function validateRecords (batch: Buffer, checks: RecordChecks): RecordValidationError | null {
  const markedLogAppendTime = (readAttributes(batch, 0) & TIMESTAMP_TYPE_MASK) !== 0
  const limited = checks.createTime && (checks.beforeMaxMs < Number.MAX_SAFE_INTEGER || checks.afterMaxMs < Number.MAX_SAFE_INTEGER)
  if (!checks.compacted && !limited && !markedLogAppendTime) return null
  let decoded: DecodedRecordBatch
  try {
    decoded = decodeRecordBatch(batch)
  } catch (error) {
    if (error instanceof ProtocolDecodeError) {
      return { errorCode: ErrorCode.CORRUPT_MESSAGE, errorMessage: error.message, recordErrors: [] }
    }
    throw error
  }
  const header = decoded.header
  const logAppendTime = header.timestampType === TimestampType.LogAppendTime
  const errors: BatchIndexAndErrorMessage[] = []
  let keyless = false
  let badTimestamp = false
  decoded.records.forEach((record, i) => {
    if (checks.compacted && record.key === null) {
      keyless = true
      errors.push({ batchIndex: i, batchIndexErrorMessage: 'Compacted topic cannot accept message without key' })
      return
    }
    const timestamp = logAppendTime ? header.maxTimestamp : header.baseTimestamp + record.timestampDelta
    if (checks.createTime && timestamp !== -1) {
      if (checks.now - timestamp > checks.beforeMaxMs || timestamp - checks.now > checks.afterMaxMs) {
        badTimestamp = true
        errors.push({
          batchIndex: i,
          batchIndexErrorMessage: `Timestamp ${timestamp} of message with offset ${Number(header.baseOffset) + record.offsetDelta} is out of range. ` +
            `The timestamp should be within [${checks.now - checks.beforeMaxMs}, ${checks.now + checks.afterMaxMs}]`
        })
      }
    } else if (logAppendTime) {
      badTimestamp = true
      errors.push({ batchIndex: i, batchIndexErrorMessage: 'Invalid timestamp type in message. Producer should not set timestamp type to LogAppendTime.' })
    }
  })
  if (badTimestamp) {
    return { errorCode: ErrorCode.INVALID_TIMESTAMP, errorMessage: 'One or more records have been rejected due to invalid timestamp', recordErrors: errors }
  }
  if (keyless) {
    return {
      errorCode: ErrorCode.INVALID_RECORD,
      errorMessage: `Compacted topic cannot accept message without key in topic partition ${checks.topicPartition}.`,
      recordErrors: errors
    }
  }
  return null
}
