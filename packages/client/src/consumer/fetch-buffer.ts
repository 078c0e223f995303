/**
 * The bounded prefetch buffer and the record decoding path.
 *
 * A Fetch response's records for one partition become one {@link CompletedFetch}: a view of the
 * raw record set (nothing is decoded yet), its byte size, and the record count read from the
 * batch headers. The buffer counts the bytes and records it holds, plus the bytes reserved by
 * Fetch requests in flight, so the fetcher can keep the total under `maxPrefetchBytes` and
 * `maxPrefetchRecords`. A completed fetch is decoded ({@link decodeCompletedFetch}) only when
 * the application reaches it, and its bytes are released when the application has moved past
 * all of its records.
 *
 * read_committed (Kafka's `CompletedFetch.nextFetchedRecord`): the broker lists the aborted
 * transactions overlapping the returned range (producer id, first offset). Walking the batches
 * in order, a producer becomes "aborted" once the walk reaches its transaction's first offset,
 * its transactional batches are dropped until its ABORT marker, and control batches (COMMIT and
 * ABORT markers) are never returned.
 */
import {
  CONTROL_FLAG_MASK, ControlRecordType, ProtocolDecodeError, TIMESTAMP_TYPE_MASK, TRANSACTIONAL_FLAG_MASK,
  batchSizeAt, decodeRecordBatch, readControlRecordKey, readLegacyEntry
} from '@samsa/protocol'
import type { AbortedTransaction } from '@samsa/protocol/messages/fetch'
import type { PartitionState } from './partition-state.ts'
import type { ConsumerRecord } from './types.ts'

/** One partition's records from one Fetch response, not decoded yet. */
export interface CompletedFetch {
  readonly state: PartitionState
  /** The partition's epoch when the data was fetched; stale once it differs. */
  readonly epoch: number
  /** The records field (complete entries only). */
  readonly records: Buffer
  /** The fetch offset: records below it (inside a compressed batch that starts earlier) are skipped. */
  readonly fetchOffset: number
  /** The offset after the last entry. */
  readonly nextOffset: number
  /** Data records, from the batch headers. */
  readonly count: number
  readonly bytes: number
  /** Sorted by first offset; null for read_uncommitted or none. */
  readonly abortedTransactions: readonly AbortedTransaction[] | null
  readonly highWatermark: number
  readonly lastStableOffset: number
  readonly logStartOffset: number
}

/** What the scan of a record set found. */
export interface RecordSetScan {
  /** Bytes of complete entries. */
  end: number
  /** The offset after the last complete entry, -1 if there is none. */
  nextOffset: number
  /** Records in complete data batches (control batches excluded). */
  count: number
}

/**
 * Walks the entries of a record set by their headers only (no CRC, no decompression): where
 * the complete entries end, the next offset and the number of records. Throws
 * ProtocolDecodeError for an entry with an impossible length or magic.
 */
export function scanRecordSet (buf: Buffer): RecordSetScan {
  let position = 0
  let nextOffset = -1
  let count = 0
  for (;;) {
    const size = batchSizeAt(buf, position)
    if (size === 0) break
    const base = buf.readInt32BE(position) * 4294967296 + buf.readUInt32BE(position + 4)
    if (buf[position + 16] === 2) {
      nextOffset = base + buf.readInt32BE(position + 23) + 1
      if ((buf.readInt16BE(position + 21) & CONTROL_FLAG_MASK) === 0) count += buf.readInt32BE(position + 57)
    } else {
      // A legacy entry's offset is its last (inner) message's.
      nextOffset = base + 1
      count++
    }
    position += size
  }
  return { end: position, nextOffset, count }
}

/** The prefetch buffer: completed fetches in arrival order, with byte and record counts. */
export class FetchBuffer {
  #queue: CompletedFetch[] = []
  #head = 0
  /** Bytes of the completed fetches held, including the one being handed out. */
  bytes = 0
  /** Records of the completed fetches held. */
  records = 0
  /** Bytes Fetch requests in flight may still add (their maxBytes). */
  reserved = 0

  get size (): number {
    return this.#queue.length - this.#head
  }

  add (fetch: CompletedFetch): void {
    this.#queue.push(fetch)
    this.bytes += fetch.bytes
    this.records += fetch.count
  }

  /** The next completed fetch that is still current; stale ones are dropped (and released). */
  next (): CompletedFetch | undefined {
    while (this.#head < this.#queue.length) {
      const fetch = this.#queue[this.#head]!
      this.#queue[this.#head++] = undefined as unknown as CompletedFetch
      if (this.#head >= 256 && this.#head * 2 >= this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head)
        this.#head = 0
      }
      if (fetch.epoch === fetch.state.epoch && fetch.state.assigned) return fetch
      this.release(fetch)
    }
    return undefined
  }

  /** Returns a completed fetch's bytes and records to the budget. */
  release (fetch: CompletedFetch): void {
    this.bytes -= fetch.bytes
    this.records -= fetch.count
  }

