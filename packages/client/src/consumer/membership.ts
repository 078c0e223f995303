/**
 * What the two group protocols (classic: classic-membership.ts; KIP-848:
 * consumer-membership.ts) share with the consumer.
 *
 * The division of work follows Kafka's consumer: heartbeats run on timers, whatever the
 * application is doing, but everything that changes the assignment (revoking, committing,
 * calling rebalance listeners, adopting new partitions) happens in `poll()`, which the consumer
 * runs only while the application is reading (a pending `next()`), never while it processes a
 * record. A slow application therefore delays its rebalances, up to `maxPollIntervalMs` (the
 * rebalance timeout); when it does not read for that long, the membership leaves the group, as
 * Kafka's consumer does, and rejoins on the next read.
 */
import type { Cluster } from '../cluster.ts'
import type { CommitIdentity } from './offsets.ts'
import type { ResolvedConsumerOptions } from './options.ts'
import type { TopicPartition } from './types.ts'

export interface MembershipHost {
  readonly cluster: Cluster
  readonly options: ResolvedConsumerOptions
  readonly groupId: string
  /** The topics to subscribe to now (a pattern resolved against the cluster's topics). */
  subscribedTopics: () => string[]
  /** The partitions the consumer owns. */
  owned: () => TopicPartition[]
  /** Orderly loss: commits (with autoCommit), calls onPartitionsRevoked, drops the partitions. */
  revoke: (partitions: TopicPartition[]) => Promise<void>
  /** Loss without commit: calls onPartitionsLost, drops the partitions. */
  lose: (partitions: TopicPartition[]) => Promise<void>
  /** Adopts partitions (their positions come from committed offsets) and calls onPartitionsAssigned. */
  assign: (partitions: TopicPartition[]) => Promise<void>
  /** Asks the application's pending read (if any) to run poll() soon. */
  attention: () => void
  /** True when the application has not read for longer than `maxPollIntervalMs` and is not reading now. */
  pollTimedOut: () => boolean
}

export interface GroupMembership {
  /** '' until the group assigned one. */
  readonly memberId: string
  /** Classic: the generation; KIP-848: the member epoch; -1 while not a member. */
  readonly generationId: number
  /** Identity for OffsetCommit and TxnOffsetCommit. */
  commitIdentity: () => CommitIdentity
  /** Does what the group needs now (join, rebalance, reconcile); rethrows a fatal group error. */
  poll: () => Promise<void>
  /** The subscription or the subscribed topics' partitions changed. */
  subscriptionChanged: () => void
  /** A commit found the member fenced: rejoin. */
  commitFenced: () => void
  /** Leaves the group (close, unsubscribe); static members stay registered until their session expires. */
  leave: (reason: string) => Promise<void>
  /** Stops timers, without telling the group. */
  stop: () => void
}
