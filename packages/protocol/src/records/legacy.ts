import { crc32 } from 'node:zlib'
import { CompressionType, decompress } from '../compression/codec.ts'
import { DecompressionLimitError } from '../compression/errors.ts'
import { ProtocolDecodeError } from '../primitives/errors.ts'
import { buildRecordBatch } from './batch-builder.ts'
import { DEFAULT_MAX_DECOMPRESSED_BYTES } from './batch-decoder.ts'
import { LENGTH_OFFSET, LOG_OVERHEAD, MAGIC_OFFSET, TimestampType } from './record-batch.ts'
import type { RecordInput } from './record.ts'

/*
 * Legacy MessageSet v0/v1 (magic 0 and 1, `LegacyRecord.java`), read-only:
 *
 *   MessageSet => [offset int64, messageSize int32, message]   (no count prefix)
 *   message v0 => crc uint32, magic int8 (0), attributes int8, key bytes, value bytes
 *   message v1 => crc uint32, magic int8 (1), attributes int8, timestamp int64, key, value
 *
 * The CRC is CRC-32 (IEEE) over magic..value. Compressed sets nest: a wrapper message (key
 * null) whose value is a compressed message set of the same magic.
 */
export const LEGACY_CRC_OFFSET = LOG_OVERHEAD
export const LEGACY_MAGIC_OFFSET = MAGIC_OFFSET
export const LEGACY_ATTRIBUTES_OFFSET = MAGIC_OFFSET + 1
export const LEGACY_TIMESTAMP_OFFSET = MAGIC_OFFSET + 2
/** crc + magic + attributes + key length + value length. */
export const MESSAGE_OVERHEAD_V0 = 14
/** v0 plus the timestamp. */
export const MESSAGE_OVERHEAD_V1 = 22

export interface LegacyMessage {
  /** Absolute offset (for inner messages of compressed sets, resolved against the wrapper). */
  offset: bigint
  magic: 0 | 1
  /** Unsigned CRC-32 as stored. */
  crc: number
  attributes: number
  timestampType: TimestampType
  /** -1 (no timestamp) for magic 0. */
  timestamp: number
  key: Buffer | null
  value: Buffer | null
}

export interface ReadMessageSetOptions {
  /** Total decompressed bytes allowed across the set. Default 64 MB. */
  maxDecompressedBytes?: number | undefined
  /** Check each message's CRC-32. Default true. */
  verifyCrc?: boolean | undefined
}

/** CRC-32 (IEEE), the legacy message checksum; node:zlib computes it natively (Node ≥ 20.15). */
export function legacyCrc32 (buf: Uint8Array, start = 0, end = buf.length): number {
  return crc32(start === 0 && end === buf.length ? buf : buf.subarray(start, end)) >>> 0
}

interface Budget {
  remaining: number
  readonly limit: number
}

/**
 * Reads a legacy message set, flattening compressed wrappers into their inner messages with
 * absolute offsets. A trailing partial message is skipped (Fetch responses may end in one);
 * anything else malformed, including a magic-2 entry, is a {@link ProtocolDecodeError}.
 */
export function readMessageSet (buf: Buffer, options: ReadMessageSetOptions = {}): LegacyMessage[] {
  const out: LegacyMessage[] = []
  const limit = options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES
  readEntries(buf, 0, buf.length, { remaining: limit, limit }, options.verifyCrc !== false, -1, out)
  return out
}

/** Reads the legacy entry at `position` (whose size was checked), appending its messages. */
export function readLegacyEntry (buf: Buffer, position: number, options: ReadMessageSetOptions = {}): LegacyMessage[] {
  const out: LegacyMessage[] = []
  const limit = options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES
  const size = entrySize(buf, position, buf.length, false)
  readMessage(buf, position, size, { remaining: limit, limit }, options.verifyCrc !== false, -1, out)
  return out
}

/**
 * The size of the entry at `position`, 0 for a partial entry when `allowPartial` (else an
 * error). `wrapperMagic` ≥ 0 means this is inside a compressed wrapper.
 */
