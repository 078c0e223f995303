/**
 * A partition as Metadata and DescribeTopicPartitions describe it (Kafka's KRaftMetadataCache):
 * leader, leader epoch, replicas, ISR, and the replicas whose broker is not registered now
 * (offline). A partition without a live leader is LEADER_NOT_AVAILABLE with leader -1, so
 * clients wait and refresh instead of sending to a dead broker.
 */
import { ErrorCode } from '@samsa/protocol'
import type { BrokerContext } from '../broker-context.ts'
import type { Partition } from '../topics/partition.ts'

export interface PartitionDescription {
  errorCode: number
  partitionIndex: number
  leaderId: number
  leaderEpoch: number
  replicaNodes: number[]
  isrNodes: number[]
  offlineReplicas: number[]
}

/** The ids of the live brokers, computed once per request. */
export function liveBrokerIds (broker: BrokerContext): Set<number> {
  return new Set(broker.brokers().map((b) => b.nodeId))
}

export function describePartition (p: Partition, live: ReadonlySet<number>): PartitionDescription {
  const leaderLive = p.leaderId >= 0 && live.has(p.leaderId)
  return {
    errorCode: leaderLive ? ErrorCode.NONE : ErrorCode.LEADER_NOT_AVAILABLE,
    partitionIndex: p.index,
    leaderId: leaderLive ? p.leaderId : -1,
    leaderEpoch: p.leaderEpoch,
    replicaNodes: [...p.replicas],
    isrNodes: [...p.isr],
    offlineReplicas: p.replicas.filter((r) => !live.has(r))
  }
}
