/**
 * The client-side assignors on their own: Kafka's range and round-robin layouts, and the
 * cooperative-sticky assignor's promises (balanced, sticky, never handing a partition to a new
 * owner in the round that takes it from the old one).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  type AssignorMember, type AssignorTopicPartition, CooperativeStickyAssignor, RangeAssignor, RoundRobinAssignor, builtInAssignor
} from '../../src/consumer/assignors.ts'

function member (memberId: string, topics: string[], owned: AssignorTopicPartition[] = [], extra: Partial<AssignorMember> = {}): AssignorMember {
  return { memberId, groupInstanceId: null, topics, ownedPartitions: owned, generationId: owned.length > 0 ? 1 : -1, rackId: null, userData: null, ...extra }
}

function tps (topic: string, ...partitions: number[]): AssignorTopicPartition[] {
  return partitions.map((partition) => ({ topic, partition }))
}

function flat (result: Map<string, AssignorTopicPartition[]>): Record<string, string[]> {
  return Object.fromEntries([...result].map(([m, list]) => [m, list.map((tp) => `${tp.topic}-${tp.partition}`).sort()]))
}

test('range: contiguous ranges per topic, the first members get one more', () => {
  const result = new RangeAssignor().assign([member('b', ['t', 'u']), member('a', ['t', 'u']), member('c', ['t'])], new Map([['t', 7], ['u', 3]]))
  assert.deepEqual(flat(result), {
    a: ['t-0', 't-1', 't-2', 'u-0', 'u-1'],
    b: ['t-3', 't-4', 'u-2'],
    c: ['t-5', 't-6']
  })
})

test('range: static members are ordered by instance id, before dynamic ones (KIP-345)', () => {
  const result = new RangeAssignor().assign([
    member('m1', ['t'], [], { groupInstanceId: 'z' }),
    member('m2', ['t'], [], { groupInstanceId: 'a' }),
    member('m0', ['t'])
  ], new Map([['t', 3]]))
  assert.deepEqual(flat(result), { m1: ['t-1'], m2: ['t-0'], m0: ['t-2'] })
})

test('roundrobin: partitions dealt in turn to subscribed members, the turn carrying across topics', () => {
  const result = new RoundRobinAssignor().assign([member('a', ['t', 'u']), member('b', ['t']), member('c', ['u'])], new Map([['t', 3], ['u', 3]]))
  assert.deepEqual(flat(result), { a: ['t-0', 't-2', 'u-1'], b: ['t-1'], c: ['u-0', 'u-2'] })
})

test('cooperative-sticky: a first assignment is balanced', () => {
  const result = new CooperativeStickyAssignor().assign([member('a', ['t']), member('b', ['t']), member('c', ['t'])], new Map([['t', 6]]))
  for (const list of result.values()) assert.equal(list.length, 2)
  assert.equal(new Set([...result.values()].flat().map((tp) => tp.partition)).size, 6)
})

test('cooperative-sticky: a member leaving moves only its partitions', () => {
  const assignor = new CooperativeStickyAssignor()
  const result = assignor.assign([member('a', ['t'], tps('t', 0, 3)), member('b', ['t'], tps('t', 1, 4))], new Map([['t', 6]]))
  const f = flat(result)
  assert.ok(f.a!.includes('t-0') && f.a!.includes('t-3'))
  assert.ok(f.b!.includes('t-1') && f.b!.includes('t-4'))
  assert.equal(f.a!.length, 3)
  assert.equal(f.b!.length, 3)
})

test('cooperative-sticky: a member joining gets partitions only in the follow-up round', () => {
  const assignor = new CooperativeStickyAssignor()
  const counts = new Map([['t', 6]])
  // Round 1: the new member c is balanced in on paper, but the partitions it would take are still owned.
  const first = assignor.assign([member('a', ['t'], tps('t', 0, 1, 2)), member('b', ['t'], tps('t', 3, 4, 5)), member('c', ['t'])], counts)
  const f1 = flat(first)
  assert.deepEqual(f1.c, [])
  assert.equal(f1.a!.length + f1.b!.length, 4, 'two partitions are revoked, one from each')
  for (const p of f1.a!) assert.ok(['t-0', 't-1', 't-2'].includes(p))
  for (const p of f1.b!) assert.ok(['t-3', 't-4', 't-5'].includes(p))
  // Round 2: the revoked partitions are free and go to c; nobody else moves.
  const second = assignor.assign([
    member('a', ['t'], first.get('a'), { generationId: 2 }),
    member('b', ['t'], first.get('b'), { generationId: 2 }),
    member('c', ['t'], [], { generationId: 2 })
  ], counts)
  const f2 = flat(second)
  assert.deepEqual(f2.a, f1.a)
  assert.deepEqual(f2.b, f1.b)
  assert.equal(f2.c!.length, 2)
})

test('cooperative-sticky: claims from an older generation lose to newer ones, ties go to neither', () => {
  const assignor = new CooperativeStickyAssignor()
  const result = assignor.assign([
    member('a', ['t'], tps('t', 0), { generationId: 3 }),
    member('b', ['t'], tps('t', 0, 1), { generationId: 2 })
  ], new Map([['t', 3]]))
  assert.deepEqual(flat(result), { a: ['t-0', 't-2'], b: ['t-1'] })
  const tie = assignor.assign([
    member('a', ['t'], tps('t', 0), { generationId: 3 }),
    member('b', ['t'], tps('t', 0), { generationId: 3 })
  ], new Map([['t', 2]]))
  const f = flat(tie)
  assert.equal(f.a!.length + f.b!.length, 2)
})

test('cooperative-sticky: members with different subscriptions only get their topics', () => {
  const result = new CooperativeStickyAssignor().assign([member('a', ['t']), member('b', ['t', 'u']), member('c', ['u'])], new Map([['t', 4], ['u', 2]]))
  const f = flat(result)
  for (const p of f.a!) assert.ok(p.startsWith('t-'))
  for (const p of f.c!) assert.ok(p.startsWith('u-'))
  assert.equal([...result.values()].flat().length, 6)
})

test('built-in assignors by name', () => {
  assert.equal(builtInAssignor('range')?.rebalanceProtocol, 'eager')
  assert.equal(builtInAssignor('roundrobin')?.rebalanceProtocol, 'eager')
  assert.equal(builtInAssignor('cooperative-sticky')?.rebalanceProtocol, 'cooperative')
  assert.equal(builtInAssignor('sticky'), undefined)
  assert.equal(builtInAssignor('constructor'), undefined)
})
