/**
 * Client-side partition assignors for the classic group protocol. The group leader (a member)
 * runs the assignor the group agreed on over every member's subscription and hands out the
 * result through SyncGroup. These follow Kafka's `RangeAssignor`, `RoundRobinAssignor` and
 * `CooperativeStickyAssignor`:
 *
 * - **range**: per topic, the members subscribed to it (sorted by instance id, then member id)
 *   get contiguous ranges; the first `partitions % members` get one more.
 * - **roundrobin**: every partition of every subscribed topic, sorted, dealt out in turn to the
 *   members subscribed to its topic.
 * - **cooperative-sticky** (KIP-429): keeps each member's owned partitions where it can,
 *   balances the rest (no member ends with two more than another that could take one), and
 *   leaves out of this round any partition that moves from one member to another: its owner
 *   revokes it, rejoins, and it is assigned in the follow-up rebalance, so no partition is
 *   ever owned by two members at once.
 */

/** A topic-partition. */
export interface AssignorTopicPartition {
  topic: string
  partition: number
}

/** One member as the leader sees it in JoinGroup (its decoded subscription). */
export interface AssignorMember {
  memberId: string
  groupInstanceId: string | null
  /** Subscribed topics. */
  topics: readonly string[]
  /** Partitions the member owns now (subscription v1+), for sticky and cooperative assignors. */
  ownedPartitions: readonly AssignorTopicPartition[]
  /** The generation its owned partitions come from (subscription v2+), -1 if unknown. */
  generationId: number
  rackId: string | null
  userData: Buffer | null
}

/**
 * A client-side assignor. `assign` gets every member and the partition count of each topic any
 * member subscribes to (topics unknown to the cluster are absent), and returns each member's
 * partitions by member id; members left out get nothing.
 */
export interface PartitionAssignor {
  /** The protocol name members agree on in JoinGroup, e.g. 'range'. */
  readonly name: string
  /**
   * 'cooperative' assignors never give a partition to a new owner in the same rebalance that
   * takes it from its old owner (KIP-429); 'eager' ones may, so members revoke everything first.
   */
  readonly rebalanceProtocol: 'eager' | 'cooperative'
  assign (members: readonly AssignorMember[], partitionCounts: ReadonlyMap<string, number>): Map<string, AssignorTopicPartition[]>
  /** Bytes sent with this member's subscription (optional). */
  userData?: () => Buffer | null
}

/** Kafka's member order: members with an instance id first, by it, then by member id. */
function compareMembers (a: AssignorMember, b: AssignorMember): number {
  if (a.groupInstanceId !== null && b.groupInstanceId !== null) return a.groupInstanceId < b.groupInstanceId ? -1 : a.groupInstanceId > b.groupInstanceId ? 1 : 0
  if (a.groupInstanceId !== null) return -1
  if (b.groupInstanceId !== null) return 1
  return a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0
}

function compareTopicPartitions (a: AssignorTopicPartition, b: AssignorTopicPartition): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition
}

function emptyAssignment (members: readonly AssignorMember[]): Map<string, AssignorTopicPartition[]> {
  return new Map(members.map((m) => [m.memberId, []]))
}

function sortedTopics (partitionCounts: ReadonlyMap<string, number>): string[] {
  return [...partitionCounts.keys()].sort()
}

/** Kafka's RangeAssignor. */
export class RangeAssignor implements PartitionAssignor {
  readonly name = 'range'
  readonly rebalanceProtocol = 'eager'

  assign (members: readonly AssignorMember[], partitionCounts: ReadonlyMap<string, number>): Map<string, AssignorTopicPartition[]> {
    const result = emptyAssignment(members)
    for (const topic of sortedTopics(partitionCounts)) {
      const count = partitionCounts.get(topic)!
      const consumers = members.filter((m) => m.topics.includes(topic)).sort(compareMembers)
      if (consumers.length === 0) continue
      const per = Math.floor(count / consumers.length)
      const extra = count % consumers.length
      consumers.forEach((m, i) => {
        const start = per * i + Math.min(i, extra)
        const length = per + (i < extra ? 1 : 0)
        const list = result.get(m.memberId)!
        for (let p = start; p < start + length; p++) list.push({ topic, partition: p })
      })
    }
    return result
  }
}

/** Kafka's RoundRobinAssignor. */
export class RoundRobinAssignor implements PartitionAssignor {
  readonly name = 'roundrobin'
  readonly rebalanceProtocol = 'eager'

  assign (members: readonly AssignorMember[], partitionCounts: ReadonlyMap<string, number>): Map<string, AssignorTopicPartition[]> {
    const result = emptyAssignment(members)
    const sorted = [...members].sort(compareMembers)
    if (sorted.length === 0) return result
    let next = 0
    for (const topic of sortedTopics(partitionCounts)) {
      if (!sorted.some((m) => m.topics.includes(topic))) continue
      const count = partitionCounts.get(topic)!
      for (let p = 0; p < count; p++) {
        while (!sorted[next % sorted.length]!.topics.includes(topic)) next++
        result.get(sorted[next % sorted.length]!.memberId)!.push({ topic, partition: p })
        next++
      }
    }
    return result
  }
}