function entrySize (buf: Buffer, position: number, end: number, allowPartial: boolean): number {
  const remaining = end - position
  if (remaining < LOG_OVERHEAD + 5) {
    if (allowPartial) return 0
    throw new ProtocolDecodeError(`Truncated message: ${remaining} bytes`, position)
  }
  const length = buf.readInt32BE(position + LENGTH_OFFSET)
  const magic = buf.readInt8(position + MAGIC_OFFSET)
  if (magic !== 0 && magic !== 1) throw new ProtocolDecodeError(`Message has magic ${magic}; expected 0 or 1`, position + MAGIC_OFFSET)
  const min = magic === 0 ? MESSAGE_OVERHEAD_V0 : MESSAGE_OVERHEAD_V1
  if (length < min) throw new ProtocolDecodeError(`Message size ${length} is below the minimum ${min} for magic ${magic}`, position + LENGTH_OFFSET)
  if (LOG_OVERHEAD + length > remaining) {
    if (allowPartial) return 0
    throw new ProtocolDecodeError(`Message declares ${length} bytes but only ${remaining - LOG_OVERHEAD} are present`, position)
  }
  return LOG_OVERHEAD + length
}

function readEntries (buf: Buffer, start: number, end: number, budget: Budget, verifyCrc: boolean, wrapperMagic: number, out: LegacyMessage[]): void {
  let position = start
  const inner = wrapperMagic >= 0
  while (position < end) {
    const size = entrySize(buf, position, end, !inner)
    if (size === 0) return
    readMessage(buf, position, size, budget, verifyCrc, wrapperMagic, out)
    position += size
  }
}

function readNullableBytes (buf: Buffer, at: number, end: number, what: string): Buffer | null {
  const length = buf.readInt32BE(at)
  if (length === -1) return null
  if (length < 0 || at + 4 + length > end) throw new ProtocolDecodeError(`Invalid message ${what} length ${length}`, at)
  return buf.subarray(at + 4, at + 4 + length)
}

function readMessage (buf: Buffer, position: number, size: number, budget: Budget, verifyCrc: boolean, wrapperMagic: number, out: LegacyMessage[]): void {
  const end = position + size
  const offset = buf.readBigInt64BE(position)
  const crc = buf.readUInt32BE(position + LEGACY_CRC_OFFSET)
  const magic = buf.readInt8(position + MAGIC_OFFSET) as 0 | 1
  if (verifyCrc) {
    const computed = legacyCrc32(buf, position + MAGIC_OFFSET, end)
    if (computed !== crc) throw new ProtocolDecodeError(`Message is corrupt (stored crc = ${crc}, computed crc = ${computed})`, position)
  }
  const attributes = buf.readInt8(position + LEGACY_ATTRIBUTES_OFFSET)
  let at = position + LEGACY_TIMESTAMP_OFFSET
  let timestamp = -1
  if (magic === 1) {
    timestamp = buf.readInt32BE(at) * 4294967296 + buf.readUInt32BE(at + 4)
    at += 8
  }
  const key = readNullableBytes(buf, at, end, 'key')
  at += 4 + (key === null ? 0 : key.length)
  if (at + 4 > end) throw new ProtocolDecodeError('Truncated message value', at)
  const value = readNullableBytes(buf, at, end, 'value')
  at += 4 + (value === null ? 0 : value.length)
  if (at !== end) throw new ProtocolDecodeError(`Message size ${size - LOG_OVERHEAD} does not match its fields`, position)

  const codec = attributes & 0x07
  const timestampType = magic === 1 && (attributes & 0x08) !== 0 ? TimestampType.LogAppendTime : TimestampType.CreateTime
  if (wrapperMagic >= 0) {
    if (magic !== wrapperMagic) throw new ProtocolDecodeError(`Inner message magic ${magic} does not match its wrapper's ${wrapperMagic}`, position)
    if (codec !== 0) throw new ProtocolDecodeError('Nested compressed messages are not allowed', position)
  }
  if (codec === 0) {
    out.push({ offset, magic, crc, attributes, timestampType, timestamp, key, value })
    return
  }
  if (codec > CompressionType.lz4) throw new ProtocolDecodeError(`Compression codec ${codec} is not valid for magic ${magic}`, position)
  if (value === null) throw new ProtocolDecodeError('Compressed message has a null value', position)
  let inner: Buffer
  try {
    inner = decompress(codec, value, budget.remaining)
  } catch (error) {
    // Report the limit for the whole set, not what was left of it.
    if (error instanceof DecompressionLimitError) throw new DecompressionLimitError(error.codec, budget.limit)
    throw error
  }
  budget.remaining -= inner.length
  const first = out.length
  readEntries(inner, 0, inner.length, budget, verifyCrc, magic, out)
  if (out.length === first) throw new ProtocolDecodeError('Compressed message set is empty', position)
  // v1: inner offsets are relative and the wrapper carries the absolute offset of the last.
  const shift = magic === 1 ? offset - out[out.length - 1]!.offset : 0n
  for (let i = first; i < out.length; i++) {
    const message = out[i]!
    message.offset += shift
    if (timestampType === TimestampType.LogAppendTime) {
      message.timestamp = timestamp
      message.timestampType = TimestampType.LogAppendTime
    }
  }
}

