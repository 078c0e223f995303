import { decodeRecordBatch, type DecodedRecordBatch, type DecodeRecordBatchOptions } from './batch-decoder.ts'
import { readLegacyEntry, type LegacyMessage } from './legacy.ts'
import { CURRENT_MAGIC, iterateBatches } from './record-batch.ts'

/** One entry of a record set: a v2 batch, or the messages of one legacy entry. */
export type RecordSetEntry =
  | { magic: 2, position: number, batch: DecodedRecordBatch }
  | { magic: 0 | 1, position: number, messages: LegacyMessage[] }

/**
 * Decodes a whole record set as found in a Fetch response, which may mix formats (a log
 * written before and after an upgrade) and may end in a partial entry (skipped). The
 * decompression limit applies to each entry.
 */
export function decodeRecordSet (buf: Buffer, options: DecodeRecordBatchOptions = {}): RecordSetEntry[] {
  const out: RecordSetEntry[] = []
  for (const entry of iterateBatches(buf)) {
    if (entry.magic === CURRENT_MAGIC) {
      out.push({ magic: 2, position: entry.position, batch: decodeRecordBatch(buf, entry.position, options) })
    } else {
      out.push({ magic: entry.magic as 0 | 1, position: entry.position, messages: readLegacyEntry(buf.subarray(0, entry.position + entry.size), entry.position, options) })
    }
  }
  return out
}