/** Kafka's CooperativeStickyAssignor (see the module comment). */
export class CooperativeStickyAssignor implements PartitionAssignor {
  readonly name = 'cooperative-sticky'
  readonly rebalanceProtocol = 'cooperative'

  assign (members: readonly AssignorMember[], partitionCounts: ReadonlyMap<string, number>): Map<string, AssignorTopicPartition[]> {
    const sorted = [...members].sort(compareMembers)
    const subscribed = new Map(sorted.map((m) => [m.memberId, new Set(m.topics)]))
    const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`
    const exists = (tp: AssignorTopicPartition): boolean => {
      const count = partitionCounts.get(tp.topic)
      return count !== undefined && tp.partition >= 0 && tp.partition < count
    }

    // 1. Claims: each partition stays with the member that owns it; of two members claiming one,
    //    the later generation wins, and a tie leaves it to neither (Kafka drops both claims).
    const claims = new Map<string, { memberId: string, generationId: number, tied: boolean }>()
    for (const m of sorted) {
      for (const tp of m.ownedPartitions) {
        if (!exists(tp) || !subscribed.get(m.memberId)!.has(tp.topic)) continue
        const k = key(tp.topic, tp.partition)
        const claim = claims.get(k)
        if (claim === undefined || m.generationId > claim.generationId) claims.set(k, { memberId: m.memberId, generationId: m.generationId, tied: false })
        else if (m.generationId === claim.generationId) claim.tied = true
      }
    }
    const owner = new Map<string, string>()
    for (const [k, c] of claims) if (!c.tied) owner.set(k, c.memberId)

    const assigned = new Map<string, AssignorTopicPartition[]>(sorted.map((m) => [m.memberId, []]))
    const unassigned: AssignorTopicPartition[] = []
    for (const topic of sortedTopics(partitionCounts)) {
      const count = partitionCounts.get(topic)!
      if (!sorted.some((m) => subscribed.get(m.memberId)!.has(topic))) continue
      for (let p = 0; p < count; p++) {
        const o = owner.get(key(topic, p))
        if (o === undefined) unassigned.push({ topic, partition: p })
        else assigned.get(o)!.push({ topic, partition: p })
      }
    }

    // 2. Unowned partitions go to the least loaded member subscribed to their topic.
    for (const tp of unassigned) {
      let best: string | null = null
      for (const m of sorted) {
        if (!subscribed.get(m.memberId)!.has(tp.topic)) continue
        if (best === null || assigned.get(m.memberId)!.length < assigned.get(best)!.length) best = m.memberId
      }
      if (best !== null) assigned.get(best)!.push(tp)
    }

    // 3. Balance: move one partition at a time from the most loaded member to a member with at
    //    least two fewer that can take it, newly assigned partitions before owned ones.
    for (let guard = 0; guard < 100_000; guard++) {
      let move: { from: string, to: string, index: number } | null = null
      const byLoad = [...sorted].sort((a, b) => assigned.get(b.memberId)!.length - assigned.get(a.memberId)!.length)
      outer: for (const heavy of byLoad) {
        const from = assigned.get(heavy.memberId)!
        const light = [...sorted].sort((a, b) => assigned.get(a.memberId)!.length - assigned.get(b.memberId)!.length)
        for (const l of light) {
          if (assigned.get(l.memberId)!.length + 2 > from.length) break
          const topics = subscribed.get(l.memberId)!
          let index = -1
          for (let i = from.length - 1; i >= 0; i--) {
            const tp = from[i]!
            if (!topics.has(tp.topic)) continue
            if (index === -1 || owner.get(key(tp.topic, tp.partition)) !== heavy.memberId) index = i
            if (owner.get(key(tp.topic, tp.partition)) !== heavy.memberId) break
          }
          if (index >= 0) {
            move = { from: heavy.memberId, to: l.memberId, index }
            break outer
          }
        }
      }
      if (move === null) break
      const [tp] = assigned.get(move.from)!.splice(move.index, 1)
      assigned.get(move.to)!.push(tp!)
    }

    // 4. Cooperative: a partition moving away from its owner is not handed out this round.
    const result = new Map<string, AssignorTopicPartition[]>()
    for (const [memberId, list] of assigned) {
      result.set(memberId, list.filter((tp) => {
        const o = owner.get(key(tp.topic, tp.partition))
        return o === undefined || o === memberId
      }).sort(compareTopicPartitions))
    }
    return result
  }
}

const BUILT_IN: Record<string, () => PartitionAssignor> = {
  range: () => new RangeAssignor(),
  roundrobin: () => new RoundRobinAssignor(),
  'cooperative-sticky': () => new CooperativeStickyAssignor()
}

/** A built-in assignor by name, or undefined. */
export function builtInAssignor (name: string): PartitionAssignor | undefined {
  return Object.hasOwn(BUILT_IN, name) ? BUILT_IN[name]!() : undefined
}
