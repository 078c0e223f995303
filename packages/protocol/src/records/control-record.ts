import { ProtocolDecodeError, ProtocolEncodeError } from '../primitives/errors.ts'
import { buildRecordBatch } from './batch-builder.ts'
import { decodeRecordBatch, type DecodeRecordBatchOptions } from './batch-decoder.ts'
import type { RecordBatchHeader } from './record-batch.ts'

/*
 * Control batches (attributes bit 5) hold exactly one control record. Its key is
 * `version int16 (0), type int16` (`ControlRecordType.java`); for transaction markers the
 * value is `version int16 (0), coordinatorEpoch int32` (`EndTransactionMarker.java`) and the
 * batch is also transactional, carrying the producer's id and epoch. The KRaft types (2-6)
 * carry generated messages as values (LeaderChangeMessage, SnapshotHeaderRecord, ...).
 */
export const ControlRecordType = {
  ABORT: 0,
  COMMIT: 1,
  LEADER_CHANGE: 2,
  SNAPSHOT_HEADER: 3,
  SNAPSHOT_FOOTER: 4,
  KRAFT_VERSION: 5,
  KRAFT_VOTERS: 6
} as const
export type ControlRecordType = typeof ControlRecordType[keyof typeof ControlRecordType]

export const CONTROL_RECORD_KEY_VERSION = 0
export const END_TXN_MARKER_VALUE_VERSION = 0
const KEY_SIZE = 4
const END_TXN_VALUE_SIZE = 6

export interface ControlRecordKey {
  version: number
  /** A {@link ControlRecordType}, or another number from a newer broker. */
  type: number
}

/** The key of a control record. */
export function writeControlRecordKey (type: ControlRecordType): Buffer {
  const key = Buffer.allocUnsafe(KEY_SIZE)
  key.writeInt16BE(CONTROL_RECORD_KEY_VERSION, 0)
  key.writeInt16BE(type, 2)
  return key
}

/**
 * Parses a control record key. Like `ControlRecordType.parse`, a newer key version is read
 * by its first two fields; an unknown type is returned as is for the caller to skip.
 */
export function readControlRecordKey (key: Buffer | null): ControlRecordKey {
  if (key === null || key.length < KEY_SIZE) throw new ProtocolDecodeError(`Invalid control record key of ${key?.length ?? 'null'} bytes`, 0)
  const version = key.readInt16BE(0)
  if (version < 0) throw new ProtocolDecodeError(`Invalid control record key version ${version}`, 0)
  return { version, type: key.readInt16BE(2) }
}

export interface EndTxnMarkerValue {
  version: number
  coordinatorEpoch: number
}

export function writeEndTxnMarkerValue (coordinatorEpoch: number): Buffer {
  const value = Buffer.allocUnsafe(END_TXN_VALUE_SIZE)
  value.writeInt16BE(END_TXN_MARKER_VALUE_VERSION, 0)
  value.writeInt32BE(coordinatorEpoch, 2)
  return value
}

/** Parses a COMMIT/ABORT value; later versions are read by their version-0 fields. */
export function readEndTxnMarkerValue (value: Buffer | null): EndTxnMarkerValue {
  if (value === null || value.length < END_TXN_VALUE_SIZE) {
    throw new ProtocolDecodeError(`Invalid transaction marker value of ${value?.length ?? 'null'} bytes`, 0)
  }
  const version = value.readInt16BE(0)
  if (version < 0) throw new ProtocolDecodeError(`Invalid transaction marker version ${version}`, 0)
  return { version, coordinatorEpoch: value.readInt32BE(2) }
}

export interface BuildControlBatchOptions {
  type: ControlRecordType
  /** The record value (for KRaft types, an encoded generated message). */
  value: Buffer | null
  baseOffset?: bigint | number | undefined
  partitionLeaderEpoch?: number | undefined
  producerId?: bigint | number | undefined
  producerEpoch?: number | undefined
  isTransactional?: boolean | undefined
  /** Default `Date.now()`. */
  timestamp?: number | undefined
}

/** A control batch holding one control record (uncompressed, CreateTime, no sequence). */
export function buildControlBatch (options: BuildControlBatchOptions): Buffer {
  const timestamp = options.timestamp ?? Date.now()
  return buildRecordBatch({
    records: [{ key: writeControlRecordKey(options.type), value: options.value, timestamp }],
    baseOffset: options.baseOffset,
    partitionLeaderEpoch: options.partitionLeaderEpoch,
    producerId: options.producerId,
    producerEpoch: options.producerEpoch,
    isTransactional: options.isTransactional,
    isControlBatch: true,
    timestamp
  })
}

export interface BuildEndTxnMarkerOptions {
  type: typeof ControlRecordType.COMMIT | typeof ControlRecordType.ABORT
  producerId: bigint | number
  producerEpoch: number
  coordinatorEpoch: number
  baseOffset?: bigint | number | undefined
  partitionLeaderEpoch?: number | undefined
  timestamp?: number | undefined
}

/**
 * The COMMIT or ABORT marker the transaction coordinator has the leader append
 * (`MemoryRecords.withEndTransactionMarker`): transactional and control bits set, the
 * producer's id and epoch, sequence -1.
 */
export function buildEndTxnMarkerBatch (options: BuildEndTxnMarkerOptions): Buffer {
  if (options.type !== ControlRecordType.COMMIT && options.type !== ControlRecordType.ABORT) {
    throw new ProtocolEncodeError(`A transaction marker is COMMIT or ABORT, not type ${String(options.type)}`)
  }
  return buildControlBatch({
    type: options.type,
    value: writeEndTxnMarkerValue(options.coordinatorEpoch),
    baseOffset: options.baseOffset,
    partitionLeaderEpoch: options.partitionLeaderEpoch,
    producerId: options.producerId,
    producerEpoch: options.producerEpoch,
    isTransactional: true,
    timestamp: options.timestamp
  })
}

export interface ControlBatch {
  header: RecordBatchHeader
  key: ControlRecordKey
  value: Buffer | null
  /** Set for COMMIT and ABORT. */
  marker?: EndTxnMarkerValue
}

/** Decodes a control batch: exactly one record with a control key. */
export function readControlBatch (buf: Buffer, position = 0, options: DecodeRecordBatchOptions = {}): ControlBatch {
  const batch = decodeRecordBatch(buf, position, options)
  if (!batch.header.isControlBatch) throw new ProtocolDecodeError('Not a control batch', position)
  if (batch.records.length !== 1) throw new ProtocolDecodeError(`A control batch holds one record, not ${batch.records.length}`, position)
  const record = batch.records[0]!
  const key = readControlRecordKey(record.key)
  const result: ControlBatch = { header: batch.header, key, value: record.value }
  if (key.type === ControlRecordType.ABORT || key.type === ControlRecordType.COMMIT) result.marker = readEndTxnMarkerValue(record.value)
  return result
}
