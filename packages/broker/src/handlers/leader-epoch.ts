/**
 * The partition a request addresses, with leader-epoch fencing (KIP-320) shared by the
 * partition-addressed APIs: a request's `currentLeaderEpoch` newer than ours means this broker
 * is behind (UNKNOWN_LEADER_EPOCH, retriable); older means the client is (FENCED_LEADER_EPOCH);
 * -1 skips the check.
 */
import { ErrorCode } from '@samsa/protocol'
import type { BrokerContext } from '../broker-context.ts'
import type { Partition } from '../topics/partition.ts'

export function leaderEpochError (partition: Partition, currentLeaderEpoch: number): number {
  if (currentLeaderEpoch < 0) return ErrorCode.NONE
  if (currentLeaderEpoch > partition.leaderEpoch) return ErrorCode.UNKNOWN_LEADER_EPOCH
  if (currentLeaderEpoch < partition.leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH
  return ErrorCode.NONE
}

/** The partition, or the Kafka error code to answer instead (unknown partition, fenced epoch). */
export function leaderPartition (broker: BrokerContext, topic: string, index: number, currentLeaderEpoch: number): Partition | number {
  const partition = broker.topics.partition(topic, index)
  if (partition === undefined) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
  const epochError = leaderEpochError(partition, currentLeaderEpoch)
  return epochError === ErrorCode.NONE ? partition : epochError
}