  /** Drops buffered data of partitions that went stale (after seek, pause or revocation). */
  purge (): void {
    const kept: CompletedFetch[] = []
    for (let i = this.#head; i < this.#queue.length; i++) {
      const fetch = this.#queue[i]!
      if (fetch.epoch === fetch.state.epoch && fetch.state.assigned) kept.push(fetch)
      else this.release(fetch)
    }
    this.#queue = kept
    this.#head = 0
  }

  /** Empties the buffer. */
  clear (): void {
    for (let i = this.#head; i < this.#queue.length; i++) this.release(this.#queue[i]!)
    this.#queue = []
    this.#head = 0
  }
}

export interface DecodeOptions {
  readCommitted: boolean
  verifyCrc: boolean
  maxDecompressedBytes: number
}

/** A completed fetch decoded into records, with what the consumer needs to track its position. */
export interface DecodedFetch {
  readonly fetch: CompletedFetch
  readonly records: ConsumerRecord[]
}

const NO_HEADERS: readonly never[] = Object.freeze([])

/**
 * Decodes every entry of a completed fetch into records: data batches with
 * `decodeRecordBatch` (CRC, any codec, bounded decompression), legacy entries with
 * `readLegacyEntry`; control batches and, under read_committed, aborted transactions dropped.
 * Throws ProtocolDecodeError on corrupt data.
 */
export function decodeCompletedFetch (fetch: CompletedFetch, options: DecodeOptions): DecodedFetch {
  const buf = fetch.records
  const topic = fetch.state.topic
  const partition = fetch.state.partition
  const start = fetch.fetchOffset
  const out: ConsumerRecord[] = []
  const aborted = options.readCommitted ? fetch.abortedTransactions : null
  let nextAborted = 0
  let abortedProducers: Set<bigint> | null = null
  const decodeOptions = { verifyCrc: options.verifyCrc, maxDecompressedBytes: options.maxDecompressedBytes }
  let position = 0
  while (position < buf.length) {
    const size = batchSizeAt(buf, position)
    if (size === 0) break
    if (buf[position + 16] !== 2) {
      for (const m of readLegacyEntry(buf, position, decodeOptions)) {
        const offset = Number(m.offset)
        if (offset < start) continue
        out.push({
          topic,
          partition,
          offset: m.offset,
          timestamp: m.timestamp,
          timestampType: m.timestampType === 1 ? 'LogAppendTime' : 'CreateTime',
          key: m.key,
          value: m.value,
          headers: NO_HEADERS,
          leaderEpoch: -1
        })
      }
      position += size
      continue
    }
    const attributes = buf.readInt16BE(position + 21)
    const isControl = (attributes & CONTROL_FLAG_MASK) !== 0
    if (aborted !== null && aborted.length > 0) {
      const producerId = buf.readBigInt64BE(position + 43)
      if (producerId >= 0n) {
        const lastOffset = buf.readInt32BE(position) * 4294967296 + buf.readUInt32BE(position + 4) + buf.readInt32BE(position + 23)
        while (nextAborted < aborted.length && Number(aborted[nextAborted]!.firstOffset) <= lastOffset) {
          (abortedProducers ??= new Set()).add(aborted[nextAborted]!.producerId)
          nextAborted++
        }
        if (isControl) {
          if (abortedProducers !== null && isAbortMarker(buf, position, decodeOptions)) abortedProducers.delete(producerId)
          position += size
          continue
        }
        if ((attributes & TRANSACTIONAL_FLAG_MASK) !== 0 && abortedProducers?.has(producerId) === true) {
          position += size
          continue
        }
      }
    }
    if (isControl) {
      position += size
      continue
    }
    const batch = decodeRecordBatch(buf, position, decodeOptions)
    const header = batch.header
    const base = buf.readInt32BE(position) * 4294967296 + buf.readUInt32BE(position + 4)
    const logAppendTime = (attributes & TIMESTAMP_TYPE_MASK) !== 0
    const timestampType = logAppendTime ? 'LogAppendTime' : 'CreateTime'
    const baseTimestamp = header.baseTimestamp
    const maxTimestamp = header.maxTimestamp
    const leaderEpoch = header.partitionLeaderEpoch
    const records = batch.records
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!
      const offset = base + r.offsetDelta
      if (offset < start) continue
      out.push({
        topic,
        partition,
        offset: BigInt(offset),
        timestamp: logAppendTime ? maxTimestamp : baseTimestamp + r.timestampDelta,
        timestampType,
        key: r.key,
        value: r.value,
        headers: r.headers,
        leaderEpoch
      })
    }
    position += size
  }
  return { fetch, records: out }
}

function isAbortMarker (buf: Buffer, position: number, options: { verifyCrc: boolean, maxDecompressedBytes: number }): boolean {
  const batch = decodeRecordBatch(buf, position, options)
  const first = batch.records[0]
  if (first === undefined) return false
  try {
    return readControlRecordKey(first.key).type === ControlRecordType.ABORT
  } catch (error) {
    if (error instanceof ProtocolDecodeError) return false
    throw error
  }
}
