import { compress, CompressionType } from '../compression/codec.ts'
import { ProtocolEncodeError } from '../primitives/errors.ts'
import { sizeOfVarInt, Writer } from '../primitives/writer.ts'
import { crc32c } from './crc32c.ts'
import {
  ATTRIBUTES_OFFSET, BASE_SEQUENCE_OFFSET, BASE_TIMESTAMP_OFFSET, CONTROL_FLAG_MASK, CRC_OFFSET, CURRENT_MAGIC,
  LAST_OFFSET_DELTA_OFFSET, LENGTH_OFFSET, LOG_OVERHEAD, MAGIC_OFFSET, MAX_TIMESTAMP_OFFSET, NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH, NO_SEQUENCE, PARTITION_LEADER_EPOCH_OFFSET, PRODUCER_EPOCH_OFFSET, PRODUCER_ID_OFFSET,
  RECORD_BATCH_OVERHEAD, RECORDS_COUNT_OFFSET, TIMESTAMP_TYPE_MASK, TimestampType, TRANSACTIONAL_FLAG_MASK
} from './record-batch.ts'
import { sizeOfRecordBody, writeRecord, type RecordInput } from './record.ts'

export interface BuildRecordBatchOptions {
  records: readonly RecordInput[]
  /** Default 0: producers send 0 and the leader stamps the real offset. */
  baseOffset?: bigint | number | undefined
  /** Default -1 (what producers send; the leader stamps it). */
  partitionLeaderEpoch?: number | undefined
  /** Default -1 (not idempotent). */
  producerId?: bigint | number | undefined
  producerEpoch?: number | undefined
  baseSequence?: number | undefined
  isTransactional?: boolean | undefined
  isControlBatch?: boolean | undefined
  compression?: CompressionType | undefined
  /** gzip/zstd level; the codec's default otherwise. */
  compressionLevel?: number | undefined
  timestampType?: TimestampType | undefined
  /** The timestamp of records that have none. Default `Date.now()`. */
  timestamp?: number | undefined
  /** For LogAppendTime batches, the maxTimestamp to write. Default: `timestamp`, else now. */
  logAppendTime?: number | undefined
}

function writeInt64 (buf: Buffer, at: number, value: number | bigint): void {
  if (typeof value === 'bigint') {
    buf.writeBigInt64BE(value, at)
    return
  }
  if (!Number.isSafeInteger(value)) throw new ProtocolEncodeError(`${value} is not a safe integer for an int64 field`)
  const hi = Math.floor(value / 4294967296)
  buf.writeInt32BE(hi, at)
  buf.writeUInt32BE(value - hi * 4294967296, at + 4)
}

/**
 * Builds one RecordBatch v2. Sizes are computed first, so the batch (or, when compressed,
 * the records section) is written into a single exact-size allocation, and the CRC-32C is
 * computed once at the end.
 *
 * As in Kafka's `MemoryRecordsBuilder`, baseTimestamp is the first record's timestamp (later
 * records may be earlier: deltas are signed), maxTimestamp the largest, and offset deltas
 * default to 0, 1, 2...; explicit offset deltas must increase.
 */
export function buildRecordBatch (options: BuildRecordBatchOptions): Buffer {
  const records = options.records
  const count = records.length
  if (count === 0) throw new ProtocolEncodeError('A record batch needs at least one record')
  const now = options.timestamp ?? Date.now()
  const baseTimestamp = records[0]!.timestamp ?? now
  let maxTimestamp = baseTimestamp
  const bodySizes = new Int32Array(count)
  let recordsSize = 0
  let lastOffsetDelta = -1
  for (let i = 0; i < count; i++) {
    const record = records[i]!
    const timestamp = record.timestamp ?? now
    if (timestamp > maxTimestamp) maxTimestamp = timestamp
    const offsetDelta = record.offsetDelta ?? i
    if (!(offsetDelta > lastOffsetDelta) || offsetDelta > 0x7fffffff || !Number.isInteger(offsetDelta)) {
      throw new ProtocolEncodeError(`Record offset deltas must be increasing int32 values (got ${offsetDelta} after ${lastOffsetDelta})`)
    }
    lastOffsetDelta = offsetDelta
    const delta = timestamp - baseTimestamp
    if (!Number.isSafeInteger(delta)) throw new ProtocolEncodeError(`Invalid record timestamp ${timestamp}`)
    const body = sizeOfRecordBody(record, delta, offsetDelta)
    bodySizes[i] = body
    recordsSize += sizeOfVarInt(body) + body
  }

  const compression = options.compression ?? CompressionType.none
  let w: Writer
  if (compression === CompressionType.none) {
    w = new Writer(RECORD_BATCH_OVERHEAD + recordsSize)
    w.offset = RECORD_BATCH_OVERHEAD
    writeRecords(w, records, bodySizes, baseTimestamp, now)
  } else {
    const rw = new Writer(recordsSize)
    writeRecords(rw, records, bodySizes, baseTimestamp, now)
    const compressed = compress(compression, rw.buffer, options.compressionLevel)
    w = new Writer(RECORD_BATCH_OVERHEAD + compressed.length)
    w.offset = RECORD_BATCH_OVERHEAD
    w.writeRaw(compressed)
  }
  const buf = w.buffer

  const timestampType = options.timestampType ?? TimestampType.CreateTime
  let attributes = compression
  if (timestampType === TimestampType.LogAppendTime) {
    attributes |= TIMESTAMP_TYPE_MASK
    maxTimestamp = options.logAppendTime ?? now
  }
  if (options.isTransactional === true) attributes |= TRANSACTIONAL_FLAG_MASK
  if (options.isControlBatch === true) attributes |= CONTROL_FLAG_MASK

  writeInt64(buf, 0, options.baseOffset ?? 0)
  buf.writeInt32BE(buf.length - LOG_OVERHEAD, LENGTH_OFFSET)
  buf.writeInt32BE(options.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH, PARTITION_LEADER_EPOCH_OFFSET)
  buf[MAGIC_OFFSET] = CURRENT_MAGIC
  buf.writeInt16BE(attributes, ATTRIBUTES_OFFSET)
  buf.writeInt32BE(lastOffsetDelta, LAST_OFFSET_DELTA_OFFSET)
  writeInt64(buf, BASE_TIMESTAMP_OFFSET, baseTimestamp)
  writeInt64(buf, MAX_TIMESTAMP_OFFSET, maxTimestamp)
  writeInt64(buf, PRODUCER_ID_OFFSET, options.producerId ?? -1)
  buf.writeInt16BE(options.producerEpoch ?? NO_PRODUCER_EPOCH, PRODUCER_EPOCH_OFFSET)
  buf.writeInt32BE(options.baseSequence ?? NO_SEQUENCE, BASE_SEQUENCE_OFFSET)
  buf.writeInt32BE(count, RECORDS_COUNT_OFFSET)
  buf.writeUInt32BE(crc32c(buf, ATTRIBUTES_OFFSET, buf.length), CRC_OFFSET)
  return w.toBuffer()
}

function writeRecords (w: Writer, records: readonly RecordInput[], bodySizes: Int32Array, baseTimestamp: number, now: number): void {
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!
    writeRecord(w, record, bodySizes[i]!, (record.timestamp ?? now) - baseTimestamp, record.offsetDelta ?? i)
  }
  if (w.offset !== w.buffer.length) throw new ProtocolEncodeError(`Encoded ${w.offset} record bytes but ${w.buffer.length} were predicted`)
}
