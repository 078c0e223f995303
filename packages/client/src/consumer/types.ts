/** The consumer's public record, batch, offset and listener types. */
import type { RecordHeader } from '@samsa/protocol'

/** A topic-partition. */
export interface TopicPartition {
  topic: string
  partition: number
}

/**
 * A record as the consumer hands it out. `key`, `value` and header values are views into the
 * fetched data (no copy): keep them as long as needed, or copy them to let the response go.
 */
export interface ConsumerRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
  /** Milliseconds since the epoch: the producer's CreateTime, or the broker's LogAppendTime. */
  readonly timestamp: number
  readonly timestampType: 'CreateTime' | 'LogAppendTime'
  readonly key: Buffer | null
  readonly value: Buffer | null
  /** In order; keys may repeat. */
  readonly headers: readonly RecordHeader[]
  /** The leader epoch the record was written in, -1 if unknown. */
  readonly leaderEpoch: number
}

/**
 * The records of one partition from one fetch, in offset order, as {@link Consumer.batches}
 * hands them out (never empty).
 */
export interface ConsumerBatch {
  readonly topic: string
  readonly partition: number
  readonly records: readonly ConsumerRecord[]
  /** The offset after this batch: where the partition continues (past any skipped transaction markers). */
  readonly nextOffset: bigint
  /** The partition's high watermark when it was fetched. */
  readonly highWatermark: bigint
  /** The last stable offset (read_committed reads stop there), -1n if the broker did not say. */
  readonly lastStableOffset: bigint
  readonly logStartOffset: bigint
}

/** An offset to commit for a partition. */
export interface CommitOffset extends TopicPartition {
  /** The next offset to consume: the last processed record's offset + 1. */
  offset: bigint | number
  leaderEpoch?: number
  metadata?: string | null
}

/** A group's committed offset for a partition. */
export interface CommittedOffset extends TopicPartition {
  /** -1n when the group has committed nothing for the partition. */
  offset: bigint
  leaderEpoch: number
  metadata: string | null
}

/**
 * Where {@link Consumer.seek} moves a partition: an offset, the partition's first or last
 * offset ('latest' is the last stable offset under read_committed), or the first record with a
 * timestamp at or after `timestamp` (the end when there is none).
 */
export type SeekTarget = bigint | number | 'earliest' | 'latest' | { timestamp: number }

/**
 * Called around rebalances, always from within the application's read of the consumer (a
 * pending `next()` of an iterator), never concurrently with the processing of a record. A
 * listener may be async: the rebalance waits for it. An error it throws is rethrown by the
 * iterator once the rebalance is complete.
 */
export interface RebalanceListener {
  /** Partitions the consumer now owns (only the new ones in a cooperative rebalance; possibly none). */
  onPartitionsAssigned?: (partitions: TopicPartition[]) => void | Promise<void>
  /**
   * Partitions the consumer gives up in an orderly way; with autoCommit their offsets were
   * committed just before. Commit here yourself otherwise.
   */
  onPartitionsRevoked?: (partitions: TopicPartition[]) => void | Promise<void>
  /**
   * Partitions the consumer lost without a chance to commit (fenced, session expired, poll
   * interval exceeded): another member may own them already. Default: onPartitionsRevoked.
   */
  onPartitionsLost?: (partitions: TopicPartition[]) => void | Promise<void>
}

export interface SubscribeOptions {
  listener?: RebalanceListener
}
