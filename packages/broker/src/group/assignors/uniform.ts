/**
 * The `uniform` server-side assignor (Kafka's default, UniformAssignor): spreads all subscribed
 * partitions so that members with the same subscriptions own counts that differ by at most one,
 * while moving as few partitions as possible from their current owners.
 *
 * 1. Every member keeps the partitions of its current target that it still subscribes to and
 *    that still exist (first claim wins).
 * 2. Unowned partitions go, hardest-to-place first (fewest eligible members), to the eligible
 *    member owning the fewest.
 * 3. While some member owns at least two more partitions than another member that could take
 *    one of them, one such partition moves. This reaches the balanced state for homogeneous
 *    subscriptions and a good one for mixed subscriptions.
 */
import {
  type AssignmentMember, type AssignmentSpec, type PartitionAssignor, type TopicPartitionSet, compareStrings
} from './assignor.ts'

export class UniformAssignor implements PartitionAssignor {
  readonly name = 'uniform'

  assign (spec: AssignmentSpec): Map<string, TopicPartitionSet> {
    const members = [...spec.members].sort((a, b) => compareStrings(a.memberId, b.memberId))
    const result = new Map<string, TopicPartitionSet>()
    const counts = new Map<string, number>()
    const owner = new Map<string, string>()
    for (const m of members) {
      result.set(m.memberId, new Map())
      counts.set(m.memberId, 0)
    }
    const give = (m: string, topicId: string, p: number): void => {
      const target = result.get(m)!
      let set = target.get(topicId)
      if (set === undefined) target.set(topicId, set = new Set())
      set.add(p)
      counts.set(m, counts.get(m)! + 1)
      owner.set(`${topicId}:${p}`, m)
    }
    const take = (m: string, topicId: string, p: number): void => {
      const set = result.get(m)!.get(topicId)!
      set.delete(p)
      if (set.size === 0) result.get(m)!.delete(topicId)
      counts.set(m, counts.get(m)! - 1)
      owner.delete(`${topicId}:${p}`)
    }

    // 1. Stickiness.
    for (const m of members) {
      for (const [topicId, partitions] of m.assignment) {
        const topic = spec.topics.get(topicId)
        if (topic === undefined || !m.subscribedTopicIds.has(topicId)) continue
        for (const p of [...partitions].sort((a, b) => a - b)) {
          if (p < topic.numPartitions && !owner.has(`${topicId}:${p}`)) give(m.memberId, topicId, p)
        }
      }
    }

    // 2. Unowned partitions, hardest to place first.
    const eligible = new Map<string, AssignmentMember[]>()
    for (const topicId of spec.topics.keys()) eligible.set(topicId, members.filter((m) => m.subscribedTopicIds.has(topicId)))
    const unowned: Array<{ topicId: string, p: number, candidates: AssignmentMember[] }> = []
    for (const [topicId, topic] of spec.topics) {
      const candidates = eligible.get(topicId)!
      if (candidates.length === 0) continue
      for (let p = 0; p < topic.numPartitions; p++) {
        if (!owner.has(`${topicId}:${p}`)) unowned.push({ topicId, p, candidates })
      }
    }
    unowned.sort((a, b) => a.candidates.length - b.candidates.length ||
      compareStrings(spec.topics.get(a.topicId)!.name, spec.topics.get(b.topicId)!.name) || a.p - b.p)
    for (const u of unowned) {
      let best = u.candidates[0]!
      for (const c of u.candidates) if (counts.get(c.memberId)! < counts.get(best.memberId)!) best = c
      give(best.memberId, u.topicId, u.p)
    }

    // 3. Balance.
    const byId = new Map(members.map((m) => [m.memberId, m]))
    for (let guard = 0; guard < 1_000_000; guard++) {
      const order = [...members].sort((a, b) => counts.get(b.memberId)! - counts.get(a.memberId)! || compareStrings(a.memberId, b.memberId))
      let moved = false
      outer:
      for (const from of order) {
        for (let i = order.length - 1; i >= 0; i--) {
          const to = order[i]!
          if (counts.get(from.memberId)! - counts.get(to.memberId)! <= 1) break
          const candidate = movable(result.get(from.memberId)!, byId.get(to.memberId)!)
          if (candidate !== undefined) {
            take(from.memberId, candidate.topicId, candidate.p)
            give(to.memberId, candidate.topicId, candidate.p)
            moved = true
            break outer
          }
        }
      }
      if (!moved) break
    }
    return result
  }
}

/** A partition of `owned` that `to` subscribes to: the highest one of the largest such topic. */
function movable (owned: TopicPartitionSet, to: AssignmentMember): { topicId: string, p: number } | undefined {
  let bestTopic: string | undefined
  let bestSize = 0
  for (const [topicId, set] of owned) {
    if (to.subscribedTopicIds.has(topicId) && set.size > bestSize) {
      bestTopic = topicId
      bestSize = set.size
    }
  }
  if (bestTopic === undefined) return undefined
  let p = -1
  for (const x of owned.get(bestTopic)!) if (x > p) p = x
  return { topicId: bestTopic, p }
}
