/**
 * How a partition's state should change when brokers come and go, are shut down, or an admin
 * asks for an election or a reassignment (Kafka's PartitionChangeBuilder and
 * PartitionLeaderElectionAlgorithms). Pure functions: the controller and the admin handlers
 * compute the next state here and write it with the partition-epoch compare-and-swap.
 *
 * Rules (KRaft's):
 * - A leader is elected from the ISR, in replica order (the first replica is the preferred
 *   leader), among eligible brokers (registered and not in controlled shutdown). Only when no
 *   ISR member is eligible and unclean election is enabled may another live replica lead; the
 *   ISR then becomes that replica alone (it may lack acknowledged records: that is "unclean").
 * - Ineligible brokers leave the ISR, except the last member: a partition whose last in-sync
 *   replica is offline keeps it there, with no leader (-1), so that it alone can lead again.
 * - A broker in controlled shutdown keeps leading when no other replica can take over.
 * - The leader epoch grows with every change of leader; the partition epoch is set by the store.
 * - A reassignment (KIP-455) completes when every target replica is in the ISR: the replicas
 *   become the target, the removed ones leave the ISR, and a leader outside the target hands
 *   over to the first in-sync target replica.
 */
import { NO_LEADER, type PartitionState } from '../metadata/metadata-store.ts'

export interface ElectionView {
  /** Registered (its session is alive). */
  isLive (nodeId: number): boolean
  /** Registered and not in controlled shutdown. */
  isEligible (nodeId: number): boolean
}

