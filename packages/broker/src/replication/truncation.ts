/**
 * Where a follower cuts its log after a leader change so that it never diverges from the
 * leader (KIP-101, KIP-279; Kafka's AbstractFetcherThread.getOffsetTruncationState).
 *
 * The follower asks the leader, with OffsetForLeaderEpoch, where the follower's latest epoch
 * ends in the leader's log (or the leader volunteers it in a Fetch response as the diverging
 * epoch, KIP-320). With the leader's answer (epoch E, end offset O):
 *
 * - E unknown (-1) but O known: the leader has no epoch at or below the follower's; keep
 *   min(O, log end).
 * - The follower knows E (its own end of E is O'): keep min(O, O', log end). Done.
 * - The follower's largest epoch at or below E is another one, E'' < E: it never saw E, so it
 *   keeps min(O'', log end) for now and asks again about E'' (not done).
 * - O unknown (-1): the leader cannot tell (it has no epochs); keep the high watermark.
 */
import { UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET } from '@samsa/storage'

export interface EpochEnd {
  leaderEpoch: number
  endOffset: number
}

/** What the follower's log offers: its end, high watermark and epoch lookups. */
export interface TruncatableLog {
  readonly logEndOffset: number
  readonly highWatermark: number
  endOffsetForEpoch (leaderEpoch: number): EpochEnd
}

export interface TruncationDecision {
  /** Truncate to this offset (no-op when it is the log end). */
  offset: number
  /** False: ask the leader again with `nextEpoch`. */
  complete: boolean
  nextEpoch: number
}

export function truncationFor (log: TruncatableLog, leader: EpochEnd): TruncationDecision {
  const end = log.logEndOffset
  if (leader.endOffset === UNDEFINED_EPOCH_OFFSET) {
    return { offset: Math.min(log.highWatermark, end), complete: true, nextEpoch: UNDEFINED_EPOCH }
  }
  if (leader.leaderEpoch === UNDEFINED_EPOCH) {
    return { offset: Math.min(leader.endOffset, end), complete: true, nextEpoch: UNDEFINED_EPOCH }
  }
  const mine = log.endOffsetForEpoch(leader.leaderEpoch)
  if (mine.leaderEpoch === UNDEFINED_EPOCH || mine.endOffset === UNDEFINED_EPOCH_OFFSET) {
    return { offset: Math.min(leader.endOffset, end), complete: true, nextEpoch: UNDEFINED_EPOCH }
  }
  if (mine.leaderEpoch !== leader.leaderEpoch) {
    return { offset: Math.min(mine.endOffset, end), complete: false, nextEpoch: mine.leaderEpoch }
  }
  return { offset: Math.min(leader.endOffset, mine.endOffset, end), complete: true, nextEpoch: UNDEFINED_EPOCH }
}
