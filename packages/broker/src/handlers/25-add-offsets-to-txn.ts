/**
 * AddOffsetsToTxn (key 25), versions 0-4.
 *
 * Adds the group's `__consumer_offsets` partition to the producer's transaction (so the
 * transaction's offset commits, sent next with TxnOffsetCommit to the group coordinator, get a
 * COMMIT/ABORT marker there). Creates `__consumer_offsets` first if needed. Errors as for
 * AddPartitionsToTxn; PRODUCER_FENCED is INVALID_PRODUCER_EPOCH before v2; v3 is flexible; v4
 * allows TRANSACTION_ABORTABLE (never answered here).
 */
import { ErrorCode, AddOffsetsToTxnApi } from '@samsa/protocol'
import { OFFSETS_TOPIC } from '../group/group-coordinator.ts'
import { defineHandler } from './handler.ts'

export const addOffsetsToTxnHandler = defineHandler(AddOffsetsToTxnApi, [0, 4], async (ctx, req) => {
  const response = AddOffsetsToTxnApi.response.create()
  const groups = ctx.broker.groupCoordinator
  if (req.groupId === '') return { ...response, errorCode: ErrorCode.INVALID_GROUP_ID }
  try {
    await groups.ensureOffsetsTopic()
  } catch (error) {
    ctx.broker.logger.warn('Could not create __consumer_offsets', { error })
    return { ...response, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE }
  }
  const partition = groups.partitionFor(req.groupId)
  let code = await ctx.broker.transactionCoordinator.addPartitions(req.transactionalId, req.producerId, req.producerEpoch, [{ topic: OFFSETS_TOPIC, partition }])
  if (ctx.apiVersion < 2 && code === ErrorCode.PRODUCER_FENCED) code = ErrorCode.INVALID_PRODUCER_EPOCH
  return { ...response, errorCode: code }
})
