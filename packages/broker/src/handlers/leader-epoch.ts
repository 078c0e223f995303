/**
 * Leader-epoch fencing (KIP-320) shared by the partition-addressed APIs: a request's
 * `currentLeaderEpoch` newer than ours means this broker is behind (UNKNOWN_LEADER_EPOCH,
 * retriable); older means the client is (FENCED_LEADER_EPOCH); -1 skips the check.
 */
import { ErrorCode } from '@samsa/protocol'
import type { Partition } from '../topics/partition.ts'

export function leaderEpochError (partition: Partition, currentLeaderEpoch: number): number {
  if (currentLeaderEpoch < 0) return ErrorCode.NONE
  if (currentLeaderEpoch > partition.leaderEpoch) return ErrorCode.UNKNOWN_LEADER_EPOCH
  if (currentLeaderEpoch < partition.leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH
  return ErrorCode.NONE
}
