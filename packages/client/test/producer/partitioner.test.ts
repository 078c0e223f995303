import assert from 'node:assert/strict'
import { test } from 'node:test'
import { StickyPartitionCache, type PartitionerTopic } from '../../src/producer/partitioner.ts'

function topic (partitionCount: number, availablePartitions: number[] = Array.from({ length: partitionCount }, (_, i) => i)): PartitionerTopic {
  return { topic: 't', partitionCount, availablePartitions }
}

test('a sticky partition stays until a new batch is needed, then moves to another partition', () => {
  const cache = new StickyPartitionCache()
  const t = topic(8)
  const first = cache.partition(t)
  for (let i = 0; i < 100; i++) assert.equal(cache.partition(t), first)
  for (let i = 0; i < 200; i++) {
    const before = cache.partition(t)
    const after = cache.next(t, before)
    assert.notEqual(after, before, 'never the partition that needs a new batch when others exist')
    assert.equal(cache.partition(t), after)
  }
})

test('next() keeps a sticky partition that already moved on (KIP-480 onNewBatch from a stale partition)', () => {
  const cache = new StickyPartitionCache()
  const t = topic(4)
  const current = cache.partition(t)
  const stale = (current + 1) % 4
  assert.equal(cache.next(t, stale), current)
})

test('sticky partitions prefer partitions that have a leader', () => {
  const cache = new StickyPartitionCache()
  const t = topic(6, [2, 4])
  const seen = new Set<number>()
  let p = cache.partition(t)
  for (let i = 0; i < 100; i++) {
    seen.add(p)
    p = cache.next(t, p)
  }
  assert.deepEqual([...seen].sort(), [2, 4])
  const one = new StickyPartitionCache()
  assert.equal(one.partition(topic(5, [3])), 3)
  const none = new StickyPartitionCache()
  const q = none.partition(topic(5, []))
  assert.ok(q >= 0 && q < 5)
})

test('sticky partitions spread evenly over the available partitions', () => {
  const cache = new StickyPartitionCache()
  const t = topic(4)
  const counts = [0, 0, 0, 0]
  let p = cache.partition(t)
  for (let i = 0; i < 4000; i++) {
    counts[p]!++
    p = cache.next(t, p)
  }
  for (const c of counts) assert.ok(c > 700 && c < 1300, `${counts.join(',')}`)
})
