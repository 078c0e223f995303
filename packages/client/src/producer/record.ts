import type { RecordHeaderInput } from '@samsa/protocol'

/** Bytes of a key, value or header value: raw bytes, or text sent as UTF-8. */
export type RecordValue = Uint8Array | string

/** Record headers: a list (repeated keys allowed, order kept) or an object. */
export type ProducerRecordHeaders = readonly RecordHeaderInput[] | Readonly<Record<string, RecordValue | null>>

/** A record to send. */
export interface ProducerRecord {
  topic: string
  /** Null (or absent) for a tombstone. */
  value?: RecordValue | null | undefined
  /** Null (or absent) for no key: such records go to a sticky partition (KIP-480). */
  key?: RecordValue | null | undefined
  headers?: ProducerRecordHeaders | undefined
  /** An explicit partition; otherwise the partitioner picks one. */
  partition?: number | undefined
  /** Milliseconds since the epoch (CreateTime). Default: when the record's batch was opened. */
  timestamp?: number | undefined
}

/** Where a record was written. */
export interface RecordMetadata {
  topic: string
  partition: number
  /** The record's offset, or -1n with acks=0. */
  offset: bigint
  /** The record's CreateTime, or the broker's LogAppendTime if the topic uses it. */
  timestamp: number
}
