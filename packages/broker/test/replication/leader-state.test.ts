// The leader's bookkeeping of its followers (leader-state.ts): the high watermark is the smallest
// log end over the (maximal) ISR, a follower joins the ISR only once it holds everything
// committed and this epoch's start, it leaves after replica.lag.time.max.ms without catching up,
// and one ISR proposal at a time is in flight.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { initialPartitionState } from '../../src/metadata/metadata-store.ts'
import { LeaderState } from '../../src/replication/leader-state.ts'

const LAG = 1000

function leader (isr = [1, 2, 3], epochStart = 0): LeaderState {
  return new LeaderState({ nodeId: 1, state: { ...initialPartitionState([1, 2, 3], isr), leader: 1 }, leaderEpochStartOffset: epochStart, now: 0 })
}

test('the high watermark is the smallest log end over the ISR; an unknown follower holds it', () => {
  const ls = leader()
  assert.equal(ls.highWatermark(10, 0), 0, 'no follower has fetched yet')
  ls.recordFetch(2, 8, 10, 1, 1)
  assert.equal(ls.highWatermark(10, 0), 0, 'follower 3 is unknown')
  ls.recordFetch(3, 6, 10, 1, 1)
  assert.equal(ls.highWatermark(10, 0), 6)
  ls.recordFetch(3, 10, 10, 2, 1)
  assert.equal(ls.highWatermark(10, 6), 8)
  // Never backwards, never past the leader's log end.
  assert.equal(ls.highWatermark(10, 9), 9)
  ls.recordFetch(2, 12, 12, 3, 1)
  assert.equal(ls.highWatermark(10, 0), 10)
})

test('a follower outside the ISR does not hold the high watermark', () => {
  const ls = leader([1, 2])
  ls.recordFetch(2, 10, 10, 1, 1)
  assert.equal(ls.highWatermark(10, 0), 10)
})

test('expansion: a caught-up replica outside the ISR, at least at the high watermark and the epoch start', () => {
  const ls = leader([1, 2], 5)
  ls.recordFetch(3, 4, 10, 1, 1)
  assert.equal(ls.expansionFor(3, 4, true), undefined, 'below the epoch start')
  ls.recordFetch(3, 6, 10, 2, 1)
  assert.equal(ls.expansionFor(3, 8, true), undefined, 'below the high watermark')
  assert.deepEqual(ls.expansionFor(3, 6, true), [1, 2, 3])
  assert.equal(ls.expansionFor(3, 6, false), undefined, 'not eligible (gone or shutting down)')
  assert.equal(ls.expansionFor(2, 6, true), undefined, 'already in sync')
  ls.propose([1, 2, 3])
  // The proposed member counts for the high watermark at once (maximal ISR)...
  assert.deepEqual(ls.maximalIsr.sort(), [1, 2, 3])
  ls.recordFetch(2, 10, 10, 3, 1)
  assert.equal(ls.highWatermark(10, 0), 6)
  // ...and no second proposal is made while it is in flight.
  assert.equal(ls.shrinkFor(1_000_000, LAG, 10), undefined)
  ls.apply({ ...initialPartitionState([1, 2, 3]), leader: 1, partitionEpoch: 1 }, 5)
  assert.equal(ls.pendingIsr, undefined)
  assert.deepEqual([...ls.isr], [1, 2, 3])
})

test('shrink: a follower not caught up for replica.lag.time.max.ms leaves; one at the log end stays however long it is silent', () => {
  const ls = leader()
  ls.recordFetch(2, 10, 10, 100, 1)
  ls.recordFetch(3, 10, 10, 100, 1)
  // Nothing new was written: both are caught up, even much later.
  assert.equal(ls.shrinkFor(100 + 10 * LAG, LAG, 10), undefined)
  // The leader's log grows; follower 2 keeps fetching and catching up, follower 3 stops.
  ls.recordFetch(2, 12, 12, 600, 1)
  assert.equal(ls.shrinkFor(100 + LAG, LAG, 12), undefined, 'not lagging for long enough yet')
  assert.deepEqual(ls.shrinkFor(100 + LAG + 1, LAG, 12), [1, 2])
  // A follower that fetches but never reaches the log end leaves too.
  ls.recordFetch(2, 12, 14, 700, 1)
  ls.recordFetch(2, 14, 16, 800, 1) // reached the log end of its previous fetch: caught up as of 700
  assert.deepEqual(ls.shrinkFor(700 + LAG + 1, LAG, 16), [1])
})
