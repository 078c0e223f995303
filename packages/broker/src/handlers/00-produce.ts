/**
 * Produce (key 0), versions 0-11.
 *
 * Each partition's records are validated without decoding them (framing, magic 2, CRC-32C,
 * size against `max.message.bytes`, header rules for producer batches, zstd only from v7)
 * and appended as received, with offsets and the leader epoch stamped in place. Versions 0-2
 * carry legacy message sets (magic 0/1), which are converted to one v2 batch on write; from
 * v3 a partition must hold exactly one v2 batch. Records of compacted topics must have keys,
 * which needs a decode, done only for those topics.
 *
 * acks: 0 (no response; an error closes the connection so the client refreshes metadata, as
 * Kafka does), 1 (after the leader's append) or -1 (after the ISR has it, which needs
 * `min.insync.replicas` in-sync replicas). With `flush.messages` due, the response also waits
 * for the fsync.
 */
import {
  ErrorCode, KafkaProtocolError, ProduceApi, ProtocolDecodeError, convertMessageSet, decodeRecordBatch, recordSetMagic,
  validateBatch, validateProduceRecords
} from '@samsa/protocol'
import type { PartitionProduceResponse, ProduceRequest, ProduceResponse, TopicProduceResponse } from '@samsa/protocol/messages/produce'
import { createLeaderIdAndEpoch } from '@samsa/protocol/messages/produce'
import { StorageError, StorageErrorCode, compacted } from '@samsa/storage'
import type { Partition } from '../topics/partition.ts'
import { NO_RESPONSE, type RequestContext, defineHandler } from './handler.ts'

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
  return response
})

function appendPartition (
  ctx: RequestContext, req: ProduceRequest, topic: string, index: number, records: Buffer | null, waits: Array<Promise<void>>
): PartitionProduceResponse {
  const broker = ctx.broker
  const partition = broker.topics.partition(topic, index)
  if (partition === undefined) return partitionResponse(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
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
  if (compacted(log.config)) {
    const missingKey = keylessRecord(batch)
    if (missingKey !== null) {
      const r = partitionResponse(index, ErrorCode.INVALID_RECORD, `Compacted topic cannot accept message without key in topic partition ${topic}-${index}.`)
      if (ctx.apiVersion >= 8) r.recordErrors = [{ batchIndex: missingKey, batchIndexErrorMessage: 'Compacted topic cannot accept message without key' }]
      return r
    }
  }
  if (req.acks === ACKS_ALL) {
    const minIsr = Number(broker.topicConfigValue(t.configs, 'min.insync.replicas') ?? '1')
    if (partition.isr.length < minIsr) {
      return partitionResponse(index, ErrorCode.NOT_ENOUGH_REPLICAS,
        `The size of the current ISR ${partition.isr.length} is insufficient to satisfy the min.isr requirement of ${minIsr} for partition ${topic}-${index}`)
    }
  }
  try {
    const result = partition.appendAsLeader(batch)
    if (result.flushed !== undefined) waits.push(result.flushed.catch((error: unknown) => onFlushError(ctx, partition, error)))
    return {
      ...partitionResponse(index, ErrorCode.NONE),
      baseOffset: BigInt(result.baseOffset),
      logAppendTimeMs: BigInt(result.logAppendTime),
      logStartOffset: BigInt(log.logStartOffset)
    }
  } catch (error) {
    if (error instanceof StorageError) {
      broker.logger.error('Append failed', { topic, partition: index, error })
      const code = error.code === StorageErrorCode.INVALID_BATCH ? ErrorCode.CORRUPT_MESSAGE : ErrorCode.KAFKA_STORAGE_ERROR
      return partitionResponse(index, ctx.apiVersion < 4 && code === ErrorCode.KAFKA_STORAGE_ERROR ? ErrorCode.NOT_LEADER_OR_FOLLOWER : code, error.message)
    }
    throw error
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

/** The index of the first record without a key, or null. */
function keylessRecord (batch: Buffer): number | null {
  try {
    const decoded = decodeRecordBatch(batch)
    const i = decoded.records.findIndex((r) => r.key === null)
    return i < 0 ? null : i
  } catch (error) {
    if (error instanceof ProtocolDecodeError) return 0
    throw error
  }
}
