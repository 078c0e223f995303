/**
 * `<20-digit offset>.snapshot`: a partition's producer state as of that offset (every batch
 * below it applied), in Kafka's format (ProducerStateManager.java, PRODUCER_SNAPSHOT_VERSION 1),
 * so Kafka can read what Samsa writes and the other way round. Big-endian:
 *
 *     int16   version                      1
 *     uint32  crc                          CRC-32C of every byte after this field
 *     int32   count                        number of entries
 *     count x 46-byte entries:
 *       int64 producer_id
 *       int16 epoch
 *       int32 last_sequence                -1 when the producer has no batch here
 *       int64 last_offset                  last offset of its last batch, -1 when none
 *       int32 offset_delta                 last_sequence - first sequence of that batch
 *       int64 timestamp                    max timestamp of its last entry
 *       int32 coordinator_epoch
 *       int64 current_txn_first_offset     first offset of its open transaction, -1 when none
 *
 * Only the last batch of each producer is kept (as in Kafka): after a restart a retry of an
 * older batch of the last five is no longer recognised as a duplicate. Written atomically
 * (temporary file, fsync, rename) by PartitionLog.writeProducerSnapshot when a segment rolls and
 * when the log closes; a crash leaves the previous snapshot or the new one. A file that fails
 * to parse or its CRC is corrupt (CorruptSnapshotError): it is deleted and an older one used.
 */
import { crc32c } from '@samsa/protocol'
import { type BatchMetadata, ProducerStateEntry } from './producer-state-entry.ts'

export const PRODUCER_SNAPSHOT_VERSION = 1
const HEADER_SIZE = 10
const ENTRY_SIZE = 46
const ENTRIES_OFFSET = 6

export class CorruptSnapshotError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'CorruptSnapshotError'
  }
}

export function encodeProducerSnapshot (entries: Iterable<ProducerStateEntry>): Buffer {
  const list = [...entries]
  const buf = Buffer.alloc(HEADER_SIZE + list.length * ENTRY_SIZE)
  buf.writeInt16BE(PRODUCER_SNAPSHOT_VERSION, 0)
  buf.writeInt32BE(list.length, 6)
  let at = HEADER_SIZE
  for (const e of list) {
    buf.writeBigInt64BE(e.producerId, at)
    buf.writeInt16BE(e.producerEpoch, at + 8)
    buf.writeInt32BE(e.lastSeq, at + 10)
    buf.writeBigInt64BE(BigInt(e.lastDataOffset), at + 14)
    buf.writeInt32BE(e.lastOffsetDelta, at + 22)
    buf.writeBigInt64BE(BigInt(e.lastTimestamp), at + 26)
    buf.writeInt32BE(e.coordinatorEpoch, at + 34)
    buf.writeBigInt64BE(BigInt(e.currentTxnFirstOffset), at + 38)
    at += ENTRY_SIZE
  }
  buf.writeUInt32BE(crc32c(buf, ENTRIES_OFFSET), 2)
  return buf
}

export function decodeProducerSnapshot (buf: Buffer): ProducerStateEntry[] {
  if (buf.length < HEADER_SIZE) throw new CorruptSnapshotError(`Snapshot of ${buf.length} bytes is too short`)
  const version = buf.readInt16BE(0)
  if (version !== PRODUCER_SNAPSHOT_VERSION) throw new CorruptSnapshotError(`Snapshot contained an unknown file version ${version}`)
  const crc = buf.readUInt32BE(2)
  const computed = crc32c(buf, ENTRIES_OFFSET)
  if (crc !== computed) throw new CorruptSnapshotError(`Snapshot is corrupt (CRC is no longer valid). Stored crc: ${crc}. Computed crc: ${computed}`)
  const count = buf.readInt32BE(6)
  if (count < 0 || buf.length !== HEADER_SIZE + count * ENTRY_SIZE) {
    throw new CorruptSnapshotError(`Snapshot of ${buf.length} bytes cannot hold ${count} entries`)
  }
  const entries: ProducerStateEntry[] = []
  for (let i = 0, at = HEADER_SIZE; i < count; i++, at += ENTRY_SIZE) {
    const lastOffset = Number(buf.readBigInt64BE(at + 14))
    const timestamp = Number(buf.readBigInt64BE(at + 26))
    const batches: BatchMetadata[] = lastOffset >= 0
      ? [{ lastSeq: buf.readInt32BE(at + 10), lastOffset, offsetDelta: buf.readInt32BE(at + 22), timestamp }]
      : []
    entries.push(new ProducerStateEntry(
      buf.readBigInt64BE(at),
      buf.readInt16BE(at + 8),
      buf.readInt32BE(at + 34),
      timestamp,
      Number(buf.readBigInt64BE(at + 38)),
      batches
    ))
  }
  return entries
}