function sameList (a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

export function sameState (a: PartitionState, b: PartitionState): boolean {
  return a.leader === b.leader && a.leaderEpoch === b.leaderEpoch && sameList(a.replicas, b.replicas) && sameList(a.isr, b.isr) &&
    sameList(a.addingReplicas, b.addingReplicas) && sameList(a.removingReplicas, b.removingReplicas)
}

function copy (s: PartitionState): PartitionState {
  return { ...s, replicas: [...s.replicas], isr: [...s.isr], addingReplicas: [...s.addingReplicas], removingReplicas: [...s.removingReplicas] }
}

/** The replicas a reassignment moves to (all replicas when none is in progress). */
export function targetReplicas (s: PartitionState): number[] {
  return s.replicas.filter((r) => !s.removingReplicas.includes(r))
}

/** The replicas before a reassignment began. */
export function originalReplicas (s: PartitionState): number[] {
  return s.replicas.filter((r) => !s.addingReplicas.includes(r))
}

function withLeader (s: PartitionState, leader: number): PartitionState {
  if (leader === s.leader) return s
  return { ...s, leader, leaderEpoch: s.leaderEpoch + 1 }
}

/**
 * The state a partition should have given who is live and eligible (the controller's
 * reconciliation); `current` is returned unchanged (same object) when nothing needs to change.
 * `incarnationChanged` lists brokers that restarted since the state was written: their old
 * process is gone, so they leave the ISR and leadership like a broker that died.
 */
export function reconcilePartition (current: PartitionState, view: ElectionView, uncleanLeaderElection: boolean, restarted: ReadonlySet<number> = new Set()): PartitionState {
  let next = copy(current)
  const eligible = (id: number): boolean => view.isEligible(id)
  const live = (id: number): boolean => view.isLive(id)

  // A restarted broker's old process is gone: it leaves the ISR and leadership when another
  // in-sync replica can take over; as the only one it leads again, in a new epoch.
  if (restarted.size > 0) {
    const others = next.isr.filter((r) => !restarted.has(r) && eligible(r))
    if (others.length > 0) {
      next.isr = next.isr.filter((r) => !restarted.has(r))
      if (restarted.has(next.leader)) next = withLeader(next, next.replicas.find((r) => others.includes(r)) ?? others[0]!)
    } else if (restarted.has(next.leader) && eligible(next.leader)) {
      next.leaderEpoch++
    }
  }

  // A reassignment completes once every target replica has caught up.
  if (next.addingReplicas.length > 0 || next.removingReplicas.length > 0) {
    const target = targetReplicas(next)
    if (target.every((r) => next.isr.includes(r))) {
      next.replicas = target
      next.isr = next.isr.filter((r) => target.includes(r))
      next.addingReplicas = []
      next.removingReplicas = []
      if (!target.includes(next.leader)) {
        const leader = target.find((r) => next.isr.includes(r) && eligible(r)) ?? NO_LEADER
        next = withLeader(next, leader)
      }
    }
  }

  // Brokers that are gone or shutting down leave the ISR (never the last member).
  const staying = next.isr.filter((r) => eligible(r))
  // A shutting-down leader with no successor keeps leading, so it stays in the ISR.
  const leaderKeeps = next.leader !== NO_LEADER && live(next.leader) && !eligible(next.leader) &&
    !next.replicas.some((r) => r !== next.leader && next.isr.includes(r) && eligible(r))
  if (leaderKeeps && next.isr.includes(next.leader) && !staying.includes(next.leader)) staying.push(next.leader)
  if (staying.length > 0) next.isr = next.isr.filter((r) => staying.includes(r))
  else if (next.isr.length > 1) {
    // Everyone is gone: keep one member, the leader if it was one, so the partition can come back with it.
    const keep = next.isr.includes(next.leader) ? next.leader : next.isr[0]!
    next.isr = [keep]
  }

  // Leadership: keep a leader that may lead, else elect.
  const leaderOk = next.leader !== NO_LEADER && next.replicas.includes(next.leader) && (eligible(next.leader) || leaderKeeps)
  if (!leaderOk) {
    let leader = next.replicas.find((r) => next.isr.includes(r) && eligible(r)) ?? NO_LEADER
    if (leader === NO_LEADER && uncleanLeaderElection) {
      leader = next.replicas.find((r) => eligible(r)) ?? NO_LEADER
      if (leader !== NO_LEADER) next.isr = [leader]
    }
    next = withLeader(next, leader)
  }
  return sameState(next, current) ? current : next
}

export type ElectionOutcome =
  | { kind: 'elected', state: PartitionState }
  | { kind: 'not-needed' }
  | { kind: 'not-available' }

/** ElectLeaders PREFERRED: move leadership to the first replica if it is in sync and eligible. */
export function preferredElection (current: PartitionState, view: ElectionView): ElectionOutcome {
  const preferred = targetReplicas(current)[0]
  if (preferred === undefined) return { kind: 'not-available' }
  if (current.leader === preferred) return { kind: 'not-needed' }
  if (!current.isr.includes(preferred) || !view.isEligible(preferred)) return { kind: 'not-available' }
  return { kind: 'elected', state: withLeader(copy(current), preferred) }
}

/** ElectLeaders UNCLEAN: elect any live replica when no leader is available. */
export function uncleanElection (current: PartitionState, view: ElectionView): ElectionOutcome {
  if (current.leader !== NO_LEADER && view.isEligible(current.leader)) return { kind: 'not-needed' }
  const fromIsr = current.replicas.find((r) => current.isr.includes(r) && view.isEligible(r))
  if (fromIsr !== undefined) return { kind: 'elected', state: withLeader(copy(current), fromIsr) }
  const any = current.replicas.find((r) => view.isEligible(r))
  if (any === undefined) return { kind: 'not-available' }
  return { kind: 'elected', state: { ...withLeader(copy(current), any), isr: [any] } }
}

/**
 * AlterPartitionReassignments for one partition: the state that starts a move to `target`, or,
 * with `target` null, cancels one in progress (back to the original replicas). Undefined: nothing
 * to do (the target is the current assignment). The controller finishes it (reconcilePartition).
 */
export function reassign (current: PartitionState, target: number[] | null): PartitionState | undefined {
  const original = originalReplicas(current)
  const next = copy(current)
  if (target === null) {
    next.replicas = original
    next.isr = current.isr.filter((r) => original.includes(r))
    if (next.isr.length === 0) next.isr = original.slice(0, 1)
    next.addingReplicas = []
    next.removingReplicas = []
    return next.leader !== NO_LEADER && !original.includes(next.leader)
      ? withLeader(next, original.find((r) => next.isr.includes(r)) ?? NO_LEADER)
      : next
  }
  if (sameList(target, original) && current.addingReplicas.length === 0 && current.removingReplicas.length === 0) return undefined
  const removing = original.filter((r) => !target.includes(r))
  next.replicas = [...target, ...removing]
  next.addingReplicas = target.filter((r) => !original.includes(r))
  next.removingReplicas = removing
  next.isr = current.isr.filter((r) => next.replicas.includes(r))
  return next
}

/** How many partitions each broker leads against how many it is the preferred leader of. */
export function leaderImbalance (states: Iterable<PartitionState>): Map<number, { preferred: number, notLeading: number }> {
  const out = new Map<number, { preferred: number, notLeading: number }>()
  for (const s of states) {
    const preferred = targetReplicas(s)[0]
    if (preferred === undefined) continue
    let entry = out.get(preferred)
    if (entry === undefined) out.set(preferred, entry = { preferred: 0, notLeading: 0 })
    entry.preferred++
    if (s.leader !== preferred) entry.notLeading++
  }
  return out
}
