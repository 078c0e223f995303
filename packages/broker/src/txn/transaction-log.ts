/**
 * The records of the `__transaction_state` topic, in Kafka's format (apache/kafka
 * transaction-coordinator/src/main/resources/common/message/TransactionLogKey.json and
 * TransactionLogValue.json), so Kafka's tools can read what Samsa writes and the other way round.
 *
 * Key (TransactionLogKey, version 0, non-flexible):
 *
 *     int16   version (0)
 *     string  transactionalId               int16 length + UTF-8
 *
 * Value (TransactionLogValue), a version prefix then the fields; null (a tombstone) when the
 * transactional id expired. Version 0 is written (as Kafka 3.x does); versions 0 and 1 are read.
 *
 *     int16   version
 *     int64   producerId
 *     int16   producerEpoch
 *     int32   transactionTimeoutMs
 *     int8    transactionStatus              TRANSACTION_STATUS below
 *     array   transactionPartitions          nullable (null in Empty): [ string topic, [int32] partitionIds ]
 *     int64   transactionLastUpdateTimestampMs
 *     int64   transactionStartTimestampMs    -1 when no transaction is running
 *   v1 is flexible (compact strings and arrays, tagged fields) and adds the tagged fields
 *   PreviousProducerId (tag 0, int64), NextProducerId (tag 1, int64), ClientTransactionVersion
 *   (tag 2, int16).
 *
 * Records go into ordinary v2 batches (CreateTime, no compression, no producer id), one record
 * per batch, appended before the client is answered. The topic is compacted: the latest record
 * of each transactional id is its state.
 */
import { ProtocolDecodeError, Reader } from '@samsa/protocol'

export const TransactionState = {
  Empty: 'Empty',
  Ongoing: 'Ongoing',
  PrepareCommit: 'PrepareCommit',
  PrepareAbort: 'PrepareAbort',
  CompleteCommit: 'CompleteCommit',
  CompleteAbort: 'CompleteAbort',
  Dead: 'Dead',
  PrepareEpochFence: 'PrepareEpochFence'
} as const
export type TransactionState = typeof TransactionState[keyof typeof TransactionState]

/** The int8 each state is stored as (Kafka's TransactionState ids). */
export const TRANSACTION_STATUS: Readonly<Record<TransactionState, number>> = {
  Empty: 0,
  Ongoing: 1,
  PrepareCommit: 2,
  PrepareAbort: 3,
  CompleteCommit: 4,
  CompleteAbort: 5,
  Dead: 6,
  PrepareEpochFence: 7
}

const STATE_BY_STATUS = new Map(Object.entries(TRANSACTION_STATUS).map(([name, id]) => [id, name as TransactionState]))

export function isTransactionState (name: string): name is TransactionState {
  return Object.hasOwn(TRANSACTION_STATUS, name)
}

export interface TransactionLogValue {
  producerId: bigint
  producerEpoch: number
  transactionTimeoutMs: number
  state: TransactionState
  /** Partitions by topic; empty in Empty. */
  partitions: Map<string, number[]>
  lastUpdateTimestampMs: number
  startTimestampMs: number
  /** v1 tagged field; -1 when not known. */
  previousProducerId: bigint
}

export const TRANSACTION_LOG_KEY_VERSION = 0
export const TRANSACTION_LOG_VALUE_VERSION = 0

export function encodeTransactionLogKey (transactionalId: string): Buffer {
  const id = Buffer.from(transactionalId, 'utf8')
  const buf = Buffer.allocUnsafe(4 + id.length)
  buf.writeInt16BE(TRANSACTION_LOG_KEY_VERSION, 0)
  buf.writeInt16BE(id.length, 2)
  id.copy(buf, 4)
  return buf
}

export function decodeTransactionLogKey (key: Buffer): string {
  const r = new Reader(key)
  const version = r.readInt16()
  if (version !== TRANSACTION_LOG_KEY_VERSION) throw new ProtocolDecodeError(`Unknown TransactionLogKey version ${version}`, 0)
  return r.readString()
}

export function encodeTransactionLogValue (v: TransactionLogValue): Buffer {
  const topics = v.state === TransactionState.Empty ? null : [...v.partitions].map(([topic, ids]) => ({ topic: Buffer.from(topic, 'utf8'), ids }))
  let size = 2 + 8 + 2 + 4 + 1 + 4 + 8 + 8
  for (const t of topics ?? []) size += 2 + t.topic.length + 4 + 4 * t.ids.length
  const buf = Buffer.allocUnsafe(size)
  let at = buf.writeInt16BE(TRANSACTION_LOG_VALUE_VERSION, 0)
  at = buf.writeBigInt64BE(v.producerId, at)
  at = buf.writeInt16BE(v.producerEpoch, at)
  at = buf.writeInt32BE(v.transactionTimeoutMs, at)
  at = buf.writeInt8(TRANSACTION_STATUS[v.state], at)
  at = buf.writeInt32BE(topics === null ? -1 : topics.length, at)
  for (const t of topics ?? []) {
    at = buf.writeInt16BE(t.topic.length, at)
    at += t.topic.copy(buf, at)
    at = buf.writeInt32BE(t.ids.length, at)
    for (const id of t.ids) at = buf.writeInt32BE(id, at)
  }
  at = buf.writeBigInt64BE(BigInt(v.lastUpdateTimestampMs), at)
  buf.writeBigInt64BE(BigInt(v.startTimestampMs), at)
  return buf
}

export function decodeTransactionLogValue (value: Buffer): TransactionLogValue {
  const r = new Reader(value)
  const version = r.readInt16()
  if (version < 0 || version > 1) throw new ProtocolDecodeError(`Unknown TransactionLogValue version ${version}`, 0)
  const flexible = version >= 1
  const producerId = r.readInt64()
  const producerEpoch = r.readInt16()
  const transactionTimeoutMs = r.readInt32()
  const status = r.readInt8()
  const state = STATE_BY_STATUS.get(status)
  if (state === undefined) throw new ProtocolDecodeError(`Unknown transaction status ${status}`, 0)
  const partitions = new Map<string, number[]>()
  const count = flexible ? r.readCompactArrayLength(3) : r.readArrayLength(6)
  for (let i = 0; i < count; i++) {
    const topic = flexible ? r.readCompactString() : r.readString()
    const n = flexible ? r.readCompactArrayLength(4) : r.readArrayLength(4)
    const ids: number[] = []
    for (let j = 0; j < n; j++) ids.push(r.readInt32())
    if (flexible) skipTaggedFields(r)
    partitions.set(topic, ids)
  }
  const lastUpdateTimestampMs = Number(r.readInt64())
  const startTimestampMs = Number(r.readInt64())
  let previousProducerId = -1n
  if (flexible) {
    const tags = r.readUnsignedVarInt()
    for (let i = 0; i < tags; i++) {
      const tag = r.readUnsignedVarInt()
      const size = r.readUnsignedVarInt()
      const field = r.sub(size)
      if (tag === 0) previousProducerId = field.readInt64()
    }
  }
  return { producerId, producerEpoch, transactionTimeoutMs, state, partitions, lastUpdateTimestampMs, startTimestampMs, previousProducerId }
}

function skipTaggedFields (r: Reader): void {
  const tags = r.readUnsignedVarInt()
  for (let i = 0; i < tags; i++) {
    r.readUnsignedVarInt()
    r.skip(r.readUnsignedVarInt())
  }
}
