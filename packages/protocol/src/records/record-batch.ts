import { ErrorCode } from '../errors/error-codes.ts'
import { ProtocolDecodeError } from '../primitives/errors.ts'
import { crc32c } from './crc32c.ts'

/*
 * RecordBatch v2 (magic 2), identical on the wire and on disk
 * (`DefaultRecordBatch.java`). All integers big-endian:
 *
 *   baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 |
 *   crc uint32 | attributes int16 | lastOffsetDelta int32 | baseTimestamp int64 |
 *   maxTimestamp int64 | producerId int64 | producerEpoch int16 | baseSequence int32 |
 *   recordsCount int32 | records...
 *
 * The CRC-32C covers attributes to the end, so the leader can stamp baseOffset and
 * partitionLeaderEpoch in place without recomputing it.
 */
export const BASE_OFFSET_OFFSET = 0
export const LENGTH_OFFSET = 8
export const PARTITION_LEADER_EPOCH_OFFSET = 12
export const MAGIC_OFFSET = 16
export const CRC_OFFSET = 17
export const ATTRIBUTES_OFFSET = 21
export const LAST_OFFSET_DELTA_OFFSET = 23
export const BASE_TIMESTAMP_OFFSET = 27
export const MAX_TIMESTAMP_OFFSET = 35
export const PRODUCER_ID_OFFSET = 43
export const PRODUCER_EPOCH_OFFSET = 51
export const BASE_SEQUENCE_OFFSET = 53
export const RECORDS_COUNT_OFFSET = 57
export const RECORDS_OFFSET = 61
/** Size of a batch with no records. */
export const RECORD_BATCH_OVERHEAD = 61
/** baseOffset + batchLength: the framing every log entry (any magic) starts with. */
export const LOG_OVERHEAD = 12
/** The smallest valid batchLength (a batch with no records). */
export const MIN_BATCH_LENGTH = RECORD_BATCH_OVERHEAD - LOG_OVERHEAD
export const CURRENT_MAGIC = 2

/** Attribute bits. */
export const COMPRESSION_CODEC_MASK = 0x07
export const TIMESTAMP_TYPE_MASK = 0x08
export const TRANSACTIONAL_FLAG_MASK = 0x10
export const CONTROL_FLAG_MASK = 0x20
export const DELETE_HORIZON_FLAG_MASK = 0x40

export const TimestampType = { CreateTime: 0, LogAppendTime: 1 } as const
export type TimestampType = typeof TimestampType[keyof typeof TimestampType]

/** Sentinels Kafka uses in batch headers. */
export const NO_PRODUCER_ID = -1n
export const NO_PRODUCER_EPOCH = -1
export const NO_SEQUENCE = -1
export const NO_PARTITION_LEADER_EPOCH = -1
export const NO_TIMESTAMP = -1

/** Every field of a v2 batch header, plus the attribute bits decoded. */
export interface RecordBatchHeader {
  baseOffset: bigint
  batchLength: number
  partitionLeaderEpoch: number
  magic: number
  /** Unsigned. */
  crc: number
  attributes: number
  lastOffsetDelta: number
  /** Milliseconds; int64 on the wire, exact below 2^53. */
  baseTimestamp: number
  maxTimestamp: number
  producerId: bigint
  producerEpoch: number
  baseSequence: number
  recordsCount: number
  /** Attribute bits 0-2 (0-4 are valid codecs; 5-7 are rejected by {@link validateBatch}). */
  compression: number
  timestampType: TimestampType
  isTransactional: boolean
  isControlBatch: boolean
  hasDeleteHorizonMs: boolean
}

// int64 as a JS number: exact for |value| < 2^53, which every real offset and timestamp is.
function readInt64Number (buf: Buffer, at: number): number {
  return buf.readInt32BE(at) * 4294967296 + buf.readUInt32BE(at + 4)
}

