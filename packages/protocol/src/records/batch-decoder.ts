import { decompress } from '../compression/codec.ts'
import { ProtocolDecodeError } from '../primitives/errors.ts'
import { Reader } from '../primitives/reader.ts'
import { crc32c } from './crc32c.ts'
import {
  ATTRIBUTES_OFFSET, LOG_OVERHEAD, MIN_BATCH_LENGTH, RECORD_BATCH_OVERHEAD, readBatchHeader, type RecordBatchHeader
} from './record-batch.ts'
import { readRecord, type KafkaRecord } from './record.ts'

/**
 * Default bound on a batch's decompressed records: far above what producers build
 * (`batch.size` is 16 KB by default, `max.request.size` 1 MB) yet small enough that a zip
 * bomb cannot take the process down.
 */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024

export interface DecodeRecordBatchOptions {
  /** Limit for the decompressed records section. Default {@link DEFAULT_MAX_DECOMPRESSED_BYTES}. */
  maxDecompressedBytes?: number | undefined
  /** Check the CRC-32C (consumers' `check.crcs`). Default true. */
  verifyCrc?: boolean | undefined
}

export interface DecodedRecordBatch {
  header: RecordBatchHeader
  /** Bytes the batch occupies in its buffer (LOG_OVERHEAD + batchLength). */
  size: number
  records: KafkaRecord[]
}

// The smallest record: length, attributes, timestampDelta, offsetDelta, key and value
// lengths and header count, one byte each.
const MIN_RECORD_SIZE = 7

/**
 * Decodes the v2 batch at `position`: header, CRC, decompression (bounded) and every record.
 * The records must fill the records section exactly, as `DefaultRecordBatch` requires. Any
 * malformed input ends in {@link ProtocolDecodeError}.
 */
export function decodeRecordBatch (buf: Buffer, position = 0, options: DecodeRecordBatchOptions = {}): DecodedRecordBatch {
  const header = readBatchHeader(buf, position)
  if (header.batchLength < MIN_BATCH_LENGTH) {
    throw new ProtocolDecodeError(`Record batch length ${header.batchLength} is smaller than the minimum ${MIN_BATCH_LENGTH}`, position)
  }
  const size = LOG_OVERHEAD + header.batchLength
  const end = position + size
  if (end > buf.length) throw new ProtocolDecodeError(`Record batch declares ${size} bytes but only ${buf.length - position} are present`, position)
  if (options.verifyCrc !== false) {
    const computed = crc32c(buf, position + ATTRIBUTES_OFFSET, end)
    if (computed !== header.crc) {
      throw new ProtocolDecodeError(`Record batch is corrupt (stored crc = ${header.crc}, computed crc = ${computed})`, position)
    }
  }
  const count = header.recordsCount
  if (count < 0) throw new ProtocolDecodeError(`Invalid records count ${count}`, position)
  let section = buf.subarray(position + RECORD_BATCH_OVERHEAD, end)
  if (header.compression !== 0) {
    section = decompress(header.compression, section, options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES)
  }
  if (count > section.length / MIN_RECORD_SIZE) {
    throw new ProtocolDecodeError(`Records count ${count} cannot fit in ${section.length} bytes`, position)
  }
  const r = new Reader(section)
  const records: KafkaRecord[] = new Array<KafkaRecord>(count)
  for (let i = 0; i < count; i++) records[i] = readRecord(r)
  if (r.remaining !== 0) throw new ProtocolDecodeError(`${r.remaining} bytes remain after the ${count} records of the batch`, position)
  return { header, size, records }
}