export interface ConvertMessageSetOptions {
  /** Replaces the missing timestamp (-1) of magic-0 messages; kept as -1 when absent (Kafka's own up-conversion does that). */
  now?: number | undefined
  /** Codec of the produced batch. Default none. */
  compression?: CompressionType | undefined
  /** baseOffset of the batch. Default: the first message's offset. */
  baseOffset?: bigint | undefined
  /**
   * Number the records 0, 1, 2... instead of keeping their offsets relative to the first
   * message: what the broker does for producer data, whose offsets it assigns anyway.
   */
  renumber?: boolean | undefined
  partitionLeaderEpoch?: number | undefined
}

/**
 * Converts legacy messages into one RecordBatch v2 (an empty buffer when there are none).
 * Records keep key, value and timestamp; offsets keep their distance from the first message
 * unless `renumber` is set. A set whose messages are all LogAppendTime becomes a
 * LogAppendTime batch.
 */
export function legacyMessagesToRecordBatch (messages: readonly LegacyMessage[], options: ConvertMessageSetOptions = {}): Buffer {
  if (messages.length === 0) return Buffer.alloc(0)
  const first = messages[0]!.offset
  const records: RecordInput[] = new Array<RecordInput>(messages.length)
  let allLogAppendTime = true
  let maxTimestamp = -1
  let previous = -1n
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!
    let offsetDelta = i
    if (options.renumber !== true) {
      const delta = message.offset - first
      if (delta <= previous || delta > 0x7fffffffn) {
        throw new ProtocolDecodeError(`Message offsets must increase to convert them (offset ${message.offset} after ${first + previous})`, 0)
      }
      previous = delta
      offsetDelta = Number(delta)
    }
    const timestamp = message.timestamp === -1 && options.now !== undefined ? options.now : message.timestamp
    if (timestamp > maxTimestamp) maxTimestamp = timestamp
    if (message.timestampType !== TimestampType.LogAppendTime) allLogAppendTime = false
    records[i] = { key: message.key, value: message.value, timestamp, offsetDelta }
  }
  return buildRecordBatch({
    records,
    baseOffset: options.baseOffset ?? first,
    partitionLeaderEpoch: options.partitionLeaderEpoch,
    compression: options.compression,
    timestampType: allLogAppendTime ? TimestampType.LogAppendTime : TimestampType.CreateTime,
    logAppendTime: maxTimestamp
  })
}

/** {@link readMessageSet} then {@link legacyMessagesToRecordBatch}. */
export function convertMessageSet (buf: Buffer, options: ConvertMessageSetOptions & ReadMessageSetOptions = {}): Buffer {
  return legacyMessagesToRecordBatch(readMessageSet(buf, options), options)
}
