import { ProtocolEncodeError } from '../primitives/errors.ts'
import type { Reader } from '../primitives/reader.ts'
import { sizeOfVarInt, sizeOfVarLongNumber, type Writer } from '../primitives/writer.ts'

/*
 * One record inside a v2 batch (`DefaultRecord.java`). VARINT/VARLONG are zig-zag:
 *
 *   length varint (bytes after it) | attributes int8 (unused) | timestampDelta varlong |
 *   offsetDelta varint | keyLength varint (-1 = null) | key | valueLength varint | value |
 *   headersCount varint | [headerKeyLength varint | headerKey utf8 |
 *                          headerValueLength varint (-1 = null) | headerValue]
 */

export interface RecordHeader {
  key: string
  value: Buffer | null
}

/**
 * A decoded record. Named KafkaRecord so it does not shadow TypeScript's `Record<K, V>`.
 * key, value and header values are zero-copy views into the batch (or its decompressed
 * records); copy them to keep them beyond the buffer's life.
 */
export interface KafkaRecord {
  attributes: number
  /** Relative to the batch's baseTimestamp. */
  timestampDelta: number
  /** Relative to the batch's baseOffset. */
  offsetDelta: number
  key: Buffer | null
  value: Buffer | null
  headers: RecordHeader[]
}

/** Bytes given to the encoder: raw, or text written as UTF-8. */
export type RecordBytes = Uint8Array | string

export interface RecordHeaderInput {
  key: string
  value?: RecordBytes | null | undefined
}

/** A record to encode. Missing key/value mean null. */
export interface RecordInput {
  key?: RecordBytes | null | undefined
  value?: RecordBytes | null | undefined
  headers?: readonly RecordHeaderInput[] | undefined
  /** Milliseconds; the batch builder defaults it. */
  timestamp?: number | undefined
  /** Defaults to the record's index in the batch. */
  offsetDelta?: number | undefined
}

/** Encoded byte length of a key/value/header value, -1 for null. */
export function recordBytesLength (value: RecordBytes | null | undefined): number {
  if (value == null) return -1
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length
}

function sizeOfField (length: number): number {
  return length < 0 ? 1 : sizeOfVarInt(length) + length
}

/** Size of everything after the record's length varint. */
export function sizeOfRecordBody (record: RecordInput, timestampDelta: number, offsetDelta: number): number {
  let size = 1 + sizeOfVarLongNumber(timestampDelta) + sizeOfVarInt(offsetDelta) +
    sizeOfField(recordBytesLength(record.key)) + sizeOfField(recordBytesLength(record.value))
  const headers = record.headers
  if (headers === undefined) return size + 1
  size += sizeOfVarInt(headers.length)
  for (let i = 0; i < headers.length; i++) {
    const header = headers[i]!
    if (typeof header.key !== 'string') throw new ProtocolEncodeError('Record header keys must be strings')
    size += sizeOfField(Buffer.byteLength(header.key)) + sizeOfField(recordBytesLength(header.value))
  }
  return size
}

/** The whole record's size given its body size. */
export function sizeOfRecord (bodySize: number): number {
  return sizeOfVarInt(bodySize) + bodySize
}

function writeField (w: Writer, value: RecordBytes | null | undefined): void {
  if (value == null) {
    w.writeUInt8(1) // zig-zag -1
  } else if (typeof value === 'string') {
    const length = Buffer.byteLength(value)
    w.writeVarInt(length)
    w.writeUtf8(value, length)
  } else {
    w.writeVarInt(value.length)
    w.writeRaw(value)
  }
}

/** Writes a record whose body size was computed with {@link sizeOfRecordBody}. */
export function writeRecord (w: Writer, record: RecordInput, bodySize: number, timestampDelta: number, offsetDelta: number): void {
  w.writeVarInt(bodySize)
  w.writeUInt8(0)
  w.writeVarLongNumber(timestampDelta)
  w.writeVarInt(offsetDelta)
  writeField(w, record.key)
  writeField(w, record.value)
  const headers = record.headers
  if (headers === undefined) {
    w.writeUInt8(0)
    return
  }
  w.writeVarInt(headers.length)
  for (let i = 0; i < headers.length; i++) {
    const header = headers[i]!
    writeField(w, header.key)
    writeField(w, header.value)
  }
}

// Varints inside records are nearly always one or two bytes: decode those inline and leave
// longer ones (and every error case) to the Reader's general, bounds-checked code.
function readVarInt (r: Reader): number {
  const buf = r.buffer
  const at = r.offset
  if (at + 1 < r.end) {
    const b0 = buf[at]!
    if (b0 < 0x80) {
      r.offset = at + 1
      return (b0 >>> 1) ^ -(b0 & 1)
    }
    const b1 = buf[at + 1]!
    if (b1 < 0x80) {
      const raw = (b0 & 0x7f) | (b1 << 7)
      r.offset = at + 2
      return (raw >>> 1) ^ -(raw & 1)
    }
  }
  return r.readVarInt()
}

function readVarLong (r: Reader): number {
  const at = r.offset
  if (at < r.end) {
    const b0 = r.buffer[at]!
    if (b0 < 0x80) {
      r.offset = at + 1
      return (b0 >>> 1) ^ -(b0 & 1)
    }
  }
  return r.readVarLongNumber()
}

/**
 * Reads one record, checking what `DefaultRecord.readFrom` checks: lengths and counts are
 * not negative (except -1 for null key/value/header value) and the fields fill exactly the
 * declared record length.
 */
export function readRecord (r: Reader): KafkaRecord {
  const length = readVarInt(r)
  if (length < 0) r.fail(`Invalid record length ${length}`)
  const end = r.offset + length
  if (end > r.end) r.fail(`Record of ${length} bytes overruns the ${r.end - r.offset} bytes that remain`)
  const attributes = r.readInt8()
  const timestampDelta = readVarLong(r)
  const offsetDelta = readVarInt(r)
  const key = readField(r)
  const value = readField(r)
  const count = readVarInt(r)
  if (count < 0) r.fail(`Invalid number of record headers ${count}`)
  const headers: RecordHeader[] = []
  for (let i = 0; i < count; i++) {
    const keyLength = readVarInt(r)
    if (keyLength < 0) r.fail(`Invalid negative header key size ${keyLength}`)
    const at = r.offset
    r.skip(keyLength)
    headers.push({ key: r.buffer.toString('utf8', at, at + keyLength), value: readField(r) })
  }
  if (r.offset !== end) r.fail(`Record declares ${length} bytes but its fields take ${length + r.offset - end}`)
  return { attributes, timestampDelta, offsetDelta, key, value, headers }
}

function readField (r: Reader): Buffer | null {
  const length = readVarInt(r)
  if (length === -1) return null
  if (length < 0) r.fail(`Invalid record field length ${length}`)
  return r.readRaw(length)
}
