/**
 * Rewriting one record batch for the log cleaner (Kafka's MemoryRecords.filterTo and
 * DefaultRecordBatch.writeEmptyHeader). Nothing here touches the disk.
 *
 * A rebuilt batch keeps what identifies its records: the base offset, every record's offset
 * delta and timestamp, keys, values and headers, the partition leader epoch, the producer id,
 * epoch and base sequence, the transactional and control flags, the timestamp type and the
 * compression codec (records are recompressed with it). As in Kafka, its lastOffsetDelta
 * becomes that of its last record and, for CreateTime, its maxTimestamp the largest record
 * timestamp; a LogAppendTime batch keeps its maxTimestamp (the append time).
 *
 * Delete horizon (KIP-534): a batch rebuilt with `deleteHorizonMs` carries attribute bit 6
 * and the horizon as its baseTimestamp; record timestamp deltas are rewritten relative to it,
 * so baseTimestamp + timestampDelta still gives every record's original timestamp.
 */
import {
  ATTRIBUTES_OFFSET, BASE_SEQUENCE_OFFSET, BASE_TIMESTAMP_OFFSET, CONTROL_FLAG_MASK, CRC_OFFSET, CURRENT_MAGIC,
  CompressionType, DELETE_HORIZON_FLAG_MASK, LAST_OFFSET_DELTA_OFFSET, LENGTH_OFFSET, LOG_OVERHEAD, MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET, PARTITION_LEADER_EPOCH_OFFSET, PRODUCER_EPOCH_OFFSET, PRODUCER_ID_OFFSET, RECORDS_COUNT_OFFSET,
  RECORD_BATCH_OVERHEAD, TIMESTAMP_TYPE_MASK, TRANSACTIONAL_FLAG_MASK, TimestampType, Writer, compress, crc32c, isCompressionType,
  sizeOfRecordBody, sizeOfVarInt, writeRecord, type KafkaRecord, type RecordBatchHeader, type RecordInput
} from '@samsa/protocol'

function writeInt64 (buf: Buffer, at: number, value: number): void {
  const hi = Math.floor(value / 4294967296)
  buf.writeInt32BE(hi, at)
  buf.writeUInt32BE(value - hi * 4294967296, at + 4)
}

function writeHeader (buf: Buffer, header: RecordBatchHeader, fields: {
  attributes: number
  lastOffsetDelta: number
  baseTimestamp: number
  maxTimestamp: number
  count: number
}): void {
  buf.writeBigInt64BE(header.baseOffset, 0)
  buf.writeInt32BE(buf.length - LOG_OVERHEAD, LENGTH_OFFSET)
  buf.writeInt32BE(header.partitionLeaderEpoch, PARTITION_LEADER_EPOCH_OFFSET)
  buf[MAGIC_OFFSET] = CURRENT_MAGIC
  buf.writeInt16BE(fields.attributes, ATTRIBUTES_OFFSET)
  buf.writeInt32BE(fields.lastOffsetDelta, LAST_OFFSET_DELTA_OFFSET)
  writeInt64(buf, BASE_TIMESTAMP_OFFSET, fields.baseTimestamp)
  writeInt64(buf, MAX_TIMESTAMP_OFFSET, fields.maxTimestamp)
  buf.writeBigInt64BE(header.producerId, PRODUCER_ID_OFFSET)
  buf.writeInt16BE(header.producerEpoch, PRODUCER_EPOCH_OFFSET)
  buf.writeInt32BE(header.baseSequence, BASE_SEQUENCE_OFFSET)
  buf.writeInt32BE(fields.count, RECORDS_COUNT_OFFSET)
  buf.writeUInt32BE(crc32c(buf, ATTRIBUTES_OFFSET, buf.length), CRC_OFFSET)
}

/**
 * A batch like `header`'s holding only `records` (a non-empty, ordered subset of its
 * records), with the delete horizon `deleteHorizonMs` when given.
 */
export function rebuildBatch (header: RecordBatchHeader, records: readonly KafkaRecord[], deleteHorizonMs: number | undefined): Buffer {
  const count = records.length
  if (count === 0) throw new RangeError('A rebuilt batch needs at least one record')
  const first = records[0]!
  const baseTimestamp = deleteHorizonMs ?? header.baseTimestamp + first.timestampDelta
  const inputs: RecordInput[] = new Array<RecordInput>(count)
  const deltas = new Array<number>(count)
  const bodies = new Int32Array(count)
  let maxTimestamp = -1
  let total = 0
  for (let i = 0; i < count; i++) {
    const r = records[i]!
    const timestamp = header.baseTimestamp + r.timestampDelta
    if (timestamp > maxTimestamp) maxTimestamp = timestamp
    const input: RecordInput = { key: r.key, value: r.value, headers: r.headers, offsetDelta: r.offsetDelta }
    inputs[i] = input
    deltas[i] = timestamp - baseTimestamp
    const body = sizeOfRecordBody(input, deltas[i]!, r.offsetDelta)
    bodies[i] = body
    total += sizeOfVarInt(body) + body
  }
  const raw = new Writer(total)
  for (let i = 0; i < count; i++) writeRecord(raw, inputs[i]!, bodies[i]!, deltas[i]!, records[i]!.offsetDelta)
  const codec = header.compression
  if (!isCompressionType(codec)) throw new RangeError(`Unknown compression codec ${codec}`)
  const section = codec === CompressionType.none ? raw.buffer : compress(codec, raw.buffer)
  const buf = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD + section.length)
  section.copy(buf, RECORD_BATCH_OVERHEAD)
  let attributes = header.attributes & ~DELETE_HORIZON_FLAG_MASK
  if (deleteHorizonMs !== undefined) attributes |= DELETE_HORIZON_FLAG_MASK
  writeHeader(buf, header, {
    attributes,
    lastOffsetDelta: records[count - 1]!.offsetDelta,
    baseTimestamp,
    maxTimestamp: header.timestampType === TimestampType.LogAppendTime ? header.maxTimestamp : maxTimestamp,
    count
  })
  return buf
}

/**
 * A batch of no records covering `header`'s offsets, kept so producer state (the last
 * sequence and epoch of a producer) or the end offset of a cleaned range survives:
 * uncompressed, no base timestamp, the original maxTimestamp.
 */
export function emptyBatch (header: RecordBatchHeader): Buffer {
  const buf = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD)
  writeHeader(buf, header, {
    attributes: header.attributes & (TIMESTAMP_TYPE_MASK | TRANSACTIONAL_FLAG_MASK | CONTROL_FLAG_MASK),
    lastOffsetDelta: header.lastOffsetDelta,
    baseTimestamp: -1,
    maxTimestamp: header.maxTimestamp,
    count: 0
  })
  return buf
}
