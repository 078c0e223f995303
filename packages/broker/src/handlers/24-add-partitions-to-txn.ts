/**
 * AddPartitionsToTxn (key 24), versions 0-3 (the client form: one transaction per request).
 *
 * Adds partitions to the producer's transaction at its coordinator (this broker), starting the
 * transaction when none is open; the change is written to `__transaction_state` before the
 * answer. Partitions of unknown topics get UNKNOWN_TOPIC_OR_PARTITION and the others
 * OPERATION_NOT_ATTEMPTED (nothing is added), as in Kafka. Errors (one code for every partition):
 * INVALID_PRODUCER_ID_MAPPING (unknown id, or another producer id), PRODUCER_FENCED (another
 * epoch; INVALID_PRODUCER_EPOCH before v2), CONCURRENT_TRANSACTIONS (the previous transaction is
 * still completing), COORDINATOR_LOAD_IN_PROGRESS.
 *
 * Versions 4-5 (KIP-890 part 1: batched, `VerifyOnly`, used broker to broker) are not advertised:
 * @platformatic/kafka switches to that form when they are; partition leaders here verify with
 * the local coordinator directly (00-produce.ts).
 */
import { ErrorCode, AddPartitionsToTxnApi } from '@samsa/protocol'
import type { AddPartitionsToTxnResponse, AddPartitionsToTxnTopicResult } from '@samsa/protocol/messages/add-partitions-to-txn'
import { defineHandler } from './handler.ts'

export const addPartitionsToTxnHandler = defineHandler(AddPartitionsToTxnApi, [0, 3], async (ctx, req) => {
  const v = ctx.apiVersion
  const topics = ctx.broker.topics
  const partitions = req.v3AndBelowTopics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition })))
  // Partitions of the cluster, hosted here or not (the coordinator need not hold a replica).
  const unknown = new Set(partitions.filter((p) => topics.anyPartition(p.topic, p.partition) === undefined).map((p) => `${p.topic}\u0000${p.partition}`))
  let code: number = ErrorCode.NONE
  if (unknown.size === 0) {
    code = await ctx.broker.transactionCoordinator.addPartitions(req.v3AndBelowTransactionalId, req.v3AndBelowProducerId, req.v3AndBelowProducerEpoch, partitions)
    if (v < 2 && code === ErrorCode.PRODUCER_FENCED) code = ErrorCode.INVALID_PRODUCER_EPOCH
  }
  const resultsByTopicV3AndBelow: AddPartitionsToTxnTopicResult[] = req.v3AndBelowTopics.map((t) => ({
    name: t.name,
    resultsByPartition: t.partitions.map((partitionIndex) => ({
      partitionIndex,
      partitionErrorCode: unknown.size === 0 ? code : unknown.has(`${t.name}\u0000${partitionIndex}`) ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.OPERATION_NOT_ATTEMPTED
    }))
  }))
  const response: AddPartitionsToTxnResponse = { ...AddPartitionsToTxnApi.response.create(), resultsByTopicV3AndBelow }
  return response
})
