/**
 * Committed offsets of one group, by topic and partition, as the coordinator holds them in
 * memory (the durable copy is the OffsetCommit records in `__consumer_offsets`).
 */

export interface OffsetAndMetadata {
  committedOffset: number
  /** -1 when the client did not send one. */
  leaderEpoch: number
  /** Never null: Kafka stores a missing metadata string as "". */
  metadata: string
  commitTimestamp: number
  /** -1 unless the commit set a retention time (OffsetCommit v2-4). */
  expireTimestamp: number
}

export class GroupOffsets {
  readonly #byTopic = new Map<string, Map<number, OffsetAndMetadata>>()
  #size = 0

  get size (): number {
    return this.#size
  }

  get (topic: string, partition: number): OffsetAndMetadata | undefined {
    return this.#byTopic.get(topic)?.get(partition)
  }

  set (topic: string, partition: number, offset: OffsetAndMetadata): void {
    let partitions = this.#byTopic.get(topic)
    if (partitions === undefined) this.#byTopic.set(topic, partitions = new Map<number, OffsetAndMetadata>())
    if (!partitions.has(partition)) this.#size++
    partitions.set(partition, offset)
  }

  delete (topic: string, partition: number): boolean {
    const partitions = this.#byTopic.get(topic)
    if (partitions === undefined || !partitions.delete(partition)) return false
    this.#size--
    if (partitions.size === 0) this.#byTopic.delete(topic)
    return true
  }

  topics (): IterableIterator<string> {
    return this.#byTopic.keys()
  }

  partitions (topic: string): ReadonlyMap<number, OffsetAndMetadata> | undefined {
    return this.#byTopic.get(topic)
  }

  * entries (): Generator<{ topic: string, partition: number, offset: OffsetAndMetadata }> {
    for (const [topic, partitions] of this.#byTopic) {
      for (const [partition, offset] of partitions) yield { topic, partition, offset }
    }
  }
}
