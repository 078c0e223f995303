// Server-side assignors (uniform, range) and the KIP-848 reconciliation step.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { AssignmentMember, AssignmentTopic, TopicPartitionSet } from '../../src/group/assignors/assignor.ts'
import { RangeAssignor } from '../../src/group/assignors/range.ts'
import { UniformAssignor } from '../../src/group/assignors/uniform.ts'
import { ConsumerGroupMember, MemberState, reconcile } from '../../src/group/consumer-group.ts'

function member (memberId: string, topics: string[], assignment: Record<string, number[]> = {}): AssignmentMember {
  return {
    memberId,
    instanceId: null,
    rackId: null,
    subscribedTopicIds: new Set(topics),
    assignment: new Map(Object.entries(assignment).map(([t, ps]) => [t, new Set(ps)]))
  }
}

function counts (result: Map<string, TopicPartitionSet>): Record<string, number> {
  return Object.fromEntries([...result].map(([m, a]) => [m, [...a.values()].reduce((n, s) => n + s.size, 0)]))
}

function allAssigned (result: Map<string, TopicPartitionSet>, topics: Map<string, AssignmentTopic>): void {
  const seen = new Set<string>()
  for (const a of result.values()) {
    for (const [t, set] of a) {
      for (const p of set) {
        const key = `${t}:${p}`
        assert.ok(!seen.has(key), `${key} assigned twice`)
        seen.add(key)
      }
    }
  }
  const total = [...topics.values()].reduce((n, t) => n + t.numPartitions, 0)
  assert.equal(seen.size, total)
}

test('uniform: balanced, every partition once', () => {
  const topics = new Map([['A', { name: 'a', numPartitions: 7 }], ['B', { name: 'b', numPartitions: 5 }]])
  const result = new UniformAssignor().assign({ members: [member('m1', ['A', 'B']), member('m2', ['A', 'B']), member('m3', ['A', 'B'])], topics })
  allAssigned(result, topics)
  const c = Object.values(counts(result))
  assert.ok(Math.max(...c) - Math.min(...c) <= 1, JSON.stringify(c))
})

test('uniform: sticky when a member joins (only the needed partitions move)', () => {
  const topics = new Map([['A', { name: 'a', numPartitions: 6 }]])
  const before = new UniformAssignor().assign({ members: [member('m1', ['A']), member('m2', ['A'])], topics })
  const prev = (id: string): Record<string, number[]> => Object.fromEntries([...before.get(id)!].map(([t, s]) => [t, [...s]]))
  const after = new UniformAssignor().assign({ members: [member('m1', ['A'], prev('m1')), member('m2', ['A'], prev('m2')), member('m3', ['A'])], topics })
  assert.deepEqual(counts(after), { m1: 2, m2: 2, m3: 2 })
  for (const id of ['m1', 'm2']) {
    for (const p of after.get(id)!.get('A')!) assert.ok(before.get(id)!.get('A')!.has(p), `${id} kept its partitions`)
  }
})

test('uniform: heterogeneous subscriptions only get subscribed topics', () => {
  const topics = new Map([['A', { name: 'a', numPartitions: 4 }], ['B', { name: 'b', numPartitions: 2 }]])
  const result = new UniformAssignor().assign({ members: [member('m1', ['A']), member('m2', ['A', 'B']), member('m3', ['B'])], topics })
  allAssigned(result, topics)
  assert.equal(result.get('m1')!.has('B'), false)
  assert.equal(result.get('m3')!.has('A'), false)
  assert.deepEqual(counts(result), { m1: 2, m2: 2, m3: 2 })
})

test('range: contiguous ranges per topic, first members get the extra', () => {
  const topics = new Map([['A', { name: 'a', numPartitions: 5 }], ['B', { name: 'b', numPartitions: 5 }]])
  const result = new RangeAssignor().assign({ members: [member('m2', ['A', 'B']), member('m1', ['A', 'B'])], topics })
  assert.deepEqual([...result.get('m1')!.get('A')!], [0, 1, 2])
  assert.deepEqual([...result.get('m2')!.get('A')!], [3, 4])
  assert.deepEqual([...result.get('m1')!.get('B')!], [0, 1, 2])
})

test('reconcile: revoke first, then take the new epoch; unreleased partitions wait', () => {
  const m = new ConsumerGroupMember('m1')
  m.memberEpoch = 1
  m.state = MemberState.STABLE
  m.assignedPartitions = new Map([['A', new Set([0, 1, 2])]])
  const target = new Map([['A', new Set([0, 3])]])
  const free = (): number => -1
  // Partitions 1 and 2 must go first: the member stays at epoch 1.
  const step1 = reconcile(m, 2, target, free, [{ topicId: 'A', partitions: [0, 1, 2] }])
  assert.equal(step1.state, MemberState.UNREVOKED_PARTITIONS)
  assert.equal(step1.memberEpoch, 1)
  assert.deepEqual([...step1.assignedPartitions.get('A')!], [0])
  assert.deepEqual([...step1.partitionsPendingRevocation.get('A')!].sort(), [1, 2])
  Object.assign(m, step1)
  // Still owning 1: no progress.
  assert.equal(reconcile(m, 2, target, free, [{ topicId: 'A', partitions: [0, 1] }]).state, MemberState.UNREVOKED_PARTITIONS)
  // Revoked; partition 3 is still owned by another member: epoch 2, UNRELEASED_PARTITIONS.
  const step2 = reconcile(m, 2, target, (_topic, p) => (p === 3 ? 1 : -1), [{ topicId: 'A', partitions: [0] }])
  assert.equal(step2.state, MemberState.UNRELEASED_PARTITIONS)
  assert.equal(step2.memberEpoch, 2)
  assert.deepEqual([...step2.assignedPartitions.get('A')!], [0])
  Object.assign(m, step2)
  // Released: STABLE with partition 3.
  const step3 = reconcile(m, 2, target, free, [{ topicId: 'A', partitions: [0] }])
  assert.equal(step3.state, MemberState.STABLE)
  assert.deepEqual([...step3.assignedPartitions.get('A')!].sort(), [0, 3])
})
