/**
 * InitProducerId (key 22), versions 0-5.
 *
 * A null TransactionalId (idempotent producer): a fresh producer id from the durable block
 * allocator, epoch 0; any broker answers. A transactional id: answered by its transaction
 * coordinator (this broker): the producer id with the next epoch, which fences earlier instances;
 * an open transaction of the previous instance is aborted first and CONCURRENT_TRANSACTIONS
 * answered (the client retries); when the epochs are used up, a new producer id. A timeout above
 * `transaction.max.timeout.ms` (or not positive) is INVALID_TRANSACTION_TIMEOUT.
 *
 * Version notes: v2 is flexible; v3 adds ProducerId/ProducerEpoch (KIP-360: a producer resuming
 * after an error bumps its own epoch; both -1 for a new producer, only one -1 is INVALID_REQUEST);
 * v4 adds PRODUCER_FENCED (earlier versions get INVALID_PRODUCER_EPOCH, as Kafka answers);
 * v5 allows TRANSACTION_ABORTABLE (never answered here).
 */
import { ErrorCode, InitProducerIdApi } from '@samsa/protocol'
import type { InitProducerIdResponse } from '@samsa/protocol/messages/init-producer-id'
import { defineHandler } from './handler.ts'

export const initProducerIdHandler = defineHandler(InitProducerIdApi, [0, 5], async (ctx, req) => {
  const v = ctx.apiVersion
  const response: InitProducerIdResponse = { ...InitProducerIdApi.response.create(), producerId: -1n, producerEpoch: -1 }
  let expected: { producerId: bigint, producerEpoch: number } | undefined
  if (v >= 3 && (req.producerId !== -1n || req.producerEpoch !== -1)) {
    if (req.producerId === -1n || req.producerEpoch === -1) return { ...response, errorCode: ErrorCode.INVALID_REQUEST }
    expected = { producerId: req.producerId, producerEpoch: req.producerEpoch }
  }
  const result = await ctx.broker.transactionCoordinator.initProducerId(req.transactionalId, req.transactionTimeoutMs, expected)
  const errorCode = v < 4 && result.errorCode === ErrorCode.PRODUCER_FENCED ? ErrorCode.INVALID_PRODUCER_EPOCH : result.errorCode
  return { ...response, errorCode, producerId: result.producerId, producerEpoch: result.producerEpoch }
})