function writeInt64Number (buf: Buffer, at: number, value: number): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${value} is not a safe integer`)
  const hi = Math.floor(value / 4294967296)
  buf.writeInt32BE(hi, at)
  buf.writeUInt32BE(value - hi * 4294967296, at + 4)
}

/*
 * In-place accessors for the broker's hot path. They read fixed offsets without decoding the
 * batch; call them on a batch whose bounds were checked ({@link validateBatch},
 * {@link batchSizeAt}). Outside the buffer Node throws a RangeError.
 */
export function readBaseOffset (buf: Buffer, position = 0): number {
  return readInt64Number(buf, position + BASE_OFFSET_OFFSET)
}

export function setBaseOffset (buf: Buffer, position: number, baseOffset: number | bigint): void {
  if (typeof baseOffset === 'bigint') buf.writeBigInt64BE(baseOffset, position + BASE_OFFSET_OFFSET)
  else writeInt64Number(buf, position + BASE_OFFSET_OFFSET, baseOffset)
}

export function readBatchLength (buf: Buffer, position = 0): number {
  return buf.readInt32BE(position + LENGTH_OFFSET)
}

export function readPartitionLeaderEpoch (buf: Buffer, position = 0): number {
  return buf.readInt32BE(position + PARTITION_LEADER_EPOCH_OFFSET)
}

export function setPartitionLeaderEpoch (buf: Buffer, position: number, epoch: number): void {
  buf.writeInt32BE(epoch, position + PARTITION_LEADER_EPOCH_OFFSET)
}

export function readMagic (buf: Buffer, position = 0): number {
  return buf.readInt8(position + MAGIC_OFFSET)
}

export function readCrc (buf: Buffer, position = 0): number {
  return buf.readUInt32BE(position + CRC_OFFSET)
}

export function readAttributes (buf: Buffer, position = 0): number {
  return buf.readInt16BE(position + ATTRIBUTES_OFFSET)
}

export function readLastOffsetDelta (buf: Buffer, position = 0): number {
  return buf.readInt32BE(position + LAST_OFFSET_DELTA_OFFSET)
}

/** baseOffset + lastOffsetDelta: the offset of the batch's last record. */
export function readLastOffset (buf: Buffer, position = 0): number {
  return readBaseOffset(buf, position) + readLastOffsetDelta(buf, position)
}

export function readBaseTimestamp (buf: Buffer, position = 0): number {
  return readInt64Number(buf, position + BASE_TIMESTAMP_OFFSET)
}

export function readMaxTimestamp (buf: Buffer, position = 0): number {
  return readInt64Number(buf, position + MAX_TIMESTAMP_OFFSET)
}

export function readProducerId (buf: Buffer, position = 0): bigint {
  return buf.readBigInt64BE(position + PRODUCER_ID_OFFSET)
}

export function readProducerEpoch (buf: Buffer, position = 0): number {
  return buf.readInt16BE(position + PRODUCER_EPOCH_OFFSET)
}

export function readBaseSequence (buf: Buffer, position = 0): number {
  return buf.readInt32BE(position + BASE_SEQUENCE_OFFSET)
}

export function readRecordsCount (buf: Buffer, position = 0): number {
  return buf.readInt32BE(position + RECORDS_COUNT_OFFSET)
}

/** The CRC-32C a batch should carry: over attributes to the end of the batch. */
export function computeBatchCrc (buf: Buffer, position = 0): number {
  return crc32c(buf, position + ATTRIBUTES_OFFSET, position + LOG_OVERHEAD + readBatchLength(buf, position))
}

/** Recomputes and stores the CRC after a change to a covered field. */
export function updateBatchCrc (buf: Buffer, position = 0): void {
  buf.writeUInt32BE(computeBatchCrc(buf, position), position + CRC_OFFSET)
}

/**
 * Turns a batch into a LogAppendTime batch: sets attribute bit 3 and maxTimestamp to
 * `timestamp`, then recomputes the CRC (both fields are covered by it). This is what the
 * leader does for topics with `message.timestamp.type=LogAppendTime`; record timestamps are
 * left as they are and readers use maxTimestamp instead.
 */
export function setLogAppendTime (buf: Buffer, position: number, timestamp: number): void {
  // The timestamp first: it is the write that can throw, and must do so before any change.
  writeInt64Number(buf, position + MAX_TIMESTAMP_OFFSET, timestamp)
  buf.writeInt16BE(readAttributes(buf, position) | TIMESTAMP_TYPE_MASK, position + ATTRIBUTES_OFFSET)
  updateBatchCrc(buf, position)
}

/** Decodes the 61-byte header of the v2 batch at `position`. */
export function readBatchHeader (buf: Buffer, position = 0): RecordBatchHeader {
  if (position < 0 || buf.length - position < RECORD_BATCH_OVERHEAD) {
    throw new ProtocolDecodeError(`Truncated record batch header: ${Math.max(0, buf.length - position)} of ${RECORD_BATCH_OVERHEAD} bytes`, position)
  }
  const magic = buf.readInt8(position + MAGIC_OFFSET)
  if (magic !== CURRENT_MAGIC) throw new ProtocolDecodeError(`Record batch has magic ${magic}, not 2`, position + MAGIC_OFFSET)
  const attributes = buf.readInt16BE(position + ATTRIBUTES_OFFSET)
  return {
    baseOffset: buf.readBigInt64BE(position),
    batchLength: buf.readInt32BE(position + LENGTH_OFFSET),
    partitionLeaderEpoch: buf.readInt32BE(position + PARTITION_LEADER_EPOCH_OFFSET),
    magic,
    crc: buf.readUInt32BE(position + CRC_OFFSET),
    attributes,
    lastOffsetDelta: buf.readInt32BE(position + LAST_OFFSET_DELTA_OFFSET),
    baseTimestamp: readInt64Number(buf, position + BASE_TIMESTAMP_OFFSET),
    maxTimestamp: readInt64Number(buf, position + MAX_TIMESTAMP_OFFSET),
    producerId: buf.readBigInt64BE(position + PRODUCER_ID_OFFSET),
    producerEpoch: buf.readInt16BE(position + PRODUCER_EPOCH_OFFSET),
    baseSequence: buf.readInt32BE(position + BASE_SEQUENCE_OFFSET),
    recordsCount: buf.readInt32BE(position + RECORDS_COUNT_OFFSET),
    compression: attributes & COMPRESSION_CODEC_MASK,
    timestampType: (attributes & TIMESTAMP_TYPE_MASK) !== 0 ? TimestampType.LogAppendTime : TimestampType.CreateTime,
    isTransactional: (attributes & TRANSACTIONAL_FLAG_MASK) !== 0,
    isControlBatch: (attributes & CONTROL_FLAG_MASK) !== 0,
    hasDeleteHorizonMs: (attributes & DELETE_HORIZON_FLAG_MASK) !== 0
  }
}

/** Kafka error codes a batch check can end in, by Kafka's name (from the one error table). */
export const BatchErrorCode = {
  CORRUPT_MESSAGE: ErrorCode.CORRUPT_MESSAGE,
  MESSAGE_TOO_LARGE: ErrorCode.MESSAGE_TOO_LARGE,
  UNSUPPORTED_COMPRESSION_TYPE: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
  INVALID_RECORD: ErrorCode.INVALID_RECORD
} as const
export type BatchErrorName = keyof typeof BatchErrorCode

export interface BatchValid {
  ok: true
  header: RecordBatchHeader
  /** Bytes the batch occupies: LOG_OVERHEAD + batchLength. */
  size: number
}

export interface BatchInvalid {
  ok: false
  error: BatchErrorName
  /** Kafka's numeric code for {@link BatchInvalid.error}. */
  errorCode: typeof BatchErrorCode[BatchErrorName]
  /** Human-readable detail, for the error message in the response and for logs. */
  reason: string
}

export type BatchValidation = BatchValid | BatchInvalid

export interface ValidateBatchOptions {
  /**
   * Apply the rules Kafka applies to batches from producers (`LogValidator.validateBatch`):
   * no control batches, at least one record, recordsCount = lastOffsetDelta + 1, and a
   * sequence when there is a producer id. Off for replicated or stored batches, which
   * compaction may have left with gaps. Default true.
   */
  fromClient?: boolean
  /** Batches larger than this (LOG_OVERHEAD included) fail with MESSAGE_TOO_LARGE. */
  maxBatchSize?: number
  /** False for Produce below v7 and Fetch below v10, which may not carry zstd. Default true. */
  allowZstd?: boolean
}

function invalid (error: BatchErrorName, reason: string): BatchInvalid {
  return { ok: false, error, errorCode: BatchErrorCode[error], reason }
}

// Attributes int8, timestampDelta, offsetDelta, key length, value length, header count (one
// byte each at least) and the length varint itself.
const MIN_RECORD_SIZE = 7

/**
 * Checks the v2 batch at `position` without decoding its records: framing, magic, size,
 * CRC-32C, codec, and (for producer batches) Kafka's header rules. This is the whole
 * per-batch cost on the produce path. Never throws for bad input.
 */
export function validateBatch (buf: Buffer, position = 0, options: ValidateBatchOptions = {}): BatchValidation {
  const remaining = buf.length - position
  if (position < 0 || remaining < LOG_OVERHEAD + 5) return invalid('CORRUPT_MESSAGE', `Record batch truncated: ${Math.max(0, remaining)} bytes`)
  const magic = buf.readInt8(position + MAGIC_OFFSET)
  if (magic !== CURRENT_MAGIC) return invalid('INVALID_RECORD', `Record batch has magic ${magic}; only magic 2 is accepted`)
  const batchLength = buf.readInt32BE(position + LENGTH_OFFSET)
  if (batchLength < MIN_BATCH_LENGTH) {
    return invalid('CORRUPT_MESSAGE', `Record batch length ${batchLength} is smaller than the minimum ${MIN_BATCH_LENGTH}`)
  }
  const size = LOG_OVERHEAD + batchLength
  if (size > remaining) return invalid('CORRUPT_MESSAGE', `Record batch declares ${size} bytes but only ${remaining} are present`)
  if (options.maxBatchSize !== undefined && size > options.maxBatchSize) {
    return invalid('MESSAGE_TOO_LARGE', `Record batch of ${size} bytes exceeds the maximum of ${options.maxBatchSize}`)
  }
  const stored = buf.readUInt32BE(position + CRC_OFFSET)
  const computed = crc32c(buf, position + ATTRIBUTES_OFFSET, position + size)
  if (stored !== computed) {
    return invalid('CORRUPT_MESSAGE', `Record batch is corrupt (stored crc = ${stored}, computed crc = ${computed})`)
  }
  const header = readBatchHeader(buf, position)
  if (header.compression > 4) return invalid('CORRUPT_MESSAGE', `Unknown compression codec ${header.compression}`)
  if (header.compression === 4 && options.allowZstd === false) {
    return invalid('UNSUPPORTED_COMPRESSION_TYPE', 'zstd compression requires Produce v7 or Fetch v10 and later')
  }
  if (header.recordsCount < 0) return invalid('CORRUPT_MESSAGE', `Invalid records count ${header.recordsCount}`)
  if (header.compression === 0 && header.recordsCount > (size - RECORD_BATCH_OVERHEAD) / MIN_RECORD_SIZE) {
    return invalid('CORRUPT_MESSAGE', `Records count ${header.recordsCount} cannot fit in ${size - RECORD_BATCH_OVERHEAD} bytes`)
  }
  if (options.fromClient !== false) {
    if (header.isControlBatch) return invalid('INVALID_RECORD', 'Clients may not send control batches')
    if (header.recordsCount === 0) return invalid('INVALID_RECORD', 'Record batch has no records')
    if (header.lastOffsetDelta < 0) return invalid('INVALID_RECORD', `Invalid lastOffsetDelta ${header.lastOffsetDelta}`)
    if (header.lastOffsetDelta + 1 !== header.recordsCount) {
      return invalid('INVALID_RECORD', `Inconsistent batch offset range: lastOffsetDelta ${header.lastOffsetDelta} with ${header.recordsCount} records`)
    }
    if (header.producerId >= 0n && header.baseSequence < 0) {
      return invalid('INVALID_RECORD', `Invalid sequence number ${header.baseSequence} for producer ${header.producerId}`)
    }
  }
  return { ok: true, header, size }
}

/**
 * Checks the records of a Produce v3+ partition: exactly one v2 batch that fills the field
 * (`ProduceRequest.validateRecords` and `LogValidator`), with the checks of
 * {@link validateBatch}.
 */
export function validateProduceRecords (records: Buffer | null, options: ValidateBatchOptions = {}): BatchValidation {
  if (records === null || records.length === 0) return invalid('INVALID_RECORD', 'Produce requests must contain exactly one record batch per partition')
  const result = validateBatch(records, 0, options)
  if (result.ok && result.size !== records.length) {
    return invalid('INVALID_RECORD', 'Produce requests must contain exactly one record batch per partition')
  }
  return result
}

/** Smallest entry bodies (after LOG_OVERHEAD) per magic: legacy v0, v1, then v2. */
const MIN_ENTRY_LENGTH = [14, 22, MIN_BATCH_LENGTH] as const

/** One log entry (a v2 batch, or a legacy message) located in a record set. */
export interface LogEntry {
  position: number
  /** LOG_OVERHEAD + the length field. */
  size: number
  magic: number
}

/**
 * The size of the complete entry at `position` of a record set (any magic), or 0 when fewer
 * bytes remain than it needs: Fetch responses may end in a partial batch, which readers skip.
 * A length below the minimum for its magic, or an unknown magic, is a ProtocolDecodeError.
 */
export function batchSizeAt (buf: Buffer, position: number): number {
  const remaining = buf.length - position
  if (remaining < LOG_OVERHEAD + 5) return 0
  const length = buf.readInt32BE(position + LENGTH_OFFSET)
  const magic = buf.readInt8(position + MAGIC_OFFSET)
  const min = MIN_ENTRY_LENGTH[magic as 0 | 1 | 2]
  if (min === undefined) throw new ProtocolDecodeError(`Unknown record format magic ${magic}`, position + MAGIC_OFFSET)
  if (length < min) throw new ProtocolDecodeError(`Record entry length ${length} is below the minimum ${min} for magic ${magic}`, position + LENGTH_OFFSET)
  return LOG_OVERHEAD + length > remaining ? 0 : LOG_OVERHEAD + length
}

/**
 * The entries of a concatenated record set in order, stopping cleanly before a trailing
 * partial entry. Works for every magic (the first 12 bytes frame them all alike).
 */
export function * iterateBatches (buf: Buffer, start = 0): Generator<LogEntry, void, undefined> {
  let position = start
  for (;;) {
    const size = batchSizeAt(buf, position)
    if (size === 0) return
    yield { position, size, magic: buf.readInt8(position + MAGIC_OFFSET) }
    position += size
  }
}

/** The magic of the entry at `position` (byte 16), or -1 when the entry is too short to tell. */
export function recordSetMagic (buf: Buffer, position = 0): number {
  return buf.length - position > MAGIC_OFFSET ? buf.readInt8(position + MAGIC_OFFSET) : -1
}
