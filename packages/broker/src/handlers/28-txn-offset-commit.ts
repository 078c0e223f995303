/**
 * TxnOffsetCommit (key 28), versions 0-4.
 *
 * A transactional producer commits a consumer group's offsets inside its transaction (kafkajs
 * `sendOffsets`, librdkafka `send_offsets_to_transaction`). The group coordinator (this broker)
 * writes them to the group's `__consumer_offsets` partition as a transactional batch of the
 * producer; they stay pending (OffsetFetch does not return them; RequireStable gets
 * UNSTABLE_OFFSET_COMMIT) until the transaction's COMMIT marker reaches that partition, and an
 * ABORT drops them (group/transactional-offsets.ts).
 *
 * The partition must be part of the producer's transaction (AddOffsetsToTxn): as for Produce
 * (KIP-890 part 1), when the producer has no transaction open there yet the transaction
 * coordinator is asked, right before the append; otherwise INVALID_TXN_STATE. An older producer
 * epoch is INVALID_PRODUCER_EPOCH. v3 adds GenerationId/MemberId/GroupInstanceId (KIP-447): a
 * member no longer in the group gets UNKNOWN_MEMBER_ID, another generation ILLEGAL_GENERATION, a
 * replaced static member FENCED_INSTANCE_ID. v2 adds CommittedLeaderEpoch; v3 is flexible; v4
 * allows TRANSACTION_ABORTABLE (never answered here).
 */
import { ErrorCode, TxnOffsetCommitApi } from '@samsa/protocol'
import type { TxnOffsetCommitResponse } from '@samsa/protocol/messages/txn-offset-commit'
import { OFFSETS_TOPIC } from '../group/group-coordinator.ts'
import { defineHandler } from './handler.ts'

export const txnOffsetCommitHandler = defineHandler(TxnOffsetCommitApi, [0, 4], async (ctx, req) => {
  const v = ctx.apiVersion
  const broker = ctx.broker
  const groups = broker.groupCoordinator
  const verify = (): number => {
    const coordinator = broker.transactionCoordinator
    if (!coordinator.config.partitionVerificationEnable) return ErrorCode.NONE
    // The transaction coordinator is another broker: not verified across brokers yet (Kafka
    // would ask it with AddPartitionsToTxn v4), as with verification disabled.
    if (!coordinator.coordinatesLocally(req.transactionalId)) return ErrorCode.NONE
    const partition = broker.topics.partition(OFFSETS_TOPIC, groups.partitionFor(req.groupId))
    if (partition === undefined) return ErrorCode.COORDINATOR_NOT_AVAILABLE
    if (partition.log.producerState.hasOngoingTransaction(req.producerId, req.producerEpoch)) return ErrorCode.NONE
    const code = coordinator.verifyPartition(req.transactionalId, req.producerId, req.producerEpoch, OFFSETS_TOPIC, partition.index)
    switch (code) {
      case ErrorCode.NONE:
        return ErrorCode.NONE
      case ErrorCode.PRODUCER_FENCED:
        return ErrorCode.INVALID_PRODUCER_EPOCH
      case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
      case ErrorCode.COORDINATOR_NOT_AVAILABLE:
      case ErrorCode.NOT_COORDINATOR:
      case ErrorCode.CONCURRENT_TRANSACTIONS:
        // Retriable for every client version.
        return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
      default:
        return ErrorCode.INVALID_TXN_STATE
    }
  }
  const result = await groups.commitTransactionalOffsets({
    transactionalId: req.transactionalId,
    groupId: req.groupId,
    producerId: req.producerId,
    producerEpoch: req.producerEpoch,
    generationId: v >= 3 ? req.generationId : -1,
    memberId: v >= 3 ? req.memberId : '',
    groupInstanceId: v >= 3 ? req.groupInstanceId : null,
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        committedOffset: Number(p.committedOffset),
        committedLeaderEpoch: v >= 2 ? p.committedLeaderEpoch : -1,
        committedMetadata: p.committedMetadata
      }))
    }))
  }, verify)
  const response: TxnOffsetCommitResponse = { ...TxnOffsetCommitApi.response.create(), topics: result.topics }
  return response
})
