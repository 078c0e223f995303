/**
 * The partition a request addresses, with leader-epoch fencing (KIP-320) shared by the
 * partition-addressed APIs: a request's `currentLeaderEpoch` newer than ours means this broker
 * is behind (UNKNOWN_LEADER_EPOCH, retriable); older means the client is (FENCED_LEADER_EPOCH);
 * -1 skips the check. Requests that only a leader serves then get NOT_LEADER_OR_FOLLOWER from
 * any other broker, as from a broker without a replica of a partition that exists (Kafka's
 * ReplicaManager.getPartitionOrError and Partition.localLogWithEpochOrThrow, in that order).
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

/** The hosted partition, or UNKNOWN_TOPIC_OR_PARTITION / NOT_LEADER_OR_FOLLOWER (known here, replica elsewhere). */
export function hostedPartition (broker: BrokerContext, topic: string, index: number): Partition | number {
  const partition = broker.topics.partition(topic, index)
  if (partition !== undefined) return partition
  return broker.topics.anyPartition(topic, index) === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.NOT_LEADER_OR_FOLLOWER
}

/** The partition if this broker leads it, or the Kafka error code to answer instead. */
export function leaderPartition (broker: BrokerContext, topic: string, index: number, currentLeaderEpoch: number): Partition | number {
  const partition = hostedPartition(broker, topic, index)
  if (typeof partition === 'number') return partition
  const epochError = leaderEpochError(partition, currentLeaderEpoch)
  if (epochError !== ErrorCode.NONE) return epochError
  return partition.isLeader ? partition : ErrorCode.NOT_LEADER_OR_FOLLOWER
}
