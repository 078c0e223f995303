// The controller's rules for partition state (KRaft's PartitionChangeBuilder): elections from
// the ISR in replica order, the last ISR member kept, unclean election only when enabled,
// controlled shutdown, restarted brokers, preferred and unclean ElectLeaders, reassignment.
import assert from 'node:assert/strict'
import test from 'node:test'
import {
  type ElectionView, preferredElection, reassign, reconcilePartition, uncleanElection
} from '../../src/cluster/partition-election.ts'
import { initialPartitionState, type PartitionState } from '../../src/metadata/metadata-store.ts'

function view (live: number[], shuttingDown: number[] = []): ElectionView {
  return { isLive: (id) => live.includes(id), isEligible: (id) => live.includes(id) && !shuttingDown.includes(id) }
}

function state (replicas: number[], changes: Partial<PartitionState> = {}): PartitionState {
  return { ...initialPartitionState(replicas), ...changes }
}

test('nothing changes while every replica is live (same object back)', () => {
  const s = state([1, 2, 3])
  assert.equal(reconcilePartition(s, view([1, 2, 3]), false), s)
})

test('a dead leader is replaced by the next in-sync replica in replica order, with a new leader epoch', () => {
  const s = state([1, 2, 3], { isr: [3, 2, 1], leaderEpoch: 4 })
  const next = reconcilePartition(s, view([2, 3]), false)
  assert.equal(next.leader, 2)
  assert.equal(next.leaderEpoch, 5)
  assert.deepEqual(next.isr, [3, 2])
})

test('a dead follower only leaves the ISR (no new leader epoch)', () => {
  const next = reconcilePartition(state([1, 2, 3]), view([1, 2]), false)
  assert.equal(next.leader, 1)
  assert.equal(next.leaderEpoch, 0)
  assert.deepEqual(next.isr, [1, 2])
})

test('the last ISR member stays; no leader until it returns, unless unclean election is enabled', () => {
  const s = state([1, 2], { isr: [1] })
  const offline = reconcilePartition(s, view([2]), false)
  assert.equal(offline.leader, -1)
  assert.deepEqual(offline.isr, [1])
  assert.equal(offline.leaderEpoch, 1)
  // Broker 1 back: it leads again.
  const back = reconcilePartition(offline, view([1, 2]), false)
  assert.equal(back.leader, 1)
  assert.equal(back.leaderEpoch, 2)
  // Unclean: broker 2 (out of sync) leads and becomes the whole ISR.
  const unclean = reconcilePartition(offline, view([2]), true)
  assert.equal(unclean.leader, 2)
  assert.deepEqual(unclean.isr, [2])
})

test('controlled shutdown: leadership moves to an in-sync replica; with none, the broker keeps leading', () => {
  const moved = reconcilePartition(state([1, 2, 3]), view([1, 2, 3], [1]), false)
  assert.equal(moved.leader, 2)
  assert.deepEqual(moved.isr, [2, 3])
  const alone = state([1, 2], { isr: [1] })
  assert.equal(reconcilePartition(alone, view([1, 2], [1]), false), alone, 'no successor: nothing changes')
})

test('a restarted broker leaves the ISR and leadership when others can take over; alone, it leads in a new epoch', () => {
  const s = state([1, 2, 3])
  const next = reconcilePartition(s, view([1, 2, 3]), false, new Set([1]))
  assert.equal(next.leader, 2)
  assert.deepEqual(next.isr, [2, 3])
  const alone = state([1])
  const again = reconcilePartition(alone, view([1]), false, new Set([1]))
  assert.equal(again.leader, 1)
  assert.equal(again.leaderEpoch, 1)
})

test('preferred election: to the first replica when in sync and eligible', () => {
  const s = state([1, 2, 3], { leader: 2, leaderEpoch: 3 })
  const out = preferredElection(s, view([1, 2, 3]))
  assert.equal(out.kind, 'elected')
  assert.equal(out.kind === 'elected' && out.state.leader, 1)
  assert.equal(out.kind === 'elected' && out.state.leaderEpoch, 4)
  assert.equal(preferredElection(state([1, 2, 3]), view([1, 2, 3])).kind, 'not-needed')
  assert.equal(preferredElection(state([1, 2, 3], { leader: 2, isr: [2, 3] }), view([1, 2, 3])).kind, 'not-available')
  assert.equal(preferredElection(s, view([2, 3])).kind, 'not-available')
})

test('unclean election: only without a live leader; prefers the ISR, else any live replica', () => {
  assert.equal(uncleanElection(state([1, 2]), view([1, 2])).kind, 'not-needed')
  const out = uncleanElection(state([1, 2], { leader: -1, isr: [1] }), view([2]))
  assert.ok(out.kind === 'elected')
  assert.equal(out.state.leader, 2)
  assert.deepEqual(out.state.isr, [2])
  assert.equal(uncleanElection(state([1, 2], { leader: -1, isr: [1] }), view([])).kind, 'not-available')
})

test('reassignment: adding and removing replicas, completion once the target is in sync, cancellation', () => {
  const s = state([1, 2])
  const started = reassign(s, [2, 3])!
  assert.deepEqual(started.replicas, [2, 3, 1])
  assert.deepEqual(started.addingReplicas, [3])
  assert.deepEqual(started.removingReplicas, [1])
  assert.equal(started.leader, 1)
  assert.equal(reassign(s, [1, 2]), undefined, 'the current assignment: nothing to do')
  // Not complete while 3 is not in sync.
  assert.equal(reconcilePartition(started, view([1, 2, 3]), false), started)
  const caughtUp = { ...started, isr: [1, 2, 3] }
  const done = reconcilePartition(caughtUp, view([1, 2, 3]), false)
  assert.deepEqual(done.replicas, [2, 3])
  assert.deepEqual(done.isr, [2, 3])
  assert.deepEqual(done.addingReplicas, [])
  assert.deepEqual(done.removingReplicas, [])
  assert.equal(done.leader, 2, 'the removed leader hands over to the first target replica')
  assert.equal(done.leaderEpoch, 1)
  // Cancelling keeps the replicas minus the added ones, in the current order (KRaft's revert).
  const cancelled = reassign(started, null)!
  assert.deepEqual(cancelled.replicas, [2, 1])
  assert.deepEqual(cancelled.addingReplicas, [])
  assert.deepEqual(cancelled.removingReplicas, [])
  assert.deepEqual(cancelled.isr, [1, 2])
  assert.equal(cancelled.leader, 1)
})
