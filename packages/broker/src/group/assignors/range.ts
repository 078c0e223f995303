/**
 * The `range` server-side assignor (Kafka's RangeAssignor): for each topic, the members
 * subscribed to it, ordered by member id, each get one contiguous range of partitions; the first
 * `numPartitions % members` get one extra. Members subscribed to topics with the same partition
 * count therefore get the same partition numbers of each (co-partitioning, for joins).
 */
import { type AssignmentSpec, type PartitionAssignor, type TopicPartitionSet, compareStrings } from './assignor.ts'

export class RangeAssignor implements PartitionAssignor {
  readonly name = 'range'

  assign (spec: AssignmentSpec): Map<string, TopicPartitionSet> {
    const result = new Map<string, TopicPartitionSet>(spec.members.map((m) => [m.memberId, new Map()]))
    for (const [topicId, topic] of spec.topics) {
      const subscribers = spec.members.filter((m) => m.subscribedTopicIds.has(topicId)).sort((a, b) => compareStrings(a.memberId, b.memberId))
      const n = subscribers.length
      if (n === 0) continue
      const base = Math.floor(topic.numPartitions / n)
      const extra = topic.numPartitions % n
      let next = 0
      subscribers.forEach((m, i) => {
        const count = base + (i < extra ? 1 : 0)
        if (count === 0) return
        const set = new Set<number>()
        for (let k = 0; k < count; k++) set.add(next++)
        result.get(m.memberId)!.set(topicId, set)
      })
    }
    return result
  }
}
