/**
 * The consumer's state for one assigned partition. Offsets are JavaScript numbers inside the
 * consumer (exact below 2^53, which every real offset is) and bigints at the public API.
 *
 * Two positions move independently: `fetchPosition`, where the next Fetch reads (it runs ahead
 * of the application by what is buffered), and `consumed`, the offset after the last record
 * handed to the application (what a commit stores). Every change that makes buffered data
 * wrong (seek, pause, reset, revocation) bumps `epoch`; data fetched under an older epoch is
 * dropped wherever it is (in flight, buffered, or being handed out).
 */
import type { KafkaClientError } from '../errors.ts'

/** How a partition's fetch position is to be found. */
export type PositionLookup = 'committed' | 'policy' | 'earliest' | 'latest' | { timestamp: number }

export class PartitionState {
  readonly topic: string
  readonly partition: number
  readonly key: string
  epoch = 0
  /** False once revoked or unassigned: everything about it is stale. */
  assigned = true
  paused = false
  /** The next offset to fetch, -1 while unknown (see `lookup`). */
  fetchPosition = -1
  /** The offset after the last record handed out, -1 while unknown. */
  consumed = -1
  /** The leader epoch of the last record handed out, -1 if unknown. */
  consumedLeaderEpoch = -1
  /** The last offset committed by this consumer, -1 if none. */
  committed = -1
  /** Set while the position is unknown: how to find it. */
  lookup: PositionLookup | null
  /** An error that stops the partition until it is seeked (OFFSET_OUT_OF_RANGE with autoOffsetReset 'none'...). */
  error: KafkaClientError | null = null
  /** No fetch before this time (Date.now()), after a retriable partition error. */
  backoffUntil = 0
  highWatermark = -1
  lastStableOffset = -1
  logStartOffset = -1

  constructor (topic: string, partition: number, lookup: PositionLookup) {
    this.topic = topic
    this.partition = partition
    this.key = partitionKey(topic, partition)
    this.lookup = lookup
  }

  /** Sets both positions (seek, or a position found by lookup); buffered data becomes stale. */
  moveTo (offset: number, leaderEpoch = -1): void {
    this.epoch++
    this.fetchPosition = offset
    this.consumed = offset
    this.consumedLeaderEpoch = leaderEpoch
    this.lookup = null
    this.error = null
    this.backoffUntil = 0
  }

  /** Forgets the position until `lookup` finds it again. */
  reset (lookup: PositionLookup): void {
    this.epoch++
    this.fetchPosition = -1
    this.lookup = lookup
    this.error = null
    this.backoffUntil = 0
  }

  /** Drops what was fetched ahead and fetches again from the consumed position. */
  rewind (): void {
    this.epoch++
    if (this.consumed >= 0 && this.lookup === null) this.fetchPosition = this.consumed
  }

  /** Fetchable now: assigned, not paused, position known, no error, not backing off. */
  fetchable (now: number): boolean {
    return this.assigned && !this.paused && this.fetchPosition >= 0 && this.error === null && this.backoffUntil <= now
  }
}

export function partitionKey (topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}

/** Sorts topic-partitions by topic, then partition. */
export function sortTopicPartitions<T extends { topic: string, partition: number }> (list: T[]): T[] {
  return list.sort((a, b) => a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition)
}
