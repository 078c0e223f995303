/**
 * Partition choice. Keyed records go where Kafka's default partitioner puts them:
 * `toPositive(murmur2(keyBytes)) % numPartitions` over all partitions, available or not
 * (BuiltInPartitioner.partitionForKey). Records without a key stick to one partition until a
 * new batch has to be started for it, then move to another partition that has a leader
 * (KIP-480's sticky partitioner, `StickyPartitionCache`): batches fill up instead of many small
 * ones going out.
 */
import { partitionForKey, toPositive } from './murmur2.ts'
import type { ProducerRecord } from './record.ts'

/** What a partitioner knows about the topic. */
export interface PartitionerTopic {
  readonly topic: string
  readonly partitionCount: number
  /** Partitions that have a leader now. */
  readonly availablePartitions: readonly number[]
}

/** A custom partitioner: returns a partition in [0, partitionCount). */
export type Partitioner = (record: ProducerRecord, topic: PartitionerTopic) => number

/** The default choice for a record with a key (Java-compatible murmur2). */
export function defaultPartitionForKey (key: Uint8Array | string, partitionCount: number): number {
  return partitionForKey(key, partitionCount)
}

function randomInt (): number {
  return toPositive((Math.random() * 0x100000000) | 0)
}

/** The sticky partition of each topic, for records without a key. */
export class StickyPartitionCache {
  #partitions = new Map<string, number>()

  /** The topic's current sticky partition, choosing one if there is none. */
  partition (topic: PartitionerTopic): number {
    const current = this.#partitions.get(topic.topic)
    if (current !== undefined && current < topic.partitionCount) return current
    return this.next(topic, -1)
  }

  /**
   * Moves away from `previous` (the partition that needs a new batch), unless the sticky
   * partition already changed. Prefers partitions with a leader and never picks `previous`
   * again when another is available.
   */
  next (topic: PartitionerTopic, previous: number): number {
    const old = this.#partitions.get(topic.topic)
    if (old !== undefined && old !== previous && old < topic.partitionCount) return old
    const available = topic.availablePartitions
    let chosen: number
    if (available.length === 0) {
      chosen = randomInt() % topic.partitionCount
    } else if (available.length === 1) {
      chosen = available[0]!
    } else {
      do {
        chosen = available[randomInt() % available.length]!
      } while (chosen === old)
    }
    this.#partitions.set(topic.topic, chosen)
    return chosen
  }
}
