// Where a follower cuts its log given the leader's OffsetForLeaderEpoch answer (truncation.ts):
// Kafka's AbstractFetcherThread.getOffsetTruncationState, case by case, over a real leader-epoch
// cache.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { LeaderEpochCache, MemoryFileSystem } from '@samsa/storage'
import { type TruncatableLog, truncationFor } from '../../src/replication/truncation.ts'

/** A follower log with `epochs` ([epoch, start offset]) ending at `logEndOffset`. */
function followerLog (epochs: Array<[number, number]>, logEndOffset: number, highWatermark: number): TruncatableLog {
  const fs = new MemoryFileSystem({ trackDurability: false })
  fs.mkdir('/p')
  const cache = new LeaderEpochCache(fs, '/p/leader-epoch-checkpoint')
  for (const [epoch, start] of epochs) cache.assign(epoch, start)
  return { logEndOffset, highWatermark, endOffsetForEpoch: (e) => cache.endOffsetFor(e, logEndOffset) }
}

test('the leader cannot tell (no epochs): keep what is committed', () => {
  const log = followerLog([[0, 0]], 20, 12)
  assert.deepEqual(truncationFor(log, { leaderEpoch: -1, endOffset: -1 }), { offset: 12, complete: true, nextEpoch: -1 })
})

test('the leader has no epoch at or below ours but an end offset: keep up to it', () => {
  const log = followerLog([[3, 0]], 20, 5)
  assert.deepEqual(truncationFor(log, { leaderEpoch: -1, endOffset: 8 }), { offset: 8, complete: true, nextEpoch: -1 })
  assert.deepEqual(truncationFor(log, { leaderEpoch: -1, endOffset: 30 }), { offset: 20, complete: true, nextEpoch: -1 })
})

test('same epoch on both sides: keep the smaller end of it', () => {
  // Follower: epoch 0 from 0, epoch 1 from 10, log end 15 (it took 10..14 in epoch 1 from an old leader).
  const log = followerLog([[0, 0], [1, 10]], 15, 10)
  // The new leader's epoch 1 ended at 12 (epoch 2 began there): cut 12..14.
  assert.deepEqual(truncationFor(log, { leaderEpoch: 1, endOffset: 12 }), { offset: 12, complete: true, nextEpoch: -1 })
  // The leader has more of epoch 1 than we do: nothing to cut.
  assert.deepEqual(truncationFor(log, { leaderEpoch: 1, endOffset: 40 }), { offset: 15, complete: true, nextEpoch: -1 })
})

test('the leader answers an older epoch we do not have: cut to where our older epoch ends and ask again', () => {
  // Follower: epochs 0 (0..9), 2 (10..19); the leader never saw epoch 2, its largest <= 2 is 1.
  const log = followerLog([[0, 0], [2, 10]], 20, 8)
  // We have no epoch 1; our largest epoch <= 1 is 0, which ends at 10: keep 0..9 for now, ask about 0.
  assert.deepEqual(truncationFor(log, { leaderEpoch: 1, endOffset: 14 }), { offset: 10, complete: false, nextEpoch: 0 })
})

test('the leader answers an epoch older than our first: ours start later, so keep only what precedes them', () => {
  // Kafka's LeaderEpochFileCache answers an epoch below the first with that epoch ending where the
  // first one starts: everything from 3 on was written in epoch 5, which the leader never had.
  const log = followerLog([[5, 3]], 20, 3)
  assert.deepEqual(truncationFor(log, { leaderEpoch: 2, endOffset: 7 }), { offset: 3, complete: true, nextEpoch: -1 })
})
